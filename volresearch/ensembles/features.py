r"""Meta-features of the return history that condition adaptive ensemble weights (pure numpy).

Row ``t`` of :func:`meta_features` uses ``returns[:t+1]`` only: it describes the state after return
``t`` and conditions the weights of the forecast of return ``t + 1`` (look-ahead free by construction).
Columns (:data:`FEATURES`), each dimensionless or in the stated unit:

``log_vol``
    :math:`\tfrac12 \log \sigma^2_t`, the RiskMetrics EWMA variance
    (:func:`volresearch.models.robust.ewma_variance`, the package's one EWMA): log volatility per bar.
``vol_of_vol``
    Standard deviation of the daily changes of :math:`\log \sigma^2` over the last ``window`` bars.
``trend``
    Sum of the last ``window`` returns over :math:`\sqrt{\text{window}\,\sigma^2_t}` (a t-statistic-like
    drift, dimensionless).
``jump_share``
    :math:`\max(0, 1 - BV/RV)` over the last ``window`` returns, realised variance against bipower
    variation (Barndorff-Nielsen and Shephard 2004): the share of the variation that looks like jumps.
``regime``
    Empirical rank of :math:`\sigma^2_t` among the last ``regime_window`` EWMA values, in ``[0, 1]``: a
    continuous encoding of the volatility regime (0 calm, 1 the most turbulent of the last year).

Rows before ``regime_window`` returns are NaN.  :class:`FeatureScaler` standardises them with the training
window's means and standard deviations; :func:`out_of_range` is the circuit breaker's test (a non-finite
feature, or one more than :data:`Z_LIMIT` training standard deviations from its training mean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from volresearch.errors import ConfigError
from volresearch.models.realized import MU1
from volresearch.models.robust import EWMA_LAMBDA, ewma_variance

__all__ = ["FEATURES", "FEATURE_MEMORY", "FeatureScaler", "Z_LIMIT", "meta_features", "out_of_range"]

#: Names of the meta-feature columns, in order.
FEATURES = ("log_vol", "vol_of_vol", "trend", "jump_share", "regime")
#: Bars of the short rolling window (vol of vol, trend, jump share).
WINDOW = 20
#: Bars of the regime window (about one trading year of daily bars).
REGIME_WINDOW = 250
#: Returns an ensemble keeps to compute its features at later bars (the EWMA started this far back differs from
#: one started at the first return by a factor ``0.94**(FEATURE_MEMORY - REGIME_WINDOW)`` ~ 4e-10 at the regime
#: window's start).
FEATURE_MEMORY = 600
#: Training standard deviations beyond which a feature trips the circuit breaker.
Z_LIMIT = 6.0


def _rolling_sum(x: np.ndarray, w: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(x.size, np.nan)
    if x.size >= w:
        out[w - 1 :] = c[w:] - c[:-w]
    return out


def meta_features(
    returns: ArrayLike, *, window: int = WINDOW, regime_window: int = REGIME_WINDOW, lam: float = EWMA_LAMBDA
) -> np.ndarray:
    """Meta-features (:data:`FEATURES`) after each return; shape ``(n, 5)``, NaN during the warm-up.

    Raises
    ------
    ConfigError
        Non-finite returns, or windows shorter than 3 bars.
    """
    r = np.asarray(returns, dtype=float).ravel()
    if not np.all(np.isfinite(r)):
        bad = int(np.flatnonzero(~np.isfinite(r))[0])
        raise ConfigError(f"meta-features need finite returns; return {bad} is {r[bad]}")
    if window < 3 or regime_window < window:
        raise ConfigError(f"need 3 <= window <= regime_window, got {window} and {regime_window}")
    n = r.size
    out = np.full((n, len(FEATURES)), np.nan)
    if n == 0:
        return out
    s2 = np.maximum(ewma_variance(r, lam), np.finfo(float).tiny)
    logv = np.log(s2)
    out[:, 0] = 0.5 * logv
    d = np.diff(logv, prepend=logv[0])
    m1, m2 = _rolling_sum(d, window) / window, _rolling_sum(d * d, window) / window
    out[:, 1] = np.sqrt(np.maximum(m2 - m1 * m1, 0.0) * window / (window - 1))
    out[:, 2] = _rolling_sum(r, window) / np.sqrt(window * s2)
    a = np.abs(r)
    rv = _rolling_sum(r * r, window)
    bv = np.full(n, np.nan)
    if n >= window:
        pair = np.concatenate([[0.0], a[1:] * a[:-1]])
        bv = _rolling_sum(pair, window) - np.concatenate([[np.nan] * (window - 1), pair[: n - window + 1]])
        bv = bv * window / (window - 1) / MU1**2
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 3] = np.where(rv > 0, np.maximum(0.0, 1.0 - bv / rv), 0.0)
    out[: window - 1, 1:4] = np.nan
    if n >= regime_window:
        win = sliding_window_view(s2, regime_window)
        rank = (win < s2[regime_window - 1 :, None]).sum(axis=1) + 0.5 * (
            (win == s2[regime_window - 1 :, None]).sum(axis=1) - 1
        )
        out[regime_window - 1 :, 4] = rank / (regime_window - 1)
    out[: regime_window - 1, :] = np.nan
    return out


@dataclass(frozen=True)
class FeatureScaler:
    """Standardisation of meta-features with a training window's means and standard deviations."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]

    @classmethod
    def fit(cls, x: ArrayLike) -> FeatureScaler:
        """Means and standard deviations of the finite rows of ``x`` (a constant column gets sd 1).

        Raises
        ------
        ConfigError
            Fewer than 10 complete rows.
        """
        a = np.asarray(x, dtype=float)
        ok = np.all(np.isfinite(a), axis=1)
        if ok.sum() < 10:
            raise ConfigError(f"the meta-feature scaler needs at least 10 complete rows, got {int(ok.sum())}")
        mean = a[ok].mean(axis=0)
        sd = a[ok].std(axis=0, ddof=1)
        sd = np.where(sd > 0, sd, 1.0)
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in sd))

    def transform(self, x: ArrayLike) -> np.ndarray:
        """``(x - mean) / sd`` (NaN stays NaN)."""
        return (np.asarray(x, dtype=float) - np.asarray(self.mean)) / np.asarray(self.sd)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "sd": list(self.sd)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureScaler:
        return cls(tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["sd"]))


def out_of_range(z: ArrayLike, limit: float = Z_LIMIT) -> np.ndarray:
    """Rows of standardised features ``z`` that trip the circuit breaker: any non-finite or ``|z| > limit``."""
    a = np.atleast_2d(np.asarray(z, dtype=float))
    if not math.isfinite(limit) or limit <= 0:
        raise ConfigError(f"the circuit breaker's limit must be positive, got {limit}")
    with np.errstate(invalid="ignore"):
        return ~np.all(np.isfinite(a) & (np.abs(a) <= limit), axis=1)
