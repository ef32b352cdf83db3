r"""Model comparison on one walk-forward: same origins, same targets, same random numbers.

:func:`compare_models` runs :func:`~volresearch.validate.walkforward.walk_forward`
for each model with one layout and one seed (all windows of all models in one
task graph, serial or Dask) and lays the results out in one table: CRPS and
its improvement over the naive random walk, PIT uniformity, coverage at each
level, Kupiec and Christoffersen p-values of the 95% interval, QLIKE,
walk-forward efficiency, and Diebold-Mariano tests of each model against the
best one and against the naive baseline, on CRPS and on QLIKE losses.

It is the A/B test of forecasters: "is B better than A?" is answered by the
DM test of their per-forecast losses on identical targets, not by eyeballing
two means.  The loss differential :math:`d_t = L^{model}_t - L^{other}_t`
is negative on average when the model is better.  With ``h``-bar targets at
origins ``step`` bars apart, consecutive targets overlap and the differential
is serially correlated up to lag :math:`\lceil h/\mathrm{step}\rceil - 1`;
that is the HAC horizon passed to
:func:`~volresearch.validate.calibration.diebold_mariano`.

The best model is the one with the lowest mean CRPS (the proper score of the
whole predictive distribution).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import ConfigError, SimulationError
from volresearch.models import ModelSpec
from volresearch.validate.scores import diebold_mariano
from volresearch.validate.walkforward import (
    WalkForwardResult,
    _records,
    forecast_metrics,
    level_name,
    walk_forward_grid,
)

__all__ = ["ComparisonResult", "compare_models", "NAIVE"]

NAIVE = "naive"
"""Row label of the naive baseline in the comparison table."""

_LOSSES = {"crps": ("crps", "base_crps"), "qlike": ("qlike", "base_qlike")}


@dataclass(frozen=True)
class ComparisonResult:
    """Side-by-side walk-forward evaluation of several models.

    Attributes
    ----------
    table
        One row per model plus a ``naive`` row (the baseline), indexed by
        ``spec`` label: ``model``, ``dist``, ``n_forecasts``, ``crps``,
        ``crps_improvement`` (skill over the naive baseline), ``pit_ad_pvalue``,
        ``coverage_<L>`` per level, ``kupiec_pvalue_95``,
        ``christoffersen_pvalue_95`` (independence), ``christoffersen_cc_pvalue_95``,
        ``qlike``, ``efficiency``, ``dm_<loss>_vs_<best|naive>_stat`` and
        ``_pvalue`` (two-sided), ``best`` (bool) and ``rank`` (by CRPS).
    dm
        Tidy Diebold-Mariano tests: ``spec``, ``against`` (the best model's
        label or ``naive``), ``loss`` (``crps`` or ``qlike``),
        ``mean_differential`` (model minus other; negative: model better),
        ``statistic``, ``pvalue``, ``h``, ``n``.
    results
        Spec label -> :class:`~volresearch.validate.walkforward.WalkForwardResult`.
    best
        Label of the model with the lowest mean CRPS.
    """

    table: pd.DataFrame
    dm: pd.DataFrame
    results: Mapping[str, WalkForwardResult]
    best: str

    def __getitem__(self, label: str) -> WalkForwardResult:
        return self.results[label]

    @property
    def best_result(self) -> WalkForwardResult:
        """The walk-forward of the best model."""
        return self.results[self.best]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: best label, the table and DM tests as records, each model's metrics."""
        return jsonable(
            {
                "best": self.best,
                "table": _records(self.table.reset_index()),
                "dm": _records(self.dm),
                "results": {k: v.to_dict() for k, v in self.results.items()},
            }
        )

    def summary(self) -> str:
        """The table's headline columns and the verdict in plain text."""
        cols = [
            c
            for c in ("crps", "crps_improvement", "pit_ad_pvalue", "coverage_95", "kupiec_pvalue_95",
                      "christoffersen_pvalue_95", "qlike", "efficiency", "dm_crps_vs_best_pvalue",
                      "dm_crps_vs_naive_pvalue")
            if c in self.table.columns
        ]  # fmt: skip
        first = next(iter(self.results.values()))
        head = (
            f"Model comparison on {first.n_forecasts} common out-of-sample forecasts "
            f"(horizon {first.config['horizon']}, step {first.config['step']}, {first.config['n_paths']} paths): "
            f"best = {self.best}"
        )
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            return head + "\n" + self.table[cols].to_string(float_format=lambda v: f"{v:.4g}")


def _dm_horizon(result: WalkForwardResult) -> int:
    return max(1, math.ceil(result.config["horizon"] / result.config["step"]))


def _dm_row(label: str, against: str, loss: str, a: np.ndarray, b: np.ndarray, h: int) -> dict[str, Any]:
    if a.size < max(3, h + 1):
        return {"spec": label, "against": against, "loss": loss, "mean_differential": math.nan,
                "statistic": math.nan, "pvalue": math.nan, "h": h, "n": int(a.size)}  # fmt: skip
    t = diebold_mariano(a, b, h=h)
    return {
        "spec": label,
        "against": against,
        "loss": loss,
        "mean_differential": t.mean_differential,
        "statistic": t.statistic,
        "pvalue": t.pvalue,
        "h": t.h,
        "n": t.n,
    }


def _naive_row(result: WalkForwardResult) -> dict[str, Any]:
    rep = result.baseline_report
    f = result.forecasts
    row: dict[str, Any] = {
        "model": NAIVE,
        "dist": "normal",
        "n_forecasts": result.n_forecasts,
        "crps": rep.crps_mean,
        "crps_improvement": 0.0,
        "pit_ad_pvalue": rep.pit.ad_pvalue,
    }
    cov = rep.coverage
    for lv in result.levels:
        sel = np.isclose(cov["level"], lv)
        row[f"coverage_{level_name(lv)}"] = float(cov.loc[sel, "coverage"].iloc[0])
    sel95 = np.isclose(cov["level"], 0.95)
    row["kupiec_pvalue_95"] = float(cov.loc[sel95, "p_pof"].iloc[0]) if sel95.any() else math.nan
    row["christoffersen_pvalue_95"] = float(cov.loc[sel95, "p_ind"].iloc[0]) if sel95.any() else math.nan
    row["christoffersen_cc_pvalue_95"] = float(cov.loc[sel95, "p_cc"].iloc[0]) if sel95.any() else math.nan
    row["log_score"] = float(f["base_log_score"].mean())
    row["qlike"] = float(f["base_qlike"].mean())
    row["efficiency"] = math.nan
    return row


def compare_models(
    bars: pd.DataFrame | pd.Series,
    specs: Sequence[ModelSpec | str],
    *,
    label: str | None = None,
    **walk_forward_kwargs: Any,
) -> ComparisonResult:
    """Walk-forward each model on the same origins and targets and compare them.

    Parameters
    ----------
    bars
        Bars (``close`` column) or a price Series.
    specs
        Models (:class:`~volresearch.models.ModelSpec` or labels such as
        ``"gjr-sged"``); at least one, all distinct.
    label
        Name of the series in summaries.
    **walk_forward_kwargs
        Options of :func:`~volresearch.validate.walkforward.walk_forward`
        (``in_sample``, ``out_of_sample``, ``step``, ``horizon``,
        ``refit_every``, ``n_paths``, ``levels``, ``seed``, ``baseline``,
        ``client``, ``scheduler``, ``quiet`` (no progress bar of the windows) ...), shared by every model.

    Returns
    -------
    ComparisonResult
    """
    if not specs:
        raise ConfigError("specs is empty")
    name = label or "data"
    grid = walk_forward_grid({name: bars}, specs, **walk_forward_kwargs)
    results = {spec: res for (_, spec), res in grid.results.items()}
    labels = list(results)
    ref = results[labels[0]]
    ref_pos = ref.forecasts["origin_pos"].to_numpy()
    for lbl in labels[1:]:
        if not np.array_equal(results[lbl].forecasts["origin_pos"].to_numpy(), ref_pos):
            raise SimulationError(f"{lbl} was scored on other origins than {labels[0]}")
    crps = {lbl: results[lbl].crps for lbl in labels}
    best = min(labels, key=lambda k: (crps[k], labels.index(k)))
    h = _dm_horizon(ref)

    dm_rows = []
    for lbl in labels:
        f = results[lbl].forecasts
        for loss, (col, base_col) in _LOSSES.items():
            a = f[col].to_numpy()
            if lbl != best:
                dm_rows.append(_dm_row(lbl, best, loss, a, results[best].forecasts[col].to_numpy(), h))
            dm_rows.append(_dm_row(lbl, NAIVE, loss, a, f[base_col].to_numpy(), h))
    fb = results[best].forecasts
    for loss, (col, base_col) in _LOSSES.items():
        dm_rows.append(_dm_row(NAIVE, best, loss, fb[base_col].to_numpy(), fb[col].to_numpy(), h))
    dm = pd.DataFrame(dm_rows)

    rows = []
    keep = ["model", "dist", "n_forecasts", "crps", "crps_improvement", "pit_ad_pvalue"]
    for lbl in labels:
        m = forecast_metrics(results[lbl])
        row = {k: m[k] for k in keep}
        row.update({k: v for k, v in m.items() if k.startswith("coverage_") and not k.endswith("_naive")})
        row.update({k: m[k] for k in ("kupiec_pvalue_95", "christoffersen_pvalue_95", "christoffersen_cc_pvalue_95",
                                      "log_score", "qlike", "efficiency")})  # fmt: skip
        row["spec"] = lbl
        rows.append(row)
    naive = _naive_row(ref)
    naive["spec"] = NAIVE
    rows.append(naive)
    table = pd.DataFrame(rows).set_index("spec")
    for loss in _LOSSES:
        for against in ("best", NAIVE):
            sub = dm[(dm["loss"] == loss) & ((dm["against"] == NAIVE) if against == NAIVE else (dm["against"] == best))]
            sub = sub.set_index("spec")
            table[f"dm_{loss}_vs_{against}_stat"] = sub["statistic"].reindex(table.index)
            table[f"dm_{loss}_vs_{against}_pvalue"] = sub["pvalue"].reindex(table.index)
    table["best"] = table.index == best
    table["rank"] = table["crps"].rank(method="min").astype(int)
    return ComparisonResult(table=table, dm=dm, results=results, best=best)
