"""Report choices made from the data: horizon, bar length in words, source description, walk-forward layout."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from volresearch.reports.source import AssetClass, SourceInfo

# =============================================================================
# Choices made from the data
# =============================================================================
DAY_SECONDS = 86_400.0
"""Seconds in a day."""
DAILY_HORIZON = 20
"""Default horizon in bars for daily or longer bars (about a trading month)."""
_INTRADAY_LIMIT = 6 * 3600.0  # bars shorter than this are intraday


def is_intraday(bar_seconds: float | None) -> bool:
    """True for bars shorter than six hours (``None`` counts as daily)."""
    return bar_seconds is not None and math.isfinite(bar_seconds) and 0 < bar_seconds < _INTRADAY_LIMIT


def default_horizon(bar_seconds: float | None) -> int:
    """Forecast horizon in bars when the user gives none.

    Intraday bars: one day of them, ``round(86400 / bar_seconds)`` (1,440
    one-minute bars, the 24-hour horizon the confidence thresholds refer
    to).  Daily or longer bars, or an unknown bar length: 20 bars.
    """
    if is_intraday(bar_seconds):
        return max(1, round(DAY_SECONDS / float(bar_seconds)))  # type: ignore[arg-type]
    return DAILY_HORIZON


def bar_label(bar_seconds: float | None) -> str:
    """Bar length in words: ``"1 minute"``, ``"5 minutes"``, ``"1 hour"``, ``"1 day"``, ``"unknown length"``."""
    if bar_seconds is None or not math.isfinite(bar_seconds) or bar_seconds <= 0:
        return "unknown length"
    for unit, size in (("day", DAY_SECONDS), ("hour", 3600.0), ("minute", 60.0), ("second", 1.0)):
        if bar_seconds >= size and float(bar_seconds / size).is_integer():
            count = int(bar_seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{bar_seconds:g} seconds"


def horizon_minutes(horizon: int, bar_seconds: float | None) -> float:
    """Clock length of ``horizon`` bars in minutes (a daily bar counts 1,440 minutes)."""
    step = float(bar_seconds) if bar_seconds and math.isfinite(bar_seconds) and bar_seconds > 0 else DAY_SECONDS
    return horizon * step / 60.0


def _asset_class(symbol: str | None, instrument: str) -> AssetClass:
    if symbol and symbol.startswith("^"):
        return "equity_index"
    try:
        from volresearch.config import get_instrument

        cls = get_instrument(instrument).asset_class
    except Exception:  # unknown symbol or unreadable configuration: no leverage verdict
        return "other"
    if cls.startswith("equity_index"):
        return "equity_index"
    if cls.startswith("metal"):
        return "metal"
    return "other"


def describe_source(data: str | os.PathLike[str], bars: pd.DataFrame) -> SourceInfo:
    """Describe the report's data for its title page and its choices.

    Parameters
    ----------
    data
        The embedded dataset name or file path the bars were opened from.
    bars
        The bars (their ``attrs`` carry ``symbol``, ``synthetic`` and ``source``).
    """
    from volresearch.data.datasets import DATASETS

    symbol = bars.attrs.get("symbol")
    symbol = str(symbol) if symbol else None
    instrument = symbol.split("-")[0].upper() if symbol and not symbol.startswith("^") else (symbol or "default")
    key = str(data)
    if key in DATASETS:
        info = DATASETS[key]
        synthetic: bool | None = not info.real
        name, description = info.name, info.description
    else:
        path = Path(key)
        name = path.name
        description = f"bars read from {path}"
        synthetic = True if bars.attrs.get("synthetic") else None
    return SourceInfo(
        key=key,
        label=name,
        description=description,
        synthetic=synthetic,
        symbol=symbol,
        instrument=instrument,
        asset_class=_asset_class(symbol, instrument),
    )


@dataclass(frozen=True)
class WalkForwardPlan:
    """Layout of the report's walk-forward evaluation (bar counts).

    Attributes
    ----------
    in_sample, out_of_sample
        Returns per in-sample window and per out-of-sample period.
    windows
        Number of windows (the most recent ones).
    step
        Bars between forecast origins.
    horizon
        Forecast horizon in bars (1: one bar ahead).
    n_paths
        Ensemble members per forecast.
    first_bar
        Position of the first bar used (the bars before it are not needed).
    """

    in_sample: int
    out_of_sample: int
    windows: int
    step: int
    horizon: int
    n_paths: int
    first_bar: int

    @property
    def n_forecasts(self) -> int:
        """Approximate number of forecasts (origins per period times windows)."""
        return self.windows * math.ceil(self.out_of_sample / self.step)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return {
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "windows": self.windows,
            "step": self.step,
            "horizon": self.horizon,
            "n_paths": self.n_paths,
            "first_bar": self.first_bar,
        }


def walk_forward_plan(
    n_bars: int,
    bar_seconds: float | None,
    *,
    n_paths: int,
    max_windows: int = 12,
    max_forecasts: int = 3000,
    max_paths: int = 1000,
    min_in_sample: int = 250,
) -> WalkForwardPlan | None:
    """Choose the report's walk-forward layout, or ``None`` when the data are too short.

    Daily or longer bars: 1,000 returns in sample (about four years) and 63
    out of sample (a quarter), rolled over the last ``max_windows``
    quarters (fewer when the data are shorter; with fewer than 1,063 returns
    half of them are in sample).  Intraday bars: the layout ``volresearch
    validate`` gives short data, a quarter of the returns in sample (at least
    1,000, at most 20,000) and the rest in nine out-of-sample windows.  Origins are ``step`` bars apart, the smallest
    stride giving at most ``max_forecasts`` forecasts; the ensembles have
    ``min(n_paths, max_paths)`` members.

    Parameters
    ----------
    n_bars
        Number of bars (returns are one fewer).
    bar_seconds
        Bar length in seconds (None: treated as daily).
    n_paths
        Paths of the report's price forecast.
    """
    n = int(n_bars) - 1
    if is_intraday(bar_seconds):
        # the layout of ``volresearch validate`` on short data: a quarter in sample, nine out-of-sample windows
        in_sample = min(20_000, max(1_000, n // 4))
        out_of_sample = max(1, (n - in_sample) // 9)
    else:
        in_sample = 1_000 if n >= 1_000 + 63 else n // 2
        out_of_sample = 63 if n - in_sample >= 63 else max(0, n - in_sample)
    if in_sample < min_in_sample or out_of_sample < 1:
        return None
    windows = min(int(max_windows), (n - in_sample) // out_of_sample)
    if windows < 1:
        return None
    used = in_sample + windows * out_of_sample
    step = max(1, math.ceil(windows * out_of_sample / max(1, int(max_forecasts))))
    return WalkForwardPlan(
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        windows=windows,
        step=step,
        horizon=1,
        n_paths=max(100, min(int(n_paths), int(max_paths))),
        first_bar=n - used,
    )
