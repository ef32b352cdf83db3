"""What a fitted model says, for people: parameters, key figures, in-sample volatility and residual tests.

One description of every registered result (GARCH family, multiplicative
intraday GARCH, Heston, SVCJ, Merton), shared by the PDF report, the
dashboard and the notebooks, so that each surface shows the same numbers in
the same units::

    from volresearch.overview import key_figures, parameter_table, residual_tests, volatility_history

    result = fit_model("heston", bars)
    parameter_table(result)          # estimate, std error, null, t, unit per parameter
    key_figures(result)              # [("Long-run volatility", "17.3% annualised"), ...]
    volatility_history(result, bars) # in-sample volatility paths (annualised, percent)
    residual_tests(result, bars)     # Ljung-Box on z and z^2, Engle-Ng sign bias, mean/variance of z

Standardised residuals ``z_t = (r_t - E_{t-1} r_t) / sd_{t-1}(r_t)`` are
those of each model's own one-bar predictive distribution: the GARCH
recursion's; for Heston/SVCJ the particle filter's variance after bar
``t - 1`` (:func:`volresearch.simulate.sv_filter.sv_filter`, the particles
and seed that set ``v0``) turned into the mean and variance of the next
bar's return (integrated variance over the bar plus the jump variance);
for Merton the constant mean and variance of the Poisson-normal mixture.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from volresearch.models.diagnostics import residual_diagnostics
from volresearch.models.garch import Fit
from volresearch.predictive import one_step_predictive, return_sample_of, sv_filtered_variance

__all__ = [
    "diurnal_frame",
    "garch_component",
    "model_equation",
    "model_title",
    "key_figures",
    "parameter_table",
    "residual_tests",
    "standardised_residuals",
    "volatility_history",
]

#: Parameters of continuous-time models whose t statistic is taken against 0 (the others are positive by
#: construction and have no natural null).
_ZERO_NULL = frozenset({"mu", "rho", "mu_j", "mu_y", "rho_j", "lambda"})


def garch_component(result: Any) -> Fit | None:
    """The GARCH-family fit behind a result: the result itself, its intraday component ``q``, or ``None``."""
    if isinstance(result, Fit):
        return result
    inner = getattr(result, "q_fit", None)
    return inner if isinstance(inner, Fit) else None


_GARCH_NAMES = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1)", "egarch": "EGARCH(1,1)"}
_LAW_NAMES = {"normal": "normal", "t": "Student-t", "skewt": "skewed Student-t", "ged": "GED", "sged": "skewed GED"}
_GARCH_EQUATIONS = {
    "garch": "σ²ₜ = ω + α e²ₜ₋₁ + β σ²ₜ₋₁",
    "gjr": "σ²ₜ = ω + (α + γ·1[eₜ₋₁ < 0]) e²ₜ₋₁ + β σ²ₜ₋₁",
    "egarch": "ln σ²ₜ = ω + α(|zₜ₋₁| − √(2/π)) + γ zₜ₋₁ + β ln σ²ₜ₋₁",
}
_HESTON = "d ln S = (μ − v/2) dt + √v dW₁, dv = κ(θ − v) dt + ξ√v dW₂, corr(dW₁, dW₂) = ρ"
_TITLES = {
    "heston": ("Heston stochastic volatility", _HESTON),
    "svcj": (
        "SVCJ: stochastic volatility with correlated jumps in price and variance",
        _HESTON + "; jumps at rate λ add Z_v ~ Exp(μ_v) to v and Z_y | Z_v ~ N(μ_y + ρ_J Z_v, σ_y²) to ln S "
        "(drift compensated)",
    ),
    "ewma": ("RiskMetrics EWMA volatility", "σ²ₜ = λ σ²ₜ₋₁ + (1 − λ) e²ₜ₋₁, rₜ = μ + σₜ zₜ, z ~ N(0, 1)"),
    "arma-garch": (
        "ARMA(1,1)-GARCH(1,1) with Student-t innovations",
        "rₜ = μ + φ (rₜ₋₁ − μ) + θ eₜ₋₁ + eₜ, eₜ = σₜ zₜ, σ²ₜ = ω + α e²ₜ₋₁ + β σ²ₜ₋₁",
    ),
    "har-range": (
        "HAR of the daily range variance",
        "yₜ = log GKₜ = b₀ + b₁ yₜ₋₁ + b₅ ȳₜ₋₁..ₜ₋₅ + b₂₂ ȳₜ₋₁..ₜ₋₂₂ + s εₜ, rₜ = μ + √(c e^yₜ) zₜ",
    ),
    "historical": ("Historical simulation", "rₜ₊₁ drawn with replacement from the window's returns r₁ … rₙ"),
    "merton": (
        "Merton jump-diffusion",
        "d ln S = (μ − σ²/2 − λk̄) dt + σ dW + dJ, jumps N(μ_J, σ_J²) at rate λ, k̄ = E[e^J] − 1",
    ),
}


def _split(name: str) -> tuple[str, str, str]:
    """``(family, garch model, law)`` of a registry name (model and law empty outside the GARCH families)."""
    from volresearch.registry import get_model

    entry = get_model(name)
    if entry.family in ("garch", "intraday"):
        model, law = entry.name.removeprefix("intraday-").split("-", 1)
        return entry.family, model, law
    return entry.family, "", ""


def model_title(name: str) -> str:
    """What a registered model is, in words (``"GJR-GARCH(1,1) with skewed GED innovations"``)."""
    from volresearch.registry import get_model

    family, model, law = _split(name)
    if family == "garch":
        return f"{_GARCH_NAMES[model]} with {_LAW_NAMES.get(law, law)} innovations"
    if family == "intraday":
        return (
            f"multiplicative intraday {_GARCH_NAMES[model]} with {_LAW_NAMES.get(law, law)} innovations "
            "(daily variance × diurnal factor × intraday GARCH)"
        )
    key = get_model(name).name
    return _TITLES[key][0] if key in _TITLES else get_model(name).description


def model_equation(name: str) -> str:
    """The model's defining equation in one line (Unicode), empty when none is on file."""
    from volresearch.registry import get_model

    family, model, _ = _split(name)
    if family == "garch":
        return _GARCH_EQUATIONS[model]
    if family == "intraday":
        return (
            "rₜ = √(h_d · s_i · qₜ) zₜ (h_d daily variance, s_i diurnal factor of slot i), with qₜ the recursion "
            + _GARCH_EQUATIONS[model].replace("σ²", "q")
            + " on the deseasonalised returns"
        )
    entry = get_model(name)
    if entry.family == "ensemble":
        return "F(y) = Σⱼ wⱼ Fⱼ(y): mean Σⱼ wⱼ μⱼ, variance Σⱼ wⱼ σⱼ² + Σⱼ wⱼ (μⱼ − μ)² (within + between members)"
    return _TITLES[entry.name][1] if entry.name in _TITLES else ""


def _is_sv(result: Any) -> bool:
    return getattr(result, "kernel", None) in ("heston", "svcj")


def _is_merton(result: Any) -> bool:
    return getattr(result, "kernel", None) == "merton"


def parameter_table(result: Any) -> pd.DataFrame:
    """Fitted parameters of any registered result, one row each (index ``parameter``).

    Columns: ``component`` (``"GARCH"``, ``"intraday q"``, ``"gap"``, ``"continuous time"``), ``estimate``,
    ``std error`` (NaN when not estimated), ``null`` (the natural null of the t statistic: 0; skew ``xi`` 1;
    GED ``nu`` 2; NaN when there is none), ``t`` and ``unit``.  GARCH-family parameters are per bar;
    continuous-time ones annualised (units name them).
    """
    cols = ["component", "estimate", "std error", "null", "t", "unit"]
    rows: list[dict[str, Any]] = []

    def add(component: str, name: str, value: float, se: float, null: float | None, unit: str) -> None:
        se = float(se) if se is not None else math.nan
        t = (value - null) / se if null is not None and math.isfinite(se) and se > 0 else math.nan
        rows.append({"parameter": name, "component": component, "estimate": float(value), "std error": se,
                     "null": math.nan if null is None else float(null), "t": t, "unit": unit})  # fmt: skip

    fit = garch_component(result)
    if fit is not None:
        component = "GARCH" if fit is result else "intraday q"
        nulls = fit.null_values()
        for name, value in fit.params.items():
            add(component, name, value, fit.std_errors.get(name, math.nan), nulls.get(name), fit.units.get(name, ""))
        if fit is not result:
            add("gap", "G", float(result.gap_ratio), math.nan, None, "gap variance / daily variance h")
    else:
        units = getattr(result, "units", {})
        component = getattr(result, "table_component", "continuous time")
        own = result.null_values() if hasattr(result, "null_values") else None
        for name, value in result.params.items():
            null = own.get(name) if own is not None else 0.0 if name in _ZERO_NULL else None
            add(component, name, value, result.std_errors.get(name, math.nan), null, units.get(name, ""))
    return pd.DataFrame(rows, columns=["parameter", *cols]).set_index("parameter")


def _pct(x: float, digits: int = 1) -> str:
    return f"{100.0 * x:.{digits}f}%" if math.isfinite(x) else "n/a"


def _when(end: Any) -> str:
    """A result's last bar time, ``YYYY-MM-DD`` (``HH:MM`` added for intraday stamps) in UTC."""
    if end is None:
        return "n/a"
    t = pd.Timestamp(end)
    t = t.tz_convert("UTC") if t.tz is not None else t
    return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M} UTC"


def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else "n/a"


def key_figures(result: Any) -> list[tuple[str, str]]:
    """Derived figures of a result as ``(label, text)`` rows, units in the text.

    GARCH family: persistence, half-life, unconditional and next-bar volatility, log-likelihood / AIC / BIC.
    Intraday: the daily component (method, next-session volatility), the gap ratio, the diurnal range and
    the intraday component's persistence.  Heston/SVCJ: long-run and current volatility (annualised),
    variance half-life, Feller ratio, the share of variance from jumps, the filter's log-likelihood.
    Merton: diffusion and total volatility, the jump share of the variance, the log-likelihood.
    """
    fit = garch_component(result)
    if fit is result:
        return _garch_figures(fit)
    if fit is not None:
        return _intraday_figures(result, fit)
    if _is_sv(result):
        return _sv_figures(result)
    if _is_merton(result):
        return _merton_figures(result)
    if getattr(result, "kernel", None) == "ensemble":
        return _ensemble_figures(result)
    return [("Summary", result.summary())]


def _ensemble_figures(result: Any) -> list[tuple[str, str]]:
    ins = result.in_sample
    members = ", ".join(
        f"{n} {w:.3f} (log score {ls:.4f})"
        for n, w, ls in zip(
            result.names, result.weights, ins.get("log_score", [math.nan] * len(result.names)), strict=True
        )  # fmt: skip
    )
    rows = [
        (
            "Estimation",
            f"each member fitted on the sample; {result.scheme} weights from the members' one-bar "
            "predictive laws over the same sample",
        ),  # fmt: skip
        ("Members and weights", members),
        ("Effective members", f"{result.effective_members:.2f} of {len(result.names)} (1 / Σw²)"),
        ("Pool log score", f"{ins.get('pool_log_score', math.nan):.4f} per return over {ins.get('n', 0):,} returns"),
        ("Next-bar volatility", f"{_num(math.sqrt(result.filter_state()['next_variance']))} per bar (the pool's)"),
    ]
    if result.rejected:
        rows.append(("Left out", "; ".join(f"{n}: {why}" for n, why in result.rejected.items())))
    return rows


def _garch_figures(fit: Fit) -> list[tuple[str, str]]:
    if math.isfinite(fit.half_life):
        half = f"{fit.half_life:,.1f} bars"
    else:
        half = "infinite (integrated)"
    return [
        (
            "Estimation",
            "maximum likelihood (arch); robust (sandwich) standard errors; per-bar units"
            if fit.method == "garch"
            else f"{fit.method} (a fallback: no likelihood fit)",
        ),
        ("Returns used", f"{fit.n_obs:,} ({fit.start:%Y-%m-%d} to {fit.end:%Y-%m-%d})"),
        ("Persistence", f"{fit.persistence:.4f}"),
        ("Half-life of a shock", half),
        (
            "Unconditional volatility",
            f"{_num(fit.unconditional_vol_per_bar)} per bar, {_pct(fit.unconditional_vol_annualised)} annualised "
            f"({fit.periods_per_year:,.0f} bars a year)",
        ),
        ("Next-bar volatility", f"{_num(math.sqrt(fit.next_variance))} per bar"),
        ("Log-likelihood, AIC, BIC", f"{fit.loglik:,.1f}, {fit.aic:,.1f}, {fit.bic:,.1f}"),
    ]


def _intraday_figures(result: Any, q: Fit) -> list[tuple[str, str]]:
    daily = result.daily
    d = result.diurnal
    method = daily.method + (f" (asked {daily.requested}: {daily.reason})" if daily.reason else "")
    q_half = f"{q.half_life:,.1f} bars" if math.isfinite(q.half_life) else "infinite (integrated)"
    diag = result.diagnostics
    return [
        (
            "Returns used",
            f"{q.n_obs:,} intraday returns in {len(daily.sessions):,} sessions, up to {_when(result.end)}",
        ),
        ("Daily component h", method),
        (
            "Session volatility",
            f"next session {_pct(math.sqrt(daily.forecast[0]), 3)}, last {_pct(math.sqrt(daily.h[-1]), 3)}, "
            f"sample median {_pct(math.sqrt(float(np.median(daily.h))), 3)} (per session day, gaps excluded)",
        ),
        ("Overnight gap variance G", f"{result.gap_ratio:.4g} × h"),
        (
            "Diurnal factor",
            f"{np.nanmin(d.factor):.3f} to {np.nanmax(d.factor):.3f} (mean 1; {d.n_slots} slots of "
            f"{result.bar_seconds_ / 60:g} min, {d.method})",
        ),
        ("Intraday component q", f"persistence {q.persistence:.4f}, half-life {q_half}"),
        (
            "Level check",
            f"sample mean r² over the model's mean variance {diag.get('variance_ratio', math.nan):.3f} "
            f"(1 when consistent); unchanged closes {_pct(diag.get('zero_share', math.nan))}",
        ),
        ("Log-likelihood of q", f"{q.loglik:,.1f}"),
    ]


def _sv_figures(result: Any) -> list[tuple[str, str]]:
    from volresearch.models.heston import sv_long_run_variance

    p = result.params
    long_run = sv_long_run_variance(p)
    lam = float(p.get("lambda", 0.0))
    half_years = math.log(2.0) / p["kappa"] if p["kappa"] > 0 else math.inf
    how = {"smm": "simulated method of moments", "pf-mle": "particle-filter maximum likelihood"}
    rows = [
        (
            "Estimation",
            f"{how.get(result.method, result.method)}; annualised parameters (dt = {result.dt:.4g} years a bar); "
            "current variance v0 from a particle filter over the sample",
        ),
        ("Returns used", f"{result.nobs:,} (up to {_when(result.end)})"),
        (
            "Long-run volatility",
            f"{_pct(math.sqrt(long_run))} annualised (diffusion level θ: {_pct(math.sqrt(p['theta']))})",
        ),
        (
            "Current volatility",
            f"{_pct(math.sqrt(max(p['v0'], 0.0)))} annualised (filtered v after the last bar"
            + (f", sd {_num(result.diagnostics['v0_sd'], 3)}/year)" if "v0_sd" in result.diagnostics else ")"),
        ),
        (
            "Variance half-life",
            f"{half_years:.3g} years = {half_years / result.dt:,.1f} bars" if math.isfinite(half_years) else "infinite",
        ),
        (
            "Feller ratio 2κθ/ξ²",
            f"{result.feller:.3g}" + (" (< 1: the variance reaches zero)" if result.feller < 1 else ""),
        ),
    ]
    if lam > 0:
        jump_var = long_run - p["theta"] - lam * p.get("mu_v", 0.0) / p["kappa"]
        rows.append(
            (
                "Jumps",
                f"{lam:.3g} a year; price jumps carry {_pct(jump_var / long_run)} of the long-run variance, "
                f"variance jumps raise the mean of v by {_num(lam * p.get('mu_v', 0.0) / p['kappa'], 3)}/year",
            )
        )
    if "filter_loglik" in result.diagnostics:
        rows.append(
            (
                "Filter log-likelihood",
                f"{result.diagnostics['filter_loglik']:,.1f} ({result.diagnostics.get('filter_particles', '?')} "
                f"particles, median ESS {_pct(result.diagnostics.get('filter_median_ess', math.nan), 0)} of N)",
            )
        )
    return rows


def _merton_figures(result: Any) -> list[tuple[str, str]]:
    p = result.params
    jump_var = p["lambda"] * (p["mu_j"] ** 2 + p["sigma_j"] ** 2)
    total = p["sigma"] ** 2 + jump_var
    return [
        (
            "Estimation",
            f"maximum likelihood of the Poisson-normal mixture, Hessian standard errors; annualised parameters "
            f"(dt = {result.dt:.4g} years a bar)",
        ),
        ("Returns used", f"{result.nobs:,} (up to {_when(result.end)})"),
        ("Diffusion volatility σ", f"{_pct(p['sigma'])} annualised"),
        ("Total volatility", f"{_pct(math.sqrt(total))} annualised, {_num(math.sqrt(total * result.dt))} per bar"),
        ("Jumps", f"{p['lambda']:.3g} a year, carrying {_pct(jump_var / total)} of the variance"),
        (
            "Log-likelihood",
            f"{result.loglik:,.1f} (Poisson sum of {result.n_terms} terms, density error ≤ "
            f"{result.truncation_bound:.1e})",
        ),
    ]


# ------------------------------------------------------------------ in-sample paths
def standardised_residuals(result: Any, bars: Any = None) -> pd.Series:
    """``z_t`` of the model's one-bar predictive distribution (see the module docstring).

    GARCH-family and intraday results carry their own (``bars`` unused); Heston/SVCJ/Merton need the
    ``bars`` they were fitted on.

    Raises
    ------
    ValueError
        ``bars`` missing for a continuous-time result.
    """
    fit = garch_component(result)
    if fit is not None:
        return pd.Series(np.asarray(fit.std_resid, dtype=float), index=fit.index, name="z")
    if bars is None:
        raise ValueError(f"standardised residuals of {result.model} need the bars it was fitted on")
    pred = one_step_predictive(result, bars)
    return pd.Series((pred["r"] - pred["mean"]) / np.sqrt(pred["var"]), index=pred.index, name="z")


def residual_tests(result: Any, bars: Any = None) -> dict[str, Any]:
    """Ljung-Box on ``z`` and ``z^2``, Engle-Ng sign-bias tests and the mean/variance of ``z``.

    The GARCH-family fit's own diagnostics when it has them; otherwise
    :func:`volresearch.models.diagnostics.residual_diagnostics` of :func:`standardised_residuals`.
    """
    fit = garch_component(result)
    if fit is not None and fit.diagnostics.get("ljung_box"):
        return dict(fit.diagnostics)
    z = standardised_residuals(result, bars).to_numpy()
    return residual_diagnostics(z[np.isfinite(z)], model=str(getattr(result, "model", "")))


def volatility_history(result: Any, bars: Any = None) -> tuple[dict[str, pd.Series], str]:
    """In-sample volatility paths of a result and the y-axis label naming their unit.

    GARCH family: conditional ``sigma_t`` annualised, in percent.  Intraday: the daily component's
    ex-ante ``sqrt(h)`` and the realised session volatility, percent per session day.  Heston/SVCJ: the
    filtered spot volatility ``sqrt(E[v_t])`` annualised, percent.  Merton: its constant total volatility
    beside a 21-bar rolling realised volatility, annualised, percent.
    """
    fit = garch_component(result)
    if fit is result:
        s = fit.conditional_volatility_series * math.sqrt(fit.periods_per_year) * 100.0
        return {"conditional volatility": s}, "annualised volatility (%)"
    if fit is not None:
        daily = result.daily
        idx = pd.DatetimeIndex(daily.sessions)
        return (
            {
                "daily component √h (ex ante)": pd.Series(np.sqrt(daily.h) * 100.0, index=idx),
                "realised (session)": pd.Series(np.sqrt(daily.rv) * 100.0, index=idx),
            },
            "volatility per session (%)",
        )
    if bars is None:
        raise ValueError(f"the volatility history of {result.model} needs the bars it was fitted on")
    from volresearch.data.calendar import year_fraction

    scale = 100.0 / math.sqrt(year_fraction(result.bar_seconds, result.calendar or "us_equity_daily"))
    if getattr(result, "kernel", None) == "ensemble" or getattr(result, "model", None) in (
        "ewma",
        "har-range",
        "arma-garch",
    ):
        what = "pool's predictive volatility" if result.kernel == "ensemble" else f"{result.model} volatility"
        return {what: np.sqrt(one_step_predictive(result, bars)["var"]) * scale}, "annualised volatility (%)"
    if _is_sv(result):
        v = sv_filtered_variance(result, bars)
        return {"filtered spot volatility": np.sqrt(np.maximum(v, 0.0)) * 100.0}, "annualised volatility (%)"
    r, times = return_sample_of(result, bars)
    realised = pd.Series(r, index=times).rolling(21).std() * scale
    const = pd.Series(math.sqrt(result.filter_state()["next_variance"]) * scale, index=times)
    label = "Merton (constant)" if _is_merton(result) else f"{result.model} (constant)"
    return {label: const, "realised, 21 bars": realised.dropna()}, "annualised volatility (%)"


def diurnal_frame(result: Any) -> pd.DataFrame | None:
    """The diurnal variance factor of a multiplicative intraday result over one session.

    Columns ``factor``, ``lower``, ``upper`` (bootstrap band, NaN without bootstrap) and ``raw`` (the
    unsmoothed per-slot estimate), indexed by the UTC start times of the slots of the session holding the
    result's last bar (its open from the model's calendar), or by slot number when the calendar gives no
    session there.  ``None`` for a model without a diurnal factor.
    """
    d = getattr(result, "diurnal", None)
    if d is None:
        return None
    from volresearch.data.calendar import get_calendar
    from volresearch.errors import VolresearchError

    n = int(d.n_slots)
    step = pd.Timedelta(seconds=float(d.bar_seconds))
    origin = pd.Timestamp(result.filter_state()["end"])
    origin = origin.tz_localize("UTC") if origin.tz is None else origin
    index: pd.Index
    try:
        sessions = get_calendar(d.calendar).sessions(origin - pd.Timedelta(days=7), origin + pd.Timedelta(days=1))
        opens = pd.to_datetime(sessions["open"], utc=True)
        started = opens[opens <= origin]
        first = pd.Timestamp(started.iloc[-1] if len(started) else opens.iloc[0])
        index = pd.DatetimeIndex([first + i * step for i in range(n)], name="time")
    except (VolresearchError, IndexError, KeyError):  # no session there: slots by number
        index = pd.RangeIndex(n, name="slot")
    return pd.DataFrame(
        {
            "factor": np.asarray(d.factor, dtype=float),
            "lower": np.asarray(d.lower, dtype=float),
            "upper": np.asarray(d.upper, dtype=float),
            "raw": np.asarray(d.raw, dtype=float),
        },
        index=index,
    )
