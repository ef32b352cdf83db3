"""Tests for volresearch.formatting and volresearch.data.tick_size: prices at the instrument's precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volresearch.config import load_instruments
from volresearch.data.tick_size import TICK_CANDIDATES, infer_tick_size, on_grid_share
from volresearch.formatting import (
    PriceFormat,
    format_price,
    format_spread,
    instrument_tick,
    magnitude_decimals,
    price_decimals,
    resolve_tick,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "eurlike_1min.csv"
USDJPY = Path(__file__).resolve().parents[2] / "shared" / "data" / "USDJPY_1min_2013-02.csv"


def _walk(tick: float, start: float, n: int, max_ticks: int, seed: int) -> np.ndarray:
    """A random walk on a ``tick`` grid, written and read back as text like a vendor file."""
    rng = np.random.default_rng(seed)
    units = np.round(start / tick) + np.cumsum(rng.integers(-max_ticks, max_ticks + 1, n))
    decimals = price_decimals(tick)
    return np.array([float(f"{u * tick:.{decimals}f}") for u in units])


# ----------------------------------------------------------------------------- tick inference
@pytest.mark.parametrize(
    ("tick", "start"),
    [(0.25, 4_812.0), (0.00005, 1.0842), (0.001, 93.2), (0.1, 2_050.0), (1 / 32, 110.0), (0.01, 43_000.0)],
)
def test_infer_tick_size_recovers_the_grid(tick: float, start: float) -> None:
    prices = _walk(tick, start, 3_000, 6, seed=int(tick * 1e6) % 1000)
    assert infer_tick_size(prices) == pytest.approx(tick)


def test_infer_tick_size_is_robust_to_a_few_off_grid_prints() -> None:
    prices = _walk(0.00005, 1.0842, 3_000, 6, seed=1)
    bad = prices.copy()
    bad[::200] += 0.0000123  # 15 of 3,000 prints off the grid (0.5 %)
    assert infer_tick_size(bad) == pytest.approx(0.00005)
    # Too many off-grid prints: the grid is no longer the data's.
    bad[::10] += 0.0000123
    assert infer_tick_size(bad) != pytest.approx(0.00005)


def test_infer_tick_size_pools_the_ohlc_columns_of_bars() -> None:
    bars = pd.read_csv(FIXTURE, index_col=0)
    assert infer_tick_size(bars) == pytest.approx(0.00005)
    assert on_grid_share(bars, 0.00005) == 1.0
    assert on_grid_share(bars, 0.0001) < 0.9


@pytest.mark.skipif(not USDJPY.exists(), reason="shared USD/JPY data not present")
def test_infer_tick_size_of_real_usdjpy_bars() -> None:
    assert infer_tick_size(pd.read_csv(USDJPY)) == pytest.approx(0.001)


@pytest.mark.parametrize(
    "prices",
    [
        np.random.default_rng(0).lognormal(0, 0.1, 3_000) * 100,  # continuous prices
        np.round(np.random.default_rng(1).lognormal(0, 0.1, 3_000) * 450, 6),  # six-decimal adjusted closes
        (_walk(0.00005, 1.0842, 3_000, 6, 2) + _walk(0.00005, 1.0843, 3_000, 6, 3)) / 2 * 1.0001,  # rescaled mids
        np.full(50, 1.085),  # one price: nothing to tell a grid from
    ],
    ids=["random", "adjusted", "rescaled-mid", "constant"],
)
def test_infer_tick_size_returns_none_without_a_grid(prices: np.ndarray) -> None:
    assert infer_tick_size(prices) is None


def test_tick_candidates_are_largest_first_and_include_exchange_ticks() -> None:
    assert list(TICK_CANDIDATES) == sorted(TICK_CANDIDATES, reverse=True)
    for tick in (0.25, 0.00005, 0.001, 0.1, 0.005, 1 / 64, 1 / 256, 0.0000001):
        assert any(abs(c - tick) < 1e-15 for c in TICK_CANDIDATES), tick


# ----------------------------------------------------------------------------- decimals and text
@pytest.mark.parametrize(
    ("tick", "decimals"),
    [(0.25, 2), (0.00005, 5), (0.001, 3), (0.1, 1), (1.0, 0), (5.0, 0), (1 / 64, 6), (0.0000001, 7)],
)
def test_price_decimals_from_the_tick(tick: float, decimals: int) -> None:
    assert price_decimals(tick) == decimals
    # Every multiple of the tick is written exactly, and neighbours differ.
    for k in (1, 7, 12_345):
        text = format_price(k * tick, tick, thousands=False)
        assert float(text) == pytest.approx(k * tick, abs=tick * 1e-6)
        assert text != format_price((k + 1) * tick, tick, thousands=False)


def test_price_decimals_rejects_a_bad_tick() -> None:
    with pytest.raises(ValueError, match="tick size must be a finite positive number"):
        price_decimals(0.0)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (1.0842351, "1.08424"),
        (93.2156, "93.2156"),
        (4_812.25, "4,812.25"),
        (43_123.5, "43,123.50"),
        (0.000123456, "0.000123456"),
    ],
)
def test_format_price_without_a_tick_keeps_six_significant_digits(price: float, expected: str) -> None:
    assert format_price(price) == expected
    assert magnitude_decimals(price) >= 2


def test_format_price_explicit_decimals_and_non_finite() -> None:
    assert format_price(1.08235, decimals=3) == "1.082"
    assert format_price(float("nan"), 0.25) == "n/a"


def test_format_spread_never_prints_a_small_std_as_zero() -> None:
    assert format_spread(0.000412, 0.01) == "0.000412"
    assert format_spread(0.000412, 0.00005) == "0.000412"
    assert format_spread(12.3456, 0.25) == "12.35"
    assert format_spread(0.0, 0.25) == "0.00"
    assert float(format_spread(3.7e-7, 0.00005)) == pytest.approx(3.7e-7, rel=1e-2)


# ----------------------------------------------------------------------------- which tick
def test_instrument_table_wins_over_inference() -> None:
    table = load_instruments()
    assert instrument_tick("ES") == table["ES"].tick_size
    assert instrument_tick("es-syn") == table["ES"].tick_size
    assert instrument_tick("USDJPY_1MIN_2013-02") == table["USDJPY"].tick_size
    on_quarter = _walk(0.25, 4_800, 500, 4, 4)
    # A known symbol answers from the table even when the data's grid is coarser.
    tick, source = resolve_tick("USDJPY", on_quarter)
    assert tick == table["USDJPY"].tick_size and source == "instrument table (USDJPY)"


def test_unknown_symbol_falls_back_to_the_price_grid_then_to_none() -> None:
    prices = _walk(0.00005, 1.0842, 1_000, 5, 5)
    assert resolve_tick("MYPAIR", prices) == (pytest.approx(0.00005), "price grid of the data")
    assert resolve_tick("MYPAIR", np.random.default_rng(6).lognormal(0, 0.1, 500)) == (None, "unknown")
    assert instrument_tick() is None


def test_price_format_for_an_instrument() -> None:
    bars = pd.read_csv(FIXTURE, index_col=0)
    fmt = PriceFormat.for_instrument("EURLIKE", bars)
    assert (fmt.tick, fmt.decimals) == (pytest.approx(0.00005), 5)
    assert fmt.price(1.0850) == "1.08500" and fmt.spread(0.00012345) == "0.000123"
    assert "tick 0.00005" in fmt.describe()
    unknown = PriceFormat.for_instrument("NOGRID", np.random.default_rng(7).lognormal(0, 0.01, 500) * 1.08)
    assert unknown.tick is None and unknown.decimals == 5 and "unknown" in unknown.describe()
