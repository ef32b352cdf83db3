r"""The time-of-day (diurnal) variance factor of intraday returns.

Model (Andersen-Bollerslev 1997; Engle-Sokalska 2012): the one-bar intraday
log return at slot ``i`` of session day ``d`` (slot = bars from the session's
open, from :func:`volresearch.data.session_returns.session_returns`) is

.. math::

    r_{d,i} = \sqrt{\lambda_d\, s_i}\; u_{d,i}, \qquad
    \lambda_d = \frac{h_d}{\sum_{j < n_d} s_j}, \qquad
    \frac1N \sum_{i<N} s_i = 1,

with ``h_d`` the **variance of session day d** (squared log return per session
day), ``n_d`` the bars of that session (fewer on a half-day), ``N`` the bars of
a full session, ``s_i`` the diurnal factor (dimensionless, mean 1 over a full
session, in variance units) and ``u`` a unit-variance innovation.  On a full
session :math:`\lambda_d = h_d / N` is the average variance per bar and
:math:`\lambda_d s_i` the variance of bar ``i`` (squared log return per bar).

Estimation
----------
1. ``h_d``: given (``daily_variance``), or the day's bipower variation of its
   one-bar returns (jump-robust; ``method="mean"`` uses realised variance),
   in which case :math:`\lambda_d = h_d / \sum_{i \in d} s_i` over the slots
   observed that day, so missing bars and half-days do not bias it.
2. Standardise :math:`z_{d,i} = r_{d,i} / \sqrt{\lambda_d}` and take per slot
   a scale statistic over days:

   ``"median"`` (default)
       :math:`\hat s_i = \operatorname{med}_d(|z_{d,i}|)^2 / 0.6745^2`
       (0.6745 = :math:`\Phi^{-1}(0.75)`, the median of :math:`|Z|`, so a
       Gaussian gives its variance);
   ``"trimmed"``
       mean of :math:`z^2` over days with :math:`|z|` below its
       :math:`1 - \text{trim}` quantile, divided by the Gaussian
       :math:`E[Z^2 \mid |Z| \le q] = 1 - 2 q \phi(q)/(1 - \text{trim})`,
       :math:`q = \Phi^{-1}(1 - \text{trim}/2)`;
   ``"mean"``
       plain mean of :math:`z^2` (not robust to jumps; for comparison).

   Quantiles follow the package's one rule (:mod:`volresearch.quantiles`).
   Any constant factor (a fat-tailed law's median-to-variance ratio) cancels
   in the normalisation to mean 1.
3. Optional flexible Fourier form (Andersen-Bollerslev 1997): least squares of
   :math:`\ln \hat s_i` on :math:`1, x_i, x_i^2, \cos(2\pi k x_i), \sin(2\pi k x_i)`
   (:math:`k = 1..K`, :math:`x_i = (i + 1/2)/N` the session fraction; the
   quadratic lets the open and the close differ, which a pure Fourier series
   cannot) plus a dummy per ``spikes`` slot (the open, a data release); :math:`s_i =
   \exp(\text{fit}_i)`, renormalised.
4. Steps 1-3 are iterated (``iterations``) so :math:`\lambda_d` uses the
   estimated factor.
5. Day-of-week (optional): the same estimate on each weekday's days, shrunk
   in logs towards the common factor, :math:`\ln s^{w} = \ln s + \frac{D_w}{D_w
   + \kappa}(\ln \hat s^{w} - \ln s)`, renormalised.
6. Confidence band per slot: percentiles of the factor re-estimated on days
   resampled with replacement (``n_boot``; the :math:`\lambda_d` are held at
   their estimates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from volresearch._util import float_array, jsonable, readonly
from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds
from volresearch.data.session_returns import DEFAULT_MAX_MISSING, session_returns, session_slots
from volresearch.errors import ConfigError, DataError
from volresearch.models.realized import MU1, library_versions
from volresearch.models.returns import data_hash
from volresearch.quantiles import QUANTILE_METHOD, quantile

__all__ = ["DiurnalFactor", "fit_diurnal", "deseasonalise", "session_bar_counts", "MEDIAN_ABS_NORMAL"]

#: Median of |Z| for a standard normal Z, Phi^-1(0.75).
MEDIAN_ABS_NORMAL = float(norm.ppf(0.75))
_METHODS = ("median", "trimmed", "mean")


def session_bar_counts(sessions: pd.DataFrame, bar_seconds: float) -> np.ndarray:
    """Bars in each session (``ceil((close - open - break) / bar)``), from a ``sessions()`` frame."""
    step = int(round(float(bar_seconds) * 1e9))
    opens = pd.DatetimeIndex(sessions["open"]).as_unit("ns").asi8
    closes = pd.DatetimeIndex(sessions["close"]).as_unit("ns").asi8
    length = closes - opens
    if "break_start" in sessions.columns and "break_end" in sessions.columns:
        bs = pd.DatetimeIndex(sessions["break_start"]).as_unit("ns")
        be = pd.DatetimeIndex(sessions["break_end"]).as_unit("ns")
        gap = np.where(bs.isna() | be.isna(), 0, be.asi8 - bs.asi8)
        length = length - gap
    return np.maximum(-(-length // step), 0).astype(np.int64)


def _sorted_quantile(sorted_cols: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Per column of ``sorted_cols`` (ascending, NaN last), the package's quantile of its ``counts`` values."""
    k = np.ceil(q * counts).astype(np.int64) - 1
    k = np.clip(k, 0, None)
    out = np.take_along_axis(sorted_cols, np.minimum(k, sorted_cols.shape[0] - 1)[None, :], axis=0)[0]
    return np.where(counts > 0, out, np.nan)


def _trim_correction(trim: float) -> float:
    if trim <= 0:
        return 1.0
    q = norm.ppf(1.0 - trim / 2.0)
    return 1.0 - 2.0 * q * norm.pdf(q) / (1.0 - trim)


def _raw_factor(az: np.ndarray, method: str, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot scale statistic (variance units) of ``|z|`` (days x slots, NaN = missing) and day counts."""
    counts = np.sum(np.isfinite(az), axis=0)
    if method == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.nansum(az**2, axis=0) / counts
        return np.where(counts > 0, raw, np.nan), counts
    srt = np.sort(az, axis=0)
    if method == "median":
        med = _sorted_quantile(srt, counts, 0.5)
        return med**2 / MEDIAN_ABS_NORMAL**2, counts
    cut = _sorted_quantile(srt, counts, 1.0 - trim)
    keep = np.isfinite(az) & (az <= cut[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.sum(np.where(keep, az**2, 0.0), axis=0) / keep.sum(axis=0) / _trim_correction(trim)
    return np.where(counts > 0, raw, np.nan), counts


def _fff_design(n_slots: int, fourier: int, spikes: tuple[int, ...]) -> np.ndarray:
    x = (np.arange(n_slots) + 0.5) / n_slots
    cols = [np.ones(n_slots), x, x**2]
    for k in range(1, fourier + 1):
        cols += [np.cos(2 * np.pi * k * x), np.sin(2 * np.pi * k * x)]
    for s in spikes:
        d = np.zeros(n_slots)
        d[s] = 1.0
        cols.append(d)
    return np.column_stack(cols)


def _smooth(
    raw: np.ndarray, counts: np.ndarray, design: np.ndarray | None, min_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised factor (mean 1) and FFF coefficients (empty without smoothing)."""
    if design is None:
        s = raw.copy()
        s[counts < min_days] = np.nan
        return s / np.nanmean(s), np.zeros(0)
    ok = np.isfinite(raw) & (raw > 0) & (counts >= min_days)
    if ok.sum() < design.shape[1]:
        raise DataError(
            f"too few slots with data ({int(ok.sum())}) for a Fourier fit with {design.shape[1]} terms", rule="length"
        )
    coef = np.linalg.lstsq(design[ok], np.log(raw[ok]), rcond=None)[0]
    fitted = design @ coef
    # Slots without data (a calendar longer than the hours the market really trades) are not extrapolated:
    # outside the observed span the factor is held at the nearest observed slot's value, and everywhere it
    # stays within the range the fit takes on observed slots, so a polynomial term cannot blow up.
    observed = np.flatnonzero(ok)
    fitted[: observed[0]] = fitted[observed[0]]
    fitted[observed[-1] + 1 :] = fitted[observed[-1]]
    fitted = np.clip(fitted, fitted[ok].min(), fitted[ok].max())
    s = np.exp(fitted - fitted[ok].max())
    return s / s.mean(), coef


@dataclass(frozen=True)
class DiurnalFactor:
    """Estimated time-of-day variance factor per bar slot (immutable).

    Attributes
    ----------
    factor
        ``s_i`` for slots ``0..N-1`` (dimensionless, mean 1 over a full
        session, variance units), read-only.
    raw
        Unsmoothed per-slot statistic, normalised to mean 1 (NaN where too few days).
    lower, upper
        Bootstrap band of ``factor`` at ``band_level`` (NaN without bootstrap).
    weekday_factor
        ``7 x N`` factors per weekday of the session date (Monday = 0), shrunk
        towards ``factor``; NaN rows for weekdays absent from the data; ``None``
        without day-of-week effects.
    days_per_slot
        Days contributing to each slot.
    calendar, bar_seconds, n_slots
        Session clock of the slots.
    method, trim, fourier, spikes, weekday_shrink, band_level
        Options used.
    coef
        Flexible-Fourier coefficients (constant, x, x^2, cos/sin pairs, spike dummies) of the log factor.
    metadata
        ``data_hash``, ``window``, ``n_days``, ``versions``.
    """

    factor: np.ndarray
    raw: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    weekday_factor: np.ndarray | None
    days_per_slot: np.ndarray
    calendar: str
    bar_seconds: float
    n_slots: int
    method: str
    trim: float
    fourier: int | None
    spikes: tuple[int, ...]
    weekday_shrink: float
    band_level: float
    coef: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name in ("factor", "raw", "lower", "upper", "days_per_slot", "coef"):
            object.__setattr__(self, name, readonly(getattr(self, name), dtype=np.float64, copy=True))
        if self.weekday_factor is not None:
            object.__setattr__(self, "weekday_factor", readonly(self.weekday_factor, dtype=np.float64, copy=True))

    def session_factor(self, weekday: int | None = None) -> np.ndarray:
        """The factor over a full session, for one weekday when day-of-week effects were fitted."""
        if (
            weekday is not None
            and self.weekday_factor is not None
            and np.all(np.isfinite(self.weekday_factor[weekday]))
        ):
            return self.weekday_factor[weekday]
        return self.factor

    def factor_at(self, timestamps: Any, *, by_weekday: bool = True) -> np.ndarray:
        """Diurnal factor of the bars starting at ``timestamps`` (past or future).

        Each time stamp is placed in its session by the calendar and its slot
        is counted from that session's open; NaN outside sessions or beyond
        slot ``N - 1``.  With day-of-week factors (and ``by_weekday``), the
        weekday of the session's trading date picks the factor.
        """
        index = pd.DatetimeIndex(
            pd.to_datetime(timestamps if not isinstance(timestamps, (str, pd.Timestamp)) else [timestamps], utc=True)
        )
        pos, slot, _, sessions = session_slots(index, get_calendar(self.calendar), self.bar_seconds)
        out = np.full(len(index), np.nan)
        ok = (pos >= 0) & (slot < self.n_slots)
        if not ok.any():
            return out
        out[ok] = self.factor[slot[ok]]
        if by_weekday and self.weekday_factor is not None:
            wd = np.asarray(pd.DatetimeIndex(sessions.index)[pos[ok]].day_of_week)
            alt = self.weekday_factor[wd, slot[ok]]
            out[ok] = np.where(np.isfinite(alt), alt, out[ok])
        return out

    def summary(self) -> str:
        """Shape in a few numbers: peak and trough slots, the open, the band width."""
        s = self.factor
        width = float(np.nanmean((self.upper - self.lower) / s)) if np.any(np.isfinite(self.upper)) else math.nan
        smooth = f"Fourier K={self.fourier}, spikes {list(self.spikes)}" if self.fourier is not None else "unsmoothed"
        lines = [
            f"Diurnal factor ({self.calendar}, {self.bar_seconds:g}s bars, {self.n_slots} slots, {self.method}, {smooth}),"
            f" {self.metadata.get('n_days', '?')} days",
            f"  open s_0 = {s[0]:.3f}; max {np.nanmax(s):.3f} at slot {int(np.nanargmax(s))}; "
            f"min {np.nanmin(s):.3f} at slot {int(np.nanargmin(s))} (mean 1, variance units)",
            f"  mean relative width of the {self.band_level:.0%} band: {width:.3f}",
        ]
        if self.weekday_factor is not None:
            lines.append(f"  day-of-week factors shrunk towards the common one, kappa = {self.weekday_shrink:g} days")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (:meth:`from_dict` inverts it)."""
        return jsonable(
            {
                "kind": "diurnal",
                "factor": self.factor,
                "raw": self.raw,
                "lower": self.lower,
                "upper": self.upper,
                "weekday_factor": self.weekday_factor,
                "days_per_slot": self.days_per_slot,
                "calendar": self.calendar,
                "bar_seconds": self.bar_seconds,
                "n_slots": self.n_slots,
                "method": self.method,
                "trim": self.trim,
                "fourier": self.fourier,
                "spikes": list(self.spikes),
                "weekday_shrink": self.weekday_shrink,
                "band_level": self.band_level,
                "coef": self.coef,
                "metadata": self.metadata,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiurnalFactor:
        """Rebuild from :meth:`to_dict` output."""
        wf = data.get("weekday_factor")
        return cls(
            factor=float_array(data["factor"]),
            raw=float_array(data["raw"]),
            lower=float_array(data["lower"]),
            upper=float_array(data["upper"]),
            weekday_factor=None if wf is None else float_array(wf),
            days_per_slot=float_array(data["days_per_slot"]),
            calendar=str(data["calendar"]),
            bar_seconds=float(data["bar_seconds"]),
            n_slots=int(data["n_slots"]),
            method=str(data["method"]),
            trim=float(data["trim"]),
            fourier=None if data["fourier"] is None else int(data["fourier"]),
            spikes=tuple(int(v) for v in data["spikes"]),
            weekday_shrink=float(data["weekday_shrink"]),
            band_level=float(data["band_level"]),
            coef=float_array(data["coef"]),
            metadata=dict(data.get("metadata", {})),
        )


def _day_matrix(sr: pd.DataFrame, n_slots: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Sessions and the days x slots matrix of one-bar intraday returns (NaN = none)."""
    one = sr[(sr["n_bars"].to_numpy() == 1) & np.isfinite(sr["intraday_return"].to_numpy(dtype=np.float64))]
    one = one[one["slot"].to_numpy() < n_slots]
    days = pd.DatetimeIndex(pd.unique(one["session"])).sort_values()
    row = days.get_indexer(pd.DatetimeIndex(one["session"]))
    mat = np.full((len(days), n_slots), np.nan)
    mat[row, one["slot"].to_numpy()] = one["intraday_return"].to_numpy(dtype=np.float64)
    return days, mat


def _bipower_rows(mat: np.ndarray) -> np.ndarray:
    """Bipower variation per row over adjacent present slots, scaled by M/P (variance per day)."""
    a = np.abs(mat)
    prod = a[:, 1:] * a[:, :-1]
    pairs = np.sum(np.isfinite(prod), axis=1)
    m = np.sum(np.isfinite(a), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nansum(prod, axis=1) * m / pairs / MU1**2


def fit_diurnal(
    bars: pd.DataFrame,
    calendar: str | TradingCalendar,
    *,
    bar_seconds: float | None = None,
    method: str = "median",
    trim: float = 0.05,
    fourier: int | None = 4,
    spikes: tuple[int, ...] = (0,),
    weekday: bool = False,
    weekday_shrink: float = 20.0,
    daily_variance: pd.Series | None = None,
    n_boot: int = 100,
    band_level: float = 0.95,
    iterations: int = 2,
    min_days: int = 5,
    max_missing: int = DEFAULT_MAX_MISSING,
    seed: int | np.random.Generator | None = None,
) -> DiurnalFactor:
    """Estimate the diurnal variance factor of intraday bars (see the module docstring).

    Parameters
    ----------
    bars
        Intraday bars (``close``; ``open`` lets the first bar of each session count).
    calendar
        Preset name or :class:`TradingCalendar` (the slot clock).
    bar_seconds
        Bar length in seconds (inferred when ``None``).
    method
        ``"median"``, ``"trimmed"`` or ``"mean"``.
    trim
        Share of the largest ``|z|`` dropped per slot by ``"trimmed"``.
    fourier
        Harmonics ``K`` of the flexible Fourier form; ``None`` for the raw factor.
    spikes
        Slots with their own dummy in the Fourier regression.
    weekday
        Estimate day-of-week factors as well.
    weekday_shrink
        ``kappa`` (days) of the shrinkage towards the common factor.
    daily_variance
        Variance per session day ``h_d`` indexed by session date; ``None``
        estimates it from the day's bars (bipower, or RV for ``"mean"``).
    n_boot
        Bootstrap replications of the band over days (``0``: no band).
    band_level
        Coverage of the band.
    iterations
        Passes of the level/factor iteration.
    min_days
        Days a slot needs to enter the estimate.
    max_missing
        In-session hole rule of :func:`session_returns`.
    seed
        Seed or generator of the bootstrap.

    Returns
    -------
    DiurnalFactor

    Raises
    ------
    ConfigError
        Unknown method or bad option.
    DataError
        Too few days or slots.
    """
    if method not in _METHODS:
        raise ConfigError(f"unknown diurnal method {method!r}; known: {', '.join(_METHODS)}")
    if not 0.0 <= trim < 1.0:
        raise ConfigError(f"trim must lie in [0, 1), got {trim}")
    if fourier is not None and int(fourier) < 0:
        raise ConfigError(f"fourier must be a non-negative number of harmonics, got {fourier}")
    if not 0.0 < band_level < 1.0:
        raise ConfigError(f"band_level must lie in (0, 1), got {band_level}")
    cal = get_calendar(calendar)
    index = pd.DatetimeIndex(bars.index)
    if bar_seconds is None:
        bar_seconds = infer_bar_seconds(index)
        if bar_seconds is None:
            raise DataError("cannot infer the bar length from fewer than two bars", rule="bar_length")
    bar_seconds = float(bar_seconds)
    sr = session_returns(bars, cal, bar_seconds=bar_seconds, max_missing=max_missing)
    _, _, _, sessions = session_slots(index, cal, bar_seconds)
    counts_all = session_bar_counts(sessions, bar_seconds)
    n_slots = int(counts_all.max()) if counts_all.size else 0
    if n_slots < 2:
        raise DataError("sessions hold fewer than two bars: no diurnal pattern to estimate", rule="length")
    spikes = tuple(sorted({int(s) for s in spikes})) if fourier is not None else ()
    if any(not 0 <= s < n_slots for s in spikes):
        raise ConfigError(f"spike slots must lie in 0..{n_slots - 1}, got {spikes}")
    days, mat = _day_matrix(sr, n_slots)
    if len(days) < max(min_days, 2):
        raise DataError(f"need at least {max(min_days, 2)} session days, got {len(days)}", rule="length")
    session_counts = pd.Series(counts_all, index=pd.DatetimeIndex(sessions.index)).reindex(days).to_numpy()
    design = _fff_design(n_slots, int(fourier), spikes) if fourier is not None else None
    present = np.isfinite(mat)
    if daily_variance is not None:
        h = pd.Series(daily_variance).astype(np.float64)
        h.index = (
            pd.DatetimeIndex(h.index).tz_localize(None) if pd.DatetimeIndex(h.index).tz else pd.DatetimeIndex(h.index)
        )
        h_d = h.reindex(days).to_numpy()
    else:
        h_d = np.nansum(mat**2, axis=1) if method == "mean" else _bipower_rows(mat)
    usable = np.isfinite(h_d) & (h_d > 0)
    days, mat, present, h_d, session_counts = (
        days[usable],
        mat[usable],
        present[usable],
        h_d[usable],
        session_counts[usable],
    )
    if len(days) < max(min_days, 2):
        raise DataError("too few days with a positive daily variance", rule="length")
    s = np.ones(n_slots)
    coef = np.zeros(0)
    raw = np.full(n_slots, np.nan)
    dcount = np.zeros(n_slots)
    for _ in range(max(int(iterations), 1)):
        fill = np.where(np.isfinite(s), s, 1.0)
        if daily_variance is not None:
            denom = np.array([fill[: int(n)].sum() for n in session_counts])
        else:
            denom = present @ fill
        lam = h_d / denom
        az = np.abs(mat) / np.sqrt(lam)[:, None]
        raw, dcount = _raw_factor(az, method, trim)
        s, coef = _smooth(raw, dcount, design, min_days)
    weekday_factor = None
    weekdays = np.asarray(days.day_of_week)
    if weekday:
        weekday_factor = np.full((7, n_slots), np.nan)
        for w in range(7):
            sel = weekdays == w
            if sel.sum() < max(min_days, 2):
                continue
            raw_w, cnt_w = _raw_factor(az[sel], method, trim)
            try:
                own, _ = _smooth(raw_w, cnt_w, design, min_days)
            except DataError:
                continue
            lam_w = sel.sum() / (sel.sum() + float(weekday_shrink))
            mixed = np.exp(np.log(s) + lam_w * (np.log(own) - np.log(s)))
            weekday_factor[w] = mixed / np.nanmean(mixed)
    lower = np.full(n_slots, np.nan)
    upper = np.full(n_slots, np.nan)
    if int(n_boot) > 0:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        boots = np.empty((int(n_boot), n_slots))
        for b in range(int(n_boot)):
            pick = rng.integers(0, len(days), len(days))
            rb, cb = _raw_factor(az[pick], method, trim)
            try:
                boots[b], _ = _smooth(rb, cb, design, min_days)
            except DataError:
                boots[b] = np.nan
        alpha = (1.0 - band_level) / 2.0
        cols = np.all(np.isfinite(boots), axis=0)
        if cols.any():
            band = quantile(boots[:, cols], [alpha, 1.0 - alpha], axis=0)
            lower[cols], upper[cols] = band[0], band[1]
    meta = {
        "data_hash": data_hash(bars["close"].to_numpy(dtype=np.float64)),
        "window": [index.min().isoformat(), index.max().isoformat()],
        "n_days": int(len(days)),
        "sessions": [str(days[0].date()), str(days[-1].date())],
        "daily_variance": "given" if daily_variance is not None else ("rv" if method == "mean" else "bipower"),
        "iterations": int(iterations),
        "n_boot": int(n_boot),
        "quantile_method": QUANTILE_METHOD,
        "units": "factor dimensionless, mean 1 over a full session, variance units",
        "versions": library_versions(),
    }
    raw_norm = raw / np.nanmean(np.where(dcount >= min_days, raw, np.nan))
    return DiurnalFactor(
        factor=s,
        raw=np.where(dcount >= min_days, raw_norm, np.nan),
        lower=lower,
        upper=upper,
        weekday_factor=weekday_factor,
        days_per_slot=dcount.astype(np.float64),
        calendar=cal.name,
        bar_seconds=bar_seconds,
        n_slots=n_slots,
        method=method,
        trim=float(trim),
        fourier=None if fourier is None else int(fourier),
        spikes=spikes,
        weekday_shrink=float(weekday_shrink),
        band_level=float(band_level),
        coef=coef,
        metadata=meta,
    )


def deseasonalise(
    bars: pd.DataFrame,
    calendar: str | TradingCalendar,
    diurnal: DiurnalFactor,
    daily_variance: pd.Series,
    *,
    max_missing: int = DEFAULT_MAX_MISSING,
) -> pd.DataFrame:
    r"""Intraday returns divided by their diurnal-times-daily scale.

    :math:`e_{d,i} = r_{d,i} / \sqrt{h_d\, S_{d,i} / \sum_{j<n_d} s_j}` where
    ``h_d`` is ``daily_variance`` (variance per session day, indexed by
    session date), ``S_{d,i}`` the sum of the factors of the slots the return
    spans (``s_i`` for a one-bar return) and ``n_d`` the bars of session ``d``.
    Gap parts are excluded (they belong to the daily component).  The result
    is the input of the intraday GARCH ``q`` of the multiplicative model.

    Returns
    -------
    pandas.DataFrame
        Indexed by bar time stamp: ``return`` (intraday log return),
        ``variance`` (its scale, squared log return), ``z`` (deseasonalised
        return), ``session``, ``slot``, ``n_bars``.
    """
    cal = get_calendar(calendar)
    if get_calendar(diurnal.calendar).name != cal.name:
        raise ConfigError(f"diurnal factor is on calendar {diurnal.calendar!r}, bars on {cal.name!r}")
    sr = session_returns(bars, cal, bar_seconds=diurnal.bar_seconds, max_missing=max_missing)
    sr = sr[np.isfinite(sr["intraday_return"].to_numpy(dtype=np.float64))]
    sr = sr[sr["slot"].to_numpy() < diurnal.n_slots]
    _, _, _, sessions = session_slots(pd.DatetimeIndex(bars.index), cal, diurnal.bar_seconds)
    counts = pd.Series(session_bar_counts(sessions, diurnal.bar_seconds), index=pd.DatetimeIndex(sessions.index))
    h = pd.Series(daily_variance).astype(np.float64)
    h.index = pd.DatetimeIndex(h.index)
    session = pd.DatetimeIndex(sr["session"])
    h_d = h.reindex(session).to_numpy()
    n_d = counts.reindex(session).to_numpy()
    slot = sr["slot"].to_numpy()
    nb = sr["n_bars"].to_numpy()
    weekdays = np.asarray(session.day_of_week)
    table = np.vstack([diurnal.session_factor(w) for w in range(7)])
    cums = np.concatenate([np.zeros((7, 1)), np.cumsum(table, axis=1)], axis=1)
    spanned = cums[weekdays, slot + 1] - cums[weekdays, np.maximum(slot + 1 - nb, 0)]
    total = cums[weekdays, np.minimum(n_d, diurnal.n_slots).astype(np.int64)]
    variance = h_d * spanned / total
    r = sr["intraday_return"].to_numpy(dtype=np.float64)
    return pd.DataFrame(
        {
            "return": r,
            "variance": variance,
            "z": r / np.sqrt(variance),
            "session": sr["session"],
            "slot": slot,
            "n_bars": nb,
        },
        index=sr.index,
    )
