"""Which policies are "plain MLP actor-critics", and their layers in order.

Two fast paths serve exactly these policies and nothing else: the rollout's numpy forward
(:mod:`rlagent.fast.numpy_actor`) and the learner's hand-derived backward pass
(:mod:`rlagent.fast.mlp_backprop`). Both are only correct for this one architecture (MLP trunks
without a recurrent core, a ``Discrete`` action head, a linear value head, float32 on CPU), so the
test of whether a policy qualifies lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlagent.nets.encoders import ACTIVATIONS, MLPEncoder
from rlagent.nets.heads import CategoricalHead
from rlagent.nets.policy import ActorCritic

SUPPORTED_ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class MLPLayout:
    """The linear layers of a plain MLP actor-critic, input to output.

    ``critic`` is None when the value head reads the actor's trunk. With a separate critic both
    trunks have the same depth and activation (what the fused numpy forward needs).
    """

    actor: tuple[nn.Linear, ...]
    critic: tuple[nn.Linear, ...] | None
    policy_head: nn.Linear
    value_head: nn.Linear
    activation: str


def activation_name(encoder: MLPEncoder) -> str | None:
    for name, function in ACTIVATIONS.items():
        if encoder.activation is function:
            return name
    return None


def mlp_layout(policy: torch.nn.Module) -> MLPLayout | None:
    """The layout of ``policy``, or None when it is anything but a plain MLP actor-critic."""
    if not isinstance(policy, ActorCritic) or policy.device.type != "cpu" or policy.is_recurrent:
        return None
    if not isinstance(policy.policy_head, CategoricalHead):
        return None
    trunks = [policy.actor] if policy.critic is None else [policy.actor, policy.critic]
    encoders: list[MLPEncoder] = []
    names = set()
    for trunk in trunks:
        if not isinstance(trunk.encoder, MLPEncoder) or trunk.core is not None or trunk.spatial:
            return None
        encoders.append(trunk.encoder)
        name = activation_name(trunk.encoder)
        if name not in SUPPORTED_ACTIVATIONS:
            return None
        names.add(name)
    if len(names) != 1:
        return None
    layers = [encoder.linears() for encoder in encoders]
    if len(layers) == 2 and len(layers[1]) != len(layers[0]):
        return None
    if any(p.dtype != torch.float32 for p in policy.parameters()):
        return None
    return MLPLayout(
        actor=layers[0],
        critic=layers[1] if len(layers) == 2 else None,
        policy_head=policy.policy_head.linear,
        value_head=policy.value_head.linear,
        activation=names.pop(),
    )
