"""The learners, by the name users type (``python -m rlagent.train NAME``).

Adding a learner: a module here with its update, its config dataclass and a
:class:`~rlagent.algos.learner.LearnerSpec`, and one line in :data:`LEARNERS`.
"""

from rlagent.algos.learner import CollectionNeeds, Learner, LearnerSpec
from rlagent.algos.ppo import A2C_SPEC, PPO, PPO_SPEC, OnPolicyConfig
from rlagent.algos.rainbow import DQN_SPEC, RAINBOW_SPEC, Rainbow, RainbowConfig
from rlagent.algos.reinforce import REINFORCE_SPEC, Reinforce, ReinforceConfig

LEARNERS: dict[str, LearnerSpec] = {
    PPO_SPEC.name: PPO_SPEC,
    A2C_SPEC.name: A2C_SPEC,
    REINFORCE_SPEC.name: REINFORCE_SPEC,
    RAINBOW_SPEC.name: RAINBOW_SPEC,
    DQN_SPEC.name: DQN_SPEC,
}

__all__ = [
    "LEARNERS",
    "A2C_SPEC",
    "PPO",
    "PPO_SPEC",
    "OnPolicyConfig",
    "REINFORCE_SPEC",
    "Reinforce",
    "ReinforceConfig",
    "RAINBOW_SPEC",
    "DQN_SPEC",
    "Rainbow",
    "RainbowConfig",
    "CollectionNeeds",
    "Learner",
    "LearnerSpec",
]
