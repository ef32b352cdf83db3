"""Figures of intraday seasonality: the diurnal variance factor by time of day."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.errors import DataError
from volresearch.plots._common import (
    BOKEH_WIDTH,
    MPL_WIDTH_IN,
    axis_dim,
    date_hooks,
    numeric_frame,
    numeric_series,
    style,
    style_fill,
    style_line,
    x_values,
)
from volresearch.plots.forecast import session_axis

__all__ = ["diurnal_chart", "step_volatility_chart"]

_FACTOR_COLOR = "#1f5fa8"
_BAND_COLOR = "#7fa7d8"
_RAW_COLOR = "#9a9a9a"
_BREAK_COLOR = "#9a9a9a"
#: Most break marks drawn (the axis label counts them all).
_MAX_BREAK_MARKS = 12


def diurnal_chart(frame: pd.DataFrame, *, title: str | None = None, band_label: str = "95% band") -> hv.Overlay:
    """The diurnal variance factor over one session, with its confidence band.

    Parameters
    ----------
    frame
        Rows are the bar slots of a session, indexed by the slot's start time
        (``DatetimeIndex``, e.g. the bars of one representative session in
        UTC) or by slot number; columns ``factor`` (dimensionless, mean 1 over
        the session, variance units) and optionally ``lower`` / ``upper``
        (band; drawn where finite) and ``raw`` (unsmoothed statistic, drawn
        as grey dots; the y axis follows the factor and the band, so raw
        spikes above them are cut off).
    title
        Figure title (default ``"Diurnal variance factor"``).
    band_label
        Legend label of the band.

    Returns
    -------
    holoviews.Overlay
        Layers: the band (:class:`holoviews.Area` when ``lower``/``upper``
        have finite values), the raw statistic, the factor curve and a dotted
        reference line at 1.

    Raises
    ------
    DataError
        No rows, no ``factor`` column, non-numeric columns or an index
        neither times nor numbers.
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("frame must be a non-empty DataFrame with a 'factor' column")
    if "factor" not in frame.columns:
        raise DataError(f"frame has no 'factor' column (columns: {list(frame.columns)})", column="factor")
    cols = [c for c in ("factor", "lower", "upper", "raw") if c in frame.columns]
    data = numeric_frame(frame, "frame", cols)
    xdim = axis_dim(data.index, "time" if isinstance(data.index, pd.DatetimeIndex) else "slot")
    ydim = hv.Dimension("factor", label="variance factor (mean 1)")
    x = x_values(data.index)
    layers: list[hv.Element] = []
    if {"lower", "upper"} <= set(cols):
        lo, hi = data["lower"].to_numpy(float), data["upper"].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            band = hv.Area((x[ok], lo[ok], hi[ok]), kdims=[xdim], vdims=[ydim, "upper"], label=band_label)
            layers.append(style_fill(band, _BAND_COLOR, 0.45))
    if "raw" in cols:
        raw = data["raw"].to_numpy(float)
        ok = np.isfinite(raw)
        if ok.any():
            dots = hv.Scatter((x[ok], raw[ok]), kdims=[xdim], vdims=[ydim], label="raw (per slot)")
            layers.append(style(dots, common={"color": _RAW_COLOR, "alpha": 0.6}, bokeh={"size": 2}, mpl={"s": 3}))
    curve = hv.Curve((x, data["factor"].to_numpy(float)), kdims=[xdim], vdims=[ydim], label="diurnal factor")
    layers.append(style_line(curve, _FACTOR_COLOR, 2.0))
    layers.append(style_line(hv.HLine(1.0), "#57606a", 1.0, dash="dotted"))
    overlay = hv.Overlay(layers)
    # The y range follows the factor and its band; raw per-slot spikes beyond it are cut off.
    finite = [data[c].to_numpy(float) for c in ("factor", "upper") if c in cols]
    top = float(np.nanmax(np.concatenate(finite))) if finite else 1.0
    style(
        overlay,
        common={
            "ylim": (0.0, 1.15 * max(top, 1.0)),
            "title": title if title is not None else "Diurnal variance factor",
            "xlabel": "time of day (UTC)" if isinstance(data.index, pd.DatetimeIndex) else "bar of the session",
            "ylabel": ydim.label,
            "legend_position": "top_left",
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH, "height": 300, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.6, **date_hooks(data.index)},
    )
    return overlay


def step_volatility_chart(
    volatility: pd.Series, *, title: str | None = None, ylabel: str = "volatility per bar"
) -> hv.Overlay:
    """Volatility of each forecast step on a session-time axis (breaks and weekends take no room).

    Shows how a fan widens bar by bar: fast into the open, slowly in the
    night, nothing across a break.

    Parameters
    ----------
    volatility
        Volatility of the return of each forecast step (e.g. per-bar standard
        deviation in basis points; name the unit in ``ylabel``), indexed by
        the steps' times (``DatetimeIndex``, e.g. ``Fan.times[1:]``).
    title
        Figure title (default ``"Volatility per forecast step"``).
    ylabel
        y-axis label.

    Returns
    -------
    holoviews.Overlay
        The step curve (:class:`holoviews.Curve` on session-bar coordinates,
        ticks labelled with UTC times) and dashed marks at the breaks.

    Raises
    ------
    DataError
        Empty or non-numeric series, or an index that is not time stamps.
    """
    ser = numeric_series(volatility, "volatility")
    if not isinstance(ser.index, pd.DatetimeIndex):
        raise DataError("volatility must be indexed by the forecast steps' times (a DatetimeIndex)")
    axis = session_axis(pd.DatetimeIndex(ser.index))
    n_breaks = len(axis.breaks)
    label = "session time (UTC)" + (f"; {n_breaks} break{'s' if n_breaks != 1 else ''} compressed" if n_breaks else "")
    xdim = hv.Dimension("bar", label=label)
    ydim = hv.Dimension("volatility", label=ylabel)
    curve = hv.Curve((axis.positions, ser.to_numpy(float)), kdims=[xdim], vdims=[ydim], label="per-step volatility")
    layers: list[hv.Element] = [style_line(curve, _FACTOR_COLOR, 1.5)]
    for bx in axis.breaks if n_breaks <= _MAX_BREAK_MARKS else []:
        mark = hv.VLine(float(bx), kdims=[xdim, ydim])
        layers.append(style_line(mark, _BREAK_COLOR, 0.8, dash="dashed", common={"alpha": 0.7}))
    overlay = hv.Overlay(layers)
    style(
        overlay,
        common={
            "title": title if title is not None else "Volatility per forecast step",
            "xlabel": label,
            "ylabel": ylabel,
            "show_grid": True,
            "show_legend": False,
            "xticks": axis.ticks,
            "xlim": (float(axis.positions[0]), float(axis.positions[-1])),
        },
        bokeh={"width": BOKEH_WIDTH, "height": 240, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 3.0},
    )
    return overlay
