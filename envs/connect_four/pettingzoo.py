"""Connect Four as a PettingZoo AEC env laid out like PettingZoo's own ``connect_four_v3``.

The generic :class:`~envs.turn_based_pettingzoo.TurnBasedAECEnv` plays the game; this adapter only
changes how an observation looks, so that code written for ``pettingzoo.classic.connect_four_v3``
(agents, action = column, ``observation`` int8 ``(6, 7, 2)`` with the agent's own stones in plane 0)
runs on it unchanged.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.connect_four.core import COLUMNS, ROWS, ConnectFourCore
from envs.turn_based_pettingzoo import _BOARD, TurnBasedAECEnv


class ConnectFourAECEnv(TurnBasedAECEnv):
    """``connect_four_v3``'s observation layout on the batched core (one board).

    One difference from ``connect_four_v3``: an illegal move loses zero-sum (-1 for the mover, +1
    for the other, ``info["illegal_action"]``) where PettingZoo's ``TerminateIllegalWrapper`` gives
    the other agent 0; and the action mask is all zeros once the game is over.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(lambda: ConnectFourCore(1), name="connect_four_v3", render_mode=render_mode)
        self.observation_spaces = {
            agent: spaces.Dict(
                {
                    "observation": spaces.Box(0, 1, (ROWS, COLUMNS, 2), dtype=np.int8),
                    "action_mask": spaces.Box(0, 1, (COLUMNS,), dtype=np.int8),
                }
            )
            for agent in self.possible_agents
        }

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """``agent``'s stones and the opponent's as the last axis (height, width, plane), int8."""
        self._check_reset("observe")
        player = self.possible_agents.index(agent)
        planes = self.game.observation(_BOARD, player=player)[0]
        return {"observation": np.ascontiguousarray(planes.transpose(1, 2, 0), dtype=np.int8), "action_mask": self._mask(agent)}


def pettingzoo_env(render_mode: str | None = None) -> ConnectFourAECEnv:
    """Two-player Connect Four for agents ``player_0`` (moves first) and ``player_1``; action = column 0-6."""
    return ConnectFourAECEnv(render_mode=render_mode)
