"""The one flattening of (T, N) rollout arrays: row ``t * N + n``, the order a recurrent policy's
``forward_sequence`` returns its rows in, so stages, actions and outputs line up."""

from __future__ import annotations

import numpy as np

from rlagent.rollout import flatten_steps


def test_flatten_steps_is_time_major_for_arrays_and_dicts() -> None:
    steps, envs = 3, 4
    array = np.arange(steps * envs * 2).reshape(steps, envs, 2)
    flat = flatten_steps(array)
    assert flat.shape == (steps * envs, 2)
    for t in range(steps):
        for n in range(envs):
            assert np.array_equal(flat[t * envs + n], array[t, n])
    nested = flatten_steps({"observation": array, "action_mask": array[..., 0]})
    assert np.array_equal(nested["observation"], flat) and np.array_equal(nested["action_mask"], flat[:, 0])
