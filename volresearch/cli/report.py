"""``volresearch report [PATH] [--dataset NAME]``: the PDF research report of one dataset.

Runs the packaged report notebook on the bars (a file PATH or an embedded
``--dataset``), converts it to HTML with the code hidden and prints it to PDF
with headless Chromium: data quality, stylized facts, the fitted model with
its diagnostics (``--model``: any registered model, e.g. ``gjr-sged``,
``intraday-gjr-t``, ``heston``, ``svcj``, ``merton``; default the one
``volresearch fit`` chooses for the bars), the Monte Carlo price forecast with zones, bias and
confidence, and the walk-forward calibration with its verdict per criterion.
``--instrument SYMBOL`` names the instrument (title page) and takes its tick
size (price precision), asset class (stylized facts) and session calendar
(time axes) from the instrument table; ``--mean`` (default ``auto``: zero for
intraday bars, constant for daily) and the walk-forward's one-bar horizon are
those of ``volresearch validate``; ``--label end`` reads bars stamped at their
end.  Progress lines go to stdout and a progress bar with elapsed and
remaining time to stderr; the last line says where the PDF is; ``--quiet``
prints only that line.  The executed notebook and the HTML page are kept next
to the PDF unless ``--no-keep`` is given.

Exit codes: 0 report written; 1 the data failed validation; 2 bad input,
a model that cannot be fitted, or a missing tool (Chromium, papermill).
"""

from __future__ import annotations

import argparse
import sys

from volresearch.cli._common import add_label_argument, add_mean_argument
from volresearch.data.bars import ERROR_RULES
from volresearch.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to ``sub``."""
    from volresearch.models.distributions import DISTRIBUTIONS

    p = sub.add_parser(
        "report",
        help="PDF research report (papermill + nbconvert + headless Chromium)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", nargs="?", help="bars file (CSV/Parquet) or embedded dataset name")
    p.add_argument("--dataset", default=None, metavar="NAME", help="embedded dataset (see `volresearch data list`)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="registry name (gjr-sged, intraday-gjr-t, heston, svcj, merton, ...; `volresearch fit "
                   "--list-models`) or a GARCH family with --dist; default: the default model of the bars' size")  # fmt: skip
    p.add_argument("--dist", choices=sorted(DISTRIBUTIONS), default=None,
                   help="innovation law with a GARCH family --model (default sged)")  # fmt: skip
    p.add_argument(
        "--horizon",
        type=int,
        default=None,
        metavar="H",
        help="forecast horizon in bars (default: one day of intraday bars, 20 daily bars)",
    )
    p.add_argument("--paths", type=int, default=20_000, metavar="N", help="simulated paths of the forecast")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    add_mean_argument(p)
    p.add_argument("--instrument", default=None, metavar="SYMBOL",
                   help="instrument symbol in the instrument table (tick size, asset class, calendar)")  # fmt: skip
    add_label_argument(p)
    p.add_argument(
        "--out", default="report.pdf", metavar="FILE", help="PDF to write, or a directory (default report.pdf)"
    )
    p.add_argument("--no-keep", action="store_true", help="do not keep the executed notebook and HTML page")
    p.add_argument("--quiet", action="store_true", help="print only where the PDF is (no progress lines or bar)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report; return the exit code."""
    from volresearch.reports import build_report

    if args.path and args.dataset:
        print("volresearch report: error: give PATH or --dataset, not both", file=sys.stderr)
        return 2
    source = args.dataset or args.path
    if not source:
        print("volresearch report: error: give a bars file PATH or --dataset NAME", file=sys.stderr)
        return 2
    try:
        pdf = build_report(
            source,
            out=args.out,
            model=args.model,
            dist=args.dist,
            horizon=args.horizon,
            n_paths=args.paths,
            seed=args.seed,
            progress=None if args.quiet else lambda line: print(line, flush=True),
            keep_notebook=not args.no_keep,
            mean=args.mean,
            instrument=args.instrument,
            label=getattr(args, "label", "start"),
            quiet=args.quiet,
        )
    except DataError as exc:
        if exc.rule in ERROR_RULES:
            print(f"volresearch report: the data failed validation: {exc}", file=sys.stderr)
            return 1
        raise
    print(f"PDF report: {pdf}")
    return 0
