"""validate_bars: every rule failing and passing, strict vs repair, the report and its JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volresearch.data import QualityReport, load_bars, validate_bars
from volresearch.data.bars import ERROR_RULES, WARNING_RULES
from volresearch.errors import ConfigError, DataError

INDA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "INDA_1min.csv"


def clean_bars(n: int = 60, *, seed: int = 0, start: str = "2024-01-03 00:00") -> pd.DataFrame:
    """Valid 1-minute crypto bars (every minute present) with a seeded random walk."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(1e-4, 1e-3, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(1e-4, 1e-3, n))
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="timestamp", unit="ns")
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": rng.integers(1, 100, n).astype(float)},
        index=index,
    )
    bars.attrs["source"] = "clean.csv"
    return bars


def rules(report: QualityReport) -> set[str]:
    return {i.rule for i in report.issues}


def test_clean_bars_pass_with_no_issue():
    report = validate_bars(clean_bars(), calendar="crypto_24x7")
    assert report.passed
    assert report.issues == ()
    assert report.missing_bar_pct == 0.0 and report.expected_bars == 60
    assert report.bars is not None and report.bars.equals(clean_bars())


def test_rule_tables_are_disjoint_and_complete():
    assert set(ERROR_RULES).isdisjoint(WARNING_RULES)
    assert {"nonfinite", "nonpositive", "ohlc", "duplicate", "non_monotonic"} <= set(ERROR_RULES)
    assert {"zero_volume", "flat", "price_gap", "timestamp_gap", "exact_duplicate"} <= set(WARNING_RULES)


# ------------------------------------------------------------- error rules
def _set(bars: pd.DataFrame, row: int, column: str, value: float) -> pd.DataFrame:
    out = bars.copy()
    out.iloc[row, out.columns.get_loc(column)] = value
    out.attrs = dict(bars.attrs)
    return out


@pytest.mark.parametrize(
    "column,value,rule,pattern",
    [
        ("close", np.nan, "nonfinite", r"nonfinite: close is NaN or infinite.*clean\.csv.*row 7\b.*'close'"),
        ("high", np.inf, "nonfinite", r"nonfinite: high is NaN.*row 7\b.*'high'"),
        ("low", -1.0, "nonpositive", r"nonpositive: low is zero or negative.*row 7\b.*'low'"),
        ("open", 0.0, "nonpositive", r"nonpositive: open.*row 7\b.*'open'"),
        ("volume", -5.0, "negative_volume", r"negative_volume.*row 7\b.*'volume'"),
        ("high", 50.0, "ohlc", r"ohlc: high below open, close or low.*row 7\b.*'high'"),
        ("low", "high", "ohlc", r"ohlc: low above open, close or high.*row 7\b.*'low'"),
    ],
)
def test_value_errors_raise_in_strict_naming_file_row_column(column, value, rule, pattern):
    bars = clean_bars()
    if value == "high":  # low raised to the high: above min(open, close), not above high
        value = float(bars["high"].iloc[7])
    bad = _set(bars, 7, column, value)
    with pytest.raises(DataError, match=pattern) as info:
        validate_bars(bad)
    assert info.value.rule == rule and info.value.row == 7 and info.value.file == "clean.csv"
    report = validate_bars(bad, "repair")  # repair flags, does not change values
    assert not report.passed and report.issue(rule).rows == (7,)
    kept = report.bars.iloc[7][column]
    assert kept == bad.iloc[7][column] or (np.isnan(kept) and np.isnan(bad.iloc[7][column]))


def test_conflicting_duplicates_are_errors_exact_ones_warnings():
    bars = clean_bars(10)
    conflicting = pd.concat([bars, bars.iloc[[3]].assign(volume=bars["volume"].iloc[3] + 1)])
    conflicting.attrs = dict(bars.attrs)
    with pytest.raises(DataError, match=r"duplicate: .*rows 3, 10.*'timestamp'"):
        validate_bars(conflicting)
    exact = pd.concat([bars, bars.iloc[[3]]])
    exact.attrs = dict(bars.attrs)
    report = validate_bars(exact)  # strict does not raise on warnings
    assert report.passed
    assert report.issue("exact_duplicate").rows == (10,) and report.issue("duplicate") is None
    assert report.duplicates == {"exact": 1, "conflicting": 0}
    assert report.issue("non_monotonic") is None  # a repeat is a duplicate, not a row out of order


def test_non_monotonic_is_an_error_in_strict():
    bars = clean_bars(10)
    swapped = bars.iloc[[0, 1, 2, 4, 3, 5, 6, 7, 8, 9]]
    swapped.attrs = dict(bars.attrs)
    with pytest.raises(DataError, match=r"non_monotonic: .*row 4\b"):
        validate_bars(swapped)
    assert "non_monotonic" not in rules(validate_bars(bars))


# ----------------------------------------------------------- warning rules
def test_zero_volume_and_flat_bars_are_flagged_not_raised():
    bars = _set(clean_bars(), 5, "volume", 0.0)
    price = bars["close"].iloc[9]
    for c in ("open", "high", "low", "close"):
        bars = _set(bars, 9, c, price)
    bars = _set(bars, 10, "open", price)
    report = validate_bars(bars)
    assert report.passed
    assert report.issue("zero_volume").rows == (5,) and report.zero_volume_bars == 1
    assert report.issue("flat").rows == (9,) and report.flat_bar_pct == pytest.approx(100 / 60)
    assert not {"zero_volume", "flat"} & rules(validate_bars(clean_bars()))


def test_price_gap_close_to_close_and_open_gap():
    bars = clean_bars()
    jumped = bars.copy()
    jumped.iloc[20:] *= 1.08  # 20: open and close jump from the previous close
    jumped["volume"] = bars["volume"]
    report = validate_bars(jumped)
    assert report.issue("price_gap").rows == (20,)
    gapped = _set(_set(bars, 30, "open", bars["close"].iloc[29] * 1.07), 30, "high", bars["close"].iloc[29] * 1.08)
    assert validate_bars(gapped).issue("price_gap").rows == (30,)
    assert validate_bars(jumped, gap_threshold=0.1).issue("price_gap") is None


def test_timestamp_gaps_are_counted_against_known_truth():
    bars = clean_bars(200)
    holed = bars.drop(bars.index[list(range(100, 105)) + [150]])
    holed.attrs = dict(bars.attrs)
    report = validate_bars(holed, calendar="crypto_24x7")
    assert report.passed
    assert report.expected_bars == 200
    assert report.gaps == {
        "count": 2,
        "missing_bars": 6,
        "largest_bars": 5,
        "largest_start": bars.index[100].isoformat(),
    }
    assert report.missing_bar_pct == pytest.approx(3.0)
    gap = report.issue("timestamp_gap")
    assert gap.count == 2 and gap.rows == (100, 145)  # input positions of the bars after each gap


def test_off_session_bars_are_flagged():
    bars = clean_bars(30, start="2024-01-02 14:30")  # 09:30 ET on a Tuesday
    report = validate_bars(bars, calendar="us_equity_rth")
    assert "off_session" not in rules(report)
    late = clean_bars(30, start="2024-01-02 20:50")  # 15:50-16:19 ET: the last 20 bars are after the close
    report = validate_bars(late, calendar="us_equity_rth")
    assert report.off_session_bars == 20 and report.issue("off_session").rows == tuple(range(10, 30))


# ------------------------------------------------------------ repair policy
def test_repair_sorts_drops_exact_duplicates_and_lists_every_row():
    bars = clean_bars(20)
    messy = pd.concat([bars.iloc[10:], bars.iloc[:10], bars.iloc[[2, 15]]])
    messy.attrs = dict(bars.attrs)
    with pytest.raises(DataError, match="non_monotonic"):
        validate_bars(messy)
    report = validate_bars(messy, "repair")
    assert report.passed
    pd.testing.assert_frame_equal(report.bars, bars, check_freq=False)
    assert report.bars.attrs == bars.attrs
    actions = {r.action: r.rows for r in report.repairs}
    assert actions["drop_exact_duplicates"] == (20, 21)
    assert len(report.bars) + len(actions["drop_exact_duplicates"]) == len(messy)
    assert report.issue("non_monotonic").repaired and report.issue("exact_duplicate").repaired
    moved = set(actions["sort"])
    for position, row in enumerate(messy.index[:20]):
        if bars.index.get_loc(row) != position:
            assert position in moved


def test_repair_flags_but_keeps_unprovable_problems():
    bars = _set(clean_bars(10), 4, "close", np.nan)
    report = validate_bars(bars, "repair")
    assert not report.passed and report.repairs == ()
    assert len(report.bars) == 10 and np.isnan(report.bars["close"].iloc[4])


@settings(max_examples=40, deadline=None)
@given(perm_seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), dups=st.integers(0, 5))
def test_shuffled_input_is_reported_and_repaired_with_every_row_accounted(perm_seed, n, dups):
    rng = np.random.default_rng(perm_seed)
    bars = clean_bars(n, seed=perm_seed % 1000)
    extra = rng.integers(0, n, dups)
    order = rng.permutation(np.concatenate([np.arange(n), extra]))
    messy = bars.iloc[order]
    report = validate_bars(messy, "repair")
    firsts = messy.index[~messy.index.duplicated(keep="first")]  # the repeats here are exact copies
    unsorted = bool(np.any(np.diff(firsts.asi8) < 0))
    assert (report.issue("non_monotonic") is not None) == unsorted
    assert report.bars.index.is_monotonic_increasing and report.bars.index.is_unique
    dropped = dict((r.action, r.rows) for r in report.repairs).get("drop_exact_duplicates", ())
    assert len(report.bars) + len(dropped) == len(messy)
    assert len(dropped) == dups
    moved = set(dict((r.action, r.rows) for r in report.repairs).get("sort", ()))
    kept = [p for p in range(len(messy)) if p not in set(dropped)]
    ranked = sorted(kept, key=lambda p: messy.index[p])
    assert moved == {p for p, q in zip(kept, ranked, strict=True) if p != q}
    assert bool(moved) == unsorted


# ------------------------------------------------------------------ report
def test_report_round_trips_through_json():
    bars = clean_bars(100)
    holed = pd.concat([bars.drop(bars.index[40:45]), bars.iloc[[3]]])
    holed = _set(holed, 7, "volume", 0.0)
    report = validate_bars(holed, "repair", file="holed.csv")
    text = json.dumps(report.to_dict(), allow_nan=False)
    again = QualityReport.from_dict(json.loads(text))
    assert again == report
    assert again.bars is None and again.passed == report.passed
    keys = {
        "n_rows",
        "start",
        "end",
        "calendar",
        "missing_bar_pct",
        "flat_bar_pct",
        "zero_volume_bars",
        "duplicates",
        "gaps",
        "issues",
        "repairs",
        "passed",
        "bar_seconds",
        "expected_bars",
    }
    assert keys <= set(report.to_dict())
    assert set(report.to_dict()["issues"][0]) >= {"rule", "severity", "count", "rows", "column"}


def test_issue_rows_are_capped_at_twenty_but_counted_in_full():
    bars = clean_bars(100)
    bars["volume"] = 0.0
    issue = validate_bars(bars).issue("zero_volume")
    assert issue.count == 100 and issue.rows == tuple(range(20))


def test_summary_mentions_calendar_reason_and_issues():
    bars = _set(clean_bars(), 3, "volume", 0.0)
    text = validate_bars(bars).summary()
    assert "calendar us_equity_extended (inferred: bar spacing" in text and "zero_volume" in text and "PASSED" in text
    assert "<pre>" in validate_bars(bars)._repr_html_()


def test_bad_arguments():
    with pytest.raises(DataError, match="policy"):
        validate_bars(clean_bars(), "lenient")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="gap_threshold"):
        validate_bars(clean_bars(), gap_threshold=0)
    with pytest.raises(ConfigError, match="unknown trading calendar"):
        validate_bars(clean_bars(), calendar="moon")
    with pytest.raises(DataError, match="DatetimeIndex"):
        validate_bars(clean_bars().reset_index())
    with pytest.raises(DataError, match="lack column"):
        validate_bars(clean_bars().drop(columns="volume"))
    holed = clean_bars(3)
    holed.index = pd.DatetimeIndex([holed.index[0], pd.NaT, holed.index[2]], name="timestamp")
    with pytest.raises(DataError, match=r"missing \(NaT\).*row 1\b"):
        validate_bars(holed)


def test_single_row_and_empty_frames():
    one = validate_bars(clean_bars(1))
    assert one.passed and one.calendar is None and one.bar_seconds is None
    empty = validate_bars(clean_bars(1).iloc[:0])
    assert empty.n_rows == 0 and empty.start is None and empty.passed


@pytest.mark.skipif(not INDA.exists(), reason="shared INDA data not present")
def test_inda_file_shows_real_gaps_and_flat_bars():
    report = validate_bars(load_bars(INDA, symbol="INDA"))
    assert report.passed
    assert report.n_rows == 66269
    assert report.calendar == "us_equity_extended" and report.calendar_inferred
    assert report.bar_seconds == 60
    assert report.flat_bar_pct == pytest.approx(15.3, abs=0.1)
    assert report.off_session_bars == 0
    assert report.gaps["count"] > 1000 and report.missing_bar_pct > 50
    assert report.issue("flat").count == 10143
