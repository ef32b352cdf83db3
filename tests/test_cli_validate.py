"""Tests of ``volresearch validate``: the JSON contract, short-data defaults, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from volresearch.cli import main
from volresearch.data import datasets

INDA = Path(__file__).resolve().parents[2] / "shared" / "data" / "INDA_1min.csv"

REQUIRED = {
    "model", "dist", "mean", "horizon", "step", "n_paths", "refit_every", "in_sample", "out_of_sample", "seed",
    "pit_ad_pvalue", "coverage_95", "kupiec_pvalue_95", "christoffersen_pvalue_95", "crps", "crps_naive",
    "crps_improvement", "n_forecasts", "efficiency", "stylized_facts", "n_windows", "criteria", "data", "verdict",
    "passed", "instrument", "asset_class",
}  # fmt: skip
COUNTED = ["pit_uniform", "coverage_95", "christoffersen_independence_95", "dm_crps_vs_naive"]


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("validate") / "spx.csv"
    datasets.load("sp500").iloc[-900:].to_csv(path)
    return path


def run_json(args: list[str], capsys) -> tuple[int, dict]:
    code = main(["validate", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_contract(daily_csv, capsys):
    code, d = run_json(
        [str(daily_csv), "--model", "gjr", "--dist", "t", "--horizon", "1", "--step", "1", "--paths", "200",
         "--in-sample", "400", "--out-of-sample", "250", "--seed", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert REQUIRED <= set(d)
    assert (d["model"], d["dist"], d["mean"], d["horizon"], d["step"], d["n_paths"], d["seed"]) == (
        "gjr", "t", "constant", 1, 1, 200, 3,
    )  # fmt: skip
    assert d["in_sample"] == "400 bars" and d["out_of_sample"] == "250 bars"
    assert d["n_windows"] == 2 and d["n_forecasts"] == 899 - 400
    assert 0.0 <= d["pit_ad_pvalue"] <= 1.0 and 0.5 < d["coverage_95"] <= 1.0
    assert d["crps_improvement"] == pytest.approx(1 - d["crps"] / d["crps_naive"], rel=1e-9)
    facts = d["stylized_facts"]
    assert facts and all(isinstance(v, bool) for v in facts.values())
    assert {"excess_kurtosis", "arch_lm_lag10", "hill_left"} <= set(facts)
    crit = {c["name"]: c for c in d["criteria"]}
    assert [c["name"] for c in d["criteria"] if not c["informational"]] == COUNTED  # daily bars: no bucket line
    assert crit["crps_improvement_ge_10pct"]["informational"] is True
    assert crit["crps_improvement_ge_10pct"]["value"] == pytest.approx(d["crps_improvement"])
    assert crit["pit_uniform"]["value"] == pytest.approx(d["pit_ad_pvalue"])
    assert crit["pit_uniform"]["passed"] == (d["pit_ad_pvalue"] > 0.10)
    assert crit["christoffersen_independence_95"]["value"] == pytest.approx(d["christoffersen_pvalue_95"])
    for c in d["criteria"]:
        assert isinstance(c["threshold"], str) and c["threshold"]
    counted = [c["passed"] for c in d["criteria"] if not c["informational"] and c["passed"] is not None]
    assert d["verdict"]["passed"] == all(counted) == d["passed"]
    assert d["verdict"]["text"].startswith(d["verdict"]["label"])
    assert d["data"]["n_bars"] == 900 and d["data"]["bar_label"] == "start"


def test_text_output(daily_csv, capsys):
    code = main(["validate", str(daily_csv), "--dist", "normal", "--paths", "100", "--in-sample", "500",
                 "--out-of-sample", "400"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Walk-forward gjr-normal" in out and "stylized facts" in out and "efficiency" in out
    for name in COUNTED + ["crps_improvement_ge_10pct"]:
        assert name in out
    assert "required" in out and ("PASS:" in out or "FAIL:" in out)


def test_short_intraday_data_work_with_defaults(tmp_path, capsys):
    path = tmp_path / "es3d.csv"
    datasets.load("es_synthetic", days=3, seed=2).to_csv(path)
    code, d = run_json([str(path), "--dist", "normal", "--paths", "100", "--step", "15"], capsys)
    assert code == 0
    n = d["n_returns"]
    assert d["in_sample"] == f"{n // 4} bars" and d["out_of_sample"] == f"{-(-(n - n // 4) // 9)} bars"
    assert d["n_windows"] == 9
    assert d["mean"] == "zero"  # intraday bars get a zero mean by default
    assert "worst_bucket_coverage_95" in {c["name"] for c in d["criteria"]}
    # three days are too few sessions for the intraday model: the default family on raw returns with the law
    # asked for; windows whose fit its checks reject are answered by EWMA, each named with its reason
    assert d["model_name"] == "gjr-normal"
    assert len(d["fallbacks"]) == d["n_fallback_windows"] < d["n_windows"]
    assert {f["requested"] for f in d["fallbacks"]} <= {"gjr-normal"}
    assert {f["answered"] for f in d["fallbacks"]} <= {"ewma"} and all(f["reason"] for f in d["fallbacks"])


@pytest.fixture(scope="module")
def intraday_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("validate") / "es16d.csv"
    datasets.load("es_synthetic", days=16, seed=2).to_csv(path)
    return path


def test_registry_model_with_reference_and_buckets(intraday_csv, capsys):
    args = [str(intraday_csv), "--model", "intraday-gjr-normal", "--in-sample", "8000", "--out-of-sample", "2800",
            "--step", "60", "--horizon", "30", "--paths", "100", "--reference", "arch", "--reference-sims", "150",
            "--min-count", "10", "--calendar", "cme_globex", "--quiet"]  # fmt: skip
    code, d = run_json(args, capsys)
    assert code == 0
    assert REQUIRED <= set(d)
    assert d["model_name"] == "intraday-gjr-normal" and (d["model"], d["dist"], d["mean"]) == ("gjr", "normal", "zero")
    assert d["n_fallback_windows"] == 0 and d["fallbacks"] == []
    by_bucket = d["coverage_95_by_bucket"]
    assert by_bucket and all(0.0 <= v["coverage"] <= 1.0 for v in by_bucket.values())
    assert sum(v["n"] for v in by_bucket.values()) == d["n_forecasts"]
    counted = [abs(v["coverage"] - 0.95) for v in by_bucket.values() if v["n"] >= 10]
    assert d["worst_bucket_deviation_95"] == pytest.approx(max(counted))
    assert d["coverage_95_by_session_segment"]
    ref = d["reference"]
    assert ref["label"] == "arch gjr-skewt" and ref["n_sims"] == 150 and ref["n_forecasts"] == d["n_forecasts"]
    assert ref["crps_ratio_vs_model"] == pytest.approx(ref["crps"] / d["crps"])
    assert {"coverage_95", "coverage_50", "pit_ad_pvalue", "worst_bucket_deviation_95"} <= set(ref)
    crit = {c["name"]: c for c in d["criteria"]}
    assert crit["worst_bucket_coverage_95"]["value"] == pytest.approx(d["worst_bucket_deviation_95"])
    assert d["verdict"]["passed"] == d["passed"]
    text_code = main(["validate", *args[:-1], "--reference", "arch-diurnal"])
    out = capsys.readouterr().out
    assert text_code == 0 and "Walk-forward intraday-gjr-normal" in out and "x 30-min diurnal" in out


def test_list_models(capsys):
    assert main(["validate", "--list-models"]) == 0
    out = capsys.readouterr().out
    assert "intraday-gjr-sged" in out and "gjr-sged" in out and "egarch-t" in out


def test_json_stdout_is_pure_while_progress_goes_to_stderr(daily_csv, capsys, monkeypatch):
    from volresearch import progress

    monkeypatch.setattr(progress, "_QUIET", False)
    monkeypatch.delenv("VOLRESEARCH_QUIET", raising=False)
    args = [str(daily_csv), "--dist", "normal", "--paths", "100", "--in-sample", "400", "--out-of-sample", "250"]
    assert main(["validate", *args, "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # nothing but the JSON object on stdout
    assert "walk-forward windows" in captured.err and "elapsed" in captured.err and "remaining" in captured.err
    assert main(["validate", *args, "--json", "--quiet"]) == 0
    quiet = capsys.readouterr()
    json.loads(quiet.out)
    assert "walk-forward windows" not in quiet.err


def test_instrument_sets_the_asset_class_and_label_end_shifts(tmp_path, capsys):
    bars = datasets.load("es_synthetic", days=3, seed=2)
    shifted = bars.copy()
    shifted.index = shifted.index + (bars.index[1] - bars.index[0])  # the same bars stamped at their end
    path = tmp_path / "end.csv"
    shifted.to_csv(path)
    base = [str(path), "--dist", "normal", "--paths", "100", "--step", "15", "--quiet"]
    code, d = run_json([*base, "--instrument", "EURUSD", "--label", "end"], capsys)
    assert code == 0
    assert d["instrument"] == "EURUSD" and d["asset_class"] == "fx"
    assert d["data"]["bar_label"] == "end" and d["data"]["start"] == bars.index[0].isoformat()
    assert not any(k.startswith("leverage") for k in d["stylized_facts"])  # no leverage verdict for FX
    code, es = run_json([*base, "--instrument", "ES"], capsys)
    assert es["asset_class"] == "equity_index" and "leverage_mean" in es["stylized_facts"]
    assert es["data"]["start"] == shifted.index[0].isoformat()
    assert main(["validate", str(path), "--instrument", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err


def test_bad_data_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n"
        + "".join(f"2024-01-{d:02d},10,11,9,{'-3' if d == 5 else '10.5'},100\n" for d in range(1, 29))
    )
    assert main(["validate", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "volresearch validate: error:" in captured.err and "bad.csv" in captured.err


def test_unknown_source_and_too_few_bars_exit_2(tmp_path, capsys):
    assert main(["validate", "no_such_dataset_or_file"]) == 2
    assert "no_such_dataset_or_file" in capsys.readouterr().err
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("timestamp,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n2024-01-03,1,1.02,1,1.01,1\n")
    assert main(["validate", str(tiny)]) == 2
    assert "too few" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--horizon", "0"], ["--paths", "-5"], ["--reference", "rugarch"]])
def test_bad_options_exit_2(daily_csv, option):
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(daily_csv), *option])
    assert exc.value.code == 2


def test_unknown_model_exits_2_naming_the_registry(daily_csv, capsys):
    assert main(["validate", str(daily_csv), "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "intraday-gjr-sged" in err and "gjr-sged" in err


@pytest.mark.slow
@pytest.mark.skipif(not INDA.exists(), reason="real 1-minute data not present")
def test_real_one_minute_data_with_defaults(capsys, tmp_path):
    """The last 8,000 bars of the real ETF file with every model and window default (the whole file takes
    minutes); origins four bars apart keep the run short."""
    path = tmp_path / "inda_last_8000.csv"
    pd.read_csv(INDA).iloc[-8_000:].to_csv(path, index=False)
    code, d = run_json([str(path), "--step", "4"], capsys)
    assert code == 0
    assert d["n_forecasts"] >= 1_250 and d["n_windows"] >= 3
    assert d["mean"] == "zero"
    assert REQUIRED <= set(d)
    # a quarter of the closes unchanged: the tick-grid default, Student-t q
    assert d["model_name"] == "intraday-gjr-t"
    assert all(f["requested"] == "intraday-gjr-t" and f["answered"] == "ewma" for f in d["fallbacks"])
