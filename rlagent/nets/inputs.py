"""From what an env returns to what a network reads: the input tensor and the legal-action mask.

A ``Box`` observation is the input. In a ``Dict`` observation the key ``action_mask`` is the
legal-action mask (Gymnasium/PettingZoo convention), never an input feature; the other keys are the
input: a single one is used as it is (so Hex's ``observation`` planes stay (C, H, W) for a board
encoder), several are flattened and concatenated (in sorted key order) for an MLP.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlagent.errors import ConfigError

MASK_KEY = "action_mask"


def as_tensor(value: Any, device: torch.device) -> Tensor:
    """Zero-copy for numpy arrays on the CPU (``torch.from_numpy``); no-op for tensors already there."""
    if isinstance(value, Tensor):
        return value if value.device == device else value.to(device)
    array = np.asarray(value)
    if not array.flags.writeable:
        array = array.copy()
    tensor = torch.from_numpy(array)
    return tensor if device.type == "cpu" else tensor.to(device)


def as_flags(value: Any, device: torch.device) -> Tensor:
    """Episode-start flags (numpy or tensor, any numeric dtype) as a bool tensor."""
    flags = as_tensor(value, device)
    return flags if flags.dtype == torch.bool else flags != 0


class ObservationAdapter:
    """Splits a batch of observations of one space into (input (N, *input_shape), mask (N, A) or None).

    Any number of leading batch dimensions is accepted and flattened into N, which is how
    ``forward_sequence`` reads (T, B, ...) rollouts.
    """

    def __init__(self, space: spaces.Space) -> None:
        self.mask_size: int | None = None
        if isinstance(space, spaces.Box):
            self.keys: tuple[str, ...] | None = None
            self.event_shapes: tuple[tuple[int, ...], ...] = (tuple(space.shape),)
        elif isinstance(space, spaces.Dict):
            if MASK_KEY in space.spaces:
                mask_space = space.spaces[MASK_KEY]
                if not isinstance(mask_space, spaces.Box) or len(mask_space.shape) != 1:
                    raise ConfigError(f"observation key {MASK_KEY!r} must be a 1-D Box of 0/1 flags, got {mask_space}")
                self.mask_size = int(mask_space.shape[0])
            self.keys = tuple(sorted(k for k in space.spaces if k != MASK_KEY))
            if not self.keys:
                raise ConfigError(f"the Dict observation space has no input besides {MASK_KEY!r}")
            shapes = []
            for key in self.keys:
                entry = space.spaces[key]
                if not isinstance(entry, spaces.Box):
                    raise ConfigError(
                        f"observation key {key!r} is a {type(entry).__name__}; only Box entries are supported (one-hot or flatten it with a Gymnasium wrapper)"
                    )
                shapes.append(tuple(entry.shape))
            self.event_shapes = tuple(shapes)
        else:
            raise ConfigError(
                f"unsupported observation space {type(space).__name__}: use a Box or a Dict of Boxes "
                "(wrap Discrete or Tuple observations, e.g. with gymnasium.wrappers.FlattenObservation)"
            )
        if len(self.event_shapes) == 1:
            self.input_shape: tuple[int, ...] = self.event_shapes[0]
        else:
            self.input_shape = (sum(math.prod(s) for s in self.event_shapes),)

    @property
    def is_board(self) -> bool:
        """Planes (C, H, W) that a board encoder can read."""
        return len(self.input_shape) == 3

    @property
    def flat_dim(self) -> int:
        return math.prod(self.input_shape)

    def leading_shape(self, obs: Any) -> tuple[int, ...]:
        """The batch dimensions of ``obs`` (an array, a tensor, or a dict of them), e.g. (T, B) for a rollout."""
        first = obs if self.keys is None else obs[self.keys[0]]
        return tuple(first.shape[: len(first.shape) - len(self.event_shapes[0])])

    def split(self, obs: Any, device: torch.device, flat: bool = False) -> tuple[Tensor, Tensor | None]:
        """The float32 input, shaped (N, *input_shape) or (N, flat_dim) when ``flat``, and the bool mask."""
        shape = (self.flat_dim,) if flat else self.input_shape
        if self.keys is None:
            return _batch(_float(as_tensor(obs, device)), shape), None
        if len(self.keys) == 1:
            x = _batch(_float(as_tensor(obs[self.keys[0]], device)), shape)
        else:
            x = torch.cat(
                [_float(as_tensor(obs[k], device)).reshape(-1, math.prod(s)) for k, s in zip(self.keys, self.event_shapes)],
                dim=1,
            )
        mask = None
        if self.mask_size is not None and MASK_KEY in obs:
            mask = _batch(as_flags(obs[MASK_KEY], device), (self.mask_size,))
        return x, mask


def _batch(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """(..., *event) -> (N, *shape); already-shaped batches pass untouched (the common case)."""
    if x.dim() == len(shape) + 1 and x.shape[1:] == shape:
        return x
    return x.reshape(-1, *shape)


def _float(x: Tensor) -> Tensor:
    return x if x.dtype == torch.float32 else x.float()
