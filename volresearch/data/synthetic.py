"""Synthetic 1-minute futures bars with the stylised facts of real ones.

A stand-in for ES, NQ, GC and SI data when no feed is at hand, built so that
every model in the package has something realistic to chew on:

* bars only inside the ``cme_globex`` session (Sunday 18:00 ET to Friday
  17:00 ET, closed daily 17:00-18:00 ET), labelled by bar start;
* per-minute log return ``r_t = sigma * s(m_t) * e_t`` where ``s`` is an
  intraday volatility profile of New York minute-of-day ``m`` (quiet Asian
  hours, a rise at the London open, a bump at 08:30 ET, a spike at the 09:30
  cash open decaying into a U-shape that rises into 16:00), normalised to
  average 1 over 09:30-16:00, and ``sigma`` the average regular-hours
  per-minute volatility;
* ``e_t = sqrt(h_t) z_t`` with GJR-GARCH(1,1) variance on the de-seasonalised
  shocks, ``h_t = omega + (alpha + gamma 1[e_{t-1} < 0]) e_{t-1}^2 + beta
  h_{t-1}`` with ``omega = 1 - alpha - beta - gamma/2`` (unit unconditional
  variance), and ``z_t`` Student-t with ``nu`` degrees of freedom scaled to
  unit variance: volatility clustering, fat tails, and a leverage effect
  (``gamma > 0``) for the equity indices, none for the metals;
* a session-opening gap after each daily break and weekend, with the
  variance of ``gap_minutes`` regular-hours minutes;
* OHLC from a Brownian bridge of ``substeps`` sub-minute steps pinned to each
  bar's open and close, rounded to the tick size (rounding is monotone, so
  ``low <= open, close <= high`` always holds and ``open`` equals the
  previous ``close`` inside a session);
* volume following the same intraday profile, larger on big moves.

Everything is drawn from one :class:`numpy.random.Generator`, so a seed fixes
the output.  The generating parameters travel in ``attrs["truth"]``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from volresearch.config import get_instrument
from volresearch.data.calendar import get_calendar
from volresearch.errors import ConfigError, DataError

__all__ = ["SyntheticProfile", "PROFILES", "intraday_profile", "synthetic_bars"]

_NEW_YORK = "America/New_York"
_RTH_OPEN, _RTH_CLOSE = 9 * 60 + 30, 16 * 60


@dataclass(frozen=True)
class SyntheticProfile:
    """Generating parameters of one synthetic instrument.

    Attributes
    ----------
    sigma
        Average per-minute log-return standard deviation over 09:30-16:00 ET
        (dimensionless; 0.00045 = 0.045% per minute).
    alpha, gamma, beta
        GJR-GARCH(1,1) coefficients on unit-variance de-seasonalised shocks
        (per minute); ``alpha + beta + gamma/2 < 1``.
    nu
        Student-t degrees of freedom of the shocks (> 2; smaller = fatter tails).
    volume
        Mean contracts per minute over regular hours.
    gap_minutes
        Variance of the session-opening gap, in regular-hours minutes.
    substeps
        Sub-minute steps used to build high and low.
    """

    sigma: float
    alpha: float
    gamma: float
    beta: float
    nu: float
    volume: float
    gap_minutes: float = 4.0
    substeps: int = 12


PROFILES: dict[str, SyntheticProfile] = {
    "ES": SyntheticProfile(sigma=0.00045, alpha=0.035, gamma=0.06, beta=0.90, nu=5.0, volume=1200.0),
    "NQ": SyntheticProfile(sigma=0.00060, alpha=0.035, gamma=0.06, beta=0.90, nu=5.0, volume=500.0),
    "GC": SyntheticProfile(sigma=0.00035, alpha=0.06, gamma=0.0, beta=0.90, nu=5.0, volume=300.0),
    "SI": SyntheticProfile(sigma=0.00065, alpha=0.06, gamma=0.0, beta=0.90, nu=4.5, volume=150.0),
}

# Baseline level of the intraday profile at New York minute-of-day knots; the
# regular-hours U-shape and the 08:30 release bump are added on top.
_KNOTS_X = np.array([0, 150, 180, 480, 510, 570, 960, 1020, 1080, 1200, 1440], dtype=float)
_KNOTS_Y = np.array([0.30, 0.30, 0.55, 0.55, 0.75, 0.75, 0.45, 0.45, 0.45, 0.35, 0.30])


def _raw_profile(minute: np.ndarray) -> np.ndarray:
    m = np.asarray(minute, dtype=float)
    level = np.interp(m, _KNOTS_X, _KNOTS_Y)
    rth = (m >= _RTH_OPEN) & (m < _RTH_CLOSE)
    u_shape = 0.70 + 1.6 * np.exp(-(m - _RTH_OPEN) / 15.0) + 0.45 * np.exp(-(_RTH_CLOSE - 1 - m) / 25.0)
    release = np.where((m >= 510) & (m < _RTH_OPEN), 0.9 * np.exp(-(m - 510) / 4.0), 0.0)
    return np.where(rth, u_shape, level + release)


_RTH_MEAN = float(_raw_profile(np.arange(_RTH_OPEN, _RTH_CLOSE)).mean())


def intraday_profile(minute: np.ndarray) -> np.ndarray:
    """Intraday volatility multiplier ``s(m)`` for New York minute-of-day ``m`` (0-1439).

    Averages 1 over 09:30-16:00 ET; about 0.3 in Asian hours, 0.55 after the
    London open, peaks near 2.3 at 09:30.  Dimensionless.
    """
    return _raw_profile(minute) / _RTH_MEAN


def _gjr_variance(z: np.ndarray, alpha: float, gamma: float, beta: float) -> np.ndarray:
    """Conditional variance ``h`` of the GJR recursion driven by unit-variance shocks ``z``.

    With ``e = sqrt(h) z``, ``h_t = omega + (alpha + gamma 1[z_{t-1}<0] + ...) h_{t-1} z_{t-1}^2
    + beta h_{t-1}``; starts at the unconditional variance 1.
    """
    omega = 1.0 - alpha - beta - 0.5 * gamma
    coef = (beta + (alpha + gamma * (z < 0)) * z * z).tolist()
    h = np.empty(z.size)
    current = 1.0
    for t in range(z.size):
        h[t] = current
        current = omega + coef[t] * current
    return h


def _tick_round(prices: np.ndarray, tick: float) -> np.ndarray:
    decimals = max(0, -Decimal(str(tick)).normalize().as_tuple().exponent)  # type: ignore[operator]
    return np.round(np.round(prices / tick) * tick, decimals)


def _session_index(days: int, start: object) -> pd.DatetimeIndex:
    """Bar starts of the first ``days`` CME Globex sessions whose trading date is ``start`` or later."""
    cal = get_calendar("cme_globex")
    first = pd.Timestamp(start).normalize()  # type: ignore[arg-type]
    first = first.tz_localize(_NEW_YORK) if first.tzinfo is None else first.tz_convert(_NEW_YORK)
    span = pd.Timedelta(days=2 * days + 14)
    sessions = cal.sessions(first, first + span)
    sessions = sessions[sessions.index >= first.tz_localize(None).normalize()].iloc[:days]
    if len(sessions) < days:
        raise DataError(f"fewer than {days} trading sessions from start={start!r}", rule="option")
    return cal.expected_index(sessions["open"].iloc[0], sessions["close"].iloc[-1] - pd.Timedelta(1, "ns"), 60)


def synthetic_bars(
    symbol: str = "ES",
    *,
    days: int = 10,
    start: str | _dt.date | pd.Timestamp = "2024-01-08",
    seed: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Generate synthetic 1-minute bars for an ES-, NQ-, GC- or SI-like future.

    Parameters
    ----------
    symbol
        ``"ES"``, ``"NQ"``, ``"GC"`` or ``"SI"``; tick size and price level
        come from ``instruments.yaml``, dynamics from :data:`PROFILES`.
    days
        Number of trading sessions of the ``cme_globex`` calendar (each
        opening 18:00 ET the evening before; CME holidays skipped), >= 1.
    start
        First trading date; a weekend or holiday moves to the next session.
    seed
        Seed or generator; the same seed gives the same bars.

    Returns
    -------
    pandas.DataFrame
        Bar schema (UTC ``timestamp`` index, float64 ``open high low close
        volume``), 1380 bars per full session (fewer on CME early closes,
        e.g. 1140 on Martin Luther King Jr. Day).  ``attrs``: ``synthetic`` True,
        ``source`` ``"synthetic:ES"``, ``symbol`` ``"ES-SYN"``, ``truth`` (the
        :class:`SyntheticProfile` as a dict, plus ``reference_price`` and
        ``tick_size``).

    Raises
    ------
    ConfigError
        Unknown symbol.
    DataError
        ``days < 1``.
    """
    if symbol not in PROFILES:
        raise ConfigError(f"no synthetic profile for {symbol!r}; available: {', '.join(PROFILES)}")
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise DataError(f"days must be a positive integer, got {days!r}", rule="option")
    profile = PROFILES[symbol]
    instrument = get_instrument(symbol)
    level = instrument.reference_price or 100.0
    rng = np.random.default_rng(seed)

    index = _session_index(int(days), start)
    n, k = len(index), profile.substeps
    local = index.tz_convert(_NEW_YORK)
    season = intraday_profile(np.asarray(local.hour * 60 + local.minute))
    session_open = np.concatenate([[True], np.diff(index.asi8) > 60 * 10**9])

    t_scale = np.sqrt((profile.nu - 2.0) / profile.nu)
    z = rng.standard_t(profile.nu, size=n) * t_scale
    h = _gjr_variance(z, profile.alpha, profile.gamma, profile.beta)
    minute_vol = profile.sigma * season * np.sqrt(h)
    returns = minute_vol * z
    gaps = np.where(session_open, profile.sigma * np.sqrt(profile.gap_minutes * h) * rng.standard_normal(n), 0.0)
    gaps[0] = 0.0

    log_close = np.log(level) + np.cumsum(gaps + returns)
    log_open = log_close - returns
    steps = rng.standard_normal((n, k)) / np.sqrt(k)
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, k + 1) / k
    bridge = walk - frac * walk[:, -1:]
    path = log_open[:, None] + frac * returns[:, None] + minute_vol[:, None] * bridge

    tick = instrument.tick_size
    open_px = _tick_round(np.exp(log_open), tick)
    close_px = _tick_round(np.exp(log_close), tick)
    path_px = _tick_round(np.exp(path), tick)
    high = np.maximum(np.maximum(open_px, close_px), path_px.max(axis=1))
    low = np.minimum(np.minimum(open_px, close_px), path_px.min(axis=1))

    noise = rng.lognormal(mean=-0.125, sigma=0.5, size=n)
    volume = np.maximum(1.0, np.round(profile.volume * season * noise * (0.5 + 0.5 * np.abs(z) / 0.8)))

    bars = pd.DataFrame(
        {"open": open_px, "high": high, "low": low, "close": close_px, "volume": volume.astype(np.float64)},
        index=index,
    )
    truth = asdict(profile) | {"reference_price": float(level), "tick_size": float(tick), "days": int(days)}
    bars.attrs.update({"source": f"synthetic:{symbol}", "symbol": f"{symbol}-SYN", "synthetic": True, "truth": truth})
    return bars
