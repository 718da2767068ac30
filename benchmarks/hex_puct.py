"""Speed of the network-guided Hex search (rlagent.games.hex.puct): simulations per second, network
calls and leaves per forward pass, and the share of time in the network, at 50/200/800 simulations
for one position and for a batch of positions searched together (a league match's batch).

    python benchmarks/hex_puct.py [--run logs/<hex run>] [--size 5] [--batch 100] [--threads 1]

Without ``--run`` the network is an untrained one of the default Hex shape (32 channels, 3 residual
blocks): its speed is a trained one's, though an untrained network's searches solve fewer
positions early. Positions: random legal openings of 0-6 stones.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.hex.core import HexCore
from rlagent.games.hex.puct import PUCTPlayer
from rlagent.nets.policy import PolicyConfig, build_policy


def positions(size: int, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    core = HexCore(count, size)
    stones = rng.integers(0, 7, size=count)
    for ply in range(6):
        live = np.flatnonzero((ply < stones) & ~core.done)
        core.play(core.random_actions(rng.random(live.size), live), live)
    keep = ~core.done
    return core.board[keep].copy(), core.to_move[keep].copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a Hex run directory or checkpoint (default: an untrained network)")
    parser.add_argument("--size", type=int, default=5, help="board size without --run (default 5)")
    parser.add_argument("--batch", type=int, default=100, help="positions searched together (default 100)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.run:
        make = lambda sims: PUCTPlayer.load(args.run, sims)  # noqa: E731
        size = int(np.sqrt(make(1).policy.inputs.mask_size - 1))
    else:
        torch.manual_seed(0)
        env = gym.make("rlagent/Hex-v0", size=args.size)
        policy = build_policy(env.observation_space, env.action_space, PolicyConfig(board_channels=32, board_blocks=3))
        make = lambda sims: PUCTPlayer(policy, sims)  # noqa: E731
        size = args.size
    boards, to_move = positions(size, args.batch)
    make(8).search(boards[:4], to_move[:4])  # compile / warm up
    print(f"{size}x{size} Hex, {'network of ' + args.run if args.run else 'untrained 32x3 network'}, {args.threads} torch thread(s)")
    for sims in (50, 200, 800):
        for batch in (1, len(boards)):
            player = make(sims)
            start = time.perf_counter()
            player.search(boards[:batch], to_move[:batch])
            seconds = time.perf_counter() - start
            s = player.stats
            print(
                f"  sims={sims:4d} batch={batch:4d}: {1e3 * seconds / batch:8.2f} ms/position, {s.simulations_per_second:8.0f} simulations/s, "
                f"{s.network_calls:4d} network calls, {s.leaves_per_call:7.1f} leaves/call, network {s.network_seconds / s.seconds:4.0%} of the time"
            )


if __name__ == "__main__":
    main()
