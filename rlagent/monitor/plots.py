"""PNG views of the training diagnostics: reliability, value by stage, value against return, series.

Each writer draws on an Agg canvas of its own rather than through pyplot (as
:func:`rlagent.games.league_report.plot_ratings` does), so a notebook's or a GUI's matplotlib
backend is left alone and no global figure state leaks between calls. The image is rendered in
memory first and then replaces ``path`` in one rename: a dashboard or a person refreshing the file
during training never reads half a PNG, and a drawing error leaves the old file in place.
"""

from __future__ import annotations

import io
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlagent.monitor.stages import Calibration, stage_values

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_SCATTER_POINTS = 3000


def _figure(width: float, height: float) -> Figure:
    """A constrained-layout figure on its own Agg canvas (matplotlib imported only when drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Render to memory, then write a temporary file beside ``path`` and rename it over ``path``.

    The temporary file is created with mode 0o666 (less the umask), as an ordinary file would be;
    ``tempfile.mkstemp``'s 0o600 would survive the rename and hide the plot from other users.
    """
    path = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def reliability_png(cal: Calibration, path: str | os.PathLike[str], title: str = "value calibration") -> Path:
    """Reliability diagram: observed win frequency against mean predicted win probability per
    bin, the diagonal of perfect calibration, and below it how many samples each bin holds (a
    far-off point from a bin of three samples means little)."""
    figure = _figure(5.5, 6.0)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    centres = (cal.edges[:-1] + cal.edges[1:]) / 2
    width = np.diff(cal.edges)
    filled = cal.counts > 0
    top.bar(centres[filled], cal.frequency[filled], width=width[filled] * 0.9, alpha=0.35, label="observed frequency")
    top.plot(cal.predicted[filled], cal.frequency[filled], marker="o", label="per bin (at mean prediction)")
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed win frequency")
    top.set_title(f"{title}  (ECE {cal.ece:.3f})" if math.isfinite(cal.ece) else title)
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.bar(centres, cal.counts, width=width * 0.9, color="C2")
    bottom.set_xlabel("predicted win probability (v + 1) / 2")
    bottom.set_ylabel("samples")
    return _save(figure, path)


def value_by_stage_png(table: Mapping[str, float], path: str | os.PathLike[str], title: str = "value by stage") -> Path:
    """Mean squared error and sign accuracy per stage, from a
    :func:`rlagent.monitor.stages.value_by_stage` dict or a ``metrics.jsonl`` row holding one."""
    labels, mse = stage_values(table, "mse")
    _, accuracy = stage_values(table, "sign_accuracy")
    _, count = stage_values(table, "count")
    figure = _figure(max(5.0, 0.6 * len(labels) + 2.5), 5.5)
    top, bottom = figure.subplots(2, 1, sharex=True)
    positions = np.arange(len(labels))
    top.bar(positions, mse, color="C0")
    top.set_ylabel("mse vs outcome")
    top.set_title(title)
    top.grid(alpha=0.3, axis="y")
    bottom.bar(positions, accuracy, color="C1")
    bottom.axhline(0.5, linestyle="--", color="grey", linewidth=1)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("sign accuracy")
    bottom.set_xticks(positions, [f"{label}\nn={c:.0f}" if math.isfinite(c) else label for label, c in zip(labels, count)])
    bottom.set_xlabel("stage")
    bottom.grid(alpha=0.3, axis="y")
    return _save(figure, path)


def value_scatter_png(
    values: np.ndarray,
    returns: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "value vs realised return",
    max_points: int = MAX_SCATTER_POINTS,
    seed: int = 0,
) -> Path:
    """Value against realised return (non-finite returns left out), with the line y = x.

    At most ``max_points`` points, drawn at random with a fixed ``seed``: a rollout has far more
    samples than a scatter can show, and the same data always gives the same picture.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    returns = np.asarray(returns, dtype=np.float64).ravel()
    known = np.isfinite(returns) & np.isfinite(values)
    values, returns = values[known], returns[known]
    if values.size > max_points:
        chosen = np.random.default_rng(seed).choice(values.size, size=max_points, replace=False)
        values, returns = values[chosen], returns[chosen]
    figure = _figure(5.5, 5.0)
    axes = figure.add_subplot()
    axes.scatter(returns, values, s=6, alpha=0.3, linewidths=0)
    if values.size:
        low = float(min(values.min(), returns.min()))
        high = float(max(values.max(), returns.max()))
        axes.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=1, label="y = x")
        axes.legend(loc="upper left")
    axes.set_xlabel("realised return G")
    axes.set_ylabel("value v")
    axes.set_title(f"{title}  (n={values.size})")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def series_png(
    rows: Sequence[Mapping[str, Any]],
    tags_by_panel: Mapping[str, Sequence[str]],
    path: str | os.PathLike[str],
    title: str = "",
) -> Path:
    """Metrics over training steps: one panel per group of tags, one line per tag that any row has.

    ``rows`` are ``metrics.jsonl`` records (:func:`rlagent.monitor.logger.read_metrics`); a row
    without a tag is skipped for that tag only, since a run logs some tags less often than others.
    Groups such as activations over time, the balance of the loss terms or gradient norms per layer.
    """
    panels = list(tags_by_panel.items())
    figure = _figure(7.5, 2.4 * max(1, len(panels)) + 0.6)
    axes_list = figure.subplots(max(1, len(panels)), 1, sharex=True, squeeze=False)[:, 0]
    for axes, (panel, tags) in zip(axes_list, panels):
        drawn = 0
        for tag in tags:
            points = [(row["step"], row[tag]) for row in rows if tag in row and isinstance(row[tag], (int, float))]
            if points:
                steps, values = zip(*points)
                axes.plot(steps, values, label=tag, linewidth=1.2)
                drawn += 1
        axes.set_title(panel, fontsize="medium")
        axes.grid(alpha=0.3)
        if drawn:
            axes.legend(loc="best", fontsize="small")
        else:
            axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", color="grey")
    axes_list[-1].set_xlabel("training step")
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def trials_png(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    best: str | None,
    metric: str,
    path: str | os.PathLike[str],
    title: str = "",
) -> Path:
    """One metric over training steps for every trial of a search, ``curves`` mapping a trial's
    name to its ``(steps, values)``. The best trial is drawn in colour and named; the others are
    thin grey lines, so the figure answers "how far ahead was the winner, and from when" at a glance
    rather than being a legend of sixteen similar colours. Trials stopped early end early."""
    figure = _figure(7.5, 4.5)
    axes = figure.subplots()
    for name, (steps, values) in curves.items():
        if name != best and len(steps):
            axes.plot(steps, values, color="0.6", linewidth=0.9, alpha=0.8)
    if best is not None and best in curves:
        steps, values = curves[best]
        axes.plot(steps, values, color="tab:red", linewidth=2.2, label=f"best: {best}")
        axes.legend(loc="best", fontsize="small")
    if not any(len(steps) for steps, _ in curves.values()):
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", color="grey")
    axes.set_xlabel("training step")
    axes.set_ylabel(metric)
    axes.grid(alpha=0.3)
    axes.set_title(title or f"{metric} of {len(curves)} trials", fontsize="medium")
    return _save(figure, path)
