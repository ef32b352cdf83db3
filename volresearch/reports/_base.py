"""Errors and progress reporting shared by the report stages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from volresearch.errors import VolresearchError

_ENGINE = "volresearch-report"
_REPORTS_EXTRA = "pip install 'volresearch[reports]'"

Progress = Callable[[str], Any]


class ReportError(VolresearchError, RuntimeError):
    """A report could not be built: a missing tool, a failing cell or a failed conversion."""


def _quiet(message: str) -> None:
    """Progress sink that discards messages."""
