"""Gymnasium envs for any :class:`~envs.simultaneous.SimultaneousGame`: one learner seat per game,
opponents in the others.

The other seats are played inside ``step`` by an opponent (:class:`SeatPlayer`: a scripted bot,
a trained policy, a self-play pool), called ONCE per step for every opponent seat of the whole
batch; to the learner the game is an ordinary single-agent MDP. The same engine,
:class:`SeatedMatch`, drives the single env (a batch of one) and the native vector env, so
``gymnasium.make_vec(..., num_envs=N)`` plays the very games of ``N`` single envs seeded
``seed, seed + 1, ...``: every source of randomness (spawns, the learner's seat, random bots)
draws from per-game streams (:mod:`envs.batched_random`).

Episode ends: a game ends when one side is left or time is up, and always *terminates* (never
truncates): the time limit is part of the game's rules and its scoring. ``info["result"]`` then
holds the learner's result by score (1 win, 0.5 draw, 0 loss) and ``info["score"]`` its score.
``reward_scale`` multiplies the rewards the learner is paid (the Arena's run to +-100 a kill; value
networks prefer returns near +-1), never the score or the outcome.
The vector env resets ended games in the same step (``AutoresetMode.SAME_STEP``) and keeps the
last observation in ``info["final_obs"]``.
"""

from __future__ import annotations

from typing import Any, Protocol, Union, cast, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.batched_random import BatchedRandom
from envs.simultaneous import SimultaneousGame
from envs.turn_based_env import RENDER_MODES, check_render_mode  # the render modes every env of ours offers

LEARNER_SEATS = "a seat number from 0 to K-1, or 'random'"


@runtime_checkable
class SeatPlayer(Protocol):
    """Plays some seats of some games of a batch: a scripted bot, a policy, a self-play pool.

    ``start`` says new episodes begin for the bodies ``(games[i], seats[i])`` (clear any memory,
    seat a new pool member there); ``act`` returns int8 (n, num_actions) actions for those bodies
    given their own observations (n, D), and may read ``game``'s state (scripted bots do). Envs
    call ``act`` once per step for all the opponent seats of the batch, never once per game.
    """

    name: str

    def start(self, games: np.ndarray, seats: np.ndarray) -> None: ...

    def act(self, game: SimultaneousGame, games: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class ScoredSeatPlayer(SeatPlayer, Protocol):
    """A seat player that wants to know how each game ended for the learner (a self-play pool)."""

    def end(self, games: np.ndarray, learner_outcomes: np.ndarray) -> None: ...


@runtime_checkable
class Reseedable(Protocol):
    """A seat player with per-game random streams, restarted by a seeded reset."""

    def reseed(self, seed: int, games: np.ndarray) -> None: ...


OpponentSpec = Union[str, SeatPlayer]


def check_learner_seat(seat: object, num_seats: int) -> int | str:
    if isinstance(seat, str) and seat == "random":
        return seat
    if not isinstance(seat, bool) and isinstance(seat, (int, np.integer)) and 0 <= seat < num_seats:
        return int(seat)
    raise ValueError(f"learner_seat must be {LEARNER_SEATS.replace('K-1', str(num_seats - 1))}, got {seat!r}")


class SeatedMatch:
    """A batch of games with the learner in one seat of each and ``opponent`` in all the others."""

    def __init__(self, game: SimultaneousGame, opponent: SeatPlayer, learner_seat: int | str = 0) -> None:
        self.game, self.opponent = game, opponent
        self.learner_seat_setting = check_learner_seat(learner_seat, game.num_seats)
        self.learner_seat = np.zeros(game.batch_size, np.int64)
        self.rng = BatchedRandom(game.batch_size)
        self.all_games = np.arange(game.batch_size)
        self.views = np.zeros((game.batch_size, game.num_seats, game.observation_size), np.float32)
        self._scored = isinstance(opponent, ScoredSeatPlayer)

    def seed(self, seed: int | None) -> None:
        """A seeded reset restarts every per-game stream: game ``i`` from ``seed + i``."""
        if seed is None:
            return
        self.rng.seed(seed)
        self.game.seed(seed)
        if isinstance(self.opponent, Reseedable):
            self.opponent.reseed(seed, self.all_games)

    def start(self, games: np.ndarray) -> None:
        """New games on ``games``: reset them, draw the learner's seat, seat the opponents."""
        if games.size == 0:
            return
        self.game.reset(games)
        if self.learner_seat_setting == "random":
            self.learner_seat[games] = self.rng.integers(self.game.num_seats, games)
        else:
            self.learner_seat[games] = self.learner_seat_setting
        opponent_games, opponent_seats = self.opponent_bodies(games)
        self.opponent.start(opponent_games, opponent_seats)
        self.views[games] = self.game.observation(games)

    def opponent_bodies(self, games: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(games, seats) of every seat of ``games`` that is not the learner's, game by game."""
        k = self.game.num_seats
        seats = np.broadcast_to(np.arange(k), (games.size, k))
        others = seats != self.learner_seat[games][:, None]
        return np.repeat(games, k - 1), seats[others]

    def step(self, learner_actions: np.ndarray) -> np.ndarray:
        """Play one step of every game; returns every seat's rewards (B, K)."""
        game = self.game
        actions = np.zeros((game.batch_size, game.num_seats, game.num_actions), np.int8)
        games, seats = self.opponent_bodies(self.all_games)
        opponent_actions = np.asarray(self.opponent.act(game, games, seats, self.views[games, seats]))
        if opponent_actions.shape != (games.size, game.num_actions):
            raise ValueError(
                f"the opponent {getattr(self.opponent, 'name', self.opponent)!r} returned actions shaped "
                f"{opponent_actions.shape}, expected {(games.size, game.num_actions)}"
            )
        actions[games, seats] = opponent_actions
        actions[self.all_games, self.learner_seat] = learner_actions
        return game.step(actions)

    def ended(self) -> np.ndarray:
        """Bool (B,): the games that are over for the learner: ended, or its own body is out (with
        more than two seats the others could play on, but the learner's episode is over)."""
        learner_in = self.game.in_game(self.all_games)[self.all_games, self.learner_seat]
        return self.game.over | ~learner_in

    def learner_view(self, games: np.ndarray | None = None) -> np.ndarray:
        idx = self.all_games if games is None else games
        return self.views[idx, self.learner_seat[idx]]

    def finish(self, games: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The learner's outcome (1 / 0.5 / 0) and score on just-ended ``games``, also reported to a
        scored opponent. Called once per ended game, before it restarts."""
        seat = self.learner_seat[games]
        outcome = self.game.outcome(games)[np.arange(games.size), seat]
        score = self.game.score[games, seat].copy()
        if self._scored and games.size:
            cast(ScoredSeatPlayer, self.opponent).end(games, outcome)
        return outcome, score

    def refresh_views(self) -> None:
        self.views[:] = self.game.observation()


def spaces_for(game: SimultaneousGame) -> tuple[spaces.Box, spaces.MultiBinary]:
    """One seat's spaces: a Box within the game's own bounds, and MultiBinary actions."""
    low, high = game.observation_bounds()
    observation = spaces.Box(low, high, (game.observation_size,), dtype=np.float32)
    return observation, spaces.MultiBinary(game.num_actions)


def check_reward_scale(scale: object) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < float(scale) <= 1e6:
        raise ValueError(f"reward_scale must be a positive number, got {scale!r}")
    return float(scale)


def check_learner_actions(actions: Any, num_envs: int, num_actions: int) -> np.ndarray:
    """The learner's actions as int8 (num_envs, num_actions) bits; a one-line error otherwise."""
    array = np.asarray(actions)
    if array.shape != (num_envs, num_actions) and not (num_envs == 1 and array.shape == (num_actions,)):
        raise ValueError(f"expected actions of shape {(num_envs, num_actions)} (MultiBinary({num_actions}) per env), got {array.shape}")
    if array.dtype == bool:
        return array.reshape(num_envs, num_actions).astype(np.int8)
    if ((array != 0) & (array != 1)).any():  # a plain comparison: np.isin costs ~90 us at batch 1024
        raise ValueError(f"actions are MultiBinary({num_actions}): every entry must be 0 or 1, got {array.reshape(-1)[:8]!r}")
    return array.reshape(num_envs, num_actions).astype(np.int8)


class SimultaneousEnv(gym.Env):
    """One game, the learner in one seat and an opponent in the others (a :class:`SeatedMatch` of one)."""

    metadata: dict[str, Any] = {"render_modes": RENDER_MODES, "render_fps": 10}

    def __init__(
        self, game: SimultaneousGame, opponent: SeatPlayer, learner_seat: int | str = 0, render_mode: str | None = None, reward_scale: float = 1.0
    ) -> None:
        if game.batch_size != 1:
            raise ValueError("SimultaneousEnv plays one game; use SimultaneousVectorEnv for a batch")
        self.match = SeatedMatch(game, opponent, learner_seat)
        self.reward_scale = check_reward_scale(reward_scale)
        self.render_mode = check_render_mode(render_mode)
        self.observation_space, self.action_space = spaces_for(game)
        self._one = np.zeros(1, np.int64)

    @property
    def game(self) -> SimultaneousGame:
        return self.match.game

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.match.seed(seed)
        self.match.start(self._one)
        return self.match.learner_view()[0].copy(), {"learner_seat": int(self.match.learner_seat[0])}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.match.ended()[0]:
            raise RuntimeError("the game is over: call reset() before step()")
        rewards = self.match.step(check_learner_actions(action, 1, self.game.num_actions))
        seat = int(self.match.learner_seat[0])
        self.match.refresh_views()
        info: dict[str, Any] = {"learner_seat": seat}
        terminated = bool(self.match.ended()[0])
        if terminated:
            outcome, score = self.match.finish(self._one)
            info.update(result=float(outcome[0]), score=float(score[0]))
        return self.match.learner_view()[0].copy(), float(rewards[0, seat]) * self.reward_scale, terminated, False, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.game.render_ansi(0)
        if self.render_mode == "rgb_array":
            return self.game.render_rgb(0)
        return None


class SimultaneousVectorEnv(VectorEnv):
    """``num_envs`` games stepped as one batch, ended games restarting in the same step."""

    metadata: dict[str, Any] = {"render_modes": RENDER_MODES, "render_fps": 10, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self, game: SimultaneousGame, opponent: SeatPlayer, learner_seat: int | str = 0, render_mode: str | None = None, reward_scale: float = 1.0
    ) -> None:
        self.match = SeatedMatch(game, opponent, learner_seat)
        self.reward_scale = check_reward_scale(reward_scale)
        self.num_envs = game.batch_size
        self.render_mode = check_render_mode(render_mode)
        self.single_observation_space, self.single_action_space = spaces_for(game)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    @property
    def game(self) -> SimultaneousGame:
        return self.match.game

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.match.seed(seed)
        self.match.start(self.match.all_games)
        return self.match.learner_view().copy(), {"learner_seat": self.match.learner_seat.copy()}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        match, game = self.match, self.game
        rewards_all = match.step(check_learner_actions(actions, self.num_envs, game.num_actions))
        rewards = rewards_all[match.all_games, match.learner_seat] * self.reward_scale
        terminated = match.ended()
        infos: dict[str, Any] = {}
        ended = np.flatnonzero(terminated)
        if ended.size:
            final_views = game.observation(ended)[np.arange(ended.size), match.learner_seat[ended]]
            final_seats = match.learner_seat[ended].copy()
            outcome, score = match.finish(ended)
            match.start(ended)
            self._attach_endings(infos, ended, final_views, final_seats, outcome, score, terminated)
        running = np.flatnonzero(~terminated)
        if running.size:
            match.views[running] = game.observation(running)
        infos["learner_seat"], infos["_learner_seat"] = match.learner_seat.copy(), np.ones(self.num_envs, bool)
        return match.learner_view().copy(), rewards, terminated, np.zeros(self.num_envs, bool), infos

    def _attach_endings(
        self,
        infos: dict[str, Any],
        ended: np.ndarray,
        final_views: np.ndarray,
        final_seats: np.ndarray,
        outcome: np.ndarray,
        score: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Gymnasium's SAME_STEP layout: ``final_obs`` an object array of per-env observations,
        ``final_info`` a batched dict; also ``result``/``score`` at the top level for loggers."""
        n = self.num_envs
        final_obs = np.full(n, None, dtype=object)
        for i, env in enumerate(ended):  # a loop over the games that ended this step, as the layout needs
            final_obs[env] = final_views[i]
        outcomes, scores, seats = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
        outcomes[ended], scores[ended], seats[ended] = outcome, score, final_seats
        mask = terminated.copy()
        final_info = {"result": outcomes, "_result": mask, "score": scores, "_score": mask, "learner_seat": seats, "_learner_seat": mask}
        infos.update(
            final_obs=final_obs,
            _final_obs=mask.copy(),
            final_info=final_info,
            _final_info=mask.copy(),
            result=outcomes,
            _result=mask.copy(),
            score=scores,
            _score=mask.copy(),
        )

    def render(self) -> tuple | None:
        if self.render_mode == "ansi":
            return tuple(self.game.render_ansi(i) for i in range(self.num_envs))
        if self.render_mode == "rgb_array":
            return tuple(self.game.render_rgb(i) for i in range(self.num_envs))
        return None
