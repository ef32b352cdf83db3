r"""Scores of forecasts: CRPS, variance-forecast losses and the Diebold-Mariano test.

* **CRPS**: O(N log N) sorted form of the ensemble CRPS (numba kernels in
  :mod:`volresearch.validate._kernels`) and the Gaussian closed form.
* **Log score** of an ensemble: the log of its Gaussian kernel density at the
  outcome (Silverman's bandwidth).
* **Variance-forecast losses** (QLIKE, MSE) and the Diebold-Mariano test with
  the Harvey-Leybourne-Newbold correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from volresearch._util import jsonable
from volresearch.errors import DataError
from volresearch.validate import _kernels
from volresearch.validate._common import Alternative, _array, _ensembles_and_obs, _sorted, _weights

__all__ = [
    "DMTest",
    "crps_ensemble",
    "crps_normal",
    "mean_crps",
    "crps_skill",
    "log_score_ensemble",
    "qlike",
    "mse_var",
    "diebold_mariano",
]


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


def log_score_ensemble(ensembles: ArrayLike, observations: ArrayLike) -> np.ndarray:
    r"""Log predictive density of each outcome under its ensemble, by a Gaussian kernel density.

    :math:`\log \frac1N \sum_i \phi((y - x_i)/h)/h` with Silverman's bandwidth
    :math:`h = 0.9 \min(s, \mathrm{IQR}/1.34) N^{-1/5}` per forecast (``s`` the members' standard deviation;
    ``s`` alone when the IQR is zero, as on a coarse tick grid).  Units: log density per unit of the target
    (log returns: per unit of log return).  Higher is better; a proper score up to the smoothing.

    Parameters
    ----------
    ensembles
        ``(n_forecasts, n_members)``, at least two members.
    observations
        ``(n_forecasts,)`` outcomes.

    Raises
    ------
    DataError
        Bad shapes or non-finite values; an ensemble whose members are all equal (no spread to smooth).
    """
    x, y = _ensembles_and_obs(ensembles, observations)
    n = x.shape[1]
    if n < 2:
        raise DataError("the log score needs at least two members per ensemble")
    sd = x.std(axis=1, ddof=1)
    q75, q25 = np.percentile(x, [75.0, 25.0], axis=1)
    iqr = (q75 - q25) / 1.34
    spread = np.where(iqr > 0, np.minimum(sd, iqr), sd)
    if np.any(spread <= 0):
        row = int(np.flatnonzero(spread <= 0)[0])
        raise DataError(f"ensemble {row} has no spread: its log score is undefined", row=row)
    h = 0.9 * spread * n ** (-0.2)
    z = (y[:, None] - x) / h[:, None]
    top = np.min(z * z, axis=1)  # log-sum-exp of -z^2/2 around its largest term
    s = np.sum(np.exp(-0.5 * (z * z - top[:, None])), axis=1)
    return -0.5 * top + np.log(s / n) - np.log(h) - 0.5 * math.log(2.0 * math.pi)


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
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


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
