"""Rainbow's parts, each against a reference written from its definition, and a regression test for
each way the DQN family is known to break with masks, n-step windows and priorities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagent.algos.n_step import NStepStaging
from rlagent.algos.rainbow import Rainbow, RainbowConfig, project_distribution
from rlagent.algos.replay import Field, ReplayBuffer, Sample
from rlagent.errors import ConfigError
from rlagent.nets.policy import PolicyConfig
from rlagent.nets.q_network import build_q_network, greedy_actions
from rlagent.rollout import Rollout

MASKED_SPACE = spaces.Dict(
    {
        "observation": spaces.Box(-1.0, 1.0, (3,), np.float32),
        "action_mask": spaces.Box(0, 1, (4,), np.int8),
    }
)
SMALL = PolicyConfig(hidden_sizes=(16,), activation="relu")


def _network(**parts):
    torch.manual_seed(0)
    return build_q_network(MASKED_SPACE, spaces.Discrete(4), SMALL, **parts)


def _learner(**settings) -> Rainbow:
    parts = {k: settings[k] for k in ("dueling", "distributional", "noisy", "num_atoms", "v_min", "v_max") if k in settings}
    config = RainbowConfig(**{"double": False, "dueling": False, "prioritized": False, "n_step": 1, "distributional": False, "noisy": False, **settings})
    return Rainbow(_network(**parts), config, 100, torch.device("cpu"), seed=0)


def _obs(rows: int, mask: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    legal = np.ones((rows, 4), np.int8) if mask is None else np.asarray(mask, np.int8)
    return {"observation": rng.uniform(-1, 1, (rows, 3)).astype(np.float32), "action_mask": legal}


# --- masks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("distributional", [False, True])
def test_target_action_is_the_best_legal_one_of_the_next_state(double: bool, distributional: bool) -> None:
    """Tianshou 309: a target max over illegal actions. The next state's illegal action is made the
    best by far; the target must value the best legal action instead, with that action's atoms."""
    learner = _learner(double=double, distributional=distributional, v_min=-10.0, v_max=10.0)
    next_obs = _obs(8, mask=np.tile([1, 1, 0, 1], (8, 1)))
    with torch.no_grad():  # make action 2 (illegal) the best in both networks
        for net in (learner.network, learner.target):
            head = net.head.advantage
            bias = head.bias.view(4, -1)
            bias[2] += 100.0 if not distributional else 0.0
            if distributional:
                bias[2, -1] += 50.0  # all of action 2's mass on v_max
    sample = Sample(_obs(8), np.zeros(8, np.int64), np.zeros(8, np.float32), np.ones(8, np.float32), next_obs, np.arange(8), np.ones(8, np.float32))
    per_sample, _, td_error = learner.sample_losses(sample)
    with torch.no_grad():
        target_q, target_atoms, _ = learner.target.action_values(next_obs)
        online_next, _, _ = learner.network.action_values(next_obs)
        chooser = online_next if double else target_q
        legal_best = chooser[:, [0, 1, 3]].argmax(1)
        chosen = torch.tensor([0, 1, 3])[legal_best]
        expected = target_q[torch.arange(8), chosen]
        q_taken = learner.network.action_values(sample.obs)[0][:, 0]
    assert torch.allclose(td_error, expected - q_taken, atol=1e-5)
    if distributional:  # the cross-entropy to the chosen legal action's atoms, shifted and projected
        rows = torch.arange(8)
        projected = project_distribution(target_atoms[rows, chosen].exp(), torch.zeros(8), torch.ones(8), learner.network.support)
        log_probs = learner.network.action_values(sample.obs)[1][:, 0]
        assert torch.allclose(per_sample.detach(), -(projected * log_probs).sum(-1), atol=1e-5)
    assert (target_q[:, 2] > target_q[:, [0, 1, 3]].max(1).values).all()  # the trap was set


def test_greedy_choice_uses_minus_infinity_not_a_small_constant() -> None:
    """OpenSpiel PR 1259: a tiny positive constant on illegal actions beats legal values below it."""
    q = torch.tensor([[-5e38, 0.0, -3e38], [-1e-30, -2e-30, 1e-45]])
    mask = torch.tensor([[True, False, True], [False, True, False]])
    assert greedy_actions(q, mask).tolist() == [2, 1]


def test_epsilon_actions_are_always_legal() -> None:
    net = _network()
    net.exploration_rate = 1.0
    mask = np.zeros((500, 4), np.int8)
    rows = np.arange(500)
    mask[rows, rows % 4] = 1
    mask[rows[::3], (rows[::3] + 1) % 4] = 1
    actions, *_ = net.act(_obs(500, mask), generator=torch.Generator().manual_seed(0))
    assert mask[rows, actions].all()
    assert len(set(actions.tolist())) == 4  # random, not greedy


@pytest.mark.parametrize("dueling, distributional", [(True, False), (True, True), (False, True)])
def test_the_network_output_does_not_depend_on_the_mask(dueling: bool, distributional: bool) -> None:
    """RLlib 14355 / PR 30184: a mask leaking into the dueling mean or the atoms' softmax."""
    net = _network(dueling=dueling, distributional=distributional)
    obs_all = _obs(16)
    obs_some = {**obs_all, "action_mask": np.tile(np.array([1, 0, 0, 1], np.int8), (16, 1))}
    q_all, atoms_all, _ = net.action_values(obs_all)
    q_some, atoms_some, _ = net.action_values(obs_some)
    assert torch.equal(q_all, q_some)
    if distributional:
        assert torch.equal(atoms_all, atoms_some)
        assert torch.allclose(atoms_all.exp().sum(-1), torch.ones(16, 4))


def test_dueling_aggregation_subtracts_the_mean_over_every_action() -> None:
    net = _network(dueling=True)
    obs = _obs(5)
    x, _ = net.inputs.split(obs, torch.device("cpu"), flat=True)
    features = net.encoder(x)
    advantage = net.head.advantage(features)
    value = net.head.value(features)
    expected = value + advantage - advantage.mean(1, keepdim=True)
    assert torch.allclose(net.action_values(obs)[0], expected, atol=1e-6)


# --- C51 projection ------------------------------------------------------------------------------
def _project_by_definition(probs: np.ndarray, reward: float, discount: float, support: np.ndarray) -> np.ndarray:
    out = np.zeros_like(probs)
    delta = support[1] - support[0]
    for p, z in zip(probs, support):
        tz = np.clip(reward + discount * z, support[0], support[-1])
        b = (tz - support[0]) / delta
        low, high = int(np.floor(b)), int(np.ceil(b))
        if low == high:
            out[low] += p
        else:
            out[low] += p * (high - b)
            out[high] += p * (b - low)
    return out


def test_c51_projection_matches_its_definition() -> None:
    rng = np.random.default_rng(0)
    support = np.linspace(-2.0, 3.0, 11)
    probs = rng.dirichlet(np.ones(11), size=6)
    rewards = np.array([0.0, 0.5, -1.3, 2.0, 10.0, 0.25])
    discounts = np.array([0.9, 0.0, 0.99, 0.5, 0.9, 1.0])
    got = project_distribution(torch.tensor(probs), torch.tensor(rewards), torch.tensor(discounts), torch.tensor(support)).numpy()
    for row in range(6):
        np.testing.assert_allclose(got[row], _project_by_definition(probs[row], rewards[row], discounts[row], support), atol=1e-12)
    np.testing.assert_allclose(got.sum(1), 1.0)
    assert got[1, 5] == pytest.approx(1.0)  # a terminal step with reward 0.5 lands exactly on atom 0.5


# --- n-step windows ------------------------------------------------------------------------------
def _rollout(obs, actions, rewards, terminated, truncated, final_obs, last_obs, valid=None, starts=None) -> Rollout:
    T, N = rewards.shape
    return Rollout(
        obs=obs,
        actions=actions,
        log_probs=np.zeros((T, N), np.float32),
        values=np.zeros((T, N), np.float32),
        rewards=rewards,
        terminated=terminated,
        truncated=truncated,
        final_obs=final_obs,
        episode_starts=np.zeros((T, N), bool) if starts is None else starts,
        states=None,
        last_values=np.zeros(N, np.float32),
        valid=valid,
        last_obs=last_obs,
    )


def _episode_stream(T: int, N: int, seed: int):
    """A random (T, N) stream with terminations, truncations and distinct observations (obs = 1000 t + env)."""
    rng = np.random.default_rng(seed)
    obs = (np.arange(T)[:, None] * 1000 + np.arange(N)[None]).astype(np.float32)[..., None]
    rewards = rng.normal(size=(T, N)).astype(np.float32)
    ends = rng.random((T, N)) < 0.15
    truncated = ends & (rng.random((T, N)) < 0.4)
    terminated = ends & ~truncated
    final_obs = np.where(ends[..., None], -obs - 1, 0).astype(np.float32)
    last_obs = (T * 1000 + np.arange(N)).astype(np.float32)[:, None]
    return obs, rewards, terminated, truncated, final_obs, last_obs


def _reference_transitions(n, gamma, obs, rewards, terminated, truncated, final_obs, last_obs):
    """Transition by transition, from the definition."""
    T, N = rewards.shape
    out = {}
    for env in range(N):
        for t in range(T):
            total, k = 0.0, 0
            while True:
                total += gamma**k * rewards[t + k, env]
                if terminated[t + k, env]:
                    out[(t, env)] = (total, 0.0, final_obs[t + k, env, 0])
                    break
                if truncated[t + k, env]:
                    out[(t, env)] = (total, gamma ** (k + 1), final_obs[t + k, env, 0])
                    break
                k += 1
                if k == n:
                    nxt = obs[t + n, env, 0] if t + n < T else last_obs[env, 0]
                    out[(t, env)] = (total, gamma**n, nxt)
                    break
                if t + k >= T:
                    break  # still waiting for the rollout after the last
    return out


@pytest.mark.parametrize("n", [1, 3, 5])
@pytest.mark.parametrize("cuts", [(40,), (7, 19, 31, 40), (1, 2, 3, 40)])
def test_n_step_transitions_never_cross_an_episode_end_wherever_rollouts_are_cut(n: int, cuts: tuple) -> None:
    """CleanRL / RLlib PR 2737: windows crossing episode ends, or each episode's tail dropped."""
    T, N, gamma = 40, 3, 0.9
    obs, rewards, terminated, truncated, final_obs, last_obs = _episode_stream(T, N, seed=n)
    expected = _reference_transitions(n, gamma, obs, rewards, terminated, truncated, final_obs, last_obs)
    staging, got, begin = NStepStaging(n, gamma), {}, 0
    for end in cuts:
        part = slice(begin, end)
        after = obs[end] if end < T else last_obs
        out = staging.push(_rollout(obs[part], np.zeros((end - begin, N), np.int64), rewards[part], terminated[part], truncated[part], final_obs[part], after))
        for row in range(len(out)):
            first = float(out.obs[row, 0])
            key = (int(first // 1000), int(first % 1000))
            assert key not in got
            got[key] = (float(out.rewards[row]), float(out.discounts[row]), float(out.next_obs[row, 0]))
        begin = end
    assert set(got) == set(expected)
    for key, (total, discount, nxt) in expected.items():
        assert got[key] == pytest.approx((total, discount, nxt), rel=1e-5, abs=1e-5), key


def test_next_step_reset_steps_start_no_transition() -> None:
    """Gymnasium's NEXT_STEP autoreset: the step after an episode's end only resets the env."""
    T, N = 6, 1
    obs = np.arange(T, dtype=np.float32).reshape(T, 1, 1)
    rewards = np.ones((T, N), np.float32)
    terminated = np.zeros((T, N), bool)
    terminated[2] = True
    valid = np.ones((T, N), bool)
    valid[3] = False
    final_obs = np.zeros((T, N, 1), np.float32)
    final_obs[2] = 99.0
    out = NStepStaging(2, 0.5).push(
        _rollout(obs, np.zeros((T, N), np.int64), rewards, terminated, np.zeros((T, N), bool), final_obs, np.full((1, 1), 6.0, np.float32), valid=valid)
    )
    starts = sorted(float(o) for o in out.obs[:, 0])
    assert starts == [0.0, 1.0, 2.0, 4.0]  # step 3 (the reset) starts nothing; step 5's window waits
    by_start = {float(o): (float(r), float(d), float(x)) for o, r, d, x in zip(out.obs[:, 0], out.rewards, out.discounts, out.next_obs[:, 0])}
    assert by_start[1.0] == (1.5, 0.0, 99.0) and by_start[2.0] == (1.0, 0.0, 99.0)
    assert by_start[4.0] == (1.5, 0.25, 6.0)


# --- replay --------------------------------------------------------------------------------------
def test_binary_planes_are_bit_packed_and_read_back_exactly() -> None:
    field = Field(10, (3, 7, 7), np.float32, packable=True)
    planes = (np.random.default_rng(0).random((4, 3, 7, 7)) < 0.3).astype(np.float32)
    field.write(np.arange(4), planes)
    assert field.packed and field.data.shape == (10, 19)
    np.testing.assert_array_equal(field.read(np.arange(4)), planes)
    field.write(np.array([5]), np.full((1, 3, 7, 7), 0.5, np.float32))  # not 0/1: unpacks, loses nothing
    assert not field.packed
    np.testing.assert_array_equal(field.read(np.arange(4)), planes)
    assert field.read(np.array([5]))[0, 0, 0, 0] == 0.5


def test_a_million_7x7_hex_transitions_fit_in_well_under_a_gigabyte() -> None:
    from rlagent.algos.n_step import Transitions

    space = spaces.Dict({"observation": spaces.Box(0.0, 1.0, (3, 7, 7), np.float32), "action_mask": spaces.Box(0, 1, (50,), np.int8)})
    example = Transitions(
        obs={"observation": np.zeros((1, 3, 7, 7), np.float32), "action_mask": np.ones((1, 50), np.int8)},
        actions=np.zeros(1, np.int64),
        rewards=np.zeros(1, np.float32),
        discounts=np.zeros(1, np.float32),
        next_obs={"observation": np.zeros((1, 3, 7, 7), np.float32), "action_mask": np.ones((1, 50), np.int8)},
    )
    buffer = ReplayBuffer(1_000_000, space, example, prioritized=True)
    assert buffer.nbytes < 100e6  # ~94 MB with the priority trees (fields alone ~60 MB)
    unpacked_per_transition = ReplayBuffer(1000, space, example, compact=False).nbytes / 1000  # 1,292 bytes
    assert unpacked_per_transition > 15 * (buffer.nbytes - buffer.tree.sums.nbytes - buffer.tree.mins.nbytes) / 1e6  # 62 bytes packed


@pytest.mark.parametrize("fast", ["auto", "off"])
def test_importance_weights_scale_each_samples_gradient(fast: str) -> None:
    """Tianshou drops the weights under its clipped loss: here the gradient the learner steps on
    must carry them, by autograd and by the hand-derived TD gradient alike."""
    from rlagent.fast.paths import select_fast_paths

    config = RainbowConfig(
        double=False,
        dueling=False,
        prioritized=True,
        n_step=1,
        distributional=False,
        noisy=False,
        learning_starts=0,
        batch_size=6,
        gradient_steps=1,
        max_grad_norm=None,
    )
    network = _network()
    learner = Rainbow(network, config, 100, torch.device("cpu"), seed=0, fast=select_fast_paths(network, fast))
    sample = Sample(
        _obs(6), np.array([0, 1, 2, 3, 0, 1]), np.ones(6, np.float32), np.full(6, 0.9, np.float32), _obs(6, seed=1), np.arange(6), np.ones(6, np.float32)
    )

    class FixedReplay:
        size = 6

        def __init__(self, weights: np.ndarray) -> None:
            self.weights = weights

        def sample(self, batch_size, rng, beta):
            return Sample(**{**sample.__dict__, "weights": self.weights})

        def update_priorities(self, indices, priorities):
            pass

    def gradient(weights: np.ndarray) -> torch.Tensor:
        grads = []
        learner.gradient.clip_and_step = lambda: grads.append(torch.cat([p.grad.flatten().clone() for p in network.parameters()]))
        learner.replay = FixedReplay(np.asarray(weights, np.float32))
        learner._train()
        return grads[0]

    ones = gradient(np.ones(6))
    halved = gradient(np.full(6, 0.5))
    first_only = gradient(np.array([1, 0, 0, 0, 0, 0]))
    assert learner.analytic_used == (fast == "auto")
    assert torch.allclose(halved, ones / 2, atol=1e-7)
    assert not torch.allclose(first_only, ones / 6, atol=1e-4)


def test_priorities_follow_the_td_error_and_weights_the_priorities() -> None:
    from rlagent.algos.n_step import Transitions

    rng = np.random.default_rng(0)
    example = Transitions(
        obs=np.zeros((8, 2), np.float32),
        actions=np.zeros(8, np.int64),
        rewards=np.zeros(8, np.float32),
        discounts=np.ones(8, np.float32),
        next_obs=np.zeros((8, 2), np.float32),
    )
    buffer = ReplayBuffer(8, spaces.Box(-1, 1, (2,)), example, prioritized=True, alpha=0.5)
    buffer.add(example)
    buffer.update_priorities(np.arange(8), np.array([1.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 16.0]))
    counts = np.bincount(buffer.sample(20000, rng, beta=1.0).indices, minlength=8)
    share = counts / counts.sum()
    expected = np.sqrt([1, 4, 1, 1, 1, 1, 1, 16]) / np.sqrt([1, 4, 1, 1, 1, 1, 1, 16]).sum()
    np.testing.assert_allclose(share, expected, atol=0.01)
    drawn = buffer.sample(8, rng, beta=0.5)
    p = np.sqrt(np.array([1, 4, 1, 1, 1, 1, 1, 16.0]))[drawn.indices]
    np.testing.assert_allclose(drawn.weights, (p / 1.0) ** -0.5, rtol=1e-6)
    buffer.add(
        Transitions(
            obs=np.zeros((1, 2), np.float32),
            actions=np.zeros(1, np.int64),
            rewards=np.zeros(1, np.float32),
            discounts=np.ones(1, np.float32),
            next_obs=np.zeros((1, 2), np.float32),
        )
    )
    assert buffer.tree.priorities(np.array([0]))[0] == pytest.approx(4.0)  # a new transition gets the largest priority


def test_beta_anneals_to_one_over_the_run_and_is_logged() -> None:
    learner = _learner(prioritized=True, beta_start=0.4)
    assert learner.beta() == pytest.approx(0.4)
    learner.updates_done = 50
    assert learner.beta() == pytest.approx(0.7)
    learner.updates_done = 100
    assert learner.beta() == pytest.approx(1.0)


# --- config --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "override, message",
    [
        ("rainbow.n_step=0", "rainbow.n_step must be a positive"),
        ("rainbow.v_min=200", "rainbow.v_min must be below rainbow.v_max"),
        ("rainbow.loss=l1", "rainbow.loss must be one of huber, mse"),
        ("rainbow.tau=0", "rainbow.tau must be in"),
        ("rainbow.priority_eps=0", "rainbow.priority_eps must be a positive"),
        ("rainbow.batch_size=64", None),
        ("dqn.batch_size=200000", "must not exceed"),
    ],
)
def test_bad_rainbow_settings_fail_with_one_line(override: str, message: str | None) -> None:
    from rlagent.config import resolve

    algo = override.split(".")[0]
    if message is None:
        assert resolve(algo, "CartPole-v1", overrides=[override]).algorithm.batch_size == 64
        return
    with pytest.raises(ConfigError, match=message) as error:
        resolve(algo, "CartPole-v1", overrides=[override])
    assert "\n" not in str(error.value)


def test_dqn_is_rainbow_with_every_part_off() -> None:
    from rlagent.config import resolve

    dqn = resolve("dqn", "CartPole-v1").algorithm
    assert not (dqn.double or dqn.dueling or dqn.prioritized or dqn.distributional or dqn.noisy) and dqn.n_step == 1
    rainbow = resolve("rainbow", "CartPole-v1").algorithm
    assert rainbow.double and rainbow.dueling and rainbow.prioritized and rainbow.distributional and rainbow.noisy and rainbow.n_step == 3


def test_epsilon_is_random_before_learning_starts_then_linear_then_final() -> None:
    learner = _learner(learning_starts=100, exploration_initial_eps=1.0, exploration_final_eps=0.1, exploration_fraction=0.5)
    assert learner.exploration_rate() == 1.0  # no steps yet: random actions, as in SB3
    learner.steps = 100
    assert learner.exploration_rate() == pytest.approx(1.0)
    learner.updates_done = 25  # a quarter of the run: half-way through the decay
    assert learner.exploration_rate() == pytest.approx(0.55)
    learner.updates_done = 80
    assert learner.exploration_rate() == pytest.approx(0.1)
    noisy = _learner(learning_starts=100, noisy=True)
    noisy.steps = 100
    assert noisy.exploration_rate() == 0.0  # noisy nets explore by their noise alone


@pytest.mark.parametrize("tau", [1.0, 0.25])
def test_target_follows_the_online_network_every_interval_of_env_steps(tau: float) -> None:
    learner = _learner(target_update_interval=10, tau=tau)
    with torch.no_grad():
        for p in learner.network.parameters():
            p.add_(1.0)  # the online network moved away from the target
    online = [p.detach().clone() for p in learner.network.parameters()]
    before = [p.detach().clone() for p in learner.target.parameters()]
    learner.steps = 9
    learner._update_target(0)  # no multiple of 10 crossed: unchanged
    assert all(torch.equal(a, b) for a, b in zip(learner.target.parameters(), before))
    learner.steps = 25
    learner._update_target(9)  # 10 and 20 crossed: two (Polyak) copies, as SB3's per-step ones
    keep = (1.0 - tau) ** 2
    for target, old, new in zip(learner.target.parameters(), before, online):
        assert torch.allclose(target, keep * old + (1 - keep) * new, atol=1e-6)
