"""Hex speed: our batched core and ``make_vec`` env against OpenSpiel's ``pyspiel`` Hex, in one run.

Random playouts on 5x5, 7x7 and 11x11. Moves per second count stones placed (and swaps) by either
side. Rows:

- ``ours: core``        the rules alone (``HexCore.play`` + uniform random legal moves), batch B
- ``ours: make_vec``    ``gymnasium.make_vec("rlagent/Hex-v0", num_envs=B)`` against its random
                        opponent, returning observation planes and int8 action masks every step
                        (the learner's random move comes from the core, so the row measures the env)
- ``pyspiel: rules``    ``apply_action`` on a random legal action
- ``pyspiel: +obs``     the same, fetching ``observation_tensor()`` and the legal-action mask every
                        move as numpy arrays, the least an RL env built on pyspiel has to hand
                        its learner

Ratios are ours / pyspiel. Each figure is the best of ``--repeats`` timed windows of ``--seconds``.
No assertion: this script prints figures.

    python benchmarks/hex_env.py [--seconds 1.0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Callable

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.batched_random import BatchedRandom
from envs.hex.core import HexCore

SIZES = (5, 7, 11)
BATCHES = (1, 64, 1024)


def best_rate(run_window: Callable[[float], tuple[int, float]], seconds: float, repeats: int) -> float:
    """Moves/s of the best window; ``run_window(seconds)`` returns (moves, elapsed)."""
    run_window(min(0.2, seconds))  # warm-up
    return max(moves / elapsed for moves, elapsed in (run_window(seconds) for _ in range(repeats)))


def core_window(size: int, batch: int) -> Callable[[float], tuple[int, float]]:
    core = HexCore(batch, size)
    rng = BatchedRandom(batch, seed=0)

    def run(seconds: float) -> tuple[int, float]:
        moves, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            core.play(core.random_actions(rng.uniform()), check=False)
            moves += batch
            finished = np.flatnonzero(core.done)
            if finished.size:
                core.reset(finished)
        return moves, elapsed

    return run


def make_vec_window(size: int, batch: int) -> Callable[[float], tuple[int, float]]:
    env = gym.make_vec("rlagent/Hex-v0", num_envs=batch, size=size)
    game = env.unwrapped.game
    counted = [0]
    play_rules = game._play

    def counting_play(actions: np.ndarray, boards: np.ndarray) -> None:
        counted[0] += boards.size
        play_rules(actions, boards)

    game._play = counting_play  # count every stone either side places, openings included
    learner = BatchedRandom(batch, seed=1)
    env.reset(seed=0)

    def run(seconds: float) -> tuple[int, float]:
        counted[0] = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            obs, reward, terminated, truncated, info = env.step(game.random_actions(learner.uniform()))
        return counted[0], elapsed

    return run


def pyspiel_window(size: int, with_observation: bool) -> Callable[[float], tuple[int, float]]:
    import pyspiel

    game = pyspiel.load_game("hex", {"board_size": size})
    rng = random.Random(0)

    def run(seconds: float) -> tuple[int, float]:
        moves, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            state = game.new_initial_state()
            while not state.is_terminal():
                if with_observation:
                    np.asarray(state.observation_tensor(), dtype=np.float32)
                    np.asarray(state.legal_actions_mask(), dtype=np.int8)
                state.apply_action(rng.choice(state.legal_actions()))
                moves += 1
        return moves, elapsed

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed window")
    parser.add_argument("--repeats", type=int, default=3, help="windows per figure; the best is kept")
    args = parser.parse_args()
    t, r = args.seconds, args.repeats

    print(
        f"{'size':>4} {'batch':>5} | {'ours: core':>12} {'ours: make_vec':>14} | "
        f"{'pyspiel: rules':>14} {'pyspiel: +obs':>13} | {'make_vec/+obs':>13} {'make_vec/rules':>14} {'core/rules':>10}"
    )
    for size in SIZES:
        spiel_rules = best_rate(pyspiel_window(size, False), t, r)
        spiel_obs = best_rate(pyspiel_window(size, True), t, r)
        for batch in BATCHES:
            core = best_rate(core_window(size, batch), t, r)
            vec = best_rate(make_vec_window(size, batch), t, r)
            print(
                f"{size:>4} {batch:>5} | {core:>12,.0f} {vec:>14,.0f} | {spiel_rules:>14,.0f} {spiel_obs:>13,.0f} | "
                f"{vec / spiel_obs:>12.1f}x {vec / spiel_rules:>13.2f}x {core / spiel_rules:>9.2f}x"
            )
    print("moves/s; targets at batch 1024 on 11x11 through make_vec: >= 100x pyspiel +obs and >= 5x pyspiel rules; at batch 1: make_vec >= 1x pyspiel +obs")


if __name__ == "__main__":
    main()
