"""Innovations for the path kernels: any distribution through a ppf table.

The kernels turn each generator word into an innovation ``z = F^{-1}(u)``
by table lookup, so every law with a vectorised ppf (normal, Student-t,
Hansen's skew-t, GED, skewed GED...) costs the same per draw and no
distribution-specific sampler is needed in numba.

Grid.  A word stands for ``u`` as a side bit and the tail distance
``v = min(u, 1 - u)`` in ``[2**-54, 1/2)`` (:mod:`._rng`).  Each side is
tabulated separately (the lower tail as ``F^{-1}(v)``, the upper as
``F^{-1}(1 - v)``) on octaves of ``v``: octave ``p`` covers
``[2**(p-54), 2**(p-53))`` and is cut into ``per_octave`` equal intervals,
so the spacing is proportional to ``v`` (uniform in ``log v``, dense in the
tails) and the kernel finds the interval from the bits of the word (leading
zero count and mantissa), without a logarithm.  On every interval ``z`` is
the cubic in the interval fraction ``f`` that matches the exact ppf at four
points (both ends and two interior points, all at exactly representable
probabilities); ends are shared, so the table is continuous.  The build
checks the cubic against the ppf at three more points per interval
(``max_abs_error``, ``max_rel_error``) and checks that every cubic is
monotone.  With the defaults (64 intervals per octave, 39 octaves per side)
the table holds 4,992 cubics (160 KB, the busy top octaves a few KB) and
matches the normal, t(5) and GED(1.3) ppfs to 1e-10 .. 1e-8 relative.

Tail treatment.  The lowest tabulated octave starts at
``u_lo = 2**floor(log2(u_min))``.  A draw with ``v < u_lo`` (probability
``2 u_lo`` per draw, 1.8e-12 for the default ``u_min = 1e-12``: about one
draw in 3.8e4 simulations of 10,000 x 1,440 paths) continues the table in
the octave coordinate ``y = log2(v / u_lo)`` (exactly, the kernels take
the logarithm of the word's mantissa there): geometrically, ``z = z_lo exp(-g y)`` with ``exp(g)`` the ratio
of ``z`` across the outermost tabulated octave, which follows power-law
tails (Student-type: within 1% for t(5) down to ``u = 2**-54``) and
overshoots a Gaussian tail by less than 0.3 at ``u = 1e-16``; linearly
when the two outermost ends do not have the same sign.  The smallest
representable ``v`` of one word is ``2**-54``: the word with ``k = 0``
stands for the whole cell ``v < 2**-53``.

Exact far tails.  For a light tail that cell is negligible, but for a heavy
one it is not: the standardised Student-t with ``nu = 2.1`` keeps 18% of its
variance at ``v < 2**-53`` (42% for ``nu = 2.05``).  The law is therefore
defined with the continuation running on to ``v -> 0``, and the deepest cell
is sampled exactly by drawing further uniforms from a side stream of the same
path (:func:`~volresearch.simulate._rng.deep_tail_uniforms`):
``v = 2**-53 U'`` with ``U'`` uniform, the continuation evaluated at
``y = log2(v / u_lo)``.  The path kernels
(:func:`~volresearch.simulate.kernels.table_z`) and
:meth:`PpfTable.from_words_exact` do this, so simulated paths carry the
whole variance of the law; ``truncated_variance`` reports the variance a
sampler that stops at one word (:meth:`PpfTable.from_words`, a diagnostic)
would miss.
For a Student-type tail the continuation is the power law of the tail
itself (``z ~ v**(-1/nu)``), exact far beyond the table.

Moments.  ``PpfTable`` reports the mean, variance, ``P(z < 0)`` and
``E[z**2 1(z < 0)]`` of this law (Gauss-Legendre piece by piece, exact for
the cubic pieces, plus the tail continuation, in closed form below
``2**-53``), so a table built from a standardised ppf shows mean 0 and
variance 1 to table accuracy (reported, and checked against
``moment_tol``); a tail too heavy for a finite variance (tail index <= 2)
is refused with that reason; ``standardise=True`` rescales the table so
that mean and variance are 0 and 1 exactly up to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._util import readonly
from ..errors import SimulationError
from . import _kernels
from ._rng import StreamState

__all__ = ["PpfTable", "build_ppf_table"]

_GL8 = np.polynomial.legendre.leggauss(8)
_GL16 = np.polynomial.legendre.leggauss(16)


def _gl01(rule: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, w = rule
    return 0.5 * (x + 1.0), 0.5 * w


_X8, _W8 = _gl01(_GL8)
_X16, _W16 = _gl01(_GL16)


@dataclass(frozen=True)
class PpfTable:
    """Tabulated inverse cdf of a standardised innovation law.

    Build with :func:`build_ppf_table`.  The arrays are read-only and are
    passed to the kernels as ``(coef, p_min, m_bits, tail)``.

    Attributes
    ----------
    coef
        ``(2, n_octaves * per_octave, 4)`` cubic coefficients
        ``c0 + f (c1 + f (c2 + f c3))`` per interval; side 0 is the lower
        tail ``F^{-1}(v)``, side 1 the upper tail ``F^{-1}(1 - v)``.
    p_min
        Lowest tabulated octave (``u_lo = 2**(p_min - 54)``).
    m_bits
        ``log2(per_octave)``.
    tail
        ``(2, 4)`` parameters ``(a, c, g, b)`` of the continuation
        ``z = a + c exp(-g y) + b y`` below ``u_lo``.
    name
        Label of the distribution (kept in simulation metadata).
    max_abs_error
        Largest ``|table - ppf|`` at the build's check points (three per
        interval, exact ppf values).
    max_rel_error
        Largest ``|table - ppf| / max(1, |ppf|)`` at the same points.
    mean, variance
        Mean and variance of the sampled law.
    prob_negative
        ``P(z < 0)``.
    neg_second_moment
        ``E[z**2 1(z < 0)]``, the factor of ``gamma`` in the GJR variance
        forecast (1/2 for a symmetric law).
    fourth_moment
        ``E[z**4]`` (``inf`` for a tail index <= 4).
    sampled_variance
        Variance of what a one-word sampler (:meth:`from_words`) draws: the
        deepest cell ``v < 2**-53`` at one value.
    truncated_variance
        ``variance - sampled_variance``: the part only exact deep-cell
        sampling reaches (:meth:`from_words_exact`, the path kernels; 0 to
        rounding for light tails).
    tail_index
        ``(lower, upper)`` power-law index of the continuation
        (``z ~ v**(-1/index)``); ``inf`` for a tail that is not a power law.
    """

    coef: np.ndarray
    p_min: int
    m_bits: int
    tail: np.ndarray
    name: str = ""
    max_abs_error: float = field(default=float("nan"))
    max_rel_error: float = field(default=float("nan"))
    mean: float = field(default=float("nan"))
    variance: float = field(default=float("nan"))
    prob_negative: float = field(default=float("nan"))
    neg_second_moment: float = field(default=float("nan"))
    fourth_moment: float = field(default=float("nan"))
    sampled_variance: float = field(default=float("nan"))
    truncated_variance: float = field(default=float("nan"))
    tail_index: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def per_octave(self) -> int:
        """Intervals per octave of ``v``."""
        return 1 << self.m_bits

    @property
    def u_lo(self) -> float:
        """Smallest tabulated tail probability ``2**(p_min - 54)``."""
        return math.ldexp(1.0, self.p_min - 54)

    @property
    def kernel_args(self) -> tuple[np.ndarray, int, int, np.ndarray]:
        """``(coef, p_min, m_bits, tail)`` as the kernels take them."""
        return self.coef, self.p_min, self.m_bits, self.tail

    def from_words(self, words: np.ndarray) -> np.ndarray:
        """Innovations of generator words under the one-word law (deepest cell at one value).

        As the kernels compute them for every word but the deepest cell
        (``k = 0``), which the kernels refine (:meth:`from_words_exact`).
        """
        return _kernels.table_z_numpy(words, self.coef, self.p_min, self.m_bits, self.tail)

    def from_words_exact(
        self, words: np.ndarray, key: np.ndarray, streams: np.ndarray, counters: np.ndarray
    ) -> np.ndarray:
        """Innovations of generator words with the deepest cell sampled exactly.

        As :meth:`from_words`, except that a word standing for the cell
        ``v < 2**-53`` (``k = 0``) is refined with uniforms of the path's side
        stream (:func:`~volresearch.simulate._rng.deep_tail_uniforms_numpy`):
        ``v = 2**-53 U'``, and ``z`` is the tail continuation at that ``v``.

        Parameters
        ----------
        words
            ``uint64`` words.
        key, streams, counters
            Philox key and, per word, its stream id and word index (the
            position that drew it), which seed the refinement.

        Returns
        -------
        numpy.ndarray
            ``float64`` innovations, bit for bit those of the path kernels.
        """
        return _kernels.table_z_numpy(
            words, self.coef, self.p_min, self.m_bits, self.tail, np.asarray(key, dtype=np.uint64), streams, counters
        )

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Evaluate the table at probabilities ``u`` in ``(0, 1)`` (numpy).

        The same pieces as the kernels, addressed from a double ``u``
        instead of a word (``v = min(u, 1 - u)``; ``u`` near 1 carries the
        rounding of ``1 - u``).

        Parameters
        ----------
        u
            Probabilities.

        Returns
        -------
        numpy.ndarray
            ``F^{-1}(u)`` to table accuracy.
        """
        u = np.asarray(u, dtype=np.float64)
        if np.any(~(u > 0.0) | ~(u < 1.0)):
            raise SimulationError("PpfTable.ppf needs probabilities in the open interval (0, 1)")
        side = (u > 0.5).astype(np.intp)
        v = np.where(side == 1, 1.0 - u, u)
        mant, e = np.frexp(v)
        p = (e + 53).astype(np.int64)
        t = 2.0 * mant - 1.0
        top = p >= 53  # v == 1/2
        p = np.where(top, 52, p)
        t = np.where(top, 1.0, t)
        m = self.per_octave
        z = np.empty(u.shape, dtype=np.float64)
        body = p >= self.p_min
        tm = t[body] * m
        i = np.minimum(np.floor(tm).astype(np.int64), m - 1)
        f = tm - i
        g = ((p[body] - self.p_min) << self.m_bits) + i
        c = self.coef[side[body], g]
        z[body] = c[..., 0] + f * (c[..., 1] + f * (c[..., 2] + f * c[..., 3]))
        deep = ~body
        y = (p[deep] - self.p_min) + np.log2(1.0 + t[deep])
        tl = self.tail[side[deep]]
        z[deep] = tl[..., 0] + tl[..., 1] * np.exp(-tl[..., 2] * y) + tl[..., 3] * y
        return z

    def sample(self, n_steps: int, n_paths: int, seed: int | np.random.SeedSequence) -> np.ndarray:
        """The innovations that drive ``n_paths`` paths for ``n_steps`` steps.

        Exactly the ``z`` that :func:`~volresearch.simulate.simulate_paths`
        uses with the same seed (path ``j`` = column ``j``).

        Returns
        -------
        numpy.ndarray
            ``(n_steps, n_paths)`` float64.
        """
        state = StreamState.create(seed, n_paths)
        out = np.empty((n_steps, n_paths), dtype=np.float64)
        _kernels.draw_innovations(state.key, state.stream, state.counter, *self.kernel_args, out)
        return out

    def meta(self) -> dict[str, object]:
        """What simulation metadata records about the law (JSON-safe).

        The moments of :meth:`moments`, plus how the kernels sample the far
        tail (``tail_sampling``: ``"exact"``, the deepest cell refined from
        the side stream), the variance the kernels draw with
        (``kernel_variance``, the law's own) and the power-law index of each
        tail (``None`` for a tail that is not a power law).
        """
        out: dict[str, object] = dict(self.moments())
        out["tail_sampling"] = "exact"
        out["kernel_variance"] = self.variance
        out["tail_index"] = [x if math.isfinite(x) else None for x in self.tail_index]
        return out

    def moments(self) -> dict[str, float]:
        """The reported moments as a dict (JSON-safe)."""
        return {
            "mean": self.mean,
            "variance": self.variance,
            "prob_negative": self.prob_negative,
            "neg_second_moment": self.neg_second_moment,
            "fourth_moment": self.fourth_moment,
            "sampled_variance": self.sampled_variance,
            "truncated_variance": self.truncated_variance,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
        }


def _eval_cubic(c: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Evaluate cubics ``c (..., 4)`` at fractions ``f (..., k)``."""
    return c[..., 0:1] + f * (c[..., 1:2] + f * (c[..., 2:3] + f * c[..., 3:4]))


_LAG_X, _LAG_W = np.polynomial.laguerre.laggauss(24)
_LN2 = math.log(2.0)
_CELL = math.ldexp(1.0, -53)  # the deepest cell of one word: v < 2**-53


def _deep_tail_sums(a: float, c: float, g: float, b: float, y1: float) -> dict[str, float]:
    """``int h(z) dv`` over ``v < 2**-53`` (``y < y1``) of the continuation ``z = a + c exp(-g y) + b y``.

    ``dv = 2**-53 exp(-s) ds`` with ``y = y1 - s / ln 2``.  A power-law tail
    (``a = b = 0``) in closed form, ``inf`` where the moment diverges; a
    linear continuation by Gauss-Laguerre (exact for its polynomial moments).
    """
    if a == 0.0 and b == 0.0 and c != 0.0:
        out = {}
        for name, k in (("m1", 1), ("m2", 2), ("m4", 4)):
            rate = _LN2 - k * g
            if rate <= 0.0:
                out[name] = math.copysign(math.inf, c**k)
            else:
                out[name] = c**k * _CELL * _LN2 * math.exp(-k * g * y1) / rate
        neg = c < 0.0
        out["neg0"] = _CELL if neg else 0.0
        out["neg2"] = out["m2"] if neg else 0.0
        return out
    y = y1 - _LAG_X / _LN2
    z = a + c * np.exp(-g * y) + b * y
    w = _CELL * _LAG_W
    neg = z < 0.0
    return {
        "m1": float(np.sum(w * z)),
        "m2": float(np.sum(w * z**2)),
        "m4": float(np.sum(w * z**4)),
        "neg0": float(np.sum(w[neg])),
        "neg2": float(np.sum((w * z**2)[neg])),
    }


def _table_expectations(coef: np.ndarray, p_min: int, m_bits: int, tail: np.ndarray) -> dict[str, float]:
    """Moments of the tabulated law, integrated over ``v`` piece by piece.

    ``E h(z) = sum_sides sum_pieces int h(z(v)) dv``: 8-point Gauss-Legendre
    on every cubic piece (exact for ``h`` polynomial of degree <= 5 in z),
    16 points per octave on the tail continuation down to ``2**-53``, the
    continuation below it in closed form (:func:`_deep_tail_sums`), and the
    piece where ``z`` changes sign split at its root (bisection) for the
    ``z < 0`` parts.  ``sampled_variance`` puts the deepest cell at the one
    value a single word gives it (``v = 2**-54``).
    """
    m = 1 << m_bits
    n_int = coef.shape[1]
    p = p_min + np.arange(n_int) // m
    dv = np.ldexp(1.0, p - 54) / m  # (n_int,)
    sums = {"m1": 0.0, "m2": 0.0, "m4": 0.0, "neg0": 0.0, "neg2": 0.0}
    atom = {"m1": 0.0, "m2": 0.0}
    for side in (0, 1):
        c = coef[side]
        zq = _eval_cubic(c, np.broadcast_to(_X8, (n_int, 8)))
        wq = _W8[None, :] * dv[:, None]
        sums["m1"] += float(np.sum(wq * zq))
        sums["m2"] += float(np.sum(wq * zq**2))
        sums["m4"] += float(np.sum(wq * zq**4))
        z0 = c[:, 0]
        z1 = c.sum(axis=1)
        full = (z0 < 0.0) & (z1 < 0.0)
        sums["neg0"] += float(np.sum(dv[full]))
        sums["neg2"] += float(np.sum((wq * zq**2)[full]))
        cross = np.flatnonzero((z0 < 0.0) != (z1 < 0.0))
        for g in cross:
            lo, hi = 0.0, 1.0
            neg_at_lo = z0[g] < 0.0
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                zm = float(_eval_cubic(c[g], np.array([mid]))[0])
                if (zm < 0.0) == neg_at_lo:
                    lo = mid
                else:
                    hi = mid
                if hi - lo <= 1e-17:
                    break
            a, b = (0.0, lo) if neg_at_lo else (lo, 1.0)
            fq = a + (b - a) * _X8
            zq_g = _eval_cubic(c[g], fq)
            wg = _W8 * (b - a) * dv[g]
            sums["neg0"] += float(np.sum(wg))
            sums["neg2"] += float(np.sum(wg * zq_g**2))
        # tail continuation: octaves 1 .. p_min - 1, then the deepest cell v < 2**-53
        a_, c_, g_, b_ = (float(t) for t in tail[side])
        for q in range(1, p_min):
            y = (q - p_min) + np.log2(1.0 + _X16)
            zt = a_ + c_ * np.exp(-g_ * y) + b_ * y
            wt = _W16 * math.ldexp(1.0, q - 54)
            sums["m1"] += float(np.sum(wt * zt))
            sums["m2"] += float(np.sum(wt * zt**2))
            sums["m4"] += float(np.sum(wt * zt**4))
            neg = zt < 0.0
            sums["neg0"] += float(np.sum(wt[neg]))
            sums["neg2"] += float(np.sum((wt * zt**2)[neg]))
        deep = _deep_tail_sums(a_, c_, g_, b_, float(1 - p_min))
        for k in sums:
            sums[k] += deep[k]
        y_atom = float(-p_min)
        z_atom = a_ + c_ * math.exp(-g_ * y_atom) + b_ * y_atom
        atom["m1"] += _CELL * z_atom - deep["m1"]
        atom["m2"] += _CELL * z_atom * z_atom - deep["m2"]
    with np.errstate(invalid="ignore"):
        mean = sums["m1"]
        variance = sums["m2"] - mean * mean if math.isfinite(sums["m2"]) else math.inf
        s_mean = mean + atom["m1"] if math.isfinite(mean) else math.nan
        s_m2 = sums["m2"] + atom["m2"] if math.isfinite(sums["m2"]) else math.nan
    sampled = s_m2 - s_mean * s_mean
    if not math.isfinite(sums["m2"]):  # the one-word law is bounded: its variance is finite
        sampled = _sampled_variance_bounded(coef, p_min, m_bits, tail)
    return {
        "mean": mean,
        "variance": variance,
        "prob_negative": sums["neg0"],
        "neg_second_moment": sums["neg2"],
        "fourth_moment": sums["m4"],
        "sampled_variance": sampled,
    }


def _sampled_variance_bounded(coef: np.ndarray, p_min: int, m_bits: int, tail: np.ndarray) -> float:
    """Variance of the one-word law when the full law has none (body and continuation to ``2**-53``, atom)."""
    m = 1 << m_bits
    n_int = coef.shape[1]
    dv = np.ldexp(1.0, p_min + np.arange(n_int) // m - 54) / m
    m1 = m2 = 0.0
    for side in (0, 1):
        zq = _eval_cubic(coef[side], np.broadcast_to(_X8, (n_int, 8)))
        wq = _W8[None, :] * dv[:, None]
        m1 += float(np.sum(wq * zq))
        m2 += float(np.sum(wq * zq**2))
        a_, c_, g_, b_ = (float(t) for t in tail[side])
        for q in range(1, p_min):
            y = (q - p_min) + np.log2(1.0 + _X16)
            zt = a_ + c_ * np.exp(-g_ * y) + b_ * y
            wt = _W16 * math.ldexp(1.0, q - 54)
            m1 += float(np.sum(wt * zt))
            m2 += float(np.sum(wt * zt**2))
        z_atom = a_ + c_ * math.exp(g_ * p_min) - b_ * p_min
        m1 += _CELL * z_atom
        m2 += _CELL * z_atom * z_atom
    return m2 - m1 * m1


def _tail_parameters(z_lo: float, z_next: float) -> tuple[float, float, float, float]:
    """Continuation ``(a, c, g, b)`` from ``z`` at ``u_lo`` and ``2 u_lo``."""
    if z_lo != 0.0 and z_next != 0.0 and (z_lo > 0.0) == (z_next > 0.0) and abs(z_lo) >= abs(z_next):
        return 0.0, z_lo, math.log(z_lo / z_next), 0.0
    return z_lo, 0.0, 0.0, z_next - z_lo


def build_ppf_table(
    ppf: Callable[[np.ndarray], np.ndarray],
    *,
    isf: Callable[[np.ndarray], np.ndarray] | None = None,
    u_min: float = 1e-12,
    per_octave: int = 64,
    standardise: bool = False,
    moment_tol: float = 1e-4,
    name: str = "",
) -> PpfTable:
    """Tabulate a standardised innovation law from its vectorised ppf.

    Parameters
    ----------
    ppf
        Exact inverse cdf ``F^{-1}``, vectorised over a 1-d float64 array of
        probabilities (e.g. ``scipy.stats.norm.ppf`` or
        ``lambda u: SkewStudent().ppf(u, [8.0, -0.2])``).
    isf
        Optional inverse survival function ``F^{-1}(1 - v)`` taking ``v``.
        Without it the upper tail uses ``ppf(1 - v)`` at probabilities whose
        complement is exact in double precision, and its accuracy is that of
        the ppf near 1 (``arch``'s ``SkewStudent.ppf``, for one, loses about
        1e-5 relative precision at ``1 - 1e-12`` to cancellation; the table
        then follows that noise, which shows in ``max_abs_error``).
    u_min
        Lowest tail probability to tabulate; the table starts at
        ``u_lo = 2**floor(log2(u_min))`` on both sides, ``u_lo >= 2**-47``
        without ``isf`` (``per_octave = 64``), and the continuation of the
        module notes takes over below.
    per_octave
        Intervals per octave of ``v`` (power of two, 8 to 4096).
    standardise
        Rescale the table to mean 0 and variance 1 exactly.  Otherwise the
        ppf must already be standardised: a mean or variance off by more
        than ``moment_tol`` raises :class:`~volresearch.errors.SimulationError`.
    moment_tol
        Tolerance of that check.
    name
        Label stored in the table and in simulation metadata.

    Returns
    -------
    PpfTable
        Read-only table with its accuracy and moments.

    Raises
    ------
    SimulationError
        Bad options; a ppf that returns non-finite or non-monotone values;
        a ppf that is not standardised (unless ``standardise``).
    """
    if per_octave < 8 or per_octave > 4096 or per_octave & (per_octave - 1):
        raise SimulationError(f"per_octave must be a power of two in [8, 4096], got {per_octave}")
    if not (0.0 < u_min < 0.25) or not math.isfinite(u_min):
        raise SimulationError(f"u_min must lie in (0, 0.25), got {u_min!r}")
    m_bits = per_octave.bit_length() - 1
    m = per_octave
    _, e = math.frexp(u_min)  # u_min = f 2**e, f in [0.5, 1): floor(log2 u_min) = e - 1
    p_min = e + 53
    lowest = m_bits if isf is not None else m_bits + 1
    if p_min < lowest:
        raise SimulationError(
            f"u_min={u_min!r} is below the smallest tabulable tail probability "
            f"{math.ldexp(1.0, lowest - 54):.3g} for per_octave={per_octave}"
            + ("" if isf is not None else " without isf")
        )
    n_oct = 53 - p_min
    n_int = n_oct * m
    octave = p_min + np.arange(n_int) // m
    idx = np.arange(n_int) % m
    base = np.ldexp(1.0, octave - 54)

    def evaluate(side: int, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact node fractions and ppf values at nominal fractions ``tau``."""
        v = base[:, None] * (1.0 + (idx[:, None] + tau[None, :]) / m)
        if side == 0:
            raw = ppf(v.ravel())
        elif isf is not None:
            raw = isf(v.ravel())
        else:
            u = 1.0 - v
            v = 1.0 - u  # exact: the tail probability actually evaluated
            raw = ppf(u.ravel())
        z = np.asarray(raw, dtype=np.float64).reshape(v.shape)
        frac = (v / base[:, None] - 1.0) * m - idx[:, None]
        return frac, z

    coef = np.empty((2, n_int, 4))
    max_err = 0.0
    max_rel = 0.0
    for side in (0, 1):
        f_end, z_end = evaluate(side, np.array([0.0, 1.0]))
        f_mid, z_mid = evaluate(side, np.array([1.0 / 3.0, 2.0 / 3.0]))
        f_chk, z_chk = evaluate(side, np.array([1.0 / 6.0, 0.5, 5.0 / 6.0]))
        for arr, what in ((z_end, "ends"), (z_mid, "interior points"), (z_chk, "check points")):
            if not np.all(np.isfinite(arr)):
                bad = np.argwhere(~np.isfinite(arr))[0]
                raise SimulationError(
                    f"ppf returned a non-finite value at a table node ({what}, side {side}, "
                    f"octave {octave[bad[0]]}, interval {idx[bad[0]]})"
                )
        nodes = np.stack([f_end[:, 0], f_mid[:, 0], f_mid[:, 1], f_end[:, 1]], axis=1)
        values = np.stack([z_end[:, 0], z_mid[:, 0], z_mid[:, 1], z_end[:, 1]], axis=1)
        vander = nodes[:, :, None] ** np.arange(4)[None, None, :]
        c = np.linalg.solve(vander, values[:, :, None])[:, :, 0]
        c[:, 0] = z_end[:, 0]  # exact at the shared end points
        coef[side] = c
        err = np.abs(_eval_cubic(c, f_chk) - z_chk)
        max_err = max(max_err, float(np.max(err)))
        max_rel = max(max_rel, float(np.max(err / np.maximum(1.0, np.abs(z_chk)))))
        # monotone: z increases with v on side 0 and decreases on side 1
        sign = 1.0 if side == 0 else -1.0
        d0 = sign * c[:, 1]
        d1 = sign * (c[:, 1] + 2.0 * c[:, 2] + 3.0 * c[:, 3])
        with np.errstate(divide="ignore", invalid="ignore"):
            fstar = np.where(c[:, 3] != 0.0, -c[:, 2] / (3.0 * c[:, 3]), -1.0)
        inside = (fstar > 0.0) & (fstar < 1.0)
        dstar = np.where(inside, sign * (c[:, 1] + 2.0 * c[:, 2] * fstar + 3.0 * c[:, 3] * fstar**2), 0.0)
        scale = np.maximum(np.abs(c[:, 1]), 1e-300)
        bad = (np.minimum(np.minimum(d0, d1), dstar) < -1e-9 * scale) | (sign * (z_end[:, 1] - z_end[:, 0]) < 0.0)
        if np.any(bad):
            g = int(np.flatnonzero(bad)[0])
            raise SimulationError(
                f"ppf table is not monotone (side {side}, octave {octave[g]}, interval {idx[g]}): "
                "the ppf is not increasing or per_octave is too small"
            )
    tail = np.empty((2, 4))
    for side in (0, 1):
        tail[side] = _tail_parameters(float(coef[side, 0, 0]), float(coef[side, m, 0]))
    moments = _table_expectations(coef, p_min, m_bits, tail)
    if not (math.isfinite(moments["mean"]) and math.isfinite(moments["variance"])):
        idx = tuple(_tail_index(t) for t in tail)
        raise SimulationError(
            f"the law's tails are too heavy for a finite variance (tail index {idx[0]:.3g} / {idx[1]:.3g} <= 2): "
            "it cannot be a standardised innovation law"
        )
    if standardise:
        mu = moments["mean"]
        sd = math.sqrt(moments["variance"])
        coef = coef / sd
        coef[:, :, 0] -= mu / sd
        tail = tail.copy()
        tail[:, 0] = (tail[:, 0] - mu) / sd
        tail[:, 1] /= sd
        tail[:, 3] /= sd
        max_err = max_err / sd
        max_rel = max_rel / sd
        moments = _table_expectations(coef, p_min, m_bits, tail)
    elif abs(moments["mean"]) > moment_tol or abs(moments["variance"] - 1.0) > moment_tol:
        raise SimulationError(
            f"ppf is not standardised: table mean {moments['mean']:.6g}, variance "
            f"{moments['variance']:.6g}; rescale it or pass standardise=True"
        )
    return PpfTable(
        coef=readonly(coef, copy=True),
        p_min=int(p_min),
        m_bits=int(m_bits),
        tail=readonly(tail, copy=True),
        name=name,
        max_abs_error=max_err,
        max_rel_error=max_rel,
        truncated_variance=moments["variance"] - moments["sampled_variance"],
        tail_index=(_tail_index(tail[0]), _tail_index(tail[1])),
        **moments,
    )


def _tail_index(t: np.ndarray) -> float:
    """Power-law index ``nu`` of a continuation ``z = c exp(-g y)`` (``z ~ v**(-1/nu)``), ``inf`` otherwise."""
    a, c, g, b = (float(x) for x in t)
    return _LN2 / g if (a == 0.0 and b == 0.0 and c != 0.0 and g > 0.0) else math.inf
