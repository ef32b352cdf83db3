r"""Interval coverage, VaR and expected-shortfall backtests of ensemble forecasts.

* Central prediction intervals per level from the ensemble quantiles (the
  package's one rule, :func:`ensemble_quantiles`), their 0/1 violation
  ("hit") sequences, Kupiec (1995) unconditional coverage and Christoffersen
  (1998) independence and conditional-coverage tests.
* VaR / ES: lower-tail quantile violations with the same tests, and the
  Acerbi & Szekely (2014) :math:`Z_2` test of expected shortfall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from volresearch._util import jsonable
from volresearch.errors import DataError
from volresearch.validate._common import (
    DEFAULT_LEVELS,
    SeedLike,
    _array,
    _check_prob,
    _ensembles_and_obs,
    _hits_array,
    _levels,
    _rng,
    _sorted,
    _step_quantiles,
    _tail_means,
    _weights,
    ensemble_quantiles,
)

__all__ = [
    "DEFAULT_LEVELS",
    "LRTest",
    "ensemble_quantiles",
    "kupiec_pof",
    "christoffersen_independence",
    "christoffersen_conditional_coverage",
    "interval_hits",
    "coverage_table",
    "interval_coverage",
    "ensemble_var_es",
    "acerbi_szekely_z2",
    "var_backtest",
]


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
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


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
    :math:`\frac1\alpha\int_0^\alpha Q(u)\,du` of the same (step) quantile
    function (also a return).  Losses-as-positive conventions are
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
    var = _step_quantiles(xs, ps, np.broadcast_to(a, (x.shape[0], a.size)))
    es = _tail_means(xs, ps, a)
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
        draws = _step_quantiles(xs, ps, rng.random((n, b)))
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
        missing = [float(v) for v in a if v not in lookup]
        if missing:
            raise DataError(f"no VaR forecast for alpha {missing}", column="forecasts", rule="key")
        var = np.column_stack([_array(lookup[v], f"forecasts[{v:g}]", ndim=1) for v in a])
        if es is not None:
            es_lookup = {float(k): v for k, v in es.items()}
            missing = [float(v) for v in a if v not in es_lookup]
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
        var = _step_quantiles(xs, ps, np.broadcast_to(a, (x.shape[0], a.size)))
        es_arr = _tail_means(xs, ps, a)
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
