"""The Panel dashboard: fit, simulate, read the signal and replay, in a browser.

* :mod:`~volresearch.dashboard.state` - :class:`DashboardState`, every
  control and result as a parameter, no widgets and no plotting (tests drive
  it directly);
* :mod:`~volresearch.dashboard.views` - :class:`Dashboard` and its parts as
  :class:`panel.viewable.Viewer` classes built from the state's parameters;
* :mod:`~volresearch.dashboard.sources` - datasets, data files and uploads.

Serve it with ``panel serve dashboards/app.py``; each browser session gets
its own state from :func:`create_dashboard`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .sources import SourceInfo, discover_sources, read_source, read_upload
from .state import DashboardState, Forecast, compute_fit, compute_replay_step, split_bars

if TYPE_CHECKING:
    from .views import Dashboard

__all__ = [
    "Dashboard",
    "DashboardState",
    "Forecast",
    "SourceInfo",
    "compute_fit",
    "compute_replay_step",
    "create_dashboard",
    "discover_sources",
    "read_source",
    "read_upload",
    "split_bars",
]


def create_dashboard(data_dir: str | Path | None = None, **state_params: object) -> Dashboard:
    """A new dashboard with its own state (one per browser session).

    Parameters
    ----------
    data_dir
        Folder whose CSV/Parquet files are offered besides the embedded datasets.
    **state_params
        Initial values of :class:`DashboardState` parameters.
    """
    from .views import Dashboard

    return Dashboard(state=DashboardState(data_dir=data_dir, **state_params))


def __getattr__(name: str) -> object:
    # The views import Panel; load them only when asked for.
    if name == "Dashboard":
        from .views import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
