"""Gymnasium entry points for Hex: ``gymnasium.make("rlagent/Hex-v0")`` and ``make_vec``.

Observation: ``{"observation": float32 (3, n, n), "action_mask": int8 (n*n + 1,)}`` in the learner's
frame (planes: its stones, the opponent's, and "swap is legal now"; the board is transposed when
the learner plays second, so it always connects top and bottom). Action: a cell ``r * n + c`` of
that view, or ``n * n`` for the swap. The learner's colour: ``agent_color`` 0 (first), 1 (second) or
``"random"`` per game. ``opening_moves`` K > 0 starts each game with 0 to K uniformly random moves
(the count uniform per game; either side may then be to move), for training on positions from all
over the board. ``random_symmetry=True`` shows the learner each position turned 180 degrees (Hex's
symmetry: the value is the same) with probability 1/2 per step, its move turned back: the data
then holds every position both ways round, so the network learns one answer for both. The
opponent moves inside ``step``: a player name, ``random`` (the default,
uniformly random legal moves) or ``mctsN`` (UCT with N random-rollout simulations, see
:mod:`envs.player_names`), or an object (a callable player, a self-play pool). The path of a trained
agent is refused here (envs cannot load networks): ``rlagent.make_env`` turns it into a player first.
Every option is checked when the env is made, with a one-line ``ValueError``.
"""

from __future__ import annotations

from envs.actions import check_num_envs
from envs.hex.core import HexCore
from envs.turn_based_env import OpponentSpec, TurnBasedEnv, TurnBasedVectorEnv


def hex_env(
    size: int = 11,
    swap: bool = False,
    opponent: OpponentSpec = "random",
    agent_color: int | str = 0,
    render_mode: str | None = None,
    opening_moves: int = 0,
    random_symmetry: bool = False,
) -> TurnBasedEnv:
    """One Hex game against ``opponent``."""
    return TurnBasedEnv(
        HexCore(1, size, swap),
        opponent=opponent,
        agent_color=agent_color,
        render_mode=render_mode,
        opening_moves=opening_moves,
        random_symmetry=random_symmetry,
    )


def hex_vector_env(
    num_envs: int = 1,
    size: int = 11,
    swap: bool = False,
    opponent: OpponentSpec = "random",
    agent_color: int | str = 0,
    render_mode: str | None = None,
    opening_moves: int = 0,
    random_symmetry: bool = False,
) -> TurnBasedVectorEnv:
    """``num_envs`` Hex games on one batched core: the ``vector_entry_point`` of ``rlagent/Hex-v0``."""
    num_envs = check_num_envs(num_envs)
    return TurnBasedVectorEnv(
        HexCore(num_envs, size, swap),
        opponent=opponent,
        agent_color=agent_color,
        render_mode=render_mode,
        opening_moves=opening_moves,
        random_symmetry=random_symmetry,
    )
