"""The classes a new task subclasses: :class:`TurnBasedGame` and :class:`~envs.trial_task.TrialTask`.

A two-player board game implements :class:`TurnBasedGame` once, as rules over a batch of games held
in numpy arrays; it then gets, with no more code, a Gymnasium env against an opponent (single and
natively vectorized, :mod:`envs.turn_based_env`) and a PettingZoo AEC env
(:mod:`envs.turn_based_pettingzoo`). Everything is expressed from the point of view of the player to
move ("the mover's frame"), so that one network can play both sides.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from envs.mcts import GenericMCTSPlayer
from envs.player_names import MCTS, PlayerName
from envs.state_copy import copy_rows

RUNNING = -1
DRAW = 2


class IllegalMoveError(ValueError):
    """A move the rules forbid: the message names the board, the move and why."""


class Opponent(Protocol):
    """Anything that picks moves for a batch of positions, e.g. a random player or a policy.

    ``observation`` is ``(k, *observation_shape)`` float32 in the mover's frame and ``action_mask``
    ``(k, num_actions)`` int8; it returns ``k`` actions in the mover's frame. Environments call it once
    for all the boards that need an opponent move, never once per board.
    """

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class SeatedOpponent(Protocol):
    """An opponent that may be a different player on each board, e.g. a self-play pool.

    The env tells it when games start (so it can seat a player on those boards: opponents change
    only between games) and how each game ended (+1 the learner won, -1 it lost, 0 a draw), and
    asks it for moves with the board indices, so it can make one batched call per seated player.
    An opponent with a ``bind_game(game)`` method is handed the env's game when it is seated (and
    again after unpickling), for players that read the boards themselves, such as a search.
    """

    def start_games(self, boards: np.ndarray) -> None: ...

    def end_games(self, boards: np.ndarray, learner_rewards: np.ndarray) -> None: ...

    def moves(self, boards: np.ndarray, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class PositionPlayer(Protocol):
    """A player that reads the game's own state rather than observations, e.g. a tree search, which
    must copy positions and play them on. Batched matches hand it the game and the board indices
    where it is to move; it returns their actions (mover's frame)."""

    def play_positions(self, game: TurnBasedGame, boards: np.ndarray) -> np.ndarray: ...


class TurnBasedGame(ABC):
    """A batch of two-player, alternating-move, zero-sum games.

    State lives in arrays with a leading batch axis. ``to_move`` holds 0 or 1 per board and ``winner``
    holds ``RUNNING`` (-1), 0, 1, or ``DRAW``. Actions, masks and observations are in the mover's frame.
    Subclasses implement the ``_reset``/``_play`` rules and the views; this class checks the input,
    so rule code can assume legal moves on running boards.
    """

    name: str = "game"
    # Every per-board array of the subclass's rule state (leading axis = the batch), by attribute
    # name. Declaring them is what lets generic code copy positions (copy_boards, spawn): MCTS does.
    state_fields: tuple[str, ...] = ()
    _BASE_STATE = ("to_move", "winner", "num_moves")

    def __init__(self, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.to_move = np.zeros(batch_size, dtype=np.int8)
        self.winner = np.full(batch_size, RUNNING, dtype=np.int8)
        self.num_moves = np.zeros(batch_size, dtype=np.int32)

    # --- what a game must say about itself -------------------------------------------------------
    @property
    @abstractmethod
    def num_actions(self) -> int:
        """Size of the discrete action space (mover's frame)."""

    @property
    @abstractmethod
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of one observation (float32 in [0, 1], mover's frame)."""

    @abstractmethod
    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray:
        """Bool ``(k, num_actions)``: the legal actions of the mover on each board (none once over)."""

    @abstractmethod
    def observation(self, boards: np.ndarray | None = None, player: int | np.ndarray | None = None) -> np.ndarray:
        """Float32 ``(k, *observation_shape)``: each board as its mover (or ``player``, one or one per board) sees it."""

    @abstractmethod
    def _reset(self, boards: np.ndarray) -> None:
        """Clear the rule state of ``boards`` (the base class resets turn, winner and move count)."""

    @abstractmethod
    def _play(self, actions: np.ndarray, boards: np.ndarray) -> None:
        """Apply legal ``actions`` on running ``boards``; set ``winner`` and ``to_move``."""

    # --- shared behaviour ------------------------------------------------------------------------
    def _select(self, boards: np.ndarray | None) -> np.ndarray:
        if boards is None:
            return np.arange(self.batch_size)
        return np.asarray(boards, dtype=np.int64).reshape(-1)

    @property
    def done(self) -> np.ndarray:
        return self.winner != RUNNING

    def reset(self, boards: np.ndarray | None = None) -> None:
        idx = self._select(boards)
        if idx.size == 0:
            return
        self.to_move[idx] = 0
        self.winner[idx] = RUNNING
        self.num_moves[idx] = 0
        self._reset(idx)

    def is_legal(self, actions: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        """Bool per board: is ``actions[i]`` a legal move on ``boards[i]`` right now."""
        idx = self._select(boards)
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        in_range = (actions >= 0) & (actions < self.num_actions)
        legal = np.zeros(idx.size, dtype=bool)
        legal[in_range] = self.legal_mask(idx[in_range])[np.arange(in_range.sum()), actions[in_range]]
        return legal

    def play(self, actions: np.ndarray, boards: np.ndarray | None = None, check: bool = True) -> None:
        """Play one move on each of ``boards`` (all by default); raises :class:`IllegalMoveError`.

        ``check=False`` skips the validation for callers that have just checked legality themselves
        (the envs do, to turn an illegal move into a loss), saving its cost on every step.
        """
        idx = self._select(boards)
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            return
        if check:
            self._validate(actions, idx)
        self._play(actions, idx)
        self.num_moves[idx] += 1

    def _validate(self, actions: np.ndarray, idx: np.ndarray) -> None:
        if actions.size != idx.size:
            raise ValueError(f"got {actions.size} actions for {idx.size} boards")
        if np.unique(idx).size != idx.size:
            raise ValueError("a board appears twice in one play() call: one move per board per call")
        finished = self.done[idx]
        if finished.any():
            b = int(idx[np.argmax(finished)])
            raise IllegalMoveError(f"board {b} is over (winner {int(self.winner[b])}); reset it first")
        legal = self.is_legal(actions, idx)
        if not legal.all():
            i = int(np.argmax(~legal))
            raise IllegalMoveError(f"illegal {self.name} move {int(actions[i])} on board {int(idx[i])}: {self.describe_illegal(int(actions[i]), int(idx[i]))}")

    def random_actions(self, uniforms: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        """A uniformly random legal action per board, chosen by one uniform number in [0, 1) each.

        Taking the uniforms (rather than a generator) lets callers give each board its own random
        stream. Games with a faster way to list their legal moves override this scan of the mask.
        """
        mask = self.legal_mask(boards)
        counts = np.cumsum(mask, axis=1, dtype=np.int32)
        pick = np.minimum((np.asarray(uniforms) * counts[:, -1]).astype(np.int64), counts[:, -1] - 1)
        return np.argmax(counts > pick[:, None], axis=1)

    def forfeit(self, boards: np.ndarray) -> None:
        """The mover on each of ``boards`` loses at once (how envs punish an illegal move)."""
        idx = self._select(boards)
        self.winner[idx] = 1 - self.to_move[idx]

    def describe_illegal(self, action: int, board: int) -> str:
        """Why ``action`` is illegal on ``board``; games override this with their own reasons."""
        if not 0 <= action < self.num_actions:
            return f"valid actions are 0..{self.num_actions - 1}"
        return "not legal in this position"

    # --- copying positions (for searches) --------------------------------------------------------
    def _state_arrays(self) -> list[np.ndarray]:
        if not self.state_fields:
            raise NotImplementedError(f"{type(self).__name__} declares no state_fields: name its per-board arrays there to copy positions")
        return [getattr(self, name) for name in (*self._BASE_STATE, *self.state_fields)]

    def state_signature(self) -> tuple:
        """What two games must share for positions to move between them: the class and each state
        array's per-board shape and dtype (a 5x5 Hex board does not fit a 7x7 one)."""
        return (type(self), *((a.shape[1:], a.dtype) for a in self._state_arrays()))

    def copy_boards(self, source: TurnBasedGame, source_boards: np.ndarray, boards: np.ndarray) -> None:
        """Board ``source_boards[i]`` of ``source`` becomes board ``boards[i]`` of this game (``source``
        may be this game): a search copies its root into scratch boards and plays on from there.
        One source board fills all of ``boards``."""
        if source is not self and source.state_signature() != self.state_signature():
            raise ValueError(f"cannot copy boards of {source.name} {source.state_signature()} into {self.state_signature()}")
        src, dst = self._select(source_boards), self._select(boards)
        if src.size == 1 and dst.size > 1:
            src = np.repeat(src, dst.size)
        if src.size != dst.size:
            raise ValueError(f"got {src.size} source boards for {dst.size} boards")
        for mine, theirs in zip(self._state_arrays(), source._state_arrays()):
            if source is self:
                mine[dst] = theirs[src]  # gather, then scatter: safe where the two sets overlap
            else:
                copy_rows(mine, theirs, dst, src)

    def rollout_winners(self, boards: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Play uniformly random moves (:meth:`random_actions`) on each of ``boards`` (distinct, as
        in :meth:`play`) until it ends; the ``winner`` code of each (int64 ``(k,)``). The boards are
        spent: a search hands it scratch copies, and their state afterwards is whatever the game
        leaves.

        This loop is the meaning; it costs one batched ``play`` per ply. A game that can sample the
        same outcome distribution faster overrides it (Hex fills the board in a random order and
        reads the winner once), which is most of the generic MCTS's time on such a game."""
        idx = self._select(boards)
        rows = idx[self.winner[idx] == RUNNING]
        while rows.size:
            self.play(self.random_actions(rng.random(rows.size), rows), rows, check=False)
            rows = rows[self.winner[rows] == RUNNING]
        return self.winner[idx].astype(np.int64)

    def move_outcomes(self, boards: np.ndarray, scratch: Callable[[int], TurnBasedGame] | None = None) -> np.ndarray:
        """Int8 ``(k, num_actions)``: the ``winner`` code each legal move of the mover would leave on
        each of ``boards`` (``RUNNING`` where the game goes on, and for illegal moves); the boards are
        not changed. MCTS asks this of every node it expands, to take a win in one and prove nodes.

        The default plays every legal move on a copy: ``scratch(m)`` supplies a game of this kind
        with at least ``m`` boards to copy onto (a search keeps one; spawned when ``scratch`` is
        None). A game that can tell without copying its state overrides this (Hex asks its
        union-find which empty cells join the mover's edges)."""
        idx = self._select(boards)
        mask = self.legal_mask(idx)
        board_of, actions = np.nonzero(mask)
        outcomes = np.full(mask.shape, RUNNING, dtype=np.int8)
        if actions.size:
            probe = scratch(actions.size) if scratch is not None else self.spawn(actions.size)
            slots = np.arange(actions.size)
            probe.copy_boards(self, idx[board_of], slots)
            probe.play(actions, slots, check=False)
            outcomes[board_of, actions] = probe.winner[slots]
        return outcomes

    def spawn(self, batch_size: int) -> TurnBasedGame:
        """A new game like this one (same class and options) with ``batch_size`` fresh boards.

        Built by copying this object and giving each declared state array the new batch size, so a
        game need not say how to rebuild itself; this is sound because ``state_fields`` names all of
        its per-board state, which :meth:`copy_boards` relies on anyway. A game with attributes that
        are views into its state (Connect Four's ``board``) overrides this with its constructor."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        game = copy.copy(self)
        game.batch_size = batch_size
        for name in (*self._BASE_STATE, *self.state_fields):
            array = getattr(self, name)
            setattr(game, name, np.zeros((batch_size, *array.shape[1:]), dtype=array.dtype))
        game.reset()
        return game

    # --- optional players and views --------------------------------------------------------------
    def named_player(self, name: PlayerName, seed: int | None = None) -> Any:
        """This game's own player for a parsed name other than ``random`` (which every game has, as
        :meth:`random_actions`); None if the game has no such player. Every game that declares its
        ``state_fields`` has ``mctsN``: the generic search of :mod:`envs.mcts`, bound to this game
        (a :class:`SeatedOpponent`, since it reads positions, not observations)."""
        if name.kind == MCTS and self.state_fields:
            return GenericMCTSPlayer(simulations=name.simulations, seed=seed, game=self)
        return None

    has_symmetry: bool = False  # True where turn_view/turn_actions implement a symmetry of the rules

    def turn_view(self, observation: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observations and masks ``(k, ...)`` seen through the game's symmetry (Hex: the board turned
        180 degrees), for envs that show the learner random symmetric views; pairs with
        :meth:`turn_actions`, which maps a move chosen in the turned view back."""
        raise NotImplementedError(f"{type(self).__name__} declares no symmetry")

    def turn_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions chosen in :meth:`turn_view`'s view, as actions of the plain view (the symmetry is its own inverse)."""
        raise NotImplementedError(f"{type(self).__name__} declares no symmetry")

    def render_ansi(self, board: int = 0) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no text rendering")

    # --- for people: side names, move notation, positions as text --------------------------------
    # What a person at the keyboard is told and types (rlagent.play, rlagent.analyze). The defaults
    # work for any game; a game overrides them to speak its own language (Hex: X and O, cells c3).
    player_names: tuple[str, str] = ("first", "second")
    player_goals: tuple[str, str] = ("", "")  # what each side is after, said once to a human player
    move_format: str = "an action number"  # what a typed move looks like, for prompts and refusals
    position_format: str = ""  # how set_position reads a position; empty: the game reads none

    def move_name(self, action: int, board: int = 0) -> str:
        """Action ``action`` of the mover of ``board`` (mover's frame) as people write it (absolute)."""
        return str(int(action))

    def parse_move(self, text: str, board: int = 0) -> int:
        """A move typed by a person for the mover of ``board``, as an action of the mover's frame.

        Raises ``ValueError`` saying why the text is not a move. Whether the move is legal now is
        the caller's question (:meth:`is_legal`, :meth:`describe_illegal`), so a game need only
        read its notation here."""
        word = text.strip()
        if not word.isdigit() or not 0 <= int(word) < self.num_actions:
            raise ValueError(f"a move is an action number 0-{self.num_actions - 1}, got {word!r}")
        return int(word)

    def move_map(self, labels: list[str], board: int = 0) -> str | None:
        """The board drawn with ``labels[a]`` (a short text: a probability, a value) where each
        action ``a`` of the mover would play, or None where the game has no such drawing; analysis
        prints it as a heat map."""
        return None

    def set_position(self, text: str, board: int = 0, to_move: int | None = None) -> None:
        """Board ``board`` becomes the running position written in ``text`` (:attr:`position_format`);
        ``to_move`` where the text leaves it open. ``ValueError`` says what is wrong with the text."""
        raise NotImplementedError(f"{type(self).__name__} reads no positions from text")

    def render_rgb(self, board: int = 0) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no picture rendering")


from envs.simultaneous import SimultaneousGame  # noqa: E402,F401  (the simultaneous-move base)
from envs.trial_task import TrialTask  # noqa: E402,F401  (the trial-task base, exported here with the others)
