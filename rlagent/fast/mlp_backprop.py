"""Forward and backward pass of a plain MLP actor-critic, by hand, for the learner's minibatches.

Why: a PPO minibatch step on the usual small policy (two 64x64 tanh trunks, a few hundred rows)
costs about 1.7 ms on one CPU thread through autograd, of which the arithmetic (six 64x64
products, four tanh) is a fraction; the rest is building and walking the graph, some 240
operator calls. The backward pass of a stack of linear layers is short to write down: per layer,
two products and a sum. This module does exactly that for the policies
:func:`rlagent.fast.mlp_layout.mlp_layout` accepts, storing each parameter's gradient in ``.grad``
as ``loss.backward()`` would, so the optimiser, the gradient clipping and the per-part gradient
norms run unchanged. It is used only where it is exact; everything else keeps autograd.

The gradients equal autograd's to float rounding (``tests/test_analytic_gradient.py`` checks
both trunk layouts, both activations, masks and every loss option against autograd). The forward
values may differ from ``torch.tanh``'s in the last bits (<= 2e-7): the trunk computes tanh from
a sigmoid, which is cheaper on CPU (see ``_linear_tanh``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rlagent.fast.activations import tanh_of_doubled_
from rlagent.fast.mlp_layout import MLPLayout


def _tanh_backward(grad: Tensor, output: Tensor) -> Tensor:
    return torch.ops.aten.tanh_backward(grad, output)  # grad * (1 - output^2), one kernel


def _relu_backward(grad: Tensor, output: Tensor) -> Tensor:
    return torch.ops.aten.threshold_backward(grad, output, 0.0)  # grad where output > 0


_BACKWARD = {"tanh": _tanh_backward, "relu": _relu_backward}


def _linear_tanh(x: Tensor, layer: nn.Linear) -> Tensor:
    """tanh(x W^T + b) in two passes after the product: the product comes out doubled (scaling by
    2 is exact in floating point) and :func:`~rlagent.fast.activations.tanh_of_doubled_` finishes
    it in place. About 0.7x the time of the product then ``torch.tanh`` on CPU (torch 2.13, a
    256x64 output); within 2e-7 of ``torch.tanh``."""
    return tanh_of_doubled_(torch.addmm(layer.bias, x, layer.weight.t(), beta=2.0, alpha=2.0))


def _linear_relu(x: Tensor, layer: nn.Linear) -> Tensor:
    return torch.addmm(layer.bias, x, layer.weight.t()).relu_()


_LAYERS = {"tanh": _linear_tanh, "relu": _linear_relu}


class MLPBackprop:
    """``forward(x) -> (logits, values)`` keeping the activations, then ``backward(dlogits, dvalues)``
    to set every parameter's ``.grad`` to d(loss)/d(parameter).

    One ``forward`` then one ``backward``, like ``loss.backward()`` after a forward; a second
    ``backward`` without a new ``forward`` is an error (the activations are released).
    """

    def __init__(self, layout: MLPLayout) -> None:
        self.layout = layout
        self.layer = _LAYERS[layout.activation]
        self.activation_backward = _BACKWARD[layout.activation]
        self._actor: list[Tensor] | None = None
        self._critic: list[Tensor] | None = None

    def parameters(self) -> list[Tensor]:
        layout = self.layout
        layers = [*layout.actor, *(layout.critic or ()), layout.policy_head, layout.value_head]
        return [p for layer in layers for p in (layer.weight, layer.bias)]

    @torch.no_grad()
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, input_dim) float32 -> raw logits (B, A) and values (B,)."""
        layout = self.layout
        self._actor = self._trunk(layout.actor, x)
        self._critic = None if layout.critic is None else self._trunk(layout.critic, x)
        features = self._actor[-1]
        critic_features = features if self._critic is None else self._critic[-1]
        head, value = layout.policy_head, layout.value_head
        logits = torch.addmm(head.bias, features, head.weight.t())
        values = torch.addmv(value.bias, critic_features, value.weight[0])
        return logits, values

    @torch.no_grad()
    def backward(self, grad_logits: Tensor, grad_values: Tensor) -> None:
        """Set ``.grad`` of every parameter from d(loss)/d(logits) (B, A) and d(loss)/d(values) (B,)."""
        if self._actor is None:
            raise RuntimeError("MLPBackprop.backward needs a forward first (and runs once per forward)")
        layout = self.layout
        actor, critic = self._actor, self._critic
        self._actor = self._critic = None
        head, value = layout.policy_head, layout.value_head
        features = actor[-1]
        critic_features = features if critic is None else critic[-1]
        head.weight.grad = torch.mm(grad_logits.t(), features)
        head.bias.grad = grad_logits.sum(0)
        value.weight.grad = torch.mv(critic_features.t(), grad_values).unsqueeze(0)
        value.bias.grad = grad_values.sum(0, keepdim=True)
        grad_features = torch.mm(grad_logits, head.weight)
        grad_critic = torch.outer(grad_values, value.weight[0])
        if critic is None or layout.critic is None:  # both or neither: one trunk feeds both heads
            self._trunk_backward(layout.actor, actor, grad_features.add_(grad_critic))
        else:
            self._trunk_backward(layout.actor, actor, grad_features)
            self._trunk_backward(layout.critic, critic, grad_critic)

    def _trunk(self, layers: tuple[nn.Linear, ...], x: Tensor) -> list[Tensor]:
        """[input, h_1, ..., h_L]: every layer's output, which its backward reads."""
        outputs = [x]
        for layer in layers:
            outputs.append(self.layer(outputs[-1], layer))
        return outputs

    def _trunk_backward(self, layers: tuple[nn.Linear, ...], outputs: list[Tensor], grad: Tensor) -> None:
        for index in range(len(layers) - 1, -1, -1):
            layer = layers[index]
            grad = self.activation_backward(grad, outputs[index + 1])  # d loss / d pre-activation
            layer.weight.grad = torch.mm(grad.t(), outputs[index])
            layer.bias.grad = grad.sum(0)
            if index:  # the input needs no gradient
                grad = torch.mm(grad, layer.weight)
