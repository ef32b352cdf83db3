"""Former home of the path kernels, kept so existing imports work: see :mod:`volresearch.simulate.kernels`."""

from __future__ import annotations

from .kernels import *  # noqa: F403
from .kernels import __all__  # noqa: F401
