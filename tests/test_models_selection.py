"""Model comparison: likelihood-ratio test size under the null, information criteria, news impact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch.univariate import GARCH, Normal, ZeroMean
from scipy import stats

from volresearch.errors import FitError
from volresearch.models import compare_fits, fit_garch, likelihood_ratio_test, news_impact_curve

P_KEYS = ("pvalue", "pvalue_chi2", "pvalue_boundary")  # every p-value the test reports, whatever its name


def garch_null_pvalues(reps: int, n: int = 1500, seed: int = 0) -> dict[str, np.ndarray]:
    """LR p-values of GJR against GARCH on data simulated by arch's own GARCH(1,1) (gamma = 0 is true)."""
    rng = np.random.RandomState(seed)
    out: dict[str, list[float]] = {}
    for _ in range(reps):
        sim = ZeroMean(None, volatility=GARCH(1, 0, 1), distribution=Normal(seed=rng)).simulate([0.05, 0.08, 0.90], n)
        r = sim["data"].to_numpy() / 100.0  # percent -> log return per bar
        small = fit_garch(r, model="garch", mean="zero", returns=True)
        big = fit_garch(r, model="gjr", mean="zero", returns=True)
        res = likelihood_ratio_test(small, big)
        for key in P_KEYS:
            if key in res:
                out.setdefault(key, []).append(res[key])
    return {k: np.asarray(v) for k, v in out.items()}


def test_lr_pvalues_of_garch_inside_gjr_are_uniform_under_the_null():
    # gamma = 0 is interior in arch: the p-values are chi-square ones, uniform under the null
    # (halved p-values would live on [0, 0.5]: a KS distance of at least 0.5)
    pvals = garch_null_pvalues(40, seed=1)
    assert pvals
    for key, p in pvals.items():
        assert stats.kstest(p, "uniform").pvalue > 1e-3, key


@pytest.mark.slow
def test_lr_rejection_rate_at_five_percent_is_five_percent():
    reps = 200
    pvals = garch_null_pvalues(reps, seed=2)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.05)
    for key, p in pvals.items():
        rejections = int(np.sum(p < 0.05))
        assert lo <= rejections <= hi, (key, rejections)


@pytest.fixture(scope="module")
def pair():
    rng = np.random.RandomState(3)
    sim = ZeroMean(None, volatility=GARCH(1, 1, 1), distribution=Normal(seed=rng)).simulate(
        [0.05, 0.02, 0.12, 0.88], 3000
    )
    r = sim["data"].to_numpy() / 100.0
    return fit_garch(r, model="garch", mean="zero", returns=True), fit_garch(r, model="gjr", mean="zero", returns=True)


def test_boundary_mixture_only_when_asked(pair):
    small, big = pair
    plain = likelihood_ratio_test(small, big)
    mixed = likelihood_ratio_test(small, big, boundary=True)
    lr = 2 * (big.loglik - small.loglik)
    assert plain["lr"] == pytest.approx(lr)
    assert plain["pvalue"] == pytest.approx(stats.chi2.sf(lr, 1)) == plain["pvalue_chi2"]
    assert mixed["pvalue"] == pytest.approx(0.5 * plain["pvalue"]) and mixed["boundary"] == 1.0
    assert plain["pvalue"] < 0.01  # the leverage is real here


def test_lr_test_refuses_different_data_or_wrong_nesting(pair):
    small, big = pair
    other = fit_garch(np.asarray(small.std_resid) * 1e-3, model="gjr", mean="zero", returns=True)
    with pytest.raises(FitError, match="same data"):
        likelihood_ratio_test(small, other)
    with pytest.raises(FitError, match="more parameters"):
        likelihood_ratio_test(big, small)
    with pytest.raises(FitError, match="different data"):
        compare_fits([small, other])


def test_compare_fits_orders_by_bic(pair):
    small, big = pair
    table = compare_fits({"garch": small, "gjr": big})
    assert list(table.index) == ["gjr", "garch"]
    assert table["delta_bic"].iloc[0] == 0.0
    assert table.loc["gjr", "n_params"] == 4


def test_news_impact_curve_matches_the_recursion(pair):
    _, big = pair
    p = big.params
    curve = news_impact_curve(big, n=11)
    s2 = big.unconditional_variance
    e = curve["shock"].to_numpy()
    expect = p["omega"] + (p["alpha"] + p["gamma"] * (e < 0)) * e**2 + p["beta"] * s2
    np.testing.assert_allclose(curve["variance"], expect)
    assert curve["variance"].iloc[0] > curve["variance"].iloc[-1]  # leverage: bad news raises variance more
    eg = fit_garch(np.asarray(big.std_resid) * 1e-3, model="egarch", mean="zero", returns=True)
    c = news_impact_curve(eg, np.array([-1e-3, 0.0, 1e-3]))
    sd = math.sqrt(eg.unconditional_variance)
    z = c["shock"].to_numpy() / sd
    q = eg.params
    want = np.exp(
        q["omega"]
        + q["alpha"] * (np.abs(z) - math.sqrt(2 / math.pi))
        + q["gamma"] * z
        + q["beta"] * math.log(eg.unconditional_variance)
    )
    np.testing.assert_allclose(c["variance"], want)
