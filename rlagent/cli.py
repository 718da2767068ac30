"""What every ``python -m rlagent.<command>`` shares: one-line errors and a clean exit.

argparse prints its whole usage block before an error; a user who mistyped one flag wants the
one line that says what is wrong, and where to read more. The same goes for every error the
library raises on purpose (:class:`~rlagent.errors.RlagentError`): :func:`one_line_errors` turns it
into ``error: ...`` on stderr and exit status 2, once for all commands. Output piped into ``head``
closes the pipe early, which is the reader's choice, not an error worth a traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import Any

from rlagent.errors import RlagentError


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line naming this command's ``--help``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def one_line_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a command's ``main(argv)``: a library error becomes one line on stderr and status 2."""

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None, *args: Any, **kwargs: Any) -> int:
        try:
            return main(argv, *args, **kwargs)
        except RlagentError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    return wrapper


def run_command(main: Callable[[], int]) -> None:
    """``sys.exit(main())``, quietly when the reader of stdout went away (``| head``)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the broken pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
