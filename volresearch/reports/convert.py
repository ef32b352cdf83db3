"""HTML and PDF conversion: nbconvert to one clean self-contained page, chromium to PDF."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from volresearch.reports._base import _REPORTS_EXTRA, ReportError

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
/* the forecast (section 4) starts a page; everything else flows, so no page is left nearly empty */
.jp-MarkdownCell h2 { break-before: auto; page-break-before: auto; margin-top: 1.1em; }
.jp-MarkdownCell h2[id^="4."] {
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
