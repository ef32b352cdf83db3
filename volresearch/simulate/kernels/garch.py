"""GARCH-family path kernels (GARCH, GJR, EGARCH) and their numpy twins.

Model, in per-bar log-return units::

    r_t = mu + e_t,    e_t = sigma_t z_t,    x_{t+1} = x_t + r_t

or, with an optional per-step variance multiplier ``m_t`` (the
multiplicative-component intraday GARCH, ``sigma2`` then the unit-scale
intraday component ``q``)::

    r_t = sqrt(m_t) (mu + e_t)

which is the plain model bit for bit when the multiplier is absent (an
empty array) or 1.
    GARCH / GJR:  sigma2_{t+1} = omega + (alpha + gamma 1[e_t < 0]) e_t**2 + beta sigma2_t
    EGARCH:       ln sigma2_{t+1} = omega + alpha (|z_t| - sqrt(2/pi)) + gamma z_t
                                    + beta ln sigma2_t

``x`` is the log price, ``z_t`` an iid standardised innovation from the
path's own stream (:mod:`.draws`).  Every step feeds the *realised* shock
``e_t`` back into the variance, so each path carries its own volatility
clustering.  ``sqrt(2/pi)`` in EGARCH is ``E|z|`` of a normal and is used
whatever the innovation law, as ``arch`` does.

Layout.  Kernels take preallocated arrays; the state of path ``j`` is the
log price ``x[j]``, the variance of its next step ``sigma2[j]`` and its
generator counter ``counter[j]`` (stream id ``stream[j]``), all updated in
place so that a later call continues each path exactly where it stopped.
Paths are processed in blocks of :data:`PATH_BLOCK` (``prange`` over blocks,
steps inside, the block's paths innermost).  A path's numbers depend only on
``(key, stream, counter)``, so results do not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._rng import philox4x64, stream_words_numpy
from .draws import PATH_BLOCK, table_z, table_z_numpy

__all__ = [
    "EGARCH",
    "GARCH",
    "GJR",
    "SQRT_2_OVER_PI",
    "advance_states",
    "advance_states_numpy",
    "advance_states_serial",
    "simulate_matrix",
    "simulate_matrix_numpy",
    "step_variance",
    "step_variance_numpy",
]

#: Model codes understood by the kernels.
GARCH = 0
GJR = 1
EGARCH = 2

#: ``E|z|`` of a standard normal, the constant of arch's EGARCH.
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# --------------------------------------------------------------------------
# one step of the variance recursion
# --------------------------------------------------------------------------
@njit(cache=True, inline="always")
def step_variance(
    model_code: int, e: float, sigma2: float, omega: float, alpha: float, gamma: float, beta: float
) -> float:
    """Variance of the next step given this step's shock (numba, inlined).

    Parameters
    ----------
    model_code
        :data:`GARCH`, :data:`GJR` or :data:`EGARCH`.
    e
        Realised shock ``e_t = sigma_t z_t`` (log-return units).
    sigma2
        This step's variance ``sigma2_t``.
    omega, alpha, gamma, beta
        Recursion parameters (``gamma`` unused by GARCH).

    Returns
    -------
    float
        ``sigma2_{t+1}``: ``omega + (alpha + gamma 1[e < 0]) e**2 + beta sigma2``
        (GARCH, GJR) or ``exp(omega + alpha (|z| - sqrt(2/pi)) + gamma z +
        beta ln sigma2)`` with ``z = e / sqrt(sigma2)`` (EGARCH).
    """
    if model_code == EGARCH:
        z = e / math.sqrt(sigma2)
        return math.exp(omega + alpha * (abs(z) - SQRT_2_OVER_PI) + gamma * z + beta * math.log(sigma2))
    # branch-free select: the sign of e is a coin flip, a branch mispredicts
    a = alpha + (gamma if (model_code == GJR) & (e < 0.0) else 0.0)
    return omega + a * (e * e) + beta * sigma2


def step_variance_numpy(
    model_code: int, e: np.ndarray, sigma2: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    """Numpy twin of :func:`step_variance` (vectorised over paths).

    ``exp``/``log`` go through :mod:`math` element by element so that the
    twin uses the same libm as the compiled kernel.
    """
    e = np.asarray(e, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if model_code == EGARCH:
        z = e / np.sqrt(sigma2)
        lin = np.array([math.log(s) for s in sigma2.tolist()], dtype=np.float64)
        arg = omega + alpha * (np.abs(z) - SQRT_2_OVER_PI) + gamma * z + beta * lin
        return np.array([math.exp(a) for a in arg.tolist()], dtype=np.float64)
    a = np.full(e.shape, alpha)
    if model_code == GJR:
        a = np.where(e < 0.0, alpha + gamma, alpha)
    return omega + a * (e * e) + beta * sigma2


# --------------------------------------------------------------------------
# path advance (shared by every mode)
# --------------------------------------------------------------------------
@njit(cache=True)
def _no_multiplier() -> np.ndarray:
    """The empty multiplier array: no per-step variance multiplier."""
    return np.empty(0, dtype=np.float64)


@njit(cache=True)
def _run_paths(
    j0: int,
    j1: int,
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    row0: int,
    store: bool,
    mult: np.ndarray,
    m0: int,
) -> None:
    """Advance paths ``j0 .. j1 - 1`` by ``n_steps`` (serial, one task).

    Writes ``x_{t+1}`` to ``out[row0 + t, j]`` when ``store``; updates
    ``x``, ``sigma2`` and ``counter`` of the block in place.  When ``mult``
    is not empty, step ``t`` returns ``sqrt(mult[m0 + t]) (mu + e_t)``.
    """
    nb = j1 - j0
    xs = np.empty(nb)
    vs = np.empty(nb)
    cn = np.empty(nb, dtype=np.uint64)
    buf = np.empty((nb, 4), dtype=np.uint64)
    k0 = key[0]
    k1 = key[1]
    zero = np.uint64(0)
    three = np.uint64(3)
    two = np.uint64(2)
    for jj in range(nb):
        j = j0 + jj
        xs[jj] = x[j]
        vs[jj] = sigma2[j]
        c = counter[j]
        cn[jj] = c
        if (c & three) != zero:
            b0, b1, b2, b3 = philox4x64(c >> two, stream[j], zero, zero, k0, k1)
            buf[jj, 0] = b0
            buf[jj, 1] = b1
            buf[jj, 2] = b2
            buf[jj, 3] = b3
    scaled = mult.shape[0] > 0
    for t in range(n_steps):
        row = row0 + t
        sm = math.sqrt(mult[m0 + t]) if scaled else 1.0
        for jj in range(nb):
            c = cn[jj]
            lane = c & three
            if lane == zero:
                b0, b1, b2, b3 = philox4x64(c >> two, stream[j0 + jj], zero, zero, k0, k1)
                buf[jj, 0] = b0
                buf[jj, 1] = b1
                buf[jj, 2] = b2
                buf[jj, 3] = b3
            word = buf[jj, np.intp(lane)]
            cn[jj] = c + np.uint64(1)
            z = table_z(word, coef, p_min, m_bits, tail, key, stream[j0 + jj], c)
            v = vs[jj]
            e = math.sqrt(v) * z
            xn = xs[jj] + (sm * (mu + e) if scaled else (mu + e))
            xs[jj] = xn
            if store:
                out[row, j0 + jj] = xn
            vs[jj] = step_variance(model_code, e, v, omega, alpha, gamma, beta)
    for jj in range(nb):
        j = j0 + jj
        x[j] = xs[jj]
        sigma2[j] = vs[jj]
        counter[j] = cn[jj]


@njit(parallel=True, fastmath=False, cache=True)
def _advance_all(
    n_steps: int,
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    row0: int,
    store: bool,
    mult: np.ndarray,
) -> None:
    """``prange`` over blocks of :data:`PATH_BLOCK` paths of :func:`_run_paths`."""
    n = x.shape[0]
    n_blocks = (n + PATH_BLOCK - 1) // PATH_BLOCK
    for b in prange(n_blocks):
        j0 = b * PATH_BLOCK
        j1 = min(n, j0 + PATH_BLOCK)
        _run_paths(
            j0, j1, n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
            coef, p_min, m_bits, tail, out, row0, store, mult, 0,
        )  # fmt: skip


@njit(cache=True)
def simulate_matrix(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    out: np.ndarray,
    mult: np.ndarray | None = None,
) -> None:
    """Fill a ``(steps + 1, paths)`` log-price matrix (full matrix mode).

    Parameters
    ----------
    model_code, mu, omega, alpha, gamma, beta
        Model and parameters (per-bar log-return units).
    x
        ``float64 (paths,)`` initial log prices ``x_0``; on return the
        terminal log prices ``x_steps``.
    sigma2
        ``float64 (paths,)`` variance of the first step ``sigma2_1``; on
        return ``sigma2_{steps+1}``.
    key, stream, counter
        Generator state (:class:`~volresearch.simulate._rng.StreamState`);
        ``counter`` advances by ``steps``.
    coef, p_min, m_bits, tail
        Innovation table (:class:`~volresearch.simulate.innovations.PpfTable`).
    out
        ``float64`` or ``float32`` array ``(steps + 1, paths)``; row 0
        receives ``x_0`` and row ``t`` the log price after ``t`` steps.
    mult
        Optional ``(steps,)`` per-step variance multipliers ``m_t``: step
        ``t`` returns ``sqrt(m_t) (mu + e_t)`` (the multiplicative intraday
        model, ``e_t`` the shock of the unit-scale recursion).  ``None`` or an
        empty array: no multiplier, bit for bit the plain kernel (as is
        ``m_t = 1``).
    """
    m = _no_multiplier() if mult is None else mult
    for j in range(x.shape[0]):
        out[0, j] = x[j]
    _advance_all(
        out.shape[0] - 1, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
        coef, p_min, m_bits, tail, out, 1, True, m,
    )  # fmt: skip


@njit(cache=True)
def advance_states(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    mult: np.ndarray | None = None,
) -> None:
    """Advance ``(x, sigma2, counter)`` of every path by ``n_steps`` in place.

    The building block of a particle filter: each path uses its own shocks,
    and calling it for ``a`` then ``b`` steps gives bit for bit the state of
    one call for ``a + b`` steps (and the rows of :func:`simulate_matrix`).
    Arguments as in :func:`simulate_matrix` (``mult``: ``(n_steps,)``
    multipliers or ``None``); nothing is stored per step.
    Callable from other numba functions.
    """
    m = _no_multiplier() if mult is None else mult
    no_out = np.empty((0, 0), dtype=np.float64)
    _advance_all(
        n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter,
        coef, p_min, m_bits, tail, no_out, 0, False, m,
    )  # fmt: skip


@njit(cache=True)
def advance_states_serial(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    mult: np.ndarray | None = None,
) -> None:
    """:func:`advance_states` on the calling thread only (same blocks, same numbers bit for bit).

    For short calls (a particle filter's one-step predict of a few thousand
    paths) the start-up of parallel threads costs more than the work; a
    path's numbers depend only on its stream, so the result is identical.
    """
    n = x.shape[0]
    m = _no_multiplier() if mult is None else mult
    no_out = np.empty((0, 0), dtype=np.float64)
    for j0 in range(0, n, PATH_BLOCK):
        _run_paths(
            j0, min(n, j0 + PATH_BLOCK), n_steps, model_code, mu, omega, alpha, gamma, beta, x, sigma2, key,
            stream, counter, coef, p_min, m_bits, tail, no_out, 0, False, m, 0,
        )  # fmt: skip


# --------------------------------------------------------------------------
# numpy twins of the path kernels
# --------------------------------------------------------------------------
def simulate_matrix_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    steps: int,
    mult: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`simulate_matrix` (inputs are not modified; ``mult`` as there).

    Returns
    -------
    out : numpy.ndarray
        ``(steps + 1, paths)`` log prices.
    x, sigma2, counter : numpy.ndarray
        Final state.
    """
    x = np.array(x, dtype=np.float64)
    s2 = np.array(sigma2, dtype=np.float64)
    counter = np.array(counter, dtype=np.uint64)
    words = stream_words_numpy(key, stream, counter, steps)
    idx = counter[None, :] + np.arange(steps, dtype=np.uint64)[:, None]
    z = table_z_numpy(words, coef, p_min, m_bits, tail, key, np.asarray(stream, dtype=np.uint64)[None, :], idx)
    out = np.empty((steps + 1, x.shape[0]))
    out[0] = x
    scaled = mult is not None and len(mult) > 0
    for t in range(steps):
        e = np.sqrt(s2) * z[t]
        x = x + (math.sqrt(float(mult[t])) * (mu + e) if scaled else (mu + e))  # type: ignore[index]
        out[t + 1] = x
        s2 = step_variance_numpy(model_code, e, s2, omega, alpha, gamma, beta)
    return out, x, s2, counter + np.uint64(steps)


def advance_states_numpy(
    model_code: int,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    x: np.ndarray,
    sigma2: np.ndarray,
    n_steps: int,
    key: np.ndarray,
    stream: np.ndarray,
    counter: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    mult: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numpy twin of :func:`advance_states`; returns new ``(x, sigma2, counter)``."""
    _, xn, s2n, cn = simulate_matrix_numpy(
        model_code, mu, omega, alpha, gamma, beta, x, sigma2, key, stream, counter, coef, p_min, m_bits, tail,
        n_steps, mult,
    )  # fmt: skip
    return xn, s2n, cn
