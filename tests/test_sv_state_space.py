"""Heston/SVCJ in the rolling forecaster: the adapted SV state space against closed forms and the SV filter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volresearch.data.datasets import load
from volresearch.errors import DataError
from volresearch.registry import fit_model
from volresearch.simulate import RollingForecaster, filter_support, sv_filter
from volresearch.simulate.particle_filter import PriceObservation
from volresearch.simulate.sv_state_space import SVStateSpace

DT = 1.0 / 252.0


def test_first_bar_increment_is_the_gaussian_predictive_density():
    """xi -> 0, v0 = theta: every particle predicts N((mu - theta/2) dt, theta dt + s_obs^2) for the log return."""
    p = {"mu": 0.05, "kappa": 3.0, "theta": 0.04, "xi": 1e-5, "rho": 0.0}
    n, s_obs, x0 = 400, 0.002, math.log(100.0)
    ss = SVStateSpace(p, DT, x0, 0.04, n, seed=3)
    y = math.log(101.0)
    log_w = np.full(n, -math.log(n))
    out, w = np.empty(n), np.empty(n)
    inc, ess = ss.propose(1, PriceObservation(101.0, s_obs), log_w, out, w)
    var = 0.04 * DT + s_obs**2
    d = y - x0 - (0.05 - 0.02) * DT
    assert inc == pytest.approx(-0.5 * (math.log(2 * math.pi * var) + d * d / var), abs=1e-6)
    assert ess == pytest.approx(n, rel=1e-6)
    ss.commit()
    # each particle's new log price is a draw of the return given the close: mean pulled to y, spread sqrt(k) s_obs
    k = 0.04 * DT / var
    assert np.mean(ss.x) == pytest.approx(x0 + (0.03 * DT) + k * d, abs=4 * math.sqrt(k) * s_obs / math.sqrt(n))
    assert np.std(ss.x) == pytest.approx(math.sqrt(k) * s_obs, rel=0.15)


@pytest.fixture(scope="module")
def sp500_heston():
    bars = load("sp500").iloc[-1300:]
    return bars, fit_model("heston", bars.iloc[:1200])


def test_rolling_forecaster_carries_heston_and_agrees_with_the_sv_filter(sp500_heston):
    bars, fit = sp500_heston
    assert filter_support(fit) == ""
    rf = RollingForecaster(fit, n_particles=2000, horizon_minutes=5 * 1440, horizons=[1440, 5 * 1440],
                           bar_seconds=86_400, noise_sd=1e-5, seed=0)  # fmt: skip
    out = rf.replay(bars.iloc[1200:])
    assert len(out) == 2 * 100 and np.all(np.isfinite(out["std"]))
    assert out["ess"].median() > 0.2 * 2000
    one, five = out[out["horizon"] == 1440], out[out["horizon"] == 7200]
    assert np.all(five["std"].to_numpy() > one["std"].to_numpy())
    # the same filter written twice: the standalone kernel on the returns (no noise) from the same start law
    r = np.diff(np.log(bars["close"].to_numpy()[1199:]))
    from volresearch.simulate.sv_filter import stationary_particles

    p = fit.params
    init = stationary_particles(p["kappa"], p["theta"], p["xi"], 4000, mean=p["v0"], sd=fit.diagnostics["v0_sd"])
    ref = sv_filter(fit.simulation_params(), r, fit.dt, n_particles=4000, seed=1, v0=init)
    v_rolling = float(np.average(rf.filter.model.sigma2, weights=rf.filter.weights))
    assert v_rolling == pytest.approx(ref.v_mean[-1], rel=0.1)


def test_a_bad_bar_leaves_the_heston_forecaster_unchanged(sp500_heston):
    bars, fit = sp500_heston
    rf = RollingForecaster(fit, n_particles=500, horizon_minutes=1440, horizons=[1440], bar_seconds=86_400, seed=1)
    for ts, row in bars.iloc[1200:1205].iterrows():
        rf.process_bar(row, timestamp=ts)
    before = {k: v.copy() for k, v in rf.filter.model.state_arrays().items()}
    with pytest.raises(DataError):
        rf.process_bar(bars.iloc[1203], timestamp=bars.index[1203])  # not after the last bar
    after = rf.filter.model.state_arrays()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_svcj_results_plug_in_too():
    p = {"mu": 0.05, "kappa": 4.0, "theta": 0.03, "xi": 0.4, "rho": -0.6, "lam": 3.0, "mu_y": -0.03,
         "sigma_y": 0.04, "mu_v": 0.05, "rho_j": -0.5}  # fmt: skip
    ss = SVStateSpace(p, DT, 0.0, 0.03, 300, seed=2)
    log_w = np.full(300, -math.log(300))
    inc, ess = ss.propose(3, PriceObservation(math.exp(-0.05), 1e-4), log_w, np.empty(300), np.empty(300))
    assert math.isfinite(inc) and 1.0 <= ess <= 300.0  # a -5% close is reachable through a jump


def test_merton_first_bar_increment_is_the_poisson_mixture_density():
    """Given each particle's jump count the bar is Gaussian: the increment estimates the exact mixture density."""
    from scipy import stats

    from volresearch.simulate.sv_state_space import MertonStateSpace

    p = {"mu": 0.05, "sigma": 0.15, "lam": 40.0, "mu_j": -0.01, "sigma_j": 0.02}
    n, s_obs, x0, close = 40_000, 0.001, math.log(100.0), 98.5
    ss = MertonStateSpace(p, DT, x0, n, seed=5)
    log_w = np.full(n, -math.log(n))
    inc, ess = ss.propose(1, PriceObservation(close, s_obs), log_w, np.empty(n), np.empty(n))
    drift = (p["mu"] - 0.5 * p["sigma"] ** 2 - p["lam"] * math.expm1(p["mu_j"] + 0.5 * p["sigma_j"] ** 2)) * DT
    d = math.log(close) - x0
    k = np.arange(30)
    w = stats.poisson.pmf(k, p["lam"] * DT)
    dens = np.sum(
        w * stats.norm.pdf(d, drift + k * p["mu_j"], np.sqrt(p["sigma"] ** 2 * DT + k * p["sigma_j"] ** 2 + s_obs**2))
    )
    assert inc == pytest.approx(math.log(dens), abs=0.03)
    assert 1.0 < ess < n  # particles that jumped explain a -1.5% bar better


def test_rolling_forecaster_carries_merton(sp500_heston):
    bars, _ = sp500_heston
    fit = fit_model("merton", bars.iloc[:1200])
    assert filter_support(fit) == ""
    rf = RollingForecaster(fit, n_particles=500, horizon_minutes=5 * 1440, horizons=[1440, 5 * 1440],
                           bar_seconds=86_400, seed=0)  # fmt: skip
    out = rf.replay(bars.iloc[1200:1230])
    assert len(out) == 60 and np.all(np.isfinite(out["std"])) and out["ess"].min() > 1.0
    one = out[out["horizon"] == 1440]
    # a constant-volatility model: the one-day spread relative to the price stays put
    rel = (one["std"] / one["price"]).to_numpy()
    assert rel.max() / rel.min() < 1.3
