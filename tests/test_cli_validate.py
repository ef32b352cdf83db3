"""Tests of ``volresearch validate``: the JSON contract, short-data defaults, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from volresearch.cli import main
from volresearch.data import datasets

INDA = Path("/work/shared/data/INDA_1min.csv")

REQUIRED = {
    "model", "dist", "mean", "horizon", "step", "n_paths", "refit_every", "in_sample", "out_of_sample", "seed",
    "pit_ad_pvalue", "coverage_95", "kupiec_pvalue_95", "christoffersen_pvalue_95", "crps", "crps_naive",
    "crps_improvement", "n_forecasts", "efficiency", "stylized_facts", "n_windows", "criteria", "data",
}  # fmt: skip


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
    assert set(d["criteria"]) >= {"pit_ad_p_gt_0.10", "coverage_95_in_94_96", "efficiency_gt_0.5"}
    assert d["data"]["n_bars"] == 900


def test_text_output(daily_csv, capsys):
    code = main(["validate", str(daily_csv), "--dist", "normal", "--paths", "100", "--in-sample", "500",
                 "--out-of-sample", "400"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Walk-forward gjr-normal" in out and "stylized facts" in out and "efficiency" in out


def test_short_intraday_data_work_with_defaults(tmp_path, capsys):
    path = tmp_path / "es3d.csv"
    datasets.load("es_synthetic", days=3, seed=2).to_csv(path)
    code, d = run_json([str(path), "--dist", "normal", "--paths", "100", "--step", "15"], capsys)
    assert code == 0
    n = d["n_returns"]
    assert d["in_sample"] == f"{n // 4} bars" and d["out_of_sample"] == f"{-(-(n - n // 4) // 9)} bars"
    assert d["n_windows"] == 9
    assert d["mean"] == "zero"  # intraday bars get a zero mean by default


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


@pytest.mark.parametrize("option", [["--horizon", "0"], ["--paths", "-5"], ["--model", "heston"]])
def test_bad_options_exit_2(daily_csv, option):
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(daily_csv), *option])
    assert exc.value.code == 2


@pytest.mark.slow
@pytest.mark.skipif(not INDA.exists(), reason="real 1-minute data not present")
def test_real_one_minute_data_with_defaults(capsys):
    code, d = run_json([str(INDA)], capsys)
    assert code == 0
    assert d["n_forecasts"] > 10_000 and d["n_windows"] >= 3
    assert d["mean"] == "zero"
    assert REQUIRED <= set(d)
