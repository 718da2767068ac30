"""The replay buffer: preallocated arrays per field, 0/1 planes bit-packed, optional priorities.

Each field (observation keys, the action mask, the next observation's, actions, n-step rewards,
bootstrap discounts) is one preallocated array of ``capacity`` rows, written as a ring. Dict
observations are stored key by key. A key whose space is bounded in [0, 1] and whose values are
all 0 or 1 (board planes, legal-action masks) is stored bit-packed, 8 cells a byte: a 7x7 Hex
transition (3x7x7 planes and a 50-entry mask, for the observation and the next one) takes 60
bytes with its action, reward and discount, so a million of them fit in ~60 MB, plus 32 MB for
the priority trees. A packed field that meets a value other than 0 or 1 unpacks itself once and
stores floats from then on: packing is a saving, never a change of what is stored.

Prioritized replay (:class:`~rlagent.algos.sum_tree.SumTree`): a new transition gets the largest
priority seen so far, so every transition is replayed at least once; draws are stratified over the
total priority; the importance weight of a draw is ``(p_i / p_min) ** -beta``, i.e.
``(N P(i)) ** -beta`` normalised by the largest weight any stored transition could have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from rlagent.algos.n_step import Transitions
from rlagent.algos.sum_tree import SumTree
from rlagent.rollout import Obs


class Field:
    """``capacity`` rows of one shape; bit-packed while every value written was 0 or 1."""

    def __init__(self, capacity: int, shape: tuple[int, ...], dtype: np.dtype, packable: bool) -> None:
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.packed = packable and self.size > 0
        if self.packed:
            self.data = np.zeros((capacity, (self.size + 7) // 8), np.uint8)
        else:
            self.data = np.zeros((capacity, *self.shape), self.dtype)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def write(self, rows: np.ndarray, values: np.ndarray) -> None:
        values = np.asarray(values).reshape(len(rows), *self.shape)
        if self.packed:
            bits = values.reshape(len(rows), -1)
            flags = bits != 0
            if not np.array_equal(bits, flags.astype(bits.dtype)):
                self._unpack_all()
            else:
                self.data[rows] = np.packbits(flags, axis=1)
                return
        self.data[rows] = values

    def read(self, rows: np.ndarray) -> np.ndarray:
        if not self.packed:
            return self.data[rows]
        bits = np.unpackbits(self.data[rows], axis=1, count=self.size)
        return bits.astype(self.dtype, copy=False).reshape(len(rows), *self.shape)

    def _unpack_all(self) -> None:
        rows = np.arange(self.data.shape[0])
        self.data = self.read(rows)
        self.packed = False

    def state_dict(self) -> dict[str, Any]:
        return {"packed": self.packed, "data": self.data, "shape": self.shape, "dtype": self.dtype.str}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.packed, self.data = bool(state["packed"]), np.asarray(state["data"])

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], shape: tuple[int, ...], dtype: Any) -> Field:
        field = cls.__new__(cls)
        field.shape, field.dtype = tuple(shape), np.dtype(dtype)
        field.size = int(np.prod(field.shape, dtype=np.int64))
        field.load_state_dict(state)
        return field


def _binary_space(space: spaces.Space | None) -> bool:
    """A Box bounded in [0, 1] everywhere, or a MultiBinary: its values may well be all 0/1."""
    if isinstance(space, spaces.MultiBinary):
        return True
    if isinstance(space, spaces.Box):
        return bool(np.all(space.low == 0) and np.all(space.high == 1))
    return False


@dataclass
class Sample:
    """A drawn batch: the transitions' fields, their slots, and their importance weights."""

    obs: Obs
    actions: np.ndarray
    rewards: np.ndarray
    discounts: np.ndarray
    next_obs: Obs
    indices: np.ndarray
    weights: np.ndarray  # float32, all ones without priorities


class ReplayBuffer:
    """A ring of ``capacity`` n-step transitions; ``prioritized`` adds a sum tree (exponent ``alpha``)."""

    def __init__(
        self,
        capacity: int,
        observation_space: spaces.Space | None,
        example: Transitions,
        prioritized: bool = False,
        alpha: float = 0.5,
        compact: bool = True,
    ) -> None:
        self.capacity = int(capacity)
        self.position = 0
        self.size = 0
        self.alpha = float(alpha)
        self.is_dict = isinstance(example.obs, dict)
        keys = sorted(example.obs) if self.is_dict else [None]

        def obs_field(key: str | None) -> Field:
            sample = example.obs[key] if key is not None else example.obs
            sub = observation_space.spaces.get(key) if key is not None and isinstance(observation_space, spaces.Dict) else observation_space
            return Field(self.capacity, sample.shape[1:], sample.dtype, compact and _binary_space(sub))

        self.obs = {key: obs_field(key) for key in keys}
        self.next_obs = {key: obs_field(key) for key in keys}
        actions = example.actions
        action_dtype = np.int16 if actions.dtype.kind in "iu" and actions.size and np.abs(actions).max() < 2**15 else actions.dtype
        self.actions = np.zeros((self.capacity, *actions.shape[1:]), action_dtype if compact else actions.dtype)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.discounts = np.zeros(self.capacity, np.float32)
        self.tree = SumTree(self.capacity) if prioritized else None
        self.max_priority = 1.0

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored fields and the priority trees."""
        fields = sum(f.nbytes for f in (*self.obs.values(), *self.next_obs.values()))
        trees = 0 if self.tree is None else self.tree.sums.nbytes + self.tree.mins.nbytes
        return fields + self.actions.nbytes + self.rewards.nbytes + self.discounts.nbytes + trees

    def add(self, batch: Transitions) -> None:
        count = len(batch)
        if count == 0:
            return
        if count > self.capacity:  # only the newest fit
            batch = Transitions(
                *(_rows(getattr(batch, f), slice(count - self.capacity, count)) for f in ("obs", "actions", "rewards", "discounts", "next_obs"))
            )
            count = self.capacity
        rows = (self.position + np.arange(count)) % self.capacity
        for key in self.obs:
            self.obs[key].write(rows, batch.obs[key] if self.is_dict else batch.obs)
            self.next_obs[key].write(rows, batch.next_obs[key] if self.is_dict else batch.next_obs)
        if np.abs(batch.actions).max(initial=0) >= 2**15 and self.actions.dtype == np.int16:
            self.actions = self.actions.astype(np.int64)
        self.actions[rows] = batch.actions
        self.rewards[rows] = batch.rewards
        self.discounts[rows] = batch.discounts
        if self.tree is not None:
            self.tree.update(rows, np.full(count, self.max_priority**self.alpha))
        self.position = int((self.position + count) % self.capacity)
        self.size = int(min(self.size + count, self.capacity))

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> Sample:
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self.tree is None:
            indices = rng.integers(0, self.size, size=batch_size)
            weights = np.ones(batch_size, np.float32)
        else:
            indices = self.tree.sample(batch_size, rng)
            priorities = self.tree.priorities(indices)
            weights = ((priorities / self.tree.min) ** -beta).astype(np.float32)
        return Sample(
            obs=self._read(self.obs, indices),
            actions=self.actions[indices].astype(np.int64),
            rewards=self.rewards[indices],
            discounts=self.discounts[indices],
            next_obs=self._read(self.next_obs, indices),
            indices=indices,
            weights=weights,
        )

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set the drawn transitions' priorities (TD errors or cross-entropies, before ``alpha``)."""
        if self.tree is None:
            return
        priorities = np.asarray(priorities, np.float64)
        self.max_priority = max(self.max_priority, float(priorities.max(initial=0.0)))
        self.tree.update(indices, priorities**self.alpha)

    def priority_mean(self) -> float:
        """The mean stored priority (after ``alpha``), as the sampler sees it."""
        if self.tree is None or self.size == 0:
            return 0.0
        return self.tree.total / self.size

    def _read(self, fields: dict[Any, Field], indices: np.ndarray) -> Obs:
        if not self.is_dict:
            return fields[None].read(indices)
        return {key: field.read(indices) for key, field in fields.items()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "position": self.position,
            "size": self.size,
            "max_priority": self.max_priority,
            "obs": {str(k): f.state_dict() for k, f in self.obs.items()},
            "next_obs": {str(k): f.state_dict() for k, f in self.next_obs.items()},
            "actions": self.actions,
            "rewards": self.rewards,
            "discounts": self.discounts,
            "tree": None if self.tree is None else self.tree.state_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], alpha: float) -> ReplayBuffer:
        """A buffer rebuilt from :meth:`state_dict` alone (a resumed run has no transitions to shape it)."""
        buffer = cls.__new__(cls)
        buffer.capacity, buffer.alpha = int(state["capacity"]), float(alpha)
        keys = [None if k == "None" else k for k in state["obs"]]
        buffer.is_dict = keys != [None]
        buffer.obs = {k: Field.from_state_dict(state["obs"][str(k)], state["obs"][str(k)]["shape"], state["obs"][str(k)]["dtype"]) for k in keys}
        buffer.next_obs = {
            k: Field.from_state_dict(state["next_obs"][str(k)], state["next_obs"][str(k)]["shape"], state["next_obs"][str(k)]["dtype"]) for k in keys
        }
        buffer.tree = SumTree(buffer.capacity) if state["tree"] is not None else None
        buffer.load_state_dict(state)
        return buffer

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"the saved replay buffer holds {state['capacity']} transitions, this one {self.capacity}")
        if (state["tree"] is None) != (self.tree is None):
            raise ValueError("the saved replay buffer and this one differ in whether they are prioritized")
        self.position, self.size, self.max_priority = int(state["position"]), int(state["size"]), float(state["max_priority"])
        for fields, saved in ((self.obs, state["obs"]), (self.next_obs, state["next_obs"])):
            for key, field in fields.items():
                field.load_state_dict(saved[str(key)])
        self.actions, self.rewards, self.discounts = state["actions"], state["rewards"], state["discounts"]
        if self.tree is not None:
            self.tree.load_state_dict(state["tree"])


def _rows(value: Obs | np.ndarray, rows: slice) -> Any:
    return {k: v[rows] for k, v in value.items()} if isinstance(value, dict) else value[rows]
