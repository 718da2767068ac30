"""PWM (rlagent/PWM-v0): conformance, the native vector env, the task design, the reward rule, options."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import envs
from envs.base import TrialTask
from envs.pwm import PWMCore, pwm_vector_env
from envs.trial_task import INFO_KEYS, OUTCOME_CORRECT, OUTCOME_MISS, OUTCOME_NONE, OUTCOME_WRONG
from envs.trial_task_env import TrialTaskVectorEnv
from rlagent.monitor.trials import TrialStats

PWM = "rlagent/PWM-v0"
ROMO_15 = {"fixation": 2, "stim1": 2, "delay": 5, "stim2": 2, "decision": 4}


def _core(env: Any) -> PWMCore:
    return env.unwrapped.task


# --- conformance ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"preset": "romo"}, {"preset": "romo", "obs_noise": 0.2, "r_early": -0.1}])
def test_gymnasium_check_env(kwargs: dict) -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(PWM, **kwargs).unwrapped)


@pytest.mark.parametrize("preset", ["seed", "romo"])
def test_stable_baselines3_check_env(preset: str) -> None:
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: the spaces are what SB3 expects
        check_env(gym.make(PWM, preset=preset).unwrapped)


def test_registration_and_cli_name() -> None:
    from rlagent.make_env import make_env, resolve_env_id

    assert envs.ENV_IDS["pwm"] == PWM and resolve_env_id("pwm") == PWM
    vector = make_env("pwm", 4, {"task": "pwm3"})
    assert isinstance(vector, TrialTaskVectorEnv) and vector.num_envs == 4
    assert issubclass(PWMCore, TrialTask)


def test_make_vec_uses_the_batched_core() -> None:
    env = gym.make_vec(PWM, num_envs=8)
    assert isinstance(env, TrialTaskVectorEnv)
    assert _core(env).batch_size == 8
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = env.reset(seed=0)
    assert obs.shape == (8, 6) and obs.dtype == np.float32
    assert env.single_action_space == gym.spaces.Discrete(3)
    assert all(info[f"_{key}"].all() for key in INFO_KEYS)


def _random_actions(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(3, size=n, p=[0.6, 0.2, 0.2])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"task": "pwm3", "epoch_len": 60, "delay": 2},
        {"preset": "romo", "obs_noise": 0.3, "r_early": -0.2, "abort_on_early": True, "r_wrong": -1.0},
    ],
)
def test_vector_env_plays_the_trials_of_single_envs(kwargs: dict) -> None:
    """make_vec(N) seeded s == N single envs seeded s, s+1, ... under SyncVectorEnv (SAME_STEP)."""
    n = 5
    batched = gym.make_vec(PWM, num_envs=n, **kwargs)
    singles = SyncVectorEnv([lambda: gym.make(PWM, **kwargs) for _ in range(n)], autoreset_mode=AutoresetMode.SAME_STEP)
    obs_b, info_b = batched.reset(seed=21)
    obs_s, info_s = singles.reset(seed=21)
    rng = np.random.default_rng(3)
    ends = 0
    for _ in range(3 * _core(batched).epoch_len + 7):
        np.testing.assert_array_equal(obs_b, obs_s)
        for key in INFO_KEYS:
            np.testing.assert_array_equal(info_b[key], info_s[key], err_msg=key)
            np.testing.assert_array_equal(info_b[f"_{key}"], info_s[f"_{key}"])
        actions = _random_actions(rng, n)
        obs_b, rew_b, term_b, trunc_b, info_b = batched.step(actions)
        obs_s, rew_s, term_s, trunc_s, info_s = singles.step(actions)
        np.testing.assert_array_equal(rew_b, rew_s)
        np.testing.assert_array_equal(term_b, term_s)
        np.testing.assert_array_equal(trunc_b, trunc_s)
        assert ("final_obs" in info_b) == ("final_obs" in info_s)
        if trunc_b.any():
            ends += int(trunc_b.sum())
            np.testing.assert_array_equal(info_b["_final_obs"], info_s["_final_obs"])
            np.testing.assert_array_equal(info_b["_final_info"], info_s["_final_info"])
            for i in np.flatnonzero(trunc_b):
                np.testing.assert_array_equal(info_b["final_obs"][i], info_s["final_obs"][i])
                for key in INFO_KEYS:
                    assert info_b["final_info"][key][i] == info_s["final_info"][key][i], key
    assert ends == 3 * n and not term_b.any()


def test_same_seed_same_trials_and_different_seeds_differ() -> None:
    def conditions(seed: int) -> list[int]:
        env = gym.make(PWM)
        _, info = env.reset(seed=seed)
        seen = [info["condition"]]
        for _ in range(60):
            _, _, _, truncated, info = env.step(0)
            seen.append(info["condition"])
            if truncated:
                env.reset()
        return seen

    assert conditions(4) == conditions(4)
    assert conditions(4) != conditions(5)


def test_a_pickled_vector_env_continues_identically() -> None:
    """The collector checkpoints envs mid-episode with cloudpickle (rlagent.rollout)."""
    import cloudpickle

    env = gym.make_vec(PWM, num_envs=3, preset="romo", obs_noise=0.1)
    env.reset(seed=0)
    for _ in range(7):
        env.step(np.zeros(3, dtype=np.int64))
    copy = cloudpickle.loads(cloudpickle.dumps(env))
    for step in range(20):
        actions = np.full(3, step % 3)
        for a, b in zip(env.step(actions)[:4], copy.step(actions)[:4]):
            np.testing.assert_array_equal(a, b)


# --- the task design -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "task, names, trivial",
    [
        ("pwm5", ["AB", "BA", "BC", "CB", "CD", "DC", "DE", "ED"], {"BA", "DE"}),
        ("pwm0", ["AB", "BA"], {"AB", "BA"}),
        ("pwm3", ["AB", "BA", "BC", "CB"], {"BA", "BC"}),
    ],
)
def test_conditions_and_the_trivial_set(task: str, names: list[str], trivial: set[str]) -> None:
    core = PWMCore(1, task)
    assert core.condition_names() == names
    assert {name for name, t in zip(names, core.trivial) if t} == trivial
    # AB: A < B, so "first < second" (2); BA: "first > second" (1).
    assert core.answers.tolist() == [2, 1] * (len(names) // 2)


def test_conditions_are_drawn_uniformly() -> None:
    core = PWMCore(2000, "pwm5", epoch_len=60, seed=1)
    core.reset()
    counts = np.zeros(core.num_conditions)
    for _ in range(core.epoch_len):
        _, _, info = core.step(np.zeros(core.batch_size, dtype=np.int64))
        np.add.at(counts, info["condition"][info["trial_end"]], 1)
    assert counts.sum() == 2000 * 20
    expected = counts.sum() / core.num_conditions
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 24.3  # the 0.1% critical value of chi-square with 7 degrees of freedom


class ObservationOracle:
    """Reads each stimulus off the observation, remembers the first, answers on every window step."""

    def __init__(self, core: PWMCore) -> None:
        self.periods = core.step_periods()
        self.window = core.response_period
        self.channels = core.stimulus_channels
        self.first = self.second = np.zeros(core.batch_size, dtype=np.int64)

    def __call__(self, obs: np.ndarray, step_in_trial: int) -> np.ndarray:
        period = self.periods[step_in_trial]
        stimulus = obs[:, : self.channels].argmax(axis=1)
        if period == "stim1":
            self.first = stimulus
        if period == "stim2":
            self.second = stimulus
        if period != self.window:
            return np.zeros(obs.shape[0], dtype=np.int64)
        return np.where(self.first > self.second, 1, 2)


def _play(env: Any, policy: Callable[[np.ndarray, int], np.ndarray], episodes: int, seed: int) -> tuple[TrialStats, float]:
    """Run a synchronised vector env; the policy gets the observation and the step in the trial."""
    core = _core(env)
    stats = TrialStats(window=10**9)
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for k in range(episodes * core.epoch_len):
        actions = policy(obs, (k % core.epoch_len) % core.trial_len)
        obs, rewards, terminated, truncated, info = env.step(actions)
        stats.update(info, terminated | truncated, rewards)
        total += float(rewards.sum())
    return stats, total


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"epoch_len": 60}, {"task": "pwm20", "delay": 3, "epoch_len": 50}, {"preset": "romo"}, {"preset": "romo", "epoch_len": 30}],
)
def test_oracle_is_always_right_and_earns_one_per_trial(kwargs: dict) -> None:
    env = gym.make_vec(PWM, num_envs=64, **kwargs)
    core = _core(env)
    stats, total = _play(env, ObservationOracle(core), episodes=3, seed=2)
    trials = 64 * 3 * core.trials_per_episode
    summary = stats.summary()
    assert summary["trial/trials"] == trials and summary["trial/accuracy"] == 1.0
    assert total == trials


def test_memoryless_policy_sits_on_the_plateau() -> None:
    """Answering from the second stimulus alone: 62.5% overall, 50% non-trivial, 100% trivial on pwm5."""
    n = 1024
    env = gym.make_vec(PWM, num_envs=n, task="pwm5", epoch_len=60)
    last = _core(env).num_stimuli - 1
    guesses = np.random.default_rng(0)

    def memoryless(obs: np.ndarray, step_in_trial: int) -> np.ndarray:
        seen = obs.max(axis=1) > 0.5
        stimulus = obs.argmax(axis=1)
        answer = np.where(stimulus == 0, 1, np.where(stimulus == last, 2, guesses.integers(1, 3, size=n)))
        return np.where(seen, answer, 0)  # it responds to every stimulus: early ones are ignored

    stats, _ = _play(env, memoryless, episodes=1, seed=7)
    summary = stats.summary()
    assert summary["trial/trials"] == n * 20  # about 20k trials: standard errors below 0.005
    assert summary["trial/accuracy_trivial"] == 1.0
    assert abs(summary["trial/accuracy"] - 0.625) < 0.02
    assert abs(summary["trial/accuracy_nontrivial"] - 0.5) < 0.02


# --- the reward rule -----------------------------------------------------------------------------
def _romo(**kwargs: Any) -> PWMCore:
    core = PWMCore(1, "pwm5", "romo", seed=0, **kwargs)
    core.reset()
    return core


def _run_trial(core: PWMCore, script: dict[int, str]) -> tuple[list[float], list[int], list[bool]]:
    """Play one trial; ``script`` maps a step to "right" or "wrong" (hold elsewhere)."""
    right = int(core.answers[core.condition[0]])
    choice = {"right": right, "wrong": 3 - right}
    rewards, outcomes, early = [], [], []
    for step in range(core.trial_len):
        reward, _, info = core.step(np.array([choice.get(script.get(step, ""), 0)]))
        rewards.append(float(reward[0]))
        outcomes.append(int(info["outcome"][0]))
        early.append(bool(info["early_response"][0]))
    return rewards, outcomes, early


DECISION = 11  # first step of the romo decision period at epoch_len 15 (2 + 2 + 5 + 2)


def test_only_the_first_response_in_the_window_counts() -> None:
    rewards, outcomes, _ = _run_trial(_romo(), {DECISION: "right", DECISION + 1: "wrong", DECISION + 2: "right"})
    assert rewards == [0.0] * DECISION + [1.0, 0.0, 0.0, 0.0]
    assert outcomes == [OUTCOME_NONE] * DECISION + [OUTCOME_CORRECT, 0, 0, 0]

    rewards, outcomes, _ = _run_trial(_romo(r_wrong=-0.5), {DECISION + 1: "wrong", DECISION + 2: "right"})
    assert rewards == [0.0] * (DECISION + 1) + [-0.5, 0.0, 0.0]
    assert outcomes[DECISION + 1] == OUTCOME_WRONG and outcomes.count(OUTCOME_NONE) == 14


def test_a_trial_without_response_is_a_miss_worth_nothing() -> None:
    core = PWMCore(3, "pwm5", seed=0, r_wrong=-1.0, r_early=-1.0)
    core.reset()
    for step in range(core.epoch_len):
        reward, truncated, info = core.step(np.zeros(3, dtype=np.int64))
        assert not reward.any()
        expected = OUTCOME_MISS if step % 3 == 2 else OUTCOME_NONE
        assert (info["outcome"] == expected).all() and (info["trial_end"] == (step % 3 == 2)).all()
    assert truncated.all()


def test_early_responses_are_ignored_by_default() -> None:
    rewards, outcomes, early = _run_trial(_romo(), {0: "wrong", 3: "right", DECISION: "right"})
    assert rewards[DECISION] == 1.0 and sum(rewards) == 1.0
    assert early[0] and early[3] and not early[DECISION]


def test_early_response_penalty() -> None:
    rewards, outcomes, early = _run_trial(_romo(r_early=-0.1), {0: "wrong", 9: "right", DECISION: "right"})
    assert rewards[0] == rewards[9] == -0.1 and rewards[DECISION] == 1.0
    assert outcomes[DECISION] == OUTCOME_CORRECT and early.count(True) == 2


def test_abort_on_early_scores_the_trial_as_wrong_and_keeps_its_length() -> None:
    core = _romo(r_early=-0.1, abort_on_early=True)
    rewards, outcomes, early = _run_trial(core, {4: "right", 6: "right", DECISION: "right"})
    assert rewards[4] == -0.1 and sum(rewards) == pytest.approx(-0.1)  # nothing after the abort counts
    assert outcomes[4] == OUTCOME_WRONG and outcomes.count(OUTCOME_NONE) == 14  # no miss later either
    assert early == [step == 4 for step in range(15)]
    assert core.over.all()  # the trial still took its 15 steps


# --- info, timing, options -----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"preset": "romo"}, {"epoch_len": 60, "delay": 3}])
def test_info_on_every_step(kwargs: dict) -> None:
    env = gym.make(PWM, **kwargs)
    core = _core(env)
    _, info = env.reset(seed=0)
    assert set(info) == set(INFO_KEYS) and info["step_in_trial"] == 0 and info["outcome"] == OUTCOME_NONE
    rng = np.random.default_rng(1)
    decided: dict[int, int] = {}
    for step in range(core.epoch_len):
        _, reward, terminated, truncated, info = env.step(int(_random_actions(rng, 1)[0]))
        assert set(info) == set(INFO_KEYS)
        assert info["trial"] == step // core.trial_len and info["step_in_trial"] == step % core.trial_len
        assert info["trial_end"] == (info["step_in_trial"] == core.trial_len - 1)
        assert info["correct_answer"] in (1, 2) and info["trivial"] == bool(core.trivial[info["condition"]])
        if info["outcome"] != OUTCOME_NONE:
            decided[info["trial"]] = decided.get(info["trial"], 0) + 1
        assert not terminated and truncated == (step == core.epoch_len - 1)
    assert decided == {trial: 1 for trial in range(core.trials_per_episode)}  # one outcome per trial
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(0)


def test_epoch_len_60() -> None:
    env = gym.make(PWM, epoch_len=60)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, _, _, truncated, info = env.step(0)
        steps += 1
    assert steps == 60 and info["trial"] == 19 and _core(env).trials_per_episode == 20


def test_seed_preset_observations() -> None:
    core = PWMCore(1, "pwm5", seed=0)
    core.reset()
    assert core.step_periods() == ["stim1", "delay", "stim2"] and core.response_period == "stim2"
    shown = []
    for _ in range(3):
        shown.append(core.observe()[0])
        core.step(np.zeros(1, dtype=np.int64))
    first, second = shown[0].argmax(), shown[2].argmax()
    assert shown[0].sum() == shown[2].sum() == 1.0 and not shown[1].any()
    assert abs(int(first) - int(second)) == 1
    assert PWMCore(1, "pwm12").observation_size == 12 and core.observation_size == 6


def _period_lengths(core: PWMCore) -> dict[str, int]:
    return {p.name: p.steps for p in core.periods}


def test_romo_periods_and_cue() -> None:
    core = PWMCore(1, "pwm5", "romo", epoch_len=15)
    assert _period_lengths(core) == ROMO_15 and core.trials_per_episode == 1
    assert _period_lengths(PWMCore(1, "pwm5", "romo", epoch_len=30)) == {k: 2 * v for k, v in ROMO_15.items()}
    assert _period_lengths(PWMCore(1, "pwm5", "romo", epoch_len=60)) == {k: 4 * v for k, v in ROMO_15.items()}
    for epoch_len in range(5, 121):
        assert sum(_period_lengths(PWMCore(1, "pwm5", "romo", epoch_len=epoch_len)).values()) == epoch_len

    core.reset()
    cue = []
    for _ in range(15):
        cue.append(float(core.observe()[0, -1]))
        core.step(np.zeros(1, dtype=np.int64))
    assert cue == [1.0] * 11 + [0.0] * 4  # on through fixation, stimuli and delay; off = go
    assert core.observe()[0].sum() == 0.0  # the final observation is blank


def test_romo_delay_override_keeps_stimuli_and_decision() -> None:
    periods = _period_lengths(PWMCore(1, "pwm5", "romo", epoch_len=15, delay=3))
    assert periods == {"fixation": 4, "stim1": 2, "delay": 3, "stim2": 2, "decision": 4}
    periods = _period_lengths(PWMCore(1, "pwm5", "romo", epoch_len=15, delay=6))
    assert periods == {"fixation": 1, "stim1": 2, "delay": 6, "stim2": 2, "decision": 4}


def test_obs_noise_is_seeded_and_has_the_right_scale() -> None:
    core = PWMCore(4096, "pwm5", obs_noise=0.5, seed=3)
    core.reset()
    clean = core.observation_table[core.condition, 0]
    noisy = core.observe()
    assert abs(float((noisy - clean).std()) - 0.5) < 0.01 and abs(float((noisy - clean).mean())) < 0.01
    again = PWMCore(4096, "pwm5", obs_noise=0.5, seed=3)
    again.reset()
    np.testing.assert_array_equal(again.observe(), noisy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "pwm1"}, "K from 2 to 20"),
        ({"task": "pwm21"}, "K from 2 to 20"),
        ({"task": "wm5"}, "use 'pwm0'"),
        ({"task": 5}, "use 'pwm0'"),
        ({"preset": "fast"}, "['seed', 'romo']"),
        ({"epoch_len": 16}, "multiple of 3"),
        ({"epoch_len": 15, "delay": 2}, "multiple of 4"),
        ({"epoch_len": 0}, "epoch_len must be an integer >= 1"),
        ({"preset": "romo", "epoch_len": 4}, "epoch_len >= 5"),
        ({"preset": "romo", "delay": 7}, "delay from 0 to 6"),
        ({"delay": -1}, "delay must be an integer >= 0"),
        ({"obs_noise": -0.1}, "obs_noise must be a finite number >= 0"),
        ({"r_wrong": float("nan")}, "r_wrong must be a finite number"),
        ({"abort_on_early": "yes"}, "True or False"),
        # wrong types, each named with what is valid
        ({"task": None}, "use 'pwm0'"),
        ({"preset": None}, "['seed', 'romo']"),
        ({"epoch_len": 15.0}, "epoch_len must be an integer >= 1"),
        ({"epoch_len": True}, "epoch_len must be an integer >= 1"),
        ({"delay": 1.5}, "delay must be an integer >= 0"),
        ({"r_wrong": "-1"}, "r_wrong must be a number"),
        ({"r_early": None}, "r_early must be a number"),
        ({"obs_noise": True}, "obs_noise must be a number"),
        ({"abort_on_early": 1}, "True or False"),
    ],
)
def test_bad_options_give_one_line_errors(kwargs: dict, message: str) -> None:
    for make in (lambda: gym.make(PWM, **kwargs), lambda: gym.make_vec(PWM, num_envs=2, **kwargs)):
        with pytest.raises(ValueError) as error:
            make()
        assert message in str(error.value) and "\n" not in str(error.value)
    for num_envs in (0, 2.0, True, None):
        with pytest.raises(ValueError, match="num_envs must be a positive integer"):
            pwm_vector_env(num_envs=num_envs)


def test_bad_actions_raise() -> None:
    env = gym.make(PWM).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="valid actions are 0..2"):
        env.step(3)
    vector = gym.make_vec(PWM, num_envs=2)
    vector.reset(seed=0)
    with pytest.raises(ValueError, match="expected 2 integer action"):
        vector.step(np.zeros(3, dtype=np.int64))


@pytest.mark.slow
def test_trains_with_stable_baselines3_ppo() -> None:
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", gym.make(PWM), seed=0)
    model.learn(256)
    assert model.num_timesteps >= 256
