"""A trained agent played for whole episodes: returns, win rates by colour, trial accuracy.

What ``python -m rlagent.evaluate`` prints, and what sweeps and tests measure, computed once here.
Envs are made with :func:`rlagent.make_env.make_env`, so a run trained against another run (its
``env.opponent`` a path) plays that opponent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from envs.arena.core import OPENING_JITTER
from rlagent.agent import Agent
from rlagent.games.elo import wilson_interval
from rlagent.games.players import make_opponent
from rlagent.games.seat_players import load_seat_opponent
from rlagent.gym_envs import env_parameters
from rlagent.make_env import make_env
from rlagent.monitor.trials import TrialStats
from rlagent.nets.policy import PolicyNetwork


def play_episodes(
    agent: Agent,
    games: int,
    opponent: Any,
    agent_color: int | None,
    seed: int,
    deterministic: bool,
    trial_stats: TrialStats | None = None,
    outcomes: list[float] | None = None,
    learner_seat: int | None = None,
    extra_env: dict[str, Any] | None = None,
    actor: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Returns of ``games`` finished episodes, played in one batch; a trial task's outcomes also go
    to ``trial_stats`` if given. ``opponent``: a player name or object (see
    :func:`rlagent.games.players.make_opponent`), used where ``agent_color`` (board games) or
    ``learner_seat`` (simultaneous games, whose ``info["result"]`` per game is appended to
    ``outcomes``) is given. ``extra_env``: env options that override the run's. ``actor``: a player
    (``(observation, action_mask) -> actions``, e.g. a search over the agent's network) that moves
    for the agent instead of its policy."""
    kwargs = dict(agent.config.env_kwargs)
    if agent_color is not None:
        kwargs.update(agent_color=agent_color, opponent=opponent)
    if learner_seat is not None:
        kwargs.update(learner_seat=learner_seat, opponent=opponent)
    kwargs.update(extra_env or {})
    batch = min(games, 256)
    env = make_env(agent.config.env, batch, kwargs)  # a run's path opponent is loaded, as in training
    obs, _ = env.reset(seed=seed)
    policy = cast(PolicyNetwork, agent.policy)
    state = policy.initial_state(batch)
    start = np.ones(batch, dtype=bool)
    running = np.zeros(batch)
    finished: list[float] = []
    generator = torch.Generator().manual_seed(seed)
    # Each slot plays at most its share, so the sample is not biased towards short games.
    quota = np.full(batch, games // batch) + (np.arange(batch) < games % batch)
    while len(finished) < games:
        if actor is None:
            actions, _, _, state = policy.act(obs, state, start, deterministic=deterministic, generator=generator)
        else:
            actions = actor(obs["observation"], obs["action_mask"])
        obs, reward, terminated, truncated, info = env.step(actions)
        running += reward
        start = terminated | truncated
        if trial_stats is not None:
            trial_stats.update(info, start, reward)
        for i in np.flatnonzero(start & (quota > 0)):
            finished.append(float(running[i]))
            if outcomes is not None:
                outcomes.append(float(info["result"][i]))
            quota[i] -= 1
        running[start] = 0.0
    env.close()
    return np.asarray(finished)


def is_two_player(agent: Agent) -> bool:
    """Whether the agent's env is a board game against an opponent (it takes ``agent_color``)."""
    return "agent_color" in env_parameters(agent.config.env)


def is_seated(agent: Agent) -> bool:
    """Whether the agent's env is a simultaneous-move game against opponents (it takes ``learner_seat``)."""
    return "learner_seat" in env_parameters(agent.config.env)


@dataclass(frozen=True)
class SeatResult:
    """Games played from one seat, counted won / drawn / lost by score."""

    seat: int
    won: int
    drawn: int
    lost: int

    @property
    def games(self) -> int:
        return self.won + self.drawn + self.lost

    def interval(self, count: int) -> tuple[float, float]:
        """95% Wilson interval of the rate of ``count`` of these games (won, drawn or lost)."""
        return wilson_interval(count, self.games)


def results_by_seat(agent: Agent, opponent: str, games: int, seed: int, deterministic: bool = True, seats: int = 2) -> list[SeatResult]:
    """``games`` games against ``opponent`` (a bot's name or a run path) in a simultaneous-move
    game, split evenly over the learner's first ``seats`` seats (the Arena's spawns are mirror
    images, but a policy may still favour one), each counted by score.

    A greedy policy against a scripted bot would replay one game from an exact spawn, so each game
    starts from its own jittered spawn (at least :data:`OPENING_JITTER`, as the league's openings),
    drawn from that game's seed: ``games`` games, not one game ``games`` times."""
    results = []
    jitter = {"spawn_jitter": max(float(agent.config.env_kwargs.get("spawn_jitter", 0.0)), OPENING_JITTER)}
    for seat in range(seats):
        count = games // seats + (seat < games % seats)
        outcomes: list[float] = []
        play_episodes(
            agent,
            count,
            load_seat_opponent(opponent, _num_seats(agent)),
            None,
            seed + seat,
            deterministic,
            outcomes=outcomes,
            learner_seat=seat,
            extra_env=jitter,
        )
        values = np.asarray(outcomes)
        results.append(SeatResult(seat, int((values == 1.0).sum()), int((values == 0.5).sum()), int((values == 0.0).sum())))
    return results


def _num_seats(agent: Agent) -> int:
    return int(agent.config.env_kwargs.get("num_bodies", 2))


@dataclass(frozen=True)
class ColourResult:
    """Games won with one colour (0 moves first), with a 95% Wilson interval."""

    colour: int
    wins: int
    games: int

    @property
    def rate(self) -> float:
        return self.wins / self.games

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.wins, self.games)


def win_rates_by_colour(
    agent: Agent,
    opponent: str,
    games: int,
    seed: int,
    deterministic: bool = True,
    actor: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> list[ColourResult]:
    """``games`` games against ``opponent`` (a player name or a run path), half with each colour:
    Hex has a first-move advantage, so a single colour flatters or undersells. ``actor`` as in
    :func:`play_episodes`."""
    results = []
    for colour in (0, 1):
        count = games // 2 if colour == 0 else games - games // 2
        player = make_opponent(opponent, seed=seed + colour)
        returns = play_episodes(agent, count, player, colour, seed + colour, deterministic, actor=actor)
        results.append(ColourResult(colour, int((returns > 0).sum()), count))
    return results


def trial_accuracy(agent: Agent, episodes: int, seed: int, deterministic: bool = True) -> tuple[np.ndarray, dict[str, float]]:
    """Returns of ``episodes`` episodes and, for a trial task, its ``trial/*`` accuracies over all of them."""
    stats = TrialStats(window=10**9)
    returns = play_episodes(agent, episodes, None, None, seed, deterministic, trial_stats=stats)
    return returns, stats.summary()
