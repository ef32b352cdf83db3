"""Forecast figures: the fan chart of quantile bands and the price-zone ladder.

A Monte Carlo forecast is summarised per step by quantiles of the simulated
price.  :func:`fan_chart` shades the central intervals between symmetric
quantile pairs (the 95 % band runs from the 0.025 to the 0.975 quantile),
narrower bands darker, draws the median, and joins the fan to the closing
prices before the forecast origin.  :func:`zone_bands` draws price zones
(support, resistance, neutral) as horizontal spans with short labels.

All prices are in the instrument's price units; zone masses are fractions of
the forecast probability (0 to 1) and are labelled in percent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.errors import DataError
from volresearch.plots._common import (
    BOKEH_HEIGHT,
    BOKEH_WIDTH,
    MPL_WIDTH_IN,
    MissingQuantileWarning,
    axis_dim,
    date_hooks,
    interpolate_hex,
    numeric_series,
    style,
    style_fill,
    style_line,
    warn,
    x_values,
)

__all__ = ["fan_chart", "zone_bands", "session_axis", "SessionAxis", "ZONE_COLORS", "ZONE_ALPHA"]

#: Fill colour of a zone by kind.
ZONE_COLORS: dict[str, str] = {"support": "#2ca02c", "resistance": "#d62728", "neutral": "#7f7f7f"}
#: Fill opacity of a zone by strength.
ZONE_ALPHA: dict[str, float] = {"strong": 0.30, "moderate": 0.18, "weak": 0.09}
_ZONE_TEXT: dict[str, str] = {"support": "#1a6b1a", "resistance": "#9e1b1c", "neutral": "#4d4d4d"}
_KIND_LETTER: dict[str, str] = {"support": "S", "resistance": "R", "neutral": "N"}

#: Band colours run from the widest (lightest) to the narrowest (darkest).
_BAND_LIGHT = "#d6e6f4"
_BAND_DARK = "#4a90c8"
_MEDIAN_COLOR = "#08306b"
_HISTORY_COLOR = "#222222"
_REALISED_COLOR = "#ff7f0e"
_PATH_COLOR = "#6b6b6b"
#: Two quantile levels closer than this are the same column.
_LEVEL_TOL = 1e-9
#: Zone labels closer than this fraction of the price span are staggered.
_LABEL_GAP = 0.045
#: Width of the zone-label strip right of the forecast, as a fraction of the data's x span.
_LABEL_STRIP = 0.2
_PRICE = hv.Dimension("price")
_PRICE_UPPER = hv.Dimension("price_upper", label="upper price")


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def _level(col: Any) -> float | None:
    """The quantile level a column label stands for, or ``None`` if it is not one."""
    if isinstance(col, bool):
        return None
    try:
        q = float(col)
    except (TypeError, ValueError):
        return None
    return q if 0.0 < q < 1.0 else None


def _find(levels: dict[float, Any], q: float) -> Any | None:
    for level, col in levels.items():
        if abs(level - q) <= _LEVEL_TOL:
            return col
    return None


def _band_frame(bands: Any, coverages: Sequence[float]) -> tuple[pd.DataFrame, dict[float, Any]]:
    """The quantile columns behind ``bands`` and a map level -> column label.

    ``bands`` is a DataFrame or anything with ``quantiles(levels)``; columns
    that are not quantile levels in (0, 1) (e.g. ``"mean"``) are ignored.
    """
    if not isinstance(bands, pd.DataFrame) and callable(getattr(bands, "quantiles", None)):
        wanted = {0.5, *((1 - c) / 2 for c in coverages), *((1 + c) / 2 for c in coverages)}
        bands = bands.quantiles(sorted(round(q, 12) for q in wanted))
    if not isinstance(bands, pd.DataFrame):
        raise DataError(
            "bands must be a DataFrame of quantiles (columns = levels) or have a "
            f".quantiles(levels) method, got {type(bands).__name__}"
        )
    levels = {q: col for col in bands.columns if (q := _level(col)) is not None}
    if bands.empty or not levels:
        raise DataError("bands has no rows or no quantile columns (column labels must be levels in (0, 1), e.g. 0.025)")
    for col in levels.values():
        if not pd.api.types.is_numeric_dtype(bands[col]):
            raise DataError(f"bands column is not numeric ({bands[col].dtype})", column=str(col))
    return bands[list(levels.values())].sort_index(), levels


def _check_coverages(levels: Sequence[float]) -> list[float]:
    out = []
    for c in levels:
        c = float(c)
        if not 0.0 < c < 1.0:
            raise DataError(f"coverage level {c} is not in (0, 1)")
        out.append(c)
    if not out:
        raise DataError("levels is empty: give at least one coverage level, e.g. (0.5, 0.95)")
    return sorted(set(out), reverse=True)


def _aligned_x(index: pd.Index, band_index: pd.Index, role: str, n_rows: int) -> np.ndarray:
    """Plot coordinates for a forecast-side input (sample paths, realised path).

    An index of the same kind as the bands' (dates with dates, steps with
    steps) is used as is; otherwise rows are matched to the bands' index by
    position, which needs at most as many rows as the bands have.
    """
    same_kind = isinstance(index, pd.DatetimeIndex) == isinstance(band_index, pd.DatetimeIndex)
    if same_kind and (isinstance(index, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(index)):
        return x_values(index)
    if n_rows > len(band_index):
        raise DataError(
            f"{role} has {n_rows} rows and an index unlike the bands' index "
            f"({type(index).__name__} vs {type(band_index).__name__}); "
            f"rows can be matched by position only up to the {len(band_index)} rows of the bands"
        )
    return x_values(band_index[:n_rows])


def _history_x(history: pd.Series, band_index: pd.Index) -> np.ndarray:
    """Plot coordinates of the closing prices before the forecast origin.

    With date-indexed bands the history must be date-indexed too.  With
    step-indexed bands a date-indexed history is placed at steps
    ``-(n - 1), ..., -1, 0``: its last close is the origin, step 0.
    """
    if isinstance(band_index, pd.DatetimeIndex):
        if not isinstance(history.index, pd.DatetimeIndex):
            raise DataError("history must have a DatetimeIndex when bands are indexed by time")
        return x_values(history.index)
    if pd.api.types.is_numeric_dtype(history.index):
        return x_values(history.index)
    n = len(history)
    return np.arange(-(n - 1), 1, dtype=float)


# ---------------------------------------------------------------------------
# zones
# ---------------------------------------------------------------------------


def _zone_frame(zones: Any) -> pd.DataFrame:
    """Validated zones DataFrame (``low``, ``high``, ``kind``, ``strength``, optional ``mass``)."""
    if not isinstance(zones, pd.DataFrame) and callable(getattr(zones, "to_frame", None)):
        zones = zones.to_frame()
    if not isinstance(zones, pd.DataFrame):
        raise DataError(f"zones must be a DataFrame, got {type(zones).__name__}")
    for col in ("low", "high", "kind", "strength"):
        if col not in zones.columns:
            raise DataError("zones lacks a required column", column=col)
    frame = zones.reset_index(drop=True)
    for i, row in frame.iterrows():
        if row["kind"] not in ZONE_COLORS:
            raise DataError(f"zone kind {row['kind']!r} is not one of {sorted(ZONE_COLORS)}", row=int(i), column="kind")
        if row["strength"] not in ZONE_ALPHA:
            raise DataError(
                f"zone strength {row['strength']!r} is not one of {sorted(ZONE_ALPHA)}",
                row=int(i),
                column="strength",
            )
        low, high = float(row["low"]), float(row["high"])
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise DataError(f"zone bounds low={low}, high={high} are not finite with low <= high", row=int(i))
    return frame


def _zone_label(row: pd.Series) -> str:
    text = f"{_KIND_LETTER[row['kind']]} {row['strength']}"
    mass = row.get("mass") if "mass" in row.index else None
    if mass is not None and pd.notna(mass):
        text += f" {100.0 * float(mass):.0f}%"
    return text


def _spread_labels(y: np.ndarray, gap: float) -> np.ndarray:
    """Label heights at least ``gap`` apart, as close as possible to ``y``.

    Labels are pushed upwards in price order until no two are closer than
    ``gap``, then the whole set is shifted back so that the mean displacement
    is zero.
    """
    if y.size < 2 or gap <= 0:
        return y.copy()
    order = np.argsort(y, kind="stable")
    ys = y[order].astype(float)
    for i in range(1, ys.size):
        ys[i] = max(ys[i], ys[i - 1] + gap)
    ys -= float(np.mean(ys - y[order]))
    out = np.empty_like(ys)
    out[order] = ys
    return out


def _zone_layers(frame: pd.DataFrame, x_label: Any, y_span: float) -> tuple[list[hv.HSpan], list[hv.Text]]:
    """One span and one label per zone.

    Labels are right-aligned at ``x_label`` at the zone's middle price, moved
    apart where zones are closer than ``_LABEL_GAP * y_span`` so that labels
    do not overlap.
    """
    spans: list[hv.HSpan] = []
    texts: list[hv.Text] = []
    mids = ((frame["low"] + frame["high"]) / 2).to_numpy(dtype=float)
    label_y = _spread_labels(mids, _LABEL_GAP * y_span)
    for i in range(len(frame)):
        row = frame.iloc[i]
        kind, strength = str(row["kind"]), str(row["strength"])
        span = hv.HSpan(float(row["low"]), float(row["high"]), group="Zone", label=f"{kind} {strength}")
        style_fill(span, ZONE_COLORS[kind], ZONE_ALPHA[strength])
        spans.append(span)
        text = hv.Text(x_label, float(label_y[i]), _zone_label(row), halign="right", valign="center", fontsize=8)
        style(text, common={"color": _ZONE_TEXT[kind]})
        texts.append(text)
    return spans, texts


def zone_bands(zones: Any, *, x_range: tuple[Any, Any] | None = None) -> hv.Overlay:
    """Price zones as shaded horizontal spans with short labels.

    Parameters
    ----------
    zones
        DataFrame with one row per zone and columns ``low`` and ``high``
        (price units), ``kind`` (``"support"``, ``"resistance"`` or
        ``"neutral"``), ``strength`` (``"strong"``, ``"moderate"`` or
        ``"weak"``) and optionally ``mass`` (probability of the zone, a
        fraction 0-1).  Anything with ``to_frame()`` returning such a frame
        (e.g. a distribution analysis of the signals layer) is accepted.
    x_range
        ``(left, right)`` x coordinates (timestamps or steps) of the figure
        the zones will be overlaid on; labels are right-aligned at ``right``
        (spans always cover the whole width of the figure).  ``None`` draws a
        stand-alone zone ladder over a unit x range.

    Returns
    -------
    holoviews.Overlay
        One :class:`holoviews.HSpan` per zone (green support, red resistance,
        grey neutral; more opaque for stronger zones), then one
        :class:`holoviews.Text` label per zone, e.g. ``"R strong 14%"``.
        Without zones: an empty Overlay (to overlay on another figure), or,
        stand-alone, a single "no zones" text.

    Raises
    ------
    DataError
        A required column is missing, or a kind, strength or bound is invalid.
    """
    frame = _zone_frame(zones)
    standalone = x_range is None
    if standalone:
        x_right: Any = 0.98
    else:
        _, x_right = x_range  # type: ignore[misc]
        if isinstance(x_right, pd.Timestamp | np.datetime64 | str):
            x_right = x_values(pd.DatetimeIndex([x_right]))[0]
    if frame.empty:
        # Nothing to overlay; a stand-alone ladder says so instead of failing to render.
        overlay = hv.Overlay([hv.Text(0.5, 0.5, "no zones", fontsize=10)] if standalone else [])
    else:
        y_span = float(frame["high"].max() - frame["low"].min())
        spans, texts = _zone_layers(frame, x_right, y_span)
        overlay = hv.Overlay([*spans, *texts])
    if standalone:
        low = float(frame["low"].min()) if not frame.empty else 0.0
        high = float(frame["high"].max()) if not frame.empty else 1.0
        pad = 0.05 * (high - low) or 1.0
        style(
            overlay,
            common={
                "xlim": (0.0, 1.0),
                "ylim": (low - pad, high + pad),
                "xaxis": None,
                "ylabel": "price",
                "title": "Price zones",
            },
            bokeh={"width": 360, "height": BOKEH_HEIGHT},
            mpl={"fig_inches": 4.0, "aspect": 0.8},
        )
    return overlay


# ---------------------------------------------------------------------------
# session time
# ---------------------------------------------------------------------------

#: Spacing above this multiple of the typical bar spacing is a break (session close, weekend, holiday).
_BREAK_FACTOR = 1.5
#: Most break markers drawn; with more in view (e.g. every weekend of daily bars) none are drawn, the
#: axis label still says how many were compressed.
_MAX_BREAK_MARKS = 12
_BREAK_COLOR = "#9a9a9a"


@dataclass(frozen=True)
class SessionAxis:
    """An x axis in session bars: one unit per bar, breaks and weekends take no room.

    Attributes
    ----------
    times
        UTC time of every bar on the axis (naive ``datetime64[ns]``), in order.
    positions
        Plot coordinate of every bar: ``-(n_history) .. 0 .. n_steps`` with 0
        at the forecast origin (the first row of the bands).
    breaks
        Coordinates half-way between two bars separated by a break.
    ticks
        ``(coordinate, "MM-DD HH:MM")`` tick labels.
    """

    times: np.ndarray
    positions: np.ndarray
    breaks: np.ndarray
    ticks: list[tuple[float, str]]

    def position_of(self, index: pd.DatetimeIndex, *, clip: bool = True) -> np.ndarray:
        """Coordinates of time stamps: the bar at or before each (NaN before the axis, or after it with ``clip``)."""
        t = x_values(index)
        i = np.searchsorted(self.times, t, side="right") - 1
        out = np.where(i >= 0, self.positions[np.clip(i, 0, None)], np.nan).astype(float)
        if clip:
            out[t > self.times[-1]] = np.nan
        return out


def _tick_labels(
    times: np.ndarray, positions: np.ndarray, typical_ns: float, n_ticks: int = 7
) -> list[tuple[float, str]]:
    idx = np.unique(np.round(np.linspace(0, len(times) - 1, min(n_ticks, len(times)))).astype(int))
    stamps = pd.DatetimeIndex(times[idx])
    if typical_ns >= 20 * 3600 * 1e9:
        fmt = "%Y-%m-%d"
    elif stamps.normalize().nunique() > 1:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%H:%M"
    return [(float(positions[i]), ts.strftime(fmt)) for i, ts in zip(idx, stamps, strict=True)]


def session_axis(step_times: pd.DatetimeIndex, history_times: pd.DatetimeIndex | None = None) -> SessionAxis:
    """The session-bar axis of a forecast: history bars before the origin, then the forecast steps.

    Parameters
    ----------
    step_times
        Times of the forecast steps ``0 .. n`` (step 0 the origin), e.g.
        session bars from a trading calendar (``Fan.times``).
    history_times
        Times of the bars drawn before the origin (those after the origin are
        ignored; the origin itself shares step 0).

    Returns
    -------
    SessionAxis
    """
    steps = x_values(step_times)
    hist = np.asarray([], dtype="datetime64[ns]")
    if history_times is not None and len(history_times):
        hist = x_values(history_times)
        hist = np.unique(hist[hist < steps[0]])
    times = np.concatenate([hist, steps])
    positions = np.arange(-hist.size, steps.size, dtype=float)
    typical = 0.0
    if times.size > 1:
        gaps = np.diff(times.astype("int64"))
        typical = float(np.median(gaps))
        where = np.flatnonzero(gaps > _BREAK_FACTOR * typical)
        breaks = positions[where] + 0.5
    else:
        breaks = np.asarray([], dtype=float)
    return SessionAxis(times, positions, breaks, _tick_labels(times, positions, typical))


def _to_session(
    frame: pd.DataFrame,
    history: pd.Series | None,
    sample_paths: pd.DataFrame | None,
    realised: pd.Series | None,
) -> tuple[pd.DataFrame, pd.Series | None, pd.DataFrame | None, pd.Series | None, SessionAxis]:
    """Inputs re-indexed by session-bar coordinate (see :class:`SessionAxis`)."""
    hist_times = history.index if history is not None and isinstance(history.index, pd.DatetimeIndex) else None
    axis = session_axis(pd.DatetimeIndex(frame.index), hist_times)
    n = len(frame)
    out = frame.set_axis(pd.Index(np.arange(n, dtype=float), name="bar"))
    if history is not None:
        if not isinstance(history.index, pd.DatetimeIndex):
            raise DataError("history must have a DatetimeIndex when bands are indexed by time")
        else:
            hx = axis.position_of(history.index)
            keep = np.isfinite(hx) & (hx <= 0)
            history = pd.Series(history.to_numpy()[keep], index=pd.Index(hx[keep], name="bar"), name=history.name)
    if sample_paths is not None and isinstance(sample_paths, pd.DataFrame):
        if isinstance(sample_paths.index, pd.DatetimeIndex):
            px = axis.position_of(sample_paths.index)
            sample_paths = sample_paths.set_axis(pd.Index(px, name="bar"))[np.isfinite(px)]
        else:
            _aligned_x(sample_paths.index, frame.index, "sample_paths", len(sample_paths))
            sample_paths = sample_paths.set_axis(pd.Index(np.arange(len(sample_paths), dtype=float), name="bar"))
    if realised is not None:
        real = realised
        if isinstance(real.index, pd.DatetimeIndex):
            rx = axis.position_of(real.index)
            keep = np.isfinite(rx) & (rx >= 0)
            real = pd.Series(real.to_numpy()[keep], index=pd.Index(rx[keep], name="bar"), name=real.name)
            real = real[~real.index.duplicated(keep="last")]
        else:
            _aligned_x(real.index, frame.index, "realised", len(real))
            real = real.set_axis(pd.Index(np.arange(len(real), dtype=float), name="bar"))
        realised = real
    return out, history, sample_paths, realised, axis


# ---------------------------------------------------------------------------
# fan chart
# ---------------------------------------------------------------------------


def _prepend(x: np.ndarray, y: np.ndarray, x0: Any, y0: float) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([np.asarray([x0], dtype=x.dtype), x]), np.concatenate([[y0], y])


def fan_chart(
    bands: Any,
    *,
    history: pd.Series | None = None,
    sample_paths: pd.DataFrame | None = None,
    realised: pd.Series | None = None,
    zones: pd.DataFrame | Any | None = None,
    title: str | None = None,
    levels: Sequence[float] = (0.5, 0.8, 0.9, 0.95),
    max_paths: int = 10,
    session_time: bool | None = None,
) -> hv.Overlay:
    """Fan chart of a price forecast: nested central bands, median, history.

    Parameters
    ----------
    bands
        DataFrame indexed by time (``DatetimeIndex``, UTC or naive) or by step
        (integers); columns are quantile levels as floats (e.g. ``0.025, 0.05,
        0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975``) and values are prices (price
        units).  Columns that are not levels in (0, 1) (e.g. ``"mean"``) are
        ignored.  Anything with a ``quantiles(levels) -> DataFrame`` method is
        accepted and asked for the levels the chart needs.
    history
        Closing prices before the forecast origin (price units).  When the
        bands are indexed by step and the history by time, the history is
        drawn at steps ``-(n - 1) ... 0``.  Its last close is joined to the
        first forecast step, so the fan opens from the last price.
    sample_paths
        Simulated price paths, one column per path, rows on the bands' index
        (or matched to it by position); the first ``max_paths`` are drawn as
        thin grey lines.
    realised
        The price path that actually happened over the forecast window, when
        known (same index rules as ``sample_paths``).
    zones
        Price zones as accepted by :func:`zone_bands`; drawn as horizontal
        spans across the whole chart with labels at the right edge.
    title
        Figure title (default ``"Price forecast"``).
    levels
        Coverage levels of the central bands, fractions in (0, 1): level ``c``
        shades the interval between the ``(1 - c) / 2`` and ``(1 + c) / 2``
        quantile columns.  A band whose columns are missing is skipped with a
        :class:`MissingQuantileWarning`.
    max_paths
        Most sample paths drawn.
    session_time
        Draw the x axis in session bars (one unit per bar, 0 at the origin)
        labelled with the bars' UTC times, so breaks, weekends and holidays
        take no room and are marked by thin dashed lines; the axis ends at
        the last forecast step.  ``None`` (default): on when the bands are
        indexed by time (e.g. ``Fan.quantiles()`` with calendar step times).
        Inputs indexed by time are placed on their bar; a realised path past
        the last step is cut.

    Returns
    -------
    holoviews.Overlay
        Layers in drawing order: zone spans, bands (:class:`holoviews.Area`,
        widest first, labelled e.g. ``"95% band"``), sample paths, history,
        median, realised path, a dotted vertical line at the forecast origin
        and zone labels.

    Raises
    ------
    DataError
        Malformed ``bands`` (no rows, no quantile columns, a non-numeric
        quantile column, an index neither dates nor steps), a coverage level
        outside (0, 1), invalid zones, or inputs whose index cannot be matched.
    """
    coverages = _check_coverages(levels)
    frame, qcols = _band_frame(bands, coverages)
    session = isinstance(frame.index, pd.DatetimeIndex) if session_time is None else bool(session_time)
    axis: SessionAxis | None = None
    if session:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise DataError("session_time needs bands indexed by time (the forecast steps' time stamps)")
        if history is not None:
            history = numeric_series(history, "history").dropna()
        if realised is not None:
            realised = numeric_series(realised, "realised").dropna()
        frame, history, sample_paths, realised, axis = _to_session(frame, history, sample_paths, realised)
        n_breaks = len(axis.breaks)
        xdim = hv.Dimension(
            "bar",
            label="session time (UTC)"
            + (
                f"; {n_breaks} break{'s' if n_breaks != 1 else ''} compressed"
                + (" (dashed)" if n_breaks <= _MAX_BREAK_MARKS else "")
                if n_breaks
                else ""
            ),
        )
    else:
        xdim = axis_dim(frame.index)
    x = x_values(frame.index)
    kdims, vdim = [xdim], _PRICE

    # The origin: where the history ends and the fan opens.
    anchor: tuple[Any, float] | None = None
    history_curve = None
    x_left: Any = x[0]
    if history is not None:
        hist = numeric_series(history, "history").dropna()
        hx = _history_x(hist, frame.index)
        if len(hx):
            x_left = hx[0]
            history_curve = hv.Curve((hx, hist.to_numpy(dtype=float)), kdims, vdim, label="history")
            style_line(history_curve, _HISTORY_COLOR, 1.6)
            if hx[-1] < x[0]:
                anchor = (hx[-1], float(hist.iloc[-1]))

    def joined(y: np.ndarray, xs: np.ndarray = x) -> tuple[np.ndarray, np.ndarray]:
        if anchor is None:
            return xs, y
        return _prepend(xs, y, anchor[0], anchor[1])

    # Bands, widest first so that narrower (darker) bands lie on top.
    band_layers: list[hv.Area] = []
    colors = interpolate_hex(_BAND_LIGHT, _BAND_DARK, len(coverages))
    for color, c in zip(colors, coverages, strict=True):
        lo_q, hi_q = (1 - c) / 2, (1 + c) / 2
        lo_col, hi_col = _find(qcols, lo_q), _find(qcols, hi_q)
        if lo_col is None or hi_col is None:
            missing = [f"{q:g}" for q, col in ((lo_q, lo_col), (hi_q, hi_col)) if col is None]
            warn(
                f"fan_chart: {c:.0%} band skipped, bands lack quantile column(s) {', '.join(missing)}",
                MissingQuantileWarning,
            )
            continue
        bx, lo = joined(frame[lo_col].to_numpy(dtype=float))
        _, hi = joined(frame[hi_col].to_numpy(dtype=float))
        area = hv.Area((bx, lo, hi), kdims, [vdim, _PRICE_UPPER], label=f"{c:.0%} band")
        style_fill(area, color, 1.0, common={"show_legend": True})
        band_layers.append(area)

    # Sample paths.
    path_layers: list[hv.Curve] = []
    if sample_paths is not None:
        if not isinstance(sample_paths, pd.DataFrame):
            raise DataError(f"sample_paths must be a DataFrame, got {type(sample_paths).__name__}")
        shown = sample_paths.iloc[:, : max(int(max_paths), 0)]
        if shown.shape[1]:
            px = _aligned_x(shown.index, frame.index, "sample_paths", len(shown))
            for col in shown.columns:
                values = shown[col].to_numpy(dtype=float)
                joins = anchor is not None and len(px) > 0 and px[0] > anchor[0]
                cx, cy = joined(values, px) if joins else (px, values)
                curve = hv.Curve((cx, cy), kdims, vdim, label="sample paths")
                style_line(curve, _PATH_COLOR, 0.8, common={"alpha": 0.55})
                path_layers.append(curve)

    # Median.
    median_layers: list[hv.Curve] = []
    mcol = _find(qcols, 0.5)
    if mcol is None:
        warn("fan_chart: median line skipped, bands lack the 0.5 quantile column", MissingQuantileWarning)
    else:
        mx, my = joined(frame[mcol].to_numpy(dtype=float))
        median = hv.Curve((mx, my), kdims, vdim, label="median")
        style_line(median, _MEDIAN_COLOR, 2.2)
        median_layers.append(median)

    # Realised path.
    realised_layers: list[hv.Curve] = []
    if realised is not None:
        real = numeric_series(realised, "realised").dropna()
        rx = _aligned_x(real.index, frame.index, "realised", len(real))
        ry = real.to_numpy(dtype=float)
        if len(rx) and anchor is not None and rx[0] > anchor[0]:
            rx, ry = _prepend(rx, ry, anchor[0], anchor[1])
        curve = hv.Curve((rx, ry), kdims, vdim, label="realised")
        style_line(curve, _REALISED_COLOR, 2.2)
        realised_layers.append(curve)

    # Zones across the whole x range; labels at the right edge.
    zone_spans: list[hv.HSpan] = []
    zone_texts: list[hv.Text] = []
    if zones is not None:
        zframe = _zone_frame(zones)
        if not zframe.empty:
            lows = [float(np.nanmin(frame.to_numpy(dtype=float))), float(zframe["low"].min())]
            highs = [float(np.nanmax(frame.to_numpy(dtype=float))), float(zframe["high"].max())]
            if history_curve is not None:
                hv_values = history_curve.dimension_values(1)
                lows.append(float(np.nanmin(hv_values)))
                highs.append(float(np.nanmax(hv_values)))
            y_span = float(np.nanmax(highs) - np.nanmin(lows))
            # Labels go in a strip right of the last forecast step, clear of the data; on a session axis
            # (which ends at the last step) inside the right edge.
            x_label = x[-1] if axis is not None else x[-1] + (x[-1] - x_left) * _LABEL_STRIP
            zone_spans, zone_texts = _zone_layers(zframe, x_label, y_span)

    origin = hv.VLine(anchor[0] if anchor is not None else x[0], kdims=[xdim, vdim])
    style_line(origin, "#555555", 1.2, dash="dotted", common={"alpha": 0.8})

    break_marks: list[hv.VLine] = []
    if axis is not None:
        shown = axis.breaks[axis.breaks >= float(x_left)]
        for bx in shown if len(shown) <= _MAX_BREAK_MARKS else []:
            mark = hv.VLine(float(bx), kdims=[xdim, vdim])
            style_line(mark, _BREAK_COLOR, 0.8, dash="dashed", common={"alpha": 0.7})
            break_marks.append(mark)

    layers = [
        *band_layers,
        *zone_spans,
        *break_marks,
        *path_layers,
        *([history_curve] if history_curve is not None else []),
        *median_layers,
        *realised_layers,
        origin,
        *zone_texts,
    ]
    overlay = hv.Overlay(layers)
    style(
        overlay,
        common={
            "title": title if title is not None else "Price forecast",
            "xlabel": xdim.label,
            "ylabel": "price",
            "legend_position": "right",
            # HoloViews hides legends of overlays with more layers than this (default 25).
            "legend_limit": len(layers) + 1,
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH + 120, "height": BOKEH_HEIGHT, "tools": ["hover"]},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.0, **date_hooks(frame.index)},
    )
    if axis is not None:
        ticks = [(p, label) for p, label in axis.ticks if float(x_left) <= p <= float(x[-1])]
        style(overlay, common={"xticks": ticks, "xlim": (float(x_left), float(x[-1]))})
    return overlay
