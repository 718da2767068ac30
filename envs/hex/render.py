"""Pictures of one Hex board for people: ASCII text and an RGB image, drawn with numpy only.

Both take the absolute-frame board of :class:`envs.hex.core.HexCore` (int8 ``(n, n)``: 0 empty, 1 the
first player's stone, 2 the second player's). Player 0 is ``X`` and red and joins top and bottom;
player 1 is ``O`` and blue and joins left and right. Row ``r`` is drawn half a cell further right
than row ``r - 1``, so the rhombus shows the true hex neighbours and a column is a line running down
to the right. Coordinates read as in :func:`envs.hex.core.cell_name`: column letter, then row number.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from envs.hex.size import check_size

STONE_CHARS = ".XO"
PLAYER_NAMES = ("X", "O")

BACKGROUND_RGB = (250, 248, 243)
EMPTY_RGB = (232, 220, 190)
OUTLINE_RGB = (96, 84, 66)
PLAYER_RGB = ((200, 40, 40), (40, 90, 200))
WINNER_EDGE_RGB = ((255, 70, 60), (60, 150, 255))

BAND = 0.4  # width of the goal-edge bands, in hex widths
LEVELS = 16  # shades between a fill and its outline or band colour, for antialiasing

_SQRT3 = float(np.sqrt(3.0))
# The six hex neighbours as (row, column) steps, in the order of the module docstring of core.py.
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


def _check_board(board: np.ndarray) -> np.ndarray:
    board = np.asarray(board)
    if board.ndim != 2 or board.shape[0] != board.shape[1]:
        raise ValueError(f"a Hex board is a square (n, n) array, got shape {board.shape}")
    check_size(board.shape[0])
    if board.size and (board.min() < 0 or board.max() > 2):
        raise ValueError("board cells must be 0 (empty), 1 (first player) or 2 (second player)")
    return board.astype(np.int64)


def _status_line(to_move: int, winner: int) -> str:
    if winner in (0, 1):
        return f"{PLAYER_NAMES[winner]} wins"
    if to_move not in (0, 1):
        raise ValueError(f"to_move must be 0 or 1, got {to_move}")
    return f"{PLAYER_NAMES[to_move]} to move"


def board_to_text(board: np.ndarray, to_move: int = 0, winner: int = -1) -> str:
    """The board as ASCII art, a rhombus with the coordinates and goal edges around it.

    Cell ``(r, c)`` sits at character column ``w + 3 + r + 2 * c`` of line ``r + 2``, where ``w`` is the
    width of the largest row number: cells are two characters apart and each row starts one
    character further right. Column letters stand right above the top row's cells and right below
    the bottom row's (a column then runs down to the right from its letter); row numbers sit just
    left and right of each row. The goal edges are outside those labels, where they cannot be
    mistaken for stones: a line of ``X`` above and below the board, an ``O`` at both ends of every
    row. The last line names the mover, or the winner when ``winner`` is 0 or 1. No line has
    trailing spaces.
    """
    board = _check_board(board)
    n = board.shape[0]
    w = len(str(n))
    base = w + 3
    width = base + 3 * n + w + 2

    def line(items: list[tuple[int, str]]) -> str:
        chars = [" "] * width
        for x, text in items:
            chars[x : x + len(text)] = text
        return "".join(chars).rstrip()

    letters = [chr(ord("a") + c) for c in range(n)]
    # The X edge lines sit half a cell outside the letters, as a row of hexes beyond the board would.
    lines = [
        line([(base - 1 + 2 * c, "X") for c in range(n)]),
        line([(base + 2 * c, letters[c]) for c in range(n)]),
    ]
    for r in range(n):
        x = base + r
        number = str(r + 1)
        items = [(x - 3 - w, "O"), (x - 1 - w, number.rjust(w)), (x + 2 * n, number), (x + 2 * n + w + 1, "O")]
        items += [(x + 2 * c, STONE_CHARS[v]) for c, v in enumerate(board[r])]
        lines.append(line(items))
    lines.append(line([(base + n - 1 + 2 * c, letters[c]) for c in range(n)]))
    lines.append(line([(base + n + 2 * c, "X") for c in range(n)]))
    lines.append(_status_line(to_move, winner))
    return "\n".join(lines)


def _hex_norm(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Hexagonal norm of an offset: a pointy-top hex of apothem ``a`` is where it is ``<= a``.

    Outside the hex, the norm minus ``a`` is the distance to the nearest side's line, which gives
    outlines and bands that run parallel to the sides.
    """
    half = 0.5 * dx
    slant = 0.5 * _SQRT3 * dy
    return np.maximum(np.abs(dx), np.maximum(np.abs(half + slant), np.abs(half - slant)))


def _geometry(cell_px: int) -> tuple[float, float, float, float]:
    """Apothem, corner radius, row pitch and picture margin in pixels; ``cell_px`` is the hex width."""
    apothem = cell_px / 2.0
    radius = apothem * 2.0 / _SQRT3
    return apothem, radius, 1.5 * radius, radius + (BAND + 0.15) * cell_px


def cell_centre(row: int, col: int, cell_px: int = 24) -> tuple[float, float]:
    """Pixel ``(x, y)`` of the centre of cell ``(row, col)`` in :func:`board_to_rgb`'s picture.

    For drawing on top of the picture (a last-move mark, a click target); the first pixel's
    centre is at ``(0.5, 0.5)``.
    """
    _, _, pitch_y, margin = _geometry(cell_px)
    return margin + cell_px * (col + 0.5 * row), margin + pitch_y * row


@lru_cache(maxsize=16)
def _layout(n: int, cell_px: int) -> np.ndarray:
    """What every pixel is, for one board size: it does not depend on the stones, so it is cached.

    Returns a read-only (H, W) int index ``slot * LEVELS + k``. ``slot`` is the cell ``r * n + c``
    under the pixel, ``n * n`` for background, ``n * n + 1 + p`` for the outer part of player ``p``'s
    edge band and ``n * n + 3 + p`` for its inner part, next to the board. ``k / (LEVELS - 1)`` is
    how much the top colour covers the base one: the outline over a cell or over an inner band, a
    band over the background. It is soft over about one pixel, so lines come out antialiased, and
    quantized, so that a picture is then a single lookup in a small colour table.
    """
    f = np.float32
    apothem, _, pitch_y, margin = _geometry(cell_px)
    line = max(0.6, cell_px / 24.0)  # half the width of the outline between two cells
    band = BAND * cell_px

    width = int(np.ceil(cell_px * 1.5 * (n - 1) + 2 * margin))
    height = int(np.ceil(pitch_y * (n - 1) + 2 * margin))
    x = (np.arange(width, dtype=f) + f(0.5 - margin))[None, :]
    y = (np.arange(height, dtype=f) + f(0.5 - margin))[:, None]

    # Axial coordinates (q = column, r = row) of each pixel, then cube rounding to the nearest hex.
    rf = y / f(pitch_y)
    qf = x / f(cell_px) - f(0.5) * rf
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)

    inside = (q >= 0) & (q < n) & (r >= 0) & (r < n)
    slot = np.where(inside, r * n + q, n * n).astype(np.int64)
    to_border = f(apothem) - _hex_norm(x - f(cell_px) * (q + f(0.5) * r), y - f(pitch_y) * r)
    cover = np.where(inside, np.clip(f(line + 0.5) - to_border, 0.0, 1.0), f(0.0))

    # Outside pixels near the board: distance to the nearest board hex, which is a neighbour of the
    # pixel's own hex. Rows beyond the top or bottom make player 0's band, the rest player 1's.
    near = ~inside & (q >= -1) & (q <= n) & (r >= -1) & (r <= n)
    px, py = np.broadcast_to(x, near.shape)[near], np.broadcast_to(y, near.shape)[near]
    pq, pr = q[near], r[near]
    gap = np.full(px.shape, np.inf, dtype=f)
    for step_r, step_q in _NEIGHBOURS:
        nq, nr = pq + f(step_q), pr + f(step_r)
        on_board = (nq >= 0) & (nq < n) & (nr >= 0) & (nr < n)
        dist = _hex_norm(px - f(cell_px) * (nq + f(0.5) * nr), py - f(pitch_y) * nr)
        gap = np.where(on_board, np.minimum(gap, dist - f(apothem)), gap)
    # Near the board the band's pixels carry the outer half of the board's outline (so the border
    # line is as thick as the lines between cells); further out they fade into the background.
    side = np.where((pr < 0) | (pr >= n), 1, 2)
    inner = gap < f(0.5 * band)
    slot[near] = np.where(inner, n * n + 2 + side, np.where(gap < f(band + 0.5), n * n + side, n * n))
    cover[near] = np.where(inner, np.clip(f(line + 0.5) - gap, 0.0, 1.0), np.clip(f(band + 0.5) - gap, 0.0, 1.0))

    index = slot * LEVELS + np.rint(cover * f(LEVELS - 1)).astype(np.int64)
    index.setflags(write=False)
    return index


def board_to_rgb(board: np.ndarray, winner: int = -1, cell_px: int = 24) -> np.ndarray:
    """The board as a uint8 (H, W, 3) image of pointy-top hexagons laid out as a rhombus.

    ``cell_px`` is the width of one hexagon. Empty cells are beige, player 0's stones red and player
    1's blue; a band in each player's colour runs along its two goal edges (red top and bottom,
    blue left and right), brighter for the winner when ``winner`` is 0 or 1. The pixel layout is
    computed once per ``(n, cell_px)``, so drawing a position is one lookup in a small colour table.
    """
    board = _check_board(board)
    if cell_px < 4:
        raise ValueError(f"cell_px must be at least 4, got {cell_px}")
    n = board.shape[0]
    index = _layout(n, int(cell_px))

    stones = np.array([EMPTY_RGB, *PLAYER_RGB], dtype=np.float32)
    edges = [WINNER_EDGE_RGB[p] if winner == p else PLAYER_RGB[p] for p in (0, 1)]
    base = np.concatenate([stones[board.reshape(-1)], np.array([BACKGROUND_RGB] * 3 + edges, dtype=np.float32)])
    over = np.array([OUTLINE_RGB] * (n * n) + [BACKGROUND_RGB, *edges] + [OUTLINE_RGB] * 2, dtype=np.float32)
    mix = np.linspace(0.0, 1.0, LEVELS, dtype=np.float32)[None, :, None]
    table = base[:, None] * (1.0 - mix) + over[:, None] * mix
    return np.rint(table).astype(np.uint8).reshape(-1, 3)[index]
