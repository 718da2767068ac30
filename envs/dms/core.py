"""Delayed match-to-sample (DMS) on the :class:`~envs.trial_task.TrialTask` base.

A trial: fixation, a *sample* stimulus, a delay, a *test* stimulus, then the decision: action 1
"match" (the test is the sample) or 2 "non-match"; 0 holds fixation. Stimuli are angles on a ring
of ``dim_ring`` input units (unit ``j`` at angle ``2 pi j / dim_ring`` responds
``0.5 + 0.5 cos(angle - its angle)``); the sample is one of the ``dim_ring`` unit angles, and a
non-match test is the opposite angle (sample + pi). Conditions: for each sample a match and a
non-match, drawn uniformly (``2 dim_ring`` conditions; none is answerable without memory). Input 0
is the fixation cue, on until the decision period, whose onset is the go signal.

Timing: durations in ms, floored to whole steps of ``dt`` ms; ``timing`` overrides some of them
(``{"delay": 500}``). ``trials`` back-to-back trials make an episode. Answering before the decision
period (breaking fixation) earns ``r_early`` each time; the first answer in it settles the trial.

Compared with NeuroGym's ``DelayMatchSample`` (neurogym 2.3.1, ``envs/native/delaymatchsample.py``):

- the same: periods fixation / sample / delay / test / decision of 300 / 500 / 1000 / 500 / 900 ms
  at ``dt = 100`` (3 / 5 / 10 / 5 / 9 steps; durations floored to ``dt`` as there), ``dim_ring = 2``,
  the observation layout (fixation unit first, then the ring), the cosine tuning, the non-match test
  at sample + pi, match and non-match equally likely, actions 0 fixate / 1 match / 2 non-match,
  rewards +1 correct, 0 wrong, -0.1 for breaking fixation, 0 for no answer, and no abort by default;
- deliberately different: NeuroGym penalises a response only in the fixation period; here any
  response before the decision period is an early response (the fixation cue stays on through
  sample, delay and test, and NeuroGym's own ground truth there is "fixate"). A NeuroGym trial ends
  at the first decision response; here it keeps its length (later responses earn 0), so a batch of
  episodes stays in step. NeuroGym adds noise (``sigma / sqrt(dt)``, 0.1 at its defaults) to the ring
  units during sample and test; here ``obs_noise`` (default 0) is added to every unit on every step.
  NeuroGym's trials are an endless stream; here an episode is ``trials`` trials, ended by truncation.
  Fixed durations only (NeuroGym also accepts random ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.trial_task import Period, TrialTask, check_int

MATCH, NON_MATCH = 1, 2
NEUROGYM_TIMING = {"fixation": 300, "sample": 500, "delay": 1000, "test": 500, "decision": 900}  # ms
NEEDS_A_STEP = ("sample", "test", "decision")


def dms_periods(timing: Mapping[str, int] | None, dt: int) -> list[Period]:
    """NeuroGym's durations overridden by ``timing``, floored to steps of ``dt`` ms as NeuroGym does."""
    dt = check_int("dt", dt, 1)
    if timing is not None and not isinstance(timing, Mapping):
        raise ValueError(f"timing must map period names to ms, e.g. {{'delay': 500}}, got {timing!r}")
    unknown = sorted(set(timing or {}) - set(NEUROGYM_TIMING))
    if unknown:
        raise ValueError(f"unknown DMS period(s) {unknown} in timing: use {list(NEUROGYM_TIMING)}")
    ms = {**NEUROGYM_TIMING, **(timing or {})}
    periods = [Period(name, check_int(f"timing[{name!r}]", ms[name], 0) // dt) for name in NEUROGYM_TIMING]
    for period in periods:
        if period.name in NEEDS_A_STEP and period.steps < 1:
            raise ValueError(f"the {period.name} period ({ms[period.name]} ms) is shorter than dt ({dt} ms): it needs a step")
    return periods


class DMSCore(TrialTask):
    """A batch of DMS episodes; see the module docstring for the task, its options and NeuroGym's."""

    name = "dms"
    num_choices = 2

    def __init__(
        self,
        batch_size: int = 1,
        dim_ring: int = 2,
        dt: int = 100,
        timing: Mapping[str, int] | None = None,
        trials: int = 1,
        r_early: float = -0.1,
        *,
        seed: int | None = None,
        **common: Any,
    ) -> None:
        """DMS's own options (``r_early`` with NeuroGym's default); ``common`` are the other
        shared :class:`TrialTask` options, passed through so they are declared once."""
        self.dim_ring = check_int("dim_ring", dim_ring, 2)
        periods = dms_periods(timing, dt)
        epoch_len = check_int("trials", trials, 1) * sum(p.steps for p in periods)
        conditions = np.arange(2 * self.dim_ring)
        self.sample, self.match = conditions // 2, conditions % 2 == 0  # condition 2k: sample k, match
        self.unit_angles = 2 * np.pi * np.arange(self.dim_ring) / self.dim_ring
        super().__init__(batch_size, epoch_len, periods, "decision", r_early=r_early, seed=seed, **common)

    def condition_answers(self) -> np.ndarray:
        return np.where(self.match, MATCH, NON_MATCH)

    def condition_names(self) -> list[str]:
        return [f"{round(360 * s / self.dim_ring)}deg {'match' if m else 'non-match'}" for s, m in zip(self.sample, self.match)]

    def stimulus_angles(self, period: str, conditions: np.ndarray) -> np.ndarray:
        """The angle shown in ``period`` ("sample" or "test") in each condition."""
        angle = self.unit_angles[self.sample[conditions]]
        return angle if period == "sample" else np.where(self.match[conditions], angle, angle + np.pi)

    def period_observation(self, period: Period, conditions: np.ndarray) -> np.ndarray:
        obs = np.zeros((conditions.size, 1 + self.dim_ring), dtype=np.float32)
        obs[:, 0] = period.name != "decision"
        if period.name in ("sample", "test"):
            angle = self.stimulus_angles(period.name, conditions)[:, None]
            obs[:, 1:] = 0.5 + 0.5 * np.cos(self.unit_angles[None, :] - angle)
        return obs
