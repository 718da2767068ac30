"""Activation monitor: dead ReLU units, saturated tanh units and the scale of each layer's output.

A unit that never fires over a whole batch gets no gradient, so it stays dead: a network can lose
most of its capacity this way (a large learning rate, an unlucky bias) while the loss curves look
merely slow. A tanh unit pinned near +-1 has a gradient near 0 for the same effect. Neither shows
in the losses or the gradient norm, hence this monitor.

:func:`activation_sites` finds where post-activation values can be read in any model built from
:mod:`rlagent.nets` (actor-critic, Q-network): each MLP layer (the hook sees the ``nn.Linear``
output, so the encoder's activation is applied again here), each board block (its output is
already a ReLU), a GRU cell's output (bounded in (-1, 1), so it is watched like a tanh) and the
heads' output layers (logits, values: only their mean and std mean anything).
:func:`measure_activations` hooks them for one forward pass and removes the hooks again, so
training never pays for them; :func:`activation_metrics` turns the result into scalars
``act/<site>/dead_fraction``, ``act/<site>/saturated_fraction``, ``act/<site>/mean``, ``act/<site>/std``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlagent.fast.activations import tanh as fast_tanh
from rlagent.nets.encoders import ConvBlock, MLPEncoder, ResidualBlock
from rlagent.nets.q_network import BoardQHead, QHead

__all__ = ["LayerStats", "Site", "activation_metrics", "activation_sites", "measure_activations"]

SATURATION = 0.99  # |tanh| above this (sigmoid within 0.01 of 0 or 1): gradient factor below ~0.02

# Kinds of site: what the post-activation values are, which decides the statistics that apply.
RELU, TANH, SIGMOID, LINEAR = "relu", "tanh", "sigmoid", "linear"

# Activation functions by identity: an MLP encoder stores the function itself, not its name.
_KIND_OF: dict[Callable[..., Tensor], str] = {
    torch.relu: RELU,
    F.relu: RELU,
    fast_tanh: TANH,
    torch.tanh: TANH,
    torch.sigmoid: SIGMOID,
    F.sigmoid: SIGMOID,
}


def _identity(x: Tensor) -> Tensor:
    return x


@dataclass(frozen=True)
class Site:
    """One place to observe post-activation values.

    ``module`` is what the forward hook goes on; ``activation`` maps the module's output to the
    values observed (the encoder's activation for an MLP layer, the identity where the module's
    output is already post-activation); ``unit_dim`` is the dimension that indexes units (features
    of a linear layer, channels of a convolution's map).
    """

    name: str
    module: nn.Module
    kind: str
    activation: Callable[[Tensor], Tensor] = _identity
    unit_dim: int = -1


@dataclass(frozen=True)
class LayerStats:
    """A site's statistics over every value it produced during the measured forward pass.

    ``dead_fraction`` (ReLU sites only): share of units never positive over the batch (a channel
    counts as alive when it is positive at any position of any sample). ``saturated_fraction``
    (tanh and sigmoid sites only): share of unit-activations within 0.01 of the bounds.
    ``units``: features or channels; ``count``: values seen (units x samples x positions x calls).
    """

    kind: str
    units: int
    count: int
    mean: float
    std: float
    dead_fraction: float | None = None
    saturated_fraction: float | None = None


def activation_sites(model: nn.Module) -> list[Site]:
    """Every observable activation in ``model``, in module order, named by module path.

    Recognised: :class:`MLPEncoder` layers, :class:`ConvBlock` / :class:`ResidualBlock` outputs,
    ``nn.GRUCell`` outputs, and the output layers of heads (a head's ``output_layers()``, or the
    linear layers of a Q head). A head with one output layer is named by the head's path
    (``policy_head``, ``value_head``); with several, by each layer's path (``policy_head.cells``).
    An MLP activation not known here is still watched, for its mean and std only.
    """
    paths = {id(module): name for name, module in model.named_modules()}
    sites: list[Site] = []
    for name, module in model.named_modules():
        if isinstance(module, MLPEncoder):
            kind = _KIND_OF.get(module.activation, LINEAR)
            sites.extend(Site(f"{name}.layers.{i}".lstrip("."), layer, kind, module.activation) for i, layer in enumerate(module.layers))
        elif isinstance(module, (ConvBlock, ResidualBlock)):
            sites.append(Site(name, module, RELU, unit_dim=1))
        elif isinstance(module, nn.GRUCell):
            sites.append(Site(name, module, TANH))
        else:
            layers = _output_layers(module)
            single = len(layers) == 1
            sites.extend(
                Site(name if single and name else paths[id(layer)], layer, LINEAR, unit_dim=1 if isinstance(layer, nn.Conv2d) else -1) for layer in layers
            )
    return sites


def _output_layers(module: nn.Module) -> list[nn.Module]:
    """A head's final layers: policy and value heads name them; a Q head's children are exactly them."""
    if isinstance(module, (QHead, BoardQHead)):
        return list(module.children())
    named = getattr(module, "output_layers", None)
    return list(named()) if callable(named) else []


class _Accumulator:
    """Running statistics of one site over every call of its module (a GRU cell is called once per
    time step), merged per call with Chan's parallel formula so the variance needs no second pass.
    Everything stays a tensor until :meth:`stats`: no device sync inside the forward pass."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.count = 0
        self.units = 0
        self.mean: Tensor | float = 0.0
        self.m2: Tensor | float = 0.0  # sum of squared deviations from the mean
        self.alive: Tensor | None = None  # per unit: positive somewhere (ReLU sites)
        self.saturated: Tensor | int = 0

    def __call__(self, module: nn.Module, inputs: Any, output: Tensor) -> None:
        """The forward hook: reads the output and returns None, so the output passes on unchanged."""
        values = self.site.activation(output.detach()).double()
        n = values.numel()
        if n == 0:
            return
        self.units = values.shape[self.site.unit_dim]
        mean = values.mean()
        m2 = (values - mean).square().sum()
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta.square() * (self.count * n / total)
        self.count = total
        if self.site.kind == RELU:
            alive = (values.movedim(self.site.unit_dim, -1).reshape(-1, self.units) > 0).any(dim=0)
            self.alive = alive if self.alive is None else self.alive | alive
        elif self.site.kind == TANH:
            self.saturated = self.saturated + (values.abs() > SATURATION).sum()
        elif self.site.kind == SIGMOID:
            self.saturated = self.saturated + ((values < 1.0 - SATURATION) | (values > SATURATION)).sum()

    def stats(self) -> LayerStats:
        kind = self.site.kind
        dead = 1.0 - float(self.alive.double().mean()) if self.alive is not None else None
        saturated = float(self.saturated) / self.count if kind in (TANH, SIGMOID) else None
        std = (float(self.m2) / self.count) ** 0.5
        return LayerStats(kind, self.units, self.count, float(self.mean), std, dead, saturated)


def measure_activations(model: nn.Module, forward: Callable[[], Any]) -> dict[str, LayerStats]:
    """Run ``forward()`` once under ``torch.no_grad()`` with hooks on every site of ``model``.

    ``forward`` is any call that drives the model on a sample batch, e.g. ``lambda: policy(obs)``
    or ``lambda: q_network.action_values(obs)``; its result is discarded. The batch is what "never
    active" is measured over, so use a real one (a rollout's observations), not a handful of rows.
    The hooks exist only during the call and are removed even when ``forward`` raises; they return
    nothing, so the model computes exactly what it computes unhooked. Sites the call never reaches
    (the critic trunk, for a call that only acts) are absent from the result. The model's mode is
    left alone: measure in the mode whose activations matter (noisy layers differ in ``eval()``).
    """
    accumulators = [_Accumulator(site) for site in activation_sites(model)]
    handles = []
    try:
        for accumulator in accumulators:
            handles.append(accumulator.site.module.register_forward_hook(accumulator))
        with torch.no_grad():
            forward()
    finally:
        for handle in handles:
            handle.remove()
    return {a.site.name: a.stats() for a in accumulators if a.count}


def activation_metrics(stats: dict[str, LayerStats]) -> dict[str, float]:
    """Scalars ``act/<site>/{dead_fraction,saturated_fraction,mean,std}`` for the logger.

    ``dead_fraction`` appears for ReLU sites only and ``saturated_fraction`` for tanh/sigmoid sites
    only, so a curve is never a constant 0 that means "does not apply".
    """
    metrics: dict[str, float] = {}
    for name, s in stats.items():
        if s.dead_fraction is not None:
            metrics[f"act/{name}/dead_fraction"] = s.dead_fraction
        if s.saturated_fraction is not None:
            metrics[f"act/{name}/saturated_fraction"] = s.saturated_fraction
        metrics[f"act/{name}/mean"] = s.mean
        metrics[f"act/{name}/std"] = s.std
    return metrics
