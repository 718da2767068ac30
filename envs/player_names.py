"""The names of players, one syntax for every place that takes one.

The env's ``opponent`` option, ``selfplay.baselines``, the league's ``--baselines`` and
``python -m rlagent.evaluate --opponent`` all name players the same way:

* ``random``: uniformly random legal moves;
* ``mctsN``: UCT search with ``N`` random-rollout simulations per move (:class:`envs.hex.mcts.MCTSPlayer`),
  ``N`` a whole number from 1 to :data:`MAX_SIMULATIONS` written without leading zeros (``mcts100``);
* the Arena's scripted bots ``idle``, ``hill``, ``turret``, ``hunter`` (:mod:`envs.arena.bots`; its
  ``random`` is the name above);
* where a trained agent can be loaded (rlagent's ``make_env`` and ``evaluate``, not a bare
  ``gymnasium.make``, since envs cannot load networks): the path of a run directory or checkpoint,
  played greedily; or, for Hex, ``PATH@puctN``: that agent searched with PUCT, ``N`` network
  evaluations per move (:class:`rlagent.games.hex.puct.PUCTPlayer`), ``N`` from 1 to
  :data:`MAX_PUCT_SIMULATIONS` without leading zeros (``logs/hex-ppo-...@puct200``). The same form
  names the agent of ``python -m rlagent.play``, ``analyze`` and ``evaluate`` and a league baseline.

Names are exact: no other spelling, case or surrounding spaces. This module only reads names;
the envs build ``random``/``mctsN``/bot players from them (:meth:`envs.base.TurnBasedGame.named_player`)
and rlagent adds the path form (``rlagent.games.players``). A refused name raises a one-line
``ValueError`` that lists the valid forms.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

RANDOM, MCTS, PATH, BOT, PUCT = "random", "mcts", "path", "bot", "puct"
BOTS = ("idle", "hill", "turret", "hunter")  # the Arena's scripted bots besides random
MAX_SIMULATIONS = 10_000_000  # 10 s a move at 1 M simulations/s: far past any useful baseline
MAX_PUCT_SIMULATIONS = 100_000  # a tree's arrays grow with it: ~220 MB for one 11x11 search
_MCTS = re.compile(r"mcts([1-9][0-9]*)")
_PUCT = re.compile(r"(.+)@puct([1-9][0-9]*)")
MCTS_FORM = f"mctsN for UCT with N random-rollout simulations per move (N from 1 to {MAX_SIMULATIONS}, e.g. mcts100)"
PATH_FORM = "the path of a run directory or checkpoint"
PUCT_FORM = f"PATH@puctN for that Hex agent searched with N network evaluations per move (N from 1 to {MAX_PUCT_SIMULATIONS}, e.g. logs/my-run@puct200)"
BOT_FORM = f"an Arena bot ({', '.join(BOTS)})"


@dataclass(frozen=True)
class PlayerName:
    """A parsed player name: ``kind`` is ``random``, ``mcts`` (with ``simulations``), ``bot`` (its
    name in ``path``'s place: ``bot``), ``path``, or ``puct`` (``path`` and ``simulations``)."""

    kind: str
    simulations: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.kind == MCTS:
            return f"mcts{self.simulations}"
        if self.kind == PUCT:
            return f"{self.path}@puct{self.simulations}"
        return self.path if self.kind in (PATH, BOT) else self.kind


def valid_forms(paths: bool = False, also: Sequence[str] = ()) -> str:
    """The valid forms as a phrase for error messages: ``random, mctsN ... or ...``."""
    forms = [RANDOM, MCTS_FORM, BOT_FORM, *([PUCT_FORM, PATH_FORM] if paths else []), *also]
    return ", ".join(forms[:-1]) + ", or " + forms[-1]


def looks_like_path(name: object) -> bool:
    """Whether a string that is not a player name was probably meant as a file or directory."""
    if not isinstance(name, str) or not name.strip():
        return False
    return "/" in name or os.sep in name or name.endswith(".pt") or Path(name).exists() or search_name(name) is not None


def search_name(name: object) -> PlayerName | None:
    """``PATH@puctN`` read without checking that ``PATH`` exists (the loader says so), else None:
    for the commands whose agent argument may be searched (``play``, ``analyze``, ``evaluate``)."""
    match = _PUCT.fullmatch(name) if isinstance(name, str) else None
    if not match or int(match.group(2)) > MAX_PUCT_SIMULATIONS:
        return None
    return PlayerName(PUCT, simulations=int(match.group(2)), path=match.group(1))


def parse_player_name(name: object, *, paths: bool = False, what: str = "player", also: Sequence[str] = ()) -> PlayerName:
    """``name`` parsed, or a one-line ``ValueError`` naming it as a ``what`` and listing the valid forms.

    ``paths``: accept the path of an existing file or directory, alone or as ``PATH@puctN`` (the
    caller loads it). ``also``: further forms the caller accepts besides names, for the message
    (e.g. "a callable").
    """
    if isinstance(name, str):
        if name == RANDOM:
            return PlayerName(RANDOM)
        if name in BOTS:
            return PlayerName(BOT, path=name)
        match = _MCTS.fullmatch(name)
        if match and int(match.group(1)) <= MAX_SIMULATIONS:
            return PlayerName(MCTS, simulations=int(match.group(1)))
        if paths and name and name.strip() == name:
            search = search_name(name)
            if search is not None and Path(search.path).exists():
                return search
            if not match and Path(name).exists():
                return PlayerName(PATH, path=name)
    hint = ""
    if paths and looks_like_path(name):
        search = search_name(name)
        if not Path(search.path if search is not None else name).exists():  # type: ignore[arg-type]
            hint = " (no such file or directory)"
    raise ValueError(f"unknown {what} {name!r}{hint}: valid {what}s are {valid_forms(paths, also)}")
