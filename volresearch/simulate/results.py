"""Result objects of the path simulator: :class:`Paths` (full matrix) and :class:`Fan` (bands).

Both are immutable (frozen dataclasses, read-only arrays):

* :class:`Paths`: the full ``(steps + 1, paths)`` log-price matrix, optional
  path weights, step times; prices, quantiles, summaries, NPZ persistence.
* :class:`Fan`: per-step price quantiles, mean and standard deviation,
  terminal prices and a few sample paths, computed while simulating in
  ``O(paths + steps)`` memory; JSON and NPZ round trips.

Quantiles follow the package's one rule (:mod:`volresearch.quantiles`: the
generalised inverse of the weighted empirical distribution function,
``numpy.quantile(..., method="inverted_cdf")``), with path weights when
present.  Moments are population moments (``ddof = 0``), weighted when
weights exist.  Steps are labelled by explicit session times
(``step_times``, from a trading calendar) when given, else wall-clock
``start + k bar_seconds``.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import quantiles as _quantiles
from .._util import float_array, jsonable, readonly
from ..errors import SimulationError
from . import kernels as _kernels

__all__ = [
    "DEFAULT_QUANTILES",
    "SUMMARY_HORIZONS",
    "SUMMARY_LEVELS",
    "Fan",
    "Paths",
    "session_step_times",
    "weighted_quantile",
]

#: Default quantile levels of band mode.
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Horizons (in steps) of ``summary()``.
SUMMARY_HORIZONS: tuple[int, ...] = (15, 30, 60, 120, 240, 480, 720, 1440)
#: Quantile levels reported by ``summary()`` (always computed in band mode).
SUMMARY_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)

_FORMAT_VERSION = 1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
_level_name = _quantiles.level_name


def _readonly(a: np.ndarray) -> np.ndarray:
    """Read-only view (no copy)."""
    return readonly(a)


def _as_timestamp(start: Any) -> pd.Timestamp | None:
    if start is None:
        return None
    ts = pd.Timestamp(start)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def _step_index(
    n_rows: int, start: pd.Timestamp | None, bar_seconds: float, step_times: pd.DatetimeIndex | None = None
) -> pd.Index:
    """Labels of the rows: explicit session times, else ``start + k bar_seconds``, else step numbers."""
    if step_times is not None:
        return step_times
    if start is None:
        return pd.RangeIndex(n_rows, name="step")
    offsets = pd.to_timedelta(np.arange(n_rows) * bar_seconds, unit="s")
    return pd.DatetimeIndex(start + offsets, name="timestamp")


def _step_times(value: Any, n_rows: int) -> pd.DatetimeIndex | None:
    """Validated explicit step times: ``n_rows`` strictly increasing UTC instants (naive = UTC)."""
    if value is None:
        return None
    try:
        idx = pd.DatetimeIndex(value)
    except (TypeError, ValueError) as exc:
        raise SimulationError(f"step_times must be time stamps: {exc}") from None
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    if len(idx) != n_rows:
        raise SimulationError(f"step_times must hold one time per row ({n_rows}), got {len(idx)}")
    if idx.hasnans or (len(idx) > 1 and not bool(np.all(np.diff(idx.asi8) > 0))):
        raise SimulationError("step_times must be strictly increasing time stamps without gaps (NaT)")
    return pd.DatetimeIndex(idx, name="timestamp")


def _resolve_calendar(calendar: Any) -> Any:
    """A calendar object with ``next_bars(after, n, bar_seconds)`` from a name or an object."""
    if isinstance(calendar, str):
        from ..data.calendar import get_calendar

        return get_calendar(calendar)
    if not callable(getattr(calendar, "next_bars", None)):
        raise SimulationError(f"calendar must be a calendar name or a TradingCalendar, got {calendar!r}")
    return calendar


def session_step_times(calendar: Any, start: Any, horizon: int, bar_seconds: float) -> pd.DatetimeIndex:
    """Times of steps ``0 .. horizon`` in session bars: ``start``, then the calendar's next bars.

    Parameters
    ----------
    calendar
        Calendar name (see :func:`volresearch.data.calendar.get_calendar`) or an
        object with ``next_bars(after, n, bar_seconds)``.
    start
        Time of step 0 (naive = UTC), usually the start of the last observed bar.
    horizon
        Number of steps after step 0.
    bar_seconds
        Bar length in seconds.

    Returns
    -------
    pandas.DatetimeIndex
        ``horizon + 1`` UTC times named ``timestamp``; step ``k >= 1`` is the
        ``k``-th bar strictly after ``start`` that lies inside a session, so
        maintenance breaks, weekends and holidays are skipped.

    Raises
    ------
    SimulationError
        No ``start``, an unusable calendar, or bar times that are not one per
        step and strictly increasing.
    """
    t0 = _as_timestamp(start)
    if t0 is None:
        raise SimulationError("a calendar labels steps from a start time: pass start=")
    cal = _resolve_calendar(calendar)
    nxt = pd.DatetimeIndex(cal.next_bars(t0, int(horizon), bar_seconds))
    nxt = nxt.tz_localize("UTC") if nxt.tz is None else nxt.tz_convert("UTC")
    times = _step_times(pd.DatetimeIndex([t0]).append(nxt), int(horizon) + 1)
    assert times is not None
    return times


def _normalise_weights(weights: Any, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = np.array(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n,):
        raise SimulationError(f"weights must have shape ({n},), got {np.shape(weights)}")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0) or not w.sum() > 0.0:
        raise SimulationError("weights must be finite, non-negative and not all zero")
    total = w.sum()
    # already normalised (to rounding): keep the bits, so saved weights load back unchanged
    return w if abs(total - 1.0) <= 1e-12 else w / total


def _probs(q: Any) -> np.ndarray:
    probs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if probs.ndim != 1 or probs.size == 0 or not np.all((probs >= 0.0) & (probs <= 1.0)):
        raise SimulationError(f"quantile levels must be a non-empty list of numbers in [0, 1], got {q!r}")
    return probs


def _row_quantiles(values: np.ndarray, weights: np.ndarray | None, probs: np.ndarray) -> np.ndarray:
    """Quantiles of each row of a 2-d array by the package's rule (parallel kernel, numpy's result)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    ranks, index = _kernels.inverted_cdf_plan(values.shape[1], probs)
    out = np.empty((values.shape[0], probs.size))
    w = np.empty(0) if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    _kernels.matrix_quantiles(values, w, probs, ranks, index, out)
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray | None, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles of a (weighted) 1-d sample by the package's one rule.

    :func:`volresearch.quantiles.quantile` with levels always as an array:
    the smallest value whose cumulative weight share reaches ``q``
    (``numpy.quantile(..., weights=weights, method="inverted_cdf")``).

    Parameters
    ----------
    values
        1-d sample.
    weights
        Non-negative weights of the same length (any scale), or None.
    q
        Level(s) in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        One quantile per level.

    Raises
    ------
    SimulationError
        Levels outside ``[0, 1]`` or weights of the wrong shape, negative,
        non-finite or all zero.
    """
    probs = _probs(q)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    w = None if weights is None else _normalise_weights(weights, values.size)
    return _quantiles.quantile(values, probs, weights=w)


def _moments(prices: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation along axis 1."""
    mean = np.average(prices, axis=1, weights=weights)
    var = np.average((prices - mean[:, None]) ** 2, axis=1, weights=weights)
    return mean, np.sqrt(var)


def _frozen_meta(meta: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(meta or {}))


def _freeze_common(obj: Any, n_paths: int) -> None:
    """Validate and freeze the fields :class:`Paths` and :class:`Fan` share (weights, time axis, meta)."""
    if not (obj.bar_seconds > 0 and math.isfinite(obj.bar_seconds)):
        raise SimulationError(f"bar_seconds must be positive, got {obj.bar_seconds!r}")
    w = _normalise_weights(obj.weights, n_paths)
    object.__setattr__(obj, "weights", None if w is None else _readonly(w))
    object.__setattr__(obj, "start", _as_timestamp(obj.start))
    object.__setattr__(obj, "bar_seconds", float(obj.bar_seconds))
    object.__setattr__(obj, "meta", _frozen_meta(obj.meta))
    object.__setattr__(obj, "step_times", _step_times(obj.step_times, obj.n_steps + 1))


def _summary_frame(horizons: Sequence[int], stats: dict[int, dict[str, float]], times: pd.Index) -> pd.DataFrame:
    rows = [h for h in horizons if 0 <= h < len(times)]
    frame = pd.DataFrame([stats[h] for h in rows], index=pd.Index(rows, name="horizon"))
    if isinstance(times, pd.DatetimeIndex):
        frame.insert(0, "timestamp", times[rows])
    return frame


def _times_json(times: pd.DatetimeIndex | None) -> list[str] | None:
    return None if times is None else [t.isoformat() for t in times]


def _write_npz(path: str | Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    payload["header_json"] = np.array(json.dumps(jsonable(header)))
    with open(path, "wb") as fh:
        np.savez(fh, **payload)


def _read_npz(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop("header_json")))
    if header.get("kind") != kind:
        raise SimulationError(f"{path!s} holds a {header.get('kind')!r}, not a {kind!r}")
    return header, arrays


# --------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Paths:
    """Simulated log-price paths (full matrix mode).

    Attributes
    ----------
    log_prices
        ``(steps + 1, paths)`` log prices (float64 or float32, read-only);
        row 0 is the initial state, row ``t`` the log price ``t`` bars later.
    weights
        Optional ``(paths,)`` weights normalised to sum 1 (e.g. particle
        weights; left bit for bit as given when they already sum to 1
        within 1e-12); quantiles and moments are weighted when present.
    start
        Time of row 0 (UTC), or None.
    bar_seconds
        Step length in seconds: row ``t`` is at ``start + t bar_seconds``.
    meta
        Read-only mapping: model, dist, params, seed, n_threads, version...
    step_times
        Optional explicit time of every row (``steps + 1`` strictly
        increasing UTC instants, e.g. session bars from a trading calendar
        that skip breaks, weekends and holidays); :attr:`times` returns it
        when present and ``start + t bar_seconds`` otherwise.
    """

    log_prices: np.ndarray
    weights: np.ndarray | None = None
    start: pd.Timestamp | None = None
    bar_seconds: float = 60.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    step_times: pd.DatetimeIndex | None = None

    def __post_init__(self) -> None:
        lp = np.asarray(self.log_prices)
        if lp.ndim != 2 or lp.shape[0] < 1 or lp.shape[1] < 1 or lp.dtype not in (np.float64, np.float32):
            raise SimulationError("log_prices must be a float64/float32 array of shape (steps + 1, paths)")
        object.__setattr__(self, "log_prices", _readonly(lp))
        _freeze_common(self, lp.shape[1])

    @property
    def n_steps(self) -> int:
        """Number of simulated steps."""
        return self.log_prices.shape[0] - 1

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return self.log_prices.shape[1]

    @property
    def times(self) -> pd.Index:
        """Step times (``DatetimeIndex`` named "timestamp"): :attr:`step_times` when set, else
        ``start + t bar_seconds``; step numbers without either."""
        return _step_index(self.n_steps + 1, self.start, self.bar_seconds, self.step_times)

    @cached_property
    def prices(self) -> np.ndarray:
        """``exp(log_prices)``, computed on first use (read-only)."""
        p = np.exp(self.log_prices)
        p.setflags(write=False)
        return p

    def _check_step(self, step: int) -> int:
        s = int(step)
        if s != step or not 0 <= s <= self.n_steps:
            raise SimulationError(f"step must be an integer in [0, {self.n_steps}], got {step!r}")
        return s

    def at(self, step: int) -> np.ndarray:
        """Prices of all paths after ``step`` bars, ``(paths,)``."""
        return np.exp(self.log_prices[self._check_step(step)].astype(np.float64))

    def terminal(self) -> np.ndarray:
        """Prices at the last step, ``(paths,)``."""
        return self.at(self.n_steps)

    def returns(self, step: int) -> np.ndarray:
        """Cumulative log returns ``x_step - x_0`` of all paths, ``(paths,)``."""
        s = self._check_step(step)
        return self.log_prices[s].astype(np.float64) - self.log_prices[0].astype(np.float64)

    def quantiles(self, q: float | Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Price quantiles per step (weighted when weights exist).

        Returns
        -------
        pandas.DataFrame
            Index: step times; one column per level (float column labels).
        """
        probs = _probs(q)
        values = _row_quantiles(np.asarray(self.prices, dtype=np.float64), self.weights, probs)
        return pd.DataFrame(values, index=self.times, columns=pd.Index(probs, name="quantile"))

    def summary(self, horizons: Sequence[int] = SUMMARY_HORIZONS) -> pd.DataFrame:
        """Price distribution at given horizons (in steps).

        Columns ``mean, std, p5, p25, p50, p75, p95`` (population std,
        weighted when weights exist), plus ``timestamp`` when ``start`` is
        set; horizons beyond the simulated steps are omitted.
        """
        probs = np.array(SUMMARY_LEVELS)
        rows = [int(h) for h in horizons if 0 <= int(h) <= self.n_steps]
        stats: dict[int, dict[str, float]] = {}
        if rows:
            prices = np.exp(self.log_prices[rows].astype(np.float64))
            mean, std = _moments(prices, self.weights)
            qs = _row_quantiles(prices, self.weights, probs)
            for i, h in enumerate(rows):
                rec = {"mean": float(mean[i]), "std": float(std[i])}
                rec.update({_level_name(q): float(qs[i, k]) for k, q in enumerate(probs)})
                stats[h] = rec
        if not rows:
            return pd.DataFrame(columns=["mean", "std", *map(_level_name, probs)], index=pd.Index([], name="horizon"))
        return _summary_frame(rows, stats, self.times)

    def to_frame(self, max_paths: int = 100, *, layout: Literal["wide", "long"] = "wide") -> pd.DataFrame:
        """Prices of the first ``max_paths`` paths as a DataFrame.

        ``layout="wide"``: index = step times, one column per path.
        ``layout="long"``: tidy columns (time or step, ``path``, ``price``).
        """
        k = max(0, min(int(max_paths), self.n_paths))
        prices = np.exp(self.log_prices[:, :k].astype(np.float64))
        wide = pd.DataFrame(prices, index=self.times, columns=pd.RangeIndex(k, name="path"))
        if layout == "wide":
            return wide
        if layout == "long":
            return wide.stack().rename("price").reset_index()
        raise SimulationError(f"layout must be 'wide' or 'long', got {layout!r}")

    def save(self, path: str | Path) -> None:
        """Write to an NPZ file (arrays + JSON header; no pickle)."""
        header = {
            "kind": "Paths",
            "format_version": _FORMAT_VERSION,
            "start": None if self.start is None else self.start.isoformat(),
            "bar_seconds": self.bar_seconds,
            "meta": dict(self.meta),
            "step_times": _times_json(self.step_times),
        }
        arrays = {"log_prices": np.asarray(self.log_prices)}
        if self.weights is not None:
            arrays["weights"] = np.asarray(self.weights)
        _write_npz(path, header, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Paths:
        """Read a file written by :meth:`save`."""
        header, arrays = _read_npz(path, "Paths")
        return cls(
            log_prices=arrays["log_prices"],
            weights=arrays.get("weights"),
            start=header["start"],
            bar_seconds=header["bar_seconds"],
            meta=header["meta"],
            step_times=header.get("step_times"),
        )


@dataclass(frozen=True)
class Fan:
    """Per-step price distribution of a band-mode simulation.

    Attributes
    ----------
    levels
        ``(nq,)`` quantile levels, increasing.
    bands
        ``(steps + 1, nq)`` price quantiles per step (row 0: initial state).
    terminal_prices
        ``(paths,)`` prices at the last step.
    mean, std
        ``(steps + 1,)`` mean and population standard deviation of the price.
    sample_paths
        ``(steps + 1, n_samples)`` prices of the first paths, or None.
    weights
        ``(paths,)`` normalised path weights, or None.
    start, bar_seconds, meta, step_times
        As in :class:`Paths`.
    """

    levels: np.ndarray
    bands: np.ndarray
    terminal_prices: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sample_paths: np.ndarray | None = None
    weights: np.ndarray | None = None
    start: pd.Timestamp | None = None
    bar_seconds: float = 60.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    step_times: pd.DatetimeIndex | None = None

    def __post_init__(self) -> None:
        levels = _probs(self.levels)
        if np.any(np.diff(levels) <= 0):
            raise SimulationError("Fan levels must be strictly increasing")
        bands = np.asarray(self.bands, dtype=np.float64)
        if bands.ndim != 2 or bands.shape[1] != levels.size or bands.shape[0] < 1:
            raise SimulationError("bands must have shape (steps + 1, len(levels))")
        rows = bands.shape[0]
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        if mean.shape != (rows,) or std.shape != (rows,):
            raise SimulationError("mean and std must have shape (steps + 1,)")
        term = np.asarray(self.terminal_prices, dtype=np.float64).reshape(-1)
        sample = None
        if self.sample_paths is not None:
            sample = np.asarray(self.sample_paths, dtype=np.float64).reshape(rows, -1)
        object.__setattr__(self, "levels", _readonly(levels))
        object.__setattr__(self, "bands", _readonly(bands))
        object.__setattr__(self, "mean", _readonly(mean))
        object.__setattr__(self, "std", _readonly(std))
        object.__setattr__(self, "terminal_prices", _readonly(term))
        object.__setattr__(self, "sample_paths", None if sample is None else _readonly(sample))
        _freeze_common(self, term.size)

    @property
    def n_steps(self) -> int:
        """Number of simulated steps."""
        return self.bands.shape[0] - 1

    @property
    def n_paths(self) -> int:
        """Number of simulated paths."""
        return self.terminal_prices.size

    @property
    def times(self) -> pd.Index:
        """Step times, as :attr:`Paths.times`."""
        return _step_index(self.n_steps + 1, self.start, self.bar_seconds, self.step_times)

    def _level_columns(self, q: float | Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
        if q is None:
            return np.arange(self.levels.size), np.asarray(self.levels)
        probs = _probs(q)
        idx = []
        for p in probs:
            hit = np.flatnonzero(np.abs(self.levels - p) <= 1e-12)
            if hit.size == 0:
                raise SimulationError(f"level {p!r} was not computed; this Fan has levels {self.levels.tolist()}")
            idx.append(int(hit[0]))
        return np.array(idx), probs

    def quantiles(self, q: float | Sequence[float] | None = None) -> pd.DataFrame:
        """Price quantiles per step for computed levels (all when ``q`` is None)."""
        idx, probs = self._level_columns(q)
        return pd.DataFrame(self.bands[:, idx], index=self.times, columns=pd.Index(probs, name="quantile"))

    def terminal(self) -> np.ndarray:
        """Prices at the last step, ``(paths,)``."""
        return np.asarray(self.terminal_prices)

    def summary(self, horizons: Sequence[int] = SUMMARY_HORIZONS) -> pd.DataFrame:
        """Same table as :meth:`Paths.summary` (NaN for a level not computed)."""
        rows = [int(h) for h in horizons if 0 <= int(h) <= self.n_steps]
        stats: dict[int, dict[str, float]] = {}
        for h in rows:
            rec = {"mean": float(self.mean[h]), "std": float(self.std[h])}
            for q in SUMMARY_LEVELS:
                hit = np.flatnonzero(np.abs(self.levels - q) <= 1e-12)
                rec[_level_name(q)] = float(self.bands[h, hit[0]]) if hit.size else float("nan")
            stats[h] = rec
        if not rows:
            return pd.DataFrame(
                columns=["mean", "std", *map(_level_name, SUMMARY_LEVELS)], index=pd.Index([], name="horizon")
            )
        return _summary_frame(rows, stats, self.times)

    def to_frame(self) -> pd.DataFrame:
        """Per-step table: ``mean``, ``std`` and one ``p..`` column per level."""
        frame = pd.DataFrame({"mean": self.mean, "std": self.std}, index=self.times)
        for k, q in enumerate(self.levels):
            frame[_level_name(float(q))] = self.bands[:, k]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (lists of floats; non-finite values as None)."""
        return jsonable(
            {
                "kind": "Fan",
                "format_version": _FORMAT_VERSION,
                "levels": self.levels,
                "bands": self.bands,
                "terminal_prices": self.terminal_prices,
                "mean": self.mean,
                "std": self.std,
                "sample_paths": self.sample_paths,
                "weights": self.weights,
                "start": None if self.start is None else self.start.isoformat(),
                "bar_seconds": self.bar_seconds,
                "meta": dict(self.meta),
                "step_times": _times_json(self.step_times),
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fan:
        """Rebuild from :meth:`to_dict` output (or its JSON)."""
        if data.get("kind") != "Fan":
            raise SimulationError(f"not a Fan dict (kind={data.get('kind')!r})")
        sample = data.get("sample_paths")
        weights = data.get("weights")
        bands = float_array(data["bands"])
        return cls(
            levels=float_array(data["levels"]),
            bands=bands.reshape(-1, len(data["levels"])),
            terminal_prices=float_array(data["terminal_prices"]),
            mean=float_array(data["mean"]),
            std=float_array(data["std"]),
            sample_paths=None if sample is None else float_array(sample).reshape(bands.shape[0], -1),
            weights=None if weights is None else float_array(weights),
            start=data.get("start"),
            bar_seconds=data.get("bar_seconds", 60.0),
            meta=data.get("meta") or {},
            step_times=data.get("step_times"),
        )

    def save(self, path: str | Path) -> None:
        """Write to an NPZ file (arrays + JSON header; no pickle)."""
        header = {
            "kind": "Fan",
            "format_version": _FORMAT_VERSION,
            "start": None if self.start is None else self.start.isoformat(),
            "bar_seconds": self.bar_seconds,
            "meta": dict(self.meta),
            "step_times": _times_json(self.step_times),
        }
        arrays = {
            "levels": np.asarray(self.levels),
            "bands": np.asarray(self.bands),
            "terminal_prices": np.asarray(self.terminal_prices),
            "mean": np.asarray(self.mean),
            "std": np.asarray(self.std),
        }
        if self.sample_paths is not None:
            arrays["sample_paths"] = np.asarray(self.sample_paths)
        if self.weights is not None:
            arrays["weights"] = np.asarray(self.weights)
        _write_npz(path, header, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Fan:
        """Read a file written by :meth:`save`."""
        header, arrays = _read_npz(path, "Fan")
        return cls(
            levels=arrays["levels"],
            bands=arrays["bands"],
            terminal_prices=arrays["terminal_prices"],
            mean=arrays["mean"],
            std=arrays["std"],
            sample_paths=arrays.get("sample_paths"),
            weights=arrays.get("weights"),
            start=header["start"],
            bar_seconds=header["bar_seconds"],
            meta=header["meta"],
            step_times=header.get("step_times"),
        )
