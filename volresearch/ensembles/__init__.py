"""Ensembles of forecasters: combining members' predictive distributions (the linear pool) and choosing weights.

:mod:`volresearch.ensembles.combine` holds the pure pieces: the pool's moments (law of total variance),
its CDF and log density at the outcomes, and the weight rules (equal, inverse loss, constrained
variance regression, the optimal log-score pool, Sharpe ratios of a volatility-targeting strategy,
directional hit rates); :mod:`~volresearch.ensembles.features` and :mod:`~volresearch.ensembles.stacking` the
adaptive gate (weights from meta-features of the history, trained on the pool's log score);
:mod:`~volresearch.ensembles.model` the ensemble as a registered model.
"""

from volresearch.ensembles.combine import (
    directional_weights,
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    mixture_moments,
    pool_cdf,
    pool_log_density,
    sharpe_weights,
    variance_regression_weights,
    vol_target_returns,
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
    "directional_weights",
    "sharpe_weights",
    "vol_target_returns",
]
