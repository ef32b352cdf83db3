"""Volatility that is always there: the GARCH -> EWMA -> historical cascade.

A GARCH fit needs enough returns and can fail on flat or extreme data.  A
feature pipeline cannot stop at that, and it must not fill the gap with
NaN either.  The cascade answers with the best method that works:

1. GARCH(1,1) (or any :class:`~volresearch.models.garch.ModelSpec`) when the
   window holds at least ``MIN_OBSERVATIONS`` (50) returns and the robust fit
   passes its checks;
2. else EWMA, ``sigma2_{t+1} = lambda sigma2_t + (1 - lambda) r_t^2`` with
   the RiskMetrics ``lambda = 0.94``, seeded with the first squared return;
3. else historical volatility, the root mean square of the returns
   (zero-mean estimator: defined from a single return);

floored at ``VOLATILITY_FLOOR = 1e-10`` (flat markets).  ``None`` comes back
only for fewer than two prices.  Every answer says which method gave it.

:func:`rolling_volatility` is the look-ahead-free feature: the value at bar
``t`` is the one-step-ahead volatility ``sigma_{t+1|t}`` from returns up to
``t``; GARCH parameters are refitted on a schedule and filtered forward in
between, never refitted per bar.  Only the first bar is NaN.
All volatilities are in log return per bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit

from volresearch.errors import ConfigError, FitError
from volresearch.models._recursions import egarch_filter, garch_filter
from volresearch.models.garch import MIN_OBSERVATIONS, Fit, ModelSpec, fit_garch
from volresearch.models.returns import log_returns, prices_from

__all__ = [
    "VOLATILITY_FLOOR",
    "EWMA_LAMBDA",
    "VolatilityEstimate",
    "ewma_variance",
    "ewma_volatility",
    "historical_volatility",
    "rolling_historical_volatility",
    "conditional_volatility",
    "rolling_volatility",
]

VOLATILITY_FLOOR = 1e-10
EWMA_LAMBDA = 0.94
Method = Literal["garch", "ewma", "historical"]


@dataclass(frozen=True)
class VolatilityEstimate:
    """One-step-ahead volatility and how it was obtained.

    Attributes
    ----------
    value
        Volatility of the next bar's log return (log return per bar), >= floor.
    method
        ``"garch"``, ``"ewma"`` or ``"historical"``.
    n_returns
        Returns in the window used.
    floored
        True when the raw estimate was below ``VOLATILITY_FLOOR``.
    reason
        Why the cascade did not stop earlier (empty for GARCH).
    fit
        The GARCH fit when ``method == "garch"``.
    """

    value: float
    method: Method
    n_returns: int
    floored: bool
    reason: str = ""
    fit: Fit | None = None

    def __float__(self) -> float:
        return self.value


@njit(cache=True)
def _ewma_kernel(r: np.ndarray, lam: float, start: int, out: np.ndarray) -> None:
    """``out[start-1]`` = mean of ``r[:start]**2``; ``out[t] = lam out[t-1] + (1 - lam) r[t]**2`` after; NaN before."""
    acc = 0.0
    for t in range(start):
        acc += r[t] * r[t]
        out[t] = math.nan
    out[start - 1] = acc / start
    for t in range(start, r.shape[0]):
        out[t] = lam * out[t - 1] + (1.0 - lam) * r[t] * r[t]


def ewma_variance(
    returns: np.ndarray | Sequence[float], lam: float = EWMA_LAMBDA, *, min_periods: int = 1
) -> np.ndarray:
    r"""RiskMetrics EWMA variance path, look-ahead free: element ``t`` uses ``returns[:t+1]`` only.

    :math:`\sigma^2_t = \lambda \sigma^2_{t-1} + (1 - \lambda) r_t^2` for
    ``t >= min_periods``, started at ``t = min_periods - 1`` from the mean of
    the first ``min_periods`` squared returns; earlier elements are NaN.
    With the default ``min_periods=1`` the path starts at ``returns[0]**2``.
    Element ``t`` is the variance forecast of return ``t + 1``.

    Parameters
    ----------
    returns
        Log returns per bar.
    lam
        Decay, strictly between 0 and 1 (RiskMetrics: 0.94).
    min_periods
        Returns in the warm-up mean, ``1 <= min_periods <= len(returns)``.

    Returns
    -------
    numpy.ndarray
        Squared log return per bar, same length as ``returns`` (empty for no returns).

    Raises
    ------
    ConfigError
        ``lam`` outside (0, 1) or ``min_periods`` out of range.
    """
    r = np.ascontiguousarray(returns, dtype=float)
    if not 0.0 < float(lam) < 1.0:
        raise ConfigError(f"EWMA decay lam must lie strictly between 0 and 1, got {lam}")
    if r.size == 0:
        return np.empty(0)
    m = int(min_periods)
    if not 1 <= m <= r.size:
        raise ConfigError(f"min_periods must satisfy 1 <= min_periods <= {r.size}, got {m}")
    out = np.empty(r.size)
    _ewma_kernel(r, float(lam), m, out)
    return out


def ewma_volatility(prices: Sequence[float] | np.ndarray | pd.Series, lam: float = EWMA_LAMBDA) -> float | None:
    """Latest EWMA volatility of the prices' log returns; ``None`` with < 2 prices or non-finite result."""
    r = _returns_or_none(prices)
    if r is None:
        return None
    v = float(ewma_variance(r, lam)[-1])
    return math.sqrt(v) if math.isfinite(v) and v >= 0 else None


def historical_volatility(prices: Sequence[float] | np.ndarray | pd.Series) -> float | None:
    """Root mean square log return (zero-mean estimator); ``None`` with < 2 prices."""
    r = _returns_or_none(prices)
    if r is None:
        return None
    v = float(np.sqrt(np.mean(r * r)))
    return v if math.isfinite(v) else None


def rolling_historical_volatility(returns: np.ndarray | Sequence[float], window: int) -> np.ndarray:
    r"""Rolling zero-mean volatility :math:`\sqrt{\frac1w \sum_{j=0}^{w-1} r_{t-j}^2}`, look-ahead free.

    Element ``t`` uses ``returns[t-w+1 : t+1]`` only; the first ``w - 1``
    elements are NaN.  The same zero-mean estimator as
    :func:`historical_volatility`, over a moving window.

    Parameters
    ----------
    returns
        Log returns per bar.
    window
        Returns per window, ``1 <= window <= len(returns)``.

    Returns
    -------
    numpy.ndarray
        Log return per bar, same length as ``returns``.

    Raises
    ------
    ConfigError
        ``window`` out of range.
    """
    r = np.ascontiguousarray(returns, dtype=float)
    w = int(window)
    if not 1 <= w <= r.size:
        raise ConfigError(f"window must satisfy 1 <= window <= {r.size}, got {w}")
    csum = np.concatenate([[0.0], np.cumsum(r * r)])
    out = np.full(r.size, np.nan)
    out[w - 1 :] = (csum[w:] - csum[:-w]) / w
    # prefix sums keep element t a function of returns[:t+1]; clip the rounding residue of an all-zero window
    return np.sqrt(np.maximum(out, 0.0))


def _returns_or_none(prices: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray | None:
    p = prices_from(prices if isinstance(prices, pd.Series | pd.DataFrame) else np.asarray(prices, dtype=float))
    if len(p) < 2:
        return None
    return log_returns(p).to_numpy()


def _floored(value: float) -> tuple[float, bool]:
    return (VOLATILITY_FLOOR, True) if value < VOLATILITY_FLOOR else (value, False)


def conditional_volatility(
    prices: Sequence[float] | np.ndarray | pd.Series | pd.DataFrame,
    window: int = 500,
    *,
    spec: ModelSpec | None = None,
    lam: float = EWMA_LAMBDA,
) -> VolatilityEstimate | None:
    """Next-bar volatility by the GARCH -> EWMA -> historical cascade.

    Parameters
    ----------
    prices
        Prices (or bars with a ``close`` column), oldest first.
    window
        Number of most recent returns to use.
    spec
        GARCH-family model of the first stage (default GARCH(1,1) normal).
    lam
        EWMA decay.

    Returns
    -------
    VolatilityEstimate or None
        ``None`` only when fewer than two prices are given.
    """
    p = prices_from(prices if isinstance(prices, pd.Series | pd.DataFrame) else np.asarray(prices, dtype=float))
    if len(p) < 2:
        return None
    r_all = log_returns(p)
    r = r_all.iloc[-int(window) :] if window else r_all
    n = len(r)
    reason = ""
    if n >= MIN_OBSERVATIONS:
        try:
            fit = fit_garch(r, spec or ModelSpec("garch", "normal"), returns=True)
        except FitError as exc:
            reason = f"GARCH failed: {exc.reason}"
        else:
            value, floored = _floored(math.sqrt(fit.next_variance))
            return VolatilityEstimate(value, "garch", n, floored, "", fit)
    else:
        reason = f"{n} returns < {MIN_OBSERVATIONS} needed for GARCH"
    v = float(ewma_variance(r.to_numpy(), lam)[-1])
    if math.isfinite(v) and v >= 0.0:
        value, floored = _floored(math.sqrt(v))
        return VolatilityEstimate(value, "ewma", n, floored, reason)
    reason += "; EWMA not finite"
    hist = float(np.sqrt(np.mean(r.to_numpy() ** 2)))
    value, floored = _floored(hist if math.isfinite(hist) else 0.0)
    return VolatilityEstimate(value, "historical", n, floored, reason)


def rolling_volatility(
    data: pd.DataFrame | pd.Series | np.ndarray,
    window: int = 1000,
    refit_every: int = 390,
    *,
    spec: ModelSpec | None = None,
    lam: float = EWMA_LAMBDA,
) -> pd.DataFrame:
    """Look-ahead-free one-step-ahead volatility for every bar.

    At bar ``t`` (price index) the value is ``sigma_{t+1|t}`` computed from
    returns up to ``t``.  The model is refitted on the last ``window``
    returns every ``refit_every`` bars once ``MIN_OBSERVATIONS`` returns
    exist; between refits the last good parameters filter the new returns
    forward.  Before the first good fit (or when no fit ever passes) EWMA
    answers.

    Returns
    -------
    DataFrame
        Indexed like the prices: ``volatility`` (log return per bar, NaN only
        on the first bar), ``method``, ``refit`` (True where a fit was made) and
        ``refit_failed`` (True where a scheduled refit failed its checks).
    """
    if refit_every < 1:
        raise ValueError("refit_every must be >= 1")
    spec = spec or ModelSpec("garch", "normal")
    p = prices_from(data)
    n_prices = len(p)
    vol = np.full(n_prices, np.nan)
    method = np.full(n_prices, "", dtype=object)
    refit = np.zeros(n_prices, dtype=bool)
    refit_failed = np.zeros(n_prices, dtype=bool)
    if n_prices >= 2:
        r = log_returns(p).to_numpy()
        ew = np.sqrt(ewma_variance(r, lam))
        vol[1:] = ew
        method[1:] = "ewma"
        fit: Fit | None = None
        prev_var = math.nan
        t = MIN_OBSERVATIONS  # price index: returns r[0:t] are available
        while t < n_prices:
            lo = max(0, t - int(window))
            try:
                fit = fit_garch(r[lo:t], spec, returns=True, periods_per_year=1.0)
            except FitError:
                refit_failed[t] = True  # the last good parameters (or EWMA) keep answering
            else:
                refit[t] = True
            stop = min(n_prices, t + int(refit_every))
            if fit is not None:
                # variance of return r[t-1] given the past, then filter r[t-1 .. stop-2]
                seg = r[t - 1 : stop - 1] - fit.params.get("mu", 0.0)
                out = np.empty(seg.size + 1)
                s2_prev = fit.conditional_volatility[-1] ** 2 if refit[t] else prev_var
                f = egarch_filter if spec.model == "egarch" else garch_filter
                f(seg, s2_prev, fit.params["omega"], fit.params["alpha"], fit.params["gamma"], fit.params["beta"], out)
                vol[t:stop] = np.sqrt(out[1:])
                method[t:stop] = "garch"
                prev_var = out[-1]  # variance of r[stop - 1]: the state the next segment starts from
                bad = ~np.isfinite(vol[t:stop])
                if bad.any():
                    vol[t:stop][bad] = ew[t - 1 : stop - 1][bad]
                    method[t:stop][bad] = "ewma"
            t = stop
    vals = vol[1:]
    np.maximum(vals, VOLATILITY_FLOOR, out=vals, where=np.isfinite(vals))
    index = p.index
    return pd.DataFrame(
        {"volatility": vol, "method": method, "refit": refit, "refit_failed": refit_failed}, index=index
    )
