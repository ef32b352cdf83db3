"""Calibration conditional on the clock: interval coverage and PIT uniformity per time-of-day bucket.

Pooled coverage can hide a forecaster that is too wide at night and too narrow
at the open.  :func:`calibration_by_bucket` splits the forecasts by the time of
their origin (or target) and reports, per bucket, the number of forecasts, the
coverage of each central interval with its exact (Clopper-Pearson) binomial
confidence interval, and the PIT's Anderson-Darling and KS p-values.  Buckets
are either fixed windows of the UTC day (``"utc4h"``: 00-04, 04-08, ..., 20-24)
or segments of the trading session of a calendar
(:func:`volresearch.data.calendar.get_calendar`): ``first_hour`` (the first
hour after the open), ``last_hour`` (the hour before the close), ``middle``
and ``outside`` (no session holds the instant).

The headline is the worst bucket: the largest absolute deviation of the 95%
coverage from 0.95 among buckets with at least ``min_count`` forecasts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from volresearch._util import jsonable
from volresearch.errors import ConfigError, DataError
from volresearch.validate.uniformity import pit_uniformity

__all__ = [
    "DEFAULT_MIN_COUNT",
    "BucketCalibration",
    "binomial_interval",
    "utc_buckets",
    "session_segments",
    "calibration_by_bucket",
    "is_intraday",
]

DEFAULT_MIN_COUNT = 100
"""Forecasts a bucket needs to count for the worst-bucket deviation."""
SEGMENTS = ("first_hour", "middle", "last_hour", "outside")


def _times(times: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return idx.tz_convert("UTC")


def utc_buckets(times: Any, *, hours: int = 4) -> np.ndarray:
    """Label each instant with its ``hours``-wide window of the UTC day (``"00-04"``, ``"04-08"``, ...).

    Parameters
    ----------
    times
        Instants (tz-aware, or naive UTC).
    hours
        Bucket width in hours; must divide 24.

    Returns
    -------
    numpy.ndarray
        Object array of labels ``"HH-HH"``.
    """
    if isinstance(hours, bool) or not isinstance(hours, (int, np.integer)) or hours < 1 or 24 % hours:
        raise ConfigError(f"hours must be a positive divisor of 24, got {hours!r}")
    idx = _times(times)
    start = (np.asarray(idx.hour) // hours) * hours
    labels = np.array([f"{h:02d}-{h + hours:02d}" for h in range(0, 24, hours)], dtype=object)
    return labels[start // hours]


def session_segments(times: Any, calendar: Any, *, edge: pd.Timedelta | str = "1h") -> np.ndarray:
    """Label each instant with its segment of the trading session.

    Parameters
    ----------
    times
        Instants (tz-aware, or naive UTC).
    calendar
        Calendar name or :class:`~volresearch.data.calendar.TradingCalendar`.
    edge
        Length of the opening and closing segments.

    Returns
    -------
    numpy.ndarray
        Object array: ``"first_hour"`` (``open <= t < open + edge``),
        ``"last_hour"`` (``close - edge <= t < close``, when not in the first),
        ``"middle"``, or ``"outside"`` (no session holds ``t``).
    """
    from volresearch.data.calendar import get_calendar

    cal = get_calendar(calendar)
    idx = _times(times)
    width = pd.Timedelta(edge)
    if width <= pd.Timedelta(0):
        raise ConfigError(f"edge must be a positive duration, got {edge!r}")
    out = np.full(len(idx), "outside", dtype=object)
    if len(idx) == 0:
        return out
    sessions = cal.sessions(idx.min(), idx.max())
    pos = cal.session_positions(idx, sessions)
    inside = pos >= 0
    if not inside.any():
        return out
    opens = pd.DatetimeIndex(sessions["open"]).as_unit("ns").asi8
    closes = pd.DatetimeIndex(sessions["close"]).as_unit("ns").asi8
    t = idx.as_unit("ns").asi8
    p = np.clip(pos, 0, None)
    w = int(width / pd.Timedelta(1, "ns"))
    first = inside & (t < opens[p] + w)
    last = inside & ~first & (t >= closes[p] - w)
    out[inside] = "middle"
    out[last] = "last_hour"
    out[first] = "first_hour"
    return out


def binomial_interval(k: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) confidence interval of a binomial proportion ``k / n``.

    Parameters
    ----------
    k, n
        Successes and trials (arrays broadcast).
    confidence
        Two-sided confidence level.

    Returns
    -------
    lo, hi : numpy.ndarray
        Bounds; NaN where ``n == 0``.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence!r}")
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    a = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k_arr > 0, stats.beta.ppf(a, k_arr, n_arr - k_arr + 1), 0.0)
        hi = np.where(k_arr < n_arr, stats.beta.ppf(1.0 - a, k_arr + 1, n_arr - k_arr), 1.0)
    lo = np.where(n_arr > 0, lo, np.nan)
    hi = np.where(n_arr > 0, hi, np.nan)
    return lo, hi


def _level_key(level: float) -> str:
    return f"{round(float(level) * 100, 10):g}"


@dataclass(frozen=True)
class BucketCalibration:
    """Coverage and PIT uniformity per time-of-day bucket.

    Attributes
    ----------
    scheme
        ``"utc<H>h"`` or ``"session:<calendar>"``.
    table
        One row per bucket (sorted by label): ``bucket``, ``n``; per level
        ``L`` (percent) ``coverage_<L>``, ``lo_<L>``, ``hi_<L>`` (exact binomial
        confidence interval of the coverage at ``confidence``) and
        ``deviation_<L>`` (coverage - level); ``pit_ad_pvalue`` and
        ``pit_ks_pvalue`` (NaN without PITs or with fewer than 2 forecasts).
    levels
        Interval levels.
    min_count
        Forecasts a bucket needs to count for the worst bucket.
    confidence
        Level of the binomial intervals.
    """

    scheme: str
    table: pd.DataFrame
    levels: tuple[float, ...]
    min_count: int
    confidence: float

    def _counted(self) -> pd.DataFrame:
        return self.table.loc[self.table["n"] >= self.min_count]

    def worst_bucket(self, level: float = 0.95) -> str | None:
        """Bucket whose coverage deviates most from ``level`` among those with ``n >= min_count`` (None if none)."""
        col = f"deviation_{_level_key(level)}"
        sub = self._counted()
        if col not in sub.columns or not len(sub):
            return None
        return str(sub.loc[sub[col].abs().idxmax(), "bucket"])

    def worst_deviation(self, level: float = 0.95) -> float:
        """Largest ``|coverage - level|`` among buckets with ``n >= min_count`` (NaN if none)."""
        col = f"deviation_{_level_key(level)}"
        sub = self._counted()
        if col not in sub.columns or not len(sub):
            return math.nan
        return float(sub[col].abs().max())

    def coverage_by_bucket(self, level: float = 0.95) -> dict[str, dict[str, float]]:
        """``bucket -> {"n", "coverage", "lo", "hi"}`` for one level."""
        key = _level_key(level)
        if f"coverage_{key}" not in self.table.columns:
            raise ConfigError(f"level {level} was not scored; levels are {list(self.levels)}")
        return {
            str(r["bucket"]): {
                "n": int(r["n"]),
                "coverage": float(r[f"coverage_{key}"]),
                "lo": float(r[f"lo_{key}"]),
                "hi": float(r[f"hi_{key}"]),
            }
            for _, r in self.table.iterrows()
        }

    def within_intervals(self, level: float = 0.95) -> pd.Series:
        """Per bucket: whether ``level`` lies inside the bucket's binomial confidence interval."""
        key = _level_key(level)
        inside = (self.table[f"lo_{key}"] <= level) & (level <= self.table[f"hi_{key}"])
        return pd.Series(inside.to_numpy(), index=self.table["bucket"].to_numpy(), name=f"within_{key}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: scheme, table records, worst bucket and deviation per level."""
        return jsonable(
            {
                "scheme": self.scheme,
                "min_count": self.min_count,
                "confidence": self.confidence,
                "table": self.table.to_dict(orient="records"),
                "worst_bucket": {_level_key(lv): self.worst_bucket(lv) for lv in self.levels},
                "worst_deviation": {_level_key(lv): self.worst_deviation(lv) for lv in self.levels},
            }
        )

    def summary(self, level: float = 0.95) -> str:
        """One line per bucket for one level, then the worst bucket."""
        key = _level_key(level)
        lines = [f"  {level:.0%} coverage by bucket ({self.scheme}):"]
        for _, r in self.table.iterrows():
            mark = "" if r["n"] >= self.min_count else f"  (n < {self.min_count})"
            lines.append(
                f"    {r['bucket']:<11} n={int(r['n']):<6d} {r[f'coverage_{key}']:.4f} "
                f"[{r[f'lo_{key}']:.4f}, {r[f'hi_{key}']:.4f}]  PIT AD p = {r['pit_ad_pvalue']:.4f}{mark}"
            )
        worst = self.worst_bucket(level)
        if worst is not None:
            lines.append(f"    worst bucket {worst}: |coverage - {level:g}| = {self.worst_deviation(level):.4f}")
        return "\n".join(lines)


def _hit_columns(hits: pd.DataFrame | Mapping[float, ArrayLike], n: int) -> dict[float, np.ndarray]:
    items = hits.items() if isinstance(hits, (pd.DataFrame, Mapping)) else None
    if items is None:
        raise DataError("hits must be a DataFrame or a mapping level -> violation sequence", column="hits")
    out: dict[float, np.ndarray] = {}
    for lv, v in items:
        level = float(lv)
        if not 0.0 < level < 1.0:
            raise ConfigError(f"levels must lie strictly between 0 and 1, got {lv!r}")
        h = np.asarray(v, dtype=float)
        if h.shape != (n,):
            raise DataError(f"hits at level {lv} have shape {h.shape}, expected ({n},)", column="hits", rule="shape")
        if np.any((h != 0) & (h != 1)):
            raise DataError("hits must be 0 (inside) or 1 (violation)", column="hits", rule="range")
        out[level] = h
    if not out:
        raise DataError("hits has no level", column="hits")
    return dict(sorted(out.items()))


def calibration_by_bucket(
    times: Any,
    hits: pd.DataFrame | Mapping[float, ArrayLike],
    pits: ArrayLike | None = None,
    *,
    scheme: str = "utc4h",
    calendar: Any = None,
    edge: pd.Timedelta | str = "1h",
    min_count: int = DEFAULT_MIN_COUNT,
    n_members: ArrayLike | float | None = None,
    confidence: float = 0.95,
) -> BucketCalibration:
    """Coverage and PIT uniformity of forecasts per time-of-day bucket.

    Parameters
    ----------
    times
        One instant per forecast (its origin, or its target: the caller
        chooses); tz-aware or naive UTC.
    hits
        Interval violations (1 = outcome outside the interval, 0 = inside),
        one column (or mapping entry) per central level, as in
        :func:`~volresearch.validate.coverage.coverage_table`.
    pits
        PIT values of the same forecasts (optional).
    scheme
        ``"utc4h"`` (or ``"utc<H>h"`` for ``H`` dividing 24): windows of the
        UTC day; ``"session"``: segments of ``calendar``'s sessions.
    calendar
        Calendar for ``scheme="session"`` (name or TradingCalendar).
    edge
        Length of the first and last session segments.
    min_count
        Forecasts a bucket needs to count for the worst bucket.
    n_members
        Ensemble size(s) behind ensemble PITs (see
        :func:`~volresearch.validate.uniformity.pit_uniformity`).
    confidence
        Level of the binomial confidence intervals of the coverage.

    Returns
    -------
    BucketCalibration
    """
    idx = _times(times)
    n = len(idx)
    cols = _hit_columns(hits, n)
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ConfigError(f"min_count must be a positive integer, got {min_count!r}")
    u = None
    if pits is not None:
        u = np.asarray(pits, dtype=float)
        if u.shape != (n,):
            raise DataError(f"pits have shape {u.shape}, expected ({n},)", column="pits", rule="shape")
    size = None
    if n_members is not None:
        size = np.broadcast_to(np.asarray(n_members, dtype=float), (n,))
    if scheme == "session":
        if calendar is None:
            raise ConfigError("scheme='session' needs a calendar")
        labels = session_segments(idx, calendar, edge=edge)
        name = getattr(calendar, "name", calendar)
        scheme_name = f"session:{name}"
        order = list(SEGMENTS)
    elif scheme.startswith("utc") and scheme.endswith("h") and scheme[3:-1].isdigit():
        hours = int(scheme[3:-1])
        labels = utc_buckets(idx, hours=hours)
        scheme_name = scheme
        order = [f"{h:02d}-{h + hours:02d}" for h in range(0, 24, hours)]
    else:
        raise ConfigError(f"scheme must be 'utc<H>h' (e.g. 'utc4h') or 'session', got {scheme!r}")
    rows = []
    for b in order:
        sel = labels == b
        m = int(sel.sum())
        if m == 0:
            continue
        row: dict[str, Any] = {"bucket": b, "n": m}
        for lv, h in cols.items():
            key = _level_key(lv)
            inside = int(m - h[sel].sum())
            lo, hi = binomial_interval(inside, m, confidence)
            row[f"coverage_{key}"] = inside / m
            row[f"lo_{key}"] = float(lo)
            row[f"hi_{key}"] = float(hi)
            row[f"deviation_{key}"] = inside / m - lv
        ad = ks = math.nan
        if u is not None and m >= 2:
            uni = pit_uniformity(u[sel], n_members=None if size is None else size[sel])
            ad, ks = uni.ad_pvalue, uni.ks_pvalue
        row["pit_ad_pvalue"] = ad
        row["pit_ks_pvalue"] = ks
        rows.append(row)
    columns = ["bucket", "n"]
    for lv in cols:
        key = _level_key(lv)
        columns += [f"coverage_{key}", f"lo_{key}", f"hi_{key}", f"deviation_{key}"]
    columns += ["pit_ad_pvalue", "pit_ks_pvalue"]
    table = pd.DataFrame(rows, columns=columns)
    return BucketCalibration(
        scheme=scheme_name,
        table=table,
        levels=tuple(cols),
        min_count=int(min_count),
        confidence=float(confidence),
    )


def is_intraday(index: pd.Index) -> bool:
    """Whether a time index holds bars shorter than a day (most common spacing under 24 h)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return False
    from volresearch.data.calendar import infer_bar_seconds

    step = infer_bar_seconds(index)
    return step is not None and step < 86_400
