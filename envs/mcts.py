"""UCT with random rollouts and solver proofs for any :class:`~envs.base.TurnBasedGame`.

The same search as Hex's compiled :mod:`envs.hex.mcts`, but it knows the rules only through the
game's batched interface (``legal_mask``, ``play``, ``random_actions``, ``winner``, ``to_move``) and
its state hook (``spawn``, ``copy_boards``), so a new game gets an ``mctsN`` player with no code.

Python cannot afford one call per simulation per ply, so the search runs in *waves*: each wave
picks up to ``parallel`` paths in each of the ``k`` trees (one tree per position asked about; the
paths of one tree kept apart by virtual loss, :mod:`envs.mcts_tree`), then does the game work of
all ``k * parallel`` paths at once on a scratch batch of boards:

1. replay: each path's root is copied into a scratch board and the path's moves played, one
   batched ``play`` per tree depth;
2. expand: a leaf visited before gets one child per legal move (in a random order); all of its
   children are played at once on a second scratch batch, and those whose move ends the game are
   decided at once. This is the one-ply check of the classical programs (and of Hex's search): a
   win in one is never missed, and a node whose mover can win at once is proven;
3. roll out: the leaves still open (a new leaf, or the first child of an expanded one) play
   uniformly random moves together until every game has ended: ``random_actions`` + ``play`` per
   ply, for all of them in one call;
4. back up the results, and propagate proven wins/losses (compiled, :func:`envs.mcts_tree.backup`).

The tree of a position is rebuilt on each call (no reuse between moves), as in Hex's search.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from envs import mcts_tree as tree
from envs.mcts_tree import DROPPED, EXPAND, NEW, RUNNING, SOLVED


class SearchableGame(Protocol):
    """What the search uses of a :class:`~envs.base.TurnBasedGame` (named here rather than imported,
    so that the base class can offer this player without an import cycle)."""

    batch_size: int
    num_actions: int
    to_move: np.ndarray
    winner: np.ndarray

    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray: ...

    def play(self, actions: np.ndarray, boards: np.ndarray | None = None, check: bool = True) -> None: ...

    def random_actions(self, uniforms: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray: ...

    def spawn(self, batch_size: int) -> SearchableGame: ...

    def copy_boards(self, source: Any, source_boards: np.ndarray, boards: np.ndarray) -> None: ...

    def state_signature(self) -> tuple: ...


class GenericMCTSPlayer:
    """UCT (UCB1, constant ``exploration``) with ``simulations`` random-rollout simulations per move.

    ``parallel``: paths per tree per wave; more is faster in Python but blurs UCT's one-at-a-time
    choice (virtual loss keeps it sensible up to ~16). Reproducible: same ``seed``, same questions
    in the same order, same answers.

    Use :meth:`search` (``game``, board indices) anywhere; bound to a ``game`` it is also an env's
    :class:`~envs.base.SeatedOpponent` (:meth:`moves`), which is how ``named_player`` hands it out.
    It cannot play from observations alone (a position is more than what a player sees in general),
    so it has no ``__call__``.
    """

    def __init__(
        self, simulations: int = 200, seed: int | None = 0, game: Any = None, exploration: float = 1.4142,
        parallel: int = 8,
    ) -> None:
        for label, value in (("simulations", simulations), ("parallel", parallel)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        if not (isinstance(exploration, (int, float, np.floating)) and math.isfinite(exploration) and exploration >= 0):
            raise ValueError(f"exploration must be a finite number >= 0, got {exploration!r}")
        self.simulations, self.parallel, self.exploration = int(simulations), int(parallel), float(exploration)
        self.seed, self.game = seed, game
        self.name = f"mcts{self.simulations}"
        self._rng = np.random.default_rng(seed)
        self._scratch: dict[str, Any] = {}
        # Of the last search, per position: the proven winner (-1 if unproven; a solved root stops
        # the search early) and the simulations run. For analysis and tests.
        self.last_proven = np.zeros(0, dtype=np.int64)
        self.last_simulations = np.zeros(0, dtype=np.int64)

    def __repr__(self) -> str:
        return f"GenericMCTSPlayer(simulations={self.simulations}, seed={self.seed}, parallel={self.parallel})"

    # --- the SeatedOpponent protocol (bound to the env's game) -----------------------------------
    def start_games(self, boards: np.ndarray) -> None:
        """Nothing to do: the search keeps no state between moves."""

    def end_games(self, boards: np.ndarray, learner_rewards: np.ndarray) -> None:
        """Nothing to learn from results."""

    def moves(self, boards: np.ndarray, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """The env's call: ``boards`` index the bound game, whose state the search reads."""
        if self.game is None:
            raise TypeError("this GenericMCTSPlayer is bound to no game: build it with game=... or call search(game, boards)")
        return self.search(self.game, boards)

    def play_positions(self, game: SearchableGame, boards: np.ndarray) -> np.ndarray:
        """The :class:`~envs.base.PositionPlayer` protocol (batched matches): same as :meth:`search`."""
        return self.search(game, boards)

    # --- the search ------------------------------------------------------------------------------
    def search(self, game: SearchableGame, boards: np.ndarray) -> np.ndarray:
        """The chosen action (mover's frame) for each of ``boards`` of ``game``, all running."""
        boards = np.asarray(boards, dtype=np.int64).reshape(-1)
        if boards.size == 0:
            return np.zeros(0, dtype=np.int64)
        if (game.winner[boards] != RUNNING).any():
            raise ValueError("search needs running boards: a finished game has no move to choose")
        return _Search(self, game, boards).run()

    def scratch(self, game: SearchableGame, role: str, size: int) -> Any:
        """A scratch batch of at least ``size`` boards of ``game``'s kind, kept between calls (allocating
        and resetting thousands of boards each move would cost more than the search)."""
        have = self._scratch.get(role)
        if have is None or have.batch_size < size or have.state_signature() != game.state_signature():
            have = game.spawn(max(size, 2 * (have.batch_size if have is not None else 0)))
            self._scratch[role] = have
        return have

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (with an env) without its scratch boards, which are rebuilt on demand."""
        return {**self.__dict__, "_scratch": {}}


class _Search:
    """One call's forest and its waves (a helper object, so the steps read as short methods)."""

    def __init__(self, player: GenericMCTSPlayer, game: SearchableGame, boards: np.ndarray) -> None:
        self.player, self.game, self.boards = player, game, boards
        self.rng = player._rng
        k, actions, per = boards.size, game.num_actions, player.parallel
        self.k, self.per = k, per
        # Each kept path expands at most one node; a tree keeps at most simulations + per - 1 paths.
        self.capacity = 1 + (player.simulations + per + 1) * actions
        size = k * self.capacity
        self.first = np.full(size, -1, dtype=np.int64)
        self.count = np.zeros(size, dtype=np.int64)
        self.action = np.zeros(size, dtype=np.int64)
        self.to_move = np.zeros(size, dtype=np.int64)
        self.visits = np.zeros(size, dtype=np.int64)
        self.pending = np.zeros(size, dtype=np.int64)
        self.wins = np.zeros(size, dtype=np.float64)
        self.status = np.full(size, RUNNING, dtype=np.int64)
        self.roots = np.arange(k, dtype=np.int64) * self.capacity
        self.next_free = self.roots + 1
        self.done_sims = np.zeros(k, dtype=np.int64)
        self.max_depth = 0
        self.rows = self.player.scratch(game, "paths", k * per)
        self.rows_tree = np.repeat(np.arange(k), per)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.first, self.count, self.visits, self.pending, self.wins, self.status, self.to_move

    def run(self) -> np.ndarray:
        while True:
            active = (self.done_sims < self.player.simulations) & (self.status[self.roots] < 0)
            if not active.any():
                break
            self.wave(active)
        first, count, visits, _, wins, status, to_move = self._arrays()
        best = tree.best_children(self.roots, first, count, visits, wins, status, to_move)
        self.player.last_proven = status[self.roots].copy()
        self.player.last_simulations = self.done_sims.copy()
        return self.action[best]

    def wave(self, active: np.ndarray) -> None:
        rows = self.k * self.per
        paths = np.zeros((rows, self.max_depth + 2), dtype=np.int64)
        depth = np.zeros(rows, dtype=np.int64)
        kind = np.zeros(rows, dtype=np.int8)
        first, count, visits, pending, wins, status, to_move = self._arrays()
        tree.select_paths(
            self.roots, active, self.per, self.player.exploration, first, count, visits, pending, wins, status,
            to_move, paths, depth, kind,
        )
        results = np.full(rows, RUNNING, dtype=np.int64)
        live = np.flatnonzero((kind == NEW) | (kind == EXPAND))
        if live.size:
            self.replay(live, paths, depth)
            expanding = live[kind[live] == EXPAND]
            if expanding.size:
                self.expand(expanding, paths, depth, kind)
            # (A leaf whose move ended the game was decided when it was created, so it came back SOLVED.)
            open_rows = live[kind[live] != SOLVED]
            leaf_status = status[paths[open_rows, depth[open_rows]]]
            self.rollout(open_rows[leaf_status < 0])
            results[open_rows] = np.where(leaf_status < 0, self.rows.winner[open_rows], leaf_status)
        solved = np.flatnonzero(kind == SOLVED)
        results[solved] = status[paths[solved, depth[solved]]]
        tree.backup(paths, depth, kind, results, first, count, visits, pending, wins, status, to_move)
        self.done_sims += np.bincount(self.rows_tree[kind != DROPPED], minlength=self.k)

    def replay(self, live: np.ndarray, paths: np.ndarray, depth: np.ndarray) -> None:
        """Put each live path's leaf position on its scratch board: the root, then the path's moves."""
        self.rows.copy_boards(self.game, self.boards[self.rows_tree[live]], live)
        moves = self.action[paths[live, 1:]]
        for d in range(int(depth[live].max(initial=0))):
            deeper = depth[live] > d
            self.rows.play(moves[deeper, d], live[deeper], check=False)

    def expand(self, rows: np.ndarray, paths: np.ndarray, depth: np.ndarray, kind: np.ndarray) -> None:
        """Add the children of each leaf in ``rows``, decide those whose move ends the game, and step
        each path into its first child (or end it, where the mover has a win in one)."""
        game, status = self.rows, self.status
        mask = game.legal_mask(rows)
        counts = mask.sum(axis=1)
        if (counts == 0).any():
            raise RuntimeError("an undecided position with no legal move: the game's rules must end such games")
        order = np.argsort(np.where(mask, self.rng.random(mask.shape), 2.0), axis=1, kind="stable")
        leaves = paths[rows, depth[rows]]
        movers = game.to_move[rows].astype(np.int64)
        first, count, visits, pending, wins, _, to_move = self._arrays()
        starts = tree.expand(
            leaves, self.rows_tree[rows], counts, order, movers, self.next_free, first, count, self.action, to_move,
            visits, pending, wins, status,
        )
        self.max_depth = max(self.max_depth, int(depth[rows].max()) + 1)
        # Every child played at once on the second scratch batch: which moves end the game?
        total = int(counts.sum())
        children = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        probe = self.player.scratch(self.game, "children", total)
        slots = np.arange(total)
        probe.copy_boards(game, np.repeat(rows, counts), slots)
        probe.play(self.action[children], slots, check=False)
        status[children] = probe.winner[slots]
        wins_now = np.zeros(rows.size, dtype=bool)
        np.logical_or.at(wins_now, np.repeat(np.arange(rows.size), counts), status[children] == np.repeat(movers, counts))
        status[leaves[wins_now]] = movers[wins_now]
        kind[rows[wins_now]] = SOLVED
        step = rows[~wins_now]
        child = starts[~wins_now]
        depth[step] += 1
        paths[step, depth[step]] = child
        pending[child] += 1
        game.play(self.action[child], step, check=False)

    def rollout(self, rows: np.ndarray) -> None:
        """Uniformly random moves on all of ``rows`` together, until each game has ended."""
        game = self.rows
        while rows.size:
            game.play(game.random_actions(self.rng.random(rows.size), rows), rows, check=False)
            rows = rows[game.winner[rows] == RUNNING]
