"""Checking Hex positions handed in from outside an env (absolute boards and who is to move), for
the searches that take them: one set of rules and messages for the rollout MCTS and the PUCT search."""

from __future__ import annotations

import numpy as np


def check_positions(boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat int8 boards ``(k, n*n)``, int8 movers ``(k,)`` and bool swap flags ``(k,)`` for int8
    absolute boards ``(k, n, n)`` (0 empty, 1 first player, 2 second); a one-line ``ValueError`` for
    a bad shape, code or mover, a board with no empty cell, or a swap offered where it is not legal
    (it needs exactly one stone on the board, the opponent's)."""
    boards = np.asarray(boards)
    if boards.ndim != 3 or boards.shape[1] != boards.shape[2]:
        raise ValueError(f"expected boards of shape (k, n, n), got {boards.shape}")
    k, n = boards.shape[0], boards.shape[1]
    to_move = np.asarray(to_move).reshape(-1)
    if to_move.size != k or not np.isin(to_move, (0, 1)).all():
        raise ValueError(f"to_move must hold 0 or 1 for each of the {k} boards, got {to_move!r}")
    flat = np.ascontiguousarray(boards.reshape(k, n * n), dtype=np.int8)
    if not np.isin(flat, (0, 1, 2)).all():
        raise ValueError("board cells must be 0 (empty), 1 (first player) or 2 (second player)")
    if k and not (flat == 0).any(axis=1).all():
        raise ValueError("every board needs an empty cell to move on")
    swap = np.zeros(k, dtype=np.bool_)
    if swap_legal is not None:
        swap = np.broadcast_to(np.asarray(swap_legal, dtype=np.bool_).reshape(-1), (k,)).copy()
        stones = (flat != 0).sum(axis=1)
        theirs = (flat == (2 - to_move)[:, None]).sum(axis=1)
        if (swap & ((stones != 1) | (theirs != 1))).any():
            raise ValueError("the swap is only legal with one stone on the board, the opponent's")
    return flat, to_move.astype(np.int8), swap


def positions_from_observations(observation: np.ndarray, action_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Boards ``(k, n, n)``, movers (all 0) and swap flags for mover's-frame observations ``(k, 3, n, n)``:
    in its own frame the mover connects top and bottom, so it is "player 0" with stones coded 1 and
    a search's answers are already in the mover's frame. A one-line ``ValueError`` for a bad shape."""
    observation = np.asarray(observation)
    if observation.ndim != 4 or observation.shape[1] < 2 or observation.shape[2] != observation.shape[3]:
        raise ValueError(f"expected observations of shape (k, 3, n, n), got {observation.shape}")
    k, n = observation.shape[0], observation.shape[2]
    boards = (observation[:, 0] > 0.5).astype(np.int8) + 2 * (observation[:, 1] > 0.5).astype(np.int8)
    mask = np.asarray(action_mask).reshape(k, -1)
    swap = mask[:, n * n] != 0 if mask.shape[1] > n * n else None
    return boards, np.zeros(k, dtype=np.int8), swap
