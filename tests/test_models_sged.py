"""Tests of volresearch.models.sged (skewed GED as an arch Distribution).

Every property is checked against an independent route: numerical quadrature,
scipy.stats (normal, Laplace, generalised normal), arch's own GED, a literal
transcription of fGarch's ``dsged``, simulation with known truth.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch.univariate import EGARCH, GARCH, ConstantMean, GeneralizedError, ZeroMean
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from statsmodels.tools.numdiff import approx_hess3

from volresearch.errors import ConfigError
from volresearch.models.sged import (
    NU_BOUNDS,
    XI_BOUNDS,
    SkewedGED,
    lambda_to_xi,
    sged_cdf,
    sged_logpdf,
    sged_moments,
    sged_partial_moment,
    sged_pdf,
    sged_ppf,
    sged_rvs,
    xi_to_lambda,
)

NUS = [0.8, 1.0, 1.3, 2.0, 3.0, 5.0]
XIS = [0.5, 0.8, 1.0, 1.25, 2.0]
GRID = [(nu, xi) for nu in NUS for xi in XIS]
QUAD = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 200}


# ----------------------------------------------------------------------------
# Independent references
# ----------------------------------------------------------------------------
def _mode(nu: float, xi: float) -> float:
    """Mode of h, found numerically (h is unimodal, the cusp lies at its top)."""
    res = optimize.minimize_scalar(
        lambda z: -sged_logpdf(z, nu, xi),
        bounds=(-3.0, 3.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.x)


def _integrate(fun, lo: float, hi: float, split: float) -> float:
    """Integral of ``fun`` over (lo, hi), split at ``split`` when inside."""
    if lo < split < hi:
        return integrate.quad(fun, lo, split, **QUAD)[0] + integrate.quad(fun, split, hi, **QUAD)[0]
    return integrate.quad(fun, lo, hi, **QUAD)[0]


def _fgarch_dsged(x: np.ndarray, nu: float, xi: float) -> np.ndarray:
    """Line-by-line transcription of fGarch's ``.dsged`` and ``dged`` (R)."""
    g_fun = math.gamma
    lam = math.sqrt(2 ** (-2 / nu) * g_fun(1 / nu) / g_fun(3 / nu))
    m1 = 2 ** (1 / nu) * lam * g_fun(2 / nu) / g_fun(1 / nu)
    mu = m1 * (xi - 1 / xi)
    sigma = math.sqrt((1 - m1**2) * (xi**2 + 1 / xi**2) + 2 * m1**2 - 1)
    z = x * sigma + mu
    big_xi = xi ** np.sign(z)
    g = 2 / (xi + 1 / xi)

    def dged(y: np.ndarray) -> np.ndarray:
        gg = nu / (lam * (2 ** (1 + 1 / nu)) * g_fun(1 / nu))
        return gg * np.exp(-0.5 * np.abs(y / lam) ** nu)

    return g * dged(z / big_xi) * sigma


def _gennorm_two_piece(nu: float, xi: float):
    """SGED built from scipy's generalised normal, standardised by quadrature.

    scipy's ``gennorm(beta)`` has density ``beta/(2 Gamma(1/beta)) exp(-|x|^beta)``;
    with ``beta = nu`` and scale ``sqrt(Gamma(1/nu)/Gamma(3/nu))`` it has unit
    variance.  The two-piece law and its mean and standard deviation are then
    obtained without any of the module's closed forms.
    """
    base = stats.gennorm(nu, scale=math.sqrt(math.gamma(1 / nu) / math.gamma(3 / nu)))
    assert abs(base.var() - 1.0) < 1e-10

    def g(x: float) -> float:
        inner = x / xi if x >= 0 else x * xi
        return 2.0 / (xi + 1.0 / xi) * base.pdf(inner)

    mean = _integrate(lambda x: x * g(x), -np.inf, np.inf, 0.0)
    second = _integrate(lambda x: x * x * g(x), -np.inf, np.inf, 0.0)
    sd = math.sqrt(second - mean**2)

    def h(z: np.ndarray) -> np.ndarray:
        return np.array([sd * g(sd * zi + mean) for zi in np.atleast_1d(z)])

    return h


def _fit_iid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum likelihood of (nu, xi) on iid draws.

    Returns the estimate, outer-product-of-gradients standard errors and
    inverse-Hessian standard errors.  For nu < 1 the log density has a cusp
    whose second derivative is not integrable, so only the OPG (the Fisher
    information is finite for nu > 1/2) is reliable there.
    """

    def nll(p: np.ndarray) -> float:
        return -float(np.sum(sged_logpdf(z, p[0], p[1])))

    res = optimize.minimize(nll, x0=np.array([1.5, 1.0]), method="L-BFGS-B", bounds=[NU_BOUNDS, XI_BOUNDS])
    assert res.success, res.message
    step = 1e-6
    scores = np.column_stack(
        [(sged_logpdf(z, *(res.x + step * e)) - sged_logpdf(z, *(res.x - step * e))) / (2 * step) for e in np.eye(2)]
    )
    se_opg = np.sqrt(np.diag(np.linalg.inv(scores.T @ scores)))
    with np.errstate(invalid="ignore"):
        se_hess = np.sqrt(np.diag(np.linalg.inv(approx_hess3(res.x, nll))))
    return res.x, se_opg, se_hess


def _simulate_gjr(
    seed: int,
    nobs: int,
    *,
    mu: float,
    omega: float,
    alpha: float,
    gamma: float,
    beta: float,
    nu: float,
    xi: float,
    burn: int = 1000,
) -> np.ndarray:
    """GJR-GARCH(1,1,1) returns with exact SGED innovations (percent units).

    sigma2_t = omega + (alpha + gamma 1[e_{t-1} < 0]) e_{t-1}^2 + beta sigma2_{t-1},
    started at the unconditional variance omega / (1 - alpha - beta - gamma k),
    k = E[z^2 1(z < 0)].
    """
    z = sged_rvs(nu, xi, nobs + burn, seed=seed)
    k = float(sged_partial_moment(2, 0.0, nu, xi))
    sigma2 = omega / (1.0 - alpha - beta - gamma * k)
    e = np.empty(nobs + burn)
    for t in range(nobs + burn):
        e[t] = math.sqrt(sigma2) * z[t]
        sigma2 = omega + (alpha + gamma * (e[t] < 0.0)) * e[t] ** 2 + beta * sigma2
    return mu + e[burn:]


# ----------------------------------------------------------------------------
# Density, moments
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(("nu", "xi"), GRID)
def test_density_integrates_to_one_with_zero_mean_unit_variance(nu, xi):
    mode = _mode(nu, xi)
    mass, mean, second = (
        _integrate(lambda z, k=k: z**k * sged_pdf(z, nu, xi), -np.inf, np.inf, mode) for k in range(3)
    )
    assert abs(mass - 1.0) < 1e-6
    assert abs(mean) < 1e-6
    assert abs(second - mean**2 - 1.0) < 1e-6


@pytest.mark.parametrize(("nu", "xi"), GRID)
def test_closed_form_moments_match_quadrature(nu, xi):
    mode = _mode(nu, xi)
    third, fourth = (_integrate(lambda z, k=k: z**k * sged_pdf(z, nu, xi), -np.inf, np.inf, mode) for k in (3, 4))
    mean, var, skew, exkurt = sged_moments(nu, xi)
    assert abs(mean) < 1e-12
    assert abs(var - 1.0) < 1e-12
    assert skew == pytest.approx(third, abs=1e-8)
    assert exkurt == pytest.approx(fourth - 3.0, abs=1e-7)


def test_symmetric_case_has_ged_kurtosis():
    for nu in NUS:
        expected = math.gamma(5 / nu) * math.gamma(1 / nu) / math.gamma(3 / nu) ** 2 - 3
        assert sged_moments(nu, 1.0)[3] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("nu", NUS)
def test_skewness_sign_follows_xi_and_mirrors(nu):
    assert sged_moments(nu, 1.0)[2] == pytest.approx(0.0, abs=1e-12)
    for xi in (1.1, 1.5, 3.0):
        right = sged_moments(nu, xi)[2]
        left = sged_moments(nu, 1.0 / xi)[2]
        assert right > 0.0 > left
        assert left == pytest.approx(-right, rel=1e-10)
    # xi -> 1/xi mirrors the density: h(z; 1/xi) = h(-z; xi)
    z = np.linspace(-4, 4, 81)
    np.testing.assert_allclose(sged_pdf(z, nu, 0.7), sged_pdf(-z, nu, 1 / 0.7), rtol=1e-12)


def test_nu_two_xi_one_is_standard_normal():
    z = np.linspace(-8.0, 8.0, 1601)
    close = np.testing.assert_allclose
    close(sged_pdf(z, 2.0, 1.0), stats.norm.pdf(z), rtol=0, atol=1e-12)
    close(sged_logpdf(z, 2.0, 1.0), stats.norm.logpdf(z), rtol=1e-12, atol=1e-12)
    close(sged_cdf(z, 2.0, 1.0), stats.norm.cdf(z), rtol=0, atol=1e-12)
    u = np.concatenate([np.logspace(-12, -1, 23), np.linspace(0.02, 0.98, 49)])
    u = np.concatenate([u, 1.0 - u])
    close(sged_ppf(u, 2.0, 1.0), stats.norm.ppf(u), rtol=0, atol=1e-12)


def test_nu_one_xi_one_is_unit_variance_laplace():
    z = np.linspace(-6.0, 6.0, 241)
    ref = stats.laplace(scale=1.0 / math.sqrt(2.0))
    np.testing.assert_allclose(sged_pdf(z, 1.0, 1.0), ref.pdf(z), rtol=1e-12)
    np.testing.assert_allclose(sged_cdf(z, 1.0, 1.0), ref.cdf(z), rtol=0, atol=1e-14)


@pytest.mark.parametrize("nu", [1.01, 1.3, 2.0, 3.0, 5.0, 20.0])
def test_xi_one_matches_arch_generalized_error_loglikelihood(nu):
    rng = np.random.default_rng(7)
    resids = rng.standard_t(5, size=500)
    sigma2 = rng.uniform(0.2, 3.0, size=500)
    ours = SkewedGED().loglikelihood([nu, 1.0], resids, sigma2, individual=True)
    ref = GeneralizedError().loglikelihood([nu], resids, sigma2, individual=True)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert SkewedGED().loglikelihood([nu, 1.0], resids, sigma2) == pytest.approx(float(np.sum(ref)), rel=1e-12)


@pytest.mark.parametrize(("nu", "xi"), [(0.8, 0.5), (1.3, 0.85), (2.0, 1.25), (5.0, 2.0)])
def test_density_matches_fgarch_transcription(nu, xi):
    z = np.linspace(-6.0, 6.0, 241)
    ours = sged_pdf(z, nu, xi)
    np.testing.assert_allclose(ours, _fgarch_dsged(z, nu, xi), rtol=1e-12)


@pytest.mark.parametrize(("nu", "xi"), [(0.8, 0.5), (1.4, 0.85), (2.0, 2.0), (5.0, 1.25)])
def test_density_matches_scipy_gennorm_two_piece(nu, xi):
    z = np.linspace(-5.0, 5.0, 41)
    ref = _gennorm_two_piece(nu, xi)(z)
    np.testing.assert_allclose(sged_pdf(z, nu, xi), ref, rtol=1e-7)


# ----------------------------------------------------------------------------
# cdf, ppf, partial moments
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(("nu", "xi"), GRID)
def test_cdf_matches_integrated_pdf(nu, xi):
    mode = _mode(nu, xi)
    for z in (-4.0, -1.5, -0.3, mode, 0.2, 1.0, 3.5):
        num = _integrate(lambda t: sged_pdf(t, nu, xi), -np.inf, z, mode)
        assert float(sged_cdf(z, nu, xi)) == pytest.approx(num, abs=1e-10)


@pytest.mark.parametrize(("nu", "xi"), GRID + [(0.5, 0.1), (50.0, 10.0), (0.5, 10.0)])
def test_cdf_of_ppf_is_identity(nu, xi):
    tail = np.logspace(-14, -1, 40)
    u = np.concatenate([tail, np.linspace(0.01, 0.99, 197), 1.0 - tail])
    back = sged_cdf(sged_ppf(u, nu, xi), nu, xi)
    np.testing.assert_allclose(back, u, rtol=0, atol=1e-10)


def test_ppf_edges_and_monotone_cdf():
    assert sged_ppf(0.0, 1.3, 0.8) == -np.inf
    assert sged_ppf(1.0, 1.3, 0.8) == np.inf
    assert np.isnan(sged_ppf(1.5, 1.3, 0.8))
    assert np.isnan(sged_ppf(-0.1, 1.3, 0.8))
    assert sged_cdf(-np.inf, 1.3, 0.8) == 0.0
    assert sged_cdf(np.inf, 1.3, 0.8) == 1.0
    assert np.isnan(sged_cdf(np.nan, 1.3, 0.8))
    z = np.linspace(-10, 10, 4001)
    assert np.all(np.diff(sged_cdf(z, 0.8, 2.0)) >= 0.0)
    # shapes are preserved; scalars come back as scalars
    assert np.shape(sged_ppf(np.full((3, 4), 0.3), 1.3, 0.8)) == (3, 4)
    assert np.shape(sged_cdf(np.zeros((2, 5)), 1.3, 0.8)) == (2, 5)
    assert np.ndim(sged_pdf(0.1, 1.3, 0.8)) == 0


@settings(max_examples=200, deadline=None)
@given(
    nu=st.floats(*NU_BOUNDS),
    xi=st.floats(*XI_BOUNDS),
    u=st.floats(1e-12, 1.0 - 1e-12),
)
def test_cdf_of_ppf_is_identity_anywhere_in_bounds(nu, xi, u):
    assert float(sged_cdf(sged_ppf(u, nu, xi), nu, xi)) == pytest.approx(u, abs=1e-10)


def test_mode_mass_gives_lambda_mapping():
    # nu <= 2 keeps the numerically located mode sharp (flat tops blur it)
    for nu in (0.8, 1.3, 2.0):
        for xi in (0.3, 0.8, 1.0, 1.7, 4.0):
            mode = _mode(nu, xi)
            p_left = float(sged_cdf(mode, nu, xi))
            assert xi_to_lambda(xi) == pytest.approx(1.0 - 2.0 * p_left, abs=1e-6)
    xis = np.array([0.1, 0.5, 1.0, 2.0, 10.0])
    np.testing.assert_allclose(lambda_to_xi(xi_to_lambda(xis)), xis, rtol=1e-12)
    assert xi_to_lambda(1.0) == 0.0


@pytest.mark.parametrize(("nu", "xi"), [(0.8, 0.5), (1.3, 0.85), (2.0, 1.0), (3.0, 2.0)])
def test_partial_moments_match_quadrature(nu, xi):
    mode = _mode(nu, xi)
    for n in range(5):
        for z in (-2.5, -0.4, mode, 0.3, 2.0):
            num = _integrate(lambda t, n=n: t**n * sged_pdf(t, nu, xi), -np.inf, z, mode)
            ours = float(sged_partial_moment(n, z, nu, xi))
            assert ours == pytest.approx(num, abs=1e-10)
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(sged_partial_moment(0, z, nu, xi), sged_cdf(z, nu, xi), atol=1e-15)
    _, _, skew, exkurt = sged_moments(nu, xi)
    full3 = float(sged_partial_moment(3, np.inf, nu, xi))
    full4 = float(sged_partial_moment(4, np.inf, nu, xi))
    assert full3 == pytest.approx(skew, abs=1e-12)
    assert full4 == pytest.approx(exkurt + 3, abs=1e-12)


# ----------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(("nu", "xi", "seed"), [(0.8, 0.6, 1), (1.3, 0.85, 2), (2.0, 1.0, 3), (4.0, 1.8, 4)])
def test_draws_follow_the_cdf(nu, xi, seed):
    draws = sged_rvs(nu, xi, 100_000, seed=seed)
    result = stats.kstest(draws, lambda z: sged_cdf(z, nu, xi))
    assert result.pvalue > 0.01
    # and the sample moments are those of the law
    assert abs(draws.mean()) < 5 * draws.std() / math.sqrt(draws.size)
    assert draws.var() == pytest.approx(1.0, abs=0.03)


def test_draws_are_reproducible():
    a = sged_rvs(1.3, 0.85, 1000, seed=42)
    b = sged_rvs(1.3, 0.85, 1000, seed=42)
    c = sged_rvs(1.3, 0.85, 1000, seed=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, sged_rvs(1.3, 0.85, 1000, seed=43))
    assert sged_rvs(1.3, 0.85, (3, 7), seed=1).shape == (3, 7)


def test_arch_simulator_uses_the_instance_generator():
    p = [1.3, 0.85]
    a = SkewedGED(seed=5).simulate(p)(500)
    b = SkewedGED(seed=5).simulate(p)(500)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, sged_rvs(1.3, 0.85, 500, seed=5))
    legacy = SkewedGED(seed=np.random.RandomState(0)).simulate(p)((20_000,))
    assert stats.kstest(legacy, lambda z: sged_cdf(z, 1.3, 0.85)).pvalue > 0.01


# ----------------------------------------------------------------------------
# Parameter checks and the arch interface
# ----------------------------------------------------------------------------
def test_invalid_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="nu must be a finite number > 0"):
        sged_pdf(0.0, 0.0, 1.0)
    with pytest.raises(ConfigError, match="xi must be a finite number > 0"):
        sged_cdf(0.0, 1.5, -1.0)
    with pytest.raises(ConfigError, match="nu must be a finite number > 0"):
        sged_ppf(0.5, float("nan"), 1.0)
    with pytest.raises(ConfigError, match="xi must be a scalar"):
        sged_logpdf(0.0, 1.5, [1.0, 2.0])
    with pytest.raises(ConfigError, match="moment order n must be an integer >= 0"):
        sged_partial_moment(-1, 0.0, 1.5, 1.0)
    with pytest.raises(ConfigError, match="moment order n must be an integer >= 0"):
        sged_partial_moment(1.5, 0.0, 1.5, 1.0)
    with pytest.raises(ConfigError, match="seed must be an int"):
        sged_rvs(1.5, 1.0, 10, seed="abc")
    with pytest.raises(ConfigError, match="xi must be finite and > 0"):
        xi_to_lambda(0.0)
    with pytest.raises(ConfigError, match=r"lambda must lie in \(-1, 1\)"):
        lambda_to_xi(1.0)
    dist = SkewedGED()
    count_msg = r"parameters must have 2 elements \(nu, xi\), got "
    with pytest.raises(ConfigError, match=count_msg + "1"):
        dist.cdf([0.0], [1.5])
    with pytest.raises(ConfigError, match=count_msg + "None"):
        dist.ppf(0.5)
    bound_msg = r"{} does not satisfy the bounds requirement of \({}, {}\)"
    with pytest.raises(ConfigError, match=bound_msg.format("xi", 0.1, 10.0)):
        dist.simulate([1.5, 20.0])
    with pytest.raises(ConfigError, match=bound_msg.format("nu", 0.5, 50.0)):
        dist.moment(2, [0.3, 1.0])
    with pytest.raises(ConfigError, match="call simulate"):
        dist._simulator(3)
    assert issubclass(ConfigError, ValueError)


def test_interface_structure():
    dist = SkewedGED()
    assert dist.name == "Skewed GED"
    assert dist.num_params == 2
    assert dist.parameter_names() == ["nu", "xi"]
    bounds = dist.bounds(np.zeros(3))
    assert bounds == [NU_BOUNDS, XI_BOUNDS]
    a, b = dist.constraints()
    assert a.shape == (4, 2) and b.shape == (4,)
    corners = [[nu, xi] for nu in NU_BOUNDS for xi in XI_BOUNDS]
    inside = np.array(corners + [[1.5, 1.0]])
    assert np.all(inside @ a.T - b >= 0.0)
    for outside in ([0.49, 1.0], [50.1, 1.0], [1.5, 0.09], [1.5, 10.1]):
        assert np.any(a @ np.array(outside) - b < 0.0)


def test_class_functions_agree_with_module_functions():
    dist = SkewedGED()
    p = np.array([1.3, 0.85])
    z = np.linspace(-3, 3, 25)
    np.testing.assert_array_equal(dist.cdf(z, p), sged_cdf(z, *p))
    u = np.linspace(0.01, 0.99, 25)
    np.testing.assert_array_equal(dist.ppf(u, p), sged_ppf(u, *p))
    assert isinstance(dist.ppf(0.3, p), float)
    mean, var, skew, exkurt = sged_moments(*p)
    assert dist.moment(0, p) == pytest.approx(1.0, abs=1e-14)
    assert dist.moment(1, p) == pytest.approx(0.0, abs=1e-14)
    assert dist.moment(2, p) == pytest.approx(1.0, abs=1e-14)
    assert dist.moment(3, p) == pytest.approx(skew, abs=1e-14)
    assert dist.moment(4, p) == pytest.approx(exkurt + 3.0, abs=1e-14)
    assert math.isnan(dist.moment(-1, p))
    assert math.isnan(dist.partial_moment(-1, 0.0, p))
    assert dist.partial_moment(2, 0.0, p) == pytest.approx(float(sged_partial_moment(2, 0.0, *p)), rel=1e-15)
    # left skew puts more than half of the second moment below zero
    assert dist.partial_moment(2, 0.0, p) > 0.5


def test_loglikelihood_is_log_density_of_standardised_residuals():
    rng = np.random.default_rng(3)
    sigma2 = rng.uniform(0.5, 4.0, 300)
    resids = np.sqrt(sigma2) * sged_rvs(1.3, 0.85, 300, seed=4)
    dist = SkewedGED()
    terms = dist.loglikelihood([1.3, 0.85], resids, sigma2, individual=True)
    expected = sged_logpdf(resids / np.sqrt(sigma2), 1.3, 0.85) - 0.5 * np.log(sigma2)
    np.testing.assert_allclose(terms, expected, rtol=1e-14)
    assert dist.loglikelihood([1.3, 0.85], resids, sigma2) == pytest.approx(float(np.sum(expected)), rel=1e-13)
    # Outside the parameter domain the likelihood is zero, not an exception.
    assert dist.loglikelihood([-1.0, 0.85], resids, sigma2) == -np.inf
    terms = dist.loglikelihood([1.3, 0.0], resids, sigma2, individual=True)
    assert np.all(terms == -np.inf)


def test_starting_values_come_from_the_likelihood_grid():
    dist = SkewedGED()
    z = 3.0 + 2.0 * sged_rvs(1.0, 0.85, 20_000, seed=11)  # location/scale removed
    np.testing.assert_array_equal(dist.starting_values(z), [1.0, 0.85])
    z = sged_rvs(3.0, 1.4, 20_000, seed=12)
    np.testing.assert_array_equal(dist.starting_values(z), [3.0, 1.4])
    np.testing.assert_array_equal(dist.starting_values(np.ones(5)), [1.5, 1.0])


# ----------------------------------------------------------------------------
# Recovery of known parameters
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(("nu", "xi", "seed"), [(1.3, 0.8, 21), (0.8, 1.5, 22), (3.0, 1.1, 23)])
def test_iid_maximum_likelihood_recovers_nu_and_xi(nu, xi, seed):
    z = sged_rvs(nu, xi, 50_000, seed=seed)
    est, se, se_hess = _fit_iid(z)
    assert np.all(np.abs(est - [nu, xi]) < 3.0 * se), (est, se)
    assert np.all(se < [0.05 * nu, 0.02 * xi])
    if nu > 1.0:  # information-matrix equality where the density is smooth
        np.testing.assert_allclose(se_hess, se, rtol=0.1)


GJR_TRUTH = {
    "mu": 0.02,
    "omega": 0.02,
    "alpha[1]": 0.05,
    "gamma[1]": 0.08,
    "beta[1]": 0.88,
    "nu": 1.4,
    "xi": 0.85,
}


def _gjr_returns(seed: int, nobs: int = 20_000) -> np.ndarray:
    t = GJR_TRUTH
    return _simulate_gjr(
        seed,
        nobs,
        mu=t["mu"],
        omega=t["omega"],
        alpha=t["alpha[1]"],
        gamma=t["gamma[1]"],
        beta=t["beta[1]"],
        nu=t["nu"],
        xi=t["xi"],
    )


def test_gjr_garch_with_sged_recovers_every_parameter_through_arch():
    y = _gjr_returns(seed=2024)
    res = ConstantMean(y, volatility=GARCH(1, 1, 1), distribution=SkewedGED()).fit(disp="off")
    assert res.convergence_flag == 0
    assert list(res.params.index) == list(GJR_TRUTH)
    truth = np.array(list(GJR_TRUTH.values()))
    tstat = (res.params.to_numpy() - truth) / res.std_err.to_numpy()
    assert np.all(np.abs(tstat) < 3.0), dict(zip(GJR_TRUTH, tstat, strict=True))
    assert "Skewed GED" in str(res.summary())


def test_zero_mean_gjr_with_sged_recovers_parameters():
    y = _gjr_returns(seed=7) - GJR_TRUTH["mu"]
    model = ZeroMean(y, volatility=GARCH(1, 1, 1), distribution=SkewedGED())
    res = model.fit(disp="off")
    assert res.convergence_flag == 0
    truth = np.array([GJR_TRUTH[k] for k in res.params.index])
    tstat = (res.params.to_numpy() - truth) / res.std_err.to_numpy()
    assert np.all(np.abs(tstat) < 3.0), tstat


def test_egarch_simulated_by_arch_with_sged_is_recovered():
    truth = np.array([0.01, 0.0, 0.15, -0.08, 0.96, 1.2, 1.3])

    def simulate(seed: int):
        model = ConstantMean(None, volatility=EGARCH(1, 1, 1), distribution=SkewedGED(seed=seed))
        return model.simulate(truth, 20_000, burn=1000)

    sim = simulate(9)
    again = simulate(9)
    np.testing.assert_array_equal(sim["data"].to_numpy(), again["data"].to_numpy())
    std = sim["errors"] / np.sqrt(sim["volatility"] ** 2)
    assert stats.kstest(std, lambda z: sged_cdf(z, 1.2, 1.3)).pvalue > 0.01

    res = ConstantMean(sim["data"].to_numpy(), volatility=EGARCH(1, 1, 1), distribution=SkewedGED()).fit(disp="off")
    assert res.convergence_flag == 0
    tstat = (res.params.to_numpy() - truth) / res.std_err.to_numpy()
    assert np.all(np.abs(tstat) < 3.0), dict(zip(res.params.index, tstat, strict=True))


def test_simulation_forecast_uses_sged_asymmetry():
    """arch's simulated GJR forecasts follow E[z^2 1(z<0)] of the SGED, not 1/2.

    For h >= 2 the expected variance obeys
    E sigma2_{T+h} = omega + (alpha + gamma k + beta) E sigma2_{T+h-1},
    k = partial_moment(2, 0).  With xi = 0.85, k differs from 1/2 enough for
    the simulated mean to tell the two apart.
    """
    y = _gjr_returns(seed=31, nobs=5000)
    model = ConstantMean(y, volatility=GARCH(1, 1, 1), distribution=SkewedGED(seed=1))
    res = model.fit(disp="off")
    p = res.params
    horizon = 10
    fc = res.forecast(horizon=horizon, method="simulation", simulations=40_000, reindex=False)
    paths = fc.simulations.variances[-1]  # (simulations, horizon)
    sim_mean = paths.mean(axis=0)
    sim_se = paths.std(axis=0) / math.sqrt(paths.shape[0])

    dist = SkewedGED()
    k = dist.partial_moment(2, 0.0, [p["nu"], p["xi"]])
    persistence = p["alpha[1]"] + p["gamma[1]"] * k + p["beta[1]"]
    expected = np.empty(horizon)
    expected[0] = paths[0, 0]  # one step ahead is known at T
    for h in range(1, horizon):
        expected[h] = p["omega"] + persistence * expected[h - 1]
    assert np.all(np.abs(sim_mean - expected) < 4.0 * sim_se + 1e-12)
    symmetric = np.empty(horizon)
    symmetric[0] = expected[0]
    for h in range(1, horizon):
        symmetric[h] = p["omega"] + (p["alpha[1]"] + 0.5 * p["gamma[1]"] + p["beta[1]"]) * symmetric[h - 1]
    assert abs(sim_mean[-1] - symmetric[-1]) > 4.0 * sim_se[-1]

    # simulated shocks are standardised SGED draws
    shocks = fc.simulations.residuals[-1] / np.sqrt(paths)
    assert abs(shocks.mean()) < 0.01
    assert shocks.var() == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
def test_gjr_standard_errors_are_calibrated_over_replications():
    """Over 40 seeds, ~95% of the |t| statistics must fall below 1.96."""
    truth = np.array(list(GJR_TRUTH.values()))
    tstats = []
    for seed in range(100, 140):
        y = _gjr_returns(seed=seed)
        res = ConstantMean(y, volatility=GARCH(1, 1, 1), distribution=SkewedGED()).fit(disp="off")
        assert res.convergence_flag == 0
        tstats.append((res.params.to_numpy() - truth) / res.std_err.to_numpy())
    cover = np.mean(np.abs(np.array(tstats)) < 1.96, axis=0)
    # 40 replications: binomial sd of a 95% rate is 3.4 points; allow ~3 sd
    assert np.all(cover >= 0.85), dict(zip(GJR_TRUTH, cover, strict=True))
