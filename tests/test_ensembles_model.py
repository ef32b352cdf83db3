"""The ensemble as a registered model: fit, weights, JSON, paths, walk-forward and the overview."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from volresearch.data import open_bars
from volresearch.ensembles.model import SCHEMES, EnsembleResult, allocate_paths, fit_ensemble
from volresearch.errors import ConfigError
from volresearch.overview import key_figures, parameter_table, residual_tests
from volresearch.predictive import one_step_predictive
from volresearch.registry import get_model, load_result, simulate_model

MEMBERS = ("garch-normal", "gjr-t", "merton")  # fast members of three families


@pytest.fixture(scope="module")
def spx():
    return open_bars("sp500").iloc[-1200:]


@pytest.fixture(scope="module")
def ens(spx) -> EnsembleResult:
    return fit_ensemble(spx, members=MEMBERS)


def test_allocation_is_largest_remainder():
    np.testing.assert_array_equal(allocate_paths([0.5, 0.3, 0.2], 10), [5, 3, 2])
    np.testing.assert_array_equal(allocate_paths([1 / 3, 1 / 3, 1 / 3], 10), [4, 3, 3])
    n = allocate_paths([0.123, 0.456, 0.421], 1001)
    assert n.sum() == 1001 and np.all(np.abs(n - np.array([0.123, 0.456, 0.421]) * 1001) < 1)


def test_registry_names_and_the_optimal_pool_beats_every_member_in_sample(spx, ens):
    assert get_model("ensemble").name == "ensemble-log-score"
    assert all(get_model(f"ensemble-{s}").family == "ensemble" for s in SCHEMES)
    assert ens.model == "ensemble-log-score" and ens.names == MEMBERS
    w = np.asarray(ens.weights)
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    # the optimal linear pool is at least as good in sample as each member (each is a vertex of the simplex)
    assert ens.in_sample["pool_log_score"] >= max(ens.in_sample["log_score"]) - 1e-9
    # and its pool log score is the mean of the pool density of the members' exact predictive densities
    pred = one_step_predictive(ens, spx)
    assert pred["log_density"].mean() == pytest.approx(ens.in_sample["pool_log_score"], rel=1e-9)
    eq = fit_ensemble(spx, members=MEMBERS, scheme="equal")
    np.testing.assert_allclose(eq.weights, 1 / 3)
    assert eq.in_sample["pool_log_score"] <= ens.in_sample["pool_log_score"] + 1e-12


def test_json_round_trip_gives_the_same_paths(ens):
    back = load_result(json.loads(json.dumps(ens.to_dict())))
    assert isinstance(back, EnsembleResult) and back.weights == ens.weights and back.names == ens.names
    a = simulate_model(ens, 300, 5, seed=4, mode="matrix").log_prices
    b = simulate_model(back, 300, 5, seed=4, mode="matrix").log_prices
    np.testing.assert_array_equal(a, b)
    c = simulate_model(ens, 300, 5, seed=5, mode="matrix").log_prices
    assert not np.array_equal(a, c)


def test_paths_follow_the_pool_variance(ens):
    """One step ahead, the simulated pool's variance is the law-of-total-variance value of the members'."""
    n = 200_000
    paths = simulate_model(ens, n, 1, seed=1, mode="matrix")
    r = np.diff(np.asarray(paths.log_prices), axis=0)[0]
    target = ens.filter_state()["next_variance"]
    se = math.sqrt((np.mean((r - r.mean()) ** 4) - r.var() ** 2) / n)
    assert r.var() == pytest.approx(target, abs=4 * se + 0.02 * target)  # 2%: members' one-bar drift terms
    assert paths.meta["paths_per_member"] == allocate_paths(ens.weights, n).tolist()


def test_overview_describes_the_pool(spx, ens):
    table = parameter_table(ens)
    assert list(table.index) == [f"w_{n}" for n in MEMBERS] and set(table["component"]) == {"pool weight"}
    figures = dict(key_figures(ens))
    assert "Effective members" in figures and "Members and weights" in figures
    tests = residual_tests(ens, spx)
    assert 0.8 < tests["std_resid_var"] < 1.25  # the pool's predictive variance is the right scale


def test_a_rejected_member_is_left_out_with_its_reason():
    # S&P 500 2002-2006: the EGARCH-t fit has alpha < 0 and is rejected; the ensemble weights the other three
    bars = open_bars("sp500").iloc[1000:2001]
    res = fit_ensemble(bars, members=("garch-normal", "gjr-t", "egarch-t"), scheme="equal")
    assert res.names == ("garch-normal", "gjr-t") and "size effect alpha" in res.rejected["egarch-t"]
    np.testing.assert_allclose(res.weights, [0.5, 0.5])
    assert any("egarch-t left out" in f for f in res.flags)


def test_bad_members_are_named():
    bars = open_bars("sp500").iloc[-600:]
    with pytest.raises(ConfigError, match="at least 2 different members"):
        fit_ensemble(bars, members=("garch-normal", "garch-normal"))
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        fit_ensemble(bars, members=("garch-normal", "nope"))
    with pytest.raises(ConfigError, match="unknown ensemble weighting"):
        fit_ensemble(bars, scheme="kelly")


@pytest.mark.slow
def test_walk_forward_of_an_ensemble_rolls_every_member(spx):
    from volresearch.validate.walkforward import walk_forward

    res = walk_forward(spx, "ensemble-inverse-qlike", in_sample=800, out_of_sample=100, step=5, horizon=1,
                       n_paths=400, seed=2, quiet=True)  # fmt: skip
    m = res.metrics()
    assert m["n_fallback_windows"] == 0 and res.n_forecasts > 60
    assert 0.85 < m["coverage_95"] <= 1.0


def test_a_member_that_cannot_forecast_is_left_out_and_the_rest_renormalised(ens):
    states = [m.filter_state() for m in ens.members]
    states[1] = {**states[1], "next_variance": float("nan")}
    pooled = ens.pooled_state(states, [True, False, True])
    assert pooled["left_out"] == [ens.names[1]] and pooled["active"] == [True, False, True]
    w = np.asarray(ens.weights) * [1, 0, 1]
    w /= w.sum()
    kept = [states[0]["next_variance"], states[2]["next_variance"]]
    means = [ens.members[0].params["mu"], 0.0]  # Merton's drift is annualised: the pool takes 0
    mean = w[0] * means[0] + w[2] * means[1]
    expected = w[0] * (kept[0] + (means[0] - mean) ** 2) + w[2] * (kept[1] + (means[1] - mean) ** 2)
    assert pooled["next_variance"] == pytest.approx(expected, rel=1e-12)
    paths = simulate_model(ens, 1000, 2, seed=3, mode="matrix", state=pooled)
    counts = paths.meta["paths_per_member"]
    assert counts[1] == 0 and sum(counts) == 1000
    with pytest.raises(Exception, match="no ensemble member with a positive weight"):
        ens.pooled_state(states, [False, False, False])


@pytest.fixture(scope="module")
def adaptive(spx) -> EnsembleResult:
    return fit_ensemble(spx.iloc[:-60], members=MEMBERS, scheme="adaptive")


def test_adaptive_weights_come_from_the_features_of_the_history_up_to_each_state(spx, adaptive):
    from volresearch.ensembles.features import meta_features
    from volresearch.ensembles.model import weight_path
    from volresearch.validate.walkforward_registry import ADAPTERS

    assert adaptive.model == "ensemble-adaptive" and adaptive.gate is not None
    r_all = np.diff(np.log(spx["close"].to_numpy()))
    full = adaptive.scaler.transform(meta_features(r_all))  # features on the whole history, independently
    fit_n = len(spx) - 60 - 1  # returns in the fit
    st = adaptive.filter_state()
    np.testing.assert_allclose(st["weights"], adaptive.gate.weights(full[fit_n - 1])[0][0], atol=1e-10)
    np.testing.assert_allclose(st["weights"], adaptive.weights, atol=1e-12)
    # walk-forward origins after the fit: weights from the features up to each origin
    after = spx.iloc[-61:]
    times = after.index[[5, 30, 59]]
    states = ADAPTERS["ensemble"].states(adaptive, after, None, times)
    for st, k in zip(states, (5, 30, 59), strict=True):
        np.testing.assert_allclose(st["weights"], adaptive.gate.weights(full[fit_n - 1 + k])[0][0], atol=1e-8)
    assert not np.allclose(states[0]["weights"], states[2]["weights"], atol=1e-4)
    # in sample: the pool of each forecast with its own weights; the log densities add up to the fit's
    path = weight_path(adaptive, spx.iloc[:-60])
    assert path.std().max() > 0.01 and np.allclose(path.sum(axis=1), 1.0)
    pred = one_step_predictive(adaptive, spx.iloc[:-60])
    assert pred["log_density"].mean() == pytest.approx(adaptive.in_sample["pool_log_score"], rel=1e-9)


def test_adaptive_json_round_trip_and_paths_follow_the_state_weights(spx, adaptive):
    back = load_result(json.loads(json.dumps(adaptive.to_dict())))
    assert back.gate == adaptive.gate and back.scaler == adaptive.scaler
    assert back.meta["data_hash"] == adaptive.meta["data_hash"] and back.meta["end"] < str(spx.index[-1])
    assert back.filter_state()["weights"] == adaptive.filter_state()["weights"]
    a = simulate_model(adaptive, 400, 3, seed=1, mode="matrix")
    b = simulate_model(back, 400, 3, seed=1, mode="matrix")
    np.testing.assert_array_equal(a.log_prices, b.log_prices)
    state = adaptive.pooled_state([m.filter_state() for m in adaptive.members], z=np.full(5, 50.0))
    assert state["breaker"] and np.allclose(state["weights"], 1 / 3)
    paths = simulate_model(adaptive, 999, 2, seed=3, mode="matrix", state=state)
    assert paths.meta["paths_per_member"] == [333, 333, 333]
    assert "gate on log_vol" in adaptive.summary()


def test_an_adaptive_ensemble_needs_a_feature_history(spx):
    from volresearch.errors import FitError

    with pytest.raises(FitError, match="full feature history"):
        fit_ensemble(spx.iloc[:400], members=MEMBERS, scheme="adaptive")


def test_the_pooled_fan_is_the_fan_of_the_joined_paths(ens):
    from volresearch.quantiles import quantile

    fan = simulate_model(ens, 3001, 7, seed=11, quantiles=[0.05, 0.5, 0.95], n_sample_paths=12)
    paths = simulate_model(ens, 3001, 7, seed=11, mode="matrix")
    prices = np.exp(paths.log_prices)
    np.testing.assert_array_equal(fan.bands, np.asarray(quantile(prices, fan.levels, axis=1)).T)
    np.testing.assert_allclose(fan.mean, prices.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(fan.std, prices.std(axis=1), rtol=1e-10)
    np.testing.assert_array_equal(fan.sample_paths, prices[:, :12])  # the same interleaved sample paths
    np.testing.assert_array_equal(np.sort(fan.terminal_prices), np.sort(prices[-1]))


def test_a_daily_only_member_is_left_out_on_intraday_bars():
    bars = open_bars("es_synthetic").iloc[-3000:]
    res = fit_ensemble(bars, members=("ewma", "historical", "har-range"), scheme="equal")
    assert res.names == ("ewma", "historical")
    assert "suits daily bars only" in res.rejected["har-range"]
