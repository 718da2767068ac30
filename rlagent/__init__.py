"""rlagent: fast reinforcement learning for board games and cognitive tasks.

Entry points: ``python -m rlagent.train`` (train), ``python -m rlagent.evaluate`` (win rates).
The environments live in the sibling package ``envs``.
"""

__version__ = "0.1.0"
