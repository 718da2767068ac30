"""Policy networks: light distributions, encoders, recurrent cores, heads, and the actor-critic.

Most callers need only ``PolicyConfig`` and ``build_policy(observation_space, action_space, config)``,
then ``policy.act(...)`` in the rollout and ``policy.forward(...)`` / ``forward_sequence(...)`` in
the update.
"""

from rlagent.nets.distributions import Bernoulli, Categorical, DiagGaussian, Distribution, MultiCategorical
from rlagent.nets.encoders import BoardEncoder, ChannelLayerNorm, HexConv2d, MLPEncoder
from rlagent.nets.heads import (
    BernoulliHead,
    BoardPolicyHead,
    CategoricalHead,
    GaussianHead,
    MultiCategoricalHead,
    ValueHead,
)
from rlagent.nets.inputs import ObservationAdapter
from rlagent.nets.policy import ActorCritic, PolicyConfig, PolicyOutput, Trunk, build_policy
from rlagent.nets.recurrent import GRUCore

__all__ = [
    "ActorCritic",
    "Bernoulli",
    "BernoulliHead",
    "BoardEncoder",
    "BoardPolicyHead",
    "Categorical",
    "CategoricalHead",
    "ChannelLayerNorm",
    "DiagGaussian",
    "Distribution",
    "GRUCore",
    "GaussianHead",
    "HexConv2d",
    "MLPEncoder",
    "MultiCategorical",
    "MultiCategoricalHead",
    "ObservationAdapter",
    "PolicyConfig",
    "PolicyOutput",
    "Trunk",
    "ValueHead",
    "build_policy",
]
