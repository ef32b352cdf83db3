"""Package configuration: the instruments volresearch knows about.

``instruments.yaml`` ships with the package and lists each instrument's
exchange, tick size, contract point value, trading calendar and observation
noise.  :func:`load_instruments` reads it (and optionally a user file that adds
or replaces entries) into immutable :class:`Instrument` records;
:func:`get_instrument` looks one up by symbol.  Malformed files raise
:class:`~volresearch.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from volresearch.errors import ConfigError

__all__ = ["Instrument", "load_instruments", "get_instrument"]

_PACKAGE_FILE = "instruments.yaml"
_REQUIRED = ("name", "exchange", "asset_class", "tick_size", "point_value", "calendar", "timezone", "observation_noise")
_OPTIONAL = ("trading_hours", "reference_price")


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument.

    Attributes
    ----------
    symbol
        Ticker used throughout the package (``"ES"``).
    name, exchange, asset_class
        Descriptive fields.
    tick_size
        Minimum price increment, quote currency (> 0).
    point_value
        Currency value of a 1.0 price move for one contract (> 0).
    calendar
        Name of a trading calendar preset (``volresearch.data.calendar``).
    timezone
        IANA zone of the session hours.
    observation_noise
        Noise of a price print as a fraction of price (>= 0; 0.0001 = 1 bp).
    reference_price
        Typical price level in quote currency, or ``None``.
    """

    symbol: str
    name: str
    exchange: str
    tick_size: float
    point_value: float
    calendar: str
    timezone: str
    observation_noise: float
    asset_class: str
    reference_price: float | None = None


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("instruments"), dict):
        raise ConfigError(f"{source}: key 'instruments' must be a mapping of symbol -> fields")
    return data["instruments"]


def _number(entry: dict[str, Any], key: str, source: str, symbol: str, *, positive: bool) -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: instruments.{symbol}.{key} must be a number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{source}: instruments.{symbol}.{key} must be > 0, got {value!r}")
    if not positive and not value >= 0:
        raise ConfigError(f"{source}: instruments.{symbol}.{key} must be >= 0, got {value!r}")
    return float(value)


def _parse(symbol: object, entry: object, source: str) -> Instrument:
    if not isinstance(symbol, str) or not symbol:
        raise ConfigError(f"{source}: instrument symbol {symbol!r} must be a non-empty string")
    if not isinstance(entry, dict):
        raise ConfigError(f"{source}: instruments.{symbol} must be a mapping of fields")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise ConfigError(f"{source}: instruments.{symbol} lacks key(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ConfigError(f"{source}: instruments.{symbol} has unknown key(s) {', '.join(map(str, unknown))}")
    from volresearch.data.calendar import CALENDARS

    if entry["calendar"] not in CALENDARS:
        raise ConfigError(
            f"{source}: instruments.{symbol}.calendar {entry['calendar']!r} is not one of {', '.join(CALENDARS)}"
        )
    for key in ("name", "exchange", "asset_class", "timezone"):
        if not isinstance(entry[key], str) or not entry[key]:
            raise ConfigError(f"{source}: instruments.{symbol}.{key} must be a non-empty string")
    reference = entry.get("reference_price")
    return Instrument(
        symbol=symbol,
        name=entry["name"],
        exchange=entry["exchange"],
        tick_size=_number(entry, "tick_size", source, symbol, positive=True),
        point_value=_number(entry, "point_value", source, symbol, positive=True),
        calendar=entry["calendar"],
        timezone=entry["timezone"],
        observation_noise=_number(entry, "observation_noise", source, symbol, positive=False),
        asset_class=entry["asset_class"],
        reference_price=None if reference is None else _number(entry, "reference_price", source, symbol, positive=True),
    )


def load_instruments(extra: str | Path | None = None) -> dict[str, Instrument]:
    """Read the packaged instruments, merged with an optional user file.

    Parameters
    ----------
    extra
        Path to a YAML file with the same layout (``instruments: {SYMBOL:
        {...}}``); its entries are added, replacing packaged entries of the
        same symbol whole.

    Returns
    -------
    dict
        ``{symbol: Instrument}``.

    Raises
    ------
    ConfigError
        Invalid YAML, a missing or unknown key, a wrong type, a non-positive
        tick size or point value, or an unknown calendar; the message names
        the file and the key (``instruments.SYMBOL.key``).
    FileNotFoundError
        ``extra`` does not exist.
    """
    packaged = resources.files("volresearch.config") / _PACKAGE_FILE
    entries = _read_yaml(packaged.read_text(encoding="utf-8"), str(packaged))
    result = {sym: _parse(sym, entry, str(packaged)) for sym, entry in entries.items()}
    if extra is not None:
        path = Path(extra)
        if not path.is_file():
            raise FileNotFoundError(f"no such instruments file: {path}")
        user = _read_yaml(path.read_text(encoding="utf-8"), str(path))
        result.update({sym: _parse(sym, entry, str(path)) for sym, entry in user.items()})
    return result


def get_instrument(symbol: str, *, extra: str | Path | None = None) -> Instrument:
    """Look up one instrument by symbol (case-sensitive, e.g. ``"ES"``).

    Raises
    ------
    ConfigError
        Unknown symbol; the message lists the known ones.
    """
    instruments = load_instruments(extra)
    try:
        return instruments[symbol]
    except KeyError:
        raise ConfigError(f"unknown instrument {symbol!r}; known: {', '.join(sorted(instruments))}") from None
