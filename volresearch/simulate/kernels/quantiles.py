"""Quantile selection in numba: the package's one rule, exactly as numpy computes it.

Every quantile is the generalised inverse of the (weighted) empirical
distribution function, ``numpy.quantile(..., method="inverted_cdf")``
(:mod:`volresearch.quantiles`).  The kernels here give numpy's result bit
for bit:

* equal weights: the order statistic of index ``ceil(n q) - 1`` computed
  as numpy does (``h = n q - 1`` in floating point, ``floor(h)`` when ``h``
  is an integer, ``floor(h) + 1`` otherwise, at least 0;
  :func:`inverted_cdf_plan`).  Order statistics are found in ``O(n)`` by
  bucketing the row and selecting inside the few buckets that hold a
  requested rank (:func:`order_statistics`), instead of sorting;
* weights: values sorted stably with their weights, ``F_k = S_k / S_n``
  with ``S_k`` the running (sequential) sum of the sorted weights, and the
  ``q``-quantile is the first sorted value with ``F_k >= q``, leading
  zero-weight values excluded (:func:`weighted_quantiles_row`).  A value's
  whole weight counts, the largest value's included.

:func:`weighted_quantile_numpy` is the plain-numpy twin of the weighted
kernel.  Rows holding a NaN give NaN at every level, as numpy does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "inverted_cdf_plan",
    "matrix_quantiles",
    "order_statistics",
    "select_ranks",
    "stable_argsort",
    "weighted_quantile_numpy",
    "weighted_quantiles_row",
]


def inverted_cdf_plan(n: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order statistics ``numpy.quantile(method="inverted_cdf")`` takes for a sample of ``n``.

    Follows numpy's own steps: virtual index ``h = n q - 1``; the index is
    ``floor(h)`` when ``h`` is an integer and ``floor(h) + 1`` otherwise,
    raised to 0 when negative.

    Parameters
    ----------
    n
        Sample size (>= 1).
    probs
        Quantile levels in ``[0, 1]``.

    Returns
    -------
    ranks : numpy.ndarray
        Sorted unique order statistics needed (``int64``).
    index : numpy.ndarray
        Order statistic of each level (``int64``).
    """
    probs = np.asarray(probs, dtype=np.float64)
    virtual = (n * probs) - 1
    previous = np.floor(virtual)
    index = np.where(virtual - previous == 0, previous, previous + 1).astype(np.int64)
    index[index < 0] = 0
    index[index > n - 1] = n - 1
    ranks = np.unique(index).astype(np.int64)
    return ranks, index


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


_RADIX_BITS = 11
_RADIX_PASSES = 6  # 6 x 11 bits cover the 64-bit key
_RADIX_SIZE = 1 << _RADIX_BITS


@njit(cache=True)
def stable_argsort(values: np.ndarray, order: np.ndarray) -> None:
    """``order`` = ``numpy.argsort(values, kind="stable")`` for finite values, by LSD radix sort.

    Each double maps to a 64-bit key that orders as the doubles do (sign bit
    set for positives, all bits flipped for negatives, ``-0.0`` as ``0.0``,
    so equal values keep their index order as in a stable comparison sort);
    six stable counting passes of 11 bits sort the keys, and a pass whose
    digit is the same for every value (the sign and exponent of one step's
    log prices, typically) is skipped.  ``O(n)``: several times faster than
    a merge sort for the rows of band mode.

    Parameters
    ----------
    values
        ``(n,)`` values without NaN (not modified).
    order
        ``(n,)`` int64 output.
    """
    n = values.shape[0]
    if n == 0:
        return
    buf = np.empty(n)  # float64, contiguous, whatever the layout and precision of values
    for i in range(n):
        v = values[i]
        buf[i] = 0.0 if v == 0.0 else v
    bits = buf.view(np.uint64)
    keys = np.empty(n, dtype=np.uint64)
    top = np.uint64(1) << np.uint64(63)
    for i in range(n):
        b = bits[i]
        keys[i] = (~b) if (b & top) else (b | top)
    mask = np.uint64(_RADIX_SIZE - 1)
    counts = np.zeros((_RADIX_PASSES, _RADIX_SIZE), dtype=np.int64)
    for i in range(n):
        k = keys[i]
        for d in range(_RADIX_PASSES):
            counts[d, np.intp((k >> np.uint64(_RADIX_BITS * d)) & mask)] += 1
    idx = np.arange(n)
    idx2 = np.empty(n, dtype=np.int64)
    keys2 = np.empty(n, dtype=np.uint64)
    pos = np.empty(_RADIX_SIZE, dtype=np.int64)
    for d in range(_RADIX_PASSES):
        c = counts[d]
        single = False
        s = 0
        for b in range(_RADIX_SIZE):
            if c[b] == n:
                single = True
                break
            pos[b] = s
            s += c[b]
        if single:
            continue
        sh = np.uint64(_RADIX_BITS * d)
        for i in range(n):
            k = keys[i]
            b = np.intp((k >> sh) & mask)
            p = pos[b]
            pos[b] = p + 1
            keys2[p] = k
            idx2[p] = idx[i]
        keys, keys2 = keys2, keys
        idx, idx2 = idx2, idx
    for i in range(n):
        order[i] = idx[i]


@njit(cache=True)
def weighted_quantiles_row(values: np.ndarray, weights: np.ndarray, probs: np.ndarray, out: np.ndarray) -> None:
    """Weighted inverted-cdf quantiles of one finite sample into ``out``.

    Sorts ``values`` stably with their weights (:func:`stable_argsort`), accumulates the weights in
    sorted order (sequentially, as ``numpy.cumsum``), divides by the total and
    takes, per level, the first value whose cumulative share is ``>= q``
    (zero shares of leading zero-weight values are skipped), which is
    ``numpy.quantile(values, probs, weights=weights, method="inverted_cdf")``.

    Parameters
    ----------
    values
        ``(n,)`` finite values (not modified).
    weights
        ``(n,)`` non-negative weights, at least one positive (any scale).
    probs
        ``(nq,)`` levels in ``[0, 1]``.
    out
        ``(nq,)`` output.
    """
    n = values.shape[0]
    order = np.empty(n, dtype=np.int64)
    stable_argsort(values, order)
    cdf = np.empty(n)
    s = 0.0
    for i in range(n):
        s += weights[order[i]]
        cdf[i] = s
    total = cdf[n - 1]
    for i in range(n):
        cdf[i] = cdf[i] / total
    if cdf[0] == 0.0:
        for i in range(n):
            if cdf[i] == 0.0:
                cdf[i] = -1.0
    for qi in range(probs.shape[0]):
        q = probs[qi]
        lo = 0
        hi = n
        while lo < hi:  # first i with cdf[i] >= q (searchsorted, side="left")
            mid = (lo + hi) // 2
            if cdf[mid] < q:
                lo = mid + 1
            else:
                hi = mid
        out[qi] = values[order[min(lo, n - 1)]]


def weighted_quantile_numpy(values: np.ndarray, weights: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Plain-numpy twin of :func:`weighted_quantiles_row`.

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
        ``(len(probs),)`` quantiles: the smallest sorted value whose
        cumulative weight share reaches each level.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    probs = np.atleast_1d(np.asarray(probs, dtype=np.float64))
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    if cdf[0] == 0.0:
        cdf[cdf == 0.0] = -1.0
    idx = np.minimum(np.searchsorted(cdf, probs, side="left"), values.size - 1)
    return values[order][idx]


@njit(parallel=True, fastmath=False, cache=True)
def matrix_quantiles(
    values: np.ndarray,
    weights: np.ndarray,
    probs: np.ndarray,
    ranks: np.ndarray,
    index: np.ndarray,
    out: np.ndarray,
) -> None:
    """Inverted-cdf quantiles of every row of ``values (rows, n)`` into ``out (rows, nq)``.

    Unweighted (empty ``weights``): ``numpy.quantile(values, probs, axis=1,
    method="inverted_cdf").T`` bit for bit, with the plan of
    :func:`inverted_cdf_plan`; weighted: :func:`weighted_quantiles_row` per
    row, numpy's weighted result.  Rows with a NaN give NaN.  ``values`` is
    not modified.
    """
    rows = values.shape[0]
    n = values.shape[1]
    nq = probs.shape[0]
    for r in prange(rows):
        has_nan = False
        for j in range(n):
            if values[r, j] != values[r, j]:
                has_nan = True
        if has_nan:  # numpy returns NaN for every level
            for qi in range(nq):
                out[r, qi] = np.nan
            continue
        if weights.shape[0] > 0:
            res = np.empty(nq)
            weighted_quantiles_row(values[r], weights, probs, res)
            for qi in range(nq):
                out[r, qi] = res[qi]
            continue
        vals = np.empty(ranks.shape[0])
        order_statistics(values[r], ranks, vals)
        for qi in range(nq):
            out[r, qi] = vals[_rank_pos(ranks, index[qi])]
