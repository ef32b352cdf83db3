"""Benchmark of the path engine: 10,000 x 1,440 GJR paths.

Every figure is a ratio against a reference timed in the same run:

* (a) ``numpy.random.default_rng().standard_normal(14_400_000)``, the time
  numpy needs just to draw the normals of such a simulation (target: our
  whole simulation within 2x of it);
* (b) ``arch``'s own simulation forecast on a GJR fit of ``arch.data.sp500``
  with skewed-GED innovations (volresearch's ``SkewedGED`` plugged into
  arch; ``res.forecast(horizon=1440, method="simulation", simulations=10000,
  reindex=False)``, run once; target: >= 50x faster);
* (c) a vectorised numpy GJR loop with numpy normal draws.

Our runs use the same GJR-SGED fit, Hansen's skew-t table (the fitted ``eta, lambda``) and a GED
table, in matrix mode (float64 and float32 storage) and band mode (also with
particle-style path weights).  JIT compilation is excluded (one call
first); times are the best of several repeats (wall clock; the process CPU
time is shown beside it because the machine may be shared).  Peak Python
memory (tracemalloc) of band and matrix mode is reported.

The intraday section times a 24-hour fan (10,000 paths x 1,440 steps, band
mode, through :func:`volresearch.registry.simulate_model`) of the
multiplicative-component intraday GJR-SGED fitted to synthetic ES bars on the
``cme_globex`` calendar against the plain GJR-SGED fan of the same bars in the
same run (target: intraday / plain <= 1.5), and the bare kernels (the same
recursion with and without the per-step variance multiplier).

Run: ``.venv/bin/python benchmarks/bench_paths.py [--repeats N] [--skip-arch] [--intraday-only]``
"""

from __future__ import annotations

import argparse
import math
import os
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from arch import arch_model
from arch.data import sp500
from arch.univariate import GARCH, ConstantMean, GeneralizedError, SkewStudent

from volresearch.models import SkewedGED
from volresearch.simulate import build_ppf_table, innovation_table, simulate_paths

N_PATHS = 10_000
HORIZON = 1_440


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process-CPU seconds of ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def numpy_gjr_loop(
    mu: float, omega: float, alpha: float, gamma: float, beta: float, x0: float, s2_1: float
) -> np.ndarray:
    """Vectorised numpy GJR paths with numpy normal draws (reference c)."""
    rng = np.random.default_rng()
    out = np.empty((HORIZON + 1, N_PATHS))
    x = np.full(N_PATHS, x0)
    s2 = np.full(N_PATHS, s2_1)
    out[0] = x
    for t in range(HORIZON):
        e = np.sqrt(s2) * rng.standard_normal(N_PATHS)
        x = x + (mu + e)
        out[t + 1] = x
        s2 = omega + (alpha + gamma * (e < 0.0)) * (e * e) + beta * s2
    return out


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes traced by tracemalloc during ``fn()``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def intraday_section(reps: int) -> float:
    """Time intraday and plain 24-hour fans of the same bars; print and return intraday / plain."""
    from volresearch.data.synthetic import synthetic_bars
    from volresearch.registry import fit_model, simulate_model

    bars = synthetic_bars("ES", days=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        intraday = fit_model("intraday-gjr-sged", bars, calendar="cme_globex")
        plain = fit_model("gjr-sged", bars)
    # the plain fan labelled by the same session clock, so both runs include the step times
    runs = {
        "intraday GJR-SGED fan": lambda: simulate_model(intraday, N_PATHS, HORIZON, seed=1, mode="bands"),
        "plain    GJR-SGED fan": lambda: simulate_model(
            plain, N_PATHS, HORIZON, seed=1, mode="bands", calendar="cme_globex"
        ),
    }
    p = intraday.simulation_params()
    x0 = math.log(float(bars["close"].iloc[-1]))
    table = innovation_table("sged", p)
    mult = np.full(HORIZON, 1e-7)
    q1 = intraday.filter_state()["q_next"]
    runs["kernel with multiplier"] = lambda: simulate_paths(
        "gjr", p, ppf_table=table, n_paths=N_PATHS, horizon=HORIZON, x0=x0, sigma2_1=q1, seed=1, mode="bands",
        variance_multiplier=mult,
    )  # fmt: skip
    runs["kernel without"] = lambda: simulate_paths(
        "gjr", p, ppf_table=table, n_paths=N_PATHS, horizon=HORIZON, x0=x0, sigma2_1=q1, seed=1, mode="bands"
    )
    for fn in runs.values():
        fn()  # compile / cache load, calendar caches
    timings = {name: best_time(fn, reps) for name, fn in runs.items()}
    print(f"intraday fans: {N_PATHS:,} paths x {HORIZON:,} steps, band mode, synthetic ES on cme_globex")
    print(f"{'run':26s} {'wall s':>8s} {'cpu s':>8s}")
    for name, (wall, cpu) in timings.items():
        print(f"{name:26s} {wall:8.3f} {cpu:8.3f}")
    ratio = timings["intraday GJR-SGED fan"][0] / timings["plain    GJR-SGED fan"][0]
    cpu_ratio = timings["intraday GJR-SGED fan"][1] / timings["plain    GJR-SGED fan"][1]
    k_ratio = timings["kernel with multiplier"][0] / timings["kernel without"][0]
    print(
        f"intraday fan / plain GJR fan = {ratio:.2f} wall, {cpu_ratio:.2f} cpu (target <= 1.5); "
        f"kernel with / without multiplier = {k_ratio:.2f}"
    )
    print()
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="repeats per timing (best is kept)")
    parser.add_argument("--skip-arch", action="store_true", help="skip the ~15 s arch reference")
    parser.add_argument("--intraday-only", action="store_true", help="only the intraday-versus-plain fan section")
    args = parser.parse_args()
    reps = max(1, args.repeats)
    intraday_section(reps)
    if args.intraday_only:
        return 0

    # a GJR skew-t fit of S&P 500 daily returns (percent) -> per-bar log-return units
    returns = 100.0 * sp500.load()["Adj Close"].pct_change().dropna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = arch_model(returns, p=1, o=1, q=1, dist="skewt").fit(disp="off")
    prm = res.params
    params = {
        "mu": float(prm["mu"]) / 100.0,
        "omega": float(prm["omega"]) / 1e4,
        "alpha": float(prm["alpha[1]"]),
        "gamma": float(prm["gamma[1]"]),
        "beta": float(prm["beta[1]"]),
    }
    eta, lam = float(prm["eta"]), float(prm["lambda"])
    sigma2_1 = float(res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]) / 1e4
    x0 = math.log(100.0)

    t0 = time.perf_counter()
    skewt = build_ppf_table(lambda u: SkewStudent().ppf(u, [eta, lam]), name=f"skewt({eta:.2f},{lam:.3f})")
    t_table = time.perf_counter() - t0
    ged = build_ppf_table(lambda u: GeneralizedError().ppf(u, [1.3]), name="ged(1.3)")

    # the same S&P 500 returns, GJR with skewed-GED innovations, fitted through arch with
    # volresearch's SkewedGED distribution: arch's own simulation forecast of this fit is reference (b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res_sged = ConstantMean(returns, volatility=GARCH(1, 1, 1), distribution=SkewedGED()).fit(disp="off")
    ps = res_sged.params
    params_sged = {
        "mu": float(ps["mu"]) / 100.0,
        "omega": float(ps["omega"]) / 1e4,
        "alpha": float(ps["alpha[1]"]),
        "gamma": float(ps["gamma[1]"]),
        "beta": float(ps["beta[1]"]),
    }
    sigma2_sged = float(res_sged.forecast(horizon=1, reindex=False).variance.iloc[-1, 0]) / 1e4
    sged = innovation_table("sged", {"nu": float(ps["nu"]), "xi": float(ps["xi"])})

    particle_weights = np.random.default_rng(0).exponential(size=N_PATHS)

    def ours(  # type: ignore[no-untyped-def]
        table, mode: str, dtype: type = np.float64, weighted: bool = False
    ) -> Callable[[], Any]:
        return lambda: simulate_paths(
            "gjr", params, ppf_table=table, n_paths=N_PATHS, horizon=HORIZON, x0=x0, sigma2_1=sigma2_1,
            seed=1, mode=mode, dtype=dtype, weights=particle_weights if weighted else None,
        )  # fmt: skip

    def ours_sged(mode: str) -> Callable[[], Any]:
        return lambda: simulate_paths(
            "gjr", params_sged, ppf_table=sged, n_paths=N_PATHS, horizon=HORIZON, x0=x0, sigma2_1=sigma2_sged,
            seed=1, mode=mode,
        )  # fmt: skip

    runs = {
        "ours  GJR-SGED matrix": ours_sged("matrix"),
        "ours  GJR-SGED bands": ours_sged("bands"),
        "ours  skew-t  matrix": ours(skewt, "matrix"),
        "ours  skew-t  matrix f32": ours(skewt, "matrix", np.float32),
        "ours  skew-t  bands": ours(skewt, "bands"),
        "ours  skew-t  bands wtd": ours(skewt, "bands", weighted=True),
        "ours  GED     matrix": ours(ged, "matrix"),
        "ours  GED     bands": ours(ged, "bands"),
    }
    for fn in runs.values():
        fn()  # JIT compile / cache load, excluded
    draw = lambda: np.random.default_rng().standard_normal(N_PATHS * HORIZON)  # noqa: E731
    draw()
    t_draw, c_draw = best_time(draw, reps)
    loop = lambda: numpy_gjr_loop(  # noqa: E731
        params["mu"], params["omega"], params["alpha"], params["gamma"], params["beta"], x0, sigma2_1
    )
    t_loop, c_loop = best_time(loop, max(1, reps // 2))
    timings = {name: best_time(fn, reps) for name, fn in runs.items()}
    t_arch = float("nan")
    if not args.skip_arch:
        t0 = time.perf_counter()
        res_sged.forecast(horizon=HORIZON, method="simulation", simulations=N_PATHS, reindex=False)
        t_arch = time.perf_counter() - t0

    mem_band = peak_memory(runs["ours  skew-t  bands"])
    mem_matrix = peak_memory(runs["ours  skew-t  matrix"])

    print(f"volresearch path engine: {N_PATHS:,} paths x {HORIZON:,} steps, GJR fitted to arch.data.sp500")
    print(
        f"numba {numba.__version__}, threads {numba.get_num_threads()} ({numba.threading_layer()}), "
        f"cpus {os.cpu_count()}, numpy {np.__version__}"
    )
    print(
        f"skew-t table build {t_table * 1e3:.1f} ms; max |table - ppf| / max(1, |ppf|): "
        f"{skewt.max_rel_error:.1e} (skew-t, limited by arch's ppf near u = 1), {ged.max_rel_error:.1e} (GED)"
    )
    print()
    header = f"{'run':26s} {'wall s':>8s} {'cpu s':>8s} {'/ np draw':>10s} {'arch / run':>11s} {'np loop / run':>14s}"
    print(header)
    print("-" * len(header))
    print(f"{'numpy 14.4M normals (a)':26s} {t_draw:8.3f} {c_draw:8.3f} {1.0:10.2f} {'':>11s} {'':>14s}")
    print(f"{'numpy GJR loop (c)':26s} {t_loop:8.3f} {c_loop:8.3f} {t_loop / t_draw:10.2f} {'':>11s} {'':>14s}")
    if not math.isnan(t_arch):
        print(
            f"{'arch GJR-SGED simulation (b)':26s} {t_arch:8.3f} {'':>8s} {t_arch / t_draw:10.2f} {'':>11s} {'':>14s}"
        )
    for name, (wall, cpu) in timings.items():
        arch_ratio = f"{t_arch / wall:11.1f}" if not math.isnan(t_arch) else f"{'-':>11s}"
        print(f"{name:26s} {wall:8.3f} {cpu:8.3f} {wall / t_draw:10.2f} {arch_ratio} {t_loop / wall:14.1f}")
    print()
    full = N_PATHS * (HORIZON + 1) * 8
    print(
        f"peak traced memory: bands {mem_band / 2**20:.1f} MiB, matrix {mem_matrix / 2**20:.1f} MiB "
        f"(matrix of float64 = {full / 2**20:.1f} MiB; bands / matrix = {mem_band / mem_matrix:.3f})"
    )
    worst = max(w for name, (w, _) in timings.items() if "wtd" not in name)
    print(f"targets (unweighted runs): slowest / numpy draw = {worst / t_draw:.2f} (<= 2)", end="")
    if not math.isnan(t_arch):
        print(f"; arch / slowest = {t_arch / worst:.0f}x (>= 50)")
    else:
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
