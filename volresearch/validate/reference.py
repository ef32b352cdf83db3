"""A built-in reference competitor: ``arch``'s own simulation forecast on the walk-forward's windows.

:func:`arch_reference` fits ``arch``'s GARCH-family model (by default
GJR(1,1,1) with Hansen's skewed Student-t) and forecasts the ``h``-bar log
return with ``arch``'s ``forecast(method="simulation")`` on exactly the
windows, refit points and forecast origins of :func:`~volresearch.validate.walk_forward`:
both take them from the same layout functions
(:mod:`volresearch.validate.walkforward_plan`), so they are identical by
construction.  The ensembles are scored by the package's own functions (PIT,
interval hits from the one quantile rule, sorted-form CRPS, coverage by
time-of-day bucket), so any gap between a model and ``arch`` is a gap between
forecasts, not between metrics.

Per window ``k`` and refit segment (see the walk-forward layout):

* the fit uses the returns ``r[lo .. hi - 1]`` of the segment's sample (the
  window's in-sample at first, then the trailing in-sample length, or all
  returns from ``a_k`` when expanding), multiplied by a power of ten that
  brings their standard deviation near 1 (``arch`` optimises best on that
  scale); a fit that does not converge keeps the previous parameters;
* the forecast at origin ``t`` filters the variance with the parameters held
  fixed through ``r[lo .. t]`` (``arch`` backcasts its start from the first
  returns of that span) and simulates ``n_sims`` paths of ``h`` returns;
* **diurnal variant** (``diurnal=True``): before the fit the returns are
  divided by a time-of-day factor ``s_b``, the mean ``|r|`` of their
  ``diurnal_minutes`` bucket of the UTC day over the fit's sample
  (buckets without returns, or whose mean is zero, take the mean of the
  others), normalised so that the sample's ``mean(s_b^2)`` is 1; the simulated
  returns are multiplied back by the factor of their own bucket before they
  are summed.  The factor comes from the fit's sample only: nothing after the
  refit point enters a forecast.

**Seeds.**  Each (window, segment) draws from ``numpy.random.SeedSequence(seed,
spawn_key=(window, 2, segment))`` through the distribution's generator, the
origins of a segment in order; identical seeds give identical numbers.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import ConfigError
from volresearch.models import ModelSpec
from volresearch.validate._common import DEFAULT_LEVELS
from volresearch.validate.buckets import DEFAULT_MIN_COUNT, BucketCalibration, calibration_by_bucket, is_intraday
from volresearch.validate.calibration import CalibrationReport
from volresearch.validate.walkforward_plan import (
    BaselineName,
    Span,
    _baseline_sigma,
    _closing_prices,
    _Config,
    _config,
    _grid_tick,
    _plan,
    _returns_of,
    _Window,
    level_name,
)
from volresearch.validate.walkforward_run import _PURPOSE_PIT, _concat, _score, _Scores, _targets

__all__ = ["ARCH_DISTRIBUTIONS", "ARCH_MODELS", "ReferenceResult", "arch_reference", "arch_spec"]

_PURPOSE_REFERENCE = 2

ARCH_MODELS: dict[str, tuple[str, int, int, int]] = {
    "garch": ("GARCH", 1, 0, 1),
    "gjr": ("GARCH", 1, 1, 1),
    "egarch": ("EGARCH", 1, 1, 1),
}
"""Model name -> (``arch`` volatility process, p, o, q)."""
ARCH_DISTRIBUTIONS: dict[str, str] = {
    "normal": "Normal",
    "t": "StudentsT",
    "skewt": "SkewStudent",
    "ged": "GeneralizedError",
}
"""Innovation law -> ``arch`` distribution class."""


def arch_spec(spec: ModelSpec | str, mean: str = "zero") -> ModelSpec:
    """The model ``arch`` forecasts for ``spec``: same process and law where ``arch`` has them.

    Parameters
    ----------
    spec
        A :class:`~volresearch.models.ModelSpec` or a label such as ``"gjr-skewt"``.
    mean
        Mean used when ``spec`` is a label (a ModelSpec keeps its own).

    Raises
    ------
    ConfigError
        The law (e.g. ``sged``) or process has no ``arch`` counterpart.
    """
    if isinstance(spec, str):
        if "-" not in spec:
            raise ConfigError(f"reference spec must be a label such as 'gjr-skewt', got {spec!r}")
        model, dist = spec.split("-", 1)
        if model not in ARCH_MODELS or dist not in ARCH_DISTRIBUTIONS:
            raise ConfigError(
                f"arch has no {spec!r}; choose a model in {sorted(ARCH_MODELS)} and a law in "
                f"{sorted(ARCH_DISTRIBUTIONS)} (arch has no skewed GED: use 'skewt')"
            )
        return ModelSpec(model, dist, mean)  # type: ignore[arg-type]
    if spec.model not in ARCH_MODELS or spec.dist not in ARCH_DISTRIBUTIONS:
        raise ConfigError(
            f"arch has no {spec.label!r}; choose a model in {sorted(ARCH_MODELS)} and a law in "
            f"{sorted(ARCH_DISTRIBUTIONS)} (arch has no skewed GED: use 'skewt')"
        )
    return spec


# ================================================================= result
@dataclass(frozen=True)
class ReferenceResult:
    """``arch``'s forecasts scored on the walk-forward's windows.

    Attributes
    ----------
    spec
        The ``arch`` model (process, law, mean).
    diurnal
        Whether the crude time-of-day scaling was applied.
    diurnal_minutes
        Width of its buckets.
    n_sims
        Simulated paths per forecast.
    seed
        Root seed.
    forecasts
        One row per forecast: ``origin``, ``origin_pos``, ``target_end``,
        ``window``, ``fit_id``, ``target``, ``mean``, ``std``, ``pit``,
        ``crps``, ``lo_<L>``, ``hi_<L>``, ``hit_<L>`` (violations).
    fits
        Every fit: ``window``, ``fit_id``, ``sample_start``, ``sample_end``
        (positions), ``converged``, ``used`` (parameters adopted), ``scale``
        (factor applied to the returns), ``persistence`` and the ``arch``
        parameters (in scaled units).
    report
        :class:`~volresearch.validate.calibration.CalibrationReport` of the forecasts.
    buckets
        :class:`~volresearch.validate.buckets.BucketCalibration` by 4-hour UTC
        bucket of the origin (intraday bars), else None.
    model_crps
        Mean CRPS of the model it is compared with (None when run alone).
    """

    spec: ModelSpec
    diurnal: bool
    diurnal_minutes: int
    n_sims: int
    seed: int
    forecasts: pd.DataFrame
    fits: pd.DataFrame
    report: CalibrationReport
    buckets: BucketCalibration | None
    model_crps: float | None = None

    @property
    def label(self) -> str:
        """``"arch gjr-skewt"`` (``+ " x 30-min diurnal"`` for the diurnal variant)."""
        return f"arch {self.spec.label}" + (f" x {self.diurnal_minutes}-min diurnal" if self.diurnal else "")

    @property
    def crps(self) -> float:
        """Mean CRPS (log-return units)."""
        return float(self.report.crps_mean)

    def coverage(self, level: float = 0.95) -> float:
        """Empirical coverage of the central ``level`` interval."""
        row = self.report.coverage.loc[np.isclose(self.report.coverage["level"], level)]
        return float(row["coverage"].iloc[0]) if len(row) else math.nan

    @property
    def crps_ratio_vs_model(self) -> float:
        """Reference CRPS / model CRPS (above 1: the model is better); NaN without a model."""
        if self.model_crps is None or not self.model_crps > 0:
            return math.nan
        return self.crps / self.model_crps

    @property
    def worst_bucket_deviation_95(self) -> float:
        """Largest ``|coverage_95 - 0.95|`` over 4-hour buckets with enough forecasts (NaN if none)."""
        return self.buckets.worst_deviation(0.95) if self.buckets is not None else math.nan

    def with_model_crps(self, crps: float) -> ReferenceResult:
        """The same result compared with a model of mean CRPS ``crps``."""
        return dataclasses.replace(self, model_crps=float(crps))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe headline: ``spec``, ``label``, ``crps``, coverages, PIT, buckets and the CRPS ratio."""
        d: dict[str, Any] = {
            "spec": self.spec.to_dict() | {"label": self.spec.label, "package": "arch"},
            "label": self.label,
            "diurnal": self.diurnal,
            "diurnal_minutes": self.diurnal_minutes if self.diurnal else None,
            "n_sims": self.n_sims,
            "seed": self.seed,
            "n_forecasts": int(len(self.forecasts)),
            "crps": self.crps,
        }
        for lv in self.report.coverage["level"]:
            d[f"coverage_{level_name(lv)}"] = self.coverage(float(lv))
        d.update(
            {
                "pit_ad_pvalue": float(self.report.pit.ad_pvalue),
                "pit_ks_pvalue": float(self.report.pit.ks_pvalue),
                "coverage_95_by_bucket": self.buckets.coverage_by_bucket(0.95) if self.buckets is not None else None,
                "worst_bucket_deviation_95": self.worst_bucket_deviation_95,
                "crps_ratio_vs_model": self.crps_ratio_vs_model,
                "n_fits": int(len(self.fits)),
                "n_failed_fits": int((~self.fits["converged"].astype(bool)).sum()) if len(self.fits) else 0,
                "persistence_mean": float(self.fits["persistence"].mean()) if len(self.fits) else math.nan,
            }
        )
        return jsonable(d)

    def summary(self) -> str:
        """Two lines: CRPS (and ratio), coverage, PIT, worst bucket."""
        ratio = self.crps_ratio_vs_model
        line = f"  reference {self.label}: CRPS {self.crps:.6g}"
        if math.isfinite(ratio):
            line += f" (reference / model = {ratio:.4f})"
        line += (
            f", 95% coverage {self.coverage(0.95):.4f}, 50% coverage {self.coverage(0.5):.4f}, "
            f"PIT AD p = {self.report.pit.ad_pvalue:.4f}"
        )
        if self.buckets is not None and math.isfinite(self.worst_bucket_deviation_95):
            line += (
                f"; worst 4-hour bucket {self.buckets.worst_bucket(0.95)} off by {self.worst_bucket_deviation_95:.4f}"
            )
        return line


# ================================================================ helpers
def _minute_of_day(index: pd.Index) -> np.ndarray:
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError("the diurnal reference needs bars with a DatetimeIndex")
    utc = index.tz_convert("UTC") if index.tz is not None else index
    return np.asarray(utc.hour * 60 + utc.minute, dtype=np.int64)


def diurnal_factor(returns: np.ndarray, buckets: np.ndarray, n_buckets: int) -> np.ndarray:
    """Crude time-of-day factor: mean ``|r|`` per bucket, normalised to ``mean(s^2) = 1`` over the sample.

    Parameters
    ----------
    returns
        Returns of the estimation sample.
    buckets
        Bucket of each return (integers in ``[0, n_buckets)``).
    n_buckets
        Buckets of the day.

    Returns
    -------
    numpy.ndarray
        Factor per bucket (length ``n_buckets``); buckets without returns, or
        with mean ``|r|`` zero, take the mean of the others.
    """
    absr = np.abs(np.asarray(returns, dtype=float))
    counts = np.bincount(buckets, minlength=n_buckets).astype(float)
    sums = np.bincount(buckets, weights=absr, minlength=n_buckets)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = sums / counts
    good = np.isfinite(s) & (s > 0)
    if not good.any():
        return np.ones(n_buckets)
    s = np.where(good, s, s[good].mean())
    return s / math.sqrt(float(np.mean(s[buckets] ** 2)))


def _scale_of(x: np.ndarray) -> float:
    sd = float(np.std(x))
    if not sd > 0 or not math.isfinite(sd):
        return 1.0
    return float(10.0 ** round(-math.log10(sd)))


def _arch_model(x: np.ndarray, spec: ModelSpec, generator: np.random.Generator | None) -> Any:
    from arch.univariate import EGARCH, GARCH, ConstantMean, ZeroMean
    from arch.univariate import distribution as arch_dist

    proc, p, o, q = ARCH_MODELS[spec.model]
    vol = GARCH(p=p, o=o, q=q) if proc == "GARCH" else EGARCH(p=p, o=o, q=q)
    dist = getattr(arch_dist, ARCH_DISTRIBUTIONS[spec.dist])(seed=generator)
    mean_cls = ZeroMean if spec.mean == "zero" else ConstantMean
    return mean_cls(x, volatility=vol, distribution=dist, rescale=False)


def _persistence(spec: ModelSpec, params: pd.Series) -> float:
    if spec.model == "egarch":
        return float(params.get("beta[1]", math.nan))
    return float(params.get("alpha[1]", 0.0) + params.get("gamma[1]", 0.0) / 2.0 + params.get("beta[1]", 0.0))


@dataclass(frozen=True)
class _Fitted:
    fit_id: int
    lo: int
    scale: float
    factor: np.ndarray | None
    params: pd.Series


def _run_reference(
    returns: pd.Series,
    plan: Sequence[_Window],
    cfg: _Config,
    spec: ModelSpec,
    *,
    n_sims: int,
    diurnal: bool,
    diurnal_minutes: int,
    min_count: int,
    closes: np.ndarray | None = None,
) -> ReferenceResult:
    values = np.ascontiguousarray(returns.to_numpy(dtype=np.float64))
    index = returns.index
    h, levels = cfg.horizon, cfg.levels
    k = len(levels)
    n_b = 1440 // diurnal_minutes
    bucket = _minute_of_day(index) // diurnal_minutes if diurnal else None
    parts: list[_Scores] = []
    cols: dict[str, list[np.ndarray]] = {"origin_pos": [], "window": [], "fit_id": [], "target": []}
    fit_rows: list[dict[str, Any]] = []
    for w in plan:
        points = np.concatenate([[w.b - 1], w.refits]).astype(np.int64)
        seg_of = np.searchsorted(points, w.origins, side="right") - 1
        n_is_len = w.b - w.a
        current: _Fitted | None = None
        tick = _grid_tick(closes, w.a, w.b)
        for s, point in enumerate(points):
            lo = w.a if (s == 0 or cfg.expanding) else max(0, int(point) + 1 - n_is_len)
            hi = int(point) + 1
            sample = values[lo:hi]
            scale = _scale_of(sample)
            factor = diurnal_factor(sample, bucket[lo:hi], n_b) if bucket is not None else None
            x = sample * scale if factor is None else sample * scale / factor[bucket[lo:hi]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = _arch_model(x, spec, None).fit(disp="off")
            converged = int(res.convergence_flag) == 0 and bool(np.all(np.isfinite(res.params)))
            used = converged or current is None
            if used:
                current = _Fitted(s, lo, scale, factor, res.params)
            fit_rows.append(
                {
                    "window": w.window,
                    "fit_id": s,
                    "sample_start": lo,
                    "sample_end": hi,
                    "converged": converged,
                    "used": used,
                    "scale": scale,
                    "persistence": _persistence(spec, res.params),
                    **{str(name): float(v) for name, v in res.params.items()},
                }
            )
            sel = seg_of == s
            if not sel.any():
                continue
            assert current is not None
            origins = w.origins[sel]
            gen = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(w.window, _PURPOSE_REFERENCE, s)))
            ens = np.empty((origins.size, n_sims))
            for i, t in enumerate(origins):
                seg = values[current.lo : int(t) + 1] * current.scale
                if current.factor is not None:
                    assert bucket is not None
                    seg = seg / current.factor[bucket[current.lo : int(t) + 1]]
                model = _arch_model(seg, spec, gen)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fc = model.forecast(
                        current.params, horizon=h, method="simulation", simulations=n_sims, reindex=False
                    )
                sims = np.asarray(fc.simulations.values[-1], dtype=np.float64)  # (n_sims, h)
                if current.factor is not None:
                    assert bucket is not None
                    sims = sims * current.factor[bucket[int(t) + 1 : int(t) + 1 + h]]
                ens[i] = sims.sum(axis=1) / current.scale
            y = _targets(values, 0, origins, h)
            grid = None
            if closes is not None and tick is not None:
                grid = (closes[origins], tick, np.random.SeedSequence([cfg.seed, w.window, _PURPOSE_PIT, s, 2]))
            parts.append(_score(ens, y, levels, grid))
            cols["origin_pos"].append(origins)
            cols["window"].append(np.full(origins.size, w.window, dtype=np.int64))
            cols["fit_id"].append(np.full(origins.size, current.fit_id, dtype=np.int64))
            cols["target"].append(y)
    sc = _concat(parts, k)
    pos = np.concatenate(cols["origin_pos"]) if cols["origin_pos"] else np.empty(0, dtype=np.int64)
    data: dict[str, Any] = {
        "origin": index[pos],
        "origin_pos": pos,
        "target_end": index[pos + h],
        "window": np.concatenate(cols["window"]) if cols["window"] else np.empty(0, dtype=np.int64),
        "fit_id": np.concatenate(cols["fit_id"]) if cols["fit_id"] else np.empty(0, dtype=np.int64),
        "target": np.concatenate(cols["target"]) if cols["target"] else np.empty(0),
        "mean": sc.mean,
        "std": sc.std,
        "pit": sc.pit,
        "crps": sc.crps,
    }
    y_all = data["target"]
    for j, lv in enumerate(levels):
        name = level_name(lv)
        data[f"lo_{name}"] = sc.lo[:, j]
        data[f"hi_{name}"] = sc.hi[:, j]
        data[f"hit_{name}"] = ((y_all < sc.lo[:, j]) | (y_all > sc.hi[:, j])).astype(np.int8)
    fc_frame = pd.DataFrame(data)
    hits = pd.DataFrame(
        {lv: fc_frame[f"hit_{level_name(lv)}"].to_numpy() for lv in levels}, columns=pd.Index(levels, name="level")
    )
    report = CalibrationReport.from_components(fc_frame["pit"], hits, fc_frame["crps"], n_members=n_sims)
    buckets = None
    if is_intraday(index):
        buckets = calibration_by_bucket(
            fc_frame["origin"], hits, fc_frame["pit"].to_numpy(), min_count=min_count, n_members=n_sims
        )
    return ReferenceResult(
        spec=spec,
        diurnal=bool(diurnal),
        diurnal_minutes=int(diurnal_minutes),
        n_sims=int(n_sims),
        seed=int(cfg.seed),
        forecasts=fc_frame,
        fits=pd.DataFrame(fit_rows),
        report=report,
        buckets=buckets,
    )


def _check_reference_options(n_sims: Any, diurnal_minutes: Any, min_count: Any) -> None:
    for name, v in (("n_sims", n_sims), ("diurnal_minutes", diurnal_minutes), ("min_count", min_count)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if 1440 % int(diurnal_minutes):
        raise ConfigError(f"diurnal_minutes must divide 1440, got {diurnal_minutes}")


# ================================================================= public
def arch_reference(
    bars: pd.DataFrame | pd.Series,
    spec: ModelSpec | str = "gjr-skewt",
    *,
    mean: str | None = None,
    in_sample: Span = None,
    out_of_sample: Span = None,
    step: int = 1,
    horizon: int = 1,
    refit_every: int | None = None,
    expanding: bool = False,
    baseline: BaselineName = "ewma",
    baseline_options: Mapping[str, Any] | None = None,
    levels: Sequence[float] = DEFAULT_LEVELS,
    n_sims: int = 2_000,
    seed: int = 0,
    diurnal: bool = False,
    diurnal_minutes: int = 30,
    min_count: int = DEFAULT_MIN_COUNT,
) -> ReferenceResult:
    """``arch``'s simulation forecasts on the walk-forward's windows, scored by the package's metrics.

    Parameters
    ----------
    bars
        Bars (``close`` column) or a price Series, sorted by time.
    spec
        Model for ``arch`` (label or ModelSpec; see :func:`arch_spec`):
        ``garch``/``gjr``/``egarch`` with ``normal``/``t``/``skewt``/``ged``.
    mean
        ``"auto"`` (zero for intraday bars, constant for daily), ``"zero"`` or
        ``"constant"``; ``None``: a ModelSpec keeps its own, a label takes ``"auto"``.
    in_sample, out_of_sample, step, horizon, refit_every, expanding, baseline, baseline_options, levels
        The walk-forward layout, as in :func:`~volresearch.validate.walk_forward`
        (the baseline matters: origins in its warm-up are skipped there, so here too).
    n_sims
        Simulated paths per forecast.
    seed
        Root seed.
    diurnal
        Apply the crude time-of-day scaling (see the module docstring).
    diurnal_minutes
        Width of the time-of-day buckets (divides 1440).
    min_count
        Forecasts a 4-hour bucket needs to count for the worst bucket.

    Returns
    -------
    ReferenceResult
    """
    from volresearch.validate.walkforward import _resolve_spec

    _check_reference_options(n_sims, diurnal_minutes, min_count)
    r = _returns_of(bars)
    resolved = _resolve_spec(spec, mean, r.index)
    aspec = arch_spec(resolved)
    cfg = _config(
        r.index, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=n_sims, levels=levels, seed=seed, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    plan = _plan(r.index, _baseline_sigma(np.ascontiguousarray(r.to_numpy(dtype=np.float64)), cfg), cfg)
    if not plan:
        raise ConfigError("no walk-forward window fits the data with this layout")
    return _run_reference(
        r, plan, cfg, aspec, n_sims=n_sims, diurnal=diurnal, diurnal_minutes=diurnal_minutes, min_count=min_count,
        closes=_closing_prices(bars, r),
    )  # fmt: skip
