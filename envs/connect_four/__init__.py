"""Connect Four: the batched rules (:mod:`envs.connect_four.core`), Gymnasium envs
(:mod:`envs.connect_four.env`), a PettingZoo AEC env (:mod:`envs.connect_four.pettingzoo`) and
text/picture rendering (:mod:`envs.connect_four.render`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.connect_four.core import ConnectFourCore, column_name, parse_column
from envs.connect_four.env import connect_four_env, connect_four_vector_env

if TYPE_CHECKING:
    from envs.connect_four.pettingzoo import ConnectFourAECEnv


def pettingzoo_env(render_mode: str | None = None) -> ConnectFourAECEnv:
    """Two-player PettingZoo AEC Connect Four laid out like ``connect_four_v3``; see :mod:`envs.connect_four.pettingzoo`.

    Imported on call, so that ``import envs`` needs no PettingZoo."""
    from envs.connect_four.pettingzoo import pettingzoo_env as make

    return make(render_mode=render_mode)


__all__ = ["ConnectFourCore", "column_name", "parse_column", "connect_four_env", "connect_four_vector_env", "pettingzoo_env"]
