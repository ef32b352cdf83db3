"""Realised measures against hand-computed values and simulations with known truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import gamma

from volresearch.models.realized import (
    RealizedMeasures,
    bipower_variation,
    jump_statistic,
    range_estimators,
    realized_measures,
    subsampled_rv,
    tripower_quarticity,
)


def _fixture() -> pd.DataFrame:
    rows = [
        # timestamp (UTC), open, high, low, close
        ("2024-11-26 20:59", 100.0, 100.0, 100.0, 100.0),
        ("2024-11-27 14:30", 101.0, 102.5, 100.5, 102.0),
        ("2024-11-27 14:31", 102.0, 102.2, 100.8, 101.0),
        ("2024-11-27 14:32", 101.0, 103.2, 101.0, 103.0),
        ("2024-11-27 14:34", 103.0, 104.6, 102.9, 104.0),  # 14:33 missing
        ("2024-11-27 14:35", 104.0, 104.1, 99.5, 103.5),
    ]
    index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True), name="timestamp")
    return pd.DataFrame([r[1:] for r in rows], columns=["open", "high", "low", "close"], index=index)


def test_hand_computed_fixture() -> None:
    res = realized_measures(_fixture(), "us_equity_rth", bar_seconds=60, subsample=2)
    d = res.daily
    assert list(d.index.strftime("%Y-%m-%d")) == ["2024-11-27"]
    row = d.iloc[0]
    ln = math.log
    r = [ln(102 / 101), ln(101 / 102), ln(103 / 101), ln(104 / 103), ln(103.5 / 104)]
    assert row["n_returns"] == 5
    assert row["rv"] == pytest.approx(sum(x * x for x in r), rel=1e-13)
    assert row["rs_pos"] == pytest.approx(r[0] ** 2 + r[2] ** 2 + r[3] ** 2, rel=1e-13)
    assert row["rs_neg"] == pytest.approx(r[1] ** 2 + r[4] ** 2, rel=1e-13)
    bv = (math.pi / 2) * (5 / 4) * sum(abs(r[i] * r[i - 1]) for i in range(1, 5))
    assert row["bv"] == pytest.approx(bv, rel=1e-13)
    mu43 = 2 ** (2 / 3) * gamma(7 / 6) / gamma(1 / 2)
    tq = 5 * (5 / 3) * mu43**-3 * sum(abs(r[i] * r[i - 1] * r[i - 2]) ** (4 / 3) for i in range(2, 5))
    assert row["tq"] == pytest.approx(tq, rel=1e-12)
    theta = (math.pi / 2) ** 2 + math.pi - 5
    z = ((row["rv"] - bv) / row["rv"]) / math.sqrt(theta / 5 * max(1.0, tq / bv**2))
    assert row["jump_stat"] == pytest.approx(z, rel=1e-12)
    assert row["jump_pvalue"] == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-10)
    # 2-bar subsampled RV: log-price path from the open (101) on the slot clock, flat over the missing slot 3.
    off0 = ln(101 / 101) ** 2 + ln(103 / 101) ** 2 + ln(103.5 / 103) ** 2  # cuts at slots 1, 3
    off1 = ln(102 / 101) ** 2 + ln(103 / 102) ** 2 + ln(104 / 103) ** 2 + ln(103.5 / 104) ** 2  # cuts at 0, 2, 4
    assert row["rv_sub"] == pytest.approx((off0 + off1) / 2, rel=1e-13)
    # Session OHLC: O = 101, H = 104.6, L = 99.5, C = 103.5
    hl, co = ln(104.6 / 99.5), ln(103.5 / 101)
    assert row["parkinson"] == pytest.approx(hl**2 / (4 * ln(2)), rel=1e-13)
    assert row["garman_klass"] == pytest.approx(0.5 * hl**2 - (2 * ln(2) - 1) * co**2, rel=1e-13)
    assert row["gap_return"] == pytest.approx(ln(101 / 100), rel=1e-13)
    assert row["open_to_close"] == pytest.approx(ln(103.5 / 101), rel=1e-13)


def test_subsample_one_is_rv_and_roundtrip() -> None:
    res = realized_measures(_fixture(), "us_equity_rth", bar_seconds=60, subsample=1)
    d = res.daily
    assert d["rv_sub"].iloc[0] == pytest.approx(d["rv"].iloc[0], rel=1e-14)
    text = json.dumps(res.to_dict())
    back = RealizedMeasures.from_dict(json.loads(text))
    pd.testing.assert_frame_equal(back.daily, d, check_freq=False)
    assert back.metadata["data_hash"] == res.metadata["data_hash"]
    assert "Realised measures" in res.summary()


def _days(rng: np.random.Generator, n_days: int, m: int, sigma: float) -> np.ndarray:
    return rng.standard_normal((n_days, m)) * sigma


def test_bv_tracks_rv_and_resists_a_jump() -> None:
    rng = np.random.default_rng(11)
    m, sigma = 390, 1e-3
    r = _days(rng, 300, m, sigma)
    rv = np.sum(r**2, axis=1)
    bv = np.array([bipower_variation(x) for x in r])
    iv = m * sigma**2
    # BV and RV both unbiased for the integrated variance on continuous paths.
    assert abs(bv.mean() / iv - 1) < 0.01
    assert abs(rv.mean() / iv - 1) < 0.01
    assert np.corrcoef(rv, bv)[0, 1] > 0.8
    # A jump of three daily standard deviations: RV jumps by ~9 IV, BV moves much less.
    jump = 3 * math.sqrt(iv)
    rj = r.copy()
    rj[:, 200] += jump
    rvj = np.sum(rj**2, axis=1)
    bvj = np.array([bipower_variation(x) for x in rj])
    d_rv = np.mean(rvj - rv)
    d_bv = np.mean(bvj - bv)
    assert d_rv / iv > 8
    assert d_bv < 0.1 * d_rv


def test_jump_test_size_and_power() -> None:
    rng = np.random.default_rng(5)
    m, sigma, n = 390, 1e-3, 1000
    r = _days(rng, n, m, sigma)

    def pvalues(x: np.ndarray) -> np.ndarray:
        out = []
        for day in x:
            rv = float(np.sum(day**2))
            z, p = jump_statistic(rv, bipower_variation(day), tripower_quarticity(day), m)
            out.append(p)
        return np.array(out)

    size = float(np.mean(pvalues(r) < 0.05))
    # 1000 days: binomial sd of the size is 0.7 points
    assert 0.025 <= size <= 0.08, size
    rj = r.copy()
    rj[:, 100] += math.sqrt(m) * sigma  # one daily standard deviation
    power = float(np.mean(pvalues(rj[:200]) < 0.05))
    assert power > 0.9, power


def _brownian_bars(rng: np.random.Generator, n_bars: int, sigma: float, sub: int = 64) -> pd.DataFrame:
    """Bars of a driftless Brownian log price with exact extremes (bridge maxima/minima per sub-step)."""
    dt = 1.0 / sub
    steps = rng.standard_normal((n_bars, sub)) * sigma * math.sqrt(dt)
    path = np.concatenate([np.zeros((n_bars, 1)), np.cumsum(steps, axis=1)], axis=1)
    a, b = path[:, :-1], path[:, 1:]
    var = sigma**2 * dt
    u1, u2 = rng.random(a.shape), rng.random(a.shape)
    hi = 0.5 * (a + b + np.sqrt((b - a) ** 2 - 2 * var * np.log(u1)))
    lo = 0.5 * (a + b - np.sqrt((b - a) ** 2 - 2 * var * np.log(u2)))
    start = np.log(100.0)
    index = pd.date_range("2024-01-02 14:30", periods=n_bars, freq="min", tz="UTC")
    return pd.DataFrame(
        {
            "open": np.exp(start + path[:, 0]),
            "high": np.exp(start + hi.max(axis=1)),
            "low": np.exp(start + lo.min(axis=1)),
            "close": np.exp(start + path[:, -1]),
        },
        index=index,
    )


def test_range_estimators_unbiased_for_brownian_bars() -> None:
    rng = np.random.default_rng(3)
    sigma = 2e-3
    bars = _brownian_bars(rng, 40_000, sigma)
    est = range_estimators(bars)
    for col, rel_sd in (("parkinson", math.sqrt(0.41)), ("garman_klass", math.sqrt(0.27))):
        mean = est[col].mean() / sigma**2
        se = rel_sd / math.sqrt(len(bars))
        assert abs(mean - 1) < 4 * se + 0.005, (col, mean)
    # Close-to-close squared return as a check of the simulation itself.
    c2 = np.log(bars["close"] / bars["open"]) ** 2
    assert abs(c2.mean() / sigma**2 - 1) < 4 * math.sqrt(2 / len(bars))


def test_subsampled_rv_removes_noise_bias() -> None:
    rng = np.random.default_rng(8)
    m, sigma, noise = 390, 5e-4, 5e-4
    slots = np.arange(m)
    nb = np.ones(m, dtype=np.int64)
    rv, rv5 = [], []
    for _ in range(200):
        x = np.cumsum(rng.standard_normal(m + 1) * sigma)
        p = x + rng.standard_normal(m + 1) * noise
        r = np.diff(p)
        rv.append(np.sum(r**2))
        rv5.append(subsampled_rv(r, slots, nb, 5))
    iv = (m) * sigma**2
    # One-bar RV is inflated by 2 m noise^2; the 5-bar average has about a fifth of that bias.
    assert np.mean(rv) / iv > 2.5
    assert abs(np.mean(rv5) / iv - 1 - 2 * 79 * noise**2 / iv) < 0.15
    assert np.mean(rv5) < 0.5 * np.mean(rv)
