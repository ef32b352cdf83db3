r"""PIT of ensemble forecasts and its uniformity tests.

The PIT of an ensemble forecast is its (weighted) empirical distribution
function at the outcome, :math:`u = F(y)` (:func:`volresearch.quantiles.empirical_cdf`),
the distribution function whose generalised inverse gives the ensemble's
quantiles (:func:`~volresearch.validate.coverage.ensemble_quantiles`): an
outcome is below the ensemble's ``q``-quantile exactly when its PIT is below
``q``.  Uniformity is tested with Anderson-Darling (fully specified U(0,1),
Marsaglia & Marsaglia 2004 p-value), Kolmogorov-Smirnov and a histogram
chi-square, with a diagnosis of the shape.  For an ensemble of ``N``
members the PIT takes the values ``k/N``; :func:`pit_uniformity` then tests
the centres :math:`(N u + 1/2)/(N + 1)` of the rank cells, which are
uniform on a grid for a calibrated ensemble and never 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from volresearch._util import jsonable
from volresearch.errors import DataError
from volresearch.validate._common import SeedLike, _array, _ensembles_and_obs, _rng, _weights

__all__ = ["PITUniformity", "pit", "pit_on_grid", "anderson_darling_uniform", "pit_uniformity", "ensemble_size"]


def pit(
    ensembles: ArrayLike,
    observations: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    randomize_ties: bool = False,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Probability integral transform of each observation in its ensemble.

    :math:`u = F(y)`, the weighted share of members at or below the
    observation (:func:`volresearch.quantiles.empirical_cdf`).  With
    ``randomize_ties=True`` an observation equal to members (an atom of
    ``F``) is placed uniformly inside the jump:
    :math:`u = F(y^-) + V\,(F(y) - F(y^-))`, :math:`V \sim U(0,1)` from
    ``seed``; observations that tie with no member keep :math:`F(y)`.

    Consistency with interval coverage: ``y < Q(q)`` if and only if
    ``F(y) < q`` for the ensemble quantile ``Q``
    (:func:`~volresearch.validate.coverage.ensemble_quantiles`), so the share
    of outcomes below an ensemble's p5 is the share of PIT values below 0.05.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)`` (a 1-D ensemble with a scalar observation
        is one forecast).
    observations
        ``(n_forecasts,)`` realised values, same units as ``ensembles``.
    weights
        Optional member weights, ``(n_members,)`` or ``(n_forecasts, n_members)``.
    randomize_ties
        Spread observations that equal members over the jump of ``F``.
    seed
        Seed or ``numpy.random.Generator`` for ``randomize_ties``.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts,)`` PIT values in [0, 1]; pass the ensemble sizes
        (:func:`ensemble_size`) to :func:`pit_uniformity`.
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    p = _weights(weights, x.shape, normalise=False)
    below = x < y[:, None]
    at_or_below = x <= y[:, None]
    if p is None:
        lower = below.mean(axis=1)
        upper = at_or_below.mean(axis=1)
    else:
        # sums of the weights as given, in one order: an outcome above every member gets exactly 1
        pb = np.broadcast_to(p, x.shape)
        total = pb.sum(axis=1)
        lower = (pb * below).sum(axis=1) / total
        upper = (pb * at_or_below).sum(axis=1) / total
    if randomize_ties:
        u = lower + _rng(seed).random(x.shape[0]) * (upper - lower)
    else:
        u = upper
    return np.clip(u, 0.0, 1.0)


def pit_on_grid(
    ensembles: ArrayLike,
    observations: ArrayLike,
    origin_prices: ArrayLike,
    tick: float,
    *,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Randomised PIT of log returns whose prices are recorded on a tick grid.

    A recorded price is the latent price rounded to the grid, so the
    predictive distribution of the recorded price is discrete: each member's
    price :math:`P_0 e^{x}` is rounded to the nearest tick, the outcome
    :math:`P_0 e^{y}` likewise, and an outcome equal to members is spread
    over the jump of ``F`` (:func:`pit` with ``randomize_ties``; Czado,
    Gneiting & Held 2009).  A calibrated forecast of a discrete outcome then
    gives uniform PIT values, where the plain PIT of a continuous ensemble
    piles up at ``F(0)`` whenever the price did not move.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)`` log returns from the origin.
    observations
        ``(n_forecasts,)`` realised log returns.
    origin_prices
        ``(n_forecasts,)`` prices at the origins (price units, on the grid).
    tick
        Tick size (price units, > 0).
    seed
        Seed or ``numpy.random.Generator`` of the randomisation.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts,)`` PIT values in [0, 1].

    Raises
    ------
    DataError
        Non-positive tick or origin prices, or shapes that do not match.
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    p0 = np.asarray(origin_prices, dtype=np.float64).reshape(-1)
    if p0.shape != y.shape:
        raise DataError(f"{p0.size} origin prices for {y.size} forecasts", column="origin_prices", rule="shape")
    if not (math.isfinite(tick) and tick > 0) or not np.all(p0 > 0):
        raise DataError(
            f"tick ({tick!r}) and every origin price must be positive", column="origin_prices", rule="range"
        )
    members = np.rint(p0[:, None] * np.exp(x) / tick)
    outcome = np.rint(p0 * np.exp(y) / tick)
    return pit(members, outcome, randomize_ties=True, seed=seed)


def ensemble_size(ensembles: ArrayLike, *, weights: ArrayLike | None = None) -> np.ndarray:
    """Members with positive weight per forecast, ``(n_forecasts,)``: the ``N`` of the PIT grid ``k/N``."""
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    if x.ndim == 1:
        x = x[None, :]
    p = _weights(weights, x.shape)
    if p is None:
        return np.full(x.shape[0], float(x.shape[1]))
    return (np.broadcast_to(p, x.shape) > 0).sum(axis=1).astype(float)


def _ad_inf_tail(z: float) -> tuple[float, float]:
    """Asymptotic CDF ``x`` of the case-0 Anderson-Darling statistic and its upper tail ``1 - x``.

    Marsaglia & Marsaglia (2004), ``adinf``; for ``z >= 2`` the tail is taken
    with ``expm1`` so that small p-values keep their relative accuracy.
    """
    if z <= 0.0:
        return 0.0, 1.0
    if z < 2.0:
        x = (
            math.exp(-1.2337141 / z)
            / math.sqrt(z)
            * (2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
        )
        return x, 1.0 - x
    e = math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z)
    return math.exp(-e), -math.expm1(-e)


def _errfix_upper(x: float) -> float:
    return -130.2137 + (745.2337 - (1705.091 - (1950.646 - (1116.360 - 255.7844 * x) * x) * x) * x) * x


_ERRFIX_AT_ONE = _errfix_upper(1.0)  # -0.0006: rounding residue of the published coefficients


def _ad_errfix(n: int, x: float) -> float:
    """Finite-``n`` correction of the asymptotic CDF (Marsaglia & Marsaglia 2004, ``errfix``).

    For ``x > 0.8`` the published polynomial is shifted by the linear term
    ``-g(1) (x - 0.8) / 0.2`` (at most ``0.0006 / n``, inside the method's
    stated accuracy) so that the correction vanishes at ``x = 1``; unshifted
    it would floor every p-value at about ``0.0006 / n``.
    """
    if x > 0.8:
        return (_errfix_upper(x) - _ERRFIX_AT_ONE * (x - 0.8) / 0.2) / n
    c = 0.01265 + 0.1757 / n
    if x < c:
        t = x / c
        t = math.sqrt(t) * (1.0 - t) * (49.0 * t - 102.0)
        return t * (0.0037 / (n * n) + 0.00078 / n + 0.00006) / n
    t = (x - c) / (0.8 - c)
    t = -0.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * t) * t) * t) * t) * t
    return t * (0.04213 + 0.01365 / n) / n


# slope of the shifted upper correction at x = 1: g'(1) - g(1) / 0.2
_ERRFIX_SLOPE_AT_ONE = (745.2337 - 2 * 1705.091 + 3 * 1950.646 - 4 * 1116.360 + 5 * 255.7844) - _ERRFIX_AT_ONE / 0.2


def _ad_sf(n: int, z: float) -> float:
    """``P(A^2_n > z)`` for ``n`` iid U(0,1) points (Marsaglia & Marsaglia 2004, ``AD``)."""
    x, tail = _ad_inf_tail(z)
    if tail < 1e-9:
        # far tail: the correction is linear in the tail, -slope * tail / n; evaluating the
        # polynomial at x = 1 - tail would only return its rounding error
        return tail * (1.0 + _ERRFIX_SLOPE_AT_ONE / n)
    return min(1.0, max(0.0, tail - _ad_errfix(n, x)))


def _ad_cdf(n: int, z: float) -> float:
    """``P(A^2_n <= z)``."""
    return 1.0 - _ad_sf(n, z)


def anderson_darling_uniform(u: ArrayLike) -> tuple[float, float]:
    r"""Anderson-Darling test of a fully specified U(0, 1) ("case 0").

    .. math::

       A^2 = -n - \frac1n \sum_{i=1}^n (2i-1)
             \left[\ln u_{(i)} + \ln\left(1 - u_{(n+1-i)}\right)\right]

    No parameter is estimated, so the null distribution is that of the
    classical case-0 statistic; its CDF is computed with the asymptotic series
    and finite-``n`` correction of Marsaglia & Marsaglia (2004, *J. Stat.
    Softw.* 9(2)), accurate to about 5 decimals for every ``n`` (see
    :func:`_ad_errfix` for the one adjustment made to the published code).
    (``scipy.stats.anderson`` estimates parameters of other families and does
    not cover this case; ``scipy.stats.goodness_of_fit`` gives the same
    statistic with a Monte Carlo p-value.)  Values are clipped to
    :math:`[2^{-1074}, 1 - 2^{-53}]` so that a PIT of exactly 0 or 1 (a closed
    form CDF saturating in floating point) gives a huge but finite statistic.

    Returns
    -------
    (statistic, pvalue)
        :math:`A^2` and :math:`P(A^2_n \ge A^2)` under U(0, 1).
    """
    x = _array(u, "pits", ndim=1)
    n = x.size
    if n < 2:
        raise DataError(f"pits needs at least 2 values, got {n}", column="pits", rule="shape")
    if np.any((x < 0) | (x > 1)):
        raise DataError("pits must lie in [0, 1]", column="pits", rule="range")
    xs = np.sort(np.clip(x, np.nextafter(0.0, 1.0), 1.0 - 2.0**-53))
    i = np.arange(1, n + 1)
    stat = float(-n - np.sum((2 * i - 1) * (np.log(xs) + np.log1p(-xs[::-1]))) / n)
    return stat, _ad_sf(n, stat)


@dataclass(frozen=True)
class PITUniformity:
    r"""Uniformity tests of PIT values and a diagnosis of the histogram shape.

    Attributes
    ----------
    n
        Number of PIT values.
    ad_statistic, ad_pvalue
        Case-0 Anderson-Darling (see :func:`anderson_darling_uniform`).
    ks_statistic, ks_pvalue
        ``scipy.stats.kstest(pits, "uniform")``.
    chi2_statistic, chi2_pvalue, n_bins
        Pearson chi-square of the ``n_bins`` equal-width histogram counts.
    mean, variance
        Sample mean and variance (``ddof=0``) of the PITs (1/2 and 1/12 under
        uniformity).
    bias_z
        :math:`(\bar u - 1/2)/\sqrt{1/(12n)}`; positive when observations fall
        high in their ensembles (the forecast is biased low).
    dispersion_z
        :math:`(\overline{(u-1/2)^2} - 1/12)/\sqrt{1/(180n)}`; positive when
        too many PITs sit in the tails (U shape: ensemble too narrow,
        overconfident), negative for a hump (ensemble too wide, underconfident).
    shape
        ``"uniform"`` when the AD criterion passes, else the largest
        significant (at ``alpha``) of ``"u_shaped_overconfident"``,
        ``"hump_underconfident"``, ``"skewed_biased"``, or ``"non_uniform"``
        when neither moment departure is significant.
    bias_direction
        ``"forecast_too_low"``, ``"forecast_too_high"`` or ``"none"`` (from
        ``bias_z`` at ``alpha``).
    threshold
        The AD criterion: ``passed`` is ``ad_pvalue > threshold`` (0.10).
    """

    n: int
    ad_statistic: float
    ad_pvalue: float
    ks_statistic: float
    ks_pvalue: float
    chi2_statistic: float
    chi2_pvalue: float
    n_bins: int
    mean: float
    variance: float
    bias_z: float
    dispersion_z: float
    shape: str
    bias_direction: str
    threshold: float
    alpha: float

    @property
    def passed(self) -> bool:
        """Anderson-Darling p-value above ``threshold`` (criterion: PIT uniform, AD p > 0.10)."""
        return bool(self.ad_pvalue > self.threshold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field plus ``passed``."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["passed"] = self.passed
        return jsonable(d)


def pit_uniformity(
    pits: ArrayLike,
    *,
    n_members: ArrayLike | float | None = None,
    n_bins: int = 10,
    alpha: float = 0.05,
    threshold: float = 0.10,
) -> PITUniformity:
    """Test PIT values for U(0, 1) and diagnose the shape of their histogram.

    Parameters
    ----------
    pits
        PIT values in [0, 1] (from :func:`pit` or an analytic CDF).
    n_members
        Ensemble size(s) ``N`` behind ensemble PITs (a number or one per PIT,
        :func:`ensemble_size`): the tests then use the rank-cell centres
        :math:`(N u + 1/2)/(N + 1)`.  ``None`` for PITs of continuous forecasts.
    n_bins
        Equal-width bins of the chi-square test (expected count ``n / n_bins``
        should be at least 5).
    alpha
        Significance level of the bias and dispersion z-tests used for the
        diagnosis.
    threshold
        AD p-value above which the PITs pass as uniform (0.10).

    Returns
    -------
    PITUniformity
    """
    u = _array(pits, "pits", ndim=1)
    if np.any((u < 0) | (u > 1)):
        raise DataError("pits must lie in [0, 1]", column="pits", rule="range")
    if n_members is not None:
        size = np.broadcast_to(_array(n_members, "n_members", ndim=(0, 1)), u.shape)
        if np.any(size < 1):
            raise DataError("n_members must be at least 1", column="n_members", rule="range")
        u = (size * u + 0.5) / (size + 1.0)
    ad, ad_p = anderson_darling_uniform(u)
    n = u.size
    ks = stats.kstest(u, "uniform")
    n_bins = int(n_bins)
    if n_bins < 2:
        raise DataError(f"n_bins must be at least 2, got {n_bins}", column="n_bins", rule="range")
    counts, _ = np.histogram(u, bins=n_bins, range=(0.0, 1.0))
    chi = stats.chisquare(counts)
    mean = float(u.mean())
    second = float(np.mean((u - 0.5) ** 2))
    bias_z = (mean - 0.5) / math.sqrt(1.0 / (12.0 * n))
    disp_z = (second - 1.0 / 12.0) / math.sqrt(1.0 / (180.0 * n))
    crit = float(stats.norm.ppf(1.0 - alpha / 2.0))
    if ad_p > threshold:
        shape = "uniform"
    else:
        candidates = []
        if abs(disp_z) > crit:
            candidates.append((abs(disp_z), "u_shaped_overconfident" if disp_z > 0 else "hump_underconfident"))
        if abs(bias_z) > crit:
            candidates.append((abs(bias_z), "skewed_biased"))
        shape = max(candidates)[1] if candidates else "non_uniform"
    if bias_z > crit:
        direction = "forecast_too_low"
    elif bias_z < -crit:
        direction = "forecast_too_high"
    else:
        direction = "none"
    return PITUniformity(
        n=n,
        ad_statistic=ad,
        ad_pvalue=ad_p,
        ks_statistic=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        chi2_statistic=float(chi.statistic),
        chi2_pvalue=float(chi.pvalue),
        n_bins=n_bins,
        mean=mean,
        variance=float(u.var()),
        bias_z=float(bias_z),
        dispersion_z=float(disp_z),
        shape=shape,
        bias_direction=direction,
        threshold=float(threshold),
        alpha=float(alpha),
    )
