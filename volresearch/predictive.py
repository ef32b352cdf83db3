r"""One-bar-ahead predictive laws of a fitted model over its own sample.

:func:`one_step_predictive` gives, for every in-sample log return :math:`r_t`, the mean, the variance
and the log density of the model's predictive law of :math:`r_t` given the bars before it:

* GARCH family: :math:`\mu + \sigma_t z`, ``z`` from the fitted innovation law (``arch``'s log-likelihood
  of each observation, so the densities sum to the fit's log-likelihood);
* Heston/SVCJ: the particle filter that set ``v0``
  (:func:`volresearch.simulate.sv_filter.sv_filter`, the same particles and seed): its per-bar log
  predictive densities, and the mean and variance of the bar's return given the filtered variance after
  the previous bar (integrated variance over the bar plus the compound-Poisson jump variance
  :math:`\lambda\,dt\,E[Z_y^2]`; the first bar starts from the stationary mean of ``v``);
* Merton: the constant mean and variance of the Poisson-normal mixture and its exact log density;
* EWMA: normal with the recursion's variance (returns after its warm-up);
* ARMA-GARCH: the ARMA recursion's mean and the GARCH variance of the residuals, standardised Student-t
  (the densities add up to the GARCH step's log-likelihood);
* range HAR: the normal variance mixture over the HAR's log range variance (Gauss-Hermite quadrature);
* historical simulation: the sample's mean and variance, the leave-one-out Gaussian kernel density of the
  sample at each return (the empirical law the paths draw from, smoothed);
* ensembles: the linear pool of the members' laws (law of total variance, mixture density), with the weights
  of each forecast (:func:`volresearch.ensembles.model.weight_path`).

The residuals, ensemble weights and in-sample losses of every surface come from here.  Units: log
returns per bar, their squares, log densities per unit of log return.  The multiplicative intraday model
is not covered yet (its in-sample variance multiplier is not stored): ConfigError says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from volresearch.errors import ConfigError

__all__ = ["one_step_predictive", "return_sample_of", "sv_filtered_variance"]


def return_sample_of(result: Any, bars: Any) -> tuple[np.ndarray, pd.Index]:
    """The finite log returns of ``bars`` on the result's bar clock and the times of the bars they end."""
    from volresearch.models.merton import return_sample
    from volresearch.models.returns import prices_from

    r = return_sample(bars, bar_seconds=result.bar_seconds, calendar=result.calendar)[0]
    times = prices_from(bars).index[1:]
    keep = np.isfinite(r)
    return r[keep], times[keep]


def _garch(fit: Any) -> pd.DataFrame:
    from volresearch.models.distributions import get_distribution

    sigma = np.asarray(fit.conditional_volatility, dtype=float)
    z = np.asarray(fit.std_resid, dtype=float)
    mu = float(fit.params.get("mu", 0.0))
    e = sigma * z
    info = get_distribution(fit.spec.dist)
    shape = np.array([float(fit.params[p]) for p in info.parameter_names], dtype=float)
    logd = info.factory().loglikelihood(shape if shape.size else None, e, sigma**2, individual=True)
    return pd.DataFrame(
        {"r": mu + e, "mean": mu, "var": sigma**2, "log_density": np.asarray(logd, dtype=float)},
        index=pd.Index(fit.index, name="time"),
    )


#: The last SV filter run: ``(result, bars, frame, v_mean)``.  The report and the dashboard ask for the residuals
#: and the filtered variance of the same fit one after the other; the entry holds both objects, so an identity
#: match is the same request (the frame is copied out, the arrays are read-only).
_LAST_SV: tuple[Any, Any, pd.DataFrame, np.ndarray] | None = None


def _sv(result: Any, bars: Any) -> tuple[pd.DataFrame, np.ndarray]:
    global _LAST_SV
    last = _LAST_SV
    if last is not None and last[0] is result and last[1] is bars:
        return last[2].copy(), last[3]
    frame, v = _sv_run(result, bars)
    v.setflags(write=False)
    _LAST_SV = (result, bars, frame, v)
    return frame.copy(), v


def _sv_run(result: Any, bars: Any) -> tuple[pd.DataFrame, np.ndarray]:
    from volresearch.models.svcj import svcj_mbar
    from volresearch.registry import SV_STATE_PARTICLES
    from volresearch.simulate.sv_filter import sv_filter

    r, times = return_sample_of(result, bars)
    p = result.params
    dt = result.dt
    diag = getattr(result, "diagnostics", {})
    f = sv_filter(
        result.simulation_params(), r, dt, n_particles=int(diag.get("filter_particles", SV_STATE_PARTICLES)),
        seed=int(diag.get("filter_seed", 0)),
    )  # fmt: skip
    lam = float(p.get("lambda", 0.0))
    mu_y, sigma_y = float(p.get("mu_y", 0.0)), float(p.get("sigma_y", 0.0))
    mu_v, rho_j = float(p.get("mu_v", 0.0)), float(p.get("rho_j", 0.0))
    v_prev = np.concatenate([[p["theta"] + lam * mu_v / p["kappa"]], f.v_mean[:-1]])
    e = math.exp(-p["kappa"] * dt)
    iv = p["theta"] * dt + (v_prev - p["theta"]) * (1.0 - e) / p["kappa"]
    mean_y = mu_y + rho_j * mu_v
    ez2 = sigma_y**2 + (rho_j * mu_v) ** 2 + mean_y**2
    mbar = svcj_mbar(mu_y, sigma_y, mu_v, rho_j) if lam > 0 else 0.0
    frame = pd.DataFrame(
        {
            "r": r,
            "mean": (p["mu"] - lam * mbar + lam * mean_y) * dt - 0.5 * iv,
            "var": iv + lam * dt * ez2,
            "log_density": np.asarray(f.loglik_terms, dtype=float),
        },
        index=pd.Index(times, name="time"),
    )
    return frame, np.array(f.v_mean, dtype=float)


def _merton(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.models.merton import merton_logpdf

    r, times = return_sample_of(result, bars)
    sp = result.simulation_params()
    p = result.params
    logd = merton_logpdf(r, result.dt, p["mu"], p["sigma"], p["lambda"], p["mu_j"], p["sigma_j"],
                         max(int(result.n_terms), 1))  # fmt: skip
    return pd.DataFrame(
        {
            "r": r,
            "mean": sp["drift"] + sp["lam_dt"] * sp["mu_j"],
            "var": result.filter_state()["next_variance"],
            "log_density": np.asarray(logd, dtype=float),
        },
        index=pd.Index(times, name="time"),
    )


def _ensemble(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.ensembles.combine import mixture_moments, pool_log_density
    from volresearch.ensembles.model import weight_path

    frames = [one_step_predictive(m, bars) for m in result.members]
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    cols = {c: np.column_stack([f.loc[common, c].to_numpy() for f in frames]) for c in ("mean", "var", "log_density")}
    w = weight_path(result, bars).reindex(common).to_numpy()
    mean, var = mixture_moments(cols["mean"], cols["var"], w)
    return pd.DataFrame(
        {"r": frames[0].loc[common, "r"].to_numpy(), "mean": mean, "var": var,
         "log_density": pool_log_density(cols["log_density"], w)},
        index=pd.Index(common, name="time"),
    )  # fmt: skip


def _ewma(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.models.ewma import EWMA_WARMUP, ewma_in_sample

    r, times = return_sample_of(result, bars)
    v = ewma_in_sample(result, r)
    x = r[EWMA_WARMUP:]
    mu = float(result.params["mu"])
    logd = -0.5 * (np.log(2 * np.pi * v) + (x - mu) ** 2 / v)
    return pd.DataFrame({"r": x, "mean": mu, "var": v, "log_density": logd},
                        index=pd.Index(times[EWMA_WARMUP:], name="time"))  # fmt: skip


def _historical(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.models.ewma import kde_log_density

    r, times = return_sample_of(result, bars)
    x = result.sample
    same = r.size == x.size and np.allclose(r, x)
    logd = kde_log_density(x, r, leave_one_out=same)
    return pd.DataFrame({"r": r, "mean": float(x.mean()), "var": float(x.var(ddof=1)), "log_density": logd},
                        index=pd.Index(times, name="time"))  # fmt: skip


def _har_range(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.models.har_range import har_means, har_range_log_density, log_range_variance

    y = log_range_variance(bars, floor=result.meta.get("range_floor"))[0].to_numpy()
    p = max(result.har.lags)
    m = har_means(result.har, y)
    r = np.diff(np.log(bars["close"].to_numpy(dtype=float)))[p - 1 :]
    s2 = result.har.sigma2
    logd = har_range_log_density(r, result.mu, result.c, m, math.sqrt(s2))
    return pd.DataFrame({"r": r, "mean": result.mu, "var": result.c * np.exp(m + 0.5 * s2), "log_density": logd},
                        index=pd.Index(bars.index[p:], name="time"))  # fmt: skip


def _arma_garch(result: Any, bars: Any) -> pd.DataFrame:
    from volresearch.models.arma_garch import arma_residuals
    from volresearch.models.distributions import get_distribution

    r, times = return_sample_of(result, bars)
    m = result.mean
    e = arma_residuals(r, m["mu"], m["phi"], m["theta"])
    sigma = np.asarray(result.garch.conditional_volatility, dtype=float)[-e.size :]
    info = get_distribution("t")
    nu = np.array([float(result.garch.params["nu"])])
    logd = info.factory().loglikelihood(nu, e, sigma**2, individual=True)
    return pd.DataFrame({"r": r, "mean": r - e, "var": sigma**2, "log_density": np.asarray(logd, dtype=float)},
                        index=pd.Index(times, name="time"))  # fmt: skip


def one_step_predictive(result: Any, bars: Any = None) -> pd.DataFrame:
    """Every in-sample return with its one-bar predictive ``mean``, ``var`` and ``log_density`` (module docstring).

    Columns ``r, mean, var, log_density``, indexed by the time of the bar each return ends.  GARCH-family
    results carry their sample (``bars`` unused); Heston/SVCJ/Merton need the ``bars`` they were fitted on.

    Raises
    ------
    ConfigError
        A model this does not cover (the multiplicative intraday GARCH), or ``bars`` missing.
    """
    from volresearch.models.garch import Fit

    if isinstance(result, Fit):
        return _garch(result)
    kernel = getattr(result, "kernel", None)
    if kernel == "ensemble":
        return _ensemble(result, bars)
    model = getattr(result, "model", None)
    if model in ("ewma", "historical", "har-range", "arma-garch") and bars is None:
        raise ConfigError(f"the one-step predictive laws of {model} need the bars it was fitted on")
    if model == "ewma":
        return _ewma(result, bars)
    if model == "historical":
        return _historical(result, bars)
    if model == "har-range":
        return _har_range(result, bars)
    if model == "arma-garch":
        return _arma_garch(result, bars)
    if kernel not in ("heston", "svcj", "merton"):
        raise ConfigError(f"one-step predictive laws of {getattr(result, 'model', kernel)!r} are not available")
    if bars is None:
        raise ConfigError(f"the one-step predictive laws of {result.model} need the bars it was fitted on")
    if kernel == "merton":
        return _merton(result, bars)
    return _sv(result, bars)[0]


def sv_filtered_variance(result: Any, bars: Any) -> pd.Series:
    """Filtered mean of the Heston/SVCJ variance after each bar (variance/year), indexed by the bar's time."""
    frame, v = _sv(result, bars)
    return pd.Series(v, index=frame.index, name="v")
