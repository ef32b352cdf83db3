"""Fail when a package's line coverage drops under its floor.

Reads the JSON report written by ``pytest --cov=volresearch --cov-report=json:PATH``
and prints one line per package: covered / total statements and the floor.
Functions compiled by numba (``@njit``) are left out of the statements
(``[tool.coverage.report]`` in ``pyproject.toml``): coverage.py cannot trace
compiled code; each kernel is checked against a numpy twin in the tests.

Usage: ``python tests/coverage_floors.py coverage-report.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Minimum line coverage (percent) per sub-package of ``volresearch``.
FLOORS = {"models": 90.0, "simulate": 85.0, "signals": 85.0, "data": 80.0}


def package_coverage(report: dict) -> dict[str, tuple[int, int]]:
    """``{package: (covered, statements)}`` summed over the package's files."""
    totals: dict[str, list[int]] = {}
    for name, info in report["files"].items():
        parts = Path(name).parts
        if "volresearch" not in parts:
            continue
        rel = parts[parts.index("volresearch") + 1 :]
        package = rel[0] if len(rel) > 1 else "(top level)"
        summary = info["summary"]
        acc = totals.setdefault(package, [0, 0])
        acc[0] += int(summary["covered_lines"])
        acc[1] += int(summary["num_statements"])
    return {k: (v[0], v[1]) for k, v in sorted(totals.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text())
    failed = []
    print("coverage by package (floor in brackets):")
    for package, (covered, statements) in package_coverage(report).items():
        pct = 100.0 * covered / statements if statements else 100.0
        floor = FLOORS.get(package)
        mark = ""
        if floor is not None:
            mark = f"  [floor {floor:.0f}%]"
            if pct < floor:
                failed.append(package)
                mark += "  BELOW FLOOR"
        print(f"  {package:<12} {pct:6.1f}%  ({covered}/{statements}){mark}")
    missing = sorted(set(FLOORS) - set(package_coverage(report)))
    if missing:
        print(f"no coverage data for: {', '.join(missing)}", file=sys.stderr)
        return 1
    if failed:
        print(f"coverage below the floor in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
