"""Heavy-tailed innovation laws: exact far tails beyond the table, moments, truncation reported, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import integrate, stats

from volresearch.errors import SimulationError
from volresearch.models.distributions import isf_function, ppf_function
from volresearch.simulate._rng import (
    deep_tail_uniforms,
    deep_tail_uniforms_numpy,
    philox_key,
    stream_words_numpy,
    uniforms_from_words,
)
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.innovations import build_ppf_table
from volresearch.simulate.kernels import table_z
from volresearch.simulate.paths import simulate_paths

CELL = 2.0**-53  # the deepest cell of one generator word: v < 2**-53


def _scale(nu: float) -> float:
    return math.sqrt((nu - 2) / nu)


def _tail_second_moment(nu: float, c: float) -> float:
    """``E[z^2 1(z > c)]`` of the standardised t(nu), in closed form.

    ``t^2 / (1 + t^2/nu) = nu (1 - 1 / (1 + t^2/nu))`` splits ``t^2 f_nu(t)`` into a
    rescaled ``t_{nu-2}`` density and ``f_nu``: ``(nu - 1) P(T_{nu-2} > c) - (nu - 2) P(T_nu > c / s)``.
    """
    return float((nu - 1) * stats.t.sf(c, nu - 2) - (nu - 2) * stats.t.sf(c / _scale(nu), nu))


def test_tail_moment_identity_against_quadrature():
    nu, c = 5.0, 1.7
    s = _scale(nu)
    quad = integrate.quad(lambda z: z * z * stats.t.pdf(z / s, nu) / s, c, np.inf)[0]
    assert _tail_second_moment(nu, c) == pytest.approx(quad, rel=1e-8)


@pytest.mark.parametrize("nu", [2.05, 2.1, 2.5])
def test_heavy_student_t_tabulates_with_exact_moments_and_reports_the_truncation(nu):
    table = innovation_table("t", {"nu": nu})  # refused before: the table stopped at 2**-54
    assert abs(table.mean) < 1e-9 and table.variance == pytest.approx(1.0, abs=1e-7)
    assert table.neg_second_moment == pytest.approx(0.5, abs=1e-8)
    assert table.tail_index[0] == pytest.approx(nu, rel=1e-6) and table.tail_index[1] == pytest.approx(nu, rel=1e-6)
    # the variance a one-word sampler misses: the law's second moment beyond 2**-53, both sides, less
    # what the single value of that cell (the quantile at 2**-54) carries
    zc = _scale(nu) * stats.t.isf(CELL, nu)
    z_atom = _scale(nu) * stats.t.isf(CELL / 2, nu)
    assert table.truncated_variance == pytest.approx(2 * (_tail_second_moment(nu, zc) - CELL * z_atom**2), rel=1e-4)
    assert table.sampled_variance == pytest.approx(1.0 - table.truncated_variance, abs=1e-7)
    assert table.moments()["truncated_variance"] == table.truncated_variance


def test_light_tails_lose_nothing_to_truncation():
    table = innovation_table("t", {"nu": 5.0})
    assert abs(table.truncated_variance) < 1e-8
    assert abs(innovation_table("normal", {}).truncated_variance) < 1e-12


def test_table_follows_the_true_tail_beyond_the_tabulated_range():
    nu = 2.1
    table = innovation_table("t", {"nu": nu})
    u = np.array([1e-13, 1e-15, 2.0**-53, 1e-16])
    assert table.u_lo > 1e-13  # these lie below the table, on the continuation
    ref = _scale(nu) * stats.t.ppf(u, nu)
    np.testing.assert_allclose(table.ppf(u), ref, rtol=1e-6)


def test_deepest_cell_is_sampled_exactly():
    nu = 2.1
    table = innovation_table("t", {"nu": nu})
    key = philox_key(77)
    n = 200_000
    rng = np.random.default_rng(3)
    side = rng.integers(0, 2, n).astype(np.uint64)
    words = (side << np.uint64(63)) | rng.integers(0, 2**11, n).astype(np.uint64)  # k = 0: the deepest cell
    streams = rng.integers(0, 2**40, n).astype(np.uint64)
    counters = rng.integers(0, 2**40, n).astype(np.uint64)
    z = table.from_words_exact(words, key, streams, counters)
    assert np.all(np.sign(z) == np.where(side == 1, 1, -1))
    # given v < 2**-53, P(|z| > isf(p 2**-53)) = p for the true law, far below anything one word can reach
    for p in (0.5, 0.1, 0.01, 1e-3):
        c = _scale(nu) * stats.t.isf(p * CELL, nu)
        frac = np.mean(np.abs(z) > c)
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-5, p
    # the one-word value of the cell is a single point
    assert np.unique(table.from_words(words[:1000]) * np.where(side[:1000] == 1, 1, -1)).size == 1


def test_large_sample_matches_the_heavy_tail():
    nu = 2.1
    table = innovation_table("t", {"nu": nu})
    key = philox_key(5)
    paths, steps = 2000, 500
    streams = np.arange(paths, dtype=np.uint64)
    counters = np.zeros(paths, dtype=np.uint64)
    words = stream_words_numpy(key, streams, counters, steps)
    idx = np.broadcast_to(np.arange(steps, dtype=np.uint64)[:, None], words.shape)
    z = table.from_words_exact(words.ravel(), key, np.broadcast_to(streams, words.shape).ravel(), idx.ravel())
    # the same words through the path kernels' one-word map agree wherever the word is not the deepest cell
    one_word = table.sample(steps, paths, 5).ravel()
    np.testing.assert_array_equal(z, one_word)  # (no deepest-cell word among 1e6 draws)
    s = _scale(nu)
    assert stats.kstest(z[:200_000], lambda x: stats.t.cdf(x / s, nu)).pvalue > 0.01
    # winsorised second moment (robust: the plain sample variance of t(2.1) is dominated by its maximum)
    for c in (5.0, 50.0):
        target = (1 - 2 * _tail_second_moment(nu, c)) + c * c * 2 * stats.t.sf(c / s, nu)
        w = np.minimum(z * z, c * c)
        assert w.mean() == pytest.approx(target, abs=4 * w.std() / math.sqrt(w.size))
    # tail probability at a level where a light-tailed sample would have none
    c = 30.0
    p = 2 * stats.t.sf(c / s, nu)
    assert abs(np.mean(np.abs(z) > c) - p) < 4 * math.sqrt(p / z.size)


def test_deep_tail_uniforms_numba_twin_and_uniformity():
    key = philox_key(11)
    streams = np.arange(5000, dtype=np.uint64)
    counters = (np.arange(5000, dtype=np.uint64) * np.uint64(7919)) % np.uint64(1 << 40)
    ref = deep_tail_uniforms_numpy(key, streams, counters)
    got = np.array([deep_tail_uniforms(key, s, c) for s, c in zip(streams, counters, strict=True)])
    np.testing.assert_array_equal(got, ref)
    assert np.all((ref > 0) & (ref < 1))
    assert stats.kstest(ref, "uniform").pvalue > 0.01
    # independent of the main-stream words at the same positions
    main = uniforms_from_words(stream_words_numpy(key, streams, counters, 1)[0])
    assert abs(stats.pearsonr(main, ref)[0]) < 4 / math.sqrt(5000)


def test_a_law_without_finite_variance_is_refused_with_its_reason():
    with pytest.raises(SimulationError, match="too heavy for a finite variance"):
        build_ppf_table(stats.cauchy.ppf, isf=stats.cauchy.isf, standardise=True)
    with pytest.raises(SimulationError, match="too heavy for a finite variance"):
        build_ppf_table(lambda u: stats.t.ppf(u, 1.9), isf=lambda v: stats.t.isf(v, 1.9), standardise=True)


def test_student_t_ppf_functions_used_by_the_engine_are_exact_in_the_tail():
    nu = 2.1
    v = np.array([2.0**-40, 2.0**-30])
    np.testing.assert_allclose(isf_function("t", {"nu": nu})(v), _scale(nu) * stats.t.isf(v, nu), rtol=1e-10)
    np.testing.assert_allclose(ppf_function("t", {"nu": nu})(v), _scale(nu) * stats.t.ppf(v, nu), rtol=1e-10)


@njit
def _kernel_z(words, coef, p_min, m_bits, tail, key, streams, counters):  # noqa: ANN001, ANN202
    out = np.empty(words.shape[0])
    for i in range(words.shape[0]):
        out[i] = table_z(words[i], coef, p_min, m_bits, tail, key, streams[i], counters[i])
    return out


def _conditional_tail_check(z: np.ndarray, nu: float, v_top: float, levels: tuple[float, ...]) -> None:
    """Given ``v < v_top`` (uniform), ``P(|z| > isf(p v_top)) = p`` for the standardised t(nu)."""
    n = z.size
    for p in levels:
        c = _scale(nu) * stats.t.isf(p * v_top, nu)
        frac = np.mean(np.abs(z) > c)
        assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-6, (p, frac)


@pytest.mark.parametrize("nu", [2.05, 2.1])
def test_kernel_draws_beyond_the_table_follow_the_student_tail(nu):
    """The path kernels' word -> z map, conditioned on the words below the table, is the t law there."""
    table = innovation_table("t", {"nu": nu})
    key = philox_key(2024)
    rng = np.random.default_rng(9)
    n = 1_000_000
    side = rng.integers(0, 2, n).astype(np.uint64)
    # every word below the table: k uniform on [0, 2**(p_min - 1)), i.e. v uniform on (0, u_lo)
    k = rng.integers(0, 1 << (table.p_min - 1), n).astype(np.uint64)
    words = (side << np.uint64(63)) | (k << np.uint64(11)) | rng.integers(0, 2**11, n).astype(np.uint64)
    streams = rng.integers(0, 2**40, n).astype(np.uint64)
    counters = rng.integers(0, 2**40, n).astype(np.uint64)
    z = _kernel_z(words, *table.kernel_args, key, streams, counters)
    assert np.all(np.sign(z) == np.where(side == 1, 1, -1))
    _conditional_tail_check(z, nu, table.u_lo, (0.5, 0.2, 0.05, 0.01, 1e-3))
    # the deepest cell of one word (v < 2**-53), sampled exactly by the kernels
    cell = np.zeros(n, dtype=np.uint64) | (side << np.uint64(63))
    zc = _kernel_z(cell, *table.kernel_args, key, streams, counters)
    _conditional_tail_check(zc, nu, CELL, (0.5, 0.1, 0.01, 1e-3, 1e-4))


@pytest.mark.parametrize("nu", [2.05, 2.1])
def test_kernel_paths_report_exact_tails_and_keep_the_variance(nu):
    """Simulated paths of a heavy-tailed law say how the tail was sampled; the kernels lose none of it."""
    table = innovation_table("t", {"nu": nu})
    assert table.truncated_variance > 0.1  # what a one-word sampler would lose
    fan = simulate_paths(
        "garch",
        {"mu": 0.0, "omega": 1e-6, "alpha": 0.05, "beta": 0.9},
        ppf_table=table,
        n_paths=64,
        horizon=4,
        x0=0.0,
        sigma2_1=1e-5,
        seed=1,
        mode="bands",
    )
    tails = fan.meta["innovations"]
    assert tails["tail_sampling"] == "exact" and tails["kernel_variance"] == table.variance
    assert tails["tail_index"] == [pytest.approx(nu, rel=1e-6)] * 2
