"""What the particle filter and the rolling forecaster need from each kind of fitted model.

A :class:`FilterAdapter` turns a registry result (a GARCH-family
:class:`~volresearch.models.Fit`, a multiplicative intraday
:class:`~volresearch.models.intraday.IntradayFit`, ...) into the plain pieces
the filter works with: the path-kernel recursion and its parameters, the
innovation law (tabulated inverse cdf and log-density), the starting state,
the per-step variance multipliers of any future bars, and the data used to
size the observation noise.  :data:`FILTER_ADAPTERS` maps ``result.kernel``
to an adapter factory; :func:`filter_adapter` looks one up, so the forecaster
never branches on model names.  A model whose state is not a GARCH-family
``(log price, variance)`` pair (Heston, SVCJ) plugs in with an adapter of its
own that also supplies its state space and fan (:meth:`FilterAdapter.state_space`,
:meth:`FilterAdapter.fan`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError
from volresearch.simulate.engine import fit_bar_seconds, innovation_logpdf, innovation_table, simulation_params
from volresearch.simulate.particle_filter import GarchStateSpace
from volresearch.simulate.paths import MODELS, Fan, simulate_paths

__all__ = [
    "FILTER_ADAPTERS",
    "FilterAdapter",
    "GarchFilterAdapter",
    "IntradayFilterAdapter",
    "filter_adapter",
    "filter_support",
    "register_filter_adapter",
]


class FilterAdapter:
    """Base of the adapters: a GARCH-family ``(log price, variance)`` state with an optional multiplier.

    Attributes set by subclasses: ``result``, ``recursion`` (``"garch"``,
    ``"gjr"`` or ``"egarch"``), ``sim_params`` (``mu, omega, alpha, gamma,
    beta`` and the law's shape), ``dist``, ``bar_seconds``.
    """

    result: Any
    recursion: str
    sim_params: dict[str, float]
    dist: str
    bar_seconds: float

    # ------------------------------------------------------------------ model pieces
    @property
    def code(self) -> int:
        """Kernel code of the variance recursion."""
        return MODELS[self.recursion]

    @property
    def params(self) -> tuple[float, float, float, float, float]:
        """``(mu, omega, alpha, gamma, beta)`` as the kernels take them."""
        p = self.sim_params
        return p["mu"], p["omega"], p["alpha"], p.get("gamma", 0.0), p["beta"]

    @property
    def table(self) -> Any:
        """Tabulated inverse cdf of the innovations."""
        return innovation_table(self.dist, self.sim_params)

    @property
    def logpdf(self) -> tuple[float, float, np.ndarray]:
        """Tabulated log-density of the innovations (adapted weighting)."""
        return innovation_logpdf(self.dist, self.sim_params)

    @property
    def label(self) -> str:
        """Registry name of the model (snapshots are keyed by it)."""
        return str(self.result.model)

    def fingerprint(self) -> dict[str, float]:
        """Parameters a snapshot must match to be restored with this model."""
        return {k: float(v) for k, v in self.sim_params.items()}

    # ------------------------------------------------------------------ state
    def start(self) -> tuple[float, pd.Timestamp | None, float]:
        """``(last price, time of the last fitted bar or None, variance of the next step)``."""
        raise NotImplementedError

    def calendar_hint(self) -> Any:
        """The session calendar of the fitted sample (``None`` when unknown)."""
        return None

    def multiplier(self, times: pd.DatetimeIndex, previous: pd.Timestamp) -> np.ndarray | None:
        """Per-step variance multipliers of the bars at ``times`` (``None``: the model has none)."""
        return None

    # ------------------------------------------------------------------ observation noise
    def fit_returns(self) -> tuple[np.ndarray, np.ndarray | None]:
        """In-sample log returns per bar (log-price units) and their one-bar mask (``None`` without times)."""
        return np.empty(0), None

    def typical_vol(self) -> float:
        """A typical one-bar volatility (log-price units) of the model."""
        return 1e-10

    # ------------------------------------------------------------------ filter and fan
    def state_space(
        self, x0: float, variance: float, n: int, *, seed: int, rv_weight: float | None, weighting: str
    ) -> GarchStateSpace:
        """The particle states (one per particle) of this model."""
        return GarchStateSpace(
            self.code, *self.params, self.table, x0, variance, n, seed=seed, rv_weight=rv_weight,
            weighting=weighting, logpdf=self.logpdf,  # type: ignore[arg-type]
        )  # fmt: skip

    def fan(
        self,
        model: GarchStateSpace,
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
    ) -> Fan:
        """Band-mode paths from the particles, through the path kernel.

        One path per particle with ``weights`` (``None``: equal weights), or
        one per entry of ``ancestors`` (indices of resampled particles).
        """
        x0 = np.array(model.x, copy=True) if ancestors is None else model.x[ancestors]
        v0 = np.array(model.sigma2, copy=True) if ancestors is None else model.sigma2[ancestors]
        return simulate_paths(  # type: ignore[return-value]
            self.recursion,
            self.sim_params,
            ppf_table=self.table,
            n_paths=x0.size,
            horizon=int(horizon),
            x0=x0,
            sigma2_1=v0,
            seed=seed,
            mode="bands",
            quantiles=quantiles,
            start=start,
            bar_seconds=self.bar_seconds,
            n_sample_paths=n_sample_paths,
            weights=weights,
            variance_multiplier=multiplier,
            step_times=step_times,
            meta={"model": self.label},
        )


class GarchFilterAdapter(FilterAdapter):
    """A GARCH-family :class:`~volresearch.models.Fit`: state ``(log price, sigma2)``, no multiplier."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.recursion = result.spec.model
        self.sim_params = simulation_params(result)
        self.dist = result.spec.dist
        self.bar_seconds = fit_bar_seconds(result)

    @property
    def label(self) -> str:
        return str(self.result.spec.label)

    def fingerprint(self) -> dict[str, float]:
        return dict(self.result.params)

    def start(self) -> tuple[float, pd.Timestamp | None, float]:
        fit = self.result
        end = fit.end if isinstance(fit.index, pd.DatetimeIndex) else None
        return float(fit.last_price), end, float(fit.next_variance)

    def calendar_hint(self) -> Any:
        idx = self.result.index
        if isinstance(idx, pd.DatetimeIndex) and len(idx) > 2:
            from volresearch.data.calendar import infer_calendar

            return infer_calendar(idx)[0]
        return None

    def fit_returns(self) -> tuple[np.ndarray, np.ndarray | None]:
        vol = np.asarray(getattr(self.result, "conditional_volatility", ()), dtype=np.float64)
        z = np.asarray(getattr(self.result, "std_resid", ()), dtype=np.float64)
        r = vol * z if vol.shape == z.shape else np.empty(0)
        return r, _one_bar_mask(self.result.index, self.bar_seconds)

    def typical_vol(self) -> float:
        vol = np.asarray(getattr(self.result, "conditional_volatility", ()), dtype=np.float64)
        vol = vol[np.isfinite(vol) & (vol > 0)]
        v = float(np.median(vol)) if vol.size else math.sqrt(max(float(self.result.next_variance), 0.0))
        return v if math.isfinite(v) and v > 0 else 1e-10


class IntradayFilterAdapter(FilterAdapter):
    """A multiplicative intraday :class:`~volresearch.models.intraday.IntradayFit`.

    State ``(log price, q)``; bar ``t`` has variance ``m_t q_t`` with ``m_t``
    from :meth:`~volresearch.models.intraday.IntradayFit.variance_multiplier`
    (daily variance x diurnal factor, plus the gap variance after a break).
    """

    def __init__(self, result: Any) -> None:
        self.result = result
        self.recursion = result.kernel.removeprefix("intraday-")
        self.sim_params = dict(result.simulation_params())
        self.dist = result.dist
        self.bar_seconds = float(result.bar_seconds)
        self._typical_m: float | None = None

    def fingerprint(self) -> dict[str, float]:
        return {**dict(self.result.q_fit.params), "gap_ratio": float(self.result.gap_ratio)}

    def start(self) -> tuple[float, pd.Timestamp | None, float]:
        st = self.result.filter_state()
        return float(st["last_price"]), pd.Timestamp(st["end"]), float(st["q_next"])

    def calendar_hint(self) -> Any:
        from volresearch.data.calendar import get_calendar

        return get_calendar(self.result.calendar)

    def multiplier(self, times: pd.DatetimeIndex, previous: pd.Timestamp) -> np.ndarray | None:
        return np.asarray(self.result.variance_multiplier(times, previous=previous), dtype=np.float64)

    def _median_multiplier(self) -> float:
        """Median multiplier over the session after the fit (scale of a deseasonalised unit)."""
        if self._typical_m is None:
            cal = self.calendar_hint()
            end = pd.Timestamp(self.result.end)
            n = max(1, int(round(86_400 / self.bar_seconds)))
            times = pd.DatetimeIndex(cal.next_bars(end, n, self.bar_seconds))
            self._typical_m = float(np.median(self.multiplier(times, end)))
        return self._typical_m

    def fit_returns(self) -> tuple[np.ndarray, np.ndarray | None]:
        # deseasonalised residuals of q scaled to log-price units by the typical multiplier
        q = self.result.q_fit
        vol = np.asarray(q.conditional_volatility, dtype=np.float64)
        z = np.asarray(q.std_resid, dtype=np.float64)
        if vol.shape != z.shape:
            return np.empty(0), None
        return vol * z * math.sqrt(self._median_multiplier()), _one_bar_mask(q.index, self.bar_seconds)

    def typical_vol(self) -> float:
        vol = np.asarray(self.result.q_fit.conditional_volatility, dtype=np.float64)
        vol = vol[np.isfinite(vol) & (vol > 0)]
        v = float(np.median(vol)) if vol.size else 1.0
        v *= math.sqrt(self._median_multiplier())
        return v if math.isfinite(v) and v > 0 else 1e-10


def _one_bar_mask(index: Any, bar_seconds: float) -> np.ndarray | None:
    """``True`` for returns whose time stamps are one bar apart (``None`` without times)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    gaps = np.diff(index.as_unit("ns").asi8) / 1e9
    return np.concatenate([[False], np.abs(gaps - bar_seconds) < 1e-6 * bar_seconds])


#: ``result.kernel`` -> adapter factory.
FILTER_ADAPTERS: dict[str, Callable[[Any], FilterAdapter]] = {}


def register_filter_adapter(kernel_id: str, factory: Callable[[Any], FilterAdapter], *, replace: bool = False) -> None:
    """Add the adapter of the results simulated by ``kernel_id``."""
    if kernel_id in FILTER_ADAPTERS and not replace:
        raise ConfigError(f"a filter adapter for kernel {kernel_id!r} is already registered")
    FILTER_ADAPTERS[kernel_id] = factory


def filter_adapter(result: Any) -> FilterAdapter:
    """The adapter of ``result`` (chosen by ``result.kernel``).

    Raises
    ------
    ConfigError
        No adapter for the result's kernel; the message lists those known.
    """
    kernel = getattr(result, "kernel", None)
    if kernel is None and hasattr(result, "spec"):  # a Fit made before results named their kernel
        kernel = result.spec.model
    if kernel not in FILTER_ADAPTERS:
        raise ConfigError(
            f"the rolling forecaster cannot carry kernel {kernel!r}; known: {', '.join(sorted(FILTER_ADAPTERS))}"
        )
    return FILTER_ADAPTERS[kernel](result)


def filter_support(result: Any) -> str:
    """Why the rolling forecaster cannot carry ``result`` (an empty string when it can)."""
    kernel = getattr(result, "kernel", None)
    if kernel is None and hasattr(result, "spec"):
        kernel = result.spec.model
    if kernel in FILTER_ADAPTERS:
        return ""
    return (
        f"the rolling forecaster has no filter adapter for {getattr(result, 'model', type(result).__name__)} "
        f"(kernel {kernel!r}); it carries kernels {', '.join(sorted(FILTER_ADAPTERS))}"
    )


for _name in MODELS:
    register_filter_adapter(_name, GarchFilterAdapter)
    register_filter_adapter(f"intraday-{_name}", IntradayFilterAdapter)
