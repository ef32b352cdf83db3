"""Ensemble figures: the pool's weights over time and the attribution of weight moves to meta-features."""

from __future__ import annotations

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
    style,
    style_fill,
    x_values,
)

__all__ = ["attribution_chart", "ensemble_weights_chart"]


def ensemble_weights_chart(weights: pd.DataFrame, *, title: str | None = None) -> hv.Overlay:
    """Stacked areas of the members' pool weights over time (each column a member; rows sum to one).

    Raises
    ------
    DataError
        Empty, non-numeric or negative weights, or rows that do not sum to one.
    """
    frame = numeric_frame(weights, "weights")
    if frame.empty or frame.shape[1] < 1:
        raise DataError("weights is empty")
    a = frame.to_numpy(dtype=float)
    if np.any(a < -1e-12) or not np.allclose(a.sum(axis=1), 1.0, atol=1e-6):
        row = int(np.flatnonzero((a < -1e-12).any(axis=1) | ~np.isclose(a.sum(axis=1), 1.0, atol=1e-6))[0])
        raise DataError("pool weights must be non-negative and sum to one", row=row)
    xdim = axis_dim(frame.index)
    x = x_values(frame.index)
    lower = np.zeros(len(frame))
    areas = []
    for i, name in enumerate(frame.columns):
        upper = lower + a[:, i]
        area = hv.Area((x, lower, upper), [xdim], [hv.Dimension("lower", label="pool weight"), "upper"],
                       label=str(name))  # fmt: skip
        color = PALETTE[i % len(PALETTE)]
        style_fill(area, color, 0.75, edge=color, common={"show_legend": True})
        areas.append(area)
        lower = upper
    overlay = hv.Overlay(areas)
    style(
        overlay,
        common={"title": title if title is not None else "Pool weights", "ylabel": "pool weight",
                "xlabel": xdim.label, "legend_position": "right", "show_legend": True, "show_grid": True,
                "ylim": (0, 1)},
        bokeh={"width": BOKEH_WIDTH, "height": 300, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.8, **date_hooks(frame.index)},
    )  # fmt: skip
    return overlay


def attribution_chart(attribution: pd.DataFrame, *, title: str | None = None) -> hv.HeatMap:
    """Heat map of weight attribution: rows members, columns meta-features, each cell the part of the member's
    weight move (from the gate's baseline) due to the feature (weight units; a row adds up to the member's move).

    Raises
    ------
    DataError
        Empty or non-numeric attribution.
    """
    frame = numeric_frame(attribution, "attribution")
    if frame.empty:
        raise DataError("attribution is empty")
    long = frame.rename_axis(index="member", columns="feature").stack().rename("contribution").reset_index()
    long["member"] = long["member"].astype(str)
    long["feature"] = long["feature"].astype(str)
    long["contribution"] = long["contribution"].round(4) + 0.0  # no "-0" labels
    heat = hv.HeatMap(long, ["feature", "member"], hv.Dimension("contribution", label="weight move"))
    span = float(np.nanmax(np.abs(frame.to_numpy(dtype=float)))) or 1.0
    style(
        heat,
        common={"title": title if title is not None else "Weight moves by meta-feature", "cmap": "RdBu_r",
                "clim": (-span, span), "colorbar": True, "xlabel": "meta-feature", "ylabel": "member"},
        bokeh={"width": 640, "height": 80 + 45 * frame.shape[0], "tools": ["hover"]},
        mpl={"fig_inches": 6.5, "aspect": 2.2},
    )  # fmt: skip
    return heat
