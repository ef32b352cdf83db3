"""Position sizing and management from forecast signals.

Pure and deterministic: every function maps its inputs to a new immutable
value; nothing is read from or written to disk, and positions are updated by
returning a new :class:`Position`.

Sizing (Kelly with unit-consistent payoffs)
    A trade with entry ``E``, target ``T`` and stop ``S`` wins
    ``R = (|T - E| - 2 s) v - 2 c`` per contract and loses
    ``L = (|E - S| + 2 s) v + 2 c`` per contract, where ``s`` is the
    slippage per fill in price units (``slippage_ticks x tick_size``), ``v``
    the point value (currency per price unit per contract) and ``c`` the
    commission per contract per fill.  With win probability ``p`` and
    ``b = R / L`` the Kelly fraction of equity to put at risk (lost at the
    stop) is ``f* = p - (1 - p) / b``.  The fraction used is
    ``min(kelly_multiplier x max(f*, 0), max_position_fraction)`` (half-Kelly
    by default).  Contracts are
    ``floor(min(f E_q / L, risk_per_trade E_q / L))`` with ``E_q`` the equity,
    so the loss at the stop never exceeds either cap (up to a relative 1e-12
    allowed for floating-point rounding).

Stop heuristic (spike versus grind)
    When the price reaches the stop, the bar returns leading up to it are
    examined (:func:`classify_stop_breach`).  A **spike** is a single adverse
    bar whose absolute log return is at least ``spike_sigma`` robust standard
    deviations (1.4826 x MAD of the earlier returns) and, when volumes are
    given, whose volume is at least ``spike_volume_multiple`` times the median
    earlier volume: a liquidity sweep that often reverts.  Anything else is a
    **grind**: an accumulation of ordinary moves, i.e. a trend against the
    position.  With ``spike_policy="exit"`` both exit (the pattern is
    reported).  With ``spike_policy="confirm"`` a grind exits at once, while
    after a spike the position is kept until the price has stayed beyond the
    stop for more than ``confirm_bars`` consecutive bars, or at once when it
    passes a hard stop ``hard_stop_ticks`` beyond the stop; sizing then uses
    the hard stop as the loss, so the risk caps still hold.

Take-profit and stop moves are gated by confidence: they happen only when the
confidence level is at least ``min_adjust_confidence`` and the forecast bias
agrees with the position.  The take-profit follows the primary target; the
stop only tightens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from volresearch.errors import ConfigError, DataError, SignalError
from volresearch.signals.confidence import (
    ConfidenceAssessment,
    ConfidenceLevel,
    ThresholdsFile,
    load_thresholds,
)
from volresearch.signals.zones import Bias, DistributionAnalysis

__all__ = [
    "Side",
    "StopPattern",
    "ContractSpec",
    "PositionConfig",
    "SizeResult",
    "PositionSizer",
    "Position",
    "EntryDecision",
    "ManagementDecision",
    "PositionManager",
    "kelly_fraction",
    "classify_stop_breach",
]

Side = Literal["long", "short"]
StopPattern = Literal["spike", "grind"]
_SIGN = {"long": 1.0, "short": -1.0}
_BIAS_SIDE: dict[Bias, Side | None] = {"bullish": "long", "bearish": "short", "neutral": None}
_AGAINST: dict[Side, Bias] = {"long": "bearish", "short": "bullish"}
#: Tolerance (in ticks) under which a price counts as already on the tick grid.
_GRID_TOL = 1e-9


def _finite(value: float, name: str, *, positive: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0):
        kind = "finite and positive" if positive else "finite"
        raise DataError(f"{name} must be {kind}, got {value!r}")
    return v


@dataclass(frozen=True)
class ContractSpec:
    """Contract terms needed for sizing.

    Attributes
    ----------
    tick_size
        Smallest price increment (price units, > 0).
    point_value
        Currency gained or lost per contract for a 1.0 price move (> 0);
        ES: 50, NQ: 20, GC: 100, SI: 5000.
    symbol
        Instrument symbol (reported only).
    """

    tick_size: float
    point_value: float
    symbol: str = ""

    def __post_init__(self) -> None:
        for name in ("tick_size", "point_value"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SignalError(f"{name} must be finite and positive, got {v!r}")

    def round_price(self, price: float, mode: Literal["nearest", "up", "down"]) -> float:
        """``price`` on the tick grid, rounded to the nearest tick, up or down."""
        n = price / self.tick_size
        nearest = round(n)
        if mode == "nearest" or abs(n - nearest) < _GRID_TOL:
            return nearest * self.tick_size
        return (math.ceil(n) if mode == "up" else math.floor(n)) * self.tick_size

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return {"tick_size": self.tick_size, "point_value": self.point_value, "symbol": self.symbol}


@dataclass(frozen=True)
class PositionConfig:
    """Policy for entries, sizing and management (see the module docstring).

    Attributes
    ----------
    risk_per_trade
        Largest loss at the stop, costs included, as a fraction of equity.
    max_position_fraction
        Cap on the Kelly fraction (fraction of equity lost at the stop).
    kelly_multiplier
        Multiplier on the Kelly fraction (0.5: half-Kelly).
    min_reward_risk
        Smallest reward/risk ratio ``b`` (after costs) accepted for entry.
    min_bias_confidence
        Smallest probability mass on the bias side accepted for entry.
    min_entry_confidence, min_adjust_confidence, exit_confidence
        Confidence gates: enter at or above the first, move take-profit/stop
        at or above the second, exit at or below the third.
    slippage_ticks
        Slippage per fill (ticks); entry and exit each pay it.
    commission_per_contract
        Commission per contract per fill (currency).
    spike_sigma, spike_volume_multiple
        Spike test thresholds (robust std units; multiple of median volume).
    spike_policy
        ``"exit"`` or ``"confirm"`` (see the module docstring).
    confirm_bars
        Bars beyond the stop tolerated after a spike (``"confirm"`` only).
    hard_stop_ticks
        Distance of the hard stop beyond the stop (ticks, ``"confirm"`` only).
    """

    risk_per_trade: float = 0.02
    max_position_fraction: float = 0.10
    kelly_multiplier: float = 0.5
    min_reward_risk: float = 1.5
    min_bias_confidence: float = 0.55
    min_entry_confidence: ConfidenceLevel = ConfidenceLevel.HIGH
    min_adjust_confidence: ConfidenceLevel = ConfidenceLevel.MODERATE
    exit_confidence: ConfidenceLevel = ConfidenceLevel.LOW
    slippage_ticks: float = 1.0
    commission_per_contract: float = 0.0
    spike_sigma: float = 3.0
    spike_volume_multiple: float = 2.0
    spike_policy: Literal["exit", "confirm"] = "exit"
    confirm_bars: int = 1
    hard_stop_ticks: float = 8.0

    def __post_init__(self) -> None:
        for name in ("min_entry_confidence", "min_adjust_confidence", "exit_confidence"):
            object.__setattr__(self, name, ConfidenceLevel.parse(getattr(self, name)))
        fractions = ("risk_per_trade", "max_position_fraction", "kelly_multiplier", "min_bias_confidence")
        for name in fractions:
            v = getattr(self, name)
            if not (_is_number(v) and 0 <= v <= 1):
                raise SignalError(f"{name} must be a number in [0, 1], got {v!r}")
        for name in ("min_reward_risk", "slippage_ticks", "commission_per_contract", "hard_stop_ticks"):
            v = getattr(self, name)
            if not (_is_number(v) and v >= 0):
                raise SignalError(f"{name} must be a finite number >= 0, got {v!r}")
        for name in ("spike_sigma", "spike_volume_multiple"):
            v = getattr(self, name)
            if not (_is_number(v) and v > 0):
                raise SignalError(f"{name} must be a finite number > 0, got {v!r}")
        if self.spike_policy not in ("exit", "confirm"):
            raise SignalError(f"spike_policy must be 'exit' or 'confirm', got {self.spike_policy!r}")
        bars = self.confirm_bars
        if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
            raise SignalError(f"confirm_bars must be an integer >= 1, got {self.confirm_bars!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> PositionConfig:
        """Config from a ``position_management`` mapping.

        Raises
        ------
        ConfigError
            For an unknown key or an invalid value; the message names
            ``source`` and the key ``position_management.<name>``.
        """
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{source}: key 'position_management.{key}': unknown option")
        defaults = cls()
        for key, value in data.items():
            try:
                replace(defaults, **{key: value})
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{source}: key 'position_management.{key}': {exc}") from None
        return cls(**dict(data))

    @classmethod
    def from_thresholds(cls, cfg: ThresholdsFile) -> PositionConfig:
        """Config from the ``position_management`` section of a loaded thresholds file."""
        return cls.from_mapping(cfg.position_management, cfg.source)

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> PositionConfig:
        """Config from a thresholds YAML file (``None``: the packaged one)."""
        return cls.from_thresholds(load_thresholds(path))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (levels as strings)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.value if isinstance(v, ConfidenceLevel) else v
        return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def kelly_fraction(p: float, b: float) -> float:
    """Kelly fraction ``f* = p - (1 - p) / b`` of equity to put at risk.

    Parameters
    ----------
    p
        Win probability in [0, 1].
    b
        Net payoff ratio ``reward / risk`` (> 0; both in the same currency).

    Returns
    -------
    float
        The unclipped Kelly fraction; negative when the edge is negative
        (``p b < 1 - p``), in which case no stake is optimal.
    """
    if not (math.isfinite(p) and 0 <= p <= 1):
        raise SignalError(f"win probability must lie in [0, 1], got {p!r}")
    if not (math.isfinite(b) and b > 0):
        raise SignalError(f"payoff ratio b must be finite and positive, got {b!r}")
    return p - (1.0 - p) / b


@dataclass(frozen=True)
class SizeResult:
    """A sized trade.

    Attributes
    ----------
    side
        ``"long"`` or ``"short"``.
    entry_price, target_price, stop_price
        Price units; target and stop on the tick grid (target rounded towards
        the entry, stop away from it).
    loss_price
        Price at which the sized loss is taken: the stop, or the hard stop
        under ``spike_policy="confirm"``.
    win_probability
        ``p`` used in the Kelly formula.
    reward_per_contract, risk_per_contract
        ``R`` and ``L`` in currency, costs included.
    reward_risk
        ``b = R / L`` (0 when ``R <= 0``).
    kelly
        Unclipped Kelly fraction, ``None`` when ``R <= 0``.
    fraction
        Fraction of equity put at risk by the Kelly rule after the multiplier
        and the ``max_position_fraction`` cap.
    contracts_kelly, contracts_risk
        Fractional contract counts allowed by the Kelly rule and by the
        risk-per-trade cap.
    contracts
        Whole contracts: ``floor(min(contracts_kelly, contracts_risk))`` (with
        a relative tolerance of 1e-12 for rounding).
    binding
        Which cap bound: ``"kelly"`` or ``"risk_per_trade"``.
    loss_at_stop
        ``contracts x risk_per_contract`` (currency).
    equity
        Account equity (currency).
    """

    side: Side
    entry_price: float
    target_price: float
    stop_price: float
    loss_price: float
    win_probability: float
    reward_per_contract: float
    risk_per_contract: float
    reward_risk: float
    kelly: float | None
    fraction: float
    contracts_kelly: float
    contracts_risk: float
    contracts: int
    binding: Literal["kelly", "risk_per_trade"]
    loss_at_stop: float
    equity: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """One line: side, contracts, levels, b, Kelly and the binding cap."""
        k = "n/a" if self.kelly is None else f"{self.kelly:+.3f}"
        return (
            f"{self.side} {self.contracts} @ {self.entry_price:.6g} target {self.target_price:.6g} "
            f"stop {self.stop_price:.6g}  b={self.reward_risk:.2f} p={self.win_probability:.2f} "
            f"kelly {k} -> {self.fraction:.3f}  risk {self.loss_at_stop:.2f} ({self.binding} binds)"
        )


def _check_side(side: str) -> Side:
    if side not in ("long", "short"):
        raise SignalError(f"side must be 'long' or 'short', got {side!r}")
    return side  # type: ignore[return-value]


@dataclass(frozen=True)
class PositionSizer:
    """Size trades by capped fractional Kelly and a risk-per-trade cap."""

    config: PositionConfig = PositionConfig()

    def size(
        self,
        side: Side,
        *,
        entry: float,
        target: float,
        stop: float,
        win_probability: float,
        equity: float,
        contract: ContractSpec,
    ) -> SizeResult:
        """Size one trade (see the module docstring for the formulas).

        Parameters
        ----------
        side
            ``"long"`` or ``"short"``.
        entry, target, stop
            Prices (price units); a long needs ``stop < entry < target``, a
            short ``target < entry < stop``.
        win_probability
            Probability ``p`` that the target is reached first (0 to 1).
        equity
            Account equity (currency, > 0).
        contract
            Tick size and point value.

        Returns
        -------
        SizeResult
            ``contracts == 0`` when there is no edge after costs.
        """
        side = _check_side(side)
        cfg = self.config
        e = _finite(entry, "entry", positive=True)
        t = _finite(target, "target", positive=True)
        s = _finite(stop, "stop", positive=True)
        eq = _finite(equity, "equity", positive=True)
        p = float(win_probability)
        if not (math.isfinite(p) and 0 <= p <= 1):
            raise SignalError(f"win probability must lie in [0, 1], got {win_probability!r}")
        sign = _SIGN[side]
        if not (sign * (t - e) > 0 and sign * (e - s) > 0):
            raise SignalError(
                f"a {side} trade needs the stop and target on either side of the entry: stop {s}, entry {e}, target {t}"
            )
        tick, pv = contract.tick_size, contract.point_value
        t_r = contract.round_price(t, "down" if side == "long" else "up")
        s_r = contract.round_price(s, "down" if side == "long" else "up")
        loss_price = s_r
        if cfg.spike_policy == "confirm":
            loss_price = s_r - sign * cfg.hard_stop_ticks * tick
        slip = 2.0 * cfg.slippage_ticks * tick
        fees = 2.0 * cfg.commission_per_contract
        reward = (sign * (t_r - e) - slip) * pv - fees
        risk = (sign * (e - loss_price) + slip) * pv + fees
        if reward > 0:
            b = reward / risk
            kelly: float | None = kelly_fraction(p, b)
            fraction = min(cfg.kelly_multiplier * max(kelly, 0.0), cfg.max_position_fraction)
        else:
            b, kelly, fraction = 0.0, None, 0.0
        n_kelly = fraction * eq / risk
        n_risk = cfg.risk_per_trade * eq / risk
        # The relative tolerance keeps exact whole counts whole despite rounding
        # (e.g. 399.99999999999994 -> 400); it can exceed a cap by 1e-12 at most.
        n = int(math.floor(min(n_kelly, n_risk) * (1.0 + 1e-12)))
        return SizeResult(
            side=side,
            entry_price=e,
            target_price=t_r,
            stop_price=s_r,
            loss_price=loss_price,
            win_probability=p,
            reward_per_contract=reward,
            risk_per_contract=risk,
            reward_risk=b,
            kelly=kelly,
            fraction=fraction,
            contracts_kelly=n_kelly,
            contracts_risk=n_risk,
            contracts=n,
            binding="kelly" if n_kelly <= n_risk else "risk_per_trade",
            loss_at_stop=n * risk,
            equity=eq,
        )


def classify_stop_breach(
    returns: ArrayLike,
    side: Side,
    *,
    volumes: ArrayLike | None = None,
    spike_sigma: float = 3.0,
    volume_multiple: float = 2.0,
    min_history: int = 5,
) -> StopPattern:
    """Classify how the price reached a stop: ``"spike"`` or ``"grind"``.

    Parameters
    ----------
    returns
        Log returns of the most recent bars, oldest first; the last one is the
        bar that reached the stop.
    side
        Side of the position (the adverse direction is down for a long).
    volumes
        Volumes of the same bars (optional).
    spike_sigma
        The last bar is a spike when it moved against the position by at
        least ``spike_sigma`` robust standard deviations of the earlier
        returns (1.4826 x median absolute deviation; the plain std when the
        MAD is zero; any adverse move when both are zero).
    volume_multiple
        With volumes, a spike also needs the last volume to be at least this
        multiple of the median earlier volume.
    min_history
        Fewer earlier returns than this give ``"grind"`` (the pattern cannot
        be told apart, so the conservative reading is taken).

    Returns
    -------
    ``"spike"`` or ``"grind"``.
    """
    side = _check_side(side)
    r = np.asarray(returns, dtype=np.float64).ravel()
    if not np.all(np.isfinite(r)):
        raise DataError("returns must be finite")
    if r.size < min_history + 1:
        return "grind"
    ref, last = r[:-1], float(r[-1])
    adverse = -_SIGN[side] * last
    if adverse <= 0:
        return "grind"
    sigma = 1.4826 * float(np.median(np.abs(ref - np.median(ref))))
    if sigma == 0:
        sigma = float(np.std(ref))
    if sigma > 0 and adverse < spike_sigma * sigma:
        return "grind"
    if volumes is not None:
        v = np.asarray(volumes, dtype=np.float64).ravel()
        if v.shape != r.shape:
            raise DataError(f"volumes must match returns: {v.size} vs {r.size}")
        if not np.all(np.isfinite(v)):
            raise DataError("volumes must be finite")
        if v[-1] < volume_multiple * float(np.median(v[:-1])):
            return "grind"
    return "spike"


@dataclass(frozen=True)
class Position:
    """An open position (immutable; management returns updated copies).

    Attributes
    ----------
    side
        ``"long"`` or ``"short"``.
    entry_price
        Price units.
    contracts
        Number of contracts (>= 1).
    take_profit, stop_loss
        Current exit levels (price units).
    hard_stop
        Level beyond the stop where a spike is no longer tolerated
        (``spike_policy="confirm"``), else ``None``.
    breach_bars
        Consecutive bars the price has spent beyond the stop after a spike.
    max_favorable, max_adverse
        Largest favourable and adverse excursion so far (price units;
        ``max_adverse <= 0``).
    entry_confidence
        Confidence level at entry (string value), if known.
    """

    side: Side
    entry_price: float
    contracts: int
    take_profit: float
    stop_loss: float
    hard_stop: float | None = None
    breach_bars: int = 0
    max_favorable: float = 0.0
    max_adverse: float = 0.0
    entry_confidence: str | None = None

    def __post_init__(self) -> None:
        _check_side(self.side)
        if isinstance(self.contracts, bool) or not isinstance(self.contracts, int) or self.contracts < 1:
            raise SignalError(f"contracts must be an integer >= 1, got {self.contracts!r}")
        for name in ("entry_price", "take_profit", "stop_loss"):
            _finite(getattr(self, name), name, positive=True)
        # The stop may trail past the entry; it must stay short of the take-profit.
        if not _SIGN[self.side] * (self.take_profit - self.stop_loss) > 0:
            raise SignalError(
                f"a {self.side} position needs its take-profit beyond its stop: "
                f"stop {self.stop_loss}, take-profit {self.take_profit}"
            )

    def pnl_points(self, price: float) -> float:
        """Gross profit per contract at ``price`` (price units)."""
        return _SIGN[self.side] * (price - self.entry_price)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of the fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """One line: side, size, entry and exit levels."""
        hard = "" if self.hard_stop is None else f" hard {self.hard_stop:.6g}"
        return (
            f"{self.side} {self.contracts} @ {self.entry_price:.6g}  TP {self.take_profit:.6g}  "
            f"SL {self.stop_loss:.6g}{hard}"
        )


@dataclass(frozen=True)
class EntryDecision:
    """Outcome of an entry evaluation.

    Attributes
    ----------
    action
        ``"enter"`` or ``"hold"``.
    reasons
        Why the entry was refused (empty when entering).
    side
        Side implied by the bias (``None`` when neutral).
    level, bias, bias_confidence
        Inputs the decision was based on.
    sizing
        The sized trade when targets and stop allowed sizing, else ``None``.
    position
        The position to open when ``action == "enter"``, else ``None``.
    bias_score, bias_score_se
        The analysis' bias score (std units) and its standard error from the
        fitted model's estimated mean (``None`` when not known or zero mean).
    """

    action: Literal["enter", "hold"]
    reasons: tuple[str, ...]
    side: Side | None
    level: ConfidenceLevel
    bias: Bias
    bias_confidence: float
    sizing: SizeResult | None
    position: Position | None
    bias_score: float | None = None
    bias_score_se: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {
            "action": self.action,
            "reasons": list(self.reasons),
            "side": self.side,
            "level": self.level.value,
            "bias": self.bias,
            "bias_confidence": self.bias_confidence,
            "bias_score": self.bias_score,
            "bias_score_se": self.bias_score_se,
            "sizing": None if self.sizing is None else self.sizing.to_dict(),
            "position": None if self.position is None else self.position.to_dict(),
        }

    def summary(self) -> str:
        """One or two lines."""
        if self.action == "enter" and self.sizing is not None:
            return f"enter: {self.sizing.summary()}"
        return f"hold ({self.bias}, {self.level.value}): {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class ManagementDecision:
    """Outcome of managing an open position for one bar.

    Attributes
    ----------
    action
        ``"hold"``, ``"adjust"`` (take-profit or stop moved) or ``"exit"``.
    reason
        Why.
    position
        The updated position (excursions, levels, breach count); for an exit
        the position as it stood when closed.
    exit_price
        Price the exit is taken at (price units), else ``None``.
    stop_pattern
        ``"spike"`` or ``"grind"`` when the stop was reached, else ``None``.
    net_pnl
        Profit at the current price after round-trip slippage and
        commissions (currency).
    """

    action: Literal["hold", "adjust", "exit"]
    reason: str
    position: Position
    exit_price: float | None
    stop_pattern: StopPattern | None
    net_pnl: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return {
            "action": self.action,
            "reason": self.reason,
            "position": self.position.to_dict(),
            "exit_price": self.exit_price,
            "stop_pattern": self.stop_pattern,
            "net_pnl": self.net_pnl,
        }

    def summary(self) -> str:
        """One line."""
        return f"{self.action}: {self.reason} (net P&L {self.net_pnl:.2f}) | {self.position.summary()}"


@dataclass(frozen=True)
class PositionManager:
    """Entry criteria and bar-by-bar management for one instrument.

    Parameters
    ----------
    contract
        Tick size and point value of the instrument.
    config
        Policy (defaults as in the packaged ``thresholds.yaml``).
    """

    contract: ContractSpec
    config: PositionConfig = PositionConfig()

    @property
    def sizer(self) -> PositionSizer:
        """The sizer applying this manager's policy."""
        return PositionSizer(self.config)

    def net_pnl(self, position: Position, price: float) -> float:
        """Profit if closed at ``price``, after round-trip costs (currency)."""
        c = self.contract
        cfg = self.config
        cost = 2.0 * (cfg.slippage_ticks * c.tick_size * c.point_value + cfg.commission_per_contract)
        return position.contracts * (position.pnl_points(price) * c.point_value - cost)

    def evaluate_entry(
        self,
        analysis: DistributionAnalysis,
        confidence: ConfidenceAssessment,
        *,
        equity: float,
        win_probability: float | None = None,
    ) -> EntryDecision:
        """Decide whether to enter, and with what size and levels.

        Entry needs all of: confidence level >= ``min_entry_confidence``; a
        directional bias; ``bias_confidence >= min_bias_confidence``; a
        primary target and a stop from the analysis; reward/risk after costs
        >= ``min_reward_risk``; a positive Kelly fraction; and at least one
        contract within both caps.  Entry is at the analysis' current price,
        the take-profit at the primary target's center, the stop at the stop
        zone's level.

        Parameters
        ----------
        analysis
            Distribution analysis at the trading horizon.
        confidence
            Confidence assessment of the same forecast.
        equity
            Account equity (currency).
        win_probability
            ``p`` for Kelly; defaults to ``analysis.bias_confidence`` (the
            probability of finishing on the bias side of the price).
        """
        cfg = self.config
        reasons: list[str] = []
        level = confidence.level
        if level < cfg.min_entry_confidence:
            reasons.append(f"confidence {level.value} below {cfg.min_entry_confidence.value}")
        side = _BIAS_SIDE[analysis.bias]
        if side is None:
            reasons.append("no directional bias")
        elif analysis.bias_confidence < cfg.min_bias_confidence:
            reasons.append(f"bias confidence {analysis.bias_confidence:.2f} below {cfg.min_bias_confidence:.2f}")
        target, stop = analysis.primary_target, analysis.stop
        if side is not None and target is None:
            reasons.append("no target zone on the bias side")
        if side is not None and stop is None:
            reasons.append("no stop level beyond the price")
        sizing: SizeResult | None = None
        if side is not None and target is not None and stop is not None:
            p = analysis.bias_confidence if win_probability is None else float(win_probability)
            entry = analysis.current_price
            sign = _SIGN[side]
            if sign * (target.center - entry) > 0 and sign * (entry - stop.price) > 0:
                sizing = self.sizer.size(
                    side,
                    entry=entry,
                    target=target.center,
                    stop=stop.price,
                    win_probability=p,
                    equity=equity,
                    contract=self.contract,
                )
                if sizing.reward_risk < cfg.min_reward_risk:
                    reasons.append(f"reward/risk {sizing.reward_risk:.2f} below {cfg.min_reward_risk:.2f}")
                if sizing.kelly is None or sizing.kelly <= 0:
                    reasons.append("no edge: Kelly fraction not positive")
                elif sizing.contracts < 1:
                    reasons.append("size rounds to zero contracts within the caps")
            else:
                reasons.append("target and stop are not on either side of the price")
        position = None
        if not reasons and sizing is not None and side is not None:
            hard = sizing.loss_price if self.config.spike_policy == "confirm" else None
            position = Position(
                side=side,
                entry_price=sizing.entry_price,
                contracts=sizing.contracts,
                take_profit=sizing.target_price,
                stop_loss=sizing.stop_price,
                hard_stop=hard,
                entry_confidence=level.value,
            )
        return EntryDecision(
            action="enter" if position is not None else "hold",
            reasons=tuple(reasons),
            side=side,
            level=level,
            bias=analysis.bias,
            bias_confidence=analysis.bias_confidence,
            sizing=sizing,
            position=position,
            bias_score=float(analysis.bias_score),
            bias_score_se=getattr(analysis, "bias_score_se", None),
        )

    def manage(
        self,
        position: Position,
        price: float,
        *,
        analysis: DistributionAnalysis | None = None,
        confidence: ConfidenceAssessment | None = None,
        recent_returns: ArrayLike | None = None,
        volumes: ArrayLike | None = None,
    ) -> ManagementDecision:
        """Manage an open position at the latest price (one call per bar).

        Checks, in order: confidence collapse (level <= ``exit_confidence``)
        or a bias against the position -> exit; take-profit reached -> exit;
        stop reached -> spike/grind rule (module docstring); then, when the
        confidence level is at least ``min_adjust_confidence`` and the bias
        agrees with the position, move the take-profit to the primary target's
        center (if it stays at least one tick beyond the price and beyond the
        entry) and tighten the stop to the stop zone's level (only towards
        the price, and at least one tick away from it).

        Parameters
        ----------
        position
            The open position.
        price
            Latest price (price units).
        analysis, confidence
            Latest forecast analysis and confidence (optional: without them
            only the exit levels are checked).
        recent_returns, volumes
            Recent bar log returns and volumes, oldest first, ending with the
            latest bar (for the spike/grind test).
        """
        cfg, c = self.config, self.contract
        px = _finite(price, "price", positive=True)
        side = position.side
        sign = _SIGN[side]
        pts = position.pnl_points(px)
        pos = replace(
            position,
            max_favorable=max(position.max_favorable, pts),
            max_adverse=min(position.max_adverse, pts),
        )

        def done(
            action: Literal["hold", "adjust", "exit"], reason: str, p: Position, pattern: StopPattern | None = None
        ) -> ManagementDecision:
            return ManagementDecision(
                action=action,
                reason=reason,
                position=p,
                exit_price=px if action == "exit" else None,
                stop_pattern=pattern,
                net_pnl=self.net_pnl(p, px),
            )

        if confidence is not None and confidence.level <= cfg.exit_confidence:
            why = f"confidence {confidence.level.value} at or below {cfg.exit_confidence.value}"
            return done("exit", why, pos)
        bias: Bias | None = None
        if analysis is not None:
            bias = analysis.bias
        elif confidence is not None:
            bias = confidence.bias
        if bias == _AGAINST[side]:
            return done("exit", f"bias turned {bias} against the {side} position", pos)
        if sign * (px - pos.take_profit) >= 0:
            return done("exit", f"take-profit {pos.take_profit:.6g} reached", pos)
        if sign * (px - pos.stop_loss) <= 0:
            if pos.hard_stop is not None and sign * (px - pos.hard_stop) <= 0:
                return done("exit", f"hard stop {pos.hard_stop:.6g} reached", pos, "spike")
            if pos.breach_bars > 0:
                pos = replace(pos, breach_bars=pos.breach_bars + 1)
                if pos.breach_bars > cfg.confirm_bars:
                    return done(
                        "exit",
                        f"price stayed beyond the stop {pos.stop_loss:.6g} for {pos.breach_bars} bars after a spike",
                        pos,
                        "spike",
                    )
                return done(
                    "hold",
                    f"spike beyond the stop, bar {pos.breach_bars} of {cfg.confirm_bars} tolerated",
                    pos,
                    "spike",
                )
            pattern: StopPattern = "grind"
            if recent_returns is not None:
                pattern = classify_stop_breach(
                    recent_returns,
                    side,
                    volumes=volumes,
                    spike_sigma=cfg.spike_sigma,
                    volume_multiple=cfg.spike_volume_multiple,
                )
            if pattern == "spike" and cfg.spike_policy == "confirm":
                # confirm_bars >= 1, so the spike bar itself is always tolerated.
                pos = replace(pos, breach_bars=1)
                why = f"spike beyond the stop, bar 1 of {cfg.confirm_bars} tolerated"
                return done("hold", why, pos, "spike")
            what = "spike" if pattern == "spike" else "sustained adverse move"
            return done("exit", f"stop {pos.stop_loss:.6g} reached ({what})", pos, pattern)
        pos = replace(pos, breach_bars=0)

        moved: list[str] = []
        gated = confidence is not None and confidence.level >= cfg.min_adjust_confidence
        if gated and analysis is not None and bias == {"long": "bullish", "short": "bearish"}[side]:
            tick = c.tick_size
            if analysis.primary_target is not None:
                tp = c.round_price(analysis.primary_target.center, "down" if side == "long" else "up")
                ok = sign * (tp - px) >= tick * (1 - _GRID_TOL) and sign * (tp - pos.entry_price) > 0
                if ok and tp != pos.take_profit:
                    moved.append(f"take-profit {pos.take_profit:.6g} -> {tp:.6g}")
                    pos = replace(pos, take_profit=tp)
            if analysis.stop is not None:
                sl = c.round_price(analysis.stop.price, "down" if side == "long" else "up")
                tighter = sign * (sl - pos.stop_loss) > 0
                clear = sign * (px - sl) >= tick * (1 - _GRID_TOL)
                if tighter and clear:
                    moved.append(f"stop {pos.stop_loss:.6g} -> {sl:.6g}")
                    hard = None if pos.hard_stop is None else sl - sign * cfg.hard_stop_ticks * tick
                    pos = replace(pos, stop_loss=sl, hard_stop=hard)
        if moved:
            return done("adjust", "; ".join(moved), pos)
        return done("hold", "levels unchanged", pos)
