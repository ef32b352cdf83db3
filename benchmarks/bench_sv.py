"""Heston-QE and SVCJ path kernels against numpy drawing the random variates the scheme consumes.

Every figure is measured in this run (median of ``--repeat`` runs, kernels compiled before timing):

* Heston QE, 10,000 paths x 1,440 one-minute steps (``crypto_24x7`` calendar: ``dt = 1/525,600`` years),
  martingale correction on, full ``(1440, 10000)`` log-price matrix kept; the scheme consumes 2 words per
  step and path (one for the variance, ``U_v`` or ``Z_v``, one normal for the log price);
* the same without the martingale correction (``heston_qe_plain``: one logarithm less per step);
* SVCJ, same grid, 3 words per step plus ``N + 1`` per step with ``N > 0`` jumps;
* reference: ``numpy.random.default_rng().standard_normal`` (Ziggurat, the fastest numpy variate) drawing as
  many variates as the kernel consumed words, into a preallocated array (``out=``), on one thread: the cost of
  merely drawing the randomness, before any model arithmetic.

The ratio kernel / reference is printed next to the thread count (``numba.get_num_threads()``).

Run: ``.venv/bin/python benchmarks/bench_sv.py`` (``--quick`` for 1,000 paths).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numba
import numpy as np

from volresearch.data.calendar import year_fraction
from volresearch.simulate._rng import StreamState
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.kernels.heston import simulate_sv

HESTON = dict(mu=0.0, kappa=3.0, theta=0.04, xi=0.6, rho=-0.7)
SVCJ = dict(HESTON, lam=50.0, mu_y=-0.01, sigma_y=0.02, mu_v=0.02, rho_j=-0.5)


def _median_time(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return float(np.median(out))


def run(n_paths: int, n_steps: int, repeat: int) -> dict:
    dt = year_fraction(60, "crypto_24x7")
    ppf = innovation_table("normal", {}).kernel_args
    results = {}
    configs = (("heston_qe", HESTON, True), ("heston_qe_plain", HESTON, False), ("svcj", SVCJ, True))
    for name, params, mart in configs:
        words = [0]

        def kernel(params=params, words=words, mart=mart) -> None:
            st = StreamState.create(1, n_paths)
            x = np.zeros(n_paths)
            v = np.full(n_paths, 0.04)
            simulate_sv(x, v, n_steps, dt, martingale=mart, key=st.key, stream=st.stream, counter=st.counter,
                        ppf=ppf, **params)  # fmt: skip
            words[0] = int(st.counter.sum())

        kernel()  # compile / warm up
        t_kernel = _median_time(kernel, repeat)
        buf = np.empty(words[0])
        rng = np.random.default_rng(0)
        t_numpy = _median_time(lambda buf=buf, rng=rng: rng.standard_normal(out=buf), repeat)
        results[name] = {
            "paths": n_paths,
            "steps": n_steps,
            "words": words[0],
            "words_per_step": words[0] / (n_paths * n_steps),
            "kernel_s": t_kernel,
            "numpy_draws_s": t_numpy,
            "ratio": t_kernel / t_numpy,
            "threads": numba.get_num_threads(),
            "martingale_correction": mart,
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(1_000 if a.quick else 10_000, 1_440, a.repeat)
    if a.json:
        print(json.dumps(res, indent=2))
        return
    for name, r in res.items():
        print(
            f"{name:<10} {r['paths']} x {r['steps']}: kernel {r['kernel_s']:.3f} s, numpy drawing "
            f"{r['words']:,} normals {r['numpy_draws_s']:.3f} s, ratio {r['ratio']:.2f} "
            f"({r['words_per_step']:.3f} words/step, {r['threads']} threads)"
        )
    assert all(math.isfinite(r["ratio"]) for r in res.values())


if __name__ == "__main__":
    main()
