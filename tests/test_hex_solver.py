"""The exact Hex solver against a naive minimax (tests/hex_brute_force.py) and Hex's known results."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hex_brute_force import connected, mover_wins, winning_moves

from envs.hex.solver import HexSolver, SolverLimit


def reachable(n: int) -> list[tuple[tuple[int, ...], int]]:
    """Every position of an n x n game from the empty board (first player 0 moves first), unfinished."""
    out, frontier, seen = [], [(0,) * (n * n)], set()
    while frontier:
        cells = frontier.pop()
        stones = sum(c != 0 for c in cells)
        mover = stones % 2
        if cells in seen or connected(cells, n, 0) or connected(cells, n, 1):
            continue
        seen.add(cells)
        out.append((cells, mover))
        frontier += [cells[:i] + (mover + 1,) + cells[i + 1 :] for i, c in enumerate(cells) if c == 0]
    return out


def random_position(n: int, stones: int, rng: np.random.Generator) -> tuple[int, ...]:
    while True:
        cells = np.zeros(n * n, dtype=np.int8)
        order = rng.permutation(n * n)[:stones]
        cells[order[0::2]], cells[order[1::2]] = 1, 2
        cells = tuple(int(c) for c in cells)
        if not connected(cells, n, 0) and not connected(cells, n, 1):
            return cells


def as_board(cells: tuple[int, ...], n: int) -> np.ndarray:
    return np.asarray(cells, dtype=np.int8).reshape(n, n)


def test_every_3x3_position_matches_minimax_for_either_mover():
    solver = HexSolver(3)
    positions = reachable(3)
    assert len(positions) > 1000
    for cells, mover in positions:
        for to_move in (mover, 1 - mover):  # also the side that would not be to move: a pass
            board = as_board(cells, 3)
            assert solver.mover_wins(board, to_move) == mover_wins(cells, 3, to_move), (cells, to_move)
        assert list(solver.winning_moves(as_board(cells, 3), mover)) == winning_moves(cells, 3, mover), cells


@pytest.mark.parametrize("stones", [5, 6, 7, 8, 10])
def test_random_4x4_positions_match_minimax(stones):
    rng = np.random.default_rng(stones)
    solver = HexSolver(4, table_bits=12)  # a small table: entries get overwritten and must stay sound
    for _ in range(8):
        cells = random_position(4, stones, rng)
        mover = stones % 2
        assert list(solver.winning_moves(as_board(cells, 4), mover)) == winning_moves(cells, 4, mover), cells


def test_carriers_hold_when_every_other_cell_goes_to_the_loser():
    """A carrier claims the winner needs no other empty cell: hand them all to the loser and the
    result must stand (checked by minimax). This is what makes must-play pruning sound."""
    rng = np.random.default_rng(3)
    solver = HexSolver(4)
    checked = 0
    for stones in (4, 5, 6, 7):
        for _ in range(6):
            cells = random_position(4, stones, rng)
            mover = stones % 2
            board = as_board(cells, 4)
            wins = solver.mover_wins(board, mover)
            carrier = solver.carrier(board, mover).reshape(-1)
            loser = (1 - mover) if wins else mover
            filled = tuple(loser + 1 if c == 0 and not carrier[i] else c for i, c in enumerate(cells))
            if connected(filled, 4, 1 - mover if wins else mover) or connected(filled, 4, mover if wins else 1 - mover):
                continue  # the fill itself ended the game: nothing to play
            assert mover_wins(filled, 4, mover) == wins, (cells, filled)
            checked += 1
    assert checked >= 15


def test_first_player_wins_small_boards_with_the_known_openings():
    """On n x n the first player wins (strategy stealing); the winning openings of 2x2-4x4 are the
    published ones (the 4x4 set is also checked by full minimax in benchmarks/hex_solver.py)."""
    empty = lambda n: np.zeros((n, n), dtype=np.int8)  # noqa: E731
    assert list(HexSolver(2).winning_moves(empty(2), 0)) == [1, 2]  # the short diagonal
    assert list(HexSolver(3).winning_moves(empty(3), 0)) == [2, 3, 4, 5, 6]
    assert list(HexSolver(4).winning_moves(empty(4), 0)) == [3, 6, 9, 12]  # exactly the short diagonal
    assert HexSolver(1).winning_moves(empty(1), 0).tolist() == [0]


def test_5x5_centre_opening_wins_and_acute_corner_loses():
    solver = HexSolver(5)
    board = np.zeros((5, 5), dtype=np.int8)
    board[2, 2] = 1
    assert not solver.mover_wins(board, 1)  # after the centre opening the second player loses
    board[:] = 0
    board[0, 0] = 1
    assert solver.mover_wins(board, 1)  # a1 (acute corner) loses for the first player


def test_bad_input_and_node_limit():
    solver = HexSolver(3)
    with pytest.raises(ValueError, match="expected a 3x3 board"):
        solver.mover_wins(np.zeros((4, 4), dtype=np.int8), 0)
    with pytest.raises(ValueError, match="must be 0"):
        solver.mover_wins(np.full((3, 3), 3, dtype=np.int8), 0)
    with pytest.raises(ValueError, match="to_move must be 0 or 1"):
        solver.mover_wins(np.zeros((3, 3), dtype=np.int8), 2)
    over = np.zeros((3, 3), dtype=np.int8)
    over[:, 1] = 1
    with pytest.raises(ValueError, match="game is over: player 0"):
        solver.mover_wins(over, 1)
    with pytest.raises(ValueError, match="from 1x1 to 8x8"):
        HexSolver(9)
    with pytest.raises(SolverLimit):
        HexSolver(5, node_limit=10).mover_wins(np.zeros((5, 5), dtype=np.int8), 0)


def test_positions_are_symmetric_under_the_half_turn():
    rng = np.random.default_rng(5)
    solver = HexSolver(5)
    for stones in itertools.chain(range(6, 12), range(6, 12)):
        cells = random_position(5, stones, rng)
        board = as_board(cells, 5)
        moves = solver.winning_moves(board, stones % 2)
        turned = HexSolver(5).winning_moves(board[::-1, ::-1].copy(), stones % 2)
        assert sorted(24 - moves) == sorted(turned)


def test_virtual_connections_hold_against_any_defence():
    """A claimed virtual connection must win with the opponent to move, even with every empty cell
    outside its carrier given to the opponent (each bridge's pair is answered on its own, so the
    pairs must not share a cell)."""
    rng = np.random.default_rng(11)
    solver = HexSolver(4)
    claims = 0
    for _ in range(400):
        stones = int(rng.integers(2, 9))
        cells = random_position(4, stones, rng)
        board = as_board(cells, 4)
        for player in (0, 1):
            carrier = solver.virtual_connection(board, player)
            if carrier is None or connected(cells, 4, player):
                continue
            filled = tuple((2 - player) if c == 0 and not carrier.reshape(-1)[i] else c for i, c in enumerate(cells))
            if connected(filled, 4, 1 - player):
                raise AssertionError(f"{cells}: the opponent connects through cells outside the carrier")
            assert not mover_wins(filled, 4, 1 - player), (cells, player)
            claims += 1
    assert claims > 50


def test_bridges_sharing_a_cell_are_no_connection():
    """On this 5x5 board X's only chains to the bottom use two bridges that share a cell: one
    intrusion there cuts both, so there is no virtual connection (found by comparing against a
    version that let the pairs overlap; O wins against that claim)."""
    cells = (0, 0, 0, 2, 2, 1, 1, 0, 1, 0, 2, 1, 0, 0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 2, 0)
    board = as_board(cells, 5)
    carrier = HexSolver(5).virtual_connection(board, 0)
    if carrier is not None:  # a claim would have to survive O's best defence outside its carrier
        filled = tuple(2 if c == 0 and not carrier.reshape(-1)[i] else c for i, c in enumerate(cells))
        assert not connected(filled, 5, 1) and not mover_wins(filled, 5, 1)
