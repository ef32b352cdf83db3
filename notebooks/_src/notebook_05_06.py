"""Source of notebooks 05_stylized_facts and 06_walk_forward (run from this folder)."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "05_stylized_facts.ipynb", [
    ("md", """
# 05 · Stylized facts: real index returns against simulated GARCH and GJR returns

A volatility model is only useful for Monte Carlo forecasting if the paths it simulates look like
the market. Here the real S&P 500 and NASDAQ daily log returns are set side by side with returns
simulated by the path engine from GARCH and GJR fits to the same data (paths as long as the sample),
and each stylized fact (fat tails, no linear autocorrelation, volatility clustering out to 20+ lags,
ARCH effects, leverage, unit-root prices) is checked on every source with the same test.
"""),
    ("params", """
data = ["sp500", "nasdaq"]                 # embedded dataset names (daily, real) or CSV/Parquet files of bars
instrument = None                          # symbol per entry of `data` (one name, a list, or None: from the data)
model_specs = ["garch-normal", "gjr-sged"]  # model-dist labels fitted to each dataset
n_paths = 4                                # simulated paths per model, each as long as the sample
max_lag = 50                               # autocorrelation lags
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from pathlib import Path

from volresearch.data import open_bars, validate_bars
from volresearch.formatting import PriceFormat
from volresearch.models import ModelSpec, fit_garch
from volresearch.plots import acf_plot
from volresearch.validate import acf_table, compare_stylized_facts, returns_from_paths

hv.extension("bokeh")
specs = [ModelSpec(*label.split("-")) for label in model_specs]
sources = [data] if isinstance(data, str) else list(data)
symbols = instrument if isinstance(instrument, (list, tuple)) else [instrument] * len(sources)
dataset_names = [Path(src).stem if Path(src).suffix else src for src in sources]
tables, simulated, real = {}, {}, {}
for name, src, symbol in zip(dataset_names, sources, symbols):
    bars = validate_bars(open_bars(src), policy="repair").bars
    fmt = PriceFormat.for_instrument(symbol, bars)
    close = bars["close"].to_numpy()
    print(f"{name}: close {fmt.price(close[0])} .. {fmt.price(close[-1])} ({fmt.describe()})")
    r = np.diff(np.log(close))
    sims = {}
    for spec in specs:
        fit = fit_garch(bars, spec)
        sims[spec.label] = fit.simulate(n_paths, horizon=r.size, seed=seed).log_prices
    tables[name] = compare_stylized_facts(r, sims, real_prices=close, max_lag=max_lag)
    simulated[name], real[name] = sims, r
    print(f"{name}: {r.size} returns, {n_paths} simulated paths of {r.size} steps per model")
"""),
    ("md", "## Side by side\nValues of each statistic for the real returns and for each model's pooled simulated returns; `*_passed` is the verdict against the criterion."),
    ("code", """
name = dataset_names[0]
tables[name].drop(columns="criterion").set_index(["group", "statistic"]).round(4)
"""),
    ("md", """
## Which facts does each model reproduce?
A model reproduces a fact when its simulated returns get the same verdict as the real ones.
"""),
    ("code", """
rows = []
for name, t in tables.items():
    judged = t[t["real_passed"].notna()]
    for label in simulated[name]:
        same = judged[f"{label}_passed"] == judged["real_passed"]
        rows += [{"dataset": name, "model": label, "statistic": s, "real": rp, "model_verdict": mp, "reproduced": ok}
                 for s, rp, mp, ok in zip(judged["statistic"], judged["real_passed"], judged[f"{label}_passed"], same)]
facts = pd.DataFrame(rows)
facts.pivot_table(index=["dataset", "statistic"], columns="model", values="reproduced", aggfunc="first")
"""),
    ("md", "The verdicts at the default seed (checked against the committed output when the notebooks are tested):"),
    ("check", """
for name, group in facts.groupby("dataset"):
    real_fails = group.loc[group["real"] == False, "statistic"].unique()  # noqa: E712
    print(f"{name}: criteria the real returns do not meet: {', '.join(sorted(real_fails)) or 'none'}")
for (name, label), group in facts.groupby(["dataset", "model"]):
    missed = sorted(group.loc[group["reproduced"] != True, "statistic"])  # noqa: E712
    print(f"{name} {label}: reproduces {int((group['reproduced'] == True).sum())} of {len(group)}; "  # noqa: E712
          f"misses {', '.join(missed) or 'none'}")
"""),
    ("md", "## Autocorrelations\nReal returns first, then each model's first simulated path: the autocorrelation of $|r|$ and $r^2$ should decay slowly and stay above the white-noise band for many lags, that of $r$ should not."),
    ("code", """
name = dataset_names[0]
panels = [acf_plot(acf_table(real[name], max_lag)).opts(title=f"{name}: real")]
for label, paths in simulated[name].items():
    panels.append(acf_plot(acf_table(returns_from_paths(paths)[0], max_lag)).opts(title=f"{name}: {label} (simulated)"))
hv.Layout(panels).cols(len(panels))
"""),
])

# fmt: off
write_notebook(ROOT / "06_walk_forward.ipynb", [
    ("md", """
# 06 · Walk-forward: are the forecasts calibrated out of sample?

Each window fits the model on its in-sample returns, then forecasts every out-of-sample day the
1-day-ahead log return with an ensemble of simulated paths, filtering the variance forward without
look-ahead; the windows roll by the out-of-sample length. All forecasts are pooled and judged by PIT
uniformity (Anderson-Darling), interval coverage (Kupiec, Christoffersen), CRPS against a naive
EWMA random walk scored the same way on the same targets, and walk-forward efficiency (out-of-sample
over in-sample log-score gain). Several models run on the same origins, targets and random numbers,
with Diebold-Mariano tests between them.
"""),
    ("params", """
data = "sp500"                                     # embedded dataset name (daily, real), or a CSV/Parquet file
instrument = None                                  # symbol in the instrument table (tick size); None: from the data
specs = ["garch-normal", "gjr-t", "gjr-sged"]     # models compared
last_n = 1500                                      # use the last N bars (None: all)
in_sample = 750                                    # bars per fit
out_of_sample = 63                                 # bars per window (refit interval), about a quarter
horizon = 1                                        # bars ahead
step = 1                                           # bars between forecast origins
n_paths = 1000                                     # ensemble members per forecast
seed = 0
scheduler = None                                   # None (serial), "threads" or "processes"
"""),
    ("code", """
import holoviews as hv
import pandas as pd

from pathlib import Path

from volresearch.data import open_bars, validate_bars
from volresearch.formatting import PriceFormat
from volresearch.plots import coverage_plot, parameter_drift, pit_histogram
from volresearch.validate import compare_models

hv.extension("bokeh")
bars = validate_bars(open_bars(data), policy="repair").bars
bars = bars if last_n is None else bars.iloc[-last_n:]
fmt = PriceFormat.for_instrument(instrument, bars)
label = Path(data).stem if Path(data).suffix else data
print(f"{label}: {len(bars)} bars, close {fmt.price(bars['close'].iloc[0])} .. {fmt.price(bars['close'].iloc[-1])} "
      f"({fmt.describe()})")
cmp = compare_models(bars, specs, label=label, in_sample=in_sample, out_of_sample=out_of_sample,
                     horizon=horizon, step=step, n_paths=n_paths, seed=seed, scheduler=scheduler)
print(cmp.summary())
"""),
    ("md", "## The comparison table\nOne row per model and one for the naive baseline; Diebold-Mariano p-values test equal CRPS (or QLIKE) against the best model and against the naive forecast."),
    ("code", "cmp.table.round(4)"),
    ("check", """
cols = ["n_forecasts", "crps", "crps_improvement", "pit_ad_pvalue", "coverage_90", "coverage_95",
        "kupiec_pvalue_95", "christoffersen_cc_pvalue_95", "efficiency", "rank"]
digits = {"crps": 6, "crps_improvement": 3, "pit_ad_pvalue": 3, "coverage_90": 3, "coverage_95": 3,
          "kupiec_pvalue_95": 3, "christoffersen_cc_pvalue_95": 3, "efficiency": 2}
print((cmp.table[cols].round(digits) + 0.0).to_string())  # + 0.0 turns -0.0 into 0.0
print("best:", cmp.best)
"""),
    ("md", "## The best model in detail"),
    ("code", """
best = cmp.best_result
print(best.summary())
"""),
    ("md", "## PIT histograms\nFlat inside the band for a calibrated forecaster; U-shaped when the ensembles are too narrow, humped when too wide."),
    ("code", """
panels = [pit_histogram(res.forecasts["pit"]).opts(title=label) for label, res in cmp.results.items()]
panels.append(pit_histogram(best.forecasts["base_pit"]).opts(title="naive (EWMA random walk)"))
hv.Layout(panels).cols(2)
"""),
    ("md", "## 95% coverage over time\nRolling share of targets inside the central 95% interval over one out-of-sample window, with the binomial acceptance band of a calibrated forecaster."),
    ("code", """
coverage_plot(best.coverage_over_time(0.95, window=out_of_sample), title=f"{cmp.best}: 95% interval coverage")
"""),
    ("md", "## Parameter drift and stability\nEstimates per window (per-bar log-return units) with $\\pm 1.96$ standard errors, and the stability table across windows."),
    ("code", """
names = [c for c in ("alpha", "gamma", "beta", "persistence") if c in best.parameters.columns]
drift = best.parameters[[c for n in names for c in (n, f"{n}_se") if c in best.parameters.columns]]
parameter_drift(drift)
"""),
    ("code", "best.stability.round(4)"),
    ("md", "## Per-window results\nOut-of-sample CRPS skill over the naive forecast, coverage and the log-score efficiency of each window."),
    ("code", """
best.windows.set_index("oos_start_time")[["method", "crps_skill", "coverage_95", "in_sample_score",
                                          "out_of_sample_score", "efficiency"]].round(4)
"""),
])
