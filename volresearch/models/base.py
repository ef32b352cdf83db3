r"""The one interface every fitted model offers: plain data that a path kernel and a filter continue from.

A model is ``spec -> fit -> immutable result -> filter state -> path kernel``.
The result of a fit (a GARCH-family :class:`~volresearch.models.Fit`, the
multiplicative intraday :class:`~volresearch.models.intraday.IntradayFit`,
and the stochastic-volatility, jump and ensemble results to come) carries:

``model``
    Registry name of the model (``"gjr-sged"``, ``"intraday-gjr-sged"``...).
``kernel``
    Id of the path kernel that simulates it (``"garch"``, ``"gjr"``,
    ``"egarch"``, ``"intraday-gjr"``...).  The kernels live in
    :mod:`volresearch.simulate`, keyed by this id in
    :mod:`volresearch.registry`; a model never imports them.
``dist``
    Name of the standardised innovation law (see
    :mod:`volresearch.models.distributions`), whose shape parameters are in
    :meth:`~ModelResult.simulation_params`.
``simulation_params()``
    The parameters as the kernel takes them, **per-bar log-return units**
    (floats, or arrays for per-step quantities).
``filter_state()``
    The state a filter or a simulation continues from: last price, last
    residual, the variance of the next bar and the time of the last bar.
``bar_seconds``, ``calendar``
    The bar clock of the sample (seconds per bar, calendar preset name).
``flags``
    Warnings every surface showing the result must show.
``summary()``, ``to_dict()``, ``from_dict()``
    Text, JSON-safe dictionary with a ``kind`` (or ``type``) field naming the
    result type, and its inverse (never pickle).

Nothing here imports :mod:`volresearch.simulate`: arrows go models ->
simulate -> registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["ModelResult", "result_kind", "missing_members", "REQUIRED_MEMBERS"]

#: Members a result must have to plug into the registry.
REQUIRED_MEMBERS = (
    "model",
    "kernel",
    "dist",
    "simulation_params",
    "filter_state",
    "bar_seconds",
    "calendar",
    "flags",
    "summary",
    "to_dict",
    "from_dict",
)


@runtime_checkable
class ModelResult(Protocol):
    """Protocol of an immutable fitted-model result (see the module docstring)."""

    @property
    def model(self) -> str:
        """Registry name of the model."""
        ...

    @property
    def kernel(self) -> str:
        """Id of the path kernel that simulates this result."""
        ...

    @property
    def dist(self) -> str:
        """Name of the standardised innovation law."""
        ...

    @property
    def bar_seconds(self) -> float:
        """Seconds per bar of the fitted sample."""
        ...

    @property
    def calendar(self) -> str | None:
        """Calendar preset name of the sample (``None`` when unknown)."""
        ...

    @property
    def flags(self) -> tuple[str, ...]:
        """Warnings to show with the result."""
        ...

    def simulation_params(self) -> dict[str, float | np.ndarray]:
        """Kernel parameters in per-bar log-return units."""
        ...

    def filter_state(self) -> dict[str, Any]:
        """State a filter or a simulation continues from."""
        ...

    def summary(self) -> str:
        """Human-readable table."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with a ``kind`` field."""
        ...

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelResult:
        """Inverse of :meth:`to_dict`."""
        ...


def missing_members(obj: Any) -> list[str]:
    """Names of :data:`REQUIRED_MEMBERS` that ``obj`` (a result or its class) lacks."""
    return [name for name in REQUIRED_MEMBERS if not hasattr(obj, name)]


def result_kind(d: Mapping[str, Any]) -> str | None:
    """The result type named by a dictionary written by ``to_dict`` (its ``type``, else ``kind`` field)."""
    value = d.get("type", d.get("kind"))
    return None if value is None else str(value)
