"""Rolling-window calibration per instrument, on a schedule, with a history.

:class:`CalibrationPipeline` refits a GARCH-family model on the last
``window`` of bars (a time span such as ``"30D"`` or a number of bars) when
recalibration is due:

* ``daily``: once per trading date (in the instrument's time zone),
* ``weekly``: once per ISO week,
* ``on_demand``: only when asked (:meth:`CalibrationPipeline.calibrate`).

Every calibration (parameters with units, window, date, whether it
converged, which method answered) goes to the :class:`~volresearch.data.store.Store`
when one is given, and to an in-memory history.  When a fit fails its checks
the instrument's **defaults** answer instead; they live in
``config/model_params.yaml`` with their units and the calibration that
produced them (:func:`derive_defaults` regenerates that file), and the
result says ``method="default"`` so nobody mistakes them for a fresh fit.

Defaults are keyed by **(model, innovation law)** (``gjr-sged``, ``garch-t``
...): a shape parameter means nothing under another law (an SGED shape of
1.15 is no Student-t degrees of freedom).  When the instrument has no default
for the fit's model and law, the volatility cascade (EWMA, then historical;
:func:`~volresearch.models.robust.conditional_volatility`) answers and the
result says so (``method="ewma"``/``"historical"`` and its ``reason``).
Every default carries its ``source``; the ES/NQ/GC/SI defaults come from the
package's own *synthetic* one-minute series and say ``synthetic: true``,
which the result repeats.
"""

from __future__ import annotations

import importlib.resources
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from volresearch.errors import ConfigError, FitError
from volresearch.models.garch import Fit, ModelSpec, fit_garch

__all__ = ["CalibrationResult", "CalibrationPipeline", "load_default_params", "derive_defaults"]

Frequency = Literal["daily", "weekly", "on_demand"]


@dataclass(frozen=True)
class CalibrationResult:
    """One calibration of one instrument.

    ``params`` are in per-bar log-return units (see ``units``); ``method`` is
    ``"garch"`` for a fresh fit, ``"default"`` when the defaults answered and
    ``"ewma"``/``"historical"`` when the cascade answered (``params`` then hold
    ``lambda`` for EWMA and ``volatility``, the next-bar volatility).
    ``source`` says where defaults came from and ``synthetic`` whether that
    was the package's simulated data rather than market data.
    """

    symbol: str
    spec: ModelSpec
    calibration_date: pd.Timestamp
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    n_obs: int
    params: Mapping[str, float]
    units: Mapping[str, str]
    converged: bool
    method: str
    reason: str = ""
    fit: Fit | None = field(default=None, compare=False, repr=False)
    source: str = ""
    synthetic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            **self.spec.to_dict(),
            "calibration_date": self.calibration_date.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "n_obs": self.n_obs,
            "params": dict(self.params),
            "units": dict(self.units),
            "converged": self.converged,
            "method": self.method,
            "reason": self.reason,
            "source": self.source,
            "synthetic": self.synthetic,
        }


def _defaults_path() -> Path:
    return Path(str(importlib.resources.files("volresearch.config") / "model_params.yaml"))


def load_default_params(path: str | Path | None = None) -> dict[str, Any]:
    """Read the per-instrument default parameters (``config/model_params.yaml``).

    Raises ``ConfigError`` naming the file when it is malformed.
    """
    p = Path(path) if path is not None else _defaults_path()
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read default parameters from {p}: {exc}") from None
    if not isinstance(data.get("defaults", {}), dict):
        raise ConfigError(f"{p}: key 'defaults' must be a mapping")
    return data


def _instrument_key(symbol: str) -> str:
    """``ES-SYN`` and ``ES`` share the ``ES`` defaults."""
    return symbol.split("-")[0].upper()


def defaults_key(spec: ModelSpec) -> str:
    """Key of a default entry: model and innovation law, e.g. ``gjr-sged``."""
    return f"{spec.model}-{spec.dist}"


def find_default(defaults: Mapping[str, Any], symbol: str, spec: ModelSpec) -> Mapping[str, Any] | None:
    """The default entry of ``symbol`` for ``spec``'s model *and* innovation law, or ``None``.

    Entries are keyed ``model-dist``; an entry keyed by the model alone is
    used only when its ``dist`` field names the same law.
    """
    table = defaults.get(_instrument_key(symbol)) or {}
    entry = table.get(defaults_key(spec))
    if entry is None:
        legacy = table.get(spec.model)
        entry = legacy if isinstance(legacy, Mapping) and legacy.get("dist") == spec.dist else None
    if not entry or "params" not in entry:
        return None
    return entry


class CalibrationPipeline:
    """Scheduled rolling-window calibration of one model for many instruments.

    Parameters
    ----------
    spec
        The model to calibrate.
    window
        Calibration window: a pandas offset/Timedelta string (``"30D"``) or
        an integer number of bars.
    frequency
        ``"daily"``, ``"weekly"`` or ``"on_demand"``.
    store
        Optional :class:`~volresearch.data.store.Store` receiving every calibration.
    defaults
        Default parameters by instrument (as in ``config/model_params.yaml``);
        loaded from the package when omitted.
    min_observations
        Fewest returns a calibration is attempted on.
    timezone
        Time zone in which "daily" and "weekly" boundaries are drawn.
    session_offset
        Added to local time before taking the date, so that an evening session
        belongs to the next trading date (futures open at 18:00 New York time:
        ``6h`` maps it to midnight).  Equity hours are unaffected.
    """

    def __init__(
        self,
        spec: ModelSpec | None = None,
        *,
        window: str | int | pd.Timedelta = "30D",
        frequency: Frequency = "daily",
        store: Any | None = None,
        defaults: Mapping[str, Any] | None = None,
        min_observations: int = 100,
        timezone: str = "America/New_York",
        session_offset: str | pd.Timedelta = "6h",
    ) -> None:
        if frequency not in ("daily", "weekly", "on_demand"):
            raise ConfigError(f"frequency must be daily, weekly or on_demand, not {frequency!r}")
        self.spec = spec or ModelSpec("gjr", "normal")
        self.window = window if isinstance(window, int) else pd.Timedelta(window)
        self.frequency = frequency
        self.store = store
        self.defaults = dict(defaults) if defaults is not None else load_default_params().get("defaults", {})
        self.min_observations = int(min_observations)
        self.timezone = timezone
        self.session_offset = pd.Timedelta(session_offset)
        self._history: dict[str, list[CalibrationResult]] = {}

    # ----------------------------------------------------------------- schedule
    def _period(self, ts: pd.Timestamp) -> tuple[int, ...]:
        local = (ts.tz_convert(self.timezone) if ts.tzinfo is not None else ts) + self.session_offset
        if self.frequency == "weekly":
            iso = local.isocalendar()
            return (iso[0], iso[1])
        return (local.year, local.month, local.day)

    def last(self, symbol: str) -> CalibrationResult | None:
        """Most recent calibration of ``symbol`` in this pipeline's history."""
        hist = self._history.get(symbol)
        return hist[-1] if hist else None

    def is_due(self, symbol: str, as_of: pd.Timestamp) -> bool:
        """Whether a scheduled recalibration is due at ``as_of``."""
        last = self.last(symbol)
        if last is None:
            return True
        if self.frequency == "on_demand":
            return False
        return self._period(pd.Timestamp(as_of)) != self._period(last.calibration_date)

    # ----------------------------------------------------------------- calibration
    def _window(self, bars: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        upto = bars.loc[:as_of]
        if isinstance(self.window, int):
            return upto.iloc[-(self.window + 1) :]
        return upto.loc[upto.index > as_of - self.window]

    def calibrate(self, symbol: str, bars: pd.DataFrame, *, as_of: Any = None) -> CalibrationResult:
        """Calibrate now on the window ending at ``as_of`` (default: the last bar).

        Only bars up to ``as_of`` are used.  Falls back to the instrument's
        defaults for the model and innovation law when the fit fails, else to
        the volatility cascade (EWMA, historical).

        Raises
        ------
        FitError
            The fit failed, no default exists and the window holds fewer than two prices.
        """
        as_of = bars.index[-1] if as_of is None else pd.Timestamp(as_of)
        win = self._window(bars, as_of)
        n_obs = max(len(win) - 1, 0)
        start = win.index[0] if len(win) else as_of
        try:
            if n_obs < self.min_observations:
                raise FitError(f"{n_obs} returns in the window < {self.min_observations}", reason="too_few")
            fit = fit_garch(win, self.spec)
        except FitError as exc:
            result = self._from_defaults(symbol, as_of, start, n_obs, str(exc), win)
        else:
            result = CalibrationResult(
                symbol, self.spec, as_of, start, as_of, n_obs, fit.params, fit.units, True, "garch", "", fit
            )
        self._record(result, None if result.fit is None else result.fit.meta)
        return result

    def _from_defaults(
        self,
        symbol: str,
        as_of: pd.Timestamp,
        start: pd.Timestamp,
        n_obs: int,
        reason: str,
        window: pd.DataFrame | None = None,
    ) -> CalibrationResult:
        entry = find_default(self.defaults, symbol, self.spec)
        if entry is None:
            return self._from_cascade(symbol, as_of, start, n_obs, reason, window)
        params = {k: float(v) for k, v in entry["params"].items()}
        units = dict(entry.get("units", {}))
        synthetic = bool(entry.get("synthetic", False))
        source = str(entry.get("source", ""))
        note = f"; defaults from {source}" + (" (synthetic data, not market data)" if synthetic else "")
        return CalibrationResult(
            symbol,
            self.spec,
            as_of,
            start,
            as_of,
            n_obs,
            MappingProxyType(params),
            MappingProxyType(units),
            False,
            "default",
            reason + note,
            source=source,
            synthetic=synthetic,
        )

    def _from_cascade(
        self,
        symbol: str,
        as_of: pd.Timestamp,
        start: pd.Timestamp,
        n_obs: int,
        reason: str,
        window: pd.DataFrame | None,
    ) -> CalibrationResult:
        from volresearch.models.robust import EWMA_LAMBDA, conditional_volatility

        key = f"no {defaults_key(self.spec)} defaults for {_instrument_key(symbol)}"
        est = None
        if window is not None and len(window) >= 2:
            est = conditional_volatility(window, window=max(len(window) - 1, 1), spec=self.spec)
        if est is None:
            raise FitError(
                f"calibration of {symbol} failed ({reason}), there are {key} and too few prices for the cascade",
                reason="no_defaults",
            )
        params = {"volatility": est.value}
        units = {"volatility": "log return per bar"}
        if est.method == "ewma":
            params["lambda"] = EWMA_LAMBDA
            units["lambda"] = "dimensionless"
        return CalibrationResult(
            symbol,
            self.spec,
            as_of,
            start,
            as_of,
            n_obs,
            MappingProxyType(params),
            MappingProxyType(units),
            False,
            est.method,
            f"{reason}; {key}: the volatility cascade answered ({est.method})",
            source="cascade",
        )

    def _record(self, result: CalibrationResult, meta: Mapping[str, Any] | None) -> None:
        self._history.setdefault(result.symbol, []).append(result)
        if self.store is not None:
            self.store.write_calibration(
                result.symbol,
                result.spec.model,
                result.spec.dist,
                dict(result.params),
                calibration_date=result.calibration_date,
                window_start=result.window_start,
                window_end=result.window_end,
                units=dict(result.units),
                converged=result.converged,
                method=result.method,
                meta={
                    "reason": result.reason,
                    "n_obs": result.n_obs,
                    "source": result.source,
                    "synthetic": result.synthetic,
                    **({} if meta is None else {"data_hash": meta.get("data_hash"), "versions": meta.get("versions")}),
                },
            )

    def run(self, symbol: str, bars: pd.DataFrame, *, quiet: bool | None = None) -> list[CalibrationResult]:
        """Walk through ``bars`` and calibrate wherever the schedule says so.

        With ``daily``/``weekly`` the first bar of each new trading date/week triggers a
        calibration on the window ending at the previous bar (no look-ahead);
        ``on_demand`` calibrates once, at the end.  A progress bar on stderr counts the
        calibrations (:func:`volresearch.progress.progress`; ``quiet=True`` turns it off).
        """
        from volresearch.progress import progress

        if self.frequency == "on_demand":
            return [self.calibrate(symbol, bars)]
        idx = bars.index
        local = (idx.tz_convert(self.timezone) if idx.tz is not None else idx) + self.session_offset
        if self.frequency == "weekly":
            iso = local.isocalendar()
            period = iso["year"].to_numpy() * 100 + iso["week"].to_numpy()
        else:
            period = local.year * 10_000 + local.month * 100 + local.day
            period = np.asarray(period)
        starts = np.flatnonzero(np.r_[False, period[1:] != period[:-1]])
        out = []
        for pos in progress(starts, desc=f"calibrating {symbol}", unit="fit", quiet=quiet):
            as_of = idx[pos - 1]
            try:
                out.append(self.calibrate(symbol, bars, as_of=as_of))
            except FitError:
                continue
        return out

    def history(self, symbol: str | None = None) -> pd.DataFrame:
        """Calibrations made by this pipeline, one row each, parameters as columns."""
        rows = []
        for sym, results in self._history.items():
            if symbol is not None and sym != symbol:
                continue
            for r in results:
                rows.append(
                    {
                        "symbol": sym,
                        "calibration_date": r.calibration_date,
                        "method": r.method,
                        "converged": r.converged,
                        "n_obs": r.n_obs,
                        **dict(r.params),
                    }
                )
        return pd.DataFrame(rows)


#: What the shipped defaults file says about where its numbers come from.
DEFAULTS_NOTE = (
    "Per-bar log-return units, keyed by instrument and model-law (e.g. gjr-sged). ES, NQ, GC and SI come from "
    "the package's own SYNTHETIC one-minute series (synthetic: true), not from market data: use them only as "
    "placeholders. SPX and NDX come from real S&P 500 and NASDAQ daily bars. Regenerate with "
    "volresearch.models.calibration.write_default_params."
)


def derive_defaults(
    datasets: Mapping[str, pd.DataFrame],
    *,
    models: tuple[str, ...] = ("garch", "gjr", "egarch"),
    dists: tuple[str, ...] = ("normal", "t", "sged"),
    source: str = "",
    quiet: bool | None = None,
) -> dict[str, Any]:
    """Calibrate each dataset and return the ``defaults`` structure of ``model_params.yaml``.

    Parameters
    ----------
    datasets
        Bars by instrument key (``"ES"`` ...); ``attrs["source"]`` and
        ``attrs["synthetic"]`` of each frame are recorded with its entries.
    models, dists
        Models and innovation laws to calibrate; entries are keyed ``model-dist``.
    source
        Text stored with each entry saying what data produced it (default: the frame's ``attrs["source"]``).
    quiet
        ``True``: no progress bar (default: a bar on stderr counting the fits).

    Returns
    -------
    dict
        ``{instrument: {"model-dist": entry}}``.  An entry holds ``params``,
        ``units``, ``dist``, ``mean``, ``persistence``,
        ``unconditional_vol_per_bar``, the window, ``source``, ``synthetic`` and
        any ``flags`` of the fit; a fit that fails its checks gives an entry
        with ``failed`` (its reason) and no ``params``, so it is never used.
    """
    from volresearch.models.returns import default_mean
    from volresearch.progress import progress

    out: dict[str, Any] = {}
    bar = progress(total=len(datasets) * len(models) * len(dists), desc="calibrating defaults", unit="fit", quiet=quiet)
    for key, bars in datasets.items():
        entry: dict[str, Any] = {}
        src = source or str(bars.attrs.get("source", ""))
        synthetic = bool(bars.attrs.get("synthetic", False))
        mean = default_mean(bars)
        for m in models:
            for d in dists:
                bar.update()
                spec = ModelSpec(m, d, mean)
                name = defaults_key(spec)
                try:
                    fit = fit_garch(bars, spec)
                except FitError as exc:  # defaults come only from fits that pass every check
                    entry[name] = {"failed": str(exc), "source": src, "synthetic": synthetic}
                    continue
                entry[name] = {
                    "params": {k: float(f"{v:.9g}") for k, v in fit.params.items()},
                    "units": dict(fit.units),
                    "dist": d,
                    "mean": mean,
                    "persistence": float(f"{fit.persistence:.9g}"),
                    "unconditional_vol_per_bar": float(f"{fit.unconditional_vol_per_bar:.6g}"),
                    "window_start": str(fit.start),
                    "window_end": str(fit.end),
                    "n_obs": fit.n_obs,
                    "source": src,
                    "synthetic": synthetic,
                    **({"flags": list(fit.all_flags)} if fit.all_flags else {}),
                }
        out[key] = entry
    bar.close()
    return out


def write_default_params(path: str | Path, *, extra_files: Mapping[str, str | Path] | None = None) -> dict[str, Any]:
    """Regenerate ``model_params.yaml``: calibrate the embedded datasets (and any extra files).

    ``ES``/``NQ``/``GC``/``SI`` come from the embedded synthetic 1-minute series
    (flagged ``synthetic: true``), ``SPX`` and ``NDX`` from the real S&P 500
    and NASDAQ daily bars; ``extra_files`` maps further instrument keys to bar
    files (e.g. real 1-minute data) whose calibrations are added with their source.
    """
    from volresearch.data import datasets, open_bars, validate_bars

    sources: dict[str, pd.DataFrame] = {}
    for key, name in (
        ("ES", "es_synthetic"),
        ("NQ", "nq_synthetic"),
        ("GC", "gc_synthetic"),
        ("SI", "si_synthetic"),
        ("SPX", "sp500"),
        ("NDX", "nasdaq"),
    ):
        bars = datasets.load(name)
        if bars.attrs.get("synthetic"):
            bars.attrs["source"] = f"{name}: the package's synthetic series (not market data)"
        sources[key] = bars
    for key, file in (extra_files or {}).items():
        bars = validate_bars(open_bars(file), policy="repair").bars
        bars.attrs["source"] = Path(file).name
        sources[key] = bars
    payload = {"note": DEFAULTS_NOTE, "defaults": derive_defaults(sources)}
    header = "".join(f"# {line}\n" for line in textwrap.wrap(DEFAULTS_NOTE, 100))
    Path(path).write_text(header + yaml.safe_dump(payload, sort_keys=False, width=120), encoding="utf-8")
    return payload
