"""``volresearch fit PATH``: fit a registered model and print it.

PATH is a CSV/Parquet file of bars or an embedded dataset name (``sp500``,
``nasdaq``, ``es_synthetic``...).  The bars are validated strictly first (bad
data exits with code 2 and a message naming the rows).

``--model NAME`` takes any name of the model registry
(:func:`volresearch.registry.available_models`: ``gjr-sged``, ``egarch-t``,
``intraday-gjr-sged``...; ``--list-models`` prints them).  A volatility family
with ``--dist`` (``--model gjr --dist sged``) names the same model as before;
a family alone takes ``--dist normal``.  Without ``--model`` the default is
:func:`volresearch.registry.default_model` of the bars: the multiplicative
intraday GARCH with a GJR component and skewed-GED innovations for bars
shorter than a day (Student-t innovations when a fifth or more of the closes
are unchanged: prices on a coarse tick grid) and GJR-SGED otherwise.  ``--mean auto`` (the default) fits a zero mean to
intraday bars and a constant mean to daily bars.

A fit is accepted only when it passes every check of
:mod:`volresearch.models.fitting`.  When it does not, the command exits with
code 3 (:data:`EXIT_REJECTED`) and the reasons, unless ``--fallback cascade``
asks for the volatility cascade (GARCH(1,1), then EWMA, then historical) to
answer: the output then names the ``requested`` and the ``answered`` model
separately, with the ``reason``, and the exit code is 0.  Warnings that come
with an accepted fit (near-integrated persistence...) are printed and listed
in ``flags``.

Exit codes: 0 fitted (or answered by an explicit fallback); 2 bad input;
3 the requested model was rejected and no fallback was asked for.
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
from volresearch.models.garch import Fit, ModelSpec
from volresearch.models.robust import EWMA_LAMBDA, conditional_volatility

__all__ = ["EXIT_REJECTED", "FALLBACKS", "fit_payload", "register", "requested_model", "result_payload", "run"]

#: Exit code of a rejected fit without ``--fallback cascade``.
EXIT_REJECTED = 3
#: Values of ``--fallback``.
FALLBACKS = ("none", "cascade")


def add_model_arguments(parser: argparse.ArgumentParser, *, dist_default: str) -> None:
    """``--model NAME``, ``--dist LAW``, ``--list-models`` and ``--fallback none|cascade``."""
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME",
        help="registry name (gjr-sged, intraday-gjr-sged, ...) or a family with --dist; default: intraday-gjr-sged for "
        "bars shorter than a day (intraday-gjr-t when >= 20%% of closes are unchanged), gjr-sged otherwise",
    )
    parser.add_argument(
        "--dist",
        choices=sorted(DISTRIBUTIONS),
        default=None,
        help=f"innovation law with a family --model (default {dist_default})",
    )
    parser.add_argument("--list-models", action="store_true", help="print the registered model names and exit")
    parser.add_argument(
        "--fallback",
        choices=FALLBACKS,
        default="none",
        help="cascade: when the requested model is rejected, let the fallback answer (exit 0, both named)",
    )
    parser.set_defaults(dist_default=dist_default)


def requested_model(args: argparse.Namespace, bars: Any) -> str:
    """Registry name asked for by ``--model``/``--dist`` (the default for the bar size without ``--model``)."""
    from volresearch.registry import requested_model as resolve

    return resolve(args.model, args.dist, bars, dist_default=args.dist_default)


def list_models() -> int:
    from volresearch.registry import MODELS, available_models

    for name in available_models():
        print(f"{name:<24}{MODELS[name].description}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit a registered volatility model to bars", description=__doc__)
    p.add_argument("path", nargs="?", help="bars file (CSV/Parquet) or embedded dataset name")
    add_model_arguments(p, dist_default="normal")
    add_mean_argument(p)
    add_source_arguments(p)
    p.add_argument("--window", type=int, default=None, help="use only the last N returns (bars for intraday models)")
    p.add_argument("--horizon", type=int, default=None, help="forecast horizon (bars) the mean is judged over")
    p.add_argument("--no-fallback", action="store_true", help="the default; kept for compatibility")
    p.add_argument("--save", default=None, metavar="FILE", help="write the fit as JSON (for simulate --fit)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def fit_payload(fit: Fit) -> dict[str, Any]:
    """The JSON object printed for a successful GARCH-family fit."""
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


def result_payload(result: Any) -> dict[str, Any]:
    """The JSON object of any registered result: its family's fields plus ``name`` and ``kernel``."""
    if isinstance(result, Fit):
        payload = fit_payload(result)
    elif getattr(result, "q_fit", None) is None:
        # continuous-time and other results: their own JSON (annualised params, std errors, units, flags)
        payload = dict(result.to_dict())
    else:
        q = result.q_fit
        payload = {
            "model": q.spec.model,
            "dist": q.spec.dist,
            "mean": q.spec.mean,
            "method": "intraday",
            "params": dict(q.params),
            "std_errors": {k: _finite(v) for k, v in q.std_errors.items()},
            "units": {**dict(q.units), "mu": "deseasonalised return per bar", "omega": "q (dimensionless)"},
            "loglik": q.loglik,
            "converged": q.converged,
            "persistence": q.persistence,
            "near_integrated": q.near_integrated,
            "half_life": _finite(q.half_life),
            "flags": list(result.flags),
            "daily": {
                "requested": result.daily.requested,
                "method": result.daily.method,
                "reason": result.daily.reason,
                "next_session_variance": float(result.daily.forecast[0]),
                "units": "variance per session day",
            },
            "diurnal": {
                "max": float(max(result.diurnal.factor)),
                "min": float(min(result.diurnal.factor)),
                "n_slots": result.diurnal.n_slots,
            },
            "gap_ratio": result.gap_ratio,
            "diagnostics": dict(result.diagnostics),
            "calendar": result.calendar,
            "bar_seconds": result.bar_seconds,
            "n_obs": q.n_obs,
            "end": str(result.end),
            "last_price": result.last_price,
            "meta": dict(result.meta),
        }
    payload["name"] = result.model
    payload["kernel"] = result.kernel
    return payload


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    from volresearch.registry import fit_model

    if args.list_models:
        return list_models()
    if not args.path:
        raise SystemExit("volresearch fit: give PATH (or --list-models)")
    bars = load_source(args)
    report = validate_bars(bars, policy="strict", file=str(args.path))
    bars = report.bars if getattr(report, "bars", None) is not None else bars
    name = requested_model(args, bars)
    mean = resolve_mean(args, bars)
    if args.window:
        bars = bars.iloc[-(args.window + 1) :]  # the last N returns, for every model alike
    options: dict[str, Any] = {"mean": mean}
    if args.horizon is not None:
        options["horizon"] = args.horizon
    try:
        result = fit_model(name, bars, **options)
    except FitError as exc:
        if args.fallback != "cascade":
            print(
                f"volresearch fit: {name} rejected: {exc}\n(exit {EXIT_REJECTED}; --fallback cascade lets the "
                "volatility cascade answer)",
                file=sys.stderr,
            )
            return EXIT_REJECTED
        spec = ModelSpec("garch", "normal", mean)
        window = args.window or len(bars)
        est = conditional_volatility(bars, window=window, spec=spec)
        answered = "none" if est is None else ("garch-normal" if est.method == "garch" else est.method)
        payload: dict[str, Any] = {
            "requested": name,
            "answered": answered,
            "model": answered,
            "dist": "normal" if answered == "garch-normal" else None,
            "mean": mean,
            "method": est.method if est else "none",
            "params": {"lambda": EWMA_LAMBDA} if est and est.method == "ewma" else {},
            "loglik": None,
            "aic": None,
            "bic": None,
            "converged": False,
            "rejected": name,
            "persistence": EWMA_LAMBDA if est and est.method == "ewma" else None,
            "unconditional_vol_per_bar": None,
            "volatility_per_bar": est.value if est else None,
            "scale": None,
            "diagnostics": {},
            "reason": str(exc),
        }
        print(f"volresearch fit: {name} rejected by its checks; {answered} answered (--fallback cascade)",
              file=sys.stderr)  # fmt: skip
        _emit(
            payload,
            args.json,
            text=f"{name} fit failed: {exc}\n{answered} answered (fallback cascade): volatility "
            f"{payload['volatility_per_bar']} per bar",
        )
        return 0
    if args.save:
        with open(args.save, "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh)
    for flag in result.flags if not isinstance(result, Fit) else result.all_flags:
        print(f"volresearch fit: warning: {flag}", file=sys.stderr)
    payload = {"requested": name, "answered": result.model, **result_payload(result)}
    _emit(payload, args.json, text=result.summary())
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
