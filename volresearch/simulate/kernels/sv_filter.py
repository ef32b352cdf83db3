r"""Particle filter kernel of the Heston/SVCJ variance from a return series (the QE scheme's exact likelihood).

State: the variance ``v`` (1/year) of each particle.  One bar ``t`` of ``dt``
years moves a particle exactly as a path of
:mod:`volresearch.simulate.kernels.heston` does: the QE variance step
``v -> v_d`` (one word), then for SVCJ a jump count ``N`` (one word) and the
variance jump sum ``S_v`` (``N`` exponential words).  Given ``(v, v_d, N,
S_v)`` Andersen's log-price step makes the bar's log return Gaussian::

    r | ... ~ N(drift + K0 + K1 v + K2 v_d + N mu_y + rho_j S_v,  K3 v + K4 v_d + N sigma_y^2)

so the weight of a particle is that density at the observed return (the
price shock ``Z`` and the jump-size shock are integrated out exactly; the
filter is the likelihood of the discretised model the fans simulate, with
no martingale correction: real-world drift ``mu``).  The new variance is
``v_d + S_v``.

Resampling every bar: particles sorted by their new variance (:func:`sort_order`,
a bucket sort in expected linear time, the order of a stable ``argsort``), then
systematic resampling with one uniform per bar.  Every draw is a fixed
function of ``(seed, bar, particle slot)`` (slot ``j`` reads words ``t`` (Heston)
or ``2t, 2t + 1`` (SVCJ) of Philox stream ``j`` at bar ``t``, four to a block;
variance jumps from extra blocks; the resampling uniform from stream
``n_particles``), so for a fixed seed the
log-likelihood is a deterministic function of the parameters, and sorting
before resampling keeps it nearly continuous in them (common random
numbers for maximum likelihood).

Log-likelihood: ``sum_t log(mean_j w_tj)`` with ``w_tj`` the Gaussian
density above (log-return units).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._pf_kernels import reweight
from .._rng import philox4x64
from .draws import table_z
from .heston import (
    _I_C1,
    _I_C2,
    _I_DRIFT,
    _I_E,
    _I_K0,
    _I_K1,
    _I_K2,
    _I_K3,
    _I_K4,
    _I_PSIC,
    _I_THETA,
    _log_u,
    _poisson,
    _side_v,
)

__all__ = ["merton_adapted_step", "sort_order", "sv_adapted_step", "sv_filter_kernel"]

_LOG_2PI = math.log(2.0 * math.pi)
_TINY_VAR = 1e-300


@njit(cache=True, inline="always")
def _qe_draw(
    vt: float,
    word: np.uint64,
    cst: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    key: np.ndarray,
    s: np.uint64,
    c: np.uint64,
) -> float:
    """The QE variance step from ``vt`` with one generator word (word ``c`` of stream ``s``): the path kernel's."""
    theta = cst[_I_THETA]
    mm = theta + (vt - theta) * cst[_I_E]
    psi = (vt * cst[_I_C1] + cst[_I_C2]) / (mm * mm)
    if psi <= cst[_I_PSIC]:
        ipsi = 2.0 / psi
        b2 = ipsi - 1.0 + math.sqrt(ipsi) * math.sqrt(ipsi - 1.0)
        a = mm / (1.0 + b2)
        bz = math.sqrt(b2) + table_z(word, coef, p_min, m_bits, tail, key, s, c)
        return a * bz * bz
    p = (psi - 1.0) / (psi + 1.0)
    beta = (1.0 - p) / mm
    side, tv = _side_v(word)
    u_le_p = (tv <= p) if side == 0 else (1.0 - tv <= p)
    return 0.0 if u_le_p else (math.log1p(-p) - (math.log1p(-tv) if side == 0 else math.log(tv))) / beta


@njit(cache=True)
def sort_order(x: np.ndarray, order: np.ndarray, start: np.ndarray, keys: np.ndarray) -> None:
    """``order`` = the indices that sort ``x >= 0`` ascending (ties in index order), in expected linear time.

    Bucket sort on ``sqrt(x)`` (one bucket per element, the square root evens out the right tail of a
    variance sample), then insertion sort inside each bucket: the same order as a stable ``argsort``.
    ``start`` (``n + 1`` ints) and ``keys`` (``n`` floats) are work space.
    """
    n = x.shape[0]
    lo = np.inf
    hi = -np.inf
    for j in range(n):
        k = math.sqrt(x[j])
        keys[j] = k
        if k < lo:
            lo = k
        if k > hi:
            hi = k
    for b in range(n + 1):
        start[b] = 0
    scale = (n - 1) / (hi - lo) if hi > lo else 0.0
    for j in range(n):
        start[int((keys[j] - lo) * scale) + 1] += 1
    for b in range(n):
        start[b + 1] += start[b]
    for j in range(n):  # stable scatter; start[b] runs from the bucket's first slot to the next bucket's
        b = int((keys[j] - lo) * scale)
        order[start[b]] = j
        start[b] += 1
    first = 0
    for b in range(n):  # after the scatter start[b] is the end of bucket b
        end = start[b]
        for i in range(first + 1, end):
            cur = order[i]
            kc = keys[cur]
            q = i - 1
            while q >= first and keys[order[q]] > kc:
                order[q + 1] = order[q]
                q -= 1
            order[q + 1] = cur
        first = end


@njit(cache=True)
def sv_filter_kernel(
    r: np.ndarray,
    cst: np.ndarray,
    tails: np.ndarray,
    jump: np.ndarray,
    v0: np.ndarray,
    key: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out_mean: np.ndarray,
    out_sd: np.ndarray,
    out_ess: np.ndarray,
    out_ll: np.ndarray,
) -> np.ndarray:
    """Filter the bars ``r`` (log returns) from the particles ``v0``; returns the final particles.

    Writes per bar the filtered mean and standard deviation of the new
    variance (after the bar), the effective sample size of the weights and
    the log-likelihood increment.  ``cst``, ``tails``, ``jump`` as the path
    kernel's ``_prepare`` makes them; ``coef .. tail``: the standard normal
    ppf table; ``key``: Philox key.
    """
    n = r.shape[0]
    m = v0.shape[0]
    k0 = key[0]
    k1 = key[1]
    zero = np.uint64(0)
    kk0 = cst[_I_K0]
    kk1 = cst[_I_K1]
    kk2 = cst[_I_K2]
    kk3 = cst[_I_K3]
    kk4 = cst[_I_K4]
    drift = cst[_I_DRIFT]
    has_jumps = tails.shape[0] > 0
    mu_y = jump[0]
    sy2 = jump[1] * jump[1]
    mu_v = jump[2]
    rho_j = jump[3]
    v = v0.copy()
    vn = np.empty(m)
    lw = np.empty(m)
    w = np.empty(m)
    rs_stream = np.uint64(m)
    per_step = 2 if has_jumps else 1  # words of slot j at bar t: t * per_step (+ 1), four to a Philox block
    buf = np.empty((m, 4), dtype=np.uint64)
    order = np.empty(m, dtype=np.int64)
    start = np.empty(m + 1, dtype=np.int64)
    keys = np.empty(m)
    for t in range(n):
        tt = np.uint64(t)
        c_step = t * per_step
        lane = c_step & 3
        top = -np.inf
        for j in range(m):
            s = np.uint64(j)
            if lane == 0:
                b0, b1, b2_, b3 = philox4x64(np.uint64(c_step >> 2), s, zero, zero, k0, k1)
                buf[j, 0] = b0
                buf[j, 1] = b1
                buf[j, 2] = b2_
                buf[j, 3] = b3
            vt = v[j]
            vd = _qe_draw(vt, buf[j, lane], cst, coef, p_min, m_bits, tail, key, s, np.uint64(c_step))
            mean = drift + kk0 + kk1 * vt + kk2 * vd
            var = kk3 * vt + kk4 * vd
            vj = vd
            if has_jumps:
                side, tv = _side_v(buf[j, lane + 1])
                nj = _poisson(side, tv, tails)
                if nj > 0:
                    sv = 0.0
                    for i in range(nj):
                        b = philox4x64(tt, s, np.uint64(1 + i // 4), zero, k0, k1)
                        lane = i % 4
                        word = b[0] if lane == 0 else (b[1] if lane == 1 else (b[2] if lane == 2 else b[3]))
                        side, tv = _side_v(word)
                        sv -= mu_v * _log_u(side, tv)
                    vj += sv
                    mean += nj * mu_y + rho_j * sv
                    var += nj * sy2
            if var < _TINY_VAR:
                var = _TINY_VAR
            d = r[t] - mean
            lw[j] = -0.5 * (_LOG_2PI + math.log(var) + d * d / var)
            vn[j] = vj
            if lw[j] > top:
                top = lw[j]
        if not (top > -np.inf):
            out_ll[t] = -np.inf
            out_mean[t] = np.nan
            out_sd[t] = np.nan
            out_ess[t] = 0.0
            return v
        sw = 0.0
        sw2 = 0.0
        s1 = 0.0
        for j in range(m):
            wj = math.exp(lw[j] - top)
            w[j] = wj
            sw += wj
            sw2 += wj * wj
            s1 += wj * vn[j]
        mean_v = s1 / sw
        s2v = 0.0
        for j in range(m):
            dv = vn[j] - mean_v
            s2v += w[j] * dv * dv
        out_ll[t] = top + math.log(sw / m)
        out_mean[t] = mean_v
        out_sd[t] = math.sqrt(s2v / sw)
        out_ess[t] = sw * sw / sw2
        # sorted systematic resampling: one uniform per bar from the resampling slot
        sort_order(vn, order, start, keys)
        b0, _b1, _b2, _b3 = philox4x64(tt, rs_stream, zero, zero, k0, k1)
        u = (np.float64(b0 >> np.uint64(11)) + 0.5) * 2.0**-53
        step = sw / m
        pos = u * step
        acc = w[order[0]]
        k = 0
        for i in range(m):
            while acc < pos and k < m - 1:
                k += 1
                acc += w[order[k]]
            v[i] = vn[order[k]]
            pos += step
    return v


@njit(cache=True, inline="always")
def _word_at(c: np.uint64, s: np.uint64, k0: np.uint64, k1: np.uint64) -> np.uint64:
    """Word ``c`` of stream ``s``: lane ``c % 4`` of Philox block ``c // 4`` (the path kernels' layout)."""
    zero = np.uint64(0)
    b0, b1, b2, b3 = philox4x64(c >> np.uint64(2), s, zero, zero, k0, k1)
    lane = c & np.uint64(3)
    if lane == np.uint64(0):
        return b0
    if lane == np.uint64(1):
        return b1
    return b2 if lane == np.uint64(2) else b3


@njit(cache=True)
def sv_adapted_step(
    cst: np.ndarray,
    tails: np.ndarray,
    jump: np.ndarray,
    x: np.ndarray,
    v: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    y: float,
    s_obs: float,
    log_w: np.ndarray,
    x_out: np.ndarray,
    v_out: np.ndarray,
    cn_out: np.ndarray,
    out: np.ndarray,
) -> tuple[float, float]:
    """One observed bar of the Heston/SVCJ state space, fully adapted in the log price; returns (increment, ESS).

    Each particle draws its variance step (QE, jump count and variance jumps) from its own stream, words in
    the order of the path kernel (variance, price shock, jump count, ``N`` exponentials, jump-size shock);
    given them the bar's log return ``R`` is ``N(m, s2)`` (see the module doc) and the observed log close
    ``y = x + R + e``, ``e ~ N(0, s_obs^2)``.  The weight is the predictive density ``N(y - x; m, s2 + s_obs^2)``
    and the new log price ``x + m + k (y - x - m) + sqrt(k) s_obs z`` (``k = s2 / (s2 + s_obs^2)``, ``z`` the
    particle's price shock): a draw from ``R | y``.  ``out`` receives the normalised log-weights.
    """
    m = x.shape[0]
    k0 = key[0]
    k1 = key[1]
    one = np.uint64(1)
    kk0 = cst[_I_K0]
    kk1 = cst[_I_K1]
    kk2 = cst[_I_K2]
    kk3 = cst[_I_K3]
    kk4 = cst[_I_K4]
    drift = cst[_I_DRIFT]
    has_jumps = tails.shape[0] > 0
    mu_y = jump[0]
    sy2 = jump[1] * jump[1]
    mu_v = jump[2]
    rho_j = jump[3]
    s2o = s_obs * s_obs
    lls = np.empty(m)
    for j in range(m):
        s = stream[j]
        c = counter[j]
        vt = v[j]
        vd = _qe_draw(vt, _word_at(c, s, k0, k1), cst, coef, p_min, m_bits, tail, key, s, c)
        c = c + one
        wz = _word_at(c, s, k0, k1)
        z = table_z(wz, coef, p_min, m_bits, tail, key, s, c)
        c = c + one
        mean = drift + kk0 + kk1 * vt + kk2 * vd
        var = kk3 * vt + kk4 * vd
        vj = vd
        if has_jumps:
            side, tv = _side_v(_word_at(c, s, k0, k1))
            c = c + one
            nj = _poisson(side, tv, tails)
            if nj > 0:
                sv = 0.0
                for _ in range(nj):
                    side, tv = _side_v(_word_at(c, s, k0, k1))
                    sv -= mu_v * _log_u(side, tv)
                    c = c + one
                c = c + one  # the jump-size shock of the path kernel: integrated out here
                vj += sv
                mean += nj * mu_y + rho_j * sv
                var += nj * sy2
        tot = var + s2o
        d = y - x[j] - mean
        ll = -0.5 * (_LOG_2PI + math.log(tot) + d * d / tot)
        k = var / tot
        x_out[j] = x[j] + mean + k * d + math.sqrt(k) * s_obs * z
        v_out[j] = vj
        cn_out[j] = c
        lls[j] = ll
    return reweight(log_w, lls, out)


@njit(cache=True)
def merton_adapted_step(
    drift: float,
    vol: float,
    mu_j: float,
    sigma_j: float,
    tails: np.ndarray,
    x: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    y: float,
    s_obs: float,
    log_w: np.ndarray,
    x_out: np.ndarray,
    cn_out: np.ndarray,
    out: np.ndarray,
) -> tuple[float, float]:
    """The observed bar of a Merton log price, fully adapted (as :func:`sv_adapted_step`, no variance state).

    Words in the path kernel's order (price shock, jump count, jump-size shock when ``N > 0``); given the jump
    count ``N`` the bar's log return is ``N(drift + N mu_j, vol^2 + N sigma_j^2)`` (per-bar units).
    """
    m = x.shape[0]
    k0 = key[0]
    k1 = key[1]
    one = np.uint64(1)
    has_jumps = tails.shape[0] > 0
    s2o = s_obs * s_obs
    lls = np.empty(m)
    for j in range(m):
        s = stream[j]
        c = counter[j]
        z = table_z(_word_at(c, s, k0, k1), coef, p_min, m_bits, tail, key, s, c)
        c = c + one
        mean = drift
        var = vol * vol
        if has_jumps:
            side, tv = _side_v(_word_at(c, s, k0, k1))
            c = c + one
            nj = _poisson(side, tv, tails)
            if nj > 0:
                c = c + one  # the jump-size shock of the path kernel: integrated out here
                mean += nj * mu_j
                var += nj * sigma_j * sigma_j
        tot = var + s2o
        d = y - x[j] - mean
        ll = -0.5 * (_LOG_2PI + math.log(tot) + d * d / tot)
        k = var / tot
        x_out[j] = x[j] + mean + k * d + math.sqrt(k) * s_obs * z
        cn_out[j] = c
        lls[j] = ll
    return reweight(log_w, lls, out)
