"""Notebook execution: the packaged report notebook run by papermill, cell by cell with progress."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from volresearch.errors import ConfigError, DataError, FitError, VolresearchError
from volresearch.reports._base import _ENGINE, _REPORTS_EXTRA, Progress, ReportError, _quiet

# The pipeline
# =============================================================================
TEMPLATE_PACKAGE = "volresearch.report_templates"
"""Package holding the report notebook (package data)."""
TEMPLATE_NAME = "report.ipynb"
"""File name of the report notebook."""


def _template() -> Any:
    """The packaged report notebook as an ``importlib.resources`` traversable."""
    ref = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_NAME)
    if not ref.is_file():
        raise ReportError(f"the report notebook {TEMPLATE_NAME} is missing from package {TEMPLATE_PACKAGE}")
    return ref


def template_path() -> Path:
    """Path of the packaged report notebook (read-only package data of an installed package)."""
    return Path(str(_template()))


def default_pdf_name(data: str | os.PathLike[str], model: str | None, dist: str | None = None) -> str:
    """File name used when ``out`` is a directory: ``report_<data>_<model>[-<dist>].pdf`` (``default`` model)."""
    stem = Path(str(data)).stem if not str(data).isidentifier() else str(data)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem) or "data"
    what = "default" if model is None else (f"{model}-{dist}" if dist and "-" not in model else model)
    return f"report_{safe}_{what}.pdf"


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
    quiet: bool | None = None,
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
    quiet
        ``True``: no progress bar; otherwise a bar on stderr counts the code
        cells with elapsed and remaining time (:func:`volresearch.progress.progress`).

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

    from volresearch.progress import progress as progress_bar

    done = [0]
    bars: list[Any] = []

    def on_cell(cell: Any, index: int | None, total: int) -> None:
        if cell.get("cell_type") == "code":
            if not bars:
                bars.append(progress_bar(total=total, desc="report cells", unit="cell", quiet=quiet))
            else:
                bars[0].update()
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
        for bar in bars:
            bar.close()
        bars.clear()
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
    finally:
        for bar in bars:
            bar.update()  # the last cell has finished
            bar.close()


# ------------------------------------------------------------------ conversion
