"""The on-policy loss terms of :mod:`rlagent.losses` with their gradients, written out by hand, in numpy.

Why: on a small policy a PPO minibatch step is mostly per-operation overhead, not arithmetic.
The loss terms are some 45 operations on vectors of a few hundred numbers: as torch operators
(with or without autograd) they cost 5-7 us each on one CPU thread, as numpy operations about 1.
Each function here returns the same value as its counterpart in :mod:`rlagent.losses` and the
gradient of that value with respect to the network's outputs (the logits and the value head's
raw output); :mod:`rlagent.fast.mlp_backprop` carries those gradients back through the network.
Where autograd's rules pick a side at a tie (``torch.minimum``/``maximum`` split the gradient in
half, ``clamp`` passes it at its bounds), these do the same, so the gradients agree with
autograd's to float rounding; ``tests/test_analytic_gradient.py`` checks every term against
autograd on random batches.

Arrays are float32, values are Python floats. Every loss is a mean over the batch, so each
gradient carries a factor ``1 / B``.
"""

from __future__ import annotations

import numpy as np

from rlagent.losses import VALUE_LOSSES

_FLOAT32_MIN = np.finfo(np.float32).min


def normalize(advantages: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """:func:`rlagent.losses.normalize`: ``(A - mean) / (std + eps)`` with the unbiased std."""
    centred = advantages - advantages.mean()
    if advantages.size < 2:
        return centred
    return centred / (advantages.std(ddof=1) + np.float32(eps))


def clipped_surrogate_grad(
    log_probs: np.ndarray, old_log_probs: np.ndarray, advantages: np.ndarray, clip_param: float | None
) -> tuple[float, float, float, np.ndarray]:
    """:func:`rlagent.losses.clipped_surrogate` and d(loss)/d(log_probs): (loss, approx_kl, clip_fraction, grad).

    The clipped objective ``min(r A, clip(r) A)`` passes gradient ``A r`` (through ``r = exp(log_ratio)``)
    where the ratio is inside the clip range, or outside it where the unclipped term is the smaller
    one; elsewhere none.
    """
    log_ratio = log_probs - old_log_probs
    ratio = np.exp(log_ratio)
    surrogate = ratio * advantages
    scale = np.float32(-1.0 / max(surrogate.size, 1))
    if clip_param is None:
        loss = -float(surrogate.mean())
        clip_fraction = 0.0
        grad = surrogate * scale
    else:
        low, high = np.float32(1.0 - clip_param), np.float32(1.0 + clip_param)
        clipped = np.clip(ratio, low, high) * advantages
        loss = -float(np.minimum(surrogate, clipped).mean())
        clip_fraction = float((np.abs(ratio - 1.0) > clip_param).mean())
        # Inside the range [low, high] (bounds included, like clamp's backward) or unclipped smaller.
        passes = ((ratio >= low) & (ratio <= high)) | (surrogate < clipped)
        grad = np.where(passes, surrogate * scale, np.float32(0.0))
    approx_kl = float(((ratio - 1.0) - log_ratio).mean())
    return loss, approx_kl, clip_fraction, grad


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _error_grad(raw: np.ndarray, returns: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample error of :func:`rlagent.losses._value_error` and its derivative in ``raw``."""
    if kind == "bce":  # binary_cross_entropy_with_logits(2 raw, (G + 1) / 2)
        target = np.clip((returns + 1.0) * 0.5, 0.0, 1.0)
        logits = raw * 2.0
        error = np.maximum(logits, 0.0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
        return error, (_sigmoid(logits) - target) * 2.0
    error = raw - returns
    squared = np.square(error)
    if kind == "mse":
        return squared, error * 2.0
    if kind == "huber":  # smooth L1 with beta 1
        return np.where(np.abs(error) < 1.0, squared * 0.5, np.abs(error) - 0.5), np.clip(error, -1.0, 1.0)
    return squared + squared * squared * 0.25, error * (squared + 2.0)  # d/de (e^2 + e^4 / 4) = 2e + e^3


def value_loss_grad(
    raw: np.ndarray, returns: np.ndarray, kind: str = "mse", old_values: np.ndarray | None = None, clip: float | None = None
) -> tuple[float, np.ndarray]:
    """:func:`rlagent.losses.value_loss` and its gradient in ``raw``: (loss, grad)."""
    if kind not in VALUE_LOSSES:
        raise ValueError(f"value loss must be one of {VALUE_LOSSES}, got {kind!r}")
    scale = np.float32(1.0 / max(raw.size, 1))
    error, grad = _error_grad(raw, returns, kind)
    if clip is None or old_values is None:
        return float(error.mean()), grad * scale
    old_raw = np.arctanh(np.clip(old_values, -0.999999, 0.999999)) if kind == "bce" else old_values
    step = raw - old_raw
    clipped_error, clipped_grad = _error_grad(old_raw + np.clip(step, -clip, clip), returns, kind)
    clipped_grad = np.where(np.abs(step) <= clip, clipped_grad, np.float32(0.0))  # clamp passes only inside
    # max(unclipped, clipped): the gradient of the larger, half of each at a tie (torch.maximum's rule).
    tie = (grad + clipped_grad) * 0.5
    grad = np.where(error > clipped_error, grad, np.where(error < clipped_error, clipped_grad, tie))
    return float(np.maximum(error, clipped_error).mean()), grad * scale


class CategoricalTerms:
    """A masked categorical's log-probabilities of the taken actions and entropies, and the
    gradient of ``sum_i g_i log p(a_i) - entropy_weight * mean_i H_i`` in the raw logits.

    The values of :class:`rlagent.nets.distributions.Categorical`: illegal actions take the logit
    ``finfo(float32).min``, so they get probability exactly 0 and no gradient.
    """

    __slots__ = ("log_p", "p", "mask", "actions", "rows", "log_probs", "entropy")

    def __init__(self, logits: np.ndarray, mask: np.ndarray | None, actions: np.ndarray) -> None:
        if mask is not None:
            logits = np.where(mask, logits, _FLOAT32_MIN)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        self.log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        self.p = np.exp(self.log_p)
        self.mask = mask
        self.actions = actions.astype(np.int64, copy=False)
        self.rows = np.arange(len(self.actions))
        self.log_probs = self.log_p[self.rows, self.actions]
        p_log_p = self.p * self.log_p
        if mask is not None:
            p_log_p = np.where(mask, p_log_p, np.float32(0.0))
        self.entropy = -p_log_p.sum(axis=-1)

    def logits_grad(self, grad_log_prob: np.ndarray, entropy_weight: float) -> np.ndarray:
        # d log p(a) / d logits = onehot(a) - p ;  d H / d logits = -p (log p + H)
        grad = self.p * -grad_log_prob[:, None]
        grad[self.rows, self.actions] += grad_log_prob
        if entropy_weight:
            scale = np.float32(entropy_weight / max(self.entropy.size, 1))
            grad += self.p * (self.log_p + self.entropy[:, None]) * scale
        if self.mask is not None:
            grad = np.where(self.mask, grad, np.float32(0.0))
        return grad
