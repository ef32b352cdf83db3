"""Presentation for the report notebook: HTML blocks, number formats, tables, notes, figures."""

from __future__ import annotations

import base64
import html
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
