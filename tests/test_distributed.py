"""The backends: Ray gives exactly the local results (leagues, studies), and says clearly when it cannot run.

Tests marked ``ray`` share one local Ray with 2 CPUs (the ``ray_session`` fixture in conftest),
started once per session; they are skipped when Ray is not installed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rlagent.config import resolve
from rlagent.distributed import BACKENDS, private_ray_environment, require_ray
from rlagent.errors import ConfigError, RlagentError
from rlagent.games.league import Entrant, _Pairing, _results, read_matches, run_league
from rlagent.league import main as league_main
from rlagent.run import Trainer
from rlagent.sweep import Cell, run_sweep

HOME_TOKEN = Path.home() / ".ray" / "auth_token"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3x3 Hex PPO run with three checkpoints (a few seconds of training)."""
    logdir = tmp_path_factory.mktemp("logs")
    overrides = [
        "env.size=3",
        "run.progress=false",
        f"run.logdir={logdir}",
        "run.checkpoint_every=1",
        "run.keep_checkpoints=10",
        "ppo.num_steps=16",
        "run.num_envs=8",
    ]
    trainer = Trainer(resolve("ppo", "hex", overrides=overrides, extra={"total_steps": 16 * 8 * 3}))
    trainer.train()
    return Path(trainer.run_dir)


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = league_main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# ------------------------------------------------------------------------------ without Ray


def test_an_unknown_backend_is_refused_with_the_valid_ones(trained_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="unknown backend 'dask': valid are local, ray"):
        run_league(trained_run, 2, "random", backend="dask")
    with pytest.raises(ConfigError, match="unknown backend 'dask': valid are local, ray"):
        run_sweep([], backend="dask")
    assert "invalid choice: 'dask' (choose from 'local', 'ray')" in _one_line_error([str(trained_run), "--backend", "dask"], capsys)
    assert BACKENDS == ("local", "ray")


def test_an_address_needs_the_ray_backend(trained_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--address auto joins a Ray cluster: add --backend ray" in _one_line_error([str(trained_run), "--address", "auto"], capsys)


def test_without_ray_one_line_says_how_to_install_it(trained_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    with pytest.raises(ConfigError, match=r'^Ray is not installed: pip install -e "\.\[ray\]"'):
        require_ray()
    assert 'Ray is not installed: pip install -e ".[ray]"' in _one_line_error([str(trained_run), "--backend", "ray"], capsys)
    assert not (trained_run / "league").exists()


def test_a_private_ray_keeps_its_token_in_the_environment_unless_the_user_chose() -> None:
    added = private_ray_environment({})
    assert added["RAY_AUTH_MODE"] == "token" and len(added["RAY_AUTH_TOKEN"]) == 64
    assert private_ray_environment({})["RAY_AUTH_TOKEN"] != added["RAY_AUTH_TOKEN"]
    for chosen in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        assert not {"RAY_AUTH_MODE", "RAY_AUTH_TOKEN"} & set(private_ray_environment({chosen: "x"}))


# ------------------------------------------------------------------------------ with Ray


@pytest.mark.ray
def test_a_league_on_ray_writes_the_same_ratings_as_one_process(
    ray_session: Path, trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serial = Path(shutil.copytree(trained_run, tmp_path / "serial"))
    on_ray = Path(shutil.copytree(trained_run, tmp_path / "ray"))
    arguments = ["--games", "6", "--baselines", "random,mcts20", "--seed", "5", "--positions", "0"]
    assert league_main([str(serial), *arguments]) == 0
    serial_out = capsys.readouterr().out.splitlines()
    assert league_main([str(on_ray), *arguments, "--backend", "ray"]) == 0
    ray_out = capsys.readouterr().out.splitlines()
    assert serial_out[0].split(";")[0] == ray_out[0].split(";")[0] == "played 60 new games"
    assert serial_out[1:-1] == ray_out[1:-1]  # the table and the first-move advantage
    assert (on_ray / "league" / "ratings.csv").read_bytes() == (serial / "league" / "ratings.csv").read_bytes()
    key = lambda r: (r.first, r.second, r.score, r.opening)  # noqa: E731
    assert sorted(map(key, read_matches(on_ray / "league" / "matches.csv"))) == sorted(map(key, read_matches(serial / "league" / "matches.csv")))


@pytest.mark.ray
def test_a_study_on_ray_gives_each_cell_the_same_figures(ray_session: Path, tmp_path: Path) -> None:
    cartpole = ("ppo.num_steps=32", "run.num_envs=4", "ppo.num_minibatch=2", "ppo.num_epoch=2")
    pwm = ("env.task=pwm5", "env.epoch_len=15", "run.num_envs=4", "reinforce.value_loss_coef=2")
    cells = [
        Cell("ppo", "CartPole-v1", cartpole, 32 * 4 * 3, seed=0),
        Cell("ppo", "CartPole-v1", cartpole, 32 * 4 * 3, seed=1),
        Cell("reinforce", "pwm", pwm, 15 * 4 * 3, seed=0),
    ]
    keys = ("rollout/ep_rew_mean", "train/value_loss", "train/approx_kl", "trial/accuracy")
    local = run_sweep(cells, workers=1, logdir=tmp_path / "local", curve_keys=keys, eval_episodes=10, progress=False)
    on_ray = run_sweep(cells, logdir=tmp_path / "ray", curve_keys=keys, eval_episodes=10, progress=False, backend="ray")
    assert [r.error for r in local] == [r.error for r in on_ray] == [None] * 3
    assert [r.cell for r in on_ray] == cells  # in the order of the cells, whatever order they finished in
    for a, b in zip(local, on_ray):
        assert len(a.curve) >= 3 and "train/value_loss" in a.curve[-1]
        assert a.curve == b.curve  # exact: the same floats at the same steps
        assert a.evaluation == b.evaluation
    assert local[2].evaluation  # the trial task was scored after training
    assert local[0].curve != local[1].curve  # the seeds reached the workers: different seeds, different runs
    assert all(Path(r.run_dir).is_relative_to(tmp_path / "ray") for r in on_ray)


@pytest.mark.ray
def test_a_worker_that_cannot_read_a_checkpoint_says_it_needs_shared_storage(ray_session: Path, tmp_path: Path) -> None:
    missing = Entrant("step_1", str(tmp_path / "elsewhere" / "step_1.pt"), 1)
    pairing = _Pairing(missing, Entrant("random", "random"), np.array([True, False]), None, "none", 0, "hex", '{"size": 3}')
    with pytest.raises(RlagentError, match="storage every node sees at the same path"):
        list(_results([pairing], 0, "ray"))


@pytest.mark.ray
def test_ray_leaves_nothing_in_the_home_directory(ray_session: Path) -> None:
    """Ray >= 2.52 writes ~/.ray/auth_token when it starts unless told otherwise; our session's
    Ray is authenticated by a token in the environment instead, and keeps its files in pytest's
    temporary directory."""
    import ray

    assert ray.is_initialized()
    assert not HOME_TOKEN.exists() or HOME_TOKEN.stat().st_mtime_ns < (ray_session / "started").stat().st_mtime_ns  # none, or the user's own
    assert any(path.name.startswith("session_") for path in ray_session.iterdir())
