"""Batched matches in a simultaneous-move game (the Arena): two players, every seat filled.

The counterpart of :mod:`rlagent.games.matches` for :class:`~envs.simultaneous.SimultaneousGame`:
all the games of a match run side by side on one batched core, and each step is ONE call per
player for every body it plays, whatever game the body is in.

Who sits where: with two seats, ``a`` takes seat 0 where ``a_first`` (the "first" seat: in the
Arena the spawn at the bottom) and seat 1 elsewhere. With K > 2 seats, ``a`` takes one seat and
``b`` all the others where ``a_first``, and the other way round elsewhere; the score of a game is
the lone player's result against the rest by score (1 if its side tops the score, 0.5 if tied for
the top, 0 otherwise): the league fits Bradley-Terry ratings to those pairwise results.

Greedy policies and deterministic bots would play the same game every time, so each game may
start from its own ``opening``: a number the game turns into a start of its own
(:meth:`~envs.simultaneous.SimultaneousGame.seed_openings`; in the Arena a jittered spawn), the
same opening for both seatings of a pair, as the turn-based league shares first moves.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from envs.simultaneous import SimultaneousGame
from envs.simultaneous_env import SeatPlayer
from rlagent.errors import ConfigError

OPENINGS = np.arange(64)  # the distinct openings of the "suite" rule and what random ones are drawn from


def play_seated(
    game: SimultaneousGame,
    a: SeatPlayer,
    b: SeatPlayer,
    a_first: np.ndarray,
    openings: np.ndarray | None = None,
    on_step: Callable[[], None] | None = None,
) -> np.ndarray:
    """One game per game slot of ``game`` (all reset here); returns the score of the player in
    seat 0 of each (``a``'s where ``a_first``, ``b``'s elsewhere), 1 win, 0.5 draw, 0 loss.
    ``on_step`` is called after the reset and after every step (e.g. to draw a frame)."""
    n, k = game.batch_size, game.num_seats
    a_first = np.asarray(a_first, bool).reshape(-1)
    if a_first.size != n:
        raise ConfigError(f"a_first needs one entry per game ({n}), got {a_first.size}")
    games = np.arange(n)
    if openings is not None:
        try:
            game.seed_openings(np.asarray(openings).reshape(-1))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    game.reset(games)
    lone_seat = np.zeros(n, np.int64)  # seat 0 holds the player of a_first's choice alone
    seats = np.broadcast_to(np.arange(k), (n, k))
    is_a = np.where(a_first[:, None], seats == lone_seat[:, None], seats != lone_seat[:, None])
    bodies = {"a": (np.nonzero(is_a)), "b": (np.nonzero(~is_a))}
    a.start(*bodies["a"])
    b.start(*bodies["b"])
    if on_step is not None:
        on_step()
    for _ in range(100_000):
        if game.over.all():
            break
        views = game.observation()
        actions = np.zeros((n, k, game.num_actions), np.int8)
        for player, (g, s) in ((a, bodies["a"]), (b, bodies["b"])):
            playing = ~game.over[g] & game.in_game(g)[np.arange(g.size), s]
            g, s = g[playing], s[playing]
            if g.size:
                actions[g, s] = _checked(player, player.act(game, g, s, views[g, s]), g.size, game.num_actions)
        game.step(actions)
        if on_step is not None:
            on_step()
    else:
        raise RuntimeError("games did not end within 100000 steps: the game's rules never finish")
    return game.outcome(games)[:, 0]


def _checked(player: Any, actions: Any, n: int, bits: int) -> np.ndarray:
    actions = np.asarray(actions)
    if actions.shape != (n, bits) or not np.isin(actions, (0, 1)).all():
        raise ConfigError(f"player {getattr(player, 'name', player)!r} returned actions shaped {actions.shape}; expected {(n, bits)} bits (0 or 1)")
    return actions.astype(np.int8)


def record_game(
    game: SimultaneousGame, a: SeatPlayer, b: SeatPlayer, a_first: bool = True, opening: int | None = None, every: int = 1
) -> tuple[list[np.ndarray], float]:
    """Play one game (``game`` must hold a batch of one) and keep a picture of it every ``every``
    steps (``game.render_rgb``); returns the frames and seat 0's score."""
    if game.batch_size != 1:
        raise ConfigError(f"record_game plays one game: make the core with a batch of 1, got {game.batch_size}")
    frames: list[np.ndarray] = []

    def draw() -> None:
        if int(game.steps[0]) % every == 0 or bool(game.over[0]):
            frames.append(game.render_rgb(0))

    openings = None if opening is None else np.array([opening])
    score = play_seated(game, a, b, np.array([a_first]), openings, on_step=draw)
    return frames, float(score[0])
