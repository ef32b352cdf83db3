r"""Realised measures per session day from intraday bars.

For each session day ``d`` with intraday log returns :math:`r_1, \dots, r_M`
(the ``intraday_return`` column of
:func:`volresearch.data.session_returns.session_returns`: regular one-bar
returns, returns over a few missing bars and the open-to-close move of a bar
that follows a gap; never the gap part itself), all in log return per bar
units, every variance below is a **variance per session day** (sum over the
day's bars, log-return squared units):

* realised variance :math:`RV = \sum_i r_i^2`, and the realised
  semivariances :math:`RS^+ = \sum_i r_i^2 1[r_i > 0]`,
  :math:`RS^- = \sum_i r_i^2 1[r_i < 0]`;
* subsampled RV on ``k``-bar returns (Zhang, Mykland, Ait-Sahalia 2005
  "average" estimator): for each offset :math:`j = 0..k-1` the day's
  in-session log-price path (cumulated intraday returns on the slot clock,
  missing slots carrying the last price) is cut at the start, at every slot
  :math:`\equiv j` (mod ``k``) and at the end, the squared returns of that
  partition are summed, and the ``k`` sums are averaged.  Each partition
  covers the whole day, so without noise every offset is unbiased for the
  integrated variance; ``k = 1`` gives RV;
* bipower variation (Barndorff-Nielsen and Shephard 2004)
  :math:`BV = \mu_1^{-2} \frac{M}{P} \sum |r_i||r_{i-1}|`, :math:`\mu_1 =
  \sqrt{2/\pi}`, the sum over the ``P`` pairs of adjacent returns
  (``P = M - 1`` on a complete day; the factor ``M/P`` is the usual
  finite-sample scaling that makes BV unbiased for the integrated variance);
* tripower quarticity :math:`TQ = M \mu_{4/3}^{-3} \frac{M}{T} \sum
  |r_i r_{i-1} r_{i-2}|^{4/3}`, :math:`\mu_{4/3} = 2^{2/3}\Gamma(7/6)/
  \Gamma(1/2)`, over the ``T`` adjacent triples (``T = M - 2``);
* the Huang-Tauchen (2005) ratio jump statistic
  :math:`z = \frac{(RV - BV)/RV}{\sqrt{\theta M^{-1} \max(1, TQ/BV^2)}}`,
  :math:`\theta = (\pi/2)^2 + \pi - 5`, asymptotically N(0, 1) without jumps;
  ``jump_pvalue`` = :math:`1 - \Phi(z)` (one-sided), ``jump_flag`` =
  p-value below ``alpha``, ``jump`` = :math:`\max(RV - BV, 0)`;
* range estimators from the session's OHLC (open of its first bar, highest
  high, lowest low, close of its last bar): Parkinson
  :math:`\ln(H/L)^2 / (4 \ln 2)` and Garman-Klass
  :math:`\tfrac12 \ln(H/L)^2 - (2\ln 2 - 1) \ln(C/O)^2`, both unbiased for
  the open-to-close variance of a driftless Brownian motion; per bar by
  :func:`range_estimators`;
* ``gap_return``: the sum of the day's gap parts (overnight, weekend, break
  and long in-session holes), the daily component's share of the close-to-close
  return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gamma as _gamma
from scipy.stats import norm

from volresearch._util import float_array, jsonable
from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds
from volresearch.data.session_returns import DEFAULT_MAX_MISSING, session_returns, session_slots
from volresearch.errors import ConfigError, DataError
from volresearch.models.returns import data_hash

__all__ = [
    "MU1",
    "MU43",
    "THETA_RATIO",
    "RealizedMeasures",
    "realized_measures",
    "daily_measures",
    "range_estimators",
    "bipower_variation",
    "tripower_quarticity",
    "subsampled_rv",
    "jump_statistic",
    "library_versions",
]

MU1 = math.sqrt(2.0 / math.pi)
MU43 = 2.0 ** (2.0 / 3.0) * _gamma(7.0 / 6.0) / _gamma(0.5)
THETA_RATIO = (math.pi / 2.0) ** 2 + math.pi - 5.0
_LN2 = math.log(2.0)

DAILY_COLUMNS = (
    "rv",
    "rv_sub",
    "bv",
    "tq",
    "rs_pos",
    "rs_neg",
    "jump",
    "jump_stat",
    "jump_pvalue",
    "jump_flag",
    "parkinson",
    "garman_klass",
    "gap_return",
    "open_to_close",
    "n_returns",
)


def library_versions() -> dict[str, str]:
    """Versions of volresearch and the numerical libraries (reproducibility metadata)."""
    import arch
    import scipy

    import volresearch

    return {
        "volresearch": volresearch.__version__,
        "arch": arch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
    }


# ------------------------------------------------------------ array kernels
def _adjacent(slot: np.ndarray, n_bars: np.ndarray) -> np.ndarray:
    """``adj[i]``: return ``i`` starts where return ``i - 1`` ends (``adj[0]`` False)."""
    adj = np.zeros(slot.shape, dtype=bool)
    if slot.size > 1:
        adj[1:] = (slot[1:] - n_bars[1:]) == slot[:-1]
    return adj


def bipower_variation(r: np.ndarray, adjacent: np.ndarray | None = None) -> float:
    r"""Bipower variation :math:`\mu_1^{-2} (M/P) \sum_{\text{adjacent}} |r_i||r_{i-1}|` (variance per day).

    ``adjacent[i]`` says whether return ``i`` follows return ``i - 1`` with
    nothing in between (default: all consecutive).  NaN with fewer than two
    returns or no adjacent pair.
    """
    a = np.abs(np.asarray(r, dtype=np.float64))
    m = a.size
    adj = np.ones(m, dtype=bool) if adjacent is None else np.asarray(adjacent, dtype=bool).copy()
    if m:
        adj[0] = False
    pairs = int(adj.sum())
    if pairs == 0:
        return math.nan
    s = float(np.sum(a[1:] * a[:-1] * adj[1:]))
    return s * m / pairs / MU1**2


def tripower_quarticity(r: np.ndarray, adjacent: np.ndarray | None = None) -> float:
    r"""Tripower quarticity :math:`M \mu_{4/3}^{-3} (M/T) \sum |r_i r_{i-1} r_{i-2}|^{4/3}` (squared variance per day)."""
    a = np.abs(np.asarray(r, dtype=np.float64)) ** (4.0 / 3.0)
    m = a.size
    adj = np.ones(m, dtype=bool) if adjacent is None else np.asarray(adjacent, dtype=bool).copy()
    if m < 3:
        return math.nan
    adj[0] = False
    tri = adj[2:] & adj[1:-1]
    t = int(tri.sum())
    if t == 0:
        return math.nan
    s = float(np.sum(a[2:] * a[1:-1] * a[:-2] * tri))
    return m * (m / t) * s / MU43**3


def jump_statistic(rv: float, bv: float, tq: float, m: int) -> tuple[float, float]:
    r"""Huang-Tauchen ratio statistic and its one-sided p-value.

    :math:`z = \frac{(RV - BV)/RV}{\sqrt{\theta M^{-1}\max(1, TQ/BV^2)}}`,
    p-value :math:`1 - \Phi(z)`.
    """
    if not (m >= 3 and rv > 0 and bv > 0 and np.isfinite(tq)):
        return math.nan, math.nan
    z = ((rv - bv) / rv) / math.sqrt(THETA_RATIO / m * max(1.0, tq / bv**2))
    return z, float(norm.sf(z))


def subsampled_rv(r: np.ndarray, slot: np.ndarray, n_bars: np.ndarray, k: int) -> float:
    """Average over the ``k`` offsets of the RV of ``k``-bar returns (variance per day).

    ``r``, ``slot``, ``n_bars`` describe one day's intraday returns in time
    order (as in :func:`~volresearch.data.session_returns.session_returns`).
    The log-price path starts where the first return starts
    (``slot[0] - n_bars[0]``, ``-1`` being the open), moves by each return at
    its slot and stays flat over missing slots; each offset ``j`` cuts it at the
    start, at the slots ``start + j + m k`` and at the end.
    """
    r = np.asarray(r, dtype=np.float64)
    if r.size == 0:
        return math.nan
    k = int(k)
    slot = np.asarray(slot, dtype=np.int64)
    start = int(slot[0] - n_bars[0])
    end = int(slot[-1])
    path = np.zeros(end - start + 1)
    np.add.at(path, slot - start, r)
    path = np.cumsum(path)  # path[s - start] = log price at the close of slot s (start -> 0)
    length = end - start
    total = 0.0
    for j in range(k):
        cuts = np.arange(j if j > 0 else k, length, k)
        points = np.concatenate(([0], cuts, [length]))
        total += float(np.sum(np.diff(path[points]) ** 2))
    return total / k


# ---------------------------------------------------------------- per bar
def range_estimators(bars: pd.DataFrame) -> pd.DataFrame:
    r"""Parkinson and Garman-Klass variance of each bar from its OHLC (variance per bar).

    ``parkinson`` :math:`= \ln(H/L)^2 / (4\ln 2)`, ``garman_klass``
    :math:`= \tfrac12\ln(H/L)^2 - (2\ln 2 - 1)\ln(C/O)^2`.

    Raises
    ------
    DataError
        A missing OHLC column or a non-positive price.
    """
    for col in ("open", "high", "low", "close"):
        if col not in bars.columns:
            raise DataError(f"range estimators need an {col!r} column", column=col, rule="columns")
    o, h, lo, c = (bars[col].to_numpy(dtype=np.float64) for col in ("open", "high", "low", "close"))
    bad = ~(np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)) | (
        np.minimum.reduce([o, h, lo, c]) <= 0
    )
    if bad.any():
        raise DataError(
            "OHLC prices must be finite and positive",
            row=[int(i) for i in np.flatnonzero(bad)[:10]],
            rule="nonpositive",
        )
    hl = np.log(h / lo)
    co = np.log(c / o)
    return pd.DataFrame(
        {"parkinson": hl**2 / (4.0 * _LN2), "garman_klass": 0.5 * hl**2 - (2.0 * _LN2 - 1.0) * co**2},
        index=bars.index,
    )


# ---------------------------------------------------------------- per day
def daily_measures(
    returns: pd.DataFrame,
    *,
    subsample: int = 5,
    alpha: float = 0.05,
    bars: pd.DataFrame | None = None,
    calendar: Any = None,
) -> pd.DataFrame:
    """Per-day realised measures from a :func:`session_returns` frame.

    Parameters
    ----------
    returns
        Output of :func:`~volresearch.data.session_returns.session_returns`.
    subsample
        Bars per return of the subsampled RV (``rv_sub``).
    alpha
        Level of ``jump_flag``.
    bars, calendar
        When given (bars with OHLC), the daily range estimators are filled.

    Returns
    -------
    pandas.DataFrame
        Indexed by session date, columns :data:`DAILY_COLUMNS` (see the module
        docstring for the equations and units).
    """
    if int(subsample) < 1:
        raise ConfigError(f"subsample must be a positive number of bars, got {subsample}")
    if not 0.0 < float(alpha) < 1.0:
        raise ConfigError(f"alpha must lie in (0, 1), got {alpha}")
    rows: dict[Any, dict[str, float]] = {}
    if len(returns):
        gap_by_day = returns.groupby("session", sort=True)["gap_return"].sum()
        intra = returns[np.isfinite(returns["intraday_return"].to_numpy(dtype=np.float64))]
        for day in gap_by_day.index:
            rows[day] = {c: math.nan for c in DAILY_COLUMNS}
            rows[day]["gap_return"] = float(gap_by_day.loc[day])
            rows[day]["n_returns"] = 0
        for day, g in intra.groupby("session", sort=True):
            r = g["intraday_return"].to_numpy(dtype=np.float64)
            slot = g["slot"].to_numpy(dtype=np.int64)
            nb = g["n_bars"].to_numpy(dtype=np.int64)
            adj = _adjacent(slot, nb)
            rv = float(np.sum(r * r))
            bv = bipower_variation(r, adj)
            tq = tripower_quarticity(r, adj)
            z, p = jump_statistic(rv, bv, tq, r.size)
            row = rows[day]
            row.update(
                rv=rv,
                rv_sub=subsampled_rv(r, slot, nb, subsample),
                bv=bv,
                tq=tq,
                rs_pos=float(np.sum(r[r > 0] ** 2)),
                rs_neg=float(np.sum(r[r < 0] ** 2)),
                jump=max(rv - bv, 0.0) if np.isfinite(bv) else math.nan,
                jump_stat=z,
                jump_pvalue=p,
                jump_flag=float(p < alpha) if np.isfinite(p) else math.nan,
                open_to_close=float(r.sum()),
                n_returns=int(r.size),
            )
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(DAILY_COLUMNS))
    out.index = pd.DatetimeIndex(out.index, name="session").as_unit("ns")
    if (
        bars is not None
        and calendar is not None
        and len(out)
        and all(c in bars.columns for c in ("open", "high", "low", "close"))
    ):
        pos, _, _, sessions = session_slots(bars.index, calendar, returns.attrs.get("bar_seconds", 60.0))
        inside = pos >= 0
        b = bars.loc[inside, ["open", "high", "low", "close"]].copy()
        labels = pd.DatetimeIndex(sessions.index)[pos[inside]]
        b["session"] = np.asarray(labels.tz_localize(None) if labels.tz is not None else labels)
        agg = b.groupby("session", sort=True).agg(
            open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last")
        )
        day = range_estimators(agg)
        out["parkinson"] = day["parkinson"].reindex(out.index).to_numpy()
        out["garman_klass"] = day["garman_klass"].reindex(out.index).to_numpy()
    out["n_returns"] = out["n_returns"].fillna(0).astype(np.int64)
    return out


@dataclass(frozen=True)
class RealizedMeasures:
    """Realised measures per session day, with what is needed to reproduce them.

    Attributes
    ----------
    daily
        Per-day frame (a copy on each access), columns :data:`DAILY_COLUMNS`;
        variances per session day in squared log-return units.
    calendar
        Calendar name.
    bar_seconds, subsample, max_missing, alpha
        Options used.
    metadata
        ``data_hash`` (SHA-256 of the close prices), ``window`` (first and last
        bar), ``versions``.
    """

    _daily: pd.DataFrame = field(repr=False)
    calendar: str
    bar_seconds: float
    subsample: int
    max_missing: int
    alpha: float
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def daily(self) -> pd.DataFrame:
        """The per-day frame (a copy)."""
        return self._daily.copy()

    @property
    def n_days(self) -> int:
        """Session days measured."""
        return int(len(self._daily))

    def summary(self) -> str:
        """A few lines: days, mean RV/BV in annualisable units, share of days with a jump."""
        d = self._daily
        share = float(np.nanmean(d["jump_flag"])) if len(d) else math.nan
        lines = [
            f"Realised measures ({self.calendar}, {self.bar_seconds:g}s bars): {self.n_days} session days",
            f"  mean RV {np.nanmean(d['rv']):.4e}  RV_{self.subsample} {np.nanmean(d['rv_sub']):.4e}  "
            f"BV {np.nanmean(d['bv']):.4e}  (variance per session day)",
            f"  mean Parkinson {np.nanmean(d['parkinson']):.4e}  Garman-Klass {np.nanmean(d['garman_klass']):.4e}",
            f"  days with a jump at {self.alpha:g}: {share:.1%}; mean |gap return| "
            f"{np.nanmean(np.abs(d['gap_return'])):.4e}",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (:meth:`from_dict` inverts it)."""
        d = self._daily
        return jsonable(
            {
                "kind": "realized_measures",
                "calendar": self.calendar,
                "bar_seconds": self.bar_seconds,
                "subsample": self.subsample,
                "max_missing": self.max_missing,
                "alpha": self.alpha,
                "metadata": self.metadata,
                "daily": {
                    "session": [t.strftime("%Y-%m-%d") for t in d.index],
                    **{c: d[c].to_numpy(dtype=np.float64) for c in DAILY_COLUMNS},
                },
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealizedMeasures:
        """Rebuild from :meth:`to_dict` output."""
        daily = data["daily"]
        frame = pd.DataFrame(
            {c: float_array(daily[c]) for c in DAILY_COLUMNS},
            index=pd.DatetimeIndex(pd.to_datetime(daily["session"]), name="session").as_unit("ns"),
        )
        frame["n_returns"] = frame["n_returns"].astype(np.int64)
        return cls(
            frame,
            str(data["calendar"]),
            float(data["bar_seconds"]),
            int(data["subsample"]),
            int(data["max_missing"]),
            float(data["alpha"]),
            dict(data.get("metadata", {})),
        )


def realized_measures(
    bars: pd.DataFrame,
    calendar: str | TradingCalendar,
    *,
    bar_seconds: float | None = None,
    subsample: int = 5,
    max_missing: int = DEFAULT_MAX_MISSING,
    alpha: float = 0.05,
) -> RealizedMeasures:
    """Realised measures per session day of intraday bars.

    Parameters
    ----------
    bars
        Bars (``close``; ``open``/``high``/``low`` for the range estimators and
        for the first bar of each session) on a UTC index of bar starts.
    calendar
        Preset name or :class:`TradingCalendar`.
    bar_seconds
        Bar length in seconds (inferred when ``None``).
    subsample
        Bars per return of ``rv_sub`` (5 for 5-minute RV from 1-minute bars).
    max_missing
        In-session hole rule of :func:`session_returns`.
    alpha
        Level of the jump flag.

    Returns
    -------
    RealizedMeasures
    """
    cal = get_calendar(calendar)
    if bar_seconds is None:
        bar_seconds = infer_bar_seconds(pd.DatetimeIndex(bars.index))
        if bar_seconds is None:
            raise DataError("cannot infer the bar length from fewer than two bars", rule="bar_length")
    sr = session_returns(bars, cal, bar_seconds=bar_seconds, max_missing=max_missing)
    daily = daily_measures(sr, subsample=subsample, alpha=alpha, bars=bars, calendar=cal)
    index = pd.DatetimeIndex(bars.index)
    meta = {
        "data_hash": data_hash(bars["close"].to_numpy(dtype=np.float64)),
        "window": [index.min().isoformat(), index.max().isoformat()] if len(index) else [None, None],
        "n_bars": int(len(bars)),
        "outside_bars": int(sr.attrs.get("outside", 0)),
        "versions": library_versions(),
        "units": "log returns per bar; variances per session day",
    }
    return RealizedMeasures(daily, cal.name, float(bar_seconds), int(subsample), int(max_missing), float(alpha), meta)
