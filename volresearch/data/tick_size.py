"""The price grid of a series: the tick size that recorded prices sit on.

Exchange-traded prices are integer multiples of the instrument's tick (0.25
index points for E-mini S&P 500 futures, 0.00005 for EUR/USD futures, 0.001
yen for USD/JPY spot).  :func:`infer_tick_size` recovers that grid from the
data: among candidate ticks ``m x 10^k`` (``m`` in 1, 2, 2.5, 5) and binary
fractions ``2^-k`` (treasury futures quote in 1/32, 1/64, 1/128 and 1/256),
the largest tick of which almost all prices (``min_share``, default 98 %)
are integer multiples within float tolerance.  A few off-grid prints (a
vendor's adjusted or averaged bar) do not hide the grid.

Series without a grid (adjusted closes, mid prices averaged over quotes,
rescaled or synthetic prices) return ``None``: no candidate passes, or only
one absurdly fine relative to the price (below ``min_relative_tick`` of the
median price, e.g. six-decimal adjusted closes of a 450-dollar stock).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TICK_CANDIDATES", "infer_tick_size", "on_grid_share", "zero_return_share"]

#: Decimal ticks ``m x 10^k`` for ``k`` in -8..4 and binary fractions down to 1/256, largest first.
TICK_CANDIDATES: tuple[float, ...] = tuple(
    sorted(
        {round(m * 10.0**k, 12) for k in range(-8, 5) for m in (1.0, 2.0, 2.5, 5.0)} | {2.0**-k for k in range(1, 9)},
        reverse=True,
    )
)
#: Distance from the nearest multiple (in ticks) still counted as on the grid.
_GRID_TOLERANCE = 1e-6
#: Grid indices above this are beyond float64's resolution for the test.
_MAX_GRID_INDEX = 1e10
_PRICE_COLUMNS = ("open", "high", "low", "close")


def _price_values(prices: Any) -> np.ndarray:
    """Finite positive prices from an array, Series or bars DataFrame (OHLC columns), flattened."""
    if isinstance(prices, pd.DataFrame):
        cols = [c for c in _PRICE_COLUMNS if c in prices.columns] or list(prices.columns)
        values = prices[cols].to_numpy(dtype=float)
    else:
        values = np.asarray(prices, dtype=float)
    values = values.ravel()
    return values[np.isfinite(values) & (values > 0)]


def on_grid_share(prices: Any, tick: float) -> float:
    """Share of prices that are integer multiples of ``tick`` (within float tolerance).

    Parameters
    ----------
    prices
        Prices (price units): an array, a Series, or a bars DataFrame whose
        ``open high low close`` columns are pooled.
    tick
        Candidate tick size (price units, > 0).

    Returns
    -------
    float
        Fraction in [0, 1]; NaN for no finite positive price.
    """
    values = _price_values(prices)
    if values.size == 0:
        return math.nan
    units = values / float(tick)
    return float(np.mean(np.abs(units - np.rint(units)) <= _GRID_TOLERANCE * np.maximum(1.0, units * 1e-9)))


def infer_tick_size(
    prices: Any,
    *,
    min_share: float = 0.98,
    min_distinct: int = 10,
    min_relative_tick: float = 1e-7,
) -> float | None:
    """The largest tick of which almost all prices are integer multiples, or ``None``.

    Parameters
    ----------
    prices
        Prices (price units): an array, a Series, or a bars DataFrame whose
        ``open high low close`` columns are pooled.
    min_share
        Fewest share of prices on the grid (robustness to a few off-grid prints).
    min_distinct
        Fewest distinct prices needed to tell a grid (fewer: ``None``).
    min_relative_tick
        A grid finer than this fraction of the median price is not an
        instrument's tick but the number of decimals a file was written with.

    Returns
    -------
    float or None
        Tick size (price units), one of :data:`TICK_CANDIDATES`; ``None`` when
        no grid exists.
    """
    values = _price_values(prices)
    if np.unique(values).size < max(int(min_distinct), 2):
        return None
    median = float(np.median(values))
    top = float(np.max(values))
    for tick in TICK_CANDIDATES:
        if tick > median:
            continue
        if top / tick > _MAX_GRID_INDEX or tick < min_relative_tick * median:
            return None
        if on_grid_share(values, tick) >= min_share:
            return tick
    return None


def zero_return_share(prices: Any) -> float:
    """Share of consecutive closes that are equal (zero log return): the weight of the spike at zero.

    Parameters
    ----------
    prices
        Closes (price units): an array, a Series, or a bars DataFrame (its ``close`` column).

    Returns
    -------
    float
        Fraction in [0, 1] of the finite bar-to-bar changes that are exactly zero; NaN for fewer than two prices.
    """
    if isinstance(prices, pd.DataFrame):
        prices = prices["close"] if "close" in prices.columns else prices.iloc[:, -1]
    values = np.asarray(prices, dtype=float).ravel()
    diffs = np.diff(values)
    diffs = diffs[np.isfinite(diffs)]
    return float(np.mean(diffs == 0.0)) if diffs.size else math.nan
