"""Particle filter: weights in log space, resampling schemes, outside reference, snapshots."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from volresearch.errors import SimulationError
from volresearch.simulate._kernels import GJR
from volresearch.simulate._pf_kernels import inverse_cdf, inverse_cdf_numpy, reweight, reweight_numpy
from volresearch.simulate.innovations import build_ppf_table
from volresearch.simulate.particle_filter import (
    RESAMPLING_SCHEMES,
    GarchStateSpace,
    ParticleFilter,
    PriceObservation,
    StochVolStateSpace,
)


def test_reweight_matches_numpy_twin_and_never_underflows():
    rng = np.random.default_rng(0)
    log_w = np.log(rng.dirichlet(np.ones(1000)))
    loglik = rng.normal(-5000, 300, size=1000)  # exp() of these underflows in linear space
    out = np.empty(1000)
    inc, ess = reweight(log_w, loglik, out)
    ref, inc_ref, ess_ref = reweight_numpy(log_w, loglik)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-9)
    assert inc == pytest.approx(inc_ref, rel=1e-12) and ess == pytest.approx(ess_ref, rel=1e-9)
    assert math.isfinite(inc) and 1.0 <= ess <= 1000
    assert np.exp(out).sum() == pytest.approx(1.0, abs=1e-12)


def test_reweight_of_uniform_weights_and_equal_likelihoods():
    n = 500
    out = np.empty(n)
    inc, ess = reweight(np.full(n, -math.log(n)), np.full(n, -2.5), out)
    assert inc == pytest.approx(-2.5) and ess == pytest.approx(n)


def test_reweight_all_minus_inf():
    out = np.empty(4)
    inc, ess = reweight(np.full(4, -math.log(4)), np.full(4, -np.inf), out)
    assert inc == -np.inf and ess == 0.0


def test_inverse_cdf_matches_searchsorted():
    rng = np.random.default_rng(1)
    log_w = np.log(rng.dirichlet(np.full(300, 0.3)))
    pos = np.sort(rng.uniform(size=300))
    out = np.empty(300, dtype=np.int64)
    inverse_cdf(log_w, pos, out)
    np.testing.assert_array_equal(out, inverse_cdf_numpy(log_w, pos))


@pytest.mark.parametrize("scheme", sorted(RESAMPLING_SCHEMES))
def test_resampling_is_unbiased(scheme):
    n = 50
    rng = np.random.default_rng(7)
    w = rng.dirichlet(np.ones(n))
    counts = np.zeros(n)
    reps = 400
    for r in range(reps):
        pf = ParticleFilter(StochVolStateSpace(0, 0.5, 1, n, seed=0), resampling=scheme, seed=r)
        pf.log_w = np.log(w)
        counts += np.bincount(pf.ancestors(RESAMPLING_SCHEMES[scheme](n, pf.rng)), minlength=n)
    expected = reps * n * w
    # offspring counts are unbiased: E[N_i] = N w_i (chi-square on the big cells)
    big = expected > 20
    chi2 = np.sum((counts[big] - expected[big]) ** 2 / expected[big])
    # systematic/stratified have lower variance than multinomial, so this bound is conservative
    assert stats.chi2.sf(chi2, big.sum() - 1) > 1e-3


def test_systematic_resampling_keeps_counts_within_one():
    n = 1000
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(n))
    pf = ParticleFilter(StochVolStateSpace(0, 0.5, 1, n, seed=0), seed=5)
    pf.log_w = np.log(w)
    idx = pf.ancestors(RESAMPLING_SCHEMES["systematic"](n, pf.rng))
    counts = np.bincount(idx, minlength=n)
    assert np.all(np.abs(counts - n * w) < 1.0 + 1e-9)


def test_loglik_agrees_with_particles_library_bootstrap_filter():
    particles = pytest.importorskip("particles")
    from particles import state_space_models as ssm

    sv = ssm.StochVol()
    np.random.seed(12)
    _, y = sv.simulate(150)
    y = np.asarray(y, dtype=float).ravel()
    ref = []
    for s in range(12):
        np.random.seed(100 + s)
        smc = particles.SMC(fk=ssm.Bootstrap(ssm=sv, data=y), N=1000, resampling="systematic", ESSrmin=0.5)
        smc.run()
        ref.append(smc.logLt)
    ours = []
    for s in range(12):
        pf = ParticleFilter(StochVolStateSpace(sv.mu, sv.rho, sv.sigma, 1000, seed=s), seed=500 + s)
        pf.update(y[0])
        for yt in y[1:]:
            pf.step(yt)
        ours.append(pf.loglik)
    se = math.sqrt(np.var(ref, ddof=1) / len(ref) + np.var(ours, ddof=1) / len(ours))
    assert abs(np.mean(ours) - np.mean(ref)) < 4 * se + 1e-3


def _garch_model(n=2000, seed=3, rv_weight=None):
    table = build_ppf_table(stats.t(df=5, scale=math.sqrt(3 / 5)).ppf, name="t5")
    return GarchStateSpace(GJR, 0.0, 2e-9, 0.05, 0.05, 0.9, table, math.log(100.0), 4e-8, n, seed=seed, rv_weight=rv_weight)


def test_garch_particles_diverge_with_their_own_shocks():
    pf = ParticleFilter(_garch_model(), seed=1)
    pf.predict(30)
    # each particle follows its own shocks: prices and variances spread out
    assert np.std(pf.model.x) > 0 and np.unique(pf.model.sigma2).size > 1000


def test_garch_filter_tracks_observed_prices_and_resamples():
    rng = np.random.default_rng(2)
    closes = 100 * np.exp(np.cumsum(2e-4 * rng.standard_normal(300)))
    pf = ParticleFilter(_garch_model(rv_weight=1.0), seed=4)
    ess = []
    for c in closes:
        res = pf.step(PriceObservation(c, s_obs=1e-4, range_variance=4e-8))
        ess.append(res.ess)
    est = math.exp(pf.weighted_mean(pf.model.x))
    assert est == pytest.approx(closes[-1], rel=5e-4)
    assert pf.n_resamples > 0 and min(ess) < 1000 and math.isfinite(pf.loglik)


def test_snapshot_restores_bit_for_bit(tmp_path):
    from volresearch.data.store import Store

    rng = np.random.default_rng(9)
    closes = 100 * np.exp(np.cumsum(2e-4 * rng.standard_normal(60)))
    a = ParticleFilter(_garch_model(), resampling="stratified", seed=11)
    for c in closes[:30]:
        a.step(PriceObservation(c, 1e-4))
    arrays, meta = a.snapshot()
    store = Store(f"sqlite:///{tmp_path / 'pf.db'}")
    store.write_snapshot("TEST", "2024-01-02T10:00:00Z", "gjr-t5", arrays, meta)
    arrays2, meta2 = store.read_snapshot("TEST")
    b = ParticleFilter(_garch_model(seed=999), seed=0)
    b.restore(arrays2, meta2)
    for c in closes[30:]:
        ra = a.step(PriceObservation(c, 1e-4))
        rb = b.step(PriceObservation(c, 1e-4))
        assert ra == rb
    np.testing.assert_array_equal(a.model.x, b.model.x)
    np.testing.assert_array_equal(a.model.sigma2, b.model.sigma2)
    np.testing.assert_array_equal(a.log_w, b.log_w)
    assert a.loglik == b.loglik


def test_extreme_observation_collapses_weights_without_underflow():
    pf = ParticleFilter(_garch_model(n=200), seed=0)
    pf.predict(5)
    res = pf.update(PriceObservation(1e9, s_obs=1e-12))
    # every likelihood is exp(-1e26) in linear space; log space keeps the best particle
    assert math.isfinite(res.loglik_increment) and res.ess == pytest.approx(1.0)
    assert res.resampled and np.allclose(pf.model.x, pf.model.x[0])


def test_undefined_observation_raises():
    pf = ParticleFilter(_garch_model(n=200), seed=0)
    with pytest.raises(SimulationError, match="zero likelihood"):
        pf.update(PriceObservation(float("nan"), s_obs=1e-4))


def test_bad_options():
    with pytest.raises(SimulationError, match="resampling"):
        ParticleFilter(StochVolStateSpace(0, 0.5, 1, 10), resampling="residual")  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="ess_threshold"):
        ParticleFilter(StochVolStateSpace(0, 0.5, 1, 10), ess_threshold=2)
