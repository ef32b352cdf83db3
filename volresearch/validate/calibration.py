r"""Calibration statistics for ensemble (path) forecasts.

A forecast for target ``t`` is an ensemble: a row of ``n_members`` simulated
values of the target (for example the cumulative log return over the horizon,
one value per simulated path), optionally with member weights (particle
weights).  ``ensembles`` is an array of shape ``(n_forecasts, n_members)`` and
``observations`` the realised targets, shape ``(n_forecasts,)``, in the same
units.

* **PIT** (probability integral transform): where each observation falls in
  its ensemble; uniform on (0, 1) for a calibrated forecaster.  Tested with
  Anderson-Darling (fully specified U(0,1), Marsaglia & Marsaglia 2004 p-value),
  Kolmogorov-Smirnov and a histogram chi-square, with a diagnosis of the shape.
* **Interval coverage**: central prediction intervals per level, their 0/1
  violation ("hit") sequences, Kupiec (1995) unconditional coverage and
  Christoffersen (1998) independence and conditional-coverage tests.
* **VaR / ES backtest**: lower-tail quantile violations with the same tests,
  and the Acerbi & Szekely (2014) :math:`Z_2` test of expected shortfall.
* **CRPS**: O(N log N) sorted form of the ensemble CRPS (numba kernels in
  :mod:`volresearch.validate._kernels`) and the Gaussian closed form.
* **Variance-forecast losses** (QLIKE, MSE) and the Diebold-Mariano test with
  the Harvey-Leybourne-Newbold correction.
* :func:`calibration_report` bundles the verdicts one forecast window needs;
  :meth:`CalibrationReport.from_components` builds the same report from PITs,
  hit sequences and CRPS values pooled over windows or computed in closed form.

Ensemble quantiles use Weibull plotting positions (member ``i`` of ``N`` at
``i/(N+1)``, linear interpolation between members); see
:func:`ensemble_quantiles`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from volresearch.errors import DataError
from volresearch.validate import _kernels

__all__ = [
    "DEFAULT_LEVELS",
    "LRTest",
    "PITUniformity",
    "DMTest",
    "CalibrationReport",
    "ensemble_quantiles",
    "pit",
    "anderson_darling_uniform",
    "pit_uniformity",
    "kupiec_pof",
    "christoffersen_independence",
    "christoffersen_conditional_coverage",
    "interval_hits",
    "coverage_table",
    "interval_coverage",
    "ensemble_var_es",
    "acerbi_szekely_z2",
    "var_backtest",
    "crps_ensemble",
    "crps_normal",
    "mean_crps",
    "crps_skill",
    "qlike",
    "mse_var",
    "diebold_mariano",
    "calibration_report",
]

DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.99)
"""Central prediction-interval levels reported by default."""

Alternative = Literal["two-sided", "less", "greater"]
SeedLike = int | np.random.Generator | None


# =============================================================== helpers
def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, DataFrames and non-finite floats to JSON-safe values."""
    if isinstance(obj, pd.DataFrame):
        return [_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if obj is None or isinstance(obj, (bool, np.bool_)):
        return None if obj is None else bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def _array(x: ArrayLike, name: str, *, ndim: int | tuple[int, ...], finite: bool = True) -> np.ndarray:
    """``x`` as a float64 array with the given dimensionality, or a DataError naming ``name``."""
    if isinstance(x, (pd.Series, pd.DataFrame)):
        x = x.to_numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric: {exc}", column=name, rule="dtype") from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in dims:
        raise DataError(
            f"{name} must have {' or '.join(str(d) for d in dims)} dimension(s), got shape {a.shape}",
            column=name,
            rule="shape",
        )
    if finite and a.size and not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1)) if a.ndim else [0]
        raise DataError(
            f"{name} contains NaN or infinite values",
            column=name,
            row=[int(b) for b in bad] if a.ndim else None,
            rule="finite",
        )
    return a


def _ensembles_and_obs(ensembles: ArrayLike, observations: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(n_forecasts, n_members)`` ensembles and ``(n_forecasts,)`` observations.

    A 1-D ensemble with a scalar observation is one forecast.
    """
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    y = _array(observations, "observations", ndim=(0, 1))
    if x.ndim == 1:
        if y.ndim != 0 and y.shape != (1,):
            raise DataError(
                "a 1-D ensemble is one forecast and needs one observation, "
                f"got observations of shape {y.shape}",
                column="observations",
                rule="shape",
            )
        x = x[None, :]
        y = y.reshape(1)
    elif y.ndim == 0:
        raise DataError(
            f"observations must have one value per ensemble row ({x.shape[0]}), got a scalar",
            column="observations",
            rule="shape",
        )
    if x.shape[0] != y.shape[0]:
        raise DataError(
            f"ensembles has {x.shape[0]} rows (forecasts) but observations has {y.shape[0]} values",
            column="observations",
            rule="shape",
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"ensembles must be non-empty, got shape {x.shape}", column="ensembles", rule="shape")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _weights(weights: ArrayLike | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Normalised member weights of shape (1, m) or (n, m), or None for equal weights."""
    if weights is None:
        return None
    w = _array(weights, "weights", ndim=(1, 2))
    n, m = shape
    if w.ndim == 1:
        w = w[None, :]
    if w.shape[1] != m or w.shape[0] not in (1, n):
        raise DataError(
            f"weights must have shape ({m},) or ({n}, {m}) to match ensembles, got {w.shape}",
            column="weights",
            rule="shape",
        )
    if np.any(w < 0):
        raise DataError("weights must be non-negative", column="weights", rule="range")
    total = w.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        bad = np.flatnonzero(total[:, 0] <= 0)
        raise DataError(
            "each row of weights needs a positive sum", column="weights", row=[int(b) for b in bad], rule="range"
        )
    return w / total


def _sorted(x: np.ndarray, p: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Members sorted per row with the weights carried along; equal weights as a (1, m) row."""
    m = x.shape[1]
    if p is None:
        return np.sort(x, axis=1), np.full((1, m), 1.0 / m)
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    ps = np.take_along_axis(np.broadcast_to(p, x.shape), order, axis=1)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ps)


def _rng(seed: SeedLike) -> np.random.Generator:
    return np.random.default_rng(seed)


def _hits_array(hits: ArrayLike, name: str = "hits") -> np.ndarray:
    h = _array(hits, name, ndim=1)
    if h.size < 1:
        raise DataError(f"{name} is empty", column=name, rule="shape")
    if not np.all((h == 0) | (h == 1)):
        raise DataError(f"{name} must contain only 0 and 1 (1 = violation)", column=name, rule="binary")
    return h.astype(np.int8)


def _check_prob(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 < p < 1.0:
        raise DataError(f"{name} must lie strictly between 0 and 1, got {p}", column=name, rule="range")
    return p


# ============================================================ quantiles
def ensemble_quantiles(
    ensembles: ArrayLike, probs: ArrayLike, *, weights: ArrayLike | None = None
) -> np.ndarray:
    r"""Quantiles of each ensemble by Weibull plotting positions.

    The ``N`` members with positive weight are sorted and placed at
    :math:`\pi_i = N P_i/(N+1)`, where :math:`P_i` is the cumulative normalised
    weight up to member ``i`` (so :math:`\pi_i = i/(N+1)` for equal weights);
    :math:`Q(u)` interpolates linearly between the points
    :math:`(\pi_i, x_{(i)})` and is flat outside :math:`[\pi_1, \pi_N]`.  With
    equal weights this equals ``numpy.quantile(..., method="weibull")``.  Under
    exchangeability of the observation with the members, the interval
    :math:`[Q(a), Q(b)]` covers the observation with probability ``b - a``,
    which is why prediction intervals and VaR use it.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)``, in the target's units.
    probs
        Probability levels in [0, 1], shape ``(k,)``.
    weights
        Optional non-negative member weights, ``(n_members,)`` or
        ``(n_forecasts, n_members)``; normalised per row.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts, k)`` quantiles, same units as ``ensembles``.
    """
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    if x.ndim == 1:
        x = x[None, :]
    q = _array(probs, "probs", ndim=(0, 1)).reshape(-1)
    if np.any((q < 0) | (q > 1)):
        raise DataError("probs must lie in [0, 1]", column="probs", rule="range")
    p = _weights(weights, x.shape)
    xs, ps = _sorted(np.ascontiguousarray(x), p)
    out = np.empty((x.shape[0], q.size))
    _kernels.quantile_rows(xs, ps, np.ascontiguousarray(np.broadcast_to(q, out.shape)), out)
    return out


# ================================================================== PIT
def pit(
    ensembles: ArrayLike,
    observations: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    randomize_ties: bool = False,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Probability integral transform of each observation in its ensemble.

    Rank-based PIT.  With ``N`` members of positive weight, ``k`` of them
    below the observation and ``e`` equal to it (for weights, :math:`k = N
    F(y^-)` and :math:`e = N (F(y) - F(y^-))` with ``F`` the weighted empirical
    CDF), the observation occupies the rank cell :math:`[k, k + e + 1]` among
    ``N + 1`` values, and

    * ``randomize_ties=False`` (mid-rank): :math:`u = (k + (e+1)/2) / (N+1)`;
    * ``randomize_ties=True`` (randomised): :math:`u = (k + (e+1) V)/(N+1)`,
      :math:`V \sim U(0,1)` drawn from ``seed``.

    When the observation and the members are exchangeable (calibrated
    equally-weighted ensemble), the randomised PIT is exactly U(0,1) and the
    mid-rank PIT is uniform on the grid :math:`(j + 1/2)/(N+1)`; neither is
    ever 0 or 1.  For unequal weights the same formula is a convention that
    tends to :math:`F(y)` as ``N`` grows.

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
        Draw the position inside the rank cell instead of taking its middle.
    seed
        Seed or ``numpy.random.Generator`` for the randomised PIT.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts,)`` PIT values in (0, 1).
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    p = _weights(weights, x.shape)
    below = x < y[:, None]
    equal = x == y[:, None]
    if p is None:
        n_eff = np.full(x.shape[0], float(x.shape[1]))
        k = below.sum(axis=1).astype(float)
        e = equal.sum(axis=1).astype(float)
    else:
        pb = np.broadcast_to(p, x.shape)
        n_eff = (pb > 0).sum(axis=1).astype(float)
        k = n_eff * (pb * below).sum(axis=1)
        e = n_eff * (pb * equal).sum(axis=1)
    v = _rng(seed).random(x.shape[0]) if randomize_ties else 0.5
    u = (k + (e + 1.0) * v) / (n_eff + 1.0)
    return np.clip(u, 0.0, 1.0)


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
_ERRFIX_SLOPE_AT_ONE = (
    745.2337 - 2 * 1705.091 + 3 * 1950.646 - 4 * 1116.360 + 5 * 255.7844
) - _ERRFIX_AT_ONE / 0.2


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
        return _jsonable(d)


def pit_uniformity(
    pits: ArrayLike, *, n_bins: int = 10, alpha: float = 0.05, threshold: float = 0.10
) -> PITUniformity:
    """Test PIT values for U(0, 1) and diagnose the shape of their histogram.

    Parameters
    ----------
    pits
        PIT values in [0, 1] (from :func:`pit` or an analytic CDF).
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


# ====================================================== coverage tests
@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio backtest on a 0/1 violation sequence.

    Attributes
    ----------
    test
        ``"kupiec_pof"``, ``"christoffersen_independence"`` or
        ``"christoffersen_conditional_coverage"``.
    statistic, df, pvalue
        LR statistic, chi-square degrees of freedom, ``chi2.sf(statistic, df)``.
    n, violations
        Sequence length and number of ones.
    expected_rate
        Nominal violation probability ``p`` (None for the independence test).
    observed_rate
        ``violations / n``.
    n00, n01, n10, n11
        Transition counts ``n_ij = #{t: I_{t-1} = i, I_t = j}`` (all tests
        report them).
    """

    test: str
    statistic: float
    df: int
    pvalue: float
    n: int
    violations: int
    expected_rate: float | None
    observed_rate: float
    n00: int
    n01: int
    n10: int
    n11: int

    def rejected(self, alpha: float = 0.05) -> bool:
        """Whether the null is rejected at ``alpha``."""
        return bool(self.pvalue < alpha)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return _jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def _transitions(h: np.ndarray) -> tuple[int, int, int, int]:
    prev, cur = h[:-1], h[1:]
    n00 = int(np.sum((prev == 0) & (cur == 0)))
    n01 = int(np.sum((prev == 0) & (cur == 1)))
    n10 = int(np.sum((prev == 1) & (cur == 0)))
    n11 = int(np.sum((prev == 1) & (cur == 1)))
    return n00, n01, n10, n11


def _markov_loglik(n00: int, n01: int, n10: int, n11: int) -> float:
    """Maximised log-likelihood of the first-order Markov chain (``0 log 0 = 0``)."""
    a = n00 + n01
    b = n10 + n11
    pi01 = n01 / a if a else 0.0
    pi11 = n11 / b if b else 0.0
    return float(
        special.xlogy(n00, 1.0 - pi01)
        + special.xlogy(n01, pi01)
        + special.xlogy(n10, 1.0 - pi11)
        + special.xlogy(n11, pi11)
    )


def _bernoulli_loglik(zeros: int, ones: int, p: float) -> float:
    return float(special.xlogy(zeros, 1.0 - p) + special.xlogy(ones, p))


def _lr(test: str, stat: float, df: int, h: np.ndarray, p: float | None) -> LRTest:
    stat = max(0.0, float(stat))
    n00, n01, n10, n11 = _transitions(h) if h.size > 1 else (0, 0, 0, 0)
    return LRTest(
        test=test,
        statistic=stat,
        df=df,
        pvalue=float(stats.chi2.sf(stat, df)),
        n=int(h.size),
        violations=int(h.sum()),
        expected_rate=p,
        observed_rate=float(h.mean()),
        n00=n00,
        n01=n01,
        n10=n10,
        n11=n11,
    )


def kupiec_pof(hits: ArrayLike, p: float) -> LRTest:
    r"""Kupiec (1995) proportion-of-failures test of unconditional coverage.

    With ``x`` violations in ``T`` periods and :math:`\hat p = x/T`,

    .. math::

       LR_{pof} = -2\left[x \ln p + (T - x)\ln(1-p)
                  - x\ln\hat p - (T-x)\ln(1-\hat p)\right] \sim \chi^2_1,

    with :math:`0 \ln 0 = 0`, so zero violations give
    :math:`-2T\ln(1-p)` and all violations :math:`-2T\ln p`.

    Parameters
    ----------
    hits
        0/1 sequence, 1 = violation.
    p
        Nominal violation probability (``1 - level`` for a central interval,
        ``alpha`` for VaR).
    """
    h = _hits_array(hits)
    p = _check_prob(p, "p")
    t, x = h.size, int(h.sum())
    phat = x / t
    stat = -2.0 * (_bernoulli_loglik(t - x, x, p) - _bernoulli_loglik(t - x, x, phat))
    return _lr("kupiec_pof", stat, 1, h, p)


def christoffersen_independence(hits: ArrayLike) -> LRTest:
    r"""Christoffersen (1998) test of first-order independence of violations.

    From the transition counts :math:`n_{ij}` of the pairs
    :math:`(I_{t-1}, I_t)`, :math:`\hat\pi_{01} = n_{01}/(n_{00}+n_{01})`,
    :math:`\hat\pi_{11} = n_{11}/(n_{10}+n_{11})`,
    :math:`\hat\pi = (n_{01}+n_{11})/(T-1)`:

    .. math::

       LR_{ind} = -2\ln\frac{(1-\hat\pi)^{n_{00}+n_{10}}\hat\pi^{n_{01}+n_{11}}}
       {(1-\hat\pi_{01})^{n_{00}}\hat\pi_{01}^{n_{01}}
        (1-\hat\pi_{11})^{n_{10}}\hat\pi_{11}^{n_{11}}} \sim \chi^2_1 .

    Conventions: :math:`0\ln 0 = 0`; a row of the transition matrix that is
    never visited (for example no violation before the last period, so
    :math:`n_{10}+n_{11}=0`) contributes nothing.  Zero violations, all
    violations, or violations never followed by another (with none before
    them either) give ``LR = 0, p = 1`` when the fitted chains coincide.
    """
    h = _hits_array(hits)
    if h.size < 2:
        raise DataError("hits needs at least 2 values for transition counts", column="hits", rule="shape")
    n00, n01, n10, n11 = _transitions(h)
    pi = (n01 + n11) / (h.size - 1)
    stat = -2.0 * (_bernoulli_loglik(n00 + n10, n01 + n11, pi) - _markov_loglik(n00, n01, n10, n11))
    return _lr("christoffersen_independence", stat, 1, h, None)


def christoffersen_conditional_coverage(hits: ArrayLike, p: float) -> LRTest:
    r"""Christoffersen (1998) joint test of correct coverage and independence.

    .. math::

       LR_{cc} = -2\ln\frac{(1-p)^{n_{00}+n_{10}} p^{n_{01}+n_{11}}}
       {(1-\hat\pi_{01})^{n_{00}}\hat\pi_{01}^{n_{01}}
        (1-\hat\pi_{11})^{n_{10}}\hat\pi_{11}^{n_{11}}} \sim \chi^2_2,

    computed on the ``T - 1`` transitions (the first observation conditioned
    on), so that :math:`LR_{cc} = LR_{pof}(I_2..I_T) + LR_{ind}` exactly; with
    the Kupiec statistic on all ``T`` periods the identity holds up to the
    first observation.  Same :math:`0 \ln 0 = 0` convention.
    """
    h = _hits_array(hits)
    if h.size < 2:
        raise DataError("hits needs at least 2 values for transition counts", column="hits", rule="shape")
    p = _check_prob(p, "p")
    n00, n01, n10, n11 = _transitions(h)
    stat = -2.0 * (_bernoulli_loglik(n00 + n10, n01 + n11, p) - _markov_loglik(n00, n01, n10, n11))
    return _lr("christoffersen_conditional_coverage", stat, 2, h, p)


def _levels(levels: Sequence[float] | float) -> tuple[float, ...]:
    lv = tuple(float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float)))
    if not lv:
        raise DataError("levels is empty", column="levels", rule="shape")
    for v in lv:
        _check_prob(v, "levels")
    return lv


def _central_bounds(
    ensembles: ArrayLike, observations: ArrayLike, levels: tuple[float, ...], weights: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = _ensembles_and_obs(ensembles, observations)
    probs = np.concatenate([[(1.0 - v) / 2.0 for v in levels], [(1.0 + v) / 2.0 for v in levels]])
    q = ensemble_quantiles(x, probs, weights=weights)
    k = len(levels)
    return q[:, :k], q[:, k:], y


def interval_hits(
    ensembles: ArrayLike,
    observations: ArrayLike,
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    weights: ArrayLike | None = None,
) -> pd.DataFrame:
    """Violation ("hit") sequences of central prediction intervals.

    The level-``L`` interval is :math:`[Q((1-L)/2), Q((1+L)/2)]` of each
    ensemble (:func:`ensemble_quantiles`); the hit is 1 when the observation
    falls strictly outside it.

    Returns
    -------
    pandas.DataFrame
        ``(n_forecasts, len(levels))`` of int8 0/1, one column per level (float
        labels, columns named ``"level"``), rows in forecast order.  Feed it to
        :func:`coverage_table`, or concatenate windows first.
    """
    lv = _levels(levels)
    lo, hi, y = _central_bounds(ensembles, observations, lv, weights)
    hits = ((y[:, None] < lo) | (y[:, None] > hi)).astype(np.int8)
    return pd.DataFrame(hits, columns=pd.Index(lv, name="level"))


def coverage_table(hits: pd.DataFrame | Mapping[float, ArrayLike], *, alpha: float = 0.05) -> pd.DataFrame:
    """Coverage statistics and Kupiec/Christoffersen tests from hit sequences.

    Parameters
    ----------
    hits
        0/1 violation sequences keyed by interval level (output of
        :func:`interval_hits`, possibly concatenated over windows).
    alpha
        Significance level of the ``*_ok`` verdict columns.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``level, n, violations, expected_violations,
        coverage, expected_coverage, lr_pof, p_pof, lr_ind, p_ind, lr_cc,
        p_cc, n00, n01, n10, n11, pof_ok, ind_ok, cc_ok`` (``*_ok``: p >=
        alpha).  ``coverage = 1 - violations / n``.
    """
    items = hits.items() if isinstance(hits, (pd.DataFrame, Mapping)) else None
    if items is None:
        raise DataError("hits must be a DataFrame or a mapping level -> 0/1 sequence", column="hits", rule="type")
    rows = []
    for level, seq in items:
        lv = _check_prob(float(level), "levels")
        h = _hits_array(seq, f"hits[{lv:g}]")
        p = 1.0 - lv
        pof = kupiec_pof(h, p)
        ind: LRTest | None
        cc: LRTest | None
        if h.size >= 2:
            ind = christoffersen_independence(h)
            cc = christoffersen_conditional_coverage(h, p)
        else:
            ind = cc = None
        rows.append(
            {
                "level": lv,
                "n": pof.n,
                "violations": pof.violations,
                "expected_violations": p * pof.n,
                "coverage": 1.0 - pof.observed_rate,
                "expected_coverage": lv,
                "lr_pof": pof.statistic,
                "p_pof": pof.pvalue,
                "lr_ind": ind.statistic if ind else np.nan,
                "p_ind": ind.pvalue if ind else np.nan,
                "lr_cc": cc.statistic if cc else np.nan,
                "p_cc": cc.pvalue if cc else np.nan,
                "n00": pof.n00,
                "n01": pof.n01,
                "n10": pof.n10,
                "n11": pof.n11,
                "pof_ok": bool(pof.pvalue >= alpha),
                "ind_ok": bool(ind.pvalue >= alpha) if ind else None,
                "cc_ok": bool(cc.pvalue >= alpha) if cc else None,
            }
        )
    return pd.DataFrame(rows)


def interval_coverage(
    ensembles: ArrayLike,
    observations: ArrayLike,
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    weights: ArrayLike | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Empirical coverage of central prediction intervals with backtests.

    :func:`coverage_table` of :func:`interval_hits`, plus ``below`` and
    ``above`` (violations under the lower and over the upper bound) and
    ``mean_width`` (average interval width, target units).
    """
    lv = _levels(levels)
    lo, hi, y = _central_bounds(ensembles, observations, lv, weights)
    below = y[:, None] < lo
    above = y[:, None] > hi
    hits = pd.DataFrame((below | above).astype(np.int8), columns=pd.Index(lv, name="level"))
    table = coverage_table(hits, alpha=alpha)
    table.insert(3, "below", below.sum(axis=0).astype(int))
    table.insert(4, "above", above.sum(axis=0).astype(int))
    table["mean_width"] = (hi - lo).mean(axis=0)
    return table


# ============================================================ VaR / ES
def ensemble_var_es(
    ensembles: ArrayLike, alphas: Sequence[float] = (0.01, 0.05), *, weights: ArrayLike | None = None
) -> pd.DataFrame:
    r"""Value at risk and expected shortfall of each ensemble of returns.

    ``VaR_alpha`` is the lower ``alpha``-quantile :math:`Q(\alpha)` of the
    ensemble (a return, usually negative; :func:`ensemble_quantiles`) and
    ``ES_alpha`` the lower tail mean
    :math:`\frac1\alpha\int_0^\alpha Q(u)\,du` of the same piecewise-linear
    quantile function (also a return).  Losses-as-positive conventions are
    ``-VaR`` and ``-ES``.

    Returns
    -------
    pandas.DataFrame
        Columns ``var_{alpha:g}`` and ``es_{alpha:g}`` per alpha, one row per
        forecast.
    """
    x = _array(ensembles, "ensembles", ndim=(1, 2))
    if x.ndim == 1:
        x = x[None, :]
    a = np.array([_check_prob(v, "alphas") for v in alphas], dtype=float)
    p = _weights(weights, x.shape)
    xs, ps = _sorted(np.ascontiguousarray(x), p)
    var = np.empty((x.shape[0], a.size))
    _kernels.quantile_rows(xs, ps, np.ascontiguousarray(np.broadcast_to(a, var.shape)), var)
    es = np.empty_like(var)
    _kernels.tail_mean_rows(xs, ps, a, es)
    cols: dict[str, np.ndarray] = {}
    for k, v in enumerate(a):
        cols[f"var_{v:g}"] = var[:, k]
        cols[f"es_{v:g}"] = es[:, k]
    return pd.DataFrame(cols)


def acerbi_szekely_z2(observations: ArrayLike, var: ArrayLike, es: ArrayLike, alpha: float) -> float:
    r"""Acerbi & Szekely (2014) :math:`Z_2` statistic of an expected-shortfall forecast.

    In return units (``var`` and ``es`` are lower-tail returns, ``es < 0``),
    with :math:`I_t = \mathbf 1[r_t < \mathrm{VaR}_t]`:

    .. math::

       Z_2 = 1 - \frac{1}{T\alpha}\sum_{t=1}^T \frac{I_t\, r_t}{\mathrm{ES}_t},

    which is :math:`\sum_t X_t I_t / (T\alpha\,\mathrm{ES}_t) + 1` of the paper
    with losses positive.  :math:`E[Z_2] = 0` when the forecast is correct;
    :math:`Z_2 < 0` when realised tail losses exceed the forecast ES.
    """
    r = _array(observations, "observations", ndim=1)
    v = _array(var, "var", ndim=1)
    e = _array(es, "es", ndim=1)
    if not (r.size == v.size == e.size):
        raise DataError(
            f"observations, var and es must have equal length, got {r.size}, {v.size}, {e.size}",
            column="es",
            rule="shape",
        )
    if np.any(e >= 0):
        bad = np.flatnonzero(e >= 0)
        raise DataError(
            "es must be a loss (negative lower-tail return) for the Z2 test",
            column="es",
            row=[int(b) for b in bad],
            rule="sign",
        )
    alpha = _check_prob(alpha, "alpha")
    hit = r < v
    return float(1.0 - np.sum(r[hit] / e[hit]) / (r.size * alpha))


def _z2_null(
    xs: np.ndarray,
    ps: np.ndarray,
    var: np.ndarray,
    es: np.ndarray,
    alphas: np.ndarray,
    n_sim: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Simulated Z2 under each forecast's own distribution: ``(n_sim, len(alphas))``."""
    n = xs.shape[0]
    out = np.empty((n_sim, alphas.size))
    chunk = max(1, min(n_sim, 4_000_000 // max(n, 1)))
    done = 0
    while done < n_sim:
        b = min(chunk, n_sim - done)
        u = rng.random((n, b))
        draws = np.empty((n, b))
        _kernels.quantile_rows(xs, ps, u, draws)
        for k, a in enumerate(alphas):
            hit = draws < var[:, k : k + 1]
            out[done : done + b, k] = 1.0 - (np.where(hit, draws, 0.0) / es[:, k : k + 1]).sum(axis=0) / (n * a)
        done += b
    return out


def var_backtest(
    forecasts: ArrayLike | Mapping[float, ArrayLike] | pd.DataFrame,
    observations: ArrayLike,
    alphas: Sequence[float] | None = None,
    *,
    es: Mapping[float, ArrayLike] | None = None,
    weights: ArrayLike | None = None,
    n_sim: int = 1999,
    seed: SeedLike = None,
    alpha_test: float = 0.05,
) -> pd.DataFrame:
    r"""Backtest value-at-risk and expected-shortfall forecasts of returns.

    Violations are :math:`I_t = \mathbf 1[r_t < \mathrm{VaR}_t]` (VaR as a
    lower-tail return); they are tested with :func:`kupiec_pof`,
    :func:`christoffersen_independence` and
    :func:`christoffersen_conditional_coverage` at ``p = alpha``.

    Expected shortfall is tested with the Acerbi & Szekely (2014) :math:`Z_2`
    statistic (:func:`acerbi_szekely_z2`).  With ensemble forecasts its
    one-sided p-value is by Monte Carlo: ``n_sim`` replications draw
    :math:`r^*_t = Q_t(U)`, :math:`U \sim U(0,1)`, from each forecast's own
    quantile function, so the null is exactly "the observations follow the
    forecasts", and :math:`p = (1 + \#\{Z_2^* \le Z_2\}) / (n_{sim} + 1)`.

    Parameters
    ----------
    forecasts
        Either ensembles ``(n_forecasts, n_members)`` of returns, from which
        VaR and ES come by :func:`ensemble_var_es`; or VaR forecasts keyed by
        alpha (a mapping or a DataFrame with float column labels), each of
        shape ``(n_forecasts,)``.
    observations
        Realised returns ``(n_forecasts,)``.
    alphas
        Tail probabilities; default ``(0.01, 0.05)`` for ensembles and the
        keys of ``forecasts`` otherwise.
    es
        With VaR forecasts only: ES forecasts keyed by alpha.  The :math:`Z_2`
        statistic is then reported without a p-value (``NaN``): its null
        distribution needs the whole forecast distribution.
    weights
        Member weights for ensembles.
    n_sim, seed
        Monte Carlo replications and seed of the :math:`Z_2` p-value.
    alpha_test
        Significance level of the ``*_ok`` verdict columns.

    Returns
    -------
    pandas.DataFrame
        One row per alpha: ``alpha, n, violations, expected_violations,
        violation_rate, lr_pof, p_pof, lr_ind, p_ind, lr_cc, p_cc, z2, p_z2,
        mean_var, mean_es, pof_ok, ind_ok, es_ok``.
    """
    y = _array(observations, "observations", ndim=1)
    lookup: dict[float, Any] | None
    if isinstance(forecasts, pd.DataFrame):
        lookup = {float(c): forecasts[c].to_numpy() for c in forecasts.columns}
    elif isinstance(forecasts, Mapping):
        lookup = {float(k): v for k, v in forecasts.items()}
    else:
        lookup = None
    null: np.ndarray | None = None
    if lookup is not None:
        a = np.array(list(lookup) if alphas is None else [float(v) for v in alphas])
        missing = [v for v in a if v not in lookup]
        if missing:
            raise DataError(f"no VaR forecast for alpha {missing}", column="forecasts", rule="key")
        var = np.column_stack([_array(lookup[v], f"forecasts[{v:g}]", ndim=1) for v in a])
        if es is not None:
            es_lookup = {float(k): v for k, v in es.items()}
            missing = [v for v in a if v not in es_lookup]
            if missing:
                raise DataError(f"no ES forecast for alpha {missing}", column="es", rule="key")
            es_arr = np.column_stack([_array(es_lookup[v], f"es[{v:g}]", ndim=1) for v in a])
        else:
            es_arr = None
        if var.shape[0] != y.size or (es_arr is not None and es_arr.shape[0] != y.size):
            raise DataError(
                f"forecasts have {var.shape[0]} rows but observations has {y.size} values",
                column="observations",
                rule="shape",
            )
    else:
        if es is not None:
            raise DataError("es is only accepted with VaR forecasts, not with ensembles", column="es", rule="type")
        x, y = _ensembles_and_obs(cast(ArrayLike, forecasts), y)
        a = np.array((0.01, 0.05) if alphas is None else [float(v) for v in alphas])
        for v in a:
            _check_prob(v, "alphas")
            if x.shape[1] * v < 1.0:
                raise DataError(
                    f"alpha {v:g} needs at least {math.ceil(1 / v)} ensemble members, got {x.shape[1]}",
                    column="forecasts",
                    rule="shape",
                )
        p = _weights(weights, x.shape)
        xs, ps = _sorted(x, p)
        var = np.empty((x.shape[0], a.size))
        _kernels.quantile_rows(xs, ps, np.ascontiguousarray(np.broadcast_to(a, var.shape)), var)
        es_arr = np.empty_like(var)
        _kernels.tail_mean_rows(xs, ps, a, es_arr)
        if np.any(es_arr >= 0):
            bad = np.flatnonzero((es_arr >= 0).any(axis=1))
            raise DataError(
                "ensemble expected shortfall is not a loss (ES >= 0); the Z2 test needs return ensembles",
                column="forecasts",
                row=[int(b) for b in bad],
                rule="sign",
            )
        if int(n_sim) < 1:
            raise DataError(f"n_sim must be at least 1, got {n_sim}", column="n_sim", rule="range")
        null = _z2_null(xs, ps, var, es_arr, a, int(n_sim), _rng(seed))
    rows = []
    for k, v in enumerate(a):
        v = _check_prob(v, "alphas")
        hits = (y < var[:, k]).astype(np.int8)
        pof = kupiec_pof(hits, v)
        ind = christoffersen_independence(hits) if hits.size >= 2 else None
        cc = christoffersen_conditional_coverage(hits, v) if hits.size >= 2 else None
        if es_arr is not None:
            z2 = acerbi_szekely_z2(y, var[:, k], es_arr[:, k], v)
            pz = np.nan if null is None else float((1 + np.sum(null[:, k] <= z2)) / (null.shape[0] + 1))
            mean_es = float(es_arr[:, k].mean())
        else:
            z2, pz, mean_es = np.nan, np.nan, np.nan
        rows.append(
            {
                "alpha": v,
                "n": pof.n,
                "violations": pof.violations,
                "expected_violations": v * pof.n,
                "violation_rate": pof.observed_rate,
                "lr_pof": pof.statistic,
                "p_pof": pof.pvalue,
                "lr_ind": ind.statistic if ind else np.nan,
                "p_ind": ind.pvalue if ind else np.nan,
                "lr_cc": cc.statistic if cc else np.nan,
                "p_cc": cc.pvalue if cc else np.nan,
                "z2": z2,
                "p_z2": pz,
                "mean_var": float(var[:, k].mean()),
                "mean_es": mean_es,
                "pof_ok": bool(pof.pvalue >= alpha_test),
                "ind_ok": bool(ind.pvalue >= alpha_test) if ind else None,
                "es_ok": bool(pz >= alpha_test) if np.isfinite(pz) else None,
            }
        )
    return pd.DataFrame(rows)


# ================================================================= CRPS
def crps_ensemble(
    ensembles: ArrayLike,
    observations: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    fair: bool = False,
) -> np.ndarray:
    r"""Continuous ranked probability score of each ensemble forecast.

    CRPS of the (weighted) empirical distribution of the members,

    .. math::

       \mathrm{CRPS}(F, y) = \int (F(z) - \mathbf 1[z \ge y])^2 dz
       = \sum_i p_i|x_i - y| - \tfrac12\sum_{i,j}p_ip_j|x_i - x_j|,

    computed in O(N log N) per forecast from the sorted members (sort, then
    one pass; :mod:`volresearch.validate._kernels`), never the O(N^2) double
    sum.  Same value as ``properscoring.crps_ensemble``.  Units: those of the
    target.  Lower is better.

    With ``fair=True`` (equal weights only) the pairwise term uses
    :math:`1/(2N(N-1))` instead of :math:`1/(2N^2)` (Ferro 2014): the
    unbiased estimate of the CRPS of the distribution the members are drawn
    from, so small ensembles are not penalised for their size.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)``.
    observations
        ``(n_forecasts,)``.
    weights
        Optional non-negative weights ``(n_members,)`` or
        ``(n_forecasts, n_members)``, normalised per row.
    fair
        Unbiased ("fair") ensemble CRPS.

    Returns
    -------
    numpy.ndarray
        ``(n_forecasts,)`` CRPS values.
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    p = _weights(weights, x.shape)
    out = np.empty(x.shape[0])
    if p is None:
        xs = np.sort(x, axis=1)
        _kernels.crps_sorted_uniform(xs, y, out)
    else:
        if fair:
            raise DataError("fair=True is defined for equally weighted ensembles only", column="weights", rule="type")
        xs, ps = _sorted(x, p)
        _kernels.crps_sorted_weighted(xs, ps, y, out)
    if fair:
        m = x.shape[1]
        if m < 2:
            raise DataError("fair=True needs at least 2 members", column="ensembles", rule="shape")
        centred = xs - xs.mean(axis=1, keepdims=True)
        gini = 2.0 * centred @ (2.0 * np.arange(1, m + 1) - m - 1.0)  # sum_ij |x_i - x_j|
        out = out - gini / (2.0 * m * m * (m - 1))
    return out


def _crps_ensemble_pairwise(
    ensembles: np.ndarray, observations: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Slow O(N^2) energy form of the ensemble CRPS, kept as the test reference."""
    x = np.asarray(ensembles, dtype=float)
    y = np.asarray(observations, dtype=float)
    p = np.full(x.shape, 1.0 / x.shape[1]) if weights is None else np.broadcast_to(weights, x.shape)
    p = p / p.sum(axis=1, keepdims=True)
    first = np.sum(p * np.abs(x - y[:, None]), axis=1)
    second = np.einsum("ni,nj,nij->n", p, p, np.abs(x[:, :, None] - x[:, None, :]))
    return first - 0.5 * second


def crps_normal(mu: ArrayLike, sigma: ArrayLike, y: ArrayLike) -> np.ndarray:
    r"""Closed-form CRPS of a Gaussian forecast :math:`N(\mu, \sigma^2)` at ``y``.

    .. math::

       \mathrm{CRPS} = \sigma\left[z(2\Phi(z) - 1) + 2\varphi(z)
       - \frac{1}{\sqrt\pi}\right], \qquad z = \frac{y - \mu}{\sigma}

    (Gneiting et al. 2005).  Arguments broadcast; units of ``y``.
    """
    m = _array(mu, "mu", ndim=(0, 1, 2))
    s = _array(sigma, "sigma", ndim=(0, 1, 2))
    v = _array(y, "y", ndim=(0, 1, 2))
    if np.any(s <= 0):
        raise DataError("sigma must be positive", column="sigma", rule="range")
    z = (v - m) / s
    return np.asarray(s * (z * (2.0 * special.ndtr(z) - 1.0) + 2.0 * stats.norm.pdf(z) - 1.0 / math.sqrt(math.pi)))


def mean_crps(
    ensembles: ArrayLike, observations: ArrayLike, *, weights: ArrayLike | None = None, fair: bool = False
) -> float:
    """Average of :func:`crps_ensemble` over forecasts (target units)."""
    return float(np.mean(crps_ensemble(ensembles, observations, weights=weights, fair=fair)))


def crps_skill(crps: ArrayLike, baseline_crps: ArrayLike) -> float:
    r"""CRPS skill score :math:`1 - \overline{\mathrm{CRPS}} / \overline{\mathrm{CRPS}}_{base}`.

    Positive when the forecast beats the baseline; 0.10 means a 10% lower mean
    CRPS.  Both arguments are per-forecast scores (or their means).
    """
    c = _array(crps, "crps", ndim=(0, 1))
    b = _array(baseline_crps, "baseline_crps", ndim=(0, 1))
    base = float(np.mean(b))
    if base <= 0:
        raise DataError("baseline_crps must have a positive mean", column="baseline_crps", rule="range")
    return 1.0 - float(np.mean(c)) / base


# ====================================================== variance losses
def _variance_pair(forecast_var: ArrayLike, realised_var: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    f = _array(forecast_var, "forecast_var", ndim=(0, 1))
    r = _array(realised_var, "realised_var", ndim=(0, 1))
    if f.shape != r.shape and f.ndim and r.ndim:
        raise DataError(
            f"forecast_var has shape {f.shape} but realised_var has {r.shape}", column="realised_var", rule="shape"
        )
    if np.any(f <= 0):
        raise DataError("forecast_var must be positive", column="forecast_var", rule="range")
    if np.any(r < 0):
        raise DataError("realised_var must be non-negative", column="realised_var", rule="range")
    return f, r


def qlike(forecast_var: ArrayLike, realised_var: ArrayLike, *, normalized: bool = True) -> np.ndarray:
    r"""QLIKE loss of variance forecasts, per period (Patton 2011).

    ``normalized=True``:

    .. math:: L(\hat\sigma^2, \mathrm{RV}) = \frac{\mathrm{RV}}{\hat\sigma^2}
              - \ln\frac{\mathrm{RV}}{\hat\sigma^2} - 1 \;\ge 0,

    zero for a perfect forecast; needs ``RV > 0``.  ``normalized=False``:
    :math:`\ln\hat\sigma^2 + \mathrm{RV}/\hat\sigma^2`, finite at ``RV = 0``
    (squared returns).  The two differ by :math:`\ln\mathrm{RV} + 1`, which
    does not depend on the forecast, so loss differences and
    :func:`diebold_mariano` are identical.  QLIKE is robust to noise in the
    variance proxy (Patton 2011) and penalises under-prediction more than
    over-prediction.  Forecast and proxy in the same units (squared log return
    per period).
    """
    f, r = _variance_pair(forecast_var, realised_var)
    if not normalized:
        return np.log(f) + r / f
    if np.any(r <= 0):
        raise DataError(
            "realised_var must be positive for the normalized QLIKE; use normalized=False for zero proxies",
            column="realised_var",
            rule="range",
        )
    ratio = r / f
    return ratio - np.log(ratio) - 1.0


def mse_var(forecast_var: ArrayLike, realised_var: ArrayLike) -> np.ndarray:
    r"""Squared error :math:`(\mathrm{RV} - \hat\sigma^2)^2` of variance forecasts, per period.

    Robust to proxy noise in Patton's (2011) sense, but dominated by the
    largest periods.  Units: squared variance units.
    """
    f, r = _variance_pair(forecast_var, realised_var)
    return (r - f) ** 2


@dataclass(frozen=True)
class DMTest:
    r"""Diebold-Mariano test of equal predictive accuracy.

    Attributes
    ----------
    statistic
        HLN-corrected statistic :math:`DM^*`, compared with :math:`t_{T-1}`.
    statistic_uncorrected
        :math:`DM = \bar d / \sqrt{\hat V}`.
    pvalue
        From :math:`t_{T-1}` for ``alternative``.
    mean_differential
        :math:`\bar d`, mean of ``loss_a - loss_b`` (negative: ``a`` better).
    variance
        :math:`\hat V`, HAC variance of :math:`\bar d`.
    h, n, alternative, kernel
        Horizon, sample size, alternative hypothesis and HAC kernel actually
        used (``"uniform"`` falls back to ``"bartlett"`` when its variance is
        not positive).
    """

    statistic: float
    statistic_uncorrected: float
    pvalue: float
    mean_differential: float
    variance: float
    h: int
    n: int
    alternative: str
    kernel: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return _jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def diebold_mariano(
    loss_a: ArrayLike,
    loss_b: ArrayLike,
    *,
    h: int = 1,
    alternative: Alternative = "two-sided",
    kernel: Literal["bartlett", "uniform"] = "bartlett",
) -> DMTest:
    r"""Diebold-Mariano (1995) test with the Harvey-Leybourne-Newbold (1997) correction.

    With :math:`d_t = L^a_t - L^b_t`, :math:`\bar d` its mean over ``T``
    periods and autocovariances
    :math:`\hat\gamma_k = \frac1T\sum_{t=k+1}^T (d_t-\bar d)(d_{t-k}-\bar d)`,

    .. math::

       \hat V = \frac1T\left(\hat\gamma_0 + 2\sum_{k=1}^{h-1} w_k\hat\gamma_k\right),
       \qquad DM = \frac{\bar d}{\sqrt{\hat V}},

    with Newey-West (Bartlett) weights :math:`w_k = 1 - k/h` over ``h - 1``
    lags (``kernel="bartlett"``, always positive), or the original truncated
    uniform weights :math:`w_k = 1` (``kernel="uniform"``, for which the HLN
    correction was derived; falls back to Bartlett when :math:`\hat V \le 0`).
    The HLN statistic is

    .. math:: DM^* = DM\sqrt{\frac{T + 1 - 2h + h(h-1)/T}{T}}

    and the p-value comes from Student's t with ``T - 1`` degrees of freedom.
    For ``h = 1`` this is exactly the paired t-test of the losses.

    Parameters
    ----------
    loss_a, loss_b
        Per-period losses of two forecasts of the same targets (same length).
    h
        Forecast horizon in periods (the differential is MA(h-1)).
    alternative
        ``"two-sided"``; ``"less"``: ``a`` has lower expected loss
        (:math:`E d < 0`); ``"greater"``: ``a`` has higher expected loss.
    kernel
        ``"bartlett"`` or ``"uniform"``.

    Returns
    -------
    DMTest
        Identical losses give statistic 0 and p-value 1.
    """
    a = _array(loss_a, "loss_a", ndim=1)
    b = _array(loss_b, "loss_b", ndim=1)
    if a.shape != b.shape:
        raise DataError(f"loss_a has {a.size} values but loss_b has {b.size}", column="loss_b", rule="shape")
    t = a.size
    h = int(h)
    if h < 1 or h >= t:
        raise DataError(f"h must satisfy 1 <= h < n ({t}), got {h}", column="h", rule="range")
    if t < 3:
        raise DataError(f"need at least 3 losses, got {t}", column="loss_a", rule="shape")
    if alternative not in ("two-sided", "less", "greater"):
        raise DataError(f"unknown alternative {alternative!r}", column="alternative", rule="choice")
    if kernel not in ("bartlett", "uniform"):
        raise DataError(f"unknown kernel {kernel!r}", column="kernel", rule="choice")
    d = a - b
    dbar = float(d.mean())
    dc = d - dbar
    gam = np.array([float(np.dot(dc[k:], dc[: t - k])) / t for k in range(h)])
    lags = np.arange(1, h)

    def _var(kind: str) -> float:
        w = 1.0 - lags / h if kind == "bartlett" else np.ones(h - 1)
        return float((gam[0] + 2.0 * np.sum(w * gam[1:])) / t)

    used = kernel
    v = _var(kernel)
    if v <= 0 and kernel == "uniform":
        used = "bartlett"
        v = _var(used)
    if v <= 0:
        if dbar == 0.0:
            dm = 0.0
        else:
            dm = math.copysign(math.inf, dbar)
    else:
        dm = dbar / math.sqrt(v)
    corr = math.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
    dm_star = dm * corr
    dist = stats.t(df=t - 1)
    if alternative == "two-sided":
        pval = 2.0 * float(dist.sf(abs(dm_star)))
    elif alternative == "less":
        pval = float(dist.cdf(dm_star))
    else:
        pval = float(dist.sf(dm_star))
    return DMTest(
        statistic=float(dm_star),
        statistic_uncorrected=float(dm),
        pvalue=min(1.0, pval),
        mean_differential=dbar,
        variance=v,
        h=h,
        n=t,
        alternative=alternative,
        kernel=used,
    )


# =============================================================== report
@dataclass(frozen=True)
class CalibrationReport:
    """Calibration verdicts of one set of forecasts (for example one walk-forward window).

    Attributes
    ----------
    n_forecasts
        Number of forecasts.
    pit
        :class:`PITUniformity` of the PIT values.
    coverage
        :func:`coverage_table` of the interval hit sequences.
    crps_mean
        Mean CRPS (target units).
    baseline_crps_mean, crps_skill
        Mean CRPS of the baseline and :func:`crps_skill`, or None without a
        baseline.
    criteria
        Named verdicts (None when not applicable):
        ``pit_ad_p_gt_0.10`` (PIT uniform, AD p > 0.10),
        ``coverage_95_in_94_96`` (95% interval coverage within 94-96%),
        ``christoffersen_independence_95`` (independence of the 95% interval
        violations not rejected at 5%),
        ``crps_improvement_ge_10pct`` (CRPS at least 10% below the baseline).
    """

    n_forecasts: int
    pit: PITUniformity
    coverage: pd.DataFrame
    crps_mean: float
    baseline_crps_mean: float | None
    crps_skill: float | None
    criteria: dict[str, bool | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """All applicable criteria hold."""
        return all(v for v in self.criteria.values() if v is not None)

    @classmethod
    def from_components(
        cls,
        pits: ArrayLike,
        hits: pd.DataFrame | Mapping[float, ArrayLike],
        crps: ArrayLike,
        *,
        baseline_crps: ArrayLike | float | None = None,
        n_bins: int = 10,
    ) -> CalibrationReport:
        """Build the report from PIT values, hit sequences and per-forecast CRPS.

        Use it to pool several windows (concatenate the components first) or
        for closed-form forecasts (analytic PIT, :func:`crps_normal`).
        """
        u = _array(pits, "pits", ndim=1)
        c = _array(crps, "crps", ndim=1)
        if c.size != u.size:
            raise DataError(f"crps has {c.size} values but pits has {u.size}", column="crps", rule="shape")
        uni = pit_uniformity(u, n_bins=n_bins)
        cov = coverage_table(hits)
        if (cov["n"] != u.size).any():
            raise DataError("hit sequences must have one value per forecast", column="hits", rule="shape")
        cmean = float(c.mean())
        if baseline_crps is None:
            bmean = skill = None
        else:
            bmean = float(np.mean(_array(baseline_crps, "baseline_crps", ndim=(0, 1))))
            skill = crps_skill(c, bmean)
        row95 = cov.loc[np.isclose(cov["level"], 0.95)]
        criteria: dict[str, bool | None] = {
            "pit_ad_p_gt_0.10": uni.passed,
            "coverage_95_in_94_96": bool(0.94 <= float(row95["coverage"].iloc[0]) <= 0.96) if len(row95) else None,
            "christoffersen_independence_95": (
                bool(float(row95["p_ind"].iloc[0]) >= 0.05)
                if len(row95) and np.isfinite(row95["p_ind"].iloc[0])
                else None
            ),
            "crps_improvement_ge_10pct": None if skill is None else bool(skill >= 0.10),
        }
        return cls(
            n_forecasts=int(u.size),
            pit=uni,
            coverage=cov,
            crps_mean=cmean,
            baseline_crps_mean=bmean,
            crps_skill=skill,
            criteria=criteria,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (coverage as a list of row records)."""
        return _jsonable(
            {
                "n_forecasts": self.n_forecasts,
                "pit": self.pit.to_dict(),
                "coverage": self.coverage,
                "crps_mean": self.crps_mean,
                "baseline_crps_mean": self.baseline_crps_mean,
                "crps_skill": self.crps_skill,
                "criteria": self.criteria,
                "passed": self.passed,
            }
        )

    def summary(self) -> str:
        """A few lines of plain text for logs and notebooks."""
        lines = [
            f"Calibration of {self.n_forecasts} forecasts: {'PASS' if self.passed else 'FAIL'}",
            f"  PIT: AD p = {self.pit.ad_pvalue:.4f}, KS p = {self.pit.ks_pvalue:.4f}, "
            f"chi2 p = {self.pit.chi2_pvalue:.4f}, shape = {self.pit.shape}",
        ]
        for r in self.coverage.itertuples(index=False):
            lines.append(
                f"  {r.level:.0%} interval: coverage {r.coverage:.4f}, Kupiec p = {r.p_pof:.4f}, "
                f"independence p = {r.p_ind:.4f}, conditional coverage p = {r.p_cc:.4f}"
            )
        crps = f"  CRPS mean = {self.crps_mean:.6g}"
        if self.crps_skill is not None:
            crps += f" (baseline {self.baseline_crps_mean:.6g}, skill {self.crps_skill:+.2%})"
        lines.append(crps)
        for k, v in self.criteria.items():
            lines.append(f"  [{'n/a' if v is None else ('pass' if v else 'FAIL')}] {k}")
        return "\n".join(lines)


def calibration_report(
    ensembles: ArrayLike,
    observations: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    levels: Sequence[float] = DEFAULT_LEVELS,
    baseline_crps: ArrayLike | float | None = None,
    randomize_ties: bool = False,
    seed: SeedLike = None,
    fair: bool = False,
    n_bins: int = 10,
) -> CalibrationReport:
    """PIT uniformity, interval coverage and CRPS of ensemble forecasts in one report.

    Parameters
    ----------
    ensembles, observations, weights
        As in :func:`pit`.
    levels
        Central interval levels for :func:`interval_hits`.
    baseline_crps
        Per-forecast CRPS of a naive baseline on the same targets (or its
        mean), for the CRPS-improvement criterion.
    randomize_ties, seed
        PIT rule (:func:`pit`).
    fair
        Fair ensemble CRPS (:func:`crps_ensemble`).
    n_bins
        Histogram bins of the chi-square PIT test.
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    u = pit(x, y, weights=weights, randomize_ties=randomize_ties, seed=seed)
    hits = interval_hits(x, y, levels, weights=weights)
    c = crps_ensemble(x, y, weights=weights, fair=fair)
    return CalibrationReport.from_components(u, hits, c, baseline_crps=baseline_crps, n_bins=n_bins)
