"""Run directories: one per run, even for runs started in the same second; none for a run that never starts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from rlagent import run as run_module
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.run import Trainer, new_run_dir


class FrozenClock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        return datetime(2026, 12, 7, 4, 30, 0)


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "datetime", FrozenClock)
    config = resolve("ppo", "CartPole-v1", overrides=[f"run.logdir={tmp_path / 'logs'}"])
    first, second, third = (new_run_dir(config) for _ in range(3))
    assert [p.name for p in (first, second, third)] == [
        "cartpole-ppo-20261207-043000-s0",
        "cartpole-ppo-20261207-043000-s0-2",
        "cartpole-ppo-20261207-043000-s0-3",
    ]
    assert all(p.is_dir() for p in (first, second, third))  # claimed when named, not later


def test_a_run_that_fails_to_build_leaves_no_empty_directory(tmp_path: Path) -> None:
    config = resolve("ppo", "hex", overrides=[f"run.logdir={tmp_path}", "env.no_such_option=1"])
    with pytest.raises(ConfigError):
        Trainer(config)
    assert list(tmp_path.iterdir()) == []
