r"""Calibration of ensemble (path) forecasts: the one report per set of forecasts.

A forecast for target ``t`` is an ensemble: a row of ``n_members`` simulated
values of the target (for example the cumulative log return over the horizon,
one value per simulated path), optionally with member weights (particle
weights).  ``ensembles`` is an array of shape ``(n_forecasts, n_members)`` and
``observations`` the realised targets, shape ``(n_forecasts,)``, in the same
units.

The statistics live in three modules, re-exported here:

* :mod:`~volresearch.validate.uniformity`: PIT (the ensemble's empirical CDF at the
  outcome) and its uniformity tests (Anderson-Darling, Kolmogorov-Smirnov,
  chi-square);
* :mod:`~volresearch.validate.coverage`: ensemble quantiles (the package's one
  rule, :mod:`volresearch.quantiles`), interval coverage with the Kupiec and
  Christoffersen tests, VaR and expected-shortfall backtests;
* :mod:`~volresearch.validate.scores`: CRPS, QLIKE/MSE variance losses and the
  Diebold-Mariano test.

:func:`calibration_report` bundles the verdicts one forecast window needs;
:meth:`CalibrationReport.from_components` builds the same report from PITs,
hit sequences and CRPS values pooled over windows or computed in closed form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from volresearch._util import jsonable
from volresearch._util import jsonable as _jsonable  # noqa: F401  (name kept for existing importers)
from volresearch.errors import DataError
from volresearch.validate._common import (
    DEFAULT_LEVELS,
    Alternative,
    SeedLike,
    _array,
    _ensembles_and_obs,
)
from volresearch.validate.coverage import (
    LRTest,
    acerbi_szekely_z2,
    christoffersen_conditional_coverage,
    christoffersen_independence,
    coverage_table,
    ensemble_quantiles,
    ensemble_var_es,
    interval_coverage,
    interval_hits,
    kupiec_pof,
    var_backtest,
)
from volresearch.validate.scores import (
    DMTest,
    crps_ensemble,
    crps_normal,
    crps_skill,
    diebold_mariano,
    mean_crps,
    mse_var,
    qlike,
)
from volresearch.validate.uniformity import (
    PITUniformity,
    anderson_darling_uniform,
    ensemble_size,
    pit,
    pit_uniformity,
)

__all__ = [
    "DEFAULT_LEVELS",
    "INFORMATIONAL",
    "LRTest",
    "PITUniformity",
    "DMTest",
    "CalibrationReport",
    "Alternative",
    "SeedLike",
    "ensemble_quantiles",
    "ensemble_size",
    "pit",
    "anderson_darling_uniform",
    "pit_uniformity",
    "kupiec_pof",
    "christoffersen_independence",
    "christoffersen_conditional_coverage",
    "interval_hits",
    "coverage_table",
    "interval_coverage",
    "ensemble_var_es",
    "acerbi_szekely_z2",
    "var_backtest",
    "crps_ensemble",
    "crps_normal",
    "mean_crps",
    "crps_skill",
    "qlike",
    "mse_var",
    "diebold_mariano",
    "calibration_report",
]


# =============================================================== report
INFORMATIONAL = frozenset({"crps_improvement_ge_10pct"})
"""Criteria shown but not counted in :attr:`CalibrationReport.passed`."""


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration verdicts of one set of forecasts (for example one walk-forward window).

    Attributes
    ----------
    n_forecasts
        Number of forecasts.
    pit
        :class:`PITUniformity` of the PIT values.
    coverage
        :func:`coverage_table` of the interval hit sequences.
    crps_mean
        Mean CRPS (target units).
    baseline_crps_mean, crps_skill
        Mean CRPS of the baseline and :func:`crps_skill`, or None without a
        baseline.
    criteria
        Named verdicts (None when not applicable):
        ``pit_ad_p_gt_0.10`` (PIT uniform, AD p > 0.10),
        ``coverage_95_in_94_96`` (95% interval coverage within 94-96%),
        ``christoffersen_independence_95`` (independence of the 95% interval
        violations not rejected at 5%),
        ``crps_improvement_ge_10pct`` (CRPS at least 10% below the baseline;
        informational, not part of :attr:`passed`: against a volatility-aware
        naive baseline even a calibrated model rarely gains 10% at short
        horizons, see :mod:`volresearch.validate.verdicts`).
    """

    n_forecasts: int
    pit: PITUniformity
    coverage: pd.DataFrame
    crps_mean: float
    baseline_crps_mean: float | None
    crps_skill: float | None
    criteria: dict[str, bool | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """All applicable calibration criteria hold (the informational CRPS line does not count)."""
        return all(v for k, v in self.criteria.items() if v is not None and k not in INFORMATIONAL)

    @classmethod
    def from_components(
        cls,
        pits: ArrayLike,
        hits: pd.DataFrame | Mapping[float, ArrayLike],
        crps: ArrayLike,
        *,
        baseline_crps: ArrayLike | float | None = None,
        n_members: ArrayLike | float | None = None,
        n_bins: int = 10,
    ) -> CalibrationReport:
        """Build the report from PIT values, hit sequences and per-forecast CRPS.

        Use it to pool several windows (concatenate the components first) or
        for closed-form forecasts (analytic PIT, :func:`crps_normal`).
        ``n_members``: ensemble size(s) behind ensemble PITs
        (:func:`~volresearch.validate.uniformity.pit_uniformity`); ``None`` for
        continuous forecasts.
        """
        u = _array(pits, "pits", ndim=1)
        c = _array(crps, "crps", ndim=1)
        if c.size != u.size:
            raise DataError(f"crps has {c.size} values but pits has {u.size}", column="crps", rule="shape")
        uni = pit_uniformity(u, n_members=n_members, n_bins=n_bins)
        cov = coverage_table(hits)
        if (cov["n"] != u.size).any():
            raise DataError("hit sequences must have one value per forecast", column="hits", rule="shape")
        cmean = float(c.mean())
        if baseline_crps is None:
            bmean = skill = None
        else:
            bmean = float(np.mean(_array(baseline_crps, "baseline_crps", ndim=(0, 1))))
            skill = crps_skill(c, bmean)
        row95 = cov.loc[np.isclose(cov["level"], 0.95)]
        criteria: dict[str, bool | None] = {
            "pit_ad_p_gt_0.10": uni.passed,
            "coverage_95_in_94_96": bool(0.94 <= float(row95["coverage"].iloc[0]) <= 0.96) if len(row95) else None,
            "christoffersen_independence_95": (
                bool(float(row95["p_ind"].iloc[0]) >= 0.05)
                if len(row95) and np.isfinite(row95["p_ind"].iloc[0])
                else None
            ),
            "crps_improvement_ge_10pct": None if skill is None else bool(skill >= 0.10),
        }
        return cls(
            n_forecasts=int(u.size),
            pit=uni,
            coverage=cov,
            crps_mean=cmean,
            baseline_crps_mean=bmean,
            crps_skill=skill,
            criteria=criteria,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (coverage as a list of row records)."""
        return jsonable(
            {
                "n_forecasts": self.n_forecasts,
                "pit": self.pit.to_dict(),
                "coverage": self.coverage,
                "crps_mean": self.crps_mean,
                "baseline_crps_mean": self.baseline_crps_mean,
                "crps_skill": self.crps_skill,
                "criteria": self.criteria,
                "passed": self.passed,
            }
        )

    def summary(self) -> str:
        """A few lines of plain text for logs and notebooks."""
        lines = [
            f"Calibration of {self.n_forecasts} forecasts: {'calibrated' if self.passed else 'NOT calibrated'}",
            f"  PIT: AD p = {self.pit.ad_pvalue:.4f}, KS p = {self.pit.ks_pvalue:.4f}, "
            f"chi2 p = {self.pit.chi2_pvalue:.4f}, shape = {self.pit.shape}",
        ]
        for r in self.coverage.itertuples(index=False):
            lines.append(
                f"  {r.level:.0%} interval: coverage {r.coverage:.4f}, Kupiec p = {r.p_pof:.4f}, "
                f"independence p = {r.p_ind:.4f}, conditional coverage p = {r.p_cc:.4f}"
            )
        crps = f"  CRPS mean = {self.crps_mean:.6g}"
        if self.crps_skill is not None:
            crps += f" (baseline {self.baseline_crps_mean:.6g}, skill {self.crps_skill:+.2%})"
        lines.append(crps)
        for k, v in self.criteria.items():
            if k in INFORMATIONAL:
                lines.append(f"  [info: {'n/a' if v is None else ('met' if v else 'not met')}] {k}")
            else:
                lines.append(f"  [{'n/a' if v is None else ('pass' if v else 'FAIL')}] {k}")
        return "\n".join(lines)


def calibration_report(
    ensembles: ArrayLike,
    observations: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    levels: Sequence[float] = DEFAULT_LEVELS,
    baseline_crps: ArrayLike | float | None = None,
    randomize_ties: bool = False,
    seed: SeedLike = None,
    fair: bool = False,
    n_bins: int = 10,
) -> CalibrationReport:
    """PIT uniformity, interval coverage and CRPS of ensemble forecasts in one report.

    Parameters
    ----------
    ensembles, observations, weights
        As in :func:`pit`.
    levels
        Central interval levels for :func:`interval_hits`.
    baseline_crps
        Per-forecast CRPS of a naive baseline on the same targets (or its
        mean), for the CRPS-improvement criterion.
    randomize_ties, seed
        PIT rule (:func:`pit`).
    fair
        Fair ensemble CRPS (:func:`crps_ensemble`).
    n_bins
        Histogram bins of the chi-square PIT test.
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    u = pit(x, y, weights=weights, randomize_ties=randomize_ties, seed=seed)
    hits = interval_hits(x, y, levels, weights=weights)
    c = crps_ensemble(x, y, weights=weights, fair=fair)
    size = ensemble_size(x, weights=weights)
    return CalibrationReport.from_components(u, hits, c, baseline_crps=baseline_crps, n_members=size, n_bins=n_bins)
