"""Particle filter and rolling forecaster benchmarks.

Every figure is measured in this run, against a reference measured in the
same run:

1. one filter update (predict one step, weight, resample when due) of 2,000
   and 10,000 particles, with the filter's default choice of kernels and with
   the single- and multi-threaded kernels forced, against two references
   doing the same work on the same model (taking turns with ours):
   an honest vectorised numpy filter (state arrays, log-space weights,
   systematic resampling with ``searchsorted``; the main reference), and the
   seed document's object-per-particle design (a ``Particle`` object per path,
   Python loops, per-particle numpy scalar calls, ``list.pop(0)`` histories,
   weights multiplied in linear space), which is slow by construction and
   kept only to show what the design costs;
2. our bootstrap filter against the ``particles`` library's on the same
   stochastic-volatility model and data: speed ratio and log-likelihood.
   ``particles`` declares numpy < 2, so it is not part of the default or
   test install: this part runs only where it imports (``make
   bench-particles`` builds ``.venv-particles`` with it, installed without
   that stale pin) and prints a line saying it was skipped otherwise;
3. ``RollingForecaster.process_bar`` with the full 24-hour regeneration
   (10,000 particles x 1,440 steps): median and p99 latency, against the time
   numpy needs just to draw the 14.4 million innovations, with the forward
   paths started from the particles resampled to equal weights (the default)
   and, taking turns bar by bar, weighted by the particles; the ESS of the
   adapted filter;
4. peak resident memory of four instruments' forecasters (ES, NQ, GC, SI,
   10,000 particles each), measured in a fresh process.

Run: ``.venv/bin/python benchmarks/bench_filter.py`` (``--quick`` for a smoke run,
``--process-bar-only BARS`` for part 3 alone).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np


def _timeit(fn, repeat: int) -> np.ndarray:
    out = np.empty(repeat)
    for i in range(repeat):
        t = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t
    return out


# ----------------------------------------------------------------------------- reference
@dataclass
class _Particle:
    price: float
    variance: float
    weight: float = 1.0
    price_history: list = field(default_factory=list)

    def update_history(self, max_history: int = 100) -> None:
        self.price_history.append(self.price)
        if len(self.price_history) > max_history:
            self.price_history.pop(0)


class _ObjectFilter:
    """The seed document's object-per-particle filter, as written there.

    One ``Particle`` object per path with a price history, numpy scalar calls
    per particle, linear-space weights, list comprehensions for the ESS, and
    new objects (histories copied) on resampling.  The one change: the
    variance is driven by the particle's realised shock, not the expected one,
    so both filters do the same statistical work.
    """

    def __init__(self, n: int, price: float, variance: float, params: tuple, seed: int) -> None:
        self.n = n
        self.particles = [_Particle(price, variance, 1.0 / n) for _ in range(n)]
        self.params = params
        self.rs = np.random.RandomState(seed)

    def predict(self) -> None:
        mu, omega, alpha, gamma, beta = self.params
        for particle in self.particles:
            z = self.rs.standard_normal()
            sigma = np.sqrt(particle.variance)
            e = sigma * z
            ret = mu + e
            new_variance = omega + (alpha + (gamma if e < 0 else 0.0)) * e * e + beta * particle.variance
            particle.variance = max(new_variance, 1e-10)
            particle.price = particle.price * np.exp(ret)
            particle.update_history()

    def update(self, observed_price: float, sigma_obs: float) -> float:
        for particle in self.particles:
            price_diff = observed_price - particle.price
            particle.weight *= np.exp(-0.5 * (price_diff / sigma_obs) ** 2)
        total_weight = sum(p.weight for p in self.particles)
        if total_weight > 0:
            for particle in self.particles:
                particle.weight /= total_weight
        else:
            for particle in self.particles:
                particle.weight = 1.0 / self.n
        weights = np.array([p.weight for p in self.particles])
        ess = 1.0 / np.sum(weights**2)
        if ess < 0.5 * self.n:
            cumsum = np.cumsum(weights)
            u = self.rs.uniform(0, 1 / self.n) + np.arange(self.n) / self.n
            indices = np.clip(np.searchsorted(cumsum, u), 0, self.n - 1)
            self.particles = [
                _Particle(
                    self.particles[i].price,
                    self.particles[i].variance,
                    1.0 / self.n,
                    self.particles[i].price_history.copy(),
                )
                for i in indices
            ]
        return ess

    def step(self, observed: float, s_obs: float) -> None:
        self.predict()
        self.update(observed, s_obs * observed)


class _NumpyFilter:
    """Vectorised numpy bootstrap filter of the same GJR model: the honest reference.

    State arrays (log price, next-step variance), each particle's own normal
    shock, log-space weights normalised by log-sum-exp, systematic resampling
    when ESS < N/2 (``searchsorted`` on the cumulative weights).
    """

    def __init__(self, n: int, price: float, variance: float, params: tuple, seed: int) -> None:
        self.n = n
        self.x = np.full(n, math.log(price))
        self.s2 = np.full(n, variance)
        self.log_w = np.full(n, -math.log(n))
        self.params = params
        self.rng = np.random.default_rng(seed)

    def step(self, observed: float, s_obs: float) -> float:
        mu, omega, alpha, gamma, beta = self.params
        e = np.sqrt(self.s2) * self.rng.standard_normal(self.n)
        self.x += mu + e
        self.s2 = omega + (alpha + gamma * (e < 0.0)) * e * e + beta * self.s2
        d = (math.log(observed) - self.x) / s_obs
        v = self.log_w - 0.5 * d * d
        m = v.max()
        lse = m + math.log(np.exp(v - m).sum())
        self.log_w = v - lse
        w = np.exp(self.log_w)
        ess = 1.0 / np.dot(w, w)
        if ess < 0.5 * self.n:
            pos = (np.arange(self.n) + self.rng.uniform()) / self.n
            idx = np.minimum(np.searchsorted(np.cumsum(w), pos, side="right"), self.n - 1)
            self.x, self.s2 = self.x[idx], self.s2[idx]
            self.log_w = np.full(self.n, -math.log(self.n))
        return float(ess)


def bench_update(n: int, repeat: int, *, parallel: bool | None = None) -> dict:
    """One filter update (predict one step, weight, resample when due) against the numpy references.

    ``parallel`` forces the multi-threaded (True) or the single-threaded
    (False) update kernels; None keeps the filter's own choice
    (``PARALLEL_MIN_PARTICLES``).  The three filters take turns, one update
    each, so a change in the machine's load hits all of them alike.
    """
    import volresearch.simulate.particle_filter as pf_module
    from volresearch.simulate.engine import innovation_table
    from volresearch.simulate.kernels import GJR
    from volresearch.simulate.particle_filter import GarchStateSpace, ParticleFilter, PriceObservation

    saved = pf_module.PARALLEL_MIN_PARTICLES
    if parallel is not None:
        pf_module.PARALLEL_MIN_PARTICLES = 0 if parallel else n + 1
    try:
        params = (0.0, 5e-9, 0.05, 0.05, 0.9)
        table = innovation_table("normal", {})
        pf = ParticleFilter(GarchStateSpace(GJR, *params, table, math.log(100.0), 1e-7, n, seed=1), seed=2)
        rng = np.random.default_rng(3)
        price = [100.0]

        def ours() -> None:
            price[0] *= math.exp(3e-4 * rng.standard_normal())
            pf.step(PriceObservation(price[0], 3e-4))

        vec = _NumpyFilter(n, 100.0, 1e-7, params, seed=5)
        vec_price = [100.0]

        def vectorised() -> None:
            vec_price[0] *= math.exp(3e-4 * rng.standard_normal())
            vec.step(vec_price[0], 3e-4)

        ours()
        vectorised()
        t_ours = np.empty(repeat)
        t_vec = np.empty(repeat)
        for i in range(repeat):  # interleaved
            t_ours[i] = _timeit(ours, 1)[0]
            t_vec[i] = _timeit(vectorised, 1)[0]
        ref = _ObjectFilter(n, 100.0, 1e-7, params, seed=4)
        ref_price = [100.0]

        def reference() -> None:
            ref_price[0] *= math.exp(3e-4 * rng.standard_normal())
            ref.step(ref_price[0], 3e-4)

        t_ref = _timeit(reference, max(3, repeat // 50))
    finally:
        pf_module.PARALLEL_MIN_PARTICLES = saved
    return {
        "particles": n,
        "kernels": "default" if parallel is None else ("parallel" if parallel else "serial"),
        "update_median_ms": 1e3 * float(np.median(t_ours)),
        "update_p99_ms": 1e3 * float(np.percentile(t_ours, 99)),
        "numpy_reference_median_ms": 1e3 * float(np.median(t_vec)),
        "numpy_reference_p99_ms": 1e3 * float(np.percentile(t_vec, 99)),
        "speedup_vs_numpy_reference": float(np.median(t_vec) / np.median(t_ours)),
        "object_reference_median_ms": 1e3 * float(np.median(t_ref)),
        "speedup_vs_object_reference": float(np.median(t_ref) / np.median(t_ours)),
    }


def bench_particles_library(n: int, t_len: int, reps: int) -> dict | None:
    """Comparison with ``particles.SMC``; ``None`` when the library is not installed."""
    try:
        import particles
    except ImportError:
        return None
    from particles import state_space_models as ssm

    from volresearch.simulate.particle_filter import ParticleFilter, StochVolStateSpace

    sv = ssm.StochVol()
    np.random.seed(0)
    _, y = sv.simulate(t_len)
    y = np.asarray(y, dtype=float).ravel()
    ll_ref, ll_ours = [], []
    t0 = time.perf_counter()
    for s in range(reps):
        np.random.seed(10 + s)
        smc = particles.SMC(fk=ssm.Bootstrap(ssm=sv, data=y), N=n, resampling="systematic", ESSrmin=0.5)
        smc.run()
        ll_ref.append(smc.logLt)
    t_ref = (time.perf_counter() - t0) / reps
    t0 = time.perf_counter()
    for s in range(reps):
        pf = ParticleFilter(StochVolStateSpace(sv.mu, sv.rho, sv.sigma, n, seed=s), seed=100 + s)
        pf.update(y[0])
        for yt in y[1:]:
            pf.step(yt)
        ll_ours.append(pf.loglik)
    t_ours = (time.perf_counter() - t0) / reps
    se = math.sqrt(np.var(ll_ref, ddof=1) / reps + np.var(ll_ours, ddof=1) / reps)
    return {
        "particles": n,
        "observations": t_len,
        "loglik_particles_lib": float(np.mean(ll_ref)),
        "loglik_ours": float(np.mean(ll_ours)),
        "difference_in_se": float((np.mean(ll_ours) - np.mean(ll_ref)) / se),
        "seconds_particles_lib": t_ref,
        "seconds_ours": t_ours,
        "speedup_vs_particles_lib": t_ref / t_ours,
    }


def bench_process_bar(n: int, bars: int) -> dict:
    """process_bar latency with the forward paths resampled to equal weights (default) and weighted, same run.

    The two forecasters take turns bar by bar so that a busy machine slows both alike.
    """
    from volresearch.data import datasets
    from volresearch.models import ModelSpec, fit_garch
    from volresearch.simulate.rolling import RollingForecaster

    es = datasets.load("es_synthetic")
    fit = fit_garch(es.iloc[:8000], ModelSpec("gjr", "sged"))
    modes = ("resample", "weighted")
    rfs = {m: RollingForecaster(fit, n_particles=n, seed=1, tick_size=0.25, fan_weights=m) for m in modes}
    rows = list(es.iloc[8000 : 8001 + bars].iterrows())
    for rf in rfs.values():
        rf.process_bar(rows[0][1], timestamp=rows[0][0])
    times: dict[str, list[float]] = {m: [] for m in modes}
    ess: list[float] = []
    for ts, row in rows[1:]:
        for m, rf in rfs.items():
            t = time.perf_counter()
            fc = rf.process_bar(row, timestamp=ts)
            times[m].append(time.perf_counter() - t)
            if m == "resample":
                ess.append(fc.ess)
    draw = _timeit(lambda: np.random.default_rng(0).standard_normal(n * 1440), 5).min()
    res = {m: np.array(v) for m, v in times.items()}
    return {
        "particles": n,
        "horizon_steps": rfs["resample"].horizon_steps,
        "bars": bars,
        "median_ms": 1e3 * float(np.median(res["resample"])),
        "p99_ms": 1e3 * float(np.percentile(res["resample"], 99)),
        "weighted_fan_median_ms": 1e3 * float(np.median(res["weighted"])),
        "weighted_fan_p99_ms": 1e3 * float(np.percentile(res["weighted"], 99)),
        "resampled_over_weighted_median": float(np.median(res["resample"]) / np.median(res["weighted"])),
        "ess_median_fraction": float(np.median(ess) / n),
        "resamples": int(rfs["resample"].filter.n_resamples),
        "numpy_draw_only_ms": 1e3 * float(draw),
        "p99_over_numpy_draw": float(np.percentile(res["resample"], 99) / draw),
    }


_MEMORY_CHILD = """
import resource, json
from volresearch.data import datasets
from volresearch.models import ModelSpec, fit_garch
from volresearch.simulate.rolling import RollingForecaster
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {}
for sym in ("es", "nq", "gc", "si"):
    bars = datasets.load(f"{sym}_synthetic")
    fit = fit_garch(bars.iloc[:6000], ModelSpec("gjr", "t"))
    rf = RollingForecaster(fit, n_particles=N_PARTICLES, seed=1)
    for ts, row in bars.iloc[6000:6000 + N_BARS].iterrows():
        rf.process_bar(row, timestamp=ts)
    out[sym] = rf
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "imports_rss_mb": base / 1024}))
"""


def bench_memory(n: int, bars: int) -> dict:
    code = _MEMORY_CHILD.replace("N_PARTICLES", str(n)).replace("N_BARS", str(bars))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    figures = json.loads(res.stdout.strip().splitlines()[-1])
    figures["budget_mb"] = 1024
    figures["fraction_of_budget"] = figures["peak_rss_mb"] / 1024
    return figures


def _print_process_bar(p: dict) -> None:
    print(
        f"process_bar, {p['particles']} particles x {p['horizon_steps']} steps: median {p['median_ms']:.0f} ms, "
        f"p99 {p['p99_ms']:.0f} ms (target < 300 ms); p99 / numpy draw of the innovations = {p['p99_over_numpy_draw']:.2f}"
    )
    print(
        f"  forward paths weighted by the particles instead: median {p['weighted_fan_median_ms']:.0f} ms, p99 "
        f"{p['weighted_fan_p99_ms']:.0f} ms; resampled / weighted median = {p['resampled_over_weighted_median']:.2f}; "
        f"ESS median {p['ess_median_fraction']:.0%} of N, {p['resamples']} resamplings in {p['bars']} bars"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--process-bar-only", type=int, default=0, metavar="BARS", help="only the process_bar part")
    args = ap.parse_args()
    import numba

    q = args.quick
    if args.process_bar_only:
        p = bench_process_bar(10_000, args.process_bar_only)
        print(json.dumps(p, indent=2))
        _print_process_bar(p)
        return 0
    results = {
        "numba_threads": numba.get_num_threads(),
        "filter_update": [
            bench_update(n, 20 if q else 300, parallel=par) for n in (2000, 10_000) for par in (None, False, True)
        ],
        "vs_particles_library": bench_particles_library(500 if q else 2000, 100 if q else 300, 2 if q else 5),
        "process_bar": bench_process_bar(1000 if q else 10_000, 10 if q else 100),
        "memory_four_instruments": bench_memory(1000 if q else 10_000, 5 if q else 20),
    }
    print(json.dumps(results, indent=2))
    p, m = results["process_bar"], results["memory_four_instruments"]
    for u in results["filter_update"]:
        print(
            f"filter update, {u['particles']} particles, {u['kernels']} kernels: median {u['update_median_ms']:.3f} ms "
            f"(p99 {u['update_p99_ms']:.3f}); vectorised numpy filter {u['numpy_reference_median_ms']:.3f} ms "
            f"(p99 {u['numpy_reference_p99_ms']:.3f}): ratio numpy/ours {u['speedup_vs_numpy_reference']:.2f}; "
            f"{u['speedup_vs_object_reference']:.0f}x the seed's object-per-particle design"
        )
    lib = results["vs_particles_library"]
    if lib is None:
        print(
            "vs particles.SMC: skipped, the `particles` library is not installed here "
            "(it declares numpy < 2; `make bench-particles` builds .venv-particles with it and runs this script there)"
        )
    else:
        print(
            f"vs particles.SMC bootstrap (StochVol, N={lib['particles']}, T={lib['observations']}): "
            f"{lib['speedup_vs_particles_lib']:.1f}x faster, log-lik difference {lib['difference_in_se']:+.2f} SE"
        )
    _print_process_bar(p)
    print(
        f"four forecasters x {m.get('budget_mb')} MB budget: peak RSS {m['peak_rss_mb']:.0f} MB ({m['fraction_of_budget']:.0%} of 1 GB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
