"""DMS (rlagent/DMS-v0): registration, the trial structure against NeuroGym's, the observation, the
reward rule, options, and learning it with a recurrent PPO and REINFORCE."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.dms import MATCH, NEUROGYM_TIMING, NON_MATCH, DMSCore, dms_vector_env
from envs.trial_task import OUTCOME_CORRECT, OUTCOME_MISS, OUTCOME_NONE, OUTCOME_WRONG
from envs.trial_task_env import TrialTaskVectorEnv

DMS = "rlagent/DMS-v0"
NEUROGYM_STEPS = {"fixation": 3, "sample": 5, "delay": 10, "test": 5, "decision": 9}  # at dt = 100 ms


def _lengths(core: DMSCore) -> dict[str, int]:
    return {p.name: p.steps for p in core.periods}


# --- registration and conformance ----------------------------------------------------------------
def test_registration_cli_name_and_vector_env() -> None:
    from rlagent.make_env import make_env, resolve_env_id

    assert envs.ENV_IDS["dms"] == DMS and resolve_env_id("dms") == DMS
    vector = make_env("dms", 4, {"dim_ring": 4})
    assert isinstance(vector, TrialTaskVectorEnv) and vector.num_envs == 4
    assert vector.single_observation_space.shape == (5,) and vector.single_action_space == gym.spaces.Discrete(3)


@pytest.mark.parametrize("kwargs", [{}, {"dt": 500, "trials": 12, "obs_noise": 0.1}, {"dim_ring": 5, "abort_on_early": True}])
def test_gymnasium_and_sb3_check_env(kwargs: dict) -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make(DMS, **kwargs).unwrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(gym.make(DMS, **kwargs).unwrapped)


def test_vector_env_equals_single_envs() -> None:
    from gymnasium.vector import AutoresetMode, SyncVectorEnv

    kwargs = {"dt": 250, "trials": 2, "obs_noise": 0.2}
    batched = gym.make_vec(DMS, num_envs=3, **kwargs)
    singles = SyncVectorEnv([lambda: gym.make(DMS, **kwargs) for _ in range(3)], autoreset_mode=AutoresetMode.SAME_STEP)
    obs_b, _ = batched.reset(seed=5)
    obs_s, _ = singles.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(60):
        np.testing.assert_array_equal(obs_b, obs_s)
        actions = rng.integers(0, 3, size=3)
        obs_b, rew_b, _, trunc_b, info_b = batched.step(actions)
        obs_s, rew_s, _, trunc_s, info_s = singles.step(actions)
        np.testing.assert_array_equal(rew_b, rew_s)
        np.testing.assert_array_equal(trunc_b, trunc_s)
        np.testing.assert_array_equal(info_b["condition"], info_s["condition"])


# --- the trial structure, against NeuroGym's DelayMatchSample ------------------------------------
def test_default_timing_is_neurogyms_at_dt_100() -> None:
    core = DMSCore()
    assert _lengths(core) == NEUROGYM_STEPS and core.response_period == "decision"
    assert core.epoch_len == core.trial_len == 32 and core.num_actions == 3 and core.r_early == -0.1
    assert (core.r_wrong, core.abort_on_early, core.obs_noise) == (0.0, False, 0.0)


def test_neurogym_timing_when_installed() -> None:
    """NeuroGym pins gymnasium 0.29, so it is not a dependency; where it is installed, check against it."""
    pytest.importorskip("neurogym")
    from neurogym.envs.native.delaymatchsample import DelayMatchSample

    reference = DelayMatchSample()
    assert reference.timing == NEUROGYM_TIMING and reference.dt == 100
    assert reference.rewards == {"abort": -0.1, "correct": 1.0, "fail": 0.0}
    assert reference.observation_space.shape == DMSCore().observation_table.shape[-1:]


@pytest.mark.parametrize(
    "dt, timing, steps",
    [
        (500, None, {"fixation": 0, "sample": 1, "delay": 2, "test": 1, "decision": 1}),  # floored, as NeuroGym does
        (250, None, {"fixation": 1, "sample": 2, "delay": 4, "test": 2, "decision": 3}),
        (100, {"delay": 0, "decision": 150}, {**NEUROGYM_STEPS, "delay": 0, "decision": 1}),
    ],
)
def test_durations_are_floored_to_steps_of_dt(dt: int, timing: dict | None, steps: dict) -> None:
    core = DMSCore(dt=dt, timing=timing, trials=3)
    assert _lengths(core) == steps and core.epoch_len == 3 * sum(steps.values())


def test_conditions_observations_and_answers() -> None:
    core = DMSCore(dim_ring=4, dt=500)
    assert core.num_conditions == 8 and core.answers.tolist() == [MATCH, NON_MATCH] * 4
    assert core.condition_names()[:2] == ["0deg match", "0deg non-match"] and not core.trivial.any()
    table = core.observation_table  # (condition, step, unit): steps sample, delay, delay, test, decision, blank
    np.testing.assert_allclose(table[:, :4, 0], 1.0)
    assert not table[:, 4:, 0].any() and not table[:, 1:3, 1:].any() and not table[:, 4:, 1:].any()
    np.testing.assert_allclose(table[2, 0, 1:], [0.5, 1.0, 0.5, 0.0], atol=1e-6)  # sample at unit 1 (90deg)
    np.testing.assert_allclose(table[2, 3], table[2, 0], atol=1e-6)  # a match shows it again
    np.testing.assert_allclose(table[3, 3, 1:], [0.5, 0.0, 0.5, 1.0], atol=1e-6)  # a non-match: the opposite angle
    two = DMSCore().observation_table  # dim_ring 2: one-hot stimuli, as in NeuroGym
    np.testing.assert_allclose(two[1, 3, 1:], [1.0, 0.0]) and np.testing.assert_allclose(two[1, 18, 1:], [0.0, 1.0], atol=1e-6)


def test_conditions_are_drawn_uniformly() -> None:
    core = DMSCore(4000, dim_ring=3, dt=500, trials=10, seed=2)
    core.reset()
    counts = np.zeros(core.num_conditions)
    for _ in range(core.epoch_len):
        _, _, info = core.step(np.zeros(core.batch_size, dtype=np.int64))
        np.add.at(counts, info["condition"][info["trial_end"]], 1)
    expected = counts.sum() / core.num_conditions
    assert float(((counts - expected) ** 2 / expected).sum()) < 20.5  # chi-square, 5 dof, 0.1%


# --- the reward rule -----------------------------------------------------------------------------
def _trial(core: DMSCore, script: dict[int, str]) -> tuple[list[float], list[int]]:
    right = int(core.answers[core.condition[0]])
    choice = {"right": right, "wrong": 3 - right}
    rewards, outcomes = [], []
    for step in range(core.trial_len):
        reward, _, info = core.step(np.array([choice.get(script.get(step, ""), 0)]))
        rewards.append(float(reward[0]))
        outcomes.append(int(info["outcome"][0]))
    return rewards, outcomes


def _fresh(**kwargs: Any) -> DMSCore:
    core = DMSCore(1, seed=0, **kwargs)
    core.reset()
    return core


DECISION = 23  # first decision step at dt = 100: 3 + 5 + 10 + 5


def test_correct_wrong_and_miss() -> None:
    rewards, outcomes = _trial(_fresh(), {DECISION + 2: "right", DECISION + 3: "wrong"})
    assert rewards[DECISION + 2] == 1.0 and sum(rewards) == 1.0 and outcomes[DECISION + 2] == OUTCOME_CORRECT
    rewards, outcomes = _trial(_fresh(r_wrong=-1.0), {DECISION: "wrong", DECISION + 1: "right"})
    assert rewards[DECISION] == -1.0 and sum(rewards) == -1.0 and outcomes[DECISION] == OUTCOME_WRONG
    rewards, outcomes = _trial(_fresh(), {})
    assert not any(rewards) and outcomes == [OUTCOME_NONE] * 31 + [OUTCOME_MISS]


def test_breaking_fixation_before_the_decision_is_penalised() -> None:
    rewards, outcomes = _trial(_fresh(), {1: "right", 12: "wrong", 20: "right", DECISION: "right"})
    assert [rewards[s] for s in (1, 12, 20)] == [-0.1] * 3 and rewards[DECISION] == 1.0  # fixation, delay, test
    rewards, outcomes = _trial(_fresh(abort_on_early=True), {4: "right", DECISION: "right"})
    assert rewards[4] == -0.1 and sum(rewards) == pytest.approx(-0.1) and outcomes[4] == OUTCOME_WRONG


def test_an_oracle_is_always_right() -> None:
    """Remembers the sample's ring pattern, compares the test's, answers at the first decision step."""
    env = gym.make_vec(DMS, num_envs=64, dim_ring=5, dt=250, trials=4)
    core = env.unwrapped.task
    periods = core.step_periods()
    obs, _ = env.reset(seed=3)
    sample = test = np.zeros((64, 5))
    correct = 0
    for step in range(core.epoch_len):
        period = periods[step % core.trial_len]
        if period == "sample":
            sample = obs[:, 1:]
        if period == "test":
            test = obs[:, 1:]
        answer = np.where(np.abs(test - sample).max(axis=1) < 1e-6, MATCH, NON_MATCH)
        obs, _, _, _, info = env.step(np.where(period == "decision", answer, 0))
        correct += int((info["outcome"] == OUTCOME_CORRECT).sum())
    assert correct == 64 * 4


# --- options -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dim_ring": 1}, "dim_ring must be an integer >= 2"),
        ({"dt": 0}, "dt must be an integer >= 1"),
        ({"trials": 0}, "trials must be an integer >= 1"),
        ({"timing": {"delays": 500}}, "unknown DMS period(s) ['delays'] in timing: use ['fixation', 'sample'"),
        ({"timing": 500}, "timing must map period names to ms"),
        ({"timing": {"delay": -1}}, "timing['delay'] must be an integer >= 0"),
        ({"dt": 600}, "the sample period (500 ms) is shorter than dt (600 ms)"),
        ({"r_early": "x"}, "r_early must be a number"),
        ({"abort_on_early": 1}, "True or False"),
    ],
)
def test_bad_options_give_one_line_errors(kwargs: dict, message: str) -> None:
    for make in (lambda: gym.make(DMS, **kwargs), lambda: gym.make_vec(DMS, num_envs=2, **kwargs)):
        with pytest.raises(ValueError) as error:
            make()
        assert message in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        dms_vector_env(num_envs=0)


def test_an_unknown_option_is_a_config_error_naming_the_factory() -> None:
    from rlagent.errors import ConfigError
    from rlagent.make_env import make_env

    with pytest.raises(ConfigError, match="dms_vector_env\\(\\) got an unexpected keyword argument 'delay'"):
        make_env("dms", 2, {"delay": 3})


# --- learning ------------------------------------------------------------------------------------
def _learn(algo: str, tmp_path: Path) -> tuple[dict[str, float], float]:
    """Train with the preset experiments/dms/<algo>.yaml; greedy accuracy on fresh trials."""
    from rlagent.config import resolve
    from rlagent.run import Trainer
    from rlagent.sweep import greedy_trial_accuracy

    config = resolve(algo, "dms", overrides=["run.progress=false"], extra={"seed": 0, "logdir": str(tmp_path)})
    start = time.perf_counter()
    trainer = Trainer(config)
    trainer.train()
    seconds = time.perf_counter() - start
    assert config.policy.recurrent == "gru"
    return greedy_trial_accuracy(trainer.policy, trainer.config, 256, seed=999), seconds


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "reinforce"])
def test_recurrent_agents_learn_dms(algo: str, tmp_path: Path) -> None:
    accuracy, seconds = _learn(algo, tmp_path)
    assert accuracy["trial/accuracy"] >= 0.95 and accuracy["trial/response_rate"] == 1.0, (accuracy, seconds)
