"""A one-line progress bar for training, evaluation and league runs.

tqdm is not a declared dependency of rlagent, so this is a small bar of our
own rather than a new requirement. It stays silent where a bar would only
produce noise: when the output is not a terminal (files, pipes, pytest), when
``CI`` is set, or when the caller turns it off.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Progress"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _format_value(value: Any) -> str:
    """Short, stable-width numbers: the bar is redrawn in place and must not jitter or wrap."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _format_rate(rate: float) -> str:
    """Thousands separated when large, with decimals when small (a league plays a few games a second)."""
    if rate >= 100:
        return f"{rate:,.0f}"
    return f"{rate:.1f}" if rate >= 1 else f"{rate:.2f}"


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Show ``done/total``, steps per second, caller fields and time left on one redrawn line.

    ``enabled=None`` decides automatically: on only when the output stream (stderr
    by default) is a terminal and ``CI`` is unset. Redraws are limited to one per
    ``min_interval`` seconds so that calling :meth:`update` every step costs next
    to nothing. ``initial`` is the step a resumed run starts from, so the rate
    counts only the work done by this process. ``unit`` names what is counted
    (``steps``, ``games``, ``cells``) in the rate.
    """

    def __init__(
        self,
        total: int,
        desc: str = "",
        enabled: bool | None = None,
        *,
        initial: int = 0,
        min_interval: float = 0.1,
        file: TextIO | None = None,
        unit: str = "steps",
    ) -> None:
        self.total = int(total)
        self.desc = desc
        self.unit = unit
        self._file = file
        stream = self._stream()
        self.enabled = (_is_terminal(stream) and not _in_ci()) if enabled is None else bool(enabled)
        self._initial = int(initial)
        self._done = int(initial)
        self._fields: dict[str, Any] = {}
        self._min_interval = min_interval
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._drawn_width = 0
        self._pending = False
        self._closed = False

    def _stream(self) -> TextIO:
        # Looked up on each use so a replaced sys.stderr (pytest capture, redirect) is honoured.
        return self._file if self._file is not None else sys.stderr

    def update(self, done: int, **fields: Any) -> None:
        """Set the absolute number of steps done and the fields to show (e.g. ``win="87%"``)."""
        if not self.enabled or self._closed:
            return
        self._done = int(done)
        self._fields = fields
        now = time.monotonic()
        if now - self._last_draw < self._min_interval and self._done < self.total:
            self._pending = True
            return
        self._draw(now)

    def write(self, message: str) -> None:
        """Print a line without tearing the bar; when the bar is off it is a plain print."""
        stream = self._stream()
        if self.enabled and self._drawn_width:
            stream.write("\r" + " " * self._drawn_width + "\r")
            self._drawn_width = 0
        stream.write(message + "\n")
        stream.flush()
        if self.enabled and not self._closed and self._last_draw > float("-inf"):
            self._draw(time.monotonic())

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        parts = []
        head = f"{self._done:,}/{self.total:,}"
        if self.total > 0:
            head += f" ({min(self._done / self.total, 1.0):.0%})"
        parts.append(f"{self.desc}: {head}" if self.desc else head)
        rate = (self._done - self._initial) / elapsed if elapsed > 0 else 0.0
        parts.append(f"{_format_rate(rate)} {self.unit}/s")
        if self._fields:
            parts.append(" ".join(f"{key}={_format_value(value)}" for key, value in self._fields.items()))
        timing = _format_duration(elapsed)
        if rate > 0 and self._done < self.total:
            timing += f" < {_format_duration((self.total - self._done) / rate)}"
        parts.append(timing)
        return " | ".join(parts)

    def _draw(self, now: float) -> None:
        line = self._line(now)
        # A line longer than the terminal wraps, and "\r" then only returns to the last row.
        width = shutil.get_terminal_size(fallback=(120, 24)).columns - 1
        line = line[:width]
        padding = " " * max(self._drawn_width - len(line), 0)
        stream = self._stream()
        stream.write("\r" + line + padding)
        stream.flush()
        self._drawn_width = len(line)
        self._last_draw = now
        self._pending = False

    def close(self) -> None:
        """Draw the final state and end the line; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self._pending or self._last_draw == float("-inf"):
            self._draw(time.monotonic())
        stream = self._stream()
        stream.write("\n")
        stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
