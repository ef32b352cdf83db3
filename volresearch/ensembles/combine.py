r"""Combining predictive distributions: the linear pool, its moments and its weights (pure numpy/scipy).

A combination of ``k`` members' predictive laws :math:`F_1 .. F_k` with weights
:math:`w` on the simplex is the **linear pool** (the mixture)

.. math:: F(y) = \sum_j w_j F_j(y), \qquad f(y) = \sum_j w_j f_j(y),

whose mean and variance follow the law of total variance,

.. math:: \mu = \sum_j w_j \mu_j, \qquad
          \sigma^2 = \underbrace{\sum_j w_j \sigma_j^2}_{\text{within}}
                   + \underbrace{\sum_j w_j (\mu_j - \mu)^2}_{\text{between}},

so disagreement between members widens the pool (averaging only the members' variances, the seed
document's rule, leaves the between term out and makes the pool over-confident).

Weights (every function returns a float array on the simplex, members in column order):

* :func:`equal_weights`;
* :func:`inverse_loss_weights`: :math:`w_j \propto 1 / \bar L_j` over a trailing window of a positive
  loss (QLIKE in its normalised form, CRPS, MSE on variance);
* :func:`variance_regression_weights`: least squares of the realised variance (or a proxy) on the
  members' variance forecasts, non-negative and summing to one, optionally shrunk towards equal weights
  (ridge);
* :func:`sharpe_weights`: :math:`w_j \propto \max(SR_j, 0)`, the Sharpe ratios of a strategy run on each
  member's forecasts (by default the volatility-targeting strategy of :func:`vol_target_returns`): an economic
  value of the forecasts measured on strategy returns, not on forecast errors;
* :func:`directional_weights`: :math:`w_j \propto \max(\text{hit rate}_j - \tfrac12, 0)`, the rate at which
  the sign of member ``j``'s predictive mean calls the sign of the outcome (weak for volatility models,
  whose means barely move: an option for members with a mean model);
* :func:`log_score_weights`: the optimal linear pool, maximising the mean log score
  :math:`\frac1n \sum_t \log \sum_j w_j f_{jt}` over the simplex (a concave problem, solved by the EM
  fixed point :math:`w_j \leftarrow \frac1n \sum_t w_j f_{jt} / \sum_i w_i f_{it}`, which increases the
  objective at every step).

Units: the caller's (log returns per bar for means, their squares for variances; densities per unit of
the outcome).  Errors: :class:`~volresearch.errors.ConfigError` for shapes, non-finite or invalid inputs.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from volresearch.errors import ConfigError

__all__ = [
    "effective_members",
    "equal_weights",
    "inverse_loss_weights",
    "log_score_weights",
    "mixture_moments",
    "pool_cdf",
    "directional_weights",
    "pool_log_density",
    "sharpe_weights",
    "variance_regression_weights",
    "vol_target_returns",
]

#: Cap on the leverage of the volatility-targeting strategy.
MAX_LEVERAGE = 3.0


def _matrix(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 1 or a.shape[0] < 1:
        raise ConfigError(f"{name} must be a (forecasts, members) array, got shape {np.shape(x)}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ConfigError(f"{name} holds a non-finite value at row {int(bad[0])}, member {int(bad[1])}")
    return a


def _weights(w: ArrayLike, k: int) -> np.ndarray:
    a = np.asarray(w, dtype=float)
    if a.shape[-1] != k:
        raise ConfigError(f"weights have {a.shape[-1]} members, the forecasts {k}")
    if np.any(~np.isfinite(a)) or np.any(a < 0) or not np.allclose(a.sum(axis=-1), 1.0, atol=1e-9):
        raise ConfigError("weights must be finite, non-negative and sum to one")
    return a


def equal_weights(k: int) -> np.ndarray:
    """``k`` weights of ``1/k``."""
    if int(k) < 1:
        raise ConfigError(f"an ensemble needs at least one member, got {k}")
    return np.full(int(k), 1.0 / int(k))


def effective_members(weights: ArrayLike) -> float:
    """Effective number of members (of bets), ``1 / sum w_j^2``: ``k`` for equal weights, 1 for one member."""
    w = np.asarray(weights, dtype=float)
    return float(1.0 / np.sum(w * w))


def mixture_moments(means: ArrayLike, variances: ArrayLike, weights: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the linear pool of members with the given means and variances.

    ``means``, ``variances``: ``(n, k)`` (or ``(k,)`` for one forecast); ``weights``: ``(k,)`` or ``(n, k)``.
    Returns ``(mean, variance)`` of shape ``(n,)``: the variance is within plus between (module docstring).
    """
    m = _matrix(means, "means")
    v = _matrix(variances, "variances")
    if m.shape != v.shape:
        raise ConfigError(f"means {m.shape} and variances {v.shape} differ in shape")
    if np.any(v < 0):
        raise ConfigError("variances must be non-negative")
    w = _weights(weights, m.shape[1])
    mu = np.sum(w * m, axis=1)
    within = np.sum(w * v, axis=1)
    between = np.sum(w * (m - mu[:, None]) ** 2, axis=1)
    return mu, within + between


def inverse_loss_weights(losses: ArrayLike, *, window: int | None = None) -> np.ndarray:
    """``w_j`` proportional to the inverse of member ``j``'s mean loss over the last ``window`` rows.

    ``losses``: ``(n, k)`` positive losses (lower is better), one column per member; ``window=None`` uses all
    rows.  Raises ConfigError for a non-positive mean loss (use the normalised QLIKE, which is >= 0).
    """
    a = _matrix(losses, "losses")
    if window is not None:
        if int(window) < 1:
            raise ConfigError(f"window must be a positive number of forecasts, got {window}")
        a = a[-int(window) :]
    mean = a.mean(axis=0)
    if np.any(mean <= 0):
        raise ConfigError(f"inverse-loss weights need positive mean losses, got {mean.tolist()}")
    inv = 1.0 / mean
    return inv / inv.sum()


def _positive_part(score: np.ndarray) -> np.ndarray:
    """Weights proportional to the positive part of ``score``; equal weights when none is positive."""
    pos = np.maximum(score, 0.0)
    return pos / pos.sum() if pos.sum() > 0 else equal_weights(score.size)


def vol_target_returns(returns: ArrayLike, forecast_var: ArrayLike, *, target_var: float | None = None) -> np.ndarray:
    r"""Returns of a volatility-targeting long position run on each member's variance forecasts, ``(n, k)``.

    Position before outcome ``t``: :math:`\min(\sqrt{ar v / \hat\sigma^2_{jt}}, L)` with :math:`ar v` the
    target variance per bar (default: the mean squared outcome) and :math:`L` = :data:`MAX_LEVERAGE`;
    strategy return ``position * r_t`` (log return per bar times leverage, no costs).  Better variance timing
    gives a higher Sharpe ratio (Fleming, Kirby and Ostdiek 2001; Moreira and Muir 2017).
    """
    v = _matrix(forecast_var, "forecast_var")
    r = np.asarray(returns, dtype=float).ravel()
    if r.size != v.shape[0] or not np.all(np.isfinite(r)):
        raise ConfigError(f"returns must be {v.shape[0]} finite values, one per forecast")
    if np.any(v <= 0):
        raise ConfigError("variance forecasts must be positive")
    target = float(np.mean(r * r)) if target_var is None else float(target_var)
    if not target > 0:
        raise ConfigError(f"the target variance must be positive, got {target}")
    return np.minimum(np.sqrt(target / v), MAX_LEVERAGE) * r[:, None]


def sharpe_weights(strategy_returns: ArrayLike) -> np.ndarray:
    """``w_j`` proportional to the positive part of the Sharpe ratio (mean over standard deviation, per bar) of
    member ``j``'s strategy returns ``(n, k)``; equal weights when no member's ratio is positive."""
    a = _matrix(strategy_returns, "strategy_returns")
    if a.shape[0] < 2:
        raise ConfigError("Sharpe weights need at least two strategy returns")
    sd = a.std(axis=0, ddof=1)
    sr = np.where(sd > 0, a.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)
    return _positive_part(sr)


def directional_weights(means: ArrayLike, outcomes: ArrayLike) -> np.ndarray:
    """``w_j`` proportional to the positive part of member ``j``'s hit rate minus one half: the share of forecasts
    whose predictive mean has the outcome's sign (a zero mean or outcome counts one half); equal weights when no
    member beats a coin."""
    m = _matrix(means, "means")
    y = np.asarray(outcomes, dtype=float).ravel()
    if y.size != m.shape[0] or not np.all(np.isfinite(y)):
        raise ConfigError(f"outcomes must be {m.shape[0]} finite values, one per forecast")
    hit = np.where((np.sign(m) == 0) | (np.sign(y) == 0)[:, None], 0.5, (np.sign(m) == np.sign(y)[:, None]) * 1.0)
    return _positive_part(hit.mean(axis=0) - 0.5)


def variance_regression_weights(forecast_var: ArrayLike, realised_var: ArrayLike, *, ridge: float = 0.0) -> np.ndarray:
    r"""Simplex weights of the members' variance forecasts that best fit the realised variance.

    Minimises :math:`\frac1n \lVert F w - r \rVert^2 + \lambda \bar s^2 \lVert w - 1/k \rVert^2` over
    :math:`w \ge 0, \sum w = 1`, with :math:`\bar s^2` the mean squared forecast (so ``ridge`` :math:`\lambda`
    is unit-free; 0: plain constrained least squares, large: equal weights).  Solved exactly by an
    active-set method: the equality-constrained least squares on the free members, dropping the most
    negative weight until all are non-negative, then a KKT check re-admits members whose multiplier says so.

    Parameters
    ----------
    forecast_var
        ``(n, k)`` variance forecasts (squared log return per target).
    realised_var
        ``(n,)`` realised variance or a proxy (squared return, range-based variance).
    ridge
        Shrinkage towards equal weights (dimensionless, >= 0).
    """
    f = _matrix(forecast_var, "forecast_var")
    r = np.asarray(realised_var, dtype=float).ravel()
    if r.size != f.shape[0] or not np.all(np.isfinite(r)):
        raise ConfigError(f"realised_var must be {f.shape[0]} finite values")
    if ridge < 0:
        raise ConfigError(f"ridge must be >= 0, got {ridge}")
    n, k = f.shape
    scale = float(np.mean(f * f))
    lam = float(ridge) * scale
    g = f.T @ f / n + lam * np.eye(k)  # quadratic form
    c = f.T @ r / n + lam / k  # linear term (ridge pulls towards 1/k)
    free = np.ones(k, dtype=bool)
    w = np.zeros(k)
    for _ in range(4 * k + 4):
        idx = np.flatnonzero(free)
        kkt = np.zeros((idx.size + 1, idx.size + 1))
        kkt[:-1, :-1] = g[np.ix_(idx, idx)]
        kkt[:-1, -1] = 1.0
        kkt[-1, :-1] = 1.0
        rhs = np.concatenate([c[idx], [1.0]])
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
        wf, nu = sol[:-1], sol[-1]
        if np.any(wf < -1e-12):
            free[idx[int(np.argmin(wf))]] = False
            continue
        w = np.zeros(k)
        w[idx] = np.maximum(wf, 0.0)
        # KKT: a fixed-at-zero member must not want to enter (gradient g w - c + nu >= 0 there)
        grad = g @ w - c + nu
        out = np.flatnonzero(~free & (grad < -1e-12 * max(1.0, abs(nu))))
        if out.size == 0:
            break
        free[out[np.argmin(grad[out])]] = True
    return w / w.sum()


def pool_log_density(log_density: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """Log density of the linear pool at the outcomes: ``log sum_j w_j exp(log f_jt)`` (``(n,)``), computed stably.

    ``log_density``: ``(n, k)`` members' log predictive densities at each forecast's outcome (``-inf`` allowed).
    """
    a = np.asarray(log_density, dtype=float)
    if a.ndim != 2 or np.any(np.isnan(a)):
        raise ConfigError("log_density must be a (forecasts, members) array without NaN")
    w = _weights(weights, a.shape[1])
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    z = a + lw
    top = np.max(z, axis=1)
    out = np.full(a.shape[0], -np.inf)
    ok = np.isfinite(top)  # rows where some member gives the outcome positive density
    out[ok] = top[ok] + np.log(np.sum(np.exp(z[ok] - top[ok, None]), axis=1))
    return out


def pool_cdf(cdf: ArrayLike, weights: ArrayLike) -> np.ndarray:
    """The pool's CDF at the outcomes (its PIT): ``sum_j w_j F_j(y_t)`` for ``(n, k)`` member PIT values."""
    a = _matrix(cdf, "cdf")
    if np.any((a < 0) | (a > 1)):
        raise ConfigError("member CDF values must lie in [0, 1]")
    return np.sum(_weights(weights, a.shape[1]) * a, axis=1)


def log_score_weights(log_density: ArrayLike, *, tol: float = 1e-10, max_iter: int = 10_000) -> np.ndarray:
    """Weights of the optimal linear pool: the simplex point maximising the mean log score of the pool.

    ``log_density``: ``(n, k)`` members' log predictive densities at the outcomes.  EM fixed point from equal
    weights (each step raises the objective; stops when it gains less than ``tol`` per forecast).  A member
    with zero density everywhere gets zero weight.

    Raises
    ------
    ConfigError
        Bad shape, NaN, or a forecast where every member gives the outcome zero density.
    """
    a = np.asarray(log_density, dtype=float)
    if a.ndim != 2 or a.shape[0] < 1 or np.any(np.isnan(a)):
        raise ConfigError("log_density must be a (forecasts, members) array without NaN")
    top = a.max(axis=1)
    if not np.all(np.isfinite(top)):
        row = int(np.flatnonzero(~np.isfinite(top))[0])
        raise ConfigError(f"every member gives the outcome of forecast {row} zero density")
    dens = np.exp(a - top[:, None])  # rescaled per row: the weights do not depend on the row scale
    k = a.shape[1]
    w = equal_weights(k)
    last = -math.inf
    for _ in range(int(max_iter)):
        mix = dens @ w
        score = float(np.mean(np.log(mix)))
        w = w * np.mean(dens / mix[:, None], axis=0)
        w /= w.sum()
        if score - last < tol:
            break
        last = score
    return w
