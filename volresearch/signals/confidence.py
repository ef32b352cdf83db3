"""Confidence levels from the dispersion of a forecast, with decision flags.

The narrower the forecast distribution relative to the price, the more the
simulated paths agree and the more a signal can be trusted.  The relative
dispersion ``rel = std / current_price`` of the horizon prices is compared
with four per-instrument thresholds ``very_high <= high <= moderate <= low``:

====================================  ============
``rel <= very_high``                  very_high
``very_high < rel <= high``           high
``high < rel <= moderate``            moderate
``moderate < rel <= low``             low
``rel > low``                         very_low
====================================  ============

The thresholds shipped in ``volresearch/config/thresholds.yaml`` are relative
standard deviations of the price at the **24-hour (1440-minute) horizon**.
Applied at another horizon ``h`` (minutes) every threshold is multiplied by
``sqrt(h / 1440)`` (``horizon_scaling="sqrt"``, the default: the random-walk
growth of dispersion), so a 60-minute forecast is not judged against a
24-hour yardstick; ``horizon_scaling="none"`` uses them unchanged (correct
only at the reference horizon).

Thresholds can be re-derived from backtests with :func:`calibrate_thresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import yaml
from numpy.typing import ArrayLike
from scipy.optimize import isotonic_regression

from volresearch.errors import ConfigError, DataError, SignalError
from volresearch.signals.zones import (
    BIAS_THRESHOLD,
    Bias,
    HasAt,
    directional_bias,
    horizon_sample,
    weighted_moments,
)

__all__ = [
    "ConfidenceLevel",
    "LevelThresholds",
    "ThresholdsFile",
    "ConfidenceAssessment",
    "ConfidenceCalculator",
    "calibrate_thresholds",
    "load_thresholds",
    "default_thresholds_path",
    "REFERENCE_HORIZON_MINUTES",
    "DEFAULT_HORIZON_SCALING",
    "DEFAULT_TARGET_HIT_RATES",
    "FLAG_CAPS",
    "confidence_cap",
    "downgrade_for_flags",
    "model_flags",
]

#: Horizon (minutes) the shipped thresholds refer to.
REFERENCE_HORIZON_MINUTES = 1440.0

#: Hit rates that define each level in :func:`calibrate_thresholds`.
DEFAULT_TARGET_HIT_RATES: Mapping[str, float] = MappingProxyType(
    {"very_high": 0.80, "high": 0.70, "moderate": 0.60, "low": 0.50}
)

_THRESHOLD_KEYS = ("very_high", "high", "moderate", "low")
HorizonScaling = Literal["none", "sqrt"]
#: Default way thresholds follow the horizon: dispersion grows like sqrt(h).
DEFAULT_HORIZON_SCALING: HorizonScaling = "sqrt"
PositionSide = Literal["long", "short"]


class ConfidenceLevel(Enum):
    """Discrete confidence levels, ordered ``VERY_LOW < ... < VERY_HIGH``."""

    VERY_LOW = "very_low"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    VERY_HIGH = "very_high"

    @property
    def rank(self) -> int:
        """0 for ``VERY_LOW`` up to 4 for ``VERY_HIGH``."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: ConfidenceLevel | str) -> ConfidenceLevel:
        """The level named by ``value`` (e.g. ``"high"``), or ``value`` itself."""
        if isinstance(value, ConfidenceLevel):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise SignalError(f"unknown confidence level {value!r} (expected one of {names})") from None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ConfidenceLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, ConfidenceLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, ConfidenceLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, ConfidenceLevel):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {lv: i for i, lv in enumerate(ConfidenceLevel)}


@dataclass(frozen=True)
class LevelThresholds:
    """Upper bounds of relative std (std / price, dimensionless) for each level.

    Must satisfy ``0 <= very_high <= high <= moderate <= low`` (equal
    thresholds leave a level empty).  See the module docstring for the exact
    boundary rule implemented by :meth:`classify`.
    """

    very_high: float
    high: float
    moderate: float
    low: float

    def __post_init__(self) -> None:
        vals = self.as_tuple()
        for key, v in zip(_THRESHOLD_KEYS, vals, strict=True):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise SignalError(f"threshold {key!r} must be a finite number >= 0, got {v!r}")
        if any(a > b for a, b in zip(vals[:-1], vals[1:], strict=True)):
            raise SignalError(
                "thresholds must be non-decreasing very_high <= high <= moderate <= low, "
                f"got {dict(zip(_THRESHOLD_KEYS, vals, strict=True))}"
            )

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(very_high, high, moderate, low)``."""
        return (self.very_high, self.high, self.moderate, self.low)

    def scaled(self, factor: float) -> LevelThresholds:
        """Every threshold multiplied by ``factor`` (> 0)."""
        if not (math.isfinite(factor) and factor > 0):
            raise SignalError(f"scale factor must be finite and positive, got {factor!r}")
        return LevelThresholds(*(factor * v for v in self.as_tuple()))

    def classify(self, rel_std: float) -> ConfidenceLevel:
        """Level of a relative std: the first threshold it does not exceed.

        ``rel <= very_high`` -> VERY_HIGH; ``<= high`` -> HIGH;
        ``<= moderate`` -> MODERATE; ``<= low`` -> LOW; otherwise VERY_LOW.
        """
        r = float(rel_std)
        if math.isnan(r) or r < 0:
            raise DataError(f"relative std must be >= 0, got {rel_std!r}")
        if r <= self.very_high:
            return ConfidenceLevel.VERY_HIGH
        if r <= self.high:
            return ConfidenceLevel.HIGH
        if r <= self.moderate:
            return ConfidenceLevel.MODERATE
        if r <= self.low:
            return ConfidenceLevel.LOW
        return ConfidenceLevel.VERY_LOW

    def to_dict(self) -> dict[str, float]:
        """``{"very_high": ..., "high": ..., "moderate": ..., "low": ...}``."""
        return dict(zip(_THRESHOLD_KEYS, self.as_tuple(), strict=True))


# ---------------------------------------------------------------------------
# Configuration file
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdsFile:
    """Validated contents of a ``thresholds.yaml`` file.

    Attributes
    ----------
    source
        Path (or name) of the file read.
    reference_horizon_minutes
        Horizon the confidence thresholds refer to (minutes).
    horizon_scaling
        ``"none"`` (thresholds used as they are at every horizon) or
        ``"sqrt"`` (scaled by ``sqrt(h / reference)``).
    instruments
        Instrument symbol -> :class:`LevelThresholds`; always has ``default``.
    min_entry_confidence, min_adjust_confidence, exit_confidence
        Decision gates from the ``position_management`` section.
    position_management
        The whole ``position_management`` section as read (validated by
        :meth:`volresearch.signals.positions.PositionConfig.from_thresholds`).
    particle_filter
        The ``particle_filter`` section: ``n_particles`` (int >= 1) and
        ``resample_threshold`` (ESS fraction in (0, 1]).
    """

    source: str
    reference_horizon_minutes: float
    horizon_scaling: HorizonScaling
    instruments: Mapping[str, LevelThresholds]
    min_entry_confidence: ConfidenceLevel
    min_adjust_confidence: ConfidenceLevel
    exit_confidence: ConfidenceLevel
    position_management: Mapping[str, Any]
    particle_filter: Mapping[str, Any]


def default_thresholds_path() -> Path:
    """Location of the packaged ``thresholds.yaml``."""
    return Path(str(resources.files("volresearch.config") / "thresholds.yaml"))


def _cfg_error(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: key '{key}': {message}")


def _section(data: Mapping[str, Any], key: str, source: str, prefix: str = "") -> Mapping[str, Any]:
    full = f"{prefix}{key}"
    if key not in data:
        raise _cfg_error(source, full, "missing")
    value = data[key]
    if not isinstance(value, Mapping):
        raise _cfg_error(source, full, f"must be a mapping, got {type(value).__name__}")
    return value


def _number(value: Any, source: str, key: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (strict and value == minimum):
        cmp = ">" if strict else ">="
        raise _cfg_error(source, key, f"must be a finite number {cmp} {minimum:g}, got {value!r}")
    return float(value)


def _level(value: Any, source: str, key: str) -> ConfidenceLevel:
    try:
        return ConfidenceLevel.parse(value)
    except ValueError as exc:
        raise _cfg_error(source, key, str(exc)) from None


def _parse_thresholds(entry: Any, source: str, key: str) -> LevelThresholds:
    if not isinstance(entry, Mapping):
        raise _cfg_error(source, key, f"must be a mapping of levels, got {type(entry).__name__}")
    extra = sorted(set(map(str, entry)) - set(_THRESHOLD_KEYS))
    if extra:
        expected = ", ".join(_THRESHOLD_KEYS)
        raise _cfg_error(source, f"{key}.{extra[0]}", f"unknown level (expected {expected})")
    vals = []
    for lv in _THRESHOLD_KEYS:
        if lv not in entry:
            raise _cfg_error(source, f"{key}.{lv}", "missing")
        vals.append(_number(entry[lv], source, f"{key}.{lv}"))
    try:
        return LevelThresholds(*vals)
    except ValueError as exc:
        raise _cfg_error(source, key, str(exc)) from None


def parse_thresholds_mapping(data: Any, source: str = "<mapping>") -> ThresholdsFile:
    """Validate an already-parsed thresholds document (see :func:`load_thresholds`)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the document must be a mapping, got {type(data).__name__}")
    conf = _section(data, "confidence", source)
    ref = _number(
        conf.get("reference_horizon_minutes", REFERENCE_HORIZON_MINUTES),
        source,
        "confidence.reference_horizon_minutes",
        strict=True,
    )
    scaling = conf.get("horizon_scaling", DEFAULT_HORIZON_SCALING)
    if scaling not in ("none", "sqrt"):
        raise _cfg_error(source, "confidence.horizon_scaling", f"must be 'none' or 'sqrt', got {scaling!r}")
    inst_raw = _section(conf, "instruments", source, "confidence.")
    if "default" not in inst_raw:
        raise _cfg_error(source, "confidence.instruments.default", "missing")
    instruments = {
        str(name): _parse_thresholds(entry, source, f"confidence.instruments.{name}")
        for name, entry in inst_raw.items()
    }
    pm = _section(data, "position_management", source)
    gates = {}
    for key, default in (
        ("min_entry_confidence", "high"),
        ("min_adjust_confidence", "moderate"),
        ("exit_confidence", "low"),
    ):
        gates[key] = _level(pm.get(key, default), source, f"position_management.{key}")
    pf = _section(data, "particle_filter", source)
    n_particles = pf.get("n_particles", 10000)
    if isinstance(n_particles, bool) or not isinstance(n_particles, int) or n_particles < 1:
        raise _cfg_error(source, "particle_filter.n_particles", f"must be an integer >= 1, got {n_particles!r}")
    resample = _number(pf.get("resample_threshold", 0.5), source, "particle_filter.resample_threshold", strict=True)
    if resample > 1:
        raise _cfg_error(source, "particle_filter.resample_threshold", f"must lie in (0, 1], got {resample!r}")
    return ThresholdsFile(
        source=source,
        reference_horizon_minutes=ref,
        horizon_scaling=scaling,
        instruments=MappingProxyType(instruments),
        min_entry_confidence=gates["min_entry_confidence"],
        min_adjust_confidence=gates["min_adjust_confidence"],
        exit_confidence=gates["exit_confidence"],
        position_management=MappingProxyType(dict(pm)),
        particle_filter=MappingProxyType({**dict(pf), "n_particles": n_particles, "resample_threshold": resample}),
    )


def load_thresholds(path: str | Path | None = None) -> ThresholdsFile:
    """Read and validate a thresholds YAML file.

    Parameters
    ----------
    path
        File to read; ``None`` for the packaged ``thresholds.yaml``.

    Returns
    -------
    ThresholdsFile

    Raises
    ------
    ConfigError
        When the file cannot be read, is not valid YAML, or a key is missing
        or invalid; the message names the file and the dotted key.
    """
    p = default_thresholds_path() if path is None else Path(path)
    source = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read thresholds file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from exc
    return parse_thresholds_mapping(data, source)


# ---------------------------------------------------------------------------
# Assessment
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfidenceAssessment:
    """Confidence level of one forecast and the decisions it allows.

    Attributes
    ----------
    instrument
        Instrument asked for.
    thresholds_key
        Entry of the configuration actually used (``instrument`` or
        ``"default"``).
    used_default
        ``True`` when the instrument was unknown and ``default`` was used.
    current_price, mean, std
        Price units.
    rel_std
        ``std / current_price`` (dimensionless).
    level
        Confidence level (see the module docstring for the boundary rule).
    thresholds
        Thresholds applied, after any horizon scaling (relative std).
    horizon
        Horizon assessed (minutes); the reference horizon when not given.
    reference_horizon
        Horizon the configured thresholds refer to (minutes).
    horizon_scale
        Factor applied to the configured thresholds (1 without scaling).
    bias, bias_score
        Directional bias of the same sample (see
        :func:`volresearch.signals.zones.directional_bias`).
    mean_se
        Standard error of ``mean`` from the fitted model's estimated drift
        (price units) when the caller gave it, else ``None``; ``bias_score_se``
        is ``mean_se / std``, the score's standard error.
    position_side
        Side of the open position considered, or ``None``.
    can_enter
        ``level >= min_entry_confidence``.
    can_adjust
        ``level >= min_adjust_confidence``.
    should_exit
        ``level <= exit_confidence``, or the bias points against the open
        position (bearish for a long, bullish for a short).
    exit_reasons
        Why ``should_exit`` is set (empty when it is not).
    min_entry_confidence, min_adjust_confidence, exit_confidence
        Gates applied.
    """

    instrument: str
    thresholds_key: str
    used_default: bool
    current_price: float
    mean: float
    std: float
    rel_std: float
    level: ConfidenceLevel
    thresholds: LevelThresholds
    horizon: float
    reference_horizon: float
    horizon_scale: float
    bias: Bias
    bias_score: float
    position_side: PositionSide | None
    can_enter: bool
    can_adjust: bool
    should_exit: bool
    exit_reasons: tuple[str, ...]
    min_entry_confidence: ConfidenceLevel
    min_adjust_confidence: ConfidenceLevel
    exit_confidence: ConfidenceLevel
    mean_se: float | None = None
    raw_level: ConfidenceLevel | None = None
    downgrade_reasons: tuple[str, ...] = ()

    @property
    def downgraded(self) -> bool:
        """True when a warning on the model lowered the level from the one the dispersion gives."""
        return self.raw_level is not None and self.raw_level != self.level

    @property
    def bias_score_se(self) -> float | None:
        """Standard error of :attr:`bias_score` from the estimated mean (std units), or ``None``."""
        if self.mean_se is None or not self.std > 0:
            return None
        return self.mean_se / self.std

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (levels as their string values)."""
        return {
            "instrument": self.instrument,
            "thresholds_key": self.thresholds_key,
            "used_default": self.used_default,
            "current_price": self.current_price,
            "mean": self.mean,
            "std": self.std,
            "rel_std": self.rel_std,
            "level": self.level.value,
            "thresholds": self.thresholds.to_dict(),
            "horizon": self.horizon,
            "reference_horizon": self.reference_horizon,
            "horizon_scale": self.horizon_scale,
            "bias": self.bias,
            "bias_score": self.bias_score if math.isfinite(self.bias_score) else None,
            "mean_se": self.mean_se,
            "bias_score_se": self.bias_score_se,
            "position_side": self.position_side,
            "can_enter": self.can_enter,
            "can_adjust": self.can_adjust,
            "should_exit": self.should_exit,
            "exit_reasons": list(self.exit_reasons),
            "min_entry_confidence": self.min_entry_confidence.value,
            "min_adjust_confidence": self.min_adjust_confidence.value,
            "exit_confidence": self.exit_confidence.value,
            "raw_level": None if self.raw_level is None else self.raw_level.value,
            "downgraded": self.downgraded,
            "downgrade_reasons": list(self.downgrade_reasons),
        }

    def summary(self) -> str:
        """A few lines: level, dispersion, thresholds and flags."""
        src = f"{self.thresholds_key} thresholds" + (" (fallback)" if self.used_default else "")
        t = self.thresholds
        flags = [f for f, on in (("enter", self.can_enter), ("adjust", self.can_adjust)) if on]
        lines = [
            f"{self.instrument}: confidence {self.level.value} at {self.horizon:g} min "
            f"(rel std {self.rel_std:.4%}, {src}, scale {self.horizon_scale:.3f})",
            f"  thresholds: very_high <= {t.very_high:.4%} < high <= {t.high:.4%} < "
            f"moderate <= {t.moderate:.4%} < low <= {t.low:.4%} < very_low",
            f"  bias {self.bias} (score {self.bias_score:+.3f}"
            + ("" if self.bias_score_se is None else f" +/- {self.bias_score_se:.3f} from the estimated mean")
            + "); allowed: "
            f"{', '.join(flags) if flags else 'nothing'}",
        ]
        if self.downgraded:
            assert self.raw_level is not None
            lines.append(f"  downgraded from {self.raw_level.value}: {'; '.join(self.downgrade_reasons)}")
        if self.should_exit:
            lines.append(f"  exit: {'; '.join(self.exit_reasons)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ConfidenceCalculator:
    """Classify forecasts into confidence levels with per-instrument thresholds.

    Build it with :meth:`from_yaml` (the packaged file by default) or directly
    from a mapping of :class:`LevelThresholds`, which must contain a
    ``"default"`` entry used for unknown instruments.

    Parameters
    ----------
    instruments
        Symbol -> thresholds (relative std at ``reference_horizon_minutes``).
    reference_horizon_minutes
        Horizon the thresholds refer to (minutes; 1440 for the shipped file).
    horizon_scaling
        ``"sqrt"`` (default): at horizon ``h`` thresholds are multiplied by
        ``sqrt(h / reference_horizon_minutes)``.
        ``"none"``: thresholds are used unchanged at any horizon.
    min_entry_confidence, min_adjust_confidence, exit_confidence
        Gates for ``can_enter``, ``can_adjust`` and ``should_exit``.
    bias_threshold
        Bias score magnitude for a directional bias (std units).
    source
        Where the thresholds came from (reported only).
    """

    instruments: Mapping[str, LevelThresholds]
    reference_horizon_minutes: float = REFERENCE_HORIZON_MINUTES
    horizon_scaling: HorizonScaling = DEFAULT_HORIZON_SCALING
    min_entry_confidence: ConfidenceLevel = ConfidenceLevel.HIGH
    min_adjust_confidence: ConfidenceLevel = ConfidenceLevel.MODERATE
    exit_confidence: ConfidenceLevel = ConfidenceLevel.LOW
    bias_threshold: float = BIAS_THRESHOLD
    source: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        inst = dict(self.instruments)
        if "default" not in inst:
            raise SignalError("instruments must contain a 'default' entry")
        for name, th in inst.items():
            if not isinstance(th, LevelThresholds):
                raise TypeError(f"thresholds for {name!r} must be LevelThresholds, got {type(th).__name__}")
        object.__setattr__(self, "instruments", MappingProxyType(inst))
        if self.horizon_scaling not in ("none", "sqrt"):
            raise SignalError(f"horizon_scaling must be 'none' or 'sqrt', got {self.horizon_scaling!r}")
        if not (math.isfinite(self.reference_horizon_minutes) and self.reference_horizon_minutes > 0):
            raise SignalError("reference_horizon_minutes must be finite and positive")
        for name in ("min_entry_confidence", "min_adjust_confidence", "exit_confidence"):
            object.__setattr__(self, name, ConfidenceLevel.parse(getattr(self, name)))

    @classmethod
    def from_yaml(
        cls, path: str | Path | None = None, *, horizon_scaling: HorizonScaling | None = None
    ) -> ConfidenceCalculator:
        """Calculator from a thresholds YAML file (``None``: the packaged one).

        ``horizon_scaling`` overrides the file's ``confidence.horizon_scaling``.
        Raises :class:`~volresearch.errors.ConfigError` naming the file and key
        for a malformed file.
        """
        return cls.from_thresholds(load_thresholds(path), horizon_scaling=horizon_scaling)

    @classmethod
    def from_thresholds(
        cls, cfg: ThresholdsFile, *, horizon_scaling: HorizonScaling | None = None
    ) -> ConfidenceCalculator:
        """Calculator from an already loaded :class:`ThresholdsFile`."""
        return cls(
            instruments=cfg.instruments,
            reference_horizon_minutes=cfg.reference_horizon_minutes,
            horizon_scaling=cfg.horizon_scaling if horizon_scaling is None else horizon_scaling,
            min_entry_confidence=cfg.min_entry_confidence,
            min_adjust_confidence=cfg.min_adjust_confidence,
            exit_confidence=cfg.exit_confidence,
            source=cfg.source,
        )

    def with_thresholds(
        self, instrument: str, thresholds: LevelThresholds | Mapping[str, float]
    ) -> ConfidenceCalculator:
        """A copy with ``instrument``'s thresholds replaced (e.g. calibrated ones)."""
        th = thresholds if isinstance(thresholds, LevelThresholds) else LevelThresholds(**thresholds)
        return replace(self, instruments={**self.instruments, instrument: th})

    def thresholds_for(self, instrument: str, horizon: float | None = None) -> tuple[LevelThresholds, str, float]:
        """Thresholds applied to ``instrument`` at ``horizon`` (minutes).

        Returns
        -------
        thresholds, key, scale
            The (scaled) thresholds, the configuration entry used
            (``instrument`` or ``"default"``) and the scale factor applied.
        """
        key = instrument if instrument in self.instruments else "default"
        base = self.instruments[key]
        h = self.reference_horizon_minutes if horizon is None else float(horizon)
        if not (math.isfinite(h) and h > 0):
            raise SignalError(f"horizon must be positive minutes, got {horizon!r}")
        scale = math.sqrt(h / self.reference_horizon_minutes) if self.horizon_scaling == "sqrt" else 1.0
        return (base if scale == 1.0 else base.scaled(scale)), key, scale

    def classify(self, rel_std: float, *, instrument: str, horizon: float | None = None) -> ConfidenceLevel:
        """Confidence level of a relative std for ``instrument`` at ``horizon``."""
        th, _, _ = self.thresholds_for(instrument, horizon)
        return th.classify(rel_std)

    def assess(
        self,
        paths_or_prices: ArrayLike | HasAt,
        current_price: float,
        *,
        instrument: str,
        horizon: float | None = None,
        weights: ArrayLike | None = None,
        step: int | None = None,
        position_side: PositionSide | None = None,
        mean_se: float | None = None,
        model_flags: Sequence[str] = (),
    ) -> ConfidenceAssessment:
        """Assess the confidence of a forecast sample at one horizon.

        Parameters
        ----------
        paths_or_prices
            Path prices at the horizon (price units), or an object with
            ``at(step)`` and optional ``weights``.
        current_price
            Current price (price units, > 0).
        instrument
            Symbol; unknown symbols use the ``default`` thresholds (reported in
            ``used_default``).
        horizon
            Horizon in minutes (``None``: the reference horizon).  With the
            default ``horizon_scaling="sqrt"`` the thresholds scale with it.
        weights
            Weight per path (``None``: equal, or the paths object's weights).
        step
            Step for ``paths_or_prices.at``; by default the horizon (or the
            reference horizon) converted to steps with the object's
            ``bar_seconds`` (one-minute steps without it).
        position_side
            ``"long"`` or ``"short"`` when a position is open: a bias against
            it sets ``should_exit``.
        mean_se
            Standard error of the forecast mean from the fitted model's
            estimated drift (price units; see
            :func:`volresearch.signals.zones.drift_standard_error`), reported
            with the bias.  ``None`` for a zero-mean fit.
        model_flags
            Warnings on the model behind the forecast (see :func:`model_flags`);
            they cap the level (see :func:`confidence_cap`), and the reasons
            are kept in ``downgrade_reasons``.

        Returns
        -------
        ConfidenceAssessment

        Raises
        ------
        DataError
            Malformed sample or current price.
        SignalError
            Invalid ``position_side``, horizon or ``mean_se``.
        """
        price = float(current_price)
        if not (math.isfinite(price) and price > 0):
            raise DataError(f"current price must be finite and positive, got {current_price!r}")
        if position_side not in (None, "long", "short"):
            raise SignalError(f"position_side must be 'long', 'short' or None, got {position_side!r}")
        if mean_se is not None and not (math.isfinite(float(mean_se)) and float(mean_se) >= 0):
            raise SignalError(f"mean_se must be a finite number >= 0 (price units), got {mean_se!r}")
        h_min = self.reference_horizon_minutes if horizon is None else horizon
        x, w = horizon_sample(paths_or_prices, step=step, weights=weights, horizon_minutes=h_min)
        mean, std, skew, _ = weighted_moments(x, w)
        th, key, scale = self.thresholds_for(instrument, horizon)
        rel = std / price
        raw_level = th.classify(rel)
        cap, downgrade_reasons = confidence_cap(model_flags)
        level = raw_level if cap is None or raw_level <= cap else cap
        if std > 0:
            bias, score, _ = directional_bias(mean, std, skew, price, threshold=self.bias_threshold)
        else:
            bias = "bullish" if mean > price else "bearish" if mean < price else "neutral"
            score = math.copysign(math.inf, mean - price) if mean != price else 0.0
        reasons = []
        if level <= self.exit_confidence:
            reasons.append(f"confidence {level.value} at or below {self.exit_confidence.value}")
        against = {"long": "bearish", "short": "bullish"}
        if position_side is not None and bias == against[position_side]:
            reasons.append(f"bias {bias} against the open {position_side} position")
        return ConfidenceAssessment(
            instrument=instrument,
            thresholds_key=key,
            used_default=key != instrument,
            current_price=price,
            mean=mean,
            std=std,
            rel_std=rel,
            level=level,
            thresholds=th,
            horizon=self.reference_horizon_minutes if horizon is None else float(horizon),
            reference_horizon=self.reference_horizon_minutes,
            horizon_scale=scale,
            bias=bias,
            bias_score=float(score),
            position_side=position_side,
            can_enter=level >= self.min_entry_confidence,
            can_adjust=level >= self.min_adjust_confidence,
            should_exit=bool(reasons),
            exit_reasons=tuple(reasons),
            min_entry_confidence=self.min_entry_confidence,
            min_adjust_confidence=self.min_adjust_confidence,
            exit_confidence=self.exit_confidence,
            mean_se=None if mean_se is None else float(mean_se),
            raw_level=raw_level,
            downgrade_reasons=downgrade_reasons if level != raw_level else (),
        )


# ---------------------------------------------------------------------------
# Warnings on the model cap the confidence
# ---------------------------------------------------------------------------

#: Highest level a forecast may show when its model carries a warning, by the warning's opening words.
#: A near-integrated fit (persistence at 1) makes the forecast dispersion, the very quantity the level
#: measures, unreliable beyond a few bars: ``low``.  A mean that drives the forecast, a rejected optimum
#: with a higher likelihood or unreliable standard errors make the model questionable: ``moderate``.
#: The "normal limit" note on an innovation shape is advice, not a defect: no cap.  Warnings not listed
#: cap at ``moderate``.
FLAG_CAPS: Mapping[str, ConfidenceLevel | None] = MappingProxyType(
    {
        "near-integrated": ConfidenceLevel.LOW,
        "mean drives the forecast": ConfidenceLevel.MODERATE,
        "a rejected attempt": ConfidenceLevel.MODERATE,
        "shape nu": ConfidenceLevel.MODERATE,
    }
)
_ADVISORY = ("the normal limit",)
_DEFAULT_CAP = ConfidenceLevel.MODERATE


def _flag_cap(flag: str) -> ConfidenceLevel | None:
    text = flag.strip()
    if any(word in text for word in _ADVISORY):
        return None
    for prefix, cap in FLAG_CAPS.items():
        if text.lower().startswith(prefix):
            return cap
    return _DEFAULT_CAP


def confidence_cap(flags: Sequence[str]) -> tuple[ConfidenceLevel | None, tuple[str, ...]]:
    """Highest confidence level a forecast may show given warnings on its model.

    Parameters
    ----------
    flags
        Warning texts on the model (e.g. :attr:`volresearch.models.Fit.all_flags`).

    Returns
    -------
    cap, reasons
        The lowest cap any warning sets (:data:`FLAG_CAPS`; ``None``: no cap)
        and the warnings that set a cap, as given.
    """
    cap: ConfidenceLevel | None = None
    reasons: list[str] = []
    for flag in flags:
        c = _flag_cap(str(flag))
        if c is None:
            continue
        reasons.append(str(flag))
        cap = c if cap is None or c < cap else cap
    return cap, tuple(reasons)


def model_flags(fit: Any) -> tuple[str, ...]:
    """Warnings on a fitted model every surface must show, and that cap the confidence of its forecasts.

    Reads ``all_flags`` (else ``flags``) and ``diagnostics["warnings"]`` of a
    fit, and adds a near-integrated warning when ``near_integrated`` is set
    but no flag says so.  ``None`` gives no warnings.
    """
    if fit is None:
        return ()
    flags = list(getattr(fit, "all_flags", None) or getattr(fit, "flags", None) or ())
    diagnostics = getattr(fit, "diagnostics", None) or {}
    flags += [str(w) for w in diagnostics.get("warnings", [])]
    if bool(getattr(fit, "near_integrated", False)) and not any(str(f).startswith("near-integrated") for f in flags):
        flags.append("near-integrated: persistence at 1; long-horizon variance forecasts are unreliable")
    return tuple(dict.fromkeys(str(f) for f in flags))


def downgrade_for_flags(
    assessment: ConfidenceAssessment, flags: Sequence[str], *, exit_confidence: ConfidenceLevel | None = None
) -> ConfidenceAssessment:
    """``assessment`` with its level capped by warnings on the model, gates and exit reasons recomputed.

    The level the dispersion gave stays in ``raw_level``; the warnings that
    lowered it are in ``downgrade_reasons``.  An assessment below the cap is
    returned unchanged (apart from ``raw_level``).
    """
    raw = assessment.raw_level or assessment.level
    cap, reasons = confidence_cap(flags)
    level = raw if cap is None or raw <= cap else cap
    if level == assessment.level and assessment.raw_level is not None:
        return assessment
    exit_level = assessment.exit_confidence if exit_confidence is None else exit_confidence
    exit_reasons = [r for r in assessment.exit_reasons if not r.startswith("confidence ")]
    if level <= exit_level:
        exit_reasons.insert(0, f"confidence {level.value} at or below {exit_level.value}")
    return replace(
        assessment,
        level=level,
        raw_level=raw,
        downgrade_reasons=reasons if level != raw else (),
        can_enter=level >= assessment.min_entry_confidence,
        can_adjust=level >= assessment.min_adjust_confidence,
        should_exit=bool(exit_reasons),
        exit_reasons=tuple(exit_reasons),
    )


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------


def calibrate_thresholds(
    stds: ArrayLike,
    outcomes: ArrayLike,
    *,
    target_hit_rates: Mapping[str, float] = DEFAULT_TARGET_HIT_RATES,
) -> dict[str, float]:
    """Derive confidence thresholds from backtest outcomes.

    Method: the hit rate is modelled as a non-increasing function of relative
    std (wider forecasts should not be right more often).  The past
    forecasts are grouped by distinct relative std, and a weighted isotonic
    (pool-adjacent-violators, :func:`scipy.optimize.isotonic_regression`) regression of the outcomes on relative std
    gives the estimated hit rate ``H(s)``, a non-increasing step function.
    The threshold of a level with target ``t`` is the largest observed
    relative std at which ``H(s) >= t``: beyond it the estimated hit rate
    drops below the target.  If even the smallest relative std misses the
    target the threshold is 0 (the level is then reached only by a forecast
    with zero dispersion); if every forecast meets it, the threshold is the
    largest relative std observed (no extrapolation).

    Because ``H`` is non-increasing and the targets are non-increasing from
    ``very_high`` to ``low``, the thresholds are non-decreasing by
    construction.

    Parameters
    ----------
    stds
        Relative std (std / price, dimensionless) of each past forecast.
    outcomes
        Whether each forecast was right: booleans or hit fractions in [0, 1]
        (e.g. realised price within a tolerance of the forecast, or the
        direction called correctly).
    target_hit_rates
        Level -> required hit rate, for the keys ``very_high``, ``high``,
        ``moderate`` and ``low``, non-increasing in that order.

    Returns
    -------
    dict
        ``{"very_high": ..., "high": ..., "moderate": ..., "low": ...}``
        (relative std), usable as a ``thresholds.yaml`` entry or in
        :class:`LevelThresholds`.

    Raises
    ------
    DataError
        For mismatched, non-finite or out-of-range inputs, or fewer than 2
        forecasts.
    SignalError
        For missing levels or targets not in [0, 1] or not non-increasing.
    """
    s = np.asarray(stds, dtype=np.float64).ravel()
    y = np.asarray(outcomes, dtype=np.float64).ravel()
    if s.shape != y.shape:
        raise DataError(f"stds and outcomes differ in length: {s.size} vs {y.size}")
    if s.size < 2:
        raise DataError(f"need at least 2 past forecasts, got {s.size}")
    bad = np.flatnonzero(~np.isfinite(s) | (s < 0))
    if bad.size:
        raise DataError("relative stds must be finite and >= 0", row=bad.tolist())
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0) | (y > 1))
    if bad.size:
        raise DataError("outcomes must be booleans or fractions in [0, 1]", row=bad.tolist())
    missing = [k for k in _THRESHOLD_KEYS if k not in target_hit_rates]
    if missing:
        raise SignalError(f"target_hit_rates lacks {missing}")
    targets = [float(target_hit_rates[k]) for k in _THRESHOLD_KEYS]
    if any(not 0 <= t <= 1 for t in targets):
        raise SignalError(f"target hit rates must lie in [0, 1], got {targets}")
    if any(a < b for a, b in zip(targets[:-1], targets[1:], strict=True)):
        raise SignalError(f"target hit rates must be non-increasing from very_high to low, got {targets}")

    uniq, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=y, minlength=uniq.size)
    fitted = isotonic_regression(sums / counts, weights=counts.astype(np.float64), increasing=False).x
    out: dict[str, float] = {}
    for key, t in zip(_THRESHOLD_KEYS, targets, strict=True):
        # Small tolerance: pooled means of exact fractions carry rounding error.
        ok = np.flatnonzero(fitted >= t - 1e-12)
        out[key] = float(uniq[ok[-1]]) if ok.size else 0.0
    return out
