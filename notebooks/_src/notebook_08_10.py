"""Source of notebooks 08_heston, 09_jump_diffusion and 10_svcj."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "08_heston.ipynb", [
    ("md", """
# 08 · Heston from returns: moments or particle-filter likelihood, Andersen QE paths, a filtered variance

Heston's variance is a mean-reverting square-root process correlated with the price,
$dx = (\\mu - v/2)\\,dt + \\sqrt{v}\\,dW_1$, $dv = \\kappa(\\theta - v)\\,dt + \\xi\\sqrt{v}\\,dW_2$,
$d\\langle W_1, W_2\\rangle = \\rho\\,dt$. Parameters are annualised (`kappa` per year, `theta` and `v`
variance per year, `xi` per square-root year) with `dt` from the bar calendar.

Option libraries calibrate Heston to option prices; here it is fitted to a return series, by simulated
method of moments (`method="smm"`: variance, kurtosis, autocorrelation of squared returns, leverage) or by
maximising the particle-filter likelihood (`method="pf-mle"`, slower). Paths follow Andersen's (2007) QE
scheme, with the correlation in the log-price step. The notebook checks the QE scheme against the
analytic option price, shows the variance the particle filter reads from the returns, a fan, and a short
walk-forward against GJR-t on the same origins.
"""),
    ("params", """
data = "sp500"          # embedded dataset name or a CSV/Parquet file of daily bars
fit_bars = 2000         # bars of the fit (the last ones)
method = "smm"          # "smm" (simulated moments) or "pf-mle" (particle-filter likelihood)
n_paths = 2000          # paths of the fan
horizon = 20            # bars ahead
pricing_paths = 20000   # QE paths of the option-price check
wf_last = 1400          # walk-forward: the last bars used
wf_in_sample = 1000     # bars per fit
wf_out_of_sample = 200  # bars per out-of-sample window
wf_step = 10            # bars between forecast origins
wf_horizon = 5          # bars ahead of each forecast
wf_paths = 500          # ensemble members per forecast
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.data import open_bars
from volresearch.models.heston import HestonResult
from volresearch.models.pricing import heston_call
from volresearch.plots import fan_chart
from volresearch.registry import fit_model, simulate_model
from volresearch.simulate import sv_filter
from volresearch.validate import walk_forward

hv.extension("matplotlib")
hv.output(fig="png")
bars = open_bars(data)
sample = bars.iloc[-(fit_bars + 1):]
print(f"{data}: {len(bars)} bars, fit on the last {len(sample) - 1} returns")
"""),
    ("md", "## The fit: annualised parameters, standard errors, the Feller ratio and the filtered variance now"),
    ("check", """
fit = fit_model("heston", sample, method=method)
for name in fit.NAMES:
    print(f"{name:6s} {fit.params[name]:10.4g}  se {fit.std_errors[name]:9.2g}  {fit.units[name]}")
print(f"Feller ratio {fit.feller:.3g}; long-run vol {np.sqrt(fit.params['theta']):.1%}; "
      f"filtered vol now {np.sqrt(fit.params['v0']):.1%} (+- {fit.diagnostics['v0_sd'] / (2 * np.sqrt(fit.params['v0'])):.1%})")
print("flags:", list(fit.flags) or "none")
"""),
    ("md", """
## The QE scheme against the analytic price

European calls under Heston (r = q = 0, S0 = 100, one year in 32 steps, Andersen's martingale
correction) from the same kernel the fans use, against the characteristic-function price. A scheme
that dropped `rho` from the log-price step would miss by many standard errors at `rho = -0.5`.
"""),
    ("check", """
case = dict(mu=0.0, kappa=0.3, theta=0.04, xi=0.9, rho=-0.5, v0=0.04)
given = HestonResult(params=case, dt=1 / 32, last_price=100.0, bar_seconds=86_400 * 252 / 32, calendar=None)
paths = simulate_model(given, pricing_paths, 32, seed=seed, mode="matrix", martingale=True)
terminal = np.exp(paths.log_prices[-1])
rows = []
for strike in (80.0, 100.0, 120.0):
    pay = np.maximum(terminal - strike, 0.0)
    mc, se = pay.mean(), pay.std(ddof=1) / np.sqrt(pay.size)
    exact = heston_call(100.0, strike, 1.0, case["kappa"], case["theta"], case["xi"], case["rho"], case["v0"])
    rows.append({"strike": strike, "analytic": round(exact, 3), "QE": round(mc, 3), "se": round(se, 3),
                 "z": round((mc - exact) / se, 1)})
table = pd.DataFrame(rows).set_index("strike")
print(table.to_string())
print("every strike within 3 SE:", bool(np.all(np.abs(table["z"]) < 3)))
"""),
    ("md", """
## The variance the returns imply

The particle filter (the QE transition, each bar's return Gaussian given the variance draws) gives the
filtered variance after every bar; its square root is the Heston volatility, next to a 21-day realised
volatility.
"""),
    ("code", """
r = np.diff(np.log(sample["close"].to_numpy()))
filt = sv_filter(fit.simulation_params(), r, fit.dt, n_particles=2000, seed=seed)
stamps = sample.index[1:]
times = (stamps.year + (stamps.dayofyear - 1) / 365.25).to_numpy()  # decimal years on the axis
rv21 = pd.Series(r).rolling(21).std() * np.sqrt(1 / fit.dt)
(hv.Curve((times, np.sqrt(filt.v_mean)), "year", "annualised volatility", label="Heston filtered")
 * hv.Curve((times, rv21.to_numpy()), label="21-day realised").opts(alpha=0.6)
).opts(fig_size=250, aspect=2.5, legend_position="top_left", title=filt.summary().splitlines()[1].strip())
"""),
    ("md", "## A fan from the end of the sample"),
    ("code", """
fan = simulate_model(fit, n_paths, horizon, seed=seed, quantiles=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975))
fan_chart(fan, history=sample["close"].iloc[-120:], title=f"Heston fan, {horizon} bars ahead")
"""),
    ("md", """
## Walk-forward against GJR-t

Both models refitted every `wf_out_of_sample` bars on the same origins; the Heston state between refits
comes from the same particle filter. CRPS is in log-return units (lower is better).
"""),
    ("check", """
window = bars.iloc[-wf_last:]
layout = dict(in_sample=wf_in_sample, out_of_sample=wf_out_of_sample, step=wf_step, horizon=wf_horizon,
              n_paths=wf_paths, seed=seed, quiet=True)
for name in ("heston", "gjr-t"):
    res = walk_forward(window, model=name, **layout)
    cov = 1.0 - res.forecasts["hit_95"].mean()
    print(f"{name:7s} forecasts {res.n_forecasts}  CRPS x1e4 {res.crps * 1e4:.1f}  vs naive {res.crps / res.crps_naive:.3f}"
          f"  95% coverage {cov:.1%}")
"""),
    ("md", """
On the S&P 500 (1999-2018) the README's full walk-forward puts Heston level with GJR-t on CRPS
(Diebold-Mariano p = 0.81) and slightly narrow in the 95% tails. The moment fit's standard errors come
from a block bootstrap of the moments; the `pf-mle` route's from the curvature of the simulated
likelihood, with the recovery study in `benchmarks/results/` stating how often they cover the truth.
"""),
])

write_notebook(ROOT / "09_jump_diffusion.ipynb", [
    ("md", """
# 09 · Merton jump-diffusion: maximum likelihood from returns, exact paths, the series price

Merton (1976): a Brownian motion with volatility `sigma` plus compound-Poisson jumps, `lambda` per year,
each a normal log-return jump with mean `mu_j` and standard deviation `sigma_j`; the drift is compensated
so that `mu` is the expected rate of return. The density of a bar's return is a Poisson mixture of
normals; the fit maximises it with the sum truncated where the neglected Poisson mass bounds the density
error (stated in the summary). Not the "top 5% of |returns| are jumps" rule, which fixes the intensity
by construction.
"""),
    ("params", """
data = "sp500"        # embedded dataset name or a CSV/Parquet file of daily bars
fit_bars = 2500       # bars of the fit (the last ones)
n_paths = 2000        # paths of the fan
horizon = 20          # bars ahead
pricing_paths = 100000  # exact paths of the option-price check
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd
from scipy import stats

from volresearch.data import open_bars
from volresearch.models.merton import MertonFit, merton_logpdf
from volresearch.models.pricing import merton_call_series
from volresearch.plots import fan_chart
from volresearch.registry import fit_model, simulate_model

hv.extension("matplotlib")
hv.output(fig="png")
bars = open_bars(data)
sample = bars.iloc[-(fit_bars + 1):]
r = np.diff(np.log(sample["close"].to_numpy()))
print(f"{data}: fit on the last {r.size} returns")
"""),
    ("check", """
fit = fit_model("merton", sample)
for name in ("mu", "sigma", "lambda", "mu_j", "sigma_j"):
    print(f"{name:8s} {fit.params[name]:10.4g}  se {fit.std_errors[name]:9.2g}  {fit.units[name]}")
gauss = stats.norm.logpdf(r, r.mean(), r.std()).sum()
lr = 2 * (fit.loglik - gauss)
print(f"jumps per year {fit.params['lambda']:.3g}; share of the variance from jumps "
      f"{fit.params['lambda'] * (fit.params['mu_j'] ** 2 + fit.params['sigma_j'] ** 2) / (fit.params['sigma'] ** 2 + fit.params['lambda'] * (fit.params['mu_j'] ** 2 + fit.params['sigma_j'] ** 2)):.0%}")
print(f"log-likelihood gain over the normal: {lr / 2:.1f} (LR {lr:.0f} on 3 extra parameters)")
"""),
    ("md", """
## Exact simulation against Merton's series price

A one-year call from paths with a Poisson count of normal jumps per step (exact, no discretisation
error), against Merton's series formula, for the fitted parameters (r = 0, S0 = 100).
"""),
    ("check", """
p = fit.params
given = MertonFit(params={**p, "mu": 0.0}, std_errors={}, loglik=float("nan"), nobs=0, dt=1 / 252, last_price=100.0)
paths = simulate_model(given, pricing_paths, 252, seed=seed, mode="matrix")  # mu = 0: E[S_T] = S_0
terminal = np.exp(paths.log_prices[-1])
rows = []
for strike in (80.0, 100.0, 120.0):
    pay = np.maximum(terminal - strike, 0.0)
    mc, se = pay.mean(), pay.std(ddof=1) / np.sqrt(pay.size)
    exact = merton_call_series(100.0, strike, 1.0, p["sigma"], p["lambda"], p["mu_j"], p["sigma_j"])
    rows.append({"strike": strike, "series": round(exact, 3), "exact paths": round(mc, 3), "se": round(se, 3),
                 "z": round((mc - exact) / se, 1)})
table = pd.DataFrame(rows).set_index("strike")
print(table.to_string())
print("every strike within 3 SE:", bool(np.all(np.abs(table["z"]) < 3)))
"""),
    ("md", "## The fitted density against the returns, and a fan"),
    ("code", """
grid = np.linspace(np.quantile(r, 0.001), np.quantile(r, 0.999), 400)
dens = np.exp(merton_logpdf(grid, fit.dt, p["mu"], p["sigma"], p["lambda"], p["mu_j"], p["sigma_j"], fit.n_terms))
(hv.Histogram(np.histogram(r, bins=120, density=True), label="returns").opts(alpha=0.4)
 * hv.Curve((grid, dens), "log return", "density", label="Merton")
 * hv.Curve((grid, stats.norm.pdf(grid, r.mean(), r.std())), label="normal").opts(linestyle="dashed")
).opts(fig_size=250, aspect=2, logy=True, legend_position="top_left")
"""),
    ("code", """
fan = simulate_model(fit, n_paths, horizon, seed=seed, quantiles=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975))
fan_chart(fan, history=sample["close"].iloc[-120:], title=f"Merton fan, {horizon} bars ahead")
"""),
    ("md", """
Merton keeps the diffusive volatility constant, so its fans do not widen after a turbulent week: on the
S&P 500 walk-forward in the README it is the clear loser on CRPS (PIT rejected), while its jump
component alone reproduces the fat tails of the unconditional distribution shown above.
"""),
])

write_notebook(ROOT / "10_svcj.ipynb", [
    ("md", """
# 10 · SVCJ: Heston with simultaneous jumps in price and variance

SVCJ (Duffie, Pan and Singleton 2000; Eraker, Johannes and Polson 2003) adds to Heston jumps at rate
`lambda` per year that move the variance by `Z_v ~ Exp(mu_v)` and the log price by
`Z_y | Z_v ~ N(mu_y + rho_j Z_v, sigma_y^2)` at the same instant. The notebook checks simulated
moments of integrated returns against their closed form, fits SVCJ to returns by simulated moments
(the Heston set plus skewness and kurtosis across aggregation horizons; `rho_j` held at 0), filters
its variance, and shows a fan.
"""),
    ("params", """
data = "sp500"          # embedded dataset name or a CSV/Parquet file of daily bars
fit_bars = 2500         # bars of the fit (the last ones)
sim_paths = 10          # simulated paths per moment evaluation (20 in the default fit)
n_paths = 2000          # paths of the fan
horizon = 20            # bars ahead
moment_paths = 20000    # paths of the moment check
seed = 0
"""),
    ("code", """
import holoviews as hv
import numpy as np
import pandas as pd

from volresearch.data import open_bars
from volresearch.models.svcj import SVCJResult, svcj_return_moments
from volresearch.plots import fan_chart
from volresearch.registry import fit_model, simulate_model
from volresearch.simulate import sv_filter

hv.extension("matplotlib")
hv.output(fig="png")
bars = open_bars(data)
sample = bars.iloc[-(fit_bars + 1):]
print(f"{data}: fit on the last {len(sample) - 1} returns")
"""),
    ("md", """
## Simulated against analytic moments

Mean and variance of the log return over 5, 21, 63 and 252 days from the QE + jump kernel against
the closed form (EJP-like parameters, frequent and large jumps so they matter at every horizon).
"""),
    ("check", """
truth = dict(mu=0.05, kappa=4.0, theta=0.03, xi=0.4, rho=-0.6, v0=0.05, lambda_=3.0, mu_y=-0.03, sigma_y=0.04,
             mu_v=0.05, rho_j=-0.5)
params = {("lambda" if k == "lambda_" else k): v for k, v in truth.items()}
given = SVCJResult(params=params, last_price=1.0)
paths = simulate_model(given, moment_paths, 252, seed=seed, mode="matrix")
rows = []
for h in (5, 21, 63, 252):
    R = paths.log_prices[h] - paths.log_prices[0]
    kw = {("lam" if k == "lambda" else k): v for k, v in params.items()}
    mean, var = svcj_return_moments(h / 252, **kw)
    se_m, se_v = R.std() / np.sqrt(R.size), R.var() * np.sqrt(2 / R.size) * np.sqrt(1 + 0.5 * (pd.Series(R).kurt()))
    rows.append({"days": h, "mean z": round((R.mean() - mean) / se_m, 1), "var z": round((R.var() - var) / se_v, 1)})
print(pd.DataFrame(rows).set_index("days").to_string())
"""),
    ("md", "## The moment fit on returns"),
    ("check", """
fit = fit_model("svcj", sample, sim_paths=sim_paths)
for name in fit.NAMES:
    print(f"{name:8s} {fit.params[name]:10.4g}  se {fit.std_errors[name]:9.2g}  {fit.units[name]}")
p = fit.params
jump_var = p["lambda"] * (p["sigma_y"] ** 2 + p["mu_y"] ** 2)
total = p["theta"] + p["lambda"] * p["mu_v"] / p["kappa"] + jump_var
print(f"long-run vol {np.sqrt(total):.1%}, of which price jumps {jump_var / total:.0%} of the variance; "
      f"sample vol {np.std(np.diff(np.log(sample['close'].to_numpy()))) * np.sqrt(252):.1%}")
print("flags:", list(fit.flags) or "none")
"""),
    ("code", """
r = np.diff(np.log(sample["close"].to_numpy()))
filt = sv_filter(fit.simulation_params(), r, fit.dt, n_particles=2000, seed=seed)
stamps = sample.index[1:]
times = (stamps.year + (stamps.dayofyear - 1) / 365.25).to_numpy()  # decimal years on the axis
(hv.Curve((times, np.sqrt(filt.v_mean)), "year", "annualised volatility", label="SVCJ filtered")
 * hv.Scatter((times, np.abs(r) * np.sqrt(252)), label="|return| annualised").opts(s=2, alpha=0.3)
).opts(fig_size=250, aspect=2.5, legend_position="top_left", title=filt.summary().splitlines()[1].strip())
"""),
    ("code", """
fan = simulate_model(fit, n_paths, horizon, seed=seed, quantiles=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975))
fan_chart(fan, history=sample["close"].iloc[-120:], title=f"SVCJ fan, {horizon} bars ahead")
"""),
    ("md", """
Return moments identify the jump part of SVCJ only loosely: on simulated series the recovery study in
`benchmarks/results/sv_recovery_svcj.md` finds the total variance and the mean price jump well, the
intensity biased low and its standard error too small. Read `lambda`, `mu_v` and their standard errors
with that in mind.
"""),
])
