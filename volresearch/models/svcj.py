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
from dataclasses import dataclass
from typing import ClassVar

from scipy import integrate

from volresearch.models.heston import HESTON_UNITS, SVResult

__all__ = ["SVCJ_UNITS", "SVCJResult", "svcj_mbar", "svcj_return_moments"]

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
