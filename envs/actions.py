"""Checking a batch of discrete actions at the env boundary, the same way for every env.

An action outside the action space is a caller's bug, not a move: it raises (naming the valid
range) rather than being played or silently clipped. Integral floats are accepted because
some libraries hand discrete actions over as float arrays.
"""

from __future__ import annotations

import numpy as np


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
