"""On-policy collection: T steps of N environments into preallocated (T, N) arrays.

Two vector autoreset modes are handled, explicitly:

- ``AutoresetMode.SAME_STEP`` (our envs; :func:`rlagent.make_env.make_env` wraps other Gymnasium
  ids so): every stored transition is real, the observation after an episode's end is the next
  episode's first one, and a truncated episode's true final observation is in
  ``info["final_obs"]`` to bootstrap from.
- ``AutoresetMode.NEXT_STEP`` (Gymnasium's native numpy vector envs such as CartPole's, many
  times faster than a ``SyncVectorEnv`` of copies): the observation returned at an episode's end
  is its true final one (bootstrapped from directly), and the env's next step only resets it,
  ignoring the action. That reset step is stored but marked invalid in ``Rollout.valid``, and the
  learners leave it out of every loss and statistic.

One policy call per step for the whole batch (in numpy for small MLP policies, see
:mod:`rlagent.fast.numpy_actor`); arrays are written in place, never appended to Python lists.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import cloudpickle
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rlagent.checkpoint import unpickle_env
from rlagent.errors import ConfigError
from rlagent.monitor.trials import TrialStats, step_field
from rlagent.fast.numpy_actor import numpy_actor

Obs = Any  # an array, or a dict of arrays for Dict observation spaces


def _index(obs: Obs, rows: Any) -> Obs:
    return {k: v[rows] for k, v in obs.items()} if isinstance(obs, dict) else obs[rows]


def _stack_final(final_obs: np.ndarray, rows: np.ndarray) -> Obs:
    first = final_obs[rows[0]]
    if isinstance(first, dict):
        return {k: np.stack([final_obs[i][k] for i in rows]) for k in first}
    return np.stack([final_obs[i] for i in rows])


@dataclass
class Rollout:
    """A (T, N) batch of transitions; ``advantages``/``returns`` are filled by the algorithm."""

    obs: Obs
    actions: np.ndarray
    log_probs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    episode_starts: np.ndarray
    states: np.ndarray | None
    last_values: np.ndarray
    valid: np.ndarray | None = None  # (T, N) bool, False on NEXT_STEP reset steps; None: all valid
    cuts: np.ndarray | None = None  # (T, N) bool, True where a trial (or the episode) ended; None: no trials
    advantages: np.ndarray | None = None
    returns: np.ndarray | None = None

    @property
    def num_steps(self) -> int:
        return self.rewards.shape[0]

    @property
    def num_envs(self) -> int:
        return self.rewards.shape[1]


class EpisodeStats:
    """Returns and lengths of the most recent finished episodes (SB3 keeps 100 for its means)."""

    def __init__(self, num_envs: int, window: int = 100) -> None:
        self.running_return = np.zeros(num_envs)
        self.running_length = np.zeros(num_envs, dtype=np.int64)
        self.returns: deque[float] = deque(maxlen=window)
        self.lengths: deque[int] = deque(maxlen=window)
        self.episodes = 0

    def update(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray | None = None) -> None:
        self.running_return += rewards
        self.running_length += 1 if valid is None else valid
        if dones.any():
            ended = np.flatnonzero(dones)
            self.returns.extend(self.running_return[ended].tolist())
            self.lengths.extend(self.running_length[ended].tolist())
            self.episodes += ended.size
            self.running_return[ended] = 0.0
            self.running_length[ended] = 0

    def summary(self) -> dict[str, float]:
        if not self.returns:
            return {}
        returns = np.asarray(self.returns)
        metrics = {
            "rollout/ep_rew_mean": float(returns.mean()),
            "rollout/ep_len_mean": float(np.mean(self.lengths)),
            "rollout/episodes": float(self.episodes),
        }
        if np.all(np.isin(returns, (-1.0, 0.0, 1.0))):  # a win/draw/loss game
            metrics["rollout/win_rate"] = float(np.mean(returns > 0))
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"returns": list(self.returns), "lengths": list(self.lengths), "episodes": self.episodes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.returns.extend(state["returns"])
        self.lengths.extend(state["lengths"])
        self.episodes = state["episodes"]


class Collector:
    """Owns the env's current observation, episode starts and recurrent state between rollouts."""

    def __init__(
        self,
        env: VectorEnv,
        policy: torch.nn.Module,
        num_steps: int,
        discount_factor: float,
        seed: int,
        value_transform: Callable[[np.ndarray], np.ndarray] | None = None,
        bootstrap_truncated: bool = True,
        reset_state_per_trial: bool = False,
    ) -> None:
        """``bootstrap_truncated``: add ``discount * V(final observation)`` to the reward of a
        truncated episode's last step (off for pure Monte-Carlo returns). ``reset_state_per_trial``:
        a recurrent policy starts each trial of a trial task (``info["trial_end"]``) from a zero
        state, as if it were an episode."""
        mode = env.metadata.get("autoreset_mode")
        if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
            raise ConfigError(
                f"the vector env resets with {mode}; rlagent needs AutoresetMode.SAME_STEP or NEXT_STEP "
                "(make it with rlagent.make_env.make_env or pass vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP})"
            )
        self.next_step = mode == AutoresetMode.NEXT_STEP
        self.env, self.policy = env, policy
        self.num_steps, self.num_envs = num_steps, env.num_envs
        self.discount_factor = discount_factor
        self.value_transform = value_transform or (lambda v: v)
        self.bootstrap_truncated, self.reset_state_per_trial = bootstrap_truncated, reset_state_per_trial
        self.trial_stats = TrialStats()
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)  # the numpy fast path's sampling noise
        self.fast = numpy_actor(policy)
        self.obs, _ = env.reset(seed=seed)
        self.episode_start = np.ones(self.num_envs, dtype=bool)
        self.resetting = np.zeros(self.num_envs, dtype=bool)  # NEXT_STEP: this step only resets the env
        self.state = policy.initial_state(self.num_envs)
        self.stats = EpisodeStats(self.num_envs)
        self._buffers = self._allocate()

    def _allocate(self) -> dict[str, Any]:
        T, N = self.num_steps, self.num_envs
        obs = self.obs
        space = self.env.single_action_space
        action_shape = (N, *space.shape)
        buffers: dict[str, Any] = {
            "obs": {k: np.zeros((T, *v.shape), v.dtype) for k, v in obs.items()} if isinstance(obs, dict)
            else np.zeros((T, *obs.shape), obs.dtype),
            "actions": np.zeros((T, *action_shape), np.float32 if isinstance(space, spaces.Box) else np.int64),
            "log_probs": np.zeros((T, N), np.float32),
            "values": np.zeros((T, N), np.float32),
            "rewards": np.zeros((T, N), np.float32),
            "dones": np.zeros((T, N), np.float32),
            "episode_starts": np.zeros((T, N), bool),
            "states": None if self.state is None else np.zeros((T, *self.state.shape), np.float32),
            "valid": np.ones((T, N), bool),
            "cuts": np.zeros((T, N), bool),
        }
        return buffers

    @torch.no_grad()
    def collect(self) -> Rollout:
        """Step the env ``num_steps`` times with the current policy."""
        buffers = self._buffers
        trial_task = False
        if self.fast is not None:
            self.fast.refresh()
        for t in range(self.num_steps):
            if buffers["states"] is not None:
                buffers["states"][t] = self.state.cpu().numpy()
            if self.fast is not None:
                actions, log_probs, values = self.fast.act(self.obs, self.rng)
            else:
                actions, log_probs, values, self.state = self.policy.act(self.obs, self.state, self.episode_start, generator=self.generator)
            obs_buffer = buffers["obs"]
            if isinstance(obs_buffer, dict):
                for key, value in self.obs.items():
                    obs_buffer[key][t] = value
            else:
                obs_buffer[t] = self.obs
            buffers["actions"][t] = actions
            buffers["log_probs"][t] = log_probs
            buffers["values"][t] = self.value_transform(values)
            buffers["episode_starts"][t] = self.episode_start
            resetting = self.resetting
            buffers["valid"][t] = ~resetting

            self.obs, rewards, terminated, truncated, info = self.env.step(actions)
            rewards = np.asarray(rewards, dtype=np.float32)
            dones = terminated | truncated
            self.stats.update(rewards, dones, ~resetting if self.next_step else None)
            trial_end = step_field(info, "trial_end", dones)
            if trial_end is not None:
                trial_task = True
                buffers["cuts"][t] = trial_end | dones
                self.trial_stats.update(info, dones, rewards)
            cut = truncated & ~terminated
            if cut.any() and self.bootstrap_truncated:
                rows = np.flatnonzero(cut)
                final = _index(self.obs, rows) if self.next_step else _stack_final(info["final_obs"], rows)
                rewards = rewards.copy()
                rewards[cut] += self.discount_factor * self._final_values(final, rows)
            buffers["rewards"][t] = rewards
            buffers["dones"][t] = dones
            if self.next_step:
                # The step after an episode's end only resets; the one after that starts anew.
                self.episode_start, self.resetting = resetting, dones
            else:
                self.episode_start = dones
            if self.reset_state_per_trial and trial_end is not None:
                self.episode_start = self.episode_start | trial_end

        last_values = self._values(self.obs, self.state, self.episode_start)
        return Rollout(
            obs={k: v.copy() for k, v in buffers["obs"].items()} if isinstance(buffers["obs"], dict) else buffers["obs"].copy(),
            actions=buffers["actions"].copy(),
            log_probs=buffers["log_probs"].copy(),
            values=buffers["values"].copy(),
            rewards=buffers["rewards"].copy(),
            dones=buffers["dones"].copy(),
            episode_starts=buffers["episode_starts"].copy(),
            states=None if buffers["states"] is None else buffers["states"].copy(),
            last_values=last_values,
            valid=buffers["valid"].copy() if self.next_step else None,
            cuts=buffers["cuts"].copy() if trial_task else None,
        )

    def _values(self, obs: Obs, state: torch.Tensor | None, episode_start: np.ndarray) -> np.ndarray:
        value = self.policy.value(obs, state, episode_start)
        return self.value_transform(value.cpu().numpy().astype(np.float32))

    def _final_values(self, obs: Obs, rows: np.ndarray) -> np.ndarray:
        """V of the true last observation of truncated episodes, with the state that saw it."""
        state = None if self.state is None else self.state[rows]
        return self._values(obs, state, np.zeros(rows.size, dtype=bool))

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: sampling RNG, episode stats, and (when the env can
        be pickled, as ours and Gymnasium's classic envs can) the env itself mid-episode."""
        try:
            # cloudpickle (a Gymnasium dependency) also handles the closures SyncVectorEnv holds.
            env_bytes: bytes | None = cloudpickle.dumps(self.env)
        except Exception:  # an env holding a lambda, a socket, a simulator handle...
            env_bytes = None
        return {
            "generator": self.generator.get_state(),
            "rng": self.rng.bit_generator.state,
            "resetting": self.resetting,
            "stats": self.stats.state_dict(),
            "trial_stats": self.trial_stats.state_dict(),
            "env": env_bytes,
            "obs": self.obs,
            "episode_start": self.episode_start,
            "state": self.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> bool:
        """Restore; returns False when the env could not be saved and episodes restart instead."""
        self.generator.set_state(state["generator"])
        self.rng.bit_generator.state = state["rng"]
        self.resetting = state["resetting"]
        self.stats.load_state_dict(state["stats"])
        self.trial_stats.load_state_dict(state["trial_stats"])
        if state.get("env") is None:
            return False
        self.env = unpickle_env(state["env"])  # also finds classes an older rlagent pickled under old module names
        self.obs, self.episode_start, self.state = state["obs"], state["episode_start"], state["state"]
        return True
