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
    style,
    style_fill,
    style_line,
    x_values,
)

__all__ = ["diurnal_chart"]

_FACTOR_COLOR = "#1f5fa8"
_BAND_COLOR = "#7fa7d8"
_RAW_COLOR = "#9a9a9a"


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
        as grey dots).
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
    style(
        overlay,
        common={
            "title": title if title is not None else "Diurnal variance factor",
            "xlabel": "time of day (UTC)" if isinstance(data.index, pd.DatetimeIndex) else "bar of the session",
            "ylabel": ydim.label,
            "legend_position": "top_left",
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH, "height": 300, "tools": ["hover"], "xformatter": "%H:%M"}
        if isinstance(data.index, pd.DatetimeIndex)
        else {"width": BOKEH_WIDTH, "height": 300, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.6, **date_hooks(data.index)},
    )
    return overlay
