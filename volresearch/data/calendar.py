"""Trading calendars: when an instrument trades, and how long its trading year is.

A :class:`TradingCalendar` is a small frozen object describing one session per
trading date in the exchange's own time zone, so daylight saving moves the
session in UTC and not in local time.  Weekends, exchange holidays and early
closes are removed.  The calendar answers three questions for the package:

* **Which bars should exist?**  :meth:`TradingCalendar.expected_index` lists
  every bar start inside the sessions between two instants; validation
  compares it with the bars present to count missing bars and gaps.
* **How long is a trading year?**  ``days_per_year x session length``, so that
  :func:`year_fraction` turns a bar length into the ``dt`` of annualised
  continuous-time models: one minute is ``1/(252 x 1380)`` for 24-hour futures,
  ``1/(252 x 390)`` for US equities in regular hours, ``1/(365 x 1440)`` for
  crypto; a daily bar is ``1/252``.
* **Which calendar fits this data?**  :func:`infer_calendar` reads the bar
  spacing and where bars fall in New York time and says why it chose.

Presets (:data:`CALENDARS`): ``cme_globex``, ``us_equity_rth``,
``us_equity_extended``, ``us_equity_daily``, ``crypto_24x7``.

NYSE holidays follow the exchange's rules (New Year's Day, Martin Luther King
Jr. Day from 1998, Washington's Birthday, Good Friday, Memorial Day, Juneteenth
from 2022, Independence Day, Labor Day, Thanksgiving, Christmas; a holiday on
Sunday moves to Monday, on Saturday to Friday except New Year's Day), plus
listed one-off closures (2001-09-11..14, 2004-06-11, 2007-01-02,
2012-10-29/30, 2018-12-05, 2025-01-09).  Early closes at 13:00 ET (July 3,
the day after Thanksgiving, December 24, when those are trading days) are
modelled for ``us_equity_rth`` (and end extended hours at 17:00).  CME
holiday sessions vary by product and are not modelled: ``cme_globex`` trades
every weekday.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from dateutil.relativedelta import MO, TH
from pandas.tseries.holiday import (
    GoodFriday,
    Holiday,
    USLaborDay,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)
from pandas.tseries.offsets import DateOffset, Day

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

# ------------------------------------------------------------------ NYSE rules
_NYSE_HOLIDAYS: tuple[Holiday, ...] = (
    Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
    Holiday("Martin Luther King Jr. Day", month=1, day=1, offset=DateOffset(weekday=MO(3)), start_date="1998-01-01"),
    USPresidentsDay,
    GoodFriday,
    USMemorialDay,
    Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
    Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
    USLaborDay,
    USThanksgivingDay,
    Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
)
_NYSE_SPECIAL_CLOSURES: tuple[str, ...] = (
    "2001-09-11",
    "2001-09-12",
    "2001-09-13",
    "2001-09-14",
    "2004-06-11",
    "2007-01-02",
    "2012-10-29",
    "2012-10-30",
    "2018-12-05",
    "2025-01-09",
)
_NYSE_EARLY_CLOSES: tuple[Holiday, ...] = (
    Holiday("Eve of Independence Day", month=7, day=3),
    Holiday("Day after Thanksgiving", month=11, day=1, offset=[DateOffset(weekday=TH(4)), Day(1)]),
    Holiday("Christmas Eve", month=12, day=24),
)


def _dates(rules: tuple[Holiday, ...], start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    found: list[pd.Timestamp] = []
    for rule in rules:
        found.extend(rule.dates(start, end))
    return pd.DatetimeIndex(found, dtype="datetime64[ns]")


def nyse_holidays(start: object, end: object) -> pd.DatetimeIndex:
    """Weekdays in ``[start, end]`` (naive dates) on which the NYSE is closed all day."""
    t0, t1 = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()  # type: ignore[arg-type]
    index = _dates(_NYSE_HOLIDAYS, t0, t1).append(pd.DatetimeIndex(_NYSE_SPECIAL_CLOSURES, dtype="datetime64[ns]"))
    index = index[(index >= t0) & (index <= t1) & (index.dayofweek < 5)]
    return index.unique().sort_values()


def nyse_early_closes(start: object, end: object) -> pd.DatetimeIndex:
    """Trading days in ``[start, end]`` (naive dates) on which the NYSE closes at 13:00 ET."""
    t0, t1 = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()  # type: ignore[arg-type]
    index = _dates(_NYSE_EARLY_CLOSES, t0, t1)
    index = index[(index >= t0) & (index <= t1) & (index.dayofweek < 5)]
    return index.difference(nyse_holidays(t0, t1)).unique().sort_values()


_HOLIDAY_RULES = {"nyse": (nyse_holidays, nyse_early_closes)}


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

    The session of trading date ``d`` opens at local time ``open`` on calendar
    day ``d + open_day_offset`` and closes ``length`` of wall-clock time later;
    on an early-close date it ends at ``early_close`` on day ``d`` instead.

    Parameters
    ----------
    name
        Registry key.
    timezone
        IANA zone of the exchange.
    open
        Local opening time.
    length
        Nominal session length (at most one day); also the trading minutes per
        day of the trading year.
    open_day_offset
        ``0``: the session opens on its trading date; ``-1``: the evening
        before (CME Globex).
    weekdays
        Weekdays (Monday = 0) that are trading dates.
    days_per_year
        Trading dates in a nominal year (252 exchanges, 365 crypto).
    holidays
        ``"nyse"`` or ``None``.
    early_close
        Local closing time on early-close dates, or ``None``.
    description
        One line for humans.
    """

    name: str
    timezone: str
    open: _dt.time
    length: pd.Timedelta
    open_day_offset: int = 0
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    days_per_year: int = 252
    holidays: str | None = None
    early_close: _dt.time | None = None
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
        if self.holidays is not None and self.holidays not in _HOLIDAY_RULES:
            raise ConfigError(f"calendar {self.name!r}: unknown holiday rules {self.holidays!r}")

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
        dates = pd.date_range(first, last, freq="D", unit="ns")
        dates = dates[np.isin(dates.dayofweek, self.weekdays)]
        if self.holidays is not None:
            dates = dates.difference(_HOLIDAY_RULES[self.holidays][0](first, last))
        frame = self._frame(dates)
        return frame[(frame["close"] > t0) & (frame["open"] <= t1)]

    def _frame(self, dates: pd.DatetimeIndex) -> pd.DataFrame:
        local_open = dates + (_as_offset(self.open) + pd.Timedelta(days=self.open_day_offset))
        local_close = local_open + self.length
        if self.early_close is not None and self.holidays is not None and len(dates):
            early = _HOLIDAY_RULES[self.holidays][1](dates.min(), dates.max())
            local_close = local_close.where(~dates.isin(early), dates + _as_offset(self.early_close))
        return pd.DataFrame(
            {"open": _localise(local_open, self.timezone), "close": _localise(local_close, self.timezone)},
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
        """
        step = int(round(_seconds(bar_seconds) * _NS))
        sessions = self.sessions(start, end)
        opens, closes = _ns(sessions["open"]), _ns(sessions["close"])
        counts = np.maximum(-(-(closes - opens) // step), 0)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        values = np.repeat(opens, counts) + within * step
        t0, t1 = _utc(start).value, _utc(end).value
        values = values[(values >= t0) & (values <= t1)]
        return pd.DatetimeIndex(values.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")


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
            description="CME Globex futures: 18:00 ET (evening before) to 17:00 ET, Sunday evening to Friday; "
            "daily break 17:00-18:00 ET; holidays not modelled",
        ),
        TradingCalendar(
            name="us_equity_rth",
            timezone=_NEW_YORK,
            open=_dt.time(9, 30),
            length=pd.Timedelta(hours=6, minutes=30),
            holidays="nyse",
            early_close=_dt.time(13, 0),
            description="US equities, regular hours 09:30-16:00 ET, NYSE holidays, 13:00 early closes",
        ),
        TradingCalendar(
            name="us_equity_extended",
            timezone=_NEW_YORK,
            open=_dt.time(4, 0),
            length=pd.Timedelta(hours=16),
            holidays="nyse",
            early_close=_dt.time(17, 0),
            description="US equities with pre- and post-market, 04:00-20:00 ET, NYSE holidays",
        ),
        TradingCalendar(
            name="us_equity_daily",
            timezone="UTC",
            open=_dt.time(0, 0),
            length=pd.Timedelta(days=1),
            holidays="nyse",
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
    2. Bars on Saturday or on Sunday before 18:00: ``crypto_24x7``.
    3. Bars between 20:00 and 04:00 on trading nights (futures overnight
       hours): ``cme_globex``.
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
    weekday = np.asarray(local.dayofweek)
    minute = np.asarray(local.hour * 60 + local.minute)
    weekend = (weekday == 5) | ((weekday == 6) & (minute < 18 * 60))
    spacing = f"bar spacing {_human(bar)}"
    if bar >= 20 * 3600:
        utc_weekend = np.asarray(stamps.dayofweek) >= 5
        if utc_weekend.mean() > min_share:
            reason = f"{spacing} with {utc_weekend.mean():.1%} of bars on weekends -> crypto_24x7"
            return CALENDARS["crypto_24x7"], reason
        return CALENDARS["us_equity_daily"], f"{spacing}, no weekend bars -> us_equity_daily"
    if weekend.mean() > min_share:
        return CALENDARS["crypto_24x7"], (
            f"{spacing}; {weekend.mean():.1%} of bars fall on Saturday or Sunday before 18:00 ET, "
            "when futures and equities are closed -> crypto_24x7"
        )
    night = (minute >= 20 * 60) | (minute < 4 * 60)
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
