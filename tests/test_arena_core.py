"""The Arena's batched core: physics, bullets, scoring and rays, each against a value computed by hand
or by an independent implementation (the numpy ray casts of :mod:`envs.arena.rays`)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.arena import rays
from envs.arena.core import ArenaCore
from envs.arena.rules import BODY_RADIUS, BULLET_LIFETIME, EPISODE_STEPS, HALF_HEIGHT, HALF_WIDTH, PRESETS

UP, DOWN = np.pi / 2, -np.pi / 2
IDLE = np.zeros(4, np.int8)
RIGHT_GUN, LEFT_GUN, LEFT_THRUSTER, RIGHT_THRUSTER = np.eye(4, dtype=np.int8)
BOTH_THRUSTERS = LEFT_THRUSTER + RIGHT_THRUSTER


def place(core: ArenaCore, arena: int, body: int, x: float, y: float, angle: float) -> None:
    core.position[arena, body] = (x, y)
    core.angle[arena, body] = angle


def act(core: ArenaCore, *per_body: np.ndarray) -> np.ndarray:
    """The same actions for every arena, one row per body."""
    return np.broadcast_to(np.stack(per_body), (core.batch_size, len(per_body), 4)).copy()


def test_both_thrusters_reach_the_damped_terminal_speed_straight_ahead() -> None:
    core = ArenaCore(1)
    place(core, 0, 0, -8.0, -18.0, UP)  # out of the other body's way, room for 34 units
    place(core, 0, 1, 8.0, 18.0, DOWN)
    for _ in range(30):
        core.step(act(core, BOTH_THRUSTERS, IDLE))
    forward = core.observation()[0, 0, 0]
    # v_n = (v_{n-1} + a dt) / (1 + c dt) from rest: v_n = (a / c) (1 - 0.8^n), a / c = 20 / 2.5 = 8
    assert forward == pytest.approx(8.0 * (1.0 - 0.8**30), rel=1e-6)
    assert core.velocity[0, 0, 0] == pytest.approx(0.0, abs=1e-9)
    assert core.angle[0, 0] == pytest.approx(UP)


def test_one_thruster_turns_towards_the_other_side() -> None:
    core = ArenaCore(1)
    for _ in range(30):
        core.step(act(core, LEFT_THRUSTER, RIGHT_THRUSTER))
    # the left thruster alone spins the body clockwise at the damped rate torque / I / c = 4 rad/s
    terminal = 50.0 * 0.25 / 0.625 / 5.0 * (1.0 - (1.0 / 1.5) ** 30)
    assert core.angular_velocity[0, 0] == pytest.approx(-terminal, rel=1e-9)
    assert core.angular_velocity[0, 1] == pytest.approx(+terminal, rel=1e-9)


def random_play(core: ArenaCore, steps: int, seed: int, fire_rate: float = 0.5):
    """Random actions on every body, yielding after each step; ended arenas restart."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = (rng.random((core.batch_size, core.num_seats, 4)) < [fire_rate, fire_rate, 0.7, 0.7]).astype(np.int8)
        rewards = core.step(actions)
        yield actions, rewards
        core.reset(np.flatnonzero(core.over))


@pytest.mark.parametrize("preset,num_bodies", [("original", 2), ("walls", 2), ("king", 6)])
def test_bodies_stay_inside_the_walls_and_never_overlap(preset: str, num_bodies: int) -> None:
    core = ArenaCore(32, num_bodies, preset)
    for _ in random_play(core, 400, seed=1):
        alive = core.alive
        inside = (np.abs(core.position[..., 0]) <= HALF_WIDTH - BODY_RADIUS + 1e-6) & (np.abs(core.position[..., 1]) <= HALF_HEIGHT - BODY_RADIUS + 1e-6)
        assert inside[alive].all()
        gaps = np.linalg.norm(core.position[:, :, None] - core.position[:, None, :], axis=-1)
        both = alive[:, :, None] & alive[:, None, :] & ~np.eye(num_bodies, dtype=bool)
        assert (gaps[both] >= 2 * BODY_RADIUS - 0.05).all(), gaps[both].min()
        assert (core.bullet_age <= BULLET_LIFETIME).all()


def test_bodies_cannot_drive_through_an_inner_wall() -> None:
    core = ArenaCore(1, preset_name="walls")
    place(core, 0, 0, 0.0, -16.0, UP)  # straight at the wall y = -10 (x from -5 to 5)
    for _ in range(60):
        core.step(act(core, BOTH_THRUSTERS, IDLE))
    assert core.position[0, 0, 1] == pytest.approx(-10.0 - BODY_RADIUS, abs=1e-6)


def test_a_gun_fires_every_fourth_step_and_its_bullets_live_ten_steps() -> None:
    core = ArenaCore(1)
    place(core, 0, 1, 9.0, 19.0, DOWN)  # out of the line of fire
    counts = []
    for _ in range(16):
        core.step(act(core, RIGHT_GUN, IDLE))
        counts.append(int((core.bullet_age[0, 0] >= 0).sum()))
    # shots at steps 1, 5, 9, 13 (more than 3 steps apart); each lives through 10 steps
    assert counts == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 2, 2, 3, 3, 2, 2]


def test_a_new_bullet_starts_at_its_gun_and_flies_at_twenty_units_a_second() -> None:
    core = ArenaCore(1)
    place(core, 0, 1, 9.0, 19.0, DOWN)
    core.step(act(core, LEFT_GUN, IDLE))
    (bullet,) = core.bullets_in_flight(0)
    gun = np.array([0.0, -10.0]) + 0.25 * np.array([-1.0, 0.0])  # the left gun of a body facing up
    assert bullet == pytest.approx(gun + [0.0, 0.7 + 2.0])
    core.step(act(core, IDLE, IDLE))
    assert core.bullets_in_flight(0)[0] == pytest.approx(gun + [0.0, 0.7 + 4.0])


@pytest.mark.parametrize("distance", np.arange(1.2, 20.5, 0.37))
def test_bullets_never_pass_through_a_body_in_range(distance: float) -> None:
    core = ArenaCore(1)
    place(core, 0, 0, 0.0, -10.0, UP)
    place(core, 0, 1, 0.25, -10.0 + distance, DOWN)  # on the right gun's line
    hits = np.zeros(2)
    for _ in range(BULLET_LIFETIME + 1):
        core.step(act(core, RIGHT_GUN if _ == 0 else IDLE, IDLE))
        hits += core.last_hits[0] - core.last_hurts[0]
    assert hits.tolist() == [1.0, -1.0]
    assert core.hp[0].tolist() == [10, 9]


def test_bullets_stop_at_an_inner_wall() -> None:
    core = ArenaCore(1, preset_name="walls")
    place(core, 0, 0, 0.0, -14.0, UP)
    place(core, 0, 1, 0.25, -6.0, DOWN)  # behind the wall at y = -10
    total = np.zeros(2)
    for _ in range(2 * BULLET_LIFETIME):
        total += core.step(act(core, RIGHT_GUN, IDLE))[0]
    assert total.tolist() == [0.0, 0.0] and core.hp[0, 1] == 10


def test_a_kill_pays_the_hit_and_the_kill_and_ends_the_game() -> None:
    core = ArenaCore(2)
    place(core, 0, 1, 0.25, -7.0, DOWN)
    core.hp[0, 1] = 0  # one more hit takes it below 0
    rewards = core.step(act(core, RIGHT_GUN, IDLE))
    assert rewards[0].tolist() == [101.0, -101.0]
    assert core.over.tolist() == [True, False]
    assert not core.alive[0, 1] and core.outcome(np.array([0]))[0].tolist() == [1.0, 0.0]
    before = core.position.copy()
    core.step(act(core, BOTH_THRUSTERS, BOTH_THRUSTERS))  # an ended arena is not stepped again
    assert (core.position[0] == before[0]).all() and core.steps.tolist() == [1, 2]


def test_original_hill_pays_every_body_on_it_king_only_one_alone() -> None:
    for preset, both_on, one_on in (("original", [1.0, 1.0], [1.0, 0.0]), ("king", [0.0, 0.0], [0.1, -0.1])):
        core = ArenaCore(1, preset_name=preset)
        place(core, 0, 0, -2.0, 0.0, UP)
        place(core, 0, 1, 3.4, 0.0, DOWN)  # 3.4 < 3 + 0.5: its disc overlaps the hill
        assert core.step(act(core, IDLE, IDLE))[0].tolist() == pytest.approx(both_on)
        place(core, 0, 1, 3.6, 0.0, DOWN)
        assert core.step(act(core, IDLE, IDLE))[0].tolist() == pytest.approx(one_on)


def test_games_last_600_steps_and_king_pays_the_leader_at_the_end() -> None:
    core = ArenaCore(2, preset_name="king")
    place(core, 0, 0, 0.0, 0.0, UP)  # arena 0: body 0 holds the hill alone throughout
    totals = np.zeros((2, 2))
    for _ in range(EPISODE_STEPS):
        assert not core.over.any()
        totals += core.step(act(core, IDLE, IDLE))
    assert core.over.all()
    assert totals[0] == pytest.approx([60.0 + 100.0, -60.0 - 100.0])
    assert totals[1] == pytest.approx([0.0, 0.0])  # nobody scored: a draw, no bonus
    assert core.outcome().tolist() == [[1.0, 0.0], [0.5, 0.5]]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rewards_are_zero_sum_in_king_presets_and_scores_add_up(preset: str) -> None:
    core = ArenaCore(16, 2, preset)
    score = np.zeros((16, 2))
    for _, rewards in random_play(core, 300, seed=2):
        if PRESETS[preset].hill == "alone":
            assert rewards.sum(axis=1) == pytest.approx(np.zeros(16), abs=1e-9)
        score += rewards
        ended = core.over
        score[ended] = 0.0
    running = ~core.over
    assert core.score[running] == pytest.approx(score[running])


def test_rays_match_the_numpy_reference_with_walls_and_bodies() -> None:
    core = ArenaCore(64, 4, "walls")
    for _ in random_play(core, 50, seed=3):
        pass
    rng = np.random.default_rng(4)
    core.angle[:] = rng.uniform(-np.pi, np.pi, core.angle.shape)
    fractions, kinds = core.rays()
    directions = rays.ray_directions(core.angle, core.num_rays)
    walls = rays.wall_hits(core.position, directions, core.walls)
    bodies = rays.circle_hits(core.position, directions, core.position, BODY_RADIUS, ignore=np.eye(4, dtype=bool) | ~core.alive[:, None, :])
    expected = rays.ray_fractions(np.minimum(walls, bodies), 20.0)
    alive = core.alive
    assert fractions[alive] == pytest.approx(expected[alive], abs=1e-6)
    assert ((kinds == 1) == (walls <= bodies) & (expected < 1))[alive].all()


def test_the_original_observation_at_the_spawn_is_as_computed_by_hand() -> None:
    obs = ArenaCore(1).observation()[0, 0]
    assert obs.shape == (23,) and obs[:3].tolist() == [0.0, 0.0, 0.0]
    assert obs[3] == pytest.approx(0.5)  # the rightmost ray looks along +x: the wall x = 10 at 10 units
    assert obs[-1] == pytest.approx(0.5)  # the leftmost along -x
    # ray 1 is 180/19 degrees left of +x: it meets x = 10 at 10 / cos(9.47 deg) = 10.138 units
    assert obs[4] == pytest.approx(10.0 / np.cos(np.pi / 19) / 20.0, rel=1e-6)


def test_rich_observation_reports_what_rays_hit_and_where_the_hill_is() -> None:
    core = ArenaCore(1, observation="rich", num_rays=3)
    place(core, 0, 1, 0.0, 0.0, DOWN)  # straight ahead of body 0, on the hill
    obs = core.observation()[0, 0]
    assert obs.shape == (core.observation_size,) == (3 + 3 + 5 * 3 + 9,)
    rays_, walls_, enemies = obs[3:6], obs[6:9], obs[9:12]
    assert rays_[1] == pytest.approx(9.5 / 20.0) and enemies.tolist() == [0.0, 1.0, 0.0]
    assert walls_.tolist() == [1.0, 0.0, 1.0]
    hp, right_ready, left_ready, hill_cos, hill_sin, hill_distance, on_hill, time_left, lead = obs[-9:]
    assert (hp, right_ready, left_ready, on_hill, time_left, lead) == (1.0, 1.0, 1.0, 0.0, 1.0, 0.0)
    assert (hill_cos, hill_sin) == pytest.approx((1.0, 0.0), abs=1e-6)  # dead ahead
    assert hill_distance == pytest.approx(10.0 / 20.0)


def test_same_seed_same_games_with_spawn_jitter() -> None:
    runs = []
    for _ in range(2):
        core = ArenaCore(8, 3, "king", spawn_jitter=0.5, seed=11)
        for _ in random_play(core, 200, seed=5):
            pass
        runs.append((core.position.copy(), core.score.copy(), core.observation()))
    for first, second in zip(*runs):
        assert np.array_equal(first, second)
    assert not np.allclose(ArenaCore(2, spawn_jitter=0.5, seed=1).position[0], ArenaCore(2).position[0])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"preset_name": "kong"}, "valid presets are original, king, walls"),
        ({"num_bodies": 9}, "from 2 to 8"),
        ({"teams": "three"}, "free_for_all, two_teams"),
        ({"observation": "pixels"}, "original, rich"),
        ({"num_bodies": 3, "teams": "two_teams"}, "even num_bodies"),
    ],
)
def test_bad_options_get_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ArenaCore(1, **kwargs)


def test_bad_actions_are_refused() -> None:
    core = ArenaCore(2)
    with pytest.raises(ValueError, match="shape"):
        core.step(np.zeros((2, 4), np.int8))
    with pytest.raises(ValueError, match="0 or 1"):
        core.step(np.full((2, 2, 4), 2))
