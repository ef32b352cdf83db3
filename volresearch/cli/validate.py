"""``volresearch validate PATH``: walk-forward calibration of a model on bars.

PATH is a CSV/Parquet file of bars or an embedded dataset name.  The bars are
validated (policy ``repair``: sorted, exact duplicates dropped; data that
still fail a rule exit with code 2 and a message naming the rows), the
model is evaluated out of sample with
:func:`volresearch.validate.walkforward.walk_forward` and the stylized facts
of the returns are checked.

``--model NAME`` takes any name of the model registry
(:func:`volresearch.registry.available_models`; ``--list-models`` prints
them): GARCH-family labels (``gjr-sged``, ``egarch-t``...; a family with
``--dist`` names the same model) and the multiplicative intraday GARCH
(``intraday-gjr-sged``...).  Without ``--model`` the default is
:func:`volresearch.registry.default_model` of the bars: the multiplicative
intraday GARCH for bars shorter than a day (Student-t innovations on a
coarse tick grid), GJR-SGED otherwise.  A window
whose requested model is rejected is answered by the EWMA fallback and listed
(``fallbacks``: requested, answered, reason).

``--reference arch`` runs ``arch``'s own simulation forecast of
``--reference-spec`` (GJR-skew-t by default) on exactly the same windows,
refit points and origins, and ``--reference arch-diurnal`` the same after a
crude 30-minute time-of-day scaling; its CRPS, coverage and PIT appear next
to the model's (``reference`` in the JSON).  ``--calendar`` adds coverage by
session segment and sets the session calendar of session-aware models
(default: inferred from the time stamps); ``--min-count`` is the number of
forecasts a time-of-day bucket needs to count for the worst bucket.

``--mean auto`` (the default) fits a zero mean to intraday bars and a
constant mean to daily or longer bars: the drift of one intraday bar is far
below what a few months identify, and on discrete intraday prices the
constant-mean estimate wanders by up to a standard deviation per bar (seen
on real 1-minute ETF bars), which ruins the forecasts.

Windows, horizon, step and refit interval are in bars.  By default the
in-sample window is 3 months (at least 500 returns: daily bars get 500) and
the out-of-sample window 1 month (calendar spans); when the data span less
than a year they shrink to a quarter of the returns in sample and nine
out-of-sample windows over the rest (a twelfth each), so three weeks of
1-minute bars work out of the box.

``--json`` prints one JSON object and nothing else on stdout:
``model_name`` (registry name), ``model, dist, mean`` (of its GARCH component), horizon, step, n_paths, refit_every, in_sample,
out_of_sample, seed, baseline`` (the run), ``n_returns, n_windows,
n_fallback_windows, n_forecasts``, ``pit_ad_pvalue``, ``coverage_<L>`` for
L in 50, 80, 90, 95, 99, ``kupiec_pvalue_95``, ``christoffersen_pvalue_95``
(independence of the 95% violations, the project's criterion),
``christoffersen_cc_pvalue_95`` (joint conditional coverage), ``crps``,
``crps_naive``, ``crps_improvement``, ``qlike``, ``qlike_naive``,
``in_sample_score``, ``out_of_sample_score``, ``efficiency``,
``coverage_95_by_bucket`` (4-hour UTC bucket -> coverage, intraday bars),
``worst_bucket_deviation_95``, ``fallbacks``, ``reference`` (or null),
``criteria`` (list of ``{name, value, threshold, passed, ...}``), ``verdict``, ``passed``, ``stylized_facts`` (statistic -> passed,
for every fact with a criterion), ``data`` (source, bars, first and last
time) and ``elapsed_s``.  Non-finite numbers are ``null``.

Exit codes: 0 the evaluation ran (whatever its verdicts), 2 bad input (unusable
data, unknown dataset, unknown model, bad option).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from volresearch._util import jsonable
from volresearch.cli._common import add_label_argument, add_source_arguments, load_labelled, resolve_mean
from volresearch.cli.fit import list_models, requested_model
from volresearch.config import ASSET_CLASSES
from volresearch.data import validate_bars
from volresearch.errors import DataError
from volresearch.models.distributions import DISTRIBUTIONS
from volresearch.validate.buckets import DEFAULT_MIN_COUNT
from volresearch.validate.stylized import stylized_asset_class, stylized_facts
from volresearch.validate.walkforward import forecast_metrics, walk_forward

__all__ = ["register", "run", "DEFAULT_PATHS", "DEFAULT_STEP"]

DEFAULT_PATHS = 1000
"""Ensemble members per forecast on the command line (the library default is 10,000)."""
DEFAULT_STEP = 1
"""Bars between forecast origins on the command line."""

_RUN_KEYS = ("model", "dist", "horizon", "step", "n_paths", "refit_every", "in_sample", "out_of_sample", "seed",
             "baseline")  # fmt: skip
_FALLBACK_WARN = 0.25


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """argparse type: an integer >= ``minimum`` (``what`` names it in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {value}")
        return value

    return parse


_positive = _int_at_least(1, "positive")
_non_negative = _int_at_least(0, "non-negative")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``validate`` command."""
    p = sub.add_parser(
        "validate",
        help="walk-forward calibration (PIT, coverage, CRPS vs naive) of a model on bars",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", nargs="?", help="bars file (CSV/Parquet) or embedded dataset name")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="registry name (gjr-sged, intraday-gjr-sged, ...) or a family with --dist; default: "
                        "intraday-gjr-sged for bars shorter than a day (intraday-gjr-t when >= 20%% of closes are "
                        "unchanged), gjr-sged otherwise")  # fmt: skip
    p.add_argument("--dist", choices=sorted(DISTRIBUTIONS), default=None,
                   help="innovation law with a family --model (default sged)")  # fmt: skip
    p.add_argument("--list-models", action="store_true", help="print the registered model names and exit")
    p.set_defaults(dist_default="sged")
    p.add_argument("--mean", choices=["auto", "constant", "zero"], default="auto",
                   help="mean of the returns; auto: zero for intraday bars, constant otherwise")  # fmt: skip
    p.add_argument("--horizon", type=_positive, default=1, help="forecast horizon in bars (default 1)")
    p.add_argument("--step", type=_positive, default=DEFAULT_STEP,
                   help=f"bars between origins (default {DEFAULT_STEP})")  # fmt: skip
    p.add_argument("--paths", type=_positive, default=DEFAULT_PATHS,
                   help=f"ensemble members per forecast (default {DEFAULT_PATHS})")  # fmt: skip
    p.add_argument("--refit-every", type=_positive, default=None, help="refit every R bars inside each window")
    p.add_argument("--in-sample", type=_positive, default=None,
                   help="in-sample window in bars (default 3 months, at least 500 returns; "
                        "a quarter of the data under a year)")  # fmt: skip
    p.add_argument("--out-of-sample", type=_positive, default=None,
                   help="out-of-sample window and roll in bars "
                        "(default 1 month; a ninth of the rest under a year)")  # fmt: skip
    p.add_argument("--expanding", action="store_true", help="anchor every fit at the first return")
    p.add_argument("--baseline", choices=["ewma", "historical"], default="ewma", help="naive baseline volatility")
    p.add_argument("--seed", type=_non_negative, default=0)
    p.add_argument("--reference", choices=["arch", "arch-diurnal"], default=None,
                   help="also run arch's own forecast on the same windows (arch-diurnal: after a crude "
                        "30-minute time-of-day scaling)")  # fmt: skip
    p.add_argument(
        "--reference-spec",
        default="gjr-skewt",
        metavar="LABEL",
        help="model of the reference (default gjr-skewt; 'same': the evaluated model's component)",
    )
    p.add_argument("--reference-sims", type=_positive, default=None,
                   help="simulated paths per reference forecast (default: --paths)")  # fmt: skip
    p.add_argument("--calendar", default=None, metavar="NAME",
                   help="session calendar: coverage by session segment and the clock of session-aware models "
                        "(default: inferred)")  # fmt: skip
    p.add_argument(
        "--min-count",
        type=_positive,
        default=DEFAULT_MIN_COUNT,
        help=f"forecasts a time-of-day bucket needs for the worst bucket (default {DEFAULT_MIN_COUNT})",
    )
    p.add_argument("--instrument", default=None, metavar="SYMBOL",
                   help="instrument symbol (instrument table: asset class of the stylized facts)")  # fmt: skip
    p.add_argument("--asset-class", choices=[*ASSET_CLASSES, "other"], default=None,
                   help="leverage criterion of the stylized facts (default: the instrument's class, "
                        "else equity_index)")  # fmt: skip
    p.add_argument("--scheduler", choices=["serial", "threads", "processes"], default="serial",
                   help="run windows serially or as Dask tasks (same numbers)")  # fmt: skip
    add_source_arguments(p)
    add_label_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (nothing else on stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _facts(returns: np.ndarray, prices: np.ndarray, asset_class: str) -> dict[str, bool]:
    """Verdict of every stylized fact with a criterion (statistic -> passed)."""
    if returns.size < 30:
        return {}
    table = stylized_facts(returns, prices=prices, asset_class=asset_class)  # type: ignore[arg-type]
    rows = table[table["passed"].notna()]
    counts = rows["statistic"].value_counts()
    out: dict[str, bool] = {}
    for r in rows.itertuples(index=False):
        key = r.statistic if counts[r.statistic] == 1 else f"{r.group}.{r.statistic}"
        out[str(key)] = bool(r.passed)
    return out


def payload(
    result: Any,
    facts: dict[str, bool],
    *,
    data: dict[str, Any],
    elapsed: float,
    instrument: str | None = None,
    asset_class: str | None = None,
) -> dict[str, Any]:
    """The JSON object printed by ``volresearch validate --json``."""
    m = forecast_metrics(result)
    cfg = result.config
    out: dict[str, Any] = {
        "model_name": result.model_name,
        "model": result.component[0],
        "dist": result.component[1],
        "mean": result.spec.mean,
        "horizon": cfg["horizon"],
        "step": cfg["step"],
        "n_paths": cfg["n_paths"],
        "refit_every": cfg["refit_every"],
        "in_sample": cfg["in_sample"],
        "out_of_sample": cfg["out_of_sample"],
        "seed": cfg["seed"],
        "baseline": cfg["baseline"],
        "n_returns": result.n_returns,
        "instrument": instrument,
        "asset_class": asset_class,
    }
    for k, v in m.items():
        if k not in out and k not in ("label",):
            out[k] = v
    b = result.buckets
    out["coverage_95_by_bucket"] = b.coverage_by_bucket(0.95) if b is not None and 0.95 in b.levels else None
    out["worst_bucket_deviation_95"] = m["worst_bucket_deviation_95"]
    sb = result.session_buckets
    if sb is not None and 0.95 in sb.levels:
        out["coverage_95_by_session_segment"] = sb.coverage_by_bucket(0.95)
    out["fallbacks"] = _fallbacks(result)
    out["reference"] = result.reference.to_dict() if result.reference is not None else None
    out["criteria"] = [c.to_dict() for c in result.criteria]
    out["verdict"] = result.verdict.to_dict()
    out["passed"] = result.verdict.passed
    out["stylized_facts"] = facts
    out["data"] = data
    out["elapsed_s"] = round(elapsed, 3)
    return jsonable(out)


def _fallbacks(result: Any) -> list[dict[str, Any]]:
    fb = result.fallbacks
    rows = []
    for r in fb.itertuples(index=False):
        rows.append(
            {
                "window": int(r.window),
                "oos_start_time": str(r.oos_start_time),
                "oos_end_time": str(r.oos_end_time),
                "n_forecasts": int(r.n_forecasts),
                "requested": str(r.requested),
                "answered": str(r.answered),
                "reason": str(r.reason),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """Validate PATH, run the walk-forward and print the verdicts; returns 0."""
    if args.list_models:
        return list_models()
    if args.path is None:
        raise DataError("a bars file or dataset name is needed (or --list-models)")
    t0 = time.perf_counter()
    bars = load_labelled(args)
    instrument = None
    if args.instrument:
        from volresearch.config import get_instrument

        instrument = get_instrument(args.instrument)  # ConfigError (exit 2) names the known symbols
    asset_class = args.asset_class or (instrument.asset_class if instrument is not None else "equity_index")
    report = validate_bars(bars, policy="repair", file=str(args.path))
    if not report.passed:
        exc = report.error()
        raise exc if exc is not None else DataError("the bars failed validation", file=str(args.path))
    bars = report.bars
    closes = bars["close"].to_numpy(dtype=float)
    if closes.size < 12:
        raise DataError(f"{closes.size} bars are too few for a walk-forward", file=str(args.path), rule="shape")
    name = requested_model(args, bars)
    scheduler = None if args.scheduler == "serial" else args.scheduler
    ref_opts = {} if args.reference_sims is None else {"n_sims": args.reference_sims}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = walk_forward(
            bars,
            model=name,
            mean=resolve_mean(args, bars),
            reference=args.reference,
            reference_spec=args.reference_spec,
            reference_options=ref_opts,
            calendar=args.calendar,
            min_count=args.min_count,
            in_sample=args.in_sample,
            out_of_sample=args.out_of_sample,
            step=args.step,
            horizon=args.horizon,
            refit_every=args.refit_every,
            n_paths=args.paths,
            seed=args.seed,
            baseline=args.baseline,
            expanding=args.expanding,
            scheduler=scheduler,
            label=str(args.path),
            quiet=True if args.quiet else None,
        )
        r = np.diff(np.log(closes))
        facts = _facts(r, closes, stylized_asset_class(asset_class))
    n_fb = int((result.windows["method"] == "ewma").sum())
    if len(result.windows) and n_fb / len(result.windows) > _FALLBACK_WARN:
        print(
            f"volresearch validate: {n_fb} of {len(result.windows)} window fits failed and fell back to EWMA; "
            "a longer --in-sample usually helps",
            file=sys.stderr,
        )
    data = {
        "source": str(args.path),
        "n_bars": int(len(bars)),
        "start": bars.index[0].isoformat(),
        "end": bars.index[-1].isoformat(),
        "synthetic": bool(bars.attrs.get("synthetic", False)),
        "bar_label": str(bars.attrs.get("bar_label", "start")),
    }
    elapsed = time.perf_counter() - t0
    if args.json:
        doc = payload(
            result,
            facts,
            data=data,
            elapsed=elapsed,
            instrument=None if instrument is None else instrument.symbol,
            asset_class=asset_class,
        )
        print(json.dumps(doc, indent=2, allow_nan=False))
        return 0
    print(result.summary())
    print("\nstylized facts of the returns (statistic: passed)")
    for k, v in facts.items():
        print(f"  [{'pass' if v else 'FAIL'}] {k}")
    print(f"\n{result.verdict.text}")
    print(f"done in {elapsed:.1f} s")
    return 0
