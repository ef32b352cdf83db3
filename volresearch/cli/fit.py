"""``volresearch fit PATH``: fit a GARCH-family model and print it.

PATH is a CSV/Parquet file of bars or an embedded dataset name (``sp500``,
``nasdaq``, ``es_synthetic``...).  The bars are validated strictly first (bad
data exits with code 2 and a message naming the rows).  ``--mean auto`` (the
default) fits a zero mean to intraday bars and a constant mean to daily bars.

A fit is accepted only when it passes every check of
:mod:`volresearch.models.fitting` (stationarity, an unconditional volatility
within 1/5..5 times the sample's, standardised residuals of variance near 1,
no shape at its bound, a plausible mean...).  When no attempt passes, the
rejection and its reasons are printed (``reason`` in JSON) and the volatility
cascade answers instead (EWMA, then historical; ``method`` says which);
``--no-fallback`` exits with code 1 instead.  Warnings that come with an
accepted fit (near-integrated persistence, a mean that drives the forecast)
are printed and listed in ``flags``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from volresearch.cli._common import add_mean_argument, add_source_arguments, load_source, resolve_mean
from volresearch.data import validate_bars
from volresearch.errors import FitError
from volresearch.models.distributions import DISTRIBUTIONS
from volresearch.models.garch import VOLATILITY_MODELS, Fit, ModelSpec, fit_garch
from volresearch.models.robust import EWMA_LAMBDA, conditional_volatility


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit a GARCH/GJR/EGARCH model to bars", description=__doc__)
    p.add_argument("path", help="bars file (CSV/Parquet) or embedded dataset name")
    p.add_argument("--model", choices=sorted(VOLATILITY_MODELS), default="gjr")
    p.add_argument("--dist", choices=sorted(DISTRIBUTIONS), default="normal")
    add_mean_argument(p)
    add_source_arguments(p)
    p.add_argument("--window", type=int, default=None, help="use only the last N returns")
    p.add_argument("--horizon", type=int, default=None, help="forecast horizon (bars) the mean is judged over")
    p.add_argument("--no-fallback", action="store_true", help="exit 1 when the fit is rejected (no cascade)")
    p.add_argument("--save", default=None, metavar="FILE", help="write the fit as JSON (for simulate --fit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def fit_payload(fit: Fit) -> dict[str, Any]:
    """The JSON object printed for a successful fit."""
    d = fit.to_dict(include_series=False)
    keys = (
        "model",
        "dist",
        "mean",
        "method",
        "params",
        "std_errors",
        "units",
        "loglik",
        "aic",
        "bic",
        "converged",
        "persistence",
        "near_integrated",
        "flags",
        "std_resid_variance",
        "half_life",
        "unconditional_vol_per_bar",
        "unconditional_vol_annualised",
        "periods_per_year",
        "scale",
        "n_obs",
        "start",
        "end",
        "last_price",
        "next_variance",
        "diagnostics",
        "meta",
    )
    return {k: d[k] for k in keys}


def run(args: argparse.Namespace) -> int:
    bars = load_source(args)
    report = validate_bars(bars, policy="strict", file=str(args.path))
    bars = report.bars if getattr(report, "bars", None) is not None else bars
    spec = ModelSpec(args.model, args.dist, resolve_mean(args, bars))
    try:
        fit = fit_garch(bars, spec, window=args.window, horizon=args.horizon)
    except FitError as exc:
        if args.no_fallback:
            print(f"volresearch fit: {spec.label} rejected: {exc}", file=sys.stderr)
            return 1
        est = conditional_volatility(bars, window=args.window or len(bars), spec=spec)
        payload: dict[str, Any] = {
            "model": spec.model,
            "dist": spec.dist,
            "mean": spec.mean,
            "method": est.method if est else "none",
            "params": {"lambda": EWMA_LAMBDA} if est and est.method == "ewma" else {},
            "loglik": None,
            "aic": None,
            "bic": None,
            "converged": False,
            "rejected": spec.label,
            "persistence": EWMA_LAMBDA if est and est.method == "ewma" else None,
            "unconditional_vol_per_bar": None,
            "volatility_per_bar": est.value if est else None,
            "scale": None,
            "diagnostics": {},
            "reason": str(exc),
        }
        print(f"volresearch fit: {spec.label} rejected by its checks; {payload['method']} answered", file=sys.stderr)
        _emit(
            payload,
            args.json,
            text=f"{spec.label} fit failed: {exc}\n{payload['method']} volatility: "
            f"{payload['volatility_per_bar']} per bar",
        )
        return 0
    if args.save:
        fit.save(args.save)
    for flag in fit.all_flags:
        print(f"volresearch fit: warning: {flag}", file=sys.stderr)
    _emit(fit_payload(fit), args.json, text=fit.summary())
    return 0


def _emit(payload: dict[str, Any], as_json: bool, *, text: str) -> None:
    if as_json:
        print(json.dumps(payload, indent=2, default=_default))
    else:
        print(text)


def _default(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return str(obj)
