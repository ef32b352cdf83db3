"""Small helpers every layer shares: read-only arrays and JSON-safe conversion.

One implementation each, so results, snapshots and CLI output agree on how a
NaN, a numpy scalar or a timestamp is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["readonly", "jsonable", "json_default", "float_array"]


def readonly(a: Any, *, dtype: Any = None, copy: bool = False) -> np.ndarray:
    """``a`` as a contiguous read-only array.

    Without ``copy`` a view is returned when ``a`` already is a contiguous
    array of ``dtype`` (the caller gives up writing through it); with
    ``copy=True`` the result never shares memory with ``a``.
    """
    arr = np.array(a, dtype=dtype, copy=True) if copy else np.ascontiguousarray(a, dtype=dtype)
    if not copy and arr is a:
        arr = arr.view()
    arr.setflags(write=False)
    return arr


def jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` into values :mod:`json` writes faithfully.

    Mappings become dicts with string keys, sequences and arrays lists, numpy
    scalars Python scalars, non-finite floats ``None`` (JSON has no NaN),
    timestamps ISO 8601 strings, paths strings, DataFrames lists of records.
    """
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, (pd.Timestamp, datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def json_default(value: object) -> Any:
    """``default=`` hook for :func:`json.dumps`: numpy, pandas, dates and paths."""
    out = jsonable(value)
    if out is value and not isinstance(value, (str, int, float, bool, type(None))):
        raise TypeError(f"object of type {type(value).__name__} is not JSON serialisable")
    return out


def float_array(obj: Any) -> np.ndarray:
    """Inverse of :func:`jsonable` for float arrays: ``None`` entries become NaN."""

    def _nan(v: Any) -> Any:
        if isinstance(v, list):
            return [_nan(x) for x in v]
        return math.nan if v is None else v

    return np.array(_nan(obj), dtype=np.float64)
