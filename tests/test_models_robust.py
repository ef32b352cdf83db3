"""The GARCH -> EWMA -> historical cascade and the rolling feature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volresearch.errors import ConfigError
from volresearch.models._recursions import (
    egarch_filter,
    egarch_filter_py,
    garch_filter,
    garch_filter_py,
)
from volresearch.models.robust import (
    VOLATILITY_FLOOR,
    conditional_volatility,
    ewma_variance,
    ewma_volatility,
    historical_volatility,
    rolling_historical_volatility,
    rolling_volatility,
)

INDA = Path(__file__).resolve().parents[2] / "shared" / "data" / "INDA_1min.csv"


def gbm(n, sigma=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(sigma * rng.standard_normal(n)))


# the four explicit cases of the cascade's specification
def test_thirty_trending_prices_use_ewma():
    est = conditional_volatility([100.0 + i * 0.1 for i in range(30)], 500)
    assert est is not None and est.value > 0 and est.method == "ewma"
    assert "< 50" in est.reason


def test_two_prices_give_a_positive_volatility():
    est = conditional_volatility([100.0, 101.0], 500)
    assert est is not None and est.value == pytest.approx(abs(np.log(101 / 100)))


def test_one_price_gives_none():
    assert conditional_volatility([100.0], 500) is None
    assert conditional_volatility([], 500) is None


def test_flat_market_is_floored_not_nan():
    est = conditional_volatility([100.0] * 100, 50)
    assert est is not None and est.value >= 1e-10 and est.floored
    assert est.method == "ewma" and "GARCH failed" in est.reason


def test_enough_returns_use_garch():
    est = conditional_volatility(gbm(800), 500)
    assert est.method == "garch" and est.fit is not None and est.n_returns == 500
    assert est.value == pytest.approx(0.01, rel=0.3)


def test_ewma_and_historical_closed_forms():
    p = np.array([100.0, 101.0, 100.5, 102.0])
    r = np.diff(np.log(p))
    s2 = r[0] ** 2
    for x in r[1:]:
        s2 = 0.94 * s2 + 0.06 * x * x
    assert ewma_volatility(p) == pytest.approx(np.sqrt(s2))
    assert historical_volatility(p) == pytest.approx(np.sqrt(np.mean(r**2)))
    assert ewma_volatility([1.0]) is None and historical_volatility([1.0]) is None


def test_rolling_volatility_nan_only_on_first_bar():
    p = gbm(1500, seed=2)
    rv = rolling_volatility(p, window=500, refit_every=200)
    assert np.isnan(rv["volatility"].iloc[0])
    assert rv["volatility"].iloc[1:].notna().all()
    assert (rv["volatility"].iloc[1:] >= VOLATILITY_FLOOR).all()
    assert set(rv["method"].iloc[1:50]) == {"ewma"}
    assert (rv["method"].iloc[50:] == "garch").all()
    assert rv["refit"].sum() == len(range(50, 1500, 200))


def test_rolling_volatility_is_look_ahead_free():
    p = gbm(900, seed=4)
    q = p.copy()
    q[600:] *= np.exp(np.cumsum(np.r_[0.2, np.zeros(299)]))  # a shock after bar 599
    a = rolling_volatility(p, window=400, refit_every=150)["volatility"].to_numpy()
    b = rolling_volatility(q, window=400, refit_every=150)["volatility"].to_numpy()
    np.testing.assert_array_equal(a[:600], b[:600])
    assert not np.allclose(a[600:], b[600:])


def test_rolling_value_equals_point_estimate_at_refit():
    p = gbm(700, seed=6)
    rv = rolling_volatility(p, window=300, refit_every=10_000)
    est = conditional_volatility(p[:51], 300)
    assert rv["volatility"].iloc[50] == pytest.approx(est.value, rel=1e-9)


def test_flat_series_rolling_is_floored():
    rv = rolling_volatility(np.full(120, 50.0), window=100, refit_every=30)
    assert rv["volatility"].iloc[1:].eq(VOLATILITY_FLOOR).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_numba_filters_match_python_twins(seed):
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(500) * 0.01
    out = np.empty(501)
    garch_filter(e, 1e-4, 1e-6, 0.05, 0.1, 0.9, out)
    np.testing.assert_allclose(out, garch_filter_py(e, 1e-4, 1e-6, 0.05, 0.1, 0.9), rtol=1e-14)
    egarch_filter(e, 1e-4, -0.5, 0.1, -0.05, 0.95, out)
    np.testing.assert_allclose(out, egarch_filter_py(e, 1e-4, -0.5, 0.1, -0.05, 0.95), rtol=1e-12)


@pytest.mark.parametrize("min_periods", [1, 5, 20])
def test_ewma_variance_matches_the_recursion_written_out(min_periods):
    rng = np.random.default_rng(min_periods)
    r = rng.standard_normal(300) * 0.01
    ours = ewma_variance(r, 0.94, min_periods=min_periods)
    ref = np.full(r.size, np.nan)
    s2 = float(np.mean(r[:min_periods] ** 2))
    ref[min_periods - 1] = s2
    for t in range(min_periods, r.size):
        s2 = 0.94 * s2 + 0.06 * r[t] ** 2
        ref[t] = s2
    np.testing.assert_allclose(ours, ref, rtol=1e-13)
    # look-ahead free: changing a later return leaves earlier values alone
    r2 = r.copy()
    r2[200] *= 50
    np.testing.assert_array_equal(ewma_variance(r2, 0.94, min_periods=min_periods)[:200], ours[:200])


def test_ewma_variance_refuses_bad_options():
    with pytest.raises(ConfigError):
        ewma_variance(np.ones(10), 1.0)
    with pytest.raises(ConfigError):
        ewma_variance(np.ones(10), 0.94, min_periods=11)
    assert ewma_variance(np.empty(0)).size == 0


@pytest.mark.slow
@pytest.mark.skipif(not INDA.exists(), reason="shared INDA data not present")
def test_real_one_minute_data_gives_fewer_than_one_percent_nan():
    close = pd.read_csv(INDA)["close"].to_numpy()
    rv = rolling_volatility(close, window=2000, refit_every=1000)
    assert rv["volatility"].isna().mean() < 0.01
    assert rv["volatility"].isna().sum() == 1
    est = conditional_volatility(close, 5000)
    assert est is not None and est.method in {"garch", "ewma", "historical"}
    if est.method == "garch":
        assert est.fit.converged and est.fit.persistence < 1


def test_rolling_historical_volatility_is_the_windowed_root_mean_square():
    rng = np.random.default_rng(3)
    r = rng.standard_normal(200) * 0.01
    out = rolling_historical_volatility(r, 20)
    assert np.isnan(out[:19]).all()
    for t in (19, 57, 199):
        assert out[t] == pytest.approx(np.sqrt(np.mean(r[t - 19 : t + 1] ** 2)), rel=1e-10)
    assert rolling_historical_volatility(np.zeros(10), 3)[2:].tolist() == [0.0] * 8
    with pytest.raises(ConfigError):
        rolling_historical_volatility(r, 0)
    # the last window of the whole sample is the scalar estimator of the prices
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    assert rolling_historical_volatility(r, r.size)[-1] == pytest.approx(historical_volatility(prices), rel=1e-10)
