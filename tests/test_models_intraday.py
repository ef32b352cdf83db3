"""Multiplicative-component intraday GARCH: recovery on data with known truth, kernel twin, fans that follow the clock."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volresearch.data.calendar import get_calendar
from volresearch.errors import ConfigError
from volresearch.models import ModelSpec, fit_garch
from volresearch.models.intraday import IntradayFit, fit_intraday, gap_variance_ratio
from volresearch.registry import load_result, simulate_model
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.kernels.garch import EGARCH, GJR
from volresearch.simulate.kernels.intraday import simulate_intraday
from volresearch.simulate.paths import simulate_paths

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SLOTS = 1440
TRUE_Q = {"omega": 0.03, "alpha": 0.05, "gamma": 0.04, "beta": 0.90}  # persistence 0.97, E[q] = 1


def true_diurnal(n: int = SLOTS) -> np.ndarray:
    """A diurnal factor with a 3x peak-to-trough range over the 24-hour session, mean 1."""
    x = (np.arange(n) + 0.5) / n
    s = np.exp(0.5 * np.cos(2 * np.pi * (x - 0.6)) + 0.2 * np.sin(4 * np.pi * x))
    return s / s.mean()


def synthetic_intraday(
    n_days: int, *, seed: int, daily_var: float = 1e-4, bars_per_day: int = SLOTS, with_h: bool = False
) -> tuple[pd.DataFrame, np.ndarray] | tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """24/7 bars from r = sqrt(h_d s_i / N q) z with a GJR q, AR(1) log h_d and normal z (``with_h``: h_d too)."""
    rng = np.random.default_rng(seed)
    s = true_diurnal(bars_per_day)
    logh = np.zeros(n_days)
    for d in range(1, n_days):
        logh[d] = 0.7 * logh[d - 1] + 0.15 * rng.standard_normal()
    h = daily_var * np.exp(logh)
    m = (h[:, None] * s[None, :] / bars_per_day).ravel()
    z = rng.standard_normal(m.size)
    r = np.empty_like(z)
    p = TRUE_Q
    q = 1.0
    for t in range(z.size):
        u = np.sqrt(q) * z[t]
        r[t] = np.sqrt(m[t]) * u
        q = p["omega"] + (p["alpha"] + p["gamma"] * (u < 0)) * u * u + p["beta"] * q
    close = 100.0 * np.exp(np.cumsum(r))
    opn = np.concatenate([[100.0], close[:-1]])
    freq = f"{86_400 // bars_per_day}s"
    index = pd.date_range("2024-01-01", periods=r.size, freq=freq, tz="UTC", name="timestamp")
    bars = pd.DataFrame(
        {"open": opn, "high": np.maximum(opn, close), "low": np.minimum(opn, close), "close": close, "volume": 1.0},
        index=index,
    )
    return (bars, s, h) if with_h else (bars, s)


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, np.ndarray, IntradayFit]:
    bars, s = synthetic_intraday(40, seed=0)
    return bars, s, fit_intraday(bars, calendar="crypto_24x7", model="gjr", dist="normal")


def test_recovers_diurnal_shape_and_intraday_persistence(synthetic):
    bars, s, fit = synthetic
    rel = fit.diurnal.factor / s - 1.0
    # mean |relative error| of the diurnal factor ~4%, worst slot ~11% with 40 days
    assert np.mean(np.abs(rel)) < 0.08, np.mean(np.abs(rel))
    assert np.max(np.abs(rel)) < 0.25, np.max(np.abs(rel))
    true_persistence = TRUE_Q["alpha"] + TRUE_Q["beta"] + TRUE_Q["gamma"] / 2
    assert abs(fit.persistence - true_persistence) < 0.015, fit.persistence
    assert fit.daily.method == "ewma" and "250" in fit.daily.reason  # 40 days: no daily GARCH, said why
    raw = fit_garch(bars, ModelSpec("gjr", "normal", "zero"))
    # the raw GJR soaks up the diurnal and daily variation: its persistence is higher
    assert raw.persistence > fit.persistence + 0.005, (raw.persistence, fit.persistence)
    # the model's mean variance matches the sample's
    assert 0.85 < fit.diagnostics["variance_ratio"] < 1.15


def test_variance_multiplier_follows_calendar_and_factor(synthetic):
    _, s, fit = synthetic
    times = get_calendar("crypto_24x7").next_bars(fit.end, SLOTS, 60)
    m = fit.variance_multiplier(times)
    h = fit.daily.forecast[0]
    # the bars of the next session: h_1 s_i / sum s (+ the tiny gap term on its first bar)
    np.testing.assert_allclose(m[1:], h * fit.diurnal.factor[1:] / fit.diurnal.factor.sum(), rtol=1e-12)
    assert m[0] >= h * fit.diurnal.factor[0] / fit.diurnal.factor.sum()


def _kernel_inputs(model_code):
    table = innovation_table("t", {"nu": 5.0})
    if model_code == EGARCH:
        params = {"mu": 0.01, "omega": -0.02, "alpha": 0.1, "gamma": -0.05, "beta": 0.97}
    else:
        params = {"mu": 0.01, "omega": 0.05, "alpha": 0.05, "gamma": 0.04, "beta": 0.9}
    mult = 1e-8 * (1.0 + 0.8 * np.sin(np.linspace(0.0, 6.0, 150)) ** 2)
    return table, params, mult


@pytest.mark.parametrize("model_code", [GJR, EGARCH])
def test_kernel_matches_numpy_twin(model_code):
    table, params, mult = _kernel_inputs(model_code)
    args = dict(ppf_table=table, n_paths=200, x0=np.log(100.0), q1=1.3, seed=11, mode="matrix")
    fast = simulate_intraday(model_code, params, mult, **args)
    slow = simulate_intraday(model_code, params, mult, twin=True, **args)
    np.testing.assert_allclose(fast.log_prices, slow.log_prices, rtol=0, atol=1e-12)
    bands = simulate_intraday(model_code, params, mult, **{**args, "mode": "bands"})
    np.testing.assert_allclose(bands.terminal_prices, np.exp(fast.log_prices[-1]), rtol=1e-14)
    i50 = list(bands.levels).index(0.5)
    np.testing.assert_allclose(
        np.log(bands.bands[:, i50]), np.quantile(fast.log_prices, 0.5, axis=1, method="inverted_cdf"), atol=1e-12
    )


def test_unit_multiplier_is_the_garch_kernel():
    table, params, _ = _kernel_inputs(GJR)
    params = {**params, "mu": 0.0}
    ours = simulate_intraday(GJR, params, np.ones(80), ppf_table=table, n_paths=130, x0=0.0, q1=0.7, seed=5,
                             mode="matrix")  # fmt: skip
    theirs = simulate_paths("gjr", params, ppf_table=table, n_paths=130, horizon=80, x0=0.0, sigma2_1=0.7, seed=5,
                            mode="matrix")  # fmt: skip
    np.testing.assert_array_equal(ours.log_prices, theirs.log_prices)


def test_fan_variance_per_slot_follows_diurnal_factor(synthetic):
    _, _, fit = synthetic
    eq = fit.q_fit.unconditional_variance
    # start q at its mean so E[q_t] = E[q] at every step (exact for GJR with a symmetric law)
    paths = simulate_model(fit, 4000, SLOTS, seed=3, mode="matrix", state={"q_next": eq})
    times = paths.step_times
    assert times[1] == fit.end + pd.Timedelta(minutes=1) and len(times) == SLOTS + 1
    r = np.diff(paths.log_prices, axis=0)
    m = fit.variance_multiplier(times[1:])
    hourly_var = np.mean(r**2, axis=1).reshape(24, 60).mean(axis=1)
    hourly_model = (m * eq).reshape(24, 60).mean(axis=1)
    ratio = hourly_var / hourly_model
    assert np.all(np.abs(ratio - 1.0) < 0.12), ratio
    hourly_s = fit.diurnal.factor.reshape(24, 60).mean(axis=1)
    assert np.corrcoef(hourly_var, hourly_s)[0, 1] > 0.95


def test_fan_skips_weekend_and_carries_the_gap():
    """On a 24x5 calendar the fan's steps skip the weekend; the bar after it carries the gap variance."""
    bars, _ = synthetic_intraday(16, seed=4)
    cal = get_calendar("fx_24x5")
    bars = bars[cal.is_open(bars.index)]  # the weekend's moves now sit in the Sunday open's gap return
    fit = fit_intraday(bars, calendar="fx_24x5", model="gjr", dist="normal")
    assert fit.gap_ratio > 0.05  # one weekend gap of ~2 days' variance among the session gaps
    fan = simulate_model(fit, 2000, 3 * SLOTS, seed=2)
    times = fan.step_times
    assert not np.any(times[1:].day_of_week == 5)  # no Saturday step
    jumps = np.flatnonzero(np.diff(times.asi8) > 60 * 10**9)
    assert jumps.size >= 1
    m = fit.variance_multiplier(times[1:], previous=times[0])
    first_after = jumps[0]  # index in times[1:] of the first bar after the weekend
    assert m[first_after] > 50 * np.median(m)
    var = (fan.std / fan.mean) ** 2
    step_var = np.diff(var)  # variance added by each step (step k + 1 is bar k of times[1:])
    assert step_var[first_after] > 10 * np.median(step_var)  # the fan widens across the gap


def test_daily_har_with_enough_sessions():
    bars, _, h = synthetic_intraday(70, seed=3, with_h=True)
    fit = fit_intraday(bars, calendar="crypto_24x7", model="gjr", dist="normal")
    assert fit.daily.method == "har" and fit.daily.reason == "70 session days: a daily GARCH needs >= 250"
    assert fit.daily.details["har"]["nobs"] > 40
    # the ex-ante h_d tracks the true daily variance once HAR has its 22 lags
    late = slice(23, 70)
    assert np.corrcoef(np.log(fit.daily.h[late]), np.log(h[late]))[0, 1] > 0.4
    assert np.all(fit.daily.forecast > 0) and abs(np.log(fit.daily.forecast[-1] / np.mean(h))) < 0.5


def test_daily_garch_with_a_year_of_sessions():
    bars, _, h = synthetic_intraday(260, seed=5, bars_per_day=288, with_h=True)  # five-minute bars
    fit = fit_intraday(bars, calendar="crypto_24x7", model="gjr", dist="normal")
    assert fit.daily.method == "garch" and fit.daily.reason == ""
    # no gaps on a 24/7 clock: the intraday share of the session variance is one, up to noise
    assert 0.8 < fit.daily.details["intraday_share"] < 1.25
    assert abs(np.log(np.mean(fit.daily.h) / np.mean(h))) < 0.3
    asked = fit_intraday(bars.iloc[: 288 * 40], calendar="crypto_24x7", model="gjr", dist="normal", daily="garch")
    assert asked.daily.method == "ewma" and any("garch not used" in f for f in asked.flags)


def test_json_round_trip_and_summary(synthetic):
    _, _, fit = synthetic
    payload = json.loads(json.dumps(fit.to_dict()))
    back = load_result(payload)
    assert isinstance(back, IntradayFit)
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(fit.to_dict(), sort_keys=True)
    text = fit.summary()
    assert "persistence" in text and "diurnal" in text and fit.model in text
    assert fit.meta["data_hash"] and fit.meta["calendar"] == "crypto_24x7" and "versions" in fit.meta


def test_daily_bars_are_refused():
    index = pd.date_range("2020-01-01", periods=300, freq="D", tz="UTC", name="timestamp")
    bars = pd.DataFrame({"close": 100 * np.exp(np.cumsum(np.full(300, 0.001)))}, index=index)
    with pytest.raises(ConfigError, match="shorter than a day"):
        fit_intraday(bars)
    with pytest.raises(ConfigError, match="unknown daily method"):
        fit_intraday(bars, daily="arima")  # type: ignore[arg-type]


REAL = {  # file -> the 0.99 persistence target met?
    "USDJPY_1min_2013-02.csv": True,
    "BTCPERP_1min_2022-01.csv": False,
}


@pytest.fixture(scope="module", params=sorted(REAL))
def real_fit(request):
    path = DATA / request.param
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder is optional)")
    from volresearch.data import open_bars

    bars = open_bars(str(path))
    return request.param, bars, fit_intraday(bars, model="gjr", dist="sged")


def test_real_series(real_fit):
    name, bars, fit = real_fit
    print(name, fit.summary())
    assert fit.persistence < 0.999 and not fit.q_fit.near_integrated
    try:
        raw = fit_garch(bars, ModelSpec("gjr", "sged", "zero")).persistence
    except Exception:  # the raw fit is rejected on some of these series (integrated or implausible level)
        raw = 1.0
    assert fit.persistence < raw
    # sample mean r^2 over the model's mean variance (USD/JPY 0.76, BTC 0.97)
    assert 0.6 < fit.diagnostics["variance_ratio"] < 1.5


def test_real_series_persistence_target(real_fit, request):
    name, _, fit = real_fit
    if not REAL[name]:
        request.applymarker(
            pytest.mark.xfail(reason=f"{name}: intraday persistence {fit.persistence:.4f} >= 0.99", strict=True)
        )
    assert fit.persistence < 0.99


class TestGapVarianceRatio:
    """``G``: the maximum-likelihood scale of the standardised gap returns under the intraday law."""

    def test_normal_law_is_the_mean_square(self):
        x = np.random.default_rng(0).normal(0.0, 2.0, 40)
        got = gap_variance_ratio(x, "normal", {}, 1.6)
        assert got == pytest.approx(np.mean(x**2) / 1.6, rel=1e-5)  # closed-form normal MLE

    def test_t_law_recovers_the_truth_and_beats_the_mean_square(self):
        nu, truth, q_mean, n = 4.0, 3.0, 1.5, 40
        rng = np.random.default_rng(1)
        mle, ms = [], []
        for _ in range(200):
            x = math.sqrt(truth * q_mean) * rng.standard_t(nu, n) / math.sqrt(nu / (nu - 2.0))
            mle.append(gap_variance_ratio(x, "t", {"nu": nu}, q_mean))
            ms.append(np.mean(x**2) / q_mean)
        mle, ms = np.log(mle), np.log(ms)
        assert abs(np.median(mle) - math.log(truth)) < 0.06  # median within 6% of the true ratio
        assert np.std(mle) < 0.8 * np.std(ms)  # and far less spread than the mean square across samples

    def test_few_gaps_fall_back_to_the_mean_square(self):
        x = np.array([0.5, -2.0, 1.0])
        assert gap_variance_ratio(x, "t", {"nu": 4.0}, 2.0) == pytest.approx(np.mean(x**2) / 2.0)
        assert gap_variance_ratio(np.array([]), "t", {"nu": 4.0}, 2.0) == 0.0
