"""Monte Carlo path engine: GARCH-family price paths at scale, reproducibly.

* :func:`simulate_paths` -> :class:`Paths` (full log-price matrix) or
  :class:`Fan` (streamed per-step quantile bands in ``O(paths + steps)``
  memory), from a model name in :data:`MODELS`, parameters in per-bar
  log-return units, per-path initial states and an innovation table.
* :func:`build_ppf_table` -> :class:`PpfTable`: any standardised
  innovation law with a vectorised ppf (normal, Student-t, skew-t, GED,
  skewed GED...) sampled by table inverse cdf inside the numba kernels.
* :func:`advance_paths` and :class:`StreamState`: in-place state advance
  with restorable per-path Philox streams, for particle filters.
* :func:`variance_forecast` / :func:`cumulative_return_variance`: the
  analytic expectations the simulation must match.

* :func:`simulate_fit`: paths from a fitted model's end-of-sample state.
* :class:`ParticleFilter` (log-space weights, systematic / stratified /
  multinomial resampling, snapshots) and :class:`RollingForecaster` (the
  rolling 24-hour forecast kept current bar by bar).

Kernels live in :mod:`volresearch.simulate.kernels` (numba) with numpy twins; result
objects in :mod:`volresearch.simulate.results`.  Quantiles follow :mod:`volresearch.quantiles`.
"""

from __future__ import annotations

from ._rng import StreamState, philox_key
from .engine import innovation_logpdf, innovation_table, simulate_fit
from .filter_adapters import FILTER_ADAPTERS, FilterAdapter, filter_adapter, filter_support, register_filter_adapter
from .innovations import PpfTable, build_ppf_table
from .kernels import EGARCH, GARCH, GJR
from .particle_filter import GarchStateSpace, ParticleFilter, PriceObservation, StochVolStateSpace
from .paths import (
    BAND_BLOCK,
    DEFAULT_QUANTILES,
    MODELS,
    SUMMARY_HORIZONS,
    SUMMARY_LEVELS,
    Fan,
    Paths,
    advance_paths,
    cumulative_return_variance,
    session_step_times,
    simulate_paths,
    variance_forecast,
    weighted_quantile,
)
from .rolling import FORECAST_HORIZONS, BarForecast, RollingForecaster
from .sv_filter import SVFilterResult, sv_filter
from .sv_state_space import SVFilterAdapter, SVStateSpace

__all__ = [
    "FILTER_ADAPTERS",
    "FilterAdapter",
    "filter_adapter",
    "filter_support",
    "register_filter_adapter",
    "innovation_logpdf",
    "BarForecast",
    "FORECAST_HORIZONS",
    "GarchStateSpace",
    "ParticleFilter",
    "PriceObservation",
    "RollingForecaster",
    "StochVolStateSpace",
    "innovation_table",
    "simulate_fit",
    "BAND_BLOCK",
    "DEFAULT_QUANTILES",
    "EGARCH",
    "GARCH",
    "GJR",
    "MODELS",
    "SUMMARY_HORIZONS",
    "SUMMARY_LEVELS",
    "Fan",
    "Paths",
    "PpfTable",
    "StreamState",
    "advance_paths",
    "build_ppf_table",
    "cumulative_return_variance",
    "philox_key",
    "session_step_times",
    "simulate_paths",
    "variance_forecast",
    "weighted_quantile",
    "SVFilterAdapter",
    "SVFilterResult",
    "SVStateSpace",
    "sv_filter",
]
