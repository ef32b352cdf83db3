r"""Heston and SVCJ path kernels: Andersen's (2007) quadratic-exponential (QE) scheme, plus jumps; numpy twins.

Model (annualised; ``x = ln S``)::

    dx = (mu - lam mbar - v / 2) dt + sqrt(v) dW1 + dJ_y
    dv = kappa (theta - v) dt + xi sqrt(v) dW2 + dJ_v,      d<W1, W2> = rho dt

``J`` is compound Poisson with intensity ``lam`` (per year); a jump moves
``v`` by ``Z_v ~ Exp(mean mu_v)`` and ``x`` by ``Z_y | Z_v ~ N(mu_y + rho_j Z_v,
sigma_y^2)`` at the same time (SVCJ, Duffie, Pan and Singleton 2000);
``mbar = E[e^{Z_y}] - 1 = e^{mu_y + sigma_y^2 / 2} / (1 - rho_j mu_v) - 1``
makes ``mu`` the expected rate of return of ``S``.  ``lam = 0`` is Heston.

Variance step (QE, Andersen 2007, section 3.2.4), with ``E = e^{-kappa dt}``::

    m   = theta + (v - theta) E
    s^2 = v xi^2 E (1 - E) / kappa + theta xi^2 (1 - E)^2 / (2 kappa)
    psi = s^2 / m^2
    psi <= psi_c (1.5):  b^2 = 2/psi - 1 + sqrt(2/psi) sqrt(2/psi - 1),  a = m / (1 + b^2),
                         v' = a (b + Z_v)^2
    psi >  psi_c:        p = (psi - 1) / (psi + 1),  beta = (1 - p) / m,
                         v' = 0 if U_v <= p else ln((1 - p) / (1 - U_v)) / beta

``Z_v = Phi^{-1}(U_v)``: one generator word gives ``U_v`` (exponential
branch) or ``Z_v`` (quadratic branch).  Log-price step (Andersen's
eq. 33, ``gamma1 = gamma2 = 1/2``), which carries the correlation::

    x' = x + mu' dt + K0 + K1 v + K2 v' + sqrt(K3 v + K4 v') Z
    K0 = -rho kappa theta dt / xi
    K1 = gamma1 dt (kappa rho / xi - 1/2) - rho / xi
    K2 = gamma2 dt (kappa rho / xi - 1/2) + rho / xi
    K3 = gamma1 dt (1 - rho^2),   K4 = gamma2 dt (1 - rho^2)

Martingale correction (Andersen's section 4.2): ``K0`` is replaced by
``K0* = -ln M - (K1 + K3 / 2) v`` with ``A = K2 + K4 / 2`` and
``M = E[e^{A v'} | v]``: ``exp(A b^2 a / (1 - 2 A a)) / sqrt(1 - 2 A a)``
(quadratic branch) or ``p + beta (1 - p) / (beta - A)`` (exponential
branch), so that ``E[e^{x' - x - mu' dt}] = 1`` exactly in the scheme (where
``A < 1 / (2a)`` resp. ``A < beta``; elsewhere ``K0`` is kept).

Jumps (SVCJ) are applied at the end of the step: ``N ~ Poisson(lam dt)`` by
inversion of one word, then ``S_v = sum of N Exp(mu_v)`` from ``N`` words
(``-mu_v ln U``) and ``S_y = N mu_y + rho_j S_v + sigma_y sqrt(N) Z_y`` from
one word: the exact law of the step's jump sums.  ``v' += S_v``, ``x' += S_y``.

Words per step and path: 2 (Heston); 3, plus ``N + 1`` when ``N > 0`` (SVCJ).
Paths run in blocks of :data:`~.draws.PATH_BLOCK` (``prange`` over blocks,
steps inside, paths innermost), each from its own Philox stream, so a path's
numbers depend only on ``(seed, path, counter)``, never on the thread count.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from ...errors import SimulationError
from .._rng import StreamState, philox4x64, stream_words_numpy, word_side_and_v
from .draws import PATH_BLOCK, table_z, table_z_numpy

__all__ = [
    "PSI_C",
    "poisson_tail_table",
    "qe_constants",
    "paths_surface",
    "simulate_sv",
    "simulate_sv_numpy",
    "simulate_sv_result",
    "stationary_sv_returns",
    "sv_words_per_step",
]

#: Switching level of the QE scheme between the quadratic and the exponential branch.
PSI_C = 1.5

_MASK52 = np.uint64((1 << 52) - 1)
_I_E, _I_C1, _I_C2, _I_K0, _I_K1, _I_K2, _I_K3, _I_K4, _I_A, _I_DRIFT, _I_THETA, _I_PSIC = range(12)


def qe_constants(
    kappa: float, theta: float, xi: float, rho: float, dt: float, drift: float, psi_c: float = PSI_C
) -> np.ndarray:
    """Per-step constants of the QE scheme, shared by the kernel and its twin.

    Parameters
    ----------
    kappa, theta, xi, rho
        Heston parameters (1/year, 1/year, 1/sqrt(year), -).
    dt
        Step length in years.
    drift
        Drift of ``x`` per step that is not carried by ``K0 .. K4`` (``(mu - lam mbar) dt``).
    psi_c
        Branch switching level.

    Returns
    -------
    numpy.ndarray
        ``[E, c1, c2, K0, K1, K2, K3, K4, A, drift, theta, psi_c]`` with
        ``s^2 = c1 v + c2``.
    """
    e = math.exp(-kappa * dt)
    c1 = xi * xi * e * (1.0 - e) / kappa
    c2 = theta * xi * xi * (1.0 - e) ** 2 / (2.0 * kappa)
    g1 = g2 = 0.5
    k0 = -rho * kappa * theta * dt / xi
    k1 = g1 * dt * (kappa * rho / xi - 0.5) - rho / xi
    k2 = g2 * dt * (kappa * rho / xi - 0.5) + rho / xi
    k3 = g1 * dt * (1.0 - rho * rho)
    k4 = g2 * dt * (1.0 - rho * rho)
    a = k2 + 0.5 * k4
    return np.array([e, c1, c2, k0, k1, k2, k3, k4, a, drift, theta, psi_c], dtype=np.float64)


def poisson_tail_table(lam_dt: float, tol: float = 1e-300) -> np.ndarray:
    """Tail probabilities ``S_n = P(N > n)``, ``N ~ Poisson(lam_dt)``, ``n = 0, 1, ...`` while ``S_n > tol``.

    ``N = min{n : 1 - U >= S_n}`` inverts the Poisson law for a uniform ``U``;
    ``S_0 = -expm1(-lam_dt)`` and ``S_n = S_{n-1} - P(N = n)`` (recursive
    probabilities).  Empty for ``lam_dt = 0``.
    """
    if lam_dt <= 0.0:
        return np.zeros(0, dtype=np.float64)
    out = []
    p = math.exp(-lam_dt)
    s = -math.expm1(-lam_dt)
    n = 0
    while s > tol and n < 10_000:
        out.append(s)
        n += 1
        p *= lam_dt / n
        s -= p
    return np.asarray(out, dtype=np.float64)


def sv_words_per_step(lam_dt: float) -> float:
    """Expected generator words a path consumes per step: ``2`` (Heston) or ``3 + 2 P(N>0) + E N - P(N>0)``."""
    if lam_dt <= 0.0:
        return 2.0
    p_any = -math.expm1(-lam_dt)
    return 3.0 + lam_dt + p_any


# --------------------------------------------------------------------------
# numba pieces
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _word(buf: np.ndarray, jj: int, c: np.uint64, stream: np.uint64, k0: np.uint64, k1: np.uint64) -> np.uint64:
    """Word ``c`` of ``stream`` (refreshes the block buffer row ``jj`` at lane 0)."""
    lane = c & np.uint64(3)
    if lane == np.uint64(0):
        zero = np.uint64(0)
        b0, b1, b2, b3 = philox4x64(c >> np.uint64(2), stream, zero, zero, k0, k1)
        buf[jj, 0] = b0
        buf[jj, 1] = b1
        buf[jj, 2] = b2
        buf[jj, 3] = b3
    return buf[jj, np.intp(lane)]


@njit(cache=True, inline="always")
def _side_v(word: np.uint64) -> tuple[int, float]:
    """Side bit and tail distance ``v = min(u, 1 - u) = (2k + 1) 2**-54`` of a word (see :mod:`.._rng`)."""
    k = (word >> np.uint64(11)) & _MASK52
    return np.intp(word >> np.uint64(63)), np.float64((k << np.uint64(1)) | np.uint64(1)) * 2.0**-54


@njit(cache=True, inline="always")
def _log_one_minus_u(side: int, v: float) -> float:
    """``ln(1 - u)``: ``ln(1 - v)`` below 1/2, ``ln v`` above (full precision near ``u = 1``)."""
    return math.log1p(-v) if side == 0 else math.log(v)


@njit(cache=True, inline="always")
def _log_u(side: int, v: float) -> float:
    """``ln u``: ``ln v`` below 1/2, ``ln(1 - v)`` above."""
    return math.log(v) if side == 0 else math.log1p(-v)


@njit(cache=True, inline="always")
def _poisson(side: int, v: float, tails: np.ndarray) -> int:
    """``N = min{n : 1 - u >= S_n}`` (``tails`` from :func:`poisson_tail_table`)."""
    w = 1.0 - v if side == 0 else v
    n = 0
    while n < tails.shape[0] and w < tails[n]:
        n += 1
    return n


@njit(cache=True)
def _run_block(
    j0: int,
    j1: int,
    n_steps: int,
    cst: np.ndarray,
    martingale: bool,
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
    out_x: np.ndarray,
    out_v: np.ndarray,
    store_x: bool,
    store_v: bool,
) -> None:
    """Advance paths ``j0 .. j1 - 1`` by ``n_steps`` QE(+jump) steps (serial, one task)."""
    nb = j1 - j0
    k0 = key[0]
    k1 = key[1]
    zero = np.uint64(0)
    three = np.uint64(3)
    one = np.uint64(1)
    e_ = cst[_I_E]
    c1 = cst[_I_C1]
    c2 = cst[_I_C2]
    kk0 = cst[_I_K0]
    kk1 = cst[_I_K1]
    kk2 = cst[_I_K2]
    kk3 = cst[_I_K3]
    kk4 = cst[_I_K4]
    aa = cst[_I_A]
    drift = cst[_I_DRIFT]
    theta = cst[_I_THETA]
    psi_c = cst[_I_PSIC]
    has_jumps = tails.shape[0] > 0
    mu_y = jump[0]
    sigma_y = jump[1]
    mu_v = jump[2]
    rho_j = jump[3]
    buf = np.empty((nb, 4), dtype=np.uint64)
    for jj in range(nb):
        c = counter[j0 + jj]
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> np.uint64(2), stream[j0 + jj], zero, zero, k0, k1)
            buf[jj, 0] = b0
            buf[jj, 1] = b1
            buf[jj, 2] = b2
            buf[jj, 3] = b3
    for t in range(n_steps):
        for jj in range(nb):
            j = j0 + jj
            s = stream[j]
            c = counter[j]
            vt = v[j]
            # variance: one word, U_v or Z_v
            wv = _word(buf, jj, c, s, k0, k1)
            m = theta + (vt - theta) * e_
            s2 = vt * c1 + c2
            psi = s2 / (m * m)
            log_m = 0.0
            if psi <= psi_c:
                ipsi = 2.0 / psi
                b2 = ipsi - 1.0 + math.sqrt(ipsi) * math.sqrt(ipsi - 1.0)
                a = m / (1.0 + b2)
                zv = table_z(wv, coef, p_min, m_bits, tail, key, s, c)
                bz = math.sqrt(b2) + zv
                vn = a * bz * bz
                if martingale and aa < 0.5 / a:
                    den = 1.0 - 2.0 * aa * a
                    log_m = aa * b2 * a / den - 0.5 * math.log(den)
            else:
                p = (psi - 1.0) / (psi + 1.0)
                beta = (1.0 - p) / m
                side, tv = _side_v(wv)
                u_le_p = (tv <= p) if side == 0 else (1.0 - tv <= p)
                vn = 0.0 if u_le_p else (math.log1p(-p) - _log_one_minus_u(side, tv)) / beta
                if martingale and aa < beta:
                    log_m = math.log(p + beta * (1.0 - p) / (beta - aa))
            c = c + one
            # log price: one normal word
            wz = _word(buf, jj, c, s, k0, k1)
            z = table_z(wz, coef, p_min, m_bits, tail, key, s, c)
            c = c + one
            k0s = (-log_m - (kk1 + 0.5 * kk3) * vt) if (martingale and log_m != 0.0) else kk0
            xn = x[j] + drift + k0s + kk1 * vt + kk2 * vn + math.sqrt(kk3 * vt + kk4 * vn) * z
            if has_jumps:
                wn = _word(buf, jj, c, s, k0, k1)
                c = c + one
                side, tv = _side_v(wn)
                n = _poisson(side, tv, tails)
                if n > 0:
                    sv = 0.0
                    for _ in range(n):
                        we = _word(buf, jj, c, s, k0, k1)
                        side, tv = _side_v(we)
                        sv -= mu_v * _log_u(side, tv)
                        c = c + one
                    wy = _word(buf, jj, c, s, k0, k1)
                    zy = table_z(wy, coef, p_min, m_bits, tail, key, s, c)
                    c = c + one
                    vn += sv
                    xn += n * mu_y + rho_j * sv + sigma_y * math.sqrt(n) * zy
            x[j] = xn
            v[j] = vn
            counter[j] = c
            if store_x:
                out_x[t, j] = xn
            if store_v:
                out_v[t, j] = vn


@njit(parallel=True, fastmath=False, cache=True)
def _advance(
    n_steps: int,
    cst: np.ndarray,
    martingale: bool,
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
    out_x: np.ndarray,
    out_v: np.ndarray,
    store_x: bool,
    store_v: bool,
) -> None:
    m = x.shape[0]
    n_blocks = (m + PATH_BLOCK - 1) // PATH_BLOCK
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        _run_block(
            j0, min(m, j0 + PATH_BLOCK), n_steps, cst, martingale, tails, jump, x, v, key, stream, counter,
            coef, p_min, m_bits, tail, out_x, out_v, store_x, store_v,
        )  # fmt: skip


def _prepare(
    dt: float,
    mu: float,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    lam: float,
    mu_y: float,
    sigma_y: float,
    mu_v: float,
    rho_j: float,
    psi_c: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not (kappa > 0 and theta > 0 and xi > 0 and -1.0 <= rho <= 1.0 and dt > 0):
        raise ValueError("need kappa, theta, xi, dt > 0 and -1 <= rho <= 1")
    mbar = 0.0
    if lam > 0.0:
        if not (mu_v >= 0.0 and sigma_y >= 0.0 and rho_j * mu_v < 1.0):
            raise ValueError("need mu_v >= 0, sigma_y >= 0 and rho_j mu_v < 1")
        mbar = math.exp(mu_y + 0.5 * sigma_y**2) / (1.0 - rho_j * mu_v) - 1.0
    cst = qe_constants(kappa, theta, xi, rho, dt, (mu - lam * mbar) * dt, psi_c)
    tails = poisson_tail_table(lam * dt)
    jump = np.array([mu_y, sigma_y, mu_v, rho_j], dtype=np.float64)
    return cst, tails, jump


def simulate_sv(
    x: np.ndarray,
    v: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    mu: float = 0.0,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    lam: float = 0.0,
    mu_y: float = 0.0,
    sigma_y: float = 0.0,
    mu_v: float = 0.0,
    rho_j: float = 0.0,
    martingale: bool = False,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    ppf: tuple[np.ndarray, int, int, np.ndarray],
    store_x: bool = True,
    store_v: bool = False,
    psi_c: float = PSI_C,
    dtype: type = np.float64,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Advance Heston/SVCJ paths in place by ``n_steps`` steps of ``dt`` years (numba, parallel).

    Parameters
    ----------
    x, v
        ``float64 (paths,)`` log prices and variances (1/year), updated in place.
    n_steps, dt
        Steps and step length in years (``year_fraction(bar_seconds, calendar)``).
    mu
        Expected rate of return of ``S`` per year.
    kappa, theta, xi, rho
        Mean reversion (1/year), long-run variance (1/year), vol of variance (1/sqrt(year)), correlation.
    lam, mu_y, sigma_y, mu_v, rho_j
        Jump intensity (1/year), price-jump mean and std (log return), mean variance jump (1/year),
        price-jump loading on the variance jump.  ``lam = 0``: Heston.
    martingale
        Apply Andersen's martingale correction.
    key, stream, counter
        Philox key and per-path stream ids and counters (``counter`` advances in place).
    ppf
        ``PpfTable.kernel_args`` of the standard normal.
    store_x, store_v
        Return the ``(n_steps, paths)`` matrices of log prices / variances after each step.
    psi_c
        QE branch switching level.

    Returns
    -------
    tuple
        ``(xs, vs)``, each ``None`` when not stored.
    """
    cst, tails, jump = _prepare(dt, mu, kappa, theta, xi, rho, lam, mu_y, sigma_y, mu_v, rho_j, psi_c)
    m = x.shape[0]
    out_x = np.empty((n_steps, m), dtype=np.float64) if store_x else np.empty((0, 0), dtype=np.float64)
    out_v = np.empty((n_steps, m), dtype=np.float64) if store_v else np.empty((0, 0), dtype=np.float64)
    coef, p_min, m_bits, tail = ppf
    _advance(
        int(n_steps), cst, bool(martingale), tails, jump, x, v, key, stream, counter, coef, int(p_min), int(m_bits),
        tail, out_x, out_v, bool(store_x), bool(store_v),
    )  # fmt: skip
    xs = out_x.astype(dtype, copy=False) if store_x else None
    vs = out_v.astype(dtype, copy=False) if store_v else None
    return xs, vs


def simulate_sv_numpy(
    x: np.ndarray,
    v: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    mu: float = 0.0,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    lam: float = 0.0,
    mu_y: float = 0.0,
    sigma_y: float = 0.0,
    mu_v: float = 0.0,
    rho_j: float = 0.0,
    martingale: bool = False,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    ppf: tuple[np.ndarray, int, int, np.ndarray],
    psi_c: float = PSI_C,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain-numpy twin of :func:`simulate_sv` (vectorised over paths, steps in Python).

    Updates ``x``, ``v`` and ``counter`` in place and returns the ``(n_steps, paths)``
    log prices and variances.
    """
    cst, tails, jump = _prepare(dt, mu, kappa, theta, xi, rho, lam, mu_y, sigma_y, mu_v, rho_j, psi_c)
    e_, c1, c2, kk0, kk1, kk2, kk3, kk4, aa, drift, th, pc = cst.tolist()
    coef, p_min, m_bits, tail = ppf
    stream = np.asarray(stream, dtype=np.uint64)
    m = x.shape[0]
    out_x = np.empty((n_steps, m))
    out_v = np.empty((n_steps, m))
    log = np.frompyfunc(math.log, 1, 1)
    log1p = np.frompyfunc(math.log1p, 1, 1)
    sqrt = np.sqrt

    def words(c: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        s = stream if idx is None else stream[idx]
        return stream_words_numpy(key, s, c, 1)[0]

    def normals(w: np.ndarray, c: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        s = stream if idx is None else stream[idx]
        return table_z_numpy(w, coef, p_min, m_bits, tail, key, s, c)

    for t in range(n_steps):
        vt = v.copy()
        c = counter.copy()
        wv = words(c)
        m_ = th + (vt - th) * e_
        s2 = vt * c1 + c2
        psi = s2 / (m_ * m_)
        quad = psi <= pc
        vn = np.empty(m)
        log_m = np.zeros(m)
        # quadratic branch
        ipsi = 2.0 / psi[quad]
        b2 = ipsi - 1.0 + sqrt(ipsi) * sqrt(ipsi - 1.0)
        a = m_[quad] / (1.0 + b2)
        zv = normals(wv[quad], c[quad], np.flatnonzero(quad))
        bz = sqrt(b2) + zv
        vn[quad] = a * bz * bz
        if martingale:
            ok = aa < 0.5 / a
            den = 1.0 - 2.0 * aa * a[ok]
            lm = np.zeros(a.shape)
            lm[ok] = aa * b2[ok] * a[ok] / den - 0.5 * log(den).astype(float)
            log_m[quad] = lm
        # exponential branch
        ex = ~quad
        if ex.any():
            p = (psi[ex] - 1.0) / (psi[ex] + 1.0)
            beta = (1.0 - p) / m_[ex]
            side, tv = word_side_and_v(wv[ex])
            u_le_p = np.where(side == 0, tv <= p, 1.0 - tv <= p)
            l1u = np.where(side == 0, log1p(-tv).astype(float), log(tv).astype(float))
            vn[ex] = np.where(u_le_p, 0.0, (log1p(-p).astype(float) - l1u) / beta)
            if martingale:
                ok = aa < beta
                lm = np.zeros(p.shape)
                lm[ok] = log(p[ok] + beta[ok] * (1.0 - p[ok]) / (beta[ok] - aa)).astype(float)
                log_m[ex] = lm
        c = c + np.uint64(1)
        z = normals(words(c), c)
        c = c + np.uint64(1)
        use = martingale & (log_m != 0.0)
        k0s = np.where(use, -log_m - (kk1 + 0.5 * kk3) * vt, kk0)
        xn = x + drift + k0s + kk1 * vt + kk2 * vn + sqrt(kk3 * vt + kk4 * vn) * z
        if tails.shape[0]:
            side, tv = word_side_and_v(words(c))
            c = c + np.uint64(1)
            w = np.where(side == 0, 1.0 - tv, tv)
            n = (w[:, None] < tails[None, :]).cumprod(axis=1).sum(axis=1)
            sv = np.zeros(m)
            for k in range(int(n.max(initial=0))):
                idx = np.flatnonzero(n > k)
                side, tv = word_side_and_v(words(c[idx], idx))
                lu = np.where(side == 0, log(tv).astype(float), log1p(-tv).astype(float))
                sv[idx] -= jump[2] * lu
                c[idx] += np.uint64(1)
            idx = np.flatnonzero(n > 0)
            if idx.size:
                zy = normals(words(c[idx], idx), c[idx], idx)
                c[idx] += np.uint64(1)
                nn = n[idx].astype(float)
                vn[idx] += sv[idx]
                xn[idx] += nn * jump[0] + jump[3] * sv[idx] + jump[1] * sqrt(nn) * zy
        x[:] = xn
        v[:] = vn
        counter[:] = c
        out_x[t] = xn
        out_v[t] = vn
    return out_x, out_v


# --------------------------------------------------------------------------
# registry adapters: fitted result -> Paths / Fan
# --------------------------------------------------------------------------
def _seed_int(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    return int(seed)


#: Steps per block when a fan's quantiles and moments are taken from path matrices (a block of a 60,000-path
#: pool stays within a few MiB).
_ROWS = 8


def paths_surface(
    log_prices: np.ndarray | Sequence[np.ndarray],
    *,
    mode: str,
    start: Any,
    bar_seconds: float,
    calendar: Any,
    meta: dict[str, Any],
    quantiles: Any = None,
    n_sample_paths: int = 20,
    step_times: Any = None,
    sample_columns: Sequence[tuple[int, int]] | None = None,
) -> Any:
    """``(steps + 1, paths)`` log prices as a :class:`~volresearch.simulate.results.Paths` (``mode="matrix"``)
    or a :class:`~volresearch.simulate.results.Fan` (``mode="bands"``: quantiles by :mod:`volresearch.quantiles`).

    ``log_prices`` may be a list of such matrices with the same steps (the blocks of a pooled sample, e.g. an
    ensemble's members): the paths are their columns, block after block; in bands mode the blocks are never
    joined into one matrix.  ``sample_columns`` names the sample paths as ``(block, column)`` pairs (default:
    the first ``n_sample_paths`` columns).  Steps are labelled by ``step_times`` when given (``steps + 1``
    times, the first the start), else by the session clock of ``calendar`` for bars shorter than a day, else
    every ``bar_seconds`` from ``start``.
    """
    from volresearch.simulate.results import (
        DEFAULT_QUANTILES,
        SUMMARY_LEVELS,
        Fan,
        Paths,
        _row_quantiles,
        session_step_times,
    )

    blocks = [log_prices] if isinstance(log_prices, np.ndarray) else list(log_prices)
    horizon = blocks[0].shape[0] - 1
    if step_times is not None:
        step_times = pd.DatetimeIndex(step_times)
        start = step_times[0]
    elif calendar is not None and start is not None and bar_seconds < 86_400:
        step_times = session_step_times(calendar, start, horizon, bar_seconds)
        start = step_times[0]
    if mode == "matrix":
        matrix = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
        return Paths(log_prices=matrix, start=start, bar_seconds=bar_seconds, meta=meta, step_times=step_times)
    probs = np.union1d(np.asarray(quantiles or DEFAULT_QUANTILES, dtype=float), np.asarray(SUMMARY_LEVELS))
    # quantiles are order statistics and exp is increasing: the bands are exp of the log-price quantiles
    # (the package's rule, by the parallel row kernel); quantiles and price moments run over blocks of steps,
    # so neither a second (steps + 1, paths) matrix of prices nor the joined blocks are held
    rows = horizon + 1
    bands = np.empty((rows, probs.size))
    mean = np.empty(rows)
    std = np.empty(rows)
    for lo in range(0, rows, _ROWS):
        chunk = (
            blocks[0][lo : lo + _ROWS] if len(blocks) == 1 else np.concatenate([b[lo : lo + _ROWS] for b in blocks], 1)
        )
        bands[lo : lo + _ROWS] = np.exp(_row_quantiles(chunk, None, probs))
        price = np.exp(chunk)
        mean[lo : lo + _ROWS] = price.mean(axis=1)
        std[lo : lo + _ROWS] = price.std(axis=1)
    n_total = sum(b.shape[1] for b in blocks)
    if sample_columns is None:  # the first columns, block after block
        want = int(min(max(int(n_sample_paths), 0), n_total))
        every = ((b, c) for b, block in enumerate(blocks) for c in range(block.shape[1]))
        sample_columns = list(itertools.islice(every, want))
    sample = np.column_stack([blocks[b][:, c] for b, c in sample_columns]) if sample_columns else None
    return Fan(
        levels=probs,
        bands=bands,
        terminal_prices=np.exp(np.concatenate([b[-1] for b in blocks])),
        mean=mean,
        std=std,
        sample_paths=np.exp(sample) if sample is not None else None,
        start=start,
        bar_seconds=bar_seconds,
        meta=meta,
        step_times=step_times,
    )


def simulate_sv_result(
    result: Any,
    n_paths: int,
    horizon: int,
    seed: Any,
    *,
    start: Any = None,
    calendar: Any = None,
    mode: str = "bands",
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Registry kernel adapter of Heston/SVCJ results (``result.kernel`` ``"heston"`` or ``"svcj"``).

    Paths start at ``ln(last_price)`` with variance ``v`` of :meth:`filter_state` (overridable through
    ``state``, e.g. a filtered ``v``), and advance ``horizon`` QE steps of ``dt = result.dt`` years.
    ``options``: ``last_price``, ``martingale`` (default False: real-world drift ``mu``), ``quantiles``,
    ``n_sample_paths``.
    """
    st = {**result.filter_state(), **dict(state or {})}
    price = float(options.pop("last_price", st["last_price"]))
    if not (math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: the fit was made on returns; pass last_price=")
    p = result.simulation_params()
    kw = {k: p[k] for k in ("mu", "kappa", "theta", "xi", "rho")}
    if "lam" in p:
        kw.update({k: p[k] for k in ("lam", "mu_y", "sigma_y", "mu_v", "rho_j")})
    seed_int = _seed_int(seed)
    ss = StreamState.create(seed_int, int(n_paths))
    x = np.full(int(n_paths), math.log(price))
    v = np.full(int(n_paths), float(st["v"]))
    from volresearch.simulate.engine import innovation_table

    xs, _ = simulate_sv(
        x, v, int(horizon), float(p["dt"]), martingale=bool(options.pop("martingale", False)), key=ss.key,
        stream=ss.stream, counter=ss.counter, ppf=innovation_table("normal", {}).kernel_args, **kw,
    )  # fmt: skip
    logp = np.vstack([np.full((1, int(n_paths)), math.log(price)), xs])
    meta = {"model": result.model, "params": dict(result.params), "seed": seed_int, "dt": float(p["dt"])}
    cal = result.calendar if calendar is None else calendar
    return paths_surface(
        logp, mode=mode, start=st.get("end") if start is None else start, bar_seconds=result.bar_seconds,
        calendar=cal, meta=meta, **options,
    )  # fmt: skip


def stationary_sv_returns(
    params: Mapping[str, float], n_paths: int, n_steps: int, dt: float, seed: int = 0
) -> np.ndarray:
    """One-bar log returns of ``n_paths`` Heston/SVCJ paths started from the stationary variance law.

    ``v_0`` of path ``j`` is the CIR stationary Gamma law (shape ``2 kappa theta / xi^2``, scale
    ``xi^2 / (2 kappa)``) at the fixed probability ``(j + 1/2) / n_paths`` (stratified, and common to
    every parameter set: with a fixed ``seed`` the returns are smooth functions of the parameters except at
    the QE branch switch, as simulated method of moments needs).  ``params`` as :func:`simulate_sv` takes
    them (``mu``, ``kappa``, ``theta``, ``xi``, ``rho``, optional jump parameters); ``dt`` in years.

    Returns
    -------
    numpy.ndarray
        ``(n_steps, n_paths)`` log returns.
    """
    from scipy import stats

    from volresearch.simulate.engine import innovation_table

    kappa, theta, xi = params["kappa"], params["theta"], params["xi"]
    shape = 2.0 * kappa * theta / (xi * xi)
    u = (np.arange(n_paths) + 0.5) / n_paths
    v = stats.gamma.ppf(u, shape, scale=xi * xi / (2.0 * kappa)).astype(np.float64)
    x = np.zeros(n_paths)
    ss = StreamState.create(seed, n_paths)
    kw = {k: float(params[k]) for k in ("mu", "kappa", "theta", "xi", "rho", "lam", "mu_y", "sigma_y", "mu_v",
                                        "rho_j") if k in params}  # fmt: skip
    xs, _ = simulate_sv(x, v, n_steps, dt, key=ss.key, stream=ss.stream, counter=ss.counter,
                        ppf=innovation_table("normal", {}).kernel_args, **kw)  # fmt: skip
    return np.diff(np.vstack([np.zeros((1, n_paths)), xs]), axis=0)
