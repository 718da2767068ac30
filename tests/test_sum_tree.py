"""The prioritized-replay sum tree (rlagent.algos.sum_tree) against brute force over the leaves."""

from __future__ import annotations

import numpy as np
import pytest

from rlagent.algos.sum_tree import SumTree


def reference_find(priorities: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slot i with sum(p[:i]) <= v < sum(p[:i+1]), by a cumulative sum (exact for integer priorities)."""
    return np.searchsorted(np.cumsum(priorities), values, side="right")


@pytest.mark.parametrize("capacity", [1, 2, 5, 64, 1000])
def test_batched_updates_and_finds_match_brute_force(capacity: int) -> None:
    """Guards: a parent not recomputed, a level skipped, a repeated index in one batch, the descent
    going right at the wrong boundary or into an empty subtree."""
    rng = np.random.default_rng(capacity)
    tree, priorities, was_set = SumTree(capacity), np.zeros(capacity), np.zeros(capacity, bool)
    for _ in range(30):
        indices = rng.integers(0, capacity, size=rng.integers(1, 40))  # repeats included
        values = rng.integers(0, 5, size=indices.size).astype(np.float64)  # zeros included
        tree.update(indices, values)
        for i, v in zip(indices, values):  # the last value of a repeated index wins
            priorities[i] = v
        was_set[indices] = True
        assert tree.total == priorities.sum()
        assert tree.min == priorities[was_set].min()
        if priorities.sum() > 0:
            queries = np.concatenate([np.arange(priorities.sum()), rng.random(50) * priorities.sum()])
            found = tree.find(queries)
            np.testing.assert_array_equal(found, reference_find(priorities, queries))
            assert (priorities[found] > 0).all()


def test_min_ignores_slots_never_set_and_follows_updates() -> None:
    tree = SumTree(8)
    assert tree.min == np.inf
    tree.update(np.array([2, 5]), np.array([3.0, 0.5]))
    assert tree.min == 0.5 and tree.total == 3.5
    tree.update(np.array([5]), np.array([4.0]))
    assert tree.min == 3.0


def test_samples_follow_the_priorities_and_never_hit_zero_slots() -> None:
    tree = SumTree(6)
    priorities = np.array([1.0, 0.0, 2.0, 0.0, 3.0, 4.0])
    tree.update(np.arange(6), priorities)
    rng = np.random.default_rng(0)
    counts = np.bincount(np.concatenate([tree.sample(64, rng) for _ in range(500)]), minlength=6)
    assert counts[1] == counts[3] == 0
    np.testing.assert_allclose(counts / counts.sum(), priorities / priorities.sum(), atol=0.01)


def test_bad_input_is_refused_and_state_round_trips() -> None:
    tree = SumTree(4)
    with pytest.raises(IndexError, match="slots are 0..3"):
        tree.update(np.array([4]), np.array([1.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        tree.update(np.array([0]), np.array([-1.0]))
    with pytest.raises(ValueError, match="all 0"):
        tree.sample(4, np.random.default_rng(0))
    tree.update(np.array([0, 3]), np.array([1.0, 2.0]))
    copy = SumTree(4)
    copy.load_state_dict(tree.state_dict())
    assert copy.total == 3.0 and copy.min == 1.0
    np.testing.assert_array_equal(copy.find(np.array([0.5, 1.5])), [0, 3])


def test_a_value_at_the_very_end_lands_on_the_last_slot_with_priority() -> None:
    """Guards: the descent entering an empty right subtree when rounding leaves a value at the end
    of the range (it would return a slot of priority 0)."""
    tree = SumTree(8)
    tree.update(np.array([0, 1, 2]), np.array([1.0, 2.0, 0.5]))
    np.testing.assert_array_equal(tree.find(np.array([tree.total, np.nextafter(tree.total, 0.0)])), [2, 2])
