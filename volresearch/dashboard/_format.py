"""Text formats shared by the dashboard's views."""

from __future__ import annotations

from typing import Any

import pandas as pd


def fmt_time(ts: Any) -> str:
    """``YYYY-MM-DD HH:MM UTC``."""
    return f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} UTC"
