"""Per-criterion walk-forward verdicts and the overall verdict."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_validate_walkforward import garch_bars

from volresearch.models import ModelSpec
from volresearch.simulate.paths import simulate_paths
from volresearch.validate import walkforward as wf
from volresearch.validate import walkforward_run as wf_run
from volresearch.validate.verdicts import Criterion, coverage_band, walk_forward_verdict


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return garch_bars(2001, 21)


@pytest.fixture(scope="module")
def calibrated(data):
    # the historical (constant-volatility) baseline is beatable by the true model; the 10% skill target is not
    return wf.walk_forward(
        data, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=250, n_paths=500, baseline="historical"
    )


def _by_name(result):
    return {c.name: c for c in result.criteria}


class TestCoverageBand:
    def test_band_is_the_wider_of_fixed_and_binomial(self):
        lo, hi = coverage_band(500)
        assert lo < 0.94 and hi > 0.96  # binomial noise at 500 forecasts exceeds one point
        assert coverage_band(1_000_000) == pytest.approx((0.94, 0.96))
        # a calibrated forecaster's coverage falls inside the band about 95% of the time or more
        rng = np.random.default_rng(1)
        cov = rng.binomial(500, 0.95, size=4000) / 500
        inside = np.mean((cov >= lo) & (cov <= hi))
        assert inside >= 0.95
        # ... while the fixed 94-96% band would reject far more than 5%
        assert np.mean((cov >= 0.94) & (cov <= 0.96)) < 0.9


class TestWalkForwardVerdict:
    def test_calibrated_model_passes_without_ten_percent_skill(self, calibrated):
        c = _by_name(calibrated)
        assert [k for k, v in c.items() if not v.informational] == [
            "pit_uniform",
            "coverage_95",
            "christoffersen_independence_95",
            "dm_crps_vs_naive",
        ]
        assert all(c[k].passed for k in ("pit_uniform", "coverage_95", "christoffersen_independence_95"))
        assert c["dm_crps_vs_naive"].passed and c["dm_crps_vs_naive"].value < 0.05
        skill = c["crps_improvement_ge_10pct"]
        assert skill.informational and skill.passed is False and 0 < skill.value < 0.10
        assert "rarely" in skill.note
        assert calibrated.verdict.passed and calibrated.verdict.calibrated and calibrated.verdict.beats_naive
        assert wf.forecast_metrics(calibrated)["passed"] is True
        assert c["pit_uniform"].value == pytest.approx(calibrated.report.pit.ad_pvalue)
        assert c["coverage_95"].value == pytest.approx(calibrated.coverage(0.95))

    def test_json_and_text_carry_every_criterion(self, calibrated):
        d = json.loads(json.dumps(calibrated.to_dict(), allow_nan=False))
        assert isinstance(d["criteria"], list)
        for row in d["criteria"]:
            assert set(row) >= {"name", "value", "threshold", "passed", "informational"}
        info = {row["name"] for row in d["criteria"] if row["informational"]}
        assert info == {"crps_improvement_ge_10pct", "efficiency_gt_0.5"}
        assert d["verdict"]["label"] == "PASS" and d["verdict"]["passed"] is True
        text = calibrated.summary()
        for c in calibrated.criteria:
            assert c.name in text
        assert "verdict: PASS" in text and "[info: not met] crps_improvement_ge_10pct" in text
        assert "NOT calibrated" not in text

    def test_overconfident_model_fails_calibration(self, data, monkeypatch):
        def half_vol(model, params, *, sigma2_1, **kw):
            return simulate_paths(model, params, sigma2_1=np.asarray(sigma2_1) / 4.0, **kw)

        monkeypatch.setattr(wf_run, "simulate_paths", half_vol)
        res = wf.walk_forward(data, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=250, n_paths=300)
        c = _by_name(res)
        assert c["coverage_95"].passed is False and c["pit_uniform"].passed is False
        assert c["dm_crps_vs_naive"].passed is False  # worse than naive: one-sided test not significant
        assert not res.verdict.passed and res.verdict.calibrated is False and res.verdict.beats_naive is False
        assert res.verdict.text.startswith("FAIL") and "coverage_95" in res.verdict.text

    def test_intraday_adds_the_worst_bucket_criterion(self):
        bars = garch_bars(3001, 5, freq="min", start="2024-03-04")
        res = wf.walk_forward(bars, ModelSpec("garch", "normal"), in_sample=600, out_of_sample=600, n_paths=200)
        c = _by_name(res)
        assert "worst_bucket_coverage_95" in c
        crit = c["worst_bucket_coverage_95"]
        if crit.passed is not None:
            assert crit.value == pytest.approx(res.worst_bucket_deviation_95)
            bound = float(crit.threshold.split()[-1])
            assert bound >= 0.02 and crit.passed == (crit.value <= bound)


class TestVerdictLogic:
    @staticmethod
    def _crit(name, passed, informational=False):
        return Criterion(name, name, math.nan, "-", passed, informational)

    def test_informational_lines_never_decide(self):
        base = [self._crit(n, True) for n in ("pit_uniform", "coverage_95", "dm_crps_vs_naive")]
        assert walk_forward_verdict(base + [self._crit("crps_improvement_ge_10pct", False, True)]).passed
        v = walk_forward_verdict(base[:2] + [self._crit("dm_crps_vs_naive", False)])
        assert not v.passed and v.calibrated and v.beats_naive is False
        assert "does not beat" in v.text

    def test_unevaluable_criteria_do_not_count_but_nothing_evaluable_fails(self):
        crit = [self._crit("pit_uniform", True), self._crit("coverage_95", None), self._crit("dm_crps_vs_naive", True)]
        assert walk_forward_verdict(crit).passed
        v = walk_forward_verdict([self._crit("pit_uniform", True), self._crit("dm_crps_vs_naive", None)])
        assert not v.passed and v.beats_naive is None and "not evaluable" in v.text
