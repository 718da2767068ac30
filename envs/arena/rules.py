"""The Arena's rules and constants, and its named presets (``original``, ``king``, ``walls``).

The original game was a Box2D world; its source gives the arena, the hill, the spawns, the
thrusters' force, the guns' cooldown, the bullets and the rewards, all kept here as they were.
It does not give the bodies' size, mass, inertia or damping, so we chose them to give the game
the pace its numbers imply, and say so here:

- a body is a disc of radius 0.5 and mass 5 (inertia ``m r^2 / 2`` = 0.625);
- the thrusters sit 0.25 either side of the centre line: one thruster alone (force 50) accelerates
  the body by 10 units/s^2 and turns it at 20 rad/s^2, both together drive it straight ahead;
- Box2D's damping law ``v <- v / (1 + dt c)`` with linear damping 2.5 and angular damping 5 caps
  the speed at 8 units/s (both thrusters; bullets fly at 20) and the turn rate at 4 rad/s
  (0.4 rad a step: half a turn in about 8 steps);
- the guns sit on the thrusters' lines (0.25 either side); a bullet appears 0.7 ahead of its gun,
  clear of the firing body (0.5 + 0.1), and is not stopped by the body that fired it;
- collisions are inelastic (restitution 0, no friction), as Box2D's defaults for these shapes:
  overlapping bodies are pushed apart equally and lose their closing speed; a body touching a
  wall loses its speed into the wall. Bullets do not collide with each other.

A body is "on the hill" while its disc overlaps the hill's (centre within 3 + 0.5 of the origin),
as a Box2D sensor contact would report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# --- the original game's numbers --------------------------------------------------------------
HALF_WIDTH, HALF_HEIGHT = 10.0, 20.0  # walls at x = +-10, y = +-20
DT = 0.1
EPISODE_STEPS = 600
HILL_RADIUS = 3.0
START_HP = 10  # hp below 0 is a kill: 11 hits
THRUST = 50.0
COOLDOWN_STEPS = 3  # a gun fires only when MORE than this many steps passed since its last shot
BULLET_RADIUS = 0.1
BULLET_SPEED = 20.0
BULLET_OFFSET = 0.7
BULLET_LIFETIME = 10
RAY_LENGTH = 20.0
NUM_RAYS = 20
RAY_FAN = np.pi
HIT_REWARD = 1.0
KILL_REWARD = 100.0

# --- ours: what the source leaves out ---------------------------------------------------------
BODY_RADIUS = 0.5
BODY_MASS = 5.0
BODY_INERTIA = 0.5 * BODY_MASS * BODY_RADIUS**2
THRUSTER_OFFSET = 0.25  # lateral distance of each thruster (and gun) from the centre line
LINEAR_DAMPING = 2.5
ANGULAR_DAMPING = 5.0
MAX_BODIES = 8
BULLET_SLOTS = 2 * (BULLET_LIFETIME // (COOLDOWN_STEPS + 1) + 1)  # bullets a body can have in flight

# Actions: MultiBinary(4), in the original's order.
GUN_RIGHT, GUN_LEFT, THRUSTER_LEFT, THRUSTER_RIGHT = range(4)
NUM_ACTIONS = 4

HILL_MODES = ("every", "alone")
OBSERVATIONS = ("original", "rich")
TEAM_MODES = ("free_for_all", "two_teams")


@dataclass(frozen=True)
class ArenaRules:
    """One variant of the game. ``hill``: ``every`` body on the hill earns ``hill_reward`` a step
    (the original), or only a team ``alone`` on it does, its rivals paying the same in total
    (zero-sum). ``timeout_bonus``: at the end of time, +-this to the leading / trailing side by
    score. ``spawn_distance``: bodies start this far from the origin along y, facing it.
    ``inner_walls``: extra wall segments ``((x0, y0), (x1, y1))`` besides the four outer ones."""

    name: str
    hill: str = "every"
    hill_reward: float = 1.0
    timeout_bonus: float = 0.0
    spawn_distance: float = 10.0
    inner_walls: tuple[tuple[tuple[float, float], tuple[float, float]], ...] = field(default=())

    def walls(self) -> np.ndarray:
        """All wall segments (S, 2, 2): the outer box then the inner walls."""
        w, h = HALF_WIDTH, HALF_HEIGHT
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], np.float64)
        box = np.stack([corners, np.roll(corners, -1, axis=0)], axis=1)
        inner = np.asarray(self.inner_walls, np.float64).reshape(-1, 2, 2)
        return np.concatenate([box, inner])


_ORIGINAL = ArenaRules("original")
_KING = replace(_ORIGINAL, name="king", hill="alone", hill_reward=0.1, timeout_bonus=KILL_REWARD, spawn_distance=15.0)
# Two short walls across the arena near y = +-10, each leaving a gap on both sides, so that a body
# can hide from the hill's guns but still reach it.
_WALLS = replace(_KING, name="walls", inner_walls=(((-5.0, -10.0), (5.0, -10.0)), ((-5.0, 10.0), (5.0, 10.0))))
PRESETS = {rules.name: rules for rules in (_ORIGINAL, _KING, _WALLS)}


def preset(name: object) -> ArenaRules:
    """The named preset, or a one-line ``ValueError`` listing the valid names."""
    if isinstance(name, ArenaRules):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown arena preset {name!r}: valid presets are {', '.join(PRESETS)}")
    return PRESETS[name]
