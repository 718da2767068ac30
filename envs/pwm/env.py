"""Gymnasium entry points for PWM: ``gymnasium.make("rlagent/PWM-v0")`` and ``make_vec``.

:func:`pwm_env` and :func:`pwm_vector_env` are the registered factories, on the generic trial-task
envs of :mod:`envs.trial_task_env`. Their options are :class:`~envs.pwm.core.PWMCore`'s, read from
its ``__init__`` (:mod:`envs.trial_options`): ``task``, ``preset``, ``epoch_len``, ``delay``,
``r_wrong``, ``r_early``, ``abort_on_early``, ``obs_noise``; ``pwm_vector_env`` takes ``num_envs`` first.

Observation: float32 ``(obs_dim,)`` (see :mod:`envs.pwm.core`); action: ``Discrete(3)``, 0 hold,
1 "first > second", 2 "first < second". Episodes are blocks of ``epoch_len`` steps that end by
truncation (never termination; :mod:`envs.trial_task` says why). ``info`` carries ``trial``,
``step_in_trial``, ``trial_end``, ``condition``, ``trivial``, ``correct_answer``, ``outcome`` (0 none
yet, 1 correct, 2 wrong, 3 miss) and ``early_response``, describing the step just played.
"""

from __future__ import annotations

from envs.pwm.core import PWMCore
from envs.trial_task_env import env_factory, vector_env_factory

pwm_env = env_factory(PWMCore, "pwm_env", __name__)
pwm_vector_env = vector_env_factory(PWMCore, "pwm_vector_env", __name__)
