"""Registry of innovation distributions by short name.

Every GARCH-family model in volresearch draws its standardised innovations
``z_t`` (mean 0, variance 1) from one of these laws.  The registry maps the
names used on the command line and in configs to ``arch`` distribution classes,
so fitting, simulation and calibration share one source of truth.

=========  ==================================  =====================================
name       class                               shape parameters (dimensionless)
=========  ==================================  =====================================
normal     ``arch.univariate.Normal``          none
t          ``arch.univariate.StudentsT``       ``nu`` (degrees of freedom, > 2)
skewt      ``arch.univariate.SkewStudent``     ``eta`` (> 2), ``lambda`` in (-1, 1)
ged        ``arch.univariate.GeneralizedError`` ``nu`` (shape, 2 = normal)
sged       :class:`~volresearch.models.sged.SkewedGED`  ``nu`` (shape), ``xi`` (> 0, 1 = symmetric)
=========  ==================================  =====================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from arch.univariate import GeneralizedError, Normal, SkewStudent, StudentsT
from arch.univariate.distribution import Distribution

from volresearch.errors import ConfigError
from volresearch.models.sged import SkewedGED

__all__ = [
    "DISTRIBUTIONS",
    "DistributionInfo",
    "get_distribution",
    "make_distribution",
    "null_value",
    "ppf_function",
]


@dataclass(frozen=True)
class DistributionInfo:
    """Description of one registered innovation law."""

    name: str
    factory: Callable[[], Distribution]
    parameter_names: tuple[str, ...]
    symmetric: bool
    description: str


DISTRIBUTIONS: Mapping[str, DistributionInfo] = {
    "normal": DistributionInfo("normal", Normal, (), True, "standard normal"),
    "t": DistributionInfo("t", StudentsT, ("nu",), True, "standardised Student-t"),
    "skewt": DistributionInfo("skewt", SkewStudent, ("eta", "lambda"), False, "Hansen (1994) skewed Student-t"),
    "ged": DistributionInfo("ged", GeneralizedError, ("nu",), True, "generalised error distribution"),
    "sged": DistributionInfo("sged", SkewedGED, ("nu", "xi"), False, "Fernandez-Steel skewed GED"),
}


def get_distribution(name: str) -> DistributionInfo:
    """Return the registry entry for ``name``; raise ``ConfigError`` if unknown."""
    try:
        return DISTRIBUTIONS[name]
    except KeyError:
        raise ConfigError(f"unknown innovation distribution {name!r}; choose one of {sorted(DISTRIBUTIONS)}") from None


def make_distribution(name: str) -> Distribution:
    """A fresh ``arch`` distribution instance for ``name``."""
    return get_distribution(name).factory()


def ppf_function(name: str, params: Mapping[str, float]) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised quantile function of the standardised law with fixed parameters.

    Parameters
    ----------
    name
        Registered distribution name.
    params
        Shape parameters by name (extra keys such as ``omega`` are ignored).

    Returns
    -------
    callable
        ``ppf(u)`` mapping probabilities in (0, 1) to standardised innovations.
    """
    info = get_distribution(name)
    try:
        values = np.array([float(params[p]) for p in info.parameter_names], dtype=float)
    except KeyError as exc:
        raise ConfigError(f"distribution {name!r} needs parameter {exc.args[0]!r}") from None
    dist = info.factory()

    def ppf(u: np.ndarray) -> np.ndarray:
        return np.asarray(dist.ppf(np.asarray(u, dtype=float), values if values.size else None), dtype=float)

    return ppf


#: Natural null of each shape parameter: the value at which the law reduces to its simpler neighbour.
#: Student-t degrees of freedom have none (the normal is their limit at infinity).
_SHAPE_NULLS: Mapping[tuple[str, str], float | None] = {
    ("t", "nu"): None,
    ("skewt", "eta"): None,
    ("skewt", "lambda"): 0.0,
    ("ged", "nu"): 2.0,
    ("sged", "nu"): 2.0,
    ("sged", "xi"): 1.0,
}


def null_value(dist: str, name: str) -> float | None:
    """Value under the natural null hypothesis of parameter ``name`` of a fit with innovations ``dist``.

    Volatility and mean parameters: 0.  Shape parameters: the value at which
    the law becomes its simpler neighbour (skewed GED ``xi`` 1, GED ``nu``
    2 = normal, skewed-t ``lambda`` 0); ``None`` for Student-t degrees of
    freedom, whose null (the normal) lies at infinity.
    """
    return _SHAPE_NULLS.get((dist, name), 0.0)


def negative_second_moment(name: str, params: Mapping[str, float]) -> float:
    """``E[z^2 1(z < 0)]`` of the standardised law: the weight of the GJR term.

    Equals 1/2 for symmetric laws.  Used for GJR persistence
    ``alpha + beta + gamma * E[z^2 1(z<0)]``.
    """
    info = get_distribution(name)
    if info.symmetric:
        return 0.5
    values = np.array([float(params[p]) for p in info.parameter_names], dtype=float)
    return float(info.factory().partial_moment(2, 0.0, values))


#: How a law maps under z -> -z: symmetric laws to themselves, skewed ones flip their skew parameter.
_MIRROR: Mapping[str, Callable[[dict[str, float]], dict[str, float]]] = {
    "normal": lambda p: p,
    "t": lambda p: p,
    "ged": lambda p: p,
    "skewt": lambda p: {**p, "lambda": -p["lambda"]},
    "sged": lambda p: {**p, "xi": 1.0 / p["xi"]},
}


def isf_function(name: str, params: Mapping[str, float]) -> Callable[[np.ndarray], np.ndarray]:
    """Inverse survival function ``F^{-1}(1 - v)`` computed without cancellation.

    Uses the mirror law: if ``z`` has parameters ``p`` then ``-z`` has
    ``mirror(p)`` (Hansen's skew-t flips ``lambda``; the Fernandez-Steel
    skewed GED maps ``xi`` to ``1/xi``), so ``isf(v) = -ppf_mirror(v)``,
    accurate for tiny ``v`` where ``ppf(1 - v)`` is not.
    """
    info = get_distribution(name)
    mirrored = _MIRROR[name]({k: float(params[k]) for k in info.parameter_names})
    ppf = ppf_function(name, mirrored)
    return lambda v: -ppf(v)
