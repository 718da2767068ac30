"""Trial-level metrics for cognitive tasks: accuracy overall, on trivial and non-trivial conditions.

A trial task (``envs.trial_task.TrialTask``, e.g. PWM) reports in ``info`` on the step where a
trial's outcome is decided an ``outcome`` code (0 none yet, 1 correct, 2 wrong, 3 miss) and
whether its condition is ``trivial`` (answerable without memory). Mean episode return hides what
matters here: an agent that ignores the first stimulus sits at a plateau (62.5% overall on pwm5,
50% on non-trivial conditions), and only the split by condition shows whether it has learned to
remember.

On the step an episode ends, a SAME_STEP vector env puts that step's info in ``final_info``
(``info`` already describes the next episode); both are read, so no trial is lost.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

NONE, CORRECT, WRONG, MISS = 0, 1, 2, 3


def step_field(info: dict[str, Any], key: str, dones: np.ndarray) -> np.ndarray | None:
    """``info[key]`` for the step just taken: from ``final_info`` where an episode just ended."""
    if key not in info:
        return None
    values = np.asarray(info[key])
    final = info.get("final_info")
    if dones.any() and isinstance(final, dict) and key in final:
        values = np.where(dones, np.asarray(final[key]), values)
    return values


class TrialStats:
    """The last ``window`` decided trials, summarised as ``trial/*`` metrics."""

    def __init__(self, window: int = 1000) -> None:
        self.window = window
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._rewards: deque[float] = deque()  # the reward paid in each chunk's step, all envs
        self._size = 0
        self.trials = 0  # every decided trial of the run, for plotting against trials

    def update(self, info: dict[str, Any], dones: np.ndarray, rewards: np.ndarray) -> None:
        outcome = step_field(info, "outcome", dones)
        if outcome is None:
            return
        decided = outcome != NONE
        if decided.any():
            trivial = step_field(info, "trivial", dones)
            trivial = np.zeros_like(decided) if trivial is None else trivial.astype(bool)
            self._chunks.append((outcome[decided].astype(np.int8), trivial[decided]))
            self._rewards.append(0.0)
            count = int(decided.sum())
            self._size += count
            self.trials += count
            while self._size - len(self._chunks[0][0]) >= self.window:
                self._size -= len(self._chunks.popleft()[0])
                self._rewards.popleft()
        if self._chunks:  # a decision's reward, and any paid between decisions (early-response penalties)
            self._rewards[-1] += float(np.sum(rewards))

    def summary(self, rollout: Any = None) -> dict[str, float]:
        """The ``trial/*`` metrics; with the rollout a learner just trained on, also
        ``value/critic_bias_trial_start`` (see :func:`critic_bias_at_trial_starts`)."""
        bias = None if rollout is None else critic_bias_at_trial_starts(rollout)
        extra = {} if bias is None else {"value/critic_bias_trial_start": bias}
        if not self._chunks:
            return extra
        outcome = np.concatenate([c[0] for c in self._chunks])
        trivial = np.concatenate([c[1] for c in self._chunks])
        correct = outcome == CORRECT
        metrics = {
            "trial/accuracy": float(correct.mean()),
            "trial/response_rate": float(np.isin(outcome, (CORRECT, WRONG)).mean()),
            "trial/reward_per_trial": float(sum(self._rewards) / len(outcome)),
            "trial/trials": float(self.trials),
        }
        if trivial.any():
            metrics["trial/accuracy_trivial"] = float(correct[trivial].mean())
        if (~trivial).any():
            metrics["trial/accuracy_nontrivial"] = float(correct[~trivial].mean())
        return {**metrics, **extra}

    def state_dict(self) -> dict[str, Any]:
        return {"chunks": list(self._chunks), "rewards": list(self._rewards), "size": self._size, "trials": self.trials}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._chunks, self._rewards = deque(state["chunks"]), deque(state["rewards"])
        self._size, self.trials = state["size"], state["trials"]


def critic_bias_at_trial_starts(rollout: Any) -> float | None:
    """mean(V - G) on the first step of each trial (None without trials, or before a learner
    has put its returns and values on the returns' scale into the rollout).

    A critic that over- or under-promises at the start of a trial is the first thing to look at
    when the value loss explodes: it is where the critic must predict the trial's whole outcome.
    """
    if rollout.cuts is None or rollout.returns is None or rollout.scaled_values is None:
        return None
    returns = rollout.returns
    first = rollout.episode_starts.copy()
    first[1:] |= rollout.cuts[:-1]
    if rollout.valid is not None:
        first &= rollout.valid
    if not first.any():
        return None
    return float((rollout.scaled_values[first] - returns[first]).mean())
