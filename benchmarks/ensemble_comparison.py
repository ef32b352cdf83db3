"""Ensembles against their members and GARCH(1,1)-normal on the embedded S&P 500 (or NASDAQ), one-day forecasts.

Every model walks forward on the same origins (:func:`volresearch.validate.compare.compare_models`):
refits every ``--out-of-sample`` returns on the last ``--in-sample``, one-day log-return forecasts every
``--step`` days from ``--paths`` simulated paths.  Members: GARCH(1,1)-normal (the baseline, listed
first), GJR-skew-t, EGARCH-t, Heston, the range HAR, RiskMetrics EWMA, historical simulation and
ARMA(1,1)-GARCH(1,1)-t; ensembles of the first five (the default members): equal, inverse QLIKE, variance
regression, the log-score pool and the adaptive gate of :mod:`volresearch.ensembles.model`, weights set in
sample at each refit (no look-ahead).

Losses per forecast: QLIKE of the variance forecast against two proxies of the day's variance, the squared
return and Parkinson's range estimator ``(ln H/L)^2 / (4 ln 2)`` of the target day; the log predictive
density (kernel density of the ensemble); CRPS.  Reported per model: those means, 95% coverage, PIT
Anderson-Darling p, the two-sided Diebold-Mariano p-value on each QLIKE against GARCH(1,1)-normal, and
membership of the 10% Model Confidence Set on each QLIKE (``arch.bootstrap.MCS``, settings in the output).

Usage::

    python benchmarks/ensemble_comparison.py [--data sp500] [--in-sample 1000] [--out-of-sample 250]
        [--step 2] [--paths 1000] [--out benchmarks/results]

Writes ``DIR/ensemble_comparison_<data>.json`` and ``.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

MODELS = ["garch-normal", "gjr-skewt", "egarch-t", "heston", "har-range", "ewma", "historical", "arma-garch",
          "ensemble-equal",
          "ensemble-inverse-qlike", "ensemble-variance-regression", "ensemble-log-score",
          "ensemble-adaptive"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from sp500_model_comparison import _markdown  # the same table layout (benchmarks/ is on sys.path)

    from volresearch.data.datasets import load
    from volresearch.validate.compare import compare_models
    from volresearch.validate.mcs import compare_table, model_confidence_set
    from volresearch.validate.scores import diebold_mariano

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500", choices=["sp500", "nasdaq"])
    p.add_argument("--in-sample", type=int, default=1000)
    p.add_argument("--out-of-sample", type=int, default=250)
    p.add_argument("--step", type=int, default=2)
    p.add_argument("--paths", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=MODELS)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    bars = load(args.data)
    t0 = time.perf_counter()
    cmp = compare_models(
        bars, args.models, label=args.data, in_sample=args.in_sample, out_of_sample=args.out_of_sample,
        step=args.step, horizon=1, n_paths=args.paths, seed=args.seed, quiet=False,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    results = {m: cmp.results[m] for m in args.models}
    # Parkinson's range variance of each target day (target return o + 1 ends at bar o + 2)
    close = bars["close"].to_numpy(dtype=float)
    pk_all = np.log(bars["high"].to_numpy(dtype=float) / bars["low"].to_numpy(dtype=float)) ** 2 / (4 * math.log(2))
    first = results[args.models[0]].forecasts
    o = first["origin_pos"].to_numpy()
    assert np.allclose(first["target"].to_numpy(), np.log(close[o + 2] / close[o + 1]))  # the alignment
    pk = pk_all[o + 2]
    ok = pk > 0
    for res in results.values():
        f = res.forecasts
        fvar = f["forecast_var"].to_numpy()
        res.forecasts["qlike_parkinson"] = np.where(ok, np.log(fvar) + pk / fvar, np.nan)
    mcs = model_confidence_set(results, loss="qlike", size=0.10, seed=args.seed)
    table = compare_table(results, mcs)
    # the same on the range proxy (rows with a zero range left out)
    sub = {k: _Restricted(v, ok) for k, v in results.items()}
    mcs_pk = model_confidence_set(sub, loss="qlike", size=0.10, seed=args.seed)
    base = results[args.models[0]].forecasts["qlike_parkinson"].to_numpy()[ok]
    table.insert(1, "qlike_parkinson", [float(np.nanmean(r.forecasts["qlike_parkinson"])) for r in results.values()])
    table["dm_pvalue_vs_baseline_parkinson"] = [
        math.nan if m == args.models[0] else float(
            diebold_mariano(results[m].forecasts["qlike_parkinson"].to_numpy()[ok], base, h=1).pvalue)
        for m in args.models
    ]  # fmt: skip
    table["in_mcs_parkinson"] = [m in mcs_pk.included for m in args.models]
    table["crps"] = table["crps"] * 1e4
    weights = {}
    for m in args.models:
        if m.startswith("ensemble"):
            w = results[m].stability if hasattr(results[m], "stability") else None
            weights[m] = None if w is None else w[["mean", "min", "max"]].round(3).to_dict(orient="index")
    header = (
        f"Settings: data {args.data}, in_sample {args.in_sample}, out_of_sample {args.out_of_sample}, step "
        f"{args.step}, horizon 1, paths {args.paths}, seed {args.seed}; {len(bars)} daily bars "
        f"{bars.index[0]:%Y-%m-%d} to {bars.index[-1]:%Y-%m-%d}; {seconds:.0f} s. CRPS in 1e-4 log-return units; "
        "qlike: log v + r^2/v against the squared return, qlike_parkinson: against Parkinson's range variance "
        f"({int((~ok).sum())} zero-range days left out); dm_*: two-sided Diebold-Mariano against {args.models[0]}; "
        f"in_mcs: 10% Model Confidence Set on QLIKE ({mcs.settings['statistic']}, {mcs.settings['bootstrap']} "
        f"bootstrap, {mcs.settings['reps']} reps, mean block {mcs.settings['block_size']}, seed {args.seed})."
    )
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    stem = f"ensemble_comparison_{args.data}"
    (out / f"{stem}.md").write_text(
        f"# Ensembles on {args.data} (walk-forward, same origins)\n\n{header}\n\n{_markdown(table)}\n\n"
        f"Ensemble weights across the window fits (mean, min, max): {json.dumps(weights)}\n"
    )
    (out / f"{stem}.json").write_text(json.dumps({
        "settings": vars(args) | {"out": str(args.out)}, "seconds": seconds, "mcs": mcs.to_dict(),
        "mcs_parkinson": mcs_pk.to_dict(), "table": json.loads(table.reset_index().to_json(orient="records")),
        "weights": weights,
    }, indent=1, default=str))  # fmt: skip
    print(header)
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


class _Restricted:
    """A walk-forward result seen through the rows of ``keep``, its QLIKE the range-proxy one."""

    def __init__(self, result: object, keep: np.ndarray) -> None:
        f = result.forecasts.loc[keep].copy()  # type: ignore[attr-defined]
        f["qlike"] = f["qlike_parkinson"]
        self.forecasts = f.reset_index(drop=True)
        self.config = result.config  # type: ignore[attr-defined]


if __name__ == "__main__":
    raise SystemExit(main())
