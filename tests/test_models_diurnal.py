"""Diurnal factor: recovery of a known pattern from synthetic one-minute bars, jump robustness, half-days."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from volresearch.data.calendar import get_calendar
from volresearch.data.session_returns import session_slots
from volresearch.errors import ConfigError
from volresearch.models.diurnal import (
    DiurnalFactor,
    _sorted_quantile,
    deseasonalise,
    fit_diurnal,
    session_bar_counts,
)
from volresearch.models.realized import realized_measures
from volresearch.quantiles import quantile

N = 390
JUMP_SLOT = 200


def true_factor(monday: bool = False, n: int = N) -> np.ndarray:
    x = (np.arange(n) + 0.5) / n
    s = 0.5 + 5.0 * (x - 0.55) ** 2 + 0.3 * np.exp(-((x - 0.3) ** 2) / 0.002)  # U-shape with a midday bump
    s[0] *= 6.0 if monday else 3.0  # spike at the open
    return s / s.mean()


def synthetic(
    n_days: int = 500,
    seed: int = 7,
    jump_prob: float = 0.04,
    jump_size: float = 10.0,
    drop: float = 0.02,
    monday_spike: bool = False,
    calendar: str = "us_equity_rth",
    start: str = "2023-01-03",
    n: int = N,
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """One-minute NYSE bars: GARCH daily variance x diurnal factor x Student-t(5), jumps at slot 200.

    Returns bars, the true daily variance h_d (variance per full session day) and the true factor.
    """
    rng = np.random.default_rng(seed)
    cal = get_calendar(calendar)
    idx = cal.expected_index(start, "2025-06-30", 60)
    pos, slot, _, sessions = session_slots(idx, cal, 60)
    keep = pos < n_days
    idx, pos, slot = idx[keep], pos[keep], slot[keep]
    days = pd.DatetimeIndex(sessions.index[:n_days])
    # Daily GARCH(1,1) with 1% daily volatility on average.
    mean_h, a, b = 1e-4, 0.08, 0.88
    h = np.empty(n_days)
    h[0] = mean_h
    for d in range(1, n_days):
        h[d] = mean_h * (1 - a - b) + a * h[d - 1] * rng.standard_normal() ** 2 + b * h[d - 1]
    s_true = true_factor(n=n)
    s_mon = true_factor(monday=True, n=n)
    weekday = np.asarray(days.day_of_week)
    s_bar = np.where((weekday[pos] == 0) & monday_spike, s_mon[slot], s_true[slot])
    u = rng.standard_t(5, size=len(idx)) / math.sqrt(5 / 3)
    sd = np.sqrt(h[pos] * s_bar / n)
    r = sd * u
    jump_days = rng.random(n_days) < jump_prob
    at = (slot == JUMP_SLOT) & jump_days[pos]
    r[at] += jump_size * sd[at] * rng.choice([-1.0, 1.0], size=int(at.sum()))
    first = slot == 0
    gap = np.where(first, rng.standard_normal(len(idx)) * 0.5 * np.sqrt(h[pos]), 0.0)
    logp = np.log(100.0) + np.cumsum(gap + r)
    close = np.exp(logp)
    opn = np.exp(logp - r)
    bars = pd.DataFrame(
        {"open": opn, "high": np.maximum(opn, close), "low": np.minimum(opn, close), "close": close}, index=idx
    )
    dropped = (rng.random(len(idx)) < drop) & (slot > 0)
    return bars[~dropped], pd.Series(h, index=days), s_true


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    return synthetic()


def _mare(est: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(est / truth - 1)))


def test_recovers_known_pattern(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, _, s_true = data
    fit = fit_diurnal(bars, "us_equity_rth", fourier=6, spikes=(0,), n_boot=60, seed=1)
    assert fit.n_slots == N
    assert fit.factor.mean() == pytest.approx(1.0, abs=1e-12)
    err = _mare(fit.factor, s_true)
    # Measured 1.9% mean absolute relative error (500 days, t(5) innovations, jumps, 2% missing bars).
    assert err < 0.04, f"mean absolute relative error {err:.4f}"
    assert fit.factor[0] == pytest.approx(s_true[0], rel=0.15)
    # The raw (unsmoothed) factor is much noisier but unbiased on average.
    raw_err = _mare(fit.raw, s_true)
    assert raw_err > err
    assert abs(np.nanmedian(fit.raw / s_true) - 1) < 0.05
    # Bootstrap band: ordered, and it holds the truth at most slots.
    assert np.all(fit.lower <= fit.factor + 1e-12) and np.all(fit.upper >= fit.factor - 1e-12)
    cover = float(np.mean((fit.lower <= s_true) & (s_true <= fit.upper)))
    assert cover > 0.6, cover
    with pytest.raises(ValueError):
        fit.factor[0] = 2.0


def test_jumps_distort_the_mean_not_the_median(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, _, s_true = data
    robust = fit_diurnal(bars, "us_equity_rth", fourier=None, n_boot=0)
    plain = fit_diurnal(bars, "us_equity_rth", method="mean", fourier=None, n_boot=0)
    ratio_robust = robust.factor[JUMP_SLOT] / s_true[JUMP_SLOT]
    ratio_plain = plain.factor[JUMP_SLOT] / s_true[JUMP_SLOT]
    # 4% of days carry a 10-sd jump at slot 200: +4 in E[z^2] for the mean of squares.
    assert ratio_plain > 2.5, ratio_plain
    assert abs(ratio_robust - 1) < 0.3, ratio_robust
    # Away from the jump slot both estimate the shape.
    other = np.arange(N) != JUMP_SLOT
    assert _mare(robust.factor[other], s_true[other]) < 0.15
    trimmed = fit_diurnal(bars, "us_equity_rth", method="trimmed", fourier=6, n_boot=0)
    assert _mare(trimmed.factor, s_true) < 0.05


def test_given_daily_variance_and_half_days(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, h, s_true = data
    fit = fit_diurnal(bars, "us_equity_rth", daily_variance=h, fourier=6, n_boot=0)
    assert _mare(fit.factor, s_true) < 0.04
    cal = get_calendar("us_equity_rth")
    sessions = cal.sessions(bars.index[0], bars.index[-1])
    counts = session_bar_counts(sessions, 60)
    half = sessions.index[counts == 210]
    assert len(half) >= 2  # 2023-07-03, 2023-11-24, ...
    # Slots after 13:00 ET exist only on full days; half-days feed only the first 210 slots.
    assert fit.days_per_slot[:200].mean() > fit.days_per_slot[220:].mean()
    # A future half-day (2025-11-28 closes 13:00 ET): each bar gets the slot counted from the open.
    stamps = pd.DatetimeIndex(
        ["2025-11-28 14:30", "2025-11-28 15:00", "2025-11-28 17:59", "2025-11-28 18:05", "2025-11-29 15:00"], tz="UTC"
    )
    got = fit.factor_at(stamps)
    np.testing.assert_array_equal(got[:3], fit.factor[[0, 30, 209]])
    assert np.isnan(got[3]) and np.isnan(got[4])  # after the early close; a Saturday


def test_globex_sessions_across_dst_and_early_closes() -> None:
    # CME Globex: 1380 one-minute slots from 18:00 ET, the open moving from 23:00 to 22:00 UTC in March;
    # Presidents' Day 2024 (an early close) lies inside the sample.
    n = 1380
    bars, _, s_true = synthetic(n_days=90, seed=12, calendar="cme_globex", start="2024-01-02", n=n)
    fit = fit_diurnal(bars, "cme_globex", fourier=6, n_boot=0)
    assert fit.n_slots == n
    err = _mare(fit.factor, s_true)
    assert err < 0.06, err  # measured 2.7% with 90 days
    stamps = pd.DatetimeIndex(["2024-03-07 23:00", "2024-03-11 22:00", "2024-03-11 22:59"], tz="UTC")
    np.testing.assert_array_equal(fit.factor_at(stamps), fit.factor[[0, 0, 59]])


def test_weekday_effect(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, _, _ = synthetic(seed=3, monday_spike=True, jump_prob=0.0)
    common = fit_diurnal(bars, "us_equity_rth", fourier=6, n_boot=0)
    by_day = fit_diurnal(bars, "us_equity_rth", fourier=6, n_boot=0, weekday=True, weekday_shrink=10)
    assert by_day.weekday_factor is not None
    monday, tuesday = true_factor(monday=True), true_factor()
    assert abs(by_day.weekday_factor[0, 0] / monday[0] - 1) < abs(common.factor[0] / monday[0] - 1)
    assert by_day.weekday_factor[0, 0] > by_day.weekday_factor[1, 0] * 1.3
    assert _mare(by_day.weekday_factor[1], tuesday / tuesday.mean()) < 0.08
    assert np.all(np.isnan(by_day.weekday_factor[5]))  # no Saturday sessions
    monday_bar = pd.DatetimeIndex(["2025-06-02 13:30"], tz="UTC")  # a Monday open (EDT)
    assert by_day.factor_at(monday_bar)[0] == by_day.weekday_factor[0, 0]
    assert by_day.factor_at(monday_bar, by_weekday=False)[0] == by_day.factor[0]


def test_deseasonalised_returns_have_flat_variance(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, _, _ = data
    fit = fit_diurnal(bars, "us_equity_rth", fourier=6, n_boot=0)
    rv = realized_measures(bars, "us_equity_rth").daily["bv"]
    out = deseasonalise(bars, "us_equity_rth", fit, rv)
    one = out[out["n_bars"] == 1]
    buckets = one["slot"].to_numpy() // 30
    med_z = pd.Series(np.abs(one["z"].to_numpy())).groupby(buckets).median()
    day_scale = np.sqrt(rv.reindex(pd.DatetimeIndex(one["session"])).to_numpy() / N)
    med_raw = pd.Series(np.abs(one["return"].to_numpy()) / day_scale).groupby(buckets).median()
    spread_z = med_z.max() / med_z.min()
    spread_raw = med_raw.max() / med_raw.min()
    assert spread_raw > 1.8, spread_raw
    assert spread_z < 1.1, spread_z
    # Multi-bar returns are scaled by the sum of the factors they span.
    multi = out[out["n_bars"] > 1]
    assert len(multi) > 0
    row = multi.iloc[0]
    s_span = fit.factor[int(row["slot"]) - int(row["n_bars"]) + 1 : int(row["slot"]) + 1].sum()
    assert row["variance"] == pytest.approx(rv.loc[row["session"]] * s_span / N, rel=1e-12)


def test_roundtrip_and_options(data: tuple[pd.DataFrame, pd.Series, np.ndarray]) -> None:
    bars, _, _ = data
    fit = fit_diurnal(bars.iloc[: 390 * 40], "us_equity_rth", fourier=3, n_boot=10, seed=2, weekday=True)
    back = DiurnalFactor.from_dict(json.loads(json.dumps(fit.to_dict())))
    np.testing.assert_array_equal(back.factor, fit.factor)
    np.testing.assert_array_equal(back.weekday_factor, fit.weekday_factor)
    assert back.spikes == fit.spikes and back.metadata["data_hash"] == fit.metadata["data_hash"]
    assert "Diurnal factor" in fit.summary()
    with pytest.raises(ConfigError):
        fit_diurnal(bars, "us_equity_rth", method="mode")


def test_sorted_quantile_is_the_package_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 5))
    x[rng.random(x.shape) < 0.2] = np.nan
    counts = np.sum(np.isfinite(x), axis=0)
    srt = np.sort(x, axis=0)
    for q in (0.5, 0.95, 0.1):
        got = _sorted_quantile(srt, counts, q)
        want = [float(quantile(col[np.isfinite(col)], q)) for col in x.T]
        np.testing.assert_array_equal(got, want)


def test_calendar_longer_than_the_traded_hours_is_not_extrapolated() -> None:
    # regular-hours bars fitted on the extended-hours calendar: the slots outside 09:30-16:00 ET have no data
    bars, _, s_true = synthetic(n_days=120, seed=3, jump_prob=0.0)
    est = fit_diurnal(bars, "us_equity_extended", fourier=6, n_boot=0)
    factor = np.asarray(est.factor)
    assert np.all(np.isfinite(factor)) and np.all(factor > 0)
    at = est.factor_at(bars.index)
    assert np.all(np.isfinite(at)) and np.all(at > 0)
    # on the traded slots the shape is the true one (up to the normalisation over the longer session)
    traded = np.unique(session_slots(bars.index, get_calendar("us_equity_extended"), 60)[1])
    first, last = traded.min(), traded.max()
    shape = factor[first : last + 1] / factor[first : last + 1].mean()
    assert _mare(shape[1:], s_true[1:]) < 0.08
    # untraded slots hold the nearest traded slot's value instead of a polynomial's extrapolation
    assert np.all(factor[:first] == factor[first]) and np.all(factor[last + 1 :] == factor[last])
