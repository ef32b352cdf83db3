"""``volresearch compare DATA --models A,B,...``: several models walked forward on the same origins, side by side.

Every model (registry names: ``garch-normal``, ``gjr-sged``, ``heston``, ``ensemble-log-score``...) is
fitted and forecast on the same windows, origins, targets and seed
(:func:`volresearch.validate.compare.compare_models`).  One row per model: ``qlike`` (mean QLIKE of
the variance forecast, ``log v + r^2/v``), ``log_score`` (mean log predictive density, higher is better),
``crps``, ``coverage_95``, ``pit_ad_pvalue``, ``dm_pvalue_vs_baseline`` (two-sided Diebold-Mariano on
QLIKE against the first model listed), ``in_mcs`` and ``mcs_pvalue`` (the Model Confidence Set at
``--mcs-size``, 10% by default, on QLIKE; its settings are printed with it:
:mod:`volresearch.validate.mcs`).  ``--json`` prints one object: ``rows``, ``mcs``, ``config``.

Exit codes: 0 done; 1 the data failed validation; 2 bad input (unknown model, too few bars...).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

from volresearch._util import jsonable
from volresearch.cli._common import add_label_argument, add_source_arguments, load_labelled, resolve_mean
from volresearch.cli.validate import DEFAULT_PATHS, _non_negative, _positive
from volresearch.data import validate_bars
from volresearch.errors import ConfigError, DataError

__all__ = ["register", "run"]


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("compare", help="walk several models forward on the same origins; DM tests and the MCS",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("path", help="bars file (CSV/Parquet) or embedded dataset name")
    p.add_argument("--models", required=True, metavar="A,B,...",
                   help="comma-separated registry names; the first is the baseline of the DM tests")  # fmt: skip
    p.add_argument("--mean", choices=["auto", "constant", "zero"], default="auto",
                   help="mean of the GARCH-family fits (auto: zero for intraday bars, constant for daily)")  # fmt: skip
    p.add_argument("--horizon", type=_positive, default=1, help="forecast horizon in bars (default 1)")
    p.add_argument("--step", type=_positive, default=1, help="bars between forecast origins (default 1)")
    p.add_argument("--paths", type=_positive, default=DEFAULT_PATHS, help="ensemble members per forecast")
    p.add_argument("--in-sample", type=_positive, default=None, help="bars in each fit window")
    p.add_argument("--out-of-sample", type=_positive, default=None, help="bars forecast per window")
    p.add_argument("--seed", type=_non_negative, default=0)
    p.add_argument("--mcs-size", type=_fraction, default=0.10, help="level of the model confidence set (0.10)")
    p.add_argument("--mcs-loss", choices=["qlike", "crps", "log_score"], default="qlike")
    p.add_argument("--mcs-reps", type=_positive, default=1000, help="bootstrap replications of the MCS")
    p.add_argument("--mcs-block", type=_positive, default=None, help="mean block length (default: the rule stated)")
    add_source_arguments(p)
    add_label_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (nothing else on stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from volresearch.registry import get_model
    from volresearch.validate.compare import compare_models
    from volresearch.validate.mcs import compare_table, model_confidence_set

    names = [get_model(n.strip()).name for n in args.models.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"--models needs at least two different registry names, got {names}")
    bars = load_labelled(args)
    report = validate_bars(bars, policy="repair", file=str(args.path))
    if not report.passed:
        exc = report.error()
        raise exc if exc is not None else DataError("the bars failed validation", file=str(args.path))
    bars = report.bars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = compare_models(
            bars, names, label=str(args.path), mean=resolve_mean(args, bars), in_sample=args.in_sample,
            out_of_sample=args.out_of_sample, step=args.step, horizon=args.horizon, n_paths=args.paths,
            seed=args.seed, quiet=True if args.quiet else None,
        )  # fmt: skip
    results = {n: comparison.results[n] for n in names}
    mcs = model_confidence_set(results, loss=args.mcs_loss, size=args.mcs_size, reps=args.mcs_reps,
                               block_size=args.mcs_block, seed=args.seed)  # fmt: skip
    table = compare_table(results, mcs)
    first = results[names[0]]
    config: dict[str, Any] = {k: first.config[k] for k in ("horizon", "step", "n_paths", "in_sample", "out_of_sample",
                                                           "seed")}  # fmt: skip
    config.update(source=str(args.path), n_forecasts=first.n_forecasts, baseline=names[0])
    if args.json:
        rows = [{"model": k, **v} for k, v in table.to_dict(orient="index").items()]
        print(json.dumps(jsonable({"rows": rows, "mcs": mcs.to_dict(), "config": config})))
        return 0
    print(f"{first.n_forecasts:,} common forecasts of {config['horizon']} bar(s), every {config['step']} bar(s), "
          f"{config['n_paths']:,} paths; DM on QLIKE against {names[0]}")  # fmt: skip
    print(table.to_string(float_format=lambda v: f"{v:.5g}"))
    s = mcs.settings
    print(f"MCS at {s['size']:.0%} on {s['loss']}: {', '.join(mcs.included)} ({s['statistic']} statistic, "
          f"{s['bootstrap']} bootstrap, {s['reps']} reps, mean block {s['block_size']} ({s['block_rule']}), "
          f"seed {s['seed']})")  # fmt: skip
    sys.stdout.flush()
    return 0
