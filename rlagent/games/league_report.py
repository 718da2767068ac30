"""What a league writes and prints: the table, ``ratings.csv``, ``elo.png`` and TensorBoard scalars.

Kept apart from :mod:`rlagent.league` (which plans and plays the games and fits the ratings)
because these are views of one fitted result, each for a different reader: a terminal, a
spreadsheet, a paper figure, TensorBoard beside the training curves.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rlagent.games.elo import Ratings
from rlagent.games.match_table import GameResult

RATING_COLUMNS = ("name", "step", "elo", "low", "high", "games", "winning_move")
_STEP_NAME = re.compile(r"step_(\d+)")


@dataclass(frozen=True)
class TableRow:
    """One line of the printed table and of ``ratings.csv``; ``score`` is a fraction of the games."""

    name: str
    step: int | None
    elo: float
    low: float
    high: float
    games: int
    score: float
    winning_move: float = math.nan  # share of won random-play positions kept won (Hex up to 7x7)


def snapshot_step(name: str) -> int | None:
    """The training step in a snapshot's name (``step_1024`` -> 1024), None for a baseline."""
    match = _STEP_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def league_table(ratings: Ratings, results: Sequence[GameResult], winning_moves: dict[str, float] | None = None) -> list[TableRow]:
    """Checkpoints in training order, then the other players by rating (strongest first).
    ``winning_moves``: each player's solved-position score, where the league graded them."""
    winning_moves = winning_moves or {}
    score: defaultdict[str, float] = defaultdict(float)
    for r in results:
        score[r.first] += r.score
        score[r.second] += 1.0 - r.score
    rows = [
        TableRow(
            name,
            snapshot_step(name),
            elo,
            *ratings.intervals[name],
            ratings.games[name],
            score[name] / ratings.games[name] if ratings.games[name] else math.nan,
            winning_moves.get(name, math.nan),
        )
        for name, elo in ratings.ratings.items()
    ]
    snapshots = sorted((row for row in rows if row.step is not None), key=lambda row: (row.step, row.name))
    others = sorted((row for row in rows if row.step is None), key=lambda row: (-row.elo, row.name))
    return snapshots + others


def format_table(rows: Sequence[TableRow]) -> str:
    """The league table as aligned text: name, step, Elo, 95% interval, games, score %."""
    width = max([len("name")] + [len(row.name) for row in rows])
    graded = any(not math.isnan(row.winning_move) for row in rows)
    header = f"{'name':<{width}}  {'step':>10}  {'Elo':>6}  {'95% interval':>16}  {'games':>6}  {'score':>6}"
    lines = [header + (f"  {'win move':>8}" if graded else "")]
    for row in rows:
        step = "-" if row.step is None else str(row.step)
        interval = f"[{row.low:+.0f}, {row.high:+.0f}]"
        line = f"{row.name:<{width}}  {step:>10}  {row.elo:>+6.0f}  {interval:>16}  {row.games:>6}  {row.score:>6.1%}"
        if graded:
            line += f"  {'-' if math.isnan(row.winning_move) else format(row.winning_move, '.1%'):>8}"
        lines.append(line)
    return "\n".join(lines)


def write_ratings(path: Path, rows: Sequence[TableRow]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(RATING_COLUMNS)
        for row in rows:
            step = "" if row.step is None else row.step
            winning = "" if math.isnan(row.winning_move) else f"{row.winning_move:.4f}"
            writer.writerow([row.name, step, f"{row.elo:.4f}", f"{row.low:.4f}", f"{row.high:.4f}", row.games, winning])


def plot_ratings(path: Path, rows: Sequence[TableRow], anchor: str, title: str) -> None:
    """Elo against training step with its 95% band; baselines as labelled horizontal lines.

    Drawn on an Agg canvas of its own rather than through pyplot, so calling the API from a
    notebook or a GUI program does not change its matplotlib backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    snapshots = [row for row in rows if row.step is not None]
    if snapshots:
        steps = [row.step for row in snapshots if row.step is not None]  # all of them
        axes.fill_between(steps, [r.low for r in snapshots], [r.high for r in snapshots], alpha=0.25, label="95% interval")
        axes.plot(steps, [r.elo for r in snapshots], marker="o", label="checkpoints")
    for index, row in enumerate(row for row in rows if row.step is None):
        colour = f"C{index + 1}"
        axes.axhline(row.elo, color=colour, linestyle="--", linewidth=1)
        axes.annotate(
            row.name,
            (1.0, row.elo),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            color=colour,
        )
    axes.margins(x=0.04, y=0.12)  # room for the labels of the top and bottom lines
    axes.set_xlabel("training step")
    axes.set_ylabel(f"Elo ({anchor} = 0)")
    axes.set_title(f"league: {title}")
    axes.grid(alpha=0.3)
    if snapshots:
        axes.legend(loc="upper left")
    figure.savefig(path, dpi=120)


def write_tensorboard(league_dir: Path, rows: Sequence[TableRow]) -> None:
    """``elo/rating``, ``elo/low``, ``elo/high`` (and ``eval/winning_move_rate`` where graded) at each
    checkpoint's step, in a fresh event file.

    The old league event files are deleted first: appending would show every earlier fit of
    the same steps as extra points.
    """
    from torch.utils.tensorboard import SummaryWriter

    for old in league_dir.glob("events.out.tfevents.*"):
        old.unlink()
    writer = SummaryWriter(log_dir=str(league_dir))
    try:
        for row in rows:
            if row.step is None:
                continue
            if not math.isnan(row.winning_move):
                writer.add_scalar("eval/winning_move_rate", row.winning_move, row.step)
            writer.add_scalar("elo/rating", row.elo, row.step)
            writer.add_scalar("elo/low", row.low, row.step)
            writer.add_scalar("elo/high", row.high, row.step)
    finally:
        writer.close()
