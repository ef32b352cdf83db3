r"""Stress tests of ensembles: historical crises replayed and synthetic shocks, without leakage.

:func:`stress_test` fits every model once on the ``train`` bars that end *before* the stress period and then
forecasts each day of the period one bar ahead from the state at its origin (states rolled forward with the
parameters, the gate and the weights fixed: nothing of the period is used to fit anything that is then judged
on it).  It reports, per model, the calibration of those forecasts (95% coverage, PIT Anderson-Darling p,
mean log score, CRPS, QLIKE against the squared return) and how often the circuit breaker of an adaptive
ensemble fired, and per ensemble the weights of each forecast of the period next to the weights of the last
in-sample forecasts (how the pool moved when the crisis came).

:data:`CRISES` names the historical episodes; :func:`available_crises` those the bars cover with enough
history before them.  :func:`shocked_bars` makes a synthetic shock: from a chosen bar on, the log returns (and
the bars' ranges about their closes) are scaled by a factor for a number of bars, optionally after a one-bar
crash of a given log return.

Units: log returns per bar; weights dimensionless.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from volresearch._util import jsonable
from volresearch.errors import ConfigError, DataError

__all__ = ["CRISES", "StressResult", "available_crises", "shocked_bars", "stress_test"]

#: Historical stress periods (UTC dates, inclusive): the global financial crisis from Lehman's failure to the
#: March 2009 low and its aftermath, and the 2020 pandemic crash.
CRISES: dict[str, tuple[str, str]] = {
    "gfc-2008": ("2008-09-01", "2009-06-30"),
    "covid-2020": ("2020-02-18", "2020-06-30"),
}


def available_crises(bars: pd.DataFrame, train: int = 1000) -> list[str]:
    """Names of :data:`CRISES` that ``bars`` cover entirely with at least ``train + 1`` bars before them."""
    idx = pd.DatetimeIndex(bars.index)
    out = []
    for name, (start, end) in CRISES.items():
        s, e = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
        if len(idx) and idx[-1] >= e and int(np.searchsorted(idx.asi8, s.value)) > train:
            out.append(name)
    return out


def shocked_bars(
    bars: pd.DataFrame, at: Any, *, factor: float = 4.0, bars_long: int = 20, crash: float | None = None
) -> pd.DataFrame:
    """Bars with a synthetic shock from the bar at time ``at`` on.

    The ``bars_long`` log returns from ``at`` are multiplied by ``factor`` (a volatility burst), after a first
    bar whose log return is ``crash`` when given (e.g. ``-0.2``); prices after the shock keep their original
    returns.  Each shocked bar's open, high and low keep their log distance to its close, scaled by the same
    factor; ``adj_close`` keeps its ratio to the close; volumes are unchanged.

    Raises
    ------
    DataError
        ``at`` not a bar of ``bars``, or no ``close`` column.
    ConfigError
        A non-positive factor or length.
    """
    if "close" not in bars.columns:
        raise DataError("shocked_bars needs a close column", column="close")
    if not (factor > 0 and bars_long >= 1):
        raise ConfigError(f"the shock needs factor > 0 and bars_long >= 1, got {factor} and {bars_long}")
    ts = pd.Timestamp(at)
    idx = pd.DatetimeIndex(bars.index)
    ts = ts.tz_localize(idx.tz) if ts.tz is None and idx.tz is not None else ts
    pos = int(idx.get_indexer([ts])[0])
    if pos < 1:
        raise DataError(f"the shock's start {ts} is not a bar after the first one")
    out = bars.copy()
    logc = np.log(bars["close"].to_numpy(dtype=float))
    r = np.diff(logc)
    scale = np.ones(r.size)
    hi = min(pos - 1 + bars_long, r.size)
    scale[pos - 1 : hi] = factor
    new_r = r * scale
    if crash is not None:
        new_r[pos - 1] = float(crash)
    new_logc = np.concatenate([[logc[0]], logc[0] + np.cumsum(new_r)])
    bar_scale = np.concatenate([[1.0], scale])
    for col in ("open", "high", "low"):
        if col in out.columns:
            dist = np.log(bars[col].to_numpy(dtype=float)) - logc
            out[col] = np.exp(new_logc + dist * bar_scale)
    out["close"] = np.exp(new_logc)
    if "adj_close" in out.columns:  # the adjustment factor of each bar is kept
        out["adj_close"] = bars["adj_close"].to_numpy(dtype=float) * np.exp(new_logc - logc)
    return out


@dataclass(frozen=True)
class StressResult:
    """The stress test of several models on one period (immutable; JSON via :meth:`to_dict`).

    Attributes
    ----------
    label, start, end
        Name of the period and its first and last forecast target (UTC).
    table
        One row per model: ``coverage_95``, ``pit_ad_pvalue``, ``log_score``, ``crps``, ``qlike``,
        ``n_forecasts``, ``breaker_forecasts``, ``partial_forecasts``, ``ewma_forecasts``.
    weights
        Per ensemble: the weights of each forecast of the period (index: origin time; columns: members).
    weights_before
        Per ensemble: the mean weights of its last in-sample forecasts (the ``before`` window).
    meta
        Training window (its last bar is before ``start``: no leakage), settings, seed.
    """

    label: str
    start: str
    end: str
    table: pd.DataFrame
    weights: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    weights_before: Mapping[str, dict[str, float]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"Stress test {self.label}: forecasts {self.start} .. {self.end}, models fitted on "
                 f"{self.meta.get('train_start')} .. {self.meta.get('train_end')}"]  # fmt: skip
        lines.append(self.table.to_string(float_format=lambda v: f"{v:.4g}"))
        for name, frame in self.weights.items():
            before = self.weights_before.get(name, {})
            moved = ", ".join(
                f"{m} {before.get(m, math.nan):.2f} -> {frame[m].mean():.2f} [{frame[m].min():.2f}, {frame[m].max():.2f}]"
                for m in frame.columns
            )
            lines.append(f"{name} weights before -> during [range]: {moved}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "kind": "volresearch.StressResult",
                "label": self.label,
                "start": self.start,
                "end": self.end,
                "table": json_records(self.table),
                "weights": {
                    k: {"index": [str(t) for t in v.index], "columns": list(v.columns), "data": v.to_numpy().tolist()}
                    for k, v in self.weights.items()
                },  # fmt: skip
                "weights_before": dict(self.weights_before),
                "meta": dict(self.meta),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StressResult:
        table = pd.DataFrame(d["table"]).set_index("model")
        weights = {
            k: pd.DataFrame(v["data"], index=pd.DatetimeIndex(v["index"]), columns=v["columns"])
            for k, v in d.get("weights", {}).items()
        }
        return cls(label=str(d["label"]), start=str(d["start"]), end=str(d["end"]), table=table, weights=weights,
                   weights_before=dict(d.get("weights_before", {})), meta=dict(d.get("meta", {})))  # fmt: skip


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``table`` (index as ``model``) as JSON-safe dictionaries."""
    return [{"model": str(i), **{k: v for k, v in row.items()}} for i, row in table.iterrows()]


def _weights_during(result: Any, bars: pd.DataFrame, fit_end: int, origins: pd.DatetimeIndex) -> pd.DataFrame:
    from volresearch.validate.walkforward_registry import ADAPTERS

    after = bars.iloc[fit_end:]
    states = ADAPTERS["ensemble"].states(result, after, None, origins)
    return pd.DataFrame([s["weights"] for s in states], index=origins, columns=list(result.names))


def stress_test(
    bars: pd.DataFrame,
    models: Sequence[str],
    *,
    start: Any,
    end: Any,
    label: str | None = None,
    train: int = 1000,
    n_paths: int = 1000,
    seed: int = 0,
    before: int = 60,
    quiet: bool = True,
) -> StressResult:
    """Replay ``[start, end]`` one bar ahead with every model fitted on the ``train`` bars before ``start``.

    Raises
    ------
    DataError
        Fewer than ``train + 1`` bars before ``start`` or fewer than 5 bars in the period.
    ConfigError
        Unknown model names (from the registry).
    """
    from volresearch.ensembles.model import weight_path
    from volresearch.registry import fit_model, get_model
    from volresearch.validate.compare import compare_models

    names = [get_model(m).name for m in models]
    idx = pd.DatetimeIndex(bars.index)
    s = pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tz is None else pd.Timestamp(start)
    e = pd.Timestamp(end, tz="UTC") if pd.Timestamp(end).tz is None else pd.Timestamp(end)
    first = int(np.searchsorted(idx.asi8, s.value))  # first target bar of the period
    last = int(np.searchsorted(idx.asi8, e.value, side="right")) - 1
    if first <= train:
        raise DataError(f"the stress period from {s:%Y-%m-%d} needs {train + 1} bars before it; the bars have {first}")
    if last - first + 1 < 5:
        raise DataError(f"the stress period {s:%Y-%m-%d} .. {e:%Y-%m-%d} holds {max(last - first + 1, 0)} bars")
    # the window: train returns ending at the bar before the period, then one-bar forecasts of each target
    window = bars.iloc[first - 1 - train : last + 1]
    n_out = last - first + 1
    cmp = compare_models(window, names, label=label or "stress", in_sample=train, out_of_sample=n_out, step=1,
                         horizon=1, n_paths=n_paths, seed=seed, quiet=quiet)  # fmt: skip
    rows = []
    for name in names:
        res = cmp.results[name]
        m = res.metrics()
        f = res.forecasts
        method = f["method"]
        rows.append({
            "model": name, "coverage_95": m["coverage_95"], "pit_ad_pvalue": m["pit_ad_pvalue"],
            "log_score": m["log_score"], "crps": m["crps"], "qlike": m["qlike"], "n_forecasts": int(len(f)),
            "breaker_forecasts": int((method == "model-breaker").sum()),
            "partial_forecasts": int((method == "model-partial").sum()),
            "ewma_forecasts": int((method == "ewma").sum()),
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("model")
    train_bars = window.iloc[: train + 1]
    origins = pd.DatetimeIndex(window.index[train : train + n_out])
    weights, weights_before = {}, {}
    for name in names:
        if get_model(name).family != "ensemble":
            continue
        fitted = fit_model(name, train_bars)  # the same deterministic fit the walk-forward made
        weights[name] = _weights_during(fitted, window, train, origins)
        weights_before[name] = weight_path(fitted, train_bars).iloc[-before:].mean().to_dict()
    meta = {"train": train, "n_paths": n_paths, "seed": seed, "train_start": str(train_bars.index[0]),
            "train_end": str(train_bars.index[-1]), "models": names}  # fmt: skip
    if pd.Timestamp(meta["train_end"]) >= idx[first]:
        raise AssertionError("the training window overlaps the stress period")
    return StressResult(label=label or f"{s:%Y-%m-%d}..{e:%Y-%m-%d}", start=str(idx[first]), end=str(idx[last]),
                        table=table, weights=weights, weights_before=weights_before, meta=meta)  # fmt: skip
