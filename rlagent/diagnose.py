"""``python -m rlagent.diagnose RUN_DIR [--no-plots]``: why a run is, or is not, learning.

Checks that the saved agent behaves like the network that trained (bit for bit on CPU), that the
value's range fits its loss and its readers, and that a board game's mover's-frame transform
round-trips; replays the stuck-run rules over the whole run; prints tables of learning, value
against outcomes and policy by game stage, activations and gradients; writes PNGs into the run
directory (activations, loss balance, gradients, value by stage, value scatter, calibration).
Exit status 1 when a consistency check fails.
"""

from __future__ import annotations

import argparse

from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.monitor.report import diagnose_run


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m rlagent.diagnose", description=__doc__.split("\n\n")[1])
    parser.add_argument("run_dir", help="a run directory written by python -m rlagent.train")
    parser.add_argument("--no-plots", action="store_true", help="print the report only, write no PNGs")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = diagnose_run(args.run_dir, plots=not args.no_plots)
    print(report.text)
    return 1 if report.failed else 0


if __name__ == "__main__":
    run_command(main)
