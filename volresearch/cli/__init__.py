"""The ``volresearch`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``func(args) -> int`` returning the exit code.  ``COMMANDS`` maps the command
names to their modules in the order they appear in ``--help``.

Exit codes: 0 success, 1 the data failed validation, 2 bad input or usage
(every package error, a missing file and any ``ValueError`` that reaches the
command line are printed as one line naming the command, without a traceback),
3 the requested model was rejected by its checks and no ``--fallback cascade``
was given (``fit`` and ``simulate``).

Models are named as in :mod:`volresearch.registry` (``--model gjr-sged``,
``--model intraday-gjr-sged``...; ``--list-models``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import MappingProxyType, ModuleType

from volresearch.cli import compare, data, demo, fit, report, simulate, validate
from volresearch.errors import VolresearchError

COMMANDS: MappingProxyType[str, ModuleType] = MappingProxyType(
    {
        "demo": demo,
        "data": data,
        "fit": fit,
        "simulate": simulate,
        "validate": validate,
        "compare": compare,
        "report": report,
    }
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="volresearch",
        description="Volatility research and Monte Carlo price forecasting.",
    )
    from volresearch import __version__

    parser.add_argument("--version", action="version", version=f"volresearch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
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
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as exc:
        print(f"volresearch {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
