"""Write a phase notebook from a compact cell list (keeps notebooks reviewable as Python).

Usage from Python: ``write_notebook(path, cells)`` where cells is a list of
("md" | "code" | "params" | "check", source).  The "params" cell is tagged
``parameters`` for papermill.  A "check" cell is a code cell whose first line
is ``# NBVAL_CHECK_OUTPUT``: ``pytest --nbval-lax notebooks`` compares what it
prints with the output committed in the notebook.  It must only print (plain,
rounded text; no return value, no chart).

Notebooks are written without outputs, except that a checked cell whose id and
source are unchanged keeps the output already committed for it.  Run
``refresh_outputs.py`` afterwards to execute the notebook and record the
outputs of new or changed checked cells.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

MARKER = "# NBVAL_CHECK_OUTPUT"


def _committed_checked_cells(path: Path) -> dict[str, nbformat.NotebookNode]:
    if not path.exists():
        return {}
    old = nbformat.read(path, as_version=4)
    return {c.get("id"): c for c in old.cells if c.cell_type == "code" and c.source.startswith(MARKER) and c.outputs}


def write_notebook(path: str | Path, cells: list[tuple[str, str]]) -> None:
    path = Path(path)
    committed = _committed_checked_cells(path)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(src))
        elif kind == "params":
            cell = nbformat.v4.new_code_cell(src)
            cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
        elif kind == "check":
            nb.cells.append(nbformat.v4.new_code_cell(f"{MARKER}\n{src}"))
        elif kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(src))
        else:
            raise ValueError(f"unknown cell kind {kind!r}")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{path.stem[:2]}-{i:02d}"
        old = committed.get(cell["id"])
        if old is not None and old.source == cell.source:
            cell.outputs = old.outputs
            cell.execution_count = old.execution_count
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb), encoding="utf-8")
