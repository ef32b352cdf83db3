"""The volresearch dashboard, served by Panel.

Run from the repository root::

    BOKEH_RESOURCES=server panel serve dashboards/app.py --show

Panel runs this module once per browser session, so every session builds its
own state and views: two traders never share a fit or a replay.  Bokeh and
Panel scripts are served by the Panel server itself (no CDN), so the page
works offline.  CSV and Parquet files in the repository's ``data/`` folder are
offered next to the embedded datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("BOKEH_RESOURCES", "server")

import panel as pn  # noqa: E402

from volresearch.dashboard import create_dashboard  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

pn.extension(sizing_mode="stretch_width", notifications=False)

if pn.state.served:
    create_dashboard(data_dir=DATA_DIR).servable(title="volresearch dashboard")
