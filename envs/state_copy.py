"""Copying board rows between state arrays, compiled: the inner step of
:meth:`envs.base.TurnBasedGame.copy_boards`, which a tree search calls on every wave.

Why not numpy's ``mine[dst] = theirs[src]``: for rows of a few dozen to a few hundred bytes (a
Hex board's union-find, its empty-cell list) fancy indexing costs ~80 ns a row per array, a gather
into a temporary and a scatter out of it; a plain loop over the rows' bytes is ~3x faster over a
whole game state, which made copying the largest part of the generic search's replay.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _copy_byte_rows(dst: np.ndarray, src: np.ndarray, dst_rows: np.ndarray, src_rows: np.ndarray) -> None:
    n_dst, n_src, width = dst.shape[0], src.shape[0], dst.shape[1]
    for i in range(dst_rows.size):
        d, s = dst_rows[i], src_rows[i]
        d += n_dst if d < 0 else 0
        s += n_src if s < 0 else 0
        if not (0 <= d < n_dst and 0 <= s < n_src):
            raise IndexError("board index out of range")
        for j in range(width):
            dst[d, j] = src[s, j]


# Below this many rows numpy's per-call cost (~1 us an array) beats the compiled loop's (~10 us:
# the byte views and the dispatch), so a search of one position keeps numpy's copy.
_FEW_ROWS = 32


def copy_rows(dst: np.ndarray, src: np.ndarray, dst_rows: np.ndarray, src_rows: np.ndarray) -> None:
    """``dst[dst_rows[i]] = src[src_rows[i]]`` for each ``i``, for arrays of the same per-row shape
    and dtype (indices as numpy takes them, negatives from the end; out of range raises
    ``IndexError``). Few rows, arrays that are not C-contiguous (which cannot be read as rows of
    bytes), and a copy within one array (where numpy's gather-then-scatter makes overlapping
    index sets safe) are copied by numpy."""
    if (
        dst_rows.size < _FEW_ROWS
        or dst is src
        or not (dst.flags.c_contiguous and src.flags.c_contiguous)
        or dst.shape[1:] != src.shape[1:]
        or dst.dtype != src.dtype
    ):
        dst[dst_rows] = src[src_rows]
        return
    _copy_byte_rows(
        dst.reshape(dst.shape[0], -1).view(np.uint8),
        src.reshape(src.shape[0], -1).view(np.uint8),
        np.asarray(dst_rows, dtype=np.int64),
        np.asarray(src_rows, dtype=np.int64),
    )
