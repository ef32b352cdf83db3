"""Source of notebook 07_intraday_seasonality."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "07_intraday_seasonality.ipynb", [
    ("md", """
# 07 · Intraday seasonality: realised measures, the diurnal factor, HAR-RV and the multiplicative model

One-minute volatility follows the clock: quiet nights, violent opens, a maintenance break. A GARCH fitted
to raw one-minute returns mistakes that daily rhythm for volatility clustering and comes out nearly
integrated. The multiplicative-component model (Engle-Sokalska 2012) splits the variance of a one-minute
return into a daily level `h_d` (daily GARCH, HAR-RV or EWMA of realised variance), a diurnal factor
`s_i` by bar of the session, and an intraday GARCH `q` on what is left:
$r_{d,i} = \\sqrt{h_d\\, s_i\\, q_{d,i}}\\, z_{d,i}$.

This notebook shows each piece on one series: realised measures per session day, the diurnal shape
with its bootstrap band, HAR-RV, the multiplicative model against a plain GJR on the same bars, a
24-hour fan that follows the session, and a short walk-forward of 95% coverage by 4-hour bucket.
The default series is the embedded **synthetic** ES-like futures data (labelled as such); `data`
takes any CSV/Parquet file of intraday bars, and `instrument` names its symbol in the instrument
table (tick size and session calendar), or leave it `None` to infer both from the data.
"""),
    ("params", """
data = "es_synthetic"  # embedded dataset name, or a CSV/Parquet file of intraday bars
instrument = None      # symbol in the instrument table (tick size, calendar); None: from the data
calendar = None        # session calendar preset; None: the instrument's, else inferred from the bars
days = 40              # sessions generated for a synthetic dataset (ignored for files and real data)
dist = "sged"          # innovation law of the intraday and the plain GJR
n_boot = 100           # bootstrap replications of the diurnal band
n_paths = 2000         # paths of the 24-hour fans
horizon = 1440         # one-minute steps ahead
wf_in_sample = 13800   # walk-forward: bars per fit
wf_out_of_sample = 2760  # bars per out-of-sample window
wf_windows = 3         # windows (the last ones of the data)
wf_horizon = 60        # bars ahead of each forecast
wf_step = 30           # bars between forecast origins
wf_paths = 300         # ensemble members per forecast
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.config import get_instrument
from volresearch.data import datasets, get_calendar, infer_calendar, open_bars, session_returns, validate_bars
from volresearch.errors import ConfigError, DataError
from volresearch.formatting import PriceFormat
from volresearch.models import fit_diurnal, fit_har, realized_measures
from volresearch.plots import diurnal_chart, fan_chart, step_volatility_chart
from volresearch.registry import fit_model, simulate_model
from volresearch.validate import walk_forward

hv.extension("matplotlib")
hv.output(fig="png")

info = datasets.DATASETS.get(data) if isinstance(data, str) else None
if info is not None and not info.real:
    bars = datasets.load(data, days=days, seed=seed)
else:
    bars = open_bars(data)
source, synthetic = bars.attrs.get("source", "file"), bars.attrs.get("synthetic", False)
bars = validate_bars(bars, "repair").bars

spec = None
if instrument is not None:
    try:
        spec = get_instrument(instrument)
    except ConfigError:
        print(f"{instrument} is not in the instrument table: tick size and calendar come from the data")
if calendar is not None:
    cal, why = get_calendar(calendar), "given"
elif spec is not None:
    cal, why = get_calendar(spec.calendar), f"{spec.symbol}'s session"
else:
    cal, why = infer_calendar(bars.index)
fmt = PriceFormat.for_instrument(instrument, bars)
print(f"{source} (synthetic: {synthetic}): {len(bars)} one-minute bars, "
      f"{bars.index[0]:%Y-%m-%d %H:%M} .. {bars.index[-1]:%Y-%m-%d %H:%M} UTC")
print(f"calendar {cal.name} ({why}); prices {fmt.describe()}")
"""),
    ("md", """
## Session-aware returns
The calendar decides which bar-to-bar returns are one-minute returns (`regular`, or `intraday_gap`
over a few missing minutes) and which cross a break, a weekend or a long hole (`gap`): gap returns
belong to the daily component, never to the intraday GARCH.
"""),
    ("code", """
sr = session_returns(bars, cal)
kinds = sr["kind"].value_counts()
zero_share = float((sr.loc[sr["kind"] == "regular", "return"] == 0).mean())
"""),
    ("check", """
print(f"{int(sr['session'].nunique())} sessions; returns: " + ", ".join(f"{k} {int(kinds.get(k, 0))}" for k in ("regular", "intraday_gap", "gap")))
print(f"share of one-minute returns exactly zero (price grid): {zero_share:.1%}")
"""),
    ("md", """
## Realised measures per session day
Realised variance from one-minute returns (`rv`) and subsampled 5-minute RV averaged over the five
offsets (`rv_sub`, less sensitive to microstructure noise), bipower variation (`bv`, robust to jumps),
the Barndorff-Nielsen-Shephard jump statistic with its flag at 5%, and the Parkinson and Garman-Klass
range estimators. Variances are per session day, in squared log-return units.
"""),
    ("code", """
rm = realized_measures(bars, cal)
daily = rm.daily
cols = ["rv", "rv_sub", "bv", "jump_stat", "jump_flag", "parkinson", "garman_klass", "n_returns"]
daily[cols].tail(10)
"""),
    ("code", """
vol = np.sqrt(daily[["rv", "rv_sub", "bv"]]) * 100
hv.Overlay([hv.Curve((vol.index, vol[c]), "session", "daily volatility (%)", label=c) for c in vol.columns]).opts(
    fig_inches=10, aspect=3, legend_position="top_left", title="Realised volatility per session day")
"""),
    ("check", """
print(f"{rm.n_days} session days; mean daily volatility: RV {np.sqrt(daily['rv'].mean()):.3%}, "
      f"5-min subsampled {np.sqrt(daily['rv_sub'].mean()):.3%}, bipower {np.sqrt(daily['bv'].mean()):.3%}")
print(f"mean BV / RV {(daily['bv'] / daily['rv']).mean():.3f}; days flagged with a jump at 5%: "
      f"{int(daily['jump_flag'].sum())} of {rm.n_days}")
"""),
    ("md", """
## The diurnal factor
The variance factor `s_i` of each bar of the session (mean 1 over the session): a robust (median)
statistic of |return| relative to the day's volatility per slot, smoothed by a flexible Fourier form
(Andersen-Bollerslev) with a dummy at the open, and a bootstrap band over days. Slots are counted
from the session's open by the calendar, so breaks, half-days and missing bars cannot misalign them.
"""),
    ("code", """
diurnal = fit_diurnal(bars, cal, n_boot=n_boot, seed=seed)
print(diurnal.summary())
last_open = pd.Timestamp(pd.to_datetime(cal.sessions(bars.index[-1] - pd.Timedelta(days=7), bars.index[-1])["open"],
                                        utc=True).iloc[-1])
slot_times = pd.DatetimeIndex([last_open + i * pd.Timedelta(seconds=diurnal.bar_seconds)
                               for i in range(diurnal.n_slots)], name="time")
shape = pd.DataFrame({"factor": diurnal.factor, "lower": diurnal.lower, "upper": diurnal.upper, "raw": diurnal.raw},
                     index=slot_times)
diurnal_chart(shape, title=f"Diurnal variance factor ({cal.name}), {diurnal.band_level:.0%} bootstrap band")
"""),
    ("check", """
f = np.asarray(diurnal.factor)
peak, trough = int(np.argmax(f)), int(np.argmin(f))
print(f"{diurnal.n_slots} slots; peak {f[peak]:.2f} at {slot_times[peak]:%H:%M} UTC, "
      f"trough {f[trough]:.2f} at {slot_times[trough]:%H:%M} UTC: peak/trough ratio {f[peak] / f[trough]:.1f}")
width = (np.asarray(diurnal.upper) - np.asarray(diurnal.lower)) / f
print(f"mean relative width of the band: {np.nanmean(width):.2f}" if np.isfinite(width).any() else "no band")
"""),
    ("md", """
## HAR-RV
Corsi's HAR on log realised variance, estimated by `arch`'s `HARX`: tomorrow's log RV on today's,
the last week's and the last month's averages (lags 1, 5, 22 sessions; it needs at least 32 days).
"""),
    ("code", """
try:
    har = fit_har(rm)
    print(har.summary())
    har_forecast = har.forecast(5)
except DataError as exc:  # too few session days for lags 1, 5, 22
    har, har_forecast = None, None
    print(f"HAR-RV not fitted: {exc}")
har_forecast
"""),
    ("check", """
if har is None:
    print(f"HAR-RV needs at least 32 session days; the data have {rm.n_days}")
else:
    print(f"{har.nobs} days, R^2 {har.rsquared:.3f}")
    for name, value in har.params.items():
        print(f"  {name:<7} {value:8.3f}  se {har.std_err[name]:.3f}")
    print(f"next session's RV forecast: daily volatility {np.sqrt(har_forecast['rv'].iloc[0]):.3%}")
"""),
    ("md", """
## The multiplicative intraday model against a plain GJR on the same bars
Both fits use the same innovation law. The plain GJR sees every bar-to-bar return, gaps included, and
reads the daily rhythm as clustering; the intraday model's `q` sees deseasonalised one-minute returns
only. Persistence is `alpha + beta + gamma P(z<0)`; the unconditional variance of each model is
compared with the sample's mean squared one-minute return (near 1 when the level is consistent).
"""),
    ("code", """
intraday_name = f"intraday-gjr-{dist}"
ifit = fit_model(intraday_name, bars, calendar=cal, seed=seed)
plain = fit_model(f"gjr-{dist}", bars)
print(ifit.summary())
print(plain.summary())
"""),
    ("check", """
r = np.diff(np.log(bars["close"].to_numpy()))
print(f"intraday model ({intraday_name}): persistence of q {ifit.persistence:.3f}, daily component "
      f"{ifit.daily.method}, sample / model variance {ifit.diagnostics['variance_ratio']:.2f}")
print(f"plain gjr-{dist}: persistence {plain.persistence:.4f}, "
      f"unconditional / sample variance {plain.unconditional_variance / np.mean(r ** 2):.2f}")
"""),
    ("md", """
## A 24-hour fan that follows the session
Each fan simulates `horizon` one-minute steps on the session calendar; the x axis is session time
(breaks and weekends take no room and are marked). The intraday model's bands widen into the busy
hours and narrow at night; the plain GJR's widen at one pace. Below, the per-bar volatility of the
intraday model's clock (daily level times the diurnal factor, `q` at its mean).
"""),
    ("code", """
levels = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
history = bars["close"].iloc[-240:]
fans = {name: simulate_model(f, n_paths, horizon, seed=seed, quantiles=levels)
        for name, f in ((intraday_name, ifit), (f"gjr-{dist}", plain))}
fan_chart(fans[intraday_name].quantiles(levels), history=history,
          title=f"Multiplicative intraday model ({intraday_name}): {n_paths} paths, {horizon} steps")
"""),
    ("code", """
fan_chart(fans[f"gjr-{dist}"].quantiles(levels), history=history,
          title=f"Plain gjr-{dist} on the same bars: {n_paths} paths, {horizon} steps")
"""),
    ("code", """
step_times = pd.DatetimeIndex(fans[intraday_name].times[1:])
clock = pd.Series(np.sqrt(ifit.variance_multiplier(step_times)) * 1e4, index=step_times)
step_volatility_chart(clock, title="Intraday model: volatility per forecast step (daily x diurnal)",
                      ylabel="volatility per bar (bp)")
"""),
    ("code", """
ends = {name: fan.quantiles([0.025, 0.5, 0.975]).iloc[-1] for name, fan in fans.items()}
for name, q in ends.items():
    print(f"{name}: after {horizon} steps median {fmt.price(q[0.5])}, 95% interval "
          f"{fmt.price(q[0.025])} .. {fmt.price(q[0.975])}")
"""),
    ("md", """
## Walk-forward: 95% coverage by 4-hour bucket
A short walk-forward on the last `wf_windows` windows: fits on `wf_in_sample` bars, then forecasts of
the `wf_horizon`-bar log return every `wf_step` bars with `wf_paths` paths, every model on the same
windows and origins. **Before** any time-of-day treatment: the plain GJR and `arch`'s own GJR-skew-t
forecast. **After**: the multiplicative intraday model, and `arch`'s GJR-skew-t on returns scaled by a
crude 30-minute time-of-day factor (`arch-diurnal`, the bar a seasonal model has to clear). A
calibrated forecaster covers 95% in every bucket; with a few dozen forecasts per bucket the binomial
band is wide, so read the table for the pattern across buckets rather than for single cells.
"""),
    ("code", """
wf_bars = bars.iloc[-(wf_in_sample + wf_windows * wf_out_of_sample + 1):]
layout = dict(in_sample=wf_in_sample, out_of_sample=wf_out_of_sample, horizon=wf_horizon, step=wf_step,
              n_paths=wf_paths, seed=seed, calendar=cal, quiet=True)
wf_plain = walk_forward(wf_bars, f"gjr-{dist}", reference="arch", reference_options={"n_sims": wf_paths}, **layout)
wf_intraday = walk_forward(wf_bars, intraday_name, reference="arch-diurnal", reference_options={"n_sims": wf_paths},
                           **layout)


def coverage_row(result):
    row = {"forecasts": len(result.forecasts), "crps_bp": result.crps * 1e4, "coverage_95": result.coverage(0.95)}
    row |= {f"cov95 {b}": v["coverage"] for b, v in result.buckets.coverage_by_bucket(0.95).items()}
    return row


table = pd.DataFrame.from_dict({
    f"gjr-{dist} (before)": coverage_row(wf_plain),
    "arch gjr-skewt (before)": coverage_row(wf_plain.reference),
    f"{intraday_name} (after)": coverage_row(wf_intraday),
    "arch gjr-skewt, 30-min time of day (after)": coverage_row(wf_intraday.reference),
}, orient="index")
table
"""),
    ("check", """
print(table.round(3).to_string())
"""),
    ("code", """
buckets = table.filter(like="cov95 ").rename(columns=lambda c: c.split(" ", 1)[1])
hv.Overlay(
    [hv.Curve((list(buckets.columns), row.to_numpy()), "bucket (UTC)", "95% coverage", label=name)
     * hv.Scatter((list(buckets.columns), row.to_numpy()), "bucket (UTC)", "95% coverage", label=name)
     for name, row in buckets.iterrows()]
    + [hv.HLine(0.95).opts(color="black", linestyle="--")]
).opts(fig_inches=10, aspect=3, ylim=(0.5, 1.02), legend_position="bottom_left",
       title="95% coverage by 4-hour bucket of the forecast origin")
"""),
])
