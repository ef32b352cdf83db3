r"""Adaptive stacking: ensemble weights as a softmax of meta-features, trained on the pool's log score.

At each forecast the weights are :math:`w = \operatorname{softmax}(a)`, :math:`a = B z + b`, with ``z``
the standardised meta-features of the history so far (:mod:`volresearch.ensembles.features`), ``B``
``(k, d)`` and ``b`` ``(k,)``.  The gate :math:`(B, b)` minimises, over forecasts ``t`` with members'
log predictive densities :math:`\ell_{tj} = \log f_j(y_t)`,

.. math:: J = -\frac1n \sum_t \log \sum_j w_{tj} e^{\ell_{tj}}
              - \lambda_H \frac1n \sum_t H(w_t)
              + \lambda_C \frac1n \sum_t w_t^\top C w_t
              + \frac{\lambda_2}{2} \lVert B \rVert^2,

* the first term is the pool's mean negative log score (the proper scoring rule the weights serve);
* :math:`H(w) = -\sum_j w_j \log w_j` is the weights' entropy: its reward keeps the pool from collapsing
  onto one member;
* :math:`C` is the correlation matrix of the members' log scores over the training window: the penalty
  :math:`w^\top C w` (the "variance" of the weights in units of member correlation) is smallest when the
  weight is spread over members that score differently, and treats near-copies as one bet;
* the ridge term keeps ``B`` finite when a feature separates the members perfectly.

Gradients are analytic (with :math:`p_{tj} = w_{tj} f_{tj} / \sum_i w_{ti} f_{ti}`, the logits' gradient is
:math:`p - w` for the log score, :math:`-w_j(\log w_j + H)` for the entropy and
:math:`w_j (g_j - w^\top g)` with :math:`g = 2 C w` for the correlation term); the batch fit is
``scipy.optimize.minimize`` (L-BFGS-B).  A gate of ``k (d + 1)`` parameters needs nothing heavier: a neural
network or a PyTorch install would add weight without a model class that the data (a few thousand daily
forecasts) could support.

Online learning (:meth:`Gate.update`, :func:`prequential_weights`): after each outcome the gate takes one
gradient step of size ``learning_rate`` on that forecast's objective, so the weights of forecast ``t`` use
outcomes before ``t`` only.

Circuit breaker: features that are non-finite or beyond :data:`~volresearch.ensembles.features.Z_LIMIT`
training standard deviations give equal weights instead (logged at WARNING and counted).

Diagnostics: the effective number of bets :math:`1 / \sum_j w_j^2`
(:func:`~volresearch.ensembles.combine.effective_members`); attribution of each weight's move from the
baseline (``z = 0``, the training window's average state) to the features by integrated gradients
(:meth:`Gate.attribution`: the contributions of the features add up to the move).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from volresearch.ensembles.features import Z_LIMIT, out_of_range
from volresearch.errors import ConfigError, FitError

__all__ = [
    "ENTROPY_PENALTY",
    "CORRELATION_PENALTY",
    "RIDGE_PENALTY",
    "Gate",
    "fit_gate",
    "gate_objective",
    "prequential_weights",
]

log = logging.getLogger(__name__)

#: Default weight of the entropy reward (nats of entropy per nat of log score).
ENTROPY_PENALTY = 0.05
#: Default weight of the correlation penalty.
CORRELATION_PENALTY = 0.01
#: Default ridge on the feature loadings ``B``.
RIDGE_PENALTY = 1e-3


def _check(z: ArrayLike, logf: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    zz = np.asarray(z, dtype=float)
    lf = np.asarray(logf, dtype=float)
    if zz.ndim != 2 or lf.ndim != 2 or zz.shape[0] != lf.shape[0]:
        raise ConfigError(f"features (n, d) and log densities (n, k) must share n, got {zz.shape} and {lf.shape}")
    if lf.shape[1] < 2:
        raise ConfigError("a gate needs at least two members")
    if not (np.all(np.isfinite(zz)) and np.all(np.isfinite(lf))):
        raise ConfigError("gate training needs finite features and log densities (drop warm-up rows first)")
    return zz, lf


def _unpack(theta: np.ndarray, k: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    return theta[: k * d].reshape(k, d), theta[k * d :]


def gate_objective(
    theta: np.ndarray,
    z: np.ndarray,
    logf: np.ndarray,
    corr: np.ndarray,
    entropy: float,
    correlation: float,
    ridge: float,
) -> tuple[float, np.ndarray]:
    """The objective ``J`` (module docstring) and its gradient in ``theta = (B.ravel(), b)``."""
    n, d = z.shape
    k = logf.shape[1]
    B, b = _unpack(theta, k, d)
    a = z @ B.T + b
    logw = a - logsumexp(a, axis=1, keepdims=True)
    w = np.exp(logw)
    lp = logw + logf
    ls = logsumexp(lp, axis=1)
    p = np.exp(lp - ls[:, None])
    h = -np.sum(w * logw, axis=1)
    g = 2.0 * w @ corr
    quad = 0.5 * np.sum(w * g, axis=1)
    value = -ls.mean() - entropy * h.mean() + correlation * quad.mean() + 0.5 * ridge * float(np.sum(B * B))
    grad_a = -(p - w) + entropy * w * (logw + h[:, None]) + correlation * w * (g - np.sum(w * g, axis=1)[:, None])
    grad_a /= n
    gB = grad_a.T @ z + ridge * B
    gb = grad_a.sum(axis=0)
    return float(value), np.concatenate([gB.ravel(), gb])


@dataclass(frozen=True)
class Gate:
    """A fitted gate: ``w = softmax(B z + b)`` with its penalties, correlation matrix and breaker limit.

    Attributes
    ----------
    loadings, intercepts
        ``B`` ``(k, d)`` and ``b`` ``(k,)`` (logits per standardised feature, dimensionless).
    corr
        Members' log-score correlation over the training window ``(k, k)``.
    entropy, correlation, ridge
        Penalty weights of the objective.
    limit
        Circuit-breaker limit in training standard deviations.
    info
        Training diagnostics (``n``, mean log score, objective, optimiser message).
    """

    loadings: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]
    corr: tuple[tuple[float, ...], ...]
    entropy: float = ENTROPY_PENALTY
    correlation: float = CORRELATION_PENALTY
    ridge: float = RIDGE_PENALTY
    limit: float = Z_LIMIT
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def B(self) -> np.ndarray:
        return np.asarray(self.loadings, dtype=float)

    @property
    def b(self) -> np.ndarray:
        return np.asarray(self.intercepts, dtype=float)

    @property
    def n_members(self) -> int:
        return len(self.intercepts)

    def weights(self, z: ArrayLike, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Weights for each row of standardised features ``z`` and whether the circuit breaker fired there.

        Rows that trip the breaker (:func:`~volresearch.ensembles.features.out_of_range`) get equal weights; the
        firings of a call are logged at WARNING (``warn=False``: the caller counts and reports them).
        """
        zz = np.atleast_2d(np.asarray(z, dtype=float))
        fired = out_of_range(zz, self.limit)
        w = np.full((zz.shape[0], self.n_members), 1.0 / self.n_members)
        ok = ~fired
        if ok.any():
            w[ok] = softmax(zz[ok] @ self.B.T + self.b, axis=1)
        if fired.any() and warn:
            log.warning(
                "ensemble circuit breaker: %d of %d forecasts had features out of range (|z| > %.1f or not finite); "
                "equal weights used there", int(fired.sum()), zz.shape[0], self.limit,
            )  # fmt: skip
        return w, fired

    def update(self, z: ArrayLike, logf: ArrayLike, learning_rate: float) -> Gate:
        """The gate after one gradient step on the objective of one forecast (features ``z``, log densities).

        A forecast that trips the circuit breaker leaves the gate unchanged.
        """
        zz = np.atleast_2d(np.asarray(z, dtype=float))
        lf = np.atleast_2d(np.asarray(logf, dtype=float))
        if out_of_range(zz, self.limit).any() or not np.all(np.isfinite(lf)):
            return self
        theta = np.concatenate([self.B.ravel(), self.b])
        _, grad = gate_objective(theta, zz, lf, np.asarray(self.corr), self.entropy, self.correlation, self.ridge)
        B, b = _unpack(theta - learning_rate * grad, self.n_members, zz.shape[1])
        return replace(self, loadings=_tuples(B), intercepts=tuple(float(v) for v in b))

    def attribution(self, z: ArrayLike, steps: int = 64) -> np.ndarray:
        r"""Integrated gradients of the weights from ``z = 0`` to ``z``: shape ``(k, d)``.

        Entry ``[j, i]`` is the part of :math:`w_j(z) - w_j(0)` due to feature ``i``; the rows add up to the
        weight moves (midpoint rule over ``steps`` points, error :math:`O(\text{steps}^{-2})`).
        """
        zz = np.asarray(z, dtype=float).ravel()
        alphas = (np.arange(steps) + 0.5) / steps
        B = self.B
        total = np.zeros_like(B)
        for a in alphas:
            w = softmax(B @ (a * zz) + self.b)
            total += w[:, None] * (B - w @ B)  # d w_j / d z_i
        return total / steps * zz[None, :]

    def to_dict(self) -> dict[str, Any]:
        return {
            "loadings": [list(r) for r in self.loadings],
            "intercepts": list(self.intercepts),
            "corr": [list(r) for r in self.corr],
            "entropy": self.entropy,
            "correlation": self.correlation,
            "ridge": self.ridge,
            "limit": self.limit,
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gate:
        return cls(
            loadings=_tuples(np.asarray(d["loadings"], dtype=float)),
            intercepts=tuple(float(v) for v in d["intercepts"]),
            corr=_tuples(np.asarray(d["corr"], dtype=float)),
            entropy=float(d["entropy"]),
            correlation=float(d["correlation"]),
            ridge=float(d["ridge"]),
            limit=float(d["limit"]),
            info=dict(d.get("info", {})),
        )


def _tuples(a: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(a))


def _log_score_corr(logf: np.ndarray) -> np.ndarray:
    c = np.corrcoef(logf, rowvar=False)
    c = np.where(np.isfinite(c), c, 0.0)
    np.fill_diagonal(c, 1.0)
    return c


def fit_gate(
    z: ArrayLike,
    logf: ArrayLike,
    *,
    entropy: float = ENTROPY_PENALTY,
    correlation: float = CORRELATION_PENALTY,
    ridge: float = RIDGE_PENALTY,
    limit: float = Z_LIMIT,
) -> Gate:
    """Fit the gate on standardised features ``z`` ``(n, d)`` and members' log densities ``logf`` ``(n, k)``.

    Starts from the optimal static log-score pool (``B = 0``, ``b = log w``).

    Raises
    ------
    ConfigError
        Shapes, non-finite inputs or negative penalties.
    FitError
        The optimiser fails to produce a finite objective.
    """
    from volresearch.ensembles.combine import log_score_weights

    zz, lf = _check(z, logf)
    if min(entropy, correlation, ridge) < 0:
        raise ConfigError("gate penalties must be non-negative")
    n, d = zz.shape
    k = lf.shape[1]
    corr = _log_score_corr(lf)
    w0 = np.maximum(log_score_weights(lf), 1e-6)
    theta0 = np.concatenate([np.zeros(k * d), np.log(w0 / w0.sum())])
    res = minimize(gate_objective, theta0, args=(zz, lf, corr, entropy, correlation, ridge), jac=True,
                   method="L-BFGS-B", options={"maxiter": 2000})  # fmt: skip
    if not np.isfinite(res.fun):
        raise FitError(f"the ensemble gate did not converge: {res.message}", reason="gate")
    B, b = _unpack(res.x, k, d)
    b = b - b.mean()  # softmax is unchanged by a common shift of the logits
    w = softmax(zz @ B.T + b, axis=1)
    info = {"n": int(n), "objective": float(res.fun), "converged": bool(res.success), "message": str(res.message),
            "mean_log_score": float(np.mean(logsumexp(np.log(w) + lf, axis=1))),
            "min_effective_members": float(np.min(1.0 / np.sum(w * w, axis=1)))}  # fmt: skip
    return Gate(loadings=_tuples(B), intercepts=tuple(float(v) for v in b), corr=_tuples(corr), entropy=entropy,
                correlation=correlation, ridge=ridge, limit=limit, info=info)  # fmt: skip


def prequential_weights(
    gate: Gate, z: ArrayLike, logf: ArrayLike, *, learning_rate: float = 0.05
) -> tuple[np.ndarray, np.ndarray, Gate]:
    """Weights of each forecast from the gate as it stood before that outcome, updating it online after each.

    Returns the weights ``(n, k)``, the circuit-breaker flags ``(n,)`` and the final gate.  Forecast ``t``'s
    weights use the training data and outcomes ``0 .. t-1`` only.
    """
    zz = np.atleast_2d(np.asarray(z, dtype=float))
    lf = np.atleast_2d(np.asarray(logf, dtype=float))
    if zz.shape[0] != lf.shape[0] or lf.shape[1] != gate.n_members:
        raise ConfigError(
            f"features {zz.shape} and log densities {lf.shape} do not match a {gate.n_members}-member gate"
        )
    if not (math.isfinite(learning_rate) and learning_rate >= 0):
        raise ConfigError(f"learning_rate must be a non-negative number, got {learning_rate}")
    w = np.empty((zz.shape[0], gate.n_members))
    fired = np.zeros(zz.shape[0], dtype=bool)
    g = gate
    for t in range(zz.shape[0]):
        wt, ft = g.weights(zz[t], warn=False)
        w[t], fired[t] = wt[0], ft[0]
        g = g.update(zz[t], lf[t], learning_rate)
    if fired.any():
        log.warning("ensemble circuit breaker: %d of %d forecasts had features out of range; equal weights used there",
                    int(fired.sum()), fired.size)  # fmt: skip
    return w, fired, g
