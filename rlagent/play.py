"""``python -m rlagent.play GAME RUN_DIR[@puctN] [--color first|second|random] [--seed S] [--sample]``.

Play a board game in the terminal against a trained agent (a run directory, its latest checkpoint,
or a checkpoint file): any registered turn-based game (``hex``, ``connect4``, or one you add). Type
moves in the game's notation (Hex: a cell as drawn, like ``c3``, or ``swap`` where the swap rule
allows it; Connect Four: a column ``a``-``g``), or ``quit``. The board is the run's own (its saved
env options: size, swap rule), since the network plays only that. ``RUN_DIR@puctN`` plays the agent
through its game's search of N network evaluations per move (Hex's PUCT; :mod:`rlagent.games.extras`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from envs.player_names import search_name
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.games.extras import searched_agent
from rlagent.games.game_agent import check_game, load_game_agent
from rlagent.games.human import HumanPlayer, QuitGame, play_game, wants_another
from rlagent.games.players import PolicyPlayer

COLORS = ("first", "second", "random")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.play", description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("game", help="the game: a registered board game (hex, connect4, ...)")
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file; RUN@puctN: searched with N network evaluations per move")
    parser.add_argument("--color", choices=COLORS, default="random", help="your side: first, second or random per game (default)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the colour draw and --sample (default 0)")
    parser.add_argument("--sample", action="store_true", help="the agent samples its moves instead of playing its most likely one")
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="with --sample: divides the logits (default 1); a Q-network (rainbow, dqn) samples softmax(Q / temperature), "
        "near uniform at 1 since Q is within [-1, 1]: try 0.1; RUN@puctN samples in proportion to visits ** (1 / temperature)",
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_game(args.game)
        search = search_name(args.run)
        loaded, game = load_game_agent(search.path if search else args.run, args.game)
        if search:
            temperature = args.temperature if args.sample else 0.0
            agent = searched_agent(loaded, search.simulations, seed=args.seed, temperature=temperature)
        else:
            agent = PolicyPlayer(loaded.policy, greedy=not args.sample, temperature=args.temperature, seed=args.seed, name=loaded.path.stem)
        rng = np.random.default_rng(args.seed)
        searched = f", searched with PUCT ({search.simulations} evaluations per move)" if search else ""
        print_fn(f"{loaded.path}{searched}: {game.name}; type {game.move_format}, or quit")
        while True:
            color = int(rng.integers(2)) if args.color == "random" else COLORS.index(args.color)
            human = HumanPlayer(color, input_fn=input_fn, print_fn=print_fn, show_board=False)
            play_game(agent, human, game, print_fn)
            if not wants_another(input_fn):
                return 0
    except QuitGame:
        print_fn("bye")
        return 0
    except KeyboardInterrupt:
        print_fn("\ngame abandoned")
        return 130


if __name__ == "__main__":
    run_command(main)
