"""Paths of the return-law models without a numba kernel: historical simulation (every step a return drawn with
replacement from the sample) and the range HAR (log range variance and return simulated day by day)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from volresearch.errors import SimulationError

__all__ = ["simulate_har_range_result", "simulate_historical_result"]


def _start(result: Any, n_paths: int, horizon: int, options: dict[str, Any]) -> tuple[dict[str, Any], float, int, int]:
    """The state (the result's, overridden by ``options["state"]``), starting price, paths and steps.

    Raises
    ------
    SimulationError
        No positive starting price, or a non-positive path count or horizon.
    """
    state = {**result.filter_state(), **dict(options.pop("state", None) or {})}
    price = float(options.pop("last_price", None) or state["last_price"])
    if not (math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: pass last_price=")
    if int(n_paths) < 1 or int(horizon) < 1:
        raise SimulationError(f"n_paths and horizon must be positive, got {n_paths} and {horizon}")
    return state, price, int(n_paths), int(horizon)


def _surface(logp: np.ndarray, result: Any, state: dict[str, Any], options: dict[str, Any], seed: int) -> Any:
    """``Paths`` or ``Fan`` of the log prices, as ``options`` ask (``mode``, ``start``, ``calendar``...)."""
    from volresearch.simulate.kernels.heston import paths_surface

    start = options.pop("start", None)
    calendar = options.pop("calendar", None)
    return paths_surface(
        logp, mode=options.pop("mode", "bands"), start=state.get("end") if start is None else start,
        bar_seconds=result.bar_seconds, calendar=result.calendar if calendar is None else calendar,
        meta={"model": result.model, "seed": seed}, quantiles=options.pop("quantiles", None),
        n_sample_paths=int(options.pop("n_sample_paths", 20)),
    )  # fmt: skip


def simulate_historical_result(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    """Paths of a :class:`~volresearch.models.ewma.HistoricalResult` (options as
    :func:`volresearch.registry.simulate_model` passes: ``start``, ``calendar``, ``mode``, ``state``,
    ``quantiles``, ``n_sample_paths``, ``last_price``).  Draws: ``numpy.random.default_rng(seed)``, one row of
    indices into the sample per step.

    Raises
    ------
    SimulationError
        No positive starting price, or a non-positive path count or horizon.
    """
    from volresearch.registry import _seed

    state, price, n, h = _start(result, n_paths, horizon, options)
    x = result.sample
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    logp = np.empty((h + 1, n))
    logp[0] = math.log(price)
    for step in range(h):  # one row at a time: no (horizon, paths) index matrix in memory
        logp[step + 1] = logp[step] + x[rng.integers(0, x.size, size=n)]
    return _surface(logp, result, state, options, seed)


def simulate_har_range_result(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    """Paths of a :class:`~volresearch.models.har_range.HARRangeResult`: each day ``y = m + s eps`` from the HAR
    recursion on the path's own past ``y`` (a ring buffer of ``max(lags)`` values per path), then
    ``r = mu + sqrt(c exp(y)) z``.  Draws: ``numpy.random.default_rng(seed)``, two normals per path and day.
    Options as :func:`simulate_historical_result` takes, the state's ``y_history`` included.

    Raises
    ------
    SimulationError
        No positive starting price, or a non-positive path count or horizon.
    """
    from volresearch.registry import _seed

    state, price, n, h = _start(result, n_paths, horizon, options)
    p = result.simulation_params()
    a = np.asarray(p["a"], dtype=float)
    lags = a.size
    past = np.asarray(state["y_history"], dtype=float)[-lags:]
    ring = np.repeat(past[:, None], n, axis=1)  # oldest first; ring[head] is the oldest value
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    logp = np.empty((h + 1, n))
    logp[0] = math.log(price)
    head = 0
    for step in range(h):
        m = np.full(n, p["const"])
        for k in range(1, lags + 1):  # lag k: the k-th most recent value
            m += a[k - 1] * ring[(head - k) % lags]
        y = m + p["s"] * rng.standard_normal(n)
        logp[step + 1] = logp[step] + p["mu"] + np.sqrt(p["c"] * np.exp(y)) * rng.standard_normal(n)
        ring[head] = y
        head = (head + 1) % lags
    return _surface(logp, result, state, options, seed)
