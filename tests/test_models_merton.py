"""Merton jump-diffusion: exact kernel (numpy twin, series prices), mixture MLE recovering known parameters."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from volresearch.errors import FitError
from volresearch.models.merton import (
    MertonFit,
    fd_hessian,
    fit_merton,
    fit_merton_returns,
    merton_logpdf,
)
from volresearch.models.pricing import black_scholes_call, merton_call, merton_call_series
from volresearch.simulate._rng import StreamState
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.kernels.jumps import simulate_merton, simulate_merton_numpy

PPF = innovation_table("normal", {}).kernel_args
TRUE = dict(mu=0.08, sigma=0.15, lam=25.0, mu_j=-0.02, sigma_j=0.03)
DT = 1.0 / 252.0


def simulated_returns(n: int, seed: int, **params: float) -> np.ndarray:
    """One path of ``n`` daily log returns from the kernel."""
    st = StreamState.create(seed, 1)
    xs = simulate_merton(np.zeros(1), n, DT, key=st.key, stream=st.stream, counter=st.counter, ppf=PPF,
                         **{**TRUE, **params})  # fmt: skip
    return np.diff(np.concatenate([[0.0], xs[:, 0]]))


# ----------------------------------------------------------------------------------------------- pricing
def test_series_and_characteristic_function_prices_agree() -> None:
    for k in (70.0, 100.0, 130.0):
        ser = merton_call_series(100.0, k, 0.5, 0.2, 2.0, -0.1, 0.15, r=0.02, q=0.01)
        assert ser == pytest.approx(merton_call(100.0, k, 0.5, 0.2, 2.0, -0.1, 0.15, r=0.02, q=0.01), abs=1e-8)
        assert ser == pytest.approx(
            merton_call(100.0, k, 0.5, 0.2, 2.0, -0.1, 0.15, r=0.02, q=0.01, method="gil-pelaez"), abs=1e-8
        )
    # no jumps: Black-Scholes
    assert merton_call_series(100.0, 95.0, 1.0, 0.25, 0.0, 0.0, 0.1) == pytest.approx(
        black_scholes_call(100.0, 95.0, 1.0, 0.25), abs=1e-12
    )


def test_kernel_equals_numpy_twin() -> None:
    outs = []
    for fn in (simulate_merton, simulate_merton_numpy):
        st = StreamState.create(3, 333)
        x = np.zeros(333)
        xs = fn(x, 50, DT, key=st.key, stream=st.stream, counter=st.counter, ppf=PPF, **{**TRUE, "lam": 60.0})
        outs.append((xs, st.counter.copy(), x.copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_array_equal(outs[0][2], outs[1][2])
    assert outs[0][1].max() > 100  # some steps consumed a third word (jumps)


@pytest.mark.parametrize("n_steps", [1, 4])
def test_mc_call_prices_within_three_standard_errors_of_series(n_steps: int) -> None:
    """r = q = 0, S0 = 100, T = 1: exact simulation prices within 3 SE of Merton's series at 80, 100, 120."""
    sigma, lam, mu_j, sigma_j, T, n = 0.2, 3.0, -0.08, 0.12, 1.0, 200_000
    st = StreamState.create(17, n)
    x = np.zeros(n)
    simulate_merton(x, n_steps, T / n_steps, mu=0.0, sigma=sigma, lam=lam, mu_j=mu_j, sigma_j=sigma_j, key=st.key,
                    stream=st.stream, counter=st.counter, ppf=PPF, store=False)  # fmt: skip
    s_t = 100.0 * np.exp(x)
    assert abs(s_t.mean() - 100.0) < 3 * s_t.std() / math.sqrt(n)  # compensated drift: a martingale
    z = []
    for k in (80.0, 100.0, 120.0):
        pay = np.maximum(s_t - k, 0.0)
        ref = merton_call_series(100.0, k, T, sigma, lam, mu_j, sigma_j)
        z.append((pay.mean() - ref) / (pay.std(ddof=1) / math.sqrt(n)))
    assert np.all(np.abs(z) < 3.0), z
    # an uncompensated drift (no -lam k) would be detected
    k_ = math.expm1(mu_j + 0.5 * sigma_j**2)
    shifted = s_t * math.exp(lam * k_ * T)
    pay = np.maximum(shifted - 100.0, 0.0)
    ref = merton_call_series(100.0, 100.0, T, sigma, lam, mu_j, sigma_j)
    assert abs(pay.mean() - ref) > 3 * pay.std() / math.sqrt(n)


# ----------------------------------------------------------------------------------------------- density, MLE
def test_density_integrates_to_one_and_matches_simulation_moments() -> None:
    lam_dt = TRUE["lam"] * DT
    f = lambda r: math.exp(merton_logpdf(np.array([r]), DT, *TRUE.values(), n_terms=20)[0])  # noqa: E731
    total = integrate.quad(f, -0.5, 0.5, points=[0.0], limit=400)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    mean = integrate.quad(lambda r: r * f(r), -0.5, 0.5, points=[0.0], limit=400)[0]
    k = math.expm1(TRUE["mu_j"] + 0.5 * TRUE["sigma_j"] ** 2)
    expect = (TRUE["mu"] - 0.5 * TRUE["sigma"] ** 2 - TRUE["lam"] * k) * DT + lam_dt * TRUE["mu_j"]
    assert mean == pytest.approx(expect, abs=1e-12)
    # truncation: 2 terms vs 20 terms differ by at most the stated bound P(N >= 2) / sqrt(2 pi sigma^2 dt)
    r = np.linspace(-0.2, 0.1, 301)
    d20 = np.exp(merton_logpdf(r, DT, *TRUE.values(), n_terms=20))
    d2 = np.exp(merton_logpdf(r, DT, *TRUE.values(), n_terms=2))
    bound = stats.poisson.sf(1, lam_dt) / math.sqrt(2 * math.pi * TRUE["sigma"] ** 2 * DT)
    assert np.max(d20 - d2) <= bound and np.max(d20 - d2) > 0.01 * bound


def test_fd_hessian_of_a_quadratic() -> None:
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    H = fd_hessian(lambda x: -0.5 * x @ A @ x, np.array([0.3, -0.2]), np.array([1e-3, 1e-3]))
    np.testing.assert_allclose(H, -A, atol=1e-6)


def test_mle_recovers_parameters_from_50k_returns_within_3_se() -> None:
    r = simulated_returns(50_000, seed=11)
    fit = fit_merton_returns(r, DT)
    names = dict(mu="mu", sigma="sigma", **{"lambda": "lam"}, mu_j="mu_j", sigma_j="sigma_j")
    for name, key in names.items():
        se = fit.std_errors[name]
        assert np.isfinite(se) and se > 0
        assert abs(fit.params[name] - TRUE[key]) < 3 * se, (name, fit.params[name], TRUE[key], se)
    # the standard errors are those of the information matrix: compare with the outer product of scores
    assert fit.std_errors["lambda"] < 0.1 * TRUE["lam"]
    assert fit.truncation_rel < 1e-12 and fit.converged and not fit.flags
    # the estimated intensity is not fixed by construction (the thresholding estimator gives 5% of bars)
    assert abs(fit.params["lambda"] * DT - 0.05) > 0.02


def test_mle_without_jumps_gains_nothing_over_the_normal() -> None:
    """No jumps in the data: total variance right and the likelihood gain over a normal fit small (the jump
    parameters are then unidentified); with jumps the gain is large."""
    for lam, small in ((0.0, True), (25.0, False)):
        r = simulated_returns(5_000, seed=2, lam=lam)
        fit = fit_merton_returns(r, DT)
        normal = float(np.sum(stats.norm.logpdf(r, r.mean(), r.std())))
        gain = fit.loglik - normal
        assert gain >= -1e-6
        if small:
            total = fit.params["sigma"] ** 2 + fit.params["lambda"] * (
                fit.params["mu_j"] ** 2 + fit.params["sigma_j"] ** 2
            )
            assert total == pytest.approx(TRUE["sigma"] ** 2, rel=0.06)
            assert gain < 6.0  # half the 1% point of chi2(3), a generous bound for a boundary null
        else:
            assert gain > 100.0


def test_fit_from_bars_round_trip_and_protocol() -> None:
    r = simulated_returns(3_000, seed=5)
    idx = pd.bdate_range("2010-01-04", periods=r.size + 1, tz="UTC", name="timestamp")
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    bars = pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=idx)
    fit = fit_merton(bars, mean="auto")
    assert fit.calendar == "us_equity_daily" and fit.dt == pytest.approx(DT) and fit.last_price == close[-1]
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["kind"] == "volresearch.MertonFit" and d["units"]["lambda"] == "jumps/year"
    back = MertonFit.from_dict(d)
    assert back.to_dict() == fit.to_dict()
    sp = back.simulation_params()
    assert sp["lam_dt"] == pytest.approx(fit.params["lambda"] * DT)
    assert sp["vol"] == pytest.approx(fit.params["sigma"] * math.sqrt(DT))
    assert back.filter_state()["last_price"] == close[-1]
    assert "sigma_j" in back.summary() and back.kernel == "merton"
    with pytest.raises(FitError):
        fit_merton_returns(np.zeros(10), DT)


@pytest.fixture
def registered():
    """Merton in the registry for the duration of a test (as the package registers it)."""
    from volresearch import registry
    from volresearch.simulate.kernels.jumps import simulate_merton_result

    had_kernel = "merton" in registry.KERNELS
    registry.register(
        registry.ModelEntry(name="merton", family="jump-diffusion", fit=fit_merton, result_type=MertonFit,
                            kernel="merton", description="Merton jump-diffusion (maximum likelihood)"),
        replace=True,
    )  # fmt: skip
    registry.register_kernel("merton", simulate_merton_result, replace=True)
    registry.register_result_type("volresearch.MertonFit", MertonFit)
    yield registry
    if not had_kernel:
        registry.MODELS.pop("merton", None)
        registry.KERNELS.pop("merton", None)
        registry.RESULT_TYPES.pop("volresearch.MertonFit", None)


def test_registry_fit_simulate_load(registered) -> None:
    r = simulated_returns(2_000, seed=8)
    idx = pd.bdate_range("2012-01-02", periods=r.size + 1, tz="UTC", name="timestamp")
    close = 50.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    bars = pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=idx)
    fit = registered.fit_model("merton", bars)
    paths = registered.simulate_model(fit, 4_000, 30, seed=4, mode="matrix")
    again = registered.simulate_model(registered.load_result(fit.to_dict()), 4_000, 30, seed=4, mode="matrix")
    np.testing.assert_array_equal(paths.log_prices, again.log_prices)
    assert paths.log_prices.shape == (31, 4_000) and paths.log_prices[0, 0] == pytest.approx(math.log(close[-1]))
    # 30-day log-return variance of the paths matches the fitted model's
    p = fit.params
    var = 30 * DT * (p["sigma"] ** 2 + p["lambda"] * (p["mu_j"] ** 2 + p["sigma_j"] ** 2))
    ret = paths.log_prices[-1] - paths.log_prices[0]
    assert ret.var() == pytest.approx(var, rel=0.1)
    fan = registered.simulate_model(fit, 4_000, 30, seed=4)
    assert fan.bands.shape[0] == 31 and np.all(np.diff(fan.bands[-1]) > 0)
