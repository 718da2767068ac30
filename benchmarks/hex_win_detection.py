"""How fast can a batch of Hex boards tell, move by move, that a game was just won?

The issue behind ``envs/hex`` asked for win detection with no Python loop over the batch per move
("incremental union-find on arrays, bitboards or array flood fill: measure which is fastest"). This
script measures exactly that: it implements each candidate as a small detector with one API, plays
the same random games through all of them, checks that they agree, and times them.

Detectors (each places one stone on every board of the batch and returns which boards were just won):

``core.play``
    :meth:`HexCore.play` itself, i.e. what an environment pays per move: input validation, the board,
    both players' observation planes and masks, the empty-cell list, and win detection. Not a pure
    detector, so it is printed for reference and left out of "fastest".
``core rules``
    Only the win detection of the core's compiled move loop (``envs.hex.rules``: numba union-find with
    union by size and path compression, four virtual edge nodes), called on this script's own arrays
    through the core's own ``_union``/``_find``. Left out, with the reason printed, if the core has
    no such module.
``np union-find``
    Incremental union-find on numpy arrays, no loop over the batch: a parent array ``(B, n*n + 5)``
    (virtual edge nodes top, bottom, left, right at 0..3, then the cells, then a sentinel nobody owns)
    holding flat indices, and a static neighbour table ``(6, 2 * n*n)`` whose off-board entries point
    at the mover's edge node or the sentinel. The roots of the new stones' own neighbours on all boards
    are found at once by pointer jumping with path halving (the loop runs over tree depth: 3-4 rounds
    per move at batch 1024 in random games, the last one only confirming); the union links every root
    to the smallest index, so an edge node is always the root of its group and a win is one gather:
    is the second edge node's parent the first?
``np bitboards``
    The incremental edge-set flood fill on row bitboards that ``HexCore`` used before it moved to
    compiled loops (git 5f11932, ``_touches``/``_join_edges``, copied here unchanged): per player and
    edge, the stones joined to that edge, grown from the new stone through the player's other stones
    by 6-neighbour shifts, on the boards where the new stone touches the set.
``dense flood``
    The same incremental flood on dense boolean boards ``(B, n+2, n+2)`` (one padding cell each side)
    by dilation with six slices.

The moves are random legal games precomputed with a fixed seed as cell permutations ``(games, n*n)``,
in the absolute frame and in the mover's frame (player 1 sees the board transposed), so generating
them costs nothing while timing. A board plays its permutation until the detector reports the win,
then is reset and takes the next game, so the batch stays full. Before timing, every detector must
report, for every game it finished, the same winning move as a plain per-game Python union-find
(asserted). Timing: moves per second for sizes 5, 7, 11 and batches 1, 64, 1024, best of 3 windows
after a warm-up (``time.perf_counter``; the detectors take turns, so a change in machine load hits
them alike). The benchmark's own loop (gathering the next cells, resetting finished boards) is in
every figure; ``driver`` is that loop alone with wins read from the reference, i.e. the ceiling.
Nothing about timings is asserted. Run: ``python benchmarks/hex_win_detection.py`` (under a minute).

What it showed on a 2-core AMD EPYC VM (numpy 2.4, numba 0.68): the compiled union-find is the
fastest detector at every size and batch (~4x the best numpy method at batch 1, ~1.6-1.8x at batch
1024). Among numpy methods, union-find wins everywhere and by a wide margin: at 11x11, batch 1024,
~5.7M moves/s against ~1.2-1.5M for the bitboard flood and ~0.8-1.2M for the dense flood, because
its loop runs over tree depth (3-4 rounds) while a flood runs over path length (12-27 rounds at
11x11 when 1024 boards flood at once). The dense flood beats the bitboards at batch 1, ties at 64
and loses at 1024.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from envs.base import RUNNING
from envs.hex.core import HexCore

try:  # the core's compiled rules, if this version of the core has them
    from numba import njit

    from envs.hex import rules as _rules

    _rules_find, _rules_union = _rules._find, _rules._union
except (ImportError, AttributeError):
    njit = None

SEED = 20240611
SIZES = (5, 7, 11)
BATCHES = (1, 64, 1024)
STEPS = {1: 4000, 64: 800, 1024: 200}  # batch steps per timed window
REPEATS = 3
GAMES = 2048  # precomputed games per size; boards cycle through them
# Neighbours of (r, c): (r-1, c), (r-1, c+1), (r, c-1), (r, c+1), (r+1, c-1), (r+1, c).
DELTAS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


# --- detectors: reset(boards); place(cells, player) -> bool (B,), "this move won" -------------------
class CorePlay:
    """The whole :meth:`HexCore.play`; cells in the mover's frame, as the core takes them."""

    name = "core.play"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.core = HexCore(batch, n)

    def reset(self, boards: np.ndarray) -> None:
        self.core.reset(boards)

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        self.core.play(cells)
        return self.core.winner != RUNNING


if njit is not None:

    @njit
    def _rules_detect(cells, player, board, parent, n, won):
        """The detection lines of ``rules._place``, on the core's own ``_union``/``_find``."""
        count = n * n
        for b in range(cells.size):
            cell, p = cells[b], player[b]
            r, c = cell // n, cell % n
            board[b, cell] = p + 1
            for dr, dc in ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n and board[b, rr * n + cc] == p + 1:
                    _rules_union(parent, b, cell, rr * n + cc)
            first, second, position = (count, count + 1, r) if p == 0 else (count + 2, count + 3, c)
            if position == 0:
                _rules_union(parent, b, cell, first)
            if position == n - 1:
                _rules_union(parent, b, cell, second)
            won[b] = _rules_find(parent, b, first) == _rules_find(parent, b, second)


class CoreRules:
    """Just the core's compiled union-find detection (``envs.hex.rules``), on this object's arrays."""

    name = "core rules"
    frame = "absolute"

    def __init__(self, batch: int, n: int) -> None:
        if njit is None:
            raise RuntimeError("this core has no envs.hex.rules union-find")
        self.size = n
        self.board = np.zeros((batch, n * n), dtype=np.int8)
        self.parent = np.zeros((batch, n * n + 4), dtype=np.int16)
        self.won = np.zeros(batch, dtype=bool)

    def reset(self, boards: np.ndarray) -> None:
        self.board[boards] = 0
        self.parent[boards] = np.arange(self.parent.shape[1])

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        _rules_detect(cells, player, self.board, self.parent, self.size, self.won)
        return self.won


class NumpyUnionFind:
    """Incremental union-find over all boards at once, in numpy (absolute frame).

    Node ``0..3`` are the edges top, bottom (player 0), left, right (player 1); cell ``i`` is node
    ``4 + i``; node ``4 + n*n`` is a sentinel nobody owns. ``parent`` is flat ``(B * W,)`` and holds
    flat indices, so a find step is one 1-D gather with no per-board offsets. A union links every root
    involved straight to the smallest index, so each root is its group's minimum: the edge nodes stay
    roots and the mover has just won when its second edge node's parent is its first. Trees stay
    shallow because a union adds at most one level, every find halves the paths it walks, and the
    new stone points at its root directly; random games need 3-4 find rounds per move at batch 1024
    (the last only confirms every query is a root). Queries are laid out ``(6, B)``, so per-board
    reductions run across six rows instead of along a short last axis (8x cheaper at B=1024). From
    batch 256 on, only the mover's own neighbours are looked up (compacted with ``flatnonzero``),
    ~1.4x faster at batch 1024; below that the extra calls cost more than the smaller gathers save.
    """

    name = "np union-find"
    frame = "absolute"
    compact_from = 256

    def __init__(self, batch: int, n: int) -> None:
        self.cells = cells = n * n
        self.width = w = cells + 5
        self.base = np.arange(batch, dtype=np.int64) * w
        self.fresh = (self.base[:, None] + np.arange(w)).ravel()
        self.parent = self.fresh.copy()
        self.owner = np.full((batch, w), -1, dtype=np.int8)  # -1 empty or nobody, else the player
        self.owner[:, 0:2] = 0
        self.owner[:, 2:4] = 1
        self.owner_flat = self.owner.reshape(-1)
        self.compact = batch >= self.compact_from
        sentinel = cells + 4
        table = np.empty((6, 2 * cells), dtype=np.int64)  # [neighbour, player * n*n + cell]
        for r in range(n):
            for c in range(n):
                for k, (dr, dc) in enumerate(DELTAS):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < n and 0 <= cc < n:
                        table[k, [r * n + c, cells + r * n + c]] = 4 + rr * n + cc
                    else:
                        table[k, r * n + c] = 0 if rr < 0 else 1 if rr >= n else sentinel
                        table[k, cells + r * n + c] = 2 if cc < 0 else 3 if cc >= n else sentinel
        self.table = table

    def reset(self, boards: np.ndarray) -> None:
        w = self.width
        self.parent.reshape(-1, w)[boards] = self.fresh.reshape(-1, w)[boards]
        self.owner[boards, 4 : w - 1] = -1

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        parent, base = self.parent, self.base
        x = base + 4 + cells
        self.owner_flat[x] = player
        query = self.table[:, player * self.cells + cells] + base  # (6, B) flat node indices
        if self.compact:
            pick = np.flatnonzero(self.owner_flat[query] == player)
            q = query.ravel()[pick]
        else:  # a neighbour that is not ours asks about the new stone instead (its own root)
            q = query = np.where(self.owner_flat[query] == player, query, x)
        while True:  # every root at once, halving paths: loops over tree depth only
            up = parent[q]
            if (up == q).all():
                break
            grand = parent[up]
            parent[q] = grand
            q = grand
        if self.compact:
            roots = np.broadcast_to(x, query.shape).copy()
            roots.ravel()[pick] = q
            root = roots.min(axis=0)  # includes x
        else:
            roots, root = q, np.minimum(q.min(axis=0), x)
            parent[x] = root
        parent[roots] = root
        first = base + 2 * player
        return parent[first + 1] == first


class NumpyBitboards:
    """The edge-set flood fill on row bitboards of ``HexCore`` at git 5f11932, copied unchanged.

    Mover's frame, so both players join top and bottom. Per player: ``_stones`` ``(B, n+2)`` uint32
    rows (column ``c`` at bit ``c + 1``, an empty row each side) and ``_edges[e]`` the stones joined
    to edge ``e``.
    """

    name = "np bitboards"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.size = n
        self.boards = np.arange(batch)
        self._stones = np.zeros((2, batch, n + 2), dtype=np.uint32)
        self._edges = np.zeros((2, 2, batch, n + 2), dtype=np.uint32)  # [edge, player, board]

    def reset(self, boards: np.ndarray) -> None:
        self._stones[:, boards] = 0
        self._edges[:, :, boards] = 0

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        n, boards = self.size, self.boards
        row, col = np.divmod(cells, n)
        bit = np.left_shift(np.uint32(1), (col + 1).astype(np.uint32))
        self._stones[player, boards, row + 1] |= bit
        first = (row == 0) | self._touches(self._edges[0], player, boards, row, col)
        second = (row == n - 1) | self._touches(self._edges[1], player, boards, row, col)
        self._join_edges(player, boards, row, bit, first, second)
        return first & second

    @staticmethod
    def _touches(edge, player, boards, row, col):
        """Does cell (row, col) have a neighbour in ``edge[player, board]``? Reads three bit rows."""
        shift = col.astype(np.uint32)
        above = edge[player, boards, row] >> (shift + np.uint32(1))  # (r-1, c), (r-1, c+1)
        level = edge[player, boards, row + 1] >> shift  # (r, c-1), (r, c+1)
        below = edge[player, boards, row + 2] >> shift  # (r+1, c-1), (r+1, c)
        return ((above & 3) | (level & 5) | (below & 3)) != 0

    def _join_edges(self, player, boards, row, bit, first, second) -> None:
        """Add each new stone to the edge sets it touches and flood from it through the player's stones."""
        task = np.concatenate([np.flatnonzero(first), np.flatnonzero(second)])
        if task.size == 0:
            return
        kind = np.repeat(np.array([0, 1]), [int(first.sum()), int(second.sum())])
        player, boards, row, bit = player[task], boards[task], row[task], bit[task]
        members = self._edges[kind, player, boards]
        rows = np.arange(task.size)
        members[rows, row + 1] |= bit
        candidates = self._stones[player, boards] & ~members
        frontier = np.zeros_like(members)
        frontier[rows, row + 1] = bit
        spread = np.zeros_like(frontier)
        while True:
            above, level, below = frontier[:, :-2], frontier[:, 1:-1], frontier[:, 2:]
            spread[:, 1:-1] = above | (above >> 1) | below | (below << 1) | (level << 1) | (level >> 1)
            frontier = spread & candidates
            growing = frontier.any(axis=1)
            if not growing.any():
                break
            candidates ^= frontier
            members[rows] |= frontier
            if not growing.all():
                rows, frontier, candidates = rows[growing], frontier[growing], candidates[growing]
                spread = spread[growing]
        self._edges[kind, player, boards] = members


class DenseFlood:
    """The same incremental edge-set flood on dense padded boolean boards (mover's frame).

    ``stones[p, b]`` and ``edge_sets[e, p, b]`` are ``(n+2, n+2)``. A new stone that touches an edge
    set (or lies on that edge) floods from itself through the player's stones not yet in the set,
    by dilating the frontier with six slices; boards drop out when their frontier empties.
    """

    name = "dense flood"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.size = n
        self.pad = p = n + 2
        self.batch = batch
        self.area = p * p
        self.stones = np.zeros((2, batch, p, p), dtype=bool)
        self.edge_sets = np.zeros((2, 2, batch, p, p), dtype=bool)  # [edge, player, board]
        self.stones_flat = self.stones.reshape(-1)
        self.sets_flat = self.edge_sets.reshape(-1)
        self.offsets = np.array([dr * p + dc for dr, dc in DELTAS], dtype=np.int64)
        self.boards = np.arange(batch)

    def reset(self, boards: np.ndarray) -> None:
        self.stones[:, boards] = False
        self.edge_sets[:, :, boards] = False

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        n = self.size
        row, col = np.divmod(cells, n)
        at = (player * self.batch + self.boards) * self.area + (row + 1) * self.pad + col + 1
        self.stones_flat[at] = True
        around = at[:, None] + self.offsets
        first = (row == 0) | self.sets_flat[around].any(axis=1)
        second = (row == n - 1) | self.sets_flat[around + 2 * self.batch * self.area].any(axis=1)
        self._join(player, row + 1, col + 1, first, second)
        return first & second

    def _join(self, player, row, col, first, second) -> None:
        task = np.concatenate([np.flatnonzero(first), np.flatnonzero(second)])
        if task.size == 0:
            return
        kind = np.repeat(np.array([0, 1]), [int(first.sum()), int(second.sum())])
        player, boards, row, col = player[task], task, row[task], col[task]
        members = self.edge_sets[kind, player, boards]
        lines = np.arange(task.size)
        members[lines, row, col] = True
        candidates = self.stones[player, boards] & ~members
        frontier = np.zeros_like(members)
        frontier[lines, row, col] = True
        spread = np.zeros_like(frontier)
        while True:
            f = frontier
            spread[:, 1:-1, 1:-1] = f[:, :-2, 1:-1] | f[:, :-2, 2:] | f[:, 1:-1, :-2] | f[:, 1:-1, 2:] | f[:, 2:, :-2] | f[:, 2:, 1:-1]
            frontier = spread & candidates
            growing = frontier.any(axis=(1, 2))
            if not growing.any():
                break
            candidates ^= frontier
            members[lines] |= frontier
            if not growing.all():
                lines, frontier, candidates = lines[growing], frontier[growing], candidates[growing]
                spread = spread[growing]
        self.edge_sets[kind, player, boards] = members


class Driver:
    """No detection: wins come from the reference table, so only the benchmark's own loop is timed."""

    name = "driver"
    frame = "absolute"

    def __init__(self, finish: np.ndarray) -> None:
        self.finish = finish
        self.state: dict = {}

    def reset(self, boards: np.ndarray) -> None:
        pass

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        return self.finish[self.state["game"]] == self.state["move"]


METHODS = (CorePlay, CoreRules, NumpyUnionFind, NumpyBitboards, DenseFlood)


# --- games ---------------------------------------------------------------------------------------------
def make_games(n: int, games: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random move orders ``(games, n*n)``: absolute cells, and the same cells in the mover's frame."""
    absolute = rng.permuted(np.tile(np.arange(n * n, dtype=np.int64), (games, 1)), axis=1)
    mover = absolute.copy()
    odd = mover[:, 1::2]
    mover[:, 1::2] = (odd % n) * n + odd // n  # player 1 sees the board transposed
    return {"absolute": absolute, "mover": mover}


def reference_finish(n: int, order: np.ndarray) -> np.ndarray:
    """Index of the winning move of each game, by a plain per-game Python union-find."""
    top, bottom, left, right = n * n, n * n + 1, n * n + 2, n * n + 3
    out = np.empty(len(order), dtype=np.int64)
    for g, moves in enumerate(order.tolist()):
        parent = list(range(n * n + 4))
        owner = [-1] * (n * n)

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for t, cell in enumerate(moves):
            p = t % 2
            owner[cell] = p
            r, c = divmod(cell, n)
            links = [(r + dr) * n + c + dc for dr, dc in DELTAS if 0 <= r + dr < n and 0 <= c + dc < n]
            links = [other for other in links if owner[other] == p]
            if p == 0:
                links += [top] * (r == 0) + [bottom] * (r == n - 1)
            else:
                links += [left] * (c == 0) + [right] * (c == n - 1)
            for other in links:
                parent[find(other)] = find(cell)
            if (p == 0 and find(top) == find(bottom)) or (p == 1 and find(left) == find(right)):
                out[g] = t
                break
        else:
            raise AssertionError(f"reference: game {g} on {n}x{n} filled the board with no winner")
    return out


def fresh_state(detector, batch: int) -> dict:
    boards = np.arange(batch)
    detector.reset(boards)
    state = {"game": boards.copy(), "move": np.zeros(batch, dtype=np.int64), "next": batch}
    if isinstance(detector, Driver):
        detector.state = state
    return state


def drive(detector, order: np.ndarray, steps: int, state: dict, log: list | None = None) -> None:
    """Play ``steps`` moves on every board; a board that is won restarts with the next game."""
    games, cells = order.shape
    flat = order.reshape(-1)
    game, move = state["game"], state["move"]
    for _ in range(steps):
        won = detector.place(flat[game * cells + move], move & 1)
        move += 1
        if won.any():
            done = np.flatnonzero(won)
            if log is not None:
                log.append(np.stack([game[done], move[done] - 1], axis=1))
            detector.reset(done)
            game[done] = (state["next"] + np.arange(done.size)) % games
            state["next"] += done.size
            move[done] = 0
        if log is not None:
            assert (move < cells).all(), f"{detector.name}: a board filled up with no win detected"


# --- checks and timing ---------------------------------------------------------------------------------
def available(n: int) -> tuple[list, list[str]]:
    """The detectors that run with this version of the core, and why the others do not."""
    methods, missing = [], []
    for method in METHODS:
        try:
            method(1, n).place(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
        except Exception as error:  # e.g. a core without envs.hex.rules, or a changed private API
            missing.append(f"{method.name} ({type(error).__name__}: {error})")
            continue
        methods.append(method)
    return methods, missing


def check_agreement(methods: list, n: int, games: dict[str, np.ndarray], finish: np.ndarray) -> None:
    """Every detector must report the reference's winning move for every game it plays."""
    for batch in (1, 64):
        steps = 6 * n * n  # several games per board, so resets are exercised too
        for method in methods:
            detector = method(batch, n)
            state = fresh_state(detector, batch)
            log: list[np.ndarray] = []
            drive(detector, games[method.frame], steps, state, log)
            events = np.concatenate(log)
            assert len(events) >= 3 * batch, f"{method.name}: too few finished games on {n}x{n}"
            wrong = np.flatnonzero(finish[events[:, 0]] != events[:, 1])
            assert wrong.size == 0, (
                f"{method.name} on {n}x{n}, batch {batch}: game {events[wrong[0], 0]} won at move "
                f"{events[wrong[0], 1]}, the reference says {finish[events[wrong[0], 0]]}"
            )


def time_all(detectors: list, batch: int, games: dict[str, np.ndarray], steps: int) -> list[float]:
    """Moves per second of each detector: best of ``REPEATS`` windows, detectors taking turns."""
    states = []
    for detector in detectors:
        states.append(fresh_state(detector, batch))
        drive(detector, games[detector.frame], max(3, steps // 10), states[-1])  # warm-up
    best = [float("inf")] * len(detectors)
    for _ in range(REPEATS):
        for i, (detector, state) in enumerate(zip(detectors, states)):
            start = time.perf_counter()
            drive(detector, games[detector.frame], steps, state)
            best[i] = min(best[i], time.perf_counter() - start)
    return [batch * steps / elapsed for elapsed in best]


def main() -> None:
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    methods, missing = available(SIZES[0])
    columns = [m.name for m in methods] + ["driver"]
    print(f"Hex win detection, moves/s (best of {REPEATS}); numpy {np.__version__}, Python {sys.version.split()[0]}")
    if missing:
        print("left out: " + "; ".join(missing))
    header = f"{'size':>4} {'batch':>5} " + " ".join(f"{name:>13}" for name in columns) + "  fastest detector"
    print(header)
    print("-" * len(header))
    for n in SIZES:
        games = make_games(n, GAMES, rng)
        finish = reference_finish(n, games["absolute"])
        check_agreement(methods, n, games, finish)
        for batch in BATCHES:
            detectors = [method(batch, n) for method in methods] + [Driver(finish)]
            rates = time_all(detectors, batch, games, STEPS[batch])
            pure = {name: rate for name, rate in zip(columns[:-1], rates) if name != CorePlay.name}
            fastest = max(pure, key=pure.get)
            runner_up = max((rate for name, rate in pure.items() if name != fastest), default=float("nan"))
            figures = " ".join(f"{rate:>13,.0f}" for rate in rates)
            print(f"{n:>4} {batch:>5} {figures}  {fastest} ({pure[fastest] / runner_up:.1f}x next)", flush=True)
    elapsed = time.perf_counter() - started
    print(f"All detectors matched the reference winning move in every checked game ({elapsed:.0f} s).")


if __name__ == "__main__":
    main()
