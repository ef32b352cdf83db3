"""The rolling 24-hour forecast, kept current bar by bar.

:class:`RollingForecaster` holds ``n_particles`` particle states (latent log
price, next-step variance) of a fitted GARCH-family model in a
:class:`~volresearch.simulate.particle_filter.ParticleFilter`.  For each new
bar, :meth:`~RollingForecaster.process_bar`:

1. advances every particle by the bars elapsed since the previous bar: a gap
   of ``k`` session bars is ``k`` steps; the session calendar is used so a
   maintenance break, a weekend or a holiday counts only its trading bars;
2. weights the particles by the bar's close.  The close is the latent price
   plus *microstructure* noise, not a draw with the return's volatility: its
   standard deviation (log-price units) is
   ``s_obs = max(tick / (2 price), spread / (2 price), noise_sd)``, where
   ``noise_sd`` is given or estimated from the fit's returns by Roll's rule
   (:func:`estimate_noise_sd`: the noise variance is
   ``max(0, -cov(r_t, r_{t-1}))``) and floored at 1% of the fit's median
   volatility per bar so the weights never collapse onto one particle.  An
   optional realised-variance term compares the bar's Parkinson variance with
   the variance that drove the bar (with the exact mean of the log range).
   Resampling when ESS < N/2;
3. regenerates forward paths from the weighted particle states for the full
   horizon ahead (always 24 hours ahead for one-minute bars) as one band-mode
   :class:`~volresearch.simulate.paths.Fan` (one path per particle, particle
   weights, steps labelled with their session time stamps from the
   calendar's ``next_bars``), and returns, read from that Fan, the
   distribution of price at 15, 30, 60, 120, 240, 480, 720 and 1440 minutes:
   mean, std, p5, p25, p50, p75, p95, with the ESS.  The Fan is kept
   (:attr:`BarForecast.fan`, :attr:`RollingForecaster.last_fan`), so a chart
   or an engine shows the very numbers of the table without simulating
   again.

``process_bar`` is a transaction: if it raises, particles, weights, counters,
random streams, the last price and time and the bar count are as before, and
the next bar gives exactly what it would have given had the failed bar never
come.

The forward paths use a key separate from the filter's (seeded by the
forecaster's seed and the bar count), so regenerating never disturbs the
particles, and a replay with the same seed is reproduced exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import DataError, SimulationError
from volresearch.quantiles import level_name
from volresearch.simulate._pf_kernels import systematic_ancestors
from volresearch.simulate.filter_adapters import filter_adapter
from volresearch.simulate.particle_filter import ParticleFilter, PriceObservation
from volresearch.simulate.paths import DEFAULT_QUANTILES, Fan

__all__ = ["RollingForecaster", "BarForecast", "FORECAST_HORIZONS", "FORECAST_QUANTILES", "estimate_noise_sd"]

#: Minutes ahead at which every bar's forecast is summarised.
FORECAST_HORIZONS: tuple[int, ...] = (15, 30, 60, 120, 240, 480, 720, 1440)
#: Quantile levels reported (named p5 .. p95).
FORECAST_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Paths kept in full in each bar's Fan (for charts).
DEFAULT_SAMPLE_PATHS = 20
_LN4 = 4.0 * math.log(2.0)
#: Floor of the observation noise, as a fraction of the fit's median volatility per bar.
NOISE_FLOOR_FRACTION = 0.01


def estimate_noise_sd(returns: np.ndarray, *, one_bar: np.ndarray | None = None) -> float:
    """Standard deviation of microstructure noise in log prices, by Roll's rule.

    If the observed log price is ``y_t = x_t + e_t`` with ``x`` a martingale and
    ``e`` white noise of variance ``s^2``, the observed returns have
    ``cov(r_t, r_{t-1}) = -s^2``.  The estimate is ``sqrt(max(0, -acov_1))``,
    with ``acov_1`` the sample first-order autocovariance.

    Parameters
    ----------
    returns
        Log returns per bar.
    one_bar
        Optional boolean mask, ``True`` where the return spans exactly one
        session bar; pairs involving a gap return (a break, a weekend, a
        missing stretch) are left out.  Pairs with a non-finite return are
        always left out.

    Returns
    -------
    float
        Noise standard deviation in log-price units (0 when the returns show
        no negative autocorrelation or fewer than 2 pairs remain).
    """
    r = np.asarray(returns, dtype=np.float64)
    ok = np.isfinite(r)
    if one_bar is not None:
        ok &= np.asarray(one_bar, dtype=bool)
    pair = ok[1:] & ok[:-1]
    if int(pair.sum()) < 2:
        return 0.0
    d = r - r[ok].mean()
    acov = float(np.sum((d[1:] * d[:-1])[pair]) / pair.sum())
    return math.sqrt(max(0.0, -acov))


@dataclass(frozen=True)
class BarForecast:
    """The forecast made after one bar.

    Attributes
    ----------
    timestamp, price
        The bar's time and close.
    steps
        Model steps the particles were advanced to reach this bar.
    ess, loglik_increment, resampled
        Filter diagnostics of the update on this bar.
    table
        Price distribution per horizon (minutes ahead): ``target_time, mean,
        std, p5, p25, p50, p75, p95``, read from :attr:`fan`.
    fan
        The band-mode forecast the table summarises (full horizon, one path
        per particle, particle weights, session-time step labels).
    """

    timestamp: pd.Timestamp
    price: float
    steps: int
    ess: float
    loglik_increment: float
    resampled: bool
    table: pd.DataFrame = field(repr=False)
    fan: Fan | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp.isoformat(),
            "price": self.price,
            "steps": self.steps,
            "ess": self.ess,
            "loglik_increment": self.loglik_increment,
            "resampled": self.resampled,
            "horizons": {
                str(h): {k: (v.isoformat() if isinstance(v, pd.Timestamp) else float(v)) for k, v in row.items()}
                for h, row in self.table.to_dict(orient="index").items()
            },
        }


class RollingForecaster:
    """Particle-filtered model state with a full-horizon forecast after every bar.

    Parameters
    ----------
    fit
        Any registry result the filter has an adapter for
        (:data:`~volresearch.simulate.filter_adapters.FILTER_ADAPTERS`, chosen
        by ``fit.kernel``): a GARCH-family :class:`~volresearch.models.Fit`
        or a multiplicative intraday
        :class:`~volresearch.models.intraday.IntradayFit` (whose bars then
        carry the variance multiplier ``m_t`` of their calendar time: the
        observed bar's variance is ``m_t q_t`` and the fan follows the clock).
    n_particles
        Particles (and forward paths) kept.
    horizon_minutes
        Length of the forward paths, minutes (1440: the rolling 24 hours).
    horizons
        Minutes ahead at which to summarise the distribution.
    bar_seconds
        Bar length; inferred from the fit's sample when omitted.
    calendar
        Session calendar (name or object with ``expected_index`` and
        ``next_bars``) used to count elapsed bars across breaks and to label
        forecast steps; inferred from the fit's sample when omitted; ``False``
        counts wall-clock bars.
    tick_size, spread
        Instrument tick and typical bid-ask spread (price units) for ``s_obs``.
    noise_sd
        Standard deviation of the microstructure noise of the log close
        (log-price units); estimated from the fit's returns with
        :func:`estimate_noise_sd` when omitted.
    rv_weight
        Standard deviation (log units) of the realised-variance likelihood
        term (:data:`~volresearch.simulate.particle_filter.LOG_PARKINSON_SD`
        is its exact scale for a Brownian path inside the bar); ``None``
        disables it.
    resampling, ess_threshold
        Resampling scheme and ESS fraction (default systematic, 0.5).
    weighting
        ``"adapted"`` (default: each particle weighted by the predictive
        density of the close under its own variance and given the shock the
        close implies, so the effective sample size stays high with a
        tick-sized noise) or ``"bootstrap"`` (blind predict, weight by the
        close); see :func:`~volresearch.simulate._pf_kernels.garch_filter_step`.
    fan_weights
        ``"resample"`` (default): the forward paths start from the particles
        resampled systematically to equal weights (the uniform drawn from the
        fan's seed), so the per-step bands use the fast unweighted selection;
        ``"weighted"``: one path per particle carrying the particle weights.
        Both estimate the same predictive distribution.
    seed
        Seed of every stream (particles, resampling, forward paths).
    """

    def __init__(
        self,
        fit: Any,
        *,
        n_particles: int = 10_000,
        horizon_minutes: int = 1440,
        horizons: Sequence[int] = FORECAST_HORIZONS,
        bar_seconds: float | None = None,
        calendar: Any = None,
        tick_size: float | None = None,
        spread: float | None = None,
        noise_sd: float | None = None,
        rv_weight: float | None = None,
        resampling: str = "systematic",
        ess_threshold: float = 0.5,
        weighting: str = "adapted",
        fan_weights: str = "resample",
        seed: int = 0,
    ) -> None:
        if fan_weights not in ("resample", "weighted"):
            raise SimulationError(f"fan_weights must be 'resample' or 'weighted', got {fan_weights!r}")
        self.fan_weights = fan_weights
        self.fit = fit
        self.adapter = filter_adapter(fit)
        self.weighting = weighting
        self.n = int(n_particles)
        self.bar_seconds = float(bar_seconds) if bar_seconds else self.adapter.bar_seconds
        self.bars_per_minute = 60.0 / self.bar_seconds
        self.horizon_steps = max(1, int(round(horizon_minutes * self.bars_per_minute)))
        hs = sorted({int(h) for h in horizons if int(round(h * self.bars_per_minute)) <= self.horizon_steps})
        self.horizons = tuple(hs)
        self.horizon_steps_list = tuple(max(1, int(round(h * self.bars_per_minute))) for h in hs)
        self.calendar = self._resolve_calendar(calendar)
        self.tick_size = tick_size
        self.spread = spread
        self.rv_weight = rv_weight
        self.seed = int(seed)
        self.sim_params = self.adapter.sim_params
        self.code, self.params, self.table = self.adapter.code, self.adapter.params, self.adapter.table
        self._resampling = resampling
        self._ess_threshold = ess_threshold
        self.filter: ParticleFilter | None = None
        self.last_time: pd.Timestamp | None = None
        self.last_close: float | None = None
        self.n_bars = 0
        #: The band-mode forecast after the latest bar (the source of its table).
        self.last_fan: Fan | None = None
        self.noise_floor = NOISE_FLOOR_FRACTION * self.adapter.typical_vol()
        if noise_sd is None:
            returns, one_bar = self.adapter.fit_returns()
            noise_sd = estimate_noise_sd(returns, one_bar=one_bar)
        if not (math.isfinite(float(noise_sd)) and float(noise_sd) >= 0.0):
            raise SimulationError(f"noise_sd must be a finite non-negative log-price s.d., got {noise_sd!r}")
        self.noise_sd = max(float(noise_sd), self.noise_floor)
        self._label_cache: pd.DatetimeIndex | None = None
        self._mult_cache: np.ndarray | None = None
        self._label_origin: pd.Timestamp | None = None

    # ------------------------------------------------------------------ helpers
    def _resolve_calendar(self, calendar: Any) -> Any:
        if calendar is False:
            return None
        from volresearch.data.calendar import get_calendar

        if calendar is None:
            return self.adapter.calendar_hint()
        if not isinstance(calendar, str) and hasattr(calendar, "expected_index"):
            return calendar
        return get_calendar(calendar)

    def step_times(self, ts: pd.Timestamp, n: int) -> pd.DatetimeIndex:
        """Time stamps of the next ``n`` model steps after the bar at ``ts``.

        Session bars from the calendar's ``next_bars`` (breaks, weekends and
        holidays skipped); wall-clock bars when the forecaster has no calendar
        or the calendar cannot list bars.
        """
        cal = self.calendar
        if cal is None or not hasattr(cal, "next_bars"):
            return pd.DatetimeIndex([ts + pd.Timedelta(seconds=k * self.bar_seconds) for k in range(1, n + 1)])
        cache = self._label_cache
        if cache is not None and len(cache) and cache[0] <= ts < cache[-1]:
            pos = int(cache.searchsorted(ts, side="right"))
            if pos + n <= len(cache):
                return cache[pos : pos + n]
        grid = pd.DatetimeIndex(cal.next_bars(ts, 2 * n, self.bar_seconds))
        self._label_cache, self._label_origin = grid, ts
        self._mult_cache = None
        return grid[:n]

    def step_multipliers(self, ts: pd.Timestamp, n: int) -> tuple[pd.DatetimeIndex, np.ndarray | None]:
        """Time stamps and variance multipliers (``None`` for models without) of the ``n`` steps after ``ts``.

        The multipliers of the cached grid of step times are computed once
        and sliced for the bars that follow (a step's multiplier depends only
        on its time and its predecessor's).
        """
        times = self.step_times(ts, n)
        cache, origin = self._label_cache, self._label_origin
        if cache is None or origin is None or len(times) == 0:
            return times, self.adapter.multiplier(times, ts)
        pos = int(cache.searchsorted(times[0]))
        before = origin if pos == 0 else cache[pos - 1]
        if not (pos < len(cache) and cache[pos] == times[0] and before == ts):
            return times, self.adapter.multiplier(times, ts)
        if self._mult_cache is None:
            m = self.adapter.multiplier(cache, origin)
            self._mult_cache = np.empty(0) if m is None else m
        if self._mult_cache.size == 0:
            return times, None
        return times, self._mult_cache[pos : pos + len(times)].copy()

    def _new_filter(self, x0: float, sigma2: float) -> ParticleFilter:
        model = self.adapter.state_space(
            x0, sigma2, self.n, seed=self.seed, rv_weight=self.rv_weight, weighting=self.weighting
        )
        return ParticleFilter(model, resampling=self._resampling, ess_threshold=self._ess_threshold, seed=self.seed)  # type: ignore[arg-type]

    def elapsed_steps(self, start: pd.Timestamp, end: pd.Timestamp) -> int:
        """Model steps between two bar times: session bars in ``(start, end]`` (at least 1)."""
        delta = (end - start).total_seconds() / self.bar_seconds
        if delta <= 1.0 + 1e-9 or self.calendar is None:
            return max(1, int(round(delta)))
        expected = self.calendar.expected_index(start, end, self.bar_seconds)
        n = int(np.sum(expected > start))
        return max(1, n)

    def _observation(self, bar: Mapping[str, float], multiplier: np.ndarray | None = None) -> PriceObservation:
        close = float(bar["close"])
        if not (math.isfinite(close) and close > 0):
            raise DataError(f"bar close must be a positive finite price, got {close!r}", column="close")
        s = self.noise_sd
        if self.tick_size:
            s = max(s, self.tick_size / (2.0 * close))
        spread = bar.get("spread", self.spread) if hasattr(bar, "get") else self.spread
        if spread is not None and math.isfinite(float(spread)):
            s = max(s, float(spread) / (2.0 * close))
        s = max(s, 1e-12)
        rng_var = math.nan
        high, low = bar.get("high") if hasattr(bar, "get") else None, bar.get("low") if hasattr(bar, "get") else None
        if high is not None and low is not None and float(low) > 0 and float(high) > float(low):
            rng_var = math.log(float(high) / float(low)) ** 2 / _LN4
        return PriceObservation(close, s, rng_var, multiplier)

    # ------------------------------------------------------------------ the loop
    def process_bar(self, bar: Mapping[str, Any] | pd.Series, timestamp: Any = None) -> BarForecast:
        """Advance, weight, resample if needed, and forecast the full horizon ahead.

        A transaction: when it raises, the forecaster (particles, weights,
        random streams, counters, last price and time) is exactly as before.

        Parameters
        ----------
        bar
            Mapping or Series with ``close`` (and optionally ``high``, ``low``,
            ``spread``); its time is ``timestamp`` or the Series' name.

        Raises
        ------
        DataError
            A bar not later than the previous one, or a non-positive close.
        SimulationError
            Every particle gives the bar zero likelihood.
        """
        ts = pd.Timestamp(timestamp if timestamp is not None else getattr(bar, "name", None))
        if ts is pd.NaT or ts is None:
            raise DataError("process_bar needs the bar's timestamp (Series name or timestamp=)")
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        obs = self._observation(bar)
        last_price, fit_end, next_variance = self.adapter.start()
        if self.filter is None:
            if not (fit_end is not None and ts > fit_end and math.isfinite(last_price) and last_price > 0):
                filt = self._new_filter(math.log(obs.close), next_variance)
                fc = self._forecast(filt, ts, obs.close, 0, float(self.n), 0.0, False, self.n_bars + 1)
                self.filter, self.last_time, self.last_close = filt, ts, obs.close
                self.n_bars += 1
                self.last_fan = fc.fan
                return fc
            filt = self._new_filter(math.log(last_price), next_variance)
            last_time: pd.Timestamp = fit_end
        else:
            filt = self.filter
            assert self.last_time is not None
            last_time = self.last_time
            if ts <= last_time:
                raise DataError(f"bar at {ts} is not after the previous bar at {last_time}; state unchanged")
        steps = self.elapsed_steps(last_time, ts)
        mult = self._bar_multipliers(last_time, ts, steps)
        if mult is not None:
            obs = PriceObservation(obs.close, obs.s_obs, obs.range_variance, mult)
        saved = filt.checkpoint()
        try:
            res = filt.step(obs, n_steps=steps)
            fc = self._forecast(
                filt, ts, obs.close, steps, res.ess, res.loglik_increment, res.resampled, self.n_bars + 1
            )
        except BaseException:
            filt.rollback(saved)
            raise
        self.filter, self.last_time, self.last_close = filt, ts, obs.close
        self.n_bars += 1
        self.last_fan = fc.fan
        return fc

    def _bar_multipliers(self, last_time: pd.Timestamp, ts: pd.Timestamp, steps: int) -> np.ndarray | None:
        """Multipliers of the ``steps`` model steps from ``last_time`` to the bar at ``ts`` (the last one is ``ts``'s)."""
        times, mult = self.step_multipliers(last_time, steps)  # sliced from the last fan's grid when it covers them
        if mult is None:
            return None
        if len(times) == steps and times[-1] != ts:  # labels and elapsed count disagree: the bar's own time last
            before = times[-2] if steps > 1 else last_time
            mult = np.concatenate([mult[:-1], self.adapter.multiplier(pd.DatetimeIndex([ts]), before)])
        return mult

    def _forecast(
        self,
        filt: ParticleFilter,
        ts: pd.Timestamp,
        price: float,
        steps: int,
        ess: float,
        inc: float,
        resampled: bool,
        n_bars: int,
    ) -> BarForecast:
        fan = self._simulate_fan(
            filt, ts, self.horizon_steps, self._forward_seed(n_bars), DEFAULT_QUANTILES, DEFAULT_SAMPLE_PATHS
        )
        times = fan.times
        cols = [level_name(lv) for lv in FORECAST_QUANTILES]
        qs = fan.quantiles(FORECAST_QUANTILES).to_numpy()
        rows = []
        for h, hs in zip(self.horizons, self.horizon_steps_list, strict=True):
            rows.append(
                {
                    "horizon": h,
                    "target_time": times[hs],
                    "mean": float(fan.mean[hs]),
                    "std": float(fan.std[hs]),
                    **{c: float(v) for c, v in zip(cols, qs[hs], strict=True)},
                }
            )
        table = pd.DataFrame(rows).set_index("horizon")
        return BarForecast(ts, price, steps, float(ess), float(inc), bool(resampled), table, fan)

    def _forward_seed(self, n_bars: int) -> int:
        """Seed of the forward paths made after bar ``n_bars`` (1-based)."""
        return self.seed + 1 + int(n_bars)

    def _simulate_fan(
        self,
        filt: ParticleFilter,
        ts: pd.Timestamp,
        horizon: int,
        seed: int,
        quantiles: Sequence[float],
        n_sample_paths: int,
    ) -> Fan:
        """Band-mode paths from the filter's particles: one per particle with particle weights (``"weighted"``)
        or one per systematically resampled particle with equal weights (``"resample"``)."""
        times, mult = self.step_multipliers(ts, int(horizon))
        labelled = self.calendar is not None and hasattr(self.calendar, "next_bars")
        weights = filt.weights
        ancestors = None
        if self.fan_weights == "resample":
            ancestors = np.empty(self.n, dtype=np.int64)
            # the uniform comes from the fan's own seed: the filter's generator is not touched
            systematic_ancestors(weights / weights.sum(), float(np.random.default_rng(seed).uniform()), ancestors)
            weights = None
        return self.adapter.fan(
            filt.model,  # type: ignore[arg-type]
            weights,
            ancestors=ancestors,
            horizon=int(horizon),
            seed=seed,
            quantiles=quantiles,
            start=ts,
            step_times=pd.DatetimeIndex([ts]).append(times) if labelled else None,
            multiplier=mult,
            n_sample_paths=n_sample_paths,
        )

    def fan(
        self,
        horizon: int | None = None,
        *,
        seed: int | None = None,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        n_sample_paths: int = DEFAULT_SAMPLE_PATHS,
    ) -> Fan:
        """The filtered predictive fan after the latest bar: one path per particle, particle weights.

        With the default arguments this is the Fan :meth:`process_bar` made
        for the latest bar (:attr:`last_fan`, the source of its table),
        returned without simulating again; other arguments simulate from the
        same particles (the default seed gives the same paths).

        Parameters
        ----------
        horizon
            Steps ahead (default: the forecaster's full horizon).
        seed
            Seed of the forward paths (default: derived from the forecaster's
            seed and the bar count, as in :meth:`process_bar`).
        quantiles, n_sample_paths
            As in :func:`~volresearch.simulate.paths.simulate_paths` band mode;
            the forecast levels (p5 .. p95) are always included.
        """
        if self.filter is None or self.last_time is None:
            raise SimulationError("no bar processed yet: nothing to forecast from")
        horizon = int(horizon or self.horizon_steps)
        seed = self._forward_seed(self.n_bars) if seed is None else int(seed)
        levels = tuple(np.union1d(np.asarray(quantiles, dtype=np.float64), FORECAST_QUANTILES).tolist())
        fan = self.last_fan
        if (
            fan is not None
            and fan.n_steps == horizon
            and fan.meta.get("seed") == seed
            and np.all(np.isin(np.asarray(quantiles, dtype=np.float64), fan.levels))
            and (0 if fan.sample_paths is None else fan.sample_paths.shape[1]) == min(n_sample_paths, self.n)
        ):
            return fan
        return self._simulate_fan(self.filter, self.last_time, horizon, seed, levels, n_sample_paths)

    def replay(self, bars: pd.DataFrame, *, every: int = 1, progress: Any = None) -> pd.DataFrame:
        """Run :meth:`process_bar` over historical bars; return a tidy frame of forecasts.

        Every bar updates the filter; a forecast row set is kept every
        ``every`` bars.  Columns: ``timestamp, price, horizon, target_time,
        mean, std, p5, p25, p50, p75, p95, ess, steps, resampled, loglik_increment``.
        """
        out = []
        for i, (ts, row) in enumerate(bars.iterrows()):
            fc = self.process_bar(row, timestamp=ts)
            if i % every == 0:
                t = fc.table.reset_index()
                t.insert(0, "price", fc.price)
                t.insert(0, "timestamp", fc.timestamp)
                t["ess"], t["steps"], t["resampled"], t["loglik_increment"] = (
                    fc.ess,
                    fc.steps,
                    fc.resampled,
                    fc.loglik_increment,
                )
                out.append(t)
            if progress is not None:
                progress(i, fc)
        return pd.concat(out, ignore_index=True) if out else pd.DataFrame()

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-safe metadata of the full state (see :meth:`restore`)."""
        if self.filter is None:
            raise SimulationError("nothing to snapshot before the first bar")
        arrays, meta = self.filter.snapshot()
        meta = {
            **meta,
            "last_time": self.last_time.isoformat() if self.last_time is not None else None,
            "last_close": self.last_close,
            "noise_sd": self.noise_sd,
            "n_bars": self.n_bars,
            "seed": self.seed,
            "model": self.adapter.label,
            "params": self.adapter.fingerprint(),
        }
        return arrays, meta

    def restore(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Continue from a snapshot (bit for bit) with this forecaster's fit."""
        if dict(meta.get("params", {})) != self.adapter.fingerprint():
            raise SimulationError("snapshot was taken with different model parameters")
        self.filter = self._new_filter(0.0, self.adapter.start()[2])
        self.filter.restore(arrays, meta)
        self.last_time = pd.Timestamp(meta["last_time"]) if meta.get("last_time") else None
        self.last_close = float(meta["last_close"])
        if "noise_sd" in meta:
            self.noise_sd = float(meta["noise_sd"])
        self.n_bars = int(meta["n_bars"])

    def save(self, store: Any, symbol: str) -> None:
        """Write a snapshot to a :class:`~volresearch.data.store.Store`."""
        arrays, meta = self.snapshot()
        store.write_snapshot(symbol, self.last_time, self.adapter.label, arrays, meta)

    def load(self, store: Any, symbol: str, timestamp: Any = None) -> None:
        """Restore the latest (or given) snapshot of ``symbol`` from a store."""
        arrays, meta = store.read_snapshot(symbol, timestamp, self.adapter.label)
        self.restore(arrays, meta)

    def bars(self, data: pd.DataFrame | Iterable[Any]) -> Iterable[BarForecast]:
        """Generator form of :meth:`replay`: yields each bar's forecast."""
        for ts, row in data.iterrows():  # type: ignore[union-attr]
            yield self.process_bar(row, timestamp=ts)
