r"""The ensemble as a registered model: members fitted on one window, pooled with in-sample weights.

``fit_model("ensemble-log-score", bars)`` fits every member (registry names, default
:data:`DEFAULT_MEMBERS`) on the same bars, computes each member's one-bar predictive law over the
sample (:func:`volresearch.predictive.one_step_predictive`) and sets the weights by one rule of
:mod:`volresearch.ensembles.combine` on those in-sample forecasts:

* ``equal``: ``1/k``;
* ``inverse-qlike``: inverse mean normalised QLIKE of the members' variances against ``r^2``
  (returns exactly zero left out: QLIKE is infinite there);
* ``variance-regression``: ``r^2`` regressed on the members' variances, weights on the simplex;
* ``log-score``: the optimal linear pool of the members' exact predictive densities (default);
* ``sharpe``: the positive part of the Sharpe ratio of a volatility-targeting long position sized by each
  member's variance forecasts (:func:`~volresearch.ensembles.combine.vol_target_returns`);
* ``directional``: the positive part of each member's sign hit rate minus one half;
* ``adaptive``: weights that move with the state of the market, ``softmax(B z + b)`` of the standardised
  meta-features ``z`` of the return history (:mod:`volresearch.ensembles.features`), the gate trained on the
  pool's in-sample log score with entropy and correlation penalties (:mod:`volresearch.ensembles.stacking`).
  Its :attr:`EnsembleResult.weights` are those of the next forecast; every state (``filter_state``, the
  walk-forward's origins) computes its own from the returns up to it (the result keeps the last
  :data:`~volresearch.ensembles.features.FEATURE_MEMORY` returns for that).  Before
  :data:`~volresearch.ensembles.features.REGIME_WINDOW` returns of history the features are undefined and the
  gate answers its baseline ``softmax(b)``; features out of range trip the circuit breaker (equal weights).

Every weight uses only the fit window's bars (the walk-forward refits them per window: no look-ahead).
A member whose fit is rejected is left out and named in ``rejected`` (at least :data:`MIN_MEMBERS`
must answer).

Paths (kernel ``"ensemble"``): the pool is sampled by stratified allocation, ``n_j`` paths from
member ``j`` with ``n_j`` the largest-remainder rounding of ``w_j n``, each member with its own seed
``SeedSequence([seed, j])`` and its own state; the first ``n_sample_paths`` columns (the sample paths a fan
shows) interleave the members in proportion, the others follow member by member.  In ``bands`` mode the members'
path matrices are never joined: the pool's quantiles and moments are taken over blocks of steps.  The ensemble's one-bar variance is the pool's (law of total
variance over the members' next-bar means and variances).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from volresearch._util import jsonable
from volresearch.ensembles.combine import (
    directional_weights,
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    mixture_moments,
    pool_log_density,
    sharpe_weights,
    variance_regression_weights,
    vol_target_returns,
)
from volresearch.ensembles.features import FEATURE_MEMORY, FEATURES, FeatureScaler, meta_features
from volresearch.ensembles.stacking import Gate, fit_gate
from volresearch.errors import ConfigError, DataError, FitError, SimulationError

__all__ = [
    "DEFAULT_MEMBERS",
    "MIN_MEMBERS",
    "SCHEMES",
    "EnsembleResult",
    "allocate_paths",
    "fit_ensemble",
    "history_features",
    "in_sample_weights",
    "weight_path",
]

#: Members of the default ensemble (daily bars): two GARCH recursions with fat tails and leverage, the plain
#: benchmark, Heston's stochastic volatility and the HAR of the daily range (the one member that sees the
#: high-low range; left out, with its reason, for bars without OHLC or shorter than a day).
DEFAULT_MEMBERS = ("garch-normal", "gjr-skewt", "egarch-t", "heston", "har-range")
#: Weight rules (see the module docstring).
SCHEMES = ("equal", "inverse-qlike", "variance-regression", "log-score", "sharpe", "directional", "adaptive")
#: Fewest members that must fit for an ensemble.
MIN_MEMBERS = 2
#: Fewest in-sample forecasts with defined meta-features that an adaptive gate is trained on.
MIN_GATE_ROWS = 200


def _log_returns(bars: Any) -> pd.Series:
    """Finite log returns of the closes, indexed by the time of the bar each ends."""
    close = bars["close"] if isinstance(bars, pd.DataFrame) else pd.Series(bars)
    r = np.log(close.astype(float)).diff().iloc[1:]
    return r[np.isfinite(r.to_numpy())]


def history_features(returns: pd.Series) -> pd.DataFrame:
    """Meta-features known *before* each return (row ``t`` from the returns before ``t``), columns
    :data:`~volresearch.ensembles.features.FEATURES`; NaN during the warm-up."""
    f = meta_features(returns.to_numpy(dtype=float))
    return pd.DataFrame(f, index=returns.index, columns=list(FEATURES)).shift(1)


def allocate_paths(weights: Sequence[float], n_paths: int) -> np.ndarray:
    """Paths per member: the largest-remainder rounding of ``w_j n_paths`` (sums to ``n_paths``)."""
    w = np.asarray(weights, dtype=float)
    raw = w * int(n_paths)
    n = np.floor(raw).astype(np.int64)
    short = int(n_paths) - int(n.sum())
    if short > 0:
        n[np.argsort(-(raw - n), kind="stable")[:short]] += 1
    return n


def in_sample_weights(frames: Sequence[pd.DataFrame], scheme: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weights of ``scheme`` from the members' one-step predictive frames (aligned on their common times).

    Returns the weights and the members' in-sample mean log score, mean normalised QLIKE and the pool's mean
    log score under those weights (``"log_score"``, ``"qlike"``, ``"pool_log_score"``).
    """
    from volresearch.validate.scores import qlike

    if scheme not in SCHEMES:
        raise ConfigError(f"unknown ensemble weighting {scheme!r}; choose one of {', '.join(SCHEMES)}")
    common, r, var, logd = _stack(frames)
    if len(common) < 20:
        raise FitError(f"the members share only {len(common)} in-sample returns", reason="length")
    nz = r != 0.0
    ql = np.column_stack([qlike(var[nz, j], r[nz] ** 2, normalized=True) for j in range(var.shape[1])])
    if scheme == "equal":
        w = equal_weights(len(frames))
    elif scheme == "inverse-qlike":
        w = inverse_loss_weights(ql)
    elif scheme == "variance-regression":
        w = variance_regression_weights(var, r**2)
    elif scheme == "log-score":
        w = log_score_weights(logd)
    elif scheme == "sharpe":
        w = sharpe_weights(vol_target_returns(r, var))
    elif scheme == "directional":
        w = directional_weights(np.column_stack([f.loc[common, "mean"].to_numpy() for f in frames]), r)
    else:
        raise ConfigError("adaptive weights depend on the features of each forecast: use fit_ensemble")
    stats = {
        "log_score": logd.mean(axis=0),
        "qlike": ql.mean(axis=0),
        "pool_log_score": np.array([float(np.mean(pool_log_density(logd, w)))]),
        "n": np.array([len(common)]),
    }
    return w, stats


@dataclass(frozen=True)
class EnsembleResult:
    """Immutable fitted ensemble: members (registry results), their names and weights, the rule and its inputs.

    Attributes
    ----------
    members, names
        Fitted member results and their registry names (same order).
    weights
        Pool weights on the simplex (dimensionless), as :attr:`params` ``w_<name>``.
    scheme
        Weight rule (:data:`SCHEMES`).
    in_sample
        Per member: mean in-sample log score (per return) and normalised QLIKE; the pool's mean log score;
        the number of returns (JSON-safe).
    rejected
        Members asked for whose fit was rejected, with the reason.
    meta
        Bars, the weights' training window (``start``, ``end``), the data hash of the closes, library versions.
    gate, scaler, recent_returns
        Adaptive ensembles only: the fitted :class:`~volresearch.ensembles.stacking.Gate`, the training window's
        :class:`~volresearch.ensembles.features.FeatureScaler` and the last
        :data:`~volresearch.ensembles.features.FEATURE_MEMORY` log returns of the sample (their features give
        the weights at later bars).  ``weights`` are then those of the next forecast.
    """

    members: tuple[Any, ...]
    names: tuple[str, ...]
    weights: tuple[float, ...]
    scheme: str
    in_sample: Mapping[str, Any] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    gate: Gate | None = None
    scaler: FeatureScaler | None = None
    recent_returns: tuple[float, ...] = ()

    KIND: ClassVar[str] = "volresearch.EnsembleResult"
    kernel: ClassVar[str] = "ensemble"
    dist: ClassVar[str] = "mixture"
    table_component: ClassVar[str] = "pool weight"

    def __post_init__(self) -> None:
        if len(self.members) != len(self.names) or len(self.names) != len(self.weights):
            raise ConfigError("an ensemble needs one name and one weight per member")
        w = np.asarray(self.weights, dtype=float)
        if np.any(w < 0) or not math.isclose(float(w.sum()), 1.0, abs_tol=1e-9):
            raise ConfigError(f"ensemble weights must be non-negative and sum to one, got {w.tolist()}")
        object.__setattr__(self, "weights", tuple(float(x) for x in w))
        object.__setattr__(self, "in_sample", dict(self.in_sample))
        object.__setattr__(self, "rejected", dict(self.rejected))
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "recent_returns", tuple(float(x) for x in self.recent_returns))
        if (self.gate is None) != (self.scaler is None) or (self.gate is not None and self.gate.n_members != len(w)):
            raise ConfigError("an adaptive ensemble needs a gate with one output per member and its feature scaler")

    # ----------------------------------------------------------- model interface
    @property
    def model(self) -> str:
        """Registry name, ``ensemble-<scheme>``."""
        return f"ensemble-{self.scheme}"

    @property
    def bar_seconds(self) -> float:
        return float(self.members[0].bar_seconds)

    @property
    def calendar(self) -> str | None:
        return self.members[0].calendar

    @property
    def params(self) -> dict[str, float]:
        """Weights by member, ``w_<name>``."""
        return {f"w_{n}": w for n, w in zip(self.names, self.weights, strict=True)}

    @property
    def std_errors(self) -> dict[str, float]:
        return {k: math.nan for k in self.params}

    @property
    def units(self) -> dict[str, str]:
        return {k: "pool weight (dimensionless)" for k in self.params}

    @property
    def flags(self) -> tuple[str, ...]:
        out = [f"{n}: {f}" for n, m in zip(self.names, self.members, strict=True) for f in getattr(m, "flags", ())]
        out += [f"member {n} left out: {why}" for n, why in self.rejected.items()]
        return tuple(out)

    @property
    def last_price(self) -> float:
        return float(self.members[0].filter_state()["last_price"])

    @property
    def effective_members(self) -> float:
        """``1 / sum w^2``."""
        return effective_members(self.weights)

    def simulation_params(self) -> dict[str, Any]:
        """The weights and the members' names (each member simulates itself)."""
        return {"weights": np.asarray(self.weights), "names": list(self.names)}

    def member_means(self, states: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
        """The members' next-bar mean log returns (per bar): each member state's ``next_mean`` where it has one,
        else the member's constant mean ``mu`` (0 for driftless members)."""
        sts = states if states is not None else [m.filter_state() for m in self.members]
        out = []
        for m, st in zip(self.members, sts, strict=True):
            mean = st.get("next_mean") if isinstance(st, Mapping) else None
            if mean is None:
                mean = getattr(m, "params", {}).get("mu", 0.0) if hasattr(m, "spec") else 0.0
            out.append(float(mean))
        return np.asarray(out)

    def features_after(self, returns: ArrayLike) -> np.ndarray:
        """Standardised meta-features at the end of the sample and after each of ``returns`` (log returns after
        the sample's last bar): shape ``(len(returns) + 1, d)``; rows without enough history are 0 (the gate's
        baseline).

        Raises
        ------
        ConfigError
            The ensemble is not adaptive.
        """
        if self.gate is None or self.scaler is None:
            raise ConfigError(f"{self.model} has fixed weights; only adaptive ensembles have features")
        past = np.asarray(self.recent_returns, dtype=float)
        new = np.asarray(returns, dtype=float).ravel()
        f = meta_features(np.concatenate([past, new]))[max(past.size - 1, 0) :]
        if past.size == 0:
            f = np.vstack([np.full((1, f.shape[1]), np.nan), f])
        z = self.scaler.transform(f)
        z[np.any(np.isnan(f), axis=1)] = 0.0
        return z

    def weights_at(self, z: ArrayLike | None = None, *, warn: bool = True) -> tuple[np.ndarray, bool]:
        """The pool's weights given standardised features ``z`` (adaptive) and whether the circuit breaker fired
        (logged unless ``warn=False``); fixed-weight ensembles return :attr:`weights`."""
        if self.gate is None or z is None:
            return np.asarray(self.weights), False
        w, fired = self.gate.weights(z, warn=warn)
        return w[0], bool(fired[0])

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end``, the members' states (``members``), the weights of the next forecast and the
        pool's ``next_variance``."""
        states = [m.filter_state() for m in self.members]
        z = self.features_after([])[-1] if self.gate is not None else None
        return self.pooled_state(states, z=z)

    def pooled_state(
        self,
        states: Sequence[Mapping[str, Any]],
        active: Sequence[bool] | None = None,
        z: ArrayLike | None = None,
        *,
        warn: bool = True,
    ) -> dict[str, Any]:
        """The ensemble state made of the members' states: the weights and the pool's next-bar variance included.

        ``z`` are the standardised features at this state (adaptive ensembles; default: the fitted
        :attr:`weights`).  ``active`` marks the members that can forecast here (default: all); the others are
        left out and the weights renormalised over the rest (``active``, ``left_out``, ``weights`` and
        ``breaker``, whether the circuit breaker fired, are kept in the state).

        Raises
        ------
        SimulationError
            No member with a positive weight is active.
        """
        act = np.ones(len(self.members), dtype=bool) if active is None else np.asarray(active, dtype=bool)
        base, fired = self.weights_at(z, warn=warn)
        w = base * act
        if not w.sum() > 0:
            raise SimulationError("no ensemble member with a positive weight can forecast here")
        w = w / w.sum()
        idx = np.flatnonzero(act)
        means = self.member_means(states)
        var = [float(s["next_variance"]) for s in states]
        _, pooled = mixture_moments(means[idx], [var[i] for i in idx], w[idx])
        first = states[0]
        return {"last_price": first["last_price"], "end": first.get("end"), "next_variance": float(pooled[0]),
                "members": [dict(s) for s in states], "active": act.tolist(), "weights": w.tolist(),
                "breaker": fired, "left_out": [n for n, a in zip(self.names, act, strict=True) if not a]}  # fmt: skip

    # ----------------------------------------------------------- presentation
    def summary(self) -> str:
        n = int(self.in_sample.get("n", 0))
        lines = [f"Ensemble ({self.scheme} weights on {n} in-sample returns), effective members "
                 f"{self.effective_members:.2f} of {len(self.names)}"]  # fmt: skip
        if self.gate is not None:
            lines.append(f"weights of the next forecast from the gate on {', '.join(FEATURES)} (entropy "
                         f"{self.gate.entropy:g}, correlation {self.gate.correlation:g}); in sample the effective "
                         f"members ran from {float(self.in_sample.get('min_effective_members', math.nan)):.2f}, "
                         f"mean {float(self.in_sample.get('mean_effective_members', math.nan)):.2f}")  # fmt: skip
        ls = self.in_sample.get("log_score", [math.nan] * len(self.names))
        ql = self.in_sample.get("qlike", [math.nan] * len(self.names))
        lines.append(f"{'member':<16}{'weight':>9}{'log score':>12}{'QLIKE':>9}")
        for name, w, a, b in zip(self.names, self.weights, ls, ql, strict=True):
            lines.append(f"{name:<16}{w:>9.4f}{a:>12.5f}{b:>9.4f}")
        lines.append(f"pool mean log score {float(self.in_sample.get('pool_log_score', math.nan)):.5f}")
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (members by their own ``to_dict``)."""
        return jsonable(
            {
                "kind": self.KIND,
                "model": self.model,
                "scheme": self.scheme,
                "names": list(self.names),
                "weights": list(self.weights),
                "params": self.params,
                "units": self.units,
                "members": [m.to_dict() for m in self.members],
                "in_sample": dict(self.in_sample),
                "rejected": dict(self.rejected),
                "flags": list(self.flags),
                "meta": dict(self.meta),
                "gate": None if self.gate is None else self.gate.to_dict(),
                "scaler": None if self.scaler is None else self.scaler.to_dict(),
                "recent_returns": list(self.recent_returns),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EnsembleResult:
        """Inverse of :meth:`to_dict`."""
        from volresearch.registry import load_result

        return cls(
            members=tuple(load_result(m) for m in d["members"]),
            names=tuple(d["names"]),
            weights=tuple(float(w) for w in d["weights"]),
            scheme=str(d["scheme"]),
            in_sample=dict(d.get("in_sample", {})),
            rejected=dict(d.get("rejected", {})),
            meta=dict(d.get("meta", {})),
            gate=None if d.get("gate") is None else Gate.from_dict(d["gate"]),
            scaler=None if d.get("scaler") is None else FeatureScaler.from_dict(d["scaler"]),
            recent_returns=tuple(float(x) for x in d.get("recent_returns", ())),
        )


def _intraday(bars: Any) -> bool:
    """Whether the bars are shorter than a day (their median spacing)."""
    from volresearch.data.calendar import infer_bar_seconds

    index = getattr(bars, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return False
    step = infer_bar_seconds(index)
    return step is not None and step < 86_400


def _member_options(name: str, mean: str, calendar: str | None, horizon: int | None) -> dict[str, Any]:
    from volresearch.registry import get_model

    family = get_model(name).family
    if family == "garch":
        return {"mean": mean, **({"horizon": horizon} if horizon is not None else {})}
    return {"calendar": calendar} if calendar is not None else {}


def fit_ensemble(
    bars: Any,
    *,
    scheme: str = "log-score",
    members: Sequence[str] = DEFAULT_MEMBERS,
    mean: str = "auto",
    calendar: str | None = None,
    horizon: int | None = None,
) -> EnsembleResult:
    """Fit every member on ``bars`` and weight them by ``scheme`` on their in-sample one-step forecasts.

    Raises
    ------
    ConfigError
        Unknown scheme or member name, or fewer than two members asked for.
    FitError
        Fewer than :data:`MIN_MEMBERS` members could be fitted (the reasons are named).
    """
    from volresearch.models.returns import default_mean
    from volresearch.predictive import one_step_predictive
    from volresearch.registry import fit_model, get_model

    if scheme not in SCHEMES:
        raise ConfigError(f"unknown ensemble weighting {scheme!r}; choose one of {', '.join(SCHEMES)}")
    names = [get_model(n).name for n in members]
    if len(set(names)) < MIN_MEMBERS:
        raise ConfigError(f"an ensemble needs at least {MIN_MEMBERS} different members, got {names}")
    resolved_mean = default_mean(bars, mean)
    fitted, frames, kept, rejected = [], [], [], {}
    intraday = _intraday(bars)
    for name in names:
        entry = get_model(name)
        if not (entry.intraday if intraday else entry.daily):
            rejected[name] = f"{name} suits {'daily' if intraday else 'intraday'} bars only"
            continue
        try:
            res = fit_model(name, bars, **_member_options(name, resolved_mean, calendar, horizon))
            frames.append(one_step_predictive(res, bars))
        except (FitError, ConfigError, DataError) as exc:
            rejected[name] = str(exc)
            continue
        fitted.append(res)
        kept.append(name)
    if len(fitted) < MIN_MEMBERS:
        why = "; ".join(f"{n}: {r}" for n, r in rejected.items())
        raise FitError(f"only {len(fitted)} ensemble member(s) could be fitted ({why})", reason="members")
    gate = scaler = None
    returns = _log_returns(bars)
    if scheme == "adaptive":
        gate, scaler, w, stats = _fit_adaptive(frames, returns)
    else:
        w, stats = in_sample_weights(frames, scheme)
    index = getattr(bars, "index", None)
    from volresearch.models.realized import library_versions
    from volresearch.models.returns import data_hash, prices_from

    meta = {"n_bars": len(bars), "members_asked": names, "mean": resolved_mean, "versions": library_versions(),
            "data_hash": data_hash(prices_from(bars).to_numpy(dtype=np.float64))}  # fmt: skip
    if isinstance(index, pd.DatetimeIndex) and len(index):
        meta.update(start=str(index[0]), end=str(index[-1]))
    return EnsembleResult(
        members=tuple(fitted),
        names=tuple(kept),
        weights=tuple(w),
        scheme=scheme,
        in_sample={
            k: (v.tolist() if k in ("log_score", "qlike") else v.item() if v.size == 1 else v.tolist())
            for k, v in stats.items()
        },  # fmt: skip
        rejected=rejected,
        meta=meta,
        gate=gate,
        scaler=scaler,
        recent_returns=tuple(returns.to_numpy()[-FEATURE_MEMORY:]) if gate is not None else (),
    )


def _stack(frames: Sequence[pd.DataFrame]) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Common times, returns, variances and log densities of the members' one-step frames."""
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    r = frames[0].loc[common, "r"].to_numpy()
    var = np.column_stack([f.loc[common, "var"].to_numpy() for f in frames])
    logd = np.column_stack([f.loc[common, "log_density"].to_numpy() for f in frames])
    return common, r, var, logd


def _fit_adaptive(
    frames: Sequence[pd.DataFrame], returns: pd.Series
) -> tuple[Gate, FeatureScaler, np.ndarray, dict[str, np.ndarray]]:
    """Gate, scaler, next-forecast weights and in-sample statistics of an adaptive ensemble."""
    from volresearch.validate.scores import qlike

    common, r, var, logd = _stack(frames)
    x = history_features(returns).reindex(common).to_numpy()
    ok = np.all(np.isfinite(x), axis=1)
    if ok.sum() < MIN_GATE_ROWS:
        raise FitError(
            f"an adaptive ensemble trains its gate on forecasts with a full feature history; {int(ok.sum())} of "
            f"{len(common)} have one (need {MIN_GATE_ROWS}: fit on at least {MIN_GATE_ROWS + 251} bars)",
            reason="length",
        )
    scaler = FeatureScaler.fit(x[ok])
    gate = fit_gate(scaler.transform(x[ok]), logd[ok])
    z = scaler.transform(x)
    z[~ok] = 0.0
    w_path, _ = gate.weights(z)
    eff = 1.0 / np.sum(w_path * w_path, axis=1)
    nz = r != 0.0
    ql = np.column_stack([qlike(var[nz, j], r[nz] ** 2, normalized=True) for j in range(var.shape[1])])
    past = returns.to_numpy()[-FEATURE_MEMORY:]
    z_next = scaler.transform(meta_features(past)[-1:])
    z_next[np.isnan(z_next)] = 0.0
    w_next = gate.weights(z_next)[0][0]
    stats = {
        "log_score": logd.mean(axis=0),
        "qlike": ql.mean(axis=0),
        "pool_log_score": np.array([float(np.mean(pool_log_density(logd, w_path)))]),
        "n": np.array([len(common)]),
        "gate_rows": np.array([int(ok.sum())]),
        "min_effective_members": np.array([float(eff[ok].min())]),
        "mean_effective_members": np.array([float(eff[ok].mean())]),
    }
    return gate, scaler, w_next / w_next.sum(), stats


def weight_path(result: EnsembleResult, bars: Any) -> pd.DataFrame:
    """The pool's weights of each in-sample forecast (columns: member names; index: time of the return).

    Fixed-weight ensembles repeat :attr:`EnsembleResult.weights`; adaptive ones apply the gate to the features
    known before each return (the gate's baseline where the history is too short).
    """
    returns = _log_returns(bars)
    if result.gate is None or result.scaler is None:
        w = np.tile(np.asarray(result.weights), (len(returns), 1))
    else:
        x = history_features(returns).to_numpy()
        z = result.scaler.transform(x)
        z[np.any(np.isnan(x), axis=1)] = 0.0
        w, _ = result.gate.weights(z)
    return pd.DataFrame(w, index=returns.index, columns=list(result.names))


def simulate_ensemble(result: EnsembleResult, n_paths: int, horizon: int, seed: Any, **options: Any) -> Any:
    """Paths of the pool (module docstring); ``options`` as :func:`volresearch.registry.simulate_model` passes."""
    from volresearch.registry import _seed, simulate_model
    from volresearch.simulate.kernels.heston import paths_surface

    start = options.pop("start", None)
    calendar = options.pop("calendar", None)
    mode = options.pop("mode", "bands")
    state = dict(options.pop("state", None) or {})
    quantiles = options.pop("quantiles", None)
    n_sample = int(options.pop("n_sample_paths", 20))
    price = options.pop("last_price", state.get("last_price"))
    seed_int = _seed(seed)
    if state.get("weights") is not None:  # the state's own: adaptive, or members that ran away left out
        w = np.asarray(state["weights"], dtype=float)
    else:
        w = np.asarray(result.weights)
        if state.get("active") is not None:
            w = w * np.asarray(state["active"], dtype=bool)
        w = w / w.sum()
    counts = allocate_paths(w, int(n_paths))
    member_states = state.get("members") or [m.filter_state() for m in result.members]
    blocks, slots = [], []
    for j, (member, n_j) in enumerate(zip(result.members, counts, strict=True)):
        if n_j == 0:
            continue
        st = dict(member_states[j])
        if price is not None:
            st["last_price"] = float(price)
        if "end" in state and state["end"] is not None:
            st["end"] = state["end"]
        sub_seed = int(np.random.SeedSequence([seed_int, j]).generate_state(1, np.uint64)[0] >> np.uint64(1))
        paths = simulate_model(member, int(n_j), horizon, sub_seed, start=start, calendar=calendar, mode="matrix",
                               state=st)  # fmt: skip
        blocks.append(np.asarray(paths.log_prices, dtype=np.float64))
        slots.append((np.arange(n_j) + 0.5) / n_j)
    # the first columns (the sample paths a fan shows) interleave the members in proportion
    offsets = np.cumsum([0] + [b.shape[1] for b in blocks])
    front = np.argsort(np.concatenate(slots), kind="stable")[: min(n_sample, int(offsets[-1]))]
    member_of = np.searchsorted(offsets, front, side="right") - 1
    pairs = [(int(b), int(j - offsets[b])) for b, j in zip(member_of, front, strict=True)]
    if mode == "matrix":  # swap the sample columns to the front (quantiles and moments ignore the order)
        logp = np.hstack(blocks)
        order = np.arange(logp.shape[1])
        for i, j in enumerate(front):
            k = int(np.flatnonzero(order == j)[0])
            order[i], order[k] = order[k], order[i]
        head = np.flatnonzero(order != np.arange(order.size))
        if head.size:
            logp[:, head] = logp[:, order[head]]
        blocks, pairs = [logp], None
    meta = {"model": result.model, "weights": w.tolist(), "names": list(result.names), "seed": seed_int,
            "paths_per_member": counts.tolist()}  # fmt: skip
    first = member_states[0]
    return paths_surface(
        blocks, mode=mode, start=first.get("end") if start is None else start,
        bar_seconds=result.bar_seconds, calendar=result.calendar if calendar is None else calendar, meta=meta,
        quantiles=quantiles, n_sample_paths=n_sample, sample_columns=pairs,
    )  # fmt: skip
