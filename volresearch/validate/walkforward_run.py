"""Walk-forward execution: one self-contained task per window, run serially or as Dask tasks.

Each task fits, forecasts and scores one window; see
:mod:`volresearch.validate.walkforward` for seeds, refits and fallbacks.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, FitError, SimulationError
from volresearch.models import VOLATILITY_FLOOR, Fit, ModelSpec, fit_garch
from volresearch.models.distributions import get_distribution
from volresearch.models.robust import ewma_variance
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.paths import simulate_paths
from volresearch.validate.coverage import ensemble_quantiles
from volresearch.validate.scores import crps_ensemble, log_score_ensemble, qlike
from volresearch.validate.uniformity import pit, pit_on_grid
from volresearch.validate.walkforward_plan import CHUNK_VALUES, level_name

_PURPOSE_MODEL, _PURPOSE_BASE, _PURPOSE_PIT = 0, 1, 3


# ================================================================== tasks
@dataclass(frozen=True)
class _WindowTask:
    """Everything one window needs; a picklable, self-contained unit of work."""

    key: int
    window: int
    spec: ModelSpec
    returns: np.ndarray  # r[offset : stop]
    offset: int
    a: int
    b: int
    c: int
    origins: np.ndarray
    base_sigma: np.ndarray
    refits: np.ndarray
    expanding: bool
    horizon: int
    n_paths: int
    levels: tuple[float, ...]
    seed: int
    periods_per_year: float
    model_name: str | None = None  # registry name of a model fitted through the registry (None: GARCH-family spec)
    family: str | None = None
    bars: pd.DataFrame | None = None  # bars[offset : stop + 1]: bar j closes return j - 1
    calendar: str | None = None
    fit_options: Mapping[str, Any] = field(default_factory=dict)
    origin_prices: np.ndarray | None = None  # price closing return ``origins[i]`` (set with ``tick``)
    tick: float | None = None  # price grid: PIT values are randomised on it


@dataclass(frozen=True)
class _WindowOutput:
    key: int
    window: int
    columns: dict[str, np.ndarray]
    fits: list[dict[str, Any]]
    is_gain: float  # summed log-score gain over the reference, in sample (nats)
    n_is: int
    oos_gain: float  # the same out of sample
    n_oos: int


def _seed(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key))


def _int_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def _chunk_size(n_paths: int, horizon: int) -> int:
    return max(1, CHUNK_VALUES // (n_paths * (horizon + 1)))


@dataclass
class _Scores:
    pit: np.ndarray
    crps: np.ndarray
    log_score: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    var: np.ndarray


def _score(
    ens: np.ndarray,
    y: np.ndarray,
    levels: tuple[float, ...],
    grid: tuple[np.ndarray, float, np.random.SeedSequence] | None = None,
) -> _Scores:
    """Scores of ensembles of log returns; ``grid = (origin prices, tick, seed)`` randomises the PIT on the grid."""
    probs = np.array([(1.0 - v) / 2.0 for v in levels] + [(1.0 + v) / 2.0 for v in levels])
    q = ensemble_quantiles(ens, probs)
    k = len(levels)
    u = pit(ens, y) if grid is None else pit_on_grid(ens, y, grid[0], grid[1], seed=np.random.default_rng(grid[2]))
    return _Scores(
        pit=u,
        crps=crps_ensemble(ens, y),
        log_score=log_score_ensemble(ens, y),
        lo=q[:, :k],
        hi=q[:, k:],
        mean=ens.mean(axis=1),
        std=ens.std(axis=1),
        var=ens.var(axis=1),
    )


def _score_draws(
    draws: list[np.ndarray],
    y: np.ndarray,
    levels: tuple[float, ...],
    prices: np.ndarray | None = None,
    tick: float | None = None,
    seed: Sequence[int] = (),
) -> _Scores:
    """Scores of chunked ensembles against ``y``; with ``prices`` and ``tick`` the PIT is randomised on the grid."""
    parts = []
    for c, (i, e) in enumerate(_offsets(draws)):
        grid = None
        if prices is not None and tick is not None:
            grid = (prices[i : i + e.shape[0]], tick, np.random.SeedSequence([*map(int, seed), c]))
        parts.append(_score(e, y[i : i + e.shape[0]], levels, grid))
    return _concat(parts, len(levels))


def _concat(parts: list[_Scores], k: int) -> _Scores:
    if not parts:
        e = np.empty(0)
        return _Scores(e, e, e, np.empty((0, k)), np.empty((0, k)), e, e, e)
    return _Scores(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Scores.__dataclass_fields__))


def _model_draws(
    fit: Fit, table: Any, sigma2: np.ndarray, task: _WindowTask, purpose: int, segment: int
) -> list[np.ndarray]:
    """Ensembles ``(m, n_paths)`` of h-bar cumulative log returns, one engine call per chunk."""
    n, h = task.n_paths, task.horizon
    size = _chunk_size(n, h)
    out = []
    for c, lo in enumerate(range(0, sigma2.size, size)):
        s2 = sigma2[lo : lo + size]
        paths = simulate_paths(
            fit.spec.model,
            {"mu": 0.0, **fit.params},  # a zero-mean fit carries no mu
            ppf_table=table,
            n_paths=s2.size * n,
            horizon=h,
            x0=0.0,
            sigma2_1=np.repeat(s2, n),
            seed=_int_seed(_seed(task.seed, task.window, purpose, segment, c)),
        )
        out.append(np.asarray(paths.log_prices[h], dtype=np.float64).reshape(s2.size, n))
    return out


def _gaussian_draws(std: np.ndarray, task: _WindowTask, purpose: int, segment: int) -> list[np.ndarray]:
    """Driftless Gaussian ensembles ``std * Z`` chunked like :func:`_model_draws`."""
    n = task.n_paths
    size = _chunk_size(n, task.horizon)
    out = []
    for c, lo in enumerate(range(0, std.size, size)):
        s = std[lo : lo + size]
        rng = np.random.default_rng(_seed(task.seed, task.window, purpose, segment, c))
        out.append(s[:, None] * rng.standard_normal((s.size, n)))
    return out


def _cumulative_variance(fit: Fit, table: Any, sigma2: np.ndarray, h: int) -> np.ndarray:
    r"""Analytic variance of the h-bar return, :math:`\sum_{k=1}^h E[\sigma^2_k]` (GARCH/GJR)."""
    p = fit.params
    pers = p["alpha"] + p.get("gamma", 0.0) * table.neg_second_moment + p["beta"]
    v = sigma2.astype(np.float64).copy()
    total = np.zeros_like(v)
    for _ in range(h):
        total += v
        v = p["omega"] + pers * v
    return total


def _fit_record(task: _WindowTask, fit_id: int, lo: int, hi: int, refit: bool) -> tuple[Fit | None, Any, dict]:
    """Fit on returns ``[lo, hi)`` (global positions); never raises FitError."""
    r = task.returns[lo - task.offset : hi - task.offset]
    rec: dict[str, Any] = {
        "window": task.window,
        "fit_id": fit_id,
        "refit": refit,
        "sample_start": lo,
        "sample_end": hi,
        "n_obs": int(r.size),
    }
    try:
        fit = fit_garch(r, task.spec, returns=True, periods_per_year=task.periods_per_year)
        table = innovation_table(fit.spec.dist, fit.params)
        if fit.spec.model != "egarch":
            # the engine refuses parameters that could give a negative variance
            if fit.params["alpha"] + fit.params.get("gamma", 0.0) < 0 or fit.params["omega"] <= 0:
                raise SimulationError("fitted parameters allow a negative variance")
    except (FitError, SimulationError) as exc:
        rec.update(ok=False, method="ewma", reason=str(getattr(exc, "reason", exc)), message=str(exc), loglik=math.nan)
        return None, None, rec
    rec.update(
        ok=True,
        method="garch",
        reason="",
        message="",
        loglik=float(fit.loglik),
        persistence=float(fit.persistence),
        params=dict(fit.params),
        std_errors=dict(fit.std_errors),
    )
    return fit, table, rec


def _log_density(fit: Fit, returns: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """Log predictive density of each return under the fit's innovation law (nats)."""
    info = get_distribution(fit.spec.dist)
    shape = np.array([fit.params[k] for k in info.parameter_names], dtype=float)
    resid = returns - fit.params.get("mu", 0.0)
    ll = info.factory().loglikelihood(shape if shape.size else None, resid, sigma2, individual=True)
    return np.asarray(ll, dtype=float)


def _gaussian_log_density(returns: np.ndarray, mean: float, var: float) -> np.ndarray:
    return -0.5 * (np.log(2.0 * np.pi * var) + (returns - mean) ** 2 / var)


def _run_window(task: _WindowTask) -> _WindowOutput:
    """Fit, forecast and score one window (a pure function of the task)."""
    if task.model_name is not None:
        from volresearch.validate.walkforward_registry import run_registry_window

        return run_registry_window(task)
    r = task.returns
    off = task.offset
    h, levels = task.horizon, task.levels
    fits: list[dict[str, Any]] = []
    fit, table, rec = _fit_record(task, 0, task.a, task.b, refit=False)
    fits.append(rec)
    first_fit = fit
    fit_point = task.b - 1  # last return of the current fit's sample
    n_is_len = task.b - task.a
    points = np.concatenate([[task.b - 1], task.refits]).astype(np.int64)
    seg_of = np.searchsorted(points, task.origins, side="right") - 1
    bars = np.arange(task.b, task.c, dtype=np.int64)  # out-of-sample returns scored by the log score
    seg_of_bar = np.searchsorted(points, bars - 1, side="right") - 1
    y_all = _targets(r, off, task.origins, h)

    # unconditional Gaussian of the in-sample returns: the reference of the log score
    r_is = r[task.a - off : task.b - off]
    ref_mean, ref_var = float(r_is.mean()), max(float(r_is.var()), VOLATILITY_FLOOR**2)

    model_parts: list[_Scores] = []
    base_parts: list[_Scores] = []
    sigma2_parts, fvar_parts, method_parts, fitid_parts = [], [], [], []
    oos_gain = 0.0
    n_oos_scored = 0
    ewma_cache: np.ndarray | None = None
    current_id = 0
    for s, point in enumerate(points):
        if s > 0:
            lo = task.a if task.expanding else max(0, int(point) + 1 - n_is_len)
            new, new_table, rec = _fit_record(task, s, lo, int(point) + 1, refit=True)
            fits.append(rec)
            if new is not None:
                fit, table, fit_point, current_id = new, new_table, int(point), s
        sel = seg_of == s
        seg_bars = bars[seg_of_bar == s]
        usable = fit is not None
        if fit is not None and (sel.any() or seg_bars.size):
            last = max(int(task.origins[sel][-1]) + 1 if sel.any() else 0, int(seg_bars[-1]) if seg_bars.size else 0)
            # v[i]: variance of r[fit_point + 1 + i] given the returns before it
            v = fit.filter(r[fit_point + 1 - off : last - off])
            # a recursion that runs away out of sample (an EGARCH whose log variance falls without bound after
            # shocks far larger than its sigma, then overflows) cannot forecast: the EWMA answers there
            usable = not bool(np.any(runaway_variance(fit, v)))
            if usable and first_fit is not None and seg_bars.size:
                rb = r[seg_bars - off]
                gain = _log_density(fit, rb, v[seg_bars - fit_point - 1]) - _gaussian_log_density(rb, ref_mean, ref_var)
                oos_gain += float(gain.sum())
                n_oos_scored += int(seg_bars.size)
        if not sel.any():
            continue
        o = task.origins[sel]
        y = y_all[sel]
        if usable:
            s2 = np.maximum(v[o - fit_point], VOLATILITY_FLOOR**2)
            draws = _model_draws(fit, table, s2, task, _PURPOSE_MODEL, s)
            method = "garch"
        else:
            if ewma_cache is None:
                # element i: EWMA variance of r[a + i + 1] from r[a .. a + i] (the cascade's EWMA)
                ewma_cache = ewma_variance(r[task.a - off : int(task.origins[-1]) + 1 - off])
            s2 = np.maximum(ewma_cache[o - task.a], VOLATILITY_FLOOR**2)
            draws = _gaussian_draws(np.sqrt(h * s2), task, _PURPOSE_MODEL, s)
            method = "ewma"
        p0 = None if task.origin_prices is None else task.origin_prices[sel]
        key = (task.seed, task.window, _PURPOSE_PIT, s)
        sc = _score_draws(draws, y, levels, p0, task.tick, (*key, _PURPOSE_MODEL))
        if usable and fit.spec.model != "egarch":
            fvar = _cumulative_variance(fit, table, s2, h)
        elif usable:
            fvar = sc.var
        else:
            fvar = h * s2
        model_parts.append(sc)
        base_draws = _gaussian_draws(math.sqrt(h) * task.base_sigma[sel], task, _PURPOSE_BASE, s)
        base_parts.append(_score_draws(base_draws, y, levels, p0, task.tick, (*key, _PURPOSE_BASE)))
        sigma2_parts.append(s2)
        fvar_parts.append(np.maximum(fvar, VOLATILITY_FLOOR**2))
        method_parts.append(np.full(o.size, method, dtype=object))
        fitid_parts.append(np.full(o.size, current_id if usable else -1, dtype=np.int64))

    cols = _forecast_columns(task, y_all, model_parts, base_parts, sigma2_parts, fvar_parts, method_parts, fitid_parts)
    is_gain = math.nan
    if first_fit is not None:
        cv = np.asarray(first_fit.conditional_volatility)
        is_gain = float((_log_density(first_fit, r_is, cv**2) - _gaussian_log_density(r_is, ref_mean, ref_var)).sum())
    else:
        n_oos_scored = 0
    return _WindowOutput(
        task.key,
        task.window,
        cols,
        fits,
        is_gain,
        int(r_is.size),
        oos_gain if n_oos_scored else math.nan,
        n_oos_scored,
    )


def _forecast_columns(
    task: _WindowTask,
    y_all: np.ndarray,
    model_parts: list[_Scores],
    base_parts: list[_Scores],
    sigma2_parts: list[np.ndarray],
    fvar_parts: list[np.ndarray],
    method_parts: list[np.ndarray],
    fitid_parts: list[np.ndarray],
) -> dict[str, np.ndarray]:
    """The per-forecast columns of one window from its segments' scores (shared by every model route)."""
    h, levels = task.horizon, task.levels
    k = len(levels)
    m = _concat(model_parts, k)
    bsc = _concat(base_parts, k)
    fvar = np.concatenate(fvar_parts)
    bvar = h * task.base_sigma**2
    rv = y_all**2
    cols: dict[str, np.ndarray] = {
        "origin_pos": task.origins,
        "window": np.full(task.origins.size, task.window, dtype=np.int64),
        "fit_id": np.concatenate(fitid_parts),
        "method": np.concatenate(method_parts),
        "target": y_all,
        "sigma2_next": np.concatenate(sigma2_parts),
        "forecast_var": fvar,
        "mean": m.mean,
        "std": m.std,
        "pit": m.pit,
        "crps": m.crps,
        "log_score": m.log_score,
        "base_std": math.sqrt(h) * task.base_sigma,
        "base_pit": bsc.pit,
        "base_crps": bsc.crps,
        "base_log_score": bsc.log_score,
        "realised_var": rv,
        "qlike": qlike(fvar, rv, normalized=False),
        "base_qlike": qlike(bvar, rv, normalized=False),
        "mse": (rv - fvar) ** 2,
        "base_mse": (rv - bvar) ** 2,
    }
    for j, lv in enumerate(levels):
        name = level_name(lv)
        cols[f"lo_{name}"] = m.lo[:, j]
        cols[f"hi_{name}"] = m.hi[:, j]
        cols[f"hit_{name}"] = ((y_all < m.lo[:, j]) | (y_all > m.hi[:, j])).astype(np.int8)
        cols[f"base_hit_{name}"] = ((y_all < bsc.lo[:, j]) | (y_all > bsc.hi[:, j])).astype(np.int8)
    return cols


#: Factor beyond the in-sample range of a fit's conditional variance (either way) at which a variance filtered
#: out of sample counts as a runaway recursion rather than a forecast.
RUNAWAY_FACTOR = 100.0


def runaway_variance(fit: Any, v: np.ndarray) -> np.ndarray:
    """True where the filtered variances ``v`` of a GARCH-family ``fit`` are not finite or lie outside
    ``[min / RUNAWAY_FACTOR, max * RUNAWAY_FACTOR]`` of its in-sample conditional variance."""
    v = np.asarray(v, dtype=float)
    cv = np.asarray(fit.conditional_volatility, dtype=float) ** 2
    cv = cv[np.isfinite(cv)]
    if cv.size == 0:
        return ~np.isfinite(v)
    lo, hi = float(cv.min()) / RUNAWAY_FACTOR, float(cv.max()) * RUNAWAY_FACTOR
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(v) | (v < lo) | (v > hi)


def _offsets(draws: list[np.ndarray]) -> list[tuple[int, np.ndarray]]:
    out, i = [], 0
    for e in draws:
        out.append((i, e))
        i += e.shape[0]
    return out


def _targets(r: np.ndarray, off: int, origins: np.ndarray, h: int) -> np.ndarray:
    csum = np.concatenate([[0.0], np.cumsum(r)])
    rel = origins - off
    return csum[rel + 1 + h] - csum[rel + 1]


# ============================================================== execution
def _blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    """Pin BLAS to one thread while a window runs (no-op when already so or without threadpoolctl).

    The optimiser behind the fits calls BLAS, whose results depend in the
    last bits on its thread count; Dask worker processes run BLAS on one
    thread, so every route runs it on one thread to give identical numbers.
    """
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the scientific stack
        return contextlib.nullcontext()
    if all(d.get("num_threads") == 1 for d in threadpool_info() if d.get("user_api") == "blas"):
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _window_task(task: _WindowTask) -> _WindowOutput:
    """Dask task entry point: :func:`_run_window` with BLAS and the numba kernels on one thread.

    Parallelism comes from running windows side by side; threaded kernels
    inside each task would oversubscribe the cores (OpenMP threads spin while
    they wait).  The kernels' results do not depend on their thread count.
    """
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # thread-local: other tasks and the caller keep theirs
    try:
        with _blas_single_thread():
            return _run_window(task)
    finally:
        numba.set_num_threads(previous)


def _execute(
    tasks: Sequence[_WindowTask], client: Any = None, scheduler: Any = None, *, quiet: bool | None = None
) -> list[_WindowOutput]:
    """Run window tasks serially or as independent Dask tasks (same results either way).

    A progress bar on stderr (:func:`volresearch.progress.progress`) counts the
    windows as they complete (each finished Dask task under a scheduler);
    ``quiet=True`` turns it off.
    """
    from volresearch.progress import progress

    if client is not None and scheduler is not None and scheduler is not client:
        raise ConfigError("give either client= or scheduler=, not both")
    sched = client if client is not None else scheduler
    if sched is None:
        with _blas_single_thread():
            return [_run_window(t) for t in progress(tasks, desc="walk-forward windows", unit="window", quiet=quiet)]
    if isinstance(sched, str) and sched not in ("threads", "processes", "synchronous", "sync", "single-threaded"):
        raise ConfigError(f"unknown scheduler {sched!r}; use 'threads', 'processes', 'synchronous' or a Client")
    import dask

    delayed = [dask.delayed(_window_task, pure=True, traverse=False)(t) for t in tasks]
    with progress(total=len(delayed), desc="walk-forward windows", unit="window", quiet=quiet) as bar:
        if hasattr(sched, "compute") and hasattr(sched, "gather"):  # a distributed Client
            from distributed import as_completed

            futures = sched.compute(delayed)
            for _ in as_completed(futures):
                bar.update()
            return list(sched.gather(futures))
        from dask.callbacks import Callback

        keys = {d.key for d in delayed}

        class _Count(Callback):  # type: ignore[misc]
            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
                if key in keys:
                    bar.update()

        with _Count():
            if isinstance(sched, str) and sched != "processes":
                # in-process schedulers share one BLAS: pin it once here, not per task
                with _blas_single_thread():
                    return list(dask.compute(*delayed, scheduler=sched))
            return list(dask.compute(*delayed, scheduler=sched))
