"""Numba path kernels against their numpy twins, numpy's quantiles and exact ppfs."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from arch.univariate import GeneralizedError, SkewStudent
from numba import njit
from scipy import integrate, stats

from volresearch.errors import SimulationError
from volresearch.simulate import StreamState, build_ppf_table
from volresearch.simulate import kernels as K

SKEW_PARAMS = np.array([8.0, -0.3])  # Hansen skew-t (eta, lambda)
GED_PARAMS = np.array([1.3])


def _skewt_ppf(u: np.ndarray) -> np.ndarray:
    return SkewStudent().ppf(u, SKEW_PARAMS)


def _skewt_cdf(z: np.ndarray) -> np.ndarray:
    return SkewStudent().cdf(z, SKEW_PARAMS)


def _skewt_isf(v: np.ndarray) -> np.ndarray:
    """Hansen's upper tail written with t.isf, exact where ``1 - v`` is not."""
    eta, lam = SKEW_PARAMS
    c = math.exp(math.lgamma((eta + 1) / 2) - math.lgamma(eta / 2)) / math.sqrt(math.pi * (eta - 2))
    a = 4 * lam * c * (eta - 2) / (eta - 1)
    b = math.sqrt(1 + 3 * lam**2 - a**2)
    v = np.asarray(v, dtype=np.float64)
    out = np.asarray(_skewt_ppf(1.0 - v), dtype=np.float64).copy()
    hi = v < (1 + lam) / 2
    out[hi] = (stats.t.isf(v[hi] / (1 + lam), eta) * (1 + lam) * math.sqrt(1 - 2 / eta) - a) / b
    return out


DISTS = {
    "normal": (stats.norm.ppf, stats.norm.cdf),
    "t5": (
        lambda u: stats.t.ppf(u, 5) * math.sqrt(3 / 5),
        lambda z: stats.t.cdf(z * math.sqrt(5 / 3), 5),
    ),
    "ged1.3": (
        lambda u: GeneralizedError().ppf(u, GED_PARAMS),
        lambda z: GeneralizedError().cdf(z, GED_PARAMS),
    ),
    "skewt": (_skewt_ppf, _skewt_cdf),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, object]:
    return {name: build_ppf_table(ppf, name=name) for name, (ppf, _) in DISTS.items()}


@pytest.fixture
def restore_threads():  # type: ignore[no-untyped-def]
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


# --------------------------------------------------------------------------
# innovation tables
# --------------------------------------------------------------------------
def _dense_u() -> np.ndarray:
    tails = np.logspace(-12, math.log10(0.4999), 4000)
    return np.concatenate([np.linspace(1e-6, 1 - 1e-6, 100_001), tails, 1.0 - tails])


@pytest.mark.parametrize("name", ["normal", "t5", "ged1.3"])
def test_table_matches_exact_ppf(tables: dict, name: str) -> None:
    ppf = DISTS[name][0]
    u = _dense_u()
    exact = ppf(u)
    rel = np.abs(tables[name].ppf(u) - exact) / np.maximum(1.0, np.abs(exact))
    assert rel.max() < 5e-8
    assert tables[name].max_rel_error < 5e-8


def test_skewt_table_accuracy(tables: dict) -> None:
    """Body and lower tail against arch's ppf; upper tail against an exact isf.

    arch's ``SkewStudent.ppf`` computes the upper tail from ``u`` close to 1
    and loses ~1e-5 relative precision there; with ``isf`` the table is exact
    to ~1e-9 in both tails.
    """
    table = tables["skewt"]
    u = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 100_001), np.logspace(-12, -6, 2000)])
    exact = _skewt_ppf(u)
    assert np.max(np.abs(table.ppf(u) - exact) / np.maximum(1.0, np.abs(exact))) < 5e-8
    with_isf = build_ppf_table(_skewt_ppf, isf=_skewt_isf)
    uu = 1.0 - np.logspace(-12, -1, 3000)
    v_eff = 1.0 - uu  # the tail probability the double uu stands for
    ref = _skewt_isf(v_eff)
    assert np.max(np.abs(with_isf.ppf(uu) - ref) / np.abs(ref)) < 5e-9
    assert with_isf.max_rel_error < 5e-9
    # arch's own upper tail is what limits the table built from ppf alone
    assert np.max(np.abs(_skewt_ppf(uu) - ref) / np.abs(ref)) > 1e-7


@pytest.mark.parametrize(("name", "seed"), [("normal", 1), ("t5", 2), ("ged1.3", 3), ("skewt", 4)])
def test_kernel_draws_follow_the_distribution(tables: dict, name: str, seed: int) -> None:
    z = tables[name].sample(250, 800, seed).ravel()  # 200,000 draws from the kernel
    assert stats.kstest(z, DISTS[name][1]).pvalue > 0.01


@pytest.mark.parametrize("name", list(DISTS))
def test_table_moments(tables: dict, name: str) -> None:
    table = tables[name]
    ppf, cdf = DISTS[name]
    assert abs(table.mean) < 1e-9
    assert abs(table.variance - 1.0) < 1e-8
    f0 = float(cdf(np.array([0.0]))[0])
    assert table.prob_negative == pytest.approx(f0, abs=1e-10)
    kappa = integrate.quad(
        lambda q: float(ppf(np.array([q]))[0]) ** 2, 0.0, f0, limit=400, points=[1e-9, 1e-6, 1e-3, 1e-1]
    )[0]
    assert table.neg_second_moment == pytest.approx(kappa, rel=1e-7)
    if name != "skewt":
        assert table.neg_second_moment == pytest.approx(0.5, abs=1e-8)


def test_skewed_law_moment_below_zero_differs_from_probability(tables: dict) -> None:
    t = tables["skewt"]
    assert t.prob_negative < 0.46 and t.neg_second_moment > 0.58


def test_standardise_and_moment_check() -> None:
    raw_t5 = lambda u: stats.t.ppf(u, 5)  # noqa: E731  variance 5/3
    with pytest.raises(SimulationError, match="not standardised"):
        build_ppf_table(raw_t5)
    table = build_ppf_table(raw_t5, standardise=True)
    assert abs(table.mean) < 1e-12 and abs(table.variance - 1.0) < 1e-12
    u = np.linspace(0.001, 0.999, 999)
    assert np.allclose(table.ppf(u), stats.t.ppf(u, 5) * math.sqrt(3 / 5), rtol=1e-8, atol=1e-8)


def test_table_build_errors() -> None:
    with pytest.raises(SimulationError, match="power of two"):
        build_ppf_table(stats.norm.ppf, per_octave=48)
    with pytest.raises(SimulationError, match="u_min must lie"):
        build_ppf_table(stats.norm.ppf, u_min=0.3)
    with pytest.raises(SimulationError, match="without isf"):
        build_ppf_table(stats.norm.ppf, u_min=5e-15)
    assert build_ppf_table(stats.norm.ppf, u_min=5e-15, isf=stats.norm.isf).u_lo == 2.0**-48
    with pytest.raises(SimulationError, match="non-finite"), np.errstate(invalid="ignore"):
        build_ppf_table(lambda u: np.log(u - 0.3))
    with pytest.raises(SimulationError, match="not monotone"):
        build_ppf_table(lambda u: -stats.norm.ppf(u))


def test_tables_are_read_only(tables: dict) -> None:
    with pytest.raises(ValueError):
        tables["normal"].coef[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        tables["normal"].tail[0, 0] = 1.0


@njit
def _table_z_many(
    words: np.ndarray,
    coef: np.ndarray,
    p_min: int,
    m_bits: int,
    tail: np.ndarray,
    key: np.ndarray,
    streams: np.ndarray,
    counters: np.ndarray,
) -> np.ndarray:
    out = np.empty(words.shape[0])
    for i in range(words.shape[0]):
        out[i] = K.table_z(words[i], coef, p_min, m_bits, tail, key, streams[i], counters[i])
    return out


def _deep_words(rng: np.random.Generator) -> np.ndarray:
    """Words whose tail distance lies below the table (and at its edges), the deepest cell included."""
    ks = [0, 1, 2, 3, 2**10, 2**20 - 1, 2**38, 2**39 - 1, 2**39, 2**39 + 1, 2**40, 2**52 - 1]
    ks += list(rng.integers(0, 2**39, size=200))
    ks_arr = np.array(ks, dtype=np.uint64)
    low = (ks_arr << np.uint64(11)) | rng.integers(0, 2**11, size=ks_arr.size, dtype=np.uint64)
    return np.concatenate([low, low | np.uint64(1 << 63), np.zeros(50, np.uint64), np.full(50, 1 << 63, np.uint64)])


@pytest.mark.parametrize("name", list(DISTS))
def test_table_z_kernel_equals_twin(tables: dict, name: str) -> None:
    rng = np.random.default_rng(8)
    words = np.concatenate([rng.integers(0, 2**64, size=20_000, dtype=np.uint64), _deep_words(rng)])
    streams = rng.integers(0, 2**40, size=words.size, dtype=np.uint64)
    counters = rng.integers(0, 2**40, size=words.size, dtype=np.uint64)
    key = np.array([3, 5], dtype=np.uint64)
    args = tables[name].kernel_args
    got = _table_z_many(words, *args, key, streams, counters)
    assert np.array_equal(got, K.table_z_numpy(words, *args, key, streams, counters))
    assert np.array_equal(got, tables[name].from_words_exact(words, key, streams, counters))
    # the deepest cell is refined: its words take many values, unlike the one-word law
    cell = ((words >> np.uint64(11)) & np.uint64((1 << 52) - 1)) == 0
    assert np.unique(got[cell]).size > 50 and np.unique(tables[name].from_words(words[cell])).size <= 2


def test_continuation_below_the_table_is_the_table_law(tables: dict) -> None:
    """Below the table the kernels evaluate the same law as ``PpfTable.ppf``: ``y = log2(v / u_lo)``."""
    rng = np.random.default_rng(4)
    for name in DISTS:
        table = tables[name]
        ks = rng.integers(1, 1 << (table.p_min - 1), size=2000, dtype=np.uint64)  # v below u_lo, not the cell
        words = np.concatenate([ks << np.uint64(11), (ks << np.uint64(11)) | np.uint64(1 << 63)])
        v = np.ldexp(np.concatenate([2 * ks + 1, 2 * ks + 1]).astype(np.float64), -54)
        u = np.where(words >> np.uint64(63) == 1, 1.0 - v, v)
        z = table.from_words(words)
        ref = table.ppf(np.where(u < 0.5, u, 0.5))  # lower side: exact v
        np.testing.assert_allclose(z[: ks.size], ref[: ks.size], rtol=1e-12)
        # upper side through the mirrored coordinate (1 - v is not exact as a double)
        side1 = table.tail[1]
        y = np.log2(v[ks.size :] / table.u_lo)
        np.testing.assert_allclose(z[ks.size :], side1[0] + side1[1] * np.exp(-side1[2] * y) + side1[3] * y, rtol=1e-12)


def test_tail_continuation_is_monotone_and_continuous(tables: dict) -> None:
    for name in DISTS:
        table = tables[name]
        ks = np.arange(0, 2**16, dtype=np.uint64)
        starts = [0, 2**38, 2**39 - 2**15, 2**39]
        ks = np.unique(np.concatenate([np.uint64(s0) + ks for s0 in starts]))
        lower = table.from_words(ks << np.uint64(11))  # v increasing -> z increasing
        upper = table.from_words((ks << np.uint64(11)) | np.uint64(1 << 63))  # z decreasing
        assert np.all(np.diff(lower) >= 0) and np.all(np.diff(upper) <= 0)
        # the continuation meets the table at u_lo = 2**(p_min - 54)
        edge = np.uint64((1 << (table.p_min - 1)) - 1)  # largest k below the table
        z_below, z_at = table.from_words(np.array([edge, edge + np.uint64(1)]) << np.uint64(11))
        step = abs(table.from_words(np.array([(edge + np.uint64(2)) << np.uint64(11)]))[0] - z_at)
        assert abs(z_at - z_below) < 10 * step + 1e-9
        assert table.from_words(np.array([0], np.uint64))[0] < z_below


# --------------------------------------------------------------------------
# variance step
# --------------------------------------------------------------------------
@njit
def _step_many(
    code: int, e: np.ndarray, s2: np.ndarray, omega: float, alpha: float, gamma: float, beta: float
) -> np.ndarray:
    out = np.empty(e.shape[0])
    for i in range(e.shape[0]):
        out[i] = K.step_variance(code, e[i], s2[i], omega, alpha, gamma, beta)
    return out


@pytest.mark.parametrize(
    ("code", "params"),
    [(K.GARCH, (1e-6, 0.08, 0.0, 0.9)), (K.GJR, (1e-6, 0.03, 0.1, 0.9)), (K.EGARCH, (-0.4, 0.1, -0.07, 0.96))],
)
def test_step_variance_equals_twin_and_formula(code: int, params: tuple) -> None:
    rng = np.random.default_rng(1)
    s2 = rng.uniform(1e-6, 1e-3, 500)
    e = rng.standard_normal(500) * np.sqrt(s2)
    got = _step_many(code, e, s2, *params)
    assert np.array_equal(got, K.step_variance_numpy(code, e, s2, *params))
    omega, alpha, gamma, beta = params
    if code == K.EGARCH:
        z = e / np.sqrt(s2)
        ref = np.exp(omega + alpha * (np.abs(z) - math.sqrt(2 / math.pi)) + gamma * z + beta * np.log(s2))
    else:
        ref = omega + (alpha + (gamma if code == K.GJR else 0.0) * (e < 0)) * e**2 + beta * s2
    assert np.allclose(got, ref, rtol=1e-13, atol=0)


def test_realised_shock_drives_the_variance() -> None:
    """The next variance depends on the shock drawn, not on its expectation."""
    s2 = np.full(2, 1e-4)
    e = np.array([0.0, 0.03])
    nxt = _step_many(K.GARCH, e, s2, 1e-6, 0.1, 0.0, 0.85)
    assert nxt[1] - nxt[0] == pytest.approx(0.1 * 0.03**2)


# --------------------------------------------------------------------------
# path kernels vs numpy twins
# --------------------------------------------------------------------------
MODELS = [
    (K.GARCH, (2e-4, 1e-6, 0.08, 0.0, 0.9)),
    (K.GJR, (2e-4, 1e-6, 0.03, 0.1, 0.9)),
    (K.EGARCH, (2e-4, -0.4, 0.1, -0.07, 0.96)),
]


def _state(n: int, seed: int = 3, counter: int = 0) -> tuple[np.ndarray, np.ndarray, StreamState]:
    st = StreamState.create(seed, n)
    st.counter[:] = counter
    return np.linspace(4.0, 5.0, n), np.linspace(1e-5, 1e-4, n), st


@pytest.mark.parametrize(("code", "params"), MODELS)
@pytest.mark.parametrize("counter", [0, 3])
def test_matrix_kernel_equals_twin(tables: dict, code: int, params: tuple, counter: int) -> None:
    n, steps = 203, 41  # not multiples of the path block or of 4
    x, s2, st = _state(n, counter=counter)
    args = tables["skewt"].kernel_args
    ref, x_ref, s2_ref, c_ref = K.simulate_matrix_numpy(
        code, *params, x, s2, st.key, st.stream, st.counter, *args, steps
    )
    out = np.empty((steps + 1, n))
    K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out)
    assert np.array_equal(out, ref)
    assert np.array_equal(x, x_ref) and np.array_equal(s2, s2_ref) and np.array_equal(st.counter, c_ref)
    assert np.array_equal(out[0], np.linspace(4.0, 5.0, n))


def test_float32_output_is_the_float64_paths_rounded(tables: dict) -> None:
    code, params = MODELS[1]
    res = {}
    for dt in (np.float64, np.float32):
        x, s2, st = _state(150)
        out = np.empty((31, 150), dtype=dt)
        K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *tables["normal"].kernel_args, out)
        res[dt] = out
    assert np.array_equal(res[np.float32], res[np.float64].astype(np.float32))


@pytest.mark.parametrize(("code", "params"), MODELS)
def test_advance_states_splits_and_matches_matrix(tables: dict, code: int, params: tuple) -> None:
    n = 130
    args = tables["t5"].kernel_args
    x, s2, st = _state(n)
    out = np.empty((26, n))
    K.simulate_matrix(code, *params, x.copy(), s2.copy(), st.key, st.stream, st.counter.copy(), *args, out)
    xa, s2a, sta = _state(n)
    for k in (1, 2, 7, 9, 6):  # 25 steps in uneven pieces
        K.advance_states(code, *params, xa, s2a, k, sta.key, sta.stream, sta.counter, *args)
    assert np.array_equal(xa, out[-1])
    xb, s2b, stb = _state(n)
    K.advance_states(code, *params, xb, s2b, 25, stb.key, stb.stream, stb.counter, *args)
    assert np.array_equal(xb, xa) and np.array_equal(s2b, s2a) and np.array_equal(stb.counter, sta.counter)
    x0, s20, _ = _state(n)
    xt, s2t, ct = K.advance_states_numpy(code, *params, x0, s20, 25, st.key, st.stream, np.zeros(n, np.uint64), *args)
    assert np.array_equal(xt, xb) and np.array_equal(s2t, s2b) and np.array_equal(ct, stb.counter)


def test_seeds_reproduce_and_differ(tables: dict) -> None:
    code, params = MODELS[1]
    args = tables["normal"].kernel_args
    outs = []
    for seed in (5, 5, 6):
        x, s2, st = _state(100, seed=seed)
        out = np.empty((21, 100))
        K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out)
        outs.append(out)
    assert np.array_equal(outs[0], outs[1])
    assert not np.any(outs[0][1:] == outs[2][1:])


def test_identical_for_one_and_two_threads(tables: dict, restore_threads: None) -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    code, params = MODELS[1]
    args = tables["skewt"].kernel_args
    probs = np.array([0.05, 0.5, 0.95])
    res = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        x, s2, st = _state(1000)
        out = np.empty((97, 1000))
        K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out)
        x, s2, st = _state(1000)
        bands = _run_bands(code, params, x, s2, st, args, np.empty(0), probs, 96, 3, k_rows=8)
        res.append((out, bands))
    assert np.array_equal(res[0][0], res[1][0])
    for key in res[0][1]:
        assert np.array_equal(res[0][1][key], res[1][1][key])


def _run_bands(
    code: int,
    params: tuple,
    x: np.ndarray,
    s2: np.ndarray,
    st: StreamState,
    args: tuple,
    weights: np.ndarray,
    probs: np.ndarray,
    steps: int,
    n_samples: int,
    k_rows: int,
) -> dict[str, np.ndarray]:
    nq = probs.size
    res = {
        "log_q": np.empty((steps + 1, nq)),
        "price_q": np.empty((steps + 1, nq)),
        "mean": np.empty(steps + 1),
        "var": np.empty(steps + 1),
        "samples": np.empty((steps + 1, n_samples)),
    }
    scratch = np.empty((2, k_rows, x.size))
    K.simulate_bands(
        code, *params, x, s2, st.key, st.stream, st.counter, *args, weights, probs, scratch,
        res["log_q"], res["price_q"], res["mean"], res["var"], res["samples"],
    )  # fmt: skip
    res["x"] = x
    return res


@pytest.mark.parametrize(("code", "params"), MODELS)
@pytest.mark.parametrize("weighted", [False, True])
def test_band_kernel_equals_twin(tables: dict, code: int, params: tuple, weighted: bool) -> None:
    n, steps = 257, 37
    args = tables["ged1.3"].kernel_args
    probs = np.array([0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    w = np.random.default_rng(2).random(n) if weighted else np.empty(0)
    if weighted:
        w[::17] = 0.0
        w /= w.sum()
    x, s2, st = _state(n)
    twin = K.simulate_bands_numpy(code, *params, x, s2, st.key, st.stream, st.counter, *args, w, probs, steps, 4)
    for k_rows in (1, 5, 32):
        x, s2, st = _state(n)
        got = _run_bands(code, params, x, s2, st, args, w, probs, steps, 4, k_rows)
        assert np.array_equal(got["log_q"], twin["log_q"])
        assert np.array_equal(got["price_q"], twin["price_q"])
        assert np.allclose(got["mean"], twin["mean"], rtol=1e-13, atol=0)
        assert np.allclose(got["var"], twin["var"], rtol=1e-9, atol=1e-13 * twin["var"].max())
        assert np.array_equal(got["samples"], twin["samples"])
        assert np.array_equal(got["x"], twin["x"])


@pytest.mark.parametrize("weighted", [False, True])
def test_band_quantiles_equal_numpy_inverted_cdf_of_matrix(tables: dict, weighted: bool) -> None:
    """Streamed bands are numpy's inverted-cdf quantiles of the same paths, row by row, weighted or not."""
    code, params = MODELS[1]
    args = tables["t5"].kernel_args
    probs = np.array([0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0])
    n = 2000
    w = np.random.default_rng(8).exponential(size=n) if weighted else np.empty(0)
    if weighted:
        w[::7] = 0.0
    x, s2, st = _state(n)
    out = np.empty((61, n))
    K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out)
    x, s2, st = _state(n)
    got = _run_bands(code, params, x, s2, st, args, w, probs, 60, 0, k_rows=16)
    for t in range(out.shape[0]):
        kw = {"weights": w} if weighted else {}
        ref = np.quantile(out[t], probs, method="inverted_cdf", **kw)
        assert np.array_equal(got["log_q"][t], ref)
        assert np.array_equal(got["price_q"][t], np.quantile(np.exp(out[t]), probs, method="inverted_cdf", **kw))


# --------------------------------------------------------------------------
# quantile machinery: the package's one rule (inverted cdf), exactly numpy's result
# --------------------------------------------------------------------------
PROBS = np.array([0.0, 0.001, 0.05, 0.1, 0.25, 0.3, 0.3333, 0.5, 0.7, 0.75, 0.9, 0.95, 0.999, 1.0])


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    return [
        rng.standard_normal((5, 10_000)),
        rng.integers(0, 7, size=(4, 3001)).astype(np.float64),  # heavy ties
        np.full((2, 999), 4.2),
        np.concatenate([rng.standard_normal((3, 500)), np.full((3, 1), 1e300)], axis=1),  # one huge outlier
        stats.t.rvs(1.2, size=(3, 4000), random_state=5),  # very heavy tails
        rng.standard_normal((2, 1)),
        rng.standard_normal((2, 2)),
        np.sort(rng.standard_normal((2, 777)))[:, ::-1].copy(),  # reversed order
        rng.standard_normal((2, 10)),  # n q lands on integers for q = 0.1, 0.3, 0.5, 0.7 ...
        rng.standard_normal((2, 20)),
    ]


@pytest.mark.parametrize("case", range(10))
def test_matrix_quantiles_equal_numpy_inverted_cdf(case: int) -> None:
    values = _cases()[case]
    ranks, index = K.inverted_cdf_plan(values.shape[1], PROBS)
    out = np.empty((values.shape[0], PROBS.size))
    K.matrix_quantiles(values, np.empty(0), PROBS, ranks, index, out)
    assert np.array_equal(out, np.quantile(values, PROBS, axis=1, method="inverted_cdf").T)


def test_inverted_cdf_plan_equals_numpy_for_every_size_and_level() -> None:
    probs = np.linspace(0.0, 1.0, 1001)
    for n in range(1, 60):
        x = np.arange(n, dtype=np.float64)
        _, index = K.inverted_cdf_plan(n, probs)
        assert np.array_equal(x[index], np.quantile(x, probs, method="inverted_cdf"))


@pytest.mark.parametrize("case", range(8))
def test_order_statistics_and_select_ranks(case: int) -> None:
    for row in _cases()[case]:
        ranks = np.unique(np.linspace(0, row.size - 1, 9).astype(np.int64))
        vals = np.empty(ranks.size)
        K.order_statistics(row, ranks, vals)
        assert np.array_equal(vals, np.sort(row)[ranks])
        work = row.copy()
        K.select_ranks(work, ranks)
        assert np.array_equal(work[ranks], np.sort(row)[ranks])
        assert np.array_equal(np.sort(work), np.sort(row))


@pytest.mark.parametrize("weighted", [False, True])
def test_matrix_quantiles_nan_rows_give_nan(weighted: bool) -> None:
    values = np.random.default_rng(1).standard_normal((3, 100))
    values[1, 7] = np.nan
    ranks, index = K.inverted_cdf_plan(100, PROBS)
    out = np.empty((3, PROBS.size))
    w = np.random.default_rng(2).random(100) if weighted else np.empty(0)
    K.matrix_quantiles(values, w, PROBS, ranks, index, out)
    assert np.all(np.isnan(out[1])) and np.all(np.isfinite(out[[0, 2]]))


def _weighted_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(13)
    cases = []
    for n in (1, 2, 3, 17, 1000, 10_000):
        cases.append((rng.standard_normal(n), rng.random(n)))
    x = rng.integers(0, 5, 2000).astype(np.float64)  # heavy ties, including at the maximum
    cases.append((x, rng.random(2000)))
    w = rng.random(3000)
    w[::3] = 0.0  # zero weights, also on extreme values
    x = rng.standard_normal(3000)
    x[np.argmax(x)] = 50.0
    w[np.argmax(x)] = 0.0
    w[np.argmin(x)] = 0.0
    cases.append((x, w))
    x = np.concatenate([rng.standard_normal(999), [1e300]])  # one huge outlier
    cases.append((x, rng.random(1000)))
    cases.append((np.full(50, 3.0), rng.random(50)))
    cases.append((stats.t.rvs(1.1, size=5000, random_state=3), rng.exponential(size=5000)))
    cases.append((np.arange(10.0), np.full(10, 0.1)))  # equal weights whose cdf hits the levels exactly
    return cases


@pytest.mark.parametrize("case", range(12))
def test_weighted_quantile_kernels_equal_numpy_weighted_inverted_cdf(case: int) -> None:
    x, w = _weighted_cases()[case]
    ref = np.quantile(x, PROBS, weights=w, method="inverted_cdf")
    out = np.empty(PROBS.size)
    K.weighted_quantiles_row(x, w, PROBS, out)
    assert np.array_equal(out, ref)
    assert np.array_equal(K.weighted_quantile_numpy(x, w, PROBS), ref)
    values = np.ascontiguousarray(np.stack([x, x]))
    ranks, index = K.inverted_cdf_plan(x.size, PROBS)
    rows = np.empty((2, PROBS.size))
    K.matrix_quantiles(values, w, PROBS, ranks, index, rows)
    assert np.array_equal(rows[0], ref) and np.array_equal(rows[1], ref)


def test_weighted_quantile_counts_the_weight_of_the_largest_value() -> None:
    """99 % of the weight on x = 10 among 0..10: every level above 1 % is 10 (the old rule gave 5 for the median)."""
    x = np.arange(11.0)
    w = np.full(11, 0.01 / 10)
    w[10] = 0.99
    levels = np.array([0.02, 0.05, 0.5, 0.95])
    out = np.empty(levels.size)
    K.weighted_quantiles_row(x, w, levels, out)
    assert np.array_equal(out, np.full(levels.size, 10.0))
    assert np.array_equal(K.weighted_quantile_numpy(x, w, levels), np.full(levels.size, 10.0))
    # the smallest level still sees the bottom of the sample
    K.weighted_quantiles_row(x, w, np.array([0.0, 0.0005, 0.001]), out[:3])
    assert np.array_equal(out[:3], [0.0, 0.0, 0.0])


def test_integer_weights_are_multiplicities() -> None:
    rng = np.random.default_rng(21)
    for n in (1, 3, 40, 500):
        x = rng.standard_normal(n)
        counts = rng.integers(1, 6, n)
        expanded = np.repeat(x, counts)
        out = np.empty(PROBS.size)
        K.weighted_quantiles_row(x, counts.astype(np.float64), PROBS, out)
        assert np.array_equal(out, np.quantile(expanded, PROBS, method="inverted_cdf"))


def test_equal_weights_give_the_unweighted_rule() -> None:
    rng = np.random.default_rng(10)
    probs = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])  # levels where n q is not an integer
    for n in (3, 7, 1001, 9999):
        x = rng.standard_normal(n) * 0.01 + 4.6
        out = np.empty(probs.size)
        K.weighted_quantiles_row(x, np.full(n, 1.0 / n), probs, out)
        assert np.array_equal(out, np.quantile(x, probs, method="inverted_cdf"))


def test_zero_weights_drop_values() -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal(50)
    w = rng.random(50)
    w[::3] = 0.0
    keep = w > 0
    a = np.empty(PROBS.size)
    b = np.empty(PROBS.size)
    K.weighted_quantiles_row(x, w, PROBS, a)
    K.weighted_quantiles_row(x[keep], w[keep], PROBS, b)
    assert np.array_equal(a, b)


@njit
def _expm1_many(d: np.ndarray) -> np.ndarray:
    out = np.empty_like(d)
    for i in range(d.size):
        out[i] = K.expm1_fast(d[i])
    return out


def test_expm1_fast_is_accurate() -> None:
    rng = np.random.default_rng(12)
    d = np.concatenate([rng.standard_normal(100_000) * s for s in (1e-9, 1e-4, 0.05, 0.5, 3.0, 50.0)])
    d = np.concatenate([d, [0.0, -0.0, 0.34657359, -0.34657359, 700.0, -700.0]])
    got = _expm1_many(d)
    ref = np.expm1(d)
    assert np.max(np.abs(got - ref) / np.abs(np.where(ref == 0, 1.0, ref))) < 5e-16
    assert got[-6] == 0.0


def test_stable_argsort_equals_numpy_stable_argsort() -> None:
    rng = np.random.default_rng(21)
    cases = [
        np.empty(0),
        np.array([3.0]),
        4.6 + 1e-3 * rng.standard_normal(5000),  # one step's log prices: shared sign and exponent
        rng.standard_normal(3000) * 10.0 ** rng.integers(-300, 300, 3000),
        np.round(rng.standard_normal(4000), 1),  # many ties
        np.array([0.0, -0.0, 1.0, -1.0, 0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 0.0]),
    ]
    for values in cases:
        order = np.empty(values.size, dtype=np.int64)
        K.stable_argsort(values, order)
        np.testing.assert_array_equal(order, np.argsort(values, kind="stable"))
    f32 = (4.6 + 1e-3 * rng.standard_normal(2000)).astype(np.float32)
    order = np.empty(f32.size, dtype=np.int64)
    K.stable_argsort(f32, order)
    np.testing.assert_array_equal(order, np.argsort(f32, kind="stable"))


# --------------------------------------------------------------------------
# per-step variance multiplier (the multiplicative intraday model)
# --------------------------------------------------------------------------
def _mult(steps: int) -> np.ndarray:
    return 1e-6 * (1.0 + 0.9 * np.sin(np.linspace(0.0, 7.0, steps)) ** 2)


@pytest.mark.parametrize(("code", "params"), MODELS)
def test_absent_empty_or_unit_multiplier_is_the_plain_kernel_bit_for_bit(
    tables: dict, code: int, params: tuple
) -> None:
    n, steps = 203, 41
    args = tables["skewt"].kernel_args
    probs = np.array([0.05, 0.5, 0.95])
    res = []
    for mult in (None, np.empty(0), np.ones(steps)):
        x, s2, st = _state(n, counter=3)
        out = np.empty((steps + 1, n))
        K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out, mult)
        xa, s2a, sta = _state(n, counter=3)
        K.advance_states(code, *params, xa, s2a, steps, sta.key, sta.stream, sta.counter, *args, mult)
        xs, s2s, sts = _state(n, counter=3)
        K.advance_states_serial(code, *params, xs, s2s, steps, sts.key, sts.stream, sts.counter, *args, mult)
        xb, s2b, stb = _state(n, counter=3)
        nq = probs.size
        bands = [np.empty((steps + 1, nq)), np.empty((steps + 1, nq)), np.empty(steps + 1), np.empty(steps + 1)]
        K.simulate_bands(
            code, *params, xb, s2b, stb.key, stb.stream, stb.counter, *args, np.empty(0), probs,
            np.empty((2, 8, n)), *bands, np.empty((steps + 1, 2)), mult,
        )  # fmt: skip
        res.append((out, x, s2, xa, s2a, xs, s2s, *bands))
    for other in res[1:]:
        for a, b in zip(res[0], other, strict=True):
            assert np.array_equal(a, b)


@pytest.mark.parametrize(("code", "params"), MODELS)
def test_multiplier_kernel_equals_twin_and_the_intraday_recursion(tables: dict, code: int, params: tuple) -> None:
    from volresearch.simulate.kernels.intraday import advance_intraday_numpy

    n, steps = 203, 41
    args = tables["t5"].kernel_args
    mult = _mult(steps)
    x, s2, st = _state(n, counter=3)
    ref, x_ref, s2_ref, c_ref = K.simulate_matrix_numpy(
        code, *params, x, s2, st.key, st.stream, st.counter, *args, steps, mult
    )
    out = np.empty((steps + 1, n))
    K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out, mult)
    assert np.array_equal(out, ref) and np.array_equal(x, x_ref) and np.array_equal(s2, s2_ref)
    assert np.array_equal(st.counter, c_ref)
    # r_t = sqrt(m_t) (mu + sqrt(q_t) z_t) with the GARCH recursion on the unscaled shock
    x0, q0, st0 = _state(n, counter=3)
    z = K.draw_innovations_numpy(st0.key, st0.stream, st0.counter, *args, steps)
    rows, _, q_end = advance_intraday_numpy(code, *params, mult, z, x0, q0)
    assert np.array_equal(out[1:], rows) and np.array_equal(s2, q_end)
    # the multiplier really scales the returns: variance of step t is m_t times the unit-scale one
    plain = np.empty((steps + 1, n))
    xp, s2p, stp = _state(n, counter=3)
    K.simulate_matrix(code, *params, xp, s2p, stp.key, stp.stream, stp.counter, *args, plain)
    assert np.array_equal(s2p, s2)  # the recursion runs on the unscaled shocks
    np.testing.assert_allclose(
        np.diff(out, axis=0), np.sqrt(mult)[:, None] * np.diff(plain, axis=0), rtol=0, atol=1e-13
    )


@pytest.mark.parametrize(("code", "params"), MODELS)
def test_multiplier_advance_splits_and_bands_follow_the_step_offset(tables: dict, code: int, params: tuple) -> None:
    n, steps = 257, 37
    args = tables["ged1.3"].kernel_args
    mult = _mult(steps)
    x, s2, st = _state(n)
    out = np.empty((steps + 1, n))
    K.simulate_matrix(code, *params, x, s2, st.key, st.stream, st.counter, *args, out, mult)
    xa, s2a, sta = _state(n)
    t = 0
    for k in (1, 2, 7, 9, 6, 12):  # 37 steps in uneven pieces, each with its slice of the multipliers
        K.advance_states(code, *params, xa, s2a, k, sta.key, sta.stream, sta.counter, *args, mult[t : t + k].copy())
        t += k
    assert np.array_equal(xa, out[-1]) and np.array_equal(s2a, s2)
    probs = np.array([0.0, 0.05, 0.5, 0.95, 1.0])
    w = np.random.default_rng(2).random(n)
    x, s2, st = _state(n)
    twin = K.simulate_bands_numpy(
        code, *params, x, s2, st.key, st.stream, st.counter, *args, w, probs, steps, 3, mult
    )  # fmt: skip
    assert np.array_equal(twin["samples"], out[:, :3])
    for k_rows in (1, 5, 32):  # the block offset into the multipliers
        x, s2, st = _state(n)
        nq = probs.size
        got = [np.empty((steps + 1, nq)), np.empty((steps + 1, nq)), np.empty(steps + 1), np.empty(steps + 1)]
        samples = np.empty((steps + 1, 3))
        K.simulate_bands(
            code, *params, x, s2, st.key, st.stream, st.counter, *args, w, probs, np.empty((2, k_rows, n)), *got,
            samples, mult,
        )  # fmt: skip
        assert np.array_equal(got[0], twin["log_q"]) and np.array_equal(samples, twin["samples"])
        assert np.allclose(got[2], twin["mean"], rtol=1e-13, atol=0)
        assert np.array_equal(x, twin["x"])
