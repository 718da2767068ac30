"""``python -m rlagent.league RUN_DIR [--games 40] [--baselines random,mcts100] [--workers 0] [--backend local|ray] [--snapshots all|latest]``.

Rates every checkpoint and self-play pool snapshot of a run, together with fixed baselines
(``random``, ``mctsN``; for Hex also ``RUN@puctN``, the run's agent searched with PUCT), on one
Bradley-Terry Elo scale, so that progress is measured against players that do not change while
the learner does. How the games are planned and why: :mod:`rlagent.games.league`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.distributed import add_backend_arguments, start_backend
from rlagent.games.league import (
    DEFAULT_POSITIONS,
    LEAGUE_DIR,
    MATCHES_FILE,
    OPENING_RULES,
    PLOT_FILE,
    RATINGS_FILE,
    SNAPSHOT_RULES,
    read_position_scores,
    run_league,
)
from rlagent.games.league_report import format_table, league_table
from rlagent.games.match_table import read_matches


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.league", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by python -m rlagent.train")
    parser.add_argument("--games", type=int, default=40, help="games per pair of entrants, even (default 40)")
    parser.add_argument(
        "--baselines",
        help="comma-separated fixed players: random, mctsN, Arena bots (idle, hill, turret, hunter), for Hex RUN@puctN "
        "(a run's latest checkpoint, or a checkpoint file, searched with N network evaluations per move); '' for none "
        "(default random,mcts100 for board games, idle,random,hill,turret,hunter for the Arena)",
    )
    parser.add_argument(
        "--snapshots",
        choices=SNAPSHOT_RULES,
        default="all",
        help="which of the run's checkpoints and pool snapshots play: all (default) or the latest only (e.g. to rate searches of the final agent)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes to play pairings in (default 0: this one); with --backend ray and no --address, the cores of the Ray it starts (0: all)",
    )
    add_backend_arguments(parser)
    parser.add_argument("--anchor", help="the player fixed at 0 Elo (default random if it plays, else the oldest checkpoint)")
    parser.add_argument(
        "--openings",
        choices=OPENING_RULES,
        default="random",
        help="first move of each game: random legal cell (default), suite (every cell once per colour order), none; "
        "in the Arena an opening is a numbered jittered spawn (64 of them)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the openings and of the baselines' moves (default 0)")
    parser.add_argument(
        "--positions",
        type=int,
        default=DEFAULT_POSITIONS,
        help=f"Hex up to 7x7: grade every entrant on N random-play positions with exact values, the table's 'win move' column (default {DEFAULT_POSITIONS}; 0: off)",
    )
    parser.add_argument("--gifs", action="store_true", help="Arena: also record one sample match per pair of entrants in league/samples/")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(1)  # small batches of small networks: more threads only add overhead
    start_backend(args.backend, args.address, num_cpus=args.workers if args.workers > 0 else None)
    matches_path = Path(args.run_dir) / LEAGUE_DIR / MATCHES_FILE
    before = len(read_matches(matches_path))
    ratings = run_league(
        args.run_dir,
        args.games,
        args.baselines,
        args.workers,
        anchor=args.anchor,
        openings=args.openings,
        seed=args.seed,
        gifs=args.gifs,
        positions=args.positions,
        snapshots=args.snapshots,
        backend=args.backend,
    )
    results = read_matches(matches_path)
    league_dir = matches_path.parent
    print(f"played {len(results) - before} new games; {len(results)} in {matches_path}")
    print(format_table(league_table(ratings, results, read_position_scores(league_dir, args.positions, args.seed))))
    low, high = ratings.advantage_interval
    if (low, high) != (0.0, 0.0):
        print(f"first-move advantage {ratings.first_move_advantage:+.0f} Elo [{low:+.0f}, {high:+.0f}]; {ratings.anchor} is fixed at 0")
    else:
        print(f"symmetric seats: no first-move advantage fitted; {ratings.anchor} is fixed at 0")
    print(f"wrote {league_dir / RATINGS_FILE}, {league_dir / PLOT_FILE} and TensorBoard scalars elo/* in {league_dir}")
    return 0


if __name__ == "__main__":
    run_command(main)
