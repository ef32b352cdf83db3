"""Band mode: per-step price statistics streamed while the paths are simulated.

Steps are simulated in blocks of ``K`` rows for all paths into a
``(2, K, paths)`` scratch buffer; one parallel region simulates the next
block while it summarises the previous one, so memory is ``O(K paths +
steps)``.  Quantiles follow the package's one rule
(``numpy.quantile(..., method="inverted_cdf")``, weighted when path weights
are given) bit for bit, through :mod:`.quantiles`.  Price quantiles are the
exponentials of the log-price quantiles (``exp`` is increasing, so they are
the quantiles of the prices).  Price moments use a vectorisable ``expm1``
(:func:`expm1_fast`, about 2 ulp).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .draws import PATH_BLOCK
from .garch import _run_paths, simulate_matrix_numpy
from .quantiles import _bucket_order_statistics, _rank_pos, inverted_cdf_plan, weighted_quantiles_row

__all__ = ["expm1_fast", "simulate_bands", "simulate_bands_numpy"]


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


@njit(cache=True)
def _row_stats(
    row: np.ndarray,
    t: int,
    weights: np.ndarray,
    probs: np.ndarray,
    ranks: np.ndarray,
    index: np.ndarray,
    log_q: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    samples: np.ndarray,
) -> None:
    """Statistics of one step's log prices ``row`` (not modified), into row ``t`` of the outputs.

    Price moments come from :func:`_price_moments`; log-price quantiles are
    inverted-cdf quantiles (weighted when ``weights`` is not empty).
    """
    n = row.shape[0]
    nq = probs.shape[0]
    for s in range(samples.shape[1]):
        samples[t, s] = row[s]
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
        return
    if weights.shape[0] > 0:
        res = np.empty(nq)
        weighted_quantiles_row(row, weights, probs, res)
        for qi in range(nq):
            log_q[t, qi] = res[qi]
        return
    vals = np.empty(ranks.shape[0])
    _bucket_order_statistics(row, lo, hi, ranks, vals)
    for qi in range(nq):
        log_q[t, qi] = vals[_rank_pos(ranks, index[qi])]


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
    index: np.ndarray,
    log_q: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    samples: np.ndarray,
    mult: np.ndarray,
    m0: int,
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
                row_buf[r_before], t0 + r_before, weights, probs, ranks, index, log_q, mean, var, samples,
            )  # fmt: skip
        else:
            j0 = (i - r_before) * PATH_BLOCK
            _run_paths(
                j0, min(n, j0 + PATH_BLOCK), n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2,
                key, stream, counter, coef, p_min, m_bits, tail, sim_buf, 0, True, mult, m0,
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
    mult: np.ndarray | None = None,
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
    mult
        Optional ``(steps,)`` per-step variance multipliers (see
        :func:`~volresearch.simulate.kernels.garch.simulate_matrix`).
    """
    m = np.empty(0) if mult is None else np.ascontiguousarray(mult, dtype=np.float64)
    n = x.shape[0]
    steps = log_q.shape[0] - 1
    k_rows = scratch.shape[1]
    ranks, index = inverted_cdf_plan(n, probs)
    scratch[1, 0, :] = x
    prev, cur = 1, 0
    prev_rows, prev_t0 = 1, 0
    t = 0
    while True:
        kk = min(k_rows, steps - t)
        _band_region(
            kk, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits,
            tail, scratch[cur], prev_rows, prev_t0, scratch[prev], weights, probs, ranks, index, log_q, mean, var,
            samples, m, t,
        )  # fmt: skip
        if kk == 0:
            break
        prev_rows, prev_t0 = kk, t + 1
        prev, cur = cur, prev
        t += kk
    np.exp(log_q, out=price_q)


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
    mult: np.ndarray | None = None,
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
        steps, mult,
    )  # fmt: skip
    prices = np.exp(out)
    probs = np.asarray(probs, dtype=np.float64)
    if len(weights):
        w = np.asarray(weights, dtype=np.float64)
        log_q = np.quantile(out, probs, axis=1, weights=np.broadcast_to(w, out.shape), method="inverted_cdf").T
        price_q = np.quantile(prices, probs, axis=1, weights=np.broadcast_to(w, out.shape), method="inverted_cdf").T
    else:
        w = np.ones(out.shape[1])
        log_q = np.quantile(out, probs, axis=1, method="inverted_cdf").T
        price_q = np.quantile(prices, probs, axis=1, method="inverted_cdf").T
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
