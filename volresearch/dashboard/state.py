"""The dashboard's state: every control and every result, without widgets or plots.

:class:`DashboardState` is a :class:`param.Parameterized` object.  Its
control parameters (source, model, innovation law, paths, horizon, seed,
windows, replay speed) are typed, bounded and documented, so views build
widgets from them and tests set them directly.  Its methods do the work:

* :meth:`~DashboardState.load` reads the selected source (embedded dataset or
  data file) and :meth:`~DashboardState.load_upload` an uploaded file; both
  validate the bars and, on failure, set :attr:`error` and keep whatever was
  loaded and computed before;
* :meth:`~DashboardState.fit_and_simulate` fits the selected registry model
  on the fit window (:func:`volresearch.registry.fit_model`), simulates the
  fan ``horizon`` bars ahead (:func:`volresearch.registry.simulate_model`,
  steps on the session clock), finds the price zones, bias and confidence at
  the horizon, and checks the stylized facts of the fitted returns;
* :meth:`~DashboardState.replay_step` streams the next held-out bar through a
  :class:`~volresearch.simulate.rolling.RollingForecaster` and rebuilds the
  fan, zones and horizon table from its particle states: one simulation per
  bar, so the table, the chart and the signals describe the same paths.
  Models the forecaster does not carry leave replay disabled, with the reason
  in :attr:`~DashboardState.replay_unavailable`.

The models offered are the registry's names for the loaded bars
(:func:`volresearch.registry.available_models`), the default is
:func:`volresearch.registry.default_model` (the multiplicative intraday GARCH
for intraday bars) until the user picks one.  A model rejected by its checks
is reported with its reasons (:attr:`~DashboardState.rejections`); with
:attr:`~DashboardState.fallback` on, the models of :data:`FALLBACK_CASCADE`
are tried in order and the one that answered is shown next to the requested
one (:attr:`~DashboardState.requested_model`,
:attr:`~DashboardState.answered_model`), with the confidence capped.

The fit's mean follows :func:`volresearch.models.returns.default_mean` (zero
for intraday bars) unless the ``mean`` control names one; with an estimated
mean of a GARCH-family fit, the bias is shown with the standard error that
mean's estimation noise gives it.

Results are parameters too (:attr:`fit`, :attr:`forecast`, :attr:`stylized`,
:attr:`replay_position`...), so views redraw by watching them.

The long computations are split in three so that a server can run the middle
part off its event loop: ``begin_*`` (reads the controls, marks the state
busy, returns an immutable job), ``compute_*`` (pure work on the job, safe in
a worker thread; simulations are serialised by :data:`COMPUTE_LOCK`) and
``finish_*`` (applies the outcome; stale outcomes from a superseded fit are
dropped).  The one-call methods chain the three.

The data are split as ``[... | fit window | replay bars]``: the model is fitted
on the ``fit_window`` bars that end where the last ``replay_bars`` bars begin;
those held-out bars are drawn as the realised path and streamed in replay.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import param

from volresearch.config import Instrument, load_instruments
from volresearch.data import QualityReport, datasets
from volresearch.data.calendar import infer_bar_seconds, infer_calendar
from volresearch.errors import ConfigError, FitError, VolresearchError
from volresearch.formatting import PriceFormat
from volresearch.models import MIN_OBSERVATIONS, Fit
from volresearch.overview import diurnal_frame, garch_component, parameter_table
from volresearch.registry import (
    DEFAULT_DAILY_MODEL,
    available_models,
    default_model,
    fit_model,
    get_model,
    simulate_model,
)
from volresearch.signals import (
    ConfidenceAssessment,
    ConfidenceCalculator,
    DistributionAnalysis,
    analyze_distribution,
    drift_standard_error,
    model_flags,
)
from volresearch.simulate import Fan
from volresearch.simulate.filter_adapters import filter_adapter
from volresearch.simulate.rolling import BarForecast, RollingForecaster
from volresearch.validate import stylized_facts

from .sources import LoadedBars, SourceInfo, discover_sources, read_source, read_upload

__all__ = [
    "COMPUTE_LOCK",
    "FAN_LEVELS",
    "MIN_FIT_BARS",
    "TABLE_STEPS",
    "FALLBACK_CASCADE",
    "FIT_OPTIONS",
    "Forecast",
    "FitJob",
    "FitOutcome",
    "ReplayJob",
    "ReplayOutcome",
    "DashboardState",
    "compute_fit",
    "compute_replay_step",
    "split_bars",
    "instrument_for",
    "HORIZON_PRESETS",
    "MAX_HORIZON",
    "replay_fan",
    "replay_support",
    "fallback_flags",
]

#: Serialises the numba simulations of every session in the process.
COMPUTE_LOCK = threading.Lock()
#: Quantile levels of the simulated fan (central 50/80/90/95 % bands and the median).
FAN_LEVELS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
#: Fewest bars a fit window may hold (one more than the fewest returns a fit accepts).
MIN_FIT_BARS = MIN_OBSERVATIONS + 1
#: Bars ahead reported in the horizon table (those within the horizon, plus the horizon).
TABLE_STEPS: tuple[int, ...] = (1, 5, 10, 15, 20, 30, 60, 120, 240, 480, 720, 1440)
#: Longest horizon offered (bars): five days of one-minute bars.
MAX_HORIZON = 5 * 1_440
#: Horizon presets by name: wall-clock span in seconds, or ``None`` for "to the end of the next session".
HORIZON_PRESETS: dict[str, float | None] = {"1 h": 3_600.0, "4 h": 14_400.0, "24 h": 86_400.0, "next session": None}
#: Most held-out bars one replay step streams before drawing (a fan is drawn once per step).
MAX_BARS_PER_STEP = 50
#: Seconds of recent replay over which the achieved rate is measured.
RATE_WINDOW_S = 3.0
#: Registry models tried in order, after the requested one, when :attr:`DashboardState.fallback` is on:
#: Student-t then normal innovations, the multiplicative intraday model first (intraday bars only, see
#: :func:`volresearch.registry.available_models`), then the GARCH family.
FALLBACK_CASCADE: tuple[str, ...] = ("intraday-gjr-t", "intraday-garch-normal", "gjr-t", "garch-normal")
#: Fit options by model family (the registry entry's ``family``), filled from the job.
FIT_OPTIONS: dict[str, tuple[str, ...]] = {"intraday": ("n_boot", "seed")}
#: Most bars a fit window of intraday bars takes by default (the whole data up to this).
DEFAULT_INTRADAY_FIT_BARS = 100_000
#: Columns of the horizon table, after ``bars ahead`` (index) and ``target_time``.
TABLE_COLUMNS: tuple[str, ...] = ("mean", "std", "p5", "p25", "p50", "p75", "p95")

_ASSET_CLASSES: dict[str, str] = {
    "equity_index_future": "equity_index",
    "equity_etf": "equity_index",
    "metal_future": "metal",
}


# =============================================================================
# Plain results
# =============================================================================
@dataclass(frozen=True)
class Forecast:
    """The forecast on screen: straight from a fit, or after a replayed bar.

    Attributes
    ----------
    origin, price
        Time and close of the bar the forecast starts from (price units).
    horizon, horizon_minutes
        Horizon in bars and in minutes (``bars x bar length``).
    fan
        Per-step price quantiles (:data:`FAN_LEVELS`), mean, std and sample paths.
    analysis
        Zones, bias and targets of the price distribution at the horizon.
    confidence
        Confidence level of the same distribution.
    history
        Closes up to and including the origin (the last ``history_bars``).
    realised
        Held-out closes after the origin over the horizon (may be empty).
    table
        Price distribution per horizon: index ``bars ahead``, columns
        ``target_time`` and :data:`TABLE_COLUMNS` (price units).
    ess
        Effective sample size of the particle filter (replay only).
    replay_step
        Replayed bars behind this forecast (0: straight from the fit).
    n_paths
        Paths behind the fan (particles during replay).
    """

    origin: pd.Timestamp
    price: float
    horizon: int
    horizon_minutes: float
    fan: Fan
    analysis: DistributionAnalysis
    confidence: ConfidenceAssessment
    history: pd.Series
    realised: pd.Series
    table: pd.DataFrame
    ess: float | None = None
    replay_step: int = 0
    n_paths: int = 0
    full_resolution: bool = True
    bars_in_step: int = 1
    compute_seconds: float = 0.0

    def bands_by_time(self) -> pd.DataFrame:
        """Fan quantiles indexed by the steps' time stamps (session bars when a calendar is known)."""
        return self.fan.quantiles()

    def realised_by_time(self) -> pd.Series | None:
        """The origin's close, then the realised closes after it, indexed by time (``None`` when none)."""
        if self.realised.empty:
            return None
        head = pd.Series([self.price], index=pd.DatetimeIndex([self.origin]))
        tail = pd.Series(self.realised.to_numpy(dtype=float), index=pd.DatetimeIndex(self.realised.index))
        return pd.concat([head, tail]).rename("close")

    def bands_by_step(self) -> pd.DataFrame:
        """Fan quantiles indexed by bars ahead (0 = origin); columns are levels."""
        frame = self.fan.quantiles()
        frame.index = pd.RangeIndex(len(frame), name="bars ahead")
        return frame

    def paths_by_step(self) -> pd.DataFrame | None:
        """Sample paths indexed by bars ahead, one column per path (``None`` if none kept)."""
        if self.fan.sample_paths is None:
            return None
        paths = np.asarray(self.fan.sample_paths)
        return pd.DataFrame(paths, index=pd.RangeIndex(paths.shape[0], name="bars ahead"))

    def history_by_step(self) -> pd.Series:
        """History closes at bars ``-(n - 1) .. 0`` (0 = origin)."""
        n = len(self.history)
        return pd.Series(self.history.to_numpy(), index=pd.RangeIndex(-(n - 1), 1, name="bars ahead"), name="close")

    def realised_by_step(self) -> pd.Series | None:
        """The origin's close at bar 0, then the realised closes at bars ``1 .. k`` (``None`` when none are held out)."""
        if self.realised.empty:
            return None
        values = np.concatenate([[self.price], self.realised.to_numpy(dtype=float)])
        return pd.Series(values, index=pd.RangeIndex(values.size, name="bars ahead"), name="close")


@dataclass(frozen=True)
class FitJob:
    """Everything :func:`compute_fit` needs, read from the controls at one moment."""

    generation: int
    label: str
    fit_bars: pd.DataFrame
    replay_bars: pd.DataFrame
    model: str
    mean: str
    n_paths: int
    horizon: int
    seed: int
    n_sample_paths: int
    history_bars: int
    n_particles: int
    instrument: str
    tick_size: float | None
    asset_class: str
    fallback: tuple[str, ...] = ()
    n_boot: int = 0
    calendar: Any = None

    def options(self, name: str) -> dict[str, Any]:
        """Fit options of the registry model ``name``: the mean, and those of :data:`FIT_OPTIONS` for its family."""
        extra = FIT_OPTIONS.get(get_model(name).family, ())
        return {"mean": self.mean, **{key: getattr(self, key) for key in extra}}


@dataclass(frozen=True)
class FitOutcome:
    """What :func:`compute_fit` produced (``error`` set and the rest ``None`` on failure).

    ``rejections`` lists ``(model, reason)`` of every model that was tried and
    rejected by its checks, in order; ``answered`` names the model whose fit is
    shown (empty when none answered).  ``replay_unavailable`` says why the
    result cannot be replayed (empty when it can).
    """

    job: FitJob
    fit: Any = None
    forecast: Forecast | None = None
    stylized: pd.DataFrame | None = None
    forecaster: RollingForecaster | None = None
    error: str | None = None
    seconds: float = 0.0
    answered: str = ""
    rejections: tuple[tuple[str, str], ...] = ()
    replay_unavailable: str = ""


@dataclass(frozen=True)
class ReplayJob:
    """One bar to stream through the forecaster (see :func:`compute_replay_step`)."""

    generation: int
    position: int
    fit: Any
    forecaster: RollingForecaster
    closes: pd.Series
    replay_bars: pd.DataFrame
    horizon: int
    seed: int
    n_sample_paths: int
    history_bars: int
    instrument: str
    n_bars: int = 1
    n_paths: int | None = None
    flags: tuple[str, ...] = ()
    prev_ess: float | None = None


@dataclass(frozen=True)
class ReplayOutcome:
    """The forecast after one replayed bar, or the error that stopped the replay."""

    job: ReplayJob
    bar: BarForecast | None = None
    forecast: Forecast | None = None
    error: str | None = None
    seconds: float = 0.0


# =============================================================================
# Helpers
# =============================================================================
@lru_cache(maxsize=1)
def _instruments() -> dict[str, Instrument]:
    return load_instruments()


@lru_cache(maxsize=1)
def _calculator() -> ConfidenceCalculator:
    # The packaged thresholds refer to 24 hours and scale by sqrt(h / 24 h) by default.
    return ConfidenceCalculator.from_yaml()


def instrument_for(symbol: str | None) -> tuple[str, Instrument | None]:
    """Thresholds key and configured instrument of a data symbol.

    ``"ES-SYN"`` maps to ``"ES"``; a symbol not in the instrument file keeps
    its name (the confidence calculator then uses its ``default`` thresholds).
    """
    if symbol:
        base = symbol.split("-")[0].lstrip("^").upper()
        known = _instruments()
        if base in known:
            return base, known[base]
        return symbol, None
    return "default", None


def _asset_class(symbol: str | None, instrument: Instrument | None) -> str:
    if instrument is not None:
        return _ASSET_CLASSES.get(instrument.asset_class, "other")
    return "equity_index" if symbol and symbol.startswith("^") else "other"


def split_bars(bars: pd.DataFrame, fit_window: int, replay_bars: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split bars into ``(fit window, held-out replay bars)``.

    The replay part is the last ``replay_bars`` bars, shortened so that at
    least :data:`MIN_FIT_BARS` bars remain before it; the fit window is the
    ``fit_window`` bars (or as many as exist) ending where it begins.
    """
    n = len(bars)
    n_replay = min(int(replay_bars), max(n - MIN_FIT_BARS, 0))
    end = n - n_replay
    start = max(0, end - int(fit_window))
    return bars.iloc[start:end], bars.iloc[end:]


def _table_steps(horizon: int, bar_seconds: float) -> list[int]:
    """Bars ahead reported in the horizon table: whole minutes, within the horizon."""
    steps = sorted({s for s in TABLE_STEPS if s < horizon} | {horizon})
    return [s for s in steps if abs(s * bar_seconds / 60.0 - round(s * bar_seconds / 60.0)) < 1e-9] or [horizon]


def _fan_table(fan: Fan, steps: list[int]) -> pd.DataFrame:
    summary = fan.summary(horizons=steps)
    table = summary.rename(columns={"timestamp": "target_time"})
    table.index = pd.Index(summary.index, name="bars ahead")
    return table[["target_time", *TABLE_COLUMNS]]


def _calendar_of(bars: pd.DataFrame) -> Any:
    """The session calendar of ``bars`` (labels the fan's steps), ``None`` when none can be inferred."""
    try:
        return infer_calendar(pd.DatetimeIndex(bars.index))[0]
    except Exception:  # no calendar: the registry spaces the steps by the bar length
        return None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, VolresearchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def mean_standard_error(fit: Any, horizon: int, price: float) -> float | None:
    """Standard error (price units) the fit's estimated mean gives the forecast centre ``horizon`` bars ahead.

    ``None`` for a zero-mean fit (nothing estimated), for a result that is not
    a GARCH-family :class:`~volresearch.models.Fit` (its mean is not a drift
    per bar), or when the fit reports no standard error for ``mu``; see
    :func:`volresearch.signals.zones.drift_standard_error`.
    """
    if not isinstance(fit, Fit) or fit.spec.mean == "zero":
        return None
    se = float(fit.std_errors.get("mu", math.nan))
    if not (math.isfinite(se) and se >= 0):
        return None
    return drift_standard_error(se, horizon, price)


def _analyse(
    fan: Fan,
    price: float,
    horizon_minutes: float,
    instrument: str,
    mean_se: float | None = None,
    flags: tuple[str, ...] = (),
) -> tuple[DistributionAnalysis, ConfidenceAssessment]:
    """Zones, bias and confidence at the fan's horizon; warnings on the model cap the confidence."""
    prices = fan.terminal()
    weights = None if fan.weights is None else np.asarray(fan.weights)
    analysis = analyze_distribution(prices, price, weights=weights, horizon=horizon_minutes, mean_se=mean_se)
    confidence = _calculator().assess(
        prices,
        price,
        instrument=instrument,
        horizon=horizon_minutes,
        weights=weights,
        mean_se=mean_se,
        model_flags=flags,
    )
    return analysis, confidence


def replay_support(result: Any) -> str:
    """Why ``result`` cannot be replayed bar by bar (empty when it can).

    The :class:`~volresearch.simulate.rolling.RollingForecaster` carries every
    result its particle filter has an adapter for
    (:func:`volresearch.simulate.filter_adapters.filter_adapter`, chosen by
    the result's kernel): the GARCH-family fits, the multiplicative
    intraday GARCH, Heston, SVCJ and Merton.
    """
    try:
        filter_adapter(result)
    except ConfigError as exc:
        return f"Replay is not available for {getattr(result, 'model', type(result).__name__)}: {exc}."
    return ""


def _make_forecaster(result: Any, job: FitJob) -> tuple[RollingForecaster | None, str]:
    """The replay forecaster of ``result`` and an empty reason, or ``None`` and why replay is unavailable."""
    reason = replay_support(result)
    if reason:
        return None, reason
    bar_seconds = float(result.bar_seconds)
    steps = _table_steps(job.horizon, bar_seconds)
    try:
        forecaster = RollingForecaster(
            result,
            n_particles=job.n_particles,
            horizon_minutes=int(round(job.horizon * bar_seconds / 60.0)) or 1,
            horizons=[int(round(s * bar_seconds / 60.0)) for s in steps],
            bar_seconds=bar_seconds,
            tick_size=job.tick_size,
            seed=job.seed,
        )
    except Exception as exc:  # the forecaster refused this result: replay is off, the fit stays
        return None, f"Replay is not available for {result.model}: {_error_text(exc)}"
    return forecaster, ""


def _particle_subset(weights: np.ndarray, m: int, seed: int) -> np.ndarray:
    """``m`` particle indices drawn by systematic resampling on ``weights`` (equal weights afterwards)."""
    w = np.asarray(weights, dtype=float)
    cdf = np.cumsum(w / w.sum())
    u = (np.random.default_rng(seed).random() + np.arange(m)) / m
    return np.minimum(np.searchsorted(cdf, u, side="right"), w.size - 1)


def replay_fan(
    forecaster: RollingForecaster, horizon: int, *, seed: int, n_sample_paths: int, n_paths: int | None = None
) -> Fan:
    """The filtered predictive fan after the forecaster's latest bar (one path per particle, particle weights).

    The paths run through the forecaster's filter adapter (the result's own
    path kernel, with the per-step variance multipliers of models that have
    them, e.g. the diurnal clock of the multiplicative intraday GARCH).  With
    ``n_paths`` below the particle count (a lower-resolution fan while replay
    plays) the paths start from ``n_paths`` particles drawn by systematic
    resampling on the weights, with equal weights.

    Steps are labelled with the forecaster's session calendar when it has one
    (breaks, weekends and holidays skipped), wall-clock bars otherwise.

    Raises
    ------
    SimulationError
        No bar processed yet.
    """
    filt = forecaster.filter
    if filt is None or forecaster.last_time is None:
        from volresearch.errors import SimulationError

        raise SimulationError("no bar processed yet: nothing to forecast from")
    model: Any = filt.model
    weights: np.ndarray | None = np.asarray(filt.weights)
    if n_paths is not None and int(n_paths) < forecaster.n:
        pick = _particle_subset(np.asarray(filt.weights), int(n_paths), seed)
        model = SimpleNamespace(n=int(pick.size), x=np.asarray(model.x)[pick], sigma2=np.asarray(model.sigma2)[pick])
        weights = None
    ts = pd.Timestamp(forecaster.last_time)
    times, multiplier = forecaster.step_multipliers(ts, int(horizon))
    calendar = getattr(forecaster, "calendar", None)
    labelled = calendar is not None and callable(getattr(calendar, "next_bars", None))
    return _adapter_fan(
        forecaster,
        model,
        weights,
        horizon=int(horizon),
        seed=seed,
        quantiles=FAN_LEVELS,
        start=ts,
        step_times=pd.DatetimeIndex([ts]).append(times) if labelled else None,
        multiplier=multiplier,
        n_sample_paths=n_sample_paths,
    )


def _adapter_fan(forecaster: RollingForecaster, model: Any, weights: np.ndarray | None, **options: Any) -> Fan:
    """One band-mode simulation of the replay's fan through the forecaster's filter adapter."""
    return forecaster.adapter.fan(model, weights, **options)


# =============================================================================
# The work (safe in a worker thread)
# =============================================================================
def compute_fit(job: FitJob) -> FitOutcome:
    """Fit, simulate, analyse and check the stylized facts of one :class:`FitJob`.

    The requested model (``job.model``) is fitted through the registry; when
    its checks reject it and ``job.fallback`` names models, those are tried in
    order and the first that fits answers.  Every rejection is kept with its
    reason.  Never raises for bad data or a failed fit: the message is in
    :attr:`FitOutcome.error`.
    """
    t0 = time.perf_counter()
    rejections: list[tuple[str, str]] = []
    try:
        with COMPUTE_LOCK:
            result, answered = None, ""
            for name in dict.fromkeys((job.model, *job.fallback)):
                try:
                    result, answered = fit_model(name, job.fit_bars, **job.options(name)), name
                    break
                except FitError as exc:
                    rejections.append((name, str(exc)))
            if result is None:
                tried = "; ".join(f"{name}: {reason}" for name, reason in rejections)
                return FitOutcome(
                    job, error=f"rejected by its checks: {tried}", rejections=tuple(rejections),
                    seconds=time.perf_counter() - t0,
                )  # fmt: skip
            fan = simulate_model(
                result,
                job.n_paths,
                job.horizon,
                job.seed,
                calendar=job.calendar,
                mode="bands",
                quantiles=FAN_LEVELS,
                n_sample_paths=job.n_sample_paths,
            )
            bar_seconds = float(result.bar_seconds)
            horizon_minutes = job.horizon * bar_seconds / 60.0
            steps = _table_steps(job.horizon, bar_seconds)
            forecaster, replay_reason = _make_forecaster(result, job)
        price = float(job.fit_bars["close"].iloc[-1])
        mean_se = mean_standard_error(result, job.horizon, price)
        flags = model_flags(result) + fallback_flags(job.model, answered, rejections)
        analysis, confidence = _analyse(fan, price, horizon_minutes, job.instrument, mean_se, flags)
        closes = job.fit_bars["close"]
        returns = np.diff(np.log(closes.to_numpy(dtype=float)))
        stylized = stylized_facts(returns, prices=closes.to_numpy(dtype=float), asset_class=job.asset_class)  # type: ignore[arg-type]
        forecast = Forecast(
            origin=pd.Timestamp(job.fit_bars.index[-1]),
            price=price,
            horizon=job.horizon,
            horizon_minutes=horizon_minutes,
            fan=fan,
            analysis=analysis,
            confidence=confidence,
            history=closes.iloc[-job.history_bars :],
            realised=job.replay_bars["close"].iloc[: job.horizon],
            table=_fan_table(fan, steps),
            n_paths=job.n_paths,
            compute_seconds=time.perf_counter() - t0,
        )
    except Exception as exc:  # every failure becomes a message on the page
        return FitOutcome(job, error=_error_text(exc), rejections=tuple(rejections), seconds=time.perf_counter() - t0)
    return FitOutcome(
        job, result, forecast, stylized, forecaster, seconds=time.perf_counter() - t0, answered=answered,
        rejections=tuple(rejections), replay_unavailable=replay_reason,
    )  # fmt: skip


def fallback_flags(requested: str, answered: str, rejections: Any = ()) -> tuple[str, ...]:
    """The warning a fallback answer carries (empty when the requested model answered)."""
    if answered == requested:
        return ()
    reason = next((r for name, r in rejections if name == requested), "rejected by its checks")
    if len(reason) > 160:
        reason = reason[:157] + "..."
    return (f"fallback: {answered} answered because {requested} was rejected ({reason})",)


def _play_fan(job: ReplayJob) -> Fan | None:
    """The fan the forecaster simulated for its latest bar, when it covers the horizon (reused while playing).

    Every particle with its weight, the forecaster's levels (5 % .. 95 %):
    reusing it costs no simulation.  ``None`` when it does not fit.
    """
    fan = getattr(job.forecaster, "last_fan", None)
    if fan is None or fan.n_steps != job.horizon or fan.start != job.forecaster.last_time:
        return None
    return fan


def compute_replay_step(job: ReplayJob) -> ReplayOutcome:
    """Stream held-out bars through the forecaster and rebuild the forecast once.

    ``job.n_bars`` bars (from ``job.position``) update the particle filter,
    then one fan is simulated from the filter's particle states (log price and
    next-step variance): the filtered predictive distribution after the last
    of them, and the horizon table, zones and confidence all come from that
    same fan.  Streaming several bars per step is how a fast replay keeps its
    bar rate: the filter sees every bar, the fan is redrawn once per step.
    ``job.n_bars == 0`` redraws the fan after the latest bar (e.g. at full
    resolution when replay pauses).  While playing (``job.n_paths`` set) the
    fan the forecaster itself simulated for the last bar is reused (no second
    simulation; its bands run from 5 % to 95 %); when it does not cover the
    horizon, a lower-resolution fan of ``job.n_paths`` paths is simulated
    (see :func:`replay_fan`).  Mutates
    ``job.forecaster``.  Never raises: failures are in :attr:`ReplayOutcome.error`.
    """
    t0 = time.perf_counter()
    try:
        bar: BarForecast | None = None
        n_done = max(int(job.n_bars), 0)
        with COMPUTE_LOCK:
            for k in range(n_done):
                pos = job.position + k
                bar = job.forecaster.process_bar(job.replay_bars.iloc[pos], timestamp=job.replay_bars.index[pos])
            last = job.position + n_done - 1
            fan = _play_fan(job) if job.n_paths is not None and n_done else None
            if fan is None:
                fan = replay_fan(
                    job.forecaster,
                    job.horizon,
                    seed=job.seed + 1 + last,
                    n_sample_paths=job.n_sample_paths,
                    n_paths=job.n_paths,
                )
                reused = False
            else:
                reused = True
        ts = pd.Timestamp(job.forecaster.last_time)
        price = float(bar.price) if bar is not None else float(job.forecaster.last_close)
        bar_seconds = job.forecaster.bar_seconds
        horizon_minutes = job.horizon * bar_seconds / 60.0
        mean_se = mean_standard_error(job.fit, job.horizon, price)
        analysis, confidence = _analyse(fan, price, horizon_minutes, job.instrument, mean_se, job.flags)
        upto = job.closes.loc[:ts]
        full = not reused and (job.n_paths is None or int(job.n_paths) >= job.forecaster.n)
        forecast = Forecast(
            origin=ts,
            price=price,
            horizon=job.horizon,
            horizon_minutes=horizon_minutes,
            fan=fan,
            analysis=analysis,
            confidence=confidence,
            history=upto.iloc[-job.history_bars :],
            realised=job.replay_bars["close"].iloc[last + 1 : last + 1 + job.horizon],
            table=_fan_table(fan, _table_steps(job.horizon, bar_seconds)),
            ess=float(bar.ess) if bar is not None else job.prev_ess,
            replay_step=last + 1,
            n_paths=fan.n_paths,
            full_resolution=full,
            bars_in_step=n_done,
            compute_seconds=time.perf_counter() - t0,
        )
    except Exception as exc:  # every failure becomes a message on the page
        return ReplayOutcome(job, error=_error_text(exc), seconds=time.perf_counter() - t0)
    return ReplayOutcome(job, bar, forecast, seconds=time.perf_counter() - t0)


# =============================================================================
# The state
# =============================================================================
class DashboardState(param.Parameterized):
    """Controls and results of one dashboard session (no widgets, no plots).

    Parameters
    ----------
    data_dir
        Folder whose CSV/Parquet files are offered as sources besides the
        embedded datasets (``None``: datasets only).
    load_initial
        Load the initial :attr:`source` on construction (default True).
    **params
        Initial values of any parameter.
    """

    # ------------------------------------------------------------------ controls
    source = param.Selector(
        default="dataset:sp500",
        objects=[f"dataset:{name}" for name in datasets.DATASETS],
        doc="Source of the bars: an embedded dataset, a data file or an upload (key, see sources.py).",
    )
    model = param.Selector(
        default=DEFAULT_DAILY_MODEL,
        objects=available_models(),
        doc="Registry model to fit; the names offered follow the loaded bars (available_models) and the default "
        "is default_model(bars) until one is picked.",
    )
    fallback = param.Boolean(
        default=False,
        doc="Use the fallback cascade: when the requested model is rejected by its checks, the models of "
        "FALLBACK_CASCADE are tried in order and the one that answers is shown next to the requested one.",
    )
    n_boot = param.Integer(
        default=200,
        bounds=(0, 2_000),
        step=50,
        doc="Bootstrap resamples of the diurnal factor's confidence band (intraday models; count, 0: no band).",
    )
    mean = param.Selector(
        default="auto",
        objects=["auto", "zero", "constant"],
        doc="Mean of the fit: 'auto' is zero for intraday bars and constant for daily bars (see default_mean).",
    )
    n_paths = param.Integer(default=2_000, bounds=(100, 20_000), step=100, doc="Monte Carlo paths of the fan (count).")
    horizon = param.Integer(
        default=60,
        bounds=(1, MAX_HORIZON),
        step=1,
        doc="Forecast horizon (bars ahead), up to several sessions; presets in horizon_presets().",
    )
    seed = param.Integer(default=42, bounds=(0, 2**31 - 1), doc="Seed of the simulation and the particle filter.")
    fit_window = param.Integer(
        default=1_500,
        bounds=(MIN_FIT_BARS, 10_000_000),
        step=50,
        doc="Bars the model is fitted on (count); up to every bar before the held-out ones.",
    )
    replay_bars = param.Integer(
        default=250,
        bounds=(10, 10_000_000),
        step=10,
        doc="Bars held out after the fit window: drawn as the realised path and streamed in replay (count).",
    )
    history_bars = param.Integer(
        default=120, bounds=(10, 2_000), step=10, doc="Closes drawn before the forecast origin (count)."
    )
    n_sample_paths = param.Integer(default=8, bounds=(0, 50), doc="Simulated paths drawn in the fan (count).")
    n_particles = param.Integer(
        default=1_000, bounds=(100, 10_000), step=100, doc="Particles of the replay filter (count)."
    )
    replay_speed = param.Number(
        default=2.0, bounds=(0.25, 50.0), step=0.25, doc="Requested replay speed (bars per second)."
    )
    play_paths = param.Integer(
        default=250,
        bounds=(50, 10_000),
        step=50,
        doc="Paths of the fan while replay plays (fewer than the particles: a lower-resolution fan that keeps up); "
        "pausing or stepping redraws it from every particle.",
    )
    data_dir = param.String(default=None, allow_None=True, doc="Folder scanned for CSV/Parquet bar files.")

    # ------------------------------------------------------------------ results
    bars = param.DataFrame(default=None, allow_None=True, doc="Validated bars of the loaded source.")
    quality = param.ClassSelector(
        class_=QualityReport, default=None, allow_None=True, doc="Quality report of the bars."
    )
    loaded_key = param.String(default=None, allow_None=True, doc="Key of the source the bars came from.")
    loaded_label = param.String(default="", doc="Name of the loaded source.")
    symbol = param.String(default=None, allow_None=True, doc="Instrument symbol of the loaded bars.")
    synthetic = param.Boolean(default=False, doc="Whether the loaded bars are synthetic.")
    description = param.String(default="", doc="One line describing the loaded source.")
    fit = param.Parameter(
        default=None, doc="The last successful fit: a registry result (ModelResult: model, kernel, flags, summary)."
    )
    requested_model = param.String(default="", doc="Model the last fit asked for.")
    answered_model = param.String(default="", doc="Model whose fit is shown (empty when none answered).")
    rejections = param.List(
        default=[], item_type=tuple, doc="(model, reason) of every model the last fit rejected, in order."
    )
    replay_unavailable = param.String(
        default="", doc="Why the fitted model cannot be replayed bar by bar (empty when it can)."
    )
    stylized = param.DataFrame(default=None, allow_None=True, doc="Stylized facts of the fitted returns.")
    forecast = param.ClassSelector(class_=Forecast, default=None, allow_None=True, doc="The forecast on screen.")
    replay_position = param.Integer(default=0, bounds=(0, None), doc="Held-out bars replayed so far.")
    replay_total = param.Integer(default=0, bounds=(0, None), doc="Held-out bars available to replay.")
    replay_running = param.Boolean(default=False, doc="Whether replay is playing (views drive the clock).")
    replay_rate = param.Number(
        default=None, allow_None=True, doc="Achieved replay rate over the last few seconds (bars per second)."
    )
    replay_note = param.String(default="", doc="Requested versus achieved replay rate, and whether it keeps up.")
    price_format = param.ClassSelector(
        class_=PriceFormat,
        default=PriceFormat(),
        doc="How prices of the loaded instrument are written (tick from the instrument table or the price grid).",
    )
    busy = param.Boolean(default=False, doc="A fit is running.")
    status = param.String(default="", doc="One line saying what happened last.")
    error = param.String(default="", doc="Message of the last failure (empty when none).")

    def __init__(self, *, load_initial: bool = True, **params: Any) -> None:
        data_dir = params.get("data_dir")
        if data_dir is not None:
            params["data_dir"] = str(data_dir)
        source = params.pop("source", None)
        super().__init__(**params)
        #: The user picked the model / the fit window (loads then keep them when they suit the bars).
        self._model_explicit = "model" in params
        self._window_explicit = "fit_window" in params
        #: Values last set by the data's defaults (a watcher seeing another value knows the user picked it).
        self._auto: dict[str, Any] = {}
        self._sources: dict[str, SourceInfo] = {}
        self._uploads: dict[str, LoadedBars] = {}
        self._generation = 0
        self._job_fit: FitJob | None = None
        self._forecaster: RollingForecaster | None = None
        self._replay: pd.DataFrame | None = None
        self._closes: pd.Series | None = None
        self._applying_source = False
        #: Clock of the replay (seconds); replaceable, e.g. by a test.
        self.clock: Any = time.monotonic
        self._rate_marks: list[tuple[float, int]] = []
        self._play_anchor: tuple[float, int] | None = None
        self._step_seconds: list[float] = []
        self.refresh_sources()
        if source is not None:
            if source not in self._sources:
                raise ValueError(f"unknown source {source!r}; known: {', '.join(self._sources)}")
            with self._quietly():
                self.source = source
        if load_initial:
            self.load()

    # ------------------------------------------------------------------ sources
    @property
    def sources(self) -> dict[str, SourceInfo]:
        """Selectable sources by key (datasets, data files, uploads)."""
        return dict(self._sources)

    def source_labels(self) -> dict[str, str]:
        """``{label: key}`` of the selectable sources, in picker order."""
        return {info.label: key for key, info in self._sources.items()}

    def refresh_sources(self) -> None:
        """Rescan the datasets and the data folder (uploads are kept)."""
        found = {s.key: s for s in discover_sources(Path(self.data_dir) if self.data_dir else None)}
        uploads = {k: v for k, v in self._sources.items() if k.startswith("upload:")}
        self._sources = {**found, **uploads}
        self._set_source_objects()

    def _set_source_objects(self) -> None:
        objects = self.source_labels()
        current = self.source
        self.param.source.objects = objects
        if current not in objects.values():
            with self._quietly():
                self.source = next(iter(objects.values()))

    def _quietly(self) -> _Quiet:
        return _Quiet(self)

    @param.depends("source", watch=True)
    def _source_changed(self) -> None:
        if not self._applying_source:
            self.load()

    @param.depends("model", watch=True)
    def _model_picked(self) -> None:
        if self.model != self._auto.get("model", self.model):
            self._model_explicit = True

    @param.depends("fit_window", watch=True)
    def _window_picked(self) -> None:
        if self.fit_window != self._auto.get("fit_window", self.fit_window):
            self._window_explicit = True

    # ------------------------------------------------------------------ models
    def intraday(self) -> bool:
        """Whether the loaded bars are shorter than a day (``False`` before a load)."""
        bar = self.bar_seconds()
        return bar is not None and bar < 86_400

    def model_choices(self) -> list[str]:
        """Registry names offered for the loaded bars (:func:`~volresearch.registry.available_models`)."""
        return available_models(intraday=self.intraday() if self.bars is not None else None)

    def default_model(self) -> str:
        """The registry's default model for the loaded bars (:func:`~volresearch.registry.default_model`)."""
        return default_model(self.bars) if self.bars is not None else DEFAULT_DAILY_MODEL

    def fallback_models(self, requested: str | None = None) -> tuple[str, ...]:
        """Models :data:`FALLBACK_CASCADE` tries after ``requested`` on the loaded bars (those offered for them)."""
        offered = set(self.model_choices())
        requested = self.model if requested is None else requested
        return tuple(m for m in FALLBACK_CASCADE if m in offered and m != requested)

    def _apply_model_defaults(self) -> None:
        """Models offered for the loaded bars; the default model and fit window unless the user picked them."""
        choices = self.model_choices()
        self.param.model.objects = choices
        if not self._model_explicit or self.model not in choices:
            self._auto["model"] = self.default_model()
            self.model = self._auto["model"]
            self._model_explicit = False
        if not self._window_explicit and self.bars is not None:
            window = self.param.fit_window.default
            if self.intraday():
                window = min(self.fit_window_limit(), DEFAULT_INTRADAY_FIT_BARS)
            self._auto["fit_window"] = max(int(window), MIN_FIT_BARS)
            self.fit_window = self._auto["fit_window"]

    def rejection_text(self) -> str:
        """The rejections of the last fit, one ``model: reason`` line each (empty when none)."""
        return "\n".join(f"{name}: {reason}" for name, reason in self.rejections)

    # ------------------------------------------------------------------ loading
    def load(self) -> bool:
        """Load and validate the selected :attr:`source`.

        On success the bars, quality report and source details are replaced
        and previous fit results are cleared (they belong to other data).  On
        failure :attr:`error` says what and where, the previous bars and
        results stay, and :attr:`source` returns to the loaded source.

        Returns
        -------
        bool
            True when the bars were loaded.
        """
        key = self.source
        try:
            loaded = self._uploads[key] if key in self._uploads else read_source(key)
        except Exception as exc:  # every failure becomes a message on the page
            label = self._sources[key].label if key in self._sources else key
            self.error = f"Could not load {label}: {_error_text(exc)}"
            self.status = "Load failed; " + (
                f"still showing {self.loaded_label}." if self.loaded_key else "nothing loaded."
            )
            if self.loaded_key is not None and self.loaded_key in self._sources and self.loaded_key != key:
                with self._quietly():
                    self.source = self.loaded_key
            return False
        self._apply_loaded(key, loaded)
        return True

    def load_upload(self, filename: str, data: bytes) -> bool:
        """Load an uploaded file, add it to the sources and select it.

        On failure (malformed CSV, missing columns, negative prices...)
        :attr:`error` names the file, row and column, and the previous bars
        and results stay untouched.

        Returns
        -------
        bool
            True when the upload was loaded.
        """
        try:
            loaded = read_upload(filename, data)
        except Exception as exc:  # every failure becomes a message on the page
            self.error = f"Upload rejected: {_error_text(exc)}"
            self.status = "Upload rejected; " + (
                f"still showing {self.loaded_label}." if self.loaded_key else "nothing loaded."
            )
            return False
        key = f"upload:{len(self._uploads) + 1}:{loaded.label}"
        self._uploads[key] = loaded
        self._sources[key] = SourceInfo(key, f"upload: {loaded.label}", False, f"uploaded file {loaded.label}")
        self._set_source_objects()
        with self._quietly():
            self.source = key
        self._apply_loaded(key, loaded)
        return True

    def _apply_loaded(self, key: str, loaded: LoadedBars) -> None:
        self._generation += 1
        self._stop_replay_state()
        info = self._sources.get(key)
        with param.parameterized.batch_call_watchers(self):
            self.bars = loaded.bars
            self.quality = loaded.quality
            self.loaded_key = key
            self.loaded_label = loaded.label
            self.symbol = loaded.symbol
            self.synthetic = loaded.synthetic
            self.price_format = PriceFormat.for_instrument(loaded.symbol, loaded.bars)
            self.description = info.description if info is not None else loaded.label
            self._apply_model_defaults()
            self.fit = None
            self.requested_model = ""
            self.answered_model = ""
            self.rejections = []
            self.replay_unavailable = ""
            self.stylized = None
            self.forecast = None
            self.busy = False  # a fit still running belongs to the old data: its outcome is dropped
            self.error = ""
            first, last = loaded.bars.index[0], loaded.bars.index[-1]
            kind = "SYNTHETIC data" if loaded.synthetic else "data"
            self.status = (
                f"Loaded {loaded.label} ({kind}): {len(loaded.bars):,} bars, {first:%Y-%m-%d %H:%M} .. "
                f"{last:%Y-%m-%d %H:%M} UTC; prices: {self.price_format.describe()}; default model "
                f"{self.default_model()}. Press 'Fit and simulate'."
            )

    # ------------------------------------------------------------------ fitting
    def begin_fit(self) -> FitJob | None:
        """Read the controls into a :class:`FitJob` and mark the state busy.

        Returns ``None`` (with :attr:`error` set) when no bars are loaded or
        the window holds too few bars.
        """
        if self.bars is None or self.busy:
            if self.bars is None:
                self.error = "No data loaded: pick an instrument or upload a file first."
            return None
        fit_part, replay_part = split_bars(self.bars, self.fit_window, self.replay_bars)
        if len(fit_part) < MIN_FIT_BARS:
            self.error = (
                f"{self.loaded_label} has {len(self.bars)} bars; a fit needs at least {MIN_FIT_BARS} "
                f"bars (fit window {self.fit_window})."
            )
            return None
        instrument, info = instrument_for(self.symbol)
        self._generation += 1
        job = FitJob(
            generation=self._generation,
            label=self.loaded_label,
            fit_bars=fit_part,
            replay_bars=replay_part,
            model=self.model,
            mean=self.mean,
            n_paths=self.n_paths,
            horizon=self.horizon,
            seed=self.seed,
            n_sample_paths=self.n_sample_paths,
            history_bars=self.history_bars,
            n_particles=self.n_particles,
            instrument=instrument,
            tick_size=self.price_format.tick if info is None else info.tick_size,
            asset_class=_asset_class(self.symbol, info),
            fallback=self.fallback_models() if self.fallback else (),
            n_boot=self.n_boot,
            calendar=_calendar_of(fit_part),
        )
        self._stop_replay_state()
        with param.parameterized.batch_call_watchers(self):
            self.busy = True
            self.error = ""
            self.status = (
                f"Fitting {job.model} on {len(fit_part):,} bars of {job.label} and simulating "
                f"{job.n_paths:,} paths x {job.horizon} bars ..."
            )
        return job

    def finish_fit(self, outcome: FitOutcome) -> bool:
        """Apply a :class:`FitOutcome`; outcomes of a superseded job are ignored.

        Returns
        -------
        bool
            True when a new fit and forecast were applied.
        """
        if outcome.job.generation != self._generation:
            return False
        job = outcome.job
        if outcome.error is not None or outcome.fit is None or outcome.forecast is None:
            with param.parameterized.batch_call_watchers(self):
                self.busy = False
                self.requested_model = job.model
                self.answered_model = ""
                self.rejections = list(outcome.rejections)
                kept = "the previous results are still shown." if self.forecast is not None else "nothing to show."
                if outcome.rejections and not job.fallback and self.fallback_models(job.model):
                    self.error = (
                        f"{job.model} was rejected on {job.label}: {outcome.rejections[0][1]}. "
                        f"Use the fallback cascade ({', '.join(self.fallback_models(job.model))}) or pick "
                        "another model."
                    )
                    self.status = f"{job.model} rejected; {kept}"
                elif outcome.rejections:
                    self.error = f"No model answered on {job.label}: {outcome.error}"
                    self.status = f"Every model tried was rejected; {kept}"
                else:
                    self.error = f"Fit failed for {job.model} on {job.label}: {outcome.error}"
                    self.status = "Fit failed; " + kept
            return False
        self._forecaster = outcome.forecaster
        self._job_fit = job
        self._replay = job.replay_bars
        self._closes = pd.concat([job.fit_bars["close"], job.replay_bars["close"]])
        fc = outcome.forecast
        answered = outcome.answered
        fell_back = answered != job.model
        with param.parameterized.batch_call_watchers(self):
            self.fit = outcome.fit
            self.requested_model = job.model
            self.answered_model = answered
            self.rejections = list(outcome.rejections)
            self.replay_unavailable = outcome.replay_unavailable
            self.stylized = outcome.stylized
            self.forecast = fc
            self.replay_total = len(job.replay_bars)
            self.replay_position = 0
            self.busy = False
            self.error = ""
            what = f"{answered} (requested {job.model}, rejected; fallback cascade)" if fell_back else answered
            self.status = (
                f"Fitted {what} on {job.label}: {len(job.fit_bars):,} bars to "
                f"{fc.origin:%Y-%m-%d %H:%M} UTC; {job.n_paths:,} paths x {job.horizon} bars in "
                f"{outcome.seconds:.1f} s. Bias {fc.analysis.bias}, confidence {fc.confidence.level.value}"
                + (
                    f" (downgraded from {fc.confidence.raw_level.value}: the model carries a warning)."
                    if fc.confidence.downgraded and fc.confidence.raw_level is not None
                    else "."
                )
            )
        return True

    def fit_and_simulate(self) -> bool:
        """Fit the model on the fit window, simulate the fan and analyse it (one call).

        Returns
        -------
        bool
            True on success; on failure :attr:`error` says why and previous
            results stay.
        """
        job = self.begin_fit()
        if job is None:
            return False
        return self.finish_fit(compute_fit(job))

    # ------------------------------------------------------------------ replay
    @property
    def replay_available(self) -> bool:
        """True when a fit exists and held-out bars remain to replay."""
        return self._forecaster is not None and self._replay is not None and self.replay_position < len(self._replay)

    def begin_replay_step(self, n_bars: int = 1, *, n_paths: int | None = None) -> ReplayJob | None:
        """The next held-out bars to stream as a :class:`ReplayJob`, or ``None`` when there are none.

        Parameters
        ----------
        n_bars
            Bars to stream before the fan is redrawn (at most those left;
            ``0`` redraws the fan after the latest bar without streaming one).
        n_paths
            Paths of the fan (``None``: one per particle, full resolution).
        """
        if n_bars == 0 and self._forecaster is not None and self.replay_position > 0 and not self.busy:
            return self._replay_job(0, n_paths)
        if not self.replay_available or self.busy:
            if self.fit is None:
                self.status = "Fit a model first: replay streams the bars held out after the fit window."
            elif self.replay_unavailable:
                self.status = self.replay_unavailable
            elif not self.replay_available and self.replay_total:
                self.status = f"Replay finished: all {self.replay_total} held-out bars streamed."
            elif not self.replay_total:
                self.status = "No bars are held out after the fit window: raise 'replay bars' and fit again."
            return None
        left = self.replay_total - self.replay_position
        return self._replay_job(max(1, min(int(n_bars), left)), n_paths)

    def _replay_job(self, n_bars: int, n_paths: int | None) -> ReplayJob:
        assert self._forecaster is not None and self._job_fit is not None and self._replay is not None
        assert self.fit is not None and self._closes is not None
        job = self._job_fit
        return ReplayJob(
            generation=self._generation,
            position=self.replay_position,
            fit=self.fit,
            forecaster=self._forecaster,
            closes=self._closes,
            replay_bars=self._replay,
            horizon=job.horizon,
            seed=job.seed,
            n_sample_paths=job.n_sample_paths,
            history_bars=job.history_bars,
            instrument=job.instrument,
            n_bars=n_bars,
            n_paths=n_paths,
            flags=model_flags(self.fit) + fallback_flags(self.requested_model, self.answered_model, self.rejections),
            prev_ess=None if self.forecast is None else self.forecast.ess,
        )

    def finish_replay_step(self, outcome: ReplayOutcome) -> bool:
        """Apply a :class:`ReplayOutcome` (stale ones are ignored); stops the replay at the end or on error."""
        job = outcome.job
        if job.generation != self._generation or job.forecaster is not self._forecaster:
            return False
        if outcome.error is not None or outcome.forecast is None:
            with param.parameterized.batch_call_watchers(self):
                self.replay_running = False
                self.error = f"Replay stopped at held-out bar {job.position + 1}: {outcome.error}"
            self._forecaster = None
            return False
        fc = outcome.forecast
        with param.parameterized.batch_call_watchers(self):
            self.forecast = fc
            self.replay_position = job.position + job.n_bars
            done = self.replay_position >= self.replay_total
            if self.replay_running and job.n_bars:
                self._measure_rate(job.n_bars, outcome.seconds)
            if done:
                self.replay_running = False
            resampled = " (resampled)" if outcome.bar is not None and outcome.bar.resampled else ""
            ess = "n/a" if fc.ess is None else f"{fc.ess:,.0f}"
            self.status = (
                f"{self.loaded_label} replay bar {self.replay_position}/{self.replay_total}: "
                f"{fc.origin:%Y-%m-%d %H:%M} UTC, "
                f"close {self.price_format.price(fc.price)}, ESS {ess}{resampled}"
                + (". Replay finished." if done else ".")
            )
        return True

    # ------------------------------------------------------------------ replay clock and rate
    def bars_due(self) -> int:
        """Bars to stream now to keep the requested speed since play started (0: ahead of schedule).

        At most :data:`MAX_BARS_PER_STEP` and the bars left; a backlog larger
        than that is dropped from the schedule (the replay falls behind, and
        :attr:`replay_note` says so).
        """
        if not self.replay_running or self._play_anchor is None:
            return 0
        t0, pos0 = self._play_anchor
        now = float(self.clock())
        due = int(math.floor((now - t0) * self.replay_speed + 1e-9)) - (self.replay_position - pos0)
        if due > MAX_BARS_PER_STEP:
            # Too far behind to catch up: restart the schedule from here.
            self._play_anchor = (now - MAX_BARS_PER_STEP / self.replay_speed, self.replay_position)
            due = MAX_BARS_PER_STEP
        return max(0, min(due, self.replay_total - self.replay_position))

    def _measure_rate(self, n_bars: int, seconds: float) -> None:
        now = float(self.clock())
        self._rate_marks.append((now, self.replay_position))
        self._step_seconds.append(seconds / max(n_bars, 1))
        # The marks of the last RATE_WINDOW_S seconds, and the one before them (the rate needs two).
        inside = [i for i, m in enumerate(self._rate_marks) if now - m[0] <= RATE_WINDOW_S]
        first = max(min(inside, default=len(self._rate_marks) - 1) - 1, 0)
        self._rate_marks = self._rate_marks[first:]
        self._step_seconds = self._step_seconds[-20:]
        self._update_rate_note()

    def _update_rate_note(self) -> None:
        requested = float(self.replay_speed)
        marks = self._rate_marks
        rate = None
        if len(marks) >= 2 and marks[-1][0] > marks[0][0]:
            rate = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
        self.replay_rate = rate
        if rate is None:
            self.replay_note = f"requested {requested:g} bars/s; achieved: measuring ..."
            return
        per_bar = float(np.median(self._step_seconds)) if self._step_seconds else math.nan
        capacity = 1.0 / per_bar if per_bar > 0 else math.inf
        fc = self.forecast
        res = ""
        if fc is not None and not fc.full_resolution:
            res = "; lower-resolution fan while playing (the full fan when paused)"
        if fc is not None and fc.bars_in_step > 1:
            res += f"; fan redrawn every {fc.bars_in_step} bars"
        text = f"requested {requested:g} bars/s, achieved {rate:.1f} bars/s{res}"
        if rate < 0.9 * requested:
            text += (
                f". This machine cannot keep up: about {capacity:.1f} bars/s of computation at this horizon "
                f"and resolution; lower the speed, the horizon or the play paths."
            )
        self.replay_note = text

    def replay_step(self) -> bool:
        """Stream the next held-out bar and update the forecast (one call).

        Returns
        -------
        bool
            True when a bar was processed; False at the end of the held-out
            bars, before any fit, or on an error (see :attr:`error`).
        """
        job = self.begin_replay_step()
        if job is None:
            if self.replay_running and not self.replay_available:
                self.replay_running = False
            return False
        return self.finish_replay_step(compute_replay_step(job))

    def replay_tick(self) -> bool:
        """One tick of a playing replay (one call): stream the bars due at a lower fan resolution.

        Returns
        -------
        bool
            True when bars were streamed.
        """
        n = self.bars_due()
        if n <= 0:
            return False
        job = self.begin_replay_step(n, n_paths=self.play_paths)
        return job is not None and self.finish_replay_step(compute_replay_step(job))

    def refresh_full_resolution(self) -> bool:
        """Redraw the replay's fan from every particle after the latest bar (one call).

        Returns
        -------
        bool
            True when a lower-resolution fan was replaced.
        """
        fc = self.forecast
        if fc is None or fc.full_resolution or self.replay_running:
            return False
        job = self.begin_replay_step(0)
        return job is not None and self.finish_replay_step(compute_replay_step(job))

    def play(self) -> None:
        """Start the replay (a view's clock calls :meth:`bars_due` and streams them)."""
        if self.replay_available:
            self._play_anchor = (float(self.clock()), self.replay_position)
            self._rate_marks = [(float(self.clock()), self.replay_position)]
            self._step_seconds = []
            self.replay_rate = None
            self.replay_note = f"requested {self.replay_speed:g} bars/s; achieved: measuring ..."
            self.replay_running = True
        else:
            self.begin_replay_step()

    def pause(self) -> None:
        """Pause the replay (the achieved rate stays shown)."""
        self.replay_running = False
        self._play_anchor = None

    @param.depends("replay_speed", watch=True)
    def _speed_changed(self) -> None:
        if self.replay_running:
            now = float(self.clock())
            self._play_anchor = (now, self.replay_position)
            self._rate_marks = [(now, self.replay_position)]
            self._step_seconds = []

    # ------------------------------------------------------------------ horizon presets
    def bar_seconds(self) -> float | None:
        """Bar length of the loaded bars (seconds), ``None`` when unknown."""
        if self.bars is None or len(self.bars) < 2:
            return None
        return infer_bar_seconds(pd.DatetimeIndex(self.bars.index))

    def horizon_presets(self) -> dict[str, int]:
        """Horizons (bars) of the presets "1 h", "4 h", "24 h" and "next session" for the loaded bars.

        Spans are converted to bars with the bar length; a preset shorter
        than two bars or longer than :data:`MAX_HORIZON` is left out.  "next
        session" counts the session bars from the last bar of the fit window
        to the close of the next session that opens after it, from the
        calendar of the data (left out when no calendar or bar length is known).
        """
        bar = self.bar_seconds()
        if bar is None or bar <= 0:
            return {}
        out: dict[str, int] = {}
        for name, span in HORIZON_PRESETS.items():
            n = self._next_session_bars(bar) if span is None else int(round(span / bar))
            if n is not None and 2 <= n <= MAX_HORIZON:
                out[name] = n
        return out

    def _next_session_bars(self, bar: float) -> int | None:
        assert self.bars is not None
        try:
            calendar, _ = infer_calendar(pd.DatetimeIndex(self.bars.index))
            fit_part, _ = split_bars(self.bars, self.fit_window, self.replay_bars)
            origin = pd.Timestamp(fit_part.index[-1]) if len(fit_part) else pd.Timestamp(self.bars.index[-1])
            sessions = calendar.sessions(origin, origin + pd.Timedelta(days=10))
            later = sessions[pd.to_datetime(sessions["open"], utc=True) > origin]
            if later.empty:
                return None
            close = pd.Timestamp(later["close"].iloc[0])
            close = close.tz_localize("UTC") if close.tz is None else close
            upcoming = calendar.next_bars(origin, MAX_HORIZON, bar)
            return int(np.count_nonzero(upcoming < close))
        except Exception:  # no calendar answer: the preset is not offered
            return None

    def apply_horizon_preset(self, name: str) -> int:
        """Set :attr:`horizon` to a preset of :meth:`horizon_presets`; returns the horizon in bars.

        Raises
        ------
        ValueError
            Unknown preset, or one not available for the loaded bars.
        """
        presets = self.horizon_presets()
        if name not in presets:
            raise ValueError(f"horizon preset {name!r} is not available; available: {', '.join(presets) or 'none'}")
        self.horizon = presets[name]
        return presets[name]

    def fit_window_limit(self) -> int:
        """Most bars a fit window can hold with the loaded data (every bar before the held-out ones)."""
        if self.bars is None:
            return MIN_FIT_BARS
        n = len(self.bars)
        held = min(int(self.replay_bars), max(n - MIN_FIT_BARS, 0))
        return max(n - held, MIN_FIT_BARS)

    def reset_replay(self) -> bool:
        """Restart the replay from the end of the fit window (refits nothing).

        Returns
        -------
        bool
            True when a fit that can be replayed was available to restart from.
        """
        if self.fit is None or self._job_fit is None:
            return False
        job = self._job_fit
        forecaster, reason = _make_forecaster(self.fit, job)
        if forecaster is None:
            self.replay_unavailable = reason
            self.status = reason
            return False
        self._generation += 1
        self._job_fit = replace(job, generation=self._generation)
        self._forecaster = forecaster
        with param.parameterized.batch_call_watchers(self):
            self.replay_running = False
            self.replay_position = 0
            self.status = "Replay reset to the end of the fit window."
        return True

    def _stop_replay_state(self) -> None:
        self._forecaster = None
        self._job_fit = None
        self._replay = None
        self._closes = None
        with param.parameterized.batch_call_watchers(self):
            self.replay_running = False
            self.replay_position = 0
            self.replay_total = 0

    def dismiss_error(self) -> None:
        """Clear :attr:`error` (errors otherwise stay until the next successful load or fit)."""
        self.error = ""

    # ------------------------------------------------------------------ display helpers
    def diurnal_frame(self) -> pd.DataFrame | None:
        """The fitted diurnal factor over the session holding the forecast origin
        (:func:`volresearch.overview.diurnal_frame`); ``None`` when the model has none."""
        return diurnal_frame(self.fit) if self.fit is not None else None

    def ensemble_weights(self) -> pd.DataFrame | None:
        """An ensemble's pool weights of each forecast over the fit window and the bars replayed so far (columns:
        members; :func:`volresearch.ensembles.model.weight_path`); ``None`` for other models."""
        from volresearch.ensembles.model import weight_path

        if self.fit is None or getattr(self.fit, "kernel", None) != "ensemble" or self._job_fit is None:
            return None
        bars = self._job_fit.fit_bars
        if self.replay_position and self._replay is not None:
            bars = pd.concat([bars, self._replay.iloc[: int(self.replay_position)]])
        return weight_path(self.fit, bars)

    def step_volatility(self) -> pd.Series | None:
        """Per-bar volatility the model's clock gives each step of the fan on screen (basis points).

        ``sqrt(m_t)`` of the result's ``variance_multiplier`` at the fan's
        step times (daily variance x diurnal factor, plus the gap variance
        after a break; the intraday GARCH term at its unit mean), in basis
        points of log return per bar, indexed by the steps' times.  ``None``
        before a forecast or for a model without a variance multiplier.
        """
        multiplier = getattr(self.fit, "variance_multiplier", None)
        fc = self.forecast
        if multiplier is None or fc is None or fc.fan.step_times is None:
            return None
        times = pd.DatetimeIndex(fc.fan.step_times)
        m = np.asarray(multiplier(times[1:], previous=times[0]), dtype=float)
        return pd.Series(1e4 * np.sqrt(m), index=times[1:], name="volatility per bar (bp)")

    def model_details(self) -> dict[str, str]:
        """Lines describing the fitted model's components for the page (empty before a fit).

        Keys: ``model`` (requested and answered), and, for a model with a daily
        component and a diurnal factor, ``daily`` (the daily-variance method
        used and why), ``diurnal`` (its shape and band) and ``persistence``
        (of the intraday component).
        """
        if self.fit is None:
            return {}
        out = {"model": self.answered_model}
        if self.requested_model and self.requested_model != self.answered_model:
            out["model"] = f"{self.answered_model} (requested {self.requested_model}: rejected; fallback cascade)"
        daily = getattr(self.fit, "daily", None)
        if daily is not None:
            text = f"{daily.method} (requested {daily.requested})"
            out["daily"] = text + (f": {daily.reason}" if daily.reason else "")
        d = getattr(self.fit, "diurnal", None)
        if d is not None:
            band = np.isfinite(np.asarray(d.lower)).any()
            width = (
                f"{d.band_level:.0%} bootstrap band, mean relative width "
                f"{float(np.nanmean((np.asarray(d.upper) - np.asarray(d.lower)) / np.asarray(d.factor))):.2f}"
                if band
                else "no band (bootstrap resamples 0)"
            )
            out["diurnal"] = (
                f"{d.n_slots} slots of {d.bar_seconds:g} s on {d.calendar}, {d.method}; max {np.nanmax(d.factor):.2f}, "
                f"min {np.nanmin(d.factor):.2f} (mean 1); {width}"
            )
        persistence = getattr(self.fit, "persistence", None)
        if persistence is not None:
            out["persistence"] = f"{float(persistence):.4f}"
        return out

    def horizon_table_text(self) -> pd.DataFrame:
        """The forecast's price distribution by horizon as text at the instrument's precision.

        Prices (mean and quantiles) with the tick's decimals, the std with at
        least three significant digits (never "0.00"), target times in UTC
        (column ``target (UTC)``, month-day hour:minute).
        Empty before a forecast.
        """
        fc = self.forecast
        if fc is None:
            return pd.DataFrame(columns=["target (UTC)", *TABLE_COLUMNS])
        fmt = self.price_format
        table = fc.table.copy()
        table["target_time"] = table["target_time"].map(lambda t: f"{pd.Timestamp(t):%m-%d %H:%M}")
        table = table.rename(columns={"target_time": "target (UTC)"})
        for col in TABLE_COLUMNS:
            table[col] = table[col].map(fmt.spread if col == "std" else fmt.price)
        return table

    def zone_table_text(self) -> pd.DataFrame:
        """Price zones at the horizon as text (kind, strength, low, high, center, probability)."""
        cols = ["kind", "strength", "low", "high", "center", "probability"]
        fc = self.forecast
        if fc is None:
            return pd.DataFrame(columns=cols)
        zones = fc.analysis.to_frame()
        fmt = self.price_format
        return pd.DataFrame(
            {
                "kind": zones["kind"],
                "strength": zones["strength"],
                "low": zones["low"].map(fmt.price),
                "high": zones["high"].map(fmt.price),
                "center": zones["center"].map(fmt.price),
                "probability": zones["mass"].map(lambda m: f"{m:.1%}"),
            },
            columns=cols,
        )

    def fit_table(self) -> pd.DataFrame:
        """Fitted parameters of any model (:func:`volresearch.overview.parameter_table`): estimate, std error,
        t statistic against the parameter's natural null (0; skew ``xi`` 1; GED ``nu`` 2; none for Student-t
        ``nu`` or positive continuous-time parameters) and unit (empty before a fit)."""
        cols = ["estimate", "std error", "null", "t", "unit"]
        if self.fit is None:
            return pd.DataFrame(columns=cols)
        return parameter_table(self.fit)[cols]

    def diagnostics_table(self) -> pd.DataFrame:
        """Residual tests of the fit: Ljung-Box on z and z^2, Engle-Ng sign bias (p-values, verdicts)."""
        cols = ["test", "statistic", "p-value", "verdict"]
        fit = garch_component(self.fit)
        if fit is None:
            return pd.DataFrame(columns=cols)
        rows = []
        lb = fit.diagnostics.get("ljung_box", {})
        for series, what in (("z", "standardised residuals"), ("z2", "squared standardised residuals")):
            for lag, res in sorted(lb.get(series, {}).items(), key=lambda kv: int(kv[0])):
                p = float(res.get("pvalue", math.nan))
                rows.append(
                    {
                        "test": f"Ljung-Box {what}, lag {lag}",
                        "statistic": float(res.get("stat", math.nan)),
                        "p-value": p,
                        "verdict": "pass (no autocorrelation)" if p > 0.05 else "FAIL (autocorrelated)",
                    }
                )
        names = {
            "sign_bias": "sign bias",
            "negative_size_bias": "negative size bias",
            "positive_size_bias": "positive size bias",
            "joint": "sign bias, joint",
        }
        for key, res in fit.diagnostics.get("sign_bias", {}).items():
            p = float(res.get("pvalue", math.nan))
            rows.append(
                {
                    "test": f"Engle-Ng {names.get(key, key)}",
                    "statistic": float(res.get("stat", math.nan)),
                    "p-value": p,
                    "verdict": "pass (no asymmetry left)" if p > 0.05 else "FAIL (asymmetry left)",
                }
            )
        return pd.DataFrame(rows, columns=cols)

    def stylized_verdicts(self) -> pd.DataFrame:
        """Stylized-fact rows that carry a criterion, with PASS/FAIL verdicts."""
        cols = ["group", "statistic", "value", "p-value", "criterion", "verdict"]
        if self.stylized is None:
            return pd.DataFrame(columns=cols)
        rows = self.stylized[self.stylized["passed"].notna()]
        return pd.DataFrame(
            {
                "group": rows["group"],
                "statistic": rows["statistic"],
                "value": rows["value"].astype(float),
                "p-value": rows["pvalue"].astype(float),
                "criterion": rows["criterion"],
                "verdict": np.where(rows["passed"].astype(bool), "PASS", "FAIL"),
            }
        ).reset_index(drop=True)


class _Quiet:
    """Context in which setting ``source`` does not trigger a load."""

    def __init__(self, state: DashboardState) -> None:
        self._state = state
        self._previous = False

    def __enter__(self) -> None:
        self._previous = self._state._applying_source
        self._state._applying_source = True

    def __exit__(self, *exc: object) -> None:
        self._state._applying_source = self._previous
