"""The rollout's per-step policy call in numpy, for small feed-forward MLP policies.

At rollout batch sizes (a handful of observations per step) a torch forward pass is almost all
dispatch overhead: about 20 tensor operations of a few microseconds each, where the arithmetic
itself is a fraction of one. The same forward in numpy on the parameters' own memory costs a
fraction of that, and the collector calls it once per env step. The update still runs in torch
(it needs autograd); the log-probabilities stored here differ from torch's by float rounding
only (~1e-7), so the first PPO ratio is 1 to that precision.

Only what this fast path implements exactly is taken: MLP trunks without a recurrent core, a
``Discrete`` action head (with an optional legal-action mask) and a linear value head, on CPU.
Anything else (board networks, GRU cores, Box, MultiDiscrete or MultiBinary actions, a GPU) keeps
torch's ``ActorCritic.act``: :func:`numpy_actor` returns None for it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from rlagent.fast.hooks import any_hooks
from rlagent.fast.mlp_layout import MLPLayout, mlp_layout
from rlagent.nets.inputs import MASK_KEY
from rlagent.nets.policy import ActorCritic

_NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0, out=x)}
_FLOAT32_MIN = np.finfo(np.float32).min


def _layers(layers: tuple[torch.nn.Linear, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W^T, b) numpy views of the layers."""
    return [(layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in layers]


class NumpyActor:
    """``act(obs, state, episode_start, generator=...) -> (actions, log_probs, values, None)`` for a
    policy :func:`numpy_actor` accepted, as ``ActorCritic.act`` computes it.

    The actor and critic trunks run as ONE network: the first layers side by side, the deeper ones
    block-diagonal, and the policy and value heads as one final product whose last column is the
    value. At rollout batch sizes a product costs its call, not its arithmetic, so this halves the
    calls. The fused weights are copies: :meth:`refresh` rebuilds them (the collector calls it
    before every rollout, after the learner has changed the parameters).
    """

    def __init__(self, policy: ActorCritic, layout: MLPLayout) -> None:
        self.policy, self.layout = policy, layout
        self.keys = policy.inputs.keys
        self.has_mask = policy.inputs.mask_size is not None
        self.activation = _NUMPY_ACTIVATIONS[layout.activation]
        self._rows = np.arange(0)
        self._noise_buffer: torch.Tensor | None = None
        self._noise_view = np.zeros(0, np.float32)
        self.refresh()

    def _noise(self, shape: tuple[int, ...], generator: torch.Generator | None) -> np.ndarray:
        """Exp(1) noise from ``generator``, the draw torch's sampler makes for logits of this shape
        (``exponential_`` fills every element from the generator, whatever the buffer held), into a
        buffer kept between steps: an allocation per step cost more than the draw."""
        buffer = self._noise_buffer
        if buffer is None or self._noise_view.shape != shape:
            buffer = self._noise_buffer = torch.empty(shape, dtype=torch.float32)
            self._noise_view = buffer.numpy()  # shares the buffer's memory
        buffer.exponential_(generator=generator)
        return self._noise_view

    def applies(self) -> bool:
        """Whether this copy computes exactly what the policy's own ``act`` would: on the CPU and
        with no hooks that torch would run (the collector asks before every rollout and steps with
        the policy itself otherwise, so a hook registered mid-run fires)."""
        return self.policy.device.type == "cpu" and not any_hooks(self.policy, parameters=False)

    def refresh(self) -> None:
        """Rebuild the fused weights from the policy's current parameters."""
        layout = self.layout
        actor = _layers(layout.actor)
        critic = None if layout.critic is None else _layers(layout.critic)
        (head_w, head_b), (value_w, value_b) = _layers((layout.policy_head, layout.value_head))
        if critic is None or not actor:  # one trunk (or none) feeds both heads
            self.layers = [(w.copy(), b.copy()) for w, b in actor]
            self.output = (np.hstack([head_w, value_w]), np.concatenate([head_b, value_b]))
            return
        layers = [(np.hstack([actor[0][0], critic[0][0]]), np.concatenate([actor[0][1], critic[0][1]]))]
        for (wa, ba), (wc, bc) in zip(actor[1:], critic[1:]):
            layers.append((_block_diagonal(wa, wc), np.concatenate([ba, bc])))
        self.layers = layers
        self.output = (_block_diagonal(head_w, value_w), np.concatenate([head_b, value_b]))

    def _input(self, obs: Any) -> tuple[np.ndarray, np.ndarray | None]:
        return numpy_input(obs, self.keys, self.has_mask)

    def act(
        self, obs: Any, state: None = None, episode_start: object = None, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, None]:
        """``ActorCritic.act``'s contract (feed-forward: the state stays None). The sampling noise
        comes from ``generator`` exactly as the torch path draws it (Exp(1), one float32 per
        logit, in one call), so both paths sample the same actions from the same stream."""
        x, mask = self._input(obs)
        for weight_t, bias in self.layers:
            x = self.activation(x @ weight_t + bias)
        out = x @ self.output[0] + self.output[1]
        logits, values = out[:, :-1], out[:, -1]
        if mask is not None:
            logits = np.where(mask, logits, _FLOAT32_MIN)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if deterministic:
            scores = log_probs
        else:  # Gumbel-max with Exp(1) noise, as the torch Categorical samples
            scores = log_probs - np.log(self._noise(logits.shape, generator))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        actions = scores.argmax(axis=1)
        if len(self._rows) != len(actions):
            self._rows = np.arange(len(actions))
        return actions, log_probs[self._rows, actions].astype(np.float32), values.astype(np.float32), None


def numpy_input(obs: Any, keys: tuple[str, ...] | None, has_mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """A batch of observations as the flat float32 input (N, input_dim) and the bool legal-action
    mask (N, A) or None, as ``ObservationAdapter.split(..., flat=True)`` gives them in torch."""
    if keys is None:
        x = np.asarray(obs, dtype=np.float32)
        return x.reshape(x.shape[0], -1), None
    parts = [np.asarray(obs[k], dtype=np.float32) for k in keys]
    x = parts[0].reshape(parts[0].shape[0], -1) if len(parts) == 1 else np.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=1)
    mask = np.asarray(obs[MASK_KEY]) != 0 if has_mask and MASK_KEY in obs else None
    return x, mask


def _block_diagonal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0] + b.shape[0], a.shape[1] + b.shape[1]), dtype=a.dtype)
    out[: a.shape[0], : a.shape[1]] = a
    out[a.shape[0] :, a.shape[1] :] = b
    return out


def numpy_actor(policy: torch.nn.Module) -> NumpyActor | None:
    """A numpy fast path for ``policy``'s rollout step, or None where only torch's is exact."""
    layout = mlp_layout(policy)
    return NumpyActor(policy, layout) if layout is not None and isinstance(policy, ActorCritic) else None
