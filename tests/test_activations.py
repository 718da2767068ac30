"""The activation monitor: dead ReLUs, saturated tanh units, hooks that leave no trace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlagent.monitor.activations import activation_metrics, activation_sites, measure_activations
from rlagent.nets.encoders import ConvBlock
from rlagent.nets.policy import ActorCritic, PolicyConfig, build_policy
from rlagent.nets.q_network import build_q_network

FLAT = spaces.Box(-1.0, 1.0, (4,))
BOARD = spaces.Box(0.0, 1.0, (3, 5, 5))


def _mlp(**config: object) -> ActorCritic:
    torch.manual_seed(0)
    return build_policy(FLAT, spaces.Discrete(3), PolicyConfig(**config))


def _board(**config: object) -> ActorCritic:
    torch.manual_seed(0)
    return build_policy(BOARD, spaces.Discrete(26), PolicyConfig(board_channels=8, board_blocks=2, **config))


def _flat_obs(batch: int = 256) -> torch.Tensor:
    # In [-1, 1]: with orthogonal weights of gain sqrt(2), |w.x| <= sqrt(2) * 2 < 10, so a -10 bias kills for sure.
    return torch.rand(batch, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1


def _board_obs(batch: int = 64) -> torch.Tensor:
    return torch.rand(batch, 3, 5, 5, generator=torch.Generator().manual_seed(1))


def _kill(module: nn.Module) -> None:
    """All biases to -10: every ReLU input stays negative, the textbook dead network."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)) and layer.bias is not None:
                layer.bias.fill_(-10.0)


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_sites_of_an_actor_critic_with_a_separate_recurrent_critic() -> None:
    policy = _mlp(recurrent="gru", separate_critic=True)
    sites = {site.name: site.kind for site in activation_sites(policy)}
    assert sites == {
        "actor.encoder.layers.0": "tanh",
        "actor.encoder.layers.1": "tanh",
        "actor.core.cell": "tanh",
        "critic.encoder.layers.0": "tanh",
        "critic.encoder.layers.1": "tanh",
        "critic.core.cell": "tanh",
        "policy_head": "linear",
        "value_head": "linear",
    }


def test_sites_of_board_policies_and_q_networks() -> None:
    board = {site.name: site.kind for site in activation_sites(_board())}
    assert board == {
        "actor.encoder.stem": "relu",
        "actor.encoder.blocks.0": "relu",
        "actor.encoder.blocks.1": "relu",
        "policy_head.cells": "linear",
        "policy_head.extra": "linear",
        "value_head": "linear",
    }
    q = build_q_network(FLAT, spaces.Discrete(3), PolicyConfig(activation="relu"), dueling=True, noisy=True)
    assert {site.name: site.kind for site in activation_sites(q)} == {
        "encoder.layers.0": "relu",
        "encoder.layers.1": "relu",
        "head.advantage": "linear",
        "head.value": "linear",
    }


def test_dead_mlp_is_reported_dead_and_a_fresh_one_is_not() -> None:
    obs = _flat_obs()
    healthy = _mlp(activation="relu")
    stats = measure_activations(healthy, lambda: healthy(obs))
    assert stats["actor.encoder.layers.0"].dead_fraction == 0.0
    assert stats["actor.encoder.layers.1"].dead_fraction < 0.5
    dead = _mlp(activation="relu")
    _kill(dead.actor)
    stats = measure_activations(dead, lambda: dead(obs))
    assert stats["actor.encoder.layers.0"].dead_fraction == 1.0
    assert stats["actor.encoder.layers.1"].dead_fraction == 1.0
    assert stats["actor.encoder.layers.0"].units == 64


def test_dead_board_resnet_is_reported_dead_and_a_fresh_one_is_not() -> None:
    obs = _board_obs()
    healthy = _board()
    stats = measure_activations(healthy, lambda: healthy(obs))
    assert stats["actor.encoder.stem"].dead_fraction == 0.0
    dead = _board()
    _kill(dead.actor)
    stats = measure_activations(dead, lambda: dead(obs))
    for name in ("actor.encoder.stem", "actor.encoder.blocks.0", "actor.encoder.blocks.1"):
        assert stats[name].dead_fraction == 1.0, name
        assert stats[name].units == 8


def test_a_channel_positive_at_one_cell_of_one_sample_is_alive() -> None:
    # Channel 0 always fires, channel 1 never, channel 2 only where input plane 0 is 1: one cell of one sample.
    block = ConvBlock(1, 3, norm="none", hex_kernel=False)
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[2, 0, 1, 1] = 1.0
        block.conv.bias.copy_(torch.tensor([1.0, -1.0, -0.5]))
    model = nn.Sequential(block)
    x = torch.zeros(8, 1, 5, 5)
    x[3, 0, 2, 4] = 1.0
    stats = measure_activations(model, lambda: model(x))
    assert stats["0"].dead_fraction == pytest.approx(1 / 3)


def test_saturated_tanh_matches_a_direct_count() -> None:
    obs = _flat_obs()
    policy = _mlp()
    with torch.no_grad():
        policy.actor.encoder.layers[0].weight.mul_(100.0)
    stats = measure_activations(policy, lambda: policy(obs))["actor.encoder.layers.0"]
    layer = policy.actor.encoder.layers[0]
    expected = torch.tanh(F.linear(obs, layer.weight, layer.bias)).detach().double()
    assert stats.saturated_fraction == pytest.approx(float((expected.abs() > 0.99).double().mean()))
    assert stats.saturated_fraction > 0.8
    assert stats.mean == pytest.approx(float(expected.mean()), abs=1e-6)
    assert stats.std == pytest.approx(float(expected.std(unbiased=False)), abs=1e-6)
    fresh = _mlp()
    assert measure_activations(fresh, lambda: fresh(obs))["actor.encoder.layers.0"].saturated_fraction < 0.05


def test_gru_core_statistics_cover_every_time_step() -> None:
    policy = _mlp(recurrent="gru", recurrent_hidden=16)
    steps, batch = 5, 32
    obs = torch.rand(steps, batch, 4, generator=torch.Generator().manual_seed(2)) * 2 - 1
    seen: list[torch.Tensor] = []
    handle = policy.actor.core.cell.register_forward_hook(lambda m, i, out: seen.append(out.detach().double()))
    try:
        with torch.no_grad():
            policy.forward_sequence(obs)
    finally:
        handle.remove()
    stats = measure_activations(policy, lambda: policy.forward_sequence(obs))["actor.core.cell"]
    everything = torch.cat(seen)
    assert (stats.kind, stats.units, stats.count) == ("tanh", 16, steps * batch * 16)
    assert stats.mean == pytest.approx(float(everything.mean()), abs=1e-9)
    assert stats.std == pytest.approx(float(everything.std(unbiased=False)), abs=1e-9)


def test_measuring_leaves_outputs_unchanged_and_no_hooks_behind() -> None:
    for policy, obs in ((_mlp(), _flat_obs()), (_mlp(activation="relu", recurrent="gru"), _flat_obs()), (_board(), _board_obs())):
        with torch.no_grad():
            before = policy(obs)
        during = []
        measure_activations(policy, lambda: during.append(policy(obs)))
        assert torch.equal(before.dist.logits, during[0].dist.logits)
        assert torch.equal(before.value, during[0].value)
        assert _no_hooks(policy)


def test_hooks_are_removed_when_forward_raises() -> None:
    policy = _board()

    def broken() -> None:
        policy(_board_obs())
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure_activations(policy, broken)
    assert _no_hooks(policy)


def test_metrics_carry_only_the_statistics_that_apply() -> None:
    obs = _flat_obs()
    relu = _mlp(activation="relu")
    metrics = activation_metrics(measure_activations(relu, lambda: relu(obs)))
    assert "act/actor.encoder.layers.0/dead_fraction" in metrics
    assert "act/actor.encoder.layers.0/saturated_fraction" not in metrics
    tanh = _mlp()
    metrics = activation_metrics(measure_activations(tanh, lambda: tanh(obs)))
    assert "act/actor.encoder.layers.0/saturated_fraction" in metrics
    assert "act/actor.encoder.layers.0/dead_fraction" not in metrics
    assert {tag for tag in metrics if tag.startswith("act/value_head/")} == {"act/value_head/mean", "act/value_head/std"}
    assert all(isinstance(value, float) for value in metrics.values())
