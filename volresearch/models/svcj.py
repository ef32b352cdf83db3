r"""SVCJ: Heston with simultaneous, correlated jumps in price and variance (Duffie, Pan and Singleton 2000).

Model (annualised, ``x = ln S``; Eraker, Johannes and Polson 2003 notation)::

    dx = (mu - lam mbar - v / 2) dt + sqrt(v) dW1 + dJ_y
    dv = kappa (theta - v) dt + xi sqrt(v) dW2 + dJ_v,      d<W1, W2> = rho dt

Jumps arrive at rate ``lam`` (per year); at a jump ``v`` moves by
``Z_v ~ Exp(mean mu_v)`` and ``x`` by ``Z_y | Z_v ~ N(mu_y + rho_j Z_v, sigma_y^2)``.
``mbar = E[e^{Z_y}] - 1 = e^{mu_y + sigma_y^2 / 2} / (1 - rho_j mu_v) - 1``
(needs ``rho_j mu_v < 1``) compensates the jumps so that ``mu`` is the
expected rate of return of ``S``.

Units: ``mu``, ``kappa``, ``lambda`` per year; ``theta``, ``v0``, ``mu_v``
variance per year; ``xi`` per sqrt(year); ``mu_y``, ``sigma_y`` log-return
units per jump; ``rho``, ``rho_j`` none (``rho_j`` in log return per unit of
annual variance).

Moments of the integrated log return ``R_T = x_T - x_0``
(:func:`svcj_return_moments`).  Write ``theta* = theta + lam mu_v / kappa``
(the variance jumps raise the long-run mean), ``E v_s = theta* + (v0 - theta*) e^{-kappa s}``
and ``I = int_0^T v_s ds``, so ``E I = theta* T + (v0 - theta*)(1 - e^{-kappa T}) / kappa``.
With the martingale ``dL = xi sqrt(v) dW2 + dJ_v - lam mu_v dt``,
``v_t = E v_t + int_0^t e^{-kappa (t - s)} dL_s`` and, exchanging the integrals,
``I - E I = int_0^T B(s) dL_s`` with ``B(s) = (1 - e^{-kappa (T - s)}) / kappa``.
``R_T = (mu - lam mbar) T - I / 2 + M + J`` with ``M = int sqrt(v) dW1`` and
``J`` the sum of the price jumps, so::

    E R_T   = (mu - lam mbar) T - E I / 2 + lam T (mu_y + rho_j mu_v)
    Var R_T = Var(I) / 4 + Var(M) + Var(J) - Cov(I, M) - Cov(I, J)      (Cov(M, J) = 0)

    Var(M)    = E I                                   (Ito isometry)
    Var(J)    = lam T E[Z_y^2],  E[Z_y^2] = sigma_y^2 + mu_y^2 + 2 mu_y rho_j mu_v + 2 rho_j^2 mu_v^2
    Var(I)    = int_0^T B(s)^2 (xi^2 E v_s + 2 lam mu_v^2) ds      (d[L] = xi^2 v ds + Z_v^2 dN)
    Cov(I, M) = rho xi int_0^T B(s) E v_s ds
    Cov(I, J) = lam (mu_y mu_v + 2 rho_j mu_v^2) int_0^T B(s) ds   (E[Z_v Z_y])

The three integrals are evaluated by quadrature.  ``lam = 0`` gives Heston.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import integrate

from volresearch.models.heston import HESTON_UNITS, SVResult, check_sv_fit

__all__ = [
    "SVCJ_AGG_BARS",
    "SVCJ_UNITS",
    "SVCJResult",
    "fit_svcj_smm",
    "svcj_mbar",
    "svcj_moments",
    "svcj_return_moments",
]

#: Units of the annualised SVCJ parameters.
SVCJ_UNITS = {
    **HESTON_UNITS,
    "lambda": "jumps/year",
    "mu_y": "log return per jump",
    "sigma_y": "log return per jump",
    "mu_v": "variance/year per jump",
    "rho_j": "log return per unit of variance/year",
}


def svcj_mbar(mu_y: float, sigma_y: float, mu_v: float, rho_j: float) -> float:
    """``E[e^{Z_y}] - 1 = e^{mu_y + sigma_y^2/2} / (1 - rho_j mu_v) - 1`` (needs ``rho_j mu_v < 1``)."""
    if rho_j * mu_v >= 1.0:
        raise ValueError("E[exp(Z_y)] is infinite for rho_j mu_v >= 1")
    return math.exp(mu_y + 0.5 * sigma_y * sigma_y) / (1.0 - rho_j * mu_v) - 1.0


def svcj_return_moments(
    T: float,
    *,
    mu: float,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    v0: float,
    lam: float = 0.0,
    mu_y: float = 0.0,
    sigma_y: float = 0.0,
    mu_v: float = 0.0,
    rho_j: float = 0.0,
) -> tuple[float, float]:
    """Mean and variance of ``ln(S_T / S_0)`` under SVCJ (derivation in the module docstring).

    Parameters as in the module (annualised); ``T`` in years.
    """
    th_s = theta + lam * mu_v / kappa
    d = v0 - th_s

    def ev(s: float) -> float:
        return th_s + d * math.exp(-kappa * s)

    def b(s: float) -> float:
        return -math.expm1(-kappa * (T - s)) / kappa

    e_i = th_s * T - d * math.expm1(-kappa * T) / kappa
    mbar = svcj_mbar(mu_y, sigma_y, mu_v, rho_j) if lam > 0 else 0.0
    mean = (mu - lam * mbar) * T - 0.5 * e_i + lam * T * (mu_y + rho_j * mu_v)

    def quad(f: object) -> float:
        return float(integrate.quad(f, 0.0, T, epsabs=0.0, epsrel=1e-11, limit=200)[0])  # type: ignore[arg-type]

    var_i = quad(lambda s: b(s) ** 2 * (xi * xi * ev(s) + 2.0 * lam * mu_v * mu_v))
    cov_im = rho * xi * quad(lambda s: b(s) * ev(s))
    int_b = (T + math.expm1(-kappa * T) / kappa) / kappa
    cov_ij = lam * (mu_y * mu_v + 2.0 * rho_j * mu_v * mu_v) * int_b
    ez2 = sigma_y**2 + mu_y**2 + 2.0 * mu_y * rho_j * mu_v + 2.0 * rho_j**2 * mu_v**2
    var = 0.25 * var_i + e_i + lam * T * ez2 - cov_im - cov_ij
    return mean, var


@dataclass(frozen=True)
class SVCJResult(SVResult):
    """SVCJ result: Heston parameters plus ``lambda, mu_y, sigma_y, mu_v, rho_j`` (units in :data:`SVCJ_UNITS`)."""

    KIND: ClassVar[str] = "volresearch.SVCJResult"
    NAMES: ClassVar[tuple[str, ...]] = tuple(SVCJ_UNITS)
    units: ClassVar[dict[str, str]] = SVCJ_UNITS
    model: ClassVar[str] = "svcj"
    kernel: ClassVar[str] = "svcj"

    def simulation_params(self) -> dict[str, float]:
        """Annualised parameters, ``lam`` (= ``lambda``, the kernel's keyword) and ``dt`` (years per bar)."""
        out = super().simulation_params()
        out["lam"] = out["lambda"]
        return out

    def filter_state(self) -> dict[str, object]:
        """As :meth:`SVResult.filter_state`, ``next_variance`` including the expected jump variance of one bar."""
        st = super().filter_state()
        p = self.params
        ez2 = p["sigma_y"] ** 2 + (p["mu_y"] + p["rho_j"] * p["mu_v"]) ** 2 + (p["rho_j"] * p["mu_v"]) ** 2
        st["next_variance"] = float(st["next_variance"]) + p["lambda"] * self.dt * ez2
        return st


# --------------------------------------------------------------------------- simulated method of moments
#: Horizons (bars) of the non-overlapping sums whose skewness and kurtosis :func:`svcj_moments` adds.
SVCJ_AGG_BARS = (5, 20)
_SVCJ_FREE = ("kappa", "theta", "xi", "rho", "lambda", "mu_y", "sigma_y", "mu_v")


def _std_moments(x: np.ndarray) -> tuple[float, float]:
    d = x - x.mean(axis=0)
    var = np.mean(d * d, axis=0)
    return float(np.mean(np.mean(d**3, axis=0) / var**1.5)), float(np.mean(np.mean(d**4, axis=0) / var**2))


def svcj_moments(r: np.ndarray, dt: float) -> np.ndarray:
    """The Heston moment set (:func:`volresearch.models.heston.return_moments`) plus what identifies jumps.

    Appended, in order: the skewness of one-bar returns, then for each horizon of :data:`SVCJ_AGG_BARS` the
    skewness and kurtosis of non-overlapping sums of that many bars (jumps make one-bar returns fat-tailed
    and skewed in a way that fades with aggregation faster than stochastic volatility's).
    """
    from volresearch.models.heston import return_moments

    r = np.asarray(r, dtype=float)
    r2 = r[:, None] if r.ndim == 1 else r
    out = list(return_moments(r2, dt))
    out.append(_std_moments(r2)[0])
    for k in SVCJ_AGG_BARS:
        n = (r2.shape[0] // k) * k
        agg = r2[:n].reshape(n // k, k, r2.shape[1]).sum(axis=1)
        out.extend(_std_moments(agg))
    return np.asarray(out)


def fit_svcj_smm(
    data: Any,
    *,
    simulate_returns: Callable[..., np.ndarray],
    bar_seconds: float | None = None,
    calendar: str | None = None,
    sim_paths: int = 20,
    seed: int = 0,
    block: int = 50,
    bootstrap_reps: int = 200,
    rho_j: float = 0.0,
    maxiter: int = 2000,
    **_: Any,
) -> SVCJResult:
    r"""SVCJ by simulated method of moments on one-bar log returns (``dt`` from the bar calendar).

    Moments: :func:`svcj_moments` (14: the Heston set, one-bar skewness, skewness and kurtosis of 5- and
    20-bar sums).  Estimated: ``kappa, theta, xi, rho, lambda, mu_y, sigma_y, mu_v`` in
    ``(ln, ln, ln, atanh(. / 0.99), ln, identity, ln, ln)`` coordinates, Nelder-Mead from one start
    (``theta`` 70% of the sample variance per year, two jumps a year of mean -3% and sd 4%, variance jumps of
    mean 0.02); ``rho_j`` (the loading of the price jump on the variance jump) is held at ``rho_j``
    (default 0: return moments barely identify it; Eraker, Johannes and Polson 2003 report it insignificant).
    Engine, weights and sandwich standard errors as :func:`volresearch.models.smm.smm_estimate`.  ``mu`` is the
    moment estimate that matches the sample mean; ``v0`` the mean of the last 20 squared demeaned returns
    over ``dt`` (the registry replaces it by the particle-filtered variance).

    Raises
    ------
    FitError
        Fewer than 1,000 returns, or an absurd fit (:func:`volresearch.models.heston.check_sv_fit`: long-run
        variance far from the sample's, or a variance half-life longer than half the sample).
    """
    from volresearch.errors import FitError
    from volresearch.models.merton import return_sample
    from volresearch.models.smm import smm_estimate

    r, bs, cal, dt, last, end = return_sample(data, bar_seconds=bar_seconds, calendar=calendar)
    r = r[np.isfinite(r)]
    if r.size < 1000:
        raise FitError(f"SVCJ moment fit needs at least 1,000 returns, got {r.size}", reason="too_few")
    var_year = float(np.var(r) / dt)
    rho_max = 0.99

    def params_of(z: np.ndarray) -> dict[str, float]:
        return {"mu": 0.0, "kappa": math.exp(z[0]), "theta": math.exp(z[1]), "xi": math.exp(z[2]),
                "rho": rho_max * math.tanh(z[3]), "lam": math.exp(z[4]), "lambda": math.exp(z[4]),
                "mu_y": float(z[5]), "sigma_y": math.exp(z[6]), "mu_v": math.exp(z[7]), "rho_j": float(rho_j)}  # fmt: skip

    def jacobian(z: np.ndarray) -> np.ndarray:
        e = np.exp(z)
        return np.array([e[0], e[1], e[2], rho_max * (1.0 - math.tanh(z[3]) ** 2), e[4], 1.0, e[6], e[7]])

    start = np.array([math.log(3.0), math.log(0.7 * var_year), math.log(0.4), math.atanh(-0.5), math.log(2.0),
                      -0.03, math.log(0.04), math.log(0.02)])  # fmt: skip
    fit = smm_estimate(
        r, dt, names=_SVCJ_FREE, to_params=params_of, jacobian=jacobian, starts=[start], moments=svcj_moments,
        simulate_returns=simulate_returns, sim_paths=sim_paths, seed=seed, block=block,
        bootstrap_reps=bootstrap_reps, maxiter=maxiter,
    )  # fmt: skip
    est = dict(fit.params)
    check_sv_fit(est, r, dt, "SVCJ")
    flags = list(fit.flags)
    if abs(est["rho"]) > 0.98 * rho_max:
        flags.append(f"rho at its bound (|rho| <= {rho_max})")
    lam = est["lambda"]
    mbar = svcj_mbar(est["mu_y"], est["sigma_y"], est["mu_v"], rho_j)
    ev = est["theta"] + lam * est["mu_v"] / est["kappa"]
    mu = float(np.mean(r) / dt + 0.5 * ev + lam * mbar - lam * (est["mu_y"] + rho_j * est["mu_v"]))
    d = r - r.mean()
    params = {"mu": mu, **{k: est[k] for k in ("kappa", "theta", "xi", "rho")}, "v0": float(np.mean(d[-20:] ** 2) / dt),
              "lambda": lam, "mu_y": est["mu_y"], "sigma_y": est["sigma_y"], "mu_v": est["mu_v"], "rho_j": float(rho_j)}  # fmt: skip
    nan = float("nan")
    std_errors = {"mu": float(np.std(r) / math.sqrt(r.size) / dt), **fit.std_errors, "v0": nan, "rho_j": nan}
    return SVCJResult(
        params=params,
        std_errors=std_errors,
        method="smm",
        bar_seconds=bs,
        calendar=cal,
        dt=dt,
        last_price=last,
        end=end,
        nobs=int(r.size),
        objective=fit.objective,
        diagnostics={
            "moments": "heston set + skew_1 + (skew, kurt) of sums over " + ", ".join(map(str, SVCJ_AGG_BARS)),
            "data_moments": fit.data_moments.tolist(),
            "fitted_moments": fit.fitted_moments.tolist(),
            "moment_se": fit.moment_se.tolist(),
            "sim_paths": sim_paths,
            "seed": seed,
            "block": block,
            "rho_j_fixed": float(rho_j),
            "evaluations": fit.evaluations,
        },
        flags=tuple(flags),
    )
