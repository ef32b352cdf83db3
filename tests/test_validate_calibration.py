"""Tests of volresearch.validate.calibration against references and known values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import properscoring as ps
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, stats

from volresearch.errors import DataError
from volresearch.quantiles import empirical_cdf, quantile
from volresearch.validate import _common, _kernels
from volresearch.validate import calibration as cal
from volresearch.validate import uniformity as pit_mod


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _crps_pairwise(ensembles: np.ndarray, observations: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Reference: the O(N^2) energy form of the ensemble CRPS."""
    x = np.asarray(ensembles, dtype=float)
    y = np.asarray(observations, dtype=float)
    p = np.full(x.shape, 1.0 / x.shape[1]) if weights is None else np.broadcast_to(weights, x.shape)
    p = p / p.sum(axis=1, keepdims=True)
    first = np.sum(p * np.abs(x - y[:, None]), axis=1)
    second = np.einsum("ni,nj,nij->n", p, p, np.abs(x[:, :, None] - x[:, None, :]))
    return first - 0.5 * second


# ====================================================================== CRPS
class TestCRPS:
    def test_matches_properscoring_unweighted(self, rng):
        x = rng.standard_normal((300, 101)) * rng.uniform(0.5, 3, (300, 1))
        y = rng.standard_normal(300) * 2
        np.testing.assert_allclose(cal.crps_ensemble(x, y), ps.crps_ensemble(y, x), rtol=0, atol=1e-10)

    def test_matches_properscoring_weighted_per_row_and_shared(self, rng):
        x = rng.standard_normal((200, 64))
        y = rng.standard_normal(200)
        w = rng.exponential(size=(200, 64))
        np.testing.assert_allclose(
            cal.crps_ensemble(x, y, weights=w), ps.crps_ensemble(y, x, weights=w), rtol=0, atol=1e-10
        )
        w1 = rng.exponential(size=64)
        np.testing.assert_allclose(
            cal.crps_ensemble(x, y, weights=w1),
            ps.crps_ensemble(y, x, weights=np.broadcast_to(w1, x.shape)),
            rtol=0,
            atol=1e-10,
        )

    def test_ties_between_members_and_with_observation(self, rng):
        x = rng.integers(-3, 4, size=(400, 25)).astype(float)
        y = rng.integers(-3, 4, size=400).astype(float)  # many observations equal a member
        assert np.mean((x == y[:, None]).any(axis=1)) > 0.9
        np.testing.assert_allclose(cal.crps_ensemble(x, y), ps.crps_ensemble(y, x), rtol=0, atol=1e-10)
        w = rng.uniform(0, 1, size=(400, 25))
        w[:, ::5] = 0.0  # zero weights too
        np.testing.assert_allclose(
            cal.crps_ensemble(x, y, weights=w), ps.crps_ensemble(y, x, weights=w), rtol=0, atol=1e-10
        )

    def test_price_levels_do_not_cancel(self, rng):
        # ensembles of prices around 5,000 with a spread of a few points
        x = 5000.0 + rng.standard_normal((100, 200)) * 3.0
        y = 5000.0 + rng.standard_normal(100) * 3.0
        ref = _crps_pairwise(x - 5000.0, y - 5000.0)
        np.testing.assert_allclose(cal.crps_ensemble(x, y), ref, rtol=0, atol=1e-10)

    def test_kernels_match_python_twins_and_pairwise_reference(self, rng):
        x = np.sort(rng.standard_normal((50, 40)), axis=1)
        y = rng.standard_normal(50)
        out = np.empty(50)
        _kernels.crps_sorted_uniform(x, y, out)
        np.testing.assert_allclose(out, _kernels.crps_sorted_uniform_py(x, y), rtol=0, atol=1e-12)
        np.testing.assert_allclose(out, _crps_pairwise(x, y), rtol=0, atol=1e-12)
        p = rng.exponential(size=(50, 40))
        p /= p.sum(axis=1, keepdims=True)
        _kernels.crps_sorted_weighted(x, p, y, out)
        np.testing.assert_allclose(out, _kernels.crps_sorted_weighted_py(x, p, y), rtol=0, atol=1e-12)
        np.testing.assert_allclose(out, _crps_pairwise(x, y, p), rtol=0, atol=1e-12)

    @settings(max_examples=60, deadline=None)
    @given(
        hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 12)), elements=st.floats(-1e3, 1e3)),
        st.floats(-1e3, 1e3),
    )
    def test_property_equals_energy_form(self, x, shift):
        y = x[:, 0] * 0.5 + shift
        np.testing.assert_allclose(cal.crps_ensemble(x, y), _crps_pairwise(x, y), rtol=1e-12, atol=1e-9)

    def test_single_member_is_absolute_error(self):
        np.testing.assert_allclose(cal.crps_ensemble([[2.0], [-1.0]], [5.0, -1.5]), [3.0, 0.5])

    def test_one_dimensional_ensemble_is_one_forecast(self):
        assert cal.crps_ensemble([0.0, 1.0, 2.0], 1.0).shape == (1,)

    def test_fair_crps_is_the_unbiased_pairwise_form(self, rng):
        x = rng.standard_normal((30, 7))
        y = rng.standard_normal(30)
        m = x.shape[1]
        first = np.abs(x - y[:, None]).mean(axis=1)
        pair = np.abs(x[:, :, None] - x[:, None, :]).sum(axis=(1, 2))
        np.testing.assert_allclose(
            cal.crps_ensemble(x, y, fair=True), first - pair / (2 * m * (m - 1)), rtol=0, atol=1e-12
        )

    def test_fair_crps_is_unbiased_for_the_true_distribution(self, rng):
        # members and observation from N(0,1): E[fair CRPS(5 members)] = CRPS(N(0,1)) at the same y
        n = 40_000
        x = rng.standard_normal((n, 5))
        y = rng.standard_normal(n)
        truth = cal.crps_normal(0.0, 1.0, y)
        diff_fair = cal.crps_ensemble(x, y, fair=True) - truth
        diff_plain = cal.crps_ensemble(x, y) - truth
        se = diff_fair.std() / math.sqrt(n)
        assert abs(diff_fair.mean()) < 4 * se
        # the plain ensemble CRPS is biased up by E|X - X'| / (2m) = (2/sqrt(pi)) / 10
        assert diff_plain.mean() == pytest.approx(2 / math.sqrt(math.pi) / 10, abs=4 * se)

    def test_crps_normal_matches_properscoring_and_quadrature(self, rng):
        mu = rng.normal(size=50)
        sig = rng.uniform(0.1, 3, 50)
        y = rng.normal(size=50) * 2
        np.testing.assert_allclose(cal.crps_normal(mu, sig, y), ps.crps_gaussian(y, mu, sig), rtol=0, atol=1e-12)
        # the defining integral int (F(z) - 1[z >= y])^2 dz by quadrature
        for m_, s_, y_ in zip(mu[:5], sig[:5], y[:5], strict=True):
            cdf = stats.norm(m_, s_).cdf
            quad = integrate.quad(lambda z, f=cdf: f(z) ** 2, -np.inf, y_)[0]
            quad += integrate.quad(lambda z, f=cdf: (1 - f(z)) ** 2, y_, np.inf)[0]
            assert cal.crps_normal(m_, s_, y_) == pytest.approx(quad, rel=1e-7)

    def test_large_ensemble_converges_to_closed_form(self, rng):
        x = rng.standard_normal((20, 200_000)) * 1.7 + 0.3
        y = rng.normal(size=20)
        # Monte Carlo error of the empirical CDF: about sd / sqrt(m) = 0.004
        np.testing.assert_allclose(cal.crps_ensemble(x, y), cal.crps_normal(0.3, 1.7, y), atol=0.02)

    def test_mean_crps_and_skill(self, rng):
        x = rng.standard_normal((10, 50))
        y = rng.standard_normal(10)
        assert cal.mean_crps(x, y) == pytest.approx(cal.crps_ensemble(x, y).mean())
        assert cal.crps_skill([0.9, 0.9], [1.0, 1.0]) == pytest.approx(0.1)
        with pytest.raises(DataError, match="baseline_crps must have a positive mean"):
            cal.crps_skill([1.0], [0.0])

    def test_input_errors(self):
        with pytest.raises(DataError, match="ensembles contains NaN"):
            cal.crps_ensemble([[1.0, np.nan]], [0.0])
        with pytest.raises(DataError, match="ensembles has 2 rows .* observations has 3"):
            cal.crps_ensemble(np.zeros((2, 3)), np.zeros(3))
        with pytest.raises(DataError, match="weights must be non-negative"):
            cal.crps_ensemble(np.zeros((2, 3)), np.zeros(2), weights=[1.0, -1.0, 1.0])
        with pytest.raises(DataError, match=r"weights must have shape \(3,\) or \(2, 3\)"):
            cal.crps_ensemble(np.zeros((2, 3)), np.zeros(2), weights=[1.0, 1.0])
        with pytest.raises(DataError, match="each row of weights needs a positive sum"):
            cal.crps_ensemble(np.zeros((2, 3)), np.zeros(2), weights=np.zeros(3))
        # equal weights are equal weights: the fair form applies
        assert cal.crps_ensemble(np.arange(6.0).reshape(2, 3), np.zeros(2), weights=np.ones(3), fair=True).shape == (2,)
        with pytest.raises(DataError, match="fair=True is defined for equally weighted"):
            cal.crps_ensemble(np.zeros((2, 3)), np.zeros(2), weights=[1.0, 2.0, 1.0], fair=True)
        with pytest.raises(DataError, match="sigma must be positive"):
            cal.crps_normal(0.0, 0.0, 1.0)


# ================================================================= quantiles
class TestQuantiles:
    def test_equal_weights_are_numpy_inverted_cdf(self, rng):
        x = rng.standard_normal((40, 33))
        q = [0.0, 0.001, 0.025, 0.3, 0.5, 0.975, 0.999, 1.0]
        np.testing.assert_array_equal(cal.ensemble_quantiles(x, q), np.quantile(x, q, axis=1, method="inverted_cdf").T)

    def test_weighted_rows_follow_the_package_rule(self, rng):
        x = rng.standard_normal((20, 30))
        w = rng.exponential(size=(20, 30))
        q = np.linspace(0.0, 1.0, 41)
        expected = np.stack([quantile(x[i], q, weights=w[i]) for i in range(20)])
        np.testing.assert_array_equal(cal.ensemble_quantiles(x, q, weights=w), expected)

    def test_integer_weights_are_multiplicities(self, rng):
        x = rng.standard_normal(15)
        k = rng.integers(1, 5, 15)
        q = np.linspace(0.01, 0.99, 37)
        np.testing.assert_array_equal(
            cal.ensemble_quantiles(x, q, weights=k.astype(float))[0],
            np.quantile(np.repeat(x, k), q, method="inverted_cdf"),
        )

    def test_concentrated_weight_gives_the_heavy_value(self):
        x = np.arange(11.0)
        w = np.full(11, 0.001)
        w[10] = 0.99
        assert cal.ensemble_quantiles(x, [0.5], weights=w)[0, 0] == 10.0

    def test_zero_weight_members_are_ignored(self, rng):
        x = rng.standard_normal((5, 12))
        w = np.ones(12)
        w[[2, 7]] = 0.0
        keep = np.ones(12, bool)
        keep[[2, 7]] = False
        q = np.linspace(0.0, 1.0, 21)
        np.testing.assert_allclose(cal.ensemble_quantiles(x, q, weights=w), cal.ensemble_quantiles(x[:, keep], q))

    def test_many_levels_per_row_match_the_rule(self, rng):
        x = rng.standard_normal((20, 30))
        w = rng.exponential(size=(20, 30))
        w[:, ::7] = 0.0
        u = rng.random((20, 9))
        u[0, 0] = 0.0
        u[1, 0] = 1.0
        xs, ps = _common._sorted(x, _common._weights(w, x.shape))
        expected = np.stack([quantile(x[i], u[i], weights=w[i]) for i in range(20)])
        np.testing.assert_array_equal(_common._step_quantiles(xs, ps, u), expected)
        xs1, ps1 = _common._sorted(x, None)
        expected1 = np.stack([np.quantile(x[i], u[i], method="inverted_cdf") for i in range(20)])
        np.testing.assert_array_equal(_common._step_quantiles(xs1, ps1, u), expected1)

    def test_tail_mean_is_the_integral_of_the_quantile_function(self, rng):
        x = rng.standard_normal((4, 50))
        w = rng.exponential(size=(4, 50))
        a = np.array([0.005, 0.05, 0.2])
        xs, ps = _common._sorted(x, _common._weights(w, x.shape))
        out = _common._tail_means(xs, ps, a)
        for i in range(4):
            for k, alpha in enumerate(a):
                grid = (np.arange(200_000) + 0.5) / 200_000 * alpha  # midpoint rule on the step function
                ref = quantile(x[i], grid, weights=w[i]).mean()
                assert out[i, k] == pytest.approx(ref, rel=1e-4)

    def test_tail_mean_of_equal_members_is_the_mean_of_the_lowest(self, rng):
        x = rng.standard_normal((3, 200))
        es = cal.ensemble_var_es(x, (0.05,))["es_0.05"].to_numpy()
        np.testing.assert_allclose(es, np.sort(x, axis=1)[:, :10].mean(axis=1), rtol=1e-12)

    def test_var_es_of_a_large_normal_ensemble(self, rng):
        x = rng.standard_normal((3, 400_000))
        t = cal.ensemble_var_es(x, (0.01, 0.05))
        for a in (0.01, 0.05):
            z = stats.norm.ppf(a)
            assert t[f"var_{a:g}"].to_numpy() == pytest.approx(np.full(3, z), abs=0.02)
            assert t[f"es_{a:g}"].to_numpy() == pytest.approx(np.full(3, -stats.norm.pdf(z) / a), abs=0.02)


# ======================================================================= PIT
class TestPIT:
    def test_pit_is_the_empirical_cdf_at_the_outcome(self):
        ens = np.array([[1.0, 2.0, 3.0]] * 5)
        y = np.array([0.0, 1.5, 2.0, 2.5, 9.0])
        np.testing.assert_allclose(cal.pit(ens, y), [0.0, 1 / 3, 2 / 3, 2 / 3, 1.0])

    def test_weighted_pit_is_the_weighted_empirical_cdf(self, rng):
        x = rng.standard_normal((30, 12))
        w = rng.exponential(size=(30, 12))
        y = rng.standard_normal(30)
        expected = [empirical_cdf(x[i], y[i], weights=w[i]) for i in range(30)]
        np.testing.assert_allclose(cal.pit(x, y, weights=w), expected, rtol=0, atol=1e-15)

    def test_ties_spread_over_the_jump(self):
        ens = np.array([[1.0, 1.0, 1.0, 2.0]])
        assert cal.pit(ens, [1.0])[0] == pytest.approx(0.75)
        draws = np.array([cal.pit(ens, [1.0], randomize_ties=True, seed=s)[0] for s in range(200)])
        assert draws.min() >= 0.0 and draws.max() <= 0.75
        assert draws.max() > 0.6 and draws.min() < 0.15
        # no tie: randomising changes nothing
        assert cal.pit(ens, [1.5], randomize_ties=True, seed=1)[0] == 0.75

    def test_randomised_is_reproducible(self, rng):
        x = rng.integers(0, 4, (50, 10)).astype(float)
        y = rng.integers(0, 4, 50).astype(float)
        a = cal.pit(x, y, randomize_ties=True, seed=7)
        b = cal.pit(x, y, randomize_ties=True, seed=np.random.default_rng(7))
        np.testing.assert_array_equal(a, b)

    def test_prices_on_a_tick_grid_give_uniform_randomised_pit(self):
        """A calibrated forecast of a price recorded on a coarse grid (theorem: Czado, Gneiting & Held 2009).

        The true law of the recorded price is round(P0 e^R) with R ~ N(0, s^2) and s of about 1.5
        ticks, so a fifth of the outcomes do not move: the plain PIT of the continuous ensemble
        piles them up at F(0) and is rejected, the randomised PIT on the grid is uniform.
        """
        rng = np.random.default_rng(11)
        n, m, tick = 3000, 400, 0.01
        p0 = np.round(rng.uniform(40, 60, n) / tick) * tick
        s = 1.5 * tick / p0
        x = s[:, None] * rng.standard_normal((n, m))
        y = np.log(np.round(p0 * np.exp(s * rng.standard_normal(n)) / tick) * tick / p0)
        assert 0.15 < np.mean(y == 0.0) < 0.35
        plain = cal.pit_uniformity(cal.pit(x, y), n_members=m)
        grid = cal.pit_uniformity(pit_mod.pit_on_grid(x, y, p0, tick, seed=3), n_members=m)
        assert plain.ad_pvalue < 1e-6
        assert grid.ad_pvalue > 0.01
        # the same seed gives the same values; a miscalibrated spread is still caught on the grid
        np.testing.assert_array_equal(
            pit_mod.pit_on_grid(x, y, p0, tick, seed=3), pit_mod.pit_on_grid(x, y, p0, tick, seed=3)
        )
        wide = cal.pit_uniformity(pit_mod.pit_on_grid(1.5 * x, y, p0, tick, seed=3), n_members=m)
        assert wide.ad_pvalue < 1e-6
        with pytest.raises(DataError, match="origin prices"):
            pit_mod.pit_on_grid(x, y, p0[:-1], tick)
        with pytest.raises(DataError, match="tick"):
            pit_mod.pit_on_grid(x, y, p0, 0.0)

    def test_equal_weights_equal_unweighted(self, rng):
        x = rng.integers(0, 5, (100, 9)).astype(float)
        y = rng.integers(0, 5, 100).astype(float)
        np.testing.assert_allclose(cal.pit(x, y, weights=np.full(9, 3.0)), cal.pit(x, y))

    @pytest.mark.parametrize("weighted", [False, True])
    @pytest.mark.parametrize("ties", [False, True])
    def test_coverage_and_pit_agree(self, rng, weighted, ties):
        """``y < Q(q)`` exactly when ``F(y) < q``: the share below p5 is the share of PITs below 0.05."""
        n, m = 400, 57
        if ties:
            x = rng.integers(-4, 5, (n, m)).astype(float)
            y = rng.integers(-5, 6, n).astype(float)
        else:
            x = rng.standard_normal((n, m))
            y = rng.standard_normal(n) * 1.3
        w = rng.exponential(size=(n, m)) if weighted else None
        levels = np.concatenate([[1.0, 0.05, 0.5, 0.95], rng.random(40)])  # the identity holds for q in (0, 1]
        u = cal.pit(x, y, weights=w)
        q = cal.ensemble_quantiles(x, levels, weights=w)
        np.testing.assert_array_equal(y[:, None] < q, u[:, None] < levels[None, :])
        # the same through the package's own functions, row by row
        for i in range(0, n, 50):
            wi = None if w is None else w[i]
            qi = quantile(x[i], levels, weights=wi)
            np.testing.assert_array_equal(y[i] < qi, empirical_cdf(x[i], y[i], weights=wi) < levels)
        # and the interval hits are the PIT outside the central band
        hits = cal.interval_hits(x, y, (0.9,), weights=w)[0.9].to_numpy()
        q_hi = cal.ensemble_quantiles(x, [0.95], weights=w)[:, 0]
        np.testing.assert_array_equal(hits, ((u < 0.05) | (y > q_hi)).astype(np.int8))

    def test_exchangeable_pits_are_uniform_on_the_grid(self, rng):
        # a calibrated N-member ensemble puts F(y) on k/N, k = 0..N, each with probability 1/(N+1)
        n, m = 40_000, 4
        x = rng.standard_normal((n, m))
        y = rng.standard_normal(n)
        u = cal.pit(x, y)
        counts = np.bincount(np.rint(u * m).astype(int), minlength=m + 1)
        assert stats.chisquare(counts).pvalue > 0.001

    def test_uniformity_tests_see_the_rank_cell_centres(self, rng):
        x = rng.standard_normal((300, 150))
        y = rng.standard_normal(300)
        y[:3] = 10.0  # outcomes above every member: PIT 1, a cell centre below 1
        u = cal.pit(x, y)
        assert u.max() == 1.0
        res = cal.pit_uniformity(u, n_members=150)
        k = (x < y[:, None]).sum(axis=1)
        ad, p = cal.anderson_darling_uniform((k + 0.5) / 151)
        assert res.ad_statistic == pytest.approx(ad) and res.ad_pvalue == pytest.approx(p)
        assert np.isfinite(res.ad_statistic) and res.ad_statistic < 50

    def test_ensemble_size_counts_positive_weights(self, rng):
        x = rng.standard_normal((3, 6))
        w = np.ones((3, 6))
        w[1, :2] = 0.0
        np.testing.assert_array_equal(cal.ensemble_size(x, weights=w), [6.0, 4.0, 6.0])
        np.testing.assert_array_equal(cal.ensemble_size(x), [6.0, 6.0, 6.0])


# ========================================================= Anderson-Darling
class TestAndersonDarling:
    @pytest.mark.parametrize("shape", [1.0, 1.15])
    def test_statistic_and_pvalue_match_scipy_goodness_of_fit(self, shape):
        gen = np.random.default_rng(11)
        u = gen.beta(shape, 1.0, size=60)
        ours, p = cal.anderson_darling_uniform(u)
        res = stats.goodness_of_fit(
            stats.uniform, u, known_params={"loc": 0, "scale": 1}, statistic="ad", n_mc_samples=9999, rng=5
        )
        assert ours == pytest.approx(res.statistic, abs=1e-10)
        se = math.sqrt(max(res.pvalue * (1 - res.pvalue), 1e-4) / 9999)
        assert p == pytest.approx(res.pvalue, abs=4 * se + 1e-3)

    def test_asymptotic_published_critical_values(self):
        # Stephens (1974) case 0: upper 10%, 5%, 1% points 1.933, 2.492, 3.857
        n = 10**7
        assert 1 - pit_mod._ad_cdf(n, 1.933) == pytest.approx(0.10, abs=3e-4)
        assert 1 - pit_mod._ad_cdf(n, 2.492) == pytest.approx(0.05, abs=3e-4)
        assert 1 - pit_mod._ad_cdf(n, 3.857) == pytest.approx(0.01, abs=5e-4)

    @pytest.mark.parametrize("n", [5, 20])
    def test_finite_n_cdf_against_simulation(self, n):
        gen = np.random.default_rng(99)
        reps = 100_000
        u = np.sort(gen.random((reps, n)), axis=1)
        i = np.arange(1, n + 1)
        a2 = -n - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[:, ::-1])), axis=1) / n
        for z in np.quantile(a2, [0.1, 0.5, 0.9, 0.95, 0.99]):
            emp = np.mean(a2 <= z)
            assert pit_mod._ad_cdf(n, z) == pytest.approx(emp, abs=4 * math.sqrt(emp * (1 - emp) / reps) + 1e-4)

    def test_saturated_pits_give_finite_statistic(self):
        stat, p = cal.anderson_darling_uniform([0.0, 0.3, 0.6, 1.0])
        assert math.isfinite(stat) and p < 1e-6

    def test_errors(self):
        with pytest.raises(DataError, match="pits must lie in"):
            cal.anderson_darling_uniform([0.5, 1.5])
        with pytest.raises(DataError, match="pits needs at least 2 values"):
            cal.anderson_darling_uniform([0.5])


class TestPITUniformity:
    def test_components_match_scipy(self, rng):
        u = rng.random(400)
        res = cal.pit_uniformity(u, n_bins=8)
        ks = stats.kstest(u, "uniform")
        assert res.ks_statistic == pytest.approx(ks.statistic)
        assert res.ks_pvalue == pytest.approx(ks.pvalue)
        counts, _ = np.histogram(u, bins=8, range=(0, 1))
        assert res.chi2_pvalue == pytest.approx(stats.chisquare(counts).pvalue)
        assert res.ad_statistic == pytest.approx(cal.anderson_darling_uniform(u)[0])
        assert res.n == 400 and res.n_bins == 8

    def test_shape_diagnosis(self, rng):
        n = 2000
        assert cal.pit_uniformity(rng.random(n)).shape == "uniform"
        u_shaped = stats.norm.cdf(2.0 * rng.standard_normal(n))  # ensemble sd half the truth
        res = cal.pit_uniformity(u_shaped)
        assert res.shape == "u_shaped_overconfident" and res.dispersion_z > 0 and not res.passed
        hump = stats.norm.cdf(0.5 * rng.standard_normal(n))  # ensemble sd twice the truth
        assert cal.pit_uniformity(hump).shape == "hump_underconfident"
        biased = stats.norm.cdf(rng.standard_normal(n) + 0.5)  # observations above the forecast
        res = cal.pit_uniformity(biased)
        assert res.shape == "skewed_biased" and res.bias_direction == "forecast_too_low"
        biased = stats.norm.cdf(rng.standard_normal(n) - 0.5)
        assert cal.pit_uniformity(biased).bias_direction == "forecast_too_high"

    def test_to_dict_is_json(self, rng):
        d = cal.pit_uniformity(rng.random(50)).to_dict()
        json.dumps(d, allow_nan=False)
        assert set(d) >= {"ad_pvalue", "ks_pvalue", "chi2_pvalue", "shape", "passed"}


# ============================================================ coverage tests
class TestKupiec:
    # Kupiec (1995) 95% non-rejection regions as tabulated in Jorion, "Value at Risk", table
    # "Model backtesting, 95% nonrejection test confidence regions": (p, T) -> (low, high) exclusive
    JORION = {
        (0.01, 510): (1, 11),
        (0.01, 1000): (4, 17),
        (0.025, 255): (2, 12),
        (0.025, 510): (6, 21),
        (0.025, 1000): (15, 36),
        (0.05, 255): (6, 21),
        (0.05, 510): (16, 36),
        (0.05, 1000): (37, 65),
        (0.075, 255): (11, 28),
        (0.075, 510): (27, 51),
        (0.075, 1000): (59, 92),
        (0.10, 255): (16, 36),
        (0.10, 510): (38, 65),
        (0.10, 1000): (81, 120),
    }

    @pytest.mark.parametrize("key", sorted(JORION))
    def test_textbook_nonrejection_regions(self, key):
        p, t = key
        low, high = self.JORION[key]
        for x in range(0, min(t, high + 10) + 1):
            h = np.r_[np.ones(x), np.zeros(t - x)]
            inside = low < x < high
            assert (cal.kupiec_pof(h, p).pvalue >= 0.05) == inside, (p, t, x)

    def test_upper_bound_at_one_percent_and_one_year(self):
        # table: N < 7 for p = 1%, T = 255
        assert cal.kupiec_pof(np.r_[np.ones(6), np.zeros(249)], 0.01).pvalue >= 0.05
        assert cal.kupiec_pof(np.r_[np.ones(7), np.zeros(248)], 0.01).pvalue < 0.05

    def test_matches_binomial_likelihood_ratio(self, rng):
        for t, p in [(250, 0.01), (500, 0.05), (1000, 0.1)]:
            h = (rng.random(t) < p * 1.4).astype(int)
            x = int(h.sum())
            lr = 2 * (stats.binom.logpmf(x, t, x / t) - stats.binom.logpmf(x, t, p))
            res = cal.kupiec_pof(h, p)
            assert res.statistic == pytest.approx(lr, rel=1e-10)
            assert res.pvalue == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-10)
            assert res.violations == x and res.n == t and res.df == 1
            # the exact binomial test agrees on the verdict far from the boundary
            exact = stats.binomtest(x, t, p).pvalue
            if min(exact, res.pvalue) > 0.1 or max(exact, res.pvalue) < 0.01:
                assert (exact < 0.05) == (res.pvalue < 0.05)

    def test_zero_and_all_violations(self):
        t, p = 250, 0.01
        zero = cal.kupiec_pof(np.zeros(t), p)
        assert zero.statistic == pytest.approx(-2 * t * math.log(1 - p))
        full = cal.kupiec_pof(np.ones(t), p)
        assert full.statistic == pytest.approx(-2 * t * math.log(p))
        assert full.pvalue < 1e-100

    def test_errors(self):
        with pytest.raises(DataError, match="hits must contain only 0 and 1"):
            cal.kupiec_pof([0, 2, 1], 0.05)
        with pytest.raises(DataError, match="p must lie strictly between 0 and 1"):
            cal.kupiec_pof([0, 1], 1.0)


class TestChristoffersen:
    def test_hand_computation_from_counts(self):
        # 0 0 0 1 1 0 0 1 0 0 0 0 1 1 1 0 0 0 0 0
        h = np.array([0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
        n00, n01, n10, n11 = 10, 3, 3, 3
        res = cal.christoffersen_independence(h)
        assert (res.n00, res.n01, res.n10, res.n11) == (n00, n01, n10, n11)
        pi01 = n01 / (n00 + n01)
        pi11 = n11 / (n10 + n11)
        pi = (n01 + n11) / (n00 + n01 + n10 + n11)
        l0 = (n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
        l1 = n00 * math.log(1 - pi01) + n01 * math.log(pi01) + n10 * math.log(1 - pi11) + n11 * math.log(pi11)
        lr_ind = -2 * (l0 - l1)
        assert res.statistic == pytest.approx(lr_ind, rel=1e-12)
        assert res.pvalue == pytest.approx(stats.chi2.sf(lr_ind, 1), rel=1e-12)
        p = 0.1
        lp = (n00 + n10) * math.log(1 - p) + (n01 + n11) * math.log(p)
        cc = cal.christoffersen_conditional_coverage(h, p)
        assert cc.statistic == pytest.approx(-2 * (lp - l1), rel=1e-12)
        assert cc.pvalue == pytest.approx(stats.chi2.sf(-2 * (lp - l1), 2), rel=1e-12)
        assert cc.df == 2
        # LR_cc = LR_pof on I_2..I_T + LR_ind exactly
        assert cc.statistic == pytest.approx(cal.kupiec_pof(h[1:], p).statistic + res.statistic, rel=1e-12)

    def test_edge_cases_follow_zero_log_zero(self):
        none = cal.christoffersen_independence(np.zeros(100))
        assert none.statistic == 0.0 and none.pvalue == 1.0
        allv = cal.christoffersen_independence(np.ones(100))
        assert allv.statistic == 0.0 and allv.pvalue == 1.0
        # a single violation at the end: state 1 never left, n10 + n11 = 0
        last = cal.christoffersen_independence(np.r_[np.zeros(99), 1])
        assert (last.n10, last.n11) == (0, 0)
        assert last.statistic == pytest.approx(0.0, abs=1e-12)
        # isolated violations (no 1 -> 1): LR = -2[(n00+n10) ln(1-pi) + n01 ln pi - n00 ln(1-pi01) - n01 ln pi01]
        h = np.zeros(200)
        h[10::20] = 1
        r = cal.christoffersen_independence(h)
        assert r.n11 == 0
        n00, n01, n10 = r.n00, r.n01, r.n10
        pi = n01 / (n00 + n01 + n10)
        pi01 = n01 / (n00 + n01)
        expect = -2 * (
            (n00 + n10) * math.log(1 - pi) + n01 * math.log(pi) - n00 * math.log(1 - pi01) - n01 * math.log(pi01)
        )
        assert r.statistic == pytest.approx(expect, rel=1e-12)

    def test_clustered_violations_are_rejected(self, rng):
        h = np.zeros(1000, dtype=int)
        for start in rng.choice(np.arange(0, 990, 10), size=10, replace=False):
            h[start : start + 5] = 1
        assert cal.christoffersen_independence(h).pvalue < 1e-6
        assert cal.christoffersen_conditional_coverage(h, 0.05).pvalue < 1e-6

    def test_errors(self):
        with pytest.raises(DataError, match="hits needs at least 2 values"):
            cal.christoffersen_independence([1])


class TestIntervalCoverage:
    def test_hits_and_table(self, rng):
        x = rng.standard_normal((300, 199))
        y = rng.standard_normal(300)
        hits = cal.interval_hits(x, y, (0.5, 0.9))
        assert list(hits.columns) == [0.5, 0.9] and hits.shape == (300, 2)
        q = np.quantile(x, [0.25, 0.75], axis=1, method="inverted_cdf")
        np.testing.assert_array_equal(hits[0.5].to_numpy(), ((y < q[0]) | (y > q[1])).astype(int))
        table = cal.interval_coverage(x, y, (0.5, 0.9))
        assert table["violations"].tolist() == hits.sum().tolist()
        assert (table["below"] + table["above"]).tolist() == table["violations"].tolist()
        np.testing.assert_allclose(table["coverage"], 1 - hits.mean().to_numpy())
        row = table.iloc[1]
        assert row["p_pof"] == pytest.approx(cal.kupiec_pof(hits[0.9], 0.1).pvalue)
        assert row["p_ind"] == pytest.approx(cal.christoffersen_independence(hits[0.9]).pvalue)
        assert row["p_cc"] == pytest.approx(cal.christoffersen_conditional_coverage(hits[0.9], 0.1).pvalue)

    def test_equal_weights_give_the_unweighted_intervals(self, rng):
        x = rng.standard_normal((100, 50))
        y = rng.standard_normal(100)
        pd.testing.assert_frame_equal(
            cal.interval_coverage(x, y, weights=np.full(50, 0.3)), cal.interval_coverage(x, y)
        )

    def test_coverage_table_accepts_concatenated_windows(self, rng):
        x = rng.standard_normal((200, 99))
        y = rng.standard_normal(200)
        pooled = pd.concat(
            [cal.interval_hits(x[:120], y[:120]), cal.interval_hits(x[120:], y[120:])], ignore_index=True
        )
        whole = cal.interval_hits(x, y)
        pd.testing.assert_frame_equal(cal.coverage_table(pooled), cal.coverage_table(whole))

    def test_errors(self):
        with pytest.raises(DataError, match="levels must lie strictly between 0 and 1"):
            cal.interval_hits(np.zeros((3, 5)), np.zeros(3), (0.5, 1.0))
        with pytest.raises(DataError, match="hits must be a DataFrame or a mapping"):
            cal.coverage_table([[0, 1]])


# ========================================================================= power
def _forecasts(seed: int, n: int, m: int, dist: str, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Observations with time-varying volatility and ensembles from the same law at ``scale`` x the volatility."""
    g = np.random.default_rng(seed)
    vol = np.exp(g.normal(0.0, 0.4, n))
    if dist == "normal":
        draw = g.standard_normal
    else:

        def draw(size):  # Student-t with 4 degrees of freedom, unit variance
            return g.standard_t(4, size) / math.sqrt(2.0)

    y = vol * draw(n)
    x = (scale * vol)[:, None] * draw((n, m))
    return x, y


class TestPower:
    @pytest.mark.parametrize("dist", ["normal", "student_t"])
    def test_overconfident_forecaster_fails(self, dist):
        x, y = _forecasts(1, 500, 500, dist, 0.5)
        cov = cal.interval_coverage(x, y)
        assert (cov["p_pof"] < 0.01).all()
        uni = cal.pit_uniformity(cal.pit(x, y), n_members=500)
        assert uni.ad_pvalue < 0.01 and uni.ks_pvalue < 0.01
        assert uni.shape == "u_shaped_overconfident"
        report = cal.calibration_report(x, y)
        assert not report.passed

    @pytest.mark.parametrize("dist", ["normal", "student_t"])
    def test_correct_forecaster_rejects_at_nominal_rate(self, dist):
        seeds = 100
        rejections = {"ad": 0, "ks": 0, "kupiec95": 0, "ind95": 0}
        for s in range(seeds):
            x, y = _forecasts(1000 + s, 250, 400, dist, 1.0)
            u = cal.pit(x, y, randomize_ties=True, seed=s)
            res = cal.pit_uniformity(u, n_members=400)
            rejections["ad"] += res.ad_pvalue < 0.05
            rejections["ks"] += res.ks_pvalue < 0.05
            h = cal.interval_hits(x, y, (0.95,))[0.95]
            rejections["kupiec95"] += cal.kupiec_pof(h, 0.05).pvalue < 0.05
            rejections["ind95"] += cal.christoffersen_independence(h).pvalue < 0.05
        hi = stats.binom.ppf(0.999, seeds, 0.05)
        for name, count in rejections.items():
            assert count <= hi, (name, count)
        # and not a test that never rejects
        assert rejections["ad"] + rejections["ks"] >= 1


# ================================================================ VaR / ES
class TestVaRBacktest:
    def test_z2_hand_computation(self):
        r = np.array([-3.0, 0.5, -1.0, -2.5, 1.0])
        var = np.full(5, -2.0)
        es = np.array([-2.5, -2.5, -2.5, -2.0, -2.5])
        # violations at t=0 and t=3: sum r/ES = 3/2.5 + 2.5/2.0
        expected = 1 - (3.0 / 2.5 + 2.5 / 2.0) / (5 * 0.05)
        assert cal.acerbi_szekely_z2(r, var, es, 0.05) == pytest.approx(expected)

    def test_quantile_route_matches_ensemble_route(self, rng):
        x = rng.standard_normal((400, 300))
        y = rng.standard_normal(400)
        a = (0.01, 0.05)
        table = cal.ensemble_var_es(x, a)
        via_q = cal.var_backtest({v: table[f"var_{v:g}"] for v in a}, y, es={v: table[f"es_{v:g}"] for v in a})
        via_e = cal.var_backtest(x, y, a, seed=1, n_sim=199)
        cols = ["violations", "lr_pof", "p_pof", "lr_ind", "p_ind", "lr_cc", "p_cc", "z2"]
        pd.testing.assert_frame_equal(via_q[cols], via_e[cols])
        assert via_q["p_z2"].isna().all() and via_q["es_ok"].isna().all()
        assert via_e["p_z2"].between(0, 1).all()

    def test_thin_tailed_forecast_fails_es(self, rng):
        # Student-t(3) returns forecast by a normal ensemble of the same variance: ES understated
        n = 1500
        y = rng.standard_t(3, n) / math.sqrt(3.0)
        x = rng.standard_normal((n, 400))
        res = cal.var_backtest(x, y, (0.01,), seed=2).iloc[0]
        assert res["z2"] < 0 and res["p_z2"] < 0.01 and not res["es_ok"]
        good = cal.var_backtest(rng.standard_t(3, (n, 400)) / math.sqrt(3.0), y, (0.01,), seed=2).iloc[0]
        assert good["p_z2"] > 0.01

    def test_es_test_size_under_the_null(self):
        seeds = 60
        rejected = 0
        for s in range(seeds):
            g = np.random.default_rng(500 + s)
            vol = np.exp(g.normal(0, 0.3, 300))
            x = vol[:, None] * g.standard_normal((300, 300))
            y = vol * g.standard_normal(300)
            rejected += cal.var_backtest(x, y, (0.05,), n_sim=299, seed=s).iloc[0]["p_z2"] < 0.05
        assert rejected <= stats.binom.ppf(0.999, seeds, 0.05)

    def test_errors(self, rng):
        with pytest.raises(DataError, match="alpha 0.01 needs at least 100 ensemble members"):
            cal.var_backtest(rng.standard_normal((10, 50)), np.zeros(10))
        with pytest.raises(DataError, match=r"no VaR forecast for alpha \[0.05\]"):
            cal.var_backtest({0.01: np.zeros(5)}, np.zeros(5), (0.05,))
        with pytest.raises(DataError, match="es must be a loss"):
            cal.acerbi_szekely_z2(np.zeros(3), np.zeros(3), np.array([-1.0, 0.0, -1.0]), 0.05)
        with pytest.raises(DataError, match="ensemble expected shortfall is not a loss"):
            cal.var_backtest(100.0 + rng.random((5, 200)), np.full(5, 100.0))


# ==================================================================== losses
class TestLosses:
    def test_qlike_forms(self, rng):
        f = rng.uniform(0.5, 2, 100)
        rv = rng.uniform(0.1, 3, 100)
        q = cal.qlike(f, rv)
        np.testing.assert_allclose(q, rv / f - np.log(rv / f) - 1)
        assert np.all(q >= 0)
        np.testing.assert_allclose(cal.qlike(rv, rv), 0.0, atol=1e-15)
        np.testing.assert_allclose(cal.qlike(f, rv, normalized=False) - q, np.log(rv) + 1)
        np.testing.assert_allclose(cal.mse_var(f, rv), (rv - f) ** 2)

    def test_qlike_errors(self):
        with pytest.raises(DataError, match="use normalized=False for zero proxies"):
            cal.qlike([1.0], [0.0])
        assert cal.qlike([1.0], [0.0], normalized=False)[0] == pytest.approx(0.0)
        with pytest.raises(DataError, match="forecast_var must be positive"):
            cal.qlike([0.0], [1.0])


class TestDieboldMariano:
    def test_identical_losses(self, rng):
        a = rng.random(50)
        res = cal.diebold_mariano(a, a.copy(), h=3)
        assert res.statistic == 0.0 and res.pvalue == 1.0

    @pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
    def test_h1_is_the_paired_t_test(self, rng, alternative):
        a = rng.random(80) + 0.05
        b = rng.random(80)
        res = cal.diebold_mariano(a, b, alternative=alternative)
        t = stats.ttest_rel(a, b, alternative=alternative)
        assert res.statistic == pytest.approx(t.statistic, rel=1e-10)
        assert res.pvalue == pytest.approx(t.pvalue, rel=1e-10)

    def test_hand_computation_h3(self):
        a = np.array([1.0, 2.0, 1.5, 3.0, 2.5, 1.0, 2.0, 4.0, 3.5, 2.0])
        b = np.array([1.5, 1.0, 1.0, 2.0, 3.0, 0.5, 1.0, 2.5, 2.0, 1.5])
        d = a - b
        t, h = d.size, 3
        dc = d - d.mean()
        g = [np.sum(dc[k:] * dc[: t - k]) / t for k in range(h)]
        for kernel, w in (("bartlett", [1 - 1 / 3, 1 - 2 / 3]), ("uniform", [1.0, 1.0])):
            v = (g[0] + 2 * (w[0] * g[1] + w[1] * g[2])) / t
            dm = d.mean() / math.sqrt(v)
            star = dm * math.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
            res = cal.diebold_mariano(a, b, h=h, kernel=kernel)
            assert res.kernel == kernel
            assert res.variance == pytest.approx(v, rel=1e-12)
            assert res.statistic_uncorrected == pytest.approx(dm, rel=1e-12)
            assert res.statistic == pytest.approx(star, rel=1e-12)
            assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(star), t - 1), rel=1e-12)

    def test_bartlett_variance_matches_statsmodels_hac(self, rng):
        d = rng.standard_normal(300).cumsum() * 0.01 + rng.standard_normal(300)
        h = 5
        fit = sm.OLS(d, np.ones(d.size)).fit(cov_type="HAC", cov_kwds={"maxlags": h - 1, "use_correction": False})
        res = cal.diebold_mariano(d, np.zeros_like(d), h=h)
        assert res.variance == pytest.approx(float(fit.bse[0] ** 2), rel=1e-10)

    def test_clearly_better_forecast(self, rng):
        truth = rng.standard_normal(400)
        good = (truth + 0.1 * rng.standard_normal(400) - truth) ** 2
        bad = (truth + 0.5 * rng.standard_normal(400) - truth) ** 2
        res = cal.diebold_mariano(good, bad, alternative="less")
        assert res.pvalue < 1e-6 and res.mean_differential < 0
        assert cal.diebold_mariano(good, bad, alternative="greater").pvalue > 0.99
        json.dumps(res.to_dict(), allow_nan=False)

    def test_errors(self):
        with pytest.raises(DataError, match="h must satisfy"):
            cal.diebold_mariano(np.zeros(5), np.zeros(5), h=5)
        with pytest.raises(DataError, match="loss_a has 5 values but loss_b has 4"):
            cal.diebold_mariano(np.zeros(5), np.zeros(4))
        with pytest.raises(DataError, match="unknown alternative"):
            cal.diebold_mariano(np.zeros(5), np.zeros(5), alternative="bigger")


# =================================================================== report
class TestReport:
    def test_report_bundles_components(self, rng):
        x, y = _forecasts(3, 400, 300, "normal", 1.0)
        base = cal.crps_normal(0.0, 3.0, y)
        rep = cal.calibration_report(x, y, baseline_crps=base)
        assert rep.n_forecasts == 400
        assert rep.crps_mean == pytest.approx(cal.crps_ensemble(x, y).mean())
        assert rep.baseline_crps_mean == pytest.approx(base.mean())
        assert rep.crps_skill == pytest.approx(1 - rep.crps_mean / base.mean())
        assert rep.pit.ad_pvalue == pytest.approx(cal.pit_uniformity(cal.pit(x, y), n_members=300).ad_pvalue)
        pd.testing.assert_frame_equal(rep.coverage, cal.coverage_table(cal.interval_hits(x, y)))
        assert set(rep.criteria) == {
            "pit_ad_p_gt_0.10",
            "coverage_95_in_94_96",
            "christoffersen_independence_95",
            "crps_improvement_ge_10pct",
        }
        assert rep.criteria["crps_improvement_ge_10pct"] is True
        d = rep.to_dict()
        json.dumps(d, allow_nan=False)
        assert d["coverage"][0]["level"] == 0.5
        assert "CRPS mean" in rep.summary() and "95% interval" in rep.summary()

    def test_from_components_and_missing_level(self, rng):
        x, y = _forecasts(4, 200, 200, "normal", 1.0)
        rep = cal.CalibrationReport.from_components(
            cal.pit(x, y), cal.interval_hits(x, y, (0.9,)), cal.crps_ensemble(x, y)
        )
        assert rep.criteria["coverage_95_in_94_96"] is None
        assert rep.criteria["crps_improvement_ge_10pct"] is None
        with pytest.raises(DataError, match="hit sequences must have one value per forecast"):
            cal.CalibrationReport.from_components(
                cal.pit(x, y), cal.interval_hits(x[:10], y[:10]), cal.crps_ensemble(x, y)
            )


def test_the_ten_percent_crps_line_is_informational():
    rng = np.random.default_rng(8)
    y = rng.standard_normal(800)
    x = rng.standard_normal((800, 400))  # a calibrated forecaster
    rep = cal.calibration_report(x, y, baseline_crps=cal.crps_normal(0.0, 1.05, y))
    assert rep.criteria["crps_improvement_ge_10pct"] is False  # skill far below 10% against a near-equal baseline
    assert "crps_improvement_ge_10pct" in cal.INFORMATIONAL
    counted = [v for k, v in rep.criteria.items() if k not in cal.INFORMATIONAL and v is not None]
    assert rep.passed == all(counted)
    assert "[info: not met] crps_improvement_ge_10pct" in rep.summary()


# ----------------------------------------------------------------- the ensemble log score
def test_log_score_of_an_ensemble_against_scipy_kde_and_the_smoothed_normal():
    from volresearch.validate.scores import log_score_ensemble

    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 400))
    y = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    ours = log_score_ensemble(x, y)
    for i in range(5):  # scipy's Gaussian KDE with our bandwidth
        sd = x[i].std(ddof=1)
        iqr = (np.percentile(x[i], 75) - np.percentile(x[i], 25)) / 1.34
        h = 0.9 * min(sd, iqr) * 400 ** (-0.2)
        kde = stats.gaussian_kde(x[i], bw_method=h / sd)
        assert ours[i] == pytest.approx(float(np.log(kde(y[i])[0])), rel=1e-9, abs=1e-9)
    # on average over members drawn from N(0, 1) the KDE is N(0, 1 + h^2): its log density at y
    big = rng.standard_normal((200, 4000))
    yy = np.full(200, 0.7)
    h = 0.9 * 4000 ** (-0.2)  # min(sd, iqr/1.34) ~ 1 for the standard normal
    expected = stats.norm.logpdf(0.7, scale=math.sqrt(1 + h * h))
    assert np.mean(log_score_ensemble(big, yy)) == pytest.approx(expected, abs=0.01)
    # far outliers stay finite (log-sum-exp around the nearest member)
    assert np.isfinite(log_score_ensemble(x[:1], np.array([60.0])))[0]
    with pytest.raises(DataError, match="no spread"):
        log_score_ensemble(np.ones((1, 10)), np.array([1.0]))
