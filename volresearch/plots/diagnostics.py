"""Diagnostic figures: calibration, autocorrelation, parameter drift, filter health.

* :func:`pit_histogram`: probability integral transforms of realised prices
  under the forecast distribution are uniform on [0, 1] when the forecast is
  calibrated; the histogram is drawn as a density (uniform = 1) with the
  pointwise binomial band of a bin's count under uniformity.
* :func:`acf_plot`: sample autocorrelations of returns, absolute and squared
  returns by lag with their significance bounds (volatility clustering shows
  as significant ACF of ``|r|`` and ``r^2`` out to many lags).
* :func:`parameter_drift`: rolling-window parameter estimates with standard
  errors, one panel per parameter.
* :func:`coverage_plot`: interval hit rate over time against its nominal level.
* :func:`ess_plot`: a particle filter's effective sample size with the
  ``N / 2`` resampling threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import holoviews as hv
import numpy as np
import pandas as pd
from scipy.stats import binom

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
    style_fill,
    style_line,
    warn,
    x_values,
)

__all__ = ["pit_histogram", "acf_plot", "parameter_drift", "coverage_plot", "ess_plot"]

_BAR_COLOR = "#4a90c8"
_REF_COLOR = "#d62728"
_BAND_COLOR = "#bbbbbb"
#: PIT values this far outside [0, 1] are treated as rounding and clipped.
_PIT_TOL = 1e-9


def pit_histogram(
    pits: np.ndarray | pd.Series | Sequence[float], *, bins: int = 10, confidence: float = 0.95
) -> hv.Overlay:
    """Histogram of PIT values with the uniform reference and a binomial band.

    Parameters
    ----------
    pits
        Probability integral transforms ``F_t(y_t)`` of realised values under
        their forecast CDFs, in [0, 1]; NaNs are dropped.
    bins
        Number of equal-width bins on [0, 1].
    confidence
        Coverage of the band: under uniformity a bin's count is
        ``Binomial(n, 1 / bins)``, and the band spans its ``(1 - confidence) / 2``
        and ``(1 + confidence) / 2`` quantiles (pointwise, per bin; all bins
        share it since they have equal probability).

    Returns
    -------
    holoviews.Overlay
        The histogram (:class:`holoviews.Histogram`, density: count /
        (n * bin width)), the band drawn translucent over it
        (:class:`holoviews.Area`) and the uniform density 1
        (:class:`holoviews.Curve`).  The title gives
        ``n`` and how many bins fall outside the band.

    Raises
    ------
    DataError
        No finite values, values outside [0, 1], ``bins < 1`` or
        ``confidence`` outside (0, 1).
    """
    if int(bins) < 1:
        raise DataError(f"bins must be >= 1, got {bins}")
    if not 0.0 < confidence < 1.0:
        raise DataError(f"confidence must be in (0, 1), got {confidence}")
    bins = int(bins)
    values = np.asarray(pits, dtype=float).ravel()
    values = values[np.isfinite(values)]
    n = values.size
    if n == 0:
        raise DataError("pits has no finite values")
    outside = (values < -_PIT_TOL) | (values > 1 + _PIT_TOL)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{int(outside.sum())} PIT value(s) outside [0, 1] "
            f"(first: {values[first]!r} at position {first} among the finite values)"
        )
    values = np.clip(values, 0.0, 1.0)
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    width = 1.0 / bins
    density = counts / (n * width)
    p = 1.0 / bins
    lo = binom.ppf((1 - confidence) / 2, n, p) / (n * width)
    hi = binom.ppf((1 + confidence) / 2, n, p) / (n * width)
    n_out = int(np.sum((density < lo) | (density > hi)))

    pit_dim = hv.Dimension("pit", label="PIT", range=(0.0, 1.0))
    dens = hv.Dimension("density")
    band = hv.Area(
        ([0.0, 1.0], [lo, lo], [hi, hi]),
        [pit_dim],
        [dens, hv.Dimension("density_upper", label="upper density")],
        label=f"{confidence:.0%} band (uniform)",
    )
    style_fill(band, "#808080", 0.3, common={"show_legend": True})
    hist = hv.Histogram((edges, density), kdims=[pit_dim], vdims=[dens], label="observed")
    style_fill(hist, _BAR_COLOR, 0.85, edge="white", common={"show_legend": True})
    uniform = hv.Curve(([0.0, 1.0], [1.0, 1.0]), [pit_dim], [dens], label="uniform")
    style_line(uniform, _REF_COLOR, 2.0, dash="dashed")
    top = max(float(density.max()), hi) * 1.12
    overlay = hv.Overlay([hist, band, uniform])
    style(
        overlay,
        common={
            "title": f"PIT histogram (n = {n}, {n_out} of {bins} bins outside the band)",
            "xlim": (0.0, 1.0),
            "ylim": (0.0, top),
            "xlabel": "PIT",
            "ylabel": "density",
            "legend_position": "right",
        },
        bokeh={"width": 760, "height": 380},
        mpl={"fig_inches": 6.0, "aspect": 1.6},
    )
    return overlay


_ACF_SERIES: tuple[tuple[str, str], ...] = (("acf_r", "r"), ("acf_abs", "|r|"), ("acf_sq", "r²"))


def acf_plot(acf_table: pd.DataFrame) -> hv.Layout:
    """Autocorrelation of returns, absolute and squared returns by lag.

    Parameters
    ----------
    acf_table
        DataFrame with columns ``lag`` (positive integers), ``acf_r``,
        ``acf_abs``, ``acf_sq`` (sample autocorrelations, dimensionless) and
        ``band`` (the +/- significance bound, a constant or one per lag), as
        returned by ``volresearch.validate.stylized.acf_table``.

    Returns
    -------
    holoviews.Layout
        Three panels stacked vertically (r, ``|r|``, ``r^2``), each an Overlay
        of vertical bars (two :class:`holoviews.Spikes`: lags within the
        bound light, lags beyond it dark), the bounds ``+band`` and ``-band``
        (:class:`holoviews.Curve`, dashed) and the zero line
        (:class:`holoviews.HLine`); the panel title counts the lags beyond
        the bound.  Panels share the lag axis but
        not the ACF axis.

    Raises
    ------
    DataError
        A required column is missing or not numeric.
    """
    frame = numeric_frame(acf_table, "acf_table", ["lag", "acf_r", "acf_abs", "acf_sq", "band"])
    frame = frame.sort_values("lag")
    lags = frame["lag"].to_numpy(dtype=float)
    band = np.abs(frame["band"].to_numpy(dtype=float))
    lag_dim = hv.Dimension("lag")
    n_lags = max(len(lags), 1)
    line_px = float(np.clip(0.45 * (BOKEH_WIDTH - 80) / n_lags, 1.0, 8.0))
    line_pt = float(np.clip(0.45 * (MPL_WIDTH_IN * 72 - 60) / n_lags, 0.8, 8.0))
    panels = []
    for column, name in _ACF_SERIES:
        acf = frame[column].to_numpy(dtype=float)
        vdim = hv.Dimension(column, label=f"ACF of {name}")
        significant = np.abs(acf) > band
        layers = []
        for mask, color, label in (
            (~significant, "#9ecae1", "within bound"),
            (significant, "#08519c", "beyond bound"),
        ):
            spikes = hv.Spikes((lags[mask], acf[mask]), [lag_dim], [vdim], label=label)
            style(spikes, common={"color": color}, bokeh={"line_width": line_px}, mpl={"linewidth": line_pt})
            layers.append(spikes)
        for sign in (1.0, -1.0):
            bound = hv.Curve((lags, sign * band), [lag_dim], [vdim], label="significance bound")
            style_line(bound, _REF_COLOR, 1.2, dash="dashed")
            layers.append(bound)
        zero = hv.HLine(0.0)
        style_line(zero, "#444444", 1.0)
        layers.append(zero)
        n_sig = int(significant.sum())
        overlay = hv.Overlay(layers)
        style(
            overlay,
            common={
                "title": f"ACF of {name}: {n_sig} of {len(lags)} lags beyond the ±bound (dashed, dark bars)",
                "xlabel": "lag",
                "ylabel": "ACF",
                "xlim": (float(lags.min()) - 0.7, float(lags.max()) + 0.7),
                "show_legend": False,
            },
            bokeh={"width": BOKEH_WIDTH, "height": 230},
            mpl={"aspect": 3.2},
        )
        panels.append(overlay)
    layout = hv.Layout(panels).cols(1)
    style(
        layout,
        bokeh={"shared_axes": True},
        mpl={"fig_inches": MPL_WIDTH_IN, "sublabel_format": "", "vspace": 0.45},
    )
    return layout


def parameter_drift(params: pd.DataFrame, *, z: float = 1.96, cols: int = 2) -> hv.Layout:
    """Rolling-window parameter estimates, one small panel per parameter.

    Parameters
    ----------
    params
        DataFrame indexed by window end time (``DatetimeIndex``) or window
        number; one numeric column per parameter (in the units the estimator
        reports) and, optionally, ``<name>_se`` columns with the standard error
        of ``<name>`` (same units).
    z
        Half-width of the shaded band in standard errors (1.96: a pointwise
        95 % normal interval).
    cols
        Panels per row.

    Returns
    -------
    holoviews.Layout
        One panel per parameter: the estimate (:class:`holoviews.Curve` with
        markers) over a :class:`holoviews.Spread` of +/- ``z`` standard errors
        when ``<name>_se`` is present.  Panels share the time axis but not
        the value axis.

    Raises
    ------
    DataError
        No parameter columns, a non-numeric column, or an ``_se`` column with
        no parameter of that name.
    """
    frame = numeric_frame(params, "params")
    se_cols = {c for c in frame.columns if str(c).endswith("_se")}
    names = [c for c in frame.columns if c not in se_cols]
    for c in se_cols:
        if str(c)[: -len("_se")] not in names:
            raise DataError("standard-error column has no parameter column of that name", column=str(c))
    if not names:
        raise DataError("params has no parameter columns (only *_se columns)")
    xdim = axis_dim(frame.index, "window_end")
    xdim = xdim.clone(label="window end" + (" (UTC)" if "UTC" in (xdim.label or "") else ""))
    x = x_values(frame.index)
    panels = []
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        vdim = hv.Dimension(str(name), label=str(name))
        y = frame[name].to_numpy(dtype=float)
        layers = []
        se_name = f"{name}_se"
        if se_name in se_cols:
            se = z * frame[se_name].to_numpy(dtype=float)
            spread = hv.Spread((x, y, se), [xdim], [vdim, hv.Dimension(f"{name}_err")], label=f"±{z:g} se")
            style_fill(spread, color, 0.25, common={"show_legend": False})
            layers.append(spread)
        curve = hv.Curve((x, y), [xdim], [vdim])
        style_line(curve, color, 1.8)
        points = hv.Scatter((x, y), [xdim], [vdim])
        style(points, common={"color": color}, bokeh={"size": 4}, mpl={"s": 9})
        layers += [curve, points]
        overlay = hv.Overlay(layers)
        style(
            overlay,
            common={"title": str(name), "show_grid": True},
            bokeh={"width": BOKEH_WIDTH // 2, "height": 230, "tools": ["hover"]},
            mpl={"aspect": 1.8, **date_hooks(frame.index)},
        )
        panels.append(overlay)
    n_cols = max(1, min(int(cols), len(panels)))
    layout = hv.Layout(panels).cols(n_cols)
    # matplotlib's fig_inches on a layout sizes one column.
    style(
        layout,
        mpl={"fig_inches": MPL_WIDTH_IN / n_cols, "sublabel_format": "", "vspace": 0.3, "hspace": 0.3},
    )
    return layout


def coverage_plot(frame: pd.DataFrame, *, title: str | None = None) -> hv.Overlay:
    """Interval hit rate over time against its nominal coverage.

    Parameters
    ----------
    frame
        DataFrame indexed by time (or evaluation step) with columns
        ``coverage`` (fraction of realised values inside the forecast interval,
        0-1, e.g. over a rolling window) and ``nominal`` (the interval's
        nominal coverage, 0-1); optional ``lower`` and ``upper`` columns (0-1)
        are drawn as a shaded acceptance band.
    title
        Figure title (default ``"Interval coverage"``).

    Returns
    -------
    holoviews.Overlay
        Optional band (:class:`holoviews.Area`), the hit rate and the nominal
        level (:class:`holoviews.Curve`).

    Raises
    ------
    DataError
        Missing or non-numeric columns.
    """
    data = numeric_frame(frame, "frame", ["coverage", "nominal"])
    xdim = axis_dim(data.index)
    x = x_values(data.index)
    cov = hv.Dimension("coverage")
    layers = []
    if {"lower", "upper"} <= set(data.columns):
        band = hv.Area(
            (x, data["lower"].to_numpy(dtype=float), data["upper"].to_numpy(dtype=float)),
            [xdim],
            [cov, hv.Dimension("coverage_upper", label="upper coverage")],
            label="acceptance band",
        )
        style_fill(band, _BAND_COLOR, 0.45, common={"show_legend": True})
        layers.append(band)
    hit = hv.Curve((x, data["coverage"].to_numpy(dtype=float)), [xdim], [cov], label="hit rate")
    style_line(hit, _BAR_COLOR, 2.0)
    nominal = hv.Curve((x, data["nominal"].to_numpy(dtype=float)), [xdim], [cov], label="nominal")
    style_line(nominal, _REF_COLOR, 1.6, dash="dashed")
    layers += [hit, nominal]
    overlay = hv.Overlay(layers)
    style(
        overlay,
        common={
            "title": title if title is not None else "Interval coverage",
            "xlabel": xdim.label,
            "ylabel": "coverage",
            "legend_position": "right",
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH, "height": 320},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.6, **date_hooks(data.index)},
    )
    return overlay


def ess_plot(series: pd.Series, *, n_particles: int | None = None) -> hv.Overlay:
    """Effective sample size of a particle filter over time.

    Parameters
    ----------
    series
        Effective sample size ``1 / sum(w_i^2)`` (normalised weights, in
        particles) indexed by time or bar number.
    n_particles
        Number of particles ``N``.  When ``None``, ``series.attrs
        ["n_particles"]`` is used if present; otherwise ``N`` is taken as the
        largest ESS seen (ESS never exceeds ``N``) and a warning says so.

    Returns
    -------
    holoviews.Overlay
        The ESS (:class:`holoviews.Curve`) and the resampling threshold
        ``N / 2`` (:class:`holoviews.Curve`, dashed); the title gives the share
        of steps below the threshold.

    Raises
    ------
    DataError
        Empty or non-numeric series, or ``n_particles < 1``.
    """
    ess = numeric_series(series, "series").dropna()
    if ess.empty:
        raise DataError("series has no finite values")
    if n_particles is None:
        n_particles = ess.attrs.get("n_particles") if ess.attrs else None
    if n_particles is None:
        n_eff = float(math.ceil(float(ess.max())))
        warn(f"ess_plot: n_particles not given; threshold drawn at half the largest ESS ({n_eff:g} / 2)")
        n_label = "max ESS / 2"
    else:
        n_eff = float(n_particles)
        if n_eff < 1:
            raise DataError(f"n_particles must be >= 1, got {n_particles}")
        n_label = f"N / 2 = {n_eff / 2:g}"
    xdim = axis_dim(ess.index)
    x = x_values(ess.index)
    ydim = hv.Dimension("ess", label="effective sample size")
    curve = hv.Curve((x, ess.to_numpy(dtype=float)), [xdim], [ydim], label="ESS")
    style_line(curve, _BAR_COLOR, 1.5)
    threshold = hv.Curve(
        ([x[0], x[-1]], [n_eff / 2, n_eff / 2]), [xdim], [ydim], label=f"resampling threshold {n_label}"
    )
    style_line(threshold, _REF_COLOR, 1.6, dash="dashed")
    below = float(np.mean(ess.to_numpy(dtype=float) < n_eff / 2))
    overlay = hv.Overlay([curve, threshold])
    style(
        overlay,
        common={
            "title": f"Effective sample size ({below:.0%} of steps below the threshold)",
            "xlabel": xdim.label,
            "ylabel": "effective sample size",
            "ylim": (0.0, n_eff * 1.05),
            "legend_position": "right",
            "show_grid": True,
        },
        bokeh={"width": BOKEH_WIDTH, "height": 320},
        mpl={"fig_inches": MPL_WIDTH_IN, "aspect": 2.6, **date_hooks(ess.index)},
    )
    return overlay
