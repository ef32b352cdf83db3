"""Source of notebook 04_paths_and_particle_filter."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "04_paths_and_particle_filter.ipynb", [
    ("md", """
# 04 · Monte Carlo paths and the particle filter: the rolling 24-hour forecast

A fitted GJR-GARCH with skewed-GED innovations simulates thousands of one-minute price paths, each
driven by **its own** shocks (so volatility clusters inside the fan). A particle filter keeps the
model's state current bar by bar, and after every bar the full 24 hours ahead are regenerated.
The default series is the embedded **synthetic** ES-like futures data (labelled as such); `data`
takes any CSV/Parquet file of bars, and `instrument` names its symbol in the instrument table. Prices
are written at the instrument's tick precision: the tick comes from the instrument table when the
symbol is known, else from the data's price grid; the particle filter uses it as observation noise.

The mean is zero by default (`mean = "auto"` gives a zero mean for intraday bars): a constant mean
estimated from a few thousand minutes is mostly noise, and over 1,440 bars that noise alone would move
the directional bias score by about sqrt(horizon / fit bars) standard deviations. Set `mean =
"constant"` to estimate one; its standard error is then shown next to the bias it drives.
"""),
    ("params", """
data = "es_synthetic"  # embedded dataset name, or a CSV/Parquet file of bars
instrument = None     # symbol in the instrument table (tick size); None: tick from the data's price grid
model = "gjr"
dist = "sged"
mean = "auto"         # "auto": zero for intraday bars, constant for daily; or "zero" / "constant"
fit_bars = 8000       # bars used to fit the model
n_paths = 5000
horizon = 1440        # one-minute steps: 24 trading hours
n_particles = 2000
replay_bars = 240     # bars replayed through the filter
seed = 7
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.data import open_bars
from volresearch.formatting import PriceFormat, instrument_tick
from volresearch.models import ModelSpec, fit_garch
from volresearch.models.returns import default_mean
from volresearch.plots import ess_plot, fan_chart
from volresearch.registry import simulate_model
from volresearch.signals import analyze_distribution
from volresearch.simulate import RollingForecaster

hv.extension("bokeh")
bars = open_bars(data)
tick = instrument_tick(instrument, bars)
fmt = PriceFormat.for_instrument(instrument, bars)
print(bars.attrs.get("source", "file"), "synthetic:", bars.attrs.get("synthetic", False), len(bars), "bars;",
      "prices", fmt.describe())
fit = fit_garch(bars.iloc[:fit_bars], ModelSpec(model, dist, default_mean(bars, mean)))
print(fit.summary())
"""),
    ("check", """
print(f"{fit.spec.label}, {fit.spec.mean} mean: method {fit.method}, converged {fit.converged}, "
      f"{fit.n_obs} returns, log-likelihood {fit.loglik:.1f}, persistence {fit.persistence:.4f}")
for name, value in fit.params.items():
    print(f"  {name:<6} {value:11.4g}  se {fit.std_errors.get(name, float('nan')):.3g}")
"""),
    ("md", """
## The 24-hour fan
Quantile bands of price per step ahead (50/80/90/95% central bands), a few individual paths, the
zones of the terminal distribution, and the price path that actually followed. Steps are trading
minutes of the session calendar, and the x axis is session time: the daily maintenance break and
weekends take no room and are marked by dashed lines.
"""),
    ("code", """
levels = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
fan = simulate_model(fit, n_paths, horizon, seed=seed, quantiles=levels)
bands = fan.quantiles(levels)
history = bars["close"].iloc[fit_bars - 240 : fit_bars]
realised = bars["close"].iloc[fit_bars - 1 : fit_bars + horizon]
analysis = analyze_distribution(fan.terminal(), fit.last_price)
samples = pd.DataFrame(fan.sample_paths[:, :8]) if fan.sample_paths is not None else None
fan_chart(bands, history=history, realised=realised, sample_paths=samples, zones=analysis.to_frame(),
          title=f"{fit.spec.label}: {n_paths} paths, {horizon} one-minute steps")
"""),
    ("code", """
print(analysis.summary())
fan.summary()
"""),
    ("md", """
The terminal distribution and the directional bias, rounded. When the fit has a constant mean, its
standard error is shown next to the bias: the estimated drift over the horizon, in units of the
terminal spread, is part of the bias score, and its standard error says how much of it is noise.
"""),
    ("check", """
a = analysis
print(f"{a.n_paths} paths, {horizon} steps from {fmt.price(a.current_price)}: mean {fmt.price(a.mean)}, "
      f"std {fmt.spread(a.std)}, P(up) {a.prob_above:.1%}")
print("quantiles:", ", ".join(f"{level:.0%} {fmt.price(value)}" for level, value in a.quantiles.items()))
print(f"bias {a.bias} (score {a.bias_score:+.3f}, threshold {a.bias_threshold:g})")
if fit.spec.mean == "constant":
    mu, mu_se = fit.params["mu"], fit.std_errors["mu"]
    spread = a.std / a.current_price  # standard deviation of the horizon log return, about
    print(f"constant mean mu = {mu:.3g} per bar (se {mu_se:.2g}, t = {mu / mu_se:.1f}): over {horizon} bars it adds "
          f"{mu * horizon / spread:+.3f} to the bias score (se {mu_se * horizon / spread:.3f})")
else:
    print("zero mean: the bias comes from the simulated volatility dynamics and skew alone")
print(fan.summary().select_dtypes("number").round(fmt.decimals).to_string())
"""),
    ("md", """
## Keeping it current: replaying bars through the particle filter
Each bar advances the particles by the bars elapsed (a missing minute is two steps; the maintenance
break counts only trading bars), weights them by the close in log space, resamples when the effective
sample size falls below N/2, and regenerates the full 24 hours ahead.
"""),
    ("code", """
rf = RollingForecaster(fit, n_particles=n_particles, seed=seed, tick_size=tick)
replay = rf.replay(bars.iloc[fit_bars : fit_bars + replay_bars])
per_bar = replay.drop_duplicates("timestamp").set_index("timestamp")
"""),
    ("check", """
print(f"{len(per_bar)} bars replayed; resampled on {int(per_bar['resampled'].sum())} of them; "
      f"median ESS {per_bar['ess'].median():.0f} of {n_particles}")
"""),
    ("code", """
ess_plot(per_bar["ess"], n_particles=n_particles)
"""),
    ("md", "## Forecast versus realised\nThe 60-minute-ahead 90% band made after each bar, against the close that was realised 60 trading minutes later."),
    ("code", """
h = 60
f60 = replay[replay["horizon"] == h].reset_index(drop=True)
closes = bars["close"].to_numpy()
pos = np.arange(fit_bars, fit_bars + len(f60)) + h
ok = pos < len(closes)
f60 = f60[ok].assign(realised=closes[pos[ok]])
inside = ((f60["realised"] >= f60["p5"]) & (f60["realised"] <= f60["p95"])).mean()
"""),
    ("check", """
print(f"realised inside the 90% band: {inside:.1%} of {len(f60)} (overlapping) forecasts")
"""),
    ("code", """
x = np.arange(len(f60))
(hv.Area((x, f60["p5"], f60["p95"]), vdims=["p5", "p95"], label="90% band").opts(alpha=0.3)
 * hv.Curve((x, f60["p50"]), label="median")
 * hv.Curve((x, f60["realised"]), label="realised").opts(color="black")
).opts(height=320, responsive=True, xlabel="forecast origin (bars into the replay)", ylabel="price", legend_position="top_left")
"""),
])
