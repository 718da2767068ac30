"""Local collection against Ray workers (``run.backend=ray``): same learning, and at what wall time.

Trains the same config twice with the same seed: once with all ``--envs`` envs in this process,
once with ``--workers`` Ray actors stepping ``envs / workers`` each while this process learns
(synchronously: collect, update, broadcast). Prints ``rollout/ep_rew_mean`` of both runs every
``--every`` steps side by side, and their wall times (Ray's start-up apart). The curves should
agree within seed noise (the workers' envs draw other random streams than the local envs); the
wall times say what the round trips cost on this machine: on a laptop's few cores the workers
share the cores with the learner, so Ray pays where env stepping dominates and many cores are free.

    python benchmarks/ray_rollouts.py [--env CartPole-v1] [--algo ppo] [--steps 40000] [--envs 16] [--workers 2] [--seed 0]

Prints; never asserts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from rlagent.config import resolve
from rlagent.distributed import init_ray
from rlagent.monitor import read_metrics
from rlagent.run import Trainer


def train(args: argparse.Namespace, logdir: Path, *backend: str) -> tuple[dict[int, float], float]:
    """Steps -> ep_rew_mean of one run, and its wall time (building the trainer and training)."""
    config = resolve(
        args.algo,
        args.env,
        overrides=["run.progress=false", f"run.num_envs={args.envs}", *backend, *args.set],
        extra={"total_steps": args.steps, "seed": args.seed, "logdir": str(logdir)},
    )
    started = time.perf_counter()
    trainer = Trainer(config)
    trainer.train()
    wall = time.perf_counter() - started
    curve = {int(row["step"]): row["rollout/ep_rew_mean"] for row in read_metrics(trainer.run_dir) if "rollout/ep_rew_mean" in row}
    return curve, wall


def at(curve: dict[int, float], step: int) -> float:
    """The last value logged at or before ``step``."""
    logged = [s for s in curve if s <= step]
    return curve[max(logged)] if logged else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=4096, help="print a row every this many steps")
    parser.add_argument("--set", action="append", default=[], help="more --set overrides for both runs")
    args = parser.parse_args()
    torch.set_num_threads(1)

    import ray

    started = time.perf_counter()
    init_ray(num_cpus=max(args.workers, os.cpu_count() or 1), temp_dir=tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    ray_start = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as logdir:
        local, local_wall = train(args, Path(logdir) / "local")
        remote, remote_wall = train(args, Path(logdir) / "ray", "run.backend=ray", f"run.num_workers={args.workers}")
    ray.shutdown()

    print(
        f"{args.algo} on {args.env}, {args.envs} envs, seed {args.seed}, {os.cpu_count()} CPUs; ray: {args.workers} workers x {args.envs // args.workers} envs"
    )
    print(f"{'step':>8}  {'local':>8}  {'ray':>8}")
    for step in range(args.every, args.steps + 1, args.every):
        print(f"{step:>8}  {at(local, step):>8.1f}  {at(remote, step):>8.1f}")
    last = max(local)
    print(f"{'final':>8}  {local[last]:>8.1f}  {remote[max(remote)]:>8.1f}")
    print(
        f"wall: local {local_wall:.1f} s, ray {remote_wall:.1f} s (ratio {remote_wall / local_wall:.2f}; Ray's own start-up, {ray_start:.1f} s, not included)"
    )


if __name__ == "__main__":
    main()
