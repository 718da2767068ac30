"""Hex: the batched rules (:mod:`envs.hex.core`), Gymnasium envs (:mod:`envs.hex.env`), a PettingZoo
AEC env (:mod:`envs.hex.pettingzoo`) and text/picture rendering (:mod:`envs.hex.render`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.hex.core import HexCore, cell_name, parse_cell
from envs.hex.env import hex_env, hex_vector_env

if TYPE_CHECKING:
    from pettingzoo import AECEnv


def pettingzoo_env(size: int = 11, swap: bool = False, render_mode: str | None = None) -> AECEnv:
    """Two-player PettingZoo AEC Hex (agents ``player_0``, ``player_1``); see :mod:`envs.hex.pettingzoo`."""
    from envs.hex.pettingzoo import pettingzoo_env as make

    return make(size=size, swap=swap, render_mode=render_mode)


__all__ = ["HexCore", "cell_name", "parse_cell", "hex_env", "hex_vector_env", "pettingzoo_env"]
