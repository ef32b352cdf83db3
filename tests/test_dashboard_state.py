"""Tests for the dashboard's state object, driven directly (no browser).

:class:`~volresearch.dashboard.state.DashboardState` holds every control and
result of one session.  These tests load each kind of source (real and
synthetic datasets, CSV and Parquet files of a data folder, uploads), fit and
simulate small forecasts, replay held-out bars, feed it malformed uploads and
check that two states never share anything.  One test checks that the views
follow the state without a server.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import param
import pytest

from volresearch.dashboard import DashboardState, compute_fit, split_bars
from volresearch.dashboard.state import MIN_FIT_BARS, instrument_for
from volresearch.data import datasets

SMALL = {"n_paths": 500, "horizon": 60, "fit_window": 600, "replay_bars": 80, "n_particles": 300, "seed": 7}


def _csv_bytes(bars: pd.DataFrame) -> bytes:
    return bars.reset_index().to_csv(index=False).encode()


@pytest.fixture(scope="module")
def sp500_tail() -> pd.DataFrame:
    """The last 800 S&P 500 bars as a plain frame (for files and uploads)."""
    return datasets.load("sp500").iloc[-800:][["open", "high", "low", "close", "volume"]]


@pytest.fixture()
def fitted() -> DashboardState:
    state = DashboardState(**SMALL)
    assert state.fit_and_simulate(), state.error
    return state


# ----------------------------------------------------------------------------- sources
def test_sources_list_datasets_and_label_synthetic_ones(tmp_path, sp500_tail) -> None:
    sp500_tail.reset_index().to_csv(tmp_path / "mybars.csv", index=False)
    (tmp_path / "notes.md").write_text("not bars")
    state = DashboardState(data_dir=tmp_path, load_initial=False)
    sources = state.sources
    for name in datasets.DATASETS:
        assert f"dataset:{name}" in sources
    synthetic = {k for k, s in sources.items() if s.synthetic}
    assert synthetic == {f"dataset:{n}" for n, d in datasets.DATASETS.items() if not d.real}
    for key in synthetic:
        assert "SYNTHETIC" in sources[key].label
    files = [k for k in sources if k.startswith("file:")]
    assert files == [f"file:{(tmp_path / 'mybars.csv').resolve()}"]
    # the picker offers exactly these sources, by label
    assert set(state.param.source.objects.values()) == set(sources)


@pytest.mark.parametrize(
    ("key", "synthetic", "symbol"),
    [("dataset:nasdaq", False, "^IXIC"), ("dataset:gc_synthetic", True, "GC-SYN")],
)
def test_load_datasets(key: str, synthetic: bool, symbol: str) -> None:
    state = DashboardState(load_initial=False)
    state.source = key  # selecting a source loads it
    assert state.error == ""
    assert state.loaded_key == key
    assert state.synthetic is synthetic
    assert state.symbol == symbol
    assert state.quality is not None and state.quality.passed
    assert len(state.bars) > 1_000
    assert state.bars.index.is_monotonic_increasing
    assert ("SYNTHETIC" in state.status) is synthetic


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_load_data_files(tmp_path, sp500_tail, fmt: str) -> None:
    path = tmp_path / f"spx_tail.{fmt}"
    frame = sp500_tail.reset_index()
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    state = DashboardState(data_dir=tmp_path, load_initial=False)
    state.source = f"file:{path.resolve()}"
    assert state.error == ""
    assert len(state.bars) == len(sp500_tail)
    np.testing.assert_allclose(state.bars["close"].to_numpy(), sp500_tail["close"].to_numpy())
    assert state.loaded_label == path.name
    assert not state.synthetic


def test_upload_is_added_selected_and_fitted(sp500_tail) -> None:
    state = DashboardState(**SMALL)
    assert state.load_upload("my prices.csv", _csv_bytes(sp500_tail))
    assert state.error == ""
    assert state.source.startswith("upload:")
    assert state.sources[state.source].label == "upload: my_prices.csv"
    assert state.source in state.param.source.objects.values()
    assert len(state.bars) == len(sp500_tail)
    assert state.fit_and_simulate(), state.error
    assert state.fit.n_obs == SMALL["fit_window"] - 1
    # switching away and back keeps the upload without reading it again
    state.source = "dataset:sp500"
    upload_key = next(k for k in state.sources if k.startswith("upload:"))
    state.source = upload_key
    assert state.error == "" and len(state.bars) == len(sp500_tail)


# ----------------------------------------------------------------------------- fit
def test_fit_and_simulate_small(fitted: DashboardState) -> None:
    s = fitted
    fc = s.forecast
    fit_part, replay_part = split_bars(s.bars, s.fit_window, s.replay_bars)
    assert s.fit.n_obs == len(fit_part) - 1
    assert fc.origin == fit_part.index[-1]
    assert fc.price == pytest.approx(fit_part["close"].iloc[-1])
    assert fc.fan.n_paths == 500 and fc.fan.n_steps == 60
    assert fc.fan.bands[0] == pytest.approx(np.full(fc.fan.levels.size, fc.price))
    # bands widen with the horizon
    q = fc.bands_by_step()
    width = q[0.975] - q[0.025]
    assert width.iloc[60] > width.iloc[5] > 0
    # realised path: the held-out closes after the origin
    assert len(fc.realised) == 60
    assert fc.realised.index[0] == replay_part.index[0]
    realised = fc.realised_by_step()
    assert realised.index[0] == 0 and realised.iloc[0] == fc.price
    assert len(fc.history) == s.history_bars
    assert fc.history_by_step().index[-1] == 0
    # signals at the horizon
    assert len(fc.analysis.zones) >= 1
    assert fc.analysis.bias in ("bullish", "bearish", "neutral")
    assert 0.0 <= fc.analysis.bias_confidence <= 1.0
    assert fc.confidence.horizon == pytest.approx(60 * 1440.0)
    assert fc.confidence.used_default  # no thresholds entry for ^GSPC
    assert list(fc.table.index)[-1] == 60
    assert fc.table.loc[60, "mean"] == pytest.approx(fc.fan.mean[60])
    # tables for the page
    params = s.fit_table()
    assert {"mu", "omega", "alpha", "gamma", "beta", "nu"} <= set(params.index)
    assert (params["std error"] > 0).all()
    assert params.loc["omega", "unit"] == "squared log return per bar"
    # t statistics against each parameter's natural null: skew xi against 1, omega against 0
    assert params.loc["xi", "null"] == 1.0 and params.loc["omega", "null"] == 0.0
    xi, se = params.loc["xi", "estimate"], params.loc["xi", "std error"]
    assert params.loc["xi", "t"] == pytest.approx((xi - 1.0) / se)
    diag = s.diagnostics_table()
    assert diag["test"].str.contains("Ljung-Box").sum() == 4
    assert diag["test"].str.contains("sign bias").any()
    facts = s.stylized_verdicts()
    assert len(facts) > 10 and set(facts["verdict"]) <= {"PASS", "FAIL"}
    assert not s.busy and s.error == "" and "Fitted gjr-sged" in s.status
    assert s.replay_total == SMALL["replay_bars"] and s.replay_position == 0


def test_controls_choose_model_and_distribution() -> None:
    state = DashboardState(**{**SMALL, "model": "egarch-sged", "n_paths": 300, "horizon": 20})
    assert state.fit_and_simulate(), state.error
    assert state.fit.spec.label == "egarch-sged" == state.answered_model == state.requested_model
    assert {"nu", "xi"} <= set(state.fit.params)
    assert state.forecast.fan.n_paths == 300 and state.forecast.horizon == 20


def test_same_seed_same_forecast_other_seed_differs() -> None:
    a, b, c = DashboardState(**SMALL), DashboardState(**SMALL), DashboardState(**{**SMALL, "seed": 8})
    for s in (a, b, c):
        assert s.fit_and_simulate(), s.error
    np.testing.assert_array_equal(a.forecast.fan.bands, b.forecast.fan.bands)
    assert not np.array_equal(a.forecast.fan.bands, c.forecast.fan.bands)


def test_fit_failure_sets_error(tmp_path) -> None:
    index = pd.date_range("2024-01-01", periods=200, freq="D", tz="UTC", name="timestamp")
    flat = pd.DataFrame({"open": 10.0, "high": 10.0, "low": 10.0, "close": 10.0, "volume": 1.0}, index=index)
    state = DashboardState(**SMALL)
    assert state.load_upload("flat.csv", _csv_bytes(flat))
    assert not state.fit_and_simulate()
    assert "gjr-sged was rejected on flat.csv" in state.error and "dispersion" in state.error
    assert state.forecast is None and not state.busy
    # The fallback cascade cannot help either: every model tried is listed with its reason.
    state.fallback = True
    assert not state.fit_and_simulate()
    assert state.error.startswith("No model answered on flat.csv")
    assert [name for name, _ in state.rejections] == ["gjr-sged", *state.fallback_models("gjr-sged")]
    assert all("dispersion" in reason for _, reason in state.rejections)
    assert state.forecast is None and state.answered_model == ""


def test_too_few_bars_for_a_fit() -> None:
    index = pd.date_range("2024-01-01", periods=MIN_FIT_BARS - 5, freq="D", tz="UTC", name="timestamp")
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, index.size)))
    bars = pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1.0}, index=index
    )
    state = DashboardState(**SMALL)
    assert state.load_upload("short.csv", _csv_bytes(bars))
    assert not state.fit_and_simulate()
    assert f"at least {MIN_FIT_BARS}" in state.error


def test_superseded_fit_is_dropped() -> None:
    state = DashboardState(**SMALL)
    job = state.begin_fit()
    assert state.busy
    state.source = "dataset:nasdaq"  # the data changed while the fit ran
    assert not state.busy
    assert not state.finish_fit(compute_fit(job))
    assert state.forecast is None and state.fit is None
    assert state.loaded_key == "dataset:nasdaq" and state.error == ""


# ----------------------------------------------------------------------------- replay
def test_replay_steps_change_the_forecast(fitted: DashboardState) -> None:
    s = fitted
    first = s.forecast
    replay_part = split_bars(s.bars, s.fit_window, s.replay_bars)[1]
    seen = []
    for k in range(3):
        assert s.replay_step(), s.error
        fc = s.forecast
        assert s.replay_position == k + 1 and fc.replay_step == k + 1
        assert fc.origin == replay_part.index[k]
        assert fc.price == pytest.approx(replay_part["close"].iloc[k])
        assert 0 < fc.ess <= SMALL["n_particles"]
        assert fc.fan.n_paths == SMALL["n_particles"] and fc.fan.weights is not None
        assert fc.history.index[-1] == fc.origin
        assert fc.realised.index[0] == replay_part.index[k + 1]
        seen.append(fc)
    assert seen[-1].table.loc[60, "mean"] != pytest.approx(first.table.loc[60, "mean"], rel=1e-9)
    assert not np.array_equal(seen[0].fan.bands, seen[1].fan.bands)
    assert seen[1].origin > seen[0].origin
    assert "ESS" in s.status


def test_replay_reset_reproduces_and_the_end_stops(fitted: DashboardState) -> None:
    s = fitted
    s.replay_step()
    s.replay_step()
    after_two = s.forecast
    assert s.reset_replay()
    assert s.replay_position == 0
    s.replay_step()
    s.replay_step()
    np.testing.assert_array_equal(after_two.fan.bands, s.forecast.fan.bands)
    # run to the end of the held-out bars
    s.play()
    assert s.replay_running
    while s.replay_step():
        pass
    assert s.replay_position == s.replay_total == SMALL["replay_bars"]
    assert not s.replay_running
    assert "finished" in s.status
    assert not s.replay_step()


def test_replay_before_fit_says_so() -> None:
    state = DashboardState()
    assert not state.replay_step()
    assert "Fit a model first" in state.status
    state.play()
    assert not state.replay_running


# ----------------------------------------------------------------------------- bad input
BAD_UPLOADS = [
    (
        "negative.csv",
        b"timestamp,open,high,low,close,volume\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1.5,2,1,-1.8,10\n"
        b"2024-01-03,1.8,2.2,1.6,2.0,10\n",
        ["negative.csv", "row 1", "'close'", "nonpositive"],
    ),
    ("columns.csv", b"foo,bar\n1,2\n3,4\n", ["columns.csv", "no time column", "foo"]),
    (
        "number.csv",
        b"timestamp,open,high,low,close\n2024-01-01,1,2,0.5,abc\n",
        ["number.csv", "row 0", "'close'", "abc"],
    ),
    ("binary.csv", b"\x00\x01\x02garbage\xff\xfe", ["binary.csv", "cannot read"]),
    ("empty.csv", b"", ["empty.csv", "empty"]),
    ("prices.xlsx", b"PK\x03\x04", ["prices.xlsx", "format"]),
]


@pytest.mark.parametrize(("name", "data", "expected"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_malformed_upload_sets_error_and_keeps_results(fitted: DashboardState, name, data, expected) -> None:
    s = fitted
    s.replay_step()
    before = (s.bars, s.fit, s.forecast, s.stylized, s.source, s.replay_position, s.loaded_key)
    n_sources = len(s.sources)
    assert not s.load_upload(name, data)
    assert s.error.startswith("Upload rejected")
    for part in expected:
        assert part in s.error, (part, s.error)
    assert "volresearch-upload-" not in s.error  # no temporary path leaks into the message
    after = (s.bars, s.fit, s.forecast, s.stylized, s.source, s.replay_position, s.loaded_key)
    assert all(a is b for a, b in zip(before, after, strict=True))
    assert len(s.sources) == n_sources
    # the session keeps working; the message stays until dismissed or a load/fit succeeds
    assert s.replay_step()
    assert s.error.startswith("Upload rejected")
    s.dismiss_error()
    assert s.error == ""
    assert s.fit_and_simulate()


def test_bad_data_file_reports_and_returns_to_the_loaded_source(tmp_path) -> None:
    (tmp_path / "broken.csv").write_bytes(BAD_UPLOADS[0][1])
    state = DashboardState(data_dir=tmp_path, **SMALL)
    assert state.fit_and_simulate()
    forecast = state.forecast
    state.source = f"file:{(tmp_path / 'broken.csv').resolve()}"
    assert "broken.csv" in state.error and "row 1" in state.error
    assert state.source == "dataset:sp500" == state.loaded_key
    assert state.forecast is forecast


# ----------------------------------------------------------------------------- sessions
def test_two_states_are_independent(sp500_tail) -> None:
    a = DashboardState(**SMALL)
    b = DashboardState(**{**SMALL, "model": "garch-normal"})
    a.source = "dataset:nasdaq"
    assert b.source == "dataset:sp500" and b.loaded_key == "dataset:sp500"
    assert a.fit_and_simulate() and b.fit_and_simulate()
    assert a.fit.spec.label == "gjr-sged" and b.fit.spec.label == "garch-normal"
    assert a.forecast.price != b.forecast.price
    assert a.load_upload("mine.csv", _csv_bytes(sp500_tail))
    assert not any(k.startswith("upload:") for k in b.sources)
    assert not any(v.startswith("upload:") for v in b.param.source.objects.values())
    b_forecast = b.forecast
    a.fit_and_simulate()
    a.replay_step()
    assert b.forecast is b_forecast and b.replay_position == 0
    assert DashboardState.param.n_paths.default == 2_000  # class defaults untouched
    a.n_paths = 9_000
    assert b.n_paths == SMALL["n_paths"]


def test_controls_are_typed_bounded_and_documented() -> None:
    state = DashboardState(load_initial=False)
    controls = [
        "source", "model", "fallback", "n_boot", "mean", "n_paths", "horizon", "seed", "fit_window",
        "replay_bars", "history_bars", "n_sample_paths", "n_particles", "replay_speed",
    ]  # fmt: skip
    for name in controls:
        p = state.param[name]
        assert p.doc, name
        if isinstance(p, param.Number):
            low, high = p.bounds
            assert low is not None and high is not None, name
            with pytest.raises(ValueError):
                setattr(state, name, high + 1)
    assert state.n_paths <= 2_000 and state.param.n_paths.bounds[1] >= 10_000
    with pytest.raises(ValueError):
        state.model = "arima"
    with pytest.raises(ValueError):
        state.model = "gjr-cauchy"


# ----------------------------------------------------------------------------- helpers
def test_split_bars_holds_out_the_tail() -> None:
    bars = datasets.load("sp500")
    fit_part, replay_part = split_bars(bars, 500, 100)
    assert len(fit_part) == 500 and len(replay_part) == 100
    assert fit_part.index[-1] < replay_part.index[0]
    assert replay_part.index[-1] == bars.index[-1]
    short = bars.iloc[:80]
    fit_part, replay_part = split_bars(short, 500, 100)
    assert len(fit_part) == MIN_FIT_BARS and len(replay_part) == 80 - MIN_FIT_BARS


def test_instrument_for_maps_synthetic_symbols() -> None:
    key, info = instrument_for("ES-SYN")
    assert key == "ES" and info is not None and info.tick_size == 0.25
    assert instrument_for("^GSPC") == ("^GSPC", None)
    assert instrument_for(None) == ("default", None)


def test_synthetic_future_uses_its_thresholds_and_tick() -> None:
    state = DashboardState(source="dataset:es_synthetic", model="gjr-sged", **{**SMALL, "horizon": 30})
    assert state.synthetic
    assert state.fit_and_simulate(), state.error
    fc = state.forecast
    assert fc.confidence.thresholds_key == "ES" and not fc.confidence.used_default
    assert fc.horizon_minutes == 30.0
    assert math.isclose(fc.confidence.horizon_scale, math.sqrt(30 / 1440))
    assert state.replay_step() and state.forecast.table.index[-1] == 30


def test_replay_table_chart_and_signals_come_from_one_fan(fitted: DashboardState, monkeypatch) -> None:
    """One simulation per replayed bar: the table's numbers are the chart's fan at those steps."""
    import volresearch.dashboard.state as state_module

    calls = []
    real = state_module._adapter_fan
    monkeypatch.setattr(state_module, "_adapter_fan", lambda *a, **k: calls.append(1) or real(*a, **k))
    s = fitted
    for k in range(2):
        assert s.replay_step(), s.error
        assert len(calls) == k + 1  # one fan per bar
        fc = s.forecast
        fan = fc.fan
        for h in fc.table.index:
            row = fc.table.loc[h]
            assert row["mean"] == fan.mean[h] and row["std"] == fan.std[h]
            for lv, col in ((0.05, "p5"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.95, "p95")):
                assert row[col] == fan.quantiles([lv]).iloc[h, 0]
            assert row["target_time"] == fan.times[h]
        # zones and confidence describe the same terminal distribution
        assert fc.analysis.mean == pytest.approx(float(np.dot(fan.weights, fan.terminal())), rel=1e-12)
        assert fc.confidence.std == pytest.approx(fc.analysis.std, rel=1e-12)


def test_intraday_fit_defaults_to_zero_mean_and_daily_reports_the_mean_noise() -> None:
    intraday = DashboardState(source="dataset:es_synthetic", model="gjr-sged", **{**SMALL, "horizon": 30})
    assert intraday.fit_and_simulate(), intraday.error
    assert intraday.fit.spec.mean == "zero"
    assert intraday.forecast.analysis.mean_se is None and intraday.forecast.confidence.mean_se is None
    # asked for, the constant mean comes back, with its standard error next to the bias
    intraday.mean = "constant"
    assert intraday.fit_and_simulate(), intraday.error
    fit, fc = intraday.fit, intraday.forecast
    assert fit.spec.mean == "constant"
    expected = fc.price * 30 * fit.std_errors["mu"]
    assert fc.analysis.mean_se == pytest.approx(expected, rel=1e-12)
    assert fc.analysis.bias_score_se == pytest.approx(expected / fc.analysis.std, rel=1e-12)
    assert fc.confidence.mean_se == pytest.approx(expected, rel=1e-12)
    assert intraday.replay_step(), intraday.error
    assert intraday.forecast.analysis.mean_se is not None
    # daily bars keep a constant mean by default
    daily = DashboardState(**SMALL)
    assert daily.fit_and_simulate(), daily.error
    assert daily.fit.spec.mean == "constant" and daily.forecast.analysis.mean_se > 0


def test_confidence_uses_the_library_default_scaling() -> None:
    import volresearch.dashboard.state as state_module
    from volresearch.signals import ConfidenceCalculator

    assert state_module._calculator() == ConfidenceCalculator.from_yaml()
    assert state_module._calculator().horizon_scaling == "sqrt"


# ----------------------------------------------------------------------------- views
def test_views_follow_the_state() -> None:
    pytest.importorskip("panel")
    import holoviews as hv

    from volresearch.dashboard import create_dashboard

    dash = create_dashboard(**SMALL)
    dash.__panel__()
    assert not dash.chart.pane.visible and dash.chart.empty_note.visible
    assert dash.state.fit_and_simulate()
    assert dash.chart.pane.visible and isinstance(dash.chart.pane.object, hv.Overlay)
    zones = dash.signals.zones.object
    assert list(zones.columns) == ["kind", "strength", "low", "high", "center", "probability"]
    assert len(zones) == len(dash.state.forecast.analysis.zones)
    assert "Confidence" in dash.signals.headline.object
    assert "from the estimated mean" in dash.signals.headline.object  # daily S&P 500: constant mean
    assert dash.model.params_table.object.index.tolist() == dash.state.fit_table().index.tolist()
    dash.state.replay_step()
    assert "Replayed 1 of 80" in dash.replay.info.object
    assert dash.replay.position.value == 1
    assert dash.alert.visible is False
    assert not dash.state.load_upload("bad.csv", BAD_UPLOADS[0][1])
    assert dash.alert.visible is True
    assert "bad.csv" in dash.alert.object and "nonpositive" in dash.alert.object
    assert "Upload rejected" in dash.status.object


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_default_model_fits_every_embedded_dataset(name: str) -> None:
    """What a user gets by picking a dataset and pressing fit with the default settings.

    The default model of every embedded dataset fits without the fallback
    cascade (a rejected default that the cascade answers is covered by the
    uploaded FX fixture below).
    """
    from volresearch.registry import default_model

    state = DashboardState(n_paths=200, horizon=20, n_particles=100, seed=1, n_boot=0)
    state.source = f"dataset:{name}"
    assert state.error == ""
    assert state.model == default_model(state.bars)
    assert state.fit_and_simulate(), state.error
    assert state.answered_model == state.requested_model == state.model and state.rejections == []
    assert state.fit.model == state.model and 0 < state.fit.persistence < 1
    assert state.forecast is not None and np.all(np.isfinite(state.forecast.fan.bands))


# ----------------------------------------------------------------------------- the trader's own instrument
FX_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "eurlike_1min.csv"
FX_SMALL = {"n_paths": 400, "fit_window": 1_500, "replay_bars": 60, "n_particles": 200, "seed": 3}


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


@pytest.fixture(scope="module")
def fx_state() -> DashboardState:
    """The FX-like fixture uploaded and fitted with a 1,440-bar horizon."""
    state = DashboardState(load_initial=False, horizon=1_440, fallback=True, **FX_SMALL)
    assert state.load_upload("eurlike_1min.csv", FX_FIXTURE.read_bytes()), state.error
    assert state.fit_and_simulate(), state.error
    # Three session days: too few for a diurnal factor, so the default is the GARCH family on raw returns.
    assert state.requested_model == state.answered_model == "gjr-sged" and state.rejections == []
    return state


def test_fx_prices_are_shown_at_the_inferred_tick(fx_state: DashboardState) -> None:
    fmt = fx_state.price_format
    assert fmt.tick == pytest.approx(0.00005) and fmt.decimals == 5
    assert fmt.source == "price grid of the data"
    assert "tick 0.00005" in fx_state.status or "tick 0.00005" in fmt.describe()
    table = fx_state.horizon_table_text()
    assert table.index[-1] == 1_440
    for col in ("mean", "p5", "p25", "p50", "p75", "p95"):
        assert all(_decimals(v) == 5 for v in table[col]), (col, table[col].tolist())
    # The std is a small number: at least 3 significant digits and never zero.
    raw_std = fx_state.forecast.table["std"]
    for text, value in zip(table["std"], raw_std, strict=True):
        assert float(text.replace(",", "")) == pytest.approx(value, rel=5e-3)
        assert _decimals(text) >= 5
    zones = fx_state.zone_table_text()
    assert len(zones) == len(fx_state.forecast.analysis.zones) > 0
    for col in ("low", "high", "center"):
        assert all(_decimals(v) == 5 for v in zones[col])
    # Two prices one tick apart never print the same.
    assert fmt.price(1.08500) != fmt.price(1.08505)


def test_known_symbol_takes_the_tick_from_the_instrument_table() -> None:
    state = DashboardState(source="dataset:es_synthetic")
    assert state.price_format.tick == 0.25 and state.price_format.decimals == 2
    assert state.price_format.source.startswith("instrument table")


def test_horizon_reaches_several_sessions_and_the_fit_window_the_data(fx_state: DashboardState) -> None:
    assert fx_state.param.horizon.bounds[1] >= 5 * 1_440
    presets = fx_state.horizon_presets()
    assert presets["1 h"] == 60 and presets["4 h"] == 240 and presets["24 h"] == 1_440
    # "next session": the last preset bar is the last bar of a session (a break follows it).
    from volresearch.data.calendar import get_calendar
    from volresearch.simulate.results import session_step_times

    fit_part, _ = split_bars(fx_state.bars, fx_state.fit_window, fx_state.replay_bars)
    n = presets["next session"]
    calendar = get_calendar("fx_24x5")
    origin = fit_part.index[-1]
    steps = session_step_times(calendar, origin, n, 60.0)
    sessions = calendar.sessions(origin, steps[-1] + pd.Timedelta("1min"))
    closes = set(pd.to_datetime(sessions["close"], utc=True))
    opens = pd.to_datetime(sessions["open"], utc=True)
    # The last bar ends at a session close, that of the first session opening after the origin.
    assert steps[-1] + pd.Timedelta("1min") in closes
    first_later = sessions[opens > origin].iloc[0]
    assert pd.Timestamp(first_later["close"]) == steps[-1] + pd.Timedelta("1min")
    assert fx_state.apply_horizon_preset("24 h") == 1_440 and fx_state.horizon == 1_440
    with pytest.raises(ValueError, match="horizon preset 'week'"):
        fx_state.apply_horizon_preset("week")
    limit = fx_state.fit_window_limit()
    assert limit == len(fx_state.bars) - fx_state.replay_bars
    other = DashboardState(load_initial=False, **FX_SMALL)
    other.load_upload("eurlike_1min.csv", FX_FIXTURE.read_bytes())
    other.fit_window = limit
    fit_part, _ = split_bars(other.bars, other.fit_window, other.replay_bars)
    assert len(fit_part) == limit


def test_daily_bars_offer_no_intraday_presets() -> None:
    state = DashboardState(source="dataset:sp500")
    presets = state.horizon_presets()
    assert "1 h" not in presets and "4 h" not in presets


# ----------------------------------------------------------------------------- confidence against warnings
def test_flagged_model_downgrades_confidence_with_the_reason(monkeypatch) -> None:
    import dataclasses

    import volresearch.dashboard.state as state_module
    from volresearch.signals import ConfidenceCalculator, ConfidenceLevel, LevelThresholds

    generous = ConfidenceCalculator(instruments={"default": LevelThresholds(1.0, 2.0, 3.0, 4.0)})
    monkeypatch.setattr(state_module, "_calculator", lambda: generous)
    clean = DashboardState(**SMALL)
    assert clean.fit_and_simulate(), clean.error
    assert clean.forecast.confidence.level == ConfidenceLevel.VERY_HIGH
    assert not clean.forecast.confidence.downgraded

    real_fit = state_module.fit_model
    note = "near-integrated: persistence 0.999950000 >= 1 - 0.0001; long-horizon variance forecasts are unreliable"

    def flagged_fit(*args, **kwargs):
        return dataclasses.replace(real_fit(*args, **kwargs), flags=(note,))

    monkeypatch.setattr(state_module, "fit_model", flagged_fit)
    state = DashboardState(**SMALL)
    assert state.fit_and_simulate(), state.error
    conf = state.forecast.confidence
    assert conf.raw_level == ConfidenceLevel.VERY_HIGH and conf.level == ConfidenceLevel.LOW
    assert conf.downgraded and conf.downgrade_reasons == (note,)
    assert not conf.can_enter
    assert "downgraded from very_high" in state.status
    # The same fan: only the level changed.
    assert conf.std == clean.forecast.confidence.std
    # Replayed forecasts carry the cap too.
    assert state.replay_step()
    assert state.forecast.confidence.level <= ConfidenceLevel.LOW and state.forecast.confidence.downgraded
    # And the page says why, next to the level.
    pytest.importorskip("panel")
    from volresearch.dashboard.views import SignalPanel

    panel = SignalPanel(state=state)
    assert "Downgraded from very high" in panel.headline.object and "near-integrated" in panel.headline.object


# ----------------------------------------------------------------------------- replay speed
def test_batched_low_resolution_replay_matches_single_steps_after_refresh(monkeypatch) -> None:
    import dataclasses

    one = DashboardState(**SMALL)
    assert one.fit_and_simulate()
    for _ in range(5):
        assert one.replay_step()
    batch = DashboardState(**SMALL)
    assert batch.fit_and_simulate()
    job = batch.begin_replay_step(5, n_paths=100)
    assert job is not None and job.n_bars == 5
    import volresearch.dashboard.state as state_module
    from volresearch.dashboard import compute_replay_step

    calls = []
    real = state_module._adapter_fan
    monkeypatch.setattr(state_module, "_adapter_fan", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert batch.finish_replay_step(compute_replay_step(job))
    fc = batch.forecast
    assert batch.replay_position == 5 and fc.bars_in_step == 5
    # Playing reuses the fan the filter step simulated: no second simulation.
    assert calls == [] and fc.fan is job.forecaster.last_fan and not fc.full_resolution
    assert fc.origin == job.forecaster.last_time and fc.table.index[-1] == SMALL["horizon"]
    # When that fan does not cover the horizon, a fan of n_paths paths is simulated instead.
    job2 = batch.begin_replay_step(1, n_paths=100)
    assert job2 is not None
    state_module_job = dataclasses.replace(job2, horizon=job2.horizon - 10)
    outcome = compute_replay_step(state_module_job)
    assert outcome.error is None and calls == [1] and outcome.forecast.n_paths == 100
    assert not outcome.forecast.full_resolution
    assert batch.finish_replay_step(outcome)
    # Pausing redraws from every particle: the same fan as six single steps.
    assert one.replay_step()
    assert batch.refresh_full_resolution()
    assert batch.replay_position == 6 and batch.forecast.full_resolution
    assert batch.forecast.n_paths == one.forecast.n_paths == SMALL["n_particles"]
    assert batch.forecast.origin == one.forecast.origin
    pd.testing.assert_frame_equal(batch.forecast.table, one.forecast.table)
    assert not batch.refresh_full_resolution()  # already full


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_replay_reports_the_achieved_rate_and_when_it_cannot_keep_up() -> None:
    fitted = DashboardState(**{**SMALL, "replay_bars": 200})
    assert fitted.fit_and_simulate(), fitted.error
    clock = FakeClock()
    fitted.clock = clock
    fitted.replay_speed = 4.0
    fitted.play_paths = 100
    fitted.play()
    assert fitted.replay_running and fitted.bars_due() == 0
    for _ in range(3):
        clock.t += 1.0
        assert fitted.bars_due() == 4
        assert fitted.replay_tick()
    assert fitted.replay_position == 12
    assert fitted.replay_rate == pytest.approx(4.0)
    assert "requested 4 bars/s, achieved 4.0 bars/s" in fitted.replay_note
    assert "cannot keep up" not in fitted.replay_note
    assert not fitted.forecast.full_resolution and fitted.forecast.n_paths == SMALL["n_particles"]
    # A machine that delivers one step of 50 bars per 5 s against 20 bars/s requested.
    fitted.replay_speed = 20.0
    for _ in range(2):
        clock.t += 5.0
        n = fitted.bars_due()
        assert n == 50  # the backlog beyond one step is dropped, not accumulated
        assert fitted.replay_tick()
    assert fitted.replay_rate == pytest.approx(10.0)
    assert "achieved 10.0 bars/s" in fitted.replay_note and "cannot keep up" in fitted.replay_note
    fitted.pause()
    assert fitted.bars_due() == 0 and not fitted.replay_tick()
    assert fitted.refresh_full_resolution() and fitted.forecast.full_resolution


def test_controls_offer_presets_and_the_whole_data_for_the_fit_window() -> None:
    pytest.importorskip("panel")
    from volresearch.dashboard import create_dashboard

    dash = create_dashboard(load_initial=False, **FX_SMALL)
    dash.__panel__()
    assert dash.state.load_upload("eurlike_1min.csv", FX_FIXTURE.read_bytes())
    controls = dash.controls
    assert controls.horizon.end >= 5 * 1_440
    assert controls.fit_window.end == dash.state.fit_window_limit() == len(dash.state.bars) - FX_SMALL["replay_bars"]
    names = [b.label if hasattr(b, "label") and b.label else b.name for b in controls.presets.objects]
    assert names == list(dash.state.horizon_presets())
    controls.presets.objects[2].clicks += 1  # "24 h"
    assert dash.state.horizon == 1_440
    assert "tick 0.00005 (price grid of the data), 5 decimals" in dash.status.object


# ----------------------------------------------------------------------------- models from the registry
def test_model_choices_follow_the_loaded_bars() -> None:
    from volresearch.registry import available_models

    state = DashboardState()  # S&P 500, daily bars
    assert state.model_choices() == available_models(intraday=False)
    assert list(state.param.model.objects) == available_models(intraday=False)
    assert not any(m.startswith("intraday-") for m in state.param.model.objects)
    assert state.model == "gjr-sged" and state.fit_window == DashboardState.param.fit_window.default
    state.source = "dataset:es_synthetic"
    assert list(state.param.model.objects) == available_models(intraday=True)
    assert state.model == "intraday-gjr-sged"
    state.source = "dataset:si_synthetic"  # 29% of the closes unchanged: Student-t q
    assert state.model == "intraday-gjr-t"
    state.source = "dataset:es_synthetic"
    # Intraday bars: the fit window takes every bar before the held-out ones (the model needs sessions).
    assert state.fit_window == state.fit_window_limit()
    # A model the user picks is kept by later loads where the bars offer it ...
    state.model = "egarch-t"
    state.source = "dataset:gc_synthetic"
    assert state.model == "egarch-t"
    state.model = "intraday-garch-t"
    # ... and replaced by the default where they do not (no intraday model for daily bars).
    state.source = "dataset:nasdaq"
    assert state.model == "gjr-sged"
    assert "default model gjr-sged" in state.status


def test_a_newly_registered_model_is_offered_and_fitted_through_the_registry(monkeypatch) -> None:
    """No model names in the dashboard: a model added to the registry appears and fits without touching it."""
    import volresearch.registry as registry

    calls = []

    def fit(bars, **options):
        calls.append(options)
        return registry.fit_model("garch-t", bars, **options)

    entry = registry.ModelEntry(
        name="test-garch-t", family="test", fit=fit, result_type=registry.MODELS["garch-t"].result_type,
        kernel="garch", description="a test model",
    )  # fmt: skip
    monkeypatch.setitem(registry.MODELS, "test-garch-t", entry)
    state = DashboardState(**SMALL)
    assert "test-garch-t" in state.model_choices()
    state.source = "dataset:nasdaq"  # reload: the selector offers the new name
    assert "test-garch-t" in state.param.model.objects
    state.model = "test-garch-t"
    assert state.fit_and_simulate(), state.error
    assert calls == [{"mean": "auto"}]  # the mean, and no option of another family
    assert state.requested_model == state.answered_model == "test-garch-t" and state.rejections == []
    assert state.replay_unavailable == "" and state.replay_step()


def test_rejected_model_is_reported_and_the_fallback_cascade_answers(monkeypatch) -> None:
    import volresearch.dashboard.state as state_module
    from volresearch.signals import ConfidenceCalculator, LevelThresholds

    generous = ConfidenceCalculator(instruments={"default": LevelThresholds(1.0, 2.0, 3.0, 4.0)})
    monkeypatch.setattr(state_module, "_calculator", lambda: generous)
    pytest.importorskip("panel")
    import asyncio

    from volresearch.dashboard import create_dashboard

    # 600 one-minute bars hold two session days: the intraday model cannot estimate its diurnal factor.
    dash = create_dashboard(source="dataset:es_synthetic", **SMALL)
    dash.__panel__()
    state = dash.state
    assert state.model == "intraday-gjr-sged" and state.fit_window == 600
    assert not state.fit_and_simulate()
    assert state.forecast is None and state.answered_model == "" and state.requested_model == "intraday-gjr-sged"
    assert state.rejections[0][0] == "intraday-gjr-sged" and "session days" in state.rejections[0][1]
    assert "intraday-gjr-sged was rejected" in state.error and "fallback cascade" in state.error
    choice = dash.choice
    assert choice.rejection.visible and "session days" in choice.rejection.object
    assert choice.fallback_button.visible
    assert "answered: <b class='vr-answered'" in choice.line.object and ">none<" in choice.line.object
    # The explicit fallback: the cascade's models are tried in order, each rejection kept with its reason.
    asyncio.run(choice._on_fallback())
    assert state.fallback and state.forecast is not None, state.error
    tried = [name for name, _ in state.rejections]
    cascade = state.fallback_models("intraday-gjr-sged")
    assert tried == ["intraday-gjr-sged", *cascade[: len(tried) - 1]]
    assert state.answered_model == cascade[len(tried) - 1] and not state.answered_model.startswith("intraday-")
    assert "requested intraday-gjr-sged, rejected; fallback cascade" in state.status
    assert not choice.fallback_button.visible and choice.rejection.visible
    assert f"{state.answered_model}" in choice.line.object and "#d1242f" in choice.line.object
    # The confidence is capped, and says why.
    conf = state.forecast.confidence
    assert conf.downgraded and any(r.startswith("fallback: ") for r in conf.downgrade_reasons)
    assert "Downgraded" in dash.signals.headline.object
    # A GARCH-family answer replays.
    assert state.replay_unavailable == "" and state.replay_step(), state.error


def test_intraday_default_shows_the_diurnal_factor_and_a_fan_that_follows_the_session() -> None:
    pytest.importorskip("panel")
    from volresearch.dashboard import create_dashboard

    dash = create_dashboard(
        source="dataset:es_synthetic", n_paths=1_000, horizon=1_440, n_boot=50, replay_bars=250, seed=5
    )
    dash.__panel__()
    state = dash.state
    assert state.fit_and_simulate(), state.error
    fit = state.fit
    assert state.answered_model == state.requested_model == "intraday-gjr-sged" == fit.model
    # The diurnal factor over one session with its bootstrap band.
    frame = state.diurnal_frame()
    assert len(frame) == fit.diurnal.n_slots
    assert frame.index[0].strftime("%H:%M") == "23:00" and frame.index[-1].strftime("%H:%M") == "21:59"
    assert np.isfinite(frame[["lower", "upper"]].to_numpy()).all()
    inside = (frame["lower"] <= frame["factor"]) & (frame["factor"] <= frame["upper"])
    assert inside.mean() > 0.95
    np.testing.assert_allclose(frame["factor"].to_numpy(), fit.diurnal.factor)
    details = state.model_details()
    assert details["daily"].startswith(f"{fit.daily.method} (requested auto)") and fit.daily.reason in details["daily"]
    assert "bootstrap band" in details["diurnal"]
    # The 1,440-bar fan runs on the session clock: no step in the daily break, the weekend skipped ...
    fc = state.forecast
    times = pd.DatetimeIndex(fc.fan.step_times)
    assert len(times) == 1_441 and fc.fan.n_steps == 1_440
    assert not (times[1:].hour == 22).any()
    assert (np.diff(times.asi8) > 3_600 * 10**9).any()  # the weekend
    assert times[-1] - times[0] > pd.Timedelta(days=1)
    # ... and its variance grows with the model's multiplier: fast in the US hours, slowly in the Asian night.
    var = np.asarray(fc.fan.std, dtype=float) ** 2
    grow = pd.Series(np.diff(var), index=times[1:])
    mult = pd.Series(fit.variance_multiplier(times[1:], previous=times[0]), index=times[1:])
    us, asia = grow.index.hour.isin([14, 15, 16, 17, 18, 19]), grow.index.hour.isin([2, 3, 4, 5, 6])
    assert grow[us].mean() > 1.5 * grow[asia].mean()
    assert mult[us].mean() > 1.5 * mult[asia].mean()
    vol = state.step_volatility()  # what the page draws under the diurnal factor
    assert vol.index.equals(times[1:])
    np.testing.assert_allclose(vol.to_numpy(), 1e4 * np.sqrt(mult.to_numpy()))
    # The page: diurnal panel with its chart, method and flags; replay disabled with the reason.
    assert dash.diurnal.column.visible and dash.diurnal.pane.object is not None
    assert dash.diurnal.steps.visible and dash.diurnal.steps.object is not None
    assert fit.daily.method in dash.diurnal.details.object and "Model flags" in dash.diurnal.flags.object
    assert "intraday-gjr-sged" in dash.chart.figure(fc).opts.get().kwargs["title"]
    # Replay carries the intraday model bar by bar: each replayed fan follows the clock too.
    assert state.replay_unavailable == "" and not dash.replay.unavailable.visible and not dash.replay.play.disabled
    assert state.replay_step(), state.error
    rf = state.forecast
    assert rf.replay_step == 1 and 0 < rf.ess <= state.n_particles and rf.fan.n_steps == 1_440
    rtimes = pd.DatetimeIndex(rf.fan.step_times)
    assert rtimes[0] == rf.origin and not (rtimes[1:].hour == 22).any()
    rvar = np.asarray(rf.fan.std, dtype=float) ** 2
    rgrow = pd.Series(np.diff(rvar), index=rtimes[1:])
    assert (
        rgrow[rgrow.index.hour.isin([14, 15, 16, 17, 18, 19])].mean()
        > 1.5 * rgrow[rgrow.index.hour.isin([2, 3, 4, 5, 6])].mean()
    )
    assert state.reset_replay() and state.replay_position == 0
    assert "intraday component q" in dash.model.summary.object
    assert {"omega", "alpha", "beta"} <= set(state.fit_table().index)
    # Daily bars: no diurnal panel, replay on.
    state.source = "dataset:sp500"
    assert state.fit_and_simulate(), state.error
    assert state.diurnal_frame() is None and not dash.diurnal.column.visible
    assert state.step_volatility() is None and not dash.diurnal.steps.visible
    assert not dash.replay.unavailable.visible and not dash.replay.play.disabled


def test_replay_is_disabled_with_the_reason_for_a_model_the_filter_cannot_carry(monkeypatch) -> None:
    pytest.importorskip("panel")
    from volresearch.dashboard import create_dashboard
    from volresearch.simulate import filter_adapters

    monkeypatch.delitem(filter_adapters.FILTER_ADAPTERS, "gjr")
    dash = create_dashboard(**SMALL)
    dash.__panel__()
    state = dash.state
    assert state.fit_and_simulate(), state.error  # the fit and its fan do not need the filter
    assert state.forecast is not None and state.answered_model == "gjr-sged"
    assert state.replay_unavailable.startswith("Replay is not available for gjr-sged")
    assert "cannot carry kernel 'gjr'" in state.replay_unavailable
    assert dash.replay.unavailable.visible and dash.replay.play.disabled and dash.replay.step.disabled
    assert dash.replay.play.description == state.replay_unavailable
    assert not state.replay_step() and state.status == state.replay_unavailable
    assert not state.reset_replay()
    assert "no replay for this model" in dash.replay.info.object


def test_heston_fits_fans_and_replays_through_its_particle_filter() -> None:
    state = DashboardState(**{**SMALL, "horizon": 20, "fit_window": 1200, "replay_bars": 20}, model="heston")
    assert state.fit_and_simulate(), state.error
    assert state.answered_model == "heston" and state.replay_unavailable == ""
    assert state.forecast is not None
    for _ in range(3):
        assert state.replay_step()
    assert "replay bar 3/20" in state.status and "ESS" in state.status


def test_an_adaptive_ensemble_shows_its_weights_over_time() -> None:
    pytest.importorskip("panel")
    from volresearch.dashboard import create_dashboard
    from volresearch.ensembles.model import weight_path

    dash = create_dashboard(**{**SMALL, "fit_window": 900, "horizon": 5, "replay_bars": 20},
                            model="ensemble-adaptive")  # fmt: skip
    dash.__panel__()
    state = dash.state
    assert state.fit_and_simulate(), state.error
    assert state.answered_model == "ensemble-adaptive"
    frame = state.ensemble_weights()
    assert list(frame.columns) == list(state.fit.names) and len(frame) == 899
    assert frame.std().max() > 1e-3  # the weights move with the features
    np.testing.assert_allclose(frame.iloc[-1], weight_path(state.fit, state._job_fit.fit_bars).iloc[-1])
    assert dash.model.weights.visible and dash.model.weights.object is not None
    plain = DashboardState(**{**SMALL, "horizon": 5})
    assert plain.fit_and_simulate() and plain.ensemble_weights() is None
