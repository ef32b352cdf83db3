r"""ARMA(1,1)-GARCH(1,1): a statsmodels ARIMA mean and an ``arch`` GARCH variance, fitted in two steps.

.. math:: r_t = \mu + \phi (r_{t-1} - \mu) + \theta e_{t-1} + e_t, \qquad e_t = \sigma_t z_t,\quad
          \sigma_t^2 = \omega + \alpha e_{t-1}^2 + \beta \sigma_{t-1}^2,

``z`` standardised Student-t with ``nu`` degrees of freedom.  Step one: ``statsmodels``' ARIMA(1, 0, 1) with a
constant by Gaussian maximum likelihood gives ``mu``, ``phi``, ``theta``; the residuals are then the ARMA
recursion run from ``e_0 = r_0 - mu`` (the same recursion the forecasts use).  Step two: ``arch``'s
zero-mean GARCH(1,1) with Student-t innovations on those residuals (the package's robust GARCH fit,
:func:`volresearch.models.fitting.fit_garch`, with its checks).  Two-step standard errors ignore the first
step's estimation error (the mean's are those of the Gaussian ARIMA fit).

Paths and filters run the two recursions with the parameters fixed (numpy, one ``numpy.random.Generator``
from the seed).  Units: per-bar log returns; ``omega`` squared log return per bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import FitError
from volresearch.models.ewma import MetaClock
from volresearch.models.garch import Fit

__all__ = ["ARMAGARCHResult", "arma_residuals", "fit_arma_garch"]

_MEAN_NAMES = ("mu", "phi", "theta")


def arma_residuals(r: np.ndarray, mu: float, phi: float, theta: float) -> np.ndarray:
    """Residuals of the ARMA(1,1) recursion from ``e_0 = r_0 - mu`` (continuing a run: :meth:`ARMAGARCHResult.filter`)."""
    x = np.asarray(r, dtype=float) - mu
    e = np.empty_like(x)
    if x.size == 0:
        return e
    e[0] = x[0]
    for t in range(1, x.size):  # a scalar recursion over a fit window
        e[t] = x[t] - phi * x[t - 1] - theta * e[t - 1]
    return e


@dataclass(frozen=True)
class ARMAGARCHResult(MetaClock):
    """Immutable two-step ARMA(1,1)-GARCH(1,1)-t fit: the mean (``mu``, ``phi``, ``theta`` with standard errors)
    and the GARCH :class:`~volresearch.models.garch.Fit` of the residuals; the state after the sample
    (``last_return``, ``last_resid``) and ``meta`` (clock, last price and time, data hash)."""

    mean: Mapping[str, float]
    mean_se: Mapping[str, float]
    garch: Fit
    last_return: float
    last_resid: float
    meta: Mapping[str, Any] = field(default_factory=dict)
    model: str = "arma-garch"

    kernel = "arma-garch"
    dist = "t"
    table_component = "ARMA mean / GARCH variance"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", dict(self.mean))
        object.__setattr__(self, "mean_se", dict(self.mean_se))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def params(self) -> dict[str, float]:
        g = self.garch.params
        return {**self.mean, "omega": g["omega"], "alpha": g["alpha"], "beta": g["beta"], "nu": g["nu"]}

    @property
    def std_errors(self) -> dict[str, float]:
        g = self.garch.std_errors
        return {**self.mean_se, **{k: float(g.get(k, math.nan)) for k in ("omega", "alpha", "beta", "nu")}}

    @property
    def units(self) -> dict[str, str]:
        return {"mu": "log return per bar", "phi": "dimensionless", "theta": "dimensionless",
                "omega": "squared log return per bar", "alpha": "dimensionless", "beta": "dimensionless",
                "nu": "degrees of freedom"}  # fmt: skip

    def null_values(self) -> dict[str, float]:
        return {"mu": 0.0, "phi": 0.0, "theta": 0.0, "alpha": 0.0, "beta": 0.0}

    @property
    def loglik(self) -> float:
        return float(self.garch.loglik)

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(self.garch.flags) if hasattr(self.garch, "flags") else ()

    @property
    def next_mean(self) -> float:
        """Mean of the next bar's log return."""
        m = self.mean
        return m["mu"] + m["phi"] * (self.last_return - m["mu"]) + m["theta"] * self.last_resid

    def simulation_params(self) -> dict[str, float]:
        return self.params

    def filter_state(self) -> dict[str, Any]:
        return {"last_price": self.meta.get("last_price", math.nan), "end": self.meta.get("end"),
                "next_variance": float(self.garch.next_variance), "next_mean": self.next_mean,
                "last_return": self.last_return, "last_resid": self.last_resid}  # fmt: skip

    def filter(self, returns: np.ndarray) -> list[dict[str, float]]:
        """States after each of ``returns`` (after the sample), parameters fixed: ``len(returns) + 1`` states
        (``next_mean``, ``next_variance``, ``last_return``, ``last_resid``), the first the fit's."""
        m, p = self.mean, self.params
        x_prev, e_prev, v = self.last_return, self.last_resid, float(self.garch.next_variance)
        out = [{"next_mean": self.next_mean, "next_variance": v, "last_return": x_prev, "last_resid": e_prev}]
        for r in np.asarray(returns, dtype=float):
            mean = m["mu"] + m["phi"] * (x_prev - m["mu"]) + m["theta"] * e_prev
            e = r - mean
            v = p["omega"] + p["alpha"] * e * e + p["beta"] * v
            x_prev, e_prev = float(r), float(e)
            nxt = m["mu"] + m["phi"] * (x_prev - m["mu"]) + m["theta"] * e_prev
            out.append({"next_mean": nxt, "next_variance": v, "last_return": x_prev, "last_resid": e_prev})
        return out

    def summary(self) -> str:
        lines = [f"ARMA(1,1)-GARCH(1,1)-t, two steps (statsmodels ARIMA mean, arch GARCH variance)  "
                 f"(n = {self.meta.get('nobs')}, GARCH loglik = {self.loglik:.3f})",
                 f"{'param':<9}{'estimate':>14}{'std err':>14}  unit"]  # fmt: skip
        for k, v in self.params.items():
            lines.append(f"{k:<9}{v:>14.6g}{self.std_errors.get(k, math.nan):>14.4g}  {self.units[k]}")
        lines.append(f"next bar: mean {self.next_mean:.3g}, volatility {math.sqrt(self.garch.next_variance):.4g}")
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"kind": "volresearch.ARMAGARCHResult", "model": self.model, "mean": dict(self.mean),
                         "mean_se": dict(self.mean_se), "garch": self.garch.to_dict(), "params": self.params,
                         "units": self.units, "last_return": self.last_return, "last_resid": self.last_resid,
                         "meta": dict(self.meta)})  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ARMAGARCHResult:
        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        return cls(mean={k: num(v) for k, v in d["mean"].items()}, mean_se={k: num(v) for k, v in d["mean_se"].items()},
                   garch=Fit.from_dict(d["garch"]), last_return=float(d["last_return"]),
                   last_resid=float(d["last_resid"]), meta=dict(d.get("meta", {})),
                   model=str(d.get("model", "arma-garch")))  # fmt: skip


def fit_arma_garch(bars: Any, **_: Any) -> ARMAGARCHResult:
    """Fit ARMA(1,1) by statsmodels, then GARCH(1,1)-t on its residuals by the package's robust ``arch`` fit.

    Raises
    ------
    FitError
        Too few returns, the ARIMA fit fails, or the GARCH fit is rejected by its checks.
    """
    import warnings

    from statsmodels.tsa.arima.model import ARIMA

    from volresearch.models.ewma import _sample
    from volresearch.models.garch import ModelSpec, fit_garch

    r, meta = _sample(bars)
    scale = 100.0  # statsmodels' optimiser prefers returns in percent
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; failure is checked below
            res = ARIMA(r * scale, order=(1, 0, 1), trend="c").fit()
    except Exception as exc:  # statsmodels raises several types
        raise FitError(f"statsmodels ARIMA(1,0,1) failed: {exc}", reason="arima") from exc
    p, se = res.params, res.bse
    mean = {"mu": float(p[0]) / scale, "phi": float(p[1]), "theta": float(p[2])}
    mean_se = {"mu": float(se[0]) / scale, "phi": float(se[1]), "theta": float(se[2])}
    if not all(math.isfinite(v) for v in mean.values()) or abs(mean["phi"]) >= 1 or abs(mean["theta"]) >= 1:
        raise FitError(f"ARIMA(1,0,1) estimates are not stationary and invertible: {mean}", reason="arima")
    e = arma_residuals(r, mean["mu"], mean["phi"], mean["theta"])
    index = getattr(bars, "index", None)
    resid = pd.Series(e, index=index[1:][-e.size :] if isinstance(index, pd.DatetimeIndex) else None)
    garch = fit_garch(resid, ModelSpec("garch", "t", "zero"), returns=True)
    meta |= {"mean_method": "statsmodels ARIMA(1,0,1), Gaussian ML", "arima_loglik": float(res.llf)}
    return ARMAGARCHResult(mean=mean, mean_se=mean_se, garch=garch, last_return=float(r[-1]),
                           last_resid=float(e[-1]), meta=meta)  # fmt: skip
