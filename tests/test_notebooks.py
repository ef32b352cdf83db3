"""Every phase notebook runs headless with papermill with its alternative parameters; nbval runs the defaults.

Alternative parameter sets live in ``notebooks/parameters.yaml``; each runs
here with papermill, and a notebook that raises fails the suite.  The default
parameters run in ``make test``'s ``pytest --nbval-lax notebooks`` step (not
twice): nbval executes each notebook, fails on any error and compares the output of
every cell whose first line is ``# NBVAL_CHECK_OUTPUT`` with the output
committed for it (fitted parameters, test verdicts and counts at the default
parameters and seed), so a numerical regression fails the suite.  Every other
cell is committed without outputs.  ``notebooks/_src/refresh_outputs.py``
re-records the checked outputs.
"""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import sys
import types
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "_src"
MARKER = "# NBVAL_CHECK_OUTPUT"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALTERNATIVES = yaml.safe_load((ROOT / "notebooks" / "parameters.yaml").read_text()) or {}

CASES = [(nb, f"alt{i}", params) for nb in NOTEBOOKS for i, params in enumerate(ALTERNATIVES.get(nb.name, []))]


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _load_src_module(name: str):
    spec = importlib.util.spec_from_file_location(name, SRC / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Checked outputs must not depend on the machine: no file paths, object addresses or clock times.
MACHINE_DEPENDENT = re.compile(
    r"/home/|/tmp/|/work/|/Users/|[A-Za-z]:\\|0x[0-9a-f]{6,}|\b\d+(\.\d+)? ?(ms|sec|seconds)\b"
)


def test_every_notebook_has_a_parameters_cell_and_outputs_only_on_checked_cells():
    assert NOTEBOOKS, "no phase notebooks found"
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters'"
        checked = 0
        for i, c in enumerate(cells):
            if c["cell_type"] != "code":
                continue
            lines = _source(c).split("\n")
            where = f"{nb.name} cell {i}"
            assert not any(MARKER in line for line in lines[1:]), f"{where}: the check marker must be the first line"
            if lines[0].strip() != MARKER:
                assert not c.get("outputs"), f"{where}: committed with outputs but not marked {MARKER}"
                assert c.get("execution_count") is None, f"{where}: committed with an execution count"
                continue
            checked += 1
            outputs = c.get("outputs", [])
            assert c.get("execution_count") is not None, f"{where}: nbval checks only cells with an execution count"
            assert [(o["output_type"], o.get("name")) for o in outputs] == [("stream", "stdout")], (
                f"{where}: a checked cell is committed with exactly one stdout output"
            )
            text = _source({"source": outputs[0]["text"]})
            assert text.strip(), f"{where}: empty checked output"
            assert not MACHINE_DEPENDENT.search(text), f"{where}: machine-dependent text in a checked output"
        assert checked, f"{nb.name}: no cell marked {MARKER}; nbval would check nothing"


@pytest.mark.parametrize("generator", sorted(SRC.glob("notebook_*.py")), ids=lambda p: p.stem)
def test_generated_notebooks_match_their_source(generator: Path, monkeypatch):
    """Notebooks written from ``notebooks/_src`` are committed as their source writes them."""
    written: list[tuple[Path, list[tuple[str, str]]]] = []
    make_notebook = _load_src_module("make_notebook")
    fake = types.ModuleType("make_notebook")
    fake.write_notebook = lambda path, cells: written.append((Path(path), cells))
    monkeypatch.setitem(sys.modules, "make_notebook", fake)
    runpy.run_path(str(generator))
    assert written
    for path, cells in written:
        expected = [
            f"{make_notebook.MARKER}\n{src.strip(chr(10))}" if kind == "check" else src.strip("\n")
            for kind, src in cells
        ]
        committed = [_source(c) for c in json.loads(path.read_text())["cells"]]
        assert committed == expected, f"{path.name} differs from {generator.name}: regenerate it"


def test_refresh_keeps_outputs_of_checked_cells_only():
    refresh = _load_src_module("refresh_outputs")
    source = nbformat.v4.new_notebook()
    source.cells = [
        nbformat.v4.new_code_cell("x = 1\nprint(x)"),
        nbformat.v4.new_code_cell(f"{MARKER}\nprint(round(2 / 3, 4))"),
        nbformat.v4.new_markdown_cell("text"),
    ]
    for i, cell in enumerate(source.cells):
        cell["id"] = f"c{i}"
    executed = nbformat.from_dict(source)
    executed.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    executed.cells[0].execution_count = 1
    executed.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="0.6667"),
        nbformat.v4.new_output("stream", name="stdout", text="\n"),
    ]
    executed.cells[1].execution_count = 2
    result = refresh.with_checked_outputs(source, executed, "t.ipynb")
    assert result.cells[0].outputs == [] and result.cells[0].execution_count is None
    assert result.cells[1].execution_count is not None
    assert [(o.output_type, o.name, o.text) for o in result.cells[1].outputs] == [("stream", "stdout", "0.6667\n")]

    executed.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy"))
    with pytest.raises(ValueError, match="stderr"):
        refresh.with_checked_outputs(source, executed, "t.ipynb")
    executed.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "0.6667"})]
    with pytest.raises(ValueError, match="print"):
        refresh.with_checked_outputs(source, executed, "t.ipynb")
    source.cells[1].source = "print(1)"
    with pytest.raises(ValueError, match="no cell starts with"):
        refresh.with_checked_outputs(source, executed, "t.ipynb")


def test_every_notebook_has_an_alternative_parameter_set():
    missing = [nb.name for nb in NOTEBOOKS if not ALTERNATIVES.get(nb.name)]
    assert not missing, f"no alternative parameters for {missing}"


def _resolve_paths(params: dict) -> dict:
    """Parameter values naming a file relative to the repository root, made absolute.

    Notebooks run with ``notebooks/`` as working directory; ``parameters.yaml``
    names fixture files from the repository root (``tests/fixtures/...``).
    """

    def resolve(v):
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return str(ROOT / v) if isinstance(v, str) and "/" in v and (ROOT / v).is_file() else v

    return {k: resolve(v) for k, v in params.items()}


def test_alternative_parameter_files_exist():
    """Every parameter value that looks like a repository file exists (a typo would fall back to a dataset name)."""
    for name, sets in ALTERNATIVES.items():
        for params in sets:
            for key, value in params.items():
                if isinstance(value, str) and value.startswith("tests/"):
                    assert (ROOT / value).is_file(), f"{name}: {key}={value} is not a file"


def test_a_notebook_runs_on_a_file_with_a_non_es_tick():
    """At least notebooks 04 and 07 have a parameter set on a file (not an embedded dataset)."""
    for prefix in ("04_", "07_"):
        sets = [p for name, ps in ALTERNATIVES.items() if name.startswith(prefix) for p in ps]
        files = [p["data"] for p in sets if isinstance(p.get("data"), str) and (ROOT / p["data"]).is_file()]
        assert files, f"no parameter set runs notebook {prefix}* on a file"


@pytest.mark.parametrize("notebook,label,params", CASES, ids=[f"{c[0].stem}-{c[1]}" for c in CASES])
def test_notebook_executes(notebook: Path, label: str, params: dict, tmp_path: Path):
    out = tmp_path / f"{notebook.stem}-{label}.ipynb"
    pm.execute_notebook(
        str(notebook),
        str(out),
        parameters=_resolve_paths(params),
        cwd=str(notebook.parent),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    executed = json.loads(out.read_text())
    errors = [
        o
        for c in executed["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
