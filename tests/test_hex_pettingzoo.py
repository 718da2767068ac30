"""The PettingZoo AEC env: PettingZoo's own API and seed tests, plus the Hex-specific contract."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

from envs.base import DRAW, TurnBasedGame
from envs.hex.pettingzoo import pettingzoo_env
from envs.turn_based_pettingzoo import TurnBasedAECEnv

CONFIGS = [(size, swap) for size in (2, 5, 11) for swap in (False, True)]

# api_test recognises Dict observations and the empty first board only for pettingzoo's own games.
EXPECTED_API_WARNINGS = [
    "ignore:Observation is not a NumPy array",
    "ignore:Observation numpy array is all zeros",
    "ignore:Observation space for each agent probably should be",
]


def play(env: TurnBasedAECEnv, *actions: int) -> None:
    for action in actions:
        env.step(action)


def finish(env: TurnBasedAECEnv) -> dict[str, float]:
    """Step every terminated agent with None; return the reward each saw in its last ``last()``."""
    seen = {}
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last()
        assert terminated and not truncated
        seen[agent] = reward
        env.step(None)
    return seen


@pytest.mark.filterwarnings(*EXPECTED_API_WARNINGS)
@pytest.mark.parametrize(("size", "swap"), CONFIGS)
def test_pettingzoo_api_test(size: int, swap: bool) -> None:
    api_test(pettingzoo_env(size=size, swap=swap), num_cycles=1000)


@pytest.mark.parametrize(("size", "swap"), CONFIGS)
def test_pettingzoo_seed_test(size: int, swap: bool) -> None:
    seed_test(lambda: pettingzoo_env(size=size, swap=swap), num_cycles=500)


@pytest.mark.parametrize(("size", "swap"), CONFIGS)
def test_random_games_reward_the_core_winner(size: int, swap: bool) -> None:
    env = pettingzoo_env(size=size, swap=swap)
    rng = np.random.default_rng(size + 100 * swap)
    for _ in range(5):
        env.reset()
        total = dict.fromkeys(env.possible_agents, 0.0)
        swapped = False
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, info = env.last()
            total[agent] += reward
            if terminated:
                env.step(None)
                continue
            assert agent == env.possible_agents[int(env.unwrapped.game.to_move[0])]
            np.testing.assert_array_equal(obs["action_mask"], info["action_mask"])
            other = env.possible_agents[1 - env.possible_agents.index(agent)]
            assert not env.observe(other)["action_mask"].any()
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            swapped |= action == size * size
            env.step(action)
        winner = int(env.unwrapped.game.winner[0])
        assert winner in (0, 1)
        assert total == {env.possible_agents[winner]: 1.0, env.possible_agents[1 - winner]: -1.0}
        assert env.agents == []
    assert swap or not swapped


def test_illegal_move_loses_with_info_flag() -> None:
    env = pettingzoo_env(size=5)
    env.reset()
    env.step(1)  # player_0 takes absolute (0, 1), which player_1 sees at (1, 0) = cell 5
    assert env.agent_selection == "player_1" and env.observe("player_1")["action_mask"][5] == 0
    env.step(5)
    assert env.terminations == {"player_0": True, "player_1": True}
    assert env.truncations == {"player_0": False, "player_1": False}
    assert env.rewards == {"player_0": 1.0, "player_1": -1.0}
    assert env.infos["player_1"]["illegal_action"] is True
    assert "illegal_action" not in env.infos["player_0"]
    assert int(env.unwrapped.game.winner[0]) == 0
    assert not env.observe("player_1")["action_mask"].any()
    with pytest.raises(ValueError, match="None"):
        env.step(0)
    assert finish(env) == {"player_0": 1.0, "player_1": -1.0}


def test_swap_without_the_rule_is_an_illegal_move() -> None:
    env = pettingzoo_env(size=3, swap=False)
    env.reset()
    env.step(9)
    assert env.rewards == {"player_0": -1.0, "player_1": 1.0}
    assert env.infos["player_0"]["illegal_action"] is True


@pytest.mark.parametrize("action", [-1, 26, 1000, 2.0, "3", True, None, np.array([3])])
def test_action_outside_the_space_raises_and_changes_nothing(action: object) -> None:
    env = pettingzoo_env(size=5, swap=True)
    env.reset()
    with pytest.raises(ValueError, match=r"0\.\.2[45]"):
        env.step(action)
    assert env.agent_selection == "player_0" and not any(env.terminations.values())
    assert int(env.unwrapped.game.num_moves[0]) == 0
    env.step(np.int32(3))
    assert env.agent_selection == "player_1"


def test_player_1_sees_the_board_transposed() -> None:
    n = 5
    env = pettingzoo_env(size=n)
    env.reset()
    game = env.unwrapped.game
    env.step(1 * n + 3)  # player_0: its own view is the absolute board, so absolute (1, 3)
    assert game.board[0, 1, 3] == 1
    mine, theirs = env.observe("player_0")["observation"], env.observe("player_1")["observation"]
    assert mine[0, 1, 3] == 1 and mine[0].sum() == 1 and mine[1].sum() == 0
    assert theirs[1, 3, 1] == 1 and theirs[1].sum() == 1 and theirs[0].sum() == 0
    assert env.observe("player_1")["action_mask"][3 * n + 1] == 0
    env.step(0 * n + 2)  # player_1: (0, 2) of its own view is absolute (2, 0)
    assert game.board[0, 2, 0] == 2
    assert env.observe("player_1")["observation"][0, 0, 2] == 1
    assert env.observe("player_0")["observation"][1, 2, 0] == 1
    assert env.observe("player_0")["action_mask"][2 * n + 0] == 0


def test_swap_through_the_aec_env() -> None:
    n = 5
    env = pettingzoo_env(size=n, swap=True)
    env.reset()
    game = env.unwrapped.game
    assert env.observe("player_0")["action_mask"][n * n] == 0
    env.step(1 * n + 3)
    obs = env.observe("player_1")
    assert env.agent_selection == "player_1" and obs["action_mask"][n * n] == 1
    assert obs["observation"][2].all()
    env.step(n * n)
    assert env.agent_selection == "player_0"
    assert game.board[0, 1, 3] == 0 and game.board[0, 3, 1] == 2 and (game.board[0] != 0).sum() == 1
    assert env.observe("player_1")["observation"][0, 1, 3] == 1
    mask = env.observe("player_0")["action_mask"]
    assert mask[3 * n + 1] == 0 and mask[n * n] == 0 and mask.sum() == n * n - 1
    env.step(0)
    assert env.agent_selection == "player_1"
    assert env.observe("player_1")["action_mask"][n * n] == 0
    assert not env.observe("player_1")["observation"][2].any()


@pytest.mark.parametrize("size", [0, 1, 20, 40, 2.5, "5", True, None])
def test_bad_size_is_a_one_line_value_error(size: object) -> None:
    with pytest.raises(ValueError, match="from 2 to 19") as error:
        pettingzoo_env(size=size)
    assert "\n" not in str(error.value)


def test_bad_swap_and_render_mode_are_value_errors() -> None:
    for swap in ("yes", 1, None):  # the same rule as rlagent/Hex-v0's (envs.hex.size.check_swap)
        with pytest.raises(ValueError, match="swap must be True or False"):
            pettingzoo_env(size=5, swap=swap)
    with pytest.raises(ValueError, match="ansi, rgb_array"):
        pettingzoo_env(size=5, render_mode="human")


def test_metadata_and_use_before_reset() -> None:
    env = pettingzoo_env(size=3)
    assert str(env) == "hex_v0" and env.metadata["is_parallelizable"] is False
    assert env.metadata["render_modes"] == ["ansi", "rgb_array"]
    assert env.action_space("player_1").n == 10
    assert env.observation_space("player_0")["observation"].shape == (3, 3, 3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_render() -> None:
    pytest.importorskip("envs.hex.render")
    text_env, rgb_env = pettingzoo_env(size=5, render_mode="ansi"), pettingzoo_env(size=5, render_mode="rgb_array")
    for env in (text_env, rgb_env):
        env.reset()
        play(env, 7, 3)
    text = text_env.render()
    assert isinstance(text, str) and text.strip()
    picture = rgb_env.render()
    assert isinstance(picture, np.ndarray) and picture.dtype == np.uint8
    assert picture.ndim == 3 and picture.shape[2] == 3
    text_env.close()
    rgb_env.close()


def test_render_without_a_mode_returns_none() -> None:
    env = pettingzoo_env(size=3)
    env.reset()
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


class ChooseNextGame(TurnBasedGame):
    """A toy game for the generic env: the mover names who moves next; three moves make a draw."""

    name = "choose_next"

    def __init__(self) -> None:
        super().__init__(1)

    @property
    def num_actions(self) -> int:
        return 2

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (1,)

    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray:
        return np.repeat(~self.done[self._select(boards), None], 2, axis=1)

    def observation(self, boards: np.ndarray | None = None, player: int | None = None) -> np.ndarray:
        return (self.num_moves[self._select(boards), None] / 3).astype(np.float32)

    def _reset(self, boards: np.ndarray) -> None:
        pass

    def _play(self, actions: np.ndarray, boards: np.ndarray) -> None:
        self.to_move[boards] = actions
        self.winner[boards[self.num_moves[boards] == 2]] = DRAW


def test_generic_env_follows_to_move_and_scores_a_draw_zero() -> None:
    env = TurnBasedAECEnv(ChooseNextGame, name="choose_next_v0")
    env.reset()
    env.step(0)
    assert env.agent_selection == "player_0"
    env.step(1)
    assert env.agent_selection == "player_1" and not env.observe("player_0")["action_mask"].any()
    env.step(0)
    assert env.terminations == {"player_0": True, "player_1": True}
    assert finish(env) == {"player_0": 0.0, "player_1": 0.0}
