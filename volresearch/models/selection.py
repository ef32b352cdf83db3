"""Comparing fitted volatility models: information criteria, likelihood ratios, news impact.

* :func:`compare_fits` tabulates log-likelihood, AIC, BIC, persistence and
  half-life of several fits of the same returns (lower AIC/BIC is better).
* :func:`likelihood_ratio_test` tests a nested pair, e.g. GARCH inside GJR
  (``gamma = 0``): ``LR = 2 (LL_big - LL_small) ~ chi2(k_big - k_small)``.
  ``arch`` estimates GJR's ``gamma`` on ``[-1, 2]`` (with ``alpha + gamma >= 0``),
  so ``gamma = 0`` is an interior point and the plain chi-square applies.
  Only a restriction that does sit on the boundary of the parameter space
  (say ``alpha = 0`` with ``alpha >= 0``; pass ``boundary=True``) takes the
  50:50 mixture ``0.5 chi2(0) + 0.5 chi2(1)``, which halves the p-value.
* :func:`news_impact_curve`: next-bar variance as a function of today's shock
  with the current variance held at its long-run level (Engle & Ng 1993).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from volresearch.errors import FitError
from volresearch.models.garch import Fit

__all__ = ["compare_fits", "likelihood_ratio_test", "news_impact_curve"]


def compare_fits(fits: Sequence[Fit] | Mapping[str, Fit]) -> pd.DataFrame:
    """One row per fit: ``loglik, aic, bic, n_params, persistence, half_life``, sorted by BIC."""
    items = fits.items() if isinstance(fits, Mapping) else ((f.spec.label, f) for f in fits)
    rows = []
    hashes = set()
    for label, f in items:
        hashes.add(f.meta.get("data_hash"))
        rows.append(
            {
                "model": label,
                "loglik": f.loglik,
                "aic": f.aic,
                "bic": f.bic,
                "n_params": f.num_params,
                "persistence": f.persistence,
                "half_life_bars": f.half_life,
                "uncond_vol_annualised": f.unconditional_vol_annualised,
            }
        )
    if len(hashes) > 1:
        raise FitError("fits were estimated on different data; information criteria are not comparable")
    table = pd.DataFrame(rows).set_index("model").sort_values("bic")
    table["delta_bic"] = table["bic"] - table["bic"].min()
    return table


def likelihood_ratio_test(restricted: Fit, unrestricted: Fit, *, boundary: bool = False) -> dict[str, float]:
    """Likelihood-ratio test of a nested pair of fits on the same data.

    Parameters
    ----------
    restricted, unrestricted
        Fits of the same returns; the first nested in the second.
    boundary
        Whether the one restricted parameter lies on the boundary of the
        parameter space.  False for GARCH inside GJR (``gamma = 0`` is interior
        in ``arch``).

    Returns
    -------
    dict
        ``lr``, ``df``, ``pvalue`` (the p-value to use: chi-square, or the
        50:50 mixture when ``boundary`` and one restriction),
        ``pvalue_chi2`` (plain chi-square) and ``boundary`` (0 or 1).

    Raises
    ------
    FitError
        Fits on different data, or an "unrestricted" fit without more parameters.
    """
    if restricted.meta.get("data_hash") != unrestricted.meta.get("data_hash"):
        raise FitError("likelihood-ratio test needs both fits on the same data")
    df = unrestricted.num_params - restricted.num_params
    if df < 1:
        raise FitError("the unrestricted model must have more parameters than the restricted one")
    lr = max(0.0, 2.0 * (unrestricted.loglik - restricted.loglik))
    p_chi2 = float(stats.chi2.sf(lr, df))
    mixture = bool(boundary) and df == 1
    p = 0.5 * p_chi2 if mixture else p_chi2
    return {"lr": lr, "df": float(df), "pvalue": p, "pvalue_chi2": p_chi2, "boundary": float(mixture)}


def news_impact_curve(fit: Fit, shocks: np.ndarray | None = None, *, n: int = 201) -> pd.DataFrame:
    """Next-bar variance against the shock ``e_t``, current variance at its long-run level.

    GARCH/GJR: ``omega + (alpha + gamma 1[e<0]) e^2 + beta sigma2_bar``.
    EGARCH: ``exp(omega + alpha(|z| - sqrt(2/pi)) + gamma z + beta ln sigma2_bar)``, ``z = e / sigma_bar``.

    Parameters
    ----------
    shocks
        Shocks in log return per bar; default ``n`` points over +-5 long-run sd.

    Returns
    -------
    DataFrame
        ``shock`` (log return per bar), ``shock_sd`` (in long-run sd), ``variance``, ``volatility``.
    """
    p = fit.params
    s2 = fit.unconditional_variance
    if not math.isfinite(s2):
        s2 = float(np.mean(np.asarray(fit.conditional_volatility) ** 2))
    sd = math.sqrt(s2)
    e = np.linspace(-5 * sd, 5 * sd, n) if shocks is None else np.asarray(shocks, dtype=float)
    if fit.spec.model == "egarch":
        z = e / sd
        var = np.exp(
            p["omega"] + p["alpha"] * (np.abs(z) - math.sqrt(2 / math.pi)) + p["gamma"] * z + p["beta"] * math.log(s2)
        )
    else:
        var = p["omega"] + (p["alpha"] + p["gamma"] * (e < 0)) * e**2 + p["beta"] * s2
    return pd.DataFrame({"shock": e, "shock_sd": e / sd, "variance": var, "volatility": np.sqrt(var)})
