"""Input checks and the quantile arithmetic shared by the calibration statistics.

Rows of an ensemble array are forecasts, columns members; weights are
normalised per row.  Quantiles follow the package's one rule
(:mod:`volresearch.quantiles`: generalised inverse of the weighted empirical
distribution function, ``numpy.quantile(method="inverted_cdf")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from volresearch.errors import DataError
from volresearch.quantiles import quantile

DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99)
"""Central prediction-interval levels reported by default."""

Alternative = Literal["two-sided", "less", "greater"]
SeedLike = int | np.random.Generator | None


def _array(x: ArrayLike, name: str, *, ndim: int | tuple[int, ...], finite: bool = True) -> np.ndarray:
    """``x`` as a float64 array with the given dimensionality, or a DataError naming ``name``."""
    if isinstance(x, (pd.Series, pd.DataFrame)):
        x = x.to_numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric: {exc}", column=name, rule="dtype") from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in dims:
        raise DataError(
            f"{name} must have {' or '.join(str(d) for d in dims)} dimension(s), got shape {a.shape}",
            column=name,
            rule="shape",
        )
    if finite and a.size and not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1)) if a.ndim else [0]
        raise DataError(
            f"{name} contains NaN or infinite values",
            column=name,
            row=[int(b) for b in bad] if a.ndim else None,
            rule="finite",
        )
    return a


def _ensembles_and_obs(ensembles: ArrayLike, observations: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(n_forecasts, n_members)`` ensembles and ``(n_forecasts,)`` observations.

    A 1-D ensemble with a scalar observation is one forecast.
    """
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    y = _array(observations, "observations", ndim=(0, 1))
    if x.ndim == 1:
        if y.ndim != 0 and y.shape != (1,):
            raise DataError(
                f"a 1-D ensemble is one forecast and needs one observation, got observations of shape {y.shape}",
                column="observations",
                rule="shape",
            )
        x = x[None, :]
        y = y.reshape(1)
    elif y.ndim == 0:
        raise DataError(
            f"observations must have one value per ensemble row ({x.shape[0]}), got a scalar",
            column="observations",
            rule="shape",
        )
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"ensembles has {x.shape[0]} rows (forecasts) but observations has {y.shape[0]} values",
            column="observations",
            rule="shape",
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"ensembles must be non-empty, got shape {x.shape}", column="ensembles", rule="shape")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _weights(weights: ArrayLike | None, shape: tuple[int, ...], *, normalise: bool = True) -> np.ndarray | None:
    """Member weights of shape (1, m) or (n, m), normalised per row unless asked not to.

    ``None`` for equal weights (given as ``None`` or as rows of one repeated value), so that equal
    weights give exactly the unweighted results, boundary levels included.
    """
    if weights is None:
        return None
    w = _array(weights, "weights", ndim=(1, 2))
    n, m = shape
    if w.ndim == 1:
        w = w[None, :]
    if w.shape[1] != m or w.shape[0] not in (1, n):
        raise DataError(
            f"weights must have shape ({m},) or ({n}, {m}) to match ensembles, got {w.shape}",
            column="weights",
            rule="shape",
        )
    if np.any(w < 0):
        raise DataError("weights must be non-negative", column="weights", rule="range")
    total = w.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        bad = np.flatnonzero(total[:, 0] <= 0)
        raise DataError(
            "each row of weights needs a positive sum", column="weights", row=[int(b) for b in bad], rule="range"
        )
    if np.all(w == w[:, :1]):
        return None
    return w / total if normalise else w


def _sorted(x: np.ndarray, p: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Members sorted per row with the weights carried along; equal weights as a (1, m) row."""
    m = x.shape[1]
    if p is None:
        return np.sort(x, axis=1), np.full((1, m), 1.0 / m)
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    ps = np.take_along_axis(np.broadcast_to(p, x.shape), order, axis=1)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ps)


def _rng(seed: SeedLike) -> np.random.Generator:
    return np.random.default_rng(seed)


def _hits_array(hits: ArrayLike, name: str = "hits") -> np.ndarray:
    h = _array(hits, name, ndim=1)
    if h.size < 1:
        raise DataError(f"{name} is empty", column=name, rule="shape")
    if not np.all((h == 0) | (h == 1)):
        raise DataError(f"{name} must contain only 0 and 1 (1 = violation)", column=name, rule="binary")
    return h.astype(np.int8)


def _check_prob(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 < p < 1.0:
        raise DataError(f"{name} must lie strictly between 0 and 1, got {p}", column=name, rule="range")
    return p


def _levels(levels: Sequence[float] | float) -> tuple[float, ...]:
    lv = tuple(float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float)))
    if not lv:
        raise DataError("levels is empty", column="levels", rule="shape")
    for v in lv:
        _check_prob(v, "levels")
    return lv


# ============================================================ quantiles
def ensemble_quantiles(ensembles: ArrayLike, probs: ArrayLike, *, weights: ArrayLike | None = None) -> np.ndarray:
    r"""Quantiles of each ensemble by the package's one rule.

    :math:`Q(u) = \min\{x_{(k)} : P_k \ge u\}`, with :math:`P_k` the
    cumulative normalised weight of the sorted members
    (:func:`volresearch.quantiles.quantile`, ``numpy.quantile(...,
    method="inverted_cdf")`` for equal weights).  It is the generalised
    inverse of the ensemble's empirical distribution function ``F``, so an
    observation lies below ``Q(u)`` exactly when its PIT ``F(y)``
    (:func:`~volresearch.validate.uniformity.pit`) is below ``u``: interval coverage
    and the PIT histogram tell the same story.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)``, in the target's units.
    probs
        Probability levels in [0, 1], shape ``(k,)``.
    weights
        Optional non-negative member weights, ``(n_members,)`` or
        ``(n_forecasts, n_members)``; normalised per row.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts, k)`` quantiles, same units as ``ensembles``.
    """
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    if x.ndim == 1:
        x = x[None, :]
    q = _array(probs, "probs", ndim=(0, 1)).reshape(-1)
    if np.any((q < 0) | (q > 1)):
        raise DataError("probs must lie in [0, 1]", column="probs", rule="range")
    p = _weights(weights, x.shape, normalise=False)  # as given: integer multiplicities stay exact
    w = None if p is None else np.broadcast_to(p, x.shape)
    return np.ascontiguousarray(quantile(x, q, weights=w, axis=1).T)


def _cumulative(ps: np.ndarray) -> np.ndarray:
    """Cumulative normalised weights ``P_k`` of sorted rows, the last positive-weight member at exactly 1."""
    cum = np.cumsum(ps, axis=1)
    cum /= cum[:, -1:]
    return cum


def _step_quantiles(xs: np.ndarray, ps: np.ndarray, u: np.ndarray) -> np.ndarray:
    r"""``Q_i(u[i, k])`` of sorted weighted rows (``ps`` (n, m) or (1, m)) for levels ``u`` (n, k).

    The same rule as :func:`ensemble_quantiles`, for many levels per row (Monte Carlo draws
    :math:`Q(U)` are resampled members).
    """
    cum = _cumulative(ps)
    m = xs.shape[1]
    lv = np.maximum(u, np.nextafter(0.0, 1.0))  # a level of 0 takes the lowest member with weight
    if cum.shape[0] == 1:
        idx = np.searchsorted(cum[0], lv, side="left")
    else:
        idx = np.empty(lv.shape, dtype=np.int64)
        for i in range(xs.shape[0]):
            idx[i] = np.searchsorted(cum[i], lv[i], side="left")
    return np.take_along_axis(xs, np.minimum(idx, m - 1), axis=1)


def _tail_means(xs: np.ndarray, ps: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    r"""Lower tail means :math:`\frac1\alpha\int_0^\alpha Q_i(u)\,du` of the step quantile function.

    Exact: member ``k`` holds the levels :math:`(P_{k-1}, P_k]`, so the integral is
    :math:`\sum_k x_{(k)} (\min(P_k, \alpha) - \min(P_{k-1}, \alpha))`.  Shape ``(n, len(alphas))``.
    """
    cum = np.broadcast_to(_cumulative(ps), xs.shape)
    out = np.empty((xs.shape[0], alphas.size))
    for k, a in enumerate(alphas):
        upto = np.minimum(cum, a)
        mass = np.diff(upto, axis=1, prepend=0.0)
        out[:, k] = (xs * mass).sum(axis=1) / a
    return out
