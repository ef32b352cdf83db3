"""The ``volresearch data`` command: list and validate, output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from volresearch.cli import main
from volresearch.data import synthetic_bars

INDA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "INDA_1min.csv"
REPORT_KEYS = {
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
    "passed",
}


@pytest.fixture()
def good_csv(tmp_path) -> Path:
    path = tmp_path / "good.csv"
    synthetic_bars("ES", days=1, seed=0).to_csv(path, float_format="%.17g")
    return path


def test_list_text_and_json(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "sp500" in out and "synthetic" in out
    assert main(["data", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"]: r["real"] for r in rows}["nasdaq"] is True
    assert {r["name"]: r["real"] for r in rows}["es_synthetic"] is False


def test_validate_passing_file_json(capsys, good_csv):
    assert main(["data", "validate", str(good_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert REPORT_KEYS <= set(report)
    assert report["passed"] is True and report["n_rows"] == 1380
    assert report["calendar"]["name"] == "cme_globex" and report["calendar"]["inferred"] is True
    assert "20:00 and 04:00" in report["calendar"]["reason"]


def test_validate_text_summary_and_given_calendar(capsys, good_csv):
    assert main(["data", "validate", str(good_csv), "--calendar", "cme_globex"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "calendar cme_globex (given" in out


def test_strict_failure_exits_1_with_rows_on_stderr_and_json_still_printed(capsys, tmp_path):
    bars = synthetic_bars("ES", days=1, seed=0)
    bars.iloc[[5, 9], bars.columns.get_loc("high")] = 1.0
    path = tmp_path / "bad.csv"
    bars.to_csv(path, float_format="%.17g")
    assert main(["data", "validate", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["passed"] is False
    ohlc = [i for i in report["issues"] if i["rule"] == "ohlc"][0]
    assert ohlc["rows"] == [5, 9] and ohlc["severity"] == "error"
    assert "ohlc" in captured.err and "rows 5, 9" in captured.err and "bad.csv" in captured.err


def test_repair_policy_fixes_order_and_exits_0(capsys, tmp_path):
    bars = synthetic_bars("ES", days=1, seed=0)
    shuffled = pd.concat([bars.iloc[100:], bars.iloc[:100]])
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, float_format="%.17g")
    assert main(["data", "validate", str(path)]) == 1
    capsys.readouterr()
    assert main(["data", "validate", str(path), "--policy", "repair", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["repairs"][0]["action"] == "sort" and len(report["repairs"][0]["rows"]) > 0


def test_unusable_input_exits_2(capsys, tmp_path):
    assert main(["data", "validate", "no_such_dataset"]) == 2
    assert "neither an embedded dataset" in capsys.readouterr().err
    garbled = tmp_path / "garbled.csv"
    garbled.write_text("timestamp,open,high,low,close\nnot-a-time,1,1,1,1\n")
    assert main(["data", "validate", str(garbled)]) == 2
    assert "CSV line 2" in capsys.readouterr().err
    assert main(["data"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["data", "validate", str(garbled), "--calendar", "moon"])
    assert info.value.code == 2


def test_embedded_dataset_by_name(capsys):
    assert main(["data", "validate", "sp500", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["calendar"]["name"] == "us_equity_daily" and report["missing_bar_pct"] == 0.0


@pytest.mark.skipif(not INDA.exists(), reason="shared INDA data not present")
def test_inda_json_shows_gaps_and_flat_bars(capsys):
    assert main(["data", "validate", str(INDA), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert REPORT_KEYS <= set(report)
    assert report["flat_bar_pct"] == pytest.approx(15.3, abs=0.1)
    assert report["gaps"]["count"] > 1000 and report["gaps"]["largest_bars"] > 1000
    assert report["calendar"]["name"] == "us_equity_extended"


def test_validate_label_end_is_reported(capsys, good_csv):
    code = main(["data", "validate", str(good_csv), "--label", "end", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any("stamped at their end" in n for n in report["notes"])
    first = pd.read_csv(good_csv).iloc[0, 0]
    assert pd.Timestamp(report["start"]) < pd.Timestamp(first)  # moved back one bar length
    code = main(["data", "validate", str(good_csv), "--json"])
    plain = json.loads(capsys.readouterr().out)
    assert not any("stamped" in n for n in plain["notes"]) and pd.Timestamp(plain["start"]) == pd.Timestamp(first)
