"""volresearch: volatility research and Monte Carlo price forecasting.

Layers (arrows go one way)::

    data -> models -> simulate -> signals -> validate -> surfaces (cli, reports, dashboard)
"""

from __future__ import annotations

__version__ = "0.1.0"
