"""Signals: from a forecast distribution at a horizon to trading decisions.

* :mod:`~volresearch.signals.zones` - weighted histogram of the horizon
  prices, support/resistance zones around its density peaks, directional
  bias, targets and stop (:func:`analyze_distribution`).
* :mod:`~volresearch.signals.confidence` - confidence levels from the relative
  dispersion ``std / price`` against per-instrument thresholds
  (``config/thresholds.yaml``, 24-hour horizon), decision flags, and
  calibration of the thresholds from backtest outcomes.
* :mod:`~volresearch.signals.positions` - entry criteria, capped half-Kelly
  and risk-per-trade sizing, confidence-gated take-profit/stop moves, the
  spike-versus-grind stop rule, costs and slippage.

Inputs are plain arrays of path prices at the horizon (with optional weights),
or any object with an ``at(step)`` method and an optional ``weights``
attribute.  Quantiles follow :mod:`volresearch.quantiles`; invalid options
raise :class:`volresearch.errors.SignalError`.
"""

from __future__ import annotations

from volresearch.signals.confidence import (
    DEFAULT_TARGET_HIT_RATES,
    FLAG_CAPS,
    REFERENCE_HORIZON_MINUTES,
    ConfidenceAssessment,
    ConfidenceCalculator,
    ConfidenceLevel,
    LevelThresholds,
    ThresholdsFile,
    calibrate_thresholds,
    confidence_cap,
    default_thresholds_path,
    downgrade_for_flags,
    load_thresholds,
    model_flags,
)
from volresearch.signals.positions import (
    ContractSpec,
    EntryDecision,
    ManagementDecision,
    Position,
    PositionConfig,
    PositionManager,
    PositionSizer,
    SizeResult,
    classify_stop_breach,
    kelly_fraction,
)
from volresearch.signals.zones import (
    DistributionAnalysis,
    StopZone,
    Zone,
    analyze_distribution,
    directional_bias,
    drift_standard_error,
    histogram_bins,
    horizon_sample,
    horizon_step,
    weighted_moments,
)

__all__ = [
    "FLAG_CAPS",
    "confidence_cap",
    "downgrade_for_flags",
    "model_flags",
    "DEFAULT_TARGET_HIT_RATES",
    "REFERENCE_HORIZON_MINUTES",
    "ConfidenceAssessment",
    "ConfidenceCalculator",
    "ConfidenceLevel",
    "ContractSpec",
    "DistributionAnalysis",
    "EntryDecision",
    "LevelThresholds",
    "ManagementDecision",
    "Position",
    "PositionConfig",
    "PositionManager",
    "PositionSizer",
    "SizeResult",
    "StopZone",
    "ThresholdsFile",
    "Zone",
    "analyze_distribution",
    "calibrate_thresholds",
    "classify_stop_breach",
    "default_thresholds_path",
    "directional_bias",
    "histogram_bins",
    "horizon_sample",
    "horizon_step",
    "kelly_fraction",
    "load_thresholds",
    "weighted_moments",
    "drift_standard_error",
]
