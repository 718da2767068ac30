"""Connect Four rules on a batch of boards.

Board layout: ``board`` int8 ``(B, 6, 7)``, row 0 at the top (as PettingZoo's ``connect_four_v3``
draws it), 0 empty, 1 the first player's stone, 2 the second's. An action is a column 0-6; the stone
falls to the lowest empty row. Columns are the same for both players, so unlike Hex no frame change
is needed: the mover's frame differs from the absolute one only in which plane holds whose stones.

The win check looks only at the four lines through the stone just placed, for all the boards of a
call at once: a move can only complete a line it is part of, and 24 gathers from a board padded with
three empty cells on every side need no bounds checks (the padding never matches a stone).
"""

from __future__ import annotations

import numpy as np

from envs.base import DRAW, RUNNING, TurnBasedGame
from envs.connect_four.render import PLAYER_NAMES, board_to_rgb, board_to_text
from envs.connect_four.rollouts import random_playouts

ROWS, COLUMNS, CONNECT = 6, 7, 4
PLANES = ("mover's stones", "opponent's stones")
_PAD = CONNECT - 1
# The four line directions (down, right, down-right, down-left) as (row, column) steps, each taken
# 1..3 cells both ways from the new stone: shape (4 directions, 2 senses, 3 distances, 2 coords).
_DIRECTIONS = np.array([(1, 0), (0, 1), (1, 1), (1, -1)])
_STEPS = _DIRECTIONS[:, None, None, :] * np.array([1, -1])[None, :, None, None] * np.arange(1, CONNECT)[None, None, :, None]


def mirror_planes(planes: np.ndarray) -> np.ndarray:
    """Planes ``(..., rows, columns)`` seen in a mirror: the rules are left-right symmetric."""
    return planes[..., ::-1]


def mirror_actions(actions: np.ndarray) -> np.ndarray:
    """Column ``c`` to ``6 - c``, pairs with :func:`mirror_planes` (its own inverse)."""
    return COLUMNS - 1 - np.asarray(actions)


def column_name(column: int) -> str:
    """Move notation: columns ``a``-``g`` from the left, as a chess-like file letter."""
    if not 0 <= int(column) < COLUMNS:
        raise ValueError(f"a Connect Four column is 0..{COLUMNS - 1}, got {column}")
    return chr(ord("a") + int(column))


def parse_column(text: str) -> int:
    """Inverse of :func:`column_name`; digits ``1``-``7`` are accepted too (people count from 1)."""
    text = text.strip().lower()
    if len(text) == 1 and "a" <= text <= "g":
        return ord(text) - ord("a")
    if text.isdigit() and 1 <= int(text) <= COLUMNS:
        return int(text) - 1
    raise ValueError(f"a Connect Four move is a column a-g (or 1-7), got {text!r}")


def read_grid(text: str) -> np.ndarray:
    """Position text (:attr:`ConnectFourCore.position_format`) to an int8 ``(6, 7)`` board."""
    rows = "".join(text.split()).split("/")
    while len(rows) > 1 and not rows[-1]:
        rows.pop()  # a closing "/" adds nothing
    if len(rows) > ROWS:
        raise ValueError(f"the position has {len(rows)} rows; a Connect Four board has {ROWS}")
    grid = np.zeros((ROWS, COLUMNS), dtype=np.int8)
    for r, row in enumerate(rows, start=ROWS - len(rows)):
        if len(row) > COLUMNS:
            raise ValueError(f"row {r + 1} of the position has {len(row)} cells; the board is {COLUMNS} wide")
        for c, char in enumerate(row.lower()):
            if char not in ".xo":
                raise ValueError(f"bad character {char!r} in row {r + 1}: use x, o or . (empty)")
            grid[r, c] = ".xo".index(char)
    floating = (grid == 0)[1:] & (grid != 0)[:-1]  # a stone with an empty cell below it
    if floating.any():
        r, c = np.argwhere(floating)[0]
        raise ValueError(f"the stone in row {r + 1}, column {column_name(c)} floats over an empty cell: stones fall to the bottom")
    return grid


def has_four(grid: np.ndarray, stone: int) -> bool:
    """Four of ``stone`` in a row anywhere on one board (every window, in each of the four directions)."""
    mine = np.pad(grid == stone, CONNECT - 1)
    for dr, dc in _DIRECTIONS:
        run = np.ones_like(mine)
        for k in range(CONNECT):
            run &= np.roll(mine, (-k * dr, -k * dc), axis=(0, 1))
        if run.any():
            return True
    return False


class ConnectFourCore(TurnBasedGame):
    """``batch_size`` Connect Four games on the standard 6 x 7 board.

    Public state: ``board`` (see the module docstring), ``heights`` int8 ``(B, 7)`` (stones per
    column), ``to_move``, ``winner``, ``num_moves``.
    """

    name = "Connect Four"
    # The padded board holds the state (``board`` is a view into it); with these declared, positions
    # copy between batches and the generic MCTS plays Connect Four as ``mctsN``.
    state_fields = ("_padded", "heights")

    def __init__(self, batch_size: int) -> None:
        super().__init__(batch_size)
        self._padded = np.zeros((batch_size, ROWS + 2 * _PAD, COLUMNS + 2 * _PAD), dtype=np.int8)
        self.board = self._padded[:, _PAD : _PAD + ROWS, _PAD : _PAD + COLUMNS]  # a view: writes land in both
        self.heights = np.zeros((batch_size, COLUMNS), dtype=np.int8)

    def spawn(self, batch_size: int) -> ConnectFourCore:
        """A fresh game built by the constructor: the base class's copy-and-resize would leave
        ``board`` viewing the original's padded array."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        return type(self)(batch_size)

    @property
    def num_actions(self) -> int:
        return COLUMNS

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (len(PLANES), ROWS, COLUMNS)

    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        return (self.heights[idx] < ROWS) & (self.winner[idx] == RUNNING)[:, None]

    def observation(self, boards: np.ndarray | None = None, player: int | np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        who = self.to_move[idx] if player is None else np.broadcast_to(np.asarray(player), idx.shape)
        stones = self.board[idx]
        mine = (who + 1).astype(np.int8)[:, None, None]
        theirs = (2 - who).astype(np.int8)[:, None, None]
        return np.stack([stones == mine, stones == theirs], axis=1).astype(np.float32)

    def _reset(self, boards: np.ndarray) -> None:
        self._padded[boards] = 0
        self.heights[boards] = 0

    def _play(self, actions: np.ndarray, boards: np.ndarray) -> None:
        stone = (self.to_move[boards] + 1).astype(np.int8)
        rows = ROWS - 1 - self.heights[boards, actions].astype(np.int64)
        self.board[boards, rows, actions] = stone
        self.heights[boards, actions] += 1
        won = self._completes_line(boards, rows + _PAD, actions + _PAD, stone)
        full = self.num_moves[boards] + 1 == ROWS * COLUMNS
        self.winner[boards] = np.where(won, self.to_move[boards], np.where(full, DRAW, RUNNING))
        self.to_move[boards] = 1 - self.to_move[boards]

    def _completes_line(self, boards: np.ndarray, rows: np.ndarray, cols: np.ndarray, stone: np.ndarray) -> np.ndarray:
        """Bool per board: does the stone at padded ``(rows, cols)`` make four in a row?

        For each direction and sense, the run of own stones next to it is the count of leading
        matches (a cumulative product over distances 1..3); the two senses plus the stone itself
        must reach four.
        """
        r = rows[:, None, None, None] + _STEPS[None, ..., 0]
        c = cols[:, None, None, None] + _STEPS[None, ..., 1]
        same = self._padded[boards[:, None, None, None], r, c] == stone[:, None, None, None]
        runs = np.cumprod(same, axis=3).sum(axis=(2, 3))  # (k, 4 directions)
        return (runs + 1 >= CONNECT).any(axis=1)

    def rollout_winners(self, boards: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Optional speed-up: the base class's random playouts, compiled (``rollouts.py`` says why)."""
        idx = self._select(boards)
        uniforms = rng.random((idx.size, ROWS * COLUMNS))
        return random_playouts(idx, uniforms, self.board, self.heights, self.to_move, self.winner)

    def describe_illegal(self, action: int, board: int) -> str:
        if not 0 <= action < COLUMNS:
            return f"valid actions are columns 0..{COLUMNS - 1} (a-g)"
        if self.winner[board] != RUNNING:
            return "the game is over"
        return f"column {column_name(action)} is full"

    # --- views for people ------------------------------------------------------------------------
    has_symmetry = True

    def turn_view(self, observation: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The left-right mirror: a line stays a line, so a position and its mirror are worth the same."""
        return np.ascontiguousarray(mirror_planes(observation)), np.ascontiguousarray(mask[..., ::-1])

    def turn_actions(self, actions: np.ndarray) -> np.ndarray:
        return mirror_actions(actions)

    player_names = PLAYER_NAMES
    player_goals = ("first, four in a row", "second, four in a row")
    move_format = "a column a-g (or 1-7)"
    position_format = (
        "the rows from the top, separated by /, one character per cell: x a stone of the first player, "
        "o one of the second, . an empty cell (spaces ignored); a short row is filled up with empty cells, "
        'and fewer than 6 rows are the bottom ones, so "xo" is X in column a and O in column b on the '
        "bottom row. The player to move follows from the stone counts."
    )

    def move_name(self, action: int, board: int = 0) -> str:
        return column_name(action)

    def parse_move(self, text: str, board: int = 0) -> int:
        return parse_column(text)

    def move_map(self, labels: list[str], board: int = 0) -> str | None:
        """The board, then each column's label under its letter (a full column shows ``-``)."""
        width = max(3, *(len(label) for label in labels)) + 1
        legal = self.legal_mask(np.array([board]))[0]
        row = "".join((labels[c] if legal[c] else "-").rjust(width) for c in range(COLUMNS))
        letters = "".join(column_name(c).rjust(width) for c in range(COLUMNS))
        return "\n".join([letters, row])

    def set_position(self, text: str, board: int = 0, to_move: int | None = None) -> None:
        """The board written as text (:attr:`position_format`); stones must rest on stones (gravity),
        the counts must allow a game (X moves first) and nobody may have four in a row yet."""
        grid = read_grid(text)
        xs, os = int((grid == 1).sum()), int((grid == 2).sum())
        if xs not in (os, os + 1):
            raise ValueError(f"inconsistent stone counts: {xs} x and {os} o; X moves first, so x has as many stones as o or one more")
        mover = int(xs > os)
        if to_move is not None and int(to_move) != mover:
            raise ValueError(f"{PLAYER_NAMES[int(to_move)]} cannot be to move with {xs} x and {os} o: {PLAYER_NAMES[mover]} is")
        for stone in (1, 2):
            if has_four(grid, stone):
                raise ValueError(f"{PLAYER_NAMES[stone - 1]} already has four in a row: the game is over on this board")
        if xs + os == ROWS * COLUMNS:
            raise ValueError("the board is full: the game is over")
        self.reset(np.array([board]))
        self.board[board] = grid
        self.heights[board] = (grid != 0).sum(axis=0)
        self.to_move[board] = mover
        self.num_moves[board] = xs + os

    def render_ansi(self, board: int = 0) -> str:
        return board_to_text(self.board[board], to_move=int(self.to_move[board]), winner=int(self.winner[board]))

    def render_rgb(self, board: int = 0) -> np.ndarray:
        return board_to_rgb(self.board[board])
