"""Forward and backward of a plain MLP Q-network on numpy arrays, for the hand-derived TD step.

Why numpy, and why not all of it: in a DQN gradient step on SB3-zoo's CartPole network (4-256-256-2,
batches of 64) four products carry the arithmetic (the target's and the online network's 256x256
layer forward, that layer's weight gradient and the gradient into its input, ~110 us each on one
thread), and some twenty small operations do the rest (the first and last layers, the activations
and their derivatives, bias sums). Measured one by one, a small torch call here costs 13-46 us
(a (64,256)x(256,2) ``addmm`` ~25 us, the first layer's weight gradient ~46 us, a bias sum ~14 us)
and its numpy twin 6-20 us, so the small ones run in numpy. The large products go to torch
(``torch.mm`` on the same memory, no copies), at torch's speed and with the thread count
``run.threads`` sets, where numpy's BLAS would pick its own threads. "Large" is
``rows * in * out >= LARGE``, below which OpenBLAS keeps a product on one thread too.

Gradients are written to ``.grad`` as tensors sharing the arrays' memory, as ``loss.backward()``
would leave them, so clipping and the optimiser run unchanged. Values equal autograd's to float
rounding (``tests/test_td_gradient.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlagent.fast.q_layout import QLayout

LARGE = 262_144  # rows * in * out from which a product goes to torch (OpenBLAS's own threading threshold)


class _Linear:
    """One ``nn.Linear`` seen from numpy: its parameters as tensors and as arrays sharing their
    memory (the optimiser and the target copies update them in place, so the views stay current)."""

    def __init__(self, layer: nn.Linear) -> None:
        self.layer = layer
        self.weight_t = layer.weight.detach()
        self.bias_t = layer.bias.detach()
        self.weight = self.weight_t.numpy()
        self.bias = self.bias_t.numpy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] * self.weight.size >= LARGE:
            return torch.addmm(self.bias_t, torch.from_numpy(x), self.weight_t.t()).numpy()
        out = x @ self.weight.T
        out += self.bias
        return out

    def backward(self, grad: np.ndarray, x: np.ndarray, needs_input: bool) -> np.ndarray | None:
        """Set the layer's ``.grad`` from d(loss)/d(output) ``grad`` and its input ``x``; return d(loss)/d(x)."""
        large = grad.shape[0] * self.weight.size >= LARGE
        if large:
            grad_t = torch.from_numpy(grad)
            self.layer.weight.grad = torch.mm(grad_t.t(), torch.from_numpy(x))
        else:
            self.layer.weight.grad = torch.from_numpy(grad.T @ x)
        self.layer.bias.grad = torch.from_numpy(grad.sum(0))
        if not needs_input:
            return None
        return torch.mm(grad_t, self.weight_t).numpy() if large else grad @ self.weight


class QMLP:
    """``forward(x) -> (Q (B, A), trunk outputs)`` and ``backward(outputs, dQ)`` for one network."""

    def __init__(self, layout: QLayout) -> None:
        self.tanh = layout.activation == "tanh"
        self.trunk = [_Linear(layer) for layer in layout.trunk]
        self.advantage = _Linear(layout.advantage)
        self.value = None if layout.value is None else _Linear(layout.value)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        outputs = [x]
        for layer in self.trunk:
            h = layer.forward(outputs[-1])
            outputs.append(np.tanh(h, out=h) if self.tanh else np.maximum(h, np.float32(0.0), out=h))
        features = outputs[-1]
        q = self.advantage.forward(features)
        if self.value is not None:  # V + A - mean_a A, as rlagent.nets.q_network._duel
            q = self.value.forward(features) + q - q.mean(axis=1, keepdims=True, dtype=np.float32)
        return q, outputs

    def backward(self, outputs: list[np.ndarray], grad_q: np.ndarray) -> None:
        features, deep = outputs[-1], bool(self.trunk)
        if self.value is None:
            grad = self.advantage.backward(grad_q, features, deep)
        else:
            grad_advantage = grad_q - grad_q.mean(axis=1, keepdims=True, dtype=np.float32)
            grad = self.advantage.backward(grad_advantage, features, deep)
            grad_value = self.value.backward(grad_q.sum(axis=1, keepdims=True, dtype=np.float32), features, deep)
            if grad is not None and grad_value is not None:  # deep: a trunk below the heads
                grad += grad_value
        if grad is None:  # no trunk: the heads were all
            return
        for index in range(len(self.trunk) - 1, -1, -1):
            h = outputs[index + 1]
            if self.tanh:
                grad = grad * (np.float32(1.0) - h * h)
            else:
                np.multiply(grad, h > 0, out=grad)  # relu's derivative: 0 where the output is 0
            below = self.trunk[index].backward(grad, outputs[index], index > 0)
            if below is None:  # the first layer: no gradient of the input wanted
                break
            grad = below
