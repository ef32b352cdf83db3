"""EWMA and historical simulation as registered models: estimates against arch and direct computations,
paths against their laws, predictive densities against scipy, walk-forward and JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gaussian_kde

from volresearch.data import open_bars
from volresearch.errors import FitError
from volresearch.models.ewma import EWMA_WARMUP, EWMAResult, HistoricalResult, fit_ewma, fit_historical, kde_bandwidth
from volresearch.models.robust import ewma_variance
from volresearch.predictive import one_step_predictive
from volresearch.registry import fit_model, get_model, load_result, simulate_model


@pytest.fixture(scope="module")
def spx():
    return open_bars("sp500").iloc[-1000:]


def test_the_ewma_variance_path_matches_arch(spx):
    from arch.univariate import ConstantMean, EWMAVariance

    res = fit_ewma(spx, lam=0.94)
    r = np.diff(np.log(spx["close"].to_numpy()))
    pred = one_step_predictive(res, spx)
    am = ConstantMean(100 * r, volatility=EWMAVariance(0.94))
    ref = am.fix([100 * res.params["mu"]]).conditional_volatility ** 2 / 1e4
    # arch starts from its backcast, we from the first 20 squares: after 300 bars the starts are forgotten
    np.testing.assert_allclose(pred["var"].to_numpy()[300:], ref[EWMA_WARMUP + 300 :], rtol=1e-6)
    assert not res.estimated and res.params["lambda"] == 0.94


def test_lambda_is_the_likelihood_maximum_and_recovers_a_simulated_truth(spx):
    res = fit_ewma(spx)
    r = np.diff(np.log(spx["close"].to_numpy())) - res.params["mu"]
    grid = np.linspace(0.80, 0.995, 391)

    def loglik(lam: float) -> float:
        v = ewma_variance(r, lam, min_periods=EWMA_WARMUP)[EWMA_WARMUP - 1 : -1]
        x = r[EWMA_WARMUP:]
        return float(-0.5 * np.sum(np.log(2 * np.pi * v) + x * x / v))

    best = grid[np.argmax([loglik(g) for g in grid])]
    assert abs(res.params["lambda"] - best) <= 0.0005 + 1e-12
    assert res.loglik == pytest.approx(loglik(res.params["lambda"]), rel=1e-12)
    assert 0.85 < res.params["lambda"] < 0.99 and 0 < res.std_errors["lambda"] < 0.05
    # a series simulated from the EWMA recursion with lambda 0.9: the estimate within 3 standard errors
    truth = EWMAResult(params={"mu": 0.0, "lambda": 0.9}, std_errors={"mu": math.nan, "lambda": math.nan},
                       loglik=0.0, next_variance=1e-4, meta={"last_price": 100.0, "end": None})  # fmt: skip
    path = simulate_model(truth, 1, 4000, seed=3, mode="matrix").log_prices[:, 0]
    idx = pd.date_range("2000-01-03", periods=path.size, freq="B", tz="UTC")
    est = fit_ewma(pd.DataFrame({"close": np.exp(path)}, index=idx), mean="zero")
    assert abs(est.params["lambda"] - 0.9) < 3 * est.std_errors["lambda"]


def test_ewma_paths_have_the_flat_variance_forecast_and_continue_the_recursion(spx):
    res = fit_model("ewma", spx)
    assert get_model("ewma").family == "ewma" and res.kernel == "garch"
    paths = simulate_model(res, 40_000, 10, seed=5, mode="matrix").log_prices
    v1 = res.next_variance
    r = np.diff(paths, axis=0)
    assert r[0].var() == pytest.approx(v1, rel=0.03)
    total = paths[-1] - paths[0]
    assert total.var() == pytest.approx(10 * v1, rel=0.06)  # integrated: E[sigma^2_{t+h}] = sigma^2_{t+1}
    new = 0.01 * np.random.default_rng(0).standard_normal(30)
    cont = res.filter(new)
    full = np.concatenate([np.diff(np.log(spx["close"].to_numpy())), new]) - res.params["mu"]
    direct = ewma_variance(full, res.params["lambda"], min_periods=EWMA_WARMUP)
    np.testing.assert_allclose(cont, direct[-31:], rtol=1e-10)
    back = load_result(json.loads(json.dumps(res.to_dict())))
    assert isinstance(back, EWMAResult) and back == res


def test_historical_paths_resample_the_window_and_its_density_is_the_kernel_estimate(spx):
    res = fit_model("historical", spx)
    x = res.sample
    paths = simulate_model(res, 20_000, 5, seed=2, mode="matrix").log_prices
    steps = np.diff(paths, axis=0)
    assert np.isin(np.round(steps[:, :50], 12), np.round(x, 12)).all()  # every step is a sample return
    assert steps.var() == pytest.approx(x.var(), rel=0.03)
    a = simulate_model(res, 100, 5, seed=2, mode="matrix").log_prices
    np.testing.assert_array_equal(a, simulate_model(res, 100, 5, seed=2, mode="matrix").log_prices)
    pred = one_step_predictive(res, spx)
    h = kde_bandwidth(x)
    for i in (0, 500, 998):  # leave-one-out: the kernel estimate of the other returns
        rest = np.delete(x, i)
        kde = gaussian_kde(rest, bw_method=h / rest.std(ddof=1))
        assert pred["log_density"].iloc[i] == pytest.approx(float(kde.logpdf(x[i])[0]), rel=1e-9)
    back = load_result(json.loads(json.dumps(res.to_dict())))
    assert isinstance(back, HistoricalResult) and back == res
    assert fit_historical(spx, window=300).sample.size == 300
    with pytest.raises(FitError, match="at least 100 returns"):
        fit_historical(spx.iloc[:50])
    with pytest.raises(FitError, match=r"lambda must lie in \(0, 1\)"):
        fit_ewma(spx, lam=1.0)


def test_both_walk_forward_and_join_ensembles(spx):
    from volresearch.ensembles.model import fit_ensemble
    from volresearch.validate.walkforward import walk_forward

    for name in ("ewma", "historical"):
        res = walk_forward(spx, name, in_sample=800, out_of_sample=100, step=10, horizon=1, n_paths=300, seed=1,
                           quiet=True)  # fmt: skip
        m = res.metrics()
        assert m["n_fallback_windows"] == 0 and res.n_forecasts >= 19 and 0.8 <= m["coverage_95"] <= 1.0
    ens = fit_ensemble(spx, members=("garch-normal", "ewma", "historical"), scheme="log-score")
    assert ens.names == ("garch-normal", "ewma", "historical")
    assert ens.in_sample["n"] == len(spx) - 1 - EWMA_WARMUP  # the members' common forecasts
