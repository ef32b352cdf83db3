"""Tests of volresearch.validate.walkforward: layout, no look-ahead, baseline, calibration, Dask identity."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from volresearch.errors import ConfigError, DataError, FitError
from volresearch.models import ModelSpec, fit_garch
from volresearch.models.returns import default_mean
from volresearch.models.robust import ewma_variance
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.paths import cumulative_return_variance, simulate_paths
from volresearch.validate import baselines as bl
from volresearch.validate import calibration as cal
from volresearch.validate import walkforward as wf
from volresearch.validate import walkforward_run as wf_run

TRUE = {"mu": 0.0, "omega": 2e-6, "alpha": 0.08, "gamma": 0.0, "beta": 0.9}


def garch_bars(n_prices: int, seed: int, *, freq: str = "B", start: str = "2010-01-04") -> pd.DataFrame:
    """Bars whose closes follow a GARCH(1,1)-normal path simulated by the engine (known truth)."""
    paths = simulate_paths(
        "garch",
        TRUE,
        ppf_table=innovation_table("normal", {}),
        n_paths=1,
        horizon=n_prices - 1,
        x0=math.log(100.0),
        sigma2_1=TRUE["omega"] / (1 - TRUE["alpha"] - TRUE["beta"]),
        seed=seed,
    )
    close = np.exp(paths.log_prices[:, 0].astype(float))
    index = pd.date_range(start, periods=n_prices, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return garch_bars(1201, 7)


@pytest.fixture(scope="module")
def small_run(bars):
    return wf.walk_forward(bars, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=150, n_paths=300, seed=3)


FORECAST_COLUMNS = ["sigma2_next", "forecast_var", "mean", "std", "base_std"] + [
    f"{side}_{wf.level_name(lv)}" for lv in cal.DEFAULT_LEVELS for side in ("lo", "hi")
]


# ===================================================================== prices on a tick grid
@pytest.fixture(scope="module")
def tick_runs(bars):
    ticked = bars.copy()
    ticked[["open", "high", "low", "close"]] = (np.round(bars[["open", "high", "low", "close"]] / 0.5) * 0.5).to_numpy()
    kw = {"in_sample": 500, "out_of_sample": 150, "n_paths": 200, "seed": 3}
    spec = ModelSpec("garch", "normal")
    return (
        wf.walk_forward(ticked, spec, **kw),
        wf.walk_forward(ticked, spec, **kw),
        wf.walk_forward(bars, spec, **kw),
    )


class TestTickGrid:
    """Outcomes recorded on a coarse grid get the randomised PIT of the rounded ensemble (``pit_on_grid``)."""

    def test_grid_found_in_sample_and_ties_randomised(self, tick_runs):
        ticked, again, plain = tick_runs
        assert ticked.meta["pit_ticks"] == [0.5] and plain.meta["pit_ticks"] == []
        on_members = lambda u: np.isclose(u * 200, np.round(u * 200))  # noqa: E731
        # without a grid every PIT is a share of the 200 members
        assert on_members(plain.forecasts["pit"].to_numpy()).all()
        # on the grid, unchanged prices (a fifth of the outcomes) fall inside the jump of F at zero
        f = ticked.forecasts
        still = f["target"].to_numpy() == 0.0
        assert 0.1 < still.mean() < 0.4
        u = f.loc[still, "pit"].to_numpy()
        assert not on_members(u).all() and np.unique(u).size > still.sum() // 2
        assert 0.25 < np.mean(u) < 0.75
        # reproducible with the seed, the naive baseline randomised the same way
        pd.testing.assert_series_equal(f["pit"], again.forecasts["pit"])
        assert not on_members(f.loc[still, "base_pit"].to_numpy()).all()
        assert json.loads(json.dumps(ticked.to_dict()))["meta"]["pit_ticks"] == [0.5]


# ===================================================================== layout
class TestLayout:
    def test_bar_count_windows_and_origins(self, bars):
        n = len(bars) - 1  # returns
        lay = wf.walk_forward_windows(bars, in_sample=300, out_of_sample=100, step=3, horizon=2)
        assert list(lay["window"]) == list(range(9))
        assert "n_refits" in lay.columns and (lay["n_refits"] == 0).all()
        for k, row in lay.iterrows():
            b = 300 + 100 * k
            assert (row.is_start, row.is_end, row.oos_end) == (b - 300, b, min(n, b + 100))
            expected = np.arange(b - 1, min(n, b + 100) - 1, 3)
            expected = expected[expected + 2 <= n - 1]
            np.testing.assert_array_equal(row.origins, expected)
            assert row.is_start_time == bars.index[1 + b - 300]  # return p is stamped with bar p + 1
            assert row.oos_start_time == bars.index[1 + b]
        # out-of-sample periods tile the returns without overlap
        assert (lay["oos_start"].iloc[1:].to_numpy() == lay["oos_end"].iloc[:-1].to_numpy()).all()

    def test_expanding_anchors_at_first_return(self, bars):
        lay = wf.walk_forward_windows(bars, in_sample=300, out_of_sample=100, expanding=True)
        assert (lay["is_start"] == 0).all()
        assert list(lay["is_end"]) == [300 + 100 * k for k in range(len(lay))]

    def test_calendar_spans_tile_and_match_offsets(self):
        b = garch_bars(600, 1, freq="D", start="2015-01-01")
        lay = wf.walk_forward_windows(b, in_sample="3M", out_of_sample="1M")
        ts = b.index[1:]  # times of the returns
        t0 = ts[0]
        for k, row in lay.iterrows():
            nominal = t0 + pd.DateOffset(months=3) + pd.DateOffset(months=1) * k
            assert row.oos_start_time == ts[ts >= nominal][0]
            assert row.is_start_time == ts[ts >= nominal - pd.DateOffset(months=3)][0]
            assert row.oos_end_time < nominal + pd.DateOffset(months=1) <= ts[min(row.oos_end, len(ts) - 1)] or (
                row.oos_end == len(ts)
            )
        assert (lay["oos_start"].iloc[1:].to_numpy() == lay["oos_end"].iloc[:-1].to_numpy()).all()
        assert len(lay) == 17  # 600 days = 19.7 months, 3 of them in sample first

    def test_defaults_shrink_on_short_data(self):
        b = garch_bars(4141, 2, freq="min", start="2024-01-08 14:30")  # ~3 days of 1-minute bars
        lay = wf.walk_forward_windows(b)
        n = 4140
        assert len(lay) == 9
        assert (lay["n_in_sample"] == n // 4).all()
        assert (lay["oos_end"] - lay["oos_start"]).iloc[:-1].eq(n // 12).all()  # 3105 / 9 = 345 = n / 12
        res_cfg = wf._config(b.index[1:], in_sample=None, out_of_sample=None, step=1, horizon=1, refit_every=None,
                             n_paths=1, levels=(0.95,), seed=0, baseline="ewma", baseline_options=None,
                             expanding=False)  # fmt: skip
        assert res_cfg.defaults_shrunk

    def test_daily_default_holds_enough_returns(self):
        b = garch_bars(800, 3)  # three years of business days
        cfg = wf._config(b.index[1:], in_sample=None, out_of_sample=None, step=1, horizon=1, refit_every=None,
                         n_paths=1, levels=(0.95,), seed=0, baseline="ewma", baseline_options=None,
                         expanding=False)  # fmt: skip
        assert cfg.in_sample == wf.MIN_DEFAULT_IN_SAMPLE
        assert cfg.out_of_sample == pd.DateOffset(months=1)
        b1 = garch_bars(20_000, 3, freq="h")  # hourly bars over two years: 3 months hold ~2,200 returns
        cfg1 = wf._config(b1.index[1:], in_sample=None, out_of_sample=None, step=1, horizon=1, refit_every=None,
                          n_paths=1, levels=(0.95,), seed=0, baseline="ewma", baseline_options=None,
                          expanding=False)  # fmt: skip
        assert cfg1.in_sample == pd.DateOffset(months=3)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("3M", pd.DateOffset(months=3)),
            ("2W", pd.DateOffset(weeks=2)),
            ("10D", pd.DateOffset(days=10)),
            ("1y", pd.DateOffset(years=1)),
            ("6h", pd.Timedelta(hours=6)),
            ("500bars", 500),
            (250, 250),
        ],
    )
    def test_span_parsing(self, value, expected):
        assert wf._span(value, "in_sample") == expected

    @pytest.mark.parametrize("value", ["3 parsecs", "", 0, -5, True, "0M"])
    def test_bad_spans(self, value):
        with pytest.raises(ConfigError, match="in_sample"):
            wf._span(value, "in_sample")


# ============================================================ no look-ahead
class TestNoLookAhead:
    def test_changing_later_bars_leaves_earlier_forecasts(self, bars, small_run):
        cut = bars.index[900]
        changed = bars.copy()
        later = changed.index > cut
        # triple every later log return: a very different future
        logp = np.log(changed["close"].to_numpy())
        r = np.diff(logp)
        r[later[1:]] *= 3.0
        changed["close"] = np.exp(np.concatenate([[logp[0]], logp[0] + np.cumsum(r)]))
        other = wf.walk_forward(
            changed, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=150, n_paths=300, seed=3
        )
        a, b = small_run.forecasts, other.forecasts
        assert (a["origin_pos"].to_numpy() == b["origin_pos"].to_numpy()).all()
        before = (a["origin"] <= cut).to_numpy()
        assert before.sum() > 100 and (~before).sum() > 100
        for col in FORECAST_COLUMNS:
            np.testing.assert_array_equal(a.loc[before, col], b.loc[before, col], err_msg=col)
        # the forecasts after the cut did see the new data
        assert not np.allclose(a.loc[~before, "sigma2_next"], b.loc[~before, "sigma2_next"])

    def test_truncated_data_give_the_same_forecasts(self, bars, small_run):
        short = wf.walk_forward(
            bars.iloc[:1000], ModelSpec("garch", "normal"), in_sample=500, out_of_sample=150, n_paths=300, seed=3
        )
        a = small_run.forecasts.set_index("origin_pos")
        b = short.forecasts.set_index("origin_pos")
        common = b.index
        assert len(common) > 300
        pd.testing.assert_frame_equal(a.loc[common, FORECAST_COLUMNS], b[FORECAST_COLUMNS], check_exact=True)

    def test_variance_path_is_the_fit_filtered_forward(self, bars, small_run):
        r = np.diff(np.log(bars["close"].to_numpy()))
        w0 = small_run.windows.iloc[0]
        with wf._blas_single_thread():  # the walk-forward fits with BLAS on one thread
            fit = fit_garch(r[w0.is_start : w0.is_end], ModelSpec("garch", "normal"), returns=True)
        f = small_run.forecasts[small_run.forecasts["window"] == 0]
        t = f["origin_pos"].to_numpy()
        v = fit.filter(r[w0.is_end : t[-1] + 1])
        np.testing.assert_allclose(f["sigma2_next"], v[t - (w0.is_end - 1)], rtol=1e-10)
        assert f["sigma2_next"].iloc[0] == pytest.approx(fit.next_variance, rel=1e-12)
        # the ensemble has the model's mean and spread (Monte Carlo error of 300 members)
        assert np.median(f["std"] / np.sqrt(f["sigma2_next"])) == pytest.approx(1.0, abs=0.06)


# ================================================================= baseline
class TestBaseline:
    def test_same_targets_same_origins(self, bars, small_run):
        f = small_run.forecasts
        r = np.diff(np.log(bars["close"].to_numpy()))
        t = f["origin_pos"].to_numpy()
        np.testing.assert_allclose(f["target"], bl.cumulative_returns(r, 1)[t], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(f["base_std"], bl.ewma_volatility(r)[t], rtol=1e-12)
        assert (f["origin"].to_numpy() == bars.index[1:][t]).all()
        # ensemble scores of the baseline agree with its closed form within Monte Carlo error
        closed = stats.norm.cdf(f["target"] / f["base_std"])
        assert np.max(np.abs(f["base_pit"] - closed)) < 0.1
        crps_closed = cal.crps_normal(0.0, f["base_std"].to_numpy(), f["target"].to_numpy())
        assert f["base_crps"].mean() == pytest.approx(crps_closed.mean(), rel=0.02)
        assert small_run.crps_naive == pytest.approx(f["base_crps"].mean())
        assert small_run.report.baseline_crps_mean == pytest.approx(f["base_crps"].mean())

    def test_historical_baseline(self, bars):
        res = wf.walk_forward(bars, "garch-normal", in_sample=500, out_of_sample=300, n_paths=100,
                              baseline="historical", baseline_options={"window": 100})  # fmt: skip
        r = np.diff(np.log(bars["close"].to_numpy()))
        t = res.forecasts["origin_pos"].to_numpy()
        np.testing.assert_allclose(res.forecasts["base_std"], bl.historical_volatility(r, 100)[t], rtol=1e-12)


# ============================================================== calibration
@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return garch_bars(2001, 21)


class TestCalibration:
    def test_correct_model_passes(self, data):
        res = wf.walk_forward(data, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=250, n_paths=500)
        assert res.n_forecasts == 1500
        assert res.report.pit.ad_pvalue > 0.10
        assert 0.94 <= res.coverage(0.95) <= 0.96
        row = res.report.coverage.set_index("level").loc[0.95]
        assert row["p_pof"] > 0.05 and row["p_ind"] > 0.05
        assert res.report.criteria["pit_ad_p_gt_0.10"] and res.report.criteria["coverage_95_in_94_96"]

    def test_overconfident_model_fails(self, data, monkeypatch):
        def half_vol(model, params, *, sigma2_1, **kw):
            return simulate_paths(model, params, sigma2_1=np.asarray(sigma2_1) / 4.0, **kw)

        monkeypatch.setattr(wf_run, "simulate_paths", half_vol)
        res = wf.walk_forward(data, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=250, n_paths=500)
        assert res.coverage(0.95) < 0.85
        assert res.report.pit.ad_pvalue < 1e-6
        assert res.report.pit.shape == "u_shaped_overconfident"
        assert not res.report.criteria["coverage_95_in_94_96"]
        assert not res.report.criteria["pit_ad_p_gt_0.10"]
        assert res.crps_improvement < 0


# ================================================================ behaviour
class TestRefitsAndFailures:
    def test_refit_schedule_rolling_and_expanding(self, bars):
        res = wf.walk_forward(bars, "garch-normal", in_sample=400, out_of_sample=200, refit_every=70, n_paths=100)
        fits = res.fits
        for w in res.windows.itertuples():
            rows = fits[fits["window"] == w.window].sort_values("fit_id")
            points = [w.is_end - 1] + list(range(w.is_end - 1 + 70, w.oos_end - 1, 70))
            last_origin = res.forecasts.loc[res.forecasts["window"] == w.window, "origin_pos"].max()
            points = [p for p in points if p <= last_origin]
            assert list(rows["sample_end"] - 1) == points
            assert (rows["n_obs"] == 400).all()
            assert list(rows["refit"]) == [False] + [True] * (len(points) - 1)
        # each origin uses the newest fit made at or before it
        f = res.forecasts
        w0 = res.windows.iloc[0]
        assert (f.loc[(f["window"] == 0) & (f["origin_pos"] >= w0.is_end - 1 + 70), "fit_id"] >= 1).all()
        exp = wf.walk_forward(bars, "garch-normal", in_sample=400, out_of_sample=200, refit_every=70, n_paths=100,
                              expanding=True)  # fmt: skip
        assert (exp.fits["sample_start"] == 0).all()
        assert (exp.fits["n_obs"] == exp.fits["sample_end"]).all()

    def test_failed_fit_falls_back_to_ewma(self, bars, monkeypatch):
        calls = {"n": 0}
        real = wf_run.fit_garch

        def flaky(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise FitError("forced failure for the test", reason="forced")
            return real(*args, **kwargs)

        monkeypatch.setattr(wf_run, "fit_garch", flaky)
        res = wf.walk_forward(bars, "garch-normal", in_sample=400, out_of_sample=200, n_paths=100)
        w = res.windows.set_index("window")
        assert w.loc[1, "method"] == "ewma" and not w.loc[1, "converged"]
        assert w.loc[1, "reason"] == "forced"
        assert (w.drop(index=1)["method"] == "garch").all()
        assert math.isnan(w.loc[1, "in_sample_score"]) and math.isnan(w.loc[1, "efficiency"])
        f = res.forecasts[res.forecasts["window"] == 1]
        assert (f["method"] == "ewma").all() and (f["fit_id"] == -1).all()
        r = np.diff(np.log(bars["close"].to_numpy()))
        a = int(w.loc[1, "is_start"])
        ew = ewma_variance(r[a : f["origin_pos"].max() + 1])
        np.testing.assert_allclose(f["sigma2_next"], ew[f["origin_pos"].to_numpy() - a], rtol=1e-12)
        assert not res.fits.set_index("window").loc[1, "ok"]
        assert len(res.parameters) == len(res.windows) - 1
        assert res.fits.set_index("window").loc[1, "window_end"] not in res.parameters.index
        # the fallback is listed with its period, the model asked for, the one that answered and why
        fb = res.fallbacks
        assert fb["window"].tolist() == [1]
        row = fb.iloc[0]
        assert row["requested"] == "garch-normal" and row["answered"] == "ewma" and row["reason"] == "forced"
        assert row["oos_start_time"] == w.loc[1, "oos_start_time"] and row["oos_end_time"] == w.loc[1, "oos_end_time"]
        assert row["fallback_start"] == f["origin"].iloc[0] and row["fallback_end"] == f["origin"].iloc[-1]
        assert row["n_forecasts"] == len(f)
        d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        assert d["fallbacks"] == [
            {
                "window": 1,
                "oos_start_time": w.loc[1, "oos_start_time"].isoformat(),
                "oos_end_time": w.loc[1, "oos_end_time"].isoformat(),
                "fallback_start": f["origin"].iloc[0].isoformat(),
                "fallback_end": f["origin"].iloc[-1].isoformat(),
                "n_forecasts": len(f),
                "requested": "garch-normal",
                "answered": "ewma",
                "reason": "forced",
            }
        ]
        assert d["metrics"]["n_fallback_windows"] == 1
        assert "garch-normal -> ewma" in res.summary()

    def test_default_mean_resolves_through_default_mean(self, bars):
        kw = {"in_sample": 500, "out_of_sample": 150}
        daily = wf._prepare(0, None, bars, "garch-normal", **kw)
        assert daily.spec.mean == default_mean(bars.index.as_unit("ns")) == "constant"
        intraday = bars.copy()
        intraday.index = pd.date_range("2024-03-04 14:30", periods=len(bars), freq="min", tz="UTC", name="timestamp")
        assert wf._prepare(0, None, intraday, "garch-normal", **kw).spec.mean == "zero"
        assert wf._prepare(0, None, intraday, "garch-normal", mean="constant", **kw).spec.mean == "constant"
        # an explicit ModelSpec keeps its mean unless a mean is asked for
        spec = ModelSpec("garch", "normal", "constant")
        assert wf._prepare(0, None, intraday, spec, **kw).spec.mean == "constant"
        assert wf._prepare(0, None, intraday, spec, mean="auto", **kw).spec.mean == "zero"
        with pytest.raises(ConfigError):
            wf._prepare(0, None, intraday, "garch-normal", mean="drift", **kw)

    @pytest.mark.parametrize("spec", ["gjr-t", "egarch-normal"])
    def test_multi_step_forecast_variance(self, bars, spec):
        res = wf.walk_forward(bars, spec, in_sample=500, out_of_sample=350, horizon=5, step=5, n_paths=2000)
        f = res.forecasts
        r = np.diff(np.log(bars["close"].to_numpy()))
        t = f["origin_pos"].to_numpy()
        np.testing.assert_allclose(f["target"], bl.cumulative_returns(r, 5)[t], rtol=1e-12, atol=1e-15)
        assert (np.diff(t) % 5 == 0).all()
        # ensemble variance of the 5-bar return against the forecast variance column
        assert np.median(f["std"] ** 2 / f["forecast_var"]) == pytest.approx(1.0, abs=0.1)
        if spec == "gjr-t":
            fit0 = res.parameters.iloc[0]
            params = {k: fit0[k] for k in ("mu", "omega", "alpha", "gamma", "beta", "nu")}
            first = f.iloc[0]
            kappa = innovation_table("t", params).neg_second_moment
            cum = cumulative_return_variance("gjr", params, first["sigma2_next"], 5, neg_second_moment=kappa)[-1]
            assert first["forecast_var"] == pytest.approx(cum, rel=1e-10)


# ================================================================ results
class TestResult:
    def test_tables_and_serialisation(self, small_run):
        res = small_run
        assert res.n_forecasts == len(res.forecasts) == res.report.n_forecasts
        assert list(res.hits.columns) == list(cal.DEFAULT_LEVELS)
        pd.testing.assert_frame_equal(cal.coverage_table(res.hits), res.report.coverage)
        for name, row in res.stability.iterrows():
            col = res.parameters[name]
            assert row["mean"] == pytest.approx(col.mean())
            assert row["min"] == col.min() and row["max"] == col.max()
            assert row["n"] == len(res.parameters)
        assert res.parameters.index.name == "window_end"
        assert {"omega", "omega_se", "alpha", "alpha_se", "beta", "persistence"} <= set(res.parameters.columns)
        assert len(res.fallbacks) == 0 and res.to_dict()["fallbacks"] == []
        assert res.in_sample_score > 0
        assert res.efficiency == pytest.approx(res.out_of_sample_score / res.in_sample_score)
        w = res.windows
        n_oos = (w["oos_end"] - w["is_end"]).to_numpy()
        n_is = w["n_in_sample"].to_numpy()
        assert res.in_sample_score == pytest.approx(np.sum(w["in_sample_score"] * n_is) / n_is.sum())
        assert res.out_of_sample_score == pytest.approx(np.sum(w["out_of_sample_score"] * n_oos) / n_oos.sum())
        text = json.dumps(res.to_dict(include_forecasts=True), allow_nan=False)
        assert '"efficiency"' in text
        s = res.summary()
        assert "efficiency" in s and "95% interval" in s and "garch-normal" in s
        cov = res.coverage_over_time(0.95, window=50)
        assert list(cov.columns) == ["coverage", "nominal", "lower", "upper"]
        assert len(cov) == res.n_forecasts - 49
        m = wf.forecast_metrics(res)
        assert m["coverage_95"] == res.coverage(0.95) and m["n_forecasts"] == res.n_forecasts

    def test_bad_inputs(self, bars):
        with pytest.raises(DataError, match="no walk-forward window"):
            wf.walk_forward(bars, "garch-normal", in_sample=1500, out_of_sample=10)
        with pytest.raises(ConfigError, match="step"):
            wf.walk_forward(bars, "garch-normal", in_sample=500, out_of_sample=100, step=0)
        with pytest.raises(ConfigError, match="levels"):
            wf.walk_forward(bars, "garch-normal", in_sample=500, out_of_sample=100, levels=(0.95, 1.2))
        with pytest.raises(ConfigError, match="scheduler"):
            wf.walk_forward(bars, "garch-normal", in_sample=500, out_of_sample=100, n_paths=10, scheduler="gpu")
        with pytest.raises(ConfigError, match="baseline"):
            wf.walk_forward(bars, "garch-normal", in_sample=500, out_of_sample=100, baseline="oracle")
        with pytest.raises(ConfigError, match="unknown model .garch.*gjr-sged"):
            wf.walk_forward(bars, "garch", in_sample=500, out_of_sample=100)
        with pytest.raises(ConfigError, match="DatetimeIndex"):
            wf.walk_forward(bars["close"].reset_index(drop=True), "garch-normal", in_sample="3M", out_of_sample=100)
        with pytest.raises(DataError, match="sorted"):
            wf.walk_forward(bars.iloc[::-1], "garch-normal", in_sample=500, out_of_sample=100)


# ===================================================================== dask
class TestSchedulers:
    @pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
    def test_in_process_schedulers_identical(self, bars, scheduler):
        kw = dict(in_sample=500, out_of_sample=150, n_paths=300, seed=3)
        serial = wf.walk_forward(bars, ModelSpec("garch", "normal"), **kw)
        other = wf.walk_forward(bars, ModelSpec("garch", "normal"), scheduler=scheduler, **kw)
        pd.testing.assert_frame_equal(serial.forecasts, other.forecasts, check_exact=True)
        pd.testing.assert_frame_equal(serial.parameters, other.parameters, check_exact=True)

    def test_seed_changes_draws_not_fits(self, bars, small_run):
        other = wf.walk_forward(bars, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=150, n_paths=300,
                                seed=4)  # fmt: skip
        pd.testing.assert_frame_equal(small_run.parameters, other.parameters, check_exact=True)
        assert not np.array_equal(small_run.forecasts["pit"], other.forecasts["pit"])

    @pytest.mark.slow
    def test_grid_identical_serial_and_local_cluster(self):
        distributed = pytest.importorskip("distributed")
        data = {"a": garch_bars(801, 1), "b": garch_bars(801, 2)}
        specs = [ModelSpec("garch", "normal"), ModelSpec("gjr", "t"), ModelSpec("gjr", "sged")]
        kw = dict(in_sample=400, out_of_sample=100, n_paths=200, refit_every=50, seed=5)
        serial = wf.walk_forward_grid(data, specs, **kw)
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            remote = wf.walk_forward_grid(data, specs, client=client, **kw)
        assert len(serial.table) == 6
        assert set(serial.table["instrument"]) == {"a", "b"}
        assert set(serial.table["spec"]) == {"garch-normal", "gjr-t", "gjr-sged"}
        pd.testing.assert_frame_equal(serial.table, remote.table, check_exact=True)
        for key, res in serial.results.items():
            pd.testing.assert_frame_equal(res.forecasts, remote.results[key].forecasts, check_exact=True)
            pd.testing.assert_frame_equal(res.parameters, remote.results[key].parameters, check_exact=True)


class TestEfficiency:
    def test_scores_are_log_score_gains_over_the_unconditional_gaussian(self, bars, small_run):
        r = np.diff(np.log(bars["close"].to_numpy()))
        w0 = small_run.windows.iloc[0]
        r_is = r[w0.is_start : w0.is_end]
        with wf._blas_single_thread():
            fit = fit_garch(r_is, ModelSpec("garch", "normal"), returns=True)
        ref_is = stats.norm.logpdf(r_is, r_is.mean(), r_is.std()).sum()
        assert w0.in_sample_score == pytest.approx((fit.loglik - ref_is) / r_is.size, rel=1e-8)
        r_oos = r[w0.is_end : w0.oos_end]
        v = fit.filter(r_oos)[:-1]
        gain = stats.norm.logpdf(r_oos, fit.params["mu"], np.sqrt(v)) - stats.norm.logpdf(
            r_oos, r_is.mean(), r_is.std()
        )
        assert w0.out_of_sample_score == pytest.approx(gain.mean(), rel=1e-8)
        assert w0.efficiency == pytest.approx(w0.out_of_sample_score / w0.in_sample_score)

    def test_correct_model_keeps_its_in_sample_gain(self, data):
        res = wf.walk_forward(data, ModelSpec("garch", "normal"), in_sample=500, out_of_sample=250, n_paths=100)
        assert res.in_sample_score > 0.01
        assert res.efficiency > 0.5


def test_an_egarch_with_a_negative_size_effect_is_rejected_and_the_ewma_answers():
    """S&P 500 2003-2006: EGARCH-t fits there have alpha < 0; out of sample their variance collapses after a run of
    rises, then overflows (it once stopped the whole walk-forward).  The fit is rejected, the EWMA answers."""
    from volresearch.data import open_bars

    bars = open_bars("sp500").iloc[1000:2252]
    res = wf.walk_forward(bars, "egarch-t", in_sample=1000, out_of_sample=250, step=2, horizon=1, n_paths=200,
                          seed=0, quiet=True)  # fmt: skip
    w0 = res.windows.iloc[0]
    assert w0["method"] == "ewma" and "size effect alpha" in w0["message"]
    f = res.forecasts
    assert np.all(np.isfinite(f["crps"])) and np.all(np.isfinite(f["forecast_var"]))
    assert set(f[f["window"] == 0]["method"]) == {"ewma"}


def test_runaway_variance_bounds():
    from types import SimpleNamespace

    fit = SimpleNamespace(conditional_volatility=np.sqrt(np.array([1e-4, 4e-4, 2e-4])))
    v = np.array([1e-4, 2e-6, 5e-7, 3.9e-2, 4.1e-2, np.inf, np.nan])
    np.testing.assert_array_equal(wf_run.runaway_variance(fit, v), [False, False, True, False, True, True, True])
