"""Loss terms shared by the on-policy learners, each a plain function of tensors.

Every term is a mean over the valid samples of the batch, never a sum: a sum would scale with
the rollout or episode length and change which actor/critic weighting is right.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

VALUE_LOSSES = ("mse", "huber", "bce", "quartic")
# The terms and diagnostics a policy-gradient minibatch loss reports (PPO averages them per update).
LOSS_TERMS = ("pg", "value", "entropy", "kl", "clip")


def on_return_scale(values: np.ndarray, kind: str) -> np.ndarray:
    """Value-head outputs on the scale of the returns: ``tanh`` for a ``bce`` head (whose raw
    output is half the win-probability logit), unchanged otherwise. The collector stores the raw
    outputs; every learner and monitor that reads values on the returns' scale applies this."""
    return np.tanh(values) if kind == "bce" else values


def normalize(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit std: ``(A - mean) / (std + eps)``, parenthesised (the classic bug writes
    ``A - A.mean() / (A.std() + eps)``, which normalises nothing). A single sample is only centred."""
    if advantages.numel() < 2:
        return advantages - advantages.mean()
    return (advantages - advantages.mean()) / (advantages.std() + eps)


def clipped_surrogate(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, clip_param: float | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's policy loss; with ``clip_param=None`` the plain policy gradient ``-ratio * A``, whose
    gradient at ratio 1 is ``-A * grad log pi`` (A2C). Returns (loss, approx_kl, clip_fraction).

    ``approx_kl`` is the k3 estimator ``E[(r - 1) - log r]`` of KL(old || new): unbiased and never
    negative, so it can be compared with a target.
    """
    log_ratio = log_probs - old_log_probs
    ratio = log_ratio.exp()
    surrogate = ratio * advantages
    if clip_param is None:
        loss = -surrogate.mean()
        clip_fraction = torch.zeros((), device=ratio.device)
    else:
        clipped = ratio.clamp(1.0 - clip_param, 1.0 + clip_param) * advantages
        loss = -torch.min(surrogate, clipped).mean()
    with torch.no_grad():  # diagnostics: kept out of the autograd graph
        if clip_param is not None:
            clip_fraction = ((ratio - 1.0).abs() > clip_param).float().mean()
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
    return loss, approx_kl, clip_fraction


def value_loss(
    raw: torch.Tensor,
    returns: torch.Tensor,
    kind: str = "mse",
    old_values: torch.Tensor | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    """The critic's loss for head outputs ``raw`` against ``returns``.

    ``mse``: mean squared error. ``huber``: smooth L1 (robust to rare huge returns). ``quartic``:
    mse + 0.25 * mean(err^4), penalising confident wrong values much more than small errors.
    ``bce``: binary cross-entropy of the win probability against ``(G + 1) / 2`` (returns in
    [-1, 1], e.g. +1 win / -1 loss). ``clip`` (PPO value clipping) keeps the worse of the
    unclipped and the clipped prediction, around the rollout's ``old_values``.
    """
    if kind not in VALUE_LOSSES:
        raise ValueError(f"value loss must be one of {VALUE_LOSSES}, got {kind!r}")
    predictions = [raw]
    if clip is not None and old_values is not None:
        # Clip on the head's own scale: for bce that is the logit, atanh of the stored value.
        old_raw = torch.atanh(old_values.clamp(-0.999999, 0.999999)) if kind == "bce" else old_values
        predictions.append(old_raw + (raw - old_raw).clamp(-clip, clip))
    per_sample = [_value_error(prediction, returns, kind) for prediction in predictions]
    losses = per_sample[0] if len(per_sample) == 1 else torch.max(per_sample[0], per_sample[1])
    return losses.mean()


def _value_error(raw: torch.Tensor, returns: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "bce":
        target = ((returns + 1.0) * 0.5).clamp(0.0, 1.0)
        return F.binary_cross_entropy_with_logits(2.0 * raw, target, reduction="none")
    error = raw - returns
    if kind == "mse":
        return error.pow(2)
    if kind == "huber":
        return F.smooth_l1_loss(raw, returns, reduction="none")
    return error.pow(2) + 0.25 * error.pow(4)
