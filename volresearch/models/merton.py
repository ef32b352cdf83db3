r"""Merton (1976) jump-diffusion: maximum likelihood from returns, immutable result.

Model (annualised, ``x = ln S``)::

    dx = (mu - sigma^2 / 2 - lam k) dt + sigma dW + dJ,   k = e^{mu_j + sigma_j^2 / 2} - 1

``J`` compound Poisson with intensity ``lam`` and log jumps ``N(mu_j, sigma_j^2)``.
Over one bar of ``dt`` years (``dt = year_fraction(bar_seconds, calendar)``)
the log return is a Poisson mixture of normals::

    f(r) = sum_{n >= 0} e^{-lam dt} (lam dt)^n / n!  phi(r; m + n mu_j, sigma^2 dt + n sigma_j^2),
    m = (mu - sigma^2 / 2 - lam k) dt

The sum is cut after ``n_terms`` terms (``n = 0 .. n_terms - 1``).  Every
normal density is at most ``1 / sqrt(2 pi sigma^2 dt)``, so the omitted terms
add at most ``P(N >= n_terms) / sqrt(2 pi sigma^2 dt)`` to ``f`` at every ``r``
(:attr:`MertonFit.truncation_bound`); the result also reports that bound
relative to the smallest fitted density of the sample (``truncation_rel``), a
bound on the relative error of every term of the log-likelihood.

Units of the parameters: ``mu`` per year (expected rate of return of ``S``),
``sigma`` per sqrt(year), ``lambda`` jumps per year, ``mu_j`` and
``sigma_j`` log-return units per jump.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from volresearch._util import jsonable
from volresearch.errors import FitError

__all__ = [
    "MERTON_UNITS",
    "MertonFit",
    "fd_hessian",
    "fit_merton",
    "fit_merton_returns",
    "merton_loglik",
    "merton_logpdf",
    "return_sample",
]

#: Units of the annualised Merton parameters.
MERTON_UNITS = {
    "mu": "1/year (expected rate of return of S)",
    "sigma": "1/sqrt(year)",
    "lambda": "jumps/year",
    "mu_j": "log return per jump",
    "sigma_j": "log return per jump",
}
_NAMES = ("mu", "sigma", "lambda", "mu_j", "sigma_j")


# --------------------------------------------------------------------------- samples
def return_sample(
    data: Any, *, bar_seconds: float | None = None, calendar: str | None = None
) -> tuple[np.ndarray, float, str, float, float, str | None]:
    """Log returns and bar clock of bars, a price Series or an array of prices.

    Returns
    -------
    tuple
        ``(returns, bar_seconds, calendar, dt, last_price, end)``: ``dt`` in years
        from :func:`volresearch.data.calendar.year_fraction`; ``bar_seconds`` and
        ``calendar`` inferred from a DatetimeIndex unless given (daily bars of
        ``us_equity_daily`` without one); ``end`` the ISO time of the last bar.
    """
    from volresearch.data.calendar import infer_bar_seconds, infer_calendar, year_fraction
    from volresearch.models.returns import log_returns, prices_from

    prices = prices_from(data)
    r = log_returns(prices).to_numpy(dtype=float)
    index = prices.index
    end = None
    if isinstance(index, pd.DatetimeIndex) and len(index) > 2:
        end = index[-1].isoformat()
        if bar_seconds is None:
            bar_seconds = infer_bar_seconds(index)
        if calendar is None:
            calendar = infer_calendar(index)[0].name
    bar_seconds = float(bar_seconds or 86_400.0)
    calendar = str(calendar or "us_equity_daily")
    return r, bar_seconds, calendar, year_fraction(bar_seconds, calendar), float(prices.iloc[-1]), end


# --------------------------------------------------------------------------- density
def _n_terms(lam_dt: float, eps: float = 1e-16) -> int:
    """Smallest ``n`` with ``P(N >= n) <= eps`` for ``N ~ Poisson(lam_dt)`` (at least 2)."""
    return max(2, int(stats.poisson.isf(eps, lam_dt)) + 2)


def merton_logpdf(
    r: np.ndarray, dt: float, mu: float, sigma: float, lam: float, mu_j: float, sigma_j: float, n_terms: int
) -> np.ndarray:
    """Log density of one-bar log returns ``r`` (the Poisson sum cut at ``n_terms`` terms; see the module)."""
    r = np.asarray(r, dtype=float)
    lam_dt = lam * dt
    k = math.expm1(mu_j + 0.5 * sigma_j * sigma_j)
    m = (mu - 0.5 * sigma * sigma - lam * k) * dt
    n = np.arange(n_terms, dtype=float)
    logw = -lam_dt + n * math.log(lam_dt) - special.gammaln(n + 1.0) if lam_dt > 0 else np.where(n == 0, 0.0, -np.inf)
    var = sigma * sigma * dt + n * sigma_j * sigma_j
    dev = r[:, None] - (m + n * mu_j)[None, :]
    terms = logw[None, :] - 0.5 * np.log(2.0 * math.pi * var)[None, :] - 0.5 * dev * dev / var[None, :]
    return special.logsumexp(terms, axis=1)


def merton_loglik(r: np.ndarray, dt: float, params: Sequence[float], n_terms: int) -> float:
    """Sum of :func:`merton_logpdf` at ``params = (mu, sigma, lambda, mu_j, sigma_j)``."""
    return float(np.sum(merton_logpdf(r, dt, *params, n_terms=n_terms)))


def fd_hessian(f: Any, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of a scalar function ``f`` at ``x`` with steps ``h``.

    ``H_ii = (f(x + h_i) - 2 f(x) + f(x - h_i)) / h_i^2`` and
    ``H_ij = (f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j)``; error ``O(h^2)``.
    """
    x = np.asarray(x, dtype=float)
    p = x.size
    H = np.empty((p, p))
    f0 = f(x)
    for i in range(p):
        e_i = np.zeros(p)
        e_i[i] = h[i]
        H[i, i] = (f(x + e_i) - 2.0 * f0 + f(x - e_i)) / h[i] ** 2
        for j in range(i):
            e_j = np.zeros(p)
            e_j[j] = h[j]
            H[i, j] = H[j, i] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (
                4.0 * h[i] * h[j]
            )
    return H


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class MertonFit:
    """Immutable Merton maximum-likelihood result (see the module docstring for the model and units).

    Attributes
    ----------
    params, std_errors
        Annualised ``mu, sigma, lambda, mu_j, sigma_j`` and their standard errors (inverse
        finite-difference Hessian of the log-likelihood).
    loglik, nobs
        Maximised log-likelihood and number of returns.
    bar_seconds, calendar, dt
        Bar clock of the sample; ``dt`` in years.
    last_price, end
        Last price and ISO time of the last bar (``nan``/``None`` when unknown).
    n_terms, truncation_bound, truncation_rel
        Terms of the Poisson sum, bound on the omitted density and that bound over the smallest
        fitted density.
    converged, flags
        Optimiser status and warnings.
    """

    params: Mapping[str, float]
    std_errors: Mapping[str, float]
    loglik: float
    nobs: int
    bar_seconds: float = 86_400.0
    calendar: str | None = "us_equity_daily"
    dt: float = 1.0 / 252.0
    last_price: float = float("nan")
    end: str | None = None
    n_terms: int = 0
    truncation_bound: float = float("nan")
    truncation_rel: float = float("nan")
    converged: bool = True
    flags: tuple[str, ...] = ()
    model: str = field(default="merton")

    kernel = "merton"
    dist = "normal"
    units = MERTON_UNITS

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "std_errors", dict(self.std_errors))
        object.__setattr__(self, "flags", tuple(self.flags))

    def simulation_params(self) -> dict[str, float]:
        """Per-bar quantities for the kernel: ``drift`` (log-return units per bar, compensated),
        ``vol`` (``sigma sqrt(dt)``), ``lam_dt``, ``mu_j``, ``sigma_j``, plus the annualised
        parameters and ``dt`` (years) that :func:`~volresearch.simulate.kernels.jumps.simulate_merton` takes."""
        p = self.params
        k = math.expm1(p["mu_j"] + 0.5 * p["sigma_j"] ** 2)
        return {
            "drift": (p["mu"] - 0.5 * p["sigma"] ** 2 - p["lambda"] * k) * self.dt,
            "vol": p["sigma"] * math.sqrt(self.dt),
            "lam_dt": p["lambda"] * self.dt,
            "mu_j": p["mu_j"],
            "sigma_j": p["sigma_j"],
            "dt": self.dt,
            "mu": p["mu"],
            "sigma": p["sigma"],
            "lam": p["lambda"],
        }

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end`` and the (constant) variance of the next bar's log return."""
        p = self.params
        var = p["sigma"] ** 2 * self.dt + p["lambda"] * self.dt * (p["mu_j"] ** 2 + p["sigma_j"] ** 2)
        return {"last_price": self.last_price, "end": self.end, "next_variance": var}

    def summary(self) -> str:
        """Parameter table with standard errors and units."""
        lines = [
            f"Merton jump-diffusion, maximum likelihood  (n = {self.nobs}, loglik = {self.loglik:.3f})",
            f"bar {self.bar_seconds:g} s, calendar {self.calendar}, dt = {self.dt:.6g} years; "
            f"Poisson sum {self.n_terms} terms, density error <= {self.truncation_bound:.2e} "
            f"({self.truncation_rel:.1e} relative)",
            f"{'param':<9}{'estimate':>14}{'std err':>14}  unit",
        ]
        for name in _NAMES:
            lines.append(f"{name:<9}{self.params[name]:>14.6g}{self.std_errors[name]:>14.4g}  {MERTON_UNITS[name]}")
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``kind = "volresearch.MertonFit"``)."""
        return jsonable(
            {
                "kind": "volresearch.MertonFit",
                "model": self.model,
                "params": dict(self.params),
                "std_errors": dict(self.std_errors),
                "units": dict(MERTON_UNITS),
                "loglik": self.loglik,
                "nobs": self.nobs,
                "bar_seconds": self.bar_seconds,
                "calendar": self.calendar,
                "dt": self.dt,
                "last_price": self.last_price,
                "end": self.end,
                "n_terms": self.n_terms,
                "truncation_bound": self.truncation_bound,
                "truncation_rel": self.truncation_rel,
                "converged": self.converged,
                "flags": list(self.flags),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MertonFit:
        """Inverse of :meth:`to_dict`."""

        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        return cls(
            params={k: num(v) for k, v in d["params"].items()},
            std_errors={k: num(v) for k, v in d["std_errors"].items()},
            loglik=num(d["loglik"]),
            nobs=int(d["nobs"]),
            bar_seconds=float(d["bar_seconds"]),
            calendar=d.get("calendar"),
            dt=float(d["dt"]),
            last_price=num(d.get("last_price")),
            end=d.get("end"),
            n_terms=int(d.get("n_terms", 0)),
            truncation_bound=num(d.get("truncation_bound")),
            truncation_rel=num(d.get("truncation_rel")),
            converged=bool(d.get("converged", True)),
            flags=tuple(d.get("flags", ())),
            model=str(d.get("model", "merton")),
        )


# --------------------------------------------------------------------------- estimation
def fit_merton_returns(
    returns: np.ndarray,
    dt: float,
    *,
    bar_seconds: float = 86_400.0,
    calendar: str | None = "us_equity_daily",
    last_price: float = float("nan"),
    end: str | None = None,
    n_terms: int | None = None,
    max_lam_dt: float = 0.5,
) -> MertonFit:
    """Maximum likelihood of the Poisson-normal mixture on one-bar log returns.

    The optimiser (L-BFGS-B with the analytic gradient of the mixture, three starts in ``lam dt``
    and ``sigma_j``) works in scaled per-bar coordinates
    ``(m / s, ln(sigma sqrt(dt) / s), ln(lam dt), mu_j / s, ln(sigma_j / s))`` with ``s`` the
    sample standard deviation; standard errors come from the inverse of the finite-difference
    Hessian of the log-likelihood in the annualised parameters.

    Parameters
    ----------
    returns
        One-bar log returns.
    dt
        Bar length in years.
    n_terms
        Terms of the Poisson sum (default: enough that ``P(N >= n_terms) <= 1e-16`` at
        ``lam dt = max_lam_dt``, the largest intensity the optimiser may reach).
    max_lam_dt
        Upper bound on ``lam dt``.

    Raises
    ------
    FitError
        Fewer than 50 finite returns, or no start converged to a finite likelihood.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    if r.size < 50:
        raise FitError(f"Merton fit needs at least 50 finite returns, got {r.size}")
    s = float(np.std(r))
    if not s > 0:
        raise FitError("Merton fit: returns have zero variance")
    nt = int(n_terms or _n_terms(max_lam_dt))

    def natural(z: np.ndarray) -> tuple[float, float, float, float, float]:
        m_s, lv, llam, mj_s, lsj = z
        sigma = math.exp(lv) * s / math.sqrt(dt)
        lam = math.exp(llam) / dt
        mu_j = mj_s * s
        sigma_j = math.exp(lsj) * s
        k = math.expm1(mu_j + 0.5 * sigma_j**2)
        mu = m_s * s / dt + 0.5 * sigma**2 + lam * k
        return mu, sigma, lam, mu_j, sigma_j

    n = np.arange(nt, dtype=float)
    lg = special.gammaln(n + 1.0)

    def nll(z: np.ndarray) -> tuple[float, np.ndarray]:
        # per-bar mixture: term_tn = ln w_n - ln(2 pi V_n) / 2 - (r - m - n mu_j)^2 / (2 V_n), V_n = a + n b
        m, a, ell, mj, b = z[0] * s, (math.exp(z[1]) * s) ** 2, z[2], z[3] * s, (math.exp(z[4]) * s) ** 2
        var = a + n * b
        dev = r[:, None] - (m + n * mj)[None, :]
        q = dev / var[None, :]
        terms = (-math.exp(ell) + n * ell - lg - 0.5 * np.log(2.0 * math.pi * var))[None, :] - 0.5 * dev * q
        lf = special.logsumexp(terms, axis=1)
        w = np.exp(terms - lf[:, None])
        dv = 0.5 * (q * q - 1.0 / var[None, :])  # d term / d V_n
        g = np.array(
            [
                s * np.sum(w * q),
                2.0 * a * np.sum(w * dv),
                np.sum(w * (n[None, :] - math.exp(ell))),
                s * np.sum(w * q * n[None, :]),
                2.0 * b * np.sum(w * dv * n[None, :]),
            ]
        )
        val = -float(np.sum(lf)) / r.size
        if not math.isfinite(val):
            return 1e10, np.zeros(5)
        return val, -g / r.size

    bounds = [(-5.0, 5.0), (math.log(1e-3), math.log(5.0)), (math.log(1e-6), math.log(max_lam_dt)), (-50.0, 50.0),
              (math.log(1e-2), math.log(100.0))]  # fmt: skip
    best = None
    med = float(np.median(r)) / s
    for lam_dt0, sj0 in ((0.02, 3.0), (0.2, 1.5), (0.005, 6.0)):
        z0 = np.array([med, math.log(0.7), math.log(lam_dt0), 0.0, math.log(sj0)])
        res = optimize.minimize(nll, z0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500})
        if math.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None or best.fun >= 1e10:
        raise FitError("Merton fit: no start reached a finite likelihood")
    theta = np.array(natural(best.x))
    flags: list[str] = []
    z_at_bound = [i for i, (lo, hi) in enumerate(bounds) if min(best.x[i] - lo, hi - best.x[i]) < 1e-6]
    if z_at_bound:
        flags.append("estimate at a bound of " + ", ".join(_NAMES[i] for i in z_at_bound))

    def ll(th: np.ndarray) -> float:
        return merton_loglik(r, dt, th, nt)

    h = 1e-4 * np.maximum(np.abs(theta), np.array([s / math.sqrt(dt), 0.01, 0.1, s, s]))
    H = fd_hessian(ll, theta, h)
    try:
        cov = np.linalg.inv(-H)
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se = np.full(5, np.nan)
    if not np.all(np.isfinite(se)):
        flags.append("Hessian not negative definite: standard errors unavailable")
    mu, sigma, lam, mu_j, sigma_j = theta
    logpdf = merton_logpdf(r, dt, mu, sigma, lam, mu_j, sigma_j, nt)
    tail_mass = float(stats.poisson.sf(nt - 1, lam * dt))
    bound = tail_mass / math.sqrt(2.0 * math.pi * sigma**2 * dt)
    return MertonFit(
        params=dict(zip(_NAMES, map(float, theta), strict=True)),
        std_errors=dict(zip(_NAMES, map(float, se), strict=True)),
        loglik=float(np.sum(logpdf)),
        nobs=int(r.size),
        bar_seconds=float(bar_seconds),
        calendar=calendar,
        dt=float(dt),
        last_price=float(last_price),
        end=end,
        n_terms=nt,
        truncation_bound=bound,
        truncation_rel=bound / float(np.exp(logpdf.min())),
        converged=bool(best.success),
        flags=tuple(flags),
    )


def fit_merton(
    bars: Any, *, bar_seconds: float | None = None, calendar: str | None = None, **options: Any
) -> MertonFit:
    """Fit Merton's jump-diffusion to bars (``close``), a price Series or prices; ``dt`` from the bar calendar.

    ``options`` go to :func:`fit_merton_returns` (``n_terms``, ``max_lam_dt``); options of other
    families (``mean``, ``horizon``) are ignored.
    """
    for key in ("mean", "horizon"):
        options.pop(key, None)
    r, bs, cal, dt, last, end = return_sample(bars, bar_seconds=bar_seconds, calendar=calendar)
    return fit_merton_returns(r, dt, bar_seconds=bs, calendar=cal, last_price=last, end=end, **options)
