"""Tick-to-bar aggregation.

A :class:`TickAggregator` turns a stream of ticks (trades and/or quotes) into
time bars of fixed length (1 minute by default), either one tick at a time for
a live feed (:meth:`TickAggregator.add`) or a batch at a time for history
(:meth:`TickAggregator.add_many`).  Both routes share one state and produce
exactly the same bars, float for float.

Conventions
-----------
- Bars are aligned to the Unix epoch in UTC and labelled by their start:
  a bar covers ``[start, start + bar_seconds)`` (closed left, label left).  With
  1-minute bars a tick at exactly 10:01:00.000 belongs to the 10:01 bar and one
  at 10:00:59.999999999 to the 10:00 bar.
- A bar is emitted when the first tick of a later bar arrives (or on
  :meth:`TickAggregator.flush`).  Intervals without ticks produce no bar: gaps
  stay gaps, nothing is forward-filled.
- Within a bar, ticks are taken in arrival order: ``open`` is the first tick to
  arrive and ``close`` the last, even if a late tick carries an earlier
  timestamp inside the same bar.
- A tick whose bar has already been emitted cannot be merged correctly.  It is
  either refused with a :class:`~volresearch.errors.DataError`
  (``on_out_of_order="raise"``) or kept out of every bar and recorded in
  :attr:`TickAggregator.rejected` (``"report"``), so nothing disappears
  silently.
- ``volume`` is the sum of sizes and ``vwap`` the size-weighted mean of the
  bar's price series (``last`` or ``mid``), ``sum(p * size) / sum(size)``;
  both sums are computed with :func:`math.fsum` (correctly rounded, so the
  result does not depend on how the ticks were batched).  ``vwap`` is NaN when
  the bar's total size is 0 (quote-only ticks) and is clipped to
  ``[low, high]`` against last-bit rounding.  ``trade_count`` counts ticks with
  ``size > 0``.

Timestamps may be pandas Timestamps, :class:`datetime.datetime`,
:class:`numpy.datetime64`, ISO strings or integers of **nanoseconds** since the
epoch.  Aware values are converted to UTC; naive values are taken as UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError

__all__ = ["Bar", "RejectedTick", "TickAggregator", "bars_to_frame"]

PriceSource = Literal["last", "mid"]
OutOfOrderPolicy = Literal["raise", "report"]
TickTime = pd.Timestamp | datetime | np.datetime64 | str | int

_NS_PER_SECOND = 1_000_000_000
_NAT = np.iinfo(np.int64).min
_BAR_FRAME_COLUMNS = ("open", "high", "low", "close", "volume", "trade_count", "vwap")


@dataclass(frozen=True, slots=True)
class Bar:
    """One aggregated bar.

    Attributes
    ----------
    timestamp
        Bar start (UTC); the bar covers ``[timestamp, timestamp + bar_seconds)``.
    open, high, low, close
        Prices of the bar's price series (``last`` or ``mid``), price units.
    volume
        Sum of tick sizes (contracts/shares; may be fractional).
    trade_count
        Number of ticks with ``size > 0``.
    vwap
        ``sum(price * size) / sum(size)`` in price units; NaN when ``volume == 0``.
    symbol
        Instrument name given to the aggregator (or None).
    """

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float
    trade_count: int
    vwap: float
    symbol: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The bar as a plain dict (same keys as the attributes)."""
        return {
            "timestamp": self.timestamp,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
            "trade_count": self.trade_count,
            "vwap": self.vwap,
            "symbol": self.symbol,
        }


class RejectedTick(NamedTuple):
    """A tick kept out of every bar because it arrived after its bar closed.

    Attributes
    ----------
    position
        0-based position of the tick in the stream given to the aggregator.
    timestamp
        The tick's time (UTC).
    price
        The tick's price in the aggregator's price series (``last`` or ``mid``).
    reason
        Why it was rejected, in words.
    """

    position: int
    timestamp: pd.Timestamp
    price: float
    reason: str


@dataclass(slots=True)
class _OpenBar:
    """Mutable state of the bar being built (raw sizes kept for exact sums)."""

    start: int
    open: float
    high: float
    low: float
    close: float
    trade_count: int
    sizes: list[float] = field(default_factory=list)
    notionals: list[float] = field(default_factory=list)

    def close_bar(self, symbol: str | None) -> Bar:
        volume = math.fsum(self.sizes)
        if volume > 0.0:
            vwap = math.fsum(self.notionals) / volume
            vwap = min(max(vwap, self.low), self.high)
        else:
            vwap = math.nan
        return Bar(
            timestamp=_ns_to_timestamp(self.start),
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=volume,
            trade_count=self.trade_count,
            vwap=vwap,
            symbol=symbol,
        )


class TickAggregator:
    """Aggregate ticks into fixed-length time bars.

    Parameters
    ----------
    symbol
        Instrument name carried by the emitted :class:`Bar` objects.
    bar_seconds
        Bar length in seconds (positive integer; 60 = 1-minute bars).  Bars are
        aligned to the Unix epoch in UTC.
    price
        ``"last"``: the tick's ``price`` (a trade); ``"mid"``: ``(bid + ask) / 2``
        (both required).
    on_out_of_order
        What to do with a tick whose bar was already emitted: ``"raise"`` a
        :class:`DataError`, or ``"report"`` it in :attr:`rejected` and go on.

    Attributes
    ----------
    rejected
        Ticks refused under ``on_out_of_order="report"``, as
        :class:`RejectedTick` ``(position, timestamp, price, reason)``.

    Notes
    -----
    Every call either returns normally or raises having changed nothing: a
    batch given to :meth:`add_many` is validated whole before any tick is
    merged.  Positions count the ticks of all calls that returned normally.

    Examples
    --------
    >>> agg = TickAggregator("ES")
    >>> agg.add("2024-01-02 10:00:05", price=100.0, size=2.0)
    []
    >>> [bar.close for bar in agg.add("2024-01-02 10:01:00", price=101.0, size=1.0)]
    [100.0]
    """

    def __init__(
        self,
        symbol: str | None = None,
        *,
        bar_seconds: int = 60,
        price: PriceSource = "last",
        on_out_of_order: OutOfOrderPolicy = "raise",
    ) -> None:
        if (
            isinstance(bar_seconds, (bool, np.bool_))
            or not isinstance(bar_seconds, (int, np.integer))
            or bar_seconds <= 0
        ):
            raise ConfigError(f"bar_seconds must be a positive integer number of seconds, got {bar_seconds!r}")
        if price not in ("last", "mid"):
            raise ConfigError(f"price must be 'last' or 'mid', got {price!r}")
        if on_out_of_order not in ("raise", "report"):
            raise ConfigError(f"on_out_of_order must be 'raise' or 'report', got {on_out_of_order!r}")
        self.symbol = symbol
        self.bar_seconds = int(bar_seconds)
        self.price: PriceSource = price
        self.on_out_of_order: OutOfOrderPolicy = on_out_of_order
        self.rejected: list[RejectedTick] = []
        self._bar_ns = self.bar_seconds * _NS_PER_SECOND
        self._open: _OpenBar | None = None
        # Earliest bar start still open to ticks (None before the first tick).
        self._floor: int | None = None
        self._last_ns: int | None = None
        self._count = 0

    def __repr__(self) -> str:
        return (
            f"TickAggregator({self.symbol!r}, bar_seconds={self.bar_seconds}, price={self.price!r}, "
            f"on_out_of_order={self.on_out_of_order!r}, ticks_seen={self._count})"
        )

    @property
    def ticks_seen(self) -> int:
        """Number of ticks consumed so far (accepted or rejected)."""
        return self._count

    @property
    def current(self) -> Bar | None:
        """The bar being built, as it would be emitted now (not emitted; None if none)."""
        return None if self._open is None else self._open.close_bar(self.symbol)

    # ---------------------------------------------------------------- one by one
    def add(
        self,
        timestamp: TickTime,
        price: float | None = None,
        size: float = 0.0,
        bid: float | None = None,
        ask: float | None = None,
    ) -> list[Bar]:
        """Feed one tick; return the bars it closes.

        Parameters
        ----------
        timestamp
            Tick time (see the module docstring for accepted types; int =
            epoch nanoseconds).
        price
            Trade price (required when ``price="last"``), price units, > 0.
        size
            Trade size (>= 0; 0 for a quote).
        bid, ask
            Quote (both required when ``price="mid"``), > 0.

        Returns
        -------
        list of Bar
            Empty, or the one bar closed because this tick starts a later bar.

        Raises
        ------
        DataError
            Invalid time, price or size, or (with ``on_out_of_order="raise"``)
            a tick whose bar was already emitted; the message names the tick's
            position.
        """
        position = self._count
        ns = _scalar_ns(timestamp, position)
        value = self._scalar_price(price, bid, ask, position)
        quantity = _scalar_size(size, position)
        start = ns - ns % self._bar_ns
        if self._floor is not None and start < self._floor:
            reason = self._out_of_order_reason(position, ns, self._floor, self._last_ns)
            if self.on_out_of_order == "raise":
                raise DataError(reason, row=position, column="timestamp", rule="out_of_order")
            self.rejected.append(RejectedTick(position, _ns_to_timestamp(ns), value, reason))
            self._count += 1
            return []
        emitted: list[Bar] = []
        current = self._open
        if current is not None and start > current.start:
            emitted.append(current.close_bar(self.symbol))
            current = None
        if current is None:
            current = _OpenBar(start, value, value, value, value, 0)
            self._open = current
        else:
            current.high = max(current.high, value)
            current.low = min(current.low, value)
            current.close = value
        current.sizes.append(quantity)
        current.notionals.append(value * quantity)
        current.trade_count += quantity > 0.0
        self._floor = start
        self._last_ns = ns
        self._count += 1
        return emitted

    def flush(self) -> list[Bar]:
        """Emit the bar being built, if any.

        After a flush the flushed bar is closed: a later tick inside its
        interval is out of order.

        Returns
        -------
        list of Bar
            The open bar, or an empty list.
        """
        if self._open is None:
            return []
        bar = self._open.close_bar(self.symbol)
        self._floor = self._open.start + self._bar_ns
        self._open = None
        return [bar]

    # -------------------------------------------------------------------- batch
    def add_many(self, ticks: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
        """Feed a batch of ticks (vectorised); return the bars it closes.

        Gives exactly the bars that feeding the ticks one by one to
        :meth:`add` would return, in the same order, and leaves the same state
        (the last bar stays open; use :meth:`flush` to emit it).

        Parameters
        ----------
        ticks
            A DataFrame or a mapping of equal-length arrays with ``timestamp``
            (a column or key; for a DataFrame a ``DatetimeIndex`` also works),
            ``price`` (for ``price="last"``), ``bid`` and ``ask`` (for
            ``price="mid"``) and optionally ``size`` (default 0).  Rows are in
            arrival order.

        Returns
        -------
        pandas.DataFrame
            Closed bars in the project's bars convention: index ``timestamp``
            (``datetime64[ns, UTC]``, bar starts), float64 columns ``open high
            low close volume trade_count vwap``.

        Raises
        ------
        DataError
            As :meth:`add`, for the first offending tick (named by position);
            the aggregator is left unchanged.
        """
        columns = _batch_columns(ticks)
        n = _batch_length(columns)
        base = self._count
        ns = _array_ns(columns["timestamp"], base)
        bids: np.ndarray | None = None
        asks: np.ndarray | None = None
        if self.price == "last":
            prices = _float_column(columns, "price", n, base, required=True)
        else:
            bids = _float_column(columns, "bid", n, base, required=True)
            asks = _float_column(columns, "ask", n, base, required=True)
            with np.errstate(over="ignore", invalid="ignore"):
                prices = (bids + asks) / 2
        sizes = _float_column(columns, "size", n, base, required=False)

        with np.errstate(invalid="ignore"):
            invalid = (ns == _NAT) | ~(np.isfinite(prices) & (prices > 0)) | ~(np.isfinite(sizes) & (sizes >= 0))
            if bids is not None and asks is not None:
                invalid |= ~(np.isfinite(bids) & (bids > 0)) | ~(np.isfinite(asks) & (asks > 0))
        bad = np.flatnonzero(invalid)
        if bad.size:
            i = int(bad[0])
            # Re-run the scalar checks on the first bad tick: same message as add().
            _scalar_ns(_ns_or_nat(ns[i]), base + i)
            self._scalar_price(
                prices[i] if bids is None else None,
                None if bids is None else bids[i],
                None if asks is None else asks[i],
                base + i,
            )
            _scalar_size(sizes[i], base + i)
            raise AssertionError("batch validation and scalar validation disagree")  # pragma: no cover

        starts = ns - ns % self._bar_ns
        floor = self._floor if self._floor is not None else _NAT
        previous_max = np.maximum.accumulate(np.concatenate(([floor], starts[:-1]))) if n else starts
        late = starts < previous_max
        late_positions = np.flatnonzero(late)
        if late_positions.size and self.on_out_of_order == "raise":
            i = int(late_positions[0])
            last_ns = int(ns[i - 1]) if i > 0 else self._last_ns
            reason = self._out_of_order_reason(base + i, int(ns[i]), int(previous_max[i]), last_ns)
            raise DataError(reason, row=base + i, column="timestamp", rule="out_of_order")

        # Validation done: from here on the state changes.
        rejected = []
        if late_positions.size:
            # Index of the last accepted tick at or before each position (-1: none yet).
            last_accepted = np.maximum.accumulate(np.where(late, -1, np.arange(n)))
        for i in late_positions.tolist():
            j = int(last_accepted[i])
            last_ns = int(ns[j]) if j >= 0 else self._last_ns
            reason = self._out_of_order_reason(base + i, int(ns[i]), int(previous_max[i]), last_ns)
            rejected.append(RejectedTick(base + i, _ns_to_timestamp(int(ns[i])), float(prices[i]), reason))

        keep = ~late
        ns_k, starts_k, prices_k, sizes_k = ns[keep], starts[keep], prices[keep], sizes[keep]
        notionals_k = prices_k * sizes_k
        emitted: list[Bar] = []
        if ns_k.size:
            bounds = np.flatnonzero(np.diff(starts_k)) + 1
            firsts = np.concatenate(([0], bounds))
            lasts = np.concatenate((bounds, [ns_k.size]))
            highs = np.maximum.reduceat(prices_k, firsts)
            lows = np.minimum.reduceat(prices_k, firsts)
            trades = np.add.reduceat((sizes_k > 0).astype(np.int64), firsts)
            for g, (a, b) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
                start = int(starts_k[a])
                current = self._open
                if current is not None and start == current.start:
                    current.high = max(current.high, float(highs[g]))
                    current.low = min(current.low, float(lows[g]))
                    current.close = float(prices_k[b - 1])
                    current.trade_count += int(trades[g])
                else:
                    if current is not None:
                        emitted.append(current.close_bar(self.symbol))
                    current = _OpenBar(
                        start,
                        float(prices_k[a]),
                        float(highs[g]),
                        float(lows[g]),
                        float(prices_k[b - 1]),
                        int(trades[g]),
                    )
                    self._open = current
                current.sizes.extend(sizes_k[a:b].tolist())
                current.notionals.extend(notionals_k[a:b].tolist())
            self._floor = int(starts_k[-1])
            self._last_ns = int(ns_k[-1])
        self.rejected.extend(rejected)
        self._count += n
        return bars_to_frame(emitted)

    # ----------------------------------------------------------------- helpers
    def _scalar_price(self, price: object, bid: object, ask: object, position: int) -> float:
        """The tick's price in this aggregator's price series, validated."""
        if self.price == "last":
            if price is None:
                raise DataError(
                    f"tick at position {position} has no price (price='last' needs one)",
                    row=position,
                    column="price",
                    rule="missing",
                )
            return _positive_price(price, "price", position)
        for name, value in (("bid", bid), ("ask", ask)):
            if value is None:
                raise DataError(
                    f"tick at position {position} has no {name} (price='mid' needs bid and ask)",
                    row=position,
                    column=name,
                    rule="missing",
                )
        low = _positive_price(bid, "bid", position)
        high = _positive_price(ask, "ask", position)
        mid = (low + high) / 2
        if not math.isfinite(mid):
            raise DataError(
                f"tick at position {position} has a non-finite mid price {mid!r}",
                row=position,
                column="bid",
                rule="price",
            )
        return mid

    def _out_of_order_reason(self, position: int, ns: int, floor: int, last_ns: int | None) -> str:
        bar = _ns_to_timestamp(ns - ns % self._bar_ns)
        previous = "none" if last_ns is None else _ns_to_timestamp(last_ns).isoformat()
        return (
            f"tick at position {position} ({_ns_to_timestamp(ns).isoformat()}) is out of order: "
            f"its bar starting {bar.isoformat()} was already emitted; the earliest bar open to "
            f"ticks starts {_ns_to_timestamp(floor).isoformat()} (previous tick {previous})"
        )


def bars_to_frame(bars: Iterable[Bar]) -> pd.DataFrame:
    """Turn a sequence of :class:`Bar` into a frame in the project's bars convention.

    Parameters
    ----------
    bars
        Bars, e.g. the concatenated returns of :meth:`TickAggregator.add`.

    Returns
    -------
    pandas.DataFrame
        Index ``timestamp`` (``datetime64[ns, UTC]``), float64 columns
        ``open high low close volume trade_count vwap``.
    """
    bars = list(bars)
    starts = np.array([bar.timestamp.value for bar in bars], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(starts, unit="ns", utc=True)).as_unit("ns").rename("timestamp")
    data = {name: np.array([getattr(bar, name) for bar in bars], dtype=np.float64) for name in _BAR_FRAME_COLUMNS}
    return pd.DataFrame(data, index=index)


# --------------------------------------------------------------------- parsing
def _ns_to_timestamp(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _ns_or_nat(value: np.int64) -> Any:
    return pd.NaT if int(value) == _NAT else int(value)


def _scalar_ns(value: object, position: int) -> int:
    """A tick time as integer epoch nanoseconds (UTC)."""
    if isinstance(value, (bool, np.bool_)):
        raise DataError(
            f"tick at position {position} has timestamp {value!r}, not a time",
            row=position,
            column="timestamp",
            rule="time",
        )
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        raise DataError(
            f"tick at position {position} has float timestamp {value!r}; pass int epoch nanoseconds or a Timestamp",
            row=position,
            column="timestamp",
            rule="time",
        )
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"tick at position {position} has timestamp {value!r}, not a time: {exc}",
            row=position,
            column="timestamp",
            rule="time",
        ) from exc
    if stamp is pd.NaT:
        raise DataError(
            f"tick at position {position} has a missing timestamp (NaT)",
            row=position,
            column="timestamp",
            rule="missing",
        )
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _positive_price(value: object, name: str, position: int) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"tick at position {position} has {name} {value!r}, not a number",
            row=position,
            column=name,
            rule="price",
        ) from exc
    if not (math.isfinite(number) and number > 0.0):
        raise DataError(
            f"tick at position {position} has {name} {number!r}; prices must be finite and > 0",
            row=position,
            column=name,
            rule="price",
        )
    return number


def _scalar_size(value: object, position: int) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"tick at position {position} has size {value!r}, not a number",
            row=position,
            column="size",
            rule="size",
        ) from exc
    if not (math.isfinite(number) and number >= 0.0):
        raise DataError(
            f"tick at position {position} has size {number!r}; sizes must be finite and >= 0",
            row=position,
            column="size",
            rule="size",
        )
    return number


def _batch_columns(ticks: pd.DataFrame | Mapping[str, Any]) -> dict[str, Any]:
    """Pull the tick columns out of a DataFrame or a mapping of arrays."""
    if isinstance(ticks, pd.DataFrame):
        columns: dict[str, Any] = {str(name): ticks[name].to_numpy() for name in ticks.columns}
        if "timestamp" in ticks.columns:
            columns["timestamp"] = ticks["timestamp"]
        elif isinstance(ticks.index, pd.DatetimeIndex):
            columns["timestamp"] = ticks.index
        return columns
    if isinstance(ticks, Mapping):
        return dict(ticks)
    raise DataError(f"ticks must be a DataFrame or a mapping of arrays, got {type(ticks).__name__}")


def _batch_length(columns: dict[str, Any]) -> int:
    if "timestamp" not in columns:
        raise DataError("ticks have no timestamp column (or DatetimeIndex)", column="timestamp", rule="columns")
    lengths = {}
    for name, values in columns.items():
        if values is None:
            continue
        try:
            lengths[name] = len(values)
        except TypeError:
            raise DataError(f"tick column {name!r} is not an array", column=name, rule="columns") from None
    n = lengths["timestamp"]
    different = sorted(name for name, length in lengths.items() if length != n)
    if different:
        raise DataError(
            f"tick columns have different lengths: {lengths}",
            column=different[0],
            rule="columns",
        )
    return n


def _array_ns(values: Any, base: int) -> np.ndarray:
    """Tick times as int64 epoch nanoseconds (UTC); NaT as the int64 minimum."""
    array = values if isinstance(values, (pd.Index, pd.Series)) else np.asarray(values)
    dtype = array.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        raise DataError(
            f"tick timestamps have dtype {dtype}; pass int epoch nanoseconds or datetimes",
            row=base,
            column="timestamp",
            rule="time",
        )
    if pd.api.types.is_integer_dtype(dtype):
        return np.asarray(array, dtype=np.int64)
    # Strings are parsed one by one, as pd.Timestamp does in add().
    kind = pd.api.types.infer_dtype(array, skipna=True)
    options = {"format": "mixed"} if kind in ("string", "mixed") else {}
    try:
        index = pd.DatetimeIndex(pd.to_datetime(array, utc=True, **options))
    except (TypeError, ValueError) as exc:
        raise DataError(f"tick timestamps cannot be read as times: {exc}", column="timestamp", rule="time") from exc
    return index.as_unit("ns").asi8.copy()


def _float_column(columns: dict[str, Any], name: str, n: int, base: int, *, required: bool) -> np.ndarray:
    values = columns.get(name)
    if values is None:
        if required:
            raise DataError(f"ticks have no {name!r} column", row=base, column=name, rule="missing")
        return np.zeros(n, dtype=np.float64)
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"tick column {name!r} is not numeric: {exc}", column=name, rule="dtype") from exc
