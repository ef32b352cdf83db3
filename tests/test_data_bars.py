"""load_bars: vendor layouts, time stamp forms, provenance, and errors that name file/row/column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volresearch.data import load_bars
from volresearch.errors import DataError

STAMPS = pd.DatetimeIndex(
    ["2024-01-02 14:30", "2024-01-02 14:31", "2024-01-02 14:32"], tz="UTC", name="timestamp"
).as_unit("ns")
OHLCV = {
    "open": [100.0, 101.0, 102.0],
    "high": [101.5, 102.5, 103.5],
    "low": [99.5, 100.5, 101.5],
    "close": [101.0, 102.0, 103.0],
    "volume": [10.0, 20.0, 30.0],
}


def _pyarrow_works() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


needs_pyarrow = pytest.mark.skipif(not _pyarrow_works(), reason="pyarrow cannot be imported in this environment")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _assert_standard(bars: pd.DataFrame) -> None:
    assert isinstance(bars.index, pd.DatetimeIndex)
    assert str(bars.index.tz) == "UTC"
    assert bars.index.name == "timestamp"
    assert bars.index.dtype == "datetime64[ns, UTC]"
    for c in ("open", "high", "low", "close", "volume"):
        assert bars[c].dtype == np.float64


# ----------------------------------------------------------------- layouts
def test_iso_strings_naive_are_utc(tmp_path):
    path = _write(
        tmp_path / "bars.csv",
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02 14:30:00,100,101.5,99.5,101,10\n"
        "2024-01-02 14:31:00,101,102.5,100.5,102,20\n"
        "2024-01-02 14:32:00,102,103.5,101.5,103,30\n",
    )
    bars = load_bars(path)
    _assert_standard(bars)
    assert bars.index.equals(STAMPS)
    np.testing.assert_array_equal(bars["close"].to_numpy(), OHLCV["close"])


def test_iso_strings_with_mixed_offsets_are_converted():
    frame = pd.DataFrame(
        {"Datetime": ["2024-03-08 09:30:00-05:00", "2024-03-11 09:30:00-04:00"], **{k: v[:2] for k, v in OHLCV.items()}}
    )
    bars = load_bars(frame)
    assert list(bars.index) == [pd.Timestamp("2024-03-08 14:30", tz="UTC"), pd.Timestamp("2024-03-11 13:30", tz="UTC")]


def test_varying_fractional_seconds(tmp_path):
    path = _write(
        tmp_path / "f.csv",
        "timestamp,open,high,low,close,volume\n"
        "2024-01-01 00:00:00.123456789+00:00,1,1,1,1,1\n"
        "2024-01-01 00:01:00+00:00,1,1,1,1,1\n",
    )
    bars = load_bars(path)
    assert bars.index[0].value == pd.Timestamp("2024-01-01 00:00:00.123456789", tz="UTC").value


def test_date_only_and_yfinance_layout(tmp_path):
    path = _write(
        tmp_path / "spy.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,472.16,473.67,470.49,472.65,466.67,123623700\n"
        "2024-01-03,470.43,471.19,468.17,468.79,462.86,103585900\n",
    )
    bars = load_bars(path, symbol="SPY")
    _assert_standard(bars)
    assert list(bars.index) == [pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-03", tz="UTC")]
    assert bars["close"].tolist() == [472.65, 468.79]  # the traded close stays
    assert bars["adj_close"].tolist() == [466.67, 462.86]
    assert "close_from" not in bars.attrs
    assert bars.attrs["symbol"] == "SPY"


def test_only_adj_close_becomes_close_and_says_so(tmp_path):
    path = _write(
        tmp_path / "adj.csv",
        "date,open,high,low,adj_close,volume\n2024-01-02,1,2,0.5,1.5,10\n",
    )
    bars = load_bars(path)
    assert bars["close"].tolist() == [1.5]
    assert bars.attrs["close_from"] == "adj_close"


def test_close_only_fills_open_high_low_and_records_it(tmp_path):
    path = _write(tmp_path / "c.csv", "date,close\n2024-01-02,10\n2024-01-03,11\n")
    bars = load_bars(path)
    for c in ("open", "high", "low"):
        assert bars[c].tolist() == [10.0, 11.0]
    assert bars.attrs["filled_from_close"] == ["open", "high", "low"]
    assert bars.attrs["volume_missing"] is True
    assert bars["volume"].isna().all()


def test_partial_ohlc_is_refused():
    frame = pd.DataFrame({"timestamp": STAMPS, "open": OHLCV["open"], "close": OHLCV["close"]})
    with pytest.raises(DataError, match="missing price column.*high"):
        load_bars(frame)


@pytest.mark.parametrize("factor", [1, 1_000, 1_000_000, 1_000_000_000], ids=["s", "ms", "us", "ns"])
def test_epoch_numbers_by_magnitude(factor):
    seconds = STAMPS.asi8 // 10**9
    frame = pd.DataFrame(
        {
            "t": seconds * factor,
            "o": OHLCV["open"],
            "h": OHLCV["high"],
            "l": OHLCV["low"],
            "c": OHLCV["close"],
            "v": OHLCV["volume"],
        }
    )
    bars = load_bars(frame)
    assert bars.index.equals(STAMPS)


def test_epoch_milliseconds_in_csv_binance_names(tmp_path):
    ms = STAMPS.asi8 // 10**6
    lines = ["open_time,open,high,low,close,volume,number_of_trades"]
    lines += [f"{t},{o},{h},{lo},{c},{v},7" for t, o, h, lo, c, v in zip(ms, *OHLCV.values(), strict=True)]
    bars = load_bars(_write(tmp_path / "k.csv", "\n".join(lines) + "\n"))
    assert bars.index.equals(STAMPS)
    assert bars["trade_count"].tolist() == [7.0, 7.0, 7.0]


def test_epoch_before_1980_is_refused():
    frame = pd.DataFrame({"timestamp": [100, 160], "open": [1, 1], "high": [1, 1], "low": [1, 1], "close": [1, 1]})
    with pytest.raises(DataError, match="before 1980"):
        load_bars(frame)


def test_compact_dates_and_split_date_time_metatrader(tmp_path):
    path = _write(
        tmp_path / "mt.txt",
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
        "20240102\t143000\t100\t101.5\t99.5\t101\t10\n"
        "20240102\t143100\t101\t102.5\t100.5\t102\t20\n",
    )
    bars = load_bars(path)
    assert bars.index.equals(STAMPS[:2])
    assert bars["volume"].tolist() == [10.0, 20.0]


def test_split_date_and_hh_mm_strings(tmp_path):
    path = _write(
        tmp_path / "dt.csv",
        "Date,Time,Open,High,Low,Close,Volume\n2024-01-02,14:30,1,2,0.5,1.5,10\n2024-01-02,14:31:00,1,2,0.5,1.5,10\n",
    )
    assert load_bars(path).index.equals(STAMPS[:2])


def test_semicolon_delimiter_and_gzip(tmp_path):
    text = "Timestamp;OPEN;HIGH;LOW;CLOSE;VOL\n2024-01-02T14:30:00Z;100;101.5;99.5;101;10\n"
    path = tmp_path / "x.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    bars = load_bars(path)
    assert bars.index.equals(STAMPS[:1])
    assert bars["high"].tolist() == [101.5]


def test_dataframe_with_datetime_index_naive_and_aware():
    naive = pd.DataFrame(OHLCV, index=STAMPS.tz_localize(None))
    assert load_bars(naive).index.equals(STAMPS)
    aware = pd.DataFrame(OHLCV, index=STAMPS.tz_convert("Asia/Tokyo").rename("whatever"))
    assert load_bars(aware).index.equals(STAMPS)


def test_naive_local_time_with_tz_is_converted():
    frame = pd.DataFrame({"datetime": ["2024-01-02 09:30", "2024-07-01 09:30"], **{k: v[:2] for k, v in OHLCV.items()}})
    bars = load_bars(frame, tz="America/New_York")
    assert list(bars.index) == [pd.Timestamp("2024-01-02 14:30", tz="UTC"), pd.Timestamp("2024-07-01 13:30", tz="UTC")]


@pytest.mark.parametrize(
    "stamp,row",
    [("2024-03-10 02:30", 1), ("2024-11-03 01:30", 1)],
    ids=["nonexistent", "ambiguous"],
)
def test_daylight_saving_problems_name_the_row(tmp_path, stamp, row):
    path = _write(
        tmp_path / "dst.csv",
        f"datetime,open,high,low,close,volume\n2024-03-09 12:00,1,1,1,1,1\n{stamp},1,1,1,1,1\n",
    )
    with pytest.raises(DataError, match=rf"daylight-saving.*CSV line {row + 2}.*dst\.csv.*row {row}\b.*'datetime'"):
        load_bars(path, tz="America/New_York")


def test_unparseable_number_names_file_row_line_and_column(tmp_path):
    path = _write(
        tmp_path / "bad.csv",
        "timestamp,open,high,low,close,volume\n2024-01-02 14:30,1,2,0.5,1.5,10\n2024-01-02 14:31,1,2,0.5,x1.5,10\n",
    )
    with pytest.raises(DataError, match=r"'x1\.5'.*CSV line 3.*bad\.csv.*row 1\b.*'close'") as info:
        load_bars(path)
    assert info.value.row == 1 and info.value.column == "close" and info.value.rule == "parse"


def test_unparseable_and_missing_time_stamps(tmp_path):
    path = _write(tmp_path / "t.csv", "timestamp,open,high,low,close\n2024-01-02,1,1,1,1\nyesterday,1,1,1,1\n")
    with pytest.raises(DataError, match=r"'yesterday'.*CSV line 3.*row 1\b.*'timestamp'"):
        load_bars(path)
    path = _write(tmp_path / "m.csv", "timestamp,open,high,low,close\n2024-01-02,1,1,1,1\n,1,1,1,1\n")
    with pytest.raises(DataError, match=r"missing time stamp.*CSV line 3.*row 1\b"):
        load_bars(path)


def test_empty_price_cells_become_nan_for_validation(tmp_path):
    path = _write(tmp_path / "e.csv", "timestamp,open,high,low,close,volume\n2024-01-02,1,2,0.5,,3\n")
    bars = load_bars(path)
    assert np.isnan(bars["close"].iloc[0])


def test_loading_keeps_order_and_duplicates():
    index = STAMPS[[2, 0, 0, 1]]
    frame = pd.DataFrame({k: np.asarray(v)[[2, 0, 0, 1]] for k, v in OHLCV.items()}, index=index)
    bars = load_bars(frame)
    assert bars.index.equals(index)
    np.testing.assert_array_equal(bars["open"].to_numpy(), np.asarray(OHLCV["open"])[[2, 0, 0, 1]])


def test_provenance_attrs(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame(OHLCV, index=STAMPS).to_csv(path)
    bars = load_bars(path, symbol="XYZ")
    assert bars.attrs == {"source": str(path), "symbol": "XYZ", "synthetic": False}
    frame = pd.DataFrame(OHLCV, index=STAMPS)
    frame.attrs.update({"source": "synthetic:ES", "synthetic": True, "symbol": "ES-SYN"})
    again = load_bars(frame)
    assert again.attrs["synthetic"] is True and again.attrs["symbol"] == "ES-SYN"


def test_ambiguous_columns_and_exact_name_preference():
    frame = pd.DataFrame({"timestamp": STAMPS, **OHLCV, "last": [9.0, 9.0, 9.0]})
    assert load_bars(frame)["close"].tolist() == OHLCV["close"]  # 'close' beats the alias 'last'
    clash = pd.DataFrame({"timestamp": STAMPS, **OHLCV, "Volume": [1.0, 1.0, 1.0]})
    with pytest.raises(DataError, match="all look like 'volume'"):
        load_bars(clash)


def test_structural_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_bars(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="cannot tell the format") as info:
        load_bars(_write(tmp_path / "x.json", "{}"))
    assert info.value.rule == "format"
    with pytest.raises(DataError, match="no time column"):
        load_bars(pd.DataFrame(OHLCV))
    with pytest.raises(DataError, match="no close column"):
        load_bars(pd.DataFrame({"timestamp": STAMPS, "foo": [1, 2, 3]}))


@needs_pyarrow
def test_parquet_round_trip_keeps_values_and_attrs(tmp_path):
    frame = pd.DataFrame(OHLCV, index=STAMPS)
    frame.attrs.update({"symbol": "ES-SYN", "synthetic": True})
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    bars = load_bars(path)
    assert bars.index.equals(STAMPS)
    pd.testing.assert_frame_equal(bars, frame, check_freq=False)
    assert bars.attrs["synthetic"] is True and bars.attrs["source"] == str(path)


# ---------------------------------------------------------- property tests
_prices = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def bar_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=30))
    seconds = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n, unique=True))
    micros = draw(st.lists(st.integers(0, 999_999), min_size=n, max_size=n))
    stamps = pd.to_datetime(np.array(seconds) * 10**9 + 946_684_800 * 10**9 + np.array(micros) * 1000, utc=True)
    values = {c: draw(st.lists(_prices, min_size=n, max_size=n)) for c in ("open", "high", "low", "close")}
    values["volume"] = draw(st.lists(st.floats(0, 1e9, allow_nan=False), min_size=n, max_size=n))
    return pd.DataFrame(values, index=pd.DatetimeIndex(stamps, name="timestamp").as_unit("ns"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=bar_frames())
def test_csv_round_trip_is_exact(tmp_path, frame):
    path = tmp_path / "rt.csv"
    frame.to_csv(path, float_format="%.17g")
    bars = load_bars(path)
    assert bars.index.equals(frame.index)
    for c in frame.columns:
        np.testing.assert_array_equal(bars[c].to_numpy(), frame[c].to_numpy())


@needs_pyarrow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=bar_frames())
def test_parquet_round_trip_is_exact(tmp_path, frame):
    path = tmp_path / "rt.parquet"
    frame.to_parquet(path)
    bars = load_bars(path)
    assert bars.index.equals(frame.index)
    for c in frame.columns:
        np.testing.assert_array_equal(bars[c].to_numpy(), frame[c].to_numpy())


# ---------------------------------------------------- end-stamped bars
class TestBarLabel:
    @staticmethod
    def _frame(start: str, n: int = 30, freq: str = "min") -> pd.DataFrame:
        idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
        close = 100 + np.arange(n, dtype=float)
        return pd.DataFrame({"timestamp": idx, "open": close, "high": close + 1, "low": close - 1, "close": close,
                             "volume": 1.0})  # fmt: skip

    def test_end_label_moves_stamps_back_one_bar(self, tmp_path):
        from volresearch.data import validate_bars
        from volresearch.data.loading import load_bars

        path = tmp_path / "end.csv"
        self._frame("2024-03-04 14:31").to_csv(path, index=False)
        start = load_bars(path)
        end = load_bars(path, label="end")
        assert "bar_label" not in start.attrs and end.attrs["bar_label"] == "end"
        assert (start.index - end.index == pd.Timedelta(minutes=1)).all()
        assert end.index[0] == pd.Timestamp("2024-03-04 14:30", tz="UTC")
        np.testing.assert_array_equal(start["close"].to_numpy(), end["close"].to_numpy())
        report = validate_bars(end, policy="repair")
        assert any("stamped at their end" in n and "60 s" in n for n in report.notes)
        assert "stamped at their end" in report.summary()
        assert not any("stamped" in n for n in validate_bars(start, policy="repair").notes)

    def test_daily_bars_keep_their_dates_and_bad_labels_fail(self):
        from volresearch.data.loading import load_bars, relabel_bars
        from volresearch.errors import DataError

        daily = load_bars(self._frame("2024-03-04", n=10, freq="D"), label="end")
        assert daily.index[0] == pd.Timestamp("2024-03-04", tz="UTC")
        assert any("keep their dates" in n for n in daily.attrs["load_notes"])
        with pytest.raises(DataError, match="label must be"):
            load_bars(self._frame("2024-03-04"), label="middle")  # type: ignore[arg-type]
        one = load_bars(self._frame("2024-03-04", n=1))
        with pytest.raises(DataError, match="bar length"):
            relabel_bars(one, "end")
        shifted = relabel_bars(load_bars(self._frame("2024-03-04 10:05", n=5)), "end", bar_length="5min")
        assert shifted.index[0] == pd.Timestamp("2024-03-04 10:00", tz="UTC")
