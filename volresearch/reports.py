"""PDF research reports: a parameterised notebook executed, converted and printed.

:func:`build_report` runs three stages, printing a line at each:

1. **Execute** the packaged notebook ``volresearch/report_templates/report.ipynb``
   with papermill, its ``parameters`` cell set to the data, model,
   distribution, horizon, number of paths and seed.  Each code cell start is
   reported (``step 10/19: fit the model``) through the ``progress`` callable.
2. **Convert** the executed notebook to one self-contained HTML page with
   nbconvert's ``lab`` template: code hidden (``exclude_input``), prompts
   hidden, cells tagged ``remove-output`` emptied, stderr streams (warnings)
   dropped; :func:`clean_html` then removes every script and remote reference
   (nbconvert's require.js, MathJax and mermaid come from CDNs, and a report
   needs no JavaScript: its figures are PNG images, its tables plain HTML) and
   adds an A4 print stylesheet (margins, page numbers, typography, tables,
   page breaks before sections 3 to 5).
3. **Print** the page to PDF with Debian's ``chromium`` in headless mode.

Files of bars are validated before the kernel starts, so a file that fails
validation stops the report with the validation error (embedded datasets are
validated inside the notebook).  A failure inside the notebook raises
:class:`ReportError` naming the cell and the exception, the executed notebook
kept for inspection; errors of the data, the model or the options keep their
own classes (:class:`~volresearch.errors.DataError`,
:class:`~volresearch.errors.FitError`, :class:`~volresearch.errors.ConfigError`).

The module also holds what the notebook needs beyond the analysis API:

* report choices made from the data -- :func:`default_horizon` (one day of
  intraday bars, 20 daily bars), :func:`describe_source` (dataset or file,
  real or synthetic, instrument, asset class) and :func:`walk_forward_plan`
  (a quick walk-forward layout over the most recent windows);
* presentation -- :class:`HtmlBlock` and the helpers :func:`table`,
  :func:`key_values`, :func:`verdict`, :func:`note`, :func:`heading`,
  :func:`figure` (a HoloViews object rendered to PNG with
  :func:`volresearch.plots.render_png`, embedded as a ``data:`` URI),
  :func:`grid` and :func:`concat`.  Cells are HTML-escaped and numbers are
  formatted here (:func:`fmt_number`, :func:`fmt_pvalue`, :func:`fmt_percent`),
  so a table never shows ``1.234568e-06`` next to ``0.5``.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, DataError, FitError, VolresearchError

__all__ = [
    # pipeline
    "ReportError",
    "TEMPLATE_PACKAGE",
    "TEMPLATE_NAME",
    "CHROMIUM_FLAGS",
    "build_report",
    "template_path",
    "find_chromium",
    "execute_notebook",
    "notebook_to_html",
    "html_to_pdf",
    "default_pdf_name",
    # HTML clean-up
    "PRINT_CSS",
    "clean_html",
    "print_css",
    "remote_references",
    # choices made from the data
    "DAY_SECONDS",
    "DAILY_HORIZON",
    "SourceInfo",
    "WalkForwardPlan",
    "bar_label",
    "default_horizon",
    "is_intraday",
    "horizon_minutes",
    "describe_source",
    "walk_forward_plan",
    # presentation
    "HtmlBlock",
    "KEEP_TOGETHER_ROWS",
    "fmt_number",
    "fmt_pvalue",
    "fmt_percent",
    "verdict",
    "table",
    "key_values",
    "note",
    "heading",
    "figure",
    "grid",
    "concat",
]


# =============================================================================
# Choices made from the data
# =============================================================================
DAY_SECONDS = 86_400.0
"""Seconds in a day."""
DAILY_HORIZON = 20
"""Default horizon in bars for daily or longer bars (about a trading month)."""
_INTRADAY_LIMIT = 6 * 3600.0  # bars shorter than this are intraday

AssetClass = Literal["equity_index", "metal", "other"]


def is_intraday(bar_seconds: float | None) -> bool:
    """True for bars shorter than six hours (``None`` counts as daily)."""
    return bar_seconds is not None and math.isfinite(bar_seconds) and 0 < bar_seconds < _INTRADAY_LIMIT


def default_horizon(bar_seconds: float | None) -> int:
    """Forecast horizon in bars when the user gives none.

    Intraday bars: one day of them, ``round(86400 / bar_seconds)`` (1,440
    one-minute bars, the 24-hour horizon the confidence thresholds refer
    to).  Daily or longer bars, or an unknown bar length: 20 bars.
    """
    if is_intraday(bar_seconds):
        return max(1, round(DAY_SECONDS / float(bar_seconds)))  # type: ignore[arg-type]
    return DAILY_HORIZON


def bar_label(bar_seconds: float | None) -> str:
    """Bar length in words: ``"1 minute"``, ``"5 minutes"``, ``"1 hour"``, ``"1 day"``, ``"unknown length"``."""
    if bar_seconds is None or not math.isfinite(bar_seconds) or bar_seconds <= 0:
        return "unknown length"
    for unit, size in (("day", DAY_SECONDS), ("hour", 3600.0), ("minute", 60.0), ("second", 1.0)):
        if bar_seconds >= size and float(bar_seconds / size).is_integer():
            count = int(bar_seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{bar_seconds:g} seconds"


def horizon_minutes(horizon: int, bar_seconds: float | None) -> float:
    """Clock length of ``horizon`` bars in minutes (a daily bar counts 1,440 minutes)."""
    step = float(bar_seconds) if bar_seconds and math.isfinite(bar_seconds) and bar_seconds > 0 else DAY_SECONDS
    return horizon * step / 60.0


@dataclass(frozen=True)
class SourceInfo:
    """Where the data come from and what they are.

    Attributes
    ----------
    name
        Dataset name or file name.
    description
        One line for the title page.
    synthetic
        True for generated data, False for recorded market data, None when
        a file does not say.
    symbol
        Instrument symbol of the bars (``attrs["symbol"]``) or None.
    instrument
        Key used for the confidence thresholds (the symbol without a
        ``-SYN`` style suffix; ``"default"`` thresholds apply when unknown).
    asset_class
        ``"equity_index"``, ``"metal"`` or ``"other"`` (the leverage criterion
        of the stylized facts depends on it).
    """

    name: str
    description: str
    synthetic: bool | None
    symbol: str | None
    instrument: str
    asset_class: AssetClass

    @property
    def provenance(self) -> str:
        """``"synthetic data"``, ``"real market data"`` or a note that the file does not say."""
        if self.synthetic is True:
            return "synthetic data (generated, not market prices)"
        if self.synthetic is False:
            return "real market data"
        return "data from a file (not marked as synthetic)"


def _asset_class(symbol: str | None, instrument: str) -> AssetClass:
    if symbol and symbol.startswith("^"):
        return "equity_index"
    try:
        from volresearch.config import get_instrument

        cls = get_instrument(instrument).asset_class
    except Exception:  # unknown symbol or unreadable configuration: no leverage verdict
        return "other"
    if cls.startswith("equity_index"):
        return "equity_index"
    if cls.startswith("metal"):
        return "metal"
    return "other"


def describe_source(data: str | os.PathLike[str], bars: pd.DataFrame) -> SourceInfo:
    """Describe the report's data for its title page and its choices.

    Parameters
    ----------
    data
        The embedded dataset name or file path the bars were opened from.
    bars
        The bars (their ``attrs`` carry ``symbol``, ``synthetic`` and ``source``).
    """
    from volresearch.data.datasets import DATASETS

    symbol = bars.attrs.get("symbol")
    symbol = str(symbol) if symbol else None
    instrument = symbol.split("-")[0].upper() if symbol and not symbol.startswith("^") else (symbol or "default")
    key = str(data)
    if key in DATASETS:
        info = DATASETS[key]
        synthetic: bool | None = not info.real
        name, description = info.name, info.description
    else:
        path = Path(key)
        name = path.name
        description = f"bars read from {path}"
        synthetic = True if bars.attrs.get("synthetic") else None
    return SourceInfo(
        name=name,
        description=description,
        synthetic=synthetic,
        symbol=symbol,
        instrument=instrument,
        asset_class=_asset_class(symbol, instrument),
    )


@dataclass(frozen=True)
class WalkForwardPlan:
    """Layout of the report's walk-forward evaluation (bar counts).

    Attributes
    ----------
    in_sample, out_of_sample
        Returns per in-sample window and per out-of-sample period.
    windows
        Number of windows (the most recent ones).
    step
        Bars between forecast origins.
    horizon
        Forecast horizon in bars (1: one bar ahead).
    n_paths
        Ensemble members per forecast.
    first_bar
        Position of the first bar used (the bars before it are not needed).
    """

    in_sample: int
    out_of_sample: int
    windows: int
    step: int
    horizon: int
    n_paths: int
    first_bar: int

    @property
    def n_forecasts(self) -> int:
        """Approximate number of forecasts (origins per period times windows)."""
        return self.windows * math.ceil(self.out_of_sample / self.step)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields."""
        return {
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "windows": self.windows,
            "step": self.step,
            "horizon": self.horizon,
            "n_paths": self.n_paths,
            "first_bar": self.first_bar,
        }


def walk_forward_plan(
    n_bars: int,
    bar_seconds: float | None,
    *,
    n_paths: int,
    max_windows: int = 12,
    max_forecasts: int = 3000,
    max_paths: int = 1000,
    min_in_sample: int = 250,
) -> WalkForwardPlan | None:
    """Choose the report's walk-forward layout, or ``None`` when the data are too short.

    Daily or longer bars: 1,000 returns in sample (about four years) and 63
    out of sample (a quarter), rolled over the last ``max_windows``
    quarters (fewer when the data are shorter; with fewer than 1,063 returns
    half of them are in sample).  Intraday bars: a quarter of the returns in
    sample (at most 20,000) and a third of that out of sample, over at most
    ``max_windows`` periods.  Origins are ``step`` bars apart, the smallest
    stride giving at most ``max_forecasts`` forecasts; the ensembles have
    ``min(n_paths, max_paths)`` members.

    Parameters
    ----------
    n_bars
        Number of bars (returns are one fewer).
    bar_seconds
        Bar length in seconds (None: treated as daily).
    n_paths
        Paths of the report's price forecast.
    """
    n = int(n_bars) - 1
    if is_intraday(bar_seconds):
        in_sample = min(20_000, max(1_000, n // 4))
        out_of_sample = max(1, in_sample // 3)
    else:
        in_sample = 1_000 if n >= 1_000 + 63 else n // 2
        out_of_sample = 63 if n - in_sample >= 63 else max(0, n - in_sample)
    if in_sample < min_in_sample or out_of_sample < 1:
        return None
    windows = min(int(max_windows), (n - in_sample) // out_of_sample)
    if windows < 1:
        return None
    used = in_sample + windows * out_of_sample
    step = max(1, math.ceil(windows * out_of_sample / max(1, int(max_forecasts))))
    return WalkForwardPlan(
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        windows=windows,
        step=step,
        horizon=1,
        n_paths=max(100, min(int(n_paths), int(max_paths))),
        first_bar=n - used,
    )


# =============================================================================
# HTML clean-up and print stylesheet
# =============================================================================
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT_OPEN = re.compile(r"<script\b[^>]*/?>", re.IGNORECASE)
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\()?\s*[\"']?(?:https?:)?//[^;]*;", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)

#: Print stylesheet of the reports (A4, 10 pt DejaVu Sans, numbered pages).
PRINT_CSS = """
@page {
  size: A4;
  margin: 16mm 15mm 18mm 15mm;
  @bottom-left { content: "__FOOTER__"; font: 7.5pt "DejaVu Sans", sans-serif; color: #777; }
  @bottom-right {
    content: "page " counter(page) " of " counter(pages); font: 7.5pt "DejaVu Sans", sans-serif; color: #777;
  }
}
:root {
  --jp-content-font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
  --jp-ui-font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
  --jp-code-font-family: "DejaVu Sans Mono", monospace;
  --jp-content-font-size1: 9.5pt;
  --jp-code-font-size: 8.5pt;
  --jp-content-line-height: 1.4;
  --jp-content-font-color1: #1d1d1d;
}
html, body {
  background: #fff !important;
  margin: 0 !important;
  padding: 0 !important;
  font-family: var(--jp-content-font-family);
  font-size: 9.5pt;
  color: #1d1d1d;
}
.jp-Notebook, main { padding: 0 !important; margin: 0 !important; }
.jp-Cell { padding: 0 !important; margin: 0 !important; }
.jp-Cell-outputWrapper, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output,
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown {
  padding: 0 !important; margin: 0 !important; overflow: visible !important;
  max-width: 100% !important; width: 100% !important;
}
.jp-OutputPrompt, .jp-InputPrompt, .jp-Collapser { display: none !important; }
/* JupyterLab keeps each output on one page; long tables must be free to continue on the next */
.jp-OutputArea-child { break-inside: auto !important; page-break-inside: auto !important; }
.jp-RenderedHTMLCommon { font-size: 9.5pt; line-height: 1.4; }
.jp-RenderedHTMLCommon p { margin: 0.25em 0 0.55em 0; text-align: left; }
.jp-RenderedHTMLCommon ul, .jp-RenderedHTMLCommon ol { margin: 0.2em 0 0.6em 0; padding-left: 1.4em; }
.jp-RenderedHTMLCommon li { margin: 0.15em 0; }
.jp-RenderedHTMLCommon code { font-size: 8.5pt; background: #f3f3f3; padding: 0 2px; }
.jp-RenderedHTMLCommon h1, .jp-RenderedHTMLCommon h2, .jp-RenderedHTMLCommon h3 {
  color: #17375e; font-weight: 700; line-height: 1.2;
  break-after: avoid; page-break-after: avoid;
}
.jp-RenderedHTMLCommon h1 { font-size: 19pt; margin: 0 0 0.2em 0; }
.jp-RenderedHTMLCommon h2 {
  font-size: 14pt; margin: 0 0 0.45em 0; padding-bottom: 3px; border-bottom: 1.5px solid #17375e;
}
/* sections 3, 4 and 5 start a page; the reading guide, sections 1 and 2 flow from the title page */
.jp-MarkdownCell h2 { break-before: auto; page-break-before: auto; margin-top: 1.1em; }
.jp-MarkdownCell h2[id^="3."], .jp-MarkdownCell h2[id^="4."], .jp-MarkdownCell h2[id^="5."] {
  break-before: page; page-break-before: always; margin-top: 0;
}
.jp-RenderedHTMLCommon h3 { font-size: 11pt; margin: 0.9em 0 0.3em 0; }
a.anchor-link { display: none !important; }
.vr-subtitle { font-size: 11pt; color: #444; margin: 0 0 0.8em 0; }
.vr-note {
  border-left: 3px solid #17375e; background: #f4f7fb; padding: 5px 9px; margin: 0.5em 0 0.8em 0;
  font-size: 9pt; break-inside: avoid;
}
.vr-warning { border-left-color: #b8860b; background: #fdf7e6; }
.jp-RenderedHTMLCommon table.vr-table {
  border-collapse: collapse; margin: 0.3em 0 0.9em 0; font-size: 8.5pt; width: auto;
  max-width: 100%; table-layout: auto; break-inside: auto;
}
.jp-RenderedHTMLCommon table.vr-table.vr-wide { width: 100%; }
.jp-RenderedHTMLCommon table.vr-table.vr-keep { break-inside: avoid; page-break-inside: avoid; }
.jp-RenderedHTMLCommon table.vr-table caption {
  caption-side: top; text-align: left; font-weight: 700; color: #333; padding: 0 0 3px 0; font-size: 9pt;
}
.jp-RenderedHTMLCommon table.vr-table th, .jp-RenderedHTMLCommon table.vr-table td {
  border: none; border-bottom: 0.6px solid #d0d0d0; padding: 2.5px 7px; text-align: right;
  vertical-align: top; white-space: normal; max-width: none;
}
.jp-RenderedHTMLCommon table.vr-table th {
  background: #e9eef5; color: #17375e; font-weight: 700; border-bottom: 1px solid #17375e;
}
.jp-RenderedHTMLCommon table.vr-table tr:nth-child(even) td { background: #f8f9fb; }
.jp-RenderedHTMLCommon table.vr-table tr { break-inside: avoid; page-break-inside: avoid; }
.jp-RenderedHTMLCommon table.vr-table .vr-text { text-align: left; }
.jp-RenderedHTMLCommon table.vr-table .vr-num { text-align: right; white-space: nowrap; }
.jp-RenderedHTMLCommon table.vr-table .vr-key { text-align: left; font-weight: 600; color: #333; white-space: nowrap; }
.vr-pass { color: #1b7a2f; font-weight: 700; }
.vr-fail { color: #b22222; font-weight: 700; }
.vr-na { color: #888; }
.vr-grid { display: flex; gap: 14px; align-items: flex-start; flex-wrap: nowrap; margin: 0.2em 0 0.6em 0; }
.vr-grid > * { flex: 1 1 0; min-width: 0; }
figure.vr-figure { margin: 0.3em 0 0.8em 0; break-inside: avoid; page-break-inside: avoid; text-align: center; }
figure.vr-figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figure.vr-figure figcaption { font-size: 8.5pt; color: #555; text-align: left; margin-top: 3px; }
img { max-width: 100%; height: auto; }
pre { white-space: pre-wrap; word-break: break-word; font-size: 8pt; }
"""


def print_css(footer: str = "") -> str:
    """The print stylesheet with ``footer`` at the bottom left of every page.

    Parameters
    ----------
    footer
        Plain text (for example the dataset and model); quotes and
        backslashes are escaped for a CSS string.
    """
    text = footer.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return PRINT_CSS.replace("__FOOTER__", text)


def remote_references(page: str) -> list[str]:
    """Tags of ``page`` that would make a browser fetch something from the network.

    Every ``<script>`` (all JavaScript is unwanted in a printed report), every
    ``<link>`` or other tag whose ``src``/``href`` points to ``http(s)://``
    or a protocol-relative ``//`` address, and CSS ``@import`` of remote
    stylesheets.  Plain hyperlinks (``<a href>``) are not fetched and are not
    listed.
    """
    found = [m.group(0)[:200] for m in _SCRIPT_OPEN.finditer(page)]
    for tag in re.finditer(r"<(?!a\b)[a-z][^>]*>", page, re.IGNORECASE):
        if not tag.group(0).lower().startswith("<script") and _REMOTE.search(tag.group(0)):
            found.append(tag.group(0)[:200])
    found += [m.group(0)[:200] for m in _CSS_IMPORT.finditer(page)]
    return found


def clean_html(page: str, *, title: str | None = None, footer: str = "", css: str | None = None) -> str:
    """Remove scripts and remote references from ``page`` and add the print stylesheet.

    Parameters
    ----------
    page
        A complete HTML document (nbconvert output).
    title
        New document title (the ``<title>`` element), or ``None`` to keep it.
    footer
        Text at the bottom left of every printed page.
    css
        Stylesheet to add instead of :func:`print_css` (``""`` adds none).

    Returns
    -------
    str
        The document without ``<script>`` elements, remote ``<link>`` tags or
        remote ``@import`` rules, with the stylesheet appended to ``<head>``.
        :func:`remote_references` of the result is empty.
    """
    out = _SCRIPT.sub("", page)
    out = _SCRIPT_OPEN.sub("", out)  # unterminated or self-closing script tags
    out = _LINK.sub(lambda m: "" if _REMOTE.search(m.group(0)) else m.group(0), out)
    out = _CSS_IMPORT.sub("", out)
    # any other tag still pointing at the network (an <img> or <iframe> from a CDN) loses the address
    out = re.sub(
        r"<(?!a\b)([a-z][^>]*?)\s(src|href)\s*=\s*([\"'])\s*(?:https?:)?//[^\"']*\3",
        r"<\1",
        out,
        flags=re.IGNORECASE,
    )
    if title is not None:
        new_title = f"<title>{html.escape(title)}</title>"
        out = re.sub(r"<title>.*?</title>", new_title, out, count=1, flags=re.IGNORECASE | re.DOTALL)
    sheet = print_css(footer) if css is None else css
    if sheet:
        block = f'<style type="text/css">{sheet}</style>\n'
        has_head = _HEAD_END.search(out) is not None
        out = _HEAD_END.sub(lambda m: block + m.group(0), out, count=1) if has_head else block + out
    return out


# =============================================================================
# Presentation: tables, verdicts, notes, figures
# =============================================================================
Formatter = Callable[[Any], str]

KEEP_TOGETHER_ROWS = 15
"""Tables with at most this many rows are not split across pages."""


@dataclass(frozen=True)
class HtmlBlock:
    """A piece of HTML that notebooks display as such.

    Attributes
    ----------
    html
        The markup.
    """

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


# ----------------------------------------------------------------- formatting
def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, Real) and not isinstance(value, bool | Integral):
        return not math.isfinite(float(value))
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant figures, thousands separators, no exponent for everyday sizes.

    Integers and whole floats print whole (``5,031``); other floats print in fixed notation when
    ``1e-4 <= |x| < 1e9`` and in scientific notation otherwise
    (``1.69e-06``).  Missing and non-finite values print as an en dash,
    infinities as ``inf``.
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if value is None:
        return "\u2013"
    if isinstance(value, Integral | np.integer):
        return f"{int(value):,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "\u2013"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return "0"
    ax = abs(x)
    if x.is_integer() and 1.0 <= ax < 1e9:
        return f"{int(x):,}"
    if ax < 1e-4 or ax >= 1e9:
        return f"{x:.{max(digits - 1, 0)}e}"
    decimals = max(digits - 1 - int(math.floor(math.log10(ax))), 0)
    return f"{x:,.{decimals}f}"


def fmt_pvalue(value: Any) -> str:
    """A p-value: three decimals, ``< 0.001`` below that, en dash when missing."""
    if _is_missing(value):
        return "\u2013"
    p = float(value)
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_percent(value: Any, decimals: int = 1) -> str:
    """A fraction as a percentage (``0.0512`` -> ``5.1%``), en dash when missing."""
    if _is_missing(value):
        return "\u2013"
    return f"{100.0 * float(value):.{decimals}f}%"


def verdict(value: bool | None, *, yes: str = "pass", no: str = "fail", missing: str = "n/a") -> HtmlBlock:
    """A coloured pass/fail mark for a table cell (``None``: not applicable)."""
    if value is None or _is_missing(value):
        return HtmlBlock(f'<span class="vr-na">{html.escape(missing)}</span>')
    return HtmlBlock(
        f'<span class="vr-pass">{html.escape(yes)}</span>'
        if bool(value)
        else f'<span class="vr-fail">{html.escape(no)}</span>'
    )


def _cell(value: Any, formatter: Formatter | None) -> str:
    """Markup of one table cell."""
    if isinstance(value, HtmlBlock):
        return value.html
    if formatter is not None:
        out = formatter(value)
        return out.html if isinstance(out, HtmlBlock) else html.escape(str(out))
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, pd.Timestamp):
        return html.escape(f"{value:%Y-%m-%d %H:%M}")
    return html.escape(fmt_number(value))


# --------------------------------------------------------------------- tables
def table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, Formatter] | None = None,
    columns: Mapping[str, str] | None = None,
    text: Iterable[str] = (),
    caption: str | None = None,
    index: bool = False,
    wide: bool = False,
    max_rows: int | None = None,
) -> HtmlBlock:
    """A DataFrame as a styled HTML table.

    Parameters
    ----------
    frame
        The rows to show.  :class:`HtmlBlock` cells (e.g. from
        :func:`verdict`) keep their markup; everything else is formatted and
        escaped.
    formats
        Column name -> function turning a value into display text
        (default: :func:`fmt_number` for numbers, ``str`` for text).
    columns
        Column name -> header text (default: the column name).
    text
        Columns to left-align although they are formatted (e.g. labels).
    caption
        Table caption, above the table.
    index
        Show the index as the first column.
    wide
        Stretch the table to the page width.
    max_rows
        Show at most this many rows and say how many were left out.
    """
    formats = dict(formats or {})
    columns = dict(columns or {})
    text_cols = set(text)
    data = frame.reset_index() if index else frame
    shown = data if max_rows is None else data.head(max_rows)
    align = {c: "vr-text" if _is_text_column(data, c, text_cols, formats) else "vr-num" for c in data.columns}
    head = "".join(f'<th class="{align[c]}">{html.escape(str(columns.get(c, c)))}</th>' for c in data.columns)
    rows = []
    for _, row in shown.iterrows():
        cells = "".join(f'<td class="{align[c]}">{_cell(row[c], formats.get(c))}</td>' for c in data.columns)
        rows.append(f"<tr>{cells}</tr>")
    if max_rows is not None and len(data) > max_rows:
        rows.append(
            f'<tr><td class="vr-text vr-na" colspan="{len(data.columns)}">'
            f"{len(data) - max_rows:,} more rows not shown</td></tr>"
        )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    cls = "vr-table" + (" vr-wide" if wide else "") + (" vr-keep" if len(rows) <= KEEP_TOGETHER_ROWS else "")
    return HtmlBlock(f'<table class="{cls}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _is_text_column(frame: pd.DataFrame, column: Any, text_cols: set[str], formats: Mapping[str, Formatter]) -> bool:
    """Left-align a column of labels, text or verdicts; right-align numbers."""
    if column in text_cols:
        return True
    if column in formats:
        return False
    values = [v for v in frame[column].head(50) if not _is_missing(v)]
    return bool(values) and all(isinstance(v, str | HtmlBlock) for v in values)


def key_values(
    items: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    caption: str | None = None,
    formatter: Formatter | None = None,
) -> HtmlBlock:
    """A two-column table of labels and values.

    Values already formatted as text are shown as they are; numbers go
    through ``formatter`` (default :func:`fmt_number`); :func:`verdict`
    cells keep their markup.
    """
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    rows = []
    for key, value in pairs:
        markup = _cell(value, None if isinstance(value, str | HtmlBlock) else formatter)
        rows.append(f'<tr><td class="vr-key">{html.escape(str(key))}</td><td class="vr-text">{markup}</td></tr>')
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    cls = "vr-table vr-keep" if len(rows) <= KEEP_TOGETHER_ROWS else "vr-table"
    return HtmlBlock(f'<table class="{cls}">{cap}<tbody>{"".join(rows)}</tbody></table>')


def note(text: str, *, warning: bool = False) -> HtmlBlock:
    """A highlighted paragraph (``warning=True``: amber instead of blue)."""
    cls = "vr-note vr-warning" if warning else "vr-note"
    return HtmlBlock(f'<div class="{cls}">{html.escape(text)}</div>')


def heading(text: str, level: int = 1, *, subtitle: str | None = None) -> HtmlBlock:
    """A heading (``<h1>``..``<h3>``) with an optional subtitle line."""
    level = min(max(int(level), 1), 3)
    sub = f'<p class="vr-subtitle">{html.escape(subtitle)}</p>' if subtitle else ""
    return HtmlBlock(f"<h{level}>{html.escape(text)}</h{level}>{sub}")


# -------------------------------------------------------------------- figures
def figure(
    obj: Any,
    *,
    caption: str | None = None,
    size: tuple[float, float] | None = None,
    dpi: int = 130,
    width: str = "100%",
) -> HtmlBlock:
    """A HoloViews object rendered to PNG and embedded in the page.

    Parameters
    ----------
    obj
        Any figure of :mod:`volresearch.plots` (or other HoloViews object).
    caption
        Text under the figure.
    size
        ``(width, height)`` of the figure in inches (see
        :func:`volresearch.plots.render_png`); ``None`` keeps the figure's own size.
    dpi
        Resolution of the PNG.
    width
        CSS width of the image on the page (``"100%"``: the text width).
    """
    from volresearch.plots import render_png

    with tempfile.TemporaryDirectory() as tmp:
        path = render_png(obj, Path(tmp) / "figure.png", dpi=dpi, size=size)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return HtmlBlock(
        f'<figure class="vr-figure"><img src="data:image/png;base64,{data}" '
        f'style="width: {html.escape(width)}" alt="{html.escape(caption or "figure")}"/>{cap}</figure>'
    )


def grid(*blocks: HtmlBlock | str) -> HtmlBlock:
    """Blocks side by side in equal-width columns (e.g. two figures or two tables)."""
    inner = "".join(f"<div>{b}</div>" for b in blocks)
    return HtmlBlock(f'<div class="vr-grid">{inner}</div>')


def concat(*blocks: HtmlBlock | str) -> HtmlBlock:
    """Blocks one after the other, as a single output."""
    return HtmlBlock("".join(str(b) for b in blocks))


# =============================================================================
# The pipeline
# =============================================================================
TEMPLATE_PACKAGE = "volresearch.report_templates"
"""Package holding the report notebook (package data)."""
TEMPLATE_NAME = "report.ipynb"
"""File name of the report notebook."""
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--no-first-run",
    "--no-pdf-header-footer",
)
"""Command-line flags of the PDF printing step (before ``--print-to-pdf``)."""

_ENGINE = "volresearch-report"
_REPORTS_EXTRA = "pip install 'volresearch[reports]'"

Progress = Callable[[str], Any]


class ReportError(VolresearchError, RuntimeError):
    """A report could not be built: a missing tool, a failing cell or a failed conversion."""


def _quiet(message: str) -> None:
    """Progress sink that discards messages."""


def _template() -> Any:
    """The packaged report notebook as an ``importlib.resources`` traversable."""
    ref = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_NAME)
    if not ref.is_file():
        raise ReportError(f"the report notebook {TEMPLATE_NAME} is missing from package {TEMPLATE_PACKAGE}")
    return ref


def template_path() -> Path:
    """Path of the packaged report notebook (read-only package data of an installed package)."""
    return Path(str(_template()))


def find_chromium() -> str:
    """Path of the ``chromium`` executable.

    Raises
    ------
    ReportError
        Chromium is not on ``PATH``; the message names the Debian package.
    """
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise ReportError(
        "chromium was not found on PATH; PDF reports are printed with it: install the Debian package "
        "'chromium' (apt-get install chromium, or `make system-deps`)"
    )


def default_pdf_name(data: str | os.PathLike[str], model: str, dist: str) -> str:
    """File name used when ``out`` is a directory: ``report_<data>_<model>-<dist>.pdf``."""
    stem = Path(str(data)).stem if not str(data).isidentifier() else str(data)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem) or "data"
    return f"report_{safe}_{model}-{dist}.pdf"


# ------------------------------------------------------------------ execution
def _engine() -> str:
    """Register (once) the papermill engine that reports each cell start."""
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.exceptions import PapermillException

    try:
        papermill_engines.get_engine(_ENGINE)
    except PapermillException:

        class ReportEngine(NBClientEngine):
            """nbclient engine calling ``on_cell(cell, index, total)`` before each cell runs."""

            @classmethod
            def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
                on_cell = kwargs.pop("on_cell", None)
                if on_cell is not None:
                    start = nb_man.cell_start
                    total = sum(1 for c in nb_man.nb.cells if c.get("cell_type") == "code")

                    def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                        on_cell(cell, cell_index, total)
                        return start(cell, cell_index, **kw)

                    nb_man.cell_start = cell_start
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

        papermill_engines.register(_ENGINE, ReportEngine)
    return _ENGINE


def _cell_label(cell: Any) -> str:
    """Short description of a cell for progress lines."""
    metadata = cell.get("metadata", {})
    if "injected-parameters" in metadata.get("tags", []):
        return "parameters given to the report"
    label = metadata.get("volresearch", {}).get("step")
    if label:
        return str(label)
    first = str(cell.get("source", "")).strip().splitlines()
    return first[0][:60] if first else ""


def _kernel_options() -> dict[str, Any]:
    """Talk to the kernel over local IPC sockets where the platform has them.

    The kernel and this process then share no TCP port, and ipykernel does not
    print its warning about unencrypted TCP transport into the progress output.
    """
    if os.name != "posix":
        return {}
    from traitlets.config import Config

    return {"config": Config({"KernelManager": {"transport": "ipc"}})}


def execute_notebook(
    parameters: dict[str, Any],
    output: Path,
    *,
    progress: Progress = _quiet,
    cwd: Path | None = None,
    timeout: int = 1800,
) -> Any:
    """Run the report notebook with papermill and write the executed notebook to ``output``.

    Parameters
    ----------
    parameters
        Values of the notebook's ``parameters`` cell.
    output
        Where the executed notebook goes (written even when a cell fails).
    progress
        Called with ``"  step k/n: what it does"`` before each code cell
        (``n`` code cells, the parameters papermill injects included).
    cwd
        Working directory of the kernel.
    timeout
        Seconds a single cell may run.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    DataError, FitError, ConfigError
        The notebook raised one of these (the message is kept).
    ReportError
        Any other failure of a cell, naming the cell and the exception.
    """
    try:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError
    except ImportError as exc:
        raise ReportError(f"building a report needs papermill ({exc.name} is missing): {_REPORTS_EXTRA}") from None

    done = [0]

    def on_cell(cell: Any, index: int | None, total: int) -> None:
        if cell.get("cell_type") == "code":
            done[0] += 1
            progress(f"  step {done[0]}/{total}: {_cell_label(cell)}")

    try:
        with resources.as_file(_template()) as template:
            return pm.execute_notebook(
                str(template),
                str(output),
                parameters=parameters,
                engine_name=_engine(),
                kernel_name="python3",
                progress_bar=False,
                cwd=str(cwd) if cwd is not None else None,
                start_timeout=120,
                execution_timeout=timeout,
                on_cell=on_cell,
                **_kernel_options(),
            )
    except PapermillExecutionError as exc:
        where = f"cell {exc.cell_index + 1 if isinstance(exc.cell_index, int) else '?'}"
        message = f"{exc.evalue} (report notebook, {where}; executed notebook kept at {output})"
        known: dict[str, type[VolresearchError]] = {
            "DataError": DataError,
            "FitError": FitError,
            "ConfigError": ConfigError,
        }
        if exc.ename in known:
            raise known[exc.ename](message) from None
        raise ReportError(f"{exc.ename}: {message}") from None


# ------------------------------------------------------------------ conversion
def notebook_to_html(notebook: Any, *, title: str, footer: str = "") -> str:
    """Convert an executed notebook to one self-contained, print-ready HTML page.

    Code, prompts and stderr streams are left out, cells tagged
    ``remove-cell`` disappear and cells tagged ``remove-output`` lose their
    outputs; :func:`clean_html` then removes
    scripts and remote references and adds the print stylesheet.
    """
    try:
        from nbconvert import HTMLExporter
        from nbconvert.preprocessors import Preprocessor
        from traitlets.config import Config
    except ImportError as exc:
        raise ReportError(f"building a report needs nbconvert ({exc.name} is missing): {_REPORTS_EXTRA}") from None

    class DropStderr(Preprocessor):  # type: ignore[misc]
        """Remove stderr streams (warnings, progress bars) from every cell."""

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
            if cell.get("cell_type") == "code":
                cell.outputs = [
                    o
                    for o in cell.get("outputs", [])
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
            return cell, resources

    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ["remove-cell"]
    config.TagRemovePreprocessor.remove_all_outputs_tags = ["remove-output"]
    exporter = HTMLExporter(config=config, template_name="lab", theme="light")
    exporter.register_preprocessor(DropStderr, enabled=True)
    body, _ = exporter.from_notebook_node(notebook)
    return clean_html(body, title=title, footer=footer)


def html_to_pdf(html_file: Path, pdf: Path, *, timeout: float = 180.0) -> Path:
    """Print an HTML file to PDF with headless Chromium.

    Raises
    ------
    ReportError
        Chromium is missing, fails, times out or writes no PDF.
    """
    chromium = find_chromium()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.exists():
        pdf.unlink()
    with tempfile.TemporaryDirectory(prefix="volresearch-chromium-") as profile:
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"chromium did not finish printing {html_file} within {timeout:g} s") from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-5:])
        raise ReportError(f"chromium failed to print {html_file} to PDF (exit {done.returncode}): {tail}")
    with pdf.open("rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise ReportError(f"chromium wrote {pdf}, but it is not a PDF file")
    return pdf


# ------------------------------------------------------------------ the report
def _check_source(data: str | os.PathLike[str], progress: Progress) -> str:
    """The data argument for the notebook: a dataset name, or an absolute path to a file that passes validation."""
    from volresearch.data.datasets import DATASETS

    if isinstance(data, str) and data in DATASETS:
        return data
    path = Path(data).expanduser()
    if not path.is_file():
        raise DataError(
            f"{str(data)!r} is neither an embedded dataset nor an existing file; datasets: {', '.join(DATASETS)}",
            file=str(data),
            rule="unknown_source",
        )
    from volresearch.data import load_bars, validate_bars

    progress(f"checking {path}")
    quality = validate_bars(load_bars(path), policy="repair", file=str(path), raise_errors=False)
    quality.raise_for_errors()
    return str(path.resolve())


def build_report(
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    model: str = "gjr",
    dist: str = "sged",
    horizon: int | None = None,
    n_paths: int = 20_000,
    seed: int = 0,
    progress: Progress | None = print,
    keep_notebook: bool = True,
) -> Path:
    """Build the PDF research report of one dataset and model.

    Parameters
    ----------
    data
        Embedded dataset name (``volresearch.data.list_datasets()``) or a bar
        file (CSV/Parquet).
    out
        PDF file to write, or an existing directory (the file is then
        ``report_<data>_<model>-<dist>.pdf`` inside it).
    model, dist
        Volatility model (``garch``, ``gjr``, ``egarch``) and innovation law
        (``normal``, ``t``, ``skewt``, ``ged``, ``sged``).
    horizon
        Forecast horizon in bars; ``None`` lets the notebook choose from the
        bar length (one day of intraday bars, 20 daily bars).
    n_paths
        Paths of the price forecast; the walk-forward ensembles use
        ``min(n_paths, 1000)``.
    seed
        Seed of every simulation.
    progress
        Called with one line of text per stage and per notebook cell
        (``None``: silent).
    keep_notebook
        Keep the executed notebook and the HTML page next to the PDF (same
        name, suffixes ``.ipynb`` and ``.html``).  When a cell fails, the
        executed notebook is kept either way, for inspection.

    Returns
    -------
    pathlib.Path
        The PDF.

    Raises
    ------
    DataError
        Unknown dataset, missing file, or bars that fail validation.
    FitError
        The model cannot be fitted to the data.
    ConfigError
        Invalid options.
    ReportError
        A missing tool (papermill, nbconvert, chromium) or a failing step.
    """
    say: Progress = progress if progress is not None else _quiet
    t0 = time.perf_counter()
    from volresearch.models.distributions import DISTRIBUTIONS
    from volresearch.models.garch import VOLATILITY_MODELS

    if model not in VOLATILITY_MODELS:
        raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(sorted(VOLATILITY_MODELS))}")
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"unknown distribution {dist!r}; choose one of {', '.join(sorted(DISTRIBUTIONS))}")
    if horizon is not None and (isinstance(horizon, bool) or int(horizon) < 1):
        raise ConfigError(f"horizon must be a positive number of bars, got {horizon!r}")
    if int(n_paths) < 100:
        raise ConfigError(f"n_paths must be at least 100, got {n_paths!r}")
    out_path = Path(out).expanduser()
    if out_path.is_dir():
        out_path = out_path / default_pdf_name(data, model, dist)
    elif out_path.suffix.lower() != ".pdf":
        out_path = out_path.with_suffix(out_path.suffix + ".pdf") if out_path.suffix else out_path.with_suffix(".pdf")
    out_path = out_path.resolve()

    source = _check_source(data, say)
    find_chromium()  # fail before the long part when the printer is missing
    out_path.parent.mkdir(parents=True, exist_ok=True)
    parameters = {
        "data": source,
        "model": model,
        "dist": dist,
        "horizon": None if horizon is None else int(horizon),
        "n_paths": int(n_paths),
        "seed": int(seed),
    }
    label = f"{Path(str(data)).name if source != data else data}, {model.upper()}-{dist}"
    # The executed notebook goes next to the PDF even when it is not to be kept,
    # so that it is there to inspect when a cell fails; it is removed on success.
    nb_file = out_path.with_suffix(".ipynb")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="volresearch-report-")))
        html_file = (out_path.parent if keep_notebook else work) / f"{out_path.stem}.html"

        say(f"executing the report notebook ({label})")
        executed = execute_notebook(parameters, nb_file, progress=say, cwd=work)
        if not keep_notebook:
            nb_file.unlink(missing_ok=True)
        say(f"converting to HTML ({time.perf_counter() - t0:.0f} s)")
        page = notebook_to_html(
            executed, title=f"Volatility research report: {label}", footer=f"volresearch report: {label}"
        )
        html_file.write_text(page, encoding="utf-8")
        say("printing the PDF with chromium")
        html_to_pdf(html_file, out_path)
    say(f"report written to {out_path} in {time.perf_counter() - t0:.0f} s")
    if keep_notebook:
        say(f"  executed notebook {nb_file}, HTML page {html_file}")
    return out_path
