"""The batched Arena: B arenas of K bodies as arrays, stepped all at once.

State is plain arrays with the arena first (``position`` (B, K, 2), ``hp`` (B, K), bullets
(B, K, G, ...)), so that adapters, scripted bots and renderers read it directly. The physics and
the rays run in :mod:`envs.arena.kernels` (one compiled call per step for the whole batch); this
class owns the state, the spawns, the observations and the bookkeeping of episodes.

An arena that has ended is not stepped again until it is reset (``reset(arenas)``), which is
what the vector adapters do for the arenas that ended on a step.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from envs.arena import kernels
from envs.arena.bots import BOT_NAMES, make_bot
from envs.arena.rules import (
    BODY_RADIUS,
    BULLET_SLOTS,
    COOLDOWN_STEPS,
    EPISODE_STEPS,
    HALF_WIDTH,
    MAX_BODIES,
    NUM_ACTIONS,
    NUM_RAYS,
    OBSERVATIONS,
    RAY_FAN,
    RAY_LENGTH,
    START_HP,
    TEAM_MODES,
    ArenaRules,
    preset,
)
from envs.base import SimultaneousGame
from envs.batched_random import BatchedRandom
from envs.player_names import PlayerName

OPENING_JITTER = 0.5  # the least spawn jitter of a numbered opening (league, evaluation)
RAY_KINDS = (kernels.WALL, kernels.ENEMY, kernels.ALLY, kernels.BULLET, kernels.HILL)
RICH_SCALARS = ("hp", "right_gun_ready", "left_gun_ready", "hill_cos", "hill_sin", "hill_distance", "on_hill", "time_left", "lead")


class ArenaCore(SimultaneousGame):
    """``batch_size`` arenas of ``num_bodies`` bodies under one preset's rules.

    ``teams``: ``free_for_all`` (every body for itself) or ``two_teams`` (even bodies against odd
    ones). ``observation``: ``original`` (the 23 values of the original game) or ``rich`` (also
    what each ray hit, hp, the guns' readiness, the hill's bearing and distance, time left and the
    score lead). ``see_bullets`` / ``see_hill``: rays also stop at bullets / the hill's edge.
    ``spawn_jitter``: each body's spawn heading is turned by up to this many radians and its
    position moved by up to this many units along each axis, drawn per arena from ``seed``
    (0, the default, spawns exactly as the rules say, so the game itself has no randomness).
    """

    name = "arena"

    def __init__(
        self,
        batch_size: int,
        num_bodies: int = 2,
        preset_name: str | ArenaRules = "original",
        teams: str = "free_for_all",
        observation: str = "original",
        see_bullets: bool = False,
        see_hill: bool = False,
        num_rays: int = NUM_RAYS,
        spawn_jitter: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.rules = preset(preset_name)
        _check_options(batch_size, num_bodies, teams, observation, num_rays, spawn_jitter)
        super().__init__(batch_size, num_bodies)
        self.teams_mode, self.observation_mode = teams, observation
        self.see_bullets, self.see_hill, self.spawn_jitter = bool(see_bullets), bool(see_hill), float(spawn_jitter)
        self.team = (np.arange(num_bodies) % 2 if teams == "two_teams" else np.arange(num_bodies)).astype(np.int64)
        self.walls = self.rules.walls()
        self.ray_offsets = np.zeros(1) if num_rays == 1 else np.linspace(-RAY_FAN / 2, RAY_FAN / 2, num_rays)
        self.random = BatchedRandom(batch_size, seed)
        b, k = batch_size, num_bodies
        self.position = np.zeros((b, k, 2))
        self.velocity = np.zeros((b, k, 2))
        self.angle = np.zeros((b, k))
        self.angular_velocity = np.zeros((b, k))
        self.hp = np.zeros((b, k), np.int64)
        self.alive = np.zeros((b, k), bool)
        self.since_shot = np.zeros((b, k, 2), np.int64)
        self.last_hitter = np.full((b, k), -1, np.int64)
        self.bullet_position = np.zeros((b, k, BULLET_SLOTS, 2))
        self.bullet_velocity = np.zeros((b, k, BULLET_SLOTS, 2))
        self.bullet_age = np.full((b, k, BULLET_SLOTS), -1, np.int64)
        self.score = np.zeros((b, k))
        self.last_rewards = np.zeros((b, k))
        self.last_hits = np.zeros((b, k), np.int64)
        self.last_hurts = np.zeros((b, k), np.int64)
        self._killed_off = np.zeros(b, bool)
        self._team_matrix = (self.team[:, None] == np.arange(int(self.team.max()) + 1)[None, :]).astype(np.float64)
        self.spawn_position, self.spawn_angle = spawn_layout(num_bodies, self.rules.spawn_distance, teams)
        self.reset()

    # --- what the adapters need to know ------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        return NUM_ACTIONS

    @property
    def num_rays(self) -> int:
        return int(self.ray_offsets.size)

    @property
    def observation_size(self) -> int:
        base = 3 + self.num_rays
        return base if self.observation_mode == "original" else base + len(RAY_KINDS) * self.num_rays + len(RICH_SCALARS)

    def in_game(self, games: np.ndarray) -> np.ndarray:
        """Dead bodies are out of the game."""
        return self.alive[np.asarray(games)]

    def seed(self, seed: int) -> None:
        """The spawn jitter's streams: arena ``i`` from ``seed + i``."""
        self.random.seed(seed)

    def seed_openings(self, openings: np.ndarray) -> None:
        """Opening ``k`` is the spawn jittered (by at least ``OPENING_JITTER``) from the stream of seed
        ``k``: positions moved by up to that many units, headings turned by up to that many radians."""
        openings = np.asarray(openings).reshape(-1)
        if openings.size != self.batch_size or not np.issubdtype(openings.dtype, np.integer):
            raise ValueError(f"openings must be {self.batch_size} integers, one per arena, got {openings!r}")
        self.spawn_jitter = max(self.spawn_jitter, OPENING_JITTER)
        self.random.seed_each(openings, np.arange(self.batch_size))

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of every observation entry: speeds within +-50 (the thrusters' terminal speed is
        8 units/s and 4 rad/s; contacts only slow bodies), everything else within [-1, 1] except
        the hill's distance / 20 (at most 1.12 in a 20 x 40 box)."""
        low = np.full(self.observation_size, -1.0, np.float32)
        high = np.full(self.observation_size, 1.0, np.float32)
        low[:3], high[:3] = -50.0, 50.0
        if self.observation_mode == "rich":
            high[3 + self.num_rays + len(RAY_KINDS) * self.num_rays + RICH_SCALARS.index("hill_distance")] = 1.2
        return low, high

    # --- episodes ---------------------------------------------------------------------------------
    def _reset(self, idx: np.ndarray) -> None:
        n, k = idx.size, self.num_seats
        position = np.broadcast_to(self.spawn_position, (n, k, 2)).copy()
        angle = np.broadcast_to(self.spawn_angle, (n, k)).copy()
        if self.spawn_jitter > 0:
            for body in range(k):  # a loop over bodies, drawing for all of these arenas at once
                for axis in range(2):
                    position[:, body, axis] += self.spawn_jitter * (2 * self.random.uniform(idx) - 1)
                angle[:, body] += self.spawn_jitter * (2 * self.random.uniform(idx) - 1)
            limit = np.array([HALF_WIDTH, self.rules_half_height]) - BODY_RADIUS
            position = np.clip(position, -limit, limit)
        self.position[idx] = position
        self.angle[idx] = np.arctan2(np.sin(angle), np.cos(angle))
        self.velocity[idx] = 0.0
        self.angular_velocity[idx] = 0.0
        self.hp[idx] = START_HP
        self.alive[idx] = True
        self.since_shot[idx] = COOLDOWN_STEPS + 1  # no last shot: both guns ready
        self.last_hitter[idx] = -1
        self.bullet_age[idx] = -1
        self.score[idx] = 0.0
        self.last_rewards[idx] = 0.0
        self.last_hits[idx] = 0
        self.last_hurts[idx] = 0

    @property
    def rules_half_height(self) -> float:
        return float(np.abs(self.walls[:4, :, 1]).max())

    def _step(self, actions: np.ndarray, active: np.ndarray) -> np.ndarray:
        kernels.step_arenas(
            actions,
            active,
            self.position,
            self.velocity,
            self.angle,
            self.angular_velocity,
            self.hp,
            self.alive,
            self.since_shot,
            self.last_hitter,
            self.bullet_position,
            self.bullet_velocity,
            self.bullet_age,
            self.walls,
            self.team,
            self.rules.hill == "alone",
            self.rules.hill_reward,
            self.last_rewards,
            self.last_hits,
            self.last_hurts,
            self._killed_off,
        )
        rewards = self.last_rewards
        self.steps[active] += 1
        killed_off = self._killed_off
        timeout = active & ~killed_off & (self.steps >= EPISODE_STEPS)
        if self.rules.timeout_bonus and timeout.any():
            rewards[timeout] += self.rules.timeout_bonus * self._timeout_shares(np.flatnonzero(timeout))
        self.score[active] += rewards[active]
        self.over[active] = killed_off[active] | timeout[active]
        return rewards

    def _timeout_shares(self, idx: np.ndarray) -> np.ndarray:
        """Per body of arenas ``idx``: +1 for the living bodies of the side that leads on score,
        minus the same total split over the other living bodies; 0 everywhere on a tied lead."""
        team_scores = self.team_scores(idx)
        best = team_scores.max(axis=1, keepdims=True)
        leader = (team_scores == best) & ((team_scores == best).sum(axis=1, keepdims=True) == 1)
        leads = leader[:, self.team] & self.alive[idx]
        trails = ~leader[:, self.team] & self.alive[idx]
        winners = leads.sum(axis=1, keepdims=True)
        losers = np.maximum(trails.sum(axis=1, keepdims=True), 1)
        return np.where(leads, 1.0, 0.0) - np.where(trails, winners / losers, 0.0)

    def team_scores(self, arenas: np.ndarray | None = None) -> np.ndarray:
        """(n, teams): the sum of each team's bodies' scores this episode."""
        idx = self._select(arenas)
        return self.score[idx] @ self._team_matrix

    def outcome(self, arenas: np.ndarray | None = None) -> np.ndarray:
        """(n, K): 1 for the bodies of the side with the best score, 0.5 for sides tied for it, 0
        otherwise: win / draw / loss by score, what the league and evaluation count."""
        team_scores = self.team_scores(arenas)
        best = team_scores.max(axis=1, keepdims=True)
        top = team_scores == best
        tied = top.sum(axis=1, keepdims=True) > 1
        per_team = np.where(top, np.where(tied, 0.5, 1.0), 0.0)
        return per_team[:, self.team]

    # --- observations -----------------------------------------------------------------------------
    def rays(self, arenas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each body's ray fractions and what each ray hit (``kernels`` kind codes): (n, K, R) each."""
        idx = self._select(arenas)
        fractions = np.empty((idx.size, self.num_seats, self.num_rays), np.float64)
        kinds = np.empty((idx.size, self.num_seats, self.num_rays), np.int64)
        kernels.cast_rays(
            idx,
            self.position,
            self.angle,
            self.alive,
            self.bullet_age,
            self.bullet_position,
            self.walls,
            self.team,
            self.ray_offsets,
            RAY_LENGTH,
            self.see_bullets,
            self.see_hill,
            fractions,
            kinds,
        )
        return fractions, kinds

    def observation(self, arenas: np.ndarray | None = None) -> np.ndarray:
        """Float32 (n, K, observation_size): every body's view; zeros for a dead body.

        ``original``: forward and leftward speed (own frame), angular velocity, then the R ray
        fractions. ``rich`` adds, per kind of thing a ray can hit (wall, enemy, ally, bullet,
        hill), R flags saying which rays hit one, then :data:`RICH_SCALARS`: hp / 10, each gun's
        readiness (1 = may fire), the hill's bearing (cos, sin in the body's frame) and distance /
        20, on the hill (0/1), the fraction of time left, and tanh(score lead / 10)."""
        idx = self._select(arenas)
        out = np.empty((idx.size, self.num_seats, self.observation_size), np.float32)
        rich = self.observation_mode == "rich"
        team_scores = self.team_scores(idx) if rich else np.zeros((idx.size, 1))
        time_left = 1.0 - self.steps[idx] / EPISODE_STEPS
        kernels.observe(
            idx,
            self.position,
            self.velocity,
            self.angle,
            self.angular_velocity,
            self.alive,
            self.hp,
            self.since_shot,
            self.bullet_age,
            self.bullet_position,
            self.walls,
            self.team,
            team_scores,
            time_left,
            self.ray_offsets,
            RAY_LENGTH,
            self.see_bullets,
            self.see_hill,
            rich,
            out,
        )
        return out

    # --- bookkeeping that tests and renderers read --------------------------------------------------
    def bullets_in_flight(self, arena: int) -> np.ndarray:
        """(m, 2) positions of the bullets alive in ``arena``."""
        return self.bullet_position[arena][self.bullet_age[arena] >= 0]

    def named_player(self, name: PlayerName, seed: int = 0) -> Any:
        """A scripted bot (``random``, ``idle``, ``hill``, ``turret``, ``hunter``) for this batch."""
        return make_bot(str(name), self.batch_size, seed) if str(name) in BOT_NAMES else None

    def render_ansi(self, arena: int = 0) -> str:
        from envs.arena.render import arena_to_text

        return arena_to_text(self, arena)

    def render_rgb(self, arena: int = 0) -> np.ndarray:
        from envs.arena.render import arena_to_rgb

        return arena_to_rgb(self, arena)


def spawn_layout(num_bodies: int, distance: float, teams: str) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (K, 2) and headings (K,), every body facing the hill's side of the arena.

    Two bodies: (0, -d) facing up and (0, +d) facing down, as the original. Two teams: the even
    bodies in a row at y = -d, the odd ones at y = +d. Free-for-all of more: evenly round an
    ellipse inside the walls, each facing the origin."""
    if teams == "two_teams" and num_bodies > 2:
        position = np.zeros((num_bodies, 2))
        for side in (0, 1):
            members = np.arange(side, num_bodies, 2)
            position[members, 0] = np.linspace(-1, 1, members.size) * 1.5 * (members.size - 1)
            position[members, 1] = distance if side else -distance
        angle = np.where(np.arange(num_bodies) % 2 == 0, np.pi / 2, -np.pi / 2)
        return position, angle
    phi = -np.pi / 2 + 2 * np.pi * np.arange(num_bodies) / num_bodies
    position = np.stack([(HALF_WIDTH - 2.0) * np.cos(phi), distance * np.sin(phi)], axis=1)
    position[np.abs(position) < 1e-9] = 0.0
    angle = np.arctan2(-position[:, 1], -position[:, 0])
    return position, angle


def _check_options(batch_size: int, num_bodies: int, teams: str, observation: str, num_rays: int, spawn_jitter: float) -> None:
    if not isinstance(num_bodies, (int, np.integer)) or not 2 <= num_bodies <= MAX_BODIES:
        raise ValueError(f"num_bodies must be a whole number from 2 to {MAX_BODIES}, got {num_bodies!r}")
    if teams not in TEAM_MODES:
        raise ValueError(f"unknown teams {teams!r}: valid values are {', '.join(TEAM_MODES)}")
    if teams == "two_teams" and num_bodies % 2:
        raise ValueError(f"two_teams needs an even num_bodies, got {num_bodies}")
    if observation not in OBSERVATIONS:
        raise ValueError(f"unknown observation {observation!r}: valid values are {', '.join(OBSERVATIONS)}")
    if not isinstance(num_rays, (int, np.integer)) or num_rays < 1:
        raise ValueError(f"num_rays must be a whole number of at least 1, got {num_rays!r}")
    if not 0.0 <= float(spawn_jitter) <= 5.0:
        raise ValueError(f"spawn_jitter must be between 0 and 5, got {spawn_jitter!r}")


__all__: Sequence[str] = ("ArenaCore", "spawn_layout", "OPENING_JITTER", "RAY_KINDS", "RICH_SCALARS")
