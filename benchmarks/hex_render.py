"""Hex rendering speed: ``board_to_rgb`` (the picture) and ``board_to_text`` per position.

For sizes 5, 11 and 19 and a random position of each, it prints the first call (which also
computes the size's pixel layout, cached after that) and the median of ``--repeats`` later calls,
in milliseconds, with pictures per second. The tests used to assert that an 11x11 picture takes
under 20 ms (median of 9); that bar is printed beside the 11x11 figure for reference, not
asserted: a timing says more about the machine and its load than about the code, so it belongs
here, not in the test suite.

    python benchmarks/hex_render.py [--repeats 50] [--cell-px 24]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np

from envs.hex.render import board_to_rgb, board_to_text

SIZES = (5, 11, 19)
FORMER_BAR_MS = {11: 20.0}  # test_picture_is_fast_for_11x11's threshold, before it moved here


def random_board(n: int, seed: int, fill: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 2], dtype=np.int8), size=(n, n), p=[1 - fill, fill / 2, fill / 2])


def first_and_median_ms(draw: Callable[[], object], repeats: int) -> tuple[float, float]:
    start = time.perf_counter()
    draw()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw()
        times.append(time.perf_counter() - start)
    return 1e3 * first, 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per figure after the first; the median is kept")
    parser.add_argument("--cell-px", type=int, default=24, help="hexagon width in pixels")
    args = parser.parse_args()

    print(f"Hex rendering, cell_px={args.cell_px}, median of {args.repeats} calls after the first")
    print(f"{'what':<14} {'size':>5} {'first ms':>10} {'median ms':>10} {'per s':>10}  note")
    for n in SIZES:
        board = random_board(n, seed=n)
        for name, draw in (
            ("board_to_rgb", lambda: board_to_rgb(board, cell_px=args.cell_px)),
            ("board_to_text", lambda: board_to_text(board)),
        ):
            first, median = first_and_median_ms(draw, args.repeats)
            bar = FORMER_BAR_MS.get(n) if name == "board_to_rgb" else None
            note = f"(the tests' former bar: < {bar:g} ms)" if bar else ""
            print(f"{name:<14} {n:>3}x{n:<2}{first:>10.3f} {median:>10.3f} {1e3 / median:>10,.0f}  {note}")


if __name__ == "__main__":
    main()
