"""Paths of historical simulation: every step a log return drawn with replacement from the model's sample."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from volresearch.errors import SimulationError

__all__ = ["simulate_historical_result"]


def simulate_historical_result(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    """Paths of a :class:`~volresearch.models.ewma.HistoricalResult` (options as
    :func:`volresearch.registry.simulate_model` passes: ``start``, ``calendar``, ``mode``, ``state``,
    ``quantiles``, ``n_sample_paths``, ``last_price``).  Draws: ``numpy.random.default_rng(seed)``, one
    ``(horizon, n_paths)`` array of indices into the sample.

    Raises
    ------
    SimulationError
        No positive starting price, or a non-positive path count or horizon.
    """
    from volresearch.registry import _seed
    from volresearch.simulate.kernels.heston import paths_surface

    state = {**result.filter_state(), **dict(options.pop("state", None) or {})}
    price = float(options.pop("last_price", None) or state["last_price"])
    if not (math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: pass last_price=")
    if int(n_paths) < 1 or int(horizon) < 1:
        raise SimulationError(f"n_paths and horizon must be positive, got {n_paths} and {horizon}")
    x = result.sample
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    logp = np.empty((int(horizon) + 1, int(n_paths)))
    logp[0] = math.log(price)
    for step in range(int(horizon)):  # one row at a time: no (horizon, paths) index matrix in memory
        logp[step + 1] = logp[step] + x[rng.integers(0, x.size, size=int(n_paths))]
    start = options.pop("start", None)
    calendar = options.pop("calendar", None)
    return paths_surface(
        logp, mode=options.pop("mode", "bands"), start=state.get("end") if start is None else start,
        bar_seconds=result.bar_seconds, calendar=result.calendar if calendar is None else calendar,
        meta={"model": result.model, "seed": seed, "n_sample": int(x.size)},
        quantiles=options.pop("quantiles", None), n_sample_paths=int(options.pop("n_sample_paths", 20)),
    )  # fmt: skip
