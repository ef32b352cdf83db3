"""Particle filter: weights in log space, resampling schemes, exact Kalman reference, transactions, snapshots."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from volresearch.errors import SimulationError
from volresearch.simulate._kernels import GJR
from volresearch.simulate._pf_kernels import (
    inverse_cdf,
    inverse_cdf_numpy,
    reweight,
    reweight_numpy,
    systematic_ancestors,
)
from volresearch.simulate.innovations import build_ppf_table
from volresearch.simulate.particle_filter import (
    LOG_PARKINSON_MEAN,
    LOG_PARKINSON_SD,
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


class _LinearGaussian:
    """``X_t = rho X_{t-1} + sigma U_t``, ``Y_t = X_t + tau V_t``, ``X_0 ~ N(0, sigma^2 / (1 - rho^2))``."""

    def __init__(self, rho: float, sigma: float, tau: float, n: int, seed: int) -> None:
        self.rho, self.sigma, self.tau, self.n = rho, sigma, tau, n
        self.x = sigma / math.sqrt(1 - rho**2) * np.random.default_rng(seed).standard_normal(n)

    def predict(self, n_steps, rng):
        for _ in range(n_steps):
            self.x = self.rho * self.x + self.sigma * rng.standard_normal(self.n)

    def log_likelihood(self, obs, out):
        out[:] = stats.norm.logpdf(obs, loc=self.x, scale=self.tau)

    def take(self, idx):
        self.x = self.x[idx]

    def state_arrays(self):
        return {"x": self.x}

    def load_state(self, arrays):
        self.x = np.array(arrays["x"], dtype=np.float64)


def _kalman_loglik(y: np.ndarray, rho: float, sigma: float, tau: float) -> float:
    """Exact log-likelihood of the linear-Gaussian model (Kalman filter, closed form)."""
    m, p = 0.0, sigma**2 / (1 - rho**2)
    ll = 0.0
    for t, yt in enumerate(y):
        if t:
            m, p = rho * m, rho**2 * p + sigma**2
        s = p + tau**2
        ll += stats.norm.logpdf(yt, m, math.sqrt(s))
        k = p / s
        m, p = m + k * (yt - m), (1 - k) * p
    return ll


def test_loglik_agrees_with_the_exact_kalman_likelihood():
    rho, sigma, tau, t_len = 0.9, 0.5, 0.7, 100
    rng = np.random.default_rng(12)
    x = np.empty(t_len)
    x[0] = sigma / math.sqrt(1 - rho**2) * rng.standard_normal()
    for t in range(1, t_len):
        x[t] = rho * x[t - 1] + sigma * rng.standard_normal()
    y = x + tau * rng.standard_normal(t_len)
    exact = _kalman_loglik(y, rho, sigma, tau)
    ours = []
    for s in range(20):
        pf = ParticleFilter(_LinearGaussian(rho, sigma, tau, 1000, seed=s), seed=500 + s)
        pf.update(y[0])
        for yt in y[1:]:
            pf.step(yt)
        ours.append(pf.loglik)
    ours = np.array(ours)
    # the filter's likelihood is unbiased, so its log is low by about var / 2 (log-normal to first order)
    var = np.var(ours, ddof=1)
    se = math.sqrt(var / ours.size)
    assert abs(ours.mean() + var / 2 - exact) < 4 * se + 0.02
    # and a wrong model is told apart: the same data under tau / 2 is clearly less likely
    assert _kalman_loglik(y, rho, sigma, tau / 2) < exact - 10 * se


def _garch_model(n=2000, seed=3, rv_weight=None):
    table = build_ppf_table(stats.t(df=5, scale=math.sqrt(3 / 5)).ppf, name="t5")
    return GarchStateSpace(
        GJR, 0.0, 2e-9, 0.05, 0.05, 0.9, table, math.log(100.0), 4e-8, n, seed=seed, rv_weight=rv_weight
    )


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


def _state(pf):
    arrays, meta = pf.snapshot()
    return {k: v.copy() for k, v in arrays.items()}, meta


def test_failed_step_leaves_the_filter_unchanged_and_the_next_step_as_if_it_never_came():
    a = ParticleFilter(_garch_model(n=500, rv_weight=LOG_PARKINSON_SD), seed=2)
    b = ParticleFilter(_garch_model(n=500, rv_weight=LOG_PARKINSON_SD), seed=2)
    rng = np.random.default_rng(4)
    closes = 100 * np.exp(np.cumsum(2e-4 * rng.standard_normal(20)))
    for c in closes[:10]:
        a.step(PriceObservation(c, 1e-4, 4e-8))
        b.step(PriceObservation(c, 1e-4, 4e-8))
    before = _state(a)
    # an absurd jump with a tiny noise: every log-likelihood is -inf (the squared distance overflows)
    for _ in range(2):  # a retry must not advance the particles twice
        with pytest.raises(SimulationError, match="zero likelihood"):
            a.step(PriceObservation(1e9, s_obs=1e-300), n_steps=3)
    after = _state(a)
    assert after[1] == before[1]
    for k in before[0]:
        np.testing.assert_array_equal(before[0][k], after[0][k])
    for c in closes[10:]:
        assert a.step(PriceObservation(c, 1e-4, 4e-8), n_steps=2) == b.step(PriceObservation(c, 1e-4, 4e-8), n_steps=2)
    np.testing.assert_array_equal(a.model.x, b.model.x)
    np.testing.assert_array_equal(a.log_w, b.log_w)


def test_log_parkinson_constants_match_fellers_range_density():
    from scipy import integrate

    k = np.arange(1, 300)

    def density(r):  # Feller (1951): range of a standard Brownian motion on [0, 1]
        return 8 * np.sum((-1.0) ** (k - 1) * k**2 * stats.norm.pdf(k * r))

    opts = {"limit": 400, "epsabs": 1e-13}
    assert integrate.quad(lambda r: r * r * density(r), 0.25, np.inf, **opts)[0] == pytest.approx(4 * math.log(2))
    m1 = integrate.quad(lambda r: math.log(r) * density(r), 0.25, np.inf, **opts)[0]
    m2 = integrate.quad(lambda r: math.log(r) ** 2 * density(r), 0.25, np.inf, **opts)[0]
    assert LOG_PARKINSON_MEAN == pytest.approx(2 * m1 - math.log(4 * math.log(2)), abs=1e-9)
    assert LOG_PARKINSON_SD == pytest.approx(2 * math.sqrt(m2 - m1 * m1), abs=1e-9)


def test_log_parkinson_correction_by_simulation():
    # bars as Brownian paths of known variance sigma^2 on a fine grid; the range of the discrete path is
    # continuity-corrected (Broadie-Glasserman-Kou: each extreme moves out by 0.5826 sigma sqrt(dt))
    rng = np.random.default_rng(21)
    sigma2, steps, n = 3e-7, 2000, 8000
    logs = []
    for _ in range(n // 2000):
        w = np.cumsum(rng.standard_normal((2000, steps)) * math.sqrt(sigma2 / steps), axis=1)
        w = np.concatenate([np.zeros((2000, 1)), w], axis=1)
        rng_ = w.max(axis=1) - w.min(axis=1) + 2 * 0.5826 * math.sqrt(sigma2 / steps)
        logs.append(np.log(rng_**2 / (4 * math.log(2))))
    lp = np.concatenate(logs) - math.log(sigma2)
    assert lp.mean() == pytest.approx(LOG_PARKINSON_MEAN, abs=4 * LOG_PARKINSON_SD / math.sqrt(n) + 0.005)
    assert lp.std() == pytest.approx(LOG_PARKINSON_SD, rel=0.05)
    # without the correction the log range variance would be read as unbiased: it is not
    assert abs(lp.mean()) > 0.1


def test_realised_variance_term_uses_the_variance_that_drove_the_bar_with_the_log_range_mean():
    model = _garch_model(n=400, rv_weight=LOG_PARKINSON_SD)
    pf = ParticleFilter(model, seed=1)
    pf.predict(3)
    prev, nxt = model.sigma2_prev.copy(), model.sigma2.copy()
    assert not np.allclose(prev, nxt)
    rv = 4e-8
    with_rv, without = np.empty(400), np.empty(400)
    model.log_likelihood(PriceObservation(100.0, 1e-2, rv), with_rv)
    model.log_likelihood(PriceObservation(100.0, 1e-2), without)
    term = with_rv - without
    expected = stats.norm.logpdf(math.log(rv), np.log(prev) + LOG_PARKINSON_MEAN, LOG_PARKINSON_SD)
    np.testing.assert_allclose(term, expected, rtol=1e-10)
    # the term peaks at the variance whose expected log range variance is the observed one
    grid = np.exp(np.linspace(math.log(1e-8), math.log(2e-7), 2001))
    model.sigma2_prev = grid
    model.x, model._tmp = np.full(grid.size, math.log(100.0)), np.empty(grid.size)
    out = np.empty(grid.size)
    model.log_likelihood(PriceObservation(100.0, 1e-2, rv), out)
    assert grid[np.argmax(out)] == pytest.approx(rv * math.exp(-LOG_PARKINSON_MEAN), rel=2e-3)


def test_bad_options():
    with pytest.raises(SimulationError, match="resampling"):
        ParticleFilter(StochVolStateSpace(0, 0.5, 1, 10), resampling="residual")  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="ess_threshold"):
        ParticleFilter(StochVolStateSpace(0, 0.5, 1, 10), ess_threshold=2)


# ----------------------------------------------------------------------------- fused update


def _generic_step(pf: ParticleFilter, obs: PriceObservation, n_steps: int):
    """Predict then update through the model's separate methods (the path every model has)."""
    pf.predict(n_steps)
    return pf.update(obs)


@pytest.mark.parametrize("n_steps", [1, 3])
@pytest.mark.parametrize("rv_weight", [None, LOG_PARKINSON_SD])
def test_fused_step_equals_predict_then_weight(n_steps, rv_weight):
    a = ParticleFilter(_garch_model(n=700, rv_weight=rv_weight), seed=5, ess_threshold=0.0)
    b = ParticleFilter(_garch_model(n=700, rv_weight=rv_weight), seed=5, ess_threshold=0.0)
    rng = np.random.default_rng(6)
    closes = 100 * np.exp(np.cumsum(2e-4 * rng.standard_normal(12)))
    for c in closes:
        obs = PriceObservation(c, 1e-4, 4e-8)
        ra, rb = a.step(obs, n_steps=n_steps), _generic_step(b, obs, n_steps)
        # the particles are bit for bit those of the path kernels; the weights agree to rounding
        for k, v in b.model.state_arrays().items():
            np.testing.assert_array_equal(a.model.state_arrays()[k], v, err_msg=k)
        np.testing.assert_allclose(a.log_w, b.log_w, rtol=1e-11, atol=1e-11)
        assert ra.loglik_increment == pytest.approx(rb.loglik_increment, rel=1e-12, abs=1e-9)
        assert ra.ess == pytest.approx(rb.ess, rel=1e-10) and ra.steps == n_steps
    assert a.n_steps == b.n_steps == n_steps * closes.size
    np.testing.assert_allclose(a.weights, np.exp(b.log_w), rtol=1e-10)


def test_systematic_ancestors_from_linear_weights_equal_searchsorted():
    rng = np.random.default_rng(12)
    for n in (1, 7, 1000):
        w = rng.gamma(0.3, size=n)
        w /= w.sum()
        u = float(rng.uniform())
        out = np.empty(n, dtype=np.int64)
        systematic_ancestors(w, u, out)
        ref = np.minimum(np.searchsorted(np.cumsum(w), (np.arange(n) + u) / n, side="right"), n - 1)
        np.testing.assert_array_equal(out, ref)


def test_filter_is_identical_serial_parallel_and_for_any_thread_count(monkeypatch):
    import numba

    import volresearch.simulate.particle_filter as pf_module

    rng = np.random.default_rng(8)
    closes = 100 * np.exp(np.cumsum(2e-4 * rng.standard_normal(15)))
    runs = []
    before = numba.get_num_threads()
    try:
        for threshold, threads in ((10**9, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
            monkeypatch.setattr(pf_module, "PARALLEL_MIN_PARTICLES", threshold)
            numba.set_num_threads(threads)
            f = ParticleFilter(_garch_model(n=900, rv_weight=1.0), seed=3)
            res = [f.step(PriceObservation(c, 1e-4, 4e-8), n_steps=1 + i % 3) for i, c in enumerate(closes)]
            f.predict(2)  # the plain predict takes the same choice of kernel
            runs.append((res, f.snapshot()[0]))
    finally:
        numba.set_num_threads(before)
    for res, arrays in runs[1:]:
        assert res == runs[0][0]
        for k, v in arrays.items():
            np.testing.assert_array_equal(v, runs[0][1][k], err_msg=k)
    assert any(r.resampled for r in runs[0][0])


def test_adapted_weighting_gives_the_exact_kalman_likelihood_of_a_noisy_random_walk():
    """GARCH with alpha = beta = 0 is a Gaussian random walk; observed with noise it is a local-level model.

    The adapted update weighs by the exact predictive density and draws from the exact conditional law,
    so every particle carries the same weight and the likelihood is the Kalman filter's to Monte Carlo
    error of the particle cloud; the bootstrap filter on the same data is far noisier.
    """
    from volresearch.simulate.engine import innovation_logpdf

    s2, tau, n_obs = 1e-6, 5e-5, 200
    rng = np.random.default_rng(4)
    x = math.log(100.0) + np.cumsum(math.sqrt(s2) * rng.standard_normal(n_obs))
    y = x + tau * rng.standard_normal(n_obs)
    m, p, exact = math.log(100.0), 0.0, 0.0
    for yt in y:
        p += s2
        s = p + tau**2
        exact += stats.norm.logpdf(yt, m, math.sqrt(s))
        k = p / s
        m, p = m + k * (yt - m), (1 - k) * p
    table = build_ppf_table(stats.norm.ppf, name="normal")
    runs = {}
    for weighting in ("adapted", "bootstrap"):
        lls = []
        for seed in range(5):
            model = GarchStateSpace(
                0, 0.0, s2, 0.0, 0.0, 0.0, table, math.log(100.0), s2, 1000, seed=seed, weighting=weighting,
                logpdf=innovation_logpdf("normal", {}),
            )  # fmt: skip
            pf = ParticleFilter(model, seed=seed)
            for yt in y:
                pf.step(PriceObservation(math.exp(yt), tau))
            lls.append(pf.loglik)
        runs[weighting] = np.array(lls)
    assert np.all(np.abs(runs["adapted"] - exact) < 0.15), (runs["adapted"] - exact, exact)
    assert np.std(runs["adapted"]) < 0.1 * np.std(runs["bootstrap"])  # measured: within 0.05 of it, against 0.6-6.3


def test_adapted_weighting_needs_the_log_density():
    table = build_ppf_table(stats.norm.ppf, name="normal")
    with pytest.raises(SimulationError, match="log-density"):
        GarchStateSpace(0, 0.0, 1e-6, 0.05, 0.0, 0.9, table, 0.0, 1e-6, 10, seed=0, weighting="adapted")
    with pytest.raises(SimulationError, match="weighting"):
        GarchStateSpace(0, 0.0, 1e-6, 0.05, 0.0, 0.9, table, 0.0, 1e-6, 10, seed=0, weighting="other")
