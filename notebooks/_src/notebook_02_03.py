"""Source of notebooks 02_garch_mvp and 03_agarch."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

write_notebook(ROOT / "02_garch_mvp.ipynb", [
    ("md", """
# 02 · GARCH MVP: fitting volatility on daily and intraday bars

GARCH(1,1) and its relatives are estimated by `arch`; volresearch adds the care that makes a fit
trustworthy on any bar size: automatic scaling, a confirmation fit at a second scale, and checks
(convergence, stationarity, positive variance, a sane mean). Parameters come back in **per-bar
log-return units**.
"""),
    ("params", """
dataset = "sp500"            # embedded daily dataset (real)
intraday_dataset = "es_synthetic"  # embedded 1-minute dataset (synthetic)
path = None                  # a CSV/Parquet file of bars instead of `dataset`
model = "garch"
dist = "normal"
window = None                # last N returns only (None: all)
seed = 0
"""),
    ("code", """
import holoviews as hv
import hvplot.pandas  # noqa: F401
import pandas as pd

import volresearch as vr
from volresearch.data import datasets, open_bars, validate_bars
from volresearch.models import fit_garch, rolling_volatility

hv.extension("bokeh")
bars = open_bars(path or dataset)
report = validate_bars(bars, policy="repair")
bars = report.bars
print(report.summary())
"""),
    ("md", "## The fit\nThe summary lists every parameter with its unit, the persistence and half-life, and the residual diagnostics."),
    ("code", """
fit = fit_garch(bars, model=model, dist=dist, window=window)
print(fit.summary())
"""),
    ("md", "Every attempt the robust fit made (scale, starting point, log-likelihood in unscaled units, problems found):"),
    ("code", "pd.DataFrame(fit.meta['attempts'])"),
    ("md", "## Conditional volatility\nIn-sample $\\sigma_t$ in log return per bar, annualised with the bar calendar."),
    ("code", """
ann = fit.conditional_volatility_series * fit.periods_per_year ** 0.5
ann.rename("annualised conditional volatility").hvplot(height=300, responsive=True, ylabel="annualised vol")
"""),
    ("md", "## Residual diagnostics\nLjung-Box on standardised residuals $z_t$ and on $z_t^2$ (left-over clustering), Engle-Ng sign-bias tests."),
    ("code", """
diag = fit.diagnostics
rows = [("Ljung-Box z", lag, v["stat"], v["pvalue"]) for lag, v in diag["ljung_box"]["z"].items()]
rows += [("Ljung-Box z^2", lag, v["stat"], v["pvalue"]) for lag, v in diag["ljung_box"]["z2"].items()]
rows += [(name, "-", v["stat"], v["pvalue"]) for name, v in diag.get("sign_bias", {}).items()]
pd.DataFrame(rows, columns=["test", "lag", "statistic", "p-value"])
"""),
    ("md", "## Analytic variance forecast\n`Fit.forecast(h)` gives $E_T[\\sigma^2_{T+h}]$, converging to the unconditional variance at the speed set by the persistence."),
    ("code", """
fc = fit.forecast(60)
fc["volatility"].hvplot(height=250, responsive=True, xlabel="bars ahead", ylabel="vol per bar")
"""),
    ("md", """
## Intraday: a synthetic 1-minute futures series
Clearly labelled synthetic (no real futures data ships with the package). One-minute log returns are
~1e-4, far too small for the optimiser as they are; the fit rescales automatically and reports the
scale it used. The rolling feature refits on a schedule and filters forward in between (no look-ahead,
NaN only on the first bar).
"""),
    ("code", """
intraday = datasets.load(intraday_dataset, seed=seed)
print(intraday.attrs["source"], "synthetic:", intraday.attrs["synthetic"], len(intraday), "bars")
ifit = fit_garch(intraday, model=model, dist=dist)
print(ifit.summary())
"""),
    ("code", """
rv = rolling_volatility(intraday, window=3000, refit_every=1380)
print(rv["method"].value_counts().to_dict(), "NaN share:", rv["volatility"].isna().mean())
rv["volatility"].hvplot(height=280, responsive=True, ylabel="sigma(t+1|t), log return per minute")
"""),
])

write_notebook(ROOT / "03_agarch.ipynb", [
    ("md", """
# 03 · A-GARCH: leverage, news impact and model choice

GJR-GARCH adds $\\gamma\\, e^2_{t-1} 1[e_{t-1}<0]$: bad news raises volatility more than good news.
This notebook compares GARCH, GJR and EGARCH with fat-tailed and skewed innovations on the same
returns, by likelihood ratio and information criteria, and draws the news-impact curves.
"""),
    ("params", """
dataset = "sp500"
path = None
dist = "sged"          # innovation law of the asymmetric models
intraday_dataset = "es_synthetic"
seed = 0
"""),
    ("code", """
import holoviews as hv
import hvplot.pandas  # noqa: F401
import pandas as pd

from volresearch.data import datasets, open_bars, validate_bars
from volresearch.models import compare_fits, fit_garch, likelihood_ratio_test, news_impact_curve

hv.extension("bokeh")
bars = validate_bars(open_bars(path or dataset), policy="repair").bars
fits = {
    "garch-normal": fit_garch(bars, model="garch", dist="normal"),
    f"garch-{dist}": fit_garch(bars, model="garch", dist=dist),
    f"gjr-{dist}": fit_garch(bars, model="gjr", dist=dist),
    f"egarch-{dist}": fit_garch(bars, model="egarch", dist=dist),
}
compare_fits(fits)
"""),
    ("md", "## Is the leverage term needed?\nGARCH is GJR with $\\gamma = 0$. Because $\\gamma \\ge 0$ is a boundary, the mixture p-value ($\\tfrac12\\chi^2_0 + \\tfrac12\\chi^2_1$) is reported too."),
    ("code", """
lr = likelihood_ratio_test(fits[f"garch-{dist}"], fits[f"gjr-{dist}"])
gjr = fits[f"gjr-{dist}"]
print(lr)
print(f"gamma = {gjr.params['gamma']:.4f} (se {gjr.std_errors['gamma']:.4f}, t = {gjr.params['gamma'] / gjr.std_errors['gamma']:.1f})")
print(gjr.summary())
"""),
    ("md", "## News-impact curves\nNext-bar volatility against today's shock (in long-run standard deviations), current variance at its long-run level."),
    ("code", """
curves = {name: news_impact_curve(f) for name, f in fits.items() if not name.startswith("garch-normal")}
hv.Overlay([
    hv.Curve(c, "shock_sd", "volatility", label=name) for name, c in curves.items()
]).opts(height=320, responsive=True, legend_position="top_left", xlabel="shock (long-run sd)", ylabel="next-bar vol")
"""),
    ("md", "## Sign-bias diagnostics\nAfter GJR the sign-bias tests should no longer find an asymmetry the model misses."),
    ("code", """
pd.DataFrame({name: {k: v["pvalue"] for k, v in f.diagnostics["sign_bias"].items()} for name, f in fits.items()}).T
"""),
    ("md", "## The same comparison on a synthetic intraday series (labelled synthetic)"),
    ("code", """
intraday = datasets.load(intraday_dataset, seed=seed)
ifits = {m: fit_garch(intraday, model=m, dist=dist) for m in ("garch", "gjr", "egarch")}
print(likelihood_ratio_test(ifits["garch"], ifits["gjr"]))
compare_fits(ifits)
"""),
])
