"""Price zones, directional bias, targets and stop from a forecast distribution.

A Monte Carlo forecast gives, at a chosen horizon, a sample of path prices
(optionally weighted, e.g. by a particle filter).  This module turns that
sample into trading-level descriptions:

* a weighted histogram of the prices (bin rule documented in
  :func:`histogram_bins`);
* **zones**: one per significant density peak (mode) of the histogram, each
  the contiguous run of bins around the peak whose density stays at or above
  half the peak density (full width at half maximum) without crossing the
  valley towards a neighbouring peak.  A bimodal distribution therefore gives
  two zones, one on each mode;
* zone **kind** against the current price (support below, resistance above,
  neutral straddling it) and **strength** from the zone's probability mass
  (strong >= 10 %, moderate >= 5 %, weak below);
* a **directional bias** from the skew-adjusted standardised distance of the
  forecast from the current price, with a confidence;
* **targets** (strongest zones on the bias side) and a **stop** (strongest zone
  on the opposite side, or a quantile stop).

Prices are in the instrument's price units throughout; probabilities are
fractions of the total weight (0 to 1).  Quantiles (reported levels, the
histogram's interquartile range, quantile stops) follow the package's one
rule, :func:`volresearch.quantiles.quantile` (the generalised inverse of the
weighted empirical distribution function).

A bias is only as good as the forecast's centre: when the fitted model has a
non-zero mean, its estimation noise moves the centre by about
:func:`drift_standard_error`; pass it as ``mean_se`` and the result reports
it next to the score (``bias_score_se``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.signal import find_peaks

from volresearch.errors import DataError, SignalError
from volresearch.quantiles import quantile

__all__ = [
    "Bias",
    "ZoneKind",
    "ZoneStrength",
    "HasAt",
    "Zone",
    "StopZone",
    "DistributionAnalysis",
    "analyze_distribution",
    "horizon_sample",
    "horizon_step",
    "weighted_moments",
    "drift_standard_error",
    "directional_bias",
    "histogram_bins",
    "QUANTILE_LEVELS",
    "BIAS_THRESHOLD",
    "MIN_BINS",
    "MAX_BINS",
]

Bias = Literal["bullish", "bearish", "neutral"]
ZoneKind = Literal["support", "resistance", "neutral"]
ZoneStrength = Literal["strong", "moderate", "weak"]

#: Quantile levels reported by :class:`DistributionAnalysis` (fractions).
QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
#: Bias score above which the bias is bullish (below its negative: bearish).
BIAS_THRESHOLD = 0.3
#: Bounds on the number of histogram bins chosen by the Freedman-Diaconis rule.
MIN_BINS = 10
MAX_BINS = 200
#: Skewness is clipped to this magnitude in the Cornish-Fisher median shift.
_SKEW_CLIP = 1.0
#: 1-2-1 smoothing kernel applied to bin masses before peak detection.
_SMOOTH = np.array([0.25, 0.5, 0.25])


@runtime_checkable
class HasAt(Protocol):
    """Anything that returns the path prices at a step with ``at(step)``.

    An optional ``weights`` attribute (one non-negative weight per path, or
    ``None``) is honoured by :func:`horizon_sample`.
    """

    def at(self, step: int) -> ArrayLike:  # pragma: no cover - protocol
        ...


# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------


def horizon_step(source: object, horizon_minutes: float) -> int:
    """Number of steps of ``source`` that make ``horizon_minutes``.

    Uses the object's ``bar_seconds`` attribute (step length in seconds) when
    it has one, one-minute steps otherwise.

    Raises
    ------
    DataError
        If the horizon is not a positive whole number of steps.
    """
    bar_seconds = float(getattr(source, "bar_seconds", 60.0) or 60.0)
    steps = float(horizon_minutes) * 60.0 / bar_seconds
    n = round(steps)
    if not (n >= 1 and abs(steps - n) <= 1e-9 * max(1.0, steps)):
        raise DataError(f"horizon {horizon_minutes!r} min is not a whole number of {bar_seconds:g}-second steps")
    return int(n)


def horizon_sample(
    source: ArrayLike | HasAt,
    *,
    step: int | None = None,
    weights: ArrayLike | None = None,
    horizon_minutes: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Return the validated price sample (and weights) at the horizon.

    Parameters
    ----------
    source
        Either a 1-D array of path prices at the horizon (price units), or an
        object with an ``at(step)`` method returning such an array and an
        optional ``weights`` attribute (e.g. :class:`volresearch.simulate.Paths`).
    step
        Step passed to ``source.at``; ignored for arrays.
    horizon_minutes
        Used for a paths object when ``step`` is not given: converted to
        steps by :func:`horizon_step`.
    weights
        Non-negative weight per path.  Overrides ``source.weights``.  ``None``
        means equal weights.

    Returns
    -------
    prices, weights
        ``prices`` as a float64 array of the paths with positive weight;
        ``weights`` normalised to sum to 1 over those paths, or ``None`` when
        all paths are equally weighted.

    Raises
    ------
    DataError
        If the sample is not 1-D, has fewer than 2 paths, holds non-finite
        prices, or the weights are malformed (wrong length, negative,
        non-finite, or summing to zero).
    """
    if hasattr(source, "at") and callable(source.at):
        if step is None and horizon_minutes is not None:
            step = horizon_step(source, horizon_minutes)
        if step is None:
            raise DataError("a paths object needs a step or a horizon to read the prices at the horizon")
        raw = source.at(step)
        if weights is None:
            weights = getattr(source, "weights", None)
    else:
        raw = source
    prices = np.asarray(raw, dtype=np.float64)
    if prices.ndim != 1:
        raise DataError(f"prices at the horizon must be 1-D (one price per path), got shape {prices.shape}")
    if prices.size < 2:
        raise DataError(f"need at least 2 paths at the horizon, got {prices.size}")
    bad = np.flatnonzero(~np.isfinite(prices))
    if bad.size:
        raise DataError("prices at the horizon must be finite", row=bad.tolist())
    if weights is None:
        return prices, None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != prices.shape:
        raise DataError(f"weights must have one entry per path: shape {w.shape} vs prices {prices.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        raise DataError("weights must be finite and non-negative", row=bad.tolist())
    total = float(w.sum())
    if not total > 0:
        raise DataError("weights sum to zero")
    keep = w > 0
    prices, w = prices[keep], w[keep] / total
    if prices.size < 1:  # pragma: no cover - total > 0 guarantees one
        raise DataError("no path has positive weight")
    return prices, w


def _check_price(current_price: float) -> float:
    p = float(current_price)
    if not (math.isfinite(p) and p > 0):
        raise DataError(f"current price must be finite and positive, got {current_price!r}")
    return p


# ---------------------------------------------------------------------------
# Weighted statistics
# ---------------------------------------------------------------------------


def weighted_moments(x: ArrayLike, weights: ArrayLike | None = None) -> tuple[float, float, float, float]:
    """Weighted mean, standard deviation, skewness and excess kurtosis.

    Population (weights-normalised, no small-sample correction) moments:
    ``m_k = sum w_i (x_i - mean)^k / sum w_i``, ``std = sqrt(m_2)``,
    ``skewness = m_3 / m_2^1.5``, ``excess kurtosis = m_4 / m_2^2 - 3``.
    With equal weights these equal ``scipy.stats.skew(x, bias=True)`` and
    ``scipy.stats.kurtosis(x, bias=True)``.

    Returns
    -------
    mean, std, skewness, excess_kurtosis
        Mean and std in the units of ``x``; skewness and kurtosis are
        dimensionless.  Skewness and kurtosis are ``nan`` when ``std == 0``.
    """
    xs = np.asarray(x, dtype=np.float64)
    w = np.full(xs.shape, 1.0 / xs.size) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    mean = float(np.dot(w, xs))
    d = xs - mean
    m2 = float(np.dot(w, d * d))
    if m2 <= 0:
        return mean, 0.0, math.nan, math.nan
    m3 = float(np.dot(w, d**3))
    m4 = float(np.dot(w, d**4))
    return mean, math.sqrt(m2), m3 / m2**1.5, m4 / m2**2 - 3.0


def directional_bias(
    mean: float,
    std: float,
    skewness: float,
    current_price: float,
    *,
    threshold: float = BIAS_THRESHOLD,
) -> tuple[Bias, float, float]:
    """Directional bias from the skew-adjusted standardised distance.

    ``z = (mean - price) / std`` and the score is
    ``s = z - clip(skewness, -1, 1) / 6``: the first-order Cornish-Fisher
    shift from the mean to the median (``median ~ mean - std * skew / 6``),
    so a long right tail that lifts the mean without lifting the typical
    outcome does not count as upside.  Skewness is clipped because the
    expansion is only accurate for mild skew.  Bias is ``"bullish"`` when
    ``s > threshold``, ``"bearish"`` when ``s < -threshold`` and
    ``"neutral"`` otherwise (equality is neutral).

    Parameters
    ----------
    mean, std
        Forecast mean and standard deviation (price units, ``std > 0``).
    skewness
        Forecast skewness (dimensionless; ``nan`` treated as 0).
    current_price
        Current price (price units).
    threshold
        Score magnitude beyond which the bias is directional (std units).

    Returns
    -------
    bias, score, z
        The bias label, the skew-adjusted score and the raw ``z`` (std units).
    """
    if not std > 0:
        raise DataError("the forecast has zero dispersion: no directional bias is defined")
    z = (mean - current_price) / std
    g = 0.0 if not math.isfinite(skewness) else min(max(skewness, -_SKEW_CLIP), _SKEW_CLIP)
    score = z - g / 6.0
    bias: Bias
    if score > threshold:
        bias = "bullish"
    elif score < -threshold:
        bias = "bearish"
    else:
        bias = "neutral"
    return bias, float(score), float(z)


# ---------------------------------------------------------------------------
# Histogram
# ---------------------------------------------------------------------------


def histogram_bins(
    prices: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    n_bins: int | None = None,
    tick_size: float | None = None,
) -> tuple[NDArray[np.float64], str]:
    """Bin edges for the weighted price histogram.

    Rule:

    1. Width ``h``: with ``n_bins`` given, ``(max - min) / n_bins``.
       Otherwise Freedman-Diaconis, ``h = 2 IQR n_eff^(-1/3)`` with the
       weighted interquartile range and Kish's effective sample size
       ``n_eff = (sum w)^2 / sum w^2``; the bin count ``ceil((max - min) / h)``
       is clipped to [``MIN_BINS``, ``MAX_BINS``] (``MAX_BINS`` when the IQR
       is zero) and ``h`` recomputed from it.
    2. With ``tick_size``: ``h`` is rounded to the nearest whole number of
       ticks (at least one) and the edges lie on the tick grid, starting at
       the largest multiple of the tick not above the minimum price.
       Otherwise the edges run exactly from the minimum to the maximum.

    Parameters
    ----------
    prices
        Sample of prices (price units), at least two distinct values.
    weights
        Non-negative weights or ``None``.
    n_bins
        Fixed number of bins (>= 1), or ``None`` for the rule above.
    tick_size
        Instrument tick (price units, > 0), or ``None``.

    Returns
    -------
    edges, rule
        Increasing bin edges (price units) and a one-line description of the
        rule that produced them.
    """
    x = np.asarray(prices, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    if not span > 0:
        raise DataError("all prices at the horizon are equal: no histogram can be built")
    if n_bins is not None:
        if int(n_bins) != n_bins or n_bins < 1:
            raise SignalError(f"n_bins must be a positive integer, got {n_bins!r}")
        k = int(n_bins)
        rule = f"fixed {k} bins"
    else:
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        n_eff = float(x.size) if w is None else float(w.sum() ** 2 / np.dot(w, w))
        q25, q75 = quantile(x, [0.25, 0.75], weights=w)
        iqr = float(q75 - q25)
        if iqr > 0:
            h = 2.0 * iqr * n_eff ** (-1.0 / 3.0)
            k = int(np.clip(math.ceil(span / h), MIN_BINS, MAX_BINS))
            rule = f"Freedman-Diaconis (n_eff={n_eff:.0f}), {MIN_BINS}-{MAX_BINS} bins"
        else:
            k = MAX_BINS
            rule = f"zero IQR: {MAX_BINS} bins"
    if tick_size is None:
        return np.linspace(lo, hi, k + 1), rule
    tick = float(tick_size)
    if not (math.isfinite(tick) and tick > 0):
        raise SignalError(f"tick_size must be finite and positive, got {tick_size!r}")
    width = tick * max(1, round(span / k / tick))
    start = math.floor(lo / tick) * tick
    if start > lo:  # floating-point guard
        start -= tick
    k_t = int(math.floor((hi - start) / width)) + 1
    edges = start + width * np.arange(k_t + 1, dtype=np.float64)
    return edges, f"{rule}; width {width / tick:.0f} ticks on the tick grid"


def _bin_index(x: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.intp]:
    """Bin of each price, as ``numpy.histogram`` (last bin closed on the right)."""
    idx = np.searchsorted(edges, x, side="right") - 1
    return np.clip(idx, 0, edges.size - 2)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


def _se_text(se: float | None) -> str:
    """`` +/- se from the estimated mean`` or nothing."""
    return "" if se is None else f" +/- {se:.3f} from the estimated mean"


def drift_standard_error(mean_se_per_bar: float, steps: int, current_price: float) -> float:
    """Standard error of the forecast's centre caused by an estimated drift (price units).

    A fitted constant mean ``mu`` (log return per bar) with standard error
    ``se(mu)`` shifts the log price ``steps`` bars ahead by ``steps mu``, so
    the centre's standard error is about ``current_price * steps * se(mu)``.
    Divided by the forecast's std it is the standard error of the bias score.

    Parameters
    ----------
    mean_se_per_bar
        Standard error of the fitted mean (log return per bar, >= 0).
    steps
        Horizon in bars (>= 0).
    current_price
        Current price (price units, > 0).

    Returns
    -------
    float
        Standard error in price units.

    Raises
    ------
    SignalError
        Negative or non-finite inputs, a non-positive price.
    """
    se = float(mean_se_per_bar)
    p = float(current_price)
    if not (math.isfinite(se) and se >= 0):
        raise SignalError(f"mean standard error must be finite and >= 0, got {mean_se_per_bar!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise SignalError(f"steps must be a whole number >= 0, got {steps!r}")
    if not (math.isfinite(p) and p > 0):
        raise SignalError(f"current price must be finite and positive, got {current_price!r}")
    return p * int(steps) * se


def _jf(v: float | None) -> float | None:
    """JSON-safe float: ``None`` for missing or non-finite values."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Zone:
    """A price zone around one density peak of the forecast distribution.

    Attributes
    ----------
    low, high
        Zone bounds (price units; histogram bin edges).
    center
        Mass-weighted mean of the path prices inside the zone (price units).
    mode
        Midpoint of the zone's highest bin (price units).
    mass
        Probability that the horizon price falls in ``[low, high]`` (0 to 1).
    density
        ``mass / (high - low)``: probability per price unit.
    kind
        ``"support"`` when ``high <= current price``, ``"resistance"`` when
        ``low >= current price``, ``"neutral"`` when the zone straddles it.
    strength
        ``"strong"`` when ``mass >= strong``, ``"moderate"`` when
        ``mass >= moderate``, ``"weak"`` otherwise.
    """

    low: float
    high: float
    center: float
    mode: float
    mass: float
    density: float
    kind: ZoneKind
    strength: ZoneStrength

    @property
    def width(self) -> float:
        """Zone width ``high - low`` (price units)."""
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return {
            "low": self.low,
            "high": self.high,
            "center": self.center,
            "mode": self.mode,
            "mass": self.mass,
            "density": self.density,
            "kind": self.kind,
            "strength": self.strength,
        }

    def summary(self) -> str:
        """One line: bounds, center, mass, kind and strength."""
        return (
            f"{self.kind:<10} {self.strength:<8} [{self.low:.6g}, {self.high:.6g}] "
            f"center {self.center:.6g}  mass {self.mass:.1%}"
        )


@dataclass(frozen=True)
class StopZone:
    """Where a stop belongs for a position taken in the bias direction.

    Attributes
    ----------
    low, high
        Bounds of the stop zone (price units).
    price
        The stop level (price units): the far edge of the zone from the
        current price (``low`` for a long, ``high`` for a short).
    source
        ``"zone"`` when taken from the strongest zone on the opposite side of
        the bias, ``"quantile"`` when taken from the 5-10 % (long) or
        90-95 % (short) quantiles because no such zone exists.
    """

    low: float
    high: float
    price: float
    source: Literal["zone", "quantile"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return {"low": self.low, "high": self.high, "price": self.price, "source": self.source}

    def summary(self) -> str:
        """One line: stop level, zone and where it came from."""
        return f"stop {self.price:.6g} in [{self.low:.6g}, {self.high:.6g}] ({self.source})"


@dataclass(frozen=True)
class DistributionAnalysis:
    """Zones, bias, targets and statistics of a forecast at one horizon.

    Attributes
    ----------
    current_price
        Price the forecast starts from (price units).
    horizon
        Horizon label in minutes as given by the caller (``None`` if not given).
    n_paths
        Number of paths with positive weight.
    effective_sample_size
        Kish ``(sum w)^2 / sum w^2`` (equals ``n_paths`` for equal weights).
    mean, std
        Weighted mean and population standard deviation (price units).
    skewness, excess_kurtosis
        Weighted third and fourth standardised moments (kurtosis minus 3).
    quantiles
        Read-only mapping level -> weighted quantile (price units, the
        package's inverted-cdf rule) for the levels in ``QUANTILE_LEVELS``.
    prob_above, prob_below
        Probability that the horizon price is strictly above / below the
        current price.
    z_score
        ``(mean - current_price) / std``.
    bias_score
        ``z_score - clip(skewness, -1, 1) / 6`` (see :func:`directional_bias`).
    bias
        ``"bullish"`` (score > ``bias_threshold``), ``"bearish"``
        (score < ``-bias_threshold``) or ``"neutral"``.
    bias_confidence
        Probability mass on the bias side: ``prob_above`` when bullish,
        ``prob_below`` when bearish; when neutral, the balance
        ``1 - |prob_above - prob_below|`` (1 when the mass splits evenly).
    bias_threshold
        Threshold used for the bias (std units).
    zones
        Zones in increasing price order.
    primary_target, secondary_target
        The two zones of largest mass on the bias side (resistance when
        bullish, support when bearish); ``None`` when fewer exist or the bias
        is neutral.
    stop
        Stop for a position in the bias direction (see :class:`StopZone`), or
        ``None`` when the bias is neutral or no level exists beyond the price.
    bin_edges, bin_mass
        The histogram (price units; probability per bin).
    bin_rule
        How the bins were chosen.
    strong, moderate, min_mass
        Zone mass thresholds used (fractions).
    mean_se
        Standard error of ``mean`` that comes from the estimated drift of the
        fitted model (price units), when the caller gave it; ``None`` when
        the forecast has no estimated mean (zero-mean fit) or it is unknown.
    """

    current_price: float
    horizon: float | None
    n_paths: int
    effective_sample_size: float
    mean: float
    std: float
    skewness: float
    excess_kurtosis: float
    quantiles: Mapping[float, float]
    prob_above: float
    prob_below: float
    z_score: float
    bias_score: float
    bias: Bias
    bias_confidence: float
    bias_threshold: float
    zones: tuple[Zone, ...]
    primary_target: Zone | None
    secondary_target: Zone | None
    stop: StopZone | None
    bin_edges: tuple[float, ...] = field(repr=False)
    bin_mass: tuple[float, ...] = field(repr=False)
    bin_rule: str = ""
    strong: float = 0.10
    moderate: float = 0.05
    min_mass: float = 0.01
    mean_se: float | None = None

    @property
    def bias_score_se(self) -> float | None:
        """Standard error of :attr:`bias_score` from the estimated mean: ``mean_se / std`` (std units)."""
        return None if self.mean_se is None else self.mean_se / self.std

    @property
    def targets(self) -> tuple[Zone, ...]:
        """Primary and secondary targets that exist, in that order."""
        return tuple(z for z in (self.primary_target, self.secondary_target) if z is not None)

    @property
    def relative_std(self) -> float:
        """``std / current_price`` (dimensionless)."""
        return self.std / self.current_price

    def to_frame(self) -> pd.DataFrame:
        """One row per zone (price order): low, high, center, mode, mass, density, kind, strength."""
        cols = ["low", "high", "center", "mode", "mass", "density", "kind", "strength"]
        return pd.DataFrame([z.to_dict() for z in self.zones], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (non-finite numbers become ``None``)."""
        return {
            "current_price": self.current_price,
            "horizon": _jf(self.horizon),
            "n_paths": self.n_paths,
            "effective_sample_size": self.effective_sample_size,
            "mean": self.mean,
            "std": self.std,
            "relative_std": self.relative_std,
            "skewness": _jf(self.skewness),
            "excess_kurtosis": _jf(self.excess_kurtosis),
            "quantiles": {f"{k:.2f}": v for k, v in self.quantiles.items()},
            "prob_above": self.prob_above,
            "prob_below": self.prob_below,
            "z_score": self.z_score,
            "bias_score": self.bias_score,
            "bias_score_se": _jf(self.bias_score_se),
            "mean_se": _jf(self.mean_se),
            "bias": self.bias,
            "bias_confidence": self.bias_confidence,
            "bias_threshold": self.bias_threshold,
            "zones": [z.to_dict() for z in self.zones],
            "primary_target": None if self.primary_target is None else self.primary_target.to_dict(),
            "secondary_target": (None if self.secondary_target is None else self.secondary_target.to_dict()),
            "stop": None if self.stop is None else self.stop.to_dict(),
            "bin_edges": list(self.bin_edges),
            "bin_mass": list(self.bin_mass),
            "bin_rule": self.bin_rule,
            "strong": self.strong,
            "moderate": self.moderate,
            "min_mass": self.min_mass,
        }

    def summary(self) -> str:
        """A few lines for a console or a report."""
        h = "" if self.horizon is None else f" at {self.horizon:g} min"
        lines = [
            f"Forecast{h} from {self.current_price:.6g} ({self.n_paths} paths, n_eff {self.effective_sample_size:.0f})",
            f"  mean {self.mean:.6g}  std {self.std:.4g} ({self.relative_std:.3%})  "
            f"skew {self.skewness:.3f}  excess kurt {self.excess_kurtosis:.3f}",
            f"  5%-95%: {self.quantiles[0.05]:.6g} .. {self.quantiles[0.95]:.6g}  P(up) {self.prob_above:.1%}",
            f"  bias {self.bias} (score {self.bias_score:+.3f}{_se_text(self.bias_score_se)}, "
            f"confidence {self.bias_confidence:.1%})",
            f"  zones ({len(self.zones)}):",
        ]
        lines += [f"    {z.summary()}" for z in self.zones]
        for name, z in (("primary target", self.primary_target), ("secondary target", self.secondary_target)):
            lines.append(f"  {name}: {'none' if z is None else z.summary()}")
        lines.append(f"  {'stop: none' if self.stop is None else self.stop.summary()}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Zone detection
# ---------------------------------------------------------------------------


def _find_zones(
    x: NDArray[np.float64],
    w: NDArray[np.float64],
    edges: NDArray[np.float64],
    *,
    current_price: float,
    strong: float,
    moderate: float,
    min_mass: float,
    min_prominence: float,
    noise_z: float,
    core_fraction: float,
    n_eff: float,
) -> tuple[list[Zone], NDArray[np.float64]]:
    """Zones around significant histogram peaks (see :func:`analyze_distribution`)."""
    k = edges.size - 1
    idx = _bin_index(x, edges)
    mass = np.bincount(idx, weights=w, minlength=k).astype(np.float64)
    # Bins have equal widths, so smoothed mass is proportional to density.
    smooth = np.convolve(mass, _SMOOTH, mode="same")
    padded = np.concatenate(([0.0], smooth, [0.0]))
    peaks, props = find_peaks(padded, prominence=0.0)
    peaks = peaks - 1
    heights = smooth[peaks]
    prom = props["prominences"]
    saddle = heights - prom
    # Poisson-like variance of a smoothed bin mass: sum(kernel^2) * mass / n_eff.
    noise = np.sqrt(np.sum(_SMOOTH**2) * (heights + saddle) / n_eff)
    keep = (prom >= min_prominence * heights) & (prom >= noise_z * noise) & (heights > 0)
    keep[np.argmax(heights)] = True  # the global mode always stands
    peaks = peaks[keep]
    # Valleys between consecutive kept peaks bound each peak's basin.
    valleys = [-1]
    for a, b in zip(peaks[:-1], peaks[1:], strict=True):
        valleys.append(int(a + np.argmin(smooth[a : b + 1])))
    valleys.append(k)
    zones: list[Zone] = []
    wx = w * x
    for j, p in enumerate(peaks):
        floor = core_fraction * smooth[p]
        left, right = int(p), int(p)
        while left - 1 > valleys[j] and smooth[left - 1] >= floor:
            left -= 1
        while right + 1 < valleys[j + 1] and smooth[right + 1] >= floor:
            right += 1
        m = float(mass[left : right + 1].sum())
        if m < min_mass or m <= 0:
            continue
        inside = (idx >= left) & (idx <= right)
        center = float(wx[inside].sum() / w[inside].sum())
        low, high = float(edges[left]), float(edges[right + 1])
        kind: ZoneKind
        if high <= current_price:
            kind = "support"
        elif low >= current_price:
            kind = "resistance"
        else:
            kind = "neutral"
        strength: ZoneStrength
        if m >= strong:
            strength = "strong"
        elif m >= moderate:
            strength = "moderate"
        else:
            strength = "weak"
        zones.append(
            Zone(
                low=low,
                high=high,
                center=center,
                mode=float(0.5 * (edges[p] + edges[p + 1])),
                mass=m,
                density=m / (high - low),
                kind=kind,
                strength=strength,
            )
        )
    return zones, mass


def _strongest(zones: Sequence[Zone], kind: ZoneKind, current_price: float) -> list[Zone]:
    """Zones of a kind, largest mass first (ties: nearer the price first)."""
    chosen = [z for z in zones if z.kind == kind]
    return sorted(chosen, key=lambda z: (-z.mass, abs(z.center - current_price)))


def analyze_distribution(
    prices_at_horizon: ArrayLike | HasAt,
    current_price: float,
    *,
    weights: ArrayLike | None = None,
    horizon: float | None = None,
    step: int | None = None,
    n_bins: int | None = None,
    strong: float = 0.10,
    moderate: float = 0.05,
    min_mass: float = 0.01,
    min_prominence: float = 0.3,
    noise_z: float = 3.0,
    core_fraction: float = 0.5,
    tick_size: float | None = None,
    bias_threshold: float = BIAS_THRESHOLD,
    mean_se: float | None = None,
) -> DistributionAnalysis:
    """Analyse the forecast price distribution at one horizon.

    Zones are found as follows.  The weighted histogram (bins from
    :func:`histogram_bins`) gives a mass per bin; the masses are smoothed
    with a 1-2-1 kernel (bins have equal widths, so the smoothed mass stands
    for the density).  Every local
    maximum of the smoothed density (the series padded with zero density on
    both sides, so a peak at the edge counts) is a candidate peak; a peak is
    kept when its topographic prominence (height above the higher of the two
    lowest points separating it from higher ground, the saddle) is at least
    ``min_prominence`` times its own height, which discards wiggles on a
    single mode while keeping well separated modes of any size, and at least
    ``noise_z`` sampling standard errors, ``sqrt(0.375 (m_peak + m_saddle)
    / n_eff)`` in smoothed bin mass (0.375 is the sum of the squared kernel
    weights, ``n_eff`` the Kish effective sample size), which discards
    counting noise in flat regions.  The tallest peak (the global mode) is
    always kept.  Between
    two consecutive kept peaks the lowest smoothed bin is the valley that
    separates their basins.  A peak's zone is the contiguous run of bins
    around it, inside its basin, whose smoothed density is at least
    ``core_fraction`` times the peak's (half maximum by default).  The zone's
    mass is the weight of the paths in those bins; zones with mass below
    ``min_mass`` are dropped.

    Targets and stop: with a bullish bias the targets are the resistance zones
    of largest mass and the stop is the strongest support zone (stop level at
    its ``low``); with a bearish bias the targets are support zones and the
    stop the strongest resistance zone (stop level at its ``high``).  Without
    a zone on the opposite side the stop is the 5-10 % quantile band (long;
    stop at the 5 % quantile) or the 90-95 % band (short; stop at the 95 %
    quantile), provided that quantile lies beyond the current price.

    Parameters
    ----------
    prices_at_horizon
        Path prices at the horizon (price units), or an object with
        ``at(step)`` and optional ``weights`` (see :func:`horizon_sample`).
    current_price
        Current price (price units, > 0).
    weights
        Non-negative weight per path (overrides the paths object's weights);
        ``None`` for equal weights.  Zero-weight paths are ignored.
    horizon
        Horizon in minutes, recorded in the result; for a paths object also
        the default ``step``, converted with :func:`horizon_step` (the
        object's ``bar_seconds``, else one-minute steps).
    step
        Step for ``prices_at_horizon.at`` (overrides ``horizon``).
    n_bins
        Fixed number of histogram bins; ``None`` for Freedman-Diaconis.
    strong, moderate
        Zone mass thresholds for strength (fractions, ``moderate <= strong``).
    min_mass
        Smallest zone mass reported (fraction, ``<= moderate``).
    min_prominence
        Minimum peak prominence relative to the peak's height (0 to 1).
    noise_z
        Minimum peak prominence in sampling standard errors (>= 0).
    core_fraction
        Zone edge as a fraction of the peak density (0 to 1).
    tick_size
        Instrument tick (price units): bins become whole numbers of ticks on
        the tick grid.
    bias_threshold
        Bias score magnitude for a directional bias (std units).
    mean_se
        Standard error of the forecast mean from the fitted model's estimated
        drift (price units, see :func:`drift_standard_error`); reported as
        ``mean_se`` and ``bias_score_se``.  ``None`` for a zero-mean fit.

    Returns
    -------
    DistributionAnalysis

    Raises
    ------
    DataError
        For malformed samples or weights, a non-positive current price, or a
        sample with no dispersion.
    SignalError
        For inconsistent thresholds or options.
    """
    price = _check_price(current_price)
    if not (0 < min_mass <= moderate <= strong <= 1):
        raise SignalError(
            "need 0 < min_mass <= moderate <= strong <= 1, got "
            f"min_mass={min_mass}, moderate={moderate}, strong={strong}"
        )
    if not (0 <= min_prominence <= 1):
        raise SignalError(f"min_prominence must lie in [0, 1], got {min_prominence}")
    if not noise_z >= 0:
        raise SignalError(f"noise_z must be >= 0, got {noise_z}")
    if not (0 < core_fraction <= 1):
        raise SignalError(f"core_fraction must lie in (0, 1], got {core_fraction}")
    if not bias_threshold >= 0:
        raise SignalError(f"bias_threshold must be >= 0, got {bias_threshold}")
    if mean_se is not None and not (math.isfinite(float(mean_se)) and float(mean_se) >= 0):
        raise SignalError(f"mean_se must be a finite number >= 0 (price units), got {mean_se!r}")
    x, w_in = horizon_sample(prices_at_horizon, step=step, weights=weights, horizon_minutes=horizon)
    w = np.full(x.size, 1.0 / x.size) if w_in is None else w_in
    mean, std, skew, kurt = weighted_moments(x, w)
    if not std > 0:
        raise DataError("all prices at the horizon are equal: the forecast has no dispersion")
    n_eff = float(1.0 / np.dot(w, w))
    qs = quantile(x, QUANTILE_LEVELS, weights=w)
    quantiles = MappingProxyType({lv: float(v) for lv, v in zip(QUANTILE_LEVELS, qs, strict=True)})
    prob_above = min(1.0, float(w[x > price].sum()))
    prob_below = min(1.0, float(w[x < price].sum()))
    bias, score, z = directional_bias(mean, std, skew, price, threshold=bias_threshold)
    if bias == "bullish":
        bias_conf = prob_above
    elif bias == "bearish":
        bias_conf = prob_below
    else:
        bias_conf = 1.0 - abs(prob_above - prob_below)

    edges, rule = histogram_bins(x, w, n_bins=n_bins, tick_size=tick_size)
    zones, bin_mass = _find_zones(
        x,
        w,
        edges,
        current_price=price,
        strong=strong,
        moderate=moderate,
        min_mass=min_mass,
        min_prominence=min_prominence,
        noise_z=noise_z,
        core_fraction=core_fraction,
        n_eff=n_eff,
    )

    primary = secondary = None
    stop: StopZone | None = None
    if bias != "neutral":
        target_kind: ZoneKind = "resistance" if bias == "bullish" else "support"
        stop_kind: ZoneKind = "support" if bias == "bullish" else "resistance"
        ranked = _strongest(zones, target_kind, price)
        primary = ranked[0] if ranked else None
        secondary = ranked[1] if len(ranked) > 1 else None
        opposite = _strongest(zones, stop_kind, price)
        if opposite:
            sz = opposite[0]
            stop_price = sz.low if bias == "bullish" else sz.high
            stop = StopZone(low=sz.low, high=sz.high, price=stop_price, source="zone")
        elif bias == "bullish" and quantiles[0.05] < price:
            stop = StopZone(
                low=quantiles[0.05],
                high=min(quantiles[0.10], price),
                price=quantiles[0.05],
                source="quantile",
            )
        elif bias == "bearish" and quantiles[0.95] > price:
            stop = StopZone(
                low=max(quantiles[0.90], price),
                high=quantiles[0.95],
                price=quantiles[0.95],
                source="quantile",
            )

    return DistributionAnalysis(
        current_price=price,
        horizon=None if horizon is None else float(horizon),
        n_paths=int(x.size),
        effective_sample_size=n_eff,
        mean=mean,
        std=std,
        skewness=skew,
        excess_kurtosis=kurt,
        quantiles=quantiles,
        prob_above=prob_above,
        prob_below=prob_below,
        z_score=z,
        bias_score=score,
        bias=bias,
        bias_confidence=float(bias_conf),
        bias_threshold=float(bias_threshold),
        zones=tuple(zones),
        primary_target=primary,
        secondary_target=secondary,
        stop=stop,
        bin_edges=tuple(float(e) for e in edges),
        bin_mass=tuple(float(m) for m in bin_mass),
        bin_rule=rule,
        strong=float(strong),
        moderate=float(moderate),
        min_mass=float(min_mass),
        mean_se=None if mean_se is None else float(mean_se),
    )
