r"""Sanity check of a price forecast against the instrument's own history.

A forecast can be arithmetically right and still absurd: a constant mean
fitted to a trending month extrapolates the trend, so a one-day EUR/USD
forecast drifts by several percent.  :func:`forecast_sanity` compares the
forecast at the horizon ``h`` (bars) with what the same instrument did over
``h`` bars in the sample and flags two things:

* **drift**: :math:`|m_h| > k\,s_h`, with :math:`m_h` the median simulated
  log return over the horizon, :math:`s_h = \sqrt{h}\,s_1` the historical
  standard deviation of ``h``-bar log returns (``s_1`` the standard
  deviation of the one-bar log returns of the sample; the square-root rule
  is used because a sample rarely holds enough non-overlapping ``h``-bar
  windows to measure ``s_h`` directly) and ``k = 3`` (:data:`DRIFT_K`): a
  median move beyond three historical standard deviations is far outside
  what the instrument does over that span;
* **width**: the ratio of the forecast's standard deviation of the ``h``-bar
  log return to :math:`s_h` outside ``[1/3, 3]`` (:data:`WIDTH_RANGE`): the
  forecast is more than three times narrower or wider than the history.
  Volatility regimes move the ratio by a factor of two at most in ordinary
  markets, so a factor of three is a model problem (near-integrated or
  explosive variance, a wrong scale), not a regime.

The result says what was compared, so the report can print it in a warning
box on the forecast page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["DRIFT_K", "WIDTH_RANGE", "ForecastSanity", "forecast_sanity"]

DRIFT_K = 3.0
"""A median drift beyond ``DRIFT_K`` historical standard deviations of horizon returns is implausible."""
WIDTH_RANGE = (1.0 / 3.0, 3.0)
"""Plausible range of forecast over historical standard deviation of horizon returns."""


@dataclass(frozen=True)
class ForecastSanity:
    """Outcome of :func:`forecast_sanity`.

    Attributes
    ----------
    horizon
        Horizon in bars.
    median_drift
        Median simulated log return over the horizon.
    forecast_std
        Standard deviation of the simulated horizon log returns.
    historical_std
        ``sqrt(horizon)`` times the standard deviation of the sample's one-bar log returns.
    drift_sigmas
        ``|median_drift| / historical_std``.
    width_ratio
        ``forecast_std / historical_std``.
    flags
        One sentence per failed check (empty: plausible).
    """

    horizon: int
    median_drift: float
    forecast_std: float
    historical_std: float
    drift_sigmas: float
    width_ratio: float
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def plausible(self) -> bool:
        """No check failed."""
        return not self.flags

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields plus ``plausible``."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["flags"] = list(self.flags)
        d["plausible"] = self.plausible
        return d


def forecast_sanity(
    terminal_prices: ArrayLike,
    last_price: float,
    history_closes: ArrayLike,
    horizon: int,
    *,
    drift_k: float = DRIFT_K,
    width_range: tuple[float, float] = WIDTH_RANGE,
) -> ForecastSanity:
    """Compare a forecast's drift and width at the horizon with the history (see the module docstring).

    Parameters
    ----------
    terminal_prices
        Simulated prices at the horizon (one per path, > 0).
    last_price
        Price at the forecast origin (> 0).
    history_closes
        Closing prices of the sample (at least 3, > 0).
    horizon
        Horizon in bars (>= 1).
    drift_k, width_range
        Thresholds (defaults :data:`DRIFT_K`, :data:`WIDTH_RANGE`).

    Returns
    -------
    ForecastSanity
    """
    x = np.asarray(terminal_prices, dtype=float).ravel()
    x = x[np.isfinite(x) & (x > 0)]
    closes = np.asarray(history_closes, dtype=float).ravel()
    closes = closes[np.isfinite(closes) & (closes > 0)]
    h = max(1, int(horizon))
    if x.size < 2 or closes.size < 3 or not last_price > 0:
        return ForecastSanity(h, math.nan, math.nan, math.nan, math.nan, math.nan, ())
    r = np.log(x / float(last_price))
    median = float(np.median(r))
    fstd = float(np.std(r, ddof=1))
    s1 = float(np.std(np.diff(np.log(closes)), ddof=1))
    hist = s1 * math.sqrt(h)
    if not hist > 0:
        return ForecastSanity(h, median, fstd, hist, math.nan, math.nan, ())
    sig = abs(median) / hist
    ratio = fstd / hist
    flags = []
    if sig > drift_k:
        flags.append(
            f"Median drift over the horizon {median:+.2%} is {sig:.1f} times the historical standard deviation of "
            f"{h:,}-bar returns ({hist:.2%}); more than {drift_k:g} is far outside what this instrument does over "
            "that span. A constant mean fitted to a trending sample extrapolates the trend: try --mean zero."
        )
    lo, hi = width_range
    if ratio < lo or ratio > hi:
        flags.append(
            f"The forecast's spread ({fstd:.2%} s.d. of the {h:,}-bar return) is {ratio:.2f} times the historical "
            f"one ({hist:.2%}), outside [{lo:.2f}, {hi:.2f}]: the model's variance forecast is implausible "
            "(near-integrated or explosive variance, or a wrong scale)."
        )
    return ForecastSanity(h, median, fstd, hist, sig, ratio, tuple(flags))
