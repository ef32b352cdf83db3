"""Progress bars: stderr only, elapsed and remaining time, silenced by quiet."""

from __future__ import annotations

import re

import pytest

from volresearch import progress as pg


@pytest.fixture(autouse=True)
def _loud(monkeypatch):
    monkeypatch.setattr(pg, "_QUIET", False)
    monkeypatch.delenv("VOLRESEARCH_QUIET", raising=False)


def test_bar_writes_elapsed_and_remaining_to_stderr(capsys):
    items = list(pg.progress(range(5), desc="windows", min_interval=0))
    assert items == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "windows" in captured.err and "elapsed" in captured.err and "remaining" in captured.err
    assert "5/5" in captured.err


def test_manual_bar_counts(capsys):
    with pg.progress(total=3, desc="tasks", min_interval=0) as bar:
        for _ in range(3):
            bar.update()
        assert bar.n == 3
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize("how", ["argument", "switch", "context", "environment"])
def test_quiet_silences(capsys, monkeypatch, how):
    kwargs = {}
    if how == "argument":
        kwargs["quiet"] = True
    elif how == "switch":
        monkeypatch.setattr(pg, "_QUIET", True)
    elif how == "environment":
        monkeypatch.setenv("VOLRESEARCH_QUIET", "1")
    if how == "context":
        with pg.quiet_progress():
            out = list(pg.progress(range(4), desc="silent", **kwargs))
        assert not pg.is_quiet()  # restored afterwards
    else:
        out = list(pg.progress(range(4), desc="silent", **kwargs))
    assert out == [0, 1, 2, 3]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    with pg.progress(total=2, desc="silent", **kwargs) if how != "context" else pg.progress(total=2, quiet=True) as bar:
        bar.update(2)
        assert bar.n == 2
    assert capsys.readouterr().err == ""


def test_walk_forward_reports_windows_serial_and_dask(capsys):
    import sys

    sys.path.insert(0, "tests")
    from test_validate_walkforward import garch_bars

    from volresearch.models import ModelSpec
    from volresearch.validate.walkforward import walk_forward

    bars = garch_bars(700, 3)
    kw = dict(in_sample=400, out_of_sample=100, n_paths=100)
    serial = walk_forward(bars, ModelSpec("garch", "normal"), **kw)
    err = capsys.readouterr().err
    assert "walk-forward windows" in err and f"{len(serial.windows)}/{len(serial.windows)}" in err
    threaded = walk_forward(bars, ModelSpec("garch", "normal"), scheduler="threads", **kw)
    err = capsys.readouterr().err
    n = len(threaded.windows)
    # the bar advances as Dask tasks complete (redraws are throttled, so not every count is printed)
    assert f"0/{n}" in err and re.search(rf"[1-{n}]/{n}", err)
    walk_forward(bars, ModelSpec("garch", "normal"), quiet=True, **kw)
    assert "walk-forward" not in capsys.readouterr().err


def test_calibration_pipeline_reports_fits(capsys):
    from volresearch.data import datasets
    from volresearch.models import ModelSpec
    from volresearch.models.calibration import CalibrationPipeline

    bars = datasets.load("es_synthetic", days=3, seed=1)
    pipe = CalibrationPipeline(ModelSpec("garch", "normal"), window=1000, frequency="daily")
    results = pipe.run("ES", bars)
    err = capsys.readouterr().err
    assert "calibrating ES" in err and f"{len(results)}/" in err
    pipe.run("ES", bars, quiet=True)
    assert capsys.readouterr().err == ""


def test_compare_models_shows_one_bar_and_quiet_silences_it(capsys):
    import sys

    sys.path.insert(0, "tests")
    from test_validate_walkforward import garch_bars

    from volresearch.validate.compare import compare_models

    bars = garch_bars(700, 4)
    kw = dict(in_sample=400, out_of_sample=100, n_paths=100)
    res = compare_models(bars, ["garch-normal", "gjr-normal"], **kw)
    err = capsys.readouterr().err
    n = sum(len(r.windows) for r in res.results.values())
    assert f"{n}/{n}" in err  # the windows of every model in one bar
    compare_models(bars, ["garch-normal", "gjr-normal"], quiet=True, **kw)
    assert capsys.readouterr().err == ""
