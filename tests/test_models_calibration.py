"""Calibration pipeline: schedule, window without look-ahead, store history, defaults."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from volresearch.data import datasets
from volresearch.data.store import Store
from volresearch.errors import ConfigError, FitError
from volresearch.models import CalibrationPipeline, ModelSpec, load_default_params
from volresearch.models.calibration import find_default


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
    entry = load_default_params()["defaults"]["ES"]["gjr-sged"]
    assert res.params["beta"] == pytest.approx(entry["params"]["beta"])
    assert res.units["omega"] == "squared log return per bar"
    # the defaults come from the package's synthetic series, and the result says so
    assert res.synthetic is True and "synthetic" in res.source and "synthetic data" in res.reason
    assert res.to_dict()["synthetic"] is True


def test_defaults_are_keyed_by_model_and_innovation_law(es):
    flat = es.iloc[:500].copy()
    flat[["open", "high", "low", "close"]] = 4800.0
    sged_only = {
        "ES": {
            "gjr-sged": {
                "params": {"omega": 5e-10, "alpha": 0.05, "gamma": 0.05, "beta": 0.92, "nu": 1.15, "xi": 1.0},
                "source": "test",
            }
        }
    }
    # a GJR-t fit that fails must not receive the SGED shape as degrees of freedom: the cascade answers
    res = CalibrationPipeline(ModelSpec("gjr", "t"), window=400, frequency="on_demand", defaults=sged_only).calibrate(
        "ES-SYN", flat
    )
    assert res.method in {"ewma", "historical"} and "nu" not in res.params
    assert "no gjr-t defaults for ES" in res.reason and "cascade" in res.reason
    assert res.params["volatility"] > 0
    same = CalibrationPipeline(ModelSpec("gjr", "sged"), window=400, frequency="on_demand", defaults=sged_only)
    assert same.calibrate("ES-SYN", flat).params["nu"] == 1.15
    # an entry keyed by model alone counts only for the law it names
    legacy = {"ES": {"gjr": {**sged_only["ES"]["gjr-sged"], "dist": "sged"}}}
    assert find_default(legacy, "ES", ModelSpec("gjr", "sged")) is not None
    assert find_default(legacy, "ES", ModelSpec("gjr", "t")) is None


def test_no_defaults_and_no_prices_raises(es):
    pipe = CalibrationPipeline(ModelSpec("gjr", "sged"), window=400, frequency="on_demand", defaults={})
    with pytest.raises(FitError, match="no gjr-sged defaults"):
        pipe.calibrate("ZZ", es.iloc[:1])


def test_defaults_are_sane_and_say_where_they_come_from():
    data = load_default_params()
    defaults = data["defaults"]
    assert "SYNTHETIC" in data["note"]
    for key in ("ES", "NQ", "GC"):
        entry = defaults[key]["gjr-sged"]
        vol = entry["unconditional_vol_per_bar"]
        assert 1e-5 < vol < 5e-3, key  # per-minute volatility, nothing like the seed's 3% per bar
        p = entry["params"]
        assert p["alpha"] + p["beta"] + p["gamma"] / 2 < 1.01
        assert entry["synthetic"] is True and "synthetic" in entry["source"]
    for key in ("SPX", "NDX"):  # real daily data
        for name, entry in defaults[key].items():
            assert entry["synthetic"] is False and entry["source"].startswith("arch.data"), name
            assert entry["dist"] == name.split("-")[1]
            assert 0.003 < entry["unconditional_vol_per_bar"] < 0.05, (key, name)
    for table in defaults.values():
        for name, entry in table.items():
            model, dist = name.split("-")
            assert "failed" in entry or set(entry["params"]) >= {"omega", "alpha", "beta"}


def test_derive_defaults_records_failures_and_keys(es):
    from volresearch.models.calibration import derive_defaults

    bars = es.iloc[:3000].copy()
    bars.attrs = {"source": "unit", "synthetic": True}
    flat = bars.copy()
    flat[["open", "high", "low", "close"]] = 10.0
    out = derive_defaults({"X": bars, "F": flat}, models=("garch",), dists=("normal", "sged"))
    assert set(out["X"]) == {"garch-normal", "garch-sged"}
    assert all(e["source"] == "unit" and e["synthetic"] is True for e in out["X"].values())
    assert "failed" in out["F"]["garch-normal"] and "params" not in out["F"]["garch-normal"]


def test_write_default_params_round_trips(tmp_path, monkeypatch):
    import volresearch.models.calibration as cal

    monkeypatch.setattr(cal, "derive_defaults", lambda sources: {k: {} for k in sources})
    path = tmp_path / "p.yaml"
    cal.write_default_params(path)
    text = path.read_text()
    assert text.startswith("# ") and "SYNTHETIC" in text
    assert set(load_default_params(path)["defaults"]) == {"ES", "NQ", "GC", "SI", "SPX", "NDX"}


def test_malformed_defaults_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults: [1, 2]\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_default_params(bad)
    bad.write_text("defaults: {a: [\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_default_params(bad)


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
