"""The model overview shared by the report and the dashboard: tables, figures, residuals, titles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from volresearch.models.heston import HestonResult, sv_long_run_variance
from volresearch.models.merton import MertonFit
from volresearch.models.svcj import SVCJResult, svcj_return_moments
from volresearch.overview import (
    diurnal_frame,
    garch_component,
    key_figures,
    model_equation,
    model_title,
    parameter_table,
    residual_tests,
    standardised_residuals,
    volatility_history,
)
from volresearch.registry import available_models, fit_model

DT = 1.0 / 252.0
HESTON = {"mu": 0.05, "kappa": 5.0, "theta": 0.04, "xi": 0.5, "rho": -0.7}


def _bars(r: np.ndarray, start: str = "2000-01-03") -> pd.DataFrame:
    index = pd.bdate_range(start, periods=r.size + 1, tz="UTC")
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=index)


@pytest.fixture(scope="module")
def heston_bars() -> pd.DataFrame:
    from volresearch.simulate.kernels.heston import stationary_sv_returns

    return _bars(stationary_sv_returns(HESTON, 1, 4000, DT, seed=11)[:, 0])


@pytest.fixture(scope="module")
def garch_daily() -> pd.DataFrame:
    from test_registry import daily_bars

    return daily_bars()


def test_every_registered_model_has_a_title_and_an_equation():
    for name in available_models():
        assert model_title(name) and model_equation(name), name
    assert model_title("gjr-sged") == "GJR-GARCH(1,1) with skewed GED innovations"
    assert model_title("intraday-egarch-t").startswith("multiplicative intraday EGARCH(1,1) with Student-t")
    assert "Exp(μ_v)" in model_equation("svcj") and "ρ" in model_equation("heston")


def test_garch_table_takes_t_against_the_natural_null(garch_daily):
    fit = fit_model("gjr-sged", garch_daily)
    table = parameter_table(fit)
    assert garch_component(fit) is fit and set(table["component"]) == {"GARCH"}
    assert list(table.index) == list(fit.params)
    xi = table.loc["xi"]
    assert xi["null"] == 1.0 and xi["t"] == pytest.approx((fit.params["xi"] - 1.0) / fit.std_errors["xi"])
    assert table.loc["alpha", "t"] == pytest.approx(fit.params["alpha"] / fit.std_errors["alpha"])
    figures = dict(key_figures(fit))
    assert figures["Persistence"] == f"{fit.persistence:.4f}"
    # the residual tests are the fit's own
    assert residual_tests(fit) == dict(fit.diagnostics)
    assert diurnal_frame(fit) is None
    series, unit = volatility_history(fit)
    assert unit == "annualised volatility (%)"
    s = series["conditional volatility"]
    np.testing.assert_allclose(s.to_numpy(), fit.conditional_volatility * math.sqrt(fit.periods_per_year) * 100)


def test_continuous_time_table_nulls_and_units():
    res = HestonResult.from_params(**HESTON, v0=0.05, std_errors={"rho": 0.1, "kappa": 1.0})
    table = parameter_table(res)
    assert table.loc["rho", "t"] == pytest.approx(-7.0) and table.loc["rho", "null"] == 0.0
    assert math.isnan(table.loc["kappa", "t"]) and math.isnan(table.loc["kappa", "null"])  # positive: no null
    assert table.loc["theta", "unit"] == "variance/year" and garch_component(res) is None


def test_long_run_variance_is_the_one_bar_variance_of_the_analytic_moments():
    """Independent reference: the SVCJ moment formulas over a vanishing horizon from the stationary mean of v."""
    p = {"mu": 0.0, "kappa": 4.0, "theta": 0.03, "xi": 0.4, "rho": -0.5, "lambda": 2.0, "mu_y": -0.03,
         "sigma_y": 0.04, "mu_v": 0.05, "rho_j": -0.4}  # fmt: skip
    v_mean = p["theta"] + p["lambda"] * p["mu_v"] / p["kappa"]
    T = 1e-6
    _, var = svcj_return_moments(T, mu=p["mu"], kappa=p["kappa"], theta=p["theta"], xi=p["xi"], rho=p["rho"],
                                 v0=v_mean, lam=p["lambda"], mu_y=p["mu_y"], sigma_y=p["sigma_y"],
                                 mu_v=p["mu_v"], rho_j=p["rho_j"])  # fmt: skip
    assert sv_long_run_variance(p) == pytest.approx(var / T, rel=1e-4)
    assert sv_long_run_variance({**p, "kappa": 0.0}) == math.inf
    res = SVCJResult.from_params(**{k: p[k] for k in SVCJResult.NAMES if k != "v0"}, v0=0.04)
    figures = dict(key_figures(res))
    assert figures["Long-run volatility"].startswith(f"{100 * math.sqrt(sv_long_run_variance(p)):.1f}%")


def test_heston_residuals_at_the_true_parameters_are_standard_and_unclustered(heston_bars):
    r = np.diff(np.log(heston_bars["close"].to_numpy()))
    res = HestonResult.from_params(**HESTON, v0=HESTON["theta"], calendar="us_equity_daily", dt=DT)
    z = standardised_residuals(res, heston_bars)
    assert len(z) == r.size and z.index[0] == heston_bars.index[1]
    assert abs(z.mean()) < 0.05 and z.var() == pytest.approx(1.0, abs=0.08)
    # the raw returns cluster, the residuals of the filtered variance do not (much)
    from volresearch.models.diagnostics import ljung_box

    assert ljung_box(r**2)["20"]["pvalue"] < 1e-6
    tests = residual_tests(res, heston_bars)
    assert tests["ljung_box"]["z2"]["20"]["pvalue"] > 1e-3
    assert tests["std_resid_var"] == pytest.approx(z.var(ddof=0), rel=1e-6)
    series, _ = volatility_history(res, heston_bars)
    spot = series["filtered spot volatility"]
    rolling = pd.Series(r, index=z.index).rolling(21).std() * math.sqrt(252) * 100
    assert spot.corr(rolling) > 0.7  # filtered volatility follows the realised one


def test_merton_residuals_of_simulated_merton_returns():
    p = {"mu": 0.08, "sigma": 0.15, "lambda": 20.0, "mu_j": -0.01, "sigma_j": 0.03}
    rng = np.random.default_rng(4)
    n = 20_000
    counts = rng.poisson(p["lambda"] * DT, n)
    k = math.expm1(p["mu_j"] + 0.5 * p["sigma_j"] ** 2)
    r = ((p["mu"] - 0.5 * p["sigma"] ** 2 - p["lambda"] * k) * DT + p["sigma"] * math.sqrt(DT) * rng.standard_normal(n)
         + counts * p["mu_j"] + np.sqrt(counts) * p["sigma_j"] * rng.standard_normal(n))  # fmt: skip
    bars = _bars(r)
    res = MertonFit(params=p, std_errors={}, loglik=0.0, nobs=n, dt=DT)
    z = standardised_residuals(res, bars).to_numpy()
    se = 1.0 / math.sqrt(n)
    assert abs(z.mean()) < 4 * se and z.var() == pytest.approx(1.0, abs=6 * math.sqrt(stats.kurtosis(z) + 2) * se)
    series, _ = volatility_history(res, bars)
    const = series["Merton (constant)"]
    assert const.nunique() == 1 and const.iloc[0] == pytest.approx(
        100 * math.sqrt(p["sigma"] ** 2 + p["lambda"] * (p["mu_j"] ** 2 + p["sigma_j"] ** 2))
    )
    with pytest.raises(ValueError, match="need the bars"):
        standardised_residuals(res)


def test_intraday_overview_names_its_components():
    from test_models_intraday import synthetic_intraday

    bars = synthetic_intraday(8, seed=2)[0]
    fit = fit_model("intraday-gjr-sged", bars, calendar="crypto_24x7")
    table = parameter_table(fit)
    assert set(table["component"]) == {"intraday q", "gap"} and table.loc["G", "estimate"] == fit.gap_ratio
    assert garch_component(fit) is fit.q_fit
    figures = dict(key_figures(fit))
    assert "Daily component h" in figures and "Diurnal factor" in figures
    frame = diurnal_frame(fit)
    assert len(frame) == fit.diurnal.n_slots and frame["factor"].mean() == pytest.approx(1.0, abs=1e-6)
    series, unit = volatility_history(fit)
    assert unit == "volatility per session (%)" and len(series["realised (session)"]) == len(fit.daily.sessions)
