"""A league's match table, ``league/matches.csv``: every game ever played, one row each.

Ratings are fitted from the whole table, so the table is the league's memory: append-only,
flushed to disk after every match, and readable after an interrupted write (a torn last line is
ignored on reading and cut before the next append). Re-running a league counts what the table
already holds and plays only what is missing.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from rlagent.errors import ConfigError

MATCH_COLUMNS = ("first", "second", "score", "opening", "opening_rule")
_SCORES = {"1": 1.0, "0.5": 0.5, "0": 0.0}


class GameResult(NamedTuple):
    """One row of ``matches.csv``; ``score`` is the first mover's, ``opening`` None for an empty-board start."""

    first: str
    second: str
    score: float
    opening: int | None
    opening_rule: str


def read_matches(path: str | Path) -> list[GameResult]:
    """Every game of a match table, in file order; a missing file is an empty league.

    A last line without its newline is the torn write of an interrupted league and is ignored
    (:func:`append_matches` removes it before writing).
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text[: text.rfind("\n") + 1], newline=""))
    missing = [column for column in MATCH_COLUMNS if column not in (reader.fieldnames or ())]
    if reader.fieldnames is not None and missing:
        raise ConfigError(f"{path} is not a league match table (no column {', '.join(missing)}): move it away to start a new one")
    return [_parse_row(row, path, reader.line_num) for row in reader]


def append_matches(path: str | Path, results: Sequence[GameResult]) -> None:
    """Append games to a match table (header first if new), flushed to disk before returning."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_line(path)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        if new:
            writer.writerow(MATCH_COLUMNS)
        for r in results:
            writer.writerow([r.first, r.second, _format_score(r.score), "" if r.opening is None else r.opening, r.opening_rule])
        file.flush()
        os.fsync(file.fileno())


def _parse_row(row: dict[str, str], path: Path, line: int) -> GameResult:
    first, second, score, opening = row["first"], row["second"], row["score"], row["opening"]
    if not first or not second or first == second:
        raise ConfigError(f"{path} line {line}: a game needs two different player names, got {first!r} and {second!r}")
    if score not in _SCORES:
        raise ConfigError(f"{path} line {line}: score {score!r} is not 1, 0.5 or 0 (the first mover's)")
    try:
        move = None if opening == "" else int(opening)
    except ValueError:
        raise ConfigError(f"{path} line {line}: opening {opening!r} is not a move number") from None
    return GameResult(first, second, _SCORES[score], move, row["opening_rule"])


def _format_score(score: float) -> str:
    for text, value in _SCORES.items():
        if score == value:
            return text
    raise ConfigError(f"a game score must be 1, 0.5 or 0, got {score!r}")


def _drop_torn_line(path: Path) -> None:
    """Cut a last line left without its newline by an interrupted write, so the next row starts clean."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as file:
        file.seek(-1, os.SEEK_END)
        if file.read(1) == b"\n":
            return
        file.seek(0)
        file.truncate(file.read().rfind(b"\n") + 1)
