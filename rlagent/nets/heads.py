"""Heads: features -> action distribution (policy) or scalar (value).

Each policy head builds its distribution with the legal-action mask, so a mask given with the
observation is honoured by sampling, log-probabilities, entropy and the mode alike. ``output_layers``
names the final layers that get the small initialisation that makes the first policy near-uniform.

Linear layers are applied with ``F.linear`` on their parameters: at rollout batch sizes the
``nn.Module.__call__`` machinery costs about as much as the product itself. A layer with hooks goes
through its ``__call__``, so the hooks fire.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlagent.fast.hooks import module_hooked
from rlagent.nets.distributions import Bernoulli, Categorical, DiagGaussian, MultiCategorical


def _apply(layer: nn.Linear | nn.Conv2d, x: Tensor, conv: bool = False) -> Tensor:
    """``layer(x)`` without the module call's overhead, unless the layer is hooked (then its hooks fire)."""
    if module_hooked(layer):
        return layer(x)
    return F.conv2d(x, layer.weight, layer.bias) if conv else F.linear(x, layer.weight, layer.bias)


class CategoricalHead(nn.Module):
    """Linear logits for a ``Discrete`` action space."""

    def __init__(self, in_dim: int, num_actions: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, num_actions)

    def forward(self, features: Tensor, mask: Tensor | None = None) -> Categorical:
        return Categorical(_apply(self.linear, features), mask)

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.linear]


class BoardPolicyHead(nn.Module):
    """One logit per cell (or per column) from a 1x1 convolution, plus a linear for moves that are not cells.

    Sharing the 1x1 weights over cells gives a policy that is translation-equivariant like the
    trunk, with few parameters. The extra actions (e.g. Hex's swap, action H * W) depend on the
    whole board, so they read the flattened feature map. Logits are ordered ``r * W + c`` then the
    extra actions, matching the env's action indices.

    ``columns``: one action per column (a drop game such as Connect Four, ``W`` actions): a
    column's logit is the sum of its cells' 1x1 outputs. The move lands on a cell whose row depends
    on the position, which a flat linear over the whole map must learn anew for every (row,
    column); summing shared per-cell scores lets the trunk mark the landing cell and what it knows
    about one column hold for all of them (Connect Four's threats beat ``mcts200`` only this way).
    """

    def __init__(self, channels: int, height: int, width: int, num_actions: int, columns: bool = False) -> None:
        super().__init__()
        self.columns = columns
        extra = 0 if columns else num_actions - height * width
        if columns and num_actions != width:
            raise ValueError(f"a column head has one action per column ({width}), got {num_actions}")
        if extra < 0:
            raise ValueError(f"a board head needs at least {height * width} actions, got {num_actions}")
        self.cells = nn.Conv2d(channels, 1, kernel_size=1)
        self.extra = nn.Linear(channels * height * width, extra) if extra else None
        self.num_actions = num_actions

    def forward(self, feature_map: Tensor, mask: Tensor | None = None) -> Categorical:
        per_cell = _apply(self.cells, feature_map, conv=True)  # (B, 1, H, W)
        if self.columns:
            return Categorical(per_cell.sum(dim=2).flatten(1), mask)
        logits = per_cell.flatten(1)
        if self.extra is not None:
            extra = _apply(self.extra, feature_map.flatten(1))
            logits = torch.cat([logits, extra], dim=1)
        return Categorical(logits, mask)

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.cells] if self.extra is None else [self.cells, self.extra]


class MultiCategoricalHead(nn.Module):
    """Linear logits for a ``MultiDiscrete`` action space, split per dimension."""

    def __init__(self, in_dim: int, nvec: Sequence[int]) -> None:
        super().__init__()
        self.nvec = tuple(int(n) for n in nvec)
        self.linear = nn.Linear(in_dim, sum(self.nvec))

    def forward(self, features: Tensor, mask: Tensor | None = None) -> MultiCategorical:
        return MultiCategorical(_apply(self.linear, features), self.nvec, mask)

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.linear]


class BernoulliHead(nn.Module):
    """Linear logits, one per bit, for a ``MultiBinary(n)`` action space.

    Every combination of bits is a legal action, so there is nothing to mask; the mask argument
    exists for a uniform head interface and must be None (a mask per bit would need its own
    meaning: forcing a bit to 0, or to 1).
    """

    def __init__(self, in_dim: int, num_bits: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, num_bits)

    def forward(self, features: Tensor, mask: Tensor | None = None) -> Bernoulli:
        if mask is not None:
            raise ValueError("MultiBinary actions cannot be masked")
        return Bernoulli(_apply(self.linear, features))

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.linear]


class GaussianHead(nn.Module):
    """Linear mean and a state-independent learned log-std (init 0, i.e. std 1) for ``Box`` actions.

    A state-independent std is the usual choice for PPO (SB3, CleanRL): a state-dependent one tends
    to collapse early. The mask argument exists for a uniform head interface and must be None.
    """

    def __init__(self, in_dim: int, action_dim: int, log_std_init: float = 0.0) -> None:
        super().__init__()
        self.mean = nn.Linear(in_dim, action_dim)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def forward(self, features: Tensor, mask: Tensor | None = None) -> DiagGaussian:
        if mask is not None:
            raise ValueError("continuous (Box) actions cannot be masked")
        return DiagGaussian(_apply(self.mean, features), self.log_std)

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.mean]


class ValueHead(nn.Module):
    """Linear state value from (possibly spatial) features: (B, ...) -> (B,).

    The value is the raw output; a consumer that wants it on the returns' scale applies
    :func:`rlagent.losses.on_return_scale` (``tanh`` for a ``bce`` head), the one place that rule is written.
    """

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, 1)

    def forward(self, features: Tensor) -> Tensor:
        if features.dim() > 2:
            features = features.flatten(1)
        return _apply(self.linear, features).squeeze(-1)

    def output_layers(self) -> list[nn.Linear | nn.Conv2d]:
        return [self.linear]


PolicyHead = CategoricalHead | BoardPolicyHead | MultiCategoricalHead | BernoulliHead | GaussianHead
