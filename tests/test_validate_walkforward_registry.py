"""Walk-forward of registry models: the multiplicative intraday GARCH end to end, the GARCH-family route unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from volresearch.data import datasets
from volresearch.errors import ConfigError
from volresearch.models import ModelSpec
from volresearch.validate import walkforward as wf
from volresearch.validate.walkforward_registry import ADAPTERS, get_adapter

LAYOUT = {"in_sample": 8000, "out_of_sample": 2800, "step": 30, "horizon": 30, "n_paths": 200, "quiet": True}


@pytest.fixture(scope="module")
def intraday_bars() -> pd.DataFrame:
    return datasets.load("es_synthetic", days=16, seed=2)


@pytest.fixture(scope="module")
def intraday_result(intraday_bars):
    return wf.walk_forward(intraday_bars, model="intraday-gjr-normal", seed=1, **LAYOUT)


def test_intraday_walk_forward_runs_end_to_end(intraday_bars, intraday_result):
    res = intraday_result
    assert res.model_name == "intraday-gjr-normal"
    assert (res.spec.model, res.spec.dist, res.spec.mean) == ("gjr", "normal", "zero")
    f = res.forecasts
    assert len(f) > 300 and set(f["method"]) == {"model"} and (f["fit_id"] >= 0).all()
    assert res.fallbacks.empty
    # every window fitted through the registry, with a stationary intraday component
    assert res.fits["ok"].all() and (res.fits["persistence"] < 1).all()
    assert {"omega", "alpha", "gamma", "beta"} <= set(res.parameters.columns)
    # targets are the realised h-bar log returns from the origin's close
    logc = np.log(intraday_bars["close"].to_numpy())
    pos = f["origin_pos"].to_numpy()
    np.testing.assert_allclose(f["target"], logc[pos + 1 + 30] - logc[pos + 1], rtol=0, atol=1e-12)
    assert np.isfinite(f[["crps", "pit", "std", "sigma2_next", "forecast_var"]].to_numpy()).all()
    assert (f["lo_95"] < f["hi_95"]).all() and (f["std"] > 0).all()
    # a calibrated-looking answer on data simulated from a GARCH: coverage near nominal, CRPS near the naive's
    assert 0.85 < res.coverage(0.95) <= 1.0
    assert 0.8 < res.crps / res.crps_naive < 1.2
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["model"] == "intraday-gjr-normal" and d["metrics"]["model_name"] == "intraday-gjr-normal"
    assert "coverage_95_by_bucket" in d and d["meta"]["calendar"]


def test_intraday_walk_forward_is_reproducible(intraday_bars, intraday_result):
    again = wf.walk_forward(intraday_bars, model="intraday-gjr-normal", seed=1, **LAYOUT)
    pd.testing.assert_frame_equal(again.forecasts, intraday_result.forecasts)
    other = wf.walk_forward(intraday_bars, model="intraday-gjr-normal", seed=2, **LAYOUT)
    assert not np.allclose(other.forecasts["crps"], intraday_result.forecasts["crps"])
    # the seed moves the draws, not the fits or the targets
    np.testing.assert_array_equal(other.forecasts["target"], intraday_result.forecasts["target"])
    np.testing.assert_array_equal(other.forecasts["sigma2_next"], intraday_result.forecasts["sigma2_next"])


def test_intraday_forecasts_do_not_look_ahead(intraday_bars, intraday_result):
    cut = 12_000  # bar position after which the prices are changed
    changed = intraday_bars.copy()
    rng = np.random.default_rng(5)
    factor = np.exp(np.cumsum(rng.normal(0.0, 0.002, len(changed) - cut)))
    for col in ("open", "high", "low", "close"):
        changed.iloc[cut:, changed.columns.get_loc(col)] *= factor
    res = wf.walk_forward(changed, model="intraday-gjr-normal", seed=1, **LAYOUT)
    f0, f1 = intraday_result.forecasts, res.forecasts
    before = (f0["origin_pos"] + 1 + 30 < cut).to_numpy()
    after = (f0["origin_pos"] + 1 > cut).to_numpy()
    assert before.sum() > 50 and after.sum() > 50
    cols = ["target", "sigma2_next", "crps", "pit", "lo_95", "hi_95"]
    pd.testing.assert_frame_equal(f0.loc[before, cols], f1.loc[before, cols])
    assert not np.allclose(f0.loc[after, "sigma2_next"], f1.loc[after, "sigma2_next"])


def test_intraday_state_at_the_fit_end_is_the_fit_state(intraday_bars):
    from volresearch.registry import fit_model

    bars = intraday_bars.iloc[:9000]
    result = fit_model("intraday-gjr-normal", bars)
    adapter = get_adapter("intraday")
    end = bars.index[-1]
    (st,) = adapter.states(result, bars.iloc[-1:], result.calendar, pd.DatetimeIndex([end]))
    assert st["q_next"] == pytest.approx(result.q_fit.next_variance, rel=1e-12)
    assert st["last_price"] == bars["close"].iloc[-1] and st["end"] == end
    # rolled forward through later bars, q follows the deseasonalised returns: a big move raises it
    later = intraday_bars.iloc[8999:9100].copy()
    calm = adapter.states(result, later, result.calendar, later.index[-1:])[0]["q_next"]
    shocked = later.copy()
    shocked.iloc[-1, shocked.columns.get_loc("close")] *= 1.01
    jump = adapter.states(result, shocked, result.calendar, later.index[-1:])[0]["q_next"]
    assert jump > 5 * calm
    # the simulated span covers the session bars up to the target's end
    t = later.index[10]
    assert adapter.steps(result, result.calendar, t, later.index[40], 30) == 30


def test_garch_names_take_the_spec_route_unchanged(intraday_bars):
    daily = datasets.load("sp500").iloc[-800:]
    kw = {"in_sample": 500, "out_of_sample": 150, "n_paths": 200, "seed": 3, "quiet": True}
    by_name = wf.walk_forward(daily, model="gjr-normal", **kw)
    by_spec = wf.walk_forward(daily, ModelSpec("gjr", "normal", "constant"), **kw)
    pd.testing.assert_frame_equal(by_name.forecasts, by_spec.forecasts)
    assert by_name.model_name == by_spec.model_name == "gjr-normal"
    default = wf.walk_forward(daily, **kw)  # daily bars: GJR-SGED
    explicit = wf.walk_forward(daily, "gjr-sged", **kw)
    pd.testing.assert_frame_equal(default.forecasts, explicit.forecasts)
    assert set(default.forecasts["method"]) <= {"garch", "ewma"}
    # a GARCH-family name on intraday bars: zero mean, the spec route
    short = intraday_bars.iloc[:4000]
    lay = {"in_sample": 2000, "out_of_sample": 1000, "step": 20, "horizon": 10, "n_paths": 100, "quiet": True}
    a = wf.walk_forward(short, model="garch-normal", **lay)
    b = wf.walk_forward(short, ModelSpec("garch", "normal", "zero"), **lay)
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)


def test_default_model_of_intraday_bars_is_the_multiplicative_model(intraday_bars):
    from volresearch.registry import DEFAULT_INTRADAY_MODEL

    lay = {**LAYOUT, "out_of_sample": 4000, "step": 120}
    res = wf.walk_forward(intraday_bars.iloc[:12_500], **lay)
    assert res.model_name == DEFAULT_INTRADAY_MODEL
    assert res.fits["ok"].any() and "model" in set(res.forecasts["method"])


def test_rejected_windows_fall_back_and_are_listed(intraday_bars):
    # windows of under three sessions: the diurnal factor cannot be estimated, the EWMA answers
    res = wf.walk_forward(intraday_bars.iloc[:6000], model="intraday-gjr-normal", in_sample=2000,
                          out_of_sample=1300, step=30, horizon=30, n_paths=100, quiet=True)  # fmt: skip
    fb = res.fallbacks
    assert len(fb) == len(res.windows) >= 2
    assert set(fb["requested"]) == {"intraday-gjr-normal"} and set(fb["answered"]) == {"ewma"}
    assert all(r for r in fb["reason"])
    assert set(res.forecasts["method"]) == {"ewma"} and (res.forecasts["fit_id"] == -1).all()
    assert np.isfinite(res.forecasts["crps"]).all()
    assert "intraday-gjr-normal -> ewma" in res.summary()


def test_model_arguments_are_checked(intraday_bars):
    with pytest.raises(ConfigError, match="not both"):
        wf.walk_forward(intraday_bars, "gjr-normal", model="gjr-t")
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'.*intraday-gjr-sged"):
        wf.walk_forward(intraday_bars, model="no-such-model")
    with pytest.raises(ConfigError, match="registry name or a ModelSpec"):
        wf.walk_forward(intraday_bars, model=3.5)  # type: ignore[arg-type]
    assert "intraday" in ADAPTERS
    with pytest.raises(
        ConfigError,
        match="'sv-x' .'jumps' family.*families with an adapter: arma-garch, ensemble, ewma, garch, har, historical, intraday",
    ):
        get_adapter("jumps", "sv-x")


def test_grid_takes_registry_names(intraday_bars, intraday_result):
    grid = wf.walk_forward_grid(
        {"es": intraday_bars}, ["intraday-gjr-normal", "garch-normal"], seed=1, **LAYOUT
    )  # fmt: skip
    assert set(grid.results) == {("es", "intraday-gjr-normal"), ("es", "garch-normal")}
    pd.testing.assert_frame_equal(grid["es", "intraday-gjr-normal"].forecasts, intraday_result.forecasts)
    assert list(grid.table["spec"]) == ["intraday-gjr-normal", "garch-normal"]
    assert list(grid.table["model_name"]) == ["intraday-gjr-normal", "garch-normal"]


def test_compare_models_takes_registry_names(intraday_bars, intraday_result):
    from volresearch.validate import compare_models

    cmp = compare_models(intraday_bars, ["intraday-gjr-normal", "garch-normal"], seed=1, **LAYOUT)
    assert {"intraday-gjr-normal", "garch-normal", "naive"} <= set(cmp.table.index)
    assert cmp.table.loc["intraday-gjr-normal", "crps"] == pytest.approx(intraday_result.crps, rel=1e-12)
    assert cmp.best in ("intraday-gjr-normal", "garch-normal")
