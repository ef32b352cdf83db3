"""Session-aware return classification on hand-made bars."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from volresearch.data.calendar import get_calendar
from volresearch.data.session_returns import session_returns, session_slots
from volresearch.errors import DataError


def _bars(stamps: list[str], closes: list[float], opens: list[float] | None = None) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True), name="timestamp")
    data = {"close": closes}
    if opens is not None:
        data["open"] = opens
    return pd.DataFrame(data, index=index)


# CME Globex around Thanksgiving 2024: session 2024-11-27 closes 22:00 UTC (17:00 ET),
# 2024-11-28 opens 23:00 UTC after the maintenance hour; 2024-11-29 closes early at 18:00 UTC;
# the next session (2024-12-02) opens Sunday 2024-12-01 23:00 UTC.
GLOBEX = [
    ("2024-11-27 21:58", 100.0, 100.1),
    ("2024-11-27 21:59", 101.0, 100.5),  # regular, last bar of the session
    ("2024-11-27 23:00", 103.0, 102.0),  # across the maintenance break: gap, slot 0
    ("2024-11-27 23:01", 102.0, 103.0),  # regular, slot 1
    ("2024-11-27 23:04", 104.0, 102.5),  # two missing minutes: intraday gap over 3 bars, slot 4
    ("2024-11-27 23:15", 105.0, 104.5),  # ten missing minutes (> 5): gap, slot 15
    ("2024-11-29 17:58", 106.0, 105.0),  # different session (2024-11-28 closed early at 18:00): gap
    ("2024-11-29 17:59", 107.0, 106.0),  # regular, last bar of the early close
    ("2024-11-29 18:30", 999.0, 999.0),  # outside every session: dropped
    ("2024-12-01 23:00", 110.0, 108.0),  # weekend gap, first bar of 2024-12-02
    ("2024-12-01 23:01", 111.0, 110.0),
]


def test_globex_weekend_break_early_close_and_missing_minutes() -> None:
    stamps, closes, opens = zip(*GLOBEX, strict=True)
    out = session_returns(_bars(list(stamps), list(closes), list(opens)), "cme_globex", bar_seconds=60)
    assert out.attrs["outside"] == 1
    assert list(out["kind"]) == [
        "regular",
        "gap",
        "regular",
        "intraday_gap",
        "gap",
        "gap",
        "regular",
        "gap",
        "regular",
    ]
    assert list(out["slot"]) == [
        22 * 60 + 59,
        0,
        1,
        4,
        15,
        # 2024-11-29 session opens 2024-11-28 23:00 UTC: 17:58 is 18 h 58 min later
        18 * 60 + 58,
        18 * 60 + 59,
        0,
        1,
    ]
    assert list(out["n_bars"]) == [1, 1, 1, 3, 1, 1, 1, 1, 1]
    sessions = [str(d.date()) for d in out["session"]]
    assert sessions == [
        "2024-11-27",
        "2024-11-28",
        "2024-11-28",
        "2024-11-28",
        "2024-11-28",
        "2024-11-29",
        "2024-11-29",
        "2024-12-02",
        "2024-12-02",
    ]
    # Values by hand.
    r = out["return"].to_numpy()
    assert r[0] == pytest.approx(math.log(101 / 100), abs=1e-15)
    assert r[1] == pytest.approx(math.log(103 / 101), abs=1e-15)
    # The maintenance-break return splits into the gap open/prev close and the bar's own move.
    assert out["gap_return"].iloc[1] == pytest.approx(math.log(102.0 / 101.0), abs=1e-15)
    assert out["intraday_return"].iloc[1] == pytest.approx(math.log(103.0 / 102.0), abs=1e-15)
    assert out["intraday_return"].iloc[1] + out["gap_return"].iloc[1] == pytest.approx(r[1], abs=1e-15)
    # The intraday gap keeps its whole close-to-close return as an intraday return.
    assert out["intraday_return"].iloc[3] == pytest.approx(math.log(104 / 102), abs=1e-15)
    assert out["gap_return"].iloc[3] == 0.0
    # The weekend return (across the dropped outside bar) starts from the last in-session close.
    assert r[7] == pytest.approx(math.log(110 / 107), abs=1e-15)
    assert out["gap_return"].iloc[7] == pytest.approx(math.log(108 / 107), abs=1e-15)
    assert out["intraday_return"].iloc[7] == pytest.approx(math.log(110 / 108), abs=1e-15)


def test_max_missing_rule_is_a_threshold() -> None:
    stamps, closes, opens = zip(*GLOBEX, strict=True)
    bars = _bars(list(stamps), list(closes), list(opens))
    strict = session_returns(bars, "cme_globex", bar_seconds=60, max_missing=0)
    assert strict["kind"].iloc[3] == "gap"  # two missing minutes are a gap with max_missing=0
    loose = session_returns(bars, "cme_globex", bar_seconds=60, max_missing=10)
    assert loose["kind"].iloc[4] == "intraday_gap" and loose["n_bars"].iloc[4] == 11


def test_without_open_the_whole_gap_return_is_gap() -> None:
    stamps, closes, _ = zip(*GLOBEX, strict=True)
    out = session_returns(_bars(list(stamps), list(closes)), "cme_globex", bar_seconds=60)
    gaps = out[out["kind"] == "gap"]
    assert np.all(np.isnan(gaps["intraday_return"]))
    np.testing.assert_array_equal(gaps["gap_return"], gaps["return"])


def test_half_day_slots_come_from_the_clock() -> None:
    # NYSE: 2024-11-29 closes at 13:00 ET (18:00 UTC); rows are missing in between.
    stamps = [
        "2024-11-27 14:30",
        "2024-11-27 14:31",
        "2024-11-27 20:59",
        "2024-11-29 14:30",
        "2024-11-29 14:45",
        "2024-11-29 17:59",
    ]
    out = session_returns(_bars(stamps, [100, 101, 102, 103, 104, 105]), "us_equity_rth", bar_seconds=60)
    assert list(out["slot"]) == [1, 389, 0, 15, 209]
    assert list(out["kind"]) == ["regular", "gap", "gap", "gap", "gap"]


def test_intra_session_break_from_calendar_columns() -> None:
    class LunchCalendar:
        """Sessions 01:00-07:00 UTC with a lunch break 03:30-04:30."""

        def sessions(self, start: object, end: object) -> pd.DataFrame:
            days = pd.date_range(
                pd.Timestamp(start).tz_convert(None).normalize(),
                pd.Timestamp(end).tz_convert(None).normalize(),
                freq="D",
            )
            base = days.tz_localize("UTC")
            return pd.DataFrame(
                {
                    "open": base + pd.Timedelta(hours=1),
                    "close": base + pd.Timedelta(hours=7),
                    "break_start": base + pd.Timedelta(hours=3, minutes=30),
                    "break_end": base + pd.Timedelta(hours=4, minutes=30),
                },
                index=pd.DatetimeIndex(days, name="date"),
            )

    stamps = ["2024-03-04 03:28", "2024-03-04 03:29", "2024-03-04 03:45", "2024-03-04 04:30", "2024-03-04 04:31"]
    out = session_returns(_bars(stamps, [1.0, 1.1, 1.2, 1.3, 1.4]), LunchCalendar(), bar_seconds=60)
    assert out.attrs["outside"] == 1  # the 03:45 bar is inside the break
    # 04:30 is the first bar after the break: 150 bars before the break + 0
    assert list(out["slot"]) == [149, 150, 151]
    assert list(out["kind"]) == ["regular", "gap", "regular"]
    pos, slot, side, _ = session_slots(pd.DatetimeIndex(["2024-03-04 04:31"], tz="UTC"), LunchCalendar(), 60)
    assert slot[0] == 151 and side[0] == 1 and pos[0] == 0


def test_errors() -> None:
    bars = _bars(["2024-11-27 14:31", "2024-11-27 14:30"], [1.0, 2.0])
    with pytest.raises(DataError):
        session_returns(bars, "us_equity_rth", bar_seconds=60)
    with pytest.raises(DataError):
        session_returns(_bars(["2024-11-27 14:30", "2024-11-27 14:31"], [1.0, -2.0]), "us_equity_rth")
    with pytest.raises(DataError):
        session_returns(pd.DataFrame({"x": [1.0]}), get_calendar("us_equity_rth"))
