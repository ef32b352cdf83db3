"""Counter-based random numbers for the path kernels: Philox4x64-10.

Every path owns a *stream*: the 64-bit words of path ``j`` are the outputs of
the Philox4x64-10 bijection (Salmon et al. 2011, "Parallel random numbers: as
easy as 1, 2, 3") applied to the 256-bit counter ``(n // 4, j, 0, 0)`` under a
128-bit key derived from the seed; word ``n`` of the stream is lane ``n % 4``
of that block.  A path's numbers therefore depend only on ``(key, j, n)``:

* the thread count and the order in which threads visit paths cannot change
  them (no shared generator state, no per-thread seeding);
* the whole generator state of a path is two plain ``uint64`` numbers, its
  stream id and its counter (words consumed so far), so a particle filter can
  save and restore it bit for bit and continue a stream in a later call;
* streams never overlap: distinct ``(block, stream)`` counters are distinct
  inputs of a bijection.

The bijection is the one of ``numpy.random.Philox`` (the tests check it word
for word against numpy), written here as numba functions with a 128-bit
multiply, and again in plain numpy as a twin for the tests.

Uniforms are never formed as ``u`` in ``(0, 1)`` inside the kernels.  A word
``w`` is read as a side bit ``s = w >> 63`` and a 52-bit integer
``k = (w >> 11) mod 2**52``; the uniform is ``u = v`` when ``s = 0`` and
``u = 1 - v`` when ``s = 1``, with ``v = (2k + 1) 2**-54`` in
``[2**-54, 1/2)``.  This is the exact 53-bit uniform on the grid
``(K + 1/2) 2**-53``, ``K = 0 .. 2**53 - 1`` (open interval, symmetric about
1/2), and ``(s, v)`` keeps full relative precision in both tails, which a
double ``u`` close to 1 cannot.

The word with ``k = 0`` stands for the whole cell ``v < 2**-53``.  Where the
far tail matters (heavy-tailed laws), that cell is refined by
:func:`deep_tail_uniforms`: uniforms from a *side stream* of the same path,
Philox counter ``(n // 4, stream, level, 0)`` with ``level = 1, 2, ...``
(the main stream has ``level = 0``), so the refinement is reproducible,
independent of every main-stream word, and leaves the main counter alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_W0",
    "PHILOX_W1",
    "StreamState",
    "deep_tail_uniforms",
    "deep_tail_uniforms_numpy",
    "philox4x64",
    "philox4x64_numpy",
    "philox_key",
    "stream_words",
    "stream_words_numpy",
    "uniforms_from_words",
    "word_side_and_v",
]

#: Philox4x64 multipliers and Weyl key increments (Random123 / numpy values).
PHILOX_M0 = np.uint64(0xD2E7470EE14C6C93)
PHILOX_M1 = np.uint64(0xCA5A826395121157)
PHILOX_W0 = np.uint64(0x9E3779B97F4A7C15)
PHILOX_W1 = np.uint64(0xBB67AE8584CAA73B)
_MASK32 = np.uint64(0xFFFFFFFF)
_U32 = np.uint64(32)


@intrinsic
def mulhi64(typingctx, a, b):  # type: ignore[no-untyped-def]
    """High 64 bits of the 128-bit product ``a * b`` of two ``uint64``."""
    if not (a == types.uint64 and b == types.uint64):
        return None
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i128 = ir.IntType(128)
        prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(prod, ir.Constant(i128, 64)), ir.IntType(64))

    return sig, codegen


@intrinsic
def clz64(typingctx, x):  # type: ignore[no-untyped-def]
    """Number of leading zero bits of a ``uint64`` (64 for zero)."""
    if x != types.uint64:
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctlz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@njit(cache=True, inline="always")
def philox4x64(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x64-10 block function (numba).

    Ten rounds of ``(c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2),
    hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))`` with the key bumped by the Weyl
    constants ``(W0, W1)`` between rounds.

    Parameters
    ----------
    c0, c1, c2, c3
        Counter words (``uint64``).
    k0, k1
        Key words (``uint64``).

    Returns
    -------
    tuple of four uint64
        The output block.
    """
    for _ in range(10):
        hi0 = mulhi64(PHILOX_M0, c0)
        lo0 = PHILOX_M0 * c0
        hi1 = mulhi64(PHILOX_M1, c2)
        lo1 = PHILOX_M1 * c2
        c0 = hi1 ^ c1 ^ k0
        c1 = lo1
        c2 = hi0 ^ c3 ^ k1
        c3 = lo0
        k0 = k0 + PHILOX_W0
        k1 = k1 + PHILOX_W1
    return c0, c1, c2, c3


def _mulhilo_numpy(a: np.ndarray, b: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """High and low words of ``a * b`` for a ``uint64`` array and scalar."""
    a_lo = a & _MASK32
    a_hi = a >> _U32
    b_lo = b & _MASK32
    b_hi = b >> _U32
    ll = a_lo * b_lo
    lh = a_lo * b_hi
    hl = a_hi * b_lo
    hh = a_hi * b_hi
    mid = (ll >> _U32) + (lh & _MASK32) + (hl & _MASK32)
    hi = hh + (lh >> _U32) + (hl >> _U32) + (mid >> _U32)
    lo = a * b
    return hi, lo


def philox4x64_numpy(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Philox4x64-10 in plain numpy (twin of :func:`philox4x64`).

    Parameters
    ----------
    counter
        ``uint64`` array of shape ``(n, 4)``: one counter per row.
    key
        ``uint64`` array of shape ``(2,)``.

    Returns
    -------
    numpy.ndarray
        ``uint64`` array of shape ``(n, 4)``: the output blocks.
    """
    ctr = np.array(counter, dtype=np.uint64, copy=True).reshape(-1, 4)
    c0, c1, c2, c3 = (ctr[:, i].copy() for i in range(4))
    k0 = np.array([key[0]], dtype=np.uint64)
    k1 = np.array([key[1]], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for _ in range(10):
            hi0, lo0 = _mulhilo_numpy(c0, PHILOX_M0)
            hi1, lo1 = _mulhilo_numpy(c2, PHILOX_M1)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            k0 = k0 + PHILOX_W0
            k1 = k1 + PHILOX_W1
    return np.stack([c0, c1, c2, c3], axis=1)


def philox_key(seed: int | np.random.SeedSequence) -> np.ndarray:
    """Derive the 128-bit Philox key from a seed.

    Parameters
    ----------
    seed
        Non-negative integer or a :class:`numpy.random.SeedSequence`; the key
        is ``SeedSequence(seed).generate_state(2, uint64)``, so any integer size
        is accepted and nearby seeds give unrelated keys.

    Returns
    -------
    numpy.ndarray
        ``uint64`` array of shape ``(2,)``.
    """
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.asarray(seq.generate_state(2, dtype=np.uint64), dtype=np.uint64)


@njit(cache=True)
def stream_words(key: np.ndarray, stream: np.uint64, counter: np.uint64, out: np.ndarray) -> None:
    """Fill ``out`` with consecutive words of one stream (numba).

    Word ``n`` (``n = counter, counter + 1, ...``) is lane ``n % 4`` of
    ``philox4x64((n // 4, stream, 0, 0), key)``.

    Parameters
    ----------
    key
        ``uint64`` array ``(2,)``.
    stream
        Stream id (path index for the simulation kernels).
    counter
        Index of the first word.
    out
        ``uint64`` array to fill.
    """
    zero = np.uint64(0)
    for i in range(out.shape[0]):
        n = np.uint64(counter + np.uint64(i))
        b0, b1, b2, b3 = philox4x64(n >> np.uint64(2), stream, zero, zero, key[0], key[1])
        lane = n & np.uint64(3)
        if lane == 0:
            out[i] = b0
        elif lane == 1:
            out[i] = b1
        elif lane == 2:
            out[i] = b2
        else:
            out[i] = b3


def stream_words_numpy(key: np.ndarray, streams: np.ndarray, counters: np.ndarray, n: int) -> np.ndarray:
    """Words ``counters[j] .. counters[j] + n - 1`` of each stream (numpy twin).

    Parameters
    ----------
    key
        ``uint64`` array ``(2,)``.
    streams, counters
        ``uint64`` arrays ``(paths,)``.
    n
        Number of words per stream.

    Returns
    -------
    numpy.ndarray
        ``uint64`` array of shape ``(n, paths)``: row ``t`` holds word
        ``counters + t`` of every stream.
    """
    streams = np.asarray(streams, dtype=np.uint64)
    counters = np.asarray(counters, dtype=np.uint64)
    idx = counters[None, :] + np.arange(n, dtype=np.uint64)[:, None]
    blocks = idx >> np.uint64(2)
    ctr = np.zeros(idx.shape + (4,), dtype=np.uint64)
    ctr[..., 0] = blocks
    ctr[..., 1] = np.broadcast_to(streams[None, :], idx.shape)
    out = philox4x64_numpy(ctr.reshape(-1, 4), key).reshape(idx.shape + (4,))
    lane = (idx & np.uint64(3)).astype(np.intp)
    return np.take_along_axis(out, lane[..., None], axis=-1)[..., 0]


def word_side_and_v(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split words into the side bit and the tail distance ``v = min(u, 1 - u)``.

    Parameters
    ----------
    words
        ``uint64`` array.

    Returns
    -------
    side : numpy.ndarray
        ``uint64`` array of 0 (``u = v < 1/2``) or 1 (``u = 1 - v > 1/2``).
    v : numpy.ndarray
        ``float64`` array, ``v = (2k + 1) 2**-54`` exactly, in ``[2**-54, 1/2)``.
    """
    words = np.asarray(words, dtype=np.uint64)
    side = words >> np.uint64(63)
    k = (words >> np.uint64(11)) & np.uint64((1 << 52) - 1)
    w = (k << np.uint64(1)) | np.uint64(1)
    return side, np.ldexp(w.astype(np.float64), -54)


def uniforms_from_words(words: np.ndarray) -> np.ndarray:
    """The uniforms the words stand for, as doubles in ``(0, 1)``.

    ``u = v`` or ``1 - v`` (see the module notes).  ``1 - v`` is rounded to
    the nearest double, and the single value that would round to 1 is
    returned as the largest double below 1; the kernels never form ``u`` and
    are not affected.  For tests and diagnostics.

    Parameters
    ----------
    words
        ``uint64`` array.

    Returns
    -------
    numpy.ndarray
        ``float64`` array in the open interval ``(0, 1)``.
    """
    side, v = word_side_and_v(words)
    u = np.where(side == 1, 1.0 - v, v)
    return np.minimum(u, np.nextafter(1.0, 0.0))


_DEEP_LEVELS = 8


@njit(cache=True)
def deep_tail_uniforms(key: np.ndarray, stream: np.uint64, n: np.uint64) -> float:
    """Uniform ``U'`` in ``(0, 1)`` refining the deepest cell of word ``n`` of ``stream`` (numba).

    Word ``n`` of the side stream at ``level`` is lane ``n % 4`` of
    ``philox4x64((n // 4, stream, level, 0), key)``; its top 53 bits give
    ``K`` and ``U' = (K + 1/2) 2**-53``.  ``K = 0`` is itself a cell, refined
    at the next level (``U' = 2**-53 U''``), up to 8 levels (``2**-424``).

    Parameters
    ----------
    key
        ``uint64`` array ``(2,)``.
    stream, n
        Stream id and index of the main-stream word being refined.

    Returns
    -------
    float
        ``U'``: the tail distance of the word is ``v = 2**-53 U'``.
    """
    zero = np.uint64(0)
    lane = n & np.uint64(3)
    scale = 1.0
    for level in range(1, _DEEP_LEVELS + 1):
        b0, b1, b2, b3 = philox4x64(n >> np.uint64(2), stream, np.uint64(level), zero, key[0], key[1])
        w = b0 if lane == 0 else (b1 if lane == 1 else (b2 if lane == 2 else b3))
        k = w >> np.uint64(11)
        if k != zero or level == _DEEP_LEVELS:
            return scale * (np.float64(k) + 0.5) * 2.0**-53
        scale *= 2.0**-53
    return scale  # not reached


def deep_tail_uniforms_numpy(key: np.ndarray, streams: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`deep_tail_uniforms` for arrays of stream ids and word indices."""
    streams = np.asarray(streams, dtype=np.uint64).ravel()
    counters = np.asarray(counters, dtype=np.uint64).ravel()
    out = np.empty(streams.size, dtype=np.float64)
    todo = np.arange(streams.size)
    scale = np.ones(streams.size)
    lane = (counters & np.uint64(3)).astype(np.intp)
    for level in range(1, _DEEP_LEVELS + 1):
        ctr = np.zeros((todo.size, 4), dtype=np.uint64)
        ctr[:, 0] = counters[todo] >> np.uint64(2)
        ctr[:, 1] = streams[todo]
        ctr[:, 2] = np.uint64(level)
        w = philox4x64_numpy(ctr, key)[np.arange(todo.size), lane[todo]]
        k = w >> np.uint64(11)
        done = (k != 0) | (level == _DEEP_LEVELS)
        out[todo[done]] = scale[todo[done]] * (k[done].astype(np.float64) + 0.5) * 2.0**-53
        scale[todo] *= 2.0**-53
        todo = todo[~done]
        if not todo.size:
            break
    return out


@dataclass(frozen=True)
class StreamState:
    """Generator state of a set of paths: plain ``uint64`` arrays.

    Attributes
    ----------
    key
        ``uint64`` array ``(2,)``, from :func:`philox_key`.
    stream
        ``uint64`` array ``(paths,)``: stream id of each path slot.
    counter
        ``uint64`` array ``(paths,)``: words consumed by each path so far.
        Kernels advance it in place (one word per simulated step).

    Notes
    -----
    The state belongs to the path *slot*, not to what the slot holds: when a
    particle filter resamples, it moves prices and variances between slots
    and leaves ``stream``/``counter`` in place, so copies of one particle
    draw different shocks afterwards.  ``copy()`` takes a snapshot that
    restores the streams bit for bit.
    """

    key: np.ndarray
    stream: np.ndarray
    counter: np.ndarray

    @classmethod
    def create(cls, seed: int | np.random.SeedSequence, n_paths: int) -> StreamState:
        """Fresh state: streams ``0 .. n_paths - 1``, counters at zero."""
        return cls(
            key=philox_key(seed),
            stream=np.arange(n_paths, dtype=np.uint64),
            counter=np.zeros(n_paths, dtype=np.uint64),
        )

    def copy(self) -> StreamState:
        """Independent copy of the three arrays (a snapshot)."""
        return StreamState(self.key.copy(), self.stream.copy(), self.counter.copy())

    def __post_init__(self) -> None:
        for name in ("key", "stream", "counter"):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.dtype != np.uint64 or arr.ndim != 1:
                raise TypeError(f"StreamState.{name} must be a 1-d uint64 array")
        if self.key.shape != (2,):
            raise ValueError("StreamState.key must have shape (2,)")
        if self.stream.shape != self.counter.shape:
            raise ValueError("StreamState.stream and .counter must have the same shape")
