"""Checks of the robust fit: every problem and flag fires on the case it names and not on a sane fit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from volresearch.errors import FitError
from volresearch.models import fitting
from volresearch.models.garch import NEAR_INTEGRATED, Fit, ModelSpec, fit_garch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def gjr_returns(n, *, omega=1e-6, alpha=0.05, gamma=0.0, beta=0.9, mu=0.0, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    r = np.empty(n)
    s2 = omega / (1 - alpha - beta - gamma / 2)
    for t in range(n):
        e = math.sqrt(s2) * z[t]
        r[t] = mu + e
        s2 = omega + (alpha + (gamma if e < 0 else 0.0)) * e * e + beta * s2
    return r


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(1)
    r = rng.standard_normal(5000) * 1e-3  # sd 1e-3 per bar
    z = rng.standard_normal(5000)
    return r, z


def sane(var=1e-6, **over):
    # persistence 0.95, unconditional variance = var
    p = {"mu": 0.0, "omega": var * 0.05, "alpha": 0.05, "gamma": 0.0, "beta": 0.90}
    p.update(over)
    return p


def check(spec, params, sample, **kw):
    r, z = sample
    kw.setdefault("std_resid", z)
    return fitting.check_estimate(spec, params, returns=r, **kw)


def test_a_sane_estimate_has_no_problem_and_no_flag(sample):
    problems, flags = check(ModelSpec("garch", "normal", "zero"), sane(), sample)
    assert problems == [] and flags == []


def test_persistence_margin_is_a_clear_rule(sample):
    spec = ModelSpec("garch", "normal", "zero")
    # 1 - 5e-5: inside the margin: kept, flagged near-integrated (omega keeps the level sane)
    p = sane(omega=1e-6 * 5e-5, alpha=0.05, beta=0.95 - 5e-5)
    problems, flags = check(spec, p, sample)
    assert problems == [] and any(f.startswith("near-integrated") for f in flags)
    # 1 - 2e-4: outside the margin: no flag
    problems, flags = check(spec, sane(omega=1e-6 * 2e-4, beta=0.95 - 2e-4), sample)
    assert problems == [] and flags == []
    # exactly 1 and just above: both rejected, for the same reason
    for beta in (0.95, 0.95001):
        problems, _ = check(spec, sane(omega=1e-12, beta=beta), sample)
        assert any("not covariance stationary" in p for p in problems), beta
    assert NEAR_INTEGRATED == 1 - fitting.NEAR_INTEGRATED_MARGIN


def test_unconditional_variance_far_from_the_sample_is_rejected(sample):
    spec = ModelSpec("garch", "normal", "zero")
    # the real-file case: alpha 0.4996, beta 0.5004 - 5e-11, unconditional vol 64 per bar vs sd 1e-3
    absurd = {"mu": 0.0, "omega": 64.0**2 * 5e-11, "alpha": 0.4996, "gamma": 0.0, "beta": 0.5004 - 5e-11}
    problems, _ = check(spec, absurd, sample)
    assert any("implausible unconditional volatility" in p for p in problems)
    for ratio, rejected in ((6.0, True), (4.0, False), (0.25, False), (0.15, True)):
        problems, _ = check(spec, sane(var=(ratio * 1e-3) ** 2), sample)
        assert any("unconditional" in p for p in problems) is rejected, ratio


def test_standardised_residuals_with_variance_far_from_one_are_rejected(sample):
    r, z = sample
    spec = ModelSpec("garch", "normal", "zero")
    problems, _ = fitting.check_estimate(spec, sane(), returns=r, std_resid=z * math.sqrt(2.63))
    assert any("standardised residuals have variance 2.6" in p for p in problems)
    problems, _ = fitting.check_estimate(spec, sane(), returns=r, std_resid=z * math.sqrt(1.3))
    assert problems == []


def test_shape_at_its_bound_is_a_problem_except_the_normal_limit_of_t(sample):
    problems, _ = check(ModelSpec("gjr", "sged", "zero"), sane(nu=0.5, xi=1.0), sample)
    assert any("shape nu = 0.5 at its lower bound" in p for p in problems)
    problems, _ = check(ModelSpec("gjr", "sged", "zero"), sane(nu=1.5, xi=10.0), sample)
    assert any("shape xi" in p and "upper bound" in p for p in problems)
    problems, flags = check(ModelSpec("gjr", "t", "zero"), sane(nu=500.0), sample)
    assert problems == [] and any("normal limit" in f for f in flags)
    problems, flags = check(ModelSpec("gjr", "t", "zero"), sane(nu=2.05), sample)
    assert any("lower bound" in p for p in problems)
    assert check(ModelSpec("gjr", "sged", "zero"), sane(nu=1.2, xi=0.9), sample) == ([], [])


def test_parameters_equal_to_their_starting_values_are_a_problem(sample):
    spec = ModelSpec("garch", "normal", "zero")
    p = sane()
    problems, _ = check(spec, p, sample, start={k: v for k, v in p.items() if k != "gamma"})
    assert any("never moved" in x for x in problems)
    moved = {k: v * 1.01 for k, v in p.items() if k != "gamma"}
    assert check(spec, p, sample, start=moved)[0] == []


def test_implausible_mean_is_judged_by_t_and_drift_over_the_horizon(sample):
    spec = ModelSpec("gjr", "normal", "constant")
    # the currency-futures case: mu 3e-5 per bar, t = 6.5, horizon 1,440 bars: drift 1.1 horizon sd
    problems, _ = check(spec, sane(mu=3e-5), sample, std_errors={"mu": 3e-5 / 6.5}, horizon=1440)
    assert any("implausible mean" in p and "t = 6.50" in p for p in problems)
    # the same mean judged over a short horizon is fine
    assert check(spec, sane(mu=3e-5), sample, std_errors={"mu": 3e-5 / 6.5}, horizon=20) == ([], [])
    # a noisy mean (t = 1) with a large drift is flagged, not rejected
    problems, flags = check(spec, sane(mu=3e-5), sample, std_errors={"mu": 3e-5}, horizon=1440)
    assert problems == [] and any("mean drives the forecast" in f for f in flags)
    # more than one standard deviation per bar is rejected whatever the t
    problems, _ = check(spec, sane(mu=2e-3), sample, std_errors={"mu": 1.0}, horizon=1)
    assert any("exceeds one standard deviation" in p for p in problems)


def test_variance_path_and_non_finite_estimates_are_problems(sample):
    spec = ModelSpec("garch", "normal", "zero")
    problems, _ = check(spec, sane(omega=math.nan), sample)
    assert problems == ["non-finite parameters"]
    cv = np.full(10, 1e-3)
    cv[3] = 0.0
    assert any("variance path" in p for p in check(spec, sane(), sample, conditional_volatility=cv)[0])
    assert any("omega" in p for p in check(spec, sane(omega=-1e-9), sample)[0])
    problems, _ = check(
        ModelSpec("egarch", "normal", "zero"), {"mu": 0, "omega": 0.0, "alpha": 0.1, "gamma": 0.0, "beta": 1.0}, sample
    )
    assert any("EGARCH not stationary" in p for p in problems)


def _fake(label, ll, problems=(), flags=()):
    return fitting.Attempt(1.0, label, None, object(), ll, tuple(problems), tuple(flags))


def test_best_likelihood_among_the_attempts_that_pass_is_kept(monkeypatch):
    plan = {
        "default": _fake("default", 239_217.0, ["implausible mean: ..."]),
        "confirm x10 from start 1": _fake("confirm", 219_758.0),
        "start 1": _fake("start 1", 239_100.0),
        "start 2": _fake("start 2", 239_100.001),
        "start 3": _fake("start 3", 200_000.0),
    }
    monkeypatch.setattr(fitting, "run_attempt", lambda spec, r, scale, start, label, horizon=1: plan[label])
    r = gjr_returns(500, seed=3)
    est = fitting.estimate(ModelSpec("garch", "normal"), r)
    # common units: the kept attempt is the best passing one, not the confirmation 19,459 units worse
    assert est.best.loglik == 239_100.001 and est.confirmed
    assert any("rejected attempt (default)" in f for f in est.flags)
    assert [a.start for a in est.attempts][-1] == "start 2"  # stops once two passing attempts agree


def test_confirmation_starts_from_a_genuinely_different_point():
    r = gjr_returns(3000, seed=5)
    fit = fit_garch(r, model="gjr", dist="t", returns=True)
    first, confirm = fit.meta["attempts"][:2]
    a = np.array(list(first["start_values"].values()))
    b = np.array(list(confirm["start_values"].values()))
    assert not np.allclose(a, b, rtol=1e-3)
    optimum = np.array([fit.params[k] for k in first["start_values"]])
    assert not np.allclose(b, optimum, rtol=1e-3)
    assert confirm["scale"] == 10 * first["scale"] and fit.meta["confirmed"]


def test_near_integrated_fit_is_flagged_in_every_representation():
    r = gjr_returns(3000, seed=6)
    fit = fit_garch(r, model="garch", returns=True)
    payload = fit.to_dict()
    params = {**payload["params"], "alpha": 0.05, "beta": 0.95 - 5e-5, "omega": 1e-6 * 5e-5}
    near = Fit.from_dict({**payload, "params": params, "flags": []})
    assert near.near_integrated and not fit.near_integrated
    assert any(f.startswith("near-integrated") for f in near.to_dict()["flags"])
    assert "warning: near-integrated" in near.summary()
    back = Fit.from_dict(json.loads(json.dumps(near.to_dict())))
    assert back.summary() == near.summary()


def test_shape_t_statistics_are_against_their_natural_null():
    r = gjr_returns(3000, seed=7)
    fit = fit_garch(r, model="gjr", dist="sged", mean="zero", returns=True)
    assert fit.null_values()["xi"] == 1.0 and fit.null_values()["nu"] == 2.0
    line = next(ln for ln in fit.summary().splitlines() if ln.startswith("xi "))
    t = float(line.split()[4])
    assert t == pytest.approx((fit.params["xi"] - 1.0) / fit.std_errors["xi"], abs=0.01)
    assert "fixed" in next(ln for ln in fit.summary().splitlines() if ln.startswith("mu "))


def test_zero_mean_fit_carries_mu_and_restores_old_files():
    r = gjr_returns(1500, seed=8)
    fit = fit_garch(r, model="gjr", dist="normal", mean="zero", returns=True)
    assert fit.params["mu"] == 0.0 and "mu" not in fit.std_errors and fit.num_params == 4
    old = fit.to_dict()
    old["params"] = {k: v for k, v in old["params"].items() if k != "mu"}
    assert Fit.from_dict(old).params["mu"] == 0.0


def test_every_attempt_failing_raises_with_every_reason():
    rng = np.random.default_rng(0)
    r = rng.standard_normal(300) * 1e-3
    r[::7] *= 60  # extreme outliers every 7th bar
    with pytest.raises(FitError) as info:
        fit_garch(r, model="gjr", dist="sged", mean="zero", returns=True)
    assert info.value.reason == "checks" and "[scale" in str(info.value)


@pytest.mark.skipif(not (DATA / "INDA_1min.csv").is_file(), reason="real data folder ../shared/data is absent")
def test_gappy_etf_never_yields_an_absurd_accepted_fit():
    from volresearch.data import open_bars, validate_bars

    bars = validate_bars(open_bars(str(DATA / "INDA_1min.csv")), policy="strict").bars
    r = np.diff(np.log(bars["close"].to_numpy()))
    try:
        fit = fit_garch(bars, model="garch", dist="t")
    except FitError as exc:
        assert exc.reason == "checks"
        return
    ratio = fit.unconditional_vol_per_bar / float(np.std(r))
    assert 1 / 5 <= ratio <= 5
    assert 0.5 <= float(np.var(fit.std_resid)) <= 2.0


def test_an_optimiser_error_is_recorded_as_a_problem(monkeypatch):
    real = fitting.arch_model

    def failing(spec, y):
        model = real(spec, y)

        def fit(*args, **kwargs):
            raise np.linalg.LinAlgError("singular matrix")

        model.fit = fit
        return model

    monkeypatch.setattr(fitting, "arch_model", failing)
    attempt = fitting.run_attempt(ModelSpec("garch", "normal"), gjr_returns(300, seed=9), 1e3, None, "default")
    assert not attempt.ok and attempt.loglik == -math.inf
    assert attempt.problems == ("arch raised LinAlgError: singular matrix",)
    assert attempt.to_dict(ModelSpec("garch", "normal"))["loglik"] is None
