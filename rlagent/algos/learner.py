"""What a learner is to the run loop: the plug-in shape every algorithm fills.

A learner is a module in :mod:`rlagent.algos` with a class that updates the policy and a
:class:`LearnerSpec` that tells the run loop everything else: the name users type, the
hyperparameter section (a frozen dataclass beside the learner, checked when built), defaults
that differ by name (A2C is PPO's update with A2C's defaults), whether it learns from the rollout
it was just given (on-policy) or from a store of past transitions (off-policy), and what it needs
from collection. :data:`rlagent.algos.LEARNERS` lists them; adding one is a module and one line
there. The run loop (:mod:`rlagent.run`) has no branch on the algorithm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from rlagent.rollout import Rollout


@dataclass(frozen=True)
class CollectionNeeds:
    """What a learner asks of the collector.

    ``num_steps``: steps per env in each batch of transitions it is given (0: one whole episode
    of a fixed-length env). ``reset_state_per_trial``: a recurrent policy starts every trial of a
    trial task from a zero state, as if it were an episode.
    """

    num_steps: int
    reset_state_per_trial: bool = False


class Learner(Protocol):
    """``update(rollout) -> metrics``; the run loop owns collection, logging and checkpoints.

    An off-policy learner's ``state_dict`` also takes ``include_replay`` (``run.save_replay``) and,
    after ``load_state_dict``, says in ``replay_restored`` whether its replay came back.

    ``updates_done`` counts calls of ``update`` (what ``checkpoint_every``, ``log_every`` and the
    self-play schedules count); ``train/n_updates`` in the metrics counts gradient steps, as in SB3.
    """

    updates_done: int

    def update(self, rollout: Rollout) -> dict[str, float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class OffPolicyLearner(Learner, Protocol):
    """A learner of a spec with ``on_policy=False``: its state may leave out its replay."""

    replay_restored: bool

    def state_dict(self, include_replay: bool = True) -> dict[str, Any]: ...


class LearnerFactory(Protocol):
    """Builds a learner for the network its spec's ``build_network`` made (so the network's type is
    the learner's own: :class:`~rlagent.nets.policy.ActorCritic` for PPO, a ``QNetwork`` for Rainbow)."""

    def __call__(self, network: Any, config: Any, total_updates: int, device: torch.device, /, *, seed: int, fast: Any) -> Learner: ...


@dataclass(frozen=True)
class LearnerSpec:
    """A learner as the registry knows it (see the module docstring)."""

    name: str
    summary: str
    build: LearnerFactory
    config: type
    collection: Any  # (config) -> CollectionNeeds
    defaults: Mapping[str, Any] = field(default_factory=dict)
    on_policy: bool = True
    # (observation_space, action_space, policy_config, algorithm_config) -> the network it trains;
    # None: the actor-critic of rlagent.nets.build_policy. Used for training and for loading a checkpoint.
    network: Any = None

    def build_network(self, observation_space: Any, action_space: Any, policy_config: Any, algorithm_config: Any) -> torch.nn.Module:
        if self.network is None:
            from rlagent.nets import build_policy  # the default network, for the learners that train a policy

            return build_policy(observation_space, action_space, policy_config)
        return self.network(observation_space, action_space, policy_config, algorithm_config)
