"""Hex as a PettingZoo AEC env (``hex_v0``), built on the generic :mod:`envs.turn_based_pettingzoo`."""

from __future__ import annotations

from pettingzoo import AECEnv

from envs.hex.core import HexCore, check_size, check_swap
from envs.turn_based_pettingzoo import TurnBasedAECEnv


def pettingzoo_env(size: int = 11, swap: bool = False, render_mode: str | None = None) -> AECEnv:
    """Hex on a ``size`` x ``size`` board for agents ``player_0`` (top-bottom) and ``player_1`` (left-right).

    Every agent acts and observes IN ITS OWN VIEW. The action is a cell index ``r * n + c`` of the
    acting agent's own view of the board, not of the absolute board: for ``player_0`` the view is the
    board itself, for ``player_1`` it is the board transposed, so each agent connects the top and
    bottom of what it sees and one network can play both sides. Action ``n * n`` is the swap (pie)
    rule, legal only for ``player_1``'s first move when ``swap=True``; after it ``player_0`` moves.

    To convert: ``player_0``'s action ``a`` is the absolute cell ``(a // n, a % n)``; ``player_1``'s
    action ``a`` is the absolute cell ``(a % n, a // n)`` (row, column). ``env.unwrapped.game`` is
    the :class:`HexCore` and ``game.to_absolute(np.array([a]), np.array([0]))`` does this for the
    agent to move. The observation is ``(3, n, n)`` float32: own stones, opponent's stones, swap
    legal now, all in the same own view.

    ``size`` must be an integer from 2 to 19; an illegal action loses the game (-1, the other +1)
    with ``info["illegal_action"] = True``, and an action outside ``0..n*n`` raises ``ValueError``.
    """
    size, swap = check_size(size), check_swap(swap)
    return TurnBasedAECEnv(lambda: HexCore(1, size, swap), name="hex_v0", render_mode=render_mode)
