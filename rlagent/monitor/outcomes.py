"""What each step of a rollout actually led to: its reward-to-go and its episode's final outcome.

The value diagnostics (:mod:`rlagent.monitor.stages`) grade the value head against what really
happened, not against the learner's bootstrapped targets: a target built from the value head
itself agrees with the value head by construction, so only realised outcomes can say whether the
critic knows who is winning. That limits them to steps whose episode ended inside the rollout;
the others are marked unresolved and left out rather than guessed.
"""

from __future__ import annotations

import numpy as np


def realised_returns(
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    discount: float,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(returns_to_go, final_outcome, resolved)``, each (T, N), from (T, N) rollout arrays.

    - ``returns_to_go[t, i]``: ``sum_k discount**k * rewards[t + k, i]`` up to and including the
      step where env ``i``'s episode ended (terminated or truncated), with no bootstrap: the
      realised return, to compare with the value head on the returns' scale
      (:func:`rlagent.losses.on_return_scale`).
    - ``final_outcome[t, i]``: the undiscounted sum of the remaining rewards, but only where the
      episode *terminated*: in a game paying +1/-1 at the end that is the result from this
      step's point of view. Where it was truncated it is NaN: a cut game has no result, and
      reading its partial sum as a draw (0) would grade the critic against an outcome that
      never happened.
    - ``resolved[t, i]``: the episode ended (either way) within the rollout. Steps of truncated
      episodes are resolved, but their ``returns_to_go`` is censored (the rewards after the cut
      are unknown), so for tasks with time limits it understates what the value head should
      predict. Unresolved steps (their episode runs past the rollout's last step, or ``valid``
      is False: the reset steps of a NEXT_STEP vector env) are NaN in both arrays, so that
      using them by mistake shows up instead of passing as zeros.

    Vectorised over the N envs; one backward pass over T, the only order the recursion allows.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    ends = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
    steps, envs = rewards.shape
    returns_to_go = np.full((steps, envs), np.nan)
    final_outcome = np.full((steps, envs), np.nan)
    resolved = np.zeros((steps, envs), dtype=bool)

    discounted = np.zeros(envs)
    remaining = np.zeros(envs)
    ended = np.zeros(envs, dtype=bool)  # the episode running at step t ends inside the rollout
    won_or_lost = np.zeros(envs, dtype=bool)  # ...and ends by termination, so it has an outcome
    for t in range(steps - 1, -1, -1):
        carry = ~ends[t]  # an episode ending at t does not inherit the next episode's rewards
        discounted = rewards[t] + discount * np.where(carry, discounted, 0.0)
        remaining = rewards[t] + np.where(carry, remaining, 0.0)
        ended = ends[t] | ended
        won_or_lost = np.where(carry, won_or_lost, np.asarray(terminated[t], dtype=bool))
        resolved[t] = ended
        returns_to_go[t] = np.where(ended, discounted, np.nan)
        final_outcome[t] = np.where(ended & won_or_lost, remaining, np.nan)
    if valid is not None:
        invalid = ~np.asarray(valid, dtype=bool)
        resolved &= ~invalid
        returns_to_go[invalid] = np.nan
        final_outcome[invalid] = np.nan
    return returns_to_go, final_outcome, resolved
