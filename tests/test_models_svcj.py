"""SVCJ: QE + jump kernel against its numpy twin and against the analytic moments of integrated returns."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from volresearch.models.heston import heston_return_moments
from volresearch.models.svcj import SVCJResult, svcj_mbar, svcj_return_moments
from volresearch.simulate._rng import StreamState
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.kernels.heston import simulate_sv, simulate_sv_numpy, sv_words_per_step

PPF = innovation_table("normal", {}).kernel_args
#: Annualised test parameters (jumps frequent and large enough to matter at every horizon).
P = dict(mu=0.05, kappa=4.0, theta=0.03, xi=0.4, rho=-0.6, v0=0.05, lam=3.0, mu_y=-0.03, sigma_y=0.04, mu_v=0.05,
         rho_j=-0.5)  # fmt: skip
DT = 1.0 / 252.0
HORIZONS = (5, 21, 63, 252)


def simulate_returns(params: dict, n_paths: int, seed: int) -> np.ndarray:
    """``ln(S_t / S_0)`` at the test horizons, ``(len(HORIZONS), n_paths)``."""
    kw = {k: v for k, v in params.items() if k != "v0"}
    st = StreamState.create(seed, n_paths)
    x = np.zeros(n_paths)
    v = np.full(n_paths, params["v0"])
    xs, _ = simulate_sv(x, v, max(HORIZONS), DT, key=st.key, stream=st.stream, counter=st.counter, ppf=PPF,
                        martingale=False, **kw)  # fmt: skip
    return xs[[h - 1 for h in HORIZONS]]


def check_moments(r: np.ndarray, params: dict) -> None:
    for h, row in zip(HORIZONS, r, strict=True):
        mean, var = svcj_return_moments(h * DT, **params)
        n = row.size
        dev = row - row.mean()
        se_mean = math.sqrt(row.var() / n)
        se_var = math.sqrt((np.mean(dev**4) - row.var() ** 2) / n)
        assert abs(row.mean() - mean) < 3.5 * se_mean, (h, row.mean(), mean, se_mean)
        assert abs(row.var(ddof=1) - var) < 3.5 * se_var, (h, row.var(), var, se_var)


def test_kernel_equals_numpy_twin_with_jumps() -> None:
    outs = []
    kw = {k: v for k, v in P.items() if k != "v0"}
    kw["lam"] = 40.0  # many steps with one or more jumps
    for fn in (simulate_sv, simulate_sv_numpy):
        for mart in (False, True):
            st = StreamState.create(8, 257)
            x = np.zeros(257)
            v = np.full(257, P["v0"])
            extra = {"store_v": True} if fn is simulate_sv else {}
            xs, vs = fn(x, v, 60, DT, key=st.key, stream=st.stream, counter=st.counter, ppf=PPF, martingale=mart,
                        **kw, **extra)  # fmt: skip
            outs.append((xs, vs, st.counter.copy()))
    for a, b in ((outs[0], outs[2]), (outs[1], outs[3])):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])
    # variable word use: 3 per step plus N + 1 per jump step; some paths jumped twice in a step
    used = outs[0][2].astype(float) / 60.0
    assert used.mean() == pytest.approx(sv_words_per_step(40.0 * DT), rel=0.05)
    assert used.max() > 3.0 and used.min() >= 3.0


def test_jumps_raise_long_run_variance_and_move_price() -> None:
    """Sanity of the sign conventions: E[v_inf] = theta + lam mu_v / kappa, jumps shift the mean return."""
    kw = {k: v for k, v in P.items() if k != "v0"}
    st = StreamState.create(2, 20_000)
    v = np.full(20_000, P["theta"])
    simulate_sv(np.zeros(20_000), v, 756, DT, key=st.key, stream=st.stream, counter=st.counter, ppf=PPF,
                store_x=False, **kw)  # fmt: skip
    assert v.mean() == pytest.approx(P["theta"] + P["lam"] * P["mu_v"] / P["kappa"], rel=0.03)


def test_fast_moments_match_analytic() -> None:
    check_moments(simulate_returns(P, 40_000, seed=21), P)


def test_moments_detect_wrong_jump_model() -> None:
    """Deterministic, uncorrelated variance jumps (no rho_j) miss the analytic moments: the test can fail."""
    r = simulate_returns({**P, "rho_j": 0.0}, 40_000, seed=21)
    with pytest.raises(AssertionError):
        check_moments(r, P)


@pytest.mark.slow
def test_moments_match_analytic_many_paths() -> None:
    check_moments(simulate_returns(P, 200_000, seed=4), P)
    heston = {k: P[k] for k in ("mu", "kappa", "theta", "xi", "rho", "v0")}
    check_moments(simulate_returns(heston, 200_000, seed=5), heston)


def test_heston_moments_are_the_no_jump_case_and_reduce_to_constant_variance() -> None:
    h = {k: P[k] for k in ("mu", "kappa", "theta", "xi", "rho", "v0")}
    assert heston_return_moments(1.0, **h) == svcj_return_moments(1.0, **h)
    # xi -> 0, v0 = theta: Black-Scholes moments (mu - theta/2) T and theta T
    m, v = svcj_return_moments(2.0, mu=0.07, kappa=3.0, theta=0.04, xi=1e-9, rho=-0.5, v0=0.04)
    assert m == pytest.approx((0.07 - 0.02) * 2.0, abs=1e-12)
    assert v == pytest.approx(0.08, abs=1e-9)  # the rho xi term is O(xi)
    # pure compound-Poisson jumps on constant variance: Var J = lam T E[Z_y^2]
    m, v = svcj_return_moments(1.0, mu=0.0, kappa=3.0, theta=0.04, xi=1e-9, rho=0.0, v0=0.04, lam=5.0,
                               mu_y=-0.02, sigma_y=0.03, mu_v=0.0, rho_j=0.0)  # fmt: skip
    assert v == pytest.approx(0.04 + 5.0 * (0.03**2 + 0.02**2), rel=1e-9)
    k = math.expm1(-0.02 + 0.5 * 0.03**2)
    assert m == pytest.approx(-0.02 - 5.0 * k + 5.0 * -0.02, rel=1e-9)
    assert svcj_mbar(-0.02, 0.03, 0.0, 0.0) == pytest.approx(k)


def test_result_round_trip() -> None:
    res = SVCJResult.from_params(**{("lambda" if k == "lam" else k): v for k, v in P.items()}, last_price=50.0)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["kind"] == "volresearch.SVCJResult" and d["units"]["mu_v"] == "variance/year per jump"
    back = SVCJResult.from_dict(d)
    assert back.to_dict() == res.to_dict()
    assert back.simulation_params()["lam"] == 3.0 and back.kernel == "svcj"
    assert "rho_j" in back.summary()


def test_svcj_moments_extend_the_heston_set_with_scipy_skewness_and_kurtosis():
    from scipy import stats

    from volresearch.models.heston import return_moments
    from volresearch.models.svcj import SVCJ_AGG_BARS, svcj_moments

    r = np.random.default_rng(5).standard_t(5, 4000) * 0.01
    m = svcj_moments(r, DT)
    base = return_moments(r, DT)
    np.testing.assert_allclose(m[: base.size], base)
    assert m[base.size] == pytest.approx(stats.skew(r))
    for i, k in enumerate(SVCJ_AGG_BARS):
        agg = r[: (r.size // k) * k].reshape(-1, k).sum(axis=1)
        assert m[base.size + 1 + 2 * i] == pytest.approx(stats.skew(agg))
        assert m[base.size + 2 + 2 * i] == pytest.approx(stats.kurtosis(agg, fisher=False))
    # columns of a 2-d input are averaged moment by moment
    two = svcj_moments(np.column_stack([r, r[::-1]]), DT)
    np.testing.assert_allclose(two, 0.5 * (m + svcj_moments(r[::-1], DT)))


@pytest.mark.slow
def test_svcj_moment_fit_recovers_the_variance_split_on_simulated_days():
    """5,000 simulated days: total variance, jump share and intensity come back (per-parameter study: README)."""
    import pandas as pd

    from volresearch.registry import fit_model
    from volresearch.simulate.kernels.heston import stationary_sv_returns

    truth = dict(mu=0.05, kappa=4.0, theta=0.03, xi=0.4, rho=-0.7, lam=3.0, mu_y=-0.04, sigma_y=0.04, mu_v=0.03,
                 rho_j=0.0)  # fmt: skip
    r = stationary_sv_returns(truth, 1, 5000, DT, seed=11)[:, 0]
    idx = pd.bdate_range("2000-01-03", periods=5001, tz="UTC")
    bars = pd.DataFrame({"close": 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))}, index=idx)
    fit = fit_model("svcj", bars, calendar="us_equity_daily", sim_paths=10)  # half the default: the suite's time
    p = fit.params

    def total(q):
        lam = q["lam"] if "lam" in q else q["lambda"]
        ez2 = q["sigma_y"] ** 2 + q["mu_y"] ** 2
        return q["theta"] + lam * q["mu_v"] / q["kappa"] + lam * ez2

    sample = float(np.var(r) / DT)  # 0.0688 per year here, 11% above the model's 0.0621
    assert total(p) == pytest.approx(sample, rel=0.10)  # the fit reproduces its data's variance
    assert total(p) == pytest.approx(total(truth), rel=0.25)  # and the truth up to the sample's own noise
    assert 0.5 * truth["lam"] < p["lambda"] < 2.0 * truth["lam"]
    assert p["mu_y"] < 0 and fit.diagnostics["filter_median_ess"] > 0.3
    assert set(fit.std_errors) == set(fit.params) and all(u for u in fit.units.values())


def test_absurd_sv_fits_are_rejected_on_real_returns():
    """A moment fit of the S&P 500 (2003-2007 window) once came back with kappa 0.0007/year and a long-run
    variance 30 times the sample's; the checks reject such results, and accept a sound one."""
    from volresearch.data.datasets import load
    from volresearch.errors import FitError
    from volresearch.models.heston import check_sv_fit

    close = load("sp500")["close"].to_numpy()[1000:2001]
    r = np.diff(np.log(close))
    absurd = dict(kappa=0.0007, theta=0.0048, xi=0.0359, rho=-0.87, lam=2.76, mu_y=0.0108, sigma_y=0.0, mu_v=0.0028)
    with pytest.raises(FitError, match="long-run variance .* times the sample's") as info:
        check_sv_fit(absurd, r, DT, "SVCJ")
    assert info.value.reason == "checks" and "half-life" in str(info.value)
    sample = float(np.var(r) / DT)
    check_sv_fit(dict(kappa=4.0, theta=0.8 * sample, xi=0.5, rho=-0.7), r, DT, "Heston")  # sound: no error
    with pytest.raises(FitError, match="long-run variance"):
        check_sv_fit(dict(kappa=4.0, theta=5 * sample, xi=0.5, rho=-0.7), r, DT, "Heston")
    with pytest.raises(FitError, match="half-life"):
        check_sv_fit(dict(kappa=0.1, theta=sample, xi=0.5, rho=-0.7), r, DT, "Heston")  # 6.9 years vs 4
