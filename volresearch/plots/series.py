"""Time-series figures: prices and returns, conditional volatility, news impact.

Small figures for the data and model notebooks.  Inputs are plain pandas
objects; units are whatever the caller's data are in and are stated in the
axis labels where the function knows them (log returns per bar are
dimensionless).
"""

from __future__ import annotations

from collections.abc import Mapping

import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.errors import DataError
from volresearch.plots._common import (
    BOKEH_WIDTH,
    MPL_WIDTH_IN,
    PALETTE,
    axis_dim,
    date_hooks,
    numeric_frame,
    numeric_series,
    style,
    style_line,
    x_values,
)

__all__ = ["price_and_returns", "conditional_volatility_plot", "news_impact_plot"]


def price_and_returns(bars: pd.DataFrame, *, column: str = "close", title: str | None = None) -> hv.Layout:
    """Closing price and log returns, two stacked panels sharing the time axis.

    Parameters
    ----------
    bars
        OHLCV bars indexed by time (``DatetimeIndex``, UTC) or bar number,
        with a numeric ``column`` of prices (price units, > 0).
    column
        The price column (default ``"close"``).
    title
        Title of the price panel (default ``"Close price"``).

    Returns
    -------
    holoviews.Layout
        Price (:class:`holoviews.Curve`) above log returns
        ``r_t = ln(P_t / P_{t-1})`` per bar (:class:`holoviews.Curve`).

    Raises
    ------
    DataError
        Missing or non-numeric column, or a non-positive price.
    """
    frame = numeric_frame(bars, "bars", [column])
    price = frame[column].astype(float)
    if (price.dropna() <= 0).any():
        first = int(np.flatnonzero((price <= 0).to_numpy())[0])
        raise DataError("prices must be > 0 for log returns", row=first, column=column)
    xdim = axis_dim(frame.index)
    x = x_values(frame.index)
    returns = np.log(price).diff().to_numpy()
    price_curve = hv.Curve((x, price.to_numpy()), [xdim], [hv.Dimension("price", label=f"{column} price")])
    style_line(price_curve, "#222222", 1.2)
    ret_curve = hv.Curve((x[1:], returns[1:]), [xdim], [hv.Dimension("log_return", label="log return")])
    style_line(ret_curve, PALETTE[0], 0.8)
    hooks = date_hooks(frame.index)
    style(
        price_curve,
        common={"title": title if title is not None else "Close price", "show_grid": True},
        bokeh={"width": BOKEH_WIDTH, "height": 300, "tools": ["hover"]},
        mpl={"aspect": 3.0, **hooks},
    )
    style(
        ret_curve,
        common={"title": "Log returns per bar", "show_grid": True},
        bokeh={"width": BOKEH_WIDTH, "height": 220, "tools": ["hover"]},
        mpl={"aspect": 3.0, **hooks},
    )
    layout = (price_curve + ret_curve).cols(1)
    style(layout, mpl={"fig_inches": MPL_WIDTH_IN, "sublabel_format": "", "vspace": 0.35})
    return layout


def _named_lines(
    frames: Mapping[str, tuple[np.ndarray, np.ndarray]], xdim: hv.Dimension, ydim: hv.Dimension
) -> list[hv.Curve]:
    curves = []
    for i, (name, (x, y)) in enumerate(frames.items()):
        curve = hv.Curve((x, y), [xdim], [ydim], label=str(name))
        style_line(curve, PALETTE[i % len(PALETTE)], 1.6)
        curves.append(curve)
    return curves


def conditional_volatility_plot(
    series_by_name: Mapping[str, pd.Series],
    *,
    title: str | None = None,
    ylabel: str = "conditional volatility",
) -> hv.Overlay:
    """Conditional volatility paths of several models on one time axis.

    Parameters
    ----------
    series_by_name
        Model name -> conditional volatility (standard deviation of the
        return, e.g. per-bar log-return units), indexed by time or bar number;
        all series must share the kind of index.
    title
        Figure title (default ``"Conditional volatility"``).
    ylabel
        y-axis label; name the units here (e.g. ``"sigma per bar (%)"``).

    Returns
    -------
    holoviews.Overlay
        One :class:`holoviews.Curve` per model, labelled by name.

    Raises
    ------
    DataError
        Empty mapping, non-numeric series or mixed index kinds.
    """
    if not series_by_name:
        raise DataError("series_by_name is empty")
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    kinds = set()
    index = None
    for name, s in series_by_name.items():
        ser = numeric_series(s, f"series_by_name[{name!r}]")
        kinds.add(isinstance(ser.index, pd.DatetimeIndex))
        index = ser.index
        data[str(name)] = (x_values(ser.index), ser.to_numpy(dtype=float))
    if len(kinds) > 1:
        raise DataError("series_by_name mixes time-indexed and step-indexed series")
    assert index is not None
    xdim = axis_dim(index)
    ydim = hv.Dimension("volatility", label=ylabel)
    overlay = hv.Overlay(_named_lines(data, xdim, ydim))
    style(
        overlay,
        common={
            "title": title if title is not None else "Conditional volatility",
            "xlabel": xdim.label,
            "ylabel": ylabel,
            "legend_position": "right",
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH, "height": 360, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.4, **date_hooks(index)},
    )
    return overlay


def news_impact_plot(frame_by_name: Mapping[str, pd.DataFrame], *, title: str | None = None) -> hv.Overlay:
    """News impact curves: next-period variance as a function of today's shock.

    Parameters
    ----------
    frame_by_name
        Model name -> DataFrame with columns ``shock`` (the return innovation
        ``e_{t-1}``, in the model's return units) and ``variance`` (the implied
        conditional variance ``s2_t`` in those units squared), holding the
        other state at its unconditional level.
    title
        Figure title (default ``"News impact curves"``).

    Returns
    -------
    holoviews.Overlay
        One :class:`holoviews.Curve` per model (asymmetric models such as GJR
        or EGARCH show a steeper left branch) and a vertical line at zero shock.

    Raises
    ------
    DataError
        Empty mapping, missing or non-numeric columns.
    """
    if not frame_by_name:
        raise DataError("frame_by_name is empty")
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, f in frame_by_name.items():
        frame = numeric_frame(f, f"frame_by_name[{name!r}]", ["shock", "variance"]).sort_values("shock")
        data[str(name)] = (frame["shock"].to_numpy(dtype=float), frame["variance"].to_numpy(dtype=float))
    xdim = hv.Dimension("shock", label="shock e(t-1)")
    ydim = hv.Dimension("variance", label="conditional variance s²(t)")
    zero = hv.VLine(0.0)
    style_line(zero, "#888888", 1.2, dash="dotted")
    overlay = hv.Overlay([*_named_lines(data, xdim, ydim), zero])
    style(
        overlay,
        common={
            "title": title if title is not None else "News impact curves",
            "legend_position": "right",
            "show_grid": True,
        },
        bokeh={"width": 640, "height": 400, "tools": ["hover"]},
        mpl={"fig_inches": 6.5, "aspect": 1.5},
    )
    return overlay
