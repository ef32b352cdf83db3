r"""European option prices from characteristic functions (references for the simulators).

Units: annualised parameters, maturity ``T`` in years, rates ``r`` and ``q``
continuously compounded per year, variances per year, jump sizes in
log-return units, intensities per year.

Two integration routes, so that each checks the other:

* **Gil-Pelaez** (Heston 1993 form):
  ``C = S e^{-qT} P_1 - K e^{-rT} P_2`` with
  ``P_2 = 1/2 + (1/pi) int_0^inf Re[e^{-iu ln K} phi(u) / (iu)] du`` and
  ``P_1 = 1/2 + (1/pi) int_0^inf Re[e^{-iu ln K} phi(u - i) / (iu phi(-i))] du``,
  ``phi`` the characteristic function of ``ln S_T``.
* **Lewis** (2001), one integral along ``Im u = -1/2``:
  ``C = S e^{-qT} - sqrt(S K) e^{-(r+q)T/2} (1/pi)
  int_0^inf Re[e^{iu k} psi(u - i/2)] / (u^2 + 1/4) du``,
  ``k = ln(F/K)``, ``F = S e^{(r-q)T}``, ``psi`` the characteristic function of
  ``ln(S_T / F)``.

Characteristic functions:

* Heston, in the "little Heston trap" form (Albrecher, Mayer, Schoutens and
  Tistaert 2007), continuous in ``u`` for long maturities::

      d = sqrt((rho xi iu - kappa)^2 + xi^2 (iu + u^2))
      g = (kappa - rho xi iu - d) / (kappa - rho xi iu + d)
      C = kappa theta / xi^2 [(kappa - rho xi iu - d) T - 2 ln((1 - g e^{-dT}) / (1 - g))]
      D = (kappa - rho xi iu - d) / xi^2 (1 - e^{-dT}) / (1 - g e^{-dT})
      psi(u) = exp(C + D v0)

* Merton (1976): ``psi(u) = exp(T [-(iu + u^2) s^2 / 2 + l (e^{iu mJ - u^2 sJ^2/2} - 1 - iu k)])``,
  ``k = e^{mJ + sJ^2/2} - 1``.

:func:`merton_call_series` is Merton's own series (a Poisson mixture of
Black-Scholes prices), a third, integration-free route.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate, stats

__all__ = [
    "black_scholes_call",
    "cf_call_gil_pelaez",
    "cf_call_lewis",
    "heston_call",
    "heston_cf",
    "merton_call",
    "merton_call_series",
    "merton_cf",
]

CF = Callable[[np.ndarray | complex], np.ndarray | complex]


def black_scholes_call(S: float, K: float, T: float, sigma: float, r: float = 0.0, q: float = 0.0) -> float:
    r"""Black-Scholes call ``S e^{-qT} N(d1) - K e^{-rT} N(d2)``, ``d1,2 = (ln(F/K) +- sigma^2 T / 2) / (sigma sqrt T)``.

    ``sigma`` per sqrt(year), ``T`` in years.
    """
    if sigma <= 0.0 or T <= 0.0:
        return max(S * math.exp(-q * T) - K * math.exp(-r * T), 0.0)
    F = S * math.exp((r - q) * T)
    sd = sigma * math.sqrt(T)
    d1 = (math.log(F / K) + 0.5 * sd * sd) / sd
    return math.exp(-r * T) * (F * stats.norm.cdf(d1) - K * stats.norm.cdf(d1 - sd))


def heston_cf(
    u: np.ndarray | complex, T: float, kappa: float, theta: float, xi: float, rho: float, v0: float
) -> np.ndarray | complex:
    """Characteristic function ``E[exp(iu ln(S_T / F))]`` of the Heston model (little Heston trap form).

    Parameters
    ----------
    u
        Argument (complex allowed).
    T
        Maturity in years.
    kappa, theta, xi, rho, v0
        Mean reversion (1/year), long-run variance (1/year), volatility of
        variance (1/sqrt(year)), correlation (-), initial variance (1/year).
    """
    u = np.asarray(u, dtype=complex)
    iu = 1j * u
    beta = kappa - rho * xi * iu
    d = np.sqrt(beta * beta + xi * xi * (iu + u * u))
    g = (beta - d) / (beta + d)
    e = np.exp(-d * T)
    C = kappa * theta / xi**2 * ((beta - d) * T - 2.0 * np.log((1.0 - g * e) / (1.0 - g)))
    D = (beta - d) / xi**2 * (1.0 - e) / (1.0 - g * e)
    return np.exp(C + D * v0)


def merton_cf(
    u: np.ndarray | complex, T: float, sigma: float, lam: float, mu_j: float, sigma_j: float
) -> np.ndarray | complex:
    """Characteristic function ``E[exp(iu ln(S_T / F))]`` of Merton's jump-diffusion.

    ``sigma`` per sqrt(year), ``lam`` jumps per year, ``mu_j``/``sigma_j`` mean and
    standard deviation of a log jump.
    """
    u = np.asarray(u, dtype=complex)
    iu = 1j * u
    k = math.exp(mu_j + 0.5 * sigma_j**2) - 1.0
    return np.exp(
        T * (-0.5 * (iu + u * u) * sigma**2 + lam * (np.exp(iu * mu_j - 0.5 * u * u * sigma_j**2) - 1.0 - iu * k))
    )


def _quad(f: Callable[[float], float], upper: float = np.inf) -> float:
    with warnings.catch_warnings():  # roundoff notices at the 1e-12 absolute target, far below what is used
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(f, 0.0, upper, limit=2000, epsabs=1e-12, epsrel=1e-10)
    return float(val)


def cf_call_lewis(psi: CF, S: float, K: float, T: float, r: float = 0.0, q: float = 0.0) -> float:
    """Call price by Lewis's single integral (see the module docstring); ``psi`` of ``ln(S_T / F)``."""
    F = S * math.exp((r - q) * T)
    k = math.log(F / K)

    def f(u: float) -> float:
        return float((np.exp(1j * u * k) * psi(u - 0.5j)).real / (u * u + 0.25))

    return S * math.exp(-q * T) - math.sqrt(S * K) * math.exp(-(r + q) * T / 2.0) / math.pi * _quad(f)


def cf_call_gil_pelaez(psi: CF, S: float, K: float, T: float, r: float = 0.0, q: float = 0.0) -> float:
    """Call price by the two Gil-Pelaez probabilities (see the module docstring); ``psi`` of ``ln(S_T / F)``."""
    F = S * math.exp((r - q) * T)
    x = math.log(F / K)  # phi(u) e^{-iu ln K} = psi(u) e^{iu x}
    norm = complex(psi(-1j))

    def f2(u: float) -> float:
        return float((np.exp(1j * u * x) * psi(u) / (1j * u)).real)

    def f1(u: float) -> float:
        return float((np.exp(1j * u * x) * psi(u - 1j) / (1j * u * norm)).real)

    p1 = 0.5 + _quad(f1) / math.pi
    p2 = 0.5 + _quad(f2) / math.pi
    return math.exp(-r * T) * (F * p1 - K * p2)


def heston_call(
    S: float,
    K: float,
    T: float,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    v0: float,
    r: float = 0.0,
    q: float = 0.0,
    method: str = "lewis",
) -> float:
    """Heston European call by ``method`` ``"lewis"`` or ``"gil-pelaez"`` (units as :func:`heston_cf`)."""

    def psi(u: np.ndarray | complex) -> np.ndarray | complex:
        return heston_cf(u, T, kappa, theta, xi, rho, v0)

    pricer = cf_call_lewis if method == "lewis" else cf_call_gil_pelaez
    return pricer(psi, S, K, T, r, q)


def merton_call(
    S: float,
    K: float,
    T: float,
    sigma: float,
    lam: float,
    mu_j: float,
    sigma_j: float,
    r: float = 0.0,
    q: float = 0.0,
    method: str = "lewis",
) -> float:
    """Merton European call by a characteristic-function integral (units as :func:`merton_cf`)."""

    def psi(u: np.ndarray | complex) -> np.ndarray | complex:
        return merton_cf(u, T, sigma, lam, mu_j, sigma_j)

    pricer = cf_call_lewis if method == "lewis" else cf_call_gil_pelaez
    return pricer(psi, S, K, T, r, q)


def merton_call_series(
    S: float,
    K: float,
    T: float,
    sigma: float,
    lam: float,
    mu_j: float,
    sigma_j: float,
    r: float = 0.0,
    q: float = 0.0,
    tol: float = 1e-14,
) -> float:
    r"""Merton's (1976) series: ``C = sum_n e^{-l' T} (l' T)^n / n! BS(S, K, T, s_n, r_n)``.

    ``l' = l (1 + k)``, ``s_n^2 = s^2 + n sJ^2 / T``,
    ``r_n = r - l k + n ln(1 + k) / T``, ``k = e^{mJ + sJ^2/2} - 1``.  Terms are
    summed until the remaining Poisson mass is below ``tol`` (each Black-Scholes
    price is at most ``S``, so the truncation error is below ``S tol``).
    """
    k = math.exp(mu_j + 0.5 * sigma_j**2) - 1.0
    lp = lam * (1.0 + k) * T
    total = 0.0
    mass = 0.0
    n = 0
    while True:
        w = math.exp(-lp + n * math.log(lp) - math.lgamma(n + 1)) if lp > 0 else float(n == 0)
        s_n = math.sqrt(sigma**2 + n * sigma_j**2 / T)
        r_n = r - lam * k + n * math.log1p(k) / T
        total += w * black_scholes_call(S, K, T, s_n, r_n, q)
        mass += w
        n += 1
        if 1.0 - mass < tol or n > 10_000:
            break
    return total
