"""Players: the batched move-pickers shared by opponents, evaluation and the league."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.games.hex.solved_positions import select_moves
from rlagent.games.players import PolicyPlayer, RandomPlayer
from rlagent.run import Trainer


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3x3 Hex agent trained for a few seconds (it beats random most of the time)."""
    logdir = tmp_path_factory.mktemp("runs")
    config = resolve(
        "ppo",
        "hex",
        overrides=["run.progress=false", "env.size=3", "env.agent_color=random", "policy.board_channels=16", "policy.board_blocks=1"],
        extra={"total_steps": 8192, "logdir": str(logdir)},
    )
    trainer = Trainer(config)
    trainer.train()
    return trainer.run_dir


def test_random_player_plays_only_legal_moves() -> None:
    mask = np.zeros((500, 10), dtype=np.int8)
    mask[np.arange(500), np.random.default_rng(0).integers(0, 10, 500)] = 1
    mask[:250, 3] = 1
    actions = RandomPlayer(seed=1)(np.zeros((500, 3, 3, 3), np.float32), mask)
    assert mask[np.arange(500), actions].all()
    assert len(set(actions[:250].tolist())) > 1  # it does choose among several legal moves


def test_policy_player_loads_a_run_and_plays_legal_moves_in_one_batch(trained_run: Path) -> None:
    player = PolicyPlayer.load(trained_run)
    env = gym.make_vec("rlagent/Hex-v0", num_envs=32, size=3, opponent=player, agent_color="random")
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        legal = obs["action_mask"].astype(bool)
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
        obs, *_ = env.step(actions)  # an illegal opponent move would raise inside the env


def test_greedy_is_deterministic_and_temperature_spreads_choices(trained_run: Path) -> None:
    observation = np.zeros((200, 3, 3, 3), np.float32)
    mask = np.ones((200, 10), np.int8)
    mask[:, 9] = 0
    greedy = PolicyPlayer.load(trained_run)(observation, mask)
    assert len(set(greedy.tolist())) == 1
    hot = PolicyPlayer.load(trained_run, greedy=False, temperature=5.0, seed=0)(observation, mask)
    assert len(set(hot.tolist())) > 3 and mask[np.arange(200), hot].all()
    with pytest.raises(ConfigError, match="temperature must be positive"):
        PolicyPlayer.load(trained_run, temperature=0.0)


def test_select_moves_returns_empty_absolute_cells_for_either_player(trained_run: Path) -> None:
    player = PolicyPlayer.load(trained_run)
    boards = np.zeros((4, 3, 3), dtype=np.int8)
    boards[0, 1, 1] = 1  # first player's stone; second to move
    boards[1, 0, 0], boards[1, 2, 2] = 1, 2  # first to move
    boards[2, 0, :] = (1, 2, 1)
    boards[2, 1, 0] = 2
    to_move = np.array([1, 0, 0, 0])
    cells = select_moves(player, boards, to_move)
    assert cells.shape == (4,)
    flat = boards.reshape(4, -1)
    assert np.all(flat[np.arange(4), cells] == 0)
    # One empty cell left, at (1, 2): both players must name exactly that absolute cell, which
    # fails if the mover's-frame answer of the second player is not transposed back.
    last = np.array([[1, 2, 1], [2, 1, 0], [2, 1, 2]], dtype=np.int8)
    assert select_moves(player, np.stack([last, last]), np.array([0, 1])).tolist() == [5, 5]
    with pytest.raises(ConfigError, match="full board"):
        select_moves(player, np.ones((1, 3, 3), np.int8), np.array([0]))
