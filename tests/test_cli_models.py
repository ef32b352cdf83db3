"""Command line: the mean option, zero-mean fits through simulate, source options, clean errors, rejections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import volresearch.cli._common as common
from volresearch.cli import main
from volresearch.data import load_bars
from volresearch.models.garch import Fit

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
INDA = DATA / "INDA_1min.csv"


def json_out(capsys):
    out = capsys.readouterr()
    return json.loads(out.out) if out.out.strip() else None, out.err


def minute_file(tmp_path, n=600, seed=0, name="bars.csv", header="timestamp", fmt="%Y-%m-%d %H:%M:%S"):
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    s2 = 1e-7
    for t in range(n):  # GARCH(1,1) one-minute returns, sd ~ 3e-4
        r[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = 5e-9 + 0.05 * r[t] ** 2 + 0.9 * s2
    close = 100 * np.exp(np.cumsum(r))
    times = np.datetime64("2024-03-04T14:30") + np.arange(n).astype("timedelta64[m]")
    lines = [f"{header},open,high,low,close,volume"]
    for t, c in zip(times, close, strict=True):
        stamp = t.astype("datetime64[s]").item().strftime(fmt)
        lines.append(f"{stamp},{c:.5f},{c * 1.0002:.5f},{c * 0.9998:.5f},{c:.5f},100")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_mean_auto_is_zero_for_intraday_and_constant_for_daily(capsys, tmp_path):
    path = minute_file(tmp_path)
    assert main(["fit", str(path), "--model", "garch", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["mean"] == "zero" and payload["params"]["mu"] == 0.0
    assert main(["fit", "sp500", "--model", "garch", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["mean"] == "constant"
    assert main(["fit", str(path), "--model", "garch", "--mean", "constant", "--json"]) == 0
    assert json_out(capsys)[0]["mean"] == "constant"


def test_zero_mean_fit_saves_and_simulates_through_every_surface(capsys, tmp_path):
    path = minute_file(tmp_path, seed=1)
    saved = tmp_path / "fit.json"
    assert main(["fit", str(path), "--model", "gjr", "--mean", "zero", "--save", str(saved)]) == 0
    capsys.readouterr()
    assert main(["simulate", "--fit", str(saved), "--paths", "500", "--horizon", "30", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["mean"] == "zero" and payload["mu"] == 0.0 and payload["mu_se"] is None
    assert payload["horizons"]["30"]["std"] > 0
    fit = Fit.load(str(saved))
    paths = fit.simulate(200, 10, seed=3)  # the library surface too
    assert paths is not None
    # and the default (auto) simulate of an intraday file, with its mean reported: one day of bars is too short
    # for a diurnal factor, so the default is GJR-SGED on the raw returns
    assert main(["simulate", str(path), "--paths", "500", "--horizon", "30"]) == 0
    out = capsys.readouterr()
    assert "mean: zero" in out.out and "gjr-sged" in out.out
    # the intraday model asked for by name is rejected there: exit 3 unless a fallback is asked for
    intraday = ["simulate", str(path), "--model", "intraday-gjr-sged", "--paths", "500", "--horizon", "30"]
    assert main(intraday) == 3
    assert "--fallback cascade" in capsys.readouterr().err
    assert main([*intraday, "--fallback", "cascade"]) == 0
    out = capsys.readouterr()
    assert "mean: zero" in out.out and "intraday-gjr-sged rejected" in out.err


def test_simulate_reports_the_mean_with_its_standard_error(capsys):
    assert main(["simulate", "sp500", "--model", "gjr", "--dist", "normal", "--paths", "500", "--horizon", "20"]) == 0
    out = capsys.readouterr().out
    assert "mean: mu = " in out and "(se " in out
    assert main(["simulate", "sp500", "--dist", "normal", "--paths", "500", "--horizon", "20", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["mean"] == "constant" and payload["mu_se"] > 0


def test_source_options_reach_the_loader(capsys, tmp_path, monkeypatch):
    path = minute_file(tmp_path, seed=2)
    seen = []
    real = common.open_bars

    def recording(source, **kwargs):
        seen.append(kwargs)
        return real(source, **kwargs)

    monkeypatch.setattr(common, "open_bars", recording)
    args = ["--time-column", "timestamp", "--date-format", "%Y-%m-%d %H:%M:%S", "--tz", "UTC"]
    assert main(["fit", str(path), "--model", "garch", "--json", *args]) == 0
    assert main(["data", "validate", str(path), *args]) in (0, 1)
    capsys.readouterr()
    assert seen == [{"tz": "UTC", "time_column": "timestamp", "date_format": "%Y-%m-%d %H:%M:%S"}] * 2
    # without the options the loader is called as before
    seen.clear()
    assert main(["fit", str(path), "--model", "garch", "--json"]) == 0
    assert seen == [{"tz": None}]


def test_time_column_and_date_format_read_an_unusual_file(capsys, tmp_path):
    path = minute_file(tmp_path, seed=4, header="when", fmt="%Y%m%d %H%M%S", name="odd.csv")
    args = ["--time-column", "when", "--date-format", "%Y%m%d %H%M%S"]
    assert main(["fit", str(path), "--model", "garch", "--json", *args]) == 0
    payload, _ = json_out(capsys)
    assert payload["start"].startswith("2024-03-04 14:31") and payload["mean"] == "zero"


def test_bare_value_errors_are_reported_cleanly(capsys, monkeypatch):
    import volresearch.registry as registry

    def broken(*args, **kwargs):
        raise ValueError("a value the library refused")

    monkeypatch.setattr(registry, "fit_model", broken)
    assert main(["fit", "sp500"]) == 2
    err = capsys.readouterr().err
    assert "volresearch fit: error: a value the library refused" in err


def test_rejected_fit_without_fallback_exits_3(capsys, tmp_path):
    rng = np.random.default_rng(0)
    r = rng.standard_normal(300) * 1e-3
    r[::7] *= 60
    close = 100 * np.exp(np.cumsum(r))
    rows = [
        f"2024-01-0{2 + i // 1000} {9 + (i % 1000) // 60:02d}:{i % 60:02d},{c},{c},{c},{c},1"
        for i, c in enumerate(close)
    ]
    bad = tmp_path / "wild.csv"
    bad.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    assert main(["fit", str(bad), "--model", "gjr", "--dist", "sged", "--no-fallback"]) == 3
    assert "rejected" in capsys.readouterr().err
    assert main(["fit", str(bad), "--model", "gjr", "--dist", "sged"]) == 3  # no fallback is the default
    assert "gjr-sged rejected" in capsys.readouterr().err


@pytest.mark.skipif(not INDA.is_file(), reason="real data folder ../shared/data is absent")
def test_gappy_etf_fit_is_never_an_absurd_accepted_fit(capsys):
    code = main(["fit", str(INDA), "--model", "garch", "--dist", "t", "--json", "--fallback", "cascade"])
    payload, err = json_out(capsys)
    assert code == 0
    closes = load_bars(INDA)["close"].to_numpy(dtype=float)
    sd = float(np.std(np.diff(np.log(closes))))
    if payload["method"] == "garch":
        assert 1 / 5 <= payload["unconditional_vol_per_bar"] / sd <= 5
        assert 0.5 <= payload["std_resid_variance"] <= 2.0
    else:  # rejected with its reason, and the cascade answered
        assert payload["converged"] is False and payload["rejected"] == "garch-t"
        assert "fit failed every check" in payload["reason"] and "rejected" in err
        assert payload["method"] in {"ewma", "historical"} and payload["volatility_per_bar"] > 0


def test_fit_continuous_time_models_print_annualised_named_params(capsys, tmp_path):
    assert main(["fit", "sp500", "--model", "merton", "--window", "2000", "--json"]) == 0
    payload, _ = json_out(capsys)
    assert payload["requested"] == payload["answered"] == "merton"
    assert set(payload["params"]) == {"mu", "sigma", "lambda", "mu_j", "sigma_j"}
    assert payload["units"]["lambda"] == "jumps/year" and payload["units"]["sigma"] == "1/sqrt(year)"
    assert all(payload["std_errors"][k] > 0 for k in payload["params"])
    # annualised: S&P 500 diffusive volatility between 5% and 40% a year
    assert 0.05 < payload["params"]["sigma"] < 0.40
    saved = tmp_path / "merton.json"
    assert main(["fit", "sp500", "--model", "merton", "--window", "2000", "--save", str(saved)]) == 0
    capsys.readouterr()
    assert main(["simulate", "--fit", str(saved), "--paths", "500", "--horizon", "20", "--json"]) == 0
    assert json_out(capsys)[0] is not None


def test_simulate_text_prints_prices_at_the_data_tick(capsys):
    fixture = Path(__file__).resolve().parent / "fixtures" / "eurlike_1min.csv"
    args = ["simulate", str(fixture), "--model", "gjr-t", "--paths", "300", "--horizon", "60", "--seed", "1"]
    code = main([*args, "--fallback", "cascade"])
    assert code == 0
    out = capsys.readouterr().out
    assert "tick 0.00005" in out and "5 decimals" in out
    # every price column of the table carries the tick's five decimals
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in {"15", "30", "60"}]
    prices = [c for row in rows for c in row[1:] if "." in c and ":" not in c and "-" not in c]
    assert len(rows) == 3 and len(prices) >= 3 * 7
    assert all(len(cell.split(".")[-1]) == 5 for cell in prices)
