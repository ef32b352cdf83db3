"""Refresh the checked outputs of the phase notebooks.

A code cell whose first line is ``# NBVAL_CHECK_OUTPUT`` is a *checked* cell:
it is committed with the output it prints when the notebook runs with its
default parameters, and ``pytest --nbval-lax notebooks`` fails when a fresh run
prints anything else.  Every other cell is committed without outputs.

This script executes each notebook with papermill (default parameters, working
directory ``notebooks/``), keeps the outputs of the checked cells only and
writes the notebook back.  Checked cells must print plain text to stdout and
nothing else (no return value, no display, no warnings on stderr), so the
committed text is exactly what nbval compares; the script refuses to write a
notebook whose checked cells do otherwise.

Usage, from the repository root::

    .venv/bin/python notebooks/_src/refresh_outputs.py           # every phase notebook
    .venv/bin/python notebooks/_src/refresh_outputs.py 02 04     # those whose name starts so
    .venv/bin/python notebooks/_src/refresh_outputs.py --check   # compare only, exit 1 on a difference

After regenerating a notebook from its source here (``python notebook_04.py``,
which writes it without outputs), run this script for it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

MARKER = "# NBVAL_CHECK_OUTPUT"
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1]


def is_checked(cell: dict) -> bool:
    """True for a code cell whose first line is the check marker."""
    if cell.get("cell_type") != "code":
        return False
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return source.lstrip("\n").split("\n", 1)[0].strip() == MARKER


def phase_notebooks(prefixes: list[str] | None = None) -> list[Path]:
    """Phase notebooks (``NN_name.ipynb``), optionally only those starting with one of ``prefixes``."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        found = [p for p in found if any(p.name.startswith(x) for x in prefixes)]
    return found


def checked_text(outputs: list[dict], where: str) -> str:
    """The stdout text of a checked cell's outputs; ``ValueError`` for anything else."""
    parts = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
        elif out.get("output_type") == "stream":
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            raise ValueError(f"{where}: checked cell wrote to {out.get('name')}: {text[:300]!r}")
        elif out.get("output_type") == "error":
            raise ValueError(f"{where}: checked cell raised {out.get('ename')}: {out.get('evalue')}")
        else:
            raise ValueError(
                f"{where}: checked cell produced a {out.get('output_type')} output; "
                "print the values instead of returning or displaying them"
            )
    text = "".join(parts)
    if not text.strip():
        raise ValueError(f"{where}: checked cell printed nothing")
    return text


def with_checked_outputs(source_nb: nbformat.NotebookNode, executed_nb: nbformat.NotebookNode, name: str):
    """A copy of ``source_nb`` carrying the outputs of its checked cells taken from ``executed_nb``.

    Cells are matched by id.  Unchecked code cells get no outputs and no
    execution count; checked cells get one stdout stream and a sequential
    execution count (nbval compares only cells that have one).
    """
    executed = {c.get("id"): c for c in executed_nb.cells}
    result = nbformat.from_dict(source_nb)
    count = 0
    for i, cell in enumerate(result.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        if not is_checked(cell):
            continue
        ran = executed.get(cell.get("id"))
        if ran is None:
            raise ValueError(f"{name} cell {i}: no executed cell with id {cell.get('id')!r}")
        text = checked_text(ran.get("outputs", []), f"{name} cell {i}")
        count += 1
        cell.execution_count = count
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if count == 0:
        raise ValueError(f"{name}: no cell starts with {MARKER}")
    for key in ("papermill",):
        result.metadata.pop(key, None)
    return result


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Run ``path`` with its default parameters and return the executed notebook."""
    import papermill as pm

    out = workdir / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        cwd=str(path.parent),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=1200,
    )
    return nbformat.read(out, as_version=4)


def checked_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Committed text of each checked cell, in order."""
    return [
        checked_text(c.get("outputs", []), "committed") if c.get("outputs") else "" for c in nb.cells if is_checked(c)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose name starts with one of these (e.g. 04)")
    parser.add_argument("--check", action="store_true", help="compare with the committed outputs, write nothing")
    args = parser.parse_args(argv)
    notebooks = phase_notebooks(args.prefixes)
    if not notebooks:
        print("no notebook matches", args.prefixes, file=sys.stderr)
        return 2
    changed, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in notebooks:
            source = nbformat.read(path, as_version=4)
            try:
                executed = execute(path, Path(tmp))
                refreshed = with_checked_outputs(source, executed, path.name)
            except Exception as exc:  # report every notebook, then fail
                failed.append(path.name)
                print(f"{path.name}: FAILED, left as it was: {exc}", file=sys.stderr)
                continue
            if checked_outputs(refreshed) != checked_outputs(source):
                changed.append(path.name)
            if args.check:
                print(f"{path.name}: {'differs' if path.name in changed else 'unchanged'}")
            else:
                nbformat.validate(refreshed)
                path.write_text(nbformat.writes(refreshed), encoding="utf-8")
                print(f"{path.name}: {'updated' if path.name in changed else 'unchanged'}")
    return 1 if failed or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
