"""The Arena written the way a user would with a 2D physics engine: the speed peer of our core.

One arena per object, stepped by per-arena Python around a physics engine, as a user of Box2D
(``pip install box2d``) or pymunk would write the game: the rules of the ``original`` preset
(two bodies, the hill, guns, bullets, 20 rays each), nothing batched. Our batched core has to beat
this by a wide margin to be worth its complexity; these classes are the yardstick, not a second
implementation to train on.

- :class:`Box2DArena`: pybox2d. Static edge walls, dynamic circle bodies with Box2D's own linear
  and angular damping, thrust by ``ApplyForce`` at the thrusters, bullets as ``bullet=True``
  circles (continuous collision, so a bullet at 2 units a step cannot tunnel through a body) whose
  contacts a listener records, rays by ``b2World.RayCast`` with a closest-hit callback.
- :class:`PymunkArena`: pymunk (Chipmunk). Same game; where Chipmunk differs from Box2D its
  docstring says how and what we did about it.

The numbers restate ``envs/arena/rules.py`` on purpose: the peer must not move when the core's
module does; ``tests/test_arena_reference.py`` checks that they agree.

    python benchmarks/arena_reference.py [--seconds 3.0]

prints arena steps/s and body-steps/s (2 per arena step, both observations included) of each
engine that is installed (``pip install -e .[benchmark]``).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    import Box2D
except ImportError:  # optional: the ``benchmark`` extra
    Box2D = None
try:
    import pymunk
except ImportError:  # optional: the ``benchmark`` extra
    pymunk = None

# --- the original preset, as in envs/arena/rules.py -------------------------------------------
HALF_WIDTH, HALF_HEIGHT = 10.0, 20.0
DT = 0.1
EPISODE_STEPS = 600
HILL_RADIUS = 3.0
START_HP = 10
THRUST = 50.0
COOLDOWN_STEPS = 3
BULLET_RADIUS = 0.1
BULLET_SPEED = 20.0
BULLET_OFFSET = 0.7
BULLET_LIFETIME = 10
RAY_LENGTH = 20.0
NUM_RAYS = 20
RAY_FAN = math.pi
HIT_REWARD = 1.0
KILL_REWARD = 100.0
HILL_REWARD = 1.0
SPAWN_DISTANCE = 10.0
BODY_RADIUS = 0.5
BODY_MASS = 5.0
BODY_INERTIA = 0.5 * BODY_MASS * BODY_RADIUS**2
THRUSTER_OFFSET = 0.25
LINEAR_DAMPING = 2.5
ANGULAR_DAMPING = 5.0
GUN_RIGHT, GUN_LEFT, THRUSTER_LEFT, THRUSTER_RIGHT = range(4)

NUM_BODIES = 2
OBS_SIZE = 3 + NUM_RAYS
# Box2D's recommended solver iterations; the bodies are discs, so the solver has little to do.
VELOCITY_ITERATIONS, POSITION_ITERATIONS = 8, 3
_RAY_OFFSETS = np.linspace(-RAY_FAN / 2, RAY_FAN / 2, NUM_RAYS)  # first ray rightmost
_CORNERS = ((-HALF_WIDTH, -HALF_HEIGHT), (HALF_WIDTH, -HALF_HEIGHT), (HALF_WIDTH, HALF_HEIGHT), (-HALF_WIDTH, HALF_HEIGHT))
WALLS = tuple((_CORNERS[k], _CORNERS[(k + 1) % 4]) for k in range(4))


@dataclass(eq=False)  # identity hashing: shots are dict keys while their contacts are collected
class Shot:
    """A bullet in flight: who fired it, how many steps it has flown, and the engine's handle."""

    owner: int
    handle: Any = None
    age: int = 0


class ReferenceArena(ABC):
    """The game's rules over an abstract engine: guns, cooldowns, hits, the hill, kills, time.

    Subclasses supply the world (bodies, thrust, bullets, one step, one ray); the rules live once
    here so the two engines differ only where the engines do.
    """

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        """The episode's first state; a fresh world is what a user does, and costs little next to
        600 steps."""
        self._t = 0
        self._hp = np.full(NUM_BODIES, START_HP)
        self._last_shot = np.full((NUM_BODIES, 2), -(COOLDOWN_STEPS + 1))  # both guns ready
        self._shots: list[Shot] = []
        self._build()

    # --- what an engine provides ------------------------------------------------------------
    @abstractmethod
    def _build(self) -> None:
        """A fresh world: four walls and both bodies at their spawns, no bullets."""

    @abstractmethod
    def _state(self, i: int) -> tuple[float, float, float, float, float, float]:
        """Body i's x, y, angle, vx, vy, angular velocity (world frame)."""

    @abstractmethod
    def place(self, i: int, position: tuple[float, float], angle: float, velocity: tuple[float, float] = (0.0, 0.0)) -> None:
        """Move body i (for tests and scripted starts); its angular velocity is zeroed."""

    @abstractmethod
    def _push(self, i: int, point: tuple[float, float], force: tuple[float, float]) -> None:
        """Apply a world force at a world point of body i for the coming step."""

    @abstractmethod
    def _spawn(self, shot: Shot, position: tuple[float, float], velocity: tuple[float, float]) -> None:
        """Create the bullet of ``shot`` in the world and set ``shot.handle``."""

    @abstractmethod
    def _remove(self, shot: Shot) -> None:
        """Take a bullet out of the world."""

    @abstractmethod
    def _advance(self) -> dict[Shot, int | None]:
        """One physics step of DT; the bullets that touched something, each with the body index
        it touched (None: a wall)."""

    @abstractmethod
    def _cast(self, viewer: int, start: tuple[float, float], end: tuple[float, float]) -> float:
        """Fraction of start->end at its first wall or other body (bullets unseen), 1 if none."""

    # --- the game -----------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> np.ndarray:
        """A new episode; the original preset's spawns are fixed, so ``seed`` changes nothing
        (kept for the Gymnasium-like signature). Returns the observations (2, 23)."""
        del seed
        self._start()
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Advance one step with ``actions`` (2, 4) of 0/1 ``[gun right, gun left, thruster left,
        thruster right]``. Returns observations (2, 23) float32, rewards (2,) float32, done.

        Order within a step: guns fire (a bullet fired now flies in this step's physics), thrust,
        one physics step, hits, bullets age out, the hill, kills, time."""
        act = np.asarray(actions).reshape(NUM_BODIES, 4).astype(bool)
        rewards = np.zeros(NUM_BODIES, np.float32)
        for i in range(NUM_BODIES):
            x, y, angle, _, _, _ = self._state(i)
            h = (math.cos(angle), math.sin(angle))
            left = (-h[1], h[0])
            for gun, side in ((GUN_RIGHT, -1.0), (GUN_LEFT, 1.0)):
                if act[i, gun] and self._t - self._last_shot[i, gun] > COOLDOWN_STEPS:
                    self._last_shot[i, gun] = self._t
                    lateral = side * THRUSTER_OFFSET
                    spawn = (x + BULLET_OFFSET * h[0] + lateral * left[0], y + BULLET_OFFSET * h[1] + lateral * left[1])
                    # A gun against a wall puts its bullet's centre past the wall, clear of it: the
                    # engine would let it fly off outside. It crossed the wall, so it is spent.
                    if abs(spawn[0]) < HALF_WIDTH and abs(spawn[1]) < HALF_HEIGHT:
                        velocity = (BULLET_SPEED * h[0], BULLET_SPEED * h[1])
                        shot = Shot(i)
                        self._spawn(shot, spawn, velocity)
                        self._shots.append(shot)
            force = (THRUST * h[0], THRUST * h[1])
            for thruster, side in ((THRUSTER_LEFT, 1.0), (THRUSTER_RIGHT, -1.0)):
                if act[i, thruster]:
                    lateral = side * THRUSTER_OFFSET
                    self._push(i, (x + lateral * left[0], y + lateral * left[1]), force)

        hits = self._advance()
        for shot, victim in hits.items():
            if victim is not None and victim != shot.owner:
                rewards[shot.owner] += HIT_REWARD
                rewards[victim] -= HIT_REWARD
                self._hp[victim] -= 1
        survivors = []
        for shot in self._shots:
            shot.age += 1
            if shot in hits or shot.age >= BULLET_LIFETIME:
                self._remove(shot)
            else:
                survivors.append(shot)
        self._shots = survivors

        for i in range(NUM_BODIES):
            x, y = self._state(i)[:2]
            if math.hypot(x, y) < HILL_RADIUS + BODY_RADIUS:
                rewards[i] += HILL_REWARD
        killed = self._hp < 0
        for victim in np.flatnonzero(killed):
            rewards[victim] -= KILL_REWARD
            rewards[1 - victim] += KILL_REWARD
        self._t += 1
        return self._observe(), rewards, bool(killed.any()) or self._t >= EPISODE_STEPS

    @property
    def hp(self) -> np.ndarray:
        """Hit points left (2,); below 0 is a kill."""
        return self._hp.copy()

    def ray_fraction(self, viewer: int, angle: float) -> float:
        """What one ray of ``viewer`` at world ``angle`` reports (for tests)."""
        x, y = self._state(viewer)[:2]
        return self._cast(viewer, (x, y), (x + RAY_LENGTH * math.cos(angle), y + RAY_LENGTH * math.sin(angle)))

    def _observe(self) -> np.ndarray:
        """Per body: velocity in its own frame (forward, left), angular velocity, 20 ray fractions."""
        obs = np.empty((NUM_BODIES, OBS_SIZE), np.float32)
        for i in range(NUM_BODIES):
            x, y, angle, vx, vy, w = self._state(i)
            c, s = math.cos(angle), math.sin(angle)
            obs[i, 0] = c * vx + s * vy
            obs[i, 1] = -s * vx + c * vy
            obs[i, 2] = w
            for k, offset in enumerate(_RAY_OFFSETS):
                a = angle + offset
                obs[i, 3 + k] = self._cast(i, (x, y), (x + RAY_LENGTH * math.cos(a), y + RAY_LENGTH * math.sin(a)))
        return obs

    @staticmethod
    def _spawns() -> list[tuple[tuple[float, float], float]]:
        """(position, angle) of each body: on the y axis either side of the hill, facing it."""
        return [((0.0, -SPAWN_DISTANCE), math.pi / 2), ((0.0, SPAWN_DISTANCE), -math.pi / 2)]


# --- Box2D ------------------------------------------------------------------------------------
_WALL_BIT, _BODY_BIT, _BULLET_BIT = 0x1, 0x2, 0x4
# pybox2d's damping factor is 1 - dt c': these rates make it the rules' 1 / (1 + dt c).
_BOX2D_LINEAR_DAMPING = LINEAR_DAMPING / (1.0 + DT * LINEAR_DAMPING)
_BOX2D_ANGULAR_DAMPING = ANGULAR_DAMPING / (1.0 + DT * ANGULAR_DAMPING)


@functools.cache
def _box2d_callbacks() -> tuple[type, type]:
    """The contact listener and ray callback classes (built on first use: Box2D is optional)."""

    class BulletContacts(Box2D.b2ContactListener):
        """Records each bullet's first touch in a step and switches the contact off, so a bullet
        is destroyed without knocking its target (the rules give hits no impulse)."""

        def __init__(self) -> None:
            super().__init__()
            self.hits: dict[Shot, int | None] = {}

        def PreSolve(self, contact: Any, old_manifold: Any) -> None:  # noqa: N802 (Box2D's name)
            a, b = contact.fixtureA.body.userData, contact.fixtureB.body.userData
            if isinstance(b, Shot):
                a, b = b, a
            if isinstance(a, Shot):
                contact.enabled = False
                self.hits.setdefault(a, b)

    class ClosestHit(Box2D.b2RayCastCallback):
        """Keeps the nearest fixture that is a wall or another body; bullets and the viewer's own
        body are passed over (return -1: ignore this fixture and go on)."""

        def __init__(self) -> None:
            super().__init__()
            self.viewer = -1
            self.fraction = 1.0

        def ReportFixture(self, fixture: Any, point: Any, normal: Any, fraction: float) -> float:  # noqa: N802
            owner = fixture.body.userData
            if isinstance(owner, Shot) or owner == self.viewer:
                return -1.0
            self.fraction = fraction
            return fraction  # clip the ray here: later reports can only be nearer

    return BulletContacts, ClosestHit


class Box2DArena(ReferenceArena):
    """The Arena in pybox2d, as a user would write it.

    Damping: the rules quote Box2D's later law ``v <- v / (1 + dt c)``, but the Box2D inside
    pybox2d 2.3.10 damps by ``v <- v * clamp(1 - dt c, 0, 1)``; given the rules' rates (2.5, 5)
    verbatim it tops out at 6 units/s and 2 rad/s instead of 8 and 4. We hand it the rates
    ``c / (1 + dt c)`` (2.0 and 3.33), whose per-step factor is exactly the rules' ``1 / (1 + dt
    c)``; the force is applied before the damping in both laws, so the motion is the rules'.

    Bodies and their own bullets share a negative group index (never collide); bullets are
    masked off each other. The hill needs no fixture: it is a distance check. Sleeping is off so a
    resting body still takes thrust.
    """

    def __init__(self) -> None:
        if Box2D is None:
            raise ImportError("Box2DArena needs the Box2D package: pip install box2d (or .[benchmark])")
        super().__init__()

    def _build(self) -> None:
        contacts_type, ray_type = _box2d_callbacks()
        self._contacts = contacts_type()
        self._ray = ray_type()
        self._world = Box2D.b2World(gravity=(0.0, 0.0), doSleep=False, contactListener=self._contacts)
        walls = self._world.CreateStaticBody(userData=None)
        for a, b in WALLS:
            walls.CreateEdgeFixture(vertices=[a, b], friction=0.0, restitution=0.0, categoryBits=_WALL_BIT, maskBits=_BODY_BIT | _BULLET_BIT)
        density = BODY_MASS / (math.pi * BODY_RADIUS**2)
        self._bodies = []
        for i, (position, angle) in enumerate(self._spawns()):
            body = self._world.CreateDynamicBody(
                position=position, angle=angle, linearDamping=_BOX2D_LINEAR_DAMPING, angularDamping=_BOX2D_ANGULAR_DAMPING, userData=i
            )
            body.CreateCircleFixture(
                radius=BODY_RADIUS, density=density, friction=0.0, restitution=0.0,
                categoryBits=_BODY_BIT, maskBits=_WALL_BIT | _BODY_BIT | _BULLET_BIT, groupIndex=-(i + 1),
            )  # fmt: skip
            self._bodies.append(body)

    def _state(self, i: int) -> tuple[float, float, float, float, float, float]:
        body = self._bodies[i]
        p, v = body.position, body.linearVelocity
        return p.x, p.y, body.angle, v.x, v.y, body.angularVelocity

    def place(self, i: int, position: tuple[float, float], angle: float, velocity: tuple[float, float] = (0.0, 0.0)) -> None:
        body = self._bodies[i]
        body.transform = (position, angle)
        body.linearVelocity = velocity
        body.angularVelocity = 0.0

    def _push(self, i: int, point: tuple[float, float], force: tuple[float, float]) -> None:
        self._bodies[i].ApplyForce(force, point, True)

    def _spawn(self, shot: Shot, position: tuple[float, float], velocity: tuple[float, float]) -> None:
        # userData=shot: the listener sees bodies and needs the Shot behind each
        bullet = self._world.CreateDynamicBody(position=position, linearVelocity=velocity, bullet=True, fixedRotation=True, userData=shot)
        bullet.CreateCircleFixture(
            radius=BULLET_RADIUS, density=1.0, friction=0.0, restitution=0.0,
            categoryBits=_BULLET_BIT, maskBits=_WALL_BIT | _BODY_BIT, groupIndex=-(shot.owner + 1),
        )  # fmt: skip
        shot.handle = bullet

    def _remove(self, shot: Shot) -> None:
        self._world.DestroyBody(shot.handle)

    def _advance(self) -> dict[Shot, int | None]:
        self._contacts.hits = {}
        self._world.Step(DT, VELOCITY_ITERATIONS, POSITION_ITERATIONS)
        return self._contacts.hits

    def _cast(self, viewer: int, start: tuple[float, float], end: tuple[float, float]) -> float:
        self._ray.viewer, self._ray.fraction = viewer, 1.0
        self._world.RayCast(self._ray, start, end)
        return self._ray.fraction


# --- pymunk -----------------------------------------------------------------------------------
@dataclass(eq=False)
class _FreeBullet:
    """A pymunk bullet: a point we move ourselves (see PymunkArena)."""

    position: tuple[float, float]
    velocity: tuple[float, float]


def _box2d_velocity_update(body: Any, gravity: Any, damping: float, dt: float) -> None:
    """Chipmunk's velocity update with Box2D's damping law: force first, then ``v / (1 + dt c)``,
    with separate linear and angular rates (Chipmunk's own damping is one rate for both)."""
    pymunk.Body.update_velocity(body, gravity, 1.0, dt)
    body.velocity = body.velocity / (1.0 + dt * LINEAR_DAMPING)
    body.angular_velocity = body.angular_velocity / (1.0 + dt * ANGULAR_DAMPING)


class PymunkArena(ReferenceArena):
    """The Arena in pymunk (Chipmunk 7), as a user would write it, and where it differs.

    - Damping: ``Space.damping`` is the fraction of velocity kept per second, ``v <- v d**dt +
      dt f/m``: applied before the force, one rate for linear and angular motion, every body
      alike. We install a per-body ``velocity_func`` that does Box2D's law instead, so the terminal
      speed (8) and turn rate (4 rad/s) match.
    - Integration order: Chipmunk moves positions with the velocity of the step *before* updating
      velocities (Box2D updates velocity first), so a pymunk body trails its Box2D twin by one
      step's velocity: starting from rest under full thrust it has not moved after the first step.
    - Bullets: Chipmunk has no continuous collision, and a bullet moves 2 units a step (a body is
      1 across), so bullets are not bodies. Each step, before the physics, a bullet is tested with
      a point query at its position and a swept segment query (radius 0.1) along its step, against
      the bodies and walls as they stand at the start of the step, its shooter excluded by shape
      group. Bullets therefore never push anything, as in :class:`Box2DArena`.
    - ``collision_slop`` is set to Box2D's linear slop (0.005) instead of Chipmunk's 0.1, so
      bodies do not rest visibly inside each other or the walls.
    """

    def __init__(self) -> None:
        if pymunk is None:
            raise ImportError("PymunkArena needs the pymunk package: pip install pymunk (or .[benchmark])")
        super().__init__()

    def _build(self) -> None:
        self._space = pymunk.Space()
        self._space.gravity = (0.0, 0.0)
        self._space.collision_slop = 0.005
        for a, b in WALLS:
            wall = pymunk.Segment(self._space.static_body, a, b, 0.0)
            wall.friction, wall.elasticity = 0.0, 0.0
            self._space.add(wall)
        self._bodies = []
        self._filters = []
        self._index: dict[Any, int] = {}
        for i, (position, angle) in enumerate(self._spawns()):
            body = pymunk.Body(BODY_MASS, BODY_INERTIA)
            body.position, body.angle = position, angle
            body.velocity_func = _box2d_velocity_update
            shape = pymunk.Circle(body, BODY_RADIUS)
            shape.friction, shape.elasticity = 0.0, 0.0
            shape.filter = pymunk.ShapeFilter(group=i + 1)  # queries with this filter skip it
            self._space.add(body, shape)
            self._bodies.append(body)
            self._filters.append(shape.filter)
            self._index[body] = i

    def _state(self, i: int) -> tuple[float, float, float, float, float, float]:
        body = self._bodies[i]
        p, v = body.position, body.velocity
        return p.x, p.y, body.angle, v.x, v.y, body.angular_velocity

    def place(self, i: int, position: tuple[float, float], angle: float, velocity: tuple[float, float] = (0.0, 0.0)) -> None:
        body = self._bodies[i]
        body.position, body.angle, body.velocity, body.angular_velocity = position, angle, velocity, 0.0
        self._space.reindex_shapes_for_body(body)

    def _push(self, i: int, point: tuple[float, float], force: tuple[float, float]) -> None:
        self._bodies[i].apply_force_at_world_point(force, point)

    def _spawn(self, shot: Shot, position: tuple[float, float], velocity: tuple[float, float]) -> None:
        shot.handle = _FreeBullet(position, velocity)

    def _remove(self, shot: Shot) -> None:
        pass  # free bullets are not in the space

    def _advance(self) -> dict[Shot, int | None]:
        hits: dict[Shot, int | None] = {}
        for shot in self._shots:
            bullet, query_filter = shot.handle, self._filters[shot.owner]
            (x, y), (vx, vy) = bullet.position, bullet.velocity
            # A segment query misses a shape it starts inside, hence the point query first.
            found = self._space.point_query_nearest((x, y), BULLET_RADIUS, query_filter)
            if found is None:
                found = self._space.segment_query_first((x, y), (x + DT * vx, y + DT * vy), BULLET_RADIUS, query_filter)
            if found is not None:
                hits[shot] = self._index.get(found.shape.body)
            bullet.position = (x + DT * vx, y + DT * vy)
        self._space.step(DT)
        return hits

    def _cast(self, viewer: int, start: tuple[float, float], end: tuple[float, float]) -> float:
        found = self._space.segment_query_first(start, end, 0.0, self._filters[viewer])
        return 1.0 if found is None else found.alpha


# --- the benchmark ----------------------------------------------------------------------------
def reference_steps_per_second(cls: type[ReferenceArena], seconds: float = 3.0, seed: int = 0) -> float:
    """Body-steps per second (2 per arena step, both observations included) of one ``cls`` arena
    playing uniformly random actions from ``np.random.default_rng(seed)`` for ``seconds``,
    resetting when an episode ends. Actions are drawn in blocks so the draw costs next to nothing."""
    arena = cls()
    arena.reset(seed)
    rng = np.random.default_rng(seed)
    block = rng.integers(0, 2, size=(1024, NUM_BODIES, 4), dtype=np.int8)
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        if steps % len(block) == 0 and steps:
            block = rng.integers(0, 2, size=block.shape, dtype=np.int8)
        _, _, done = arena.step(block[steps % len(block)])
        steps += 1
        if done:
            arena.reset()
    return NUM_BODIES * steps / elapsed


def available_engines() -> dict[str, type[ReferenceArena]]:
    """The engines installed here, by name."""
    engines: dict[str, type[ReferenceArena]] = {}
    if Box2D is not None:
        engines[f"Box2D {Box2D.__version__}"] = Box2DArena
    if pymunk is not None:
        engines[f"pymunk {pymunk.version}"] = PymunkArena
    return engines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed window per engine")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engines = available_engines()
    if not engines:
        print("no engine installed: pip install box2d pymunk (or pip install -e .[benchmark])")
        return
    print(f"{'engine':<16} {'steps/s':>10} {'body-steps/s':>14}")
    for name, cls in engines.items():
        rate = reference_steps_per_second(cls, args.seconds, args.seed)
        print(f"{name:<16} {rate / NUM_BODIES:>10,.0f} {rate:>14,.0f}")


if __name__ == "__main__":
    main()
