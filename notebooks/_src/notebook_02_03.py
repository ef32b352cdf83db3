"""Source of notebooks 02_garch_mvp and 03_agarch."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "02_garch_mvp.ipynb", [
    ("md", """
# 02 · GARCH MVP: fitting volatility on daily and intraday bars

GARCH(1,1) and its relatives are estimated by `arch`; volresearch adds the care that makes a fit
trustworthy on any bar size: automatic scaling, a confirmation fit at a second scale, and checks
(convergence, stationarity, positive variance, a sane mean). Parameters come back in **per-bar
log-return units**.
"""),
    ("params", """
data = "sp500"               # embedded dataset name (daily, real), or a CSV/Parquet file of bars
instrument = None            # symbol of `data` in the instrument table (tick size); None: from the data
intraday_data = "es_synthetic"  # embedded 1-minute dataset (synthetic), or a file of intraday bars
model = "garch"
dist = "normal"
mean = "auto"                # "auto": zero for intraday bars, constant for daily; or "zero" / "constant"
window = None                # last N returns only (None: all)
seed = 0
"""),
    ("code", """
import holoviews as hv
import hvplot.pandas  # noqa: F401
import pandas as pd

from volresearch.data import datasets, open_bars, validate_bars
from volresearch.errors import FitError
from volresearch.formatting import PriceFormat
from volresearch.models import fit_garch, rolling_volatility
from volresearch.models.returns import default_mean


def fit_lines(fit):
    # the fit's specification, log-likelihood and estimates (4 significant digits) with standard errors
    lines = [f"{fit.spec.label}, {fit.spec.mean} mean: method {fit.method}, converged {fit.converged}, "
             f"{fit.n_obs} returns, log-likelihood {fit.loglik:.1f}, persistence {fit.persistence:.4f}"]
    lines += [f"  {name:<6} {value:11.4g}  se {fit.std_errors.get(name, float('nan')):.3g}" for name, value in fit.params.items()]
    return "\\n".join(lines)


hv.extension("bokeh")
def load(source):
    # synthetic datasets take the seed; names of real datasets and files load as they are
    info = datasets.DATASETS.get(source)
    return datasets.load(source, seed=seed) if info is not None and not info.real else open_bars(source)


bars = load(data)
report = validate_bars(bars, policy="repair")
bars = report.bars
fmt = PriceFormat.for_instrument(instrument, bars)
print(report.summary())
print(f"last close {fmt.price(bars['close'].iloc[-1])} ({fmt.describe()})")
"""),
    ("md", "## The fit\nThe summary lists every parameter with its unit, the persistence and half-life, and the residual diagnostics."),
    ("code", """
fit = fit_garch(bars, model=model, dist=dist, mean=default_mean(bars, mean), window=window)
print(fit.summary())
"""),
    ("md", "The estimates, rounded (checked against the committed output when the notebooks are tested):"),
    ("check", "print(fit_lines(fit))"),
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
diag_table = pd.DataFrame(rows, columns=["test", "lag", "statistic", "p-value"])
diag_table
"""),
    ("check", """
print(diag_table.round({"statistic": 2, "p-value": 3}).to_string(index=False))
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
scale it used. With `mean = "auto"` an intraday fit has a zero mean: a constant mean estimated from
two weeks of minutes is mostly noise (its standard error is about sigma/sqrt(n) per bar), and over a
day of bars that noise would move the forecast's centre by a sizeable fraction of its spread. A fit
that fails its checks (not stationary, an implausible unconditional volatility...) is refused with its
reasons rather than returned; the rolling feature then falls back to EWMA or historical volatility. The rolling feature refits on a schedule and filters forward in between (no look-ahead,
NaN only on the first bar).
"""),
    ("code", """
intraday = load(intraday_data)
ifmt = PriceFormat.for_instrument(None, intraday)
print(intraday.attrs.get("source", "file"), "synthetic:", intraday.attrs.get("synthetic", False), len(intraday),
      f"bars, last close {ifmt.price(intraday['close'].iloc[-1])} ({ifmt.describe()})")
try:
    ifit, refused = fit_garch(intraday, model=model, dist=dist, mean=default_mean(intraday, mean)), None
    print(ifit.summary())
except FitError as exc:  # the checks refuse an absurd fit and say why
    ifit, refused = None, exc
    print(f"{model}-{dist} refused on {intraday_data}: {exc}")
"""),
    ("check", "print(fit_lines(ifit) if ifit is not None else f'{model}-{dist} refused ({refused.reason})')"),
    ("code", """
rv = rolling_volatility(intraday, window=3000, refit_every=1380)
"""),
    ("check", """
print("bars per method:", dict(sorted(rv["method"].value_counts().items())), "NaN:", int(rv["volatility"].isna().sum()))
"""),
    ("code", """
rv["volatility"].hvplot(height=280, responsive=True, ylabel="sigma(t+1|t), log return per minute")
"""),
])

# fmt: off
write_notebook(ROOT / "03_agarch.ipynb", [
    ("md", """
# 03 · A-GARCH: leverage, news impact and model choice

GJR-GARCH adds $\\gamma\\, e^2_{t-1} 1[e_{t-1}<0]$: bad news raises volatility more than good news.
This notebook compares GARCH, GJR and EGARCH with fat-tailed and skewed innovations on the same
returns, by likelihood ratio and information criteria, and draws the news-impact curves.
"""),
    ("params", """
data = "sp500"         # embedded dataset name (daily, real), or a CSV/Parquet file of bars
instrument = None      # symbol of `data` in the instrument table (tick size); None: from the data
dist = "sged"          # innovation law of the asymmetric models
intraday_data = "es_synthetic"  # embedded 1-minute dataset (synthetic), or a file of intraday bars
mean = "auto"          # "auto": zero for intraday bars, constant for daily; or "zero" / "constant"
seed = 0
"""),
    ("code", """
import holoviews as hv
import hvplot.pandas  # noqa: F401
import pandas as pd

from volresearch.data import datasets, open_bars, validate_bars
from volresearch.formatting import PriceFormat
from volresearch.models import compare_fits, fit_garch, likelihood_ratio_test, news_impact_curve
from volresearch.models.returns import default_mean


def comparison_text(table):
    # the model comparison rounded: log-likelihood, BIC and its gap to the best, persistence
    cols = ["loglik", "bic", "delta_bic", "n_params", "persistence"]
    return table[cols].round({"loglik": 1, "bic": 1, "delta_bic": 1, "persistence": 4}).to_string()


def lr_text(lr):
    verdict = "rejected" if lr["pvalue"] < 0.05 else "not rejected"
    return f"LR {lr['lr']:.2f} on {lr['df']:.0f} df, p = {lr['pvalue']:.2g}: gamma = 0 {verdict} at 5%"


def load(source):
    # synthetic datasets take the seed; names of real datasets and files load as they are
    info = datasets.DATASETS.get(source)
    return datasets.load(source, seed=seed) if info is not None and not info.real else open_bars(source)


hv.extension("bokeh")
bars = validate_bars(load(data), policy="repair").bars
fmt = PriceFormat.for_instrument(instrument, bars)
print(f"{len(bars)} bars, last close {fmt.price(bars['close'].iloc[-1])} ({fmt.describe()})")
daily_mean = default_mean(bars, mean)
fits = {
    "garch-normal": fit_garch(bars, model="garch", dist="normal", mean=daily_mean),
    f"garch-{dist}": fit_garch(bars, model="garch", dist=dist, mean=daily_mean),
    f"gjr-{dist}": fit_garch(bars, model="gjr", dist=dist, mean=daily_mean),
    f"egarch-{dist}": fit_garch(bars, model="egarch", dist=dist, mean=daily_mean),
}
table = compare_fits(fits)
table
"""),
    ("check", "print(comparison_text(table))"),
    ("md", "## Is the leverage term needed?\nGARCH is GJR with $\\gamma = 0$, a point inside the parameter space `arch` estimates $\\gamma$ on, so the likelihood-ratio statistic is compared with $\\chi^2_1$."),
    ("code", """
lr = likelihood_ratio_test(fits[f"garch-{dist}"], fits[f"gjr-{dist}"])
gjr = fits[f"gjr-{dist}"]
"""),
    ("check", """
print(lr_text(lr))
print(f"gamma = {gjr.params['gamma']:.4f} (se {gjr.std_errors['gamma']:.4f}, t = {gjr.params['gamma'] / gjr.std_errors['gamma']:.1f})")
"""),
    ("code", "print(gjr.summary())"),
    ("md", "## News-impact curves\nNext-bar volatility against today's shock (in long-run standard deviations), current variance at its long-run level."),
    ("code", """
curves = {name: news_impact_curve(f) for name, f in fits.items() if not name.startswith("garch-normal")}
hv.Overlay([
    hv.Curve(c, "shock_sd", "volatility", label=name) for name, c in curves.items()
]).opts(height=320, responsive=True, legend_position="top_left", xlabel="shock (long-run sd)", ylabel="next-bar vol")
"""),
    ("md", "## Sign-bias diagnostics\nAfter GJR the sign-bias tests should no longer find an asymmetry the model misses."),
    ("check", """
sign_bias = pd.DataFrame({name: {k: v["pvalue"] for k, v in f.diagnostics["sign_bias"].items()} for name, f in fits.items()}).T
print(sign_bias.round(3).to_string())
"""),
    ("md", "## The same comparison on a synthetic intraday series (labelled synthetic)\nWith `mean = \"auto\"` the intraday fits have a zero mean (a constant mean estimated from minutes is mostly noise)."),
    ("code", """
intraday = load(intraday_data)
intraday_mean = default_mean(intraday, mean)
ifits = {m: fit_garch(intraday, model=m, dist=dist, mean=intraday_mean) for m in ("garch", "gjr", "egarch")}
itable = compare_fits(ifits)
itable
"""),
    ("check", """
print(f"{intraday_mean} mean")
print(lr_text(likelihood_ratio_test(ifits["garch"], ifits["gjr"])))
print(comparison_text(itable))
"""),
])
