"""Walk-forward layout: spans, windows, forecast origins and refit points (nothing is fitted here).

See :mod:`volresearch.validate.walkforward` for the layout rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError
from volresearch.models import VOLATILITY_FLOOR
from volresearch.models.returns import log_returns, prices_from
from volresearch.validate._common import DEFAULT_LEVELS
from volresearch.validate.baselines import VOLATILITY_ESTIMATORS

__all__ = [
    "DEFAULT_IN_SAMPLE",
    "DEFAULT_OUT_OF_SAMPLE",
    "MIN_DEFAULT_IN_SAMPLE",
    "CHUNK_VALUES",
    "Span",
    "BaselineName",
    "level_name",
    "walk_forward_windows",
]

Span = int | str | pd.DateOffset | pd.Timedelta | timedelta | None
BaselineName = Literal["ewma", "historical"]

DEFAULT_IN_SAMPLE = pd.DateOffset(months=3)
"""Default in-sample span (data of a year or more)."""
DEFAULT_OUT_OF_SAMPLE = pd.DateOffset(months=1)
"""Default out-of-sample span and roll (data of a year or more)."""
MIN_DEFAULT_IN_SAMPLE = 500
"""Returns the default in-sample window holds at least (daily bars: 3 months are only ~63 returns)."""
CHUNK_VALUES = 2_000_000
"""Simulated values (paths x (horizon + 1)) per engine call; fixes the chunk of origins."""


def level_name(level: float) -> str:
    """Column suffix of an interval level: 0.95 -> ``"95"``, 0.995 -> ``"99.5"``."""
    return f"{round(float(level) * 100, 10):g}"


# =================================================================== spans
_UNITS: dict[str, str] = {
    "m": "months", "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "d": "days", "day": "days", "days": "days",
    "b": "bars", "bar": "bars", "bars": "bars",
}  # fmt: skip


def _span(value: Span, name: str) -> int | pd.DateOffset | pd.Timedelta:
    """A window length as a bar count, a calendar offset or a fixed duration."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a bar count or a time span, got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1 bar, got {value}")
        return int(value)
    if isinstance(value, pd.offsets.BaseOffset):
        return value
    if isinstance(value, (pd.Timedelta, timedelta)):
        td = pd.Timedelta(value)
        if td <= pd.Timedelta(0):
            raise ConfigError(f"{name} must be a positive duration, got {value!r}")
        return td
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", value)
        if m:
            n, unit = int(m.group(1)), m.group(2)
            key = "months" if unit == "M" else _UNITS.get(unit.lower()) if unit != "m" else None
            if key is not None and n >= 1:
                if key == "bars":
                    return n
                return pd.DateOffset(**{key: n})
        try:
            td = pd.Timedelta(value)
        except (ValueError, TypeError):
            td = None
        if td is not None and td > pd.Timedelta(0):
            return td
    raise ConfigError(
        f"{name} must be a bar count, a pandas offset/Timedelta or a string such as '3M', '2W', '10D', '6h'; "
        f"got {value!r}"
    )


def _span_label(span: int | pd.DateOffset | pd.Timedelta) -> str:
    if isinstance(span, int):
        return f"{span} bars"
    if isinstance(span, pd.Timedelta):
        return str(span)
    kw = getattr(span, "kwds", None)
    if kw:
        return ", ".join(f"{v} {k}" for k, v in kw.items())
    return span.freqstr if hasattr(span, "freqstr") else str(span)


# ==================================================================== plan
@dataclass(frozen=True)
class _Window:
    window: int
    a: int  # first in-sample return
    b: int  # first out-of-sample return (exclusive end of in-sample)
    c: int  # exclusive end of the out-of-sample period
    origins: np.ndarray
    refits: np.ndarray


@dataclass(frozen=True)
class _Config:
    in_sample: int | pd.DateOffset | pd.Timedelta
    out_of_sample: int | pd.DateOffset | pd.Timedelta
    step: int
    horizon: int
    refit_every: int | None
    n_paths: int
    levels: tuple[float, ...]
    seed: int
    baseline: str
    baseline_options: Mapping[str, Any]
    expanding: bool
    defaults_shrunk: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_sample": _span_label(self.in_sample),
            "out_of_sample": _span_label(self.out_of_sample),
            "step": self.step,
            "horizon": self.horizon,
            "refit_every": self.refit_every,
            "n_paths": self.n_paths,
            "levels": list(self.levels),
            "seed": self.seed,
            "baseline": self.baseline,
            "baseline_options": dict(self.baseline_options),
            "expanding": self.expanding,
            "defaults_shrunk": self.defaults_shrunk,
        }


def _returns_of(bars: pd.DataFrame | pd.Series) -> pd.Series:
    if not isinstance(bars, (pd.DataFrame, pd.Series)):
        raise DataError("bars must be a DataFrame with a 'close' column or a Series of prices", column="bars")
    r = log_returns(bars)
    if isinstance(r.index, pd.DatetimeIndex) and not r.index.is_monotonic_increasing:
        raise DataError(
            "bars must be sorted by time (validate_bars with policy='repair' sorts them)", column="timestamp"
        )
    if r.size < 10:
        raise DataError(f"need at least 10 returns for a walk-forward, got {r.size}", column="close", rule="shape")
    return r


def _closing_prices(bars: pd.DataFrame | pd.Series, returns: pd.Series) -> np.ndarray | None:
    """The price that closes each return (aligned with ``returns``), or ``None`` when it cannot be told."""
    try:
        prices = prices_from(bars)
    except (DataError, KeyError, TypeError, ValueError):
        return None
    if not prices.index.is_unique:
        return None
    closes = prices.reindex(returns.index).to_numpy(dtype=np.float64)
    return closes if np.all(np.isfinite(closes) & (closes > 0)) else None


def _grid_tick(closes: np.ndarray | None, lo: int, hi: int) -> float | None:
    """Tick grid of the prices closing returns ``lo .. hi - 1`` (a window's in-sample: no look-ahead), or ``None``.

    With a grid, PIT values are randomised on it
    (:func:`~volresearch.validate.uniformity.pit_on_grid`).
    """
    from volresearch.data.tick_size import infer_tick_size

    if closes is None:
        return None
    tick = infer_tick_size(closes[max(0, lo) : hi])
    return None if tick is None else float(tick)


def _positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _config(
    index: pd.Index,
    *,
    in_sample: Span,
    out_of_sample: Span,
    step: int,
    horizon: int,
    refit_every: int | None,
    n_paths: int,
    levels: Sequence[float],
    seed: int,
    baseline: str,
    baseline_options: Mapping[str, Any] | None,
    expanding: bool,
) -> _Config:
    n = len(index)
    timed = isinstance(index, pd.DatetimeIndex)
    short = (not timed) or (index[-1] - index[0]) < pd.Timedelta(days=365)
    shrunk = False
    if in_sample is None:
        if short:
            in_sample, shrunk = max(2, n // 4), True
        else:
            in_sample = DEFAULT_IN_SAMPLE
            days = (index[-1] - index[0]) / pd.Timedelta(days=1)
            if n * (91.3 / days) < MIN_DEFAULT_IN_SAMPLE:  # 3 months hold too few returns (daily bars)
                in_sample = MIN_DEFAULT_IN_SAMPLE
    if out_of_sample is None:
        if short:
            # the returns after the in-sample window split into nine out-of-sample windows (~n/12 each)
            counted = isinstance(in_sample, (int, np.integer)) and not isinstance(in_sample, bool)
            first = int(in_sample) if counted else n // 4  # type: ignore[arg-type]
            out_of_sample, shrunk = max(1, math.ceil(max(n - first, 1) / 9)), True
        else:
            out_of_sample = DEFAULT_OUT_OF_SAMPLE
    is_span = _span(in_sample, "in_sample")
    oos_span = _span(out_of_sample, "out_of_sample")
    if not timed and not (isinstance(is_span, int) and isinstance(oos_span, int)):
        raise ConfigError("time spans for in_sample/out_of_sample need bars with a DatetimeIndex; give bar counts")
    lv = tuple(float(v) for v in levels)
    if not lv or any(not 0.0 < v < 1.0 for v in lv):
        raise ConfigError(f"levels must be numbers strictly between 0 and 1, got {levels!r}")
    if baseline not in VOLATILITY_ESTIMATORS:
        raise ConfigError(f"unknown baseline {baseline!r}; choose one of {sorted(VOLATILITY_ESTIMATORS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return _Config(
        in_sample=is_span,
        out_of_sample=oos_span,
        step=_positive_int(step, "step"),  # type: ignore[arg-type]
        horizon=_positive_int(horizon, "horizon"),  # type: ignore[arg-type]
        refit_every=_positive_int(refit_every, "refit_every", allow_none=True),
        n_paths=_positive_int(n_paths, "n_paths"),  # type: ignore[arg-type]
        levels=lv,
        seed=int(seed),
        baseline=baseline,
        baseline_options=dict(baseline_options or {}),
        expanding=bool(expanding),
        defaults_shrunk=shrunk,
    )


def _boundaries(index: pd.Index, cfg: _Config) -> list[tuple[int, int, int]]:
    """``(a, b, c)`` positions of every candidate window (before origin checks).

    The out-of-sample boundaries ``b_k`` advance by the out-of-sample span
    from the first one (in-sample span after the first return), so the
    out-of-sample periods tile the data; ``a_k`` lies the in-sample span
    before ``b_k`` (0 when expanding).
    """
    n = len(index)
    is_span, oos_span = cfg.in_sample, cfg.out_of_sample
    ts = pd.DatetimeIndex(index) if isinstance(index, pd.DatetimeIndex) else None

    def pos(t: Any) -> int:
        assert ts is not None
        return int(ts.searchsorted(t, side="left"))

    if isinstance(is_span, int):
        b0 = is_span
        b0_time = ts[b0] if ts is not None and b0 < n else None
    else:
        assert ts is not None
        b0_time = ts[0] + is_span
        b0 = pos(b0_time)
    out: list[tuple[int, int, int]] = []
    k = 0
    while True:
        if isinstance(oos_span, int):
            b = b0 + k * oos_span
            c = b + oos_span
            b_time = ts[b] if ts is not None and b < n else None
        else:
            if b0_time is None:
                break
            b_time = b0_time + oos_span * k
            b = pos(b_time)
            c = pos(b0_time + oos_span * (k + 1))
        if b >= n:
            break
        if cfg.expanding:
            a = 0
        elif isinstance(is_span, int):
            a = b - is_span
        else:
            a = pos(b_time - is_span)
        out.append((max(0, a), b, min(n, c)))
        k += 1
    return out


def _plan(index: pd.Index, base_sigma: np.ndarray, cfg: _Config) -> list[_Window]:
    n = len(index)
    h, step = cfg.horizon, cfg.step
    defined = np.isfinite(base_sigma)
    windows: list[_Window] = []
    for a, b, c in _boundaries(index, cfg):
        if b - a < 2 or c <= b:
            continue
        t = np.arange(b - 1, c - 1, step, dtype=np.int64)
        t = t[(t + h <= n - 1)]
        t = t[defined[t]]
        if t.size == 0:
            continue
        if cfg.refit_every is not None:
            refits = np.arange(b - 1 + cfg.refit_every, int(t[-1]) + 1, cfg.refit_every, dtype=np.int64)
        else:
            refits = np.empty(0, dtype=np.int64)
        windows.append(_Window(len(windows), a, b, c, t, refits))
    return windows


def _baseline_sigma(r: np.ndarray, cfg: _Config) -> np.ndarray:
    opts = dict(cfg.baseline_options)
    if cfg.baseline == "historical":
        opts.setdefault("window", 250)
        opts["window"] = min(int(opts["window"]), r.size)
    else:
        opts.setdefault("min_periods", 20)
        opts["min_periods"] = min(int(opts["min_periods"]), r.size)
    sigma = VOLATILITY_ESTIMATORS[cfg.baseline](r, **opts)
    return np.where(np.isfinite(sigma), np.maximum(sigma, VOLATILITY_FLOOR), np.nan)


def walk_forward_windows(
    bars: pd.DataFrame | pd.Series,
    *,
    in_sample: Span = None,
    out_of_sample: Span = None,
    step: int = 1,
    horizon: int = 1,
    refit_every: int | None = None,
    expanding: bool = False,
    baseline: BaselineName = "ewma",
    baseline_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The windows and origins a walk-forward would use (nothing is fitted).

    Parameters are those of :func:`walk_forward`.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window``; positions (in the log-return series)
        ``is_start``, ``is_end`` (exclusive), ``oos_start`` (= ``is_end``),
        ``oos_end`` (exclusive); their times ``is_start_time``,
        ``is_end_time`` (last in-sample return), ``oos_start_time``,
        ``oos_end_time`` (last out-of-sample return); ``n_in_sample``,
        ``n_origins``, ``first_origin``, ``last_origin`` (positions),
        ``n_refits`` and ``origins`` (array of positions).
    """
    r = _returns_of(bars)
    cfg = _config(
        r.index, in_sample=in_sample, out_of_sample=out_of_sample, step=step, horizon=horizon,
        refit_every=refit_every, n_paths=1, levels=DEFAULT_LEVELS, seed=0, baseline=baseline,
        baseline_options=baseline_options, expanding=expanding,
    )  # fmt: skip
    plan = _plan(r.index, _baseline_sigma(r.to_numpy(), cfg), cfg)
    return _windows_layout(r.index, plan)


def _windows_layout(index: pd.Index, plan: Sequence[_Window]) -> pd.DataFrame:
    rows = []
    for w in plan:
        rows.append(
            {
                "window": w.window,
                "is_start": w.a,
                "is_end": w.b,
                "oos_start": w.b,
                "oos_end": w.c,
                "is_start_time": index[w.a],
                "is_end_time": index[w.b - 1],
                "oos_start_time": index[w.b],
                "oos_end_time": index[w.c - 1],
                "n_in_sample": w.b - w.a,
                "n_origins": int(w.origins.size),
                "first_origin": int(w.origins[0]),
                "last_origin": int(w.origins[-1]),
                "n_refits": int(w.refits.size),
                "origins": w.origins,
            }
        )
    return pd.DataFrame(rows)
