"""The Arena in the game tooling: seated matches, the self-play pool by seats, the league (no
first-move term), evaluate's won/drawn/lost and watch's GIF."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from envs.arena.bots import make_bot
from envs.arena.core import ArenaCore
from envs.arena.env import arena_vector_env
from rlagent.config import SelfPlayConfig, resolve
from rlagent.evaluate import main as evaluate_main
from rlagent.games.league import read_matches, run_league
from rlagent.games.seat_matches import play_seated
from rlagent.games.selfplay import OpponentPool
from rlagent.run import Trainer
from rlagent.watch import main as watch_main


def test_seated_matches_score_seat_zero_and_respect_the_seating() -> None:
    core = ArenaCore(8)
    hunter, idle = make_bot("hunter", 8), make_bot("idle", 8)
    a_first = np.arange(8) < 4
    scores = play_seated(core, hunter, idle, a_first)
    assert scores.tolist() == [1.0] * 4 + [0.0] * 4  # the hunter wins from either seat
    assert core.over.all()


def test_openings_make_different_games_and_the_same_opening_the_same_game() -> None:
    finals = []
    for openings in ([3, 3, 5, 7], [3, 3, 5, 7]):
        core = ArenaCore(4)
        play_seated(core, make_bot("hunter", 4), make_bot("turret", 4), np.ones(4, bool), np.array(openings))
        finals.append((core.score.copy(), core.steps.copy()))
    assert np.array_equal(finals[0][0], finals[1][0]) and np.array_equal(finals[0][1], finals[1][1])
    score = finals[0][0]
    assert np.array_equal(score[0], score[1])  # same opening, same game
    assert not (np.array_equal(score[0], score[2]) and np.array_equal(score[2], score[3]))


def test_the_pool_seats_a_member_per_opponent_body_for_whole_episodes(tmp_path: Path) -> None:
    config = SelfPlayConfig(enabled=True, baselines=("idle", "hunter"))
    probe = ArenaCore(6, num_bodies=3)
    pool = OpponentPool(config, 6, tmp_path, seed=0, seat_game=probe)
    env = arena_vector_env(num_envs=6, num_bodies=3, opponent=pool, learner_seat="random")
    env.reset(seed=0)
    ended_games = 0
    rng = np.random.default_rng(0)
    for _ in range(650):
        before = pool.seated.reshape(6, 3).copy()
        _, _, terminated, _, info = env.step(rng.integers(0, 2, (6, 4)))
        after = pool.seated.reshape(6, 3)
        assert np.array_equal(after[~terminated], before[~terminated])  # nobody changes seats mid-game
        ended_games += int(terminated.sum())
        learner = env.match.learner_seat
        assert (after[np.arange(6), learner] == -1).all()  # the learner's seat holds no member
        assert (after >= 0).sum() == 6 * 2  # every other seat does
    games = sum(m.games for m in pool.members)
    assert 0 < ended_games <= games <= 2 * ended_games  # one or two distinct members per game


@pytest.fixture(scope="module")
def arena_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Arena PPO-GRU run with three checkpoints (seconds of training)."""
    logdir = tmp_path_factory.mktemp("logs")
    overrides = [
        "run.progress=false",
        f"run.logdir={logdir}",
        "run.checkpoint_every=1",
        "run.keep_checkpoints=10",
        "ppo.num_steps=32",
        "run.num_envs=8",
        "env.opponent=random",
    ]
    trainer = Trainer(resolve("ppo", "arena", overrides=overrides, extra={"total_steps": 32 * 8 * 3}))
    trainer.train()
    return Path(trainer.run_dir)


def test_the_league_rates_arena_checkpoints_and_bots_without_a_first_move_term(arena_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(arena_run, tmp_path / "run"))
    ratings = run_league(run, games=4, baselines="idle,hunter", progress=False)
    assert ratings.first_move_advantage == 0.0 and ratings.advantage_interval == (0.0, 0.0)
    assert ratings.ratings["hunter"] > ratings.ratings["idle"]
    names = {name for r in read_matches(run / "league" / "matches.csv") for name in (r.first, r.second)}
    assert {"step_256", "step_512", "step_768", "idle", "hunter"} <= names
    assert (run / "league" / "elo.png").is_file() and (run / "league" / "ratings.csv").is_file()


def test_evaluate_prints_won_drawn_lost_from_each_seat(arena_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert evaluate_main([str(arena_run), "--opponent", "idle", "--games", "4"]) == 0
    out = capsys.readouterr().out
    assert "from seat 0" in out and "from seat 1" in out and "overall" in out
    assert "won" in out and "drawn" in out and "lost" in out and "/4 =" in out


def test_watch_records_a_match_as_a_gif(arena_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "match.gif"
    assert watch_main([str(arena_run), "--opponent", "hunter", "--out", str(out), "--every", "10"]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames >= 2 and gif.size[0] > 100
    assert "against hunter by score" in capsys.readouterr().out


def test_watch_refuses_bad_opponents_in_one_line(arena_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert watch_main([str(arena_run), "--opponent", "mcts100", "--out", "x.gif"]) != 0
    assert "does not play the Arena" in capsys.readouterr().err


def test_the_league_records_one_sample_match_per_pair(tmp_path: Path) -> None:
    from rlagent.games.league import Entrant, record_samples

    entrants = [Entrant("idle", "idle"), Entrant("hunter", "hunter"), Entrant("hill", "hill")]
    written = record_samples(entrants, "arena", "{}", tmp_path)
    assert sorted(p.name for p in written) == ["hunter-vs-hill.gif", "idle-vs-hill.gif", "idle-vs-hunter.gif"]
    with Image.open(tmp_path / "idle-vs-hunter.gif") as gif:
        assert gif.n_frames > 10
    assert record_samples(entrants, "arena", "{}", tmp_path) == []  # already there: not recorded again


def test_league_gifs_are_refused_for_board_games(tmp_path: Path) -> None:
    from rlagent.errors import ConfigError
    from rlagent.games.league import run_league as league

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text('{"env": "hex", "env_kwargs": {"size": 3}}')
    with pytest.raises(ConfigError, match="--gifs records Arena matches"):
        league(run, games=2, baselines="random", gifs=True)


def test_a_seat_player_keeps_one_recurrent_state_per_body_and_clears_it_at_a_start() -> None:
    import torch
    from gymnasium import spaces

    from rlagent.games.seat_players import PolicySeatPlayer
    from rlagent.nets.policy import PolicyConfig, build_policy

    torch.manual_seed(0)
    core = ArenaCore(4)
    policy = build_policy(spaces.Box(-50, 50, (23,), np.float32), spaces.MultiBinary(4), PolicyConfig(recurrent="gru", recurrent_hidden=8))
    views = np.random.default_rng(0).normal(size=(5, 2, 23)).astype(np.float32)
    alone, shared = PolicySeatPlayer(policy, 2), PolicySeatPlayer(policy, 2)
    alone.start(np.array([0]), np.array([0]))
    shared.start(np.array([0, 3]), np.array([0, 1]))
    for t in range(5):
        alone.act(core, np.array([0]), np.array([0]), views[t, :1])
        shared.act(core, np.array([0, 3]), np.array([0, 1]), views[t])  # body (3, 1) sees other things
        if t == 0:
            after_first = alone.state[0].clone()
    # body (0, 0) remembers only its own views (batches of 1 and 2: equal up to float rounding)
    assert torch.allclose(alone.state[0], shared.state[0], atol=1e-6)
    assert not torch.allclose(shared.state[0], shared.state[7], atol=1e-3)
    alone.start(np.array([0]), np.array([0]))  # a new episode there: its memory starts from zero
    alone.act(core, np.array([0]), np.array([0]), views[0, :1])
    assert torch.allclose(alone.state[0], after_first, atol=1e-6)


def test_game_results_count_wins_and_draws_from_each_games_final_info() -> None:
    from rlagent.monitor.results import GameResults

    results = GameResults(window=4)
    dones = np.array([True, False, True])
    info = {"result": np.zeros(3), "final_info": {"result": np.array([1.0, 0.0, 0.5])}}  # the new games' info is 0
    results.update(info, dones, np.zeros(3))
    results.update({"result": np.zeros(3), "final_info": {"result": np.array([1.0, 1.0, 0.0])}}, np.array([True, True, False]), np.zeros(3))
    assert results.summary() == {"rollout/win_rate": 0.75, "rollout/draw_rate": 0.25}
    results.update({}, np.zeros(3, bool), np.zeros(3))  # no game ended: nothing to count
    assert list(results.results) == [1.0, 0.5, 1.0, 1.0]


def test_evaluation_plays_distinct_games_from_jittered_spawns(arena_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rlagent.episodes as episodes
    from rlagent.agent import load_agent

    agent = load_agent(arena_run)
    exact = episodes.play_episodes(agent, 6, "hunter", None, 0, True, learner_seat=0)
    jittered = episodes.play_episodes(agent, 6, "hunter", None, 0, True, learner_seat=0, extra_env={"spawn_jitter": 0.5})
    assert np.unique(exact).size == 1 and np.unique(jittered).size > 1  # greedy vs a bot: one game, unless jittered
    seen = []
    monkeypatch.setattr(episodes, "play_episodes", lambda *args, **kwargs: seen.append(kwargs["extra_env"]) or np.zeros(0))
    episodes.results_by_seat(agent, "hunter", 4, seed=0)
    assert seen == [{"spawn_jitter": 0.5}] * 2
