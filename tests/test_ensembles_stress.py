"""Stress tests: synthetic shocks built exactly, crises replayed without leakage, the breaker on a crash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from volresearch.data import open_bars
from volresearch.ensembles.stress import CRISES, StressResult, available_crises, shocked_bars, stress_test
from volresearch.errors import DataError


@pytest.fixture(scope="module")
def spx():
    return open_bars("sp500")


def test_a_shock_scales_the_returns_and_the_ranges_it_covers(spx):
    bars = spx.iloc[-300:]
    at = bars.index[200]
    out = shocked_bars(bars, at, factor=3.0, bars_long=10, crash=-0.15)
    r0 = np.diff(np.log(bars["close"].to_numpy()))
    r1 = np.diff(np.log(out["close"].to_numpy()))
    np.testing.assert_allclose(r1[:199], r0[:199], rtol=1e-12)
    assert r1[199] == pytest.approx(-0.15)
    np.testing.assert_allclose(r1[200:209], 3.0 * r0[200:209], rtol=1e-9)
    np.testing.assert_allclose(r1[209:], r0[209:], rtol=1e-9, atol=1e-15)
    for col in ("high", "low", "open"):
        d0 = np.log(bars[col] / bars["close"]).to_numpy()
        d1 = np.log(out[col] / out["close"]).to_numpy()
        np.testing.assert_allclose(d1[200:210], 3.0 * d0[200:210], atol=1e-12)
        np.testing.assert_allclose(d1[:200], d0[:200], atol=1e-12)
    np.testing.assert_allclose(out["adj_close"] / out["close"], bars["adj_close"] / bars["close"], rtol=1e-12)
    assert (out["high"] >= out["low"]).all()
    with pytest.raises(DataError, match="not a bar"):
        shocked_bars(bars, pd.Timestamp("1990-01-01", tz="UTC"))


def test_the_crises_the_data_cover(spx):
    assert available_crises(spx) == ["gfc-2008"]  # the embedded S&P 500 ends in 2018
    assert available_crises(spx.loc[:"2008-12-31"]) == []
    assert set(CRISES) >= {"gfc-2008", "covid-2020"}


def test_a_crash_is_replayed_without_leakage_and_trips_the_breaker(spx, caplog):
    import logging

    caplog.set_level(logging.WARNING, logger="volresearch.ensembles.stacking")
    bars = spx.loc[:"2017-06-30"]
    shocked = shocked_bars(bars, "2017-03-01", factor=4.0, bars_long=15, crash=-0.2)
    res = stress_test(shocked, ["garch-normal", "ensemble-log-score", "ensemble-adaptive"], start="2017-03-01",
                      end="2017-04-12", train=900, n_paths=200, label="crash")  # fmt: skip
    assert pd.Timestamp(res.meta["train_end"]) < pd.Timestamp(res.start) == pd.Timestamp("2017-03-01", tz="UTC")
    assert res.table.loc["garch-normal", "n_forecasts"] == 31  # trading days 2017-03-01 .. 04-12
    ad = res.weights["ensemble-adaptive"]
    assert res.table.loc["ensemble-adaptive", "breaker_forecasts"] >= 1
    assert res.table.loc["ensemble-log-score", "breaker_forecasts"] == 0
    # one summary per block of origins, not a line per forecast
    summaries = [r.getMessage() for r in caplog.records if "origins had features out of range" in r.getMessage()]
    assert summaries and len(summaries) <= 3
    # the crash day's features are far out of the training range: equal weights over the members that forecast
    crash_w = ad.loc[pd.Timestamp("2017-03-01", tz="UTC")].to_numpy()
    assert np.allclose(crash_w[crash_w > 0], 1.0 / np.count_nonzero(crash_w))
    # fixed weights stay put, renormalised over the members that did not run away
    static = res.weights["ensemble-log-score"].to_numpy()
    fitted = static[0]
    for row in static:
        kept = row > 0
        np.testing.assert_allclose(row[kept], fitted[kept] / fitted[kept].sum(), rtol=1e-9)
    back = StressResult.from_dict(json.loads(json.dumps(res.to_dict())))
    pd.testing.assert_frame_equal(back.table, res.table, check_dtype=False)
    assert "crash" in res.summary()


def test_a_period_without_history_is_refused(spx):
    with pytest.raises(DataError, match="needs 1001 bars before it"):
        stress_test(spx, ["garch-normal"], start="2000-01-03", end="2000-03-01")
