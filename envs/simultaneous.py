"""The base of simultaneous-move games (the Arena): every seat acts on every step.

Where :class:`envs.base.TurnBasedGame` asks one mover per board for a move, a simultaneous game
takes one action per seat for every game of the batch at once, ``(B, K, *action_shape)``, and
pays every seat a reward each step. Seats that are out of the game (dead bodies) act as no-ops.
The Gymnasium adapter (one learner seat, opponents in the others), the PettingZoo ParallelEnv,
matches and the league are written against this class, not against the Arena.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from envs.player_names import PlayerName


class SimultaneousGame(ABC):
    """A batch of ``batch_size`` games of ``num_seats`` seats, state in arrays with the batch first.

    ``steps`` counts each game's steps and ``over`` says which games have ended; an ended game is
    not stepped again until :meth:`reset`. Subclasses implement ``_reset``, ``_step`` (rules on the
    running games only), ``observation`` and ``outcome``; this class checks the actions.
    """

    name: str = "game"
    score: np.ndarray  # (B, K): each seat's score this episode, set by the subclass (the env reports the learner's)

    def __init__(self, batch_size: int, num_seats: int) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
        self.batch_size, self.num_seats = int(batch_size), int(num_seats)
        self.steps = np.zeros(self.batch_size, np.int64)
        self.over = np.zeros(self.batch_size, bool)

    @property
    @abstractmethod
    def num_actions(self) -> int:
        """Bits of one seat's MultiBinary action."""

    @property
    @abstractmethod
    def observation_size(self) -> int:
        """Length of one seat's float32 observation."""

    @abstractmethod
    def _reset(self, idx: np.ndarray) -> None:
        """Start new games on ``idx`` (the base class clears ``steps`` and ``over``)."""

    @abstractmethod
    def _step(self, actions: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Advance the games where ``active``; set ``over``; return rewards (B, K)."""

    @abstractmethod
    def observation(self, arenas: np.ndarray | None = None) -> np.ndarray:
        """Float32 (n, K, observation_size): every seat's view of each listed game."""

    @abstractmethod
    def outcome(self, arenas: np.ndarray | None = None) -> np.ndarray:
        """(n, K): each seat's result, 1 win, 0.5 draw, 0 loss (meaningful once a game is over)."""

    # --- what a game may add; the defaults suit a game without them ----------------------------
    def in_game(self, games: np.ndarray) -> np.ndarray:
        """Bool (n, K): the seats of ``games`` still playing (a game where seats drop out, such as
        the Arena's dead bodies, overrides this); the others' actions are ignored."""
        return np.ones((np.size(games), self.num_seats), bool)

    def observation_bounds(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Low and high of every observation entry, for the Box space."""
        return -np.inf, np.inf

    def seed(self, seed: int) -> None:  # noqa: B027 (a no-op by default, not abstract: most games have no streams)
        """Restart the game's own random streams (game ``i`` from ``seed + i``); a no-op without any."""

    def seed_openings(self, openings: np.ndarray) -> None:
        """Make the next reset start game ``i`` from numbered opening ``openings[i]``, so that
        deterministic players do not replay one game; a game without openings refuses."""
        raise ValueError(f"{self.name} has no numbered openings: play from its own start (--openings none)")

    def named_player(self, name: "PlayerName", seed: int = 0) -> Any:
        """This game's own player for a parsed name (``random``, a bot), with per-game streams for
        this batch; None if the game has no such player."""
        return None

    def render_ansi(self, game: int = 0) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no text rendering")

    def render_rgb(self, game: int = 0) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no picture rendering")

    def _select(self, games: np.ndarray | None) -> np.ndarray:
        if games is None:
            return np.arange(self.batch_size)
        return np.asarray(games, dtype=np.int64).reshape(-1)

    def reset(self, games: np.ndarray | None = None) -> None:
        idx = self._select(games)
        if idx.size == 0:
            return
        self.steps[idx] = 0
        self.over[idx] = False
        self._reset(idx)

    def step(self, actions: np.ndarray) -> np.ndarray:
        """One step of every running game; ``actions`` (B, K, num_actions) of 0/1. Rewards (B, K).

        Games already over are left as they are (reward 0): reset them first to play on."""
        actions = np.asarray(actions)
        expected = (self.batch_size, self.num_seats, self.num_actions)
        if actions.shape != expected:
            raise ValueError(f"{self.name} actions must have shape {expected} (games, seats, bits), got {actions.shape}")
        if ((actions != 0) & (actions != 1)).any():
            raise ValueError(f"{self.name} actions are bits: every entry must be 0 or 1")
        if actions.dtype != np.int8:
            actions = actions.astype(np.int8)
        return self._step(actions, ~self.over)
