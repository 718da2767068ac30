"""``python -m rlagent.play hex RUN_DIR [--color first|second|random] [--size N] [--seed S] [--sample]``.

Play Hex in the terminal against a trained agent (a run directory, its latest checkpoint, or a
checkpoint file). Type moves as a column letter and a row number (``c3``, as the board is drawn),
``swap`` where the swap rule allows it, or ``quit``. X (the first player) joins top and bottom, O
joins left and right. The board size and the swap rule are the run's own (its saved ``env_kwargs``),
since the network plays only the size it was trained on; ``--size`` is for runs that saved none.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rlagent.errors import CheckpointError, ConfigError, RlagentError
from rlagent.evaluate import Agent, load_agent
from rlagent.make_env import resolve_env_id
from rlagent.players import HumanPlayer, PolicyPlayer, QuitGame
from rlagent.cli import OneLineErrorParser, run_command

GAMES = ("hex",)
COLORS = ("first", "second", "random")


def load_hex_agent(path: str | Path) -> Agent:
    """A trained agent that plays Hex; the errors say what to pass instead."""
    if not Path(path).exists():
        raise CheckpointError(f"{path} does not exist: pass a run directory (e.g. logs/hex-ppo-...) or a checkpoint file")
    agent = load_agent(path)
    if resolve_env_id(agent.config.env) != resolve_env_id("hex"):
        raise ConfigError(f"{agent.path} was trained on {agent.config.env}, not Hex: pass a Hex run")
    return agent


def policy_board_size(policy: object) -> int:
    """The board size a Hex network plays, read from its action mask (``n * n`` cells and the swap).

    The networks are not size-agnostic, so this, not a command-line flag, decides the size.
    """
    mask_size = getattr(getattr(policy, "inputs", None), "mask_size", None)
    n = math.isqrt(mask_size - 1) if mask_size else 0
    if not mask_size or n * n + 1 != mask_size:
        raise ConfigError(f"this network has {mask_size} actions, which is not n * n cells and a swap: it does not play Hex")
    return n


def board_settings(agent: Agent, requested_size: int | None) -> tuple[int, bool]:
    """(size, swap) for games against ``agent``: the run's own, and a ``--size`` only where it agrees."""
    network = policy_board_size(agent.policy)
    kwargs = dict(agent.config.env_kwargs)
    size = int(kwargs.get("size", network)) if requested_size is None else requested_size
    if size != network:
        raise ConfigError(f"the agent's network plays {network}x{network} boards only, not {size}x{size}: drop --size or pass --size {network}")
    return size, bool(kwargs.get("swap", False))


def play_game(agent: PolicyPlayer, human: HumanPlayer, size: int, swap: bool, print_fn: Callable[[str], None] = print) -> int:
    """One game on a fresh board, drawn after every move; returns the winner (0 X, 1 O)."""
    from envs.hex.core import HexCore, cell_name
    from envs.hex.render import PLAYER_NAMES

    core = HexCore(1, size, swap)
    print_fn(f"you play {PLAYER_NAMES[human.color]} ({'first, joining top and bottom' if human.color == 0 else 'second, joining left and right'})")
    print_fn(core.render_ansi())
    while not core.done[0]:
        mover = int(core.to_move[0])
        player = human if mover == human.color else agent
        action = int(player(core.observation(), core.legal_mask().astype(np.int8))[0])
        cell = int(core.to_absolute(np.array([action]))[0])
        core.play(np.array([action]))
        move = "swap" if action == size * size else cell_name(cell, size)
        who = "you" if player is human else "agent"
        print_fn(f"{who} ({PLAYER_NAMES[mover]}) played {move}")
        print_fn(core.render_ansi())
    winner = int(core.winner[0])
    print_fn(f"the winner: {PLAYER_NAMES[winner]} ({'you' if winner == human.color else 'the agent'})")
    return winner


def wants_another(input_fn: Callable[[str], str]) -> bool:
    try:
        return input_fn("another game? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.play", description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("game", help=f"the game: {', '.join(GAMES)}")
    parser.add_argument("run", help="a run directory (its latest checkpoint) or a checkpoint file")
    parser.add_argument("--color", choices=COLORS, default="random", help="your colour: first (X), second (O) or random per game (default)")
    parser.add_argument("--size", type=int, help="board size, for runs that saved none (default: the run's size)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the colour draw and --sample (default 0)")
    parser.add_argument("--sample", action="store_true", help="the agent samples its moves instead of playing its most likely one")
    return parser


def main(argv: list[str] | None = None, input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.game.lower() not in GAMES:
            raise ConfigError(f"unknown game {args.game!r}: valid games are {', '.join(GAMES)}")
        loaded = load_hex_agent(args.run)
        size, swap = board_settings(loaded, args.size)
        agent = PolicyPlayer(loaded.policy, greedy=not args.sample, seed=args.seed, name=loaded.path.stem)
        rng = np.random.default_rng(args.seed)
        print_fn(f"{loaded.path}: {size}x{size} Hex{' with the swap rule' if swap else ''}; type a cell like c3, or quit")
        while True:
            color = int(rng.integers(2)) if args.color == "random" else COLORS.index(args.color)
            human = HumanPlayer(color, input_fn=input_fn, print_fn=print_fn, show_board=False)
            play_game(agent, human, size, swap, print_fn)
            if not wants_another(input_fn):
                return 0
    except RlagentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except QuitGame:
        print_fn("bye")
        return 0
    except KeyboardInterrupt:
        print_fn("\ngame abandoned")
        return 130


if __name__ == "__main__":
    run_command(main)
