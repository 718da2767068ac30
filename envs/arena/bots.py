"""Scripted Arena opponents of fixed strength: ``idle``, ``random``, ``hill``, ``turret``, ``hunter``.

Why scripted bots: a learner needs opponents that do not change while it trains, and the league
needs fixed anchors so that Elo means the same from one run to the next. They read the core's
state directly (positions, headings, who is alive), which a learner may not, because a fixed
baseline only has to be a fair, known strength, not a fair player.

Every bot plays a list of bodies ``(arenas[i], seats[i])`` at once with array operations; the only
Python loops are over a handful of walls or bits. Dead bodies act nothing.

How they steer. A thruster pair gives bang-bang torque, so the bots plan with the body's *rest
heading*, ``angle + angular_velocity / ANGULAR_DAMPING``: where it ends up if it stops pushing.
Under the rules' damping law this is exact, unchanged by a step without torque and moved by exactly
``TURN_QUANTUM`` (0.4 rad) by each one-thruster step. Steering is a proportional controller on the
rest heading's error, quantised to the bits: push while the error is a little over half a
quantum. It accounts for the spin the body already has, so it neither overshoots nor chatters.
The price of the quantum: a body at rest can point only on a 0.4 rad lattice, too coarse to aim
at a body 20 units away. So an aiming bot, once settled with both guns ready, sweeps its heading
across the target (one push towards it), and fires each gun on the step that gun's line
crosses. A gun fires along the heading from 0.25 to the side of the centre, which is why the
test is made per gun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from envs.arena.rays import wall_hits
from envs.arena.rules import (
    ANGULAR_DAMPING,
    BODY_INERTIA,
    BODY_RADIUS,
    BULLET_LIFETIME,
    BULLET_OFFSET,
    BULLET_RADIUS,
    BULLET_SPEED,
    COOLDOWN_STEPS,
    DT,
    GUN_LEFT,
    GUN_RIGHT,
    HILL_RADIUS,
    LINEAR_DAMPING,
    NUM_ACTIONS,
    THRUST,
    THRUSTER_LEFT,
    THRUSTER_OFFSET,
    THRUSTER_RIGHT,
)
from envs.arena.state import ArenaState
from envs.batched_random import BatchedRandom

BOT_NAMES = ("idle", "random", "hill", "turret", "hunter")

# --- what the controllers plan with, derived from the rules ------------------------------------
COAST_TIME = 1.0 / LINEAR_DAMPING  # a body that stops pushing goes speed * COAST_TIME further
TURN_KICK = DT * THRUST * THRUSTER_OFFSET / BODY_INERTIA  # spin one thruster adds in a step (rad/s)
TURN_QUANTUM = TURN_KICK / ANGULAR_DAMPING  # how far one one-thruster step moves the rest heading
GUN_REACH = BULLET_OFFSET + BULLET_SPEED * DT * BULLET_LIFETIME  # farthest a bullet gets: 20.7
GUN_SIDE = np.array([-THRUSTER_OFFSET, THRUSTER_OFFSET])  # lateral offset of (right gun, left gun)
ON_HILL = HILL_RADIUS + BODY_RADIUS  # the rules' "on the hill": the discs overlap

# --- the bots' choices (tuned by playing them against each other, tests/test_arena_bots.py) -------
SETTLE = 0.6 * TURN_QUANTUM  # steering leaves rest-heading errors below this alone
HIT_MARGIN = 0.75 * (BODY_RADIUS + BULLET_RADIUS)  # a gun line this close to a centre hits it, with room for error
ALLY_MARGIN = 2.0 * (BODY_RADIUS + BULLET_RADIUS)  # hold fire while an ally is this close to a gun line: it may step in
FACING = 0.5  # rad: thrust ahead only when the rest heading is this close to the goal's bearing
HOLD_RADIUS = 1.0  # drive until the body would coast to within this of the hill's centre
HOLDING = 2.5  # a body coasting to within this of the centre holds the hill instead of driving
SWEEP_SPIN = 0.6  # rad/s: an aiming bot starts a new sweep only once turning slower than this
SCAN_SPIN = 2.0  # rad/s: how fast the hill bot turns in place to sweep its guns round
TURRET_RANGE = 20.0  # the turret engages the nearest visible enemy this close
HUNT_RADIUS = 12.0  # the hunter chases an enemy this close (off the hill); farther ones it meets at the hill
STANDOFF = 5.0  # the hunter stops closing in at this distance and shoots
WAYPOINT_CLEARANCE = 1.5  # a path round a wall passes its end this far beyond it


class ArenaPlayer(Protocol):
    """Anything that plays some bodies of an Arena (:class:`ArenaState`): a scripted bot, a policy.

    ``start`` says that new episodes begin for bodies ``(arenas[i], seats[i])``, so a player with
    memory can clear it; ``act`` returns int8 (n, 4) actions of 0/1 for those bodies, given their
    own observations (n, D)."""

    name: str

    def start(self, arenas: np.ndarray, seats: np.ndarray) -> None: ...

    def act(self, core: ArenaState, arenas: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray: ...


# --- what a bot sees ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _View:
    """The state of the n bodies a bot plays, and of every body in their arenas ((n, K, ...))."""

    position: np.ndarray  # (n, 2)
    angle: np.ndarray  # (n,)
    spin: np.ndarray  # (n,) angular velocity
    speed: np.ndarray  # (n,) forward speed
    alive: np.ndarray  # (n,)
    ready: np.ndarray  # (n, 2) whether each gun may fire this step
    others: np.ndarray  # (n, K, 2) every body's position
    others_velocity: np.ndarray  # (n, K, 2)
    enemy: np.ndarray  # (n, K) living bodies of another team
    ally: np.ndarray  # (n, K) living bodies of the own team, itself excluded
    walls: np.ndarray  # (S, 2, 2)

    @property
    def heading(self) -> np.ndarray:
        return np.stack([np.cos(self.angle), np.sin(self.angle)], axis=-1)

    @property
    def rest_angle(self) -> np.ndarray:
        """Where the heading ends up if the body stops turning now (exact under the damping law)."""
        return self.angle + self.spin / ANGULAR_DAMPING


def _view(core: ArenaState, arenas: np.ndarray, seats: np.ndarray) -> _View:
    alive = core.alive[arenas]
    team = core.team
    own = np.arange(core.num_seats)[None, :] == seats[:, None]
    same_team = team[None, :] == team[seats][:, None]
    angle = core.angle[arenas, seats]
    velocity = core.velocity[arenas, seats]
    return _View(
        position=core.position[arenas, seats],
        angle=angle,
        spin=core.angular_velocity[arenas, seats],
        speed=velocity[:, 0] * np.cos(angle) + velocity[:, 1] * np.sin(angle),
        alive=core.alive[arenas, seats],
        ready=core.since_shot[arenas, seats] >= COOLDOWN_STEPS,
        others=core.position[arenas],
        others_velocity=core.velocity[arenas],
        enemy=alive & ~same_team,
        ally=alive & same_team & ~own,
        walls=core.walls,
    )


def _visible(view: _View, points: np.ndarray) -> np.ndarray:
    """(n, M) whether the straight line from each body to each of its points (n, M, 2) misses every wall."""
    offset = points - view.position[:, None, :]
    distance = np.linalg.norm(offset, axis=-1)
    direction = offset / np.maximum(distance, 1e-9)[..., None]
    origins = np.broadcast_to(view.position[:, None, :], offset.shape)
    return wall_hits(origins, direction[..., None, :], view.walls)[..., 0] >= distance


def _nearest(view: _View, candidates: np.ndarray, max_distance: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Each body's nearest candidate (n, K) that it can see within ``max_distance``: its seat
    (n,) and whether there is one (n,)."""
    distance = np.linalg.norm(view.others - view.position[:, None, :], axis=-1)
    eligible = candidates & (distance <= max_distance) & _visible(view, view.others)
    index = np.argmin(np.where(eligible, distance, np.inf), axis=1)
    return index, eligible.any(axis=1)


def _pick(per_body: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Row i's entry ``index[i]`` of an (n, K, ...) array."""
    return per_body[np.arange(index.size), index]


def _lead_point(view: _View, target: np.ndarray, lead: bool) -> np.ndarray:
    """Where to aim at body ``target`` (n,): its position, moved on by its velocity over the
    bullet's flight time when ``lead``."""
    point = _pick(view.others, target)
    if not lead:
        return point
    flight = np.linalg.norm(point - view.position, axis=-1) / BULLET_SPEED
    return point + _pick(view.others_velocity, target) * flight[:, None]


def _body_frame(view: _View, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, ..., 2) as (ahead, leftward) distances in each body's frame."""
    offset = points - view.position.reshape(view.position.shape[:1] + (1,) * (points.ndim - 2) + (2,))
    heading = view.heading.reshape(offset.shape[:1] + (1,) * (points.ndim - 2) + (2,))
    ahead = offset[..., 0] * heading[..., 0] + offset[..., 1] * heading[..., 1]
    left = offset[..., 1] * heading[..., 0] - offset[..., 0] * heading[..., 1]
    return ahead, left


def _on_gun_lines(ahead: np.ndarray, left: np.ndarray, margin: float, reach: np.ndarray | float) -> np.ndarray:
    """(..., 2) whether a point ``ahead``/``left`` of a body lies on the path of each of its guns."""
    across = np.abs(left[..., None] - GUN_SIDE)
    return (across < margin) & (ahead[..., None] > 0.0) & (ahead[..., None] < np.asarray(reach)[..., None])


def _triggers(view: _View, point: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(n, 2) bool: fire each gun whose line passes through the aim ``point`` within reach, unless
    an ally is near that line anywhere within reach (friendly fire costs as much as a hit earns,
    and a bullet that misses flies on past the target)."""
    ahead, left = _body_frame(view, point[:, None, :])
    on_target = _on_gun_lines(ahead[:, 0], left[:, 0], HIT_MARGIN, GUN_REACH)
    ally_ahead, ally_left = _body_frame(view, view.others)
    in_the_way = _on_gun_lines(ally_ahead, ally_left, ALLY_MARGIN, GUN_REACH) & view.ally[..., None]
    return on_target & ~in_the_way.any(axis=1) & found[:, None]


# --- steering -------------------------------------------------------------------------------------
def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.arctan2(np.sin(angle), np.cos(angle))


def _rest_error(view: _View, point: np.ndarray) -> np.ndarray:
    """(n,) how far (rad, + = counter-clockwise) the rest heading is from the bearing of ``point``."""
    offset = point - view.position
    return _wrap(np.arctan2(offset[:, 1], offset[:, 0]) - view.rest_angle)


def _turn(error: np.ndarray, tolerance: np.ndarray | float = SETTLE) -> np.ndarray:
    """(n,) torque sign in {-1, 0, +1}, + = counter-clockwise: push towards the error while it is
    beyond ``tolerance``. A little over half a quantum settles without chatter (a push leaves at
    most ``TURN_QUANTUM - SETTLE`` to the other side); a smaller one keeps sweeping."""
    return np.where(np.abs(error) > tolerance, np.sign(error), 0.0).astype(np.int8)


def _aim_turn(view: _View, point: np.ndarray, found: np.ndarray, triggers: np.ndarray) -> np.ndarray:
    """Turn towards an aim point; while a gun is ready but no gun line is on the target, keep
    sweeping across it (a body at rest can only point on the coarse lattice of TURN_QUANTUM)."""
    in_reach = np.linalg.norm(point - view.position, axis=-1) < GUN_REACH
    settled = np.abs(view.spin) < SWEEP_SPIN  # the last sweep has passed most of its ground
    sweep = found & in_reach & settled & view.ready.all(axis=1) & ~triggers.any(axis=1)
    return np.where(found, _turn(_rest_error(view, point), np.where(sweep, 0.0, SETTLE)), 0).astype(np.int8)


def _waypoint(view: _View, goal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where to head for ``goal`` (n, 2): the goal itself if the straight path is clear, else just
    past the nearer end of the first wall in the way. Also whether the goal is the waypoint (n,)."""
    offset = goal - view.position
    distance = np.linalg.norm(offset, axis=-1)
    direction = (offset / np.maximum(distance, 1e-9)[:, None])[:, None, :]
    # one wall at a time (a handful), to know which wall blocks, not only how far
    crossing = np.stack([wall_hits(view.position, direction, view.walls[w : w + 1])[:, 0] for w in range(len(view.walls))], axis=1)
    blocker = np.argmin(crossing, axis=1)
    blocked = crossing[np.arange(blocker.size), blocker] < distance
    ends = view.walls[blocker]  # (n, 2 ends, 2)
    outward = ends - ends[:, ::-1]
    around = ends + WAYPOINT_CLEARANCE * outward / np.linalg.norm(outward, axis=-1, keepdims=True)
    detour = np.linalg.norm(around - view.position[:, None], axis=-1) + np.linalg.norm(around - goal[:, None], axis=-1)
    best = _pick(around, np.argmin(detour, axis=1))
    return np.where(blocked[:, None], best, goal), ~blocked


def _drive(view: _View, goal: np.ndarray, arrive: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn (n,) and thrust (n,) to get to ``goal`` (round walls), coasting to a stop within
    ``arrive`` of it: thrust only while facing it and while coasting would fall short."""
    point, final = _waypoint(view, goal)
    error = _rest_error(view, point)
    remaining = np.linalg.norm(point - view.position, axis=-1) - np.maximum(view.speed, 0.0) * COAST_TIME
    forward = (np.abs(error) < FACING) & (~final | (remaining > arrive))
    return _turn(error), forward


def _coasting_to(view: _View) -> np.ndarray:
    """(n,) how far from the hill's centre each body comes to rest if it stops pushing."""
    stop = view.position + view.heading * (np.maximum(view.speed, 0.0) * COAST_TIME)[:, None]
    return np.linalg.norm(stop, axis=-1)


def _actions(triggers: np.ndarray, turn: np.ndarray, forward: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Int8 (n, 4) actions from gun triggers (n, 2), a torque sign and a wish to go ahead. The left
    thruster turns the body clockwise, the right one counter-clockwise, both drive it straight;
    one thruster alone also pushes ahead, so a turn needs no second bit to move."""
    actions = np.zeros((turn.size, NUM_ACTIONS), np.int8)
    actions[:, GUN_RIGHT] = triggers[:, 0]
    actions[:, GUN_LEFT] = triggers[:, 1]
    actions[:, THRUSTER_LEFT] = (turn < 0) | ((turn == 0) & forward)
    actions[:, THRUSTER_RIGHT] = (turn > 0) | ((turn == 0) & forward)
    actions[~alive] = 0
    return actions


# --- the bots -------------------------------------------------------------------------------------
class _Scripted:
    """A memoryless bot: its actions depend on the core's state alone, so ``start`` has nothing
    to clear. Subclasses give ``_decide`` (triggers, turn, forward) for a view of their bodies."""

    name = "scripted"

    def start(self, arenas: np.ndarray, seats: np.ndarray) -> None:
        """Nothing to do: no memory of past steps."""

    def act(self, core: ArenaState, arenas: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        arenas, seats = np.asarray(arenas, np.int64).reshape(-1), np.asarray(seats, np.int64).reshape(-1)
        view = _view(core, arenas, seats)
        return _actions(*self._decide(view), view.alive)

    def _decide(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError


class IdleBot(_Scripted):
    """Never acts: the floor of the ladder, a sitting target."""

    name = "idle"

    def _decide(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = view.alive.size
        return np.zeros((n, 2), bool), np.zeros(n, np.int8), np.zeros(n, bool)


class RandomBot:
    """Each bit 0 or 1 with probability 1/2, every step.

    The draws come from one stream per arena (:class:`BatchedRandom`, arena ``i`` seeded with
    ``seed + i``), so what the bot does in one arena does not depend on the batch size or on the
    other arenas: a batched evaluation replays game for game as single ones."""

    name = "random"

    def __init__(self, batch_size: int, seed: int = 0) -> None:
        self.random = BatchedRandom(batch_size, seed)

    def reseed(self, seed: int, arenas: np.ndarray | None = None) -> None:
        """Restart the streams of ``arenas`` (all by default), arena ``i`` from ``seed + i``."""
        state = self.random.get_state()
        fresh = BatchedRandom(state.size, seed).get_state()
        listed = slice(None) if arenas is None else np.asarray(arenas, np.int64)
        state[listed] = fresh[listed]
        self.random.set_state(state)

    def start(self, arenas: np.ndarray, seats: np.ndarray) -> None:
        """Nothing to do: the streams run on across episodes."""

    def act(self, core: ArenaState, arenas: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        arenas, seats = np.asarray(arenas, np.int64).reshape(-1), np.asarray(seats, np.int64).reshape(-1)
        draws = self.random.integers(2**NUM_ACTIONS, arenas)  # one draw per body, its bits the actions
        actions = ((draws[:, None] >> np.arange(NUM_ACTIONS)) & 1).astype(np.int8)
        actions[~core.alive[arenas, seats]] = 0
        return actions


class HillBot(_Scripted):
    """Drives to the hill (round any wall in the way) and holds it, turning in place to sweep its
    guns round and firing at the nearest visible enemy when it crosses a gun line (no lead). It
    never turns to face an enemy: a fixed strength between ``random`` and ``hunter``."""

    name = "hill"

    def _decide(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target, found = _nearest(view, view.enemy)
        triggers = _triggers(view, _lead_point(view, target, lead=False), found)
        turn, forward = _drive(view, np.zeros_like(view.position), HOLD_RADIUS)
        holding = _coasting_to(view) < HOLDING
        scan = np.where(view.spin < SCAN_SPIN, 1, 0).astype(np.int8)
        return triggers, np.where(holding, scan, turn), forward & ~holding


class TurretBot(_Scripted):
    """Stays where it is and turns to the nearest visible enemy within 20 units, leading it,
    firing each gun as its line crosses. It never drives, but a turn is one thruster, which also
    pushes ahead (0.4 units per 0.4 rad turned), so a turret creeps a few units towards what it
    shoots at: no thruster layout lets a body turn on the spot."""

    name = "turret"

    def _decide(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target, found = _nearest(view, view.enemy, TURRET_RANGE)
        point = _lead_point(view, target, lead=True)
        triggers = _triggers(view, point, found)
        return triggers, _aim_turn(view, point, found, triggers), np.zeros(found.size, bool)


class HunterBot(_Scripted):
    """Chases the nearest visible enemy within ``HUNT_RADIUS`` to ``STANDOFF`` and shoots it,
    leading it. With no enemy that close, or when its enemy is on the hill, it goes to the hill
    (contesting it) and, once there, turns to shoot the nearest enemy it can see."""

    name = "hunter"

    def _decide(self, view: _View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target, found = _nearest(view, view.enemy)
        target_position = _pick(view.others, target)
        distance = np.linalg.norm(target_position - view.position, axis=-1)
        chase = found & (distance < HUNT_RADIUS) & (np.linalg.norm(target_position, axis=-1) >= ON_HILL)
        point = _lead_point(view, target, lead=True)
        triggers = _triggers(view, point, found)
        aim = _aim_turn(view, point, found, triggers)
        hill_turn, hill_forward = _drive(view, np.zeros_like(view.position), HOLD_RADIUS)
        holding = _coasting_to(view) < HOLDING
        close_in = chase & (distance > STANDOFF) & (np.abs(_rest_error(view, point)) < FACING)
        turn = np.where(chase | (holding & found), aim, hill_turn).astype(np.int8)
        forward = np.where(chase, close_in, hill_forward & ~holding)
        return triggers, turn, forward


_BOTS = {"idle": IdleBot, "hill": HillBot, "turret": TurretBot, "hunter": HunterBot}


def make_bot(name: str, batch_size: int, seed: int = 0) -> ArenaPlayer:
    """The bot called ``name`` for a core of ``batch_size`` arenas (``seed``: the random bot's
    streams), or a one-line ``ValueError`` listing the valid names."""
    if name == "random":
        return RandomBot(batch_size, seed)
    if name not in _BOTS:
        raise ValueError(f"unknown arena bot {name!r}: valid bots are {', '.join(BOT_NAMES)}")
    return _BOTS[name]()


class BotMix:
    """Several bots as one opponent: each game draws one of them (uniformly, from that arena's own
    stream) for all its opponent seats for the whole game, so a learner meets every style without
    a self-play pool. Each step is one call per bot for the bodies it plays."""

    def __init__(self, names: Sequence[str], batch_size: int, seed: int = 0) -> None:
        if len(names) < 1:
            raise ValueError(f"a mix of bots needs at least one name from {', '.join(BOT_NAMES)}")
        self.bots = [make_bot(name, batch_size, seed + index) for index, name in enumerate(names)]
        self.name = "+".join(names)
        self.random = BatchedRandom(batch_size, seed)
        self.drawn = np.zeros(batch_size, np.int64)

    def reseed(self, seed: int, arenas: np.ndarray) -> None:
        """A seeded reset: the draws of ``arenas`` restart from ``seed + arena``, and so do random bots'."""
        self.random.seed(seed, np.asarray(arenas))
        for index, bot in enumerate(self.bots):
            if hasattr(bot, "reseed"):
                bot.reseed(seed + index, arenas)

    def start(self, arenas: np.ndarray, seats: np.ndarray) -> None:
        arenas, seats = np.asarray(arenas, np.int64), np.asarray(seats, np.int64)
        first = np.unique(arenas)
        self.drawn[first] = self.random.integers(len(self.bots), first)
        for index, bot in enumerate(self.bots):
            mine = self.drawn[arenas] == index
            bot.start(arenas[mine], seats[mine])

    def act(self, core: ArenaState, arenas: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        arenas, seats = np.asarray(arenas, np.int64), np.asarray(seats, np.int64)
        actions = np.zeros((arenas.size, NUM_ACTIONS), np.int8)
        drawn = self.drawn[arenas]
        for index in np.unique(drawn):
            rows = np.flatnonzero(drawn == index)
            actions[rows] = self.bots[index].act(core, arenas[rows], seats[rows], observation[rows])
        return actions


def play(core: ArenaState, players: Sequence[ArenaPlayer], seating: np.ndarray) -> None:
    """Play one episode in every arena of ``core`` from a reset: seat ``k`` of arena ``a`` is played
    by ``players[seating[a, k]]`` (a player may sit in different seats in different arenas).
    Afterwards ``core.score`` and ``core.outcome()`` hold the results."""
    seating = np.asarray(seating, np.int64)
    core.reset()
    bodies = [np.nonzero(seating == p) for p in range(len(players))]
    for player, (arenas, seats) in zip(players, bodies):
        player.start(arenas, seats)
    while not core.over.all():
        observation = core.observation()
        actions = np.zeros((core.batch_size, core.num_seats, core.num_actions), np.int8)
        for player, (arenas, seats) in zip(players, bodies):
            actions[arenas, seats] = player.act(core, arenas, seats, observation[arenas, seats])
        core.step(actions)


__all__ = ("ArenaPlayer", "BOT_NAMES", "BotMix", "HillBot", "HunterBot", "IdleBot", "RandomBot", "TurretBot", "make_bot", "play")
