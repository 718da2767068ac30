"""Gymnasium envs for any :class:`~envs.base.TurnBasedGame`: one learner against an opponent.

The opponent moves inside ``step``, so to the learner the game is an ordinary single-agent MDP. The
same engine, :class:`Match`, drives both the single env (a batch of one) and the native vector env,
so ``gymnasium.make_vec(..., num_envs=N)`` plays the very games of ``N`` single envs seeded
``seed, seed + 1, ...`` (each board has its own random stream, see :mod:`envs.batched_random`).

Episode ends: a game always terminates (never truncates) with reward +1 for a win, -1 for a loss, 0
for a draw; every other step gives 0. An illegal move (a masked action) loses at once and sets
``info["illegal_action"]``; an action outside the action space is a programming error and raises.
The vector env resets finished boards in the same step (``AutoresetMode.SAME_STEP``): the returned
observation starts the next game and ``info["final_obs"]`` holds the last one, as Gymnasium's
``SyncVectorEnv`` does in that mode.
"""

from __future__ import annotations

from typing import Any, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.actions import check_actions
from envs.base import DRAW, Opponent, SeatedOpponent, TurnBasedGame
from envs.batched_random import BatchedRandom
from envs.player_names import RANDOM, PlayerName, looks_like_path, parse_player_name

# A player name (``random``, ``mctsN``), an opponent object, or None (random).
OpponentSpec = Union[str, Opponent, SeatedOpponent, None]
AGENT_COLORS = (0, 1, "random")
RENDER_MODES = ["ansi", "rgb_array"]


def check_agent_color(agent_color: object) -> int | str:
    if isinstance(agent_color, str) and agent_color == "random":
        return agent_color
    if not isinstance(agent_color, bool) and isinstance(agent_color, (int, np.integer)) and agent_color in (0, 1):
        return int(agent_color)
    raise ValueError(f"agent_color must be 0 (moves first), 1 (moves second) or 'random', got {agent_color!r}")


OPPONENT_OBJECTS = (
    "a callable (observation, action_mask) -> actions such as rlagent's PolicyPlayer",
    "a SeatedOpponent such as a self-play pool",
)


def check_opponent(opponent: object, game: TurnBasedGame) -> PlayerName | None:
    """The parsed name of a named opponent (``random``, ``mctsN``: :mod:`envs.player_names`), None
    for an opponent object; else a one-line ``ValueError`` listing what is valid."""
    if opponent is None or callable(opponent) or isinstance(opponent, SeatedOpponent):
        return None
    try:
        name = parse_player_name(opponent, what="opponent", also=OPPONENT_OBJECTS)
    except ValueError:
        if looks_like_path(opponent):
            raise ValueError(
                f"opponent {opponent!r} looks like the path of a trained agent, which an env cannot load: make the env "
                "with rlagent.make_env (python -m rlagent.train ... --set env.opponent=PATH does), or pass a PolicyPlayer"
            ) from None
        raise
    if name.kind != RANDOM and game.named_player(name) is None:
        raise ValueError(f"opponent {opponent!r} does not play {game.name}: valid opponents for it are random, {', or '.join(OPPONENT_OBJECTS)}")
    return name


def check_opening_moves(opening_moves: object) -> int:
    if isinstance(opening_moves, bool) or not isinstance(opening_moves, (int, np.integer)) or opening_moves < 0:
        raise ValueError(f"opening_moves must be a whole number of random moves to start games with (0: none), got {opening_moves!r}")
    return int(opening_moves)


def check_random_symmetry(random_symmetry: object, game: TurnBasedGame) -> bool:
    if not isinstance(random_symmetry, (bool, np.bool_)):
        raise ValueError(f"random_symmetry must be true or false, got {random_symmetry!r}")
    if random_symmetry and not game.has_symmetry:
        raise ValueError(f"random_symmetry needs a game with a symmetry; {game.name} declares none")
    return bool(random_symmetry)


def check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES} or None, got {render_mode!r}")
    return render_mode


class Match:
    """A batch of games between the learner and one opponent, as batched operations.

    The learner's colour is fixed or drawn per game. The opponent is called once for all the boards
    where it must move at that point, never once per board. A named opponent is built here:
    ``random`` plays from the boards' own random streams, another name (``mctsN``) is the game's
    :meth:`~envs.base.TurnBasedGame.named_player`, rebuilt with the seed of each seeded reset.
    """

    def __init__(
        self,
        game: TurnBasedGame,
        opponent: OpponentSpec = "random",
        agent_color: int | str = 0,
        opening_moves: int = 0,
        random_symmetry: bool = False,
    ) -> None:
        self.game = game
        self.opening_moves = check_opening_moves(opening_moves)
        self.random_symmetry = check_random_symmetry(random_symmetry, game)
        self.turned = np.zeros(game.batch_size, dtype=bool)  # the learner sees these boards turned
        self.opponent_name = check_opponent(opponent, game)
        self.opponent = self._named_opponent(self.opponent_name, None) if self.opponent_name is not None else opponent
        self.agent_color_setting = check_agent_color(agent_color)
        self.agent_color = np.zeros(game.batch_size, dtype=np.int8)
        self.rng = BatchedRandom(game.batch_size)  # OS-seeded until a reset gives a seed

    @property
    def num_envs(self) -> int:
        return self.game.batch_size

    def seed(self, seed: int | None) -> None:
        """Gymnasium's ``reset(seed=...)``: a seed restarts the streams (board ``i`` from ``seed + i``), None keeps them going."""
        if seed is not None:
            self.rng.seed(seed)
            if self.opponent_name is not None:
                self.opponent = self._named_opponent(self.opponent_name, seed)

    @property
    def opponent(self) -> Any:
        return self._opponent

    @opponent.setter
    def opponent(self, opponent: Any) -> None:
        self._opponent = opponent
        # Asked on every step; an isinstance check against a runtime Protocol costs tens of microseconds.
        self._seated = isinstance(opponent, SeatedOpponent)
        bind = getattr(opponent, "bind_game", None)
        if bind is not None:  # an opponent that reads this env's boards (a pool with a search in it)
            bind(self.game)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling (a checkpoint's env), also of a Match pickled before ``opponent`` became a
        property or before random openings and symmetric views existed."""
        opponent = state.pop("opponent", state.pop("_opponent", None))
        state.pop("_seated", None)
        state.setdefault("opponent_name", None)
        state.setdefault("opening_moves", 0)
        state.setdefault("random_symmetry", False)
        if "turned" not in state:
            state["turned"] = np.zeros(state["game"].batch_size, dtype=bool)
        self.__dict__.update(state)
        self.opponent = opponent

    def _named_opponent(self, name: PlayerName, seed: int | None) -> Any:
        """The opponent of a name: ``"random"`` (played in :meth:`opponent_moves`) or the game's player."""
        return RANDOM if name.kind == RANDOM else self.game.named_player(name, seed)

    def start_games(self, boards: np.ndarray, opening: bool = True) -> np.ndarray:
        """New games on ``boards``: clear and pick colours. Returns the boards where the opponent
        moves first; it plays those openings now unless ``opening`` is False (the caller will batch
        them with other opponent moves)."""
        if boards.size == 0:
            return boards
        self.game.reset(boards)
        if self.agent_color_setting == "random":
            self.agent_color[boards] = self.rng.uniform(boards) < 0.5
        else:
            self.agent_color[boards] = self.agent_color_setting
        if self.opening_moves:
            self._random_opening(boards)
        opponent_first = boards[self.agent_color[boards] != self.game.to_move[boards]]
        if self._seated:
            self.opponent.start_games(boards)
        if opening:
            self.opponent_moves(opponent_first)
        return opponent_first

    def _random_opening(self, boards: np.ndarray) -> None:
        """From 0 to ``opening_moves`` uniformly random moves (the count uniform per game), so that
        games start all over the board instead of from the one empty position: a learner that only
        ever meets its own openings knows little of the rest of the game. A game the random moves
        happen to finish starts again from the empty board."""
        counts = np.floor(self.rng.uniform(boards) * (self.opening_moves + 1)).astype(np.int64)
        for move in range(self.opening_moves):
            live = boards[(counts > move) & ~self.game.done[boards]]
            if live.size == 0:
                break
            self.game.play(self.game.random_actions(self.rng.uniform(live), live), live, check=False)
        finished = boards[self.game.done[boards]]
        if finished.size:
            self.game.reset(finished)

    def agent_moves(self, actions: np.ndarray, boards: np.ndarray) -> np.ndarray:
        """Play the learner's ``actions``; an illegal one forfeits the game. Returns the illegal mask."""
        if self.random_symmetry:
            turned = self.turned[boards]
            actions = np.where(turned, self.game.turn_actions(actions), actions)
        legal = self.game.is_legal(actions, boards)
        if legal.all():
            self.game.play(actions, boards, check=False)
        else:
            self.game.forfeit(boards[~legal])
            self.game.play(actions[legal], boards[legal], check=False)
        return ~legal

    def opponent_moves(self, boards: np.ndarray) -> None:
        if boards.size == 0:
            return
        if self.opponent is None or isinstance(self.opponent, str):
            actions = self.game.random_actions(self.rng.uniform(boards), boards)
        else:
            mask = self.game.legal_mask(boards).view(np.int8)
            observation = self.game.observation(boards)
            if self._seated:
                actions = np.asarray(self.opponent.moves(boards, observation, mask))
            else:
                actions = np.asarray(self.opponent(observation, mask))
            legal = self.game.is_legal(actions, boards)
            if not legal.all():
                i = int(np.argmax(~legal))
                raise ValueError(
                    f"the opponent {self.opponent!r} chose illegal action {int(actions[i])} on board {int(boards[i])}: "
                    "an opponent must respect the action mask it is given"
                )
        self.game.play(actions, boards, check=False)

    def rewards(self, boards: np.ndarray) -> np.ndarray:
        """+1 where the learner won, -1 where it lost, 0 for draws (call on finished boards)."""
        winner = self.game.winner[boards]
        return np.where(winner == DRAW, 0.0, np.where(winner == self.agent_color[boards], 1.0, -1.0))

    def finish_games(self, boards: np.ndarray) -> np.ndarray:
        """The learner's rewards on just-finished ``boards``, also reported to a seated opponent.

        Called once per finished game, before the board restarts."""
        rewards = self.rewards(boards)
        if self._seated and boards.size:
            self.opponent.end_games(boards, rewards)
        return rewards

    def observe(self, boards: np.ndarray | None = None, new_views: bool = False) -> dict[str, np.ndarray]:
        """The learner's view of ``boards``: planes and its int8 action mask (zero once a game is over).

        With ``random_symmetry``, a board is shown turned by the game's symmetry on the boards drawn
        so (each with probability 1/2) when ``new_views`` is set: once per step, so that asking
        again (``action_masks``) shows the same view the learner will act in.
        """
        idx = np.arange(self.num_envs) if boards is None else boards
        observation = self.game.observation(idx, player=self.agent_color[idx])
        # Between steps the learner is always the mover, and a finished game has no legal move.
        mask = self.game.legal_mask(idx).view(np.int8)
        if self.random_symmetry:
            if new_views:
                self.turned[idx] = self.rng.uniform(idx) < 0.5
            turned = self.turned[idx]
            if turned.any():
                observation, mask = observation.copy(), mask.copy()
                observation[turned], mask[turned] = self.game.turn_view(observation[turned], mask[turned])
        return {"observation": observation, "action_mask": mask}


def observation_space(game: TurnBasedGame) -> spaces.Dict:
    return spaces.Dict(
        {
            "observation": spaces.Box(0.0, 1.0, game.observation_shape, dtype=np.float32),
            "action_mask": spaces.Box(0, 1, (game.num_actions,), dtype=np.int8),
        }
    )


class TurnBasedEnv(gym.Env):
    """A single game against an opponent (a :class:`Match` of one board)."""

    metadata: dict[str, Any] = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self,
        game: TurnBasedGame,
        opponent: OpponentSpec = "random",
        agent_color: int | str = 0,
        render_mode: str | None = None,
        opening_moves: int = 0,
        random_symmetry: bool = False,
    ) -> None:
        if game.batch_size != 1:
            raise ValueError("TurnBasedEnv plays one game; use TurnBasedVectorEnv for a batch")
        self.match = Match(game, opponent, agent_color, opening_moves, random_symmetry)
        self.render_mode = check_render_mode(render_mode)
        self.observation_space = observation_space(game)
        self.action_space = spaces.Discrete(game.num_actions)
        self._board = np.zeros(1, dtype=np.int64)

    @property
    def game(self) -> TurnBasedGame:
        return self.match.game

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.match.seed(seed)
        self.match.start_games(self._board)
        obs = self._observe(new_views=True)
        return obs, self._info(obs, illegal=False)

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        if self.game.done[0]:
            raise RuntimeError("the game is over: call reset() before step()")
        actions = check_actions(np.asarray(action).reshape(-1), self.game.num_actions, 1)
        illegal = bool(self.match.agent_moves(actions, self._board)[0])
        if not self.game.done[0]:
            self.match.opponent_moves(self._board)
        terminated = bool(self.game.done[0])
        reward = float(self.match.finish_games(self._board)[0]) if terminated else 0.0
        obs = self._observe(new_views=True)
        return obs, reward, terminated, False, self._info(obs, illegal)

    def action_masks(self) -> np.ndarray:
        """Bool mask of legal actions, the hook sb3-contrib's MaskablePPO calls."""
        return self._observe()["action_mask"].astype(bool)

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.game.render_ansi(0)
        if self.render_mode == "rgb_array":
            return self.game.render_rgb(0)
        return None

    def _observe(self, new_views: bool = False) -> dict[str, np.ndarray]:
        return {key: value[0] for key, value in self.match.observe(self._board, new_views).items()}

    def _info(self, obs: dict[str, np.ndarray], illegal: bool) -> dict[str, Any]:
        return {
            "action_mask": obs["action_mask"],
            "illegal_action": illegal,
            "agent_color": int(self.match.agent_color[0]),
        }


class TurnBasedVectorEnv(VectorEnv):
    """``num_envs`` games against the opponent, stepped as one batch (``AutoresetMode.SAME_STEP``)."""

    metadata: dict[str, Any] = {
        "render_modes": RENDER_MODES,
        "render_fps": 4,
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        game: TurnBasedGame,
        opponent: OpponentSpec = "random",
        agent_color: int | str = 0,
        render_mode: str | None = None,
        opening_moves: int = 0,
        random_symmetry: bool = False,
    ) -> None:
        self.match = Match(game, opponent, agent_color, opening_moves, random_symmetry)
        self.num_envs = game.batch_size
        self.render_mode = check_render_mode(render_mode)
        self.single_observation_space = observation_space(game)
        self.single_action_space = spaces.Discrete(game.num_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._all = np.arange(self.num_envs)

    @property
    def game(self) -> TurnBasedGame:
        return self.match.game

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.match.seed(seed)
        self.match.start_games(self._all)
        obs = self.match.observe(new_views=True)
        return obs, self._info(obs, np.zeros(self.num_envs, dtype=bool))

    def step(self, actions: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, dict]:
        match, game, boards = self.match, self.game, self._all
        actions = check_actions(actions, game.num_actions, self.num_envs)
        illegal = match.agent_moves(actions, boards)
        rewards = np.zeros(self.num_envs)
        terminated = game.done.copy()

        # Games the learner just ended restart now; where the learner drew the second seat, the
        # opponent's opening joins its replies on the other boards in a single call.
        endings = []
        if terminated.any():
            ended_by_agent = boards[terminated]
            endings.append(self._record_end(ended_by_agent, rewards, illegal))
            openings = match.start_games(ended_by_agent, opening=False)
            replies = boards[~terminated]
            match.opponent_moves(np.concatenate([replies, openings]))
        else:
            replies = boards
            match.opponent_moves(replies)

        # Games the opponent's reply ended restart too. Their openings need a second (still
        # batched) call, made only in steps where such a new game starts with the opponent.
        reply_ended = game.done[replies]
        if reply_ended.any():
            ended_by_reply = replies[reply_ended]
            terminated[ended_by_reply] = True
            endings.append(self._record_end(ended_by_reply, rewards, illegal))
            match.start_games(ended_by_reply)

        obs = match.observe(new_views=True)
        infos = self._info(obs, illegal)
        if endings:
            self._attach_endings(infos, endings, terminated)
        return obs, rewards, terminated, np.zeros(self.num_envs, dtype=bool), infos

    def _record_end(self, ended: np.ndarray, rewards: np.ndarray, illegal: np.ndarray) -> dict[str, np.ndarray]:
        """Rewards and everything ``final_obs``/``final_info`` need, taken before the boards restart."""
        rewards[ended] = self.match.finish_games(ended)
        return {
            "boards": ended,
            **self.match.observe(ended),
            "illegal_action": illegal[ended],
            "agent_color": self.match.agent_color[ended].copy(),
        }

    def _attach_endings(self, infos: dict[str, Any], endings: list[dict[str, np.ndarray]], terminated: np.ndarray) -> None:
        """Gymnasium's SAME_STEP layout: ``final_obs`` an object array of per-env observations,
        ``final_info`` a batched info dict, each with its ``_key`` mask of finished envs."""
        n = self.num_envs
        final_obs = np.full(n, None, dtype=object)
        final_info: dict[str, np.ndarray] = {
            "action_mask": np.zeros((n, self.game.num_actions), dtype=np.int8),
            "illegal_action": np.zeros(n, dtype=bool),
            "agent_color": np.zeros(n, dtype=np.int8),
        }
        for end in endings:
            # A loop over the games that ended this step (a few percent of the batch), which
            # Gymnasium's object-array layout requires.
            for i, board in enumerate(end["boards"]):
                final_obs[board] = {"observation": end["observation"][i], "action_mask": end["action_mask"][i]}
            for key in final_info:
                final_info[key][end["boards"]] = end[key]
        for key in list(final_info):
            final_info[f"_{key}"] = terminated.copy()
        infos["final_obs"], infos["_final_obs"] = final_obs, terminated.copy()
        infos["final_info"], infos["_final_info"] = final_info, terminated.copy()

    def action_masks(self) -> np.ndarray:
        return self.match.observe()["action_mask"].astype(bool)

    def render(self) -> tuple | None:
        if self.render_mode == "ansi":
            return tuple(self.game.render_ansi(i) for i in range(self.num_envs))
        if self.render_mode == "rgb_array":
            return tuple(self.game.render_rgb(i) for i in range(self.num_envs))
        return None

    def _info(self, obs: dict[str, np.ndarray], illegal: np.ndarray) -> dict[str, Any]:
        every = np.ones(self.num_envs, dtype=bool)
        return {
            "action_mask": obs["action_mask"],
            "_action_mask": every,
            "illegal_action": illegal,
            "_illegal_action": every,
            "agent_color": self.match.agent_color.copy(),
            "_agent_color": every,
        }
