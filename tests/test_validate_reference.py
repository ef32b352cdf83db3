"""arch reference competitor: same windows as the walk-forward, seeded, no look-ahead; bucket wiring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from volresearch.errors import ConfigError
from volresearch.models import ModelSpec
from volresearch.validate import walkforward as wf
from volresearch.validate.reference import arch_reference, arch_spec, diurnal_factor

LAYOUT = dict(in_sample=1500, out_of_sample=500, refit_every=250, step=25, horizon=20)


def gjr_bars(n: int, seed: int, *, start: str = "2024-01-02", diurnal: bool = False) -> pd.DataFrame:
    """One-minute bars whose returns follow a GJR(1,1)-normal recursion (optionally x a time-of-day factor)."""
    rng = np.random.default_rng(seed)
    omega, alpha, gamma, beta = 0.02, 0.03, 0.06, 0.92
    s2 = omega / (1 - alpha - gamma / 2 - beta)
    z = rng.standard_normal(n)
    r = np.empty(n)
    for i in range(n):
        r[i] = math.sqrt(s2) * z[i]
        s2 = omega + (alpha + gamma * (z[i] < 0)) * s2 * z[i] ** 2 + beta * s2
    index = pd.date_range(start, periods=n + 1, freq="1min", tz="UTC", name="timestamp")
    if diurnal:
        r = r * np.where((index[1:].hour >= 8) & (index[1:].hour < 12), 2.0, 1.0)
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r * 1e-4)]))
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return gjr_bars(3000, 4)


@pytest.fixture(scope="module")
def run(bars):
    return wf.walk_forward(
        bars, ModelSpec("gjr", "t", "zero"), n_paths=300, seed=2, reference="arch",
        reference_options={"n_sims": 300}, min_count=5, **LAYOUT,
    )  # fmt: skip


class TestSameWindows:
    def test_origins_and_fit_samples_equal_the_walk_forward(self, run):
        ref = run.reference
        assert ref is not None
        pd.testing.assert_series_equal(ref.forecasts["origin"], run.forecasts["origin"])
        pd.testing.assert_series_equal(ref.forecasts["target_end"], run.forecasts["target_end"])
        np.testing.assert_array_equal(ref.forecasts["target"].to_numpy(), run.forecasts["target"].to_numpy())
        ours = run.fits[["window", "sample_start", "sample_end"]].reset_index(drop=True)
        theirs = ref.fits[["window", "sample_start", "sample_end"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
        assert run.fits["refit"].any()  # the schedule has refits, so the comparison covers them

    def test_standalone_uses_the_planned_origins(self, bars, run):
        layout = wf.walk_forward_windows(bars, **LAYOUT)
        planned = np.concatenate(layout["origins"].to_list())
        ref = arch_reference(bars, "gjr-skewt", n_sims=300, seed=2, **LAYOUT)
        np.testing.assert_array_equal(ref.forecasts["origin_pos"].to_numpy(), planned)
        np.testing.assert_array_equal(run.forecasts["origin_pos"].to_numpy(), planned)
        # the same spec, seed and layout inside the walk-forward give the same numbers
        pd.testing.assert_frame_equal(ref.forecasts, run.reference.forecasts)

    def test_scores_are_in_the_models_ballpark(self, run):
        ref = run.reference
        assert math.isfinite(ref.crps) and ref.crps > 0
        assert 0.85 < ref.crps / run.crps < 1.15
        assert ref.crps_ratio_vs_model == pytest.approx(ref.crps / run.crps)
        assert 0.8 < ref.coverage(0.95) <= 1.0
        # arch estimated a persistent GJR (truth: 0.98)
        assert 0.9 < ref.fits["persistence"].median() < 1.0


class TestSeeds:
    def test_identical_seeds_identical_numbers(self, bars):
        a = arch_reference(bars, "gjr-skewt", n_sims=200, seed=9, **LAYOUT)
        b = arch_reference(bars, "gjr-skewt", n_sims=200, seed=9, **LAYOUT)
        c = arch_reference(bars, "gjr-skewt", n_sims=200, seed=10, **LAYOUT)
        pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
        assert a.to_dict() == b.to_dict()
        assert not np.allclose(a.forecasts["crps"], c.forecasts["crps"])
        pd.testing.assert_frame_equal(a.fits, c.fits)  # the seed moves draws, not fits


class TestDiurnal:
    def test_factor_matches_the_bucket_mean_rule(self):
        rng = np.random.default_rng(0)
        idx = pd.date_range("2024-01-02", periods=3000, freq="1min", tz="UTC")
        r = rng.standard_normal(idx.size) * np.where(idx.hour < 6, 3.0, 1.0)
        b = np.asarray(idx.hour * 60 + idx.minute) // 30
        s = diurnal_factor(r, b, 48)
        by_hand = pd.Series(np.abs(r)).groupby(b).mean()
        full = np.full(48, by_hand.mean())
        full[by_hand.index] = by_hand.to_numpy()
        full /= np.sqrt(np.mean(full[b] ** 2))
        np.testing.assert_allclose(s, full)
        assert np.mean(s[b] ** 2) == pytest.approx(1.0)

    def test_uses_only_in_sample_data(self, bars):
        kw = dict(n_sims=200, seed=1, diurnal=True, **LAYOUT)
        base = arch_reference(bars, "gjr-skewt", **kw)
        cut = 2300  # a return position inside the last window
        changed = bars.copy()
        scale = np.ones(len(bars))
        scale[cut + 1 :] = 5.0  # returns from position `cut` on are five times larger
        logc = np.log(bars["close"].to_numpy())
        r = np.diff(logc) * scale[1:]
        changed["close"] = np.exp(np.concatenate([[logc[0]], logc[0] + np.cumsum(r)]))
        other = arch_reference(changed, "gjr-skewt", **kw)
        before = base.forecasts["origin_pos"].to_numpy() < cut
        assert before.sum() > 10 and (~before).sum() > 3
        cols = ["origin_pos", "mean", "std", "lo_95", "hi_95", "lo_50", "hi_50"]
        pd.testing.assert_frame_equal(base.forecasts.loc[before, cols], other.forecasts.loc[before, cols])
        assert not np.allclose(base.forecasts.loc[~before, "std"], other.forecasts.loc[~before, "std"])

    def test_diurnal_variant_follows_the_clock(self):
        data = gjr_bars(3000, 8, diurnal=True)
        kw = dict(n_sims=200, seed=1, **LAYOUT)
        raw = arch_reference(data, "gjr-skewt", **kw)
        adj = arch_reference(data, "gjr-skewt", diurnal=True, **kw)
        hour = adj.forecasts["origin"].dt.hour
        loud = ((hour >= 7) & (hour < 12)).to_numpy()
        # with the time-of-day factor the fan is wider in the loud hours relative to the quiet ones
        ratio_adj = adj.forecasts["std"][loud].mean() / adj.forecasts["std"][~loud].mean()
        ratio_raw = raw.forecasts["std"][loud].mean() / raw.forecasts["std"][~loud].mean()
        assert ratio_adj > ratio_raw
        assert adj.label.endswith("30-min diurnal")


class TestSpecsAndJson:
    def test_spec_mapping(self):
        assert arch_spec("egarch-ged").model == "egarch"
        assert arch_spec(ModelSpec("garch", "t", "constant")).mean == "constant"
        with pytest.raises(ConfigError):
            arch_spec("gjr-sged")
        with pytest.raises(ConfigError):
            arch_spec("gjr")

    def test_walk_forward_json(self, run):
        d = run.to_dict()
        ref = d["reference"]
        for key in ("spec", "crps", "coverage_95", "coverage_50", "pit_ad_pvalue", "coverage_95_by_bucket",
                    "worst_bucket_deviation_95", "crps_ratio_vs_model"):  # fmt: skip
            assert key in ref, key
        assert ref["spec"]["label"] == "gjr-skewt" and ref["spec"]["mean"] == "zero"
        assert ref["crps"] == pytest.approx(run.reference.crps)
        # bucket coverage of the model: one entry per 4-hour bucket seen, counts add up, values by hand
        byb = d["coverage_95_by_bucket"]
        fc = run.forecasts
        hours = fc["origin"].dt.hour // 4
        assert sum(v["n"] for v in byb.values()) == len(fc)
        for h, grp in fc.groupby(hours):
            entry = byb[f"{4 * h:02d}-{4 * h + 4:02d}"]
            assert entry["coverage"] == pytest.approx(1 - grp["hit_95"].mean())
            assert entry["lo"] <= entry["coverage"] <= entry["hi"]
        counted = [abs(v["coverage"] - 0.95) for v in byb.values() if v["n"] >= 5]
        assert d["worst_bucket_deviation_95"] == pytest.approx(max(counted))
        assert d["metrics"]["worst_bucket_deviation_95"] == pytest.approx(max(counted))
        text = run.summary()
        assert "coverage by bucket" in text and "reference arch gjr-skewt" in text

    def test_same_spec_and_bad_options(self, bars):
        with pytest.raises(ConfigError):
            wf.walk_forward(bars, "gjr-sged", reference="arch", reference_spec="same", n_paths=50, **LAYOUT)
        with pytest.raises(ConfigError):
            wf.walk_forward(bars, "gjr-t", reference="rugarch", n_paths=50, **LAYOUT)
        with pytest.raises(ConfigError):
            wf.walk_forward(bars, "gjr-t", reference="arch", reference_options={"sims": 5}, n_paths=50, **LAYOUT)

    def test_daily_bars_have_no_buckets(self):
        data = gjr_bars(700, 3)
        data.index = pd.date_range("2015-01-01", periods=len(data), freq="B", tz="UTC", name="timestamp")
        res = wf.walk_forward(data, "garch-normal", in_sample=500, out_of_sample=100, step=10, n_paths=100)
        d = res.to_dict()
        assert "coverage_95_by_bucket" not in d and "reference" not in d
        assert res.buckets is None and math.isnan(res.worst_bucket_deviation_95)
