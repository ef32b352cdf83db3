"""Heston particle-filter likelihood: our kernel against the ``particles`` library on the same state-space model.

Model: Heston discretised by Andersen's QE scheme at daily steps (``dt = 1/252``), the state the variance
``v``, each return Gaussian given ``(v_{t-1}, v_t)`` (Andersen's log-price step with the price shock
integrated out).  Both filters are bootstrap filters that resample every step:

* ours: :func:`volresearch.simulate.sv_filter.sv_filter` (numba, one thread, Philox draws, sorted
  systematic resampling);
* ``particles`` (N. Chopin's SMC library): ``particles.SMC`` with ``Bootstrap``, ``resampling="systematic"``,
  ``ESSrmin=1``, the QE transition written as a vectorised ``ProbDist``.

Reported: the median time of one log-likelihood evaluation of ``--n`` returns with ``--particles``
particles, the ratio, and both filters' log-likelihood estimates over several seeds (two independent
implementations of the same likelihood must agree within their Monte Carlo spread).

``particles`` declares numpy < 2: run this with ``.venv-particles/bin/python`` (``make bench-particles``
builds it); without the library only our timing is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from volresearch.simulate.kernels.heston import PSI_C, stationary_sv_returns
from volresearch.simulate.sv_filter import sv_filter

PARAMS = {"mu": 0.05, "kappa": 4.0, "theta": 0.04, "xi": 0.5, "rho": -0.7}
DT = 1.0 / 252.0


def _qe_pieces(p: dict, dt: float) -> dict:
    e = math.exp(-p["kappa"] * dt)
    k, th, xi, rho = p["kappa"], p["theta"], p["xi"], p["rho"]
    return {
        "e": e,
        "c1": xi * xi * e * (1 - e) / k,
        "c2": th * xi * xi * (1 - e) ** 2 / (2 * k),
        "k0": -rho * k * th * dt / xi,
        "k1": 0.5 * dt * (k * rho / xi - 0.5) - rho / xi,
        "k2": 0.5 * dt * (k * rho / xi - 0.5) + rho / xi,
        "k3": 0.5 * dt * (1 - rho * rho),
        "k4": 0.5 * dt * (1 - rho * rho),
        "drift": p["mu"] * dt,
        "theta": th,
    }


def particles_loglik(r: np.ndarray, n: int, seed: int) -> float:
    """Log-likelihood by ``particles``' bootstrap filter on the QE state-space model."""
    import particles
    from particles import distributions as dists
    from particles import state_space_models as ssm

    q = _qe_pieces(PARAMS, DT)

    class QE(dists.ProbDist):
        def __init__(self, xp):
            self.xp = xp

        def rvs(self, size=None):
            v = self.xp
            m = q["theta"] + (v - q["theta"]) * q["e"]
            psi = (v * q["c1"] + q["c2"]) / (m * m)
            out = np.empty_like(v)
            quad = psi <= PSI_C
            ip = 2.0 / psi[quad]
            b2 = ip - 1.0 + np.sqrt(ip) * np.sqrt(ip - 1.0)
            a = m[quad] / (1.0 + b2)
            out[quad] = a * (np.sqrt(b2) + np.random.standard_normal(quad.sum())) ** 2
            ps = psi[~quad]
            pp = (ps - 1.0) / (ps + 1.0)
            beta = (1.0 - pp) / m[~quad]
            u = np.random.uniform(size=ps.size)
            out[~quad] = np.where(u <= pp, 0.0, np.log((1.0 - pp) / np.maximum(1.0 - u, 1e-300)) / beta)
            return out

    class HestonQE(ssm.StateSpaceModel):
        def PX0(self):  # v_1: a QE step from the stationary law, as our filter's first bar
            k, th, xi = PARAMS["kappa"], PARAMS["theta"], PARAMS["xi"]
            gamma = dists.Gamma(a=2 * k * th / xi**2, b=2 * k / xi**2)

            class First(dists.ProbDist):
                def rvs(self, size=None):
                    return QE(gamma.rvs(size=size)).rvs(size)

            return First()

        def PX(self, t, xp):
            return QE(xp)

        def PY(self, t, xp, x):
            if xp is None:  # the first return: v_0 is not kept by particles, v_1 stands in (one term of n)
                xp = x
            mean = q["drift"] + q["k0"] + q["k1"] * xp + q["k2"] * x
            return dists.Normal(loc=mean, scale=np.sqrt(np.maximum(q["k3"] * xp + q["k4"] * x, 1e-300)))

    np.random.seed(seed)
    fk = ssm.Bootstrap(ssm=HestonQE(), data=list(r))
    alg = particles.SMC(fk=fk, N=n, resampling="systematic", ESSrmin=1.0, store_history=False, verbose=False,
                        collect=None)  # fmt: skip
    alg.run()
    return float(alg.logLt)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--particles", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    r = stationary_sv_returns(PARAMS, 1, args.n, DT, seed=7)[:, 0]
    sv_filter(PARAMS, r[:50], DT, n_particles=args.particles)  # compile
    times, ours = [], []
    for s in range(max(args.repeat, args.seeds)):
        t0 = time.perf_counter()
        ours.append(sv_filter(PARAMS, r, DT, n_particles=args.particles, seed=s).loglik)
        times.append(time.perf_counter() - t0)
    out = {"n": args.n, "particles": args.particles, "ours_s": float(np.median(times)),
           "ours_loglik_mean": float(np.mean(ours)), "ours_loglik_sd": float(np.std(ours, ddof=1))}  # fmt: skip
    try:
        import particles  # noqa: F401
    except ImportError:
        out["particles"] = "not installed (make bench-particles)"
    else:
        ptimes, theirs = [], []
        for s in range(max(args.repeat, args.seeds)):
            t0 = time.perf_counter()
            theirs.append(particles_loglik(r, args.particles, s))
            ptimes.append(time.perf_counter() - t0)
        out.update(particles_s=float(np.median(ptimes)), particles_loglik_mean=float(np.mean(theirs)),
                   particles_loglik_sd=float(np.std(theirs, ddof=1)),
                   speedup=float(np.median(ptimes) / np.median(times)))  # fmt: skip
    if args.json:
        print(json.dumps(out))
    else:
        print(f"Heston QE particle-filter log-likelihood, {args.n} returns, {args.particles} particles")
        print(
            f"  ours:      {out['ours_s']:.3f} s   loglik {out['ours_loglik_mean']:.2f} +- {out['ours_loglik_sd']:.2f}"
        )
        if "particles_s" in out:
            print(f"  particles: {out['particles_s']:.3f} s   loglik {out['particles_loglik_mean']:.2f} "
                  f"+- {out['particles_loglik_sd']:.2f}")  # fmt: skip
            print(f"  ours is {out['speedup']:.1f}x faster (target >= 5x)")
        else:
            print(f"  particles: {out['particles']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
