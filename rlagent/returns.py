"""Advantages and returns over a (T, N) rollout.

Episode ends are explicit and of two kinds. ``terminated[t]``: the episode ended at step ``t``
for good, so nothing follows it. ``truncated[t]``: it was cut (a time limit) and its future is
worth ``V(final observation)``, given as ``truncation_values[t]``. Either way step ``t + 1``
belongs to a new episode and must not be bootstrapped from.
"""

from __future__ import annotations

import numpy as np


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    last_values: np.ndarray,
    discount_factor: float,
    gae_lambda: float,
    truncation_values: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation; returns ``(advantages, returns)``, both (T, N) float32.

    ``last_values`` is ``V`` of the observation after the last step; ``truncation_values`` (T, N)
    is ``V`` of the final observation where an episode was truncated (None: no truncation to
    bootstrap, as for Monte-Carlo targets). With ``gae_lambda = 1`` the advantage is the
    discounted return minus the value (A2C, REINFORCE with a critic); with 0 it is the one-step TD
    error.
    """
    steps = rewards.shape[0]
    advantages = np.zeros_like(rewards, dtype=np.float32)
    running = np.zeros(rewards.shape[1:], dtype=np.float32)
    next_values = np.asarray(last_values, dtype=np.float32)
    alive = (~(terminated | truncated)).astype(np.float32)  # whole arrays once: the loop stays short
    bootstrap = None  # a truncated episode goes on as V(its final observation)
    if truncation_values is not None:
        bootstrap = np.where(truncated & ~terminated, truncation_values, 0.0).astype(np.float32)
    trace = discount_factor * gae_lambda
    for t in range(steps - 1, -1, -1):
        future = next_values * alive[t]
        if bootstrap is not None:
            future = future + bootstrap[t]
        delta = rewards[t] + discount_factor * future - values[t]
        running = delta + trace * alive[t] * running
        advantages[t] = running
        next_values = values[t]
    return advantages, advantages + values.astype(np.float32)


def discounted_returns(rewards: np.ndarray, ends: np.ndarray, last_values: np.ndarray, discount_factor: float) -> np.ndarray:
    """Monte-Carlo returns ``G_t = r_t + discount * G_{t+1}`` over a (T, N) rollout, float32.

    ``ends[t]`` stops the sum after step ``t`` (an episode's or a trial's end). Where the rollout
    stops in the middle of an episode, the remainder is ``last_values`` (the critic's estimate).
    """
    returns = np.zeros_like(rewards, dtype=np.float32)
    running = np.asarray(last_values, dtype=np.float32)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + discount_factor * running * (1.0 - ends[t])
        returns[t] = running
    return returns


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """1 - Var(target - predicted) / Var(target): 1 is perfect, 0 no better than a constant, NaN if
    the target is constant (SB3's ``train/explained_variance``)."""
    variance = np.var(target)
    return float("nan") if variance == 0 else float(1.0 - np.var(target - predicted) / variance)
