"""Gymnasium entry points for DMS: ``gymnasium.make("rlagent/DMS-v0")`` and ``make_vec``.

Generated from :class:`~envs.dms.core.DMSCore` (:mod:`envs.trial_options`): options ``dim_ring``,
``dt``, ``timing``, ``trials``, ``r_early`` and the shared ``r_wrong``, ``abort_on_early``,
``obs_noise``; ``dms_vector_env`` takes ``num_envs`` first. Observation: float32
``(1 + dim_ring,)``, the fixation cue then the ring; action ``Discrete(3)``: 0 fixate, 1 match,
2 non-match. ``info`` is that of every trial task (:mod:`envs.trial_task`).
"""

from __future__ import annotations

from envs.dms.core import DMSCore
from envs.trial_task_env import env_factory, vector_env_factory

dms_env = env_factory(DMSCore, "dms_env", __name__)
dms_vector_env = vector_env_factory(DMSCore, "dms_vector_env", __name__)
