"""Tests of volresearch.data.ticks: tick-to-bar aggregation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volresearch.data.ticks import Bar, RejectedTick, TickAggregator, bars_to_frame
from volresearch.errors import ConfigError, DataError

T0 = pd.Timestamp("2024-03-04 10:00:00", tz="UTC")
NS = 1_000_000_000


def at(seconds: float) -> pd.Timestamp:
    """T0 plus a number of seconds (exact to the nanosecond for short decimals)."""
    return T0 + pd.Timedelta(round(seconds * NS), unit="ns")


def feed(agg: TickAggregator, ticks: list[dict]) -> list[Bar]:
    bars: list[Bar] = []
    for tick in ticks:
        bars.extend(agg.add(**tick))
    return bars


# ------------------------------------------------------------------ boundaries
def test_bar_boundary_is_closed_left_labelled_left():
    agg = TickAggregator("ES")
    assert agg.add(at(0.0), price=100.0, size=1.0) == []
    assert agg.add(at(59.999), price=101.0, size=1.0) == []
    assert agg.add(T0 + pd.Timedelta(59_999_999_999, unit="ns"), price=102.0, size=1.0) == []
    closed = agg.add(at(60.0), price=103.0, size=1.0)
    assert len(closed) == 1
    bar = closed[0]
    assert bar.timestamp == T0
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 102.0, 100.0, 102.0)
    assert bar.volume == 3.0 and bar.trade_count == 3
    (last,) = agg.flush()
    assert last.timestamp == T0 + pd.Timedelta(minutes=1)
    assert (last.open, last.close, last.volume) == (103.0, 103.0, 1.0)


def test_microsecond_before_the_minute_stays_in_the_earlier_bar():
    agg = TickAggregator()
    agg.add(pd.Timestamp("2024-03-04 10:00:59.999999", tz="UTC"), price=5.0, size=1.0)
    (bar,) = agg.add(pd.Timestamp("2024-03-04 10:01:00.000000", tz="UTC"), price=6.0, size=1.0)
    assert bar.timestamp == pd.Timestamp("2024-03-04 10:00", tz="UTC")
    assert bar.close == 5.0
    assert agg.current is not None and agg.current.timestamp == pd.Timestamp("2024-03-04 10:01", tz="UTC")


def test_bar_is_emitted_only_when_a_later_bar_starts():
    agg = TickAggregator("NQ")
    emitted = [agg.add(at(s), price=10.0 + s, size=1.0) for s in (1.0, 20.0, 59.0)]
    assert emitted == [[], [], []]
    assert agg.current is not None and agg.current.close == 69.0
    (bar,) = agg.add(at(61.0), price=1.0, size=1.0)
    assert bar.symbol == "NQ" and bar.timestamp == T0 and bar.close == 69.0
    assert agg.add(at(62.0), price=2.0, size=1.0) == []


def test_flush_emits_open_bar_once_and_closes_its_interval():
    agg = TickAggregator()
    assert agg.flush() == []
    agg.add(at(5.0), price=100.0, size=2.0)
    (bar,) = agg.flush()
    assert bar.timestamp == T0 and bar.volume == 2.0
    assert agg.flush() == []
    assert agg.current is None
    with pytest.raises(DataError, match=r"position 1 .* already emitted"):
        agg.add(at(30.0), price=100.0, size=1.0)
    assert agg.add(at(60.0), price=100.0, size=1.0) == []
    assert agg.flush()[0].timestamp == T0 + pd.Timedelta(minutes=1)


def test_gaps_are_left_as_gaps():
    agg = TickAggregator()
    ticks = [dict(timestamp=at(s), price=100.0, size=1.0) for s in (10.0, 15.0, 310.0, 3600.0)]
    bars = feed(agg, ticks) + agg.flush()
    assert [b.timestamp for b in bars] == [T0, T0 + pd.Timedelta(minutes=5), T0 + pd.Timedelta(hours=1)]
    assert [b.volume for b in bars] == [2.0, 1.0, 1.0]


def test_bar_seconds_aligns_to_the_epoch():
    agg = TickAggregator(bar_seconds=300)
    agg.add(pd.Timestamp("2024-03-04 10:04:59", tz="UTC"), price=1.0, size=1.0)
    (bar,) = agg.add(pd.Timestamp("2024-03-04 10:05:00", tz="UTC"), price=1.0, size=1.0)
    assert bar.timestamp == pd.Timestamp("2024-03-04 10:00", tz="UTC")
    hourly = TickAggregator(bar_seconds=3600)
    hourly.add(pd.Timestamp("2024-03-04 10:59:00", tz="UTC"), price=1.0)
    assert hourly.flush()[0].timestamp == pd.Timestamp("2024-03-04 10:00", tz="UTC")


# ------------------------------------------------------------------- contents
def test_vwap_volume_and_trade_count_match_hand_computation():
    agg = TickAggregator()
    prices = [100.0, 101.0, 99.0, 102.0]
    sizes = [2.0, 0.0, 3.0, 1.0]
    for s, (p, q) in enumerate(zip(prices, sizes)):
        agg.add(at(float(s)), price=p, size=q)
    (bar,) = agg.flush()
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 102.0, 99.0, 102.0)
    assert bar.volume == 6.0
    assert bar.trade_count == 3
    assert bar.vwap == pytest.approx((200.0 + 297.0 + 102.0) / 6.0, rel=1e-15)


def test_fractional_sizes_are_summed_exactly():
    agg = TickAggregator()
    for s in range(10):
        agg.add(at(float(s)), price=100.0, size=0.1)
    (bar,) = agg.flush()
    assert bar.volume == 1.0  # fsum: the correctly rounded sum of ten 0.1s
    assert bar.vwap == 100.0


def test_quote_only_bar_has_nan_vwap_and_no_trades():
    agg = TickAggregator(price="mid")
    agg.add(at(1.0), bid=99.0, ask=101.0)
    agg.add(at(2.0), bid=100.0, ask=102.0)
    (bar,) = agg.flush()
    assert (bar.open, bar.high, bar.low, bar.close) == (100.0, 101.0, 100.0, 101.0)
    assert bar.volume == 0.0 and bar.trade_count == 0
    assert math.isnan(bar.vwap)


def test_mid_and_last_use_different_price_series():
    ticks = [
        dict(timestamp=at(1.0), price=100.0, size=1.0, bid=99.5, ask=100.5),
        dict(timestamp=at(2.0), price=101.0, size=3.0, bid=100.0, ask=101.0),
        dict(timestamp=at(3.0), price=100.25, size=0.0, bid=100.0, ask=100.25),
    ]
    last = TickAggregator(price="last")
    mid = TickAggregator(price="mid")
    feed(last, ticks)
    feed(mid, ticks)
    (b_last,) = last.flush()
    (b_mid,) = mid.flush()
    assert (b_last.open, b_last.high, b_last.low, b_last.close) == (100.0, 101.0, 100.0, 100.25)
    assert (b_mid.open, b_mid.high, b_mid.low, b_mid.close) == (100.0, 100.5, 100.0, 100.125)
    assert b_last.vwap == pytest.approx((100.0 + 303.0) / 4.0, rel=1e-15)
    assert b_mid.vwap == pytest.approx((100.0 + 3 * 100.5) / 4.0, rel=1e-15)
    assert b_last.volume == b_mid.volume == 4.0
    assert b_last.trade_count == b_mid.trade_count == 2


def test_mid_requires_bid_and_ask():
    agg = TickAggregator(price="mid")
    with pytest.raises(DataError, match=r"position 0 has no ask"):
        agg.add(at(1.0), price=100.0, bid=99.0)
    with pytest.raises(DataError, match=r"position 0 has no bid"):
        agg.add(at(1.0), price=100.0, ask=99.0)


def test_late_tick_within_the_open_bar_follows_arrival_order():
    agg = TickAggregator()
    agg.add(at(30.0), price=100.0, size=1.0)
    agg.add(at(10.0), price=101.0, size=1.0)  # older timestamp, same bar: accepted
    (bar,) = agg.flush()
    assert (bar.open, bar.close, bar.volume) == (100.0, 101.0, 2.0)
    assert agg.rejected == []


def test_bar_to_dict_and_frame_follow_the_bars_convention():
    agg = TickAggregator("GC")
    agg.add(at(1.0), price=2000.0, size=1.0)
    agg.add(at(70.0), price=2001.0, size=2.0)
    bars = agg.flush()
    assert bars[0].to_dict()["symbol"] == "GC"
    frame = bars_to_frame(bars)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "trade_count", "vwap"]
    assert frame.index.name == "timestamp"
    assert str(frame.index.dtype) == "datetime64[ns, UTC]"
    assert (frame.dtypes == np.float64).all()
    empty = bars_to_frame([])
    assert empty.shape == (0, 7) and str(empty.index.dtype) == "datetime64[ns, UTC]"


# ----------------------------------------------------------------- timestamps
def test_timestamp_types_and_zones_agree():
    instant = pd.Timestamp("2024-03-04 10:00:30", tz="UTC")
    forms = [
        instant,
        instant.tz_convert("America/New_York"),
        instant.tz_localize(None),  # naive: taken as UTC
        datetime(2024, 3, 4, 10, 0, 30, tzinfo=UTC),
        datetime(2024, 3, 4, 19, 0, 30, tzinfo=timezone(timedelta(hours=9))),
        np.datetime64("2024-03-04T10:00:30"),
        int(instant.value),  # epoch nanoseconds
        "2024-03-04T05:00:30-05:00",
    ]
    stamps = []
    for form in forms:
        agg = TickAggregator()
        agg.add(form, price=1.0)
        stamps.append(agg.flush()[0].timestamp)
    assert all(s == pd.Timestamp("2024-03-04 10:00", tz="UTC") for s in stamps)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(price=math.nan), r"position 2 has price nan"),
        (dict(price=0.0), r"position 2 has price 0.0"),
        (dict(price=-1.0), r"position 2 has price -1.0"),
        (dict(price=math.inf), r"position 2 has price inf"),
        (dict(price=None), r"position 2 has no price"),
        (dict(price=1.0, size=-1.0), r"position 2 has size -1.0"),
        (dict(price=1.0, size=math.nan), r"position 2 has size nan"),
    ],
)
def test_invalid_ticks_raise_naming_the_position(kwargs, pattern):
    agg = TickAggregator()
    agg.add(at(1.0), price=1.0, size=1.0)
    agg.add(at(2.0), price=1.0, size=1.0)
    with pytest.raises(DataError, match=pattern) as info:
        agg.add(at(3.0), **kwargs)
    assert info.value.row == 2
    assert agg.ticks_seen == 2  # nothing consumed
    assert agg.flush()[0].volume == 2.0


def test_invalid_timestamps_raise():
    agg = TickAggregator()
    with pytest.raises(DataError, match=r"position 0 has float timestamp"):
        agg.add(1.7e18, price=1.0)
    with pytest.raises(DataError, match=r"position 0 has a missing timestamp"):
        agg.add(pd.NaT, price=1.0)
    with pytest.raises(DataError, match=r"position 0 has timestamp True"):
        agg.add(True, price=1.0)
    with pytest.raises(DataError, match=r"position 0 has timestamp 'tomorrow-ish'"):
        agg.add("tomorrow-ish", price=1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(bar_seconds=0),
        dict(bar_seconds=-60),
        dict(bar_seconds=1.5),
        dict(bar_seconds=True),
        dict(price="close"),
        dict(on_out_of_order="ignore"),
    ],
)
def test_bad_configuration_raises(kwargs):
    with pytest.raises(ConfigError):
        TickAggregator(**kwargs)


# --------------------------------------------------------------- out of order
def test_out_of_order_raise_names_position_and_times():
    agg = TickAggregator()
    agg.add(at(10.0), price=100.0, size=1.0)
    agg.add(at(65.0), price=101.0, size=1.0)
    with pytest.raises(DataError) as info:
        agg.add(at(50.0), price=99.0, size=1.0)
    message = str(info.value)
    assert "position 2" in message
    assert "2024-03-04T10:00:50+00:00" in message  # the tick
    assert "2024-03-04T10:01:00+00:00" in message  # the open bar
    assert "2024-03-04T10:01:05+00:00" in message  # the previous tick
    assert info.value.rule == "out_of_order" and info.value.row == 2
    assert agg.ticks_seen == 2 and agg.rejected == []
    (bar,) = agg.flush()
    assert bar.volume == 1.0 and bar.close == 101.0


def test_out_of_order_report_keeps_tick_out_of_bars_and_records_it():
    agg = TickAggregator(on_out_of_order="report")
    agg.add(at(10.0), price=100.0, size=1.0)
    agg.add(at(65.0), price=101.0, size=1.0)
    assert agg.add(at(50.0), price=99.0, size=7.0) == []
    agg.add(at(70.0), price=102.0, size=1.0)
    (bar,) = agg.flush()
    assert bar.volume == 2.0 and bar.low == 101.0
    assert len(agg.rejected) == 1
    rejected = agg.rejected[0]
    assert isinstance(rejected, RejectedTick)
    position, stamp, price, reason = rejected
    assert (position, stamp, price) == (2, at(50.0), 99.0)
    assert "already emitted" in reason
    assert agg.ticks_seen == 4


# ----------------------------------------------------------------- vectorised
def ticks_frame(stamps, prices, sizes, bids=None, asks=None) -> pd.DataFrame:
    data = {
        "timestamp": pd.to_datetime(np.asarray(stamps, dtype=np.int64), unit="ns", utc=True),
        "price": prices,
        "size": sizes,
    }
    if bids is not None:
        data["bid"] = bids
        data["ask"] = asks
    return pd.DataFrame(data)


def one_by_one(agg: TickAggregator, frame: pd.DataFrame) -> list[Bar]:
    bars: list[Bar] = []
    has_quotes = "bid" in frame.columns
    for row in frame.itertuples(index=False):
        bars.extend(
            agg.add(
                row.timestamp,
                price=row.price,
                size=row.size,
                bid=row.bid if has_quotes else None,
                ask=row.ask if has_quotes else None,
            )
        )
    return bars


def test_add_many_matches_add_on_a_small_stream():
    stamps = [at(s).value for s in (0.0, 30.0, 59.999, 60.0, 61.0, 200.0, 200.5)]
    frame = ticks_frame(stamps, [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 6.5], [1.0, 0.0, 2.0, 1.0, 1.0, 0.5, 0.25])
    a = TickAggregator()
    b = TickAggregator()
    expected = bars_to_frame(one_by_one(a, frame))
    got = b.add_many(frame)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.index) == [T0, T0 + pd.Timedelta(minutes=1)]
    assert a.flush() == b.flush()
    assert a.ticks_seen == b.ticks_seen == 7


def test_add_many_accepts_index_arrays_and_mappings():
    stamps = np.array([at(s).value for s in (1.0, 2.0, 61.0)], dtype=np.int64)
    by_index = TickAggregator().add_many(
        pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)))
    )
    by_ints = TickAggregator().add_many({"timestamp": stamps, "price": [1.0, 2.0, 3.0]})
    naive = TickAggregator().add_many({"timestamp": stamps.astype("datetime64[ns]"), "price": [1.0, 2.0, 3.0]})
    pd.testing.assert_frame_equal(by_index, by_ints, check_exact=True)
    pd.testing.assert_frame_equal(naive, by_ints, check_exact=True)
    assert by_ints["volume"].tolist() == [0.0]
    assert math.isnan(by_ints["vwap"].iloc[0])


def test_add_many_empty_batch():
    agg = TickAggregator()
    out = agg.add_many({"timestamp": np.array([], dtype=np.int64), "price": np.array([])})
    assert out.empty and out.index.name == "timestamp"
    assert agg.ticks_seen == 0


def test_add_many_is_atomic_and_names_the_first_bad_tick():
    stamps = [at(s).value for s in (1.0, 2.0, 61.0, 62.0)]
    frame = ticks_frame(stamps, [1.0, 2.0, -3.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    agg = TickAggregator()
    agg.add(at(0.5), price=1.0, size=1.0)
    with pytest.raises(DataError) as batch_error:
        agg.add_many(frame)
    assert agg.ticks_seen == 1 and agg.current.volume == 1.0
    scalar = TickAggregator()
    scalar.add(at(0.5), price=1.0, size=1.0)
    with pytest.raises(DataError) as scalar_error:
        one_by_one(scalar, frame)
    assert str(batch_error.value) == str(scalar_error.value)
    assert "position 3" in str(batch_error.value)


def test_add_many_out_of_order_raise_matches_add():
    stamps = [at(s).value for s in (1.0, 61.0, 30.0, 62.0)]
    frame = ticks_frame(stamps, [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    batch = TickAggregator()
    with pytest.raises(DataError) as batch_error:
        batch.add_many(frame)
    assert batch.ticks_seen == 0 and batch.current is None
    with pytest.raises(DataError) as scalar_error:
        one_by_one(TickAggregator(), frame)
    assert str(batch_error.value) == str(scalar_error.value)
    assert batch_error.value.row == 2


def test_add_many_mid_missing_quotes_column():
    agg = TickAggregator(price="mid")
    with pytest.raises(DataError, match="no 'bid' column"):
        agg.add_many({"timestamp": np.array([1, 2]), "price": [1.0, 2.0]})
    with pytest.raises(DataError, match="different lengths"):
        agg.add_many({"timestamp": np.array([1, 2]), "bid": [1.0], "ask": [2.0, 3.0]})
    with pytest.raises(DataError, match="dtype float64"):
        agg.add_many({"timestamp": np.array([1.0, 2.0]), "bid": [1.0, 1.0], "ask": [2.0, 3.0]})


# ---------------------------------------------------------------- properties
START_NS = T0.value


@st.composite
def tick_streams(draw, sorted_times: bool = True, quotes: bool = False):
    n = draw(st.integers(min_value=0, max_value=60))
    steps = draw(
        st.lists(
            st.one_of(
                st.integers(min_value=0, max_value=2 * NS),
                st.integers(min_value=0, max_value=400 * NS),
                st.sampled_from([0, 1, NS, 60 * NS - 1, 60 * NS]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    if sorted_times:
        stamps = START_NS + np.cumsum(np.asarray(steps, dtype=np.int64))
    else:
        stamps = START_NS + np.asarray(steps, dtype=np.int64) * 3
    price = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
    size = st.one_of(
        st.just(0.0),
        st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=100).map(float),
    )
    prices = draw(st.lists(price, min_size=n, max_size=n))
    sizes = draw(st.lists(size, min_size=n, max_size=n))
    if not quotes:
        return ticks_frame(stamps, prices, sizes)
    spreads = draw(st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=n, max_size=n))
    bids = list(prices)
    asks = [p + s for p, s in zip(prices, spreads)]
    return ticks_frame(stamps, prices, sizes, bids, asks)


def split_points(draw_data, n):
    return sorted(draw_data.draw(st.lists(st.integers(min_value=0, max_value=n), max_size=4)))


@settings(max_examples=100, deadline=None)
@given(stream=tick_streams(), bar_seconds=st.sampled_from([1, 60, 300]), data=st.data())
def test_vectorised_equals_one_by_one_for_any_batching(stream, bar_seconds, data):
    reference = TickAggregator("X", bar_seconds=bar_seconds)
    expected = one_by_one(reference, stream) + reference.flush()
    batched = TickAggregator("X", bar_seconds=bar_seconds)
    cuts = [0, *split_points(data, len(stream)), len(stream)]
    frames = [batched.add_many(stream.iloc[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    frames.append(bars_to_frame(batched.flush()))
    got = pd.concat(frames)
    pd.testing.assert_frame_equal(got, bars_to_frame(expected), check_exact=True)


@settings(max_examples=100, deadline=None)
@given(stream=tick_streams(), bar_seconds=st.sampled_from([1, 60, 300]))
def test_bar_invariants_on_sorted_streams(stream, bar_seconds):
    agg = TickAggregator(bar_seconds=bar_seconds)
    frame = pd.concat([agg.add_many(stream), bars_to_frame(agg.flush())])
    sizes = stream["size"].to_numpy()
    assert math.isclose(math.fsum(frame["volume"]), math.fsum(sizes), rel_tol=1e-12, abs_tol=1e-12)
    assert frame["trade_count"].sum() == (sizes > 0).sum()
    assert agg.rejected == []
    assert (frame["high"] >= np.maximum(frame["open"], frame["close"])).all()
    assert (np.minimum(frame["open"], frame["close"]) >= frame["low"]).all()
    starts = frame.index.asi8
    assert (np.diff(starts) > 0).all()
    assert (starts % (bar_seconds * NS) == 0).all()
    traded = frame["volume"] > 0
    assert frame["vwap"][~traded].isna().all()
    assert ((frame["vwap"][traded] >= frame["low"][traded]) & (frame["vwap"][traded] <= frame["high"][traded])).all()


@settings(max_examples=60, deadline=None)
@given(stream=tick_streams(), bar_seconds=st.sampled_from([1, 60]))
def test_bars_match_an_independent_pandas_groupby(stream, bar_seconds):
    agg = TickAggregator(bar_seconds=bar_seconds)
    got = pd.concat([agg.add_many(stream), bars_to_frame(agg.flush())])
    ticks = stream.set_index("timestamp")
    grouped = ticks.groupby(ticks.index.floor(f"{bar_seconds}s"))
    expected = pd.DataFrame(
        {
            "open": grouped["price"].first(),
            "high": grouped["price"].max(),
            "low": grouped["price"].min(),
            "close": grouped["price"].last(),
            "volume": grouped["size"].sum(),
            "trade_count": grouped["size"].apply(lambda s: float((s > 0).sum())),
        }
    )
    expected.index = pd.DatetimeIndex(expected.index).as_unit("ns").rename("timestamp")
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_exact=False, rtol=1e-12, check_freq=False)


@settings(max_examples=60, deadline=None)
@given(stream=tick_streams(quotes=True))
def test_mid_vectorised_equals_one_by_one(stream):
    a = TickAggregator(price="mid")
    b = TickAggregator(price="mid")
    expected = bars_to_frame(one_by_one(a, stream) + a.flush())
    got = pd.concat([b.add_many(stream), bars_to_frame(b.flush())])
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(stream=tick_streams(sorted_times=False), data=st.data())
def test_unsorted_streams_under_report_policy(stream, data):
    reference = TickAggregator(on_out_of_order="report")
    expected = one_by_one(reference, stream) + reference.flush()
    batched = TickAggregator(on_out_of_order="report")
    cuts = [0, *split_points(data, len(stream)), len(stream)]
    frames = [batched.add_many(stream.iloc[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    got = pd.concat([*frames, bars_to_frame(batched.flush())])
    pd.testing.assert_frame_equal(got, bars_to_frame(expected), check_exact=True)
    assert batched.rejected == reference.rejected
    # Nothing disappears: every tick is in a bar or in the rejected list.
    rejected = {r.position for r in reference.rejected}
    accepted = np.array([i not in rejected for i in range(len(stream))], dtype=bool)
    sizes = stream["size"].to_numpy()
    assert math.isclose(math.fsum(got["volume"]), math.fsum(sizes[accepted]), rel_tol=1e-12, abs_tol=1e-12)
    assert got["trade_count"].sum() == (sizes[accepted] > 0).sum()
    assert (np.diff(got.index.asi8) > 0).all()
    for r in reference.rejected:
        assert r.timestamp == stream["timestamp"].iloc[r.position]
        assert r.price == stream["price"].iloc[r.position]
