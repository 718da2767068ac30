"""PWM speed: the native vector env (one batched core) against a ``SyncVectorEnv`` of single envs.

Rows: ``gymnasium.make_vec("rlagent/PWM-v0", num_envs=B)`` at batch 1, 64 and 1024, and Gymnasium's
``SyncVectorEnv`` of ``B = 64`` single ``gymnasium.make("rlagent/PWM-v0")`` envs (SAME_STEP autoreset,
the way :func:`rlagent.make_env.make_env` builds a vector env for ids without a native one). Steps
per second count env steps (a vector step of batch B is B steps); actions are random, drawn before
timing. Each figure is the best of ``--repeats`` timed windows of ``--seconds``. No assertion: this
script prints figures.

    python benchmarks/pwm_env.py [--seconds 1.0] [--repeats 3] [--preset seed|romo] [--task pwm5]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv

import envs  # noqa: F401  (registers rlagent/PWM-v0)

PWM = "rlagent/PWM-v0"
BATCHES = (1, 64, 1024)
SYNC_BATCH = 64


def timed_window(env: VectorEnv) -> Callable[[float], tuple[int, float]]:
    """A runner of ``seconds`` of random-action steps on ``env``, returning (env steps, elapsed)."""
    actions = np.random.default_rng(0).integers(0, 3, size=(997, env.num_envs))
    env.reset(seed=0)

    def run(seconds: float) -> tuple[int, float]:
        steps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for row in actions[:100]:
                env.step(row)
            steps += 100 * env.num_envs
        return steps, elapsed

    return run


def best_rate(run: Callable[[float], tuple[int, float]], seconds: float, repeats: int) -> float:
    run(min(0.2, seconds))  # warm-up (numba compilation, caches)
    return max(steps / elapsed for steps, elapsed in (run(seconds) for _ in range(repeats)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per figure; the best is kept")
    parser.add_argument("--preset", default="seed", help="PWM preset (seed or romo)")
    parser.add_argument("--task", default="pwm5", help="PWM task (pwm0, pwm5, ... pwm20)")
    args = parser.parse_args()
    kwargs = {"preset": args.preset, "task": args.task}

    native = {b: best_rate(timed_window(gym.make_vec(PWM, num_envs=b, **kwargs)), args.seconds, args.repeats) for b in BATCHES}
    sync_env = SyncVectorEnv([lambda: gym.make(PWM, **kwargs) for _ in range(SYNC_BATCH)], autoreset_mode=AutoresetMode.SAME_STEP)
    sync = best_rate(timed_window(sync_env), args.seconds, args.repeats)

    print(f"PWM {args.task}, preset {args.preset}: env steps/s")
    print(f"{'env':<28} {'batch':>5} {'steps/s':>14}")
    for batch, rate in native.items():
        print(f"{'make_vec (batched core)':<28} {batch:>5} {rate:>14,.0f}")
    print(f"{'SyncVectorEnv of singles':<28} {SYNC_BATCH:>5} {sync:>14,.0f}")
    print(f"ratio make_vec / SyncVectorEnv at batch {SYNC_BATCH}: {native[SYNC_BATCH] / sync:.1f}x")


if __name__ == "__main__":
    main()
