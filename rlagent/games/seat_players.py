"""Players for simultaneous-move games (the Arena): trained policies and named bots, by seat.

A seat player (:class:`envs.simultaneous_env.SeatPlayer`) acts for many bodies of many games in
one call. A trained policy keeps a recurrent state per body it plays (``game * K + seat``),
cleared when an episode starts there, so a GRU policy remembers what it saw within a game and
nothing across games. One forward pass per call covers every body, whatever game it is in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from envs.player_names import PATH, PUCT
from envs.simultaneous import SimultaneousGame
from rlagent.agent import load_agent
from rlagent.errors import ConfigError
from rlagent.games.players import parse_player
from rlagent.nets.policy import PolicyNetwork


class PolicySeatPlayer:
    """A trained policy as a seat player: greedy (``greedy=True``, each bit on when its probability
    is above one half) or sampled from the policy's own distribution with a seeded generator."""

    def __init__(self, policy: torch.nn.Module, num_seats: int, greedy: bool = True, seed: int = 0, name: str = "policy") -> None:
        self.policy, self.num_seats, self.greedy, self.name = policy, int(num_seats), greedy, name
        self.generator = torch.Generator().manual_seed(seed)
        self.state: torch.Tensor | None = None
        self.starting = np.zeros(0, bool)
        policy.eval()

    @classmethod
    def load(cls, path: str | Path, num_seats: int, greedy: bool = True, seed: int = 0) -> PolicySeatPlayer:
        """From a run directory (its latest checkpoint) or a checkpoint file."""
        agent = load_agent(path)
        return cls(agent.policy, num_seats, greedy, seed, name=agent.path.stem)

    def _slots(self, games: np.ndarray, seats: np.ndarray) -> np.ndarray:
        slots = np.asarray(games, np.int64) * self.num_seats + np.asarray(seats, np.int64)
        needed = int(slots.max()) + 1 if slots.size else 0
        if needed > self.starting.size:  # grow to the largest batch seen
            grown = np.ones(needed, bool)
            grown[: self.starting.size] = self.starting
            self.starting = grown
            state_size = getattr(self.policy, "state_size", 0)
            if state_size:
                fresh = torch.zeros(needed, state_size)
                if self.state is not None:
                    fresh[: self.state.shape[0]] = self.state
                self.state = fresh
        return slots

    def start(self, games: np.ndarray, seats: np.ndarray) -> None:
        slots = self._slots(games, seats)
        self.starting[slots] = True

    def act(self, game: SimultaneousGame, games: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        slots = self._slots(games, seats)
        if slots.size == 0:
            return np.zeros((0, game.num_actions), np.int8)
        if np.unique(slots).size != slots.size:
            raise ConfigError("a seat player got the same body twice in one call")
        state = self.state[slots] if self.state is not None else None
        starts = self.starting[slots]
        actions, _, _, new_state = cast(PolicyNetwork, self.policy).act(observation, state, starts, deterministic=self.greedy, generator=self.generator)
        if self.state is not None and new_state is not None:
            self.state[slots] = new_state
        self.starting[slots] = False
        return np.asarray(actions, np.int8)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with an env inside a checkpoint: the generator as its state tensor."""
        state = self.__dict__.copy()
        state["generator"] = self.generator.get_state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        generator = torch.Generator()
        generator.set_state(state.pop("generator"))
        self.__dict__.update(state, generator=generator)


def load_seat_opponent(spec: str, num_seats: int) -> Any:
    """An Arena env's ``opponent`` option as the env can take it: a run directory or checkpoint
    loaded as a greedy :class:`PolicySeatPlayer`, a bot's name left for the env to build."""
    name = parse_player(spec, paths=True, what="opponent")
    if name.kind == PUCT:
        raise ConfigError(
            f"opponent {spec!r} is a network-guided search (PATH@puctN), which board games have: simultaneous-move games take a run directory, a checkpoint or a bot"
        )
    return PolicySeatPlayer.load(name.path, num_seats) if name.kind == PATH else spec
