"""``volresearch simulate PATH``: fit (or load a fit) and print the path forecast.

Simulates ``--paths`` price paths ``--horizon`` bars ahead of the last bar
with per-path shocks (numba kernels, per-path counter-based random streams:
the same ``--seed`` gives the same paths on any thread count) and prints the
price distribution at 15, 30, 60, 120, 240, 480, 720 and 1440 bars ahead
(those within the horizon).  ``simulation_seconds`` is the wall time of the
path simulation alone, JIT compilation excluded.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from volresearch.data import open_bars, validate_bars
from volresearch.models.distributions import DISTRIBUTIONS
from volresearch.models.garch import VOLATILITY_MODELS, Fit, ModelSpec, fit_garch
from volresearch.simulate.engine import simulate_fit
from volresearch.simulate.rolling import FORECAST_HORIZONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="Monte Carlo price paths from a fitted model", description=__doc__)
    p.add_argument("path", nargs="?", help="bars file (CSV/Parquet) or embedded dataset name")
    p.add_argument("--model", choices=sorted(VOLATILITY_MODELS), default="gjr")
    p.add_argument("--dist", choices=sorted(DISTRIBUTIONS), default="sged")
    p.add_argument("--fit", dest="fit_file", default=None, metavar="FILE", help="load a fit saved by `fit --save`")
    p.add_argument("--paths", type=int, default=10_000)
    p.add_argument("--horizon", type=int, default=1440, help="steps (bars) ahead")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tz", default=None)
    p.add_argument("--mode", choices=["bands", "matrix"], default="bands")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fit_file:
        fit = Fit.load(args.fit_file)
        source = args.fit_file
    else:
        if not args.path:
            raise SystemExit("volresearch simulate: give PATH or --fit FILE")
        bars = validate_bars(open_bars(args.path, tz=args.tz), policy="strict", file=str(args.path)).bars
        fit = fit_garch(bars, ModelSpec(args.model, args.dist))
        source = args.path
    # compile the kernels on a tiny problem so the timing below is the simulation alone
    simulate_fit(fit, n_paths=64, horizon=2, seed=0, mode=args.mode)
    t0 = time.perf_counter()
    result = simulate_fit(fit, n_paths=args.paths, horizon=args.horizon, seed=args.seed, mode=args.mode)
    seconds = time.perf_counter() - t0
    horizons = [h for h in FORECAST_HORIZONS if h <= args.horizon] or [args.horizon]
    table = result.summary(horizons=horizons)
    payload: dict[str, Any] = {
        "source": str(source),
        "model": fit.spec.model,
        "dist": fit.spec.dist,
        "params": dict(fit.params),
        "persistence": fit.persistence,
        "near_integrated": fit.near_integrated,
        "n_paths": args.paths,
        "horizon": args.horizon,
        "seed": args.seed,
        "last_price": fit.last_price,
        "last_time": str(fit.end),
        "bar_seconds": result.bar_seconds,
        "simulation_seconds": seconds,
        "horizons": {
            str(int(h)): {k: float(row[k]) for k in ("mean", "std", "p5", "p25", "p50", "p75", "p95")}
            for h, row in table.iterrows()
        },
    }
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{fit.spec.label} on {source}: last price {fit.last_price:g} at {fit.end}")
        print(f"{args.paths} paths x {args.horizon} steps in {seconds:.3f} s (seed {args.seed})")
        if fit.near_integrated:
            print(f"warning: persistence {fit.persistence:.6f}: near-integrated, long horizons are unstable across seeds")
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0
