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

:func:`garch_filter_step` fuses a GARCH-family filter update (predict with
each particle's own shocks, weight, log-sum-exp) into one pass over the
particles, writing the new state to separate arrays so a failed update needs
no undo; it runs on the calling thread, where a one-step update of a few
thousand particles is faster than any parallel launch.
:func:`garch_filter_step_parallel` gives the same numbers on several threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._rng import philox4x64
from .kernels.draws import table_z
from .kernels.garch import PATH_BLOCK, step_variance

#: ``E[log(R^2 / (4 ln 2))]`` of a Brownian bar's range (see :mod:`.particle_filter`).
_LOG_PARKINSON_MEAN = -0.168429318682069

__all__ = [
    "table_logpdf",
    "garch_filter_step",
    "garch_filter_step_parallel",
    "reweight",
    "reweight_numpy",
    "inverse_cdf",
    "inverse_cdf_numpy",
    "gaussian_loglik",
    "systematic_ancestors",
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


@njit(cache=True, inline="always")
def table_logpdf(z: float, z0: float, dz: float, lf: np.ndarray) -> float:
    """Log-density at ``z`` from a uniform-grid table (linear inside, linear extrapolation of the log outside)."""
    n = lf.shape[0]
    f = (z - z0) / dz
    if not (f == f):
        return -np.inf
    k = int(math.floor(f))
    if k < 0:
        k = 0
    elif k > n - 2:
        k = n - 2
    w = f - k
    return lf[k] + w * (lf[k + 1] - lf[k])


@njit(cache=True)
def _propose_block(
    j0: int,
    j1: int,
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    sigma2_prev: np.ndarray,
    counter: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    log_w: np.ndarray,
    y: float,
    s_obs: float,
    log_rv: float,
    rv_sd: float,
    x_out: np.ndarray,
    s2_out: np.ndarray,
    prev_out: np.ndarray,
    cn_out: np.ndarray,
    v_out: np.ndarray,
    mult: np.ndarray,
    adapted: bool,
    lf_z0: float,
    lf_dz: float,
    lf: np.ndarray,
) -> float:
    """Predict and weight particles ``j0 .. j1 - 1``; return the largest unnormalised log-weight.

    Each particle's words are those of :func:`~volresearch.simulate.kernels.advance_states`
    (word ``counter + t`` of its stream, lane ``n % 4`` of Philox block ``n // 4``) and its
    arithmetic is that of the path kernels, one particle at a time with no scratch arrays.
    ``mult`` (empty: none) scales step ``t``'s return by ``sqrt(mult[t])``.  With ``adapted``
    the last step is the fully adapted one (see :func:`garch_filter_step`).
    """
    scaled = mult.shape[0] > 0
    if adapted and n_steps > 0:
        return _adapted_block(
            j0, j1, n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, sigma2_prev, counter, key,
            stream, coef, p_min, m_bits, tail, log_w, y, s_obs, log_rv, rv_sd, x_out, s2_out, prev_out, cn_out,
            v_out, mult, lf_z0, lf_dz, lf,
        )  # fmt: skip
    zero = np.uint64(0)
    three = np.uint64(3)
    two = np.uint64(2)
    k0 = key[0]
    k1 = key[1]
    for j in range(j0, j1):
        xj = x[j]
        vj = sigma2[j]
        pv = sigma2_prev[j]
        c = counter[j]
        sj = stream[j]
        b0 = b1 = b2 = b3 = zero
        if n_steps > 0 and (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> two, sj, zero, zero, k0, k1)
        for t in range(n_steps):
            lane = c & three
            if lane == zero:
                b0, b1, b2, b3 = philox4x64(c >> two, sj, zero, zero, k0, k1)
            word = b0 if lane == zero else (b1 if lane == np.uint64(1) else (b2 if lane == two else b3))
            z = table_z(word, coef, p_min, m_bits, tail, key, sj, c)
            c = c + np.uint64(1)
            pv = vj  # the variance that drives this step (the observed one, after the loop)
            e = math.sqrt(vj) * z
            xj = xj + (math.sqrt(mult[t]) * (mu + e) if scaled else (mu + e))
            vj = step_variance(model_code, e, vj, omega, alpha, gamma, beta)
        x_out[j] = xj
        s2_out[j] = vj
        prev_out[j] = pv
        cn_out[j] = c
    c = -0.5 * math.log(2.0 * math.pi) - math.log(s_obs)
    inv = 1.0 / s_obs
    use_rv = rv_sd > 0.0
    c_rv = -0.5 * math.log(2.0 * math.pi) - math.log(rv_sd) if use_rv else 0.0
    inv_rv = 1.0 / rv_sd if use_rv else 0.0
    m = -np.inf
    log_m = math.log(mult[n_steps - 1]) if scaled and n_steps > 0 else 0.0
    for j in range(j0, j1):
        d = (y - x_out[j]) * inv
        ll = c - 0.5 * d * d
        if use_rv:
            d2 = (log_rv - (math.log(prev_out[j]) + log_m + _LOG_PARKINSON_MEAN)) * inv_rv
            ll += c_rv - 0.5 * d2 * d2
        v = log_w[j] + ll
        if not (v == v):  # NaN
            v = -np.inf
        v_out[j] = v
        if v > m:
            m = v
    return m


@njit(cache=True)
def _adapted_block(
    j0: int,
    j1: int,
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    sigma2_prev: np.ndarray,
    counter: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    log_w: np.ndarray,
    y: float,
    s_obs: float,
    log_rv: float,
    rv_sd: float,
    x_out: np.ndarray,
    s2_out: np.ndarray,
    prev_out: np.ndarray,
    cn_out: np.ndarray,
    v_out: np.ndarray,
    mult: np.ndarray,
    lf_z0: float,
    lf_dz: float,
    lf: np.ndarray,
) -> float:
    """Fully adapted update of particles ``j0 .. j1 - 1`` (see :func:`garch_filter_step`)."""
    zero = np.uint64(0)
    three = np.uint64(3)
    two = np.uint64(2)
    k0 = key[0]
    k1 = key[1]
    scaled = mult.shape[0] > 0
    s2o = s_obs * s_obs
    use_rv = rv_sd > 0.0
    c_rv = -0.5 * math.log(2.0 * math.pi) - math.log(rv_sd) if use_rv else 0.0
    inv_rv = 1.0 / rv_sd if use_rv else 0.0
    m_last = mult[n_steps - 1] if scaled else 1.0
    sm_last = math.sqrt(m_last)
    m = -np.inf
    for j in range(j0, j1):
        xj = x[j]
        vj = sigma2[j]
        c = counter[j]
        sj = stream[j]
        b0 = b1 = b2 = b3 = zero
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> two, sj, zero, zero, k0, k1)
        z = 0.0
        for t in range(n_steps):
            lane = c & three
            if lane == zero:
                b0, b1, b2, b3 = philox4x64(c >> two, sj, zero, zero, k0, k1)
            word = b0 if lane == zero else (b1 if lane == np.uint64(1) else (b2 if lane == two else b3))
            z = table_z(word, coef, p_min, m_bits, tail, key, sj, c)
            c = c + np.uint64(1)
            if t < n_steps - 1:  # unobserved steps: the particle's own shocks
                e = math.sqrt(vj) * z
                xj = xj + (math.sqrt(mult[t]) * (mu + e) if scaled else (mu + e))
                vj = step_variance(model_code, e, vj, omega, alpha, gamma, beta)
        # the observed step: predictive density of y under this particle's variance, then its implied shock
        mean = sm_last * mu
        sc2 = m_last * vj
        tot = sc2 + s2o
        sd = math.sqrt(tot)
        r = y - xj - mean
        ll = table_logpdf(r / sd, lf_z0, lf_dz, lf) - math.log(sd)
        if use_rv:
            d2 = (log_rv - (math.log(sc2) + _LOG_PARKINSON_MEAN)) * inv_rv
            ll += c_rv - 0.5 * d2 * d2
        k = sc2 / tot
        e = k * r + math.sqrt(k) * s_obs * z  # the return's shock given y; the noise from its conditional
        u = e / sm_last
        x_out[j] = xj + mean + e
        prev_out[j] = vj
        s2_out[j] = step_variance(model_code, u, vj, omega, alpha, gamma, beta)
        cn_out[j] = c
        v = log_w[j] + ll
        if not (v == v):  # NaN
            v = -np.inf
        v_out[j] = v
        if v > m:
            m = v
    return m


@njit(cache=True)
def _normalise(v: np.ndarray, m: float, w: np.ndarray) -> tuple[float, float]:
    """Normalise log-weights ``v`` in place given their maximum ``m``; return (log-sum-exp, ESS).

    One exponential per particle: with ``e_i = exp(v_i - m)`` and
    ``s = sum e_i``, ``w`` receives the linear weights ``e_i / s`` and
    ``ESS = s**2 / sum e_i**2``.
    """
    n = v.shape[0]
    if m == -np.inf:
        for i in range(n):
            v[i] = -math.log(n)
            w[i] = 1.0 / n
        return -np.inf, 0.0
    s = 0.0
    s2 = 0.0
    for i in range(n):
        e = math.exp(v[i] - m)
        w[i] = e
        s += e
        s2 += e * e
    lse = m + math.log(s)
    inv = 1.0 / s
    for i in range(n):
        v[i] -= lse
        w[i] *= inv
    return lse, s * s / s2


@njit(cache=True)
def systematic_ancestors(w: np.ndarray, u: float, out: np.ndarray) -> None:
    """Systematic resampling from linear weights: ``out[k]`` is the particle whose cumulative weight
    first exceeds ``(k + u) / N`` (as :func:`inverse_cdf` at those positions, with no array of positions)."""
    n = w.shape[0]
    m = out.shape[0]
    j = 0
    c = w[0]
    for k in range(m):
        p = (k + u) / m
        while p >= c and j < n - 1:
            j += 1
            c += w[j]
        out[k] = j


@njit(cache=True)
def garch_filter_step(
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    sigma2_prev: np.ndarray,
    counter: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    log_w: np.ndarray,
    y: float,
    s_obs: float,
    log_rv: float,
    rv_sd: float,
    x_out: np.ndarray,
    s2_out: np.ndarray,
    prev_out: np.ndarray,
    cn_out: np.ndarray,
    log_w_out: np.ndarray,
    w_out: np.ndarray,
    mult: np.ndarray,
    adapted: bool,
    lf_z0: float,
    lf_dz: float,
    lf: np.ndarray,
) -> tuple[float, float]:
    """One GARCH particle-filter update in one pass over the particles, on the calling thread.

    For every block of particles: advance ``n_steps`` with each particle's
    own shocks (keeping the variance that drove the last step), weigh by
    ``log N(y; x, s_obs^2)`` (plus ``log N(log_rv; log sigma2_prev +
    LOG_PARKINSON_MEAN, rv_sd^2)`` when ``rv_sd > 0``), add to the
    normalised log-weights and track the maximum; then normalise by
    log-sum-exp, one exponential per particle; ``w_out`` receives the linear
    normalised weights (for resampling without another exponential).  The inputs are not modified: the new
    state goes to the ``*_out`` arrays, so a failed update leaves the filter
    as it was without any copy.

    ``mult`` (``(n_steps,)``, empty for none) holds the per-step variance
    multipliers ``m_t`` of the multiplicative intraday model: step ``t``
    returns ``sqrt(m_t) (mu + e_t)``; the realised-variance term then
    compares with ``m_t sigma2_prev``.

    With ``adapted`` the observed (last) step is fully adapted to the close
    (Pitt and Shephard 1999) instead of blind: with ``r = y - x - sqrt(m) mu``
    (``x`` the particle's log price before the step) and
    ``S^2 = m sigma2 + s_obs^2``, the weight is the predictive density
    ``f(r / S) / S`` of the innovation law ``f`` (``lf``: its log on the grid
    ``lf_z0 + k lf_dz``), and the particle's return shock is the one the
    close implies, ``e = K r + sqrt(K) s_obs z`` with ``K = m sigma2 / S^2``
    and ``z`` the particle's own innovation of that step standing in for the
    noise's conditional draw; ``sigma2`` then moves with ``e / sqrt(m)``.
    Exact for normal innovations (weight and conditional law); for other laws
    the predictive is the law's density at the total scale, exact as
    ``s_obs / sigma -> 0``.  Variance particles, not price particles, carry
    the information, so the effective sample size stays high when
    ``s_obs`` is far below the return's volatility.

    Returns
    -------
    tuple of float
        ``(increment, ESS)``; ``(-inf, 0)`` when every particle gives the
        observation zero likelihood (``log_w_out`` then uniform).
    """
    n = x.shape[0]
    m = -np.inf
    for j0 in range(0, n, PATH_BLOCK):
        mb = _propose_block(
            j0, min(n, j0 + PATH_BLOCK), n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2,
            sigma2_prev, counter, key, stream, coef, p_min, m_bits, tail, log_w, y, s_obs, log_rv, rv_sd,
            x_out, s2_out, prev_out, cn_out, log_w_out, mult, adapted, lf_z0, lf_dz, lf,
        )  # fmt: skip
        if mb > m:
            m = mb
    return _normalise(log_w_out, m, w_out)


@njit(parallel=True, cache=True)
def garch_filter_step_parallel(
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    sigma2_prev: np.ndarray,
    counter: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    log_w: np.ndarray,
    y: float,
    s_obs: float,
    log_rv: float,
    rv_sd: float,
    x_out: np.ndarray,
    s2_out: np.ndarray,
    prev_out: np.ndarray,
    cn_out: np.ndarray,
    log_w_out: np.ndarray,
    w_out: np.ndarray,
    mult: np.ndarray,
    adapted: bool,
    lf_z0: float,
    lf_dz: float,
    lf: np.ndarray,
) -> tuple[float, float]:
    """:func:`garch_filter_step` with the blocks spread over threads (identical numbers)."""
    n = x.shape[0]
    n_blocks = (n + PATH_BLOCK - 1) // PATH_BLOCK
    block_max = np.empty(n_blocks)
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        block_max[b] = _propose_block(
            j0, min(n, j0 + PATH_BLOCK), n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2,
            sigma2_prev, counter, key, stream, coef, p_min, m_bits, tail, log_w, y, s_obs, log_rv, rv_sd,
            x_out, s2_out, prev_out, cn_out, log_w_out, mult, adapted, lf_z0, lf_dz, lf,
        )  # fmt: skip
    m = -np.inf
    for b in range(n_blocks):
        if block_max[b] > m:
            m = block_max[b]
    return _normalise(log_w_out, m, w_out)
