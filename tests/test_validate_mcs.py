"""Model Confidence Set over walk-forward losses and the ``volresearch compare`` command."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from volresearch.cli import main
from volresearch.errors import ConfigError
from volresearch.validate.mcs import compare_table, model_confidence_set


def _fake(loss: np.ndarray, horizon: int = 1, step: int = 1) -> SimpleNamespace:
    f = pd.DataFrame({"origin_pos": np.arange(loss.size), "qlike": loss, "crps": loss, "log_score": -loss,
                      "method": "garch"})  # fmt: skip
    metrics = {"qlike": loss.mean(), "log_score": -loss.mean(), "crps": loss.mean(), "coverage_95": 0.95,
               "pit_ad_pvalue": 0.5, "n_fallback_windows": 0}  # fmt: skip
    return SimpleNamespace(forecasts=f, config={"horizon": horizon, "step": step}, metrics=lambda: metrics)


def test_the_mcs_drops_a_clearly_worse_model_and_keeps_equals():
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 1.0, 1500)
    results = {
        "a": _fake(base),
        "b": _fake(base + 0.6 + 0.2 * rng.standard_normal(1500)),  # worse on every forecast, by a lot
        "c": _fake(base + 0.05 * rng.standard_normal(1500)),  # the same up to noise
    }
    mcs = model_confidence_set(results, size=0.10, reps=500, seed=1)
    assert set(mcs.included) == {"a", "c"} and mcs.pvalues["b"] < 0.10
    assert mcs.settings["block_size"] == int(np.ceil(1500 ** (1 / 3)))
    table = compare_table(results, mcs)
    assert list(table.index) == ["a", "b", "c"] and bool(table.loc["b", "in_mcs"]) is False
    assert np.isnan(table.loc["a", "dm_pvalue_vs_baseline"]) and table.loc["b", "dm_pvalue_vs_baseline"] < 1e-6
    # overlapping targets lengthen the blocks
    long = {k: _fake(v.forecasts["qlike"].to_numpy(), horizon=20, step=1) for k, v in results.items()}
    assert model_confidence_set(long, reps=100).settings["block_size"] == 20
    with pytest.raises(ConfigError, match="at least two models"):
        model_confidence_set({"a": results["a"]})
    with pytest.raises(ConfigError, match="other origins"):
        shifted = _fake(base)
        shifted.forecasts["origin_pos"] += 1
        model_confidence_set({"a": results["a"], "s": shifted})


def test_compare_cli_prints_one_row_per_model(capsys, tmp_path):
    from volresearch.data import open_bars

    csv = tmp_path / "spx.csv"
    open_bars("sp500").iloc[-700:].reset_index().to_csv(csv, index=False)
    args = ["compare", str(csv), "--models", "garch-normal,gjr-t", "--in-sample", "400", "--out-of-sample", "100",
            "--step", "10", "--paths", "200", "--mcs-reps", "200", "--json", "--quiet"]  # fmt: skip
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in out["rows"]] == ["garch-normal", "gjr-t"]
    for key in ("qlike", "log_score", "crps", "coverage_95", "pit_ad_pvalue", "dm_pvalue_vs_baseline", "in_mcs"):
        assert key in out["rows"][1], key
    assert out["rows"][0]["dm_pvalue_vs_baseline"] is None and 0 <= out["rows"][1]["dm_pvalue_vs_baseline"] <= 1
    assert out["mcs"]["settings"]["loss"] == "qlike" and out["mcs"]["included"]
    assert out["config"]["baseline"] == "garch-normal" and out["config"]["n_forecasts"] == 30
    assert main(["compare", str(csv), "--models", "garch-normal"]) == 2
    assert "at least two different" in capsys.readouterr().err
