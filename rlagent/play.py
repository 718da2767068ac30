"""``python -m rlagent.play hex RUN_DIR[@puctN] [--color first|second|random] [--size N] [--seed S] [--sample]``.

Play Hex in the terminal against a trained agent (a run directory, its latest checkpoint, or a
checkpoint file). Type moves as a column letter and a row number (``c3``, as the board is drawn),
``swap`` where the swap rule allows it, or ``quit``. X (the first player) joins top and bottom, O
joins left and right. The board size and the swap rule are the run's own (its saved ``env_kwargs``),
since the network plays only the size it was trained on; ``--size`` is for runs that saved none.
``RUN_DIR@puctN`` plays the agent through a PUCT search of N network evaluations per move.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from envs.player_names import search_name
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.errors import ConfigError
from rlagent.games.hex_agent import board_settings, load_hex_agent, play_game, wants_another
from rlagent.games.players import HumanPlayer, PolicyPlayer, QuitGame
from rlagent.games.puct import PUCTPlayer

GAMES = ("hex",)
COLORS = ("first", "second", "random")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.play", description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("game", help=f"the game: {', '.join(GAMES)}")
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file; RUN@puctN: searched with N network evaluations per move")
    parser.add_argument("--color", choices=COLORS, default="random", help="your colour: first (X), second (O) or random per game (default)")
    parser.add_argument("--size", type=int, help="board size, for runs that saved none (default: the run's size)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the colour draw and --sample (default 0)")
    parser.add_argument("--sample", action="store_true", help="the agent samples its moves instead of playing its most likely one")
    parser.add_argument(
        "--temperature", type=float, default=1.0,
        help="with --sample: divides the logits (default 1); a Q-network (rainbow, dqn) samples softmax(Q / temperature), "
        "near uniform at 1 since Q is within [-1, 1]: try 0.1; RUN@puctN samples in proportion to visits ** (1 / temperature)",
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.game.lower() not in GAMES:
            raise ConfigError(f"unknown game {args.game!r}: valid games are {', '.join(GAMES)}")
        search = search_name(args.run)
        loaded = load_hex_agent(search.path if search else args.run)
        size, swap = board_settings(loaded, args.size)
        agent: PUCTPlayer | PolicyPlayer
        if search:
            temperature = args.temperature if args.sample else 0.0
            agent = PUCTPlayer.from_agent(loaded, search.simulations, seed=args.seed, temperature=temperature)
        else:
            agent = PolicyPlayer(loaded.policy, greedy=not args.sample, temperature=args.temperature, seed=args.seed, name=loaded.path.stem)
        rng = np.random.default_rng(args.seed)
        searched = f", searched with PUCT ({search.simulations} evaluations per move)" if search else ""
        print_fn(f"{loaded.path}{searched}: {size}x{size} Hex{' with the swap rule' if swap else ''}; type a cell like c3, or quit")
        while True:
            color = int(rng.integers(2)) if args.color == "random" else COLORS.index(args.color)
            human = HumanPlayer(color, input_fn=input_fn, print_fn=print_fn, show_board=False)
            play_game(agent, human, size, swap, print_fn)
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
