"""Tests of volresearch.data.store: bars, calibrations and snapshots in SQL.

Every test taking the ``store`` fixture runs on an SQLite file in a temporary
folder and on PostgreSQL: the session's ``postgres_url`` (``conftest.py``), a
throwaway server started from the installed PostgreSQL binaries or
``VOLRESEARCH_TEST_POSTGRES_URL``; the store tables are dropped and recreated
for each test.  The PostgreSQL cases skip only when no server binary exists.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from volresearch.data.store import (
    Store,
    bars_table,
    calibration_table,
    metadata,
    snapshots_table,
    upsert_statement,
)
from volresearch.data.ticks import TickAggregator
from volresearch.errors import ConfigError, DataError, VolresearchError

T0 = 1_709_546_400  # 2024-03-04 10:00:00 UTC, epoch seconds


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        opened = Store(request.getfixturevalue("postgres_url"))
        metadata.drop_all(opened._engine)
        metadata.create_all(opened._engine)
    yield opened
    opened.close()


def make_bars(n: int, seed: int = 0, *, optional: bool = True, start: int = T0) -> pd.DataFrame:
    """Random bars with awkward float64 values (full mantissas, extremes)."""
    rng = np.random.default_rng(seed)
    seconds = start + 60 * np.arange(n, dtype=np.int64)
    index = pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns").rename("timestamp")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    frame = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 1e-4, n)),
            "high": close * 1.001 + rng.random(n) * 1e-9,
            "low": close / 1.001,
            "close": close,
            "volume": rng.random(n) * 1e3,
        },
        index=index,
    )
    if n:
        frame.iloc[0, frame.columns.get_loc("open")] = 5e-324  # subnormal
        frame.iloc[-1, frame.columns.get_loc("volume")] = 2.0**63 + 2048.0
    if optional:
        trades = rng.integers(0, 500, n).astype(np.float64)
        vwap = close * (1 + rng.normal(0, 1e-5, n))
        if n > 2:
            trades[1] = np.nan
            vwap[2] = np.nan
        frame["trade_count"] = trades
        frame["vwap"] = vwap
    return frame


# ------------------------------------------------------------------------ bars
def test_round_trip_is_exact(store):
    bars = make_bars(500)
    assert store.write_bars("ES", bars) == 500
    back = store.read_bars("ES")
    pd.testing.assert_frame_equal(back, bars, check_exact=True)
    for name in bars.columns:
        original = bars[name].to_numpy()
        np.testing.assert_array_equal(
            back[name].to_numpy().view(np.uint64)[~np.isnan(original)], original.view(np.uint64)[~np.isnan(original)]
        )
    assert str(back.index.dtype) == "datetime64[ns, UTC]"
    assert back.index.name == "timestamp"


def test_optional_columns_only_when_present(store):
    bars = make_bars(20, optional=False)
    store.write_bars("NQ", bars)
    back = store.read_bars("NQ")
    assert list(back.columns) == ["open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(back, bars, check_exact=True)
    with_nan_vwap = make_bars(5, seed=1, optional=False)
    with_nan_vwap["vwap"] = np.nan
    with_nan_vwap["trade_count"] = [1.0, np.nan, 3.0, 4.0, 5.0]
    store.write_bars("GC", with_nan_vwap)
    assert list(store.read_bars("GC").columns) == ["open", "high", "low", "close", "volume", "trade_count"]


def test_missing_volume_is_stored_as_null(store):
    bars = make_bars(4, optional=False)
    bars["volume"] = [np.nan, 1.5, np.nan, 0.0]
    store.write_bars("SPX", bars)
    with store._begin() as conn:
        stored = conn.execute(select(bars_table.c.volume).order_by(bars_table.c.timestamp)).scalars().all()
    assert stored == [None, 1.5, None, 0.0]
    pd.testing.assert_frame_equal(store.read_bars("SPX"), bars, check_exact=True)
    bars["volume"] = [np.inf, 1.0, 1.0, 1.0]
    with pytest.raises(DataError, match=r"finite or NaN \[rows 0; column 'volume'\]"):
        store.write_bars("SPX", bars)


def test_writing_twice_leaves_one_row_per_timestamp(store):
    bars = make_bars(300)
    store.write_bars("ES", bars)
    store.write_bars("ES", bars)
    with store._begin() as conn:
        count = conn.execute(select(func.count()).select_from(bars_table)).scalar_one()
    assert count == 300
    pd.testing.assert_frame_equal(store.read_bars("ES"), bars, check_exact=True)


def test_changed_values_update_existing_rows(store):
    bars = make_bars(50)
    store.write_bars("ES", bars)
    changed = bars.iloc[10:12].copy()
    changed["close"] = [1.5, 2.5]
    changed["trade_count"] = [np.nan, 7.0]
    assert store.write_bars("ES", changed) == 2
    expected = bars.copy()
    expected.loc[changed.index, ["close", "trade_count"]] = changed[["close", "trade_count"]]
    pd.testing.assert_frame_equal(store.read_bars("ES"), expected, check_exact=True)


def test_chunked_write_of_many_bars(store):
    bars = make_bars(45_001, seed=3)  # crosses two executemany chunk boundaries
    assert store.write_bars("CL", bars) == 45_001
    back = store.read_bars("CL")
    pd.testing.assert_frame_equal(back, bars, check_exact=True)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(*[finite_floats] * 6, st.one_of(st.none(), st.integers(0, 2**62))), min_size=1, max_size=20
    ),
    offsets=st.lists(st.integers(-(2**33), 2**33), min_size=20, max_size=20, unique=True),
)
def test_any_finite_float64_round_trips_bit_for_bit(values, offsets):
    n = len(values)
    index = pd.to_datetime(np.array(offsets[:n], dtype=np.int64), unit="s", utc=True).as_unit("ns")
    columns = list(zip(*values))
    bars = pd.DataFrame(
        {
            name: np.array(columns[i], dtype=np.float64)
            for i, name in enumerate(["open", "high", "low", "close", "volume", "vwap"])
        },
        index=index.rename("timestamp"),
    )
    bars.insert(5, "trade_count", np.array([np.nan if c is None else float(c) for c in columns[6]]))
    if bars["trade_count"].isna().all():
        bars = bars.drop(columns="trade_count")
    bars = bars.sort_index()
    with Store("sqlite://") as store:
        store.write_bars("X", bars)
        back = store.read_bars("X")
    pd.testing.assert_frame_equal(back, bars, check_exact=True)
    for name in bars.columns:
        original, restored = bars[name].to_numpy(), back[name].to_numpy()
        same_bits = original.view(np.uint64) == restored.view(np.uint64)
        # SQLite stores -0.0 as 0.0 (documented); every other value keeps its bits.
        assert (same_bits | (original == 0.0) | np.isnan(original)).all(), name


def test_read_bounds_are_inclusive_and_accept_several_forms(store):
    bars = make_bars(10, optional=False)
    store.write_bars("ES", bars)
    first, fourth, sixth = bars.index[0], bars.index[3], bars.index[5]
    expected = bars.iloc[3:6]
    for start, end in [
        (fourth, sixth),
        (fourth.to_pydatetime(), sixth.to_pydatetime()),
        (int(fourth.timestamp()), int(sixth.timestamp())),
        ("2024-03-04 10:03:00", "2024-03-04T05:05:00-05:00"),
        (fourth - pd.Timedelta("0.5s"), sixth + pd.Timedelta("0.5s")),
    ]:
        pd.testing.assert_frame_equal(store.read_bars("ES", start, end), expected, check_exact=True)
    pd.testing.assert_frame_equal(store.read_bars("ES", end=first), bars.iloc[:1], check_exact=True)
    empty = store.read_bars("ES", start=bars.index[-1] + pd.Timedelta("1s"))
    assert empty.empty and list(empty.columns) == ["open", "high", "low", "close", "volume"]
    assert str(empty.index.dtype) == "datetime64[ns, UTC]"
    assert store.read_bars("UNKNOWN").empty


def test_index_in_other_zones_and_units_is_stored_as_utc_seconds(store):
    bars = make_bars(5, optional=False)
    eastern = bars.copy()
    eastern.index = eastern.index.tz_convert("America/New_York").as_unit("s")
    store.write_bars("ES", eastern)
    pd.testing.assert_frame_equal(store.read_bars("ES"), bars, check_exact=True)
    with store._begin() as conn:
        stamps = conn.execute(select(bars_table.c.timestamp).order_by(bars_table.c.timestamp)).scalars().all()
    assert stamps == [T0 + 60 * i for i in range(5)]


def test_symbols_and_delete(store):
    store.write_bars("NQ", make_bars(10, optional=False))
    store.write_bars("ES", make_bars(10, optional=False))
    assert store.symbols() == ["ES", "NQ"]
    index = store.read_bars("ES").index
    assert store.delete_bars("ES", start=index[2], end=index[4]) == 3
    assert len(store.read_bars("ES")) == 7
    assert store.delete_bars("ES") == 7
    assert store.symbols() == ["NQ"]
    assert store.delete_bars("ES") == 0


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda b: b.tz_localize(None), "naive DatetimeIndex"),
        (lambda b: b.set_axis(b.index + pd.Timedelta("1ms")), r"fractional seconds.*rows 0, 1, 2"),
        (lambda b: b.set_axis(b.index[[0, 0, 2, 3, 4]]), r"duplicated timestamps \[rows 0, 1;"),
        (lambda b: b.drop(columns="volume"), r"lack the required columns \['volume'\]"),
        (lambda b: b.assign(adj_close=1.0), r"columns the store does not keep: \['adj_close'\]"),
        (lambda b: b.assign(close=[1.0, np.nan, 1.0, np.inf, 1.0]), r"finite \[rows 1, 3; column 'close'\]"),
        (lambda b: b.assign(open=["1"] * 5), r"non-numeric dtype"),
        (lambda b: b.assign(trade_count=[1.0, 2.5, 3.0, -1.0, 5.0]), r"non-negative integer \(or NaN\) \[rows 1, 3;"),
        (lambda b: b.assign(vwap=[1.0, -np.inf, 1.0, 1.0, 1.0]), r"finite or NaN \[row"),
        (lambda b: b.reset_index(), "DatetimeIndex"),
    ],
)
def test_invalid_bars_raise_naming_rows_and_columns(store, mutate, pattern):
    bars = make_bars(5, optional=False)
    with pytest.raises(DataError, match=pattern):
        store.write_bars("ES", mutate(bars))
    assert store.read_bars("ES").empty  # nothing half-written


def test_aggregated_ticks_round_trip_through_the_store(store):
    rng = np.random.default_rng(7)
    n = 2_000
    stamps = pd.Timestamp(T0, unit="s", tz="UTC").value + np.sort(rng.integers(0, 3600 * 10**9, n))
    agg = TickAggregator("ES")
    bars = agg.add_many({"timestamp": stamps, "price": 100 + rng.random(n), "size": rng.integers(0, 5, n) * 1.0})
    store.write_bars("ES", bars)
    pd.testing.assert_frame_equal(store.read_bars("ES"), bars, check_exact=True)


# ---------------------------------------------------------- SQL is parameterised
def test_values_travel_as_bound_parameters(store):
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    nasty = "ES'); DROP TABLE bars; --"
    event.listen(store._engine, "before_cursor_execute", record)
    try:
        store.write_bars(nasty, make_bars(3))
        back = store.read_bars(nasty, start=T0, end=T0 + 120)
        store.write_calibration(
            nasty, "garch", "normal", {"omega": 1e-7}, calibration_date=T0, window_start=T0 - 86400, window_end=T0
        )
        store.write_snapshot(nasty, T0, "v1'--", {"x": np.arange(3)})
        store.read_snapshot(nasty)
        store.latest_calibration(nasty, "garch")
        store.delete_bars(nasty, start=T0 + 60)
    finally:
        event.remove(store._engine, "before_cursor_execute", record)
    assert len(back) == 3
    assert statements
    for statement, _parameters in statements:
        assert "DROP TABLE" not in statement
        assert str(T0) not in statement
        assert "omega" not in statement
    assert any(nasty in json.dumps(parameters, default=str) for _, parameters in statements)
    assert inspect(store._engine).has_table("bars")
    assert store.symbols() == [nasty]


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
@pytest.mark.parametrize("table", [bars_table, calibration_table, snapshots_table])
def test_upsert_compiles_with_bound_parameters_and_on_conflict(dialect, table):
    stmt = upsert_statement(table, dialect.name)
    rows = {column.name: None for column in table.columns}
    compiled = stmt.values(**rows).compile(dialect=dialect)
    sql = str(compiled)
    keys = ", ".join(column.name for column in table.primary_key.columns)
    assert f"ON CONFLICT ({keys}) DO UPDATE SET" in sql
    assert set(compiled.params) == {column.name for column in table.columns}
    placeholder = "%(symbol)s" if dialect.name == "postgresql" else "?"
    assert placeholder in sql
    for column in table.columns:
        if not column.primary_key:
            assert f"excluded.{column.name}" in sql or f'excluded."{column.name}"' in sql


def test_unsupported_dialect_and_bad_url_raise_config_error():
    with pytest.raises(ConfigError, match="dialect 'mysql'"):
        Store("mysql://user:secret@localhost/db")
    with pytest.raises(ConfigError, match="invalid database URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="not supported"):
        upsert_statement(bars_table, "oracle")


# ----------------------------------------------------------------- calibration
def test_calibration_write_read_and_latest(store):
    window = dict(window_start="2024-01-01", window_end=datetime(2024, 3, 1, tzinfo=UTC))
    store.write_calibration(
        "ES",
        "garch",
        "normal",
        {"omega": 2.5e-9, "alpha": 0.05, "beta": 0.93},
        calibration_date=pd.Timestamp("2024-03-02", tz="UTC"),
        units={"omega": "per-bar log-return variance", "alpha": "dimensionless", "beta": "dimensionless"},
        method="arch-mle",
        meta={"data_hash": "abc123", "arch": "7.0", "loglik": np.float64(-1234.5)},
        **window,
    )
    store.write_calibration(
        "ES",
        "garch",
        "normal",
        {"omega": 3e-9, "alpha": 0.06, "beta": 0.92},
        calibration_date=T0,
        converged=False,
        method="ewma-fallback",
        **window,
    )
    store.write_calibration(
        "ES", "gjr", "sged", {"omega": 1e-9, "gamma": 0.1, "nu": 1.4, "lambda": -0.1}, calibration_date=T0, **window
    )
    latest = store.latest_calibration("ES", "garch")
    assert latest["params"] == {"alpha": 0.06, "beta": 0.92, "omega": 3e-9}
    assert latest["calibration_date"] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert latest["window_start"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert latest["window_end"] == pd.Timestamp("2024-03-01", tz="UTC")
    assert latest["converged"] is False and latest["method"] == "ewma-fallback"
    assert latest["units"] == {} and latest["meta"] == {}
    assert latest["dist"] == "normal"

    table = store.read_calibrations(symbol="ES", model_type="garch")
    assert len(table) == 6
    assert list(table.columns) == [
        "symbol",
        "model_type",
        "dist",
        "param_name",
        "param_value",
        "unit",
        "calibration_date",
        "window_start",
        "window_end",
        "converged",
        "method",
        "meta",
    ]
    first = table[table["calibration_date"] == pd.Timestamp("2024-03-02", tz="UTC")]
    assert dict(zip(first["param_name"], first["param_value"])) == {"alpha": 0.05, "beta": 0.93, "omega": 2.5e-9}
    assert first["unit"].tolist() == ["dimensionless", "dimensionless", "per-bar log-return variance"]
    assert first["meta"].iloc[0] == {"arch": "7.0", "data_hash": "abc123", "loglik": -1234.5}
    assert first["converged"].all()
    assert str(table["calibration_date"].dtype) == "datetime64[ns, UTC]"
    assert len(store.read_calibrations()) == 10
    assert len(store.read_calibrations(dist="sged")) == 4
    assert store.read_calibrations(symbol="NQ").empty
    assert store.latest_calibration("ES", "gjr", "sged")["params"]["lambda"] == -0.1
    assert store.latest_calibration("NQ", "garch") is None


def test_rewriting_a_calibration_replaces_it(store):
    common = dict(calibration_date=T0, window_start=T0 - 86400, window_end=T0)
    store.write_calibration("ES", "garch", "normal", {"omega": 1.0, "alpha": 0.1, "beta": 0.8}, **common)
    store.write_calibration("ES", "garch", "normal", {"omega": 2.0, "alpha": 0.2}, **common)
    store.write_calibration("ES", "garch", "normal", {"omega": 2.0, "alpha": 0.2}, **common)
    table = store.read_calibrations()
    assert table["param_name"].tolist() == ["alpha", "omega"]
    assert table["param_value"].tolist() == [0.2, 2.0]


def test_nan_parameter_round_trips_as_nan(store):
    store.write_calibration(
        "ES",
        "heston",
        "normal",
        {"kappa": math.nan, "theta": 0.04},
        calibration_date=T0,
        window_start=T0,
        window_end=T0,
        converged=False,
    )
    params = store.latest_calibration("ES", "heston")["params"]
    assert math.isnan(params["kappa"]) and params["theta"] == 0.04


def test_latest_calibration_with_several_distributions_needs_dist(store):
    common = dict(calibration_date=T0, window_start=T0 - 60, window_end=T0)
    store.write_calibration("ES", "garch", "normal", {"omega": 1.0}, **common)
    store.write_calibration("ES", "garch", "sged", {"omega": 2.0}, **common)
    with pytest.raises(DataError, match=r"several distributions \['normal', 'sged'\]; pass dist="):
        store.latest_calibration("ES", "garch")
    assert store.latest_calibration("ES", "garch", "sged")["params"] == {"omega": 2.0}


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(params={}), "non-empty mapping"),
        (dict(params={"omega": "big"}), "non-numeric value 'big'"),
        (dict(units={"delta": "x"}), r"units given for parameters not in params: \['delta'\]"),
        (dict(window_start=T0 + 1), "is after window_end"),
        (dict(calibration_date=pd.Timestamp(T0, unit="s", tz="UTC") + pd.Timedelta("1ms")), "fractional second"),
        (dict(calibration_date=1.5e9), "is a float"),
        (dict(meta={"obj": object()}), "not JSON-serialisable"),
        (dict(dist=""), "dist must be a non-empty string"),
    ],
)
def test_invalid_calibrations_raise(store, kwargs, pattern):
    arguments = dict(
        symbol="ES",
        model_type="garch",
        dist="normal",
        params={"omega": 1.0},
        calibration_date=T0,
        window_start=T0 - 60,
        window_end=T0,
    )
    arguments.update(kwargs)
    with pytest.raises(DataError, match=pattern):
        store.write_calibration(**arguments)
    assert store.read_calibrations().empty


# ------------------------------------------------------------------- snapshots
def snapshot_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    weird = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.0 / 3.0])
    weird_bits = weird.view(np.uint64).copy()
    weird_bits[0] = 0x7FF8_DEAD_BEEF_0001  # NaN with a payload
    state = rng.bit_generator.state["state"]
    rng_state = np.array(
        [state["state"] >> 64, state["state"] & (2**64 - 1), state["inc"] >> 64, state["inc"] & (2**64 - 1), 2**64 - 1],
        dtype=np.uint64,
    )
    return {
        "particles": rng.standard_normal((1000, 3)),
        "log_weights": rng.standard_normal(1000).astype(np.float32),
        "weird": weird_bits.view(np.float64),
        "rng_state": rng_state,
        "fortran": np.asfortranarray(rng.integers(-100, 100, (4, 5, 6), dtype=np.int8)),
        "flags": rng.random(7) > 0.5,
        "complex": rng.standard_normal(3) + 1j * rng.standard_normal(3),
        "scalar": np.array(42, dtype=np.int64),
        "empty": np.empty((0, 3), dtype=np.float64),
    }


def test_snapshot_round_trip_is_bit_for_bit(store):
    arrays = snapshot_arrays()
    store.write_snapshot("ES", T0, "pf-1.0", arrays, meta={"n_particles": 1000, "seed": np.int64(11)})
    back, meta = store.read_snapshot("ES")
    assert list(back) == list(arrays)
    for name, original in arrays.items():
        restored = back[name]
        assert restored.dtype == original.dtype, name
        assert restored.shape == original.shape, name
        assert restored.flags.f_contiguous == original.flags.f_contiguous, name
        assert restored.tobytes(order="A") == original.tobytes(order="A"), name
    assert meta == {
        "n_particles": 1000,
        "seed": 11,
        "symbol": "ES",
        "timestamp": pd.Timestamp(T0, unit="s", tz="UTC"),
        "model_version": "pf-1.0",
    }


def test_restored_rng_state_continues_the_same_stream(store):
    rng = np.random.default_rng(2024)
    rng.standard_normal(17)
    state = rng.bit_generator.state["state"]
    words = np.array(
        [state["state"] >> 64, state["state"] & (2**64 - 1), state["inc"] >> 64, state["inc"] & (2**64 - 1)],
        dtype=np.uint64,
    )
    store.write_snapshot("ES", T0, "pf-1.0", {"rng": words})
    expected = rng.standard_normal(5)
    back, _ = store.read_snapshot("ES", T0, "pf-1.0")
    w = [int(x) for x in back["rng"]]
    restored = np.random.Generator(np.random.PCG64())
    restored.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": 0,
        "uinteger": 0,
    }
    np.testing.assert_array_equal(restored.standard_normal(5), expected)


def test_snapshot_selection_latest_version_and_errors(store):
    store.write_snapshot("ES", T0, "v1", {"x": np.array([1.0])})
    store.write_snapshot("ES", T0 + 60, "v1", {"x": np.array([2.0])})
    store.write_snapshot("ES", T0 + 60, "v2", {"x": np.array([3.0])})
    store.write_snapshot("ES", T0 + 60, "v2", {"x": np.array([4.0])})  # replaces
    store.write_snapshot("NQ", T0 + 600, "v1", {"x": np.array([5.0])})
    assert store.read_snapshot("ES", model_version="v1")[0]["x"].tolist() == [2.0]
    assert store.read_snapshot("ES", T0, "v1")[0]["x"].tolist() == [1.0]
    assert store.read_snapshot("ES", pd.Timestamp(T0, unit="s", tz="UTC"))[0]["x"].tolist() == [1.0]
    assert store.read_snapshot("ES", T0 + 60, "v2")[0]["x"].tolist() == [4.0]
    with pytest.raises(DataError, match=r"model versions \['v1', 'v2'\]"):
        store.read_snapshot("ES")
    with pytest.raises(DataError, match="no particle snapshot stored for symbol 'GC'"):
        store.read_snapshot("GC")
    keys = store.list_snapshots()
    assert keys["symbol"].tolist() == ["ES", "ES", "ES", "NQ"]
    assert keys["model_version"].tolist() == ["v1", "v1", "v2", "v1"]
    assert str(keys["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert len(store.list_snapshots("NQ")) == 1


def test_snapshot_payload_is_plain_npz_without_pickle(store):
    store.write_snapshot("ES", T0, "v1", {"a": np.arange(5, dtype=np.uint64)})
    with store._begin() as conn:
        payload = conn.execute(select(snapshots_table.c.payload)).scalar_one()
    import io

    with np.load(io.BytesIO(bytes(payload)), allow_pickle=False) as archive:
        assert archive.files == ["a"]
        assert archive["a"].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("arrays", "meta", "pattern"),
    [
        ({"bad": np.array([object(), 1], dtype=object)}, None, "object dtype"),
        ({"file": np.zeros(2)}, None, "reserved"),
        ({"x": np.zeros(2)}, {"timestamp": 1}, r"reserved keys \['timestamp'\]"),
        ({"x": np.zeros(2)}, {"f": object()}, "not JSON-serialisable"),
    ],
)
def test_invalid_snapshots_raise(store, arrays, meta, pattern):
    with pytest.raises(DataError, match=pattern):
        store.write_snapshot("ES", T0, "v1", arrays, meta)
    with pytest.raises(DataError, match="sub|fractional"):
        store.write_snapshot("ES", pd.Timestamp(T0, unit="s", tz="UTC") + pd.Timedelta("1us"), "v1", {"x": np.zeros(1)})


# -------------------------------------------------------------- file and life
def test_sqlite_file_persists_across_stores(tmp_path):
    path = tmp_path / "research.db"
    bars = make_bars(30)
    with Store(f"sqlite:///{path}") as first:
        first.write_bars("ES", bars)
        first.write_calibration(
            "ES", "garch", "normal", {"omega": 1e-7}, calibration_date=T0, window_start=T0 - 3600, window_end=T0
        )
    assert path.is_file() and path.stat().st_size > 0
    with Store(f"sqlite:///{path}") as second:
        pd.testing.assert_frame_equal(second.read_bars("ES"), bars, check_exact=True)
        assert second.latest_calibration("ES", "garch")["params"] == {"omega": 1e-7}


def test_relative_sqlite_path_creates_parent_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Store("sqlite:///nested/folder/vol.db") as store:
        assert store.url == "sqlite:///nested/folder/vol.db"
        store.write_bars("ES", make_bars(3))
    assert (tmp_path / "nested" / "folder" / "vol.db").is_file()


def test_in_memory_store_and_closed_store():
    store = Store("sqlite://")
    store.write_bars("ES", make_bars(3))
    assert store.symbols() == ["ES"]
    assert "sqlite://" in repr(store)
    store.close()
    store.close()  # idempotent
    with pytest.raises(VolresearchError, match="closed"):
        store.read_bars("ES")


def test_errors_and_repr_hide_the_password(tmp_path):
    with pytest.raises(ConfigError) as info:
        Store("mysql://user:secret@localhost/db")
    assert "secret" not in str(info.value) and "***" in str(info.value)
    with Store(f"sqlite:///{tmp_path / 'x.db'}") as store:
        assert store.dialect == "sqlite"
        assert repr(store) == f"Store('sqlite:///{tmp_path / 'x.db'}')"


def test_snapshot_meta_is_written_as_strict_json(store):
    """NaN inside an array of meta was written as the non-JSON token NaN; now null, like every JSON the package writes."""
    meta = {
        "band": np.array([0.5, np.nan]),
        "scale": np.float32(1.5),
        "at": pd.Timestamp("2024-03-04 10:00", tz="UTC"),
        "path": Path("runs") / "a.json",
    }
    store.write_snapshot("ES", T0, "v1", {"x": np.zeros(2)}, meta=meta)
    with store._engine.connect() as conn:
        raw = conn.execute(select(snapshots_table.c.meta)).scalar_one()
    assert "NaN" not in raw
    decoded = json.loads(raw)
    assert decoded["band"] == [0.5, None] and decoded["scale"] == 1.5
    assert decoded["at"] == "2024-03-04T10:00:00+00:00" and decoded["path"] == str(Path("runs") / "a.json")


def test_postgres_binaries_are_found_on_path_or_in_debian_folders(monkeypatch, tmp_path):
    import conftest

    fake = tmp_path / "usr" / "lib" / "postgresql" / "16" / "bin"
    fake.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (fake / name).write_text("")
    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    monkeypatch.setattr(conftest.glob, "glob", lambda pattern: [str(fake / "initdb")])
    assert conftest.find_postgres_bin() == fake
    monkeypatch.setattr(conftest.glob, "glob", lambda pattern: [])
    assert conftest.find_postgres_bin() is None
