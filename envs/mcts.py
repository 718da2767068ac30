"""UCT with random rollouts and solver proofs for any :class:`~envs.base.TurnBasedGame`.

The same search as Hex's compiled :mod:`envs.hex.mcts`, but it knows the rules only through the
game's batched interface (``legal_mask``, ``play``, ``to_move``, and the two search hooks
``move_outcomes`` and ``rollout_winners``, whose defaults are built on ``play`` and
``random_actions``) and its state hook (``spawn``, ``copy_boards``), so a new game gets an ``mctsN``
player with no code, and a game with faster rules for those two questions overrides them (Hex does).

Python cannot afford one call per simulation per ply, so the search runs in *waves*: each wave
picks up to ``parallel`` paths in each of the ``k`` trees (one tree per position asked about; the
paths of one tree kept apart by virtual loss, :mod:`envs.mcts_tree`), then does the game work of
all ``k * parallel`` paths at once on a scratch batch of boards:

1. replay: each path's root is copied into a scratch board and the path's moves played, one
   batched ``play`` per tree depth;
2. expand: a leaf visited before gets one child per legal move (in a random order), and the game
   says which of those moves end it (``move_outcomes``; by default all of them played at once on a
   second scratch batch); those children are decided at once. This is the one-ply check of the
   classical programs (and of Hex's search): a win in one is never missed, and a node whose mover
   can win at once is proven;
3. roll out: the leaves still open (a new leaf, or the first child of an expanded one) are played to
   the end with uniformly random moves, all in one call (``rollout_winners``; by default
   ``random_actions`` + ``play`` per ply for all of them together);
4. back up the results, and propagate proven wins/losses (compiled, :func:`envs.mcts_tree.backup`).

The tree of a position is rebuilt on each call (no reuse between moves), as in Hex's search.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from envs import mcts_tree as tree
from envs.mcts_tree import EXPAND, NEW, RUNNING, SOLVED


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

    def rollout_winners(self, boards: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...

    def move_outcomes(self, boards: np.ndarray, scratch: Any = None) -> np.ndarray: ...

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
        self,
        simulations: int = 200,
        seed: int | None = 0,
        game: Any = None,
        exploration: float = 1.4142,
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
        self._nodes: list[np.ndarray] = []
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

    # A node's fields, in the order :meth:`nodes` returns them. Narrow types where the range allows
    # (a forest is tens of MB, and memory traffic is much of the tree work): ``first`` indexes the
    # whole forest, so it stays int64; ``wins`` counts halves exactly in float64.
    _NODE_TYPES = (np.int64, np.int32, np.int32, np.int32, np.int32, np.float64, np.int8, np.int8)

    def nodes(self, size: int) -> tuple[np.ndarray, ...]:
        """Uninitialised node arrays for a forest of ``size`` nodes (``first``, ``count``, ``action``,
        ``visits``, ``pending``, ``wins``, ``status``, ``to_move``), kept between calls and grown when
        needed. Why kept: a search writes most of a forest's nodes once, and fresh memory costs a
        page fault per 4 KB on first write, which was a fifth of a search; why uninitialised: each
        node is written when it is created (the roots by the search, the rest by
        :func:`envs.mcts_tree.expand`), so nothing reads what a previous search left."""
        have = self._nodes
        if not have or have[0].size < size:
            have = self._nodes = [np.empty(size, dtype=dtype) for dtype in self._NODE_TYPES]
        return tuple(array[:size] for array in have)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (with an env) without its scratch boards and nodes, which are rebuilt on demand."""
        return {**self.__dict__, "_scratch": {}, "_nodes": []}


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
        self.first, self.count, self.action, self.visits, self.pending, self.wins, self.status, self.to_move = player.nodes(size)
        self.roots = np.arange(k, dtype=np.int64) * self.capacity
        for field, value in (
            (self.first, -1),
            (self.count, 0),
            (self.action, 0),
            (self.to_move, 0),
            (self.visits, 0),
            (self.pending, 0),
            (self.wins, 0.0),
            (self.status, RUNNING),
        ):
            field[self.roots] = value
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
        self.player.last_proven = status[self.roots].astype(np.int64)
        self.player.last_simulations = self.done_sims.copy()
        return self.action[best].astype(np.int64)

    def wave(self, active: np.ndarray) -> None:
        rows = self.k * self.per
        paths = np.zeros((rows, self.max_depth + 2), dtype=np.int64)
        depth = np.zeros(rows, dtype=np.int64)
        kind = np.zeros(rows, dtype=np.int8)
        first, count, visits, pending, wins, status, to_move = self._arrays()
        tree.select_paths(
            self.roots,
            active,
            self.per,
            self.player.exploration,
            first,
            count,
            visits,
            pending,
            wins,
            status,
            to_move,
            paths,
            depth,
            kind,
        )
        results = np.full(rows, RUNNING, dtype=np.int64)  # rollouts' winners; the rest read in backup
        live = np.flatnonzero((kind == NEW) | (kind == EXPAND))
        if live.size:
            self.replay(live, paths, depth)
            expanding = live[kind[live] == EXPAND]
            if expanding.size:
                self.expand(expanding, paths, depth, kind)
            # (A leaf whose move ended the game was decided when it was created: nothing to roll out.)
            open_rows = live[kind[live] != SOLVED]
            unknown = open_rows[status[paths[open_rows, depth[open_rows]]] < 0]
            results[unknown] = self.rows.rollout_winners(unknown, self.rng)
        tree.backup(paths, depth, kind, results, self.per, self.done_sims, first, count, visits, pending, wins, status, to_move)

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
        if not mask.any(axis=1).all():
            raise RuntimeError("an undecided position with no legal move: the game's rules must end such games")
        leaves = paths[rows, depth[rows]]
        movers = game.to_move[rows].astype(np.int64)
        # Which moves end the game at once (the game's own answer; by default every child played on
        # a second scratch batch): those children are decided as they are created.
        outcomes = game.move_outcomes(rows, lambda size: self.player.scratch(self.game, "children", size))
        first, count, visits, pending, wins, _, to_move = self._arrays()
        starts = tree.expand(
            leaves,
            self.rows_tree[rows],
            mask,
            self.rng.random(mask.shape, dtype=np.float32),
            outcomes,
            movers,
            self.next_free,
            first,
            count,
            self.action,
            to_move,
            visits,
            pending,
            wins,
            status,
        )
        self.max_depth = max(self.max_depth, int(depth[rows].max()) + 1)
        wins_now = (outcomes == movers[:, None]).any(axis=1)
        status[leaves[wins_now]] = movers[wins_now]
        kind[rows[wins_now]] = SOLVED
        step = rows[~wins_now]
        child = starts[~wins_now]
        depth[step] += 1
        paths[step, depth[step]] = child
        pending[child] += 1
        game.play(self.action[child], step, check=False)
