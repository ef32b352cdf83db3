"""Rolling 24-hour forecaster: first bar, gaps, session breaks, replay, snapshots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from volresearch.cli import main
from volresearch.data import datasets
from volresearch.data.store import Store
from volresearch.errors import DataError
from volresearch.models import ModelSpec, fit_garch
from volresearch.simulate.rolling import FORECAST_HORIZONS, RollingForecaster


@pytest.fixture(scope="module")
def es():
    return datasets.load("es_synthetic")


@pytest.fixture(scope="module")
def fit(es):
    return fit_garch(es.iloc[:6000], ModelSpec("gjr", "t"))


def test_first_bar_and_horizon_table(fit, es):
    rf = RollingForecaster(fit, n_particles=2000, seed=1, tick_size=0.25)
    fc = rf.process_bar(es.iloc[6000], timestamp=es.index[6000])
    assert fc.steps == 1  # the bar right after the fit's sample
    assert list(fc.table.index) == list(FORECAST_HORIZONS)
    t = fc.table
    assert (t["p5"] <= t["p25"]).all() and (t["p25"] <= t["p50"]).all() and (t["p75"] <= t["p95"]).all()
    assert t["std"].is_monotonic_increasing
    assert (t["target_time"] - fc.timestamp == pd.to_timedelta(t.index, unit="min")).all()
    assert 0 < fc.ess <= 2000


def test_missing_bar_is_k_steps_and_session_break_counts_trading_bars(fit, es):
    rf = RollingForecaster(fit, n_particles=1000, seed=2)
    rf.process_bar(es.iloc[6000], timestamp=es.index[6000])
    fc = rf.process_bar(es.iloc[6003], timestamp=es.index[6003])  # two bars missing
    assert fc.steps == 3
    idx = es.index
    brk = int(np.flatnonzero(np.diff(idx.asi8) > 60e9)[0])
    # the daily maintenance break is not trading time: one step across it
    assert rf.elapsed_steps(idx[brk], idx[brk + 1]) == 1
    # without a calendar the break would count its wall-clock minutes
    raw = RollingForecaster(fit, n_particles=100, seed=2, calendar=False)
    assert raw.elapsed_steps(idx[brk], idx[brk + 1]) == 61


def test_out_of_order_bar_raises_and_keeps_state(fit, es):
    rf = RollingForecaster(fit, n_particles=500, seed=3)
    rf.process_bar(es.iloc[6000], timestamp=es.index[6000])
    rf.process_bar(es.iloc[6001], timestamp=es.index[6001])
    before = rf.snapshot()
    with pytest.raises(DataError, match="not after the previous bar"):
        rf.process_bar(es.iloc[6000], timestamp=es.index[6000])
    after = rf.snapshot()
    for k in before[0]:
        np.testing.assert_array_equal(before[0][k], after[0][k])


def test_first_bar_inside_the_fit_sample_initialises_there(fit, es):
    rf = RollingForecaster(fit, n_particles=500, seed=4)
    fc = rf.process_bar(es.iloc[100], timestamp=es.index[100])
    assert fc.steps == 0 and fc.ess == 500
    fc2 = rf.process_bar(es.iloc[101], timestamp=es.index[101])
    assert fc2.steps == 1


def test_replay_is_reproducible_and_tidy(fit, es):
    a = RollingForecaster(fit, n_particles=500, seed=5).replay(es.iloc[6000:6030], every=10)
    b = RollingForecaster(fit, n_particles=500, seed=5).replay(es.iloc[6000:6030], every=10)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 3 * len(FORECAST_HORIZONS)
    assert {"timestamp", "horizon", "mean", "std", "p5", "p95", "ess"} <= set(a.columns)


def test_snapshot_to_store_restores_bit_for_bit(fit, es, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'roll.db'}")
    a = RollingForecaster(fit, n_particles=800, seed=6, rv_weight=1.0)
    for ts, row in es.iloc[6000:6020].iterrows():
        a.process_bar(row, timestamp=ts)
    a.save(store, "ES-SYN")
    b = RollingForecaster(fit, n_particles=800, seed=6, rv_weight=1.0)
    b.load(store, "ES-SYN")
    for ts, row in es.iloc[6020:6030].iterrows():
        fa, fb = a.process_bar(row, timestamp=ts), b.process_bar(row, timestamp=ts)
        pd.testing.assert_frame_equal(fa.table, fb.table, check_exact=True)
        assert fa.ess == fb.ess


def test_forecast_distribution_tracks_the_realised_price(fit, es):
    rf = RollingForecaster(fit, n_particles=2000, seed=7)
    out = rf.replay(es.iloc[6000:6300], every=15)
    first = out[out.horizon == 15]
    realised = es["close"].reindex(pd.DatetimeIndex(first["target_time"])).to_numpy()
    ok = ~np.isnan(realised)
    inside = (realised[ok] >= first["p5"].to_numpy()[ok]) & (realised[ok] <= first["p95"].to_numpy()[ok])
    assert inside.mean() > 0.6  # 90% bands; a coarse check on 20 overlapping forecasts


def test_simulate_cli_json(capsys):
    code = main(["simulate", "es_synthetic", "--model", "gjr", "--dist", "sged", "--paths", "2000", "--horizon", "240", "--seed", "7", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"n_paths", "horizon", "last_price", "horizons", "simulation_seconds"} <= set(payload)
    assert set(payload["horizons"]) == {"15", "30", "60", "120", "240"}
    h = payload["horizons"]["240"]
    assert h["p5"] < h["p25"] < h["p50"] < h["p75"] < h["p95"] and h["std"] > 0
    # same seed, same numbers
    main(["simulate", "es_synthetic", "--paths", "2000", "--horizon", "240", "--seed", "7", "--json"])
    again = json.loads(capsys.readouterr().out)
    assert again["horizons"] == payload["horizons"]


def test_simulate_cli_from_saved_fit(capsys, tmp_path):
    f = tmp_path / "fit.json"
    assert main(["fit", "sp500", "--model", "gjr", "--dist", "t", "--save", str(f)]) == 0
    capsys.readouterr()
    assert main(["simulate", "--fit", str(f), "--paths", "1000", "--horizon", "20", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"] == "gjr" and payload["dist"] == "t" and set(payload["horizons"]) == {"15"}
