"""Paths of the models without a numba kernel: historical simulation (every step a return drawn with
replacement from the sample), the range HAR (log range variance and return simulated day by day) and
ARMA(1,1)-GARCH(1,1)-t (both recursions per step, vectorised over paths)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from volresearch.errors import SimulationError

__all__ = ["simulate_arma_garch_result", "simulate_har_range_result", "simulate_historical_result"]


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


def _paths(seed: Any, price: float, n: int, h: int) -> tuple[int, np.random.Generator, np.ndarray]:
    """The integer seed, its generator and the ``(h + 1, n)`` log-price matrix with the start filled in."""
    from volresearch.registry import _seed

    seed_int = _seed(seed)
    logp = np.empty((h + 1, n))
    logp[0] = math.log(price)
    return seed_int, np.random.default_rng(seed_int), logp


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
    state, price, n, h = _start(result, n_paths, horizon, options)
    x = result.sample
    seed, rng, logp = _paths(seed, price, n, h)
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
    state, price, n, h = _start(result, n_paths, horizon, options)
    p = result.simulation_params()
    a = np.asarray(p["a"], dtype=float)
    lags = a.size
    past = np.asarray(state["y_history"], dtype=float)[-lags:]
    ring = np.repeat(past[:, None], n, axis=1)  # oldest first; ring[head] is the oldest value
    seed, rng, logp = _paths(seed, price, n, h)
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


def simulate_arma_garch_result(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    """Paths of a :class:`~volresearch.models.arma_garch.ARMAGARCHResult`: each step
    ``e = sigma z`` (standardised Student-t), ``r = mu + phi (r_prev - mu) + theta e_prev + e`` and
    ``sigma^2 = omega + alpha e^2 + beta sigma^2``, from the state's ``last_return``, ``last_resid`` and
    ``next_variance``.  Draws: ``numpy.random.default_rng(seed)``, one Student-t per path and step.  Options as
    :func:`simulate_historical_result` takes.

    Raises
    ------
    SimulationError
        No positive starting price, or a non-positive path count or horizon.
    """
    state, price, n, h = _start(result, n_paths, horizon, options)
    p = result.simulation_params()
    nu = p["nu"]
    unit = math.sqrt((nu - 2.0) / nu)  # a Student-t draw times this has unit variance
    seed, rng, logp = _paths(seed, price, n, h)
    x_prev = np.full(n, float(state["last_return"]))
    e_prev = np.full(n, float(state["last_resid"]))
    v = np.full(n, float(state["next_variance"]))
    for step in range(h):
        e = np.sqrt(v) * unit * rng.standard_t(nu, n)
        r = p["mu"] + p["phi"] * (x_prev - p["mu"]) + p["theta"] * e_prev + e
        logp[step + 1] = logp[step] + r
        v = p["omega"] + p["alpha"] * e * e + p["beta"] * v
        x_prev, e_prev = r, e
    return _surface(logp, result, state, options, seed)
