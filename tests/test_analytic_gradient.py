"""The hand-derived PPO/A2C gradient (rlagent.fast.analytic_loss) equals autograd's, term by term
and through whole updates, and is used exactly where it applies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagent.algos.ppo import PPO, OnPolicyConfig
from rlagent.fast.loss_gradients import CategoricalTerms, clipped_surrogate_grad, value_loss_grad
from rlagent.fast.paths import select_fast_paths
from rlagent.losses import clipped_surrogate, value_loss
from rlagent.nets import PolicyConfig, build_policy
from rlagent.nets.distributions import Categorical
from rlagent.rollout import Rollout

ROWS = 96
VECTOR_OBS = spaces.Box(-np.inf, np.inf, (5,), np.float32)
MASKED_OBS = spaces.Dict({"observation": spaces.Box(-1.0, 1.0, (6,), np.float32), "action_mask": spaces.Box(0, 1, (4,), np.int8)})


def random_batch(space: spaces.Space, actions: int, seed: int, rows: int = ROWS) -> dict[str, torch.Tensor]:
    """A minibatch whose old log-probabilities put the ratios on both sides of any clip range."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(space, spaces.Dict):
        mask = torch.rand(rows, actions, generator=g) < 0.6
        mask[torch.arange(rows), torch.randint(actions, (rows,), generator=g)] = True  # one legal at least
        legal = mask.float() / mask.float().sum(1, keepdim=True)
        chosen = torch.multinomial(legal, 1, generator=g).squeeze(1)
        obs = {"observation": torch.rand(rows, 6, generator=g) * 2 - 1, "action_mask": mask.to(torch.int8)}
    else:
        chosen = torch.randint(actions, (rows,), generator=g)
        obs = torch.randn(rows, *space.shape, generator=g)
    return {
        "obs": obs,
        "actions": chosen,
        "log_probs": -torch.rand(rows, generator=g) * 2.0,
        "advantages": torch.randn(rows, generator=g) * 3.0,
        "returns": torch.rand(rows, generator=g) * 2 - 1,
        "values": torch.rand(rows, generator=g) * 1.6 - 0.8,
    }


def policy_for(space: spaces.Space, **config) -> torch.nn.Module:
    torch.manual_seed(1)
    # A larger head init than the default 0.01, so the logits (and the entropy's gradient) are not tiny.
    return build_policy(space, spaces.Discrete(4), PolicyConfig(encoder="mlp", head_init_std=1.0, **config))


def as_numpy(batch: dict) -> dict:
    return {k: as_numpy(v) if isinstance(v, dict) else v.numpy() for k, v in batch.items()}


def gradients(algo: PPO, batch: dict, clip: float | None, analytic: bool) -> tuple[dict[str, float], list[torch.Tensor]]:
    for p in algo.gradient.parameters:
        p.grad = None
    if analytic:  # it reads numpy minibatches
        terms = algo.analytic.losses(as_numpy(batch), clip)
        algo.analytic.backward()
    else:
        terms = algo.autograd.terms(batch, clip)
        algo.autograd.total(terms).backward()
    return {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in terms.items()}, [p.grad.clone() for p in algo.gradient.parameters]


NETWORKS = [
    (VECTOR_OBS, {}),
    (VECTOR_OBS, {"separate_critic": True}),
    (VECTOR_OBS, {"activation": "relu", "hidden_sizes": (16, 8, 8)}),
    (VECTOR_OBS, {"hidden_sizes": ()}),
    (MASKED_OBS, {"separate_critic": True}),
    (MASKED_OBS, {"activation": "relu"}),
]
LOSSES = [
    {},
    {"clip_param": None, "normalize_advantage": False},
    {"entropy_coef": 0.05, "actor_loss_coef": 0.7, "value_loss_coef": 2.0},
    {"value_loss": "huber", "value_clip": 0.1},
    {"value_loss": "quartic", "clip_param": 0.05},
    {"value_loss": "bce", "value_clip": 0.2, "entropy_coef": 0.01},
    {"value_loss": "mse", "value_clip": 0.05, "value_loss_coef": 1.0, "actor_loss_coef": 1.0},
]


@pytest.mark.parametrize("space,network", NETWORKS)
@pytest.mark.parametrize("loss", LOSSES)
def test_analytic_gradient_equals_autograd(space: spaces.Space, network: dict, loss: dict) -> None:
    config = OnPolicyConfig(**loss)
    algo = PPO(policy_for(space, **network), config, total_updates=10, device=torch.device("cpu"))
    assert algo.analytic is not None
    batch = random_batch(space, 4, seed=len(str(network)) + len(str(loss)))
    clip = config.clip_param
    ours, ours_grads = gradients(algo, batch, clip, analytic=True)
    reference, reference_grads = gradients(algo, batch, clip, analytic=False)
    for key in reference:
        assert ours[key] == pytest.approx(reference[key], rel=1e-5, abs=1e-6), key
    for mine, theirs in zip(ours_grads, reference_grads):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("rows", [1, 2, 3])
@pytest.mark.parametrize("space,network", [NETWORKS[1], NETWORKS[4]])
def test_tiny_minibatches_match_autograd_too(rows: int, space: spaces.Space, network: dict) -> None:
    # One row: the advantage is only centred (no std); two: the smallest batch with a std.
    config = OnPolicyConfig(entropy_coef=0.01, value_clip=0.1)
    algo = PPO(policy_for(space, **network), config, total_updates=10, device=torch.device("cpu"))
    batch = random_batch(space, 4, seed=rows, rows=rows)
    ours, ours_grads = gradients(algo, batch, 0.2, analytic=True)
    reference, reference_grads = gradients(algo, batch, 0.2, analytic=False)
    assert ours == pytest.approx(reference, rel=1e-5, abs=1e-6)
    for mine, theirs in zip(ours_grads, reference_grads):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


def test_the_clipped_surrogate_gradient_follows_the_branch_autograd_takes() -> None:
    # Ratios inside and on both sides of the range, with advantages of both signs and zero.
    log_ratio = torch.tensor([-0.5, -0.2, -0.05, 0.0, 0.05, 0.2, 0.5] * 3)
    advantages = torch.tensor([1.0] * 7 + [-1.0] * 7 + [0.0] * 7)
    old = torch.zeros_like(log_ratio)
    new = log_ratio.clone().requires_grad_(True)
    loss, kl, fraction = clipped_surrogate(new, old, advantages, 0.1)
    loss.backward()
    ours = clipped_surrogate_grad(log_ratio.numpy(), old.numpy(), advantages.numpy(), 0.1)
    assert ours[0] == pytest.approx(float(loss.detach()))
    assert ours[1] == pytest.approx(float(kl)) and ours[2] == pytest.approx(float(fraction))
    torch.testing.assert_close(torch.from_numpy(ours[3]), new.grad)


@pytest.mark.parametrize("kind", ["mse", "huber", "bce", "quartic"])
@pytest.mark.parametrize("clip", [None, 0.1])
def test_value_loss_gradient_equals_autograd(kind: str, clip: float | None) -> None:
    g = torch.Generator().manual_seed(3)
    raw = (torch.randn(200, generator=g) * 1.5).requires_grad_(True)
    returns, old = torch.rand(200, generator=g) * 2 - 1, torch.rand(200, generator=g) * 1.8 - 0.9
    loss = value_loss(raw, returns, kind, old, clip)
    loss.backward()
    ours, grad = value_loss_grad(raw.detach().numpy(), returns.numpy(), kind, old.numpy(), clip)
    assert ours == pytest.approx(float(loss.detach()), rel=1e-6)
    torch.testing.assert_close(torch.from_numpy(grad), raw.grad)


def test_categorical_terms_match_the_distribution_and_its_gradient() -> None:
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(50, 6, generator=g).requires_grad_(True)
    mask = torch.rand(50, 6, generator=g) < 0.7
    mask[:, 2] = True
    actions = torch.full((50,), 2)
    dist = Categorical(logits, mask)
    weights = torch.randn(50, generator=g)
    ((weights * dist.log_prob(actions)).sum() - 0.3 * dist.entropy().mean()).backward()
    terms = CategoricalTerms(logits.detach().numpy(), mask.numpy(), actions.numpy())
    torch.testing.assert_close(torch.from_numpy(terms.log_probs), dist.log_prob(actions).detach())
    torch.testing.assert_close(torch.from_numpy(terms.entropy), dist.entropy().detach())
    grad = torch.from_numpy(terms.logits_grad(weights.numpy(), 0.3))
    torch.testing.assert_close(grad, logits.grad)
    assert torch.all(grad[~mask] == 0)


def rollout_from(batch: dict, steps: int, envs: int) -> Rollout:
    g = np.random.default_rng(5)
    obs = batch["obs"].numpy().reshape(steps, envs, -1)
    return Rollout(
        obs=obs,
        actions=batch["actions"].numpy().reshape(steps, envs),
        log_probs=batch["log_probs"].numpy().reshape(steps, envs),
        values=batch["values"].numpy().reshape(steps, envs),
        rewards=g.normal(size=(steps, envs)).astype(np.float32),
        terminated=g.random((steps, envs)) < 0.1,
        truncated=np.zeros((steps, envs), bool),
        final_obs=np.zeros_like(obs),
        episode_starts=np.zeros((steps, envs), bool),
        states=None,
        last_values=np.zeros(envs, np.float32),
    )


@pytest.mark.parametrize("loss", [{"num_epoch": 3, "num_minibatch": 4}, {"optimizer": "rmsprop", "clip_param": None, "num_epoch": 1, "num_minibatch": 1}])
def test_whole_updates_end_at_the_same_parameters_as_with_autograd(loss: dict) -> None:
    config = OnPolicyConfig(**loss)
    runs = []
    for analytic in (True, False):
        policy = policy_for(VECTOR_OBS, separate_critic=True)
        algo = PPO(policy, config, 5, torch.device("cpu"), fast=select_fast_paths(policy, "auto" if analytic else "off"))
        assert (algo.analytic is not None) == analytic
        metrics = [algo.update(rollout_from(random_batch(VECTOR_OBS, 4, seed), 12, 8)) for seed in range(3)]
        runs.append((metrics, [p.detach().clone() for p in algo.policy.parameters()]))
    (ours, our_params), (reference, reference_params) = runs
    for mine, theirs in zip(our_params, reference_params):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
    for key in ("train/policy_gradient_loss", "train/value_loss", "train/approx_kl", "grad/norm_total", "grad/norm_trunk"):
        assert ours[-1][key] == pytest.approx(reference[-1][key], rel=1e-3, abs=1e-6), key


def test_autograd_keeps_every_policy_the_hand_derived_path_does_not_cover() -> None:
    board = spaces.Box(0, 1, (3, 5, 5), np.float32)
    cases = [
        build_policy(board, spaces.Discrete(25), PolicyConfig()),  # board ResNet
        build_policy(VECTOR_OBS, spaces.Discrete(3), PolicyConfig(recurrent="gru")),
        build_policy(VECTOR_OBS, spaces.Box(-1, 1, (2,), np.float32), PolicyConfig()),
        build_policy(VECTOR_OBS, spaces.MultiDiscrete([2, 3]), PolicyConfig()),
    ]
    for policy in cases:
        assert PPO(policy, OnPolicyConfig(), 1, torch.device("cpu")).analytic is None
    frozen = policy_for(VECTOR_OBS)
    frozen.actor.encoder.layers[0].weight.requires_grad_(False)
    assert PPO(frozen, OnPolicyConfig(), 1, torch.device("cpu")).analytic is None
    assert PPO(policy_for(VECTOR_OBS), dataclasses.replace(OnPolicyConfig()), 1, torch.device("cpu")).analytic is not None


def test_float64_fields_and_numpy_coefficients_give_autograd_s_gradients() -> None:
    config = OnPolicyConfig(actor_loss_coef=np.float64(0.8), value_loss_coef=np.float64(0.4), value_clip=np.float64(0.1))
    algo = PPO(policy_for(VECTOR_OBS), config, total_updates=10, device=torch.device("cpu"))
    batch = random_batch(VECTOR_OBS, 4, seed=9)
    wide = {k: v.double() if k in ("log_probs", "advantages", "returns", "values") else v for k, v in batch.items()}
    ours, ours_grads = gradients(algo, wide, 0.2, analytic=True)
    reference, reference_grads = gradients(algo, batch, 0.2, analytic=False)
    assert ours == pytest.approx(reference, rel=1e-5, abs=1e-6)
    for mine, theirs in zip(ours_grads, reference_grads):
        assert mine.dtype == torch.float32
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


def test_a_layer_frozen_or_a_hook_added_after_construction_switches_the_update_to_autograd() -> None:
    algo = PPO(policy_for(VECTOR_OBS), OnPolicyConfig(num_epoch=2, num_minibatch=2), 5, torch.device("cpu"))
    assert algo.analytic is not None and algo.analytic.applies()
    algo.update(rollout_from(random_batch(VECTOR_OBS, 4, 0), 12, 8))
    first = algo.policy.actor.encoder.layers[0].weight
    first.requires_grad_(False)
    assert not algo.analytic.applies()
    before = first.detach().clone()
    algo.update(rollout_from(random_batch(VECTOR_OBS, 4, 1), 12, 8))
    assert torch.equal(first, before)  # autograd leaves a frozen layer alone, and so must the update
    first.requires_grad_(True)
    assert algo.analytic.applies()
    seen = []
    handle = algo.policy.value_head.linear.weight.register_hook(lambda grad: seen.append(grad.shape))
    assert not algo.analytic.applies()
    algo.update(rollout_from(random_batch(VECTOR_OBS, 4, 2), 12, 8))
    assert len(seen) == 4  # the hook ran at every optimiser step (2 epochs x 2 minibatches)
    handle.remove()
    module_hook = algo.policy.actor.encoder.register_forward_hook(lambda *args: None)
    assert not algo.analytic.applies()
    module_hook.remove()
    assert algo.analytic.applies()
