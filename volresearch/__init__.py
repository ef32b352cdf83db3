"""volresearch: volatility research and Monte Carlo price forecasting.

Layers (arrows go one way)::

    data -> models -> simulate -> signals -> validate -> surfaces (plots, reports, dashboard, cli)

The names below are the public API; they are imported on first use so that
``import volresearch`` stays fast (plotting and Dask load only when asked for).
"""

from __future__ import annotations

import importlib
from typing import Any

from volresearch.errors import ConfigError, DataError, FitError, SimulationError, VolresearchError

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    # data
    "load_bars": "volresearch.data",
    "validate_bars": "volresearch.data",
    "open_bars": "volresearch.data",
    "datasets": "volresearch.data",
    "synthetic_bars": "volresearch.data",
    "QualityReport": "volresearch.data",
    "Store": "volresearch.data.store",
    "TickAggregator": "volresearch.data.ticks",
    # models
    "ModelSpec": "volresearch.models",
    "Fit": "volresearch.models",
    "fit_garch": "volresearch.models",
    "conditional_volatility": "volresearch.models",
    "rolling_volatility": "volresearch.models",
    "compare_fits": "volresearch.models",
    "likelihood_ratio_test": "volresearch.models",
    "news_impact_curve": "volresearch.models",
    "CalibrationPipeline": "volresearch.models",
    "SkewedGED": "volresearch.models",
    # simulate
    "simulate_fit": "volresearch.simulate.engine",
    "simulate_paths": "volresearch.simulate.paths",
    "Paths": "volresearch.simulate.paths",
    "Fan": "volresearch.simulate.paths",
    "ParticleFilter": "volresearch.simulate.particle_filter",
    "RollingForecaster": "volresearch.simulate.rolling",
    # signals
    "analyze_distribution": "volresearch.signals",
    "ConfidenceCalculator": "volresearch.signals",
    # validate
    "stylized_facts": "volresearch.validate",
    "compare_stylized_facts": "volresearch.validate",
    "calibration_report": "volresearch.validate",
    "walk_forward": "volresearch.validate.walkforward",
    "compare_models": "volresearch.validate.compare",
}

__all__ = [
    "__version__",
    "VolresearchError",
    "DataError",
    "FitError",
    "ConfigError",
    "SimulationError",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'volresearch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
