"""``volresearch simulate PATH``: fit (or load a fit) and print the path forecast.

Simulates ``--paths`` price paths ``--horizon`` bars ahead of the last bar
with per-path shocks (numba kernels, per-path counter-based random streams:
the same ``--seed`` gives the same paths on any thread count) and prints the
price distribution at 15, 30, 60, 120, 240, 480, 720 and 1440 bars ahead
(those within the horizon).  ``simulation_seconds`` is the wall time of the
path simulation alone, JIT compilation excluded.

``--model NAME`` takes any name of the model registry, as ``volresearch fit``
does; without it, bars shorter than a day get the multiplicative intraday
GARCH (``intraday-gjr-sged``: daily variance x diurnal factor x GJR, whose fan
follows the session clock and skips breaks and weekends) and daily bars
GJR-SGED.  A family with ``--dist`` (``--model gjr --dist sged``) works as
before; a family alone takes ``--dist sged``.

``--mean auto`` (the default) fits a zero mean to intraday bars and a
constant mean to daily bars; the mean per bar is printed with its standard
error (``mu``, ``mu_se``).  A fit loaded with ``--fit`` (any result written by
``fit --save``) keeps its own mean.  Flags of the fit are printed and listed
in ``flags``.

When the requested model is rejected by its checks the command exits with
code 3, unless ``--fallback cascade`` lets the next model of
:data:`FALLBACK_CHAIN` answer; ``requested`` and ``answered`` name both.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from volresearch._util import jsonable
from volresearch.cli._common import add_mean_argument, add_source_arguments, load_source, resolve_mean
from volresearch.cli.fit import EXIT_REJECTED, add_model_arguments, list_models, requested_model
from volresearch.data import validate_bars
from volresearch.errors import FitError
from volresearch.formatting import PriceFormat
from volresearch.simulate.rolling import FORECAST_HORIZONS

__all__ = ["FALLBACK_CHAIN", "register", "run"]

#: Models tried in turn by ``--fallback cascade`` after the requested one is rejected.
FALLBACK_CHAIN = ("gjr-t", "garch-normal")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="Monte Carlo price paths from a fitted model", description=__doc__)
    p.add_argument("path", nargs="?", help="bars file (CSV/Parquet) or embedded dataset name")
    add_model_arguments(p, dist_default="sged")
    p.add_argument("--fit", dest="fit_file", default=None, metavar="FILE", help="load a fit saved by `fit --save`")
    p.add_argument("--paths", type=int, default=10_000)
    p.add_argument("--horizon", type=int, default=1440, help="steps (bars) ahead")
    p.add_argument("--seed", type=int, default=7)
    add_mean_argument(p)
    add_source_arguments(p)
    p.add_argument("--mode", choices=["bands", "matrix"], default="bands")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _fit(args: argparse.Namespace, bars: Any) -> tuple[str, Any, str | None]:
    """Requested name, the result that answered, and the rejection reason (``None`` when it was accepted)."""
    from volresearch.registry import fit_model

    name = requested_model(args, bars)
    mean = resolve_mean(args, bars)
    try:
        return name, fit_model(name, bars, mean=mean, horizon=args.horizon), None
    except FitError as exc:
        if args.fallback != "cascade":
            raise
        reason = str(exc)
    for other in FALLBACK_CHAIN:
        if other == name:
            continue
        try:
            return name, fit_model(other, bars, mean=mean, horizon=args.horizon), reason
        except FitError as exc:
            reason += f"; {other}: {exc}"
    raise FitError(f"{name} and every fallback ({', '.join(FALLBACK_CHAIN)}) were rejected: {reason}")


def run(args: argparse.Namespace) -> int:
    from volresearch.registry import load_result, simulate_model

    if args.list_models:
        return list_models()
    reason = None
    bars = None
    if args.fit_file:
        with open(args.fit_file, encoding="utf-8") as fh:
            result = load_result(json.load(fh))
        source = args.fit_file
        name = result.model
    else:
        if not args.path:
            raise SystemExit("volresearch simulate: give PATH or --fit FILE")
        bars = validate_bars(load_source(args), policy="strict", file=str(args.path)).bars
        try:
            name, result, reason = _fit(args, bars)
        except FitError as exc:
            print(
                f"volresearch simulate: rejected: {exc}\n(exit {EXIT_REJECTED}; --fallback cascade lets "
                f"{', '.join(FALLBACK_CHAIN)} answer)",
                file=sys.stderr,
            )
            return EXIT_REJECTED
        source = args.path
    if reason is not None:
        print(f"volresearch simulate: {name} rejected; {result.model} answered (--fallback cascade)", file=sys.stderr)
    # compile the kernels on a tiny problem so the timing below is the simulation alone
    simulate_model(result, 64, 2, seed=0, mode=args.mode)
    t0 = time.perf_counter()
    out = simulate_model(result, args.paths, args.horizon, seed=args.seed, mode=args.mode)
    seconds = time.perf_counter() - t0
    horizons = [h for h in FORECAST_HORIZONS if h <= args.horizon] or [args.horizon]
    table = out.summary(horizons=horizons)
    q = getattr(result, "q_fit", result)  # the GARCH-family part that carries the mean
    spec = getattr(q, "spec", None)
    if spec is not None:
        model, dist, mean_spec = spec.model, spec.dist, spec.mean
        mu = float(q.params.get("mu", 0.0))
        mu_se = q.std_errors.get("mu")  # absent for a zero mean: not estimated
        persistence, near_integrated = q.persistence, q.near_integrated
    else:  # continuous-time models: the drift is a model parameter (annualised, in params)
        model, dist, mean_spec = result.model, getattr(result, "dist", None), "model drift"
        mu, mu_se, persistence, near_integrated = math.nan, None, None, None
    flags = list(result.all_flags) if hasattr(result, "all_flags") else list(result.flags)
    payload: dict[str, Any] = {
        "source": str(source),
        "requested": name,
        "answered": result.model,
        "kernel": result.kernel,
        "model": model,
        "dist": dist,
        "mean": mean_spec,
        "mu": mu if math.isfinite(mu) else None,
        "mu_se": None if mu_se is None or not math.isfinite(mu_se) else float(mu_se),
        "params": jsonable(result.simulation_params()),
        "persistence": persistence,
        "near_integrated": near_integrated,
        "flags": flags,
        "n_paths": args.paths,
        "horizon": args.horizon,
        "seed": args.seed,
        "last_price": result.filter_state()["last_price"],
        "last_time": str(result.filter_state()["end"]),
        "bar_seconds": out.bar_seconds,
        "simulation_seconds": seconds,
        "horizons": {
            str(int(h)): {k: float(row[k]) for k in ("mean", "std", "p5", "p25", "p50", "p75", "p95")}
            for h, row in table.iterrows()
        },
    }
    if reason is not None:
        payload["reason"] = reason
    if "timestamp" in table.columns:
        payload["horizon_times"] = {str(int(h)): str(t) for h, t in table["timestamp"].items()}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{result.model} on {source}: last price {payload['last_price']:g} at {payload['last_time']}")
        print(f"{args.paths} paths x {args.horizon} steps in {seconds:.3f} s (seed {args.seed})")
        if mean_spec == "zero":
            print("mean: zero (not estimated)")
        elif mean_spec == "model drift":
            print("mean: the model's drift (see its annualised parameters)")
        else:
            se_text = f"{mu_se:.3g}" if mu_se is not None and math.isfinite(mu_se) else "n/a"
            print(
                f"mean: mu = {mu:.3g} per bar (se {se_text}); drift over {args.horizon} bars "
                f"{mu * args.horizon:.3g} (se {_times(mu_se, args.horizon)})"
            )
        for flag in flags:
            print(f"warning: {flag}")
        # prices at the instrument's tick precision: the data's price grid (or the last price's magnitude)
        fmt = PriceFormat.for_instrument(None, bars["close"] if bars is not None else [payload["last_price"]])
        print(f"prices: {fmt.describe()}")
        shown = table.copy()
        for column in ("mean", "p5", "p25", "p50", "p75", "p95"):
            if column in shown.columns:
                shown[column] = shown[column].map(fmt.price)
        if "std" in shown.columns:
            shown["std"] = shown["std"].map(fmt.spread)
        print(shown.to_string())
    return 0


def _times(se: float | None, h: int) -> str:
    return f"{se * h:.3g}" if se is not None and math.isfinite(se) else "n/a"
