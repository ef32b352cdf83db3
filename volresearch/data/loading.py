"""Loading bars: files and DataFrames in vendor layouts, read as they are.

*Bars* are a :class:`pandas.DataFrame` indexed by a tz-aware UTC
:class:`pandas.DatetimeIndex` named ``timestamp`` (bar start, nanoseconds)
with float64 columns ``open high low close volume`` and optional extras
(``adj_close``, ``trade_count``, ``vwap``).  Prices are in quote currency,
volume in units traded per bar.  ``df.attrs`` carries provenance: ``source``
(file path or label), ``symbol`` and ``synthetic`` (bool), and how the file
was read (``layout``, ``load_notes``).

:func:`load_bars` reads CSV, Parquet or a DataFrame in common vendor layouts
and only *reads*: it never sorts, drops or fixes rows, and it raises
:class:`~volresearch.errors.DataError` naming the file, row, CSV line and
column of any value it cannot parse.  Judging the data is the job of
:func:`~volresearch.data.validation.validate_bars`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from volresearch.errors import DataError

__all__ = [
    "INDEX_NAME",
    "PRICE_COLUMNS",
    "BAR_COLUMNS",
    "EXTRA_COLUMNS",
    "COLUMN_ALIASES",
    "BarSource",
    "load_bars",
]

INDEX_NAME = "timestamp"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
EXTRA_COLUMNS: tuple[str, ...] = ("adj_close", "trade_count", "vwap")

BarSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame


# =============================================================================
# Column names
# =============================================================================
#: Canonical name -> accepted spellings (compared lower-case with spaces,
#: dashes and dots turned into underscores and MetaTrader ``<...>`` removed).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date_time", "open_time", "time_utc", "gmt_time", "ts", "t"),
    "date": ("date", "day", "trade_date"),
    "time": ("time",),
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price", "last"),
    "adj_close": ("adj_close", "adjusted_close", "adjclose"),
    "volume": ("volume", "vol", "v", "tick_volume", "tickvol"),
    "trade_count": ("trade_count", "trades", "count", "number_of_trades", "num_trades", "n"),
    "vwap": ("vwap", "vw"),
}
_ALIAS: dict[str, str] = {a: canon for canon, aliases in COLUMN_ALIASES.items() for a in aliases}


def _normalise_name(name: object) -> str:
    text = str(name).strip().lower().replace("<", "").replace(">", "")
    return re.sub(r"[\s\-\.\(\)/]+", "_", text).strip("_")


def _map_columns(columns: Sequence[object], source: str) -> dict[str, object]:
    """``{canonical name: source column}``; an exact spelling beats an alias."""
    claims: dict[str, list[object]] = {}
    for column in columns:
        canon = _ALIAS.get(_normalise_name(column))
        if canon is not None:
            claims.setdefault(canon, []).append(column)
    chosen: dict[str, object] = {}
    for canon, found in claims.items():
        if len(found) > 1:
            exact = [c for c in found if _normalise_name(c) == canon]
            if len(exact) != 1:
                raise DataError(
                    f"columns {', '.join(repr(str(c)) for c in found)} all look like {canon!r}; rename all but one",
                    file=source,
                    column=str(found[0]),
                    rule="ambiguous_column",
                )
            found = exact
        chosen[canon] = found[0]
    return chosen


# =============================================================================
# Reading files
# =============================================================================
_OPENERS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _file_kind(path: Path) -> Literal["csv", "parquet"]:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in {*_OPENERS, ".zip"}:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in {".parquet", ".pq"}:
        return "parquet"
    if last in {".csv", ".txt", ".tsv"}:
        return "csv"
    raise DataError(
        f"cannot tell the format of {path.name!r}: use .csv/.txt/.tsv (optionally .gz/.bz2/.xz/.zip) or .parquet",
        file=str(path),
        rule="format",
    )


def _head_text(path: Path, size: int = 65536) -> str:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != 1:
                raise DataError(f"zip archive holds {len(names)} files, expected one", file=str(path), rule="format")
            with archive.open(names[0]) as raw:
                data = raw.read(size)
    else:
        opener = _OPENERS.get(suffix)
        with opener(path, "rb") if opener is not None else path.open("rb") as raw:
            data = raw.read(size)
    return data.decode("utf-8-sig", errors="replace")


def _sniff_delimiter(path: Path) -> str:
    head = _head_text(path)
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = head.splitlines()[0] if head else ""
        return max(",;\t|", key=first.count)


def _read(source: BarSource) -> tuple[pd.DataFrame, str, bool, dict[str, Any]]:
    """Raw table, its label, whether it came from CSV, and attrs it already carried."""
    if isinstance(source, pd.DataFrame):
        frame = source
        attrs = dict(source.attrs)
        label = str(attrs.get("source", "DataFrame"))
        return _index_to_column(frame), label, False, attrs
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no such bar file: {path}")
    if _file_kind(path) == "csv":
        sep = _sniff_delimiter(path)
        frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", skip_blank_lines=False, float_precision="round_trip")
        return frame, str(path), True, {}
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(f"reading {path.name} needs a working pyarrow: {exc}") from exc
    return _index_to_column(frame), str(path), False, dict(frame.attrs)


def _index_to_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Move a time index (or any named index) into a column; keep a plain RangeIndex out."""
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) or (index.name is not None and not isinstance(index, pd.RangeIndex)):
        name = index.name if index.name is not None else INDEX_NAME
        if name in frame.columns:
            name = f"{name}_index"
        out = frame.reset_index(names=name)
        if isinstance(index, pd.DatetimeIndex) and _ALIAS.get(_normalise_name(name)) not in ("timestamp", "date"):
            out = out.rename(columns={name: INDEX_NAME}) if INDEX_NAME not in out.columns else out
        return out
    return frame


# =============================================================================
# Parsing values
# =============================================================================
def _where(rows: np.ndarray, is_csv: bool) -> str:
    first = int(rows[0])
    return f" (CSV line {first + 2})" if is_csv else ""


def _epoch_unit(numbers: np.ndarray) -> str:
    """Unit of epoch numbers from the largest magnitude: s < 1e11 <= ms < 1e14 <= us < 1e17 <= ns."""
    finite = np.abs(numbers[np.isfinite(numbers)])
    top = float(finite.max()) if finite.size else 0.0
    for bound, unit in ((1e11, "s"), (1e14, "ms"), (1e17, "us")):
        if top < bound:
            return unit
    return "ns"


# Integer stamps written as calendar digits; their ranges map to epochs before
# 1980 in every unit, so they cannot be mistaken for plausible epoch numbers.
_COMPACT_FORMATS = ((1.9e7, 2.2e7, "%Y%m%d"), (1.9e11, 2.2e11, "%Y%m%d%H%M"), (1.9e13, 2.2e13, "%Y%m%d%H%M%S"))


def _compact_format(numbers: np.ndarray) -> str | None:
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return None
    for low, high, fmt in _COMPACT_FORMATS:
        if np.all((finite >= low) & (finite < high)):
            return fmt
    return None


def _to_naive_or_aware(series: pd.Series, column: str, source: str, is_csv: bool) -> pd.DatetimeIndex:
    """Parse a time column; naive results stay naive for localisation by the caller."""
    missing = np.asarray(series.isna())
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(
            f"missing time stamp{_where(rows, is_csv)}", file=source, row=_rows(rows), column=column, rule="parse"
        )
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        return pd.DatetimeIndex(series)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.to_numpy(dtype=np.float64)
    else:
        text = series.astype("string").str.strip()
        digits = text.str.fullmatch(r"[+-]?\d+(\.\d*)?").fillna(False).to_numpy(dtype=bool)
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64) if digits.all() else None
        if numbers is None:
            parsed = _parse_strings(text)
            bad = np.asarray(parsed.isna())
            if bad.any():
                raise _parse_error("time stamp", text, bad, source=source, column=column, is_csv=is_csv)
            return parsed
    compact = _compact_format(numbers)
    if compact is not None:
        return pd.DatetimeIndex(pd.to_datetime(pd.Series(numbers).astype("int64").astype(str), format=compact))
    unit = _epoch_unit(numbers)
    parsed = pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit, utc=True))
    if parsed.min() < pd.Timestamp("1980-01-01", tz="UTC"):
        rows = np.flatnonzero(np.asarray(parsed < pd.Timestamp("1980-01-01", tz="UTC")))
        raise DataError(
            f"epoch numbers read as {unit!r} give dates before 1980{_where(rows, is_csv)}; "
            "store ISO time stamps or epoch s/ms/us/ns after 1980",
            file=source,
            row=_rows(rows),
            column=column,
            rule="parse",
        )
    return parsed


def _parse_strings(text: pd.Series) -> pd.DatetimeIndex:
    """Parse time strings: the format pandas infers from the first value, then ISO 8601
    with varying precision, then element by element; rows none of them read are NaT."""
    parsed = pd.DatetimeIndex([])
    for fmt in (None, "ISO8601", "mixed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=fmt))
            except ValueError:  # offsets differ across rows (daylight saving): convert to UTC
                parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=fmt, utc=True))
        if not parsed.isna().any():
            break
    return parsed


def _localise(index: pd.DatetimeIndex, tz: str | None, column: str, source: str, is_csv: bool) -> pd.DatetimeIndex:
    if index.tz is not None:
        return index.tz_convert("UTC")
    zone = tz or "UTC"
    if zone == "UTC":
        return index.tz_localize("UTC")
    try:
        probe = index.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # unknown zone names surface here
        raise DataError(f"cannot use time zone {zone!r}: {exc}", file=source, column=column, rule="parse") from None
    bad = np.asarray(probe.isna())
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"wall-clock time {index[rows[0]]} does not exist or occurs twice in {zone} (daylight-saving change)"
            f"{_where(rows, is_csv)}",
            file=source,
            row=_rows(rows),
            column=column,
            rule="parse",
        )
    return probe.tz_convert("UTC")


def _time_of_day(values: pd.Series, column: str, source: str, is_csv: bool) -> pd.TimedeltaIndex:
    """``"09:30[:00]"`` strings or HHMM / HHMMSS integers as offsets from midnight."""
    if not pd.api.types.is_numeric_dtype(values.dtype):
        text = values.astype("string").str.strip()
        if text.str.fullmatch(r"\d{3,6}").fillna(False).all():
            values = pd.to_numeric(text)
    if pd.api.types.is_numeric_dtype(values.dtype):
        number = values.to_numpy(dtype=np.float64)
        hhmmss = number if np.nanmax(number) > 2359 else number * 100
        hours, rest = np.divmod(hhmmss, 10000)
        minutes, seconds = np.divmod(rest, 100)
        offsets = pd.TimedeltaIndex(pd.to_timedelta(hours * 3600 + minutes * 60 + seconds, unit="s"))
        offsets = offsets.where((minutes < 60) & (seconds < 60) & (hours < 24))
    else:
        text = text.str.replace(r"^(\d{1,2}:\d{2})$", r"\1:00", regex=True)
        offsets = pd.TimedeltaIndex(pd.to_timedelta(text, errors="coerce"))
    bad = np.asarray(offsets.isna())
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"cannot read time of day{_where(rows, is_csv)}", file=source, row=_rows(rows), column=column, rule="parse"
        )
    return offsets


def _time_index(
    frame: pd.DataFrame, columns: dict[str, object], tz: str | None, source: str, is_csv: bool
) -> pd.DatetimeIndex:
    if "timestamp" in columns:
        name = columns["timestamp"]
        parsed = _to_naive_or_aware(frame[name], str(name), source, is_csv)
    elif "date" in columns and "time" in columns:
        day = _to_naive_or_aware(frame[columns["date"]], str(columns["date"]), source, is_csv)
        day = day.tz_localize(None) if day.tz is not None else day
        offsets = _time_of_day(frame[columns["time"]], str(columns["time"]), source, is_csv)
        parsed = pd.DatetimeIndex(day.normalize() + offsets)
        name = columns["time"]
    elif "date" in columns or "time" in columns:
        name = columns.get("date", columns.get("time"))
        parsed = _to_naive_or_aware(frame[name], str(name), source, is_csv)
    else:
        raise DataError(
            f"no time column among {[str(c) for c in frame.columns]}; expected one of timestamp, datetime, date, "
            "time, open_time (any capitalisation) or a DatetimeIndex",
            file=source,
            rule="schema",
        )
    index = _localise(parsed, tz, str(name), source, is_csv)
    return pd.DatetimeIndex(index.as_unit("ns"), name=INDEX_NAME)


def _to_float(series: pd.Series, column: str, source: str, is_csv: bool) -> np.ndarray:
    """Float values; empty cells become NaN, anything else unreadable raises."""
    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataError("holds true/false values, not numbers", file=source, column=column, rule="parse")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    readable = ~np.isnan(numbers)
    # Python's float() is correctly rounded; redo the readable cells with it
    numbers[readable] = np.array([float(v) for v in text[readable]], dtype=np.float64)
    present = (text.fillna("") != "").to_numpy(dtype=bool)
    bad = (
        np.isnan(numbers)
        & present
        & ~text.str.lower().isin(["nan", "inf", "-inf", "+inf"]).fillna(False).to_numpy(dtype=bool)
    )
    if bad.any():
        raise _parse_error("number", text, bad, source=source, column=column, is_csv=is_csv)
    return numbers


def _parse_error(
    what: str, text: pd.Series, bad: np.ndarray, *, source: str | None, column: str, is_csv: bool
) -> DataError:
    """The error for values of ``column`` that cannot be read as ``what``, naming the first rows."""
    rows = np.flatnonzero(bad)
    return DataError(
        f"cannot read {text.iloc[rows[0]]!r} as a {what}{_where(rows, is_csv)}",
        file=source,
        row=_rows(rows),
        column=column,
        rule="parse",
    )


def _rows(rows: np.ndarray) -> int | list[int]:
    """Row positions for a DataError: one int, or the list."""
    listed = [int(r) for r in rows]
    return listed[0] if len(listed) == 1 else listed


# =============================================================================
# load_bars
# =============================================================================
def load_bars(source: BarSource, *, tz: str | None = None, symbol: str | None = None) -> pd.DataFrame:
    """Read bars from a CSV file, a Parquet file or a DataFrame, as they are.

    Recognised layouts
        *Time*: a column named ``timestamp``, ``datetime``, ``date``, ``time``,
        ``open_time`` (any capitalisation, e.g. ``Date``, ``Datetime``,
        ``Timestamp``), a ``date`` + ``time`` pair, or the frame's
        DatetimeIndex.  Values may be ISO strings (with or without offset),
        dates, ``yyyymmdd[HHMM[SS]]`` integers, or epoch numbers whose unit is
        read from the largest magnitude: below 1e11 seconds, below 1e14
        milliseconds, below 1e17 microseconds, else nanoseconds (all dates
        after 1980 are told apart this way).
        *Prices*: ``open high low close`` in any capitalisation or as
        ``o h l c``.  With ``Adj Close``/``adj_close`` present, ``close`` stays
        the traded close and ``adj_close`` is kept as an extra column; when
        only ``Adj Close`` exists it becomes ``close`` and
        ``attrs["close_from"] = "adj_close"`` says so.  A close-only input gets
        ``open``, ``high`` and ``low`` equal to ``close`` and
        ``attrs["filled_from_close"] = ["open", "high", "low"]``.
        *Volume* (``volume``/``vol``/``v``) is NaN with
        ``attrs["volume_missing"] = True`` when absent; ``trade_count``
        (``trades``, ``count``) and ``vwap`` are kept when present; other
        columns are ignored.

    Loading never sorts, drops or repairs rows: order and duplicates are kept
    for :func:`validate_bars` to report.  Empty price cells become NaN.

    Parameters
    ----------
    source
        Path to ``.csv``/``.txt``/``.tsv`` (optionally ``.gz .bz2 .xz .zip``,
        delimiter detected among ``, ; tab |``) or ``.parquet``, or a
        DataFrame.
    tz
        IANA zone of *naive* time stamps (default: they are UTC).  Stamps with
        an offset are converted to UTC regardless.
    symbol
        Instrument symbol for ``attrs["symbol"]``.

    Returns
    -------
    pandas.DataFrame
        UTC ``timestamp`` index (nanoseconds), float64 ``open high low close
        volume`` plus extras, ``attrs`` with ``source``, ``symbol``,
        ``synthetic``.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    DataError
        Unknown file type (``rule="format"``); no time or price column
        (``"schema"``); two columns claiming one name (``"ambiguous_column"``);
        a value that cannot be parsed, a missing time stamp, or a wall-clock
        time that does not exist or repeats in ``tz`` (``"parse"``).  The
        message names the file, the 0-based data row, the CSV line (1-based,
        header = line 1) and the column.
    """
    raw, label, is_csv, carried = _read(source)
    columns = _map_columns(list(raw.columns), label)
    index = _time_index(raw, columns, tz, label, is_csv)

    attrs: dict[str, Any] = {k: v for k, v in carried.items() if k not in ("source", "symbol", "synthetic")}
    if "close" not in columns and "adj_close" in columns:
        columns["close"] = columns.pop("adj_close")
        attrs["close_from"] = "adj_close"
    if "close" not in columns:
        raise DataError(
            f"no close column among {[str(c) for c in raw.columns]}", file=label, column="close", rule="schema"
        )
    absent = [c for c in ("open", "high", "low") if c not in columns]
    if absent and len(absent) < 3:
        raise DataError(
            f"missing price column(s) {', '.join(absent)} (found {[str(c) for c in raw.columns]})",
            file=label,
            column=absent[0],
            rule="schema",
        )
    data: dict[str, np.ndarray] = {}
    close = _to_float(raw[columns["close"]], str(columns["close"]), label, is_csv)
    for name in PRICE_COLUMNS:
        data[name] = (
            close.copy() if name in absent else _to_float(raw[columns[name]], str(columns[name]), label, is_csv)
        )
    if absent:
        attrs["filled_from_close"] = absent
    if "volume" in columns:
        data["volume"] = _to_float(raw[columns["volume"]], str(columns["volume"]), label, is_csv)
    else:
        data["volume"] = np.full(len(raw), np.nan)
        attrs["volume_missing"] = True
    for name in EXTRA_COLUMNS:
        if name in columns:
            data[name] = _to_float(raw[columns[name]], str(columns[name]), label, is_csv)
    bars = pd.DataFrame(data, index=index)
    bars.attrs.update(attrs)
    bars.attrs["source"] = label
    bars.attrs["symbol"] = symbol if symbol is not None else carried.get("symbol")
    bars.attrs["synthetic"] = bool(carried.get("synthetic", False))
    return bars
