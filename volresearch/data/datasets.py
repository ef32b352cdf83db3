"""Datasets that work offline on a fresh install, and one resolver for every input.

Two real daily series come with the ``arch`` package (S&P 500 and NASDAQ
Composite OHLCV, 1999-2018, stamped at midnight UTC of the trading date); four
synthetic 1-minute futures series are generated on demand by
:func:`volresearch.data.synthetic.synthetic_bars`.  Each dataset is a
:class:`DatasetInfo` in :data:`DATASETS`; :func:`list_datasets` tabulates
them (also available as ``datasets.list``), :func:`load` returns one as bars
whose ``attrs`` say whether it is synthetic and where it came from.

:func:`open_bars` is what every command line entry point calls: a dataset
name, a file path or a DataFrame in, bars out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from volresearch.data.loading import load_bars
from volresearch.data.synthetic import synthetic_bars
from volresearch.errors import DataError

__all__ = ["DatasetInfo", "DATASETS", "list_datasets", "load", "open_bars"]


@dataclass(frozen=True)
class DatasetInfo:
    """One embedded dataset.

    Attributes
    ----------
    name
        Registry key.
    description
        One line for humans.
    real
        True for recorded market data, False for synthetic.
    frequency
        Bar length as a pandas offset string (``"1D"``, ``"1min"``).
    calendar
        Trading calendar preset of the data.
    symbol
        Instrument symbol stored in ``attrs["symbol"]``.
    loader
        ``loader(**kwargs) -> bars``.
    """

    name: str
    description: str
    real: bool
    frequency: str
    calendar: str
    symbol: str
    loader: Callable[..., pd.DataFrame]


def _arch_daily(module: str, label: str, symbol: str) -> Callable[..., pd.DataFrame]:
    def load_daily() -> pd.DataFrame:
        import importlib

        raw = importlib.import_module(f"arch.data.{module}").load()
        raw.attrs["source"] = label
        return load_bars(raw, symbol=symbol)

    return load_daily


def _synthetic(symbol: str) -> Callable[..., pd.DataFrame]:
    def load_synthetic(**kwargs: Any) -> pd.DataFrame:
        return synthetic_bars(symbol, **kwargs)

    return load_synthetic


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "sp500",
            "S&P 500 index daily OHLCV 1999-2018 (shipped with arch)",
            True,
            "1D",
            "us_equity_daily",
            "^GSPC",
            _arch_daily("sp500", "arch.data.sp500", "^GSPC"),
        ),
        DatasetInfo(
            "nasdaq",
            "NASDAQ Composite daily OHLCV 1999-2018 (shipped with arch)",
            True,
            "1D",
            "us_equity_daily",
            "^IXIC",
            _arch_daily("nasdaq", "arch.data.nasdaq", "^IXIC"),
        ),
        *(
            DatasetInfo(
                f"{sym.lower()}_synthetic",
                f"synthetic {name} 1-minute bars, Globex hours (synthetic_bars('{sym}'); days=, start=, seed=)",
                False,
                "1min",
                "cme_globex",
                f"{sym}-SYN",
                _synthetic(sym),
            )
            for sym, name in (("ES", "E-mini S&P 500"), ("NQ", "E-mini Nasdaq-100"), ("GC", "gold"), ("SI", "silver"))
        ),
    )
}


def list_datasets() -> pd.DataFrame:
    """Table of the embedded datasets.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, description, real, frequency, calendar, symbol``, one
        row per dataset.
    """
    rows = [
        {
            "name": d.name,
            "description": d.description,
            "real": d.real,
            "frequency": d.frequency,
            "calendar": d.calendar,
            "symbol": d.symbol,
        }
        for d in DATASETS.values()
    ]
    return pd.DataFrame(rows, columns=["name", "description", "real", "frequency", "calendar", "symbol"])


def load(name: str, **kwargs: Any) -> pd.DataFrame:
    """Load an embedded dataset as bars.

    Parameters
    ----------
    name
        A key of :data:`DATASETS`.
    **kwargs
        Passed to the loader (synthetic sets take ``days``, ``start``, ``seed``).

    Returns
    -------
    pandas.DataFrame
        Bars with ``attrs["synthetic"]``, ``attrs["source"]``, ``attrs["symbol"]``.

    Raises
    ------
    DataError
        Unknown name (``rule="unknown_dataset"``; the message lists the names),
        or keyword arguments the dataset does not take.
    """
    try:
        info = DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}", rule="unknown_dataset") from None
    try:
        bars = info.loader(**kwargs)
    except TypeError as exc:
        raise DataError(f"dataset {name!r} does not take these options: {exc}", rule="option") from None
    bars.attrs["synthetic"] = not info.real
    return bars


def open_bars(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    tz: str | None = None,
    time_column: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Bars from a dataset name, a file path or a DataFrame.

    A string is first looked up among :data:`DATASETS`; otherwise it must be
    an existing file, read with :func:`~volresearch.data.loading.load_bars`.

    Parameters
    ----------
    source
        Dataset name, path, or DataFrame.
    tz
        Zone of naive time stamps in files and frames (ignored for datasets).
    time_column, date_format
        Override time-column detection and the time format of files and
        frames (see :func:`~volresearch.data.loading.load_bars`; ignored for
        datasets).

    Raises
    ------
    DataError
        A string that is neither a dataset nor an existing file
        (``rule="unknown_source"``; the message lists the dataset names), or
        anything :func:`~volresearch.data.loading.load_bars` raises.
    """
    if isinstance(source, pd.DataFrame):
        return load_bars(source, tz=tz, time_column=time_column, date_format=date_format)
    if isinstance(source, str) and source in DATASETS:
        return load(source)
    path = Path(source)
    if not path.is_file():
        raise DataError(
            f"{str(source)!r} is neither an embedded dataset nor an existing file; datasets: {', '.join(DATASETS)}",
            file=str(source),
            rule="unknown_source",
        )
    return load_bars(path, tz=tz, time_column=time_column, date_format=date_format)


# ``datasets.list()`` reads naturally in notebooks.  Defined last so the
# builtin ``list`` is not shadowed anywhere above.
list = list_datasets  # noqa: A001
