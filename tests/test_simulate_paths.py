"""Public simulation API: simulate_paths, Paths, Fan, advance_paths, theory checks."""

from __future__ import annotations

import dataclasses
import json
import math
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from arch.univariate import SkewStudent
from scipy import stats

from volresearch import __version__
from volresearch.errors import SimulationError
from volresearch.simulate import (
    MODELS,
    Fan,
    Paths,
    StreamState,
    advance_paths,
    build_ppf_table,
    cumulative_return_variance,
    simulate_paths,
    variance_forecast,
    weighted_quantile,
)

GJR = {"mu": 2e-6, "omega": 2e-9, "alpha": 0.02, "gamma": 0.04, "beta": 0.94}
GARCH = {"mu": 2e-6, "omega": 2e-9, "alpha": 0.05, "beta": 0.93}
X0 = math.log(100.0)


@pytest.fixture(scope="module")
def normal():  # type: ignore[no-untyped-def]
    return build_ppf_table(stats.norm.ppf, name="normal")


@pytest.fixture(scope="module")
def skewt():  # type: ignore[no-untyped-def]
    return build_ppf_table(lambda u: SkewStudent().ppf(u, [8.0, -0.3]), name="skewt(8,-0.3)")


def _sim(table, **kw):  # type: ignore[no-untyped-def]
    args = {"ppf_table": table, "n_paths": 500, "horizon": 60, "x0": X0, "sigma2_1": 3e-7, "seed": 11}
    args.update(kw)
    model = args.pop("model", "gjr")
    params = args.pop("params", GJR)
    return simulate_paths(model, params, **args)


# --------------------------------------------------------------------------
# correctness against theory
# --------------------------------------------------------------------------
def _check_variance(model: str, params: dict, table, seed: int) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """Monte Carlo variance of x_h - x_0 against the analytic sum; returns z-scores."""
    n = 40_000
    sigma2_1 = 3e-7
    x = np.zeros(n)
    s2 = np.full(n, sigma2_1)
    state = StreamState.create(seed, n)
    theory = cumulative_return_variance(model, params, sigma2_1, 1440, neg_second_moment=table.neg_second_moment)
    z = {}
    done = 0
    for h in (1, 10, 100, 1440):
        advance_paths(model, params, x, s2, h - done, ppf_table=table, state=state)
        done = h
        dev = x - x.mean()
        var = float(np.mean(dev**2)) * n / (n - 1)
        m4 = float(np.mean(dev**4))
        se = math.sqrt((m4 - var**2) / n)
        z[h] = (var - theory[h - 1]) / se
    return z


@pytest.mark.parametrize("model", ["garch", "gjr"])
@pytest.mark.parametrize("dist", ["normal", "skewt"])
def test_cumulative_return_variance_matches_theory(model: str, dist: str, request: pytest.FixtureRequest) -> None:
    table = request.getfixturevalue(dist)
    params = GJR if model == "gjr" else GARCH
    z = _check_variance(model, params, table, seed=2024)
    assert all(abs(v) < 3.0 for v in z.values()), z


def test_gjr_gamma_factor_is_the_negative_second_moment(skewt) -> None:  # type: ignore[no-untyped-def]
    """With a skewed law the factor of gamma is E[z^2 1(z<0)], not P(z<0) nor 1/2."""
    n = 40_000
    x = np.zeros(n)
    s2 = np.full(n, 3e-7)
    advance_paths("gjr", GJR, x, s2, 1440, ppf_table=skewt, state=StreamState.create(7, n))
    dev = x - x.mean()
    var = float(np.mean(dev**2))
    se = math.sqrt((float(np.mean(dev**4)) - var**2) / n)

    def zscore(kappa: float) -> float:
        return (var - cumulative_return_variance("gjr", GJR, 3e-7, 1440, neg_second_moment=kappa)[-1]) / se

    assert abs(zscore(skewt.neg_second_moment)) < 3.0
    assert abs(zscore(skewt.prob_negative)) > 10.0
    assert abs(zscore(0.5)) > 5.0


def test_variance_forecast_recursion() -> None:
    f = variance_forecast("gjr", GJR, 3e-7, 4, neg_second_moment=0.6)
    p = GJR["alpha"] + 0.6 * GJR["gamma"] + GJR["beta"]
    expected = [3e-7]
    for _ in range(3):
        expected.append(GJR["omega"] + p * expected[-1])
    assert np.allclose(f, expected, rtol=1e-15)
    assert np.allclose(cumulative_return_variance("gjr", GJR, 3e-7, 4, neg_second_moment=0.6), np.cumsum(expected))
    with pytest.raises(SimulationError, match="no closed form"):
        variance_forecast("egarch", {"mu": 0, "omega": -0.1, "alpha": 0.1, "gamma": 0.0, "beta": 0.9}, 1e-4, 3)


def test_paths_cluster_volatility(normal) -> None:  # type: ignore[no-untyped-def]
    """Squared returns are autocorrelated inside each path (realised shocks feed back)."""
    p = _sim(normal, n_paths=200, horizon=2000, params={**GARCH, "alpha": 0.1, "beta": 0.85}, model="garch")
    r = np.diff(p.log_prices, axis=0) - GARCH["mu"]
    r2 = r**2 - (r**2).mean(axis=0)
    acf1 = float(np.sum(r2[1:] * r2[:-1]) / np.sum(r2 * r2))
    assert acf1 > 0.05


# --------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------
def test_same_seed_same_paths_different_seed_different(normal) -> None:  # type: ignore[no-untyped-def]
    a = _sim(normal)
    b = _sim(normal)
    c = _sim(normal, seed=12)
    assert np.array_equal(a.log_prices, b.log_prices)
    assert not np.any(a.log_prices[1:] == c.log_prices[1:])


def test_path_j_does_not_depend_on_the_number_of_paths(normal) -> None:  # type: ignore[no-untyped-def]
    big = _sim(normal, n_paths=300)
    small = _sim(normal, n_paths=7)
    assert np.array_equal(big.log_prices[:, :7], small.log_prices)


def test_seed_from_generator_and_none_are_recorded(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, seed=np.random.default_rng(3))
    assert np.array_equal(_sim(normal, seed=p.meta["seed"]).log_prices, p.log_prices)
    q = _sim(normal, seed=None)
    assert np.array_equal(_sim(normal, seed=q.meta["seed"]).log_prices, q.log_prices)


def test_meta(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal)
    assert p.meta["model"] == "gjr" and p.meta["dist"] == "normal" and p.meta["seed"] == 11
    assert p.meta["params"] == {k: float(v) for k, v in GJR.items()}
    assert p.meta["version"] == __version__ and p.meta["n_threads"] >= 1
    assert abs(p.meta["innovations"]["variance"] - 1.0) < 1e-9
    assert set(MODELS) == {"garch", "gjr", "egarch"}


def test_per_path_initial_states(normal) -> None:  # type: ignore[no-untyped-def]
    x0 = np.log(np.linspace(90, 110, 50))
    s2 = np.linspace(1e-7, 1e-6, 50)
    p = _sim(normal, n_paths=50, x0=x0, sigma2_1=s2)
    assert np.array_equal(p.log_prices[0], x0)
    # the first step uses each path's own variance
    z = normal.sample(1, 50, 11)[0]
    assert np.allclose(p.log_prices[1] - x0 - GJR["mu"], np.sqrt(s2) * z, rtol=0, atol=1e-14)


def test_egarch_runs_and_matches_both_modes(normal) -> None:  # type: ignore[no-untyped-def]
    params = {"mu": 0.0, "omega": -0.6, "alpha": 0.1, "gamma": -0.05, "beta": 0.96}
    p = _sim(normal, model="egarch", params=params, sigma2_1=1e-7)
    f = _sim(normal, model="egarch", params=params, sigma2_1=1e-7, mode="bands")
    assert np.allclose(f.bands, p.quantiles(f.levels).to_numpy(), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------
# band mode
# --------------------------------------------------------------------------
def test_band_mode_equals_matrix_mode(skewt) -> None:  # type: ignore[no-untyped-def]
    kw = {"n_paths": 3000, "horizon": 100, "quantiles": (0.01, 0.1, 0.5, 0.9, 0.99), "n_sample_paths": 6}
    p = _sim(skewt, **kw)
    f = _sim(skewt, mode="bands", **kw)
    assert isinstance(p, Paths) and isinstance(f, Fan)
    assert np.allclose(f.levels, [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
    ref = np.quantile(p.prices, f.levels, axis=1, method="inverted_cdf").T
    assert np.array_equal(f.bands, ref)
    assert np.allclose(f.mean, p.prices.mean(axis=1), rtol=1e-12)
    assert np.allclose(f.std, p.prices.std(axis=1), rtol=1e-8, atol=1e-12)
    assert np.array_equal(f.terminal_prices, p.terminal())
    assert np.allclose(f.sample_paths, p.prices[:, :6], rtol=1e-15)
    pd.testing.assert_frame_equal(f.summary(), p.summary(), rtol=1e-10)


def test_weighted_band_mode_equals_weighted_paths(normal) -> None:  # type: ignore[no-untyped-def]
    w = np.random.default_rng(5).random(800)
    p = _sim(normal, n_paths=800, weights=w)
    f = _sim(normal, n_paths=800, weights=w, mode="bands")
    assert np.allclose(p.weights, w / w.sum())
    assert np.allclose(f.bands, p.quantiles(f.levels).to_numpy(), rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(f.summary(), p.summary(), rtol=1e-10)


def test_band_memory_does_not_grow_with_steps_times_paths(normal) -> None:  # type: ignore[no-untyped-def]
    def peak(**kw) -> int:  # type: ignore[no-untyped-def]
        tracemalloc.start()
        try:
            _sim(normal, n_paths=10_000, **kw)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    _sim(normal, mode="bands", n_paths=10_000, horizon=1440)  # compile outside the measurement
    full = 10_000 * 1441 * 8
    matrix_peak = peak(horizon=1440, mode="matrix")
    band_peak = peak(horizon=1440, mode="bands")
    band_peak_short = peak(horizon=360, mode="bands")
    assert matrix_peak >= full  # the measurement sees the matrix
    assert band_peak < full / 8
    # 4x the steps adds only per-step outputs (levels, moments, 20 sample paths and their copies):
    # well under 100 doubles per extra step, where a matrix would add 10,000
    assert band_peak - band_peak_short < 1080 * 100 * 8


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------
def test_paths_accessors(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, start="2024-03-01 09:30", bar_seconds=60)
    assert p.n_steps == 60 and p.n_paths == 500
    assert np.array_equal(p.prices, np.exp(p.log_prices))
    assert np.array_equal(p.at(10), np.exp(p.log_prices[10]))
    assert np.array_equal(p.terminal(), np.exp(p.log_prices[-1]))
    assert np.array_equal(p.returns(30), p.log_prices[30] - p.log_prices[0])
    assert p.times[0] == pd.Timestamp("2024-03-01 09:30", tz="UTC")
    assert p.times[-1] - p.times[0] == pd.Timedelta(minutes=60)
    for bad in (-1, 61, 1.5):
        with pytest.raises(SimulationError, match="step must be an integer"):
            p.at(bad)


def test_paths_quantiles_are_numpy_inverted_cdf(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal)
    levels = [0.0, 0.05, 0.1, 0.5, 0.95, 1.0]
    q = p.quantiles(levels)
    assert np.array_equal(q.to_numpy(), np.quantile(p.prices, levels, axis=1, method="inverted_cdf").T)
    assert list(q.columns) == levels
    w = np.random.default_rng(3).integers(0, 4, p.n_paths).astype(np.float64)
    wp = Paths(p.log_prices, weights=w)
    ref = np.quantile(
        p.prices, levels, axis=1, weights=np.broadcast_to(wp.weights, p.prices.shape), method="inverted_cdf"
    )
    assert np.array_equal(wp.quantiles(levels).to_numpy(), ref.T)
    with pytest.raises(SimulationError, match="quantile levels"):
        p.quantiles([1.5])


def test_weighted_quantile_public() -> None:
    x = np.array([4.0, 1.0, 2.0])
    # sorted 1, 2, 4 with weights 1, 1, 2: F = 0.25, 0.5, 1
    assert np.array_equal(weighted_quantile(x, [2.0, 1.0, 1.0], [0.25, 0.5, 0.75]), [1.0, 2.0, 4.0])
    assert np.array_equal(weighted_quantile(x, None, 0.5), np.quantile(x, [0.5], method="inverted_cdf"))
    # 99 % of the weight on the largest value: the median is that value, not a midpoint
    w = np.full(11, 0.001)
    w[10] = 0.99
    assert np.array_equal(weighted_quantile(np.arange(11.0), w, [0.05, 0.5]), [10.0, 10.0])
    # integer weights are multiplicities
    counts = np.array([3, 1, 2])
    levels = np.linspace(0, 1, 41)
    expanded = np.repeat(x, counts)
    assert np.array_equal(weighted_quantile(x, counts, levels), np.quantile(expanded, levels, method="inverted_cdf"))
    with pytest.raises(SimulationError, match="weights"):
        weighted_quantile(x, [1.0, -1.0, 1.0], 0.5)


def test_concentrated_path_weights_move_fan_and_summary(normal) -> None:  # type: ignore[no-untyped-def]
    """A path holding 99 % of the weight is the median of every step, in matrix and band mode."""
    w = np.full(400, 0.01 / 399)
    w[7] = 0.99
    p = _sim(normal, n_paths=400, weights=w)
    f = _sim(normal, n_paths=400, weights=w, mode="bands")
    assert np.array_equal(p.quantiles([0.5]).to_numpy()[:, 0], p.prices[:, 7])
    assert np.array_equal(f.quantiles([0.05, 0.5, 0.95]).to_numpy(), np.repeat(p.prices[:, 7:8], 3, axis=1))
    assert p.summary([30]).loc[30, "p50"] == p.prices[30, 7]


def test_paths_summary(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, horizon=100, start=pd.Timestamp("2024-01-02", tz="UTC"))
    s = p.summary()
    assert list(s.index) == [15, 30, 60]  # 120 .. 1440 are beyond the simulation
    assert list(s.columns) == ["timestamp", "mean", "std", "p5", "p25", "p50", "p75", "p95"]
    prices = p.at(30)
    assert s.loc[30, "mean"] == pytest.approx(prices.mean(), rel=1e-14)
    assert s.loc[30, "std"] == pytest.approx(prices.std(), rel=1e-12)
    assert s.loc[30, "p25"] == np.quantile(prices, 0.25, method="inverted_cdf")
    assert s.loc[60, "timestamp"] == pd.Timestamp("2024-01-02 01:00", tz="UTC")


def test_paths_to_frame(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, start="2024-01-02")
    wide = p.to_frame(max_paths=5)
    assert isinstance(wide.index, pd.DatetimeIndex) and wide.shape == (61, 5)
    assert np.array_equal(wide.to_numpy(), p.prices[:, :5])
    long = p.to_frame(max_paths=3, layout="long")
    assert list(long.columns) == ["timestamp", "path", "price"] and len(long) == 61 * 3
    assert _sim(normal).to_frame(max_paths=10_000).shape == (61, 500)
    with pytest.raises(SimulationError, match="layout"):
        p.to_frame(layout="tall")  # type: ignore[arg-type]


def test_paths_are_immutable(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, weights=np.ones(500))
    with pytest.raises(ValueError):
        p.log_prices[0, 0] = 1.0
    with pytest.raises(ValueError):
        p.prices[0, 0] = 1.0
    with pytest.raises(ValueError):
        p.weights[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.bar_seconds = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.meta["seed"] = 3  # type: ignore[index]


def test_paths_npz_round_trip(normal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, weights=np.arange(1, 501), start="2024-01-02 10:00", bar_seconds=30, dtype=np.float32)
    path = tmp_path / "paths.npz"
    p.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"log_prices", "weights", "header_json"}
    q = Paths.load(path)
    assert q.log_prices.dtype == np.float32
    assert np.array_equal(q.log_prices, p.log_prices) and np.array_equal(q.weights, p.weights)
    assert q.start == p.start and q.bar_seconds == 30.0 and dict(q.meta) == json.loads(json.dumps(dict(p.meta)))
    with pytest.raises(SimulationError, match="not a 'Fan'"):
        Fan.load(path)


# --------------------------------------------------------------------------
# Fan
# --------------------------------------------------------------------------
def test_fan_json_round_trip(normal) -> None:  # type: ignore[no-untyped-def]
    f = _sim(normal, mode="bands", start="2024-01-02", n_sample_paths=3, weights=np.ones(500))
    text = json.dumps(f.to_dict(), allow_nan=False)
    g = Fan.from_dict(json.loads(text))
    for name in ("levels", "bands", "terminal_prices", "mean", "std", "sample_paths", "weights"):
        assert np.array_equal(getattr(g, name), getattr(f, name)), name
    assert g.start == f.start and dict(g.meta) == dict(json.loads(json.dumps(dict(f.meta))))
    pd.testing.assert_frame_equal(g.summary(), f.summary())
    with pytest.raises(SimulationError, match="not a Fan"):
        Fan.from_dict({"kind": "Paths"})


def test_fan_npz_round_trip(normal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = _sim(normal, mode="bands", n_sample_paths=0)
    assert f.sample_paths is None
    f.save(tmp_path / "fan.npz")
    g = Fan.load(tmp_path / "fan.npz")
    assert np.array_equal(g.bands, f.bands) and g.sample_paths is None and g.start is None


def test_fan_views(normal) -> None:  # type: ignore[no-untyped-def]
    f = _sim(normal, mode="bands", quantiles=(0.1, 0.9))
    q = f.quantiles([0.1, 0.9])
    assert q.shape == (61, 2) and np.array_equal(q.to_numpy(), f.bands[:, [1, 5]])
    with pytest.raises(SimulationError, match="was not computed"):
        f.quantiles([0.2])
    frame = f.to_frame()
    assert list(frame.columns) == ["mean", "std", "p5", "p10", "p25", "p50", "p75", "p90", "p95"]
    assert np.array_equal(f.terminal(), f.terminal_prices) and f.n_paths == 500 and f.n_steps == 60
    with pytest.raises(ValueError):
        f.bands[0, 0] = 0.0


# --------------------------------------------------------------------------
# advance_paths
# --------------------------------------------------------------------------
def test_advance_paths_reproduces_matrix_and_restores(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, n_paths=300, horizon=40)
    x = np.full(300, X0)
    s2 = np.full(300, 3e-7)
    state = StreamState.create(11, 300)
    advance_paths("gjr", GJR, x, s2, 15, ppf_table=normal, state=state)
    assert np.array_equal(x, p.log_prices[15])
    snap = (x.copy(), s2.copy(), state.copy())
    advance_paths("gjr", GJR, x, s2, 25, ppf_table=normal, state=state)
    assert np.array_equal(x, p.log_prices[40])
    x2, s22, st2 = snap
    advance_paths("gjr", GJR, x2, s22, 25, ppf_table=normal, state=st2)
    assert np.array_equal(x2, x) and np.array_equal(s22, s2) and np.array_equal(st2.counter, state.counter)


def test_advance_paths_validation(normal) -> None:  # type: ignore[no-untyped-def]
    state = StreamState.create(1, 10)
    x = np.zeros(10)
    s2 = np.full(10, 1e-6)
    with pytest.raises(SimulationError, match="contiguous 1-d float64"):
        advance_paths("gjr", GJR, x.astype(np.float32), s2, 1, ppf_table=normal, state=state)
    with pytest.raises(SimulationError, match="contiguous 1-d float64"):
        advance_paths("gjr", GJR, np.zeros(20)[::2], s2, 1, ppf_table=normal, state=state)
    with pytest.raises(SimulationError, match="same number of paths"):
        advance_paths("gjr", GJR, x, s2, 1, ppf_table=normal, state=StreamState.create(1, 9))
    with pytest.raises(SimulationError, match="non-negative integer"):
        advance_paths("gjr", GJR, x, s2, -1, ppf_table=normal, state=state)
    with pytest.raises(SimulationError, match="positive"):
        advance_paths("gjr", GJR, x, np.zeros(10), 1, ppf_table=normal, state=state)


# --------------------------------------------------------------------------
# validation of simulate_paths
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "figarch"}, "unknown model"),
        ({"params": {"mu": 0.0, "omega": 1e-9, "alpha": 0.1, "beta": 0.8}}, r"miss \['gamma'\]"),
        ({"params": {**GJR, "beta": float("nan")}}, "beta must be finite"),
        ({"params": {**GJR, "alpha": "x"}}, "alpha must be a number"),
        ({"model": "garch", "params": {**GARCH, "gamma": 0.1}}, "has no gamma"),
        ({"params": {**GJR, "omega": -1e-7}}, "omega must be positive"),
        ({"params": {**GJR, "alpha": -0.01}}, "non-negative"),
        ({"params": {**GJR, "gamma": -0.05}}, "non-negative"),
        ({"sigma2_1": 0.0}, "sigma2_1 must be positive"),
        ({"sigma2_1": np.full(3, 1e-6)}, "sigma2_1 must be a scalar or have shape"),
        ({"x0": float("inf")}, "x0 must be finite"),
        ({"mode": "fan"}, "mode must be"),
        ({"dtype": np.int32}, "dtype must be float64 or float32"),
        ({"mode": "bands", "quantiles": (0.5, 1.2)}, "quantile levels"),
        ({"seed": -1}, "seed must be"),
        ({"n_paths": 0}, "n_paths must be a positive integer"),
        ({"horizon": 2.5}, "horizon must be a positive integer"),
        ({"weights": np.zeros(500)}, "not all zero"),
        ({"weights": np.ones(3)}, "weights must have shape"),
        ({"ppf_table": stats.norm.ppf}, "PpfTable"),
        ({"bar_seconds": 0}, "bar_seconds must be positive"),
        ({"mode": "bands", "n_sample_paths": 1.5}, "n_sample_paths must be an integer"),
    ],
)
def test_simulate_paths_validation(normal, kwargs: dict, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SimulationError, match=match):
        _sim(normal, **kwargs)


def test_garch_accepts_zero_gamma_and_extra_keys(normal) -> None:  # type: ignore[no-untyped-def]
    a = _sim(normal, model="garch", params={**GARCH, "gamma": 0.0, "nu": 8.0})
    b = _sim(normal, model="GARCH", params=GARCH)
    assert np.array_equal(a.log_prices, b.log_prices)


# --------------------------------------------------------------------------
# session step times from a trading calendar
# --------------------------------------------------------------------------
class _StubCalendar:
    """Open 09:30-10:00 UTC on weekdays only: the next bars skip nights and weekends."""

    def __init__(self) -> None:
        self.calls: list[tuple[pd.Timestamp, int, float]] = []

    def next_bars(self, after: object, n: int, bar_seconds: float) -> pd.DatetimeIndex:
        self.calls.append((pd.Timestamp(after), n, bar_seconds))
        t = pd.Timestamp(after)
        out = []
        step = pd.Timedelta(seconds=bar_seconds)
        t = t.floor(step) + step
        while len(out) < n:
            minutes = t.hour * 60 + t.minute
            if t.weekday() < 5 and 9 * 60 + 30 <= minutes < 10 * 60:
                out.append(t)
            t += step
        return pd.DatetimeIndex(out, name="timestamp")


def test_calendar_labels_steps_with_session_bars(normal) -> None:  # type: ignore[no-untyped-def]
    cal = _StubCalendar()
    start = pd.Timestamp("2024-03-01 09:50", tz="UTC")  # a Friday, 10 minutes before the close
    p = _sim(normal, horizon=30, start=start, calendar=cal)
    f = _sim(normal, horizon=30, start=start, calendar=cal, mode="bands")
    expected = pd.DatetimeIndex([start]).append(cal.next_bars(start, 30, 60.0))
    assert cal.calls[0] == (start, 30, 60.0)
    for res in (p, f):
        assert res.times.equals(expected)
        assert res.times[10] == pd.Timestamp("2024-03-04 09:30", tz="UTC")  # Monday's open, not Friday 10:00
        assert res.summary([15]).loc[15, "timestamp"] == expected[15]
        assert res.to_frame().index.equals(expected)
    # wall-clock labels without a calendar
    plain = _sim(normal, horizon=30, start=start)
    assert plain.step_times is None and plain.times[10] == pd.Timestamp("2024-03-01 10:00", tz="UTC")


def test_step_times_round_trip(normal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    start = pd.Timestamp("2024-03-01 09:50", tz="UTC")
    p = _sim(normal, horizon=30, start=start, calendar=_StubCalendar())
    f = _sim(normal, horizon=30, start=start, calendar=_StubCalendar(), mode="bands")
    p.save(tmp_path / "p.npz")
    f.save(tmp_path / "f.npz")
    assert Paths.load(tmp_path / "p.npz").times.equals(p.times)
    assert Fan.load(tmp_path / "f.npz").times.equals(f.times)
    assert Fan.from_dict(json.loads(json.dumps(f.to_dict()))).times.equals(f.times)


def test_step_times_are_checked(normal) -> None:  # type: ignore[no-untyped-def]
    p = _sim(normal, horizon=3)
    times = pd.date_range("2024-01-02", periods=4, freq="min", tz="UTC")
    assert Paths(p.log_prices, step_times=times).times.equals(times)
    with pytest.raises(SimulationError, match="one time per row"):
        Paths(p.log_prices, step_times=times[:3])
    with pytest.raises(SimulationError, match="strictly increasing"):
        Paths(p.log_prices, step_times=times[::-1])
    with pytest.raises(SimulationError, match="start"):
        _sim(normal, horizon=3, calendar=_StubCalendar())
    with pytest.raises(SimulationError, match="calendar"):
        _sim(normal, horizon=3, start="2024-01-02", calendar=42)
