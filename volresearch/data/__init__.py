"""The data layer: bars in, validated bars out.

* :mod:`~volresearch.data.loading` -- the bar schema and :func:`load_bars`
  (CSV, Parquet, DataFrame in vendor layouts);
* :mod:`~volresearch.data.validation` -- :func:`validate_bars` with its
  :class:`QualityReport` (:mod:`~volresearch.data.bars` re-exports both);
* :mod:`~volresearch.data.calendar` -- trading sessions, calendar inference,
  and the bar length -> year fraction conversion of annualised models;
* :mod:`~volresearch.data.datasets` -- offline datasets and :func:`open_bars`;
* :mod:`~volresearch.data.synthetic` -- synthetic 1-minute futures bars.
"""

from __future__ import annotations

from volresearch.data import datasets
from volresearch.data.calendar import (
    CALENDARS,
    TradingCalendar,
    bars_per_year,
    get_calendar,
    infer_bar_seconds,
    infer_calendar,
    year_fraction,
)
from volresearch.data.datasets import list_datasets, open_bars
from volresearch.data.loading import load_bars
from volresearch.data.session_returns import RETURN_KINDS, session_returns, session_slots
from volresearch.data.synthetic import synthetic_bars
from volresearch.data.validation import Issue, QualityReport, Repair, validate_bars

__all__ = [
    "datasets",
    "load_bars",
    "validate_bars",
    "QualityReport",
    "Issue",
    "Repair",
    "CALENDARS",
    "TradingCalendar",
    "get_calendar",
    "infer_calendar",
    "infer_bar_seconds",
    "bars_per_year",
    "year_fraction",
    "open_bars",
    "list_datasets",
    "synthetic_bars",
    "session_returns",
    "session_slots",
    "RETURN_KINDS",
]
