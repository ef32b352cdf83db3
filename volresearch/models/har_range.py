r"""HAR on the daily range: a return law from a heterogeneous autoregression of log range variance.

For daily OHLC bars, :math:`y_d = \log RV_d` with :math:`RV_d` the Garman-Klass variance of day ``d``
(:func:`volresearch.models.realized.range_estimators`), modelled by HAR(1, 5, 22)
(:func:`volresearch.models.har.fit_har`, arch's ``HARX``):
:math:`y_{d+1} = m_{d+1} + s\,\varepsilon_{d+1}`, :math:`m_{d+1} = b_0 + \sum_k a_k y_{d+1-k}`.  The
close-to-close return of day ``d + 1`` is

.. math:: r_{d+1} = \mu + \sqrt{c\, e^{y_{d+1}}}\; z_{d+1}, \qquad z, \varepsilon \sim N(0, 1)\ \text{independent},

a normal variance mixture (returns standardised by realised volatility are close to normal; the log-normal
mixing gives the fat tails).  ``c`` scales the intraday range variance to the close-to-close variance (the
overnight gap is outside the range): the ratio of the sample's mean squared return to the mean predicted
range variance :math:`E[e^{y}] = e^{m + s^2/2}` (Hansen and Lunde's scaling).  The one-day predictive density
is the mixture integral, computed by Gauss-Hermite quadrature (:data:`QUADRATURE_NODES` nodes); its variance
is :math:`c\,e^{m + s^2/2}`.  Paths simulate ``y`` and ``r`` jointly day by day (numpy, one
``numpy.random.Generator`` from the seed).

A day with a zero range (``high == low``) has no log variance; it is set to the smallest positive range
variance of the sample (a repair counted in ``meta["zero_range_days"]``).

Units: ``mu`` log return per day; ``c`` dimensionless; HAR coefficients of ``y`` (log variance per day).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from volresearch._util import jsonable
from volresearch.errors import DataError, FitError
from volresearch.models.ewma import MetaClock
from volresearch.models.har import HARResult, fit_har

__all__ = [
    "HARRangeResult",
    "QUADRATURE_NODES",
    "fit_har_range",
    "har_means",
    "har_range_log_density",
    "log_range_variance",
]

#: Gauss-Hermite nodes of the predictive density's mixture integral.
QUADRATURE_NODES = 40
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
_GH_LOGW = np.log(_GH_W / math.sqrt(2.0 * math.pi))


def log_range_variance(bars: pd.DataFrame, floor: float | None = None) -> tuple[pd.Series, int, float]:
    """``log`` Garman-Klass variance of each bar, zero ranges raised to ``floor`` (default: the smallest positive
    value); returns the series, the number of repaired bars and the floor used.

    Raises
    ------
    DataError
        Missing OHLC columns, non-positive prices, or no bar with a positive range.
    """
    from volresearch.models.realized import range_estimators

    gk = range_estimators(bars)["garman_klass"].to_numpy(dtype=float)
    pos = gk > 0
    if not pos.any():
        raise DataError("no bar has a positive high-low range: the range HAR needs OHLC bars", column="high")
    lo = float(gk[pos].min()) if floor is None else float(floor)
    return pd.Series(np.log(np.where(pos, gk, lo)), index=bars.index, name="y"), int((~pos).sum()), lo


def har_range_log_density(r: np.ndarray, mu: float, c: float, m: np.ndarray, s: float) -> np.ndarray:
    r"""Log density of :math:`r = \mu + \sqrt{c e^{Y}} z`, :math:`Y \sim N(m, s^2)`, by Gauss-Hermite quadrature."""
    y = np.asarray(m, dtype=float)[:, None] + s * _GH_X[None, :]
    v = c * np.exp(y)
    e = (np.asarray(r, dtype=float) - mu)[:, None]
    return logsumexp(_GH_LOGW[None, :] - 0.5 * (np.log(2.0 * math.pi * v) + e * e / v), axis=1)


@dataclass(frozen=True)
class HARRangeResult(MetaClock):
    """Immutable range-HAR fit (module docstring): the HAR of log range variance, ``mu`` and ``c``.

    ``history`` holds the last ``max(lags)`` values of ``y`` (oldest first) that the next forecast uses;
    ``meta`` the clock, last price and time, data hash, the range floor and repaired days.
    """

    har: HARResult
    mu: float
    c: float
    history: tuple[float, ...]
    loglik: float
    meta: Mapping[str, Any] = field(default_factory=dict)
    model: str = "har-range"

    kernel = "har-range"
    dist = "normal variance mixture"
    table_component = "HAR (log range variance)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", tuple(float(v) for v in self.history))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def s(self) -> float:
        """Standard deviation of the HAR's log-variance innovation."""
        return math.sqrt(self.har.sigma2)

    @property
    def params(self) -> dict[str, float]:
        return {"mu": self.mu, "c": self.c, **self.har.params, "s": self.s}

    @property
    def std_errors(self) -> dict[str, float]:
        return {"mu": float(self.meta.get("mu_se", math.nan)), "c": math.nan, **self.har.std_err, "s": math.nan}

    @property
    def units(self) -> dict[str, str]:
        out = {"mu": "log return per day", "c": "close-to-close / range variance (dimensionless)",
               "s": "log variance per day"}  # fmt: skip
        out.update({k: "log variance per day" if k == "const" else "dimensionless" for k in self.har.params})
        return out

    def null_values(self) -> dict[str, float]:
        return {"mu": 0.0, **{k: 0.0 for k in self.har.params}}

    @property
    def flags(self) -> tuple[str, ...]:
        c, a = self.har.recursion()
        out = []
        if a.sum() >= 1.0:
            out.append(f"HAR persistence {a.sum():.4f} >= 1: the log-variance forecast does not revert")
        return tuple(out)

    def next_mean(self, history: np.ndarray | None = None) -> float:
        """HAR forecast ``m`` of the next day's log variance from ``history`` (default: the fit's)."""
        c, a = self.har.recursion()
        h = np.asarray(self.history if history is None else history, dtype=float)
        return float(c + a @ h[::-1][: a.size])

    def simulation_params(self) -> dict[str, Any]:
        c0, a = self.har.recursion()
        return {"mu": self.mu, "c": self.c, "const": c0, "a": a, "s": self.s}

    def filter_state(self) -> dict[str, Any]:
        m = self.next_mean()
        return {"last_price": self.meta.get("last_price", math.nan), "end": self.meta.get("end"),
                "y_history": list(self.history), "next_variance": self.c * math.exp(m + 0.5 * self.har.sigma2)}  # fmt: skip

    def summary(self) -> str:
        lines = [f"Range HAR: log Garman-Klass variance by HAR{tuple(self.har.lags)} (arch HARX), returns a normal "
                 f"variance mixture  (n = {self.har.nobs}, loglik = {self.loglik:.3f})",
                 f"{'param':<9}{'estimate':>14}{'std err':>14}  unit"]  # fmt: skip
        for k, v in self.params.items():
            lines.append(f"{k:<9}{v:>14.6g}{self.std_errors.get(k, math.nan):>14.4g}  {self.units.get(k, '')}")
        st = self.filter_state()
        lines.append(f"next-day volatility {math.sqrt(st['next_variance']):.5g}; zero-range days repaired: "
                     f"{self.meta.get('zero_range_days', 0)}")  # fmt: skip
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"kind": "volresearch.HARRangeResult", "model": self.model, "har": self.har.to_dict(),
                         "mu": self.mu, "c": self.c, "history": list(self.history), "loglik": self.loglik,
                         "params": self.params, "units": self.units, "meta": dict(self.meta)})  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HARRangeResult:
        return cls(har=HARResult.from_dict(d["har"]), mu=float(d["mu"]), c=float(d["c"]),
                   history=tuple(d["history"]), loglik=float(d["loglik"]), meta=dict(d.get("meta", {})),
                   model=str(d.get("model", "har-range")))  # fmt: skip


def har_means(har: HARResult, y: np.ndarray) -> np.ndarray:
    """HAR means ``m_d`` of ``y_d`` for ``d >= max(lags)`` from the actual past ``y`` (parameters fixed)."""
    c0, a = har.recursion()
    p = a.size
    lagged = np.column_stack([y[p - k : y.size - k] for k in range(1, p + 1)])  # column k - 1: lag k
    return c0 + lagged @ a


def fit_har_range(bars: Any, *, mean: str = "auto", **_: Any) -> HARRangeResult:
    """Fit the range HAR on daily OHLC bars.

    Raises
    ------
    DataError
        Missing OHLC columns or too few days (the HAR needs 32).
    FitError
        arch's HARX fails, or the scaling ``c`` is not finite.
    """
    from volresearch.models.ewma import _sample
    from volresearch.models.returns import default_mean

    if not isinstance(bars, pd.DataFrame):
        raise DataError("the range HAR needs OHLC bars (a DataFrame with open, high, low, close)", column="high")
    r, meta = _sample(bars)
    close = bars["close"].to_numpy(dtype=float)
    if not np.all(np.isfinite(close)):
        raise DataError("the range HAR needs finite closes", column="close")
    y_series, repaired, floor = log_range_variance(bars)
    y = y_series.to_numpy()
    har = fit_har(pd.Series(np.exp(y), index=y_series.index), log=True)
    p = max(har.lags)
    m = har_means(har, y)  # predicts y[p:]
    ret = np.diff(np.log(close))[p - 1 :]  # return of day d pairs with y_d, d >= p
    mu = float(np.mean(ret)) if default_mean(bars.index, mean) == "constant" else 0.0
    pred = np.exp(m + 0.5 * har.sigma2)
    c = float(np.mean((ret - mu) ** 2) / np.mean(pred))
    if not (math.isfinite(c) and c > 0):
        raise FitError(f"the range-to-return variance scale is {c}", reason="scale")
    loglik = float(np.sum(har_range_log_density(ret, mu, c, m, math.sqrt(har.sigma2))))
    meta |= {"zero_range_days": repaired, "range_floor": floor, "mean": "constant" if mu else "zero",
             "mu_se": float(np.std(ret, ddof=1) / math.sqrt(ret.size)) if mu else math.nan}  # fmt: skip
    return HARRangeResult(har=har, mu=mu, c=c, history=tuple(y[-p:]), loglik=loglik, meta=meta)
