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
and forecasts, and one row per such window in
:attr:`~volresearch.validate.walkforward_results.WalkForwardResult.fallbacks`
with its period, the requested and the answered model and the reason) and the volatility cascade's EWMA variance
(:func:`volresearch.models.robust.ewma_variance`, ``lambda = 0.94``, started in
the window's in-sample) answers with Gaussian ensembles until a refit succeeds.

**Ensembles.**  GARCH-family paths from :func:`volresearch.simulate.paths.simulate_paths`
with the fitted innovation law, ``x_0 = 0`` and ``sigma^2_1`` the filtered
variance of ``r[t+1]``; the ensemble is each path's ``h``-bar cumulative log
return.  The baseline (:mod:`volresearch.validate.baselines`: driftless
Gaussian random walk, EWMA or historical volatility from ``r[..t]``) is
sampled with the same number of members and scored by the same functions
(PIT = the ensemble's empirical CDF at the outcome, intervals from the
package's one quantile rule, sorted-form CRPS), so both carry the same
finite-ensemble effects.

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

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import ConfigError, DataError, SimulationError
from volresearch.models import ModelSpec
from volresearch.models.returns import default_mean
from volresearch.validate._common import DEFAULT_LEVELS
from volresearch.validate.buckets import DEFAULT_MIN_COUNT, is_intraday
from volresearch.validate.calibration import CalibrationReport
from volresearch.validate.walkforward_plan import (  # noqa: F401  (private names kept for importers)
    CHUNK_VALUES,
    DEFAULT_IN_SAMPLE,
    DEFAULT_OUT_OF_SAMPLE,
    MIN_DEFAULT_IN_SAMPLE,
    BaselineName,
    Span,
    _baseline_sigma,
    _closing_prices,
    _Config,
    _config,
    _grid_tick,
    _plan,
    _returns_of,
    _span,
    _span_label,
    _Window,
    level_name,
    walk_forward_windows,
)
from volresearch.validate.walkforward_results import WalkForwardResult, _records, forecast_metrics
from volresearch.validate.walkforward_run import (  # noqa: F401  (private names kept for importers)
    _blas_single_thread,
    _execute,
    _run_window,
    _WindowOutput,
    _WindowTask,
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
    model: str | None = None


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


def _resolve_spec(spec: ModelSpec | str, mean: str | None, index: pd.Index) -> ModelSpec:
    """The spec to fit: a ModelSpec keeps its mean unless ``mean`` is given; a label takes ``mean`` or "auto".

    ``"auto"`` is :func:`volresearch.models.returns.default_mean`: zero for intraday bars, constant otherwise.
    """
    base = _as_spec(spec)
    if isinstance(spec, ModelSpec) and mean is None:
        return base
    if isinstance(index, pd.DatetimeIndex):
        index = index.as_unit("ns")  # spacing read in nanoseconds whatever the index's unit
    return ModelSpec(base.model, base.dist, default_mean(index, "auto" if mean is None else mean))


@dataclass(frozen=True)
class _Resolved:
    """The model of a walk-forward: a GARCH-family spec, or a registry model with its component spec."""

    spec: ModelSpec
    name: str | None = None  # registry name (None: the GARCH-family route)
    family: str | None = None


def _resolve_model(model: ModelSpec | str, mean: str | None, index: pd.Index) -> _Resolved:
    """Route a model: a ModelSpec or a GARCH-family name to the spec route, other registry names to the registry.

    A registry model's ``spec`` is its GARCH component (``intraday-gjr-sged``: ``gjr``, ``sged``) with a zero
    mean unless ``mean="constant"``; a model without one (``heston``, ``svcj``, ``merton``, ensembles) gets
    :data:`~volresearch.validate.walkforward_registry.NO_COMPONENT_SPEC`, the spec of the ``arch`` reference.
    """
    if isinstance(model, ModelSpec):
        return _Resolved(_resolve_spec(model, mean, index))
    if not isinstance(model, str):
        raise ConfigError(f"model must be a registry name or a ModelSpec, got {model!r}")
    from volresearch.registry import get_model

    entry = get_model(model)  # ConfigError naming every registered model
    if entry.family == "garch":
        return _Resolved(_resolve_spec(entry.name, mean, index))
    from volresearch.validate.walkforward_registry import NO_COMPONENT_SPEC, get_adapter

    get_adapter(entry.family, entry.name)
    from volresearch.models.distributions import DISTRIBUTIONS
    from volresearch.models.fitting import VOLATILITY_MODELS

    q_model, _, q_dist = entry.name.removeprefix(f"{entry.family}-").partition("-")
    if q_model not in VOLATILITY_MODELS or q_dist not in DISTRIBUTIONS:
        # no GARCH component (Heston, SVCJ, Merton, ensembles): arch's reference spec
        q_model, q_dist = NO_COMPONENT_SPEC.split("-", 1)
    return _Resolved(
        ModelSpec(q_model, q_dist, "constant" if mean == "constant" else "zero"),  # type: ignore[arg-type]
        entry.name,
        entry.family,
    )


def _session_calendar(index: pd.Index, calendar: Any) -> str:
    from volresearch.data.calendar import get_calendar, infer_calendar

    if calendar is not None:
        return get_calendar(calendar).name
    return infer_calendar(pd.DatetimeIndex(index))[0].name


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
    mean: str | None = None,
    calendar: Any = None,
) -> _Prepared:
    r = returns if returns is not None else _returns_of(bars)
    resolved = _resolve_model(spec, mean, r.index)
    spec = resolved.spec
    frame: pd.DataFrame | None = None
    cal_name: str | None = None
    if resolved.name is not None:
        frame = bars.to_frame("close") if isinstance(bars, pd.Series) else bars
        if not isinstance(r.index, pd.DatetimeIndex) or len(frame) != r.size + 1 or not frame.index[1:].equals(r.index):
            raise DataError(
                f"{resolved.name} needs time-stamped bars whose returns are the bar-to-bar log returns",
                column="timestamp",
            )
        cal_name = _session_calendar(r.index, calendar)
    cfg = _config(
        r.index, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=n_paths, levels=levels, seed=seed, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    values = np.ascontiguousarray(r.to_numpy(dtype=np.float64))
    closes = _closing_prices(bars, r)
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
                model_name=resolved.name,
                family=resolved.family,
                bars=None if frame is None else frame.iloc[w.a : stop + 1],
                calendar=cal_name,
                fit_options={} if resolved.name is None else {"mean": spec.mean},
                origin_prices=None if closes is None else closes[w.origins],
                tick=_grid_tick(closes, w.a, w.b),
            )
        )
    return _Prepared(key, label, spec, r, cfg, plan, tasks, resolved.name)


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
    n = cfg.n_paths  # ensemble PITs sit on the grid k / n_paths
    report = CalibrationReport.from_components(fc["pit"], hits, fc["crps"], baseline_crps=fc["base_crps"], n_members=n)
    base_report = CalibrationReport.from_components(fc["base_pit"], base_hits, fc["base_crps"], n_members=n)

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
        model=prep.model,
        n_returns=int(prep.returns.size),
        meta={
            "periods_per_year": prep.tasks[0].periods_per_year if prep.tasks else math.nan,
            "intraday": is_intraday(index),
            **({"calendar": prep.tasks[0].calendar} if prep.tasks and prep.tasks[0].calendar else {}),
            # PIT values are randomised on the price grid when the prices sit on one
            "pit_ticks": sorted({t.tick for t in prep.tasks if t.tick is not None}),
        },
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
    spec: ModelSpec | str | None = None,
    *,
    model: ModelSpec | str | None = None,
    mean: str | None = None,
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
    reference: str | None = None,
    reference_spec: ModelSpec | str = "gjr-skewt",
    reference_options: Mapping[str, Any] | None = None,
    calendar: Any = None,
    min_count: int = DEFAULT_MIN_COUNT,
    quiet: bool | None = None,
) -> WalkForwardResult:
    """Walk-forward out-of-sample evaluation of any registered model's ensemble forecasts.

    See the module docstring for the layout, the no-look-ahead argument, the
    seeds and the definition of the score and efficiency;
    :mod:`volresearch.validate.walkforward_registry` for models fitted and
    simulated through the registry.

    Parameters
    ----------
    bars
        Bars (``close`` column) or a price Series, sorted by time; validated
        bars (:func:`volresearch.data.validate_bars`) are expected.
    spec, model
        The model (give one): a registry name (:func:`volresearch.registry.available_models`:
        ``"gjr-sged"``, ``"intraday-gjr-sged"``...) or a
        :class:`~volresearch.models.ModelSpec`.  GARCH-family models run the
        vectorised spec route; other families are fitted with
        :func:`~volresearch.registry.fit_model` on each window's bars and
        forecast with :func:`~volresearch.registry.simulate_model`.  Default:
        :func:`volresearch.registry.default_model` of the bars (the
        multiplicative intraday GARCH for bars shorter than a day, GJR-SGED
        otherwise).
    mean
        Mean of the fits: ``"auto"`` (:func:`volresearch.models.returns.default_mean`:
        zero for intraday bars, constant for daily), ``"zero"`` or
        ``"constant"``.  ``None`` (default): a ModelSpec keeps its own mean and
        a label takes ``"auto"``.
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
    reference
        Run a reference competitor on exactly the same windows, refit points
        and origins (:mod:`volresearch.validate.reference`): ``"arch"``
        (``arch``'s own simulation forecast of ``reference_spec``) or
        ``"arch-diurnal"`` (the same after a crude 30-minute time-of-day
        scaling); None (default) runs none.
    reference_spec
        Model of the reference: a label (``"gjr-skewt"``, default) or
        ``"same"`` for the evaluated model's spec (refused where ``arch`` lacks
        its law, e.g. ``sged``).
    reference_options
        ``n_sims`` (default ``n_paths``), ``diurnal_minutes`` (30).
    calendar
        Session calendar (name or TradingCalendar) for coverage by session
        segment (first hour, middle, last hour) and for the fits of
        session-aware models; None skips the segments and lets those models
        use the calendar inferred from the bars' time stamps.
    min_count
        Forecasts a time-of-day bucket needs to count for the worst bucket.
    quiet
        ``True``: no progress bar; ``None`` (default): a bar on stderr counting
        completed windows unless :func:`volresearch.progress.set_quiet` is on.

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
    if spec is not None and model is not None:
        raise ConfigError("give the model once: spec= or model=, not both")
    chosen = model if model is not None else spec
    if chosen is None:
        from volresearch.registry import default_model

        chosen = default_model(bars)
    prep = _prepare(
        0, label, bars, chosen, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=n_paths, levels=levels, seed=seed, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding, mean=mean, calendar=calendar,
    )  # fmt: skip
    if reference not in (None, "arch", "arch-diurnal"):
        raise ConfigError(f"reference must be None, 'arch' or 'arch-diurnal', got {reference!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ConfigError(f"min_count must be a positive integer, got {min_count!r}")
    cal = None
    if calendar is not None:
        from volresearch.data.calendar import get_calendar

        cal = get_calendar(calendar)
    run_reference: Callable[[], Any] | None = None
    if reference is not None:
        from volresearch.validate.reference import _check_reference_options, _run_reference, arch_spec

        opts = dict(reference_options or {})
        unknown = set(opts) - {"n_sims", "diurnal_minutes"}
        if unknown:
            raise ConfigError(f"unknown reference options {sorted(unknown)}; use n_sims, diurnal_minutes")
        n_sims = opts.get("n_sims", prep.cfg.n_paths)
        minutes = opts.get("diurnal_minutes", 30)
        _check_reference_options(n_sims, minutes, min_count)
        rspec = (
            arch_spec(prep.spec)
            if reference_spec == "same"
            else arch_spec(_resolve_spec(reference_spec, prep.spec.mean, prep.returns.index))
        )
        run_reference = functools.partial(
            _run_reference, prep.returns, prep.plan, prep.cfg, rspec, n_sims=int(n_sims),
            diurnal=reference == "arch-diurnal", diurnal_minutes=int(minutes), min_count=int(min_count),
        )  # fmt: skip

    result = _assemble(prep, _execute(prep.tasks, client, scheduler, quiet=quiet))
    extra: dict[str, Any] = {"min_count": int(min_count)}
    if cal is not None:
        extra["calendar"] = cal.name
    ref = run_reference().with_model_crps(result.crps) if run_reference is not None else None
    return dataclasses.replace(result, meta={**result.meta, **extra}, reference=ref, calendar=cal)


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
        return jsonable(
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
        Models to evaluate: registry names or ModelSpecs (as ``model`` of :func:`walk_forward`).
    client, scheduler
        As in :func:`walk_forward`: the instruments x models x windows tasks
        are computed together (serially when both are None).
    **kwargs
        Options of :func:`walk_forward` (same layout, seed and paths for all;
        ``quiet`` turns the progress bar off).

    Returns
    -------
    GridResult
    """
    if not datasets:
        raise ConfigError("datasets is empty")
    quiet = kwargs.pop("quiet", None)
    if not specs:
        raise ConfigError("specs is empty")
    labels = [
        s if isinstance(s, str) else _as_spec(s).label + ("" if _as_spec(s).mean == "constant" else f"-{s.mean}")
        for s in specs
    ]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"specs must be distinct, got {labels}")
    preps: list[tuple[_Prepared, str]] = []
    for name, bars in datasets.items():
        r = _returns_of(bars)
        ppy = _periods_per_year(r.index)
        for spec, lbl in zip(specs, labels, strict=True):
            prep = _prepare(len(preps), name, bars, spec, returns=r, periods_per_year=ppy, **kwargs)
            preps.append((prep, lbl))
    tasks = [t for p, _ in preps for t in p.tasks]
    outputs = _execute(tasks, client, scheduler, quiet=quiet)
    results: dict[tuple[str, str], WalkForwardResult] = {}
    rows = []
    for p, lbl in preps:
        res = _assemble(p, outputs)
        results[(str(p.label), lbl)] = res
        rows.append({"instrument": p.label, "spec": lbl, **forecast_metrics(res)})
    table = pd.DataFrame(rows)
    table = table[
        [
            "instrument",
            "spec",
            "model",
            "dist",
            *[c for c in table.columns if c not in ("instrument", "spec", "model", "dist", "label")],
        ]
    ]
    return GridResult(table=table, results=results)
