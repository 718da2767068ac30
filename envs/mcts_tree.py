"""The game-agnostic half of :mod:`envs.mcts`: a forest of UCT trees as flat arrays, compiled.

The tree work of MCTS (pick a path by UCB1, add children, count results, propagate proofs) is a
loop per simulation over a few nodes, which Python runs ~100x slower than numba; it touches no
rules, only integers, so it compiles once for every game. Everything that needs the rules (legal
moves, playing, rollouts) stays in :mod:`envs.mcts`, batched through the game's own interface.

Layout: one array per node field, trees side by side (tree ``t`` owns nodes
``[t * capacity, (t + 1) * capacity)``, its root first). A node's children are one contiguous
block (``first``, ``count``). ``status`` is the game's own ``winner`` code once a node is decided
(0 or 1 won, any other code >= 0 a draw), :data:`RUNNING` while open. ``to_move`` is read off the
game when a node is expanded, so no alternation of turns is assumed. ``wins`` counts, for the
player who moved into a node, wins as 1 and draws as 1/2. ``pending`` holds this wave's virtual
visits: paths picked in the same wave see each other's choices as visits without wins (the usual
"virtual loss"), so they spread over different leaves.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RUNNING = -1  # the game's own code for an undecided board
NEW, EXPAND, SOLVED, DROPPED = 0, 1, 2, 3  # what a selected path ends at


@njit(cache=True)
def _undo(paths: np.ndarray, row: int, depth: int, pending: np.ndarray) -> None:
    for d in range(depth + 1):
        pending[paths[row, d]] -= 1


@njit(cache=True)
def select_paths(
    roots: np.ndarray,
    active: np.ndarray,
    per_tree: int,
    exploration: float,
    first: np.ndarray,
    count: np.ndarray,
    visits: np.ndarray,
    pending: np.ndarray,
    wins: np.ndarray,
    status: np.ndarray,
    to_move: np.ndarray,
    paths: np.ndarray,
    depth: np.ndarray,
    kind: np.ndarray,
) -> None:
    """Pick ``per_tree`` root-to-leaf paths in each active tree (row ``t * per_tree + j``).

    A path stops at a decided node (``SOLVED``), at an unvisited node (``NEW``: roll it out) or at a
    visited one without children (``EXPAND``; the root counts as visited). A second path of the
    same wave that would stop at the same open leaf is ``DROPPED`` (its virtual visits undone):
    two rollouts of one unexpanded leaf would add nothing a later wave could not do better.
    Children proven lost for the mover are never entered; a node whose children all are is itself
    marked lost and ends the path as ``SOLVED``.
    """
    for t in range(roots.size):
        for j in range(per_tree):
            row = t * per_tree + j
            if not active[t]:
                kind[row] = DROPPED
                depth[row] = 0
                continue
            node = roots[t]
            d = 0
            paths[row, 0] = node
            pending[node] += 1
            while True:
                if status[node] >= 0:
                    kind[row] = SOLVED
                    break
                if count[node] == 0:
                    if pending[node] > 1:
                        kind[row] = DROPPED
                        _undo(paths, row, d, pending)
                    elif visits[node] > 0 or d == 0:
                        kind[row] = EXPAND
                    else:
                        kind[row] = NEW
                    break
                mover = to_move[node]
                scale = exploration * math.sqrt(math.log(visits[node] + pending[node]))
                best = -1
                best_score = -1.0
                for child in range(first[node], first[node] + count[node]):
                    if status[child] == 1 - mover:
                        continue
                    n = visits[child] + pending[child]
                    if n == 0:
                        best = child  # children are stored in a random order: the first unvisited
                        break
                    score = wins[child] / n + scale / math.sqrt(n)
                    if score > best_score:
                        best_score = score
                        best = child
                if best < 0:
                    status[node] = 1 - mover
                    kind[row] = SOLVED
                    break
                node = best
                d += 1
                paths[row, d] = node
                pending[node] += 1
            depth[row] = d


@njit(cache=True)
def expand(
    leaves: np.ndarray,
    trees: np.ndarray,
    mask: np.ndarray,
    uniforms: np.ndarray,
    outcomes: np.ndarray,
    movers: np.ndarray,
    next_free: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    action: np.ndarray,
    to_move: np.ndarray,
    visits: np.ndarray,
    pending: np.ndarray,
    wins: np.ndarray,
    status: np.ndarray,
) -> np.ndarray:
    """Give each of ``leaves`` one child per legal move (``mask[e]``), in a random order (a
    Fisher-Yates shuffle driven by ``uniforms[e]``: selection takes the first unvisited child, so
    the order is what makes that choice random), and its mover; returns each leaf's first child.
    A child's status is the game's ``outcomes[e, move]``: decided where the move ends the game."""
    out = np.empty(leaves.size, dtype=np.int64)
    for e in range(leaves.size):
        node = leaves[e]
        start = next_free[trees[e]]
        m = 0
        for a in range(mask.shape[1]):
            if mask[e, a]:
                action[start + m] = a
                m += 1
        for a in range(m - 1, 0, -1):
            j = min(int(uniforms[e, a] * (a + 1)), a)
            action[start + a], action[start + j] = action[start + j], action[start + a]
        next_free[trees[e]] = start + m
        first[node] = start
        count[node] = m
        to_move[node] = movers[e]
        for child in range(start, start + m):
            first[child] = -1
            count[child] = 0
            visits[child] = 0
            pending[child] = 0
            wins[child] = 0.0
            status[child] = outcomes[e, action[child]]
        out[e] = start
    return out


@njit(cache=True)
def backup(
    paths: np.ndarray,
    depth: np.ndarray,
    kind: np.ndarray,
    results: np.ndarray,
    per_tree: int,
    done: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    visits: np.ndarray,
    pending: np.ndarray,
    wins: np.ndarray,
    status: np.ndarray,
    to_move: np.ndarray,
) -> None:
    """Count each kept path's result on its nodes, then propagate proofs; count the path in
    ``done`` (per tree; row ``t * per_tree + j`` is tree ``t``'s). The result is ``results[row]``
    (a rollout's ``winner`` code) or, where that is ``RUNNING``, the status of the decided leaf.

    Proofs (MCTS-Solver, as :mod:`envs.hex.mcts` does): a node is won for its mover ``q`` if one
    child is won for ``q``, lost if every child is won for the opponent; a draw proves nothing.
    """
    for row in range(kind.size):
        if kind[row] == DROPPED:
            continue
        done[row // per_tree] += 1
        result = results[row]
        if result == RUNNING:
            result = status[paths[row, depth[row]]]
        for d in range(depth[row] + 1):
            node = paths[row, d]
            pending[node] -= 1
            visits[node] += 1
            if d > 0:
                mover = to_move[paths[row, d - 1]]
                if result == mover:
                    wins[node] += 1.0
                elif result != 1 - mover:
                    wins[node] += 0.5
        for d in range(depth[row], 0, -1):
            child = paths[row, d]
            parent = paths[row, d - 1]
            q = to_move[parent]
            if status[child] == q:
                status[parent] = q
                continue
            if status[child] != 1 - q:
                break
            lost = True
            for sibling in range(first[parent], first[parent] + count[parent]):
                if status[sibling] != 1 - q:
                    lost = False
                    break
            if not lost:
                break
            status[parent] = 1 - q


@njit(cache=True)
def best_children(
    roots: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    visits: np.ndarray,
    wins: np.ndarray,
    status: np.ndarray,
    to_move: np.ndarray,
) -> np.ndarray:
    """Each root's chosen child: a proven win if any, else the most visited child not proven lost
    (ties: more wins), else (all lost) the most visited."""
    out = np.empty(roots.size, dtype=np.int64)
    for t in range(roots.size):
        root = roots[t]
        mover = to_move[root]
        start = first[root]
        stop = start + count[root]
        best = -1
        for child in range(start, stop):
            if status[child] == mover:
                best = child
                break
        if best < 0:
            for avoid_lost in (True, False):
                for child in range(start, stop):
                    if avoid_lost and status[child] == 1 - mover:
                        continue
                    if best < 0 or visits[child] > visits[best] or (visits[child] == visits[best] and wins[child] > wins[best]):
                        best = child
                if best >= 0:
                    break
        out[t] = best
    return out
