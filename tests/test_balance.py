"""Gradient balance on the shared trunk, the dominance warning, and per-layer update ratios."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlagent.monitor.balance import WeightSnapshot, dominance, trunk_gradient_balance
from rlagent.nets.policy import PolicyConfig, build_policy


class TwoHeads(nn.Module):
    """A shared tanh trunk read by two heads with identical weights, so equal losses pull equally."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
        self.actor = nn.Linear(8, 1)
        self.critic = copy.deepcopy(self.actor)

    def losses(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.trunk(x)
        return self.actor(features).square().mean(), self.critic(features).square().mean()


def _x() -> Tensor:
    return torch.randn(32, 4, generator=torch.Generator().manual_seed(1))


def _reference_norm(model: TwoHeads, which: int, scale: float) -> float:
    """The same norm the plain way: backward on a copy, then read its ``.grad``."""
    clone = copy.deepcopy(model)
    (scale * clone.losses(_x())[which]).backward()
    return float(torch.sqrt(sum(p.grad.double().square().sum() for p in clone.trunk.parameters())))


def test_norms_match_backward_and_scale_with_the_loss() -> None:
    model = TwoHeads()
    shared = list(model.trunk.parameters())
    actor, critic = model.losses(_x())
    balanced = trunk_gradient_balance(shared, actor, critic)
    assert balanced["grad/trunk_from_actor"] == pytest.approx(_reference_norm(model, 0, 1.0), rel=1e-6)
    assert balanced["grad/trunk_from_critic"] == pytest.approx(_reference_norm(model, 1, 1.0), rel=1e-6)
    assert balanced["grad/trunk_actor_critic_ratio"] == pytest.approx(1.0)
    assert dominance(balanced["grad/trunk_actor_critic_ratio"], 10.0) is None

    loud_critic = trunk_gradient_balance(shared, actor, 1000.0 * critic)
    assert loud_critic["grad/trunk_from_critic"] == pytest.approx(1000.0 * balanced["grad/trunk_from_critic"], rel=1e-6)
    assert loud_critic["grad/trunk_actor_critic_ratio"] == pytest.approx(balanced["grad/trunk_actor_critic_ratio"] / 1000.0, rel=1e-6)
    warning = dominance(loud_critic["grad/trunk_actor_critic_ratio"], 10.0)
    assert warning is not None and "critic's gradient on the shared trunk is 1000x the actor's" in warning
    assert "ppo.value_loss_coef" in warning

    loud_actor = trunk_gradient_balance(shared, 1000.0 * actor, critic)
    assert loud_actor["grad/trunk_actor_critic_ratio"] == pytest.approx(1000.0, rel=1e-6)
    warning = dominance(loud_actor["grad/trunk_actor_critic_ratio"], 10.0)
    assert warning is not None and "actor's gradient on the shared trunk is 1000x the critic's" in warning
    assert "policy.separate_critic=true" in warning


def test_grad_is_untouched_and_the_graph_survives() -> None:
    model = TwoHeads()
    marker = torch.full_like(model.trunk[0].weight, 7.0)
    model.trunk[0].weight.grad = marker.clone()
    actor, critic = model.losses(_x())
    trunk_gradient_balance(list(model.trunk.parameters()), actor, critic)
    assert torch.equal(model.trunk[0].weight.grad, marker)
    assert model.trunk[0].bias.grad is None and model.actor.weight.grad is None and model.critic.weight.grad is None
    (actor + critic).backward()  # retain_graph: the caller's own backward still works


def test_a_critic_that_does_not_reach_the_trunk() -> None:
    model = TwoHeads()
    actor, _ = model.losses(_x())
    detached_critic = model.critic(model.trunk(_x()).detach()).square().mean()
    metrics = trunk_gradient_balance(list(model.trunk.parameters()), actor, detached_critic)
    assert metrics["grad/trunk_from_critic"] == 0.0
    assert metrics["grad/trunk_actor_critic_ratio"] == math.inf
    assert "no gradient" in dominance(math.inf, 10.0)
    nothing_shared = trunk_gradient_balance([], actor, detached_critic)
    assert nothing_shared["grad/trunk_from_actor"] == 0.0 and math.isnan(nothing_shared["grad/trunk_actor_critic_ratio"])
    assert dominance(math.nan, 10.0) is None
    with pytest.raises(ValueError, match="factor"):
        dominance(1.0, 1.0)


def test_balance_on_an_actor_critic_trunk() -> None:
    torch.manual_seed(0)
    policy = build_policy(spaces.Box(-1.0, 1.0, (4,)), spaces.Discrete(3), PolicyConfig())
    out = policy(_x())
    actor_loss = -(out.dist.log_prob(torch.zeros(32, dtype=torch.long)).mean()) - 0.01 * out.dist.entropy().mean()
    critic_loss = 0.5 * (out.value - 1.0).square().mean()
    metrics = trunk_gradient_balance(policy.parameter_groups()["trunk"], actor_loss, critic_loss)
    assert metrics["grad/trunk_from_actor"] > 0.0 and metrics["grad/trunk_from_critic"] > 0.0
    assert all(p.grad is None for p in policy.parameters())


def test_update_ratio_is_zero_untouched_and_exact_for_a_known_step() -> None:
    torch.manual_seed(0)
    policy = build_policy(spaces.Box(-1.0, 1.0, (4,)), spaces.Discrete(3), PolicyConfig())
    snapshot = WeightSnapshot(policy)
    ratios = snapshot.update_ratios(policy)
    assert set(ratios) == {
        "update_ratio/actor.encoder.layers.0",
        "update_ratio/actor.encoder.layers.1",
        "update_ratio/policy_head.linear",
        "update_ratio/value_head.linear",
    }
    assert all(value == 0.0 for value in ratios.values())

    layer = policy.actor.encoder.layers[1]
    with torch.no_grad():
        size = torch.cat([layer.weight.flatten(), layer.bias]).double().norm()
        layer.weight.mul_(1.01)  # a step of 0.01 W
        layer.bias.add_(0.02)  # and 0.02 on each of the 64 biases
        step = torch.cat([0.01 * layer.weight.flatten() / 1.01, torch.full((64,), 0.02)]).double().norm()
    ratios = snapshot.update_ratios(policy)
    assert ratios["update_ratio/actor.encoder.layers.1"] == pytest.approx(float(step / size), rel=1e-5)
    assert ratios["update_ratio/actor.encoder.layers.0"] == 0.0


def test_update_ratio_of_a_zero_initialised_parameter() -> None:
    torch.manual_seed(0)
    policy = build_policy(spaces.Box(-1.0, 1.0, (4,)), spaces.Box(-1.0, 1.0, (2,)), PolicyConfig())
    snapshot = WeightSnapshot(policy)  # the Gaussian head's log_std starts at 0
    assert snapshot.update_ratios(policy)["update_ratio/policy_head"] == 0.0
    with torch.no_grad():
        policy.policy_head.log_std.add_(0.1)
    assert snapshot.update_ratios(policy)["update_ratio/policy_head"] == math.inf


def test_dominance_fires_just_past_the_factor_either_way() -> None:
    assert dominance(9.0, 10.0) is None and dominance(1 / 9, 10.0) is None
    assert "actor's gradient" in dominance(11.0, 10.0)
    assert "critic's gradient" in dominance(1 / 11, 10.0)
    assert "reinforce.value_loss_coef" in dominance(1 / 11, 10.0, section="reinforce")
