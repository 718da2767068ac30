"""Generic MCTS (:mod:`envs.mcts`) against Hex's compiled one (:mod:`envs.hex.mcts`): speed and strength.

    python benchmarks/mcts_generic_vs_hex.py [--games 100] [--sims 200] [--repeats 5] [--no-strength]

Speed: milliseconds per move at ``--sims`` simulations, 64 empty boards searched in one call (how
an env asks its opponent) and one board alone, on 5x5 and 7x7 Hex, with the ratio; then the
generic search on Connect Four (its ``mctsN``; no compiled peer), from the empty board, with its
compiled playouts and with the base class's (one batched ``play`` per ply), with the ratio. Times are
this process's CPU time (both searches run on one thread), the best of ``--repeats``: on a shared
machine, wall time measured other people's work as much as ours. Strength: the
generic mcts vs the compiled one on 5x5 Hex, half the games with each moving first, each game
opened by a random first move so the games differ.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from envs.base import RUNNING, TurnBasedGame
from envs.connect_four.core import ConnectFourCore
from envs.hex.core import HexCore
from envs.hex.mcts import MCTSPlayer
from envs.mcts import GenericMCTSPlayer


def ms_per_move(search, game: TurnBasedGame, boards: np.ndarray, reps: int, repeats: int) -> float:
    search(game, boards)  # compile / warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(reps):
            search(game, boards)
        best = min(best, time.process_time() - start)
    return best / (reps * boards.size) * 1e3


def compiled(player: MCTSPlayer):
    return lambda game, boards: game.from_absolute(player.select_cells(game.board[boards], game.to_move[boards]), boards)


def speed(sims: int, repeats: int) -> None:
    for size in (5, 7):
        for batch, reps in ((64, 2), (1, 10)):
            game = HexCore(batch, size=size)
            boards = np.arange(batch)
            generic = ms_per_move(GenericMCTSPlayer(sims, seed=0).search, game, boards, reps, repeats)
            fast = ms_per_move(compiled(MCTSPlayer(sims, seed=0)), game, boards, reps, repeats)
            print(f"{size}x{size} mcts{sims} batch {batch:2d}: generic {generic:7.2f} ms/move, compiled {fast:6.2f} ms/move, ratio {generic / fast:5.1f}x")
    for batch, reps in ((64, 2), (1, 4)):
        generic = ms_per_move(GenericMCTSPlayer(sims, seed=0).search, ConnectFourCore(batch), np.arange(batch), reps, repeats)
        plain = ms_per_move(GenericMCTSPlayer(sims, seed=0).search, PlainPlayoutConnectFour(batch), np.arange(batch), reps, repeats)
        print(
            f"Connect Four mcts{sims} batch {batch:2d}: generic {generic:7.2f} ms/move, with the base class's playouts {plain:7.2f} ms/move, ratio {plain / generic:5.1f}x"
        )


class PlainPlayoutConnectFour(ConnectFourCore):
    """Connect Four without its compiled playouts (``envs/connect_four/rollouts.py``): what a new
    game gets from the base class, one batched ``play`` per ply."""

    def rollout_winners(self, boards: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return TurnBasedGame.rollout_winners(self, boards, rng)


def strength(sims: int, games: int) -> None:
    game = HexCore(games, size=5)
    rng = np.random.default_rng(0)
    game.play(rng.integers(0, 25, size=games))  # a random opening per game, played for the first mover
    generic_seat = np.where(np.arange(games) < games // 2, 1, 0)  # generic second in the first half
    players = {"generic": GenericMCTSPlayer(sims, seed=1).search, "compiled": compiled(MCTSPlayer(sims, seed=2))}
    while (running := np.flatnonzero(game.winner == RUNNING)).size:
        mine = game.to_move[running] == generic_seat[running]
        for name, boards in (("generic", running[mine]), ("compiled", running[~mine])):
            if boards.size:
                game.play(players[name](game, boards), boards)
    won = game.winner == generic_seat
    print(
        f"5x5 mcts{sims}, {games} games with random openings: generic wins {won.sum()}/{games} "
        f"(as first mover {won[generic_seat == 0].sum()}/{(generic_seat == 0).sum()}, "
        f"as second {won[generic_seat == 1].sum()}/{(generic_seat == 1).sum()})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-strength", action="store_true", help="the timings only")
    args = parser.parse_args()
    speed(args.sims, args.repeats)
    if not args.no_strength:
        strength(args.sims, args.games)
