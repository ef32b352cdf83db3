"""The model registry: one name per model, joining its fit, its result type and its path kernel.

Surfaces (CLI, validate, report, dashboard, notebooks, the rolling forecaster)
look models up here by name instead of branching on strings::

    from volresearch.registry import fit_model, simulate_model, load_result

    result = fit_model("intraday-gjr-sged", bars)          # any registered name
    fan = simulate_model(result, 10_000, 1440, seed=7)   # kernel chosen by result.kernel
    same = load_result(result.to_dict())                 # JSON round trip

It sits above :mod:`volresearch.models` (which knows nothing of simulation:
a result exposes :meth:`~volresearch.models.base.ModelResult.simulation_params`,
:meth:`~volresearch.models.base.ModelResult.filter_state` and a ``kernel``
id as plain data) and :mod:`volresearch.simulate` (which owns the kernels).

Three tables, each a dict filled by ``register*`` calls (no if/elif):

* :data:`MODELS`: name -> :class:`ModelEntry` (``fit(bars, **options)``
  returning a result, the result type, the kernel id, bar sizes it suits);
* :data:`KERNELS`: kernel id -> ``simulate(result, n_paths, horizon, seed, *,
  start, calendar, mode, state, **options)``;
* :data:`RESULT_TYPES`: the ``kind`` written by ``to_dict`` -> result class.

Built-in models: every GARCH-family label ``<model>-<dist>`` (model in
``garch, gjr, egarch``, law in ``normal, t, skewt, ged, sged``) and
``intraday-<model>-<dist>`` (the multiplicative-component intraday GARCH),
plus the alias ``intraday`` for :data:`DEFAULT_INTRADAY_MODEL`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError, SimulationError
from volresearch.models.base import missing_members, result_kind

__all__ = [
    "DEFAULT_DAILY_MODEL",
    "DEFAULT_INTRADAY_DISCRETE_MODEL",
    "DEFAULT_INTRADAY_MODEL",
    "KERNELS",
    "MIN_INTRADAY_DEFAULT_DAYS",
    "MODELS",
    "RESULT_TYPES",
    "ModelEntry",
    "available_models",
    "default_model",
    "fit_model",
    "get_model",
    "load_result",
    "model_label",
    "register",
    "register_kernel",
    "register_result_type",
    "requested_model",
    "simulate_model",
]

#: Default model for daily (and longer) bars.
DEFAULT_DAILY_MODEL = "gjr-sged"
#: Default model for bars shorter than a day: the multiplicative intraday GARCH with a GJR ``q`` and skewed-GED
#: innovations.  On a month of one-minute USD/JPY and BTC bars its ``q`` is the least persistent of the laws tried
#: (0.985 and 0.993 against 0.993 and 0.996 with Student-t, 0.954 and 0.991 with normal innovations) and its
#: long-run variance the closest to the sample's (model/sample 1.31 and 1.03, Student-t 2.7 and 1.19); in the
#: calibration study (``benchmarks/results``) it answers in every daily refit where Student-t ``q`` is integrated
#: in 2 of 15 (USD/JPY) and 3 of 27 (BTC) refits.
DEFAULT_INTRADAY_MODEL = "intraday-gjr-sged"
#: Default for bars shorter than a day whose prices sit on a coarse tick grid (at least
#: :data:`~volresearch.models.intraday.SEVERE_ZERO_SHARE` of the closes unchanged): Student-t ``q``.  The
#: skewed GED fits the spike at zero there (shape at its lower bound 0.5): on two years of an illiquid ETF
#: (26% zero returns) it was rejected in 27 of 41 daily refits and scored 9% worse CRPS than Student-t, which
#: answered in all 41.
DEFAULT_INTRADAY_DISCRETE_MODEL = "intraday-gjr-t"
#: Calendar days (UTC dates) intraday bars must span for the multiplicative model to be the default: its
#: diurnal factor needs several sessions per time-of-day slot (the estimate refuses fewer than five sessions;
#: a session crossing midnight UTC spans two dates).  Shorter samples get the same GARCH family and law
#: fitted to the raw returns (``intraday-gjr-t`` -> ``gjr-t``).
MIN_INTRADAY_DEFAULT_DAYS = 6


@dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Attributes
    ----------
    name
        Registry name (``"gjr-sged"``, ``"intraday-gjr-sged"``).
    family
        ``"garch"``, ``"intraday"``, ... (models of one family share a fitting routine).
    fit
        ``fit(bars, **options) -> result``; raises :class:`~volresearch.errors.FitError` on failure.
    result_type
        Class of the result (:class:`~volresearch.models.base.ModelResult`).
    kernel
        Id of the kernel that simulates its results (a key of :data:`KERNELS`).
    description
        One line for listings.
    intraday, daily
        Bar sizes the model suits.
    """

    name: str
    family: str
    fit: Callable[..., Any]
    result_type: type
    kernel: str
    description: str
    intraday: bool = True
    daily: bool = True


MODELS: dict[str, ModelEntry] = {}
KERNELS: dict[str, Callable[..., Any]] = {}
RESULT_TYPES: dict[str, type] = {}
_ALIASES: dict[str, str] = {}


def register(entry: ModelEntry, *, replace: bool = False) -> ModelEntry:
    """Add ``entry`` to :data:`MODELS` (``replace`` to overwrite an existing name)."""
    if entry.name in MODELS and not replace:
        raise ConfigError(f"model {entry.name!r} is already registered")
    missing = missing_members(entry.result_type)
    if missing:
        raise ConfigError(f"result type {entry.result_type.__name__} of {entry.name!r} lacks {missing}")
    MODELS[entry.name] = entry
    return entry


def register_kernel(kernel_id: str, simulate: Callable[..., Any], *, replace: bool = False) -> None:
    """Add a path kernel adapter to :data:`KERNELS`."""
    if kernel_id in KERNELS and not replace:
        raise ConfigError(f"kernel {kernel_id!r} is already registered")
    KERNELS[kernel_id] = simulate


def register_result_type(kind: str, cls: type) -> None:
    """Map the ``kind`` written by ``cls.to_dict`` to ``cls`` for :func:`load_result`."""
    RESULT_TYPES[kind] = cls


def available_models(*, intraday: bool | None = None) -> list[str]:
    """Registered names, sorted (only those suiting intraday / daily bars when asked)."""
    names = [
        n for n, e in MODELS.items() if intraday is None or (e.intraday if intraday else e.daily)
    ]  # fmt: skip
    return sorted(names)


def get_model(name: str) -> ModelEntry:
    """The entry of ``name`` (aliases resolved).

    Raises
    ------
    ConfigError
        Unknown name; the message lists every available name.
    """
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    try:
        return MODELS[key]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(available_models())}") from None


def model_label(model: str, dist: str | None = None) -> str:
    """Registry name from a ``--model``/``--dist`` pair (``gjr``, ``sged`` -> ``gjr-sged``); names pass through."""
    if dist is None or "-" in model or model in _ALIASES:
        return model
    return f"{model}-{dist}"


def default_model(bars: Any) -> str:
    """The model a user gets without ``--model``.

    :data:`DEFAULT_INTRADAY_MODEL` for bars shorter than a day
    (:data:`DEFAULT_INTRADAY_DISCRETE_MODEL` when at least
    :data:`~volresearch.models.intraday.SEVERE_ZERO_SHARE` of the closes are
    unchanged: prices on a coarse tick grid), else :data:`DEFAULT_DAILY_MODEL`.
    Intraday bars spanning fewer than :data:`MIN_INTRADAY_DEFAULT_DAYS` dates
    get the GARCH family and law of that default without the intraday
    components (too few sessions for a diurnal factor).  A bare index (no
    prices) gets the intraday default by its spacing.
    """
    index = bars if isinstance(bars, pd.Index) else getattr(bars, "index", None)
    if isinstance(index, pd.DatetimeIndex) and len(index) > 2:
        from volresearch.data.calendar import infer_bar_seconds
        from volresearch.data.tick_size import zero_return_share
        from volresearch.models.intraday import SEVERE_ZERO_SHARE

        step = infer_bar_seconds(index)
        if step is not None and step < 86_400:
            name = DEFAULT_INTRADAY_MODEL
            if isinstance(bars, (pd.DataFrame, pd.Series)) and zero_return_share(bars) >= SEVERE_ZERO_SHARE:
                name = DEFAULT_INTRADAY_DISCRETE_MODEL
            if index.normalize().nunique() < MIN_INTRADAY_DEFAULT_DAYS:
                return name.removeprefix("intraday-")
            return name
    return DEFAULT_DAILY_MODEL


def requested_model(model: str | None, dist: str | None, bars: Any, *, dist_default: str = "normal") -> str:
    """Registry name of a ``model``/``dist`` request, as every surface reads it.

    ``model`` is a registry name, an alias or a GARCH family (``gjr``: the law is ``dist``, else
    ``dist_default``); ``None`` takes :func:`default_model` of ``bars`` (a ``dist`` alone keeps its family).

    Raises
    ------
    ConfigError
        Unknown name (the message lists the available ones).
    """
    if model is None:
        name = default_model(bars)
        if dist is not None:  # a law alone keeps the default family of the bar size
            name = f"{name.rsplit('-', 1)[0]}-{dist}"
    else:
        from volresearch.models.fitting import VOLATILITY_MODELS

        law = dist if dist is not None else (dist_default if model in VOLATILITY_MODELS else None)
        name = model_label(model, law)
    return get_model(name).name


def fit_model(name: str, bars: Any, **options: Any) -> Any:
    """Fit the registered model ``name`` to ``bars`` (options go to its fit function)."""
    return get_model(name).fit(bars, **options)


def simulate_model(
    result: Any,
    n_paths: int = 10_000,
    horizon: int = 1440,
    seed: int | np.random.Generator | None = 0,
    *,
    start: Any = None,
    calendar: Any = None,
    mode: Literal["bands", "matrix"] = "bands",
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Simulate price paths of a fitted result with the kernel registered for ``result.kernel``.

    Parameters
    ----------
    result
        A fitted result (:class:`~volresearch.models.base.ModelResult`).
    n_paths, horizon, seed
        Paths, steps (bars) and seed of the per-path streams.
    start
        Time of step 0 (default: the result's last bar).
    calendar
        Calendar labelling the steps (default: the result's own for intraday bars; daily GARCH-family
        steps are spaced by the bar length).
    mode
        ``"bands"`` (:class:`~volresearch.simulate.Fan`) or ``"matrix"`` (:class:`~volresearch.simulate.Paths`).
    state
        Overrides of :meth:`filter_state` (e.g. a filtered ``next_variance`` and ``last_price``).
    options
        Passed to the kernel adapter (``quantiles``, ``n_sample_paths``, ``last_price``...).
    """
    kernel = getattr(result, "kernel", None)
    if kernel not in KERNELS:
        raise ConfigError(f"no kernel {kernel!r} registered; known: {', '.join(sorted(KERNELS))}")
    return KERNELS[kernel](
        result, n_paths, horizon, seed, start=start, calendar=calendar, mode=mode, state=state, **options
    )


def load_result(d: Mapping[str, Any]) -> Any:
    """Restore any registered result type from its JSON dictionary (its ``type`` or ``kind`` field)."""
    kind = result_kind(d)
    if kind not in RESULT_TYPES:
        raise ConfigError(f"unknown result type {kind!r}; known: {', '.join(sorted(RESULT_TYPES))}")
    return RESULT_TYPES[kind].from_dict(d)


# --------------------------------------------------------------------------- built-in kernels
def _seed(seed: int | np.random.Generator | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    return int(seed)


def _garch_kernel(
    result: Any,
    n_paths: int,
    horizon: int,
    seed: Any,
    *,
    start: Any,
    calendar: Any,
    mode: str,
    state: Mapping[str, Any] | None,
    **options: Any,
) -> Any:
    from volresearch.simulate.engine import innovation_table
    from volresearch.simulate.paths import simulate_paths

    st = {**result.filter_state(), **dict(state or {})}
    price = float(options.pop("last_price", st["last_price"]))
    if not (math.isfinite(price) and price > 0):
        raise SimulationError("a starting price is needed: the fit was made on returns; pass last_price=")
    params = result.simulation_params()
    if calendar is None and result.bar_seconds < 86_400:
        calendar = result.calendar  # intraday steps labelled by the session clock (dynamics unchanged)
    return simulate_paths(
        result.kernel,
        params,
        ppf_table=innovation_table(result.dist, params),
        n_paths=n_paths,
        horizon=horizon,
        x0=math.log(price),
        sigma2_1=st["next_variance"],
        seed=seed,
        mode=mode,  # type: ignore[arg-type]
        start=st["end"] if start is None else start,
        bar_seconds=result.bar_seconds,
        calendar=calendar,
        **options,
    )


def _intraday_kernel(
    result: Any,
    n_paths: int,
    horizon: int,
    seed: Any,
    *,
    start: Any,
    calendar: Any,
    mode: str,
    state: Mapping[str, Any] | None,
    **options: Any,
) -> Any:
    from volresearch.simulate.engine import innovation_table
    from volresearch.simulate.kernels.intraday import simulate_intraday
    from volresearch.simulate.paths import MODELS as KERNEL_CODES
    from volresearch.simulate.results import session_step_times

    st = {**result.filter_state(), **dict(state or {})}
    price = float(options.pop("last_price", st["last_price"]))
    t0 = st["end"] if start is None else start
    cal = result.calendar if calendar is None else calendar
    times = session_step_times(cal, t0, int(horizon), result.bar_seconds)
    mult = result.variance_multiplier(times[1:], previous=times[0])
    params = result.simulation_params()
    seed_int = _seed(seed)
    return simulate_intraday(
        KERNEL_CODES[result.kernel.removeprefix("intraday-")],
        params,
        mult,
        ppf_table=innovation_table(result.dist, params),
        n_paths=n_paths,
        x0=math.log(price),
        q1=st["q_next"],
        seed=seed_int,
        mode=mode,  # type: ignore[arg-type]
        start=times[0],
        bar_seconds=result.bar_seconds,
        step_times=times,
        meta={"model": result.model, "calendar": getattr(cal, "name", cal), "multiplier": "h_d s_i / sum s"},
        **options,
    )


def _register_builtins() -> None:
    from volresearch.models.distributions import DISTRIBUTIONS
    from volresearch.models.fitting import VOLATILITY_MODELS
    from volresearch.models.garch import Fit, ModelSpec, fit_garch
    from volresearch.models.intraday import IntradayFit, fit_intraday
    from volresearch.models.returns import default_mean

    def garch_fit(model: str, dist: str) -> Callable[..., Any]:
        def fit(bars: Any, *, mean: str = "auto", **options: Any) -> Fit:
            return fit_garch(bars, ModelSpec(model, dist, default_mean(bars, mean)), **options)  # type: ignore[arg-type]

        return fit

    def intraday_fit(model: str, dist: str) -> Callable[..., Any]:
        def fit(bars: Any, *, mean: str = "zero", **options: Any) -> IntradayFit:
            options.pop("horizon", None)  # a daily-bar option of the GARCH family
            return fit_intraday(bars, model=model, dist=dist, mean="zero" if mean == "auto" else mean, **options)

        return fit

    for model in VOLATILITY_MODELS:
        register_kernel(model, _garch_kernel)
        register_kernel(f"intraday-{model}", _intraday_kernel)
        for dist, info in DISTRIBUTIONS.items():
            register(
                ModelEntry(
                    name=f"{model}-{dist}",
                    family="garch",
                    fit=garch_fit(model, dist),
                    result_type=Fit,
                    kernel=model,
                    description=f"{model.upper()} with {info.description} innovations (arch-backed, robust)",
                )
            )
            register(
                ModelEntry(
                    name=f"intraday-{model}-{dist}",
                    family="intraday",
                    fit=intraday_fit(model, dist),
                    result_type=IntradayFit,
                    kernel=f"intraday-{model}",
                    description=(
                        f"multiplicative intraday GARCH: daily variance x diurnal factor x {model.upper()} "
                        f"with {info.description} innovations"
                    ),
                    daily=False,
                )
            )
    _ALIASES["intraday"] = DEFAULT_INTRADAY_MODEL
    register_result_type("volresearch.Fit", Fit)
    register_result_type("volresearch.IntradayFit", IntradayFit)
    _register_continuous_time()
    _register_simple()


def _sv_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.simulate.kernels.heston import simulate_sv_result

    return simulate_sv_result(result, n_paths, horizon, seed, **options)


def _merton_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.simulate.kernels.jumps import simulate_merton_result

    return simulate_merton_result(result, n_paths, horizon, seed, **options)


#: Particles of the SV filter that sets the end-of-sample variance of a Heston/SVCJ fit.
SV_STATE_PARTICLES = 2000


def _with_filtered_state(result: Any, bars: Any) -> Any:
    """``result`` with ``v0`` the particle-filtered variance at the sample's end (its sd in the diagnostics).

    The filter (:func:`volresearch.simulate.sv_filter.sv_filter`, fitted parameters, stationary start, seed 0)
    runs over the fit's own returns; its log-likelihood is kept as ``filter_loglik``.
    """
    import dataclasses

    from volresearch.models.merton import return_sample
    from volresearch.simulate.sv_filter import sv_filter

    r = return_sample(bars, bar_seconds=result.bar_seconds, calendar=result.calendar)[0]
    r = r[np.isfinite(r)]
    f = sv_filter(result.simulation_params(), r, result.dt, n_particles=SV_STATE_PARTICLES, seed=0)
    diag = {
        **result.diagnostics,
        "v0_method": "particle filter (mean after the last bar)",
        "v0_sd": float(f.v_sd[-1]),
        "filter_loglik": f.loglik,
        "filter_particles": SV_STATE_PARTICLES,
        "filter_seed": 0,
        "filter_median_ess": float(np.median(f.ess) / SV_STATE_PARTICLES),
    }
    return dataclasses.replace(result, params={**result.params, "v0": float(f.v_mean[-1])}, diagnostics=diag)


def _sv_loglik(params: Mapping[str, float], returns: np.ndarray, dt: float, n_particles: int, seed: int) -> float:
    """Particle-filter log-likelihood of Heston/SVCJ parameters (the likelihood of the ``pf-mle`` route)."""
    from volresearch.simulate.sv_filter import sv_filter

    return sv_filter(params, returns, dt, n_particles=n_particles, seed=seed).loglik


def _historical_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.simulate.kernels.bootstrap import simulate_historical_result

    return simulate_historical_result(result, n_paths, horizon, seed, **options)


def _har_range_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.simulate.kernels.bootstrap import simulate_har_range_result

    return simulate_har_range_result(result, n_paths, horizon, seed, **options)


def _arma_garch_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.simulate.kernels.bootstrap import simulate_arma_garch_result

    return simulate_arma_garch_result(result, n_paths, horizon, seed, **options)


def _register_simple() -> None:
    """RiskMetrics EWMA (on the GARCH path kernel), historical simulation, the range HAR and ARMA-GARCH."""
    from volresearch.models.arma_garch import ARMAGARCHResult, fit_arma_garch
    from volresearch.models.ewma import EWMAResult, HistoricalResult, fit_ewma, fit_historical
    from volresearch.models.har_range import HARRangeResult, fit_har_range

    register_kernel("arma-garch", _arma_garch_kernel)
    register(
        ModelEntry(
            name="arma-garch",
            family="arma-garch",
            fit=fit_arma_garch,
            result_type=ARMAGARCHResult,
            kernel="arma-garch",
            description="ARMA(1,1) mean (statsmodels ARIMA) with a GARCH(1,1)-t variance (arch), two steps",
            intraday=False,
        )
    )
    register_result_type("volresearch.ARMAGARCHResult", ARMAGARCHResult)
    register_kernel("historical", _historical_kernel)
    register_kernel("har-range", _har_range_kernel)
    register(
        ModelEntry(
            name="har-range",
            family="har",
            fit=fit_har_range,
            result_type=HARRangeResult,
            kernel="har-range",
            description="HAR(1, 5, 22) of log Garman-Klass range variance; returns a normal variance mixture",
            intraday=False,
        )
    )
    register_result_type("volresearch.HARRangeResult", HARRangeResult)
    register(
        ModelEntry(
            name="ewma",
            family="ewma",
            fit=fit_ewma,
            result_type=EWMAResult,
            kernel="garch",
            description="RiskMetrics EWMA volatility (decay by quasi-maximum likelihood; normal innovations)",
        )
    )
    register(
        ModelEntry(
            name="historical",
            family="historical",
            fit=fit_historical,
            result_type=HistoricalResult,
            kernel="historical",
            description="historical simulation: returns drawn with replacement from the window",
        )
    )
    register_result_type("volresearch.EWMAResult", EWMAResult)
    register_result_type("volresearch.HistoricalResult", HistoricalResult)


def _register_continuous_time() -> None:
    """Heston (simulated moments or particle-filter likelihood), SVCJ (simulated moments), Merton (MLE)."""
    from volresearch.models.heston import HestonResult, fit_heston_smm
    from volresearch.models.merton import MertonFit, fit_merton
    from volresearch.models.svcj import SVCJResult, fit_svcj_smm

    def heston_fit(bars: Any, *, method: str = "smm", **options: Any) -> HestonResult:
        """``method="smm"`` (simulated moments, default) or ``"pf-mle"`` (particle-filter likelihood started
        from the moment estimate and from the default starts)."""
        from volresearch.models.sv_mle import fit_heston_pfmle
        from volresearch.simulate.kernels.heston import stationary_sv_returns

        for key in ("mean", "horizon"):
            options.pop(key, None)
        if method not in ("smm", "pf-mle"):
            raise ConfigError(f"unknown Heston fitting method {method!r}; choose smm or pf-mle")
        pf_keys = ("n_particles", "starts", "maxiter")
        pf_options = {k: options.pop(k) for k in pf_keys if k in options}
        smm = fit_heston_smm(bars, simulate_returns=stationary_sv_returns, **options)
        if method == "smm":
            return _with_filtered_state(smm, bars)
        first = {k: smm.params[k] for k in ("kappa", "theta", "xi", "rho")}
        starts = (first, *pf_options.pop("starts", ({"kappa": 2.0, "xi": 0.3},)))
        res = fit_heston_pfmle(bars, loglik=_sv_loglik, starts=starts, seed=int(options.get("seed", 0)),
                               **pf_options)  # fmt: skip
        return _with_filtered_state(res, bars)

    def svcj_fit(bars: Any, **options: Any) -> SVCJResult:
        """SVCJ by simulated moments (:func:`volresearch.models.svcj.fit_svcj_smm`), particle-filtered ``v0``."""
        from volresearch.simulate.kernels.heston import stationary_sv_returns

        for key in ("mean", "horizon"):
            options.pop(key, None)
        return _with_filtered_state(fit_svcj_smm(bars, simulate_returns=stationary_sv_returns, **options), bars)

    register_kernel("heston", _sv_kernel)
    register_kernel("svcj", _sv_kernel)
    register_kernel("merton", _merton_kernel)
    register(
        ModelEntry(
            name="merton",
            family="jump-diffusion",
            fit=fit_merton,
            result_type=MertonFit,
            kernel="merton",
            description="Merton jump-diffusion (maximum likelihood of the Poisson-normal mixture; exact paths)",
        )
    )
    register(
        ModelEntry(
            name="heston",
            family="stochastic-volatility",
            fit=heston_fit,
            result_type=HestonResult,
            kernel="heston",
            description="Heston (simulated method of moments from returns; Andersen QE paths)",
        )
    )
    register(
        ModelEntry(
            name="svcj",
            family="stochastic-volatility",
            fit=svcj_fit,
            result_type=SVCJResult,
            kernel="svcj",
            description="SVCJ: Heston with correlated jumps in price and variance (simulated moments; QE + jump paths)",
        )
    )
    register_result_type("volresearch.MertonFit", MertonFit)
    register_result_type("volresearch.HestonResult", HestonResult)
    register_result_type("volresearch.SVCJResult", SVCJResult)


def _ensemble_kernel(result: Any, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    from volresearch.ensembles.model import simulate_ensemble

    return simulate_ensemble(result, n_paths, horizon, seed, **options)


def _register_ensembles() -> None:
    """``ensemble-<scheme>`` for every weight rule of :data:`volresearch.ensembles.model.SCHEMES`; ``ensemble``
    is ``ensemble-log-score``."""
    from volresearch.ensembles.model import SCHEMES, EnsembleResult, fit_ensemble

    def ensemble_fit(scheme: str) -> Callable[..., Any]:
        def fit(bars: Any, **options: Any) -> EnsembleResult:
            return fit_ensemble(bars, scheme=scheme, **options)

        return fit

    register_kernel("ensemble", _ensemble_kernel)
    for scheme in SCHEMES:
        register(
            ModelEntry(
                name=f"ensemble-{scheme}",
                family="ensemble",
                fit=ensemble_fit(scheme),
                result_type=EnsembleResult,
                kernel="ensemble",
                description=f"linear pool of GARCH-normal, GJR-skew-t, EGARCH-t and Heston ({scheme} weights, "
                "in sample)",
                intraday=False,
            )
        )
    _ALIASES["ensemble"] = "ensemble-log-score"
    register_result_type("volresearch.EnsembleResult", EnsembleResult)


_register_builtins()
_register_ensembles()
