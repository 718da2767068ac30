"""Recurrent cores with explicit state.

The hidden state is passed in and returned, never kept inside the module: the rollout stores it per
step, a minibatch of whole sequences restarts from the stored state, and the same numbers come out
in both places. ``episode_start[b]`` True means that row b's input is the first observation of a new
episode, so its state is zeroed before that input is read; nothing from the previous episode can
reach the new one, in value or in gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _as_bool(flags: Tensor) -> Tensor:
    return flags if flags.dtype == torch.bool else flags != 0


class GRUCore(nn.Module):
    """A single GRU layer (``nn.GRUCell``) with per-row resets; state (B, hidden_size)."""

    def __init__(self, input_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = nn.GRUCell(input_dim, hidden_size)
        self.input_dim = input_dim
        self.hidden_size = hidden_size

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> Tensor:
        return torch.zeros(batch_size, self.hidden_size, device=device)

    def step(self, x: Tensor, h: Tensor, episode_start: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One time step: x (B, D), h (B, H), episode_start (B,) -> (output (B, H), new state (B, H)).

        For a GRU the output is the new state; both are returned so that callers do not depend on that.
        """
        if episode_start is not None:
            h = h.masked_fill(_as_bool(episode_start).unsqueeze(-1), 0.0)
        h = self.cell(x, h)
        return h, h

    def sequence(self, x: Tensor, h0: Tensor, episode_starts: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """T steps: x (T, B, D), h0 (B, H), episode_starts (T, B) -> (outputs (T, B, H), h_T (B, H)).

        The same ``step`` as the rollout uses, looped over time (never over the batch), so a
        sequence reproduces the rollout's outputs exactly.
        """
        starts = None if episode_starts is None else _as_bool(episode_starts)
        h = h0
        outputs = []
        for t in range(x.shape[0]):
            out, h = self.step(x[t], h, None if starts is None else starts[t])
            outputs.append(out)
        return torch.stack(outputs), h
