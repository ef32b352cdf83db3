"""Source of notebook 11_ensembles."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "11_ensembles.ipynb", [
    ("md", """
# 11 · Ensembles: the linear pool of volatility models, its weights, and whether it helps

An ensemble here is a *density* combination: the pool of the members' predictive laws,
$F(y) = \\sum_j w_j F_j(y)$. Its variance is within plus between,
$\\sigma^2 = \\sum_j w_j \\sigma_j^2 + \\sum_j w_j (\\mu_j - \\mu)^2$, so disagreement between members
widens the pool. The weights come from the members' one-bar predictive laws over the fit window
(nothing after it): equal, inverse QLIKE, a simplex regression of squared returns on the members'
variances, the optimal log-score pool, or (``adaptive``) weights that move with the state of the market:
a softmax of meta-features of the return history (volatility level, vol of vol, trend, jump share, the
volatility regime's rank) trained on the pool's log score, with an entropy reward against collapse onto one
member, a correlation penalty, and a circuit breaker that falls back to equal weights when the features
leave the range of the training window. Every surface sees the ensemble as one registered model,
`ensemble-<rule>`: `fit`, `simulate`, `validate`, `compare`, the report and the dashboard.
Members can be any registered model: the GARCH family, Heston, SVCJ, Merton, RiskMetrics EWMA,
historical simulation and the HAR of the daily range variance (the one member that sees the high-low range).

Prophet and LSTM members (from the seed's design) are not here: volatility forecasting at one day is about
the conditional variance of a nearly unpredictable series, where a trend-and-seasonality curve fitter has
nothing to fit and a recurrent network trained on a few thousand daily returns is outperformed by GARCH(1,1)
in the published comparisons while costing a heavy install; a member earns its place by entering the
Model Confidence Set below, which these would have to show first.
"""),
    ("params", """
data = "sp500"          # embedded dataset name or a CSV/Parquet file of daily bars
fit_bars = 1500         # bars of the fit (the last ones)
members = ["garch-normal", "gjr-skewt", "egarch-t", "heston", "har-range"]
n_paths = 4000          # paths of the fans
horizon = 20            # bars ahead
wf_last = 1400          # walk-forward: the last bars used
wf_in_sample = 1000     # bars per fit
wf_out_of_sample = 200  # bars per out-of-sample window
wf_step = 4             # bars between forecast origins
wf_paths = 400          # ensemble members per forecast
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.data import open_bars
from volresearch.ensembles import effective_members, mixture_moments
from volresearch.ensembles.features import FEATURES
from volresearch.ensembles.model import SCHEMES, fit_ensemble, in_sample_weights, weight_path
from volresearch.ensembles.stress import shocked_bars, stress_test
from volresearch.predictive import one_step_predictive
from volresearch.plots import attribution_chart, ensemble_weights_chart, fan_chart
from volresearch.registry import simulate_model
from volresearch.validate.compare import compare_models
from volresearch.validate.mcs import compare_table, model_confidence_set

hv.extension("matplotlib")
hv.output(fig="png")
bars = open_bars(data)
sample = bars.iloc[-(fit_bars + 1):]
print(f"{data}: {len(bars)} bars, fit on the last {len(sample) - 1} returns, members {members}")
"""),
    ("md", """
## The weights of each rule, from the same member fits

Each rule sees the members' in-sample one-bar predictive laws. The log-score pool is the simplex point
with the highest mean log predictive density; by construction it is at least as good in sample as any
single member (each member is a vertex of the simplex).
"""),
    ("check", """
ens = fit_ensemble(sample, scheme="log-score", members=members)  # fits every member once
frames = [one_step_predictive(m, sample) for m in ens.members]  # their in-sample one-bar predictive laws
weights = {scheme: in_sample_weights(frames, scheme)[0] for scheme in SCHEMES if scheme != "adaptive"}
print(pd.DataFrame({s: np.round(w, 3) for s, w in weights.items()}, index=ens.names).to_string())
print("in-sample mean log score per member:",
      {n: round(float(v), 4) for n, v in zip(ens.names, ens.in_sample["log_score"])})
print("pool (log-score weights):", round(ens.in_sample["pool_log_score"], 4),
      "| effective members:", {s: round(effective_members(w), 2) for s, w in weights.items()})
print("members left out:", ens.rejected or "none")
"""),
    ("md", """
## The pool's variance is within plus between

The one-bar variance of the pool from the members' next-bar means and variances, checked against the
simulated pool (stratified paths: each member simulates its share of the paths with its own seed).
"""),
    ("check", """
states = [m.filter_state() for m in ens.members]
means = ens.member_means(states)
variances = [s["next_variance"] for s in states]
mean, var = mixture_moments(means, variances, ens.weights)
within = float(np.dot(ens.weights, variances))
paths = simulate_model(ens, 100_000, 1, seed=seed, mode="matrix")
r = np.diff(paths.log_prices, axis=0)[0]
print(f"within {within:.4e} + between {var[0] - within:.2e} = {var[0]:.4e}; simulated {r.var():.4e} "
      f"(ratio {r.var() / var[0]:.3f})")
"""),
    ("md", "## Fans: the pool against its two most different members"),
    ("code", """
levels = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
fan = simulate_model(ens, n_paths, horizon, seed=seed, quantiles=levels)
history = sample["close"].iloc[-120:]
charts = [fan_chart(fan, history=history, title=f"pool ({ens.scheme} weights), {horizon} bars")]
for name in (ens.names[int(np.argmax(ens.weights))], ens.names[int(np.argmin(ens.weights))]):
    member = ens.members[ens.names.index(name)]
    charts.append(fan_chart(simulate_model(member, n_paths, horizon, seed=seed, quantiles=levels), history=history,
                            title=f"{name} (weight {ens.weights[ens.names.index(name)]:.2f})"))
hv.Layout(charts).cols(3).opts(fig_size=110)
"""),
    ("md", """
## Adaptive weights: which member, when

The adaptive pool's gate is trained on the same in-sample forecasts. The weights of each forecast follow
the features known before it; the first year of the window has no feature history yet and takes the gate's
baseline. The attribution splits the move of each weight at the next forecast (from the baseline, the
training window's average state) over the features (integrated gradients: a row adds up to the move).
"""),
    ("check", """
adaptive = fit_ensemble(sample, scheme="adaptive", members=members)
path = weight_path(adaptive, sample)
eff = 1.0 / (path**2).sum(axis=1)
print(f"effective members: mean {eff.mean():.2f}, min {eff.min():.2f} of {len(adaptive.names)}; "
      f"next forecast {adaptive.effective_members:.2f}")
print("next-forecast weights:", {n: round(float(w), 3) for n, w in zip(adaptive.names, adaptive.weights)})
z = adaptive.features_after([])[-1]
attribution = pd.DataFrame(adaptive.gate.attribution(z), index=adaptive.names, columns=FEATURES)
print("standardised features now:", {f: round(float(v), 2) for f, v in zip(FEATURES, z)})
"""),
    ("code", """
(ensemble_weights_chart(path, title="adaptive pool weights") + attribution_chart(attribution)).cols(1)
"""),
    ("md", """
## Stress: a synthetic crash the gate never saw

A one-day crash of 20% followed by 20 days of returns four times larger is written into the last months of
the sample; every model is fitted on the bars before it and forecasts each day of the shock one day ahead
(nothing of the shock is used to fit anything judged on it). Features far outside the training range trip
the circuit breaker: those forecasts use equal weights and are counted. The README reports the 2008 crisis
replayed the same way on the whole S&P 500 and NASDAQ.
"""),
    ("check", """
import logging

logging.getLogger("volresearch.ensembles.stacking").setLevel(logging.ERROR)  # each firing is counted below
shock_at = sample.index[-60]
shocked = shocked_bars(bars.loc[: sample.index[-1]], shock_at, factor=4.0, bars_long=20, crash=-0.2)
stress = stress_test(shocked, [members[0], "ensemble-log-score", "ensemble-adaptive"], start=shock_at,
                     end=sample.index[-1], train=wf_in_sample, n_paths=wf_paths, seed=seed)
print(stress.table[["coverage_95", "log_score", "qlike", "breaker_forecasts", "partial_forecasts"]].round(3)
      .to_string())
print(stress.weights["ensemble-adaptive"].head(3).round(3).to_string())
"""),
    ("md", """
## Out of sample: members and ensembles on the same origins, DM tests and the Model Confidence Set

Every model refitted every `wf_out_of_sample` bars on the same origins (the ensembles refit their members
and their weights there too). QLIKE is that of the variance forecast against the squared return; the
Diebold-Mariano p-values are against GARCH(1,1)-normal; the MCS (10%, stationary bootstrap) keeps the
models not shown worse than the best. The README's benchmark runs the same on the whole S&P 500.
"""),
    ("check", """
window = bars.iloc[-wf_last:]
names = [members[0], *members[1:], "ewma", "ensemble-equal", "ensemble-log-score", "ensemble-adaptive"]
cmp = compare_models(window, names, in_sample=wf_in_sample, out_of_sample=wf_out_of_sample, step=wf_step,
                     horizon=1, n_paths=wf_paths, seed=seed, quiet=True)
results = {n: cmp.results[n] for n in names}
mcs = model_confidence_set(results, size=0.10, reps=500, seed=seed)
view = compare_table(results, mcs)[["qlike", "log_score", "coverage_95", "dm_pvalue_vs_baseline", "in_mcs",
                                   "breaker_forecasts"]]
print(f"{cmp.results[names[0]].n_forecasts} common one-day forecasts")
print(view.round(4).to_string())
print("MCS:", ", ".join(mcs.included), f"(block {mcs.settings['block_size']}, {mcs.settings['reps']} reps)")
"""),
    ("md", """
Read the table honestly: on a few hundred daily forecasts the differences between GARCH-type members are
small and the MCS usually keeps several of them; the pool's gain, when there is one, comes from the
between-member variance in turbulent windows, not from a better average variance.
"""),
])
