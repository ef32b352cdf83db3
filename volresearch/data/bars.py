"""Bars: the schema, the loader and validation, in one import.

The loader lives in :mod:`volresearch.data.loading` (file and DataFrame
reading, vendor layouts, time parsing) and validation in
:mod:`volresearch.data.validation` (:func:`validate_bars`,
:class:`QualityReport`); this module re-exports both.
"""

from __future__ import annotations

from volresearch.data.loading import (
    BAR_COLUMNS,
    COLUMN_ALIASES,
    EXTRA_COLUMNS,
    INDEX_NAME,
    PRICE_COLUMNS,
    BarSource,
    load_bars,
)
from volresearch.data.validation import (
    ERROR_RULES,
    WARNING_RULES,
    Issue,
    Policy,
    QualityReport,
    Repair,
    validate_bars,
)

__all__ = [
    "INDEX_NAME",
    "PRICE_COLUMNS",
    "BAR_COLUMNS",
    "EXTRA_COLUMNS",
    "COLUMN_ALIASES",
    "ERROR_RULES",
    "WARNING_RULES",
    "BarSource",
    "Policy",
    "load_bars",
    "validate_bars",
    "Issue",
    "Repair",
    "QualityReport",
]
