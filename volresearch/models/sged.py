r"""Skewed generalised error distribution (SGED) as an ``arch`` innovation law.

The idea in three steps:

1. Start from the generalised error distribution (GED) with shape
   :math:`\nu > 0`, scaled to unit variance (:math:`\nu = 2` normal,
   :math:`\nu = 1` Laplace, :math:`\nu < 2` fatter tails).
2. Skew it the Fernandez-Steel way: stretch the positive half-line by
   :math:`\xi` and shrink the negative one by :math:`1/\xi` (:math:`\xi > 1`
   skews right, :math:`\xi < 1` left, :math:`\xi = 1` leaves it symmetric).
3. Shift and rescale the result to mean 0 and variance 1, so that it can be the
   standardised innovation :math:`z_t = \epsilon_t / \sigma_t` of a GARCH-type
   model.

This is the ``sged`` of R's fGarch and rugarch.  Every quantity has a closed
form through the (regularised incomplete) gamma function: density, cdf,
quantile function, moments and partial moments, and the law can be sampled
exactly from Gamma variates.  The module-level functions are pure and
vectorised in ``z``/``u``; :class:`SkewedGED` wraps them as an
:class:`arch.univariate.distribution.Distribution`, so ``arch``'s mean and
volatility models (GARCH, GJR, EGARCH, ...) can be estimated by maximum
likelihood with SGED innovations, simulated and forecast by simulation.

Definitions (all derived in the docstrings below and checked in the tests):

.. math::

    \lambda = \left(2^{-2/\nu}\,\Gamma(1/\nu)/\Gamma(3/\nu)\right)^{1/2},\qquad
    f(z) = \frac{\nu\,e^{-\frac12|z/\lambda|^{\nu}}}
                {\lambda\,2^{1+1/\nu}\,\Gamma(1/\nu)},

.. math::

    g(x) = \frac{2}{\xi + \xi^{-1}}
           \left[f(x/\xi)\,1(x \ge 0) + f(x\xi)\,1(x < 0)\right],\qquad
    h(z) = s\,g(sz + m),

with :math:`M_1 = \lambda 2^{1/\nu}\Gamma(2/\nu)/\Gamma(1/\nu)`,
:math:`m = M_1(\xi - \xi^{-1})` and
:math:`s^2 = (1 - M_1^2)(\xi^2 + \xi^{-2}) + 2M_1^2 - 1`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
from arch.univariate.distribution import Distribution
from numpy.random import Generator, RandomState
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammainc, gammaincc, gammainccinv, gammaincinv, gammaln

from volresearch.errors import ConfigError

__all__ = [
    "NU_BOUNDS",
    "XI_BOUNDS",
    "SkewedGED",
    "lambda_to_xi",
    "sged_cdf",
    "sged_logpdf",
    "sged_moments",
    "sged_partial_moment",
    "sged_pdf",
    "sged_ppf",
    "sged_rvs",
    "xi_to_lambda",
]

FloatArray = NDArray[np.float64]
FloatOrArray = float | FloatArray
Seed = int | Generator | None

NU_BOUNDS: Final[tuple[float, float]] = (0.5, 50.0)
"""Optimiser bounds of the shape ``nu`` (see :class:`SkewedGED`)."""

XI_BOUNDS: Final[tuple[float, float]] = (0.1, 10.0)
"""Optimiser bounds of the skew ``xi`` (see :class:`SkewedGED`)."""

_LOG2: Final[float] = math.log(2.0)


# ----------------------------------------------------------------------------
# Parameter checks and constants
# ----------------------------------------------------------------------------
def _check_shape_skew(nu: float, xi: float) -> tuple[float, float]:
    """Return ``(nu, xi)`` as floats or raise :class:`ConfigError`."""
    out = []
    for key, value in (("nu", nu), ("xi", xi)):
        if np.ndim(value) != 0:
            raise ConfigError(f"{key} must be a scalar, got shape {np.shape(value)}")
        v = float(value)
        if not (math.isfinite(v) and v > 0.0):
            raise ConfigError(f"{key} must be a finite number > 0, got {value!r}")
        out.append(v)
    return out[0], out[1]


def _check_order(n: int) -> int:
    """Return the moment order ``n`` as an int or raise :class:`ConfigError`."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"moment order n must be an integer >= 0, got {n!r}")
    return int(n)


def _log_lam(nu: float) -> float:
    r"""Log of the unit-variance GED scale :math:`\lambda`."""
    return 0.5 * (-2.0 / nu * _LOG2 + gammaln(1.0 / nu) - gammaln(3.0 / nu))


def _abs_moment(k: int, nu: float, log_lam: float) -> float:
    r"""Absolute moment :math:`A_k = E|Y|^k` of the unit-variance GED.

    :math:`A_k = \lambda^k 2^{k/\nu}\Gamma((k+1)/\nu)/\Gamma(1/\nu)`
    (substitute :math:`t = \tfrac12 (y/\lambda)^\nu` in
    :math:`2\int_0^\infty y^k f(y)\,dy`).
    """
    return math.exp(k * log_lam + k * _LOG2 / nu + gammaln((k + 1.0) / nu) - gammaln(1.0 / nu))


def _loc_scale(nu: float, xi: float, log_lam: float) -> tuple[float, float]:
    r"""Mean :math:`m` and standard deviation :math:`s` of the skewed GED g.

    With :math:`E X^k = A_k(\xi^{k+1} + (-1)^k\xi^{-(k+1)})/(\xi + \xi^{-1})`,
    :math:`m = M_1(\xi - \xi^{-1})` and
    :math:`s^2 = E X^2 - m^2 = (1 - M_1^2)(\xi^2 + \xi^{-2}) + 2M_1^2 - 1`.
    """
    m1 = _abs_moment(1, nu, log_lam)
    m = m1 * (xi - 1.0 / xi)
    s2 = (1.0 - m1 * m1) * (xi * xi + 1.0 / (xi * xi)) + 2.0 * m1 * m1 - 1.0
    return m, math.sqrt(s2)


def _log_norm_const(nu: float, xi: float, log_lam: float, s: float) -> float:
    r"""Log of the constant in front of the exponential in :math:`h`.

    :math:`\ln s + \ln\frac{2}{\xi+\xi^{-1}} + \ln\nu - \ln\lambda
    - (1 + 1/\nu)\ln 2 - \ln\Gamma(1/\nu)`.
    """
    return (
        math.log(s)
        + math.log(2.0 / (xi + 1.0 / xi))
        + math.log(nu)
        - log_lam
        - (1.0 + 1.0 / nu) * _LOG2
        - gammaln(1.0 / nu)
    )


def _scalar_out(values: FloatArray) -> FloatOrArray:
    """Return a numpy scalar for 0-d results and the array otherwise."""
    out: FloatOrArray = values[()]
    return out


# ----------------------------------------------------------------------------
# Density, cdf, quantile function
# ----------------------------------------------------------------------------
def _logpdf_core(z: FloatArray, nu: float, xi: float) -> FloatArray:
    """Log density of the standardised SGED without argument checks."""
    log_lam = _log_lam(nu)
    lam = math.exp(log_lam)
    m, s = _loc_scale(nu, xi, log_lam)
    const = _log_norm_const(nu, xi, log_lam, s)
    x = s * z + m
    # x / (xi lam) on the right of the mode, x xi / lam on its left.
    factor = np.where(x >= 0.0, 1.0 / (xi * lam), xi / lam)
    result: FloatArray = const - 0.5 * np.abs(x * factor) ** nu
    return result


def sged_logpdf(z: ArrayLike, nu: float, xi: float) -> FloatOrArray:
    r"""Log density of the standardised skewed GED.

    Parameters
    ----------
    z : array_like
        Points (standardised units: mean 0, variance 1).
    nu : float
        Shape, :math:`\nu > 0` (2 normal, 1 Laplace, < 2 fat tails).
    xi : float
        Fernandez-Steel skew, :math:`\xi > 0` (1 symmetric, > 1 right skew).

    Returns
    -------
    float or ndarray
        :math:`\ln h(z)`, same shape as ``z``.

    Notes
    -----
    With :math:`x = sz + m` and :math:`\lambda, m, s` as in the module
    docstring,

    .. math::

        \ln h(z) = \ln s + \ln\frac{2}{\xi + \xi^{-1}} + \ln\nu - \ln\lambda
                   - (1 + \tfrac1\nu)\ln 2 - \ln\Gamma(\tfrac1\nu)
                   - \tfrac12\left|\frac{x}{\lambda\,\xi^{\operatorname{sign}(x)}}
                     \right|^{\nu}.

    This is fGarch's ``dsged`` (Wuertz et al., ``dist-sged.R``): there
    ``z = x*sigma + mu``, ``Xi = xi^sign(z)`` and the density is
    ``2/(xi + 1/xi) * dged(z/Xi, nu) * sigma`` with ``dged`` the unit-variance
    GED :math:`f` and ``mu``, ``sigma`` the :math:`m`, :math:`s` above.

    Raises
    ------
    ConfigError
        If ``nu`` or ``xi`` is not a finite positive scalar.
    """
    nu, xi = _check_shape_skew(nu, xi)
    return _scalar_out(_logpdf_core(np.asarray(z, dtype=float), nu, xi))


def sged_pdf(z: ArrayLike, nu: float, xi: float) -> FloatOrArray:
    r"""Density :math:`h(z) = s\,g(sz + m)` of the standardised skewed GED.

    Parameters
    ----------
    z : array_like
        Points (standardised units).
    nu, xi : float
        Shape and skew, both > 0 (see :func:`sged_logpdf`).

    Returns
    -------
    float or ndarray
        Density values, same shape as ``z``.
    """
    nu, xi = _check_shape_skew(nu, xi)
    return _scalar_out(np.exp(_logpdf_core(np.asarray(z, dtype=float), nu, xi)))


def sged_cdf(z: ArrayLike, nu: float, xi: float) -> FloatOrArray:
    r"""Cumulative distribution function of the standardised skewed GED.

    Parameters
    ----------
    z : array_like
        Points (standardised units).
    nu, xi : float
        Shape and skew, both > 0.

    Returns
    -------
    float or ndarray
        :math:`H(z) = P(Z \le z)`, same shape as ``z``.

    Notes
    -----
    The unit-variance GED has
    :math:`P(|Y| \le y) = P\!\left(\tfrac1\nu, \tfrac12 (y/\lambda)^\nu\right)`
    with :math:`P(a, x)` the regularised lower incomplete gamma function
    (``scipy.special.gammainc``) and :math:`Q = 1 - P` (``gammaincc``).
    Integrating the two halves of :math:`g` gives, with :math:`x = sz + m`,

    .. math::

        H(z) = \begin{cases}
            \dfrac{1}{1+\xi^2}\,
            Q\!\left(\tfrac1\nu, \tfrac12\left(\tfrac{|x|\xi}{\lambda}\right)^{\nu}
            \right) & x < 0,\\[2ex]
            \dfrac{1}{1+\xi^2} + \dfrac{\xi^2}{1+\xi^2}\,
            P\!\left(\tfrac1\nu, \tfrac12\left(\tfrac{x}{\xi\lambda}\right)^{\nu}
            \right) & x \ge 0,
        \end{cases}

    where :math:`1/(1+\xi^2)` is the mass left of the mode.
    """
    nu, xi = _check_shape_skew(nu, xi)
    zz = np.asarray(z, dtype=float)
    log_lam = _log_lam(nu)
    lam = math.exp(log_lam)
    m, s = _loc_scale(nu, xi, log_lam)
    x = s * zz + m
    a = 1.0 / nu
    p_left = 1.0 / (1.0 + xi * xi)
    neg = x < 0.0
    t = np.where(neg, np.abs(x) * xi / lam, x / (xi * lam))
    t = 0.5 * t**nu
    out = np.where(
        neg,
        p_left * gammaincc(a, t),
        p_left + (1.0 - p_left) * gammainc(a, t),
    )
    out = np.where(np.isnan(zz), np.nan, out)
    return _scalar_out(np.asarray(out, dtype=float))


def _inverse_upper_tail(a: float, q: FloatArray) -> FloatArray:
    r"""Solve :math:`Q(a, t) = q` for :math:`t`, accurately for any ``q``.

    ``gammainccinv`` is used for :math:`q < 1/2` and ``gammaincinv`` of
    :math:`1 - q` otherwise, so both ends keep their relative precision.
    """
    small = q < 0.5
    t = np.empty_like(q)
    t[small] = gammainccinv(a, q[small])
    t[~small] = gammaincinv(a, 1.0 - q[~small])
    return t


def sged_ppf(u: ArrayLike, nu: float, xi: float) -> FloatOrArray:
    r"""Quantile function (inverse cdf) of the standardised skewed GED.

    Parameters
    ----------
    u : array_like
        Probabilities in [0, 1] (0 maps to -inf, 1 to +inf, others to nan).
    nu, xi : float
        Shape and skew, both > 0.

    Returns
    -------
    float or ndarray
        :math:`H^{-1}(u)`, same shape as ``u``.

    Notes
    -----
    Inverting :func:`sged_cdf` branch by branch, with
    :math:`p_0 = 1/(1+\xi^2)` the mass left of the mode and
    :math:`Q^{-1}(a, \cdot)` the inverse of the regularised upper incomplete
    gamma function in its second argument,

    .. math::

        x = \begin{cases}
          -\dfrac{\lambda}{\xi}\left[2\,Q^{-1}\!\left(\tfrac1\nu,
              u(1+\xi^2)\right)\right]^{1/\nu} & u < p_0,\\[2ex]
          \xi\lambda\left[2\,Q^{-1}\!\left(\tfrac1\nu,
              (1-u)\tfrac{1+\xi^2}{\xi^2}\right)\right]^{1/\nu} & u \ge p_0,
        \end{cases}
        \qquad z = (x - m)/s.
    """
    nu, xi = _check_shape_skew(nu, xi)
    uu = np.asarray(u, dtype=float)
    shape = uu.shape
    flat = uu.ravel()
    log_lam = _log_lam(nu)
    lam = math.exp(log_lam)
    m, s = _loc_scale(nu, xi, log_lam)
    a = 1.0 / nu
    p_left = 1.0 / (1.0 + xi * xi)

    x = np.full(flat.shape, np.nan)
    valid = (flat >= 0.0) & (flat <= 1.0)
    left = valid & (flat < p_left)
    right = valid & ~left
    if left.any():
        t = _inverse_upper_tail(a, flat[left] * (1.0 + xi * xi))
        x[left] = -(lam / xi) * (2.0 * t) ** (1.0 / nu)
    if right.any():
        q = (1.0 - flat[right]) * (1.0 + xi * xi) / (xi * xi)
        t = _inverse_upper_tail(a, np.minimum(q, 1.0))
        x[right] = xi * lam * (2.0 * t) ** (1.0 / nu)
    z = ((x - m) / s).reshape(shape)
    return _scalar_out(z)


# ----------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------
def _draw(
    nu: float,
    xi: float,
    size: int | tuple[int, ...],
    generator: Generator | RandomState,
) -> FloatArray:
    """Exact SGED draws from an already built NumPy generator."""
    log_lam = _log_lam(nu)
    lam = math.exp(log_lam)
    m, s = _loc_scale(nu, xi, log_lam)
    gam = generator.standard_gamma(1.0 / nu, size)
    if isinstance(generator, Generator):
        uniforms = generator.random(size)
    else:
        uniforms = generator.random_sample(size)
    y = lam * (2.0 * gam) ** (1.0 / nu)
    x = np.where(uniforms < xi * xi / (1.0 + xi * xi), xi * y, -y / xi)
    draws: FloatArray = np.asarray((x - m) / s, dtype=float)
    return draws


def sged_rvs(
    nu: float,
    xi: float,
    size: int | tuple[int, ...],
    *,
    seed: Seed = None,
) -> FloatArray:
    r"""Exact draws from the standardised skewed GED.

    Parameters
    ----------
    nu, xi : float
        Shape and skew, both > 0.
    size : int or tuple of int
        Output shape.
    seed : int, numpy.random.Generator or None, keyword-only
        Seed or generator; the same seed gives the same draws.

    Returns
    -------
    ndarray
        Draws with mean 0 and variance 1.

    Notes
    -----
    If :math:`G \sim \mathrm{Gamma}(1/\nu, 1)` then
    :math:`|Y| = \lambda (2G)^{1/\nu}` is the absolute value of a
    unit-variance GED variable (since :math:`\tfrac12|Y/\lambda|^\nu \sim G`).
    The skewed variable is :math:`X = \xi|Y|` with probability
    :math:`\xi^2/(1+\xi^2)` (the mass of :math:`g` on the right) and
    :math:`X = -|Y|/\xi` otherwise; finally :math:`Z = (X - m)/s`.
    """
    nu, xi = _check_shape_skew(nu, xi)
    if isinstance(seed, Generator):
        generator = seed
    elif seed is None or isinstance(seed, (int, np.integer)):
        generator = np.random.default_rng(seed)
    else:
        raise ConfigError(f"seed must be an int, a numpy.random.Generator or None, got {type(seed)!r}")
    return _draw(nu, xi, size, generator)


# ----------------------------------------------------------------------------
# Moments
# ----------------------------------------------------------------------------
def _raw_moments_g(nmax: int, nu: float, xi: float, log_lam: float) -> list[float]:
    r"""Raw moments :math:`E X^k`, :math:`k = 0..n_{max}`, of the skewed GED g.

    :math:`E X^k = A_k\,\dfrac{\xi^{k+1} + (-1)^k \xi^{-(k+1)}}{\xi + \xi^{-1}}`.
    """
    denom = xi + 1.0 / xi
    return [
        _abs_moment(k, nu, log_lam) * (xi ** (k + 1) + (-1.0) ** k * xi ** (-(k + 1))) / denom for k in range(nmax + 1)
    ]


def _standardised_moment(n: int, nu: float, xi: float) -> float:
    r""":math:`E Z^n = s^{-n}\sum_k \binom{n}{k}(-m)^{n-k} E X^k`."""
    log_lam = _log_lam(nu)
    m, s = _loc_scale(nu, xi, log_lam)
    raw = _raw_moments_g(n, nu, xi, log_lam)
    total = sum(math.comb(n, k) * (-m) ** (n - k) * raw[k] for k in range(n + 1))
    return float(total / s**n)


def sged_moments(nu: float, xi: float) -> tuple[float, float, float, float]:
    r"""Mean, variance, skewness and excess kurtosis of the standardised SGED.

    Parameters
    ----------
    nu, xi : float
        Shape and skew, both > 0.

    Returns
    -------
    mean, variance, skewness, excess_kurtosis : float
        Mean and variance are 0 and 1 up to rounding (computed, not assumed,
        so they check the constants :math:`m` and :math:`s`).

    Notes
    -----
    From the absolute moments of the unit-variance GED,
    :math:`A_k = \lambda^k 2^{k/\nu}\Gamma(\tfrac{k+1}\nu)/\Gamma(\tfrac1\nu)`,
    the skewed variable has
    :math:`E X^k = A_k(\xi^{k+1} + (-1)^k\xi^{-(k+1)})/(\xi + \xi^{-1})`
    and :math:`E Z^n = s^{-n}\sum_{k=0}^n\binom nk (-m)^{n-k}E X^k`.
    Skewness is :math:`E Z^3` and excess kurtosis :math:`E Z^4 - 3`.
    The sign of the skewness is that of :math:`\ln\xi`; its size need not
    grow monotonically with :math:`|\ln\xi|` when :math:`\nu` is small
    (for :math:`\nu = 0.5` it peaks at 4.37 near :math:`\xi = 3`, then falls
    to its one-sided limit 4.30).
    """
    nu, xi = _check_shape_skew(nu, xi)
    mean = _standardised_moment(1, nu, xi)
    second = _standardised_moment(2, nu, xi)
    third = _standardised_moment(3, nu, xi)
    fourth = _standardised_moment(4, nu, xi)
    return mean, second - mean * mean, third, fourth - 3.0


def sged_partial_moment(n: int, z: ArrayLike, nu: float, xi: float) -> FloatOrArray:
    r"""Lower partial moment :math:`\int_{-\infty}^{z} t^n h(t)\,dt`.

    Parameters
    ----------
    n : int
        Order, >= 0 (``n = 0`` gives the cdf).
    z : array_like
        Upper limits (standardised units; +inf gives the full moment).
    nu, xi : float
        Shape and skew, both > 0.

    Returns
    -------
    float or ndarray
        Partial moments, same shape as ``z``.

    Notes
    -----
    Substituting :math:`x = st + m` and expanding
    :math:`t^n = s^{-n}\sum_k\binom nk x^k(-m)^{n-k}` reduces the integral
    to the lower partial moments :math:`L_k(b) = \int_{-\infty}^b x^k g(x)\,dx`
    at :math:`b = sz + m`, which follow from the incomplete gamma function:

    .. math::

        L_k(b) = \begin{cases}
          (-1)^k\dfrac{A_k\,\xi^{-(k+1)}}{\xi+\xi^{-1}}\,
          Q\!\left(\tfrac{k+1}\nu, \tfrac12\left(\tfrac{|b|\xi}{\lambda}\right)^\nu
          \right) & b < 0,\\[2ex]
          (-1)^k\dfrac{A_k\,\xi^{-(k+1)}}{\xi+\xi^{-1}} +
          \dfrac{A_k\,\xi^{k+1}}{\xi+\xi^{-1}}\,
          P\!\left(\tfrac{k+1}\nu, \tfrac12\left(\tfrac{b}{\xi\lambda}\right)^\nu
          \right) & b \ge 0.
        \end{cases}

    Raises
    ------
    ConfigError
        If ``n`` is not a non-negative integer or ``nu``/``xi`` are invalid.
    """
    n = _check_order(n)
    nu, xi = _check_shape_skew(nu, xi)
    zz = np.asarray(z, dtype=float)
    log_lam = _log_lam(nu)
    lam = math.exp(log_lam)
    m, s = _loc_scale(nu, xi, log_lam)
    b = s * zz + m
    neg = b < 0.0
    t = np.where(neg, np.abs(b) * xi / lam, b / (xi * lam))
    t = 0.5 * t**nu
    denom = xi + 1.0 / xi
    total = np.zeros_like(zz)
    for k in range(n + 1):
        ak = _abs_moment(k, nu, log_lam)
        left_mass = (-1.0) ** k * ak * xi ** (-(k + 1)) / denom
        right_mass = ak * xi ** (k + 1) / denom
        a = (k + 1.0) / nu
        lk = np.where(
            neg,
            left_mass * gammaincc(a, t),
            left_mass + right_mass * gammainc(a, t),
        )
        total = total + math.comb(n, k) * (-m) ** (n - k) * lk
    total = np.where(np.isnan(zz), np.nan, total / s**n)
    return _scalar_out(np.asarray(total, dtype=float))


# ----------------------------------------------------------------------------
# Skew parameterisations
# ----------------------------------------------------------------------------
def xi_to_lambda(xi: ArrayLike) -> FloatOrArray:
    r"""Map the Fernandez-Steel skew :math:`\xi > 0` to :math:`(-1, 1)`.

    Parameters
    ----------
    xi : array_like
        Skew parameter(s), > 0.

    Returns
    -------
    float or ndarray
        :math:`\lambda = (\xi^2 - 1)/(\xi^2 + 1)`.

    Notes
    -----
    :math:`\lambda = P(X > \text{mode}) - P(X < \text{mode})`, the same
    meaning as the skew :math:`\lambda` of Hansen's skewed t in
    ``arch.univariate.SkewStudent`` (a two-piece law whose left and right
    scales are proportional to :math:`1 - \lambda` and :math:`1 + \lambda`;
    here they are :math:`\xi^{-1}` and :math:`\xi`, whose ratio
    :math:`\xi^2 = (1+\lambda)/(1-\lambda)`).
    """
    x = np.asarray(xi, dtype=float)
    if np.any(~(x > 0.0)) or np.any(~np.isfinite(x)):
        raise ConfigError(f"xi must be finite and > 0, got {xi!r}")
    x2 = x * x
    return _scalar_out(np.asarray((x2 - 1.0) / (x2 + 1.0)))


def lambda_to_xi(lam: ArrayLike) -> FloatOrArray:
    r"""Inverse of :func:`xi_to_lambda`: :math:`\xi = \sqrt{(1+\lambda)/(1-\lambda)}`.

    Parameters
    ----------
    lam : array_like
        Skew(s) in the open interval (-1, 1).

    Returns
    -------
    float or ndarray
        Fernandez-Steel skew :math:`\xi > 0`.
    """
    x = np.asarray(lam, dtype=float)
    if np.any(~(np.abs(x) < 1.0)):
        raise ConfigError(f"lambda must lie in (-1, 1), got {lam!r}")
    return _scalar_out(np.asarray(np.sqrt((1.0 + x) / (1.0 - x))))


# ----------------------------------------------------------------------------
# arch Distribution
# ----------------------------------------------------------------------------
class SkewedGED(Distribution):
    r"""Standardised skewed GED innovations for ``arch`` models.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.RandomState or None
        Keyword-only.  Generator used by :meth:`simulate` (and so by
        ``arch``'s ``simulate`` and ``forecast(method="simulation")``); an int
        is passed to ``numpy.random.default_rng``.

    Notes
    -----
    Parameters are ``nu`` (shape) and ``xi`` (Fernandez-Steel skew), as in
    fGarch/rugarch's ``sged``.  The log-likelihood of a residual
    :math:`\epsilon` with conditional variance :math:`\sigma^2` is
    :math:`\ln h(\epsilon/\sigma) - \tfrac12\ln\sigma^2`, with :math:`h` as in
    :func:`sged_logpdf`.

    Optimiser bounds:

    * ``nu`` in [0.5, 50].  The density has a kink (:math:`\nu = 1`) or a
      cusp (:math:`\nu < 1`) at its mode, and the mode moves with every
      parameter (through :math:`m` and :math:`s`, and through the conditional
      mean and variance of the model), so the score contains
      :math:`|x|^{\nu-1}` near the mode.
      Its square is integrable only for :math:`\nu > 1/2`: below that the
      Fisher information is infinite and the usual standard errors mean
      nothing.  At :math:`\nu = 0.5` the excess kurtosis is already 22.2.
      Above 50 the GED is within a hair of its uniform limit
      (:math:`\nu \to \infty`) and the likelihood is flat in ``nu``.
    * ``xi`` in [0.1, 10], symmetric in :math:`\ln\xi` because
      :math:`\xi \to 1/\xi` mirrors the law.  At the edges 99% of the mass
      lies on one side of the mode and the skewness is within 2% of its
      one-sided (:math:`\xi \to \infty`) limit for every ``nu`` in bounds,
      so data cannot tell larger skews apart.

    ``arch``'s EGARCH centres :math:`|z_t|` with the normal value
    :math:`\sqrt{2/\pi}`; with SGED innovations that only shifts the
    EGARCH intercept :math:`\omega` by :math:`\alpha(E|z| - \sqrt{2/\pi})`.
    Likewise ``arch``'s analytic GJR forecasts weight :math:`\gamma` by 1/2;
    the asymmetric loading is :math:`E[z^2 1(z<0)]` =
    ``partial_moment(2, 0.0, params)``, which its simulation forecasts
    (drawing from this class) do follow.

    Standard errors: ``arch`` derives them from a numerical Hessian of the
    log-likelihood.  Near the mode the second derivative of :math:`\ln h`
    behaves like :math:`|x|^{\nu-2}`, which is not integrable for
    :math:`\nu \le 1`, so Hessian-based ("classic" and "robust") standard
    errors are unreliable there even though the estimates themselves are
    fine; use outer-product-of-gradients or bootstrap standard errors in that
    region.  For :math:`\nu` well above 1
    (1.4 in the tests) the Hessian-based errors are calibrated.
    """

    def __init__(self, *, seed: int | Generator | RandomState | None = None) -> None:
        super().__init__(seed=seed)
        self._name = "Skewed GED"
        self.num_params: int = 2

    # -- structure ------------------------------------------------------------
    def parameter_names(self) -> list[str]:
        """Names of the shape parameters, ``["nu", "xi"]``."""
        return ["nu", "xi"]

    def bounds(self, resids: ArrayLike) -> list[tuple[float, float]]:
        """Optimiser bounds ``[NU_BOUNDS, XI_BOUNDS]`` (see the class notes).

        Parameters
        ----------
        resids : array_like
            Standardised residuals (unused; the bounds are fixed).

        Returns
        -------
        list of tuple
            ``[(0.5, 50.0), (0.1, 10.0)]``.
        """
        return [NU_BOUNDS, XI_BOUNDS]

    def constraints(self) -> tuple[FloatArray, FloatArray]:
        r"""Linear inequality constraints :math:`A\theta - b \ge 0`.

        Returns
        -------
        A : ndarray, shape (4, 2)
            Loadings on ``(nu, xi)``.
        b : ndarray, shape (4,)
            The bounds, so that both parameters stay inside :meth:`bounds`.
        """
        a = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
        b = np.array([NU_BOUNDS[0], -NU_BOUNDS[1], XI_BOUNDS[0], -XI_BOUNDS[1]])
        return a, b

    def starting_values(self, std_resid: ArrayLike) -> FloatArray:
        r"""Data-driven starting values from a coarse likelihood grid.

        Parameters
        ----------
        std_resid : array_like
            Standardised residuals at the starting values of the other model
            parts.

        Returns
        -------
        ndarray
            ``[nu, xi]`` maximising the SGED log-likelihood of
            ``(std_resid - mean) / std`` over
            :math:`\nu \in \{0.8, 1, 1.2, 1.5, 2, 3\}`,
            :math:`\xi \in \{0.7, 0.85, 1, 1.15, 1.4\}`; ``[1.5, 1.0]`` when
            there are fewer than 10 finite residuals.
        """
        r = np.asarray(std_resid, dtype=float).ravel()
        r = r[np.isfinite(r)]
        if r.size < 10 or not r.std() > 0.0:
            return np.array([1.5, 1.0])
        z = (r - r.mean()) / r.std()
        best = (-np.inf, 1.5, 1.0)
        for nu in (0.8, 1.0, 1.2, 1.5, 2.0, 3.0):
            for xi in (0.7, 0.85, 1.0, 1.15, 1.4):
                ll = float(np.sum(_logpdf_core(z, nu, xi)))
                if ll > best[0]:
                    best = (ll, nu, xi)
        return np.array([best[1], best[2]])

    def _check_constraints(self, parameters: Sequence[float] | ArrayLike | None) -> FloatArray:
        """Return the parameters as an array after checking count and bounds.

        Raises
        ------
        ConfigError
            If ``parameters`` is None, has the wrong length or lies outside
            :meth:`bounds` (a ``ValueError``, like ``arch``'s own check).
        """
        if parameters is None:
            raise ConfigError("parameters must have 2 elements (nu, xi), got None")
        params = np.asarray(parameters, dtype=float).ravel()
        if params.shape[0] != 2:
            raise ConfigError(f"parameters must have 2 elements (nu, xi), got {params.shape[0]}")
        for name, value, (lo, hi) in zip(self.parameter_names(), params, self.bounds(np.empty(0)), strict=True):
            if not (lo <= value <= hi):
                raise ConfigError(f"{name} does not satisfy the bounds requirement of ({lo}, {hi}), got {value}")
        return params

    # -- likelihood -------------------------------------------------------------
    def loglikelihood(
        self,
        parameters: Sequence[float] | ArrayLike,
        resids: ArrayLike,
        sigma2: ArrayLike,
        individual: bool = False,
    ) -> FloatOrArray:
        r"""SGED log-likelihood of residuals given their conditional variances.

        Parameters
        ----------
        parameters : array_like
            ``[nu, xi]``.
        resids : ndarray
            Residuals :math:`\epsilon_t`.
        sigma2 : ndarray
            Conditional variances :math:`\sigma^2_t`.
        individual : bool
            Return the vector of per-observation terms instead of their sum.

        Returns
        -------
        float or ndarray
            :math:`\sum_t \ln h(\epsilon_t/\sigma_t) - \tfrac12\ln\sigma^2_t`
            (or its terms).  Outside :math:`\nu, \xi > 0` the likelihood is
            zero, so ``-inf`` is returned instead of raising on the
            optimiser's path.

        Notes
        -----
        With :math:`x_t = s\,\epsilon_t/\sigma_t + m`,

        .. math::

            \ell_t = C(\nu, \xi) - \tfrac12\ln\sigma^2_t
                     - \tfrac12\left|\frac{x_t}{\lambda\,
                     \xi^{\operatorname{sign}(x_t)}}\right|^{\nu},

        where :math:`C = \ln s + \ln\frac{2}{\xi+\xi^{-1}} + \ln\nu - \ln\lambda
        - (1+\frac1\nu)\ln 2 - \ln\Gamma(\frac1\nu)` is computed once per call.
        """
        p = np.asarray(parameters, dtype=float).ravel()
        nu, xi = float(p[0]), float(p[1])
        e = np.asarray(resids, dtype=float)
        s2 = np.asarray(sigma2, dtype=float)
        if not (nu > 0.0 and xi > 0.0 and math.isfinite(nu) and math.isfinite(xi)):
            lls = np.full(np.broadcast(e, s2).shape, -np.inf)
        else:
            lls = _logpdf_core(e / np.sqrt(s2), nu, xi) - 0.5 * np.log(s2)
        if individual:
            return lls
        return float(np.sum(lls))

    # -- simulation ---------------------------------------------------------------
    def _simulator(self, size: int | tuple[int, ...]) -> FloatArray:
        """Draw from the law fixed by the last call to :meth:`simulate`."""
        if self._parameters is None:
            raise ConfigError("call simulate(parameters) before drawing")
        nu, xi = float(self._parameters[0]), float(self._parameters[1])
        return _draw(nu, xi, size, self._generator)

    def simulate(
        self, parameters: float | Sequence[float] | ArrayLike
    ) -> Callable[[int | tuple[int, ...]], FloatArray]:
        """Fix the parameters and return a sampler ``size -> draws``.

        Parameters
        ----------
        parameters : array_like
            ``[nu, xi]`` inside :meth:`bounds`.

        Returns
        -------
        callable
            Takes ``size`` (int or tuple) and returns exact standardised SGED
            draws from the instance's generator (see :func:`sged_rvs`).
        """
        self._parameters = self._check_constraints(parameters)
        return self._simulator

    # -- distribution functions ---------------------------------------------------
    def cdf(
        self,
        resids: Sequence[float] | ArrayLike,
        parameters: Sequence[float] | ArrayLike | None = None,
    ) -> FloatOrArray:
        """Cumulative distribution function (see :func:`sged_cdf`).

        Parameters
        ----------
        resids : array_like
            Standardised values.
        parameters : array_like
            ``[nu, xi]``.

        Returns
        -------
        float or ndarray
            CDF values, same shape as ``resids``.
        """
        nu, xi = self._check_constraints(parameters)
        return sged_cdf(resids, nu, xi)

    def ppf(
        self,
        pits: float | Sequence[float] | ArrayLike,
        parameters: Sequence[float] | ArrayLike | None = None,
    ) -> FloatOrArray:
        """Inverse cdf (see :func:`sged_ppf`).

        Parameters
        ----------
        pits : float or array_like
            Probabilities in [0, 1].
        parameters : array_like
            ``[nu, xi]``.

        Returns
        -------
        float or ndarray
            Quantiles, same shape as ``pits``.
        """
        nu, xi = self._check_constraints(parameters)
        return sged_ppf(pits, nu, xi)

    def moment(self, n: int, parameters: Sequence[float] | ArrayLike | None = None) -> float:
        r"""Raw moment :math:`E Z^n` (nan for ``n < 0``, as in ``arch``).

        Parameters
        ----------
        n : int
            Order.
        parameters : array_like
            ``[nu, xi]``.

        Returns
        -------
        float
            :math:`s^{-n}\sum_k\binom nk(-m)^{n-k}E X^k` (see
            :func:`sged_moments`).
        """
        if n < 0:
            return float("nan")
        nu, xi = self._check_constraints(parameters)
        return _standardised_moment(_check_order(n), nu, xi)

    def partial_moment(
        self,
        n: int,
        z: float = 0.0,
        parameters: Sequence[float] | ArrayLike | None = None,
    ) -> float:
        r"""Lower partial moment :math:`\int_{-\infty}^z t^n h(t)\,dt`.

        Parameters
        ----------
        n : int
            Order (nan for ``n < 0``, as in ``arch``).
        z : float
            Upper limit.
        parameters : array_like
            ``[nu, xi]``.

        Returns
        -------
        float
            See :func:`sged_partial_moment`; e.g. ``partial_moment(2, 0.0, p)``
            is :math:`E[z^2 1(z<0)]`, the GJR asymmetry loading.
        """
        if n < 0:
            return float("nan")
        nu, xi = self._check_constraints(parameters)
        return float(sged_partial_moment(n, z, nu, xi))
