"""``python -m rlagent.analyze RUN_DIR[@puctN] --board "x..o./...../.....//" [--to-move x|o] [--top 5]``.

What a trained agent of any board game thinks of one position: its move probabilities drawn on the
board as a heat map (for a Q-network, a Rainbow or DQN run: its action values Q instead, on the value scale),
its favourite moves, the swap if that is legal, and its value estimate. ``RUN_DIR@puctN`` adds what
a PUCT search of N network evaluations makes of it: the share of visits of each move on the board,
the most visited moves with their values (and the wins and losses it proved), its choice and its
value for the position. With ``--solve``, the exact answer beside it: whether the mover wins,
which moves keep the win, and how much probability the policy puts on them (boards up to 8x8;
:mod:`envs.hex.solver`).

The board text's format for Hex: :data:`rlagent.games.analysis.BOARD_FORMAT` (also in ``--help``).
Other games read their own (``position_format`` of the game, e.g. Connect Four's rows from the top,
``--board "...x/..xo"``) and get the move probabilities in their notation, drawn on the board where
the game can (:mod:`rlagent.games.position_analysis`); ``@puctN`` and ``--solve`` are Hex's.
"""

from __future__ import annotations

import argparse

from envs.player_names import search_name
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.games.analysis import BOARD_FORMAT, analyze, analyze_search, is_q_network, report, search_report, solve
from envs.hex.core import HexCore
from rlagent.errors import ConfigError
from rlagent.games.game_agent import load_game_agent
from rlagent.games.hex_agent import board_settings
from rlagent.games.position_analysis import analyze_position, position_report
from rlagent.games.players import PolicyPlayer
from rlagent.games.puct import PUCTPlayer


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m rlagent.analyze", description=__doc__.split("\n\n")[1] + "\n\n" + BOARD_FORMAT, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run", help="a run directory (its latest checkpoint) or a checkpoint file of a board-game agent; RUN@puctN (Hex): also search with N network evaluations"
    )
    parser.add_argument("--board", required=True, help='the position, e.g. "x..o./...../.....//" for Hex (format above)')
    parser.add_argument("--to-move", type=str.lower, choices=("x", "o"), help="who is to move (default: from the stone counts)")
    parser.add_argument("--top", type=int, default=5, help="how many of the likeliest moves to list (default 5)")
    parser.add_argument("--solve", action="store_true", help="also solve the position exactly (boards up to 8x8) and mark the winning moves")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    search = search_name(args.run)
    agent, game = load_game_agent(search.path if search else args.run)
    player = PolicyPlayer(agent.policy, name=agent.path.stem)
    value_loss = getattr(agent.config.algorithm, "value_loss", "mse")
    if not isinstance(game, HexCore):
        if search or args.solve:
            raise ConfigError(f"{'RUN@puctN' if search else '--solve'} is for Hex agents; {agent.path} plays {game.name}")
        to_move = None if args.to_move is None else "xo".index(args.to_move)
        analysis = analyze_position(player, game, args.board, to_move, value_loss)
        print(f"{agent.path} ({agent.config.algo}, {game.name})")
        print(position_report(analysis, args.top))
        return 0
    _, swap = board_settings(agent, None)
    result = analyze(player, args.board, args.to_move, swap=swap, value_loss=value_loss)
    if args.solve:
        result = solve(result)
    head = "Q-network: shows action values Q" if is_q_network(agent.policy) else f"{value_loss} value head"
    print(f"{agent.path} ({agent.config.algo}, {head})")
    print(report(result, args.top))
    if search:
        searcher = PUCTPlayer.from_agent(agent, search.simulations)
        print()
        print(search_report(analyze_search(searcher, args.board, args.to_move, swap=swap), args.top))
    return 0


if __name__ == "__main__":
    run_command(main)
