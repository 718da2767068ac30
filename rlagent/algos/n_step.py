"""N-step transitions from rollouts, per env, never across an episode's end.

A rollout is (T, N) steps; the transition that starts at step ``t`` of env ``i`` is

    (obs_t, a_t, R = sum_{k<m} discount^k r_{t+k}, bootstrap discount, next_obs)

over a window of ``m = n`` steps, or fewer when the episode ends inside it. Where it ends by
``terminated`` the bootstrap discount is 0 (no future); where by ``truncated`` (a time limit) it is
``discount^m`` and ``next_obs`` is the episode's true final observation (``Rollout.final_obs``), so
a time limit is not mistaken for a terminal state. Every step of an episode starts a transition,
including its last ``n - 1`` (their windows are simply shorter), and NEXT_STEP reset steps start
none.

A window that runs past the end of a rollout waits: the last ``n - 1`` steps of each rollout are
carried into the next one (:class:`NStepStaging` holds them, and travels in checkpoints), so the
transitions that come out do not depend on where rollouts were cut. Everything is computed for the
whole (T, N) batch at once, one numpy pass per window offset: no Python loop over envs or steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlagent.rollout import Obs, Rollout


def _map(obs: Obs, fn: Any) -> Obs:
    return {k: fn(v) for k, v in obs.items()} if isinstance(obs, dict) else fn(obs)


def _concat(first: Obs, second: Obs) -> Obs:
    if isinstance(first, dict):
        return {k: np.concatenate([first[k], second[k]]) for k in first}
    return np.concatenate([first, second])


@dataclass
class Transitions:
    """A batch of n-step transitions, one row each, in time-major order of their first step."""

    obs: Obs
    actions: np.ndarray
    rewards: np.ndarray  # float32: the discounted sum over the window
    discounts: np.ndarray  # float32: discount ** steps, or 0 where the episode terminated in the window
    next_obs: Obs

    def __len__(self) -> int:
        return int(self.actions.shape[0])


class NStepStaging:
    """Turns rollouts into n-step :class:`Transitions`, carrying unfinished windows between them."""

    FIELDS = ("obs", "actions", "rewards", "terminated", "truncated", "final_obs", "pending")

    def __init__(self, n: int, discount: float) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n, self.discount = int(n), float(discount)
        self.tail: dict[str, Any] | None = None  # the last n - 1 steps, with whether each still waits

    def push(self, rollout: Rollout) -> Transitions:
        """The transitions whose windows this rollout completes (its own steps' and the carried ones')."""
        if rollout.last_obs is None:
            raise ValueError("n-step transitions need the rollout's last_obs (the observation after its last step)")
        valid = np.ones_like(rollout.terminated) if rollout.valid is None else rollout.valid
        steps = {
            "obs": rollout.obs,
            "actions": rollout.actions,
            "rewards": rollout.rewards.astype(np.float32, copy=False),
            "terminated": rollout.terminated,
            "truncated": rollout.truncated,
            "final_obs": rollout.final_obs,
            "pending": valid.astype(bool),
        }
        if self.tail is not None:
            tail = self.tail
            # An env restarted under the tail (a resume whose env could not be saved): its episode was
            # cut with no final observation; its waiting windows are dropped rather than joined to the new one.
            ended = tail["terminated"][-1] | tail["truncated"][-1]
            tail["pending"][:, rollout.episode_starts[0] & ~ended] = False
            steps = {key: _concat(tail[key], steps[key]) if key in ("obs", "final_obs") else np.concatenate([tail[key], steps[key]]) for key in steps}
        out = self._windows(steps, rollout.last_obs)
        keep = min(self.n - 1, steps["rewards"].shape[0])
        if keep:
            self.tail = {k: (_map(v, lambda a: a[-keep:].copy()) if k in ("obs", "final_obs") else v[-keep:].copy()) for k, v in steps.items()}
        return out

    def _windows(self, steps: dict[str, Any], last_obs: Obs) -> Transitions:
        rewards, terminated, truncated = steps["rewards"], steps["terminated"], steps["truncated"]
        length, envs = rewards.shape
        ends = terminated | truncated
        total = np.zeros((length, envs), np.float64)
        window = np.zeros((length, envs), np.int64)
        ended = np.zeros((length, envs), bool)
        end_step = np.zeros((length, envs), np.int64)
        for k in range(min(self.n, length)):
            span = length - k  # windows starting at t < span reach step t + k
            running = ~ended[:span]
            total[:span] += np.where(running, self.discount**k * rewards[k:], 0.0)
            window[:span] = np.where(running, k + 1, window[:span])
            stop = running & ends[k:]
            end_step[:span] = np.where(stop, np.arange(k, length)[:, None], end_step[:span])
            ended[:span] |= stop
        starts = np.arange(length)[:, None]
        complete = ended | (starts + self.n <= length)
        emit = complete & steps["pending"]
        steps["pending"] &= ~complete  # carried steps remember they were emitted
        t, env = np.nonzero(emit)
        finished = ended[t, env]
        last = end_step[t, env]
        terminal = finished & terminated[last, env]
        discounts = np.where(terminal, 0.0, self.discount ** window[t, env]).astype(np.float32)
        # Where the window ended the episode, its true final observation; else the observation n steps on.
        after = np.minimum(t + self.n, length)
        obs_after = _map(steps["obs"], lambda a: a)
        extended = _concat(obs_after, _map(last_obs, lambda a: a[None]))

        def next_obs(final: np.ndarray, extended_field: np.ndarray) -> np.ndarray:
            rows = extended_field[np.where(finished, 0, after), env]
            if finished.any():
                rows[finished] = final[last[finished], env[finished]]
            return rows

        if isinstance(steps["obs"], dict):
            nxt: Obs = {k: next_obs(steps["final_obs"][k], extended[k]) for k in steps["obs"]}
        else:
            nxt = next_obs(steps["final_obs"], extended)
        return Transitions(
            obs=_map(steps["obs"], lambda a: a[t, env]),
            actions=steps["actions"][t, env],
            rewards=total[t, env].astype(np.float32),
            discounts=discounts,
            next_obs=nxt,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"n": self.n, "tail": self.tail}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["n"]) != self.n:
            raise ValueError(f"the saved n-step staging has n={state['n']}, this learner n={self.n}")
        self.tail = state["tail"]
