"""Heston, SVCJ and Merton in the rolling forecaster: state spaces of their particles and the adapters.

:class:`SVStateSpace` carries, per particle, the log price and the variance
``v`` (variance per year), each particle with its own Philox stream as the
path kernels use them.  Unobserved steps (a gap between bars) move the
particles blind with :func:`~volresearch.simulate.kernels.heston.simulate_sv`;
the observed step is fully adapted in the log price
(:func:`~volresearch.simulate.kernels.sv_filter.sv_adapted_step`): given its
variance draws a particle's bar return is Gaussian, so it is weighted by the
predictive density of the observed close (return plus microstructure noise)
and moved to a draw from its return given the close.  Without that, a
bootstrap filter whose observation noise is a few basis points would give
almost every particle zero weight at every bar.

:class:`SVFilterAdapter` is registered for the ``heston`` and ``svcj``
kernels, so :class:`~volresearch.simulate.rolling.RollingForecaster` (and the
dashboard's replay) carry these models bar by bar like the GARCH family:
particles start from the Gamma law of the fit's filtered end-of-sample
variance, and the fan after each bar runs the path kernel from the particles.

Merton has no latent variance: :class:`MertonStateSpace` carries the log price
only, adapted the same way given each particle's jump count
(:func:`~volresearch.simulate.kernels.sv_filter.merton_adapted_step`), and
:class:`MertonFilterAdapter` (kernel ``merton``) runs the exact path kernel
from the particles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import SimulationError
from volresearch.simulate._pf_kernels import gaussian_loglik
from volresearch.simulate._rng import StreamState
from volresearch.simulate.engine import innovation_table
from volresearch.simulate.filter_adapters import FilterAdapter, register_filter_adapter
from volresearch.simulate.particle_filter import PriceObservation

__all__ = ["MertonFilterAdapter", "MertonStateSpace", "SVFilterAdapter", "SVStateSpace"]

_SIM_KEYS = ("mu", "kappa", "theta", "xi", "rho", "lam", "mu_y", "sigma_y", "mu_v", "rho_j")


def _kernel_params(result: Any) -> dict[str, float]:
    p = dict(result.simulation_params())
    if "lambda" in p and "lam" not in p:
        p["lam"] = p["lambda"]
    return {k: float(p[k]) for k in _SIM_KEYS if k in p}


class _ParticleStates:
    """Per-particle state arrays named in :attr:`STATE` plus Philox streams: swap, take, save and restore."""

    STATE: tuple[str, ...] = ("x",)
    n: int
    streams: StreamState

    def _allocate(self) -> None:
        """Spare arrays a fused update writes into (:meth:`commit` swaps them in)."""
        self._next = {name: np.empty(self.n) for name in self.STATE}
        self._cn_next = np.empty(self.n, dtype=np.uint64)

    def commit(self) -> None:
        """Install the particles of the last ``propose``."""
        for name in self.STATE:
            cur = getattr(self, name)
            setattr(self, name, self._next[name])
            self._next[name] = cur
        counter, self._cn_next = self._cn_next, self.streams.counter
        self.streams = StreamState(self.streams.key, self.streams.stream, counter)

    def log_likelihood(self, obs: PriceObservation, out: np.ndarray) -> None:
        """Bootstrap weights: the log close given each particle's log price (Gaussian noise ``s_obs``)."""
        gaussian_loglik(self.x, math.log(obs.close), obs.s_obs, out)  # type: ignore[attr-defined]

    def take(self, idx: np.ndarray) -> None:
        for name in self.STATE:
            setattr(self, name, np.take(getattr(self, name), idx))

    def state_arrays(self) -> dict[str, np.ndarray]:
        s = self.streams
        return {**{name: getattr(self, name) for name in self.STATE}, "key": s.key, "stream": s.stream,
                "counter": s.counter}  # fmt: skip

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name in self.STATE:
            setattr(self, name, np.ascontiguousarray(arrays[name], dtype=np.float64))
        self.streams = StreamState(
            np.ascontiguousarray(arrays["key"], dtype=np.uint64),
            np.ascontiguousarray(arrays["stream"], dtype=np.uint64),
            np.ascontiguousarray(arrays["counter"], dtype=np.uint64),
        )
        self.n = self.x.size  # type: ignore[attr-defined]
        self._allocate()


class SVStateSpace(_ParticleStates):
    """Latent log price ``x`` and variance ``sigma2`` (= ``v``, variance per year) of Heston/SVCJ particles.

    Parameters
    ----------
    params
        ``mu, kappa, theta, xi, rho`` and optionally ``lam, mu_y, sigma_y, mu_v, rho_j`` (annualised).
    dt
        Bar length in years.
    x0, v0
        Initial log price and variance (scalars or per-particle arrays).
    n, seed
        Particles and the seed of their Philox streams.
    """

    STATE = ("x", "sigma2")

    def __init__(
        self, params: Mapping[str, float], dt: float, x0: float | np.ndarray, v0: float | np.ndarray, n: int, *,
        seed: int,
    ) -> None:  # fmt: skip
        from volresearch.simulate.kernels.heston import PSI_C, _prepare

        self.n = int(n)
        self.kw = {k: float(v) for k, v in params.items() if k in _SIM_KEYS}
        self.dt = float(dt)
        p = {k: self.kw.get(k, 0.0) for k in _SIM_KEYS}
        self._cst, self._tails, self._jump = _prepare(
            self.dt, p["mu"], p["kappa"], p["theta"], p["xi"], p["rho"], p["lam"], p["mu_y"], p["sigma_y"],
            p["mu_v"], p["rho_j"], PSI_C,
        )  # fmt: skip
        self.ppf = innovation_table("normal", {}).kernel_args
        self.x = np.broadcast_to(np.asarray(x0, dtype=np.float64), (self.n,)).copy()
        self.sigma2 = np.broadcast_to(np.asarray(v0, dtype=np.float64), (self.n,)).copy()
        if not np.all(np.isfinite(self.sigma2) & (self.sigma2 >= 0)):
            raise SimulationError("initial variances must be finite and non-negative")
        self.streams = StreamState.create(seed, self.n)
        self._allocate()

    def _blind(self, x: np.ndarray, v: np.ndarray, counter: np.ndarray, n_steps: int) -> None:
        from volresearch.simulate.kernels.heston import simulate_sv

        s = self.streams
        simulate_sv(x, v, int(n_steps), self.dt, key=s.key, stream=s.stream, counter=counter, ppf=self.ppf,
                    store_x=False, **self.kw)  # fmt: skip

    def predict(self, n_steps: int, rng: np.random.Generator) -> None:
        """Move every particle ``n_steps`` bars with its own draws (the path kernel)."""
        if n_steps >= 1:
            self._blind(self.x, self.sigma2, self.streams.counter, n_steps)

    def propose(
        self, n_steps: int, obs: PriceObservation, log_w: np.ndarray, out: np.ndarray, w_out: np.ndarray
    ) -> tuple[float, float]:
        """Blind steps to the bar, then the adapted observed step, into spare arrays; returns (increment, ESS)."""
        from volresearch.simulate.kernels.sv_filter import sv_adapted_step

        x = self.x.copy()
        v = self.sigma2.copy()
        counter = self.streams.counter.copy()
        if n_steps > 1:
            self._blind(x, v, counter, n_steps - 1)
        s = self.streams
        inc, ess = sv_adapted_step(
            self._cst, self._tails, self._jump, x, v, s.key, s.stream, counter, *self.ppf, math.log(obs.close),
            float(obs.s_obs), log_w, self._next["x"], self._next["sigma2"], self._cn_next, out,
        )  # fmt: skip
        np.exp(out, out=w_out)
        return float(inc), float(ess)


class SVFilterAdapter(FilterAdapter):
    """A Heston or SVCJ result (:class:`~volresearch.models.heston.SVResult`) in the rolling forecaster."""

    recursion = "sv"
    dist = "normal"

    def __init__(self, result: Any) -> None:
        self.result = result
        self.sim_params = _kernel_params(result)
        self.bar_seconds = float(result.bar_seconds)

    @property
    def code(self) -> int:
        """No GARCH recursion: -1."""
        return -1

    @property
    def params(self) -> tuple[float, ...]:  # type: ignore[override]
        """The annualised kernel parameters in the order of :data:`_SIM_KEYS`."""
        return tuple(self.sim_params.get(k, 0.0) for k in _SIM_KEYS)

    def fingerprint(self) -> dict[str, float]:
        return dict(self.sim_params)

    def start(self) -> tuple[float, pd.Timestamp | None, float]:
        st = self.result.filter_state()
        end = st.get("end")
        return float(st["last_price"]), (pd.Timestamp(end) if end is not None else None), float(st["v"])

    def calendar_hint(self) -> Any:
        from volresearch.data.calendar import get_calendar

        return get_calendar(self.result.calendar) if self.result.calendar else None

    def typical_vol(self) -> float:
        v = math.sqrt(max(float(self.result.params["theta"]) * float(self.result.dt), 0.0))
        return v if math.isfinite(v) and v > 0 else 1e-10

    def state_space(  # type: ignore[override]
        self, x0: float, variance: float, n: int, *, seed: int, rv_weight: float | None, weighting: str
    ) -> SVStateSpace:
        """Particles at ``x0`` with variances from the Gamma law of mean ``variance`` and the fit's filtered sd."""
        from volresearch.simulate.sv_filter import stationary_particles

        p = self.result.params
        sd = float(self.result.diagnostics.get("v0_sd", math.nan))
        v0 = stationary_particles(p["kappa"], p["theta"], p["xi"], int(n), mean=float(variance), sd=sd)
        v0 = np.random.default_rng(seed).permutation(v0)  # stratified values, no order tied to the streams
        return SVStateSpace(self.sim_params, float(self.result.dt), x0, v0, int(n), seed=seed)

    def fan(  # type: ignore[override]
        self,
        model: Any,
        weights: np.ndarray | None,
        *,
        ancestors: np.ndarray | None = None,
        horizon: int,
        seed: int,
        quantiles: Sequence[float],
        start: pd.Timestamp,
        step_times: pd.DatetimeIndex | None,
        multiplier: np.ndarray | None,
        n_sample_paths: int,
    ) -> Any:
        """Band-mode paths of the QE (+jump) kernel from the particles (weighted particles resampled first)."""
        from volresearch.simulate.kernels.heston import simulate_sv

        pick = _pick(model.n, weights, ancestors, seed)
        x = np.array(model.x, copy=True) if pick is None else np.asarray(model.x)[pick]
        v = np.array(model.sigma2, copy=True) if pick is None else np.asarray(model.sigma2)[pick]
        ss = StreamState.create(int(seed), x.size)
        x0 = x.copy()
        xs, _ = simulate_sv(x, v, int(horizon), float(self.result.dt), key=ss.key, stream=ss.stream,
                            counter=ss.counter, ppf=innovation_table("normal", {}).kernel_args, **self.sim_params)  # fmt: skip
        return _surface(self, x0, xs, seed, quantiles, start, step_times, n_sample_paths)


def _pick(n: int, weights: np.ndarray | None, ancestors: np.ndarray | None, seed: int) -> np.ndarray | None:
    """Particles the fan starts from: ``ancestors``, or a systematic resample of ``weights`` (``None``: all)."""
    from volresearch.simulate._pf_kernels import systematic_ancestors

    if ancestors is None and weights is not None:
        ancestors = np.empty(n, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float64)
        systematic_ancestors(w / w.sum(), float(np.random.default_rng(seed).uniform()), ancestors)
    return ancestors


def _surface(adapter: FilterAdapter, x0: np.ndarray, xs: np.ndarray, seed: int, quantiles: Sequence[float],
             start: pd.Timestamp, step_times: pd.DatetimeIndex | None, n_sample_paths: int) -> Any:  # fmt: skip
    from volresearch.simulate.kernels.heston import paths_surface

    return paths_surface(
        np.vstack([x0[None, :], xs]), mode="bands", start=start, bar_seconds=adapter.bar_seconds, calendar=None,
        meta={"model": adapter.label, "seed": int(seed)}, quantiles=quantiles, n_sample_paths=n_sample_paths,
        step_times=step_times,
    )  # fmt: skip


class MertonStateSpace(_ParticleStates):
    """Latent log price ``x`` of Merton particles (``sigma2`` kept, constant, for the shared fan interface).

    Parameters
    ----------
    params
        ``mu, sigma, lam, mu_j, sigma_j`` (annualised; jump sizes in log-return units).
    dt
        Bar length in years.
    x0, n, seed
        Initial log price, particles and the seed of their Philox streams.
    """

    def __init__(self, params: Mapping[str, float], dt: float, x0: float | np.ndarray, n: int, *, seed: int) -> None:
        from volresearch.simulate.kernels.heston import poisson_tail_table
        from volresearch.simulate.kernels.jumps import merton_drift

        self.n = int(n)
        self.kw = {k: float(params[k]) for k in ("mu", "sigma", "lam", "mu_j", "sigma_j")}
        self.dt = float(dt)
        p = self.kw
        self._drift = merton_drift(p["mu"], p["sigma"], p["lam"], p["mu_j"], p["sigma_j"]) * self.dt
        self._vol = p["sigma"] * math.sqrt(self.dt)
        self._tails = poisson_tail_table(p["lam"] * self.dt)
        self.ppf = innovation_table("normal", {}).kernel_args
        self.x = np.broadcast_to(np.asarray(x0, dtype=np.float64), (self.n,)).copy()
        self.streams = StreamState.create(seed, self.n)
        self._allocate()

    def _allocate(self) -> None:
        super()._allocate()
        self.sigma2 = np.full(self.n, self.kw["sigma"] ** 2)  # constant: the shared fan/subset interface

    def _blind(self, x: np.ndarray, counter: np.ndarray, n_steps: int) -> None:
        from volresearch.simulate.kernels.jumps import simulate_merton

        s = self.streams
        simulate_merton(x, int(n_steps), self.dt, key=s.key, stream=s.stream, counter=counter, ppf=self.ppf,
                        store=False, **self.kw)  # fmt: skip

    def predict(self, n_steps: int, rng: np.random.Generator) -> None:
        if n_steps >= 1:
            self._blind(self.x, self.streams.counter, n_steps)

    def propose(
        self, n_steps: int, obs: PriceObservation, log_w: np.ndarray, out: np.ndarray, w_out: np.ndarray
    ) -> tuple[float, float]:
        """Blind steps to the bar, then the adapted observed step, into spare arrays; returns (increment, ESS)."""
        from volresearch.simulate.kernels.sv_filter import merton_adapted_step

        x = self.x.copy()
        counter = self.streams.counter.copy()
        if n_steps > 1:
            self._blind(x, counter, n_steps - 1)
        s = self.streams
        inc, ess = merton_adapted_step(
            self._drift, self._vol, self.kw["mu_j"], self.kw["sigma_j"], self._tails, x, s.key, s.stream, counter,
            *self.ppf, math.log(obs.close), float(obs.s_obs), log_w, self._next["x"], self._cn_next, out,
        )  # fmt: skip
        np.exp(out, out=w_out)
        return float(inc), float(ess)


class MertonFilterAdapter(SVFilterAdapter):
    """A Merton result (:class:`~volresearch.models.merton.MertonFit`) in the rolling forecaster."""

    recursion = "merton"

    def __init__(self, result: Any) -> None:
        self.result = result
        p = result.params
        self.sim_params = {"mu": float(p["mu"]), "sigma": float(p["sigma"]), "lam": float(p["lambda"]),
                           "mu_j": float(p["mu_j"]), "sigma_j": float(p["sigma_j"])}  # fmt: skip
        self.bar_seconds = float(result.bar_seconds)

    @property
    def params(self) -> tuple[float, ...]:  # type: ignore[override]
        return tuple(self.sim_params.values())

    def start(self) -> tuple[float, pd.Timestamp | None, float]:
        st = self.result.filter_state()
        end = st.get("end")
        return float(st["last_price"]), (pd.Timestamp(end) if end is not None else None), float(st["next_variance"])

    def typical_vol(self) -> float:
        v = math.sqrt(max(float(self.result.filter_state()["next_variance"]), 0.0))
        return v if math.isfinite(v) and v > 0 else 1e-10

    def state_space(  # type: ignore[override]
        self, x0: float, variance: float, n: int, *, seed: int, rv_weight: float | None, weighting: str
    ) -> MertonStateSpace:
        return MertonStateSpace(self.sim_params, float(self.result.dt), x0, int(n), seed=seed)

    def fan(  # type: ignore[override]
        self,
        model: Any,
        weights: np.ndarray | None,
        *,
        ancestors: np.ndarray | None = None,
        horizon: int,
        seed: int,
        quantiles: Sequence[float],
        start: pd.Timestamp,
        step_times: pd.DatetimeIndex | None,
        multiplier: np.ndarray | None,
        n_sample_paths: int,
    ) -> Any:
        """Band-mode paths of the exact Merton kernel from the particles (weighted particles resampled first)."""
        from volresearch.simulate.kernels.jumps import simulate_merton

        pick = _pick(model.n, weights, ancestors, seed)
        x = np.array(model.x, copy=True) if pick is None else np.asarray(model.x)[pick]
        ss = StreamState.create(int(seed), x.size)
        x0 = x.copy()
        xs = simulate_merton(x, int(horizon), float(self.result.dt), key=ss.key, stream=ss.stream,
                             counter=ss.counter, ppf=innovation_table("normal", {}).kernel_args, **self.sim_params)  # fmt: skip
        return _surface(self, x0, xs, seed, quantiles, start, step_times, n_sample_paths)


register_filter_adapter("heston", SVFilterAdapter)
register_filter_adapter("svcj", SVFilterAdapter)
register_filter_adapter("merton", MertonFilterAdapter)
