"""One-step predictive laws: their log densities add up to each fit's own log-likelihood."""

from __future__ import annotations

import numpy as np
import pytest

from volresearch.data import open_bars
from volresearch.errors import ConfigError
from volresearch.predictive import one_step_predictive
from volresearch.registry import fit_model


@pytest.fixture(scope="module")
def spx():
    return open_bars("sp500").iloc[-1500:]


@pytest.mark.parametrize("name", ["garch-normal", "gjr-skewt", "egarch-t", "gjr-sged"])
def test_garch_densities_sum_to_the_fit_loglik(spx, name):
    fit = fit_model(name, spx)
    pred = one_step_predictive(fit)
    assert len(pred) == fit.n_obs and np.all(pred["var"] > 0)
    assert pred["log_density"].sum() == pytest.approx(fit.loglik, rel=1e-6, abs=1e-6)
    r = np.diff(np.log(spx["close"].to_numpy()))
    np.testing.assert_allclose(pred["r"].to_numpy(), r[-len(pred) :], rtol=1e-8, atol=1e-12)


def test_continuous_time_densities_sum_to_their_likelihoods(spx):
    merton = fit_model("merton", spx)
    pred = one_step_predictive(merton, spx)
    assert pred["log_density"].sum() == pytest.approx(merton.loglik, rel=1e-9)
    assert pred["var"].iloc[0] == pytest.approx(merton.filter_state()["next_variance"])
    heston = fit_model("heston", spx)
    pred = one_step_predictive(heston, spx)
    # the same particles and seed as the filter that set v0: the same likelihood
    assert pred["log_density"].sum() == pytest.approx(heston.diagnostics["filter_loglik"], rel=1e-12)
    z = (pred["r"] - pred["mean"]) / np.sqrt(pred["var"])
    assert abs(z.mean()) < 0.1 and 0.8 < z.var() < 1.25
    with pytest.raises(ConfigError, match="need the bars"):
        one_step_predictive(heston)


def test_the_sv_filter_runs_once_for_the_residuals_and_the_variance_path(spx, monkeypatch):
    import importlib

    from volresearch.predictive import sv_filtered_variance

    svf = importlib.import_module("volresearch.simulate.sv_filter")  # the module (the package exports a function)

    heston = fit_model("heston", spx)
    calls = []
    real = svf.sv_filter
    monkeypatch.setattr(svf, "sv_filter", lambda *a, **k: calls.append(1) or real(*a, **k))
    pred = one_step_predictive(heston, spx)
    v = sv_filtered_variance(heston, spx)
    assert len(calls) == 1 and len(v) == len(pred)
    pred["log_density"] = 0.0  # a caller's change does not reach the next caller
    assert one_step_predictive(heston, spx)["log_density"].sum() == pytest.approx(
        heston.diagnostics["filter_loglik"], rel=1e-12
    )
    assert len(calls) == 1
    one_step_predictive(heston, spx.copy())  # other bars: filtered again
    assert len(calls) == 2
