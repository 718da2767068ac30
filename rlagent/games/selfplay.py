"""Self-play: an opponent pool of past selves and fixed baselines, and the learner's running Elo.

The pool is the env's opponent (a :class:`~envs.base.SeatedOpponent`): when a game starts on an
env slot, the pool seats one of its members there for the whole game, drawn by the configured rule
(uniform, latest-weighted, or prioritized by how often the learner loses to it). Each env step
then makes ONE batched call per member that holds a slot with a move to make, never one per slot.

Snapshots of the learner join every ``selfplay.snapshot_every`` updates. Each is a file
``RUN_DIR/pool/step_<N>.pt`` in the checkpoint format (model, config, spaces, steps), so the
league (``python -m rlagent.league``) and ``python -m rlagent.evaluate`` read them like
checkpoints; ``RUN_DIR/pool/pool.json`` lists the members with the learner's results against
each. The pool is saved with the env inside every checkpoint (its networks as those files, not
copies), so ``--resume`` restores it exactly.

``elo/current``: every ``selfplay.eval_every`` updates the current policy (greedy, as ``step_<N>``)
plays ``eval_games`` games, both colours, from uniformly random first moves, against every
member drawn from; the rating is a Bradley-Terry fit over all such games of the run (anchored at
``random``), so each snapshot, having been rated as the current policy when it was taken, links
the ratings across time. The rows are kept in ``pool/eval_games.csv``.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import torch

from envs.base import TurnBasedGame
from envs.player_names import RANDOM
from envs.simultaneous import SimultaneousGame
from rlagent.agent import load_agent
from rlagent.checkpoint import save_checkpoint
from rlagent.config import SelfPlayConfig
from rlagent.errors import ConfigError
from rlagent.games.elo import fit_ratings
from rlagent.games.matches import game_factory, play_games
from rlagent.games.players import PolicyPlayer, make_player, parse_player
from rlagent.games.seat_matches import OPENINGS, play_seated
from rlagent.games.seat_players import PolicySeatPlayer

POOL_DIR = "pool"


@dataclass
class Member:
    """One opponent of the pool and the learner's record against it (scores count draws half)."""

    name: str
    kind: str  # "baseline" or "snapshot"
    step: int = -1
    active: bool = True
    games: int = 0
    learner_score: float = 0.0

    @property
    def learner_loss_rate(self) -> float:
        """With one virtual win and one virtual loss, so a new member is neither ignored nor feared."""
        return (self.games - self.learner_score + 1.0) / (self.games + 2.0)


class OpponentPool:
    """The self-play opponent of ``num_envs`` env slots; see the module docstring.

    In a board game (:class:`~envs.base.SeatedOpponent`) each slot seats one member per game. In
    a simultaneous-move game (``seat_game``: a core of the run's game, batch ``num_envs``; the pool
    is then an :class:`~envs.simultaneous_env.SeatPlayer`) each opponent seat of each arena seats
    its own member for the whole episode, and each step is one batched call per member in use.
    """

    name = "selfplay-pool"

    def __init__(self, config: SelfPlayConfig, num_envs: int, directory: Path, seed: int = 0, seat_game: SimultaneousGame | None = None) -> None:
        self.config, self.num_envs, self.directory, self.seed = config, num_envs, Path(directory), seed
        self.rng = np.random.default_rng(seed)
        self.members: list[Member] = []
        self.players: dict[str, Any] = {}
        self.num_seats = seat_game.num_seats if seat_game is not None else 0
        # member index per slot (per body ``game * K + seat`` in a simultaneous game), -1 before any game
        self.seated = np.full(num_envs * max(self.num_seats, 1), -1, dtype=np.int64)
        self.eval_rows: list[tuple[str, str, float]] = []
        self.metadata: dict[str, Any] = {}  # the run's config and spaces, written into snapshot files
        for index, name in enumerate(config.baselines):
            self.members.append(Member(name, "baseline"))
            if seat_game is not None:
                bot = seat_game.named_player(parse_player(name, what="selfplay baseline"), seed + 1000 + index)
                if bot is None:
                    raise ConfigError(f"selfplay baseline {name!r} does not play {seat_game.name}: use one of its bots such as random or hunter")
                self.players[name] = bot
            elif parse_player(name, what="selfplay baseline").kind == RANDOM:  # a bad name fails now, not at the first game
                self.players[name] = make_player(name, seed=seed + 1000 + index)  # plays any board: no game needed
        self.board_game: TurnBasedGame | None = None  # the env's game, once it seats the pool (bind_game)

    # --- the SeatedOpponent protocol, called by the env ------------------------------------------
    def bind_game(self, game: TurnBasedGame) -> None:
        """The env's game, told by the env that seats the pool: a baseline that searches (``mctsN``)
        reads its positions there. Board-game baselines are built here rather than in the
        constructor, since the game is what knows its search."""
        self.board_game = game
        for index, member in enumerate(self.members):
            player = self.players.get(member.name)
            if member.kind != "baseline":
                continue
            if player is None:
                self.players[member.name] = make_player(member.name, seed=self.seed + 1000 + index, game=game)
            elif hasattr(player, "game"):  # unpickled with the env: the same search, its random stream kept
                player.game = game

    def start_games(self, boards: np.ndarray) -> None:
        self.seated[boards] = self.rng.choice(len(self.members), size=len(boards), p=self.probabilities())

    def end_games(self, boards: np.ndarray, learner_rewards: np.ndarray) -> None:
        seated = self.seated[boards]
        games = np.bincount(seated, minlength=len(self.members))
        scores = np.bincount(seated, weights=(np.asarray(learner_rewards) + 1.0) / 2.0, minlength=len(self.members))
        for index in np.flatnonzero(games):
            self.members[index].games += int(games[index])
            self.members[index].learner_score += float(scores[index])

    def moves(self, boards: np.ndarray, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        seated = self.seated[boards]
        actions = np.zeros(len(boards), dtype=np.int64)
        for index in np.unique(seated):
            rows = np.flatnonzero(seated == index)
            player = self.player(index)
            search_moves = getattr(player, "moves", None)  # a search, which reads the env's boards themselves
            if search_moves is not None:  # (not isinstance with the runtime Protocol: tens of us, every step)
                actions[rows] = search_moves(boards[rows], observation[rows], action_mask[rows])
            else:
                actions[rows] = player(observation[rows], action_mask[rows])
        return actions

    # --- the SeatPlayer protocol, called by a simultaneous-move env --------------------------------
    def start(self, games: np.ndarray, seats: np.ndarray) -> None:
        games, seats = np.asarray(games), np.asarray(seats)
        self.seated[(np.unique(games)[:, None] * self.num_seats + np.arange(self.num_seats)).reshape(-1)] = -1
        slots = games * self.num_seats + seats
        self.seated[slots] = self.rng.choice(len(self.members), size=len(slots), p=self.probabilities())
        for index in np.unique(self.seated[slots]):
            rows = self.seated[slots] == index
            self.player(int(index)).start(games[rows], seats[rows])

    def act(self, game: SimultaneousGame, games: np.ndarray, seats: np.ndarray, observation: np.ndarray) -> np.ndarray:
        seated = self.seated[np.asarray(games) * self.num_seats + np.asarray(seats)]
        actions = np.zeros((len(games), game.num_actions), dtype=np.int8)
        for index in np.unique(seated):
            rows = np.flatnonzero(seated == index)
            actions[rows] = self.player(int(index)).act(game, games[rows], seats[rows], observation[rows])
        return actions

    def end(self, games: np.ndarray, learner_outcomes: np.ndarray) -> None:
        """Credit each member seated against the learner in these games with the learner's result
        (1 / 0.5 / 0), once per game however many seats it held there."""
        k = self.num_seats
        seated = np.sort(self.seated[np.asarray(games)[:, None] * k + np.arange(k)], axis=1)  # (n, K)
        first = np.ones_like(seated, dtype=bool)
        first[:, 1:] = seated[:, 1:] != seated[:, :-1]
        counted = first & (seated >= 0)  # the learner's seat holds -1
        members = seated[counted]
        outcomes = np.broadcast_to(np.asarray(learner_outcomes, float)[:, None], seated.shape)[counted]
        games_per = np.bincount(members, minlength=len(self.members))
        scores = np.bincount(members, weights=outcomes, minlength=len(self.members))
        for index in np.flatnonzero(games_per):
            self.members[index].games += int(games_per[index])
            self.members[index].learner_score += float(scores[index])

    # --- membership ------------------------------------------------------------------------------
    def probabilities(self) -> np.ndarray:
        """The chance each member is seated at the next game start (0 for retired snapshots)."""
        active = np.array([m.active for m in self.members])
        weights = active.astype(float)
        sampling = self.config.sampling
        snapshots = [i for i, m in enumerate(self.members) if m.active and m.kind == "snapshot"]
        if sampling == "latest" and snapshots and active.sum() > 1:
            newest = snapshots[-1]
            weights[active] = (1.0 - self.config.latest_fraction) / (active.sum() - 1)
            weights[newest] = self.config.latest_fraction
        elif sampling == "prioritized":
            loss = np.array([m.learner_loss_rate for m in self.members])
            weights = np.where(active, (loss + 0.05) ** self.config.priority_power, 0.0)
        return weights / weights.sum()

    def add_snapshot(self, policy: torch.nn.Module, step: int) -> Path:
        """Freeze the learner as a new member and write its file; retire the oldest beyond the cap."""
        path = self.directory / f"step_{int(step)}.pt"
        frozen = copy.deepcopy(policy).requires_grad_(False)
        save_checkpoint(path, {"model": frozen.state_dict(), "steps": int(step), **self.metadata})
        self.join_snapshot(frozen, step)
        return path

    def join_snapshot(self, network: torch.nn.Module, step: int) -> None:
        """Seat a frozen snapshot whose file is written elsewhere (by the learner's pool, when
        Ray workers collect: :mod:`rlagent.distributed_rollouts`), so each snapshot is written once;
        retire the oldest beyond the cap, as :meth:`add_snapshot` does."""
        name = f"step_{int(step)}"
        if name not in self.players:
            self.members.append(Member(name, "snapshot", step=int(step)))
        self.players[name] = self._snapshot_player(network, len(self.members) - 1)
        snapshots = [m for m in self.members if m.kind == "snapshot" and m.active]
        for old in snapshots[: max(0, len(snapshots) - self.config.max_snapshots)]:
            old.active = False
        self._drop_unused_players()

    def provide_networks(self, networks: dict[str, torch.nn.Module]) -> None:
        """Snapshot networks handed over instead of read from ``pool/`` (a Ray worker resumed on a
        machine that may not see the run directory); call before :meth:`restore_players`."""
        for index, member in enumerate(self.members):
            if member.kind == "snapshot" and member.name in networks and member.name not in self.players:
                self.players[member.name] = self._snapshot_player(networks[member.name], index)

    def player(self, index: int) -> Any:
        member = self.members[index]
        if member.kind == "baseline" and member.name not in self.players:
            raise ConfigError(f"selfplay baseline {member.name} has no game yet: the env that seats the pool binds it (bind_game)")
        if member.name not in self.players:  # a snapshot after a resume: its network is on disk
            self.players[member.name] = self._snapshot_player(self._load_network(member), index)
        return self.players[member.name]

    def network(self, index: int) -> torch.nn.Module:
        """A snapshot's frozen policy network (for evaluating against it greedily)."""
        return self.player(index).policy

    def _snapshot_player(self, network: torch.nn.Module, index: int) -> PolicyPlayer | PolicySeatPlayer:
        if self.num_seats:
            return PolicySeatPlayer(network, self.num_seats, greedy=False, seed=self.seed + 2000 + index, name=self.members[index].name)
        return PolicyPlayer(
            network,
            greedy=False,
            temperature=self.config.opponent_temperature,
            seed=self.seed + 2000 + index,
            name=self.members[index].name,
        )

    def _load_network(self, member: Member) -> torch.nn.Module:
        return load_agent(self.directory / f"{member.name}.pt").policy.requires_grad_(False)

    def _drop_unused_players(self) -> None:
        """Free retired snapshots' networks once no slot still plays them."""
        in_use = set(self.seated[self.seated >= 0].tolist())  # (a seat player's bodies restart with fresh state anyway)
        for index, member in enumerate(self.members):
            if member.kind == "snapshot" and not member.active and index not in in_use:
                self.players.pop(member.name, None)

    # --- saving ----------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the env inside checkpoints: snapshot networks stay in their files, but
        their sampling generators travel, so a resumed run draws the same moves."""
        state = self.__dict__.copy()
        snapshots = (PolicyPlayer, PolicySeatPlayer)
        state["players"] = {name: p for name, p in self.players.items() if not isinstance(p, snapshots)}
        state["snapshot_generators"] = {name: p.generator.get_state() for name, p in self.players.items() if isinstance(p, snapshots)}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        generators = state.pop("snapshot_generators", {})
        state.setdefault("num_seats", 0)  # pools pickled before simultaneous games seated boards only
        state.setdefault("board_game", None)
        self.__dict__.update(state)
        self._pending_generators = generators

    def restore_players(self) -> None:
        """After unpickling: reload the networks of the members in use, with their generators."""
        for index, member in enumerate(self.members):
            if member.name in self._pending_generators:
                self.player(index).generator.set_state(self._pending_generators[member.name])
        self._pending_generators = {}

    def write_summary(self) -> None:
        """``pool.json`` (members, sampling chances, the learner's record) and ``eval_games.csv``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        chances = self.probabilities()
        members = [
            {**asdict(m), "learner_win_rate": m.learner_score / m.games if m.games else None, "probability": float(p)} for m, p in zip(self.members, chances)
        ]
        summary = {"sampling": self.config.sampling, "members": members}
        (self.directory / "pool.json").write_text(json.dumps(summary, indent=2) + "\n")
        with open(self.directory / "eval_games.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["first", "second", "score"])
            writer.writerows(self.eval_rows)

    def metrics(self) -> dict[str, float]:
        active = [m for m in self.members if m.active]
        played = [m for m in active if m.games]
        metrics = {"selfplay/pool_size": float(len(active))}
        if played:
            metrics["selfplay/win_rate_min"] = min(m.learner_score / m.games for m in played)
        return metrics


def random_openings(game: TurnBasedGame, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random legal first move per board of a fresh ``game`` (mover's frame)."""
    mask = game.legal_mask(np.arange(game.batch_size))
    keys = np.where(mask, rng.random(mask.shape), -1.0)
    return keys.argmax(axis=1)


def rate_learner(pool: OpponentPool, policy: torch.nn.Module, step: int, game_factory: Callable[[int], TurnBasedGame | SimultaneousGame]) -> dict[str, float]:
    """Play the current policy against every active member and refit ``elo/current``.

    Greedy play on both sides from random first moves: the openings make the games differ, the
    greedy moves make the rating about the policy's best play, not its exploration noise.
    Snapshots play greedily here too, and baselines as they are.
    """
    name = f"step_{int(step)}"
    if pool.num_seats:
        return _rate_seated_learner(pool, policy, name, step, game_factory)
    learner = PolicyPlayer(policy, greedy=True, name=name)
    boards = cast("Callable[[int], TurnBasedGame]", game_factory)  # a pool without seats plays a board game
    half = pool.config.eval_games // 2
    rng = np.random.default_rng([pool.seed, int(step)])
    scores = []
    try:
        for index, member in enumerate(pool.members):
            if not member.active or member.name == name:
                continue
            rival = PolicyPlayer(pool.network(index), greedy=True) if member.kind == "snapshot" else pool.player(index)
            for learner_first in (True, False):
                game = boards(half)
                first, second = (learner, rival) if learner_first else (rival, learner)
                result = play_games(game, first, second, openings=random_openings(boards(half), rng))
                names = (name, member.name) if learner_first else (member.name, name)
                pool.eval_rows.extend((*names, float(score)) for score in result)
                scores.append(result if learner_first else 1.0 - result)
    finally:
        policy.train()
    return _learner_rating(pool, name, scores)


def _learner_rating(pool: OpponentPool, name: str, scores: list[np.ndarray], first_move_advantage: bool = True) -> dict[str, float]:
    """``elo/current`` and its interval from every rating game of the run so far (anchored at
    ``random`` when it is a member), and the learner's mean score in this round."""
    fit = fit_ratings(pool.eval_rows, anchor="random" if "random" in pool.players else None, first_move_advantage=first_move_advantage)
    low, high = fit.intervals[name]
    return {
        "elo/current": fit.ratings[name],
        "elo/current_low": low,
        "elo/current_high": high,
        "eval/win_rate_pool": float(np.concatenate(scores).mean()) if scores else float("nan"),
    }


def _rate_seated_learner(pool: OpponentPool, policy: torch.nn.Module, name: str, step: int, game_factory: Callable) -> dict[str, float]:
    """:func:`rate_learner` in a simultaneous-move game: half the games from each seat, from
    random numbered openings (jittered spawns), greedy on both sides (bots as they are)."""
    games = pool.config.eval_games
    rng = np.random.default_rng([pool.seed, int(step)])
    scores = []
    try:
        for index, member in enumerate(pool.members):
            if not member.active or member.name == name:
                continue
            game = game_factory(games)
            learner = PolicySeatPlayer(policy, game.num_seats, greedy=True, name=name)
            if member.kind == "snapshot":
                rival = PolicySeatPlayer(pool.network(index), game.num_seats, greedy=True, name=member.name)
            else:
                rival = game.named_player(parse_player(member.name), pool.seed + 3000 + index)
            learner_first = np.arange(games) < games // 2
            openings = np.tile(rng.choice(OPENINGS, size=games // 2), 2)  # the same starts for both seatings
            result = play_seated(game, learner, rival, learner_first, openings)
            pool.eval_rows.extend((name, member.name, float(r)) if first else (member.name, name, float(r)) for first, r in zip(learner_first, result))
            scores.append(np.where(learner_first, result, 1.0 - result))
    finally:
        policy.train()
    return _learner_rating(pool, name, scores, first_move_advantage=False)


def selfplay_game_factory(config: Any) -> Callable[[int], TurnBasedGame | SimultaneousGame]:
    """The run's game rules for rating matches; a one-line error for an env that has no opponent."""
    try:
        return game_factory(config.env, dict(config.env_kwargs))
    except ConfigError:
        raise ConfigError(f"selfplay.enabled needs a game env such as hex or arena; {config.env} is not one") from None
