"""How fast can a batch of Hex boards tell, move by move, that a game was just won?

``envs/hex/core.py`` plays ``B`` Hex games at once with numpy and no Python loop over the batch. Its win
detection is incremental: each player keeps row bitboards of its stones joined to each of its two
edges and grows them by a flood fill from the new stone. The issue behind it asked to *measure* that
against the other obvious batch-vectorized ways of detecting a win, so this script implements them
side by side behind one small API and times them on the same games:

``core.play``
    :meth:`HexCore.play` itself: legality checks, board, observation planes and masks in both frames,
    the empty-cell list, and the bitboard win detection. This is what an environment pays per move.
``core bitboards``
    Only the core's win detection, on its own arrays: the row bitboards, ``HexCore._touches`` and
    ``HexCore._join_edges`` (called from the core, not copied), so it is the fair like-for-like
    comparison with the two alternatives below.
``union-find``
    Incremental union-find on arrays: a parent array ``(B, n*n + 5)`` (4 virtual edge nodes top,
    bottom, left, right at indices 0..3, the cells after them, one never-owned sentinel last), a static
    neighbour table ``(2, n*n, 6)`` per player whose off-board entries point at that player's virtual
    edge node or at the sentinel. The six neighbours of every new stone on every board are found at
    once by pointer jumping with path halving, looping only over tree depth; the union makes the
    smallest index the root, so a virtual edge node is always the root of its group and the mover has
    won exactly when its second edge node's parent is its first edge node (one gather).
``dense flood``
    Dense boolean boards ``(B, n+2, n+2)`` (one padding cell each side) per player and per edge: the
    edge-connected stones, grown like the core's by 6-neighbour dilation with slicing from the new
    stone until the frontier is empty, on the boards where the new stone touches the set.

Each detector places one stone on every board of the batch and returns which boards were just won.
The moves are random legal games, precomputed with a fixed seed as cell permutations ``(games, n*n)``
(absolute frame and the mover's frame), so generating them costs nothing while timing: a board plays
its permutation until a detector reports the win, then is reset and starts the next game, so the
batch stays full. Before timing, every detector plays the same games and must report the same
winning move of every game as a plain Python union-find reference (asserted). Then the script prints
moves per second (best of 3 after a warm-up, ``time.perf_counter``) for sizes 5, 7, 11 and batch
sizes 1, 64, 1024, and which method is fastest. The driver loop (gathering the next cells, resetting
finished boards) is included in every figure, identically, and is measured on its own as
``driver only`` so its share can be read off. Nothing about timings is asserted: numbers depend on
the machine. Run: ``python benchmarks/hex_win_detection.py`` (about a minute).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from envs.base import RUNNING
from envs.hex.core import HexCore

SEED = 20240611
SIZES = (5, 7, 11)
BATCHES = (1, 64, 1024)
STEPS = {1: 1500, 64: 400, 1024: 100}  # batch steps per timed repetition (~0.05-0.5 s each)
REPEATS = 3
# Neighbours of (r, c): (r-1, c), (r-1, c+1), (r, c-1), (r, c+1), (r+1, c-1), (r+1, c).
DELTAS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


# --- detectors: reset(boards); place(cells, player) -> bool (B,) "this move won" ---------------------
class CorePlay:
    """The whole :meth:`HexCore.play` (cells in the mover's frame, as the core takes them)."""

    name = "core.play"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.core = HexCore(batch, n)

    def reset(self, boards: np.ndarray) -> None:
        self.core.reset(boards)

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        self.core.play(cells)
        return self.core.winner != RUNNING


class CoreBitboards:
    """Just the core's incremental bitboard detection, run on this object's own arrays.

    ``_stones``/``_edges`` have the core's layout, and ``_touches``/``_join_edges`` are the core's own
    functions, so this is exactly the detection part of ``HexCore._place``.
    """

    name = "core bitboards"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.size = n
        self.boards = np.arange(batch)
        self._stones = np.zeros((2, batch, n + 2), dtype=np.uint32)
        self._edges = np.zeros((2, 2, batch, n + 2), dtype=np.uint32)

    def reset(self, boards: np.ndarray) -> None:
        self._stones[:, boards] = 0
        self._edges[:, :, boards] = 0

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        n, boards = self.size, self.boards
        row, col = np.divmod(cells, n)
        bit = np.left_shift(np.uint32(1), (col + 1).astype(np.uint32))
        self._stones[player, boards, row + 1] |= bit
        first = (row == 0) | HexCore._touches(self._edges[0], player, boards, row, col)
        second = (row == n - 1) | HexCore._touches(self._edges[1], player, boards, row, col)
        HexCore._join_edges(self, player, boards, row, bit, first, second)
        return first & second


class UnionFind:
    """Incremental union-find over all boards at once (absolute frame).

    Node ``0..3`` are the virtual edges top, bottom (player 0), left, right (player 1); cell ``i`` is
    node ``4 + i``; node ``4 + n*n`` is a sentinel nobody owns. ``parent`` holds *flat* indices into
    the ``(B, W)`` array, so a find step is a single 1-D gather with no per-board offset arithmetic.
    Roots are always the smallest index of their group (union links every root to the minimum), so
    the edge nodes stay roots and a win is one gather. Trees stay shallow because (i) each union links
    all neighbouring roots straight to the new root (depth grows by at most one per union), (ii) every
    find halves the paths it walks, and (iii) the new stone and the old roots point at the root
    directly; in random games the find loop runs about 2-4 times per move.
    """

    name = "union-find"
    frame = "absolute"

    def __init__(self, batch: int, n: int) -> None:
        cells = n * n
        self.width = w = cells + 5
        self.sentinel = cells + 4
        self.base = np.arange(batch, dtype=np.int64) * w
        self.fresh = (self.base[:, None] + np.arange(w)).ravel()
        self.parent = self.fresh.copy()  # flat (B * W,), values are flat indices
        self.owner = np.full((batch, w), -1, dtype=np.int64)  # -1 empty / nobody, else player
        self.owner[:, 0:2] = 0
        self.owner[:, 2:4] = 1
        self.owner_flat = self.owner.reshape(-1)
        table = np.empty((2, cells, 6), dtype=np.int64)
        for r in range(n):
            for c in range(n):
                for k, (dr, dc) in enumerate(DELTAS):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < n and 0 <= cc < n:
                        table[:, r * n + c, k] = 4 + rr * n + cc
                        continue
                    table[0, r * n + c, k] = 0 if rr < 0 else 1 if rr >= n else self.sentinel
                    table[1, r * n + c, k] = 2 if cc < 0 else 3 if cc >= n else self.sentinel
        self.table = table

    def reset(self, boards: np.ndarray) -> None:
        w = self.width
        self.parent.reshape(-1, w)[boards] = self.fresh.reshape(-1, w)[boards]
        self.owner[boards, 4 : 4 + w - 5] = -1

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        parent, base = self.parent, self.base
        x = base + 4 + cells
        self.owner_flat[x] = player
        query = base[:, None] + self.table[player, cells]  # (B, 6) flat node indices
        mine = self.owner_flat[query] == player[:, None]
        query = np.where(mine, query, x[:, None])  # not ours: ask about the new stone (its own root)
        while True:  # find all roots at once, halving paths; loops over tree depth only
            up = parent[query]
            moving = up != query
            if not moving.any():
                break
            grand = parent[up]
            parent[query] = grand
            query = grand
        root = np.minimum(query.min(axis=1), x)
        parent[query] = root[:, None]
        parent[x] = root
        first = base + 2 * player
        return parent[first + 1] == first


class DenseFlood:
    """Dense padded boolean boards per player (own frame, so both players join top and bottom).

    ``stones[p, b]`` and ``edge_sets[e, p, b]`` are ``(n+2, n+2)``; like the core, a new stone that
    touches an edge set (or is on that edge) floods from itself through the player's stones not yet
    in the set, by dilating the frontier with six slices; boards drop out when their frontier empties.
    """

    name = "dense flood"
    frame = "mover"

    def __init__(self, batch: int, n: int) -> None:
        self.size = n
        self.pad = p = n + 2
        self.batch = batch
        self.area = p * p
        self.boards = np.arange(batch)
        self.stones = np.zeros((2, batch, p, p), dtype=bool)
        self.edge_sets = np.zeros((2, 2, batch, p, p), dtype=bool)  # [edge, player, board]
        self.stones_flat = self.stones.reshape(-1)
        self.sets_flat = self.edge_sets.reshape(-1)
        self.offsets = np.array([dr * p + dc for dr, dc in DELTAS], dtype=np.int64)

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
            spread[:, 1:-1, 1:-1] = (
                f[:, :-2, 1:-1] | f[:, :-2, 2:] | f[:, 1:-1, :-2] | f[:, 1:-1, 2:] | f[:, 2:, :-2] | f[:, 2:, 1:-1]
            )
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


class DriverOnly:
    """No detection at all: the cost of the benchmark's own loop (wins come from a precomputed table)."""

    name = "driver only"
    frame = "absolute"

    def __init__(self, batch: int, n: int, finish: np.ndarray | None = None) -> None:
        self.finish = finish  # (games,) winning move index, set by the caller

    def reset(self, boards: np.ndarray) -> None:
        pass

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        return self._won


METHODS = (CorePlay, CoreBitboards, UnionFind, DenseFlood)


# --- games -------------------------------------------------------------------------------------------
def make_games(n: int, games: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random move orders ``(games, n*n)``: absolute cells, and the same cells in the mover's frame."""
    cells = n * n
    absolute = rng.permuted(np.tile(np.arange(cells, dtype=np.int64), (games, 1)), axis=1)
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
        owner = [-1] * (n * n) + [0, 0, 1, 1]

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for t, cell in enumerate(moves):
            p = t % 2
            owner[cell] = p
            r, c = divmod(cell, n)
            links = [top] if p == 0 and r == 0 else [left] if p == 1 and c == 0 else []
            links += [bottom] if p == 0 and r == n - 1 else [right] if p == 1 and c == n - 1 else []
            for dr, dc in DELTAS:
                if 0 <= r + dr < n and 0 <= c + dc < n and owner[(r + dr) * n + c + dc] == p:
                    links.append((r + dr) * n + c + dc)
            for other in links:
                parent[find(other)] = find(cell)
            if (p == 0 and find(top) == find(bottom)) or (p == 1 and find(left) == find(right)):
                out[g] = t
                break
        else:
            raise AssertionError(f"reference: game {g} on {n}x{n} ended with no winner")
    return out


def drive(detector, order: np.ndarray, batch: int, steps: int, state: dict, log: list | None = None) -> None:
    """Play ``steps`` moves on every board; finished boards restart with the next game in ``order``."""
    games, cells = order.shape
    flat = order.reshape(-1)
    game, move = state["game"], state["move"]
    for _ in range(steps):
        player = move & 1
        won = detector.place(flat[game * cells + move], player)
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
            assert (move < cells).all(), f"{detector.name}: a full board with no winner detected"


def fresh_state(detector, batch: int) -> dict:
    boards = np.arange(batch)
    detector.reset(boards)
    return {"game": boards.copy(), "move": np.zeros(batch, dtype=np.int64), "next": batch}


class _Replay:
    """Driver-only stand-in: reports wins from the reference table (its state mirrors ``drive``)."""

    name = "driver only"

    def __init__(self, finish: np.ndarray, state: dict) -> None:
        self.finish, self.state = finish, state

    def reset(self, boards: np.ndarray) -> None:
        pass

    def place(self, cells: np.ndarray, player: np.ndarray) -> np.ndarray:
        return self.finish[self.state["game"]] == self.state["move"]


# --- checks and timing -------------------------------------------------------------------------------
def check_agreement(n: int, games: dict[str, np.ndarray], finish: np.ndarray, batch: int = 64) -> None:
    """Every detector must report exactly the reference's winning move, game after game."""
    steps = 4 * n * n  # each board plays several games, so resets are exercised too
    for method in METHODS:
        detector = method(batch, n)
        state = fresh_state(detector, batch)
        log: list[np.ndarray] = []
        drive(detector, games[method.frame], batch, steps, state, log)
        events = np.concatenate(log)
        assert len(events) >= batch, f"{method.name}: too few finished games to check on {n}x{n}"
        wrong = finish[events[:, 0]] != events[:, 1]
        assert not wrong.any(), (
            f"{method.name} on {n}x{n}: game {int(events[wrong][0, 0])} won at move "
            f"{int(events[wrong][0, 1])}, reference says {int(finish[events[wrong][0, 0]])}"
        )


def time_method(make, order: np.ndarray, batch: int, steps: int) -> float:
    detector = make()
    state = fresh_state(detector, batch)
    if isinstance(detector, _Replay):
        detector.state = state
    drive(detector, order, batch, max(3, steps // 10), state)  # warm-up
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        drive(detector, order, batch, steps, state)
        best = min(best, time.perf_counter() - start)
    return batch * steps / best


def main() -> None:
    rng = np.random.default_rng(SEED)
    names = [m.name for m in METHODS]
    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}; moves per second, best of {REPEATS}")
    header = f"{'size':>4} {'batch':>5} " + " ".join(f"{name:>15}" for name in names) + f" {'driver only':>12}  fastest"
    print(header)
    print("-" * len(header))
    for n in SIZES:
        games = make_games(n, 2048, rng)
        finish = reference_finish(n, games["absolute"])
        check_agreement(n, games, finish)
        for batch in BATCHES:
            steps = STEPS[batch]
            rates = [time_method(lambda m=m: m(batch, n), games[m.frame], batch, steps) for m in METHODS]
            driver = time_method(lambda: _Replay(finish, {}), games["absolute"], batch, steps)
            # The table ranks detectors like for like, so the full core.play is left out of "fastest".
            detect = {name: rate for name, rate in zip(names, rates) if name != "core.play"}
            fastest = max(detect, key=detect.get)
            cells = " ".join(f"{rate:>15,.0f}" for rate in rates)
            print(f"{n:>4} {batch:>5} {cells} {driver:>12,.0f}  {fastest}", flush=True)
    print("All detectors agreed with the reference on every checked game.")


if __name__ == "__main__":
    main()
