"""Prices written at the instrument's precision.

A price is shown with as many decimals as the instrument's tick size needs
(0.25 -> 2, 0.00005 -> 5, 0.001 -> 3, 1/64 -> 6), so two prices one tick
apart never print the same.  The tick comes from the instrument table
(``volresearch/config/instruments.yaml``) when the symbol is known, else from
the data's price grid (:func:`volresearch.data.tick_size.infer_tick_size`).
Without either, the decimals follow the price's magnitude: six significant
digits, at least two decimals (1.0842 -> 5 decimals, 150.2 -> 3, 4800 -> 2).

Dispersions (a standard deviation, a zone's width) are price differences: they
get the price's decimals, and more when needed to show three significant
digits, so a small std never reads "0.00".

Every surface (dashboard, CLI text, report, notebooks) formats prices here::

    fmt = PriceFormat.for_instrument("EURUSD", bars)   # or PriceFormat(tick=0.00005)
    fmt.price(1.08235)    # '1.08235'
    fmt.spread(0.000412)  # '0.000412'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from volresearch.data.tick_size import infer_tick_size

__all__ = [
    "MAX_DECIMALS",
    "PriceFormat",
    "format_price",
    "format_spread",
    "instrument_tick",
    "magnitude_decimals",
    "price_decimals",
    "resolve_tick",
]

#: Most decimals any price is written with.
MAX_DECIMALS = 10
#: Significant digits of a price when no tick is known.
_PRICE_DIGITS = 6
#: Significant digits of a dispersion (std, width).
_SPREAD_DIGITS = 3


def price_decimals(tick: float) -> int:
    """Decimals that write every multiple of ``tick`` exactly (0.25 -> 2, 0.00005 -> 5, 1/64 -> 6).

    Parameters
    ----------
    tick
        Tick size (price units, > 0).

    Raises
    ------
    ValueError
        ``tick`` is not a finite positive number.
    """
    t = float(tick)
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"tick size must be a finite positive number, got {tick!r}")
    for d in range(MAX_DECIMALS + 1):
        if abs(round(t, d) - t) <= 1e-9 * t:
            return d
    return MAX_DECIMALS


def magnitude_decimals(x: float, digits: int = _PRICE_DIGITS, minimum: int = 2) -> int:
    """Decimals giving ``digits`` significant digits of ``x`` (at least ``minimum``, at most :data:`MAX_DECIMALS`)."""
    v = abs(float(x))
    if not math.isfinite(v) or v == 0.0:
        return minimum
    return int(min(MAX_DECIMALS, max(minimum, digits - 1 - math.floor(math.log10(v)))))


def _decimals(x: float, tick: float | None, decimals: int | None) -> int:
    if decimals is not None:
        return int(decimals)
    if tick is not None:
        return price_decimals(tick)
    return magnitude_decimals(x)


def format_price(x: float, tick: float | None = None, decimals: int | None = None, *, thousands: bool = True) -> str:
    """A price as text at the instrument's precision.

    Parameters
    ----------
    x
        Price (price units).
    tick
        Tick size (price units); its decimals are used (see :func:`price_decimals`).
    decimals
        Explicit decimals (overrides ``tick``).  With neither, six significant
        digits and at least two decimals.
    thousands
        Group thousands with commas.

    Returns
    -------
    str
        E.g. ``"1.08235"``; ``"n/a"`` for NaN or infinity.
    """
    v = float(x)
    if not math.isfinite(v):
        return "n/a"
    d = _decimals(v, tick, decimals)
    return f"{v:,.{d}f}" if thousands else f"{v:.{d}f}"


def format_spread(x: float, tick: float | None = None, decimals: int | None = None) -> str:
    """A price difference (std, width, distance) with the price's decimals, or more for three significant digits.

    Never prints a nonzero dispersion as zero: 0.000412 with a 0.01 tick reads ``"0.000412"``.
    """
    v = float(x)
    if not math.isfinite(v):
        return "n/a"
    base = _decimals(v, tick, decimals) if (tick is not None or decimals is not None) else 2
    d = max(base, magnitude_decimals(v, _SPREAD_DIGITS, minimum=0)) if v != 0.0 else base
    return f"{v:,.{d}f}"


@lru_cache(maxsize=1)
def _instrument_ticks() -> dict[str, float]:
    from volresearch.config import load_instruments

    return {symbol: float(inst.tick_size) for symbol, inst in load_instruments().items()}


def _symbol_keys(symbol: str) -> list[str]:
    """Table keys a data symbol may stand for: ``"ES-SYN"`` -> ES, ``"eur/usd"`` -> EURUSD, ``"^GSPC"`` -> GSPC."""
    raw = symbol.strip().upper()
    keys = [raw]
    for part in (raw.split("-")[0], raw.split("_")[0], raw.split(" ")[0]):
        keys.append(part)
    keys += [k.lstrip("^").replace("/", "").replace(".", "") for k in list(keys)]
    return list(dict.fromkeys(k for k in keys if k))


def resolve_tick(symbol: str | None = None, prices: Any = None) -> tuple[float | None, str]:
    """Tick size and where it came from: the instrument table first, then the data's price grid.

    Returns
    -------
    tick, source
        ``source`` is ``"instrument table (SYMBOL)"``, ``"price grid of the data"``
        or ``"unknown"`` (``tick`` then ``None``).
    """
    if symbol:
        ticks = _instrument_ticks()
        for key in _symbol_keys(symbol):
            if key in ticks:
                return ticks[key], f"instrument table ({key})"
    if prices is not None:
        tick = infer_tick_size(prices)
        if tick is not None:
            return tick, "price grid of the data"
    return None, "unknown"


def instrument_tick(symbol: str | None = None, prices: Any = None) -> float | None:
    """Tick size of an instrument (price units): from the instrument table when the symbol is known, else
    inferred from ``prices`` (array, Series or bars DataFrame); ``None`` when neither tells."""
    return resolve_tick(symbol, prices)[0]


@dataclass(frozen=True)
class PriceFormat:
    """How one instrument's prices are written.

    Attributes
    ----------
    tick
        Tick size (price units), ``None`` when unknown.
    decimals
        Decimals of every price (from the tick, else from ``reference`` magnitude).
    source
        Where the tick came from (see :func:`resolve_tick`).
    """

    tick: float | None = None
    decimals: int = 2
    source: str = "unknown"

    @classmethod
    def from_tick(cls, tick: float | None, *, reference: float | None = None, source: str = "given") -> PriceFormat:
        """Format for ``tick``; without one, decimals from the magnitude of ``reference`` (a typical price)."""
        if tick is not None:
            return cls(float(tick), price_decimals(tick), source)
        return cls(None, magnitude_decimals(reference if reference is not None else 0.0), "unknown")

    @classmethod
    def for_instrument(cls, symbol: str | None = None, prices: Any = None) -> PriceFormat:
        """Format from the instrument table or the data's price grid (see :func:`resolve_tick`)."""
        tick, source = resolve_tick(symbol, prices)
        reference = None
        if tick is None and prices is not None:
            from volresearch.data.tick_size import _price_values

            values = _price_values(prices)
            reference = float(values[-1]) if values.size else None
        return cls.from_tick(tick, reference=reference, source=source)

    def price(self, x: float) -> str:
        """A price (see :func:`format_price`)."""
        return format_price(x, decimals=self.decimals)

    def spread(self, x: float) -> str:
        """A price difference or dispersion (see :func:`format_spread`)."""
        return format_spread(x, decimals=self.decimals)

    def describe(self) -> str:
        """One line, e.g. ``"tick 0.00005 (price grid of the data), 5 decimals"``."""
        if self.tick is None:
            return f"tick unknown, {self.decimals} decimals from the price level"
        return f"tick {self.tick:.{self.decimals}f} ({self.source}), {self.decimals} decimals"
