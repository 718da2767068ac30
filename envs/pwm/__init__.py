"""Parametric working memory: the batched task (:mod:`envs.pwm.core`, on :class:`envs.trial_task.TrialTask`)
and its Gymnasium envs (:mod:`envs.pwm.env`), registered as ``rlagent/PWM-v0``."""

from envs.pwm.core import FIRST_GREATER, FIRST_SMALLER, PRESETS, PWMCore, adjacent_pairs, parse_task
from envs.pwm.env import pwm_env, pwm_vector_env

__all__ = [
    "FIRST_GREATER",
    "FIRST_SMALLER",
    "PRESETS",
    "PWMCore",
    "adjacent_pairs",
    "parse_task",
    "pwm_env",
    "pwm_vector_env",
]
