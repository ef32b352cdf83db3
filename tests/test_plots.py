"""Tests for volresearch.plots: figure structure, both backends, PNG output.

Figures are built from small seeded synthetic inputs.  Each is checked for its
layers (element types, counts, the data behind bands and bounds), rendered
with bokeh (``hv.render`` must give a bokeh model) and written as a PNG with
the matplotlib backend (a real, non-blank image).  Set the environment
variable ``VOLRESEARCH_PLOTS_PREVIEW`` to a directory to keep the preview PNGs
of the fan chart, PIT histogram and ACF plot for inspection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from bokeh.model import Model
from holoviews.core.options import Store
from scipy.stats import binom

from volresearch.errors import DataError
from volresearch.plots import (
    MissingQuantileWarning,
    PlotWarning,
    acf_plot,
    conditional_volatility_plot,
    coverage_plot,
    diurnal_chart,
    ensure_backends,
    ess_plot,
    fan_chart,
    news_impact_plot,
    parameter_drift,
    pit_histogram,
    price_and_returns,
    render_png,
    step_volatility_chart,
    zone_bands,
)

LEVELS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forecast() -> dict[str, object]:
    """A 60-step forecast from 400 GBM paths after 90 bars of history (UTC minutes)."""
    rng = np.random.default_rng(7)
    hist_idx = pd.date_range("2024-03-01 09:00", periods=90, freq="min", tz="UTC", name="timestamp")
    history = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 5e-4, 90))), index=hist_idx)
    fidx = pd.date_range(hist_idx[-1] + pd.Timedelta("1min"), periods=60, freq="min", tz="UTC")
    paths = history.iloc[-1] * np.exp(np.cumsum(rng.normal(0, 8e-4, (60, 400)), axis=0))
    bands = pd.DataFrame(np.quantile(paths, LEVELS, axis=1).T, index=fidx, columns=LEVELS)
    last = float(history.iloc[-1])
    zones = pd.DataFrame(
        {
            "low": [last * 0.990, last * 0.9965, last * 1.004, last * 1.0055],
            "high": [last * 0.993, last * 1.0005, last * 1.0055, last * 1.0075],
            "kind": ["support", "neutral", "resistance", "resistance"],
            "strength": ["moderate", "strong", "strong", "weak"],
            "mass": [0.07, 0.21, 0.14, 0.04],
        }
    )
    return {
        "bands": bands,
        "history": history,
        "sample_paths": pd.DataFrame(paths[:, :30], index=fidx),
        "realised": pd.Series(paths[:, -1], index=fidx),
        "zones": zones,
    }


@pytest.fixture(scope="module")
def acf_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    lags = np.arange(1, 31)
    return pd.DataFrame(
        {
            "lag": lags,
            "acf_r": rng.normal(0, 0.02, 30),
            "acf_abs": 0.15 * np.exp(-lags / 12) + rng.normal(0, 0.01, 30),
            "acf_sq": 0.10 * np.exp(-lags / 8) + rng.normal(0, 0.01, 30),
            "band": np.full(30, 0.04),
        }
    )


@pytest.fixture(scope="module")
def params() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    idx = pd.date_range("2024-01-07", periods=16, freq="W", tz="UTC")
    return pd.DataFrame(
        {
            "omega": rng.normal(0.02, 0.002, 16),
            "omega_se": np.full(16, 0.001),
            "alpha": rng.normal(0.08, 0.01, 16),
            "alpha_se": np.full(16, 0.01),
            "beta": rng.normal(0.9, 0.01, 16),
        },
        index=idx,
    )


def _all_figures(forecast: dict, acf_frame: pd.DataFrame, params: pd.DataFrame) -> dict[str, object]:
    rng = np.random.default_rng(11)
    hist = forecast["history"]
    bars = pd.DataFrame({"close": hist.to_numpy()}, index=hist.index)
    shocks = np.linspace(-3, 3, 41)
    ess = pd.Series(rng.uniform(100, 1000, 80))
    cov = pd.DataFrame(
        {"coverage": np.clip(0.95 + rng.normal(0, 0.01, 40), 0, 1), "nominal": 0.95},
        index=pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC"),
    )
    return {
        "fan_chart": fan_chart(**forecast),
        "zone_bands": zone_bands(forecast["zones"]),
        "pit_histogram": pit_histogram(rng.uniform(size=300)),
        "acf_plot": acf_plot(acf_frame),
        "parameter_drift": parameter_drift(params),
        "price_and_returns": price_and_returns(bars),
        "conditional_volatility_plot": conditional_volatility_plot(
            {"GARCH": hist.pct_change().abs().fillna(0), "EWMA": hist.pct_change().abs().ewm(10).mean().fillna(0)}
        ),
        "news_impact_plot": news_impact_plot(
            {
                "GARCH": pd.DataFrame({"shock": shocks, "variance": 0.1 + 0.08 * shocks**2}),
                "GJR": pd.DataFrame(
                    {"shock": shocks, "variance": 0.1 + 0.05 * shocks**2 + 0.08 * shocks**2 * (shocks < 0)}
                ),
            }
        ),
        "coverage_plot": coverage_plot(cov),
        "ess_plot": ess_plot(ess, n_particles=1000),
    }


@pytest.fixture(scope="module")
def figures(forecast, acf_frame, params) -> dict[str, object]:
    return _all_figures(forecast, acf_frame, params)


@pytest.fixture
def preview_dir(tmp_path: Path) -> Path:
    target = os.environ.get("VOLRESEARCH_PLOTS_PREVIEW")
    return Path(target) if target else tmp_path


def _layers(overlay: hv.Overlay, kind: type) -> list:
    return [el for el in overlay if isinstance(el, kind)]


def _labelled(overlay: hv.Overlay, label: str) -> list:
    return [el for el in overlay if el.label == label]


def _rgb(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    return (img[..., :3] * 255).round().astype(int).reshape(-1, 3)


def _has_color(pixels: np.ndarray, hex_color: str, tol: int = 6) -> bool:
    target = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(pixels - target).max(axis=1) <= tol).any())


# ---------------------------------------------------------------------------
# fan chart
# ---------------------------------------------------------------------------


def test_fan_chart_layers(forecast):
    fan = fan_chart(**forecast)
    assert isinstance(fan, hv.Overlay)
    areas = _layers(fan, hv.Area)
    assert [a.label for a in areas] == ["95% band", "90% band", "80% band", "50% band"]
    assert len(_layers(fan, hv.HSpan)) == len(forecast["zones"])
    assert len(_layers(fan, hv.Text)) == len(forecast["zones"])
    assert len(_labelled(fan, "sample paths")) == 10  # max_paths (default) of the 30 given
    for name in ("history", "median", "realised"):
        assert len(_labelled(fan, name)) == 1, name
    assert len(_layers(fan, hv.VLine)) == 1
    # 4 bands + 4 spans + 10 paths + history + median + realised + origin + 4 labels
    assert len(fan) == 4 + 4 + 10 + 3 + 1 + 4


def test_fan_chart_legend_lists_every_kind_of_layer(forecast):
    """31 layers exceed HoloViews' default legend limit (25); the legend must stay."""
    fan = fan_chart(**forecast, max_paths=20)
    expected = ["95% band", "90% band", "80% band", "50% band", "sample paths", "history", "median", "realised"]
    fig = hv.render(fan, backend="matplotlib")
    try:
        assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == expected
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    items = hv.render(fan, backend="bokeh").legend[0].items
    assert [item.label.value for item in items] == expected
    assert len(items[expected.index("sample paths")].renderers) == 20


def test_fan_chart_bands_are_nested_and_use_their_columns(forecast):
    fan = fan_chart(bands=forecast["bands"], history=forecast["history"])
    bands = forecast["bands"]
    areas = {a.label: a for a in _layers(fan, hv.Area)}
    # The 95% band runs from the 0.025 to the 0.975 column (after the joining point).
    lo95 = areas["95% band"].dimension_values(1)
    hi95 = areas["95% band"].dimension_values(2)
    np.testing.assert_allclose(lo95[1:], bands[0.025].to_numpy())
    np.testing.assert_allclose(hi95[1:], bands[0.975].to_numpy())
    order = ["95% band", "90% band", "80% band", "50% band"]
    for wide, narrow in zip(order, order[1:]):
        assert np.all(areas[narrow].dimension_values(1) >= areas[wide].dimension_values(1) - 1e-12)
        assert np.all(areas[narrow].dimension_values(2) <= areas[wide].dimension_values(2) + 1e-12)


def test_fan_chart_joins_history_to_the_fan(forecast):
    fan = fan_chart(forecast["bands"], history=forecast["history"], realised=forecast["realised"], session_time=False)
    history = forecast["history"]
    last_t = history.index[-1].tz_convert(None).to_datetime64()
    for layer in (*_layers(fan, hv.Area), *_labelled(fan, "median"), *_labelled(fan, "realised")):
        assert layer.dimension_values(0)[0] == last_t
        assert layer.dimension_values(1)[0] == pytest.approx(history.iloc[-1])
    assert _layers(fan, hv.VLine)[0].data == last_t
    assert fan.get(0).kdims[0].label == "time (UTC)"


def test_fan_chart_session_axis_joins_history_one_bar_before_the_fan(forecast):
    fan = fan_chart(forecast["bands"], history=forecast["history"], realised=forecast["realised"])
    history = forecast["history"]
    hist_x = _labelled(fan, "history")[0].dimension_values(0)
    np.testing.assert_array_equal(hist_x, np.arange(-len(history), 0))
    for layer in (*_layers(fan, hv.Area), *_labelled(fan, "median"), *_labelled(fan, "realised")):
        assert layer.dimension_values(0)[0] == -1
        assert layer.dimension_values(0)[-1] == len(forecast["bands"]) - 1
        assert layer.dimension_values(1)[0] == pytest.approx(history.iloc[-1])
    assert fan.get(0).kdims[0].label == "session time (UTC)"  # no break in these bars


def _session_forecast(calendar: str, start: str, horizon: int, history_bars: int) -> dict[str, object]:
    """Bands on calendar-true step times after ``history_bars`` session bars ending at ``start``."""
    from volresearch.data.calendar import get_calendar
    from volresearch.simulate.results import session_step_times

    cal = get_calendar(calendar)
    steps = session_step_times(cal, pd.Timestamp(start, tz="UTC"), horizon, 60.0)
    rng = np.random.default_rng(11)
    paths = 1.085 * np.exp(np.cumsum(rng.normal(0, 2e-4, (horizon + 1, 300)), axis=0))
    paths[0] = 1.085
    bands = pd.DataFrame(np.quantile(paths, LEVELS, axis=1).T, index=steps, columns=LEVELS)
    hist_idx = pd.date_range(end=steps[0], periods=history_bars, freq="min", tz="UTC")
    history = pd.Series(1.085 + np.cumsum(rng.normal(0, 1e-4, history_bars)), index=hist_idx)
    history.iloc[-1] = 1.085
    # The realised path runs past the fan's last step: the chart must stop at the fan.
    later = pd.date_range(steps[-1] + pd.Timedelta("1min"), periods=30, freq="min", tz="UTC")
    realised = pd.Series(1.085 + np.cumsum(rng.normal(0, 1e-4, horizon + 31)), index=steps.append(later))
    return {"bands": bands, "history": history, "realised": realised, "steps": steps}


def test_fan_chart_session_axis_compresses_the_weekend_and_ends_at_the_fan() -> None:
    case = _session_forecast("cme_globex", "2024-03-08 21:50", horizon=30, history_bars=40)
    steps: pd.DatetimeIndex = case["steps"]  # type: ignore[assignment]
    fan = fan_chart(case["bands"], history=case["history"], realised=case["realised"])
    # One unit per session bar: the fan spans exactly its steps although ~48 h pass over the weekend.
    assert (steps[-1] - steps[0]) > pd.Timedelta("40h")
    for layer in (*_layers(fan, hv.Area), *_labelled(fan, "median")):
        np.testing.assert_array_equal(layer.dimension_values(0), np.arange(len(steps)))
    real_x = _labelled(fan, "realised")[0].dimension_values(0)
    assert real_x.max() == len(steps) - 1  # cut at the fan's end
    hist_x = _labelled(fan, "history")[0].dimension_values(0)
    assert hist_x[0] == -39 and hist_x[-1] == 0
    opts = hv.Store.lookup_options("bokeh", fan, "plot").kwargs
    assert opts["xlim"] == (-39.0, float(len(steps) - 1))
    # The break is marked where Friday's last bar meets Sunday's first, and named on the axis.
    friday_last = int(np.flatnonzero(steps.day == 8)[-1])
    marks = [float(v.data) for v in _layers(fan, hv.VLine)]
    assert friday_last + 0.5 in marks
    assert "1 break compressed" in fan.get(0).kdims[0].label
    # Tick labels are the bars' session times, inside the axis.
    ticks = dict(opts["xticks"])
    assert all(-39 <= p <= len(steps) - 1 for p in ticks)
    labels = set(ticks.values())
    assert any(label.startswith("03-10") for label in labels) and any(label.startswith("03-08") for label in labels)
    for pos, label in ticks.items():
        stamp = steps[int(pos)] if pos >= 0 else case["history"].index[int(pos) - 1]
        assert stamp.strftime("%m-%d %H:%M") == label
    # Zone labels sit inside the right edge, not in time past the fan.
    zones = pd.DataFrame({"low": [1.084], "high": [1.0845], "kind": ["support"], "strength": ["strong"]})
    zoned = fan_chart(case["bands"], history=case["history"], zones=zones)
    assert _layers(zoned, hv.Text)[0].x == len(steps) - 1
    assert isinstance(hv.render(fan, backend="bokeh"), Model)


def test_fan_chart_session_axis_renders_with_matplotlib(tmp_path) -> None:
    case = _session_forecast("fx_24x5", "2024-03-08 21:40", horizon=60, history_bars=30)
    fan = fan_chart(case["bands"], history=case["history"])
    fig = hv.render(fan, backend="matplotlib")
    try:
        ax = fig.axes[0]
        left, right = ax.get_xlim()
        assert left == pytest.approx(-29) and right == pytest.approx(60)
        assert any(t.get_text().startswith("03-10") for t in ax.get_xticklabels())
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_fan_chart_session_time_needs_time_stamps(forecast):
    with pytest.raises(DataError, match="session_time needs bands indexed by time"):
        fan_chart(forecast["bands"].reset_index(drop=True), session_time=True)


def test_fan_chart_missing_columns_warn_and_skip(forecast):
    bands = forecast["bands"].drop(columns=[0.025])
    with pytest.warns(MissingQuantileWarning, match=r"95% band skipped.*0\.025"):
        fan = fan_chart(bands)
    assert [a.label for a in _layers(fan, hv.Area)] == ["90% band", "80% band", "50% band"]
    with pytest.warns(MissingQuantileWarning, match="median line skipped"):
        fan = fan_chart(forecast["bands"].drop(columns=[0.5]), levels=(0.9,))
    assert not _labelled(fan, "median")
    assert [a.label for a in _layers(fan, hv.Area)] == ["90% band"]


def test_fan_chart_no_warning_when_columns_present(forecast):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fan_chart(forecast["bands"], levels=(0.5, 0.95))


def test_fan_chart_step_index_places_history_before_step_zero(forecast):
    bands = forecast["bands"].reset_index(drop=True)
    bands.index = bands.index + 1  # steps 1..60
    bands["mean"] = bands[0.5]  # not a quantile column: ignored
    history = forecast["history"]
    fan = fan_chart(bands, history=history, sample_paths=forecast["sample_paths"], max_paths=3)
    hist_x = _labelled(fan, "history")[0].dimension_values(0)
    np.testing.assert_array_equal(hist_x, np.arange(-(len(history) - 1), 1))
    median = _labelled(fan, "median")[0]
    assert median.dimension_values(0)[0] == 0 and median.dimension_values(0)[1] == 1
    # Date-indexed sample paths are matched to the steps by position.
    path_x = _labelled(fan, "sample paths")[0].dimension_values(0)
    np.testing.assert_array_equal(path_x, np.arange(0, 61))
    assert len(_labelled(fan, "sample paths")) == 3
    assert fan.get(0).kdims[0].name == "step"


def test_fan_chart_accepts_objects_with_quantiles(forecast):
    asked: list[list[float]] = []

    class Fan:
        def quantiles(self, levels):
            asked.append(list(levels))
            return forecast["bands"][[min(LEVELS, key=lambda q: abs(q - lv)) for lv in levels]].set_axis(
                list(levels), axis=1
            )

    fan = fan_chart(Fan(), levels=(0.5, 0.95))
    assert asked == [[0.025, 0.25, 0.5, 0.75, 0.975]]
    assert [a.label for a in _layers(fan, hv.Area)] == ["95% band", "50% band"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"levels": (0.95, 1.2)}, r"coverage level 1\.2"),
        ({"levels": ()}, "levels is empty"),
    ],
)
def test_fan_chart_rejects_bad_levels(forecast, kwargs, match):
    with pytest.raises(DataError, match=match):
        fan_chart(forecast["bands"], **kwargs)


def test_fan_chart_rejects_bad_inputs(forecast):
    with pytest.raises(DataError, match="no quantile columns"):
        fan_chart(pd.DataFrame({"mean": [1.0, 2.0]}))
    with pytest.raises(DataError, match="must be a DataFrame of quantiles"):
        fan_chart([1, 2, 3])
    with pytest.raises(DataError, match="history must have a DatetimeIndex"):
        fan_chart(forecast["bands"], history=pd.Series([1.0, 2.0]))
    with pytest.raises(DataError, match="sample_paths has 61 rows"):
        fan_chart(forecast["bands"], sample_paths=pd.DataFrame(np.ones((61, 2))))
    bad = forecast["bands"].copy()
    bad[0.5] = "x"
    with pytest.raises(DataError, match=r"not numeric.*column '0\.5'"):
        fan_chart(bad)


# ---------------------------------------------------------------------------
# zones
# ---------------------------------------------------------------------------


def test_zone_bands_one_span_and_label_per_zone(forecast):
    zones = forecast["zones"]
    overlay = zone_bands(zones)
    spans = _layers(overlay, hv.HSpan)
    texts = _layers(overlay, hv.Text)
    assert len(spans) == len(texts) == len(zones)
    assert [(s.data[0], s.data[1]) for s in spans] == list(zip(zones["low"], zones["high"]))
    assert [t.text for t in texts] == ["S moderate 7%", "N strong 21%", "R strong 14%", "R weak 4%"]
    colors = [Store.lookup_options("bokeh", s, "style").kwargs for s in spans]
    assert [c["color"] for c in colors] == ["#2ca02c", "#7f7f7f", "#d62728", "#d62728"]
    assert colors[1]["alpha"] > colors[0]["alpha"] > colors[3]["alpha"]
    mpl = Store.lookup_options("matplotlib", spans[2], "style").kwargs
    assert mpl["facecolor"] == "#d62728"


def test_zone_labels_do_not_overlap(forecast):
    zones = pd.DataFrame(
        {"low": [99.0, 99.05, 101.0], "high": [99.05, 99.1, 102.0], "kind": ["support"] * 3, "strength": ["weak"] * 3}
    )
    texts = _layers(zone_bands(zones, x_range=(0, 10)), hv.Text)
    ys = sorted(t.y for t in texts)
    gap = 0.045 * (102.0 - 99.0)
    assert min(np.diff(ys)) >= gap - 1e-12
    assert all(t.x == 10 for t in texts)
    assert [t.text for t in texts] == ["S weak", "S weak", "S weak"]  # no mass column


def test_zone_bands_time_range_and_no_zones(forecast, tmp_path):
    end = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    overlay = zone_bands(forecast["zones"], x_range=(end - pd.Timedelta("1h"), end))
    assert {t.x for t in _layers(overlay, hv.Text)} == {np.datetime64("2024-01-01T10:00:00", "ns")}
    empty = forecast["zones"].iloc[:0]
    assert len(zone_bands(empty, x_range=(0, 1))) == 0
    ladder = zone_bands(empty)
    assert [t.text for t in _layers(ladder, hv.Text)] == ["no zones"]
    assert render_png(ladder, tmp_path / "empty.png", dpi=40).stat().st_size > 0
    fan = fan_chart(forecast["bands"], zones=empty)
    assert not _layers(fan, hv.HSpan)


def test_zone_bands_accepts_to_frame_and_validates(forecast):
    class Analysis:
        def to_frame(self):
            return forecast["zones"]

    assert len(_layers(zone_bands(Analysis()), hv.HSpan)) == 4
    bad = forecast["zones"].copy()
    bad.loc[2, "kind"] = "pivot"
    with pytest.raises(DataError, match=r"zone kind 'pivot'.*row 2"):
        zone_bands(bad)
    with pytest.raises(DataError, match="column 'strength'"):
        zone_bands(forecast["zones"].drop(columns=["strength"]))
    flipped = forecast["zones"].copy()
    flipped.loc[0, ["low", "high"]] = [2.0, 1.0]
    with pytest.raises(DataError, match="low <= high.*row 0"):
        zone_bands(flipped)


# ---------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------


def test_pit_histogram_density_and_binomial_band():
    rng = np.random.default_rng(1)
    pits = rng.uniform(size=400)
    overlay = pit_histogram(pits, bins=8)
    hist = _layers(overlay, hv.Histogram)[0]
    density = hist.dimension_values(1)
    assert len(density) == 8
    assert np.sum(density) / 8 == pytest.approx(1.0)
    band = _layers(overlay, hv.Area)[0]
    assert band.dimension_values(1)[0] == pytest.approx(binom.ppf(0.025, 400, 1 / 8) / 50)
    assert band.dimension_values(2)[0] == pytest.approx(binom.ppf(0.975, 400, 1 / 8) / 50)
    uniform = _labelled(overlay, "uniform")[0]
    np.testing.assert_array_equal(uniform.dimension_values(1), [1.0, 1.0])


def test_pit_histogram_flags_miscalibration_and_bad_values():
    rng = np.random.default_rng(2)
    overdispersed = np.clip(rng.beta(0.5, 0.5, size=2000), 0, 1)  # U-shape: forecasts too narrow
    title = Store.lookup_options("bokeh", pit_histogram(overdispersed), "plot").kwargs["title"]
    assert "n = 2000" in title and " 0 of 10 bins" not in title
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        pit_histogram([0.2, 1.5])
    with pytest.raises(DataError, match="no finite values"):
        pit_histogram([np.nan])
    with pytest.raises(DataError, match="bins must be >= 1"):
        pit_histogram([0.5], bins=0)


def test_acf_plot_panels_and_bounds(acf_frame):
    layout = acf_plot(acf_frame)
    assert isinstance(layout, hv.Layout) and len(layout) == 3
    for panel, column in zip(layout, ("acf_r", "acf_abs", "acf_sq")):
        spikes = _layers(panel, hv.Spikes)
        assert sum(len(s) for s in spikes) == len(acf_frame)
        beyond = _labelled(panel, "beyond bound")[0]
        assert np.all(np.abs(beyond.dimension_values(1)) > 0.04)
        np.testing.assert_array_equal(
            np.sort(np.concatenate([s.dimension_values(0) for s in spikes])), acf_frame["lag"].to_numpy()
        )
        bounds = _labelled(panel, "significance bound")
        assert sorted(float(b.dimension_values(1)[0]) for b in bounds) == [-0.04, 0.04]
        assert spikes[0].vdims[0].name == column
    with pytest.raises(DataError, match="column 'acf_sq'"):
        acf_plot(acf_frame.drop(columns=["acf_sq"]))


def test_parameter_drift_panels_and_error_bands(params):
    layout = parameter_drift(params)
    assert isinstance(layout, hv.Layout) and len(layout) == 3
    spreads = [_layers(panel, hv.Spread) for panel in layout]
    assert [len(s) for s in spreads] == [1, 1, 0]  # beta has no _se column
    np.testing.assert_allclose(spreads[0][0].dimension_values(2), 1.96 * params["omega_se"].to_numpy())
    assert [panel.get(0).vdims[0].name for panel in layout] == ["omega", "alpha", "beta"]
    with pytest.raises(DataError, match="column 'gamma_se'"):
        parameter_drift(params.assign(gamma_se=1.0))


def test_coverage_and_ess(params):
    idx = pd.date_range("2024-01-01", periods=5, freq="D")
    cov = pd.DataFrame(
        {"coverage": [0.9, 0.95, 0.97, 0.94, 0.96], "nominal": 0.95, "lower": 0.93, "upper": 0.97}, index=idx
    )
    overlay = coverage_plot(cov)
    assert [el.label for el in overlay] == ["acceptance band", "hit rate", "nominal"]
    with pytest.raises(DataError, match="column 'nominal'"):
        coverage_plot(cov.drop(columns=["nominal"]))

    ess = pd.Series([1000.0, 300.0, 800.0, 450.0])
    overlay = ess_plot(ess, n_particles=1000)
    threshold = overlay.get(1)
    np.testing.assert_array_equal(threshold.dimension_values(1), [500.0, 500.0])
    assert "50% of steps below" in Store.lookup_options("bokeh", overlay, "plot").kwargs["title"]
    with pytest.warns(PlotWarning, match="n_particles not given"):
        guessed = ess_plot(ess)
    assert guessed.get(1).dimension_values(1)[0] == 500.0
    ess.attrs["n_particles"] = 2000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ess_plot(ess).get(1).dimension_values(1)[0] == 1000.0


def test_series_figures(forecast):
    hist = forecast["history"]
    bars = pd.DataFrame({"close": hist.to_numpy()}, index=hist.index)
    layout = price_and_returns(bars)
    assert isinstance(layout, hv.Layout) and len(layout) == 2
    np.testing.assert_allclose(layout[1].dimension_values(1), np.diff(np.log(hist.to_numpy())))
    with pytest.raises(DataError, match=r"prices must be > 0.*row 3"):
        price_and_returns(bars.assign(close=[1.0, 2.0, 3.0, -1.0] + [1.0] * (len(bars) - 4)))

    vol = conditional_volatility_plot({"a": hist, "b": hist * 2})
    assert [c.label for c in vol] == ["a", "b"]
    with pytest.raises(DataError, match="mixes time-indexed and step-indexed"):
        conditional_volatility_plot({"a": hist, "b": hist.reset_index(drop=True)})

    ni = news_impact_plot({"GJR": pd.DataFrame({"shock": [1.0, -1.0, 0.0], "variance": [2.0, 3.0, 1.0]})})
    curve = _layers(ni, hv.Curve)[0]
    np.testing.assert_array_equal(curve.dimension_values(0), [-1.0, 0.0, 1.0])
    with pytest.raises(DataError, match="column 'variance'"):
        news_impact_plot({"GJR": pd.DataFrame({"shock": [1.0]})})


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

FIGURE_NAMES = [
    "fan_chart",
    "zone_bands",
    "pit_histogram",
    "acf_plot",
    "parameter_drift",
    "price_and_returns",
    "conditional_volatility_plot",
    "news_impact_plot",
    "coverage_plot",
    "ess_plot",
]


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_renders_with_bokeh(figures, name):
    model = hv.render(figures[name], backend="bokeh")
    assert isinstance(model, Model)


@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_render_png_writes_an_image_and_keeps_the_backend(figures, name, tmp_path):
    ensure_backends()
    Store.set_current_backend("bokeh")
    out = render_png(figures[name], tmp_path / "sub" / f"{name}.png", dpi=60)
    assert Store.current_backend == "bokeh"
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000
    pixels = _rgb(out)
    assert (pixels.sum(axis=1) < 600).mean() > 0.005  # something was drawn


def test_render_png_size(figures, tmp_path):
    import matplotlib.image as mpimg

    small = render_png(figures["zone_bands"], tmp_path / "small.png", dpi=50, size=(4.0, 3.0))
    wide = render_png(figures["zone_bands"], tmp_path / "wide.png", dpi=50, size=(8.0, 3.0))
    h_small, w_small = mpimg.imread(small).shape[:2]
    h_wide, w_wide = mpimg.imread(wide).shape[:2]
    # The image is trimmed to its content: close to, not exactly, size * dpi (200 x 150, 400 x 150).
    assert 150 <= w_small <= 215 and 110 <= h_small <= 165
    assert w_wide > 1.5 * w_small and w_wide <= 415 and abs(h_wide - h_small) <= 5
    fig = figures["zone_bands"]
    assert Store.lookup_options("matplotlib", fig, "plot").kwargs["fig_inches"] == 4.0  # the input is untouched


def test_preview_pngs_show_the_bands_and_bars(forecast, acf_frame, preview_dir):
    """Fan chart with zones, PIT histogram and ACF plot: colours of the key layers are drawn."""
    fan_png = render_png(fan_chart(**forecast, title="Fan chart with zones"), preview_dir / "fan_chart.png")
    pixels = _rgb(fan_png)
    # Narrowest band colour, the median line and a zone (support green at its alpha over white).
    assert _has_color(pixels, "#4a90c8")
    assert _has_color(pixels, "#08306b", tol=25)
    assert _has_color(pixels, "#ff7f0e", tol=10)
    pits = np.random.default_rng(0).uniform(size=500)
    pit_png = render_png(pit_histogram(pits), preview_dir / "pit_histogram.png")
    assert _has_color(_rgb(pit_png), "#d62728", tol=10)  # the uniform reference line
    acf_png = render_png(acf_plot(acf_frame), preview_dir / "acf_plot.png")
    acf_pixels = _rgb(acf_png)
    assert _has_color(acf_pixels, "#08519c") and _has_color(acf_pixels, "#9ecae1")


@pytest.mark.slow
def test_fresh_process_backend_untouched_and_no_model_imports(tmp_path):
    """In a bare process: figures and PNGs leave the current backend alone and import no model code."""
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np, pandas as pd, holoviews as hv
        from holoviews.core.options import Store
        from volresearch import plots

        before = Store.current_backend
        bands = pd.DataFrame({{0.025: [1.0, 0.9], 0.5: [1.0, 1.0], 0.975: [1.0, 1.1]}}, index=[1, 2])
        fan = plots.fan_chart(bands, levels=(0.95,))
        assert Store.current_backend == before, Store.current_backend
        plots.render_png(fan, {str(tmp_path / "a.png")!r})
        assert Store.current_backend == before, Store.current_backend

        hv.extension("bokeh")
        plots.render_png(fan, {str(tmp_path / "b.png")!r})
        assert Store.current_backend == "bokeh", Store.current_backend
        assert hv.render(fan).__class__.__module__.startswith("bokeh")

        banned = [m for m in sys.modules
                  if m.startswith(("volresearch.models", "volresearch.simulate",
                                   "volresearch.validate", "volresearch.signals"))]
        assert not banned, banned
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    assert (tmp_path / "a.png").stat().st_size > 1000 and (tmp_path / "b.png").stat().st_size > 1000


def test_builders_return_holoviews_objects(figures):
    expected: dict[str, Callable[[object], bool]] = {
        "acf_plot": lambda o: isinstance(o, hv.Layout),
        "parameter_drift": lambda o: isinstance(o, hv.Layout),
        "price_and_returns": lambda o: isinstance(o, hv.Layout),
    }
    for name, obj in figures.items():
        check = expected.get(name, lambda o: isinstance(o, hv.Overlay))
        assert check(obj), name


def test_fan_chart_session_axis_of_daily_bars_labels_dates_without_weekend_clutter() -> None:
    steps = pd.bdate_range("2024-01-02", periods=21, tz="UTC")
    rng = np.random.default_rng(4)
    bands = pd.DataFrame({q: 100 + (q - 0.5) * np.sqrt(np.arange(21)) for q in LEVELS}, index=steps)
    history = pd.Series(100 + np.cumsum(rng.normal(0, 1, 60)), index=pd.bdate_range(end=steps[0], periods=60, tz="UTC"))
    fan = fan_chart(bands, history=history)
    times = history.index.append(steps[1:])
    weekends = int(np.sum((times[1:] - times[:-1]) > pd.Timedelta("36h")))
    assert weekends > 12
    assert f"{weekends} breaks compressed" in fan.get(0).kdims[0].label
    assert len(_layers(fan, hv.VLine)) == 1  # only the origin: weekend marks would clutter daily bars
    ticks = dict(hv.Store.lookup_options("bokeh", fan, "plot").kwargs["xticks"])
    assert all(len(label) == 10 and label.startswith("202") for label in ticks.values())


# ---------------------------------------------------------------------------
# diurnal factor
# ---------------------------------------------------------------------------


def _diurnal_frame(n: int = 120, band: bool = True) -> pd.DataFrame:
    """A U-shaped factor over one session of minutes starting 23:00 UTC, with a band and raw dots."""
    x = np.linspace(0.0, 1.0, n)
    factor = 0.4 + 2.4 * (x - 0.5) ** 2
    factor = factor / factor.mean()
    index = pd.date_range("2024-01-18 23:00", periods=n, freq="min", tz="UTC", name="time")
    lower = factor * 0.8 if band else np.full(n, np.nan)
    upper = factor * 1.25 if band else np.full(n, np.nan)
    raw = factor * np.random.default_rng(1).lognormal(0.0, 0.2, n)
    return pd.DataFrame({"factor": factor, "lower": lower, "upper": upper, "raw": raw}, index=index)


def test_diurnal_chart_draws_the_band_factor_and_raw_dots(tmp_path) -> None:
    frame = _diurnal_frame()
    chart = diurnal_chart(frame, title="ES diurnal", band_label="90% band")
    kinds = [type(el).__name__ for el in chart]
    assert kinds == ["Area", "Scatter", "Curve", "HLine"]
    band, raw, curve = chart.get(0), chart.get(1), chart.get(2)
    assert band.label == "90% band" and curve.label == "diurnal factor"
    np.testing.assert_allclose(band.dimension_values(1), frame["lower"].to_numpy())
    np.testing.assert_allclose(band.dimension_values(2), frame["upper"].to_numpy())
    np.testing.assert_allclose(curve.dimension_values(1), frame["factor"].to_numpy())
    np.testing.assert_allclose(raw.dimension_values(1), frame["raw"].to_numpy())
    assert curve.kdims[0].label == "time (UTC)"
    assert chart.get(3).data == 1.0  # the mean-1 reference line
    assert isinstance(hv.render(chart, backend="bokeh"), Model)
    png = render_png(chart, tmp_path / "diurnal.png", dpi=50)
    assert png.read_bytes()[:8] == PNG_SIGNATURE


def test_diurnal_chart_without_a_band_and_by_slot() -> None:
    frame = _diurnal_frame(band=False).reset_index(drop=True)
    chart = diurnal_chart(frame[["factor", "lower", "upper"]])
    assert [type(el).__name__ for el in chart] == ["Curve", "HLine"]  # NaN band: not drawn
    assert chart.get(0).kdims[0].name == "slot"


def test_diurnal_chart_rejects_bad_input() -> None:
    with pytest.raises(DataError, match="factor"):
        diurnal_chart(pd.DataFrame({"lower": [1.0]}))
    with pytest.raises(DataError):
        diurnal_chart(pd.DataFrame())
    with pytest.raises(DataError, match="not numeric"):
        diurnal_chart(pd.DataFrame({"factor": ["a", "b"]}))


def test_step_volatility_chart_compresses_breaks_on_a_session_axis(tmp_path) -> None:
    friday = pd.date_range("2024-01-19 20:00", periods=120, freq="min", tz="UTC")
    sunday = pd.date_range("2024-01-21 23:00", periods=60, freq="min", tz="UTC")
    times = friday.append(sunday)
    vol = pd.Series(np.linspace(2.0, 4.0, times.size), index=times)
    chart = step_volatility_chart(vol, ylabel="bp per bar")
    curve, mark = chart.get(0), chart.get(1)
    assert type(curve).__name__ == "Curve" and type(mark).__name__ == "VLine"
    np.testing.assert_array_equal(curve.dimension_values(0), np.arange(times.size, dtype=float))  # no weekend room
    assert mark.data == 119.5
    assert "1 break compressed" in curve.kdims[0].label
    assert isinstance(hv.render(chart, backend="bokeh"), Model)
    assert render_png(chart, tmp_path / "steps.png", dpi=50).read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(DataError, match="DatetimeIndex"):
        step_volatility_chart(pd.Series([1.0, 2.0]))


def test_ensemble_weights_stack_to_one_and_attribution_maps_members_to_features(tmp_path):
    from volresearch.plots import attribution_chart, ensemble_weights_chart

    idx = pd.date_range("2020-01-01", periods=50, freq="D", tz="UTC")
    a = np.linspace(0.2, 0.6, 50)
    w = pd.DataFrame({"garch": a, "heston": 1 - a}, index=idx)
    chart = ensemble_weights_chart(w)
    areas = list(chart)
    assert [ar.label for ar in areas] == ["garch", "heston"]
    np.testing.assert_allclose(areas[-1].dimension_values("upper"), 1.0)  # the stack tops out at one
    np.testing.assert_allclose(areas[1].dimension_values("lower"), a)
    assert render_png(chart, tmp_path / "w.png", dpi=40).stat().st_size > 0
    with pytest.raises(DataError, match="sum to one"):
        ensemble_weights_chart(w * 0.5)
    attr = pd.DataFrame([[0.1, -0.05], [-0.1, 0.05]], index=["garch", "heston"], columns=["log_vol", "trend"])
    heat = attribution_chart(attr)
    assert heat.dimension_values("contribution").tolist() == [0.1, -0.05, -0.1, 0.05]
    assert render_png(heat, tmp_path / "a.png", dpi=40).stat().st_size > 0
