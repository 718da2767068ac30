"""The Arena: bodies in a walled map fighting over a hill, B arenas stepped at once.

- :mod:`envs.arena.rules`: the game's constants and presets (``original``, ``king``, ``walls``);
- :mod:`envs.arena.core`: :class:`ArenaCore`, the batched state, spawns and observations;
- :mod:`envs.arena.kernels`: the compiled step and ray casts; :mod:`envs.arena.rays`, the same
  ray casts in numpy, the readable reference the tests check the kernels against;
- :mod:`envs.arena.bots`: scripted opponents of fixed strength (``idle`` ... ``hunter``);
- :mod:`envs.arena.env`: Gymnasium ``rlagent/Arena-v0`` (one learner body per arena);
- :mod:`envs.arena.pettingzoo`: :func:`parallel_env`, the PettingZoo ParallelEnv;
- :mod:`envs.arena.render`: pictures and text.
"""

from envs.arena.core import ArenaCore
from envs.arena.pettingzoo import parallel_env

__all__ = ["ArenaCore", "parallel_env"]
