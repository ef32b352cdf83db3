"""From a fitted model to simulated price paths.

:func:`innovation_table` tabulates the fitted innovation law once (cached by
law and parameters); :func:`simulate_fit` starts every path at the end of
the fitted sample: log price ``ln(last close)`` and first-step variance
``sigma^2_{T+1}`` (from the last fitted variance and the last residual), and
runs the numba kernels.  Each path's variance is driven by its own shocks.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from volresearch.errors import SimulationError
from volresearch.models.distributions import isf_function, ppf_function
from volresearch.simulate.innovations import PpfTable, build_ppf_table
from volresearch.simulate.paths import DEFAULT_QUANTILES, Fan, Paths, simulate_paths

__all__ = [
    "LOGPDF_GRID",
    "innovation_logpdf",
    "innovation_table",
    "simulate_fit",
    "fit_bar_seconds",
    "simulation_params",
]

#: ``(z_min, z_max, points)`` of the tabulated innovation log-density.
LOGPDF_GRID = (-40.0, 40.0, 16_001)


@lru_cache(maxsize=64)
def _table(dist: str, params: tuple[tuple[str, float], ...]) -> PpfTable:
    p = dict(params)
    return build_ppf_table(ppf_function(dist, p), isf=isf_function(dist, p), name=f"{dist}{p}")


def innovation_table(dist: str, params: dict[str, float] | Any) -> PpfTable:
    """Tabulated inverse cdf of the standardised law ``dist`` with the fitted shape parameters."""
    from volresearch.models.distributions import get_distribution

    names = get_distribution(dist).parameter_names
    return _table(dist, tuple((k, round(float(params[k]), 12)) for k in names))


@lru_cache(maxsize=64)
def _logpdf(dist: str, params: tuple[tuple[str, float], ...]) -> tuple[float, float, np.ndarray]:
    from volresearch.models.distributions import make_distribution

    lo, hi, n = LOGPDF_GRID
    z = np.linspace(lo, hi, n)
    law = make_distribution(dist)
    values = np.array([v for _, v in params], dtype=np.float64)
    lf = np.asarray(law.loglikelihood(values, z, np.ones_like(z), individual=True), dtype=np.float64)
    lf.setflags(write=False)
    return float(lo), float(z[1] - z[0]), lf


def innovation_logpdf(dist: str, params: dict[str, float] | Any) -> tuple[float, float, np.ndarray]:
    """Log-density of the standardised law ``dist`` on a uniform grid: ``(z_0, dz, log f)``.

    ``log f[k] = log f(z_0 + k dz)`` on :data:`LOGPDF_GRID` (from ``arch``'s own
    log-likelihood of the law with unit variance), read by linear interpolation
    and linear extrapolation of the log-density beyond the grid
    (:func:`~volresearch.simulate._pf_kernels.table_logpdf`).
    """
    from volresearch.models.distributions import get_distribution

    names = get_distribution(dist).parameter_names
    return _logpdf(dist, tuple((k, round(float(params[k]), 12)) for k in names))


def fit_bar_seconds(fit: Any, default: float = 60.0) -> float:
    """Bar length of a fit's sample in seconds (most common spacing of its index)."""
    import pandas as pd

    if isinstance(fit.index, pd.DatetimeIndex) and len(fit.index) > 2:
        from volresearch.data.calendar import infer_bar_seconds

        step = infer_bar_seconds(fit.index)
        if step:
            return float(step)
    return default


def simulation_params(fit: Any) -> dict[str, float]:
    """The fit's parameters as the path simulator takes them (per-bar log-return units).

    A zero-mean fit has no ``mu``: the paths then have zero drift
    (``mu = 0``), so every mean specification simulates.

    Raises
    ------
    SimulationError
        A fit with a constant mean whose ``mu`` is missing.
    """
    params = {k: float(v) for k, v in fit.params.items()}
    if "mu" not in params:
        if getattr(fit.spec, "mean", "constant") != "zero":
            raise SimulationError(f"the {fit.spec.mean!r} mean of this fit has no 'mu' parameter to simulate")
        params["mu"] = 0.0
    return params


def simulate_fit(
    fit: Any,
    n_paths: int = 10_000,
    horizon: int = 1440,
    *,
    seed: int | np.random.Generator | None,
    mode: Literal["matrix", "bands"] = "matrix",
    quantiles: Any = DEFAULT_QUANTILES,
    dtype: Any = np.float64,
    last_price: float | None = None,
    n_sample_paths: int = 20,
) -> Paths | Fan:
    """Simulate ``n_paths`` price paths ``horizon`` bars ahead of a :class:`~volresearch.models.Fit`.

    Parameters
    ----------
    fit
        A fitted GARCH-family model.
    n_paths, horizon
        Paths and steps (bars).
    seed
        Seed of the per-path counter-based streams (same seed, same paths).
    mode
        ``"matrix"`` (:class:`Paths`) or ``"bands"`` (:class:`Fan`, O(paths + steps) memory).
    last_price
        Starting price when the fit was made on returns only.

    A zero-mean fit simulates with zero drift (see :func:`simulation_params`).

    Raises
    ------
    SimulationError
        When no starting price is known.
    """
    price = fit.last_price if last_price is None else float(last_price)
    if not (price is not None and math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: the fit was made on returns; pass last_price=")
    table = innovation_table(fit.spec.dist, fit.params)
    out = simulate_paths(
        fit.spec.model,
        simulation_params(fit),
        ppf_table=table,
        n_paths=n_paths,
        horizon=horizon,
        x0=math.log(price),
        sigma2_1=fit.next_variance,
        seed=seed,
        mode=mode,
        quantiles=quantiles,
        dtype=dtype,
        start=fit.end,
        bar_seconds=fit_bar_seconds(fit),
        n_sample_paths=n_sample_paths,
    )
    return out
