"""A run's metrics, written to TensorBoard and to ``metrics.jsonl`` side by side.

TensorBoard is what people open during training, but its event files need
TensorBoard (or protobuf code) to read. ``metrics.jsonl`` carries the same
numbers as plain JSON lines so scripts, benchmarks and tests can read a run
with nothing but the standard library.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary

from rlagent.monitor.layout import custom_scalars_layout

__all__ = ["METRICS_FILE", "SB3_TAGS", "RunLogger", "flatten_hparams", "read_metrics"]

METRICS_FILE = "metrics.jsonl"

# Stable-Baselines3's tag names, so curves line up with SB3 runs in one TensorBoard.
SB3_TAGS: tuple[str, ...] = (
    "rollout/ep_rew_mean",
    "rollout/ep_len_mean",
    "train/approx_kl",
    "train/clip_fraction",
    "train/value_loss",
    "train/policy_gradient_loss",
    "train/entropy_loss",
    "train/explained_variance",
    "train/learning_rate",
    "train/n_updates",
    "train/loss",
    "time/fps",
)

_RESERVED = ("step", "time")
_HPARAM_PREFIX = "hparam/"


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Read a ``metrics.jsonl`` (or the run directory holding it).

    Lines that do not parse are skipped: the only way to get one is a process
    killed in the middle of a write, and the rest of the run is still worth reading.
    Non-finite values come back as ``float('nan')``/``inf`` (written as ``NaN``/``Infinity``).
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("step"), int):
                records.append(record)
    return records


def flatten_hparams(hparams: Mapping[str, Any], prefix: str = "") -> dict[str, float | int | str]:
    """Flatten nested config sections to ``section.key`` names with values TensorBoard accepts.

    The HParams plugin only takes numbers and strings; lists, None and other
    objects become strings so that every setting of a run is still visible.
    Booleans become ``"True"``/``"False"``: torch would otherwise store them as 1.0/0.0.
    """
    flat: dict[str, float | int | str] = {}
    for key, value in hparams.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_hparams(value, prefix=f"{name}."))
            continue
        if isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        elif isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if isinstance(value, bool):
            flat[name] = str(value)
        elif isinstance(value, (int, float, str)):
            flat[name] = value
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value, default=str)
        else:
            flat[name] = str(value)
    return flat


def _scalar(tag: str, value: Any) -> float | int:
    """Accept the scalar types training code produces without making callers convert them."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"metric {tag!r} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.detach().cpu().item()
    elif isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(f"metric {tag!r} must be a scalar, got an array of shape {value.shape}")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    raise TypeError(f"metric {tag!r} must be a number, got {type(value).__name__}")


class RunLogger:
    """Write a run's scalars to TensorBoard and ``metrics.jsonl`` in ``run_dir``.

    On resume pass ``resume_step``, the step of the checkpoint being resumed. A
    checkpoint is saved after its step was logged, so that step's row is kept; the
    rows a stopped or crashed process wrote *after* it are dropped, because the
    resumed run writes those steps again: ``metrics.jsonl`` loses its lines past
    ``resume_step`` before appending, and TensorBoard hides the points past it
    (``purge_step=resume_step + 1``). Both views then agree with an uninterrupted
    run, each step once. ``time`` continues from the last kept line, so it counts
    training time, not downtime.
    """

    def __init__(
        self,
        run_dir: Path,
        hparams: Mapping[str, Any] | None = None,
        resume_step: int | None = None,
        flush_secs: int = 10,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = self.run_dir / METRICS_FILE
        self._hparams = dict(hparams) if hparams is not None else None
        self._last_step = resume_step if resume_step is not None else 0
        time_offset = self._drop_stale_lines(resume_step) if resume_step is not None else 0.0
        self._start = time.monotonic() - time_offset
        purge_step = resume_step + 1 if resume_step is not None else None
        self._writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=purge_step, flush_secs=flush_secs)
        # Line buffering: a crash loses at most the line being written.
        self._jsonl = self.metrics_path.open("a", encoding="utf-8", buffering=1)
        self._closed = False
        if resume_step is None:  # once per run: TensorBoard keeps the first layout it reads
            self._writer.add_custom_scalars(custom_scalars_layout())
        if self._hparams:
            text = "```json\n" + json.dumps(self._hparams, indent=2, default=str) + "\n```"
            self._writer.add_text("hparams", text, global_step=self._last_step)

    def _drop_stale_lines(self, resume_step: int) -> float:
        """Keep only lines up to ``resume_step``; return the run time they reached."""
        if not self.metrics_path.exists():
            return 0.0
        kept = [r for r in read_metrics(self.metrics_path) if r["step"] <= resume_step]
        tmp = self.metrics_path.with_name(f".{METRICS_FILE}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                for record in kept:
                    f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.metrics_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        times = [r["time"] for r in kept if isinstance(r.get("time"), (int, float)) and math.isfinite(r["time"])]
        return float(max(times, default=0.0))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"RunLogger for {self.run_dir} is closed")

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Record ``metrics`` at ``step``; None values are skipped, NaN/inf are kept.

        Non-finite values are written rather than rejected: a diverging loss is
        exactly what one wants to see in the logs. Stopping on it is the
        learner's job (``TrainingError``).
        """
        self._check_open()
        step = int(step)
        values: dict[str, float | int] = {}
        for tag, value in metrics.items():
            if tag in _RESERVED:
                raise ValueError(f"metric name {tag!r} is reserved in {METRICS_FILE}; use e.g. 'time/{tag}'")
            if value is None:
                continue
            values[tag] = _scalar(tag, value)
        record = {"step": step, "time": round(time.monotonic() - self._start, 3), **values}
        self._jsonl.write(json.dumps(record) + "\n")
        for tag, value in values.items():
            self._writer.add_scalar(tag, value, global_step=step)
        self._last_step = step

    def text(self, tag: str, text: str, step: int) -> None:
        """A line in TensorBoard's Text tab (the run's warnings), beside the scalars of ``step``."""
        self._check_open()
        self._writer.add_text(tag, text, global_step=int(step))

    def log_hparams(
        self,
        hparams: Mapping[str, Any] | None,
        final_metrics: Mapping[str, Any],
        step: int | None = None,
    ) -> None:
        """Fill TensorBoard's HParams view for this run, in this run's own directory.

        ``SummaryWriter.add_hparams`` would write into a new timestamped
        sub-directory, which TensorBoard shows as a separate run with no curves.
        Writing the three hparams summaries with this run's own file writer puts
        the table row beside the scalars. Metric tags get an ``hparam/`` prefix
        (unless they have one) so the final values do not become extra points on
        the training curves. ``hparams=None`` uses the ones given to the constructor.
        Call it once per run, typically at the end of training.
        """
        self._check_open()
        source = hparams if hparams is not None else self._hparams
        if source is None:
            raise ValueError("log_hparams needs hparams: none were given here or to RunLogger()")
        flat = flatten_hparams(source)
        step = self._last_step if step is None else int(step)
        metrics: dict[str, float | int] = {}
        for tag, value in final_metrics.items():
            if value is None:
                continue
            name = tag if tag.startswith(_HPARAM_PREFIX) else _HPARAM_PREFIX + tag
            metrics[name] = _scalar(tag, value)
        experiment, session_start, session_end = hparams_summary(flat, metrics)
        file_writer = self._writer.file_writer
        assert file_writer is not None, "the writer is open (checked above)"
        for summary in (experiment, session_start, session_end):
            file_writer.add_summary(summary, step)
        for tag, value in metrics.items():
            self._writer.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        """Make everything logged so far visible to TensorBoard and readers of the JSONL file."""
        self._check_open()
        self._jsonl.flush()
        self._writer.flush()

    def close(self) -> None:
        """Flush and close both outputs; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._jsonl.close()
        self._writer.close()

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
