"""The dashboard in a real headless Chromium: what only a browser shows.

A ``panel serve dashboards/app.py`` subprocess (``BOKEH_RESOURCES=server``) on
a free loopback port is driven with Playwright through Debian's ``chromium``:

* the page loads without console errors and without any request leaving the
  local server (scripts, styles and the websocket all come from it);
* picking an instrument and pressing "Fit and simulate" shows the progress bar,
  then the fan chart renders (a canvas, and glyph renderers with data in the
  page's Bokeh document), the zone table and the signal;
* replay plays, pauses and moves the bar time and the chart;
* a malformed upload shows an error naming the file, row and column, and the
  page keeps working;
* two browser contexts at once keep separate instruments, fits and replays;
* an uploaded one-minute FX-like file (prices on a 0.00005 grid, three session
  days) is refused by the default intraday model with its reason, the explicit
  fallback cascade answers (requested and answered model both shown), the
  "24 h" preset gives a 1,440-bar fan on a session-time axis, and zones,
  signal and the price-distribution table read at the tick's 5 decimals; the
  replay shows the achieved rate next to the requested one;
* the embedded one-minute ES futures fitted with the default intraday model:
  the diurnal factor chart with its band, the daily-variance method and the
  flags, a 1,440-bar fan on the session clock (and the per-bar volatility of
  its steps), and a replay step through the rolling forecaster.

Screenshots go to ``$VOLRESEARCH_ARTIFACTS`` (default: a pytest temporary
folder); with ``VOLRESEARCH_UPDATE_DOCS_SCREENSHOT=1`` the main one is also
copied to ``docs/dashboard.png`` (the FX ones to ``docs/dashboard_fx*.png``,
the intraday one to ``docs/dashboard_intraday.png``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed"),
]

ROOT = Path(__file__).resolve().parents[1]
FX_FIXTURE = ROOT / "tests" / "fixtures" / "eurlike_1min.csv"
#: A price written with exactly five decimals (the 0.00005 tick), e.g. 1.10635.
FIVE_DECIMALS = re.compile(r"\b1\.\d{5}\b")
TWO_DECIMAL_PRICE = re.compile(r"\b1\.\d{2}\b(?!\d)")

AXIS_LABELS_JS = """() => {
  const out = [];
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.constructor.__name__.endsWith("Axis") && model.axis_label) { out.push(model.axis_label); }
    }
  }
  return out;
}"""
APP = ROOT / "dashboards" / "app.py"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIT_TIMEOUT_S = 90.0

#: Glyph renderers, their data points and a checksum of their numbers, and the
#: plot titles, from every Bokeh document of the page.
BOKEH_STATE_JS = """() => {
  if (!window.Bokeh || !window.Bokeh.documents) { return null; }
  const out = {renderers: 0, with_data: 0, points: 0, checksum: 0, titles: []};
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      const kind = model.constructor.__name__;
      if (kind === "Title" && model.text) { out.titles.push(model.text); }
      if (kind !== "GlyphRenderer" || !model.data_source || !model.data_source.data) { continue; }
      out.renderers += 1;
      let n = 0;
      const data = model.data_source.data;
      for (const key of Object.keys(data)) {
        const column = data[key];
        if (!column || column.length === undefined || typeof column === "string") { continue; }
        n = Math.max(n, column.length);
        for (const value of Array.from(column)) {
          if (typeof value === "number" && Number.isFinite(value)) { out.checksum += value; }
        }
      }
      if (n > 0) { out.with_data += 1; }
      out.points += n;
    }
  }
  return out;
}"""

BAD_CSV = (
    b"timestamp,open,high,low,close,volume\n"
    b"2024-01-01,1,2,0.5,1.5,10\n"
    b"2024-01-02,1.5,2,1,-1.8,10\n"
    b"2024-01-03,1.8,2.2,1.6,2.0,10\n"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a ``panel serve dashboards/app.py`` subprocess, stopped afterwards."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("panel") / "serve.log"
    env = {**os.environ, "BOKEH_RESOURCES": "server"}
    cmd = [
        sys.executable, "-m", "panel", "serve", str(APP),
        "--port", str(port), "--address", "127.0.0.1",
        "--allow-websocket-origin", f"127.0.0.1:{port}",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/app"

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"panel serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        _wait_until(answers, 90, "panel serve to answer", interval=0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("VOLRESEARCH_ARTIFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Session:
    """One page of the dashboard with its console errors and network requests recorded."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.context = browser.new_context(viewport={"width": 1500, "height": 1350})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("websocket", lambda w: self.requests.append(w.url))

    def open(self) -> Session:
        self.page.goto(self.url, wait_until="domcontentloaded")
        self.page.locator(".vr-fit button").wait_for(state="visible", timeout=60_000)
        return self

    def close(self) -> None:
        self.context.close()

    # ---------------------------------------------------------------- reading the page
    def text(self, selector: str) -> str:
        return str(self.page.locator(selector).first.inner_text())

    def status(self) -> str:
        return self.text(".vr-status-text")

    def bar_time(self) -> str:
        return self.text(".vr-bar-time")

    def bokeh(self) -> dict[str, Any]:
        return self.page.evaluate(BOKEH_STATE_JS) or {}

    def non_local_requests(self) -> list[str]:
        host = self.url.split("/app")[0].split("://", 1)[1]
        local = (f"http://{host}/", f"ws://{host}/", f"blob:http://{host}/", "data:")
        return [u for u in self.requests if not u.startswith(local)]

    # ---------------------------------------------------------------- acting
    def pick(self, label: str) -> None:
        self.page.locator(".vr-source select").select_option(label=label)
        name = label.split(" ")[0]
        _wait_until(lambda: f"Loaded {name}" in self.status(), 60, f"{name} to load")

    def click(self, css_class: str) -> None:
        self.page.locator(f".{css_class} button").click()

    def fit(self, expect_progress: bool = False, button: str = "vr-fit") -> dict[str, Any]:
        before = self.bokeh().get("checksum")
        status = self.status()
        self.click(button)
        if expect_progress:
            self.page.locator(".vr-progress").first.wait_for(state="visible", timeout=10_000)
        _wait_until(
            lambda: (text := self.status()) != status and re.search(r"Fitted|failed|rejected", text),
            FIT_TIMEOUT_S,
            "the fit",
        )
        assert "Fitted" in self.status(), self.status()
        self.page.locator(".vr-fan canvas").first.wait_for(state="visible", timeout=30_000)
        return _wait_until(
            lambda: (s := self.bokeh()).get("with_data", 0) >= 5 and s.get("checksum") != before and s,
            30,
            "the fan chart's glyphs",
        )


def test_fit_replay_and_bad_upload_in_a_browser(server: str, browser: Any, artifacts: Path) -> None:
    s = Session(browser, server).open()
    try:
        assert "sp500" in s.status()
        s.pick("nasdaq (real, 1D bars, ^IXIC)")
        chart = s.fit(expect_progress=True)
        assert chart["renderers"] >= 10 and chart["points"] > 500
        assert any("nasdaq" in t and "forecast" in t for t in chart["titles"]), chart["titles"]
        assert not s.page.locator(".vr-progress").first.is_visible()

        zones = s.text(".vr-zones table")
        assert "probability" in zones
        assert re.search(r"\b(support|resistance|neutral)\b", zones), zones
        assert re.search(r"\d+\.\d%", zones), zones
        signal = s.text(".vr-signal div")
        assert "Confidence:" in signal and "Bias:" in signal
        assert "mu" in s.text(".vr-params table") and "log return per bar" in s.text(".vr-params table")
        assert "bars ahead" in s.text(".vr-horizon-table table")

        # replay: play, let a few bars stream, pause
        t0 = s.bar_time()
        s.click("vr-play")
        _wait_until(lambda: s.bar_time() != t0, 45, "replay to move the bar time")
        _wait_until(lambda: re.search(r"replay bar (?:[2-9]|\d{2,})/", s.status()), 45, "two replayed bars")
        s.click("vr-pause")

        def settled() -> str | None:
            # a step already running when pause was pressed still lands; then the time must hold
            first = s.bar_time()
            time.sleep(2.0)
            return first if s.bar_time() == first else None

        t1 = _wait_until(settled, 20, "replay to stop after pause (2 s without a new bar)", interval=0)
        during = s.bokeh()
        assert t1 != t0 and during["checksum"] != chart["checksum"]
        assert any("replay bar" in t for t in during["titles"]), during["titles"]
        assert "ESS" in s.text(".vr-replay-info div")
        s.page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
        if os.environ.get("VOLRESEARCH_UPDATE_DOCS_SCREENSHOT") == "1":
            shutil.copyfile(artifacts / "dashboard.png", ROOT / "docs" / "dashboard.png")

        # a malformed upload: a clear message, and the page keeps working
        s.page.locator(".vr-upload input[type=file]").set_input_files(
            files=[{"name": "broken_prices.csv", "mimeType": "text/csv", "buffer": BAD_CSV}]
        )
        message = s.page.get_by_text(re.compile("Upload rejected: nonpositive")).first
        message.wait_for(state="visible", timeout=30_000)
        text = message.inner_text()
        for part in ("broken_prices.csv", "row 1", "close"):
            assert part in text, text
        s.page.screenshot(path=str(artifacts / "dashboard-bad-upload.png"), full_page=True)
        s.click("vr-step")
        _wait_until(lambda: s.bar_time() != t1, 45, "a replay step after the bad upload")
        assert "nasdaq replay bar" in s.status()
        assert s.page.locator(".vr-source select").evaluate("e => e.options[e.selectedIndex].text").startswith("nasdaq")
        s.click("vr-dismiss")
        message.wait_for(state="hidden", timeout=10_000)

        assert s.errors == [], s.errors
        assert s.non_local_requests() == [], s.non_local_requests()
        # Bokeh's and Panel's scripts were fetched, from the local server's /static
        assert any("/static/" in u and ".js" in u for u in s.requests), s.requests
    finally:
        s.close()


def test_two_sessions_do_not_share_state(server: str, browser: Any, artifacts: Path) -> None:
    a, b = Session(browser, server).open(), Session(browser, server).open()
    try:
        a.pick("es_synthetic (SYNTHETIC, 1min bars, ES-SYN)")
        assert "sp500" in b.status()  # b still has its own instrument
        a_chart = a.fit()
        b_chart = b.fit()
        assert any("es_synthetic" in t for t in a_chart["titles"]), a_chart["titles"]
        assert any("sp500" in t for t in b_chart["titles"]), b_chart["titles"]
        note = "Synthetic data: these bars are generated"
        assert a.page.get_by_text(note).first.is_visible()
        assert not b.page.get_by_text(note).first.is_visible()
        assert a.page.locator(".vr-source select").input_value() != b.page.locator(".vr-source select").input_value()

        # a replay step in a (its intraday model, through the rolling forecaster) leaves b where it was
        assert "intraday-gjr-sged" in a.text(".vr-answered") and b.text(".vr-answered") == "gjr-sged"
        b_time = b.bar_time()
        a_time = a.bar_time()
        a.click("vr-step")
        _wait_until(lambda: a.bar_time() != a_time, 60, "a replay step in session a")
        time.sleep(1.0)
        assert b.bar_time() == b_time
        assert "es_synthetic replay bar 1/" in a.status() and "Fitted" in b.status()
        assert b.bokeh()["checksum"] == b_chart["checksum"]
        a.page.screenshot(path=str(artifacts / "dashboard-session-a.png"), full_page=True)
        b.page.screenshot(path=str(artifacts / "dashboard-session-b.png"), full_page=True)
        assert a.errors == [] and b.errors == [], (a.errors, b.errors)
        assert a.non_local_requests() == [] and b.non_local_requests() == []
    finally:
        a.close()
        b.close()


def test_fx_upload_24h_fan_at_tick_precision(server: str, browser: Any, artifacts: Path) -> None:
    s = Session(browser, server).open()
    try:
        s.page.locator(".vr-upload input[type=file]").set_input_files(
            files=[{"name": FX_FIXTURE.name, "mimeType": "text/csv", "buffer": FX_FIXTURE.read_bytes()}]
        )
        _wait_until(lambda: f"Loaded {FX_FIXTURE.name}" in s.status(), 60, "the FX upload to load")
        assert "tick 0.00005" in s.status() and "5 decimals" in s.status(), s.status()

        # The "24 h" preset sets a 1,440-bar horizon (one-minute bars).
        s.page.locator(".vr-preset-1440 button").click()
        _wait_until(
            lambda: s.page.locator(".vr-horizon input").input_value().replace(",", "") == "1440", 20, "the 24 h preset"
        )
        # Three session days: too few for a diurnal factor, so the default is GJR-SGED on raw returns ...
        assert s.page.locator(".vr-model select").input_value() == "gjr-sged"
        # ... and the intraday model, picked by hand, is rejected with its reason, nothing is drawn ...
        s.page.locator(".vr-model select").select_option("intraday-gjr-sged")
        _wait_until(
            lambda: s.page.locator(".vr-model select").input_value() == "intraday-gjr-sged", 20, "the model pick"
        )
        s.click("vr-fit")
        _wait_until(lambda: "rejected" in s.status() or "Fitted" in s.status(), FIT_TIMEOUT_S, "the rejection")
        assert "intraday-gjr-sged rejected" in s.status(), s.status()
        rejected = s.page.get_by_text(re.compile("rejected: diurnal factor cannot be estimated")).first
        rejected.wait_for(state="visible", timeout=10_000)
        rejection = rejected.inner_text()
        assert "intraday-gjr-sged" in rejection and "session days" in rejection, rejection
        assert s.page.locator(".vr-fallback button").is_visible()
        assert not s.page.locator(".vr-fan canvas").first.is_visible()
        s.page.screenshot(path=str(artifacts / "dashboard_fx_rejected.png"), full_page=True)
        # ... until the explicit fallback cascade answers, named next to the requested model.
        chart = s.fit(button="vr-fallback")
        assert "requested intraday-gjr-sged, rejected; fallback cascade" in s.status(), s.status()
        answered = s.text(".vr-answered")
        assert answered and answered != "intraday-gjr-sged" and s.text(".vr-requested") == "intraday-gjr-sged"
        assert any("1440 bars" in t and answered in t for t in chart["titles"]), chart["titles"]
        # The rejection stays on the page, with the answer of the cascade.
        assert s.page.get_by_text(re.compile(r"answered \(fallback cascade\)")).first.is_visible()
        assert not s.page.locator(".vr-fallback button").is_visible()
        labels = s.page.evaluate(AXIS_LABELS_JS)
        assert any(label.startswith("session time (UTC)") for label in labels), labels

        table = s.text(".vr-horizon-table table")
        rows = [line for line in table.splitlines() if re.match(r"\d+\t", line)]
        assert rows and rows[-1].split()[0] == "1440", table
        for row in rows:  # mean and 5 quantiles at 5 decimals
            assert len(FIVE_DECIMALS.findall(row)) == 6, row
        assert not TWO_DECIMAL_PRICE.search(table), table
        assert "0.00\t" not in table and not re.search(r"\s0\.00\s", table), table

        zones = s.text(".vr-zones table")
        assert len(FIVE_DECIMALS.findall(zones)) >= 3, zones
        signal = s.text(".vr-signal div")
        mean_line = next(line for line in signal.splitlines() if line.startswith("Mean"))
        assert len(FIVE_DECIMALS.findall(mean_line)) == 3, mean_line  # mean, 5 % and 95 %
        assert re.search(r"std 0\.\d{5,}\b", mean_line) and "std 0.00," not in mean_line, mean_line
        assert "Confidence:" in signal
        s.page.screenshot(path=str(artifacts / "dashboard_fx.png"), full_page=True)

        # Replay: the achieved rate is shown next to the requested one.
        t0 = s.bar_time()
        s.click("vr-play")
        _wait_until(lambda: s.bar_time() != t0, 60, "replay to move the bar time")
        _wait_until(
            lambda: "achieved" in s.text(".vr-replay-rate div") and "measuring" not in s.text(".vr-replay-rate div"),
            60,
            "the achieved replay rate",
        )
        rate = s.text(".vr-replay-rate div")
        assert re.search(r"requested 2 bars/s, achieved \d+\.\d bars/s", rate), rate
        s.click("vr-pause")
        _wait_until(lambda: "paused" in s.text(".vr-replay-rate div"), 20, "the replay to pause")
        # Paused: the fan is redrawn from every particle.
        _wait_until(lambda: "lower resolution" not in s.text(".vr-replay-info div"), 60, "the full-resolution fan")
        assert FIVE_DECIMALS.search(s.text(".vr-replay-info div"))
        s.page.screenshot(path=str(artifacts / "dashboard_fx_replay.png"), full_page=True)
        if os.environ.get("VOLRESEARCH_UPDATE_DOCS_SCREENSHOT") == "1":
            shutil.copyfile(artifacts / "dashboard_fx.png", ROOT / "docs" / "dashboard_fx.png")
            shutil.copyfile(artifacts / "dashboard_fx_replay.png", ROOT / "docs" / "dashboard_fx_replay.png")
        assert s.errors == [], s.errors
        assert s.non_local_requests() == [], s.non_local_requests()
    finally:
        s.close()


def test_intraday_default_model_diurnal_panel_and_session_fan(server: str, browser: Any, artifacts: Path) -> None:
    s = Session(browser, server).open()
    try:
        s.pick("es_synthetic (SYNTHETIC, 1min bars, ES-SYN)")
        assert "default model intraday-gjr-sged" in s.status(), s.status()
        _wait_until(
            lambda: s.page.locator(".vr-model select").input_value() == "intraday-gjr-sged",
            20,
            "the model picker to show the intraday default",
        )
        s.page.locator(".vr-preset-1440 button").click()
        _wait_until(
            lambda: s.page.locator(".vr-horizon input").input_value().replace(",", "") == "1440", 20, "the 24 h preset"
        )
        chart = s.fit(expect_progress=True)
        assert s.text(".vr-requested") == s.text(".vr-answered") == "intraday-gjr-sged"
        titles = chart["titles"]
        assert any("intraday-gjr-sged forecast" in t and "1440 bars" in t for t in titles), titles
        assert any("diurnal variance factor" in t and "95% band" in t for t in titles), titles
        labels = s.page.evaluate(AXIS_LABELS_JS)
        assert any(label.startswith("session time (UTC)") for label in labels), labels
        assert "time of day (UTC)" in labels, labels

        # The diurnal panel: its chart, the daily-variance method with its reason, the flags.
        s.page.locator(".vr-diurnal-chart canvas").first.wait_for(state="visible", timeout=30_000)
        s.page.locator(".vr-step-vol-chart canvas").first.wait_for(state="visible", timeout=30_000)
        assert any("per-bar volatility from the model's clock" in t for t in titles), titles
        method = s.text(".vr-daily-method")
        assert method.startswith("ewma (requested auto)") and "session days" in method, method
        assert "bootstrap band" in s.text(".vr-diurnal-details div")
        assert s.text(".vr-model-flags div").startswith("Model flags:")

        # Replay carries the intraday model: a step moves the bar time, the fan is redrawn from the particles.
        assert not s.page.locator(".vr-replay-unavailable").first.is_visible()
        t0 = s.bar_time()
        s.click("vr-step")
        _wait_until(lambda: s.bar_time() != t0, 60, "a replay step of the intraday model")
        _wait_until(lambda: "es_synthetic replay bar 1/" in s.status(), 30, "the replayed bar's status")
        assert "ESS" in s.text(".vr-replay-info div")

        def replayed_titles() -> list[str]:
            titles = s.bokeh().get("titles", [])
            return titles if any("replay bar 1" in t for t in titles) else []

        replayed = _wait_until(replayed_titles, 30, "the replayed fan")
        assert any("intraday-gjr-sged forecast" in t and "1440 bars" in t for t in replayed), replayed

        s.page.screenshot(path=str(artifacts / "dashboard_intraday.png"), full_page=True)
        if os.environ.get("VOLRESEARCH_UPDATE_DOCS_SCREENSHOT") == "1":
            shutil.copyfile(artifacts / "dashboard_intraday.png", ROOT / "docs" / "dashboard_intraday.png")
        assert s.errors == [], s.errors
        assert s.non_local_requests() == [], s.non_local_requests()
    finally:
        s.close()
