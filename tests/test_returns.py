"""GAE and Monte-Carlo returns against references written out here (fast unit tests, no env)."""

from __future__ import annotations

import numpy as np
import pytest

from rlagent.returns import discounted_returns, gae


def NO_CUT(dones):  # noqa: N802  (no truncations: every end is a termination)
    return np.zeros(np.shape(dones), bool)


def reference_gae(rewards, values, dones, last_values, gamma, lam, truncated=None, truncation_values=None):
    """GAE by its definition, summed forward: A_t = sum_k (gamma * lam)^k delta_{t+k}, the sum stopping
    after the first step that ends an episode, delta_s = r_s + gamma * V_{s+1} * (1 - done_s) - V_s
    (V_T = last_values), except at a truncated step, where the future is V(final observation):
    delta_s = r_s + gamma * truncation_values_s - V_s. Returns (advantages, advantages + values), float64."""
    steps, envs = rewards.shape
    truncated = np.zeros((steps, envs), bool) if truncated is None else truncated
    dones = np.maximum(dones, truncated)
    next_values = np.concatenate([values[1:], last_values[None]], axis=0).astype(np.float64)
    deltas = rewards + gamma * next_values * (1.0 - dones) - values
    if truncation_values is not None:
        deltas = deltas + gamma * truncation_values * truncated
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
    advantages, returns = gae(rewards, values, dones.astype(bool), NO_CUT(dones), last_values, 0.9, lam)
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
        advantages, returns = gae(rewards, values, dones.astype(bool), NO_CUT(dones), last, 0.5, lam)
        np.testing.assert_allclose(advantages[:, 0], expected_advantages, rtol=1e-6)
        np.testing.assert_allclose(returns[:, 0], np.array(expected_advantages) + values[:, 0], rtol=1e-6)
    # With lambda = 1 the returns are the bootstrapped Monte-Carlo returns.
    _, returns = gae(rewards, values, dones.astype(bool), NO_CUT(dones), last, 0.5, 1.0)
    np.testing.assert_allclose(returns[:, 0], [2.0, 2.0, 4.0], rtol=1e-6)


def test_gae_with_lambda_one_gives_the_discounted_returns() -> None:
    """Guards: the two return computations drifting apart (GAE(lambda=1) + V = Monte-Carlo return)."""
    rewards, values, dones, last_values = rollout(seed=1)
    _, returns = gae(rewards, values, dones.astype(bool), NO_CUT(dones), last_values, 0.95, 1.0)
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


@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_bootstraps_truncated_episodes_from_their_final_values_and_not_terminated_ones(lam: float) -> None:
    """Guards: a truncated episode not bootstrapped (treated as terminated), bootstrapped from the
    next episode's first value instead of V(final observation), a terminated one bootstrapped, or
    the lambda-trace running on across a truncation."""
    rewards, values, terminated, last_values = rollout()
    terminated = terminated.astype(bool)
    truncated = np.zeros_like(terminated)
    truncated[1, 2] = truncated[5, 1] = True  # two time limits, in envs with and without other ends
    truncation_values = np.zeros_like(rewards)
    truncation_values[1, 2], truncation_values[5, 1] = 4.0, -7.0
    truncation_values[2, 0] = 100.0  # at a terminated step: must be ignored
    advantages, returns = gae(rewards, values, terminated, truncated, last_values, 0.9, lam, truncation_values)
    ref_advantages, ref_returns = reference_gae(
        rewards, values, terminated.astype(np.float32), last_values, 0.9, lam, truncated, np.where(truncated, truncation_values, 0.0)
    )
    np.testing.assert_allclose(advantages, ref_advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, ref_returns, rtol=1e-5, atol=1e-5)
    # By hand at the truncated step (5, 1): the return is r + 0.9 * (-7), whatever follows it.
    assert returns[5, 1] == pytest.approx(rewards[5, 1] + 0.9 * -7.0, abs=1e-5)
