"""Actor-critic policies: encoder(s) + optional recurrent core + policy head + value head.

``build_policy(observation_space, action_space, PolicyConfig(...))`` picks the parts that fit the
spaces. The rollout calls ``act`` once per env step (numpy in, numpy out, no autograd); the learner
calls ``forward`` (or ``forward_sequence`` for recurrent minibatches of whole sequences) and gets a
distribution to differentiate through.

Masks: a Dict observation's ``action_mask`` (1 = legal) reaches the distribution, which never samples
an illegal action and gives it probability 0 in log-probabilities and entropy.

Recurrent state: one float tensor (B, state_size), or None for a feed-forward policy. With
``separate_critic`` and a core, the actor's hidden state comes first and the critic's second.
``episode_start`` (B,) bool marks rows whose observation begins a new episode; their state is
zeroed before that observation is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlagent.errors import ConfigError
from rlagent.nets.distributions import Distribution
from rlagent.nets.encoders import ACTIVATIONS, BOARD_KINDS, NORMS, BoardEncoder, MLPEncoder
from rlagent.nets.heads import (
    BernoulliHead,
    BoardPolicyHead,
    CategoricalHead,
    GaussianHead,
    MultiCategoricalHead,
    PolicyHead,
    ValueHead,
)
from rlagent.nets.init import init_hidden, init_output
from rlagent.nets.inputs import ObservationAdapter, as_flags, as_tensor
from rlagent.nets.recurrent import GRUCore

ENCODERS = ("auto", "mlp", *BOARD_KINDS)
RECURRENT = ("gru",)


@dataclass(frozen=True)
class PolicyConfig:
    """The network's shape and initialisation.

    ``encoder``: ``auto`` (a ResNet board encoder for (C, H, W) observations, including a Dict's
    ``observation`` key; an MLP otherwise), ``mlp``, ``cnn`` or ``resnet``. ``hidden_sizes`` and
    ``activation`` shape the MLP; ``board_channels``, ``board_blocks``, ``hex_kernel``, ``edge_plane``
    (a constant plane of ones, so zero padding shows the board's edge) and ``norm`` shape the
    board encoders (which use ReLU). ``recurrent``: ``gru`` or None. ``separate_critic``:
    the critic gets its own encoder (and core) instead of sharing the actor's trunk.
    ``ortho_init``: SB3's orthogonal initialisation (hidden gain sqrt(2), policy head gain
    ``head_init_std``, value head gain ``value_init_std``); False keeps PyTorch's defaults everywhere.
    """

    encoder: str = "auto"
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    board_channels: int = 64
    board_blocks: int = 4
    hex_kernel: bool = False
    edge_plane: bool = False
    norm: str = "none"
    recurrent: str | None = None
    recurrent_hidden: int = 128
    separate_critic: bool = False
    ortho_init: bool = True
    head_init_std: float = 0.01
    value_init_std: float = 1.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ConfigError`` with one line naming the first bad field and what is valid."""
        _choice("encoder", self.encoder, ENCODERS)
        _choice("activation", self.activation, tuple(ACTIVATIONS))
        _choice("norm", self.norm, NORMS)
        if self.recurrent is not None and self.recurrent not in RECURRENT:
            raise ConfigError(f"policy.recurrent must be one of {', '.join(RECURRENT)} or null, got {self.recurrent!r}")
        sizes = self.hidden_sizes
        if not isinstance(sizes, (tuple, list)) or not all(_is_int(s) and s > 0 for s in sizes):
            raise ConfigError(f"policy.hidden_sizes must be a list of positive integers like [64, 64], got {sizes!r}")
        for name in ("board_channels", "recurrent_hidden"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise ConfigError(f"policy.{name} must be a positive integer, got {value!r}")
        if not _is_int(self.board_blocks) or self.board_blocks < 0:
            raise ConfigError(f"policy.board_blocks must be a non-negative integer, got {self.board_blocks!r}")
        for name in ("head_init_std", "value_init_std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"policy.{name} must be a finite number >= 0, got {value!r}")
        for name in ("hex_kernel", "edge_plane", "separate_critic", "ortho_init"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"policy.{name} must be true or false, got {getattr(self, name)!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"policy.{name} must be one of {', '.join(choices)}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class PolicyOutput(NamedTuple):
    """What a policy returns: the action distribution, the value (B,) and the new recurrent state."""

    dist: Distribution
    value: Tensor
    state: Tensor | None


class PolicyNetwork(Protocol):
    """The calls that the rollout, the episodes and the players make on the network a learner
    trains, whichever it is (:class:`ActorCritic`, :class:`rlagent.nets.q_network.QNetwork`, a
    plug-in learner's). The network is an ``nn.Module`` as well; those places hold it as one and
    view it through this protocol where they call it."""

    def initial_state(self, batch_size: int) -> Tensor | None: ...

    def act(
        self,
        obs: Any,
        state: Tensor | None = None,
        episode_start: Any = None,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Tensor | None]: ...

    def value(self, obs: Any, state: Tensor | None = None, episode_start: Any = None) -> Tensor: ...


class Trunk(nn.Module):
    """Encoder then, optionally, a recurrent core: network input -> features.

    ``spatial`` trunks return the encoder's (B, C, H, W) feature map for a per-cell policy head;
    the others return flat (B, output_dim) features.
    """

    def __init__(self, encoder: MLPEncoder | BoardEncoder, core: GRUCore | None = None, spatial: bool = False) -> None:
        super().__init__()
        if spatial and (core is not None or not isinstance(encoder, BoardEncoder)):
            raise ValueError("a spatial trunk is a board encoder without a recurrent core")
        self.encoder = encoder
        self.core = core
        self.spatial = spatial
        self.output_dim = core.hidden_size if core is not None else encoder.output_dim
        self.state_size = core.hidden_size if core is not None else 0

    def forward(self, x: Tensor, h: Tensor | None, episode_start: Tensor | None) -> tuple[Tensor, Tensor | None]:
        features = cast(BoardEncoder, self.encoder).feature_map(x) if self.spatial else self.encoder(x)  # spatial: a board encoder
        if self.core is None:
            return features, None
        if h is None:
            h = features.new_zeros(features.shape[0], self.state_size)
        return self.core.step(features, h, episode_start)

    def sequence(self, x: Tensor, leading: tuple[int, int], h0: Tensor | None, episode_starts: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """x (T * B, ...) in time-major order -> features (T * B, output_dim) and the state after T steps.

        The encoder runs once on all T * B inputs; only the core loops over time.
        """
        if self.core is None:
            return self.forward(x, None, None)
        steps, batch = leading
        features = self.encoder(x).reshape(steps, batch, -1)
        if h0 is None:
            h0 = features.new_zeros(batch, self.state_size)
        out, h = self.core.sequence(features, h0, episode_starts)
        return out.reshape(steps * batch, -1), h


class ActorCritic(nn.Module):
    """An actor trunk with a policy head, and a value head on the same trunk or on its own critic trunk."""

    _device_probe: Tensor  # a buffer: an empty tensor on the parameters' device

    def __init__(
        self,
        inputs: ObservationAdapter,
        actor: Trunk,
        policy_head: PolicyHead,
        value_head: ValueHead,
        critic: Trunk | None = None,
    ) -> None:
        super().__init__()
        self.inputs = inputs
        self.actor = actor
        self.critic = critic
        self.policy_head = policy_head
        self.value_head = value_head
        self.flat_input = not isinstance(actor.encoder, BoardEncoder)
        # Follows the parameters through .to()/.cuda(): one attribute lookup to find the device.
        self.register_buffer("_device_probe", torch.empty(0), persistent=False)
        self.actor_state_size = actor.state_size
        self.state_size = actor.state_size + (critic.state_size if critic is not None else 0)

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    @property
    def is_recurrent(self) -> bool:
        return self.state_size > 0

    def initial_state(self, batch_size: int) -> Tensor | None:
        """Zeros (batch_size, state_size) for a recurrent policy, None for a feed-forward one."""
        if not self.state_size:
            return None
        return torch.zeros(batch_size, self.state_size, device=self.device)

    def forward(self, obs: Any, state: Tensor | None = None, episode_start: Any = None) -> PolicyOutput:
        """One step for a batch: obs (B, ...) or a dict of such; state (B, state_size) or None (zeros)."""
        device = self.device
        x, mask = self.inputs.split(obs, device, flat=self.flat_input)
        starts = self._starts(episode_start, device)
        h_actor, h_critic = self._split_state(state, device)
        features, h_actor = self.actor(x, h_actor, starts)
        if self.critic is None:
            critic_features, h_critic = features, None
        else:
            critic_features, h_critic = self.critic(x, h_critic, starts)
        return self._output(features, critic_features, mask, h_actor, h_critic)

    def forward_sequence(self, obs: Any, state0: Tensor | None = None, episode_starts: Any = None) -> PolicyOutput:
        """T steps of B envs: obs (T, B, ...), state0 (B, state_size), episode_starts (T, B).

        Returns a distribution over T * B rows and values (T * B,), in time-major order (row
        t * B + b), and the state after the last step. For a feed-forward policy this is ``forward``
        on the flattened batch; a recurrent one replays the rollout's steps from ``state0``.
        """
        if not self.state_size:
            return self.forward(obs)
        leading = self.inputs.leading_shape(obs)
        if len(leading) != 2:
            raise ValueError(f"forward_sequence expects observations shaped (T, B, ...), got batch dimensions {leading}")
        device = self.device
        x, mask = self.inputs.split(obs, device, flat=self.flat_input)
        starts = self._starts(episode_starts, device)
        h_actor, h_critic = self._split_state(state0, device)
        features, h_actor = self.actor.sequence(x, leading, h_actor, starts)
        if self.critic is None:
            critic_features, h_critic = features, None
        else:
            critic_features, h_critic = self.critic.sequence(x, leading, h_critic, starts)
        return self._output(features, critic_features, mask, h_actor, h_critic)

    def act(
        self,
        obs: Any,
        state: Tensor | None = None,
        episode_start: Any = None,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Tensor | None]:
        """The rollout's per-step call: (actions, log_probs float32 (B,), values float32 (B,), new state).

        Actions are int64 (B,) for Discrete, int64 (B, k) for MultiDiscrete, int64 (B, n) of 0/1 for
        MultiBinary, float32 (B, D) for Box (unclipped). Runs under ``torch.inference_mode``: the returned state is an inference tensor,
        fine to feed back into ``act``/``value`` or to copy into a buffer, not to backpropagate through.
        """
        with torch.inference_mode():
            out = self.forward(obs, state, episode_start)
            dist = out.dist
            actions = dist.mode() if deterministic else dist.sample(generator)
            log_probs = dist.log_prob(actions)
            if actions.device.type != "cpu":
                actions, log_probs, value = actions.cpu(), log_probs.cpu(), out.value.cpu()
            else:
                value = out.value
            return actions.numpy(), log_probs.numpy(), value.numpy(), out.state

    def value(self, obs: Any, state: Tensor | None = None, episode_start: Any = None) -> Tensor:
        """The critic alone, (B,): for bootstrapping from the last or a truncated episode's final observation."""
        device = self.device
        x, _ = self.inputs.split(obs, device, flat=self.flat_input)
        starts = self._starts(episode_start, device)
        h_actor, h_critic = self._split_state(state, device)
        if self.critic is None:
            features, _ = self.actor(x, h_actor, starts)
        else:
            features, _ = self.critic(x, h_critic, starts)
        return self.value_head(features)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Each parameter in exactly one named group, for per-part gradient norms (``grad/norm_<name>``)."""
        groups = {
            "trunk": list(self.actor.parameters()),
            "policy_head": list(self.policy_head.parameters()),
            "value_head": list(self.value_head.parameters()),
        }
        if self.critic is not None:
            groups["critic_trunk"] = list(self.critic.parameters())
        return groups

    def _output(self, features: Tensor, critic_features: Tensor, mask: Tensor | None, h_actor: Tensor | None, h_critic: Tensor | None) -> PolicyOutput:
        dist = self.policy_head(features, mask)
        return PolicyOutput(dist, self.value_head(critic_features), self._join_state(h_actor, h_critic))

    def _starts(self, episode_start: Any, device: torch.device) -> Tensor | None:
        if episode_start is None or not self.state_size:
            return None
        return as_flags(episode_start, device)

    def _split_state(self, state: Any, device: torch.device) -> tuple[Tensor | None, Tensor | None]:
        if state is None or not self.state_size:
            return None, None
        state = as_tensor(state, device)
        if self.critic is None or self.critic.state_size == 0:
            return state, None
        return state[:, : self.actor_state_size], state[:, self.actor_state_size :]

    @staticmethod
    def _join_state(h_actor: Tensor | None, h_critic: Tensor | None) -> Tensor | None:
        if h_critic is None or h_actor is None:  # one recurrent setting for both trunks: both states or neither
            return h_actor
        return torch.cat([h_actor, h_critic], dim=1)


def build_policy(observation_space: spaces.Space, action_space: spaces.Space, config: PolicyConfig | None = None) -> ActorCritic:
    """The actor-critic that fits these spaces; ``ConfigError`` (one line) for what does not fit."""
    config = PolicyConfig() if config is None else config
    config.validate()
    inputs = ObservationAdapter(observation_space)
    kind = _encoder_kind(config, inputs)
    _check_action_space(action_space)
    _check_mask(action_space, inputs)

    def make_encoder() -> MLPEncoder | BoardEncoder:
        if kind == "mlp":
            return MLPEncoder(inputs.flat_dim, tuple(config.hidden_sizes), config.activation)
        channels, height, width = inputs.input_shape
        return BoardEncoder(channels, (height, width), config.board_channels, config.board_blocks, kind, config.norm, config.hex_kernel, config.edge_plane)

    def make_trunk(spatial: bool = False) -> Trunk:
        encoder = make_encoder()
        core = GRUCore(encoder.output_dim, config.recurrent_hidden) if config.recurrent == "gru" else None
        return Trunk(encoder, core, spatial)

    layout = _board_layout(action_space, inputs)
    board_head = kind != "mlp" and config.recurrent is None and layout is not None
    actor = make_trunk(spatial=board_head)
    critic = make_trunk() if config.separate_critic else None
    if board_head:
        _, height, width = inputs.input_shape
        num_actions = int(cast(spaces.Discrete, action_space).n)  # a board head is for a Discrete space (_board_layout)
        policy_head: PolicyHead = BoardPolicyHead(config.board_channels, height, width, num_actions, columns=layout == COLUMNS)
    else:
        policy_head = _linear_head(action_space, actor.output_dim)
    value_head = ValueHead((critic or actor).output_dim)
    policy = ActorCritic(inputs, actor, policy_head, value_head, critic)
    if config.ortho_init:
        init_hidden(actor)
        if critic is not None:
            init_hidden(critic)
        init_output(policy_head.output_layers(), config.head_init_std)
        init_output(value_head.output_layers(), config.value_init_std)
    return policy


def _encoder_kind(config: PolicyConfig, inputs: ObservationAdapter) -> str:
    if config.encoder == "auto":
        kind = "resnet" if inputs.is_board else "mlp"
    else:
        kind = config.encoder
    if kind != "mlp" and not inputs.is_board:
        raise ConfigError(f"policy.encoder {config.encoder!r} needs (C, H, W) board observations, got shape {inputs.input_shape}: use mlp or auto")
    if kind == "mlp" and config.edge_plane:
        raise ConfigError("policy.edge_plane applies to board encoders (cnn, resnet), but this policy uses an mlp")
    if kind == "mlp" and config.hex_kernel:
        raise ConfigError("policy.hex_kernel applies to board encoders (cnn, resnet), but this policy uses an mlp")
    if kind == "mlp" and config.norm != "none":
        raise ConfigError(f"policy.norm {config.norm!r} applies to board encoders (cnn, resnet), but this policy uses an mlp")
    return kind


CELLS, COLUMNS = "cells", "columns"


def _board_layout(action_space: spaces.Space, inputs: ObservationAdapter) -> str | None:
    """How a Discrete action maps onto the board: ``cells`` (one action per cell, optionally plus
    one, e.g. Hex's swap), ``columns`` (one per column: a drop game such as Connect Four), or None
    (no board layout: a flat head)."""
    if not isinstance(action_space, spaces.Discrete) or not inputs.is_board:
        return None
    _, height, width = inputs.input_shape
    if int(action_space.n) in (height * width, height * width + 1):
        return CELLS
    return COLUMNS if int(action_space.n) == width else None


def _check_action_space(action_space: spaces.Space) -> None:
    if isinstance(action_space, spaces.Discrete):
        if int(action_space.start) != 0:
            raise ConfigError(f"Discrete action spaces must start at 0, got start={int(action_space.start)}")
    elif isinstance(action_space, spaces.MultiDiscrete):
        if action_space.nvec.ndim != 1 or np.any(np.asarray(getattr(action_space, "start", 0)) != 0):
            raise ConfigError(f"MultiDiscrete action spaces must be 1-D and start at 0, got {action_space}")
    elif isinstance(action_space, spaces.MultiBinary):
        if len(action_space.shape) != 1:
            raise ConfigError(f"MultiBinary action spaces must be 1-D (MultiBinary(n)), got shape {tuple(action_space.shape)}")
    elif isinstance(action_space, spaces.Box):
        if len(action_space.shape) != 1 or not np.issubdtype(action_space.dtype, np.floating):
            raise ConfigError(f"Box action spaces must be 1-D floating point, got {action_space}")
    else:
        raise ConfigError(f"unsupported action space {type(action_space).__name__}: use Discrete, MultiDiscrete, MultiBinary or a 1-D Box")


def _linear_head(action_space: spaces.Space, in_dim: int) -> PolicyHead:
    if isinstance(action_space, spaces.Discrete):
        return CategoricalHead(in_dim, int(action_space.n))
    if isinstance(action_space, spaces.MultiDiscrete):
        return MultiCategoricalHead(in_dim, action_space.nvec.tolist())
    if isinstance(action_space, spaces.MultiBinary):
        return BernoulliHead(in_dim, int(action_space.shape[0]))
    if isinstance(action_space, spaces.Box):
        return GaussianHead(in_dim, int(action_space.shape[0]))
    raise ConfigError(f"unsupported action space {type(action_space).__name__}")  # refused before, by _check_action_space


def _check_mask(action_space: spaces.Space, inputs: ObservationAdapter) -> None:
    if inputs.mask_size is None:
        return
    if isinstance(action_space, spaces.Discrete):
        expected = int(action_space.n)
    elif isinstance(action_space, spaces.MultiDiscrete):
        expected = int(np.sum(action_space.nvec))
    else:  # every MultiBinary bit pattern and every Box point is a legal action: nothing to mask
        raise ConfigError(f"observation key 'action_mask' needs a Discrete or MultiDiscrete action space, got {action_space}")
    if inputs.mask_size != expected:
        raise ConfigError(f"observation key 'action_mask' has {inputs.mask_size} entries but the action space has {expected} actions")
