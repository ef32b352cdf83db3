"""Write a phase notebook from a compact cell list (keeps notebooks reviewable as Python).

Usage from Python: ``write_notebook(path, cells)`` where cells is a list of
("md" | "code" | "params", source).  The "params" cell is tagged ``parameters``
for papermill.  Notebooks are written without outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: str | Path, cells: list[tuple[str, str]]) -> None:
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
        else:
            nb.cells.append(nbformat.v4.new_code_cell(src))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(path).stem[:2]}-{i:02d}"
    nbformat.validate(nb)
    Path(path).write_text(nbformat.writes(nb), encoding="utf-8")
