"""Players: anything that picks moves for a batch of positions.

One protocol serves as env opponent, league entrant and evaluation adversary:
``player(observation, action_mask) -> actions``, all batched, in the mover's frame (see
``envs.base.Opponent``). Each call is one batched computation, never one per position.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from rlagent.errors import ConfigError
from rlagent.nets.distributions import Categorical


class RandomPlayer:
    """Uniformly random legal moves: the floor every rating is anchored to."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        legal = np.asarray(action_mask) != 0
        keys = np.where(legal, self.rng.random(legal.shape), -1.0)
        return keys.argmax(axis=1)


class PolicyPlayer:
    """A trained policy as a player: greedy, or sampled with a temperature.

    ``temperature`` divides the logits before sampling (1 = the policy's own distribution, towards
    0 = greedy). Recurrent policies are played from a fresh state every call, which suits board
    games (the board is the whole state); they are refused otherwise.
    """

    def __init__(self, policy: torch.nn.Module, greedy: bool = True, temperature: float = 1.0, seed: int = 0, name: str = "policy") -> None:
        if temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        self.policy, self.greedy, self.temperature, self.name = policy, greedy, temperature, name
        self.generator = torch.Generator().manual_seed(seed)
        policy.eval()

    @classmethod
    def load(cls, path: str | Path, greedy: bool = True, temperature: float = 1.0, seed: int = 0) -> PolicyPlayer:
        """From a run directory (its latest checkpoint) or a checkpoint file."""
        from rlagent.evaluate import load_agent

        agent = load_agent(path)
        return cls(agent.policy, greedy, temperature, seed, name=agent.path.stem)

    @torch.inference_mode()
    def distribution(self, observation: np.ndarray, action_mask: np.ndarray) -> tuple[Categorical, torch.Tensor]:
        """The policy's move distribution (at this player's temperature) and value, for a batch."""
        out = self.policy.forward({"observation": observation, "action_mask": action_mask})
        dist = out.dist
        if self.temperature != 1.0:
            dist = Categorical(dist.logits / self.temperature, dist.mask)
        return dist, out.value

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        dist, _ = self.distribution(observation, action_mask)
        actions = dist.mode() if self.greedy else dist.sample(self.generator)
        return actions.numpy()

    def select_moves(self, boards: np.ndarray, to_move: np.ndarray) -> np.ndarray:
        """Hex positions in, absolute cells ``r * n + c`` out.

        ``boards``: int8 (B, n, n), 0 empty, 1 first player's stones, 2 second player's; ``to_move``:
        0 or 1 per board. Finished or full boards have no legal move and are refused.
        """
        from envs.hex.core import planes_from_boards, transpose_actions

        boards = np.asarray(boards, dtype=np.int8)
        to_move = np.asarray(to_move).reshape(-1)
        planes = planes_from_boards(boards, to_move)
        n = boards.shape[1]
        mask = np.zeros((boards.shape[0], n * n + 1), dtype=np.int8)
        mask[:, : n * n] = (planes[:, 0] + planes[:, 1] == 0).reshape(boards.shape[0], -1)
        if not mask.any(axis=1).all():
            raise ConfigError("select_moves got a full board: there is no legal move to choose")
        actions = self(planes, mask)
        return np.where(to_move == 1, transpose_actions(actions, n), actions)


def make_opponent(spec: str, seed: int = 0) -> object:
    """An opponent from its command-line name: ``random``, ``mctsN`` (UCT with N simulations, e.g.
    ``mcts200``) or the path of a run directory or checkpoint (played greedily)."""
    if spec == "random":
        return "random"  # the env's own batched random player, on its per-board streams
    match = re.fullmatch(r"mcts(\d+)", spec)
    if match:
        from envs.hex.mcts import MCTSPlayer

        return MCTSPlayer(simulations=int(match.group(1)), seed=seed)
    if Path(spec).exists():
        return PolicyPlayer.load(spec, seed=seed)
    raise ConfigError(f"unknown opponent {spec!r}: use random, mctsN (e.g. mcts200) or the path of a run directory or checkpoint")
