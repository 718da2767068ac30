"""Parametric working memory (PWM) on the :class:`~envs.trial_task.TrialTask` base.

``K`` ordered stimuli A < B < C < ... are shown two at a time, with a delay between them; the agent
answers whether the first was greater (action 1) or smaller (action 2) than the second. Only
adjacent pairs are used, in both orders: ``2 (K - 1)`` conditions, numbered ``AB, BA, BC, CB, ...``
(condition ``2i`` is stimulus ``i`` then ``i + 1``, condition ``2i + 1`` the reverse). A condition is
*trivial* when its second stimulus is the smallest or the largest: its answer follows from the
second stimulus alone. On ``pwm5`` (BA and DE trivial) a memoryless agent therefore plateaus at
62.5% overall and 50% on the non-trivial conditions; learning to remember shows as leaving it.

Tasks: ``"pwm0"`` is the all-trivial ``K = 2`` version, ``"pwmK"`` has ``K`` stimuli (2 to 20).
Stimuli are one-hot over ``max(6, K)`` channels (6: the width the original experiments used).

Presets (the trial's timing):

- ``"seed"``: 3-step trials back to back, stimulus 1, one delay step (blank), stimulus 2; the
  response is read on the stimulus-2 step itself. ``delay`` changes the number of delay steps;
  ``epoch_len`` must be a multiple of the trial length (3 by default: 15 gives 5 trials, 60 gives 20).
- ``"romo"``: one trial per episode, periods fixation / stimulus 1 / delay / stimulus 2 / decision
  of 2 / 2 / 5 / 2 / 4 steps at ``epoch_len`` 15, scaled in proportion for other lengths (each
  non-delay period rounded, at least one step, the delay takes the rest). An extra last channel is
  the fixation cue: on until the decision period, whose onset is the go signal. A ``delay`` given
  explicitly is kept and the fixation period absorbs the difference.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

import numpy as np

from envs.trial_task import Period, TrialTask, check_int

FIRST_GREATER, FIRST_SMALLER = 1, 2
MIN_STIMULI, MAX_STIMULI = 2, 20
MIN_CHANNELS = 6
PRESETS = ("seed", "romo")
ROMO_REFERENCE_LEN = 15
ROMO_REFERENCE = {"fixation": 2, "stim1": 2, "delay": 5, "stim2": 2, "decision": 4}
TASK_HELP = f"use 'pwm0' (2 stimuli, all trivial) or 'pwmK' with K from {MIN_STIMULI} to {MAX_STIMULI}, e.g. 'pwm5'"


def parse_task(task: object) -> int:
    """The number of stimuli ``K`` of a task name (``"pwm0"`` is 2), else a one-line ValueError."""
    match = re.fullmatch(r"pwm(\d+)", task) if isinstance(task, str) else None
    if match is None:
        raise ValueError(f"unknown PWM task {task!r}: {TASK_HELP}")
    k = int(match.group(1)) or MIN_STIMULI
    if not MIN_STIMULI <= k <= MAX_STIMULI:
        raise ValueError(f"PWM task {task!r} has K = {k} stimuli: {TASK_HELP}")
    return k


def adjacent_pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """First and second stimulus of each condition: ``(i, i+1)`` then ``(i+1, i)`` for each ``i``."""
    low = np.repeat(np.arange(k - 1), 2)
    up = np.tile([0, 1], k - 1)
    return low + up, low + 1 - up


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def seed_periods(epoch_len: int, delay: int | None) -> list[Period]:
    delay = 1 if delay is None else delay
    length = delay + 2
    if epoch_len % length:
        raise ValueError(
            f"epoch_len {epoch_len} is not a multiple of the seed preset's trial length {length} "
            f"(stimulus, {delay} delay step(s), stimulus): use a multiple of {length}, e.g. {5 * length} or {20 * length}"
        )
    return [Period("stim1", 1), Period("delay", delay), Period("stim2", 1)]


def romo_periods(epoch_len: int, delay: int | None) -> list[Period]:
    scale = epoch_len / ROMO_REFERENCE_LEN
    steps = {name: max(1, _round_half_up(ref * scale)) for name, ref in ROMO_REFERENCE.items() if name != "delay"}
    fixed = sum(steps.values())
    if delay is None:
        steps["delay"] = epoch_len - fixed
        if steps["delay"] < 1:
            raise ValueError(f"epoch_len {epoch_len} is too short for the romo preset: use epoch_len >= 5 (15 is the reference)")
    else:
        # The stimuli and the decision keep their scaled lengths; fixation takes up the slack.
        fixation = epoch_len - (fixed - steps["fixation"]) - delay
        if fixation < 1:
            most = epoch_len - (fixed - steps["fixation"]) - 1
            valid = f"use a delay from 0 to {most}" if most >= 0 else "use a longer epoch_len"
            raise ValueError(f"delay {delay} does not fit the romo preset at epoch_len {epoch_len}: {valid}")
        steps["fixation"], steps["delay"] = fixation, delay
    return [Period(name, steps[name]) for name in ROMO_REFERENCE]


class PWMCore(TrialTask):
    """A batch of PWM episodes; see the module docstring for the task, presets and options."""

    name = "pwm"
    num_choices = 2

    def __init__(
        self,
        batch_size: int = 1,
        task: str = "pwm5",
        preset: str = "seed",
        epoch_len: int = 15,
        delay: int | None = None,
        *,
        seed: int | None = None,
        **common: Any,
    ) -> None:
        """PWM's own options; ``common`` are :class:`TrialTask`'s shared ones (``r_wrong``,
        ``r_early``, ``abort_on_early``, ``obs_noise``), passed through so they are declared once."""
        self.task = task
        self.num_stimuli = parse_task(task)
        if not isinstance(preset, str) or preset not in PRESETS:
            raise ValueError(f"unknown PWM preset {preset!r}: use one of {list(PRESETS)}")
        self.preset = preset
        epoch_len = check_int("epoch_len", epoch_len, 1)
        if delay is not None:
            delay = check_int("delay", delay, 0)
        self.first, self.second = adjacent_pairs(self.num_stimuli)
        self.stimulus_channels = max(MIN_CHANNELS, self.num_stimuli)
        self.has_cue = preset == "romo"
        periods = seed_periods(epoch_len, delay) if preset == "seed" else romo_periods(epoch_len, delay)
        response = "stim2" if preset == "seed" else "decision"
        super().__init__(batch_size, epoch_len, periods, response, seed=seed, **common)

    def condition_answers(self) -> np.ndarray:
        return np.where(self.first > self.second, FIRST_GREATER, FIRST_SMALLER)

    def condition_trivial(self) -> np.ndarray:
        return (self.second == 0) | (self.second == self.num_stimuli - 1)

    def condition_names(self) -> list[str]:
        letters = string.ascii_uppercase
        return [letters[a] + letters[b] for a, b in zip(self.first, self.second)]

    def period_observation(self, period: Period, conditions: np.ndarray) -> np.ndarray:
        obs = np.zeros((conditions.size, self.stimulus_channels + self.has_cue), dtype=np.float32)
        shown = {"stim1": self.first, "stim2": self.second}.get(period.name)
        if shown is not None:
            obs[np.arange(conditions.size), shown[conditions]] = 1.0
        if self.has_cue and period.name != "decision":
            obs[:, -1] = 1.0
        return obs
