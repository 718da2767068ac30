"""REINFORCE with a learned critic: learns PWM, the loss form matters, gradients go where they should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import envs  # noqa: F401
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.returns import discounted_returns
from rlagent.run import Trainer
from rlagent.sweep import greedy_trial_accuracy


def trainer(tmp_path: Path, steps: int, *overrides: str, seed: int = 0) -> Trainer:
    config = resolve("reinforce", "pwm", overrides=["run.progress=false", *overrides], extra={"total_steps": steps, "seed": seed, "logdir": str(tmp_path)})
    return Trainer(config)


def greedy_accuracy(trained: Trainer, episodes: int = 256) -> dict[str, float]:
    """Trial accuracy of the greedy policy on fresh envs (not the training trials)."""
    return greedy_trial_accuracy(trained.policy, trained.config, episodes, seed=999)


def test_returns_stop_at_trial_and_episode_ends() -> None:
    rewards = np.array([[0.0], [1.0], [0.0], [0.0], [1.0], [0.0]], np.float32)
    ends = np.array([[False], [True], [False], [False], [True], [False]])
    returns = discounted_returns(rewards, ends, np.array([5.0]), 0.5)
    np.testing.assert_allclose(returns[:, 0], [0.5, 1.0, 0.25, 0.5, 1.0, 2.5])  # the last step bootstraps


@pytest.mark.slow
def test_reinforce_gru_learns_pwm5_and_the_legacy_loss_does_not(tmp_path: Path) -> None:
    fixed = trainer(tmp_path / "fixed", 40_000)
    fixed_result = fixed.train()
    accuracy = greedy_accuracy(fixed)
    # Far above the memoryless plateau (62.5% overall, 50% on non-trivial conditions).
    assert accuracy["trial/accuracy"] > 0.9 and accuracy["trial/accuracy_nontrivial"] > 0.85, accuracy

    legacy = trainer(tmp_path / "legacy", 40_000, "reinforce.legacy_loss=true")
    result = legacy.train()
    legacy_accuracy = greedy_accuracy(legacy)
    # The study's failure: the critic trained through the policy term, the summed policy loss
    # 15 times larger, and the value loss explodes instead of learning to remember.
    assert legacy_accuracy["trial/accuracy_nontrivial"] < accuracy["trial/accuracy_nontrivial"] - 0.2, legacy_accuracy
    assert result.metrics["train/value_loss"] > 5 * fixed_result.metrics["train/value_loss"]


def _one_update(tmp_path: Path, *overrides: str) -> Trainer:
    trained = trainer(tmp_path, 16 * 15, "run.num_envs=16", *overrides)
    trained.train()
    return trained


def test_after_one_update_every_parameter_has_a_gradient(tmp_path: Path) -> None:
    trained = _one_update(tmp_path, "reinforce.entropy_coef=0.01")
    for name, parameter in trained.policy.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, f"{name} got no gradient"


@pytest.mark.parametrize("legacy, critic_moves", [(False, False), (True, True)])
def test_the_policy_term_moves_the_critic_only_in_the_legacy_loss(tmp_path: Path, legacy: bool, critic_moves: bool) -> None:
    """With no value loss, a detached advantage leaves the value head without gradient."""
    trained = _one_update(tmp_path, "reinforce.value_loss_coef=0", "reinforce.entropy_coef=0", f"reinforce.legacy_loss={str(legacy).lower()}")
    value_grads = [p.grad for p in trained.policy.value_head.parameters()]
    moved = any(g is not None and g.abs().sum() > 0 for g in value_grads)
    assert moved == critic_moves


def test_losses_are_means_over_steps_for_any_episode_length(tmp_path: Path) -> None:
    short = _one_update(tmp_path / "a", "env.epoch_len=15")
    long = _one_update(tmp_path / "b", "env.epoch_len=60")
    first = [json.loads(line) for line in (short.run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    second = [json.loads(line) for line in (long.run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert first["train/loss_steps"] == 16 * 15 and second["train/loss_steps"] == 16 * 60
    # A mean over steps: the untrained policy's loss is about the same size for 15 and 60 steps.
    assert 0.25 < abs(first["train/value_loss"]) / max(abs(second["train/value_loss"]), 1e-6) < 4


def test_num_steps_zero_needs_a_fixed_episode_length(tmp_path: Path) -> None:
    config = resolve("reinforce", "CartPole-v1", overrides=[f"run.logdir={tmp_path}"])
    with pytest.raises(ConfigError, match="reinforce.num_steps is 0 .* has no fixed episode length"):
        Trainer(config)


def test_bad_reinforce_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="reinforce.state_reset must be one of episode, trial"):
        resolve("reinforce", "pwm", overrides=["reinforce.state_reset=step"])
    with pytest.raises(ConfigError, match="unknown key reinforce.clip_param"):
        resolve("reinforce", "pwm", overrides=["reinforce.clip_param=0.2"])


def test_per_trial_state_reset_marks_every_trial_start(tmp_path: Path) -> None:
    trained = trainer(tmp_path, 16 * 15, "run.num_envs=16", "reinforce.state_reset=trial")
    rollout = trained.collector.collect()
    starts = rollout.episode_starts[:, 0]
    np.testing.assert_array_equal(np.flatnonzero(starts), np.arange(0, 15, 3))  # 3-step trials
    assert torch.is_tensor(trained.policy.initial_state(1))
