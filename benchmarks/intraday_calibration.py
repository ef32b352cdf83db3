"""Calibration of 60-minute-ahead intraday forecasts on real one-minute series, side by side with references.

For each bars file, every ``--step`` bars a forecast of the summed log return over the next ``--horizon``
bars is made from a rolling ``--window``-bar window refitted every ``--refit`` bars (a walk-forward with
in-sample ``window`` and out-of-sample ``refit``: one fit per day of one-minute bars), and scored on the same
origins for:

* each model of ``--models`` (registry names; default the intraday default ``intraday-gjr-sged`` and plain
  ``gjr-sged`` on the raw one-minute returns), fitted and simulated through the registry;
* the naive baseline (EWMA random walk, lambda 0.94) of the walk-forward;
* ``arch``'s own GJR-skew-t simulation forecast on the raw returns (``arch``), and the same after the crude
  time-of-day scaling (returns divided by their 30-minute-bucket mean ``|r|`` before the fit, forecasts
  multiplied back: ``arch-diurnal``).

Reported per series and forecaster: CRPS (log-return units) and its ratio to the naive baseline and to each
reference (below 1: better), 95% and 50% interval coverage, the worst 4-hour UTC bucket's 95% coverage
deviation over buckets with at least ``--min-count`` forecasts, the PIT Anderson-Darling p-value, the mean
persistence of the fits (of the intraday component ``q`` for the multiplicative model) and the windows where the
requested model was rejected (the EWMA fallback answered).  Calendars are inferred from the time stamps.

Usage::

    python benchmarks/intraday_calibration.py [FILES...] [--step 15] [--horizon 60] [--window 7200]
        [--refit 1440] [--paths 2000] [--models intraday-gjr-sged gjr-sged] [--out DIR]

Writes ``DIR/intraday_calibration_step<STEP>.json`` and ``.md`` (updated after every series) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # the shared data folder beside the repository
DEFAULT_FILES = [
    DATA / "BTCPERP_1min_2022-01.csv",
    DATA / "USDJPY_1min_2013-02.csv",
    DATA / "INDA_1min.csv",
]
DEFAULT_MODELS = ["intraday-gjr-sged", "gjr-sged"]
REFERENCES = {"arch": False, "arch-diurnal": True}


def _worst_bucket(origins: pd.Series, hits: np.ndarray, min_count: int) -> float:
    """Largest |coverage_95 - 0.95| over 4-hour UTC buckets of the origin with >= min_count forecasts."""
    hours = pd.DatetimeIndex(origins).tz_convert("UTC").hour // 4
    frame = pd.DataFrame({"b": hours, "cov": 1.0 - hits.astype(float)})
    g = frame.groupby("b")["cov"].agg(["mean", "size"])
    g = g[g["size"] >= min_count]
    return float((g["mean"] - 0.95).abs().max()) if len(g) else math.nan


def _deciles(pit: Any) -> list[float]:
    """Share of PIT values in each tenth of [0, 1] (uniform: 0.1 each)."""
    x = np.asarray(pit, dtype=float)
    x = x[np.isfinite(x)]
    counts = np.histogram(x, bins=10, range=(0.0, 1.0))[0]
    return [round(float(c) / max(x.size, 1), 4) for c in counts]


def _var_ratio(std: Any, target: Any) -> float:
    """Mean forecast variance over the mean squared outcome (1: the forecast's level matches the realised one)."""
    s, y = np.asarray(std, dtype=float), np.asarray(target, dtype=float)
    ok = np.isfinite(s) & np.isfinite(y)
    return float(np.mean(s[ok] ** 2) / np.mean(y[ok] ** 2)) if ok.any() else math.nan


def _model_row(name: str, res: Any, seconds: float) -> dict[str, Any]:
    fits = res.fits
    ok = fits[fits["ok"].astype(bool)] if len(fits) else fits
    fb = res.fallbacks
    return {
        "forecaster": name,
        "n": int(res.n_forecasts),
        "crps": float(res.crps),
        "coverage_95": float(res.coverage(0.95)),
        "coverage_50": float(res.coverage(0.5)),
        "worst_bucket_dev_95": float(res.worst_bucket_deviation_95),
        "pit_ad_p": float(res.report.pit.ad_pvalue),
        "persistence": float(ok["persistence"].mean()) if len(ok) else math.nan,
        "fallback_windows": int(len(fb)),
        "windows": int(len(res.windows)),
        "fallback_reasons": sorted({str(x) for x in fb["reason"]}) if len(fb) else [],
        "daily_methods": sorted({str(x) for x in ok["daily_method"]}) if "daily_method" in ok else [],
        "pit_deciles": _deciles(res.forecasts["pit"]),
        "var_ratio": _var_ratio(res.forecasts["std"], res.forecasts["target"]),
        "seconds": round(seconds, 1),
    }


def _naive_row(res: Any, min_count: int) -> dict[str, Any]:
    f = res.forecasts
    rep = res.baseline_report
    cov = rep.coverage.set_index("level")["coverage"]
    return {
        "forecaster": "naive EWMA",
        "n": int(len(f)),
        "crps": float(res.crps_naive),
        "coverage_95": float(cov.loc[0.95]),
        "coverage_50": float(cov.loc[0.5]),
        "worst_bucket_dev_95": _worst_bucket(f["origin"], f["base_hit_95"].to_numpy(), min_count),
        "pit_ad_p": float(rep.pit.ad_pvalue),
        "persistence": math.nan,
        "fallback_windows": 0,
        "windows": int(len(res.windows)),
        "fallback_reasons": [],
        "daily_methods": [],
        "pit_deciles": _deciles(f["base_pit"]),
        "var_ratio": _var_ratio(f["base_std"], f["target"]),
        "seconds": 0.0,
    }


def _reference_row(name: str, ref: Any, seconds: float) -> dict[str, Any]:
    d = ref.to_dict()
    return {
        "forecaster": name,
        "n": int(d["n_forecasts"]),
        "crps": float(ref.crps),
        "coverage_95": float(ref.coverage(0.95)),
        "coverage_50": float(ref.coverage(0.5)),
        "worst_bucket_dev_95": float(ref.worst_bucket_deviation_95),
        "pit_ad_p": float(ref.report.pit.ad_pvalue),
        "persistence": float(d["persistence_mean"]) if d["persistence_mean"] is not None else math.nan,
        "fallback_windows": int(d["n_failed_fits"]),
        "windows": int(d["n_fits"]),
        "fallback_reasons": [],
        "daily_methods": [],
        "pit_deciles": _deciles(ref.forecasts["pit"]),
        "var_ratio": _var_ratio(ref.forecasts["std"], ref.forecasts["target"]),
        "seconds": round(seconds, 1),
    }


def run_series(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every forecaster on one series; rows with CRPS ratios to the naive baseline and the references."""
    from volresearch.data import load_bars, validate_bars
    from volresearch.data.calendar import infer_calendar
    from volresearch.validate.reference import arch_reference
    from volresearch.validate.walkforward import walk_forward

    bars = validate_bars(load_bars(path), policy="repair").bars
    cal = args.calendar or infer_calendar(pd.DatetimeIndex(bars.index))[0].name
    layout = {
        "in_sample": args.window,
        "out_of_sample": args.refit,
        "step": args.step,
        "horizon": args.horizon,
        "seed": args.seed,
    }
    rows: list[dict[str, Any]] = []
    naive: dict[str, Any] | None = None
    for name in args.models:
        t0 = time.perf_counter()
        res = walk_forward(
            bars, model=name, n_paths=args.paths, min_count=args.min_count, calendar=args.calendar, quiet=True,
            **layout,
        )  # fmt: skip
        rows.append(_model_row(name, res, time.perf_counter() - t0))
        if naive is None:
            naive = _naive_row(res, args.min_count)
        _progress(f"{path.name}: {rows[-1]}")
    refs: dict[str, float] = {}
    for name in args.references:
        diurnal = REFERENCES[name]
        t0 = time.perf_counter()
        ref = arch_reference(
            bars, "gjr-skewt", n_sims=args.paths, diurnal=diurnal, min_count=args.min_count, **layout
        )  # fmt: skip
        rows.append(_reference_row(f"{name} gjr-skewt", ref, time.perf_counter() - t0))
        refs[name] = ref.crps
        _progress(f"{path.name}: {rows[-1]}")
    if naive is not None:
        rows.insert(len(args.models), naive)
    else:
        naive = {"crps": math.nan}
    for row in rows:
        row["crps_vs_naive"] = row["crps"] / naive["crps"]
        for name, crps in refs.items():
            row[f"crps_vs_{name}"] = row["crps"] / crps
    return {
        "file": path.name,
        "n_bars": int(len(bars)),
        "start": bars.index[0].isoformat(),
        "end": bars.index[-1].isoformat(),
        "calendar": cal,
        "zero_return_share": float(np.mean(np.diff(np.log(bars["close"].to_numpy(dtype=float))) == 0.0)),
        "rows": rows,
    }


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt(x: Any, spec: str) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def markdown(results: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    """The results as markdown tables, one per series."""
    lines = [
        "# Intraday calibration: 60-minute-ahead forecasts on real one-minute series",
        "",
        "Settings: " + ", ".join(f"{k} {v}" for k, v in settings.items() if k != "files"),
        "",
        "CRPS in 1e-4 log-return units; ratios below 1 mean better than the column's forecaster; worst bucket: "
        "largest |95% coverage - 0.95| over 4-hour UTC buckets with enough forecasts; var ratio: mean forecast "
        "variance over mean squared outcome; persistence: mean over the "
        "fits (intraday component q for the multiplicative model); fallback: windows where the requested model "
        "was rejected and the EWMA answered.",
        "",
    ]
    for res in results:
        lines += [
            f"## {res['file']} ({res['n_bars']} bars, {res['start'][:10]} to {res['end'][:10]}, calendar "
            f"{res['calendar']}, zero returns {100 * res['zero_return_share']:.1f}%)",
            "",
            "| forecaster | n | CRPS | vs naive | vs arch | vs arch-diurnal | cov 95 | cov 50 | worst bucket | "
            "PIT AD p | persistence | var ratio | fallback | s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in res["rows"]:
            lines.append(
                f"| {r['forecaster']} | {r['n']} | {_fmt(1e4 * r['crps'], '.4f')} | {_fmt(r['crps_vs_naive'], '.4f')}"
                f" | {_fmt(r.get('crps_vs_arch'), '.4f')} | {_fmt(r.get('crps_vs_arch-diurnal'), '.4f')}"
                f" | {_fmt(r['coverage_95'], '.4f')} | {_fmt(r['coverage_50'], '.4f')}"
                f" | {_fmt(r['worst_bucket_dev_95'], '.4f')} | {_fmt(r['pit_ad_p'], '.4f')}"
                f" | {_fmt(r['persistence'], '.4f')} | {_fmt(r.get('var_ratio'), '.3f')}"
                f" | {r['fallback_windows']}/{r['windows']} | {r['seconds']:.0f} |"
            )
        reasons = {r["forecaster"]: r["fallback_reasons"] for r in res["rows"] if r["fallback_reasons"]}
        for name, why in reasons.items():
            lines.append(f"\n{name} fell back in some windows: {'; '.join(why)[:400]}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    p.add_argument("--step", type=int, default=15, help="bars between forecast origins (default 15)")
    p.add_argument("--horizon", type=int, default=60, help="forecast horizon in bars (default 60)")
    p.add_argument("--window", type=int, default=7200, help="rolling fit window in bars (default 7200)")
    p.add_argument("--refit", type=int, default=1440, help="bars between refits (default 1440)")
    p.add_argument("--paths", type=int, default=2000, help="simulated paths per forecast (default 2000)")
    p.add_argument("--models", nargs="*", default=DEFAULT_MODELS, help="registry names (none: references only)")
    p.add_argument("--references", nargs="*", choices=list(REFERENCES), default=list(REFERENCES),
                   help="arch references to run (default both; none: skip them)")  # fmt: skip
    p.add_argument("--calendar", default=None, help="session calendar of the models (default: inferred)")
    p.add_argument("--tag", default="", help="suffix of the output file names")
    p.add_argument("--min-count", type=int, default=100, help="forecasts a bucket needs for the worst bucket")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    settings = {k: v for k, v in vars(args).items() if k not in ("files", "out", "tag")}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"intraday_calibration_step{args.step}{args.tag}"
    results = []
    for path in args.files:
        if not path.exists():
            print(f"{path}: not found, skipped", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = run_series(path, args)
        res["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(res)
        doc = {"settings": settings, "results": results}
        stem.with_suffix(".json").write_text(json.dumps(doc, indent=2, default=str, allow_nan=True))
        md = markdown(results, settings)
        stem.with_suffix(".md").write_text(md)
        print(markdown([res], settings), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
