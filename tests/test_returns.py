"""GAE and Monte-Carlo returns against references written out here (fast unit tests, no env)."""

from __future__ import annotations

import numpy as np
import pytest

from rlagent.returns import discounted_returns, gae


def reference_gae(rewards, values, dones, last_values, gamma, lam):
    """GAE by its definition, summed forward: A_t = sum_k (gamma * lam)^k delta_{t+k}, the sum stopping
    after the first step that ends an episode, delta_s = r_s + gamma * V_{s+1} * (1 - done_s) - V_s
    (V_T = last_values). Returns (advantages, advantages + values), float64."""
    steps, envs = rewards.shape
    next_values = np.concatenate([values[1:], last_values[None]], axis=0).astype(np.float64)
    deltas = rewards + gamma * next_values * (1.0 - dones) - values
    advantages = np.zeros((steps, envs))
    for n in range(envs):
        for t in range(steps):
            total, weight = 0.0, 1.0
            for s in range(t, steps):
                total += weight * deltas[s, n]
                if dones[s, n]:
                    break
                weight *= gamma * lam
            advantages[t, n] = total
    return advantages, advantages + values


def rollout(seed: int = 0, steps: int = 7, envs: int = 3):
    """(T, N) rewards, values, dones (terminations mid-rollout, one at the last step) and nonzero last values."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(steps, envs)).astype(np.float32)
    values = rng.normal(size=(steps, envs)).astype(np.float32)
    dones = np.zeros((steps, envs), np.float32)
    dones[2, 0] = dones[4, 0] = 1.0  # two episode ends in env 0
    dones[3, 1] = 1.0  # one in env 1
    dones[steps - 1, 2] = 1.0  # env 2 ends exactly at the rollout's end: last_values must not count
    last_values = np.array([1.5, -2.0, 3.0], np.float32)
    return rewards, values, dones, last_values


@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_matches_the_definition_with_episode_ends_and_bootstrap(lam: float) -> None:
    """Guards: gae returning the advantages as the returns; the lambda-trace or the bootstrap
    crossing an episode end; last_values ignored or used after a final done; lambda ignored."""
    rewards, values, dones, last_values = rollout()
    advantages, returns = gae(rewards, values, dones, last_values, 0.9, lam)
    ref_advantages, ref_returns = reference_gae(rewards, values, dones, last_values, 0.9, lam)
    assert advantages.shape == returns.shape == rewards.shape
    np.testing.assert_allclose(advantages, ref_advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, ref_returns, rtol=1e-5, atol=1e-5)


def test_gae_hand_numbers() -> None:
    """Guards: returns = advantages (instead of advantages + values), on numbers worked by hand.

    rewards 1, 2, 3; values 0.5, 1, 1.5; the episode ends at step 1; V(after) = 2; gamma 0.5.
    deltas: 1 + 0.5 * 1 - 0.5 = 1; 2 - 1 = 1 (no bootstrap: done); 3 + 0.5 * 2 - 1.5 = 2.5.
    """
    rewards = np.array([[1.0], [2.0], [3.0]], np.float32)
    values = np.array([[0.5], [1.0], [1.5]], np.float32)
    dones = np.array([[0.0], [1.0], [0.0]], np.float32)
    last = np.array([2.0], np.float32)
    for lam, expected_advantages in [(0.0, [1.0, 1.0, 2.5]), (0.5, [1.25, 1.0, 2.5]), (1.0, [1.5, 1.0, 2.5])]:
        advantages, returns = gae(rewards, values, dones, last, 0.5, lam)
        np.testing.assert_allclose(advantages[:, 0], expected_advantages, rtol=1e-6)
        np.testing.assert_allclose(returns[:, 0], np.array(expected_advantages) + values[:, 0], rtol=1e-6)
    # With lambda = 1 the returns are the bootstrapped Monte-Carlo returns.
    _, returns = gae(rewards, values, dones, last, 0.5, 1.0)
    np.testing.assert_allclose(returns[:, 0], [2.0, 2.0, 4.0], rtol=1e-6)


def test_gae_with_lambda_one_gives_the_discounted_returns() -> None:
    """Guards: the two return computations drifting apart (GAE(lambda=1) + V = Monte-Carlo return)."""
    rewards, values, dones, last_values = rollout(seed=1)
    _, returns = gae(rewards, values, dones, last_values, 0.95, 1.0)
    np.testing.assert_allclose(returns, discounted_returns(rewards, dones.astype(bool), last_values, 0.95), rtol=1e-5, atol=1e-5)


def test_discounted_returns_with_ends() -> None:
    """Guards: discounted_returns ignoring ``ends`` (or reading them one step off), or
    bootstrapping from last_values after an end at the last step."""
    rewards = np.array([[1.0, 1.0], [2.0, 0.0], [4.0, 0.0], [8.0, 2.0]], np.float32)
    ends = np.array([[False, False], [True, False], [False, False], [False, True]])
    returns = discounted_returns(rewards, ends, np.array([10.0, 100.0], np.float32), 0.5)
    # env 0: the episode ends at step 1; steps 2-3 bootstrap from 10: G3 = 8 + 5, G2 = 4 + 6.5.
    np.testing.assert_allclose(returns[:, 0], [2.0, 2.0, 10.5, 13.0], rtol=1e-6)
    # env 1: ends at the last step, so 100 never counts.
    np.testing.assert_allclose(returns[:, 1], [1.25, 0.5, 1.0, 2.0], rtol=1e-6)
