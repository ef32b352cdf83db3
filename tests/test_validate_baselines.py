"""Tests of volresearch.validate.baselines: volatility estimators, look-ahead, both scoring routes."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from volresearch.errors import DataError
from volresearch.models import robust
from volresearch.validate import baselines as bl
from volresearch.validate import calibration as cal


def simulate_garch(n: int, seed: int) -> np.ndarray:
    """GARCH(1,1) Gaussian returns (omega 1e-6, alpha 0.1, beta 0.85)."""
    g = np.random.default_rng(seed)
    z = g.standard_normal(n + 500)
    s2 = 1e-6 / 0.05
    r = np.empty(n + 500)
    for t in range(n + 500):
        r[t] = math.sqrt(s2) * z[t]
        s2 = 1e-6 + 0.1 * r[t] ** 2 + 0.85 * s2
    return r[500:]


@pytest.fixture
def returns() -> np.ndarray:
    return simulate_garch(3000, 11)


class TestVolatility:
    def test_historical_is_rolling_rms(self, returns):
        w = 60
        sig = bl.historical_volatility(returns, w)
        assert np.isnan(sig[: w - 1]).all()
        for t in (w - 1, 500, returns.size - 1):
            assert sig[t] == pytest.approx(math.sqrt(np.mean(returns[t - w + 1 : t + 1] ** 2)), rel=1e-10)

    def test_historical_is_the_cascades_estimator_per_window(self, returns):
        w = 60
        sig = bl.historical_volatility(returns, w)
        for t in (w - 1, 700, returns.size - 1):
            prices = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns[t - w + 1 : t + 1])]))
            assert sig[t] == pytest.approx(robust.historical_volatility(prices), rel=1e-8)

    def test_ewma_is_the_cascades_recursion_after_the_warm_up(self, returns):
        m, lam = 20, 0.94
        sig = bl.ewma_volatility(returns, lam, min_periods=m)
        assert np.isnan(sig[: m - 1]).all()
        # explicit recursion from the mean of the first m squared returns
        ref = np.full(returns.size, np.nan)
        s2 = float(np.mean(returns[:m] ** 2))
        ref[m - 1] = s2
        for t in range(m, returns.size):
            s2 = lam * s2 + (1 - lam) * returns[t] ** 2
            ref[t] = s2
        np.testing.assert_allclose(sig**2, ref, rtol=1e-12, equal_nan=True)
        # pandas' recursive EWMA started from the same warm-up value
        seed_var = np.mean(returns[:m] ** 2)
        s = pd.Series(np.r_[seed_var, returns[m:] ** 2]).ewm(alpha=1 - lam, adjust=False).mean().to_numpy()
        np.testing.assert_allclose(sig[m - 1 :] ** 2, s, rtol=1e-12)
        # with a one-return warm-up it is the cascade's EWMA exactly
        np.testing.assert_allclose(
            bl.ewma_volatility(returns, lam, min_periods=1), np.sqrt(robust.ewma_variance(returns, lam)), rtol=0
        )
        assert bl.ewma_volatility(returns) == pytest.approx(
            bl.ewma_volatility(returns, robust.EWMA_LAMBDA), nan_ok=True
        )

    def test_registry(self):
        assert set(bl.VOLATILITY_ESTIMATORS) == {"historical", "ewma"}

    @pytest.mark.parametrize("method", ["historical", "ewma"])
    def test_no_look_ahead(self, returns, method):
        cut = 1700
        changed = returns.copy()
        changed[cut:] = np.random.default_rng(1).standard_normal(returns.size - cut) * 0.05
        kw = {"window": 100} if method == "historical" else {}
        sig_a = bl.VOLATILITY_ESTIMATORS[method](returns, **kw)
        sig_b = bl.VOLATILITY_ESTIMATORS[method](changed, **kw)
        np.testing.assert_array_equal(sig_a[:cut], sig_b[:cut])
        assert not np.allclose(sig_a[cut:], sig_b[cut:])
        h = 5
        fa = bl.random_walk_forecast(returns, horizon=h, method=method, window=100)
        fb = bl.random_walk_forecast(changed, horizon=h, method=method, window=100)
        past = fa.origin < cut
        np.testing.assert_array_equal(fa.origin[past], fb.origin[: past.sum()])
        np.testing.assert_array_equal(fa.std[past], fb.std[: past.sum()])
        np.testing.assert_array_equal(fa.mean[past], fb.mean[: past.sum()])
        # targets whose horizon ends before the change are unchanged too
        done = fa.origin + h < cut
        np.testing.assert_array_equal(fa.target[done], fb.target[: done.sum()])


class TestForecast:
    def test_targets_and_variance_scaling(self, returns):
        h = 4
        f = bl.random_walk_forecast(returns, horizon=h, method="historical", window=50)
        t = f.origin[10]
        assert f.target[10] == pytest.approx(returns[t + 1 : t + 1 + h].sum())
        sig = bl.historical_volatility(returns, 50)
        assert f.std[10] == pytest.approx(math.sqrt(h) * sig[t])
        assert f.origin[0] == 49 and f.origin[-1] == returns.size - 1 - h
        np.testing.assert_allclose(bl.cumulative_returns([1.0, 2.0, 3.0, 4.0], 2), [5.0, 7.0, np.nan, np.nan])

    def test_incomplete_stride_and_index(self, returns):
        idx = pd.date_range("2024-01-01", periods=returns.size, freq="min", tz="UTC")
        series = pd.Series(returns, index=idx)
        live = bl.random_walk_forecast(series, horizon=3, complete=False)
        assert np.isnan(live.target[-3:]).all() and live.origin[-1] == returns.size - 1
        assert len(live.complete()) == len(live) - 3
        with pytest.raises(DataError, match="some targets are missing"):
            live.crps()
        frame = live.complete().to_frame()
        assert frame.index[0] == idx[19] and list(frame.columns) == ["origin", "mean", "std", "target"]
        strided = bl.random_walk_forecast(series, horizon=3, stride=3)
        assert np.all(np.diff(strided.origin) == 3)
        json.dumps(strided.to_dict(), allow_nan=False)

    def test_closed_form_scores(self, returns):
        f = bl.random_walk_forecast(returns, method="ewma")
        np.testing.assert_allclose(f.crps(), cal.crps_normal(0.0, f.std, f.target))
        np.testing.assert_allclose(f.pit(), stats.norm.cdf(f.target / f.std))
        q = f.quantiles([0.025, 0.975])
        hits = f.interval_hits((0.95,))
        np.testing.assert_array_equal(hits[0.95], ((f.target < q[:, 0]) | (f.target > q[:, 1])).astype(int))

    def test_ensemble_route_agrees_with_closed_form(self, returns):
        f = bl.random_walk_forecast(returns, method="ewma")
        ens = f.sample(2000, seed=3)
        np.testing.assert_array_equal(ens, f.sample(2000, seed=3))
        crps_ens = cal.crps_ensemble(ens, f.target, fair=True)
        crps_cf = f.crps()
        diff = crps_ens - crps_cf
        assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(diff.size) + 1e-12
        assert np.abs(cal.pit(ens, f.target) - f.pit()).max() < 0.05
        agree = (cal.interval_hits(ens, f.target, (0.9,))[0.9] == f.interval_hits((0.9,))[0.9]).mean()
        assert agree > 0.98

    def test_gaussian_returns_are_calibrated_for_the_baseline(self):
        r = np.random.default_rng(21).standard_normal(6000) * 0.01
        rep = bl.random_walk_forecast(r, method="historical", window=500).report()
        assert rep.pit.ad_pvalue > 0.01
        row = rep.coverage.set_index("level").loc[0.95]
        assert 0.93 < row["coverage"] < 0.97

    def test_ewma_beats_long_window_history_on_garch(self):
        r = simulate_garch(6000, 12)
        ewma = bl.random_walk_forecast(r, method="ewma", min_periods=250)
        hist = bl.random_walk_forecast(r, method="historical", window=250)
        common = np.intersect1d(ewma.origin, hist.origin)
        se = ewma.std[np.isin(ewma.origin, common)] ** 2
        sh = hist.std[np.isin(hist.origin, common)] ** 2
        proxy = r[common + 1] ** 2
        dm = cal.diebold_mariano(
            cal.qlike(se, proxy, normalized=False), cal.qlike(sh, proxy, normalized=False), alternative="less"
        )
        assert dm.pvalue < 0.01
        skill = cal.crps_skill(ewma.crps()[np.isin(ewma.origin, common)], hist.crps()[np.isin(hist.origin, common)])
        assert skill > 0

    def test_errors(self, returns):
        with pytest.raises(DataError, match="unknown method 'garch'"):
            bl.random_walk_forecast(returns, method="garch")
        with pytest.raises(DataError, match="window must satisfy"):
            bl.historical_volatility(returns[:10], 20)
        with pytest.raises(DataError, match="lam must lie strictly between 0 and 1"):
            bl.ewma_volatility(returns, 1.0)
        with pytest.raises(DataError, match="horizon must be at least 1"):
            bl.random_walk_forecast(returns, horizon=0)
        with pytest.raises(DataError, match="zero volatility at some origins"):
            bl.random_walk_forecast(np.r_[np.zeros(30), returns[:50]], method="historical", window=10)
        with pytest.raises(DataError, match="returns contains NaN"):
            bl.random_walk_forecast(np.r_[returns[:50], np.nan])
