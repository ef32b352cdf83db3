"""Validation: stylized facts of returns and calibration of ensemble forecasts.

* :mod:`~volresearch.validate.stylized`: the stylized-facts checklist of a
  return series (fat tails, clustering, leverage, unit roots) and a side-by-side
  comparison of real and simulated returns.
* :mod:`~volresearch.validate.uniformity`: the PIT (an ensemble's empirical
  CDF at the outcome) and its uniformity tests (Anderson-Darling, KS, chi-square).
* :mod:`~volresearch.validate.coverage`: ensemble quantiles by the package's
  one rule (:mod:`volresearch.quantiles`), interval coverage
  (Kupiec/Christoffersen), VaR/ES backtests (Acerbi-Szekely).
* :mod:`~volresearch.validate.scores`: CRPS, variance-forecast losses and the
  Diebold-Mariano test.
* :mod:`~volresearch.validate.calibration`: :func:`calibration_report` per
  forecast window (and every name of the three modules above).
* :mod:`~volresearch.validate.baselines`: random-walk baselines (historical and
  EWMA volatility of the cascade) scored in closed form or as ensembles.
* :mod:`~volresearch.validate.walkforward` (layout in ``walkforward_plan``,
  execution in ``walkforward_run``, results in ``walkforward_results``) and
  :mod:`~volresearch.validate.compare`: out-of-sample evaluation of models.
* :mod:`~volresearch.validate.buckets`: coverage and PIT uniformity per
  time-of-day bucket (4-hour UTC windows, session segments) with the worst
  bucket's deviation.
* :mod:`~volresearch.validate.reference`: ``arch``'s own simulation forecast
  (GJR-skew-t by default, optionally with a crude time-of-day scaling) on the
  walk-forward's exact windows, scored by the same metrics.
"""

from __future__ import annotations

from volresearch.validate.baselines import (
    VOLATILITY_ESTIMATORS,
    GaussianForecast,
    cumulative_returns,
    ewma_volatility,
    historical_volatility,
    random_walk_forecast,
)
from volresearch.validate.calibration import (
    DEFAULT_LEVELS,
    CalibrationReport,
    DMTest,
    LRTest,
    PITUniformity,
    acerbi_szekely_z2,
    anderson_darling_uniform,
    calibration_report,
    christoffersen_conditional_coverage,
    christoffersen_independence,
    coverage_table,
    crps_ensemble,
    crps_normal,
    crps_skill,
    diebold_mariano,
    ensemble_quantiles,
    ensemble_size,
    ensemble_var_es,
    interval_coverage,
    interval_hits,
    kupiec_pof,
    mean_crps,
    mse_var,
    pit,
    pit_uniformity,
    qlike,
    var_backtest,
)
from volresearch.validate.stylized import (
    acf_table,
    compare_stylized_facts,
    hill_estimator,
    hill_k,
    returns_from_paths,
    significant_lags,
    stylized_facts,
)

__all__ = [
    "DEFAULT_LEVELS",
    "VOLATILITY_ESTIMATORS",
    "CalibrationReport",
    "DMTest",
    "GaussianForecast",
    "LRTest",
    "PITUniformity",
    "acerbi_szekely_z2",
    "acf_table",
    "anderson_darling_uniform",
    "calibration_report",
    "christoffersen_conditional_coverage",
    "christoffersen_independence",
    "compare_stylized_facts",
    "coverage_table",
    "crps_ensemble",
    "crps_normal",
    "crps_skill",
    "cumulative_returns",
    "diebold_mariano",
    "ensemble_quantiles",
    "ensemble_size",
    "ensemble_var_es",
    "ewma_volatility",
    "hill_estimator",
    "hill_k",
    "historical_volatility",
    "interval_coverage",
    "interval_hits",
    "kupiec_pof",
    "mean_crps",
    "mse_var",
    "pit",
    "pit_uniformity",
    "qlike",
    "random_walk_forecast",
    "returns_from_paths",
    "significant_lags",
    "stylized_facts",
    "var_backtest",
]

# walk-forward evaluation and model comparison
from volresearch.validate.compare import ComparisonResult, compare_models  # noqa: E402
from volresearch.validate.walkforward import (  # noqa: E402
    GridResult,
    WalkForwardResult,
    forecast_metrics,
    walk_forward,
    walk_forward_grid,
    walk_forward_windows,
)

__all__ += [
    "ComparisonResult",
    "GridResult",
    "WalkForwardResult",
    "compare_models",
    "forecast_metrics",
    "walk_forward",
    "walk_forward_grid",
    "walk_forward_windows",
]

# conditional calibration and the reference competitor
from volresearch.validate.buckets import BucketCalibration, calibration_by_bucket  # noqa: E402
from volresearch.validate.reference import ReferenceResult, arch_reference  # noqa: E402

__all__ += ["BucketCalibration", "ReferenceResult", "arch_reference", "calibration_by_bucket"]

# verdicts of a walk-forward: every criterion with its value and threshold, and the overall verdict
from volresearch.validate.verdicts import (  # noqa: E402
    Criterion,
    Verdict,
    coverage_band,
    walk_forward_criteria,
    walk_forward_verdict,
)

__all__ += ["Criterion", "Verdict", "coverage_band", "walk_forward_criteria", "walk_forward_verdict"]
