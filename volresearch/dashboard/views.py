"""Panel views of a :class:`~volresearch.dashboard.state.DashboardState`.

Each view is a :class:`panel.viewable.Viewer` holding one state object: it
builds its widgets from the state's parameters (``Widget.from_param``) and
redraws from the state's result parameters.  Views keep no results of their
own, so everything they show can be checked on the state without a browser.

* :class:`ControlPanel` - instrument, upload, model (the registry's names for
  the loaded bars), the fallback checkbox, paths, horizon, seed, windows and
  the "Fit and simulate" button with its progress bar;
* :class:`ModelChoice` - requested and answered model, the reasons of a
  rejection and the button that lets the fallback cascade answer;
* :class:`ForecastChart` - the fan chart with zones, history and realised path
  on a session-time axis;
* :class:`DiurnalPanel` - for intraday models: the diurnal factor by time of
  day with its band, the daily-variance method and why, and the model's flags;
* :class:`SignalPanel` - confidence, directional bias, targets, stop and the
  zone table;
* :class:`ModelPanel` - fitted parameters with standard errors and units,
  residual diagnostics, stylized-fact verdicts and the data quality report;
* :class:`ReplayPanel` - play/pause/step/reset, speed, bar time, ESS and the
  horizon table; its clock is a per-session periodic callback;
* :class:`Dashboard` - all of the above on one page.

Long computations run in a worker thread (``begin_* / compute_* / finish_*``
of the state), so the page keeps answering while a fit runs and the progress
bar is shown.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import param
from panel.viewable import Viewer

from volresearch.plots import diurnal_chart, fan_chart, step_volatility_chart

from ._format import fmt_time as _fmt_time
from .model_panel import ModelPanel
from .sources import DATA_SUFFIXES
from .state import MAX_HORIZON, DashboardState, Forecast, compute_fit, compute_replay_step

__all__ = [
    "ControlPanel",
    "ModelChoice",
    "ForecastChart",
    "DiurnalPanel",
    "SignalPanel",
    "ModelPanel",
    "ReplayPanel",
    "Dashboard",
]

_SIDEBAR_WIDTH = 330
#: Replay clock period (ms): each tick streams the bars due at the requested speed.
_CLOCK_MS = 50
_LEVEL_COLOURS = {
    "very_high": "#1a7f37",
    "high": "#2da44e",
    "moderate": "#bf8700",
    "low": "#d1242f",
    "very_low": "#82071e",
}
_BIAS_COLOURS = {"bullish": "#1a7f37", "bearish": "#d1242f", "neutral": "#57606a"}


def _md_escape(text: str) -> str:
    """Text shown literally by a Markdown pane (no emphasis, links or HTML)."""
    out = html.escape(text, quote=False)
    for ch in "\\`*_[]|":
        out = out.replace(ch, "\\" + ch)
    return out


def _button(text: str, kind: str = "default", **params: Any) -> pn.widgets.Button:
    """A button; Panel 1.9 renamed its text ``label`` and its style ``color``."""
    if "label" in pn.widgets.Button.param and "color" in pn.widgets.Button.param:
        return pn.widgets.Button(label=text, color=kind, **params)
    return pn.widgets.Button(name=text, button_type=kind, **params)


def _horizon_text(fc: Forecast) -> str:
    minutes = fc.horizon_minutes
    if minutes >= 1440 and abs(minutes / 1440 - round(minutes / 1440)) < 1e-9:
        span = f"{minutes / 1440:g} days of bars"
    elif minutes >= 60:
        span = f"{minutes / 60:g} h"
    else:
        span = f"{minutes:g} min"
    return f"{fc.horizon} bars ({span})"


async def run_fit(state: DashboardState) -> bool:
    """Fit and simulate in a worker thread (the page keeps answering); True when a forecast was applied."""
    job = state.begin_fit()
    if job is None:
        return False
    outcome = await asyncio.to_thread(compute_fit, job)
    return state.finish_fit(outcome)


class ControlPanel(Viewer):
    """Source, model and simulation controls, upload and the fit button."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        self.source = pn.widgets.Select.from_param(
            s.param.source, name="Instrument", sizing_mode="stretch_width", css_classes=["vr-source"]
        )
        self.upload = pn.widgets.FileInput(
            accept=",".join(DATA_SUFFIXES), multiple=False, sizing_mode="stretch_width", css_classes=["vr-upload"]
        )
        self.upload.param.watch(self._on_upload, "value")
        self.model = pn.widgets.Select.from_param(
            s.param.model, name="Model (registry)", sizing_mode="stretch_width", css_classes=["vr-model"]
        )
        self.fallback = pn.widgets.Checkbox.from_param(
            s.param.fallback, name="Use the fallback cascade if the model is rejected", css_classes=["vr-fallback-box"]
        )
        self.n_boot = pn.widgets.IntSlider.from_param(
            s.param.n_boot, name="Diurnal band bootstrap resamples", sizing_mode="stretch_width"
        )
        self.mean = pn.widgets.Select.from_param(s.param.mean, name="Mean", sizing_mode="stretch_width")
        self.n_paths = pn.widgets.IntSlider.from_param(s.param.n_paths, name="Paths", sizing_mode="stretch_width")
        self.horizon = pn.widgets.IntSlider.from_param(
            s.param.horizon, name="Horizon (bars)", end=MAX_HORIZON, sizing_mode="stretch_width"
        )
        self.horizon_input = pn.widgets.IntInput.from_param(
            s.param.horizon, name="Horizon (bars, exact)", sizing_mode="stretch_width", css_classes=["vr-horizon"]
        )
        self.presets = pn.FlexBox(sizing_mode="stretch_width", css_classes=["vr-presets"])
        self.seed = pn.widgets.IntInput.from_param(s.param.seed, name="Seed", sizing_mode="stretch_width")
        self.fit_window = pn.widgets.IntSlider.from_param(
            s.param.fit_window, name="Fit window (bars)", end=20_000, sizing_mode="stretch_width"
        )
        self.replay_bars = pn.widgets.IntSlider.from_param(
            s.param.replay_bars, name="Held-out replay bars", end=5_000, sizing_mode="stretch_width"
        )
        self.history_bars = pn.widgets.IntSlider.from_param(
            s.param.history_bars, name="History shown (bars)", end=500, sizing_mode="stretch_width"
        )
        self.n_particles = pn.widgets.IntSlider.from_param(
            s.param.n_particles, name="Replay particles", sizing_mode="stretch_width"
        )
        self.fit_button = _button(
            "Fit and simulate",
            "primary",
            sizing_mode="stretch_width",
            disabled=s.param.busy,
            css_classes=["vr-fit"],
        )
        self.fit_button.on_click(self._on_fit)
        self.progress = pn.indicators.Progress(
            active=True, sizing_mode="stretch_width", height=14, visible=s.param.busy, css_classes=["vr-progress"]
        )
        s.param.watch(self._on_bars, ["bars", "replay_bars"])
        self._on_bars()

    def _on_bars(self, *_: Any) -> None:
        """Fit window up to the data's length; presets for the loaded bars."""
        s = self.state
        limit = s.fit_window_limit()
        self.fit_window.end = max(limit, self.fit_window.start + 1)
        if s.bars is not None:
            self.replay_bars.end = max(min(len(s.bars) - 1, 10_000_000), self.replay_bars.start + 1)
        self.n_boot.visible = s.intraday()  # the diurnal band belongs to intraday models
        buttons = []
        for name, bars in s.horizon_presets().items():
            button = _button(
                name,
                "light",
                width=68 if len(name) < 6 else 110,
                margin=(2, 3),
                description=f"{bars:,} bars",
                css_classes=["vr-preset", f"vr-preset-{bars}"],
            )
            button.on_click(lambda _e, n=name: s.apply_horizon_preset(n))
            buttons.append(button)
        self.presets.objects = buttons

    def _on_upload(self, event: param.parameterized.Event) -> None:
        if event.new:
            self.state.load_upload(self.upload.filename or "upload", event.new)

    async def _on_fit(self, event: Any = None) -> None:
        await run_fit(self.state)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self.source,
            pn.pane.Markdown(pn.bind(self._source_note, self.state.param.description, self.state.param.synthetic)),
            pn.pane.Markdown("Upload bars (CSV or Parquet):", margin=(0, 10)),
            self.upload,
            self.model,
            pn.pane.Markdown(pn.bind(self._model_note, self.state.param.model, self.state.param.bars), margin=(0, 10)),
            self.fallback,
            self.mean,
            self.n_paths,
            self.horizon,
            self.horizon_input,
            pn.pane.Markdown(pn.bind(self._presets_note, self.state.param.bars), margin=(0, 10)),
            self.presets,
            self.seed,
            self.fit_button,
            self.progress,
            pn.Card(
                self.fit_window,
                self.replay_bars,
                self.history_bars,
                self.n_particles,
                self.n_boot,
                title="Windows and replay",
                collapsed=False,
                sizing_mode="stretch_width",
            ),
            width=_SIDEBAR_WIDTH,
        )

    def _model_note(self, model: str, bars: Any) -> str:
        default = self.state.default_model()
        n = len(self.state.model_choices())
        kind = "intraday" if self.state.intraday() else "daily"
        return f"{n} registry models for these {kind} bars; default **{_md_escape(default)}**."

    def _presets_note(self, bars: Any) -> str:
        presets = self.state.horizon_presets()
        if not presets:
            return "Horizon presets: none for these bars."
        return "Horizon presets: " + ", ".join(f"{name} = {n:,} bars" for name, n in presets.items()) + "."

    @staticmethod
    def _source_note(description: str, synthetic: bool) -> str:
        tag = "**SYNTHETIC data** (generated, not market prices). " if synthetic else ""
        return f"{tag}{_md_escape(description)}" if description else ""


class ForecastChart(Viewer):
    """The fan chart of the forecast on screen, with zones and the realised path."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.pane = pn.pane.HoloViews(
            None,
            backend="bokeh",
            min_height=440,
            sizing_mode="stretch_width",
            loading=self.state.param.busy,
            css_classes=["vr-fan"],
        )
        self.empty_note = pn.pane.Markdown(
            "Pick an instrument and press **Fit and simulate** to draw the forecast.",
            css_classes=["vr-fan-empty"],
        )
        self.state.param.watch(self._redraw, ["forecast"])
        self._redraw()

    def figure(self, fc: Forecast) -> hv.Overlay:
        """The fan chart of ``fc`` on a session-time axis (breaks and weekends compressed)."""
        source = "replay bar " + str(fc.replay_step) if fc.replay_step else "fit"
        title = (
            f"{self.state.loaded_label}: {self.state.answered_model} forecast from "
            f"{_fmt_time(fc.origin)} ({source}), {_horizon_text(fc)}, {fc.n_paths:,} paths"
        )
        decimals = self.state.price_format.decimals
        levels = [round(float(q), 9) for q in fc.fan.levels]
        coverages = [
            c for c in (0.5, 0.8, 0.9, 0.95) if round((1 - c) / 2, 9) in levels and round((1 + c) / 2, 9) in levels
        ]
        chart = fan_chart(
            fc.bands_by_time(),
            history=fc.history,
            sample_paths=fc.paths_by_step(),
            realised=fc.realised_by_time(),
            zones=fc.analysis,
            title=title,
            levels=coverages or (0.5,),
        )
        return chart.opts(yformatter=f"%.{decimals}f", backend="bokeh")

    def _redraw(self, *_: Any) -> None:
        fc = self.state.forecast
        if fc is None:
            self.pane.object = None
            self.pane.visible = False
            self.empty_note.visible = True
            return
        self.pane.object = self.figure(fc)
        self.pane.visible = True
        self.empty_note.visible = False

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.empty_note, self.pane, sizing_mode="stretch_width")


class ModelChoice(Viewer):
    """Requested and answered model; a rejection with its reasons and the explicit fallback button."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.line = pn.pane.HTML("", css_classes=["vr-model-choice"], sizing_mode="stretch_width")
        self.rejection = pn.pane.Alert(
            "", alert_type="warning", visible=False, css_classes=["vr-rejection"], sizing_mode="stretch_width"
        )
        self.fallback_button = _button(
            "Fit with the fallback cascade", "warning", visible=False, width=260, css_classes=["vr-fallback"]
        )
        self.fallback_button.on_click(self._on_fallback)
        self.state.param.watch(self._update, ["fit", "rejections", "requested_model", "answered_model", "busy"])
        self._update()

    async def _on_fallback(self, event: Any = None) -> None:
        self.state.fallback = True
        await run_fit(self.state)

    def _update(self, *_: Any) -> None:
        s = self.state
        if not s.requested_model:
            self.line.object = ""
        else:
            answered = s.answered_model or "none"
            colour = "#1a7f37" if s.answered_model == s.requested_model else "#d1242f"
            self.line.object = (
                f"<div>Requested model: <b class='vr-requested'>{html.escape(s.requested_model)}</b> &middot; "
                f"answered: <b class='vr-answered' style='color:{colour}'>{html.escape(answered)}</b></div>"
            )
        if s.rejections:
            lines = "\n".join(
                f"- **{_md_escape(name)}** rejected: {_md_escape(reason)}" for name, reason in s.rejections
            )
            cascade = s.fallback_models(s.requested_model) if s.requested_model else ()
            if s.answered_model:
                tail = (
                    f"**{_md_escape(s.answered_model)}** answered (fallback cascade); its forecast carries the "
                    "fallback warning, which caps the confidence."
                )
            elif cascade and not s.fallback:
                tail = (
                    "Nothing is drawn from a rejected model. Use the fallback cascade ("
                    + ", ".join(_md_escape(m) for m in cascade)
                    + ") or pick another model."
                )
            else:
                tail = "No model of the fallback cascade answered either; pick another model or a longer fit window."
            self.rejection.object = f"{lines}\n\n{tail}"
            self.rejection.visible = True
            self.fallback_button.visible = bool(cascade) and not s.answered_model and not s.fallback
        else:
            self.rejection.object = ""
            self.rejection.visible = False
            self.fallback_button.visible = False
        self.fallback_button.disabled = s.busy

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.line, self.rejection, self.fallback_button, sizing_mode="stretch_width")


class DiurnalPanel(Viewer):
    """The intraday model's diurnal factor with its band, daily-variance method, reason and flags."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.pane = pn.pane.HoloViews(
            None, backend="bokeh", min_height=300, sizing_mode="stretch_width", css_classes=["vr-diurnal-chart"]
        )
        self.steps = pn.pane.HoloViews(
            None, backend="bokeh", min_height=240, sizing_mode="stretch_width", css_classes=["vr-step-vol-chart"]
        )
        self.details = pn.pane.HTML("", css_classes=["vr-diurnal-details"], sizing_mode="stretch_width")
        self.flags = pn.pane.HTML("", css_classes=["vr-model-flags"], sizing_mode="stretch_width")
        self.column = pn.Column(
            pn.pane.Markdown("### Intraday seasonality"),
            self.details,
            self.pane,
            self.steps,
            self.flags,
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["vr-diurnal"],
        )
        self.state.param.watch(self._update, ["fit"])
        self.state.param.watch(self._update_steps, ["forecast"])
        self._update()
        self._update_steps()

    def _update_steps(self, *_: Any) -> None:
        vol = self.state.step_volatility()
        if vol is None or vol.empty:
            self.steps.object = None
            self.steps.visible = False
            return
        self.steps.object = step_volatility_chart(
            vol,
            title="Fan step by step: per-bar volatility from the model's clock (daily variance x diurnal factor)",
            ylabel="volatility per bar (bp)",
        ).opts(responsive=True, backend="bokeh")
        self.steps.visible = True

    def _update(self, *_: Any) -> None:
        s = self.state
        frame = s.diurnal_frame()
        if frame is None:
            self.column.visible = False
            self.pane.object = None
            return
        info = s.model_details()
        d = s.fit.diurnal
        band = f"{d.band_level:.0%} band" if np.isfinite(np.asarray(d.lower)).any() else "no band"
        self.pane.object = diurnal_chart(
            frame,
            title=f"{s.answered_model}: diurnal variance factor by time of day ({d.calendar}), {band}",
            band_label=f"{d.band_level:.0%} bootstrap band",
        ).opts(responsive=True, backend="bokeh")
        self.details.object = (
            f"<div>Daily variance: <b class='vr-daily-method'>{html.escape(info.get('daily', 'n/a'))}</b><br>"
            f"Diurnal factor: {html.escape(info.get('diurnal', ''))}<br>"
            f"Intraday component persistence: {html.escape(info.get('persistence', 'n/a'))}</div>"
        )
        flags = s.fit.flags
        self.flags.object = (
            "<div>Model flags: <span style='color:#d1242f'>"
            + "; ".join(html.escape(f) for f in flags)
            + "</span></div>"
            if flags
            else "<div>Model flags: <span style='color:#1a7f37'>none</span></div>"
        )
        self.column.visible = True

    def __panel__(self) -> pn.viewable.Viewable:
        return self.column


class SignalPanel(Viewer):
    """Confidence level, directional bias, targets, stop and the zone table."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.headline = pn.pane.HTML("", css_classes=["vr-signal"], sizing_mode="stretch_width")
        self.zones = pn.pane.DataFrame(
            None, index=False, sizing_mode="stretch_width", css_classes=["vr-zones"], escape=True
        )
        self.state.param.watch(self._update, ["forecast"])
        self._update()

    def _update(self, *_: Any) -> None:
        fc = self.state.forecast
        if fc is None:
            self.headline.object = "<p>No forecast yet.</p>"
            self.zones.object = None
            return
        a, c = fc.analysis, fc.confidence
        fmt = self.state.price_format
        _fmt_price = fmt.price
        level = c.level.value
        thresholds = (
            f"default thresholds (no entry for {html.escape(c.instrument)})"
            if c.used_default
            else f"{html.escape(c.thresholds_key)} thresholds"
        )
        targets = ", ".join(f"{_fmt_price(z.low)}-{_fmt_price(z.high)} ({z.mass:.0%})" for z in a.targets) or "none"
        stop = "none" if a.stop is None else f"{_fmt_price(a.stop.price)} ({a.stop.source})"
        score_se = a.bias_score_se
        noise = "" if score_se is None else f" &plusmn; {score_se:.2f} from the estimated mean"
        downgrade = ""
        if c.downgraded and c.raw_level is not None:
            downgrade = (
                f"<br><span class='vr-downgrade' style='color:#d1242f'>Downgraded from "
                f"{c.raw_level.value.replace('_', ' ')} because the model is flagged: "
                f"{html.escape('; '.join(c.downgrade_reasons))}</span>"
            )
        self.headline.object = (
            f"<div style='font-size:15px;line-height:1.5'>"
            f"<b>At {_horizon_text(fc)} from {_fmt_price(fc.price)}</b> ({_fmt_time(fc.origin)})<br>"
            f"Confidence: <b class='vr-confidence' style='color:{_LEVEL_COLOURS.get(level, '#000')}'>"
            f"{level.replace('_', ' ')}</b> "
            f"(rel. std {c.rel_std:.3%}, {thresholds}, "
            f"scaled x{c.horizon_scale:.2f} to the horizon){downgrade}<br>"
            f"Bias: <b style='color:{_BIAS_COLOURS[a.bias]}'>{a.bias}</b> "
            f"(score {a.bias_score:+.2f}{noise}, confidence {a.bias_confidence:.0%}); P(up) {a.prob_above:.0%}<br>"
            f"<span class='vr-mean'>Mean {_fmt_price(a.mean)}, std {fmt.spread(c.std)}, "
            f"5%-95% {_fmt_price(a.quantiles[0.05])} .. {_fmt_price(a.quantiles[0.95])}</span><br>"
            f"<span class='vr-targets'>Targets: {targets}; stop: {stop}</span><br>"
            f"Entry allowed: {'yes' if c.can_enter else 'no'}; adjust allowed: {'yes' if c.can_adjust else 'no'}"
            f"</div>"
        )
        self.zones.object = self.state.zone_table_text()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("### Signal at the horizon"),
            self.headline,
            pn.pane.Markdown("#### Price zones"),
            self.zones,
            sizing_mode="stretch_width",
        )


class ReplayPanel(Viewer):
    """Replay controls, the requested and achieved rate, and the state of the rolling forecaster."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        s = self.state
        self.play = _button("Play", "success", width=80, css_classes=["vr-play"])
        self.pause = _button("Pause", "warning", width=80, css_classes=["vr-pause"])
        self.step = _button("Step", width=80, css_classes=["vr-step"])
        self.reset = _button("Reset", width=80, css_classes=["vr-reset"])
        self.speed = pn.widgets.FloatSlider.from_param(
            s.param.replay_speed, name="Requested speed (bars per second)", width=300
        )
        self.play_paths = pn.widgets.IntSlider.from_param(s.param.play_paths, name="Fan paths while playing", width=300)
        self.play.on_click(lambda _: s.play())
        self.pause.on_click(self._on_pause)
        self.step.on_click(self._on_step)
        self.reset.on_click(lambda _: s.reset_replay())
        self.position = pn.indicators.Progress(value=0, max=1, width=300, height=12)
        self.rate = pn.pane.HTML("", css_classes=["vr-replay-rate"], sizing_mode="stretch_width")
        self.info = pn.pane.HTML("", css_classes=["vr-replay-info"], sizing_mode="stretch_width")
        self.table = pn.pane.DataFrame(None, sizing_mode="stretch_width", css_classes=["vr-horizon-table"])
        self.unavailable = pn.pane.Alert(
            "",
            alert_type="secondary",
            visible=False,
            css_classes=["vr-replay-unavailable"],
            sizing_mode="stretch_width",
        )
        self._clock: Any = None
        self._in_flight = False
        s.param.watch(self._on_running, ["replay_running"])
        s.param.watch(self._update, ["forecast", "replay_position", "replay_total"])
        s.param.watch(self._update_rate, ["replay_note", "replay_running"])
        s.param.watch(self._update_available, ["replay_unavailable", "fit"])
        self._update_available()
        self._update()
        self._update_rate()

    # ------------------------------------------------------------------ clock
    def _on_running(self, event: param.parameterized.Event) -> None:
        if event.new:
            if self._clock is None:
                self._clock = pn.state.add_periodic_callback(self._tick, period=_CLOCK_MS, start=False)
            if not self._clock.running:
                self._clock.start()
        else:
            if self._clock is not None and self._clock.running:
                self._clock.stop()
            if pn.state.curdoc is not None:
                pn.state.execute(self._refresh)

    async def _run(self, job: Any) -> None:
        self._in_flight = True
        try:
            outcome = await asyncio.to_thread(compute_replay_step, job)
            self.state.finish_replay_step(outcome)
        finally:
            self._in_flight = False

    async def _tick(self) -> None:
        s = self.state
        if not s.replay_running or self._in_flight:
            return
        n = s.bars_due()
        if n <= 0:
            return
        job = s.begin_replay_step(n, n_paths=s.play_paths)
        if job is None:
            s.pause()
            return
        await self._run(job)

    async def _refresh(self) -> None:
        """Redraw the fan from every particle once replay stops."""
        fc = self.state.forecast
        while self._in_flight:
            await asyncio.sleep(0.02)
        if fc is None or fc.full_resolution or self.state.replay_running:
            return
        job = self.state.begin_replay_step(0)
        if job is not None:
            await self._run(job)

    async def _on_pause(self, event: Any = None) -> None:
        self.state.pause()

    async def _on_step(self, event: Any = None) -> None:
        self.state.pause()
        while self._in_flight:
            await asyncio.sleep(0.02)
        job = self.state.begin_replay_step(1)
        if job is not None:
            await self._run(job)

    # ------------------------------------------------------------------ display
    def _update_available(self, *_: Any) -> None:
        reason = self.state.replay_unavailable
        self.unavailable.object = _md_escape(reason)
        self.unavailable.visible = bool(reason)
        for button in (self.play, self.pause, self.step, self.reset):
            button.disabled = bool(reason)
            button.description = reason or None

    def _update_rate(self, *_: Any) -> None:
        s = self.state
        note = s.replay_note or f"requested {s.replay_speed:g} bars/s"
        slow = "cannot keep up" in note
        colour = "#d1242f" if slow else "#1a7f37" if s.replay_rate is not None else "#57606a"
        state = "playing" if s.replay_running else "paused"
        self.rate.object = (
            f"<div>Replay ({state}): <span class='vr-rate-text' style='color:{colour}'>{html.escape(note)}</span></div>"
        )

    def _update(self, *_: Any) -> None:
        s = self.state
        self.position.max = max(s.replay_total, 1)
        self.position.value = min(s.replay_position, self.position.max)
        fc = s.forecast
        if fc is None:
            self.info.object = "<p>Fit a model to replay the held-out bars.</p>"
            self.table.object = None
            return
        ess = "n/a (forecast from the fit)" if fc.ess is None else f"{fc.ess:,.0f}"
        if s.replay_unavailable:
            ess = "n/a (no replay for this model)"
        res = (
            ""
            if fc.full_resolution
            else " (lower resolution while playing: the filter step's own fan, bands to 90 %; full fan when paused)"
        )
        self.info.object = (
            f"<div>Bar time: <b class='vr-bar-time'>{_fmt_time(fc.origin)}</b>, close "
            f"<b class='vr-close'>{s.price_format.price(fc.price)}</b><br>"
            f"Replayed {s.replay_position} of {s.replay_total} held-out bars; ESS {ess}; "
            f"fan of {fc.n_paths:,} paths{res}<br>"
            f"<span style='color:#57606a'>Prices: {html.escape(s.price_format.describe())}</span></div>"
        )
        self.table.object = s.horizon_table_text()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("### Replay"),
            self.unavailable,
            pn.Row(self.play, self.pause, self.step, self.reset),
            self.speed,
            self.play_paths,
            self.rate,
            self.position,
            self.info,
            pn.pane.Markdown("#### Price distribution by horizon"),
            self.table,
            sizing_mode="stretch_width",
        )


class Dashboard(Viewer):
    """The whole page: controls on the left, forecast, signals, replay and model on the right."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        if params.get("state") is None:
            params["state"] = DashboardState()
        super().__init__(**params)
        s = self.state
        self.controls = ControlPanel(state=s)
        self.choice = ModelChoice(state=s)
        self.chart = ForecastChart(state=s)
        self.diurnal = DiurnalPanel(state=s)
        self.signals = SignalPanel(state=s)
        self.replay = ReplayPanel(state=s)
        self.model = ModelPanel(state=s)
        self.status = pn.pane.HTML(
            pn.bind(lambda text: f"<div class='vr-status-text'>{html.escape(text)}</div>", s.param.status),
            css_classes=["vr-status"],
            sizing_mode="stretch_width",
        )
        self.alert = pn.pane.Alert(
            pn.bind(_md_escape, s.param.error),
            alert_type="danger",
            visible=pn.bind(bool, s.param.error),
            css_classes=["vr-error"],
            sizing_mode="stretch_width",
        )
        self.dismiss = _button(
            "Dismiss", "light", width=90, visible=pn.bind(bool, s.param.error), css_classes=["vr-dismiss"]
        )
        self.dismiss.on_click(lambda _: s.dismiss_error())
        self.synthetic_note = pn.pane.Alert(
            "Synthetic data: these bars are generated by volresearch, not recorded market prices.",
            alert_type="warning",
            visible=s.param.synthetic,
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        header = pn.pane.Markdown("## volresearch: volatility forecast dashboard", margin=(5, 10))
        main = pn.Column(
            self.status,
            self.alert,
            self.dismiss,
            self.synthetic_note,
            self.choice,
            self.chart,
            self.diurnal,
            pn.Row(
                pn.Column(self.signals, sizing_mode="stretch_width"),
                pn.Column(self.replay, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            self.model,
            sizing_mode="stretch_width",
        )
        return pn.Column(header, pn.Row(self.controls, main, sizing_mode="stretch_width"), sizing_mode="stretch_width")
