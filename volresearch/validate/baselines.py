r"""Naive random-walk baselines for the forecast targets of the models.

A model earns its keep only if it beats a forecast that knows nothing but
recent volatility.  The baselines here are driftless Gaussian random walks:
at origin ``t`` (after observing ``r_t``) the ``h``-step cumulative log return
:math:`y_t = \sum_{k=1}^h r_{t+k}` is forecast as

.. math:: y_t \sim N(0, h\,\hat\sigma_t^2),

with :math:`\hat\sigma_t` from

* ``"historical"``: the zero-mean rolling RMS of the last ``window`` returns,
  :math:`\hat\sigma_t^2 = \frac1w\sum_{j=0}^{w-1} r_{t-j}^2`;
* ``"ewma"``: RiskMetrics,
  :math:`\hat\sigma_t^2 = \lambda\hat\sigma_{t-1}^2 + (1-\lambda)r_t^2`,
  :math:`\lambda = 0.94`, started from the mean of the first ``min_periods``
  squared returns.

Both use returns up to and including ``t`` only (no look-ahead).  Scores come
by two routes: closed form (:func:`~volresearch.validate.calibration.crps_normal`,
analytic PIT and interval bounds) or an ensemble of ``N`` Gaussian members
drawn with a seed (:meth:`GaussianForecast.sample`), scored exactly like the
model ensembles.  Units: log return per bar (``sigma``) and per horizon
(``std``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from volresearch._util import jsonable
from volresearch.errors import DataError
from volresearch.models.robust import EWMA_LAMBDA, ewma_variance
from volresearch.validate._common import DEFAULT_LEVELS, SeedLike, _array, _levels
from volresearch.validate.calibration import CalibrationReport
from volresearch.validate.scores import crps_normal

__all__ = [
    "VolatilityMethod",
    "VOLATILITY_ESTIMATORS",
    "historical_volatility",
    "ewma_volatility",
    "cumulative_returns",
    "GaussianForecast",
    "random_walk_forecast",
]

VolatilityMethod = Literal["historical", "ewma"]


def _returns(returns: ArrayLike) -> np.ndarray:
    r = _array(returns, "returns", ndim=1)
    if r.size < 2:
        raise DataError(f"returns needs at least 2 values, got {r.size}", column="returns", rule="shape")
    return np.ascontiguousarray(r)


def historical_volatility(returns: ArrayLike, window: int = 250) -> np.ndarray:
    r"""Rolling zero-mean volatility :math:`\hat\sigma_t = \sqrt{\frac1w\sum_{j=0}^{w-1} r_{t-j}^2}`.

    Entry ``t`` is the cascade's historical volatility
    (:func:`volresearch.models.robust.historical_volatility`, the root mean
    square return) of the window ``returns[t-w+1 : t+1]``, computed for every
    ``t`` at once from prefix sums; zero mean, consistent with the driftless
    random walk it feeds.  The first ``w - 1`` entries are NaN.  Units: log
    return per bar.
    """
    r = _returns(returns)
    w = int(window)
    if not 1 <= w <= r.size:
        raise DataError(f"window must satisfy 1 <= window <= n ({r.size}), got {w}", column="window", rule="range")
    csum = np.concatenate([[0.0], np.cumsum(r * r)])
    out = np.full(r.size, np.nan)
    out[w - 1 :] = (csum[w:] - csum[:-w]) / w
    # prefix sums keep entry t a function of returns[:t+1]; clip the rounding residue of an all-zero window
    return np.sqrt(np.maximum(out, 0.0))


def ewma_volatility(returns: ArrayLike, lam: float = EWMA_LAMBDA, *, min_periods: int = 20) -> np.ndarray:
    r"""RiskMetrics EWMA volatility :math:`\hat\sigma_t`, using ``returns[:t+1]`` only.

    The cascade's recursion (:func:`volresearch.models.robust.ewma_variance`),
    :math:`\hat\sigma^2_t = \lambda\hat\sigma^2_{t-1} + (1-\lambda) r_t^2`
    for ``t >= min_periods``, started at ``t = min_periods - 1`` from the mean
    of the first ``min_periods`` squared returns (a warm-up that itself uses
    no future data; ``min_periods=1`` is the cascade's own start from the
    first squared return).  Earlier entries are NaN.  Units: log return per bar.
    """
    r = _returns(returns)
    lam = float(lam)
    if not 0.0 < lam < 1.0:
        raise DataError(f"lam must lie strictly between 0 and 1, got {lam}", column="lam", rule="range")
    m = int(min_periods)
    if not 1 <= m <= r.size:
        raise DataError(
            f"min_periods must satisfy 1 <= min_periods <= n ({r.size}), got {m}", column="min_periods", rule="range"
        )
    # the recursion seeded with its first squared value: lead with the root mean square of the warm-up
    seeded = np.concatenate([[math.sqrt(float(np.mean(r[:m] * r[:m])))], r[m:]])
    out = np.full(r.size, np.nan)
    out[m - 1 :] = ewma_variance(seeded, lam)
    return np.sqrt(out)


VOLATILITY_ESTIMATORS: dict[str, Callable[..., np.ndarray]] = {
    "historical": historical_volatility,
    "ewma": ewma_volatility,
}
"""Name -> volatility estimator ``f(returns, **options) -> sigma_t``."""


def cumulative_returns(returns: ArrayLike, horizon: int = 1) -> np.ndarray:
    r"""Targets :math:`y_t = \sum_{k=1}^h r_{t+k}` for each origin ``t`` (NaN where beyond the data)."""
    r = _returns(returns)
    h = int(horizon)
    if h < 1:
        raise DataError(f"horizon must be at least 1, got {h}", column="horizon", rule="range")
    csum = np.concatenate([[0.0], np.cumsum(r)])
    out = np.full(r.size, np.nan)
    if h < r.size:
        out[: r.size - h] = csum[1 + h :] - csum[1 : r.size - h + 1]
    return out


@dataclass(frozen=True, eq=False)
class GaussianForecast:
    r"""Gaussian forecasts :math:`N(\mu_t, s_t^2)` of ``h``-step cumulative log returns.

    Attributes
    ----------
    origin
        Integer position ``t`` of each forecast origin in the return series
        (information up to and including ``r_t``).
    mean, std
        Forecast mean (0 for the random walks) and standard deviation
        :math:`s_t = \sqrt h\,\hat\sigma_t` (log return per horizon).
    target
        Realised :math:`y_t` (NaN for origins whose horizon runs past the
        data).
    horizon
        ``h`` in bars.
    method
        Name of the volatility estimator and its options.
    index
        Labels of the origins when the returns came with an index, else None.
    """

    origin: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    target: np.ndarray
    horizon: int
    method: str
    index: pd.Index | None = None

    def __len__(self) -> int:
        return int(self.origin.size)

    def _complete(self, observations: ArrayLike | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = self.target if observations is None else _array(observations, "observations", ndim=1, finite=False)
        if y.size != self.origin.size:
            raise DataError(f"observations has {y.size} values for {self.origin.size} forecasts", column="observations")
        if not np.all(np.isfinite(y)):
            raise DataError(
                "some targets are missing (horizon beyond the data); use complete() first",
                column="observations",
                row=[int(i) for i in np.flatnonzero(~np.isfinite(y))],
                rule="finite",
            )
        return self.mean, self.std, y

    def complete(self) -> GaussianForecast:
        """The forecasts whose target is known (drops origins near the end)."""
        keep = np.isfinite(self.target)
        return GaussianForecast(
            origin=self.origin[keep],
            mean=self.mean[keep],
            std=self.std[keep],
            target=self.target[keep],
            horizon=self.horizon,
            method=self.method,
            index=None if self.index is None else self.index[keep],
        )

    def crps(self, observations: ArrayLike | None = None) -> np.ndarray:
        """Closed-form CRPS (:func:`~volresearch.validate.calibration.crps_normal`) at the targets."""
        m, s, y = self._complete(observations)
        return crps_normal(m, s, y)

    def pit(self, observations: ArrayLike | None = None) -> np.ndarray:
        r"""Analytic PIT :math:`\Phi((y_t - \mu_t)/s_t)`."""
        m, s, y = self._complete(observations)
        return np.asarray(stats.norm.cdf(y, m, s))

    def quantiles(self, probs: ArrayLike) -> np.ndarray:
        r"""Forecast quantiles :math:`\mu_t + s_t\Phi^{-1}(q)`, shape ``(n_forecasts, k)``."""
        q = _array(probs, "probs", ndim=(0, 1)).reshape(-1)
        if np.any((q <= 0) | (q >= 1)):
            raise DataError("probs must lie strictly between 0 and 1", column="probs", rule="range")
        return self.mean[:, None] + self.std[:, None] * stats.norm.ppf(q)[None, :]

    def interval_hits(
        self, levels: Sequence[float] = DEFAULT_LEVELS, observations: ArrayLike | None = None
    ) -> pd.DataFrame:
        """0/1 violations of the central Gaussian intervals, same layout as
        :func:`~volresearch.validate.calibration.interval_hits`."""
        m, s, y = self._complete(observations)
        lv = _levels(levels)
        z = stats.norm.ppf(0.5 + np.asarray(lv) / 2.0)
        dev = np.abs(y - m)[:, None]
        hits = (dev > s[:, None] * z[None, :]).astype(np.int8)
        return pd.DataFrame(hits, columns=pd.Index(lv, name="level"))

    def sample(self, n_members: int, *, seed: SeedLike = None) -> np.ndarray:
        """Ensemble route: ``(n_forecasts, n_members)`` Gaussian draws ``mean + std * Z``."""
        n_members = int(n_members)
        if n_members < 1:
            raise DataError(f"n_members must be at least 1, got {n_members}", column="n_members", rule="range")
        z = np.random.default_rng(seed).standard_normal((self.origin.size, n_members))
        return self.mean[:, None] + self.std[:, None] * z

    def report(
        self,
        *,
        levels: Sequence[float] = DEFAULT_LEVELS,
        baseline_crps: ArrayLike | float | None = None,
        n_bins: int = 10,
    ) -> CalibrationReport:
        """Closed-form :class:`~volresearch.validate.calibration.CalibrationReport` at the targets."""
        return CalibrationReport.from_components(
            self.pit(), self.interval_hits(levels), self.crps(), baseline_crps=baseline_crps, n_bins=n_bins
        )

    def to_frame(self) -> pd.DataFrame:
        """Columns ``origin, mean, std, target`` indexed by the origin labels when known."""
        df = pd.DataFrame({"origin": self.origin, "mean": self.mean, "std": self.std, "target": self.target})
        if self.index is not None:
            df.index = self.index
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: method, horizon, count and mean forecast std (not the arrays)."""
        return jsonable(
            {
                "method": self.method,
                "horizon": self.horizon,
                "n_forecasts": len(self),
                "n_complete": int(np.isfinite(self.target).sum()),
                "mean_std": float(np.mean(self.std)) if len(self) else math.nan,
            }
        )


def random_walk_forecast(
    returns: ArrayLike,
    *,
    horizon: int = 1,
    method: VolatilityMethod = "ewma",
    window: int = 250,
    lam: float = EWMA_LAMBDA,
    min_periods: int = 20,
    complete: bool = True,
    stride: int = 1,
) -> GaussianForecast:
    r"""Driftless Gaussian random-walk forecasts of ``h``-step cumulative log returns.

    Parameters
    ----------
    returns
        Log returns per bar (array or Series; a Series' index labels the
        origins).
    horizon
        ``h`` in bars; forecast variance :math:`h\hat\sigma_t^2`.
    method
        Key of :data:`VOLATILITY_ESTIMATORS`: ``"historical"`` (rolling
        ``window``) or ``"ewma"`` (``lam``, warm-up ``min_periods``).
    complete
        Keep only origins whose target lies inside the data (default); with
        False, later origins are kept with a NaN target (live forecasts).
    stride
        Keep every ``stride``-th origin, counted from the first.  With
        ``stride = horizon`` the targets do not overlap; overlapping ``h``-step
        targets make interval violations serially dependent by construction,
        so the Christoffersen independence test should be read on
        non-overlapping origins.

    Returns
    -------
    GaussianForecast
        One forecast per origin ``t`` at which the volatility is defined.
    """
    idx = returns.index if isinstance(returns, pd.Series) else None
    r = _returns(returns)
    if method not in VOLATILITY_ESTIMATORS:
        raise DataError(
            f"unknown method {method!r}; choose one of {sorted(VOLATILITY_ESTIMATORS)}", column="method", rule="choice"
        )
    options: dict[str, Any] = {"window": window} if method == "historical" else {"lam": lam, "min_periods": min_periods}
    sigma = VOLATILITY_ESTIMATORS[method](r, **options)
    y = cumulative_returns(r, horizon)
    keep = np.isfinite(sigma)
    if complete:
        keep &= np.isfinite(y)
    stride = int(stride)
    if stride < 1:
        raise DataError(f"stride must be at least 1, got {stride}", column="stride", rule="range")
    origin = np.flatnonzero(keep)[::stride]
    if origin.size == 0:
        raise DataError("no forecast origin has both a volatility and a target", column="returns", rule="shape")
    std = math.sqrt(int(horizon)) * sigma[origin]
    if np.any(std <= 0):
        bad = origin[std <= 0]
        raise DataError(
            "zero volatility at some origins (constant returns in the window)",
            column="returns",
            row=[int(b) for b in bad],
            rule="degenerate",
        )
    label = ", ".join(f"{k}={v:g}" for k, v in options.items())
    return GaussianForecast(
        origin=origin,
        mean=np.zeros(origin.size),
        std=std,
        target=y[origin],
        horizon=int(horizon),
        method=f"{method}({label})",
        index=None if idx is None else idx[origin],
    )
