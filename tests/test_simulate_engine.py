"""Simulation from a fit: agreement with arch's analytic forecast, reproducibility, skew direction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch.univariate import GARCH, ConstantMean, StudentsT
from scipy import stats

from volresearch.data import datasets
from volresearch.models import ModelSpec, fit_garch
from volresearch.models.distributions import ppf_function
from volresearch.simulate import simulate_paths
from volresearch.simulate.engine import innovation_table, simulate_fit


@pytest.fixture(scope="module")
def spx():
    return datasets.load("sp500")


@pytest.fixture(scope="module")
def gjr_t(spx):
    return fit_garch(spx, ModelSpec("gjr", "t"))


def _arch_cumulative_variance(fit, spx, horizons):
    s = fit.scale
    r = np.diff(np.log(spx["close"].to_numpy())) * s
    am = ConstantMean(r, volatility=GARCH(1, 1, 1), distribution=StudentsT(), rescale=False)
    p = fit.params
    params = np.array([p["mu"] * s, p["omega"] * s * s, p["alpha"], p["gamma"], p["beta"], p["nu"]])
    var = am.forecast(params=params, horizon=max(horizons), reindex=False).variance.to_numpy()[-1] / s**2
    return {h: float(np.sum(var[:h])) for h in horizons}


@pytest.mark.slow
def test_monte_carlo_variance_matches_arch_analytic_forecast(gjr_t, spx):
    horizons = (1, 10, 100, 1440)
    ref = _arch_cumulative_variance(gjr_t, spx, horizons)
    paths = simulate_fit(gjr_t, n_paths=40_000, horizon=1440, seed=11)
    for h in horizons:
        cum = paths.returns(h)
        dev = cum - cum.mean()
        var = float(np.mean(dev**2))
        se = math.sqrt((np.mean(dev**4) - var**2) / cum.size)
        assert abs(var - ref[h]) < 3 * se, (h, var, ref[h], se)


def test_short_horizon_variance_matches_arch(gjr_t, spx):
    ref = _arch_cumulative_variance(gjr_t, spx, (1, 10))
    paths = simulate_fit(gjr_t, n_paths=20_000, horizon=10, seed=3)
    for h in (1, 10):
        cum = paths.returns(h)
        dev = cum - cum.mean()
        var = float(np.mean(dev**2))
        se = math.sqrt((np.mean(dev**4) - var**2) / cum.size)
        assert abs(var - ref[h]) < 3 * se


def test_same_seed_same_paths_different_seed_different(gjr_t):
    a = simulate_fit(gjr_t, n_paths=500, horizon=50, seed=5)
    b = simulate_fit(gjr_t, n_paths=500, horizon=50, seed=5)
    c = simulate_fit(gjr_t, n_paths=500, horizon=50, seed=6)
    np.testing.assert_array_equal(a.at(50), b.at(50))
    assert not np.array_equal(a.at(50), c.at(50))


def test_first_step_innovations_follow_the_fitted_law(spx):
    fit = fit_garch(spx, ModelSpec("gjr", "sged"))
    paths = simulate_fit(fit, n_paths=50_000, horizon=1, seed=8)
    z = (paths.returns(1) - fit.params["mu"]) / math.sqrt(fit.next_variance)
    from volresearch.models.sged import sged_cdf

    p = stats.kstest(z, lambda v: sged_cdf(v, fit.params["nu"], fit.params["xi"])).pvalue
    assert p > 0.01


@pytest.mark.parametrize("xi,sign", [(0.7, -1), (1.4, 1)])
def test_skewed_ged_paths_are_skewed_the_right_way(spx, xi, sign):
    base = fit_garch(spx.iloc[-1500:], ModelSpec("garch", "sged"))
    params = dict(base.params) | {"xi": xi, "alpha": 0.0, "gamma": 0.0, "beta": 0.0, "omega": base.next_variance}
    fit = base.__class__(**{**base.__dict__, "params": params, "_cache": {}})
    paths = simulate_fit(fit, n_paths=40_000, horizon=1, seed=2)
    assert np.sign(stats.skew(paths.returns(1))) == sign


def test_table_is_standardised_for_each_law(spx):
    for dist, params in {
        "normal": {},
        "t": {"nu": 6.0},
        "skewt": {"eta": 7.0, "lambda": -0.2},
        "ged": {"nu": 1.3},
        "sged": {"nu": 1.2, "xi": 0.8},
    }.items():
        table = innovation_table(dist, params)
        assert abs(table.mean) < 1e-4 and abs(table.variance - 1) < 1e-4, dist
        u = np.linspace(0.001, 0.999, 101)
        np.testing.assert_allclose(table.ppf(u), ppf_function(dist, params)(u), atol=1e-6)


def test_fit_simulate_method_and_bands(gjr_t):
    fan = gjr_t.simulate(2000, 120, seed=1, mode="bands")
    paths = gjr_t.simulate(2000, 120, seed=1)
    q = paths.quantiles([0.05, 0.5, 0.95])
    np.testing.assert_allclose(fan.quantiles([0.05, 0.5, 0.95]).to_numpy(), q.to_numpy(), rtol=1e-12)


def test_zero_mean_fit_simulates_with_zero_drift(spx):
    fit = fit_garch(spx, ModelSpec("gjr", "t", mean="zero"))
    paths = simulate_fit(fit, n_paths=500, horizon=20, seed=5)
    assert paths.meta["params"]["mu"] == 0.0
    fan = simulate_fit(fit, n_paths=500, horizon=20, seed=5, mode="bands")
    assert np.array_equal(fan.terminal_prices, paths.terminal())
    # the same paths as a constant-mean fit whose mu is exactly zero
    const = simulate_paths(
        "gjr", {**fit.params, "mu": 0.0}, ppf_table=innovation_table("t", fit.params), n_paths=500, horizon=20,
        x0=math.log(fit.last_price), sigma2_1=fit.next_variance, seed=5,
    )  # fmt: skip
    assert np.array_equal(const.log_prices, paths.log_prices)


def test_simulation_params_fill_a_missing_zero_mean():
    from types import SimpleNamespace

    from volresearch.errors import SimulationError
    from volresearch.simulate.engine import simulation_params

    params = {"omega": 1e-6, "alpha": 0.05, "gamma": 0.1, "beta": 0.85, "nu": 6.0}
    zero = SimpleNamespace(params=params, spec=ModelSpec("gjr", "t", mean="zero"))
    assert simulation_params(zero) == {**params, "mu": 0.0}
    const = SimpleNamespace(params=params, spec=ModelSpec("gjr", "t", mean="constant"))
    with pytest.raises(SimulationError, match="no 'mu'"):
        simulation_params(const)
