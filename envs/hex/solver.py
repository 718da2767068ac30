"""An exact Hex solver: who wins a position with perfect play, and with which moves.

Used to grade agents against the truth rather than against other agents (``evaluate --positions``,
the league's solved-position column, ``analyze --solve``). Boards up to 8x8 fit a 64-bit word per
player, so a position is two integers and every rule is a few shifts and masks.

The search is a depth-first proof search (a Hex game has no draws, so each position is simply won
or lost for the side to move) with three things that make it fast enough to matter:

* **Carriers and must-play.** Every result comes back with its *carrier*: the empty cells the
  winner's proof used. If the winner's proof holds with every other empty cell given to the loser,
  then the loser's moves outside the carrier are refuted by the same proof (an extra stone never
  helps in Hex, and a cell left empty is no better for the loser than one it owns). So once a move
  has been refuted with carrier ``C``, only moves inside ``C`` are still worth trying; the set
  shrinks with every refutation. This is the idea behind the must-play regions of the Hex solvers
  (Hayward, van Rijswijck, Arneson et al.), here computed from the search's own proofs rather than
  from virtual connections.
* **Threats.** A move that connects at once wins; two such moves for the opponent lose at once;
  one must be blocked.
* **A transposition table** keyed by the exact position (both words and the mover), holding the
  result and its carrier. Results are exact, so entries never go stale within one table.

The search is an explicit-stack loop (numba recursion on deep boards was unreliable) over
absolute boards: player 0 connects top to bottom, player 1 left to right, cell ``r * n + c``
(``shared/DESIGN.md``). The swap rule only matters on the second move; :func:`solve_board` handles
it outside the search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

MAX_SOLVER_SIZE = 8  # two 64-bit words hold the board
DEFAULT_TABLE_BITS = 20  # 1 M entries, ~25 MB: enough for any 5x5 position, most late 7x7 ones
_U1 = np.uint64(1)
_U0 = np.uint64(0)
_MAX_DEPTH = 66


@dataclass(frozen=True)
class Geometry:
    """Bit masks of one board size: the edges each player connects and the columns that shifts must
    not wrap across."""

    size: int
    full: np.uint64
    top: np.uint64
    bottom: np.uint64
    left: np.uint64
    right: np.uint64


def geometry(size: int) -> Geometry:
    if not 1 <= size <= MAX_SOLVER_SIZE:
        raise ValueError(f"the solver handles boards from 1x1 to {MAX_SOLVER_SIZE}x{MAX_SOLVER_SIZE}, got {size}x{size}")
    cells = size * size
    full = (1 << cells) - 1
    top = (1 << size) - 1
    bottom = top << (cells - size)
    left = sum(1 << (r * size) for r in range(size))
    right = left << (size - 1)
    return Geometry(size, *(np.uint64(v) for v in (full, top, bottom, left, right)))


@njit(cache=True)
def _neighbours(x: np.uint64, n: np.uint64, full: np.uint64, not_left: np.uint64, not_right: np.uint64) -> np.uint64:
    """All cells adjacent to a cell of ``x`` (hex neighbours, no wrapping across the board's sides)."""
    one = np.uint64(1)
    up = x >> n
    down = (x << n) & full
    up_right = (x & not_right) >> (n - one)
    down_left = ((x & not_left) << (n - one)) & full
    left = (x & not_left) >> one
    right = ((x & not_right) << one) & full
    return up | down | up_right | down_left | left | right


@njit(cache=True)
def _reach(stones: np.uint64, seed: np.uint64, n: np.uint64, full: np.uint64, not_left: np.uint64, not_right: np.uint64) -> np.uint64:
    """The stones of ``stones`` connected to ``seed`` (itself a subset of ``stones``)."""
    reach = seed
    while True:
        grown = reach | (_neighbours(reach, n, full, not_left, not_right) & stones)
        if grown == reach:
            return reach
        reach = grown


@njit(cache=True)
def _threats(
    stones: np.uint64,
    empty: np.uint64,
    edge_a: np.uint64,
    edge_b: np.uint64,
    n: np.uint64,
    full: np.uint64,
    not_left: np.uint64,
    not_right: np.uint64,
) -> np.uint64:
    """Empty cells where one more stone of this player connects its two edges."""
    a = _reach(stones, stones & edge_a, n, full, not_left, not_right)
    b = _reach(stones, stones & edge_b, n, full, not_left, not_right)
    near_a = _neighbours(a, n, full, not_left, not_right) | edge_a
    near_b = _neighbours(b, n, full, not_left, not_right) | edge_b
    return empty & near_a & near_b


@njit(cache=True)
def _connected(stones: np.uint64, edge_a: np.uint64, edge_b: np.uint64, n: np.uint64, full: np.uint64, not_left: np.uint64, not_right: np.uint64) -> bool:
    return (_reach(stones, stones & edge_a, n, full, not_left, not_right) & edge_b) != np.uint64(0)


@njit(cache=True)
def _reverse(x: np.uint64, cells: int) -> np.uint64:
    """Cell ``i`` to cell ``cells - 1 - i``: the board turned 180 degrees, which keeps each player's
    pair of edges (so the value) and is Hex's one symmetry; the table stores one of each pair."""
    x = ((x >> np.uint64(1)) & np.uint64(0x5555555555555555)) | ((x & np.uint64(0x5555555555555555)) << np.uint64(1))
    x = ((x >> np.uint64(2)) & np.uint64(0x3333333333333333)) | ((x & np.uint64(0x3333333333333333)) << np.uint64(2))
    x = ((x >> np.uint64(4)) & np.uint64(0x0F0F0F0F0F0F0F0F)) | ((x & np.uint64(0x0F0F0F0F0F0F0F0F)) << np.uint64(4))
    x = ((x >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF)) | ((x & np.uint64(0x00FF00FF00FF00FF)) << np.uint64(8))
    x = ((x >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF)) | ((x & np.uint64(0x0000FFFF0000FFFF)) << np.uint64(16))
    x = (x >> np.uint64(32)) | (x << np.uint64(32))
    return x >> np.uint64(64 - cells)


@njit(cache=True)
def _canonical(black: np.uint64, white: np.uint64, cells: int) -> tuple[np.uint64, np.uint64, bool]:
    rb, rw = _reverse(black, cells), _reverse(white, cells)
    if rb < black or (rb == black and rw < white):
        return rb, rw, True
    return black, white, False


@njit(cache=True)
def _slot(black: np.uint64, white: np.uint64, mover: int, mask: np.uint64) -> int:
    h = (black * np.uint64(0x9E3779B97F4A7C15)) ^ (white * np.uint64(0xC2B2AE3D27D4EB4F)) ^ np.uint64(mover)
    h ^= h >> np.uint64(29)
    return int(h & mask)


@njit(cache=True)
def _lookup(
    table_keys: np.ndarray,
    table_values: np.ndarray,
    black: np.uint64,
    white: np.uint64,
    mover: int,
    mask: np.uint64,
    cells: int,
) -> tuple[int, np.uint64]:
    """(-1, 0) when absent, else (0 if the mover loses, 1 if it wins; the carrier)."""
    black, white, turned = _canonical(black, white, cells)
    s = _slot(black, white, mover, mask)
    if table_keys[s, 0] == black and table_keys[s, 1] == white and table_keys[s, 2] == np.uint64(mover + 1):
        carrier = table_values[s, 1]
        return int(table_values[s, 0]), _reverse(carrier, cells) if turned else carrier
    return -1, np.uint64(0)


@njit(cache=True)
def _store(
    table_keys: np.ndarray,
    table_values: np.ndarray,
    black: np.uint64,
    white: np.uint64,
    mover: int,
    mask: np.uint64,
    cells: int,
    win: int,
    carrier: np.uint64,
) -> None:
    black, white, turned = _canonical(black, white, cells)
    s = _slot(black, white, mover, mask)
    table_keys[s, 0] = black
    table_keys[s, 1] = white
    table_keys[s, 2] = np.uint64(mover + 1)
    table_values[s, 0] = np.uint64(win)
    table_values[s, 1] = _reverse(carrier, cells) if turned else carrier


@njit(cache=True)
def _pick(candidates: np.uint64, order: np.ndarray, history: np.ndarray) -> int:
    """The candidate that refuted most often so far (history heuristic), central ones first on ties."""
    best, best_score = -1, -1
    for i in range(order.size):
        cell = order[i]
        if (candidates >> np.uint64(cell)) & np.uint64(1) and history[cell] > best_score:
            best, best_score = cell, history[cell]
    return best


@njit(cache=True)
def _double_threats(
    stones: np.uint64,
    empty: np.uint64,
    edge_a: np.uint64,
    edge_b: np.uint64,
    n: np.uint64,
    full: np.uint64,
    not_left: np.uint64,
    not_right: np.uint64,
    first_only: bool,
) -> tuple[int, np.uint64, np.uint64, np.uint64]:
    """Moves after which this player (with no threat yet) has two ways to connect at once, so an
    opponent who cannot win first loses: (how many such moves, the first one's carrier, the
    intersection and the union of all their carriers). A carrier is the move and two of its threats.

    Only a move touching the group of one edge (or the edge) can make a threat, and only through the
    group it joins, so each candidate costs one small flood from the move, not two from the edges.
    """
    one = np.uint64(1)
    zero = np.uint64(0)
    a = _reach(stones, stones & edge_a, n, full, not_left, not_right)
    b = _reach(stones, stones & edge_b, n, full, not_left, not_right)
    near_a = _neighbours(a, n, full, not_left, not_right) | edge_a
    near_b = _neighbours(b, n, full, not_left, not_right) | edge_b
    count = 0
    first = zero
    common = full
    union = zero
    rest = empty & (near_a | near_b)
    while rest != zero:
        bit = rest & (~rest + one)
        rest ^= bit
        group = _reach(stones | bit, bit, n, full, not_left, not_right)
        around = _neighbours(group, n, full, not_left, not_right)
        side_a = near_a | around if bit & near_a else near_a
        side_b = near_b | around if bit & near_b else near_b
        threats = empty & ~bit & side_a & side_b
        if threats & (threats - one):
            carrier = bit | _two_of(threats)
            if count == 0:
                first = carrier
                if first_only:
                    return 1, first, first, first
            count += 1
            common &= carrier
            union |= carrier
    return count, first, common, union


@njit(cache=True)
def _virtual_connection(
    stones: np.uint64,
    empty: np.uint64,
    edge_a: np.uint64,
    edge_b: np.uint64,
    n: np.uint64,
    full: np.uint64,
    not_left: np.uint64,
    not_right: np.uint64,
    scratch: np.ndarray,
) -> tuple[bool, np.uint64]:
    """Whether this player is already connected *virtually*, whoever moves: a chain from edge to
    edge of its groups, each link either touching or a bridge (two empty cells both next to both
    ends, so an intrusion into one is answered in the other), the bridges' cell pairs disjoint.
    Returns (found, the union of the pairs: the carrier). Edge templates of the second row are the
    same rule with the edge's row as one end. A path search over the groups, first found kept:
    sound (never claims a connection that is not there), not complete (no OR-combination of
    connections as a full H-search would do). ``scratch``: uint64 (5, 34) work space, reused so
    that no node of the search allocates."""
    zero = np.uint64(0)
    one = np.uint64(1)
    groups, around, used, path, next_v = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    groups[0], groups[1] = edge_a, edge_b  # nodes 0 and 1 are the edges, then the groups
    around[0], around[1] = edge_a & empty, edge_b & empty
    count = 2
    rest = stones
    while rest != zero and count < 34:
        seed = rest & (~rest + one)
        group = _reach(stones, seed, n, full, not_left, not_right)
        rest &= ~group
        groups[count] = group
        around[count] = _neighbours(group, n, full, not_left, not_right) & empty
        count += 1
    # depth-first search for a simple path 0 -> 1 whose bridges' pairs are disjoint
    on_path = np.uint64(1)  # bit per node
    depth = 0
    path[0] = zero
    used[0] = zero
    next_v[0] = one
    while True:
        u = int(path[depth])
        advanced = False
        while int(next_v[depth]) < count:
            v = int(next_v[depth])
            next_v[depth] += one
            if (on_path >> np.uint64(v)) & one or (u < 2 and v < 2):
                continue
            if u < 2 and (groups[v] & groups[u]) != zero:
                carrier = zero  # the group touches the edge
            elif v < 2 and (groups[u] & groups[v]) != zero:
                carrier = zero
            else:
                common = around[u] & around[v]
                if not (common & (common - one)):
                    continue
                carrier = _two_of(common)
                if carrier & used[depth]:
                    continue
            if v == 1:
                return True, used[depth] | carrier
            depth += 1
            path[depth] = np.uint64(v)
            on_path |= one << np.uint64(v)
            used[depth] = used[depth - 1] | carrier
            next_v[depth] = one
            advanced = True
            break
        if not advanced:
            on_path &= ~(one << np.uint64(u))
            if depth == 0:
                return False, zero
            depth -= 1


@njit(cache=True)
def _two_of(x: np.uint64) -> np.uint64:
    """The lowest two set bits of ``x`` (a smaller carrier is a stronger must-play)."""
    first = x & (~x + np.uint64(1))
    rest = x ^ first
    return first | (rest & (~rest + np.uint64(1)))


@njit(cache=True)
def _search(
    black: np.uint64,
    white: np.uint64,
    mover: int,
    size: int,
    full: np.uint64,
    top: np.uint64,
    bottom: np.uint64,
    left: np.uint64,
    right: np.uint64,
    order: np.ndarray,
    history: np.ndarray,
    table_keys: np.ndarray,
    table_values: np.ndarray,
    node_limit: int,
    counters: np.ndarray,
) -> tuple[int, np.uint64]:
    """(1 if the mover wins else 0, the carrier), or (-1, 0) when ``node_limit`` nodes were not
    enough. ``counters[0]`` accumulates the nodes searched."""
    n = np.uint64(size)
    not_left = full & ~left
    not_right = full & ~right
    mask = np.uint64(table_keys.shape[0] - 1)
    cells = size * size
    scratch = np.zeros((5, 34), dtype=np.uint64)
    stack_black = np.zeros(_MAX_DEPTH, dtype=np.uint64)
    stack_white = np.zeros(_MAX_DEPTH, dtype=np.uint64)
    stack_mover = np.zeros(_MAX_DEPTH, dtype=np.int64)
    stack_moves = np.zeros(_MAX_DEPTH, dtype=np.uint64)  # moves still to try
    stack_carrier = np.zeros(_MAX_DEPTH, dtype=np.uint64)  # union of the refutations so far
    stack_move = np.zeros(_MAX_DEPTH, dtype=np.int64)  # the move being searched below
    depth = 0
    stack_black[0], stack_white[0], stack_mover[0] = black, white, mover
    entering = True
    result = 0
    carrier = _U0
    while True:
        if entering:
            counters[0] += 1
            if counters[0] > node_limit:
                return -1, _U0
            b, w, m = stack_black[depth], stack_white[depth], stack_mover[depth]
            empty = full & ~(b | w)
            known, known_carrier = _lookup(table_keys, table_values, b, w, m, mask, cells)
            if known >= 0:
                result, carrier = known, known_carrier
                entering = False
            else:
                own, other = (b, w) if m == 0 else (w, b)
                own_a, own_b = (top, bottom) if m == 0 else (left, right)
                other_a, other_b = (left, right) if m == 0 else (top, bottom)
                wins = _threats(own, empty, own_a, own_b, n, full, not_left, not_right)
                if wins != _U0:
                    result, carrier = 1, wins & (~wins + _U1)
                    entering = False
                else:
                    blocks = _threats(other, empty, other_a, other_b, n, full, not_left, not_right)
                    if blocks != _U0 and (blocks & (blocks - _U1)) != _U0:
                        result, carrier = 0, _two_of(blocks)
                        _store(table_keys, table_values, b, w, m, mask, cells, 0, carrier)
                        entering = False
                    elif blocks != _U0:  # one threat: block it or lose
                        stack_moves[depth] = blocks
                        stack_carrier[depth] = _U0
                        result = -2  # no child result yet
                        entering = False
                    else:
                        count, first, _, _ = _double_threats(own, empty, own_a, own_b, n, full, not_left, not_right, True)
                        if not count:
                            count, first = _virtual_connection(own, empty, own_a, own_b, n, full, not_left, not_right, scratch)
                        lost, lost_carrier = _virtual_connection(other, empty, other_a, other_b, n, full, not_left, not_right, scratch)
                        if count:
                            result, carrier = 1, first
                            _store(table_keys, table_values, b, w, m, mask, cells, 1, carrier)
                            entering = False
                        elif lost:
                            result, carrier = 0, lost_carrier
                            _store(table_keys, table_values, b, w, m, mask, cells, 0, carrier)
                            entering = False
                        else:
                            # were the mover to pass, could the opponent make two threats? Then the
                            # mover must play inside every such plan (its move and two threats)
                            count, _, common, union = _double_threats(other, empty, other_a, other_b, n, full, not_left, not_right, False)
                            stack_moves[depth] = empty & common if count else empty
                            stack_carrier[depth] = union if count else _U0
                            result = -2
                            entering = False
        # a result for the node at ``depth`` (>= 0), or a request to search its next move (-2)
        if result >= 0:
            if depth == 0:
                return result, carrier
            depth -= 1
            move = np.uint64(stack_move[depth])
            b, w, m = stack_black[depth], stack_white[depth], stack_mover[depth]
            if result == 0:  # the child's mover loses: this node wins with that move
                history[stack_move[depth]] += 1 + (_MAX_DEPTH - depth) * (_MAX_DEPTH - depth)
                carrier = carrier | (_U1 << move)
                _store(table_keys, table_values, b, w, m, mask, cells, 1, carrier)
                result = 1
                continue
            stack_moves[depth] &= carrier  # must-play: only moves inside the refutation's carrier
            stack_carrier[depth] |= carrier | (_U1 << move)
        b, w, m = stack_black[depth], stack_white[depth], stack_mover[depth]
        move_int = _pick(stack_moves[depth], order, history)
        if move_int < 0:  # every move refuted
            carrier = stack_carrier[depth]
            _store(table_keys, table_values, b, w, m, mask, cells, 0, carrier)
            result = 0
            continue
        bit = _U1 << np.uint64(move_int)
        stack_moves[depth] &= ~bit
        stack_move[depth] = move_int
        depth += 1
        if m == 0:
            stack_black[depth], stack_white[depth] = b | bit, w
        else:
            stack_black[depth], stack_white[depth] = b, w | bit
        stack_mover[depth] = 1 - m
        entering = True
        result = -2


def centre_out_order(size: int) -> np.ndarray:
    """Cells sorted by distance from the centre along Hex's own metric: central moves refute most."""
    r, c = np.divmod(np.arange(size * size), size)
    dr, dc = r - (size - 1) / 2, c - (size - 1) / 2
    hex_distance = (np.abs(dr) + np.abs(dc) + np.abs(dr + dc)) / 2
    return np.lexsort((np.arange(size * size), hex_distance)).astype(np.int64)


class SolverLimit(RuntimeError):
    """The node budget ran out before the position was solved."""


class HexSolver:
    """Solves positions of one board size, keeping what it learnt (the transposition table) between
    calls: positions of one game, or of one evaluation suite, share most of their subtrees.

    ``node_limit`` bounds each call (``None``: no bound); past it :class:`SolverLimit` is raised, so a
    caller grading thousands of positions can skip the few that are too hard instead of hanging.
    """

    def __init__(self, size: int, table_bits: int = DEFAULT_TABLE_BITS, node_limit: int | None = None) -> None:
        if not 10 <= table_bits <= 28:
            raise ValueError(f"table_bits must be from 10 to 28 (2^bits entries, 40 bytes each), got {table_bits}")
        self.geometry = geometry(size)
        self.size = size
        self.node_limit = node_limit
        self._order = centre_out_order(size)
        self._history = np.zeros(size * size, dtype=np.int64)
        self._keys = np.zeros((1 << table_bits, 3), dtype=np.uint64)
        self._values = np.zeros((1 << table_bits, 2), dtype=np.uint64)
        self.nodes = 0

    def words(self, board: np.ndarray) -> tuple[np.uint64, np.uint64]:
        """The two bit words of an int8 ``(n, n)`` board (0 empty, 1 first player, 2 second)."""
        board = np.asarray(board)
        if board.shape != (self.size, self.size):
            raise ValueError(f"expected a {self.size}x{self.size} board, got shape {board.shape}")
        flat = board.reshape(-1)
        if not np.isin(flat, (0, 1, 2)).all():
            raise ValueError("board cells must be 0 (empty), 1 (first player) or 2 (second player)")
        weights = np.uint64(1) << np.arange(flat.size, dtype=np.uint64)
        return np.uint64(weights[flat == 1].sum()), np.uint64(weights[flat == 2].sum())

    def winner(self, board: np.ndarray) -> int | None:
        """The player already connected on ``board`` (0 or 1), or ``None``."""
        black, white = self.words(board)
        g = self.geometry
        n, not_left, not_right = np.uint64(self.size), g.full & ~g.left, g.full & ~g.right
        if _connected(black, g.top, g.bottom, n, g.full, not_left, not_right):
            return 0
        if _connected(white, g.left, g.right, n, g.full, not_left, not_right):
            return 1
        return None

    def mover_wins(self, board: np.ndarray, to_move: int) -> bool:
        """Whether ``to_move`` (0 or 1) wins ``board`` with perfect play by both sides (no swap)."""
        if to_move not in (0, 1):
            raise ValueError(f"to_move must be 0 or 1, got {to_move!r}")
        winner = self.winner(board)
        if winner is not None:
            raise ValueError(f"the game is over: player {winner} has already connected")
        black, white = self.words(board)
        return self._solve(black, white, to_move)[0]

    def carrier(self, board: np.ndarray, to_move: int) -> np.ndarray:
        """The cells the winner's proof needs, as a boolean ``(n, n)`` array (for display and tests)."""
        black, white = self.words(board)
        _, carrier = self._solve(black, white, to_move)
        bits = (int(carrier) >> np.arange(self.size * self.size)) & 1
        return bits.astype(bool).reshape(self.size, self.size)

    def virtual_connection(self, board: np.ndarray, player: int) -> np.ndarray | None:
        """The carrier (bool ``(n, n)``) of a bridge-and-template chain that connects ``player``'s
        edges whoever moves, or ``None`` where the search's quick check finds none."""
        black, white = self.words(board)
        g = self.geometry
        stones, edge_a, edge_b = (black, g.top, g.bottom) if player == 0 else (white, g.left, g.right)
        found, carrier = _virtual_connection(
            stones,
            g.full & ~(black | white),
            edge_a,
            edge_b,
            np.uint64(self.size),
            g.full,
            g.full & ~g.left,
            g.full & ~g.right,
            np.zeros((5, 34), dtype=np.uint64),
        )
        if not found:
            return None
        return ((int(carrier) >> np.arange(self.size * self.size)) & 1).astype(bool).reshape(self.size, self.size)

    def winning_moves(self, board: np.ndarray, to_move: int) -> np.ndarray:
        """The cells (``r * n + c``) where ``to_move`` can play and still win; empty when it loses."""
        if not self.mover_wins(board, to_move):
            return np.zeros(0, dtype=np.int64)
        black, white = self.words(board)
        g = self.geometry
        n, not_left, not_right = np.uint64(self.size), g.full & ~g.left, g.full & ~g.right
        own, edge_a, edge_b = (black, g.top, g.bottom) if to_move == 0 else (white, g.left, g.right)
        empty = np.flatnonzero(np.asarray(board).reshape(-1) == 0)
        winning = []
        for cell in empty:
            bit = np.uint64(1) << np.uint64(cell)
            if _connected(own | bit, edge_a, edge_b, n, g.full, not_left, not_right):
                winning.append(int(cell))  # the game ends here: nothing left to solve
                continue
            child = (black | bit, white) if to_move == 0 else (black, white | bit)
            if not self._solve(child[0], child[1], 1 - to_move)[0]:
                winning.append(int(cell))
        return np.asarray(winning, dtype=np.int64)

    def _solve(self, black: np.uint64, white: np.uint64, mover: int) -> tuple[bool, np.uint64]:
        g = self.geometry
        counters = np.zeros(1, dtype=np.int64)
        limit = np.iinfo(np.int64).max if self.node_limit is None else int(self.node_limit)
        result, carrier = _search(
            np.uint64(black),
            np.uint64(white),
            int(mover),
            self.size,
            g.full,
            g.top,
            g.bottom,
            g.left,
            g.right,
            self._order,
            self._history,
            self._keys,
            self._values,
            limit,
            counters,
        )
        self.nodes += int(counters[0])
        if result < 0:
            raise SolverLimit(f"no result within {self.node_limit} nodes")
        return bool(result), carrier
