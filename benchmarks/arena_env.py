"""Arena speed: our ``make_vec`` env against the same game on a 2D physics engine, in one run.

Rows, all the ``original`` preset with two bodies, uniformly random actions, observations for
every body every step (the learner's and the opponent's):

- ``ours: make_vec B``   ``gymnasium.make_vec("rlagent/Arena-v0", num_envs=B)`` with the learner's
                         random actions and the ``random`` bot in the other seat, at B = 1, 64, 1024
- ``ours: core B``       the batched core alone (``ArenaCore.step`` + ``observation``), same batches
- ``Box2D`` / ``pymunk`` one arena per object (``benchmarks/arena_reference.py``), the way a
                         user of those engines writes the game; Python ray casts

Body-steps/s count one body advancing one step with its observation (2 per arena step). The
ratio column is ours / the best engine installed. Each figure is the best of ``--repeats``
windows of ``--seconds``. No assertion: this script prints figures.

    pip install -e ".[benchmark]"     # box2d and pymunk
    python benchmarks/arena_env.py [--seconds 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

import gymnasium as gym
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from arena_reference import available_engines, reference_steps_per_second  # noqa: E402

import envs  # noqa: E402,F401  (registers rlagent/Arena-v0)
from envs.arena.core import ArenaCore  # noqa: E402

BATCHES = (1, 64, 1024)
BODIES = 2


def best_rate(window: Callable[[float], float], seconds: float, repeats: int) -> float:
    return max(window(seconds) for _ in range(repeats))


def make_vec_window(batch: int) -> Callable[[float], float]:
    env = gym.make_vec("rlagent/Arena-v0", num_envs=batch, vectorization_mode="vector_entry_point", opponent="random")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, (256, batch, 4), dtype=np.int8)

    def window(seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            env.step(actions[steps % 256])
            steps += 1
        return BODIES * batch * steps / elapsed

    window(0.2)  # compile and warm up
    return window


def core_window(batch: int) -> Callable[[float], float]:
    core = ArenaCore(batch)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, (256, batch, BODIES, 4), dtype=np.int8)

    def window(seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            core.step(actions[steps % 256])
            core.observation()
            core.reset(np.flatnonzero(core.over))
            steps += 1
        return BODIES * batch * steps / elapsed

    window(0.2)
    return window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    peers = {name: best_rate(lambda s, cls=cls: reference_steps_per_second(cls, s), args.seconds, args.repeats) for name, cls in available_engines().items()}
    best_peer = max(peers.values()) if peers else None
    print(f"{'row':<22} {'body-steps/s':>14} {'x best engine':>14}")
    for name, rate in peers.items():
        print(f"{name:<22} {rate:>14,.0f} {rate / best_peer:>13.2f}x")
    for batch in BATCHES:
        for label, make in (("ours: make_vec", make_vec_window), ("ours: core", core_window)):
            rate = best_rate(make(batch), args.seconds, args.repeats)
            ratio = f"{rate / best_peer:>13.0f}x" if best_peer else f"{'n/a':>14}"
            print(f"{label + f' {batch}':<22} {rate:>14,.0f} {ratio}")
    if not peers:
        print("no physics engine installed for the peer rows: pip install -e '.[benchmark]'")


if __name__ == "__main__":
    main()
