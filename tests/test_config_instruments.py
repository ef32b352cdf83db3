"""instruments.yaml and its loader."""

from __future__ import annotations

import dataclasses

import pytest

from volresearch.config import Instrument, get_instrument, load_instruments
from volresearch.data.calendar import CALENDARS
from volresearch.errors import ConfigError


def test_packaged_instruments_match_the_contract_specs():
    inst = load_instruments()
    assert {"ES", "NQ", "GC", "SI", "BTC", "SPY", "INDA"} <= set(inst)
    specs = {"ES": (0.25, 50), "NQ": (0.25, 20), "GC": (0.10, 100), "SI": (0.005, 5000)}
    for symbol, (tick, point) in specs.items():
        assert inst[symbol].tick_size == tick and inst[symbol].point_value == point
        assert inst[symbol].calendar == "cme_globex" and inst[symbol].timezone == "America/New_York"
    assert inst["BTC"].calendar == "crypto_24x7"
    assert inst["SPY"].calendar == "us_equity_rth"
    assert inst["INDA"].calendar == "us_equity_extended"
    assert inst["SI"].observation_noise == 0.0003
    assert all(i.calendar in CALENDARS for i in inst.values())


def test_instrument_is_frozen():
    es = get_instrument("ES")
    assert isinstance(es, Instrument)
    with pytest.raises(dataclasses.FrozenInstanceError):
        es.tick_size = 1.0  # type: ignore[misc]


def test_extra_file_adds_and_replaces(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "instruments:\n"
        "  CL: {name: Crude oil, exchange: NYMEX, asset_class: energy_future, tick_size: 0.01,\n"
        "       point_value: 1000, calendar: cme_globex, timezone: America/New_York, observation_noise: 0.0002}\n"
        "  ES: {name: E-mini (house), exchange: CME, asset_class: equity_index_future, tick_size: 0.25,\n"
        "       point_value: 50, calendar: cme_globex, timezone: America/New_York, observation_noise: 0.0005}\n"
    )
    inst = load_instruments(extra=path)
    assert inst["CL"].point_value == 1000 and inst["CL"].reference_price is None
    assert inst["ES"].observation_noise == 0.0005 and inst["ES"].name == "E-mini (house)"
    assert get_instrument("CL", extra=path).exchange == "NYMEX"
    assert "CL" not in load_instruments()


@pytest.mark.parametrize(
    "body,pattern",
    [
        ("instruments: [1, 2\n", r"bad\.yaml: not valid YAML"),
        ("something: 1\n", r"bad\.yaml: key 'instruments'"),
        ("instruments:\n  X:\n    name: x\n", r"bad\.yaml: instruments\.X lacks key\(s\) exchange"),
        (
            "instruments:\n  X: {name: x, exchange: e, asset_class: a, tick_size: -1, point_value: 1,"
            " calendar: crypto_24x7, timezone: UTC, observation_noise: 0}\n",
            r"bad\.yaml: instruments\.X\.tick_size must be > 0",
        ),
        (
            "instruments:\n  X: {name: x, exchange: e, asset_class: a, tick_size: 1, point_value: one,"
            " calendar: crypto_24x7, timezone: UTC, observation_noise: 0}\n",
            r"instruments\.X\.point_value must be a number",
        ),
        (
            "instruments:\n  X: {name: x, exchange: e, asset_class: a, tick_size: 1, point_value: 1,"
            " calendar: moon, timezone: UTC, observation_noise: 0}\n",
            r"instruments\.X\.calendar 'moon' is not one of",
        ),
        (
            "instruments:\n  X: {name: x, exchange: e, asset_class: a, tick_size: 1, point_value: 1,"
            " calendar: crypto_24x7, timezone: UTC, observation_noise: 0, colour: red}\n",
            r"instruments\.X has unknown key\(s\) colour",
        ),
    ],
)
def test_malformed_files_name_file_and_key(tmp_path, body, pattern):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=pattern):
        load_instruments(extra=path)


def test_unknown_symbol_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown instrument 'ZZ'.*ES"):
        get_instrument("ZZ")
    with pytest.raises(FileNotFoundError):
        load_instruments(extra=tmp_path / "absent.yaml")
