"""Environment names to vector envs.

Our own envs (``hex``, later ``pwm`` and ``arena``) come from their batched cores through
``vector_entry_point``. Other ids use their native vector env only if it resets finished episodes
in the same step (``AutoresetMode.SAME_STEP``), which the collector relies on; otherwise (e.g.
Gymnasium's own CartPole vector env, which resets on the next step) Gymnasium's ``SyncVectorEnv``
with SAME_STEP.
"""

from __future__ import annotations

import difflib
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode, VectorEnv

import envs
from rlagent.errors import ConfigError


def resolve_env_id(name: str) -> str:
    """A CLI short name (``hex``) or a registered Gymnasium id, else a one-line error with choices."""
    if name.lower() in envs.ENV_IDS:
        return envs.ENV_IDS[name.lower()]
    if name in gym.registry:
        return name
    known = sorted(envs.ENV_IDS) + sorted(k for k in gym.registry if "/" not in k or k.startswith("rlagent/"))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ConfigError(
        f"unknown environment {name!r}{hint}: use one of {', '.join(sorted(envs.ENV_IDS))} or any registered Gymnasium id such as CartPole-v1"
    )


def make_env(name: str, num_envs: int, env_kwargs: dict[str, Any] | None = None) -> VectorEnv:
    """``num_envs`` copies of ``name`` as one SAME_STEP-autoreset vector env; bad kwargs -> ConfigError."""
    env_id = resolve_env_id(name)
    kwargs = dict(env_kwargs or {})
    spec = gym.spec(env_id)
    try:
        if spec.vector_entry_point is not None:
            native = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
            if native.metadata.get("autoreset_mode") == AutoresetMode.SAME_STEP:
                return native
            native.close()
        return gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **kwargs,
        )
    except (TypeError, ValueError, gym.error.Error) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"cannot make {env_id} with env settings {kwargs}: {message}") from None
