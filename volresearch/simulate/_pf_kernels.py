"""Numba kernels of the particle filter: weighting and resampling, with numpy twins.

Weights live in log space.  :func:`reweight` adds per-particle
log-likelihoods to normalised log-weights and returns the new normalised
log-weights, the log-likelihood increment ``log sum_i W_i p(y | x_i)`` (a
log-sum-exp, so nothing underflows however peaked the likelihood), and the
effective sample size ``1 / sum_i W_i^2``.

Resampling maps normalised weights and uniforms to ancestor indices in O(N)
by merging sorted positions with the cumulative weights:

* systematic: positions ``(i + u) / N`` with one uniform ``u``;
* stratified: positions ``(i + u_i) / N``;
* multinomial: ``N`` sorted iid uniforms (sorted by the caller).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "reweight",
    "reweight_numpy",
    "inverse_cdf",
    "inverse_cdf_numpy",
    "gaussian_loglik",
]


@njit(cache=True)
def reweight(log_w: np.ndarray, loglik: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """``out`` = normalised ``log_w + loglik``; return (increment, ESS).

    ``log_w`` must be normalised (``logsumexp(log_w) == 0``).  Particles whose
    log-likelihood is ``-inf`` or NaN get zero weight; if every particle does,
    the increment is ``-inf`` and ``out`` is left uniform.
    """
    n = log_w.shape[0]
    m = -np.inf
    for i in range(n):
        v = log_w[i] + loglik[i]
        if not (v == v):  # NaN
            v = -np.inf
        out[i] = v
        if v > m:
            m = v
    if m == -np.inf:
        for i in range(n):
            out[i] = -math.log(n)
        return -np.inf, 0.0
    s = 0.0
    for i in range(n):
        s += math.exp(out[i] - m)
    lse = m + math.log(s)
    s2 = 0.0
    for i in range(n):
        out[i] -= lse
        w = math.exp(out[i])
        s2 += w * w
    return lse, 1.0 / s2


def reweight_numpy(log_w: np.ndarray, loglik: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Plain numpy twin of :func:`reweight`."""
    v = log_w + loglik
    v = np.where(np.isnan(v), -np.inf, v)
    m = v.max()
    if m == -np.inf:
        return np.full_like(v, -math.log(v.size)), -math.inf, 0.0
    lse = m + math.log(np.exp(v - m).sum())
    out = v - lse
    return out, lse, 1.0 / np.sum(np.exp(out) ** 2)


@njit(cache=True)
def inverse_cdf(log_w: np.ndarray, positions: np.ndarray, out: np.ndarray) -> None:
    """Ancestor indices: ``out[k]`` is the particle whose cumulative weight first exceeds ``positions[k]``.

    ``positions`` must be sorted in [0, 1).  O(N + M).
    """
    n = log_w.shape[0]
    j = 0
    c = math.exp(log_w[0])
    for k in range(positions.shape[0]):
        p = positions[k]
        while p >= c and j < n - 1:
            j += 1
            c += math.exp(log_w[j])
        out[k] = j


def inverse_cdf_numpy(log_w: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Plain numpy twin of :func:`inverse_cdf`."""
    c = np.cumsum(np.exp(log_w))
    idx = np.searchsorted(c, positions, side="right")
    return np.minimum(idx, log_w.size - 1).astype(np.int64)


@njit(cache=True)
def gaussian_loglik(x: np.ndarray, y: float, s: float, out: np.ndarray) -> None:
    """``out[i] = log N(y; x[i], s^2)``."""
    c = -0.5 * math.log(2.0 * math.pi) - math.log(s)
    inv = 1.0 / s
    for i in range(x.shape[0]):
        d = (y - x[i]) * inv
        out[i] = c - 0.5 * d * d
