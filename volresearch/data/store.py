"""Persistent store for bars, calibrated parameters and particle-filter snapshots.

One SQL database holds everything a research session wants to keep between
runs: SQLite (one file, nothing to install) for a notebook or a single machine,
PostgreSQL for a shared server.  The same code path serves both; the only
dialect-specific piece is the ``INSERT ... ON CONFLICT DO UPDATE`` construct,
chosen by dialect name in :func:`upsert_statement`.

Three tables, each keyed on its natural key so that every write is an
idempotent upsert (re-running an ingest or a calibration never duplicates
rows; a changed value for an existing key replaces the old one):

``bars``
    ``(symbol, timestamp)`` -> open, high, low, close (float64), volume
    (float64, nullable: a source without volume has NaN), trade_count
    (integer, nullable), vwap (float64, nullable).
``calibration_params``
    ``(symbol, model_type, dist, param_name, calibration_date)`` -> the
    parameter value, its unit, the data window, convergence flag, estimator
    and a JSON ``meta`` blob (data hash, library versions, ...).
``particle_snapshots``
    ``(symbol, timestamp, model_version)`` -> arrays serialised with
    :func:`numpy.savez_compressed` and a JSON ``meta`` blob.

Time is stored as an integer count of **Unix epoch seconds, UTC** in every
table.  Bars are one second or coarser, so sub-second precision is not
stored: writing a bar (or a calibration or snapshot date) whose timestamp
has a fractional second raises :class:`~volresearch.errors.DataError` instead
of truncating it silently.  Floats are stored as 8-byte IEEE doubles and come
back bit-identical, with one exception imposed by SQLite: a negative zero
(``-0.0``) is read back as ``0.0`` (the values compare equal; only the sign
bit of zero is lost).

All statements are built with SQLAlchemy Core; values always travel as bound
parameters, never inside SQL text.  Snapshot payloads are read with
``numpy.load(..., allow_pickle=False)`` and object arrays are refused on
write, so nothing read from the database is ever unpickled.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.dml import Insert

from volresearch._util import json_default
from volresearch.errors import ConfigError, DataError, VolresearchError

__all__ = [
    "Store",
    "metadata",
    "bars_table",
    "calibration_table",
    "snapshots_table",
    "upsert_statement",
    "BAR_COLUMNS",
    "OPTIONAL_BAR_COLUMNS",
    "TIMESTAMP_UNIT",
]

#: Required bar columns, in the order :meth:`Store.read_bars` returns them.
BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
#: Optional bar columns (returned only when at least one stored value is non-null).
OPTIONAL_BAR_COLUMNS: tuple[str, ...] = ("trade_count", "vwap")
#: Resolution of the DatetimeIndex returned by :meth:`Store.read_bars`.
TIMESTAMP_UNIT = "ns"

# Rows per executemany call; a whole write_bars call is still one transaction.
_CHUNK_ROWS = 20_000
# Divisor from a datetime64 unit to seconds.
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
# Keys added to a snapshot's meta on read (so they may not appear in user meta).
_SNAPSHOT_RESERVED_META = ("symbol", "timestamp", "model_version")
# Array names that would collide with numpy.savez_compressed's own arguments.
_SAVEZ_RESERVED_NAMES = ("file", "allow_pickle")

TimeLike = pd.Timestamp | datetime | date | np.datetime64 | str | int

metadata = MetaData()

bars_table = Table(
    "bars",
    metadata,
    Column("symbol", Text, nullable=False),
    Column(
        "timestamp",
        BigInteger,
        nullable=False,
        comment="bar start, Unix epoch seconds UTC",
    ),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=True),
    Column("trade_count", BigInteger, nullable=True),
    Column("vwap", Double, nullable=True),
    # The primary key is the UNIQUE(symbol, timestamp) constraint and the index
    # that range reads by symbol and time use; no second index is needed.
    PrimaryKeyConstraint("symbol", "timestamp", name="pk_bars"),
)

calibration_table = Table(
    "calibration_params",
    metadata,
    Column("symbol", Text, nullable=False),
    Column("model_type", Text, nullable=False),
    Column("dist", Text, nullable=False),
    Column("param_name", Text, nullable=False),
    Column("param_value", Double, nullable=True),
    Column("unit", Text, nullable=True),
    Column(
        "calibration_date",
        BigInteger,
        nullable=False,
        comment="Unix epoch seconds UTC",
    ),
    Column("window_start", BigInteger, nullable=False, comment="Unix epoch seconds UTC"),
    Column("window_end", BigInteger, nullable=False, comment="Unix epoch seconds UTC"),
    Column("converged", Integer, nullable=False, comment="1 if the fit converged"),
    Column("method", Text, nullable=True),
    Column("meta", Text, nullable=True, comment="JSON object"),
    PrimaryKeyConstraint(
        "symbol",
        "model_type",
        "dist",
        "param_name",
        "calibration_date",
        name="pk_calibration_params",
    ),
)

snapshots_table = Table(
    "particle_snapshots",
    metadata,
    Column("symbol", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False, comment="Unix epoch seconds UTC"),
    Column("model_version", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False, comment="numpy.savez_compressed bytes"),
    Column("meta", Text, nullable=True, comment="JSON object"),
    PrimaryKeyConstraint("symbol", "timestamp", "model_version", name="pk_particle_snapshots"),
)

# The only dialect-specific construct: an INSERT that supports ON CONFLICT.
_UPSERT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert_statement(table: Table, dialect_name: str) -> Insert:
    """Build an idempotent ``INSERT ... ON CONFLICT (key) DO UPDATE`` for a table.

    The conflict target is the table's primary key; every other column is
    overwritten with the incoming value.  Values are not part of the statement:
    execute it with a list of row dicts (executemany) and they travel as bound
    parameters.

    Parameters
    ----------
    table
        One of the store's tables (or any table with a primary key).
    dialect_name
        ``"sqlite"`` or ``"postgresql"`` (``engine.dialect.name``).

    Returns
    -------
    sqlalchemy.sql.dml.Insert
        The dialect-specific insert with its ON CONFLICT clause.

    Raises
    ------
    ConfigError
        If the dialect has no supported upsert.
    """
    try:
        make_insert = _UPSERT_INSERTS[dialect_name]
    except KeyError:
        supported = ", ".join(sorted(_UPSERT_INSERTS))
        raise ConfigError(
            f"database dialect {dialect_name!r} is not supported by Store (supported: {supported})"
        ) from None
    stmt = make_insert(table)
    keys = [column.name for column in table.primary_key.columns]
    updates = {column.name: stmt.excluded[column.name] for column in table.columns if column.name not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


class Store:
    """SQL-backed store of bars, calibrations and particle snapshots.

    Tables are created on first use.  All times are kept as Unix epoch seconds
    (UTC); see the module docstring for the storage conventions.

    Parameters
    ----------
    url
        SQLAlchemy database URL, e.g. ``"sqlite:///volresearch.db"`` (a file
        relative to the working directory; missing parent folders are
        created), ``"sqlite://"`` (in memory) or
        ``"postgresql+psycopg://user@host/db"``.

    Attributes
    ----------
    url
        The URL as given.

    Examples
    --------
    >>> with Store("sqlite://") as store:                     # doctest: +SKIP
    ...     store.write_bars("ES", bars)
    ...     back = store.read_bars("ES", start="2024-01-02")
    """

    def __init__(self, url: str = "sqlite:///volresearch.db") -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"invalid database URL: {exc}") from exc
        self._display_url = parsed.render_as_string(hide_password=True)
        self._dialect = parsed.get_backend_name()
        if self._dialect not in _UPSERT_INSERTS:
            supported = ", ".join(sorted(_UPSERT_INSERTS))
            raise ConfigError(
                f"database URL {self._display_url!r} uses dialect {self._dialect!r}; Store supports {supported}"
            )
        if self._dialect == "sqlite":
            _make_sqlite_parent(parsed)
        self._engine = create_engine(parsed)
        self._tables_ready = False
        self._closed = False

    # ------------------------------------------------------------------ life cycle
    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"Store({self._display_url!r}){state}"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool; later calls on this store raise."""
        if not self._closed:
            self._engine.dispose()
            self._closed = True

    @property
    def dialect(self) -> str:
        """Dialect name of the database (``"sqlite"`` or ``"postgresql"``)."""
        return self._dialect

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """Open a transaction, creating the tables on first use."""
        if self._closed:
            raise VolresearchError(f"store {self._display_url!r} is closed")
        if not self._tables_ready:
            metadata.create_all(self._engine, checkfirst=True)
            self._tables_ready = True
        with self._engine.begin() as conn:
            yield conn

    # ------------------------------------------------------------------------ bars
    def write_bars(self, symbol: str, bars: pd.DataFrame) -> int:
        """Insert or update bars for one symbol (idempotent upsert).

        Writing the same frame twice leaves one row per timestamp; a changed
        value for an existing timestamp replaces the stored one.  The whole
        call is one transaction.

        Parameters
        ----------
        symbol
            Instrument name.
        bars
            Bars in the project convention: tz-aware ``DatetimeIndex`` (any
            zone, converted to UTC) of bar starts with whole-second
            timestamps, numeric columns ``open high low close`` (finite,
            price units) and ``volume`` (units traded, may be fractional;
            finite or NaN when the source has none), and optionally
            ``trade_count`` (non-negative integer values or NaN) and ``vwap``
            (finite or NaN).  NaN is stored as NULL and read back as NaN.
            Relations such as ``high >= low`` are not checked here; validate
            bars before storing them.  Other columns (e.g. ``adj_close``) are
            refused rather than dropped silently.

        Returns
        -------
        int
            Number of rows written (inserted or updated).

        Raises
        ------
        DataError
            Naive or sub-second timestamps, duplicated timestamps, missing or
            unknown columns, non-numeric or non-finite required values,
            non-integral trade counts (naming rows and column).
        """
        symbol = _check_name(symbol, "symbol")
        rows = _bars_to_rows(symbol, bars)
        stmt = upsert_statement(bars_table, self._dialect)
        with self._begin() as conn:
            for first in range(0, len(rows), _CHUNK_ROWS):
                conn.execute(stmt, rows[first : first + _CHUNK_ROWS])
        return len(rows)

    def read_bars(
        self,
        symbol: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> pd.DataFrame:
        """Read stored bars for one symbol, sorted by time.

        Parameters
        ----------
        symbol
            Instrument name.
        start, end
            Inclusive bounds on the bar start (Timestamp, datetime, ISO string,
            or int epoch seconds; naive values are taken as UTC).  ``None``
            leaves that side open.

        Returns
        -------
        pandas.DataFrame
            Index ``timestamp`` (``datetime64[ns, UTC]``), float64 columns
            ``open high low close volume`` and, when at least one stored value
            is non-null, ``trade_count`` and ``vwap`` (float64, NaN where
            NULL).  Empty (with the five required columns) if nothing matches.
        """
        symbol = _check_name(symbol, "symbol")
        table = bars_table
        names = BAR_COLUMNS + OPTIONAL_BAR_COLUMNS
        stmt = select(table.c.timestamp, *(table.c[name] for name in names)).where(table.c.symbol == symbol)
        if start is not None:
            stmt = stmt.where(table.c.timestamp >= _epoch_seconds(start, "start", rounding="ceil"))
        if end is not None:
            stmt = stmt.where(table.c.timestamp <= _epoch_seconds(end, "end", rounding="floor"))
        stmt = stmt.order_by(table.c.timestamp)
        with self._begin() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            return _empty_bars()
        columns = list(zip(*rows, strict=True))
        index = _seconds_to_index(np.asarray(columns[0], dtype=np.int64), name="timestamp")
        data: dict[str, np.ndarray] = {}
        for name, values in zip(names, columns[1:], strict=True):
            array = np.array(values, dtype=np.float64)
            if name in OPTIONAL_BAR_COLUMNS and np.isnan(array).all():
                continue
            data[name] = array
        return pd.DataFrame(data, index=index)

    def symbols(self) -> list[str]:
        """Symbols that have at least one stored bar, sorted.

        Returns
        -------
        list of str
        """
        stmt = select(bars_table.c.symbol).distinct().order_by(bars_table.c.symbol)
        with self._begin() as conn:
            return [row[0] for row in conn.execute(stmt)]

    def delete_bars(
        self,
        symbol: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> int:
        """Delete bars of one symbol, optionally only within inclusive bounds.

        Parameters
        ----------
        symbol
            Instrument name.
        start, end
            Inclusive bounds on the bar start, as in :meth:`read_bars`.

        Returns
        -------
        int
            Number of rows deleted.
        """
        symbol = _check_name(symbol, "symbol")
        table = bars_table
        stmt = delete(table).where(table.c.symbol == symbol)
        if start is not None:
            stmt = stmt.where(table.c.timestamp >= _epoch_seconds(start, "start", rounding="ceil"))
        if end is not None:
            stmt = stmt.where(table.c.timestamp <= _epoch_seconds(end, "end", rounding="floor"))
        with self._begin() as conn:
            return int(conn.execute(stmt).rowcount)

    # ----------------------------------------------------------------- calibration
    def write_calibration(
        self,
        symbol: str,
        model_type: str,
        dist: str,
        params: Mapping[str, float],
        *,
        calibration_date: TimeLike,
        window_start: TimeLike,
        window_end: TimeLike,
        units: Mapping[str, str] | None = None,
        converged: bool = True,
        method: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Store one calibration: a set of named parameter values.

        A calibration is identified by ``(symbol, model_type, dist,
        calibration_date)``.  Writing it again replaces it: values are
        upserted and parameters absent from ``params`` are removed, all in one
        transaction.

        Parameters
        ----------
        symbol
            Instrument name.
        model_type
            Model family, e.g. ``"garch"``, ``"gjr"``, ``"egarch"``, ``"heston"``.
        dist
            Innovation distribution, e.g. ``"normal"``, ``"sged"``.
        params
            Parameter name -> value.  NaN is stored as NULL and read back as NaN.
        calibration_date, window_start, window_end
            When the calibration was made and the data window it used
            (Timestamp, datetime, ISO string or int epoch seconds; naive values
            are UTC; whole seconds only).
        units
            Parameter name -> unit, e.g. ``"per-bar log-return variance"``,
            ``"annualised"``, ``"dimensionless"``.  Keys must be parameter names.
        converged
            Whether the estimator reported convergence.
        method
            Which estimator produced the values (e.g. ``"arch-mle"``, ``"ewma-fallback"``).
        meta
            JSON-serialisable provenance (data hash, library versions, ...);
            numpy scalars and arrays are converted to plain numbers and lists.

        Raises
        ------
        DataError
            Empty ``params``, non-numeric values, unknown unit keys,
            ``window_start > window_end``, sub-second dates, meta that is not
            JSON-serialisable.
        """
        symbol = _check_name(symbol, "symbol")
        model_type = _check_name(model_type, "model_type")
        dist = _check_name(dist, "dist")
        if not isinstance(params, Mapping) or not params:
            raise DataError("params must be a non-empty mapping of name -> value", column="params")
        units = dict(units or {})
        unknown = sorted(set(units) - set(params))
        if unknown:
            raise DataError(
                f"units given for parameters not in params: {unknown}",
                column="units",
                rule="units",
            )
        date_s = _epoch_seconds(calibration_date, "calibration_date")
        start_s = _epoch_seconds(window_start, "window_start")
        end_s = _epoch_seconds(window_end, "window_end")
        if start_s > end_s:
            raise DataError(
                f"window_start {_format_seconds(start_s)} is after window_end {_format_seconds(end_s)}",
                column="window_start",
                rule="window",
            )
        meta_json = _dump_meta(meta)
        method = None if method is None else str(method)
        rows = []
        for name, value in params.items():
            name = _check_name(name, "param_name")
            rows.append(
                {
                    "symbol": symbol,
                    "model_type": model_type,
                    "dist": dist,
                    "param_name": name,
                    "param_value": _param_value(name, value),
                    "unit": None if units.get(name) is None else str(units[name]),
                    "calibration_date": date_s,
                    "window_start": start_s,
                    "window_end": end_s,
                    "converged": int(bool(converged)),
                    "method": method,
                    "meta": meta_json,
                }
            )
        table = calibration_table
        stale = delete(table).where(
            table.c.symbol == symbol,
            table.c.model_type == model_type,
            table.c.dist == dist,
            table.c.calibration_date == date_s,
            table.c.param_name.not_in(bindparam("keep", expanding=True)),
        )
        with self._begin() as conn:
            conn.execute(upsert_statement(table, self._dialect), rows)
            conn.execute(stale, {"keep": [row["param_name"] for row in rows]})

    def read_calibrations(
        self,
        symbol: str | None = None,
        model_type: str | None = None,
        dist: str | None = None,
    ) -> pd.DataFrame:
        """Stored calibrations as a tidy table, one row per parameter.

        Parameters
        ----------
        symbol, model_type, dist
            Optional filters (exact match).

        Returns
        -------
        pandas.DataFrame
            Columns ``symbol model_type dist param_name param_value unit
            calibration_date window_start window_end converged method meta``;
            dates are ``datetime64[ns, UTC]``, ``converged`` is bool and
            ``meta`` holds the decoded dict (or None).  Sorted by symbol,
            model_type, dist, calibration_date, param_name.
        """
        table = calibration_table
        stmt = select(*table.columns)
        for column, value in (("symbol", symbol), ("model_type", model_type), ("dist", dist)):
            if value is not None:
                stmt = stmt.where(table.c[column] == _check_name(value, column))
        stmt = stmt.order_by(
            table.c.symbol,
            table.c.model_type,
            table.c.dist,
            table.c.calibration_date,
            table.c.param_name,
        )
        with self._begin() as conn:
            rows = conn.execute(stmt).all()
        names = [column.name for column in table.columns]
        columns: dict[str, list[Any]] = {name: [] for name in names}
        for row in rows:
            for name, value in zip(names, row, strict=True):
                columns[name].append(value)
        frame = pd.DataFrame(
            {
                "symbol": pd.Series(columns["symbol"], dtype=object),
                "model_type": pd.Series(columns["model_type"], dtype=object),
                "dist": pd.Series(columns["dist"], dtype=object),
                "param_name": pd.Series(columns["param_name"], dtype=object),
                "param_value": np.array(columns["param_value"], dtype=np.float64),
                "unit": pd.Series(columns["unit"], dtype=object),
                "calibration_date": _seconds_to_index(columns["calibration_date"]),
                "window_start": _seconds_to_index(columns["window_start"]),
                "window_end": _seconds_to_index(columns["window_end"]),
                "converged": np.array(columns["converged"], dtype=bool),
                "method": pd.Series(columns["method"], dtype=object),
                "meta": pd.Series([_load_meta(text) for text in columns["meta"]], dtype=object),
            }
        )
        return frame

    def latest_calibration(
        self,
        symbol: str,
        model_type: str,
        dist: str | None = None,
    ) -> dict[str, Any] | None:
        """The most recent calibration of a model for a symbol.

        Parameters
        ----------
        symbol, model_type
            Which calibration.
        dist
            Innovation distribution; ``None`` accepts any, provided the latest
            date holds only one.

        Returns
        -------
        dict or None
            ``{"params": {name: value}, "units": {name: unit} (only units that
            were given), "calibration_date": Timestamp, "window_start":
            Timestamp, "window_end": Timestamp, "converged": bool, "method":
            str | None, "meta": dict, "symbol", "model_type", "dist"}``;
            ``None`` if nothing is stored.

        Raises
        ------
        DataError
            If ``dist`` is None and the latest date has calibrations for
            several distributions.
        """
        symbol = _check_name(symbol, "symbol")
        model_type = _check_name(model_type, "model_type")
        table = calibration_table
        conditions = [table.c.symbol == symbol, table.c.model_type == model_type]
        if dist is not None:
            conditions.append(table.c.dist == _check_name(dist, "dist"))
        latest = select(func.max(table.c.calibration_date)).where(*conditions).scalar_subquery()
        stmt = (
            select(*table.columns).where(*conditions, table.c.calibration_date == latest).order_by(table.c.param_name)
        )
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        if not rows:
            return None
        dists = sorted({row["dist"] for row in rows})
        if len(dists) > 1:
            raise DataError(
                f"latest {model_type!r} calibration of {symbol!r} at "
                f"{_format_seconds(rows[0]['calibration_date'])} exists for several "
                f"distributions {dists}; pass dist=",
                column="dist",
                rule="ambiguous",
            )
        first = rows[0]
        return {
            "symbol": first["symbol"],
            "model_type": first["model_type"],
            "dist": first["dist"],
            "params": {row["param_name"]: _float_or_nan(row["param_value"]) for row in rows},
            "units": {row["param_name"]: row["unit"] for row in rows if row["unit"] is not None},
            "calibration_date": _seconds_to_timestamp(first["calibration_date"]),
            "window_start": _seconds_to_timestamp(first["window_start"]),
            "window_end": _seconds_to_timestamp(first["window_end"]),
            "converged": bool(first["converged"]),
            "method": first["method"],
            "meta": _load_meta(first["meta"]) or {},
        }

    # ------------------------------------------------------------------- snapshots
    def write_snapshot(
        self,
        symbol: str,
        timestamp: TimeLike,
        model_version: str,
        arrays: Mapping[str, np.ndarray],
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a set of arrays (e.g. particle states, log-weights, RNG state).

        Arrays are serialised with :func:`numpy.savez_compressed`; dtype,
        shape, memory order and every bit (NaN payloads included) survive the
        round trip.  Writing the same key again replaces the snapshot.

        Parameters
        ----------
        symbol
            Instrument name.
        timestamp
            Time the state refers to (whole seconds; naive values are UTC;
            int = epoch seconds).
        model_version
            Version tag of the model that produced the state.
        arrays
            Name -> array.  Object arrays are refused (they would need pickle).
        meta
            JSON-serialisable extra information.  The keys ``symbol``,
            ``timestamp`` and ``model_version`` are reserved.

        Raises
        ------
        DataError
            Object arrays, reserved or non-string names, sub-second timestamp,
            meta that is not JSON-serialisable.
        """
        symbol = _check_name(symbol, "symbol")
        model_version = _check_name(model_version, "model_version")
        seconds = _epoch_seconds(timestamp, "timestamp")
        if meta is not None:
            clash = sorted(set(meta) & set(_SNAPSHOT_RESERVED_META))
            if clash:
                raise DataError(
                    f"snapshot meta may not use the reserved keys {clash}",
                    column="meta",
                    rule="reserved",
                )
        row = {
            "symbol": symbol,
            "timestamp": seconds,
            "model_version": model_version,
            "payload": _pack_arrays(arrays),
            "meta": _dump_meta(meta),
        }
        with self._begin() as conn:
            conn.execute(upsert_statement(snapshots_table, self._dialect), [row])

    def read_snapshot(
        self,
        symbol: str,
        timestamp: TimeLike | None = None,
        model_version: str | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Load a snapshot's arrays and meta.

        Parameters
        ----------
        symbol
            Instrument name.
        timestamp
            Exact time of the snapshot; ``None`` takes the latest one.
        model_version
            Version tag; ``None`` accepts any, provided only one matches.

        Returns
        -------
        arrays : dict of str -> numpy.ndarray
            As written, in the order written.
        meta : dict
            The stored meta plus ``symbol``, ``timestamp`` (UTC Timestamp) and
            ``model_version`` of the snapshot that was read.

        Raises
        ------
        DataError
            No snapshot matches, or several model versions match.
        """
        symbol = _check_name(symbol, "symbol")
        table = snapshots_table
        conditions = [table.c.symbol == symbol]
        if model_version is not None:
            conditions.append(table.c.model_version == _check_name(model_version, "model_version"))
        if timestamp is not None:
            conditions.append(table.c.timestamp == _epoch_seconds(timestamp, "timestamp"))
        else:
            latest = select(func.max(table.c.timestamp)).where(*conditions).scalar_subquery()
            conditions.append(table.c.timestamp == latest)
        stmt = select(*table.columns).where(*conditions).order_by(table.c.model_version)
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        wanted = (
            f"symbol {symbol!r}"
            + ("" if timestamp is None else f", timestamp {timestamp!s}")
            + ("" if model_version is None else f", model_version {model_version!r}")
        )
        if not rows:
            raise DataError(f"no particle snapshot stored for {wanted}", rule="not_found")
        if len(rows) > 1:
            versions = [row["model_version"] for row in rows]
            raise DataError(
                f"several particle snapshots match {wanted} (model versions {versions}); pass model_version=",
                column="model_version",
                rule="ambiguous",
            )
        row = rows[0]
        arrays = _unpack_arrays(bytes(row["payload"]))
        meta = _load_meta(row["meta"]) or {}
        meta.update(
            symbol=row["symbol"],
            timestamp=_seconds_to_timestamp(row["timestamp"]),
            model_version=row["model_version"],
        )
        return arrays, meta

    def list_snapshots(self, symbol: str | None = None) -> pd.DataFrame:
        """Keys of the stored snapshots.

        Parameters
        ----------
        symbol
            Optional filter.

        Returns
        -------
        pandas.DataFrame
            Columns ``symbol``, ``timestamp`` (``datetime64[ns, UTC]``),
            ``model_version``, sorted.
        """
        table = snapshots_table
        stmt = select(table.c.symbol, table.c.timestamp, table.c.model_version)
        if symbol is not None:
            stmt = stmt.where(table.c.symbol == _check_name(symbol, "symbol"))
        stmt = stmt.order_by(table.c.symbol, table.c.timestamp, table.c.model_version)
        with self._begin() as conn:
            rows = conn.execute(stmt).all()
        symbols = [row[0] for row in rows]
        return pd.DataFrame(
            {
                "symbol": pd.Series(symbols, dtype=object),
                "timestamp": _seconds_to_index([row[1] for row in rows]),
                "model_version": pd.Series([row[2] for row in rows], dtype=object),
            }
        )


# ---------------------------------------------------------------------- helpers
def _make_sqlite_parent(url: URL) -> None:
    """Create the parent folder of an SQLite database file if it is missing."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _check_name(value: object, what: str) -> str:
    """Check that a key such as a symbol is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise DataError(f"{what} must be a non-empty string, got {value!r}", column=what)
    return value


def _format_seconds(seconds: int) -> str:
    return _seconds_to_timestamp(seconds).isoformat()


def _seconds_to_timestamp(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").as_unit(TIMESTAMP_UNIT)


def _seconds_to_index(seconds: Any, name: str | None = None) -> pd.DatetimeIndex:
    """Epoch seconds -> ``DatetimeIndex`` in UTC at :data:`TIMESTAMP_UNIT` resolution."""
    values = np.asarray(seconds, dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(values, unit="s", utc=True)).as_unit(TIMESTAMP_UNIT)
    return index.rename(name)


def _empty_bars() -> pd.DataFrame:
    index = pd.DatetimeIndex([], dtype=f"datetime64[{TIMESTAMP_UNIT}, UTC]", name="timestamp")
    return pd.DataFrame({name: np.array([], dtype=np.float64) for name in BAR_COLUMNS}, index=index)


def _epoch_seconds(
    value: TimeLike,
    what: str,
    *,
    rounding: Literal["exact", "ceil", "floor"] = "exact",
) -> int:
    """Convert a time to integer Unix epoch seconds (UTC).

    ``int`` values are already epoch seconds; naive datetimes are UTC.  A
    fractional second raises with ``rounding="exact"`` and is rounded up or
    down otherwise (used for inclusive query bounds).
    """
    if isinstance(value, (bool, np.bool_)):
        raise DataError(f"{what} must be a time, got {value!r}", column=what, rule="time")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        raise DataError(
            f"{what} {value!r} is a float; pass int epoch seconds or a Timestamp",
            column=what,
            rule="time",
        )
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} {value!r} is not a time: {exc}", column=what, rule="time") from exc
    if stamp is pd.NaT:
        raise DataError(f"{what} is missing (NaT)", column=what, rule="time")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    seconds, remainder = divmod(int(stamp.as_unit("ns").value), 1_000_000_000)
    if remainder:
        if rounding == "exact":
            raise DataError(
                f"{what} {stamp.isoformat()} has a fractional second; the store keeps whole epoch seconds",
                column=what,
                rule="subsecond",
            )
        if rounding == "ceil":
            seconds += 1
    return seconds


def _bars_to_rows(symbol: str, bars: pd.DataFrame) -> list[dict[str, Any]]:
    """Validate a bars frame and turn it into row dicts for executemany."""
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"bars must have a DatetimeIndex of bar starts, got {type(index).__name__}",
            column="timestamp",
            rule="index",
        )
    if index.tz is None:
        raise DataError(
            "bars have a naive DatetimeIndex; localise it (the convention is tz-aware UTC)",
            column="timestamp",
            rule="timezone",
        )
    missing_time = np.flatnonzero(index.isna())
    if missing_time.size:
        raise DataError(
            "bars have missing timestamps (NaT)",
            row=missing_time.tolist(),
            column="timestamp",
            rule="missing",
        )
    per_second = _PER_SECOND[index.unit]
    seconds, remainder = np.divmod(index.asi8, per_second)
    fractional = np.flatnonzero(remainder)
    if fractional.size:
        raise DataError(
            "bar timestamps have fractional seconds; the store keeps whole epoch seconds "
            f"(first: {index[fractional[0]].isoformat()})",
            row=fractional.tolist(),
            column="timestamp",
            rule="subsecond",
        )
    duplicated = np.flatnonzero(pd.Index(seconds).duplicated(keep=False))
    if duplicated.size:
        raise DataError(
            "bars have duplicated timestamps",
            row=duplicated.tolist(),
            column="timestamp",
            rule="duplicate",
        )
    missing = [name for name in BAR_COLUMNS if name not in bars.columns]
    if missing:
        raise DataError(f"bars lack the required columns {missing}", column=missing[0], rule="columns")
    known = set(BAR_COLUMNS) | set(OPTIONAL_BAR_COLUMNS)
    unknown = [str(name) for name in bars.columns if name not in known]
    if unknown:
        raise DataError(
            f"bars have columns the store does not keep: {unknown}; drop them before writing",
            column=unknown[0],
            rule="columns",
        )
    values: dict[str, list[Any]] = {}
    for name in BAR_COLUMNS + OPTIONAL_BAR_COLUMNS:
        if name not in bars.columns:
            values[name] = [None] * len(bars)
            continue
        column = bars[name]
        if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            raise DataError(f"bar column has non-numeric dtype {column.dtype}", column=name, rule="dtype")
        array = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(array)
        if name in _PRICE_COLUMNS:
            bad = np.flatnonzero(~finite)
            if bad.size:
                raise DataError("bar prices must be finite", row=bad.tolist(), column=name, rule="finite")
            values[name] = array.tolist()
            continue
        bad = np.flatnonzero(np.isinf(array))
        if bad.size:
            raise DataError("bar values must be finite or NaN", row=bad.tolist(), column=name, rule="finite")
        if name == "trade_count":
            bad = np.flatnonzero(finite & ((array < 0) | (array != np.floor(array)) | (array > 2.0**62)))
            if bad.size:
                raise DataError(
                    "trade_count must be a non-negative integer (or NaN)",
                    row=bad.tolist(),
                    column=name,
                    rule="integer",
                )
            values[name] = [int(v) if v == v else None for v in array.tolist()]
        else:
            values[name] = [v if v == v else None for v in array.tolist()]
    return [
        {
            "symbol": symbol,
            "timestamp": ts,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
            "trade_count": n,
            "vwap": w,
        }
        for ts, o, h, lo, c, v, n, w in zip(
            seconds.tolist(),
            values["open"],
            values["high"],
            values["low"],
            values["close"],
            values["volume"],
            values["trade_count"],
            values["vwap"],
            strict=True,
        )
    ]


def _param_value(name: str, value: object) -> float | None:
    """A parameter value as float (None for NaN, stored as NULL)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(
            f"parameter {name!r} has non-numeric value {value!r}",
            column="param_value",
            rule="dtype",
        )
    number = float(value)
    return None if math.isnan(number) else number


def _float_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _dump_meta(meta: Mapping[str, Any] | None) -> str | None:
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise DataError(f"meta must be a mapping, got {type(meta).__name__}", column="meta")
    try:
        return json.dumps(dict(meta), sort_keys=True, default=json_default)
    except (TypeError, ValueError) as exc:
        raise DataError(f"meta is not JSON-serialisable: {exc}", column="meta", rule="json") from exc


def _load_meta(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def _pack_arrays(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Serialise named arrays with ``numpy.savez_compressed`` (no pickle)."""
    if not isinstance(arrays, Mapping):
        raise DataError(f"arrays must be a mapping of name -> array, got {type(arrays).__name__}", column="arrays")
    checked: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise DataError(f"array names must be non-empty strings, got {name!r}", column="arrays")
        if name in _SAVEZ_RESERVED_NAMES:
            raise DataError(f"array name {name!r} is reserved; rename it", column=name, rule="reserved")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise DataError(
                f"array {name!r} has object dtype {array.dtype}, which would need pickle",
                column=name,
                rule="dtype",
            )
        checked[name] = array
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **checked)
    return buffer.getvalue()


def _unpack_arrays(payload: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`_pack_arrays`; never unpickles."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
