"""Calibration by time-of-day bucket: labels, binomial intervals, detection of a miscalibrated bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from volresearch.errors import ConfigError, DataError
from volresearch.validate.buckets import (
    binomial_interval,
    calibration_by_bucket,
    is_intraday,
    session_segments,
    utc_buckets,
)

LEVELS = (0.5, 0.9, 0.95)


def _forecasts(n_days: int, seed: int, var_by_hour: dict[int, float]) -> tuple[pd.DatetimeIndex, dict, np.ndarray]:
    """Standard-normal forecasts every 5 minutes; outcomes N(0, v) with v = var_by_hour.get(hour, 1)."""
    times = pd.date_range("2024-01-01", periods=n_days * 288, freq="5min", tz="UTC")
    v = np.array([var_by_hour.get(h, 1.0) for h in times.hour])
    y = np.random.default_rng(seed).standard_normal(times.size) * np.sqrt(v)
    hits = {lv: (np.abs(y) > stats.norm.ppf(0.5 + lv / 2)).astype(int) for lv in LEVELS}
    return times, hits, stats.norm.cdf(y)


class TestLabels:
    def test_utc_bucket_boundaries(self):
        t = pd.DatetimeIndex(["2024-03-01 03:59", "2024-03-01 04:00", "2024-03-01 23:59", "2024-03-02 00:00"], tz="UTC")
        assert list(utc_buckets(t)) == ["00-04", "04-08", "20-24", "00-04"]
        assert list(utc_buckets(t, hours=6)) == ["00-06", "00-06", "18-24", "00-06"]
        # a non-UTC zone is converted first: 23:30 New York in winter is 04:30 UTC
        assert list(utc_buckets(pd.DatetimeIndex(["2024-01-10 23:30"], tz="America/New_York"))) == ["04-08"]
        with pytest.raises(ConfigError):
            utc_buckets(t, hours=5)

    def test_session_segments_us_equities(self):
        # 2024-01-10 (winter): regular session 14:30-21:00 UTC
        t = pd.DatetimeIndex(
            ["2024-01-10 14:00", "2024-01-10 14:30", "2024-01-10 15:29", "2024-01-10 15:30", "2024-01-10 19:59",
             "2024-01-10 20:00", "2024-01-10 20:59", "2024-01-10 21:00"],
            tz="UTC",
        )  # fmt: skip
        got = list(session_segments(t, "us_equity_rth"))
        assert got == ["outside", "first_hour", "first_hour", "middle", "middle", "last_hour", "last_hour", "outside"]

    def test_is_intraday(self):
        assert is_intraday(pd.date_range("2024-01-01", periods=10, freq="1min", tz="UTC"))
        assert not is_intraday(pd.date_range("2024-01-01", periods=10, freq="B", tz="UTC"))
        assert not is_intraday(pd.RangeIndex(10))


class TestBinomialInterval:
    @pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (950, 1000), (47, 50)])
    def test_matches_scipy_exact_interval(self, k, n):
        lo, hi = binomial_interval(k, n, 0.95)
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert float(lo) == pytest.approx(ref.low, abs=1e-12)
        assert float(hi) == pytest.approx(ref.high, abs=1e-12)

    def test_empty_bucket_is_nan(self):
        lo, hi = binomial_interval(0, 0)
        assert np.isnan(lo) and np.isnan(hi)


class TestCalibrationByBucket:
    def test_miscalibrated_bucket_is_found(self):
        # outcomes have twice the forecast variance in 08-12 UTC only
        times, hits, pits = _forecasts(20, 11, {8: 2.0, 9: 2.0, 10: 2.0, 11: 2.0})
        cal = calibration_by_bucket(times, hits, pits)
        assert cal.worst_bucket(0.95) == "08-12"
        expected = 0.95 - (2 * stats.norm.cdf(stats.norm.ppf(0.975) / np.sqrt(2)) - 1)  # 0.95 - 0.834
        n = int(cal.table.set_index("bucket").loc["08-12", "n"])
        assert n == 20 * 48
        se = np.sqrt(0.834 * 0.166 / n)
        assert cal.worst_deviation(0.95) == pytest.approx(expected, abs=4 * se)
        row = cal.table.set_index("bucket").loc["08-12"]
        assert row["hi_95"] < 0.95  # nominal outside the bucket's interval
        assert row["pit_ad_pvalue"] < 1e-6
        within = cal.within_intervals(0.95)
        assert not within["08-12"]
        # the other buckets hold nominal coverage within their 99.9% intervals
        wide = calibration_by_bucket(times, hits, pits, confidence=0.999)
        others = wide.within_intervals(0.95).drop("08-12")
        assert others.all()

    def test_calibrated_forecasts_are_within_every_interval(self):
        times, hits, pits = _forecasts(30, 5, {})
        cal = calibration_by_bucket(times, hits, pits, confidence=0.999)
        assert list(cal.table["bucket"]) == ["00-04", "04-08", "08-12", "12-16", "16-20", "20-24"]
        assert (cal.table["n"] == 30 * 48).all()
        for lv in LEVELS:
            assert cal.within_intervals(lv).all(), lv
        assert (cal.table["pit_ad_pvalue"] > 0.001).all()
        assert cal.worst_deviation(0.95) < 0.03

    def test_counts_coverage_and_min_count(self):
        times, hits, pits = _forecasts(2, 3, {})
        cal = calibration_by_bucket(times, hits, pits, min_count=100)
        frame = pd.DataFrame({"h": times.hour // 4, "inside": 1 - hits[0.95]})
        by_hand = frame.groupby("h")["inside"].mean().to_numpy()
        np.testing.assert_allclose(cal.table["coverage_95"].to_numpy(), by_hand)
        cov = cal.coverage_by_bucket(0.95)
        assert set(cov) == set(cal.table["bucket"]) and cov["00-04"]["n"] == 96
        assert np.isnan(cal.worst_deviation(0.95)) and cal.worst_bucket(0.95) is None  # 96 < 100 everywhere
        assert calibration_by_bucket(times, hits, pits, min_count=50).worst_deviation(0.95) == pytest.approx(
            np.max(np.abs(by_hand - 0.95))
        )
        d = cal.to_dict()
        assert d["scheme"] == "utc4h" and len(d["table"]) == 6

    def test_session_scheme(self):
        times, hits, pits = _forecasts(3, 2, {})
        cal = calibration_by_bucket(times, hits, pits, scheme="session", calendar="us_equity_rth")
        counts = cal.table.set_index("bucket")["n"]
        # 2024-01-01 is a holiday; Jan 2 and 3 hold one session each (12 five-minute origins per edge hour)
        assert counts["first_hour"] == 24 and counts["last_hour"] == 24
        assert counts["middle"] == 2 * (6.5 * 12 - 24)
        assert counts.sum() == times.size

    def test_bad_inputs(self):
        times, hits, pits = _forecasts(1, 1, {})
        with pytest.raises(DataError):
            calibration_by_bucket(times, {0.95: hits[0.95][:-1]}, pits)
        with pytest.raises(DataError):
            calibration_by_bucket(times, {0.95: hits[0.95] * 2}, pits)
        with pytest.raises(ConfigError):
            calibration_by_bucket(times, hits, pits, scheme="hourly")
        with pytest.raises(ConfigError):
            calibration_by_bucket(times, hits, pits, scheme="session")
