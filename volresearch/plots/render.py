"""Static PNG rendering of any figure with the matplotlib backend (for reports).

:func:`render_png` loads the matplotlib plotting backend of HoloViews when it
is missing, renders with it, writes the PNG and puts back whichever backend
was current before, so a notebook or dashboard working with bokeh carries on
unchanged.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import holoviews as hv
from holoviews.core.options import Store

from volresearch.plots._common import ensure_backends

__all__ = ["render_png"]


def _sized(obj: hv.core.dimension.Dimensioned, width: float, height: float) -> hv.core.dimension.Dimensioned:
    """A copy of ``obj`` whose matplotlib figure is ``width`` x ``height`` inches."""
    options: dict[str, object] = {"fig_inches": (width, height)}
    if not isinstance(obj, hv.Layout | hv.NdLayout | hv.GridSpace):
        options["aspect"] = "auto"
    return obj.opts(clone=True, backend="matplotlib", **options)


def render_png(
    obj: hv.core.dimension.Dimensioned,
    path: str | os.PathLike[str],
    *,
    dpi: int = 110,
    size: tuple[float, float] | None = None,
) -> Path:
    """Render a HoloViews object to a PNG file with the matplotlib backend.

    Parameters
    ----------
    obj
        Any element, Overlay or Layout (e.g. from :func:`fan_chart`).
    path
        Output file; missing parent directories are created.
    dpi
        Resolution in dots per inch.
    size
        ``(width, height)`` of the matplotlib figure in inches; a single
        panel then fills it (its aspect ratio gives way), a layout keeps its
        panels' aspect ratios within that width.  ``None`` keeps the size the
        object's own options give (about 9 inches wide for the figures of
        this package).  The image is trimmed to what is drawn, legends outside
        the axes included, so its pixel size is close to, not exactly,
        ``size * dpi``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    if "matplotlib" not in ensure_backends():
        raise ImportError("render_png needs matplotlib, which could not be imported")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = Store.current_backend
    fig = None
    try:
        Store.set_current_backend("matplotlib")
        renderer = Store.renderers["matplotlib"].instance(dpi=dpi)
        with warnings.catch_warnings():
            # HoloViews draws every curve with the format string "-", so a dashed
            # curve makes matplotlib note that the linestyle keyword wins; it does.
            warnings.filterwarnings("ignore", message="linestyle is redundantly defined", category=UserWarning)
            if size is not None:
                obj = _sized(obj, float(size[0]), float(size[1]))
            fig = renderer.get_plot(obj).state
            fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    finally:
        if fig is not None:
            plt.close(fig)
        if Store.current_backend != previous:
            Store.set_current_backend(previous)
    return out
