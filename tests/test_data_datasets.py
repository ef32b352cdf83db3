"""Embedded datasets and the open_bars resolver."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest

from volresearch.data import datasets, open_bars, validate_bars
from volresearch.errors import DataError


def test_list_says_which_sets_are_real():
    table = datasets.list()
    assert datasets.list is datasets.list_datasets
    assert list(table.columns) == ["name", "description", "real", "frequency", "calendar", "symbol"]
    real = dict(zip(table["name"], table["real"], strict=True))
    assert real == {
        "sp500": True,
        "nasdaq": True,
        "es_synthetic": False,
        "nq_synthetic": False,
        "gc_synthetic": False,
        "si_synthetic": False,
    }
    assert builtins.list is list  # the module alias does not leak


@pytest.mark.parametrize("name,symbol,first_close", [("sp500", "^GSPC", 1228.099976), ("nasdaq", "^IXIC", 2208.050049)])
def test_real_daily_sets_load_as_labelled_valid_bars(name, symbol, first_close):
    bars = datasets.load(name)
    assert bars.attrs["synthetic"] is False
    assert bars.attrs["source"] == f"arch.data.{name}" and bars.attrs["symbol"] == symbol
    assert bars.index[0] == pd.Timestamp("1999-01-04", tz="UTC") and len(bars) == 5031
    assert bars["close"].iloc[0] == pytest.approx(first_close)
    assert "adj_close" in bars.columns
    report = validate_bars(bars)
    assert report.passed and report.calendar == "us_equity_daily"


def test_synthetic_sets_take_generator_options():
    bars = datasets.load("si_synthetic", days=2, seed=4)
    assert bars.attrs["synthetic"] is True and bars.attrs["source"] == "synthetic:SI"
    assert len(bars) == 2 * 1380
    with pytest.raises(DataError, match="does not take these options"):
        datasets.load("sp500", days=2)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(DataError, match="unknown dataset 'spx'.*sp500, nasdaq, es_synthetic"):
        datasets.load("spx")


def test_open_bars_resolves_names_paths_and_frames(tmp_path):
    assert open_bars("es_synthetic").attrs["symbol"] == "ES-SYN"
    frame = datasets.load("gc_synthetic", days=1, seed=0)
    path = tmp_path / "gc.csv"
    frame.to_csv(path, float_format="%.17g")
    from_file = open_bars(str(path))
    np.testing.assert_array_equal(from_file["close"].to_numpy(), frame["close"].to_numpy())
    assert from_file.attrs["source"] == str(path)
    assert open_bars(path).index.equals(frame.index)
    again = open_bars(frame)
    assert again.attrs["synthetic"] is True
    naive = frame.tz_localize(None)
    assert open_bars(naive, tz="UTC").index.equals(frame.index)


def test_open_bars_unknown_string_lists_datasets():
    with pytest.raises(DataError, match="neither an embedded dataset nor an existing file.*sp500") as info:
        open_bars("no_such_thing")
    assert info.value.rule == "unknown_source"


def test_open_bars_passes_the_time_overrides(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,stamp,open,high,low,close\nx,02|01|2024 14h30,1,2,0.5,1.5\nx,02|01|2024 14h31,1,2,0.5,1.5\n")
    bars = open_bars(path, time_column="stamp", date_format="%d|%m|%Y %Hh%M")
    assert bars.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")
    frame = pd.DataFrame({"k": ["02|01|2024 14h30"], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]})
    assert open_bars(frame, time_column="k", date_format="%d|%m|%Y %Hh%M").index[0].hour == 14
