"""Options every command that reads bars shares: where the bars come from and how their time is read.

:func:`add_source_arguments` adds ``--tz``, ``--time-column`` and
``--date-format``; :func:`load_source` reads an embedded dataset or a file
with them.  :func:`add_mean_argument` and :func:`resolve_mean` give every
fitting command the same ``--mean auto|zero|constant`` (``auto``: zero mean
for intraday bars, constant otherwise; see
:func:`volresearch.models.returns.default_mean`).
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from volresearch.data import open_bars
from volresearch.data.loading import relabel_bars
from volresearch.models.returns import default_mean

__all__ = [
    "add_source_arguments",
    "load_source",
    "add_label_argument",
    "apply_label",
    "load_labelled",
    "add_mean_argument",
    "resolve_mean",
    "MEAN_CHOICES",
]

MEAN_CHOICES = ("auto", "zero", "constant")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--tz``, ``--time-column NAME``, ``--date-format FMT`` and ``--label start|end`` to ``parser``."""
    add_label_argument(parser)
    parser.add_argument("--tz", default=None, help="time zone of naive time stamps in the file (default UTC)")
    parser.add_argument(
        "--time-column", default=None, metavar="NAME", help="column holding the bar times (default: detected)"
    )
    parser.add_argument(
        "--date-format",
        default=None,
        metavar="FMT",
        help="strftime format of the time column, e.g. '%%Y%%m%%d %%H%%M%%S' (default: detected)",
    )


def load_source(args: argparse.Namespace, source: Any = None) -> pd.DataFrame:
    """Bars of ``source`` (default ``args.path``): an embedded dataset name or a CSV/Parquet file.

    ``--tz``, ``--time-column`` and ``--date-format`` go to
    :func:`volresearch.data.open_bars` (``time_column``/``date_format`` only when given).

    Raises
    ------
    DataError
        Unknown source, or a file the loader cannot read (message names file, row, column).
    """
    source = args.path if source is None else source
    options = {
        key: value
        for key, value in (
            ("time_column", getattr(args, "time_column", None)),
            ("date_format", getattr(args, "date_format", None)),
        )
        if value is not None
    }
    return apply_label(open_bars(source, tz=getattr(args, "tz", None), **options), args)


def add_label_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--label start|end`` (what the bar time stamps mark) unless the parser already has it."""
    if "--label" in parser._option_string_actions:
        return
    parser.add_argument(
        "--label",
        choices=["start", "end"],
        default="start",
        help="time stamps mark the bar's start (default) or its end (moved back one bar length; noted in the report)",
    )


def apply_label(bars: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """Bars moved to start-of-bar stamps when ``--label end`` was given (once: a loader that did it is respected)."""
    label = getattr(args, "label", "start") or "start"
    if label == "start" or bars.attrs.get("bar_label") == label:
        return bars
    return relabel_bars(bars, label)


def load_labelled(args: argparse.Namespace, source: Any = None) -> pd.DataFrame:
    """Bars of ``source`` with ``--label`` applied (the same as :func:`load_source`)."""
    return load_source(args, source)


def add_mean_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--mean auto|zero|constant`` (default ``auto``) to ``parser``."""
    parser.add_argument(
        "--mean",
        choices=MEAN_CHOICES,
        default="auto",
        help="mean of the returns: auto (zero for intraday bars, constant for daily), zero or constant",
    )


def resolve_mean(args: argparse.Namespace, bars: pd.DataFrame | pd.Index | None) -> str:
    """The mean specification of ``args.mean`` for ``bars`` (``auto`` decided by the bar spacing)."""
    return default_mean(bars, getattr(args, "mean", "auto"))
