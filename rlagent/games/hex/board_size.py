"""What a trained Hex agent's network plays: its board size, read off the network, and the settings
(size, swap rule) of games against it. Hex's part of the game tooling (:mod:`rlagent.games.game_agent`
loads an agent of any game), for its analysis, its PUCT search and the league's searched baselines.
"""

from __future__ import annotations

import math

from rlagent.agent import Agent
from rlagent.errors import ConfigError


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
