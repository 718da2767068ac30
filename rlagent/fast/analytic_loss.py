"""PPO's (and A2C's) minibatch loss with its gradient derived by hand, for plain MLP policies.

The same loss terms as :class:`rlagent.algos.ppo.AutogradLoss` (clipped surrogate, value loss of any kind with optional
clipping, entropy, the KL and clip-fraction diagnostics), computed without autograd: the network
runs forward and backward in torch (:class:`rlagent.fast.mlp_backprop.MLPBackprop`: the products
and activations, where the arithmetic is), the loss terms and their gradients in the network's
outputs in numpy (:mod:`rlagent.fast.loss_gradients`: dozens of operations on short vectors, where
torch's per-operator cost would dominate). The minibatch is numpy arrays (``PPO`` keeps the
rollout in numpy when this path is on); the terms come back as Python floats.
``benchmarks/update_step.py`` times a minibatch step both ways. ``analytic_loss`` returns None
for any policy it does not cover exactly, and the learner then differentiates with autograd; it
also falls back to autograd for any update at whose start ``AnalyticLoss.applies()`` is False (a
layer frozen, a gradient or module hook registered, the policy moved off the CPU since).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlagent.fast.hooks import any_hooks
from rlagent.fast.loss_gradients import CategoricalTerms, clipped_surrogate_grad, normalize, value_loss_grad
from rlagent.fast.mlp_backprop import MLPBackprop
from rlagent.fast.mlp_layout import mlp_layout
from rlagent.losses import LOSS_TERMS
from rlagent.nets.policy import ActorCritic


class AnalyticLoss:
    """PPO's minibatch loss with the interface of :class:`rlagent.algos.ppo.AutogradLoss`:
    ``terms(batch, clip)`` (floats, from numpy minibatches), ``total(terms)``, ``step(total)``
    (the hand-derived gradient of ``actor_coef * pg + value_coef * value - entropy_coef * entropy``
    into ``.grad``, then the shared clipping and optimiser step), ``row``/``means``."""

    wants_numpy = True  # it reads minibatches of numpy arrays

    def __init__(self, policy: ActorCritic, net: MLPBackprop, config: Any, gradient: Any = None) -> None:
        self.policy, self.net, self.config, self.gradient = policy, net, config, gradient
        self.parameters = net.parameters()
        self._pending: tuple[CategoricalTerms, np.ndarray, np.ndarray] | None = None

    def terms(self, batch: dict[str, Any], clip: float | None) -> dict[str, float]:
        return self.losses(batch, clip)

    def total(self, terms: dict[str, float]) -> float:
        cfg = self.config
        return cfg.actor_loss_coef * terms["pg"] + cfg.value_loss_coef * terms["value"] - cfg.entropy_coef * terms["entropy"]

    def step(self, total: float) -> torch.Tensor:
        self.backward()
        return self.gradient.apply()

    def row(self, terms: dict[str, float]) -> list[float]:
        return [terms[key] for key in LOSS_TERMS]

    def means(self, rows: list[list[float]]) -> list[float]:
        return np.mean(rows, axis=0).tolist()

    def applies(self) -> bool:
        """Whether the hand-derived gradient is still exactly what autograd would compute: the
        policy on the CPU, every layer trainable, no hooks that autograd would run (gradient hooks
        on a parameter, forward or backward hooks on a module). The learner asks once per update,
        so freezing a layer, moving the policy or hooking it mid-run switches it to autograd."""
        if self.policy.device.type != "cpu":
            return False
        if not all(p.requires_grad for p in self.parameters):
            return False
        return not any_hooks(self.policy)

    @torch.no_grad()
    def losses(self, batch: dict[str, Any], clip: float | None) -> dict[str, float]:
        """The loss terms of a minibatch of numpy arrays (``obs``, ``actions``, ``log_probs``,
        ``advantages``, ``returns``, ``values``), as Python floats; ``backward`` then sets the gradients."""
        with np.errstate(all="ignore"):  # a diverging run is reported by the learner's NaN check
            return self._losses(batch, clip)

    def _losses(self, batch: dict[str, Any], clip: float | None) -> dict[str, float]:
        cfg = self.config
        x, mask = self.policy.inputs.split(batch["obs"], self.policy.device, flat=True)
        logits, values = (t.numpy() for t in self.net.forward(x))
        categorical = CategoricalTerms(logits, None if mask is None else mask.numpy(), batch["actions"])
        # float32 throughout, as the network's: a float64 field would make float64 gradients.
        advantages, old_log_probs, returns, old_values = (np.asarray(batch[key], dtype=np.float32) for key in ("advantages", "log_probs", "returns", "values"))
        if cfg.normalize_advantage:
            advantages = normalize(advantages)
        pg, kl, clip_fraction, grad_log_probs = clipped_surrogate_grad(categorical.log_probs, old_log_probs, advantages, _number(clip))
        value, grad_values = value_loss_grad(values, returns, cfg.value_loss, old_values, _number(cfg.value_clip))
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
            grad_log_probs = grad_log_probs * float(cfg.actor_loss_coef)  # a Python float keeps float32
        if cfg.value_loss_coef != 1.0:
            grad_values = grad_values * float(cfg.value_loss_coef)
        grad_logits = categorical.logits_grad(grad_log_probs, float(cfg.entropy_coef))
        self.net.backward(torch.from_numpy(grad_logits), torch.from_numpy(grad_values))


def _number(value: float | None) -> float | None:
    """A Python float (numpy scalars would promote float32 arrays to float64), or None."""
    return None if value is None else float(value)


def analytic_loss(policy: torch.nn.Module, config: Any, gradient: Any) -> AnalyticLoss | None:
    """The hand-derived loss for ``policy``, stepping with ``gradient`` (a
    :class:`rlagent.algos.optimizing.GradientStep`), or None where autograd must do it: any policy
    but a plain MLP actor-critic, or one whose trainable parameters are not exactly its layers'."""
    trainable = gradient.parameters
    layout = mlp_layout(policy)
    if layout is None or not isinstance(policy, ActorCritic):
        return None
    net = MLPBackprop(layout)
    if {id(p) for p in net.parameters()} != {id(p) for p in trainable}:
        return None  # frozen layers, or parameters outside the layers: autograd knows what to do
    # Built even while a hook is registered: applies() is asked every update, so the path comes
    # back once the hook is removed (as the numpy actor does per rollout).
    return AnalyticLoss(policy, net, config, gradient)
