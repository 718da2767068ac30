"""Gymnasium entry points for Connect Four: ``gymnasium.make("rlagent/ConnectFour-v0")`` and ``make_vec``.

Observation: ``{"observation": float32 (2, 6, 7), "action_mask": int8 (7,)}`` in the learner's frame
(planes: its stones, the opponent's). Action: a column 0-6. The options mean what they mean for Hex
(:mod:`envs.hex.env`): ``agent_color`` 0, 1 or ``"random"``; ``opening_moves`` K starts each game
with 0 to K random moves; ``random_symmetry`` shows each position mirrored left-right half the
time. The opponent moves inside ``step``: ``random``, ``mctsN`` (the generic search of
:mod:`envs.mcts`) or a player object (a callable, a self-play pool).
"""

from __future__ import annotations

from envs.actions import check_num_envs
from envs.connect_four.core import ConnectFourCore
from envs.turn_based_env import OpponentSpec, TurnBasedEnv, TurnBasedVectorEnv


def connect_four_env(
    opponent: OpponentSpec = "random",
    agent_color: int | str = 0,
    render_mode: str | None = None,
    opening_moves: int = 0,
    random_symmetry: bool = False,
) -> TurnBasedEnv:
    """One Connect Four game against ``opponent``."""
    return TurnBasedEnv(
        ConnectFourCore(1),
        opponent=opponent,
        agent_color=agent_color,
        render_mode=render_mode,
        opening_moves=opening_moves,
        random_symmetry=random_symmetry,
    )


def connect_four_vector_env(
    num_envs: int = 1,
    opponent: OpponentSpec = "random",
    agent_color: int | str = 0,
    render_mode: str | None = None,
    opening_moves: int = 0,
    random_symmetry: bool = False,
) -> TurnBasedVectorEnv:
    """``num_envs`` games on one batched core: the ``vector_entry_point`` of ``rlagent/ConnectFour-v0``."""
    num_envs = check_num_envs(num_envs)
    return TurnBasedVectorEnv(
        ConnectFourCore(num_envs),
        opponent=opponent,
        agent_color=agent_color,
        render_mode=render_mode,
        opening_moves=opening_moves,
        random_symmetry=random_symmetry,
    )
