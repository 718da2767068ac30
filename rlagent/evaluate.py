"""``python -m rlagent.evaluate RUN_DIR_OR_CHECKPOINT[@puctN] --opponent random --games 200``.

Plays a trained agent against an opponent, half the games with each colour (Hex has a first-move
advantage, so a single colour flatters or undersells), and prints win rates by colour with 95%
Wilson intervals. In the Arena, half the games from each spawn (each jittered by up to 0.5, so
that greedy play against a scripted bot is not one game replayed), counted won / drawn / lost by
score. For single-agent envs it prints the mean return instead.

``--positions N`` grades a Hex agent against exact values instead of an opponent: N positions from
uniformly random play (seeded), and of those won for the side to move, the share where its greedy
move keeps the win, overall and by stone count (boards up to 8x8; :mod:`rlagent.games.hex.solved_positions`),
where the game registers exact values (:mod:`rlagent.games.extras`). An agent written ``RUN@puctN``
plays through its game's search of N network evaluations per move (Hex: :mod:`rlagent.games.hex.puct`),
and ``--opponent`` takes the same form.

``--tactics`` (board games) then plays the same number of games again, reading before each of the
agent's moves whether it missed a win in one or let the opponent win at once where a safe move
existed (:mod:`rlagent.games.tactics`): whether it loses to tactics one move deep or is outplayed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, cast

from envs.base import TurnBasedGame
from envs.player_names import search_name
from rlagent.agent import Agent, load_agent
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.episodes import is_seated, is_two_player, results_by_seat, trial_accuracy, win_rates_by_colour
from rlagent.errors import RlagentError
from rlagent.games.elo import wilson_interval
from rlagent.games.extras import extras_for, games_with, searched_agent
from rlagent.games.game_agent import board_games
from rlagent.games.matches import Player, game_factory
from rlagent.games.players import PolicyPlayer, make_opponent, make_player, parse_player
from rlagent.games.tactics import tactics_match


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="python -m rlagent.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "run", help="a run directory (its latest checkpoint) or a checkpoint file; RUN@puctN: a Hex agent searched with N network evaluations per move"
    )
    parser.add_argument(
        "--opponent",
        default="random",
        help="random (default); for board games mctsN (e.g. mcts200); for the Arena idle, hill, turret, hunter; a run directory / checkpoint; "
        "for Hex also RUN@puctN",
    )
    parser.add_argument("--games", type=int, default=200, help="games or episodes to play (default 200)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--positions", type=int, metavar="N", help="Hex: grade the greedy move in N random-play positions with the exact solver instead of playing games"
    )
    parser.add_argument("--stones", metavar="LOW-HIGH", help="with --positions: the stone counts to draw (default by size: 5x5 4-14, 7x7 20-38)")
    parser.add_argument(
        "--tactics",
        action="store_true",
        help="board games: play the games again and count the agent's missed wins in one and moves that let the opponent win at once",
    )
    parser.add_argument(
        "--sample",
        action="store_true",
        help="sample moves instead of playing the most likely one (a Q-network, rainbow or dqn, has no distribution to sample: it stays greedy; "
        "RUN@puctN samples in proportion to its visits)",
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.games < 2:
        raise RlagentError(f"--games must be at least 2, got {args.games}")
    if args.positions is not None:
        if args.tactics:
            raise RlagentError("--tactics plays games against --opponent; --positions grades positions without an opponent: use one or the other")
        return print_position_score(args.run, args.positions, args.seed, args.stones)
    if args.stones is not None:
        raise RlagentError("--stones only applies with --positions N")
    parse_player(args.opponent, paths=True, what="opponent")  # refused before loading, for every env alike
    search = search_name(args.run)
    agent = load_agent(search.path if search else args.run)
    actor = searched_agent(agent, search.simulations, seed=args.seed, temperature=float(args.sample)) if search else None
    searched = f" searched with PUCT, {search.simulations} evaluations per move" if search else ""
    print(f"{agent.path}{searched} ({agent.config.algo} on {agent.config.env} {dict(agent.config.env_kwargs)})")
    if args.tactics and (is_seated(agent) or not is_two_player(agent)):
        raise RlagentError(
            f"--tactics reads a board game's moves one move deep; {agent.config.env} is not a two-player board game (valid: {', '.join(board_games())})"
        )
    if is_seated(agent):
        print_seat_results(results_by_seat(agent, args.opponent, args.games, args.seed, deterministic=not args.sample), args.opponent)
        return 0
    if not is_two_player(agent):
        returns, summary = trial_accuracy(agent, args.games, args.seed, deterministic=not args.sample)
        print(f"mean return over {args.games} episodes: {returns.mean():.2f} (std {returns.std():.2f})")
        if summary:  # trial tasks: accuracy by kind of condition
            print(
                f"  {int(summary['trial/trials'])} trials: accuracy {summary['trial/accuracy']:.1%}, "
                f"on trivial conditions {summary.get('trial/accuracy_trivial', float('nan')):.1%}, "
                f"on non-trivial {summary.get('trial/accuracy_nontrivial', float('nan')):.1%}; "
                f"response rate {summary['trial/response_rate']:.1%}, reward per trial {summary['trial/reward_per_trial']:.3f}"
            )
        return 0
    results = win_rates_by_colour(agent, args.opponent, args.games, args.seed, deterministic=not args.sample, actor=actor)
    for result in results:
        low, high = result.interval
        name = ("first", "second")[result.colour]
        print(f"  as {name:<6} player: won {result.wins}/{result.games} = {result.rate:.1%} (95% CI {low:.1%}-{high:.1%})")
    wins = sum(r.wins for r in results)
    low, high = wilson_interval(wins, args.games)
    print(f"  overall vs {args.opponent}: won {wins}/{args.games} = {wins / args.games:.1%} (95% CI {low:.1%}-{high:.1%})")
    if args.tactics:
        print_tactics(agent, actor, args)
    return 0


def print_tactics(agent: Agent, actor: Any, args: argparse.Namespace) -> None:
    """``--tactics``: a second match of ``args.games`` games, the agent's moves classified."""
    factory = game_factory(agent.config.env, dict(agent.config.env_kwargs))
    game = factory(1)
    if not isinstance(game, TurnBasedGame) or not game.state_fields:
        raise RlagentError(f"--tactics needs a turn-based board game whose positions can be copied (state_fields), not {agent.config.env}")
    player = actor if actor is not None else PolicyPlayer(agent.policy, greedy=not args.sample, seed=args.seed, name=agent.path.stem)
    spec = make_opponent(args.opponent, seed=args.seed)
    # a name (random, mctsN) is the game's own player; a run is a loaded player already
    opponent = cast(Player, make_player(spec, seed=args.seed, game=game) if isinstance(spec, str) else spec)
    games = args.games + args.games % 2
    report = tactics_match(cast(Callable[[int], TurnBasedGame], factory), player, opponent, games)
    print(f"  tactics match, {games} more games: won {report.wins}, lost {report.losses}")
    for line in report.lines(args.opponent):
        print(line)


def print_position_score(run: str, count: int, seed: int, stones: str | None) -> int:
    """``--positions``: the exact-value score of the agent's greedy move (``RUN@puctN``: of the move
    its search chooses), for the games that register solved positions (Hex)."""
    search = search_name(run)
    env = load_agent(search.path if search else run).config.env
    grade = extras_for(env).evaluate_positions
    if grade is None:
        raise RlagentError(f"--positions needs a game with exact values; {env} has none (games with them: {games_with('evaluate_positions')})")
    for line in grade(run, count, seed, stones):
        print(line)
    return 0


def print_seat_results(results: list, opponent: str) -> None:
    """Won / drawn / lost by score from each seat and overall, with 95% Wilson intervals."""
    for result in results + [_total(results)]:
        where = f"from seat {result.seat}" if result.seat >= 0 else "overall"
        parts = []
        for label, count in (("won", result.won), ("drawn", result.drawn), ("lost", result.lost)):
            low, high = result.interval(count)
            parts.append(f"{label} {count}/{result.games} = {count / result.games:.1%} ({low:.1%}-{high:.1%})")
        print(f"  {where:<12} vs {opponent}: " + ", ".join(parts))


def _total(results: list) -> object:
    first = results[0]
    return type(first)(-1, sum(r.won for r in results), sum(r.drawn for r in results), sum(r.lost for r in results))


if __name__ == "__main__":
    run_command(main)
