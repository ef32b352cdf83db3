"""``volresearch simulate PATH``: fit (or load a fit) and print the path forecast.

Simulates ``--paths`` price paths ``--horizon`` bars ahead of the last bar
with per-path shocks (numba kernels, per-path counter-based random streams:
the same ``--seed`` gives the same paths on any thread count) and prints the
price distribution at 15, 30, 60, 120, 240, 480, 720 and 1440 bars ahead
(those within the horizon).  ``simulation_seconds`` is the wall time of the
path simulation alone, JIT compilation excluded.

``--mean auto`` (the default) fits a zero mean to intraday bars and a
constant mean to daily bars; the mean per bar is printed with its standard
error (``mu``, ``mu_se``), since its noise alone moves the forecast's centre
by about ``sqrt(horizon / bars fitted)`` standard deviations.  A fit loaded
with ``--fit`` keeps its own mean.  Flags of the fit (near-integrated...) are
printed and listed in ``flags``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from volresearch.cli._common import add_mean_argument, add_source_arguments, load_source, resolve_mean
from volresearch.data import validate_bars
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
    add_mean_argument(p)
    add_source_arguments(p)
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
        bars = validate_bars(load_source(args), policy="strict", file=str(args.path)).bars
        fit = fit_garch(bars, ModelSpec(args.model, args.dist, resolve_mean(args, bars)), horizon=args.horizon)
        source = args.path
    # compile the kernels on a tiny problem so the timing below is the simulation alone
    simulate_fit(fit, n_paths=64, horizon=2, seed=0, mode=args.mode)
    t0 = time.perf_counter()
    result = simulate_fit(fit, n_paths=args.paths, horizon=args.horizon, seed=args.seed, mode=args.mode)
    seconds = time.perf_counter() - t0
    horizons = [h for h in FORECAST_HORIZONS if h <= args.horizon] or [args.horizon]
    table = result.summary(horizons=horizons)
    mu = float(fit.params.get("mu", 0.0))
    mu_se = fit.std_errors.get("mu")  # absent for a zero mean: not estimated
    payload: dict[str, Any] = {
        "source": str(source),
        "model": fit.spec.model,
        "dist": fit.spec.dist,
        "mean": fit.spec.mean,
        "mu": mu,
        "mu_se": None if mu_se is None or not math.isfinite(mu_se) else float(mu_se),
        "params": dict(fit.params),
        "persistence": fit.persistence,
        "near_integrated": fit.near_integrated,
        "flags": list(fit.all_flags),
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
        if fit.spec.mean == "zero":
            print("mean: zero (not estimated)")
        else:
            se_text = f"{mu_se:.3g}" if mu_se is not None and math.isfinite(mu_se) else "n/a"
            print(
                f"mean: mu = {mu:.3g} per bar (se {se_text}); drift over {args.horizon} bars "
                f"{mu * args.horizon:.3g} (se {_times(mu_se, args.horizon)})"
            )
        for flag in fit.all_flags:
            print(f"warning: {flag}")
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def _times(se: float | None, h: int) -> str:
    return f"{se * h:.3g}" if se is not None and math.isfinite(se) else "n/a"
