"""A trained agent of a turn-based game, loaded with the game it plays: the registered board games,
one name per game, and a fresh board of the run's own game (its size, its rules) to play it on.

The library behind ``python -m rlagent.play`` and ``python -m rlagent.analyze``; any game
registered as an env whose core is a :class:`~envs.base.TurnBasedGame` is one of them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import envs
from envs.base import TurnBasedGame
from rlagent.agent import Agent, load_agent
from rlagent.errors import CheckpointError, ConfigError
from rlagent.games.matches import game_factory
from rlagent.gym_envs import resolve_env_id


@lru_cache(maxsize=1)
def board_games() -> tuple[str, ...]:
    """The short names of the registered envs that are turn-based games (``connect4``, ``hex``...)."""
    found = []
    for name in sorted(envs.ENV_IDS):
        try:
            game = game_factory(name)(1)
        except ConfigError:
            continue
        if isinstance(game, TurnBasedGame):
            found.append(name)
    return tuple(found)


def check_game(name: str) -> str:
    """``name`` if it is a registered board game, else a one-line error listing them."""
    if name.lower() not in board_games():
        raise ConfigError(f"unknown game {name!r}: valid games are {', '.join(board_games())}")
    return name.lower()


def load_game_agent(path: str | Path, game: str | None = None) -> tuple[Agent, TurnBasedGame]:
    """The agent of ``path`` and one board of the game it was trained on, with the run's env
    options (board size, swap rule): the network plays only those. ``game``, where given, must be
    the run's game; the errors say what to pass instead."""
    if not Path(path).exists():
        raise CheckpointError(f"{path} does not exist: pass a run directory (e.g. logs/hex-ppo-...) or a checkpoint file")
    agent = load_agent(path)
    if game is not None and resolve_env_id(agent.config.env) != resolve_env_id(check_game(game)):
        raise ConfigError(f"{agent.path} was trained on {agent.config.env}, not {game}: pass a {game} run")
    board = game_factory(agent.config.env, dict(agent.config.env_kwargs))(1)
    if not isinstance(board, TurnBasedGame):
        raise ConfigError(f"{agent.path} was trained on {agent.config.env}, which is not a board game: valid games are {', '.join(board_games())}")
    return agent, board
