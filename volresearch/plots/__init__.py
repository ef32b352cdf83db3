"""Figures for volatility research and Monte Carlo forecasts (HoloViews).

Every function takes plain pandas/numpy inputs (documented per function) and
returns a HoloViews object: an Element, an Overlay or a Layout.  The same
object serves an interactive notebook or a Panel dashboard (bokeh backend:
``hv.extension('bokeh')`` in the caller) and a static report image
(matplotlib backend: :func:`render_png`).  Options for both backends are
attached to each object, so it looks right whichever renders it; the library
never calls ``hv.extension`` and never changes the caller's current backend.

The module depends on nothing of volresearch but its error classes: a
forecast object enters through a documented method (``quantiles(levels)`` for
:func:`fan_chart`, ``to_frame()`` for zones), not by import.

Figures
-------
fan_chart
    Nested central quantile bands, median, history, sample and realised paths,
    price zones.
zone_bands
    Support/resistance/neutral zones as horizontal spans with labels.
diurnal_chart, step_volatility_chart
    Intraday variance factor by time of day with its confidence band; the
    volatility of each forecast step on a session-time axis.
pit_histogram, acf_plot, parameter_drift, coverage_plot, ess_plot
    Calibration and model diagnostics.
price_and_returns, conditional_volatility_plot, news_impact_plot
    Data and volatility-model figures.
ensemble_weights_chart, attribution_chart
    An ensemble's pool weights over time; the attribution of adaptive weight moves to meta-features.
render_png
    Any of the above to a PNG with matplotlib.
"""

from __future__ import annotations

from volresearch.plots._common import MissingQuantileWarning, PlotWarning, ensure_backends
from volresearch.plots.diagnostics import acf_plot, coverage_plot, ess_plot, parameter_drift, pit_histogram
from volresearch.plots.ensembles import attribution_chart, ensemble_weights_chart
from volresearch.plots.forecast import ZONE_ALPHA, ZONE_COLORS, SessionAxis, fan_chart, session_axis, zone_bands
from volresearch.plots.intraday import diurnal_chart, step_volatility_chart
from volresearch.plots.render import render_png
from volresearch.plots.series import conditional_volatility_plot, news_impact_plot, price_and_returns

__all__ = [
    "fan_chart",
    "session_axis",
    "SessionAxis",
    "zone_bands",
    "diurnal_chart",
    "step_volatility_chart",
    "pit_histogram",
    "acf_plot",
    "parameter_drift",
    "coverage_plot",
    "ess_plot",
    "price_and_returns",
    "conditional_volatility_plot",
    "news_impact_plot",
    "ensemble_weights_chart",
    "attribution_chart",
    "render_png",
    "ensure_backends",
    "PlotWarning",
    "MissingQuantileWarning",
    "ZONE_COLORS",
    "ZONE_ALPHA",
]
