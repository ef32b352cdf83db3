"""Log returns per bar from bars, price series or arrays.

Every model in volresearch is fitted on log returns per bar,
``r_t = ln(close_t / close_{t-1})``.  This module is the one place that turns
user input into that series and rejects input that cannot give it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from volresearch.errors import DataError

__all__ = ["log_returns", "prices_from", "data_hash", "default_mean", "MeanChoice"]

MeanChoice = Literal["zero", "constant"]


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


def default_mean(data: pd.DataFrame | pd.Series | pd.Index | None, choice: str = "auto") -> MeanChoice:
    """The mean specification a fit uses when the user does not name one.

    ``"auto"`` gives a **zero mean for intraday bars** (median spacing under one
    day) and a constant mean otherwise.  An intraday mean is estimated with a
    standard error of about ``sigma / sqrt(n)`` per bar; projected over ``h``
    bars it moves the forecast's centre by ``sqrt(h / n)`` standard deviations
    of noise alone (about 1 for a 1,440-bar horizon on a 1,500-bar window), so
    it would drive direction signals by chance.  Pass ``"constant"`` or
    ``"zero"`` to override.

    Raises
    ------
    ConfigError
        ``choice`` is not one of ``auto``, ``zero``, ``constant``.
    """
    from volresearch.errors import ConfigError

    if choice in ("zero", "constant"):
        return choice  # type: ignore[return-value]
    if choice != "auto":
        raise ConfigError(f"mean must be 'auto', 'zero' or 'constant', got {choice!r}")
    index = data if isinstance(data, pd.Index) else getattr(data, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return "constant"
    spacing = np.diff(index.as_unit("ns").asi8)
    spacing = spacing[spacing > 0]
    if spacing.size == 0:
        return "constant"
    seconds = float(np.median(spacing)) / 1e9
    return "zero" if seconds < 86_400 else "constant"
