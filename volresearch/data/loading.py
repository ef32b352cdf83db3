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

from volresearch.data.layouts import content_is_time, day_first, headerless_layout, looks_like_data, time_role
from volresearch.errors import DataError

__all__ = [
    "INDEX_NAME",
    "PRICE_COLUMNS",
    "BAR_COLUMNS",
    "EXTRA_COLUMNS",
    "COLUMN_ALIASES",
    "BarSource",
    "BarLabel",
    "load_bars",
    "relabel_bars",
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
_TIME_CANON = frozenset({"timestamp", "date", "time"})


def _normalise_name(name: object) -> str:
    text = str(name).strip().lower().replace("<", "").replace(">", "")
    return re.sub(r"[\s\-\.\(\)/]+", "_", text).strip("_")


def _map_columns(columns: Sequence[object], source: str) -> dict[str, object]:
    """``{canonical name: source column}`` of the value columns; an exact spelling beats an alias."""
    claims: dict[str, list[object]] = {}
    for column in columns:
        canon = _ALIAS.get(_normalise_name(column))
        if canon is not None and canon not in _TIME_CANON:
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


def _has_header(path: Path, sep: str) -> bool:
    """Whether the first line names the columns.

    It does when one of its cells is not a value (number, date, time) while the
    cell below it is; a file of a single line has a header when any cell is
    not a value.  Text that repeats in every row (a symbol) is no header.
    """
    lines = [line for line in _head_text(path).splitlines()[:3] if line.strip()]
    if not lines:
        return True
    first = [looks_like_data(cell) for cell in lines[0].split(sep)]
    if len(lines) < 2:
        return not all(first)
    second = [looks_like_data(cell) for cell in lines[1].split(sep)]
    return any(not a and b for a, b in zip(first, second, strict=False)) or not any(first)


def _read(source: BarSource) -> tuple[pd.DataFrame, str, bool, dict[str, Any], list[str]]:
    """Raw table, its label, whether it came from CSV, attrs it already carried, and notes on its layout."""
    if isinstance(source, pd.DataFrame):
        frame = source
        attrs = dict(source.attrs)
        label = str(attrs.get("source", "DataFrame"))
        return _index_to_column(frame), label, False, attrs, []
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no such bar file: {path}")
    if _file_kind(path) == "csv":
        sep = _sniff_delimiter(path)
        header = _has_header(path, sep)
        frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", skip_blank_lines=False, header=0 if header else None)
        notes: list[str] = []
        if not header:
            layout = headerless_layout(frame)
            if layout is None:
                raise DataError(
                    f"no header row, and the columns do not start with a time followed by open, high, low, close "
                    f"(found {frame.shape[1]} columns); add a header naming the time and price columns",
                    file=str(path),
                    rule="schema",
                )
            mapping, note = layout
            frame = frame.rename(columns={c: mapping.get(c, f"column_{int(c) + 1}") for c in frame.columns})
            notes.append(note)
        return frame, str(path), True, {}, notes
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(f"reading {path.name} needs a working pyarrow: {exc}") from exc
    return _index_to_column(frame), str(path), False, dict(frame.attrs), []


def _index_to_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Move a time index (or any named index) into a column; keep a plain RangeIndex out."""
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) or (index.name is not None and not isinstance(index, pd.RangeIndex)):
        name = index.name if index.name is not None else INDEX_NAME
        if name in frame.columns:
            name = f"{name}_index"
        out = frame.reset_index(names=name)
        if isinstance(index, pd.DatetimeIndex) and time_role(name) is None:
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


_EPOCH_FORMATS = {"epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}


def _to_naive_or_aware(
    series: pd.Series, column: str, source: str, is_csv: bool, date_format: str | None = None
) -> pd.DatetimeIndex:
    """Parse a time column; naive results stay naive for localisation by the caller."""
    missing = np.asarray(series.isna())
    if missing.any():
        rows = np.flatnonzero(missing)
        raise DataError(
            f"missing time stamp{_where(rows, is_csv)}", file=source, row=_rows(rows), column=column, rule="parse"
        )
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series.dtype):
        return pd.DatetimeIndex(series)
    if date_format is not None:
        return _with_format(series, date_format, column, source, is_csv)
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


def _with_format(series: pd.Series, date_format: str, column: str, source: str, is_csv: bool) -> pd.DatetimeIndex:
    """Parse with a given strftime format, or ``epoch_s``/``epoch_ms``/``epoch_us``/``epoch_ns``."""
    unit = _EPOCH_FORMATS.get(date_format.strip().lower())
    if unit is not None:
        text = series.astype("string").str.strip()
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers)
        if bad.any():
            raise _parse_error(f"{date_format} number", text, bad, source=source, column=column, is_csv=is_csv)
        return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit, utc=True))
    if pd.api.types.is_float_dtype(series.dtype) and np.all(series.to_numpy() == np.round(series.to_numpy())):
        series = series.astype("int64")
    text = series.astype("string").str.strip()
    try:
        parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=date_format))
    except ValueError:
        try:
            parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=date_format, utc=True))
        except ValueError as exc:
            raise DataError(
                f"cannot use date format {date_format!r}: {exc}", file=source, column=column, rule="parse"
            ) from None
    bad = np.asarray(parsed.isna())
    if bad.any():
        raise _parse_error(
            f"time stamp in format {date_format!r}", text, bad, source=source, column=column, is_csv=is_csv
        )
    return parsed


# Formats pandas does not infer reliably from the first value.
_EXPLICIT_FORMATS = (
    (r"\d{8} \d{6}", "%Y%m%d %H%M%S"),
    (r"\d{8} \d{4}", "%Y%m%d %H%M"),
    (r"\d{8}T\d{6}", "%Y%m%dT%H%M%S"),
)


def _parse_strings(text: pd.Series) -> pd.DatetimeIndex:
    """Parse time strings: compact ``yyyymmdd HHMM[SS]`` forms, day-first or month-first dates as
    :func:`~volresearch.data.layouts.day_first` decides, then the format pandas infers from the
    first value, ISO 8601 with varying precision, and element by element; rows none of them read
    are NaT."""
    for pattern, fmt in _EXPLICIT_FORMATS:
        if text.str.fullmatch(pattern).fillna(False).all():
            return pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=fmt))
    dayfirst = day_first(text)
    parsed = pd.DatetimeIndex([])
    formats: tuple[str | None, ...] = ("mixed",) if dayfirst is not None else (None, "ISO8601", "mixed")
    for fmt in formats:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format=fmt, dayfirst=bool(dayfirst)))
            except ValueError:  # offsets differ across rows (daylight saving): convert to UTC
                parsed = pd.DatetimeIndex(
                    pd.to_datetime(text, errors="coerce", format=fmt, dayfirst=bool(dayfirst), utc=True)
                )
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


def _resolve(frame: pd.DataFrame, name: str, source: str) -> object:
    """The column of ``frame`` called ``name``: exactly, else ignoring case, spaces and brackets."""
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if _normalise_name(c) == _normalise_name(name)]
    if len(matches) == 1:
        return matches[0]
    raise DataError(
        f"time column {name!r} not found among {[str(c) for c in frame.columns]}",
        file=source,
        column=name,
        rule="schema",
    )


def _find_time(
    frame: pd.DataFrame, columns: dict[str, object], time_column: str | None, source: str
) -> tuple[list[object], str]:
    """The time column (or date and time-of-day columns), and how they were found."""
    if time_column is not None:
        parts = [time_column] if time_column in frame.columns else time_column.split("+")
        return [_resolve(frame, p.strip(), source) for p in parts], "argument"
    ranked: dict[str, list[tuple[int, int, object]]] = {"timestamp": [], "date": [], "time": []}
    for position, column in enumerate(frame.columns):
        role = time_role(column)
        if role is not None:
            ranked[role[0]].append((role[1], position, column))
    for found in ranked.values():
        found.sort(key=lambda item: (item[0], item[1]))
    stamps, dates, times = ranked["timestamp"], ranked["date"], ranked["time"]
    if dates and times and (not stamps or stamps[0][0] > dates[0][0]):
        return [dates[0][2], times[0][2]], "name"
    for found in (stamps, dates, times):
        if found:
            return [found[0][2]], "name"
    used = set(map(str, columns.values()))
    for column in frame.columns:
        if str(column) not in used and content_is_time(frame[column]):
            return [column], "content"
    raise DataError(
        f"no time column among {[str(c) for c in frame.columns]}; expected a name such as timestamp, datetime, "
        "date, time, ts, open_time, timestamp_utc, time_ms (any capitalisation, with unit or zone words), a "
        "date + time pair, a column of dates or epoch numbers, or a DatetimeIndex; or name it with time_column",
        file=source,
        rule="schema",
    )


def _time_index(
    frame: pd.DataFrame,
    columns: dict[str, object],
    tz: str | None,
    source: str,
    is_csv: bool,
    *,
    time_column: str | None = None,
    date_format: str | None = None,
    notes: list[str] | None = None,
) -> pd.DatetimeIndex:
    found, how = _find_time(frame, columns, time_column, source)
    if len(found) > 2:
        raise DataError(
            f"time_column {time_column!r} names {len(found)} columns; give one, or a date and a time as 'DATE+TIME'",
            file=source,
            rule="option",
        )
    if len(found) == 2:
        date_col, time_col = found
        name = time_col
        if date_format is not None and re.search(r"%[HIMSfp]", date_format):
            joined = frame[date_col].astype("string").str.strip() + " " + frame[time_col].astype("string").str.strip()
            parsed = _to_naive_or_aware(joined, f"{date_col}+{time_col}", source, is_csv, date_format)
        else:
            day = _to_naive_or_aware(frame[date_col], str(date_col), source, is_csv, date_format)
            day = day.tz_localize(None) if day.tz is not None else day
            offsets = _time_of_day(frame[time_col], str(time_col), source, is_csv)
            parsed = pd.DatetimeIndex(day.normalize() + offsets)
    else:
        name = found[0]
        parsed = _to_naive_or_aware(frame[name], str(name), source, is_csv, date_format)
    if notes is not None and how == "content":
        notes.append(f"time read from column {str(name)!r}, recognised by its values (its name is not a time name)")
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
BarLabel: TypeAlias = Literal["start", "end"]


def _bar_length(index: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The most common positive spacing of ``index`` (None with fewer than two distinct times)."""
    times = np.unique(index.asi8)
    if times.size < 2:
        return None
    diffs = np.diff(times)
    values, counts = np.unique(diffs[diffs > 0], return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns") if values.size else None


def relabel_bars(bars: pd.DataFrame, label: BarLabel = "end", *, bar_length: Any = None) -> pd.DataFrame:
    """Bars stamped at their end, moved to the package's start-of-bar convention.

    Every time stamp moves back by one bar length (``bar_length``, default the
    most common spacing of the index), so that a one-minute bar stamped
    ``09:31`` (its close) is stamped ``09:30`` (its open) like every other bar
    in the package.  Bars of a day or longer keep their dates: a daily bar's
    date names its session whichever end it is stamped at.  The result says
    what was done in ``attrs["bar_label"]`` (the label of the input) and in a
    load note that :func:`~volresearch.data.validation.validate_bars` copies
    into the :class:`~volresearch.data.validation.QualityReport`.

    Parameters
    ----------
    bars
        Bars as :func:`load_bars` returns them.
    label
        ``"end"``: stamps are bar ends (shifted); ``"start"``: already the
        package's convention (returned unchanged but for ``attrs``).
    bar_length
        Bar length (Timedelta or anything :class:`pandas.Timedelta` reads);
        default inferred from the index.

    Returns
    -------
    pandas.DataFrame
        A new frame (the input is not modified).

    Raises
    ------
    DataError
        ``label`` is neither ``"start"`` nor ``"end"``, or the bar length
        cannot be inferred (fewer than two distinct times).
    """
    if label not in ("start", "end"):
        raise DataError(f"label must be 'start' or 'end', got {label!r}", column="label", rule="choice")
    out = bars.copy()
    out.attrs = dict(bars.attrs)
    out.attrs["bar_label"] = label
    if label == "start":
        return out
    step = pd.Timedelta(bar_length) if bar_length is not None else _bar_length(pd.DatetimeIndex(bars.index))
    if step is None:
        raise DataError(
            "cannot shift end-stamped bars: the bar length cannot be inferred from fewer than two distinct times",
            file=bars.attrs.get("source"),
            column="timestamp",
            rule="shape",
        )
    notes = list(out.attrs.get("load_notes", []))
    if step >= pd.Timedelta(days=1):
        notes.append(
            f"bars stamped at their end (label='end'): bars of {step.total_seconds() / 86400:g} day(s) keep their dates"
        )
    else:
        out.index = pd.DatetimeIndex(out.index - step, name=bars.index.name)
        notes.append(
            f"bars stamped at their end (label='end'): every time stamp moved back one bar length ({step.total_seconds():g} s) "
            "to the start-of-bar convention"
        )
    out.attrs["load_notes"] = notes
    return out


def load_bars(
    source: BarSource,
    *,
    tz: str | None = None,
    symbol: str | None = None,
    time_column: str | None = None,
    date_format: str | None = None,
    label: BarLabel = "start",
) -> pd.DataFrame:
    """Read bars from a CSV file, a Parquet file or a DataFrame, as they are.

    Recognised layouts
        *Time*: a column whose name is a time word -- ``timestamp``,
        ``datetime``, ``date``, ``time``, ``ts``, ``dt`` -- alone or with unit,
        zone or bar-position words, in any case or spelling
        (``Timestamp``, ``timestamp_utc``, ``time_ms``, ``Datetime (UTC)``,
        ``open_time``, ``openTime``, ``ts_event``, ``Gmt time``, ``<DATE>``;
        bar-start names beat ``close_time``); a date + time-of-day pair
        (MetaTrader/Finam ``<DATE>``, ``<TIME>`` as ``20240102``/``093000`` or
        ``2024.01.02``/``09:30``); the frame's DatetimeIndex; failing those,
        the first other column whose values read as times.  Values may be ISO
        strings (with or without offset), dates (``dd.mm.yyyy`` day-first as
        Dukascopy writes them, ``mm/dd/yyyy`` month-first; the order is read
        from the values), ``yyyymmdd[ HHMM[SS]]`` integers or strings
        (NinjaTrader), or epoch numbers whose unit is read from the largest
        magnitude: below 1e11 seconds, below 1e14 milliseconds, below 1e17
        microseconds, else nanoseconds (all dates after 1980 are told apart
        this way).
        *No header*: a CSV whose first line holds only values is read by
        position -- the time (or date and time of day), then ``open high low
        close`` and ``volume``; Binance klines (12 columns) also keep their
        trade count -- and ``attrs["load_notes"]`` says which layout was
        assumed (:func:`~volresearch.data.validation.validate_bars` copies the
        notes into its report).  A time column found by its values is noted
        the same way.
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
    time_column
        Name of the time column, overriding detection (matched exactly, else
        ignoring case, spaces and brackets); ``"DATE+TIME"`` names a date
        column and a time-of-day column.
    date_format
        strftime format of the time values (``"%d.%m.%Y %H:%M:%S.%f"``), or
        ``epoch_s``/``epoch_ms``/``epoch_us``/``epoch_ns``, overriding
        detection.  With a date + time pair, a format with hour directives
        reads ``"<date> <time>"``, one without reads the date column.
    label
        What the time stamps mark: ``"start"`` (default, the package's
        convention) or ``"end"`` (bars stamped at their close, moved back one
        bar length by :func:`relabel_bars`, which notes it for the quality
        report).

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
        Unknown file type (``rule="format"``); no time or price column, a
        ``time_column`` that does not exist, or a headerless file not in a
        known layout (``"schema"``); two columns claiming one name (``"ambiguous_column"``);
        a value that cannot be parsed, a missing time stamp, or a wall-clock
        time that does not exist or repeats in ``tz`` (``"parse"``).  The
        message names the file, the 0-based data row, the CSV line (1-based,
        header = line 1) and the column.
    """
    if label not in ("start", "end"):
        raise DataError(f"label must be 'start' or 'end', got {label!r}", column="label", rule="choice")
    stamps: BarLabel = label
    raw, label, is_csv, carried, notes = _read(source)  # noqa: PLW2901  (``label`` now names the source)
    columns = _map_columns(list(raw.columns), label)
    index = _time_index(raw, columns, tz, label, is_csv, time_column=time_column, date_format=date_format, notes=notes)

    attrs: dict[str, Any] = {
        k: v for k, v in carried.items() if k not in ("source", "symbol", "synthetic", "load_notes")
    }
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
    if notes:
        bars.attrs["load_notes"] = [*carried.get("load_notes", []), *notes]
    if stamps != "start":
        return relabel_bars(bars, stamps)
    return bars
