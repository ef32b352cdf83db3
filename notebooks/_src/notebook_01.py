"""Source of notebook 01_data."""

from pathlib import Path

from make_notebook import write_notebook

ROOT = Path(__file__).resolve().parents[1]

# fmt: off
write_notebook(ROOT / "01_data.ipynb", [
    ("md", """
# 01 · Data: load, validate, look

Loads bars through the public API (an embedded dataset, or any CSV/Parquet file), validates them, shows
the quality report, and plots the close price and the per-bar log returns.

Parameters: `data` (a name from `datasets.list()` or a file path), `instrument` (its symbol in the
instrument table, or `None`: the tick size is then read from the data's price grid), `start`/`end`
(ISO dates to slice, UTC), `seed` (synthetic datasets only).
"""),
    ("params", """
data = "sp500"      # embedded dataset name, or a CSV/Parquet file of bars
instrument = None   # symbol in the instrument table (tick size); None: from the data's price grid
start = None
end = None
seed = 0
"""),
    ("code", """
import numpy as np
import holoviews as hv
import hvplot.pandas  # noqa: F401  (registers .hvplot)

from volresearch.data import datasets, open_bars, validate_bars
from volresearch.formatting import PriceFormat

hv.extension("bokeh")
"""),
    ("md", "## Available datasets\n`real` says whether a set is recorded market data or synthetic."),
    ("code", "datasets.list()"),
    ("md", "## Load\nA file is read as it is (no sorting, nothing dropped); provenance is kept in `attrs`."),
    ("code", """
info = datasets.DATASETS.get(data)
if info is not None and not info.real:
    bars = datasets.load(data, seed=seed)
else:
    bars = open_bars(data)
fmt = PriceFormat.for_instrument(instrument, bars)
print(f"prices: {fmt.describe()}")
bars.attrs
"""),
    ("md", """
## Validate
`repair` sorts by time and drops exact duplicate rows (listing every row it touched); everything else is flagged, not changed. The calendar is inferred, and the report says why.
"""),
    ("code", """
report = validate_bars(bars, "repair")
report
"""),
    ("check", """
print(f"{report.n_rows} rows, {report.start:%Y-%m-%d %H:%M} .. {report.end:%Y-%m-%d %H:%M} UTC, calendar {report.calendar}")
print(f"expected bars {report.expected_bars}, missing {report.missing_bar_pct:.2f}%, gaps {report.gaps['count']}, "
      f"duplicates {report.duplicates['exact']} exact / {report.duplicates['conflicting']} conflicting, "
      f"zero-volume bars {report.zero_volume_bars}, off-session bars {report.off_session_bars}")
for issue in report.issues:
    print(f"{issue.severity} {issue.rule} ({issue.column}): {issue.count} rows")
print(f"{len(report.repairs)} repairs")
"""),
    ("code", """
clean = report.bars.loc[start:end]
print(f"close {fmt.price(clean['close'].iloc[0])} .. {fmt.price(clean['close'].iloc[-1])}, "
      f"low {fmt.price(clean['low'].min())}, high {fmt.price(clean['high'].max())}")
clean.head()
"""),
    ("md", "## Close price and log returns\nLog return per bar: $r_t = \\ln(C_t / C_{t-1})$ (dimensionless)."),
    ("code", """
returns = np.log(clean["close"]).diff().dropna().rename("log_return")
price_plot = clean["close"].hvplot.line(title=f"{bars.attrs.get('symbol')} close", ylabel="price", height=280, responsive=True)
return_plot = returns.hvplot.line(title="log return per bar", ylabel="log return", height=280, responsive=True)
(price_plot + return_plot).cols(1)
"""),
    ("check", """
print(f"{returns.size} log returns: mean {returns.mean():.3e}, std {returns.std():.3e}, "
      f"min {returns.min():.4f}, max {returns.max():.4f}")
"""),
])
