"""The checks every config section makes of its fields, each failing with one line that names the field.

Shared by the run settings (:mod:`rlagent.config`), each learner's own section (beside the learner,
in :mod:`rlagent.algos`) and self-play, so that a bad value reads the same wherever it is found.
``section`` is the prefix users type in ``--set`` (``run``, ``ppo``...). A learner's section class
serves several names (PPO's serves ``a2c`` too), so its checks name it :data:`ALGORITHM_SECTION`
and :func:`rlagent.config.resolve` puts the name the user typed in its place.
"""

from __future__ import annotations

import math
from typing import Any

from rlagent.errors import ConfigError

ALGORITHM_SECTION = "algorithm"


def positive(obj: Any, section: str, *names: str, optional: bool = False) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is None and optional:
            continue
        if value is None or not value > 0:
            suffix = " or null" if optional else ""
            kind = " integer" if isinstance(value, int) and not isinstance(value, bool) else " number"
            raise ConfigError(f"{section}.{name} must be a positive{kind}{suffix}, got {value}")


def non_negative(obj: Any, section: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not value >= 0:
            raise ConfigError(f"{section}.{name} must be zero or positive, got {value}")


def unit_interval(obj: Any, section: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{section}.{name} must be between 0 and 1, got {value}")


def choice(obj: Any, section: str, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(obj, name)
    if value not in choices:
        raise ConfigError(f"{section}.{name} must be one of {', '.join(choices)}, got {value!r}")


def finite(obj: Any, section: str, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{section}.{name} must be a finite number, got {value}")
