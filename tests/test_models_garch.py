"""GARCH-family fitting: known facts, recovery, scaling, checks, serialisation."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from arch.data import sp500
from arch.univariate import GARCH, ConstantMean, Normal

from volresearch.errors import FitError
from volresearch.models import fitting
from volresearch.models.garch import Fit, ModelSpec, choose_scale, fit_garch


@pytest.fixture(scope="module")
def spx_close() -> pd.Series:
    d = sp500.load()
    s = d["Adj Close"].astype(float)
    s.index = pd.DatetimeIndex(s.index).tz_localize("UTC").rename("timestamp")
    return s


def simulate_gjr(n, mu, omega, alpha, gamma, beta, seed, z=None):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n) if z is None else z
    r = np.empty(n)
    s2 = omega / (1 - alpha - beta - gamma / 2)
    for t in range(n):
        e = math.sqrt(s2) * z[t]
        r[t] = mu + e
        s2 = omega + (alpha + (gamma if e < 0 else 0.0)) * e * e + beta * s2
    return r


def test_spx_gjr_sged_beats_garch_normal_and_leverage_is_significant(spx_close):
    base = fit_garch(spx_close, model="garch", dist="normal")
    gjr = fit_garch(spx_close, model="gjr", dist="sged")
    assert gjr.loglik > base.loglik + 100
    assert gjr.bic < base.bic
    t_gamma = gjr.params["gamma"] / gjr.std_errors["gamma"]
    assert gjr.params["gamma"] > 0 and t_gamma > 3
    assert gjr.persistence < 1
    # left-skewed standardised innovations for the index
    assert gjr.params["xi"] < 1


def test_recovers_known_parameters_of_one_minute_sized_returns():
    # per-bar units typical of 1-minute bars: sd ~ 5e-4
    truth = dict(mu=0.0, omega=5e-9, alpha=0.06, gamma=0.04, beta=0.90)
    r = simulate_gjr(20_000, seed=3, **truth)
    fit = fit_garch(r, model="gjr", dist="normal", returns=True, periods_per_year=252 * 1380)
    assert fit.scale in (1e4, 1e5)  # std of r is in [1e-4, 1e-3): primary scale 1e4, confirmation 1e5
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 3 * fit.std_errors[name], name


def test_scaling_equivariance():
    r = simulate_gjr(4000, mu=0.0002, omega=2e-6, alpha=0.05, gamma=0.0, beta=0.9, seed=5)
    a = fit_garch(r, model="garch", returns=True)
    b = fit_garch(r * 10, model="garch", returns=True)
    assert b.params["mu"] == pytest.approx(10 * a.params["mu"], rel=1e-3)
    assert b.params["omega"] == pytest.approx(100 * a.params["omega"], rel=1e-3)
    assert b.params["beta"] == pytest.approx(a.params["beta"], abs=1e-4)
    assert b.loglik == pytest.approx(a.loglik - r.size * math.log(10), abs=1e-3)


def test_egarch_omega_is_reported_in_per_bar_log_variance():
    r = simulate_gjr(4000, mu=0.0, omega=2e-6, alpha=0.08, gamma=0.05, beta=0.88, seed=9)
    a = fit_garch(r, model="egarch", returns=True)
    b = fit_garch(r * 10, model="egarch", returns=True)
    # ln(100 s2) = ln s2 + ln 100 => omega_b = omega_a + ln(100) (1 - beta)
    assert b.params["omega"] == pytest.approx(a.params["omega"] + math.log(100) * (1 - a.params["beta"]), abs=2e-3)
    assert math.sqrt(a.next_variance) == pytest.approx(math.sqrt(b.next_variance) / 10, rel=1e-3)


def test_chosen_attempt_has_the_best_common_unit_likelihood(spx_close):
    fit = fit_garch(spx_close, model="gjr", dist="skewt")
    good = [a for a in fit.meta["attempts"] if not a["problems"]]
    assert len(fit.meta["attempts"]) >= 2
    assert fit.loglik == pytest.approx(max(a["loglik"] for a in good))


def test_analytic_forecast_matches_arch(spx_close):
    fit = fit_garch(spx_close, model="gjr", dist="normal")
    s = fit.scale
    r = np.log(spx_close).diff().dropna().to_numpy() * s
    am = ConstantMean(r, volatility=GARCH(1, 1, 1), distribution=Normal(), rescale=False)
    p = fit.params
    params = np.array([p["mu"] * s, p["omega"] * s * s, p["alpha"], p["gamma"], p["beta"]])
    ref = am.forecast(params=params, horizon=30, reindex=False).variance.to_numpy()[-1] / s**2
    ours = fit.forecast(30)["variance"].to_numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


def test_flat_prices_raise_fit_error():
    with pytest.raises(FitError, match="zero or non-finite dispersion"):
        fit_garch(np.full(200, 100.0))


def test_too_few_returns_raise_fit_error():
    with pytest.raises(FitError, match="too few"):
        fit_garch(np.linspace(100, 101, 20))


def test_failing_checks_are_never_returned(monkeypatch):
    def bad_attempt(spec, r, scale, start, label, *, horizon=1):
        return fitting.Attempt(
            scale, label, None, None, -math.inf, ("not covariance stationary: persistence 1.02 >= 1",)
        )

    monkeypatch.setattr(fitting, "run_attempt", bad_attempt)
    r = simulate_gjr(500, mu=0, omega=1e-6, alpha=0.05, gamma=0, beta=0.9, seed=1)
    with pytest.raises(FitError, match="not covariance stationary"):
        fit_garch(r, returns=True)


def test_problems_flags_nonstationary_and_absurd_mean():
    r = simulate_gjr(2000, mu=0, omega=1e-6, alpha=0.05, gamma=0, beta=0.9, seed=2) * 100
    spec = ModelSpec("garch", "normal")
    am = ConstantMean(r, volatility=GARCH(1, 0, 1), distribution=Normal(), rescale=False)
    res = am.fit(disp="off", starting_values=np.array([50.0, 0.01, 0.3, 0.75]), options={"maxiter": 1})
    params = dict(zip(["mu", "omega", "alpha", "beta"], res.params.to_numpy(), strict=True))
    problems, _ = fitting.check_estimate(spec, params, returns=r, std_resid=res.std_resid)
    assert any("stationary" in p or "mean" in p for p in problems)


def test_fit_round_trips_through_json(spx_close):
    fit = fit_garch(spx_close.iloc[-1500:], model="gjr", dist="t")
    payload = json.loads(json.dumps(fit.to_dict()))
    back = Fit.from_dict(payload)
    assert dict(back.params) == dict(fit.params)
    assert back.loglik == fit.loglik and back.next_variance == fit.next_variance
    np.testing.assert_array_equal(back.conditional_volatility, fit.conditional_volatility)
    assert back.index.equals(fit.index)
    assert back.summary() == fit.summary()
    assert fit.meta["data_hash"] == back.meta["data_hash"]
    assert {"arch", "numpy", "volresearch"} <= set(fit.meta["versions"])


def test_fit_is_immutable(spx_close):
    fit = fit_garch(spx_close.iloc[-800:], model="garch")
    with pytest.raises(AttributeError):
        fit.loglik = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        fit.params["beta"] = 0.5  # type: ignore[index]
    with pytest.raises(ValueError):
        fit.conditional_volatility[0] = 1.0


def test_summary_reports_units_and_diagnostics(spx_close):
    fit = fit_garch(spx_close, model="gjr", dist="normal", periods_per_year=252)
    text = fit.summary()
    assert "squared log return per bar" in text and "Ljung-Box" in text and "sign-bias" in text
    assert 0.1 < fit.unconditional_vol_annualised < 0.4
    lb = fit.diagnostics["ljung_box"]["z2"]["10"]["pvalue"]
    assert 0.0 <= lb <= 1.0


def test_sign_bias_detects_missing_leverage():
    r = simulate_gjr(8000, mu=0, omega=2e-6, alpha=0.02, gamma=0.15, beta=0.88, seed=11)
    sym = fit_garch(r, model="garch", returns=True)
    asym = fit_garch(r, model="gjr", returns=True)
    assert sym.diagnostics["sign_bias"]["joint"]["pvalue"] < 0.01
    assert asym.diagnostics["sign_bias"]["joint"]["pvalue"] > sym.diagnostics["sign_bias"]["joint"]["pvalue"]


def test_choose_scale():
    assert choose_scale(np.array([1e-4, -3e-4, 5e-4, -2e-4])) == 10_000
    assert choose_scale(np.array([0.01, -0.02, 0.015])) == 100
    with pytest.raises(FitError):
        choose_scale(np.zeros(10))


@pytest.mark.parametrize("model", ["garch", "gjr", "egarch"])
@pytest.mark.parametrize("dist", ["normal", "t", "skewt", "ged", "sged"])
@pytest.mark.parametrize("mean", ["constant", "zero"])
def test_alternative_starts_match_arch_parameter_layout(model, dist, mean):
    spec = ModelSpec(model, dist, mean)
    r = simulate_gjr(300, mu=0, omega=1e-6, alpha=0.05, gamma=0.0, beta=0.9, seed=1)
    am = fitting.arch_model(spec, r * 100)
    total = am.num_params + am.volatility.num_params + am.distribution.num_params
    for start in [*fitting.alternative_starts(spec, r), fitting.arch_starting_values(spec, r)]:
        assert start.size == total == len(fitting.param_names(spec))
        assert np.all(np.isfinite(start))


def test_optimizer_that_never_moves_is_rejected(monkeypatch):
    real = fitting.arch_model

    def patched(spec, y):
        model = real(spec, y)
        original = model.fit

        def fit(*args, **kwargs):  # an optimiser allowed no iteration returns its starting values
            return (
                original(*args, options={"maxiter": 0}, **kwargs)
                if kwargs["starting_values"][-1] > 0.85
                else original(*args, **kwargs)
            )

        model.fit = fit
        return model

    monkeypatch.setattr(fitting, "arch_model", patched)
    r = simulate_gjr(2000, mu=0, omega=1e-6, alpha=0.05, gamma=0, beta=0.9, seed=4)
    fit = fit_garch(r, model="garch", returns=True)
    stuck = [a for a in fit.meta["attempts"] if a["start_values"]["beta"] > 0.85]
    assert stuck and all("never moved" in " ".join(a["problems"]) for a in stuck)
    assert fit.params["beta"] != pytest.approx(stuck[0]["start_values"]["beta"], abs=1e-6)


# --------------------------------------------------------------------------- EGARCH against arch


@pytest.fixture(scope="module")
def egarch_case(spx_close):
    from arch.univariate import EGARCH

    prices = spx_close.iloc[-2000:]
    fit = fit_garch(prices, model="egarch", dist="normal")
    s = fit.scale
    r = np.diff(np.log(prices.to_numpy())) * s
    am = ConstantMean(r, volatility=EGARCH(1, 1, 1), distribution=Normal(), rescale=False)
    p = fit.params
    params = np.array([p["mu"] * s, p["omega"] + 2 * math.log(s) * (1 - p["beta"]), p["alpha"], p["gamma"], p["beta"]])
    return fit, am, params, s


def test_egarch_next_variance_matches_arch_one_step_forecast(egarch_case):
    fit, am, params, s = egarch_case
    ref = am.forecast(params=params, horizon=1, reindex=False).variance.to_numpy()[-1, 0] / s**2
    assert fit.next_variance == pytest.approx(ref, rel=1e-8)
    # and the in-sample path is arch's
    cv = am.fix(params).conditional_volatility / s
    np.testing.assert_allclose(fit.conditional_volatility, cv, rtol=1e-6)


def test_egarch_variance_forecast_matches_arch_simulation(egarch_case):
    fit, am, params, s = egarch_case
    horizon, n = 30, 20_000
    sim = am.forecast(
        params=params, horizon=horizon, method="simulation", simulations=n,
        random_state=np.random.RandomState(7), reindex=False,
    )  # fmt: skip
    arch_var = sim.simulations.variances[-1] / s**2  # (n, horizon)
    ours = fit.forecast(horizon, n_paths=n, seed=3)["variance"].to_numpy()
    se = np.std(arch_var, axis=0) / math.sqrt(n) * math.sqrt(2)  # two independent Monte Carlo means
    assert np.all(np.abs(ours - arch_var.mean(axis=0))[1:] < 4 * se[1:])  # step 1 is deterministic:
    assert ours[0] == pytest.approx(arch_var[:, 0].mean(), rel=1e-10)  # exact agreement there


def test_egarch_simulated_returns_match_arch_simulation(egarch_case):
    fit, am, params, s = egarch_case
    horizon, n = 20, 20_000
    sim = am.forecast(
        params=params, horizon=horizon, method="simulation", simulations=n,
        random_state=np.random.RandomState(11), reindex=False,
    )  # fmt: skip
    arch_cum = np.cumsum(sim.simulations.values[-1] / s, axis=1)  # (n, horizon) cumulative log returns
    paths = fit.simulate(n, horizon, seed=5)
    for h in (1, 5, 20):
        ours, ref = paths.returns(h), arch_cum[:, h - 1]
        var_o, var_r = float(np.var(ours)), float(np.var(ref))
        se = math.sqrt(
            (np.mean((ours - ours.mean()) ** 4) - var_o**2) / n + (np.mean((ref - ref.mean()) ** 4) - var_r**2) / n
        )
        assert abs(var_o - var_r) < 4 * se, (h, var_o, var_r, se)
        assert abs(ours.mean() - ref.mean()) < 4 * math.sqrt(var_o / n + var_r / n), h
