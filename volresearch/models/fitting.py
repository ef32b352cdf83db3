r"""Robust estimation of GARCH-family models: attempts, and the checks every estimate must pass.

:func:`estimate` runs ``arch``'s maximum likelihood from several starting
points and scales and keeps the **best log-likelihood among the attempts
that pass every check**, the likelihoods compared in common, unscaled units
(``LL_r = LL_{sr} + n ln s`` for returns multiplied by ``s``).

Attempts
    1. ``default``: ``arch``'s own starting values, returns scaled so that
       their standard deviation lies in [1, 10).
    2. ``confirm``: ten times that scale, from a genuinely different starting
       point (never the first attempt's optimum or starting values).
    3. ``start k``: further economically different starting points when the
       first two do not both pass and agree.

Checks (:func:`check_estimate`), each a *problem* (the attempt is rejected)
or a *flag* (the fit is kept and the flag is shown wherever the fit is):

=============================================  ===========================================
problem                                        rule
=============================================  ===========================================
optimizer failure                              ``arch``'s convergence flag is not 0
non-finite estimate                            a parameter or the log-likelihood
variance path                                  not finite and positive
non-stationary                                 persistence >= 1 (GARCH/GJR), ``|beta| >= 1`` (EGARCH)
implausible unconditional variance             more than ``MAX_VOL_RATIO**2`` (25) times, or less
                                               than 1/25 of, the window's realised variance
standardised residuals                         variance outside ``STD_RESID_VAR_BOUNDS`` (0.5, 2)
optimizer never moved                          every parameter equal to its starting value
shape at a bound                               a shape parameter within ``BOUND_TOLERANCE`` of an
                                               optimiser bound (Student-t ``nu`` at its upper bound,
                                               the normal limit, is a flag instead)
implausible mean                               ``|mu|`` above one standard deviation per bar, or a
                                               drift over the forecast horizon above
                                               ``MEAN_DRIFT_LIMIT`` horizon standard deviations with
                                               ``|t| >= MEAN_T_LIMIT``
=============================================  ===========================================

Flags: near-integrated (persistence >= ``1 - NEAR_INTEGRATED_MARGIN``), a mean
whose drift over the horizon exceeds half a horizon standard deviation (noise
or not), a rejected attempt that reached a higher likelihood than the kept one,
and Student-t degrees of freedom at their upper bound.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from arch.univariate import EGARCH, GARCH, ConstantMean, ZeroMean
from arch.univariate.base import ARCHModelResult
from arch.univariate.volatility import VolatilityProcess

from volresearch.errors import FitError
from volresearch.models.distributions import get_distribution, make_distribution, negative_second_moment

if TYPE_CHECKING:  # pragma: no cover
    from volresearch.models.garch import ModelSpec

__all__ = [
    "VOLATILITY_MODELS",
    "MEAN_MODELS",
    "NEAR_INTEGRATED_MARGIN",
    "MAX_VOL_RATIO",
    "STD_RESID_VAR_BOUNDS",
    "MEAN_T_LIMIT",
    "MEAN_DRIFT_LIMIT",
    "BOUND_TOLERANCE",
    "Attempt",
    "Estimate",
    "choose_scale",
    "check_estimate",
    "estimate",
]

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

#: Persistence at or above ``1 - NEAR_INTEGRATED_MARGIN`` is flagged near-integrated (half-life > ~6,900 bars).
NEAR_INTEGRATED_MARGIN = 1e-4
#: Largest ratio (either way) of unconditional volatility to the window's realised volatility.
MAX_VOL_RATIO = 5.0
#: Ratio (either way) of unconditional to realised volatility beyond which an accepted fit is flagged: its
#: long-horizon forecasts drift toward a level the sample did not show.
FLAG_VOL_RATIO = 1.5
#: Accepted range of the sample variance of the standardised residuals (1 for a correct model).
STD_RESID_VAR_BOUNDS = (0.5, 2.0)
#: ``|t|`` of the mean at and above which a large drift is taken for real, and rejected as implausible.
MEAN_T_LIMIT = 3.0
#: Drift over the forecast horizon, in horizon standard deviations, beyond which a mean is implausible.
MEAN_DRIFT_LIMIT = 1.0
#: Drift over the horizon, in horizon standard deviations, beyond which a mean is flagged.
MEAN_DRIFT_FLAG = 0.5
#: A shape parameter within ``BOUND_TOLERANCE * max(1, |bound|)`` of a bound is at the bound.
BOUND_TOLERANCE = 1e-3

_ALT_VOL_STARTS = ((0.05, 0.05, 0.90), (0.10, 0.05, 0.80), (0.02, 0.02, 0.96))
_ALT_SHAPE_STARTS = {"normal": [], "t": [8.0], "skewt": [8.0, 0.0], "ged": [1.5], "sged": [1.5, 1.0]}
_HEAVY_TAIL_SHAPES = {("t", "nu"), ("skewt", "eta")}


def choose_scale(returns: np.ndarray) -> float:
    """Power of ten ``s`` putting ``std(s * returns)`` in [1, 10).

    One-minute log returns (std ~ 5e-4) get ``s = 1e4``; daily returns
    (std ~ 1e-2) get ``s = 100``.

    Raises
    ------
    FitError
        Zero or non-finite dispersion (``reason="flat"``).
    """
    sd = float(np.std(returns))
    if not np.isfinite(sd) or sd <= 0.0:
        raise FitError("returns have zero or non-finite dispersion; nothing to fit", reason="flat")
    return float(10.0 ** (-math.floor(math.log10(sd))))


# --------------------------------------------------------------------------- parameter layout and units


def arch_model(spec: ModelSpec, y: np.ndarray) -> Any:
    """The ``arch`` model of ``spec`` on (scaled) returns ``y``."""
    return MEAN_MODELS[spec.mean](
        y, volatility=VOLATILITY_MODELS[spec.model](), distribution=make_distribution(spec.dist), rescale=False
    )


def param_names(spec: ModelSpec) -> list[str]:
    """Names of the estimated parameters in ``arch``'s order."""
    names = [] if spec.mean == "zero" else ["mu"]
    names += ["omega", "alpha"]
    names += ["gamma"] if spec.model in ("gjr", "egarch") else []
    names += ["beta"]
    names += list(get_distribution(spec.dist).parameter_names)
    return names


def to_common(spec: ModelSpec, scaled: np.ndarray, scale: float) -> np.ndarray:
    """Parameter vector for returns multiplied by ``scale`` -> per-bar units (same order)."""
    out = np.array(scaled, dtype=float)
    names = param_names(spec)
    for i, name in enumerate(names):
        if name == "mu":
            out[i] = scaled[i] / scale
        elif name == "omega":
            if spec.model == "egarch":
                out[i] = scaled[i] - 2.0 * math.log(scale) * (1.0 - scaled[names.index("beta")])
            else:
                out[i] = scaled[i] / scale**2
    return out


def to_scaled(spec: ModelSpec, common: np.ndarray, scale: float) -> np.ndarray:
    """Per-bar parameter vector -> the units of returns multiplied by ``scale``."""
    out = np.array(common, dtype=float)
    names = param_names(spec)
    for i, name in enumerate(names):
        if name == "mu":
            out[i] = common[i] * scale
        elif name == "omega":
            if spec.model == "egarch":
                out[i] = common[i] + 2.0 * math.log(scale) * (1.0 - common[names.index("beta")])
            else:
                out[i] = common[i] * scale**2
    return out


def jacobian(spec: ModelSpec, scale: float) -> np.ndarray:
    """``d(common) / d(scaled)`` for delta-method standard errors."""
    names = param_names(spec)
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


def common_std_errors(spec: ModelSpec, res: ARCHModelResult, scale: float) -> np.ndarray:
    """Robust standard errors of ``res`` in per-bar units (NaN where the covariance is not usable)."""
    jac = jacobian(spec, scale)
    try:
        cov = jac @ np.asarray(res.param_cov, dtype=float) @ jac.T
    except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - arch returns NaNs rather than raising
        return np.full(len(param_names(spec)), np.nan)
    diag = np.diag(cov)
    return np.sqrt(np.where(diag >= 0, diag, np.nan))


def arch_starting_values(spec: ModelSpec, r: np.ndarray) -> np.ndarray:
    """``arch``'s own starting values for ``spec`` on returns ``r``, in per-bar units.

    Computed on returns scaled by :func:`choose_scale` (as ``arch`` would
    see them) and converted back.
    """
    scale = choose_scale(r)
    model = arch_model(spec, r * scale)
    model._adjust_sample(None, None)  # what arch's own fit does before asking for starting values
    mean_sv = np.asarray(model.starting_values(), dtype=float)
    resids = np.asarray(model.resids(mean_sv), dtype=float)
    vol_sv = np.asarray(model.volatility.starting_values(resids), dtype=float)
    dist_sv = np.asarray(model.distribution.starting_values(resids / np.std(resids)), dtype=float)
    return to_common(spec, np.concatenate([mean_sv, vol_sv, dist_sv]), scale)


def alternative_starts(spec: ModelSpec, r: np.ndarray) -> list[np.ndarray]:
    """A few economically different starting points in per-bar units."""
    var = float(np.var(r))
    mean = float(np.mean(r))
    starts = []
    for a, g, b in _ALT_VOL_STARTS:
        vec = [] if spec.mean == "zero" else [mean]
        if spec.model == "egarch":  # omega, alpha, gamma (leverage enters with a negative sign), beta
            vec += [math.log(var) * (1 - b), a, -g]
        elif spec.model == "gjr":
            vec += [var * (1 - a - b - g / 2), a, g]
        else:
            vec += [var * (1 - a - b), a]
        vec += [b, *_ALT_SHAPE_STARTS[spec.dist]]
        starts.append(np.array(vec, dtype=float))
    return starts


def _same_point(a: np.ndarray | None, b: np.ndarray | None, *, rtol: float = 1e-6) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=rtol, atol=0.0))


# --------------------------------------------------------------------------- checks


def shape_bounds(dist: str) -> dict[str, tuple[float, float]]:
    """Optimiser bounds of the shape parameters of ``dist``, by name."""
    info = get_distribution(dist)
    bounds = make_distribution(dist).bounds(np.ones(16))
    return {name: (float(lo), float(hi)) for name, (lo, hi) in zip(info.parameter_names, bounds, strict=True)}


def persistence_of(spec: ModelSpec, params: Mapping[str, float]) -> float:
    """``alpha + beta + gamma E[z^2 1(z<0)]`` (GARCH/GJR) or ``beta`` (EGARCH)."""
    if spec.model == "egarch":
        return float(params["beta"])
    kappa = negative_second_moment(spec.dist, params) if spec.model == "gjr" else 0.0
    return float(params["alpha"] + params["beta"] + params.get("gamma", 0.0) * kappa)


def unconditional_variance_of(spec: ModelSpec, params: Mapping[str, float]) -> float:
    """Long-run variance per bar; ``inf`` when not stationary.

    GARCH/GJR: ``omega / (1 - persistence)``.  EGARCH: ``exp(omega / (1 - beta))``.
    """
    pers = persistence_of(spec, params)
    if pers >= 1.0:
        return math.inf
    if spec.model == "egarch":
        level = params["omega"] / (1.0 - pers)
        return float(math.exp(level)) if level < 700.0 else math.inf
    return float(params["omega"] / (1.0 - pers))


def check_estimate(
    spec: ModelSpec,
    params: Mapping[str, float],
    *,
    returns: np.ndarray,
    std_resid: np.ndarray,
    conditional_volatility: np.ndarray | None = None,
    std_errors: Mapping[str, float] | None = None,
    start: Mapping[str, float] | None = None,
    horizon: int = 1,
) -> tuple[list[str], list[str]]:
    """Problems (reasons to reject) and flags (reasons to warn) of one estimate.

    Parameters
    ----------
    spec
        The model.
    params
        Estimates in per-bar units (``mu`` log return per bar, ``omega``
        squared log return per bar or log variance for EGARCH).
    returns
        The fitted log returns per bar.
    std_resid
        Standardised residuals ``z_t`` of the estimate.
    conditional_volatility
        ``sigma_t``; checked for being finite and positive when given.
    std_errors
        Standard errors of ``params`` (the mean's t-statistic needs ``mu``'s).
    start
        Starting values of the optimiser, same units; an estimate equal to
        them never moved.
    horizon
        Forecast horizon in bars over which the mean's drift is judged.

    Returns
    -------
    (problems, flags)
        Lists of human-readable sentences; an estimate is acceptable when
        ``problems`` is empty.
    """
    problems: list[str] = []
    flags: list[str] = []
    r = np.asarray(returns, dtype=float)
    if not all(np.isfinite(float(v)) for v in params.values()):
        return ["non-finite parameters"], flags
    if conditional_volatility is not None:
        cv = np.asarray(conditional_volatility, dtype=float)
        if not np.all(np.isfinite(cv)) or np.any(cv <= 0):
            problems.append("conditional variance path is not finite and positive")
    if start is not None and all(
        math.isclose(float(params[k]), float(start[k]), rel_tol=1e-7, abs_tol=0.0) for k in start
    ):
        problems.append("optimizer never moved: every parameter equals its starting value")
    # stationarity, with a margin flagged rather than a knife edge
    pers = persistence_of(spec, params)
    if spec.model == "egarch":
        if abs(params["beta"]) >= 1.0:
            problems.append(f"EGARCH not stationary: |beta| = {abs(params['beta']):.6f} >= 1")
        if params["alpha"] < 0.0:
            # measured: S&P 500 fits on 2002-2006 (alpha -0.02) collapse their variance after a run of rises and
            # then overflow out of sample
            problems.append(
                f"EGARCH size effect alpha = {params['alpha']:.4g} < 0: larger shocks of either sign would lower "
                "volatility, and the log-variance recursion can run away out of sample"
            )
    else:
        if params["omega"] <= 0:
            problems.append(f"omega = {params['omega']:.3g} is not positive")
        if pers >= 1.0:
            problems.append(f"not covariance stationary: persistence {pers:.9f} >= 1")
    if pers < 1.0 and pers >= 1.0 - NEAR_INTEGRATED_MARGIN:
        half_life = math.log(0.5) / math.log(pers) if pers > 0 else 0.0
        flags.append(
            f"near-integrated: persistence {pers:.9f} >= 1 - {NEAR_INTEGRATED_MARGIN:g} (half-life "
            f"{half_life:,.0f} bars); long-horizon variance forecasts and the unconditional level are unreliable"
        )
    # implied long-run variance against the window's realised variance
    mu = float(params.get("mu", 0.0))
    realised = float(np.mean((r - mu) ** 2)) if r.size else math.nan
    uncond = unconditional_variance_of(spec, params)
    if pers < 1.0 and math.isfinite(realised) and realised > 0 and not uncond <= 0:
        ratio = math.sqrt(uncond / realised) if math.isfinite(uncond) else math.inf
        if not (1.0 / MAX_VOL_RATIO <= ratio <= MAX_VOL_RATIO):
            problems.append(
                f"implausible unconditional volatility: {math.sqrt(uncond):.3g} per bar is {ratio:.3g} times "
                f"the window's realised volatility {math.sqrt(realised):.3g} (accepted 1/{MAX_VOL_RATIO:g}.."
                f"{MAX_VOL_RATIO:g})"
            )
        elif not (1.0 / FLAG_VOL_RATIO <= ratio <= FLAG_VOL_RATIO):
            flags.append(
                f"unconditional volatility {math.sqrt(uncond):.3g} per bar is {ratio:.3g} times the window's "
                f"realised {math.sqrt(realised):.3g}: long-horizon forecasts drift toward a level the sample did "
                "not show"
            )
    z = np.asarray(std_resid, dtype=float)
    z = z[np.isfinite(z)]
    if z.size > 1:
        zvar = float(np.var(z))
        lo, hi = STD_RESID_VAR_BOUNDS
        if not lo <= zvar <= hi:
            problems.append(f"standardised residuals have variance {zvar:.3g}, outside [{lo:g}, {hi:g}] (1 expected)")
    # shape parameters at their optimiser bounds
    for name, (lo, hi) in shape_bounds(spec.dist).items():
        v = float(params[name])
        for bound, side in ((lo, "lower"), (hi, "upper")):
            if abs(v - bound) <= BOUND_TOLERANCE * max(1.0, abs(bound)):
                text = f"shape {name} = {v:.6g} at its {side} bound {bound:g}"
                if side == "upper" and (spec.dist, name) in _HEAVY_TAIL_SHAPES:
                    flags.append(text + " (the normal limit: consider normal innovations)")
                else:
                    problems.append(text)
    # the mean: significance and the drift it implies over the horizon
    if "mu" in params and spec.mean != "zero" and r.size > 1:
        sd = float(np.std(r))
        se = float((std_errors or {}).get("mu", math.nan))
        t = mu / se if math.isfinite(se) and se > 0 else math.nan
        h = max(int(horizon), 1)
        drift_sd = abs(mu) * math.sqrt(h) / sd if sd > 0 else math.inf
        what = (
            f"mu = {mu:.3g} per bar (t = {t:.2f}) implies a drift of {mu * h:.3g} over {h} bars, "
            f"{drift_sd:.2f} horizon standard deviations"
        )
        if abs(mu) > sd:
            problems.append(f"implausible mean: |mu| = {abs(mu):.3g} exceeds one standard deviation per bar ({sd:.3g})")
        elif drift_sd > MEAN_DRIFT_LIMIT and not abs(t) < MEAN_T_LIMIT:
            problems.append(f"implausible mean: {what}")
        elif drift_sd > MEAN_DRIFT_FLAG:
            flags.append(f"mean drives the forecast: {what}; a zero mean is the safer choice")
    return problems, flags


# --------------------------------------------------------------------------- attempts


@dataclass(frozen=True)
class Attempt:
    """One maximum-likelihood run.

    ``loglik`` is in unscaled units; ``start_values`` in per-bar units.
    """

    scale: float
    start: str
    start_values: np.ndarray | None
    result: ARCHModelResult | None
    loglik: float
    problems: tuple[str, ...]
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the attempt produced an estimate that passed every check."""
        return self.result is not None and not self.problems

    def to_dict(self, spec: ModelSpec) -> dict[str, Any]:
        """JSON-safe record of the attempt."""
        sv = None
        if self.start_values is not None:
            sv = {k: float(v) for k, v in zip(param_names(spec), self.start_values, strict=True)}
        return {
            "scale": self.scale,
            "start": self.start,
            "start_values": sv,
            "loglik": self.loglik if math.isfinite(self.loglik) else None,
            "problems": list(self.problems),
            "flags": list(self.flags),
        }


def run_attempt(
    spec: ModelSpec, r: np.ndarray, scale: float, start: np.ndarray | None, label: str, *, horizon: int = 1
) -> Attempt:
    """Fit ``spec`` to ``r * scale`` from ``start`` (per-bar units; ``arch``'s own when ``None``) and check it."""
    model = arch_model(spec, r * scale)
    try:
        if start is None:
            start = arch_starting_values(spec, r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off", starting_values=to_scaled(spec, start, scale), show_warning=False)
    except (ValueError, np.linalg.LinAlgError, RuntimeError, ZeroDivisionError, FloatingPointError) as exc:
        return Attempt(scale, label, start, None, -math.inf, (f"arch raised {type(exc).__name__}: {exc}",))
    names = param_names(spec)
    common = to_common(spec, res.params.to_numpy(), scale)
    params = dict(zip(names, common.tolist(), strict=True))
    se = dict(zip(names, common_std_errors(spec, res, scale).tolist(), strict=True))
    problems: list[str] = []
    if res.convergence_flag != 0:
        problems.append(f"optimizer did not converge (flag {res.convergence_flag}: {res.optimization_result.message})")
    ll = float(res.loglikelihood) + len(r) * math.log(scale)
    if not math.isfinite(ll):
        problems.append("non-finite log-likelihood")
        ll = -math.inf
    more, flags = check_estimate(
        spec,
        params,
        returns=r,
        std_resid=np.asarray(res.std_resid, dtype=float),
        conditional_volatility=np.asarray(res.conditional_volatility, dtype=float),
        std_errors=se,
        start=dict(zip(names, np.asarray(start, dtype=float).tolist(), strict=True)),
        horizon=horizon,
    )
    return Attempt(scale, label, np.asarray(start, dtype=float), res, ll, tuple(problems + more), tuple(flags))


@dataclass(frozen=True)
class Estimate:
    """Outcome of :func:`estimate`: the kept attempt, all attempts, fit-level flags."""

    best: Attempt
    attempts: tuple[Attempt, ...]
    flags: tuple[str, ...]
    confirmed: bool


def _ll_tolerance(ll: float) -> float:
    """Log-likelihood difference within which two optima are the same (the optimiser's own precision)."""
    return max(0.5, 1e-6 * abs(ll))


def estimate(spec: ModelSpec, r: np.ndarray, *, horizon: int = 1) -> Estimate:
    """Run the attempts and keep the best likelihood among those passing every check.

    Raises
    ------
    FitError
        No attempt passed (``reason="checks"``; every attempt's problems are
        in the message) or the returns are flat (``reason="flat"``).
    """
    scale = choose_scale(r)
    first = run_attempt(spec, r, scale, None, "default", horizon=horizon)
    alts = [a for a in alternative_starts(spec, r) if not _same_point(a, first.start_values)]
    confirm = alts[0] if alts else alternative_starts(spec, r)[0]
    attempts = [first, run_attempt(spec, r, scale * 10.0, confirm, "confirm x10 from start 1", horizon=horizon)]

    def agreed() -> bool:
        good = sorted((a.loglik for a in attempts if a.ok), reverse=True)
        return len(good) >= 2 and good[0] - good[1] <= _ll_tolerance(good[0])

    if not agreed():
        for i, alt in enumerate(alts, start=1):
            attempts.append(run_attempt(spec, r, scale, alt, f"start {i}", horizon=horizon))
            if agreed():
                break
    good = [a for a in attempts if a.ok]
    if not good:
        reasons = "; ".join(f"[scale {a.scale:g}, {a.start}] " + ", ".join(a.problems) for a in attempts)
        raise FitError(f"{spec.label} fit failed every check: {reasons}", reason="checks")
    best = max(good, key=lambda a: a.loglik)
    tol = _ll_tolerance(best.loglik)
    confirmed = any(a is not best and abs(a.loglik - best.loglik) <= tol for a in good)
    flags = list(best.flags)
    better = [a for a in attempts if not a.ok and a.loglik > best.loglik + tol]
    if better:
        top = max(better, key=lambda a: a.loglik)
        flags.append(
            f"a rejected attempt ({top.start}) reached a log-likelihood {top.loglik - best.loglik:.4g} higher "
            f"than the kept one but failed: {', '.join(top.problems)}"
        )
    return Estimate(best, tuple(attempts), tuple(flags), confirmed)
