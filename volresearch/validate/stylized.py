r"""Stylized facts of financial returns, as a checklist with verdicts.

Real returns (and good simulated ones) show fat tails, no linear
autocorrelation, volatility clustering (long-lived autocorrelation of
:math:`|r|` and :math:`r^2`), a leverage effect for equity indices, and
stationary returns over unit-root log prices.  :func:`stylized_facts` measures
each fact with a standard test (``statsmodels``/``scipy``) and states the
criterion it is held to; :func:`compare_stylized_facts` puts real data and
simulated model output side by side, and :func:`acf_table` returns the raw
autocorrelations for plotting.

Returns are log returns per bar; prices are levels (tested in logs).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.diagnostic import het_arch, lilliefors
from statsmodels.tools.sm_exceptions import InterpolationWarning
from statsmodels.tsa.stattools import acf, adfuller, kpss

from volresearch.errors import DataError
from volresearch.models.diagnostics import ljung_box
from volresearch.validate._common import _array

__all__ = [
    "AssetClass",
    "QUANTILE_LEVELS",
    "SHAPIRO_MAX_N",
    "hill_estimator",
    "hill_k",
    "acf_table",
    "significant_lags",
    "stylized_facts",
    "compare_stylized_facts",
    "returns_from_paths",
    "LEVERAGE_EXPECTATION",
    "stylized_asset_class",
]

AssetClass = Literal["equity_index", "metal", "other"]

LEVERAGE_EXPECTATION: dict[str, str] = {
    "equity_index": "equity_index",
    "equity_index_future": "equity_index",
    "equity_etf": "equity_index",
    "equity": "equity_index",
    "metal": "metal",
    "metal_future": "metal",
    "fx": "other",
    "fx_spot": "other",
    "fx_future": "other",
    "rates": "other",
    "energy": "other",
    "crypto": "other",
    "other": "other",
}
"""Instrument asset class (``instruments.yaml``) -> leverage expectation of :func:`stylized_facts`.

Equity indices: falls raise future volatility (negative corr(r_t, |r_t+k|));
metals: no leverage (near zero); FX, rates, energy and crypto: no verdict
(an exchange rate has no natural "down": the sign of the effect depends on
which currency is the base, and commodities often show the inverse effect).
"""


def stylized_asset_class(asset_class: str | None) -> AssetClass:
    """The leverage expectation (:data:`AssetClass`) of an instrument's asset class; unknown classes give ``"other"``."""
    return LEVERAGE_EXPECTATION.get(str(asset_class or "other").lower(), "other")  # type: ignore[return-value]


QUANTILE_LEVELS: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Quantiles reported among the descriptives."""

SHAPIRO_MAX_N = 5000
"""Largest sample given to Shapiro-Wilk (its p-value is unreliable beyond)."""

ARCH_LM_LAGS = 10
"""Lags of the ARCH-LM regression of r_t^2 on its own past."""

LJUNG_BOX_LAGS: tuple[int, ...] = (10, 20)
"""Lags of the Ljung-Box tests."""

LEVERAGE_LAGS = 10
"""Lags ``k = 1..10`` of corr(r_t, |r_{t+k}|)."""

CLUSTERING_MIN_LAGS = 20
"""Volatility clustering criterion: |r| and r^2 autocorrelation significant out to 20+ lags."""

COLUMNS = ["group", "statistic", "value", "pvalue", "criterion", "passed"]


def _tuple_result(func: Callable[..., Any]) -> dict[str, bool]:
    """``{"result_object": False}`` where statsmodels offers it (0.15+), so results stay tuples."""
    return {"result_object": False} if "result_object" in inspect.signature(func).parameters else {}


_ADF_KW = _tuple_result(adfuller)
_KPSS_KW = _tuple_result(kpss)
_ARCH_KW = _tuple_result(het_arch)


# ================================================================ Hill
def hill_k(n: int) -> int:
    r"""Number of upper order statistics used per tail: :math:`k = \lceil\sqrt n\rceil`.

    The Hill estimator is consistent when :math:`k \to \infty` and
    :math:`k/n \to 0`; :math:`\sqrt n` is the usual compromise between the
    variance (:math:`\approx \alpha^2/k`) and the bias from the non-Pareto
    body of the distribution.  It uses the top 1.4% of 5,000 returns (0.3% of
    100,000), deep enough in the tail that Gaussian data give indices well
    above 5, whereas a fixed 5% threshold lets Gaussian samples pass as
    "fat-tailed" (index near 4).
    """
    return int(math.ceil(math.sqrt(n)))


def hill_estimator(x: ArrayLike, k: int) -> float:
    r"""Hill (1975) estimate of the tail index of the upper tail of ``x``.

    With :math:`X_{(1)} \ge X_{(2)} \ge \dots` the descending order statistics,

    .. math::

       \hat\alpha = \left[\frac1k\sum_{i=1}^k \ln X_{(i)} - \ln X_{(k+1)}\right]^{-1}.

    For a Pareto tail :math:`P(X > x) \propto x^{-\alpha}`, :math:`1/\hat\alpha`
    is the maximum-likelihood estimate above the threshold :math:`X_{(k+1)}`
    (standard error about :math:`\alpha/\sqrt k`).  For the lower tail of
    returns pass ``-x``.  Unitless.

    Parameters
    ----------
    x
        Sample; at least ``k + 1`` values must be positive.
    k
        Number of upper order statistics, ``1 <= k < n``.
    """
    a = _array(x, "x", ndim=1)
    k = int(k)
    if not 1 <= k < a.size:
        raise DataError(f"k must satisfy 1 <= k < n ({a.size}), got {k}", column="k", rule="range")
    top = -np.partition(-a, k)[: k + 1]
    top = np.sort(top)[::-1]
    if top[k] <= 0:
        raise DataError(
            f"the {k + 1} largest values of x must be positive (threshold {top[k]:.3g})", column="x", rule="range"
        )
    gamma = float(np.mean(np.log(top[:k])) - math.log(top[k]))
    return math.inf if gamma == 0 else 1.0 / gamma


# ================================================================= ACF
def _band(n: int, alpha: float) -> float:
    """White-noise band :math:`z_{1-\\alpha/2}/\\sqrt n` for sample autocorrelations."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0) / math.sqrt(n))


def acf_table(returns: ArrayLike, max_lag: int = 50, *, alpha: float = 0.05) -> pd.DataFrame:
    r"""Sample autocorrelations of :math:`r`, :math:`|r|` and :math:`r^2` for plotting.

    ``statsmodels.tsa.stattools.acf`` (FFT, denominator ``n``).  ``band`` is
    the white-noise band :math:`\pm z_{1-\alpha/2}/\sqrt n` (1.96/sqrt(n) at
    5%): under iid data each autocorrelation falls outside it with
    probability ``alpha``.  (Bartlett's band, which widens with the
    autocorrelations already seen, answers "is lag k significant given lags
    < k"; the white-noise band answers "is the series iid", the question
    behind volatility clustering.)

    Returns
    -------
    pandas.DataFrame
        Columns ``lag`` (1..max_lag), ``acf_r``, ``acf_abs``, ``acf_sq``,
        ``band``.
    """
    r = _returns(returns, "returns")
    max_lag = _max_lag(max_lag, r.size)
    lags = np.arange(1, max_lag + 1)
    return pd.DataFrame(
        {
            "lag": lags,
            "acf_r": acf(r, nlags=max_lag, fft=True)[1:],
            "acf_abs": acf(np.abs(r), nlags=max_lag, fft=True)[1:],
            "acf_sq": acf(r * r, nlags=max_lag, fft=True)[1:],
            "band": _band(r.size, alpha),
        }
    )


def significant_lags(acf_values: ArrayLike, band: float, *, two_sided: bool = False) -> int:
    """Last lag ``L`` such that lags ``1..L`` are all significant (0 if lag 1 is not).

    ``acf_values[0]`` is lag 1.  Significant means ``acf > band`` (positive
    dependence, the clustering case) or ``|acf| > band`` with ``two_sided``.
    """
    v = np.asarray(acf_values, dtype=float)
    sig = np.abs(v) > band if two_sided else v > band
    bad = np.flatnonzero(~sig)
    return int(bad[0]) if bad.size else int(v.size)


# ============================================================ helpers
def _returns(returns: ArrayLike, name: str) -> np.ndarray:
    r = _array(returns, name, ndim=1)
    if r.size < 30:
        raise DataError(f"{name} needs at least 30 values, got {r.size}", column=name, rule="shape")
    if float(np.var(r)) == 0.0:
        raise DataError(f"{name} is constant", column=name, rule="degenerate")
    return r


def _max_lag(max_lag: int, n: int) -> int:
    max_lag = int(max_lag)
    if not 1 <= max_lag <= n // 2:
        raise DataError(f"max_lag must satisfy 1 <= max_lag <= n/2 ({n // 2}), got {max_lag}", column="max_lag")
    return max_lag


def _row(
    group: str,
    statistic: str,
    value: float,
    pvalue: float = math.nan,
    criterion: str | None = None,
    passed: bool | None = None,
) -> dict[str, Any]:
    return {
        "group": group,
        "statistic": statistic,
        "value": float(value),
        "pvalue": float(pvalue),
        "criterion": criterion,
        "passed": None if passed is None else bool(passed),
    }


def _adf_lags(n: int) -> int:
    """Schwert's rule :math:`\\lfloor 12 (n/100)^{1/4}\\rfloor`, capped at 24 for long samples."""
    return int(min(24, math.floor(12.0 * (n / 100.0) ** 0.25)))


def _adf(x: np.ndarray) -> tuple[float, float, int]:
    lags = min(_adf_lags(x.size), x.size // 4)
    res = adfuller(x, maxlag=lags, regression="c", autolag=None, **_ADF_KW)
    return float(res[0]), float(res[1]), lags


def _kpss(x: np.ndarray) -> tuple[float, float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InterpolationWarning)
        stat, p, lags, _ = kpss(x, regression="c", nlags="auto", **_KPSS_KW)
    return float(stat), float(p), int(lags)


def _fit_rows(r: np.ndarray, prices: np.ndarray | None) -> list[dict[str, Any]]:
    rows = []
    mu, sd = float(r.mean()), float(r.std())
    ll_norm = float(np.sum(stats.norm.logpdf(r, mu, sd)))
    aic_norm = 2 * 2 - 2 * ll_norm
    # Student-t MLE on the standardised sample (better conditioned), mapped back.
    z = (r - mu) / sd
    df, loc, scale = stats.t.fit(z)
    loc, scale = mu + sd * loc, sd * scale
    ll_t = float(np.sum(stats.t.logpdf(r, df, loc, scale)))
    aic_t = 2 * 3 - 2 * ll_t
    rows += [
        _row("distribution_fit", "normal_loglik", ll_norm),
        _row("distribution_fit", "normal_aic", aic_norm),
        _row("distribution_fit", "student_t_df", df),
        _row("distribution_fit", "student_t_loglik", ll_t),
        _row(
            "distribution_fit",
            "student_t_aic",
            aic_t,
            criterion="Student-t fits better than normal (AIC_t < AIC_normal)",
            passed=aic_t < aic_norm,
        ),
    ]
    if prices is not None:
        logp = np.log(prices)
        s, m = float(logp.std()), float(logp.mean())
        ll_ln = float(np.sum(stats.lognorm.logpdf(prices, s, 0.0, math.exp(m)))) if s > 0 else math.nan
        rows += [
            _row("distribution_fit", "lognormal_sigma", s),
            _row("distribution_fit", "lognormal_loglik", ll_ln),
            _row("distribution_fit", "lognormal_aic", 2 * 2 - 2 * ll_ln),
        ]
    return rows


# ======================================================= stylized facts
def stylized_facts(
    returns: ArrayLike,
    *,
    prices: ArrayLike | None = None,
    max_lag: int = 50,
    alpha: float = 0.05,
    asset_class: AssetClass = "equity_index",
) -> pd.DataFrame:
    r"""Measure the stylized facts of a return series and check each criterion.

    Parameters
    ----------
    returns
        Log returns per bar, 1-D, finite, at least 30 values.
    prices
        Optional price levels (positive).  Used for the lognormal fit and the
        unit-root tests on log prices; without them the unit-root tests run
        on the cumulative sum of the returns (the log price up to a constant).
    max_lag
        Largest autocorrelation lag (at least 20 for the clustering verdict to
        be able to pass).
    alpha
        Significance level of the verdicts.
    asset_class
        ``"equity_index"`` (leverage: negative correlation expected),
        ``"metal"`` (near zero expected) or ``"other"`` (no leverage verdict);
        an instrument's class from ``instruments.yaml`` (``fx``, ``rates``,
        ``energy``, ``crypto`` ...) is mapped by :func:`stylized_asset_class`.

    Returns
    -------
    pandas.DataFrame
        Tidy table with columns ``group, statistic, value, pvalue, criterion,
        passed`` (``pvalue`` NaN where there is none; ``criterion`` None and
        ``passed`` None where no criterion applies).  Groups and rows:

        * ``descriptives``: ``n``, ``mean``, ``variance``, ``std``,
          ``skewness`` (adjusted Fisher-Pearson), ``excess_kurtosis``
          (adjusted, 0 for a normal; criterion kurtosis > 3, held as excess > 0
          with the one-sided Anscombe-Glynn test ``scipy.stats.kurtosistest``
          significant at ``alpha``), ``quantile_0.01`` ... ``quantile_0.99``.
        * ``normality`` (criterion: normality rejected, p < alpha):
          ``jarque_bera``; ``shapiro_wilk`` on a deterministic subsample of at
          most 5,000 evenly spaced points (``r[round(linspace(0, n-1,
          5000))]``, no random draw, because Shapiro-Wilk's p-value is not
          valid beyond 5,000); ``lilliefors`` (Kolmogorov-Smirnov with
          estimated mean and variance).
        * ``distribution_fit``: MLE fits with log-likelihood and
          :math:`AIC = 2k - 2\ln L`: normal (k = 2), Student-t (k = 3, df
          reported; criterion AIC_t < AIC_normal), lognormal of the prices
          (k = 2, location 0) when prices are given.
        * ``tails``: Hill tail index of the left (of ``-r``) and right tails
          with :math:`k = \lceil\sqrt n\rceil` (:func:`hill_k`); criterion
          2 <= alpha <= 5.
        * ``autocorrelation``: ``acf_r_lag1``; ``acf_r_significant_lags``
          (two-sided, reported); Ljung-Box on r at lags 10 and 20 (criterion
          p > alpha: no autocorrelation).  The classical Ljung-Box statistic
          assumes iid data and over-rejects on returns with strong volatility
          clustering, so a failure here on GARCH-like data is weak evidence of
          linear predictability.
        * ``clustering``: ``acf_abs_lag1``, ``acf_sq_lag1``;
          ``acf_abs_significant_lags`` and ``acf_sq_significant_lags``, the
          last lag up to which the autocorrelation stays above the white-noise
          band :math:`z_{1-\alpha/2}/\sqrt n` from lag 1 (criterion >= 20);
          Ljung-Box on :math:`r^2` at lags 10 and 20 and ARCH-LM (10 lags,
          ``het_arch`` on demeaned returns), criterion p < alpha.
        * ``leverage``: :math:`\rho_k = \mathrm{corr}(r_t, |r_{t+k}|)` for
          k = 1..10 and their mean ``leverage_mean``.  p-values are
          heteroskedasticity-robust: :math:`\rho_k` is the mean of the
          standardised products :math:`x^k_t = \tilde r_t\,|\tilde r|_{t+k}`
          and its standard error is Newey-West (Bartlett, 10 lags) on
          :math:`x^k_t` (on the average over k for the mean); the iid formula
          :math:`1/\sqrt n` would be far too small under volatility
          clustering.  Equity index: each :math:`\rho_k < 0`, and the mean
          significantly negative (one-sided p < alpha).  Metal: each
          :math:`\rho_k` and the mean not significant (p >= alpha).
        * ``stationarity``: ADF (constant, :math:`\lfloor 12(n/100)^{1/4}\rfloor`
          lags capped at 24, no lag search so it stays fast) and KPSS
          (level, Hobijn et al. automatic bandwidth; p-values are
          interpolated in statsmodels' table and therefore bounded to
          [0.01, 0.10]) on log prices (unit root expected: ADF p > alpha and
          KPSS p < alpha) and on returns (stationary: ADF p < alpha and KPSS
          p > alpha).
    """
    r = _returns(returns, "returns")
    n = r.size
    max_lag = _max_lag(max_lag, n)
    alpha = float(alpha)
    if str(asset_class).lower() not in LEVERAGE_EXPECTATION:
        raise DataError(f"unknown asset_class {asset_class!r}", column="asset_class", rule="choice")
    asset_class = stylized_asset_class(asset_class)
    p = None
    if prices is not None:
        p = _array(prices, "prices", ndim=1)
        if p.size < 30:
            raise DataError(f"prices needs at least 30 values, got {p.size}", column="prices", rule="shape")
        if np.any(p <= 0):
            raise DataError("prices must be positive", column="prices", rule="range")
    rows: list[dict[str, Any]] = []
    sig = f"p < {alpha:g}"
    nonsig = f"p > {alpha:g}"

    # descriptives
    kt = stats.kurtosistest(r, alternative="greater")
    exk = float(stats.kurtosis(r, fisher=True, bias=False))
    rows += [
        _row("descriptives", "n", n),
        _row("descriptives", "mean", r.mean()),
        _row("descriptives", "variance", r.var(ddof=1)),
        _row("descriptives", "std", r.std(ddof=1)),
        _row("descriptives", "skewness", stats.skew(r, bias=False), stats.skewtest(r).pvalue),
        _row(
            "descriptives",
            "excess_kurtosis",
            exk,
            kt.pvalue,
            f"kurtosis > 3 (excess > 0, Anscombe-Glynn one-sided {sig})",
            exk > 0 and kt.pvalue < alpha,
        ),
    ]
    for q, v in zip(QUANTILE_LEVELS, np.quantile(r, QUANTILE_LEVELS), strict=True):
        rows.append(_row("descriptives", f"quantile_{q:g}", v))

    # normality
    jb = stats.jarque_bera(r)
    sub = r if n <= SHAPIRO_MAX_N else r[np.round(np.linspace(0, n - 1, SHAPIRO_MAX_N)).astype(int)]
    sw = stats.shapiro(sub)
    lf_stat, lf_p = lilliefors(r, dist="norm", pvalmethod="table")
    crit_nonnormal = f"normality rejected ({sig})"
    rows += [
        _row("normality", "jarque_bera", jb.statistic, jb.pvalue, crit_nonnormal, jb.pvalue < alpha),
        _row("normality", "shapiro_wilk", sw.statistic, sw.pvalue, crit_nonnormal, sw.pvalue < alpha),
        _row("normality", "lilliefors", lf_stat, lf_p, crit_nonnormal, lf_p < alpha),
    ]

    # distribution fits
    rows += _fit_rows(r, p)

    # tails
    k = hill_k(n)
    for side, sample in (("left", -r), ("right", r)):
        try:
            h = hill_estimator(sample, k)
        except DataError:
            h = math.nan
        rows.append(_row("tails", f"hill_{side}", h, criterion=f"2 <= tail index <= 5 (k = {k})", passed=2 <= h <= 5))

    # autocorrelation and clustering
    table = acf_table(r, max_lag, alpha=alpha)
    band = float(table["band"].iloc[0])
    lb_r = ljung_box(r, LJUNG_BOX_LAGS)
    lb_sq = ljung_box(r * r, LJUNG_BOX_LAGS)
    rows += [
        _row("autocorrelation", "acf_r_lag1", table["acf_r"].iloc[0]),
        _row("autocorrelation", "acf_r_significant_lags", significant_lags(table["acf_r"], band, two_sided=True)),
    ]
    for lag in LJUNG_BOX_LAGS:
        pv = float(lb_r[str(lag)]["pvalue"])
        rows.append(
            _row(
                "autocorrelation",
                f"ljung_box_r_lag{lag}",
                lb_r[str(lag)]["stat"],
                pv,
                f"no autocorrelation in returns ({nonsig})",
                pv > alpha,
            )
        )
    crit_lags = f"significant from lag 1 out to {CLUSTERING_MIN_LAGS}+ lags (band {band:.4f})"
    rows += [
        _row("clustering", "acf_abs_lag1", table["acf_abs"].iloc[0]),
        _row("clustering", "acf_sq_lag1", table["acf_sq"].iloc[0]),
    ]
    for col, name in (("acf_abs", "acf_abs_significant_lags"), ("acf_sq", "acf_sq_significant_lags")):
        L = significant_lags(table[col], band)
        rows.append(_row("clustering", name, L, criterion=crit_lags, passed=L >= CLUSTERING_MIN_LAGS))
    for lag in LJUNG_BOX_LAGS:
        pv = float(lb_sq[str(lag)]["pvalue"])
        rows.append(
            _row(
                "clustering",
                f"ljung_box_sq_lag{lag}",
                lb_sq[str(lag)]["stat"],
                pv,
                f"squared returns autocorrelated ({sig})",
                pv < alpha,
            )
        )
    lm, lm_p, _, _ = het_arch(r - r.mean(), nlags=ARCH_LM_LAGS, **_ARCH_KW)
    rows.append(
        _row(
            "clustering",
            f"arch_lm_lag{ARCH_LM_LAGS}",
            lm,
            lm_p,
            f"ARCH effects ({sig})",
            lm_p < alpha,
        )
    )

    # leverage
    rows += _leverage_rows(r, alpha, asset_class)

    # stationarity
    level = np.log(p) if p is not None else np.concatenate([[0.0], np.cumsum(r)])
    label = "log_price" if p is not None else "cum_returns"
    adf_stat, adf_p, adf_lags = _adf(level)
    kpss_stat, kpss_p, kpss_lags = _kpss(level)
    rows += [
        _row(
            "stationarity",
            f"adf_{label}",
            adf_stat,
            adf_p,
            f"unit root not rejected ({nonsig}; {adf_lags} lags)",
            adf_p > alpha,
        ),
        _row(
            "stationarity",
            f"kpss_{label}",
            kpss_stat,
            kpss_p,
            f"level stationarity rejected ({sig}; bandwidth {kpss_lags})",
            kpss_p < alpha,
        ),
    ]
    adf_stat, adf_p, adf_lags = _adf(r)
    kpss_stat, kpss_p, kpss_lags = _kpss(r)
    rows += [
        _row(
            "stationarity",
            "adf_returns",
            adf_stat,
            adf_p,
            f"unit root rejected ({sig}; {adf_lags} lags)",
            adf_p < alpha,
        ),
        _row(
            "stationarity",
            "kpss_returns",
            kpss_stat,
            kpss_p,
            f"level stationarity not rejected ({nonsig}; bandwidth {kpss_lags})",
            kpss_p > alpha,
        ),
    ]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["criterion"] = out["criterion"].astype(object).where(out["criterion"].notna(), None)
    out["passed"] = out["passed"].astype(object)
    return out


def _hac_se_of_mean(x: np.ndarray, lags: int) -> float:
    """Newey-West (Bartlett, ``lags``) standard error of the mean of ``x``."""
    n = x.size
    xc = x - x.mean()
    s = float(np.dot(xc, xc)) / n
    for j in range(1, lags + 1):
        s += 2.0 * (1.0 - j / (lags + 1.0)) * float(np.dot(xc[j:], xc[:-j])) / n
    return math.sqrt(max(s, 0.0) / n)


def _leverage_rows(r: np.ndarray, alpha: float, asset_class: str) -> list[dict[str, Any]]:
    n = r.size
    a = np.abs(r)
    zr = (r - r.mean()) / r.std()
    za = (a - a.mean()) / a.std()
    K = LEVERAGE_LAGS
    terms = [zr[: n - k] * za[k:] for k in range(1, K + 1)]
    rhos = np.array([np.corrcoef(r[: n - k], a[k:])[0, 1] for k in range(1, K + 1)])
    ses = [_hac_se_of_mean(x, K) for x in terms]
    rows = []
    crit_lag: Callable[[float, float], bool | None]
    if asset_class == "equity_index":
        text_lag = "negative (equity index leverage)"
        crit_lag = lambda rho, p: rho < 0  # noqa: E731
    elif asset_class == "metal":
        text_lag = f"near zero: not significant (p >= {alpha:g}, metal)"
        crit_lag = lambda rho, p: p >= alpha  # noqa: E731
    else:
        text_lag = None
        crit_lag = lambda rho, p: None  # noqa: E731
    for k, (rho, se) in enumerate(zip(rhos, ses, strict=True), start=1):
        pv = float(2 * stats.norm.sf(abs(rho) / se)) if se > 0 else math.nan
        rows.append(_row("leverage", f"leverage_lag{k}", rho, pv, text_lag, crit_lag(rho, pv)))
    mean = float(rhos.mean())
    pooled = np.mean([x[: n - K] for x in terms], axis=0)
    se = _hac_se_of_mean(pooled, K)
    z = mean / se if se > 0 else math.nan
    if asset_class == "equity_index":
        pv = float(stats.norm.cdf(z))
        rows.append(
            _row(
                "leverage",
                "leverage_mean",
                mean,
                pv,
                f"mean corr(r_t, |r_t+k|), k=1..{K}, significantly negative (one-sided p < {alpha:g})",
                mean < 0 and pv < alpha,
            )
        )
    else:
        pv = float(2 * stats.norm.sf(abs(z)))
        rows.append(
            _row(
                "leverage",
                "leverage_mean",
                mean,
                pv,
                f"mean corr(r_t, |r_t+k|), k=1..{K}, not significant (p >= {alpha:g})"
                if asset_class == "metal"
                else None,
                (pv >= alpha) if asset_class == "metal" else None,
            )
        )
    return rows


# ========================================================== comparison
def returns_from_paths(
    paths: np.ndarray | Sequence[ArrayLike], *, kind: Literal["log_price", "returns"] = "log_price"
) -> list[np.ndarray]:
    """Per-path return series of simulated output.

    Parameters
    ----------
    paths
        A ``(steps, paths)`` matrix (one path per column), a 1-D array (one
        path), or a sequence of 1-D arrays (one path each, lengths may
        differ).
    kind
        ``"log_price"``: values are log prices and returns are their first
        differences along each path; ``"returns"``: values are already log
        returns.

    Returns
    -------
    list of numpy.ndarray
        One return array per path.  Differences are taken within a path only,
        never between the end of one path and the start of the next.
    """
    if kind not in ("log_price", "returns"):
        raise DataError(f"unknown kind {kind!r}", column="kind", rule="choice")
    if isinstance(paths, np.ndarray) or isinstance(paths, (pd.DataFrame, pd.Series)):
        a = _array(paths, "paths", ndim=(1, 2))
        cols = [a] if a.ndim == 1 else [a[:, j] for j in range(a.shape[1])]
    else:
        cols = [_array(c, f"paths[{i}]", ndim=1) for i, c in enumerate(paths)]
    if not cols:
        raise DataError("paths is empty", column="paths", rule="shape")
    return [np.diff(c) if kind == "log_price" else c for c in cols]


def compare_stylized_facts(
    real_returns: ArrayLike,
    simulated: Mapping[str, np.ndarray | Sequence[ArrayLike]],
    *,
    kind: Literal["log_price", "returns"] = "log_price",
    real_prices: ArrayLike | None = None,
    max_paths: int | None = None,
    max_lag: int = 50,
    alpha: float = 0.05,
    asset_class: AssetClass = "equity_index",
) -> pd.DataFrame:
    """Stylized facts of real returns and of each model's simulated returns, side by side.

    Each model's output is turned into per-path returns
    (:func:`returns_from_paths`; by default the input is a ``(steps, paths)``
    matrix of **log prices**, differenced along each path) and the paths are
    pooled by concatenating their return series in order.  Within-path order
    is kept, so serial statistics (ACF, Ljung-Box, ARCH-LM, leverage) see
    real consecutive returns; only the ``max_lag`` lagged pairs straddling
    each junction mix two paths, which biases serial statistics toward zero
    by about ``max_lag / steps`` -- simulate paths much longer than
    ``max_lag``.  The unit-root rows use the cumulative pooled returns.

    Parameters
    ----------
    real_returns
        Observed log returns.
    simulated
        Model name -> paths (see :func:`returns_from_paths`).
    kind
        Whether simulated values are log prices or returns.
    real_prices
        Optional observed prices for the real column.
    max_paths
        Use at most this many paths per model (the first ones), to bound run
        time.
    max_lag, alpha, asset_class
        As in :func:`stylized_facts`.

    Returns
    -------
    pandas.DataFrame
        Columns ``group, statistic, criterion``, then for each source
        (``real`` first, then the models in mapping order) a value column
        named after it and a ``<name>_passed`` column.  The criterion text is
        that of the real series (sample-dependent numbers in it, such as the
        ACF band, refer to the real sample); each model's verdict uses its
        own sample.  Price-only rows are NaN/None for the models.
    """
    if "real" in simulated:
        raise DataError("'real' is reserved for the observed series; rename the model", column="simulated")
    base = stylized_facts(real_returns, prices=real_prices, max_lag=max_lag, alpha=alpha, asset_class=asset_class)
    out = base[["group", "statistic"]].copy()
    out["criterion"] = base["criterion"]
    out["real"] = base["value"].to_numpy()
    out["real_passed"] = base["passed"].to_numpy()
    for name, paths in simulated.items():
        series = returns_from_paths(paths, kind=kind)
        if max_paths is not None:
            series = series[: int(max_paths)]
        pooled = np.concatenate(series)
        facts = stylized_facts(pooled, max_lag=max_lag, alpha=alpha, asset_class=asset_class)
        # real rows may include price-only statistics; align by statistic name
        keyed = facts.set_index("statistic")
        # unit-root rows are named after their input (log_price vs cum_returns)
        rename = {"adf_cum_returns": "adf_log_price", "kpss_cum_returns": "kpss_log_price"}
        if "adf_log_price" in set(out["statistic"]):
            keyed = keyed.rename(index=rename)
        out[name] = out["statistic"].map(keyed["value"]).to_numpy()
        passed = out["statistic"].map(keyed["passed"]).astype(object)
        out[f"{name}_passed"] = passed.where(passed.notna(), None).to_numpy()
    return out
