"""The Arena is learnable: PPO with a GRU core, from scratch, beats the idle and random bots after a
short run (about half a minute on one core), won by score over 64 games each from both spawns."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlagent.agent import load_agent
from rlagent.config import resolve
from rlagent.episodes import results_by_seat
from rlagent.run import Trainer


def win_rate(run_dir: Path, opponent: str, games: int = 64) -> float:
    results = results_by_seat(load_agent(run_dir), opponent, games, seed=1234)
    return sum(r.won + 0.5 * r.drawn for r in results) / games


@pytest.mark.slow
def test_ppo_gru_learns_to_beat_idle_and_random(tmp_path: Path) -> None:
    overrides = [
        "run.progress=false",
        f"run.logdir={tmp_path}",
        "run.num_envs=32",
        "run.seed=0",
        "env.opponent=random",
        "ppo.num_steps=64",
    ]
    untrained = Trainer(resolve("ppo", "arena", overrides=overrides, extra={"total_steps": 2048}))
    untrained.train()
    trained = Trainer(resolve("ppo", "arena", overrides=overrides, extra={"total_steps": 160_000}))
    trained.train()
    before = {opponent: win_rate(untrained.run_dir, opponent) for opponent in ("idle", "random")}
    after = {opponent: win_rate(trained.run_dir, opponent) for opponent in ("idle", "random")}
    assert after["idle"] >= 0.9 and after["random"] >= 0.8, (before, after)
    assert after["random"] > before["random"] + 0.2, (before, after)
