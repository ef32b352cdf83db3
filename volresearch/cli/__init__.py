"""The ``volresearch`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``func(args) -> int`` returning the exit code.  ``COMMANDS`` lists the modules
in the order they appear in ``--help``.

Exit codes: 0 success, 1 the data failed validation, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from volresearch.errors import VolresearchError

COMMANDS: tuple[str, ...] = ("demo", "data", "fit", "simulate", "validate", "report")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="volresearch",
        description="Volatility research and Monte Carlo price forecasting.",
    )
    from volresearch import __version__

    parser.add_argument("--version", action="version", version=f"volresearch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"volresearch.cli.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not there yet
            if exc.name == f"volresearch.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``volresearch`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except VolresearchError as exc:
        print(f"volresearch {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"volresearch {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
