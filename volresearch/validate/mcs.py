r"""The Model Confidence Set of Hansen, Lunde and Nason (2011) over walk-forward losses, and the compare table.

:func:`model_confidence_set` runs ``arch.bootstrap.MCS`` on the per-forecast losses of several
walk-forwards scored on the same origins: the set of models not rejected as worse than the best at level
``size`` (0.10: the 90% MCS).  Settings, stated with the result: the loss (QLIKE of the variance forecast
by default, ``log v + r^2/v``; differences between models are those of the normalised QLIKE), the
``R`` (range) statistic, the stationary bootstrap with ``reps`` replications, a fixed seed and a mean
block length of ``max(ceil(n^{1/3}), ceil(horizon/step))`` forecasts (overlapping targets are serially
correlated up to that lag) unless given.

:func:`compare_table` lays out one row per model for ``volresearch compare``: ``qlike``, ``log_score``
(mean log predictive density, higher is better), ``crps``, ``coverage_95``, ``pit_ad_pvalue``,
``dm_pvalue_vs_baseline`` (two-sided Diebold-Mariano on QLIKE against the first model listed, HAC
horizon ``ceil(horizon/step)``), ``in_mcs``, ``mcs_pvalue``, ``n_fallback_windows`` (windows whose fit was
rejected), ``ewma_forecasts`` (forecasts the EWMA answered: rejected fits and runaway recursions) and
``partial_forecasts`` (ensemble forecasts made without a member whose recursion ran away there),
``breaker_forecasts`` (adaptive ensemble forecasts whose features tripped the circuit breaker: equal weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import ConfigError

__all__ = ["MCSResult", "compare_table", "model_confidence_set"]

#: Per-forecast loss columns of a walk-forward that the MCS can use (lower is better).
MCS_LOSSES = {"qlike": "qlike", "crps": "crps", "log_score": "log_score"}


@dataclass(frozen=True)
class MCSResult:
    """Models in the confidence set, every model's MCS p-value and the settings used."""

    included: tuple[str, ...]
    pvalues: Mapping[str, float]
    settings: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {"included": list(self.included), "pvalues": dict(self.pvalues), "settings": dict(self.settings)}
        )


def _losses(results: Mapping[str, Any], loss: str) -> pd.DataFrame:
    if loss not in MCS_LOSSES:
        raise ConfigError(f"unknown MCS loss {loss!r}; choose one of {', '.join(MCS_LOSSES)}")
    names = list(results)
    ref = results[names[0]].forecasts["origin_pos"].to_numpy()
    cols = {}
    for name in names:
        f = results[name].forecasts
        if not np.array_equal(f["origin_pos"].to_numpy(), ref):
            raise ConfigError(f"{name} was scored on other origins than {names[0]}")
        v = f[MCS_LOSSES[loss]].to_numpy(dtype=float)
        cols[name] = -v if loss == "log_score" else v  # a loss: lower is better
    return pd.DataFrame(cols)


def model_confidence_set(
    results: Mapping[str, Any],
    *,
    loss: str = "qlike",
    size: float = 0.10,
    reps: int = 1000,
    block_size: int | None = None,
    seed: int = 0,
) -> MCSResult:
    """The MCS at level ``size`` of walk-forward results (name -> :class:`WalkForwardResult`); module docstring.

    Raises
    ------
    ConfigError
        Fewer than two models, results on different origins, an unknown loss or a size outside (0, 1).
    """
    from arch.bootstrap import MCS

    if len(results) < 2:
        raise ConfigError("the model confidence set needs at least two models")
    if not 0.0 < size < 1.0:
        raise ConfigError(f"size must lie in (0, 1), got {size}")
    frame = _losses(results, loss)
    n = len(frame)
    first = next(iter(results.values()))
    overlap = max(1, math.ceil(first.config["horizon"] / first.config["step"]))
    block = int(block_size) if block_size is not None else max(math.ceil(n ** (1.0 / 3.0)), overlap)
    mcs = MCS(frame, size=size, reps=int(reps), block_size=block, method="R", bootstrap="stationary", seed=int(seed))
    mcs.compute()
    pv = mcs.pvalues["Pvalue"]
    included = tuple(name for name in frame.columns if name in set(mcs.included))
    settings = {
        "loss": loss,
        "size": size,
        "statistic": "R (range)",
        "bootstrap": "stationary",
        "reps": int(reps),
        "block_size": block,
        "block_rule": "given" if block_size is not None else "max(ceil(n^(1/3)), ceil(horizon/step))",
        "seed": int(seed),
        "n_forecasts": n,
    }
    return MCSResult(included=included, pvalues={k: float(pv[k]) for k in frame.columns}, settings=settings)


def compare_table(results: Mapping[str, Any], mcs: MCSResult) -> pd.DataFrame:
    """One row per model (index: name, in the order given) with the columns of the module docstring."""
    from volresearch.validate.scores import diebold_mariano

    names = list(results)
    base = results[names[0]]
    h = max(1, math.ceil(base.config["horizon"] / base.config["step"]))
    base_q = base.forecasts["qlike"].to_numpy(dtype=float)
    rows = []
    for name in names:
        res = results[name]
        m = res.metrics()
        q = res.forecasts["qlike"].to_numpy(dtype=float)
        if name == names[0] or q.size < max(3, h + 1):
            dm = math.nan
        else:
            dm = float(diebold_mariano(q, base_q, h=h).pvalue)
        rows.append(
            {
                "model": name,
                "qlike": m["qlike"],
                "log_score": m["log_score"],
                "crps": m["crps"],
                "coverage_95": m["coverage_95"],
                "pit_ad_pvalue": m["pit_ad_pvalue"],
                "dm_pvalue_vs_baseline": dm,
                "in_mcs": name in mcs.included,
                "mcs_pvalue": mcs.pvalues[name],
                "n_fallback_windows": m["n_fallback_windows"],
                "ewma_forecasts": int((res.forecasts["method"] == "ewma").sum()),
                "partial_forecasts": int((res.forecasts["method"] == "model-partial").sum()),
                "breaker_forecasts": int((res.forecasts["method"] == "model-breaker").sum()),
            }
        )
    return pd.DataFrame(rows).set_index("model")
