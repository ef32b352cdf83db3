"""`volresearch fit`: JSON contract, exit codes, real one-minute data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from volresearch.cli import main

INDA = Path(__file__).resolve().parents[2] / "shared" / "data" / "INDA_1min.csv"
KEYS = {
    "model",
    "dist",
    "params",
    "loglik",
    "aic",
    "bic",
    "converged",
    "persistence",
    "unconditional_vol_per_bar",
    "scale",
    "method",
    "diagnostics",
}


def run_json(capsys, *args):
    code = main(["fit", *args, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


@pytest.mark.parametrize("model,dist", [("garch", "normal"), ("gjr", "sged"), ("egarch", "skewt")])
def test_fit_embedded_dataset_json(capsys, model, dist):
    code, payload, _ = run_json(capsys, "sp500", "--model", model, "--dist", dist)
    assert code == 0 and KEYS <= set(payload)
    assert payload["method"] == "garch" and payload["converged"] is True
    assert payload["model"] == model and payload["dist"] == dist
    assert payload["requested"] == payload["answered"] == payload["name"] == f"{model}-{dist}"
    assert payload["params"]["omega"] != 0 and 0 < payload["persistence"] < 1
    assert payload["scale"] == 100 or payload["scale"] == 1000
    assert "ljung_box" in payload["diagnostics"]


def test_fit_text_output(capsys):
    assert main(["fit", "nasdaq", "--model", "gjr"]) == 0
    assert "persistence" in capsys.readouterr().out


def test_bad_data_exits_2_naming_the_row(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-02 14:30,10,11,9,10.5,100\n2024-01-02 14:31,10,11,9,-3,100\n"
    )
    code = main(["fit", str(bad), "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "row" in err and "1" in err


def test_unknown_dataset_exits_2(capsys):
    assert main(["fit", "no_such_dataset_or_file"]) == 2
    assert "sp500" in capsys.readouterr().err


def test_flat_data_falls_back_only_when_asked(capsys, tmp_path):
    flat = tmp_path / "flat.csv"
    rows = "\n".join(f"2024-01-02 14:{m:02d},10,10,10,10,100" for m in range(60))
    flat.write_text("timestamp,open,high,low,close,volume\n" + rows + "\n")
    code, payload, err = run_json(capsys, str(flat))
    # every close unchanged: the tick-grid law (Student-t), on raw returns for so short a sample
    assert code == 3 and payload is None and "gjr-t rejected" in err and "--fallback cascade" in err
    code, payload, err = run_json(capsys, str(flat), "--fallback", "cascade")
    assert code == 0 and payload["method"] in {"ewma", "historical"} and payload["converged"] is False
    assert payload["requested"] == "gjr-t" and payload["answered"] == payload["method"]
    assert payload["model"] == payload["answered"] and payload["reason"]
    assert "answered" in err


@pytest.mark.skipif(not INDA.exists(), reason="shared INDA data not present")
def test_real_one_minute_data_gives_a_checked_fit_or_an_explicit_fallback(capsys):
    code, payload, _ = run_json(capsys, str(INDA), "--model", "gjr", "--dist", "t", "--fallback", "cascade")
    assert code == 0 and payload["requested"] == "gjr-t"
    if payload["method"] == "garch":
        assert payload["converged"] and payload["persistence"] < 1
        assert 1e-5 < payload["unconditional_vol_per_bar"] < 1e-1
    else:
        assert payload["converged"] is False and payload["reason"]
