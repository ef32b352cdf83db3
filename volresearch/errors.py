"""Errors raised by volresearch.

One small hierarchy so callers can catch everything from the package with
``VolresearchError`` or one family with its subclass.  Messages name what is
wrong and where: the file, the row (0-based position in the input as read) and
the column, whenever those are known.
"""

from __future__ import annotations

__all__ = [
    "VolresearchError",
    "DataError",
    "FitError",
    "ConfigError",
    "SimulationError",
    "SignalError",
]


class VolresearchError(Exception):
    """Base class of every error raised on purpose by volresearch."""


class DataError(VolresearchError, ValueError):
    """Input data is malformed or fails validation.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file, row, column
        Where it is wrong, when known.  ``row`` is the 0-based position of the
        row in the input as it was read (before any sorting), or a list of them.
    rule
        Short machine-readable name of the violated rule (e.g. ``"ohlc"``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | list[int] | None = None,
        column: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.rule = rule
        where = []
        if file is not None:
            where.append(f"file {file!s}")
        if row is not None:
            if isinstance(row, list):
                shown = ", ".join(str(r) for r in row[:10])
                more = f" (+{len(row) - 10} more)" if len(row) > 10 else ""
                where.append(f"rows {shown}{more}")
            else:
                where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        full = f"{message} [{'; '.join(where)}]" if where else message
        super().__init__(full)


class FitError(VolresearchError, RuntimeError):
    """A model fit failed or produced an estimate that fails its checks."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        self.reason = reason or message
        super().__init__(message)


class ConfigError(VolresearchError, ValueError):
    """A configuration file or option is invalid (names the file and key)."""


class SimulationError(VolresearchError, RuntimeError):
    """A simulation or filter was asked for something it cannot do."""


class SignalError(VolresearchError, ValueError):
    """A trading signal (zones, confidence, positions) was given inconsistent options or inputs."""
