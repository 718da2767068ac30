"""The loss terms: each against its definition, and the bce head's value scale end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rlagent.config import resolve
from rlagent.losses import clipped_surrogate, value_loss
from rlagent.run import Trainer

torch.manual_seed(0)
RAW = torch.randn(64) * 2
RETURNS = torch.randn(64)


def test_mse_huber_and_quartic_follow_their_definitions() -> None:
    error = RAW - RETURNS
    assert torch.allclose(value_loss(RAW, RETURNS, "mse"), error.pow(2).mean())
    assert torch.allclose(value_loss(RAW, RETURNS, "huber"), F.smooth_l1_loss(RAW, RETURNS))
    quartic = error.pow(2).mean() + 0.25 * error.pow(4).mean()
    assert torch.allclose(value_loss(RAW, RETURNS, "quartic"), quartic)
    # The quartic term punishes a confident mistake much more than mse does, and small errors not at all.
    big, small = torch.tensor([2.0]), torch.tensor([0.1])
    zero = torch.zeros(1)
    assert value_loss(big, zero, "quartic") / value_loss(big, zero, "mse") > 1.9
    assert value_loss(small, zero, "quartic") / value_loss(small, zero, "mse") < 1.01


def test_bce_is_the_cross_entropy_of_the_win_probability() -> None:
    outcomes = torch.tensor([1.0, -1.0, 1.0, 0.0])
    raw = torch.tensor([0.3, -2.0, 4.0, 0.0])
    win_probability = torch.sigmoid(2 * raw)  # so that the value 2p - 1 equals tanh(raw)
    assert torch.allclose(2 * win_probability - 1, torch.tanh(raw), atol=1e-6)
    expected = F.binary_cross_entropy(win_probability, (outcomes + 1) / 2)
    assert torch.allclose(value_loss(raw, outcomes, "bce"), expected, atol=1e-6)


def test_value_clipping_keeps_the_worse_of_clipped_and_unclipped() -> None:
    old = torch.zeros(3)
    raw = torch.tensor([1.0, -1.0, 0.05], requires_grad=True)
    target = torch.tensor([2.0, 0.0, 0.0])
    loss = value_loss(raw, target, "mse", old_values=old, clip=0.1)
    # Sample 0 moved towards its target beyond the clip: the clipped prediction (0.1) is worse.
    # Sample 1 moved away from its target: the unclipped prediction (-1) is worse.
    expected = ((0.1 - 2.0) ** 2 + (-1.0) ** 2 + 0.05**2) / 3
    assert abs(loss.item() - expected) < 1e-6
    loss.backward()
    assert raw.grad[0] == 0.0 and raw.grad[1] != 0.0  # no gradient through the clipped side


def test_clipped_surrogate() -> None:
    old = torch.log(torch.full((4,), 0.25))
    advantages = torch.tensor([1.0, -1.0, 2.0, -2.0])
    same, kl, clip_fraction = clipped_surrogate(old.clone(), old, advantages, 0.2)
    assert abs(float(kl)) < 1e-7 and float(clip_fraction) == 0.0
    assert torch.allclose(same, -advantages.mean())
    new = old + torch.tensor([0.5, 0.5, -0.01, -0.01])
    loss, kl, clip_fraction = clipped_surrogate(new, old, advantages, 0.2)
    ratio = (new - old).exp()
    expected = -torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages).mean()
    assert torch.allclose(loss, expected) and float(kl) > 0 and float(clip_fraction) == 0.5
    unclipped, _, none_clipped = clipped_surrogate(new, old, advantages, None)
    assert torch.allclose(unclipped, -(ratio * advantages).mean()) and float(none_clipped) == 0.0


def test_a_bce_value_head_reports_values_on_the_return_scale(tmp_path: Path) -> None:
    """Pitfall: a head trained as a [0, 1] probability silently breaks consumers that expect
    returns in [-1, 1]. The collector keeps the head's raw output; the learner's advantages,
    returns and the values the monitors read must be tanh(raw), in (-1, 1)."""
    config = resolve(
        "ppo",
        "hex",
        overrides=["run.progress=false", "env.size=3", "ppo.value_loss=bce", "ppo.num_steps=32"],
        extra={"total_steps": 32 * 8 * 4, "logdir": str(tmp_path)},
    )
    trainer = Trainer(config)
    for _ in range(4):
        rollout = trainer.collector.collect()
        metrics = trainer.algo.update(rollout)
    np.testing.assert_allclose(rollout.scaled_values, np.tanh(rollout.values), rtol=1e-6)
    assert np.all(np.abs(rollout.scaled_values) < 1.0) and np.any(np.abs(rollout.values) > 0.5)
    assert np.all(np.isfinite(rollout.advantages))
    assert -1.0 < metrics["value/mean"] < 1.0 and np.isfinite(metrics["train/value_loss"])
