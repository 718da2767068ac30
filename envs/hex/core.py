"""Hex rules on a batch of boards.

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

Both players' views and legal masks are kept up to date move by move, so reading the mover's
observation or mask is one gather. The moves themselves run in compiled loops
(:mod:`envs.hex.rules`, which also says why); this class holds the arrays and checks the input.
"""

from __future__ import annotations

import numpy as np

from envs.base import RUNNING, TurnBasedGame
from envs.hex import rules
from envs.hex.mcts import MCTSPlayer
from envs.hex.render import PLAYER_NAMES, board_to_rgb, board_to_text
from envs.hex.size import MAX_SIZE, MIN_SIZE, check_size, check_swap  # noqa: F401  (re-exported for the adapters)
from envs.player_names import MCTS, PlayerName

PLANES = ("mover's stones", "opponent's stones", "swap is legal now")


def transpose_actions(actions: np.ndarray | int, size: int) -> np.ndarray:
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


def planes_from_boards(boards: np.ndarray, to_move: np.ndarray, swap_legal: np.ndarray | None = None) -> np.ndarray:
    """Observation planes (k, 3, n, n) for absolute boards, as the player ``to_move`` sees them.

    ``boards`` is int8 (k, n, n) with 0 empty, 1 the first player's stones, 2 the second's (the
    layout of ``HexCore.board``); for a second player to move the board is transposed and the
    stone codes swapped, exactly as the env's observations are. Used to ask a trained policy about
    positions that did not come from an env (analysis, the league's opening suites).
    """
    boards = np.asarray(boards, dtype=np.int8)
    to_move = np.asarray(to_move).reshape(-1)
    if boards.ndim != 3 or boards.shape[1] != boards.shape[2] or boards.shape[0] != to_move.size:
        raise ValueError(f"expected boards (k, n, n) and k players to move, got {boards.shape} and {to_move.shape}")
    second = (to_move == 1)[:, None, None]
    view = np.where(second, boards.transpose(0, 2, 1), boards)
    mine = np.where(second, view == 2, view == 1)
    theirs = np.where(second, view == 1, view == 2)
    planes = np.zeros((boards.shape[0], len(PLANES), boards.shape[1], boards.shape[2]), dtype=np.float32)
    planes[:, 0], planes[:, 1] = mine, theirs
    if swap_legal is not None:
        planes[:, 2] = np.asarray(swap_legal, dtype=np.float32).reshape(-1)[:, None, None]
    return planes


class HexCore(TurnBasedGame):
    """``batch_size`` Hex games on an ``size`` x ``size`` board.

    Public state: ``board`` int8 ``(B, n, n)`` in the absolute frame (0 empty, 1 first player's stone,
    2 second player's stone), ``to_move``, ``winner``, ``num_moves`` (moves played, swap included).
    """

    name = "Hex"
    state_fields = ("board", "_views", "_masks", "_empty", "_slot", "_num_empty", "_parent")

    def __init__(self, batch_size: int, size: int = 11, swap: bool = False) -> None:
        super().__init__(batch_size)
        self.size = n = check_size(size)
        self.swap = check_swap(swap)
        self.swap_action = n * n
        self.board = np.zeros((batch_size, n, n), dtype=np.int8)
        # What each player would see and may play, in both frames: [board, player, ...] (board-major,
        # so a move's writes to both players' views land in one block of memory).
        self._views = np.zeros((batch_size, 2, len(PLANES), n, n), dtype=np.float32)
        self._masks = np.zeros((batch_size, 2, n * n + 1), dtype=bool)
        # The empty cells (absolute) of each board in its first ``_num_empty`` slots, and where each
        # cell sits in that list: a uniformly random legal move is then one lookup, not a scan.
        # (int16 throughout: a 19x19 board has 365 nodes, and a small footprint keeps a big batch in
        # cache, which is what bounds the speed of these loops.)
        self._empty = np.zeros((batch_size, n * n), dtype=np.int16)
        self._slot = np.zeros((batch_size, n * n), dtype=np.int16)
        self._num_empty = np.zeros(batch_size, dtype=np.int16)
        # Union-find forests over the cells and four virtual edge nodes, one per board.
        self._parent = np.zeros((batch_size, n * n + 4), dtype=np.int16)
        self._reset(np.arange(batch_size))

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

    def observation(self, boards: np.ndarray | None = None, player: int | np.ndarray | None = None) -> np.ndarray:
        return self._gather(self._views, boards, player)

    def legal_mask(self, boards: np.ndarray | None = None) -> np.ndarray:
        return self._gather(self._masks, boards, None)

    def _gather(self, store: np.ndarray, boards: np.ndarray | None, player: int | np.ndarray | None) -> np.ndarray:
        """``store[board, player]`` for each board (the mover unless ``player`` is given), as one
        ``take`` over the flattened (board, player) axis: ~3x faster than two-axis fancy indexing."""
        idx = self._all if boards is None else self._select(boards)
        who = self.to_move[idx] if player is None else player
        rows = store.reshape(self.batch_size * 2, *store.shape[2:])
        return np.take(rows, idx * 2 + who, axis=0)

    def is_legal(self, actions: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        return rules.is_legal(np.asarray(actions, dtype=np.int64).reshape(-1), idx, self._masks, self.to_move)

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
        self._masks[idx] = False
        self._views[idx, 1, 2] = 0.0

    def random_actions(self, uniforms: np.ndarray, boards: np.ndarray | None = None) -> np.ndarray:
        idx = self._select(boards)
        uniforms = np.asarray(uniforms, dtype=np.float64).reshape(-1)
        return rules.random_actions(uniforms, idx, self.size, self.swap, self._empty, self._num_empty, self.to_move, self.winner, self.num_moves)

    def rollout_winners(self, boards: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """As the base class's random play to the end, sampled by filling the board at random
        (:func:`envs.hex.rules.fill_winners` says why that is the same): one compiled pass per
        board instead of one ``play`` per ply. Where the swap is still open its move is played
        first, at random like any other, since a swap is not a stone to place."""
        idx = self._select(boards)
        swapping = idx[self.swap_legal(idx)]
        if swapping.size:
            self.play(self.random_actions(rng.random(swapping.size), swapping), swapping, check=False)
        uniforms = rng.random((idx.size, self.size * self.size), dtype=np.float32)
        return rules.fill_winners(idx, uniforms, self.size, self._cells, self._empty, self._num_empty, self.to_move, self.winner)

    def move_outcomes(self, boards: np.ndarray, scratch: object = None) -> np.ndarray:
        """As the base class's (each legal move played on a copy), read off the union-find instead
        (:func:`envs.hex.rules.winning_moves`): no copies, and ``scratch`` is not needed. Hex has
        no draws, so a move either wins for the mover or the game goes on."""
        idx = self._select(boards)
        wins = rules.winning_moves(idx, self.size, self._cells, self._masks, self._parent, self.to_move, self.winner)
        return np.where(wins, self.to_move[idx, None], RUNNING).astype(np.int8)

    def named_player(self, name: PlayerName, seed: int | None = None) -> MCTSPlayer | None:
        """``mctsN``: UCT with ``N`` random-rollout simulations per move."""
        return MCTSPlayer(simulations=name.simulations, seed=seed) if name.kind == MCTS else None

    # --- rules -----------------------------------------------------------------------------------
    @property
    def _all(self) -> np.ndarray:
        return np.arange(self.batch_size)

    def _reset(self, boards: np.ndarray) -> None:
        rules.reset_boards(
            boards,
            self._cells,
            self._views,
            self._masks,
            self._empty,
            self._slot,
            self._num_empty,
            self._parent,
        )

    def _play(self, actions: np.ndarray, boards: np.ndarray) -> None:
        rules.play(
            actions,
            boards,
            self.size,
            self.swap,
            self._cells,
            self._views,
            self._masks,
            self._empty,
            self._slot,
            self._num_empty,
            self._parent,
            self.to_move,
            self.winner,
            self.num_moves,
        )

    @property
    def _cells(self) -> np.ndarray:
        return self.board.reshape(self.batch_size, -1)

    # --- views for people ------------------------------------------------------------------------
    has_symmetry = True

    def turn_view(self, observation: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The half turn: each player's edges trade ends, so the position is worth the same."""
        return np.ascontiguousarray(rotate180_planes(observation)), rotate180_mask(mask, self.size)

    def turn_actions(self, actions: np.ndarray) -> np.ndarray:
        return rotate180_actions(actions, self.size)

    def render_ansi(self, board: int = 0) -> str:
        return board_to_text(self.board[board], to_move=int(self.to_move[board]), winner=int(self.winner[board]))

    player_names = PLAYER_NAMES
    player_goals = ("first, joining top and bottom", "second, joining left and right")
    move_format = "a cell like c3 (or swap, where the swap rule allows it)"

    def move_name(self, action: int, board: int = 0) -> str:
        """``swap``, or the absolute cell (``c3``) whichever colour moves."""
        if int(action) == self.swap_action:
            return "swap"
        return cell_name(int(self.to_absolute(np.array([action]), np.array([board]))[0]), self.size)

    def parse_move(self, text: str, board: int = 0) -> int:
        """An absolute cell (``c3``) or ``swap``, as the mover's action; occupied cells are refused here,
        with who holds them, since a person typing a cell wants to know why it was refused."""
        word = text.strip().lower()
        if word == "swap":
            if not self.swap_legal(np.array([board]))[0]:
                raise ValueError("swap is not allowed now: only the second player's first move may swap, in a game played with the swap rule")
            return self.swap_action
        cell = parse_cell(word, self.size)
        stone = int(self.board[board].flat[cell])
        if stone:
            raise ValueError(f"{cell_name(cell, self.size)} is occupied by {PLAYER_NAMES[stone - 1]}")
        return int(self.from_absolute(np.array([cell]), np.array([board]))[0])

    def render_rgb(self, board: int = 0) -> np.ndarray:
        return board_to_rgb(self.board[board], winner=int(self.winner[board]))


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
