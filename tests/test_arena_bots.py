"""The Arena's scripted bots: each does its job, the ladder the league relies on holds, the
actions are well-formed, and the random bot replays arena for arena.

Matches play batches with the spawns jittered (fixed seeds), so the games differ, and with the two
bots swapping seats in half the arenas, so a bot is checked playing both seats in one call."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from envs.arena.bots import BOT_NAMES, ON_HILL, TURN_QUANTUM, ArenaPlayer, RandomBot, make_bot, play
from envs.arena.core import ArenaCore
from envs.arena.rules import ANGULAR_DAMPING, COOLDOWN_STEPS, START_HP, THRUSTER_LEFT, THRUSTER_RIGHT, preset

BATCH = 64


@dataclass
class Result:
    """Per arena, from the first bot's side: scores, outcome, who died, the hp each lost."""

    score: np.ndarray
    rival_score: np.ndarray
    outcome: np.ndarray
    killed: np.ndarray
    hp_lost: np.ndarray
    rival_hp_lost: np.ndarray

    @property
    def win_rate(self) -> float:
        return float(np.mean(self.outcome == 1.0))


def _seating(batch: int) -> np.ndarray:
    """Player 0 in seat 0 of the first half of the arenas and in seat 1 of the second half."""
    seating = np.zeros((batch, 2), np.int64)
    half = np.arange(batch) < batch // 2
    seating[half, 1] = 1
    seating[~half, 0] = 1
    return seating


def _match(first: str | ArenaPlayer, second: str, rules: object = "original", batch: int = BATCH, seed: int = 0) -> Result:
    core = ArenaCore(batch, 2, rules, spawn_jitter=1.0, seed=seed)
    players = [make_bot(first, batch, seed) if isinstance(first, str) else first, make_bot(second, batch, seed + 1)]
    seating = _seating(batch)
    play(core, players, seating)
    rows = np.arange(batch)
    own, rival = np.argmax(seating == 0, axis=1), np.argmax(seating == 1, axis=1)
    return Result(
        score=core.score[rows, own],
        rival_score=core.score[rows, rival],
        outcome=core.outcome()[rows, own],
        killed=~core.alive[rows, rival],
        hp_lost=START_HP - core.hp[rows, own],
        rival_hp_lost=START_HP - core.hp[rows, rival],
    )


class _Recorder:
    """Wraps a bot and records, each step, whether its bodies were on the hill and whether their
    arena was still running."""

    def __init__(self, bot: ArenaPlayer) -> None:
        self.bot, self.name = bot, bot.name
        self.on_hill: list[np.ndarray] = []
        self.running: list[np.ndarray] = []

    def start(self, arenas: np.ndarray, seats: np.ndarray) -> None:
        self.bot.start(arenas, seats)

    def act(self, core: ArenaCore, arenas: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        self.on_hill.append(np.linalg.norm(core.position[arenas, seats], axis=-1) < ON_HILL)
        self.running.append(~core.over[arenas])
        return self.bot.act(core, arenas, seats, observation)


def test_the_rest_heading_the_steering_plans_with() -> None:
    """The controllers' premise: ``angle + spin / ANGULAR_DAMPING`` stays put without torque and
    moves by exactly TURN_QUANTUM per one-thruster step (+ for the right thruster)."""
    core = ArenaCore(1, 2, "original")

    def rest() -> float:
        return float(core.angle[0, 0] + core.angular_velocity[0, 0] / ANGULAR_DAMPING)

    before = rest()
    for thruster, sign in [(THRUSTER_RIGHT, 1), (THRUSTER_RIGHT, 1), (THRUSTER_LEFT, -1), (None, 0), (None, 0)]:
        actions = np.zeros((1, 2, 4), np.int8)
        if thruster is not None:
            actions[0, 0, thruster] = 1
        core.step(actions)
        assert rest() == pytest.approx(before + sign * TURN_QUANTUM)
        before = rest()


@pytest.mark.parametrize("rules", ["original", "walls"])
def test_the_hill_bot_reaches_the_hill_and_holds_it(rules: str) -> None:
    recorder = _Recorder(make_bot("hill", 32))
    _match(recorder, "idle", rules, batch=32)
    on_hill, running = np.array(recorder.on_hill), np.array(recorder.running)  # (steps, arenas)
    assert on_hill.any(axis=0).all()
    arrival = np.argmax(on_hill, axis=0)
    assert arrival.max() <= 60  # the walls preset: from 15 away, round a wall
    after = np.arange(len(on_hill))[:, None] >= arrival
    held = (on_hill & after & running).sum(axis=0) / (after & running).sum(axis=0)
    assert held.min() > 0.9


def test_the_turret_hits_an_idle_body_in_view_and_stays_put() -> None:
    closer = replace(preset("original"), name="closer", spawn_distance=7.0)  # 14 apart: in the turret's range
    core = ArenaCore(32, 2, closer, spawn_jitter=1.0, seed=4)
    start = core.position[:, 0].copy()
    play(core, [make_bot("turret", 32), make_bot("idle", 32)], np.tile([0, 1], (32, 1)))
    hits = START_HP - core.hp[:, 1]
    assert (hits > 0).all() and (core.hp[:, 0] == START_HP).all()
    assert np.mean(~core.alive[:, 1]) > 0.9
    assert (core.outcome()[:, 0] == 1.0).all()
    drift = np.linalg.norm(core.position[:, 0] - start, axis=-1)  # each turn nudges it ahead; it never drives
    assert drift.mean() < 5.0 and drift.max() < 8.0


@pytest.mark.parametrize("rival", ["idle", "random", "hill"])
def test_the_hunter_beats_the_weaker_bots(rival: str) -> None:
    result = _match("hunter", rival)
    assert result.win_rate >= 0.9
    if rival == "idle":
        assert np.mean(result.killed) > 0.9


def test_the_ladder_in_mean_score_difference() -> None:
    """What the league relies on: each rung beats the one below it on average and in most games."""
    for stronger, weaker in [("hunter", "hill"), ("hill", "random"), ("random", "idle")]:
        result = _match(stronger, weaker)
        assert np.mean(result.score - result.rival_score) > 10.0, (stronger, weaker)
        assert result.win_rate >= 0.75, (stronger, weaker, result.win_rate)


@pytest.mark.parametrize("rules", ["king", "walls"])
def test_the_hunter_beats_random_in_the_other_presets(rules: str) -> None:
    assert _match("hunter", "random", rules, batch=32).win_rate >= 0.9


def test_actions_are_int8_bits_of_the_right_shape() -> None:
    core = ArenaCore(8, 4, "walls", teams="two_teams", spawn_jitter=2.0, seed=1)
    arenas, seats = np.repeat(np.arange(8), 2), np.tile([1, 2], 8)
    for name in BOT_NAMES:
        bot = make_bot(name, 8)
        seen = np.zeros((0, 4), np.int8)
        for _ in range(20):
            actions = bot.act(core, arenas, seats, core.observation()[arenas, seats])
            assert actions.shape == (16, 4) and actions.dtype == np.int8
            seen = np.concatenate([seen, actions])
            core.step(np.zeros((8, 4, 4), np.int8))
        assert set(np.unique(seen)) <= {0, 1}, name


def test_dead_bodies_act_nothing() -> None:
    core = ArenaCore(16, 2, "original", spawn_jitter=1.0, seed=2)
    core.alive[::2, 0] = False
    arenas, seats = np.arange(16), np.zeros(16, np.int64)
    for name in BOT_NAMES:
        actions = make_bot(name, 16).act(core, arenas, seats, core.observation()[arenas, seats])
        assert not actions[::2].any(), name
    assert make_bot("random", 16).act(core, arenas, seats, core.observation()[arenas, seats])[1::2].any()


def test_the_turret_holds_fire_while_an_ally_is_in_the_way() -> None:
    core = ArenaCore(1, 4, "original", teams="two_teams")
    core.position[0] = [[0.0, -5.0], [0.0, 5.0], [0.0, 0.0], [8.0, 15.0]]  # ally (seat 2) between seat 0 and enemy 1
    core.angle[0, 0] = np.pi / 2
    core.since_shot[0] = COOLDOWN_STEPS + 1
    turret, arenas, seats = make_bot("turret", 1), np.array([0]), np.array([0])
    assert not turret.act(core, arenas, seats, core.observation()[0, :1])[0, :2].any()
    core.position[0, 2] = [5.0, 0.0]
    assert turret.act(core, arenas, seats, core.observation()[0, :1])[0, :2].all()


def _random_actions(bot: RandomBot, batch: int, steps: int = 5) -> np.ndarray:
    core = ArenaCore(batch, 2, "original")
    arenas, seats = np.arange(batch), np.zeros(batch, np.int64)
    return np.stack([bot.act(core, arenas, seats, core.observation()[:, 0]) for _ in range(steps)])


def test_the_random_bot_replays_arena_for_arena() -> None:
    small, large = _random_actions(RandomBot(3, seed=7), 3), _random_actions(RandomBot(40, seed=7), 40)
    np.testing.assert_array_equal(small, large[:, :3])
    assert not np.array_equal(large[:, 3], large[:, 4])
    bot = RandomBot(40, seed=7)
    _random_actions(bot, 40)
    bot.reseed(7, np.array([5, 30]))
    again = _random_actions(bot, 40)
    np.testing.assert_array_equal(again[:, [5, 30]], large[:, [5, 30]])
    assert not np.array_equal(again[:, 6], large[:, 6])


def test_make_bot_names_the_valid_bots() -> None:
    assert [make_bot(name, 2).name for name in BOT_NAMES] == list(BOT_NAMES)
    with pytest.raises(ValueError, match="valid bots are idle, random, hill, turret, hunter"):
        make_bot("sniper", 2)
