"""Validating bars: the rules, :func:`validate_bars` and its :class:`QualityReport`.

Bars as returned by :func:`~volresearch.data.loading.load_bars` are judged by
:func:`validate_bars`, which checks every rule below in vectorised passes and
returns an immutable :class:`QualityReport`:

========================  ========  ==============================================
rule                      severity  meaning
========================  ========  ==============================================
``nonfinite``             error     NaN or inf in open, high, low or close
``nonpositive``           error     a price <= 0
``negative_volume``       error     volume < 0
``ohlc``                  error     high < max(open, close, low) or low > min(open, close, high)
``duplicate``             error     rows share a time stamp but differ
``non_monotonic``         error     a time stamp earlier than one before it
``exact_duplicate``       warning   a row repeats an earlier row exactly
``zero_volume``           warning   volume == 0
``flat``                  warning   high == low
``price_gap``             warning   close-to-close or previous-close-to-open ``|log|`` jump above the threshold
``timestamp_gap``         warning   expected bars missing inside calendar sessions
``off_session``           warning   a bar outside the calendar's sessions
========================  ========  ==============================================

Policy ``"strict"`` raises on the first error rule; ``"repair"`` fixes only
what can be proved (sorting by time, dropping exact duplicate rows), lists
every row it moved or dropped, and flags the rest.  Rows are always named by
their 0-based position in the input as given.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from volresearch.data.calendar import TradingCalendar, get_calendar, infer_bar_seconds, infer_calendar
from volresearch.data.loading import BAR_COLUMNS, INDEX_NAME, PRICE_COLUMNS, _rows
from volresearch.errors import DataError

__all__ = [
    "ERROR_RULES",
    "WARNING_RULES",
    "Policy",
    "validate_bars",
    "Issue",
    "Repair",
    "QualityReport",
]

ERROR_RULES: tuple[str, ...] = ("nonfinite", "nonpositive", "negative_volume", "ohlc", "duplicate", "non_monotonic")
WARNING_RULES: tuple[str, ...] = (
    "exact_duplicate",
    "zero_volume",
    "flat",
    "price_gap",
    "timestamp_gap",
    "off_session",
)

Policy: TypeAlias = Literal["strict", "repair"]
Severity: TypeAlias = Literal["error", "warning"]

_MAX_ROWS_LISTED = 20
_OHLC_RTOL = 1e-9
_MAX_EXPECTED_SLOTS = 30_000_000


# =============================================================================
# QualityReport
# =============================================================================
@dataclass(frozen=True)
class Issue:
    """One finding of validation.

    Attributes
    ----------
    rule, severity
        Rule name (see the module table) and ``"error"`` or ``"warning"``.
    count
        Number of rows concerned (for ``timestamp_gap``: number of gaps).
    rows
        The first (up to 20) 0-based input positions concerned.
    column
        The column concerned, when there is one.
    message
        What was found, with its numbers.
    repaired
        True when the ``repair`` policy fixed it.
    """

    rule: str
    severity: Severity
    count: int
    rows: tuple[int, ...]
    column: str | None
    message: str
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "count": self.count,
            "rows": list(self.rows),
            "column": self.column,
            "message": self.message,
            "repaired": self.repaired,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Issue:
        """Inverse of :meth:`to_dict`."""
        return cls(
            rule=str(data["rule"]),
            severity=data["severity"],
            count=int(data["count"]),
            rows=tuple(int(r) for r in data["rows"]),
            column=data.get("column"),
            message=str(data["message"]),
            repaired=bool(data.get("repaired", False)),
        )


@dataclass(frozen=True)
class Repair:
    """One change made by the ``repair`` policy; ``rows`` lists every input position touched."""

    action: Literal["sort", "drop_exact_duplicates"]
    rows: tuple[int, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"action": self.action, "rows": list(self.rows), "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Repair:
        """Inverse of :meth:`to_dict`."""
        return cls(action=data["action"], rows=tuple(int(r) for r in data["rows"]), message=str(data["message"]))


@dataclass(frozen=True)
class QualityReport:
    """What :func:`validate_bars` found, immutable and JSON-serialisable.

    Attributes
    ----------
    n_rows
        Rows in the input.
    start, end
        Earliest and latest time stamp (UTC), ``None`` for empty input.
    calendar
        Name of the trading calendar used, or ``None``.
    calendar_inferred, calendar_reason
        Whether it was inferred, and why it was chosen.
    bar_seconds
        Bar length used (most common spacing), seconds.
    expected_bars
        Bar slots a complete record would hold between ``start`` and ``end``
        under the calendar (``None`` without a calendar).
    missing_bar_pct
        Percentage of expected slots without a bar.
    flat_bar_pct
        Percentage of rows with ``high == low``.
    zero_volume_bars
        Rows with zero volume.
    off_session_bars
        Rows outside the calendar's sessions.
    duplicates
        ``{"exact": rows repeating an earlier row, "conflicting": rows sharing
        a time stamp with a different row}``.
    gaps
        ``{"count", "missing_bars", "largest_bars", "largest_start"}``: runs
        of consecutive missing slots, their total, the longest run and the
        ISO time of its first missing slot.
    issues
        Findings, errors first.
    repairs
        Changes made under ``policy="repair"``.
    policy
        ``"strict"`` or ``"repair"``.
    file
        Input name used in messages.
    bars
        The validated frame (``repair``: sorted, exact duplicates dropped);
        not serialised, ``None`` after :meth:`from_dict`.
    notes
        How the input was read where the loader had to assume something (a
        file without a header read by position, a time column recognised by
        its values); from ``bars.attrs["load_notes"]``.
    """

    n_rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    calendar: str | None
    calendar_inferred: bool
    calendar_reason: str
    bar_seconds: float | None
    expected_bars: int | None
    missing_bar_pct: float | None
    flat_bar_pct: float
    zero_volume_bars: int
    off_session_bars: int
    duplicates: Mapping[str, int]
    gaps: Mapping[str, Any]
    issues: tuple[Issue, ...]
    repairs: tuple[Repair, ...]
    policy: Policy
    file: str | None
    bars: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when no error-severity issue is left unrepaired."""
        return not self.errors

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Unrepaired error-severity issues."""
        return tuple(i for i in self.issues if i.severity == "error" and not i.repaired)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Warning-severity issues."""
        return tuple(i for i in self.issues if i.severity == "warning")

    def issue(self, rule: str) -> Issue | None:
        """The first issue of ``rule``, or ``None``."""
        return next((i for i in self.issues if i.rule == rule), None)

    def error(self) -> DataError | None:
        """The :class:`DataError` describing the first unrepaired error, or ``None``."""
        errors = self.errors
        if not errors:
            return None
        first = errors[0]
        others = {e.rule for e in errors[1:]} - {first.rule}
        more = f"; also {', '.join(sorted(others))}" if others else ""
        rows: int | list[int] | None = (
            list(first.rows) if len(first.rows) > 1 else (first.rows[0] if first.rows else None)
        )
        return DataError(
            f"{first.rule}: {first.message}{more}", file=self.file, row=rows, column=first.column, rule=first.rule
        )

    def raise_for_errors(self) -> None:
        """Raise :meth:`error` when the report did not pass."""
        exc = self.error()
        if exc is not None:
            raise exc

    # ----------------------------------------------------------- serialise
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (times ISO 8601); :meth:`from_dict` reverses it."""
        return {
            "file": self.file,
            "policy": self.policy,
            "passed": self.passed,
            "n_rows": self.n_rows,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "calendar": {"name": self.calendar, "inferred": self.calendar_inferred, "reason": self.calendar_reason},
            "bar_seconds": self.bar_seconds,
            "expected_bars": self.expected_bars,
            "missing_bar_pct": self.missing_bar_pct,
            "flat_bar_pct": self.flat_bar_pct,
            "zero_volume_bars": self.zero_volume_bars,
            "off_session_bars": self.off_session_bars,
            "duplicates": dict(self.duplicates),
            "gaps": dict(self.gaps),
            "issues": [i.to_dict() for i in self.issues],
            "repairs": [r.to_dict() for r in self.repairs],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        """Rebuild a report from :meth:`to_dict` output (without ``bars``)."""
        cal = data["calendar"]
        return cls(
            n_rows=int(data["n_rows"]),
            start=None if data["start"] is None else pd.Timestamp(data["start"]),
            end=None if data["end"] is None else pd.Timestamp(data["end"]),
            calendar=cal["name"],
            calendar_inferred=bool(cal["inferred"]),
            calendar_reason=str(cal["reason"]),
            bar_seconds=None if data["bar_seconds"] is None else float(data["bar_seconds"]),
            expected_bars=None if data["expected_bars"] is None else int(data["expected_bars"]),
            missing_bar_pct=None if data["missing_bar_pct"] is None else float(data["missing_bar_pct"]),
            flat_bar_pct=float(data["flat_bar_pct"]),
            zero_volume_bars=int(data["zero_volume_bars"]),
            off_session_bars=int(data["off_session_bars"]),
            duplicates={str(k): int(v) for k, v in data["duplicates"].items()},
            gaps=dict(data["gaps"]),
            issues=tuple(Issue.from_dict(i) for i in data["issues"]),
            repairs=tuple(Repair.from_dict(r) for r in data["repairs"]),
            policy=data["policy"],
            file=data["file"],
            notes=tuple(str(n) for n in data.get("notes", ())),
        )

    # -------------------------------------------------------------- display
    def summary(self) -> str:
        """A compact human-readable table."""
        verdict = "PASSED" if self.passed else "FAILED"
        span = "empty" if self.start is None else f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"
        lines = [
            f"QualityReport {self.file or ''} [{self.policy}] {verdict}".replace("  ", " "),
            f"  rows {self.n_rows:,}   {span}   bar {_fmt_seconds(self.bar_seconds)}",
        ]
        if self.calendar is not None:
            how = "inferred" if self.calendar_inferred else "given"
            lines.append(f"  calendar {self.calendar} ({how}: {self.calendar_reason})")
            lines.append(
                f"  expected bars {self.expected_bars:,}   missing {self.missing_bar_pct:.2f}%   "
                f"gaps {self.gaps.get('count', 0):,} (missing bars {self.gaps.get('missing_bars', 0):,}, "
                f"largest {self.gaps.get('largest_bars', 0):,} from {self.gaps.get('largest_start')})"
            )
        else:
            lines.append(f"  calendar none ({self.calendar_reason})")
        lines.append(
            f"  flat bars {self.flat_bar_pct:.2f}%   zero-volume bars {self.zero_volume_bars:,}   "
            f"off-session bars {self.off_session_bars:,}   duplicates exact {self.duplicates.get('exact', 0):,} / "
            f"conflicting {self.duplicates.get('conflicting', 0):,}"
        )
        if self.issues:
            lines.append(f"  {'severity':<8} {'rule':<16} {'count':>8}  {'column':<8} first rows")
            for i in self.issues:
                tag = f"{i.severity}*" if i.repaired else i.severity
                rows = ", ".join(map(str, i.rows[:8])) + (" ..." if i.count > 8 and len(i.rows) > 8 else "")
                lines.append(f"  {tag:<8} {i.rule:<16} {i.count:>8,}  {i.column or '':<8} {rows}")
        for r in self.repairs:
            lines.append(f"  repair {r.action}: {len(r.rows):,} rows ({r.message})")
        if any(i.repaired for i in self.issues):
            lines.append("  (* repaired)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds:g} s" if seconds < 3600 else str(pd.Timedelta(seconds=seconds))


# =============================================================================
# validate_bars
# =============================================================================
class _Findings:
    """Collects issues, keeping the first rows of each."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(
        self,
        rule: str,
        severity: Severity,
        positions: np.ndarray,
        message: str,
        *,
        column: str | None = None,
        count: int | None = None,
    ) -> None:
        if positions.size == 0 and not count:
            return
        rows = tuple(int(r) for r in np.sort(positions)[:_MAX_ROWS_LISTED])
        self.issues.append(
            Issue(rule, severity, int(count if count is not None else positions.size), rows, column, message)
        )


def _check_schema(bars: pd.DataFrame) -> None:
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars must be a DataFrame, got {type(bars).__name__}", rule="schema")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise DataError("bars need a tz-aware DatetimeIndex; read them with load_bars", rule="schema")
    if bars.index.hasnans:
        rows = np.flatnonzero(np.asarray(bars.index.isna()))
        raise DataError("time stamp is missing (NaT)", row=_rows(rows), column=INDEX_NAME, rule="schema")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {', '.join(missing)}", column=missing[0], rule="schema")
    for c in BAR_COLUMNS:
        if not pd.api.types.is_numeric_dtype(bars[c].dtype) or pd.api.types.is_bool_dtype(bars[c].dtype):
            raise DataError(f"column is {bars[c].dtype}, not numeric", column=c, rule="schema")


def _row_rules(values: dict[str, np.ndarray], found: _Findings) -> None:
    for c in PRICE_COLUMNS:
        bad = np.flatnonzero(~np.isfinite(values[c]))
        found.add("nonfinite", "error", bad, f"{c} is NaN or infinite", column=c)
    with np.errstate(invalid="ignore"):
        for c in PRICE_COLUMNS:
            bad = np.flatnonzero(np.isfinite(values[c]) & (values[c] <= 0))
            found.add("nonpositive", "error", bad, f"{c} is zero or negative", column=c)
        found.add(
            "negative_volume", "error", np.flatnonzero(values["volume"] < 0), "volume is negative", column="volume"
        )
        o, h, lo, cl = (values[k] for k in PRICE_COLUMNS)
        tol = _OHLC_RTOL * np.abs(h)
        high_bad = h + tol < np.maximum(np.maximum(o, cl), lo)
        low_bad = lo - tol > np.minimum(np.minimum(o, cl), h)
    found.add("ohlc", "error", np.flatnonzero(high_bad), "high below open, close or low", column="high")
    found.add("ohlc", "error", np.flatnonzero(low_bad & ~high_bad), "low above open, close or high", column="low")


def _duplicate_rules(bars: pd.DataFrame, t: np.ndarray, found: _Findings) -> tuple[np.ndarray, int, int]:
    """Flag duplicates; return the positions of exact repeats (droppable) and the two counts."""
    dup_time = pd.Series(t).duplicated(keep=False).to_numpy()
    if not dup_time.any():
        return np.zeros(0, dtype=np.int64), 0, 0
    rows = np.flatnonzero(dup_time)
    sub = bars.iloc[rows].reset_index(drop=True)
    sub.insert(0, "__t", t[rows])
    digest = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    key = pd.DataFrame({"t": t[rows], "h": digest})
    exact = rows[key.duplicated(keep="first").to_numpy()]
    distinct = key.drop_duplicates().groupby("t")["h"].transform("size")
    conflicting_times = key.drop_duplicates()["t"].to_numpy()[distinct.to_numpy() > 1]
    conflicting = np.setdiff1d(rows[np.isin(t[rows], conflicting_times)], exact)
    found.add(
        "duplicate",
        "error",
        conflicting,
        f"{conflicting.size} rows share a time stamp with a row holding different values",
        column=INDEX_NAME,
    )
    found.add(
        "exact_duplicate", "warning", exact, f"{exact.size} rows repeat an earlier row exactly", column=INDEX_NAME
    )
    return exact, int(exact.size), int(conflicting.size)


def _sequence_rules(values: dict[str, np.ndarray], order: np.ndarray, gap_threshold: float, found: _Findings) -> None:
    """Rules on the time-ordered rows: zero volume, flat bars, price gaps."""
    found.add("zero_volume", "warning", np.flatnonzero(values["volume"] == 0), "volume is zero", column="volume")
    found.add("flat", "warning", np.flatnonzero(values["high"] == values["low"]), "high equals low", column="high")
    if order.size > 1:
        close = values["close"][order]
        open_ = values["open"][order]
        with np.errstate(divide="ignore", invalid="ignore"):
            cc = np.abs(np.log(close[1:] / close[:-1]))
            oc = np.abs(np.log(open_[1:] / close[:-1]))
        jump = (cc > gap_threshold) | (oc > gap_threshold)
        biggest = float(np.nanmax(np.where(np.isfinite(cc), cc, np.nan), initial=0.0))
        found.add(
            "price_gap",
            "warning",
            order[1:][jump],
            f"|log| jump from the previous close above {gap_threshold:g} (largest close-to-close {biggest:.4f})",
            column="close",
        )


def _calendar_rules(
    t_sorted_unique: np.ndarray,
    t: np.ndarray,
    cal: TradingCalendar,
    bar_seconds: float,
    found: _Findings,
) -> tuple[int | None, float | None, dict[str, Any], int]:
    """Missing bars, gaps and off-session bars against ``cal``."""
    start, end = t_sorted_unique[0], t_sorted_unique[-1]
    gaps: dict[str, Any] = {"count": 0, "missing_bars": 0, "largest_bars": 0, "largest_start": None}
    sessions = cal.sessions(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    where = cal.session_positions(pd.DatetimeIndex(t.view("datetime64[ns]")).tz_localize("UTC"), sessions)
    off = np.flatnonzero(where < 0)
    found.add("off_session", "warning", off, f"bar outside the {cal.name} sessions", column=INDEX_NAME)
    span_slots = (end - start) / 1e9 / bar_seconds
    if span_slots > _MAX_EXPECTED_SLOTS:
        return None, None, gaps, int(off.size)
    expected = cal.expected_index(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), bar_seconds).asi8
    if expected.size == 0:
        return 0, None, gaps, int(off.size)
    present = np.isin(expected, t_sorted_unique)
    missing = ~present
    n_missing = int(missing.sum())
    if n_missing:
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        run_start = np.flatnonzero(edges == 1)
        run_end = np.flatnonzero(edges == -1)
        lengths = run_end - run_start
        k = int(np.argmax(lengths))
        gaps = {
            "count": int(lengths.size),
            "missing_bars": n_missing,
            "largest_bars": int(lengths[k]),
            "largest_start": pd.Timestamp(int(expected[run_start[k]]), unit="ns", tz="UTC").isoformat(),
        }
        # the bar right after each gap, named by its input position
        after = expected[np.minimum(run_end, expected.size - 1)]
        first_pos = pd.Series(np.arange(t.size)).groupby(t).first()
        follow = first_pos.reindex(after[run_end < expected.size]).dropna().to_numpy(dtype=np.int64)
        found.add(
            "timestamp_gap",
            "warning",
            follow,
            f"{lengths.size:,} gaps, {n_missing:,} of {expected.size:,} expected bars missing "
            f"({100 * n_missing / expected.size:.2f}%), largest {int(lengths[k]):,} bars from {gaps['largest_start']}",
            column=INDEX_NAME,
            count=int(lengths.size),
        )
    return int(expected.size), 100.0 * n_missing / expected.size, gaps, int(off.size)


def validate_bars(
    bars: pd.DataFrame,
    policy: Policy = "strict",
    *,
    calendar: str | TradingCalendar | None = None,
    file: str | None = None,
    gap_threshold: float = 0.05,
    raise_errors: bool = True,
) -> QualityReport:
    """Check bars against every rule and report; optionally repair what is provable.

    Parameters
    ----------
    bars
        Frame with a tz-aware DatetimeIndex and numeric ``open high low close
        volume`` columns, as returned by :func:`load_bars` (any order,
        duplicates allowed).
    policy
        ``"strict"``: raise :class:`DataError` on the first error rule
        (warnings never raise).  ``"repair"``: sort rows by time (stable) and
        drop rows that exactly repeat an earlier row, listing every row moved
        or dropped in :attr:`QualityReport.repairs`; everything else is flagged
        and left unchanged.  The resulting frame is :attr:`QualityReport.bars`.
    calendar
        Trading calendar or preset name for the missing-bar, gap and
        off-session checks; inferred with
        :func:`~volresearch.data.calendar.infer_calendar` when ``None``.
    file
        Name of the input in messages (default ``bars.attrs["source"]``).
    gap_threshold
        ``|log|`` price jump between consecutive bars above which a
        ``price_gap`` warning is raised (dimensionless; 0.05 is about 5%).
    raise_errors
        With ``policy="strict"``, set ``False`` to get the failing report
        instead of the exception (used by the command line).

    Returns
    -------
    QualityReport

    Raises
    ------
    DataError
        ``policy="strict"`` and an error rule fails: names the file, the first
        offending rows (0-based input positions), the column and the rule.
        Also ``rule="schema"`` when ``bars`` is not a bar frame, and
        ``rule="option"`` for an unknown policy or a bad threshold.
    ConfigError
        Unknown calendar name.
    """
    if policy not in ("strict", "repair"):
        raise DataError(f"policy must be 'strict' or 'repair', got {policy!r}", rule="option")
    if not (np.isfinite(gap_threshold) and gap_threshold > 0):
        raise DataError(f"gap_threshold must be a positive number, got {gap_threshold!r}", rule="option")
    _check_schema(bars)
    file = file if file is not None else bars.attrs.get("source")
    n = len(bars)
    index = bars.index.tz_convert("UTC").as_unit("ns")
    t = np.asarray(index.asi8)
    values = {c: bars[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in BAR_COLUMNS}
    found = _Findings()
    _row_rules(values, found)
    exact, n_exact, n_conflicting = _duplicate_rules(bars, t, found)

    order = np.argsort(t, kind="stable")
    kept = np.setdiff1d(np.arange(n), exact)  # an exact repeat is a duplicate, not a row out of order
    if kept.size > 1:
        tk = t[kept]
        late = kept[1:][tk[1:] < np.maximum.accumulate(tk[:-1])]
        found.add("non_monotonic", "error", late, "time stamp earlier than a row before it", column=INDEX_NAME)
    keep_order = order[~np.isin(order, exact)]
    _sequence_rules(values, keep_order, gap_threshold, found)

    unique_t = np.unique(t)
    cal_name: str | None = None
    inferred = False
    reason = "fewer than two distinct time stamps"
    bar_seconds = infer_bar_seconds(index) if unique_t.size > 1 else None
    expected_bars: int | None = None
    missing_pct: float | None = None
    gaps: dict[str, Any] = {"count": 0, "missing_bars": 0, "largest_bars": 0, "largest_start": None}
    off_session = 0
    if calendar is not None:
        cal: TradingCalendar | None = get_calendar(calendar)
        reason = "given"
    elif bar_seconds is not None:
        cal, reason = infer_calendar(index)
        inferred = True
    else:
        cal = None
    if cal is not None:
        cal_name = cal.name
        if bar_seconds is not None:
            expected_bars, missing_pct, gaps, off_session = _calendar_rules(unique_t, t, cal, bar_seconds, found)

    repairs: list[Repair] = []
    out = bars
    if policy == "repair":
        # a row moved when its rank among the kept rows changes with sorting
        moved = kept[kept != keep_order]
        if moved.size:
            repairs.append(Repair("sort", tuple(int(r) for r in np.sort(moved)), "rows moved to sort by time"))
            _mark_repaired(found, "non_monotonic")
        if exact.size:
            repairs.append(
                Repair("drop_exact_duplicates", tuple(int(r) for r in np.sort(exact)), "exact repeats dropped")
            )
            _mark_repaired(found, "exact_duplicate")
        if repairs:
            out = bars.iloc[keep_order]
            out.attrs = dict(bars.attrs)

    rank = {rule: k for k, rule in enumerate((*ERROR_RULES, *WARNING_RULES))}
    issues = tuple(sorted(found.issues, key=lambda i: (i.severity != "error", rank.get(i.rule, 99))))
    flat = int(np.sum(values["high"] == values["low"]))
    report = QualityReport(
        n_rows=n,
        start=pd.Timestamp(int(unique_t[0]), unit="ns", tz="UTC") if n else None,
        end=pd.Timestamp(int(unique_t[-1]), unit="ns", tz="UTC") if n else None,
        calendar=cal_name,
        calendar_inferred=inferred,
        calendar_reason=reason,
        bar_seconds=bar_seconds,
        expected_bars=expected_bars,
        missing_bar_pct=missing_pct,
        flat_bar_pct=100.0 * flat / n if n else 0.0,
        zero_volume_bars=int(np.sum(values["volume"] == 0)),
        off_session_bars=off_session,
        duplicates={"exact": n_exact, "conflicting": n_conflicting},
        gaps=gaps,
        issues=issues,
        repairs=tuple(repairs),
        policy=policy,
        file=file,
        bars=out,
        notes=tuple(str(note) for note in bars.attrs.get("load_notes", ())),
    )
    if policy == "strict" and raise_errors:
        report.raise_for_errors()
    return report


def _mark_repaired(found: _Findings, rule: str) -> None:
    found.issues = [
        Issue(i.rule, i.severity, i.count, i.rows, i.column, i.message, True) if i.rule == rule else i
        for i in found.issues
    ]
