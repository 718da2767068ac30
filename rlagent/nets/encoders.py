"""Encoders: observation tensor -> feature vector.

``MLPEncoder`` for flat observations; ``BoardEncoder`` for (C, H, W) planes such as Hex boards. The
board encoder keeps the spatial resolution throughout (padding, no pooling, no strides) because the
board policy head maps each position to the move on that cell.

There is no BatchNorm anywhere: its batch statistics make a network behave differently in train
and eval mode, and normalising over a whole board (graph-level normalisation) has hurt learning in
board games. ``norm="layer"`` normalises each position over its channels only.
"""

from __future__ import annotations

from typing import Callable, Iterable, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlagent.fast.activations import tanh
from rlagent.fast.hooks import module_hooked

# The MLP activations by name. "tanh" is torch.tanh's function and gradient, cheaper on large
# forward-only CPU batches (rlagent.fast.activations says where and why only there).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"tanh": tanh, "relu": torch.relu}
BOARD_KINDS = ("resnet", "cnn")
NORMS = ("none", "layer")


class MLPEncoder(nn.Module):
    """Fully connected layers with an activation after each; no layers means the identity.

    The layers are applied with ``F.linear`` rather than through ``nn.Linear.__call__``: the module
    call costs about as much as the matrix product at rollout batch sizes. A layer with hooks (or
    any global module hook) goes through its ``__call__``, so hooks on the inner ``nn.Linear``
    modules fire as users expect.
    """

    def __init__(self, input_dim: int, hidden_sizes: tuple[int, ...] = (64, 64), activation: str = "tanh") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        sizes = [input_dim, *hidden_sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = ACTIVATIONS[activation]
        self.input_dim = input_dim
        self.output_dim = sizes[-1]

    def linears(self) -> tuple[nn.Linear, ...]:
        """The layers, typed (an ``nn.ModuleList`` yields plain modules)."""
        return tuple(cast("Iterable[nn.Linear]", self.layers))

    def forward(self, x: Tensor) -> Tensor:
        for layer in cast("Iterable[nn.Linear]", self.layers):
            x = self.activation(layer(x) if module_hooked(layer) else F.linear(x, layer.weight, layer.bias))
        return x


class HexConv2d(nn.Conv2d):
    """A 3x3 convolution that sees only a cell and its six hex neighbours.

    On a Hex board stored as an n x n array, (r-1, c-1) and (r+1, c+1) are not neighbours of (r, c),
    so their kernel taps (the top-left and bottom-right corners) are multiplied by a fixed zero
    mask at every forward: they neither contribute nor receive gradient. The neighbour set is
    symmetric under transposition, so the same kernel fits both players' (transposed) views.
    """

    tap_mask: Tensor  # a buffer: (3, 3) of 1, 0 at the two taps that are not neighbours

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1)
        mask = torch.ones(3, 3)
        mask[0, 0] = 0.0
        mask[2, 2] = 0.0
        self.register_buffer("tap_mask", mask, persistent=False)
        self.mask_weight_()

    def mask_weight_(self) -> None:
        """Zero the stored corner taps too (after any re-initialisation), so saved weights read true."""
        with torch.no_grad():
            self.weight.mul_(self.tap_mask)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.tap_mask, self.bias, padding=1)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each board position separately (never across positions)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


def _conv3x3(in_channels: int, out_channels: int, hex_kernel: bool) -> nn.Conv2d:
    return HexConv2d(in_channels, out_channels) if hex_kernel else nn.Conv2d(in_channels, out_channels, 3, padding=1)


def _norm(channels: int, norm: str) -> nn.Module:
    return ChannelLayerNorm(channels) if norm == "layer" else nn.Identity()


class ConvBlock(nn.Module):
    """conv -> norm -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, hex_kernel: bool) -> None:
        super().__init__()
        self.conv = _conv3x3(in_channels, out_channels, hex_kernel)
        self.norm = _norm(out_channels, norm)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.norm(self.conv(x)))


class ResidualBlock(nn.Module):
    """The AlphaZero block without BatchNorm: relu(x + norm(conv(relu(norm(conv(x))))))."""

    def __init__(self, channels: int, norm: str, hex_kernel: bool) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels, hex_kernel)
        self.norm1 = _norm(channels, norm)
        self.conv2 = _conv3x3(channels, channels, hex_kernel)
        self.norm2 = _norm(channels, norm)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(x + self.norm2(self.conv2(y)))


class BoardEncoder(nn.Module):
    """(B, C, H, W) planes -> features, at full board resolution.

    A stem ``ConvBlock`` to ``channels``, then ``blocks`` residual blocks (``kind="resnet"``, two
    convolutions each) or ``blocks`` plain ``ConvBlock`` layers (``kind="cnn"``). ``forward`` returns
    the flattened features (B, channels * H * W), position-major within each channel;
    ``feature_map`` returns them as (B, channels, H, W) for heads that work per cell. Convolutions
    use ReLU whatever the MLP activation is: tanh saturates in deep convolutional stacks.

    ``edge_plane``: a constant plane of ones joins the input (AlphaZero's trick). The convolutions
    pad with zeros, which otherwise read exactly like empty cells, so the first layer cannot tell
    the board's edge (Connect Four's floor, on which a stone lands) from an empty row beyond it.
    """

    def __init__(
        self,
        in_channels: int,
        size: int | tuple[int, int],
        channels: int = 64,
        blocks: int = 4,
        kind: str = "resnet",
        norm: str = "none",
        hex_kernel: bool = False,
        edge_plane: bool = False,
    ) -> None:
        super().__init__()
        if kind not in BOARD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(BOARD_KINDS)}, got {kind!r}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        self.height, self.width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.in_channels = in_channels
        self.channels = channels
        self.edge_plane = edge_plane
        self.stem = ConvBlock(in_channels + int(edge_plane), channels, norm, hex_kernel)
        if kind == "resnet":
            self.blocks = nn.ModuleList(ResidualBlock(channels, norm, hex_kernel) for _ in range(blocks))
        else:
            self.blocks = nn.ModuleList(ConvBlock(channels, channels, norm, hex_kernel) for _ in range(blocks))
        self.output_dim = channels * self.height * self.width

    def feature_map(self, x: Tensor) -> Tensor:
        if self.edge_plane:
            x = torch.cat([x, x.new_ones(x.shape[0], 1, *x.shape[2:])], dim=1)
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.feature_map(x).flatten(1)
