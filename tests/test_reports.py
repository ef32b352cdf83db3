"""PDF research reports: HTML clean-up, layout helpers, report choices, the end-to-end PDF and the CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from volresearch.cli import main
from volresearch.errors import ConfigError, DataError
from volresearch.reports import (
    HtmlBlock,
    ReportError,
    bar_label,
    build_report,
    clean_html,
    default_horizon,
    describe_source,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    forecast_sanity,
    horizon_minutes,
    key_values,
    notebook_to_html,
    remote_references,
    table,
    template_path,
    verdict,
    walk_forward_plan,
)

SECTIONS = (
    "Volatility research report",
    "How to read this report",
    "1. Data quality",
    "2. Stylized facts",
    "3. Fitted model",
    "4. Forecast",
    "5. Walk-forward calibration",
)
# text that must never reach a reader: code, tracebacks, raw JSON or reprs
FORBIDDEN = (
    "Traceback",
    "Error",
    "Exception",
    "import ",
    "def ",
    "hv.",
    "plots.",
    "fit_garch(",
    "print(",
    "= None",
    "<span",
    "</",
    "{'",
    '{"',
    "HtmlBlock",
    "DataFrame",
    "Fit(",
)
PDF_TOOLS = ("chromium", "pdftoppm", "pdftotext", "pdfimages")


def _missing_tools() -> list[str]:
    found = {t: shutil.which(t) or (t == "chromium" and shutil.which("chromium-browser")) for t in PDF_TOOLS}
    return [t for t, path in found.items() if not path]


needs_pdf_tools = pytest.mark.skipif(
    bool(_missing_tools()),
    reason=f"needs {', '.join(_missing_tools())} (Debian packages chromium and poppler-utils; `make system-deps`)",
)


# ----------------------------------------------------------------- HTML clean-up
PAGE = """<!DOCTYPE html><html><head><title>x</title>
<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"></script>
<script type="text/javascript">window.MathJax = {tex2jax: {inlineMath: [['$','$']]}};</script>
<script src="//cdn.example.org/mathjax.js" />
<script type="module">import mermaid from 'https://cdn.jsdelivr.net/npm/mermaid.esm.min.mjs';</script>
<link rel="stylesheet" href="https://cdn.example.org/theme.css">
<link rel="stylesheet" href="local.css">
<style>@import url("https://fonts.example.org/font.css"); body { color: black; }</style>
</head><body><p>text</p><a href="https://example.org/paper">a paper</a>
<img src="https://cdn.example.org/logo.png" alt="logo"></body></html>"""


def test_clean_html_removes_every_script_and_remote_reference():
    assert len(remote_references(PAGE)) >= 6
    out = clean_html(PAGE, title="My report", footer='data "x"')
    assert remote_references(out) == []
    assert "<script" not in out.lower() and "cdnjs" not in out and "jsdelivr" not in out
    assert "fonts.example.org" not in out and "cdn.example.org" not in out
    assert 'href="local.css"' in out  # local stylesheet kept
    assert 'href="https://example.org/paper"' in out  # a hyperlink is not a fetch
    assert "<title>My report</title>" in out and "<p>text</p>" in out
    assert "size: A4" in out and "counter(pages)" in out and 'data \\"x\\"' in out
    assert out.index("@page") < out.lower().index("</head>")


def test_clean_html_without_head_and_without_css():
    out = clean_html("<p>x</p><script>alert(1)</script>", css="")
    assert out == "<p>x</p>"


def test_notebook_to_html_hides_code_stderr_and_cdn_scripts():
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbconvert")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    cells = [
        new_markdown_cell("## 1. A section\n\nSome $x^2$ explanation."),
        new_code_cell(
            "secret_code_line = 42",
            outputs=[
                new_output("stream", name="stderr", text="UserWarning: noisy\n"),
                new_output("display_data", data={"text/html": "<table><tr><td>cell</td></tr></table>"}),
                new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            ],
        ),
        new_code_cell(
            "hv.extension('matplotlib')",
            outputs=[
                new_output(
                    "display_data", data={"application/javascript": "console.log('x')", "text/html": "<b>logo</b>"}
                )
            ],
            metadata={"tags": ["remove-output"]},
        ),
    ]
    nb = new_notebook(cells=cells)
    nbformat.validate(nb)
    page = notebook_to_html(nb, title="T", footer="F")
    assert remote_references(page) == []
    assert "secret_code_line" not in page and "hv.extension" not in page
    assert "noisy" not in page and "<b>logo</b>" not in page
    assert "<td>cell</td>" in page and "data:image/png;base64," in page
    assert "1. A section" in page and "size: A4" in page


# ----------------------------------------------------------------- layout helpers
def test_number_formats():
    assert fmt_number(5031) == "5,031"
    assert fmt_number(50.0) == "50"
    assert fmt_number(0.0001419) == "0.0001419"
    assert fmt_number(1.69e-06) == "1.690e-06"
    assert fmt_number(-31439.2) == "-31,439"
    assert fmt_number(0.9961, 3) == "0.996"
    assert fmt_number(float("nan")) == "\u2013" and fmt_number(None) == "\u2013"
    assert fmt_number(float("inf")) == "inf" and fmt_number(True) == "yes"
    assert fmt_pvalue(0.0004) == "< 0.001" and fmt_pvalue(0.0456) == "0.046" and fmt_pvalue(np.nan) == "\u2013"
    assert fmt_percent(0.0512) == "5.1%" and fmt_percent(0.96037, 2) == "96.04%"


def test_table_escapes_text_and_keeps_verdicts():
    frame = pd.DataFrame(
        {"name": ["<b>x</b>", "y"], "value": [1.5e-7, 12345.678], "ok": [verdict(True), verdict(None)]}
    )
    html = table(frame, caption="C & D", formats={"value": fmt_number}).html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert '<span class="vr-pass">pass</span>' in html and '<span class="vr-na">n/a</span>' in html
    assert "1.500e-07" in html and "12,346" in html and "<caption>C &amp; D</caption>" in html
    assert '<th class="vr-text">name</th>' in html and '<th class="vr-num">value</th>' in html
    assert verdict(False).html == '<span class="vr-fail">fail</span>'
    short = table(pd.DataFrame({"a": range(5)}), max_rows=2).html
    assert "3 more rows not shown" in short


def test_key_values_and_block_display():
    block = key_values([("Rows", 5031), ("Verdict", verdict(True, yes="passed")), ("Note", "a < b")])
    assert isinstance(block, HtmlBlock) and block._repr_html_() == str(block)
    assert "5,031" in block.html and "passed" in block.html and "a &lt; b" in block.html


# ----------------------------------------------------------------- report choices
def test_default_horizon_and_labels():
    assert default_horizon(60.0) == 1440
    assert default_horizon(300.0) == 288
    assert default_horizon(3600.0) == 24
    assert default_horizon(86400.0) == 20 and default_horizon(None) == 20 and default_horizon(7 * 86400.0) == 20
    assert horizon_minutes(1440, 60.0) == 1440.0 and horizon_minutes(20, 86400.0) == 28800.0
    assert bar_label(60) == "1 minute" and bar_label(300) == "5 minutes" and bar_label(86400) == "1 day"
    assert bar_label(None) == "unknown length"


def test_walk_forward_plan_daily_intraday_and_short():
    daily = walk_forward_plan(5031, 86400.0, n_paths=20_000)
    assert daily is not None
    assert (daily.in_sample, daily.out_of_sample, daily.windows, daily.step) == (1000, 63, 12, 1)
    assert daily.n_paths == 1000 and daily.horizon == 1
    assert daily.first_bar == 5030 - (1000 + 12 * 63)  # the most recent windows
    intraday = walk_forward_plan(13_800, 60.0, n_paths=500)
    # the layout of ``volresearch validate`` on short data: a quarter in sample, nine out-of-sample windows
    n = 13_799
    assert intraday is not None and intraday.in_sample == n // 4 and intraday.out_of_sample == (n - n // 4) // 9
    assert intraday.windows == 9
    assert intraday.n_paths == 500 and intraday.n_forecasts <= 3000 and intraday.step > 1
    assert intraday.first_bar >= 0
    assert walk_forward_plan(200, 86400.0, n_paths=1000) is None
    small = walk_forward_plan(700, 86400.0, n_paths=1000)
    assert small is not None and small.in_sample == 349 and small.windows == 5


def _frame(**attrs):
    index = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC", name="timestamp")
    frame = pd.DataFrame({c: [1.0, 1.0, 1.0] for c in ("open", "high", "low", "close", "volume")}, index=index)
    frame.attrs.update(attrs)
    return frame


def test_describe_source():
    sp = describe_source("sp500", _frame(symbol="^GSPC", synthetic=False))
    assert sp.synthetic is False and sp.asset_class == "equity_index" and "real" in sp.provenance
    es = describe_source("es_synthetic", _frame(symbol="ES-SYN", synthetic=True))
    assert es.synthetic is True and es.instrument == "ES" and es.asset_class == "equity_index"
    assert "synthetic" in es.provenance
    gc = describe_source("gc_synthetic", _frame(symbol="GC-SYN", synthetic=True))
    assert gc.asset_class == "metal"
    f = describe_source("/data/bars.csv", _frame(symbol=None, synthetic=False))
    assert f.name == "bars.csv" and f.synthetic is None and f.asset_class == "other" and f.instrument == "default"


def test_template_is_packaged_with_a_parameters_cell():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(template_path(), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in ("data", "model", "dist", "mean", "instrument", "stamps", "horizon", "n_paths", "seed"):
        assert re.search(rf"^{name} = ", tagged[0].source, re.MULTILINE)
    headings = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for title in SECTIONS[1:]:
        assert f"## {title}" in headings
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # shipped unexecuted


# ----------------------------------------------------------------- errors
def test_build_report_rejects_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="unknown model"):
        build_report("sp500", out=tmp_path / "r.pdf", model="arima", progress=None)
    with pytest.raises(ConfigError, match="unknown distribution"):
        build_report("sp500", out=tmp_path / "r.pdf", dist="cauchy", progress=None)
    with pytest.raises(ConfigError, match="horizon"):
        build_report("sp500", out=tmp_path / "r.pdf", horizon=0, progress=None)
    with pytest.raises(DataError, match="neither an embedded dataset nor an existing file"):
        build_report(tmp_path / "missing.csv", out=tmp_path / "r.pdf", progress=None)


def test_missing_chromium_names_the_debian_package(tmp_path, monkeypatch):
    import volresearch.reports as reports

    monkeypatch.setattr(reports.shutil, "which", lambda name: None)
    with pytest.raises(ReportError, match=r"Debian package 'chromium'"):
        build_report("sp500", out=tmp_path / "r.pdf", progress=None)
    assert not (tmp_path / "r.pdf").exists()


def test_cli_bad_path_exits_2_with_a_clear_message(capsys, tmp_path):
    code = main(["report", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.csv" in err and "neither an embedded dataset nor an existing file" in err
    assert not (tmp_path / "r.pdf").exists()


def test_cli_needs_exactly_one_source(capsys, tmp_path):
    assert main(["report", "--out", str(tmp_path / "r.pdf")]) == 2
    assert "PATH or --dataset" in capsys.readouterr().err
    assert main(["report", "x.csv", "--dataset", "sp500", "--out", str(tmp_path / "r.pdf")]) == 2
    assert "not both" in capsys.readouterr().err


def test_cli_data_failing_validation_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n2024-01-02 14:30,10,11,9,10.5,100\n2024-01-02 14:31,10,11,9,-3,100\n"
    )
    code = main(["report", str(bad), "--out", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err
    assert code == 1 and "failed validation" in err and "row 1" in err


# ----------------------------------------------------------------- end to end
def _pdf_text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _page_images(pdf: Path, out: Path) -> list[np.ndarray]:
    from PIL import Image

    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(out / "page")], check=True)
    files = sorted(out.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
    return [np.asarray(Image.open(f).convert("RGB"), dtype=float) for f in files]


def _pages_with_images(pdf: Path) -> dict[int, int]:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    counts: dict[int, int] = {}
    for line in listing.splitlines()[2:]:
        fields = line.split()
        if len(fields) > 3 and fields[0].isdigit() and fields[2] == "image":
            counts[int(fields[0])] = counts.get(int(fields[0]), 0) + 1
    return counts


@pytest.fixture(scope="module")
def sp500_report(tmp_path_factory):
    if _missing_tools():
        pytest.skip(f"needs {', '.join(_missing_tools())} (Debian packages chromium and poppler-utils)")
    out = tmp_path_factory.mktemp("report")
    lines: list[str] = []
    pdf = build_report("sp500", out=out / "sp500.pdf", n_paths=500, seed=3, progress=lines.append)
    return pdf, lines


@pytest.mark.slow
@needs_pdf_tools
def test_report_pdf_is_written_with_its_notebook_and_progress(sp500_report):
    pdf, lines = sp500_report
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.with_suffix(".ipynb").is_file() and pdf.with_suffix(".html").is_file()
    assert remote_references(pdf.with_suffix(".html").read_text(encoding="utf-8")) == []
    assert any(re.match(r"\s+step \d+/\d+: fit the model", line) for line in lines)
    assert any("converting to HTML" in line for line in lines) and any("chromium" in line for line in lines)
    assert lines[-2].startswith("report written to") and str(pdf) in lines[-2]


@pytest.mark.slow
@needs_pdf_tools
def test_report_text_has_every_section_and_nothing_raw(sp500_report):
    pdf, _ = sp500_report
    text = _pdf_text(pdf)
    flat = " ".join(text.split())
    for heading in SECTIONS:
        assert heading in flat, heading
    for bad in FORBIDDEN:
        assert bad not in text, bad
    assert "real market data" in flat and "GJR-GARCH(1,1) with skewed GED innovations" in flat
    assert "20 bars of 1 day" in flat  # the daily default horizon
    assert re.search(r"Kupiec p", flat) and re.search(r"\bpass\b", flat)
    assert "n_paths=500" in flat and "seed=3" in flat


@pytest.mark.slow
@needs_pdf_tools
def test_report_pages_are_not_blank_and_charts_are_images(sp500_report, tmp_path):
    pdf, _ = sp500_report
    pages = _page_images(pdf, tmp_path)
    assert 4 <= len(pages) <= 12
    for k, img in enumerate(pages, start=1):
        assert img.std() > 8.0, f"page {k} looks blank"
    with_images = _pages_with_images(pdf)
    assert sum(with_images.values()) >= 7  # price, ACF, news impact, volatility, fan, PIT, coverage
    for page, _ in with_images.items():
        img = pages[page - 1]
        coloured = (img.max(axis=2) - img.min(axis=2)) > 60  # saturated pixels: chart lines and bands
        assert coloured.mean() > 0.005, f"page {page} has an image but no coloured chart"
    # the forecast page carries the fan chart
    forecast_page = next(k for k in range(1, len(pages) + 1) if "4. Forecast" in _pdf_text(pdf, k))
    assert forecast_page in with_images


@pytest.mark.slow
@needs_pdf_tools
def test_cli_writes_a_merton_report_from_a_file(capsys, tmp_path):
    from volresearch.data import open_bars

    bars = open_bars("sp500").iloc[-1400:]
    csv = tmp_path / "spx_tail.csv"
    bars.reset_index().to_csv(csv, index=False)
    out = tmp_path / "cli.pdf"
    args = ["report", str(csv), "--model", "merton", "--paths", "300", "--out", str(out), "--no-keep"]
    code = main(args)
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert out.is_file() and out.read_bytes()[:5] == b"%PDF-"
    assert not out.with_suffix(".ipynb").exists() and not out.with_suffix(".html").exists()
    assert "step 1/" in stdout and f"PDF report: {out}" in stdout
    flat = " ".join(_pdf_text(out).split())
    assert "spx_tail.csv" in flat and "Merton jump-diffusion" in flat
    for name, unit in (("lambda", "jumps/year"), ("sigma_j", "log return per jump")):
        assert re.search(rf"{name} -?[\d.]+ [\d.e-]+ .*?{unit}", flat), name
    assert "Total volatility" in flat and "of the variance" in flat  # the jump share
    assert "realised volatility of the last 21 bars" in flat  # the volatility figure's caption
    assert "5. Walk-forward calibration" in flat and "Traceback" not in flat
    assert re.search(r"Verdict: (PASS|FAIL): the forecast is", flat)


@pytest.mark.slow
@needs_pdf_tools
def test_heston_report_shows_the_filtered_state_and_its_residual_tests(tmp_path):
    from volresearch.data import open_bars

    csv = tmp_path / "spx.csv"
    open_bars("sp500").iloc[-1400:].reset_index().to_csv(csv, index=False)
    pdf = build_report(csv, out=tmp_path / "heston.pdf", model="heston", n_paths=500, seed=2, progress=None)
    pages = _page_images(pdf, tmp_path)
    assert all(img.std() > 8.0 for img in pages)
    flat = " ".join(_pdf_text(pdf).split())
    assert "Heston stochastic volatility" in flat and "dv = κ(θ − v) dt + ξ√v dW₂" in flat
    for name in ("kappa", "theta", "xi", "rho", "v0"):
        assert re.search(rf"\b{name} -?[\d.]+ ", flat), name
    assert "variance/year" in flat and "Feller ratio" in flat and "Filter log-likelihood" in flat
    assert re.search(r"Ljung-Box on z², lag 20 [\d.]+ [<\d.]", flat)  # residual tests of the filtered model
    assert "Particle-filtered spot volatility" in flat
    assert "4. Forecast" in flat and "5. Walk-forward calibration" in flat and "Traceback" not in flat
    assert "model=heston" in flat and "seed=2" in flat
    assert sum(_pages_with_images(pdf).values()) >= 6  # price, ACF, volatility, fan, PIT, coverage


@pytest.mark.slow
@needs_pdf_tools
def test_intraday_report_defaults_to_the_multiplicative_model_and_draws_its_clock(tmp_path):
    from volresearch.data import open_bars

    bars = open_bars("es_synthetic")
    five = bars.resample("5min", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    csv = tmp_path / "es5.csv"
    five.dropna().rename_axis("timestamp").reset_index().to_csv(csv, index=False)
    pdf = build_report(csv, out=tmp_path / "es5.pdf", instrument="ES", n_paths=300, progress=None)
    flat = " ".join(_pdf_text(pdf).split())
    assert "multiplicative intraday GJR-GARCH(1,1) with skewed GED innovations" in flat
    assert "intraday q" in flat and "Overnight gap variance G" in flat and "Daily component h" in flat
    assert "Diurnal variance factor by time of day" in flat or "Variance factor sᵢ of each 5-minute slot" in flat
    assert "Next-bar variance of the intraday component q" in flat  # the news impact curve of q
    assert "5. Walk-forward calibration" in flat and "Traceback" not in flat
    assert sum(_pages_with_images(pdf).values()) >= 8  # price, ACF, news impact, volatility, diurnal, fan, PIT, cov


@pytest.mark.slow
@needs_pdf_tools
def test_a_model_that_cannot_be_fitted_stops_the_report_and_keeps_the_notebook(tmp_path):
    from volresearch.data import open_bars
    from volresearch.errors import FitError

    csv = tmp_path / "tiny.csv"
    open_bars("sp500").iloc[-45:].reset_index().to_csv(csv, index=False)
    out = tmp_path / "tiny.pdf"
    with pytest.raises(FitError, match=r"too few.*report notebook, cell \d+; executed notebook kept at"):
        build_report(csv, out=out, n_paths=200, progress=None, keep_notebook=False)
    assert not out.exists() and out.with_suffix(".ipynb").is_file()


# ----------------------------------------------------------- forecast sanity
class TestForecastSanity:
    @staticmethod
    def _history(n=3000, sd=0.0002, seed=0):
        rng = np.random.default_rng(seed)
        return 100 * np.exp(np.cumsum(sd * rng.standard_normal(n)))

    def test_a_forecast_like_the_history_is_plausible(self):
        closes = self._history()
        h = 400
        s1 = np.std(np.diff(np.log(closes)), ddof=1)
        terminal = closes[-1] * np.exp(s1 * np.sqrt(h) * np.random.default_rng(1).standard_normal(5000))
        res = forecast_sanity(terminal, closes[-1], closes, h)
        assert res.plausible and res.flags == ()
        assert res.historical_std == pytest.approx(s1 * np.sqrt(h))
        assert res.width_ratio == pytest.approx(1.0, abs=0.05) and res.drift_sigmas < 0.2

    @pytest.mark.parametrize(
        "drift,scale,flagged",
        [(4.0, 1.0, "drift"), (-4.0, 1.0, "drift"), (2.5, 1.0, None), (0.0, 3.5, "spread"), (0.0, 0.25, "spread"),
         (0.0, 2.5, None)],
    )  # fmt: skip
    def test_drift_and_width_thresholds(self, drift, scale, flagged):
        closes = self._history()
        h = 400
        hist = np.std(np.diff(np.log(closes)), ddof=1) * np.sqrt(h)
        z = np.random.default_rng(2).standard_normal(20_000)
        z = (z - np.median(z)) / z.std()
        terminal = closes[-1] * np.exp(drift * hist + scale * hist * z)
        res = forecast_sanity(terminal, closes[-1], closes, h)
        assert res.drift_sigmas == pytest.approx(abs(drift), abs=0.01)
        if flagged is None:
            assert res.plausible
        else:
            assert not res.plausible and len(res.flags) == 1
            assert ("Median drift" in res.flags[0]) == (flagged == "drift")
            assert ("spread" in res.flags[0]) == (flagged == "spread")


def test_build_report_rejects_bad_mean_label_and_instrument(tmp_path):
    with pytest.raises(ConfigError, match="mean must be"):
        build_report("sp500", out=tmp_path / "r.pdf", mean="drift", progress=None)
    with pytest.raises(ConfigError, match="label must be"):
        build_report("sp500", out=tmp_path / "r.pdf", label="middle", progress=None)
    with pytest.raises(ConfigError, match="unknown instrument 'NOPE'"):
        build_report("sp500", out=tmp_path / "r.pdf", instrument="NOPE", progress=None)


# ------------------------------------------------ a one-minute FX report
USDJPY = Path(__file__).resolve().parents[2] / "shared" / "data" / "USDJPY_1min_2013-02.csv"


def _fx_bars_csv(path: Path, *, n: int = 3000, t_stat: float | None = None) -> Path:
    """One-minute USD/JPY-like bars on the 0.001 grid: the real file's first ``n`` bars when present and no trend is
    asked for, else synthetic bars whose mean return has the t-statistic ``t_stat`` (a mild trend)."""
    if USDJPY.exists() and t_stat is None:
        pd.read_csv(USDJPY, nrows=n).to_csv(path, index=False)
        return path
    rng = np.random.default_rng(4)
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std()
    sd = 0.0002
    r = sd * z + (t_stat or 0.0) * sd / np.sqrt(n)
    close = np.round(92.0 * np.exp(np.cumsum(r)), 3)
    open_ = np.r_[92.0, close[:-1]]
    index = pd.date_range("2013-02-04 00:00", periods=n, freq="min", tz="UTC")
    frame = pd.DataFrame(
        {"timestamp": index, "open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
         "close": close}
    )  # fmt: skip
    frame.to_csv(path, index=False)
    return path


def _ink(pdf: Path, out: Path) -> list[float]:
    """Share of non-white pixels of every page, rendered with pdftoppm."""
    return [float((img.min(axis=2) < 200).mean()) for img in _page_images(pdf, out)]


@pytest.fixture(scope="module")
def fx_report(tmp_path_factory):
    if _missing_tools():
        pytest.skip(f"needs {', '.join(_missing_tools())} (Debian packages chromium and poppler-utils)")
    out = tmp_path_factory.mktemp("fx")
    csv = _fx_bars_csv(out / "usdjpy.csv")
    pdf = out / "fx.pdf"
    args = ["report", str(csv), "--instrument", "USDJPY", "--mean", "zero", "--paths", "1000", "--out", str(pdf),
            "--quiet", "--label", "end"]  # fmt: skip
    code = main(args)
    return pdf, code


@pytest.mark.slow
@needs_pdf_tools
def test_fx_report_names_the_instrument_and_has_no_blank_page(fx_report, tmp_path, capsys):
    pdf, code = fx_report
    assert code == 0 and pdf.is_file()
    ink = _ink(pdf, tmp_path)
    assert 3 <= len(ink) <= 12
    for k, share in enumerate(ink, start=1):
        assert share > 0.01, f"page {k} is (nearly) blank: {share:.4f} of its pixels carry ink"
    flat = " ".join(_pdf_text(pdf).split())
    assert "Volatility research report: USDJPY" in flat
    assert "USDJPY: US dollar / Japanese yen spot" in flat and "not given" not in flat
    assert "zero mean (as asked)" in flat
    assert "stamped at their end" in flat  # --label end, noted in the data-quality section
    forecast = " ".join(
        _pdf_text(pdf, next(k for k in range(1, len(ink) + 1) if "4. Forecast" in _pdf_text(pdf, k))).split()
    )
    assert re.search(r"Current price \d{2,3}\.\d{3} \(close", forecast)  # the 0.001 tick: three decimals
    assert "session bars labelled with their UTC times (fx_24x5 sessions)" in forecast  # session-time fan axis
    assert "Implausible forecast" not in flat and "(plausible)" in forecast
    for name in ("PIT uniform", "95% interval coverage", "Christoffersen", "Diebold-Mariano", "10% below the naive"):
        assert name in flat, name
    assert re.search(r"Verdict: (PASS|FAIL): the forecast is", flat)


@pytest.mark.slow
@needs_pdf_tools
def test_implausible_forecast_shows_the_sanity_box(tmp_path):
    # a constant mean fitted to a mildly trending sample (t = 2.5, accepted by the fit) extrapolated over ten days
    csv = _fx_bars_csv(tmp_path / "trend.csv", t_stat=2.5)
    pdf = build_report(csv, out=tmp_path / "trend.pdf", mean="constant", instrument="USDJPY", horizon=14_400,
                       n_paths=500, progress=None)  # fmt: skip
    ink = _ink(pdf, tmp_path)
    assert all(share > 0.01 for share in ink)
    pages = {k: " ".join(_pdf_text(pdf, k).split()) for k in range(1, len(ink) + 1)}
    forecast = next(text for text in pages.values() if "4. Forecast" in text)
    assert "Implausible forecast: Median drift over the horizon" in forecast
    assert "(IMPLAUSIBLE)" in forecast
    assert "mean drives the forecast" in " ".join(pages.values())  # the fit's own flag is shown too
