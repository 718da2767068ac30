"""A PettingZoo AEC env for any :class:`~envs.base.TurnBasedGame`, so each board game gets one free.

It follows the conventions of ``pettingzoo.classic`` (connect_four, tictactoe): agents ``player_0``
and ``player_1``; a Dict observation with ``"observation"`` and ``"action_mask"`` (all zeros for the
agent not to move); rewards +1 / -1 / 0 on the final step; both agents terminated at the end and then
stepped with ``None``. Two things are done natively instead of by wrappers: an illegal action (inside
the action space but masked out) ends the game with the mover losing (-1, the other +1) and
``info["illegal_action"] = True``, like ``TerminateIllegalWrapper`` but zero-sum; an action outside
the action space raises ``ValueError``.

Observations, masks and actions are in the acting agent's own frame (see the game's docs), so one
policy can play both seats. The turn comes from the game's ``to_move``, never from assumed alternation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsInt, cast

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from envs.base import RUNNING, TurnBasedGame

AGENTS = ("player_0", "player_1")
RENDER_MODES = ("ansi", "rgb_array")
_BOARD = np.zeros(1, dtype=np.int64)  # the only board; read-only so no game can change it
_BOARD.flags.writeable = False


class TurnBasedAECEnv(AECEnv[str, dict[str, np.ndarray], int]):
    """Two agents taking turns on the single board of ``make_game()`` (a game with batch_size 1)."""

    def __init__(self, make_game: Callable[[], TurnBasedGame], name: str, render_mode: str | None = None) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be None or one of {', '.join(RENDER_MODES)}; got {render_mode!r}")
        self.game = make_game()
        if not isinstance(self.game, TurnBasedGame) or self.game.batch_size != 1:
            raise ValueError(f"make_game must return a TurnBasedGame with batch_size 1, got {self.game!r}")
        self.metadata = {"render_modes": list(RENDER_MODES), "name": name, "is_parallelizable": False}
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents = self.possible_agents[:]
        n = self.game.num_actions
        # One space object per agent, kept for the env's life, so that seeding a space sticks.
        self.observation_spaces = {
            agent: spaces.Dict(
                {
                    "observation": spaces.Box(0.0, 1.0, self.game.observation_shape, dtype=np.float32),
                    "action_mask": spaces.Box(0, 1, (n,), dtype=np.int8),
                }
            )
            for agent in self.possible_agents
        }
        self.action_spaces = {agent: spaces.Discrete(n) for agent in self.possible_agents}
        self._needs_reset = True

    def observation_space(self, agent: str) -> spaces.Dict:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self.action_spaces[agent]

    # --- the AEC loop ------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game. The game has no chance; ``seed`` only seeds the agents' spaces."""
        self.game.reset(_BOARD)
        if seed is not None:
            for i, agent in enumerate(self.possible_agents):
                self.action_spaces[agent].seed(seed + i)
                self.observation_spaces[agent].seed(seed + i)
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {agent: {"action_mask": self._mask(agent)} for agent in self.agents}
        self._skip_agent_selection = None
        self.agent_selection = self.possible_agents[int(self.game.to_move[0])]
        self._needs_reset = False

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """``agent``'s own view of the board, even off turn, and its mask (zeros when off turn)."""
        self._check_reset("observe")
        player = self.possible_agents.index(agent)
        view = np.array(self.game.observation(_BOARD, player=player)[0], dtype=np.float32)
        return {"observation": view, "action_mask": self._mask(agent)}

    def step(self, action: int | np.integer | None) -> None:
        self._check_reset("step")
        if not self.agents:
            raise RuntimeError(f"{self.metadata['name']}: the game is over and every agent has left; call reset()")
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        move = self._check_action(action, agent)
        player = self.possible_agents.index(agent)
        other = self.possible_agents[1 - player]
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()

        illegal = not bool(self.game.is_legal(np.array([move]), _BOARD)[0])
        if illegal:
            self.game.forfeit(_BOARD)
        else:
            self.game.play(np.array([move]), _BOARD)

        winner = int(self.game.winner[0])
        if winner != RUNNING:
            if winner in (0, 1):
                self.rewards[self.possible_agents[winner]] = 1.0
                self.rewards[self.possible_agents[1 - winner]] = -1.0
            self.terminations = dict.fromkeys(self.agents, True)
            self.agent_selection = other
        else:
            self.agent_selection = self.possible_agents[int(self.game.to_move[0])]
        self.infos = {a: {"action_mask": self._mask(a)} for a in self.agents}
        if illegal:
            self.infos[agent]["illegal_action"] = True
        self._accumulate_rewards()

    # --- views for people --------------------------------------------------------------------
    def render(self) -> str | np.ndarray | None:
        """The board as text (``"ansi"``) or an ``(H, W, 3)`` uint8 picture (``"rgb_array"``)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() was called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        self._check_reset("render")
        if self.render_mode == "ansi":
            return self.game.render_ansi(0)
        return self.game.render_rgb(0)

    def close(self) -> None:
        """Nothing to release: rendering opens no window."""

    # --- helpers -----------------------------------------------------------------------------
    def _mask(self, agent: str) -> np.ndarray:
        """int8 legal-action mask for ``agent``: zeros off turn and once the game is over."""
        player = self.possible_agents.index(agent)
        if self.game.done[0] or int(self.game.to_move[0]) != player:
            return np.zeros(self.game.num_actions, dtype=np.int8)
        return self.game.legal_mask(_BOARD)[0].astype(np.int8)

    def _check_action(self, action: object, agent: str) -> int:
        """The action as an int; ``ValueError`` naming the valid range if it is not in the space."""
        n = self.game.num_actions
        name = self.metadata["name"]
        is_integer = isinstance(action, (int, np.integer)) or (
            isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer)
        )
        if isinstance(action, (bool, np.bool_)) or not is_integer:
            raise ValueError(f"{name}: the action of {agent} must be an integer in 0..{n - 1}, got {action!r}")
        move = int(cast(SupportsInt, action))  # an integer or a 0-d integer array, checked above
        if not 0 <= move < n:
            reason = self.game.describe_illegal(move, 0)
            raise ValueError(f"{name}: action {move} of {agent} is outside Discrete({n}); {reason}")
        return move

    def _check_reset(self, what: str) -> None:
        if self._needs_reset:
            raise RuntimeError(f"{self.metadata['name']}: call reset() before {what}()")
