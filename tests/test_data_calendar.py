"""Trading calendars: sessions, NYSE holidays against published schedules, inference, year fractions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volresearch.data import datasets, load_bars, synthetic_bars, validate_bars
from volresearch.data.calendar import (
    CALENDARS,
    bars_per_year,
    get_calendar,
    infer_bar_seconds,
    infer_calendar,
    nyse_early_closes,
    nyse_holidays,
    year_fraction,
)
from volresearch.errors import ConfigError, DataError

INDA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "INDA_1min.csv"

# Published NYSE holiday and early-close schedules (nyse.com, "Holidays & Trading Hours").
NYSE_PUBLISHED = {
    2023: ["01-02", "01-16", "02-20", "04-07", "05-29", "06-19", "07-04", "09-04", "11-23", "12-25"],
    2024: ["01-01", "01-15", "02-19", "03-29", "05-27", "06-19", "07-04", "09-02", "11-28", "12-25"],
    2025: ["01-01", "01-09", "01-20", "02-17", "04-18", "05-26", "06-19", "07-04", "09-01", "11-27", "12-25"],
    2026: ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07", "11-26", "12-25"],
}
NYSE_EARLY_PUBLISHED = {2023: ["07-03", "11-24"], 2024: ["07-03", "11-29", "12-24"], 2025: ["07-03", "11-28", "12-24"]}


@pytest.mark.parametrize("year", sorted(NYSE_PUBLISHED))
def test_nyse_holidays_match_the_published_schedule(year):
    got = [d.strftime("%m-%d") for d in nyse_holidays(f"{year}-01-01", f"{year}-12-31")]
    assert got == NYSE_PUBLISHED[year]


@pytest.mark.parametrize("year", sorted(NYSE_EARLY_PUBLISHED))
def test_nyse_early_closes_match_the_published_schedule(year):
    got = [d.strftime("%m-%d") for d in nyse_early_closes(f"{year}-01-01", f"{year}-12-31")]
    assert got == NYSE_EARLY_PUBLISHED[year]


def test_new_years_day_on_saturday_is_not_moved_to_friday():
    assert pd.Timestamp("2021-12-31") not in nyse_holidays("2021-12-01", "2022-01-31")
    assert pd.Timestamp("2021-12-24") in nyse_holidays("2021-12-01", "2021-12-31")  # Christmas on Saturday


def test_sp500_daily_history_matches_the_nyse_calendar_exactly():
    """Twenty years of real trading days (arch's S&P 500) against the holiday rules: nothing missing, nothing extra."""
    report = validate_bars(datasets.load("sp500"), calendar="us_equity_daily")
    assert report.expected_bars == report.n_rows == 5031
    assert report.missing_bar_pct == 0.0 and report.off_session_bars == 0


def test_us_equity_rth_sessions_follow_new_york_time():
    cal = get_calendar("us_equity_rth")
    winter = cal.sessions("2024-01-02 12:00", "2024-01-02 22:00")
    summer = cal.sessions("2024-07-01 12:00", "2024-07-01 22:00")
    assert winter["open"].iloc[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")
    assert winter["close"].iloc[0] == pd.Timestamp("2024-01-02 21:00", tz="UTC")
    assert summer["open"].iloc[0] == pd.Timestamp("2024-07-01 13:30", tz="UTC")
    assert len(cal.expected_index("2024-01-02", "2024-01-03", 60)) == 390
    assert len(cal.expected_index("2024-11-29", "2024-11-30", 60)) == 210  # 13:00 early close
    assert len(cal.expected_index("2024-11-28", "2024-11-29 05:00", 60)) == 0  # Thanksgiving
    assert len(cal.expected_index("2024-01-06", "2024-01-08", 60)) == 0  # weekend


def test_cme_globex_sessions_break_and_weekend():
    cal = get_calendar("cme_globex")
    week = cal.sessions("2024-01-07 00:00", "2024-01-13 00:00")
    assert len(week) == 5
    assert week["open"].iloc[0] == pd.Timestamp("2024-01-07 23:00", tz="UTC")  # Sunday 18:00 ET
    assert week["close"].iloc[-1] == pd.Timestamp("2024-01-12 22:00", tz="UTC")  # Friday 17:00 ET
    assert len(cal.expected_index(week["open"].iloc[0], week["close"].iloc[0], 60)) == 1380
    ny = lambda s: pd.Timestamp(s, tz="America/New_York")  # noqa: E731
    probes = [
        ny("2024-01-08 16:59"),
        ny("2024-01-08 17:00"),
        ny("2024-01-08 17:59"),
        ny("2024-01-08 18:00"),
        ny("2024-01-12 16:59"),
        ny("2024-01-12 17:00"),
        ny("2024-01-13 12:00"),
        ny("2024-01-14 17:59"),
        ny("2024-01-14 18:00"),
    ]
    assert cal.is_open(pd.DatetimeIndex(probes)).tolist() == [True, False, False, True, True, False, False, False, True]


def test_crypto_and_daily_calendars():
    crypto = get_calendar("crypto_24x7")
    assert len(crypto.expected_index("2024-01-06", "2024-01-07 23:59", 60)) == 2 * 1440
    daily = get_calendar("us_equity_daily")
    days = daily.expected_index("2024-03-25", "2024-04-05", 86400)
    assert pd.Timestamp("2024-03-29", tz="UTC") not in days  # Good Friday
    assert len(days) == 9


def test_expected_index_is_increasing_and_inside_sessions():
    for name, cal in CALENDARS.items():
        bar = 86400 if name == "us_equity_daily" else 300
        idx = cal.expected_index("2024-03-01", "2024-03-20", bar)
        assert idx.is_monotonic_increasing and idx.is_unique
        assert cal.is_open(idx).all(), name


@pytest.mark.parametrize(
    "name,per_year",
    [
        ("us_equity_rth", 252 * 390),
        ("cme_globex", 252 * 1380),
        ("crypto_24x7", 365 * 1440),
        ("us_equity_extended", 252 * 960),
    ],
)
def test_year_fraction_for_one_minute_bars(name, per_year):
    assert bars_per_year(name, 60) == pytest.approx(per_year)
    assert year_fraction(60, name) == pytest.approx(1 / per_year)
    assert year_fraction("1min", name) == year_fraction(pd.Timedelta(minutes=1), name) == year_fraction(60, name)
    assert year_fraction(300, name) == pytest.approx(5 / per_year)


def test_year_fraction_daily_and_errors():
    assert year_fraction(86400, "us_equity_daily") == pytest.approx(1 / 252)
    with pytest.raises(DataError, match="positive"):
        year_fraction(0, "crypto_24x7")
    with pytest.raises(ConfigError, match="unknown trading calendar 'lse'.*cme_globex"):
        year_fraction(60, "lse")


def test_infer_bar_seconds_uses_the_most_common_spacing():
    index = pd.DatetimeIndex(
        ["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:06", "2024-01-01 00:07", "2024-01-01 00:30"], tz="UTC"
    )
    assert infer_bar_seconds(index) == 60
    assert infer_bar_seconds(index[:1]) is None


def _minutes(start: str, end: str, *, tz: str = "America/New_York") -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="1min", tz=tz, inclusive="left").tz_convert("UTC")


def test_infer_calendar_on_each_preset():
    es = synthetic_bars("ES", days=3, seed=1)
    cal, reason = infer_calendar(es.index)
    assert cal.name == "cme_globex" and "20:00 and 04:00" in reason

    rth = _minutes("2024-01-02 09:30", "2024-01-02 16:00").append(_minutes("2024-01-03 09:30", "2024-01-03 16:00"))
    assert infer_calendar(rth)[0].name == "us_equity_rth"

    extended = _minutes("2024-01-02 04:00", "2024-01-02 20:00")
    cal, reason = infer_calendar(extended)
    assert cal.name == "us_equity_extended" and "04:00-09:30" in reason

    crypto = pd.date_range("2024-01-05", "2024-01-08", freq="1min", tz="UTC")
    cal, reason = infer_calendar(crypto)
    assert cal.name == "crypto_24x7" and "Saturday" in reason

    daily = pd.DatetimeIndex(pd.bdate_range("2024-01-01", periods=30), tz="UTC")
    assert infer_calendar(daily)[0].name == "us_equity_daily"
    assert infer_calendar(pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC"))[0].name == "crypto_24x7"

    with pytest.raises(DataError, match="fewer than two"):
        infer_calendar(daily[:1])


def test_a_few_stray_stamps_do_not_flip_the_inference():
    days = [_minutes(f"2024-01-0{d} 09:30", f"2024-01-0{d} 16:00") for d in (2, 3, 4, 5, 8)]
    rth = days[0].append(days[1:])  # 1950 bars; one stray Saturday stamp is 0.05%
    stray = rth.append(pd.DatetimeIndex([pd.Timestamp("2024-01-06 12:00", tz="UTC")]))
    assert infer_calendar(stray)[0].name == "us_equity_rth"


@pytest.mark.skipif(not INDA.exists(), reason="shared INDA data not present")
def test_inda_is_inferred_as_extended_hours_equity():
    bars = load_bars(INDA)
    cal, reason = infer_calendar(bars.index)
    assert cal.name == "us_equity_extended"
    assert cal.is_open(bars.index).all()


def test_unknown_calendar_lists_the_presets():
    with pytest.raises(ConfigError, match="crypto_24x7"):
        get_calendar("nope")
    assert get_calendar(CALENDARS["cme_globex"]) is CALENDARS["cme_globex"]
    assert np.isclose(CALENDARS["cme_globex"].session_seconds, 1380 * 60)


# ----------------------------------------------------------- exchange calendars
def _utc(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_cme_globex_follows_the_cme_holiday_calendar():
    """CME holidays and early closes (exchange_calendars CMES); the old rule traded every weekday in full."""
    cal = get_calendar("cme_globex")
    dates = cal.sessions("2024-12-20", "2024-12-31").index
    assert pd.Timestamp("2024-12-25") not in dates and pd.Timestamp("2024-12-26") in dates
    assert not cal.is_open(pd.DatetimeIndex([_utc("2024-12-25 15:00")]))[0]
    # Christmas Eve and Martin Luther King Jr. Day close at 12:00 Chicago (18:00 UTC in winter).
    eve = cal.sessions("2024-12-24 12:00", "2024-12-24 12:00")
    assert eve["close"].iloc[0] == _utc("2024-12-24 18:00")
    mlk = cal.sessions("2024-01-15 12:00", "2024-01-15 12:00")
    assert mlk["close"].iloc[0] == _utc("2024-01-15 18:00")
    assert len(cal.expected_index(mlk["open"].iloc[0], mlk["close"].iloc[0], 60)) == 1380 - 4 * 60
    # New Year's Day 2024 (Monday): no session; trading resumes Monday 18:00 ET for Tuesday.
    assert cal.sessions("2024-01-01 12:00", "2024-01-01 12:00").empty
    assert cal.sessions("2024-01-01 23:30", "2024-01-01 23:30")["open"].iloc[0] == _utc("2024-01-01 23:00")


def test_fx_24x5_runs_from_sunday_to_friday_17_new_york():
    cal = get_calendar("fx_24x5")
    week = cal.sessions("2024-01-08 12:00", "2024-01-12 12:00")
    assert len(week) == 5
    assert week["open"].iloc[0] == _utc("2024-01-07 22:00")  # Sunday 17:00 ET
    assert week["close"].iloc[-1] == _utc("2024-01-12 22:00")  # Friday 17:00 ET
    assert (week["open"].iloc[1:].to_numpy() == week["close"].iloc[:-1].to_numpy()).all()  # continuous
    assert len(cal.expected_index("2024-01-07 22:00", "2024-01-12 21:59", 60)) == 5 * 1440
    assert bars_per_year("fx_24x5", 60) == pytest.approx(260 * 1440)
    assert not cal.is_open(pd.DatetimeIndex([_utc("2024-01-13 12:00"), _utc("2024-01-07 21:59")])).any()


@pytest.mark.parametrize(
    "name,after,n,expected",
    [
        # CME maintenance break 17:00-18:00 ET (22:00-23:00 UTC in winter).
        ("cme_globex", "2024-01-09 21:58", 3, ["2024-01-09 21:59", "2024-01-09 23:00", "2024-01-09 23:01"]),
        # Weekend: Friday 17:00 ET to Sunday 18:00 ET.
        ("cme_globex", "2024-01-12 21:59", 2, ["2024-01-14 23:00", "2024-01-14 23:01"]),
        # Christmas Eve closes 12:00 Chicago, Christmas Day closed, reopens 25th 17:00 Chicago.
        ("cme_globex", "2024-12-24 17:58", 2, ["2024-12-24 17:59", "2024-12-25 23:00"]),
        # NYSE early close 13:00 ET on the day after Thanksgiving, then the weekend.
        ("us_equity_rth", "2024-11-29 17:58", 3, ["2024-11-29 17:59", "2024-12-02 14:30", "2024-12-02 14:31"]),
        # Thanksgiving: closed all day.
        ("us_equity_rth", "2024-11-27 20:59", 2, ["2024-11-29 14:30", "2024-11-29 14:31"]),
        ("fx_24x5", "2024-01-12 21:59", 1, ["2024-01-14 22:00"]),
        ("crypto_24x7", "2024-01-06 23:59:30", 2, ["2024-01-07 00:00", "2024-01-07 00:01"]),
    ],
)
def test_next_bars_skips_breaks_weekends_holidays_and_early_closes(name, after, n, expected):
    got = get_calendar(name).next_bars(_utc(after), n, 60)
    assert list(got) == [_utc(s) for s in expected]
    assert got.name == "timestamp" and str(got.tz) == "UTC"


def test_next_bars_of_a_daily_calendar_are_the_next_sessions():
    days = get_calendar("us_equity_daily").next_bars("2024-03-27", 3, 86400)
    assert list(days) == [_utc("2024-03-28"), _utc("2024-04-01"), _utc("2024-04-02")]  # Good Friday skipped


@pytest.mark.parametrize("name", ["cme_globex", "us_equity_rth", "us_equity_extended", "fx_24x5", "crypto_24x7"])
@pytest.mark.parametrize("bar", [60, 300, 3600])
def test_next_bars_agree_with_expected_index(name, bar):
    cal = get_calendar(name)
    after = _utc("2024-12-20 15:07")
    n = 700
    got = cal.next_bars(after, n, bar)
    grid = cal.expected_index(after, after + pd.Timedelta(days=400), bar)
    assert list(got) == list(grid[grid > after][:n])
    assert cal.is_open(got).all()


def test_next_bars_edge_cases():
    cal = get_calendar("cme_globex")
    assert len(cal.next_bars("2024-01-09", 0, 60)) == 0
    with pytest.raises(DataError, match="non-negative integer"):
        cal.next_bars("2024-01-09", -1, 60)
    with pytest.raises(DataError, match="non-negative integer"):
        cal.next_bars("2024-01-09", 2.5, 60)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="positive"):
        cal.next_bars("2024-01-09", 2, 0)
    # Off-grid instants inside a session snap to the session's bar grid.
    assert cal.next_bars("2024-01-09 15:00:30", 1, 60)[0] == _utc("2024-01-09 15:01")


def test_calendar_definition_errors():
    import datetime as dt

    from volresearch.data.calendar import TradingCalendar

    with pytest.raises(ConfigError, match="unknown exchange"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=1), exchange="LSE")
    with pytest.raises(ConfigError, match="needs an exchange"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=1), exchange_hours=True)
    with pytest.raises(ConfigError, match="session length"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=25))
    with pytest.raises(ConfigError, match="open_day_offset"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=1), open_day_offset=1)
    with pytest.raises(ConfigError, match="weekdays"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=1), weekdays=(7,))
    with pytest.raises(ConfigError, match="days_per_year"):
        TradingCalendar("x", "UTC", dt.time(0), pd.Timedelta(hours=1), days_per_year=0)


def test_sessions_outside_the_default_exchange_range():
    """Dates decades back widen the exchange calendar instead of failing."""
    assert pd.Timestamp("1999-12-24") in nyse_holidays("1999-12-01", "1999-12-31")
    assert len(get_calendar("cme_globex").sessions("2030-06-03 12:00", "2030-06-07 12:00")) == 5


USDJPY = INDA.parent / "USDJPY_1min_2013-02.csv"


def test_fx_week_is_inferred_as_fx_24x5():
    week = _minutes("2024-01-07 17:00", "2024-01-12 17:00")
    cal, reason = infer_calendar(week)
    assert cal.name == "fx_24x5" and "17:00-18:00" in reason
    assert cal.is_open(week).all()


@pytest.mark.skipif(not USDJPY.exists(), reason="shared USDJPY data not present")
def test_usdjpy_is_inferred_as_fx_and_lies_inside_its_sessions():
    bars = load_bars(USDJPY)
    cal, _ = infer_calendar(bars.index)
    assert cal.name == "fx_24x5"
    assert cal.is_open(bars.index).all()
    assert not get_calendar("cme_globex").is_open(bars.index).all()  # bars in the Globex break


def test_extended_hours_end_at_17_on_nyse_early_closes():
    cal = get_calendar("us_equity_extended")
    day = cal.sessions("2024-11-29 12:00", "2024-11-29 12:00")
    assert day["open"].iloc[0] == _utc("2024-11-29 09:00")  # 04:00 ET
    assert day["close"].iloc[0] == _utc("2024-11-29 22:00")  # 17:00 ET instead of 20:00
    assert cal.sessions("2024-11-28 12:00", "2024-11-28 12:00").empty  # Thanksgiving
    daily = get_calendar("us_equity_daily").sessions("2024-11-29 12:00", "2024-11-29 12:00")
    assert daily["close"].iloc[0] == _utc("2024-11-30 00:00")  # a daily bar is not shortened
