"""Recovery of known Heston or SVCJ parameters from simulated daily series by the calibration routes.

For each seed a stationary series of ``--n`` daily log returns is simulated (Andersen QE plus jumps, the
product's kernel) and fitted: Heston by simulated method of moments (``smm``) and by particle-filter maximum
likelihood started from the moment estimate (``pf-mle``); SVCJ (``--model svcj``) by simulated moments.  Reported per route and parameter: the estimates,
their standard errors, the mean relative error and the hit rate (truth within 2 standard errors).

Usage::

    python benchmarks/sv_recovery.py [--model heston|svcj] [--seeds 0 1 2 3 4] [--n 5000] [--particles 500]
        [--out DIR]

Writes ``DIR/sv_recovery_<model>.json`` and ``.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

TRUTHS = {
    "heston": {"mu": 0.05, "kappa": 4.0, "theta": 0.04, "xi": 0.5, "rho": -0.7},
    "svcj": {"mu": 0.05, "kappa": 4.0, "theta": 0.03, "xi": 0.4, "rho": -0.7, "lambda": 3.0, "mu_y": -0.04,
             "sigma_y": 0.04, "mu_v": 0.03, "rho_j": 0.0},
}  # fmt: skip
METHODS = {"heston": ("smm", "pf-mle"), "svcj": ("smm",)}


def main(argv: list[str] | None = None) -> int:
    from volresearch.registry import fit_model
    from volresearch.simulate.kernels.heston import stationary_sv_returns

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list(TRUTHS), default="heston")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--particles", type=int, default=500)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    dt = 1.0 / 252.0
    truth = TRUTHS[args.model]
    names = [k for k in truth if k not in ("mu", "rho_j")]
    sim = {("lam" if k == "lambda" else k): v for k, v in truth.items()}
    rows = []
    for seed in args.seeds:
        r = stationary_sv_returns(sim, 1, args.n, dt, seed=1000 + seed)[:, 0]
        idx = pd.bdate_range("2000-01-03", periods=args.n + 1, tz="UTC")
        bars = pd.DataFrame({"close": 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))}, index=idx)
        for method in METHODS[args.model]:
            t0 = time.perf_counter()
            opts = {"n_particles": args.particles, "method": method} if method == "pf-mle" else {}
            res = fit_model(args.model, bars, calendar="us_equity_daily", **opts)
            row = {"seed": seed, "method": method, "seconds": round(time.perf_counter() - t0, 1),
                   "flags": list(res.flags)}  # fmt: skip
            for k in names:
                row[k] = res.params[k]
                row[f"{k}_se"] = res.std_errors[k]
            rows.append(row)
            print(row, flush=True)
    frame = pd.DataFrame(rows)
    lines = [
        f"# {args.model.upper()} recovery from simulated daily returns",
        "",
        f"Truth {truth}; {args.n} daily returns per seed (dt = 1/252), seeds {args.seeds}; methods "
        f"{', '.join(METHODS[args.model])}"
        + (f" (pf-mle with {args.particles} particles)" if "pf-mle" in METHODS[args.model] else "")
        + ". Hit: |estimate - truth| <= 2 SE; rel. error: mean |estimate / truth - 1|.",
        "",
        "| method | parameter | truth | mean estimate | mean SE | sd of estimates | rel. error | hits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for method, g in frame.groupby("method", sort=False):
        for k in names:
            est, se = g[k].to_numpy(), g[f"{k}_se"].to_numpy()
            hits = int(np.sum(np.abs(est - truth[k]) <= 2.0 * se))
            rel = float(np.mean(np.abs(est / truth[k] - 1.0)))
            summary.append({"method": method, "parameter": k, "hits": hits, "n": len(g), "rel_error": rel})
            lines.append(
                f"| {method} | {k} | {truth[k]:g} | {est.mean():.4g} | {np.nanmean(se):.3g} | {est.std(ddof=1):.3g} "
                f"| {rel:.1%} | {hits}/{len(g)} |"
            )
        secs = g["seconds"].mean()
        lines.append(f"| {method} | seconds per fit | | {secs:.0f} | | | | |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"sv_recovery_{args.model}.md").write_text("\n".join(lines) + "\n")
    (args.out / f"sv_recovery_{args.model}.json").write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)},
                                                           "truth": truth, "fits": rows, "summary": summary},
                                                          indent=2, default=str))  # fmt: skip
    print("\n".join(lines))
    return 0 if all(math.isfinite(r["kappa"]) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
