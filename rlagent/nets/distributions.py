"""Light action distributions for the rollout's hot path.

``torch.distributions`` validates its arguments, broadcasts shapes and builds lazy properties each
time a distribution is made; at rollout batch sizes (a handful of observations per step) that
bookkeeping is more than half of a policy call. These classes do only the arithmetic a
policy-gradient method needs (sample, log_prob, entropy, mode), in a few tensor operations each.

All of them work on any batch shape ``(..., )`` and under ``torch.inference_mode``; sampling takes an
explicit ``torch.Generator`` so that a run is reproducible from its seed.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _noise(like: Tensor, generator: torch.Generator | None, kind: str) -> Tensor:
    """Exp(1), N(0, 1) or U[0, 1) noise (``kind``: exponential, normal, uniform) shaped like ``like``,
    drawn from ``generator`` on the generator's own device, so a run seeded with one CPU generator
    samples the same actions with a policy on a GPU."""
    if generator is None or generator.device == like.device:
        out = torch.empty_like(like)
    else:
        out = torch.empty(like.shape, dtype=like.dtype, device=generator.device)
    if kind == "exponential":
        out = out.exponential_(generator=generator)
    elif kind == "uniform":
        out = out.uniform_(generator=generator)
    else:
        out = out.normal_(generator=generator)
    return out if out.device == like.device else out.to(like.device)


class Categorical:
    """A categorical distribution over the last dimension of ``logits``, with optional legal-action mask.

    Illegal actions get the logit ``finfo(dtype).min`` rather than ``-inf``: ``-inf`` turns into NaN
    in ``0 * log(0)`` (entropy) and in the gradients of ``log_softmax``, while a very negative
    finite logit gives probability exactly 0 and keeps every result finite.

    ``logits`` holds the normalised log-probabilities (as in ``torch.distributions``). ``mask`` is a
    bool tensor, True where an action is legal. A row with no legal action at all (the final
    observation of a finished game) stays finite: uniform log-probabilities, entropy 0, and action 0
    from ``sample`` and ``mode``; it is only good for its value, never for acting.
    """

    __slots__ = ("logits", "mask", "_probs")

    def __init__(self, logits: Tensor, mask: Tensor | None = None) -> None:
        if mask is not None:
            if mask.dtype != torch.bool:
                mask = mask != 0
            logits = torch.where(mask, logits, torch.finfo(logits.dtype).min)
        self.logits = torch.log_softmax(logits, dim=-1)
        self.mask = mask
        self._probs: Tensor | None = None

    @property
    def probs(self) -> Tensor:
        if self._probs is None:
            self._probs = self.logits.exp()
        return self._probs

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """Gumbel-max: ``argmax(log p - log E)`` with ``E ~ Exp(1)``, which is ``torch.multinomial``'s
        own one-sample algorithm without its input checks. The mask is applied to the scores too, so
        an illegal action cannot win even if the noise were degenerate (``E == 0``)."""
        scores = self.logits - _noise(self.logits, generator, "exponential").log_()
        if self.mask is not None:
            scores = torch.where(self.mask, scores, -torch.inf)
        return scores.argmax(dim=-1)

    def log_prob(self, actions: Tensor) -> Tensor:
        if actions.dtype != torch.int64:
            actions = actions.long()
        return self.logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> Tensor:
        """``-sum p log p`` over legal actions; illegal ones contribute exactly 0 to value and gradient."""
        logits = self.logits.clamp(min=torch.finfo(self.logits.dtype).min)
        p_log_p = self.probs * logits
        if self.mask is not None:
            p_log_p = torch.where(self.mask, p_log_p, 0.0)
        return -p_log_p.sum(dim=-1)

    def mode(self) -> Tensor:
        return self.logits.argmax(dim=-1)


class MultiCategorical:
    """Independent categoricals for a ``MultiDiscrete`` action: one per entry of ``nvec``.

    ``logits`` (..., sum(nvec)) are split per dimension, and so is a flat ``mask`` of the same width.
    Actions have shape (..., len(nvec)); log-probabilities and entropies are summed over dimensions
    because the joint action's probability is the product of the parts.
    """

    __slots__ = ("dists",)

    def __init__(self, logits: Tensor, nvec: Sequence[int], mask: Tensor | None = None) -> None:
        sizes = [int(n) for n in nvec]
        parts = torch.split(logits, sizes, dim=-1)
        masks = torch.split(mask, sizes, dim=-1) if mask is not None else (None,) * len(sizes)
        self.dists = [Categorical(part, part_mask) for part, part_mask in zip(parts, masks)]

    @property
    def logits(self) -> Tensor:
        return torch.cat([d.logits for d in self.dists], dim=-1)

    @property
    def probs(self) -> Tensor:
        return torch.cat([d.probs for d in self.dists], dim=-1)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        return torch.stack([d.sample(generator) for d in self.dists], dim=-1)

    def log_prob(self, actions: Tensor) -> Tensor:
        return torch.stack([d.log_prob(actions[..., i]) for i, d in enumerate(self.dists)], dim=-1).sum(dim=-1)

    def entropy(self) -> Tensor:
        return torch.stack([d.entropy() for d in self.dists], dim=-1).sum(dim=-1)

    def mode(self) -> Tensor:
        return torch.stack([d.mode() for d in self.dists], dim=-1)


class Bernoulli:
    """Independent bits for a ``MultiBinary(n)`` action: one logit per bit, ``logits`` (..., n).

    Actions are int64 (..., n) of 0/1, the dtype every discrete action has in the rollout's buffers;
    ``log_prob`` accepts any numeric dtype. Log-probabilities and entropies are summed over the bits
    because the joint action's probability is the product of the bits'. Everything is computed from
    the logits with ``softplus`` (``log(1 + e^x)``, stable for any x), never from ``log(sigmoid)``,
    which underflows to ``-inf`` for a confident bit and turns its gradient into NaN.
    """

    __slots__ = ("logits",)

    def __init__(self, logits: Tensor) -> None:
        self.logits = logits

    @property
    def probs(self) -> Tensor:
        """P(bit = 1), (..., n)."""
        return torch.sigmoid(self.logits)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        """``U < sigmoid(logit)`` with ``U ~ U[0, 1)``: one uniform draw per bit from ``generator``."""
        return (_noise(self.logits, generator, "uniform") < self.probs).long()

    def log_prob(self, actions: Tensor) -> Tensor:
        """``sum_i a_i x_i - softplus(x_i)``: log sigmoid(x) for a 1, log sigmoid(-x) for a 0."""
        bits = actions.to(self.logits.dtype)
        return (bits * self.logits - F.softplus(self.logits)).sum(dim=-1)

    def entropy(self) -> Tensor:
        """Per bit ``softplus(-|x|) + |x| sigmoid(-|x|)``: the entropy is even in x, and this form
        adds two non-negative terms, so it does not cancel to a wrong value for a large |x|."""
        magnitude = self.logits.abs()
        return (F.softplus(-magnitude) + magnitude * torch.sigmoid(-magnitude)).sum(dim=-1)

    def mode(self) -> Tensor:
        """Each bit's likelier value (0 on a tie)."""
        return (self.logits > 0).long()


class DiagGaussian:
    """A Gaussian with diagonal covariance for ``Box`` actions (..., D).

    ``log_std`` may be a state-independent parameter of shape (D,); it is broadcast to the mean.
    Samples are not clipped to the action bounds: the env wrapper clips what it executes, while the
    learner keeps the unclipped sample so that its log-probability stays exact.
    """

    __slots__ = ("mean", "log_std")

    def __init__(self, mean: Tensor, log_std: Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)

    @property
    def std(self) -> Tensor:
        return self.log_std.exp()

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        return self.mean + _noise(self.mean, generator, "normal") * self.std

    def log_prob(self, actions: Tensor) -> Tensor:
        z = (actions - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z * z - self.log_std - _HALF_LOG_2PI).sum(dim=-1)

    def entropy(self) -> Tensor:
        return (self.log_std + (0.5 + _HALF_LOG_2PI)).sum(dim=-1)

    def mode(self) -> Tensor:
        return self.mean


Distribution = Categorical | MultiCategorical | Bernoulli | DiagGaussian
