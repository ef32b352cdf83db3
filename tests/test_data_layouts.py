"""Vendor layouts: time columns by name and by content, split date + time, headerless files, overrides."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from volresearch.data import load_bars, validate_bars
from volresearch.data.layouts import content_is_time, day_first, looks_like_data, time_role
from volresearch.errors import DataError

STAMPS = pd.date_range("2024-01-02 14:30", periods=5, freq="1min", tz="UTC", name="timestamp").as_unit("ns")
PRICES = np.array(
    [
        [100.0, 101.5, 99.5, 101.0, 10.0],
        [101.0, 102.5, 100.5, 102.0, 20.0],
        [102.0, 103.5, 101.5, 103.0, 30.0],
        [103.0, 104.0, 102.0, 103.5, 40.0],
        [103.5, 104.5, 103.0, 104.0, 50.0],
    ]
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _rows(stamps: list[str], sep: str = ",") -> list[str]:
    return [sep.join([s, *(f"{v:g}" for v in p)]) for s, p in zip(stamps, PRICES, strict=True)]


def _check(bars: pd.DataFrame, stamps: pd.DatetimeIndex = STAMPS) -> None:
    assert bars.index.equals(stamps)
    np.testing.assert_array_equal(bars[["open", "high", "low", "close"]].to_numpy(), PRICES[:, :4])


# ------------------------------------------------------------ acceptance
def test_timestamp_utc_column_loads_and_validates(tmp_path):
    """A ``timestamp_utc`` column was refused with 'no time column among ...'."""
    lines = ["timestamp_utc,open,high,low,close,volume", *_rows([str(t.tz_localize(None)) for t in STAMPS])]
    bars = load_bars(_write(tmp_path / "a.csv", "\n".join(lines) + "\n"))
    _check(bars)
    report = validate_bars(bars, calendar="us_equity_rth")
    assert report.passed and report.notes == ()


def test_metatrader_export_loads_and_validates(tmp_path):
    lines = ["<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>"]
    lines += [f"EURUSD,1,{t:%Y%m%d},{t:%H%M%S}," + ",".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    bars = load_bars(_write(tmp_path / "mt.csv", "\n".join(lines) + "\n"))
    _check(bars)
    assert bars["volume"].tolist() == PRICES[:, 4].tolist()
    assert validate_bars(bars).passed


def test_metatrader_dotted_dates_and_hh_mm(tmp_path):
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>"]
    lines += [f"{t:%Y.%m.%d}\t{t:%H:%M}\t" + "\t".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    _check(load_bars(_write(tmp_path / "mt.txt", "\n".join(lines) + "\n")))


def test_headerless_binance_kline_loads_with_a_note_and_validates(tmp_path):
    ms = STAMPS.asi8 // 10**6
    lines = [
        f"{t},{o:g},{h:g},{lo:g},{c:g},{v:g},{t + 59_999},{v * c:g},{7 + i},1.0,2.0,0"
        for i, (t, (o, h, lo, c, v)) in enumerate(zip(ms, PRICES, strict=True))
    ]
    bars = load_bars(_write(tmp_path / "BTCUSDT-1m-2024-01-02.csv", "\n".join(lines) + "\n"))
    _check(bars)
    assert bars["trade_count"].tolist() == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert "no header row" in bars.attrs["load_notes"][0] and "Binance kline" in bars.attrs["load_notes"][0]
    report = validate_bars(bars, calendar="crypto_24x7")
    assert report.passed
    assert any("Binance kline" in n for n in report.notes)
    assert "note: no header row" in report.summary()
    assert report.to_dict()["notes"] == list(report.notes)
    assert type(report).from_dict(report.to_dict()).notes == report.notes


def test_headerless_time_first_file_with_extra_columns(tmp_path):
    lines = [f"{t:%Y-%m-%d %H:%M:%S}," + ",".join(f"{v:g}" for v in p) + ",x,9" for t, p in zip(STAMPS, PRICES)]
    bars = load_bars(_write(tmp_path / "plain.csv", "\n".join(lines) + "\n"))
    _check(bars)
    assert "time first" in bars.attrs["load_notes"][0] and "2 further column(s) ignored" in bars.attrs["load_notes"][0]


def test_ninjatrader_semicolon_without_header(tmp_path):
    lines = [f"{t:%Y%m%d %H%M%S};" + ";".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    bars = load_bars(_write(tmp_path / "ES 03-24.Last.txt", "\n".join(lines) + "\n"))
    _check(bars)
    assert bars["volume"].tolist() == PRICES[:, 4].tolist()


def test_dukascopy_gmt_time_is_day_first(tmp_path):
    """02.01.2024 is 2 January; read month-first it became 1 February."""
    lines = ["Gmt time,Open,High,Low,Close,Volume", *_rows([f"{t:%d.%m.%Y %H:%M:%S}.000" for t in STAMPS])]
    _check(load_bars(_write(tmp_path / "EURUSD_Candlestick_1_M_BID.csv", "\n".join(lines) + "\n")))


def test_split_headerless_date_and_time(tmp_path):
    lines = [f"{t:%Y%m%d},{t:%H%M%S}," + ",".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    bars = load_bars(_write(tmp_path / "finam.txt", "\n".join(lines) + "\n"))
    _check(bars)
    assert "date, time of day" in bars.attrs["load_notes"][0]


def test_time_column_found_by_content_is_noted():
    frame = pd.DataFrame(PRICES, columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "bar", STAMPS.asi8 // 10**6)
    bars = load_bars(frame)
    _check(bars)
    assert "recognised by its values" in bars.attrs["load_notes"][0]
    assert validate_bars(bars).notes == tuple(bars.attrs["load_notes"])


def test_bar_start_beats_close_time_and_datetime_beats_a_date_pair():
    frame = pd.DataFrame(PRICES, columns=["o", "h", "l", "c", "v"])
    frame.insert(0, "close_time", STAMPS + pd.Timedelta(seconds=59))
    frame.insert(1, "open_time", STAMPS)
    _check(load_bars(frame))
    frame = pd.DataFrame(PRICES, columns=["open", "high", "low", "close", "volume"])
    frame["Date"] = "2023-01-01"
    frame["Time"] = "00:00"
    frame["Datetime"] = STAMPS.tz_localize(None).astype(str)
    _check(load_bars(frame))


# ------------------------------------------------------------- overrides
def test_time_column_and_date_format_override_detection(tmp_path):
    lines = ["when,stamp,open,high,low,close,volume"]
    lines += [f"x,{t:%d/%m/%Y %H.%M}," + ",".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    path = _write(tmp_path / "odd.csv", "\n".join(lines) + "\n")
    _check(load_bars(path, time_column="STAMP", date_format="%d/%m/%Y %H.%M"))
    with pytest.raises(DataError, match="time column 'nope' not found") as info:
        load_bars(path, time_column="nope")
    assert info.value.rule == "schema"
    with pytest.raises(DataError, match=r"in format '%Y'.*CSV line 2") as info:
        load_bars(path, time_column="stamp", date_format="%Y")
    assert info.value.column == "stamp" and info.value.row == [0, 1, 2, 3, 4]


def test_date_format_epoch_units_and_split_pairs():
    frame = pd.DataFrame(PRICES, columns=["open", "high", "low", "close", "volume"])
    frame.insert(0, "t0", STAMPS.asi8 // 10**3)  # microseconds, which magnitude alone would also find
    _check(load_bars(frame, time_column="t0", date_format="epoch_us"))
    frame["t0"] = frame["t0"].astype(str)
    frame.loc[2, "t0"] = "soon"
    with pytest.raises(DataError, match="'soon' as a epoch_us number") as info:
        load_bars(frame, time_column="t0", date_format="epoch_us")
    assert info.value.row == 2
    pair = pd.DataFrame(PRICES, columns=["open", "high", "low", "close", "volume"])
    pair.insert(0, "d", [f"{t:%d-%m-%Y}" for t in STAMPS])
    pair.insert(1, "hm", [f"{t:%H:%M}" for t in STAMPS])
    _check(load_bars(pair, time_column="d+hm", date_format="%d-%m-%Y"))
    _check(load_bars(pair, time_column="d+hm", date_format="%d-%m-%Y %H:%M"))
    with pytest.raises(DataError, match="names 3 columns"):
        load_bars(pair, time_column="d+hm+open")


def test_headerless_file_in_an_unknown_layout_is_refused(tmp_path):
    path = _write(tmp_path / "n.csv", "1.5,2.5,3.5\n1.5,2.5,3.5\n")
    with pytest.raises(DataError, match="no header row") as info:
        load_bars(path)
    assert info.value.rule == "schema"
    with pytest.raises(DataError, match="no header row"):
        load_bars(_write(tmp_path / "m.csv", "1,2,3,4,5,6\n1,2,3,4,5,6\n"))


def test_no_time_column_message_mentions_the_override():
    with pytest.raises(DataError, match="time_column"):
        load_bars(pd.DataFrame(PRICES, columns=["open", "high", "low", "close", "volume"]))


# -------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    "name,role",
    [
        ("timestamp_utc", "timestamp"),
        ("time_ms", "timestamp"),
        ("Datetime (UTC)", "timestamp"),
        ("open_time", "timestamp"),
        ("openTime", "timestamp"),
        ("ts_event", "timestamp"),
        ("Gmt time", "timestamp"),
        ("TimeStamp", "timestamp"),
        ("<DATE>", "date"),
        ("Date (UTC)", "date"),
        ("<TIME>", "time"),
        ("t", "timestamp"),
    ],
)
def test_time_role_of_vendor_names(name, role):
    assert time_role(name)[0] == role


@pytest.mark.parametrize("name", ["open", "close", "time_in_force", "volume", "datetimes_seen", "tick", ""])
def test_names_that_are_not_time_columns(name):
    assert time_role(name) is None


def test_content_and_cell_helpers():
    assert content_is_time(pd.Series(STAMPS.asi8 // 10**9))
    assert content_is_time(pd.Series(["2024-01-02 14:30", "2024-01-02 14:31"]))
    assert content_is_time(pd.Series(STAMPS))
    assert not content_is_time(pd.Series([100.5, 101.0]))
    assert not content_is_time(pd.Series([5, 6]))
    assert not content_is_time(pd.Series([True, False]))
    assert not content_is_time(pd.Series([None, None], dtype=object))
    assert looks_like_data("1704205800000") and looks_like_data(" 2024.01.02 ") and looks_like_data("09:30")
    assert looks_like_data("") and not looks_like_data("Open")
    assert day_first(pd.Series(["13.01.2024", "14.01.2024"])) is True
    assert day_first(pd.Series(["01/13/2024", "01/14/2024"])) is False
    assert day_first(pd.Series(["01/02/2024", "01/03/2024"])) is False  # ambiguous: '/' is month first
    assert day_first(pd.Series(["31.12.2023", "01.01.2024"])) is True
    assert day_first(pd.Series(["2024-01-02"])) is None


# ---------------------------------------------------------- properties
_TIME_WORD = st.sampled_from(["timestamp", "datetime", "time", "ts", "date_time"])
_AFFIX = st.sampled_from(["", "utc", "gmt", "ms", "s", "open", "bar", "event", "local"])
_SEP = st.sampled_from([",", ";", "\t", "|"])
_UNIT = st.sampled_from(["s", "ms", "us", "ns", "iso", "iso_z", "compact"])


def _case(text: str, pattern: list[bool]) -> str:
    return "".join(c.upper() if up else c for c, up in zip(text, pattern * (len(text) // max(len(pattern), 1) + 1)))


def _render(stamps: pd.DatetimeIndex, unit: str) -> list[str]:
    if unit in ("s", "ms", "us", "ns"):
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
        return [str(v // scale) for v in stamps.asi8]
    if unit == "iso":
        return [f"{t:%Y-%m-%d %H:%M:%S}" for t in stamps]
    if unit == "iso_z":
        return [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in stamps]
    return [f"{t:%Y%m%d%H%M%S}" for t in stamps]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    word=_TIME_WORD,
    prefix=_AFFIX,
    suffix=_AFFIX,
    joiner=st.sampled_from(["_", " ", "-", ""]),
    casing=st.lists(st.booleans(), min_size=1, max_size=5),
    sep=_SEP,
    unit=_UNIT,
    header=st.booleans(),
    start=st.integers(1_000_000_000, 4_000_000_000),
    step=st.sampled_from([1, 60, 300, 3600]),
)
def test_generated_single_column_layouts_load(
    tmp_path, word, prefix, suffix, joiner, casing, sep, unit, header, start, step
):
    stamps = pd.DatetimeIndex(pd.to_datetime(start + step * np.arange(5), unit="s", utc=True), name="timestamp")
    stamps = stamps.as_unit("ns")
    name = joiner.join(p for p in (prefix, word, suffix) if p) if joiner else f"{prefix}{word}{suffix}"
    name = _case(name, casing)
    lines = [sep.join([name, "Open", "High", "Low", "Close", "Volume"])] if header else []
    lines += _rows(_render(stamps, unit), sep)
    path = _write(tmp_path / f"gen_{abs(hash((name, sep, unit, header, start, step)))}.csv", "\n".join(lines) + "\n")
    bars = load_bars(path)
    _check(bars, stamps)
    assert ("load_notes" in bars.attrs) == (not header)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    date_fmt=st.sampled_from(["%Y%m%d", "%Y.%m.%d", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"]),
    time_fmt=st.sampled_from(["%H%M%S", "%H:%M", "%H:%M:%S"]),
    names=st.sampled_from([("<DATE>", "<TIME>"), ("Date", "Time"), ("DATE", "TIME"), ("date", "time")]),
    sep=_SEP,
    header=st.booleans(),
    day=st.integers(0, 3000),
)
def test_generated_split_date_time_layouts_load(tmp_path, date_fmt, time_fmt, names, sep, header, day):
    stamps = pd.date_range(pd.Timestamp("2016-01-01 09:00") + pd.Timedelta(days=day), periods=5, freq="1min")
    stamps = pd.DatetimeIndex(stamps.tz_localize("UTC"), name="timestamp").as_unit("ns")
    lines = [sep.join([*names, "Open", "High", "Low", "Close", "Volume"])] if header else []
    lines += [
        sep.join([f"{t:{date_fmt}}", f"{t:{time_fmt}}", *(f"{v:g}" for v in p)])
        for t, p in zip(stamps, PRICES, strict=True)
    ]
    path = tmp_path / f"split_{abs(hash((date_fmt, time_fmt, names, sep, header, day)))}.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    _check(load_bars(path), stamps)


def test_headerless_file_with_a_leading_symbol_column(tmp_path):
    lines = [f"EURUSD,{t:%Y.%m.%d %H:%M}," + ",".join(f"{v:g}" for v in p) for t, p in zip(STAMPS, PRICES)]
    bars = load_bars(_write(tmp_path / "sym.csv", "\n".join(lines) + "\n"))
    _check(bars)
    assert "time in column 2" in bars.attrs["load_notes"][0]


def test_zip_single_line_and_float_compact_dates(tmp_path):
    import zipfile

    text = "Timestamp_UTC;Open;High;Low;Close\n2024-01-02 14:30:00;100;101.5;99.5;101\n"
    path = tmp_path / "one.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one.csv", text)
    assert load_bars(path).index.equals(STAMPS[:1])
    one_line = _write(tmp_path / "one_line.csv", "2024-01-02 14:30:00,100,101.5,99.5,101,10\n")
    assert load_bars(one_line).index.equals(STAMPS[:1])
    frame = pd.DataFrame({"day": [20240102.0, 20240103.0], "close": [1.0, 2.0]})
    bars = load_bars(frame, date_format="%Y%m%d")
    assert list(bars.index) == [pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-03", tz="UTC")]


def test_unknown_zone_and_bad_format_name_the_column():
    frame = pd.DataFrame({"timestamp_local": ["2024-01-02 09:30"], "close": [1.0]})
    with pytest.raises(DataError, match="cannot use time zone 'Mars/Base'") as info:
        load_bars(frame, tz="Mars/Base")
    assert info.value.column == "timestamp_local"
    assert load_bars(frame, tz="America/New_York").index[0] == STAMPS[0]
