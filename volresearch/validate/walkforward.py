r"""Walk-forward evaluation of ensemble forecasts: out-of-sample proof of calibration.

A model is fitted on an in-sample window, then forecasts every ``step`` bars
through the following out-of-sample period the ``horizon``-bar cumulative log
return with an ensemble of simulated paths; the windows roll forward by the
out-of-sample length and the forecasts of all windows are pooled and scored
(PIT, interval coverage with Kupiec/Christoffersen, CRPS, QLIKE) against a
naive random walk scored in exactly the same way on the same targets.

Layout (positions ``p`` index the log returns, ``r_p = ln(close_{p+1} /
close_p)``, stamped with the time of bar ``p + 1`` and known at its close)::

    window k:  [ in-sample: r[a_k] .. r[b_k - 1] ][ out-of-sample: r[b_k] .. r[c_k - 1] ]
    origins:   t = b_k - 1, b_k - 1 + step, ...  (t - b_k + 1 < c_k - b_k and t + h <= n - 1)
    target:    y_t = r[t+1] + ... + r[t+h]       (the realised h-bar log return)
    forecast:  fit on r[a_k .. b_k - 1], variance filtered forward through r[b_k .. t]

* **Bar counts** (``in_sample=1000, out_of_sample=21``): ``b_k = n_is + k
  n_oos``, ``c_k = b_k + n_oos``, ``a_k = b_k - n_is`` (rolling) or ``0``
  (``expanding=True``).
* **Calendar spans** (pandas offsets or strings such as ``"3M"``, ``"1M"``,
  ``"2W"``, ``"10D"``, ``"6h"``): with ``T_0`` the time of the first return,
  the out-of-sample periods are ``[T_0 + IS + k OOS, T_0 + IS + (k+1) OOS)``
  and the in-sample period of window ``k`` is the ``IS`` span before it; they
  tile the data without overlap even where month arithmetic is irregular.
* **Defaults**: 3 months in, 1 month out, rolling by the out-of-sample
  length.  Where 3 months hold fewer than ``MIN_DEFAULT_IN_SAMPLE`` (500)
  returns on average -- daily bars, about 63 -- the default in-sample window
  is 500 returns instead: a GARCH fit on a quarter of daily data is mostly
  noise and often fails its checks.  When the data span less than a year (or
  carry no time index) the defaults become bar counts: a quarter of the
  returns in-sample, and the rest split into nine out-of-sample windows (a
  twelfth of the returns each, the 3:1 ratio kept), so three weeks of
  1-minute bars give nine windows out of the box.

Windows with fewer than two in-sample returns or without any origin are
skipped; origins at which the baseline volatility is undefined (its warm-up)
are skipped for model and baseline alike.  With ``step < horizon`` the
targets overlap, so interval violations are serially dependent by
construction: read the Christoffersen independence test on ``step >=
horizon``.

**No look-ahead.**  The forecast at origin ``t`` depends on ``r[..t]`` only:
the window's fit uses returns before the out-of-sample period, the variance
of ``r[t+1]`` comes from :meth:`~volresearch.models.Fit.filter` (a causal
recursion with the parameters held fixed), refits inside the period use
returns up to the refit point, and the baseline volatility at ``t`` uses
``r[..t]``.

**Refits** (``refit_every=R`` bars): the model is re-estimated at ``t = b_k -
1 + m R`` (``m >= 1``) inside the out-of-sample period on the returns up to
``t`` -- the last ``b_k - a_k`` of them (rolling: the window's in-sample
length, moved forward) or all of them from ``a_k`` (``expanding=True``:
anchored at the first return).  Origins after a refit point use the newest
fit, filtered forward from its own sample end.  A refit that fails keeps the
previous fit.

**Failures.**  When the window's fit raises :class:`~volresearch.errors.FitError`
the failure is recorded (``fits`` table, ``method="ewma"`` in the windows
and forecasts) and the volatility cascade's EWMA variance
(:func:`volresearch.models.robust.ewma_variance`, ``lambda = 0.94``, started in
the window's in-sample) answers with Gaussian ensembles until a refit succeeds.

**Ensembles.**  GARCH-family paths from :func:`volresearch.simulate.paths.simulate_paths`
with the fitted innovation law, ``x_0 = 0`` and ``sigma^2_1`` the filtered
variance of ``r[t+1]``; the ensemble is each path's ``h``-bar cumulative log
return.  The baseline (:mod:`volresearch.validate.baselines`: driftless
Gaussian random walk, EWMA or historical volatility from ``r[..t]``) is
sampled with the same number of members and scored by the same functions
(mid-rank PIT, Weibull-plotting-position intervals, sorted-form CRPS), so both
carry the same finite-ensemble effects.

**Seeds.**  Every draw comes from ``numpy.random.SeedSequence(seed,
spawn_key=(window, purpose, segment, chunk))`` (purpose 0: the model's
ensembles, 1: the baseline's; segment: the refit period; chunk: block of
consecutive origins simulated in one engine call, a size fixed by
``n_paths`` and ``horizon``).  Windows are therefore independent tasks with
fixed seeds: serial, threaded, multi-process and ``dask.distributed`` runs
give identical numbers (BLAS runs on one thread inside every window, since
the optimiser's results depend in the last bits on its thread count), and
models compared on the same data share random numbers (common random
numbers).

**Score and efficiency.**  The score of a window is the mean log predictive
score gain per bar of the fitted model over the unconditional Gaussian of
the window's in-sample returns (sample mean and variance), in nats per bar:

.. math::

   S = \frac1n\sum_t \left[\ln p_{model}(r_t \mid r_{<t})
       - \ln\varphi(r_t; \bar r_{IS}, s^2_{IS})\right].

In sample, :math:`p_{model}` uses the fit's conditional variances on its own
sample (the quantity the estimator maximised, less the reference); out of
sample, the one-step predictive densities of every out-of-sample return with
the variance filtered forward (refits included).  Efficiency is
:math:`S_{OOS} / S_{IS}`: the share of the in-sample information gain that
survives out of sample -- the forecasting analogue of Pardo's walk-forward
efficiency (OOS profit over the optimised IS profit).  It can exceed 1:
the reference is itself fitted in sample and ages out of sample too, often
faster than the model when volatility drifts between regimes.  Pooled figures sum the
gains of every window whose fit succeeded (EWMA fallbacks have no model
score).  The target is ``> 0.5``; the ratio is NaN when the in-sample gain is
not positive.  Why not the CRPS skill over the naive baseline?  For daily
index returns that skill is about 0-2% in and out of sample, so its ratio is
dominated by noise (on simulated GARCH data with a correct model it ranged
from -0.15 to 19.5 across seeds); the log-score gain over the unconditional
law is the quantity the fit optimises, is robustly positive in sample
whenever volatility clusters, and needs no simulation.  The CRPS skill of
each window is reported alongside (``crps_skill``).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError, FitError, SimulationError
from volresearch.models import VOLATILITY_FLOOR, Fit, ModelSpec, fit_garch
from volresearch.models.distributions import get_distribution
from volresearch.models.returns import log_returns
from volresearch.models.robust import ewma_variance
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.paths import simulate_paths
from volresearch.validate.baselines import VOLATILITY_ESTIMATORS
from volresearch.validate.calibration import (
    DEFAULT_LEVELS,
    CalibrationReport,
    _jsonable,
    crps_ensemble,
    ensemble_quantiles,
    pit,
    qlike,
)

__all__ = [
    "DEFAULT_IN_SAMPLE",
    "DEFAULT_OUT_OF_SAMPLE",
    "MIN_DEFAULT_IN_SAMPLE",
    "CHUNK_VALUES",
    "WalkForwardResult",
    "GridResult",
    "walk_forward",
    "walk_forward_grid",
    "walk_forward_windows",
    "forecast_metrics",
    "level_name",
]

Span = int | str | pd.DateOffset | pd.Timedelta | timedelta | None
BaselineName = Literal["ewma", "historical"]

DEFAULT_IN_SAMPLE = pd.DateOffset(months=3)
"""Default in-sample span (data of a year or more)."""
DEFAULT_OUT_OF_SAMPLE = pd.DateOffset(months=1)
"""Default out-of-sample span and roll (data of a year or more)."""
MIN_DEFAULT_IN_SAMPLE = 500
"""Returns the default in-sample window holds at least (daily bars: 3 months are only ~63 returns)."""
CHUNK_VALUES = 2_000_000
"""Simulated values (paths x (horizon + 1)) per engine call; fixes the chunk of origins."""

_PURPOSE_MODEL, _PURPOSE_BASE = 0, 1


def level_name(level: float) -> str:
    """Column suffix of an interval level: 0.95 -> ``"95"``, 0.995 -> ``"99.5"``."""
    return f"{round(float(level) * 100, 10):g}"


# =================================================================== spans
_UNITS: dict[str, str] = {
    "m": "months", "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "d": "days", "day": "days", "days": "days",
    "b": "bars", "bar": "bars", "bars": "bars",
}  # fmt: skip


def _span(value: Span, name: str) -> int | pd.DateOffset | pd.Timedelta:
    """A window length as a bar count, a calendar offset or a fixed duration."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a bar count or a time span, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1 bar, got {value}")
        return int(value)
    if isinstance(value, pd.offsets.BaseOffset):
        return value
    if isinstance(value, (pd.Timedelta, timedelta)):
        td = pd.Timedelta(value)
        if td <= pd.Timedelta(0):
            raise ConfigError(f"{name} must be a positive duration, got {value!r}")
        return td
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", value)
        if m:
            n, unit = int(m.group(1)), m.group(2)
            key = "months" if unit == "M" else _UNITS.get(unit.lower()) if unit != "m" else None
            if key is not None and n >= 1:
                if key == "bars":
                    return n
                return pd.DateOffset(**{key: n})
        try:
            td = pd.Timedelta(value)
        except (ValueError, TypeError):
            td = None
        if td is not None and td > pd.Timedelta(0):
            return td
    raise ConfigError(
        f"{name} must be a bar count, a pandas offset/Timedelta or a string such as '3M', '2W', '10D', '6h'; "
        f"got {value!r}"
    )


def _span_label(span: int | pd.DateOffset | pd.Timedelta) -> str:
    if isinstance(span, int):
        return f"{span} bars"
    if isinstance(span, pd.Timedelta):
        return str(span)
    kw = getattr(span, "kwds", None)
    if kw:
        return ", ".join(f"{v} {k}" for k, v in kw.items())
    return span.freqstr if hasattr(span, "freqstr") else str(span)


# ==================================================================== plan
@dataclass(frozen=True)
class _Window:
    window: int
    a: int  # first in-sample return
    b: int  # first out-of-sample return (exclusive end of in-sample)
    c: int  # exclusive end of the out-of-sample period
    origins: np.ndarray
    refits: np.ndarray


@dataclass(frozen=True)
class _Config:
    in_sample: int | pd.DateOffset | pd.Timedelta
    out_of_sample: int | pd.DateOffset | pd.Timedelta
    step: int
    horizon: int
    refit_every: int | None
    n_paths: int
    levels: tuple[float, ...]
    seed: int
    baseline: str
    baseline_options: Mapping[str, Any]
    expanding: bool
    defaults_shrunk: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_sample": _span_label(self.in_sample),
            "out_of_sample": _span_label(self.out_of_sample),
            "step": self.step,
            "horizon": self.horizon,
            "refit_every": self.refit_every,
            "n_paths": self.n_paths,
            "levels": list(self.levels),
            "seed": self.seed,
            "baseline": self.baseline,
            "baseline_options": dict(self.baseline_options),
            "expanding": self.expanding,
            "defaults_shrunk": self.defaults_shrunk,
        }


def _returns_of(bars: pd.DataFrame | pd.Series) -> pd.Series:
    if not isinstance(bars, (pd.DataFrame, pd.Series)):
        raise DataError("bars must be a DataFrame with a 'close' column or a Series of prices", column="bars")
    r = log_returns(bars)
    if isinstance(r.index, pd.DatetimeIndex) and not r.index.is_monotonic_increasing:
        raise DataError(
            "bars must be sorted by time (validate_bars with policy='repair' sorts them)", column="timestamp"
        )
    if r.size < 10:
        raise DataError(f"need at least 10 returns for a walk-forward, got {r.size}", column="close", rule="shape")
    return r


def _positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _config(
    index: pd.Index,
    *,
    in_sample: Span,
    out_of_sample: Span,
    step: int,
    horizon: int,
    refit_every: int | None,
    n_paths: int,
    levels: Sequence[float],
    seed: int,
    baseline: str,
    baseline_options: Mapping[str, Any] | None,
    expanding: bool,
) -> _Config:
    n = len(index)
    timed = isinstance(index, pd.DatetimeIndex)
    short = (not timed) or (index[-1] - index[0]) < pd.Timedelta(days=365)
    shrunk = False
    if in_sample is None:
        if short:
            in_sample, shrunk = max(2, n // 4), True
        else:
            in_sample = DEFAULT_IN_SAMPLE
            days = (index[-1] - index[0]) / pd.Timedelta(days=1)
            if n * (91.3 / days) < MIN_DEFAULT_IN_SAMPLE:  # 3 months hold too few returns (daily bars)
                in_sample = MIN_DEFAULT_IN_SAMPLE
    if out_of_sample is None:
        if short:
            # the returns after the in-sample window split into nine out-of-sample windows (~n/12 each)
            counted = isinstance(in_sample, (int, np.integer)) and not isinstance(in_sample, bool)
            first = int(in_sample) if counted else n // 4  # type: ignore[arg-type]
            out_of_sample, shrunk = max(1, math.ceil(max(n - first, 1) / 9)), True
        else:
            out_of_sample = DEFAULT_OUT_OF_SAMPLE
    is_span = _span(in_sample, "in_sample")
    oos_span = _span(out_of_sample, "out_of_sample")
    if not timed and not (isinstance(is_span, int) and isinstance(oos_span, int)):
        raise ConfigError("time spans for in_sample/out_of_sample need bars with a DatetimeIndex; give bar counts")
    lv = tuple(float(v) for v in levels)
    if not lv or any(not 0.0 < v < 1.0 for v in lv):
        raise ConfigError(f"levels must be numbers strictly between 0 and 1, got {levels!r}")
    if baseline not in VOLATILITY_ESTIMATORS:
        raise ConfigError(f"unknown baseline {baseline!r}; choose one of {sorted(VOLATILITY_ESTIMATORS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return _Config(
        in_sample=is_span,
        out_of_sample=oos_span,
        step=_positive_int(step, "step"),  # type: ignore[arg-type]
        horizon=_positive_int(horizon, "horizon"),  # type: ignore[arg-type]
        refit_every=_positive_int(refit_every, "refit_every", allow_none=True),
        n_paths=_positive_int(n_paths, "n_paths"),  # type: ignore[arg-type]
        levels=lv,
        seed=int(seed),
        baseline=baseline,
        baseline_options=dict(baseline_options or {}),
        expanding=bool(expanding),
        defaults_shrunk=shrunk,
    )


def _boundaries(index: pd.Index, cfg: _Config) -> list[tuple[int, int, int]]:
    """``(a, b, c)`` positions of every candidate window (before origin checks).

    The out-of-sample boundaries ``b_k`` advance by the out-of-sample span
    from the first one (in-sample span after the first return), so the
    out-of-sample periods tile the data; ``a_k`` lies the in-sample span
    before ``b_k`` (0 when expanding).
    """
    n = len(index)
    is_span, oos_span = cfg.in_sample, cfg.out_of_sample
    ts = pd.DatetimeIndex(index) if isinstance(index, pd.DatetimeIndex) else None

    def pos(t: Any) -> int:
        assert ts is not None
        return int(ts.searchsorted(t, side="left"))

    if isinstance(is_span, int):
        b0 = is_span
        b0_time = ts[b0] if ts is not None and b0 < n else None
    else:
        assert ts is not None
        b0_time = ts[0] + is_span
        b0 = pos(b0_time)
    out: list[tuple[int, int, int]] = []
    k = 0
    while True:
        if isinstance(oos_span, int):
            b = b0 + k * oos_span
            c = b + oos_span
            b_time = ts[b] if ts is not None and b < n else None
        else:
            if b0_time is None:
                break
            b_time = b0_time + oos_span * k
            b = pos(b_time)
            c = pos(b0_time + oos_span * (k + 1))
        if b >= n:
            break
        if cfg.expanding:
            a = 0
        elif isinstance(is_span, int):
            a = b - is_span
        else:
            a = pos(b_time - is_span)
        out.append((max(0, a), b, min(n, c)))
        k += 1
    return out


def _plan(index: pd.Index, base_sigma: np.ndarray, cfg: _Config) -> list[_Window]:
    n = len(index)
    h, step = cfg.horizon, cfg.step
    defined = np.isfinite(base_sigma)
    windows: list[_Window] = []
    for a, b, c in _boundaries(index, cfg):
        if b - a < 2 or c <= b:
            continue
        t = np.arange(b - 1, c - 1, step, dtype=np.int64)
        t = t[(t + h <= n - 1)]
        t = t[defined[t]]
        if t.size == 0:
            continue
        if cfg.refit_every is not None:
            refits = np.arange(b - 1 + cfg.refit_every, int(t[-1]) + 1, cfg.refit_every, dtype=np.int64)
        else:
            refits = np.empty(0, dtype=np.int64)
        windows.append(_Window(len(windows), a, b, c, t, refits))
    return windows


def _baseline_sigma(r: np.ndarray, cfg: _Config) -> np.ndarray:
    opts = dict(cfg.baseline_options)
    if cfg.baseline == "historical":
        opts.setdefault("window", 250)
        opts["window"] = min(int(opts["window"]), r.size)
    else:
        opts.setdefault("min_periods", 20)
        opts["min_periods"] = min(int(opts["min_periods"]), r.size)
    sigma = VOLATILITY_ESTIMATORS[cfg.baseline](r, **opts)
    return np.where(np.isfinite(sigma), np.maximum(sigma, VOLATILITY_FLOOR), np.nan)


def walk_forward_windows(
    bars: pd.DataFrame | pd.Series,
    *,
    in_sample: Span = None,
    out_of_sample: Span = None,
    step: int = 1,
    horizon: int = 1,
    refit_every: int | None = None,
    expanding: bool = False,
    baseline: BaselineName = "ewma",
    baseline_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The windows and origins a walk-forward would use (nothing is fitted).

    Parameters are those of :func:`walk_forward`.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window``; positions (in the log-return series)
        ``is_start``, ``is_end`` (exclusive), ``oos_start`` (= ``is_end``),
        ``oos_end`` (exclusive); their times ``is_start_time``,
        ``is_end_time`` (last in-sample return), ``oos_start_time``,
        ``oos_end_time`` (last out-of-sample return); ``n_in_sample``,
        ``n_origins``, ``first_origin``, ``last_origin`` (positions),
        ``n_refits`` and ``origins`` (array of positions).
    """
    r = _returns_of(bars)
    cfg = _config(
        r.index, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=1, levels=DEFAULT_LEVELS, seed=0, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    plan = _plan(r.index, _baseline_sigma(r.to_numpy(), cfg), cfg)
    return _windows_layout(r.index, plan)


def _windows_layout(index: pd.Index, plan: Sequence[_Window]) -> pd.DataFrame:
    rows = []
    for w in plan:
        rows.append(
            {
                "window": w.window,
                "is_start": w.a,
                "is_end": w.b,
                "oos_start": w.b,
                "oos_end": w.c,
                "is_start_time": index[w.a],
                "is_end_time": index[w.b - 1],
                "oos_start_time": index[w.b],
                "oos_end_time": index[w.c - 1],
                "n_in_sample": w.b - w.a,
                "n_origins": int(w.origins.size),
                "first_origin": int(w.origins[0]),
                "last_origin": int(w.origins[-1]),
                "n_refits": int(w.refits.size),
                "origins": w.origins,
            }
        )
    return pd.DataFrame(rows)


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
    lo: np.ndarray
    hi: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    var: np.ndarray


def _score(ens: np.ndarray, y: np.ndarray, levels: tuple[float, ...]) -> _Scores:
    probs = np.array([(1.0 - v) / 2.0 for v in levels] + [(1.0 + v) / 2.0 for v in levels])
    q = ensemble_quantiles(ens, probs)
    k = len(levels)
    return _Scores(
        pit=pit(ens, y),
        crps=crps_ensemble(ens, y),
        lo=q[:, :k],
        hi=q[:, k:],
        mean=ens.mean(axis=1),
        std=ens.std(axis=1),
        var=ens.var(axis=1),
    )


def _concat(parts: list[_Scores], k: int) -> _Scores:
    if not parts:
        e = np.empty(0)
        return _Scores(e, e, np.empty((0, k)), np.empty((0, k)), e, e, e)
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
    r = task.returns
    off = task.offset
    h, levels = task.horizon, task.levels
    k = len(levels)
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
        if fit is not None and (sel.any() or seg_bars.size):
            last = max(int(task.origins[sel][-1]) + 1 if sel.any() else 0, int(seg_bars[-1]) if seg_bars.size else 0)
            # v[i]: variance of r[fit_point + 1 + i] given the returns before it
            v = fit.filter(r[fit_point + 1 - off : last - off])
            if first_fit is not None and seg_bars.size:
                rb = r[seg_bars - off]
                gain = _log_density(fit, rb, v[seg_bars - fit_point - 1]) - _gaussian_log_density(rb, ref_mean, ref_var)
                oos_gain += float(gain.sum())
                n_oos_scored += int(seg_bars.size)
        if not sel.any():
            continue
        o = task.origins[sel]
        y = y_all[sel]
        if fit is not None:
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
        sc = _concat([_score(e, y[i : i + e.shape[0]], levels) for i, e in _offsets(draws)], k)
        if fit is not None and fit.spec.model != "egarch":
            fvar = _cumulative_variance(fit, table, s2, h)
        elif fit is not None:
            fvar = sc.var
        else:
            fvar = h * s2
        model_parts.append(sc)
        base_draws = _gaussian_draws(math.sqrt(h) * task.base_sigma[sel], task, _PURPOSE_BASE, s)
        base_parts.append(_concat([_score(e, y[i : i + e.shape[0]], levels) for i, e in _offsets(base_draws)], k))
        sigma2_parts.append(s2)
        fvar_parts.append(np.maximum(fvar, VOLATILITY_FLOOR**2))
        method_parts.append(np.full(o.size, method, dtype=object))
        fitid_parts.append(np.full(o.size, current_id if fit is not None else -1, dtype=np.int64))

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
        "base_std": math.sqrt(h) * task.base_sigma,
        "base_pit": bsc.pit,
        "base_crps": bsc.crps,
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

    is_gain = math.nan
    if first_fit is not None:
        cv = np.asarray(first_fit.conditional_volatility)
        is_gain = float(
            (_log_density(first_fit, r_is, cv**2) - _gaussian_log_density(r_is, ref_mean, ref_var)).sum()
        )
    else:
        n_oos_scored = 0
    return _WindowOutput(
        task.key, task.window, cols, fits, is_gain, int(r_is.size), oos_gain if n_oos_scored else math.nan,
        n_oos_scored,
    )


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


def _execute(tasks: Sequence[_WindowTask], client: Any = None, scheduler: Any = None) -> list[_WindowOutput]:
    """Run window tasks serially or as independent Dask tasks (same results either way)."""
    if client is not None and scheduler is not None and scheduler is not client:
        raise ConfigError("give either client= or scheduler=, not both")
    sched = client if client is not None else scheduler
    if sched is None:
        with _blas_single_thread():
            return [_run_window(t) for t in tasks]
    if isinstance(sched, str) and sched not in ("threads", "processes", "synchronous", "sync", "single-threaded"):
        raise ConfigError(f"unknown scheduler {sched!r}; use 'threads', 'processes', 'synchronous' or a Client")
    import dask

    delayed = [dask.delayed(_window_task, pure=True, traverse=False)(t) for t in tasks]
    if isinstance(sched, str) and sched != "processes":
        # in-process schedulers share one BLAS: pin it once here, not per task
        with _blas_single_thread():
            return list(dask.compute(*delayed, scheduler=sched))
    return list(dask.compute(*delayed, scheduler=sched))


# ================================================================ results
@dataclass(frozen=True)
class WalkForwardResult:
    """Pooled out-of-sample evaluation of one model on one series.

    Attributes
    ----------
    spec
        The model evaluated.
    config
        Layout and options (spans, step, horizon, refit interval, paths,
        levels, seed, baseline).
    forecasts
        Tidy table, one row per forecast: ``origin`` (time of the origin bar),
        ``origin_pos`` (position in the log returns), ``target_end`` (time of
        the last target bar), ``window``, ``fit_id`` (-1: EWMA fallback),
        ``method``, ``target`` (realised h-bar log return), ``sigma2_next``
        (variance of the next bar, squared log return per bar),
        ``forecast_var`` (variance of the h-bar return), ensemble ``mean`` and
        ``std``, ``pit``, ``crps``, ``lo_<L>``/``hi_<L>`` interval bounds and
        ``hit_<L>`` violations (``L`` in percent, e.g. ``hit_95``), the
        baseline's ``base_std``, ``base_pit``, ``base_crps``, ``base_hit_<L>``,
        ``realised_var`` (squared target), ``qlike``/``base_qlike``
        (:func:`~volresearch.validate.calibration.qlike` with
        ``normalized=False``, finite for zero returns) and ``mse``/``base_mse``.
    windows
        One row per window: layout (positions and times), fit outcome
        (``method``, ``converged``, ``loglik``, ``reason``), first-fit
        parameters, ``n_forecasts``, ``crps``, ``crps_naive``,
        ``coverage_<L>``, ``crps_skill`` (over the naive baseline),
        ``in_sample_score``, ``out_of_sample_score`` and ``efficiency``.
    fits
        Every fit attempted (window fits and refits, failures included).
    parameters
        Successful fits indexed by ``window_end`` (time of the last return of
        the fit's sample): one column per parameter, ``<name>_se`` standard
        errors and ``persistence`` (per-bar log-return units, see
        :class:`~volresearch.models.Fit`); the layout of
        :func:`volresearch.plots.parameter_drift`.
    stability
        Parameter stability across the successful fits: ``mean``, ``std``
        (ddof 1), ``cv`` (std / abs(mean)), ``min``, ``max``, ``n`` and
        ``mean_se`` per parameter.
    report
        :class:`~volresearch.validate.calibration.CalibrationReport` pooled
        over all forecasts, with the baseline's CRPS.
    baseline_report
        The same report for the baseline forecasts.
    in_sample_score, out_of_sample_score, efficiency
        Pooled log-score gains over the unconditional Gaussian (nats per bar)
        and their ratio (see the module docstring).
    label
        Name of the series (grids), or None.
    """

    spec: ModelSpec
    config: Mapping[str, Any]
    forecasts: pd.DataFrame
    windows: pd.DataFrame
    fits: pd.DataFrame
    parameters: pd.DataFrame
    stability: pd.DataFrame
    report: CalibrationReport
    baseline_report: CalibrationReport
    in_sample_score: float
    out_of_sample_score: float
    efficiency: float
    label: str | None = None
    n_returns: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def levels(self) -> tuple[float, ...]:
        """Interval levels scored."""
        return tuple(self.config["levels"])

    @property
    def n_forecasts(self) -> int:
        """Number of pooled out-of-sample forecasts."""
        return int(len(self.forecasts))

    @property
    def hits(self) -> pd.DataFrame:
        """Model violations, one column per level (float labels), for :func:`coverage_table`."""
        return self._hits("hit_")

    @property
    def baseline_hits(self) -> pd.DataFrame:
        """Baseline violations, same layout as :attr:`hits`."""
        return self._hits("base_hit_")

    def _hits(self, prefix: str) -> pd.DataFrame:
        data = {lv: self.forecasts[f"{prefix}{level_name(lv)}"].to_numpy() for lv in self.levels}
        return pd.DataFrame(data, columns=pd.Index(self.levels, name="level"))

    @property
    def crps(self) -> float:
        """Mean CRPS of the model (log return units)."""
        return float(self.report.crps_mean)

    @property
    def crps_naive(self) -> float:
        """Mean CRPS of the naive baseline."""
        return float(self.baseline_report.crps_mean)

    @property
    def crps_improvement(self) -> float:
        """CRPS skill over the baseline (0.10 = 10% lower CRPS)."""
        return float(self.report.crps_skill) if self.report.crps_skill is not None else math.nan

    def coverage(self, level: float = 0.95) -> float:
        """Empirical coverage of the central ``level`` interval."""
        row = self.report.coverage.loc[np.isclose(self.report.coverage["level"], level)]
        return float(row["coverage"].iloc[0]) if len(row) else math.nan

    def coverage_over_time(self, level: float = 0.95, window: int = 63) -> pd.DataFrame:
        """Rolling hit rate of the ``level`` interval, for :func:`volresearch.plots.coverage_plot`.

        Columns ``coverage`` (rolling share of targets inside the interval over
        ``window`` forecasts), ``nominal``, and ``lower``/``upper``: the 95%
        binomial acceptance band of a correctly calibrated rate over
        ``window`` forecasts.  Indexed by origin time.
        """
        from scipy import stats

        inside = 1 - self.forecasts[f"hit_{level_name(level)}"].astype(float)
        inside.index = pd.Index(self.forecasts["origin"])
        w = int(max(1, min(window, len(inside))))
        lo, hi = stats.binom.ppf([0.025, 0.975], w, level) / w
        return pd.DataFrame(
            {
                "coverage": inside.rolling(w, min_periods=w).mean(),
                "nominal": level,
                "lower": lo,
                "upper": hi,
            }
        ).dropna()

    @property
    def criteria(self) -> dict[str, bool | None]:
        """Calibration criteria of the pooled report plus ``efficiency_gt_0.5``."""
        eff = None if not math.isfinite(self.efficiency) else bool(self.efficiency > 0.5)
        return {**self.report.criteria, "efficiency_gt_0.5": eff}

    def metrics(self) -> dict[str, Any]:
        """Headline figures as a flat JSON-safe dict (see :func:`forecast_metrics`)."""
        return forecast_metrics(self)

    def to_dict(self, *, include_forecasts: bool = False) -> dict[str, Any]:
        """JSON-safe dictionary: spec, config, metrics, reports, windows, stability (forecasts on request)."""
        d: dict[str, Any] = {
            "label": self.label,
            "spec": self.spec.to_dict(),
            "config": dict(self.config),
            "n_returns": self.n_returns,
            "metrics": self.metrics(),
            "criteria": self.criteria,
            "report": self.report.to_dict(),
            "baseline_report": self.baseline_report.to_dict(),
            "windows": _records(self.windows.drop(columns=["origins"], errors="ignore")),
            "fits": _records(self.fits),
            "stability": _records(self.stability.reset_index()),
            "meta": dict(self.meta),
        }
        if include_forecasts:
            d["forecasts"] = _records(self.forecasts)
        return _jsonable(d)

    def summary(self) -> str:
        """Plain-text summary: layout, fits, pooled calibration, efficiency, stability."""
        c = self.config
        n_fb = int((self.windows["method"] == "ewma").sum()) if len(self.windows) else 0
        n_refit = int(self.fits["refit"].sum()) if len(self.fits) else 0
        n_refit_fail = int((self.fits["refit"] & ~self.fits["ok"]).sum()) if len(self.fits) else 0
        lines = [
            f"Walk-forward {self.spec.label}{'' if self.label is None else ' on ' + self.label}: "
            f"{self.n_returns} returns, {len(self.windows)} windows "
            f"(in-sample {c['in_sample']}{' expanding' if c['expanding'] else ''}, out-of-sample "
            f"{c['out_of_sample']}{'; defaults shrunk to the data' if c['defaults_shrunk'] else ''}), "
            f"horizon {c['horizon']}, step {c['step']}, refit every {c['refit_every'] or 'window'}, "
            f"{c['n_paths']} paths, seed {c['seed']}",
            f"  fits: {len(self.windows) - n_fb} ok, {n_fb} fell back to EWMA; refits {n_refit} "
            f"({n_refit_fail} failed, previous fit kept)",
            self.report.summary(),
            f"  naive baseline ({c['baseline']}): CRPS {self.crps_naive:.6g}, PIT AD p = "
            f"{self.baseline_report.pit.ad_pvalue:.4f}, 95% coverage {_cov(self.baseline_report):.4f}",
            f"  efficiency = OOS / IS log-score gain over the unconditional law = {self.out_of_sample_score:+.4f}"
            f" / {self.in_sample_score:+.4f} nats per bar = {self.efficiency:.3f} (target > 0.5)",
        ]
        if len(self.stability):
            lines.append("  parameter stability (mean, cv):")
            for name, row in self.stability.iterrows():
                lines.append(f"    {name:<12} {row['mean']: .4g}  cv {row['cv']:.3f}")
        return "\n".join(lines)


def _cov(report: CalibrationReport, level: float = 0.95) -> float:
    row = report.coverage.loc[np.isclose(report.coverage["level"], level)]
    return float(row["coverage"].iloc[0]) if len(row) else math.nan


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].map(lambda t: None if pd.isna(t) else pd.Timestamp(t).isoformat())
    return _jsonable(out.to_dict(orient="records"))


def forecast_metrics(result: WalkForwardResult) -> dict[str, Any]:
    """Headline figures of a walk-forward as one flat dict.

    Keys: ``model``, ``dist``, ``label``, ``n_windows``, ``n_fallback_windows``,
    ``n_forecasts``, ``crps``, ``crps_naive``, ``crps_improvement``,
    ``pit_ad_pvalue``, ``pit_ad_pvalue_naive``, ``coverage_<L>`` per level,
    ``coverage_95_naive``, ``kupiec_pvalue_95``, ``christoffersen_pvalue_95``
    (independence of the 95% violations, the project criterion),
    ``christoffersen_cc_pvalue_95`` (joint conditional coverage), ``qlike``,
    ``qlike_naive``, ``mse``, ``mse_naive``, ``in_sample_score``,
    ``out_of_sample_score``, ``efficiency``, ``passed``.  Missing values are
    NaN (None in JSON).
    """
    rep = result.report
    cov = rep.coverage
    row95 = cov.loc[np.isclose(cov["level"], 0.95)]

    def at95(col: str) -> float:
        return float(row95[col].iloc[0]) if len(row95) else math.nan

    f = result.forecasts
    d: dict[str, Any] = {
        "model": result.spec.model,
        "dist": result.spec.dist,
        "label": result.label,
        "n_windows": int(len(result.windows)),
        "n_fallback_windows": int((result.windows["method"] == "ewma").sum()) if len(result.windows) else 0,
        "n_forecasts": result.n_forecasts,
        "crps": result.crps,
        "crps_naive": result.crps_naive,
        "crps_improvement": result.crps_improvement,
        "pit_ad_pvalue": float(rep.pit.ad_pvalue),
        "pit_ad_pvalue_naive": float(result.baseline_report.pit.ad_pvalue),
    }
    for lv in result.levels:
        d[f"coverage_{level_name(lv)}"] = result.coverage(lv)
    d.update(
        {
            "coverage_95_naive": _cov(result.baseline_report),
            "kupiec_pvalue_95": at95("p_pof"),
            "christoffersen_pvalue_95": at95("p_ind"),
            "christoffersen_cc_pvalue_95": at95("p_cc"),
            "qlike": float(f["qlike"].mean()) if len(f) else math.nan,
            "qlike_naive": float(f["base_qlike"].mean()) if len(f) else math.nan,
            "mse": float(f["mse"].mean()) if len(f) else math.nan,
            "mse_naive": float(f["base_mse"].mean()) if len(f) else math.nan,
            "in_sample_score": result.in_sample_score,
            "out_of_sample_score": result.out_of_sample_score,
            "efficiency": result.efficiency,
            "passed": bool(rep.passed),
        }
    )
    return d


# ============================================================== assembly
@dataclass(frozen=True)
class _Prepared:
    key: int
    label: str | None
    spec: ModelSpec
    returns: pd.Series
    cfg: _Config
    plan: list[_Window]
    tasks: list[_WindowTask]


def _periods_per_year(index: pd.Index) -> float:
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return 252.0
    from volresearch.data.calendar import bars_per_year, infer_bar_seconds, infer_calendar

    step = infer_bar_seconds(index)
    if not step:
        return 252.0
    cal, _ = infer_calendar(index)
    return float(bars_per_year(cal, step))


def _as_spec(spec: ModelSpec | str) -> ModelSpec:
    if isinstance(spec, ModelSpec):
        return spec
    if isinstance(spec, str) and "-" in spec:
        model, dist = spec.split("-", 1)
        return ModelSpec(model, dist)  # type: ignore[arg-type]
    raise ConfigError(f"spec must be a ModelSpec or a label such as 'gjr-sged', got {spec!r}")


def _prepare(
    key: int,
    label: str | None,
    bars: pd.DataFrame | pd.Series,
    spec: ModelSpec | str,
    *,
    in_sample: Span = None,
    out_of_sample: Span = None,
    step: int = 1,
    horizon: int = 1,
    refit_every: int | None = None,
    n_paths: int = 10_000,
    levels: Sequence[float] = DEFAULT_LEVELS,
    seed: int = 0,
    baseline: BaselineName = "ewma",
    baseline_options: Mapping[str, Any] | None = None,
    expanding: bool = False,
    periods_per_year: float | None = None,
    returns: pd.Series | None = None,
) -> _Prepared:
    spec = _as_spec(spec)
    r = returns if returns is not None else _returns_of(bars)
    cfg = _config(
        r.index, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=n_paths, levels=levels, seed=seed, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    values = np.ascontiguousarray(r.to_numpy(dtype=np.float64))
    sigma = _baseline_sigma(values, cfg)
    plan = _plan(r.index, sigma, cfg)
    if not plan:
        raise DataError(
            f"no walk-forward window fits {values.size} returns with in-sample {_span_label(cfg.in_sample)}, "
            f"out-of-sample {_span_label(cfg.out_of_sample)} and horizon {cfg.horizon}",
            column="close",
            rule="shape",
        )
    ppy = float(periods_per_year) if periods_per_year is not None else _periods_per_year(r.index)
    tasks = []
    for w in plan:
        stop = max(int(w.origins[-1]) + cfg.horizon + 1, w.c)
        tasks.append(
            _WindowTask(
                key=key,
                window=w.window,
                spec=spec,
                returns=values[w.a : stop].copy(),
                offset=w.a,
                a=w.a,
                b=w.b,
                c=w.c,
                origins=w.origins,
                base_sigma=sigma[w.origins],
                refits=w.refits,
                expanding=cfg.expanding,
                horizon=cfg.horizon,
                n_paths=cfg.n_paths,
                levels=cfg.levels,
                seed=cfg.seed,
                periods_per_year=ppy,
            )
        )
    return _Prepared(key, label, spec, r, cfg, plan, tasks)


def _skill(num: float, den: float) -> float:
    return 1.0 - num / den if den > 0 else math.nan


def _efficiency(is_score: float, oos_score: float) -> float:
    """``oos / is``, or NaN when the in-sample score is not positive (no advantage to retain)."""
    return oos_score / is_score if math.isfinite(is_score) and is_score > 0 and math.isfinite(oos_score) else math.nan


def _assemble(prep: _Prepared, outputs: Sequence[_WindowOutput]) -> WalkForwardResult:
    outs = sorted((o for o in outputs if o.key == prep.key), key=lambda o: o.window)
    if len(outs) != len(prep.plan):
        raise SimulationError(f"expected {len(prep.plan)} window results, got {len(outs)}")
    index = prep.returns.index
    cfg = prep.cfg
    h = cfg.horizon
    frames = [pd.DataFrame(o.columns) for o in outs]
    fc = pd.concat(frames, ignore_index=True)
    pos = fc["origin_pos"].to_numpy()
    fc.insert(0, "origin", index[pos])
    fc.insert(1, "target_end", index[pos + h])
    hits = pd.DataFrame(
        {lv: fc[f"hit_{level_name(lv)}"].to_numpy() for lv in cfg.levels}, columns=pd.Index(cfg.levels, name="level")
    )
    base_hits = pd.DataFrame(
        {lv: fc[f"base_hit_{level_name(lv)}"].to_numpy() for lv in cfg.levels},
        columns=pd.Index(cfg.levels, name="level"),
    )
    report = CalibrationReport.from_components(fc["pit"], hits, fc["crps"], baseline_crps=fc["base_crps"])
    base_report = CalibrationReport.from_components(fc["base_pit"], base_hits, fc["base_crps"])

    # fits and parameters
    fit_rows = []
    for o in outs:
        for rec in o.fits:
            row = {k: v for k, v in rec.items() if k not in ("params", "std_errors")}
            row["sample_start_time"] = index[rec["sample_start"]]
            row["window_end"] = index[rec["sample_end"] - 1]
            for name, val in rec.get("params", {}).items():
                row[name] = val
                row[f"{name}_se"] = rec["std_errors"].get(name, math.nan)
            fit_rows.append(row)
    fits = pd.DataFrame(fit_rows)
    ok = fits[fits["ok"].astype(bool)]
    param_names = [c for c in ok.columns if f"{c}_se" in ok.columns]
    if len(ok):
        cols = [x for n in param_names for x in (n, f"{n}_se")] + ["persistence"]
        parameters = ok.set_index("window_end")[cols].astype(float)
    else:
        parameters = pd.DataFrame(index=pd.Index([], name="window_end"))
    stability = _stability(parameters, param_names)

    # windows
    wrows = []
    is_total = oos_total = 0.0
    is_n = oos_n = 0
    for w, o in zip(prep.plan, outs, strict=True):
        first = o.fits[0]
        sel = fc["window"].to_numpy() == w.window
        sub = fc.loc[sel]
        scored = bool(first["ok"]) and o.n_oos > 0
        is_score = o.is_gain / o.n_is if scored else math.nan
        oos_score = o.oos_gain / o.n_oos if scored else math.nan
        if scored:
            is_total += o.is_gain
            is_n += o.n_is
            oos_total += o.oos_gain
            oos_n += o.n_oos
        row: dict[str, Any] = {
            "window": w.window,
            "is_start": w.a,
            "is_end": w.b,
            "oos_end": w.c,
            "is_start_time": index[w.a],
            "is_end_time": index[w.b - 1],
            "oos_start_time": index[w.b],
            "oos_end_time": index[w.c - 1],
            "n_in_sample": w.b - w.a,
            "method": first["method"],
            "converged": bool(first["ok"]),
            "reason": first["reason"],
            "message": first["message"],
            "loglik": first["loglik"],
            "n_refits": int(w.refits.size),
            "n_failed_refits": int(sum(1 for f in o.fits[1:] if not f["ok"])),
            "n_forecasts": int(sel.sum()),
            "crps": float(sub["crps"].mean()),
            "crps_naive": float(sub["base_crps"].mean()),
            "crps_skill": _skill(float(sub["crps"].sum()), float(sub["base_crps"].sum())),
        }
        for lv in cfg.levels:
            row[f"coverage_{level_name(lv)}"] = 1.0 - float(sub[f"hit_{level_name(lv)}"].mean())
        for name, val in first.get("params", {}).items():
            row[name] = val
        row.update(
            in_sample_score=is_score,
            out_of_sample_score=oos_score,
            efficiency=_efficiency(is_score, oos_score),
            origins=w.origins,
        )
        wrows.append(row)
    windows = pd.DataFrame(wrows)
    is_skill = is_total / is_n if is_n else math.nan
    oos_skill = oos_total / oos_n if oos_n else math.nan
    eff = _efficiency(is_skill, oos_skill)
    return WalkForwardResult(
        spec=prep.spec,
        config=cfg.to_dict(),
        forecasts=fc,
        windows=windows,
        fits=fits,
        parameters=parameters,
        stability=stability,
        report=report,
        baseline_report=base_report,
        in_sample_score=is_skill,
        out_of_sample_score=oos_skill,
        efficiency=eff,
        label=prep.label,
        n_returns=int(prep.returns.size),
        meta={"periods_per_year": prep.tasks[0].periods_per_year if prep.tasks else math.nan},
    )


def _finite_mean(values: pd.Series) -> float:
    x = values.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def _stability(parameters: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    rows = {}
    for name in [*names, "persistence"]:
        if name not in parameters.columns:
            continue
        x = parameters[name].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            continue
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if x.size > 1 else math.nan
        se_col = f"{name}_se"
        rows[name] = {
            "mean": mean,
            "std": std,
            "cv": std / abs(mean) if mean != 0 and math.isfinite(std) else math.nan,
            "min": float(x.min()),
            "max": float(x.max()),
            "n": int(x.size),
            "mean_se": _finite_mean(parameters[se_col]) if se_col in parameters else math.nan,
        }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "std", "cv", "min", "max", "n", "mean_se"])
    out.index.name = "parameter"
    return out


# ================================================================ public
def walk_forward(
    bars: pd.DataFrame | pd.Series,
    spec: ModelSpec | str = ModelSpec("gjr", "sged"),
    *,
    in_sample: Span = None,
    out_of_sample: Span = None,
    step: int = 1,
    horizon: int = 1,
    refit_every: int | None = None,
    n_paths: int = 10_000,
    levels: Sequence[float] = DEFAULT_LEVELS,
    seed: int = 0,
    baseline: BaselineName = "ewma",
    baseline_options: Mapping[str, Any] | None = None,
    expanding: bool = False,
    client: Any = None,
    scheduler: Any = None,
    label: str | None = None,
) -> WalkForwardResult:
    """Walk-forward out-of-sample evaluation of a GARCH-family ensemble forecaster.

    See the module docstring for the layout, the no-look-ahead argument, the
    seeds and the definition of the score and efficiency.

    Parameters
    ----------
    bars
        Bars (``close`` column) or a price Series, sorted by time; validated
        bars (:func:`volresearch.data.validate_bars`) are expected.
    spec
        Model (:class:`~volresearch.models.ModelSpec` or a label such as
        ``"gjr-sged"``).
    in_sample, out_of_sample
        Window lengths: bar counts (int, or strings like ``"500bars"``) or
        calendar spans (pandas offsets/Timedeltas, strings ``"3M"``, ``"2W"``,
        ``"10D"``, ``"6h"``).  Defaults: 3 months (at least
        ``MIN_DEFAULT_IN_SAMPLE`` returns) and 1 month; a quarter and a
        twelfth of the returns (nine out-of-sample windows) when the data
        span less than a year.
    step
        Bars between consecutive forecast origins.
    horizon
        Forecast horizon ``h`` in bars (the target is the h-bar log return).
    refit_every
        Re-estimate every this many bars inside the out-of-sample period
        (None: one fit per window).
    n_paths
        Ensemble members per forecast (model and baseline alike).
    levels
        Central interval levels scored.
    seed
        Root seed of every draw.
    baseline
        Naive baseline volatility: ``"ewma"`` (RiskMetrics 0.94) or
        ``"historical"`` (rolling RMS, 250 returns); options in
        ``baseline_options``.
    expanding
        Anchor every fit at the first return instead of rolling the in-sample.
    client, scheduler
        Run windows as Dask tasks: a ``dask.distributed.Client``, or a
        scheduler name (``"threads"``, ``"processes"``, ``"synchronous"``);
        None runs serially.  Results are identical either way.
    label
        Name of the series in summaries.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    DataError
        Unusable bars or no window fits the data.
    ConfigError
        Invalid options.
    """
    prep = _prepare(
        0, label, bars, spec, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=n_paths, levels=levels, seed=seed, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    return _assemble(prep, _execute(prep.tasks, client, scheduler))


@dataclass(frozen=True)
class GridResult:
    """Walk-forwards of several models on several series, run as one task graph.

    Attributes
    ----------
    table
        Tidy table, one row per (instrument, model): ``instrument``,
        ``model``, ``dist``, ``spec`` (label) and the :func:`forecast_metrics`
        figures.
    results
        ``(instrument, spec label) -> WalkForwardResult``.
    """

    table: pd.DataFrame
    results: Mapping[tuple[str, str], WalkForwardResult]

    def __getitem__(self, key: tuple[str, str]) -> WalkForwardResult:
        return self.results[key]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the table as records and each result's :meth:`~WalkForwardResult.to_dict`."""
        return _jsonable(
            {
                "table": _records(self.table),
                "results": {f"{i}/{s}": r.to_dict() for (i, s), r in self.results.items()},
            }
        )

    def summary(self) -> str:
        """The headline columns of the table as text."""
        cols = [
            c
            for c in ("instrument", "spec", "n_forecasts", "crps_improvement", "pit_ad_pvalue", "coverage_95",
                      "christoffersen_pvalue_95", "efficiency")
            if c in self.table.columns
        ]  # fmt: skip
        return f"Walk-forward grid: {len(self.results)} runs\n" + self.table[cols].to_string(index=False)


def walk_forward_grid(
    datasets: Mapping[str, pd.DataFrame | pd.Series],
    specs: Sequence[ModelSpec | str],
    *,
    client: Any = None,
    scheduler: Any = None,
    **kwargs: Any,
) -> GridResult:
    """Walk-forward every model on every series; all windows in one task graph.

    Parameters
    ----------
    datasets
        Instrument name -> bars.
    specs
        Models to evaluate.
    client, scheduler
        As in :func:`walk_forward`: the instruments x models x windows tasks
        are computed together (serially when both are None).
    **kwargs
        Options of :func:`walk_forward` (same layout, seed and paths for all).

    Returns
    -------
    GridResult
    """
    if not datasets:
        raise ConfigError("datasets is empty")
    spec_list = [_as_spec(s) for s in specs]
    if not spec_list:
        raise ConfigError("specs is empty")
    labels = [s.label + ("" if s.mean == "constant" else f"-{s.mean}") for s in spec_list]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"specs must be distinct, got {labels}")
    preps: list[_Prepared] = []
    for name, bars in datasets.items():
        r = _returns_of(bars)
        ppy = _periods_per_year(r.index)
        for spec in spec_list:
            preps.append(_prepare(len(preps), name, bars, spec, returns=r, periods_per_year=ppy, **kwargs))
    tasks = [t for p in preps for t in p.tasks]
    outputs = _execute(tasks, client, scheduler)
    results: dict[tuple[str, str], WalkForwardResult] = {}
    rows = []
    for p in preps:
        res = _assemble(p, outputs)
        lbl = labels[spec_list.index(p.spec)]
        results[(str(p.label), lbl)] = res
        rows.append({"instrument": p.label, "spec": lbl, **forecast_metrics(res)})
    table = pd.DataFrame(rows)
    table = table[["instrument", "spec", "model", "dist", *[c for c in table.columns if c not in
                                                              ("instrument", "spec", "model", "dist", "label")]]]
    return GridResult(table=table, results=results)
