"""HAR-RV: arch's HARX coefficients, an independent least-squares fit, and forecasts checked by simulation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from arch.univariate import HARX

from volresearch.errors import DataError
from volresearch.models.har import HARResult, fit_har, har_regressors

TRUE = {"const": -0.9, "har_1": 0.35, "har_5": 0.35, "har_22": 0.2}
SIGMA = 0.3


def _simulate_log_rv(n: int, rng: np.random.Generator, params: dict[str, float] = TRUE) -> np.ndarray:
    burn = 300
    y = np.full(n + burn, params["const"] / (1 - params["har_1"] - params["har_5"] - params["har_22"]))
    for t in range(22, n + burn):
        y[t] = (
            params["const"]
            + params["har_1"] * y[t - 1]
            + params["har_5"] * y[t - 5 : t].mean()
            + params["har_22"] * y[t - 22 : t].mean()
            + SIGMA * rng.standard_normal()
        )
    return y[burn:]


def _hand_design(y: np.ndarray, extra: list[np.ndarray] | None = None, lags: tuple[int, ...] = (1, 5, 22)):
    rows, target = [], []
    for t in range(22, y.size):
        row = [1.0] + [sum(y[t - j] for j in range(1, lag + 1)) / lag for lag in lags]
        row += [float(x[t - 1]) for x in (extra or [])]
        rows.append(row)
        target.append(y[t])
    return np.array(rows), np.array(target)


@pytest.fixture(scope="module")
def log_rv() -> np.ndarray:
    return _simulate_log_rv(1500, np.random.default_rng(2009))


def test_log_har_matches_arch_and_lstsq_and_recovers_truth(log_rv: np.ndarray) -> None:
    rv = pd.Series(np.exp(log_rv), index=pd.bdate_range("2015-01-01", periods=log_rv.size), name="rv")
    res = fit_har(rv)
    direct = HARX(pd.Series(log_rv, name="y"), lags=[1, 5, 22]).fit(disp="off", cov_type="robust")
    names = ["const", "har_1", "har_5", "har_22"]
    np.testing.assert_allclose([res.params[n] for n in names], direct.params.to_numpy()[:4], rtol=0, atol=1e-10)
    np.testing.assert_allclose([res.std_err[n] for n in names], direct.std_err.to_numpy()[:4], rtol=0, atol=1e-10)
    assert res.rsquared == pytest.approx(direct.rsquared, abs=1e-12)
    X, target = _hand_design(log_rv)
    beta = np.linalg.lstsq(X, target, rcond=None)[0]
    np.testing.assert_allclose([res.params[n] for n in names], beta, rtol=0, atol=1e-10)
    # har_regressors builds the same averages.
    reg = har_regressors(log_rv).to_numpy()[22:]
    np.testing.assert_allclose(reg, X[:, 1:], rtol=1e-12)
    for n in names:
        assert abs(res.params[n] - TRUE[n]) < 4 * res.std_err[n], (n, res.params[n], res.std_err[n])
    assert res.sigma2 == pytest.approx(SIGMA**2, rel=0.1)


def test_forecast_matches_simulated_continuations(log_rv: np.ndarray) -> None:
    res = fit_har(np.exp(log_rv))
    f = res.forecast(30)
    # One step by hand from the fitted coefficients.
    p = res.params
    y = log_rv
    one = p["const"] + p["har_1"] * y[-1] + p["har_5"] * y[-5:].mean() + p["har_22"] * y[-22:].mean()
    assert f["mean"].iloc[0] == pytest.approx(one, abs=1e-12)
    assert f["variance"].iloc[0] == pytest.approx(res.sigma2, rel=1e-12)
    # Monte Carlo continuations of the fitted model from the same history.
    rng = np.random.default_rng(1)
    n_paths, h = 20_000, 30
    paths = np.tile(y[-22:], (n_paths, 1))
    s = np.sqrt(res.sigma2)
    out = np.empty((n_paths, h))
    for step in range(h):
        nxt = (
            p["const"]
            + p["har_1"] * paths[:, -1]
            + p["har_5"] * paths[:, -5:].mean(axis=1)
            + p["har_22"] * paths[:, -22:].mean(axis=1)
            + s * rng.standard_normal(n_paths)
        )
        out[:, step] = nxt
        paths = np.concatenate([paths[:, 1:], nxt[:, None]], axis=1)
    for step in (1, 5, 22, 30):
        sim = out[:, step - 1]
        assert f["mean"].loc[step] == pytest.approx(sim.mean(), abs=4 * sim.std() / np.sqrt(n_paths))
        assert f["variance"].loc[step] == pytest.approx(sim.var(), rel=0.05)
        level = np.exp(sim)
        # The bias-corrected level forecast is the mean of exp(log RV); the naive exp(mean) is not.
        assert f["rv"].loc[step] == pytest.approx(level.mean(), rel=4 * level.std() / level.mean() / np.sqrt(n_paths))
        assert abs(np.exp(f["mean"].loc[step]) / level.mean() - 1) > 0.03
    np.testing.assert_allclose(f["cumulative_rv"], np.cumsum(f["rv"]))
    # Long horizon: the unconditional mean of the fitted process.
    far = res.forecast(2000)["mean"].iloc[-1]
    assert far == pytest.approx(p["const"] / (1 - p["har_1"] - p["har_5"] - p["har_22"]), rel=1e-6)


def test_level_model_matches_arch(log_rv: np.ndarray) -> None:
    rv = np.exp(log_rv)
    res = fit_har(rv, log=False, cov_type="classic")
    direct = HARX(pd.Series(rv, name="y"), lags=[1, 5, 22]).fit(disp="off", cov_type="classic")
    np.testing.assert_allclose(list(res.params.values()), direct.params.to_numpy()[:4], rtol=1e-10, atol=1e-14)
    X, target = _hand_design(rv)
    beta = np.linalg.lstsq(X, target, rcond=None)[0]
    np.testing.assert_allclose(list(res.params.values()), beta, rtol=1e-8, atol=1e-14)
    f = res.forecast(3)
    np.testing.assert_array_equal(f["rv"], f["mean"])


def test_har_j_and_semivariance_match_arch_and_lstsq(log_rv: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    rv = np.exp(log_rv)
    jumps = np.where(rng.random(rv.size) < 0.1, rv * rng.random(rv.size), 0.0)
    res = fit_har(rv, jumps=jumps)
    jx = np.log1p(jumps / rv.mean())
    x = pd.DataFrame({"jump": np.concatenate(([0.0], jx[:-1]))})
    direct = HARX(pd.Series(log_rv, name="y"), x=x, lags=[1, 5, 22]).fit(disp="off")
    got = [res.params[n] for n in ("const", "har_1", "har_5", "har_22", "jump")]
    np.testing.assert_allclose(got, direct.params.to_numpy()[:5], rtol=0, atol=1e-10)
    X, target = _hand_design(log_rv, [jx])
    np.testing.assert_allclose(got, np.linalg.lstsq(X, target, rcond=None)[0], rtol=0, atol=1e-10)
    f = res.forecast(2)
    p = res.params
    one = p["const"] + p["har_1"] * log_rv[-1] + p["har_5"] * log_rv[-5:].mean() + p["har_22"] * log_rv[-22:].mean()
    assert f["mean"].iloc[0] == pytest.approx(one + p["jump"] * jx[-1], abs=1e-12)

    share = rng.uniform(0.3, 0.7, rv.size)
    pos, neg = rv * share, rv * (1 - share)
    sv = fit_har(rv, semivariance=(pos, neg))
    xs = pd.DataFrame(
        {"rs_pos": np.concatenate(([0.0], np.log(pos)[:-1])), "rs_neg": np.concatenate(([0.0], np.log(neg)[:-1]))}
    )
    direct = HARX(pd.Series(log_rv, name="y"), x=xs, lags=[5, 22], hold_back=22).fit(disp="off")
    got = [sv.params[n] for n in ("const", "har_5", "har_22", "rs_pos", "rs_neg")]
    np.testing.assert_allclose(got, direct.params.to_numpy()[:5], rtol=0, atol=1e-10)
    X, target = _hand_design(log_rv, [np.log(pos), np.log(neg)], lags=(5, 22))
    np.testing.assert_allclose(got, np.linalg.lstsq(X, target, rcond=None)[0], rtol=0, atol=1e-10)
    one = (
        sv.params["const"]
        + sv.params["har_5"] * log_rv[-5:].mean()
        + sv.params["har_22"] * log_rv[-22:].mean()
        + sv.params["rs_pos"] * np.log(pos[-1])
        + sv.params["rs_neg"] * np.log(neg[-1])
    )
    assert sv.forecast(1)["mean"].iloc[0] == pytest.approx(one, abs=1e-12)


def test_roundtrip_and_errors(log_rv: np.ndarray) -> None:
    res = fit_har(np.exp(log_rv), jumps=np.random.default_rng(0).random(log_rv.size) * 1e-5)
    back = HARResult.from_dict(json.loads(json.dumps(res.to_dict())))
    pd.testing.assert_frame_equal(back.forecast(10), res.forecast(10))
    assert back.params == res.params
    assert "HAR-RV on log RV" in res.summary()
    with pytest.raises(DataError):
        fit_har(np.concatenate([np.exp(log_rv[:100]), [0.0]]))
    with pytest.raises(DataError):
        fit_har(np.exp(log_rv[:20]))


def test_from_realized_measures() -> None:
    from volresearch.models.realized import realized_measures

    rng = np.random.default_rng(9)
    idx = pd.date_range("2024-01-01", periods=60 * 48, freq="30min", tz="UTC")
    day = np.repeat(np.exp(_simulate_log_rv(60, rng) / 2), 48)
    close = 100 * np.exp(np.cumsum(rng.standard_normal(idx.size) * day * 0.01))
    bars = pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=idx)
    rm = realized_measures(bars, "crypto_24x7")
    d = rm.daily
    a = fit_har(rm, jumps=True, semivariance=True)
    b = fit_har(d["rv"], jumps=d["jump"], semivariance=(d["rs_pos"], d["rs_neg"]))
    assert a.params == b.params
    assert a.metadata["options"] == {"jumps": True, "semivariance": True, "measure": "rv"}
    c = fit_har(rm, measure="bv")
    assert c.metadata["data_hash"] != a.metadata["data_hash"]
