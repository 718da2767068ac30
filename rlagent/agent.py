"""A trained agent: loaded from a run directory or checkpoint, and played for whole episodes.

The commands (evaluate, play, analyze, league) and the library (players, self-play, sweeps) all
need the same two things, so they live here once, below every command: :func:`load_agent` rebuilds
the policy a run trained (its saved config, its env's spaces, checked against the checkpoint), and
:func:`play_episodes` plays it in a batch of envs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlagent.checkpoint import check_compatible, check_state_dict_compatible, latest_checkpoint, load_checkpoint, space_signature
from rlagent.config import Config, resolve
from rlagent.errors import CheckpointError
from rlagent.gym_envs import env_parameters, make_vector_env
from rlagent.monitor.trials import TrialStats
from rlagent.nets import build_policy


@dataclass
class Agent:
    policy: torch.nn.Module
    config: Config
    path: Path


def load_agent(path: str | Path) -> Agent:
    """A trained policy from a run directory (its latest checkpoint) or a checkpoint file."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path} has no checkpoints/step_*.pt: pass a run directory that has trained, or a .pt file")
        path = found
    payload = load_checkpoint(path)
    saved = payload["config"]
    config = resolve(saved["algo"], saved["env"], base=saved)
    # Only the spaces are wanted, and they do not depend on the opponent (which may be another
    # run's agent, not to be loaded for this).
    kwargs = {k: v for k, v in config.env_kwargs.items() if k != "opponent" or "agent_color" not in env_parameters(config.env)}
    env = make_vector_env(config.env, 1, kwargs)
    check_compatible(payload["spaces"], space_signature(env.single_observation_space, env.single_action_space))
    policy = build_policy(env.single_observation_space, env.single_action_space, config.policy)
    check_state_dict_compatible(payload["model"], policy, source=str(path))
    policy.load_state_dict(payload["model"])
    policy.eval()
    env.close()
    return Agent(policy, config, path)


def play_episodes(
    agent: Agent,
    games: int,
    opponent: Any,
    agent_color: int | None,
    seed: int,
    deterministic: bool,
    trial_stats: TrialStats | None = None,
) -> np.ndarray:
    """Returns of ``games`` finished episodes, played in one batch; a trial task's outcomes also go
    to ``trial_stats`` if given. ``opponent``: a player name or object (see
    :func:`rlagent.games.players.make_opponent`), used where ``agent_color`` is given."""
    kwargs = dict(agent.config.env_kwargs)
    if agent_color is not None:
        kwargs.update(agent_color=agent_color, opponent=opponent)
    batch = min(games, 256)
    env = make_vector_env(agent.config.env, batch, kwargs)
    obs, _ = env.reset(seed=seed)
    state = agent.policy.initial_state(batch)
    start = np.ones(batch, dtype=bool)
    running = np.zeros(batch)
    finished: list[float] = []
    generator = torch.Generator().manual_seed(seed)
    # Each slot plays at most its share, so the sample is not biased towards short games.
    quota = np.full(batch, games // batch) + (np.arange(batch) < games % batch)
    while len(finished) < games:
        actions, _, _, state = agent.policy.act(obs, state, start, deterministic=deterministic, generator=generator)
        obs, reward, terminated, truncated, info = env.step(actions)
        running += reward
        start = terminated | truncated
        if trial_stats is not None:
            trial_stats.update(info, start, reward)
        for i in np.flatnonzero(start & (quota > 0)):
            finished.append(float(running[i]))
            quota[i] -= 1
        running[start] = 0.0
    env.close()
    return np.asarray(finished)


def is_two_player(agent: Agent) -> bool:
    """Whether the agent's env is a game against an opponent (it takes ``agent_color``)."""
    return "agent_color" in env_parameters(agent.config.env)
