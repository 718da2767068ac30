"""Gymnasium envs for any :class:`~envs.trial_task.TrialTask`: a single env and a native vector env.

Nothing here knows a particular task: a new cognitive task subclasses ``TrialTask`` and gets both
envs from these two classes, and :func:`env_factory` / :func:`vector_env_factory` make the
``entry_point`` and ``vector_entry_point`` to register, their options read from the task's
``__init__`` (:mod:`envs.trial_options`). Episodes end by truncation (never termination;
:mod:`envs.trial_task` says why). ``info`` describes the step just played.

The vector env steps one batched core and resets finished episodes in the same step
(``AutoresetMode.SAME_STEP``): the returned observation and info start the next episode, and
``info["final_obs"]`` / ``info["final_info"]`` hold the last ones, laid out as Gymnasium's
``SyncVectorEnv`` lays them out, so ``make_vec(..., num_envs=N)`` seeded ``s`` equals ``N`` single
envs seeded ``s, s + 1, ...`` key for key. Both expose ``episode_length`` (the fixed number of
steps of an episode), which lets a Monte-Carlo learner take exactly one episode per rollout.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.actions import check_actions, check_num_envs
from envs.trial_options import bind_options, task_options
from envs.trial_task import TrialTask


def observation_space(task: TrialTask) -> spaces.Box:
    low, high = task.observation_bounds()
    return spaces.Box(low, high, (task.observation_size,), dtype=np.float32)


class TrialTaskEnv(gym.Env):
    """One episode of a trial task (a batch of one)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, task: TrialTask) -> None:
        if task.batch_size != 1:
            raise ValueError("TrialTaskEnv plays one episode; use TrialTaskVectorEnv for a batch")
        self.task = task
        self.episode_length = task.epoch_len
        self.observation_space = observation_space(task)
        self.action_space = spaces.Discrete(task.num_actions)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.task.seed(seed)
        self.task.reset()
        return self.task.observe()[0], _one(self.task.info())

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        actions = check_actions(np.asarray(action).reshape(-1), self.task.num_actions, 1)
        rewards, truncated, info = self.task.step(actions)
        return self.task.observe()[0], float(rewards[0]), False, bool(truncated[0]), _one(info)


def _one(info: dict[str, np.ndarray]) -> dict[str, Any]:
    """The first (only) entry of a batched info, as Python scalars."""
    return {key: value[0].item() for key, value in info.items()}


class TrialTaskVectorEnv(VectorEnv):
    """``num_envs`` episodes of a trial task on one batched core (``AutoresetMode.SAME_STEP``)."""

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, task: TrialTask) -> None:
        self.task = task
        self.episode_length = task.epoch_len
        self.num_envs = task.batch_size
        self.single_observation_space = observation_space(task)
        self.single_action_space = spaces.Discrete(task.num_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.task.seed(seed)
        self.task.reset()
        return self.task.observe(), self._with_masks(self.task.info())

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        task = self.task
        rewards, truncated, info = task.step(check_actions(actions, task.num_actions, self.num_envs))
        obs = task.observe()
        if not truncated.any():
            return obs, rewards, np.zeros(self.num_envs, dtype=bool), truncated, self._with_masks(info)

        ended = np.flatnonzero(truncated)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in ended:  # Gymnasium's layout: an object array holding each finished env's observation
            final_obs[i] = obs[i].copy()
        final_info = {key: np.where(truncated, value, np.zeros_like(value)) for key, value in info.items()}
        task.reset(ended)
        obs[ended] = task.observe(ended)
        for key, value in task.info(ended).items():
            info[key][ended] = value
        infos = self._with_masks(info)
        infos["final_obs"], infos["_final_obs"] = final_obs, truncated.copy()
        infos["final_info"], infos["_final_info"] = self._with_masks(final_info, truncated.copy()), truncated.copy()
        return obs, rewards, np.zeros(self.num_envs, dtype=bool), truncated, infos

    def _with_masks(self, info: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, Any]:
        """Each key with its ``_key`` mask, as Gymnasium's vector envs report infos."""
        mask = np.ones(self.num_envs, dtype=bool) if mask is None else mask
        out: dict[str, Any] = {}
        for key, value in info.items():
            out[key], out[f"_{key}"] = value, mask
        return out


def env_factory(task_class: type[TrialTask], name: str, module: str) -> Callable[..., TrialTaskEnv]:
    """The ``entry_point`` of a task: ``name(**options)`` -> one episode, with the task's options
    as its signature (so Gymnasium, ``env_parameters`` and ``help()`` see them) and no copy of them."""
    options = task_options(task_class)

    def make(*args: Any, **kwargs: Any) -> TrialTaskEnv:
        return TrialTaskEnv(task_class(1, **bind_options(options, name, args, kwargs)))

    return _named(make, name, module, options, f"One {task_class.name} episode (options: see {task_class.__name__}).")


def vector_env_factory(task_class: type[TrialTask], name: str, module: str) -> Callable[..., TrialTaskVectorEnv]:
    """The ``vector_entry_point`` of a task: ``name(num_envs, **options)`` -> one batched core."""
    num_envs = inspect.Parameter("num_envs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=1, annotation="int")
    signature = task_options(task_class)
    signature = signature.replace(parameters=[num_envs, *signature.parameters.values()])

    def make(*args: Any, **kwargs: Any) -> TrialTaskVectorEnv:
        options = bind_options(signature, name, args, kwargs)
        return TrialTaskVectorEnv(task_class(check_num_envs(options.pop("num_envs", 1)), **options))

    return _named(make, name, module, signature, f"``num_envs`` {task_class.name} episodes on one batched core.")


def _named(function: Callable[..., Any], name: str, module: str, signature: inspect.Signature, doc: str) -> Callable[..., Any]:
    """Give a generated factory the name, module, signature and docstring a hand-written one would
    have: ``module`` (where it is assigned) lets pickle find it by reference, as it finds a ``def``."""
    function.__name__ = function.__qualname__ = name
    function.__module__ = module
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__doc__ = doc
    return function
