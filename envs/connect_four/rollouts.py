"""Connect Four's random playouts as one compiled pass (numba): the generic MCTS's hot loop.

Why a fast path: ``mctsN`` spends most of its time playing random games to the end. The base
class's playout is one batched ``play`` per ply, so a Connect Four playout of ~20 plies costs ~20
rounds of a dozen numpy calls whatever the batch size; as the training opponent (``mcts20`` in
``experiments/connect4/vs_mcts.yaml``) that was about a third of a run's time. Compiled, each board
plays its own game on two bitboards and the whole batch costs about what one numpy call did.

This is an optional speed-up a game may add, like Hex's filled-board rollouts, and it is kept out of
``core.py`` so the rules there stay the readable example of a new game. Its meaning is the base
class's :meth:`~envs.base.TurnBasedGame.rollout_winners`: uniformly random legal moves until a line
of four or a full board; ``tests/test_connect_four.py`` checks the two agree in distribution.

Bitboards: one 64-bit integer per player, bit ``7 * column + height`` for a stone ``height`` cells
above the column's floor. Each column has one spare bit on top (7 bits for 6 rows), so shifting by
1 (vertical), 7 (horizontal), 6 and 8 (the diagonals) never carries a line from one column's top
into the next column's bottom.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from envs.base import DRAW, RUNNING

_COLUMN_BITS = 7  # 6 rows and a spare bit that is never set


@njit(cache=True, inline="always")
def _has_four(stones: np.int64) -> bool:
    """Does this player's bitboard hold four in a line (vertical, horizontal, either diagonal)?"""
    for shift in (1, 7, 6, 8):
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@njit(cache=True)
def random_playouts(
    boards: np.ndarray,
    uniforms: np.ndarray,
    board: np.ndarray,
    heights: np.ndarray,
    to_move: np.ndarray,
    winner: np.ndarray,
) -> np.ndarray:
    """The winner code of each of ``boards`` after uniformly random play to the end; the boards are
    not changed. ``uniforms[i, ply]`` picks ply ``ply``'s move of playout ``i`` among the legal
    columns (the ``floor(u * count)``-th, as :meth:`~envs.base.TurnBasedGame.random_actions` does),
    so the result is a function of the uniforms. Finished boards keep their winner."""
    rows, columns = board.shape[1], board.shape[2]
    out = np.empty(boards.size, dtype=np.int64)
    height = np.empty(columns, dtype=np.int64)
    legal = np.empty(columns, dtype=np.int64)
    for i in range(boards.size):
        b = boards[i]
        if winner[b] != RUNNING:
            out[i] = winner[b]
            continue
        stones = np.zeros(2, dtype=np.int64)  # bitboards of the first and second player
        filled = 0
        for c in range(columns):
            height[c] = heights[b, c]
            filled += height[c]
            for h in range(height[c]):
                stone = board[b, rows - 1 - h, c]
                stones[stone - 1] |= np.int64(1) << (_COLUMN_BITS * c + h)
        mover = to_move[b]
        result = DRAW
        ply = 0
        while filled < rows * columns:
            count = 0
            for c in range(columns):
                if height[c] < rows:
                    legal[count] = c
                    count += 1
            pick = min(int(uniforms[i, ply] * count), count - 1)
            c = legal[pick]
            stones[mover] |= np.int64(1) << (_COLUMN_BITS * c + height[c])
            height[c] += 1
            filled += 1
            ply += 1
            if _has_four(stones[mover]):
                result = mover
                break
            mover = 1 - mover
        out[i] = result
    return out
