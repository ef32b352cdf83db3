"""Command line through the model registry: any name, the intraday default, requested vs answered, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_models_intraday import synthetic_intraday

from volresearch.cli import main
from volresearch.cli.fit import EXIT_REJECTED


def json_out(capsys):
    out = capsys.readouterr()
    return json.loads(out.out) if out.out.strip() else None, out.err


@pytest.fixture(scope="module")
def minute_csv(tmp_path_factory):
    """Eight days of 24/7 one-minute bars with a known diurnal pattern (a weekend included)."""
    bars = synthetic_intraday(8, seed=6)[0]
    path = tmp_path_factory.mktemp("bars") / "minute.csv"
    bars.to_csv(path, float_format="%.8f")
    return path


def test_intraday_bars_default_to_the_multiplicative_model(capsys, minute_csv):
    assert main(["fit", str(minute_csv), "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["requested"] == payload["answered"] == payload["name"] == "intraday-gjr-sged"
    assert payload["kernel"] == "intraday-gjr" and payload["method"] == "intraday"
    assert payload["model"] == "gjr" and payload["dist"] == "sged" and payload["mean"] == "zero"
    assert 0 < payload["persistence"] < 1 and payload["calendar"] == "crypto_24x7"
    assert payload["daily"]["method"] == "ewma" and "session days" in payload["daily"]["reason"]
    assert payload["diurnal"]["max"] > 1 > payload["diurnal"]["min"]


def test_daily_bars_keep_gjr_sged_and_family_flags_still_work(capsys):
    assert main(["fit", "sp500", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["requested"] == payload["answered"] == "gjr-sged" and payload["dist"] == "sged"
    assert main(["fit", "sp500", "--model", "egarch", "--dist", "t", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["requested"] == "egarch-t" and payload["model"] == "egarch" and payload["dist"] == "t"
    assert main(["fit", "sp500", "--model", "garch-ged", "--json"]) == 0
    assert json_out(capsys)[0]["answered"] == "garch-ged"


def test_any_registry_name_and_unknown_names(capsys, minute_csv):
    assert main(["fit", str(minute_csv), "--model", "intraday-egarch-normal", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["answered"] == "intraday-egarch-normal" and payload["kernel"] == "intraday-egarch"
    assert main(["fit", "sp500", "--model", "figarch-xyz"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'figarch-xyz'" in err and "intraday-gjr-sged" in err and "heston" in err
    assert main(["fit", "--list-models"]) == 0
    out = capsys.readouterr().out
    assert "gjr-sged" in out and "intraday-gjr-sged" in out and "multiplicative" in out


def test_rejected_model_exit_code_and_explicit_cascade(capsys, tmp_path):
    rng = np.random.default_rng(1)
    index = pd.date_range("2024-01-02 14:30", periods=400, freq="1min", tz="UTC")
    close = 100 * np.exp(np.cumsum(rng.standard_normal(400) * 1e-4))
    pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index).rename_axis(
        "timestamp"
    ).to_csv(tmp_path / "short.csv")
    path = str(tmp_path / "short.csv")
    # the default for so short a sample (one session) is the GARCH family on raw returns
    assert main(["fit", path, "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["name"] == "gjr-sged"
    intraday = ["--model", "intraday-gjr-sged"]
    assert main(["fit", path, *intraday, "--json"]) == EXIT_REJECTED == 3
    payload, err = json_out(capsys)
    assert payload is None and "intraday-gjr-sged rejected" in err and "diurnal" in err
    assert main(["fit", path, *intraday, "--json", "--fallback", "cascade"]) == 0
    payload, err = json_out(capsys)
    assert payload["requested"] == "intraday-gjr-sged" and payload["answered"] in {"garch-normal", "ewma", "historical"}
    assert payload["converged"] is False and "diurnal" in payload["reason"] and "answered" in err
    assert main(["simulate", path, *intraday, "--paths", "200", "--horizon", "20", "--json"]) == 3
    capsys.readouterr()
    assert (
        main(["simulate", path, *intraday, "--paths", "200", "--horizon", "20", "--json", "--fallback", "cascade"]) == 0
    )
    payload, _ = json_out(capsys)
    assert payload["requested"] == "intraday-gjr-sged" and payload["answered"] in {"gjr-t", "garch-normal"}
    assert "diurnal" in payload["reason"]


def test_simulate_intraday_default_follows_the_clock_and_saved_fits_reload(capsys, minute_csv, tmp_path):
    args = ["--paths", "500", "--horizon", "240", "--seed", "3", "--json"]
    assert main(["simulate", str(minute_csv), *args]) == 0
    direct, _ = json_out(capsys)
    assert direct["answered"] == "intraday-gjr-sged" and direct["kernel"] == "intraday-gjr"
    last = pd.Timestamp(direct["last_time"])
    assert pd.Timestamp(direct["horizon_times"]["60"]) == last + pd.Timedelta(minutes=60)
    saved = tmp_path / "intraday.json"
    assert main(["fit", str(minute_csv), "--save", str(saved)]) == 0
    capsys.readouterr()
    assert json.loads(saved.read_text())["kind"] == "volresearch.IntradayFit"
    assert main(["simulate", "--fit", str(saved), *args]) == 0
    reloaded, _ = json_out(capsys)
    assert reloaded["horizons"] == direct["horizons"]
