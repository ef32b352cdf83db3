"""Vendor layouts: which columns hold the time, and what a file without a header holds.

* :func:`time_role` reads a column name: ``timestamp``, ``datetime``, ``ts``,
  ``time`` or ``date`` with unit, zone or bar-position words around it in any
  case and spelling (``timestamp_utc``, ``time_ms``, ``Datetime (UTC)``,
  ``open_time``, ``ts_event``, ``<DATE>``, ``Gmt time``, ``openTime``).
* :func:`content_is_time` recognises a column by its values when no name
  does: date/time strings, ``yyyymmdd[HHMM[SS]]`` integers, or epoch numbers
  in seconds, milliseconds, microseconds or nanoseconds between 1980 and 2100.
* :func:`headerless_layout` names the columns of a file without a header row:
  the time (one column, or a date column and a time-of-day column), then
  ``open high low close`` and ``volume``; Binance klines (12 columns, the
  close time in column 7) keep their trade count.  The caller records the
  returned note so the assumption is visible.
* :func:`day_first` decides ``dd.mm.yyyy`` against ``mm/dd/yyyy``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["time_role", "content_is_time", "looks_like_data", "headerless_layout", "day_first", "split_tokens"]

#: Words that make a name a time column, and the role they give it.
_TIME_WORDS: dict[str, str] = {
    "timestamp": "timestamp",
    "datetime": "timestamp",
    "ts": "timestamp",
    "dt": "timestamp",
    "epoch": "timestamp",
    "unix": "timestamp",
    "time": "time",
    "date": "date",
    "day": "date",
}
#: Words allowed around a time word: zones, units, bar positions, sources.
_MODIFIERS = frozenset(
    {
        *("utc", "gmt", "z", "zulu", "local", "et", "est", "edt", "ct", "cst", "cet", "cest", "bst", "jst", "ny"),
        *("tz", "zone", "iso", "iso8601", "str", "string", "unix", "epoch", "posix"),
        *("s", "sec", "secs", "second", "seconds", "ms", "msec", "millis", "milliseconds"),
        *("us", "usec", "micros", "microseconds", "ns", "nsec", "nanos", "nanoseconds"),
        *("open", "start", "begin", "bar", "candle", "kline", "period", "interval", "event", "trade", "trading"),
        *("recv", "received", "exchange", "exch", "transact", "transaction", "quote", "sip", "local", "ref"),
        *("close", "end", "stop", "stamp"),
    }
)
_LATE = frozenset({"close", "end", "stop"})
_CANONICAL = frozenset({"timestamp", "datetime", "date_time", "open_time", "time_utc", "gmt_time", "ts", "t"})


_VOCABULARY = frozenset({*_TIME_WORDS, *_MODIFIERS})


def _segment(token: str) -> list[str] | None:
    """Split a run-together word (``utctimestampms``) into vocabulary words, fewest pieces first."""
    best: list[list[str] | None] = [None] * (len(token) + 1)
    best[0] = []
    for end in range(1, len(token) + 1):
        for start in range(end):
            head = best[start]
            piece = token[start:end]
            if head is not None and (piece in _VOCABULARY or piece.isdigit()):
                candidate = [*head, piece]
                if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                    best[end] = candidate
    return best[-1]


def _merge(tokens: list[str]) -> list[str]:
    merged: list[str] = []
    for token in tokens:
        if merged and (merged[-1], token) in {("date", "time"), ("time", "stamp")}:
            merged[-1] = "datetime" if token == "time" else "timestamp"
        else:
            merged.append(token)
    return merged


def split_tokens(name: object, *, camel: bool = False) -> list[str]:
    """Lower-case word tokens of a column name.

    Brackets, spaces and punctuation separate words; with ``camel`` a capital
    after a lower-case letter does too (``openTime``); run-together words made
    only of time, unit and zone words are split (``utctimestampms``).
    """
    text = str(name).strip()
    if camel:
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    tokens: list[str] = []
    for token in re.split(r"[^0-9a-zA-Z]+", text.lower()):
        if not token:
            continue
        if token in _VOCABULARY or token.isdigit():
            tokens.append(token)
            continue
        pieces = _segment(token)
        tokens.extend(pieces if pieces is not None and any(p in _TIME_WORDS for p in pieces) else [token])
    return _merge(tokens)


def time_role(name: object) -> tuple[str, int] | None:
    """Role of a column name as a time column, and its rank (lower wins), or ``None``.

    Roles: ``"timestamp"`` (a full time stamp), ``"date"`` (a date, possibly
    with time), ``"time"`` (bare ``time``: a time of day beside a date column,
    else a full time stamp).  Rank 0 for the common spellings, 1 for other
    names of the bar start, 2 for names of the bar end (``close_time``).
    """
    for camel in (False, True):
        found = _role_of(split_tokens(name, camel=camel))
        if found is not None:
            return found
    return None


def _role_of(tokens: list[str]) -> tuple[str, int] | None:
    if not tokens:
        return None
    if tokens == ["t"]:
        return "timestamp", 0
    words = [t for t in tokens if t in _TIME_WORDS]
    if not words or any(t not in _TIME_WORDS and t not in _MODIFIERS and not t.isdigit() for t in tokens):
        return None
    roles = {_TIME_WORDS[w] for w in words}
    role = "timestamp" if "timestamp" in roles or roles == {"date", "time"} else roles.pop()
    if role == "time" and tokens != ["time"]:
        role = "timestamp"
    joined = "_".join(tokens)
    if joined in _CANONICAL or tokens in (["date"], ["time"]):
        rank = 0
    else:
        rank = 2 if any(t in _LATE for t in tokens) else 1
    return role, rank


# ---------------------------------------------------------------- contents
_DATE_TEXT = re.compile(
    r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$"
    r"|^\d{1,2}[-./]\d{1,2}[-./]\d{4}([ T]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?$"
    r"|^\d{8}[ T]?\d{4,6}$",
    re.IGNORECASE,
)
_TIME_OF_DAY_TEXT = re.compile(r"^\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?$")
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LOW, _HIGH = pd.Timestamp("1980-01-01").value, pd.Timestamp("2100-01-01").value
_EPOCH_SCALE = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def looks_like_data(cell: str) -> bool:
    """Whether one cell of a first line reads as a value (number, date, time) rather than a name."""
    text = cell.strip().strip('"').strip("'").strip()
    if text == "":
        return True
    return bool(_NUMBER_TEXT.match(text) or _DATE_TEXT.match(text) or _TIME_OF_DAY_TEXT.match(text))


def epoch_unit_in_range(numbers: np.ndarray) -> str | None:
    """The epoch unit in which all ``numbers`` fall between 1980 and 2100, or ``None``."""
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return None
    for unit, scale in _EPOCH_SCALE.items():
        ns = finite * scale
        if np.all((ns >= _LOW) & (ns < _HIGH)):
            return unit
    return None


def _compact(numbers: np.ndarray) -> bool:
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0 or not np.all(finite == np.round(finite)):
        return False
    return bool(
        np.all((finite >= 1.9e7) & (finite < 2.2e7))
        or np.all((finite >= 1.9e11) & (finite < 2.2e11))
        or np.all((finite >= 1.9e13) & (finite < 2.2e13))
    )


def content_is_time(series: pd.Series, sample: int = 200) -> bool:
    """Whether a column's first ``sample`` values read as time stamps (see the module notes)."""
    head = series.iloc[:sample].dropna()
    if head.empty:
        return False
    if isinstance(head.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(head.dtype):
        return True
    if pd.api.types.is_bool_dtype(head.dtype):
        return False
    if pd.api.types.is_numeric_dtype(head.dtype):
        numbers = head.to_numpy(dtype=np.float64)
        if not np.all(numbers == np.round(numbers)):
            return False
        return _compact(numbers) or epoch_unit_in_range(numbers) is not None
    text = head.astype("string").str.strip()
    return bool(text.map(lambda v: bool(_DATE_TEXT.match(str(v)))).all())


def _is_time_of_day(series: pd.Series) -> bool:
    head = series.dropna().iloc[:200]
    if head.empty:
        return False
    if pd.api.types.is_numeric_dtype(head.dtype):
        numbers = head.to_numpy(dtype=np.float64)
        if not np.all(numbers == np.round(numbers)) or numbers.min() < 0 or numbers.max() > 235959:
            return False
        hhmmss = numbers if numbers.max() > 2359 else numbers * 100
        return bool(np.all((hhmmss // 10000 < 24) & (hhmmss // 100 % 100 < 60) & (hhmmss % 100 < 60)))
    text = head.astype("string").str.strip()
    return bool(text.str.fullmatch(_TIME_OF_DAY_TEXT.pattern).fillna(False).all())


def _is_date_only(series: pd.Series) -> bool:
    head = series.dropna().iloc[:200]
    if head.empty:
        return False
    if pd.api.types.is_numeric_dtype(head.dtype):
        numbers = head.to_numpy(dtype=np.float64)
        return bool(np.all(numbers == np.round(numbers)) and np.all((numbers >= 1.9e7) & (numbers < 2.2e7)))
    text = head.astype("string").str.strip()
    pattern = r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|\d{8}"
    return bool(text.str.fullmatch(pattern).fillna(False).all())


def _numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        return True
    return bool(pd.to_numeric(series.iloc[:200], errors="coerce").notna().all())


def headerless_layout(frame: pd.DataFrame) -> tuple[dict[object, str], str] | None:
    """Names for the columns of a table read without a header, and a note saying so.

    Returns ``({position label: name}, note)`` or ``None`` when the table does
    not start with a time (one column, or a date and a time of day) followed
    by at least four numeric columns.
    """
    for skip in range(3):
        found = _layout_from(frame, skip)
        if found is not None:
            return found
        if (
            skip >= frame.shape[1]
            or _numeric(frame[frame.columns[skip]])
            or content_is_time(frame[frame.columns[skip]])
        ):
            return None
    return None


def _layout_from(frame: pd.DataFrame, skip: int) -> tuple[dict[object, str], str] | None:
    """:func:`headerless_layout` with the time in column ``skip`` (leading text columns such as a symbol skipped)."""
    cols = list(frame.columns)[skip:]
    if len(cols) < 5:
        return None
    first, second = frame[cols[0]], frame[cols[1]]
    split = (
        _is_date_only(first)
        and _is_time_of_day(second)
        and (not pd.api.types.is_numeric_dtype(second.dtype) or first.nunique() < len(first))
    )
    if split:
        names: list[str] = ["date", "time"]
        described = "date, time of day"
    elif content_is_time(first):
        names = ["timestamp"]
        described = "time"
    else:
        return None
    rest = cols[len(names) :]
    numeric = [c for c in rest[:5] if _numeric(frame[c])]
    if len(numeric) < 4 or numeric[:4] != rest[:4]:
        return None
    prices = ["open", "high", "low", "close"]
    value_names = prices + (["volume"] if len(numeric) >= 5 and numeric[4] == rest[4] else [])
    names += value_names
    kline = (
        not split
        and skip == 0
        and len(cols) == 12
        and pd.api.types.is_numeric_dtype(frame[cols[6]].dtype)
        and content_is_time(frame[cols[6]])
        and bool((frame[cols[6]].to_numpy(dtype=np.float64) > frame[cols[0]].to_numpy(dtype=np.float64)).all())
    )
    mapping: dict[object, str] = dict(zip(cols, names, strict=False))
    if kline:
        mapping[cols[8]] = "trade_count"
    ignored = frame.shape[1] - len(mapping)
    layout = "Binance kline" if kline else "time first" if skip == 0 else f"time in column {skip + 1}"
    note = (
        f"no header row: assumed the {layout} layout, columns read as {described}, "
        f"{', '.join(value_names)}{', trade_count (column 9)' if kline else ''}"
        f"{f'; {ignored} further column(s) ignored' if ignored else ''}"
    )
    return mapping, note


# ----------------------------------------------------------------- day first
_DMY = re.compile(r"^\s*(\d{1,2})([-./])(\d{1,2})[-./]\d{2,4}")


def day_first(text: pd.Series) -> bool | None:
    """``True`` for ``dd.mm.yyyy`` dates, ``False`` for ``mm/dd/yyyy``, ``None`` when not that form.

    A first field above 12 means day first, a second field above 12 month
    first; otherwise the order that keeps the times non-decreasing, and when
    both do, the separator's convention: ``/`` month first, ``.`` and ``-``
    day first.
    """
    parts = text.astype("string").str.extract(_DMY.pattern)
    if parts.empty or parts[0].isna().any():
        return None
    a = parts[0].astype(int).to_numpy()
    b = parts[2].astype(int).to_numpy()
    if (a > 12).any():
        return True
    if (b > 12).any():
        return False
    orders = []
    for flag in (True, False):
        parsed = pd.to_datetime(text, errors="coerce", dayfirst=flag, format="mixed")
        orders.append(bool(parsed.notna().all() and parsed.is_monotonic_increasing))
    if orders[0] != orders[1]:
        return orders[0]
    return parts[1].iloc[0] != "/"
