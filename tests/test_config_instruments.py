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
        "  QCL: {name: Crude oil, exchange: NYMEX, asset_class: energy, tick_size: 0.01,\n"
        "       point_value: 1000, calendar: cme_globex, timezone: America/New_York, observation_noise: 0.0002}\n"
        "  ES: {name: E-mini (house), exchange: CME, asset_class: equity_index_future, tick_size: 0.25,\n"
        "       point_value: 50, calendar: cme_globex, timezone: America/New_York, observation_noise: 0.0005}\n"
    )
    inst = load_instruments(extra=path)
    assert inst["QCL"].point_value == 1000 and inst["QCL"].reference_price is None
    assert inst["ES"].observation_noise == 0.0005 and inst["ES"].name == "E-mini (house)"
    assert get_instrument("QCL", extra=path).exchange == "NYMEX"
    assert "QCL" not in load_instruments()


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


# ------------------------------------------------------- the packaged table
CONTRACTS = {
    # symbol: (tick size, point value, calendar, asset class) from the exchanges' contract specifications
    "ES": (0.25, 50, "cme_globex", "equity_index"),
    "NQ": (0.25, 20, "cme_globex", "equity_index"),
    "YM": (1.0, 5, "cme_globex", "equity_index"),
    "RTY": (0.10, 50, "cme_globex", "equity_index"),
    "MES": (0.25, 5, "cme_globex", "equity_index"),
    "MNQ": (0.25, 2, "cme_globex", "equity_index"),
    "MYM": (1.0, 0.5, "cme_globex", "equity_index"),
    "M2K": (0.10, 5, "cme_globex", "equity_index"),
    "ZN": (1 / 64, 1000, "cme_globex", "rates"),
    "ZB": (1 / 32, 1000, "cme_globex", "rates"),
    "ZF": (1 / 128, 1000, "cme_globex", "rates"),
    "ZT": (1 / 256, 2000, "cme_globex", "rates"),
    "CL": (0.01, 1000, "cme_globex", "energy"),
    "MCL": (0.01, 100, "cme_globex", "energy"),
    "NG": (0.001, 10000, "cme_globex", "energy"),
    "GC": (0.10, 100, "cme_globex", "metal"),
    "MGC": (0.10, 10, "cme_globex", "metal"),
    "SI": (0.005, 5000, "cme_globex", "metal"),
    "HG": (0.0005, 25000, "cme_globex", "metal"),
    "6E": (0.00005, 125000, "cme_globex", "fx"),
    "6J": (0.0000005, 12_500_000, "cme_globex", "fx"),
    "6B": (0.0001, 62500, "cme_globex", "fx"),
    "6A": (0.00005, 100000, "cme_globex", "fx"),
    "6C": (0.00005, 100000, "cme_globex", "fx"),
    "6S": (0.00005, 125000, "cme_globex", "fx"),
    "M6E": (0.0001, 12500, "cme_globex", "fx"),
    "EURUSD": (0.00001, 1, "fx_24x5", "fx"),
    "USDJPY": (0.001, 1, "fx_24x5", "fx"),
    "GBPUSD": (0.00001, 1, "fx_24x5", "fx"),
    "AUDUSD": (0.00001, 1, "fx_24x5", "fx"),
    "USDCAD": (0.00001, 1, "fx_24x5", "fx"),
    "USDCHF": (0.00001, 1, "fx_24x5", "fx"),
    "BTCUSD": (0.01, 1, "crypto_24x7", "crypto"),
    "ETHUSD": (0.01, 1, "crypto_24x7", "crypto"),
    "BTCUSDT-PERP": (0.10, 1, "crypto_24x7", "crypto"),
    "SPY": (0.01, 1, "us_equity_rth", "equity_index"),
}


@pytest.mark.parametrize("symbol", sorted(CONTRACTS))
def test_contract_table(symbol):
    tick, point, calendar, asset_class = CONTRACTS[symbol]
    inst = get_instrument(symbol)
    assert inst.tick_size == pytest.approx(tick, rel=1e-12) and inst.point_value == point
    assert inst.calendar == calendar and inst.asset_class == asset_class


def test_tick_value_of_key_contracts():
    # one tick's money value, the figure exchanges publish next to the tick
    value = {s: get_instrument(s).tick_size * get_instrument(s).point_value for s in ("ES", "6E", "GC", "CL", "ZN")}
    assert value == pytest.approx({"ES": 12.5, "6E": 6.25, "GC": 10.0, "CL": 10.0, "ZN": 15.625})


def test_every_packaged_class_is_known_and_maps_to_a_leverage_expectation():
    from volresearch.config import ASSET_CLASSES
    from volresearch.validate.stylized import stylized_asset_class

    inst = load_instruments()
    assert {i.asset_class for i in inst.values()} == set(ASSET_CLASSES)
    assert stylized_asset_class(inst["ES"].asset_class) == "equity_index"
    assert stylized_asset_class(inst["GC"].asset_class) == "metal"
    for sym in ("EURUSD", "6E", "ZN", "CL", "BTCUSD"):
        assert stylized_asset_class(inst[sym].asset_class) == "other"


def test_stylized_facts_take_an_instrument_class():
    import numpy as np

    from volresearch.validate.stylized import stylized_facts

    r = np.random.default_rng(3).standard_t(5, 3000) * 1e-3
    fx = stylized_facts(r, asset_class="fx").set_index("statistic")
    eq = stylized_facts(r, asset_class="equity_index").set_index("statistic")
    assert fx.loc["leverage_mean", "passed"] is None  # no leverage verdict for FX
    assert eq.loc["leverage_mean", "passed"] in (True, False)


# ------------------------------------------------------------ user tables
def test_environment_variable_merges_a_user_table(tmp_path, monkeypatch):
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "instruments:\n"
        "  XAUUSD: {name: Gold spot, exchange: OTC, asset_class: metal, tick_size: 0.01, point_value: 1,\n"
        "           calendar: fx_24x5}\n"
        "  ES: {name: E-mini (desk), exchange: CME, asset_class: equity_index, tick_size: 0.25, point_value: 50,\n"
        "       calendar: cme_globex, observation_noise: 0.0003}\n"
    )
    monkeypatch.setenv("VOLRESEARCH_INSTRUMENTS", str(mine))
    inst = load_instruments()
    assert inst["XAUUSD"].tick_size == 0.01 and inst["XAUUSD"].timezone == "America/New_York"
    assert inst["XAUUSD"].observation_noise == 0.0001  # default for a user entry
    assert inst["ES"].name == "E-mini (desk)" and inst["ES"].observation_noise == 0.0003
    assert "GC" in inst  # the packaged table is still there
    later = tmp_path / "later.yaml"
    later.write_text(
        "instruments:\n  XAUUSD: {name: Gold (later), exchange: OTC, asset_class: metal, tick_size: 0.1,"
        " point_value: 1, calendar: fx_24x5}\n"
    )
    assert load_instruments(later)["XAUUSD"].name == "Gold (later)"  # the argument wins over the environment
    assert get_instrument("xauusd").symbol == "XAUUSD"  # case-insensitive fallback
    monkeypatch.setenv("VOLRESEARCH_INSTRUMENTS", str(tmp_path / "missing.yaml"))
    with pytest.raises(FileNotFoundError, match="VOLRESEARCH_INSTRUMENTS"):
        load_instruments()
