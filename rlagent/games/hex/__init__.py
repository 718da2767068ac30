"""Hex's part of the game tooling: what only Hex has, beyond what every board game gets.

Every registered board game gets envs, training, self-play, the generic ``mctsN``, the league,
``play`` and ``analyze`` from its :class:`~envs.base.TurnBasedGame`. Hex adds an exact solver and a
network-guided search, so it registers (:mod:`rlagent.games.extras`): the PUCT search of a Hex
agent (``RUN@puctN``, :mod:`~rlagent.games.hex.puct`), grading on solved positions (``evaluate
--positions``, the league's ``win move`` column, ``eval/winning_move_rate``:
:mod:`~rlagent.games.hex.solved_positions`) and its analysis on the rhombus with ``--solve``
(:mod:`~rlagent.games.hex.analysis`). The rest of ``rlagent/`` reaches these only through that
registry, so it holds nothing Hex-specific.
"""
