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


@njit(cache=True)
def _root(parent: np.ndarray, board: int, node: int) -> int:
    """``_find`` without path compression: for questions that must leave the state as it was."""
    while parent[board, node] != node:
        node = parent[board, node]
    return node


@njit(cache=True)
def winning_moves(
    boards: np.ndarray,
    n: int,
    cells: np.ndarray,
    masks: np.ndarray,
    parent: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
) -> np.ndarray:
    """Bool ``(k, n*n + 1)``: which mover's-frame actions would win at once on each of ``boards``.

    An empty cell wins when the mover's groups beside it, with the edges it lies on, include one
    group touching each of the mover's two edges: the union-find already knows each group's root
    and which edge nodes it joined, so no stone is placed. (The swap never wins: it leaves one
    stone, and a board is at least 2x2.)"""
    count = n * n
    out = np.zeros((boards.size, count + 1), dtype=np.bool_)
    for i in range(boards.size):
        b = boards[i]
        if winner[b] >= 0:
            continue
        player = to_move[b]
        first = _root(parent, b, count + (TOP if player == 0 else LEFT))
        second = _root(parent, b, count + (BOTTOM if player == 0 else RIGHT))
        for action in range(count):
            if not masks[b, player, action]:
                continue
            row, col = action // n, action % n
            r, c = (row, col) if player == 0 else (col, row)
            position = r if player == 0 else c
            reach_first = position == 0
            reach_second = position == n - 1
            for dr, dc in _NEIGHBOURS:
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n and cells[b, rr * n + cc] == player + 1:
                    root = _root(parent, b, rr * n + cc)
                    reach_first |= root == first
                    reach_second |= root == second
            out[i, action] = reach_first and reach_second
    return out


@njit(cache=True)
def fill_winners(
    boards: np.ndarray,
    uniforms: np.ndarray,
    n: int,
    cells: np.ndarray,
    empty: np.ndarray,
    num_empty: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
) -> np.ndarray:
    """The winner of each of ``boards`` after uniformly random play to the end, sampled by filling
    its empty cells in a random order (``uniforms[i, :]`` drives a Fisher-Yates shuffle), colours
    alternating from the mover, and reading the full board once; the boards are not changed.

    Why this is the same distribution: random play places the remaining stones in a uniformly
    random order, alternating colours; a connection, once made, stays made, and a full board has
    exactly one, so playing on past the win changes no winner. Finished boards keep their winner;
    a pending swap is not handled here (the caller plays that move first)."""
    count = n * n
    out = np.empty(boards.size, dtype=np.int64)
    board = np.empty(count, dtype=np.int8)
    order = np.empty(count, dtype=np.int16)
    reached = np.zeros(count, dtype=np.bool_)
    stack = np.empty(count, dtype=np.int32)
    for i in range(boards.size):
        b = boards[i]
        if winner[b] >= 0:
            out[i] = winner[b]
            continue
        board[:] = cells[b]
        free = num_empty[b]
        order[:free] = empty[b, :free]
        for a in range(free - 1, 0, -1):
            j = min(int(uniforms[i, a] * (a + 1)), a)
            order[a], order[j] = order[j], order[a]
        stone = to_move[b] + 1
        for a in range(free):
            board[order[a]] = stone
            stone = 3 - stone
        # Does the first player (stones 1) join top to bottom? On a full board, else the second wins.
        top = 0
        for c in range(n):
            if board[c] == 1:
                reached[c] = True
                stack[top] = c
                top += 1
        won = False
        while top > 0 and not won:
            top -= 1
            cell = stack[top]
            r, c = cell // n, cell % n
            if r == n - 1:
                won = True
            for dr, dc in _NEIGHBOURS:
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n and board[rr * n + cc] == 1 and not reached[rr * n + cc]:
                    reached[rr * n + cc] = True
                    stack[top] = rr * n + cc
                    top += 1
        reached[:] = False
        out[i] = 0 if won else 1
    return out
