"""Which Q-networks are "plain MLP Q-networks", and their layers in order.

The DQN family's two fast paths (the numpy rollout actor :mod:`rlagent.fast.q_actor` and the
hand-derived TD gradient :mod:`rlagent.fast.td_gradient`) are exact only for this architecture:
a :class:`~rlagent.nets.q_network.QNetwork` with an MLP encoder (relu or tanh) and a flat
:class:`~rlagent.nets.q_network.QHead` of plain linear layers, dueling or not, one atom (not C51),
no noisy layers, float32 on the CPU. The test lives here once, for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlagent.fast.mlp_layout import SUPPORTED_ACTIVATIONS, activation_name
from rlagent.nets.encoders import MLPEncoder
from rlagent.nets.q_network import QHead, QNetwork


@dataclass(frozen=True)
class QLayout:
    """The linear layers of a plain MLP Q-network: the trunk, the advantage (or Q) layer and the
    dueling value layer (None without dueling)."""

    trunk: tuple[nn.Linear, ...]
    advantage: nn.Linear
    value: nn.Linear | None
    activation: str

    @property
    def linears(self) -> tuple[nn.Linear, ...]:
        return (*self.trunk, self.advantage, *(() if self.value is None else (self.value,)))

    def parameters(self) -> list[torch.Tensor]:
        return [p for layer in self.linears for p in (layer.weight, layer.bias)]


def q_layout(network: torch.nn.Module) -> QLayout | None:
    """The layout of ``network``, or None when it is anything but a plain MLP Q-network."""
    if not isinstance(network, QNetwork) or network.device.type != "cpu" or network.distributional:
        return None
    encoder, head = network.encoder, network.head
    if not isinstance(encoder, MLPEncoder) or type(head) is not QHead or head.num_atoms != 1:
        return None
    name = activation_name(encoder)
    if name not in SUPPORTED_ACTIVATIONS:
        return None
    trunk, advantage, value = encoder.linears(), head.advantage, head.value
    # a NoisyLinear head, or a subclass of nn.Linear
    if any(type(layer) is not nn.Linear for layer in trunk) or type(advantage) is not nn.Linear or (value is not None and type(value) is not nn.Linear):
        return None
    if any(p.dtype != torch.float32 for p in network.parameters()):
        return None
    return QLayout(trunk, advantage, value, name)
