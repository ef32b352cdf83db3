r"""Path kernel of the multiplicative-component intraday GARCH, next to its plain-numpy twin.

Model (Engle-Sokalska 2012), per bar ``t`` of the forecast, log-return units::

    r_t = sqrt(m_t) (mu + u_t),     u_t = sqrt(q_t) z_t,     x_{t+1} = x_t + r_t
    q_{t+1} = omega + (alpha + gamma 1[u_t < 0]) u_t**2 + beta q_t        (GARCH / GJR)
    ln q_{t+1} = omega + alpha (|z_t| - sqrt(2/pi)) + gamma z_t + beta ln q_t   (EGARCH)

``m_t = h_{d(t)} s_{i(t)} / sum_j s_j`` (plus the gap variance on the first
bar of a session) is the per-step variance multiplier the fitted model
computes for the calendar time of step ``t`` (squared log return per bar);
``q`` is the unit-mean intraday component on the deseasonalised returns
(dimensionless) and ``mu`` its mean in deseasonalised units.  With
``m_t = 1`` the kernel is the GARCH-family kernel of :mod:`.garch`.

The simulation is the GARCH-family kernel itself
(:func:`~volresearch.simulate.paths.simulate_paths` with
``variance_multiplier=m``): one pass per path block, innovations drawn in the
kernel (step ``t`` of path ``j`` uses word ``counter[j] + t`` of Philox stream
``stream[j]``), streamed band mode, so a 24-hour intraday fan costs what a
plain GJR fan costs.  :func:`advance_intraday_numpy` is its plain-numpy twin
(innovations drawn by :func:`~volresearch.simulate.kernels.draws.draw_innovations_numpy`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numba
import numpy as np

from ... import __version__
from ...errors import SimulationError
from .._rng import StreamState
from ..innovations import PpfTable
from ..results import DEFAULT_QUANTILES, SUMMARY_LEVELS, Fan, Paths, _probs
from .draws import draw_innovations_numpy
from .garch import EGARCH, GARCH, GJR, step_variance_numpy
from .quantiles import inverted_cdf_plan, matrix_quantiles

__all__ = [
    "STEP_BLOCK",
    "advance_intraday_numpy",
    "simulate_intraday",
]

#: Steps whose innovations the numpy twin draws together.
STEP_BLOCK = 64


def advance_intraday_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    mult: np.ndarray,
    z: np.ndarray,
    x: np.ndarray,
    q: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain-numpy twin of the multiplier steps of the path kernels; returns ``(rows, x, q)`` (inputs untouched).

    Step ``t`` of ``z`` (``(steps, paths)`` innovations) moves ``x`` by
    ``sqrt(mult[t]) (mu + sqrt(q) z)`` and ``q`` by the recursion of ``model_code``.
    """
    x = np.array(x, dtype=np.float64)
    q = np.array(q, dtype=np.float64)
    rows = np.empty((len(mult), x.size))
    for t in range(len(mult)):
        u = np.sqrt(q) * z[t]
        x = x + math.sqrt(float(mult[t])) * (mu + u)
        rows[t] = x
        q = step_variance_numpy(model_code, u, q, omega, alpha, gamma, beta)
    return rows, x, q


class _BandAccumulator:
    """Per-step price quantiles, mean, std and the first sample paths of blocks of log-price rows."""

    def __init__(self, probs: np.ndarray, n_samples: int) -> None:
        self.probs = probs
        self.n_samples = n_samples
        self.bands: list[np.ndarray] = []
        self.mean: list[np.ndarray] = []
        self.std: list[np.ndarray] = []
        self.samples: list[np.ndarray] = []
        self.plan: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, log_x: np.ndarray) -> None:
        log_x = np.ascontiguousarray(np.atleast_2d(log_x))
        if self.plan is None:
            self.plan = inverted_cdf_plan(log_x.shape[1], self.probs)
        q = np.empty((log_x.shape[0], self.probs.size))
        matrix_quantiles(log_x, np.empty(0), self.probs, *self.plan, q)  # numpy's inverted cdf, bit for bit
        self.bands.append(np.exp(q))
        prices = np.exp(log_x)
        self.mean.append(prices.mean(axis=1))
        self.std.append(prices.std(axis=1))
        self.samples.append(prices[:, : self.n_samples])

    def fan(self, x_last: np.ndarray, **common: Any) -> Fan:
        return Fan(
            levels=self.probs,
            bands=np.vstack(self.bands),
            terminal_prices=np.exp(x_last),
            mean=np.concatenate(self.mean),
            std=np.concatenate(self.std),
            sample_paths=np.vstack(self.samples) if self.n_samples else None,
            **common,
        )


def simulate_intraday(
    model_code: int,
    params: dict[str, float],
    mult: np.ndarray,
    *,
    ppf_table: PpfTable,
    n_paths: int,
    x0: float | np.ndarray,
    q1: float | np.ndarray,
    seed: int,
    mode: Literal["matrix", "bands"] = "bands",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    start: Any = None,
    bar_seconds: float = 60.0,
    step_times: Any = None,
    n_sample_paths: int = 20,
    twin: bool = False,
    meta: dict[str, Any] | None = None,
) -> Paths | Fan:
    """Simulate ``n_paths`` log-price paths over ``len(mult)`` steps of the multiplicative model.

    Runs :func:`~volresearch.simulate.paths.simulate_paths` with the
    multipliers (in-kernel draws, streamed bands); ``mode="bands"`` keeps
    only the per-step quantiles of the price (the package's one rule), the
    mean and standard deviation, and the first ``n_sample_paths`` paths.
    ``twin=True`` runs the plain-numpy twin instead (innovations drawn
    :data:`STEP_BLOCK` steps at a time), which the tests compare with it.

    Parameters
    ----------
    model_code
        Variance recursion of ``q`` (kernel code of :mod:`.garch`).
    params
        ``mu, omega, alpha, gamma, beta`` of ``q`` (deseasonalised units).
    mult
        ``(horizon,)`` positive variance multipliers (squared log return per bar).
    ppf_table
        Innovation law.
    x0, q1
        Initial log price and ``q`` of the first step (scalar or per path).
    seed
        Non-negative integer key of the per-path streams.
    twin
        Use the plain-numpy twin (tests).

    Returns
    -------
    Paths or Fan
    """
    mult = np.ascontiguousarray(mult, dtype=np.float64)
    if mult.ndim != 1 or mult.size < 1 or not np.all(np.isfinite(mult)) or not np.all(mult > 0):
        raise SimulationError("the variance multipliers must be a non-empty 1-d array of positive numbers")
    if mode not in ("matrix", "bands"):
        raise SimulationError(f"mode must be 'matrix' or 'bands', got {mode!r}")
    n_paths = int(n_paths)
    if n_paths < 1:
        raise SimulationError(f"n_paths must be a positive integer, got {n_paths!r}")
    horizon = mult.size
    mu, omega, alpha, gamma, beta = (float(params.get(k, 0.0)) for k in ("mu", "omega", "alpha", "gamma", "beta"))
    x = np.array(np.broadcast_to(np.asarray(x0, dtype=np.float64), (n_paths,)), dtype=np.float64)
    q = np.array(np.broadcast_to(np.asarray(q1, dtype=np.float64), (n_paths,)), dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(q)) and np.all(q > 0)):
        raise SimulationError("x0 must be finite and q1 positive")
    info_extra = {"kernel": "intraday", "model_code": int(model_code), **(meta or {})}
    if not twin:
        from ..paths import simulate_paths

        name = {GARCH: "garch", GJR: "gjr", EGARCH: "egarch"}[int(model_code)]
        p = {
            "mu": mu,
            "omega": omega,
            "alpha": alpha,
            "beta": beta,
            **({} if model_code == GARCH else {"gamma": gamma}),
        }
        return simulate_paths(
            name, p, ppf_table=ppf_table, n_paths=n_paths, horizon=horizon, x0=x, sigma2_1=q, seed=int(seed),
            mode=mode, quantiles=quantiles, start=start, bar_seconds=bar_seconds, n_sample_paths=n_sample_paths,
            variance_multiplier=mult, step_times=step_times, meta=info_extra,
        )  # fmt: skip
    state = StreamState.create(int(seed), n_paths)
    keep_all = mode == "matrix"
    out = np.empty((horizon + 1, n_paths)) if keep_all else np.empty((0, 0))
    acc = None
    if keep_all:
        out[0] = x
    else:
        probs = np.union1d(_probs(quantiles), np.array(SUMMARY_LEVELS))
        acc = _BandAccumulator(probs, min(max(int(n_sample_paths), 0), n_paths))
        acc.add(x[None, :])
    for t0 in range(0, horizon, STEP_BLOCK):
        m = mult[t0 : t0 + STEP_BLOCK]
        z = draw_innovations_numpy(state.key, state.stream, state.counter, *ppf_table.kernel_args, m.size)
        state.counter[:] += np.uint64(m.size)
        block, x, q = advance_intraday_numpy(model_code, mu, omega, alpha, gamma, beta, m, z, x, q)
        if keep_all:
            out[t0 + 1 : t0 + 1 + m.size] = block
        else:
            acc.add(block)
    info = {
        "dist": ppf_table.name,
        "params": {"mu": mu, "omega": omega, "alpha": alpha, "gamma": gamma, "beta": beta},
        "seed": int(seed),
        "n_threads": int(numba.get_num_threads()),
        "version": __version__,
        "rng": "philox4x64-10",
        "mode": mode,
        "n_paths": n_paths,
        "horizon": horizon,
        "innovations": ppf_table.meta(),
        **info_extra,
    }
    common = {"weights": None, "start": start, "bar_seconds": bar_seconds, "meta": info, "step_times": step_times}
    if keep_all:
        return Paths(log_prices=out, **common)
    assert acc is not None
    return acc.fan(x, **common)
