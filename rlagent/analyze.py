"""``python -m rlagent.analyze RUN_DIR[@puctN] --board TEXT [--to-move x|o] [--top 5] [--solve]``.

What a trained agent of any board game thinks of one position: its move probabilities drawn on the
board (for a Q-network, a Rainbow or DQN run: its action values Q instead, on the value scale), its
favourite moves in the game's notation, and its value estimate. Games that register more
(:mod:`rlagent.games.extras`) show more: for Hex, the swap, ``RUN_DIR@puctN`` (what a PUCT search of
N network evaluations makes of the position: visits, move values, proofs, its choice and value) and
``--solve`` (the exact winning moves, and how much probability the policy puts on them).

Each game reads its own board text (below, and in ``--help``).
"""

from __future__ import annotations

import argparse
import textwrap

from envs.player_names import search_name
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.errors import ConfigError
from rlagent.games.extras import extras_for
from rlagent.games.game_agent import board_games, load_game_agent
from rlagent.games.matches import game_factory
from rlagent.games.players import PolicyPlayer
from rlagent.games.position_analysis import analyze_position, position_report


def board_formats() -> str:
    """How each board game writes a position for ``--board``: its analysis's own format where it
    registered one (Hex), else the game's ``position_format``."""
    lines = []
    for name in board_games():
        text = extras_for(name).position_format or getattr(game_factory(name)(1), "position_format", "")
        if text:
            lines.append(textwrap.fill(f"{name}: {' '.join(text.split())}", width=100))
    return "\n\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m rlagent.analyze", description=__doc__.split("\n\n")[1] + "\n\n" + board_formats(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run",
        help="a run directory (its latest checkpoint) or a checkpoint file of a board-game agent; RUN@puctN (Hex): also search with N network evaluations",
    )
    parser.add_argument("--board", required=True, help='the position in the game\'s board text, e.g. "x..o./...../.....//" for Hex (formats above)')
    parser.add_argument("--to-move", type=str.lower, choices=("x", "o"), help="who is to move (default: from the stone counts)")
    parser.add_argument("--top", type=int, default=5, help="how many of the likeliest moves to list (default 5)")
    parser.add_argument("--solve", action="store_true", help="Hex: also solve the position exactly (boards up to 8x8) and mark the winning moves")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    search = search_name(args.run)
    agent, game = load_game_agent(search.path if search else args.run)
    extras = extras_for(agent.config.env)
    if extras.analyze is not None:
        print(extras.analyze(agent, args.board, args.to_move, args.top, args.solve, search.simulations if search else None))
        return 0
    if search or args.solve:
        which = "RUN@puctN" if search else "--solve"
        raise ConfigError(f"{which} needs a game with {'a search' if search else 'an exact solver'}; {agent.path} plays {game.name}: drop {which}")
    player = PolicyPlayer(agent.policy, name=agent.path.stem)
    to_move = None if args.to_move is None else "xo".index(args.to_move)
    analysis = analyze_position(player, game, args.board, to_move, getattr(agent.config.algorithm, "value_loss", "mse"))
    print(f"{agent.path} ({agent.config.algo}, {game.name})")
    print(position_report(analysis, args.top))
    return 0


if __name__ == "__main__":
    run_command(main)
