"""ARMA(1,1)-GARCH(1,1)-t: recovery on data simulated independently, predictive densities, paths and filters."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from volresearch.models.arma_garch import ARMAGARCHResult, arma_residuals, fit_arma_garch
from volresearch.predictive import one_step_predictive
from volresearch.registry import available_models, load_result, simulate_model

TRUTH = {"mu": 5e-4, "phi": 0.5, "theta": 0.2, "omega": 2e-6, "alpha": 0.08, "beta": 0.9, "nu": 6.0}


def _simulate(n: int, seed: int) -> pd.DataFrame:
    """Daily closes from the model, by a plain loop (independent of the package's kernels)."""
    rng = np.random.default_rng(seed)
    t = TRUTH
    v = t["omega"] / (1 - t["alpha"] - t["beta"])
    x_prev, e_prev = t["mu"], 0.0
    r = np.empty(n)
    for i in range(n + 200):
        e = math.sqrt(v) * math.sqrt((t["nu"] - 2) / t["nu"]) * rng.standard_t(t["nu"])
        x = t["mu"] + t["phi"] * (x_prev - t["mu"]) + t["theta"] * e_prev + e
        v = t["omega"] + t["alpha"] * e * e + t["beta"] * v
        x_prev, e_prev = x, e
        if i >= 200:
            r[i - 200] = x
    idx = pd.bdate_range("2001-01-01", periods=n + 1, tz="UTC")
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=idx)


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return _simulate(4000, seed=5)


@pytest.fixture(scope="module")
def fit(sim) -> ARMAGARCHResult:
    return fit_arma_garch(sim)


def test_two_step_estimates_recover_the_truth(fit):
    p, se = fit.params, fit.std_errors
    for k in ("mu", "phi", "theta", "alpha", "beta", "nu"):
        assert abs(p[k] - TRUTH[k]) < 4 * se[k], (k, p[k], se[k])
    assert 0.9 < fit.garch.persistence < 1.0
    assert "arma-garch" in available_models(intraday=False) and "arma-garch" not in available_models(intraday=True)


def test_predictive_densities_add_up_to_the_garch_likelihood(sim, fit):
    pred = one_step_predictive(fit, sim)
    assert pred["log_density"].sum() == pytest.approx(fit.loglik, rel=1e-10)
    r = np.diff(np.log(sim["close"].to_numpy()))
    e = arma_residuals(r, fit.mean["mu"], fit.mean["phi"], fit.mean["theta"])
    np.testing.assert_allclose(pred["r"] - pred["mean"], e, rtol=1e-12, atol=1e-15)


def test_paths_have_the_closed_form_mean_and_the_next_variance(fit):
    paths = simulate_model(fit, 200_000, 3, seed=2, mode="matrix").log_prices
    r = np.diff(paths, axis=0)
    mu, phi = fit.mean["mu"], fit.mean["phi"]
    sd = math.sqrt(fit.garch.next_variance)
    for h in range(3):  # E[r_{t+h}] - mu = phi^(h-1) (next mean - mu)
        expected = mu + phi**h * (fit.next_mean - mu)
        assert abs(r[h].mean() - expected) < 5 * sd * math.sqrt(1 + h) / math.sqrt(200_000)
    assert r[0].var() == pytest.approx(fit.garch.next_variance, rel=0.03)
    back = load_result(json.loads(json.dumps(fit.to_dict())))
    assert isinstance(back, ARMAGARCHResult) and back.filter_state() == fit.filter_state()
    np.testing.assert_array_equal(simulate_model(back, 50, 4, seed=1, mode="matrix").log_prices,
                                  simulate_model(fit, 50, 4, seed=1, mode="matrix").log_prices)  # fmt: skip


def test_the_filter_continues_both_recursions(sim, fit):
    extra = _simulate(30, seed=9)
    new = np.diff(np.log(extra["close"].to_numpy()))
    states = fit.filter(new)
    full = np.concatenate([np.diff(np.log(sim["close"].to_numpy())), new])
    e = arma_residuals(full, fit.mean["mu"], fit.mean["phi"], fit.mean["theta"])
    assert states[-1]["last_resid"] == pytest.approx(e[-1], rel=1e-9)
    v = np.asarray(fit.garch.filter(e[-30:]))
    assert states[-1]["next_variance"] == pytest.approx(float(v[-1]), rel=1e-9)
