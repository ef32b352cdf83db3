r"""Merton jump-diffusion path kernel (exact per step) and its numpy twin.

Model (annualised; ``x = ln S``)::

    dx = (mu - sigma^2 / 2 - lam k) dt + sigma dW + dJ,    k = e^{mu_j + sigma_j^2 / 2} - 1

``J`` compound Poisson, intensity ``lam`` per year, log jumps ``N(mu_j, sigma_j^2)``;
``-lam k`` compensates the jumps so that ``E[S_t] = S_0 e^{mu t}``.

One step of ``dt`` years is exact: with ``N ~ Poisson(lam dt)`` (inversion of
one uniform) and two standard normals ``Z``, ``Z_J``::

    x' = x + (mu - sigma^2 / 2 - lam k) dt + sigma sqrt(dt) Z + N mu_j + sigma_j sqrt(N) Z_J

(the sum of ``N`` normal jumps is ``N(N mu_j, N sigma_j^2)``).  Words per step:
2, plus 1 when ``N > 0``.  Layout and streams as in :mod:`.heston`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numba import njit, prange

from ...errors import SimulationError
from .._rng import StreamState, philox4x64, stream_words_numpy, word_side_and_v
from .draws import PATH_BLOCK, table_z, table_z_numpy
from .heston import _poisson, _seed_int, _side_v, _word, paths_surface, poisson_tail_table

__all__ = ["merton_drift", "simulate_merton", "simulate_merton_numpy", "simulate_merton_result"]


def merton_drift(mu: float, sigma: float, lam: float, mu_j: float, sigma_j: float) -> float:
    """Compensated drift of ``ln S`` per year: ``mu - sigma^2 / 2 - lam (e^{mu_j + sigma_j^2/2} - 1)``."""
    return mu - 0.5 * sigma * sigma - lam * math.expm1(mu_j + 0.5 * sigma_j * sigma_j)


@njit(cache=True)
def _run_block(
    j0: int,
    j1: int,
    n_steps: int,
    drift: float,
    vol: float,
    mu_j: float,
    sigma_j: float,
    tails: np.ndarray,
    x: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    store: bool,
) -> None:
    nb = j1 - j0
    k0 = key[0]
    k1 = key[1]
    zero = np.uint64(0)
    three = np.uint64(3)
    one = np.uint64(1)
    has_jumps = tails.shape[0] > 0
    buf = np.empty((nb, 4), dtype=np.uint64)
    for jj in range(nb):
        c = counter[j0 + jj]
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> np.uint64(2), stream[j0 + jj], zero, zero, k0, k1)
            buf[jj, 0] = b0
            buf[jj, 1] = b1
            buf[jj, 2] = b2
            buf[jj, 3] = b3
    for t in range(n_steps):
        for jj in range(nb):
            j = j0 + jj
            s = stream[j]
            c = counter[j]
            z = table_z(_word(buf, jj, c, s, k0, k1), coef, p_min, m_bits, tail, key, s, c)
            c = c + one
            xn = x[j] + drift + vol * z
            if has_jumps:
                side, tv = _side_v(_word(buf, jj, c, s, k0, k1))
                c = c + one
                n = _poisson(side, tv, tails)
                if n > 0:
                    zj = table_z(_word(buf, jj, c, s, k0, k1), coef, p_min, m_bits, tail, key, s, c)
                    c = c + one
                    xn += n * mu_j + sigma_j * math.sqrt(n) * zj
            x[j] = xn
            counter[j] = c
            if store:
                out[t, j] = xn


@njit(parallel=True, fastmath=False, cache=True)
def _advance(
    n_steps: int,
    drift: float,
    vol: float,
    mu_j: float,
    sigma_j: float,
    tails: np.ndarray,
    x: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    store: bool,
) -> None:
    m = x.shape[0]
    n_blocks = (m + PATH_BLOCK - 1) // PATH_BLOCK
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        _run_block(
            j0, min(m, j0 + PATH_BLOCK), n_steps, drift, vol, mu_j, sigma_j, tails, x, key, stream, counter,
            coef, p_min, m_bits, tail, out, store,
        )  # fmt: skip


def _check(sigma: float, lam: float, sigma_j: float, dt: float) -> None:
    if not (sigma >= 0.0 and lam >= 0.0 and sigma_j >= 0.0 and dt > 0.0):
        raise ValueError("need sigma, lam, sigma_j >= 0 and dt > 0")


def simulate_merton(
    x: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    mu: float,
    sigma: float,
    lam: float,
    mu_j: float,
    sigma_j: float,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    ppf: tuple[np.ndarray, int, int, np.ndarray],
    store: bool = True,
) -> np.ndarray | None:
    """Advance Merton paths in place by ``n_steps`` exact steps of ``dt`` years (numba, parallel).

    Parameters
    ----------
    x
        ``float64 (paths,)`` log prices, updated in place.
    n_steps, dt
        Steps and step length in years.
    mu, sigma, lam, mu_j, sigma_j
        Expected return (1/year), diffusion volatility (1/sqrt(year)), jump intensity (1/year),
        mean and standard deviation of a log jump (log-return units).
    key, stream, counter
        Philox key, per-path stream ids and counters (advanced in place).
    ppf
        ``PpfTable.kernel_args`` of the standard normal.
    store
        Return the ``(n_steps, paths)`` log prices after each step.
    """
    _check(sigma, lam, sigma_j, dt)
    drift = merton_drift(mu, sigma, lam, mu_j, sigma_j) * dt
    tails = poisson_tail_table(lam * dt)
    out = np.empty((n_steps, x.shape[0])) if store else np.empty((0, 0))
    coef, p_min, m_bits, tail = ppf
    _advance(
        int(n_steps), drift, sigma * math.sqrt(dt), float(mu_j), float(sigma_j), tails, x, key, stream, counter,
        coef, int(p_min), int(m_bits), tail, out, bool(store),
    )  # fmt: skip
    return out if store else None


def simulate_merton_numpy(
    x: np.ndarray,
    n_steps: int,
    dt: float,
    *,
    mu: float,
    sigma: float,
    lam: float,
    mu_j: float,
    sigma_j: float,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    ppf: tuple[np.ndarray, int, int, np.ndarray],
) -> np.ndarray:
    """Plain-numpy twin of :func:`simulate_merton`; returns ``(n_steps, paths)`` log prices."""
    _check(sigma, lam, sigma_j, dt)
    drift = merton_drift(mu, sigma, lam, mu_j, sigma_j) * dt
    vol = sigma * math.sqrt(dt)
    tails = poisson_tail_table(lam * dt)
    coef, p_min, m_bits, tail = ppf
    stream = np.asarray(stream, dtype=np.uint64)
    out = np.empty((n_steps, x.shape[0]))
    for t in range(n_steps):
        c = counter.copy()
        z = table_z_numpy(stream_words_numpy(key, stream, c, 1)[0], coef, p_min, m_bits, tail, key, stream, c)
        c += np.uint64(1)
        xn = x + drift + vol * z
        if tails.shape[0]:
            side, tv = word_side_and_v(stream_words_numpy(key, stream, c, 1)[0])
            c += np.uint64(1)
            w = np.where(side == 0, 1.0 - tv, tv)
            n = (w[:, None] < tails[None, :]).cumprod(axis=1).sum(axis=1)
            idx = np.flatnonzero(n > 0)
            if idx.size:
                ci = c[idx]
                wj = stream_words_numpy(key, stream[idx], ci, 1)[0]
                zj = table_z_numpy(wj, coef, p_min, m_bits, tail, key, stream[idx], ci)
                c[idx] += np.uint64(1)
                nn = n[idx].astype(float)
                xn[idx] += nn * mu_j + sigma_j * np.sqrt(nn) * zj
        x[:] = xn
        counter[:] = c
        out[t] = xn
    return out


def simulate_merton_result(
    result: Any,
    n_paths: int,
    horizon: int,
    seed: Any,
    *,
    start: Any = None,
    calendar: Any = None,
    mode: str = "bands",
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Registry kernel adapter of :class:`~volresearch.models.merton.MertonFit` (kernel id ``"merton"``).

    Paths start at ``ln(last_price)`` (``state`` or ``last_price=`` override it) and advance ``horizon``
    exact steps of ``dt = result.dt`` years.  ``options``: ``last_price``, ``quantiles``, ``n_sample_paths``.
    """
    from volresearch.simulate.engine import innovation_table

    st = {**result.filter_state(), **dict(state or {})}
    price = float(options.pop("last_price", st["last_price"]))
    if not (math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: the fit was made on returns; pass last_price=")
    p = result.simulation_params()
    seed_int = _seed_int(seed)
    ss = StreamState.create(seed_int, int(n_paths))
    x = np.full(int(n_paths), math.log(price))
    xs = simulate_merton(
        x, int(horizon), float(p["dt"]), mu=p["mu"], sigma=p["sigma"], lam=p["lam"], mu_j=p["mu_j"],
        sigma_j=p["sigma_j"], key=ss.key, stream=ss.stream, counter=ss.counter,
        ppf=innovation_table("normal", {}).kernel_args,
    )  # fmt: skip
    logp = np.vstack([np.full((1, int(n_paths)), math.log(price)), xs])
    meta = {"model": result.model, "params": dict(result.params), "seed": seed_int, "dt": float(p["dt"])}
    cal = result.calendar if calendar is None else calendar
    return paths_surface(
        logp, mode=mode, start=st.get("end") if start is None else start, bar_seconds=result.bar_seconds,
        calendar=cal, meta=meta, **options,
    )  # fmt: skip
