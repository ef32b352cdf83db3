r"""GARCH-family volatility models estimated by ``arch``, made robust.

Models (per-bar log returns ``r_t = mu + e_t``, ``e_t = sigma_t z_t``):

* ``garch``  : :math:`\sigma^2_t = \omega + \alpha e^2_{t-1} + \beta\sigma^2_{t-1}`
* ``gjr``    : adds :math:`\gamma e^2_{t-1} 1[e_{t-1} < 0]` (the "A-GARCH" of the plan)
* ``egarch`` : :math:`\ln\sigma^2_t = \omega + \alpha(|z_{t-1}| - \sqrt{2/\pi})
  + \gamma z_{t-1} + \beta\ln\sigma^2_{t-1}` (``arch``'s form)

Maximum likelihood is ``arch``'s job.  What this module adds is the care
that makes a fit trustworthy on any bar size:

1. **Scaling.**  Returns are multiplied by a power of ten ``s`` so that their
   standard deviation lies in [1, 10); ``arch``'s optimiser is reliable there
   and not on raw one-minute returns.
2. **Attempts.**  The optimiser's success flag is not trusted alone: the
   model is also estimated at a second scale (``10 s``) from a genuinely
   different starting point, and from further starting points unless two
   attempts pass and agree.  Attempts are compared in *common, unscaled*
   log-likelihood units (``LL_r = LL_{sr} + n ln s``) and the best among
   those that pass every check is kept (:mod:`volresearch.models.fitting`).
3. **Checks.**  Optimiser flag, finite parameters, positive variance path,
   covariance stationarity (``alpha + beta + gamma E[z^2 1(z<0)] < 1``, or
   ``|beta| < 1`` for EGARCH), an unconditional volatility within 1/5..5
   times the window's realised volatility, standardised residuals of variance
   near 1, no shape parameter at an optimiser bound, an optimiser that moved,
   and a plausible mean (its t-statistic and the drift it implies over the
   forecast horizon).  A failing fit raises :class:`~volresearch.errors.FitError`
   with every reason; it is never returned as if it were good.  Warnings that
   do not reject a fit (near-integrated persistence, a mean that drives the
   forecast) are kept in :attr:`Fit.flags` for every surface to show.

Parameters come back in **per-bar log-return units**: ``mu`` in log return
per bar, ``omega`` in squared log return per bar (GARCH/GJR) or in log
variance (EGARCH), the rest dimensionless.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch._util import float_array, jsonable, readonly
from volresearch.errors import DataError, FitError
from volresearch.models.distributions import get_distribution, negative_second_moment, null_value
from volresearch.models.fitting import (
    MEAN_MODELS,
    NEAR_INTEGRATED_MARGIN,
    VOLATILITY_MODELS,
    Attempt,
    choose_scale,
    common_std_errors,
    estimate,
    param_names,
    to_common,
)
from volresearch.models.returns import data_hash, log_returns

__all__ = [
    "ModelSpec",
    "Fit",
    "fit_garch",
    "choose_scale",
    "VOLATILITY_MODELS",
    "MEAN_MODELS",
    "MIN_OBSERVATIONS",
]

ModelName = Literal["garch", "gjr", "egarch"]
MeanName = Literal["constant", "zero"]

#: Fewest returns a GARCH fit is attempted on.
MIN_OBSERVATIONS = 50
#: Persistence at and above which a fit is flagged near-integrated (half-life > ~6,900 bars).
NEAR_INTEGRATED = 1.0 - NEAR_INTEGRATED_MARGIN

_ARCH_NAMES = {"alpha[1]": "alpha", "gamma[1]": "gamma", "beta[1]": "beta"}
_EGARCH_ABS_MEAN = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class ModelSpec:
    """Which model to fit: volatility dynamics, innovation law and mean.

    Parameters
    ----------
    model
        ``"garch"``, ``"gjr"`` or ``"egarch"``.
    dist
        ``"normal"``, ``"t"``, ``"skewt"``, ``"ged"`` or ``"sged"``.
    mean
        ``"constant"`` (estimate ``mu``) or ``"zero"`` (``mu = 0``).
    """

    model: ModelName = "gjr"
    dist: str = "normal"
    mean: MeanName = "constant"

    def __post_init__(self) -> None:
        if self.model not in VOLATILITY_MODELS:
            raise FitError(f"unknown model {self.model!r}; choose one of {sorted(VOLATILITY_MODELS)}")
        if self.mean not in MEAN_MODELS:
            raise FitError(f"unknown mean {self.mean!r}; choose one of {sorted(MEAN_MODELS)}")
        get_distribution(self.dist)

    @property
    def label(self) -> str:
        """Short label such as ``gjr-sged``."""
        return f"{self.model}-{self.dist}"

    def to_dict(self) -> dict[str, str]:
        return {"model": self.model, "dist": self.dist, "mean": self.mean}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fit:
    """Immutable result of a GARCH-family fit, in per-bar log-return units.

    Attributes
    ----------
    spec
        The fitted :class:`ModelSpec`.
    params
        Estimates by name: ``mu`` (log return per bar), ``omega`` (squared log
        return per bar; log variance for EGARCH), ``alpha``, ``gamma``,
        ``beta`` (dimensionless; ``gamma = 0`` for GARCH), then the shape
        parameters of the innovation law.
    std_errors
        Robust (sandwich) standard errors of ``params``, same units.
    units
        Unit of every parameter, by name.
    loglik
        Log-likelihood of the unscaled returns.
    n_obs
        Number of returns used.
    scale
        Factor the returns were multiplied by for the optimiser.
    converged
        Whether the optimum passed every check (always true for a returned fit).
    index, conditional_volatility, std_resid
        Time index of the returns, the in-sample conditional volatility
        ``sigma_t`` (log return per bar) and standardised residuals ``z_t``.
    last_price, last_resid, next_variance
        State at the end of the sample: last close, last residual ``e_T`` and
        the one-step-ahead variance ``sigma^2_{T+1}`` (squared log return per bar).
    periods_per_year
        Bars per year used for annualised figures.
    diagnostics
        Residual tests (Ljung-Box on ``z`` and ``z^2``, Engle-Ng sign bias).
    meta
        Reproducibility metadata (data hash, window, library versions, attempts).
    method
        ``"garch"`` for a maximum-likelihood fit.
    flags
        Warnings every surface showing the fit must show: near-integrated
        persistence, a mean that drives the forecast, a shape at the normal
        limit, a rejected attempt with a higher likelihood (see
        :mod:`volresearch.models.fitting`).  Empty for an unremarkable fit.

    Notes
    -----
    ``params`` always holds ``mu`` (``0.0``, not estimated, for a zero mean)
    and ``gamma`` (``0.0``, not estimated, for GARCH), so every mean and
    volatility specification simulates and filters the same way; estimated
    parameters are those in ``std_errors``.
    """

    spec: ModelSpec
    params: Mapping[str, float]
    std_errors: Mapping[str, float]
    units: Mapping[str, str]
    loglik: float
    n_obs: int
    scale: float
    converged: bool
    index: pd.DatetimeIndex | pd.Index
    conditional_volatility: np.ndarray
    std_resid: np.ndarray
    last_price: float
    last_resid: float
    next_variance: float
    periods_per_year: float
    diagnostics: Mapping[str, Any]
    meta: Mapping[str, Any]
    method: str = "garch"
    flags: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------- derived figures
    @property
    def num_params(self) -> int:
        """Number of estimated parameters (fixed ones such as GARCH's ``gamma = 0`` excluded)."""
        return len(self.std_errors)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``2k - 2 LL``."""
        return 2.0 * self.num_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        """Bayesian information criterion, ``k ln n - 2 LL``."""
        return self.num_params * math.log(self.n_obs) - 2.0 * self.loglik

    @property
    def negative_moment(self) -> float:
        """``E[z^2 1(z<0)]`` of the fitted innovation law (1/2 if symmetric)."""
        if "negative_moment" not in self._cache:
            self._cache["negative_moment"] = negative_second_moment(self.spec.dist, self.params)
        return self._cache["negative_moment"]

    @property
    def persistence(self) -> float:
        """``alpha + beta + gamma E[z^2 1(z<0)]`` (GARCH/GJR) or ``beta`` (EGARCH)."""
        p = self.params
        if self.spec.model == "egarch":
            return float(p["beta"])
        return float(p["alpha"] + p["beta"] + p["gamma"] * self.negative_moment)

    @property
    def near_integrated(self) -> bool:
        """True when persistence is at or above ``NEAR_INTEGRATED`` (``1 - 1e-4``)."""
        return self.persistence >= NEAR_INTEGRATED

    @property
    def half_life(self) -> float:
        """Bars for a variance shock to decay by half, ``ln 0.5 / ln persistence``."""
        pers = self.persistence
        if pers <= 0.0:
            return 0.0
        if pers >= 1.0:
            return math.inf
        return math.log(0.5) / math.log(pers)

    @property
    def unconditional_variance(self) -> float:
        """Long-run variance per bar (squared log return per bar).

        GARCH/GJR: ``omega / (1 - persistence)``.  EGARCH: ``exp(omega / (1 - beta))``,
        the level implied by the long-run mean of ``ln sigma^2`` (a geometric mean).
        """
        p = self.params
        if self.spec.model == "egarch":
            level = p["omega"] / (1.0 - p["beta"])
            return float(math.exp(level)) if level < 700.0 else math.inf
        pers = self.persistence
        return float(p["omega"] / (1.0 - pers)) if pers < 1.0 else math.inf

    @property
    def unconditional_vol_per_bar(self) -> float:
        """Square root of :attr:`unconditional_variance` (log return per bar)."""
        return math.sqrt(self.unconditional_variance)

    @property
    def unconditional_vol_annualised(self) -> float:
        """:attr:`unconditional_vol_per_bar` times ``sqrt(periods_per_year)``."""
        return self.unconditional_vol_per_bar * math.sqrt(self.periods_per_year)

    @property
    def conditional_volatility_series(self) -> pd.Series:
        """In-sample ``sigma_t`` as a Series indexed by time."""
        return pd.Series(self.conditional_volatility, index=self.index, name="conditional_volatility")

    @property
    def start(self) -> Any:
        return self.index[0]

    @property
    def end(self) -> Any:
        return self.index[-1]

    # ------------------------------------------------------------- model interface
    @property
    def model(self) -> str:
        """Registry name of the model, e.g. ``"gjr-sged"`` (see :mod:`volresearch.models.base`)."""
        return self.spec.label

    @property
    def kernel(self) -> str:
        """Id of the path kernel: the variance recursion, ``"garch"``, ``"gjr"`` or ``"egarch"``."""
        return self.spec.model

    @property
    def dist(self) -> str:
        """Name of the innovation law."""
        return self.spec.dist

    @property
    def bar_seconds(self) -> float:
        """Seconds per bar of the sample (most common spacing; 86,400 without a time index)."""
        if "bar_seconds" not in self._cache:
            step = None
            if isinstance(self.index, pd.DatetimeIndex) and len(self.index) > 2:
                from volresearch.data.calendar import infer_bar_seconds

                step = infer_bar_seconds(self.index)
            self._cache["bar_seconds"] = float(step) if step else 86_400.0
        return self._cache["bar_seconds"]

    @property
    def calendar(self) -> str | None:
        """Calendar preset of the sample: ``meta["calendar"]`` when recorded, else inferred from the index."""
        if "calendar" not in self._cache:
            name = self.meta.get("calendar")
            if name is None and isinstance(self.index, pd.DatetimeIndex) and len(self.index) > 2:
                from volresearch.data.calendar import infer_calendar

                name = infer_calendar(self.index)[0].name
            self._cache["calendar"] = None if name is None else str(name)
        return self._cache["calendar"]

    def simulation_params(self) -> dict[str, float]:
        """Parameters as the path kernel takes them: ``mu, omega, alpha, gamma, beta`` and the law's shape.

        Per-bar log-return units (``omega`` in log variance for EGARCH); ``mu = 0`` for a zero mean.
        """
        params = {k: float(v) for k, v in self.params.items()}
        params.setdefault("mu", 0.0)
        params.setdefault("gamma", 0.0)
        return params

    def filter_state(self) -> dict[str, Any]:
        """State at the end of the sample that a filter or a simulation continues from.

        ``last_price`` (price), ``last_resid`` (``e_T``, log return per bar),
        ``last_variance`` (``sigma^2_T``) and ``next_variance``
        (``sigma^2_{T+1}``, squared log return per bar), ``end`` (time of the last bar).
        """
        last_var = float(self.conditional_volatility[-1] ** 2) if self.conditional_volatility.size else math.nan
        return {
            "last_price": self.last_price,
            "last_resid": self.last_resid,
            "last_variance": last_var,
            "next_variance": self.next_variance,
            "end": self.end,
        }

    # ------------------------------------------------------------- forecasting
    def forecast(self, horizon: int, *, n_paths: int = 20_000, seed: int = 0) -> pd.DataFrame:
        """Variance path ``E_T[sigma^2_{T+h}]`` for ``h = 1..horizon``.

        GARCH/GJR: the exact recursion
        ``v_{h+1} = omega + persistence * v_h`` from ``v_1 = next_variance``.
        EGARCH has no closed form beyond one step; its path is the Monte Carlo
        mean over ``n_paths`` paths with the fitted innovation law (``seed``).

        Returns
        -------
        DataFrame
            Indexed by ``h``: ``variance`` (per-bar), ``cumulative_variance``
            (variance of the ``h``-bar log return, mean term excluded) and
            ``volatility``.
        """
        if horizon < 1:
            raise ValueError("horizon must be >= 1")
        if self.spec.model == "egarch":
            var = self._egarch_mc_variance(horizon, n_paths=n_paths, seed=seed)
        else:
            var = np.empty(horizon)
            var[0] = self.next_variance
            omega, pers = self.params["omega"], self.persistence
            for h in range(1, horizon):
                var[h] = omega + pers * var[h - 1]
        return pd.DataFrame(
            {"variance": var, "cumulative_variance": np.cumsum(var), "volatility": np.sqrt(var)},
            index=pd.RangeIndex(1, horizon + 1, name="h"),
        )

    def _egarch_mc_variance(self, horizon: int, *, n_paths: int, seed: int) -> np.ndarray:
        from volresearch.models.distributions import ppf_function

        rng = np.random.default_rng(seed)
        ppf = ppf_function(self.spec.dist, self.params)
        p = self.params
        log_s2 = np.full(n_paths, math.log(self.next_variance))
        out = np.empty(horizon)
        for h in range(horizon):
            out[h] = float(np.mean(np.exp(log_s2)))
            z = ppf(rng.uniform(size=n_paths))
            log_s2 = p["omega"] + p["alpha"] * (np.abs(z) - _EGARCH_ABS_MEAN) + p["gamma"] * z + p["beta"] * log_s2
        return out

    def filter(self, returns: np.ndarray | pd.Series) -> np.ndarray:
        """Variance path of returns that continue the fitted sample, parameters held fixed.

        Element ``t`` is ``sigma^2`` of ``returns[t]`` given everything before
        it (the fitted sample included); the extra last element is the variance
        of the bar after the last return.  Squared log return per bar; length
        ``len(returns) + 1``.  Look-ahead free by construction.
        """
        from volresearch.models._recursions import egarch_filter, garch_filter

        e = np.ascontiguousarray(np.asarray(returns, dtype=float) - self.params.get("mu", 0.0))
        out = np.empty(e.size + 1)
        f = egarch_filter if self.spec.model == "egarch" else garch_filter
        p = self.params
        f(e, self.next_variance, p["omega"], p["alpha"], p["gamma"], p["beta"], out)
        return out

    def simulate(
        self,
        n_paths: int = 10_000,
        horizon: int = 1440,
        *,
        seed: int,
        mode: Literal["matrix", "bands"] = "matrix",
        **kwargs: Any,
    ) -> Any:
        """Simulate price paths from the end of the sample; see :func:`volresearch.simulate.simulate_fit`."""
        from volresearch.simulate.engine import simulate_fit

        return simulate_fit(self, n_paths=n_paths, horizon=horizon, seed=seed, mode=mode, **kwargs)

    # ------------------------------------------------------------- presentation
    def summary(self) -> str:
        """A compact, human-readable table of the fit."""
        lines = [
            f"{self.spec.model.upper()} ({self.spec.dist} innovations, {self.spec.mean} mean)"
            f" fitted on {self.n_obs} returns, {self.start} .. {self.end}",
            f"method: {self.method}   scale: {self.scale:g}   converged: {self.converged}",
            f"log-likelihood: {self.loglik:.3f}   AIC: {self.aic:.3f}   BIC: {self.bic:.3f}",
            "",
            f"{'param':<8}{'estimate':>14}{'std err':>12}{'null':>7}{'t':>9}  unit",
        ]
        for name, value in self.params.items():
            se = self.std_errors.get(name, math.nan)
            null = self.null_values().get(name)
            fixed = name not in self.std_errors
            t = (value - null) / se if null is not None and se and np.isfinite(se) and se > 0 else math.nan
            null_text = "fixed" if fixed else ("-" if null is None else f"{null:g}")
            lines.append(f"{name:<8}{value:>14.6g}{se:>12.4g}{null_text:>7}{t:>9.2f}  {self.units.get(name, '')}")
        lines += [
            "",
            f"persistence: {self.persistence:.6f}   half-life: {self.half_life:.1f} bars",
            f"unconditional vol: {self.unconditional_vol_per_bar:.6g} per bar, "
            f"{self.unconditional_vol_annualised:.4f} annualised ({self.periods_per_year:g} bars/year)",
            f"next-bar vol: {math.sqrt(self.next_variance):.6g} per bar",
        ]
        for note in self.diagnostics.get("warnings", []):
            lines.append(f"warning: {note}")
        for note in self.all_flags:
            lines.append(f"warning: {note}")
        lb = self.diagnostics.get("ljung_box", {})
        if lb:
            lines.append(
                "Ljung-Box p (lag 10): z {:.3f}, z^2 {:.3f}".format(
                    lb.get("z", {}).get("10", {}).get("pvalue", math.nan),
                    lb.get("z2", {}).get("10", {}).get("pvalue", math.nan),
                )
            )
        sb = self.diagnostics.get("sign_bias")
        if sb:
            lines.append(f"sign-bias joint test: LM {sb['joint']['stat']:.3f}, p {sb['joint']['pvalue']:.3f}")
        return "\n".join(lines)

    def null_values(self) -> dict[str, float | None]:
        """Natural null of every parameter for its t-statistic: 0, ``xi`` 1, GED ``nu`` 2, none for t ``nu``."""
        return {name: null_value(self.spec.dist, name) for name in self.params}

    @property
    def all_flags(self) -> tuple[str, ...]:
        """:attr:`flags`, plus the near-integrated flag when persistence is at or above ``NEAR_INTEGRATED``."""
        flags = tuple(self.flags)
        if self.near_integrated and not any(f.startswith("near-integrated") for f in flags):
            flags += (
                f"near-integrated: persistence {self.persistence:.9f} >= {NEAR_INTEGRATED}; long-horizon "
                "variance forecasts and the unconditional level are unreliable",
            )
        return flags

    def __repr__(self) -> str:
        return (
            f"Fit({self.spec.label}, n_obs={self.n_obs}, loglik={self.loglik:.3f}, "
            f"persistence={self.persistence:.4f}, method={self.method!r})"
        )

    def to_dict(self, *, include_series: bool = True) -> dict[str, Any]:
        """JSON-safe dictionary; :meth:`from_dict` restores an equal object."""
        out: dict[str, Any] = {
            "kind": "volresearch.Fit",
            "model": self.spec.model,
            "dist": self.spec.dist,
            "mean": self.spec.mean,
            "method": self.method,
            "params": dict(self.params),
            "std_errors": {k: _json_float(v) for k, v in self.std_errors.items()},
            "units": dict(self.units),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "n_obs": self.n_obs,
            "scale": self.scale,
            "converged": self.converged,
            "persistence": self.persistence,
            "near_integrated": self.near_integrated,
            "flags": list(self.all_flags),
            "std_resid_variance": _json_float(np.var(self.std_resid)) if self.std_resid.size else None,
            "half_life": _json_float(self.half_life),
            "unconditional_vol_per_bar": _json_float(self.unconditional_vol_per_bar),
            "unconditional_vol_annualised": _json_float(self.unconditional_vol_annualised),
            "periods_per_year": self.periods_per_year,
            "last_price": self.last_price,
            "last_resid": self.last_resid,
            "next_variance": self.next_variance,
            "start": str(self.start),
            "end": str(self.end),
            "diagnostics": jsonable(self.diagnostics),
            "meta": jsonable(self.meta),
        }
        if include_series:
            out["series"] = {
                "index": [str(t) for t in self.index],
                "index_is_datetime": isinstance(self.index, pd.DatetimeIndex),
                "conditional_volatility": self.conditional_volatility.tolist(),
                "std_resid": self.std_resid.tolist(),
            }
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Fit:
        """Rebuild a :class:`Fit` written by :meth:`to_dict` (with series)."""
        if d.get("kind") != "volresearch.Fit":
            raise DataError("not a volresearch Fit dictionary (missing kind='volresearch.Fit')")
        series = d.get("series")
        if series is None:
            raise DataError("Fit dictionary was written without series; cannot restore it")
        if series["index_is_datetime"]:
            index: pd.Index = pd.DatetimeIndex(pd.to_datetime(series["index"]), name="timestamp")
        else:
            index = pd.Index([int(v) for v in series["index"]])
        params = {k: float(v) for k, v in d["params"].items()}
        if d["mean"] == "zero" and "mu" not in params:  # written before zero means carried mu = 0
            params = {"mu": 0.0, **params}
        return cls(
            spec=ModelSpec(d["model"], d["dist"], d["mean"]),
            params=MappingProxyType(params),
            std_errors=MappingProxyType({k: _float_or_nan(v) for k, v in d["std_errors"].items()}),
            units=MappingProxyType(dict(d["units"])),
            loglik=float(d["loglik"]),
            n_obs=int(d["n_obs"]),
            scale=float(d["scale"]),
            converged=bool(d["converged"]),
            index=index,
            conditional_volatility=readonly(float_array(series["conditional_volatility"]), copy=True),
            std_resid=readonly(float_array(series["std_resid"]), copy=True),
            last_price=math.nan if d["last_price"] is None else float(d["last_price"]),  # fitted on returns
            last_resid=float(d["last_resid"]),
            next_variance=float(d["next_variance"]),
            periods_per_year=float(d["periods_per_year"]),
            diagnostics=MappingProxyType(dict(d["diagnostics"])),
            meta=MappingProxyType(dict(d["meta"])),
            method=str(d.get("method", "garch")),
            flags=tuple(str(f) for f in d.get("flags", [])),
        )

    def save(self, path: str) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        import json

        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh)

    @classmethod
    def load(cls, path: str) -> Fit:
        """Read a fit saved with :meth:`save`."""
        import json

        with open(path, encoding="utf-8") as fh:
            try:
                payload = json.load(fh)
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON: {exc}", file=str(path)) from None
        return cls.from_dict(payload)


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _float_or_nan(x: Any) -> float:
    return math.nan if x is None else float(x)


# --------------------------------------------------------------------------- fitting


def fit_garch(
    data: pd.DataFrame | pd.Series | np.ndarray,
    spec: ModelSpec | None = None,
    *,
    model: ModelName | None = None,
    dist: str | None = None,
    mean: MeanName | None = None,
    periods_per_year: float | None = None,
    returns: bool = False,
    window: int | None = None,
    horizon: int | None = None,
) -> Fit:
    """Fit a GARCH-family model robustly; raise ``FitError`` rather than return garbage.

    Parameters
    ----------
    data
        Bars (``close`` column), a price Series or array, or, with
        ``returns=True``, log returns per bar.
    spec, model, dist, mean
        The model; keywords override the fields of ``spec``.
    periods_per_year
        Bars per year for annualised figures.  Inferred from the bar calendar
        of a DatetimeIndex when omitted (252 when there is no time index).
    returns
        Treat ``data`` as log returns instead of prices.
    window
        Use only the last ``window`` returns.
    horizon
        Forecast horizon in bars over which the mean's drift is judged
        (see :func:`volresearch.models.fitting.check_estimate`); default one
        day of bars for intraday data (1,440 one-minute bars), 20 otherwise.

    Returns
    -------
    Fit
        Converged, checked estimate in per-bar log-return units; warnings
        that come with it are in :attr:`Fit.flags`.

    Raises
    ------
    FitError
        Too few returns, flat data, or no attempt passed the checks (every
        attempt's reasons are in the message).
    DataError
        Non-finite or non-positive prices.
    """
    spec = spec or ModelSpec()
    spec = ModelSpec(model or spec.model, dist or spec.dist, mean or spec.mean)
    if returns:
        r_series = pd.Series(np.asarray(data, dtype=float)) if not isinstance(data, pd.Series) else data.astype(float)
        if not np.all(np.isfinite(r_series.to_numpy())):
            bad = np.flatnonzero(~np.isfinite(r_series.to_numpy()))
            raise DataError("returns contain non-finite values", row=[int(i) for i in bad[:10]])
        last_price = math.nan
    else:
        r_series = log_returns(data)
        closes = data["close"] if isinstance(data, pd.DataFrame) else data
        last_price = float(np.asarray(closes, dtype=float)[-1])
    if window is not None:
        r_series = r_series.iloc[-int(window) :]
    r = r_series.to_numpy(dtype=float)
    n = r.size
    if n < MIN_OBSERVATIONS:
        raise FitError(f"{n} returns are too few for a GARCH fit (need >= {MIN_OBSERVATIONS})", reason="too_few")
    h = default_horizon(r_series.index) if horizon is None else int(horizon)
    est = estimate(spec, r, horizon=h)
    return _build_fit(
        spec,
        r_series,
        est.best,
        list(est.attempts),
        last_price,
        periods_per_year,
        window,
        flags=est.flags,
        confirmed=est.confirmed,
        horizon=h,
    )


def default_horizon(index: pd.Index) -> int:
    """One day of bars for intraday data (``86400 / bar seconds``), 20 bars otherwise."""
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 3:
        spacing = np.diff(index.as_unit("ns").asi8)
        spacing = spacing[spacing > 0]
        if spacing.size:
            seconds = float(np.median(spacing)) / 1e9
            if seconds < 86_400:
                return max(1, int(round(86_400 / seconds)))
    return 20


def _infer_periods_per_year(index: pd.Index) -> float:
    """Bars per year from the bar calendar of a DatetimeIndex (252 without one)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return 252.0
    from volresearch.data.calendar import bars_per_year, infer_bar_seconds, infer_calendar

    cal, _ = infer_calendar(index)
    step = infer_bar_seconds(index)
    return 252.0 if not step else float(bars_per_year(cal, step))


def _build_fit(
    spec: ModelSpec,
    r_series: pd.Series,
    best: Attempt,
    attempts: list[Attempt],
    last_price: float,
    periods_per_year: float | None,
    window: int | None,
    *,
    flags: tuple[str, ...] = (),
    confirmed: bool = False,
    horizon: int = 1,
) -> Fit:
    import arch
    import scipy
    import statsmodels

    import volresearch

    res = best.result
    assert res is not None
    s = best.scale
    names = param_names(spec)
    common = to_common(spec, res.params.to_numpy(), s)
    se = common_std_errors(spec, res, s)
    estimated = dict(zip(names, common.tolist(), strict=True))
    # fixed parameters (mu = 0 of a zero mean, gamma = 0 of GARCH) are carried so every spec simulates alike
    params = {
        "mu": estimated.get("mu", 0.0),
        "omega": estimated["omega"],
        "alpha": estimated["alpha"],
        "gamma": estimated.get("gamma", 0.0),
        "beta": estimated["beta"],
        **{k: estimated[k] for k in get_distribution(spec.dist).parameter_names},
    }
    std_errors = dict(zip(names, se.tolist(), strict=True))
    r = r_series.to_numpy()
    cond_vol = np.asarray(res.conditional_volatility, dtype=float) / s
    std_resid = np.asarray(res.std_resid, dtype=float)
    mu = params.get("mu", 0.0)
    last_resid = float(r[-1] - mu)
    last_var = float(cond_vol[-1] ** 2)
    if spec.model == "egarch":
        z = last_resid / math.sqrt(last_var)
        next_var = math.exp(
            params["omega"]
            + params["alpha"] * (abs(z) - _EGARCH_ABS_MEAN)
            + params["gamma"] * z
            + params["beta"] * math.log(last_var)
        )
    else:
        neg = 1.0 if last_resid < 0 else 0.0
        next_var = (
            params["omega"] + (params["alpha"] + params["gamma"] * neg) * last_resid**2 + params["beta"] * last_var
        )
    units = _units(spec, params)
    ppy = float(periods_per_year) if periods_per_year is not None else _infer_periods_per_year(r_series.index)
    from volresearch.models.diagnostics import residual_diagnostics

    diagnostics = residual_diagnostics(std_resid, model=spec.model)
    if spec.dist in ("ged", "sged") and params.get("nu", 2.0) <= 1.0:
        # the density has a cusp at its mode for nu <= 1: arch's numerical-Hessian standard errors
        # are unreliable there (the estimates themselves are fine)
        diagnostics["warnings"] = [
            f"shape nu = {params['nu']:.3f} <= 1: the density has a cusp at its mode and the reported "
            "standard errors (numerical Hessian) are unreliable; bootstrap them if they matter"
        ]
    meta = {
        "data_hash": data_hash(r),
        "n_obs": int(r.size),
        "window": window,
        "start": str(r_series.index[0]),
        "end": str(r_series.index[-1]),
        "scale": s,
        "horizon": horizon,
        "confirmed": confirmed,
        "attempts": [a.to_dict(spec) for a in attempts],
        "versions": {
            "volresearch": volresearch.__version__,
            "arch": arch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
    }
    index = r_series.index
    return Fit(
        spec=spec,
        params=MappingProxyType(params),
        std_errors=MappingProxyType(std_errors),
        units=MappingProxyType(units),
        loglik=best.loglik,
        n_obs=int(r.size),
        scale=s,
        converged=True,
        index=index,
        conditional_volatility=readonly(cond_vol, copy=True),
        std_resid=readonly(std_resid, copy=True),
        last_price=last_price,
        last_resid=last_resid,
        next_variance=float(next_var),
        periods_per_year=ppy,
        diagnostics=MappingProxyType(diagnostics),
        meta=MappingProxyType(meta),
        method="garch",
        flags=tuple(flags),
    )


def _units(spec: ModelSpec, params: Mapping[str, float]) -> dict[str, str]:
    units = {
        "mu": "log return per bar",
        "omega": "log of squared log return per bar" if spec.model == "egarch" else "squared log return per bar",
        "alpha": "dimensionless",
        "gamma": "dimensionless",
        "beta": "dimensionless",
    }
    return {k: units.get(k, "dimensionless (innovation shape)") for k in params}
