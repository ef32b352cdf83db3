"""Session-aware bar-to-bar log returns: which returns are intraday and which are gaps.

Only a return between two consecutive bars of the same session is a one-bar
intraday return.  A return across a session boundary (a maintenance break, an
overnight close, a weekend, a holiday) is a *gap* return: it belongs to the
daily component of a volatility model and never to an intraday one.  The
session calendar decides (:mod:`volresearch.data.calendar`).

Rules
-----
Bars are stamped at their start (the package's bar convention).  Bars outside
every session are dropped first (their number is reported in
``frame.attrs["outside"]``).  For each remaining bar ``t`` after the first,
with previous bar ``p``:

* ``slot``: position of ``t`` in its session in bars from the open,
  ``floor((t - open) / bar_seconds)``, less the bars of an intra-session
  break (``break_start``/``break_end`` columns of the calendar's sessions,
  when the calendar has them) when ``t`` is after the break.  It is computed
  from the time stamp and the session's open, never by counting rows, so
  half-days and missing bars cannot shift it.
* ``regular``: ``p`` and ``t`` in the same session (and the same side of a
  break) and ``slot_t = slot_p + 1``; the return spans one bar,
  ``n_bars = 1``.
* ``intraday_gap``: same session and side of a break, with
  ``k = slot_t - slot_p - 1`` missing bars between them and
  ``1 <= k <= max_missing``.  The return is kept as an intraday return that
  spans ``n_bars = k + 1`` bars (its variance is the sum of the ``k + 1``
  per-bar variances it covers).
* ``gap``: everything else: a different session, across a break, or more than
  ``max_missing`` missing bars inside a session.  When the bars carry an
  ``open`` column the gap return ``ln(close_t / close_p)`` is split into the
  gap part ``ln(open_t / close_p)`` (column ``gap_return``) and the bar's own
  open-to-close move ``ln(close_t / open_t)`` (column ``intraday_return``, a
  one-bar intraday return at ``slot_t``, ``n_bars = 1``), so the first bar of
  every session still counts as an intraday observation.  Without ``open``
  the whole return is the gap part and ``intraday_return`` is NaN.

All returns are log returns per bar (``ln`` of price ratios, not scaled).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds
from volresearch.errors import DataError

__all__ = ["RETURN_KINDS", "DEFAULT_MAX_MISSING", "session_returns", "session_slots"]

#: Kinds of bar-to-bar return, in the order used by ``kind`` categories.
RETURN_KINDS = ("regular", "intraday_gap", "gap")
#: Missing bars a return may span inside a session and still count as intraday.
DEFAULT_MAX_MISSING = 5

_NS = 10**9


def _utc_index(values: Any) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(values)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns")


def _col_ns(sessions: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(_utc_index(sessions[name]).asi8)


def session_slots(
    timestamps: Any, calendar: str | TradingCalendar | Any, bar_seconds: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Session and slot of each instant.

    Parameters
    ----------
    timestamps
        Instants (bar starts; naive = UTC).
    calendar
        Preset name, :class:`TradingCalendar`, or any object with a
        ``sessions(start, end)`` method returning ``open``/``close`` (and
        optionally ``break_start``/``break_end``) columns.
    bar_seconds
        Bar length in seconds.

    Returns
    -------
    position : numpy.ndarray
        Row of ``sessions`` holding each instant, ``-1`` outside every session.
    slot : numpy.ndarray
        Bars from the session's open (break bars excluded), ``-1`` outside.
    side : numpy.ndarray
        ``0`` before an intra-session break (or no break), ``1`` after it.
    sessions : pandas.DataFrame
        The calendar's sessions covering the instants.
    """
    cal = get_calendar(calendar) if isinstance(calendar, str) else calendar
    index = _utc_index(timestamps)
    step = int(round(float(bar_seconds) * _NS))
    if step <= 0:
        raise DataError(f"bar length must be positive, got {bar_seconds!r} s", rule="bar_length")
    n = len(index)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), pd.DataFrame(columns=["open", "close"])
    sessions = cal.sessions(index.min(), index.max())
    t = index.asi8
    opens, closes = _col_ns(sessions, "open"), _col_ns(sessions, "close")
    if len(opens) == 0:
        neg = np.full(n, -1, dtype=np.int64)
        return neg, neg.copy(), np.zeros(n, dtype=np.int64), sessions
    pos = np.searchsorted(opens, t, side="right") - 1
    safe = np.clip(pos, 0, None)
    inside = (pos >= 0) & (t < closes[safe])
    offset = t - opens[safe]
    side = np.zeros(n, dtype=np.int64)
    if "break_start" in sessions.columns and "break_end" in sessions.columns:
        start_idx, end_idx = _utc_index(sessions["break_start"]), _utc_index(sessions["break_end"])
        has = ~(start_idx.isna() | end_idx.isna())
        if has.any():
            bs = np.where(has, start_idx.asi8, closes)
            be = np.where(has, end_idx.asi8, closes)
            in_break = inside & (t >= bs[safe]) & (t < be[safe])
            inside &= ~in_break
            after = inside & (t >= be[safe])
            side = after.astype(np.int64)
            offset = np.where(after, offset - (be[safe] - bs[safe]), offset)
    slot = np.where(inside, offset // step, -1)
    return np.where(inside, pos, -1), slot.astype(np.int64), np.where(inside, side, 0), sessions


def session_returns(
    bars: pd.DataFrame | pd.Series,
    calendar: str | TradingCalendar | Any,
    *,
    bar_seconds: float | None = None,
    max_missing: int = DEFAULT_MAX_MISSING,
) -> pd.DataFrame:
    """Classify bar-to-bar log returns into regular, intraday-gap and gap returns.

    Parameters
    ----------
    bars
        Bars with a ``close`` column (and optionally ``open``) on a tz-aware
        ``DatetimeIndex`` of bar starts, or a Series of close prices.
    calendar
        Preset name or calendar (see :func:`session_slots`).
    bar_seconds
        Bar length in seconds; inferred from the most common spacing when
        ``None``.
    max_missing
        Largest number ``k`` of missing bars a return may span inside a
        session and still be an intraday return over ``k + 1`` bars; a longer
        hole makes it a gap return.  ``0`` makes every hole a gap.

    Returns
    -------
    pandas.DataFrame
        One row per bar after the first in-session bar, indexed by the bar's
        time stamp, with columns

        ``return``
            ``ln(close_t / close_p)``, log return over the whole span.
        ``kind``
            ``"regular"``, ``"intraday_gap"`` or ``"gap"``.
        ``intraday_return``
            The part inside the session: ``return`` for regular and
            intraday-gap rows, ``ln(close_t / open_t)`` for gap rows when
            ``open`` is known (else NaN).
        ``gap_return``
            The gap part: ``ln(open_t / close_p)`` (or ``return`` without
            ``open``) for gap rows, ``0`` otherwise.
        ``session``
            Trading-date label (naive) of the session of bar ``t``.
        ``slot``
            Bars from the session's open to bar ``t`` (from the time stamp).
        ``n_bars``
            Bars spanned by ``intraday_return`` (``k + 1`` for an intraday
            gap, ``1`` otherwise).

        ``attrs`` holds ``bar_seconds``, ``max_missing`` and ``outside`` (bars
        dropped for lying outside every session).

    Raises
    ------
    DataError
        Missing ``close``, non-positive prices, unsorted or duplicated time
        stamps, no bar length, negative ``max_missing``.
    """
    if isinstance(bars, pd.Series):
        frame = bars.to_frame("close")
    elif isinstance(bars, pd.DataFrame):
        frame = bars
    else:
        raise DataError("bars must be a DataFrame or a Series of prices", rule="type")
    if "close" not in frame.columns:
        raise DataError("bars have no 'close' column", column="close", rule="columns")
    if int(max_missing) < 0:
        raise DataError(f"max_missing must be >= 0, got {max_missing}", rule="option")
    index = _utc_index(frame.index)
    if len(index) > 1 and not bool(np.all(np.diff(index.asi8) > 0)):
        bad = np.flatnonzero(np.diff(index.asi8) <= 0) + 1
        raise DataError("bar time stamps must be strictly increasing", row=[int(b) for b in bad[:10]], rule="order")
    close = frame["close"].to_numpy(dtype=np.float64)
    has_open = "open" in frame.columns
    opn = frame["open"].to_numpy(dtype=np.float64) if has_open else None
    for name, values in (("close", close), ("open", opn)):
        if values is None:
            continue
        badv = ~np.isfinite(values) | (values <= 0)
        if badv.any():
            raise DataError(
                "prices must be finite and positive to take log returns",
                row=[int(r) for r in np.flatnonzero(badv)[:10]],
                column=name,
                rule="nonpositive",
            )
    if bar_seconds is None:
        bar_seconds = infer_bar_seconds(index)
        if bar_seconds is None:
            raise DataError("cannot infer the bar length from fewer than two bars", rule="bar_length")
    pos, slot, side, sessions = session_slots(index, calendar, float(bar_seconds))
    keep = pos >= 0
    outside = int((~keep).sum())
    index, pos, slot, side, close = index[keep], pos[keep], slot[keep], side[keep], close[keep]
    if opn is not None:
        opn = opn[keep]
    columns = ["return", "kind", "intraday_return", "gap_return", "session", "slot", "n_bars"]
    if len(index) < 2:
        out = pd.DataFrame({c: [] for c in columns}, index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
        out.attrs.update(bar_seconds=float(bar_seconds), max_missing=int(max_missing), outside=outside)
        return out
    logc = np.log(close)
    ret = np.diff(logc)
    same = (pos[1:] == pos[:-1]) & (side[1:] == side[:-1])
    missing = slot[1:] - slot[:-1] - 1
    regular = same & (missing == 0)
    intraday_gap = same & (missing >= 1) & (missing <= int(max_missing))
    gap = ~(regular | intraday_gap)
    kind = np.where(regular, "regular", np.where(intraday_gap, "intraday_gap", "gap"))
    if opn is not None:
        own = np.log(close[1:]) - np.log(opn[1:])
        gap_part = np.log(opn[1:]) - logc[:-1]
    else:
        own = np.full(ret.shape, np.nan)
        gap_part = ret
    intraday = np.where(gap, own, ret)
    gap_ret = np.where(gap, gap_part, 0.0)
    n_bars = np.where(intraday_gap, missing + 1, 1)
    labels = pd.DatetimeIndex(sessions.index)[pos[1:]]
    out = pd.DataFrame(
        {
            "return": ret,
            "kind": pd.Categorical(kind, categories=list(RETURN_KINDS)),
            "intraday_return": intraday,
            "gap_return": gap_ret,
            "session": np.asarray(labels.tz_localize(None) if labels.tz is not None else labels),
            "slot": slot[1:],
            "n_bars": n_bars.astype(np.int64),
        },
        index=pd.DatetimeIndex(index[1:], name="timestamp"),
    )
    out.attrs.update(bar_seconds=float(bar_seconds), max_missing=int(max_missing), outside=outside)
    return out
