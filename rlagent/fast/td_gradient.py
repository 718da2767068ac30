"""The DQN family's gradient step with the backward pass written out, for plain MLP Q-networks.

Why: at SB3-zoo's CartPole settings (a 4-256-256-2 relu MLP, batches of 64, 128 gradient steps
per 256 env steps) the learner spends most of its time in gradient steps, and an autograd step is
~1.6 ms on one CPU thread where its arithmetic (four 64x256x256 products) is ~0.45 ms: the rest is
building and walking the graph and the many small ops around the loss. Here the target and online
networks run forward and backward without autograd (:mod:`rlagent.fast.q_mlp`: the four large
products in torch, the small operations in numpy), the TD targets, the huber or mse loss with
importance weights and its gradient in the chosen Q-values are a few numpy operations on (B,)
vectors, and each parameter's ``.grad`` is set as ``loss.backward()`` would set it, so the shared
clipping and the FusedAdam step (:class:`rlagent.algos.optimizing.GradientStep`) run unchanged.
Measured (2026-12, torch 2.13, one thread of a shared 2-core machine): ~1.14 ms a step with the
clipping and Adam, SB3's DQN ~2.9 ms; beyond the four products (~0.45 ms) and Adam (~0.09 ms) what
is left is some 40 small operations at 5-25 us each.

It computes what :meth:`rlagent.algos.rainbow.Rainbow.sample_losses` and autograd compute, to
float rounding (``tests/test_td_gradient.py``: double or not, dueling or not, masks with ``-inf``
on illegal actions, importance weights, huber and mse, several steps of parameters). It covers the
networks :func:`rlagent.fast.q_layout.q_layout` accepts and no others (C51, noisy and board
networks keep autograd), and steps aside for any update at whose start :meth:`TDGradient.applies`
is False (a layer frozen, a hook registered, the network moved off the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlagent.fast.hooks import any_hooks
from rlagent.fast.numpy_actor import numpy_input
from rlagent.fast.q_layout import QLayout, q_layout
from rlagent.fast.q_mlp import QMLP
from rlagent.nets.q_network import QNetwork


@dataclass
class TDStep:
    """One gradient step's results: the loss (a float, for the learner's NaN check), and Q(s, a)
    and the TD errors (B,) as arrays: the priorities read the errors, and the learner averages
    both over its whole update at once (a mean per step costs more than the step's numpy loss)."""

    loss: float
    q_taken: np.ndarray
    td_error: np.ndarray


class TDGradient:
    """``step(sample) -> TDStep``: the TD loss of a replay sample and its gradient in ``.grad`` of
    the online network's parameters (the caller clips and steps the optimiser)."""

    def __init__(self, network: QNetwork, target: QNetwork, layout: QLayout, target_layout: QLayout, config: Any) -> None:
        self.network, self.target, self.config = network, target, config
        self.layout, self.target_layout = layout, target_layout
        self.parameters = layout.parameters()
        self.keys, self.has_mask = network.inputs.keys, network.inputs.mask_size is not None
        self._rows = np.arange(0)
        self.refresh()

    def refresh(self) -> None:
        """Take numpy views of both networks' parameters again (the learner calls it at the start
        of every update, so a parameter replaced rather than updated in place is seen)."""
        self.online, self.target_net = QMLP(self.layout), QMLP(self.target_layout)

    def applies(self) -> bool:
        """Whether this is still exactly what autograd computes: both networks on the CPU, every
        online parameter trainable, no hooks that torch would run (checked once per update)."""
        if self.network.device.type != "cpu" or self.target.device.type != "cpu":
            return False
        if not all(p.requires_grad for p in self.parameters):
            return False
        return not any_hooks(self.network) and not any_hooks(self.target, parameters=False)

    @torch.no_grad()
    def step(self, sample: Any) -> TDStep:
        with np.errstate(all="ignore"):  # a diverging run is reported by the learner's NaN check
            return self._step(sample)

    def _step(self, sample: Any) -> TDStep:
        cfg = self.config
        next_x, next_mask = numpy_input(sample.next_obs, self.keys, self.has_mask)
        x, _ = numpy_input(sample.obs, self.keys, False)
        actions = np.asarray(sample.actions, np.int64)
        batch = actions.shape[0]
        if len(self._rows) != batch:
            self._rows = np.arange(batch)
        rows = self._rows
        target_q = self.target_net.forward(next_x)[0]
        chooser = self.online.forward(next_x)[0] if cfg.double else target_q
        if next_mask is not None:
            chooser = np.where(next_mask, chooser, np.float32(-np.inf))
        next_actions = chooser.argmax(axis=1)
        rewards = np.asarray(sample.rewards, np.float32)
        discounts = np.asarray(sample.discounts, np.float32)
        target_value = rewards + discounts * target_q[rows, next_actions]

        q, outputs = self.online.forward(x)
        q_taken = q[rows, actions]
        diff = q_taken - target_value  # the loss's input minus its target; the TD error is -diff
        weights = np.asarray(sample.weights, np.float32)
        if cfg.loss == "huber":  # smooth_l1 with beta 1: 0.5 d^2 where |d| < 1, else |d| - 0.5
            slope = np.clip(diff, np.float32(-1.0), np.float32(1.0))  # its derivative
            per_sample = slope * (diff - np.float32(0.5) * slope)  # the same, in three passes
        else:
            slope = np.float32(2.0) * diff
            per_sample = diff * diff
        scaled = weights * np.float32(1.0 / batch)
        loss = float(np.dot(scaled, per_sample))  # mean(weights * per_sample)
        grad_q = np.zeros(q.shape, np.float32)
        grad_q[rows, actions] = scaled * slope  # one action a row: nothing accumulates
        self.online.backward(outputs, grad_q)
        return TDStep(loss, q_taken, -diff)


def td_gradient(network: torch.nn.Module, target: torch.nn.Module, config: Any) -> TDGradient | None:
    """The hand-derived TD gradient for ``network`` (with its ``target``), or None where only
    autograd is exact (see :func:`rlagent.fast.q_layout.q_layout`; prioritized C51 and noisy
    nets never get here)."""
    layout, target_layout = q_layout(network), q_layout(target)
    if layout is None or target_layout is None or not isinstance(network, QNetwork) or not isinstance(target, QNetwork):
        return None
    if getattr(config, "distributional", False) or getattr(config, "noisy", False):
        return None
    return TDGradient(network, target, layout, target_layout, config)
