"""A fixed-strength Hex reference player: UCT Monte-Carlo tree search with uniformly random rollouts.

The classical baseline Hex programs are compared against: no knowledge beyond the rules.
Each search runs ``simulations`` iterations of

* select: from the root, while the node is expanded, step to the child with the highest UCB1 score
  ``wins / visits + c * sqrt(ln(parent visits) / visits)`` (unvisited children first, in a random
  order fixed when the node was expanded);
* expand: a visited, non-terminal leaf gets one child per legal move, and the first is taken;
* roll out: the remaining empty cells are filled in a random order, alternating colours from the
  player to move, and the winner is read once off the full board (on a full Hex board exactly one
  player connects, so this equals playing uniformly random moves to the end);
* back up: each node on the path counts a win when the player who moved into it won.

Two cheap one-ply checks, as the classical programs have (otherwise plain UCT with
``c = sqrt(2)`` spreads 200 simulations almost evenly over 20 moves and can miss a win in one or a
block): a position where the mover can win at once plays that cell without searching, and each new
tree node is solved when the move into it won or the reply has a win in one (a flood fill plus an
O(n*n) edge-contact scan, about one rollout's cost). Solved results propagate up (MCTS-Solver: a
node is won if one child is won for its mover, lost if all are); proven-lost children are skipped
in selection, and a solved root ends the search early. The chosen move is a proven win if any,
else the most visited move not proven lost (ties: more wins).

Speed (numba, one CPU core, ``python -m envs.hex.mcts``; empty boards, the slowest case;
milliseconds per position, single position / batch of 64 in one call):

=========  ===========  ===========  ===========
board      100 sims     200 sims     400 sims
=========  ===========  ===========  ===========
5x5        0.19 / 0.09  0.29 / 0.19  0.49 / 0.39
7x7        0.26 / 0.16  0.43 / 0.33  0.77 / 0.65
11x11      0.42 / 0.32  0.84 / 0.72  1.6 / 1.5
=========  ===========  ===========  ===========

About 0.1 ms of a single call is Python-side checking; the search itself runs ~1 M simulations/s
on 5x5 and ~270 k/s on 11x11. Positions are searched one after another (no threads).

Frames: :meth:`MCTSPlayer.select_cells` takes boards in the absolute frame (0 empty, 1 first
player's stone, top-bottom; 2 second player's stone, left-right) and returns absolute cells.
:meth:`MCTSPlayer.__call__` is the env :class:`~envs.base.Opponent` protocol; in the mover's frame
the mover always connects top and bottom, so it searches "mover = 1, opponent = 2, 1 to move".

Swap (pie) rule: a root position where the swap is legal (``swap_legal`` in ``select_cells``, the
mask's last entry in ``__call__``) gets the swap as one more root move (action ``n * n``: the
opponent's single stone at ``(r, c)`` becomes the mover's at ``(c, r)``, then the opponent moves).
Deeper in the tree the swap is never considered: a search from an empty board of a swap game
chooses its opening as if the opponent could not swap it (the env's observation does not say
whether the game uses the swap rule until the swap is actually legal). Rollouts never swap.
"""

from __future__ import annotations

import math
import time
from typing import Literal, overload

import numpy as np
from numba import njit

from envs.hex.positions import check_positions, positions_from_observations

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNKNOWN = -2  # terminal status not yet computed
_RUNNING = -1


@njit(cache=True, inline="always")
def _next(rng: np.ndarray) -> np.uint64:
    """SplitMix64 step on ``rng[0]``."""
    z = rng[0] + _GOLDEN
    rng[0] = z
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _below(rng: np.ndarray, m: int) -> int:
    """Uniform integer in ``[0, m)`` for ``1 <= m < 2**31`` (multiply-shift, no modulo bias worth noting)."""
    return int(((_next(rng) >> np.uint64(33)) * np.uint64(m)) >> np.uint64(31))


@njit(cache=True, inline="always")
def _neighbour(r: int, c: int, k: int) -> tuple[int, int]:
    """The k-th (0..5) hex neighbour of (r, c): (r-1,c), (r-1,c+1), (r,c-1), (r,c+1), (r+1,c-1), (r+1,c)."""
    if k == 0:
        return r - 1, c
    if k == 1:
        return r - 1, c + 1
    if k == 2:
        return r, c - 1
    if k == 3:
        return r, c + 1
    if k == 4:
        return r + 1, c - 1
    return r + 1, c


@njit(cache=True)
def _connects(board: np.ndarray, n: int, start: int, player: int, stack: np.ndarray, seen: np.ndarray) -> bool:
    """Does the group of ``player``'s stone at ``start`` touch both of its edges (0: top and bottom,
    1: left and right)? ``seen`` must be all False on entry and is left all False."""
    value = player + 1
    top = False
    bottom = False
    size = 0
    stack[0] = start
    seen[start] = True
    visited = 1
    # ``stack`` doubles as the list of visited cells (positions 0..visited-1), cleared at the end.
    while size < visited:
        cell = stack[size]
        size += 1
        r = cell // n
        c = cell - r * n
        pos = r if player == 0 else c
        if pos == 0:
            top = True
        if pos == n - 1:
            bottom = True
        for k in range(6):
            rr, cc = _neighbour(r, c, k)
            if 0 <= rr < n and 0 <= cc < n:
                other = rr * n + cc
                if not seen[other] and board[other] == value:
                    seen[other] = True
                    stack[visited] = other
                    visited += 1
    for i in range(visited):
        seen[stack[i]] = False
    return top and bottom


@njit(cache=True)
def _full_board_winner(board: np.ndarray, n: int, stack: np.ndarray, seen: np.ndarray) -> int:
    """Winner of a full board: 0 if the first player's stones (1) join top to bottom, else 1."""
    visited = 0
    for c in range(n):
        if board[c] == 1:
            seen[c] = True
            stack[visited] = c
            visited += 1
    head = 0
    won = False
    while head < visited:
        cell = stack[head]
        head += 1
        r = cell // n
        c = cell - r * n
        if r == n - 1:
            won = True
            break
        for k in range(6):
            rr, cc = _neighbour(r, c, k)
            if 0 <= rr < n and 0 <= cc < n:
                other = rr * n + cc
                if not seen[other] and board[other] == 1:
                    seen[other] = True
                    stack[visited] = other
                    visited += 1
    for i in range(visited):
        seen[stack[i]] = False
    return 0 if won else 1


@njit(cache=True)
def _apply(board: np.ndarray, n: int, move: int, player: int) -> None:
    """Play ``move`` for ``player`` on a flat board; ``n * n`` is the swap (the opponent's only stone
    at (r, c) becomes ``player``'s at (c, r))."""
    count = n * n
    if move < count:
        board[move] = player + 1
        return
    opponent_value = 2 - player
    for cell in range(count):
        if board[cell] == opponent_value:
            board[cell] = 0
            r = cell // n
            c = cell - r * n
            board[c * n + r] = player + 1
            return


@njit(cache=True)
def _winning_cell(board: np.ndarray, n: int, player: int, group: np.ndarray, touch: np.ndarray, stack: np.ndarray) -> int:
    """A cell where ``player`` wins at once (the first in index order), or -1.

    Labels ``player``'s groups by flood fill, notes which of its two edges each touches, then asks
    of every empty cell whether its own edge contact and its neighbours' groups span both edges:
    O(n*n), about the cost of one rollout. ``group`` (int32) and ``touch`` (int8) are scratch."""
    count = n * n
    value = player + 1
    for cell in range(count):
        group[cell] = -1
    groups = 0
    for origin in range(count):
        if board[origin] != value or group[origin] >= 0:
            continue
        flags = 0
        group[origin] = groups
        stack[0] = origin
        top = 1
        while top > 0:
            top -= 1
            cell = stack[top]
            r = cell // n
            c = cell - r * n
            pos = r if player == 0 else c
            if pos == 0:
                flags |= 1
            if pos == n - 1:
                flags |= 2
            for k in range(6):
                rr, cc = _neighbour(r, c, k)
                if 0 <= rr < n and 0 <= cc < n:
                    other = rr * n + cc
                    if board[other] == value and group[other] < 0:
                        group[other] = groups
                        stack[top] = other
                        top += 1
        touch[groups] = flags
        groups += 1
    for cell in range(count):
        if board[cell] != 0:
            continue
        r = cell // n
        c = cell - r * n
        pos = r if player == 0 else c
        flags = 0
        if pos == 0:
            flags |= 1
        if pos == n - 1:
            flags |= 2
        for k in range(6):
            rr, cc = _neighbour(r, c, k)
            if 0 <= rr < n and 0 <= cc < n:
                g = group[rr * n + cc]
                if g >= 0:
                    flags |= touch[g]
        if flags == 3:
            return cell
    return -1


@njit(cache=True)
def search(
    boards: np.ndarray,
    to_move: np.ndarray,
    swap_legal: np.ndarray,
    simulations: int,
    exploration: float,
    rng_states: np.ndarray,
    root_visits: np.ndarray,
) -> np.ndarray:
    """UCT from each of ``boards`` (int8 ``(k, n*n)``, absolute codes) with ``to_move[i]`` to move.

    Returns the chosen root move per position (an absolute cell, or ``n * n`` for the swap where
    ``swap_legal[i]``). ``rng_states`` (uint64 ``(k,)``) seeds each position's stream and is
    advanced in place. ``root_visits`` (int32 ``(k, n*n + 1)``, or ``(0, 0)`` to skip) receives the
    visit count of every root move (all zero where the mover had a win in one and took it without
    searching). Every position must have an empty cell.
    """
    k = boards.shape[0]
    count = boards.shape[1]
    n = int(round(math.sqrt(count)))
    out = np.empty(k, dtype=np.int64)
    # Each expansion adds at most (empty cells at the root) + 1 children, one expansion per simulation.
    widest = 0
    for i in range(k):
        free = 0
        for cell in range(count):
            if boards[i, cell] == 0:
                free += 1
        widest = max(widest, free)
    max_nodes = 1 + (simulations + 1) * (widest + 1)
    move = np.empty(max_nodes, dtype=np.int16)
    visits = np.empty(max_nodes, dtype=np.int32)
    wins = np.empty(max_nodes, dtype=np.float64)
    first_child = np.empty(max_nodes, dtype=np.int32)
    num_children = np.empty(max_nodes, dtype=np.int32)
    status = np.empty(max_nodes, dtype=np.int8)
    path = np.empty(count + 3, dtype=np.int32)
    board = np.empty(count, dtype=np.int8)
    stack = np.empty(count, dtype=np.int32)
    seen = np.zeros(count, dtype=np.bool_)
    group = np.empty(count, dtype=np.int32)
    touch = np.empty(count, dtype=np.int8)
    empties = np.empty(count + 1, dtype=np.int32)
    rng = np.empty(1, dtype=np.uint64)
    log_table = np.empty(simulations + 2, dtype=np.float64)
    log_table[0] = 0.0
    for v in range(1, simulations + 2):
        log_table[v] = math.log(v)

    for i in range(k):
        rng[0] = rng_states[i]
        root_player = int(to_move[i])
        if root_visits.shape[0] > 0:
            root_visits[i, :] = 0
        board[:] = boards[i]
        win_now = _winning_cell(board, n, root_player, group, touch, stack)
        if win_now >= 0:
            out[i] = win_now
            continue
        # Root node: the move into it was the opponent's.
        nodes = 1
        move[0] = -1
        visits[0] = 0
        wins[0] = 0.0
        first_child[0] = -1
        num_children[0] = 0
        status[0] = _RUNNING
        for _sim in range(simulations):
            if status[0] >= 0:
                break  # the root is solved: more simulations change nothing
            board[:] = boards[i]
            node = 0
            depth = 0
            path[0] = 0
            player = root_player  # to move at ``node``
            while True:
                if status[node] >= 0:
                    break  # solved position: its winner is known
                if num_children[node] == 0:
                    if visits[node] == 0 and node != 0:
                        break  # a new leaf: roll it out
                    # Expand: one child per legal move, in a random order.
                    m = 0
                    for cell in range(count):
                        if board[cell] == 0:
                            empties[m] = cell
                            m += 1
                    if depth == 0 and swap_legal[i]:
                        empties[m] = count
                        m += 1
                    if m == 0:
                        # A full board the tree did not see decided (the root was already over).
                        status[node] = _full_board_winner(board, n, stack, seen)
                        break
                    for a in range(m - 1, 0, -1):
                        b = _below(rng, a + 1)
                        empties[a], empties[b] = empties[b], empties[a]
                    first_child[node] = nodes
                    num_children[node] = m
                    for a in range(m):
                        child = nodes + a
                        move[child] = empties[a]
                        visits[child] = 0
                        wins[child] = 0.0
                        first_child[child] = -1
                        num_children[child] = 0
                        status[child] = _UNKNOWN
                    nodes += m
                    best = first_child[node]
                else:
                    # UCB1 over the children not proven lost for the mover; unvisited ones first
                    # (their order is already random).
                    start = first_child[node]
                    stop = start + num_children[node]
                    scale = exploration * math.sqrt(log_table[visits[node]])
                    best = -1
                    best_score = -1.0
                    for child in range(start, stop):
                        if status[child] == 1 - player:
                            continue
                        v = visits[child]
                        if v == 0:
                            best = child
                            break
                        score = wins[child] / v + scale / math.sqrt(v)
                        if score > best_score:
                            best_score = score
                            best = child
                    if best < 0:  # every move loses (normally caught when the last was proven)
                        status[node] = 1 - player
                        break
                _apply(board, n, int(move[best]), player)
                if status[best] == _UNKNOWN:
                    # Solve the new node if one ply shows it: the move won, or the reply wins at once.
                    mv = int(move[best])
                    if mv < count and _connects(board, n, mv, player, stack, seen):
                        status[best] = player
                    elif _winning_cell(board, n, 1 - player, group, touch, stack) >= 0:
                        status[best] = 1 - player
                    else:
                        status[best] = _RUNNING
                node = best
                depth += 1
                path[depth] = node
                player = 1 - player
            # Result of the simulation.
            if status[node] >= 0:
                winner = int(status[node])
                # Solver step: a node is won for its mover if one child is, lost if all are.
                for d in range(depth, 0, -1):
                    child, parent = path[d], path[d - 1]
                    q = root_player if (d - 1) % 2 == 0 else 1 - root_player  # to move at parent
                    if status[child] == q:
                        status[parent] = q
                        continue
                    solved = True
                    for sibling in range(first_child[parent], first_child[parent] + num_children[parent]):
                        if status[sibling] != 1 - q:
                            solved = False
                            break
                    if not solved:
                        break
                    status[parent] = 1 - q
            else:
                m = 0
                for cell in range(count):
                    if board[cell] == 0:
                        empties[m] = cell
                        m += 1
                for a in range(m - 1, 0, -1):
                    b = _below(rng, a + 1)
                    empties[a], empties[b] = empties[b], empties[a]
                p = player
                for a in range(m):
                    board[empties[a]] = p + 1
                    p = 1 - p
                winner = _full_board_winner(board, n, stack, seen)
            # Back up: node at depth d was moved into by the player to move at depth d - 1.
            mover = 1 - root_player
            for d in range(depth + 1):
                nd = path[d]
                visits[nd] += 1
                if winner == mover:
                    wins[nd] += 1.0
                mover = 1 - mover
        # A proven win if there is one; else the most visited move not proven lost (ties: more
        # wins); if every move is proven lost, the most visited.
        start = first_child[0]
        stop = start + num_children[0]
        best = -1
        for child in range(start, stop):
            if status[child] == root_player:
                best = child
                break
        if best < 0:
            for avoid_lost in (True, False):
                for child in range(start, stop):
                    if avoid_lost and status[child] == 1 - root_player:
                        continue
                    if best < 0 or visits[child] > visits[best] or (visits[child] == visits[best] and wins[child] > wins[best]):
                        best = child
                if best >= 0:
                    break
        out[i] = move[best]
        if root_visits.shape[0] > 0:
            for child in range(start, stop):
                root_visits[i, move[child]] = visits[child]
        rng_states[i] = rng[0]
    return out


class MCTSPlayer:
    """UCT with random rollouts; a fixed-strength opponent for any board size.

    ``simulations`` iterations per move, UCB1 exploration constant ``exploration``. Reproducible:
    two players built with the same ``seed`` and asked the same questions in the same order answer
    the same. Usable as an env ``opponent`` (``__call__``), or on absolute boards (``select_cells``).
    """

    name: str  # set where a name is given (rlagent.games.players.make_player)

    def __init__(self, simulations: int = 200, exploration: float = 1.4142, seed: int | None = 0) -> None:
        if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) or simulations < 1:
            raise ValueError(f"simulations must be a positive integer, got {simulations!r}")
        if not (isinstance(exploration, (int, float, np.floating)) and math.isfinite(exploration) and exploration >= 0):
            raise ValueError(f"exploration must be a finite number >= 0, got {exploration!r}")
        self.simulations = int(simulations)
        self.exploration = float(exploration)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"MCTSPlayer(simulations={self.simulations}, exploration={self.exploration}, seed={self.seed})"

    @overload
    def select_cells(
        self, boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None, return_visits: Literal[False] = False
    ) -> np.ndarray: ...

    @overload
    def select_cells(
        self, boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None, return_visits: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...

    @overload
    def select_cells(
        self, boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None, *, return_visits: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def select_cells(
        self,
        boards: np.ndarray,
        to_move: np.ndarray,
        swap_legal: np.ndarray | None = None,
        return_visits: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Absolute cells ``r * n + c`` (int64 ``(k,)``) for int8 absolute boards ``(k, n, n)``.

        ``to_move`` is 0 or 1 per board; ``swap_legal`` (optional bool per board) offers the swap,
        returned as ``n * n``. Every board must have an empty cell. With ``return_visits`` also the
        root visit counts, int32 ``(k, n*n + 1)`` (absolute cells, then the swap).
        """
        flat, to_move, swap = check_positions(boards, to_move, swap_legal)
        k, n = flat.shape[0], np.asarray(boards).shape[1]
        if k == 0:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, np.zeros((0, n * n + 1), dtype=np.int32)) if return_visits else empty
        states = self._rng.integers(0, 2**63, size=k, dtype=np.int64).view(np.uint64).copy()
        visits = np.zeros((k, n * n + 1) if return_visits else (0, 0), dtype=np.int32)
        cells = search(flat, to_move.astype(np.int8), swap, self.simulations, self.exploration, states, visits)
        return (cells, visits) if return_visits else cells

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Mover's-frame actions for observations ``(k, 3, n, n)`` (the :class:`~envs.base.Opponent` protocol)."""
        return self.select_cells(*positions_from_observations(observation, action_mask))


def benchmark(
    sizes: tuple[int, ...] = (5, 7, 11),
    simulations: tuple[int, ...] = (100, 200, 400),
    batches: tuple[int, ...] = (1, 64),
    stones: float = 0.0,
) -> list[tuple[int, int, int, float]]:
    """Milliseconds per position of ``select_cells``: ``(size, simulations, batch, ms)`` rows.

    Boards hold ``stones`` (a fraction of the cells, alternating colours at random places; default
    empty boards: the longest rollouts and nothing for the solver to cut short)."""
    rows = []
    rng = np.random.default_rng(0)
    for size in sizes:
        for sims in simulations:
            player = MCTSPlayer(sims, seed=1)
            for batch in batches:
                boards = np.zeros((batch, size, size), dtype=np.int8)
                placed = int(stones * size * size) // 2 * 2
                for b in range(batch):
                    cells = rng.permutation(size * size)[:placed]
                    boards[b].reshape(-1)[cells[0::2]] = 1
                    boards[b].reshape(-1)[cells[1::2]] = 2
                to_move = np.zeros(batch, dtype=np.int8)
                player.select_cells(boards, to_move)  # compile / warm up
                reps = max(3, int(4000 // (batch * sims / 100)))
                t0 = time.perf_counter()
                for _ in range(reps):
                    player.select_cells(boards, to_move)
                ms = (time.perf_counter() - t0) / (reps * batch) * 1e3
                rows.append((size, sims, batch, ms))
    return rows


if __name__ == "__main__":
    for size, sims, batch, ms in benchmark():
        print(f"{size:2d}x{size:<2d} sims={sims:4d} batch={batch:3d}: {ms:.3f} ms/position")
