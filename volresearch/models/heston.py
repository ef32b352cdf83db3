r"""Heston stochastic volatility: immutable result, Feller diagnostic, analytic return moments.

Model (annualised, ``x = ln S``)::

    dx = (mu - v / 2) dt + sqrt(v) dW1
    dv = kappa (theta - v) dt + xi sqrt(v) dW2,        d<W1, W2> = rho dt

Units: ``mu`` per year (expected rate of return of ``S``), ``kappa`` per year,
``theta`` and ``v0`` variance per year (``sqrt(theta)`` is an annualised
volatility), ``xi`` per sqrt(year) (volatility of variance), ``rho`` none.
``dt`` of a bar is ``year_fraction(bar_seconds, calendar)``.

Feller: ``2 kappa theta / xi^2 >= 1`` keeps ``v`` away from zero; below it
``v`` touches zero (the QE scheme of :mod:`volresearch.simulate.kernels.heston`
handles both), and the result carries a flag.

The path kernel (Andersen's QE scheme, with the correlation in the log-price
step) is :func:`volresearch.simulate.kernels.heston.simulate_sv`; this module
imports nothing from :mod:`volresearch.simulate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from volresearch._util import jsonable

__all__ = ["HESTON_UNITS", "HestonResult", "SVResult", "feller_ratio", "heston_return_moments"]

#: Units of the annualised Heston parameters.
HESTON_UNITS = {
    "mu": "1/year (expected rate of return of S)",
    "kappa": "1/year",
    "theta": "variance/year",
    "xi": "1/sqrt(year) (volatility of variance)",
    "rho": "-",
    "v0": "variance/year",
}


def feller_ratio(kappa: float, theta: float, xi: float) -> float:
    """``2 kappa theta / xi^2``: at least 1 when the variance cannot reach zero (Feller condition)."""
    return 2.0 * kappa * theta / (xi * xi)


def heston_return_moments(
    T: float, mu: float, kappa: float, theta: float, xi: float, rho: float, v0: float
) -> tuple[float, float]:
    """Mean and variance of ``ln(S_T / S_0)`` under Heston (the SVCJ formula with no jumps).

    See :func:`volresearch.models.svcj.svcj_return_moments` for the derivation.
    """
    from volresearch.models.svcj import svcj_return_moments

    return svcj_return_moments(T, mu=mu, kappa=kappa, theta=theta, xi=xi, rho=rho, v0=v0)


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class SVResult:
    """Immutable stochastic-volatility result (parameters, units, standard errors, bar clock, state).

    Attributes
    ----------
    params, std_errors
        Annualised parameters (see :attr:`units`) and their standard errors (NaN when not estimated).
    method
        How the parameters were obtained (``"given"``, ``"smm"``...).
    bar_seconds, calendar, dt
        Bar clock; ``dt`` in years.
    last_price, end
        Last price and ISO time of the last bar (``nan``/``None`` when unknown).
    nobs, objective, diagnostics
        Sample size, final objective value and method-specific diagnostics (JSON-safe).
    flags
        Warnings every surface showing the result must show.
    """

    params: Mapping[str, float]
    std_errors: Mapping[str, float] = field(default_factory=dict)
    method: str = "given"
    bar_seconds: float = 86_400.0
    calendar: str | None = "us_equity_daily"
    dt: float = 1.0 / 252.0
    last_price: float = float("nan")
    end: str | None = None
    nobs: int = 0
    objective: float = float("nan")
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    KIND: ClassVar[str] = "volresearch.SVResult"
    NAMES: ClassVar[tuple[str, ...]] = tuple(HESTON_UNITS)
    units: ClassVar[dict[str, str]] = HESTON_UNITS
    model: ClassVar[str] = "heston"
    kernel: ClassVar[str] = "heston"
    dist: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        params = {k: float(self.params[k]) for k in self.NAMES}
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "std_errors", {k: _num(self.std_errors.get(k)) for k in self.NAMES})
        object.__setattr__(self, "diagnostics", dict(self.diagnostics))
        flags = list(self.flags)
        note = self._feller_flag()
        if note and note not in flags:
            flags.append(note)
        object.__setattr__(self, "flags", tuple(flags))

    def _feller_flag(self) -> str | None:
        f = self.feller
        if f < 1.0:
            return f"Feller ratio 2 kappa theta / xi^2 = {f:.3g} < 1: the variance reaches zero"
        return None

    @property
    def feller(self) -> float:
        """``2 kappa theta / xi^2`` (see :func:`feller_ratio`)."""
        p = self.params
        return feller_ratio(p["kappa"], p["theta"], p["xi"])

    @classmethod
    def from_params(cls, **kw: Any) -> SVResult:
        """Result from given annualised parameters (``method="given"``); other fields by keyword."""
        params = {k: kw.pop(k) for k in cls.NAMES}
        return cls(params=params, **kw)

    def simulation_params(self) -> dict[str, float]:
        """Annualised parameters and ``dt`` (years per bar), as :func:`~volresearch.simulate.kernels.heston.simulate_sv`
        takes them (continuous-time models keep annualised units; the kernel applies ``dt``)."""
        out = dict(self.params)
        out["dt"] = self.dt
        return out

    def filter_state(self) -> dict[str, Any]:
        """``last_price``, ``end``, the current variance ``v`` (1/year) and ``next_variance`` of the next bar's
        log return (``E[int v] `` over one bar, log-return units)."""
        p = self.params
        e = math.exp(-p["kappa"] * self.dt)
        iv = p["theta"] * self.dt + (p["v0"] - p["theta"]) * (1.0 - e) / p["kappa"]
        return {"last_price": self.last_price, "end": self.end, "v": p["v0"], "next_variance": iv}

    def summary(self) -> str:
        """Parameter table with standard errors and units."""
        lines = [
            f"{self.model.upper()} ({self.method})  n = {self.nobs}, bar {self.bar_seconds:g} s, "
            f"calendar {self.calendar}, dt = {self.dt:.6g} years, Feller ratio {self.feller:.3g}",
            f"{'param':<9}{'estimate':>14}{'std err':>14}  unit",
        ]
        for name in self.NAMES:
            lines.append(f"{name:<9}{self.params[name]:>14.6g}{self.std_errors[name]:>14.4g}  {self.units[name]}")
        lines += [f"! {f}" for f in self.flags]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with ``kind``."""
        return jsonable(
            {
                "kind": self.KIND,
                "model": self.model,
                "params": dict(self.params),
                "std_errors": dict(self.std_errors),
                "units": dict(self.units),
                "method": self.method,
                "bar_seconds": self.bar_seconds,
                "calendar": self.calendar,
                "dt": self.dt,
                "last_price": self.last_price,
                "end": self.end,
                "nobs": self.nobs,
                "objective": self.objective,
                "diagnostics": dict(self.diagnostics),
                "flags": list(self.flags),
            }
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SVResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            params={k: _num(v) for k, v in d["params"].items()},
            std_errors={k: _num(v) for k, v in d.get("std_errors", {}).items()},
            method=str(d.get("method", "given")),
            bar_seconds=float(d["bar_seconds"]),
            calendar=d.get("calendar"),
            dt=float(d["dt"]),
            last_price=_num(d.get("last_price")),
            end=d.get("end"),
            nobs=int(d.get("nobs", 0)),
            objective=_num(d.get("objective")),
            diagnostics=dict(d.get("diagnostics", {})),
            flags=tuple(d.get("flags", ())),
        )


@dataclass(frozen=True)
class HestonResult(SVResult):
    """Heston result (parameters ``mu, kappa, theta, xi, rho, v0``; units in :data:`HESTON_UNITS`)."""

    KIND: ClassVar[str] = "volresearch.HestonResult"
