r"""Per-criterion verdicts of a walk-forward and the overall verdict.

The overall verdict answers one question: *is this forecast calibrated, and
does it beat the naive baseline significantly?*  Each criterion is reported
with its value, its threshold and pass/fail:

``pit_uniform``
    Anderson-Darling test of PIT uniformity: p > 0.10.
``coverage_95``
    Empirical coverage of the central 95% interval inside the acceptance band
    of :func:`coverage_band`: the wider of 94-96% and the two-sided 95%
    binomial acceptance interval of a calibrated forecaster with ``n``
    forecasts.  With few forecasts sampling noise alone moves a calibrated
    coverage by more than a percentage point (s.d. about 1.0 point at 500
    forecasts), so a fixed 94-96% would fail calibrated forecasters about half
    the time; with many forecasts the fixed band keeps the criterion
    economically meaningful instead of rejecting 95.2% at a million forecasts.
``christoffersen_independence_95``
    Christoffersen test that the 95% violations do not cluster: p > 0.05.
``dm_crps_vs_naive``
    One-sided Diebold-Mariano test (Harvey-Leybourne-Newbold correction, HAC
    over the forecast overlap ``ceil(horizon / step)``) that the model's mean
    CRPS is lower than the naive baseline's: p < 0.05.
``worst_bucket_coverage_95`` (intraday bars)
    Largest deviation of the 95% coverage from 0.95 over the 4-hour UTC
    buckets with enough forecasts
    (:attr:`~volresearch.validate.walkforward_results.WalkForwardResult.buckets`)
    within the bucket's own band: the wider of 2 percentage points and the
    binomial half-width for that bucket's count.

Informational lines (shown, never part of the verdict):

``crps_improvement_ge_10pct``
    The original target of a CRPS at least 10% below the naive baseline.  The
    baseline is volatility-aware (EWMA random walk): at short horizons most of
    a forecast's CRPS is the irreducible spread of the outcome, and a
    conditional-volatility model and an EWMA differ only in the second-order
    detail of that spread, so even a perfectly calibrated model typically
    gains 0-3%.  The significance of the gain (the DM test) is what counts.
``efficiency_gt_0.5``
    Out-of-sample over in-sample log-score gain above 0.5.

Calibrated means the PIT, coverage, independence (and, intraday, bucket)
criteria hold; "beats naive" means the DM criterion holds.  A criterion that
cannot be evaluated (too few forecasts, no 95% level) is reported with
``passed`` None and does not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from volresearch._util import jsonable

if TYPE_CHECKING:
    from volresearch.validate.walkforward_results import WalkForwardResult

__all__ = [
    "Criterion",
    "Verdict",
    "coverage_band",
    "walk_forward_criteria",
    "walk_forward_verdict",
    "CRPS_SKILL_NOTE",
    "PIT_AD_THRESHOLD",
    "INDEPENDENCE_ALPHA",
    "DM_ALPHA",
    "COVERAGE_FLOOR",
    "BUCKET_FLOOR",
]

PIT_AD_THRESHOLD = 0.10
"""PIT uniformity passes when the Anderson-Darling p-value exceeds this."""
INDEPENDENCE_ALPHA = 0.05
"""Christoffersen independence passes when its p-value exceeds this."""
DM_ALPHA = 0.05
"""The model beats the naive baseline when the one-sided DM p-value is below this."""
COVERAGE_FLOOR = 0.01
"""Half-width of the fixed 95% coverage band (94-96%)."""
BUCKET_FLOOR = 0.02
"""Smallest tolerated deviation of one time-of-day bucket's 95% coverage."""
CRPS_SKILL_NOTE = (
    "informational: against a volatility-aware naive (EWMA random walk) most of the CRPS at short horizons is the "
    "outcome's irreducible spread, so even a calibrated model rarely gains 10%; the DM test decides"
)

CALIBRATION = ("pit_uniform", "coverage_95", "christoffersen_independence_95", "worst_bucket_coverage_95")
SKILL = ("dm_crps_vs_naive",)


@dataclass(frozen=True)
class Criterion:
    """One criterion of the verdict.

    Attributes
    ----------
    name
        Key (``pit_uniform``, ``coverage_95``, ...).
    description
        What is checked, in words.
    value
        The measured value (NaN when it cannot be computed).
    threshold
        The pass condition in words (``"> 0.10"``, ``"in [0.9400, 0.9600]"``).
    passed
        Verdict; None when the criterion cannot be evaluated.
    informational
        Shown but not part of the overall verdict.
    note
        Why an informational criterion is not counted, or other context.
    """

    name: str
    description: str
    value: float
    threshold: str
    passed: bool | None
    informational: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})

    def line(self) -> str:
        """One line of text: ``[pass] name: value (threshold)``."""
        mark = "info" if self.informational else ("n/a" if self.passed is None else ("pass" if self.passed else "FAIL"))
        if self.informational and self.passed is not None:
            mark = f"info: {'met' if self.passed else 'not met'}"
        v = "n/a" if not math.isfinite(self.value) else f"{self.value:.4g}"
        return f"[{mark}] {self.name} = {v} (required {self.threshold}): {self.description}"


@dataclass(frozen=True)
class Verdict:
    """The overall verdict.

    Attributes
    ----------
    passed
        Calibrated and beats the naive baseline.
    calibrated
        Every applicable calibration criterion holds (None: none applicable).
    beats_naive
        The DM criterion holds (None: not evaluable).
    text
        One sentence answering the question.
    """

    passed: bool
    calibrated: bool | None
    beats_naive: bool | None
    text: str

    @property
    def label(self) -> str:
        """``"PASS"`` or ``"FAIL"``."""
        return "PASS" if self.passed else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields plus ``label``."""
        return {
            "label": self.label,
            "passed": self.passed,
            "calibrated": self.calibrated,
            "beats_naive": self.beats_naive,
            "text": self.text,
        }


def coverage_band(n: int, level: float = 0.95, *, floor: float = COVERAGE_FLOOR) -> tuple[float, float]:
    """Acceptance band of the empirical coverage of a calibrated ``level`` interval over ``n`` forecasts.

    The wider of ``[level - floor, level + floor]`` and the two-sided 95%
    binomial acceptance interval ``[Binom.ppf(0.025; n, level) / n,
    Binom.ppf(0.975; n, level) / n]``.

    Parameters
    ----------
    n
        Number of forecasts (>= 1).
    level
        Nominal coverage.
    floor
        Half-width of the fixed band.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    n = int(n)
    if n < 1:
        return (level - floor, level + floor)
    lo, hi = stats.binom.ppf([0.025, 0.975], n, level) / n
    return (float(min(level - floor, lo)), float(max(level + floor, hi)))


def _at95(result: WalkForwardResult, col: str) -> float:
    cov = result.report.coverage
    row = cov.loc[np.isclose(cov["level"], 0.95)]
    return float(row[col].iloc[0]) if len(row) else math.nan


def _dm(result: WalkForwardResult) -> tuple[float, float, float, int]:
    """(p-value, statistic, mean CRPS differential, HAC horizon) of the one-sided DM test, NaN when not computable."""
    from volresearch.validate.scores import diebold_mariano

    f = result.forecasts
    h = max(1, math.ceil(int(result.config.get("horizon", 1)) / max(1, int(result.config.get("step", 1)))))
    if len(f) < max(3, h + 1) or "crps" not in f or "base_crps" not in f:
        return math.nan, math.nan, math.nan, h
    a = f["crps"].to_numpy(dtype=float)
    b = f["base_crps"].to_numpy(dtype=float)
    t = diebold_mariano(a, b, h=h, alternative="less")
    return t.pvalue, t.statistic, t.mean_differential, h


def walk_forward_criteria(result: WalkForwardResult) -> list[Criterion]:
    """Every criterion of a walk-forward, counted ones first, informational lines last (see the module docstring)."""
    out: list[Criterion] = []
    n = result.n_forecasts
    p_ad = float(result.report.pit.ad_pvalue) if n else math.nan
    out.append(
        Criterion(
            "pit_uniform",
            "PIT uniform (Anderson-Darling p-value)",
            p_ad,
            f"> {PIT_AD_THRESHOLD:g}",
            None if not math.isfinite(p_ad) else bool(p_ad > PIT_AD_THRESHOLD),
        )
    )
    cov = result.coverage(0.95) if n else math.nan
    lo, hi = coverage_band(n)
    out.append(
        Criterion(
            "coverage_95",
            f"95% interval coverage ({n:,} forecasts; band: the wider of 94-96% and the binomial 95% interval)",
            cov,
            f"in [{lo:.4f}, {hi:.4f}]",
            None if not math.isfinite(cov) else bool(lo <= cov <= hi),
        )
    )
    p_ind = _at95(result, "p_ind") if n else math.nan
    out.append(
        Criterion(
            "christoffersen_independence_95",
            "95% violations independent (Christoffersen p-value)",
            p_ind,
            f"> {INDEPENDENCE_ALPHA:g}",
            None if not math.isfinite(p_ind) else bool(p_ind > INDEPENDENCE_ALPHA),
        )
    )
    b = result.buckets
    if b is not None and 0.95 in b.levels:
        worst = b.worst_deviation(0.95)
        name = b.worst_bucket(0.95)
        if name is not None and math.isfinite(worst):
            n_b = int(b.table.loc[b.table["bucket"] == name, "n"].iloc[0])
            blo, bhi = coverage_band(n_b, floor=BUCKET_FLOOR)
            bound = max(0.95 - blo, bhi - 0.95)
            desc = f"worst 4-hour UTC bucket's 95% coverage deviation (bucket {name}, {n_b:,} forecasts)"
            out.append(Criterion("worst_bucket_coverage_95", desc, worst, f"<= {bound:.4f}", bool(worst <= bound)))
        else:
            out.append(
                Criterion(
                    "worst_bucket_coverage_95",
                    f"worst 4-hour UTC bucket's 95% coverage deviation (no bucket has {b.min_count} forecasts)",
                    math.nan,
                    f"<= {BUCKET_FLOOR:g} or the bucket's binomial half-width",
                    None,
                )
            )
    p_dm, stat, diff, h = _dm(result)
    out.append(
        Criterion(
            "dm_crps_vs_naive",
            f"model CRPS significantly below the naive baseline's (one-sided Diebold-Mariano p-value, HAC lag {h}; "
            + (
                "statistic n/a)"
                if not math.isfinite(stat)
                else f"statistic {stat:+.3f}, mean differential {diff:+.3g})"
            ),
            p_dm,
            f"< {DM_ALPHA:g}",
            None if not math.isfinite(p_dm) else bool(p_dm < DM_ALPHA),
        )
    )
    skill = result.crps_improvement
    out.append(
        Criterion(
            "crps_improvement_ge_10pct",
            "CRPS at least 10% below the naive baseline (skill = 1 - CRPS / naive CRPS)",
            skill,
            ">= 0.10",
            None if not math.isfinite(skill) else bool(skill >= 0.10),
            informational=True,
            note=CRPS_SKILL_NOTE,
        )
    )
    eff = result.efficiency
    out.append(
        Criterion(
            "efficiency_gt_0.5",
            "out-of-sample over in-sample log-score gain",
            eff,
            "> 0.5",
            None if not math.isfinite(eff) else bool(eff > 0.5),
            informational=True,
            note="informational: a stability indicator, not a test of calibration or skill",
        )
    )
    return out


def walk_forward_verdict(criteria: list[Criterion]) -> Verdict:
    """Overall verdict from :func:`walk_forward_criteria`: calibrated and significantly better than naive."""
    counted = {c.name: c.passed for c in criteria if not c.informational}
    cal = [v for k, v in counted.items() if k in CALIBRATION and v is not None]
    skill = [v for k, v in counted.items() if k in SKILL and v is not None]
    calibrated = None if not cal else all(cal)
    beats = None if not skill else all(skill)
    passed = bool(calibrated) and bool(beats)
    failed = [k for k, v in counted.items() if v is False]
    if passed:
        text = "PASS: the forecast is calibrated and beats the naive baseline significantly (DM test, 5%)."
    else:
        parts = [
            "calibrated" if calibrated else ("not calibrated" if calibrated is False else "calibration not evaluable"),
            "beats the naive baseline significantly"
            if beats
            else ("does not beat the naive baseline significantly" if beats is False else "DM test not evaluable"),
        ]
        text = f"FAIL: the forecast is {parts[0]} and {parts[1]}" + (
            f" (failed: {', '.join(failed)})." if failed else "."
        )
    return Verdict(passed=passed, calibrated=calibrated, beats_naive=beats, text=text)
