"""Hex rules on a batch of boards, with no Python loop over the batch.

Conventions (``shared/DESIGN.md``): cell index ``r * n + c`` with row ``r`` from the top; player 0
connects top and bottom, player 1 left and right; the neighbours of ``(r, c)`` are ``(r-1, c)``,
``(r-1, c+1)``, ``(r, c-1)``, ``(r, c+1)``, ``(r+1, c-1)``, ``(r+1, c)``. With the swap (pie) rule the
second player may, as its first move, take over the first stone: action ``n * n``. The stone at
``(r, c)`` becomes the second player's stone at ``(c, r)`` (the usual mirrored swap, so colours stay
fixed) and the first player moves again.

Everything an agent sees is in the mover's frame: for player 1 the board is transposed, which turns
its left-right goal into top-bottom and keeps the neighbourhood the same (transposition maps the hex
neighbour set onto itself). So one network plays both colours, and an action is a cell of the
mover's view: ``r * n + c`` of the transposed board when player 1 moves.

Win detection is incremental and uses row bitboards (one uint32 per row; a board of up to 19
columns fits with a guard bit each side). Each player keeps, in its own frame, the set of its stones
joined to its first edge and the set joined to its second edge. These sets only grow, so a move can
change them only by a flood fill from the new stone through the player's stones not yet in the set,
which is run only on the boards where the new stone touches the set. The player wins when the new
stone is in both. ``benchmarks/hex_win_detection.py`` compares this with array union-find and with
a dense flood fill.
"""

from __future__ import annotations

import numpy as np

from envs.base import RUNNING, TurnBasedGame

MIN_SIZE, MAX_SIZE = 2, 19
PLANES = ("mover's stones", "opponent's stones", "swap is legal now")


def check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"Hex size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    return int(size)


def transpose_actions(actions: np.ndarray, size: int) -> np.ndarray:
    """Map cells between the absolute frame and player 1's transposed frame (its own inverse).

    The swap action ``size * size`` maps to itself.
    """
    actions = np.asarray(actions)
    cells = size * size
    flipped = (actions % size) * size + actions // size
    return np.where(actions < cells, flipped, actions)


def rotate180_actions(actions: np.ndarray, size: int) -> np.ndarray:
    """Cell ``(r, c)`` to ``(n-1-r, n-1-c)``: Hex's symmetry (each player's two edges swap ends)."""
    actions = np.asarray(actions)
    cells = size * size
    return np.where(actions < cells, cells - 1 - actions, actions)


def rotate180_planes(planes: np.ndarray) -> np.ndarray:
    """Rotate ``(..., n, n)`` planes by 180 degrees; pairs with :func:`rotate180_actions`."""
    return planes[..., ::-1, ::-1]


def rotate180_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Rotate ``(..., n*n [+1])`` action masks; a trailing swap entry stays in place."""
    cells = size * size
    out = mask.copy()
    out[..., :cells] = mask[..., cells - 1 :: -1]
    return out


class HexCore(TurnBasedGame):
    """``batch_size`` Hex games on an ``size`` x ``size`` board.

    Public state: ``board`` int8 ``(B, n, n)`` in the absolute frame (0 empty, 1 first player's stone,
    2 second player's stone), ``to_move``, ``winner``, ``num_moves`` (moves played, swap included).
    """

    name = "Hex"

    def __init__(self, batch_size: int, size: int = 11, swap: bool = False) -> None:
        super().__init__(batch_size)
        self.size = n = check_size(size)
        self.swap = bool(swap)
        self.swap_action = n * n
        self.board = np.zeros((batch_size, n, n), dtype=np.int8)
        # Bitboards per player, in that player's own frame (rows padded by one empty row each side,
        # column c stored at bit c + 1): stones, stones joined to the first edge, to the second.
        self._stones = np.zeros((2, batch_size, n + 2), dtype=np.uint32)
        self._edges = np.zeros((2, 2, batch_size, n + 2), dtype=np.uint32)  # [first/second edge, player]
        # The empty cells (absolute) of each board in its first ``_num_empty`` slots, and where each
        # cell sits in that list: a uniformly random legal move is then one gather, not a scan.
        self._empty = np.tile(np.arange(n * n, dtype=np.int64), (batch_size, 1))
        self._slot = self._empty.copy()
        self._num_empty = np.full(batch_size, n * n, dtype=np.int64)
        # What each player would see and may play, kept up to date move by move in both frames, so
        # that reading the mover's observation or mask is one gather instead of a rebuild.
        self._views = np.zeros((2, batch_size, len(PLANES), n, n), dtype=np.float32)
        self._masks = np.zeros((2, batch_size, n * n + 1), dtype=bool)
        self._masks[:, :, : n * n] = True

    @property
    def num_actions(self) -> int:
        return self.size * self.size + 1

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (len(PLANES), self.size, self.size)

    # --- views -----------------------------------------------------------------------------------
    def swap_legal(self, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        return self.swap & (self.num_moves[idx] == 1) & (self.winner[idx] == RUNNING)

    def mover_board(self, boards: np.ndarray | None = None) -> np.ndarray:
        """int8 ``(k, n, n)``: 1 for the mover's stones, 2 for the opponent's, in the mover's frame."""
        planes = self.observation(boards)
        return (planes[:, 0] + 2 * planes[:, 1]).astype(np.int8)

    def observation(self, boards: np.ndarray | None = None, player: int | None = None) -> np.ndarray:
        if player is not None:
            return self._views[player, self._select(boards)]
        if boards is None:
            return self._views[self.to_move, self._all]
        idx = self._select(boards)
        return self._views[self.to_move[idx], idx]

    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray:
        if boards is None:
            return self._masks[self.to_move, self._all]
        idx = self._select(boards)
        return self._masks[self.to_move[idx], idx]

    def is_legal(self, actions: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        in_range = (actions >= 0) & (actions <= self.size * self.size)
        return in_range & self._masks[self.to_move[idx], idx, np.where(in_range, actions, 0)]

    def to_absolute(self, actions: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        """Mover's-frame actions to absolute cells (the swap action is unchanged)."""
        idx = self._select(boards)
        actions = np.asarray(actions, dtype=np.int64)
        return np.where(self.to_move[idx] == 1, transpose_actions(actions, self.size), actions)

    def from_absolute(self, cells: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        """Absolute cells to the mover's frame (transposition is its own inverse)."""
        return self.to_absolute(cells, boards)

    def describe_illegal(self, action: int, board: int) -> str:
        n = self.size
        if not 0 <= action <= n * n:
            return f"valid actions are 0..{n * n - 1} (cells) and {n * n} (swap)"
        if action == n * n:
            if not self.swap:
                return "the swap rule is off"
            return f"swap is only legal as the second move (this is move {int(self.num_moves[board]) + 1})"
        cell = int(self.to_absolute(np.array([action]), np.array([board]))[0])
        return f"cell {cell_name(cell, n)} is occupied"

    def forfeit(self, boards: np.ndarray) -> None:
        """As in the base class, and the stored masks and swap plane must show the game is over."""
        super().forfeit(boards)
        idx = self._select(boards)
        self._masks[:, idx] = False
        self._views[1, idx, 2] = 0.0

    # --- rules -----------------------------------------------------------------------------------
    @property
    def _all(self) -> np.ndarray:
        return np.arange(self.batch_size)

    def _reset(self, boards: np.ndarray) -> None:
        n = self.size
        self.board[boards] = 0
        self._stones[:, boards] = 0
        self._edges[:, :, boards] = 0
        self._empty[boards] = np.arange(n * n)
        self._slot[boards] = np.arange(n * n)
        self._num_empty[boards] = n * n
        self._views[:, boards] = 0.0
        self._masks[:, boards, : n * n] = True
        self._masks[:, boards, n * n] = False

    def _play(self, actions: np.ndarray, boards: np.ndarray) -> None:
        if boards.size == 1:
            self._play_one(int(actions[0]), int(boards[0]))
            return
        is_swap = actions == self.swap_action
        if is_swap.any():
            self._play_swap(boards[is_swap])
            actions, boards = actions[~is_swap], boards[~is_swap]
        self._place(actions, boards)

    def _place(self, actions: np.ndarray, boards: np.ndarray) -> None:
        """Put the mover's stone on cell ``actions`` (mover's frame) of each board, then check wins."""
        n = self.size
        player = self.to_move[boards].astype(np.int64)
        other = 1 - player
        row, col = np.divmod(actions, n)  # the mover's frame, which is where its bitboards live
        # The same stone is at (row, col) in the mover's frame and at (col, row) in the other's.
        self.board[boards, np.where(player == 1, col, row), np.where(player == 1, row, col)] = player + 1
        self._views[player, boards, 0, row, col] = 1.0
        self._views[other, boards, 1, col, row] = 1.0
        self._masks[player, boards, actions] = False
        self._masks[other, boards, col * n + row] = False
        if self.swap:
            self._update_swap_option(boards)

        self._remove_empty(boards, np.where(player == 1, col * n + row, actions))

        bit = np.left_shift(np.uint32(1), (col + 1).astype(np.uint32))
        self._stones[player, boards, row + 1] |= bit
        first = (row == 0) | self._touches(self._edges[0], player, boards, row, col)
        second = (row == n - 1) | self._touches(self._edges[1], player, boards, row, col)
        self._join_edges(player, boards, row, bit, first, second)

        won = first & second
        if won.any():
            self.winner[boards[won]] = player[won]
            self._masks[:, boards[won]] = False
        # A full board always has a winner in Hex, so no draw check is needed.
        self.to_move[boards] = other

    def _update_swap_option(self, boards: np.ndarray) -> None:
        """Offer the swap to the second player right after the first move; withdraw it after."""
        moves_before = self.num_moves[boards]
        opening = boards[moves_before == 0]
        self._views[1, opening, 2] = 1.0
        self._masks[1, opening, self.swap_action] = True
        answered = boards[moves_before == 1]
        self._views[1, answered, 2] = 0.0
        self._masks[1, answered, self.swap_action] = False

    def _play_swap(self, boards: np.ndarray) -> None:
        """Mirror the first player's only stone into a second-player stone; player 0 moves again.

        In player 1's own frame the mirrored stone (absolute ``(c, r)``) sits at ``(r, c)``, the very
        index of the original stone, so the swap is a reset plus that placement by player 1.
        """
        cell = np.argmax(self.board[boards].reshape(boards.size, -1) == 1, axis=1)
        self._reset(boards)
        self.to_move[boards] = 1
        self._place(cell, boards)

    # --- the same rules for one board -----------------------------------------------------------
    # With one board (a single env, a PettingZoo game, a human match) numpy's per-call overhead, not
    # the work, sets the cost: ~100 array calls of ~2 us each. These scalar versions do the same
    # updates on the same arrays with Python ints; tests check them move for move against the
    # batched path.
    def _play_one(self, action: int, board: int) -> None:
        if action == self.swap_action:
            cell = int(np.argmax(self.board[board].reshape(-1) == 1))
            self._reset(np.array([board]))
            self.to_move[board] = 1
            action = cell
        self._place_one(action, board)

    def _place_one(self, action: int, board: int) -> None:
        n = self.size
        player = int(self.to_move[board])
        other = 1 - player
        row, col = divmod(action, n)
        if player == 0:
            self.board[board, row, col] = 1
            absolute = action
        else:
            self.board[board, col, row] = 2
            absolute = col * n + row
        self._views[player, board, 0, row, col] = 1.0
        self._views[other, board, 1, col, row] = 1.0
        self._masks[player, board, action] = False
        self._masks[other, board, col * n + row] = False
        if self.swap:
            moves_before = int(self.num_moves[board])
            if moves_before <= 1:
                offered = moves_before == 0
                self._views[1, board, 2] = float(offered)
                self._masks[1, board, self.swap_action] = offered

        slot = int(self._slot[board, absolute])
        last = int(self._num_empty[board]) - 1
        moved = int(self._empty[board, last])
        self._empty[board, slot] = moved
        self._slot[board, moved] = slot
        self._num_empty[board] = last

        stones = self._stones[player, board]
        stones[row + 1] |= np.uint32(1 << (col + 1))
        own = stones.tolist()
        joined = [False, False]
        for kind, edge_row in ((0, 0), (1, n - 1)):
            edge = self._edges[kind, player, board]
            members = edge.tolist()
            if row == edge_row or _touches_one(members, row, col):
                edge[:] = _flood_one(members, own, row, col)
                joined[kind] = True
        if joined[0] and joined[1]:
            self.winner[board] = player
            self._masks[:, board] = False
        self.to_move[board] = other

    def _random_action_one(self, uniform: float, board: int) -> int:
        empty = int(self._num_empty[board])
        swap_ok = self.swap and int(self.num_moves[board]) == 1 and int(self.winner[board]) == RUNNING
        choices = empty + swap_ok
        pick = min(int(uniform * choices), choices - 1)
        if pick == empty:
            return self.swap_action
        cell = int(self._empty[board, pick])
        if self.to_move[board] == 1:
            row, col = divmod(cell, self.size)
            cell = col * self.size + row
        return cell

    @staticmethod
    def _touches(edge: np.ndarray, player: np.ndarray, boards: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Does cell (row, col) have a neighbour in ``edge[player, board]``? Reads three bit rows."""
        shift = col.astype(np.uint32)
        above = edge[player, boards, row] >> (shift + np.uint32(1))  # (r-1, c), (r-1, c+1)
        level = edge[player, boards, row + 1] >> shift  # (r, c-1), (r, c+1)
        below = edge[player, boards, row + 2] >> shift  # (r+1, c-1), (r+1, c)
        return ((above & 3) | (level & 5) | (below & 3)) != 0

    def _join_edges(
        self, player: np.ndarray, boards: np.ndarray, row: np.ndarray, bit: np.ndarray, first: np.ndarray, second: np.ndarray
    ) -> None:
        """Add each new stone to the edge sets it touches and flood from it through the player's stones.

        Both edges' floods run in one loop. The frontier starts as the new stone; each round takes the
        player's stones next to the frontier that are not in the set yet. Boards whose frontier empties
        drop out, so the work follows the stones that actually join a set.
        """
        task = np.concatenate([np.flatnonzero(first), np.flatnonzero(second)])
        if task.size == 0:
            return
        kind = np.repeat(np.array([0, 1]), [int(first.sum()), int(second.sum())])
        player, boards, row, bit = player[task], boards[task], row[task], bit[task]
        members = self._edges[kind, player, boards]
        rows = np.arange(task.size)
        members[rows, row + 1] |= bit
        candidates = self._stones[player, boards] & ~members
        frontier = np.zeros_like(members)
        frontier[rows, row + 1] = bit
        spread = np.zeros_like(frontier)
        while True:
            above, level, below = frontier[:, :-2], frontier[:, 1:-1], frontier[:, 2:]
            spread[:, 1:-1] = above | (above >> 1) | below | (below << 1) | (level << 1) | (level >> 1)
            frontier = spread & candidates
            growing = frontier.any(axis=1)
            if not growing.any():
                break
            candidates ^= frontier
            members[rows] |= frontier
            if not growing.all():
                rows, frontier, candidates = rows[growing], frontier[growing], candidates[growing]
                spread = spread[growing]
        self._edges[kind, player, boards] = members

    def _remove_empty(self, boards: np.ndarray, cells: np.ndarray) -> None:
        """Take absolute ``cells`` out of the empty lists: the last empty cell fills the hole."""
        slot = self._slot[boards, cells]
        last = self._num_empty[boards] - 1
        moved = self._empty[boards, last]
        self._empty[boards, slot] = moved
        self._slot[boards, moved] = slot
        self._num_empty[boards] = last

    def random_actions(self, uniforms: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        if idx.size == 1:
            return np.array([self._random_action_one(float(np.asarray(uniforms).reshape(-1)[0]), int(idx[0]))])
        empty = self._num_empty[idx]
        choices = empty + self.swap_legal(idx)
        pick = np.minimum((uniforms * choices).astype(np.int64), choices - 1)
        cells = self._empty[idx, np.minimum(pick, empty - 1)]
        return np.where(pick == empty, self.swap_action, self.from_absolute(cells, idx))

    # --- views for people ------------------------------------------------------------------------
    def render_ansi(self, board: int = 0) -> str:
        from envs.hex.render import board_to_text

        return board_to_text(self.board[board], to_move=int(self.to_move[board]), winner=int(self.winner[board]))

    def render_rgb(self, board: int = 0) -> np.ndarray:
        from envs.hex.render import board_to_rgb

        return board_to_rgb(self.board[board], winner=int(self.winner[board]))


def _touches_one(rows: list[int], row: int, col: int) -> bool:
    """Scalar twin of ``HexCore._touches`` on padded bit rows held as Python ints."""
    return bool((rows[row] >> (col + 1)) & 3 or (rows[row + 1] >> col) & 5 or (rows[row + 2] >> col) & 3)


def _flood_one(members: list[int], own: list[int], row: int, col: int) -> list[int]:
    """Scalar twin of ``HexCore._join_edges``: add the stone and every own stone it reaches."""
    members = list(members)
    members[row + 1] |= 1 << (col + 1)
    frontier = [0] * len(members)
    frontier[row + 1] = 1 << (col + 1)
    last = len(members) - 1
    while True:
        grown = False
        nxt = [0] * len(members)
        for r in range(1, last):
            spread = (
                frontier[r - 1] | (frontier[r - 1] >> 1) | frontier[r + 1] | (frontier[r + 1] << 1)
                | (frontier[r] << 1) | (frontier[r] >> 1)
            )
            new = spread & own[r] & ~members[r]
            if new:
                nxt[r] = new
                members[r] |= new
                grown = True
        if not grown:
            return members
        frontier = nxt


def cell_name(cell: int, size: int) -> str:
    """``r * n + c`` as the usual Hex coordinate: column letter, then row number from 1 (``a1``)."""
    row, col = divmod(int(cell), size)
    return f"{chr(ord('a') + col)}{row + 1}"


def parse_cell(text: str, size: int) -> int:
    """Inverse of :func:`cell_name`; raises ``ValueError`` naming the valid range."""
    text = text.strip().lower()
    last = chr(ord("a") + size - 1)
    if len(text) < 2 or not text[0].isalpha() or not text[1:].isdigit():
        raise ValueError(f"a cell is a column letter a-{last} then a row number 1-{size}, like c3; got {text!r}")
    col, row = ord(text[0]) - ord("a"), int(text[1:]) - 1
    if not (0 <= col < size and 0 <= row < size):
        raise ValueError(f"cell {text!r} is off the {size}x{size} board (columns a-{last}, rows 1-{size})")
    return row * size + col
