"""Delayed match-to-sample: the batched task (:mod:`envs.dms.core`, on :class:`envs.trial_task.TrialTask`)
and its Gymnasium envs (:mod:`envs.dms.env`), registered as ``rlagent/DMS-v0``."""

from envs.dms.core import MATCH, NEUROGYM_TIMING, NON_MATCH, DMSCore, dms_periods
from envs.dms.env import dms_env, dms_vector_env

__all__ = ["MATCH", "NEUROGYM_TIMING", "NON_MATCH", "DMSCore", "dms_env", "dms_periods", "dms_vector_env"]
