"""The rollout's fast paths: the numpy actor equals torch's act, and NEXT_STEP autoreset envs
(Gymnasium's native CartPole vector env) are collected with their reset steps left out."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401
from rlagent.config import resolve
from rlagent.fast.numpy_actor import numpy_actor
from rlagent.make_env import make_env
from rlagent.nets import PolicyConfig, build_policy
from rlagent.rollout import Collector


def cartpole_policy(**config) -> torch.nn.Module:
    torch.manual_seed(0)
    env = make_env("CartPole-v1", 1)
    return build_policy(env.single_observation_space, env.single_action_space, PolicyConfig(**config))


@pytest.mark.parametrize("config", [{}, {"separate_critic": True}, {"activation": "relu", "hidden_sizes": (32, 16, 8)}, {"hidden_sizes": ()}])
def test_numpy_actor_matches_torch(config: dict) -> None:
    policy = cartpole_policy(**config)
    fast = numpy_actor(policy)
    assert fast is not None
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    actions, log_probs, values, _ = fast.act(obs, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = policy.forward(obs)
        torch_log_probs = out.dist.log_prob(torch.as_tensor(actions)).numpy()
        np.testing.assert_allclose(log_probs, torch_log_probs, atol=1e-5)
        np.testing.assert_allclose(values, out.value.numpy(), atol=1e-5)
        greedy, _, _, _ = fast.act(obs, deterministic=True)
        np.testing.assert_array_equal(greedy, out.dist.mode().numpy())


def test_numpy_actor_samples_from_the_policy_distribution() -> None:
    policy = cartpole_policy(head_init_std=1.0)
    fast = numpy_actor(policy)
    obs = np.tile(np.array([[0.1, -0.2, 0.05, 0.3]], np.float32), (20_000, 1))
    actions, _, _, _ = fast.act(obs, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = policy.forward(obs[:1]).dist.probs.numpy()[0]
    frequencies = np.bincount(actions, minlength=2) / len(actions)
    np.testing.assert_allclose(frequencies, expected, atol=0.015)


def test_numpy_actor_respects_masks_and_follows_parameter_updates() -> None:
    env = make_env("hex", 16, {"size": 3})
    torch.manual_seed(0)
    policy = build_policy(env.single_observation_space, env.single_action_space, PolicyConfig(encoder="mlp", head_init_std=1.0))
    fast = numpy_actor(policy)
    assert fast is not None
    obs, _ = env.reset(seed=0)
    rng = torch.Generator().manual_seed(0)
    for _ in range(30):
        actions, log_probs, _, _ = fast.act(obs, generator=rng)
        assert obs["action_mask"][np.arange(16), actions].all(), "a masked action was sampled"
        with torch.no_grad():
            expected = policy.forward(obs).dist.log_prob(torch.as_tensor(actions)).numpy()
        np.testing.assert_allclose(log_probs, expected, atol=1e-5)
        obs, *_ = env.step(actions)
    with torch.no_grad():  # an in-place update (as the optimiser makes) is seen at once
        policy.policy_head.linear.bias.add_(torch.arange(10, dtype=torch.float32))
    fast.refresh()
    actions, log_probs, _, _ = fast.act(obs, generator=rng)
    with torch.no_grad():
        expected = policy.forward(obs).dist.log_prob(torch.as_tensor(actions)).numpy()
    np.testing.assert_allclose(log_probs, expected, atol=1e-5)


def test_numpy_actor_declines_what_it_does_not_implement() -> None:
    hex_env = make_env("hex", 1, {"size": 3})
    board = build_policy(hex_env.single_observation_space, hex_env.single_action_space, PolicyConfig())
    assert numpy_actor(board) is None
    assert numpy_actor(cartpole_policy(recurrent="gru")) is None
    box = build_policy(spaces.Box(-1, 1, (3,), np.float32), spaces.Box(-1, 1, (2,), np.float32), PolicyConfig())
    assert numpy_actor(box) is None


def test_cartpole_uses_the_native_next_step_vector_env() -> None:
    env = make_env("CartPole-v1", 4)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert type(env).__name__ == "CartPoleVectorEnv"
    assert make_env("CartPole-v1", 4, native=False).metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    # One env steps faster as the plain env in a SyncVectorEnv than through the numpy core.
    single = make_env("CartPole-v1", 1)
    assert type(single).__name__ == "SyncVectorEnv" and single.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP


def test_next_step_reset_steps_are_marked_and_left_out_of_episode_stats() -> None:
    env = make_env("CartPole-v1", 8)
    policy = cartpole_policy()
    collector = Collector(env, policy, num_steps=256, seed=0)
    rollout = collector.collect()
    dones = rollout.dones.astype(bool)
    # Exactly the step after each episode's end is a reset step.
    expected_valid = np.ones_like(dones)
    expected_valid[1:] = ~dones[:-1]
    np.testing.assert_array_equal(rollout.valid, expected_valid)
    assert (rollout.rewards[~rollout.valid] == 0).all()
    # CartPole pays 1 per step: with reset steps left out, each return equals its length.
    stats = collector.stats
    assert stats.episodes > 5 and list(stats.returns) == [float(n) for n in stats.lengths]
    # The step after a reset step starts the new episode.
    starts = rollout.episode_starts
    np.testing.assert_array_equal(starts[2:], ~rollout.valid[1:-1])


def test_next_step_truncation_bootstraps_from_the_true_final_observation() -> None:
    env = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="vector_entry_point", max_episode_steps=5)
    policy = cartpole_policy()
    collector = Collector(env, policy, num_steps=6, seed=0)
    seen = []

    step = env.step

    def recording_step(actions):
        result = step(actions)
        seen.append(result[0].copy())
        return result

    env.step = recording_step
    rollout = collector.collect()
    # Five steps in, no pole has had time to fall (it takes about ten): every episode is cut.
    assert rollout.dones[4].all() and not rollout.dones[:4].any()
    assert rollout.truncated[4].all() and not rollout.terminated[4].any()
    np.testing.assert_array_equal(rollout.final_obs[4], seen[4])
    np.testing.assert_array_equal(rollout.rewards[4], 1.0)  # the env's reward, as paid
    with torch.no_grad():
        final_values = policy.value(seen[4]).numpy()
    bootstrap = rollout.truncation_values(policy)
    np.testing.assert_allclose(bootstrap[4], final_values, atol=1e-6)
    assert not bootstrap[:4].any() and not bootstrap[5].any()
    assert not rollout.valid[5].any() and (rollout.rewards[5] == 0).all()


def test_ppo_trains_only_on_real_transitions(tmp_path: Path) -> None:
    from rlagent.run import Trainer

    config = resolve(
        "ppo", "CartPole-v1", overrides=["run.progress=false", "ppo.num_minibatch=1", "ppo.num_epoch=1"], extra={"total_steps": 4096, "logdir": str(tmp_path)}
    )
    trainer = Trainer(config)
    rollout = trainer.collector.collect()
    rollout.advantages, rollout.returns = np.zeros_like(rollout.rewards), np.zeros_like(rollout.rewards)
    rollout.scaled_values = rollout.values
    tensors = trainer.algo._tensors(rollout)
    assert rollout.valid is not None and not rollout.valid.all()
    assert len(tensors["returns"]) == int(rollout.valid.sum())


def test_recurrent_ppo_on_a_next_step_env_uses_whole_sequences_and_masks_reset_steps(tmp_path: Path) -> None:
    from rlagent.run import Trainer

    config = resolve(
        "ppo",
        "CartPole-v1",
        overrides=["run.progress=false", "policy.recurrent=gru", "policy.recurrent_hidden=16"],
        extra={"total_steps": 2 * 32 * 8, "logdir": str(tmp_path)},
    )
    trainer = Trainer(config)
    assert trainer.collector.next_step and trainer.fast.actor is None
    result = trainer.train()
    assert result.updates == 2 and np.isfinite(result.metrics["train/value_loss"])
    assert result.metrics["rollout/ep_len_mean"] == result.metrics["rollout/ep_rew_mean"]


@pytest.mark.parametrize("env_name, kwargs", [("CartPole-v1", {}), ("hex", {"size": 3})])
def test_both_actors_sample_the_same_actions_from_one_seed(env_name: str, kwargs: dict) -> None:
    """The numpy actor draws its noise from the collector's torch generator as torch's sampler
    does, so ``run.fast`` auto and off collect the same rollout (a path the user never chose must
    not change the run)."""
    rollouts = []
    for fast in (True, False):
        env = make_env(env_name, 8, kwargs)
        torch.manual_seed(0)
        policy = build_policy(env.single_observation_space, env.single_action_space, PolicyConfig(encoder="mlp", head_init_std=1.0))
        actor = numpy_actor(policy) if fast else None
        assert (actor is not None) == fast
        rollouts.append(Collector(env, policy, num_steps=64, seed=3, actor=actor).collect())
    fast_rollout, plain_rollout = rollouts
    np.testing.assert_array_equal(fast_rollout.actions, plain_rollout.actions)
    np.testing.assert_allclose(fast_rollout.log_probs, plain_rollout.log_probs, atol=1e-5)
    np.testing.assert_allclose(fast_rollout.values, plain_rollout.values, atol=1e-5)
