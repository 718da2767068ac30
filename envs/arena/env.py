"""Gymnasium entry points for the Arena: ``gymnasium.make("rlagent/Arena-v0")`` and ``make_vec``.

The learner drives one body of each arena (``learner_seat``: 0, another seat, or ``"random"``
per game); the other bodies are played inside ``step`` by ``opponent``: a scripted bot by name
(``idle``, ``random``, ``hill``, ``turret``, ``hunter``: :mod:`envs.arena.bots`), a list of them
(each game draws one: :class:`~envs.arena.bots.BotMix`), or an object with
the :class:`~envs.simultaneous_env.SeatPlayer` methods (a trained policy, a self-play pool). The
path of a trained agent is refused here (envs cannot load networks): ``rlagent.make_env`` turns it
into a player first. Observation: float32 (23,) for ``observation="original"`` (see
:meth:`envs.arena.core.ArenaCore.observation`), more for ``"rich"``. Action: MultiBinary(4) =
[gun right, gun left, thruster left, thruster right]. ``reward_scale`` multiplies the learner's
rewards (not its score). Every option is checked when the env is made, with a one-line ``ValueError``.
"""

from __future__ import annotations

from typing import Any, Sequence, cast

from envs.actions import check_num_envs
from envs.arena.bots import BOT_NAMES, ArenaPlayer, BotMix, make_bot
from envs.arena.core import ArenaCore
from envs.arena.rules import NUM_RAYS, ArenaRules
from envs.player_names import looks_like_path
from envs.simultaneous_env import OpponentSpec, SeatPlayer, SimultaneousEnv, SimultaneousVectorEnv


def _seated(bot: ArenaPlayer) -> SeatPlayer:
    """A scripted bot as a seat player. A bot reads the Arena's state (:class:`~envs.arena.state.ArenaState`),
    a seat player is handed any :class:`~envs.simultaneous.SimultaneousGame`; the Arena env hands it
    its :class:`ArenaCore`, which is both, so the two types meet here."""
    return cast(SeatPlayer, bot)


def arena_opponent(opponent: OpponentSpec | Sequence[str], batch_size: int, seed: int | None = None) -> SeatPlayer:
    """A bot for a name, a :class:`BotMix` for a list of names (each game draws one), an object
    with the seat-player methods as it is; else a one-line error."""
    if isinstance(opponent, (list, tuple)) and opponent and all(isinstance(name, str) for name in opponent):
        unknown = [name for name in opponent if name not in BOT_NAMES]
        if unknown:
            raise ValueError(f"unknown arena opponent {unknown[0]!r} in {list(opponent)}: valid bots are {', '.join(BOT_NAMES)}")
        return _seated(BotMix(list(opponent), batch_size, seed=0 if seed is None else seed))
    if isinstance(opponent, str):
        if opponent in BOT_NAMES:
            return _seated(make_bot(opponent, batch_size, seed=0 if seed is None else seed))
        if looks_like_path(opponent):
            raise ValueError(
                f"opponent {opponent!r} looks like the path of a trained agent, which an env cannot load: make the env "
                "with rlagent.make_env (python -m rlagent.train ... --set env.opponent=PATH does), or pass a player object"
            )
    elif isinstance(opponent, SeatPlayer):
        return opponent
    raise ValueError(
        f"unknown arena opponent {opponent!r}: valid opponents are {', '.join(BOT_NAMES)}, a list of them, "
        "or an object with start(games, seats) and act(game, games, seats, observation) such as rlagent's arena players"
    )


def _core(
    batch: int, preset: str | ArenaRules, num_bodies: int, teams: str, observation: str, see_bullets: bool, see_hill: bool, num_rays: int, spawn_jitter: float
) -> ArenaCore:
    return ArenaCore(batch, num_bodies, preset, teams, observation, see_bullets, see_hill, num_rays, spawn_jitter)


def arena_env(
    preset: str = "original",
    num_bodies: int = 2,
    teams: str = "free_for_all",
    observation: str = "original",
    opponent: OpponentSpec = "random",
    learner_seat: int | str = 0,
    see_bullets: bool = False,
    see_hill: bool = False,
    num_rays: int = NUM_RAYS,
    spawn_jitter: float = 0.0,
    reward_scale: float = 1.0,
    render_mode: str | None = None,
) -> SimultaneousEnv:
    """One arena, the learner in ``learner_seat`` and ``opponent`` in every other seat."""
    core = _core(1, preset, num_bodies, teams, observation, see_bullets, see_hill, num_rays, spawn_jitter)
    return SimultaneousEnv(core, arena_opponent(opponent, 1), learner_seat, render_mode, reward_scale)


def arena_vector_env(
    num_envs: int = 1,
    preset: str = "original",
    num_bodies: int = 2,
    teams: str = "free_for_all",
    observation: str = "original",
    opponent: OpponentSpec = "random",
    learner_seat: int | str = 0,
    see_bullets: bool = False,
    see_hill: bool = False,
    num_rays: int = NUM_RAYS,
    spawn_jitter: float = 0.0,
    reward_scale: float = 1.0,
    render_mode: str | None = None,
) -> SimultaneousVectorEnv:
    """``num_envs`` arenas on one batched core: the ``vector_entry_point`` of ``rlagent/Arena-v0``."""
    num_envs = check_num_envs(num_envs)
    core = _core(num_envs, preset, num_bodies, teams, observation, see_bullets, see_hill, num_rays, spawn_jitter)
    return SimultaneousVectorEnv(core, arena_opponent(opponent, num_envs), learner_seat, render_mode, reward_scale)


ARENA_OPTIONS: dict[str, Any] = {
    "preset": "original, king or walls",
    "num_bodies": "2 to 8",
    "teams": "free_for_all or two_teams",
    "observation": "original or rich",
}
