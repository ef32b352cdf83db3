"""The range HAR as a registered model: its mixture density, in-sample means, paths and walk-forward states."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from volresearch.data import open_bars
from volresearch.errors import DataError
from volresearch.models.har import har_regressors
from volresearch.models.har_range import (
    HARRangeResult,
    fit_har_range,
    har_means,
    har_range_log_density,
    log_range_variance,
)
from volresearch.predictive import one_step_predictive
from volresearch.registry import available_models, load_result, simulate_model


@pytest.fixture(scope="module")
def spx():
    return open_bars("sp500").iloc[-1000:]


@pytest.fixture(scope="module")
def fit(spx) -> HARRangeResult:
    return fit_har_range(spx)


def test_the_mixture_density_is_the_integral_over_the_log_variance():
    mu, c, m, s = 0.0003, 1.6, -9.5, 0.8
    for r in (-0.05, -0.01, 0.0, 0.004, 0.03):
        direct, _ = integrate.quad(
            lambda y, r=r: norm.pdf(y, m, s) * norm.pdf(r, mu, math.sqrt(c * math.exp(y))), m - 12 * s, m + 12 * s
        )
        assert har_range_log_density(np.array([r]), mu, c, np.array([m]), s)[0] == pytest.approx(
            math.log(direct), rel=1e-6
        )
    total, _ = integrate.quad(lambda r: math.exp(har_range_log_density(np.array([r]), mu, c, np.array([m]), s)[0]),
                              -0.5, 0.5, points=[0.0], limit=200)  # fmt: skip
    assert total == pytest.approx(1.0, abs=1e-6)


def test_in_sample_means_are_the_har_regression_and_the_scale_matches_returns(spx, fit):
    y = log_range_variance(spx)[0].to_numpy()
    reg = har_regressors(y, fit.har.lags).to_numpy()[22:]
    p = fit.har.params
    expected = p["const"] + reg @ np.array([p["har_1"], p["har_5"], p["har_22"]])
    np.testing.assert_allclose(har_means(fit.har, y), expected, rtol=1e-12)
    pred = one_step_predictive(fit, spx)
    assert pred["log_density"].sum() == pytest.approx(fit.loglik, rel=1e-12)
    assert pred["var"].mean() == pytest.approx(((pred["r"] - fit.mu) ** 2).mean(), rel=1e-9)  # c by construction
    assert 1.0 < fit.c < 3.0 and 0.5 < sum(fit.har.recursion()[1]) < 1.0  # overnight gaps; mean reverting
    back = load_result(json.loads(json.dumps(fit.to_dict())))
    assert isinstance(back, HARRangeResult) and back.filter_state() == fit.filter_state()
    assert "har-range" in available_models(intraday=False) and "har-range" not in available_models(intraday=True)


def test_paths_iterate_the_har_recursion(fit):
    still = dataclasses.replace(fit, har=dataclasses.replace(fit.har, sigma2=1e-14))
    paths = simulate_model(still, 40_000, 6, seed=3, mode="matrix").log_prices
    r = np.diff(paths, axis=0)
    expected = fit.c * np.exp(still.har.forecast(6)["mean"].to_numpy())  # deterministic log variance path
    np.testing.assert_allclose(r.var(axis=1), expected, rtol=0.03)
    noisy = simulate_model(fit, 40_000, 1, seed=4, mode="matrix").log_prices
    assert np.diff(noisy, axis=0).var() == pytest.approx(fit.filter_state()["next_variance"], rel=0.08)
    np.testing.assert_array_equal(noisy, simulate_model(fit, 40_000, 1, seed=4, mode="matrix").log_prices)


def test_walk_forward_states_extend_the_range_history(spx):
    from volresearch.validate.walkforward_registry import ADAPTERS

    res = fit_har_range(spx.iloc[:-30])
    after = spx.iloc[-31:]
    times = after.index[[1, 10, 29]]
    states = ADAPTERS["har"].states(res, after, None, times)
    y = log_range_variance(spx)[0].to_numpy()
    m = har_means(res.har, y)  # m[i] predicts y[22 + i]
    for st, t in zip(states, times, strict=True):
        k = spx.index.get_loc(t)  # the next day is k + 1
        expected = res.c * math.exp(m[k + 1 - 22] + 0.5 * res.har.sigma2)
        assert st["next_variance"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(DataError, match="OHLC"):
        fit_har_range(spx["close"])
