r"""Bootstrap particle filter over arrays of particle states.

The filter is generic: a *state-space model* owns the particle state arrays
and knows how to propagate them (``predict``) and how likely an observation
is under each particle (``log_likelihood``).  The filter owns the
normalised log-weights, weighting, resampling and diagnostics:

1. **predict**: each particle moves with *its own* simulated shocks (never the
   expected shock, which would keep every particle on one path);
2. **weight**: ``log w_i += log p(y_t | x_i)``, normalised by log-sum-exp; the
   log-likelihood increment :math:`\log \sum_i W_i\, p(y_t|x_i)` is returned, so
   the filter also estimates the model's likelihood;
3. **resample** when ``ESS = 1 / \sum W_i^2`` falls below ``threshold x N``
   (systematic by default; multinomial and stratified as options).

Two models are provided.  :class:`GarchStateSpace` is the price model of the
rolling forecaster: the latent log price and next-step variance follow the
fitted GARCH/GJR/EGARCH recursion (paths from :mod:`volresearch.simulate`
kernels, per-slot counter-based random streams), and a close is observed with
microstructure noise of standard deviation ``s_obs`` (log-price units; the
rolling forecaster sets it to ``max(tick / 2, spread / 2, estimated noise)``
relative to the price), plus an optional realised-variance term comparing
the bar's Parkinson range variance with the variance that drove that bar, in
log space and with the exact mean of the log range (:data:`LOG_PARKINSON_MEAN`).
:class:`StochVolStateSpace` is the textbook stochastic-volatility model used
to check the filter against an outside implementation.

Speed.  :meth:`ParticleFilter.step` on a :class:`GarchStateSpace` runs one
fused kernel (:func:`~volresearch.simulate._pf_kernels.garch_filter_step`):
predict, weight and log-sum-exp in one pass over the particles, into spare
arrays that are swapped in on success (no copies, no allocations per call),
and systematic resampling from the linear weights that pass produced.  Below
:data:`PARALLEL_MIN_PARTICLES` it runs on the calling thread: a one-step
update of thousands of particles is shorter than the start-up of parallel
threads, which on a busy machine costs milliseconds.  The particles' numbers
depend only on their streams, so serial and parallel kernels, and any thread
count, give identical results.

Every step is transactional: when :meth:`ParticleFilter.step` or
:meth:`ParticleFilter.update` raises, particles, weights, counters and the
random streams are exactly as before the call, so retrying or skipping the
observation cannot advance the particles twice.

``snapshot()`` returns plain arrays and JSON-safe metadata that
:meth:`ParticleFilter.restore` turns back into a filter that continues bit
for bit; the :class:`~volresearch.data.store.Store` persists them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from volresearch.errors import SimulationError
from volresearch.simulate._pf_kernels import (
    _LOG_PARKINSON_MEAN,
    garch_filter_step,
    garch_filter_step_parallel,
    gaussian_loglik,
    inverse_cdf,
    reweight,
    systematic_ancestors,
)
from volresearch.simulate._rng import StreamState
from volresearch.simulate.innovations import PpfTable
from volresearch.simulate.kernels import advance_states, advance_states_serial

__all__ = [
    "ParticleFilter",
    "StepResult",
    "GarchStateSpace",
    "StochVolStateSpace",
    "PriceObservation",
    "RESAMPLING_SCHEMES",
    "LOG_PARKINSON_MEAN",
    "LOG_PARKINSON_SD",
    "PARALLEL_MIN_PARTICLES",
]

#: ``E[log(R^2 / (4 ln 2))]`` for ``R`` the range of a standard Brownian motion on ``[0, 1]``: the log of a
#: bar's Parkinson variance exceeds ``log sigma^2`` by this on average (it is negative: Jensen).  Computed
#: from Feller's (1951) density of the range, ``f(r) = 8 sum_k (-1)^(k-1) k^2 phi(k r)``, by quadrature:
#: ``E[log R] = 0.425676``, ``Var[log R] = 0.0821807`` (Alizadeh, Brandt and Diebold 2002 quote 0.43, 0.29^2).
LOG_PARKINSON_MEAN = _LOG_PARKINSON_MEAN
#: Standard deviation of ``log(R^2 / (4 ln 2))`` (same source): the natural scale of the realised-variance term.
LOG_PARKINSON_SD = 0.5733434496810648

Scheme = Literal["systematic", "stratified", "multinomial"]

#: Particle count from which a filter update runs on several threads.  Below it the update runs on the calling
#: thread: a one-step update is a few microseconds of work per thousand particles, less than waking a pool of
#: threads on a busy machine (measured by ``benchmarks/bench_filter.py``; results are identical either way).
PARALLEL_MIN_PARTICLES = 100_000
_NO_MULT = np.empty(0)


def _positions_systematic(n: int, rng: np.random.Generator) -> np.ndarray:
    return (np.arange(n) + rng.uniform()) / n


def _positions_stratified(n: int, rng: np.random.Generator) -> np.ndarray:
    return (np.arange(n) + rng.uniform(size=n)) / n


def _positions_multinomial(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.uniform(size=n))


#: Resampling schemes by name: each maps (N, generator) to sorted positions in [0, 1).
RESAMPLING_SCHEMES = {
    "systematic": _positions_systematic,
    "stratified": _positions_stratified,
    "multinomial": _positions_multinomial,
}


class StateSpaceModel(Protocol):
    """What the filter needs from a model (state arrays are the model's own)."""

    n: int

    def predict(self, n_steps: int, rng: np.random.Generator) -> None: ...

    def log_likelihood(self, obs: Any, out: np.ndarray) -> None: ...

    def take(self, idx: np.ndarray) -> None: ...

    def state_arrays(self) -> dict[str, np.ndarray]: ...

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None: ...


@dataclass(frozen=True)
class StepResult:
    """Outcome of one filter step.

    ``loglik_increment`` is ``log p(y_t | y_{1:t-1})`` as estimated by the
    particles; ``ess`` is the effective sample size after weighting (before
    any resampling); ``resampled`` says whether resampling happened.
    """

    loglik_increment: float
    ess: float
    resampled: bool
    steps: int


class ParticleFilter:
    """Bootstrap particle filter with log-space weights.

    Parameters
    ----------
    model
        A state-space model holding ``n`` particles.
    resampling
        ``"systematic"`` (default), ``"stratified"`` or ``"multinomial"``.
    ess_threshold
        Resample when ``ESS < ess_threshold * n`` (0.5: the usual ``N/2``).
    seed
        Seed of the generator used for resampling (and for models that draw
        from it); the same seed and data give the same filter run.
    """

    def __init__(
        self,
        model: StateSpaceModel,
        *,
        resampling: Scheme = "systematic",
        ess_threshold: float = 0.5,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if resampling not in RESAMPLING_SCHEMES:
            raise SimulationError(
                f"unknown resampling scheme {resampling!r}; choose one of {sorted(RESAMPLING_SCHEMES)}"
            )
        if not 0.0 <= ess_threshold <= 1.0:
            raise SimulationError("ess_threshold must lie in [0, 1]")
        self.model = model
        self.n = int(model.n)
        self.resampling = resampling
        self.ess_threshold = float(ess_threshold)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.log_w = np.full(self.n, -math.log(self.n))
        self._scratch = np.empty(self.n)
        self._loglik = np.empty(self.n)
        self._idx = np.empty(self.n, dtype=np.int64)
        self._w = np.empty(self.n)  # linear weights of the last fused step (valid while _w_fresh)
        self._w_fresh = False
        self.loglik = 0.0
        self.n_steps = 0
        self.n_resamples = 0
        self.ess = float(self.n)

    # ------------------------------------------------------------------ core
    @property
    def weights(self) -> np.ndarray:
        """Normalised particle weights (sum to one)."""
        return np.exp(self.log_w)

    def predict(self, n_steps: int = 1) -> None:
        """Move every particle ``n_steps`` forward with its own shocks."""
        if n_steps < 0:
            raise SimulationError("cannot predict a negative number of steps")
        if n_steps:
            self.model.predict(int(n_steps), self.rng)
            self.n_steps += int(n_steps)

    def update(self, obs: Any) -> StepResult:
        """Weight the particles by the observation; resample if the ESS is low.

        Raises
        ------
        SimulationError
            Every particle gives the observation zero likelihood (or an
            undefined one); the filter is left exactly as before the call.
        """
        self.model.log_likelihood(obs, self._loglik)
        inc, ess = reweight(self.log_w, self._loglik, self._scratch)
        if not math.isfinite(inc):
            raise SimulationError(
                "every particle gave the observation zero likelihood; the observation noise is too small "
                "for the model or the data jumped beyond every particle (filter state unchanged)"
            )
        self.log_w, self._scratch = self._scratch, self.log_w
        self.loglik += inc
        self.ess = float(ess)
        resampled = False
        if ess < self.ess_threshold * self.n:
            self.resample()
            resampled = True
        return StepResult(float(inc), float(ess), resampled, 0)

    def step(self, obs: Any, n_steps: int = 1) -> StepResult:
        """``predict(n_steps)`` then ``update(obs)``, as one transaction.

        A model with a fused update (``propose``/``commit``, as
        :class:`GarchStateSpace`) does both in one pass into spare arrays and
        installs them only on success, so nothing is copied or undone.

        Raises
        ------
        SimulationError
            As :meth:`update`; the prediction is undone too, so the particles,
            weights, counters and random streams are exactly as before the call.
        """
        propose = getattr(self.model, "propose", None)
        if propose is not None and n_steps >= 1:
            inc, ess = propose(int(n_steps), obs, self.log_w, self._scratch, self._w)
            if not math.isfinite(inc):
                raise SimulationError(
                    "every particle gave the observation zero likelihood; the observation noise is too small "
                    "for the model or the data jumped beyond every particle (filter state unchanged)"
                )
            self.model.commit()  # type: ignore[attr-defined]
            self.n_steps += int(n_steps)
            self.log_w, self._scratch = self._scratch, self.log_w
            self.loglik += inc
            self.ess = float(ess)
            resampled = ess < self.ess_threshold * self.n
            if resampled:
                self._w_fresh = True
                self.resample()
            return StepResult(float(inc), float(ess), bool(resampled), int(n_steps))
        saved = self.checkpoint()
        try:
            self.predict(n_steps)
            res = self.update(obs)
        except BaseException:
            self.rollback(saved)
            raise
        return StepResult(res.loglik_increment, res.ess, res.resampled, int(n_steps))

    def checkpoint(self) -> tuple[Any, ...]:
        """An in-memory copy of the whole filter state, for :meth:`rollback`."""
        arrays = {k: np.array(v, copy=True) for k, v in self.model.state_arrays().items()}
        rng_state = self.rng.bit_generator.state
        return arrays, self.log_w.copy(), self.loglik, self.n_steps, self.n_resamples, self.ess, rng_state

    def rollback(self, saved: tuple[Any, ...]) -> None:
        """Return to a state taken by :meth:`checkpoint` (particles, weights, counters, random streams)."""
        arrays, log_w, self.loglik, self.n_steps, self.n_resamples, self.ess, rng_state = saved
        self.model.load_state({k: np.array(v, copy=True) for k, v in arrays.items()})
        self.log_w = np.array(log_w, copy=True)
        self.rng.bit_generator.state = rng_state

    def resample(self) -> None:
        """Resample ancestors by the configured scheme and reset the weights."""
        fresh, self._w_fresh = self._w_fresh, False
        if fresh and self.resampling == "systematic":
            systematic_ancestors(self._w, self.rng.uniform(), self._idx)
        else:
            positions = RESAMPLING_SCHEMES[self.resampling](self.n, self.rng)
            inverse_cdf(self.log_w, positions, self._idx)
        self.model.take(self._idx)
        self.log_w.fill(-math.log(self.n))
        self.n_resamples += 1

    def ancestors(self, positions: np.ndarray) -> np.ndarray:
        """Ancestor indices for given sorted positions (exposed for tests)."""
        out = np.empty(positions.size, dtype=np.int64)
        inverse_cdf(self.log_w, np.asarray(positions, dtype=float), out)
        return out

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-safe metadata from which :meth:`restore` continues bit for bit."""
        arrays = {f"model.{k}": np.array(v, copy=True) for k, v in self.model.state_arrays().items()}
        arrays["log_w"] = self.log_w.copy()
        meta = {
            "n": self.n,
            "resampling": self.resampling,
            "ess_threshold": self.ess_threshold,
            "loglik": self.loglik,
            "n_steps": self.n_steps,
            "n_resamples": self.n_resamples,
            "ess": self.ess,
            "rng_state": _jsonable_state(self.rng.bit_generator.state),
        }
        return arrays, meta

    def restore(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Load a snapshot into this filter (its model must have the same shape)."""
        if int(meta["n"]) != self.n:
            raise SimulationError(f"snapshot has {meta['n']} particles, this filter {self.n}")
        self.model.load_state({k[6:]: np.array(v, copy=True) for k, v in arrays.items() if k.startswith("model.")})
        self.log_w = np.array(arrays["log_w"], dtype=np.float64, copy=True)
        self.loglik = float(meta["loglik"])
        self.n_steps = int(meta["n_steps"])
        self.n_resamples = int(meta["n_resamples"])
        self.ess = float(meta["ess"])
        self.resampling = meta["resampling"]
        self.ess_threshold = float(meta["ess_threshold"])
        state = dict(meta["rng_state"])
        self.rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
        self.rng.bit_generator.state = state

    def weighted_mean(self, values: np.ndarray) -> float:
        """``sum_i W_i values_i``."""
        return float(np.dot(np.exp(self.log_w), values))


def _jsonable_state(state: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in state.items():
        if isinstance(v, Mapping):
            out[k] = _jsonable_state(v)
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------- models


@dataclass(frozen=True)
class PriceObservation:
    """A bar as seen by :class:`GarchStateSpace`.

    Attributes
    ----------
    close
        Observed close (price units).
    s_obs
        Standard deviation of the microstructure noise of the log close
        (log-price units), not the return volatility.
    range_variance
        Parkinson variance of the bar, ``ln(high/low)^2 / (4 ln 2)`` (squared
        log return per bar), or NaN to skip the realised-variance term.
    multiplier
        Per-step variance multipliers ``m_t`` of the steps that lead to this
        bar (the multiplicative intraday model; ``None``: no multiplier).
        Used by the fused update (:meth:`ParticleFilter.step`).
    """

    close: float
    s_obs: float
    range_variance: float = math.nan
    multiplier: np.ndarray | None = field(default=None, compare=False)


class GarchStateSpace:
    """Latent log price and variance under a fitted GARCH-family recursion.

    Parameters
    ----------
    model_code, mu, omega, alpha, gamma, beta
        Kernel model code and parameters in per-bar log-return units.
    table
        Tabulated inverse cdf of the standardised innovations.
    x0, sigma2_0
        Initial log price and next-step variance (scalars or per-particle arrays).
    n
        Number of particles.
    seed
        Seed of the per-slot Philox streams of the transition shocks.
    rv_weight
        Standard deviation (log units) of the realised-variance term; ``None``
        disables it.  The term is ``log RV_t ~ N(log sigma^2_t + LOG_PARKINSON_MEAN,
        rv_weight^2)`` with ``sigma^2_t`` the variance that drove bar ``t`` (kept as
        ``sigma2_prev``; times the bar's multiplier when there is one);
        :data:`LOG_PARKINSON_SD` is its exact scale under a Brownian path inside the bar.
    weighting
        ``"bootstrap"`` (predict blind, weight by the close) or ``"adapted"``
        (the fused step weights each particle by the predictive density of the
        close under its own variance and gives it the shock the close implies:
        see :func:`~volresearch.simulate._pf_kernels.garch_filter_step`; needs
        ``logpdf``).  Only the fused :meth:`ParticleFilter.step` adapts; the
        separate ``predict``/``update`` path is the bootstrap one.
    logpdf
        ``(z_0, dz, log f)``: the innovation law's log-density on a grid
        (:func:`~volresearch.simulate.engine.innovation_logpdf`).
    """

    def __init__(
        self,
        model_code: int,
        mu: float,
        omega: float,
        alpha: float,
        gamma: float,
        beta: float,
        table: PpfTable,
        x0: float | np.ndarray,
        sigma2_0: float | np.ndarray,
        n: int,
        *,
        seed: int,
        rv_weight: float | None = None,
        weighting: Literal["bootstrap", "adapted"] = "bootstrap",
        logpdf: tuple[float, float, np.ndarray] | None = None,
    ) -> None:
        if weighting not in ("bootstrap", "adapted"):
            raise SimulationError(f"weighting must be 'bootstrap' or 'adapted', got {weighting!r}")
        if weighting == "adapted" and logpdf is None:
            raise SimulationError("adapted weighting needs the innovation log-density (logpdf=)")
        self.weighting = weighting
        self.logpdf = logpdf if logpdf is not None else (0.0, 1.0, np.zeros(2))
        self.n = int(n)
        self.code = int(model_code)
        self.params = (float(mu), float(omega), float(alpha), float(gamma), float(beta))
        self.table = table
        self.x = np.broadcast_to(np.asarray(x0, dtype=np.float64), (self.n,)).copy()
        self.sigma2 = np.broadcast_to(np.asarray(sigma2_0, dtype=np.float64), (self.n,)).copy()
        if not np.all(self.sigma2 > 0):
            raise SimulationError("initial variances must be positive")
        self.sigma2_prev = self.sigma2.copy()
        self.streams = StreamState.create(seed, self.n)
        self.rv_weight = rv_weight
        self._allocate()

    def _allocate(self) -> None:
        """Spare state arrays: a fused update writes into them, :meth:`commit` swaps them in."""
        self._tmp = np.empty(self.n)
        self._x_next = np.empty(self.n)
        self._s2_next = np.empty(self.n)
        self._prev_next = np.empty(self.n)
        self._cn_next = np.empty(self.n, dtype=np.uint64)

    def predict(self, n_steps: int, rng: np.random.Generator) -> None:
        if n_steps > 1:
            self._advance(n_steps - 1)
        if n_steps >= 1:
            np.copyto(self.sigma2_prev, self.sigma2)  # the variance that drives the last (observed) step
            self._advance(1)

    def _advance(self, n_steps: int) -> None:
        s = self.streams
        kernel = advance_states if self.n >= PARALLEL_MIN_PARTICLES else advance_states_serial
        kernel(
            self.code, *self.params, self.x, self.sigma2, n_steps, s.key, s.stream, s.counter, *self.table.kernel_args
        )

    def propose(
        self, n_steps: int, obs: PriceObservation, log_w: np.ndarray, out: np.ndarray, w_out: np.ndarray
    ) -> tuple[float, float]:
        """Predict ``n_steps`` and weight by ``obs`` in one pass, into spare arrays (state untouched).

        ``out`` receives the normalised log-weights and ``w_out`` the
        linear ones; returns ``(increment,
        ESS)`` as :func:`~volresearch.simulate._pf_kernels.reweight`.  The
        new particles take effect with :meth:`commit`; without it the model
        is as before.  The particles are bit for bit those of :meth:`predict`;
        the weights equal :meth:`log_likelihood` then ``reweight`` to rounding.
        """
        rv = obs.range_variance
        use_rv = self.rv_weight is not None and math.isfinite(rv) and rv > 0
        s = self.streams
        kernel = garch_filter_step_parallel if self.n >= PARALLEL_MIN_PARTICLES else garch_filter_step
        mult = _NO_MULT if obs.multiplier is None else np.ascontiguousarray(obs.multiplier, dtype=np.float64)
        if mult.size and mult.shape != (int(n_steps),):
            raise SimulationError(f"the observation has {mult.size} multipliers for {n_steps} steps")
        z0, dz, lf = self.logpdf
        inc, ess = kernel(
            int(n_steps), self.code, *self.params, self.x, self.sigma2, self.sigma2_prev, s.counter, s.key,
            s.stream, *self.table.kernel_args, log_w, math.log(obs.close), float(obs.s_obs),
            math.log(rv) if use_rv else 0.0, float(self.rv_weight) if use_rv else 0.0,
            self._x_next, self._s2_next, self._prev_next, self._cn_next, out, w_out, mult,
            self.weighting == "adapted", float(z0), float(dz), lf,
        )  # fmt: skip
        return float(inc), float(ess)

    def commit(self) -> None:
        """Install the particles of the last :meth:`propose` (the old arrays become the spares)."""
        self.x, self._x_next = self._x_next, self.x
        self.sigma2, self._s2_next = self._s2_next, self.sigma2
        self.sigma2_prev, self._prev_next = self._prev_next, self.sigma2_prev
        counter, self._cn_next = self._cn_next, self.streams.counter
        self.streams = StreamState(self.streams.key, self.streams.stream, counter)

    def log_likelihood(self, obs: PriceObservation, out: np.ndarray) -> None:
        gaussian_loglik(self.x, math.log(obs.close), obs.s_obs, out)
        if self.rv_weight is not None and math.isfinite(obs.range_variance) and obs.range_variance > 0:
            # log RV_t = log sigma^2_t + E[log(R^2 / 4 ln 2)] + noise, sigma^2_t the variance that drove bar t
            gaussian_loglik(
                np.log(self.sigma2_prev) + LOG_PARKINSON_MEAN, math.log(obs.range_variance), self.rv_weight, self._tmp
            )
            out += self._tmp

    def take(self, idx: np.ndarray) -> None:
        np.take(self.x, idx, out=self._x_next)
        np.take(self.sigma2, idx, out=self._s2_next)
        np.take(self.sigma2_prev, idx, out=self._prev_next)
        self.x, self._x_next = self._x_next, self.x
        self.sigma2, self._s2_next = self._s2_next, self.sigma2
        self.sigma2_prev, self._prev_next = self._prev_next, self.sigma2_prev

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {
            "x": self.x,
            "sigma2": self.sigma2,
            "sigma2_prev": self.sigma2_prev,
            "key": self.streams.key,
            "stream": self.streams.stream,
            "counter": self.streams.counter,
        }

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.x = np.ascontiguousarray(arrays["x"], dtype=np.float64)
        self.sigma2 = np.ascontiguousarray(arrays["sigma2"], dtype=np.float64)
        prev = arrays.get("sigma2_prev")
        self.sigma2_prev = np.array(self.sigma2 if prev is None else prev, dtype=np.float64, copy=True)
        self.streams = StreamState(
            np.ascontiguousarray(arrays["key"], dtype=np.uint64),
            np.ascontiguousarray(arrays["stream"], dtype=np.uint64),
            np.ascontiguousarray(arrays["counter"], dtype=np.uint64),
        )
        self.n = self.x.size
        self._allocate()


class StochVolStateSpace:
    r"""Univariate stochastic volatility (Pitt and Shephard 1999 parametrisation).

    :math:`X_0 \sim N(\mu, \sigma^2/(1-\rho^2))`, :math:`X_t = \mu + \rho(X_{t-1}-\mu) + \sigma U_t`,
    :math:`Y_t | X_t \sim N(0, e^{X_t})`: ``X`` is the log variance of the
    return ``Y`` (squared log return per bar, in logs).
    """

    def __init__(self, mu: float, rho: float, sigma: float, n: int, *, seed: int | None = None) -> None:
        if not abs(rho) < 1:
            raise SimulationError("StochVol needs |rho| < 1")
        self.mu, self.rho, self.sigma, self.n = float(mu), float(rho), float(sigma), int(n)
        rng = np.random.default_rng(seed)
        self.x = self.mu + self.sigma / math.sqrt(1 - self.rho**2) * rng.standard_normal(self.n)

    def predict(self, n_steps: int, rng: np.random.Generator) -> None:
        for _ in range(n_steps):
            self.x = self.mu + self.rho * (self.x - self.mu) + self.sigma * rng.standard_normal(self.n)

    def log_likelihood(self, obs: float, out: np.ndarray) -> None:
        np.multiply(-0.5, math.log(2 * math.pi) + self.x + obs * obs * np.exp(-self.x), out=out)

    def take(self, idx: np.ndarray) -> None:
        self.x = self.x[idx]

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"x": self.x}

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.x = np.array(arrays["x"], dtype=np.float64)
        self.n = self.x.size
