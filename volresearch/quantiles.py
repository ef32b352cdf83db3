"""The one quantile rule of volresearch.

Every quantile the package reports (fan bands, the p5-p95 of a rolling
forecast, zone and stop levels, interval forecasts in validation) is the
**generalised inverse of the (weighted) empirical distribution function**:

.. math::

    F(x) = \\frac{\\sum_i w_i \\, 1[x_i \\le x]}{\\sum_i w_i}, \\qquad
    Q(q) = \\min\\{x_{(k)} : F(x_{(k)}) \\ge q\\}

with equal weights when none are given.  This is ``numpy.quantile(...,
method="inverted_cdf")`` (Hyndman-Fan type 1), the only rule numpy defines
for weighted samples, and it is the rule that keeps the three readings of a
forecast consistent:

* a particle weight behaves like a multiplicity: integer weights give the
  quantile of the sample with each value repeated that many times;
* a value holding most of the weight is the quantile for every level inside
  its mass (interpolating rules such as Hazen's or numpy's "linear" pull the
  median of a 99 %-on-one-value sample towards its neighbours);
* interval coverage and the PIT agree exactly: ``y < Q(q)`` if and only if
  ``F(y) < q``, so the share of outcomes below the forecast's p5 equals the
  share of PIT values below 0.05.

The path kernels compute the same rule in numba for streamed bands (tested
against :func:`quantile` and against numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["QUANTILE_METHOD", "quantile", "empirical_cdf", "level_name"]

#: numpy's name for the rule (pass it as ``method=`` where numpy is called directly).
QUANTILE_METHOD = "inverted_cdf"


def _weights(weights: Any, values: np.ndarray, axis: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1 and w.shape[0] != values.shape[axis]:
        raise ValueError(f"weights have length {w.shape[0]}, values have {values.shape[axis]} along axis {axis}")
    if w.ndim > 1 and w.shape != values.shape:
        raise ValueError(f"weights of shape {w.shape} do not match values of shape {values.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    total = w.sum(axis=axis if w.ndim > 1 else 0)
    if np.any(total <= 0):
        raise ValueError("weights must not all be zero")
    return w


def quantile(
    values: Any,
    q: float | Sequence[float] | np.ndarray,
    *,
    weights: Any = None,
    axis: int = -1,
) -> np.ndarray:
    """Quantiles of a (weighted) sample by the package's one rule.

    Parameters
    ----------
    values
        Sample, any shape; quantiles are taken along ``axis``.
    q
        Level(s) in [0, 1].
    weights
        Non-negative weights, 1-D along ``axis`` or of the shape of ``values``;
        ``None`` for equal weights.  They need not sum to one.
    axis
        Axis of the sample.

    Returns
    -------
    numpy.ndarray
        ``values`` with ``axis`` replaced by the levels: shape
        ``values.shape`` without ``axis`` for a scalar ``q``, with a leading
        axis of ``len(q)`` otherwise (numpy's layout).

    Raises
    ------
    ValueError
        Levels outside [0, 1], or negative, non-finite or all-zero weights.
    """
    x = np.asarray(values, dtype=np.float64)
    probs = np.asarray(q, dtype=np.float64)
    if probs.size == 0 or np.any(~np.isfinite(probs)) or np.any((probs < 0) | (probs > 1)):
        raise ValueError(f"quantile levels must be numbers in [0, 1], got {q!r}")
    w = _weights(weights, x, axis)
    if w is None:
        return np.quantile(x, probs, axis=axis, method=QUANTILE_METHOD)
    return np.quantile(x, probs, axis=axis, weights=w, method=QUANTILE_METHOD)


def empirical_cdf(values: Any, x: Any, *, weights: Any = None) -> np.ndarray:
    """``F(x)``: weighted share of ``values`` at or below each ``x`` (1-D sample).

    The distribution function whose generalised inverse is :func:`quantile`.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    pts = np.asarray(x, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    v = v[order]
    if weights is None:
        cum = np.arange(1, v.size + 1, dtype=np.float64) / v.size
    else:
        w = _weights(np.asarray(weights, dtype=np.float64).ravel(), v, 0)
        assert w is not None
        cum = np.cumsum(w[order])
        cum /= cum[-1]
    idx = np.searchsorted(v, pts, side="right")
    out = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)
    return out


def level_name(q: float) -> str:
    """Column name of a quantile level: 0.05 -> "p5", 0.025 -> "p2.5"."""
    return f"p{round(q * 100, 10):g}"
