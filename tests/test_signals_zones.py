"""Tests for volresearch.signals.zones (zones, bias, targets, stop, statistics)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from volresearch.errors import DataError, SignalError
from volresearch.quantiles import quantile
from volresearch.signals.zones import (
    MAX_BINS,
    MIN_BINS,
    QUANTILE_LEVELS,
    analyze_distribution,
    directional_bias,
    drift_standard_error,
    histogram_bins,
    horizon_sample,
    horizon_step,
    weighted_moments,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def bimodal(
    rng: np.random.Generator,
    n: int = 20_000,
    lo: float = 90.0,
    hi: float = 110.0,
    sd: float = 2.0,
    frac_hi: float = 0.5,
) -> np.ndarray:
    n_hi = int(round(n * frac_hi))
    return np.concatenate([rng.normal(lo, sd, n - n_hi), rng.normal(hi, sd, n_hi)])


class FakePaths:
    """Minimal object with ``at(step)`` and ``weights``."""

    def __init__(self, by_step: dict[int, np.ndarray], weights: np.ndarray | None = None) -> None:
        self._by_step = by_step
        self.weights = weights

    def at(self, step: int) -> np.ndarray:
        return self._by_step[step]


# --------------------------------------------------------------------------- zones


def test_bimodal_gives_support_below_and_resistance_above(rng):
    x = bimodal(rng)
    a = analyze_distribution(x, 100.0)
    assert len(a.zones) == 2
    lower, upper = a.zones
    assert lower.kind == "support" and upper.kind == "resistance"
    assert lower.high <= 100.0 <= upper.low
    # Each zone sits on its mode and holds a large share of its half of the mass.
    assert lower.low < 90.0 < lower.high and upper.low < 110.0 < upper.high
    assert abs(lower.center - 90.0) < 0.3 and abs(upper.center - 110.0) < 0.3
    for z in a.zones:
        assert z.strength == "strong"
        assert 0.3 < z.mass < 0.5
        assert z.density == pytest.approx(z.mass / (z.high - z.low))
        assert z.low <= z.center <= z.high and z.low <= z.mode <= z.high


def test_zone_is_the_half_maximum_core_of_a_normal(rng):
    # For a normal the run of bins at or above half the peak density spans about
    # +-1.1774 sd, holding about 76 % of the mass (up to a bin of slack on each side).
    x = rng.normal(100.0, 2.0, 200_000)
    a = analyze_distribution(x, 100.0)
    (z,) = a.zones
    half_width = 1.1774 * 2.0
    bin_w = a.bin_edges[1] - a.bin_edges[0]
    assert abs(z.low - (100.0 - half_width)) <= 1.5 * bin_w
    assert abs(z.high - (100.0 + half_width)) <= 1.5 * bin_w
    assert 0.70 < z.mass < 0.82


def test_unimodal_centred_on_price_gives_one_neutral_zone(rng):
    x = rng.normal(100.0, 2.0, 20_000)
    a = analyze_distribution(x, 100.0)
    assert len(a.zones) == 1
    (z,) = a.zones
    assert z.kind == "neutral" and z.low < 100.0 < z.high
    assert a.bias == "neutral"
    assert a.primary_target is None and a.secondary_target is None and a.stop is None
    assert a.targets == ()


@pytest.mark.parametrize("n", [300, 2_000, 50_000])
def test_unimodal_stays_one_zone_across_sample_sizes(n):
    # Noise wiggles on a single mode must not split it into several zones.
    for seed in range(5):
        x = np.random.default_rng(seed).normal(0.0, 1.0, n) + 50.0
        assert len(analyze_distribution(x, 50.0).zones) == 1


def test_zero_weight_on_one_mode_removes_its_zone(rng):
    x = bimodal(rng)
    w = np.r_[np.ones(10_000), np.zeros(10_000)]  # upper mode weighted to zero
    a = analyze_distribution(x, 100.0, weights=w)
    assert len(a.zones) == 1
    assert a.zones[0].kind == "support"
    assert a.n_paths == 10_000
    assert a.prob_above == 0.0 and a.prob_below == 1.0
    # ... and the other way round.
    b = analyze_distribution(x, 100.0, weights=w[::-1])
    assert [z.kind for z in b.zones] == ["resistance"]


def test_weights_shift_mass_between_modes(rng):
    x = bimodal(rng)
    w = np.r_[np.ones(10_000), 3.0 * np.ones(10_000)]
    a = analyze_distribution(x, 100.0, weights=w)
    lower, upper = a.zones
    assert upper.mass / lower.mass == pytest.approx(3.0, rel=0.12)
    assert a.prob_above == pytest.approx(0.75, abs=1e-3)
    # Kish: (sum w)^2 / sum w^2 = 40_000^2 / (10_000 * 1 + 10_000 * 9)
    assert a.effective_sample_size == pytest.approx(16_000.0)


def test_three_modes_strengths(rng):
    # Mode masses 0.833, 0.119, 0.048 -> half-maximum cores hold ~76 % of each:
    # about 0.63 (strong), 0.09 (moderate), 0.036 (weak).
    x = np.concatenate([rng.normal(80, 1.5, 35_000), rng.normal(100, 1.5, 5_000), rng.normal(120, 1.5, 2_000)])
    a = analyze_distribution(x, 100.5)
    assert len(a.zones) == 3
    by_strength = [z.strength for z in a.zones]
    assert by_strength == ["strong", "moderate", "weak"]
    for z in a.zones:
        expected = "strong" if z.mass >= 0.10 else "moderate" if z.mass >= 0.05 else "weak"
        assert z.strength == expected
    # Raising the thresholds demotes zones.
    b = analyze_distribution(x, 100.5, strong=0.9, moderate=0.5, min_mass=0.01)
    assert [z.strength for z in b.zones] == ["moderate", "weak", "weak"]
    # min_mass drops the small zone.
    c = analyze_distribution(x, 100.5, min_mass=0.05)
    assert len(c.zones) == 2


def test_peak_at_the_edge_of_the_support_is_found(rng):
    x = 100.0 + rng.exponential(1.0, 20_000)
    a = analyze_distribution(x, 99.0)
    assert len(a.zones) == 1
    assert a.zones[0].low == pytest.approx(x.min())
    assert a.zones[0].kind == "resistance"


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_modes=st.integers(1, 4),
    price=st.floats(80, 120),
    n=st.integers(200, 4_000),
)
def test_zone_invariants(seed, n_modes, price, n):
    r = np.random.default_rng(seed)
    centers = r.uniform(70, 130, n_modes)
    x = np.concatenate([r.normal(c, r.uniform(0.5, 5), n) for c in centers])
    w = r.uniform(0, 1, x.size)
    a = analyze_distribution(x, price, weights=w)
    assert len(a.zones) >= 1
    assert sum(z.mass for z in a.zones) <= 1 + 1e-9
    for z0, z1 in zip(a.zones[:-1], a.zones[1:]):
        assert z0.high <= z1.low  # disjoint, in price order
    for z in a.zones:
        assert a.min_mass <= z.mass <= 1
        if z.high <= price:
            assert z.kind == "support"
        elif z.low >= price:
            assert z.kind == "resistance"
        else:
            assert z.kind == "neutral"
    assert math.isclose(sum(a.bin_mass), 1.0, rel_tol=1e-9)
    assert 0 <= a.bias_confidence <= 1


# --------------------------------------------------------------------------- bias


@pytest.mark.parametrize("shift, expected", [(2.0, "bullish"), (-2.0, "bearish"), (0.2, "neutral")])
def test_bias_follows_the_mean_shift(rng, shift, expected):
    x = rng.normal(0.0, 2.0, 20_000)
    x = (x - x.mean()) / x.std() * 2.0 + 100.0 + shift  # mean exactly 100 + shift, std 2
    a = analyze_distribution(x, 100.0)
    assert a.bias == expected
    assert a.z_score == pytest.approx(shift / 2.0)
    assert a.bias_score == pytest.approx(a.z_score - np.clip(a.skewness, -1, 1) / 6)
    if expected == "bullish":
        assert a.bias_confidence == a.prob_above
    elif expected == "bearish":
        assert a.bias_confidence == a.prob_below
    else:
        assert a.bias_confidence == pytest.approx(1 - abs(a.prob_above - a.prob_below))


def test_directional_bias_skew_adjustment_and_boundaries():
    # z = 0.35: positive skew (mean lifted by the right tail) pulls the score down.
    assert directional_bias(100.35, 1.0, 1.0, 100.0)[0] == "neutral"
    bias, score, z = directional_bias(100.35, 1.0, -1.0, 100.0)
    assert bias == "bullish" and score == pytest.approx(0.35 + 1 / 6) and z == pytest.approx(0.35)
    # Skewness is clipped at +-1.
    assert directional_bias(100.35, 1.0, 7.0, 100.0)[1] == pytest.approx(0.35 - 1 / 6)
    # Exactly at the threshold is neutral; just past it is directional.
    assert directional_bias(100.0 + 0.3 * 2.0, 2.0, 0.0, 100.0)[0] == "neutral"
    assert directional_bias(100.0 - 0.3 * 2.0, 2.0, 0.0, 100.0)[0] == "neutral"
    assert directional_bias(100.0 + 0.31 * 2.0, 2.0, 0.0, 100.0)[0] == "bullish"
    assert directional_bias(100.0 - 0.31 * 2.0, 2.0, 0.0, 100.0)[0] == "bearish"
    assert directional_bias(100.5, 1.0, float("nan"), 100.0)[1] == pytest.approx(0.5)
    with pytest.raises(DataError, match="zero dispersion"):
        directional_bias(100.0, 0.0, 0.0, 100.0)


# --------------------------------------------------------------------------- targets and stop


def test_bullish_targets_and_zone_stop(rng):
    x = np.concatenate([rng.normal(90, 1.5, 4_000), rng.normal(108, 1.5, 9_000), rng.normal(118, 1.5, 7_000)])
    a = analyze_distribution(x, 100.0)
    assert a.bias == "bullish"
    kinds = [z.kind for z in a.zones]
    assert kinds == ["support", "resistance", "resistance"]
    assert a.primary_target is a.zones[1]  # largest mass on the bias side
    assert a.secondary_target is a.zones[2]
    assert a.targets == (a.zones[1], a.zones[2])
    assert a.stop is not None and a.stop.source == "zone"
    assert a.stop.price == a.zones[0].low and (a.stop.low, a.stop.high) == (a.zones[0].low, a.zones[0].high)


def test_bearish_targets_mirror(rng):
    x = 200.0 - np.concatenate([rng.normal(90, 1.5, 4_000), rng.normal(108, 1.5, 9_000), rng.normal(118, 1.5, 7_000)])
    a = analyze_distribution(x, 100.0)
    assert a.bias == "bearish"
    assert [z.kind for z in a.zones] == ["support", "support", "resistance"]
    assert a.primary_target is a.zones[1] and a.secondary_target is a.zones[0]
    assert a.stop is not None and a.stop.price == a.zones[2].high


def test_quantile_stop_when_no_opposite_zone(rng):
    x = rng.normal(102.0, 2.0, 20_000)  # bullish, single zone straddling 100
    a = analyze_distribution(x, 100.0)
    assert a.bias == "bullish"
    assert [z.kind for z in a.zones] == ["neutral"]
    assert a.stop is not None and a.stop.source == "quantile"
    assert a.stop.price == a.quantiles[0.05] < a.quantiles[0.10] == a.stop.high < 100.0
    # The band is cut at the current price when the 10 % quantile lies above it.
    c = analyze_distribution(x + 1.0, 100.0)
    assert c.stop is not None and c.stop.high == 100.0 and c.stop.price == c.quantiles[0.05]
    y = rng.normal(97.0, 2.0, 20_000)
    b = analyze_distribution(y, 100.0)
    assert b.bias == "bearish" and b.stop is not None and b.stop.price == b.quantiles[0.95] > 100


def test_no_quantile_stop_when_whole_distribution_is_beyond_price(rng):
    x = rng.normal(120.0, 2.0, 5_000)
    a = analyze_distribution(x, 100.0)
    assert a.bias == "bullish" and a.stop is None
    assert a.primary_target is not None and a.primary_target.kind == "resistance"


# --------------------------------------------------------------------------- statistics


def test_moments_and_quantiles_match_references(rng):
    x = rng.gamma(2.0, 3.0, 5_000) + 50
    a = analyze_distribution(x, 55.0)
    assert a.mean == pytest.approx(x.mean())
    assert a.std == pytest.approx(x.std())
    assert a.skewness == pytest.approx(stats.skew(x, bias=True))
    assert a.excess_kurtosis == pytest.approx(stats.kurtosis(x, bias=True))
    expected = np.quantile(x, QUANTILE_LEVELS, method="inverted_cdf")
    assert list(a.quantiles.values()) == list(expected)
    assert tuple(a.quantiles) == QUANTILE_LEVELS
    assert a.prob_above == pytest.approx(np.mean(x > 55.0))
    assert a.relative_std == pytest.approx(x.std() / 55.0)


def test_integer_weights_equal_repeated_sample(rng):
    x = rng.normal(10, 1, 500)
    k = rng.integers(1, 5, 500)
    m_w = weighted_moments(x, k)
    m_r = weighted_moments(np.repeat(x, k))
    assert m_w == pytest.approx(m_r)
    a = analyze_distribution(x, 10.0, weights=k)
    b = analyze_distribution(np.repeat(x, k), 10.0)
    assert (a.mean, a.std, a.prob_above) == pytest.approx((b.mean, b.std, b.prob_above))


def test_zone_quantiles_follow_the_package_rule():
    """Reported levels are numpy's inverted-cdf quantiles, weighted by the path weights (not Hazen)."""
    x = np.array([3.0, 1.0, 2.0, 7.0, 5.0])
    w = np.array([1.0, 1.0, 2.0, 0.5, 3.5])
    a = analyze_distribution(x, 4.0, weights=w)
    ref = np.quantile(x, QUANTILE_LEVELS, weights=w, method="inverted_cdf")
    assert list(a.quantiles.values()) == list(ref)
    # 99 % of the weight on the top price: every reported level from 5 % up is that price
    x = np.arange(90.0, 101.0)
    w = np.full(11, 0.001)
    w[-1] = 0.99
    b = analyze_distribution(x, 95.0, weights=w)
    assert all(v == 100.0 for v in b.quantiles.values())
    # integer weights are multiplicities
    k = np.array([1, 3, 2, 4, 1, 2, 2, 1, 3, 1, 5])
    c = analyze_distribution(x, 95.0, weights=k)
    assert list(c.quantiles.values()) == list(quantile(np.repeat(x, k), QUANTILE_LEVELS))


# --------------------------------------------------------------------------- bins


def test_freedman_diaconis_bin_count(rng):
    x = rng.normal(0, 1, 20_000)
    edges, rule = histogram_bins(x)
    iqr = np.subtract(*np.quantile(x, [0.75, 0.25], method="inverted_cdf"))
    k = math.ceil((x.max() - x.min()) / (2 * iqr * 20_000 ** (-1 / 3)))
    assert len(edges) - 1 == min(max(k, MIN_BINS), MAX_BINS)
    assert edges[0] == x.min() and edges[-1] == x.max()
    assert "Freedman-Diaconis" in rule
    few, _ = histogram_bins(rng.normal(0, 1, 20))
    assert len(few) - 1 == MIN_BINS
    many, _ = histogram_bins(rng.standard_cauchy(200_000))
    assert len(many) - 1 == MAX_BINS


def test_tick_size_bins_lie_on_the_tick_grid(rng):
    tick = 0.25
    x = rng.normal(4500.0, 20.0, 10_000)
    a = analyze_distribution(x, 4500.0, tick_size=tick)
    edges = np.asarray(a.bin_edges)
    assert np.allclose(edges / tick, np.round(edges / tick), atol=1e-6)
    widths = np.diff(edges) / tick
    assert np.allclose(widths, widths[0]) and widths[0] == round(widths[0]) >= 1
    assert edges[0] <= x.min() and edges[-1] >= x.max()
    for z in a.zones:
        assert z.low / tick == pytest.approx(round(z.low / tick))
    # A tick coarser than the Freedman-Diaconis width gives one-tick bins.
    coarse, _ = histogram_bins(rng.normal(100, 0.5, 2_000), tick_size=0.5)
    assert np.allclose(np.diff(coarse), 0.5)


def test_fixed_bin_count(rng):
    x = rng.normal(0, 1, 1_000) + 10
    a = analyze_distribution(x, 10.0, n_bins=37)
    assert len(a.bin_edges) == 38
    assert a.bin_rule == "fixed 37 bins"
    with pytest.raises(SignalError, match="n_bins"):
        analyze_distribution(x, 10.0, n_bins=0)


# --------------------------------------------------------------------------- input handling


def test_paths_object_adapter(rng):
    x = bimodal(rng, n=4_000)
    w = rng.uniform(0.5, 1.5, x.size)
    paths = FakePaths({60: x, 1440: x + 5.0}, weights=w)
    a = analyze_distribution(paths, 100.0, horizon=60)
    b = analyze_distribution(x, 100.0, weights=w, horizon=60)
    assert a == b
    c = analyze_distribution(paths, 100.0, step=1440)
    assert c.mean == pytest.approx(np.average(x + 5.0, weights=w))
    # Explicit weights override the paths object's.
    d = analyze_distribution(paths, 100.0, step=60, weights=np.ones(x.size))
    assert d.mean == pytest.approx(x.mean())
    with pytest.raises(DataError, match="needs a step or a horizon"):
        analyze_distribution(paths, 100.0)


def test_horizon_in_minutes_is_converted_with_the_bar_length(rng):
    x = rng.normal(100.0, 1.0, 1_000)
    paths = FakePaths({12: x, 60: x + 50.0})
    paths.bar_seconds = 300.0  # five-minute bars: 60 min = 12 steps
    assert analyze_distribution(paths, 100.0, horizon=60).mean == pytest.approx(x.mean())
    assert horizon_step(paths, 1440) == 288
    assert horizon_step(object(), 90) == 90  # one-minute steps by default
    with pytest.raises(DataError, match="whole number of 300-second steps"):
        horizon_step(paths, 7)
    with pytest.raises(DataError, match="whole number"):
        horizon_step(paths, 0)


def test_horizon_sample_normalises_weights_and_drops_zero_weight():
    x, w = horizon_sample(np.array([1.0, 2.0, 3.0]), weights=[0.0, 2.0, 6.0])
    assert x.tolist() == [2.0, 3.0] and w is not None and w.tolist() == [0.25, 0.75]
    x2, w2 = horizon_sample([1.0, 2.0])
    assert w2 is None and x2.dtype == np.float64


@pytest.mark.parametrize(
    "prices, weights, match",
    [
        ([1.0, np.nan, 2.0], None, r"finite \[rows 1\]"),
        ([[1.0, 2.0]], None, "1-D"),
        ([1.0], None, "at least 2"),
        ([1.0, 2.0, 3.0], [1.0, -1.0, 1.0], r"non-negative \[rows 1\]"),
        ([1.0, 2.0, 3.0], [1.0, 1.0], "one entry per path"),
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], "sum to zero"),
        ([5.0, 5.0, 5.0], None, "no dispersion"),
    ],
)
def test_bad_samples_raise_data_error(prices, weights, match):
    with pytest.raises(DataError, match=match):
        analyze_distribution(prices, 5.0, weights=weights)


def test_bad_price_and_options(rng):
    x = rng.normal(100, 1, 500)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(DataError, match="current price"):
            analyze_distribution(x, bad)
    with pytest.raises(SignalError, match="min_mass <= moderate <= strong"):
        analyze_distribution(x, 100.0, strong=0.05, moderate=0.10)
    with pytest.raises(SignalError, match="min_prominence"):
        analyze_distribution(x, 100.0, min_prominence=1.5)
    with pytest.raises(SignalError, match="core_fraction"):
        analyze_distribution(x, 100.0, core_fraction=0.0)
    with pytest.raises(SignalError, match="tick_size"):
        analyze_distribution(x, 100.0, tick_size=-0.25)


# --------------------------------------------------------------------------- result objects


def test_result_is_frozen_and_serialisable(rng):
    a = analyze_distribution(bimodal(rng, frac_hi=0.7), 100.0, horizon=1440)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.bias = "bearish"  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.quantiles[0.5] = 0.0  # type: ignore[index]
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert d["bias"] == a.bias and len(d["zones"]) == len(a.zones)
    assert d["quantiles"]["0.50"] == a.quantiles[0.5]
    assert d["primary_target"]["center"] == a.primary_target.center
    assert d["stop"]["source"] == "zone"
    frame = a.to_frame()
    assert list(frame.columns[:6]) == ["low", "high", "center", "mode", "mass", "density"]
    assert {"kind", "strength"} <= set(frame.columns)
    assert len(frame) == len(a.zones) and frame["kind"].tolist() == ["support", "resistance"]
    text = a.summary()
    assert "bias bullish" in text and "at 1440 min" in text and "resistance" in text
    assert "mass" in a.zones[0].summary()


def test_non_finite_statistics_become_none_in_to_dict(rng):
    a = analyze_distribution(rng.normal(1, 0.1, 100) + 10, 10.0)
    b = dataclasses.replace(a, skewness=float("nan"))
    assert b.to_dict()["skewness"] is None
    assert dataclasses.replace(a).to_dict()["horizon"] is None


def test_small_separate_mode_is_kept_unless_noise_threshold_forbids(rng):
    # A 5 % mode six standard deviations away is a real zone at this sample size;
    # demanding a prominence of 100 standard errors removes it.
    x = np.concatenate([rng.normal(50.0, 1.0, 19_000), rng.normal(56.0, 1.0, 1_000)])
    a = analyze_distribution(x, 50.0)
    assert len(a.zones) == 2 and a.zones[1].kind == "resistance"
    assert a.zones[1].strength == "weak" and 0.025 < a.zones[1].mass < 0.05
    assert len(analyze_distribution(x, 50.0, noise_z=100.0).zones) == 1
    with pytest.raises(SignalError, match="noise_z"):
        analyze_distribution(x, 50.0, noise_z=-1.0)


# --------------------------------------------------------------------------- estimated mean


def test_bias_reports_the_standard_error_of_an_estimated_mean(rng):
    x = rng.normal(101.0, 2.0, 20_000)
    se = drift_standard_error(2e-5, 60, 100.0)  # price x steps x se(mu)
    assert se == pytest.approx(100.0 * 60 * 2e-5)
    a = analyze_distribution(x, 100.0, mean_se=se)
    assert a.mean_se == se and a.bias_score_se == pytest.approx(se / a.std)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["mean_se"] == pytest.approx(se) and d["bias_score_se"] == pytest.approx(se / a.std)
    assert "from the estimated mean" in a.summary()
    b = analyze_distribution(x, 100.0)
    assert b.mean_se is None and b.bias_score_se is None and b.to_dict()["bias_score_se"] is None
    with pytest.raises(SignalError, match="mean_se"):
        analyze_distribution(x, 100.0, mean_se=float("nan"))
    with pytest.raises(SignalError, match="steps"):
        drift_standard_error(1e-5, -1, 100.0)
    with pytest.raises(SignalError, match="mean standard error"):
        drift_standard_error(-1e-5, 10, 100.0)
