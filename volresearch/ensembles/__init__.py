"""Ensembles of forecasters: combining members' predictive distributions (the linear pool) and choosing weights.

:mod:`volresearch.ensembles.combine` holds the pure pieces: the pool's moments (law of total variance),
its CDF and log density at the outcomes, and the weight rules (equal, inverse loss, constrained
variance regression, the optimal log-score pool).
"""

from volresearch.ensembles.combine import (
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    mixture_moments,
    pool_cdf,
    pool_log_density,
    variance_regression_weights,
)

__all__ = [
    "effective_members",
    "equal_weights",
    "inverse_loss_weights",
    "log_score_weights",
    "mixture_moments",
    "pool_cdf",
    "pool_log_density",
    "variance_regression_weights",
]
