r"""Multiplicative-component intraday GARCH (Engle-Sokalska 2012).

The one-bar intraday log return at slot ``i`` of session day ``d`` is

.. math::

    r_{d,i} = \sqrt{m_{d,i}\, q_{d,i}}\; z_{d,i}, \qquad
    m_{d,i} = h_d \frac{s_i}{\sum_{j<n_d} s_j}, \qquad
    q_{d,i+1} = \omega + (\alpha + \gamma 1[u_{d,i} < 0])\, u_{d,i}^2 + \beta q_{d,i},

with ``u = r / sqrt(m)`` the deseasonalised return, ``z`` iid with any
supported law (unit variance), and

``h_d``
    the **ex-ante forecast of the intraday variance of session d** (squared
    log return per session day, gap excluded), made with information up to
    session ``d - 1``.  Three daily models (``daily=``):

    ``"garch"``
        GJR-t on session (close-to-close) log returns, its variance scaled by
        the sample's intraday share ``c = sum RV_d / sum R_d^2``
        (``h_d = c sigma^2_d``).  Needs :data:`MIN_DAYS_GARCH` sessions.
    ``"har"``
        HAR-RV on log RV (:func:`volresearch.models.har.fit_har`, arch's
        HARX), one-step fitted values (log-normal bias corrected) in sample
        and iterated forecasts ahead.  Needs :data:`MIN_DAYS_HAR` sessions.
    ``"ewma"``
        EWMA of the daily RV, :math:`h_{d+1} = \lambda h_d + (1 - \lambda) RV_d`
        (:data:`DAILY_EWMA_LAMBDA`), started at the mean RV of the first five
        sessions, forecast flat.  The documented fallback when the sample is too
        short to identify a daily GARCH or HAR (a typical file of one month of
        one-minute bars holds 20-30 sessions).

    ``"auto"`` takes ``garch`` with at least :data:`MIN_DAYS_GARCH` sessions,
    else ``har`` with at least :data:`MIN_DAYS_HAR`, else ``ewma``.  A named
    method with too few sessions falls back to ``ewma`` with a flag.  RV of a
    partial session is scaled to a full one by its share of the diurnal factor.
``s_i``
    the robust diurnal factor (mean 1 over a full session) of
    :func:`volresearch.models.diurnal.fit_diurnal`, slots from the session
    calendar, so half-days, breaks and missing bars cannot misalign it.
``q``
    a unit-mean GARCH/GJR/EGARCH on the deseasonalised regular returns,
    fitted by the robust :func:`volresearch.models.fit_garch` (zero mean by
    default); with the daily and diurnal variation removed its persistence is
    well below that of a GARCH on raw one-minute returns.

Session-aware returns (:func:`volresearch.data.session_returns.session_returns`):
regular and intraday-gap returns feed ``q`` and the diurnal factor; gap
returns (across a break, a weekend, a holiday, a long hole) feed the daily
component only.  :math:`G h_d` is added to the multiplier of the first bar
after a gap, with :math:`G` the maximum-likelihood scale of the standardised
gap returns :math:`g_d / \sqrt{h_d}` under the intraday law
(:func:`gap_variance_ratio`; their mean square, kept in the diagnostics as
``gap_ratio_mean``, is dominated by the rare news gap of a short window).

The fitted result forecasts the variance multiplier of any future bar from
its calendar time (:meth:`IntradayFit.variance_multiplier`), so a 1,440-step
fan follows the clock: it widens into the open, narrows into the night and
skips the break.  Units: returns are log returns per bar; ``h`` is variance
per session day; ``m`` is variance per bar; ``q`` is dimensionless.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch._util import float_array, jsonable, readonly
from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds, infer_calendar
from volresearch.data.session_returns import DEFAULT_MAX_MISSING, session_returns, session_slots
from volresearch.errors import ConfigError, DataError, FitError
from volresearch.models.diurnal import DiurnalFactor, deseasonalise, fit_diurnal, session_bar_counts
from volresearch.models.garch import Fit, ModelSpec, fit_garch
from volresearch.models.realized import daily_measures, library_versions
from volresearch.models.returns import data_hash

__all__ = [
    "DAILY_EWMA_LAMBDA",
    "DAILY_METHODS",
    "DailyComponent",
    "FORECAST_SESSIONS",
    "IntradayFit",
    "MIN_DAYS_GARCH",
    "MIN_DAYS_HAR",
    "fit_intraday",
    "gap_variance_ratio",
]

DailyMethod = Literal["auto", "garch", "har", "ewma"]
#: Daily-variance models of the multiplicative model.
DAILY_METHODS = ("auto", "garch", "har", "ewma")
#: Sessions a daily GARCH needs (about a year of trading days).
MIN_DAYS_GARCH = 250
#: Sessions a HAR-RV with lags 1, 5, 22 needs (22 to start it, the rest to estimate it).
MIN_DAYS_HAR = 60
#: Decay of the EWMA of daily RV (RiskMetrics' daily value).
DAILY_EWMA_LAMBDA = 0.94
#: Sessions ahead for which the daily variance forecast is stored (held flat beyond).
FORECAST_SESSIONS = 64
#: A session with fewer returns than this share of its bars does not update the daily EWMA.
MIN_SESSION_SHARE = 0.25
#: Accepted range of the sample mean of ``r^2`` over the model's mean variance ``m E[q]`` (1 for a consistent
#: long-run level; outside it the fit's volatility level is off by more than a factor of 2).
VARIANCE_RATIO_BOUNDS = (0.25, 4.0)
#: Share of unchanged bar-to-bar closes at and above which the spike at zero return is severe: a density law
#: with a cusp at zero (GED and skewed GED with shape below 1) then fits the spike instead of the spread.
#: Measured on one-minute bars: 2.1% (BTC perpetual), 4.5% (USD/JPY), 10.5% and 12.3% (the embedded ES and GC
#: futures) leave the skewed-GED fit of the intraday model sound (shape 1.16-1.24, long-run level within 5% of
#: the sample's); 26% (an illiquid ETF) drives its shape to the lower bound 0.5 in 27 of 41 daily refits and
#: 29% (the embedded SI futures) to 0.53 with a long-run variance 12 times the sample's.
SEVERE_ZERO_SHARE = 0.20


# --------------------------------------------------------------------------- daily component
@dataclass(frozen=True, eq=False)
class DailyComponent:
    """Daily variance ``h_d`` of the multiplicative model (variance per session day, gap excluded).

    Attributes
    ----------
    requested, method
        Daily model asked for and the one used (``garch``, ``har`` or ``ewma``).
    reason
        Why ``method`` differs from ``requested`` (empty when it does not).
    sessions
        In-sample session labels (naive trading dates), oldest first.
    rv
        Realised intraday variance per session, scaled to a full session.
    h
        Ex-ante forecast of each in-sample session's variance (made the day before).
    forecast
        ``h`` of the next :data:`FORECAST_SESSIONS` sessions after the last one.
    details
        Parameters of the daily model (JSON-safe).
    """

    requested: str
    method: str
    reason: str
    sessions: pd.DatetimeIndex
    rv: np.ndarray
    h: np.ndarray
    forecast: np.ndarray
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("rv", "h", "forecast"):
            object.__setattr__(self, name, readonly(getattr(self, name), dtype=np.float64, copy=True))

    @property
    def last_session(self) -> pd.Timestamp:
        return pd.Timestamp(self.sessions[-1])

    def path(self, k: np.ndarray) -> np.ndarray:
        """``h`` of the session ``k`` sessions after the last one (``k = 0``: the last session itself)."""
        full = np.concatenate([[self.h[-1]], self.forecast])
        return full[np.minimum(np.asarray(k, dtype=np.int64), full.size - 1)]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "requested": self.requested,
                "method": self.method,
                "reason": self.reason,
                "sessions": [str(pd.Timestamp(s).date()) for s in self.sessions],
                "rv": self.rv,
                "h": self.h,
                "forecast": self.forecast,
                "details": dict(self.details),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DailyComponent:
        return cls(
            requested=str(d["requested"]),
            method=str(d["method"]),
            reason=str(d["reason"]),
            sessions=pd.DatetimeIndex(pd.to_datetime(d["sessions"]), name="session"),
            rv=float_array(d["rv"]),
            h=float_array(d["h"]),
            forecast=float_array(d["forecast"]),
            details=dict(d.get("details", {})),
        )


def _ewma_path(rv: np.ndarray, usable: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """Ex-ante EWMA ``h_d`` of each session and the forecast after the last one."""
    first = rv[usable][:5]
    level = float(np.mean(first)) if first.size else float(np.nanmean(rv))
    h = np.empty(rv.size)
    for d in range(rv.size):
        h[d] = level
        if usable[d]:
            level = lam * level + (1.0 - lam) * float(rv[d])
    return h, level


def _daily_component(daily: pd.DataFrame, session_bars: pd.Series, requested: str, *, lam: float) -> DailyComponent:
    sessions = pd.DatetimeIndex(daily.index)
    n_ret = daily["n_returns"].to_numpy(dtype=np.float64)
    n_full = session_bars.reindex(sessions).to_numpy(dtype=np.float64)
    share = np.where(n_full > 0, np.minimum(n_ret / np.maximum(n_full, 1.0), 1.0), 0.0)
    raw_rv = daily["rv"].to_numpy(dtype=np.float64)
    usable = (share >= MIN_SESSION_SHARE) & np.isfinite(raw_rv) & (raw_rv > 0)
    if usable.sum() < 2:
        raise FitError(f"{int(usable.sum())} usable session days: too few for a daily variance", reason="too_few")
    rv = np.where(usable, raw_rv / np.where(share > 0, share, 1.0), np.nan)
    n_days = int(usable.sum())
    method = requested
    reason = ""
    if requested == "auto":
        method = "garch" if n_days >= MIN_DAYS_GARCH else ("har" if n_days >= MIN_DAYS_HAR else "ewma")
        if method != "garch":
            reason = f"{n_days} session days: a daily GARCH needs >= {MIN_DAYS_GARCH}" + (
                f", HAR-RV >= {MIN_DAYS_HAR}" if method == "ewma" else ""
            )
    elif requested == "garch" and n_days < MIN_DAYS_GARCH:
        method, reason = "ewma", f"a daily GARCH needs >= {MIN_DAYS_GARCH} session days, got {n_days}"
    elif requested == "har" and n_days < MIN_DAYS_HAR:
        method, reason = "ewma", f"HAR-RV needs >= {MIN_DAYS_HAR} session days, got {n_days}"
    h_ewma, level = _ewma_path(rv, usable, lam)
    details: dict[str, Any] = {"lambda": lam, "n_days": n_days, "units": "variance per session day"}
    if method == "ewma":
        return DailyComponent(requested, "ewma", reason, sessions, rv, h_ewma, np.full(FORECAST_SESSIONS, level),
                              details)  # fmt: skip
    if method == "har":
        from volresearch.models.har import fit_har, har_regressors

        y = pd.Series(np.where(usable, rv, np.nan), index=sessions).ffill()
        try:
            har = fit_har(y.to_numpy(), log=True)
        except (FitError, DataError, ValueError) as exc:
            return DailyComponent(requested, "ewma", f"HAR-RV failed: {exc}", sessions, rv, h_ewma,
                                  np.full(FORECAST_SESSIONS, level), details)  # fmt: skip
        reg = har_regressors(np.log(y.to_numpy()), har.lags)
        pred = np.full(rv.size, np.nan)
        fitted = har.params["const"] + sum(har.params[f"har_{lag}"] * reg[f"har_{lag}"].to_numpy() for lag in har.lags)
        # regressors of row d use information up to d; they forecast session d + 1
        pred[1:] = np.exp(np.asarray(fitted)[:-1] + 0.5 * har.sigma2)
        h = np.where(np.isfinite(pred), pred, h_ewma)
        details.update({"har": har.to_dict()})
        return DailyComponent(requested, "har", reason, sessions, rv, h,
                              har.forecast(FORECAST_SESSIONS)["rv"].to_numpy(), details)  # fmt: skip
    # daily GJR-t on session returns
    r_day = (daily["gap_return"].fillna(0.0) + daily["open_to_close"].fillna(0.0)).to_numpy(dtype=np.float64)
    try:
        dfit = fit_garch(pd.Series(r_day, index=sessions), ModelSpec("gjr", "t", "zero"), returns=True, horizon=20)
    except FitError as exc:
        return DailyComponent(requested, "ewma", f"daily GARCH failed: {exc}", sessions, rv, h_ewma,
                              np.full(FORECAST_SESSIONS, level), details)  # fmt: skip
    c = float(np.nansum(rv[usable]) / np.sum(r_day[usable] ** 2))
    h = c * np.asarray(dfit.conditional_volatility) ** 2
    details.update({"intraday_share": c, "daily_fit": dfit.to_dict(include_series=False)})
    return DailyComponent(requested, "garch", reason, sessions, rv, h,
                          c * dfit.forecast(FORECAST_SESSIONS)["variance"].to_numpy(), details)  # fmt: skip


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class IntradayFit:
    """Immutable multiplicative-component intraday GARCH (see the module docstring).

    Attributes
    ----------
    q_fit
        The GARCH-family fit of ``q`` on the deseasonalised returns (dimensionless units).
    diurnal
        The diurnal factor ``s_i``.
    daily
        The daily component ``h_d``.
    gap_ratio
        ``G``: variance of a gap return in units of ``h_d``.
    calendar_name, bar_seconds_
        Session clock.
    last_price, end
        Last close and time of the last bar.
    diagnostics
        ``variance_ratio`` (sample mean of ``r^2`` over the model's mean
        ``m E[q]``; near 1 when the unconditional level is consistent),
        ``zero_share`` (share of regular returns exactly zero: prices on a
        tick grid), ``n_regular``, ``n_gap``.
    meta
        Data hash, window, options, versions.
    extra_flags
        Flags of the multiplicative fit itself (fallbacks); :attr:`flags` adds ``q``'s.
    """

    q_fit: Fit
    diurnal: DiurnalFactor
    daily: DailyComponent
    gap_ratio: float
    calendar_name: str
    bar_seconds_: float
    last_price: float
    end: pd.Timestamp
    diagnostics: Mapping[str, Any]
    meta: Mapping[str, Any]
    extra_flags: tuple[str, ...] = ()

    # ----------------------------------------------------------- model interface
    @property
    def model(self) -> str:
        """Registry name, ``intraday-<model>-<dist>``."""
        return f"intraday-{self.q_fit.spec.label}"

    @property
    def kernel(self) -> str:
        """Path kernel id, ``intraday-<recursion of q>``."""
        return f"intraday-{self.q_fit.spec.model}"

    @property
    def dist(self) -> str:
        return self.q_fit.spec.dist

    @property
    def bar_seconds(self) -> float:
        return self.bar_seconds_

    @property
    def calendar(self) -> str:
        return self.calendar_name

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(self.extra_flags) + tuple(f"intraday component: {f}" for f in self.q_fit.all_flags)

    @property
    def persistence(self) -> float:
        """Persistence of ``q`` (per bar)."""
        return self.q_fit.persistence

    def simulation_params(self) -> dict[str, float]:
        """Parameters of ``q`` (deseasonalised units; ``mu`` per unit of ``sqrt(m)``) and the law's shape."""
        return self.q_fit.simulation_params()

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end``, ``q_next`` (``q`` of the next bar), ``last_u`` (last deseasonalised
        residual), ``h_current`` (``h`` of the last session) and ``last_session``."""
        return {
            "last_price": self.last_price,
            "end": self.end,
            "q_next": self.q_fit.next_variance,
            "last_u": self.q_fit.last_resid,
            "h_current": float(self.daily.h[-1]),
            "last_session": self.daily.last_session,
        }

    # ----------------------------------------------------------- forecasting
    def variance_multiplier(self, times: Any, *, previous: Any = None) -> np.ndarray:
        r"""Variance multiplier :math:`m_t` of the bars starting at ``times`` (squared log return per bar).

        :math:`m_t = h_{k(t)} s_{i(t)} / \sum_{j<n_{d(t)}} s_j`, plus :math:`G h_{k(t)}` when the bar
        follows a gap (its predecessor, ``previous`` for the first one, default the last fitted bar,
        lies in another session or across a break).  ``k(t)`` counts sessions after the last fitted
        one (0: that session), ``h_k`` from :attr:`daily`.  The variance of the bar's return is
        :math:`m_t q_t`.

        Raises
        ------
        DataError
            A time outside every session of the calendar.
        """
        idx = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
        prev = pd.Timestamp(self.end if previous is None else previous)
        prev = prev.tz_localize("UTC") if prev.tz is None else prev.tz_convert("UTC")
        allt = pd.DatetimeIndex([prev]).append(idx)
        pos, slot, side, sessions = session_slots(allt, get_calendar(self.calendar_name), self.bar_seconds_)
        if np.any(pos[1:] < 0):
            bad = np.flatnonzero(pos[1:] < 0)
            raise DataError("bar times outside every session of the calendar", row=[int(b) for b in bad[:10]])
        labels = pd.DatetimeIndex(sessions.index)
        labels = labels.tz_localize(None) if labels.tz is not None else labels
        lab = labels[pos[1:]]
        last = self.daily.last_session
        later = np.unique(lab[lab > last].asi8)
        k = np.where(lab.asi8 <= last.value, 0, np.searchsorted(later, lab.asi8) + 1)
        h = self.daily.path(k)
        d = self.diurnal
        table = np.vstack([d.session_factor(w) for w in range(7)])
        cums = np.concatenate([np.zeros((7, 1)), np.cumsum(table, axis=1)], axis=1)
        wd = np.asarray(lab.day_of_week)
        counts = np.minimum(session_bar_counts(sessions, self.bar_seconds_)[pos[1:]], d.n_slots)
        sl = np.minimum(slot[1:], d.n_slots - 1)
        m = h * table[wd, sl] / cums[wd, np.maximum(counts, 1)]
        gap = (pos[1:] != pos[:-1]) | (side[1:] != side[:-1])
        return m + np.where(gap, self.gap_ratio * h, 0.0)

    # ----------------------------------------------------------- presentation
    def summary(self) -> str:
        q = self.q_fit
        p = q.params
        lines = [
            f"Multiplicative intraday GARCH {self.model} on {self.calendar_name} ({self.bar_seconds_:g}s bars), "
            f"{q.n_obs} intraday returns, {len(self.daily.sessions)} sessions, up to {self.end}",
            f"daily component: {self.daily.method} (requested {self.daily.requested})"
            + (f" - {self.daily.reason}" if self.daily.reason else ""),
            f"  next-session h: {self.daily.forecast[0]:.4g} (variance per session day); "
            f"gap variance G = {self.gap_ratio:.4g} x h",
            f"diurnal factor: max {np.nanmax(self.diurnal.factor):.3f} at slot "
            f"{int(np.nanargmax(self.diurnal.factor))}, min {np.nanmin(self.diurnal.factor):.3f} at slot "
            f"{int(np.nanargmin(self.diurnal.factor))} (mean 1)",
            f"intraday component q ({q.spec.model}, {q.spec.dist}, {q.spec.mean} mean): "
            + ", ".join(f"{k} {v:.4g}" for k, v in p.items()),
            f"  persistence {q.persistence:.4f}, half-life {q.half_life:.1f} bars, E[q] "
            f"{q.unconditional_variance:.4g}, q_next {q.next_variance:.4g}",
            f"sample mean r^2 / model mean variance: {self.diagnostics.get('variance_ratio', math.nan):.3f}; "
            f"zero returns {100 * self.diagnostics.get('zero_share', math.nan):.1f}%",
        ]
        lines += [f"warning: {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``kind = "volresearch.IntradayFit"``); :meth:`from_dict` inverts it."""
        return {
            "kind": "volresearch.IntradayFit",
            "model": self.model,
            "kernel": self.kernel,
            "dist": self.dist,
            "persistence": self.persistence,
            "flags": list(self.flags),
            "extra_flags": list(self.extra_flags),
            "q": self.q_fit.to_dict(),
            "diurnal": self.diurnal.to_dict(),
            "daily": self.daily.to_dict(),
            "gap_ratio": self.gap_ratio,
            "calendar": self.calendar_name,
            "bar_seconds": self.bar_seconds_,
            "last_price": self.last_price,
            "end": self.end.isoformat(),
            "diagnostics": jsonable(dict(self.diagnostics)),
            "meta": jsonable(dict(self.meta)),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IntradayFit:
        if d.get("kind") != "volresearch.IntradayFit":
            raise DataError("not a volresearch IntradayFit dictionary (kind='volresearch.IntradayFit')")
        return cls(
            q_fit=Fit.from_dict(d["q"]),
            diurnal=DiurnalFactor.from_dict(d["diurnal"]),
            daily=DailyComponent.from_dict(d["daily"]),
            gap_ratio=float(d["gap_ratio"]),
            calendar_name=str(d["calendar"]),
            bar_seconds_=float(d["bar_seconds"]),
            last_price=float(d["last_price"]),
            end=pd.Timestamp(d["end"]),
            diagnostics=dict(d["diagnostics"]),
            meta=dict(d["meta"]),
            extra_flags=tuple(str(f) for f in d.get("extra_flags", [])),
        )

    def __repr__(self) -> str:
        return f"IntradayFit({self.model}, daily={self.daily.method}, persistence={self.persistence:.4f})"


# --------------------------------------------------------------------------- fitting
#: Fewer gap returns than this: ``G`` is their mean square (no law's scale can be estimated from so few).
MIN_GAPS_MLE = 5


def gap_variance_ratio(g: np.ndarray, dist: str, params: Mapping[str, float], q_mean: float) -> float:
    r"""Gap variance ratio :math:`G` of the standardised gap returns ``g = gap / sqrt(h_d)`` (dimensionless).

    The path kernels draw a gap bar's return as :math:`\sqrt{(m + G h) q}\, z` with ``z`` from the
    intraday law, so ``G`` is the maximum-likelihood scale of ``g ~ sqrt(G q_mean) z`` under that law
    (``dist`` with shape ``params``, ``q_mean`` = E[q]).  Under heavy tails this is far more stable across
    windows than the mean of ``g^2`` (a few sessions' gaps, one of them a news gap, dominate the mean);
    with a normal law the two coincide up to ``q_mean``.  With fewer than :data:`MIN_GAPS_MLE` finite gaps
    the mean square over ``q_mean`` is returned (0 with none).
    """
    from scipy.optimize import minimize_scalar

    from volresearch.models.distributions import get_distribution, make_distribution

    x = np.asarray(g, dtype=np.float64)
    x = x[np.isfinite(x)]
    qm = float(q_mean) if np.isfinite(q_mean) and q_mean > 0 else 1.0
    if x.size == 0:
        return 0.0
    ms = float(np.mean(x**2)) / qm
    if x.size < MIN_GAPS_MLE or ms <= 0.0:
        return ms
    law = make_distribution(dist)
    shape = np.array([float(params[p]) for p in get_distribution(dist).parameter_names], dtype=np.float64)

    def nll(log_g: float) -> float:
        s2 = np.full(x.size, math.exp(log_g) * qm)
        return -float(law.loglikelihood(shape, x, s2, individual=False))

    center = math.log(ms)
    res = minimize_scalar(nll, bounds=(center - 12.0, center + 3.0), method="bounded", options={"xatol": 1e-6})
    return float(math.exp(res.x))


def fit_intraday(
    bars: pd.DataFrame,
    *,
    calendar: str | TradingCalendar | None = None,
    daily: DailyMethod = "auto",
    model: str = "gjr",
    dist: str = "sged",
    mean: Literal["zero", "constant"] = "zero",
    window: int | None = None,
    diurnal_method: str = "median",
    fourier: int | None = 4,
    weekday: bool = False,
    n_boot: int = 0,
    max_missing: int = DEFAULT_MAX_MISSING,
    ewma_lambda: float = DAILY_EWMA_LAMBDA,
    seed: int | None = 0,
) -> IntradayFit:
    """Fit the multiplicative-component intraday GARCH to intraday bars.

    Parameters
    ----------
    bars
        Bars shorter than a day (``close``; ``open`` lets each session's first bar count) on a UTC index.
    calendar
        Session calendar (preset name or object); inferred from the index when ``None``.
    daily
        Daily variance model: ``"auto"``, ``"garch"``, ``"har"`` or ``"ewma"`` (module docstring).
    model, dist, mean
        Specification of ``q`` (any volatility model and innovation law of :func:`fit_garch`).
    window
        Use only the last ``window`` bars.
    diurnal_method, fourier, weekday, n_boot
        Options of :func:`~volresearch.models.diurnal.fit_diurnal`.
    max_missing
        In-session hole rule of :func:`~volresearch.data.session_returns.session_returns`.
    ewma_lambda
        Decay of the daily EWMA.
    seed
        Seed of the diurnal bootstrap.

    Returns
    -------
    IntradayFit

    Raises
    ------
    ConfigError
        Daily bars, unknown option.
    FitError
        Too few sessions, or ``q`` rejected by the checks of :func:`fit_garch`.
    """
    if daily not in DAILY_METHODS:
        raise ConfigError(f"unknown daily method {daily!r}; choose one of {', '.join(DAILY_METHODS)}")
    if not isinstance(bars, pd.DataFrame) or "close" not in bars.columns:
        raise DataError("bars must be a DataFrame with a 'close' column", column="close")
    if window is not None:
        bars = bars.iloc[-int(window) :]
    index = pd.DatetimeIndex(bars.index)
    step = infer_bar_seconds(index)
    if step is None or step >= 86_400:
        raise ConfigError("the intraday model needs bars shorter than a day; use a GARCH-family model for daily bars")
    cal = get_calendar(calendar) if calendar is not None else infer_calendar(index)[0]
    try:
        diurnal = fit_diurnal(
            bars, cal, bar_seconds=step, method=diurnal_method, fourier=fourier, weekday=weekday, n_boot=n_boot,
            max_missing=max_missing, seed=seed,
        )  # fmt: skip
    except DataError as exc:  # too few sessions or slots: this model cannot be fitted to these bars
        raise FitError(f"diurnal factor cannot be estimated: {exc}", reason="too_few") from None
    sr = session_returns(bars, cal, bar_seconds=step, max_missing=max_missing)
    measures = daily_measures(sr)
    _, _, _, sessions = session_slots(index, cal, step)
    bar_counts = pd.Series(session_bar_counts(sessions, step), index=pd.DatetimeIndex(sessions.index))
    bar_counts.index = bar_counts.index.tz_localize(None) if bar_counts.index.tz is not None else bar_counts.index
    component = _daily_component(measures, bar_counts, daily, lam=float(ewma_lambda))
    h_series = pd.Series(component.h, index=component.sessions)
    des = deseasonalise(bars, cal, diurnal, h_series, max_missing=max_missing)
    des = des[np.isfinite(des["z"].to_numpy()) & (des["variance"].to_numpy() > 0)]
    try:
        q_fit = fit_garch(des["z"], ModelSpec(model, dist, mean), returns=True)  # type: ignore[arg-type]
    except FitError as exc:
        raise FitError(f"intraday component {model}-{dist} rejected: {exc}", reason=exc.reason) from None
    gaps = sr[sr["kind"].astype(str).to_numpy() == "gap"]
    h_gap = h_series.reindex(pd.DatetimeIndex(gaps["session"])).to_numpy()
    ok = np.isfinite(h_gap) & (h_gap > 0)
    g_std = gaps["gap_return"].to_numpy(dtype=np.float64)[ok] / np.sqrt(h_gap[ok])
    gap_ratio = gap_variance_ratio(g_std, q_fit.dist, q_fit.params, q_fit.unconditional_variance)
    r = des["return"].to_numpy()
    variance_ratio = float(np.mean(r**2) / np.mean(des["variance"].to_numpy() * q_fit.unconditional_variance))
    lo, hi = VARIANCE_RATIO_BOUNDS
    if not lo <= variance_ratio <= hi:
        raise FitError(
            f"intraday component {model}-{dist} rejected: implausible long-run level: the sample mean of r^2 is "
            f"{variance_ratio:.3g} times the model's mean variance (accepted {lo:g}..{hi:g}; persistence "
            f"{q_fit.persistence:.4f}, E[q] {q_fit.unconditional_variance:.3g})",
            reason="checks",
        )
    zero_share = float(np.mean(r == 0.0)) if r.size else math.nan
    flags: list[str] = []
    if dist in ("ged", "sged") and zero_share >= SEVERE_ZERO_SHARE:
        flags.append(
            f"prices on a tick grid: {100 * zero_share:.0f}% of the regular returns are zero; the {dist} shape "
            f"(nu = {float(q_fit.params.get('nu', math.nan)):.3g}) fits that spike rather than the spread, Student-t "
            "innovations (intraday-gjr-t, the default for such bars) do not"
        )
    if component.method != component.requested and component.requested != "auto":
        flags.append(f"daily component: {component.requested} not used ({component.reason}); {component.method} used")
    diagnostics = {
        "variance_ratio": variance_ratio,
        "zero_share": zero_share,
        "n_regular": int((sr["kind"].astype(str) == "regular").sum()),
        "n_gap": int(len(gaps)),
        "gap_ratio_mean": float(np.mean(g_std**2)) if g_std.size else 0.0,
        "n_sessions": int(len(component.sessions)),
        "persistence": q_fit.persistence,
    }
    import volresearch

    meta = {
        "data_hash": data_hash(bars["close"].to_numpy(dtype=np.float64)),
        "window": [index.min().isoformat(), index.max().isoformat()],
        "window_bars": window,
        "calendar": cal.name,
        "bar_seconds": step,
        "seed": seed,
        "options": {
            "daily": daily,
            "model": model,
            "dist": dist,
            "mean": mean,
            "diurnal_method": diurnal_method,
            "fourier": fourier,
            "weekday": weekday,
            "n_boot": n_boot,
            "max_missing": max_missing,
            "ewma_lambda": ewma_lambda,
        },  # fmt: skip
        "versions": {"volresearch": volresearch.__version__, **library_versions()},
    }
    end = index[-1]
    end = end.tz_localize("UTC") if end.tz is None else end.tz_convert("UTC")
    return IntradayFit(
        q_fit=q_fit, diurnal=diurnal, daily=component, gap_ratio=gap_ratio, calendar_name=cal.name,
        bar_seconds_=float(step), last_price=float(bars["close"].iloc[-1]), end=end, diagnostics=diagnostics,
        meta=meta, extra_flags=tuple(flags),
    )  # fmt: skip
