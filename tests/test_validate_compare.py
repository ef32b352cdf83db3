"""Tests of volresearch.validate.compare: one table, common origins, Diebold-Mariano against best and naive."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from volresearch.errors import ConfigError
from volresearch.models import ModelSpec
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.paths import simulate_paths
from volresearch.validate import calibration as cal
from volresearch.validate import compare as cmp
from volresearch.validate import walkforward as wf


def gjr_bars(n_prices: int, seed: int) -> pd.DataFrame:
    """Closes of a GJR-GARCH path with Student-t(6) innovations (strong leverage), business days."""
    params = {"mu": 0.0003, "omega": 2e-6, "alpha": 0.02, "gamma": 0.12, "beta": 0.9, "nu": 6.0}
    paths = simulate_paths(
        "gjr", params, ppf_table=innovation_table("t", {"nu": 6.0}), n_paths=1, horizon=n_prices - 1,
        x0=math.log(100.0), sigma2_1=1e-4, seed=seed,
    )  # fmt: skip
    close = np.exp(paths.log_prices[:, 0].astype(float))
    index = pd.date_range("2012-01-02", periods=n_prices, freq="B", tz="UTC", name="timestamp")
    return pd.DataFrame({"close": close}, index=index)


SPECS = [ModelSpec("garch", "normal"), ModelSpec("gjr", "t")]


@pytest.fixture(scope="module")
def comparison():
    return cmp.compare_models(gjr_bars(1601, 4), SPECS, in_sample=600, out_of_sample=250, n_paths=400, seed=1)


def test_table_layout_and_best(comparison):
    t = comparison.table
    assert list(t.index) == ["garch-normal", "gjr-t", cmp.NAIVE]
    for col in ("crps", "crps_improvement", "pit_ad_pvalue", "kupiec_pvalue_95", "christoffersen_pvalue_95", "qlike",
                "efficiency", "dm_crps_vs_best_pvalue", "dm_crps_vs_naive_pvalue", "dm_qlike_vs_best_pvalue",
                "dm_qlike_vs_naive_pvalue", "best", "rank"):  # fmt: skip
        assert col in t.columns, col
    for lv in cal.DEFAULT_LEVELS:
        assert f"coverage_{wf.level_name(lv)}" in t.columns
    models = t.drop(index=cmp.NAIVE)
    assert comparison.best == models["crps"].idxmin()
    assert t.loc[comparison.best, "best"] and t["best"].sum() == 1
    assert t.loc[comparison.best, "rank"] == models["crps"].rank(method="min").min()
    assert math.isnan(t.loc[comparison.best, "dm_crps_vs_best_pvalue"])
    assert t.loc[cmp.NAIVE, "crps_improvement"] == 0.0
    assert comparison.best_result is comparison.results[comparison.best]


def test_same_origins_targets_and_baseline(comparison):
    a, b = (comparison.results[k].forecasts for k in ("garch-normal", "gjr-t"))
    np.testing.assert_array_equal(a["origin_pos"], b["origin_pos"])
    np.testing.assert_array_equal(a["target"], b["target"])
    # the baseline is one and the same forecaster for every model (same seeds)
    np.testing.assert_array_equal(a["base_crps"], b["base_crps"])
    assert comparison.table.loc[cmp.NAIVE, "crps"] == pytest.approx(a["base_crps"].mean())


def test_diebold_mariano_rows_match_direct_tests(comparison):
    dm = comparison.dm
    best = comparison.best
    other = next(k for k in comparison.results if k != best)
    fo, fb = comparison.results[other].forecasts, comparison.results[best].forecasts
    row = dm[(dm["spec"] == other) & (dm["against"] == best) & (dm["loss"] == "crps")].iloc[0]
    direct = cal.diebold_mariano(fo["crps"].to_numpy(), fb["crps"].to_numpy(), h=1)
    assert row["pvalue"] == pytest.approx(direct.pvalue) and row["statistic"] == pytest.approx(direct.statistic)
    assert row["mean_differential"] > 0  # the other model has the larger CRPS by definition of best
    row = dm[(dm["spec"] == best) & (dm["against"] == cmp.NAIVE) & (dm["loss"] == "qlike")].iloc[0]
    direct = cal.diebold_mariano(fb["qlike"].to_numpy(), fb["base_qlike"].to_numpy(), h=1)
    assert row["pvalue"] == pytest.approx(direct.pvalue)
    assert comparison.table.loc[best, "dm_qlike_vs_naive_pvalue"] == pytest.approx(direct.pvalue)
    assert set(dm["loss"]) == {"crps", "qlike"}
    assert ((dm["pvalue"] >= 0) & (dm["pvalue"] <= 1)).all()


def test_leverage_model_beats_symmetric_one_on_leverage_data(comparison):
    # GJR-t is the data's own model; GARCH-normal misses leverage and fat tails
    assert comparison.best == "gjr-t"
    t = comparison.table
    assert t.loc["gjr-t", "qlike"] < t.loc["garch-normal", "qlike"]


def test_dm_horizon_follows_overlap():
    res = cmp.compare_models(gjr_bars(900, 5), ["garch-normal"], in_sample=500, out_of_sample=200, horizon=4,
                             step=2, n_paths=100)  # fmt: skip
    assert (res.dm["h"] == 2).all()


def test_serialisation_and_summary(comparison):
    text = json.dumps(comparison.to_dict(), allow_nan=False)
    assert '"best": "gjr-t"' in text
    s = comparison.summary()
    assert "best = gjr-t" in s and "naive" in s


def test_errors():
    with pytest.raises(ConfigError, match="empty"):
        cmp.compare_models(gjr_bars(300, 1), [], in_sample=100, out_of_sample=50)
    with pytest.raises(ConfigError, match="distinct"):
        cmp.compare_models(gjr_bars(300, 1), ["gjr-t", "gjr-t"], in_sample=100, out_of_sample=50)
