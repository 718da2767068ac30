"""The Hex board as text and as a picture: stones where the coordinates say, edges on the right sides.

Set ``HEX_RENDER_PNG_DIR`` to a folder to keep the example pictures that
``test_example_pictures_are_valid_png`` writes, for a person to look at.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from envs.hex.core import HexCore, cell_name, parse_cell
from envs.hex.render import (
    BACKGROUND_RGB,
    EMPTY_RGB,
    OUTLINE_RGB,
    PLAYER_RGB,
    WINNER_EDGE_RGB,
    board_to_rgb,
    board_to_text,
    cell_centre,
)

SIZES = (2, 5, 11, 19)


def random_board(n: int, seed: int, fill: float = 0.4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 2], dtype=np.int8), size=(n, n), p=[1 - fill, fill / 2, fill / 2])


def board_from_cells(n: int, x_cells: list[str], o_cells: list[str]) -> np.ndarray:
    board = np.zeros(n * n, dtype=np.int8)
    board[[parse_cell(name, n) for name in x_cells]] = 1
    board[[parse_cell(name, n) for name in o_cells]] = 2
    return board.reshape(n, n)


def read_text_board(text: str, n: int) -> dict[str, str]:
    """Read every cell back the way a person would: from the column letter and the row number.

    Columns run down to the right from their letter (one character right per row, starting right
    below it); a row's cells start two characters after the end of its left number.
    """
    lines = text.split("\n")
    letter_x = {lines[1][x]: x for x in range(len(lines[1])) if lines[1][x].isalpha()}
    cells = {}
    for r in range(n):
        line = lines[2 + r]
        tokens = line.split()
        number = str(r + 1)
        assert tokens[1] == number and tokens[-2] == number
        number_end = line.index(number, line.index("O") + 1) + len(number)
        for c in range(n):
            letter = chr(ord("a") + c)
            x = letter_x[letter] + r
            assert x == number_end + 1 + 2 * c, "the column letter and the row number point at different characters"
            cells[f"{letter}{number}"] = line[x]
    return cells


# --- text ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", SIZES)
def test_text_shows_every_cell_at_its_coordinate(n: int) -> None:
    board = random_board(n, seed=n)
    cells = read_text_board(board_to_text(board), n)
    assert len(cells) == n * n
    for cell in range(n * n):
        assert cells[cell_name(cell, n)] == ".XO"[board.flat[cell]]


def test_text_named_stones_land_on_their_names() -> None:
    board = board_from_cells(5, x_cells=["c3", "a1", "e2"], o_cells=["b4", "e5"])
    cells = read_text_board(board_to_text(board), 5)
    assert {name for name, ch in cells.items() if ch == "X"} == {"c3", "a1", "e2"}
    assert {name for name, ch in cells.items() if ch == "O"} == {"b4", "e5"}


@pytest.mark.parametrize("n", SIZES)
def test_text_labels_edges_and_alignment(n: int) -> None:
    lines = board_to_text(random_board(n, seed=100 + n)).split("\n")
    assert len(lines) == n + 5
    letters = [chr(ord("a") + c) for c in range(n)]
    # Column letters above and below, the X goal edge outside them, one marker per column.
    assert lines[1].split() == letters and lines[n + 2].split() == letters
    assert lines[0].split() == ["X"] * n and lines[n + 3].split() == ["X"] * n
    # Letters stand right above the top row's cells and right below the bottom row's; the X edges
    # are half a cell further out, where the next row of hexes would be.
    w = len(str(n))
    for c in range(n):
        assert lines[1][w + 3 + 2 * c] == letters[c]
        assert lines[n + 2][w + 3 + n - 1 + 2 * c] == letters[c]
        assert lines[0][w + 2 + 2 * c] == "X" and lines[n + 3][w + 3 + n + 2 * c] == "X"
    for r in range(n):
        line = lines[2 + r]
        tokens = line.split()
        # The O goal edge at both ends, outside the row numbers; each row one character further right.
        assert tokens[0] == "O" and tokens[-1] == "O"
        assert tokens[1] == tokens[-2] == str(r + 1)
        assert len(tokens) == n + 4
        assert len(line) - len(line.lstrip()) == r
        cell_columns = [r + w + 3 + 2 * c for c in range(n)]
        assert all(line[x] in ".XO" for x in cell_columns)
        # Right-hand markers line up on the same slant as the left-hand ones (two-digit numbers too).
        assert line.rindex("O") == r + w + 3 + 2 * n + w + 1
    for line in lines:
        assert line == line.rstrip() and line.isascii()


@pytest.mark.parametrize(
    ("to_move", "winner", "expected"),
    [(0, -1, "X to move"), (1, -1, "O to move"), (0, 0, "X wins"), (1, 0, "X wins"), (0, 1, "O wins")],
)
def test_text_last_line_names_mover_or_winner(to_move: int, winner: int, expected: str) -> None:
    text = board_to_text(np.zeros((3, 3), dtype=np.int8), to_move=to_move, winner=winner)
    assert text.split("\n")[-1] == expected


BAD_BOARDS = [np.zeros((3, 4), np.int8), np.zeros((20, 20), np.int8), np.zeros(9, np.int8), np.full((3, 3), 3, np.int8)]


@pytest.mark.parametrize("bad", BAD_BOARDS)
def test_bad_boards_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        board_to_text(bad)
    with pytest.raises(ValueError):
        board_to_rgb(bad)


# --- picture -------------------------------------------------------------------------------------
def pixel(image: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    return tuple(int(v) for v in image[int(y), int(x)])


def scan(image: np.ndarray, x: float, y: float, dx: int, dy: int) -> list[tuple[int, ...]]:
    """Colours met walking from ``(x, y)`` in steps of ``(dx, dy)`` pixels to the picture's border."""
    out = []
    i, j = int(y), int(x)
    while 0 <= i < image.shape[0] and 0 <= j < image.shape[1]:
        out.append(tuple(int(v) for v in image[i, j]))
        i, j = i + dy, j + dx
    return out


@pytest.mark.parametrize("n", SIZES)
def test_picture_is_rgb_and_cells_have_their_colours(n: int) -> None:
    board = random_board(n, seed=200 + n)
    image = board_to_rgb(board)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    colours = (EMPTY_RGB, *PLAYER_RGB)
    for r in range(n):
        for c in range(n):
            assert pixel(image, *cell_centre(r, c)) == colours[board[r, c]]


def test_picture_grows_with_size_and_cell_px() -> None:
    shapes = [board_to_rgb(np.zeros((n, n), np.int8)).shape for n in range(2, 20)]
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(shapes, shapes[1:]))
    small, big = board_to_rgb(np.zeros((5, 5), np.int8), cell_px=12), board_to_rgb(np.zeros((5, 5), np.int8), cell_px=48)
    assert 3.5 < big.shape[0] / small.shape[0] < 4.5 and 3.5 < big.shape[1] / small.shape[1] < 4.5


@pytest.mark.parametrize("cell_px", [16, 24, 40])
def test_picture_stones_are_hexagons_on_the_hex_grid(cell_px: int) -> None:
    """Find each stone from what it changes in the picture, without trusting ``cell_centre``."""
    n = 5
    empty = board_to_rgb(np.zeros((n, n), np.int8), cell_px=cell_px)
    centres = {}
    for r, c in [(0, 0), (0, 1), (1, 0), (2, 3), (4, 4)]:
        board = np.zeros((n, n), np.int8)
        board[r, c] = 1
        changed = np.argwhere((board_to_rgb(board, cell_px=cell_px) != empty).any(axis=2))
        y, x = changed.mean(axis=0) + 0.5
        centres[r, c] = np.array([x, y])
        # A filled hexagon (area sqrt(3)/2 w^2), less its share of the outline.
        assert 0.6 < len(changed) / (np.sqrt(3) / 2 * cell_px**2) < 1.0
        assert np.allclose(centres[r, c], cell_centre(r, c, cell_px), atol=0.6)
    # Neighbours along a row are one hex width apart; the next row is half a width to the right.
    pitch_y = 0.75 * cell_px * 2 / np.sqrt(3)
    assert np.allclose(centres[0, 1] - centres[0, 0], [cell_px, 0], atol=0.6)
    assert np.allclose(centres[1, 0] - centres[0, 0], [cell_px / 2, pitch_y], atol=0.6)
    assert np.allclose(centres[4, 4] - centres[2, 3], [cell_px * 2, 2 * pitch_y], atol=0.6)


@pytest.mark.parametrize("n", [2, 11])
def test_picture_edges_have_each_players_colour(n: int) -> None:
    image = board_to_rgb(np.zeros((n, n), np.int8))
    red, blue = PLAYER_RGB
    for c in range(n):
        up = scan(image, *cell_centre(0, c), 0, -1)
        down = scan(image, *cell_centre(n - 1, c), 0, 1)
        for walk in (up, down):
            assert walk[0] == EMPTY_RGB and OUTLINE_RGB in walk and red in walk and blue not in walk
            assert walk[-1] == BACKGROUND_RGB
            assert walk.index(OUTLINE_RGB) < walk.index(red) < walk.index(BACKGROUND_RGB)
    for r in range(n):
        left = scan(image, *cell_centre(r, 0), -1, 0)
        right = scan(image, *cell_centre(r, n - 1), 1, 0)
        for walk in (left, right):
            assert walk[0] == EMPTY_RGB and blue in walk and red not in walk and walk[-1] == BACKGROUND_RGB
            assert walk.index(OUTLINE_RGB) < walk.index(blue) < walk.index(BACKGROUND_RGB)
    # The bands are about as wide as the code says (0.4 hex widths), give or take antialiasing.
    band = sum(colour == red for colour in scan(image, *cell_centre(0, 0), 0, -1))
    assert 0.3 * 24 <= band <= 0.5 * 24 + 2
    # Nothing but the board and its bands is coloured: no stone colour far from the board.
    assert (image[:2] == BACKGROUND_RGB).all() and (image[-2:] == BACKGROUND_RGB).all()


def test_winner_edges_are_brighter() -> None:
    board = np.zeros((3, 3), np.int8)
    board[:, 1] = 1
    for winner in (0, 1):
        image = board_to_rgb(board, winner=winner)
        top = scan(image, *cell_centre(0, 0), 0, -1)
        left = scan(image, *cell_centre(1, 0), -1, 0)
        winner_walk, loser_walk = (top, left) if winner == 0 else (left, top)
        assert WINNER_EDGE_RGB[winner] in winner_walk and PLAYER_RGB[winner] not in winner_walk
        assert PLAYER_RGB[1 - winner] in loser_walk
    assert np.array_equal(board_to_rgb(board, winner=-1), board_to_rgb(board))


def test_picture_calls_do_not_share_memory() -> None:
    board = random_board(5, seed=1)
    first = board_to_rgb(board)
    first[:] = 0
    assert board_to_rgb(board).any()


def write_png(path: Path, image: np.ndarray) -> None:
    """A minimal RGB PNG writer (zlib only), so the tests need no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width, _ = image.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes())) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def read_png(path: Path) -> np.ndarray:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat_length = struct.unpack(">I", data[33:37])[0]
    rows = np.frombuffer(zlib.decompress(data[41 : 41 + idat_length]), np.uint8).reshape(height, -1)
    return rows[:, 1:].reshape(height, width, 3)


def test_example_pictures_are_valid_png(tmp_path: Path) -> None:
    folder = Path(os.environ.get("HEX_RENDER_PNG_DIR", tmp_path))
    for n, moves in [(5, 9), (11, 40)]:
        core = HexCore(1, n)
        rng = np.random.default_rng(n)
        for _ in range(moves):
            if core.done[0]:
                break
            core.play(core.random_actions(rng.random(1)))
        image = core.render_rgb(0)
        path = folder / f"hex_{n}x{n}.png"
        write_png(path, image)
        assert np.array_equal(read_png(path), image)


# --- through the game core -----------------------------------------------------------------------
def test_core_renders_its_board() -> None:
    core = HexCore(1, 5)
    core.play(np.array([7]))
    text = core.render_ansi(0)
    assert read_text_board(text, 5)[cell_name(7, 5)] == "X"
    assert text.endswith("O to move")
    image = core.render_rgb(0)
    assert np.array_equal(image, board_to_rgb(core.board[0]))
    assert pixel(image, *cell_centre(*divmod(7, 5))) == PLAYER_RGB[0]
    # Player 1 plays in its own (transposed) frame; the picture and text show the absolute cell.
    absolute = int(core.to_absolute(np.array([1]))[0])
    assert absolute == parse_cell("a2", 5)
    core.play(np.array([1]))
    assert read_text_board(core.render_ansi(0), 5)[cell_name(absolute, 5)] == "O"
    assert pixel(core.render_rgb(0), *cell_centre(*divmod(absolute, 5))) == PLAYER_RGB[1]


def test_core_renders_a_win() -> None:
    core = HexCore(1, 2)
    for action in (0, 3, 2):  # X a1, O b2, X a2: a1-a2 joins top to bottom
        core.play(np.array([action]))
    assert core.winner[0] == 0
    assert core.render_ansi(0).endswith("X wins")
    assert WINNER_EDGE_RGB[0] in scan(core.render_rgb(0), *cell_centre(0, 0), 0, -1)
