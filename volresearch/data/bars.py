"""Bars: the schema, the loader, and validation with its quality report.

*Bars* are a :class:`pandas.DataFrame` indexed by a tz-aware UTC
:class:`pandas.DatetimeIndex` named ``timestamp`` (bar start, nanoseconds)
with float64 columns ``open high low close volume`` and optional extras
(``adj_close``, ``trade_count``, ``vwap``).  Prices are in quote currency,
volume in units traded per bar.  ``df.attrs`` carries provenance: ``source``
(file path or label), ``symbol`` and ``synthetic`` (bool).

:func:`load_bars` reads CSV, Parquet or a DataFrame in common vendor layouts
and only *reads*: it never sorts, drops or fixes rows, and it raises
:class:`~volresearch.errors.DataError` naming the file, row, CSV line and
column of any value it cannot parse.  Judging the data is the job of
:func:`validate_bars`, which checks every rule below in vectorised passes and
returns an immutable :class:`QualityReport`:

========================  ========  ==============================================
rule                      severity  meaning
========================  ========  ==============================================
``nonfinite``             error     NaN or inf in open, high, low or close
``nonpositive``           error     a price <= 0
``negative_volume``       error     volume < 0
``ohlc``                  error     high < max(open, close, low) or low > min(open, close, high)
``duplicate``             error     rows share a time stamp but differ
``non_monotonic``         error     a time stamp earlier than one before it
``exact_duplicate``       warning   a row repeats an earlier row exactly
``zero_volume``           warning   volume == 0
``flat``                  warning   high == low
``price_gap``             warning   close-to-close or previous-close-to-open ``|log|`` jump above the threshold
``timestamp_gap``         warning   expected bars missing inside calendar sessions
``off_session``           warning   a bar outside the calendar's sessions
========================  ========  ==============================================

Policy ``"strict"`` raises on the first error rule; ``"repair"`` fixes only
what can be proved (sorting by time, dropping exact duplicate rows), lists
every row it moved or dropped, and flags the rest.  Rows are always named by
their 0-based position in the input as given.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import html
import lzma
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds, infer_calendar
from volresearch.errors import DataError

__all__ = [
    "INDEX_NAME",
    "PRICE_COLUMNS",
    "BAR_COLUMNS",
    "EXTRA_COLUMNS",
    "ERROR_RULES",
    "WARNING_RULES",
    "BarSource",
    "Policy",
    "load_bars",
    "validate_bars",
    "Issue",
    "Repair",
    "QualityReport",
]

INDEX_NAME = "timestamp"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
EXTRA_COLUMNS: tuple[str, ...] = ("adj_close", "trade_count", "vwap")
ERROR_RULES: tuple[str, ...] = ("nonfinite", "nonpositive", "negative_volume", "ohlc", "duplicate", "non_monotonic")
WARNING_RULES: tuple[str, ...] = (
    "exact_duplicate",
    "zero_volume",
    "flat",
    "price_gap",
    "timestamp_gap",
    "off_session",
)

BarSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame
Policy: TypeAlias = Literal["strict", "repair"]
Severity: TypeAlias = Literal["error", "warning"]

_MAX_ROWS_LISTED = 20
_OHLC_RTOL = 1e-9
_MAX_EXPECTED_SLOTS = 30_000_000


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


# =============================================================================
# QualityReport
# =============================================================================
@dataclass(frozen=True)
class Issue:
    """One finding of validation.

    Attributes
    ----------
    rule, severity
        Rule name (see the module table) and ``"error"`` or ``"warning"``.
    count
        Number of rows concerned (for ``timestamp_gap``: number of gaps).
    rows
        The first (up to 20) 0-based input positions concerned.
    column
        The column concerned, when there is one.
    message
        What was found, with its numbers.
    repaired
        True when the ``repair`` policy fixed it.
    """

    rule: str
    severity: Severity
    count: int
    rows: tuple[int, ...]
    column: str | None
    message: str
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "count": self.count,
            "rows": list(self.rows),
            "column": self.column,
            "message": self.message,
            "repaired": self.repaired,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Issue:
        """Inverse of :meth:`to_dict`."""
        return cls(
            rule=str(data["rule"]),
            severity=data["severity"],
            count=int(data["count"]),
            rows=tuple(int(r) for r in data["rows"]),
            column=data.get("column"),
            message=str(data["message"]),
            repaired=bool(data.get("repaired", False)),
        )


@dataclass(frozen=True)
class Repair:
    """One change made by the ``repair`` policy; ``rows`` lists every input position touched."""

    action: Literal["sort", "drop_exact_duplicates"]
    rows: tuple[int, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"action": self.action, "rows": list(self.rows), "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Repair:
        """Inverse of :meth:`to_dict`."""
        return cls(action=data["action"], rows=tuple(int(r) for r in data["rows"]), message=str(data["message"]))


@dataclass(frozen=True)
class QualityReport:
    """What :func:`validate_bars` found, immutable and JSON-serialisable.

    Attributes
    ----------
    n_rows
        Rows in the input.
    start, end
        Earliest and latest time stamp (UTC), ``None`` for empty input.
    calendar
        Name of the trading calendar used, or ``None``.
    calendar_inferred, calendar_reason
        Whether it was inferred, and why it was chosen.
    bar_seconds
        Bar length used (most common spacing), seconds.
    expected_bars
        Bar slots a complete record would hold between ``start`` and ``end``
        under the calendar (``None`` without a calendar).
    missing_bar_pct
        Percentage of expected slots without a bar.
    flat_bar_pct
        Percentage of rows with ``high == low``.
    zero_volume_bars
        Rows with zero volume.
    off_session_bars
        Rows outside the calendar's sessions.
    duplicates
        ``{"exact": rows repeating an earlier row, "conflicting": rows sharing
        a time stamp with a different row}``.
    gaps
        ``{"count", "missing_bars", "largest_bars", "largest_start"}``: runs
        of consecutive missing slots, their total, the longest run and the
        ISO time of its first missing slot.
    issues
        Findings, errors first.
    repairs
        Changes made under ``policy="repair"``.
    policy
        ``"strict"`` or ``"repair"``.
    file
        Input name used in messages.
    bars
        The validated frame (``repair``: sorted, exact duplicates dropped);
        not serialised, ``None`` after :meth:`from_dict`.
    """

    n_rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    calendar: str | None
    calendar_inferred: bool
    calendar_reason: str
    bar_seconds: float | None
    expected_bars: int | None
    missing_bar_pct: float | None
    flat_bar_pct: float
    zero_volume_bars: int
    off_session_bars: int
    duplicates: Mapping[str, int]
    gaps: Mapping[str, Any]
    issues: tuple[Issue, ...]
    repairs: tuple[Repair, ...]
    policy: Policy
    file: str | None
    bars: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        """True when no error-severity issue is left unrepaired."""
        return not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Unrepaired error-severity issues."""
        return tuple(i for i in self.issues if i.severity == "error" and not i.repaired)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Warning-severity issues."""
        return tuple(i for i in self.issues if i.severity == "warning")

    def issue(self, rule: str) -> Issue | None:
        """The first issue of ``rule``, or ``None``."""
        return next((i for i in self.issues if i.rule == rule), None)

    def error(self) -> DataError | None:
        """The :class:`DataError` describing the first unrepaired error, or ``None``."""
        errors = self.errors
        if not errors:
            return None
        first = errors[0]
        others = {e.rule for e in errors[1:]} - {first.rule}
        more = f"; also {', '.join(sorted(others))}" if others else ""
        rows: int | list[int] | None = (
            list(first.rows) if len(first.rows) > 1 else (first.rows[0] if first.rows else None)
        )
        return DataError(
            f"{first.rule}: {first.message}{more}", file=self.file, row=rows, column=first.column, rule=first.rule
        )

    def raise_for_errors(self) -> None:
        """Raise :meth:`error` when the report did not pass."""
        exc = self.error()
        if exc is not None:
            raise exc

    # ----------------------------------------------------------- serialise
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (times ISO 8601); :meth:`from_dict` reverses it."""
        return {
            "file": self.file,
            "policy": self.policy,
            "passed": self.passed,
            "n_rows": self.n_rows,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "calendar": {"name": self.calendar, "inferred": self.calendar_inferred, "reason": self.calendar_reason},
            "bar_seconds": self.bar_seconds,
            "expected_bars": self.expected_bars,
            "missing_bar_pct": self.missing_bar_pct,
            "flat_bar_pct": self.flat_bar_pct,
            "zero_volume_bars": self.zero_volume_bars,
            "off_session_bars": self.off_session_bars,
            "duplicates": dict(self.duplicates),
            "gaps": dict(self.gaps),
            "issues": [i.to_dict() for i in self.issues],
            "repairs": [r.to_dict() for r in self.repairs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        """Rebuild a report from :meth:`to_dict` output (without ``bars``)."""
        cal = data["calendar"]
        return cls(
            n_rows=int(data["n_rows"]),
            start=None if data["start"] is None else pd.Timestamp(data["start"]),
            end=None if data["end"] is None else pd.Timestamp(data["end"]),
            calendar=cal["name"],
            calendar_inferred=bool(cal["inferred"]),
            calendar_reason=str(cal["reason"]),
            bar_seconds=None if data["bar_seconds"] is None else float(data["bar_seconds"]),
            expected_bars=None if data["expected_bars"] is None else int(data["expected_bars"]),
            missing_bar_pct=None if data["missing_bar_pct"] is None else float(data["missing_bar_pct"]),
            flat_bar_pct=float(data["flat_bar_pct"]),
            zero_volume_bars=int(data["zero_volume_bars"]),
            off_session_bars=int(data["off_session_bars"]),
            duplicates={str(k): int(v) for k, v in data["duplicates"].items()},
            gaps=dict(data["gaps"]),
            issues=tuple(Issue.from_dict(i) for i in data["issues"]),
            repairs=tuple(Repair.from_dict(r) for r in data["repairs"]),
            policy=data["policy"],
            file=data["file"],
        )

    # -------------------------------------------------------------- display
    def summary(self) -> str:
        """A compact human-readable table."""
        verdict = "PASSED" if self.passed else "FAILED"
        span = "empty" if self.start is None else f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"
        lines = [
            f"QualityReport {self.file or ''} [{self.policy}] {verdict}".replace("  ", " "),
            f"  rows {self.n_rows:,}   {span}   bar {_fmt_seconds(self.bar_seconds)}",
        ]
        if self.calendar is not None:
            how = "inferred" if self.calendar_inferred else "given"
            lines.append(f"  calendar {self.calendar} ({how}: {self.calendar_reason})")
            lines.append(
                f"  expected bars {self.expected_bars:,}   missing {self.missing_bar_pct:.2f}%   "
                f"gaps {self.gaps.get('count', 0):,} (missing bars {self.gaps.get('missing_bars', 0):,}, "
                f"largest {self.gaps.get('largest_bars', 0):,} from {self.gaps.get('largest_start')})"
            )
        else:
            lines.append(f"  calendar none ({self.calendar_reason})")
        lines.append(
            f"  flat bars {self.flat_bar_pct:.2f}%   zero-volume bars {self.zero_volume_bars:,}   "
            f"off-session bars {self.off_session_bars:,}   duplicates exact {self.duplicates.get('exact', 0):,} / "
            f"conflicting {self.duplicates.get('conflicting', 0):,}"
        )
        if self.issues:
            lines.append(f"  {'severity':<8} {'rule':<16} {'count':>8}  {'column':<8} first rows")
            for i in self.issues:
                tag = f"{i.severity}*" if i.repaired else i.severity
                rows = ", ".join(map(str, i.rows[:8])) + (" ..." if i.count > 8 and len(i.rows) > 8 else "")
                lines.append(f"  {tag:<8} {i.rule:<16} {i.count:>8,}  {i.column or '':<8} {rows}")
        for r in self.repairs:
            lines.append(f"  repair {r.action}: {len(r.rows):,} rows ({r.message})")
        if any(i.repaired for i in self.issues):
            lines.append("  (* repaired)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds:g} s" if seconds < 3600 else str(pd.Timedelta(seconds=seconds))


# =============================================================================
# validate_bars
# =============================================================================
class _Findings:
    """Collects issues, keeping the first rows of each."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(
        self,
        rule: str,
        severity: Severity,
        positions: np.ndarray,
        message: str,
        *,
        column: str | None = None,
        count: int | None = None,
    ) -> None:
        if positions.size == 0 and not count:
            return
        rows = tuple(int(r) for r in np.sort(positions)[:_MAX_ROWS_LISTED])
        self.issues.append(
            Issue(rule, severity, int(count if count is not None else positions.size), rows, column, message)
        )


def _check_schema(bars: pd.DataFrame) -> None:
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars must be a DataFrame, got {type(bars).__name__}", rule="schema")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise DataError("bars need a tz-aware DatetimeIndex; read them with load_bars", rule="schema")
    if bars.index.hasnans:
        rows = np.flatnonzero(np.asarray(bars.index.isna()))
        raise DataError("time stamp is missing (NaT)", row=_rows(rows), column=INDEX_NAME, rule="schema")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {', '.join(missing)}", column=missing[0], rule="schema")
    for c in BAR_COLUMNS:
        if not pd.api.types.is_numeric_dtype(bars[c].dtype) or pd.api.types.is_bool_dtype(bars[c].dtype):
            raise DataError(f"column is {bars[c].dtype}, not numeric", column=c, rule="schema")


def _row_rules(values: dict[str, np.ndarray], found: _Findings) -> None:
    for c in PRICE_COLUMNS:
        bad = np.flatnonzero(~np.isfinite(values[c]))
        found.add("nonfinite", "error", bad, f"{c} is NaN or infinite", column=c)
    with np.errstate(invalid="ignore"):
        for c in PRICE_COLUMNS:
            bad = np.flatnonzero(np.isfinite(values[c]) & (values[c] <= 0))
            found.add("nonpositive", "error", bad, f"{c} is zero or negative", column=c)
        found.add(
            "negative_volume", "error", np.flatnonzero(values["volume"] < 0), "volume is negative", column="volume"
        )
        o, h, lo, cl = (values[k] for k in PRICE_COLUMNS)
        tol = _OHLC_RTOL * np.abs(h)
        high_bad = h + tol < np.maximum(np.maximum(o, cl), lo)
        low_bad = lo - tol > np.minimum(np.minimum(o, cl), h)
    found.add("ohlc", "error", np.flatnonzero(high_bad), "high below open, close or low", column="high")
    found.add("ohlc", "error", np.flatnonzero(low_bad & ~high_bad), "low above open, close or high", column="low")


def _duplicate_rules(bars: pd.DataFrame, t: np.ndarray, found: _Findings) -> tuple[np.ndarray, int, int]:
    """Flag duplicates; return the positions of exact repeats (droppable) and the two counts."""
    dup_time = pd.Series(t).duplicated(keep=False).to_numpy()
    if not dup_time.any():
        return np.zeros(0, dtype=np.int64), 0, 0
    rows = np.flatnonzero(dup_time)
    sub = bars.iloc[rows].reset_index(drop=True)
    sub.insert(0, "__t", t[rows])
    digest = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    key = pd.DataFrame({"t": t[rows], "h": digest})
    exact = rows[key.duplicated(keep="first").to_numpy()]
    distinct = key.drop_duplicates().groupby("t")["h"].transform("size")
    conflicting_times = key.drop_duplicates()["t"].to_numpy()[distinct.to_numpy() > 1]
    conflicting = np.setdiff1d(rows[np.isin(t[rows], conflicting_times)], exact)
    found.add(
        "duplicate",
        "error",
        conflicting,
        f"{conflicting.size} rows share a time stamp with a row holding different values",
        column=INDEX_NAME,
    )
    found.add(
        "exact_duplicate", "warning", exact, f"{exact.size} rows repeat an earlier row exactly", column=INDEX_NAME
    )
    return exact, int(exact.size), int(conflicting.size)


def _sequence_rules(values: dict[str, np.ndarray], order: np.ndarray, gap_threshold: float, found: _Findings) -> None:
    """Rules on the time-ordered rows: zero volume, flat bars, price gaps."""
    found.add("zero_volume", "warning", np.flatnonzero(values["volume"] == 0), "volume is zero", column="volume")
    found.add("flat", "warning", np.flatnonzero(values["high"] == values["low"]), "high equals low", column="high")
    if order.size > 1:
        close = values["close"][order]
        open_ = values["open"][order]
        with np.errstate(divide="ignore", invalid="ignore"):
            cc = np.abs(np.log(close[1:] / close[:-1]))
            oc = np.abs(np.log(open_[1:] / close[:-1]))
        jump = (cc > gap_threshold) | (oc > gap_threshold)
        biggest = float(np.nanmax(np.where(np.isfinite(cc), cc, np.nan), initial=0.0))
        found.add(
            "price_gap",
            "warning",
            order[1:][jump],
            f"|log| jump from the previous close above {gap_threshold:g} (largest close-to-close {biggest:.4f})",
            column="close",
        )


def _calendar_rules(
    t_sorted_unique: np.ndarray,
    t: np.ndarray,
    cal: TradingCalendar,
    bar_seconds: float,
    found: _Findings,
) -> tuple[int | None, float | None, dict[str, Any], int]:
    """Missing bars, gaps and off-session bars against ``cal``."""
    start, end = t_sorted_unique[0], t_sorted_unique[-1]
    gaps: dict[str, Any] = {"count": 0, "missing_bars": 0, "largest_bars": 0, "largest_start": None}
    sessions = cal.sessions(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    where = cal.session_positions(pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC"), sessions)
    off = np.flatnonzero(where < 0)
    found.add("off_session", "warning", off, f"bar outside the {cal.name} sessions", column=INDEX_NAME)
    span_slots = (end - start) / 1e9 / bar_seconds
    if span_slots > _MAX_EXPECTED_SLOTS:
        return None, None, gaps, int(off.size)
    expected = cal.expected_index(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), bar_seconds).asi8
    if expected.size == 0:
        return 0, None, gaps, int(off.size)
    present = np.isin(expected, t_sorted_unique)
    missing = ~present
    n_missing = int(missing.sum())
    if n_missing:
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        run_start = np.flatnonzero(edges == 1)
        run_end = np.flatnonzero(edges == -1)
        lengths = run_end - run_start
        k = int(np.argmax(lengths))
        gaps = {
            "count": int(lengths.size),
            "missing_bars": n_missing,
            "largest_bars": int(lengths[k]),
            "largest_start": pd.Timestamp(int(expected[run_start[k]]), unit="ns", tz="UTC").isoformat(),
        }
        # the bar right after each gap, named by its input position
        after = expected[np.minimum(run_end, expected.size - 1)]
        first_pos = pd.Series(np.arange(t.size)).groupby(t).first()
        follow = first_pos.reindex(after[run_end < expected.size]).dropna().to_numpy(dtype=np.int64)
        found.add(
            "timestamp_gap",
            "warning",
            follow,
            f"{lengths.size:,} gaps, {n_missing:,} of {expected.size:,} expected bars missing "
            f"({100 * n_missing / expected.size:.2f}%), largest {int(lengths[k]):,} bars from {gaps['largest_start']}",
            column=INDEX_NAME,
            count=int(lengths.size),
        )
    return int(expected.size), 100.0 * n_missing / expected.size, gaps, int(off.size)


def validate_bars(
    bars: pd.DataFrame,
    policy: Policy = "strict",
    *,
    calendar: str | TradingCalendar | None = None,
    file: str | None = None,
    gap_threshold: float = 0.05,
    raise_errors: bool = True,
) -> QualityReport:
    """Check bars against every rule and report; optionally repair what is provable.

    Parameters
    ----------
    bars
        Frame with a tz-aware DatetimeIndex and numeric ``open high low close
        volume`` columns, as returned by :func:`load_bars` (any order,
        duplicates allowed).
    policy
        ``"strict"``: raise :class:`DataError` on the first error rule
        (warnings never raise).  ``"repair"``: sort rows by time (stable) and
        drop rows that exactly repeat an earlier row, listing every row moved
        or dropped in :attr:`QualityReport.repairs`; everything else is flagged
        and left unchanged.  The resulting frame is :attr:`QualityReport.bars`.
    calendar
        Trading calendar or preset name for the missing-bar, gap and
        off-session checks; inferred with
        :func:`~volresearch.data.calendar.infer_calendar` when ``None``.
    file
        Name of the input in messages (default ``bars.attrs["source"]``).
    gap_threshold
        ``|log|`` price jump between consecutive bars above which a
        ``price_gap`` warning is raised (dimensionless; 0.05 is about 5%).
    raise_errors
        With ``policy="strict"``, set ``False`` to get the failing report
        instead of the exception (used by the command line).

    Returns
    -------
    QualityReport

    Raises
    ------
    DataError
        ``policy="strict"`` and an error rule fails: names the file, the first
        offending rows (0-based input positions), the column and the rule.
        Also ``rule="schema"`` when ``bars`` is not a bar frame, and
        ``rule="option"`` for an unknown policy or a bad threshold.
    ConfigError
        Unknown calendar name.
    """
    if policy not in ("strict", "repair"):
        raise DataError(f"policy must be 'strict' or 'repair', got {policy!r}", rule="option")
    if not (np.isfinite(gap_threshold) and gap_threshold > 0):
        raise DataError(f"gap_threshold must be a positive number, got {gap_threshold!r}", rule="option")
    _check_schema(bars)
    file = file if file is not None else bars.attrs.get("source")
    n = len(bars)
    index = bars.index.tz_convert("UTC").as_unit("ns")
    t = np.asarray(index.asi8)
    values = {c: bars[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in BAR_COLUMNS}
    found = _Findings()
    _row_rules(values, found)
    exact, n_exact, n_conflicting = _duplicate_rules(bars, t, found)

    order = np.argsort(t, kind="stable")
    kept = np.setdiff1d(np.arange(n), exact)  # an exact repeat is a duplicate, not a row out of order
    if kept.size > 1:
        tk = t[kept]
        late = kept[1:][tk[1:] < np.maximum.accumulate(tk[:-1])]
        found.add("non_monotonic", "error", late, "time stamp earlier than a row before it", column=INDEX_NAME)
    keep_order = order[~np.isin(order, exact)]
    _sequence_rules(values, keep_order, gap_threshold, found)

    unique_t = np.unique(t)
    cal_name: str | None = None
    inferred = False
    reason = "fewer than two distinct time stamps"
    bar_seconds = infer_bar_seconds(index) if unique_t.size > 1 else None
    expected_bars: int | None = None
    missing_pct: float | None = None
    gaps: dict[str, Any] = {"count": 0, "missing_bars": 0, "largest_bars": 0, "largest_start": None}
    off_session = 0
    if calendar is not None:
        cal: TradingCalendar | None = get_calendar(calendar)
        reason = "given"
    elif bar_seconds is not None:
        cal, reason = infer_calendar(index)
        inferred = True
    else:
        cal = None
    if cal is not None:
        cal_name = cal.name
        if bar_seconds is not None:
            expected_bars, missing_pct, gaps, off_session = _calendar_rules(unique_t, t, cal, bar_seconds, found)

    repairs: list[Repair] = []
    out = bars
    if policy == "repair":
        # a row moved when its rank among the kept rows changes with sorting
        moved = kept[kept != keep_order]
        if moved.size:
            repairs.append(Repair("sort", tuple(int(r) for r in np.sort(moved)), "rows moved to sort by time"))
            _mark_repaired(found, "non_monotonic")
        if exact.size:
            repairs.append(
                Repair("drop_exact_duplicates", tuple(int(r) for r in np.sort(exact)), "exact repeats dropped")
            )
            _mark_repaired(found, "exact_duplicate")
        if repairs:
            out = bars.iloc[keep_order]
            out.attrs = dict(bars.attrs)

    rank = {rule: k for k, rule in enumerate((*ERROR_RULES, *WARNING_RULES))}
    issues = tuple(sorted(found.issues, key=lambda i: (i.severity != "error", rank.get(i.rule, 99))))
    flat = int(np.sum(values["high"] == values["low"]))
    report = QualityReport(
        n_rows=n,
        start=pd.Timestamp(int(unique_t[0]), unit="ns", tz="UTC") if n else None,
        end=pd.Timestamp(int(unique_t[-1]), unit="ns", tz="UTC") if n else None,
        calendar=cal_name,
        calendar_inferred=inferred,
        calendar_reason=reason,
        bar_seconds=bar_seconds,
        expected_bars=expected_bars,
        missing_bar_pct=missing_pct,
        flat_bar_pct=100.0 * flat / n if n else 0.0,
        zero_volume_bars=int(np.sum(values["volume"] == 0)),
        off_session_bars=off_session,
        duplicates={"exact": n_exact, "conflicting": n_conflicting},
        gaps=gaps,
        issues=issues,
        repairs=tuple(repairs),
        policy=policy,
        file=file,
        bars=out,
    )
    if policy == "strict" and raise_errors:
        report.raise_for_errors()
    return report


def _mark_repaired(found: _Findings, rule: str) -> None:
    found.issues = [
        Issue(i.rule, i.severity, i.count, i.rows, i.column, i.message, True) if i.rule == rule else i
        for i in found.issues
    ]
