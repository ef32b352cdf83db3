r"""Heston stochastic volatility: immutable result, Feller diagnostic, analytic return moments.

Model (annualised, ``x = ln S``)::

    dx = (mu - v / 2) dt + sqrt(v) dW1
    dv = kappa (theta - v) dt + xi sqrt(v) dW2,        d<W1, W2> = rho dt

Units: ``mu`` per year (expected rate of return of ``S``), ``kappa`` per year,
``theta`` and ``v0`` variance per year (``sqrt(theta)`` is an annualised
volatility), ``xi`` per sqrt(year) (volatility of variance), ``rho`` none.
``dt`` of a bar is ``year_fraction(bar_seconds, calendar)``.

Feller: ``2 kappa theta / xi^2 >= 1`` keeps ``v`` away from zero; below it
``v`` touches zero (the QE scheme of :mod:`volresearch.simulate.kernels.heston`
handles both), and the result carries a flag.

The path kernel (Andersen's QE scheme, with the correlation in the log-price
step) is :func:`volresearch.simulate.kernels.heston.simulate_sv`; this module
imports nothing from :mod:`volresearch.simulate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from volresearch._util import jsonable

__all__ = [
    "HESTON_UNITS",
    "SMM_ACF_LAGS",
    "SMM_LEVERAGE_LAGS",
    "SV_MAX_HALF_LIFE_SHARE",
    "SV_VARIANCE_RATIO_BOUNDS",
    "HestonResult",
    "SVResult",
    "check_sv_fit",
    "feller_ratio",
    "fit_heston_smm",
    "heston_return_moments",
    "return_moments",
    "sv_long_run_variance",
]

#: Units of the annualised Heston parameters.
HESTON_UNITS = {
    "mu": "1/year (expected rate of return of S)",
    "kappa": "1/year",
    "theta": "variance/year",
    "xi": "1/sqrt(year) (volatility of variance)",
    "rho": "-",
    "v0": "variance/year",
}


def feller_ratio(kappa: float, theta: float, xi: float) -> float:
    """``2 kappa theta / xi^2``: at least 1 when the variance cannot reach zero (Feller condition)."""
    return 2.0 * kappa * theta / (xi * xi)


#: Accepted range of the model's long-run return variance over the sample's (outside it the fitted level is off
#: by more than a factor of 2 in volatility, the same rule as the intraday model's).
SV_VARIANCE_RATIO_BOUNDS = (0.25, 4.0)
#: Longest accepted variance half-life ``ln 2 / kappa`` as a share of the sample's length in years.
SV_MAX_HALF_LIFE_SHARE = 0.5


def sv_long_run_variance(params: Mapping[str, float]) -> float:
    """Long-run variance of log returns per year of Heston/SVCJ parameters (variance/year).

    ``theta + lambda mu_v / kappa`` (the mean of ``v``, raised by variance jumps) plus the price-jump variance
    ``lambda E[Z_y^2] = lambda (sigma_y^2 + rho_j^2 mu_v^2 + (mu_y + rho_j mu_v)^2)``; Heston: ``theta``.  Infinite when ``kappa <= 0`` (no stationary level).
    """
    kappa = float(params["kappa"])
    lam = float(params.get("lambda", params.get("lam", 0.0)))
    mu_v = float(params.get("mu_v", 0.0))
    rho_j = float(params.get("rho_j", 0.0))
    mean_y = float(params.get("mu_y", 0.0)) + rho_j * mu_v
    ez2 = float(params.get("sigma_y", 0.0)) ** 2 + (rho_j * mu_v) ** 2 + mean_y**2
    if kappa <= 0:
        return math.inf
    return float(params["theta"]) + lam * mu_v / kappa + lam * ez2


def check_sv_fit(params: Mapping[str, float], r: np.ndarray, dt: float, model: str) -> None:
    """Reject an absurd stochastic-volatility fit (raise :class:`~volresearch.errors.FitError`, reason ``checks``).

    The model's long-run variance of returns per year, ``theta + lambda mu_v / kappa`` plus the price-jump
    variance ``lambda E[Z_y^2]`` (Heston: ``theta``), must lie within :data:`SV_VARIANCE_RATIO_BOUNDS` times the
    sample's, and the variance half-life ``ln 2 / kappa`` within :data:`SV_MAX_HALF_LIFE_SHARE` of the sample's
    length (a slower variance is not identified by the sample and its long-run level is arbitrary).
    """
    from volresearch.errors import FitError

    kappa = float(params["kappa"])
    long_run = sv_long_run_variance(params)
    sample = float(np.var(r) / dt)
    ratio = long_run / sample if sample > 0 else math.inf
    years = r.size * dt
    half_life = math.log(2.0) / kappa if kappa > 0 else math.inf
    lo, hi = SV_VARIANCE_RATIO_BOUNDS
    problems = []
    if not lo <= ratio <= hi:
        problems.append(f"long-run variance {long_run:.3g}/year is {ratio:.3g} times the sample's {sample:.3g} "
                        f"(accepted {lo:g}..{hi:g})")  # fmt: skip
    if half_life > SV_MAX_HALF_LIFE_SHARE * years:
        problems.append(f"variance half-life {half_life:.3g} years exceeds half the {years:.3g}-year sample "
                        f"(kappa {kappa:.3g}/year)")  # fmt: skip
    if problems:
        raise FitError(f"{model} fit rejected: " + "; ".join(problems), reason="checks")


def heston_return_moments(
    T: float, mu: float, kappa: float, theta: float, xi: float, rho: float, v0: float
) -> tuple[float, float]:
    """Mean and variance of ``ln(S_T / S_0)`` under Heston (the SVCJ formula with no jumps).

    See :func:`volresearch.models.svcj.svcj_return_moments` for the derivation.
    """
    from volresearch.models.svcj import svcj_return_moments

    return svcj_return_moments(T, mu=mu, kappa=kappa, theta=theta, xi=xi, rho=rho, v0=v0)


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class SVResult:
    """Immutable stochastic-volatility result (parameters, units, standard errors, bar clock, state).

    Attributes
    ----------
    params, std_errors
        Annualised parameters (see :attr:`units`) and their standard errors (NaN when not estimated).
    method
        How the parameters were obtained (``"given"``, ``"smm"``...).
    bar_seconds, calendar, dt
        Bar clock; ``dt`` in years.
    last_price, end
        Last price and ISO time of the last bar (``nan``/``None`` when unknown).
    nobs, objective, diagnostics
        Sample size, final objective value and method-specific diagnostics (JSON-safe).
    flags
        Warnings every surface showing the result must show.
    """

    params: Mapping[str, float]
    std_errors: Mapping[str, float] = field(default_factory=dict)
    method: str = "given"
    bar_seconds: float = 86_400.0
    calendar: str | None = "us_equity_daily"
    dt: float = 1.0 / 252.0
    last_price: float = float("nan")
    end: str | None = None
    nobs: int = 0
    objective: float = float("nan")
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    KIND: ClassVar[str] = "volresearch.SVResult"
    NAMES: ClassVar[tuple[str, ...]] = tuple(HESTON_UNITS)
    units: ClassVar[dict[str, str]] = HESTON_UNITS
    model: ClassVar[str] = "heston"
    kernel: ClassVar[str] = "heston"
    dist: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        params = {k: float(self.params[k]) for k in self.NAMES}
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "std_errors", {k: _num(self.std_errors.get(k)) for k in self.NAMES})
        object.__setattr__(self, "diagnostics", dict(self.diagnostics))
        flags = list(self.flags)
        note = self._feller_flag()
        if note and note not in flags:
            flags.append(note)
        object.__setattr__(self, "flags", tuple(flags))

    def _feller_flag(self) -> str | None:
        f = self.feller
        if f < 1.0:
            return f"Feller ratio 2 kappa theta / xi^2 = {f:.3g} < 1: the variance reaches zero"
        return None

    @property
    def feller(self) -> float:
        """``2 kappa theta / xi^2`` (see :func:`feller_ratio`)."""
        p = self.params
        return feller_ratio(p["kappa"], p["theta"], p["xi"])

    @classmethod
    def from_params(cls, **kw: Any) -> SVResult:
        """Result from given annualised parameters (``method="given"``); other fields by keyword."""
        params = {k: kw.pop(k) for k in cls.NAMES}
        return cls(params=params, **kw)

    def simulation_params(self) -> dict[str, float]:
        """Annualised parameters and ``dt`` (years per bar), as :func:`~volresearch.simulate.kernels.heston.simulate_sv`
        takes them (continuous-time models keep annualised units; the kernel applies ``dt``)."""
        out = dict(self.params)
        out["dt"] = self.dt
        return out

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end``, the current variance ``v`` (1/year) and ``next_variance`` of the next bar's
        log return (``E[int v] `` over one bar, log-return units)."""
        p = self.params
        e = math.exp(-p["kappa"] * self.dt)
        iv = p["theta"] * self.dt + (p["v0"] - p["theta"]) * (1.0 - e) / p["kappa"]
        return {"last_price": self.last_price, "end": self.end, "v": p["v0"], "next_variance": iv}

    def summary(self) -> str:
        """Parameter table with standard errors and units."""
        lines = [
            f"{self.model.upper()} ({self.method})  n = {self.nobs}, bar {self.bar_seconds:g} s, "
            f"calendar {self.calendar}, dt = {self.dt:.6g} years, Feller ratio {self.feller:.3g}",
            f"{'param':<9}{'estimate':>14}{'std err':>14}  unit",
        ]
        for name in self.NAMES:
            lines.append(f"{name:<9}{self.params[name]:>14.6g}{self.std_errors[name]:>14.4g}  {self.units[name]}")
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with ``kind``."""
        return jsonable(
            {
                "kind": self.KIND,
                "model": self.model,
                "params": dict(self.params),
                "std_errors": dict(self.std_errors),
                "units": dict(self.units),
                "method": self.method,
                "bar_seconds": self.bar_seconds,
                "calendar": self.calendar,
                "dt": self.dt,
                "last_price": self.last_price,
                "end": self.end,
                "nobs": self.nobs,
                "objective": self.objective,
                "diagnostics": dict(self.diagnostics),
                "flags": list(self.flags),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SVResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            params={k: _num(v) for k, v in d["params"].items()},
            std_errors={k: _num(v) for k, v in d.get("std_errors", {}).items()},
            method=str(d.get("method", "given")),
            bar_seconds=float(d["bar_seconds"]),
            calendar=d.get("calendar"),
            dt=float(d["dt"]),
            last_price=_num(d.get("last_price")),
            end=d.get("end"),
            nobs=int(d.get("nobs", 0)),
            objective=_num(d.get("objective")),
            diagnostics=dict(d.get("diagnostics", {})),
            flags=tuple(d.get("flags", ())),
        )


@dataclass(frozen=True)
class HestonResult(SVResult):
    """Heston result (parameters ``mu, kappa, theta, xi, rho, v0``; units in :data:`HESTON_UNITS`)."""

    KIND: ClassVar[str] = "volresearch.HestonResult"


# --------------------------------------------------------------------------- simulated method of moments
#: Lags of the autocorrelation of squared returns matched by :func:`fit_heston_smm`.
SMM_ACF_LAGS = (1, 5, 10, 25, 50)
#: Windows ``(a, b)`` of the leverage correlations ``corr(r_t, sum_{k=a..b} r_{t+k}^2)`` matched by
#: :func:`fit_heston_smm` (sums over windows average out the noise of single lags).
SMM_LEVERAGE_LAGS = ((1, 1), (2, 5), (6, 20))
_SMM_NAMES = ("kappa", "theta", "xi", "rho")
_RHO_MAX = 0.99


def return_moments(r: np.ndarray, dt: float) -> np.ndarray:
    """The documented moment set of one-bar log returns (columns of ``r`` averaged when 2-d).

    In order: annualised variance ``var(r) / dt``; kurtosis ``E[d^4] / var^2`` (``d = r - mean``);
    the autocorrelation of ``d^2`` at :data:`SMM_ACF_LAGS`; the leverage correlations
    ``corr(d_t, sum_{k=a..b} (d_{t+k}^2 - var))`` for the windows of :data:`SMM_LEVERAGE_LAGS`.
    """
    r = np.asarray(r, dtype=float)
    if r.ndim == 1:
        r = r[:, None]
    d = r - r.mean(axis=0)
    var = np.mean(d * d, axis=0)
    out = [var / dt, np.mean(d**4, axis=0) / var**2]
    s = d * d - var
    s_var = np.mean(s * s, axis=0)
    for k in SMM_ACF_LAGS:
        out.append(np.mean(s[:-k] * s[k:], axis=0) / s_var)
    cs = np.vstack([np.zeros((1, s.shape[1])), np.cumsum(s, axis=0)])
    n = d.shape[0]
    for a, b in SMM_LEVERAGE_LAGS:
        w = cs[b + 1 :] - cs[a : n - b + a]  # sum_{k=a..b} s_{t+k} for t = 0 .. n - b - 1
        dd = d[: n - b]
        out.append(np.mean(dd * w, axis=0) / np.sqrt(np.mean(dd * dd, axis=0) * np.mean(w * w, axis=0)))
    return np.array([np.mean(o) for o in out])


def fit_heston_smm(
    data: Any,
    *,
    simulate_returns: Callable[..., np.ndarray],
    bar_seconds: float | None = None,
    calendar: str | None = None,
    sim_paths: int = 20,
    seed: int = 0,
    block: int = 50,
    bootstrap_reps: int = 200,
    starts: tuple[tuple[float, float], ...] = ((2.0, 0.3), (6.0, 0.6)),
    **_: Any,
) -> HestonResult:
    r"""Heston by simulated method of moments on one-bar log returns (``dt`` from the bar calendar).

    Moments (:func:`return_moments`): annualised variance, kurtosis, ACF of squared returns at lags
    1, 5, 10, 25, 50 and leverage correlations with the sums of squared returns 1, 2-5 and 6-20 bars ahead.  Simulated moments come from
    ``sim_paths`` stationary paths as long as the sample (so finite-sample biases of the ACF match),
    with common random numbers (fixed ``seed``) across parameter sets.  Objective
    ``g' W g``, ``g = m_sim(theta) - m_data``, ``W = diag(1 / Omega_ii)`` with ``Omega`` the
    moving-block bootstrap covariance of the data moments (blocks of ``block`` bars).
    Nelder-Mead in ``(ln kappa, ln theta, ln xi, atanh(rho / 0.99))`` from each start ``(kappa, xi)``
    (``theta`` starts at the sample variance, ``rho`` at -0.5); the best is kept.

    Standard errors: the sandwich ``(1 + 1/S) (G'WG)^{-1} G'W Omega W G (G'WG)^{-1}`` with ``G`` the
    finite-difference Jacobian of the simulated moments and ``S = sim_paths``.  ``mu`` is the method
    of moments estimate ``mean(r) / dt + theta / 2`` (standard error from the sample).  ``v0`` (the
    variance at the end of the sample) is the mean of the last 20 squared demeaned returns over ``dt``,
    a rough state for starting paths, not an estimate of a parameter.

    Parameters
    ----------
    data
        Bars (``close``), a price Series or prices.
    simulate_returns
        ``simulate_returns(params, n_paths, n_steps, dt, seed) -> (n_steps, n_paths)`` stationary one-bar
        log returns (the registry passes
        :func:`volresearch.simulate.kernels.heston.stationary_sv_returns`; models do not import kernels).

    Raises
    ------
    FitError
        Fewer than 500 returns, or an absurd fit (:func:`check_sv_fit`).
    """
    from volresearch.errors import FitError
    from volresearch.models.merton import return_sample
    from volresearch.models.smm import smm_estimate

    r, bs, cal, dt, last, end = return_sample(data, bar_seconds=bar_seconds, calendar=calendar)
    r = r[np.isfinite(r)]
    if r.size < 500:
        raise FitError(f"Heston moment fit needs at least 500 returns, got {r.size}")
    n = r.size
    var_year = float(np.var(r) / dt)

    def params_of(z: np.ndarray) -> dict[str, float]:
        return {"mu": 0.0, "kappa": math.exp(z[0]), "theta": math.exp(z[1]), "xi": math.exp(z[2]),
                "rho": _RHO_MAX * math.tanh(z[3])}  # fmt: skip

    def jacobian(z: np.ndarray) -> np.ndarray:  # d natural / d z
        return np.array([math.exp(z[0]), math.exp(z[1]), math.exp(z[2]), _RHO_MAX * (1.0 - math.tanh(z[3]) ** 2)])

    fit = smm_estimate(
        r, dt, names=_SMM_NAMES, to_params=params_of, jacobian=jacobian,
        starts=[np.array([math.log(k0), math.log(var_year), math.log(x0), math.atanh(-0.5)]) for k0, x0 in starts],
        moments=return_moments, simulate_returns=simulate_returns, sim_paths=sim_paths, seed=seed, block=block,
        bootstrap_reps=bootstrap_reps,
    )  # fmt: skip
    est = fit.params
    check_sv_fit(est, r, dt, "Heston")
    flags = list(fit.flags)
    if abs(est["rho"]) > 0.98 * _RHO_MAX:
        flags.append(f"rho at its bound (|rho| <= {_RHO_MAX})")
    mu = float(np.mean(r) / dt + 0.5 * est["theta"])
    se_mu = float(np.std(r) / math.sqrt(n) / dt)
    d = r - r.mean()
    v0 = float(np.mean(d[-20:] ** 2) / dt)
    params = {"mu": mu, **{k: est[k] for k in _SMM_NAMES}, "v0": v0}
    std_errors = {"mu": se_mu, **fit.std_errors, "v0": float("nan")}
    return HestonResult(
        params=params,
        std_errors=std_errors,
        method="smm",
        bar_seconds=bs,
        calendar=cal,
        dt=dt,
        last_price=last,
        end=end,
        nobs=n,
        objective=fit.objective,
        diagnostics={
            "moments": [
                "variance/year",
                "kurtosis",
                *[f"acf_r2_{k}" for k in SMM_ACF_LAGS],
                *[f"leverage_{a}_{b}" for a, b in SMM_LEVERAGE_LAGS],
            ],  # fmt: skip
            "data_moments": fit.data_moments.tolist(),
            "fitted_moments": fit.fitted_moments.tolist(),
            "moment_se": fit.moment_se.tolist(),
            "sim_paths": sim_paths,
            "seed": seed,
            "block": block,
        },
        flags=tuple(flags),
    )
