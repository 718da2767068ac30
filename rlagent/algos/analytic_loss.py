"""PPO's (and A2C's) minibatch loss with its gradient derived by hand, for plain MLP policies.

The same loss terms as ``PPO._losses`` (clipped surrogate, value loss of any kind with optional
clipping, entropy, the KL and clip-fraction diagnostics), computed without autograd: the network
runs forward and backward in torch (:class:`rlagent.nets.mlp_backprop.MLPBackprop`: the products
and activations, where the arithmetic is), the loss terms and their gradients in the network's
outputs in numpy (:mod:`rlagent.loss_gradients`: dozens of operations on short vectors, where
torch's per-operator cost would dominate). The minibatch is numpy arrays (``PPO`` keeps the
rollout in numpy when this path is on); the terms come back as Python floats.
``benchmarks/update_step.py`` times a minibatch step both ways. ``analytic_loss`` returns None
for any policy it does not cover exactly, and the learner then differentiates with autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlagent.config import OnPolicyConfig
from rlagent.loss_gradients import CategoricalTerms, clipped_surrogate_grad, normalize, value_loss_grad
from rlagent.nets.mlp_backprop import MLPBackprop
from rlagent.nets.mlp_layout import mlp_layout


class AnalyticLoss:
    """``losses(batch, clip) -> terms``, then ``backward()`` to fill the parameters' gradients
    with those of ``actor_coef * pg + value_coef * value - entropy_coef * entropy``."""

    def __init__(self, policy: torch.nn.Module, net: MLPBackprop, config: OnPolicyConfig) -> None:
        self.policy, self.net, self.config = policy, net, config
        self._pending: tuple[CategoricalTerms, np.ndarray, np.ndarray] | None = None

    @torch.no_grad()
    def losses(self, batch: dict[str, Any], clip: float | None) -> dict[str, float]:
        """The loss terms of a minibatch of numpy arrays (``obs``, ``actions``, ``log_probs``,
        ``advantages``, ``returns``, ``values``), as Python floats; ``backward`` then sets the gradients."""
        with np.errstate(all="ignore"):  # a diverging run is reported by the learner's NaN check, once
            return self._losses(batch, clip)

    def _losses(self, batch: dict[str, Any], clip: float | None) -> dict[str, float]:
        cfg = self.config
        x, mask = self.policy.inputs.split(batch["obs"], self.policy.device, flat=True)
        logits, values = (t.numpy() for t in self.net.forward(x))
        categorical = CategoricalTerms(logits, None if mask is None else mask.numpy(), batch["actions"])
        advantages = batch["advantages"]
        if cfg.normalize_advantage:
            advantages = normalize(advantages)
        pg, kl, clip_fraction, grad_log_probs = clipped_surrogate_grad(categorical.log_probs, batch["log_probs"], advantages, clip)
        value, grad_values = value_loss_grad(values, batch["returns"], cfg.value_loss, batch["values"], cfg.value_clip)
        self._pending = (categorical, grad_log_probs, grad_values)
        return {"pg": pg, "value": value, "entropy": float(categorical.entropy.mean()), "kl": kl, "clip": clip_fraction}

    @torch.no_grad()
    def backward(self) -> None:
        """The gradients of the last ``losses`` call's weighted total, into ``.grad``."""
        if self._pending is None:
            raise RuntimeError("AnalyticLoss.backward needs a losses() call first")
        cfg = self.config
        categorical, grad_log_probs, grad_values = self._pending
        self._pending = None
        if cfg.actor_loss_coef != 1.0:
            grad_log_probs = grad_log_probs * cfg.actor_loss_coef
        if cfg.value_loss_coef != 1.0:
            grad_values = grad_values * cfg.value_loss_coef
        grad_logits = categorical.logits_grad(grad_log_probs, cfg.entropy_coef)
        self.net.backward(torch.from_numpy(grad_logits), torch.from_numpy(grad_values))


def analytic_loss(policy: torch.nn.Module, config: OnPolicyConfig, trainable: list[torch.nn.Parameter]) -> AnalyticLoss | None:
    """The hand-derived loss for ``policy``, or None where autograd must do it: any policy but a
    plain MLP actor-critic, or one whose ``trainable`` parameters are not exactly its layers'."""
    layout = mlp_layout(policy)
    if layout is None:
        return None
    net = MLPBackprop(layout)
    if {id(p) for p in net.parameters()} != {id(p) for p in trainable}:
        return None  # frozen layers, or parameters outside the layers: autograd knows what to do
    return AnalyticLoss(policy, net, config)
