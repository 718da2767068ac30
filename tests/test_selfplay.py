"""Self-play: the opponent pool as the env's seated opponent, snapshots, resume, elo/current."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

import envs  # noqa: F401
from rlagent.config import SelfPlayConfig, resolve
from rlagent.errors import ConfigError
from rlagent.games.selfplay import Member, OpponentPool
from rlagent.make_env import make_env
from rlagent.run import Trainer
from rlagent.train import main as train_main


class CountingPlayer:
    """Plays the first legal move and counts its calls and the rows it was asked about."""

    def __init__(self, name: str) -> None:
        self.name, self.calls, self.rows = name, 0, 0

    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.rows += len(action_mask)
        return np.argmax(action_mask != 0, axis=1)


def pool_of(players: list[CountingPlayer], num_envs: int, tmp_path: Path, **config) -> OpponentPool:
    pool = OpponentPool(SelfPlayConfig(enabled=True, baselines=(), **config), num_envs, tmp_path, seed=0)
    for player in players:
        pool.members.append(Member(player.name, "baseline"))
        pool.players[player.name] = player
    return pool


def test_each_step_makes_one_batched_call_per_seated_opponent(tmp_path: Path) -> None:
    players = [CountingPlayer(f"p{i}") for i in range(3)]
    pool = pool_of(players, 64, tmp_path)
    env = make_env("hex", 64, {"size": 4, "opponent": pool, "agent_color": "random"})
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        calls_before = sum(p.calls for p in players)
        env.step(np.argmax(rng.random((64, 17)) * legal(env), axis=1))
        assert sum(p.calls for p in players) - calls_before <= 2 * len(players)  # replies, and openings of new games
    assert all(p.calls > 0 for p in players)


def legal(env) -> np.ndarray:
    """The env's legal-action mask as floats, so random scores times it pick a legal move."""
    return env.action_masks().astype(float)


def test_opponents_change_only_between_games_and_results_are_counted(tmp_path: Path) -> None:
    players = [CountingPlayer(f"p{i}") for i in range(4)]
    pool = pool_of(players, 32, tmp_path)
    env = make_env("hex", 32, {"size": 3, "opponent": pool, "agent_color": "random"})
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    seated = pool.seated.copy()
    finished = 0
    for _ in range(60):
        _, reward, terminated, _, _ = env.step(np.argmax(rng.random((32, 10)) * legal(env), axis=1))
        running = ~terminated
        assert np.array_equal(pool.seated[running], seated[running]), "an opponent changed in the middle of a game"
        finished += int(terminated.sum())
        seated = pool.seated.copy()
    assert sum(m.games for m in pool.members) == finished
    assert len(set(pool.seated.tolist())) > 1


def test_sampling_rules(tmp_path: Path) -> None:
    players = [CountingPlayer(f"p{i}") for i in range(3)]
    uniform = pool_of(players, 8, tmp_path)
    assert np.allclose(uniform.probabilities(), 1 / 3)

    latest = pool_of(players, 8, tmp_path, sampling="latest", latest_fraction=0.6)
    latest.members[2].kind = "snapshot"
    assert np.allclose(latest.probabilities(), [0.2, 0.2, 0.6])

    prioritized = pool_of(players, 8, tmp_path, sampling="prioritized")
    prioritized.members[0].games, prioritized.members[0].learner_score = 98, 98.0  # the learner always beats p0
    prioritized.members[1].games, prioritized.members[1].learner_score = 98, 0.0  # ... and always loses to p1
    chances = prioritized.probabilities()
    assert chances[1] > chances[2] > chances[0] and chances.sum() == pytest.approx(1.0)

    prioritized.members[1].active = False  # retired members are never drawn
    assert prioritized.probabilities()[1] == 0.0


def selfplay_settings(tmp_path: Path) -> list[str]:
    return [
        "env.size=4",
        "env.agent_color=random",
        "selfplay.enabled=true",
        "selfplay.snapshot_every=2",
        "selfplay.eval_every=2",
        "selfplay.eval_games=8",
        "selfplay.max_snapshots=2",
        "ppo.num_steps=16",
        "run.num_envs=8",
        "run.checkpoint_every=2",
        "run.progress=false",
        f"run.logdir={tmp_path}",
    ]


def test_cli_self_play_run_builds_a_pool_and_rates_the_learner(tmp_path: Path, capsys) -> None:
    code = train_main(
        [
            "ppo",
            "--env",
            "hex",
            "--set",
            "env.size=5",
            "--set",
            "selfplay.enabled=true",
            "--set",
            "selfplay.snapshot_every=2",
            "--set",
            "selfplay.eval_every=2",
            "--total-steps",
            str(16 * 8 * 6),
            "--set",
            "ppo.num_steps=16",
            "--set",
            "run.num_envs=8",
            "--set",
            "run.progress=false",
            "--logdir",
            str(tmp_path),
        ]
    )
    assert code == 0
    (run_dir,) = tmp_path.iterdir()
    pool_dir = run_dir / "pool"
    assert sorted(p.name for p in pool_dir.glob("step_*.pt")) == sorted(f"step_{s}.pt" for s in (0, 256, 512, 768))
    summary = json.loads((pool_dir / "pool.json").read_text())
    names = [m["name"] for m in summary["members"]]
    assert names == ["random", "step_0", "step_256", "step_512", "step_768"]
    assert sum(m["games"] for m in summary["members"]) > 50
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rated = [row for row in rows if "elo/current" in row]
    assert [row["step"] for row in rated] == [256, 512, 768]
    assert all(row["elo/current_low"] <= row["elo/current"] <= row["elo/current_high"] for row in rated)
    lines = (pool_dir / "eval_games.csv").read_text().splitlines()
    assert lines[0] == "first,second,score" and len(lines) == 1 + 16 * (2 + 3 + 4)  # 16 games per member

    # ... and the league rates every snapshot and checkpoint of that run against the baseline.
    from rlagent.games.league import run_league

    ratings = run_league(run_dir, games=8, baselines=("random",), progress=False)
    assert set(ratings.ratings) == {"random", "step_0", "step_256", "step_512", "step_768"}
    table = (run_dir / "league" / "ratings.csv").read_text().splitlines()
    assert len(table) == 1 + 5 and (run_dir / "league" / "elo.png").stat().st_size > 0


def test_snapshots_load_like_checkpoints(tmp_path: Path) -> None:
    from rlagent.agent import load_agent

    trainer = Trainer(resolve("ppo", "hex", overrides=selfplay_settings(tmp_path), extra={"total_steps": 16 * 8 * 2}))
    trainer.train()
    agent = load_agent(trainer.run_dir / "pool" / "step_256.pt")
    for a, b in zip(agent.policy.state_dict().values(), trainer.policy.state_dict().values()):
        assert torch.equal(a, b)


def test_retired_snapshots_are_not_drawn_but_keep_their_files(tmp_path: Path) -> None:
    trainer = Trainer(resolve("ppo", "hex", overrides=selfplay_settings(tmp_path), extra={"total_steps": 16 * 8 * 8}))
    trainer.train()
    pool = trainer.pool
    active = [m.name for m in pool.members if m.active]
    assert active == ["random", "step_768", "step_1024"]
    assert len(list((trainer.run_dir / "pool").glob("step_*.pt"))) == 5
    assert pool.probabilities()[[m.name for m in pool.members].index("step_0")] == 0.0


def test_resumed_self_play_run_equals_the_uninterrupted_one(tmp_path: Path) -> None:
    total = {"total_steps": 16 * 8 * 6}
    straight = Trainer(resolve("ppo", "hex", overrides=selfplay_settings(tmp_path / "a"), extra=total))
    straight.train()

    config = resolve("ppo", "hex", overrides=selfplay_settings(tmp_path / "b"), extra=total)
    interrupted = Trainer(config)
    collect, calls = interrupted.collector.collect, {"n": 0}

    def collect_then_ctrl_c():
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return collect()

    interrupted.collector.collect = collect_then_ctrl_c
    result = interrupted.train()
    assert result.interrupted and result.updates == 3

    resumed = Trainer(resolve("ppo", "hex", base=config.to_dict()), run_dir=result.run_dir, resume=True)
    resumed.train()
    for a, b in zip(straight.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
    assert straight.pool.eval_rows == resumed.pool.eval_rows
    assert [(m.name, m.games, m.learner_score) for m in straight.pool.members] == [(m.name, m.games, m.learner_score) for m in resumed.pool.members]


def test_self_play_needs_a_two_player_game(tmp_path: Path) -> None:
    config = resolve("ppo", "CartPole-v1", overrides=["selfplay.enabled=true", f"run.logdir={tmp_path}"])
    with pytest.raises(ConfigError, match="selfplay.enabled needs a game env such as hex or arena; CartPole-v1 is not one"):
        Trainer(config)


@pytest.mark.parametrize(
    "override, message",
    [
        ("selfplay.sampling=best", "selfplay.sampling must be one of uniform, latest, prioritized"),
        ("selfplay.baselines=[random, gnugo]", "unknown selfplay baseline 'gnugo'"),
        ("selfplay.eval_games=7", "selfplay.eval_games must be even"),
        ("selfplay.snapshot_every=0", "selfplay.snapshot_every must be a positive integer"),
    ],
)
def test_bad_selfplay_settings_name_the_field(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve("ppo", "hex", overrides=[override])


@pytest.mark.slow
def test_self_play_from_scratch_beats_random_on_5x5(tmp_path: Path) -> None:
    """The learner trains against its own past selves (and random, one member in several) and
    must end up beating the random player with both colours."""
    from rlagent.agent import load_agent
    from rlagent.episodes import play_episodes as play_games

    trainer = Trainer(
        resolve(
            "ppo",
            "hex",
            overrides=[
                "env.size=5",
                "env.agent_color=random",
                "selfplay.enabled=true",
                "selfplay.snapshot_every=4",
                "selfplay.eval_every=0",
                "run.progress=false",
                f"run.logdir={tmp_path}",
            ],
            extra={"total_steps": 20_480},
        )
    )
    trainer.train()
    agent = load_agent(trainer.run_dir)
    wins = sum(int((play_games(agent, 100, "random", colour, 7 + colour, True) > 0).sum()) for colour in (0, 1))
    assert wins / 200 >= 0.85
