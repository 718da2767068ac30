"""The Arena as a PettingZoo ``ParallelEnv``: every body acts on every step.

Agents are ``body_0 .. body_{K-1}``; each observes its own view (float32, see
:meth:`envs.arena.core.ArenaCore.observation`) and acts with MultiBinary(4) = [gun right, gun left,
thruster left, thruster right]. A body that is killed is terminated (and leaves ``agents``) at
that step; when the game ends every remaining agent is terminated. ``infos[agent]["result"]`` at
the end: 1 win, 0.5 draw, 0 loss by score. Nothing here is random unless ``spawn_jitter`` > 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.arena.core import ArenaCore
from envs.arena.rules import NUM_RAYS
from envs.simultaneous_env import check_learner_actions, check_render_mode, spaces_for


class ArenaParallelEnv(ParallelEnv):
    """One arena of ``num_bodies`` bodies for PettingZoo's parallel API."""

    metadata = {"name": "arena_v0", "render_modes": ["ansi", "rgb_array"], "render_fps": 10, "is_parallelizable": True}

    def __init__(self, core: ArenaCore, render_mode: str | None = None) -> None:
        self.core = core
        self.render_mode = check_render_mode(render_mode)
        self.possible_agents = [f"body_{k}" for k in range(core.num_seats)]
        self.agents: list[str] = []
        self._observation_space, self._action_space = spaces_for(core)
        self._one = np.zeros(1, np.int64)

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self.core.seed(seed)
        self.core.reset(self._one)
        self.agents = list(self.possible_agents)
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the game is over: call reset() before step()")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(f"actions for agents not in the game: {sorted(unknown)}; agents now: {self.agents}")
        batch = np.zeros((1, self.core.num_seats, self.core.num_actions), np.int8)
        for agent, action in actions.items():  # a loop over this arena's few agents, not over arenas
            batch[0, self.possible_agents.index(agent)] = check_learner_actions(action, 1, self.core.num_actions)[0]
        rewards_all = self.core.step(batch)[0]
        over = bool(self.core.over[0])
        outcome = self.core.outcome(self._one)[0] if over else None
        observations = self._observations()
        rewards, terminations, truncations, infos = {}, {}, {}, {}
        for agent in self.agents:
            k = self.possible_agents.index(agent)
            rewards[agent] = float(rewards_all[k])
            terminations[agent] = over or not bool(self.core.alive[0, k])
            truncations[agent] = False
            infos[agent] = {"result": float(outcome[k])} if outcome is not None else {}
        observations = {agent: observations[agent] for agent in self.agents}
        self.agents = [agent for agent in self.agents if not terminations[agent]]
        return observations, rewards, terminations, truncations, infos

    def _observations(self) -> dict[str, np.ndarray]:
        views = self.core.observation(self._one)[0]
        return {agent: views[k] for k, agent in enumerate(self.possible_agents) if agent in self.agents}

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.core.render_ansi(0)
        if self.render_mode == "rgb_array":
            return self.core.render_rgb(0)
        return None

    def state(self) -> np.ndarray:
        """The arena's full state as one vector (positions, velocities, headings, hp), for centralised critics."""
        c = self.core
        return np.concatenate([c.position[0].ravel(), c.velocity[0].ravel(), c.angle[0], c.angular_velocity[0], c.hp[0]]).astype(np.float32)


def parallel_env(
    preset: str = "original",
    num_bodies: int = 2,
    teams: str = "free_for_all",
    observation: str = "original",
    see_bullets: bool = False,
    see_hill: bool = False,
    num_rays: int = NUM_RAYS,
    spawn_jitter: float = 0.0,
    render_mode: str | None = None,
) -> ArenaParallelEnv:
    """The Arena for PettingZoo: agents ``body_0..body_{K-1}``; options as :class:`ArenaCore`'s."""
    core = ArenaCore(1, num_bodies, preset, teams, observation, see_bullets, see_hill, num_rays, spawn_jitter)
    return ArenaParallelEnv(core, render_mode)
