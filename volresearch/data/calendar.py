"""Trading calendars: when an instrument trades, and how long its trading year is.

A :class:`TradingCalendar` describes one session per trading date in the
exchange's own time zone, so daylight saving moves the session in UTC and not
in local time.  Weekends, exchange holidays and early closes come from the
exchange's published calendar as maintained by :mod:`exchange_calendars`
(``CMES`` for CME Globex, ``XNYS`` for US equities); calendars without
holidays (crypto, FX spot) follow a weekly rule.  The calendar answers four
questions for the package:

* **Which bars should exist?**  :meth:`TradingCalendar.expected_index` lists
  every bar start inside the sessions between two instants; validation
  compares it with the bars present to count missing bars and gaps.
* **When are the next bars?**  :meth:`TradingCalendar.next_bars` gives the
  session time stamps of the next ``n`` bars, skipping breaks, weekends,
  holidays and early closes; forecast steps are labelled with them.
* **How long is a trading year?**  ``days_per_year x session length``, so that
  :func:`year_fraction` turns a bar length into the ``dt`` of annualised
  continuous-time models: one minute is ``1/(252 x 1380)`` for 24-hour futures,
  ``1/(252 x 390)`` for US equities in regular hours, ``1/(365 x 1440)`` for
  crypto, ``1/(260 x 1440)`` for FX spot; a daily bar is ``1/252``.
* **Which calendar fits this data?**  :func:`infer_calendar` reads the bar
  spacing and where bars fall in New York time and says why it chose.

Presets (:data:`CALENDARS`):

``cme_globex``
    17:00-16:00 Chicago (18:00-17:00 New York), Sunday evening to Friday, with
    the daily maintenance break 16:00-17:00 Chicago between sessions; trading
    dates, holidays (New Year's Day, Good Friday, Christmas) and 12:00 Chicago
    early closes (US holidays such as Martin Luther King Jr. Day,
    Thanksgiving and the day after, Christmas Eve) from ``exchange_calendars``
    ``CMES`` (whose own sessions run 17:00-17:00 without the break).
``us_equity_rth``
    ``XNYS`` regular hours 09:30-16:00 New York with NYSE holidays, one-off
    closures and 13:00 early closes.
``us_equity_extended``
    04:00-20:00 New York on NYSE trading days; on NYSE early-close days the
    extended session ends at 17:00.
``us_equity_daily``
    One bar per NYSE trading day, stamped at midnight UTC of the date.
``crypto_24x7``
    Continuous trading every day (UTC days).
``fx_24x5``
    FX spot: Sunday 17:00 to Friday 17:00 New York, trading date = the New
    York date at which its day ends at 17:00; no holidays.
"""

from __future__ import annotations

import datetime as _dt
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError

__all__ = [
    "TradingCalendar",
    "CALENDARS",
    "get_calendar",
    "infer_calendar",
    "infer_bar_seconds",
    "bars_per_year",
    "year_fraction",
    "nyse_holidays",
    "nyse_early_closes",
]

_NS = 10**9
_NEW_YORK = "America/New_York"
_DAY_NS = 86400 * _NS

# ------------------------------------------------------- exchange calendars
_EXCHANGES: dict[str, Any] = {}
_EXCHANGE_LOCK = threading.Lock()
_KNOWN_EXCHANGES = ("CMES", "XNYS")


def _exchange(code: str, first: pd.Timestamp, last: pd.Timestamp) -> Any:
    """The ``exchange_calendars`` calendar ``code`` covering dates ``first..last`` (naive).

    Built once and widened (by whole years) when a request falls outside the
    dates it covers.
    """
    import exchange_calendars as xcals

    # exchange_calendars uses pandas idioms pandas 3 deprecates; the results are unaffected.
    with _EXCHANGE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        cal = _EXCHANGES.get(code)
        if cal is None:
            cal = xcals.get_calendar(code)
        lo, hi = cal.first_session, cal.last_session
        if first < lo or last > hi:
            start = min(lo, pd.Timestamp(year=first.year, month=1, day=1))
            end = max(hi, pd.Timestamp(year=last.year, month=12, day=31))
            cal = xcals.get_calendar(code, start=start, end=end)
        _EXCHANGES[code] = cal
        return cal


def _exchange_sessions(code: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Sessions of exchange ``code`` with trading dates in ``[first, last]``.

    Columns ``open``, ``close`` (UTC) and ``early`` (bool), indexed by naive
    trading date.
    """
    cal = _exchange(code, first, last)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        labels = cal.sessions_in_range(max(first, cal.first_session), min(last, cal.last_session))
        early = labels.isin(cal.early_closes)
        opens, closes = cal.opens[labels].to_numpy(), cal.closes[labels].to_numpy()
    return pd.DataFrame(
        {"open": opens, "close": closes, "early": early},
        index=pd.DatetimeIndex(labels, name="date").as_unit("ns"),
    )


def nyse_holidays(start: object, end: object) -> pd.DatetimeIndex:
    """Weekdays in ``[start, end]`` (naive dates) on which the NYSE is closed all day (``XNYS``)."""
    t0, t1 = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()  # type: ignore[arg-type]
    weekdays = pd.bdate_range(t0, t1).as_unit("ns")
    sessions = _exchange_sessions("XNYS", t0, t1).index
    return weekdays.difference(sessions).sort_values()


def nyse_early_closes(start: object, end: object) -> pd.DatetimeIndex:
    """Trading days in ``[start, end]`` (naive dates) on which the NYSE closes early (``XNYS``, 13:00 ET)."""
    t0, t1 = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()  # type: ignore[arg-type]
    sessions = _exchange_sessions("XNYS", t0, t1)
    return pd.DatetimeIndex(sessions.index[sessions["early"].to_numpy()], name=None).sort_values()


# ------------------------------------------------------------------- calendar
def _seconds(bar: float | int | str | pd.Timedelta, *, name: str = "bar_seconds") -> float:
    """A bar length in seconds; numbers are seconds, strings/Timedeltas are converted."""
    try:
        if isinstance(bar, (int, float, np.integer, np.floating)) and not isinstance(bar, bool):
            value = float(bar)
        else:
            value = pd.Timedelta(bar).total_seconds()
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot read {name} {bar!r}: {exc}", rule="bar_length") from None
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"{name} must be a positive number of seconds, got {bar!r}", rule="bar_length")
    return value


@dataclass(frozen=True)
class TradingCalendar:
    """One session per trading date, defined in local exchange time.

    Without ``exchange`` the trading dates are the ``weekdays`` and the session
    of trading date ``d`` opens at local time ``open`` on calendar day
    ``d + open_day_offset`` and closes ``length`` of wall-clock time later.
    With ``exchange`` the trading dates are that exchange's sessions in
    :mod:`exchange_calendars` (holidays removed); with ``exchange_hours`` the
    opens and closes are the exchange's own (early closes included), otherwise
    the local ``open``/``length`` rule applies and on the exchange's
    early-close dates the session ends at local ``early_close``, or at the
    exchange's close when ``early_close`` is ``None``.

    Parameters
    ----------
    name
        Registry key.
    timezone
        IANA zone of the exchange.
    open
        Local opening time (nominal for exchange hours).
    length
        Nominal session length (at most one day); also the trading time per
        day of the trading year.
    open_day_offset
        ``0``: the session opens on its trading date; ``-1``: the evening
        before (CME Globex, FX).
    weekdays
        Weekdays (Monday = 0) that are trading dates when there is no
        ``exchange``.
    days_per_year
        Trading dates in a nominal year (252 exchanges, 260 FX, 365 crypto).
    exchange
        ``exchange_calendars`` code (``"CMES"``, ``"XNYS"``) or ``None``.
    exchange_hours
        Take opens and closes from the exchange rather than from the rule.
    early_close
        Local closing time on the exchange's early-close dates; ``None``
        takes the exchange's own early close.
    exchange_early_closes
        Shorten sessions on the exchange's early-close dates at all (``False``
        for a calendar of daily bars).
    description
        One line for humans.

    Raises
    ------
    ConfigError
        Session length outside (0, 1 day], bad offset, weekdays or days per
        year, unknown exchange code.
    """

    name: str
    timezone: str
    open: _dt.time
    length: pd.Timedelta
    open_day_offset: int = 0
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    days_per_year: int = 252
    exchange: str | None = None
    exchange_hours: bool = False
    early_close: _dt.time | None = None
    exchange_early_closes: bool = True
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        length = pd.Timedelta(self.length)
        if not pd.Timedelta(0) < length <= pd.Timedelta(days=1):
            raise ConfigError(f"calendar {self.name!r}: session length must be in (0, 1 day], got {length}")
        object.__setattr__(self, "length", length)
        if self.open_day_offset not in (0, -1):
            raise ConfigError(f"calendar {self.name!r}: open_day_offset must be 0 or -1")
        if not self.weekdays or any(w not in range(7) for w in self.weekdays):
            raise ConfigError(f"calendar {self.name!r}: weekdays must be a non-empty subset of 0..6")
        if self.days_per_year <= 0:
            raise ConfigError(f"calendar {self.name!r}: days_per_year must be positive")
        if self.exchange is not None and self.exchange not in _KNOWN_EXCHANGES:
            raise ConfigError(
                f"calendar {self.name!r}: unknown exchange {self.exchange!r}; known: {', '.join(_KNOWN_EXCHANGES)}"
            )
        if self.exchange_hours and self.exchange is None:
            raise ConfigError(f"calendar {self.name!r}: exchange_hours needs an exchange")

    # ------------------------------------------------------------ year sizes
    @property
    def session_seconds(self) -> float:
        """Nominal session length in seconds (23 400 for US equities RTH)."""
        return self.length.total_seconds()

    @property
    def year_seconds(self) -> float:
        """Trading-year length in seconds: ``days_per_year x session_seconds``."""
        return self.days_per_year * self.session_seconds

    # -------------------------------------------------------------- sessions
    def sessions(self, start: object, end: object) -> pd.DataFrame:
        """Sessions overlapping ``[start, end]``.

        Parameters
        ----------
        start, end
            Instants (naive values are UTC).

        Returns
        -------
        pandas.DataFrame
            Indexed by trading date (naive, named ``date``); columns ``open``
            and ``close`` (UTC, nanoseconds, ``close`` exclusive); sorted and
            non-overlapping.
        """
        t0, t1 = _utc(start), _utc(end)
        first = t0.tz_convert(self.timezone).tz_localize(None).normalize() - pd.Timedelta(days=1)
        last = t1.tz_convert(self.timezone).tz_localize(None).normalize() + pd.Timedelta(days=2)
        frame = self._frame(first, last)
        return frame[(frame["close"] > t0) & (frame["open"] <= t1)]

    def _frame(self, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
        if self.exchange is None:
            dates = pd.date_range(first, last, freq="D", unit="ns")
            dates = dates[np.isin(dates.day_of_week, self.weekdays)]
            early = np.zeros(len(dates), dtype=bool)
        else:
            xs = _exchange_sessions(self.exchange, first, last)
            dates, early = pd.DatetimeIndex(xs.index), xs["early"].to_numpy()
            if self.exchange_hours:
                return pd.DataFrame(
                    {"open": _utc_index(xs["open"]), "close": _utc_index(xs["close"])},
                    index=pd.DatetimeIndex(dates, name="date"),
                )
        local_open = dates + (_as_offset(self.open) + pd.Timedelta(days=self.open_day_offset))
        local_close = local_open + self.length
        if self.early_close is not None and early.any():
            local_close = local_close.where(~early, dates + _as_offset(self.early_close))
        close = _localise(local_close, self.timezone)
        if self.exchange is not None and self.early_close is None and self.exchange_early_closes and early.any():
            close = close.where(~early, _utc_index(xs["close"]))
        return pd.DataFrame(
            {"open": _localise(local_open, self.timezone), "close": close},
            index=pd.DatetimeIndex(dates, name="date"),
        )

    @staticmethod
    def session_positions(timestamps: object, sessions: pd.DataFrame) -> np.ndarray:
        """Row of ``sessions`` holding each instant (``open <= t < close``), ``-1`` if none."""
        opens = _ns(sessions["open"])
        closes = _ns(sessions["close"])
        t = _utc_index(timestamps).asi8
        if len(opens) == 0:
            return np.full(len(t), -1, dtype=np.int64)
        pos = np.searchsorted(opens, t, side="right") - 1
        inside = (pos >= 0) & (t < closes[np.clip(pos, 0, None)])
        return np.where(inside, pos, -1)

    def is_open(self, timestamps: object) -> np.ndarray:
        """Whether each instant lies inside a session; boolean array."""
        index = _utc_index(timestamps)
        if len(index) == 0:
            return np.zeros(0, dtype=bool)
        return self.session_positions(index, self.sessions(index.min(), index.max())) >= 0

    def expected_index(self, start: object, end: object, bar_seconds: float | str | pd.Timedelta) -> pd.DatetimeIndex:
        """Every bar start a complete record holds in ``[start, end]``.

        Bars start at each session's open and every ``bar_seconds`` after it,
        as long as they start before the close.

        Parameters
        ----------
        start, end
            Instants (naive = UTC), both included.
        bar_seconds
            Bar length in seconds (or a Timedelta / offset string).

        Returns
        -------
        pandas.DatetimeIndex
            UTC, nanoseconds, named ``timestamp``, strictly increasing.

        Raises
        ------
        DataError
            Non-positive or unreadable bar length.
        """
        step = int(round(_seconds(bar_seconds) * _NS))
        return self._bar_starts(self.sessions(start, end), step, _utc(start).value, _utc(end).value)

    @staticmethod
    def _bar_starts(sessions: pd.DataFrame, step: int, t0: int, t1: int) -> pd.DatetimeIndex:
        opens, closes = _ns(sessions["open"]), _ns(sessions["close"])
        counts = np.maximum(-(-(closes - opens) // step), 0)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        values = np.repeat(opens, counts) + within * step
        values = values[(values >= t0) & (values <= t1)]
        return pd.DatetimeIndex(values.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")

    def next_bars(self, after: object, n: int, bar_seconds: float | str | pd.Timedelta) -> pd.DatetimeIndex:
        """Start times of the next ``n`` bars strictly after ``after`` that lie inside sessions.

        Bars sit on each session's grid (open + k x ``bar_seconds``, before the
        close), so maintenance breaks, weekends, holidays and early closes are
        skipped; for a daily calendar these are the next ``n`` sessions'
        labels.  ``after`` itself need not be a bar start or inside a session.

        Parameters
        ----------
        after
            Instant (naive = UTC), usually the start of the last observed bar.
        n
            Number of bars (``0`` gives an empty index).
        bar_seconds
            Bar length in seconds (or a Timedelta / offset string).

        Returns
        -------
        pandas.DatetimeIndex
            ``n`` UTC time stamps (nanoseconds), named ``timestamp``, strictly
            increasing.

        Raises
        ------
        DataError
            Negative or non-integer ``n``, non-positive bar length.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise DataError(f"next_bars: n must be a non-negative integer, got {n!r}", rule="option")
        seconds = _seconds(bar_seconds)
        step = int(round(seconds * _NS))
        t0 = _utc(after).value + 1
        # Calendar span holding n bars at the nominal rate, plus a holiday week.
        days_per_bar = seconds / self.session_seconds * 7.0 / min(len(self.weekdays), 5 if self.exchange else 7)
        span = int((int(n) * days_per_bar * 1.2 + 10) * _DAY_NS)
        while True:
            t1 = t0 + span
            starts = self._bar_starts(
                self.sessions(pd.Timestamp(t0, tz="UTC"), pd.Timestamp(t1, tz="UTC")), step, t0, t1
            )
            if len(starts) >= n:
                return starts[: int(n)]
            span *= 2


def _as_offset(moment: _dt.time) -> pd.Timedelta:
    return pd.Timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


def _ns(column: pd.Series) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(column).as_unit("ns").asi8)


def _utc(value: object) -> pd.Timestamp:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).as_unit("ns")


def _utc_index(values: object) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(values)  # type: ignore[arg-type]
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.as_unit("ns")


def _localise(local: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    # Preset sessions open and close away from the 02:00 clock change; for a
    # custom calendar that does not, a missing time moves forward and a
    # repeated one takes its standard-time reading.
    aware = local.tz_localize(timezone, nonexistent="shift_forward", ambiguous=np.zeros(len(local), dtype=bool))
    return aware.tz_convert("UTC").as_unit("ns")


CALENDARS: dict[str, TradingCalendar] = {
    cal.name: cal
    for cal in (
        TradingCalendar(
            name="cme_globex",
            timezone=_NEW_YORK,
            open=_dt.time(18, 0),
            length=pd.Timedelta(hours=23),
            open_day_offset=-1,
            exchange="CMES",
            description="CME Globex futures (exchange_calendars CMES): 18:00 ET (evening before) to 17:00 ET, "
            "Sunday evening to Friday; daily break 17:00-18:00 ET; CME holidays and early closes",
        ),
        TradingCalendar(
            name="us_equity_rth",
            timezone=_NEW_YORK,
            open=_dt.time(9, 30),
            length=pd.Timedelta(hours=6, minutes=30),
            exchange="XNYS",
            exchange_hours=True,
            description="US equities (exchange_calendars XNYS), regular hours 09:30-16:00 ET, NYSE holidays, "
            "13:00 early closes",
        ),
        TradingCalendar(
            name="us_equity_extended",
            timezone=_NEW_YORK,
            open=_dt.time(4, 0),
            length=pd.Timedelta(hours=16),
            exchange="XNYS",
            early_close=_dt.time(17, 0),
            description="US equities with pre- and post-market, 04:00-20:00 ET on NYSE trading days "
            "(17:00 on early-close days)",
        ),
        TradingCalendar(
            name="us_equity_daily",
            timezone="UTC",
            open=_dt.time(0, 0),
            length=pd.Timedelta(days=1),
            exchange="XNYS",
            exchange_early_closes=False,
            description="One bar per NYSE trading day, stamped at midnight UTC of the date",
        ),
        TradingCalendar(
            name="crypto_24x7",
            timezone="UTC",
            open=_dt.time(0, 0),
            length=pd.Timedelta(days=1),
            weekdays=(0, 1, 2, 3, 4, 5, 6),
            days_per_year=365,
            description="Continuous trading every day of the year",
        ),
        TradingCalendar(
            name="fx_24x5",
            timezone=_NEW_YORK,
            open=_dt.time(17, 0),
            length=pd.Timedelta(days=1),
            open_day_offset=-1,
            days_per_year=260,
            description="FX spot: Sunday 17:00 ET to Friday 17:00 ET, continuous on weekdays, no holidays",
        ),
    )
}


def get_calendar(calendar: str | TradingCalendar) -> TradingCalendar:
    """Return a preset calendar by name (a calendar passes through).

    Raises
    ------
    ConfigError
        Unknown name; the message lists the known ones.
    """
    if isinstance(calendar, TradingCalendar):
        return calendar
    try:
        return CALENDARS[calendar]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown trading calendar {calendar!r}; known: {', '.join(CALENDARS)}") from None


def bars_per_year(calendar: str | TradingCalendar, bar_seconds: float | str | pd.Timedelta) -> float:
    """Bars of ``bar_seconds`` in a nominal trading year of ``calendar``.

    ``days_per_year x session seconds / bar_seconds``: 98 280 one-minute bars
    for ``us_equity_rth``, 347 760 for ``cme_globex``, 525 600 for
    ``crypto_24x7``; 252 daily bars for ``us_equity_daily``.
    """
    return get_calendar(calendar).year_seconds / _seconds(bar_seconds)


def year_fraction(bar_seconds: float | str | pd.Timedelta, calendar: str | TradingCalendar) -> float:
    """Length of one bar in trading years: the ``dt`` of annualised models.

    Parameters
    ----------
    bar_seconds
        Bar length in seconds (60 for 1-minute bars), or a Timedelta/offset
        string.
    calendar
        Preset name or calendar.

    Returns
    -------
    float
        ``1 / bars_per_year(calendar, bar_seconds)``.

    Raises
    ------
    ConfigError
        Unknown calendar.
    DataError
        Non-positive or unreadable bar length.
    """
    return 1.0 / bars_per_year(calendar, bar_seconds)


# ------------------------------------------------------------------ inference
def infer_bar_seconds(index: pd.DatetimeIndex) -> float | None:
    """Most common positive spacing of a time index, in seconds.

    The mode rather than the median, so illiquid series where most spacings
    are gaps still give their true bar length.  ``None`` with fewer than two
    distinct times.
    """
    values = np.unique(_utc_index(index).asi8)
    steps = np.diff(values)
    if steps.size == 0:
        return None
    uniq, counts = np.unique(steps, return_counts=True)
    return float(uniq[np.argmax(counts)]) / _NS


def infer_calendar(index: pd.DatetimeIndex, *, min_share: float = 0.001) -> tuple[TradingCalendar, str]:
    """Choose the preset that fits a time index, and say why.

    Rules, in order (New York time; a category counts when more than
    ``min_share`` of the bars fall in it):

    1. Daily spacing (most common spacing >= 20 h): ``crypto_24x7`` if bars
       fall on weekends, else ``us_equity_daily``.
    2. Bars on Saturday or on Sunday before 17:00: ``crypto_24x7``.
    3. Bars between 20:00 and 04:00 on trading nights: ``fx_24x5`` when bars
       also fall in 17:00-18:00 on Sunday to Thursday (the hour CME Globex is
       closed), else ``cme_globex``.
    4. Bars in 04:00-09:30 or 16:00-20:00: ``us_equity_extended``.
    5. Otherwise ``us_equity_rth``.

    Parameters
    ----------
    index
        Bar time stamps (tz-aware or naive UTC).
    min_share
        Share of bars a category needs to count (absorbs a few stray stamps).

    Returns
    -------
    calendar : TradingCalendar
    reason : str
        One sentence with the numbers behind the choice.

    Raises
    ------
    DataError
        Fewer than two distinct time stamps (``rule="calendar"``).
    """
    stamps = _utc_index(index)
    bar = infer_bar_seconds(stamps)
    if bar is None:
        raise DataError("cannot infer a calendar from fewer than two distinct time stamps", rule="calendar")
    local = stamps.tz_convert(_NEW_YORK)
    weekday = np.asarray(local.day_of_week)
    minute = np.asarray(local.hour * 60 + local.minute)
    weekend = (weekday == 5) | ((weekday == 6) & (minute < 17 * 60))
    globex_break = (minute >= 17 * 60) & (minute < 18 * 60) & ((weekday <= 3) | (weekday == 6))
    spacing = f"bar spacing {_human(bar)}"
    if bar >= 20 * 3600:
        utc_weekend = np.asarray(stamps.day_of_week) >= 5
        if utc_weekend.mean() > min_share:
            reason = f"{spacing} with {utc_weekend.mean():.1%} of bars on weekends -> crypto_24x7"
            return CALENDARS["crypto_24x7"], reason
        return CALENDARS["us_equity_daily"], f"{spacing}, no weekend bars -> us_equity_daily"
    if weekend.mean() > min_share:
        return CALENDARS["crypto_24x7"], (
            f"{spacing}; {weekend.mean():.1%} of bars fall on Saturday or Sunday before 17:00 ET, "
            "when futures, FX and equities are closed -> crypto_24x7"
        )
    night = (minute >= 20 * 60) | (minute < 4 * 60)
    if night.mean() > min_share and globex_break.mean() > min_share:
        return CALENDARS["fx_24x5"], (
            f"{spacing}; {night.mean():.1%} of bars fall between 20:00 and 04:00 ET and {globex_break.mean():.1%} "
            "in 17:00-18:00 ET, when CME Globex is closed -> fx_24x5"
        )
    if night.mean() > min_share:
        return CALENDARS["cme_globex"], (
            f"{spacing}; {night.mean():.1%} of bars fall between 20:00 and 04:00 ET, outside equity hours -> cme_globex"
        )
    extended = ((minute >= 4 * 60) & (minute < 9 * 60 + 30)) | ((minute >= 16 * 60) & (minute < 20 * 60))
    if extended.mean() > min_share:
        return CALENDARS["us_equity_extended"], (
            f"{spacing}; {extended.mean():.1%} of bars fall in 04:00-09:30 or 16:00-20:00 ET and none to speak of "
            "overnight or on weekends -> us_equity_extended"
        )
    regular = ~(extended | night | weekend)
    reason = f"{spacing}; {regular.mean():.1%} of bars fall within 09:30-16:00 ET on weekdays -> us_equity_rth"
    return CALENDARS["us_equity_rth"], reason


def _human(seconds: float) -> str:
    return str(pd.Timedelta(seconds=seconds)).replace("0 days ", "")
