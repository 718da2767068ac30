"""A trained Hex agent as an opponent for people and positions: loading it with checks, the board size
its network plays, and a game against a :class:`~rlagent.games.players.HumanPlayer`.

The library behind ``python -m rlagent.play`` and ``python -m rlagent.analyze``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from envs.hex.core import HexCore, cell_name
from envs.hex.render import PLAYER_NAMES
from rlagent.agent import Agent, load_agent
from rlagent.errors import CheckpointError, ConfigError
from rlagent.games.players import HumanPlayer, PolicyPlayer
from rlagent.games.puct import PUCTPlayer
from rlagent.gym_envs import resolve_env_id


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


def play_game(agent: PolicyPlayer | PUCTPlayer, human: HumanPlayer, size: int, swap: bool, print_fn: Callable[[str], None] = print) -> int:
    """One game on a fresh board, drawn after every move; returns the winner (0 X, 1 O)."""
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
