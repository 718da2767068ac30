"""The one place that decides which speed paths a run takes, and records what it took.

``run.fast`` is ``auto`` (the default: every fast path that computes exactly what the plain one
would, for this policy) or ``off`` (the policy's own ``act`` for collection and autograd for the
learner's gradient; the exact shortcuts listed in :mod:`rlagent.fast` stay). The paths: for plain
MLP actor-critics a numpy rollout actor and PPO's gradient by hand; for plain MLP Q-networks a
numpy epsilon-greedy actor (:mod:`~rlagent.fast.q_actor`) and the DQN family's TD gradient by
hand (:mod:`~rlagent.fast.td_gradient`). What the run takes is written to
``config.json`` (``fast_paths``, by :meth:`rlagent.run.Trainer.fast_paths_taken`) and logged each
update (``fast/numpy_actor``, ``fast/analytic_gradient``): a path that declines for one update (a
hook registered, a layer frozen) shows as 0 there. Both actors draw their sampling noise from the collector's torch
generator in the same shapes, so one seed gives the same run either way, to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rlagent.errors import ConfigError
from rlagent.fast.analytic_loss import AnalyticLoss, analytic_loss
from rlagent.fast.numpy_actor import NumpyActor, numpy_actor
from rlagent.fast.q_actor import NumpyQActor, numpy_q_actor
from rlagent.fast.td_gradient import TDGradient, td_gradient

FAST_MODES = ("auto", "off")


@dataclass
class FastPaths:
    """What a run may use instead of torch's plain path: a rollout ``actor`` and the learner's
    gradient by hand (``analytic``: PPO's minibatch loss, the DQN family's TD loss), each
    None/False where it does not apply."""

    mode: str
    actor: NumpyActor | NumpyQActor | None
    analytic: bool

    def minibatch_loss(self, policy: torch.nn.Module, config: Any, gradient: Any) -> AnalyticLoss | None:
        """PPO's hand-derived minibatch loss for ``policy`` (stepping with ``gradient``), or None (then autograd)."""
        return analytic_loss(policy, config, gradient) if self.analytic else None

    def td_gradient(self, network: torch.nn.Module, target: torch.nn.Module, config: Any) -> TDGradient | None:
        """The DQN family's hand-derived TD gradient for ``network`` and its ``target``, or None (then autograd)."""
        return td_gradient(network, target, config) if self.analytic else None


def select_fast_paths(policy: torch.nn.Module, mode: str = "auto") -> FastPaths:
    """The speed paths ``policy`` can take under ``run.fast = mode``."""
    if mode not in FAST_MODES:
        raise ConfigError(f"run.fast must be one of {', '.join(FAST_MODES)}, got {mode!r}")
    if mode == "off":
        return FastPaths(mode, None, False)
    return FastPaths(mode, numpy_actor(policy) or numpy_q_actor(policy), True)
