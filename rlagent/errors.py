"""The few exception types a user of rlagent sees.

The CLI catches :class:`RlagentError` and prints ``error: <message>`` as a single
line before exiting with status 2, so a message has to stand on its own: it names
what is wrong and what would be valid. Anything that is not an ``RlagentError``
is a bug in rlagent (or in user code) and keeps its full traceback.
"""

from __future__ import annotations

__all__ = ["RlagentError", "ConfigError", "CheckpointError", "TrainingError"]


def _one_line(message: str) -> str:
    """Join a multi-line message so the CLI's one-line contract cannot be broken by accident."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


class RlagentError(Exception):
    """Base of every error meant for the user rather than for a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class ConfigError(RlagentError):
    """The requested run cannot be set up: a bad value, or an unknown key, algorithm or env."""


class CheckpointError(RlagentError):
    """A checkpoint cannot be used: missing, empty, truncated, corrupt, or made for another setup."""


class TrainingError(RlagentError):
    """Training cannot go on meaningfully, e.g. the loss became NaN or infinite."""
