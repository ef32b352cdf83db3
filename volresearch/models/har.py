r"""HAR-RV forecasts of daily realised variance, estimated with :class:`arch.univariate.HARX`.

Heterogeneous autoregression (Corsi 2009) on ``y_d = log RV_d`` (default) or
on ``y_d = RV_d``, RV a **variance per session day** (squared log return):

.. math::

    y_{d+1} = b_0 + b_d\, y_d + b_w \tfrac15 \sum_{j=0}^{4} y_{d-j}
              + b_m \tfrac1{22} \sum_{j=0}^{21} y_{d-j} + \gamma' x_d + e_{d+1}

(``lags=(1, 5, 22)``; other lag sets work the same way).  Options:

``jumps`` (HAR-J, Andersen-Bollerslev-Diebold 2007)
    ``x_d`` holds the jump component :math:`J_d = \max(RV_d - BV_d, 0)`; in
    the log model as :math:`\ln(1 + J_d / \overline{RV})` (:math:`\overline{RV}`
    the sample mean of RV, so the regressor is unit-free).
``semivariance`` (Patton-Sheppard 2015)
    The daily lag is replaced by the realised semivariances ``RS+_d`` and
    ``RS-_d`` (their logs in the log model); the weekly and monthly averages
    stay.

The coefficients, their standard errors (``cov_type`` of arch: ``"robust"``
White or ``"classic"``) and R^2 are arch's; no OLS is written here.

Forecasts iterate the fitted equation forward, replacing unknown future
regressors by their projection: jump regressors by their sample mean,
semivariances by ``log RV + mean(log(RS/RV))`` (log model) or
``mean(RS/RV) x RV`` (level model).  The recursion is then linear in ``y``
with effective AR coefficients :math:`a_1..a_p`; the forecast error variance
of step ``h`` is :math:`\sigma^2 \sum_{j<h} \psi_j^2` with the MA weights
:math:`\psi_0 = 1, \psi_j = \sum_l a_l \psi_{j-l}` and :math:`\sigma^2`
arch's residual variance.  For the log model the forecast of the variance
level is the **log-normal bias-corrected** :math:`\exp(\mu_h + v_h/2)`,
:math:`\mu_h` the forecast of log RV and :math:`v_h` its error variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import float_array, jsonable
from volresearch.errors import ConfigError, DataError, FitError
from volresearch.models.realized import RealizedMeasures, library_versions
from volresearch.models.returns import data_hash

__all__ = ["HARResult", "fit_har", "har_regressors"]

DEFAULT_LAGS = (1, 5, 22)


def _series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype(np.float64)
    return pd.Series(np.asarray(values, dtype=np.float64), name=name)


def har_regressors(y: pd.Series | np.ndarray, lags: tuple[int, ...] = DEFAULT_LAGS) -> pd.DataFrame:
    """The HAR averages of ``y`` for predicting ``y_d``: ``mean(y_{d-1..d-l})`` for each lag ``l``.

    NaN in the first ``max(lags)`` rows.  A convenience for checking and
    plotting; :func:`fit_har` lets arch build them.
    """
    s = _series(y, "y").reset_index(drop=True)
    return pd.DataFrame({f"har_{lag}": s.shift(1).rolling(lag).mean() for lag in lags})


@dataclass(frozen=True)
class HARResult:
    """A fitted HAR-RV model (immutable).

    Attributes
    ----------
    params, std_err
        Coefficient and standard error by name: ``const``, ``har_<lag>`` for the
        lag averages, ``jump``, ``rs_pos``, ``rs_neg`` for extra regressors.
    rsquared, rsquared_adj, sigma2
        arch's R^2, adjusted R^2 and residual variance (units of ``y``:
        squared log-RV for the log model, squared daily variance for levels).
    nobs
        Observations in the regression.
    log
        Whether ``y`` is log RV.
    lags
        Lag windows of the averages (days).
    cov_type
        arch's covariance estimator.
    history
        Last ``max(lags)`` values of ``y`` (oldest first) and of each extra
        regressor, to start forecasts.
    projection
        How future extra regressors are set (see the module docstring).
    metadata
        ``data_hash``, ``window`` (first and last session), ``options``, ``versions``.
    """

    params: dict[str, float]
    std_err: dict[str, float]
    rsquared: float
    rsquared_adj: float
    sigma2: float
    nobs: int
    log: bool
    lags: tuple[int, ...]
    cov_type: str
    history: dict[str, list[float]] = field(repr=False)
    projection: dict[str, float] = field(repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    # ------------------------------------------------------------ forecasts
    def recursion(self) -> tuple[float, np.ndarray]:
        """Intercept and AR coefficients on lags 1..max(lags) of the forecast recursion."""
        p = max(self.lags)
        a = np.zeros(p)
        c = self.params["const"]
        for lag in self.lags:
            a[:lag] += self.params[f"har_{lag}"] / lag
        if "jump" in self.params:
            c += self.params["jump"] * self.projection["jump"]
        for name in ("rs_pos", "rs_neg"):
            if name in self.params:
                b = self.params[name]
                if self.log:
                    c += b * self.projection[name]
                    a[0] += b
                else:
                    a[0] += b * self.projection[name]
        return c, a

    def forecast(self, horizon: int = 1) -> pd.DataFrame:
        """Forecast of daily realised variance for the next ``horizon`` session days.

        Returns
        -------
        pandas.DataFrame
            Indexed by step ``h = 1..horizon``: ``mean`` (forecast of ``y``),
            ``variance`` (its forecast error variance), ``rv`` (forecast of
            RV, variance per session day: ``exp(mean + variance/2)`` for the
            log model, ``mean`` for levels) and ``cumulative_rv`` (sum of
            ``rv`` over steps ``1..h``: variance over ``h`` days).
        """
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon}")
        h = int(horizon)
        c, a = self.recursion()
        p = a.size
        path = list(self.history["y"])
        means = np.empty(h)
        for step in range(h):
            past = np.asarray(path[-p:][::-1])  # lag 1 first
            value = c + float(a @ past)
            if step == 0:
                # The first step uses the observed extra regressors, not their projection.
                value += self._observed_adjustment()
            means[step] = value
            path.append(value)
        psi = np.zeros(h)
        psi[0] = 1.0
        for j in range(1, h):
            m = min(j, p)
            psi[j] = float(np.dot(a[:m], psi[j - 1 :: -1][:m]))
        variance = self.sigma2 * np.cumsum(psi**2)
        rv = np.exp(means + 0.5 * variance) if self.log else means
        return pd.DataFrame(
            {"mean": means, "variance": variance, "rv": rv, "cumulative_rv": np.cumsum(rv)},
            index=pd.RangeIndex(1, h + 1, name="h"),
        )

    def _observed_adjustment(self) -> float:
        """Observed-minus-projected extra regressors at the last day, times their coefficients."""
        adj = 0.0
        y_last = self.history["y"][-1]
        if "jump" in self.params:
            adj += self.params["jump"] * (self.history["jump"][-1] - self.projection["jump"])
        for name in ("rs_pos", "rs_neg"):
            if name in self.params:
                projected = (y_last + self.projection[name]) if self.log else y_last * self.projection[name]
                adj += self.params[name] * (self.history[name][-1] - projected)
        return adj

    # --------------------------------------------------------- persistence
    def summary(self) -> str:
        """Coefficient table with arch's standard errors, R^2 and a 1/5/22-day forecast."""
        kind = "log RV" if self.log else "RV"
        lines = [
            f"HAR-RV on {kind} (arch HARX, {self.cov_type} SE), lags {list(self.lags)}, "
            f"{self.nobs} observations, R^2 {self.rsquared:.4f} (adj. {self.rsquared_adj:.4f})",
            f"{'':>10} {'coef':>12} {'std err':>12} {'t':>8}",
        ]
        for name, value in self.params.items():
            se = self.std_err.get(name, math.nan)
            lines.append(f"{name:>10} {value:12.5g} {se:12.5g} {value / se if se else math.nan:8.2f}")
        f = self.forecast(22)
        lines.append(
            "forecast RV (variance per session day"
            + (", log-normal bias-corrected" if self.log else "")
            + "): "
            + ", ".join(f"h={h}: {f['rv'].loc[h]:.4e}" for h in (1, 5, 22))
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (:meth:`from_dict` inverts it)."""
        return jsonable(
            {
                "kind": "har",
                "params": self.params,
                "std_err": self.std_err,
                "rsquared": self.rsquared,
                "rsquared_adj": self.rsquared_adj,
                "sigma2": self.sigma2,
                "nobs": self.nobs,
                "log": self.log,
                "lags": list(self.lags),
                "cov_type": self.cov_type,
                "history": self.history,
                "projection": self.projection,
                "metadata": self.metadata,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HARResult:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            params={k: float(v) for k, v in data["params"].items()},
            std_err={k: (math.nan if v is None else float(v)) for k, v in data["std_err"].items()},
            rsquared=float(data["rsquared"]),
            rsquared_adj=float(data["rsquared_adj"]),
            sigma2=float(data["sigma2"]),
            nobs=int(data["nobs"]),
            log=bool(data["log"]),
            lags=tuple(int(v) for v in data["lags"]),
            cov_type=str(data["cov_type"]),
            history={k: float_array(v).tolist() for k, v in data["history"].items()},
            projection={k: float(v) for k, v in data["projection"].items()},
            metadata=dict(data.get("metadata", {})),
        )


def fit_har(
    rv: pd.Series | np.ndarray | RealizedMeasures,
    *,
    log: bool = True,
    lags: tuple[int, ...] = DEFAULT_LAGS,
    jumps: pd.Series | np.ndarray | bool | None = None,
    semivariance: tuple[Any, Any] | bool | None = None,
    measure: str = "rv",
    cov_type: str = "robust",
) -> HARResult:
    """Fit HAR-RV (optionally HAR-J or semivariance HAR) with arch's ``HARX``.

    Parameters
    ----------
    rv
        Daily realised variance (variance per session day), in session order,
        or a :class:`RealizedMeasures` (its ``measure`` column, and its
        ``jump``/``rs_pos``/``rs_neg`` columns when ``jumps``/``semivariance``
        is ``True``).  Days with a missing value are dropped.
    log
        Model log RV (default) or RV levels.
    lags
        Windows of the lag averages, in days.
    jumps
        Jump component per day (``max(RV - BV, 0)``), or ``True`` to take it
        from a :class:`RealizedMeasures`.
    semivariance
        ``(rs_pos, rs_neg)`` per day, or ``True`` with a :class:`RealizedMeasures`.
        Replaces the one-day lag (needs ``1 in lags`` and another lag).
    measure
        Column of a :class:`RealizedMeasures` to model (``"rv"``, ``"rv_sub"``, ``"bv"``).
    cov_type
        ``"robust"`` (White) or ``"classic"`` standard errors.

    Raises
    ------
    DataError
        Non-positive RV in the log model, too few days, mismatched lengths.
    ConfigError
        Bad lags or options.
    FitError
        arch fails.
    """
    from arch.univariate import HARX

    lags = tuple(sorted(int(v) for v in lags))
    if not lags or lags[0] < 1 or len(set(lags)) != len(lags):
        raise ConfigError(f"lags must be distinct positive integers, got {lags}")
    if cov_type not in ("robust", "classic"):
        raise ConfigError(f"cov_type must be 'robust' or 'classic', got {cov_type!r}")
    if isinstance(rv, RealizedMeasures):
        daily = rv.daily
        if measure not in daily.columns:
            raise ConfigError(f"unknown measure {measure!r}")
        y_raw = daily[measure]
        if jumps is True:
            jumps = daily["jump"]
        if semivariance is True:
            semivariance = (daily["rs_pos"], daily["rs_neg"])
    else:
        y_raw = _series(rv, "rv")
        if jumps is True or semivariance is True:
            raise ConfigError("jumps=True / semivariance=True need a RealizedMeasures input")
    frame = pd.DataFrame({"y": y_raw.to_numpy(dtype=np.float64)}, index=y_raw.index)
    if jumps is not None and jumps is not False:
        j = np.asarray(jumps, dtype=np.float64)
        if j.shape[0] != len(frame):
            raise DataError(f"jumps has {j.shape[0]} values, rv has {len(frame)}", rule="length")
        frame["jump"] = j
    if semivariance is not None and semivariance is not False:
        pos, neg = (np.asarray(v, dtype=np.float64) for v in semivariance)  # type: ignore[union-attr]
        if pos.shape[0] != len(frame) or neg.shape[0] != len(frame):
            raise DataError("semivariances must have one value per day", rule="length")
        if 1 not in lags or len(lags) < 2:
            raise ConfigError("the semivariance HAR replaces the one-day lag: lags must hold 1 and another lag")
        frame["rs_pos"], frame["rs_neg"] = pos, neg
    dropped = int(frame.isna().any(axis=1).sum())
    frame = frame.dropna()
    p = max(lags)
    if len(frame) < p + 10:
        raise DataError(f"HAR with lags {lags} needs at least {p + 10} days, got {len(frame)}", rule="length")
    if log:
        bad = frame["y"].to_numpy() <= 0
        if "rs_pos" in frame:
            bad |= (frame["rs_pos"].to_numpy() <= 0) | (frame["rs_neg"].to_numpy() <= 0)
        if bad.any():
            raise DataError(
                "log HAR needs strictly positive realised (semi)variances",
                row=[int(i) for i in np.flatnonzero(bad)[:10]],
                column=measure,
                rule="nonpositive",
            )
    y = np.log(frame["y"].to_numpy()) if log else frame["y"].to_numpy()
    x_cols: dict[str, np.ndarray] = {}
    projection: dict[str, float] = {}
    history: dict[str, list[float]] = {"y": y[-p:].tolist()}
    if "jump" in frame:
        scale = float(frame["y"].mean())
        jx = np.log1p(np.maximum(frame["jump"].to_numpy(), 0.0) / scale) if log else frame["jump"].to_numpy()
        x_cols["jump"] = jx
        projection["jump"] = float(jx.mean())
        projection["jump_scale"] = scale if log else 1.0
    if "rs_pos" in frame:
        for name in ("rs_pos", "rs_neg"):
            raw = frame[name].to_numpy()
            xv = np.log(raw) if log else raw
            x_cols[name] = xv
            projection[name] = float(np.mean(xv - y)) if log else float(np.mean(raw / frame["y"].to_numpy()))
    for name, values in x_cols.items():
        history[name] = values[-p:].tolist()
    har_lags = [lag for lag in lags if not ("rs_pos" in x_cols and lag == 1)]
    y_series = pd.Series(y, name="y")
    x = None
    if x_cols:
        # arch pairs x_d with y_d: predicting y_d uses the regressors of day d - 1.
        x = pd.DataFrame({k: np.concatenate(([0.0], v[:-1])) for k, v in x_cols.items()})
    try:
        model = HARX(y_series, x=x, lags=har_lags, hold_back=p, rescale=False)
        res = model.fit(disp="off", cov_type=cov_type)
    except Exception as exc:  # arch raises several types
        raise FitError(f"arch HARX failed: {exc}", reason="arch") from exc
    names = {"Const": "const", **{f"y[0:{lag}]": f"har_{lag}" for lag in har_lags}}
    params, std_err = {}, {}
    for key, value in res.params.items():
        if key == "sigma2":
            continue
        name = names.get(str(key), str(key))
        params[name] = float(value)
        std_err[name] = float(res.std_err[key])
    if "rs_pos" in x_cols:
        params["har_1"] = 0.0  # replaced by the semivariances
        std_err["har_1"] = math.nan
    index = frame.index
    window = [str(index[0]), str(index[-1])] if not isinstance(index, pd.RangeIndex) else [0, len(frame) - 1]
    meta = {
        "data_hash": data_hash(frame["y"].to_numpy()),
        "window": window,
        "dropped_days": dropped,
        "options": {"jumps": "jump" in x_cols, "semivariance": "rs_pos" in x_cols, "measure": measure},
        "units": "y = " + ("log " if log else "") + "realised variance per session day (squared log return)",
        "versions": library_versions(),
    }
    return HARResult(
        params=params,
        std_err=std_err,
        rsquared=float(res.rsquared),
        rsquared_adj=float(res.rsquared_adj),
        sigma2=float(res.params["sigma2"]),
        nobs=int(res.nobs),
        log=bool(log),
        lags=lags,
        cov_type=cov_type,
        history=history,
        projection=projection,
        metadata=meta,
    )
