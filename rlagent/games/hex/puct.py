"""Network-guided Hex search: PUCT (as AlphaZero) with a trained policy's priors and value head.

A :class:`PUCTPlayer` plays a Hex network through a tree search of ``simulations`` evaluations per
move: the policy's move probabilities are the priors, its value head scores the leaves, and a won
position scores exactly. It searches every position it is asked about at once, and each round of
the search asks the network about the new leaves of all the trees in ONE forward pass (several
leaves per tree, spread by virtual losses): a league match of 100 games at 200 simulations costs
about 200 / ``leaves`` calls per move, not 100 * 200. The trees live in compiled arrays
(:mod:`envs.hex.puct_tree`, which also gives the selection rule); this module feeds them the network.

Values: the value head predicts the discounted return of the player to move (+1 win, -1 loss,
the env's rewards), so it is used as it is (a ``bce`` head through ``tanh``, as everywhere);
discounting only pulls far-off results towards 0, which leaves their order intact.

The move played is the most visited (ties: the higher prior, then the lower index), so a search is
deterministic; ``temperature`` > 0 samples in proportion to visits ** (1 / temperature) and
``dirichlet_fraction`` > 0 mixes Dirichlet(``dirichlet_alpha``) noise into the root priors, both
drawn from the player's seeded generator and both off by default (they are for self-play data).
With one simulation nothing is visited and the move is the prior's favourite: the greedy policy.

Name: ``RUN@puctN`` (:mod:`envs.player_names`) wherever a trained agent can be loaded.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.hex import puct_tree
from envs.hex.positions import check_positions, positions_from_observations
from rlagent.agent import Agent, load_agent
from rlagent.errors import ConfigError
from rlagent.gym_envs import resolve_env_id
from rlagent.losses import VALUE_LOSSES, on_return_scale

MAX_MEMORY = 256 * 2**20  # bytes of tree arrays per batch of searches; more positions are searched in turns


@dataclass(frozen=True)
class SearchResult:
    """The search's view of each root, in the absolute frame (cells ``r * n + c``, then the swap).

    ``visits`` int32 (k, n*n + 1): simulations through each root move (they sum to ``simulations``
    - 1: the root's own evaluation is the first). ``q`` float32: each move's mean value for the
    player to move (NaN where unvisited). ``priors``: the network's root priors (with any noise).
    ``value``: the root's mean value for the player to move over all its simulations, or its exact
    result (+1 or -1) where the search solved it.
    ``legal`` bool: the root's legal moves. ``proven`` int8: 2 where the move wins at once, 1 where
    the search proved it wins by force, -1 where it proved it loses, else 0 (all 0 without the
    solver but for the wins at once). ``moves``: the move chosen in each position.
    """

    visits: np.ndarray
    q: np.ndarray
    priors: np.ndarray
    value: np.ndarray
    legal: np.ndarray
    proven: np.ndarray
    moves: np.ndarray


@dataclass
class SearchStats:
    """What the searches of one player have cost so far."""

    positions: int = 0
    simulations: int = 0
    network_calls: int = 0
    leaves: int = 0
    seconds: float = 0.0
    network_seconds: float = 0.0  # of ``seconds``, spent in the network's forward passes

    @property
    def leaves_per_call(self) -> float:
        return self.leaves / max(self.network_calls, 1)

    @property
    def simulations_per_second(self) -> float:
        return self.simulations / max(self.seconds, 1e-9)


class PUCTPlayer:
    """A Hex policy network searched with PUCT; see the module docstring.

    ``simulations``: network evaluations per move (the root's included). ``c_puct``: the weight of
    the prior-driven exploration term. ``fpu_reduction``: how much worse than the position's mean an
    unvisited move is assumed. ``leaves``: leaves collected per tree per network call. ``solver``:
    propagate exact results (a position is won if a move wins or leads to a lost position, lost if
    every move leads to a won one; solved moves are avoided or played at once, a solved root ends
    its search) and solve a new position whose mover can connect at once without asking the
    network (a flood fill, cheaper than a network evaluation); False is plain PUCT. ``swap``: the
    game has the swap rule (considered one ply below an empty root; at a root wherever the caller
    says it is legal). ``value_loss``: the run's ``ppo.value_loss`` (``bce`` heads are read through
    ``tanh``). The network is put in ``eval()`` mode.
    """

    def __init__(
        self,
        policy: torch.nn.Module,
        simulations: int = 200,
        *,
        c_puct: float = 2.0,
        fpu_reduction: float = 0.2,
        leaves: int = 8,
        solver: bool = True,
        swap: bool = False,
        value_loss: str = "mse",
        temperature: float = 0.0,
        dirichlet_alpha: float = 0.3,
        dirichlet_fraction: float = 0.0,
        seed: int = 0,
        name: str = "puct",
        max_memory: int = MAX_MEMORY,
    ) -> None:
        if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) or simulations < 1:
            raise ConfigError(f"simulations must be a positive integer, got {simulations!r}")
        if isinstance(leaves, bool) or not isinstance(leaves, (int, np.integer)) or leaves < 1:
            raise ConfigError(f"leaves (per tree per network call) must be a positive integer, got {leaves!r}")
        for field, value in (("c_puct", c_puct), ("fpu_reduction", fpu_reduction), ("temperature", temperature), ("dirichlet_fraction", dirichlet_fraction)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"{field} must be a finite number >= 0, got {value!r}")
        if dirichlet_fraction > 1 or not (isinstance(dirichlet_alpha, (int, float)) and 0 < dirichlet_alpha < math.inf):
            raise ConfigError(f"dirichlet_fraction must lie in [0, 1] and dirichlet_alpha be positive, got {dirichlet_fraction!r} and {dirichlet_alpha!r}")
        if value_loss not in VALUE_LOSSES:
            raise ConfigError(f"value_loss must be one of {', '.join(VALUE_LOSSES)} (the run's ppo.value_loss), got {value_loss!r}")
        if getattr(policy, "is_recurrent", False):
            raise ConfigError("a PUCT search needs a feed-forward network (the board is the whole state): this policy is recurrent")
        self.policy = policy
        self.simulations, self.leaves = int(simulations), int(leaves)
        self.c_puct, self.fpu_reduction = float(c_puct), float(fpu_reduction)
        self.swap, self.value_loss, self.solver = bool(swap), value_loss, bool(solver)
        self.temperature, self.dirichlet_alpha, self.dirichlet_fraction = float(temperature), float(dirichlet_alpha), float(dirichlet_fraction)
        self.seed, self.name, self.max_memory = seed, name, max_memory
        self.rng = np.random.default_rng(seed)
        self.stats = SearchStats()
        policy.eval()

    @classmethod
    def load(cls, path: str | Path, simulations: int, seed: int = 0, name: str | None = None, **options: Any) -> PUCTPlayer:
        """From a Hex run directory (its latest checkpoint) or checkpoint file; see :meth:`from_agent`."""
        return cls.from_agent(load_agent(path), simulations, seed, name, **options)

    @classmethod
    def from_agent(cls, agent: Agent, simulations: int, seed: int = 0, name: str | None = None, **options: Any) -> PUCTPlayer:
        """A loaded Hex agent searched, with its run's swap rule and value scale unless ``options`` say otherwise."""
        if resolve_env_id(agent.config.env) != resolve_env_id("hex"):
            raise ConfigError(f"{agent.path}@puct{simulations}: PUCT searches Hex positions, but this agent was trained on {agent.config.env}")
        options.setdefault("swap", bool(agent.config.env_kwargs.get("swap", False)))
        options.setdefault("value_loss", getattr(agent.config.algorithm, "value_loss", "mse"))
        return cls(agent.policy, simulations, seed=seed, name=name or f"{agent.path.stem}@puct{simulations}", **options)

    def __repr__(self) -> str:
        return f"PUCTPlayer({self.name!r}, simulations={self.simulations}, c_puct={self.c_puct}, fpu_reduction={self.fpu_reduction}, leaves={self.leaves})"

    # --- the player protocols ----------------------------------------------------------------
    def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Mover's-frame actions for observations ``(k, 3, n, n)`` (the env opponent protocol).

        In its own frame the mover connects top and bottom, so the search runs on "mover = the first
        player, stones coded 1"; its answers are then already in the mover's frame.
        """
        try:
            boards, to_move, swap = positions_from_observations(observation, action_mask)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return self.search(boards, to_move, swap).moves

    def select_moves(self, boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None) -> np.ndarray:
        """Absolute cells (or ``n * n``, the swap) for int8 absolute boards ``(k, n, n)``, as
        :func:`~rlagent.games.hex.solved_positions.select_moves` asks of any player."""
        return self.search(boards, to_move, swap_legal).moves

    # --- the search ------------------------------------------------------------------------------
    def search(self, boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None) -> SearchResult:
        """Search every position of ``boards`` (int8 ``(k, n, n)``: 0 empty, 1 the first player's
        stone, 2 the second's) with ``to_move`` (0 or 1 each) to move; ``swap_legal`` offers the swap
        at the root. Every board needs an empty cell."""
        try:
            flat, to_move, swap = check_positions(boards, to_move, swap_legal)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        k, cells = flat.shape
        actions = cells + 1
        max_nodes = self.simulations + 1
        chunk = max(1, self.max_memory // (max_nodes * actions * puct_tree.EDGE_BYTES))
        start = time.perf_counter()
        parts = [self._search(flat[i : i + chunk], to_move[i : i + chunk], swap[i : i + chunk]) for i in range(0, k, chunk)]
        self.stats.seconds += time.perf_counter() - start
        self.stats.positions += k
        if not parts:
            empty = np.zeros((0, actions))
            return SearchResult(
                empty.astype(np.int32),
                empty.astype(np.float32),
                empty.astype(np.float32),
                np.zeros(0),
                empty.astype(bool),
                empty.astype(np.int8),
                np.zeros(0, np.int64),
            )
        visits, q, priors, value, legal, proven = (np.concatenate(field) for field in zip(*parts))
        return SearchResult(visits, q, priors, value, legal, proven, self._choose(visits, priors, legal, proven))

    def _search(self, roots: np.ndarray, to_move: np.ndarray, root_swap: np.ndarray) -> tuple[np.ndarray, ...]:
        """One batch of trees, searched round by round until each has ``simulations`` results."""
        games, cells = roots.shape
        n = math.isqrt(cells)
        actions = cells + 1
        trees = puct_tree.new_trees(to_move, root_swap, self.simulations + 1, actions)
        rows = games * self.leaves
        planes = np.empty((rows, 3, n, n), dtype=np.float32)
        mask = np.empty((rows, actions), dtype=np.bool_)
        leaf_game = np.empty(rows, dtype=np.int32)
        leaf_depth = np.empty(rows, dtype=np.int32)
        path_nodes = np.empty((rows, cells + 3), dtype=np.int32)
        path_actions = np.empty((rows, cells + 3), dtype=np.int32)
        tree_arrays = (trees.prior, trees.edge_visits, trees.edge_value, trees.edge_virtual, trees.child)
        node_arrays = (
            trees.player,
            trees.swap,
            trees.state,
            trees.visits,
            trees.value,
            trees.virtual,
            trees.proof,
            trees.nodes,
            trees.simulations,
        )
        paths = (leaf_game, leaf_depth, path_nodes, path_actions)
        while True:
            count = puct_tree.collect(
                roots,
                self.simulations,
                self.leaves,
                self.c_puct,
                self.fpu_reduction,
                self.swap,
                self.solver,
                *tree_arrays,
                *node_arrays,
                planes,
                mask,
                *paths,
            )
            if count == 0:
                break
            priors, values = self._evaluate(planes[:count], mask[:count])
            if self.dirichlet_fraction > 0:
                self._add_noise(priors, mask[:count], leaf_depth[:count] == 0)
            puct_tree.expand(
                count,
                priors,
                values,
                mask,
                n,
                *tree_arrays,
                trees.player,
                trees.state,
                trees.visits,
                trees.value,
                trees.virtual,
                trees.simulations,
                *paths,
            )
        self.stats.simulations += int(trees.simulations.sum())
        visits = trees.edge_visits[:, 0].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(visits > 0, trees.edge_value[:, 0] / visits, np.nan).astype(np.float32)
        mean = trees.value[:, 0] / np.maximum(trees.visits[:, 0], 1)
        value = np.where(trees.proof[:, 0] != 0, trees.proof[:, 0], mean)  # a solved root: its exact result
        return visits, q, trees.prior[:, 0].copy(), value, trees.child[:, 0] != puct_tree.ILLEGAL, puct_tree.root_proofs(trees)

    @torch.inference_mode()
    def _evaluate(self, planes: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Priors (mover's frame) and values (mover's view, on the return scale) in one forward pass."""
        start = time.perf_counter()
        out = self.policy.forward({"observation": planes, "action_mask": mask.view(np.int8)})
        priors = out.dist.probs.float().cpu().numpy()
        values = on_return_scale(out.value.float().cpu().numpy(), self.value_loss)
        self.stats.network_seconds += time.perf_counter() - start
        self.stats.network_calls += 1
        self.stats.leaves += planes.shape[0]
        return priors, values

    def _add_noise(self, priors: np.ndarray, mask: np.ndarray, roots: np.ndarray) -> None:
        """Mix Dirichlet noise into the priors of the root leaves (in place), over their legal moves."""
        for row in np.flatnonzero(roots):
            legal = np.flatnonzero(mask[row])
            noise = self.rng.dirichlet(np.full(legal.size, self.dirichlet_alpha))
            priors[row, legal] = (1 - self.dirichlet_fraction) * priors[row, legal] + self.dirichlet_fraction * noise

    def _choose(self, visits: np.ndarray, priors: np.ndarray, legal: np.ndarray, proven: np.ndarray) -> np.ndarray:
        """A win at once, else a proven win (the most visited), else the most visited legal move not
        proven lost (ties: higher prior, then lower index), or one sampled by visits among those."""
        # Visits are whole numbers and priors < 1, so the prior only breaks ties; proofs outrank both.
        score = np.where(legal, visits + 0.5 * priors + 2.0**40 * proven, -np.inf)
        best = score.argmax(axis=1).astype(np.int64)
        if self.temperature == 0:
            return best
        open_moves = legal & (proven == 0)
        weights = np.where(visits.sum(axis=1, keepdims=True) > 0, visits.astype(np.float64) ** (1 / self.temperature), priors)
        weights = np.where(open_moves, weights, 0.0)
        weights[weights.sum(axis=1) == 0] = open_moves[weights.sum(axis=1) == 0]  # priors that all underflowed
        chosen = np.empty(visits.shape[0], dtype=np.int64)
        for i, row in enumerate(weights):
            chosen[i] = self.rng.choice(row.size, p=row / row.sum()) if row.sum() > 0 else best[i]
        forced = (proven[np.arange(len(best)), best] > 0) | ~open_moves.any(axis=1)  # a proven win, or nothing open
        return np.where(forced, best, chosen)
