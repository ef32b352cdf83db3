r"""The ensemble as a registered model: members fitted on one window, pooled with in-sample weights.

``fit_model("ensemble-log-score", bars)`` fits every member (registry names, default
:data:`DEFAULT_MEMBERS`) on the same bars, computes each member's one-bar predictive law over the
sample (:func:`volresearch.predictive.one_step_predictive`) and sets the weights by one rule of
:mod:`volresearch.ensembles.combine` on those in-sample forecasts:

* ``equal``: ``1/k``;
* ``inverse-qlike``: inverse mean normalised QLIKE of the members' variances against ``r^2``
  (returns exactly zero left out: QLIKE is infinite there);
* ``variance-regression``: ``r^2`` regressed on the members' variances, weights on the simplex;
* ``log-score``: the optimal linear pool of the members' exact predictive densities (default).

Every weight uses only the fit window's bars (the walk-forward refits them per window: no look-ahead).
A member whose fit is rejected is left out and named in ``rejected`` (at least :data:`MIN_MEMBERS`
must answer).

Paths (kernel ``"ensemble"``): the pool is sampled by stratified allocation, ``n_j`` paths from
member ``j`` with ``n_j`` the largest-remainder rounding of ``w_j n``, each member with its own seed
``SeedSequence([seed, j])`` and its own state; the first ``n_sample_paths`` columns (the sample paths a fan
shows) interleave the members in proportion, the others follow member by member.  The ensemble's one-bar variance is the pool's (law of total
variance over the members' next-bar means and variances).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.ensembles.combine import (
    effective_members,
    equal_weights,
    inverse_loss_weights,
    log_score_weights,
    mixture_moments,
    pool_log_density,
    variance_regression_weights,
)
from volresearch.errors import ConfigError, FitError, SimulationError

__all__ = [
    "DEFAULT_MEMBERS",
    "MIN_MEMBERS",
    "SCHEMES",
    "EnsembleResult",
    "allocate_paths",
    "fit_ensemble",
    "in_sample_weights",
]

#: Members of the default ensemble (daily bars): two GARCH recursions with fat tails and leverage, the plain
#: benchmark, and Heston's stochastic volatility.
DEFAULT_MEMBERS = ("garch-normal", "gjr-skewt", "egarch-t", "heston")
#: Weight rules (see the module docstring).
SCHEMES = ("equal", "inverse-qlike", "variance-regression", "log-score")
#: Fewest members that must fit for an ensemble.
MIN_MEMBERS = 2


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
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    if len(common) < 20:
        raise FitError(f"the members share only {len(common)} in-sample returns", reason="length")
    r = frames[0].loc[common, "r"].to_numpy()
    var = np.column_stack([f.loc[common, "var"].to_numpy() for f in frames])
    logd = np.column_stack([f.loc[common, "log_density"].to_numpy() for f in frames])
    nz = r != 0.0
    ql = np.column_stack([qlike(var[nz, j], r[nz] ** 2, normalized=True) for j in range(var.shape[1])])
    if scheme == "equal":
        w = equal_weights(len(frames))
    elif scheme == "inverse-qlike":
        w = inverse_loss_weights(ql)
    elif scheme == "variance-regression":
        w = variance_regression_weights(var, r**2)
    else:
        w = log_score_weights(logd)
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
        Bars, window, versions.
    """

    members: tuple[Any, ...]
    names: tuple[str, ...]
    weights: tuple[float, ...]
    scheme: str
    in_sample: Mapping[str, Any] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

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

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end``, the members' states (``members``) and the pool's ``next_variance``."""
        states = [m.filter_state() for m in self.members]
        return self.pooled_state(states)

    def pooled_state(self, states: Sequence[Mapping[str, Any]], active: Sequence[bool] | None = None) -> dict[str, Any]:
        """The ensemble state made of the members' states: the pool's next-bar variance included.

        ``active`` marks the members that can forecast here (default: all); the others are left out and the
        weights renormalised over the rest (``active`` and ``left_out`` are kept in the state).

        Raises
        ------
        SimulationError
            No member with a positive weight is active.
        """
        act = np.ones(len(self.members), dtype=bool) if active is None else np.asarray(active, dtype=bool)
        w = np.asarray(self.weights) * act
        if not w.sum() > 0:
            raise SimulationError("no ensemble member with a positive weight can forecast here")
        w = w / w.sum()
        idx = np.flatnonzero(act)
        means = [float(m.params.get("mu", 0.0)) if hasattr(m, "spec") else 0.0 for m in self.members]
        var = [float(s["next_variance"]) for s in states]
        _, pooled = mixture_moments([means[i] for i in idx], [var[i] for i in idx], w[idx])
        first = states[0]
        return {"last_price": first["last_price"], "end": first.get("end"), "next_variance": float(pooled[0]),
                "members": [dict(s) for s in states], "active": act.tolist(),
                "left_out": [n for n, a in zip(self.names, act, strict=True) if not a]}  # fmt: skip

    # ----------------------------------------------------------- presentation
    def summary(self) -> str:
        n = int(self.in_sample.get("n", 0))
        lines = [f"Ensemble ({self.scheme} weights on {n} in-sample returns), effective members "
                 f"{self.effective_members:.2f} of {len(self.names)}"]  # fmt: skip
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
        )


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
    for name in names:
        try:
            res = fit_model(name, bars, **_member_options(name, resolved_mean, calendar, horizon))
            frames.append(one_step_predictive(res, bars))
        except (FitError, ConfigError) as exc:
            rejected[name] = str(exc)
            continue
        fitted.append(res)
        kept.append(name)
    if len(fitted) < MIN_MEMBERS:
        why = "; ".join(f"{n}: {r}" for n, r in rejected.items())
        raise FitError(f"only {len(fitted)} ensemble member(s) could be fitted ({why})", reason="members")
    w, stats = in_sample_weights(frames, scheme)
    index = getattr(bars, "index", None)
    meta = {"n_bars": len(bars), "members_asked": names, "mean": resolved_mean}
    if isinstance(index, pd.DatetimeIndex) and len(index):
        meta.update(start=str(index[0]), end=str(index[-1]))
    return EnsembleResult(
        members=tuple(fitted),
        names=tuple(kept),
        weights=tuple(w),
        scheme=scheme,
        in_sample={
            "log_score": stats["log_score"].tolist(),
            "qlike": stats["qlike"].tolist(),
            "pool_log_score": float(stats["pool_log_score"][0]),
            "n": int(stats["n"][0]),
        },
        rejected=rejected,
        meta=meta,
    )


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
    w = np.asarray(result.weights)
    if state.get("active") is not None:  # members that ran away here are left out, the rest renormalised
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
    logp = np.hstack(blocks)
    # the first columns (the sample paths a fan shows) interleave the members in proportion: swap them in
    # rather than permute the whole matrix (quantiles and moments do not depend on the column order)
    front = np.argsort(np.concatenate(slots), kind="stable")[: min(n_sample, logp.shape[1])]
    order = np.arange(logp.shape[1])
    for i, j in enumerate(front):
        k = int(np.flatnonzero(order == j)[0])
        order[i], order[k] = order[k], order[i]
    head = np.flatnonzero(order != np.arange(order.size))
    if head.size:
        logp[:, head] = logp[:, order[head]]
    meta = {"model": result.model, "weights": w.tolist(), "names": list(result.names), "seed": seed_int,
            "paths_per_member": counts.tolist()}  # fmt: skip
    first = member_states[0]
    return paths_surface(
        logp, mode=mode, start=first.get("end") if start is None else start,
        bar_seconds=result.bar_seconds, calendar=result.calendar if calendar is None else calendar, meta=meta,
        quantiles=quantiles, n_sample_paths=n_sample,
    )  # fmt: skip
