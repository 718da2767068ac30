"""The DQN family's fast paths (rlagent.fast.td_gradient, rlagent.fast.q_actor) against torch:
the same loss, gradients and parameters as autograd, the same actions as QNetwork.act, and the
networks they do not cover left to torch."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagent.algos.rainbow import DQN_DEFAULTS, Rainbow, RainbowConfig
from rlagent.algos.replay import Sample
from rlagent.fast.paths import select_fast_paths
from rlagent.fast.q_actor import numpy_q_actor
from rlagent.fast.td_gradient import td_gradient
from rlagent.nets import PolicyConfig
from rlagent.nets.q_network import build_q_network

ROWS, ACTIONS = 48, 5
FLAT = spaces.Box(-2.0, 2.0, (6,), np.float32)
MASKED = spaces.Dict({"obs": spaces.Box(-2.0, 2.0, (6,), np.float32), "action_mask": spaces.Box(0, 1, (ACTIONS,), np.int8)})


def observations(space: spaces.Space, rng: np.random.Generator, rows: int = ROWS) -> object:
    x = rng.normal(size=(rows, 6)).astype(np.float32)
    if not isinstance(space, spaces.Dict):
        return x
    mask = (rng.random((rows, ACTIONS)) < 0.5).astype(np.int8)
    mask[0] = 0  # a finished game's final observation: no legal action (its discount is 0)
    mask[1] = 0
    mask[1, 3] = 1  # one legal action only
    return {"obs": x, "action_mask": mask}


def sample(space: spaces.Space, rng: np.random.Generator, weighted: bool) -> Sample:
    discounts = np.full(ROWS, 0.99, np.float32)
    discounts[rng.random(ROWS) < 0.2] = 0.0
    discounts[0] = 0.0
    return Sample(
        obs=observations(space, rng),
        actions=rng.integers(0, ACTIONS, ROWS),
        rewards=(3.0 * rng.normal(size=ROWS)).astype(np.float32),  # |TD error| on both sides of huber's 1
        discounts=discounts,
        next_obs=observations(space, rng),
        indices=np.arange(ROWS),
        weights=rng.uniform(0.2, 1.0, ROWS).astype(np.float32) if weighted else np.ones(ROWS, np.float32),
    )


def learners(space: spaces.Space, activation: str = "relu", hidden: tuple[int, ...] = (32, 32), **parts) -> tuple[Rainbow, Rainbow]:
    """(by hand, autograd): two learners on equal copies of one network."""
    config = RainbowConfig(**{**DQN_DEFAULTS, "max_grad_norm": 0.5, "learning_rate": 1e-2, **parts})
    network = build_q_network(space, spaces.Discrete(ACTIONS), PolicyConfig(hidden_sizes=hidden, activation=activation), dueling=config.dueling)
    torch.manual_seed(0)
    with torch.no_grad():  # a target unlike the online network, so a mix-up shows
        for p in network.parameters():
            p.add_(0.05 * torch.randn_like(p))
    fast = Rainbow(network, config, 100, torch.device("cpu"), seed=0, fast=select_fast_paths(network, "auto"))
    plain_network = copy.deepcopy(network)
    plain = Rainbow(plain_network, config, 100, torch.device("cpu"), seed=0, fast=select_fast_paths(plain_network, "off"))
    with torch.no_grad():
        for learner in (fast, plain):
            for p in learner.target.parameters():
                p.mul_(0.9)
    assert fast.analytic is not None and plain.analytic is None
    return fast, plain


def autograd_step(learner: Rainbow, batch: Sample) -> tuple[float, np.ndarray]:
    per_sample, _, td_error = learner.sample_losses(batch)
    loss = (torch.as_tensor(batch.weights) * per_sample).mean()
    learner.gradient.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return float(loss.detach()), td_error.detach().numpy()


CASES = [
    dict(space=FLAT),
    dict(space=FLAT, double=True),
    dict(space=FLAT, dueling=True, loss="mse"),
    dict(space=MASKED),
    dict(space=MASKED, double=True, dueling=True),
    dict(space=MASKED, double=True, loss="mse", weighted=True),
    dict(space=FLAT, dueling=True, weighted=True, activation="tanh"),
    dict(space=MASKED, double=True, hidden=()),
    dict(space=FLAT, dueling=True, hidden=(16,)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={getattr(v, '__name__', v) if k != 'space' else type(v).__name__}" for k, v in c.items()))
def test_loss_gradients_and_parameters_equal_autograd_s(case: dict) -> None:
    case = dict(case)
    space, weighted = case.pop("space"), case.pop("weighted", False)
    fast, plain = learners(space, **case)
    rng = np.random.default_rng(1)
    for _ in range(4):
        batch = sample(space, rng, weighted)
        result = fast.analytic.step(batch)
        loss, td_error = autograd_step(plain, batch)
        assert result.loss == pytest.approx(loss, rel=1e-5, abs=1e-6)
        np.testing.assert_allclose(result.td_error, td_error, rtol=1e-5, atol=1e-5)
        for p, q in zip(fast.network.parameters(), plain.network.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
        fast.gradient.clip_and_step()  # the learner's step ...
        plain.gradient.apply()  # ... and the shared one: the same clipping
    for p, q in zip(fast.network.parameters(), plain.network.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("max_grad_norm", [None, 1e-3, 1e3])
def test_clip_and_step_clips_and_steps_as_apply_does(max_grad_norm: float | None) -> None:
    fast, plain = learners(FLAT, max_grad_norm=max_grad_norm)
    batch = sample(FLAT, np.random.default_rng(3), True)
    for _ in range(3):
        for learner in (fast, plain):
            autograd_step(learner, batch)
        fast.gradient.clip_and_step()
        plain.gradient.apply()
        for p, q in zip(fast.network.parameters(), plain.network.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def rollout_updates(learner: Rainbow, space: spaces.Space, updates: int) -> list[dict[str, float]]:
    """Feed the learner's replay directly and run whole updates (``_train``)."""
    from rlagent.algos.n_step import Transitions

    rng = np.random.default_rng(5)
    batch = sample(space, rng, False)
    transitions = Transitions(batch.obs, batch.actions, batch.rewards, batch.discounts, batch.next_obs)
    from rlagent.algos.replay import ReplayBuffer

    cfg = learner.config
    learner.replay = ReplayBuffer(cfg.buffer_size, space, transitions, cfg.prioritized, cfg.alpha, cfg.compact_replay)
    learner.replay.add(transitions)
    return [learner._train() for _ in range(updates)]


@pytest.mark.parametrize("prioritized", [False, True])
def test_whole_updates_match_autograd_s_metrics_and_parameters(prioritized: bool) -> None:
    fast, plain = learners(MASKED, double=True, dueling=True, prioritized=prioritized, gradient_steps=6, batch_size=16, buffer_size=64)
    fast_rows, plain_rows = rollout_updates(fast, MASKED, 3), rollout_updates(plain, MASKED, 3)
    assert fast.analytic_used and not plain.analytic_used
    for a, b in zip(fast_rows, plain_rows):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6), key
    for p, q in zip(fast.network.parameters(), plain.network.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    if prioritized:
        np.testing.assert_allclose(fast.replay.tree.priorities(np.arange(ROWS)), plain.replay.tree.priorities(np.arange(ROWS)), rtol=1e-4)


def test_networks_the_fast_paths_do_not_cover_keep_torch() -> None:
    space, actions = FLAT, spaces.Discrete(ACTIONS)
    for parts in (dict(distributional=True), dict(noisy=True)):
        config = RainbowConfig(**{**DQN_DEFAULTS, **parts})
        network = build_q_network(space, actions, PolicyConfig(hidden_sizes=(8,)), **parts)
        assert numpy_q_actor(network) is None and td_gradient(network, copy.deepcopy(network), config) is None
        learner = Rainbow(network, config, 10, torch.device("cpu"))
        assert learner.analytic is None
    board = spaces.Box(0, 1, (3, 5, 5), np.float32)
    network = build_q_network(board, spaces.Discrete(25), PolicyConfig(encoder="cnn", board_channels=4, board_blocks=1))
    assert numpy_q_actor(network) is None and td_gradient(network, copy.deepcopy(network), RainbowConfig(**DQN_DEFAULTS)) is None
    float64 = build_q_network(space, actions, PolicyConfig(hidden_sizes=(8,))).double()
    assert numpy_q_actor(float64) is None


def test_a_frozen_layer_or_a_hook_switches_the_update_to_autograd() -> None:
    fast, _ = learners(FLAT, gradient_steps=2, batch_size=16, buffer_size=64)
    rollout_updates(fast, FLAT, 1)
    assert fast.analytic_used
    handle = fast.network.encoder.layers[0].register_forward_hook(lambda module, args, output: None)
    rollout_updates(fast, FLAT, 1)
    assert not fast.analytic_used
    handle.remove()
    fast.network.head.advantage.bias.requires_grad_(False)
    rollout_updates(fast, FLAT, 1)
    assert not fast.analytic_used


@pytest.mark.parametrize("space", [FLAT, MASKED], ids=["flat", "masked"])
@pytest.mark.parametrize("dueling", [False, True])
@pytest.mark.parametrize("epsilon", [0.0, 0.3, 1.0])
def test_the_numpy_actor_acts_as_the_network_does(space: spaces.Space, dueling: bool, epsilon: float) -> None:
    network = build_q_network(space, spaces.Discrete(ACTIONS), PolicyConfig(hidden_sizes=(32, 32), activation="relu"), dueling=dueling)
    network.exploration_rate = epsilon
    actor = numpy_q_actor(network)
    assert actor is not None and actor.applies()
    rng = np.random.default_rng(2)
    mine, theirs = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    for deterministic in (False, True):
        for _ in range(5):
            obs = observations(space, rng, rows=7)
            a, log_probs, values, state = actor.act(obs, None, None, deterministic=deterministic, generator=mine)
            b, _, expected, _ = network.act(obs, None, None, deterministic=deterministic, generator=theirs)
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
            assert a.dtype == np.int64 and values.dtype == np.float32 and not log_probs.any() and state is None
    assert torch.equal(mine.get_state(), theirs.get_state())  # the same draws, in the same shapes
    with torch.no_grad():  # refresh picks up the learner's changes
        network.head.advantage.bias.add_(1.0)
    actor.refresh()
    obs = observations(space, rng, rows=3)
    network.exploration_rate = 0.0
    np.testing.assert_allclose(actor.act(obs)[2], network.act(obs)[2], rtol=1e-5, atol=1e-6)


def dqn_trainer(tmp_path, fast: str, *overrides: str):
    from rlagent.config import resolve
    from rlagent.run import Trainer

    config = resolve(
        "dqn",
        "CartPole-v1",
        overrides=[
            "run.progress=false",
            "dqn.learning_starts=128",
            "dqn.train_freq=32",
            "dqn.gradient_steps=4",
            "dqn.batch_size=16",
            "dqn.target_update_interval=64",
            "dqn.exploration_fraction=0.5",
            "policy.hidden_sizes=[32,32]",
            "policy.activation=relu",
            *overrides,
        ],
        extra={"total_steps": 640, "seed": 3, "fast": fast, "logdir": str(tmp_path / fast)},
    )
    return Trainer(config)


def test_a_dqn_run_is_the_same_either_way_and_says_which_paths_it_took(tmp_path) -> None:
    import json

    from rlagent.monitor.logger import read_metrics

    runs = {}
    for mode, actor, gradient in (("auto", "numpy", "analytic"), ("off", "torch", "autograd")):
        run = dqn_trainer(tmp_path, mode, "dqn.double=true")
        run.train()
        record = json.loads((run.run_dir / "config.json").read_text())
        assert record["fast_paths"] == {"mode": mode, "actor": actor, "gradient": gradient}
        rows = read_metrics(run.run_dir)
        used = 1.0 if mode == "auto" else 0.0
        assert all(row["fast/numpy_actor"] == used for row in rows)
        assert [row["fast/analytic_gradient"] for row in rows if "train/loss" in row] and all(
            row["fast/analytic_gradient"] == used for row in rows if "train/loss" in row
        )
        runs[mode] = (rows, [p.detach().clone() for p in run.policy.parameters()])
    (fast_rows, fast_params), (plain_rows, plain_params) = runs["auto"], runs["off"]
    assert [row["rollout/ep_len_mean"] for row in fast_rows] == [row["rollout/ep_len_mean"] for row in plain_rows]
    for key in ("train/loss", "train/q_mean", "train/td_error"):
        np.testing.assert_allclose([r[key] for r in fast_rows if key in r], [r[key] for r in plain_rows if key in r], rtol=1e-3, atol=1e-6)
    for fast, plain in zip(fast_params, plain_params):
        torch.testing.assert_close(fast, plain, rtol=1e-3, atol=1e-5)
