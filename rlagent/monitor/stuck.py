"""A stuck-run detector: rules over the last updates' metrics that name a failing run's symptom.

Most failed runs look alike from the outside (a flat return curve) but have different causes
and different cures: a step size too small to move the policy, an entropy that collapsed before
any reward, KL early stopping that cuts every update, a critic that predicts nothing, gradients
that explode or vanish, magnitudes on their way to NaN. Each rule in
:mod:`rlagent.monitor.stuck_rules` recognises one of them from the tags the learners already log
and says, in one line, what it saw and which setting to change.

During training, call :meth:`StuckDetector.observe` once per update with the row written to
``metrics.jsonl``; afterwards, :meth:`StuckDetector.scan` replays a finished run's rows::

    detector = StuckDetector()
    for warning in detector.scan(read_metrics(run_dir)):
        print(f"step {warning.step}: [{warning.rule}] {warning.message}")
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from rlagent.monitor.stuck_rules import (
    RETURN_TAGS,
    RULES,
    START_TAGS,
    TAGS,
    StuckSettings,
    Warning,
    WindowView,
)

__all__ = ["DEFAULT_WINDOW", "RULES", "StuckDetector", "StuckSettings", "Warning"]

# 20 updates: long enough that a trend is not one update's noise, short enough to speak while
# a run of a few hundred updates can still be stopped (the CartPole preset does 196 in 50k steps).
DEFAULT_WINDOW = 20


def _usable(value: Any) -> bool:
    """A value a rule can reason about: a real number, not a bool, and finite. A NaN means the
    run already died (the learner raises on a non-finite loss); rules look for what comes before."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _clean(step: int, metrics: Mapping[str, Any]) -> dict[str, float]:
    """The part of a metrics row the rules read, as plain floats.

    PPO logs gradient norms of 0.0 for an update whose KL early stop came before its first
    optimiser step: that zero means "no step", not "no gradient", so it is dropped here rather
    than read as a vanishing gradient.
    """
    row = {tag: float(value) for tag, value in metrics.items() if tag in TAGS and _usable(value)}
    if row.get("train/optimizer_steps") == 0:
        row.pop("grad/norm_total", None)
    row["step"] = int(step)
    return row


class StuckDetector:
    """Runs the rules over a sliding window of update rows, each rule at most once per window.

    ``window``: how many of the latest updates the rules see. The cooldown is the same length: a
    rule that fired stays quiet for the next ``window - 1`` updates, so a persisting problem is
    repeated every window, not on every update. ``section``: the config section of the learner
    (``ppo``, ``a2c``, ``reinforce``, ``rainbow``), whose keys the suggestions name.

    Besides the window, the detector remembers a few things about the whole run that the rules
    compare with: the first ``settings.start_updates`` values of some tags (where entropy, the
    gradient norm, the learning rate and the return started) and the best return so far.
    """

    def __init__(self, window: int = DEFAULT_WINDOW, settings: StuckSettings | None = None, section: str = "ppo") -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 updates, got {window}")
        self.window = window
        self.settings = settings if settings is not None else StuckSettings()
        self.section = section
        self._rows: deque[dict[str, float]] = deque(maxlen=window)
        self._updates = 0
        self._first: dict[str, list[float]] = {}
        self._peak: dict[str, float] = {}
        self._last_fired: dict[str, int] = {}

    def observe(self, step: int, metrics: Mapping[str, Any]) -> list[Warning]:
        """Add one update's metrics (a ``metrics.jsonl`` row: extra keys are ignored) and return
        the warnings of the rules that fire now and are not cooling down."""
        row = _clean(step, metrics)
        self._updates += 1
        self._rows.append(row)
        self._remember(row)
        view = WindowView(
            rows=tuple(self._rows),
            capacity=self.window,
            updates=self._updates,
            start=self._start(),
            peak=dict(self._peak),
            section=self.section,
        )
        warnings: list[Warning] = []
        for name, rule in RULES.items():
            fired = self._last_fired.get(name)
            if fired is not None and self._updates - fired < self.window:
                continue
            warning = rule(view, self.settings)
            if warning is not None:
                self._last_fired[name] = self._updates
                warnings.append(warning)
        return warnings

    def scan(self, rows: Iterable[Mapping[str, Any]]) -> list[Warning]:
        """Replay a whole run's rows (``read_metrics``) through a fresh detector with these
        settings, for a report after the fact; this detector's own state is left alone."""
        replay = StuckDetector(self.window, self.settings, self.section)
        warnings: list[Warning] = []
        for row in rows:
            warnings.extend(replay.observe(int(row["step"]), row))
        return warnings

    def _remember(self, row: Mapping[str, float]) -> None:
        for tag in START_TAGS:
            first = self._first.setdefault(tag, []) if tag in row else None
            if first is not None and len(first) < self.settings.start_updates:
                first.append(row[tag])
        for tag in RETURN_TAGS:
            if tag in row:
                self._peak[tag] = max(self._peak.get(tag, row[tag]), row[tag])

    def _start(self) -> dict[str, float]:
        """Starting levels, only of the tags with all their first values in: until then the
        rules that compare with the start wait."""
        n = self.settings.start_updates
        return {tag: sum(values) / n for tag, values in self._first.items() if len(values) == n}

    def state_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) for a checkpoint, so a resumed run keeps its window, its starting
        levels and its cooldowns and warns as the uninterrupted run would."""
        return {
            "window": self.window,
            "updates": self._updates,
            "rows": [dict(row) for row in self._rows],
            "first": {tag: list(values) for tag, values in self._first.items()},
            "peak": dict(self._peak),
            "last_fired": dict(self._last_fired),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s data; with a smaller window, the latest rows are kept."""
        self._rows = deque((dict(row) for row in state["rows"]), maxlen=self.window)
        self._updates = int(state["updates"])
        self._first = {tag: [float(v) for v in values] for tag, values in state["first"].items()}
        self._peak = {tag: float(v) for tag, v in state["peak"].items()}
        self._last_fired = {rule: int(update) for rule, update in state["last_fired"].items()}
