"""Particle filter of the Heston/SVCJ variance from log returns: filtered variance, likelihood, particles.

:func:`sv_filter` runs :func:`volresearch.simulate.kernels.sv_filter.sv_filter_kernel`
(the QE scheme's transition, Gaussian conditional density of each bar's return,
sorted systematic resampling, every draw a fixed function of ``(seed, bar,
particle)``) and returns an immutable :class:`SVFilterResult`.  It is how
Heston and SVCJ results get the variance at the end of their sample and at
every walk-forward origin; its log-likelihood (a fixed-seed, nearly
continuous function of the parameters) is the quantity a particle-filter
maximum-likelihood fit maximises.

Units: returns are log returns per bar; parameters annualised (``kappa``,
``lambda`` 1/year; ``theta``, ``v``, ``mu_v`` variance per year; ``xi``
1/sqrt(year)); ``dt`` is the bar length in years.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volresearch._util import readonly
from volresearch.errors import ConfigError, SimulationError

__all__ = ["SVFilterResult", "stationary_particles", "sv_filter"]

_PARAMS = ("mu", "kappa", "theta", "xi", "rho")
_JUMPS = ("lam", "mu_y", "sigma_y", "mu_v", "rho_j")


@dataclass(frozen=True)
class SVFilterResult:
    """Output of :func:`sv_filter` (arrays read-only).

    Attributes
    ----------
    loglik
        Log-likelihood of the returns (sum of :attr:`loglik_terms`).
    loglik_terms
        ``(n,)`` per-bar log predictive density of the bar's log return.
    v_mean, v_sd
        ``(n,)`` filtered mean and standard deviation of the variance after
        each bar (the variance that drives the next bar), variance per year.
    ess
        ``(n,)`` effective sample size of each bar's weights (before resampling).
    particles
        ``(n_particles,)`` equally weighted variance particles after the last bar.
    seed
        Seed of the filter's draws.
    """

    loglik: float
    loglik_terms: np.ndarray = field(repr=False)
    v_mean: np.ndarray = field(repr=False)
    v_sd: np.ndarray = field(repr=False)
    ess: np.ndarray = field(repr=False)
    particles: np.ndarray = field(repr=False)
    seed: int

    def summary(self) -> str:
        """A few lines: bars, particles, log-likelihood, ESS and the last filtered variance."""
        n = self.v_mean.size
        last = f"{self.v_mean[-1]:.4g} +- {self.v_sd[-1]:.2g}" if n else "n/a"
        ess = f"{np.median(self.ess) / self.particles.size:.0%}" if n else "n/a"
        return (
            f"SV particle filter: {n} bars, {self.particles.size} particles, seed {self.seed}\n"
            f"  log-likelihood {self.loglik:.6g}; median ESS {ess} of N; last v {last} (variance/year)"
        )


def stationary_particles(kappa: float, theta: float, xi: float, n: int, *, mean: float | None = None,
                         sd: float | None = None) -> np.ndarray:  # fmt: skip
    """``n`` stratified quantiles of a Gamma law of the variance (per year).

    The CIR stationary law (shape ``2 kappa theta / xi^2``, mean ``theta``) by default; with ``mean`` and
    ``sd`` the Gamma law of that mean and standard deviation (a filtered state carried between samples).
    """
    from scipy import stats

    if mean is not None and sd is not None and mean > 0 and sd > 0:
        shape, scale = (mean / sd) ** 2, sd * sd / mean
    else:
        shape, scale = 2.0 * kappa * theta / (xi * xi), xi * xi / (2.0 * kappa)
    u = (np.arange(n) + 0.5) / n
    return np.ascontiguousarray(stats.gamma.ppf(u, shape, scale=scale), dtype=np.float64)


def sv_filter(
    params: Mapping[str, float],
    returns: Any,
    dt: float,
    *,
    n_particles: int = 2000,
    seed: int = 0,
    v0: Any = None,
) -> SVFilterResult:
    """Filter the Heston/SVCJ variance through one-bar log ``returns``.

    Parameters
    ----------
    params
        ``mu, kappa, theta, xi, rho`` and, for SVCJ, ``lam`` (or ``lambda``), ``mu_y, sigma_y, mu_v, rho_j``
        (units in :data:`volresearch.models.svcj.SVCJ_UNITS`).
    returns
        One-bar log returns (finite).
    dt
        Bar length in years.
    n_particles, seed
        Particles and the seed of every draw (same seed, same result).
    v0
        Initial particles (variance per year): an array (resized to ``n_particles`` by repetition), or
        ``None`` for the stationary law of :func:`stationary_particles`.

    Raises
    ------
    ConfigError
        Missing or invalid parameters, ``n_particles < 2``.
    SimulationError
        Non-finite returns.
    """
    from volresearch.simulate._rng import philox_key
    from volresearch.simulate.engine import innovation_table
    from volresearch.simulate.kernels.heston import PSI_C, _prepare
    from volresearch.simulate.kernels.sv_filter import sv_filter_kernel

    p = dict(params)
    if "lambda" in p and "lam" not in p:
        p["lam"] = p["lambda"]
    try:
        vals = {k: float(p.get(k, 0.0)) if k in ("mu", *_JUMPS) else float(p[k]) for k in (*_PARAMS, *_JUMPS)}
    except KeyError as exc:
        raise ConfigError(f"the SV filter needs parameter {exc.args[0]!r}") from None
    if int(n_particles) < 2:
        raise ConfigError(f"n_particles must be at least 2, got {n_particles}")
    r = np.ascontiguousarray(np.asarray(returns, dtype=np.float64).ravel())
    if not np.all(np.isfinite(r)):
        bad = np.flatnonzero(~np.isfinite(r))
        raise SimulationError(f"non-finite returns at positions {bad[:10].tolist()}")
    try:
        cst, tails, jump = _prepare(float(dt), vals["mu"], vals["kappa"], vals["theta"], vals["xi"], vals["rho"],
                                    vals["lam"], vals["mu_y"], vals["sigma_y"], vals["mu_v"], vals["rho_j"], PSI_C)  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"invalid SV parameters: {exc}") from None
    n = int(n_particles)
    if v0 is None:
        parts = stationary_particles(vals["kappa"], vals["theta"], vals["xi"], n)
    else:
        parts = np.resize(np.asarray(v0, dtype=np.float64).ravel(), n)
        if not np.all(np.isfinite(parts)) or np.any(parts < 0):
            raise ConfigError("initial variance particles must be finite and non-negative")
    coef, p_min, m_bits, tail = innovation_table("normal", {}).kernel_args
    out = [np.empty(r.size) for _ in range(4)]
    final = sv_filter_kernel(r, cst, tails, jump, np.ascontiguousarray(parts), philox_key(int(seed)), coef,
                             int(p_min), int(m_bits), tail, *out)  # fmt: skip
    mean, sd, ess, ll = out
    total = float(np.sum(ll)) if np.all(np.isfinite(ll)) else -math.inf
    return SVFilterResult(
        loglik=total, loglik_terms=readonly(ll), v_mean=readonly(mean), v_sd=readonly(sd), ess=readonly(ess),
        particles=readonly(final), seed=int(seed),
    )  # fmt: skip
