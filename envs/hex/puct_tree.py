"""The tree half of a network-guided Hex search (PUCT, as AlphaZero): compiled loops over many trees.

A search asks a network about positions; this module never does. It holds one tree per position
being searched, walks every tree down to new leaves, hands the leaves back as network inputs, and
takes the network's answers (move priors and values) to expand those leaves and back their values
up. :mod:`rlagent.games.hex.puct` drives it: one network call per round, for the leaves of all trees
at once, so the network sees large batches however many games are being played.

Why a round collects several leaves per tree (``leaves`` per tree): one leaf per tree per network
call would make the number of calls equal to the number of simulations, and a call costs far more
than its share of work at small batches. While a leaf waits for its evaluation its path carries a
*virtual loss*: each edge on it counts one more visit that lost, so the next walk of the same round
prefers other moves. A walk that still arrives at a leaf already waiting (a collision) is undone
and ends that tree's round early; a tree whose walk ends in a won position (the last move
connected its player's edges) backs the exact result up at once and goes on collecting.

Selection at a node with ``N`` visits (its own evaluation and everything below it, plus virtual
visits) maximises ``Q(a) + c_puct * P(a) * sqrt(N) / (1 + n(a))`` over the legal moves, ``Q`` the
mean value of the move for the player choosing it (virtual losses counted as -1), ``P`` its prior,
``n`` its visits. A move never visited takes the node's own mean value less ``fpu_reduction``
("first-play urgency": unexplored moves are assumed a little worse than the position's average).
Ties go to the lowest action index, so a search is a pure function of the network's answers.

Solver (``solver``, MCTS-Solver): exact results propagate. A position is won for its mover when one
move wins outright or leads to a position lost for the player then to move, and lost when every
legal move leads to a won one; a new position whose mover can connect at once (one flood fill,
cheaper than a network evaluation) is won without asking the network. Selection skips moves proven
lost while any other is open, a walk that reaches a solved position backs its exact result up, and
a solved root ends its tree's search early. Without it, only a move that connects scores exactly.

Layout: trees are rows of fixed-size arrays. A tree has at most one node per simulation (each
evaluation expands one node), and each node a row of ``n * n + 1`` edges in the absolute frame
(cells, then the swap): the prior, visits, value sum (from the view of the player choosing the
edge), virtual losses, and the child (a node index, or :data:`UNEXPANDED`, :data:`WINS`,
:data:`ILLEGAL`). Nodes hold their player to move, whether the swap is legal there, their visits and
value sum (from their own mover's view), their state (:data:`NEW`, :data:`WAITING`,
:data:`EXPANDED`) and their proof (+1 won, -1 lost for their mover, 0 open). Positions are replayed from the root along the path on each walk (a copy of
``n * n`` cells, cheaper than storing boards per node).

Values are from the view of the player to move at the evaluated position: +1 it wins, -1 it
loses. A won position is worth exactly +1 to the player who just moved.

Swap rule: legal at a root where the caller says so, and one ply below an empty root when the game
has the swap rule (``deep_swap``): the reply to the first move. Nowhere else.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.hex.mcts import _apply, _connects, _winning_cell  # the rollout search's move and win checks, shared

UNEXPANDED, WINS, ILLEGAL = -1, -2, -3  # edge children that are not nodes
NEW, WAITING, EXPANDED = 0, 1, 2  # node states
EDGE_BYTES = 4 + 4 + 4 + 2 + 4  # prior, visits, value sum, virtual losses, child


class Trees:
    """The arrays of ``games`` trees of up to ``max_nodes`` nodes over ``actions`` edges each.

    Built by :func:`new_trees`; a plain holder so that the compiled functions can take its fields.
    """

    def __init__(self, games: int, max_nodes: int, actions: int) -> None:
        shape = (games, max_nodes, actions)
        self.prior = np.zeros(shape, dtype=np.float32)
        self.edge_visits = np.zeros(shape, dtype=np.int32)
        self.edge_value = np.zeros(shape, dtype=np.float32)
        self.edge_virtual = np.zeros(shape, dtype=np.int16)
        self.child = np.full(shape, ILLEGAL, dtype=np.int32)
        self.player = np.zeros((games, max_nodes), dtype=np.int8)
        self.swap = np.zeros((games, max_nodes), dtype=np.bool_)
        self.state = np.zeros((games, max_nodes), dtype=np.int8)
        self.visits = np.zeros((games, max_nodes), dtype=np.int32)
        self.value = np.zeros((games, max_nodes), dtype=np.float64)
        self.virtual = np.zeros((games, max_nodes), dtype=np.int32)
        self.proof = np.zeros((games, max_nodes), dtype=np.int8)  # +1 / -1: won / lost for the mover, 0 open
        self.nodes = np.ones(games, dtype=np.int32)  # node 0 is the root, NEW until its first round
        self.simulations = np.zeros(games, dtype=np.int32)  # backed-up results per tree


def new_trees(to_move: np.ndarray, root_swap: np.ndarray, max_nodes: int, actions: int) -> Trees:
    """Empty trees whose roots have ``to_move`` to move and the swap legal where ``root_swap``."""
    trees = Trees(to_move.size, max_nodes, actions)
    trees.player[:, 0] = to_move
    trees.swap[:, 0] = root_swap
    return trees


@njit(cache=True)
def _select(
    prior: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    edge_virtual: np.ndarray,
    child: np.ndarray,
    proof: np.ndarray,
    parent_visits: int,
    parent_mean: float,
    c_puct: float,
    fpu_reduction: float,
) -> int:
    """The PUCT choice among one node's legal edges (rows of its tree's arrays) that are not proven
    lost for the chooser; -1 if there is none."""
    scale = c_puct * math.sqrt(max(parent_visits, 1))
    unvisited = parent_mean - fpu_reduction
    best = -1
    best_score = -np.inf
    for a in range(prior.size):
        target = child[a]
        if target == ILLEGAL or (target >= 0 and proof[target] == 1):
            continue
        n = edge_visits[a] + edge_virtual[a]
        # Each virtual loss counts as a visit that lost (-1) for the player choosing the edge.
        q = unvisited if n == 0 else (edge_value[a] - edge_virtual[a]) / n
        score = q + scale * prior[a] / (1 + n)
        if score > best_score:
            best_score = score
            best = a
    return best


@njit(cache=True)
def _back_up(
    g: int,
    depth: int,
    value: float,
    path_nodes: np.ndarray,
    path_actions: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    edge_virtual: np.ndarray,
    visits: np.ndarray,
    node_value: np.ndarray,
    virtual: np.ndarray,
    undo_virtual: int,
) -> None:
    """Add ``value`` (from the view of the player who made the path's last move) to every edge
    and node above the path's end, alternating its sign each ply; take ``undo_virtual`` virtual
    losses off the path as well (1 after a wait for an evaluation, 0 for an exact result)."""
    v = value
    for d in range(depth - 1, -1, -1):
        node, a = path_nodes[d], path_actions[d]
        edge_visits[g, node, a] += 1
        edge_value[g, node, a] += v
        edge_virtual[g, node, a] -= undo_virtual
        visits[g, node] += 1
        node_value[g, node] += v
        virtual[g, node] -= undo_virtual
        v = -v


@njit(cache=True)
def _prove(g: int, depth: int, path_nodes: np.ndarray, child: np.ndarray, proof: np.ndarray) -> None:
    """The node at ``depth`` of the path was just solved: solve its ancestors that follow from it
    (MCTS-Solver). A node is won for its mover if one move leads to a position lost for the
    player then to move (or wins outright), lost if every legal move leads to a won one."""
    for d in range(depth, 0, -1):
        solved, parent = path_nodes[d], path_nodes[d - 1]
        if proof[g, parent] != 0:
            return
        if proof[g, solved] == -1:
            proof[g, parent] = 1
            continue
        for target in child[g, parent]:
            if target == UNEXPANDED or target == WINS or (target >= 0 and proof[g, target] != 1):
                return
        proof[g, parent] = -1


@njit(cache=True)
def _write_leaf(board: np.ndarray, n: int, player: int, swap_legal: bool, planes: np.ndarray, mask: np.ndarray, row: int) -> None:
    """The network's input for ``board`` with ``player`` to move, in that player's frame (the
    board transposed and the colours exchanged for the second player, as the env shows it)."""
    count = n * n
    for r in range(n):
        for c in range(n):
            if player == 0:
                stone = board[r * n + c]
            else:
                stone = board[c * n + r]
            mine = stone == player + 1
            theirs = stone == 2 - player
            planes[row, 0, r, c] = 1.0 if mine else 0.0
            planes[row, 1, r, c] = 1.0 if theirs else 0.0
            planes[row, 2, r, c] = 1.0 if swap_legal else 0.0
            mask[row, r * n + c] = stone == 0
    mask[row, count] = swap_legal


@njit(cache=True)
def collect(
    roots: np.ndarray,
    budget: int,
    leaves: int,
    c_puct: float,
    fpu_reduction: float,
    deep_swap: bool,
    solver: bool,
    prior: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    edge_virtual: np.ndarray,
    child: np.ndarray,
    player: np.ndarray,
    swap: np.ndarray,
    state: np.ndarray,
    visits: np.ndarray,
    node_value: np.ndarray,
    virtual: np.ndarray,
    proof: np.ndarray,
    nodes: np.ndarray,
    simulations: np.ndarray,
    planes: np.ndarray,
    mask: np.ndarray,
    leaf_game: np.ndarray,
    leaf_depth: np.ndarray,
    path_nodes: np.ndarray,
    path_actions: np.ndarray,
) -> int:
    """One round: up to ``leaves`` new leaves from each tree that has neither backed up ``budget``
    results nor been solved, their network inputs written to ``planes``/``mask`` row by row;
    returns the number of leaves. ``roots`` holds the root boards (int8, absolute codes, flat).
    Exact results found on the way (a move that connects; with ``solver``, a position already
    solved, or a new one whose mover can connect at once) are backed up here and count towards
    ``budget``.
    """
    games, count = roots.shape
    n = int(round(math.sqrt(count)))
    board = np.empty(count, dtype=np.int8)
    stack = np.empty(count, dtype=np.int32)
    seen = np.zeros(count, dtype=np.bool_)
    group = np.empty(count, dtype=np.int32)
    touch = np.empty(count, dtype=np.int8)
    out = 0
    for g in range(games):
        root_empty = True
        for cell in range(count):
            if roots[g, cell] != 0:
                root_empty = False
                break
        taken = 0
        while taken < leaves and simulations[g] + taken < budget and proof[g, 0] == 0:
            board[:] = roots[g]
            node = 0
            depth = 0
            mover = player[g, 0]
            path_nodes[out, 0] = 0
            exact = False  # the walk ended in a solved position
            finished = False  # the walk ended with a winning move
            while True:
                if proof[g, node] != 0:
                    exact = True
                    break
                if state[g, node] != EXPANDED:
                    break
                a = _select(
                    prior[g, node],
                    edge_visits[g, node],
                    edge_value[g, node],
                    edge_virtual[g, node],
                    child[g, node],
                    proof[g],
                    visits[g, node] + virtual[g, node],
                    node_value[g, node] / visits[g, node],
                    c_puct,
                    fpu_reduction,
                )
                if a < 0:  # every move is proven lost
                    proof[g, node] = -1
                    _prove(g, depth, path_nodes[out], child, proof)
                    exact = True
                    break
                path_actions[out, depth] = a
                _apply(board, n, a, mover)
                depth += 1
                target = child[g, node, a]
                if target == UNEXPANDED:
                    if a < count and _connects(board, n, a, mover, stack, seen):
                        child[g, node, a] = WINS
                        target = WINS
                    else:
                        target = nodes[g]
                        nodes[g] = target + 1
                        child[g, node, a] = target
                        player[g, target] = 1 - mover
                        swap[g, target] = deep_swap and depth == 1 and root_empty and a < count
                        state[g, target] = NEW
                        path_nodes[out, depth] = target
                        if solver and _winning_cell(board, n, 1 - mover, group, touch, stack) >= 0:
                            proof[g, target] = 1  # its mover connects next move
                            _prove(g, depth, path_nodes[out], child, proof)
                if target == WINS:
                    # The game is over, lost for the player now to move. That is not a node, so
                    # the proof goes straight to the position the winning move was made from.
                    if solver:
                        proof[g, node] = 1
                        _prove(g, depth - 1, path_nodes[out], child, proof)
                    _back_up(g, depth, 1.0, path_nodes[out], path_actions[out], edge_visits, edge_value, edge_virtual, visits, node_value, virtual, 0)
                    finished = True
                    break
                node = target
                mover = 1 - mover
                path_nodes[out, depth] = node
            if finished:
                simulations[g] += 1
                continue
            if exact:
                # The exact result, +1 or -1 to the player to move at ``node``.
                visits[g, node] += 1
                node_value[g, node] += proof[g, node]
                _back_up(
                    g, depth, -float(proof[g, node]), path_nodes[out], path_actions[out], edge_visits, edge_value, edge_virtual, visits, node_value, virtual, 0
                )
                simulations[g] += 1
                continue
            if state[g, node] == WAITING:
                break  # a collision ends this tree's round: its walks keep arriving where they already wait
            state[g, node] = WAITING
            for d in range(depth):
                edge_virtual[g, path_nodes[out, d], path_actions[out, d]] += 1
                virtual[g, path_nodes[out, d]] += 1
            _write_leaf(board, n, mover, swap[g, node], planes, mask, out)
            leaf_game[out] = g
            leaf_depth[out] = depth
            out += 1
            taken += 1
    return out


@njit(cache=True)
def expand(
    count: int,
    priors: np.ndarray,
    values: np.ndarray,
    mask: np.ndarray,
    n: int,
    prior: np.ndarray,
    edge_visits: np.ndarray,
    edge_value: np.ndarray,
    edge_virtual: np.ndarray,
    child: np.ndarray,
    player: np.ndarray,
    state: np.ndarray,
    visits: np.ndarray,
    node_value: np.ndarray,
    virtual: np.ndarray,
    simulations: np.ndarray,
    leaf_game: np.ndarray,
    leaf_depth: np.ndarray,
    path_nodes: np.ndarray,
    path_actions: np.ndarray,
) -> None:
    """Give the first ``count`` leaves of a round their network answers and back the values up.

    ``priors`` (count, n*n + 1) are in each leaf's mover's frame, as the network gives them, and
    are renormalised over the legal moves (uniform if they all underflowed); ``values`` are from
    the leaf mover's view, clipped to [-1, 1].
    """
    cells = n * n
    for i in range(count):
        g, depth = leaf_game[i], leaf_depth[i]
        node = path_nodes[i, depth]
        mover = player[g, node]
        total = 0.0
        legal = 0
        for a in range(cells + 1):
            m = a
            if mover == 1 and a < cells:
                m = (a % n) * n + a // n  # the absolute cell as the mover sees it
            edge_visits[g, node, a] = 0
            edge_value[g, node, a] = 0.0
            edge_virtual[g, node, a] = 0
            if mask[i, m]:
                p = max(float(priors[i, m]), 0.0)
                prior[g, node, a] = p
                total += p
                legal += 1
                child[g, node, a] = UNEXPANDED
            else:
                prior[g, node, a] = 0.0
                child[g, node, a] = ILLEGAL
        for a in range(cells + 1):
            if child[g, node, a] == UNEXPANDED:
                prior[g, node, a] = prior[g, node, a] / total if total > 0.0 else 1.0 / legal
        v = min(max(float(values[i]), -1.0), 1.0)
        state[g, node] = EXPANDED
        visits[g, node] += 1
        node_value[g, node] += v
        _back_up(g, depth, -v, path_nodes[i], path_actions[i], edge_visits, edge_value, edge_virtual, visits, node_value, virtual, 1)
        simulations[g] += 1


def root_proofs(trees: Trees) -> np.ndarray:
    """int8 (games, actions): 2 where a root move wins at once, 1 where it leads to a position
    proven lost for the opponent, -1 where to one proven won for it, else 0."""
    edges = trees.child[:, 0]
    below = np.take_along_axis(trees.proof, np.maximum(edges, 0), axis=1)
    proven = np.where(edges >= 0, -below, 0).astype(np.int8)
    proven[edges == WINS] = 2
    return proven
