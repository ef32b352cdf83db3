"""The model registry: every built-in name fits and simulates, unknown names are named, results round-trip."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_models_intraday import synthetic_intraday

from volresearch.errors import ConfigError, FitError
from volresearch.models import Fit
from volresearch.models.base import ModelResult, missing_members
from volresearch.models.distributions import DISTRIBUTIONS
from volresearch.models.fitting import VOLATILITY_MODELS
from volresearch.models.intraday import IntradayFit
from volresearch.registry import (
    DEFAULT_DAILY_MODEL,
    DEFAULT_INTRADAY_DISCRETE_MODEL,
    DEFAULT_INTRADAY_MODEL,
    KERNELS,
    ModelEntry,
    available_models,
    default_model,
    fit_model,
    get_model,
    load_result,
    model_label,
    register,
    simulate_model,
)
from volresearch.simulate import Fan, Paths

GARCH_NAMES = [f"{m}-{d}" for m in VOLATILITY_MODELS for d in DISTRIBUTIONS]
INTRADAY_NAMES = [f"intraday-{n}" for n in GARCH_NAMES]
CONTINUOUS_NAMES = ["heston", "merton", "svcj"]
SIMPLE_NAMES = ["ewma", "historical", "har-range", "arma-garch"]
ENSEMBLE_NAMES = ["ensemble-equal", "ensemble-inverse-qlike", "ensemble-log-score", "ensemble-variance-regression",
                  "ensemble-sharpe", "ensemble-directional", "ensemble-adaptive"]  # fmt: skip


def daily_bars(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """Daily bars from a GJR with Student-t(6) shocks (omega 1e-6, alpha 0.05, gamma 0.08, beta 0.88)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(6, n) / np.sqrt(1.5)
    r = np.empty(n)
    s2 = 1e-4
    for t in range(n):
        e = np.sqrt(s2) * z[t]
        r[t] = 2e-4 + e
        s2 = 1e-6 + (0.05 + 0.08 * (e < 0)) * e * e + 0.88 * s2
    index = pd.bdate_range("2015-01-01", periods=n + 1, tz="UTC", name="timestamp")
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    return pd.DataFrame({"close": close}, index=index)


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return daily_bars()


@pytest.fixture(scope="module")
def intraday() -> pd.DataFrame:
    return synthetic_intraday(8, seed=2)[0]


def test_builtin_names_are_the_product_of_models_and_laws():
    names = set(available_models())
    assert set(GARCH_NAMES) <= names and set(INTRADAY_NAMES) <= names
    assert set(available_models(intraday=False)) == (
        set(GARCH_NAMES) | set(CONTINUOUS_NAMES) | set(SIMPLE_NAMES) | set(ENSEMBLE_NAMES)
    )
    assert get_model("intraday").name == DEFAULT_INTRADAY_MODEL
    assert get_model("GJR-SGED").name == "gjr-sged"
    for name in names:
        entry = get_model(name)
        assert entry.kernel in KERNELS and not missing_members(entry.result_type)


def test_unknown_name_lists_available_models():
    with pytest.raises(ConfigError, match="unknown model 'bates'; available: .*gjr-sged.*heston.*intraday-gjr-sged"):
        get_model("bates")
    with pytest.raises(ConfigError, match="unknown model"):
        fit_model("nope", None)
    with pytest.raises(ConfigError, match="already registered"):
        register(get_model("gjr-sged"))


def test_result_type_must_offer_the_interface():
    class Bare:
        pass

    with pytest.raises(ConfigError, match="lacks"):
        register(ModelEntry("bare", "x", lambda b: None, Bare, "garch", "no interface"))


@pytest.mark.parametrize("name", GARCH_NAMES)
def test_every_garch_name_fits_and_simulates(name, daily):
    fit = fit_model(name, daily)
    assert isinstance(fit, Fit) and isinstance(fit, ModelResult)
    assert fit.model == name and fit.kernel == name.split("-")[0]
    state = fit.filter_state()
    assert state["next_variance"] > 0 and state["last_price"] == daily["close"].iloc[-1]
    paths = simulate_model(fit, 256, 20, seed=4, mode="matrix")
    assert isinstance(paths, Paths) and paths.log_prices.shape == (21, 256)
    assert np.all(np.isfinite(paths.log_prices))
    np.testing.assert_allclose(paths.log_prices[0], np.log(daily["close"].iloc[-1]))
    # the registry's dispatch equals the fit's own simulation, path for path
    own = fit.simulate(256, 20, seed=4, mode="matrix")
    np.testing.assert_array_equal(paths.log_prices, own.log_prices)
    fan = simulate_model(fit, 256, 20, seed=4)
    assert isinstance(fan, Fan)


@pytest.mark.parametrize("name", INTRADAY_NAMES)
def test_every_intraday_name_fits_and_simulates(name, intraday):
    fit = fit_model(name, intraday, calendar="crypto_24x7")
    assert isinstance(fit, IntradayFit) and isinstance(fit, ModelResult)
    assert fit.model == name and fit.kernel == "intraday-" + name.split("-")[1]
    paths = simulate_model(fit, 128, 90, seed=1, mode="matrix")
    assert paths.log_prices.shape == (91, 128) and np.all(np.isfinite(paths.log_prices))
    assert paths.step_times is not None and paths.step_times[0] == fit.end


@pytest.mark.parametrize("name", CONTINUOUS_NAMES)
def test_continuous_time_models_fit_simulate_and_round_trip(name, daily):
    options = {"sim_paths": 4, "bootstrap_reps": 30} if name in ("heston", "svcj") else {}
    if name == "svcj":
        options["maxiter"] = 150  # the interface, not the optimum (recovery: tests/test_models_svcj.py)
    fit = fit_model(name, daily, **options)
    assert isinstance(fit, ModelResult) and fit.model == name and fit.kernel == name
    paths = simulate_model(fit, 256, 20, seed=4, mode="matrix")
    assert paths.log_prices.shape == (21, 256) and np.all(np.isfinite(paths.log_prices))
    np.testing.assert_allclose(paths.log_prices[0], np.log(daily["close"].iloc[-1]))
    # the simulated one-bar variance is of the order of the sample's (annualised parameters, dt from the calendar)
    sample_var = np.var(np.diff(np.log(daily["close"].to_numpy())))
    sim_var = np.var(paths.log_prices[1] - paths.log_prices[0])
    assert 0.2 < sim_var / sample_var < 5.0
    back = load_result(json.loads(json.dumps(fit.to_dict())))
    assert type(back) is type(fit)
    np.testing.assert_array_equal(
        simulate_model(back, 64, 10, seed=9, mode="matrix").log_prices,
        simulate_model(fit, 64, 10, seed=9, mode="matrix").log_prices,
    )


def test_json_round_trip_through_load_result(daily, intraday):
    for result in (fit_model("gjr-sged", daily), fit_model("intraday-gjr-sged", intraday, calendar="crypto_24x7")):
        text = json.dumps(result.to_dict())
        back = load_result(json.loads(text))
        assert type(back) is type(result)
        assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(result.to_dict(), sort_keys=True)
        a = simulate_model(result, 64, 10, seed=9, mode="matrix").log_prices
        b = simulate_model(back, 64, 10, seed=9, mode="matrix").log_prices
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="unknown result type"):
        load_result({"type": "volresearch.Nothing"})


def test_state_override_and_default_model(daily, intraday):
    fit = fit_model("garch-normal", daily)
    a = simulate_model(fit, 64, 5, seed=2, mode="matrix", state={"next_variance": 4 * fit.next_variance})
    b = simulate_model(fit, 64, 5, seed=2, mode="matrix")
    r_a, r_b = np.diff(a.log_prices[:2], axis=0), np.diff(b.log_prices[:2], axis=0)
    np.testing.assert_allclose(r_a - fit.params["mu"], 2 * (r_b - fit.params["mu"]), rtol=1e-10)
    assert default_model(daily) == DEFAULT_DAILY_MODEL
    assert default_model(intraday) == DEFAULT_INTRADAY_MODEL
    # two days of one-minute bars: too few sessions for a diurnal factor, the same GARCH on raw returns
    short = intraday.loc[: intraday.index[0] + pd.Timedelta(days=2)]
    assert default_model(short) == DEFAULT_INTRADAY_MODEL.removeprefix("intraday-") == "gjr-sged"
    with pytest.raises(FitError, match="session days"):
        fit_model(DEFAULT_INTRADAY_MODEL, short)


def test_default_law_on_a_coarse_tick_grid(intraday):
    """Closes on a grid so coarse that a tenth or more do not move get Student-t ``q``; finer grids keep SGED."""
    from volresearch.data.datasets import load
    from volresearch.data.tick_size import zero_return_share
    from volresearch.models.intraday import SEVERE_ZERO_SHARE

    assert zero_return_share(pd.Series([1.0, 1.0, 2.0, 2.0, 2.0, 3.0])) == pytest.approx(3 / 5)
    assert zero_return_share(np.array([1.0])) != zero_return_share(np.array([1.0]))  # NaN: no change to count
    close = intraday["close"].to_numpy()
    spread = float(np.std(np.diff(close)))
    for tick, expected in ((spread / 50, DEFAULT_INTRADAY_MODEL), (2 * spread, DEFAULT_INTRADAY_DISCRETE_MODEL)):
        ticked = intraday.copy()
        ticked["close"] = np.round(close / tick) * tick
        share = zero_return_share(ticked)
        assert (share >= SEVERE_ZERO_SHARE) == (expected == DEFAULT_INTRADAY_DISCRETE_MODEL), share
        assert default_model(ticked) == expected
    assert default_model(intraday.index) == DEFAULT_INTRADAY_MODEL  # no prices: by spacing alone
    # the embedded silver futures (29% unchanged closes): the SGED shape runs to its bound 0.5 and its long-run
    # level goes wrong (rejected on all the bars, flagged where it passes); Student-t q is consistent with the sample
    si = load("si_synthetic")
    assert default_model(si) == DEFAULT_INTRADAY_DISCRETE_MODEL
    t = fit_model(DEFAULT_INTRADAY_DISCRETE_MODEL, si)
    assert abs(t.diagnostics["variance_ratio"] - 1) < 0.1 and not any("tick grid" in f for f in t.flags)
    # which check stops SGED first depends on the optimiser's path (numpy/scipy versions): the shape's bound or
    # the long-run level; where a shorter sample passes, the fit says that the grid distorts it
    with pytest.raises(FitError, match="lower bound 0.5|implausible long-run level"):
        fit_model("intraday-gjr-sged", si)
    try:
        sged = fit_model("intraday-gjr-sged", si.iloc[:13_310])
    except FitError as exc:
        assert re.search("lower bound 0.5|implausible long-run level", str(exc)), str(exc)
    else:
        assert sged.diagnostics["zero_share"] > 0.25 and sged.q_fit.params["nu"] < 0.6
        assert any("tick grid" in f and "intraday-gjr-t" in f for f in sged.flags)


def test_intraday_fit_with_an_implausible_long_run_level_is_rejected(intraday, monkeypatch):
    """The intraday component's long-run level 10x too high (omega scaled) is refused by the level check."""
    import dataclasses

    from volresearch.models import intraday as intraday_module

    real = intraday_module.fit_garch

    def inflated(*args, **kwargs):
        fit = real(*args, **kwargs)
        return dataclasses.replace(fit, params={**fit.params, "omega": 10 * fit.params["omega"]})

    assert 0.25 <= fit_model("intraday-gjr-normal", intraday).diagnostics["variance_ratio"] <= 4
    monkeypatch.setattr(intraday_module, "fit_garch", inflated)
    with pytest.raises(FitError, match=r"implausible long-run level: the sample mean of r\^2 is 0\.\d+ times"):
        fit_model("intraday-gjr-normal", intraday)
    assert model_label("gjr", "sged") == "gjr-sged" and model_label("intraday-gjr-sged", "sged") == "intraday-gjr-sged"
