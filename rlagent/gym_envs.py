"""Environment names to vector envs, for any Gymnasium id (what :mod:`rlagent.make_env` builds on).

Our own envs (``hex``, ``pwm``, ``dms``, ``arena``) come from their batched cores through
``vector_entry_point``. Other ids use their native vector env too when it has one (Gymnasium's
CartPole does: a numpy core many times faster than N copies), if its autoreset mode is one the
collector handles (``SAME_STEP`` or ``NEXT_STEP``); otherwise Gymnasium's ``SyncVectorEnv`` with
SAME_STEP. ``native=False`` forces the latter, and so does one env of a Gymnasium id: at batch 1 the
numpy core costs its ~20 array operations per step where the single env's scalar step is cheap
(CartPole: ~106 us a step through ``CartPoleVectorEnv``, ~36 us through ``SyncVectorEnv``, one CPU
thread), which is what DQN's single-env collection spends most of its time on.

Env options go to the env as they are; :func:`rlagent.make_env.make_env` also loads a trained agent
named as the ``opponent``, which this layer cannot (loading an agent makes its env here).
"""

from __future__ import annotations

import difflib
import inspect
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
    raise ConfigError(f"unknown environment {name!r}{hint}: use one of {', '.join(sorted(envs.ENV_IDS))} or any registered Gymnasium id such as CartPole-v1")


def env_parameters(name: str) -> set[str]:
    """The keyword options of an env's entry point (``size``, ``opponent``, ...)."""
    entry = gym.spec(resolve_env_id(name)).entry_point
    if isinstance(entry, str):
        module, attr = entry.split(":")
        entry = getattr(__import__(module, fromlist=[attr]), attr)
    if entry is None:
        raise ConfigError(f"{name} is registered without an entry_point, so its options cannot be read")
    return set(inspect.signature(entry).parameters)


HANDLED_AUTORESET = (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP)


def make_vector_env(name: str, num_envs: int, env_kwargs: dict[str, Any] | None = None, native: bool = True) -> VectorEnv:
    """``num_envs`` copies of ``name`` as one vector env (SAME_STEP or NEXT_STEP autoreset), the
    options passed as they are; bad ones -> ConfigError."""
    env_id = resolve_env_id(name)
    kwargs = dict(env_kwargs or {})
    spec = gym.spec(env_id)
    try:
        ours = env_id in envs.ENV_IDS.values()  # their batched cores are the env; no single-env path to prefer
        if spec.vector_entry_point is not None and native and (num_envs > 1 or ours or spec.entry_point is None):
            vector = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
            if vector.metadata.get("autoreset_mode") in HANDLED_AUTORESET:
                return vector
            vector.close()
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
