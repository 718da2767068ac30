"""Collection: T steps of N environments into preallocated (T, N) arrays, every transition kept whole.

The collector records what happened and nothing it would have to guess for a learner: the reward
as the env paid it, ``terminated`` and ``truncated`` apart, and the true final observation of
every finished episode. What to make of them (bootstrapping a truncated episode from its final
observation, returns on a value head's scale, Monte-Carlo returns cut at trial ends) is the
learners' business (:meth:`Rollout.truncation_values`, :mod:`rlagent.returns`), so an on-policy
learner and an off-policy one read the same rollout.

Two vector autoreset modes are handled, explicitly:

- ``AutoresetMode.SAME_STEP`` (our envs; :func:`rlagent.make_env.make_env` wraps other Gymnasium
  ids so): every stored transition is real, the observation after an episode's end is the next
  episode's first one, and the episode's true final observation is in ``info["final_obs"]``.
- ``AutoresetMode.NEXT_STEP`` (Gymnasium's native numpy vector envs such as CartPole's, many
  times faster than a ``SyncVectorEnv`` of copies): the observation returned at an episode's end
  is its true final one, and the env's next step only resets it, ignoring the action. That reset
  step is stored but marked invalid in ``Rollout.valid``, and the learners leave it out of every
  loss and statistic.

One policy call per step for the whole batch (the ``actor``: in numpy for small MLP policies, see
:mod:`rlagent.fast`; both actors draw their sampling noise from the same torch generator, so the
path taken does not change the run); arrays are written in place, never appended to Python lists.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import cloudpickle
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rlagent.errors import CheckpointError, ConfigError
from rlagent.monitor.trials import step_field
from rlagent.nets.policy import PolicyNetwork

Obs = Any  # an array, or a dict of arrays for Dict observation spaces


def _index(obs: Obs, rows: Any) -> Obs:
    return {k: v[rows] for k, v in obs.items()} if isinstance(obs, dict) else obs[rows]


def _assign(buffer: Obs, index: Any, value: Obs) -> None:
    if isinstance(buffer, dict):
        for key, array in buffer.items():
            array[index] = value[key]
    else:
        buffer[index] = value


def _store_rows(buffer: Obs, t: int, rows: np.ndarray, per_env: np.ndarray) -> None:
    """``buffer[t, i] = per_env[i]`` for the finished envs ``rows`` (a handful per step), written in
    place: stacking them first would cost more than the copies."""
    if isinstance(buffer, dict):
        for i in rows:
            item = per_env[i]
            for key, array in buffer.items():
                array[t, i] = item[key]
    else:
        for i in rows:
            buffer[t, i] = per_env[i]


def flatten_steps(array: Any) -> Any:
    """(T, N, ...) rollout arrays (or a dict of them) as (T*N, ...), row ``t * N + n``: the order
    the learners and the monitors read a rollout's steps in."""
    if isinstance(array, dict):
        return {k: flatten_steps(v) for k, v in array.items()}
    return array.reshape(-1, *array.shape[2:])


def _copy(obs: Obs) -> Obs:
    return {k: v.copy() for k, v in obs.items()} if isinstance(obs, dict) else obs.copy()


@dataclass
class Rollout:
    """A (T, N) batch of transitions as collected; ``advantages``/``returns`` are the learner's.

    ``rewards`` are the env's own. ``terminated[t]``: the episode ended at step ``t`` for good (no
    future to bootstrap); ``truncated[t]``: it was cut (a time limit) and its future is
    ``V(final_obs[t])``. ``final_obs`` holds the true last observation of every episode that ended
    at a step (zeros elsewhere). ``values``/``last_values`` are the value head's raw outputs;
    ``last_state`` the recurrent state after the last step (None for feed-forward policies).
    """

    obs: Obs
    actions: np.ndarray
    log_probs: np.ndarray
    values: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: Obs
    episode_starts: np.ndarray
    states: np.ndarray | None
    last_values: np.ndarray
    last_state: torch.Tensor | None = None
    valid: np.ndarray | None = None  # (T, N) bool, False on NEXT_STEP reset steps; None: all valid
    cuts: np.ndarray | None = None  # (T, N) bool, True where a trial (or the episode) ended; None: no trials
    advantages: np.ndarray | None = None
    returns: np.ndarray | None = None
    scaled_values: np.ndarray | None = None  # the learner's values on the returns' scale, for monitors
    last_obs: Obs | None = None  # the observation after the last step (an off-policy learner's next observation)

    @property
    def num_steps(self) -> int:
        return self.rewards.shape[0]

    @property
    def num_envs(self) -> int:
        return self.rewards.shape[1]

    @property
    def dones(self) -> np.ndarray:
        """The episode ended at this step, either way."""
        return self.terminated | self.truncated

    @torch.no_grad()
    def truncation_values(self, policy: torch.nn.Module) -> np.ndarray:
        """(T, N) float32: the value head's raw ``V(final_obs)`` where an episode was truncated, 0
        elsewhere: the future a truncated episode's last step is bootstrapped from.

        One batched call over all truncated steps; a recurrent policy sees each final observation
        with the state its episode had reached (the state after step ``t``'s action).
        """
        out = np.zeros(self.rewards.shape, np.float32)
        cut = self.truncated & ~self.terminated
        if not cut.any():
            return out
        steps, envs = np.nonzero(cut)
        final = _index(self.final_obs, (steps, envs))
        state = None
        if self.states is not None:
            assert self.last_state is not None, "a rollout with states keeps the state after its last step"
            after = np.concatenate([self.states[1:], self.last_state.cpu().numpy()[None]], axis=0)
            state = torch.as_tensor(after[steps, envs])
        values = cast(PolicyNetwork, policy).value(final, state, np.zeros(steps.size, dtype=bool))
        out[steps, envs] = values.cpu().numpy()
        return out


# Where each Rollout field keeps its env axis: 1 for the (T, N, ...) arrays, 0 for what holds the
# envs after the last step. A new field must say here how rollouts of disjoint envs join.
ENV_AXIS = {
    "obs": 1,
    "actions": 1,
    "log_probs": 1,
    "values": 1,
    "rewards": 1,
    "terminated": 1,
    "truncated": 1,
    "final_obs": 1,
    "episode_starts": 1,
    "states": 1,
    "valid": 1,
    "cuts": 1,
    "advantages": 1,
    "returns": 1,
    "scaled_values": 1,
    "last_values": 0,
    "last_state": 0,
    "last_obs": 0,
}


def _join(parts: list[Any], axis: int) -> Any:
    if isinstance(parts[0], dict):
        return {key: _join([part[key] for part in parts], axis) for key in parts[0]}
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts, dim=axis)
    return np.concatenate(parts, axis=axis)


def concatenate_envs(rollouts: list[Rollout]) -> Rollout:
    """Rollouts of the same T steps on disjoint envs (Ray workers' shares) as one rollout, env
    columns in list order: what one collector stepping all those envs would have returned.

    Every per-env field joins on its own env axis (:data:`ENV_AXIS`), so the truncation bootstrap
    (``final_obs`` with ``truncated`` and, for recurrent policies, ``states``/``last_state``) stays
    aligned. ``cuts`` is None only when no part saw a trial end (then all are None); a part
    without cuts joins as all False.
    """
    if len({part.num_steps for part in rollouts}) > 1:
        raise ValueError(f"rollouts of different lengths cannot join: {[part.num_steps for part in rollouts]}")
    joined: dict[str, Any] = {}
    for field in dataclasses.fields(Rollout):
        values = [getattr(part, field.name) for part in rollouts]
        if all(value is None for value in values):
            joined[field.name] = None
            continue
        if field.name == "cuts":
            values = [np.zeros(part.rewards.shape, bool) if value is None else value for part, value in zip(rollouts, values)]
        if any(value is None for value in values):
            raise ValueError(f"rollout field {field.name} is set in some parts and None in others")
        joined[field.name] = _join(values, ENV_AXIS[field.name])
    return Rollout(**joined)


class StepObserver(Protocol):
    """A monitor that reads every step's ``info`` (e.g. :class:`rlagent.monitor.trials.TrialStats`);
    its state travels with the collector's in checkpoints."""

    def update(self, info: dict[str, Any], dones: np.ndarray, rewards: np.ndarray) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Actor(Protocol):
    """A fast stand-in for the policy's per-step call (:mod:`rlagent.fast`): the same ``act``,
    ``applies()`` (still exact for the policy as it is now?) and ``refresh()`` (copy its parameters)."""

    def act(self, obs: Obs, state: Any, episode_start: np.ndarray, *, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]: ...

    def applies(self) -> bool: ...

    def refresh(self) -> None: ...


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
        """The finished episodes and the ones still running (a resumed run finishes those with
        the returns and lengths they had reached, as an uninterrupted run does)."""
        return {
            "returns": list(self.returns),
            "lengths": list(self.lengths),
            "episodes": self.episodes,
            "running_return": self.running_return.copy(),
            "running_length": self.running_length.copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.returns.clear()
        self.lengths.clear()
        self.returns.extend(state["returns"])
        self.lengths.extend(state["lengths"])
        self.episodes = state["episodes"]
        # Checkpoints from before the running episodes were saved lack them: those count from 0.
        if "running_return" in state:
            self.running_return = np.array(state["running_return"], dtype=np.float64)
            self.running_length = np.array(state["running_length"], dtype=np.int64)

    def restart_episodes(self) -> None:
        """Forget the running episodes: the env was reset instead of restored."""
        self.running_return = np.zeros_like(self.running_return)
        self.running_length = np.zeros_like(self.running_length)


class Collector:
    """Owns the env's current observation, episode starts and recurrent state between rollouts."""

    def __init__(
        self,
        env: VectorEnv,
        policy: torch.nn.Module,
        num_steps: int,
        seed: int,
        actor: Actor | None = None,
        reset_state_per_trial: bool = False,
        observers: tuple[StepObserver, ...] = (),
    ) -> None:
        """``actor``: the per-step call (default the policy's own ``act``; :mod:`rlagent.fast`
        chooses). ``reset_state_per_trial``: a recurrent policy starts each trial of a trial task
        (``info["trial_end"]``) from a zero state, as if it were an episode. ``observers`` see
        every step's ``info`` (trial accuracy and the like)."""
        mode = env.metadata.get("autoreset_mode")
        if mode not in (AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP):
            raise ConfigError(
                f"the vector env resets with {mode}; rlagent needs AutoresetMode.SAME_STEP or NEXT_STEP "
                "(make it with rlagent.make_env.make_env or pass vector_kwargs={'autoreset_mode': AutoresetMode.SAME_STEP})"
            )
        self.next_step = mode == AutoresetMode.NEXT_STEP
        self.env, self.policy = env, policy
        self.calls = cast(PolicyNetwork, policy)  # the network's own act, value and initial_state
        self.fast_actor = actor
        self.num_steps, self.num_envs = num_steps, env.num_envs
        self.reset_state_per_trial = reset_state_per_trial
        self.observers = tuple(observers)
        self.fast_actor_used = False  # whether the last rollout was stepped by a fast actor
        self.generator = torch.Generator().manual_seed(seed)  # the sampling noise, whichever actor runs
        self.obs, _ = env.reset(seed=seed)
        self.episode_start = np.ones(self.num_envs, dtype=bool)
        self.resetting = np.zeros(self.num_envs, dtype=bool)  # NEXT_STEP: this step only resets the env
        self.state = self.calls.initial_state(self.num_envs)
        self.stats = EpisodeStats(self.num_envs)
        self._buffers = self._allocate()

    def _allocate(self) -> dict[str, Any]:
        T, N = self.num_steps, self.num_envs
        obs = self.obs
        space = self.env.single_action_space
        action_shape = (N, *(space.shape or ()))  # every action space rlagent takes has a shape

        def like_obs() -> Obs:
            if isinstance(obs, dict):
                return {k: np.zeros((T, *v.shape), v.dtype) for k, v in obs.items()}
            return np.zeros((T, *obs.shape), obs.dtype)

        return {
            "obs": like_obs(),
            "final_obs": like_obs(),
            "actions": np.zeros((T, *action_shape), np.float32 if isinstance(space, spaces.Box) else np.int64),
            "log_probs": np.zeros((T, N), np.float32),
            "values": np.zeros((T, N), np.float32),
            "rewards": np.zeros((T, N), np.float32),
            "terminated": np.zeros((T, N), bool),
            "truncated": np.zeros((T, N), bool),
            "episode_starts": np.zeros((T, N), bool),
            "states": None if self.state is None else np.zeros((T, *self.state.shape), np.float32),
            "valid": np.ones((T, N), bool),
            "cuts": np.zeros((T, N), bool),
        }

    @torch.no_grad()
    def collect(self) -> Rollout:
        """Step the env ``num_steps`` times with the current policy."""
        buffers = self._buffers
        trial_task = False
        actor: Actor | PolicyNetwork = self.calls
        if self.fast_actor is not None and self.fast_actor.applies():  # current, and only where it is still exact
            self.fast_actor.refresh()  # it copies the parameters the learner just changed
            actor = self.fast_actor
        self.fast_actor_used = actor is self.fast_actor
        buffers["final_obs"] = (
            {k: np.zeros_like(v) for k, v in buffers["final_obs"].items()} if isinstance(buffers["final_obs"], dict) else np.zeros_like(buffers["final_obs"])
        )
        # The buffers as locals: the loop runs once per env step, for the whole batch.
        obs_buffer, final_buffer, states_buffer = buffers["obs"], buffers["final_obs"], buffers["states"]
        action_buffer, log_prob_buffer, value_buffer = buffers["actions"], buffers["log_probs"], buffers["values"]
        reward_buffer, terminated_buffer, truncated_buffer = buffers["rewards"], buffers["terminated"], buffers["truncated"]
        start_buffer, valid_buffer, cut_buffer = buffers["episode_starts"], buffers["valid"], buffers["cuts"]
        next_step, observers, generator = self.next_step, self.observers, self.generator
        for t in range(self.num_steps):
            if states_buffer is not None and self.state is not None:  # both or neither: a recurrent policy
                states_buffer[t] = self.state.cpu().numpy()
            actions, log_probs, values, self.state = actor.act(self.obs, self.state, self.episode_start, generator=generator)
            _assign(obs_buffer, t, self.obs)
            action_buffer[t] = actions
            log_prob_buffer[t] = log_probs
            value_buffer[t] = values
            start_buffer[t] = self.episode_start
            resetting = self.resetting
            real = ~resetting  # NEXT_STEP: False where this step only resets the env
            valid_buffer[t] = real

            self.obs, rewards, terminated, truncated, info = self.env.step(actions)
            rewards = np.asarray(rewards, dtype=np.float32)
            dones = terminated | truncated
            if next_step and not real.all():  # a reset step is no transition: no episode ends there
                terminated, truncated, dones = terminated & real, truncated & real, dones & real
            self.stats.update(rewards, dones, real if next_step else None)
            for observer in observers:
                observer.update(info, dones, rewards)
            trial_end = step_field(info, "trial_end", dones)
            if trial_end is not None:
                trial_task = True
                cut_buffer[t] = trial_end | dones
            if dones.any():
                rows = np.flatnonzero(dones)
                if next_step:  # the observation returned at an episode's end is its final one
                    _assign(final_buffer, (t, rows), _index(self.obs, rows))
                else:  # Gymnasium's final_obs: an object array with one observation per finished env
                    if "final_obs" not in info:
                        raise ConfigError(
                            f"{type(self.env).__name__} resets in the same step (SAME_STEP) but its info has no 'final_obs' "
                            "at an episode's end: the collector needs every finished episode's final observation there, as "
                            "Gymnasium's vector envs give it"
                        )
                    _store_rows(final_buffer, t, rows, info["final_obs"])
            reward_buffer[t] = rewards
            terminated_buffer[t] = terminated
            truncated_buffer[t] = truncated
            if next_step:
                # The step after an episode's end only resets; the one after that starts anew.
                self.episode_start, self.resetting = resetting, dones
            else:
                self.episode_start = dones
            if self.reset_state_per_trial and trial_end is not None:
                self.episode_start = self.episode_start | trial_end

        last_values = self.calls.value(self.obs, self.state, self.episode_start).cpu().numpy().astype(np.float32)
        return Rollout(
            obs=_copy(buffers["obs"]),
            actions=buffers["actions"].copy(),
            log_probs=buffers["log_probs"].copy(),
            values=buffers["values"].copy(),
            rewards=buffers["rewards"].copy(),
            terminated=buffers["terminated"].copy(),
            truncated=buffers["truncated"].copy(),
            final_obs=buffers["final_obs"],  # a fresh array each rollout
            episode_starts=buffers["episode_starts"].copy(),
            states=None if buffers["states"] is None else buffers["states"].copy(),
            last_values=last_values,
            last_state=None if self.state is None else self.state.clone(),
            valid=buffers["valid"].copy() if self.next_step else None,
            cuts=buffers["cuts"].copy() if trial_task else None,
            last_obs=_copy(self.obs),
        )

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: sampling RNG, episode stats, step observers, and
        (when the env can be pickled, as ours and Gymnasium's classic envs can) the env itself mid-episode."""
        try:
            # cloudpickle (a Gymnasium dependency) also handles the closures SyncVectorEnv holds.
            env_bytes: bytes | None = cloudpickle.dumps(self.env)
        except Exception:  # an env holding a lambda, a socket, a simulator handle...
            env_bytes = None
        return {
            "generator": self.generator.get_state(),
            "resetting": self.resetting,
            "stats": self.stats.state_dict(),
            "observers": [observer.state_dict() for observer in self.observers],
            "env": env_bytes,
            "obs": self.obs,
            "episode_start": self.episode_start,
            "state": self.state,
        }

    def load_state_dict(self, state: dict[str, Any], unpickle: Callable[[bytes], Any] = pickle.loads) -> bool:
        """Restore; returns False when the env could not be saved and episodes restart instead.
        ``unpickle`` reads the saved env (the checkpoint module's, for envs an older rlagent pickled)."""
        if "workers" in state:
            raise CheckpointError(
                f"this checkpoint was collected by {len(state['workers'])} Ray workers: resume it with "
                f"--set run.backend=ray --set run.num_workers={len(state['workers'])}"
            )
        self.generator.set_state(state["generator"])
        self.stats.load_state_dict(state["stats"])
        observers = state.get("observers", [state["trial_stats"]] if "trial_stats" in state else [])
        for observer, saved in zip(self.observers, observers):
            observer.load_state_dict(saved)
        if state.get("env") is None:
            self.stats.restart_episodes()
            return False
        self.resetting = state["resetting"]
        self.env = unpickle(state["env"])
        self.obs, self.episode_start, self.state = state["obs"], state["episode_start"], state["state"]
        return True

    def close(self) -> None:
        """Nothing to release: the env stays usable after training (the interface
        :class:`rlagent.distributed_rollouts.RemoteCollector` shares, whose workers are released)."""
