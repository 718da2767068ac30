"""Checking what callers hand an env at its boundary, the same way for every env: a batch of
discrete actions, and the number of envs a vector env is asked for.

An action outside the action space is a caller's bug, not a move: it raises (naming the valid
range) rather than being played or silently clipped. Integral floats are accepted because
some libraries hand discrete actions over as float arrays.
"""

from __future__ import annotations

import numpy as np


def check_num_envs(num_envs: object) -> int:
    """``num_envs`` as a positive int (numpy integers too; a bool is not a count), else ``ValueError``."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return int(num_envs)


def check_actions(actions: np.ndarray, num_actions: int, count: int) -> np.ndarray:
    """``count`` integer actions in ``0 .. num_actions - 1`` as int64; anything else raises ``ValueError``."""
    actions = np.asarray(actions)
    if actions.shape != (count,) or actions.dtype.kind not in "iu":
        if actions.shape == (count,) and actions.dtype.kind == "f" and np.all(actions == np.round(actions)):
            actions = actions.astype(np.int64)
        else:
            raise ValueError(f"expected {count} integer action(s), got an array of shape {actions.shape} and dtype {actions.dtype}")
    bad = (actions < 0) | (actions >= num_actions)
    if bad.any():
        raise ValueError(f"action {int(actions[np.argmax(bad)])} is outside the action space: valid actions are 0..{num_actions - 1}")
    return actions.astype(np.int64, copy=False)
