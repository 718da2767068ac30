"""Sample efficiency on tuned CartPole: rlagent with its fast paths, rlagent without them, and SB3.

The question (issue 10, point 3): do the fast and the plain path learn alike, and does either
learn later than Stable-Baselines3? One run of ``benchmarks/ppo_vs_sb3.py`` uses 3 seeds, and
"stays solved from" moves by 5k-10k steps between seeds, so this script runs many seeds of the
benchmark's "tuned" setting (the same network, settings and evaluation, imported from it) for the
three variants, in worker processes, and prints per-seed figures, medians and means, and a rank
test of each pair. Wall times here are not speed figures (runs share the cores): use the benchmark
for speed.

    python experiments/sample_efficiency/run.py [--seeds 10] [--workers 2] [--steps 100000]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("rlagent fast", "rlagent plain", "SB3")


def _benchmark():
    spec = importlib.util.spec_from_file_location("ppo_vs_sb3", ROOT / "benchmarks" / "ppo_vs_sb3.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ppo_vs_sb3"] = module
    spec.loader.exec_module(module)
    return module


def run_cell(variant: str, seed: int, steps: int) -> tuple[str, int, int | None, float, list[tuple[int, float]]]:
    import torch

    torch.set_num_threads(1)
    bench = _benchmark()
    with tempfile.TemporaryDirectory() as logdir:
        if variant == "SB3":
            stats = bench.run_sb3("CartPole-v1", bench.TUNED, steps, seed, bench.cartpole_eval)
        else:
            fast = "auto" if variant == "rlagent fast" else "off"
            stats = bench.run_ours("CartPole-v1", bench.TUNED, steps, seed, [f"run.fast={fast}"], bench.cartpole_eval, logdir)
    return variant, seed, stats.solved_from, stats.evals[-1][1], stats.evals


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction)."""
    pooled = sorted((v, i) for i, v in enumerate(a + b))
    ranks = [0.0] * len(pooled)
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[pooled[k][1]] = (i + j) / 2 + 1
        i = j + 1
    n1, n2 = len(a), len(b)
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    ties = {}
    for v, _ in pooled:
        ties[v] = ties.get(v, 0) + 1
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - sum(t**3 - t for t in ties.values()) / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = (u - n1 * n2 / 2) / sigma
    return math.erfc(abs(z) / math.sqrt(2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--curves", action="store_true", help="print every evaluation of every run")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}: valid are {', '.join(VARIANTS)}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    cells = [(variant, seed) for seed in seeds for variant in variants]
    results: dict[str, dict[int, tuple]] = {v: {} for v in variants}
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_cell, v, s, args.steps) for v, s in cells]
        for future in futures:
            variant, seed, solved, final, evals = future.result()
            results[variant][seed] = (solved, final, evals)
            print(f"  {variant:<14} seed {seed}: stays solved from {solved if solved is not None else 'never'}, final {final:.0f}", flush=True)

    never = args.steps * 10  # a 'never' ranks after every step
    print(f"\n== CartPole-v1, benchmarks/ppo_vs_sb3.py's 'tuned' setting, {args.steps:,} steps, seeds {seeds[0]}-{seeds[-1]} ==")
    print(f"{'variant':<15}{'stays solved from: median / mean (never as ' + format(args.steps, ',') + ')':<58}{'final 500 on':<14}per seed (k steps)")
    solved_lists = {}
    for variant in variants:
        runs = [results[variant][s] for s in seeds]
        solved = [r[0] if r[0] is not None else never for r in runs]
        solved_lists[variant] = solved
        capped = [min(s, args.steps) for s in solved]
        median = statistics.median(solved)
        median_text = "never" if median >= never else f"{median:,.0f}"
        finals = sum(r[1] >= 500 for r in runs)
        per_seed = " ".join("-" if r[0] is None else f"{r[0] // 1000}" for r in runs)
        print(f"{variant:<15}{median_text + ' / ' + format(statistics.mean(capped), ',.0f'):<58}{f'{finals} of {args.seeds}':<14}{per_seed}")
    for a, b in (("rlagent fast", "rlagent plain"), ("rlagent fast", "SB3"), ("rlagent plain", "SB3")):
        if a not in variants or b not in variants:
            continue
        print(f"Mann-Whitney {a} vs {b}: two-sided p = {mann_whitney_p(solved_lists[a], solved_lists[b]):.2f}")
    if args.curves:
        for variant in variants:
            for seed in seeds:
                evals = results[variant][seed][2]
                print(f"{variant:<14} {seed}: " + " ".join(f"{step // 1000}k:{value:.0f}" for step, value in evals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
