"""``python -m envs.hex``: show one game, then play many at once and print what they tell.

A first look at the env for a newcomer: the board as text, the win rates of random play by colour
(Hex's first-move advantage shows even there), and how many moves per second the batched env runs.
"""

from __future__ import annotations

import argparse
import time
from typing import SupportsFloat

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.batched_random import BatchedRandom
from envs.hex.core import MAX_SIZE, MIN_SIZE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m envs.hex", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=7, help=f"board size, {MIN_SIZE} to {MAX_SIZE} (default 7)")
    parser.add_argument("--games", type=int, default=20_000, help="games played in the batched run (default 20000)")
    parser.add_argument("--num-envs", type=int, default=1024, help="boards stepped together (default 1024)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not MIN_SIZE <= args.size <= MAX_SIZE:
        parser.error(f"--size must be from {MIN_SIZE} to {MAX_SIZE}, got {args.size}")

    env = gym.make("rlagent/Hex-v0", size=args.size, render_mode="ansi")
    obs, _ = env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    terminated = False
    last_reward: SupportsFloat = 0.0
    while not terminated:
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        obs, last_reward, terminated, _, _ = env.step(action)
    print(env.render())
    print(f"A random learner (X, first) against the random opponent: {'won' if float(last_reward) > 0 else 'lost'}.\n")

    vec = gym.make_vec("rlagent/Hex-v0", num_envs=args.num_envs, size=args.size, agent_color="random")
    obs, _ = vec.reset(seed=args.seed)
    learner = BatchedRandom(args.num_envs, seed=args.seed + 1)
    wins: dict[int, list[np.ndarray]] = {0: [], 1: []}
    finished, steps, start = 0, 0, time.perf_counter()
    while finished < args.games:
        obs, reward, terminated, _, info = vec.step(learner.choice_from_mask(obs["action_mask"].astype(bool)))
        steps += 1
        if terminated.any():
            colours = info["final_info"]["agent_color"][terminated]
            for colour in (0, 1):
                wins[colour].append(reward[terminated][colours == colour] > 0)
            finished += int(terminated.sum())
    elapsed = time.perf_counter() - start
    rates = {c: float(np.concatenate(w).mean()) for c, w in wins.items()}
    print(f"{finished} random-vs-random games on {args.size}x{args.size}, {args.num_envs} boards at once:")
    print(f"  the learner wins {rates[0]:.1%} as first player and {rates[1]:.1%} as second")
    print(f"  {steps * args.num_envs / elapsed:,.0f} learner steps/s ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
