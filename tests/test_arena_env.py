"""The Arena's adapters: Gymnasium (single and native vector) and PettingZoo's ParallelEnv, checked
with the ecosystem's own checkers, and the vector env against N single envs game for game."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

import envs  # noqa: F401  (registers rlagent/Arena-v0)
from envs.arena import parallel_env
from envs.arena.env import arena_env, arena_vector_env


def test_gymnasium_and_sb3_checkers_pass() -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    for observation in ("original", "rich"):
        env = gym.make("rlagent/Arena-v0", observation=observation, opponent="random")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(arena_env(observation=observation), warn=False)


def test_pettingzoo_parallel_api_and_seed_tests_pass() -> None:
    parallel_api_test(parallel_env(), num_cycles=200)
    parallel_api_test(parallel_env(num_bodies=4, preset="king"), num_cycles=200)
    parallel_seed_test(lambda: parallel_env(spawn_jitter=0.5))


@pytest.mark.parametrize("opponent", ["random", ["random", "hunter", "idle"]])
def test_make_vec_plays_the_games_of_n_single_envs(opponent) -> None:
    options = dict(preset="king", num_bodies=3, opponent=opponent, learner_seat="random", spawn_jitter=0.5)
    n, seed, steps = 4, 21, 700
    vector = gym.make_vec("rlagent/Arena-v0", num_envs=n, vectorization_mode="vector_entry_point", **options)
    singles = [arena_env(**options) for _ in range(n)]
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, (steps, n, 4))
    obs, _ = vector.reset(seed=seed)
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    assert np.array_equal(obs, np.stack(single_obs))
    endings = 0
    for t in range(steps):
        obs, rewards, terminated, truncated, info = vector.step(actions[t])
        for i, env in enumerate(singles):
            o, r, term, trunc, single_info = env.step(actions[t, i])
            assert r == rewards[i] and term == terminated[i] and not trunc and not truncated[i]
            if term:
                endings += 1
                assert np.array_equal(info["final_obs"][i], o)
                assert info["result"][i] == single_info["result"]
                o, _ = env.reset()
            assert np.array_equal(obs[i], o)
    assert endings >= n  # every game ended at least once (600 steps at most)


def test_a_mix_of_bots_draws_one_per_game_from_each_arena_stream() -> None:
    env = arena_vector_env(num_envs=64, opponent=["idle", "hunter"])
    env.reset(seed=3)
    drawn = env.match.opponent.drawn.copy()
    assert 20 < drawn.sum() < 44  # about half the arenas drew the hunter
    again = arena_vector_env(num_envs=64, opponent=["idle", "hunter"])
    again.reset(seed=3)
    assert np.array_equal(again.match.opponent.drawn, drawn)
    speeds = np.zeros(64)
    for _ in range(20):
        env.step(np.zeros((64, 4), np.int8))
        speeds += np.abs(env.game.velocity[:, 1]).sum(axis=1)
    assert (speeds[drawn == 0] == 0).all() and (speeds[drawn == 1] > 0).all()  # idle never moves, the hunter does


def test_the_opponent_is_called_once_per_step_for_the_whole_batch() -> None:
    class CountingIdle:
        name = "counting"

        def __init__(self) -> None:
            self.calls, self.bodies = 0, []

        def start(self, games, seats) -> None:
            pass

        def act(self, game, games, seats, observation):
            self.calls += 1
            self.bodies.append(len(games))
            return np.zeros((len(games), 4), np.int8)

    opponent = CountingIdle()
    env = arena_vector_env(num_envs=16, num_bodies=4, opponent=opponent)
    env.reset(seed=0)
    for _ in range(5):
        env.step(np.zeros((16, 4), np.int8))
    assert opponent.calls == 5 and opponent.bodies == [16 * 3] * 5


def test_episodes_end_with_the_outcome_and_the_learner_dying_ends_its_episode() -> None:
    env = arena_env(num_bodies=3, opponent="idle")
    env.reset(seed=0)
    core = env.unwrapped.game
    core.position[0, 0], core.angle[0, 0] = (0.0, -10.0), np.pi / 2
    core.position[0, 1], core.hp[0, 1] = (-0.25, -8.0), 0  # on the learner's left gun line, one hit from death
    _, reward, terminated, _, _ = env.step(np.array([0, 1, 0, 0]))
    assert reward == pytest.approx(101.0) and not terminated  # a kill, but the third body lives on
    core.hp[0, 0] = 0  # a bullet of body 2's comes at the learner from behind, fatally
    core.bullet_position[0, 2, 0], core.bullet_velocity[0, 2, 0], core.bullet_age[0, 2, 0] = (0.0, -12.0), (0.0, 20.0), 1
    obs, reward, terminated, truncated, info = env.step(np.zeros(4, np.int8))
    assert reward == pytest.approx(-101.0)
    assert terminated and not truncated and not obs.any()  # its episode ends though the game could go on
    assert info["result"] == 0.0 and info["score"] == pytest.approx(0.0)  # 101 - 101 against body 2's 101


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"preset": "hill"}, "valid presets are original, king, walls"),
        ({"opponent": "mcts100"}, "valid opponents are idle, random, hill, turret, hunter"),
        ({"opponent": "logs/some_run"}, "an env cannot load"),
        ({"learner_seat": 2}, "learner_seat must be a seat number from 0 to 1"),
        ({"observation": "pixels"}, "original, rich"),
    ],
)
def test_bad_options_get_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        arena_env(**kwargs)


def test_bad_learner_actions_are_refused() -> None:
    env = arena_vector_env(num_envs=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="MultiBinary"):
        env.step(np.zeros((2, 3), np.int8))
    with pytest.raises(ValueError, match="0 or 1"):
        env.step(np.full((2, 4), 3))


def test_stable_baselines3_trains_on_the_arena() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(lambda: arena_env(opponent="idle", observation="rich", reward_scale=0.01), n_envs=2, seed=0)
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu").learn(256)
    actions, _ = model.predict(vec.reset(), deterministic=True)
    assert actions.shape == (2, 4) and set(np.unique(actions)) <= {0, 1}
