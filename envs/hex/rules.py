"""Hex's move rules as compiled loops over the listed boards (numba), on :class:`HexCore`'s arrays.

Why compiled rather than numpy-vectorized: whether a stone wins depends on a path through the
board, which vectorizes badly, and at small batches numpy's per-call overhead, not the work, sets
the cost. ``benchmarks/hex_win_detection.py`` measures the numpy alternatives on 11x11: the best,
array union-find, is ~2.4x slower than these loops at batch 1024 and ~4x at batch 1; a bitboard
flood fill (~13 whole-batch rounds per move) ~10x, a dense flood ~16x. Staying in numpy would also
have needed a second, scalar implementation of the rules for single games (PettingZoo, one env).
The state still lives in numpy arrays held by ``HexCore``; these functions only update them.

Win detection is union-find with path compression over the cells plus four virtual nodes (top,
bottom, left, right edges), one forest per board.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TOP, BOTTOM, LEFT, RIGHT = 0, 1, 2, 3  # virtual nodes sit at n*n + these
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


@njit(cache=True)
def _find(parent: np.ndarray, board: int, node: int) -> int:
    root = node
    while parent[board, root] != root:
        root = parent[board, root]
    while parent[board, node] != root:
        parent[board, node], node = root, parent[board, node]
    return root


@njit(cache=True)
def _union(parent: np.ndarray, board: int, a: int, b: int) -> None:
    """Link the larger root under the smaller. Path compression alone keeps these trees shallow;
    union by size measured ~12% slower here (one more array to read and write per union)."""
    a, b = _find(parent, board, a), _find(parent, board, b)
    if a != b:
        parent[board, max(a, b)] = min(a, b)


@njit(cache=True)
def reset_boards(
    boards: np.ndarray,
    cells: np.ndarray,
    views: np.ndarray,
    masks: np.ndarray,
    empty: np.ndarray,
    slot: np.ndarray,
    num_empty: np.ndarray,
    parent: np.ndarray,
) -> None:
    """Empty ``boards``: no stones, every cell legal, no swap offered, every node its own root."""
    count = cells.shape[1]
    for i in range(boards.size):
        b = boards[i]
        cells[b, :] = 0
        views[b] = 0.0
        masks[b, :, :count] = True
        masks[b, :, count] = False
        for c in range(count):
            empty[b, c] = c
            slot[b, c] = c
        num_empty[b] = count
        for node in range(count + 4):
            parent[b, node] = node


@njit(cache=True)
def _place(
    b: int,
    action: int,
    n: int,
    swap: bool,
    cells: np.ndarray,
    views: np.ndarray,
    masks: np.ndarray,
    empty: np.ndarray,
    slot: np.ndarray,
    num_empty: np.ndarray,
    parent: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
    num_moves: np.ndarray,
) -> None:
    count = n * n
    player = to_move[b]
    other = 1 - player
    row, col = action // n, action % n  # in the mover's frame
    if player == 0:
        r, c = row, col
    else:
        r, c = col, row
    cell = r * n + c  # absolute
    cells[b, cell] = player + 1
    # The stone is at (row, col) in the mover's view and at (col, row) in the other player's.
    views[b, player, 0, row, col] = 1.0
    views[b, other, 1, col, row] = 1.0
    masks[b, player, action] = False
    masks[b, other, col * n + row] = False
    if swap and num_moves[b] <= 1:
        offered = num_moves[b] == 0  # the swap answers the first move and nothing later
        views[b, 1, 2] = 1.0 if offered else 0.0
        masks[b, 1, count] = offered

    hole, last = slot[b, cell], num_empty[b] - 1
    moved = empty[b, last]
    empty[b, hole] = moved
    slot[b, moved] = hole
    num_empty[b] = last

    for dr, dc in _NEIGHBOURS:
        rr, cc = r + dr, c + dc
        if 0 <= rr < n and 0 <= cc < n and cells[b, rr * n + cc] == player + 1:
            _union(parent, b, cell, rr * n + cc)
    if player == 0:
        first, second, position = count + TOP, count + BOTTOM, r
    else:
        first, second, position = count + LEFT, count + RIGHT, c
    if position == 0:
        _union(parent, b, cell, first)
    if position == n - 1:
        _union(parent, b, cell, second)
    if _find(parent, b, first) == _find(parent, b, second):
        winner[b] = player
        masks[b] = False
    to_move[b] = other


@njit(cache=True)
def play(
    actions: np.ndarray,
    boards: np.ndarray,
    n: int,
    swap: bool,
    cells: np.ndarray,
    views: np.ndarray,
    masks: np.ndarray,
    empty: np.ndarray,
    slot: np.ndarray,
    num_empty: np.ndarray,
    parent: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
    num_moves: np.ndarray,
) -> None:
    """Apply legal mover's-frame ``actions`` on running ``boards`` (checked by the caller)."""
    count = n * n
    for i in range(boards.size):
        b, action = boards[i], actions[i]
        if action == count:
            # The swap: player 1 takes over the only stone, mirrored. In player 1's frame the
            # mirrored stone sits at the original stone's index, so it is a reset plus that move.
            first_stone = 0
            for c in range(count):
                if cells[b, c] == 1:
                    first_stone = c
            single = np.full(1, b)
            reset_boards(single, cells, views, masks, empty, slot, num_empty, parent)
            to_move[b] = 1
            action = first_stone
        _place(b, action, n, swap, cells, views, masks, empty, slot, num_empty, parent, to_move, winner, num_moves)


@njit(cache=True)
def random_actions(
    uniforms: np.ndarray,
    boards: np.ndarray,
    n: int,
    swap: bool,
    empty: np.ndarray,
    num_empty: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
    num_moves: np.ndarray,
) -> np.ndarray:
    """A uniformly random legal mover's-frame action per board, from one uniform number each."""
    count = n * n
    out = np.empty(boards.size, dtype=np.int64)
    for i in range(boards.size):
        b = boards[i]
        free = num_empty[b]
        choices = free + (1 if swap and num_moves[b] == 1 and winner[b] < 0 else 0)
        pick = min(int(uniforms[i] * choices), choices - 1)
        if pick == free:
            out[i] = count
            continue
        cell = empty[b, pick]
        if to_move[b] == 1:
            cell = (cell % n) * n + cell // n
        out[i] = cell
    return out


@njit(cache=True)
def is_legal(actions: np.ndarray, boards: np.ndarray, masks: np.ndarray, to_move: np.ndarray) -> np.ndarray:
    """Per board: is ``actions[i]`` (mover's frame) legal now; out-of-range actions are not."""
    out = np.zeros(boards.size, dtype=np.bool_)
    width = masks.shape[2]
    for i in range(boards.size):
        b, action = boards[i], actions[i]
        out[i] = 0 <= action < width and masks[b, to_move[b], action]
    return out
