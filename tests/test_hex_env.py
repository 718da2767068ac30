"""The Gymnasium side of Hex: conformance, the native vector env, opponents, errors, rendering."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.batched_random import BatchedRandom
from envs.hex import hex_env, hex_vector_env
from envs.turn_based_env import TurnBasedVectorEnv

HEX = "rlagent/Hex-v0"


@pytest.mark.parametrize("size, swap", [(2, False), (5, True), (11, False)])
def test_gymnasium_check_env(size: int, swap: bool) -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(HEX, size=size, swap=swap).unwrapped)


def test_stable_baselines3_check_env() -> None:
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        # SB3 warns that float planes "look like an image"; they are float on purpose, so that SB3
        # flattens them instead of demanding a 36x36 CNN input.
        warnings.simplefilter("ignore", UserWarning)
        check_env(gym.make(HEX, size=5, swap=True).unwrapped)


def test_make_vec_uses_the_batched_core() -> None:
    env = gym.make_vec(HEX, num_envs=8, size=5)
    assert isinstance(env, TurnBasedVectorEnv)
    assert env.unwrapped.game.batch_size == 8
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = env.reset(seed=0)
    assert obs["observation"].shape == (8, 3, 5, 5) and obs["action_mask"].shape == (8, 26)
    assert obs["action_mask"].dtype == np.int8 and np.array_equal(info["action_mask"], obs["action_mask"])


def _random_actions(masks: np.ndarray, rng: BatchedRandom) -> np.ndarray:
    return rng.choice_from_mask(masks.astype(bool))


@pytest.mark.parametrize("agent_color, swap", [(0, False), (1, True), ("random", True)])
def test_vector_env_plays_the_games_of_single_envs(agent_color: int | str, swap: bool) -> None:
    """make_vec(N) with seed s == N single envs seeded s, s+1, ... under SyncVectorEnv (SAME_STEP)."""
    n, size = 6, 3
    batched = gym.make_vec(HEX, num_envs=n, size=size, swap=swap, agent_color=agent_color)
    singles = SyncVectorEnv(
        [lambda: gym.make(HEX, size=size, swap=swap, agent_color=agent_color) for _ in range(n)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    obs_b, _ = batched.reset(seed=11)
    obs_s, _ = singles.reset(seed=11)
    agent_rng = BatchedRandom(n, seed=5)
    finished = 0
    for _ in range(60):
        np.testing.assert_array_equal(obs_b["observation"], obs_s["observation"])
        np.testing.assert_array_equal(obs_b["action_mask"], obs_s["action_mask"])
        actions = _random_actions(obs_b["action_mask"], agent_rng)
        obs_b, rew_b, term_b, trunc_b, info_b = batched.step(actions)
        obs_s, rew_s, term_s, trunc_s, info_s = singles.step(actions)
        np.testing.assert_array_equal(rew_b, rew_s)
        np.testing.assert_array_equal(term_b, term_s)
        np.testing.assert_array_equal(trunc_b, trunc_s)
        if term_b.any():
            np.testing.assert_array_equal(info_b["_final_obs"], info_s["_final_obs"])
            for i in np.flatnonzero(term_b):
                for key in ("observation", "action_mask"):
                    np.testing.assert_array_equal(info_b["final_obs"][i][key], info_s["final_obs"][i][key])
                assert info_b["final_info"]["agent_color"][i] == info_s["final_info"]["agent_color"][i]
            finished += int(term_b.sum())
    assert finished > 20  # many games ended and restarted on both sides


def test_rewards_follow_the_winner_and_colours_are_balanced() -> None:
    env = gym.make_vec(HEX, num_envs=256, size=3, agent_color="random")
    obs, info = env.reset(seed=3)
    rng = BatchedRandom(256, seed=4)
    colours, wins = [], []
    for _ in range(40):
        obs, reward, terminated, _, info = env.step(_random_actions(obs["action_mask"], rng))
        assert set(np.unique(reward[terminated])) <= {-1.0, 1.0}
        assert np.all(reward[~terminated] == 0.0)
        colours.append(info["final_info"]["agent_color"][terminated] if terminated.any() else [])
        wins.append(reward[terminated] > 0)
    colours, wins = np.concatenate(colours), np.concatenate(wins)
    assert 0.4 < colours.mean() < 0.6
    # Random vs random on 3x3: the first player wins clearly more often than the second.
    assert wins[colours == 0].mean() > wins[colours == 1].mean() + 0.1


def test_learner_is_always_to_move_and_sees_its_own_frame() -> None:
    env = hex_env(size=4, agent_color=1)
    obs, info = env.reset(seed=0)
    core = env.game
    assert core.num_moves[0] == 1 and core.to_move[0] == 1  # the opponent opened
    # The learner (player 1) sees the opponent's stone transposed, in the opponent plane.
    (row, col) = np.argwhere(core.board[0] == 1)[0]
    assert obs["observation"][1, col, row] == 1.0 and obs["observation"][0].sum() == 0


def test_illegal_move_loses_and_out_of_range_raises() -> None:
    env = hex_env(size=3, agent_color=0)
    obs, _ = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(4)
    occupied = int(np.flatnonzero(obs["action_mask"][:9] == 0)[0])
    obs, reward, terminated, truncated, info = env.step(occupied)
    assert terminated and reward == -1.0 and info["illegal_action"] is True
    assert obs["action_mask"].sum() == 0
    env.reset(seed=1)
    with pytest.raises(ValueError, match=r"valid actions are 0\.\.9"):
        env.step(10)
    with pytest.raises(ValueError, match=r"valid actions are 0\.\.9"):
        env.step(-1)
    vec = hex_vector_env(num_envs=2, size=3)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="outside the action space"):
        vec.step(np.array([0, 99]))
    with pytest.raises(ValueError, match="expected 2 integer action"):
        vec.step(np.array([0]))


def test_swap_when_not_allowed_is_an_illegal_move() -> None:
    env = hex_env(size=3, swap=False)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(9)
    assert terminated and reward == -1.0 and info["illegal_action"]


def test_swap_through_the_env() -> None:
    env = hex_env(size=5, swap=True, agent_color=1)
    obs, info = env.reset(seed=2)
    assert obs["action_mask"][25] == 1 and np.all(obs["observation"][2] == 1.0)
    (row, col) = np.argwhere(env.game.board[0] == 1)[0]
    obs, reward, terminated, _, info = env.step(25)
    board = env.game.board[0]
    assert board[col, row] == 2 and (board == 2).sum() == 1  # the stone was mirrored and taken over
    assert (board == 1).sum() == 1 and obs["action_mask"][25] == 0  # opponent moved again; no 2nd swap


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"size": 0}, "from 2 to 19"),
        ({"size": 40}, "from 2 to 19"),
        ({"size": 5.5}, "from 2 to 19"),
        ({"size": True}, "from 2 to 19"),
        ({"size": "5"}, "from 2 to 19"),
        ({"swap": "maybe"}, "Hex swap must be True or False, got 'maybe'"),
        ({"swap": 2}, "Hex swap must be True or False, got 2"),
        ({"swap": 1}, "Hex swap must be True or False"),
        ({"swap": None}, "Hex swap must be True or False"),
        ({"opponent": "grandmaster"}, r"unknown opponent 'grandmaster': valid opponents are random, mctsN .*, a callable .*SeatedOpponent"),
        ({"opponent": "mcts0"}, r"unknown opponent 'mcts0': valid opponents are random, mctsN"),
        ({"opponent": 3}, "unknown opponent 3"),
        ({"opponent": "logs/some_run"}, r"looks like the path of a trained agent.*rlagent.make_env.*PolicyPlayer"),
        ({"agent_color": 2}, "agent_color must be 0"),
        ({"agent_color": True}, "agent_color must be 0"),
        ({"agent_color": "first"}, "agent_color must be 0"),
        ({"render_mode": "human"}, "render_mode must be one of"),
        ({"render_mode": 1}, "render_mode must be one of"),
    ],
)
def test_bad_kwargs_give_one_line_errors(kwargs: dict, message: str) -> None:
    makers = (
        lambda: gym.make(HEX, **kwargs),
        lambda: gym.make_vec(HEX, num_envs=2, vectorization_mode="vector_entry_point", **kwargs),
        lambda: gym.make_vec(HEX, num_envs=2, vectorization_mode="sync", **kwargs),
    )
    for make in makers:
        with pytest.raises(ValueError, match=message) as error:
            make()
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("num_envs", [0, -1, 2.0, True, "2", None])
def test_bad_num_envs_gives_one_line_error(num_envs: object) -> None:
    with pytest.raises(ValueError, match=f"num_envs must be a positive integer, got {num_envs!r}"):
        hex_vector_env(num_envs=num_envs, size=3)


def test_numpy_scalars_are_valid_options() -> None:
    env = hex_vector_env(num_envs=np.int64(2), size=np.int64(3), swap=np.bool_(True), agent_color=np.int8(1))
    assert env.num_envs == 2 and env.game.size == 3 and env.game.swap is True and env.match.agent_color_setting == 1


class CountingOpponent:
    """Plays the first legal move and records how it was called."""

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        assert observation.shape[0] == action_mask.shape[0] and action_mask.dtype == np.int8
        self.batch_sizes.append(observation.shape[0])
        return np.argmax(action_mask, axis=1)


def test_opponent_is_called_once_per_step_for_the_whole_batch() -> None:
    opponent = CountingOpponent()
    env = gym.make_vec(HEX, num_envs=64, size=5, opponent=opponent, agent_color=0)
    obs, _ = env.reset(seed=0)
    rng = BatchedRandom(64, seed=1)
    for _ in range(30):
        calls_before = len(opponent.batch_sizes)
        obs, reward, _, _, _ = env.step(_random_actions(obs["action_mask"], rng))
        # The learner always moves first here, so new games need no opening: exactly one call,
        # covering every board except those the learner's own (winning) move just ended.
        assert len(opponent.batch_sizes) == calls_before + 1
        assert opponent.batch_sizes[-1] == int((reward < 1).sum())


def test_opponent_openings_are_batched_with_the_replies() -> None:
    opponent = CountingOpponent()
    env = gym.make_vec(HEX, num_envs=64, size=4, opponent=opponent, agent_color="random")
    obs, _ = env.reset(seed=0)
    rng = BatchedRandom(64, seed=1)
    seen_second_call = False
    for _ in range(40):
        before = len(opponent.batch_sizes)
        obs, reward, terminated, _, info = env.step(_random_actions(obs["action_mask"], rng))
        calls = len(opponent.batch_sizes) - before
        # A second (batched) call is made exactly when a game the opponent's reply ended restarts
        # with the opponent to open; every other opening rides along in the first call.
        lost_then_second = (reward < 0) & (info["agent_color"] == 1)
        assert calls == 1 + int(lost_then_second.any())
        if calls == 2:
            assert opponent.batch_sizes[-1] == int(lost_then_second.sum())
            seen_second_call = True
    assert seen_second_call


def test_an_opponent_that_ignores_the_mask_is_reported() -> None:
    env = hex_env(size=3, opponent=lambda obs, mask: np.zeros(len(obs), dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="must respect the action mask"):
        env.step(0)


def test_action_masks_hook_for_maskable_ppo() -> None:
    env = hex_env(size=3)
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    assert mask.dtype == bool and np.array_equal(mask, obs["action_mask"].astype(bool))
    vec = hex_vector_env(num_envs=3, size=3)
    obs, _ = vec.reset(seed=0)
    assert vec.action_masks().shape == (3, 10)


def test_render_modes() -> None:
    env = gym.make(HEX, size=5, render_mode="ansi")
    env.reset(seed=0)
    env.step(12)
    text = env.render()
    assert isinstance(text, str) and "a" in text and "5" in text
    env = gym.make(HEX, size=5, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    vec = gym.make_vec(HEX, num_envs=2, size=3, render_mode="ansi")
    vec.reset(seed=0)
    assert len(vec.render()) == 2


def test_step_after_the_end_asks_for_reset() -> None:
    env = hex_env(size=2)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(int(np.flatnonzero(env.action_masks())[0]))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_same_seed_same_games() -> None:
    def play(seed: int) -> list[float]:
        env = gym.make_vec(HEX, num_envs=16, size=4, agent_color="random")
        obs, _ = env.reset(seed=seed)
        rng = BatchedRandom(16, seed=0)
        total = []
        for _ in range(30):
            obs, reward, *_ = env.step(_random_actions(obs["action_mask"], rng))
            total.append(reward.copy())
        return np.concatenate(total).tolist()

    assert play(7) == play(7)
    assert play(7) != play(8)


def test_opening_moves_start_games_from_random_positions_with_the_learner_to_move():
    from collections import Counter

    import gymnasium

    env = gymnasium.make_vec("rlagent/Hex-v0", num_envs=256, size=5, agent_color="random", opening_moves=4)
    obs, _ = env.reset(seed=3)
    stones = obs["observation"][:, :2].sum(axis=(1, 2, 3))
    counts = Counter(int(s) for s in stones)
    # 0-4 random moves, then the opponent's reply where the learner is not to move: 0 to 5 stones
    assert set(counts) == set(range(6)) and min(counts.values()) > 10
    mine, theirs = obs["observation"][:, 0].sum(axis=(1, 2)), obs["observation"][:, 1].sum(axis=(1, 2))
    core = env.unwrapped.game
    first = core.to_move == 0  # the learner moves now: it is the first player iff stones are even
    assert ((mine + theirs) % 2 == np.where(first, 0, 1)).all()
    assert (mine <= theirs).all() and (theirs - mine <= 1).all()  # the mover never has more stones
    again, _ = gymnasium.make_vec("rlagent/Hex-v0", num_envs=256, size=5, agent_color="random", opening_moves=4).reset(seed=3)
    assert (again["observation"] == obs["observation"]).all()
    plain, _ = gymnasium.make_vec("rlagent/Hex-v0", num_envs=64, size=5).reset(seed=3)
    assert plain["observation"][:, :2].sum() == 0  # the default: every game from the empty board
    with pytest.raises(ValueError, match="opening_moves must be a whole number"):
        gymnasium.make_vec("rlagent/Hex-v0", num_envs=2, size=5, opening_moves=-1)


def test_random_symmetry_shows_turned_boards_and_turns_the_moves_back():
    """The same games with and without random_symmetry: each observation is the plain one or its
    half turn (about half of each), a move chosen in the turned view lands where the plain env's
    turned-back move does, and everything else (rewards, ends, boards) is identical."""
    from envs.hex.core import rotate180_actions, rotate180_mask
    from envs.hex.env import hex_vector_env

    def first_legal(observation: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(mask).argmax(axis=1)

    plain = hex_vector_env(64, size=5, opponent=first_legal, agent_color=0)
    turned_env = hex_vector_env(64, size=5, opponent=first_legal, agent_color=0, random_symmetry=True)
    po, _ = plain.reset(seed=1)
    so, _ = turned_env.reset(seed=1)
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(12):
        turned = turned_env.match.turned.copy()
        shares.append(turned.mean())
        expected = np.where(turned[:, None, None, None], po["observation"][:, :, ::-1, ::-1], po["observation"])
        assert (so["observation"] == expected).all()
        assert (so["action_mask"] == np.where(turned[:, None], rotate180_mask(po["action_mask"], 5), po["action_mask"])).all()
        assert (turned_env.action_masks() == so["action_mask"].astype(bool)).all()  # asking again shows the same view
        keys = np.where(po["action_mask"] == 1, rng.random(po["action_mask"].shape), -1.0)
        actions = keys.argmax(axis=1)
        po, pr, pt, _, _ = plain.step(actions)
        so, sr, st, _, _ = turned_env.step(np.where(turned, rotate180_actions(actions, 5), actions))
        assert (pr == sr).all() and (pt == st).all() and (plain.game.board == turned_env.game.board).all()
    assert 0.35 < np.mean(shares) < 0.65
    with pytest.raises(ValueError, match="random_symmetry must be true or false"):
        hex_vector_env(2, size=5, random_symmetry="yes")
