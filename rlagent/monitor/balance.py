"""Gradient and loss balance: who shapes the shared trunk, and how far each update moves each layer.

With a shared trunk, the policy and value losses pull the same features. When one pulls a thousand
times harder (value losses on unscaled returns easily do), the other head trains on features that
were never shaped for it, and the summed gradient norm hides it. :func:`trunk_gradient_balance`
measures each pull separately, :func:`dominance` turns a lopsided ratio into one line of advice.

:class:`WeightSnapshot` gives each layer's update ratio ||W_after - W_before|| / ||W_before||: the
step size the optimiser really took, which the learning rate alone does not tell (Adam rescales,
gradient clipping cuts, a layer's weights grow).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["WeightSnapshot", "dominance", "trunk_gradient_balance"]


def _gradient_norm(loss: Tensor, shared: Sequence[nn.Parameter]) -> Tensor:
    """||d loss / d shared||, without touching any ``.grad``; 0 for a loss that does not reach them
    (frozen parameters are skipped: autograd refuses to differentiate with respect to them)."""
    trainable = [p for p in shared if p.requires_grad]
    if not loss.requires_grad or not trainable:
        return torch.zeros((), dtype=torch.float64)
    grads = torch.autograd.grad(loss, trainable, retain_graph=True, allow_unused=True)
    squares = [g.detach().double().square().sum() for g in grads if g is not None]
    return torch.stack(squares).sum().sqrt() if squares else torch.zeros((), dtype=torch.float64)


def trunk_gradient_balance(shared: Sequence[nn.Parameter], actor_loss: Tensor, critic_loss: Tensor) -> dict[str, float]:
    """The norms of the actor's and the critic's gradients on the shared trunk, and their ratio.

    ``shared``: the trunk both heads read (an ``ActorCritic``'s ``parameter_groups()["trunk"]``
    when it has no separate critic; with ``separate_critic`` nothing is shared and the critic's
    norm is 0). ``actor_loss`` and ``critic_loss`` are the terms *as weighted in the total loss*,
    which the caller builds from its own coefficients: ``actor_loss_coef * pg - entropy_coef *
    entropy`` and ``value_loss_coef * value``. Unweighted terms would measure something the
    optimiser never sees.

    Gradients come from ``torch.autograd.grad`` with ``retain_graph=True``: ``.grad`` is left as it
    was and the graph survives for the caller's own ``backward()``. The cost is two extra backward
    passes, so call it on one minibatch every so often, not on every step.

    Tags: ``grad/trunk_from_actor``, ``grad/trunk_from_critic``, ``grad/trunk_actor_critic_ratio``
    (actor / critic; ``inf`` when only the critic's is 0, ``nan`` when both are).
    """
    actor = float(_gradient_norm(actor_loss, shared))
    critic = float(_gradient_norm(critic_loss, shared))
    if critic > 0.0:
        ratio = actor / critic
    else:
        ratio = math.inf if actor > 0.0 else math.nan
    return {"grad/trunk_from_actor": actor, "grad/trunk_from_critic": critic, "grad/trunk_actor_critic_ratio": ratio}


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def dominance(ratio: float, factor: float, section: str = "ppo") -> str | None:
    """One line of advice when one head's gradient on the shared trunk exceeds the other's by more
    than ``factor`` (> 1), else None (also for ``nan``: nothing to compare).

    ``ratio`` is ``grad/trunk_actor_critic_ratio`` (actor / critic); ``section`` is the learner's
    config section, for the setting the advice names (``ppo.value_loss_coef``).
    """
    if not factor > 1.0:
        raise ValueError(f"factor must be > 1, got {factor!r}")
    coef = f"{section}.value_loss_coef"
    separate = "set policy.separate_critic=true"
    if ratio > factor:
        if math.isinf(ratio):
            return f"the critic gives the shared trunk no gradient: the value head does not shape the features (is {coef} 0?)"
        return (
            f"the actor's gradient on the shared trunk is {_times(ratio)} the critic's: the value head barely shapes the features; raise {coef} or {separate}"
        )
    if ratio * factor < 1.0:
        if ratio == 0.0:
            return "the actor gives the shared trunk no gradient: the policy does not shape the features"
        return f"the critic's gradient on the shared trunk is {_times(1.0 / ratio)} the actor's: the value loss drives the features; lower {coef} or {separate}"
    return None


class WeightSnapshot:
    """A copy of a model's parameters, to measure how far an update moved each layer.

    A layer is a module that owns parameters directly (``actor.encoder.layers.0``, ``value_head.linear``;
    the root's own parameters, if any, under ``root``); its weight and bias count together.
    Take the snapshot before ``optimizer.step()`` (or before a whole update), then call
    :meth:`update_ratios` after it.

    A healthy update ratio is around 1e-3 (Karpathy's rule of thumb): far below (1e-5) the layer
    hardly learns, far above (1e-1) it is being rewritten each step and training tends to be
    unstable.
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers: dict[str, dict[str, Tensor]] = {}
        for name, module in model.named_modules():
            params = {key: p.detach().clone() for key, p in module.named_parameters(recurse=False)}
            if params:
                self.layers[name or "root"] = params

    def update_ratios(self, model: nn.Module) -> dict[str, float]:
        """``update_ratio/<layer>`` = ||W_now - W_snapshot|| / ||W_snapshot|| per layer.

        A layer whose snapshot is all zeros (a zero-initialised head) gives 0 if it has not
        moved, ``inf`` if it has: no relative step exists there. ``model`` must be the
        snapshot's model (or one of the same structure).
        """
        modules = dict(model.named_modules())
        changes, sizes = [], []
        for name, before in self.layers.items():
            current = dict(modules["" if name == "root" else name].named_parameters(recurse=False))
            if current.keys() != before.keys():
                raise ValueError(f"layer {name!r} has parameters {sorted(current)}, the snapshot {sorted(before)}")
            changes.append(torch.stack([(current[k].detach() - w).double().square().sum() for k, w in before.items()]).sum())
            sizes.append(torch.stack([w.double().square().sum() for w in before.values()]).sum())
        if not changes:
            return {}
        change = torch.stack(changes).sqrt().tolist()
        size = torch.stack(sizes).sqrt().tolist()
        return {f"update_ratio/{name}": _relative(d, s) for name, d, s in zip(self.layers, change, size)}


def _relative(change: float, size: float) -> float:
    if size > 0.0:
        return change / size
    return 0.0 if change == 0.0 else math.inf
