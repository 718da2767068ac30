"""Pictures of one Connect Four board for people: ASCII text and an RGB image, numpy only.

Both take the board of :class:`envs.connect_four.core.ConnectFourCore` (int8 ``(6, 7)``, row 0 at the
top: 0 empty, 1 the first player's stone, 2 the second's). The first player is ``X`` and red, the
second ``O`` and yellow; columns are labelled with the move notation, ``a``-``g``.
"""

from __future__ import annotations

import numpy as np

STONE_CHARS = ".XO"
PLAYER_NAMES = ("X", "O")
FRAME_RGB = (30, 70, 170)
STONE_RGB = ((236, 236, 236), (210, 40, 40), (240, 200, 40))  # empty hole, first player, second player


def board_to_text(board: np.ndarray, to_move: int = 0, winner: int = -1) -> str:
    """The board as rows of ``. X O`` between column letters, then whose move it is or the result."""
    board = np.asarray(board)
    letters = " ".join(chr(ord("a") + c) for c in range(board.shape[1]))
    rows = [" ".join(STONE_CHARS[v] for v in row) for row in board]
    if winner in (0, 1):
        status = f"{PLAYER_NAMES[winner]} wins"
    elif winner == 2:
        status = "draw"
    else:
        status = f"{PLAYER_NAMES[to_move]} to move"
    return "\n".join([letters, *rows, letters, status])


def board_to_rgb(board: np.ndarray, cell_px: int = 24) -> np.ndarray:
    """An ``(rows * cell_px, columns * cell_px, 3)`` uint8 picture: coloured discs in a blue frame.

    Each cell is one disc, so the picture is the board upsampled (``np.repeat``) and a disc-shaped
    stencil chooses between the frame colour and the cell's colour: no drawing loop.
    """
    board = np.asarray(board, dtype=np.int64)
    palette = np.array(STONE_RGB, dtype=np.uint8)
    cells = palette[board].repeat(cell_px, axis=0).repeat(cell_px, axis=1)
    centre = (np.arange(cell_px) + 0.5 - cell_px / 2) / (cell_px / 2)
    disc = centre[:, None] ** 2 + centre[None, :] ** 2 <= 0.8**2
    stencil = np.tile(disc, board.shape)
    return np.where(stencil[..., None], cells, np.array(FRAME_RGB, dtype=np.uint8))
