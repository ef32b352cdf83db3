"""Every phase notebook runs headless with papermill, with default and alternative parameters.

Alternative parameter sets live in ``notebooks/parameters.yaml``.  A notebook
that raises fails the suite; ``make test`` additionally runs ``pytest --nbval-lax
notebooks`` so nbval executes and checks each notebook as committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALTERNATIVES = yaml.safe_load((ROOT / "notebooks" / "parameters.yaml").read_text()) or {}

CASES = [(nb, "default", {}) for nb in NOTEBOOKS] + [
    (nb, f"alt{i}", params) for nb in NOTEBOOKS for i, params in enumerate(ALTERNATIVES.get(nb.name, []))
]


def test_every_notebook_has_a_parameters_cell_and_no_outputs():
    assert NOTEBOOKS, "no phase notebooks found"
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters'"
        for c in cells:
            if c["cell_type"] == "code":
                assert not c.get("outputs"), f"{nb.name}: committed with outputs"


def test_every_notebook_has_an_alternative_parameter_set():
    missing = [nb.name for nb in NOTEBOOKS if not ALTERNATIVES.get(nb.name)]
    assert not missing, f"no alternative parameters for {missing}"


@pytest.mark.parametrize("notebook,label,params", CASES, ids=[f"{c[0].stem}-{c[1]}" for c in CASES])
def test_notebook_executes(notebook: Path, label: str, params: dict, tmp_path: Path):
    out = tmp_path / f"{notebook.stem}-{label}.ipynb"
    pm.execute_notebook(
        str(notebook),
        str(out),
        parameters=params,
        cwd=str(notebook.parent),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    executed = json.loads(out.read_text())
    errors = [
        o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
