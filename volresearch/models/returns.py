"""Log returns per bar from bars, price series or arrays.

Every model in volresearch is fitted on log returns per bar,
``r_t = ln(close_t / close_{t-1})``.  This module is the one place that turns
user input into that series and rejects input that cannot give it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from volresearch.errors import DataError

__all__ = ["log_returns", "prices_from", "data_hash"]


def prices_from(data: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray) -> pd.Series:
    """Close prices as a float Series from bars, a Series or an array.

    Raises
    ------
    DataError
        If the prices are not finite and strictly positive (names the row).
    """
    if isinstance(data, pd.DataFrame):
        if "close" not in data.columns:
            raise DataError("bars have no 'close' column", column="close")
        prices = data["close"].astype(float)
    elif isinstance(data, pd.Series):
        prices = data.astype(float)
    else:
        prices = pd.Series(np.asarray(data, dtype=float))
    values = prices.to_numpy()
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            "prices must be finite and positive to take log returns",
            row=[int(r) for r in rows[:10]],
            column="close",
            rule="nonpositive",
        )
    return prices


def log_returns(data: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray) -> pd.Series:
    """Log returns per bar, ``ln(p_t / p_{t-1})``, without the undefined first value.

    Parameters
    ----------
    data
        Bars (the ``close`` column is used), a price Series, or an array of prices.

    Returns
    -------
    pandas.Series
        ``len(prices) - 1`` log returns, indexed like the later price of each pair.
    """
    prices = prices_from(data)
    logp = np.log(prices.to_numpy())
    r = np.diff(logp)
    return pd.Series(r, index=prices.index[1:], name="log_return")


def data_hash(values: np.ndarray | pd.Series) -> str:
    """SHA-256 of the float64 bytes of ``values`` (reproducibility metadata)."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    return hashlib.sha256(arr.tobytes()).hexdigest()
