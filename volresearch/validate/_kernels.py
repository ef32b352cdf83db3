r"""Numba kernels behind the forecast-calibration statistics.

Pure functions over preallocated arrays, one row per forecast; each has a
plain-Python twin (``*_py``) that the tests compare against.  Rows of ``x`` are
ensemble members sorted ascending and rows of ``p`` the matching member
weights, normalised to sum to one (the public functions in
:mod:`volresearch.validate.calibration` sort and normalise).

Conventions shared by the kernels:

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
* Quantile function: the members with positive weight (``N`` of them) sit at
  plotting positions :math:`\pi_i = N P_i / (N + 1)` (the Weibull positions
  :math:`i/(N+1)` for equal weights) and :math:`Q(u)` interpolates linearly
  between them, flat outside :math:`[\pi_1, \pi_N]`.  For equal weights this
  is ``numpy.quantile(..., method="weibull")``; under exchangeability of the
  observation with the members, the interval between positions ``a`` and ``b``
  covers the observation with probability ``b - a``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "crps_sorted_uniform",
    "crps_sorted_uniform_py",
    "crps_sorted_weighted",
    "crps_sorted_weighted_py",
    "quantile_rows",
    "quantile_rows_py",
    "tail_mean_rows",
    "tail_mean_rows_py",
    "ewma_variance",
    "ewma_variance_py",
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


# ------------------------------------------------------------------ quantiles
@njit(cache=True)
def _positions(xrow: np.ndarray, prow: np.ndarray, xs: np.ndarray, pos: np.ndarray) -> int:
    """Fill ``xs``/``pos`` with the positive-weight members and their plotting positions.

    Returns the number ``N`` of positive-weight members.
    """
    m = xrow.shape[0]
    cnt = 0
    for j in range(m):
        if prow[j] > 0.0:
            xs[cnt] = xrow[j]
            cnt += 1
    scale = cnt / (cnt + 1.0)
    cum = 0.0
    k = 0
    for j in range(m):
        if prow[j] > 0.0:
            cum += prow[j]
            pos[k] = scale * cum
            k += 1
    if cnt > 0:
        pos[cnt - 1] = scale  # exact top position despite rounding in the cumulative sum
    return cnt


@njit(cache=True)
def _interp(q: float, xs: np.ndarray, pos: np.ndarray, cnt: int) -> float:
    if q <= pos[0]:
        return xs[0]
    if q >= pos[cnt - 1]:
        return xs[cnt - 1]
    lo = 0
    hi = cnt - 1
    # invariant: pos[lo] <= q < pos[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pos[mid] <= q:
            lo = mid
        else:
            hi = mid
    w = (q - pos[lo]) / (pos[hi] - pos[lo])
    return xs[lo] + w * (xs[hi] - xs[lo])


@njit(parallel=True, cache=True)
def quantile_rows(x: np.ndarray, p: np.ndarray, probs: np.ndarray, out: np.ndarray) -> None:
    """Quantiles ``Q_i(probs[i, k])`` of each sorted weighted ensemble row into ``out`` (n, k).

    ``p`` is (n, m), or (1, m) for weights shared by every row.
    """
    n, m = x.shape
    nk = probs.shape[1]
    for i in prange(n):
        xs = np.empty(m)
        pos = np.empty(m)
        ip = i if p.shape[0] > 1 else i - i  # same integer type as the prange index
        cnt = _positions(x[i], p[ip], xs, pos)
        for k in range(nk):
            out[i, k] = _interp(probs[i, k], xs, pos, cnt)


def _positions_py(xrow: np.ndarray, prow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = prow > 0
    xs = xrow[keep]
    n_pos = xs.size
    pos = n_pos / (n_pos + 1.0) * np.cumsum(prow[keep])
    pos[-1] = n_pos / (n_pos + 1.0)
    return xs, pos


def quantile_rows_py(x: np.ndarray, p: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Plain-Python twin of :func:`quantile_rows` (``numpy.interp`` per row)."""
    out = np.empty(probs.shape)
    for i in range(x.shape[0]):
        xs, pos = _positions_py(x[i], p[i if p.shape[0] > 1 else 0])
        out[i] = np.interp(probs[i], pos, xs)
    return out


@njit(parallel=True, cache=True)
def tail_mean_rows(x: np.ndarray, p: np.ndarray, alphas: np.ndarray, out: np.ndarray) -> None:
    r"""Lower tail means :math:`\frac{1}{\alpha}\int_0^\alpha Q_i(u)\,du` into ``out`` (n, len(alphas)).

    :math:`Q_i` is the piecewise-linear quantile function of row ``i``; the
    integral is exact (trapezoids between plotting positions).
    """
    n, m = x.shape
    na = alphas.shape[0]
    for i in prange(n):
        xs = np.empty(m)
        pos = np.empty(m)
        ip = i if p.shape[0] > 1 else i - i  # same integer type as the prange index
        cnt = _positions(x[i], p[ip], xs, pos)
        for k in range(na):
            a = alphas[k]
            if a <= pos[0]:
                out[i, k] = xs[0]
                continue
            area = xs[0] * pos[0]
            j = 0
            while j < cnt - 1 and pos[j + 1] <= a:
                area += 0.5 * (xs[j] + xs[j + 1]) * (pos[j + 1] - pos[j])
                j += 1
            if j < cnt - 1:
                qa = xs[j] + (a - pos[j]) / (pos[j + 1] - pos[j]) * (xs[j + 1] - xs[j])
                area += 0.5 * (xs[j] + qa) * (a - pos[j])
            else:
                area += xs[cnt - 1] * (a - pos[cnt - 1])
            out[i, k] = area / a


def tail_mean_rows_py(x: np.ndarray, p: np.ndarray, alphas: np.ndarray, grid: int = 200_001) -> np.ndarray:
    """Plain-Python twin of :func:`tail_mean_rows` by dense trapezoid quadrature of ``Q``.

    Accurate to about ``1e-9`` relative for smooth rows; used only in tests.
    """
    out = np.empty((x.shape[0], alphas.shape[0]))
    for i in range(x.shape[0]):
        xs, pos = _positions_py(x[i], p[i if p.shape[0] > 1 else 0])
        for k, a in enumerate(alphas):
            u = np.union1d(np.linspace(0.0, a, grid), pos[pos < a])
            q = np.interp(u, pos, xs)
            out[i, k] = np.trapezoid(q, u) / a if hasattr(np, "trapezoid") else np.trapz(q, u) / a
    return out


# ----------------------------------------------------------------------- EWMA
@njit(cache=True)
def ewma_variance(r: np.ndarray, lam: float, start: int, out: np.ndarray) -> None:
    r"""RiskMetrics variance :math:`\sigma^2_t = \lambda \sigma^2_{t-1} + (1-\lambda) r_t^2`.

    ``out[t]`` uses ``r[:t+1]`` only.  ``out[:start]`` is NaN and
    ``out[start - 1]`` is the mean of ``r[:start]**2`` (the warm-up); the
    recursion runs from ``start``.  Units: squared log return per bar.
    """
    n = r.shape[0]
    acc = 0.0
    for t in range(start):
        acc += r[t] * r[t]
        out[t] = math.nan
    out[start - 1] = acc / start
    for t in range(start, n):
        out[t] = lam * out[t - 1] + (1.0 - lam) * r[t] * r[t]


def ewma_variance_py(r: np.ndarray, lam: float, start: int) -> np.ndarray:
    """Plain-Python twin of :func:`ewma_variance` returning the array."""
    out = np.full(r.shape[0], np.nan)
    s2 = sum(float(v) * float(v) for v in r[:start]) / start
    out[start - 1] = s2
    for t in range(start, r.shape[0]):
        s2 = lam * s2 + (1.0 - lam) * float(r[t]) ** 2
        out[t] = s2
    return out
