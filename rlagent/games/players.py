"""Players: anything that picks moves for a batch of positions.

One protocol serves as env opponent, league entrant and evaluation adversary:
``player(observation, action_mask) -> actions``, all batched, in the mover's frame (see
``envs.base.Opponent``). Each call is one batched computation, never one per position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.base import TurnBasedGame
from envs.player_names import MCTS, PATH, PUCT, RANDOM, PlayerName, parse_player_name
from rlagent.agent import load_agent
from rlagent.errors import ConfigError
from rlagent.games.extras import load_searched_agent
from rlagent.nets.distributions import Bernoulli, Categorical


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

    A Q-network (a Rainbow or DQN run, :class:`~rlagent.nets.q_network.QNetwork`) plays the same
    way, its logits being its Q-values: greedy = the legal move of highest Q; ``greedy=False``
    samples softmax(Q / ``temperature``) over the legal moves (Boltzmann exploration). Q lies on
    the return scale (within [-1, 1] for win/loss rewards), so at temperature 1 those moves are
    close to uniform: sample a Q-network at a temperature of about 0.05-0.2. The network is put
    in ``eval()`` mode, so noisy layers act with their mean weights (no noise).
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
        agent = load_agent(path)
        return cls(agent.policy, greedy, temperature, seed, name=agent.path.stem)

    @torch.inference_mode()
    def distribution(self, observation: np.ndarray, action_mask: np.ndarray) -> tuple[Categorical | Bernoulli, torch.Tensor]:
        """The policy's move distribution (at this player's temperature) and value, for a batch."""
        out = self.policy.forward({"observation": observation, "action_mask": action_mask})
        return with_temperature(out.dist, self.temperature), out.value

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        dist, _ = self.distribution(observation, action_mask)
        actions = dist.mode() if self.greedy else dist.sample(self.generator)
        return actions.cpu().numpy()


def with_temperature(dist: Any, temperature: float) -> Categorical | Bernoulli:
    """``dist`` with its logits divided by ``temperature`` (1: unchanged): a categorical keeps its
    mask; each bit of a Bernoulli (MultiBinary actions, the Arena's) is sharpened or flattened alike."""
    if temperature == 1.0:
        return dist
    if isinstance(dist, Categorical):
        return Categorical(dist.logits / temperature, dist.mask)
    if isinstance(dist, Bernoulli):
        return Bernoulli(dist.logits / temperature)
    raise ConfigError(f"a temperature applies to Discrete and MultiBinary policies, not to a {type(dist).__name__}")


def parse_player(spec: object, *, paths: bool = False, what: str = "player", also: tuple[str, ...] = ()) -> PlayerName:
    """A player name parsed by the one syntax of :mod:`envs.player_names`; a one-line ``ConfigError``
    naming it as a ``what`` and listing the valid forms if it is not one. ``paths``: the path of a run
    directory or checkpoint is valid too (for the callers that load it). ``also``: further forms
    the caller accepts, for the message."""
    try:
        return parse_player_name(spec, paths=paths, what=what, also=also)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def make_player(spec: str, seed: int = 0, game: TurnBasedGame | None = None) -> Any:
    """A baseline player from its name: ``random``, or ``mctsN`` (UCT with N simulations per move)
    as ``game``'s own search (:meth:`~envs.base.TurnBasedGame.named_player`: Hex's compiled one,
    any other game's generic one).

    Unlike :func:`make_opponent` this always returns a player object, for games played outside
    an env (the league, the self-play pool). ``random`` plays any game, so it needs no ``game``."""
    name = parse_player(spec)
    if name.kind == RANDOM:
        return RandomPlayer(seed)
    if game is None:
        raise ConfigError(f"player {spec!r} is a search of one game's rules: make_player needs the game it plays")
    player = game.named_player(name, seed)
    if player is None:
        raise ConfigError(f"{spec!r} does not play {game.name}: valid players for it are random and mctsN")
    player.name = str(name)
    return player


def make_opponent(spec: str, seed: int = 0) -> object:
    """An opponent from its command-line name: ``random``, ``mctsN`` (UCT with N simulations, e.g.
    ``mcts200``), the path of a run directory or checkpoint (played greedily) or ``PATH@puctN``
    (that Hex agent searched with N network evaluations per move).

    ``random`` and ``mctsN`` come back as names, for the env to build as its game's own player
    (:meth:`~envs.base.TurnBasedGame.named_player`: Hex's compiled search, any other game's generic
    one), seeded by the env's reset seed."""
    name = parse_player(spec, paths=True, what="opponent")
    if name.kind == RANDOM:
        return RANDOM  # the env's own batched random player, on its per-board streams
    if name.kind == MCTS:
        return str(name)
    if name.kind == PUCT:
        return load_searched_agent(name.path, name.simulations, seed=seed, name=spec)
    return PolicyPlayer.load(name.path, seed=seed)


def load_opponent(spec: str) -> object:
    """An env's ``opponent`` option as the env can take it: a run directory or checkpoint loaded as
    a greedy :class:`PolicyPlayer`, ``PATH@puctN`` as its game's search (Hex: a ``PUCTPlayer``), a player name
    (``random``, ``mctsN``) left for the env to build."""
    name = parse_player(spec, paths=True, what="opponent")
    if name.kind == PUCT:
        return load_searched_agent(name.path, name.simulations, name=spec)
    return PolicyPlayer.load(name.path) if name.kind == PATH else spec
