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
2. **Confirmation.**  The optimiser's success flag is not trusted alone: the
   model is re-estimated at a second scale (``10 s``) from the first optimum,
   and the fit with the highest log-likelihood *in common, unscaled units*
   (``LL_r = LL_{sr} + n ln s``) wins.  If neither passes the checks, several
   starting points are tried before giving up.
3. **Checks.**  Optimiser flag, finite parameters, positive variance path,
   covariance stationarity (``alpha + beta + gamma E[z^2 1(z<0)] < 1``, or
   ``|beta| < 1`` for EGARCH), and a sane mean (``|mu|`` below one standard
   deviation per bar).  A failing fit raises :class:`~volresearch.errors.FitError`
   with every reason; it is never returned as if it were good.

Parameters come back in **per-bar log-return units**: ``mu`` in log return
per bar, ``omega`` in squared log return per bar (GARCH/GJR) or in log
variance (EGARCH), the rest dimensionless.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from arch.univariate import EGARCH, GARCH, ConstantMean, ZeroMean
from arch.univariate.base import ARCHModelResult
from arch.univariate.volatility import VolatilityProcess

from volresearch.errors import DataError, FitError
from volresearch.models.distributions import get_distribution, make_distribution, negative_second_moment
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

#: Volatility processes by name (a registry, not an if/elif chain).
VOLATILITY_MODELS: Mapping[str, Callable[[], VolatilityProcess]] = MappingProxyType(
    {
        "garch": lambda: GARCH(p=1, o=0, q=1),
        "gjr": lambda: GARCH(p=1, o=1, q=1),
        "egarch": lambda: EGARCH(p=1, o=1, q=1),
    }
)
#: Mean models by name.
MEAN_MODELS: Mapping[str, type] = MappingProxyType({"constant": ConstantMean, "zero": ZeroMean})

#: Fewest returns a GARCH fit is attempted on.
MIN_OBSERVATIONS = 50
#: Persistence above which a fit is flagged near-integrated (half-life > ~700 bars).
NEAR_INTEGRATED = 0.999

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


def choose_scale(returns: np.ndarray) -> float:
    """Power of ten ``s`` putting ``std(s * returns)`` in [1, 10).

    One-minute log returns (std ~ 5e-4) get ``s = 1e4``; daily returns
    (std ~ 1e-2) get ``s = 100``.  Raises ``FitError`` for zero or non-finite
    dispersion.
    """
    sd = float(np.std(returns))
    if not np.isfinite(sd) or sd <= 0.0:
        raise FitError("returns have zero or non-finite dispersion; nothing to fit", reason="flat")
    return float(10.0 ** (-math.floor(math.log10(sd))))


# --------------------------------------------------------------------------- results


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


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
        """True when persistence exceeds ``NEAR_INTEGRATED`` (0.999)."""
        return self.persistence > NEAR_INTEGRATED

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
            f"{'param':<8}{'estimate':>14}{'std err':>12}{'t':>9}  unit",
        ]
        for name, value in self.params.items():
            se = self.std_errors.get(name, math.nan)
            t = value / se if se and np.isfinite(se) and se > 0 else math.nan
            lines.append(f"{name:<8}{value:>14.6g}{se:>12.4g}{t:>9.2f}  {self.units.get(name, '')}")
        lines += [
            "",
            f"persistence: {self.persistence:.6f}   half-life: {self.half_life:.1f} bars",
            f"unconditional vol: {self.unconditional_vol_per_bar:.6g} per bar, "
            f"{self.unconditional_vol_annualised:.4f} annualised ({self.periods_per_year:g} bars/year)",
            f"next-bar vol: {math.sqrt(self.next_variance):.6g} per bar",
        ]
        for note in self.diagnostics.get("warnings", []):
            lines.append(f"warning: {note}")
        if self.near_integrated:
            lines.append(
                f"warning: persistence {self.persistence:.6f} > {NEAR_INTEGRATED}: near-integrated; long-horizon "
                "variance forecasts and the unconditional level are unreliable"
            )
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
            "half_life": _json_float(self.half_life),
            "unconditional_vol_per_bar": _json_float(self.unconditional_vol_per_bar),
            "unconditional_vol_annualised": _json_float(self.unconditional_vol_annualised),
            "periods_per_year": self.periods_per_year,
            "last_price": self.last_price,
            "last_resid": self.last_resid,
            "next_variance": self.next_variance,
            "start": str(self.start),
            "end": str(self.end),
            "diagnostics": _jsonable(self.diagnostics),
            "meta": _jsonable(self.meta),
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
        return cls(
            spec=ModelSpec(d["model"], d["dist"], d["mean"]),
            params=MappingProxyType({k: float(v) for k, v in d["params"].items()}),
            std_errors=MappingProxyType({k: _float_or_nan(v) for k, v in d["std_errors"].items()}),
            units=MappingProxyType(dict(d["units"])),
            loglik=float(d["loglik"]),
            n_obs=int(d["n_obs"]),
            scale=float(d["scale"]),
            converged=bool(d["converged"]),
            index=index,
            conditional_volatility=_readonly(np.asarray(series["conditional_volatility"], dtype=float)),
            std_resid=_readonly(np.asarray(series["std_resid"], dtype=float)),
            last_price=float(d["last_price"]),
            last_resid=float(d["last_resid"]),
            next_variance=float(d["next_variance"]),
            periods_per_year=float(d["periods_per_year"]),
            diagnostics=MappingProxyType(dict(d["diagnostics"])),
            meta=MappingProxyType(dict(d["meta"])),
            method=str(d.get("method", "garch")),
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


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class _Attempt:
    scale: float
    start: str
    result: ARCHModelResult | None
    loglik: float  # unscaled units
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.problems


def _arch_model(spec: ModelSpec, y: np.ndarray) -> Any:
    mean_cls = MEAN_MODELS[spec.mean]
    return mean_cls(
        y,
        volatility=VOLATILITY_MODELS[spec.model](),
        distribution=make_distribution(spec.dist),
        rescale=False,
    )


def _param_names(spec: ModelSpec) -> list[str]:
    names = [] if spec.mean == "zero" else ["mu"]
    names += ["omega", "alpha"]
    names += ["gamma"] if spec.model in ("gjr", "egarch") else []
    names += ["beta"]
    names += list(get_distribution(spec.dist).parameter_names)
    return names


def _to_common(spec: ModelSpec, scaled: np.ndarray, scale: float) -> np.ndarray:
    """Scaled-unit parameter vector -> per-bar units (same order)."""
    out = np.array(scaled, dtype=float)
    names = _param_names(spec)
    for i, name in enumerate(names):
        if name == "mu":
            out[i] = scaled[i] / scale
        elif name == "omega":
            if spec.model == "egarch":
                beta = scaled[names.index("beta")]
                out[i] = scaled[i] - 2.0 * math.log(scale) * (1.0 - beta)
            else:
                out[i] = scaled[i] / scale**2
    return out


def _to_scaled(spec: ModelSpec, common: np.ndarray, scale: float) -> np.ndarray:
    """Per-bar parameter vector -> the units of returns multiplied by ``scale``."""
    out = np.array(common, dtype=float)
    names = _param_names(spec)
    for i, name in enumerate(names):
        if name == "mu":
            out[i] = common[i] * scale
        elif name == "omega":
            if spec.model == "egarch":
                beta = common[names.index("beta")]
                out[i] = common[i] + 2.0 * math.log(scale) * (1.0 - beta)
            else:
                out[i] = common[i] * scale**2
    return out


def _jacobian(spec: ModelSpec, scale: float) -> np.ndarray:
    """d(common)/d(scaled) for the delta-method standard errors."""
    names = _param_names(spec)
    jac = np.eye(len(names))
    for i, name in enumerate(names):
        if name == "mu":
            jac[i, i] = 1.0 / scale
        elif name == "omega":
            if spec.model == "egarch":
                jac[i, names.index("beta")] = 2.0 * math.log(scale)
            else:
                jac[i, i] = 1.0 / scale**2
    return jac


def _problems(spec: ModelSpec, res: ARCHModelResult, scale: float, sd: float) -> list[str]:
    names = _param_names(spec)
    vals = dict(zip(names, _to_common(spec, res.params.to_numpy(), scale), strict=True))
    out: list[str] = []
    if res.convergence_flag != 0:
        out.append(f"optimizer did not converge (flag {res.convergence_flag}: {res.optimization_result.message})")
    if not all(np.isfinite(v) for v in vals.values()) or not np.isfinite(res.loglikelihood):
        out.append("non-finite parameters or log-likelihood")
        return out
    cv = np.asarray(res.conditional_volatility, dtype=float)
    if not np.all(np.isfinite(cv)) or np.any(cv <= 0):
        out.append("conditional variance path is not finite and positive")
    if spec.model == "egarch":
        if abs(vals["beta"]) >= 1.0:
            out.append(f"EGARCH not stationary: |beta| = {abs(vals['beta']):.6f} >= 1")
    else:
        if vals["omega"] <= 0:
            out.append(f"omega = {vals['omega']:.3g} is not positive")
        kappa = negative_second_moment(spec.dist, vals) if spec.model == "gjr" else 0.0
        pers = vals["alpha"] + vals["beta"] + vals.get("gamma", 0.0) * kappa
        if pers >= 1.0:
            out.append(f"not covariance stationary: persistence {pers:.6f} >= 1")
    if "mu" in vals and abs(vals["mu"]) > sd:
        out.append(f"implausible mean: |mu| = {abs(vals['mu']):.3g} exceeds one standard deviation per bar ({sd:.3g})")
    return out


def _attempt(
    spec: ModelSpec, r: np.ndarray, scale: float, start: np.ndarray | None, label: str, sd: float
) -> _Attempt:
    model = _arch_model(spec, r * scale)
    sv = None if start is None else _to_scaled(spec, start, scale)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off", starting_values=sv, show_warning=False)
    except (ValueError, np.linalg.LinAlgError, RuntimeError, ZeroDivisionError, FloatingPointError) as exc:
        return _Attempt(scale, label, None, -math.inf, (f"arch raised {type(exc).__name__}: {exc}",))
    ll = float(res.loglikelihood) + len(r) * math.log(scale)
    problems = _problems(spec, res, scale, sd)
    # a cold start that never moves has not searched; a warm start from a converged optimum may stop at once
    if not label.startswith("confirm") and int(getattr(res.optimization_result, "nit", 2)) < 2:
        problems.append("optimizer stopped at its starting values")
    return _Attempt(scale, label, res, ll if np.isfinite(ll) else -math.inf, tuple(problems))


def _alternative_starts(spec: ModelSpec, r: np.ndarray) -> list[np.ndarray]:
    """A few economically different starting points in per-bar units."""
    var = float(np.var(r))
    mean = 0.0 if spec.mean == "zero" else float(np.mean(r))
    dist_start = {
        "normal": [],
        "t": [8.0],
        "skewt": [8.0, 0.0],
        "ged": [1.5],
        "sged": [1.5, 1.0],
    }[spec.dist]
    starts = []
    for a, g, b in ((0.05, 0.05, 0.90), (0.10, 0.05, 0.80), (0.02, 0.02, 0.97)):
        vec = [] if spec.mean == "zero" else [mean]
        if spec.model == "egarch":  # omega, alpha, gamma (leverage enters with a negative sign), beta
            vec += [math.log(var) * (1 - b), a, -g]
        elif spec.model == "gjr":
            vec += [var * (1 - a - b - g / 2), a, g]
        else:
            vec += [var * (1 - a - b), a]
        vec += [b] + dist_start
        starts.append(np.array(vec, dtype=float))
    return starts


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

    Returns
    -------
    Fit
        Converged, checked estimate in per-bar log-return units.

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
    scale = choose_scale(r)
    sd = float(np.std(r))
    attempts = [_attempt(spec, r, scale, None, "default", sd)]
    first = attempts[0]
    start = (
        _to_common(spec, first.result.params.to_numpy(), scale)
        if first.result is not None and np.all(np.isfinite(first.result.params))
        else None
    )
    attempts.append(_attempt(spec, r, scale * 10.0, start, "confirm x10", sd))
    if not any(a.ok for a in attempts):
        for i, alt in enumerate(_alternative_starts(spec, r)):
            attempts.append(_attempt(spec, r, scale, alt, f"start {i + 1}", sd))
            if attempts[-1].ok:
                break
    good = [a for a in attempts if a.ok]
    if not good:
        reasons = "; ".join(f"[scale {a.scale:g}, {a.start}] " + ", ".join(a.problems) for a in attempts)
        raise FitError(f"{spec.label} fit failed every check: {reasons}", reason="checks")
    best = max(good, key=lambda a: a.loglik)
    return _build_fit(spec, r_series, best, attempts, last_price, periods_per_year, window)


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
    best: _Attempt,
    attempts: list[_Attempt],
    last_price: float,
    periods_per_year: float | None,
    window: int | None,
) -> Fit:
    import arch
    import scipy
    import statsmodels

    import volresearch

    res = best.result
    assert res is not None
    s = best.scale
    names = _param_names(spec)
    common = _to_common(spec, res.params.to_numpy(), s)
    jac = _jacobian(spec, s)
    cov = jac @ np.asarray(res.param_cov, dtype=float) @ jac.T
    se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    params = dict(zip(names, common.tolist(), strict=True))
    if spec.model == "garch":
        params = {**{k: v for k, v in params.items() if k != "beta"}, "gamma": 0.0, "beta": params["beta"]}
        params = {k: params[k] for k in [*names[: names.index("beta")], "gamma", "beta", *names[names.index("beta") + 1 :]]}
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
        next_var = params["omega"] + (params["alpha"] + params["gamma"] * neg) * last_resid**2 + params["beta"] * last_var
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
        "attempts": [
            {"scale": a.scale, "start": a.start, "loglik": _json_float(a.loglik), "problems": list(a.problems)}
            for a in attempts
        ],
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
        conditional_volatility=_readonly(cond_vol),
        std_resid=_readonly(std_resid),
        last_price=last_price,
        last_resid=last_resid,
        next_variance=float(next_var),
        periods_per_year=ppy,
        diagnostics=MappingProxyType(diagnostics),
        meta=MappingProxyType(meta),
        method="garch",
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
