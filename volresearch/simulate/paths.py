"""Monte Carlo price paths of GARCH-family models: the simulation entry points.

:func:`simulate_paths` draws ``n_paths`` paths of ``horizon`` bars from a
GARCH, GJR or EGARCH recursion given in per-bar log-return units (see
:mod:`volresearch.simulate.kernels` for the equations) with innovations
from a :class:`~volresearch.simulate.innovations.PpfTable`.  Each path is
driven by its own simulated shocks, so volatility clusters inside the fan.
It returns a :class:`~volresearch.simulate.results.Paths` (``mode="matrix"``)
or a :class:`~volresearch.simulate.results.Fan` (``mode="bands"``); both are
importable from here.  Quantiles follow :mod:`volresearch.quantiles`.

:func:`advance_paths` advances per-path states in place (a particle filter's
predict step) and :func:`variance_forecast` gives the analytic expectation
the simulation must reproduce.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numba
import numpy as np

from .. import __version__
from ..errors import SimulationError
from . import kernels as _kernels
from ._rng import StreamState
from .innovations import PpfTable
from .results import (
    DEFAULT_QUANTILES,
    SUMMARY_HORIZONS,
    SUMMARY_LEVELS,
    Fan,
    Paths,
    _normalise_weights,
    _probs,
    session_step_times,
    weighted_quantile,
)

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
    "session_step_times",
    "simulate_paths",
    "variance_forecast",
    "weighted_quantile",
]

#: Model name -> kernel code.
MODELS: dict[str, int] = {"garch": _kernels.GARCH, "gjr": _kernels.GJR, "egarch": _kernels.EGARCH}
#: Steps simulated per block of band mode (rows of its scratch buffer).
BAND_BLOCK = 64


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
    GARCH/GJR need ``omega > 0`` (or ``omega = 0`` with ``beta > 0``: the integrated EWMA recursion, whose
    variance stays positive from a positive start), ``alpha >= 0``, ``beta >= 0`` and
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
        if vals["omega"] < 0.0 or (vals["omega"] == 0.0 and not vals["beta"] > 0.0):
            raise SimulationError(
                f"omega must be positive (or zero with beta > 0, the EWMA recursion), got omega={vals['omega']!r}"
            )
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


def _multiplier(value: Any, steps: int) -> np.ndarray | None:
    """Checked ``(steps,)`` float64 variance multipliers, or ``None`` (absent or empty)."""
    if value is None:
        return None
    m = np.ascontiguousarray(value, dtype=np.float64)
    if m.size == 0:
        return None
    if m.shape != (steps,):
        raise SimulationError(f"variance_multiplier must have shape ({steps},), got {m.shape}")
    if not (np.all(np.isfinite(m)) and np.all(m > 0.0)):
        raise SimulationError("variance multipliers must be positive and finite")
    return m


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
    calendar: Any = None,
    variance_multiplier: np.ndarray | None = None,
    step_times: Any = None,
    meta: Mapping[str, Any] | None = None,
) -> Paths | Fan:
    """Simulate GARCH-family log-price paths with per-path shocks.

    ``r_t = mu + sigma_t z_t`` (or ``sqrt(m_t) (mu + sigma_t z_t)`` with a
    per-step variance multiplier ``m_t``), ``x_{t+1} = x_t + r_t``, variance recursion
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
    calendar
        Optional trading calendar (name such as ``"cme_globex"`` or a
        ``TradingCalendar``; anything with ``next_bars(after, n,
        bar_seconds)``): steps are then labelled with the session bars after
        ``start`` (:func:`session_step_times`, stored as ``step_times``), so
        breaks, weekends and holidays are skipped.  Needs ``start``.
    variance_multiplier
        Optional ``(horizon,)`` positive per-step variance multipliers
        ``m_t`` (squared log return per bar): the multiplicative-component
        intraday model, whose recursion then runs on deseasonalised units
        (``sigma2`` is its unit-scale ``q``).  ``None`` (or all ones) is the
        plain kernel bit for bit.
    step_times
        Time stamps of steps ``0 .. horizon`` when the caller already has
        them (replaces ``calendar``).
    meta
        Extra entries of the result's ``meta``.

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
    mult = _multiplier(variance_multiplier, horizon)
    if step_times is None and calendar is not None:
        step_times = session_step_times(calendar, start, horizon, bar_seconds)
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
        "innovations": ppf_table.meta(),
        **dict(meta or {}),
    }
    if mode == "matrix":
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise SimulationError(f"dtype must be float64 or float32, got {dtype!r}")
        out = np.empty((horizon + 1, n_paths), dtype=dt)
        _kernels.simulate_matrix(
            code, mu, omega, alpha, gamma, beta, x, s2, state.key, state.stream, state.counter,
            *ppf_table.kernel_args, out, mult,
        )  # fmt: skip
        return Paths(log_prices=out, weights=w, start=start, bar_seconds=bar_seconds, meta=meta, step_times=step_times)

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
        log_q, price_q, mean, var, samples, mult,
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
        step_times=step_times,
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
    variance_multiplier: np.ndarray | None = None,
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
    variance_multiplier
        Optional ``(n_steps,)`` multipliers (see :func:`simulate_paths`).
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
    mult = _multiplier(variance_multiplier, int(n_steps)) if n_steps else None
    _kernels.advance_states(
        code, mu, omega, alpha, gamma, beta, x, sigma2, int(n_steps), state.key, state.stream, state.counter,
        *ppf_table.kernel_args, mult,
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
