"""The UCT reference player (envs.hex.mcts): tactics, strength, reproducibility, legality, env protocol."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.batched_random import BatchedRandom
from envs.hex.core import HexCore
from envs.hex.mcts import MCTSPlayer

HEX = "rlagent/Hex-v0"


def board_from_rows(rows: list[str]) -> np.ndarray:
    """'.' empty, 'x' first player's stone (top-bottom), 'o' second player's (left-right)."""
    codes = {".": 0, "x": 1, "o": 2}
    return np.array([[codes[ch] for ch in row.replace(" ", "")] for row in rows], dtype=np.int8)


def mirrored(board: np.ndarray) -> np.ndarray:
    """The same position with the colours exchanged: transpose and swap the stone codes."""
    t = board.T.copy()
    return np.where(t == 1, 2, np.where(t == 2, 1, 0)).astype(np.int8)


def transposed_cell(cell: int, n: int) -> int:
    return (cell % n) * n + cell // n


def play_games(size: int, first, second, games: int, seed: int) -> np.ndarray:
    """Complete games on one batched core; ``None`` plays uniformly random moves. Returns winners."""
    core = HexCore(games, size)
    rng = BatchedRandom(games, seed=seed)
    while not core.done.all():
        live = np.flatnonzero(~core.done)
        turns = [(agent, live[core.to_move[live] == p]) for p, agent in ((0, first), (1, second))]
        for agent, idx in turns:
            if idx.size == 0:
                continue
            if agent is None:
                actions = core.random_actions(rng.uniform(idx), idx)
            else:
                cells = agent.select_cells(core.board[idx], core.to_move[idx])
                actions = core.from_absolute(cells, idx)
            core.play(actions, idx)  # checked: raises on an illegal move
    return core.winner.copy()


# Player 0 (x) to move wins at once at c3 (row 2, col 2) and nowhere else.
WIN = [
    "o . x . .",
    "o . x . .",
    ". . . . .",
    "o . x . .",
    "o . x . .",
]
# Player 0 (x) to move has no win; player 1 (o) wins at (2, 2) unless x takes it.
BLOCK = [
    "x . . . x",
    ". . . . .",
    "o o . o o",
    ". . . . .",
    "x . . . x",
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_takes_an_immediate_win_for_either_colour(seed: int) -> None:
    board = board_from_rows(WIN)
    player = MCTSPlayer(200, seed=seed)
    assert player.select_cells(board[None], np.array([0]))[0] == 2 * 5 + 2
    # The same position for the second player (left-right): transpose and exchange colours.
    assert player.select_cells(mirrored(board)[None], np.array([1]))[0] == transposed_cell(12, 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blocks_the_opponents_immediate_win(seed: int) -> None:
    board = board_from_rows(BLOCK)
    player = MCTSPlayer(200, seed=seed)
    boards = np.stack([board, mirrored(board)])
    cells = player.select_cells(boards, np.array([0, 1]))
    assert cells.tolist() == [12, 12]  # (2, 2) is its own transpose


def test_beats_random_play_with_both_colours() -> None:
    games = 30
    as_first = play_games(5, MCTSPlayer(200, seed=1), None, games, seed=10)
    as_second = play_games(5, None, MCTSPlayer(200, seed=2), games, seed=20)
    wins = int((as_first == 0).sum() + (as_second == 1).sum())
    assert wins / (2 * games) > 0.9, wins


def test_more_simulations_play_stronger() -> None:
    games = 20
    strong_first = play_games(5, MCTSPlayer(400, seed=3), MCTSPlayer(25, seed=4), games, seed=0)
    strong_second = play_games(5, MCTSPlayer(25, seed=5), MCTSPlayer(400, seed=6), games, seed=0)
    wins = int((strong_first == 0).sum() + (strong_second == 1).sum())
    assert wins / (2 * games) > 0.7, wins


def test_same_seed_same_moves_different_seed_different_moves() -> None:
    rng = np.random.default_rng(0)
    boards = np.zeros((16, 7, 7), dtype=np.int8)
    for b in range(4, 16):  # a few open boards with some stones, the rest empty
        cells = rng.permutation(49)[:6]
        boards[b].reshape(-1)[cells[:3]] = 1
        boards[b].reshape(-1)[cells[3:]] = 2
    to_move = np.zeros(16, dtype=np.int8)
    a, b = MCTSPlayer(30, seed=7), MCTSPlayer(30, seed=7)
    for _ in range(2):  # the second call too: the streams advance identically
        assert np.array_equal(a.select_cells(boards, to_move), b.select_cells(boards, to_move))
    c = MCTSPlayer(30, seed=8)
    assert not np.array_equal(MCTSPlayer(30, seed=7).select_cells(boards, to_move), c.select_cells(boards, to_move))


def test_moves_are_always_legal_on_random_positions() -> None:
    rng = np.random.default_rng(1)
    for size in (2, 3, 4, 6, 9):
        k = 40
        boards = np.zeros((k, size, size), dtype=np.int8)
        to_move = np.zeros(k, dtype=np.int8)
        for b in range(k):
            stones = int(rng.integers(0, size * size))  # leaves at least one cell empty
            order = rng.permutation(size * size)[:stones]
            boards[b].reshape(-1)[order[0::2]] = 1
            boards[b].reshape(-1)[order[1::2]] = 2
            to_move[b] = stones % 2
        cells = MCTSPlayer(40, seed=size).select_cells(boards, to_move)
        assert cells.shape == (k,) and cells.dtype == np.int64
        assert np.all((cells >= 0) & (cells < size * size))
        assert np.all(boards.reshape(k, -1)[np.arange(k), cells] == 0)


def test_swap_is_offered_only_where_legal() -> None:
    n = 5
    boards = np.zeros((8, n, n), dtype=np.int8)
    for b in range(8):
        boards[b].reshape(-1)[b * 3] = 1  # one first-player stone; the second player to move
    # Enough simulations that random rollouts see the centre is worth taking over (200 are noisy).
    cells = MCTSPlayer(3000, seed=0).select_cells(boards, np.ones(8, dtype=np.int8), swap_legal=np.ones(8, bool))
    empty = (cells < n * n) & (boards.reshape(8, -1)[np.arange(8), np.minimum(cells, n * n - 1)] == 0)
    assert np.all(empty | (cells == n * n))
    # The centre stone (b = 4: cell 12) is worth swapping on 5x5.
    assert cells[4] == n * n
    without = MCTSPlayer(200, seed=0).select_cells(boards, np.ones(8, dtype=np.int8))
    assert np.all(without < n * n)
    with pytest.raises(ValueError, match="swap"):
        MCTSPlayer(10).select_cells(np.zeros((1, n, n), np.int8), np.ones(1), swap_legal=np.ones(1, bool))


@pytest.mark.parametrize("swap", [False, True])
def test_plays_as_an_env_opponent(swap: bool) -> None:
    env = gym.make_vec(HEX, num_envs=8, size=5, swap=swap, agent_color="random", opponent=MCTSPlayer(50, seed=0))
    obs, _ = env.reset(seed=0)
    rng = BatchedRandom(8, seed=1)
    finished, rewards = 0, []
    for _ in range(200):
        actions = rng.choice_from_mask(obs["action_mask"].astype(bool))
        obs, reward, terminated, _, info = env.step(actions)  # an illegal opponent move raises
        finished += int(terminated.sum())
        rewards.extend(reward[terminated].tolist())
        if finished >= 24:
            break
    assert finished >= 24
    assert not info.get("illegal_action", np.zeros(1, bool)).any()
    # A random learner rarely beats the search.
    assert np.mean(np.array(rewards) < 0) > 0.75


def test_call_uses_the_movers_frame() -> None:
    # Player 1 to move in the absolute frame = the transposed, colour-swapped view for the env.
    core = HexCore(1, 5)
    absolute = mirrored(board_from_rows(WIN))  # second player (o) to move wins at (2, 2)
    core.board[0] = absolute
    obs = np.zeros((1, 3, 5, 5), dtype=np.float32)
    view = absolute.T  # the mover's frame: its own stones are 2 in absolute codes
    obs[0, 0], obs[0, 1] = view == 2, view == 1
    mask = np.zeros((1, 26), dtype=np.int8)
    mask[0, :25] = (view == 0).reshape(-1)
    action = MCTSPlayer(200, seed=0)(obs, mask)
    assert action.tolist() == [12]


def test_call_offers_the_swap_from_the_mask() -> None:
    obs = np.zeros((2, 3, 5, 5), dtype=np.float32)
    obs[:, 1, 2, 2] = 1.0  # the opponent's opening stone in the centre
    obs[:, 2] = 1.0
    mask = np.ones((2, 26), dtype=np.int8)
    mask[:, 12] = 0
    mask[1, 25] = 0  # board 1: the swap is not offered
    actions = MCTSPlayer(3000, seed=0)(obs, mask)
    assert actions[0] == 25 and actions[1] != 25 and mask[1, actions[1]] == 1


def test_rejects_bad_arguments() -> None:
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="simulations"):
            MCTSPlayer(bad)
    with pytest.raises(ValueError, match="exploration"):
        MCTSPlayer(10, exploration=float("nan"))
    with pytest.raises(ValueError, match="empty cell"):
        MCTSPlayer(10).select_cells(np.ones((1, 3, 3), np.int8), np.zeros(1))
    with pytest.raises(ValueError, match="to_move"):
        MCTSPlayer(10).select_cells(np.zeros((2, 3, 3), np.int8), np.array([0, 2]))
