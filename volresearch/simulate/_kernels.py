"""Numba kernels of the GARCH-family path simulator, and their numpy twins.

Model, in per-bar log-return units::

    r_t = mu + e_t,    e_t = sigma_t z_t,    x_{t+1} = x_t + r_t
    GARCH / GJR:  sigma2_{t+1} = omega + (alpha + gamma 1[e_t < 0]) e_t**2 + beta sigma2_t
    EGARCH:       ln sigma2_{t+1} = omega + alpha (|z_t| - sqrt(2/pi)) + gamma z_t
                                    + beta ln sigma2_t

``x`` is the log price, ``z_t`` an iid standardised innovation obtained from
the path's own Philox stream (:mod:`volresearch.simulate._rng`) through a
tabulated inverse cdf (:mod:`volresearch.simulate.innovations`).  Every
step feeds the *realised* shock ``e_t`` back into the variance, so each path
carries its own volatility clustering.  ``sqrt(2/pi)`` in EGARCH is ``E|z|``
of a normal and is used whatever the innovation law, as ``arch`` does.

Layout.  Kernels take preallocated arrays; the state of path ``j`` is the
log price ``x[j]``, the variance of its next step ``sigma2[j]`` and its
generator counter ``counter[j]`` (stream id ``stream[j]``), all updated in
place so that a later call continues each path exactly where it stopped.
Paths are processed in blocks of :data:`PATH_BLOCK` (``prange`` over blocks,
steps inside, the block's paths innermost): consecutive paths write
consecutive addresses of a ``(steps + 1, paths)`` array and the block's
independent recursions overlap in the CPU pipeline.  A path's numbers depend
only on ``(key, stream, counter)``, so results do not depend on the thread
count.

Band mode.  Steps are simulated in blocks of ``K`` rows for all paths into
a ``(2, K, paths)`` scratch buffer; one parallel region simulates the next
block while it summarises the previous one, so memory is ``O(K paths +
steps)``.  Quantiles reproduce ``numpy.quantile(..., method="linear")`` bit
for bit: the same order statistics (found in ``O(n)`` by bucketing the row
and selecting inside the few buckets that hold a requested rank, instead of
sorting) and numpy's own interpolation ``a + (b - a) g`` for ``g < 1/2``,
``b - (b - a)(1 - g)`` otherwise.  Weighted quantiles follow
:func:`weighted_quantile_numpy`.  Price moments use a vectorisable
``expm1`` (:func:`expm1_fast`, about 2 ulp).

Every kernel has a plain-numpy twin (``*_numpy``) that the tests compare
with it exactly.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ._rng import clz64, philox4x64, stream_words_numpy

__all__ = [
    "EGARCH",
    "GARCH",
    "GJR",
    "PATH_BLOCK",
    "SQRT_2_OVER_PI",
    "advance_states",
    "advance_states_numpy",
    "draw_innovations",
    "draw_innovations_numpy",
    "expm1_fast",
    "linear_quantile_plan",
    "matrix_quantiles",
    "order_statistics",
    "select_ranks",
    "simulate_bands",
    "simulate_bands_numpy",
    "simulate_matrix",
    "simulate_matrix_numpy",
    "step_variance",
    "step_variance_numpy",
    "table_z",
    "table_z_numpy",
    "weighted_brackets",
    "weighted_quantile_numpy",
    "weighted_quantiles_row",
]

#: Model codes understood by the kernels.
GARCH = 0
GJR = 1
EGARCH = 2

#: ``E|z|`` of a standard normal, the constant of arch's EGARCH.
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

#: Paths simulated together by one task (innermost loop).
PATH_BLOCK = 64

_MASK52 = np.uint64((1 << 52) - 1)
_POW2NEG = np.ldexp(1.0, -np.arange(64)).astype(np.float64)


# --------------------------------------------------------------------------
# innovations: word -> z through the tabulated inverse cdf
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def table_z(word: np.uint64, coef: np.ndarray, p_min: int, m_bits: int, tail: np.ndarray) -> float:
    """Map one generator word to an innovation through a ppf table (numba).

    The word stands for ``u`` (side bit ``s``, tail distance
    ``v = (2k + 1) 2**-54 = min(u, 1 - u)``).  With ``w = 2k + 1`` and
    ``p = floor(log2 w)``, ``v`` lies in octave ``p`` (``[2**(p-54),
    2**(p-53))``) at mantissa fraction ``t = w / 2**p - 1``.  For
    ``p >= p_min`` the octave is split into ``2**m_bits`` equal intervals and
    ``z`` is the interval's cubic in the fraction ``f`` of ``t``
    (``c0 + f (c1 + f (c2 + f c3))``), read from ``coef[s]``.  Below the
    table (``p < p_min``, probability ``2**(p_min - 54)`` per side) the tail
    continues in the octave coordinate ``y = p - p_min + t < 0`` as
    ``z = a + c exp(-g y) + b y`` with ``tail[s] = (a, c, g, b)``.

    Parameters
    ----------
    word
        A ``uint64`` generator word.
    coef
        ``(2, n_intervals, 4)`` cubic coefficients, side 0 = lower tail.
    p_min, m_bits
        Lowest tabulated octave and log2 of intervals per octave.
    tail
        ``(2, 4)`` tail continuation parameters.

    Returns
    -------
    float
        The innovation ``z = F^{-1}(u)`` to table accuracy.
    """
    side = np.intp(word >> np.uint64(63))
    k = (word >> np.uint64(11)) & _MASK52
    w = (k << np.uint64(1)) | np.uint64(1)
    p = np.int64(63) - np.int64(clz64(w))
    r = w ^ (np.uint64(1) << np.uint64(p))
    if p >= p_min:
        s = p - m_bits
        i = np.int64(r >> np.uint64(s))
        f = np.float64(r & ((np.uint64(1) << np.uint64(s)) - np.uint64(1))) * _POW2NEG[s]
        g = ((p - p_min) << m_bits) + i
        return coef[side, g, 0] + f * (coef[side, g, 1] + f * (coef[side, g, 2] + f * coef[side, g, 3]))
    y = np.float64(p - p_min) + np.float64(r) * _POW2NEG[p]
    return tail[side, 0] + tail[side, 1] * math.exp(-tail[side, 2] * y) + tail[side, 3] * y


def table_z_numpy(words: np.ndarray, coef: np.ndarray, p_min: int, m_bits: int, tail: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`table_z` for an array of words."""
    words = np.asarray(words, dtype=np.uint64)
    side = (words >> np.uint64(63)).astype(np.intp)
    k = (words >> np.uint64(11)) & _MASK52
    w = (k << np.uint64(1)) | np.uint64(1)
    _, e = np.frexp(w.astype(np.float64))  # exact: w < 2**53
    p = (e - 1).astype(np.int64)
    r = w ^ (np.uint64(1) << p.astype(np.uint64))
    z = np.empty(words.shape, dtype=np.float64)
    body = p >= p_min
    if body.any():
        pb, rb, sb = p[body], r[body], side[body]
        s = pb - m_bits
        i = (rb >> s.astype(np.uint64)).astype(np.int64)
        f = (rb & ((np.uint64(1) << s.astype(np.uint64)) - np.uint64(1))).astype(np.float64) * _POW2NEG[s]
        g = ((pb - p_min) << m_bits) + i
        c = coef[sb, g]
        z[body] = c[:, 0] + f * (c[:, 1] + f * (c[:, 2] + f * c[:, 3]))
    deep = ~body
    if deep.any():
        pd_, rd, sd = p[deep], r[deep], side[deep]
        y = (pd_ - p_min).astype(np.float64) + rd.astype(np.float64) * _POW2NEG[pd_]
        zt = [
            tail[s_, 0] + tail[s_, 1] * math.exp(-tail[s_, 2] * y_) + tail[s_, 3] * y_
            for s_, y_ in zip(sd.tolist(), y.tolist(), strict=True)
        ]
        z[deep] = np.array(zt, dtype=np.float64)
    return z


# --------------------------------------------------------------------------
# one step of the variance recursion
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def step_variance(
    model_code: int, e: float, sigma2: float, omega: float, alpha: float, gamma: float, beta: float
) -> float:
    """Variance of the next step given this step's shock (numba, inlined).

    Parameters
    ----------
    model_code
        :data:`GARCH`, :data:`GJR` or :data:`EGARCH`.
    e
        Realised shock ``e_t = sigma_t z_t`` (log-return units).
    sigma2
        This step's variance ``sigma2_t``.
    omega, alpha, gamma, beta
        Recursion parameters (``gamma`` unused by GARCH).

    Returns
    -------
    float
        ``sigma2_{t+1}``: ``omega + (alpha + gamma 1[e < 0]) e**2 + beta sigma2``
        (GARCH, GJR) or ``exp(omega + alpha (|z| - sqrt(2/pi)) + gamma z +
        beta ln sigma2)`` with ``z = e / sqrt(sigma2)`` (EGARCH).
    """
    if model_code == EGARCH:
        z = e / math.sqrt(sigma2)
        return math.exp(omega + alpha * (abs(z) - SQRT_2_OVER_PI) + gamma * z + beta * math.log(sigma2))
    # branch-free select: the sign of e is a coin flip, a branch mispredicts
    a = alpha + (gamma if (model_code == GJR) & (e < 0.0) else 0.0)
    return omega + a * (e * e) + beta * sigma2


def step_variance_numpy(
    model_code: int, e: np.ndarray, sigma2: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """Numpy twin of :func:`step_variance` (vectorised over paths).

    ``exp``/``log`` go through :mod:`math` element by element so that the
    twin uses the same libm as the compiled kernel.
    """
    e = np.asarray(e, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if model_code == EGARCH:
        z = e / np.sqrt(sigma2)
        lin = np.array([math.log(s) for s in sigma2.tolist()], dtype=np.float64)
        arg = omega + alpha * (np.abs(z) - SQRT_2_OVER_PI) + gamma * z + beta * lin
        return np.array([math.exp(a) for a in arg.tolist()], dtype=np.float64)
    a = np.full(e.shape, alpha)
    if model_code == GJR:
        a = np.where(e < 0.0, alpha + gamma, alpha)
    return omega + a * (e * e) + beta * sigma2


# --------------------------------------------------------------------------
# path advance (shared by every mode)
# --------------------------------------------------------------------------
@njit(cache=True)
def _run_paths(
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
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    row0: int,
    store: bool,
) -> None:
    """Advance paths ``j0 .. j1 - 1`` by ``n_steps`` (serial, one task).

    Writes ``x_{t+1}`` to ``out[row0 + t, j]`` when ``store``; updates
    ``x``, ``sigma2`` and ``counter`` of the block in place.
    """
    nb = j1 - j0
    xs = np.empty(nb)
    vs = np.empty(nb)
    cn = np.empty(nb, dtype=np.uint64)
    buf = np.empty((nb, 4), dtype=np.uint64)
    k0 = key[0]
    k1 = key[1]
    zero = np.uint64(0)
    three = np.uint64(3)
    two = np.uint64(2)
    for jj in range(nb):
        j = j0 + jj
        xs[jj] = x[j]
        vs[jj] = sigma2[j]
        c = counter[j]
        cn[jj] = c
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> two, stream[j], zero, zero, k0, k1)
            buf[jj, 0] = b0
            buf[jj, 1] = b1
            buf[jj, 2] = b2
            buf[jj, 3] = b3
    for t in range(n_steps):
        row = row0 + t
        for jj in range(nb):
            c = cn[jj]
            lane = c & three
            if lane == zero:
                b0, b1, b2, b3 = philox4x64(c >> two, stream[j0 + jj], zero, zero, k0, k1)
                buf[jj, 0] = b0
                buf[jj, 1] = b1
                buf[jj, 2] = b2
                buf[jj, 3] = b3
            word = buf[jj, np.intp(lane)]
            cn[jj] = c + np.uint64(1)
            z = table_z(word, coef, p_min, m_bits, tail)
            v = vs[jj]
            e = math.sqrt(v) * z
            xn = xs[jj] + (mu + e)
            xs[jj] = xn
            if store:
                out[row, j0 + jj] = xn
            vs[jj] = step_variance(model_code, e, v, omega, alpha, gamma, beta)
    for jj in range(nb):
        j = j0 + jj
        x[j] = xs[jj]
        sigma2[j] = vs[jj]
        counter[j] = cn[jj]


@njit(parallel=True, fastmath=False, cache=True)
def _advance_all(
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    row0: int,
    store: bool,
) -> None:
    """``prange`` over blocks of :data:`PATH_BLOCK` paths of :func:`_run_paths`."""
    n = x.shape[0]
    n_blocks = (n + PATH_BLOCK - 1) // PATH_BLOCK
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        j1 = min(n, j0 + PATH_BLOCK)
        _run_paths(
            j0, j1, n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
            coef, p_min, m_bits, tail, out, row0, store,
        )  # fmt: skip


@njit(cache=True)
def simulate_matrix(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill a ``(steps + 1, paths)`` log-price matrix (full matrix mode).

    Parameters
    ----------
    model_code, mu, omega, alpha, gamma, beta
        Model and parameters (per-bar log-return units).
    x
        ``float64 (paths,)`` initial log prices ``x_0``; on return the
        terminal log prices ``x_steps``.
    sigma2
        ``float64 (paths,)`` variance of the first step ``sigma2_1``; on
        return ``sigma2_{steps+1}``.
    key, stream, counter
        Generator state (:class:`~volresearch.simulate._rng.StreamState`);
        ``counter`` advances by ``steps``.
    coef, p_min, m_bits, tail
        Innovation table (:class:`~volresearch.simulate.innovations.PpfTable`).
    out
        ``float64`` or ``float32`` array ``(steps + 1, paths)``; row 0
        receives ``x_0`` and row ``t`` the log price after ``t`` steps.
    """
    for j in range(x.shape[0]):
        out[0, j] = x[j]
    _advance_all(
        out.shape[0] - 1, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
        coef, p_min, m_bits, tail, out, 1, True,
    )  # fmt: skip


@njit(cache=True)
def advance_states(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
) -> None:
    """Advance ``(x, sigma2, counter)`` of every path by ``n_steps`` in place.

    The building block of a particle filter: each path uses its own shocks,
    and calling it for ``a`` then ``b`` steps gives bit for bit the state of
    one call for ``a + b`` steps (and the rows of :func:`simulate_matrix`).
    Arguments as in :func:`simulate_matrix`; nothing is stored per step.
    Callable from other numba functions.
    """
    no_out = np.empty((0, 0), dtype=np.float64)
    _advance_all(
        n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
        coef, p_min, m_bits, tail, no_out, 0, False,
    )  # fmt: skip


@njit(cache=True)
def _draw_block(
    j0: int,
    j1: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
) -> None:
    """Innovations of paths ``j0 .. j1 - 1`` (serial, one task)."""
    nb = j1 - j0
    zero = np.uint64(0)
    three = np.uint64(3)
    two = np.uint64(2)
    cn = np.empty(nb, dtype=np.uint64)
    buf = np.empty((nb, 4), dtype=np.uint64)
    for jj in range(nb):
        c = counter[j0 + jj]
        cn[jj] = c
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> two, stream[j0 + jj], zero, zero, key[0], key[1])
            buf[jj, 0] = b0
            buf[jj, 1] = b1
            buf[jj, 2] = b2
            buf[jj, 3] = b3
    for t in range(out.shape[0]):
        for jj in range(nb):
            c = cn[jj]
            lane = c & three
            if lane == zero:
                b0, b1, b2, b3 = philox4x64(c >> two, stream[j0 + jj], zero, zero, key[0], key[1])
                buf[jj, 0] = b0
                buf[jj, 1] = b1
                buf[jj, 2] = b2
                buf[jj, 3] = b3
            cn[jj] = c + np.uint64(1)
            out[t, j0 + jj] = table_z(buf[jj, np.intp(lane)], coef, p_min, m_bits, tail)
    for jj in range(nb):
        counter[j0 + jj] = cn[jj]


@njit(parallel=True, fastmath=False, cache=True)
def draw_innovations(
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out (n, paths)`` with the innovations the paths would use.

    ``out[t, j]`` is ``z`` of word ``counter[j] + t`` of stream
    ``stream[j]`` (what step ``t`` of path ``j`` uses); ``counter``
    advances by ``n``.
    """
    m = out.shape[1]
    n_blocks = (m + PATH_BLOCK - 1) // PATH_BLOCK
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        _draw_block(j0, min(m, j0 + PATH_BLOCK), key, stream, counter, coef, p_min, m_bits, tail, out)


# --------------------------------------------------------------------------
# price moments: a branch-free expm1 the compiler can vectorise
# --------------------------------------------------------------------------
@intrinsic
def _i64_as_f64(typingctx, i):  # type: ignore[no-untyped-def]
    """Reinterpret the bits of an ``int64`` as a ``float64``."""
    if i != types.int64:
        return None
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: n * _LN2_HI is exact for |n| < 2**20
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2**52: (t + _ROUND) - _ROUND rounds t to an integer
_EXPM1_C = np.array([1.0 / math.factorial(k) for k in range(1, 15)])


@njit(cache=True, inline="always")
def expm1_fast(d: float) -> float:
    """``exp(d) - 1`` to about 2 ulp for ``|d| <= 700`` (clamped beyond), without calls.

    ``d = n ln2 + r`` with ``n = round(d / ln2)`` and ``|r| <= ln2 / 2``
    (Cody-Waite, two-part ``ln 2``); ``exp(r) - 1`` is the degree-14 Taylor
    polynomial (truncation < 1e-17); the result is ``(2**n - 1) + 2**n
    (exp(r) - 1)`` with ``2**n`` built from its bits.  No branches or libm
    calls, so loops over arrays vectorise.  Exact ``0`` at ``d = 0``.
    """
    d = min(max(d, -700.0), 700.0)
    nf = (d * _INV_LN2 + _ROUND) - _ROUND
    r = (d - nf * _LN2_HI) - nf * _LN2_LO
    q = _EXPM1_C[13]
    for k in range(12, -1, -1):
        q = _EXPM1_C[k] + r * q
    q = r * q
    scale = _i64_as_f64((np.int64(nf) + np.int64(1023)) << np.int64(52))
    return (scale - 1.0) + scale * q


@njit(cache=True)
def _price_moments(row: np.ndarray, weights: np.ndarray, work: np.ndarray) -> tuple[float, float]:
    """Mean and variance (``ddof = 0``, weighted if ``weights``) of ``exp(row)``.

    Relative to ``c = exp(row[0])``: ``d_j = exp(x_j - x_0) - 1`` (vectorised
    :func:`expm1_fast` into ``work``), then ``mean = c (1 + S1 / W)``,
    ``var = c**2 (S2 / W - (S1 / W)**2)`` with ``S1 = sum w d``,
    ``S2 = sum w d**2`` (each accumulated in four interleaved partial sums).
    """
    n = row.shape[0]
    x0 = row[0]
    for j in range(n):
        work[j] = expm1_fast(row[j] - x0)
    s1a = s1b = s1c = s1d = 0.0
    s2a = s2b = s2c = s2d = 0.0
    m = n - n % 4
    weighted = weights.shape[0] > 0
    if weighted:
        for j in range(n):
            work[j] *= weights[j]  # w d, vectorised
    for j in range(0, m, 4):  # four interleaved partial sums
        s1a += work[j]
        s1b += work[j + 1]
        s1c += work[j + 2]
        s1d += work[j + 3]
    for j in range(m, n):
        s1a += work[j]
    s1 = (s1a + s1b) + (s1c + s1d)
    if weighted:
        for j in range(n):
            work[j] = expm1_fast(row[j] - x0)
            work[j] = weights[j] * (work[j] * work[j])
        wsum = 0.0
        for j in range(n):
            wsum += weights[j]
    else:
        for j in range(n):
            work[j] = work[j] * work[j]
        wsum = float(n)
    for j in range(0, m, 4):
        s2a += work[j]
        s2b += work[j + 1]
        s2c += work[j + 2]
        s2d += work[j + 3]
    for j in range(m, n):
        s2a += work[j]
    s2 = (s2a + s2b) + (s2c + s2d)
    c = math.exp(x0)
    m1 = s1 / wsum
    return c * (1.0 + m1), (c * c) * (s2 / wsum - m1 * m1)


# --------------------------------------------------------------------------
# quantiles
# --------------------------------------------------------------------------
def linear_quantile_plan(n: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order statistics and weights of ``numpy.quantile(method="linear")``.

    Follows numpy's own steps: virtual index ``h = (n - 1) q``, lower index
    ``floor(h)`` and upper index ``floor(h) + 1`` (both ``n - 1`` when
    ``h >= n - 1``, where numpy sets them to -1 and the weight becomes
    ``h + 1``), weight ``g = h - lower``.

    Parameters
    ----------
    n
        Sample size.
    probs
        Quantile levels in ``[0, 1]``.

    Returns
    -------
    ranks : numpy.ndarray
        Sorted unique order statistics needed (``int64``).
    lower, upper : numpy.ndarray
        Order statistic below and above each level (``int64``).
    gamma : numpy.ndarray
        Interpolation weight of each level (``float64``).
    """
    probs = np.asarray(probs, dtype=np.float64)
    virtual = (n - 1) * probs
    lower = np.floor(virtual)
    upper = lower + 1
    above = virtual >= n - 1
    lower[above] = -1
    upper[above] = -1
    gamma = virtual - lower
    lower_i = lower.astype(np.int64)
    upper_i = upper.astype(np.int64)
    lower_i[above] = n - 1
    upper_i[above] = n - 1
    ranks = np.unique(np.concatenate([lower_i, upper_i])).astype(np.int64)
    return ranks, lower_i, upper_i, gamma


@njit(cache=True, inline="always")
def _rank_pos(ranks: np.ndarray, k: int) -> int:
    """Position of rank ``k`` in the sorted array ``ranks`` (binary search)."""
    lo = 0
    hi = ranks.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ranks[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _lerp(a: float, b: float, g: float) -> float:
    """numpy's ``_lerp``: ``a + (b - a) g`` if ``g < 1/2`` else ``b - (b - a)(1 - g)``."""
    d = b - a
    if g >= 0.5:
        return b - d * (1.0 - g)
    return a + d * g


@njit(cache=True)
def select_ranks(a: np.ndarray, ranks: np.ndarray) -> None:
    """Partially order ``a`` in place so that ``a[k]`` is its ``k``-th smallest for every ``k`` in ``ranks``.

    Multi-rank selection: Wirth/Hoare selection of the middle requested rank
    (median-of-three pivot; equal keys split evenly, so constant rows cost
    ``O(n)``), then the ranks below and above are found in the two sides;
    ranges of fewer than 16 values are insertion-sorted.  Expected cost
    ``O(n log(len(ranks)))``.

    Parameters
    ----------
    a
        ``float64`` array without NaN (reordered in place).
    ranks
        Sorted unique ``int64`` ranks in ``[0, len(a))``.
    """
    nr = ranks.shape[0]
    if nr == 0:
        return
    cap = 2 * nr + 4
    st_l = np.empty(cap, dtype=np.int64)
    st_r = np.empty(cap, dtype=np.int64)
    st_a = np.empty(cap, dtype=np.int64)
    st_b = np.empty(cap, dtype=np.int64)
    sp = 0
    st_l[0] = 0
    st_r[0] = a.shape[0] - 1
    st_a[0] = 0
    st_b[0] = nr - 1
    sp = 1
    while sp > 0:
        sp -= 1
        left = st_l[sp]
        right = st_r[sp]
        ra = st_a[sp]
        rb = st_b[sp]
        if ra > rb or left >= right:
            continue
        if right - left < 16:
            for i in range(left + 1, right + 1):
                v = a[i]
                j = i - 1
                while j >= left and a[j] > v:
                    a[j + 1] = a[j]
                    j -= 1
                a[j + 1] = v
            continue
        m = (ra + rb) // 2
        k = ranks[m]
        lo = left
        hi = right
        while lo < hi:
            p1 = a[lo]
            p2 = a[k]
            p3 = a[hi]
            if p1 > p2:
                p1, p2 = p2, p1
            if p2 > p3:
                p2 = p3
                if p1 > p2:
                    p2 = p1
            pivot = p2
            i = lo
            j = hi
            while True:
                while a[i] < pivot:
                    i += 1
                while pivot < a[j]:
                    j -= 1
                if i <= j:
                    tmp = a[i]
                    a[i] = a[j]
                    a[j] = tmp
                    i += 1
                    j -= 1
                if i > j:
                    break
            if j < k:
                lo = i
            if k < i:
                hi = j
        st_l[sp] = left
        st_r[sp] = k - 1
        st_a[sp] = ra
        st_b[sp] = m - 1
        sp += 1
        st_l[sp] = k + 1
        st_r[sp] = right
        st_a[sp] = m + 1
        st_b[sp] = rb
        sp += 1


@njit(cache=True)
def _bucket_order_statistics(a: np.ndarray, lo: float, hi: float, ranks: np.ndarray, vals: np.ndarray) -> None:
    """Order statistics of ``a`` (finite, ``lo = min``, ``hi = max``) by bucketing.

    One pass assigns every value to one of ``nb`` equal-width buckets on
    ``[lo, hi]`` (a monotone map, so buckets are ordered by value) and
    counts them; the buckets holding a requested rank are located from the
    cumulative counts, a second pass copies only their values, grouped by
    bucket, and each rank is selected inside its (small) bucket.  Cost
    ``O(n)`` with a small constant and few unpredictable branches; values
    are exact order statistics.  ``a`` is not modified.
    """
    n = a.shape[0]
    nr = ranks.shape[0]
    if lo == hi:
        for r in range(nr):
            vals[r] = lo
        return
    nb = 16
    while nb < 4096 and nb * 2 <= n:
        nb *= 2
    scale = nb / (hi - lo)
    if not math.isfinite(scale) or scale <= 0.0:
        tmp = a.copy()
        select_ranks(tmp, ranks)
        for r in range(nr):
            vals[r] = tmp[ranks[r]]
        return
    idx = np.empty(n, dtype=np.int64)
    counts = np.zeros(nb + 1, dtype=np.int64)
    top = nb - 1
    for j in range(n):  # vectorised: no stores that depend on the data
        idx[j] = min(np.int64((a[j] - lo) * scale), top)
    for j in range(n):
        counts[idx[j]] += 1
    # below[b] = number of values in buckets < b (exclusive prefix sum, in place)
    acc = 0
    for b in range(nb):
        c = counts[b]
        counts[b] = acc
        acc += c
    counts[nb] = n
    # bucket of each rank, and the slot of each target bucket in the buffer
    rank_bucket = np.empty(nr, dtype=np.int64)
    offset = np.full(nb, -1, dtype=np.int64)
    size = 0
    b = 0
    for r in range(nr):
        k = ranks[r]
        while counts[b + 1] <= k:
            b += 1
        rank_bucket[r] = b
        if offset[b] < 0:
            offset[b] = size
            size += counts[b + 1] - counts[b]
    buf = np.empty(size)
    fill = offset.copy()
    for j in range(n):
        b = idx[j]
        o = fill[b]
        if o >= 0:
            buf[o] = a[j]
            fill[b] = o + 1
    # select inside each target bucket
    r = 0
    while r < nr:
        b = rank_bucket[r]
        r_end = r
        while r_end < nr and rank_bucket[r_end] == b:
            r_end += 1
        start = offset[b]
        m = counts[b + 1] - counts[b]
        seg = buf[start : start + m]
        local = np.empty(r_end - r, dtype=np.int64)
        for i in range(r, r_end):
            local[i - r] = ranks[i] - counts[b]
        select_ranks(seg, local)
        for i in range(r, r_end):
            vals[i] = seg[local[i - r]]
        r = r_end


@njit(cache=True)
def order_statistics(a: np.ndarray, ranks: np.ndarray, vals: np.ndarray) -> None:
    """``vals[i] = sorted(a)[ranks[i]]`` for finite ``a`` (not modified); see :func:`_bucket_order_statistics`."""
    lo = a[0]
    hi = a[0]
    for j in range(a.shape[0]):
        v = a[j]
        lo = min(lo, v)
        hi = max(hi, v)
    _bucket_order_statistics(a, lo, hi, ranks, vals)


@njit(cache=True)
def _weighted_plan(
    values: np.ndarray, weights: np.ndarray, probs: np.ndarray, k_lo: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """Sorted positive-weight values and, per level, the lower index and weight.

    See :func:`weighted_quantile_numpy` for the definition; returns the
    sorted values ``x_(0..m-1)`` and fills ``k_lo`` (``m - 1`` means "take
    the maximum") and ``g``.
    """
    order = np.argsort(values, kind="mergesort")
    n = values.shape[0]
    xs = np.empty(n)
    cum = np.empty(n)
    m = 0
    s = 0.0
    for i in range(n):
        w = weights[order[i]]
        if w > 0.0:
            xs[m] = values[order[i]]
            cum[m] = s
            s += w
            m += 1
    last = cum[m - 1]
    for qi in range(probs.shape[0]):
        target = probs[qi] * last
        lo = 0
        hi = m
        while hi - lo > 1:  # largest k with cum[k] <= target
            mid = (lo + hi) // 2
            if cum[mid] <= target:
                lo = mid
            else:
                hi = mid
        k_lo[qi] = lo
        g[qi] = 0.0 if lo >= m - 1 else (target - cum[lo]) / (cum[lo + 1] - cum[lo])
    return xs[:m]


@njit(cache=True)
def _stable_sort_slice(vals: np.ndarray, wts: np.ndarray, start: int, stop: int) -> None:
    """Sort ``vals[start:stop]`` (with ``wts`` alongside) stably by value."""
    m = stop - start
    if m <= 32:
        for i in range(start + 1, stop):
            v = vals[i]
            w = wts[i]
            j = i - 1
            while j >= start and vals[j] > v:
                vals[j + 1] = vals[j]
                wts[j + 1] = wts[j]
                j -= 1
            vals[j + 1] = v
            wts[j + 1] = w
        return
    order = np.argsort(vals[start:stop], kind="mergesort")
    v_copy = vals[start:stop].copy()
    w_copy = wts[start:stop].copy()
    for i in range(m):
        vals[start + i] = v_copy[order[i]]
        wts[start + i] = w_copy[order[i]]


@njit(cache=True)
def weighted_brackets(
    a: np.ndarray, weights: np.ndarray, probs: np.ndarray, x_lo: np.ndarray, x_hi: np.ndarray, g: np.ndarray
) -> None:
    """Weighted quantile brackets in ``O(n)``: ``q``-quantile ``= lerp(x_lo, x_hi, g)``.

    The definition of :func:`weighted_quantile_numpy` (positive weights
    only; ``x_(k)`` at ``S_k / S_{m-1}``), found without sorting the whole
    sample: values are bucketed by value as in
    :func:`_bucket_order_statistics` with the bucket weights summed, the
    bucket where the cumulative weight crosses ``q S_{m-1}`` is located from
    the bucket prefix sums, and only that bucket (and the next non-empty
    one, for ``x_(k+1)``) is gathered and sorted stably.  ``S_{m-1}`` is the
    total weight less the weight of the largest value (the last one in
    index order among equal maxima, as a stable sort places it).  Sums run
    in bucket order rather than sorted order, so results agree with the
    sort-based definition to rounding (about 1e-16 relative).

    Parameters
    ----------
    a
        ``(n,)`` finite values (not modified).
    weights
        ``(n,)`` non-negative weights, at least one positive.
    probs
        ``(nq,)`` levels in ``[0, 1]``.
    x_lo, x_hi, g
        ``(nq,)`` outputs.
    """
    n = a.shape[0]
    nq = probs.shape[0]
    lo = np.inf
    hi = -np.inf
    w_last = 0.0
    m = 0
    for j in range(n):
        w = weights[j]
        if w > 0.0:
            x = a[j]
            m += 1
            if x < lo:
                lo = x
            if x > hi:
                hi = x
                w_last = w
            elif x == hi:
                w_last = w
    if lo == hi:
        for qi in range(nq):
            x_lo[qi] = lo
            x_hi[qi] = lo
            g[qi] = 0.0
        return
    nb = 16
    while nb < 4096 and nb * 2 <= m:
        nb *= 2
    scale = nb / (hi - lo)
    if not math.isfinite(scale) or scale <= 0.0:  # range overflows: sort everything
        scale = 0.0
        nb = 1
    idx = np.empty(n, dtype=np.int64)
    top = nb - 1
    for j in range(n):
        idx[j] = min(np.int64((a[j] - lo) * scale), top) if weights[j] > 0.0 else -1
    counts = np.zeros(nb + 1, dtype=np.int64)
    wsum = np.zeros(nb + 1)
    for j in range(n):
        b = idx[j]
        if b >= 0:
            counts[b] += 1
            wsum[b] += weights[j]
    # exclusive prefix sums (in place): counts[b] = values before bucket b, wsum[b] = their weight
    acc_c = 0
    acc_w = 0.0
    for b in range(nb):
        c = counts[b]
        w = wsum[b]
        counts[b] = acc_c
        wsum[b] = acc_w
        acc_c += c
        acc_w += w
    counts[nb] = acc_c
    wsum[nb] = acc_w
    denom = acc_w - w_last  # S_{m-1}
    # target bucket of each level, and the next non-empty bucket after it
    tb = np.full(nq, -1, dtype=np.int64)
    want = np.zeros(nb, dtype=np.bool_)
    for qi in range(nq):
        target = probs[qi] * denom
        if target >= denom:
            continue
        b_lo = 0
        b_hi = nb - 1
        while b_lo < b_hi:  # largest b with wsum[b] <= target
            mid = (b_lo + b_hi + 1) // 2
            if wsum[mid] <= target:
                b_lo = mid
            else:
                b_hi = mid - 1
        b = b_lo
        while b > 0 and counts[b + 1] == counts[b]:  # step back to a non-empty bucket
            b -= 1
        tb[qi] = b
        want[b] = True
        nxt = b + 1
        while nxt < nb and counts[nxt + 1] == counts[nxt]:
            nxt += 1
        if nxt < nb:
            want[nxt] = True
    offset = np.full(nb, -1, dtype=np.int64)
    size = 0
    for b in range(nb):
        if want[b]:
            offset[b] = size
            size += counts[b + 1] - counts[b]
    vals = np.empty(size)
    wts = np.empty(size)
    fill = offset.copy()
    for j in range(n):  # gathered in index order, so equal values keep index order
        b = idx[j]
        if b >= 0:
            o = fill[b]
            if o >= 0:
                vals[o] = a[j]
                wts[o] = weights[j]
                fill[b] = o + 1
    for b in range(nb):
        if want[b]:
            _stable_sort_slice(vals, wts, offset[b], offset[b] + counts[b + 1] - counts[b])
    for qi in range(nq):
        b = tb[qi]
        if b < 0:
            x_lo[qi] = hi
            x_hi[qi] = hi
            g[qi] = 0.0
            continue
        target = probs[qi] * denom
        start = offset[b]
        stop = start + counts[b + 1] - counts[b]
        cum = wsum[b]
        k = stop - 1
        for i in range(start, stop):
            if cum + wts[i] > target:
                k = i
                break
            if i < stop - 1:
                cum += wts[i]
        if k + 1 < stop:
            nxt_val = vals[k + 1]
        else:
            nb2 = b + 1
            while nb2 < nb and counts[nb2 + 1] == counts[nb2]:
                nb2 += 1
            nxt_val = vals[offset[nb2]] if nb2 < nb else vals[k]
        gg = (target - cum) / wts[k]
        x_lo[qi] = vals[k]
        x_hi[qi] = nxt_val
        g[qi] = min(max(gg, 0.0), 1.0)


@njit(cache=True)
def weighted_quantiles_row(values: np.ndarray, weights: np.ndarray, probs: np.ndarray, out: np.ndarray) -> None:
    """Weighted linear quantiles of one sample (numba twin of :func:`weighted_quantile_numpy`)."""
    nq = probs.shape[0]
    k_lo = np.empty(nq, dtype=np.int64)
    g = np.empty(nq)
    xs = _weighted_plan(values, weights, probs, k_lo, g)
    m = xs.shape[0]
    for qi in range(nq):
        k = k_lo[qi]
        if k >= m - 1:
            out[qi] = xs[m - 1]
        else:
            out[qi] = _lerp(xs[k], xs[k + 1], g[qi])


def weighted_quantile_numpy(values: np.ndarray, weights: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Weighted quantiles with numpy's "linear" rule as the equal-weight case.

    Definition: drop values with zero weight, sort the rest (stably, ties in
    input order) as ``x_(0) <= ... <= x_(m-1)`` with weights ``w_(k)``, let
    ``S_k = w_(0) + ... + w_(k-1)`` (``S_0 = 0``), and place ``x_(k)`` at
    ``P_k = S_k / S_{m-1}``.  The ``q``-quantile interpolates linearly
    between the points ``(P_k, x_(k))``: with ``k`` the largest index such
    that ``S_k <= q S_{m-1}`` and ``g = (q S_{m-1} - S_k) / (S_{k+1} - S_k)``
    it is ``lerp(x_(k), x_(k+1), g)`` (numpy's interpolation formula), and
    ``x_(m-1)`` for ``k = m - 1``.  With equal weights ``P_k = k / (m - 1)``,
    which is ``numpy.quantile(..., method="linear")``.

    Parameters
    ----------
    values
        ``(n,)`` sample.
    weights
        ``(n,)`` non-negative weights, at least one positive (any scale).
    probs
        Quantile levels in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        ``(len(probs),)`` quantiles.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    probs = np.atleast_1d(np.asarray(probs, dtype=np.float64))
    order = np.argsort(values, kind="stable")
    xs = values[order]
    ws = weights[order]
    keep = ws > 0.0
    xs = xs[keep]
    ws = ws[keep]
    cum = np.concatenate([[0.0], np.cumsum(ws)[:-1]])
    last = cum[-1]
    out = np.empty(probs.shape, dtype=np.float64)
    for qi, q in enumerate(probs):
        target = q * last
        k = int(np.searchsorted(cum, target, side="right")) - 1
        if k >= len(xs) - 1:
            out[qi] = xs[-1]
        else:
            g = (target - cum[k]) / (cum[k + 1] - cum[k])
            d = xs[k + 1] - xs[k]
            out[qi] = xs[k + 1] - d * (1.0 - g) if g >= 0.5 else xs[k] + d * g
    return out


@njit(parallel=True, fastmath=False, cache=True)
def matrix_quantiles(
    values: np.ndarray,
    weights: np.ndarray,
    probs: np.ndarray,
    ranks: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    gam: np.ndarray,
    out: np.ndarray,
) -> None:
    """Quantiles of every row of ``values (rows, n)`` into ``out (rows, nq)``.

    Unweighted (empty ``weights``): ``numpy.quantile(values, probs, axis=1,
    method="linear").T`` bit for bit, with the plan of
    :func:`linear_quantile_plan`; weighted: :func:`weighted_quantile_numpy`
    through :func:`weighted_brackets` (to rounding).  Rows with a NaN give
    NaN.  Rows are copied to a work buffer; ``values`` is not modified.
    """
    rows = values.shape[0]
    n = values.shape[1]
    nq = probs.shape[0]
    for r in prange(rows):
        work = np.empty(n)
        has_nan = False
        for j in range(n):
            work[j] = values[r, j]
            if work[j] != work[j]:
                has_nan = True
        if has_nan:  # numpy returns NaN for every level
            for qi in range(nq):
                out[r, qi] = np.nan
            continue
        if weights.shape[0] > 0:
            xl = np.empty(nq)
            xh = np.empty(nq)
            gw = np.empty(nq)
            weighted_brackets(work, weights, probs, xl, xh, gw)
            for qi in range(nq):
                out[r, qi] = _lerp(xl[qi], xh[qi], gw[qi])
            continue
        vals = np.empty(ranks.shape[0])
        order_statistics(work, ranks, vals)
        for qi in range(nq):
            out[r, qi] = _lerp(vals[_rank_pos(ranks, lower[qi])], vals[_rank_pos(ranks, upper[qi])], gam[qi])


@njit(cache=True)
def _row_stats(
    row: np.ndarray,
    t: int,
    weights: np.ndarray,
    probs: np.ndarray,
    ranks: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    gam: np.ndarray,
    log_q: np.ndarray,
    price_q: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    samples: np.ndarray,
) -> None:
    """Statistics of one step's log prices ``row`` (not modified), into row ``t`` of the outputs.

    Price moments come from :func:`_price_moments`.  Quantiles of the log price are
    numpy-linear (or weighted); price quantiles interpolate the
    exponentials of the same order statistics with the same weights, which
    is the quantile of the prices (``exp`` is increasing).
    """
    n = row.shape[0]
    nq = probs.shape[0]
    for s in range(samples.shape[1]):
        samples[t, s] = row[s]
    weighted = weights.shape[0] > 0
    lo = row[0]
    hi = row[0]
    has_nan = False
    for j in range(n):
        x = row[j]
        if x != x:
            has_nan = True
        lo = min(lo, x)
        hi = max(hi, x)
    work = np.empty(n)
    mean[t], var[t] = _price_moments(row, weights, work)
    if has_nan:  # numpy returns NaN for every level
        for qi in range(nq):
            log_q[t, qi] = np.nan
            price_q[t, qi] = np.nan
        return
    if weighted:
        xl = np.empty(nq)
        xh = np.empty(nq)
        gw = np.empty(nq)
        weighted_brackets(row, weights, probs, xl, xh, gw)
        for qi in range(nq):
            log_q[t, qi] = _lerp(xl[qi], xh[qi], gw[qi])
            price_q[t, qi] = _lerp(math.exp(xl[qi]), math.exp(xh[qi]), gw[qi])
        return
    vals = np.empty(ranks.shape[0])
    _bucket_order_statistics(row, lo, hi, ranks, vals)
    for qi in range(nq):
        a = vals[_rank_pos(ranks, lower[qi])]
        b = vals[_rank_pos(ranks, upper[qi])]
        log_q[t, qi] = _lerp(a, b, gam[qi])
        price_q[t, qi] = _lerp(math.exp(a), math.exp(b), gam[qi])


@njit(parallel=True, fastmath=False, cache=True)
def _band_region(
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    sim_buf: np.ndarray,
    n_rows: int,
    t0: int,
    row_buf: np.ndarray,
    weights: np.ndarray,
    probs: np.ndarray,
    ranks: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    gam: np.ndarray,
    log_q: np.ndarray,
    price_q: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    samples: np.ndarray,
) -> None:
    """One parallel region of band mode: simulate a block and summarise the previous one.

    Tasks are the path blocks that advance ``n_steps`` steps into
    ``sim_buf`` and the ``n_rows`` rows of ``row_buf`` (steps ``t0 ..``)
    whose statistics are due; the two kinds are interleaved evenly so that
    the static split of ``prange`` gives every thread a similar mix.
    """
    n = x.shape[0]
    n_sim = (n + PATH_BLOCK - 1) // PATH_BLOCK if n_steps > 0 else 0
    total = n_sim + n_rows
    for i in prange(total):
        r_before = (i * n_rows) // total
        r_after = ((i + 1) * n_rows) // total
        if r_after > r_before:
            _row_stats(
                row_buf[r_before], t0 + r_before, weights, probs, ranks, lower, upper, gam,
                log_q, price_q, mean, var, samples,
            )  # fmt: skip
        else:
            j0 = (i - r_before) * PATH_BLOCK
            _run_paths(
                j0, min(n, j0 + PATH_BLOCK), n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2,
                key, stream, counter, coef, p_min, m_bits, tail, sim_buf, 0, True,
            )  # fmt: skip


def simulate_bands(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    weights: np.ndarray,
    probs: np.ndarray,
    scratch: np.ndarray,
    log_q: np.ndarray,
    price_q: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    samples: np.ndarray,
) -> None:
    """Streamed band mode: per-step statistics without the path matrix.

    Simulates ``K = scratch.shape[1]`` steps of all paths into one half of
    ``scratch`` (``(2, K, paths)``) while the statistics of the previous
    ``K`` steps are computed from the other half, in the same parallel
    region; memory is ``O(K paths + steps)``.  The paths are those
    :func:`simulate_matrix` produces from the same state.

    Parameters
    ----------
    model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits, tail
        As in :func:`simulate_matrix`; ``x`` ends as the terminal log prices.
    weights
        ``(paths,)`` path weights, or an empty array for equal weights.
    probs
        Quantile levels ``(nq,)``.
    scratch
        ``float64 (2, K, paths)`` work array, ``K >= 1``.
    log_q, price_q
        ``(steps + 1, nq)`` outputs: quantiles of the log price and of the
        price per step (row 0 is the initial state).
    mean, var
        ``(steps + 1,)`` outputs: mean and variance (``ddof = 0``,
        weighted when weights are given) of the price per step.
    samples
        ``(steps + 1, n_samples)`` output: log prices of paths
        ``0 .. n_samples - 1``.
    """
    n = x.shape[0]
    steps = log_q.shape[0] - 1
    k_rows = scratch.shape[1]
    ranks, lower, upper, gam = linear_quantile_plan(n, probs)
    scratch[1, 0, :] = x
    prev, cur = 1, 0
    prev_rows, prev_t0 = 1, 0
    t = 0
    while True:
        kk = min(k_rows, steps - t)
        _band_region(
            kk, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits,
            tail, scratch[cur], prev_rows, prev_t0, scratch[prev], weights, probs, ranks, lower, upper, gam,
            log_q, price_q, mean, var, samples,
        )  # fmt: skip
        if kk == 0:
            break
        prev_rows, prev_t0 = kk, t + 1
        prev, cur = cur, prev
        t += kk


# --------------------------------------------------------------------------
# numpy twins of the path kernels
# --------------------------------------------------------------------------
def simulate_matrix_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`simulate_matrix` (inputs are not modified).

    Returns
    -------
    out : numpy.ndarray
        ``(steps + 1, paths)`` log prices.
    x, sigma2, counter : numpy.ndarray
        Final state.
    """
    x = np.array(x, dtype=np.float64)
    s2 = np.array(sigma2, dtype=np.float64)
    counter = np.array(counter, dtype=np.uint64)
    words = stream_words_numpy(key, stream, counter, steps)
    z = table_z_numpy(words, coef, p_min, m_bits, tail)
    out = np.empty((steps + 1, x.shape[0]))
    out[0] = x
    for t in range(steps):
        e = np.sqrt(s2) * z[t]
        x = x + (mu + e)
        out[t + 1] = x
        s2 = step_variance_numpy(model_code, e, s2, omega, alpha, gamma, beta)
    return out, x, s2, counter + np.uint64(steps)


def advance_states_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`advance_states`; returns new ``(x, sigma2, counter)``."""
    _, xn, s2n, cn = simulate_matrix_numpy(
        model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits, tail,
        n_steps,
    )  # fmt: skip
    return xn, s2n, cn


def draw_innovations_numpy(
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    n: int,
) -> np.ndarray:
    """Numpy twin of :func:`draw_innovations`; returns ``(n, paths)``."""
    words = stream_words_numpy(key, stream, counter, n)
    return table_z_numpy(words, coef, p_min, m_bits, tail)


def simulate_bands_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    weights: np.ndarray,
    probs: np.ndarray,
    steps: int,
    n_samples: int,
) -> dict[str, np.ndarray]:
    """Numpy twin of :func:`simulate_bands` built on the full matrix.

    Returns
    -------
    dict
        ``log_q``, ``price_q``, ``mean``, ``var``, ``samples``, ``x``
        (terminal log prices) as :func:`simulate_bands` fills them; moments
        with numpy's ``average``.
    """
    out, xn, _, _ = simulate_matrix_numpy(
        model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits, tail,
        steps,
    )  # fmt: skip
    prices = np.exp(out)
    probs = np.asarray(probs, dtype=np.float64)
    if len(weights):
        log_q = np.stack([weighted_quantile_numpy(r, weights, probs) for r in out])
        price_q = np.stack([weighted_quantile_numpy(r, weights, probs) for r in prices])
        w = np.asarray(weights, dtype=np.float64)
    else:
        log_q = np.quantile(out, probs, axis=1).T
        price_q = np.quantile(prices, probs, axis=1).T
        w = np.ones(out.shape[1])
    mean = np.average(prices, axis=1, weights=w)
    var = np.average((prices - mean[:, None]) ** 2, axis=1, weights=w)
    return {
        "log_q": log_q,
        "price_q": price_q,
        "mean": mean,
        "var": var,
        "samples": out[:, :n_samples].copy(),
        "x": xn,
    }
