"""One gradient step of a policy's loss, shared by every learner: the optimiser, gradient-norm
monitoring per part of the network, clipping.

Kept in one place because each learner needs exactly the same thing, and the monitoring is what
users read when a run diverges: ``grad/norm_total`` and one norm per part (``trunk``,
``policy_head``, ``value_head``, ``critic_trunk``), measured before clipping.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rlagent.fast.fused_adam import FusedAdam
from rlagent.nets.policy import ActorCritic
from rlagent.nets.q_network import QNetwork


def make_optimizer(parameters: list[torch.nn.Parameter], config: Any) -> torch.optim.Optimizer:
    """Adam (fused, with its per-step Python overhead removed: :mod:`rlagent.fast.fused_adam`) or RMSprop,
    from a learner config's ``optimizer``, ``learning_rate`` and ``adam_eps``."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=config.learning_rate, alpha=0.99, eps=config.adam_eps)
    try:
        # torch.optim.Adam(fused=True), bit for bit, with its per-step Python overhead taken out;
        # where torch has no fused kernel for these parameters, the plain Adam.
        return FusedAdam(parameters, lr=config.learning_rate, eps=config.adam_eps)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(parameters, lr=config.learning_rate, eps=config.adam_eps)


class GradientStep:
    """``step(loss) -> gradient norms``: zero, backward, measure, clip to ``max_grad_norm``, step."""

    def __init__(self, policy: ActorCritic | QNetwork, config: Any) -> None:
        self.config = config
        self.parameters = [p for p in policy.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(self.parameters, config)
        # Which of self.parameters belong to each named part, found once. Each part's parameters
        # are consecutive in an ActorCritic, so its rows are read as a slice (cheaper than the
        # gather of an index tensor, and the same values summed in the same order).
        position = {id(p): i for i, p in enumerate(self.parameters)}
        self.parts: dict[str, slice | torch.Tensor] = {}
        for name, params in policy.parameter_groups().items():
            index = torch.tensor([position[id(p)] for p in params if id(p) in position], dtype=torch.long)
            first = int(index[0]) if len(index) else 0
            consecutive = torch.equal(index, torch.arange(first, first + len(index)))
            self.parts[name] = slice(first, first + len(index)) if consecutive else index

    def set_learning_rate(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, loss: torch.Tensor) -> torch.Tensor:
        """Zero, backward, clip, step. Returns each parameter's squared gradient norm (before
        clipping) as one tensor, for :meth:`part_norms`: a learner can keep one per step and read
        them all at the end of its update, without a sync or a dozen small ops per step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return self.apply()

    def apply(self) -> torch.Tensor:
        """Clip and step on the gradients already in ``.grad`` (set by ``step``'s backward, or by
        a learner that computes them itself: :mod:`rlagent.fast.analytic_loss`); returns what ``step`` does."""
        squares = self.clip_gradients()
        self.optimizer.step()
        return squares

    def clip_and_step(self) -> None:
        """``apply`` for a learner that logs no gradient norms (the DQN family, 128 steps an update):
        the clipping scale comes from Python floats, one ``_foreach_norm`` and no tensor arithmetic
        (``clip_gradients`` spends ~10 small ops on it), then the optimiser steps. The same clipping
        to float rounding: the scale is computed in double here, in float32 there, and a scale of 1
        or more (no clipping) is skipped where ``clip_gradients`` multiplies by exactly 1."""
        max_norm = self.config.max_grad_norm
        if max_norm is not None:
            grads = [p.grad for p in self.parameters if p.grad is not None]
            total = math.sqrt(sum(float(norm) ** 2 for norm in torch._foreach_norm(grads)))
            scale = max_norm / (total + 1e-6)
            if not scale >= 1.0:  # NaN too: the learner reports the diverged loss
                torch._foreach_mul_(grads, scale)
        self.optimizer.step()

    def clip_gradients(self) -> torch.Tensor:
        """Clip to ``max_grad_norm`` and return the squared norm of each parameter's gradient
        (before clipping): one batched norm serves the monitor and the clipping alike, where
        ``clip_grad_norm_`` would walk the modules and compute the norms a second time."""
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.parameters]
        squares = torch.stack(torch._foreach_norm(grads)).square_()
        max_norm = self.config.max_grad_norm
        if max_norm is not None:
            # max_norm / (total + 1e-6), capped at 1, without Tensor.__rtruediv__'s overhead.
            scale = squares.sum().sqrt_().add_(1e-6).reciprocal_().mul_(max_norm).clamp_(max=1.0)
            torch._foreach_mul_(grads, scale)
        return squares

    def part_norms(self, squares: torch.Tensor) -> dict[str, torch.Tensor]:
        """Gradient norms per part and in total from ``clip_gradients``'s squares: (P,) for one
        step gives scalars, (S, P) for S steps gives (S,) norms, one per step."""
        result = {name: squares[..., part].sum(-1).sqrt() for name, part in self.parts.items()}
        result["total"] = squares.sum(-1).sqrt()
        return result
