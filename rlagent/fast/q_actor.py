"""The rollout's per-step call of a plain MLP Q-network (epsilon-greedy) in numpy.

Why: DQN collects one env step at a time between its gradient steps (a single CartPole env at
SB3-zoo's settings), and ``QNetwork.act`` through torch is some 25 small tensor operations per
step (the forward, the masked argmax, the epsilon draw and choice, the best value), each costing its
dispatch rather than its arithmetic. The same computation in numpy on copies of the weights costs a
fraction of that.

The epsilon draws still come from the collector's torch generator, in the shape ``QNetwork.act``
draws them ((N, A + 1) uniforms, only when epsilon > 0), so one seed gives the same run either
way; the Q-values differ from torch's by float rounding only. Networks other than those
:func:`rlagent.fast.q_layout.q_layout` accepts keep ``QNetwork.act``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from rlagent.fast.hooks import any_hooks
from rlagent.fast.numpy_actor import numpy_input
from rlagent.fast.q_layout import QLayout, q_layout
from rlagent.nets.q_network import QNetwork

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0, out=x)}


def _transposed(layer: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """(W^T, b) as contiguous float32 copies (a contiguous W^T is the cheaper product)."""
    return np.ascontiguousarray(layer.weight.detach().numpy().T), layer.bias.detach().numpy().copy()


class NumpyQActor:
    """``act(obs, state, episode_start, deterministic, generator) -> (actions, zeros, best legal Q,
    None)``, what :meth:`rlagent.nets.q_network.QNetwork.act` returns, with the network's current
    ``exploration_rate``."""

    def __init__(self, network: QNetwork, layout: QLayout) -> None:
        self.network, self.layout = network, layout
        self.keys = network.inputs.keys
        self.has_mask = network.inputs.mask_size is not None
        self.activation = _ACTIVATIONS[layout.activation]
        self.num_actions = network.num_actions
        self._zeros = np.zeros(0, np.float32)
        self.refresh()

    def applies(self) -> bool:
        """On the CPU and with no module hooks torch would run (asked before every rollout)."""
        return self.network.device.type == "cpu" and not any_hooks(self.network, parameters=False)

    def refresh(self) -> None:
        """Copy the network's current parameters (the collector calls it before every rollout).
        The dueling value layer is appended to the advantage layer as one more column."""
        layout = self.layout
        self.layers = [_transposed(layer) for layer in layout.trunk]
        weight, bias = _transposed(layout.advantage)
        if layout.value is not None:
            value_weight, value_bias = _transposed(layout.value)
            weight, bias = np.hstack([weight, value_weight]), np.concatenate([bias, value_bias])
        self.output = (weight, bias)

    def q_values(self, x: np.ndarray) -> np.ndarray:
        for weight_t, bias in self.layers:
            x = x @ weight_t
            x += bias
            x = self.activation(x)
        out = x @ self.output[0]
        out += self.output[1]
        if self.layout.value is None:
            return out
        advantage, value = out[:, :-1], out[:, -1:]
        return value + advantage - advantage.mean(axis=1, keepdims=True)

    def act(
        self, obs: Any, state: None = None, episode_start: object = None, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, None]:
        x, mask = numpy_input(obs, self.keys, self.has_mask)
        q = self.q_values(x)
        legal_q = q if mask is None else np.where(mask, q, np.float32(-np.inf))
        actions = legal_q.argmax(axis=1)
        epsilon = 0.0 if deterministic else float(self.network.exploration_rate)
        if epsilon > 0.0:  # the draws QNetwork.act makes, from the same generator
            draws = torch.rand(q.shape[0], self.num_actions + 1, generator=generator).numpy()
            explore = draws[:, 0] < np.float32(epsilon)
            if explore.any():  # else the random choice is not taken anyway
                keys = draws[:, 1:] if mask is None else np.where(mask, draws[:, 1:], np.float32(-1.0))
                actions = np.where(explore, keys.argmax(axis=1), actions)
        value = legal_q.max(axis=1)
        if mask is not None:  # a row without a legal action: its plain max, as best_value
            value = np.where(mask.any(axis=1), value, q.max(axis=1))
        if self._zeros.shape[0] != q.shape[0]:
            self._zeros = np.zeros(q.shape[0], np.float32)
            self._zeros.flags.writeable = False  # shared between calls: the log-probabilities a value learner has not
        return actions.astype(np.int64, copy=False), self._zeros, value.astype(np.float32, copy=False), None


def numpy_q_actor(network: torch.nn.Module) -> NumpyQActor | None:
    """A numpy fast path for ``network``'s rollout step, or None where only torch's is exact."""
    layout = q_layout(network)
    return NumpyQActor(network, layout) if layout is not None and isinstance(network, QNetwork) else None
