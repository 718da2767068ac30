"""One independent random stream per slot of a batch, advanced for all slots at once.

Why not one ``np.random.Generator`` for the batch: then slot ``i`` of a batch of ``N`` would see
different numbers than a single environment seeded the same way, and the batched env could not be
checked against ``N`` single envs game for game. Why not one Generator per slot: that is a Python
loop over the batch on every step. A counter-based generator (SplitMix64) gives both: slot ``i``'s
stream depends only on its own seed, and a draw for the whole batch is a handful of array ops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True)
def _advance(state: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Step the streams of ``slots`` and return their next outputs. Compiled, because at batch 1
    the dozen numpy calls of the vectorised version cost more than everything else in a step."""
    out = np.empty(slots.size, dtype=np.uint64)
    for i in range(slots.size):
        z = state[slots[i]] + _GOLDEN
        state[slots[i]] = z
        z = (z ^ (z >> _S30)) * _MIX1
        z = (z ^ (z >> _S27)) * _MIX2
        out[i] = z ^ (z >> _S31)
    return out


def entropy_seed() -> int:
    """A fresh seed from the OS, for ``reset(seed=None)`` on a never-seeded env."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0])


class BatchedRandom:
    """SplitMix64 streams, one per slot; ``seed(s)`` gives slot ``i`` the stream of seed ``s + i``."""

    def __init__(self, size: int, seed: int | None = None) -> None:
        self._state = np.zeros(size, dtype=np.uint64)
        self.seed(entropy_seed() if seed is None else seed)

    def seed(self, seed: int, slots: np.ndarray | None = None) -> None:
        """Restart the streams of ``slots`` (all by default) from ``seed + position``."""
        slots = np.arange(self._state.size) if slots is None else np.asarray(slots)
        offsets = np.arange(slots.size, dtype=np.uint64)
        with np.errstate(over="ignore"):
            base = np.uint64(seed % 2**64)
            self._state[slots] = _mix(base + offsets + _GOLDEN)

    def seed_each(self, seeds: np.ndarray, slots: np.ndarray) -> None:
        """Restart ``slots[i]``'s stream as a fresh stream of seed ``seeds[i]`` (position 0), e.g. one
        seed per game of a league match, so a game's draws depend on its own seed alone."""
        seeds = np.asarray(seeds, dtype=np.int64).astype(np.uint64)
        with np.errstate(over="ignore"):
            self._state[np.asarray(slots)] = _mix(seeds + _GOLDEN)

    def _next(self, slots: np.ndarray | None) -> np.ndarray:
        if slots is None:
            slots = np.arange(self._state.size)
        return _advance(self._state, np.asarray(slots, dtype=np.int64).reshape(-1))

    def uniform(self, slots: np.ndarray | None = None) -> np.ndarray:
        """One float64 in [0, 1) per slot (all slots, or only ``slots``, whose streams alone advance)."""
        return (self._next(slots) >> _S11).astype(np.float64) * (1.0 / 2**53)

    def integers(self, high: np.ndarray | int, slots: np.ndarray | None = None) -> np.ndarray:
        """One integer in ``[0, high)`` per slot."""
        return np.minimum((self.uniform(slots) * high).astype(np.int64), np.asarray(high) - 1)

    def choice_from_mask(self, mask: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        """Index of a uniformly chosen true entry in each row of ``mask`` (rows must not be empty).

        One uniform per row picks the k-th true entry through a cumulative sum, so the cost is one
        pass over the mask and a slot's draw does not depend on how many actions the others have.
        """
        counts = np.cumsum(mask, axis=1, dtype=np.int32)
        k = self.integers(counts[:, -1], slots)
        return np.argmax(counts > k[:, None], axis=1)

    def get_state(self) -> np.ndarray:
        return self._state.copy()

    def set_state(self, state: np.ndarray) -> None:
        self._state[:] = state
