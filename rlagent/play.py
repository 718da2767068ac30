"""``python -m rlagent.play hex RUN_DIR [--color first|second|random] [--size N] [--seed S] [--sample]``.

Play Hex in the terminal against a trained agent (a run directory, its latest checkpoint, or a
checkpoint file). Type moves as a column letter and a row number (``c3``, as the board is drawn),
``swap`` where the swap rule allows it, or ``quit``. X (the first player) joins top and bottom, O
joins left and right. The board size and the swap rule are the run's own (its saved ``env_kwargs``),
since the network plays only the size it was trained on; ``--size`` is for runs that saved none.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.errors import ConfigError
from rlagent.games.hex_agent import board_settings, load_hex_agent, play_game, wants_another
from rlagent.games.players import HumanPlayer, PolicyPlayer, QuitGame

GAMES = ("hex",)
COLORS = ("first", "second", "random")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.play", description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("game", help=f"the game: {', '.join(GAMES)}")
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file")
    parser.add_argument("--color", choices=COLORS, default="random", help="your colour: first (X), second (O) or random per game (default)")
    parser.add_argument("--size", type=int, help="board size, for runs that saved none (default: the run's size)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the colour draw and --sample (default 0)")
    parser.add_argument("--sample", action="store_true", help="the agent samples its moves instead of playing its most likely one")
    parser.add_argument(
        "--temperature", type=float, default=1.0,
        help="with --sample: divides the logits (default 1); a Q-network (rainbow, dqn) samples softmax(Q / temperature), "
        "near uniform at 1 since Q is within [-1, 1]: try 0.1",
    )
    return parser


@one_line_errors
def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.game.lower() not in GAMES:
            raise ConfigError(f"unknown game {args.game!r}: valid games are {', '.join(GAMES)}")
        loaded = load_hex_agent(args.run)
        size, swap = board_settings(loaded, args.size)
        agent = PolicyPlayer(loaded.policy, greedy=not args.sample, temperature=args.temperature, seed=args.seed, name=loaded.path.stem)
        rng = np.random.default_rng(args.seed)
        print_fn(f"{loaded.path}: {size}x{size} Hex{' with the swap rule' if swap else ''}; type a cell like c3, or quit")
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
