"""A trial task declares its env options once, in ``__init__``; the factories derive theirs from it."""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import numpy as np
import pytest

from envs.pwm import PWMCore, pwm_env, pwm_vector_env
from envs.trial_options import task_options
from envs.trial_task import Period, TrialTask
from envs.trial_task_env import TrialTaskVectorEnv, env_factory, vector_env_factory
from rlagent.gym_envs import env_parameters

PWM_OPTIONS = {
    "task": "pwm5",
    "preset": "seed",
    "epoch_len": 15,
    "delay": None,
    "r_wrong": 0.0,
    "r_early": 0.0,
    "abort_on_early": False,
    "obs_noise": 0.0,
}


class Toy(TrialTask):
    """One period, one step, two conditions: the smallest task that forwards the shared options."""

    name = "toy"

    def __init__(self, batch_size: int = 1, steps: int = 1, r_early: float = -0.5, *, seed: int | None = None, **common: Any) -> None:
        super().__init__(batch_size, steps, [Period("go", steps)], "go", r_early=r_early, seed=seed, **common)

    def condition_answers(self) -> np.ndarray:
        return np.array([1, 2])

    def period_observation(self, period: Period, conditions: np.ndarray) -> np.ndarray:
        return np.eye(2, dtype=np.float32)[conditions]


class Closed(Toy):
    """Forwards nothing: only its own options are env options."""

    def __init__(self, batch_size: int = 1, steps: int = 2, *, seed: int | None = None) -> None:
        super().__init__(batch_size, steps, seed=seed)


def _defaults(signature: inspect.Signature) -> dict[str, Any]:
    return {name: p.default for name, p in signature.parameters.items()}


def test_pwm_options_are_read_from_the_task_in_their_old_order() -> None:
    assert list(_defaults(task_options(PWMCore)).items()) == list(PWM_OPTIONS.items())
    assert list(inspect.signature(pwm_env).parameters) == list(PWM_OPTIONS)
    assert list(inspect.signature(pwm_vector_env).parameters) == ["num_envs", *PWM_OPTIONS]
    assert env_parameters("pwm") == set(PWM_OPTIONS)


def test_shared_options_come_from_the_base_and_a_task_may_change_their_default() -> None:
    options = _defaults(task_options(Toy))
    assert options == {"steps": 1, "r_early": -0.5, "r_wrong": 0.0, "abort_on_early": False, "obs_noise": 0.0}
    assert _defaults(task_options(Closed)) == {"steps": 2}


def test_an_option_without_a_default_is_refused() -> None:
    class NoDefault(Toy):
        def __init__(self, batch_size: int, steps: int, **common: Any) -> None:
            super().__init__(batch_size, steps, **common)

    with pytest.raises(TypeError, match="option 'steps' needs a default"):
        task_options(NoDefault)


def test_factories_pass_every_option_and_name_a_wrong_one() -> None:
    make, make_vec = env_factory(Toy, "toy_env", __name__), vector_env_factory(Toy, "toy_vector_env", __name__)
    task = make(3, obs_noise=0.25, abort_on_early=True).task
    assert (task.epoch_len, task.obs_noise, task.abort_on_early, task.r_early, task.batch_size) == (3, 0.25, True, -0.5, 1)
    vector = make_vec(4, r_early=0.0)
    assert isinstance(vector, TrialTaskVectorEnv) and vector.num_envs == 4 and vector.task.r_early == 0.0
    with pytest.raises(TypeError, match=r"^toy_env\(\) got an unexpected keyword argument 'delay'$"):
        make(delay=2)
    with pytest.raises(TypeError, match=r"^toy_vector_env\(\) got an unexpected keyword argument 'seed'$"):
        make_vec(2, seed=0)
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        make_vec(0)


def test_factories_pickle_by_reference() -> None:
    assert pickle.loads(pickle.dumps(pwm_env)) is pwm_env
    assert pickle.loads(pickle.dumps(pwm_vector_env)) is pwm_vector_env
