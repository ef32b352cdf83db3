"""Robust fit of 200,000 one-minute returns.

Target: well under 10 s on the 2-core reference machine.  Reference measured
in the same run: one plain ``arch`` fit of the same model on the same
returns at the primary scale (what the robust fit does first), so the ratio
shows the price of confirmation and checks.

Run: ``.venv/bin/python benchmarks/bench_fit.py``
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np


def main() -> int:
    from arch.univariate import GARCH, ZeroMean

    from volresearch.data import synthetic_bars
    from volresearch.errors import FitError
    from volresearch.models import ModelSpec, choose_scale, fit_garch
    from volresearch.models.distributions import make_distribution

    bars = synthetic_bars("ES", days=150, seed=1)
    r = np.diff(np.log(bars["close"].to_numpy()))[:200_000]
    out = {"n_returns": int(r.size)}
    for model, dist in (("garch", "normal"), ("gjr", "sged"), ("gjr", "skewt")):
        t = time.perf_counter()
        try:
            fit = fit_garch(r, ModelSpec(model, dist, "zero"), returns=True, periods_per_year=252 * 1380)
        except FitError as exc:  # a rejection costs every attempt: time it too
            fit, rejected = None, str(exc)[:300]
        else:
            rejected = ""
        t_ours = time.perf_counter() - t
        s = choose_scale(r)
        am = ZeroMean(
            r * s,
            volatility=GARCH(1, 1 if model == "gjr" else 0, 1),
            distribution=make_distribution(dist),
            rescale=False,
        )
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            am.fit(disp="off")
        t_arch = time.perf_counter() - t
        out[f"{model}-{dist}"] = {
            "seconds": round(t_ours, 3),
            "plain_arch_fit_seconds": round(t_arch, 3),
            "ratio_to_plain_arch": round(t_ours / t_arch, 2),
            "attempts": None if fit is None else len(fit.meta["attempts"]),
            "persistence": None if fit is None else round(fit.persistence, 6),
            "rejected": rejected,
            "target_seconds": 10.0,
        }
    print(json.dumps(out, indent=2))
    for k, v in out.items():
        if isinstance(v, dict):
            verdict = f"rejected: {v['rejected'][:80]}" if v["rejected"] else "accepted"
            print(
                f"fit {k} on {out['n_returns']:,} one-minute returns: {v['seconds']:.2f} s "
                f"(target < 10 s; {v['ratio_to_plain_arch']:.2f}x one plain arch fit; {verdict})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
