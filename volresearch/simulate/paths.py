"""Monte Carlo price paths of GARCH-family models: simulation and results.

:func:`simulate_paths` draws ``n_paths`` paths of ``horizon`` bars from a
GARCH, GJR or EGARCH recursion given in per-bar log-return units (see
:mod:`volresearch.simulate._kernels` for the equations) with innovations
from a :class:`~volresearch.simulate.innovations.PpfTable`.  Each path is
driven by its own simulated shocks, so volatility clusters inside the fan.

Two result objects, both immutable (frozen dataclasses, read-only arrays):

* :class:`Paths` (``mode="matrix"``): the full ``(steps + 1, paths)``
  log-price matrix, optional path weights, step times; prices, quantiles,
  summaries, NPZ persistence.
* :class:`Fan` (``mode="bands"``): per-step price quantiles, mean and
  standard deviation, terminal prices and a few sample paths, computed
  while simulating in ``O(paths + steps)`` memory; JSON round trip.

Quantiles are ``numpy.quantile(..., method="linear")``; with weights the
definition of :func:`weighted_quantile` (the same with equal weights).
Moments are population moments (``ddof = 0``), weighted when weights exist.

:func:`advance_paths` advances per-path states in place (a particle filter's
predict step) and :func:`variance_forecast` gives the analytic expectation
the simulation must reproduce.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast

import numba
import numpy as np
import pandas as pd

from .. import __version__
from ..errors import SimulationError
from . import _kernels
from ._rng import StreamState
from .innovations import PpfTable

__all__ = [
    "BAND_BLOCK",
    "DEFAULT_QUANTILES",
    "MODELS",
    "SUMMARY_HORIZONS",
    "SUMMARY_LEVELS",
    "Fan",
    "Paths",
    "advance_paths",
    "cumulative_return_variance",
    "simulate_paths",
    "variance_forecast",
    "weighted_quantile",
]

#: Model name -> kernel code.
MODELS: dict[str, int] = {"garch": _kernels.GARCH, "gjr": _kernels.GJR, "egarch": _kernels.EGARCH}
#: Default quantile levels of band mode.
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Horizons (in steps) of ``summary()``.
SUMMARY_HORIZONS: tuple[int, ...] = (15, 30, 60, 120, 240, 480, 720, 1440)
#: Quantile levels reported by ``summary()`` (always computed in band mode).
SUMMARY_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Steps simulated per block of band mode (rows of its scratch buffer).
BAND_BLOCK = 64

_FORMAT_VERSION = 1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _level_name(q: float) -> str:
    """Column name of a quantile level: 0.05 -> "p5", 0.025 -> "p2.5"."""
    return f"p{round(q * 100, 10):g}"


def _readonly(a: np.ndarray) -> np.ndarray:
    """Read-only view (no copy)."""
    v = a.view()
    v.setflags(write=False)
    return v


def _as_timestamp(start: Any) -> pd.Timestamp | None:
    if start is None:
        return None
    ts = pd.Timestamp(start)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def _step_index(n_rows: int, start: pd.Timestamp | None, bar_seconds: float) -> pd.Index:
    if start is None:
        return pd.RangeIndex(n_rows, name="step")
    offsets = pd.to_timedelta(np.arange(n_rows) * bar_seconds, unit="s")
    return pd.DatetimeIndex(start + offsets, name="timestamp")


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
    """Quantiles of each row of a 2-d array (parallel kernel)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    ranks, lower, upper, gam = _kernels.linear_quantile_plan(values.shape[1], probs)
    out = np.empty((values.shape[0], probs.size))
    w = np.empty(0) if weights is None else weights
    _kernels.matrix_quantiles(values, w, probs, ranks, lower, upper, gam, out)
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray | None, q: float | Sequence[float]) -> np.ndarray:
    """Linear quantiles of a weighted sample.

    Values with zero weight are dropped; the rest are sorted as
    ``x_(0) <= ... <= x_(m-1)`` with weights ``w_(k)`` and ``x_(k)`` is
    placed at ``P_k = S_k / S_{m-1}``, ``S_k = w_(0) + ... + w_(k-1)``; the
    ``q``-quantile interpolates linearly between the points ``(P_k, x_(k))``
    (numpy's interpolation formula).  With equal weights ``P_k = k/(m-1)``,
    i.e. ``numpy.quantile(..., method="linear")``, which is used directly
    when ``weights`` is None.

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
    """
    probs = _probs(q)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if weights is None:
        return np.quantile(values, probs)
    w = cast(np.ndarray, _normalise_weights(weights, values.size))
    return _kernels.weighted_quantile_numpy(values, w, probs)


def _moments(prices: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation along axis 1."""
    mean = np.average(prices, axis=1, weights=weights)
    var = np.average((prices - mean[:, None]) ** 2, axis=1, weights=weights)
    return mean, np.sqrt(var)


def _json_safe(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays and non-finite floats for JSON."""
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    return obj


def _float_array(obj: Any) -> np.ndarray:
    """Inverse of ``_json_safe`` for float arrays (None -> NaN)."""
    return np.array(_none_to_nan(obj), dtype=np.float64)


def _none_to_nan(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_none_to_nan(v) for v in obj]
    return np.nan if obj is None else obj


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


def _summary_frame(
    horizons: Sequence[int],
    n_steps: int,
    stats: dict[int, dict[str, float]],
    start: pd.Timestamp | None,
    bar_seconds: float,
) -> pd.DataFrame:
    rows = [h for h in horizons if 0 <= h <= n_steps]
    frame = pd.DataFrame([stats[h] for h in rows], index=pd.Index(rows, name="horizon"))
    if start is not None:
        frame.insert(0, "timestamp", _step_index(n_steps + 1, start, bar_seconds)[rows])
    return frame


def _write_npz(path: str | Path, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    payload["header_json"] = np.array(json.dumps(_json_safe(header)))
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
    """

    log_prices: np.ndarray
    weights: np.ndarray | None = None
    start: pd.Timestamp | None = None
    bar_seconds: float = 60.0
    meta: Mapping[str, Any] = field(default_factory=dict)

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
        """Step times (``DatetimeIndex`` named "timestamp"), or steps without ``start``."""
        return _step_index(self.n_steps + 1, self.start, self.bar_seconds)

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
            return pd.DataFrame(
                columns=["mean", "std", *map(_level_name, probs)], index=pd.Index([], name="horizon")
            )
        return _summary_frame(rows, self.n_steps, stats, self.start, self.bar_seconds)

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
    start, bar_seconds, meta
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
        """Step times (or steps without ``start``)."""
        return _step_index(self.n_steps + 1, self.start, self.bar_seconds)

    def _level_columns(self, q: float | Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
        if q is None:
            return np.arange(self.levels.size), np.asarray(self.levels)
        probs = _probs(q)
        idx = []
        for p in probs:
            hit = np.flatnonzero(np.abs(self.levels - p) <= 1e-12)
            if hit.size == 0:
                raise SimulationError(
                    f"level {p!r} was not computed; this Fan has levels {self.levels.tolist()}"
                )
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
        return _summary_frame(rows, self.n_steps, stats, self.start, self.bar_seconds)

    def to_frame(self) -> pd.DataFrame:
        """Per-step table: ``mean``, ``std`` and one ``p..`` column per level."""
        frame = pd.DataFrame({"mean": self.mean, "std": self.std}, index=self.times)
        for k, q in enumerate(self.levels):
            frame[_level_name(float(q))] = self.bands[:, k]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (lists of floats; non-finite values as None)."""
        return _json_safe(
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
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fan:
        """Rebuild from :meth:`to_dict` output (or its JSON)."""
        if data.get("kind") != "Fan":
            raise SimulationError(f"not a Fan dict (kind={data.get('kind')!r})")
        sample = data.get("sample_paths")
        weights = data.get("weights")
        bands = _float_array(data["bands"])
        return cls(
            levels=_float_array(data["levels"]),
            bands=bands.reshape(-1, len(data["levels"])),
            terminal_prices=_float_array(data["terminal_prices"]),
            mean=_float_array(data["mean"]),
            std=_float_array(data["std"]),
            sample_paths=None if sample is None else _float_array(sample).reshape(bands.shape[0], -1),
            weights=None if weights is None else _float_array(weights),
            start=data.get("start"),
            bar_seconds=data.get("bar_seconds", 60.0),
            meta=data.get("meta") or {},
        )

    def save(self, path: str | Path) -> None:
        """Write to an NPZ file (arrays + JSON header; no pickle)."""
        header = {
            "kind": "Fan",
            "format_version": _FORMAT_VERSION,
            "start": None if self.start is None else self.start.isoformat(),
            "bar_seconds": self.bar_seconds,
            "meta": dict(self.meta),
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
        )


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _model_code(model: str) -> int:
    if not isinstance(model, str) or model.lower() not in MODELS:
        raise SimulationError(f"unknown model {model!r}; choose one of {sorted(MODELS)}")
    return MODELS[model.lower()]


def _model_params(model: str, code: int, params: Mapping[str, float]) -> tuple[float, float, float, float, float]:
    """``(mu, omega, alpha, gamma, beta)`` checked for the model.

    Keys other than mu, omega, alpha, gamma, beta (e.g. distribution
    parameters) are ignored.  GARCH takes no ``gamma`` (absent or 0).
    GARCH/GJR need ``omega > 0``, ``alpha >= 0``, ``beta >= 0`` and
    ``alpha + gamma >= 0`` so that every variance stays positive.
    """
    if not isinstance(params, Mapping):
        raise SimulationError("params must be a mapping with keys mu, omega, alpha, gamma, beta")
    need = ["mu", "omega", "alpha", "beta"] + ([] if code == _kernels.GARCH else ["gamma"])
    missing = [k for k in need if k not in params]
    if missing:
        raise SimulationError(f"params for {model!r} miss {missing}")
    vals = {}
    for k in ("mu", "omega", "alpha", "gamma", "beta"):
        v = params.get(k, 0.0)
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise SimulationError(f"parameter {k} must be a number, got {v!r}") from None
        if not math.isfinite(f):
            raise SimulationError(f"parameter {k} must be finite, got {v!r}")
        vals[k] = f
    if code == _kernels.GARCH and vals["gamma"] != 0.0:
        raise SimulationError(f"model 'garch' has no gamma (got {vals['gamma']!r}); use 'gjr'")
    if code in (_kernels.GARCH, _kernels.GJR):
        if not vals["omega"] > 0.0:
            raise SimulationError(f"omega must be positive, got {vals['omega']!r}")
        if vals["alpha"] < 0.0 or vals["beta"] < 0.0 or vals["alpha"] + vals["gamma"] < 0.0:
            raise SimulationError(
                "alpha, beta and alpha + gamma must be non-negative "
                f"(alpha={vals['alpha']!r}, gamma={vals['gamma']!r}, beta={vals['beta']!r})"
            )
    return vals["mu"], vals["omega"], vals["alpha"], vals["gamma"], vals["beta"]


def _state_array(value: Any, n: int, name: str, *, positive: bool) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    else:
        arr = np.array(arr, dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise SimulationError(f"{name} must be a scalar or have shape ({n},), got {np.shape(value)}")
    if not np.all(np.isfinite(arr)):
        raise SimulationError(f"{name} must be finite")
    if positive and not np.all(arr > 0.0):
        raise SimulationError(f"{name} must be positive (a variance)")
    return arr


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SimulationError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _seed_value(seed: int | np.random.Generator | None) -> int:
    """Integer seed recorded in metadata (fresh entropy when None)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SimulationError(f"seed must be a non-negative integer, a numpy Generator or None, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------
def simulate_paths(
    model: str,
    params: Mapping[str, float],
    *,
    ppf_table: PpfTable,
    n_paths: int = 10_000,
    horizon: int = 1440,
    x0: float | np.ndarray,
    sigma2_1: float | np.ndarray,
    seed: int | np.random.Generator | None,
    mode: Literal["matrix", "bands"] = "matrix",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
    start: Any = None,
    bar_seconds: float = 60.0,
    n_sample_paths: int = 20,
    weights: np.ndarray | None = None,
) -> Paths | Fan:
    """Simulate GARCH-family log-price paths with per-path shocks.

    ``r_t = mu + sigma_t z_t``, ``x_{t+1} = x_t + r_t``, variance recursion
    of ``model`` (per-bar log-return units), ``z_t`` iid from ``ppf_table``.
    Path ``j`` uses Philox stream ``j`` under the key of ``seed``, so the
    result depends only on the inputs and the seed, not on the number of
    threads, and ``mode="bands"`` summarises exactly the paths that
    ``mode="matrix"`` returns.

    Parameters
    ----------
    model
        ``"garch"``, ``"gjr"`` or ``"egarch"`` (see :data:`MODELS`).
    params
        ``mu, omega, alpha, gamma, beta`` (``gamma`` absent or 0 for GARCH),
        per bar, log-return units; other keys are ignored.
    ppf_table
        Innovation law (:func:`~volresearch.simulate.innovations.build_ppf_table`).
    n_paths, horizon
        Number of paths and of steps (bars).
    x0
        Initial log price, scalar or ``(n_paths,)``.
    sigma2_1
        Variance of the first simulated step, scalar or ``(n_paths,)``
        (computed by the caller from the last fitted variance and residual).
    seed
        Non-negative integer, a Generator (one integer is drawn from it) or
        None (fresh entropy); the integer used is stored in ``meta["seed"]``.
    mode
        ``"matrix"`` returns :class:`Paths`; ``"bands"`` returns :class:`Fan`
        computed in ``O(n_paths + horizon)`` memory.
    quantiles
        Levels of the band-mode quantiles (the summary levels are added).
    dtype
        ``float64`` or ``float32`` storage of the matrix (state is float64).
    start, bar_seconds
        Time of step 0 and step length, for time-indexed outputs.
    n_sample_paths
        Band mode: number of paths kept in full (the first ones).
    weights
        Optional ``(n_paths,)`` non-negative path weights (e.g. particle
        weights); quantiles and moments are then weighted.

    Returns
    -------
    Paths or Fan

    Raises
    ------
    SimulationError
        Unknown model or mode, missing/non-finite parameters, non-positive
        variance or omega, bad shapes, seeds, levels or dtype.
    """
    code = _model_code(model)
    mu, omega, alpha, gamma, beta = _model_params(model, code, params)
    if not isinstance(ppf_table, PpfTable):
        raise SimulationError("ppf_table must be a PpfTable (see build_ppf_table)")
    n_paths = _positive_int(n_paths, "n_paths")
    horizon = _positive_int(horizon, "horizon")
    x = _state_array(x0, n_paths, "x0", positive=False)
    s2 = _state_array(sigma2_1, n_paths, "sigma2_1", positive=True)
    w = _normalise_weights(weights, n_paths)
    if mode not in ("matrix", "bands"):
        raise SimulationError(f"mode must be 'matrix' or 'bands', got {mode!r}")
    if not (isinstance(bar_seconds, (int, float)) and bar_seconds > 0 and math.isfinite(bar_seconds)):
        raise SimulationError(f"bar_seconds must be positive, got {bar_seconds!r}")
    seed_int = _seed_value(seed)
    state = StreamState.create(seed_int, n_paths)
    meta = {
        "model": model.lower(),
        "dist": ppf_table.name,
        "params": {"mu": mu, "omega": omega, "alpha": alpha, "gamma": gamma, "beta": beta},
        "seed": seed_int,
        "n_threads": int(numba.get_num_threads()),
        "version": __version__,
        "rng": "philox4x64-10",
        "mode": mode,
        "n_paths": n_paths,
        "horizon": horizon,
        "innovations": ppf_table.moments(),
    }
    if mode == "matrix":
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise SimulationError(f"dtype must be float64 or float32, got {dtype!r}")
        out = np.empty((horizon + 1, n_paths), dtype=dt)
        _kernels.simulate_matrix(
            code, mu, omega, alpha, gamma, beta, x, s2, state.key, state.stream, state.counter,
            *ppf_table.kernel_args, out,
        )  # fmt: skip
        return Paths(log_prices=out, weights=w, start=start, bar_seconds=bar_seconds, meta=meta)

    probs = np.union1d(_probs(quantiles), np.array(SUMMARY_LEVELS))
    if isinstance(n_sample_paths, bool) or not isinstance(n_sample_paths, (int, np.integer)):
        raise SimulationError(f"n_sample_paths must be an integer, got {n_sample_paths!r}")
    n_samples = int(min(max(int(n_sample_paths), 0), n_paths))
    scratch = np.empty((2, min(BAND_BLOCK, horizon), n_paths))
    log_q = np.empty((horizon + 1, probs.size))
    price_q = np.empty((horizon + 1, probs.size))
    mean = np.empty(horizon + 1)
    var = np.empty(horizon + 1)
    samples = np.empty((horizon + 1, n_samples))
    _kernels.simulate_bands(
        code, mu, omega, alpha, gamma, beta, x, s2, state.key, state.stream, state.counter,
        *ppf_table.kernel_args, np.empty(0) if w is None else w, probs, scratch,
        log_q, price_q, mean, var, samples,
    )  # fmt: skip
    return Fan(
        levels=probs,
        bands=price_q,
        terminal_prices=np.exp(x),
        mean=mean,
        std=np.sqrt(np.maximum(var, 0.0)),
        sample_paths=np.exp(samples) if n_samples else None,
        weights=w,
        start=start,
        bar_seconds=bar_seconds,
        meta=meta,
    )


def advance_paths(
    model: str,
    params: Mapping[str, float],
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    *,
    ppf_table: PpfTable,
    state: StreamState,
) -> None:
    """Advance per-path states by ``n_steps`` bars in place.

    A particle filter's predict step: ``x`` (log prices) and ``sigma2``
    (variance of each path's next step) move forward with each path's own
    shocks, and ``state.counter`` advances so that the next call continues
    every stream.  ``advance_paths(a)`` then ``advance_paths(b)`` equals
    ``advance_paths(a + b)`` bit for bit, and from a fresh
    ``StreamState.create(seed, n)`` the states equal the rows of
    ``simulate_paths(..., seed=seed)``.

    Parameters
    ----------
    model, params, ppf_table
        As in :func:`simulate_paths`.
    x, sigma2
        Contiguous ``float64 (paths,)`` arrays, updated in place.
    n_steps
        Bars to advance (0 is a no-op).
    state
        Generator state with ``paths`` streams (its ``counter`` is updated).
    """
    code = _model_code(model)
    mu, omega, alpha, gamma, beta = _model_params(model, code, params)
    if not isinstance(ppf_table, PpfTable):
        raise SimulationError("ppf_table must be a PpfTable (see build_ppf_table)")
    for name, arr in (("x", x), ("sigma2", sigma2)):
        if not (isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.ndim == 1 and arr.flags.c_contiguous):
            raise SimulationError(f"{name} must be a contiguous 1-d float64 array (updated in place)")
        if not arr.flags.writeable:
            raise SimulationError(f"{name} must be writeable (updated in place)")
    if x.shape != sigma2.shape or x.shape != state.counter.shape:
        raise SimulationError("x, sigma2 and the stream state must have the same number of paths")
    if not np.all(sigma2 > 0.0):
        raise SimulationError("sigma2 must be positive (a variance)")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise SimulationError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    _kernels.advance_states(
        code, mu, omega, alpha, gamma, beta, x, sigma2, int(n_steps), state.key, state.stream, state.counter,
        *ppf_table.kernel_args,
    )  # fmt: skip


def variance_forecast(
    model: str,
    params: Mapping[str, float],
    sigma2_1: float,
    horizon: int,
    *,
    neg_second_moment: float = 0.5,
) -> np.ndarray:
    """Analytic ``E[sigma2_h]``, ``h = 1 .. horizon``, of GARCH and GJR.

    ``E[sigma2_1] = sigma2_1`` and ``E[sigma2_{h+1}] = omega +
    (alpha + gamma kappa + beta) E[sigma2_h]`` with
    ``kappa = E[z**2 1(z < 0)]``: the exact factor of ``gamma``, since
    ``E[e_h**2 1(e_h < 0)] = E[sigma2_h] E[z**2 1(z < 0)]`` (``sigma2_h``
    is independent of ``z_h``).  ``kappa = 1/2`` for a symmetric law; for a
    skewed law it differs from ``P(z < 0)`` and from 1/2 (``arch``'s
    analytic forecast uses 1/2 whatever the distribution).  Take it from
    :attr:`PpfTable.neg_second_moment`.

    Parameters
    ----------
    model
        ``"garch"`` or ``"gjr"`` (EGARCH has no closed form here).
    params
        As in :func:`simulate_paths` (``mu`` unused).
    sigma2_1
        Variance of the first step.
    horizon
        Number of steps.
    neg_second_moment
        ``kappa``.

    Returns
    -------
    numpy.ndarray
        ``(horizon,)`` expected variances per step (log-return units).
    """
    code = _model_code(model)
    _, omega, alpha, gamma, beta = _model_params(model, code, params)
    if code == _kernels.EGARCH:
        raise SimulationError("variance_forecast has no closed form for 'egarch'; simulate instead")
    horizon = _positive_int(horizon, "horizon")
    if not (sigma2_1 > 0 and math.isfinite(sigma2_1)):
        raise SimulationError("sigma2_1 must be positive (a variance)")
    persistence = alpha + gamma * neg_second_moment + beta
    out = np.empty(horizon)
    s = float(sigma2_1)
    for h in range(horizon):
        out[h] = s
        s = omega + persistence * s
    return out


def cumulative_return_variance(
    model: str,
    params: Mapping[str, float],
    sigma2_1: float,
    horizon: int,
    *,
    neg_second_moment: float = 0.5,
) -> np.ndarray:
    """Analytic ``Var(x_h - x_0) = sum_{k <= h} E[sigma2_k]``, ``h = 1 .. horizon``.

    Shocks are martingale differences, so the variance of the cumulative
    log return is the sum of the expected step variances
    (:func:`variance_forecast`); ``mu`` only shifts the mean.
    """
    return np.cumsum(variance_forecast(model, params, sigma2_1, horizon, neg_second_moment=neg_second_moment))
