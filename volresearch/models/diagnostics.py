r"""Residual diagnostics of a fitted volatility model.

* Ljung-Box on the standardised residuals ``z_t`` (left-over serial
  correlation in the mean) and on ``z_t^2`` (left-over volatility clustering),
  from ``statsmodels``.
* Engle & Ng (1993) sign-bias tests: regress ``z_t^2`` on a constant,
  :math:`S^-_{t-1}`, :math:`S^-_{t-1} z_{t-1}` and :math:`S^+_{t-1} z_{t-1}`
  (:math:`S^-` the indicator of a negative shock, :math:`S^+ = 1 - S^-`).
  Significant t statistics mean the variance reacts to the sign or size of
  shocks in a way the model misses; the joint test is :math:`n R^2 \sim \chi^2_3`.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.regression.linear_model import OLS
from statsmodels.tsa.stattools import acf

__all__ = ["residual_diagnostics", "sign_bias_test", "ljung_box"]

# statsmodels >= 0.15 warns unless asked for its (still default) tuple result; 0.14 has no such keyword
_ACF_TUPLE = {"result_object": False} if "result_object" in inspect.signature(acf).parameters else {}


def ljung_box(x: np.ndarray, lags: tuple[int, ...] = (10, 20)) -> dict[str, dict[str, float]]:
    """Ljung-Box Q statistics and p-values at ``lags`` (statsmodels)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    usable = tuple(lag for lag in lags if lag < x.size)
    if not usable:
        return {}
    # statsmodels' acf with fft=True and qstat=True gives the Ljung-Box Q at every lag in O(n log n)
    _, q, p = acf(x, nlags=max(usable), fft=True, qstat=True, **_ACF_TUPLE)
    return {str(lag): {"stat": float(q[lag - 1]), "pvalue": float(p[lag - 1])} for lag in usable}


def sign_bias_test(std_resid: np.ndarray) -> dict[str, dict[str, float]]:
    """Engle-Ng sign bias, negative size bias, positive size bias and joint test."""
    z = np.asarray(std_resid, dtype=float)
    z = z[np.isfinite(z)]
    y = z[1:] ** 2
    lag = z[:-1]
    neg = (lag < 0).astype(float)
    pos = 1.0 - neg
    X = np.column_stack([np.ones_like(lag), neg, neg * lag, pos * lag])
    res = OLS(y, X).fit()
    names = ["sign_bias", "negative_size_bias", "positive_size_bias"]
    out = {
        name: {"stat": float(res.tvalues[i + 1]), "pvalue": float(res.pvalues[i + 1])} for i, name in enumerate(names)
    }
    lm = float(y.size * res.rsquared)
    out["joint"] = {"stat": lm, "pvalue": float(stats.chi2.sf(lm, 3))}
    return out


def residual_diagnostics(std_resid: np.ndarray, *, model: str) -> dict[str, Any]:
    """All residual tests of a fit as a JSON-safe dictionary."""
    z = np.asarray(std_resid, dtype=float)
    out: dict[str, Any] = {
        "ljung_box": {"z": ljung_box(z), "z2": ljung_box(z**2)},
        "std_resid_mean": float(np.nanmean(z)),
        "std_resid_var": float(np.nanvar(z)),
    }
    if z.size > 10:
        out["sign_bias"] = sign_bias_test(z)
    return out
