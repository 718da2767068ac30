"""What a game adds to the generic tooling beyond its :class:`~envs.base.TurnBasedGame`, found by
the game's env id.

Every board game gets training, self-play, ``mctsN``, the league, ``play`` and ``analyze`` from
its rules alone. Some games can do more: Hex has an exact solver and a network-guided search. A
game offers such extras by registering a :class:`GameExtras` for its env id; the commands ask
:func:`extras_for` and fall back to the generic behaviour (or a one-line error naming the games
that have it) where a game registered none. That keeps every game-specific module out of the
generic ones: Hex's live in :mod:`rlagent.games.hex` and are imported only when a Hex run asks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlagent.agent import Agent, load_agent
from rlagent.errors import ConfigError
from rlagent.gym_envs import resolve_env_id


@dataclass(frozen=True)
class GameExtras:
    """Optional abilities of one game; each field None where the game has no such thing.

    ``search(agent, simulations, *, seed, temperature, name)``: the agent played through a search
    of ``simulations`` network evaluations per move (the ``RUN@puctN`` player name).
    ``position_suite(game, count, seed, directory)``: positions with known winning moves to grade
    a learner on during self-play (``eval/winning_move_rate``) and in the league, or None where the
    game's settings allow none; ``score_positions(player, suite)``: the share a player gets right.
    ``evaluate_positions(run, count, seed, stones)``: the lines ``evaluate --positions`` prints.
    ``analyze(agent, board, to_move, top, solve, simulations)``: the report ``analyze`` prints, in
    place of the generic one; ``position_format`` says how that analysis reads its board text.
    """

    search: Callable[..., Any] | None = None
    position_suite: Callable[[Any, int, int, Path], Any] | None = None
    score_positions: Callable[[Any, Any], float] | None = None
    evaluate_positions: Callable[[str, int, int, str | None], list[str]] | None = None
    analyze: Callable[..., str] | None = None
    position_format: str = ""


_REGISTERED: dict[str, GameExtras] = {}
# The games shipped here, imported on first use so that a run of another game never loads them.
_BUILT_IN = {"rlagent/Hex-v0": "rlagent.games.hex.extras"}


def register_extras(env: str, extras: GameExtras) -> None:
    """Offer ``extras`` for the game of ``env`` (a short name or Gymnasium id)."""
    _REGISTERED[resolve_env_id(env)] = extras


def extras_for(env: str) -> GameExtras:
    """The extras registered for ``env``'s game; none (all fields None) for most games."""
    env_id = resolve_env_id(env)
    if env_id not in _REGISTERED and env_id in _BUILT_IN:
        importlib.import_module(_BUILT_IN[env_id])
    return _REGISTERED.get(env_id, GameExtras())


def games_with(ability: str) -> str:
    """The env ids that offer ``ability`` (a :class:`GameExtras` field), for error messages."""
    for env_id, module in _BUILT_IN.items():
        if env_id not in _REGISTERED:
            importlib.import_module(module)
    names = sorted(env_id for env_id, extras in _REGISTERED.items() if getattr(extras, ability) is not None)
    return ", ".join(names) or "none"


def searched_agent(agent: Agent, simulations: int, **options: Any) -> Any:
    """``agent`` played through its game's search (``RUN@puctN``); a one-line error for a game without one."""
    search = extras_for(agent.config.env).search
    if search is None:
        raise ConfigError(f"{agent.path}@puct{simulations}: {agent.config.env} has no network-guided search; games with one: {games_with('search')}")
    return search(agent, simulations, **options)


def load_searched_agent(path: str | Path, simulations: int, **options: Any) -> Any:
    """:func:`searched_agent` of the agent saved at ``path`` (a run directory or a checkpoint)."""
    return searched_agent(load_agent(path), simulations, **options)
