"""The exact Hex solver (``envs/hex/solver.py``): its verification and how long it takes, by board
size and stone count.

Verification, each printed with its result:

* every position of 3x3 reachable from the empty board, and its value for either side to move,
  against a naive memoized minimax (``tests/hex_brute_force.py``, no shared code);
* ``--full``: the winning openings of 4x4 by that minimax (about 1.5 minutes) against the solver's;
* the opening results of 2x2-5x5: the first player wins, and which openings do.

Timings: positions from uniformly random play with a given number of stones (unfinished ones), each
solved from an empty transposition table, so each time is a cold solve of its own (median, 90th
percentile, max), and the node counts. ``--sizes 5,6,7`` picks the boards.

    python benchmarks/hex_solver.py            # a few minutes
    python benchmarks/hex_solver.py --full     # plus the 4x4 minimax check
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hex_brute_force import connected, mover_wins, winning_moves  # noqa: E402

from envs.hex.core import cell_name  # noqa: E402
from envs.hex.solver import HexSolver, SolverLimit  # noqa: E402

STONES = {4: (2, 4, 6, 8), 5: (0, 1, 2, 4, 6, 8, 10, 14), 6: (6, 8, 10, 12, 16, 20), 7: (14, 16, 18, 20, 24, 30)}


def verify_3x3() -> str:
    solver = HexSolver(3)
    frontier, seen, checked = [(0,) * 9], set(), 0
    while frontier:
        cells = frontier.pop()
        if cells in seen or connected(cells, 3, 0) or connected(cells, 3, 1):
            continue
        seen.add(cells)
        mover = sum(c != 0 for c in cells) % 2
        board = np.asarray(cells, dtype=np.int8).reshape(3, 3)
        for to_move in (0, 1):
            assert solver.mover_wins(board, to_move) == mover_wins(cells, 3, to_move), cells
        assert solver.winning_moves(board, mover).tolist() == winning_moves(cells, 3, mover), cells
        checked += 1
        frontier += [cells[:i] + (mover + 1,) + cells[i + 1 :] for i, c in enumerate(cells) if c == 0]
    return f"3x3: all {checked} reachable unfinished positions (value for both movers, winning moves) agree with minimax"


def verify_4x4_openings() -> str:
    started = time.perf_counter()
    naive = winning_moves((0,) * 16, 4, 0)
    solved = HexSolver(4).winning_moves(np.zeros((4, 4), dtype=np.int8), 0).tolist()
    assert naive == solved, (naive, solved)
    return f"4x4: winning openings {names(solved, 4)} by minimax ({time.perf_counter() - started:.0f} s) and by the solver agree"


def names(cells: list[int], n: int) -> str:
    return " ".join(cell_name(c, n) for c in cells)


def openings() -> list[str]:
    lines = []
    for n in (2, 3, 4, 5):
        solver = HexSolver(n, table_bits=22)
        started = time.perf_counter()
        winning = solver.winning_moves(np.zeros((n, n), dtype=np.int8), 0).tolist()
        lines.append(
            f"{n}x{n}: first player wins; winning openings ({len(winning)} of {n * n}): {names(winning, n)}"
            f"  [{time.perf_counter() - started:.2f} s, {solver.nodes:,} nodes]"
        )
    return lines


def timings(n: int, stones: int, positions: int, seed: int, node_limit: int) -> str:
    rng = np.random.default_rng([seed, n, stones])
    times, nodes, unsolved = [], [], 0
    while len(times) + unsolved < positions:
        order = rng.permutation(n * n)[:stones]
        board = np.zeros(n * n, dtype=np.int8)
        board[order[0::2]], board[order[1::2]] = 1, 2
        board = board.reshape(n, n)
        solver = HexSolver(n, table_bits=22, node_limit=node_limit)
        if solver.winner(board) is not None:
            continue
        started = time.perf_counter()
        try:
            solver.mover_wins(board, stones % 2)
        except SolverLimit:
            unsolved += 1
            continue
        times.append(time.perf_counter() - started)
        nodes.append(solver.nodes)
    t = np.asarray(times)
    extra = f", {unsolved} past {node_limit:,} nodes" if unsolved else ""
    return (
        f"{n}x{n} {stones:>2} stones: median {np.median(t):7.3f} s  p90 {np.quantile(t, 0.9):7.3f} s  max {t.max():7.3f} s"
        f"  nodes median {int(np.median(nodes)):>9,} max {max(nodes):>11,}  ({len(t)} positions{extra})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also check 4x4's openings by full minimax (~1.5 min)")
    parser.add_argument("--sizes", default="4,5,6,7", help="boards to time (default 4,5,6,7)")
    parser.add_argument("--positions", type=int, default=10, help="positions per stone count (default 10)")
    parser.add_argument("--node-limit", type=int, default=50_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    HexSolver(3).mover_wins(np.zeros((3, 3), dtype=np.int8), 0)  # compile before timing
    print("== verification")
    print(verify_3x3())
    if args.full:
        print(verify_4x4_openings())
    for line in openings():
        print(line)
    print("== cold solves of random-play positions (the side to move's value; fresh table each)")
    for n in (int(s) for s in args.sizes.split(",")):
        for stones in STONES[n]:
            print(timings(n, stones, args.positions, args.seed, args.node_limit), flush=True)


if __name__ == "__main__":
    main()
