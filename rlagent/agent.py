"""A trained agent, loaded from a run directory or checkpoint.

The commands (evaluate, play, analyze, league) and the library (players, self-play, sweeps) all
need it, so it lives here once, below every command: :func:`load_agent` rebuilds the policy a run
trained (its saved config, its env's spaces, checked against the checkpoint). Playing it for whole
episodes is :mod:`rlagent.episodes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from rlagent.algos import LEARNERS
from rlagent.checkpoint import check_compatible, check_state_dict_compatible, latest_checkpoint, load_checkpoint, space_signature
from rlagent.config import Config, resolve
from rlagent.errors import CheckpointError
from rlagent.gym_envs import env_parameters, make_vector_env


@dataclass
class Agent:
    policy: torch.nn.Module
    config: Config
    path: Path


def _plays_opponents(env: str) -> bool:
    parameters = env_parameters(env)
    return "agent_color" in parameters or "learner_seat" in parameters


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
    kwargs = {k: v for k, v in config.env_kwargs.items() if k != "opponent" or not _plays_opponents(config.env)}
    env = make_vector_env(config.env, 1, kwargs)
    check_compatible(payload["spaces"], space_signature(env.single_observation_space, env.single_action_space))
    policy = LEARNERS[config.algo].build_network(env.single_observation_space, env.single_action_space, config.policy, config.algorithm)
    check_state_dict_compatible(payload["model"], policy, source=str(path))
    policy.load_state_dict(payload["model"])
    policy.eval()
    env.close()
    return Agent(policy, config, path)
