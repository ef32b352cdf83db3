"""Package configuration: the instruments volresearch knows about.

``instruments.yaml`` ships with the package and lists each instrument's
exchange, asset class, tick size, contract point value, trading calendar and
observation noise: the common CME equity-index, rates, energy, metal and
currency futures (with the micro contracts), the major FX spot pairs, crypto
and a few ETFs.  :func:`load_instruments` reads it into immutable
:class:`Instrument` records; :func:`get_instrument` looks one up by symbol.

A user's own table uses the same layout and is merged over the packaged one
(an entry replaces the packaged entry of the same symbol whole), from

1. the environment variable ``VOLRESEARCH_INSTRUMENTS`` (a path, or several
   joined by :data:`os.pathsep`, later files winning), then
2. the ``extra`` argument (a path, or a list of paths).

In a user entry ``timezone`` defaults from the calendar and
``observation_noise`` to 0.0001.  Malformed files raise
:class:`~volresearch.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from volresearch.errors import ConfigError

__all__ = ["Instrument", "load_instruments", "get_instrument", "ENV_VAR", "ASSET_CLASSES"]

ENV_VAR = "VOLRESEARCH_INSTRUMENTS"
"""Environment variable naming the user's instrument file(s), merged over the packaged table."""
ASSET_CLASSES = ("equity_index", "rates", "energy", "metal", "fx", "crypto")
"""Asset classes of the packaged table (a user file may use others; they get no leverage verdict)."""

_PACKAGE_FILE = "instruments.yaml"
_REQUIRED = ("name", "exchange", "asset_class", "tick_size", "point_value", "calendar")
_OPTIONAL = ("trading_hours", "reference_price", "contract", "timezone", "observation_noise")
_DEFAULT_NOISE = 0.0001
_CALENDAR_ZONES = {
    "cme_globex": "America/Chicago",
    "us_equity_rth": "America/New_York",
    "us_equity_extended": "America/New_York",
    "us_equity_daily": "America/New_York",
    "fx_24x5": "America/New_York",
    "crypto_24x7": "UTC",
}


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
    contract
        Contract unit in words (``"125,000 EUR"``), or ``None``.
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
    contract: str | None = None


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
    entry = {
        "timezone": _CALENDAR_ZONES.get(entry["calendar"], "UTC"),
        "observation_noise": _DEFAULT_NOISE,
        **entry,
    }
    for key in ("name", "exchange", "asset_class", "timezone"):
        if not isinstance(entry[key], str) or not entry[key]:
            raise ConfigError(f"{source}: instruments.{symbol}.{key} must be a non-empty string")
    contract = entry.get("contract")
    if contract is not None and not isinstance(contract, str):
        raise ConfigError(f"{source}: instruments.{symbol}.contract must be text, got {contract!r}")
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
        contract=contract,
    )


def _user_files(extra: str | Path | Sequence[str | Path] | None) -> list[Path]:
    files = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    if extra is not None:
        files += [Path(extra)] if isinstance(extra, (str, Path)) else [Path(p) for p in extra]
    return files


def load_instruments(extra: str | Path | Sequence[str | Path] | None = None) -> dict[str, Instrument]:
    """Read the packaged instruments, merged with the user's files.

    Parameters
    ----------
    extra
        Path (or list of paths) of YAML files with the same layout
        (``instruments: {SYMBOL: {...}}``), read after the files named by
        ``VOLRESEARCH_INSTRUMENTS``; their entries are added, replacing
        earlier entries of the same symbol whole.

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
        A user file does not exist (the message says where it was named).
    """
    packaged = resources.files("volresearch.config") / _PACKAGE_FILE
    entries = _read_yaml(packaged.read_text(encoding="utf-8"), str(packaged))
    result = {sym: _parse(sym, entry, str(packaged)) for sym, entry in entries.items()}
    env_files = {Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()}
    for path in _user_files(extra):
        if not path.is_file():
            where = f" (named by {ENV_VAR})" if path in env_files else ""
            raise FileNotFoundError(f"no such instruments file: {path}{where}")
        user = _read_yaml(path.read_text(encoding="utf-8"), str(path))
        result.update({str(sym): _parse(sym, entry, str(path)) for sym, entry in user.items()})
    return result


def get_instrument(symbol: str, *, extra: str | Path | Sequence[str | Path] | None = None) -> Instrument:
    """Look up one instrument by symbol (exact, else case-insensitive: ``"ES"``, ``"eurusd"``).

    Raises
    ------
    ConfigError
        Unknown symbol; the message lists the known ones.
    """
    instruments = load_instruments(extra)
    if symbol in instruments:
        return instruments[symbol]
    folded = {k.upper(): v for k, v in instruments.items()}
    try:
        return folded[str(symbol).upper()]
    except KeyError:
        raise ConfigError(f"unknown instrument {symbol!r}; known: {', '.join(sorted(instruments))}") from None
