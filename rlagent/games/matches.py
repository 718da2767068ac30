"""Batched games between two players on a :class:`~envs.base.TurnBasedGame` core.

The league, the Elo estimate during training and evaluation between two checkpoints all need the
same thing: many games between two players, as few calls to each player as possible. Here all
the games of a match run side by side on one batched core, and each half-move is ONE call to the
player whose turn it is, for every board where it is that player's turn, whichever colour it
has there. A game of ``n * n`` cells therefore costs about ``n * n`` calls in total, whatever the
number of games and however they are split between the colour orders.

Scores are from the first mover's side (1 win, 0.5 draw, 0 loss), the convention of
:func:`rlagent.games.elo.fit_ratings`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from envs.base import DRAW, RUNNING, PositionPlayer, TurnBasedGame
from envs.simultaneous import SimultaneousGame
from rlagent.errors import ConfigError
from rlagent.gym_envs import make_vector_env

Player = Callable[[np.ndarray, np.ndarray], np.ndarray]


def play_games(game: TurnBasedGame, first: Player | PositionPlayer, second: Player | PositionPlayer, openings: np.ndarray | None = None) -> np.ndarray:
    """Play one game on every board of ``game`` (all reset here): ``first`` opens each of them.

    ``openings`` (optional, one action per board) is each game's first move, played for ``first``
    before the players take over: two deterministic players would otherwise play the same game on
    every board. Returns the first mover's score per board. A player that chooses an illegal move
    raises ``ConfigError`` naming it: players are handed the legal mask and must respect it.
    """
    return play_boards(game, first, second, np.ones(game.batch_size, dtype=bool), openings)


def play_boards(
    game: TurnBasedGame,
    a: Player | PositionPlayer,
    b: Player | PositionPlayer,
    a_first: np.ndarray,
    openings: np.ndarray | None = None,
    on_move: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
) -> np.ndarray:
    """One game per board of ``game`` (all reset here), ``a`` opening where ``a_first`` is true.

    Both colour orders share one batch, so each half-move is still one call per player (for all
    the boards where it is that player's turn) and a colour-balanced match costs no more calls
    than a one-sided one. ``openings`` as in :func:`play_games`. Returns the first mover's score
    per board (so ``a``'s score where ``a_first``, ``b``'s elsewhere). ``on_move(player, boards,
    actions)`` (``player`` 0 for ``a``, 1 for ``b``) sees each batch of legal moves before it is
    played, for analysis (:mod:`rlagent.games.tactics`).
    """
    boards = np.arange(game.batch_size)
    a_first = np.asarray(a_first, dtype=bool).reshape(-1)
    if a_first.size != game.batch_size:
        raise ConfigError(f"a_first needs one entry per board ({game.batch_size}), got {a_first.size}")
    game.reset(boards)
    if openings is not None:
        _play_openings(game, openings)
    a_seat = np.where(a_first, 0, 1).astype(game.to_move.dtype)
    players = ((0, a, a_seat), (1, b, 1 - a_seat))
    limit = 4 * game.num_actions + 4  # every move fills a cell or swaps; a generous bound on moves
    for _ in range(limit):
        running = boards[game.winner == RUNNING]
        if running.size == 0:
            break
        for which, player, seat in players:
            turn = running[game.to_move[running] == seat[running]]
            if turn.size == 0:
                continue
            actions = player_moves(player, game, turn)
            legal = game.is_legal(actions, turn)
            if not legal.all():
                bad = int(np.argmax(~legal))
                raise ConfigError(f"player {_name(player)} chose illegal action {int(actions[bad])}: a player must respect the action mask it is given")
            if on_move is not None:
                on_move(which, turn, actions)
            game.play(actions, turn, check=False)
            running = running[game.winner[running] == RUNNING]
    else:
        raise RuntimeError(f"games did not end within {limit} moves: the game's rules never finish")
    winner = game.winner
    return np.where(winner == DRAW, 0.5, (winner == 0).astype(float))


def player_moves(player: Player | PositionPlayer, game: TurnBasedGame, boards: np.ndarray) -> np.ndarray:
    """``player``'s actions on ``boards``: a search reads the positions themselves
    (:class:`~envs.base.PositionPlayer`), any other player their observations and masks."""
    play_positions = getattr(player, "play_positions", None)  # a PositionPlayer
    if play_positions is not None:
        return np.asarray(play_positions(game, boards)).reshape(-1)
    mask = game.legal_mask(boards).view(np.int8)
    return np.asarray(cast(Player, player)(game.observation(boards), mask)).reshape(-1)


def _play_openings(game: TurnBasedGame, openings: np.ndarray) -> None:
    """The first move of every (freshly reset) board, for the first mover; illegal ones refused."""
    actions = np.asarray(openings).reshape(-1)
    if actions.size != game.batch_size or not np.issubdtype(actions.dtype, np.integer):
        raise ConfigError(f"openings must be {game.batch_size} integer actions, one per board, got {openings!r}")
    legal = game.is_legal(actions)
    if not legal.all():
        valid = np.flatnonzero(game.legal_mask(np.array([0]))[0])
        raise ConfigError(f"opening {int(actions[np.argmax(~legal)])} is not a legal first move; legal first moves are {valid.min()}..{valid.max()}")
    game.play(actions, check=False)


def play_match(
    game_factory: Callable[[int], TurnBasedGame],
    a: Player,
    b: Player,
    games: int,
    max_batch: int = 512,
    openings: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``games`` games between ``a`` and ``b``, half with each moving first (``games`` even).

    Returns ``(a_first, b_first)``: the first mover's scores of the games ``a`` opened and of those
    ``b`` opened. ``game_factory(batch)`` makes a fresh core of that many boards; both colour
    orders play in the same batches of at most ``max_batch`` boards. ``openings`` (optional) holds
    one first move per game: the first ``games // 2`` for ``a``'s games, the rest for ``b``'s.
    """
    if games <= 0 or games % 2:
        raise ConfigError(f"a match needs a positive even number of games (both colours equally often), got {games}")
    half = games // 2
    a_first = np.arange(games) < half
    if openings is not None:
        openings = np.asarray(openings).reshape(-1)
        if openings.size != games:
            raise ConfigError(f"openings must hold one first move per game ({games}), got {openings.size}")
    scores = np.empty(games)
    for start in range(0, games, max_batch):
        part = slice(start, min(start + max_batch, games))
        chunk = None if openings is None else openings[part]
        scores[part] = play_boards(game_factory(part.stop - part.start), a, b, a_first[part], chunk)
    return scores[:half], scores[half:]


def _name(player: Any) -> str:
    return str(getattr(player, "name", None) or repr(player))


def game_factory(env_name: str, env_kwargs: dict[str, Any] | None = None) -> Callable[[int], TurnBasedGame | SimultaneousGame]:
    """``batch -> fresh core`` for a game env of this package (its rules, no opponent): a board
    game (:class:`TurnBasedGame`, such as hex) or a simultaneous-move game (the arena).

    Made through the env's own vector entry point, so any such game registered as an env works,
    with the same keyword arguments a run was trained with.
    """
    seating = ("opponent", "agent_color", "learner_seat", "render_mode")
    kwargs = {k: v for k, v in (env_kwargs or {}).items() if k not in seating}

    def make(batch: int) -> TurnBasedGame | SimultaneousGame:
        env = make_vector_env(env_name, batch, kwargs)
        game = getattr(env, "game", None)
        if not isinstance(game, (TurnBasedGame, SimultaneousGame)):
            raise ConfigError(f"{env_name} is not a game between players: matches need a game env such as hex or arena")
        return game

    make(1)  # fail here, at once, for an env that is not a board game
    return make
