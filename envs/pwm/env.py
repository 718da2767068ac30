"""Gymnasium entry points for PWM: ``gymnasium.make("rlagent/PWM-v0")`` and ``make_vec``.

:func:`pwm_env` and :func:`pwm_vector_env` are the registered factories, on the generic trial-task
envs of :mod:`envs.trial_task_env`.

Observation: float32 ``(obs_dim,)`` (see :mod:`envs.pwm.core`); action: ``Discrete(3)``, 0 hold,
1 "first > second", 2 "first < second". Episodes are blocks of ``epoch_len`` steps that end by
truncation (never termination; :mod:`envs.trial_task` says why). ``info`` carries ``trial``,
``step_in_trial``, ``trial_end``, ``condition``, ``trivial``, ``correct_answer``, ``outcome`` (0 none
yet, 1 correct, 2 wrong, 3 miss) and ``early_response``, describing the step just played.
"""

from __future__ import annotations

import numpy as np

from envs.pwm.core import PWMCore
from envs.trial_task_env import TrialTaskEnv, TrialTaskVectorEnv


def pwm_env(
    task: str = "pwm5",
    preset: str = "seed",
    epoch_len: int = 15,
    delay: int | None = None,
    r_wrong: float = 0.0,
    r_early: float = 0.0,
    abort_on_early: bool = False,
    obs_noise: float = 0.0,
) -> TrialTaskEnv:
    """One PWM episode: the ``entry_point`` of ``rlagent/PWM-v0``."""
    return TrialTaskEnv(PWMCore(1, task, preset, epoch_len, delay, r_wrong, r_early, abort_on_early, obs_noise))


def pwm_vector_env(
    num_envs: int = 1,
    task: str = "pwm5",
    preset: str = "seed",
    epoch_len: int = 15,
    delay: int | None = None,
    r_wrong: float = 0.0,
    r_early: float = 0.0,
    abort_on_early: bool = False,
    obs_noise: float = 0.0,
) -> TrialTaskVectorEnv:
    """``num_envs`` PWM episodes on one batched core: the ``vector_entry_point`` of ``rlagent/PWM-v0``."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return TrialTaskVectorEnv(PWMCore(int(num_envs), task, preset, epoch_len, delay, r_wrong, r_early, abort_on_early, obs_noise))
