"""Walk-forward of the continuous-time models (Heston, Merton) through the registry route, on the S&P 500."""

from __future__ import annotations

import math

import numpy as np
import pytest

from volresearch.data.datasets import load
from volresearch.models.merton import return_sample
from volresearch.registry import fit_model
from volresearch.simulate.sv_filter import sv_filter
from volresearch.validate.walkforward import walk_forward
from volresearch.validate.walkforward_registry import _sv_states


@pytest.fixture(scope="module")
def sp500():
    return load("sp500").iloc[-1400:]


@pytest.fixture(scope="module")
def heston(sp500):
    return fit_model("heston", sp500.iloc[:1000])


def test_heston_fit_carries_the_filtered_end_of_sample_variance(sp500, heston):
    r = return_sample(sp500.iloc[:1000])[0]
    f = sv_filter(heston.simulation_params(), r[np.isfinite(r)], heston.dt, n_particles=2000, seed=0)
    assert heston.params["v0"] == pytest.approx(f.v_mean[-1])
    assert heston.diagnostics["v0_sd"] == pytest.approx(f.v_sd[-1])
    assert heston.diagnostics["filter_loglik"] == pytest.approx(f.loglik)
    assert 0.3 < heston.diagnostics["filter_median_ess"] <= 1.0


def test_sv_states_follow_the_filter_between_refits(sp500, heston):
    span = sp500.iloc[999:1100]
    times = span.index[[1, 50, 100]]
    states = _sv_states(heston, span, "us_equity_daily", times)
    assert [s["end"] for s in states] == list(times)
    assert [s["last_price"] for s in states] == list(span["close"].loc[times])
    v = np.array([s["v"] for s in states])
    assert np.all(v > 0) and len(set(v.round(12))) == 3  # the state moves with the returns
    # a shock day raises the filtered variance: the largest |return| of the span moves v up
    r = np.diff(np.log(span["close"].to_numpy()))
    k = int(np.argmax(np.abs(r)))
    before, after = _sv_states(heston, span, "us_equity_daily", span.index[[k, k + 1]])
    assert after["v"] > before["v"]


@pytest.mark.parametrize("model", ["heston", "merton"])
def test_walk_forward_runs_continuous_time_models(sp500, model):
    res = walk_forward(sp500, model=model, in_sample=1000, out_of_sample=200, step=10, horizon=5, n_paths=500,
                       seed=0, quiet=True)  # fmt: skip
    assert res.model_name == model and res.n_forecasts >= 35
    assert len(res.fallbacks) == 0
    cov = 1.0 - res.forecasts["hit_95"].mean()
    assert 0.8 <= cov <= 1.0
    assert 0.5 < res.crps / res.crps_naive < 1.5
    fits = res.fits
    if model == "heston":
        kappa = fits["kappa"].iloc[0]
        assert fits["persistence"].iloc[0] == pytest.approx(math.exp(-kappa / 252.0), rel=0.02)
    assert res.spec.label.startswith("gjr")  # the reference spec of a model without a GARCH component


def test_reported_component_of_models_with_and_without_a_garch_part(sp500):
    from volresearch.validate.walkforward import forecast_metrics

    res = walk_forward(sp500, model="merton", in_sample=1000, out_of_sample=200, step=20, horizon=5, n_paths=200,
                       seed=0, quiet=True)  # fmt: skip
    assert res.component == ("merton", None)
    m = forecast_metrics(res)
    assert m["model"] == "merton" and m["dist"] is None and m["model_name"] == "merton"
    garch = walk_forward(sp500, model="gjr-t", in_sample=1000, out_of_sample=200, step=20, horizon=5, n_paths=200,
                         seed=0, quiet=True)  # fmt: skip
    assert garch.component == ("gjr", "t")
