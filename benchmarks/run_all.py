"""Run every benchmark, each in its own process, and print their figures.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run_all.py [--quick]``).
Every figure is a ratio against a reference measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = (
    "bench_fit.py",
    "bench_paths.py",
    "bench_filter.py",
    "bench_sv.py",
    "bench_walkforward.py",
    "bench_ensemble.py",
)


def main() -> int:
    extra = sys.argv[1:]
    failed = []
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n===== {name} =====", flush=True)
        t = time.perf_counter()
        args = [sys.executable, str(path)]
        if "--quick" in extra and name in ("bench_filter.py", "bench_ensemble.py"):
            args.append("--quick")
        rc = subprocess.call(args)
        print(f"----- {name}: exit {rc}, {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
