"""Policy networks: distributions, encoders, recurrent cores, the actor-critic and its builder."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.distributions as td
from gymnasium import spaces

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from rlagent.errors import ConfigError
from rlagent.nets import (
    ActorCritic,
    BoardEncoder,
    BoardPolicyHead,
    Categorical,
    ChannelLayerNorm,
    DiagGaussian,
    GaussianHead,
    GRUCore,
    HexConv2d,
    MLPEncoder,
    MultiCategorical,
    MultiCategoricalHead,
    PolicyConfig,
    build_policy,
)
from rlagent.nets.q_network import BoardQHead, build_q_network

HEX = "rlagent/Hex-v0"
SMALL_BOARD = PolicyConfig(board_channels=16, board_blocks=2)


def hex_batch(num_envs: int = 8, size: int = 5, steps: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Hex observations after a few random moves, from both colours, some with the swap legal."""
    env = gym.make_vec(HEX, num_envs=num_envs, size=size, swap=True, agent_color="random")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        legal = obs["action_mask"].astype(bool)
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
        obs, *_ = env.step(actions)
    return obs


def hex_spaces(size: int = 5) -> tuple[spaces.Space, spaces.Space]:
    env = gym.make(HEX, size=size, swap=True)
    return env.observation_space, env.action_space


# --- distributions ---------------------------------------------------------------------------------


def test_categorical_never_samples_masked_actions() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.tensor([[5.0, 0.0, -1.0, 2.0, 8.0], [0.0, 0.0, 0.0, 0.0, 0.0], [9.0, -9.0, 3.0, 1.0, 0.0]])
    mask = torch.tensor([[0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 1, 0, 0, 1]], dtype=torch.int8)
    n = 20_000
    dist = Categorical(logits.expand(n, 3, 5), mask.expand(n, 3, 5))
    samples = dist.sample(gen)
    assert samples.shape == (n, 3)
    legal = mask.bool()[torch.arange(3), samples]
    assert legal.all()
    assert (samples[:, 1] == 2).all()  # the only legal action of row 1
    # Frequencies follow the masked softmax (4 sigma of a binomial at this n is < 0.015).
    reference = torch.softmax(logits.masked_fill(~mask.bool(), -math.inf), dim=-1)
    freq = torch.nn.functional.one_hot(samples, 5).float().mean(0)
    assert torch.allclose(freq, reference, atol=0.015)


def test_categorical_entropy_ignores_masked_actions_and_is_never_nan() -> None:
    logits = torch.zeros(4, 6)
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0], [0] * 6], dtype=torch.bool)
    entropy = Categorical(logits, mask).entropy()
    assert torch.allclose(entropy, torch.tensor([math.log(6), math.log(3), 0.0, 0.0]), atol=1e-6)

    extreme = torch.tensor([[1e4, -1e4, 0.0, -math.inf], [-1e4, 1e4, 3.0, 2.0]], requires_grad=True)
    extreme_mask = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 1]], dtype=torch.bool)
    dist = Categorical(extreme, extreme_mask)
    total = dist.entropy().sum() + dist.log_prob(torch.tensor([1, 2])).sum()
    total.backward()
    assert torch.isfinite(dist.entropy()).all() and torch.isfinite(extreme.grad).all()
    assert (extreme.grad[~extreme_mask] == 0).all()
    assert torch.isfinite(Categorical(torch.full((2, 3), -math.inf).clamp(min=-1e30)).entropy()).all()


def test_categorical_log_prob_matches_references() -> None:
    torch.manual_seed(0)
    logits = torch.randn(64, 7) * 3
    mask = torch.rand(64, 7) < 0.6
    mask[:, 3] = True
    dist = Categorical(logits, mask)
    reference = torch.log_softmax(logits.masked_fill(~mask, -math.inf), dim=-1)
    actions = torch.multinomial(mask.float(), 1).squeeze(-1)
    assert torch.allclose(dist.log_prob(actions), reference.gather(1, actions[:, None]).squeeze(1), atol=1e-5)
    assert torch.allclose(dist.probs, reference.exp(), atol=1e-6)
    assert (mask.gather(1, dist.mode()[:, None])).all()

    plain, ours = td.Categorical(logits=logits), Categorical(logits)
    actions = torch.randint(0, 7, (64,))
    assert torch.allclose(ours.log_prob(actions), plain.log_prob(actions), atol=1e-5)
    assert torch.allclose(ours.entropy(), plain.entropy(), atol=1e-5)
    assert torch.equal(ours.mode(), plain.probs.argmax(-1))
    assert torch.allclose(ours.logits, plain.logits, atol=1e-5)


def test_mode_prefers_legal_actions_over_larger_masked_logits() -> None:
    dist = Categorical(torch.tensor([[10.0, 1.0, 2.0]]), torch.tensor([[False, True, True]]))
    assert dist.mode().item() == 2


def test_multicategorical_and_gaussian_match_torch_distributions() -> None:
    torch.manual_seed(1)
    nvec = (3, 4, 2)
    logits = torch.randn(16, sum(nvec))
    actions = torch.stack([torch.randint(0, n, (16,)) for n in nvec], dim=1)
    ours = MultiCategorical(logits, nvec)
    parts = [td.Categorical(logits=part) for part in torch.split(logits, nvec, dim=-1)]
    assert torch.allclose(ours.log_prob(actions), sum(p.log_prob(actions[:, i]) for i, p in enumerate(parts)), atol=1e-5)
    assert torch.allclose(ours.entropy(), sum(p.entropy() for p in parts), atol=1e-5)
    assert ours.sample().shape == (16, 3) and ours.mode().shape == (16, 3)

    mean, log_std = torch.randn(16, 3), torch.randn(3) * 0.5
    gauss = DiagGaussian(mean, log_std)
    reference = td.Independent(td.Normal(mean, log_std.exp()), 1)
    x = torch.randn(16, 3)
    assert torch.allclose(gauss.log_prob(x), reference.log_prob(x), atol=1e-5)
    assert torch.allclose(gauss.entropy(), reference.entropy(), atol=1e-5)
    assert torch.equal(gauss.mode(), mean)
    samples = DiagGaussian(torch.zeros(50_000, 2), torch.tensor([0.0, math.log(3.0)])).sample(torch.Generator().manual_seed(0))
    assert torch.allclose(samples.std(0), torch.tensor([1.0, 3.0]), rtol=0.03)


def test_multicategorical_splits_a_flat_mask() -> None:
    mask = torch.tensor([[1, 0, 0, 0, 1, 1]], dtype=torch.bool).expand(500, 6)
    samples = MultiCategorical(torch.zeros(500, 6), (3, 3), mask).sample(torch.Generator().manual_seed(0))
    assert (samples[:, 0] == 0).all() and set(samples[:, 1].tolist()) == {1, 2}


def test_sampling_is_reproducible_with_a_generator() -> None:
    logits = torch.randn(256, 9)
    for make in (
        lambda: Categorical(logits),
        lambda: MultiCategorical(logits, (4, 5)),
        lambda: DiagGaussian(logits[:, :3], torch.zeros(3)),
    ):
        a = make().sample(torch.Generator().manual_seed(7))
        b = make().sample(torch.Generator().manual_seed(7))
        c = make().sample(torch.Generator().manual_seed(8))
        assert torch.equal(a, b) and not torch.equal(a, c)


def test_distributions_work_under_inference_mode() -> None:
    with torch.inference_mode():
        dist = Categorical(torch.randn(4, 5), torch.ones(4, 5, dtype=torch.bool))
        assert dist.log_prob(dist.sample()).shape == (4,) and dist.entropy().shape == (4,)
        gauss = DiagGaussian(torch.randn(4, 2), torch.zeros(2))
        assert gauss.log_prob(gauss.sample()).shape == (4,)


# --- encoders --------------------------------------------------------------------------------------


def test_hex_kernel_sees_exactly_the_hex_neighbours() -> None:
    conv = HexConv2d(1, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    n, r, c = 5, 2, 2
    board = torch.zeros(1, 1, n, n)
    board[0, 0, r, c] = 1.0
    reached = {tuple(p) for p in torch.nonzero(conv(board)[0, 0]).tolist()}
    neighbours = {(r - 1, c), (r - 1, c + 1), (r, c - 1), (r, c + 1), (r + 1, c - 1), (r + 1, c)}
    assert reached == neighbours | {(r, c)}

    conv(torch.randn(2, 1, n, n)).sum().backward()
    assert conv.weight.grad[0, 0, 0, 0] == 0 and conv.weight.grad[0, 0, 2, 2] == 0
    assert conv.weight.grad[0, 0, 0, 1] != 0


def test_channel_layer_norm_is_per_position() -> None:
    norm = ChannelLayerNorm(8)
    x = torch.randn(2, 8, 4, 4) * 5 + 3
    y = norm(x)
    assert torch.allclose(y.mean(1), torch.zeros(2, 4, 4), atol=1e-5)
    assert torch.allclose(y.var(1, unbiased=False), torch.ones(2, 4, 4), atol=1e-3)
    x2 = x.clone()
    x2[:, :, 0, 0] += 100.0  # another position changes: this one must not
    assert torch.allclose(norm(x2)[:, :, 1:, :], y[:, :, 1:, :])


@pytest.mark.parametrize("kind, norm, hex_kernel", [("resnet", "none", False), ("cnn", "layer", True)])
def test_board_encoder_keeps_resolution_and_has_no_batchnorm(kind: str, norm: str, hex_kernel: bool) -> None:
    encoder = BoardEncoder(3, 5, channels=8, blocks=2, kind=kind, norm=norm, hex_kernel=hex_kernel)
    x = torch.rand(4, 3, 5, 5)
    assert encoder.feature_map(x).shape == (4, 8, 5, 5)
    assert encoder(x).shape == (4, encoder.output_dim) == (4, 8 * 25)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in encoder.modules())
    encoder.train()
    train_out = encoder(x)
    encoder.eval()
    assert torch.equal(train_out, encoder(x))
    # Each sample is encoded on its own: no statistics shared across the batch.
    assert torch.allclose(encoder(x[:1]), train_out[:1], atol=1e-6)


def test_the_edge_plane_lets_the_first_layer_see_where_the_board_ends() -> None:
    """An empty board: without the ones plane, zero padding reads like the empty cells, so the stem's
    output is the same at the edge as in the middle; with it, the edge cells differ."""
    torch.manual_seed(0)
    empty = torch.zeros(1, 2, 6, 7)
    plain = BoardEncoder(2, (6, 7), channels=4, blocks=0).stem(empty)
    assert torch.equal(plain[..., 5, 3], plain[..., 2, 3])
    edged = BoardEncoder(2, (6, 7), channels=4, blocks=0, edge_plane=True)
    assert edged.stem.conv.in_channels == 3
    out = edged.feature_map(empty)
    assert not torch.allclose(out[..., 5, 3], out[..., 2, 3])  # the bottom row sees the floor
    assert torch.equal(out[..., 2, 3], out[..., 3, 3])  # interior cells stay alike
    with pytest.raises(ConfigError, match="edge_plane"):
        cartpole = gym.make("CartPole-v1")
        build_policy(cartpole.observation_space, cartpole.action_space, PolicyConfig(edge_plane=True))


def test_mlp_encoder() -> None:
    encoder = MLPEncoder(4, (32, 16), "relu")
    assert encoder(torch.randn(5, 4)).shape == (5, 16) and encoder.output_dim == 16
    assert MLPEncoder(4, ()).output_dim == 4
    with pytest.raises(ValueError, match="activation"):
        MLPEncoder(4, (8,), "gelu")


# --- recurrent core --------------------------------------------------------------------------------


def test_gru_sequence_equals_repeated_steps() -> None:
    torch.manual_seed(0)
    core = GRUCore(5, 7)
    T, B = 6, 4
    x, h0 = torch.randn(T, B, 5), torch.randn(B, 7)
    starts = torch.rand(T, B) < 0.3
    out, h_T = core.sequence(x, h0, starts)
    h, steps = h0, []
    for t in range(T):
        o, h = core.step(x[t], h, starts[t])
        steps.append(o)
    assert out.shape == (T, B, 7)
    assert torch.allclose(out, torch.stack(steps), atol=1e-6) and torch.allclose(h_T, h, atol=1e-6)


def test_gru_state_resets_at_episode_start() -> None:
    torch.manual_seed(0)
    core = GRUCore(3, 4)
    T, B = 5, 2
    x = torch.randn(T, B, 3, requires_grad=True)
    h0 = torch.randn(B, 4, requires_grad=True)
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[2, 0] = True  # env 0 starts a new episode at t = 2; env 1 does not
    out, _ = core.sequence(x, h0, starts)
    out[2:, 0].sum().backward(retain_graph=True)
    assert (x.grad[:2, 0] == 0).all() and (h0.grad[0] == 0).all()
    assert (x.grad[2:, 0] != 0).any()
    x.grad = None
    h0.grad = None
    out[2:, 1].sum().backward()
    assert (x.grad[:2, 1] != 0).any() and (h0.grad[1] != 0).any()
    # The same in values: after a reset the output equals a fresh start from zeros.
    fresh, _ = core.sequence(x[2:, :1], torch.zeros(1, 4))
    assert torch.allclose(out[2:, :1], fresh, atol=1e-6)


# --- building policies -----------------------------------------------------------------------------


@pytest.mark.parametrize("separate_critic", [False, True])
def test_build_policy_picks_a_board_encoder_for_hex(separate_critic: bool) -> None:
    obs_space, act_space = hex_spaces(5)
    policy = build_policy(obs_space, act_space, PolicyConfig(separate_critic=separate_critic))
    assert isinstance(policy.actor.encoder, BoardEncoder)
    assert isinstance(policy.policy_head, BoardPolicyHead) and policy.policy_head.extra is not None
    obs = hex_batch(8)
    out = policy(obs)
    assert out.dist.logits.shape == (8, 26) and out.value.shape == (8,) and out.state is None
    legal = torch.from_numpy(obs["action_mask"]).bool()
    assert (out.dist.probs[~legal] == 0).all()


def test_a_drop_game_gets_a_column_head_whose_logit_reads_only_its_column() -> None:
    """Connect Four's 7 actions are its columns: each logit is the sum of its own column's per-cell
    scores (shared 1x1 weights), so what the trunk learns about one column holds for all of them."""
    env = gym.make("rlagent/ConnectFour-v0")
    policy = build_policy(env.observation_space, env.action_space, PolicyConfig(board_channels=8, board_blocks=1))
    head = policy.policy_head
    assert isinstance(head, BoardPolicyHead) and head.columns and head.extra is None
    obs, _ = env.reset(seed=0)
    batch = {key: np.stack([value] * 3) for key, value in obs.items()}
    assert policy(batch).dist.logits.shape == (3, 7)
    torch.manual_seed(0)
    with torch.no_grad():
        head.cells.weight.normal_()
        features = torch.rand(2, 8, 6, 7)
        base = head(features).logits
        changed = features.clone()
        changed[:, :, :, 2] += torch.rand(2, 8, 6)  # only column c (index 2) changes
        moved = head(changed).logits
    relative = moved - base  # the distribution's logits are normalised: compare each to column a
    others = [c for c in range(7) if c != 2]
    assert torch.allclose(relative[:, others], relative[:, :1], atol=1e-6) and not torch.allclose(relative[:, 2], relative[:, 0])
    per_cell = torch.einsum("bchw,c->bhw", features, head.cells.weight.flatten()) + head.cells.bias
    assert torch.allclose(base, torch.log_softmax(per_cell.sum(dim=1), dim=1), atol=1e-5)


def test_a_drop_games_q_network_scores_columns_the_same_way() -> None:
    env = gym.make("rlagent/ConnectFour-v0")
    network = build_q_network(
        env.observation_space, env.action_space, PolicyConfig(board_channels=8, board_blocks=1), dueling=False, noisy=False, distributional=False
    )
    assert isinstance(network.head, BoardQHead) and network.head.columns
    torch.manual_seed(0)
    with torch.no_grad():
        features = torch.rand(2, 8, 6, 7)
        base = network.head(features)
        changed = features.clone()
        changed[:, :, :, 5] += 1.0
        moved = network.head(changed)
    assert base.shape == (2, 7, 1)
    assert torch.equal(moved[:, :5], base[:, :5]) and torch.equal(moved[:, 6:], base[:, 6:]) and not torch.allclose(moved[:, 5], base[:, 5])


def test_build_policy_mlp_for_cartpole_and_head_init_is_near_uniform() -> None:
    env = gym.make("CartPole-v1")
    torch.manual_seed(0)
    policy = build_policy(env.observation_space, env.action_space)
    assert isinstance(policy.actor.encoder, MLPEncoder) and policy.initial_state(3) is None
    obs = torch.randn(32, 4) * 2
    probs = policy(obs).dist.probs
    assert (probs - 0.5).abs().max() < 0.02

    hex_policy = build_policy(*hex_spaces(5), SMALL_BOARD)
    out = hex_policy(hex_batch(8))
    legal = torch.from_numpy(hex_batch(8)["action_mask"]).bool()
    uniform = 1.0 / legal.sum(1, keepdim=True)
    assert ((out.dist.probs - uniform).abs()[legal] / uniform.expand_as(legal)[legal]).max() < 0.1


def test_ortho_init_false_keeps_pytorch_defaults() -> None:
    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space, PolicyConfig(ortho_init=False))
    assert policy.policy_head.linear.bias.abs().sum() > 0  # PyTorch's uniform bias init, not zeros


def test_hex_kernel_policy_stores_zero_corner_taps() -> None:
    policy = build_policy(*hex_spaces(5), PolicyConfig(board_channels=8, board_blocks=1, hex_kernel=True))
    convs = [m for m in policy.modules() if isinstance(m, HexConv2d)]
    assert len(convs) == 3
    for conv in convs:
        assert (conv.weight[..., 0, 0] == 0).all() and (conv.weight[..., 2, 2] == 0).all()


def test_box_and_multidiscrete_action_spaces() -> None:
    env = gym.make("Pendulum-v1")
    policy = build_policy(env.observation_space, env.action_space)
    assert isinstance(policy.policy_head, GaussianHead)
    assert torch.equal(policy.policy_head.log_std.detach(), torch.zeros(1))
    obs = np.stack([env.observation_space.sample() for _ in range(5)])
    actions, log_probs, values, state = policy.act(obs, generator=torch.Generator().manual_seed(0))
    assert actions.shape == (5, 1) and actions.dtype == np.float32
    assert log_probs.shape == (5,) and values.shape == (5,) and state is None

    obs_space = spaces.Dict({"x": spaces.Box(-1, 1, (6,)), "y": spaces.Box(0, 1, (2, 2)), "action_mask": spaces.Box(0, 1, (7,), np.int8)})
    act_space = spaces.MultiDiscrete([3, 4])
    policy = build_policy(obs_space, act_space)
    assert isinstance(policy.policy_head, MultiCategoricalHead) and policy.actor.encoder.input_dim == 10
    batch = {"x": np.random.rand(50, 6).astype(np.float32), "y": np.random.rand(50, 2, 2).astype(np.float32)}
    batch["action_mask"] = np.tile(np.array([1, 1, 0, 0, 0, 1, 0], np.int8), (50, 1))
    actions, log_probs, _, _ = policy.act(batch, generator=torch.Generator().manual_seed(0))
    assert actions.shape == (50, 2) and actions.dtype == np.int64
    assert set(actions[:, 0]) <= {0, 1} and set(actions[:, 1]) == {2}
    assert np.allclose(log_probs, np.log(0.5), atol=0.05)


@pytest.mark.parametrize(
    "obs_space, act_space, config, field",
    [
        (spaces.Box(-1, 1, (4,)), spaces.Discrete(2), PolicyConfig(encoder="resnet"), "policy.encoder"),
        (spaces.Box(-1, 1, (4,)), spaces.Discrete(2), PolicyConfig(hex_kernel=True), "policy.hex_kernel"),
        (spaces.Discrete(5), spaces.Discrete(2), PolicyConfig(), "observation space"),
        (spaces.Box(-1, 1, (4,)), spaces.Tuple([spaces.Discrete(2)]), PolicyConfig(), "action space"),
        (spaces.Box(-1, 1, (4,)), spaces.Discrete(3, start=1), PolicyConfig(), "start"),
        (spaces.Box(-1, 1, (4,)), spaces.Box(-1, 1, (2, 2)), PolicyConfig(), "Box action"),
        (
            spaces.Dict({"observation": spaces.Box(0, 1, (4,)), "action_mask": spaces.Box(0, 1, (3,), np.int8)}),
            spaces.Discrete(2),
            PolicyConfig(),
            "action_mask",
        ),
    ],
)
def test_build_policy_rejects_what_does_not_fit(obs_space, act_space, config, field) -> None:
    with pytest.raises(ConfigError, match=field) as error:
        build_policy(obs_space, act_space, config)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"encoder": "transformer"}, "policy.encoder"),
        ({"activation": "gelu"}, "policy.activation"),
        ({"norm": "batch"}, "policy.norm"),
        ({"recurrent": "lstm"}, "policy.recurrent"),
        ({"hidden_sizes": (64, 0)}, "policy.hidden_sizes"),
        ({"board_channels": 0}, "policy.board_channels"),
        ({"board_blocks": -1}, "policy.board_blocks"),
        ({"recurrent_hidden": 0}, "policy.recurrent_hidden"),
        ({"head_init_std": -0.1}, "policy.head_init_std"),
        ({"value_init_std": math.inf}, "policy.value_init_std"),
        ({"separate_critic": "yes"}, "policy.separate_critic"),
    ],
)
def test_policy_config_validate_names_the_field(kwargs, field) -> None:
    PolicyConfig().validate()
    with pytest.raises(ConfigError, match=field) as error:
        PolicyConfig(**kwargs).validate()
    assert "\n" not in str(error.value)


# --- forward, sequences, act -----------------------------------------------------------------------


def _flat(obs):
    if isinstance(obs, dict):
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in obs.items()}
    return obs.reshape(-1, *obs.shape[2:])


def test_forward_sequence_of_feed_forward_policy_equals_forward_on_flat_batch() -> None:
    torch.manual_seed(0)
    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space)
    obs = torch.randn(5, 3, 4)
    seq, flat = policy.forward_sequence(obs, None, torch.zeros(5, 3, dtype=torch.bool)), policy(_flat(obs))
    assert torch.allclose(seq.dist.logits, flat.dist.logits) and torch.allclose(seq.value, flat.value)
    assert seq.value.shape == (15,)

    hex_policy = build_policy(*hex_spaces(5), SMALL_BOARD)
    batch = hex_batch(6)
    obs = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in batch.items()}
    seq, flat = hex_policy.forward_sequence(obs), hex_policy(batch)
    assert torch.allclose(seq.dist.logits, flat.dist.logits, atol=1e-6) and torch.allclose(seq.value, flat.value)


@pytest.mark.parametrize("separate_critic", [False, True])
@pytest.mark.parametrize("space", ["cartpole", "hex"])
def test_recurrent_forward_sequence_replays_the_rollout_steps(separate_critic: bool, space: str) -> None:
    """What the learner recomputes from stored (T, B) data equals what the rollout saw step by step."""
    torch.manual_seed(0)
    config = PolicyConfig(recurrent="gru", recurrent_hidden=16, separate_critic=separate_critic, board_channels=8, board_blocks=1)
    T, B = 6, 4
    if space == "cartpole":
        env = gym.make("CartPole-v1")
        policy = build_policy(env.observation_space, env.action_space, config)
        obs = np.random.default_rng(0).normal(size=(T, B, 4)).astype(np.float32)
        step_obs = [obs[t] for t in range(T)]
    else:
        policy = build_policy(*hex_spaces(5), config)
        frames = [hex_batch(B, steps=t, seed=t) for t in range(T)]
        step_obs = frames
        obs = {k: np.stack([f[k] for f in frames]) for k in frames[0]}
    assert policy.initial_state(B).shape == (B, 32 if separate_critic else 16)
    starts = np.random.default_rng(1).random((T, B)) < 0.3
    starts[0] = True
    state0 = torch.randn(B, policy.state_size)
    gen = torch.Generator().manual_seed(0)
    state, actions, log_probs, values = state0, [], [], []
    for t in range(T):
        a, lp, v, state = policy.act(step_obs[t], state, starts[t], generator=gen)
        actions.append(a)
        log_probs.append(lp)
        values.append(v)
    seq = policy.forward_sequence(obs, state0, torch.from_numpy(starts))
    actions_flat = torch.from_numpy(np.concatenate(actions))
    assert np.allclose(seq.dist.log_prob(actions_flat).detach().numpy(), np.concatenate(log_probs), atol=1e-5)
    assert np.allclose(seq.value.detach().numpy(), np.concatenate(values), atol=1e-5)
    assert torch.allclose(seq.state, state, atol=1e-5)


def test_act_respects_masks_and_returns_numpy() -> None:
    policy = build_policy(*hex_spaces(5), SMALL_BOARD)
    obs = hex_batch(16)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        actions, log_probs, values, state = policy.act(obs, None, None, generator=gen)
        assert actions.shape == (16,) and actions.dtype == np.int64
        assert log_probs.shape == values.shape == (16,)
        assert log_probs.dtype == values.dtype == np.float32 and state is None
        assert obs["action_mask"][np.arange(16), actions].all()
    out = policy(obs)
    assert np.allclose(out.dist.log_prob(torch.from_numpy(actions)).detach().numpy(), log_probs, atol=1e-6)
    assert np.allclose(out.value.detach().numpy(), values, atol=1e-6)
    assert np.allclose(policy.value(obs).detach().numpy(), values, atol=1e-6)
    greedy, *_ = policy.act(obs, deterministic=True)
    assert np.array_equal(greedy, out.dist.mode().numpy())
    again, *_ = policy.act(obs, generator=torch.Generator().manual_seed(0))
    first, *_ = policy.act(obs, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(again, first)


def test_episode_start_resets_the_state_in_act() -> None:
    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space, PolicyConfig(recurrent="gru", recurrent_hidden=8))
    obs = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    noisy = torch.randn(3, 8)
    _, lp_reset, v_reset, s_reset = policy.act(obs, noisy, np.ones(3, bool), deterministic=True)
    _, lp_fresh, v_fresh, s_fresh = policy.act(obs, policy.initial_state(3), np.zeros(3, bool), deterministic=True)
    _, _, v_kept, _ = policy.act(obs, noisy, np.zeros(3, bool), deterministic=True)
    assert np.allclose(v_reset, v_fresh) and torch.allclose(s_reset, s_fresh) and not np.allclose(v_kept, v_fresh)
    assert torch.allclose(policy.value(obs, noisy, np.ones(3, bool)), torch.from_numpy(v_reset))


def test_parameter_groups_partition_the_parameters() -> None:
    env = gym.make("CartPole-v1")
    for separate in (False, True):
        policy = build_policy(env.observation_space, env.action_space, PolicyConfig(separate_critic=separate))
        groups = policy.parameter_groups()
        expected = {"trunk", "policy_head", "value_head"} | ({"critic_trunk"} if separate else set())
        assert set(groups) == expected
        ids = [id(p) for params in groups.values() for p in params]
        assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in policy.parameters()}

    policy = build_policy(env.observation_space, env.action_space, PolicyConfig(separate_critic=True))
    policy(torch.randn(8, 4)).value.pow(2).mean().backward()
    groups = policy.parameter_groups()
    assert all(p.grad is None for p in groups["trunk"] + groups["policy_head"])
    assert all(p.grad is not None for p in groups["critic_trunk"] + groups["value_head"])


def test_train_and_eval_mode_give_the_same_outputs() -> None:
    policy = build_policy(*hex_spaces(5), PolicyConfig(board_channels=8, board_blocks=2, norm="layer"))
    obs = hex_batch(4)
    policy.train()
    a = policy(obs)
    policy.eval()
    b = policy(obs)
    assert torch.equal(a.dist.logits, b.dist.logits) and torch.equal(a.value, b.value)


def test_board_policy_learns_target_moves() -> None:
    """The wiring learns: 100 Adam steps fit a fixed legal target move on 32 Hex boards."""
    torch.manual_seed(0)
    policy = build_policy(*hex_spaces(5), PolicyConfig(board_channels=32, board_blocks=2))
    obs = hex_batch(32, steps=4, seed=3)
    rng = np.random.default_rng(0)
    targets = torch.tensor([rng.choice(np.flatnonzero(m)) for m in obs["action_mask"]])
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    for _ in range(100):
        loss = -policy(obs).dist.log_prob(targets).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    accuracy = (policy(obs).dist.mode() == targets).float().mean().item()
    assert accuracy > 0.95


def test_policy_is_an_actor_critic_module() -> None:
    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space)
    assert isinstance(policy, ActorCritic) and not policy.is_recurrent
    restored = build_policy(env.observation_space, env.action_space)
    restored.load_state_dict(policy.state_dict())
    obs = torch.randn(4, 4)
    assert torch.equal(restored(obs).dist.logits, policy(obs).dist.logits)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_generator_drives_a_gpu_policy() -> None:
    """The rollout seeds one CPU generator; a policy on the GPU must sample the same actions with it."""
    env = gym.make("CartPole-v1")
    policy = build_policy(env.observation_space, env.action_space)
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    cpu_actions, *_ = policy.act(obs, generator=torch.Generator().manual_seed(3))
    gpu_actions, log_probs, values, _ = policy.to("cuda").act(obs, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(cpu_actions, gpu_actions) and log_probs.dtype == values.dtype == np.float32
