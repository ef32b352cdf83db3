"""The model view of the dashboard: fitted parameters, residual diagnostics, an ensemble's weights over time,
stylized facts and data quality."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from volresearch.overview import garch_component
from volresearch.plots import ensemble_weights_chart

from ._format import fmt_time as _fmt_time
from .state import DashboardState

__all__ = ["ModelPanel"]


class ModelPanel(Viewer):
    """Fitted parameters, residual diagnostics, stylized facts and data quality."""

    state = param.ClassSelector(class_=DashboardState, doc="The session's state.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width")
        self.params_table = pn.pane.DataFrame(None, sizing_mode="stretch_width", css_classes=["vr-params"])
        self.diagnostics = pn.pane.DataFrame(None, index=False, sizing_mode="stretch_width")
        self.facts_summary = pn.pane.HTML("", sizing_mode="stretch_width")
        self.facts = pn.pane.DataFrame(None, index=False, sizing_mode="stretch_width", css_classes=["vr-facts"])
        self.quality = pn.pane.HTML("", sizing_mode="stretch_width")
        self.weights = pn.pane.HoloViews(None, sizing_mode="stretch_width", visible=False, css_classes=["vr-weights"])
        self.state.param.watch(self._update_fit, ["fit", "stylized"])
        self.state.param.watch(self._update_weights, ["fit", "replay_position"])
        self.state.param.watch(self._update_quality, ["quality"])
        self._update_fit()
        self._update_quality()
        self._update_weights()

    def _update_weights(self, *_: Any) -> None:
        frame = self.state.ensemble_weights()
        self.weights.visible = frame is not None
        self.weights.object = (
            None if frame is None else ensemble_weights_chart(frame, title=f"Pool weights of {self.state.fit.model}")
        )

    def _update_fit(self, *_: Any) -> None:
        result = self.state.fit
        if result is None:
            self.summary.object = "<p>No fit yet.</p>"
            self.params_table.object = None
            self.diagnostics.object = None
            self.facts_summary.object = ""
            self.facts.object = None
            return
        fit = garch_component(result)
        if fit is result:
            warn = (
                f"<br><b style='color:#d1242f'>Near-integrated: persistence {fit.persistence:.6f} &gt; 0.999; "
                "long-horizon variance is unreliable.</b>"
                if fit.near_integrated
                else ""
            )
            if fit.near_integrated:
                long_run = "half-life and unconditional vol n/a (near-integrated)"
            else:
                long_run = (
                    f"half-life {fit.half_life:,.1f} bars, "
                    f"unconditional vol {fit.unconditional_vol_annualised:.1%} annualised"
                )
            self.summary.object = (
                f"<div><b>{fit.spec.label}</b> on {fit.n_obs:,} returns, {_fmt_time(fit.start)} .. "
                f"{_fmt_time(fit.end)}<br>"
                f"log-likelihood {fit.loglik:,.2f}, AIC {fit.aic:,.2f}, BIC {fit.bic:,.2f}<br>"
                f"persistence {fit.persistence:.6f}, next-bar vol {math.sqrt(fit.next_variance):.4%} per bar, "
                f"{long_run}{warn}</div>"
            )
        else:
            self.summary.object = (
                f"<div><b>{html.escape(result.model)}</b></div>"
                f"<pre style='font-size:12px;white-space:pre-wrap'>{html.escape(result.summary())}</pre>"
            )
        table = self.state.fit_table()
        self.params_table.object = pd.DataFrame(
            {
                "estimate": table["estimate"].map(lambda v: f"{v:.6g}"),
                "std error": table["std error"].map(lambda v: f"{v:.3g}"),
                "null": table["null"].map(lambda v: f"{v:g}" if math.isfinite(v) else "-"),
                "t": table["t"].map(lambda v: f"{v:.2f}" if math.isfinite(v) else "n/a"),
                "unit": table["unit"],
            },
            index=table.index,
        )
        diag = self.state.diagnostics_table()
        diag["statistic"] = diag["statistic"].map(lambda v: f"{v:.3f}")
        diag["p-value"] = diag["p-value"].map(lambda v: f"{v:.3f}")
        self.diagnostics.object = diag
        facts = self.state.stylized_verdicts()
        n_pass = int((facts["verdict"] == "PASS").sum())
        self.facts_summary.object = (
            f"<p><b>{n_pass} of {len(facts)}</b> stylized-fact criteria pass on the fitted returns.</p>"
        )
        facts["value"] = facts["value"].map(lambda v: f"{v:.4g}")
        facts["p-value"] = facts["p-value"].map(lambda v: "" if not math.isfinite(v) else f"{v:.3g}")
        self.facts.object = facts

    def _update_quality(self, *_: Any) -> None:
        q = self.state.quality
        self.quality.object = "" if q is None else f"<pre style='font-size:12px'>{html.escape(q.summary())}</pre>"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Tabs(
            (
                "Model",
                pn.Column(
                    self.summary,
                    pn.pane.Markdown(
                        "#### Parameters (robust std errors; per-bar units, or of the deseasonalised intraday "
                        "component q)"
                    ),
                    self.params_table,
                    self.weights,
                    pn.pane.Markdown("#### Residual diagnostics (5% level)"),
                    self.diagnostics,
                    sizing_mode="stretch_width",
                ),
            ),
            ("Stylized facts", pn.Column(self.facts_summary, self.facts, sizing_mode="stretch_width")),
            ("Data quality", self.quality),
            sizing_mode="stretch_width",
            dynamic=False,
        )
