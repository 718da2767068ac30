"""The physics-engine Arenas of benchmarks/arena_reference.py obey the rules' numbers.

They are the speed peer of our core, so they must play the same game: these tests pin the motion
(terminal speed and turn rate against the damping law in closed form), the rays (the whole fan
from the spawn, worked out by hand), the bullets (a hit, the cooldown, a kill) and the episode's
length. Skipped where Box2D is not installed (CI installs only ``.[test]``); pymunk's cases skip
on their own.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("Box2D")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "arena_reference.py"
_spec = importlib.util.spec_from_file_location("arena_reference", _PATH)
ref = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ref  # dataclasses look their module up while the file runs
_spec.loader.exec_module(ref)


@pytest.fixture(params=["box2d", "pymunk"])
def arena(request: pytest.FixtureRequest) -> ref.ReferenceArena:
    if request.param == "pymunk":
        pytest.importorskip("pymunk")
        return ref.PymunkArena()
    return ref.Box2DArena()


NOTHING = np.zeros((2, 4), np.int8)


def _act(**first: int) -> np.ndarray:
    """Actions with body 0 doing ``first`` (names: gun_right, gun_left, left, right), body 1 idle."""
    actions = NOTHING.copy()
    for name, column in (("gun_right", 0), ("gun_left", 1), ("left", 2), ("right", 3)):
        actions[0, column] = first.get(name, 0)
    return actions


def test_full_thrust_follows_the_damping_law_to_8_units_per_second(arena: ref.ReferenceArena) -> None:
    # v_n = (v_{n-1} + dt * 2 * 50 / 5) / (1 + dt * 2.5)  =>  v_n = 8 (1 - 0.8^n)
    arena.place(1, (6.0, 15.0), 0.0)  # out of the way
    for n in range(1, 31):
        obs, _, _ = arena.step(_act(left=1, right=1))
        assert obs[0, 0] == pytest.approx(8.0 * (1.0 - 0.8**n), abs=1e-4)
        assert abs(obs[0, 1]) < 1e-4 and abs(obs[0, 2]) < 1e-4  # straight ahead, no turn
    assert obs[0, 0] == pytest.approx(8.0, abs=0.01)
    x, y, angle = arena._state(0)[:3]
    assert abs(x) < 1e-4 and y > 5.0 and angle == pytest.approx(math.pi / 2, abs=1e-5)


def test_left_thruster_alone_turns_right_at_up_to_4_rad_per_s(arena: ref.ReferenceArena) -> None:
    # torque 0.25 * 50 on inertia 0.625: 20 rad/s^2; w_n = (w_{n-1} - 2) / 1.5  =>  -4 (1 - (2/3)^n)
    for n in range(1, 16):
        obs, _, _ = arena.step(_act(left=1))
        assert obs[0, 2] == pytest.approx(-4.0 * (1.0 - (2.0 / 3.0) ** n), abs=1e-4)


def _fan_by_hand(origin: tuple[float, float], heading: float, other: tuple[float, float]) -> np.ndarray:
    """The 20 ray fractions from ``origin``: nearest of the box walls and the other body's disc."""
    fractions = []
    for offset in np.linspace(-math.pi / 2, math.pi / 2, 20):
        dx, dy = math.cos(heading + offset), math.sin(heading + offset)
        walls = ((10.0, origin[0], dx), (-10.0, origin[0], dx), (20.0, origin[1], dy), (-20.0, origin[1], dy))
        best = min((wall - start) / d for wall, start, d in walls if abs(d) > 1e-12 and (wall - start) / d > 0)
        cx, cy = other[0] - origin[0], other[1] - origin[1]
        along = cx * dx + cy * dy
        miss2 = cx * cx + cy * cy - along * along
        if along > 0 and miss2 <= 0.25:
            best = min(best, along - math.sqrt(0.25 - miss2))
        fractions.append(min(best / 20.0, 1.0))
    return np.array(fractions)


def test_rays_from_the_spawn(arena: ref.ReferenceArena) -> None:
    obs = arena.reset(0)
    # First ray rightmost: heading +y minus 90 degrees is +x, the wall x = 10 at 10 units.
    assert obs[0, 3] == pytest.approx(0.5, abs=1e-6)
    assert obs[0, -1] == pytest.approx(0.5, abs=1e-6)  # leftmost: x = -10
    # 20 rays have no centre ray; one cast straight ahead meets the other body at 20 - 0.5.
    assert arena.ray_fraction(0, math.pi / 2) == pytest.approx(0.975, abs=1e-6)
    np.testing.assert_allclose(obs[0, 3:], _fan_by_hand((0.0, -10.0), math.pi / 2, (0.0, 10.0)), atol=1e-5)
    np.testing.assert_allclose(obs[1, 3:], _fan_by_hand((0.0, 10.0), -math.pi / 2, (0.0, -10.0)), atol=1e-5)
    np.testing.assert_array_equal(obs[:, :3], 0.0)  # at rest
    arena.place(1, (3.0, -10.0), 0.0)  # on body 0's rightmost ray
    obs, _, _ = arena.step(NOTHING)
    assert obs[0, 3] == pytest.approx(2.5 / 20.0, abs=1e-5)  # 3 - 0.5 along +x


def test_a_bullet_at_close_range_hits(arena: ref.ReferenceArena) -> None:
    arena.place(1, (0.0, -7.5), -math.pi / 2)  # 2.5 ahead of body 0, off the hill
    obs, rewards, done = arena.step(_act(gun_right=1))
    np.testing.assert_array_equal(rewards, [1.0, -1.0])
    np.testing.assert_array_equal(arena.hp, [10, 9])
    np.testing.assert_allclose(obs[1, :3], 0.0, atol=1e-6)  # a hit carries no impulse
    assert not done and not arena._shots  # the bullet is gone
    for _ in range(3):  # cooling down: the gun stays silent for three steps
        _, rewards, _ = arena.step(_act(gun_right=1))
        np.testing.assert_array_equal(rewards, 0.0)
    _, rewards, _ = arena.step(_act(gun_right=1))
    np.testing.assert_array_equal(rewards, [1.0, -1.0])


def test_eleven_hits_kill_and_end_the_episode(arena: ref.ReferenceArena) -> None:
    arena.place(1, (0.0, -7.5), -math.pi / 2)
    both = _act(gun_right=1, gun_left=1)
    for _ in range(20):  # shots at steps 0, 4, ..., 16: 10 hits, hp 0, still alive
        _, rewards, done = arena.step(both)
        assert not done
    np.testing.assert_array_equal(arena.hp, [10, 0])
    _, rewards, done = arena.step(both)  # two more hits: hp -2, a kill
    assert done
    np.testing.assert_array_equal(rewards, [102.0, -102.0])


def test_the_hill_pays_every_body_on_it_and_time_runs_out_at_600(arena: ref.ReferenceArena) -> None:
    arena.place(0, (0.0, 3.4), 0.0)  # overlapping the hill's edge (3 + 0.5)
    arena.place(1, (3.6, 0.0), 0.0)  # just off it
    _, rewards, done = arena.step(NOTHING)
    np.testing.assert_array_equal(rewards, [1.0, 0.0])
    for _ in range(598):
        assert not done
        _, _, done = arena.step(NOTHING)
    _, _, done = arena.step(NOTHING)  # the 600th
    assert done


def test_the_benchmark_counts_body_steps() -> None:
    assert ref.reference_steps_per_second(ref.Box2DArena, seconds=0.2) > 100.0


def test_the_numbers_restate_the_rules() -> None:
    rules = pytest.importorskip("envs.arena.rules")
    names = [name for name in dir(ref) if name.isupper() and hasattr(rules, name)]
    assert len(names) > 20
    for name in names:
        assert getattr(ref, name) == getattr(rules, name), name
    original = rules.preset("original")
    assert (ref.HILL_REWARD, ref.SPAWN_DISTANCE, original.hill) == (original.hill_reward, original.spawn_distance, "every")
