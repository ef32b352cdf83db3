r"""Numba kernels behind the forecast-calibration statistics.

Pure functions over preallocated arrays, one row per forecast; each has a
plain-Python twin (``*_py``) that the tests compare against.  Rows of ``x`` are
ensemble members sorted ascending and rows of ``p`` the matching member
weights, normalised to sum to one (the public functions in
:mod:`volresearch.validate.scores` sort and normalise).

The convention of the kernels:

* CRPS of the weighted empirical distribution
  :math:`F = \sum_i p_i \delta_{x_i}` (sorted form, Gneiting & Raftery 2007;
  the O(N log N) rewrite of the pairwise energy form)

  .. math::

     \mathrm{CRPS}(F, y) = \sum_i p_i |x_i - y|
         - \tfrac12 \sum_{i,j} p_i p_j |x_i - x_j|
       = 2 \sum_i p_i (x_{(i)} - y)
         \left(\mathbf 1[y < x_{(i)}] - P_{i-1} - \tfrac{p_{(i)}}{2}\right),

  with :math:`P_{i-1} = \sum_{j<i} p_{(j)}`.  Every term is scaled by
  :math:`x_{(i)} - y`, so the sum does not cancel large price levels.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "crps_sorted_uniform",
    "crps_sorted_uniform_py",
    "crps_sorted_weighted",
    "crps_sorted_weighted_py",
]


# --------------------------------------------------------------------- CRPS
@njit(parallel=True, cache=True)
def crps_sorted_uniform(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """CRPS of equally weighted sorted ensembles ``x`` (n, m) at ``y`` (n,) into ``out`` (n,)."""
    n, m = x.shape
    inv_m = 1.0 / m
    for i in prange(n):
        yi = y[i]
        acc = 0.0
        for j in range(m):
            d = x[i, j] - yi
            ind = 1.0 if yi < x[i, j] else 0.0
            acc += d * (ind - (j + 0.5) * inv_m)
        out[i] = 2.0 * acc * inv_m


def crps_sorted_uniform_py(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Plain-Python twin of :func:`crps_sorted_uniform` returning the array."""
    n, m = x.shape
    out = np.empty(n)
    for i in range(n):
        total = 0.0
        for j in range(m):
            # rank-based form 2/m^2 * sum (x_(j) - y) (m 1[y < x_(j)] - j + 1/2), j 1-based
            total += (x[i, j] - y[i]) * (m * (1.0 if y[i] < x[i, j] else 0.0) - (j + 1) + 0.5)
        out[i] = 2.0 * total / (m * m)
    return out


@njit(parallel=True, cache=True)
def crps_sorted_weighted(x: np.ndarray, p: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """CRPS of sorted ensembles ``x`` (n, m) with normalised weights ``p`` (n, m) at ``y`` (n,)."""
    n, m = x.shape
    for i in prange(n):
        yi = y[i]
        acc = 0.0
        cum = 0.0
        for j in range(m):
            pj = p[i, j]
            d = x[i, j] - yi
            ind = 1.0 if yi < x[i, j] else 0.0
            acc += pj * d * (ind - cum - 0.5 * pj)
            cum += pj
        out[i] = 2.0 * acc


def crps_sorted_weighted_py(x: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Plain-Python twin of :func:`crps_sorted_weighted` (integral form, as in properscoring).

    Integrates :math:`(F(z) - \\mathbf 1[z \\ge y])^2` piecewise between the sorted
    members, an independent route to the same number.
    """
    n, m = x.shape
    out = np.empty(n)
    for i in range(n):
        obs = y[i]
        obs_cdf = 0.0
        cdf = 0.0
        prev = 0.0
        integral = 0.0
        for j in range(m):
            xj = x[i, j]
            if obs_cdf == 0.0 and obs < xj:
                integral += (obs - prev) * cdf**2 if j > 0 else 0.0
                integral += (xj - obs) * (cdf - 1.0) ** 2
                obs_cdf = 1.0
            elif j > 0:
                integral += (xj - prev) * (cdf - obs_cdf) ** 2
            cdf += p[i, j]
            prev = xj
        if obs_cdf == 0.0:
            integral += obs - prev
        out[i] = integral
    return out
