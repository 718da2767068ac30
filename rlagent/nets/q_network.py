"""Action-value networks for the DQN family: the actor-critic's encoders with Q heads.

A :class:`QNetwork` is the encoder the actor-critic uses (an MLP, or the board CNN/ResNet for
(C, H, W) planes) followed by a head that can be, independently:

- **dueling**: a value stream and an advantage stream, ``Q = V + A - mean_a A``. The mean runs over
  *every* action, legal or not: the network's output never depends on the mask, so the same
  Q-values are learned whatever moves happen to be legal (a mask inside the mean makes the
  aggregation shift with the position's legal set, RLlib issue 14355);
- **distributional** (C51): each action's return is a categorical distribution over
  ``num_atoms`` fixed values from ``v_min`` to ``v_max``; ``Q`` is its expectation;
- **noisy**: the head's linear layers are factorised-Gaussian :class:`NoisyLinear` layers, whose
  noise is the exploration. In ``eval()`` mode they use their mean weights: evaluation, the league
  and self-play opponents act without noise.

Masks are applied only where actions are chosen: ``greedy``/``act`` take the argmax over legal
actions (with ``-inf``, not a small constant, on the illegal ones), and the learner does the same
for its target. The network itself never sees them.

The network speaks the policy interface too (``forward`` -> a distribution whose mode is the greedy
legal action and whose value is the best legal Q, ``act``, ``value``, ``initial_state``), so the
collector, ``PolicyPlayer``, ``evaluate``, the league and self-play take it as they take a policy.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor, nn

from rlagent.errors import ConfigError
from rlagent.nets.distributions import Categorical
from rlagent.nets.encoders import BoardEncoder, MLPEncoder
from rlagent.nets.init import init_hidden
from rlagent.nets.inputs import ObservationAdapter
from rlagent.nets.policy import COLUMNS, PolicyConfig, PolicyOutput, _board_layout, _encoder_kind

_NEG_INF = float("-inf")


class NoisyLinear(nn.Module):
    """A linear layer with factorised Gaussian noise on its weights (Fortunato et al., 2018).

    ``w = mu_w + sigma_w * (f(e_out) f(e_in)^T)``, ``f(x) = sign(x) sqrt|x|``: two noise vectors of
    the layer's in and out sizes instead of one per weight. The noise is a buffer, redrawn by
    :meth:`reset_noise` from a generator the learner owns (so a run and its resume draw the same
    noise), and used only in training mode.
    """

    noise_in: Tensor  # buffers: the factorised noise, (in_features,) and (out_features,)
    noise_out: Tensor

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_sigma = nn.Parameter(torch.full((out_features, in_features), sigma0 * bound))
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_sigma = nn.Parameter(torch.full((out_features,), sigma0 * bound))
        self.register_buffer("noise_in", torch.zeros(in_features))
        self.register_buffer("noise_out", torch.zeros(out_features))

    @staticmethod
    def _scaled(x: Tensor) -> Tensor:
        return x.sign() * x.abs().sqrt()

    @torch.no_grad()
    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        device = generator.device if generator is not None else self.noise_in.device
        noise = torch.randn(self.in_features + self.out_features, generator=generator, device=device)
        noise = self._scaled(noise).to(self.noise_in.device)
        self.noise_in.copy_(noise[: self.in_features])
        self.noise_out.copy_(noise[self.in_features :])

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * torch.outer(self.noise_out, self.noise_in)
        return F.linear(x, weight, self.bias_mu + self.bias_sigma * self.noise_out)


def _linear(in_features: int, out_features: int, noisy: bool, sigma0: float) -> NoisyLinear | nn.Linear:
    return NoisyLinear(in_features, out_features, sigma0) if noisy else nn.Linear(in_features, out_features)


def _apply(layer: NoisyLinear | nn.Linear, x: Tensor) -> Tensor:
    """``layer(x)`` without the module call's overhead for plain linear layers."""
    if type(layer) is nn.Linear and not layer._forward_hooks and not layer._forward_pre_hooks:
        return F.linear(x, layer.weight, layer.bias)
    return layer(x)


class QHead(nn.Module):
    """Flat features -> (B, A, K) scores, K = num_atoms (1: a plain Q-value per action)."""

    def __init__(self, in_dim: int, num_actions: int, num_atoms: int, dueling: bool, noisy: bool, sigma0: float) -> None:
        super().__init__()
        self.num_actions, self.num_atoms = num_actions, num_atoms
        self.advantage = _linear(in_dim, num_actions * num_atoms, noisy, sigma0)
        self.value = _linear(in_dim, num_atoms, noisy, sigma0) if dueling else None

    def forward(self, features: Tensor) -> Tensor:
        scores = _apply(self.advantage, features).reshape(-1, self.num_actions, self.num_atoms)
        return _duel(scores, None if self.value is None else _apply(self.value, features))


class BoardQHead(nn.Module):
    """A board's feature map -> (B, A, K) scores: one linear over the channels shared by every cell
    (a 1x1 convolution, translation-equivariant like the trunk), a linear over the whole map for
    actions that are not cells (Hex's swap), and the dueling value stream over the whole map.
    ``columns``: one action per column (Connect Four), scored as the sum of its cells' scores, as
    :class:`~rlagent.nets.heads.BoardPolicyHead` does."""

    def __init__(
        self, channels: int, height: int, width: int, num_actions: int, num_atoms: int, dueling: bool, noisy: bool, sigma0: float, columns: bool = False
    ) -> None:
        super().__init__()
        cells = height * width
        if columns and num_actions != width:
            raise ValueError(f"a column head has one action per column ({width}), got {num_actions}")
        self.extra_actions = 0 if columns else num_actions - cells
        if self.extra_actions < 0:
            raise ValueError(f"a board head needs at least {cells} actions, got {num_actions}")
        self.columns, self.height, self.width = columns, height, width
        self.num_actions, self.num_atoms = num_actions, num_atoms
        self.cells = _linear(channels, num_atoms, noisy, sigma0)
        self.extra = _linear(channels * cells, self.extra_actions * num_atoms, noisy, sigma0) if self.extra_actions else None
        self.value = _linear(channels * cells, num_atoms, noisy, sigma0) if dueling else None

    def forward(self, feature_map: Tensor) -> Tensor:
        batch = feature_map.shape[0]
        per_cell = _apply(self.cells, feature_map.flatten(2).transpose(1, 2))  # (B, H*W, K)
        flat = feature_map.flatten(1)
        if self.columns:
            per_cell = per_cell.reshape(batch, self.height, self.width, self.num_atoms).sum(dim=1)  # (B, W, K)
        if self.extra is not None:
            extra = _apply(self.extra, flat).reshape(batch, self.extra_actions, self.num_atoms)
            per_cell = torch.cat([per_cell, extra], dim=1)
        return _duel(per_cell, None if self.value is None else _apply(self.value, flat))


def _duel(advantage: Tensor, value: Tensor | None) -> Tensor:
    """``V + A - mean_a A`` over all actions (the mask has no part in it), per atom; or ``A`` alone."""
    if value is None:
        return advantage
    return value.unsqueeze(1) + advantage - advantage.mean(dim=1, keepdim=True)


def masked(q: Tensor, mask: Tensor | None) -> Tensor:
    """Q-values with illegal actions at ``-inf`` (never a finite constant: a small positive or
    negative number can still win an argmax when every legal value is below it)."""
    return q if mask is None else q.masked_fill(~mask, _NEG_INF)


def greedy_actions(q: Tensor, mask: Tensor | None) -> Tensor:
    """The argmax over legal actions (action 0 for a row with none: a finished game's final
    observation, only ever used with a zero discount)."""
    return masked(q, mask).argmax(dim=-1)


class QNetwork(nn.Module):
    """Encoder + Q head; see the module docstring. ``exploration_rate`` (set by the learner) is the
    epsilon of ``act``'s epsilon-greedy choice; 0 leaves exploration to noisy layers (if any)."""

    support: Tensor  # buffers: the atoms' values (K,) (empty unless distributional), and an empty tensor on the device
    _device_probe: Tensor

    def __init__(
        self,
        inputs: ObservationAdapter,
        encoder: MLPEncoder | BoardEncoder,
        head: QHead | BoardQHead,
        support: Tensor | None,
        observation_space: spaces.Space,
    ) -> None:
        super().__init__()
        self.inputs, self.encoder, self.head = inputs, encoder, head
        self.spatial = isinstance(head, BoardQHead)
        self.flat_input = not isinstance(encoder, BoardEncoder)
        self.num_actions = head.num_actions
        self.distributional = support is not None
        self.register_buffer("support", support if support is not None else torch.zeros(0), persistent=False)
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)
        self.observation_space = observation_space  # the replay reads its bounds (bit-packing 0/1 planes)
        self.exploration_rate = 0.0
        self._noisy_layers: tuple[NoisyLinear, ...] | None = None
        self.state_size = 0
        self.is_recurrent = False

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    @property
    def noisy_layers(self) -> tuple[NoisyLinear, ...]:
        # Found once (a walk over the modules costs more than the noise itself); deepcopy (the
        # learner's target network) copies the tuple with the modules it points to.
        if self._noisy_layers is None:
            self._noisy_layers = tuple(m for m in self.modules() if isinstance(m, NoisyLinear))
        return self._noisy_layers

    def initial_state(self, batch_size: int) -> None:
        return None

    def scores(self, x: Tensor) -> Tensor:
        """Network input -> raw head output (B, A, K)."""
        features = cast(BoardEncoder, self.encoder).feature_map(x) if self.spatial else self.encoder(x)
        return self.head(features)

    def action_values(self, obs: Any) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``(Q (B, A), log-probabilities over atoms (B, A, K) or None, legal mask (B, A) or None)``."""
        x, mask = self.inputs.split(obs, self.device, flat=self.flat_input)
        scores = self.scores(x)
        if not self.distributional:
            return scores.squeeze(-1), None, mask
        log_probs = torch.log_softmax(scores, dim=-1)
        return (log_probs.exp() * self.support).sum(-1), log_probs, mask

    def forward(self, obs: Any, state: Tensor | None = None, episode_start: Any = None) -> PolicyOutput:
        """The policy view: a distribution with logits Q (its mode is the greedy legal action; a
        temperature makes it Boltzmann over Q) and, as the value, the best legal Q."""
        q, _, mask = self.action_values(obs)
        return PolicyOutput(Categorical(q, mask), best_value(q, mask), None)

    def value(self, obs: Any, state: Tensor | None = None, episode_start: Any = None) -> Tensor:
        q, _, mask = self.action_values(obs)
        return best_value(q, mask)

    def act(
        self,
        obs: Any,
        state: Tensor | None = None,
        episode_start: Any = None,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, None]:
        """Epsilon-greedy over legal actions (greedy when ``deterministic``): actions int64 (B,),
        log-probabilities (zeros: a value learner has none), the best legal Q (B,), no state."""
        with torch.inference_mode():
            q, _, mask = self.action_values(obs)
            actions = greedy_actions(q, mask)
            epsilon = 0.0 if deterministic else float(self.exploration_rate)
            if epsilon > 0.0:
                batch = q.shape[0]
                device = generator.device if generator is not None else q.device
                draws = torch.rand(batch, self.num_actions + 1, generator=generator, device=device).to(q.device)
                keys = draws[:, 1:] if mask is None else draws[:, 1:].masked_fill(~mask, -1.0)
                actions = torch.where(draws[:, 0] < epsilon, keys.argmax(dim=1), actions)
            value = best_value(q, mask)
            if actions.device.type != "cpu":
                actions, value = actions.cpu(), value.cpu()
            return actions.numpy(), np.zeros(actions.shape[0], np.float32), value.numpy(), None

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        for layer in self.noisy_layers:
            layer.reset_noise(generator)

    def noise_sigma(self) -> float:
        """The mean |sigma| of the noisy layers' weights: how much exploration noise is left."""
        sigmas = [layer.weight_sigma.detach().abs().mean() for layer in self.noisy_layers]
        return float(torch.stack(sigmas).mean()) if sigmas else 0.0

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"trunk": list(self.encoder.parameters()), "q_head": list(self.head.parameters())}


def best_value(q: Tensor, mask: Tensor | None) -> Tensor:
    """max over legal actions of Q, (B,); a row with no legal action gives its plain max."""
    if mask is None:
        return q.max(dim=-1).values
    values = masked(q, mask).max(dim=-1).values
    return torch.where(mask.any(dim=-1), values, q.max(dim=-1).values)


def build_q_network(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    config: PolicyConfig | None = None,
    *,
    dueling: bool = False,
    distributional: bool = False,
    num_atoms: int = 51,
    v_min: float = -10.0,
    v_max: float = 10.0,
    noisy: bool = False,
    sigma0: float = 0.5,
) -> QNetwork:
    """The Q-network that fits these spaces, from the policy section's encoder settings."""
    config = PolicyConfig() if config is None else config
    config.validate()
    if not isinstance(action_space, spaces.Discrete) or int(action_space.start) != 0:
        raise ConfigError(f"the DQN family needs a Discrete action space starting at 0, got {action_space}: use ppo for others")
    if config.recurrent is not None:
        raise ConfigError("policy.recurrent is not supported by the DQN family (its replay holds single steps): set policy.recurrent=null")
    inputs = ObservationAdapter(observation_space)
    if inputs.mask_size is not None and inputs.mask_size != int(action_space.n):
        raise ConfigError(f"the action mask has {inputs.mask_size} entries but the action space has {int(action_space.n)} actions")
    kind = _encoder_kind(config, inputs)
    atoms = num_atoms if distributional else 1
    actions = int(action_space.n)
    if kind == "mlp":
        encoder: MLPEncoder | BoardEncoder = MLPEncoder(inputs.flat_dim, tuple(config.hidden_sizes), config.activation)
        head: QHead | BoardQHead = QHead(encoder.output_dim, actions, atoms, dueling, noisy, sigma0)
    else:
        channels, height, width = inputs.input_shape
        encoder = BoardEncoder(channels, (height, width), config.board_channels, config.board_blocks, kind, config.norm, config.hex_kernel, config.edge_plane)
        layout = _board_layout(action_space, inputs)
        if layout is not None:
            head = BoardQHead(config.board_channels, height, width, actions, atoms, dueling, noisy, sigma0, columns=layout == COLUMNS)
        else:
            head = QHead(encoder.output_dim, actions, atoms, dueling, noisy, sigma0)
    if config.ortho_init:
        init_hidden(encoder)  # the head keeps its layers' own initialisation (noisy layers need theirs)
    support = torch.linspace(v_min, v_max, num_atoms) if distributional else None
    return QNetwork(inputs, encoder, head, support, observation_space)
