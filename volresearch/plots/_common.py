"""Shared machinery of the figure functions: backends, styling, axes, checks.

Every figure in :mod:`volresearch.plots` is a plain HoloViews object.  Styling
options are attached per backend (bokeh for notebooks and the dashboard,
matplotlib for static report images) so that one object renders well with
either.  HoloViews only accepts options for backends whose plotting module is
imported, so :func:`ensure_backends` imports the plotting modules of both (the
ones that are installed) without changing the caller's current backend and
without calling ``hv.extension`` (which would also switch it and load
notebook resources).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.core.options import Store

from volresearch.errors import DataError

__all__ = [
    "PlotWarning",
    "MissingQuantileWarning",
    "ensure_backends",
    "style",
    "style_fill",
    "style_line",
    "axis_dim",
    "x_values",
    "date_axis_hook",
    "date_hooks",
    "warn",
    "numeric_frame",
    "numeric_series",
    "interpolate_hex",
    "PALETTE",
    "BOKEH_WIDTH",
    "BOKEH_HEIGHT",
    "MPL_WIDTH_IN",
]

#: HoloViews backend name -> module under ``holoviews.plotting``.
_BACKEND_MODULES: dict[str, str] = {"bokeh": "bokeh", "matplotlib": "mpl"}

#: Categorical colours (Tableau 10) for one line per model or series.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

#: Default size of a single bokeh panel (screen pixels).
BOKEH_WIDTH = 820
BOKEH_HEIGHT = 420
#: Default width of a matplotlib figure (inches); heights follow from aspects.
MPL_WIDTH_IN = 9.0

T = TypeVar("T", bound=hv.core.dimension.Dimensioned)


class PlotWarning(UserWarning):
    """A figure was drawn, but with something left out or guessed."""


class MissingQuantileWarning(PlotWarning):
    """A quantile column needed for a fan-chart band or the median is missing."""


def ensure_backends() -> tuple[str, ...]:
    """Import the bokeh and matplotlib plotting modules of HoloViews.

    Importing a plotting module registers its renderer and its option
    vocabulary; the first one imported in a process would also become the
    current backend, so the current backend is restored afterwards.  A backend
    whose library is not installed (e.g. matplotlib in a dashboard-only
    environment) is skipped.

    Returns
    -------
    tuple of str
        The backends available after the call, among ``"bokeh"`` and
        ``"matplotlib"``.

    Raises
    ------
    ImportError
        When neither backend can be loaded.
    """
    previous = Store.current_backend
    for backend, module in _BACKEND_MODULES.items():
        if backend in Store.renderers:
            continue
        try:
            importlib.import_module(f"holoviews.plotting.{module}")
        except ImportError:
            continue
    if Store.current_backend != previous:
        Store.set_current_backend(previous)
    loaded = tuple(b for b in _BACKEND_MODULES if b in Store.renderers)
    if not loaded:
        raise ImportError("volresearch.plots needs bokeh or matplotlib; neither could be imported")
    return loaded


def style(
    obj: T,
    *,
    common: Mapping[str, Any] | None = None,
    bokeh: Mapping[str, Any] | None = None,
    mpl: Mapping[str, Any] | None = None,
) -> T:
    """Attach options to ``obj`` for each loaded backend.

    Parameters
    ----------
    obj
        A HoloViews element or container; modified in place and returned.
    common
        Options whose names mean the same in both backends (``color``,
        ``alpha``, ``title``, ``xlabel``, ``show_legend``...).
    bokeh, mpl
        Backend-specific options (e.g. ``line_width`` / ``linewidth``),
        merged over ``common`` for that backend only.
    """
    loaded = ensure_backends()
    for backend, extra in (("bokeh", bokeh), ("matplotlib", mpl)):
        if backend not in loaded:
            continue
        options = {**(common or {}), **(extra or {})}
        if options:
            obj.opts(backend=backend, **options)
    return obj


#: Dash name -> (bokeh ``line_dash``, matplotlib ``linestyle``).
_DASHES: dict[str, tuple[str, str]] = {
    "solid": ("solid", "-"),
    "dashed": ("dashed", "--"),
    "dotted": ("dotted", ":"),
}


def style_line(
    obj: T,
    color: str,
    width: float,
    *,
    dash: str = "solid",
    common: Mapping[str, Any] | None = None,
) -> T:
    """Style a line element (curve, spikes, reference line).

    Parameters
    ----------
    obj
        The element; modified in place and returned.
    color
        Line colour.
    width
        Line width in screen pixels for bokeh; matplotlib gets 0.8 of it in
        points, which looks about the same at report resolution.
    dash
        ``"solid"``, ``"dashed"`` or ``"dotted"``.
    common
        Further options meaning the same in both backends.
    """
    bokeh_dash, mpl_dash = _DASHES[dash]
    bokeh: dict[str, Any] = {"line_width": width}
    mpl: dict[str, Any] = {"linewidth": 0.8 * width}
    if dash != "solid":
        bokeh["line_dash"] = bokeh_dash
        mpl["linestyle"] = mpl_dash
    return style(obj, common={"color": color, **(common or {})}, bokeh=bokeh, mpl=mpl)


def style_fill(
    obj: T,
    color: str,
    alpha: float,
    *,
    edge: str | None = None,
    common: Mapping[str, Any] | None = None,
) -> T:
    """Style a filled element (area, spread, span, histogram).

    Matplotlib's filled elements take a default ``facecolor`` that overrides
    ``color``, so the fill is set as ``facecolor`` there.  ``edge`` is a
    visible outline colour; ``None`` draws no outline.
    """
    bokeh: dict[str, Any] = {"color": color}
    mpl: dict[str, Any] = {"facecolor": color}
    if edge is None:
        bokeh["line_alpha"] = 0.0
        mpl["linewidth"] = 0.0
    else:
        bokeh.update(line_color=edge, line_width=1.0)
        mpl.update(edgecolor=edge, linewidth=1.0)
    return style(obj, common={"alpha": alpha, **(common or {})}, bokeh=bokeh, mpl=mpl)


def axis_dim(index: pd.Index, name: str | None = None) -> hv.Dimension:
    """The x dimension for data indexed by ``index``.

    A ``DatetimeIndex`` gives ``time`` (labelled ``time (UTC)`` when the index
    is time-zone aware, since values are converted to naive UTC); a numeric
    index gives ``step`` unless ``name`` says otherwise.
    """
    if isinstance(index, pd.DatetimeIndex):
        label = "time (UTC)" if index.tz is not None else "time"
        return hv.Dimension(name or "time", label=label)
    if pd.api.types.is_numeric_dtype(index):
        return hv.Dimension(name or "step")
    raise DataError(
        f"index must be a DatetimeIndex or numeric (steps), got {type(index).__name__} of dtype {index.dtype}"
    )


def x_values(index: pd.Index) -> np.ndarray:
    """Plot coordinates of ``index``: naive UTC ``datetime64[ns]`` or floats."""
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        return index.to_numpy(dtype="datetime64[ns]")
    if pd.api.types.is_numeric_dtype(index):
        return index.to_numpy(dtype=float)
    raise DataError(
        f"index must be a DatetimeIndex or numeric (steps), got {type(index).__name__} of dtype {index.dtype}"
    )


def date_axis_hook(plot: Any, element: Any) -> None:
    """Matplotlib hook: concise date ticks on the x axis (no overlapping labels)."""
    import matplotlib.dates as mdates

    ax = plot.handles["axis"]
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def date_hooks(index: pd.Index) -> dict[str, list[Callable[..., None]]]:
    """Matplotlib ``hooks`` option for a figure whose x axis is ``index``."""
    return {"hooks": [date_axis_hook]} if isinstance(index, pd.DatetimeIndex) else {}


def numeric_frame(frame: Any, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Check that ``frame`` is a non-empty DataFrame with numeric ``columns``.

    Parameters
    ----------
    frame
        The input to check.
    name
        The argument's name, used in error messages.
    columns
        Columns that must be present and numeric (all columns when ``None``).

    Returns
    -------
    pandas.DataFrame
        ``frame`` sorted by its index.

    Raises
    ------
    DataError
        Not a DataFrame, empty, a column missing or not numeric.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise DataError(f"{name} is empty")
    wanted = list(frame.columns) if columns is None else columns
    for col in wanted:
        if col not in frame.columns:
            raise DataError(f"{name} lacks a required column", column=str(col))
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DataError(f"{name} column is not numeric ({frame[col].dtype})", column=str(col))
    return frame.sort_index()


def numeric_series(series: Any, name: str) -> pd.Series:
    """Check that ``series`` is a non-empty numeric Series; return it sorted by index."""
    if isinstance(series, pd.DataFrame) and series.shape[1] == 1:
        series = series.iloc[:, 0]
    if not isinstance(series, pd.Series):
        raise DataError(f"{name} must be a pandas Series, got {type(series).__name__}")
    if series.empty:
        raise DataError(f"{name} is empty")
    if not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"{name} is not numeric ({series.dtype})")
    return series.sort_index()


def interpolate_hex(light: str, dark: str, n: int) -> list[str]:
    """``n`` colours evenly spaced from ``light`` to ``dark`` (hex ``#rrggbb``)."""
    a = np.array([int(light[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    b = np.array([int(dark[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    fractions = np.linspace(0.0, 1.0, n) if n > 1 else np.array([1.0])
    return ["#" + "".join(f"{int(round(v)):02x}" for v in a + f * (b - a)) for f in fractions]


def warn(message: str, category: type[Warning] = PlotWarning) -> None:
    """Issue a plotting warning attributed to the caller of the public function."""
    warnings.warn(message, category, stacklevel=3)
