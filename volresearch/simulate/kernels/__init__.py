"""Numba kernels of the GARCH-family path simulator, each next to its plain-numpy twin.

* :mod:`.draws`: generator word -> innovation through a tabulated inverse cdf;
* :mod:`.garch`: GARCH, GJR and EGARCH path kernels (full matrix, in-place advance);
* :mod:`.quantiles`: quantile selection by the package's one rule
  (``numpy.quantile(..., method="inverted_cdf")``, weighted or not), bit for bit;
* :mod:`.bands`: streamed band mode, per-step statistics without the path matrix.

Every kernel has a plain-numpy twin (``*_numpy``) that the tests compare with it.
"""

from __future__ import annotations

from .bands import expm1_fast, simulate_bands, simulate_bands_numpy
from .draws import PATH_BLOCK, draw_innovations, draw_innovations_numpy, table_z, table_z_numpy
from .garch import (
    EGARCH,
    GARCH,
    GJR,
    SQRT_2_OVER_PI,
    advance_states,
    advance_states_numpy,
    advance_states_serial,
    simulate_matrix,
    simulate_matrix_numpy,
    step_variance,
    step_variance_numpy,
)
from .quantiles import (
    inverted_cdf_plan,
    matrix_quantiles,
    order_statistics,
    select_ranks,
    stable_argsort,
    weighted_quantile_numpy,
    weighted_quantiles_row,
)

__all__ = [
    "EGARCH",
    "GARCH",
    "GJR",
    "PATH_BLOCK",
    "SQRT_2_OVER_PI",
    "advance_states",
    "advance_states_numpy",
    "advance_states_serial",
    "draw_innovations",
    "draw_innovations_numpy",
    "expm1_fast",
    "inverted_cdf_plan",
    "matrix_quantiles",
    "order_statistics",
    "select_ranks",
    "simulate_bands",
    "simulate_bands_numpy",
    "simulate_matrix",
    "simulate_matrix_numpy",
    "step_variance",
    "stable_argsort",
    "step_variance_numpy",
    "table_z",
    "table_z_numpy",
    "weighted_quantile_numpy",
    "weighted_quantiles_row",
]
