"""``python -m rlagent.evaluate RUN_DIR_OR_CHECKPOINT --opponent random --games 200``.

Plays a trained agent against an opponent, half the games with each colour (Hex has a first-move
advantage, so a single colour flatters or undersells), and prints win rates by colour with 95%
Wilson intervals. For single-agent envs it prints the mean return instead.
"""

from __future__ import annotations

from rlagent.agent import is_two_player, load_agent, play_episodes
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.errors import RlagentError
from rlagent.games.elo import wilson_interval
from rlagent.games.players import make_opponent, parse_player
from rlagent.monitor.trials import TrialStats


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(prog="python -m rlagent.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file")
    parser.add_argument("--opponent", default="random", help="for board games: random (default), mctsN (e.g. mcts200), or a run directory / checkpoint")
    parser.add_argument("--games", type=int, default=200, help="games or episodes to play (default 200)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--sample", action="store_true", help="sample moves instead of playing the most likely one")
    args = parser.parse_args(argv)
    if args.games < 2:
        raise RlagentError(f"--games must be at least 2, got {args.games}")
    parse_player(args.opponent, paths=True, what="opponent")  # refused before loading, for every env alike
    agent = load_agent(args.run)
    two_player = is_two_player(agent)
    print(f"{agent.path} ({agent.config.algo} on {agent.config.env} {dict(agent.config.env_kwargs)})")
    if not two_player:
        trials = TrialStats(window=10**9)
        returns = play_episodes(agent, args.games, args.opponent, None, args.seed, not args.sample, trials)
        print(f"mean return over {args.games} episodes: {returns.mean():.2f} (std {returns.std():.2f})")
        summary = trials.summary()  # trial tasks: accuracy by kind of condition
        if summary:
            print(f"  {int(summary['trial/trials'])} trials: accuracy {summary['trial/accuracy']:.1%}, "
                  f"on trivial conditions {summary.get('trial/accuracy_trivial', float('nan')):.1%}, "
                  f"on non-trivial {summary.get('trial/accuracy_nontrivial', float('nan')):.1%}; "
                  f"response rate {summary['trial/response_rate']:.1%}, reward per trial {summary['trial/reward_per_trial']:.3f}")
        return 0
    total_wins = 0
    for colour, name in ((0, "first"), (1, "second")):
        games = args.games // 2 if colour == 0 else args.games - args.games // 2
        opponent = make_opponent(args.opponent, seed=args.seed + colour)
        returns = play_episodes(agent, games, opponent, colour, args.seed + colour, not args.sample)
        wins = int((returns > 0).sum())
        total_wins += wins
        low, high = wilson_interval(wins, games)
        print(f"  as {name:<6} player: won {wins}/{games} = {wins / games:.1%} (95% CI {low:.1%}-{high:.1%})")
    low, high = wilson_interval(total_wins, args.games)
    print(f"  overall vs {args.opponent}: won {total_wins}/{args.games} = {total_wins / args.games:.1%} (95% CI {low:.1%}-{high:.1%})")
    return 0


if __name__ == "__main__":
    run_command(main)
