"""Calibration pipeline: schedule, window without look-ahead, store history, defaults."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from volresearch.data import datasets
from volresearch.data.store import Store
from volresearch.errors import ConfigError, FitError
from volresearch.models import CalibrationPipeline, ModelSpec, load_default_params


@pytest.fixture(scope="module")
def es() -> pd.DataFrame:
    return datasets.load("es_synthetic")


def test_daily_schedule_calibrates_once_per_trading_date_and_writes_the_store(es, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'cal.db'}")
    pipe = CalibrationPipeline(ModelSpec("garch", "normal"), window=3000, frequency="daily", store=store)
    results = pipe.run("ES-SYN", es.iloc[:6000])
    dates = (es.index[:6000].tz_convert("America/New_York") + pd.Timedelta("6h")).normalize().unique()
    assert len(results) == len(dates) - 1
    for res in results:
        # the window ends before the first bar of the new day: no look-ahead
        assert res.window_end < es.index[es.index.get_loc(res.window_end) + 1]
        assert res.n_obs <= 3000
    table = store.read_calibrations(symbol="ES-SYN")
    assert set(table["param_name"]) >= {"omega", "alpha", "beta"}
    assert table.groupby("calibration_date").ngroups == len(results)
    latest = store.latest_calibration("ES-SYN", "garch")
    assert latest["params"]["beta"] == pytest.approx(results[-1].params["beta"])
    assert latest["units"]["omega"] == "squared log return per bar"


def test_weekly_and_on_demand_schedules(es):
    weekly = CalibrationPipeline(ModelSpec("garch", "normal"), window="2D", frequency="weekly")
    res = weekly.run("ES-SYN", es)
    assert len(res) == 1  # two trading weeks (Sunday-evening starts): one boundary
    assert not weekly.is_due("ES-SYN", res[-1].calibration_date)
    assert weekly.is_due("ES-SYN", res[-1].calibration_date + pd.Timedelta(days=7))
    manual = CalibrationPipeline(ModelSpec("garch", "normal"), window=2000, frequency="on_demand")
    assert manual.is_due("X", es.index[-1])
    manual.calibrate("X", es)
    assert not manual.is_due("X", es.index[-1] + pd.Timedelta(days=30))


def test_failed_fit_falls_back_to_labelled_defaults(es):
    flat = es.iloc[:500].copy()
    flat[["open", "high", "low", "close"]] = 4800.0
    pipe = CalibrationPipeline(ModelSpec("gjr", "sged"), window=400, frequency="on_demand")
    res = pipe.calibrate("ES-SYN", flat)
    assert res.method == "default" and not res.converged
    assert "dispersion" in res.reason
    assert res.params["beta"] == pytest.approx(load_default_params()["defaults"]["ES"]["gjr"]["params"]["beta"])
    assert res.units["omega"] == "squared log return per bar"


def test_no_defaults_raises(es):
    flat = es.iloc[:500].copy()
    flat[["open", "high", "low", "close"]] = 1.0
    pipe = CalibrationPipeline(ModelSpec("gjr", "sged"), window=400, frequency="on_demand", defaults={})
    with pytest.raises(FitError, match="no gjr defaults"):
        pipe.calibrate("ZZ", flat)


def test_defaults_are_sane_for_one_minute_bars():
    defaults = load_default_params()["defaults"]
    for key in ("ES", "NQ", "GC"):
        entry = defaults[key]["gjr"]
        vol = entry["unconditional_vol_per_bar"]
        assert 1e-5 < vol < 5e-3, key  # per-minute volatility, nothing like the seed's 3% per bar
        p = entry["params"]
        assert p["alpha"] + p["beta"] < 1
        assert entry["synthetic"] is True and entry["source"].startswith("synthetic:")
    assert defaults["SPX"]["gjr"]["synthetic"] is False


def test_bad_frequency_is_a_config_error():
    with pytest.raises(ConfigError, match="frequency"):
        CalibrationPipeline(frequency="hourly")  # type: ignore[arg-type]


def test_history_frame(es):
    pipe = CalibrationPipeline(ModelSpec("garch", "normal"), window=2000, frequency="on_demand")
    pipe.calibrate("ES-SYN", es.iloc[:2500])
    pipe.calibrate("ES-SYN", es.iloc[:5000])
    hist = pipe.history("ES-SYN")
    assert len(hist) == 2 and {"omega", "alpha", "beta", "method"} <= set(hist.columns)
    assert all(math.isfinite(v) for v in hist["beta"])
