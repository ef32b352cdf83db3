"""The linear pool and its weights, against hand computations, simulation and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize, stats

from volresearch.ensembles import (
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    mixture_moments,
    pool_cdf,
    pool_log_density,
    variance_regression_weights,
)
from volresearch.errors import ConfigError


def test_mixture_variance_by_hand_and_by_simulation():
    # two members: N(0, 1) and N(2, 4), weights 1/4 and 3/4
    # mean = 0.25*0 + 0.75*2 = 1.5; within = 0.25*1 + 0.75*4 = 3.25; between = 0.25*2.25 + 0.75*0.25 = 0.75
    mean, var = mixture_moments([0.0, 2.0], [1.0, 4.0], [0.25, 0.75])
    assert mean[0] == pytest.approx(1.5) and var[0] == pytest.approx(4.0)
    rng = np.random.default_rng(0)
    n = 2_000_000
    pick = rng.random(n) < 0.25
    x = np.where(pick, rng.normal(0.0, 1.0, n), rng.normal(2.0, 2.0, n))
    assert x.var() == pytest.approx(4.0, rel=4 * np.sqrt(2 / n) * 3)
    # averaging only the members' variances (no between term) understates it
    assert 0.25 * 1 + 0.75 * 4 < var[0]
    # per-forecast weights broadcast row by row
    m2, v2 = mixture_moments([[0.0, 2.0], [1.0, 1.0]], [[1.0, 4.0], [1.0, 1.0]], [[0.25, 0.75], [0.5, 0.5]])
    np.testing.assert_allclose(m2, [1.5, 1.0])
    np.testing.assert_allclose(v2, [4.0, 1.0])


def test_inverse_loss_weights_match_a_direct_computation():
    losses = np.array([[1.0, 2.0, 4.0], [3.0, 2.0, 4.0], [2.0, 2.0, 4.0]])
    w = inverse_loss_weights(losses)
    inv = np.array([1 / 2.0, 1 / 2.0, 1 / 4.0])
    np.testing.assert_allclose(w, inv / inv.sum())
    w2 = inverse_loss_weights(losses, window=1)  # only the last row
    np.testing.assert_allclose(w2, np.array([0.5, 0.5, 0.25]) / 1.25)
    with pytest.raises(ConfigError, match="positive mean losses"):
        inverse_loss_weights([[0.0, 1.0]])
    with pytest.raises(ConfigError, match="row 1, member 0"):
        inverse_loss_weights([[1.0, 1.0], [np.nan, 1.0]])


def _regression_objective(w, f, r, ridge):
    k = f.shape[1]
    return np.mean((f @ w - r) ** 2) + ridge * np.mean(f * f) * np.sum((w - 1.0 / k) ** 2)


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_variance_regression_weights_minimise_the_constrained_objective(ridge):
    """Against scipy's SLSQP from many starts on the same objective and constraints."""
    rng = np.random.default_rng(3)
    n = 400
    truth = rng.gamma(2.0, 1e-4, n)
    f = np.column_stack([truth * rng.lognormal(0, 0.3, n), 1.5 * truth, np.full(n, truth.mean()),
                         truth * rng.lognormal(0, 1.0, n)])  # fmt: skip
    r = truth * rng.chisquare(1, n)
    w = variance_regression_weights(f, r, ridge=ridge)
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    best = np.inf
    for start in np.vstack([np.eye(4), np.full((1, 4), 0.25)]):
        res = optimize.minimize(_regression_objective, start, args=(f, r, ridge), method="SLSQP",
                                bounds=[(0, 1)] * 4, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                                options={"ftol": 1e-16, "maxiter": 500})  # fmt: skip
        best = min(best, res.fun)
    assert _regression_objective(w, f, r, ridge) <= best * (1 + 1e-9)


def test_variance_regression_recovers_a_known_combination_and_ridge_shrinks_to_equal():
    rng = np.random.default_rng(1)
    f = rng.gamma(2.0, 1.0, size=(2000, 3))
    r = f @ np.array([0.6, 0.4, 0.0])  # noiseless: the regression must find these weights
    np.testing.assert_allclose(variance_regression_weights(f, r), [0.6, 0.4, 0.0], atol=1e-9)
    np.testing.assert_allclose(variance_regression_weights(f, r, ridge=1e6), equal_weights(3), atol=1e-4)


def _brute_force_pool(logd: np.ndarray, step: float) -> tuple[np.ndarray, float]:
    k = logd.shape[1]
    dens = np.exp(logd)
    grid = np.arange(0.0, 1.0 + step / 2, step)
    best_w, best = None, -np.inf
    for head in itertools.product(grid, repeat=k - 1):
        if sum(head) > 1.0 + 1e-12:
            continue
        w = np.array([*head, 1.0 - sum(head)])
        score = np.mean(np.log(dens @ w))
        if score > best:
            best_w, best = w, score
    return best_w, best


@pytest.mark.parametrize("k", [2, 3])
def test_log_score_pool_weights_beat_a_brute_force_grid(k):
    rng = np.random.default_rng(k)
    n = 3000
    y = np.where(rng.random(n) < 0.3, rng.normal(0, 2.0, n), rng.normal(0, 1.0, n))  # a scale mixture
    scales = [1.0, 2.0, 1.3][:k]
    logd = np.column_stack([stats.norm.logpdf(y, scale=s) for s in scales])
    w = log_score_weights(logd)
    ours = np.mean(pool_log_density(logd, w))
    grid_w, grid_best = _brute_force_pool(logd, 0.01)
    assert ours >= grid_best - 1e-9
    assert np.abs(w - grid_w).max() < 0.03
    if k == 2:  # the data are 30/70 of the two members: the pool recovers the mixing weight
        assert w[1] == pytest.approx(0.3, abs=0.06)


def test_pool_log_density_and_cdf():
    logd = np.log(np.array([[0.2, 0.4], [1e-300, 0.5]]))
    out = pool_log_density(logd, [0.5, 0.5])
    np.testing.assert_allclose(out, np.log([0.3, 0.25]))
    assert pool_log_density(np.array([[-np.inf, -np.inf]]), [0.5, 0.5])[0] == -np.inf
    np.testing.assert_allclose(pool_cdf([[0.1, 0.5], [0.9, 0.7]], [0.25, 0.75]), [0.4, 0.75])
    # the pool's PIT is uniform when the outcomes come from the pool
    rng = np.random.default_rng(5)
    n = 20_000
    comp = rng.random(n) < 0.4
    y = np.where(comp, rng.normal(-1, 1, n), rng.normal(1, 0.5, n))
    u = pool_cdf(np.column_stack([stats.norm.cdf(y, -1, 1), stats.norm.cdf(y, 1, 0.5)]), [0.4, 0.6])
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_effective_members_and_errors():
    assert effective_members(equal_weights(4)) == pytest.approx(4.0)
    assert effective_members([1.0, 0.0, 0.0]) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="sum to one"):
        mixture_moments([0.0, 1.0], [1.0, 1.0], [0.5, 0.6])
    with pytest.raises(ConfigError, match="zero density"):
        log_score_weights(np.array([[-np.inf, -np.inf]]))
    with pytest.raises(ConfigError, match="at least one member"):
        equal_weights(0)


def test_sharpe_weights_are_computed_on_strategy_returns():
    from volresearch.ensembles.combine import MAX_LEVERAGE, sharpe_weights, vol_target_returns

    r = np.array([0.01, -0.02, 0.015, 0.005])
    v = np.array([[1e-4, 4e-4], [1e-4, 1e-4], [4e-4, 1e-6], [1e-4, 1e-4]])
    s = vol_target_returns(r, v, target_var=1e-4)
    expected = np.array([[0.01, 0.005], [-0.02, -0.02], [0.0075, 0.015 * MAX_LEVERAGE], [0.005, 0.005]])
    np.testing.assert_allclose(s, expected)
    sr = s.mean(axis=0) / s.std(axis=0, ddof=1)
    assert np.all(sr > 0)
    np.testing.assert_allclose(sharpe_weights(s), sr / sr.sum())
    # a member with a negative Sharpe ratio gets nothing; none positive: equal weights
    np.testing.assert_allclose(sharpe_weights(np.column_stack([s[:, 0], -s[:, 1]])), [1.0, 0.0])
    np.testing.assert_allclose(sharpe_weights(-s), [0.5, 0.5])
    with pytest.raises(ConfigError, match="positive"):
        vol_target_returns(r, -v)


def test_directional_weights_count_sign_hits():
    from volresearch.ensembles.combine import directional_weights

    y = np.array([1.0, -1.0, 2.0, -0.5, 0.0])
    means = np.array([[1, 1, 0], [-1, 1, 0], [1, 1, 0], [1, 1, 0], [1, -1, 0]], dtype=float)
    # hit rates: member 0 (1+1+1+0+0.5)/5 = 0.7, member 1 (1+0+1+0+0.5)/5 = 0.5, member 2 always 0.5
    np.testing.assert_allclose(directional_weights(means, y), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(directional_weights(-means[:, :2], y), [0.5, 0.5])
