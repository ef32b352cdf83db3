"""Innovations: a generator word mapped to ``z`` through a tabulated inverse cdf (numba, numpy twins).

Each path owns a Philox stream (:mod:`volresearch.simulate._rng`); word
``counter[j] + t`` of stream ``stream[j]`` drives step ``t`` of path ``j``
and becomes an innovation through the cubic pieces of a
:class:`~volresearch.simulate.innovations.PpfTable` (:func:`table_z`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._rng import clz64, deep_tail_uniforms, deep_tail_uniforms_numpy, philox4x64, stream_words_numpy

__all__ = ["PATH_BLOCK", "draw_innovations", "draw_innovations_numpy", "table_z", "table_z_numpy"]

#: Paths simulated together by one task (innermost loop).
PATH_BLOCK = 64

_MASK52 = np.uint64((1 << 52) - 1)
_POW2NEG = np.ldexp(1.0, -np.arange(64)).astype(np.float64)


# --------------------------------------------------------------------------
# innovations: word -> z through the tabulated inverse cdf
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def table_z(
    word: np.uint64,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    key: np.ndarray,
    stream: np.uint64,
    n: np.uint64,
) -> float:
    """Map one generator word to an innovation through a ppf table (numba).

    The word stands for ``u`` (side bit ``s``, tail distance
    ``v = (2k + 1) 2**-54 = min(u, 1 - u)``).  With ``w = 2k + 1`` and
    ``p = floor(log2 w)``, ``v`` lies in octave ``p`` (``[2**(p-54),
    2**(p-53))``) at mantissa fraction ``t = w / 2**p - 1``.  For
    ``p >= p_min`` the octave is split into ``2**m_bits`` equal intervals and
    ``z`` is the interval's cubic in the fraction ``f`` of ``t``
    (``c0 + f (c1 + f (c2 + f c3))``), read from ``coef[s]``.  Below the
    table (``p < p_min``, probability ``2**(p_min - 54)`` per side) the tail
    continues in the octave coordinate ``y = log2(v / u_lo) =
    (p - p_min) + log2(1 + t)`` as ``z = a + c exp(-g y) + b y`` with
    ``tail[s] = (a, c, g, b)``: exactly the law of
    :meth:`~volresearch.simulate.innovations.PpfTable.ppf`.

    The word with ``k = 0`` stands for the whole cell ``v < 2**-53``; that
    cell is sampled exactly: ``v = 2**-53 U'`` with ``U'`` from the side
    stream of word ``n`` of ``stream``
    (:func:`~volresearch.simulate._rng.deep_tail_uniforms`), so
    ``y = log2(U') - 53 - (p_min - 54)``.

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
    key, stream, n
        Philox key, stream id and index of ``word`` in its stream (they
        seed the refinement of the deepest cell).

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
    if k == np.uint64(0):
        y = (math.log2(deep_tail_uniforms(key, stream, n)) - 53.0) - np.float64(p_min - 54)
    else:
        y = np.float64(p - p_min) + math.log2(1.0 + np.float64(r) * _POW2NEG[p])
    return tail[side, 0] + tail[side, 1] * math.exp(-tail[side, 2] * y) + tail[side, 3] * y


def table_z_numpy(
    words: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    key: np.ndarray | None = None,
    streams: np.ndarray | None = None,
    counters: np.ndarray | None = None,
) -> np.ndarray:
    """Numpy twin of :func:`table_z` for an array of words.

    ``key``, ``streams`` and ``counters`` (stream id and word index of every
    word, broadcast to the shape of ``words``) refine the deepest cell as the
    kernels do.  Without them that cell stays at the one value a single word
    gives it (``v = 2**-54``): the one-word law, for diagnostics
    (:attr:`~volresearch.simulate.innovations.PpfTable.sampled_variance`).
    Logarithms and exponentials below the table go through :mod:`math`, the
    libm of the compiled kernel.
    """
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
        t = rd.astype(np.float64) * _POW2NEG[pd_]
        y = np.array(
            [float(q - p_min) + math.log2(1.0 + t_) for q, t_ in zip(pd_.tolist(), t.tolist(), strict=True)],
            dtype=np.float64,
        )
        cell = k[deep] == 0
        if key is not None and cell.any():
            if streams is None or counters is None:
                raise ValueError("streams and counters must accompany key")
            at = np.flatnonzero(deep)[cell]
            u2 = deep_tail_uniforms_numpy(
                key,
                np.broadcast_to(np.asarray(streams, dtype=np.uint64), words.shape).ravel()[at],
                np.broadcast_to(np.asarray(counters, dtype=np.uint64), words.shape).ravel()[at],
            )
            y[cell] = [(math.log2(u_) - 53.0) - float(p_min - 54) for u_ in u2.tolist()]
        zt = [
            tail[s_, 0] + tail[s_, 1] * math.exp(-tail[s_, 2] * y_) + tail[s_, 3] * y_
            for s_, y_ in zip(sd.tolist(), y.tolist(), strict=True)
        ]
        z[deep] = np.array(zt, dtype=np.float64)
    return z


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
            out[t, j0 + jj] = table_z(buf[jj, np.intp(lane)], coef, p_min, m_bits, tail, key, stream[j0 + jj], c)
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
    idx = np.asarray(counter, dtype=np.uint64)[None, :] + np.arange(n, dtype=np.uint64)[:, None]
    return table_z_numpy(words, coef, p_min, m_bits, tail, key, np.asarray(stream, dtype=np.uint64)[None, :], idx)
