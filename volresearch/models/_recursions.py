"""Numba variance recursions used to filter fitted models forward.

Pure functions over preallocated arrays; each has a plain-Python twin
(``*_py``) that the tests compare against.  The EWMA recursion lives with the
other fallbacks in :mod:`volresearch.models.robust`.  Units: ``e`` are residuals in log
return per bar, variances in squared log return per bar.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["garch_filter", "garch_filter_py", "egarch_filter", "egarch_filter_py"]

_ABS_MEAN_NORMAL = math.sqrt(2.0 / math.pi)


@njit(cache=True)
def garch_filter(
    e: np.ndarray, sigma2_0: float, omega: float, alpha: float, gamma: float, beta: float, out: np.ndarray
) -> None:
    """``out[t]`` = variance of ``e[t]`` given ``e[:t]``; ``out[len(e)]`` is the next one.

    ``sigma2_{t+1} = omega + (alpha + gamma 1[e_t < 0]) e_t^2 + beta sigma2_t``,
    ``out[0] = sigma2_0``.  ``out`` has length ``len(e) + 1``.
    """
    out[0] = sigma2_0
    for t in range(e.shape[0]):
        et = e[t]
        a = alpha + gamma if et < 0.0 else alpha
        out[t + 1] = omega + a * et * et + beta * out[t]


def garch_filter_py(
    e: np.ndarray, sigma2_0: float, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """Plain-Python twin of :func:`garch_filter` returning the array."""
    out = np.empty(len(e) + 1)
    out[0] = sigma2_0
    for t, et in enumerate(e):
        out[t + 1] = omega + (alpha + (gamma if et < 0 else 0.0)) * et * et + beta * out[t]
    return out


@njit(cache=True)
def egarch_filter(
    e: np.ndarray, sigma2_0: float, omega: float, alpha: float, gamma: float, beta: float, out: np.ndarray
) -> None:
    """EGARCH(1,1,1) as in ``arch``: ``ln s2' = omega + alpha(|z| - sqrt(2/pi)) + gamma z + beta ln s2``."""
    out[0] = sigma2_0
    lv = math.log(sigma2_0)
    for t in range(e.shape[0]):
        z = e[t] / math.sqrt(out[t])
        lv = omega + alpha * (abs(z) - _ABS_MEAN_NORMAL) + gamma * z + beta * lv
        out[t + 1] = math.exp(lv)


def egarch_filter_py(
    e: np.ndarray, sigma2_0: float, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """Plain-Python twin of :func:`egarch_filter`."""
    out = np.empty(len(e) + 1)
    out[0] = sigma2_0
    lv = math.log(sigma2_0)
    for t, et in enumerate(e):
        z = et / math.sqrt(out[t])
        lv = omega + alpha * (abs(z) - _ABS_MEAN_NORMAL) + gamma * z + beta * lv
        out[t + 1] = math.exp(lv)
    return out
