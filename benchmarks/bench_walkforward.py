"""Benchmark of the walk-forward grid: serial against a two-worker Dask cluster.

The same grid -- S&P 500 and NASDAQ daily bars (embedded, real) x GARCH-normal,
GJR-t and GJR-sged, 1-day-ahead forecasts, monthly windows -- runs serially in
this process, then as independent window tasks on a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.  The
cluster's start-up and a warm-up grid (workers importing the package and
loading the compiled kernels) are timed apart from the measured run.  The
script prints both wall times, the speed-up ratio measured in this run, and
checks that the two tables and every forecast are identical bit for bit
(exit 1 if they are not).

The machine may be shared: the process CPU time of the serial run is shown
beside its wall time.  With two cores the speed-up cannot exceed 2.

Run: ``.venv/bin/python benchmarks/bench_walkforward.py [--bars N] [--paths N] [--in-sample N]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings

import pandas as pd

from volresearch.data import datasets, validate_bars
from volresearch.models import ModelSpec
from volresearch.validate import walk_forward_grid

SPECS = [ModelSpec("garch", "normal"), ModelSpec("gjr", "t"), ModelSpec("gjr", "sged")]


def load(name: str, n: int) -> pd.DataFrame:
    return validate_bars(datasets.load(name), policy="repair").bars.iloc[-n:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=2000, help="last N daily bars of each series (default 2000)")
    parser.add_argument("--paths", type=int, default=2000, help="ensemble members per forecast (default 2000)")
    parser.add_argument("--in-sample", type=int, default=750, help="bars per fit (default 750)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = {name: load(name, args.bars) for name in ("sp500", "nasdaq")}
    kw = dict(in_sample=args.in_sample, out_of_sample="1M", n_paths=args.paths, seed=0)
    print(f"grid: {list(data)} x {[s.label for s in SPECS]}, {args.bars} bars each, in-sample {args.in_sample} "
          f"bars, monthly windows, {args.paths} paths, horizon 1, {os.cpu_count()} CPUs")  # fmt: skip

    # warm the kernels of this process so both runs start compiled
    walk_forward_grid({"sp500": data["sp500"].iloc[-(args.in_sample + 60) :]}, SPECS[:1], **{**kw, "n_paths": 50})
    c0, t0 = time.process_time(), time.perf_counter()
    serial = walk_forward_grid(data, SPECS, **kw)
    t_serial, cpu_serial = time.perf_counter() - t0, time.process_time() - c0
    n_tasks = sum(len(r.windows) for r in serial.results.values())
    print(f"serial:      {t_serial:8.2f} s wall ({cpu_serial:.2f} s CPU), {n_tasks} window tasks")

    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        walk_forward_grid(
            {"sp500": data["sp500"].iloc[-(args.in_sample + 60) :]}, SPECS, client=client, **{**kw, "n_paths": 50}
        )
        t_warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        remote = walk_forward_grid(data, SPECS, client=client, **kw)
        t_dask = time.perf_counter() - t0
    print(f"cluster:     {t_start:8.2f} s start-up, {t_warm:.2f} s warm-up (not in the ratio)")
    print(f"dask (2 w):  {t_dask:8.2f} s wall")
    print(f"speed-up:    {t_serial / t_dask:8.2f}x (serial / dask, same run)")

    identical = serial.table.equals(remote.table) and all(
        res.forecasts.equals(remote.results[key].forecasts) and res.parameters.equals(remote.results[key].parameters)
        for key, res in serial.results.items()
    )
    print(f"identical:   {identical}")
    cols = ["instrument", "spec", "n_forecasts", "crps_improvement", "pit_ad_pvalue", "coverage_95", "efficiency"]
    print(serial.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
