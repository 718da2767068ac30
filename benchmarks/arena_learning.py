"""Arena learning, the figures of issue 12: does PPO-GRU really get stronger there?

Default: ``python -m rlagent.train ppo --env arena`` as it is (the preset
``experiments/arena/ppo.yaml``: PPO-GRU from scratch against the scripted hunter), timed on this
machine, then the final agent plays ``--games`` games (half from each spawn, greedy) against every
scripted bot, counted won / drawn / lost by score with 95% Wilson intervals.

``--selfplay``: the self-play preset (``experiments/arena/selfplay.yaml``: a pool of its own
snapshots and the bots), then the league over all its checkpoints and the bots, anchored at the
first checkpoint so that each rating and its 95% interval is the gain since the start. Prints
the league table, the last checkpoint's gain, and whether it ends above every bot.

    python benchmarks/arena_learning.py [--seed 0] [--games 200] [--logdir logs]
    python benchmarks/arena_learning.py --selfplay [--league-games 20]

No assertion: this script prints figures (the learning test in CI is tests/test_arena_learning.py).
"""

from __future__ import annotations

import argparse
import time

import torch

from envs.arena.bots import BOT_NAMES
from rlagent.agent import load_agent
from rlagent.config import resolve
from rlagent.episodes import results_by_seat
from rlagent.games.elo import wilson_interval
from rlagent.games.league import find_entrants, format_table, league_table, read_matches, run_league
from rlagent.run import Trainer


def train(config_file: str | None, seed: int, logdir: str) -> tuple[str, float]:
    overrides = [f"run.seed={seed}", f"run.logdir={logdir}"]
    config = resolve("ppo", "arena", config_file=config_file, overrides=overrides)
    start = time.perf_counter()
    result = Trainer(config).train()
    return str(result.run_dir), time.perf_counter() - start


def against_bots(run_dir: str, games: int) -> None:
    agent = load_agent(run_dir)
    print(f"{'opponent':<8} {'won':>14} {'drawn':>8} {'lost':>8}   95% interval of the win rate")
    for bot in BOT_NAMES:
        results = results_by_seat(agent, bot, games, seed=2026)
        won, drawn, lost = (sum(getattr(r, f) for r in results) for f in ("won", "drawn", "lost"))
        low, high = wilson_interval(won, games)
        print(f"{bot:<8} {won:>5}/{games} {won / games:>6.1%} {drawn:>8} {lost:>8}   {low:.1%}-{high:.1%}")


def selfplay_league(run_dir: str, games: int) -> None:
    entrants = find_entrants(run_dir)
    first, last = entrants[0].name, entrants[-1].name
    start = time.perf_counter()
    ratings = run_league(run_dir, games=games, anchor=first, progress=True)
    print(f"league: {len(entrants)} checkpoints and {len(BOT_NAMES)} bots, {games} games a pair, {time.perf_counter() - start:.0f} s")
    print(format_table(league_table(ratings, read_matches(f"{run_dir}/league/matches.csv"))))
    low, high = ratings.intervals[last]
    bots = {bot: ratings.ratings[bot] for bot in BOT_NAMES}
    best_bot = max(bots, key=bots.get)
    print(f"{last} - {first}: {ratings.ratings[last]:+.0f} Elo (95% interval {low:+.0f} to {high:+.0f})")
    print(
        f"{last} ends {'above' if ratings.ratings[last] > bots[best_bot] else 'BELOW'} every bot "
        f"(best bot {best_bot} {bots[best_bot]:+.0f}; {last}'s interval low {low:+.0f})"
    )
    print(f"plot: {run_dir}/league/elo.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", type=int, default=200, help="games against each bot (default 200)")
    parser.add_argument("--logdir", default="logs")
    parser.add_argument("--selfplay", action="store_true", help="the self-play preset and its league instead")
    parser.add_argument("--league-games", type=int, default=20, help="league games per pair (default 20)")
    parser.add_argument("--run", help="skip training: measure this run directory")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.run:
        run_dir, seconds = args.run, None
    else:
        run_dir, seconds = train("experiments/arena/selfplay.yaml" if args.selfplay else None, args.seed, args.logdir)
        print(f"trained {run_dir} in {seconds / 60:.1f} min")
    if args.selfplay:
        selfplay_league(run_dir, args.league_games)
    else:
        against_bots(run_dir, args.games)


if __name__ == "__main__":
    main()
