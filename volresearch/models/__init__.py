"""Volatility and innovation-distribution models fitted to log returns.

Public API: :func:`fit_garch` -> :class:`Fit`, the multiplicative intraday
GARCH (:func:`fit_intraday` -> :class:`IntradayFit`), the result interface
every model offers (:class:`ModelResult`, see :mod:`volresearch.models.base`;
models are looked up by name in :mod:`volresearch.registry`), the robust cascade
(:func:`conditional_volatility`, :func:`rolling_volatility`), the skewed GED
(:class:`SkewedGED`), model comparison helpers and the calibration pipeline.
"""

from volresearch.models.base import ModelResult
from volresearch.models.calibration import CalibrationPipeline, CalibrationResult, load_default_params
from volresearch.models.distributions import DISTRIBUTIONS, get_distribution
from volresearch.models.diurnal import DiurnalFactor, deseasonalise, fit_diurnal
from volresearch.models.garch import MIN_OBSERVATIONS, Fit, ModelSpec, choose_scale, fit_garch
from volresearch.models.har import HARResult, fit_har
from volresearch.models.intraday import IntradayFit, fit_intraday
from volresearch.models.realized import (
    RealizedMeasures,
    bipower_variation,
    jump_statistic,
    range_estimators,
    realized_measures,
    tripower_quarticity,
)
from volresearch.models.robust import (
    EWMA_LAMBDA,
    VOLATILITY_FLOOR,
    VolatilityEstimate,
    conditional_volatility,
    ewma_variance,
    ewma_volatility,
    historical_volatility,
    rolling_historical_volatility,
    rolling_volatility,
)
from volresearch.models.selection import compare_fits, likelihood_ratio_test, news_impact_curve
from volresearch.models.sged import SkewedGED

__all__ = [
    "CalibrationPipeline",
    "CalibrationResult",
    "DISTRIBUTIONS",
    "EWMA_LAMBDA",
    "Fit",
    "IntradayFit",
    "MIN_OBSERVATIONS",
    "ModelResult",
    "ModelSpec",
    "SkewedGED",
    "VOLATILITY_FLOOR",
    "VolatilityEstimate",
    "choose_scale",
    "compare_fits",
    "conditional_volatility",
    "ewma_variance",
    "ewma_volatility",
    "fit_garch",
    "fit_intraday",
    "DiurnalFactor",
    "fit_diurnal",
    "deseasonalise",
    "HARResult",
    "fit_har",
    "RealizedMeasures",
    "realized_measures",
    "range_estimators",
    "bipower_variation",
    "tripower_quarticity",
    "jump_statistic",
    "get_distribution",
    "historical_volatility",
    "likelihood_ratio_test",
    "load_default_params",
    "news_impact_curve",
    "rolling_historical_volatility",
    "rolling_volatility",
]
