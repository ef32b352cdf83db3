"""An ensemble's fan against the sum of its members' fans: the cost of pooling.

Six members fitted on the last 1,500 S&P 500 days (GARCH-normal, GJR-skew-t, EGARCH-t, Heston, SVCJ, Merton),
pooled with equal weights so that each simulates ``--paths`` paths; the ensemble simulates ``6 x --paths``
paths over ``--horizon`` steps in ``bands`` mode (stratified allocation, one seed per member, columns
interleaved, quantiles of the pooled prices at every step).  Reference, measured in the same run: the sum of
the members' own ``bands``-mode fans of ``--paths`` paths each.  Median of ``--repeat`` runs, kernels
compiled first.  Target: ensemble / sum of members <= 1.5.

Run: ``.venv/bin/python benchmarks/bench_ensemble.py`` (``--quick``: 1,000 paths per member).
"""

from __future__ import annotations

import argparse
import json
import time

MEMBERS = ("garch-normal", "gjr-skewt", "egarch-t", "heston", "svcj", "merton")


def _median(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return sorted(out)[len(out) // 2]


def main(argv: list[str] | None = None) -> int:
    from volresearch.data import open_bars
    from volresearch.ensembles.model import fit_ensemble
    from volresearch.registry import simulate_model

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paths", type=int, default=10_000, help="paths per member")
    p.add_argument("--horizon", type=int, default=1440)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    n = 1000 if args.quick else args.paths
    bars = open_bars("sp500").iloc[-1501:]
    ens = fit_ensemble(bars, members=MEMBERS, scheme="equal")
    k = len(ens.members)
    for m in ens.members:  # compile every kernel
        simulate_model(m, 64, 4, seed=0)
    simulate_model(ens, 64 * k, 4, seed=0)
    members = sum(_median(lambda m=m: simulate_model(m, n, args.horizon, seed=1), args.repeat) for m in ens.members)
    pooled = _median(lambda: simulate_model(ens, n * k, args.horizon, seed=1), args.repeat)
    ratio = pooled / members
    out = {
        "members": list(ens.names),
        "paths_per_member": n,
        "horizon": args.horizon,
        "sum_of_members_s": round(members, 3),
        "ensemble_s": round(pooled, 3),
        "ratio": round(ratio, 3),
        "target": "<= 1.5",
        "met": ratio <= 1.5,
    }
    print(f"ensemble of {k} members x {n:,} paths x {args.horizon} steps: {pooled:.2f} s; sum of the members' own "
          f"fans {members:.2f} s; ratio {ratio:.2f} (target <= 1.5: {'met' if ratio <= 1.5 else 'not met'})")  # fmt: skip
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
