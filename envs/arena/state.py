"""The Arena's state as its readers see it: a protocol, so that readers need not import the core."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from envs.arena.rules import ArenaRules


class ArenaState(Protocol):
    """What the views and the bots read of :class:`envs.arena.core.ArenaCore`. Named here rather
    than imported, because the core imports those modules (its ``render_*`` methods, its named
    players): imports run one way."""

    batch_size: int
    num_seats: int
    rules: ArenaRules
    walls: np.ndarray  # (S, 2, 2), the outer box first
    team: np.ndarray  # (K,)
    ray_offsets: np.ndarray  # (R,)
    steps: np.ndarray  # (B,)
    over: np.ndarray  # (B,)
    position: np.ndarray  # (B, K, 2)
    velocity: np.ndarray  # (B, K, 2)
    angle: np.ndarray  # (B, K)
    angular_velocity: np.ndarray  # (B, K)
    since_shot: np.ndarray  # (B, K, 2)
    hp: np.ndarray  # (B, K)
    alive: np.ndarray  # (B, K)
    score: np.ndarray  # (B, K)
    bullet_position: np.ndarray  # (B, K, G, 2)
    bullet_age: np.ndarray  # (B, K, G), -1 for an empty slot

    def rays(self, arenas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def bullets_in_flight(self, arena: int) -> np.ndarray: ...

    # what :func:`envs.arena.bots.play` drives a whole episode with
    @property
    def num_actions(self) -> int: ...

    def reset(self, games: np.ndarray | None = None) -> None: ...

    def observation(self, arenas: np.ndarray | None = None) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> np.ndarray: ...
