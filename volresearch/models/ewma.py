r"""RiskMetrics EWMA volatility and historical simulation as registered models (ensemble members, benchmarks).

**EWMA** (family ``ewma``): :math:`\sigma^2_{t+1} = \lambda \sigma^2_t + (1 - \lambda) e_t^2`,
:math:`e_t = r_t - \mu`, normal innovations.  It is the integrated GARCH(1,1) with :math:`\omega = 0`,
:math:`\alpha = 1 - \lambda`, :math:`\beta = \lambda`, so its paths run on the GARCH path kernel.  ``lam``
is estimated by Gaussian quasi-maximum likelihood on :math:`(0.5, 0.9999)` (a bounded scalar search; the
standard error from the curvature of the profile log-likelihood) or fixed (RiskMetrics: 0.94).  The recursion
starts from the mean of the first :data:`EWMA_WARMUP` squared residuals, and the log-likelihood counts the
returns after them.  The variance forecast is flat: :math:`E[\sigma^2_{t+h}] = \sigma^2_{t+1}`.

**Historical simulation** (family ``historical``): the next returns are draws with replacement from the
window's returns (an empirical law, no volatility dynamics).  Its one-bar predictive density is the Gaussian
kernel density of the sample (Silverman's bandwidth); its variance the sample's.

Units: ``mu`` log return per bar; ``lambda`` dimensionless; variances squared log return per bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from volresearch._util import jsonable
from volresearch.errors import FitError
from volresearch.models.robust import ewma_variance

__all__ = [
    "EWMA_WARMUP",
    "EWMAResult",
    "HistoricalResult",
    "ewma_in_sample",
    "fit_ewma",
    "fit_historical",
    "kde_bandwidth",
    "kde_log_density",
]

#: Returns whose mean square starts the EWMA recursion (not scored by the likelihood).
EWMA_WARMUP = 20
#: Bounds of the estimated decay.
LAMBDA_BOUNDS = (0.5, 0.9999)
#: Fewest returns either model is fitted on.
MIN_RETURNS = 100
_LN_2PI = math.log(2.0 * math.pi)


def _sample(bars: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Finite log returns and the clock, price and hash of the sample."""
    from volresearch.models.merton import return_sample
    from volresearch.models.returns import data_hash, prices_from

    r, bar_seconds, calendar, _, last_price, end = return_sample(bars)
    r = r[np.isfinite(r)]
    if r.size < MIN_RETURNS:
        raise FitError(f"need at least {MIN_RETURNS} returns, got {r.size}", reason="length")
    prices = prices_from(bars)
    from volresearch.models.realized import library_versions

    meta = {"versions": library_versions(), "bar_seconds": float(bar_seconds), "calendar": calendar, "last_price": float(last_price), "end": end,
            "data_hash": data_hash(prices.to_numpy(dtype=np.float64)), "nobs": int(r.size),
            "start": str(prices.index[0]) if len(prices) else None}  # fmt: skip
    return r, meta


def _ewma_path(e: np.ndarray, lam: float) -> np.ndarray:
    """Variance forecasts of returns ``EWMA_WARMUP ..`` and of the next bar (last element)."""
    v = ewma_variance(e, lam, min_periods=EWMA_WARMUP)
    return v[EWMA_WARMUP - 1 :]


def _ewma_loglik(e: np.ndarray, lam: float) -> float:
    v = _ewma_path(e, lam)[:-1]
    x = e[EWMA_WARMUP:]
    return float(-0.5 * np.sum(_LN_2PI + np.log(v) + x * x / v))


class MetaClock:
    """``bar_seconds`` and ``calendar`` of a result that keeps its sample's clock in ``meta``."""

    meta: Mapping[str, Any]

    @property
    def bar_seconds(self) -> float:
        """Seconds per bar of the sample (default one day)."""
        return float(self.meta.get("bar_seconds", 86_400.0))

    @property
    def calendar(self) -> str | None:
        """Calendar preset of the sample."""
        return self.meta.get("calendar")


@dataclass(frozen=True)
class EWMAResult(MetaClock):
    """Immutable EWMA fit (module docstring).  ``params``: ``mu`` (per bar), ``lambda``; ``next_variance`` the
    variance of the next bar's log return; ``meta``: clock, last price and time, data hash, window."""

    params: Mapping[str, float]
    std_errors: Mapping[str, float]
    loglik: float
    next_variance: float
    estimated: bool = True
    meta: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    model: str = "ewma"

    kernel = "garch"
    dist = "normal"
    table_component = "EWMA"

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "std_errors", dict(self.std_errors))
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "flags", tuple(self.flags))

    @property
    def units(self) -> dict[str, str]:
        return {"mu": "log return per bar", "lambda": "decay per bar (dimensionless)"}

    def null_values(self) -> dict[str, float]:
        """Natural nulls of the t statistics: ``mu`` 0 (none for ``lambda``)."""
        return {"mu": 0.0}

    @property
    def persistence(self) -> float:
        """``alpha + beta = 1``: the recursion is integrated by construction."""
        return 1.0

    @property
    def half_life(self) -> float:
        """Bars for a squared residual's weight to halve, ``ln 0.5 / ln lambda``."""
        return math.log(0.5) / math.log(self.params["lambda"])

    def simulation_params(self) -> dict[str, float]:
        """GARCH-kernel parameters: ``mu``, ``omega = 0``, ``alpha = 1 - lambda``, ``beta = lambda``, ``gamma = 0``."""
        lam = self.params["lambda"]
        return {"mu": self.params["mu"], "omega": 0.0, "alpha": 1.0 - lam, "beta": lam, "gamma": 0.0}

    def filter_state(self) -> dict[str, Any]:
        return {"last_price": self.meta.get("last_price", math.nan), "end": self.meta.get("end"),
                "next_variance": float(self.next_variance)}  # fmt: skip

    def filter(self, returns: np.ndarray, start: float | None = None) -> np.ndarray:
        """Variance of the next bar after each of ``returns`` (after the sample), from ``start`` (default: the
        fit's next-bar variance): ``len(returns) + 1`` values, the first the starting one."""
        lam, mu = self.params["lambda"], self.params["mu"]
        e = np.asarray(returns, dtype=float) - mu
        v = np.empty(e.size + 1)
        v[0] = self.next_variance if start is None else float(start)
        for i, x in enumerate(e):  # a few hundred steps at most between refits
            v[i + 1] = lam * v[i] + (1.0 - lam) * x * x
        return v

    def summary(self) -> str:
        how = "quasi-maximum likelihood" if self.estimated else "fixed"
        lines = [f"EWMA (RiskMetrics) volatility, lambda {how}  (n = {self.meta.get('nobs')}, "
                 f"loglik = {self.loglik:.3f})",
                 f"{'param':<9}{'estimate':>14}{'std err':>14}  unit"]  # fmt: skip
        for k in ("mu", "lambda"):
            lines.append(f"{k:<9}{self.params[k]:>14.6g}{self.std_errors[k]:>14.4g}  {self.units[k]}")
        lines.append(f"half-life {self.half_life:.1f} bars; next-bar volatility {math.sqrt(self.next_variance):.5g} "
                     "per bar (flat forecast)")  # fmt: skip
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"kind": "volresearch.EWMAResult", "model": self.model, "params": dict(self.params),
                         "std_errors": dict(self.std_errors), "units": self.units, "loglik": self.loglik,
                         "next_variance": self.next_variance, "estimated": self.estimated, "meta": dict(self.meta),
                         "flags": list(self.flags)})  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EWMAResult:
        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        return cls(params={k: num(v) for k, v in d["params"].items()},
                   std_errors={k: num(v) for k, v in d["std_errors"].items()}, loglik=num(d["loglik"]),
                   next_variance=float(d["next_variance"]), estimated=bool(d.get("estimated", True)),
                   meta=dict(d.get("meta", {})), flags=tuple(d.get("flags", ())), model=str(d.get("model", "ewma")))  # fmt: skip


def fit_ewma(bars: Any, *, lam: float | None = None, mean: str = "auto", **_: Any) -> EWMAResult:
    """Fit the EWMA model on bars (or prices): ``lam=None`` estimates the decay, a number fixes it.

    ``mean``: ``"auto"`` (zero for intraday bars, the sample mean otherwise), ``"zero"`` or ``"constant"``.

    Raises
    ------
    FitError
        Fewer than :data:`MIN_RETURNS` returns, or a fixed ``lam`` outside (0, 1).
    """
    from volresearch.models.returns import default_mean

    r, meta = _sample(bars)
    mu = float(np.mean(r)) if default_mean(getattr(bars, "index", None), mean) == "constant" else 0.0
    e = r - mu
    flags: list[str] = []
    if lam is None:
        res = minimize_scalar(lambda x: -_ewma_loglik(e, x), bounds=LAMBDA_BOUNDS, method="bounded",
                              options={"xatol": 1e-7})  # fmt: skip
        lam_hat = float(res.x)
        h = 1e-4 * min(lam_hat - LAMBDA_BOUNDS[0], LAMBDA_BOUNDS[1] - lam_hat, 1.0) or 1e-6
        curv = (_ewma_loglik(e, lam_hat + h) - 2 * _ewma_loglik(e, lam_hat) + _ewma_loglik(e, lam_hat - h)) / h**2
        se = 1.0 / math.sqrt(-curv) if curv < 0 else math.nan
        if min(lam_hat - LAMBDA_BOUNDS[0], LAMBDA_BOUNDS[1] - lam_hat) < 1e-4:
            flags.append(f"lambda {lam_hat:.4f} at a bound of {LAMBDA_BOUNDS}")
        estimated = True
    else:
        lam_hat = float(lam)
        if not 0.0 < lam_hat < 1.0:
            raise FitError(f"lambda must lie in (0, 1), got {lam}", reason="config")
        se, estimated = math.nan, False
    path = _ewma_path(e, lam_hat)
    sd_mu = float(np.std(r, ddof=1) / math.sqrt(r.size)) if mu != 0.0 else math.nan
    meta |= {"mean": "constant" if mu != 0.0 else "zero", "warmup": EWMA_WARMUP}
    return EWMAResult(params={"mu": mu, "lambda": lam_hat}, std_errors={"mu": sd_mu, "lambda": se},
                      loglik=_ewma_loglik(e, lam_hat), next_variance=float(path[-1]), estimated=estimated, meta=meta,
                      flags=tuple(flags))  # fmt: skip


def ewma_in_sample(result: EWMAResult, returns: np.ndarray) -> np.ndarray:
    """One-bar variance forecasts of ``returns[EWMA_WARMUP:]`` (the fit's own sample), by the fitted recursion."""
    e = np.asarray(returns, dtype=float) - result.params["mu"]
    return _ewma_path(e, result.params["lambda"])[:-1]


def kde_log_density(sample: np.ndarray, at: np.ndarray, *, leave_one_out: bool = False) -> np.ndarray:
    """Log density of the Gaussian kernel density of ``sample`` (Silverman's bandwidth) at ``at``; with
    ``leave_one_out`` (``at`` is ``sample``) each point's own kernel is left out."""
    from scipy.special import logsumexp

    x = np.asarray(sample, dtype=float)
    y = np.asarray(at, dtype=float)
    h = kde_bandwidth(x)
    out = np.empty(y.size)
    n = x.size - 1 if leave_one_out else x.size
    for lo in range(0, y.size, 2000):  # (2000, n) blocks
        u = (y[lo : lo + 2000, None] - x[None, :]) / h
        k = -0.5 * u * u
        if leave_one_out:
            k[np.arange(k.shape[0]), np.arange(lo, lo + k.shape[0])] = -np.inf
        out[lo : lo + 2000] = logsumexp(k, axis=1) - math.log(n * h * math.sqrt(2 * math.pi))
    return out


def kde_bandwidth(x: np.ndarray) -> float:
    """Silverman's rule of thumb, ``0.9 min(sd, IQR/1.34) n^(-1/5)``."""
    sd = float(np.std(x, ddof=1))
    iqr = float(np.subtract(*np.percentile(x, [75, 25])))
    s = min(sd, iqr / 1.34) if iqr > 0 else sd
    return 0.9 * s * x.size ** (-0.2)


@dataclass(frozen=True)
class HistoricalResult(MetaClock):
    """Immutable historical-simulation model: the window's log returns (per bar) and its clock (``meta``)."""

    returns: tuple[float, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    model: str = "historical"

    kernel = "historical"
    dist = "empirical"
    table_component = "historical"

    def __post_init__(self) -> None:
        object.__setattr__(self, "returns", tuple(float(x) for x in self.returns))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def sample(self) -> np.ndarray:
        return np.asarray(self.returns)

    @property
    def params(self) -> dict[str, float]:
        """Sample moments (per bar): ``mean``, ``sd``, ``skew``, ``excess_kurtosis``; ``bandwidth`` of the KDE."""
        from scipy.stats import kurtosis, skew

        x = self.sample
        return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)), "skew": float(skew(x)),
                "excess_kurtosis": float(kurtosis(x)), "bandwidth": kde_bandwidth(x)}  # fmt: skip

    @property
    def std_errors(self) -> dict[str, float]:
        n = len(self.returns)
        sd = float(self.sample.std(ddof=1))
        return {"mean": sd / math.sqrt(n), "sd": sd / math.sqrt(2 * (n - 1)), "skew": math.sqrt(6 / n),
                "excess_kurtosis": math.sqrt(24 / n), "bandwidth": math.nan}  # fmt: skip

    @property
    def units(self) -> dict[str, str]:
        return {"mean": "log return per bar", "sd": "log return per bar", "skew": "dimensionless",
                "excess_kurtosis": "dimensionless", "bandwidth": "log return per bar"}  # fmt: skip

    @property
    def flags(self) -> tuple[str, ...]:
        return ()

    def null_values(self) -> dict[str, float]:
        """Natural nulls: a zero mean, no skew, no excess kurtosis."""
        return {"mean": 0.0, "skew": 0.0, "excess_kurtosis": 0.0}

    def simulation_params(self) -> dict[str, Any]:
        return {"returns": self.sample}

    def filter_state(self) -> dict[str, Any]:
        return {"last_price": self.meta.get("last_price", math.nan), "end": self.meta.get("end"),
                "next_variance": float(self.sample.var(ddof=1))}  # fmt: skip

    def summary(self) -> str:
        p, se = self.params, self.std_errors
        lines = [f"Historical simulation: draws with replacement from {len(self.returns)} returns "
                 f"({self.meta.get('start')} .. {self.meta.get('end')})",
                 f"{'moment':<17}{'value':>12}{'std err':>12}  unit"]  # fmt: skip
        for k in ("mean", "sd", "skew", "excess_kurtosis"):
            lines.append(f"{k:<17}{p[k]:>12.5g}{se[k]:>12.3g}  {self.units[k]}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"kind": "volresearch.HistoricalResult", "model": self.model, "params": self.params,
                         "units": self.units, "returns": list(self.returns), "meta": dict(self.meta)})  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HistoricalResult:
        return cls(returns=tuple(d["returns"]), meta=dict(d.get("meta", {})), model=str(d.get("model", "historical")))


def fit_historical(bars: Any, *, window: int | None = None, **_: Any) -> HistoricalResult:
    """The last ``window`` returns of ``bars`` (default: all) as an empirical law.

    Raises
    ------
    FitError
        Fewer than :data:`MIN_RETURNS` returns.
    """
    r, meta = _sample(bars)
    if window is not None:
        r = r[-int(window) :]
        if r.size < MIN_RETURNS:
            raise FitError(f"need at least {MIN_RETURNS} returns, got {r.size}", reason="length")
    return HistoricalResult(returns=tuple(r), meta=meta | {"nobs": int(r.size)})
