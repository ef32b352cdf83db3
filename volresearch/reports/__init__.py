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
   a page break before the forecast, section 4).
3. **Print** the page to PDF with Debian's ``chromium`` in headless mode.

Files of bars are validated before the kernel starts, so a file that fails
validation stops the report with the validation error (embedded datasets are
validated inside the notebook).  A failure inside the notebook raises
:class:`ReportError` naming the cell and the exception, the executed notebook
kept for inspection; errors of the data, the model or the options keep their
own classes (:class:`~volresearch.errors.DataError`,
:class:`~volresearch.errors.FitError`, :class:`~volresearch.errors.ConfigError`).

The stages live in :mod:`~volresearch.reports.execute` (notebook execution)
and :mod:`~volresearch.reports.convert` (HTML clean-up, HTML and PDF
conversion).  The package also holds what the notebook needs beyond the
analysis API (every name is importable from ``volresearch.reports``):

* report choices made from the data (:mod:`~volresearch.reports.choices`) -- :func:`default_horizon` (one day of
  intraday bars, 20 daily bars), :func:`describe_source` (dataset or file,
  real or synthetic, instrument, asset class) and :func:`walk_forward_plan`
  (a quick walk-forward layout over the most recent windows);
* presentation (:mod:`~volresearch.reports.layout`) -- :class:`HtmlBlock` and the helpers :func:`table`,
  :func:`key_values`, :func:`verdict`, :func:`note`, :func:`heading`,
  :func:`figure` (a HoloViews object rendered to PNG with
  :func:`volresearch.plots.render_png`, embedded as a ``data:`` URI),
  :func:`grid` and :func:`concat`.  Cells are HTML-escaped and numbers are
  formatted here (:func:`fmt_number`, :func:`fmt_pvalue`, :func:`fmt_percent`),
  so a table never shows ``1.234568e-06`` next to ``0.5``.
"""

from __future__ import annotations

import os
import shutil  # noqa: F401  (tests and callers patch shutil.which through this module)
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from volresearch.errors import ConfigError, DataError
from volresearch.reports._base import Progress, ReportError, _quiet
from volresearch.reports.choices import (
    DAILY_HORIZON,
    DAY_SECONDS,
    WalkForwardPlan,
    bar_label,
    default_horizon,
    describe_source,
    horizon_minutes,
    is_intraday,
    walk_forward_plan,
)
from volresearch.reports.convert import (
    CHROMIUM_FLAGS,
    PRINT_CSS,
    clean_html,
    find_chromium,
    html_to_pdf,
    notebook_to_html,
    print_css,
    remote_references,
)
from volresearch.reports.execute import (
    TEMPLATE_NAME,
    TEMPLATE_PACKAGE,
    default_pdf_name,
    execute_notebook,
    template_path,
)
from volresearch.reports.layout import (
    KEEP_TOGETHER_ROWS,
    HtmlBlock,
    concat,
    figure,
    fmt_number,
    fmt_percent,
    fmt_pvalue,
    grid,
    heading,
    key_values,
    note,
    table,
    verdict,
)
from volresearch.reports.sanity import DRIFT_K, WIDTH_RANGE, ForecastSanity, forecast_sanity
from volresearch.reports.source import SourceInfo

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
    # sanity of the forecast
    "DRIFT_K",
    "WIDTH_RANGE",
    "ForecastSanity",
    "forecast_sanity",
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


# ------------------------------------------------------------------ the report
def _check_source(data: str | os.PathLike[str], progress: Progress, label: str = "start") -> str:
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
    quality = validate_bars(load_bars(path, label=label), policy="repair", file=str(path), raise_errors=False)
    quality.raise_for_errors()
    return str(path.resolve())


def build_report(
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    model: str | None = None,
    dist: str | None = None,
    mean: str = "auto",
    instrument: str | None = None,
    label: str = "start",
    horizon: int | None = None,
    n_paths: int = 20_000,
    seed: int = 0,
    progress: Progress | None = print,
    keep_notebook: bool = True,
    quiet: bool = False,
) -> Path:
    """Build the PDF research report of one dataset and model.

    Parameters
    ----------
    data
        Embedded dataset name (``volresearch.data.list_datasets()``) or a bar
        file (CSV/Parquet).
    out
        PDF file to write, or an existing directory (the file is then
        ``report_<data>_<model>.pdf`` inside it).
    model, dist
        The model: any registry name (:func:`volresearch.registry.available_models`:
        ``gjr-sged``, ``intraday-gjr-t``, ``heston``, ``svcj``, ``merton``...)
        or a GARCH family (``garch``, ``gjr``, ``egarch``) with the innovation
        law ``dist`` (``normal``, ``t``, ``skewt``, ``ged``, ``sged``; default
        ``sged``).  ``None``: :func:`volresearch.registry.default_model` of the
        bars (the multiplicative intraday GARCH for bars shorter than a day,
        GJR-SGED otherwise).
    mean
        Mean of the returns: ``"auto"`` (default; zero for intraday bars,
        constant for daily, :func:`volresearch.models.returns.default_mean`,
        as ``volresearch validate``), ``"zero"`` or ``"constant"``.  It
        applies to the fit, the forecast and the walk-forward.
    instrument
        Instrument symbol in the instrument table (``instruments.yaml``
        merged with ``VOLRESEARCH_INSTRUMENTS``): named on the title page;
        its tick size sets the precision of every price, its asset class the
        stylized-fact expectations and its calendar the session-time axes.
        ``None``: the symbol the data carry, else none (prices at the tick
        inferred from the data's price grid).
    label
        ``"end"`` when the file's time stamps mark bar ends (moved back one
        bar length, noted in the data-quality section).
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
    quiet
        Silence ``progress`` too (same as ``progress=None``).
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
    say: Progress = progress if progress is not None and not quiet else _quiet
    t0 = time.perf_counter()
    from volresearch.models.distributions import DISTRIBUTIONS
    from volresearch.registry import get_model, model_label

    if dist is not None and dist not in DISTRIBUTIONS:
        raise ConfigError(f"unknown distribution {dist!r}; choose one of {', '.join(sorted(DISTRIBUTIONS))}")
    if model is not None:
        from volresearch.models.garch import VOLATILITY_MODELS

        law = dist if dist is not None else ("sged" if model in VOLATILITY_MODELS else None)
        get_model(model_label(model, law))  # ConfigError lists the registered names
    if horizon is not None and (isinstance(horizon, bool) or int(horizon) < 1):
        raise ConfigError(f"horizon must be a positive number of bars, got {horizon!r}")
    if int(n_paths) < 100:
        raise ConfigError(f"n_paths must be at least 100, got {n_paths!r}")
    if mean not in ("auto", "zero", "constant"):
        raise ConfigError(f"mean must be 'auto', 'zero' or 'constant', got {mean!r}")
    if label not in ("start", "end"):
        raise ConfigError(f"label must be 'start' or 'end', got {label!r}")
    if instrument is not None:
        from volresearch.config import get_instrument

        instrument = get_instrument(instrument).symbol  # ConfigError lists the known symbols
    out_path = Path(out).expanduser()
    if out_path.is_dir():
        out_path = out_path / default_pdf_name(data, model, dist)
    elif out_path.suffix.lower() != ".pdf":
        out_path = out_path.with_suffix(out_path.suffix + ".pdf") if out_path.suffix else out_path.with_suffix(".pdf")
    out_path = out_path.resolve()

    source = _check_source(data, say, label)
    find_chromium()  # fail before the long part when the printer is missing
    out_path.parent.mkdir(parents=True, exist_ok=True)
    parameters = {
        "data": source,
        "model": model,
        "dist": dist,
        "mean": mean,
        "instrument": instrument,
        "stamps": label,
        "horizon": None if horizon is None else int(horizon),
        "n_paths": int(n_paths),
        "seed": int(seed),
    }
    what = "default model" if model is None else model_label(model, dist or None)
    title = f"{Path(str(data)).name if source != data else data}, {what}"
    if instrument is not None:
        title = f"{instrument}, {title}"
    # The executed notebook goes next to the PDF even when it is not to be kept,
    # so that it is there to inspect when a cell fails; it is removed on success.
    nb_file = out_path.with_suffix(".ipynb")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="volresearch-report-")))
        html_file = (out_path.parent if keep_notebook else work) / f"{out_path.stem}.html"

        say(f"executing the report notebook ({title})")
        executed = execute_notebook(parameters, nb_file, progress=say, cwd=work, quiet=True if quiet else None)
        if not keep_notebook:
            nb_file.unlink(missing_ok=True)
        say(f"converting to HTML ({time.perf_counter() - t0:.0f} s)")
        page = notebook_to_html(
            executed, title=f"Volatility research report: {title}", footer=f"volresearch report: {title}"
        )
        html_file.write_text(page, encoding="utf-8")
        say("printing the PDF with chromium")
        html_to_pdf(html_file, out_path)
    say(f"report written to {out_path} in {time.perf_counter() - t0:.0f} s")
    if keep_notebook:
        say(f"  executed notebook {nb_file}, HTML page {html_file}")
    return out_path
