"""The board settings Hex is played with here (size, swap rule), checked once for the core, the
renderer and the adapters."""

from __future__ import annotations

import numpy as np

MIN_SIZE, MAX_SIZE = 2, 19


def check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"Hex size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    return int(size)


def check_swap(swap: object) -> bool:
    """The swap (pie) rule on or off: True or False only (a string such as 'maybe' would read as on)."""
    if not isinstance(swap, (bool, np.bool_)):
        raise ValueError(f"Hex swap must be True or False, got {swap!r}")
    return bool(swap)
