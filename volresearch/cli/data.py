"""``volresearch data``: list the embedded datasets, validate bars.

``volresearch data list [--json]``
    One line (or JSON object) per embedded dataset: name, real or synthetic,
    frequency, calendar, symbol.
``volresearch data validate PATH [--tz TZ] [--label start|end] [--calendar NAME] [--policy strict|repair] [--json]``
    Load PATH (a CSV/Parquet file or an embedded dataset name) and validate
    it.  Without ``--calendar`` the calendar is inferred and the report says
    which and why.  ``--label end`` reads bars stamped at their end (moved
    back one bar length to the package's start-of-bar convention; the report
    notes it).  ``--json`` prints the full report as one JSON object whether
    or not the data pass.

Exit codes: 0 the data pass, 1 validation failed (the first error, with its
rows, goes to stderr), 2 the input is unusable (unreadable file, unknown
dataset, bad option).
"""

from __future__ import annotations

import argparse
import json
import sys

from volresearch.cli._common import add_label_argument, add_source_arguments, load_labelled
from volresearch.data.bars import validate_bars
from volresearch.data.calendar import CALENDARS
from volresearch.data.datasets import list_datasets

__all__ = ["register", "run_list", "run_validate"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``data`` command and its ``list`` and ``validate`` actions."""
    parser = sub.add_parser(
        "data",
        help="list embedded datasets, validate bar files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    p_list = actions.add_parser("list", help="list the embedded datasets")
    p_list.add_argument("--json", action="store_true", help="print a JSON array")
    p_list.set_defaults(func=run_list)

    p_val = actions.add_parser("validate", help="validate a bar file or embedded dataset")
    p_val.add_argument("path", help="CSV/Parquet file or embedded dataset name")
    add_source_arguments(p_val)
    add_label_argument(p_val)
    p_val.add_argument(
        "--calendar", choices=sorted(CALENDARS), default=None, help="trading calendar (inferred when omitted)"
    )
    p_val.add_argument(
        "--policy",
        choices=["strict", "repair"],
        default="strict",
        help="strict: fail on errors; repair: sort and drop exact duplicates, flag the rest",
    )
    p_val.add_argument(
        "--gap-threshold", type=float, default=0.05, help="|log| price jump flagged as price_gap (default 0.05)"
    )
    p_val.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p_val.set_defaults(func=run_validate)

    def usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(func=usage)


def run_list(args: argparse.Namespace) -> int:
    """Print the embedded datasets; returns 0."""
    table = list_datasets()
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2))
        return 0
    for row in table.itertuples(index=False):
        kind = "real" if row.real else "synthetic"
        print(f"{row.name:<14} {kind:<9} {row.frequency:<5} {row.calendar:<16} {row.symbol:<7} {row.description}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Validate PATH; 0 when it passes, 1 when it fails (errors of input propagate as exit 2)."""
    bars = load_labelled(args)
    report = validate_bars(
        bars,
        args.policy,
        calendar=args.calendar,
        file=str(args.path),
        gap_threshold=args.gap_threshold,
        raise_errors=False,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        print(report.summary())
    if not report.passed:
        print(f"volresearch data validate: {report.error()}", file=sys.stderr)
        return 1
    return 0
