"""The seam of the speed paths (rlagent.fast.paths): one switch, a record of what ran, hooks honoured,
and the same run whichever path a seed takes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.monitor.logger import read_metrics
from rlagent.run import Trainer

STEPS = 4 * 8 * 32  # four updates of 8 envs x 32 steps


def trainer(tmp_path: Path, fast: str, *overrides: str) -> Trainer:
    config = resolve(
        "ppo",
        "CartPole-v1",
        overrides=["run.progress=false", "ppo.num_steps=32", "ppo.minibatch_size=64", "ppo.num_epoch=2", *overrides],
        extra={"total_steps": STEPS, "seed": 3, "fast": fast, "logdir": str(tmp_path / fast)},
    )
    return Trainer(config)


def test_the_switch_is_validated_and_recorded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run.fast must be one of auto, off"):
        resolve("ppo", "CartPole-v1", overrides=["run.fast=sometimes"])
    for mode, actor, analytic in (("auto", "numpy", 1.0), ("off", "torch", 0.0)):
        run = trainer(tmp_path, mode)
        run.train()
        record = json.loads((run.run_dir / "config.json").read_text())
        assert record["run"]["fast"] == mode and record["fast_paths"]["actor"] == actor
        rows = read_metrics(run.run_dir)
        assert all(row["fast/analytic_gradient"] == analytic and row["fast/numpy_actor"] == analytic for row in rows)
        # The record does not stop the run's config from being read back (resume, evaluate).
        assert resolve("ppo", "CartPole-v1", base=record).run.fast == mode


def test_fast_and_plain_paths_make_the_same_run(tmp_path: Path) -> None:
    """Same seed, either path: the same actions (one sampling stream) and the same updates to float
    rounding, so the same metrics; a path the user never chose does not change the run."""
    runs = {}
    for mode in ("auto", "off"):
        run = trainer(tmp_path, mode)
        run.train()
        runs[mode] = (read_metrics(run.run_dir), [p.detach().clone() for p in run.policy.parameters()])
    (fast_rows, fast_params), (plain_rows, plain_params) = runs["auto"], runs["off"]
    assert [row["rollout/ep_len_mean"] for row in fast_rows] == [row["rollout/ep_len_mean"] for row in plain_rows]
    for key in ("train/policy_gradient_loss", "train/value_loss", "train/approx_kl"):
        np.testing.assert_allclose([r[key] for r in fast_rows], [r[key] for r in plain_rows], rtol=1e-3, atol=1e-6)
    for fast, plain in zip(fast_params, plain_params):
        torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5)


def test_a_hook_on_a_layer_fires_and_the_fast_paths_step_aside(tmp_path: Path) -> None:
    run = trainer(tmp_path, "auto")
    layer = run.policy.actor.encoder.layers[0]
    calls: list[int] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: calls.append(output.shape[0]))
    rollout = run.collector.collect()
    metrics = run.algo.update(rollout)
    assert calls.count(8) >= 32, "the hook must see every rollout step's batch of 8 (and the last values')"
    assert any(n > 8 for n in calls), "and the update's minibatches"
    assert not run.collector.fast_actor_used and metrics["fast/analytic_gradient"] == 0.0
    handle.remove()
    calls.clear()
    metrics = run.algo.update(run.collector.collect())
    assert run.collector.fast_actor_used and metrics["fast/analytic_gradient"] == 1.0 and not calls


def test_the_record_names_the_gradient_path_the_learner_really_has(tmp_path: Path) -> None:
    run = trainer(tmp_path, "auto")
    assert run.fast_paths_taken() == {"mode": "auto", "actor": "numpy", "gradient": "analytic"}
    board = Trainer(resolve("ppo", "hex", overrides=["run.progress=false", "env.size=3"], extra={"logdir": str(tmp_path / "hex")}))
    assert board.fast_paths_taken() == {"mode": "auto", "actor": "torch", "gradient": "autograd"}
    pwm = Trainer(resolve("reinforce", "pwm", overrides=["run.progress=false"], extra={"logdir": str(tmp_path / "pwm")}))
    assert pwm.fast_paths_taken()["gradient"] == "autograd"


@pytest.mark.parametrize("head", ["policy_head", "value_head"])
def test_a_hook_on_a_head_fires_on_the_torch_path(tmp_path: Path, head: str) -> None:
    """Heads apply their layers with ``F.linear`` for speed; a hooked layer goes through its call."""
    run = trainer(tmp_path, "off")
    calls: list[int] = []
    getattr(run.policy, head).linear.register_forward_hook(lambda module, inputs, output: calls.append(output.shape[0]))
    run.algo.update(run.collector.collect())
    assert calls.count(8) >= 32 and any(n > 8 for n in calls)
