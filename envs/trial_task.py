"""Trial-structured cognitive tasks on a batch: the base a task such as PWM subclasses.

A trial is a fixed sequence of timed :class:`Period` s (fixation, stimulus 1, delay, stimulus 2,
decision, ...). An episode is a block of ``epoch_len`` steps holding back-to-back trials of the same
length, each with a condition drawn uniformly at random. A subclass says three things: its periods
(and which one is the response window), the observation shown in each period for each condition,
and the correct answer of each condition. This class does the rest for ``B`` episodes at once, as
numpy arrays: the clock, drawing conditions, the reward rule, outcomes, ``info`` and the episode end.

Because timing is fixed, the observation a trial shows at each of its steps depends only on its
condition: it is precomputed as a ``(conditions, trial_len + 1, obs_dim)`` table (the extra row is the
blank shown once an episode is over), so observing the whole batch is a single gather (plus
optional Gaussian noise).

Actions: ``0`` holds; ``1 .. num_choices`` are the responses. The reward rule:

- the first response inside the response window earns ``+1`` if it equals the trial's answer and
  ``r_wrong`` otherwise; that settles the trial, and later responses in it earn 0;
- a response before the window (an early response) earns ``r_early`` (0 by default) each time.
  With ``abort_on_early`` the first one also settles the trial as wrong (outcome 2): the trial does
  *not* end early, it keeps its length so every episode stays a fixed block of equal trials (and
  the batch stays in step), but nothing it does afterwards is rewarded or penalised;
- a trial with no response in its window is a miss, decided on the window's last step; it earns 0;
- holding earns 0.

Outcome codes (``info["outcome"]``, set only on the step that decides the trial): 0 none yet,
1 correct, 2 wrong, 3 miss. The same codes are read by :mod:`rlagent.monitor.trials`.
``info["early_response"]`` marks a response before the window of a trial not yet settled (the
responses ``r_early`` is paid for).

Episode end: the block of trials is a time limit, not an end of the task itself (the next block is
the same stream of independent trials), so it is reported as ``truncated=True``, never
``terminated``. A learner should bootstrap from the final observation, which is blank (all zeros,
plus noise when ``obs_noise`` is set): the gap before a fresh trial. Not terminating keeps value
targets a function of what the agent can observe, instead of the hidden position in the block.

``info`` always describes the step the agent acts on: after ``reset`` the first step (outcome 0),
after ``step`` the step just played, so that ``reward``, ``outcome``, ``condition`` and ``trial_end``
of one call belong to the same trial.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from envs.batched_random import BatchedRandom

HOLD = 0
OUTCOME_NONE, OUTCOME_CORRECT, OUTCOME_WRONG, OUTCOME_MISS = 0, 1, 2, 3
OUTCOMES = {OUTCOME_NONE: "none", OUTCOME_CORRECT: "correct", OUTCOME_WRONG: "wrong", OUTCOME_MISS: "miss"}
# The largest |z| Box-Muller can give from 53-bit uniforms (1 - u >= 2**-53): noise is bounded, so
# the observation space can be too (a hair wider, for float32 rounding).
NORMAL_BOUND = math.sqrt(-2.0 * math.log(2.0**-53)) * (1 + 1e-3)
INFO_KEYS = ("trial", "step_in_trial", "trial_end", "condition", "trivial", "correct_answer", "outcome", "early_response")


@dataclass(frozen=True)
class Period:
    """A named stretch of ``steps`` steps within a trial (0 steps: the period is skipped)."""

    name: str
    steps: int


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``, else a one-line ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value: object, minimum: float = -math.inf) -> float:
    """``value`` as a finite float of at least ``minimum``, else a one-line ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < minimum:
        bound = "" if minimum == -math.inf else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


class TrialTask(ABC):
    """``batch_size`` episodes of back-to-back trials of one task, stepped together.

    State per episode: ``t`` (step within the episode; ``epoch_len`` once it is over),
    ``condition`` (the current trial's condition) and ``settled`` (its outcome is decided). Every
    episode draws from its own random stream (:class:`~envs.batched_random.BatchedRandom`), so slot
    ``i`` of a batch seeded ``s`` plays exactly the trials of a batch of one seeded ``s + i``.

    Subclasses set whatever :meth:`condition_answers` and :meth:`period_observation` need, then
    call ``super().__init__`` with their periods.
    """

    name: str = "trial task"
    num_choices: int = 2

    def __init__(
        self,
        batch_size: int,
        epoch_len: int,
        periods: Sequence[Period],
        response_period: str,
        *,
        r_wrong: float = 0.0,
        r_early: float = 0.0,
        abort_on_early: bool = False,
        obs_noise: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.epoch_len = check_int("epoch_len", epoch_len, 1)
        self.r_wrong = check_float("r_wrong", r_wrong)
        self.r_early = check_float("r_early", r_early)
        if not isinstance(abort_on_early, (bool, np.bool_)):
            raise ValueError(f"abort_on_early must be True or False, got {abort_on_early!r}")
        self.abort_on_early = bool(abort_on_early)
        self.obs_noise = check_float("obs_noise", obs_noise, 0.0)

        self.periods = tuple(periods)
        names = [p.name for p in self.periods]
        if response_period not in names:
            raise ValueError(f"response_period {response_period!r} is not one of the periods {names}")
        self.response_period = response_period
        self.trial_len = sum(p.steps for p in self.periods)
        if self.periods[names.index(response_period)].steps < 1:
            raise ValueError(f"the response period {response_period!r} needs at least one step")
        if self.epoch_len % self.trial_len:
            raise ValueError(f"epoch_len {self.epoch_len} is not a multiple of the trial length {self.trial_len}")
        self.trials_per_episode = self.epoch_len // self.trial_len

        answers = np.asarray(self.condition_answers(), dtype=np.int8).reshape(-1)
        if answers.size == 0 or answers.min() < 1 or answers.max() > self.num_choices:
            raise ValueError(f"{type(self).__name__}: every condition's answer must be in 1..{self.num_choices}")
        self.num_conditions = answers.size
        self.answers = answers
        self.trivial = np.asarray(self.condition_trivial(), dtype=bool).reshape(self.num_conditions)
        self._build_tables(names.index(response_period))

        self.rng = BatchedRandom(self.batch_size, seed)  # seed None: from the OS
        self._all = np.arange(self.batch_size)
        self.t = np.full(self.batch_size, self.epoch_len, dtype=np.int64)  # over until reset()
        self.condition = np.zeros(self.batch_size, dtype=np.int64)
        self.settled = np.zeros(self.batch_size, dtype=bool)

    # --- what a task must say about itself -------------------------------------------------------
    @abstractmethod
    def condition_answers(self) -> np.ndarray:
        """The correct response (``1 .. num_choices``) of each condition; its length is the number of conditions."""

    @abstractmethod
    def period_observation(self, period: Period, conditions: np.ndarray) -> np.ndarray:
        """``(len(conditions), obs_dim)``: what every step of ``period`` shows in each condition."""

    def condition_trivial(self) -> np.ndarray:
        """Conditions answerable without memory (reported in ``info["trivial"]``); none by default."""
        return np.zeros(self.num_conditions, dtype=bool)

    def condition_names(self) -> list[str]:
        """Readable names of the conditions, for reports."""
        return [str(c) for c in range(self.num_conditions)]

    # --- precomputed timing and observations -----------------------------------------------------
    def _build_tables(self, response_index: int) -> None:
        """Per-step lookups indexed by ``t`` (0 .. epoch_len, the last being "after the episode"),
        so a step is a handful of gathers whatever the periods are."""
        length, epoch = self.trial_len, self.epoch_len
        step_period = np.repeat(np.arange(len(self.periods)), [p.steps for p in self.periods])
        window = step_period == response_index
        window_last = np.zeros(length, dtype=bool)
        window_last[np.flatnonzero(window)[-1]] = True

        t = np.arange(epoch + 1)
        in_trial = t % length
        self._step_in_trial = np.where(t < epoch, in_trial, length)  # ``length``: the blank after the end
        self._trial_index = np.minimum(t // length, self.trials_per_episode - 1)
        self._in_window = np.append(window, False)[self._step_in_trial]
        self._window_last = np.append(window_last, False)[self._step_in_trial]
        self._trial_end = self._step_in_trial == length - 1
        self._trial_start = self._step_in_trial == 0

        conditions = np.arange(self.num_conditions)
        blocks = [np.asarray(self.period_observation(p, conditions), dtype=np.float32) for p in self.periods]
        obs_dim = blocks[0].shape[-1]
        table = np.zeros((self.num_conditions, length + 1, obs_dim), dtype=np.float32)
        for index, block in enumerate(blocks):
            if block.shape != (self.num_conditions, obs_dim):
                raise ValueError(
                    f"{type(self).__name__}.period_observation gave shape {block.shape} for period "
                    f"{self.periods[index].name!r}; expected {(self.num_conditions, obs_dim)}"
                )
            table[:, np.flatnonzero(step_period == index)] = block[:, None, :]
        self.observation_table = table
        self.observation_size = obs_dim

    def observation_bounds(self) -> tuple[float, float]:
        """Bounds for a Box observation space: the table's range, widened by the largest noise."""
        margin = self.obs_noise * NORMAL_BOUND
        low, high = min(0.0, float(self.observation_table.min())), max(1.0, float(self.observation_table.max()))
        return low - margin, high + margin

    def step_periods(self) -> list[str]:
        """The period name of each step of a trial, e.g. for plots and tests of the timing."""
        return [p.name for p in self.periods for _ in range(p.steps)]

    # --- seeding, reset, observation -------------------------------------------------------------
    def seed(self, seed: int | None) -> None:
        """Restart the streams from ``seed`` (slot ``i`` gets ``seed + i``); ``None`` keeps them
        going (a task built without a seed draws its streams' seed from the OS)."""
        if seed is not None:
            self.rng.seed(seed)

    def _slots(self, slots: np.ndarray | None) -> np.ndarray:
        return self._all if slots is None else np.asarray(slots, dtype=np.int64).reshape(-1)

    def reset(self, slots: np.ndarray | None = None) -> None:
        """Start new episodes on ``slots`` (all by default): the clock at 0 and a first condition."""
        idx = self._slots(slots)
        if idx.size == 0:
            return
        self.t[idx] = 0
        self._start_trials(idx)

    def draw_conditions(self, slots: np.ndarray) -> np.ndarray:
        """A condition per slot, uniformly; a task with another design overrides this (one draw
        per slot from ``self.rng``, so batched and single envs stay identical)."""
        return self.rng.integers(self.num_conditions, slots)

    def _start_trials(self, idx: np.ndarray) -> None:
        self.condition[idx] = self.draw_conditions(idx)
        self.settled[idx] = False

    def observe(self, slots: np.ndarray | None = None) -> np.ndarray:
        """Float32 ``(k, obs_dim)``: what each episode shows at its current step (blank once over)."""
        idx = self._slots(slots)
        obs = self.observation_table[self.condition[idx], self._step_in_trial[self.t[idx]]]
        if self.obs_noise > 0:
            obs += self.obs_noise * self._normal(idx, self.observation_size)
        return obs

    def _normal(self, idx: np.ndarray, size: int) -> np.ndarray:
        """Standard normals ``(k, size)`` by Box-Muller, drawn from each slot's own stream."""
        columns = []
        for _ in range((size + 1) // 2):
            radius = np.sqrt(-2.0 * np.log1p(-self.rng.uniform(idx)))
            angle = 2.0 * np.pi * self.rng.uniform(idx)
            columns += [radius * np.cos(angle), radius * np.sin(angle)]
        return np.stack(columns[:size], axis=1).astype(np.float32)

    def info(self, slots: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The ``info`` fields of the step each of ``slots`` is about to play (outcome 0)."""
        idx = self._slots(slots)
        return self._describe(self.t[idx], self.condition[idx], np.zeros(idx.size, dtype=np.int8), np.zeros(idx.size, dtype=bool))

    def _describe(self, t: np.ndarray, condition: np.ndarray, outcome: np.ndarray, early: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "trial": self._trial_index[t],
            "step_in_trial": self._step_in_trial[t],
            "trial_end": self._trial_end[t],
            "condition": condition,
            "trivial": self.trivial[condition],
            "correct_answer": self.answers[condition],
            "outcome": outcome,
            "early_response": early,
        }

    # --- the step --------------------------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        return self.num_choices + 1

    @property
    def over(self) -> np.ndarray:
        """Bool per episode: its block of trials is finished (reset it before stepping)."""
        return self.t >= self.epoch_len

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Play one step of every episode with valid integer ``actions`` ``(batch_size,)``.

        Returns the rewards (float64), the truncation flags (the block just ended) and the info of
        the step just played. New trials start where one ended; finished episodes wait for
        :meth:`reset`, which the vector env calls in the same step.
        """
        t, condition = self.t, self.condition.copy()
        if (t >= self.epoch_len).any():
            raise RuntimeError("the episode is over: call reset() before step()")
        responds = actions != HOLD
        pending = ~self.settled
        in_window = self._in_window[t]
        answered = responds & pending & in_window
        correct = answered & (actions == self.answers[condition])
        rewards = np.where(correct, 1.0, np.where(answered, self.r_wrong, 0.0))
        outcome = np.where(correct, OUTCOME_CORRECT, np.where(answered, OUTCOME_WRONG, OUTCOME_NONE)).astype(np.int8)

        early = responds & pending & ~in_window
        if self.r_early:
            rewards += np.where(early, self.r_early, 0.0)
        if self.abort_on_early:
            outcome[early] = OUTCOME_WRONG
            answered |= early
        missed = self._window_last[t] & pending & ~answered
        outcome[missed] = OUTCOME_MISS
        self.settled |= answered | missed

        info = self._describe(t, condition, outcome, early)
        t += 1
        truncated = t == self.epoch_len
        starting = self._trial_start[t] & ~truncated
        if starting.any():
            self._start_trials(np.flatnonzero(starting))
        return rewards, truncated, info
