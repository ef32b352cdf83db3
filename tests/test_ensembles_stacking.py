"""Adaptive stacking: meta-features against direct computations, the gate's gradient, regime following on
synthetic data with a known switch, the entropy floor, the circuit breaker, online updates and attribution."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.stats import norm, rankdata
from scipy.stats import t as student_t

from volresearch.ensembles.combine import (
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    pool_log_density,
    variance_regression_weights,
)
from volresearch.ensembles.features import FEATURES, FeatureScaler, meta_features, out_of_range
from volresearch.ensembles.stacking import Gate, fit_gate, gate_objective, prequential_weights
from volresearch.errors import ConfigError
from volresearch.models.realized import bipower_variation
from volresearch.models.robust import ewma_variance

#: Floor on the mean effective number of bets of the default gate on the regime-switching example.
EFFECTIVE_BETS_FLOOR = 1.5


def test_meta_features_match_a_direct_computation_and_never_look_ahead():
    rng = np.random.default_rng(0)
    r = 0.01 * rng.standard_t(4, 400)
    f = meta_features(r, window=20, regime_window=100)
    assert f.shape == (400, len(FEATURES)) and np.all(np.isnan(f[:99])) and np.all(np.isfinite(f[99:]))
    s2 = ewma_variance(r)
    for t in (99, 150, 399):
        w = r[t - 19 : t + 1]
        d = np.diff(np.log(s2[t - 20 : t + 1]))
        rv = float(np.sum(w * w))
        expected = [
            0.5 * math.log(s2[t]),
            float(np.std(d, ddof=1)),
            float(w.sum() / math.sqrt(20 * s2[t])),
            max(0.0, 1.0 - bipower_variation(w) / rv),
            (rankdata(s2[t - 99 : t + 1])[-1] - 1) / 99,
        ]
        np.testing.assert_allclose(f[t], expected, rtol=1e-9, atol=1e-12)
    # row t depends on returns up to t only
    r2 = r.copy()
    r2[300:] *= 5.0
    g = meta_features(r2, window=20, regime_window=100)
    np.testing.assert_array_equal(f[:300], g[:300])
    assert not np.allclose(f[300:], g[300:])
    with pytest.raises(ConfigError, match="return 5"):
        meta_features(np.where(np.arange(400) == 5, np.nan, r))


def test_gate_gradient_is_the_objective_s_derivative():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((50, 3))
    logf = rng.normal(2.0, 0.7, (50, 4))
    corr = np.corrcoef(logf, rowvar=False)
    theta = rng.standard_normal(4 * 3 + 4) * 0.3
    for pen in [(0.0, 0.0, 0.0), (0.05, 0.01, 1e-3), (0.3, 0.2, 0.1)]:
        err = check_grad(lambda x, p=pen: gate_objective(x, z, logf, corr, *p)[0],
                         lambda x, p=pen: gate_objective(x, z, logf, corr, *p)[1], theta)  # fmt: skip
        assert err < 1e-6 * max(1.0, np.linalg.norm(gate_objective(theta, z, logf, corr, *pen)[1]))


def test_without_features_or_penalties_the_gate_is_the_optimal_static_pool():
    rng = np.random.default_rng(2)
    y = rng.standard_t(5, 3000)
    logf = np.column_stack([norm.logpdf(y), norm.logpdf(y, 0, 2.0), student_t.logpdf(y, 3)])
    gate = fit_gate(np.zeros((3000, 1)), logf, entropy=0.0, correlation=0.0, ridge=0.0)
    w, fired = gate.weights(np.zeros((1, 1)))
    np.testing.assert_allclose(w[0], log_score_weights(logf), atol=2e-4)
    assert not fired.any()


@pytest.fixture(scope="module")
def regimes():
    """Two volatility regimes (Markov, 1% switching) and three members: one right in each regime, one between."""
    rng = np.random.default_rng(1)
    n = 6000
    s = np.zeros(n, dtype=int)
    for i in range(1, n):
        s[i] = s[i - 1] if rng.random() < 0.99 else 1 - s[i - 1]
    sd = np.where(s == 0, 0.01, 0.025)
    r = sd * rng.standard_normal(n)
    f = meta_features(r)
    x = np.vstack([np.full((1, f.shape[1]), np.nan), f[:-1]])  # features known before each return
    logf = np.column_stack([norm.logpdf(r, 0, 0.01), norm.logpdf(r, 0, 0.025),
                            student_t.logpdf(r / 0.017, 4) - math.log(0.017)])  # fmt: skip
    var = np.column_stack([np.full(n, 0.01**2), np.full(n, 0.025**2), np.full(n, 0.017**2 * 2.0)])
    ok = np.all(np.isfinite(x), axis=1)
    idx = np.flatnonzero(ok)
    train, test = idx[idx < 3000], idx[idx >= 3000]
    scaler = FeatureScaler.fit(x[train])
    return {"r": r, "s": s, "z": scaler.transform(x), "logf": logf, "var": var, "train": train, "test": test}


def test_adaptive_weights_follow_the_regime_and_beat_every_static_scheme_out_of_sample(regimes):
    z, logf, tr, te, s = regimes["z"], regimes["logf"], regimes["train"], regimes["test"], regimes["s"]
    gate = fit_gate(z[tr], logf[tr])
    w, fired, _ = prequential_weights(gate, z[te], logf[te])
    assert not fired.any()
    calm = s[te] == 0
    assert w[calm, 0].mean() > 0.7 and w[~calm, 0].mean() < 0.25  # weight on the calm member follows the regime
    assert w[~calm, 1].mean() > 0.5 and w[calm, 1].mean() < 0.1
    adaptive = pool_log_density(logf[te], w).mean()
    r2 = regimes["r"][tr] ** 2
    qlike = regimes["var"][tr] / r2[:, None] - np.log(regimes["var"][tr] / r2[:, None]) - 1.0
    static = {
        "equal": equal_weights(3),
        "log-score": log_score_weights(logf[tr]),
        "inverse-qlike": inverse_loss_weights(qlike),
        "variance-regression": variance_regression_weights(regimes["var"][tr], r2),
    }
    for name, ws in static.items():
        score = pool_log_density(logf[te], ws).mean()
        assert adaptive > score + 0.05, name  # nats per forecast
    for j in range(3):
        assert adaptive > logf[te, j].mean() + 0.05


def test_the_entropy_term_keeps_the_effective_bets_above_the_floor(regimes):
    z, logf, tr, te = regimes["z"], regimes["logf"], regimes["train"], regimes["test"]
    eff = {}
    for h in (0.0, 0.05):
        w, _, _ = prequential_weights(fit_gate(z[tr], logf[tr], entropy=h), z[te], logf[te])
        eff[h] = np.mean(1.0 / np.sum(w * w, axis=1))
    assert eff[0.05] >= EFFECTIVE_BETS_FLOOR > eff[0.0]


def test_the_circuit_breaker_fires_on_extreme_or_missing_features(regimes, caplog):
    gate = fit_gate(regimes["z"][regimes["train"]], regimes["logf"][regimes["train"]])
    crafted = np.array([[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 40.0, 0.0, 0.0, 0.0], [np.nan, 0, 0, 0, 0]])
    with caplog.at_level(logging.WARNING, logger="volresearch.ensembles.stacking"):
        w, fired = gate.weights(crafted)
    assert fired.tolist() == [False, True, True]
    np.testing.assert_allclose(w[1:], 1 / 3)
    assert not np.allclose(w[0], 1 / 3)
    assert "circuit breaker: 2 of 3" in caplog.text
    # an out-of-range forecast does not train the gate either
    assert gate.update(crafted[1], regimes["logf"][0], 0.1) is gate
    np.testing.assert_array_equal(out_of_range(np.array([[6.0], [6.01]])), [False, True])


def test_online_updates_use_only_past_outcomes_and_descend(regimes):
    z, logf, tr, te = regimes["z"], regimes["logf"], regimes["train"], regimes["test"][:200]
    gate = fit_gate(z[tr], logf[tr])
    w, _, g = prequential_weights(gate, z[te], logf[te])
    bumped = logf[te].copy()
    bumped[100] += [5.0, -5.0, 0.0]
    w2, _, _ = prequential_weights(gate, z[te], bumped)
    np.testing.assert_array_equal(w[:101], w2[:101])  # forecast 100's weights do not see outcome 100
    assert not np.allclose(w[101:], w2[101:])
    theta = np.concatenate([gate.B.ravel(), gate.b])
    corr = np.asarray(gate.corr)
    before = gate_objective(theta, z[te[:1]], logf[te[:1]], corr, gate.entropy, gate.correlation, gate.ridge)[0]
    step = gate.update(z[te[0]], logf[te[0]], 1e-3)
    after = gate_objective(np.concatenate([step.B.ravel(), step.b]), z[te[:1]], logf[te[:1]], corr, gate.entropy,
                           gate.correlation, gate.ridge)[0]  # fmt: skip
    assert after < before
    assert g != gate


def test_attribution_adds_up_to_the_weight_moves():
    gate = Gate(loadings=((1.5, 0.0, -0.5), (-1.0, 0.0, 0.8), (0.0, 0.0, 0.0)), intercepts=(0.2, -0.1, -0.1),
                corr=((1, 0, 0), (0, 1, 0), (0, 0, 1)))  # fmt: skip
    z = np.array([1.2, -3.0, 0.7])
    a = gate.attribution(z, steps=256)
    move = gate.weights(z)[0][0] - gate.weights(np.zeros(3))[0][0]
    np.testing.assert_allclose(a.sum(axis=1), move, atol=1e-5)
    np.testing.assert_array_equal(a[:, 1], 0.0)  # a feature with no loading moves nothing
    np.testing.assert_allclose(a.sum(axis=0), 0.0, atol=1e-12)  # weights stay on the simplex
    back = Gate.from_dict(json.loads(json.dumps(gate.to_dict())))
    assert back == gate
    assert effective_members(gate.weights(np.zeros(3))[0][0]) > 2.5


def test_bad_gate_inputs_are_named():
    with pytest.raises(ConfigError, match="share n"):
        fit_gate(np.zeros((10, 2)), np.zeros((11, 3)))
    with pytest.raises(ConfigError, match="finite"):
        fit_gate(np.full((10, 2), np.nan), np.zeros((10, 3)))
    with pytest.raises(ConfigError, match="two members"):
        fit_gate(np.zeros((10, 2)), np.zeros((10, 1)))
