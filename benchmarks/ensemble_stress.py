"""Stress tests of the ensembles: the 2008 crisis replayed on the S&P 500 and NASDAQ, and a synthetic crash.

Every model is fitted once on the ``--train`` days before the period and forecasts each day of it one day
ahead with its parameters, gate and weights fixed (:func:`volresearch.ensembles.stress.stress_test`: no
leakage).  The synthetic shock: a one-day crash of ``--crash`` (log return) on 2017-03-01 followed by 20
days of returns scaled by 4 (:func:`volresearch.ensembles.stress.shocked_bars`) in the calm 2017 market,
forecast until 2017-05-31.

Usage::

    python benchmarks/ensemble_stress.py [--paths 1000] [--train 1000] [--out benchmarks/results]

Writes ``DIR/ensemble_stress.json`` and ``.md`` and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

MODELS = ["garch-normal", "gjr-skewt", "egarch-t", "heston", "har-range", "ensemble-equal", "ensemble-log-score",
          "ensemble-adaptive"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from volresearch.data.datasets import load
    from volresearch.ensembles.stress import CRISES, available_crises, shocked_bars, stress_test

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paths", type=int, default=1000)
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--crash", type=float, default=-0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    logging.getLogger("volresearch.ensembles.stacking").setLevel(logging.ERROR)  # counted in the table instead
    runs = []
    t0 = time.perf_counter()
    for data in ("sp500", "nasdaq"):
        bars = load(data)
        for crisis in available_crises(bars, args.train):
            start, end = CRISES[crisis]
            runs.append((f"{data} {crisis}", stress_test(bars, MODELS, start=start, end=end, label=f"{data} {crisis}",
                                                         train=args.train, n_paths=args.paths, seed=args.seed)))  # fmt: skip
            print(runs[-1][1].summary(), flush=True)
    shocked = shocked_bars(load("sp500"), "2017-03-01", factor=4.0, bars_long=20, crash=args.crash)
    label = f"sp500 synthetic crash {args.crash:+.0%} then 20 days x4 (2017-03)"
    runs.append((label, stress_test(shocked, MODELS, start="2017-03-01", end="2017-05-31", label=label,
                                    train=args.train, n_paths=args.paths, seed=args.seed)))  # fmt: skip
    print(runs[-1][1].summary(), flush=True)
    seconds = time.perf_counter() - t0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# Ensemble stress tests\n\nSettings: train {args.train} days before each period, {args.paths} paths, "
          f"one-day forecasts, seed {args.seed}; {seconds:.0f} s. CRPS in log-return units; QLIKE against the "
          "squared return; breaker: adaptive forecasts with equal weights (features out of range); partial: "
          "forecasts without a member whose variance ran away.\n"]  # fmt: skip
    for label, res in runs:
        md.append(f"## {label}\n\nForecasts {res.start} .. {res.end}; fitted on {res.meta['train_start']} .. "
                  f"{res.meta['train_end']}\n\n```\n{res.summary()}\n```\n")  # fmt: skip
    (out / "ensemble_stress.md").write_text("\n".join(md))
    (out / "ensemble_stress.json").write_text(json.dumps({"seconds": seconds, "settings": vars(args) | {"out": str(out)},
                                                          "runs": [r.to_dict() for _, r in runs]}, indent=1))  # fmt: skip
    print(f"{seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
