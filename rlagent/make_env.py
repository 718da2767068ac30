"""Environment names to vector envs, with the env options of the command line.

:func:`make_env` is :func:`rlagent.gym_envs.make_vector_env` plus the one option an env cannot take
as it is written: an ``opponent`` that names a trained agent (a run directory or checkpoint, e.g.
``--set env.opponent=logs/hex_ppo_...``) is loaded here as a greedy
:class:`~rlagent.games.players.PolicyPlayer` (for the Arena, a
:class:`~rlagent.games.seat_players.PolicySeatPlayer`). Player names (``random``, ``mctsN``) stay names, for
the env to build on its own seeds; the run's config keeps the string either way.
"""

from __future__ import annotations

from typing import Any

from gymnasium.vector import VectorEnv

from rlagent.games.players import load_opponent
from rlagent.games.seat_players import load_seat_opponent
from rlagent.gym_envs import HANDLED_AUTORESET, env_parameters, make_vector_env, resolve_env_id

__all__ = ["HANDLED_AUTORESET", "make_env", "resolve_env_id"]


def make_env(name: str, num_envs: int, env_kwargs: dict[str, Any] | None = None, native: bool = True) -> VectorEnv:
    """``num_envs`` copies of ``name`` as one vector env (SAME_STEP or NEXT_STEP autoreset); bad
    options -> ConfigError."""
    kwargs = dict(env_kwargs or {})
    parameters = env_parameters(name)
    if isinstance(kwargs.get("opponent"), str) and "opponent" in parameters:
        if "learner_seat" in parameters:  # a simultaneous-move game: its opponent plays by seats
            kwargs["opponent"] = load_seat_opponent(kwargs["opponent"], int(kwargs.get("num_bodies", 2)))
        else:
            kwargs["opponent"] = load_opponent(kwargs["opponent"])
    return make_vector_env(name, num_envs, kwargs, native)
