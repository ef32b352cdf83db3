r"""Walk-forward windows of models fitted and simulated through the registry.

GARCH-family specs run the vectorised route of
:mod:`volresearch.validate.walkforward_run` (one engine call per block of
origins, filtered variance of the next bar from :meth:`Fit.filter`).  Any
other registered model runs here: each window (and each refit) is fitted
with :func:`volresearch.registry.fit_model` on the window's *bars* (time
stamps included, so session calendars, diurnal factors and daily components
see what they need), and every forecast is a
:func:`volresearch.registry.simulate_model` ensemble in matrix mode from the
state at the origin.

The state at an origin comes from the family's **adapter**
(:data:`ADAPTERS`, keyed by :attr:`volresearch.registry.ModelEntry.family`;
no branching on names): it rolls the fitted result's filter state forward
through the bars between the fit's last bar and the origin, parameters held
fixed, and says how many simulation steps the target spans.

Multiplicative intraday GARCH (family ``intraday``)
---------------------------------------------------
The returns after the fit's last bar are deseasonalised with the fit's own
diurnal factor and daily variance (sessions after the last fitted one take
the daily component's forecast ``h`` for that many sessions ahead), exactly
as the fit deseasonalised its sample
(:func:`volresearch.models.diurnal.deseasonalise`: gap parts excluded), and
``q`` is filtered through them (:meth:`Fit.filter` of the ``q`` component).
The forecast at origin ``t`` (the close of bar ``t + 1``, time ``T``) is the
log return from ``T`` to the time ``T_end`` of the target's last bar,
simulated over the calendar's session bars in ``(T, T_end]``: with no
missing bars that is the horizon ``h``; where bars are missing inside a
session (an illiquid ETF) the same clock span holds more session bars, and
the model forecasts the return over that span (the question asked is the
return until ``T_end``, whose time is part of the question, not of the
outcome).  The variance of the next bar (``sigma2_next``) is ``m q`` with
``m`` the fit's variance multiplier of the first step; ``forecast_var`` is
the ensemble variance.

Seeds: ``SeedSequence(seed, spawn_key=(window, 0, segment, i))`` for the
``i``-th origin of a refit segment; the naive baseline draws exactly as on
the GARCH route, so both routes score the same baseline.

The log-score efficiency of :mod:`volresearch.validate.walkforward` is not
computed on this route (NaN): the predictive densities of these models are
not closed-form one-bar laws of the raw returns at every bar (gap bars).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError, FitError, SimulationError
from volresearch.models import VOLATILITY_FLOOR
from volresearch.models.robust import ewma_variance

__all__ = ["ADAPTERS", "WalkForwardAdapter", "register_adapter"]

_PURPOSE_MODEL, _PURPOSE_BASE = 0, 1
#: Spec of a registry model without a GARCH component (the spec ``--reference arch`` runs for it).
NO_COMPONENT_SPEC = "gjr-skewt"
#: Errors that make a window's model unusable (the EWMA fallback answers).
_MODEL_ERRORS = (FitError, DataError, SimulationError)


@dataclass(frozen=True)
class WalkForwardAdapter:
    """How a model family is rolled forward between refits.

    Attributes
    ----------
    states
        ``states(result, bars, calendar, origin_times) -> list[dict]``: the
        :meth:`filter_state` overrides at each origin time, given ``bars``
        from the fit's last bar to the last origin bar (parameters fixed).
    steps
        ``steps(result, calendar, origin_time, target_end, horizon) -> int``:
        simulation steps from the origin to the target's last bar.
    next_variance
        ``next_variance(result, calendar, origin_time, state) -> float``:
        variance of the next bar's log return.
    record
        ``record(result) -> dict``: ``persistence``, ``loglik``, ``params``,
        ``std_errors`` for the fits table.
    """

    states: Callable[..., list[dict[str, Any]]]
    steps: Callable[..., int]
    next_variance: Callable[..., float]
    record: Callable[[Any], dict[str, Any]]


ADAPTERS: dict[str, WalkForwardAdapter] = {}


def register_adapter(family: str, adapter: WalkForwardAdapter, *, replace: bool = False) -> None:
    """Add the walk-forward adapter of a registry family."""
    if family in ADAPTERS and not replace:
        raise ConfigError(f"a walk-forward adapter for {family!r} is already registered")
    ADAPTERS[family] = adapter


def get_adapter(family: str, model: str | None = None) -> WalkForwardAdapter:
    """The adapter of ``family``; ConfigError names the model, its family and the families that have one."""
    try:
        return ADAPTERS[family]
    except KeyError:
        what = f"{model!r} ({family!r} family)" if model else f"{family!r} models"
        raise ConfigError(
            f"the walk-forward cannot roll {what} forward yet; families with an adapter: "
            f"{', '.join(sorted(ADAPTERS))} (and GARCH-family specs)"
        ) from None


# ------------------------------------------------------------------ intraday adapter
def _utc(t: Any) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _intraday_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    from volresearch.data.calendar import get_calendar
    from volresearch.data.session_returns import DEFAULT_MAX_MISSING, session_returns
    from volresearch.models.diurnal import deseasonalise

    q_fit = result.q_fit
    qf = np.array([q_fit.next_variance])
    z_times = pd.DatetimeIndex([], tz="UTC")
    if len(bars) >= 2:
        cal = get_calendar(calendar)
        max_missing = int(result.meta.get("options", {}).get("max_missing", DEFAULT_MAX_MISSING))
        sr = session_returns(bars, cal, bar_seconds=result.bar_seconds, max_missing=max_missing)
        if len(sr):
            labels = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(sr["session"])))
            last = result.daily.last_session
            later = np.unique(labels[labels > last].asi8)
            k = np.where(labels.asi8 <= last.value, 0, np.searchsorted(later, labels.asi8) + 1)
            h = pd.Series(result.daily.path(k), index=labels)
            des = deseasonalise(bars, cal, result.diurnal, h, max_missing=max_missing)
            des = des[np.isfinite(des["z"].to_numpy()) & (des["variance"].to_numpy() > 0)]
            if len(des):
                qf = q_fit.filter(des["z"].to_numpy(dtype=np.float64))
                z_times = pd.DatetimeIndex(des.index)
    j = np.searchsorted(z_times.asi8, pd.DatetimeIndex(times).as_unit(z_times.unit).asi8, side="right")
    prices = bars["close"].reindex(times).to_numpy(dtype=np.float64)
    return [
        {"q_next": float(qf[i]), "last_price": float(p), "end": t} for i, p, t in zip(j, prices, times, strict=True)
    ]


def _session_steps(result: Any, calendar: str, origin: Any, target_end: Any, horizon: int) -> int:
    from volresearch.simulate.results import session_step_times

    cap = 8 * int(horizon)
    times = session_step_times(calendar, _utc(origin), cap, result.bar_seconds)
    n = int(np.searchsorted(times[1:].asi8, _utc(target_end).as_unit(times.unit).value, side="right"))
    return min(max(n, 1), cap)


def _intraday_next_variance(result: Any, calendar: str, origin: Any, state: Mapping[str, Any]) -> float:
    from volresearch.simulate.results import session_step_times

    times = session_step_times(calendar, _utc(origin), 1, result.bar_seconds)
    m = result.variance_multiplier(times[1:], previous=times[0])
    return float(m[0] * state["q_next"])


def _intraday_record(result: Any) -> dict[str, Any]:
    q = result.q_fit
    return {
        "persistence": float(result.persistence),
        "loglik": float(q.loglik),
        "params": dict(q.params),
        "std_errors": dict(q.std_errors),
        "daily_method": str(result.daily.method),
    }


register_adapter(
    "intraday",
    WalkForwardAdapter(
        states=_intraday_states, steps=_session_steps, next_variance=_intraday_next_variance, record=_intraday_record
    ),
)


# ------------------------------------------------------------------ continuous-time adapters
def _log_returns(bars: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex]:
    close = bars["close"].to_numpy(dtype=np.float64)
    return np.diff(np.log(close)), pd.DatetimeIndex(bars.index[1:])


def _sv_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """Filtered variance at each origin: the SV particle filter from the fit's end-of-sample law of ``v``."""
    from volresearch.simulate.sv_filter import stationary_particles, sv_filter

    p = result.params
    diag = result.diagnostics
    v_end = float(p["v0"])
    v_sd = float(diag.get("v0_sd", math.nan))
    n = int(diag.get("filter_particles", SV_FILTER_PARTICLES))
    seed = int(diag.get("filter_seed", 0))
    v_at = pd.Series(dtype=np.float64)
    if len(bars) >= 2:
        r, stamps = _log_returns(bars)
        ok = np.isfinite(r)
        init = stationary_particles(p["kappa"], p["theta"], p["xi"], n, mean=v_end, sd=v_sd)
        f = sv_filter(result.simulation_params(), r[ok], result.dt, n_particles=n, seed=seed, v0=init)
        v_at = pd.Series(np.asarray(f.v_mean), index=stamps[ok])
    prices = bars["close"].reindex(times).to_numpy(dtype=np.float64)
    out = []
    for t, price in zip(times, prices, strict=True):
        known = v_at.loc[:t]
        v = float(known.iloc[-1]) if len(known) else v_end
        out.append({"v": v, "last_price": float(price), "end": t})
    return out


def _bar_steps(result: Any, calendar: str, origin: Any, target_end: Any, horizon: int) -> int:
    return int(horizon)


def _sv_next_variance(result: Any, calendar: str, origin: Any, state: Mapping[str, Any]) -> float:
    import dataclasses

    moved = dataclasses.replace(result, params={**result.params, "v0": float(state["v"])})
    return float(moved.filter_state()["next_variance"])


def _continuous_record(result: Any) -> dict[str, Any]:
    kappa = result.params.get("kappa")
    return {
        "persistence": math.exp(-kappa * result.dt) if kappa is not None else math.nan,
        "loglik": float(getattr(result, "diagnostics", {}).get("filter_loglik", getattr(result, "loglik", math.nan))),
        "params": dict(result.params),
        "std_errors": dict(result.std_errors),
    }


def _iid_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    prices = bars["close"].reindex(times).to_numpy(dtype=np.float64)
    return [{"last_price": float(p), "end": t} for p, t in zip(prices, times, strict=True)]


def _iid_next_variance(result: Any, calendar: str, origin: Any, state: Mapping[str, Any]) -> float:
    return float(result.filter_state()["next_variance"])


#: Particles of the SV filter that rolls Heston/SVCJ states forward (unless the fit recorded its own).
SV_FILTER_PARTICLES = 2000

register_adapter(
    "stochastic-volatility",
    WalkForwardAdapter(
        states=_sv_states, steps=_bar_steps, next_variance=_sv_next_variance, record=_continuous_record
    ),  # fmt: skip
)
register_adapter(
    "jump-diffusion",
    WalkForwardAdapter(
        states=_iid_states, steps=_bar_steps, next_variance=_iid_next_variance, record=_continuous_record
    ),  # fmt: skip
)


# ------------------------------------------------------------------ GARCH members and ensembles
def _rolled(filter_fn: Callable[[np.ndarray], Any], bars: pd.DataFrame, times: pd.DatetimeIndex) -> tuple[Any, list]:
    """``filter_fn`` of the finite returns after the fit (``len + 1`` states, the first the fit's own) and, per
    origin time, ``(row of its state, last price, time)``."""
    stamps = pd.DatetimeIndex([], tz="UTC")
    r = np.empty(0)
    if len(bars) >= 2:
        r, stamps = _log_returns(bars)
        ok = np.isfinite(r)
        r, stamps = r[ok], stamps[ok]
    out = filter_fn(r)
    j = np.searchsorted(stamps.asi8, pd.DatetimeIndex(times).as_unit(stamps.unit).asi8, side="right")
    prices = bars["close"].reindex(times).to_numpy(dtype=np.float64)
    return out, list(zip(j, prices, times, strict=True))


def _garch_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """``next_variance`` at each origin: the fitted recursion run over the returns after the fit (parameters fixed);
    NaN where it ran away (:func:`~volresearch.validate.walkforward_run.runaway_variance`)."""
    from volresearch.validate.walkforward_run import runaway_variance

    def forward(r: np.ndarray) -> np.ndarray:
        if r.size == 0:
            return np.array([result.next_variance])
        nv = result.filter(r)
        return np.where(runaway_variance(result, nv), np.nan, nv)  # the ensemble leaves a runaway member out there

    nv, rows = _rolled(forward, bars, times)
    return [{"next_variance": float(nv[i]), "last_price": float(p), "end": t} for i, p, t in rows]


def _garch_record(result: Any) -> dict[str, Any]:
    return {"persistence": float(result.persistence), "loglik": float(result.loglik), "params": dict(result.params),
            "std_errors": dict(result.std_errors)}  # fmt: skip


def _state_next_variance(result: Any, calendar: str, origin: Any, state: Mapping[str, Any]) -> float:
    return float(state["next_variance"])


# GARCH-family results on their own take the vectorised spec route; this adapter rolls them inside ensembles.
register_adapter("garch", WalkForwardAdapter(_garch_states, _bar_steps, _state_next_variance, _garch_record))


def _ewma_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """``next_variance`` at each origin: the EWMA recursion continued over the returns after the fit."""
    nv, rows = _rolled(result.filter, bars, times)
    return [{"next_variance": float(nv[i]), "last_price": float(p), "end": t} for i, p, t in rows]


def _ewma_record(result: Any) -> dict[str, Any]:
    return {"persistence": 1.0, "loglik": float(result.loglik), "params": dict(result.params),
            "std_errors": dict(result.std_errors)}  # fmt: skip


def _historical_record(result: Any) -> dict[str, Any]:
    return {"persistence": math.nan, "loglik": math.nan, "params": dict(result.params),
            "std_errors": dict(result.std_errors)}  # fmt: skip


def _har_range_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """The log range variance history at each origin (the fit's and the days after it) and the next variance."""
    from volresearch.models.har_range import log_range_variance

    hist = np.asarray(result.history, dtype=float)
    new = pd.Series(dtype=float)
    if len(bars) >= 2:
        new = log_range_variance(bars.iloc[1:], floor=result.meta.get("range_floor"))[0]
    y = np.concatenate([hist, new.to_numpy()])
    j = np.searchsorted(pd.DatetimeIndex(new.index).asi8, pd.DatetimeIndex(times).asi8, side="right")
    prices = bars["close"].reindex(times).to_numpy(dtype=np.float64)
    out = []
    for k, p, t in zip(j, prices, times, strict=True):
        past = y[: hist.size + k][-hist.size :]
        m = result.next_mean(past)
        out.append({"y_history": past.tolist(), "next_variance": result.c * math.exp(m + 0.5 * result.har.sigma2),
                    "last_price": float(p), "end": t})  # fmt: skip
    return out


def _har_range_record(result: Any) -> dict[str, Any]:
    c, a = result.har.recursion()
    return {"persistence": float(a.sum()), "loglik": float(result.loglik), "params": dict(result.params),
            "std_errors": dict(result.std_errors)}  # fmt: skip


def _arma_garch_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """The ARMA and GARCH recursions continued over the returns after the fit (parameters fixed)."""
    states, rows = _rolled(result.filter, bars, times)
    return [{**states[i], "last_price": float(p), "end": t} for i, p, t in rows]


def _arma_garch_record(result: Any) -> dict[str, Any]:
    return {"persistence": float(result.garch.persistence), "loglik": float(result.loglik),
            "params": dict(result.params), "std_errors": dict(result.std_errors)}  # fmt: skip


register_adapter(
    "arma-garch", WalkForwardAdapter(_arma_garch_states, _bar_steps, _state_next_variance, _arma_garch_record)
)
register_adapter("har", WalkForwardAdapter(_har_range_states, _bar_steps, _state_next_variance, _har_range_record))
register_adapter("ewma", WalkForwardAdapter(_ewma_states, _bar_steps, _state_next_variance, _ewma_record))
register_adapter("historical", WalkForwardAdapter(_iid_states, _bar_steps, _iid_next_variance, _historical_record))


def _member_adapters(result: Any) -> list[WalkForwardAdapter]:
    from volresearch.registry import get_model

    return [get_adapter(get_model(name).family, name) for name in result.names]


def _ensemble_states(result: Any, bars: pd.DataFrame, calendar: str, times: pd.DatetimeIndex) -> list[dict]:
    """Each member's states at the origins, pooled into the ensemble's (the pool's next-bar variance).

    Adaptive ensembles weight each origin by the gate on the features of the returns up to it (the fit's last
    :data:`~volresearch.ensembles.features.FEATURE_MEMORY` returns and those after the fit); the gate itself is
    refitted only with the members.
    A member whose variance ran away at an origin (not finite, or beyond
    :data:`~volresearch.validate.walkforward_run.RUNAWAY_FACTOR` times its in-sample range) is left out there and
    the weights are renormalised over the others (the forecast is labelled ``model-partial``); a forecast whose
    adaptive weights fell back to equal weights (the circuit breaker) is labelled ``model-breaker``.
    """
    adapters = _member_adapters(result)
    per_member = [a.states(m, bars, calendar, times) for a, m in zip(adapters, result.members, strict=True)]
    z_at = [None] * len(times)
    if result.gate is not None:  # adaptive weights: the features of the returns up to each origin
        r, stamps = _log_returns(bars) if len(bars) >= 2 else (np.empty(0), pd.DatetimeIndex([], tz="UTC"))
        ok = np.isfinite(r)
        z = result.features_after(r[ok])
        stamps = stamps[ok]
        j = np.searchsorted(stamps.asi8, pd.DatetimeIndex(times).as_unit(stamps.unit).asi8, side="right")
        z_at = [z[i] for i in j]
    out = []
    for i in range(len(times)):
        states, active = [], []
        for a, m, sts in zip(adapters, result.members, per_member, strict=True):
            st = dict(sts[i])
            nv = a.next_variance(m, calendar, times[i], st)
            ok = math.isfinite(nv) and nv > 0
            st["next_variance"] = nv if ok else math.nan
            states.append(st)
            active.append(ok)
        out.append(result.pooled_state(states, active, z=z_at[i], warn=False))
    fired = sum(bool(st["breaker"]) for st in out)
    if fired:
        import logging

        logging.getLogger("volresearch.ensembles.stacking").warning(
            "ensemble circuit breaker: %d of %d origins had features out of range; equal weights used there",
            fired, len(out),
        )  # fmt: skip
    return out


def _ensemble_record(result: Any) -> dict[str, Any]:
    return {"persistence": math.nan, "loglik": float(result.in_sample.get("pool_log_score", math.nan)),
            "params": dict(result.params), "std_errors": {}}  # fmt: skip


register_adapter("ensemble", WalkForwardAdapter(_ensemble_states, _bar_steps, _state_next_variance, _ensemble_record))


# ------------------------------------------------------------------ the window
def _fit(task: Any, fit_id: int, lo: int, hi: int, refit: bool) -> tuple[Any, dict[str, Any]]:
    """Fit the registry model on the bars of returns ``[lo, hi)``; never raises the model errors."""
    from volresearch.registry import fit_model

    rec: dict[str, Any] = {
        "window": task.window,
        "fit_id": fit_id,
        "refit": refit,
        "sample_start": lo,
        "sample_end": hi,
        "n_obs": int(hi - lo),
    }
    bars = task.bars.iloc[lo - task.offset : hi + 1 - task.offset]
    try:
        result = fit_model(task.model_name, bars, calendar=task.calendar, **dict(task.fit_options))
        info = get_adapter(task.family).record(result)
    except _MODEL_ERRORS as exc:
        rec.update(ok=False, method="ewma", reason=str(getattr(exc, "reason", "") or exc), message=str(exc),
                   loglik=math.nan)  # fmt: skip
        return None, rec
    rec.update(ok=True, method="model", reason="", message="", **info)
    return result, rec


def _forecast_segment(
    task: Any, result: Any, fit_point: int, origins: np.ndarray, y: np.ndarray, segment: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Ensembles of the target at each origin from ``result`` (fitted up to return ``fit_point``)."""
    from volresearch.registry import simulate_model
    from volresearch.validate.walkforward_run import _int_seed, _seed

    adapter = get_adapter(task.family)
    off = task.offset
    index = task.bars.index
    span = task.bars.iloc[fit_point + 1 - off : int(origins[-1]) + 2 - off]
    times = index[origins + 1 - off]
    states = adapter.states(result, span, task.calendar, times)
    ends = index[origins + 1 + task.horizon - off]
    draws, s2 = [], np.empty(origins.size)
    labels = np.array(["model-breaker" if st.get("breaker") else "model-partial" if st.get("left_out") else "model"
                       for st in states], dtype=object)  # fmt: skip
    for i, (st, t, end) in enumerate(zip(states, times, ends, strict=True)):
        n_steps = adapter.steps(result, task.calendar, t, end, task.horizon)
        paths = simulate_model(
            result, task.n_paths, n_steps, _int_seed(_seed(task.seed, task.window, _PURPOSE_MODEL, segment, i)),
            mode="matrix", state=st,
        )  # fmt: skip
        lp = np.asarray(paths.log_prices, dtype=np.float64)
        draws.append((lp[n_steps] - math.log(st["last_price"]))[None, :])
        s2[i] = adapter.next_variance(result, task.calendar, t, st)
    return np.maximum(s2, VOLATILITY_FLOOR**2), labels, draws


def run_registry_window(task: Any) -> Any:
    """Fit, forecast and score one window of a registry model (a pure function of the task)."""
    from volresearch.validate.walkforward_run import (
        _PURPOSE_PIT,
        _forecast_columns,
        _gaussian_draws,
        _score_draws,
        _Scores,
        _targets,
        _WindowOutput,
    )

    r = task.returns
    off = task.offset
    h, levels = task.horizon, task.levels
    fits: list[dict[str, Any]] = []
    result, rec = _fit(task, 0, task.a, task.b, refit=False)
    fits.append(rec)
    fit_point = task.b - 1
    n_is_len = task.b - task.a
    points = np.concatenate([[task.b - 1], task.refits]).astype(np.int64)
    seg_of = np.searchsorted(points, task.origins, side="right") - 1
    y_all = _targets(r, off, task.origins, h)

    model_parts: list[_Scores] = []
    base_parts: list[_Scores] = []
    sigma2_parts, fvar_parts, method_parts, fitid_parts = [], [], [], []
    ewma_cache: np.ndarray | None = None
    current_id = 0
    for s, point in enumerate(points):
        if s > 0:
            lo = task.a if task.expanding else max(0, int(point) + 1 - n_is_len)
            new, rec = _fit(task, s, lo, int(point) + 1, refit=True)
            fits.append(rec)
            if new is not None:
                result, fit_point, current_id = new, int(point), s
        sel = seg_of == s
        if not sel.any():
            continue
        o = task.origins[sel]
        y = y_all[sel]
        method = "ewma"
        labels = None
        if result is not None:
            try:
                s2, labels, draws = _forecast_segment(task, result, fit_point, o, y, s)
                method = "model"
            except _MODEL_ERRORS as exc:  # the state could not be rolled forward: the fallback answers
                fits[-1] = {**fits[-1], "forecast_error": str(exc)}
        if method == "ewma":
            if ewma_cache is None:
                ewma_cache = ewma_variance(r[task.a - off : int(task.origins[-1]) + 1 - off])
            s2 = np.maximum(ewma_cache[o - task.a], VOLATILITY_FLOOR**2)
            draws = _gaussian_draws(np.sqrt(h * s2), task, _PURPOSE_MODEL, s)
        p0 = None if task.origin_prices is None else task.origin_prices[sel]
        key = (task.seed, task.window, _PURPOSE_PIT, s)
        sc = _score_draws(draws, y, levels, p0, task.tick, (*key, _PURPOSE_MODEL))
        fvar = sc.var if method == "model" else h * s2
        model_parts.append(sc)
        base_draws = _gaussian_draws(math.sqrt(h) * task.base_sigma[sel], task, _PURPOSE_BASE, s)
        base_parts.append(_score_draws(base_draws, y, levels, p0, task.tick, (*key, _PURPOSE_BASE)))
        sigma2_parts.append(s2)
        fvar_parts.append(np.maximum(fvar, VOLATILITY_FLOOR**2))
        method_parts.append(labels if method == "model" else np.full(o.size, method, dtype=object))
        fitid_parts.append(np.full(o.size, current_id if method == "model" else -1, dtype=np.int64))

    cols = _forecast_columns(task, y_all, model_parts, base_parts, sigma2_parts, fvar_parts, method_parts, fitid_parts)
    return _WindowOutput(task.key, task.window, cols, fits, math.nan, int(task.b - task.a), math.nan, 0)
