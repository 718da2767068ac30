"""Training diagnostics end to end: what a run logs, and what `python -m rlagent.diagnose` reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rlagent.config import resolve
from rlagent.diagnose import main as diagnose_main
from rlagent.monitor.logger import read_metrics
from rlagent.run import Trainer
from rlagent.train import main as train_main


def trainer(tmp_path: Path, env: str, overrides: list[str], steps: int, algo: str = "ppo") -> Trainer:
    config = resolve(algo, env, overrides=["run.progress=false", f"run.logdir={tmp_path}", *overrides], extra={"total_steps": steps})
    return Trainer(config)


def last_with(run_dir: Path, prefix: str) -> dict:
    return [row for row in read_metrics(run_dir) if any(tag.startswith(prefix) for tag in row)][-1]


def test_a_network_initialised_to_die_is_reported_dead(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = trainer(tmp_path, "CartPole-v1", ["policy.activation=relu", "policy.separate_critic=false", "monitor.every=1", "num_envs=4", "ppo.num_steps=32"], 256)
    with torch.no_grad():
        for layer in run.policy.actor.encoder.layers:
            layer.bias.fill_(-10.0)  # CartPole's observations are small: every pre-activation < 0
    run_dir = run.train().run_dir
    row = last_with(run_dir, "act/")
    assert row["act/actor.encoder.layers.0/dead_fraction"] == 1.0
    assert row["act/actor.encoder.layers.1/dead_fraction"] == 1.0
    captured = capsys.readouterr()
    said = [line for line in (captured.out + captured.err).splitlines() if "units of actor.encoder.layers" in line]
    assert len(said) == 2 and all("are dead" in line and "ppo.learning_rate" in line for line in said)  # once per layer
    assert diagnose_main([str(run_dir), "--no-plots"]) == 0
    report = capsys.readouterr().out
    assert "[dead_layer] 100% of the units of actor.encoder.layers.0 are dead" in report
    assert [line for line in report.splitlines() if line.strip().startswith("actor.encoder.layers.0")][0].rstrip().endswith("DEAD")


def test_a_healthy_network_has_no_dead_layer(tmp_path: Path) -> None:
    run_dir = trainer(tmp_path, "CartPole-v1", ["policy.activation=relu", "monitor.every=1", "num_envs=4", "ppo.num_steps=32"], 256).train().run_dir
    row = last_with(run_dir, "act/")
    assert row["act/actor.encoder.layers.0/dead_fraction"] < 0.5


def test_a_value_head_fed_the_wrong_range_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = trainer(tmp_path, "CartPole-v1", ["ppo.value_loss=bce", "num_envs=4", "ppo.num_steps=32"], 256).train().run_dir
    assert diagnose_main([str(run_dir), "--no-plots"]) == 1
    failures = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("FAIL")]
    assert len(failures) == 1 and "value_loss=bce" in failures[0] and "targets range over" in failures[0]


@pytest.mark.slow
def test_a_healthy_cartpole_run_raises_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the CartPole preset (separate actor and critic, SB3 zoo settings, 100k steps)
    code = train_main(["ppo", "--env", "CartPole-v1", "--set", "run.progress=false", "--logdir", str(tmp_path)])
    assert code == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    run_dir = next(tmp_path.iterdir())
    assert read_metrics(run_dir)[-1]["rollout/ep_rew_mean"] > 400  # it did learn
    assert "warning at step" not in out
    assert diagnose_main([str(run_dir), "--no-plots"]) == 0
    report = capsys.readouterr().out
    assert report.split("warnings (")[1].splitlines()[1].strip() == "none"


def test_the_stuck_detector_speaks_during_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a learning rate of 1e-7: the policy cannot move; the stuck-mode rule must say so while it runs
    run = trainer(
        tmp_path, "CartPole-v1", ["ppo.learning_rate=1e-7", "ppo.lr_schedule=constant", "monitor.window=10", "num_envs=4", "ppo.num_steps=32"], 128 * 30
    )
    run.train()
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "warning at step" in out and "raise ppo.learning_rate" in out


def test_hex_run_reports_value_by_stone_count_with_calibration_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = trainer(tmp_path, "hex", ["env.size=3", "env.opening_moves=0", "monitor.every=2", "num_envs=16", "ppo.num_steps=16"], 16 * 16 * 6).train().run_dir
    row = last_with(run_dir, "value/by_stage/")
    assert "value/ece" in row and any(tag.startswith("policy/by_stage/") for tag in row)
    assert row["value/by_stage/0-1/count"] > 0  # stones on the board, bucketed over the 9 cells
    assert diagnose_main([str(run_dir)]) == 0
    report = capsys.readouterr().out
    assert "ok   mover's-frame board transform round-trips" in report
    for name in ("activations", "loss_balance", "gradients", "value_by_stage", "value_scatter", "calibration"):
        assert (run_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnostics_do_not_change_the_run(tmp_path: Path) -> None:
    results = []
    for every in (0, 1):
        run_dir = trainer(tmp_path / str(every), "CartPole-v1", [f"monitor.every={every}", "num_envs=4", "ppo.num_steps=32"], 128 * 4).train().run_dir
        results.append([{k: v for k, v in row.items() if k.startswith(("train/", "rollout/"))} for row in read_metrics(run_dir)])
        results[-1] = json.dumps([{k: v for k, v in r.items() if k != "train/update_seconds"} for r in results[-1]])
    assert results[0] == results[1]


def test_diagnose_of_a_folder_that_is_no_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diagnose_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_a_noisy_rainbow_agent_passes_the_reload_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # noisy layers differ between training and evaluation mode by design: the reference is taken with the noise off
    config = resolve("rainbow", "hex", overrides=["run.progress=false", f"run.logdir={tmp_path}", "env.size=3", "monitor.every=1"], extra={"total_steps": 1024})
    assert config.algorithm.noisy
    run_dir = Trainer(config).train().run_dir
    assert diagnose_main([str(run_dir), "--no-plots"]) == 0
    report = capsys.readouterr().out
    assert "ok   reloaded agent matches the training network" in report
    assert any(tag.startswith("act/encoder") for tag in last_with(run_dir, "act/"))
