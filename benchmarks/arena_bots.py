"""The scripted Arena bots' ladder: every pair of bots, each preset, a batch of jittered games.

Why: the league anchors its Elo on these bots, so their order must be a measured fact, not a
hope. For each preset and each pair (A, B) this plays ``--batch`` games (spawns jittered by
``--jitter`` from ``--seed``; A in seat 0 of half the arenas and seat 1 of the other half) and
prints A's win rate by score (``outcome()``: draws count half), the mean scores and A's mean
score difference. ``tests/test_arena_bots.py`` asserts the ladder hunter > hill > random > idle.

    python benchmarks/arena_bots.py --batch 64 --presets original king walls
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from envs.arena.bots import BOT_NAMES, make_bot, play
from envs.arena.core import ArenaCore
from envs.arena.rules import PRESETS


def match(first: str, second: str, preset: str, batch: int, jitter: float, seed: int) -> dict[str, float]:
    """Win rate by score (draws half), mean scores and mean difference of ``first`` against ``second``."""
    core = ArenaCore(batch, 2, preset, spawn_jitter=jitter, seed=seed)
    seating = np.zeros((batch, 2), np.int64)
    swapped = np.arange(batch) >= batch // 2
    seating[~swapped, 1] = 1
    seating[swapped, 0] = 1
    play(core, [make_bot(first, batch, seed), make_bot(second, batch, seed + 1)], seating)
    rows = np.arange(batch)
    own, rival = np.argmax(seating == 0, axis=1), np.argmax(seating == 1, axis=1)
    score, rival_score = core.score[rows, own], core.score[rows, rival]
    return {
        "win": float(core.outcome()[rows, own].mean()),
        "score": float(score.mean()),
        "rival": float(rival_score.mean()),
        "difference": float((score - rival_score).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--jitter", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for preset in args.presets:
        start = time.perf_counter()
        print(f"\n{preset}: A vs B over {args.batch} games (win by score, draws half; mean scores; A - B)")
        for first, second in itertools.combinations(BOT_NAMES[::-1], 2):  # the stronger bot first
            row = match(first, second, preset, args.batch, args.jitter, args.seed)
            print(f"  {first:>6} vs {second:<6}  win {row['win']:4.2f}  scores {row['score']:7.1f} {row['rival']:7.1f}  diff {row['difference']:+7.1f}")
        print(f"  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
