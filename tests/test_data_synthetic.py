"""synthetic_bars: determinism, session hours, OHLC and tick grid, stylised facts, and known-truth recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import stats

from volresearch.data import synthetic_bars, validate_bars
from volresearch.data.synthetic import PROFILES, intraday_profile
from volresearch.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def es_long() -> pd.DataFrame:
    return synthetic_bars("ES", days=60, seed=7)


def _deseasonalised(bars: pd.DataFrame) -> np.ndarray:
    """Within-session log returns divided by the known intraday profile."""
    r = np.diff(np.log(bars["close"].to_numpy()))
    contiguous = np.diff(bars.index.asi8) == 60 * 10**9
    local = bars.index[1:].tz_convert("America/New_York")
    x = r / intraday_profile(np.asarray(local.hour * 60 + local.minute))
    return x[contiguous]


def test_same_seed_same_bars_other_seed_other_bars():
    a = synthetic_bars("NQ", days=2, seed=11)
    b = synthetic_bars("NQ", days=2, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    assert not a["close"].equals(synthetic_bars("NQ", days=2, seed=12)["close"])
    rng = np.random.default_rng(5)
    c = synthetic_bars("NQ", days=2, seed=rng)
    assert c["close"].equals(synthetic_bars("NQ", days=2, seed=np.random.default_rng(5))["close"])


@pytest.mark.parametrize("symbol", sorted(PROFILES))
def test_ohlc_tick_grid_schema_and_labels(symbol):
    bars = synthetic_bars(symbol, days=5, seed=3)
    report = validate_bars(bars, calendar="cme_globex")  # strict: raises on any OHLC violation
    assert report.passed and report.missing_bar_pct == 0.0 and report.off_session_bars == 0
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    tick = bars.attrs["truth"]["tick_size"]
    for c in ("open", "high", "low", "close"):
        steps = bars[c].to_numpy() / tick
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    assert bars.attrs["synthetic"] is True
    assert bars.attrs["source"] == f"synthetic:{symbol}" and bars.attrs["symbol"] == f"{symbol}-SYN"
    assert len(bars) == 5 * 1380
    assert (bars["volume"] >= 1).all()
    inside = np.diff(bars.index.asi8) == 60 * 10**9
    np.testing.assert_array_equal(bars["open"].to_numpy()[1:][inside], bars["close"].to_numpy()[:-1][inside])


def test_price_levels_follow_the_instrument_file():
    levels = {"ES": 4800, "NQ": 16800, "GC": 2050, "SI": 23}
    for symbol, level in levels.items():
        first = synthetic_bars(symbol, days=1, seed=0)["open"].iloc[0]
        assert first == pytest.approx(level, rel=0.01)


def test_no_bars_in_the_daily_break_or_on_weekends():
    bars = synthetic_bars("GC", days=10, start="2024-03-04", seed=2)  # spans the US DST change of 2024-03-10
    local = bars.index.tz_convert("America/New_York")
    minute = local.hour * 60 + local.minute
    weekday = local.day_of_week
    assert not ((minute >= 17 * 60) & (minute < 18 * 60)).any()
    assert not (weekday == 5).any()
    assert not ((weekday == 6) & (minute < 18 * 60)).any()
    assert not ((weekday == 4) & (minute >= 17 * 60)).any()
    assert local[0] == pd.Timestamp("2024-03-03 18:00", tz="America/New_York")


def test_fat_tails_and_volatility_clustering(es_long):
    x = _deseasonalised(es_long)
    assert stats.kurtosis(x, fisher=False) > 3
    a = np.abs(x - x.mean())
    band = 3 / np.sqrt(a.size)
    for lag in (1, 5, 20):
        assert np.corrcoef(a[:-lag], a[lag:])[0, 1] > band


def test_leverage_effect_for_indices_not_for_metals(es_long):
    gc = synthetic_bars("GC", days=60, seed=7)
    lev = {}
    for name, bars in (("ES", es_long), ("GC", gc)):
        x = _deseasonalised(bars)
        lev[name] = np.mean([np.corrcoef(x[:-k], np.abs(x[k:]))[0, 1] for k in range(1, 11)])
    band = 2 / np.sqrt(len(_deseasonalised(gc)))
    assert lev["ES"] < -band
    assert abs(lev["GC"]) < band


def test_regular_hours_volatility_is_realistic(es_long):
    local = es_long.index[1:].tz_convert("America/New_York")
    minute = np.asarray(local.hour * 60 + local.minute)
    r = np.diff(np.log(es_long["close"].to_numpy()))
    rth = (minute >= 9 * 60 + 31) & (minute < 16 * 60)
    assert 0.0003 <= r[rth].std() <= 0.0006
    asia = (minute >= 20 * 60) | (minute < 2 * 60)
    assert r[asia].std() < 0.5 * r[rth].std()


def test_intraday_profile_shape():
    rth = intraday_profile(np.arange(570, 960))
    assert rth.mean() == pytest.approx(1.0)
    assert intraday_profile(np.array([570]))[0] > 2 * intraday_profile(np.array([720]))[0]  # cash-open spike
    assert intraday_profile(np.array([955]))[0] > intraday_profile(np.array([720]))[0]  # rise into the close
    assert intraday_profile(np.array([60]))[0] < intraday_profile(np.array([240]))[0]  # Asia < London


def test_known_gjr_parameters_are_recovered_by_arch(es_long):
    """Fit arch's GJR-GARCH(1,1)-t to the de-seasonalised returns: the generating values come back."""
    truth = es_long.attrs["truth"]
    x = _deseasonalised(es_long) / truth["sigma"]
    res = arch_model(x, mean="Zero", vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
    p = res.params
    assert p["alpha[1]"] == pytest.approx(truth["alpha"], abs=0.01)
    assert p["gamma[1]"] == pytest.approx(truth["gamma"], abs=0.015)
    assert p["beta[1]"] == pytest.approx(truth["beta"], abs=0.015)
    assert p["nu"] == pytest.approx(truth["nu"], abs=0.6)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="no synthetic profile for 'CL'"):
        synthetic_bars("CL")
    with pytest.raises(DataError, match="days must be a positive integer"):
        synthetic_bars("ES", days=0)


def test_sessions_follow_the_cme_holiday_calendar():
    """Synthetic bars kept trading through CME early closes and counted holidays against ``days``."""
    from volresearch.data.calendar import get_calendar

    bars = synthetic_bars("ES", days=10, seed=0)  # 2024-01-08 .. 2024-01-19, Martin Luther King Jr. Day inside
    cal = get_calendar("cme_globex")
    assert cal.is_open(bars.index).all()
    mlk = bars.loc["2024-01-14 23:00":"2024-01-15 22:59"]
    assert len(mlk) == 1140 and mlk.index[-1] == pd.Timestamp("2024-01-15 17:59", tz="UTC")
    assert len(bars) == 9 * 1380 + 1140
    report = validate_bars(bars, calendar="cme_globex")
    assert report.off_session_bars == 0 and report.missing_bar_pct == 0.0
    xmas = synthetic_bars("ES", days=3, start="2024-12-24", seed=0)
    dates = pd.DatetimeIndex(xmas.index.tz_convert("America/New_York").date).unique()
    assert pd.Timestamp("2024-12-25") in dates  # the 26th's session opens on the evening of the 25th
    assert cal.sessions(xmas.index[0], xmas.index[-1]).index.tolist() == [
        pd.Timestamp("2024-12-24"),
        pd.Timestamp("2024-12-26"),
        pd.Timestamp("2024-12-27"),
    ]
