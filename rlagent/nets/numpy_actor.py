"""The rollout's per-step policy call in numpy, for small feed-forward MLP policies.

At rollout batch sizes (a handful of observations per step) a torch forward pass is almost all
dispatch overhead: about 20 tensor operations of a few microseconds each, where the arithmetic
itself is a fraction of one. The same forward in numpy on the parameters' own memory costs a
fraction of that, and the collector calls it once per env step. The update still runs in torch
(it needs autograd); the log-probabilities stored here differ from torch's by float rounding
only (~1e-7), so the first PPO ratio is 1 to that precision.

Only what this fast path implements exactly is taken: MLP trunks without a recurrent core, a
``Discrete`` action head (with an optional legal-action mask) and a linear value head, on CPU.
Anything else (board networks, GRU cores, Box or MultiDiscrete actions, a GPU) keeps torch's
``ActorCritic.act``: :func:`numpy_actor` returns None for it.
"""

from __future__ import annotations

import numpy as np
import torch

from rlagent.nets.encoders import ACTIVATIONS, MLPEncoder
from rlagent.nets.heads import CategoricalHead
from rlagent.nets.inputs import MASK_KEY

_NUMPY_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0, out=x)}
_FLOAT32_MIN = np.finfo(np.float32).min


def _activation_name(encoder: MLPEncoder) -> str | None:
    for name, function in ACTIVATIONS.items():
        if encoder.activation is function:
            return name
    return None


def _layers(encoder: MLPEncoder) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W^T, b) numpy views of the encoder's layers: the memory the optimiser updates in place."""
    return [(layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in encoder.layers]


class NumpyActor:
    """``act(obs, rng) -> (actions, log_probs, values)`` for a policy :func:`numpy_actor` accepted."""

    def __init__(self, policy: torch.nn.Module) -> None:
        self.policy = policy
        self.keys = policy.inputs.keys
        self.has_mask = policy.inputs.mask_size is not None
        self.activation = _NUMPY_ACTIVATIONS[_activation_name(policy.actor.encoder)]
        self.critic_activation = (
            None if policy.critic is None else _NUMPY_ACTIVATIONS[_activation_name(policy.critic.encoder)]
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-read the parameter views (cheap), in case a parameter's storage was replaced."""
        policy = self.policy
        self.actor_layers = _layers(policy.actor.encoder)
        self.critic_layers = None if policy.critic is None else _layers(policy.critic.encoder)
        head = policy.policy_head.linear
        self.head = (head.weight.detach().numpy().T, head.bias.detach().numpy())
        value = policy.value_head.linear
        self.value = (value.weight.detach().numpy()[0], float(value.bias.detach().numpy()[0]))

    def _input(self, obs: object) -> tuple[np.ndarray, np.ndarray | None]:
        if self.keys is None:
            x = np.asarray(obs, dtype=np.float32)
            return x.reshape(x.shape[0], -1), None
        parts = [np.asarray(obs[k], dtype=np.float32) for k in self.keys]
        x = parts[0].reshape(parts[0].shape[0], -1) if len(parts) == 1 else np.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=1)
        mask = np.asarray(obs[MASK_KEY]) != 0 if self.has_mask and MASK_KEY in obs else None
        return x, mask

    @staticmethod
    def _trunk(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]], activation) -> np.ndarray:
        for weight_t, bias in layers:
            x = activation(x @ weight_t + bias)
        return x

    def act(self, obs: object, rng: np.random.Generator, deterministic: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, mask = self._input(obs)
        features = self._trunk(x, self.actor_layers, self.activation)
        logits = features @ self.head[0] + self.head[1]
        if mask is not None:
            logits = np.where(mask, logits, _FLOAT32_MIN)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if deterministic:
            scores = log_probs
        else:  # Gumbel-max with Exp(1) noise, as the torch Categorical samples
            scores = log_probs - np.log(rng.standard_exponential(log_probs.shape, dtype=np.float32))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        actions = scores.argmax(axis=1)
        chosen = np.take_along_axis(log_probs, actions[:, None], axis=1)[:, 0]
        critic = features if self.critic_layers is None else self._trunk(x, self.critic_layers, self.critic_activation)
        values = critic @ self.value[0] + self.value[1]
        return actions.astype(np.int64), chosen.astype(np.float32), values.astype(np.float32)


def numpy_actor(policy: torch.nn.Module) -> NumpyActor | None:
    """A numpy fast path for ``policy``'s rollout step, or None where only torch's is exact."""
    from rlagent.nets.policy import ActorCritic

    if not isinstance(policy, ActorCritic) or policy.device.type != "cpu" or policy.is_recurrent:
        return None
    if not isinstance(policy.policy_head, CategoricalHead):
        return None
    for trunk in (policy.actor, policy.critic):
        if trunk is None:
            continue
        if not isinstance(trunk.encoder, MLPEncoder) or trunk.core is not None or trunk.spatial:
            return None
        if _activation_name(trunk.encoder) not in _NUMPY_ACTIVATIONS:
            return None
    if any(p.dtype != torch.float32 for p in policy.parameters()):
        return None
    return NumpyActor(policy)
