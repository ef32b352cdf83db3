"""Walk-forward results: the pooled evaluation of one model on one series and its headline figures."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.models import ModelSpec
from volresearch.validate.buckets import DEFAULT_MIN_COUNT, BucketCalibration, calibration_by_bucket
from volresearch.validate.calibration import CalibrationReport
from volresearch.validate.verdicts import Criterion, Verdict, walk_forward_criteria, walk_forward_verdict
from volresearch.validate.walkforward_plan import level_name

if TYPE_CHECKING:
    from volresearch.data.calendar import TradingCalendar
    from volresearch.validate.reference import ReferenceResult

__all__ = ["WalkForwardResult", "forecast_metrics"]


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
    n_returns
        Log returns in the series.
    meta
        ``periods_per_year``, ``intraday`` (bars shorter than a day),
        ``min_count`` and ``calendar`` (name) when given.
    reference
        :class:`~volresearch.validate.reference.ReferenceResult` of the
        reference competitor on the same windows, or None.
    calendar
        Session calendar for :attr:`session_buckets`, or None.
    model
        Registry name when the model was fitted through the registry
        (``intraday-gjr-sged``...); None for a GARCH-family spec, whose
        :attr:`spec` says it all.  :attr:`spec` of a registry model is the
        specification of its GARCH component.
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
    reference: ReferenceResult | None = field(default=None, compare=False)
    calendar: TradingCalendar | None = field(default=None, compare=False)
    model: str | None = None

    @property
    def component(self) -> tuple[str, str | None]:
        """``(model, dist)`` of the evaluated model's GARCH part, or ``(registry name, None)`` for a model
        without one (Heston, SVCJ, Merton: :attr:`spec` is then only the spec of the ``arch`` reference)."""
        if self.model is None or self.spec.label in self.model:
            return self.spec.model, self.spec.dist
        return self.model, None

    @property
    def model_name(self) -> str:
        """Registry name of the model evaluated (the spec's label for a GARCH-family spec)."""
        return self.model if self.model is not None else self.spec.label

    def calibration_by_bucket(
        self, scheme: str = "utc4h", *, calendar: Any = None, by: str = "origin", min_count: int | None = None
    ) -> BucketCalibration:
        """Coverage of every level and PIT uniformity per time-of-day bucket.

        Parameters
        ----------
        scheme
            ``"utc4h"`` (4-hour windows of the UTC day, or ``"utc<H>h"``) or
            ``"session"`` (segments of ``calendar``'s sessions, default the
            walk-forward's calendar).
        calendar
            Calendar for ``scheme="session"``.
        by
            Time of each forecast: ``"origin"`` or ``"target_end"``.
        min_count
            Forecasts a bucket needs to count for the worst bucket (default:
            the walk-forward's, 100).

        Returns
        -------
        BucketCalibration
        """
        if by not in ("origin", "target_end"):
            raise ValueError(f"by must be 'origin' or 'target_end', got {by!r}")
        cal = calendar if calendar is not None else self.calendar
        return calibration_by_bucket(
            self.forecasts[by],
            self.hits,
            self.forecasts["pit"].to_numpy(),
            scheme=scheme,
            calendar=cal,
            min_count=int(min_count if min_count is not None else self.meta.get("min_count", DEFAULT_MIN_COUNT)),
            n_members=int(self.config["n_paths"]),
        )

    @cached_property
    def buckets(self) -> BucketCalibration | None:
        """Calibration by 4-hour UTC bucket of the origin for intraday bars, else None."""
        if not self.meta.get("intraday", False) or not len(self.forecasts):
            return None
        return self.calibration_by_bucket("utc4h")

    @cached_property
    def session_buckets(self) -> BucketCalibration | None:
        """Calibration by session segment of the origin when a calendar was given (intraday bars), else None."""
        if self.calendar is None or not self.meta.get("intraday", False) or not len(self.forecasts):
            return None
        return self.calibration_by_bucket("session")

    @property
    def worst_bucket_deviation_95(self) -> float:
        """Largest ``|coverage_95 - 0.95|`` over 4-hour buckets with enough forecasts (NaN: daily bars or none)."""
        b = self.buckets
        return b.worst_deviation(0.95) if b is not None and 0.95 in b.levels else math.nan

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
    def fallbacks(self) -> pd.DataFrame:
        """Windows whose fit failed, so that the volatility cascade's EWMA answered instead of the model.

        One row per such window: ``window``, ``oos_start_time``, ``oos_end_time`` (the window's
        out-of-sample period), ``fallback_start``, ``fallback_end`` (origins of the first and last
        forecast the fallback made: it answers until a refit succeeds), ``n_forecasts`` (made by the
        fallback), ``requested`` (the model label asked for), ``answered`` (``"ewma"``) and ``reason``
        (why the fit was refused).
        """
        cols = ["window", "oos_start_time", "oos_end_time", "fallback_start", "fallback_end", "n_forecasts",
                "requested", "answered", "reason"]  # fmt: skip
        if not len(self.windows):
            return pd.DataFrame(columns=cols)
        failed = self.windows.loc[self.windows["method"] == "ewma"]
        fb = self.forecasts.loc[self.forecasts["fit_id"] < 0] if len(self.forecasts) else self.forecasts
        rows = []
        for w in failed.itertuples(index=False):
            sub = fb.loc[fb["window"] == w.window] if len(fb) else fb
            rows.append(
                {
                    "window": int(w.window),
                    "oos_start_time": w.oos_start_time,
                    "oos_end_time": w.oos_end_time,
                    "fallback_start": sub["origin"].iloc[0] if len(sub) else None,
                    "fallback_end": sub["origin"].iloc[-1] if len(sub) else None,
                    "n_forecasts": int(len(sub)),
                    "requested": self.model_name,
                    "answered": str(w.method),
                    "reason": str(w.reason),
                }
            )
        return pd.DataFrame(rows, columns=cols)

    @cached_property
    def criteria(self) -> list[Criterion]:
        """Every criterion with its value, threshold and verdict (:func:`~volresearch.validate.verdicts.walk_forward_criteria`).

        PIT uniformity, 95% coverage, Christoffersen independence, the worst
        time-of-day bucket (intraday bars) and the one-sided Diebold-Mariano
        test against the naive baseline count; the 10% CRPS improvement and
        the efficiency are informational lines.
        """
        return walk_forward_criteria(self)

    @property
    def verdict(self) -> Verdict:
        """Overall verdict: calibrated and significantly better than the naive baseline (DM test)."""
        return walk_forward_verdict(self.criteria)

    @property
    def passed(self) -> bool:
        """Whether the overall verdict passes."""
        return self.verdict.passed

    def metrics(self) -> dict[str, Any]:
        """Headline figures as a flat JSON-safe dict (see :func:`forecast_metrics`)."""
        return forecast_metrics(self)

    def to_dict(self, *, include_forecasts: bool = False) -> dict[str, Any]:
        """JSON-safe dictionary: spec, config, metrics, criteria, verdict, reports, windows, stability.

        ``criteria`` is a list of ``{name, description, value, threshold, passed, informational, note}``
        and ``verdict`` ``{label, passed, calibrated, beats_naive, text}``; forecasts on request.
        """
        d: dict[str, Any] = {
            "label": self.label,
            "model": self.model_name,
            "spec": self.spec.to_dict(),
            "config": dict(self.config),
            "n_returns": self.n_returns,
            "metrics": self.metrics(),
            "criteria": [c.to_dict() for c in self.criteria],
            "verdict": self.verdict.to_dict(),
            "report": self.report.to_dict(),
            "baseline_report": self.baseline_report.to_dict(),
            "windows": _records(self.windows.drop(columns=["origins"], errors="ignore")),
            "fits": _records(self.fits),
            "fallbacks": _records(self.fallbacks),
            "stability": _records(self.stability.reset_index()),
            "meta": dict(self.meta),
        }
        b = self.buckets
        if b is not None and 0.95 in b.levels:
            d["coverage_95_by_bucket"] = b.coverage_by_bucket(0.95)
            d["worst_bucket_deviation_95"] = b.worst_deviation(0.95)
            d["worst_bucket_95"] = b.worst_bucket(0.95)
            d["calibration_by_bucket"] = b.to_dict()
        sb = self.session_buckets
        if sb is not None and 0.95 in sb.levels:
            d["coverage_95_by_session_segment"] = sb.coverage_by_bucket(0.95)
            d["worst_session_segment_deviation_95"] = sb.worst_deviation(0.95)
            d["calibration_by_session_segment"] = sb.to_dict()
        if self.reference is not None:
            d["reference"] = self.reference.to_dict()
        if include_forecasts:
            d["forecasts"] = _records(self.forecasts)
        return jsonable(d)

    def summary(self) -> str:
        """Plain-text summary: layout, fits, pooled calibration, efficiency, stability."""
        c = self.config
        n_fb = int((self.windows["method"] == "ewma").sum()) if len(self.windows) else 0
        n_refit = int(self.fits["refit"].sum()) if len(self.fits) else 0
        n_refit_fail = int((self.fits["refit"] & ~self.fits["ok"]).sum()) if len(self.fits) else 0
        lines = [
            f"Walk-forward {self.model_name}{'' if self.label is None else ' on ' + self.label}: "
            f"{self.n_returns} returns, {len(self.windows)} windows "
            f"(in-sample {c['in_sample']}{' expanding' if c['expanding'] else ''}, out-of-sample "
            f"{c['out_of_sample']}{'; defaults shrunk to the data' if c['defaults_shrunk'] else ''}), "
            f"horizon {c['horizon']}, step {c['step']}, refit every {c['refit_every'] or 'window'}, "
            f"{c['n_paths']} paths, seed {c['seed']}",
            f"  fits: {len(self.windows) - n_fb} ok, {n_fb} fell back to EWMA; refits {n_refit} "
            f"({n_refit_fail} failed, previous fit kept)",
            self.report.summary(),
            "  criteria (value, requirement, verdict):",
            *(f"    {c.line()}" for c in self.criteria),
            f"  naive baseline ({c['baseline']}): CRPS {self.crps_naive:.6g}, PIT AD p = "
            f"{self.baseline_report.pit.ad_pvalue:.4f}, 95% coverage {_cov(self.baseline_report):.4f}",
            f"  efficiency = OOS / IS log-score gain over the unconditional law = {self.out_of_sample_score:+.4f}"
            f" / {self.in_sample_score:+.4f} nats per bar = {self.efficiency:.3f} (target > 0.5)",
        ]
        for b in (self.buckets, self.session_buckets):
            if b is not None and 0.95 in b.levels:
                lines.append(b.summary(0.95))
        if self.reference is not None:
            lines.append(self.reference.summary())
        for fb in self.fallbacks.itertuples(index=False):
            lines.append(
                f"  window {fb.window} ({fb.oos_start_time} to {fb.oos_end_time}): {fb.requested} -> "
                f"{fb.answered} for {fb.n_forecasts} forecasts: {fb.reason}"
            )
        if len(self.stability):
            lines.append("  parameter stability (mean, cv):")
            for name, row in self.stability.iterrows():
                lines.append(f"    {name:<12} {row['mean']: .4g}  cv {row['cv']:.3f}")
        lines.append(f"  verdict: {self.verdict.text}")
        return "\n".join(lines)


def _cov(report: CalibrationReport, level: float = 0.95) -> float:
    row = report.coverage.loc[np.isclose(report.coverage["level"], level)]
    return float(row["coverage"].iloc[0]) if len(row) else math.nan


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].map(lambda t: None if pd.isna(t) else pd.Timestamp(t).isoformat())
    return jsonable(out.to_dict(orient="records"))


def forecast_metrics(result: WalkForwardResult) -> dict[str, Any]:
    """Headline figures of a walk-forward as one flat dict.

    Keys: ``model``, ``dist`` (of the GARCH component), ``model_name`` (registry name), ``label``, ``n_windows``, ``n_fallback_windows``,
    ``n_forecasts``, ``crps``, ``crps_naive``, ``crps_improvement``,
    ``pit_ad_pvalue``, ``pit_ad_pvalue_naive``, ``coverage_<L>`` per level,
    ``coverage_95_naive``, ``kupiec_pvalue_95``, ``christoffersen_pvalue_95``
    (independence of the 95% violations, the project criterion),
    ``christoffersen_cc_pvalue_95`` (joint conditional coverage), ``log_score``,
    ``log_score_naive`` (mean log predictive density of the outcomes, kernel density of each ensemble,
    :func:`~volresearch.validate.scores.log_score_ensemble`; higher is better), ``qlike``,
    ``qlike_naive``, ``mse``, ``mse_naive``, ``in_sample_score``,
    ``out_of_sample_score``, ``efficiency``, ``worst_bucket_deviation_95``
    (4-hour UTC buckets, intraday bars; NaN otherwise), ``passed`` (the overall verdict:
    calibrated and significantly better than the naive baseline, see :mod:`volresearch.validate.verdicts`).  Missing values are
    NaN (None in JSON).
    """
    rep = result.report
    cov = rep.coverage
    row95 = cov.loc[np.isclose(cov["level"], 0.95)]

    def at95(col: str) -> float:
        return float(row95[col].iloc[0]) if len(row95) else math.nan

    f = result.forecasts
    d: dict[str, Any] = {
        "model": result.component[0],
        "dist": result.component[1],
        "model_name": result.model_name,
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
            "log_score": float(f["log_score"].mean()) if len(f) else math.nan,
            "log_score_naive": float(f["base_log_score"].mean()) if len(f) else math.nan,
            "qlike": float(f["qlike"].mean()) if len(f) else math.nan,
            "qlike_naive": float(f["base_qlike"].mean()) if len(f) else math.nan,
            "mse": float(f["mse"].mean()) if len(f) else math.nan,
            "mse_naive": float(f["base_mse"].mean()) if len(f) else math.nan,
            "in_sample_score": result.in_sample_score,
            "out_of_sample_score": result.out_of_sample_score,
            "efficiency": result.efficiency,
            "worst_bucket_deviation_95": result.worst_bucket_deviation_95,
            "passed": result.verdict.passed,
        }
    )
    return d
