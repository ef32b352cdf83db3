"""Where the dashboard's bars come from: embedded datasets, data files, uploads.

Every source has a *key* (``"dataset:sp500"``, ``"file:/abs/path.csv"``,
``"upload:1:prices.csv"``) and a human *label* shown in the instrument picker;
synthetic datasets say so in their label.  :func:`discover_sources` lists the
embedded datasets and the CSV/Parquet files of a data folder;
:func:`read_source` turns a key into validated bars; :func:`read_upload`
does the same for the bytes of an uploaded file, reporting problems with the
uploaded file's own name (never a temporary path).

Bars are validated with ``policy="repair"``: provable fixes (sorting, exact
duplicates) are applied, and any remaining error-severity finding (a negative
price, high below low...) is raised as a :class:`~volresearch.errors.DataError`
naming the file, the rows and the column.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from volresearch.data import QualityReport, datasets, load_bars, validate_bars
from volresearch.errors import DataError
from volresearch.reports.source import SourceInfo

__all__ = [
    "DATA_SUFFIXES",
    "SourceInfo",
    "LoadedBars",
    "dataset_sources",
    "file_sources",
    "discover_sources",
    "read_source",
    "read_upload",
]

#: File name endings recognised as bar files in a data folder and in uploads.
DATA_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".csv.gz",
    ".csv.bz2",
    ".csv.xz",
    ".csv.zip",
    ".txt",
    ".tsv",
    ".parquet",
    ".pq",
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LoadedBars:
    """Validated bars and the report that judged them.

    Attributes
    ----------
    bars
        Bars after ``validate_bars(policy="repair")``.
    quality
        The :class:`~volresearch.data.QualityReport`.
    label
        Name shown to the user (dataset name, file name).
    symbol
        Instrument symbol from the data's ``attrs`` (``None`` if unknown).
    synthetic
        Whether the data are synthetic.
    """

    bars: pd.DataFrame
    quality: QualityReport
    label: str
    symbol: str | None
    synthetic: bool


def dataset_sources() -> list[SourceInfo]:
    """The embedded datasets as sources, real ones first."""
    table = datasets.list()
    out = []
    for row in table.sort_values("real", ascending=False, kind="stable").itertuples(index=False):
        kind = "real" if row.real else "SYNTHETIC"
        label = f"{row.name} ({kind}, {row.frequency} bars, {row.symbol})"
        out.append(SourceInfo(f"dataset:{row.name}", label, not bool(row.real), str(row.description)))
    return out


def file_sources(data_dir: str | Path | None) -> list[SourceInfo]:
    """CSV/Parquet files directly inside ``data_dir`` (none when it is missing)."""
    if data_dir is None:
        return []
    folder = Path(data_dir)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.lower().endswith(DATA_SUFFIXES):
            out.append(SourceInfo(f"file:{path.resolve()}", f"{folder.name}/{path.name} (file)", False, str(path)))
    return out


def discover_sources(data_dir: str | Path | None = None) -> list[SourceInfo]:
    """Embedded datasets followed by the bar files of ``data_dir``."""
    return [*dataset_sources(), *file_sources(data_dir)]


def _validated(bars: pd.DataFrame, label: str, symbol: str | None, synthetic: bool) -> LoadedBars:
    report = validate_bars(bars, policy="repair", file=label)
    report.raise_for_errors()
    assert report.bars is not None
    return LoadedBars(report.bars, report, label, symbol, synthetic)


def read_source(key: str) -> LoadedBars:
    """Load and validate the bars of a dataset or file source.

    Raises
    ------
    DataError
        Unknown key, unreadable file, or bars that fail validation.
    """
    kind, _, rest = key.partition(":")
    if kind == "dataset":
        bars = datasets.load(rest)
        return _validated(bars, rest, bars.attrs.get("symbol"), bool(bars.attrs.get("synthetic", False)))
    if kind == "file":
        path = Path(rest)
        if not path.is_file():
            raise DataError("data file not found", file=str(path), rule="unknown_source")
        try:
            bars = load_bars(path)
        except DataError:
            raise
        except Exception as exc:  # pandas/pyarrow parse errors: report them as data errors
            raise DataError(f"cannot read the file: {type(exc).__name__}: {exc}", file=path.name) from None
        return _validated(bars, path.name, _symbol_from_name(path.name), False)
    raise DataError(f"unknown source {key!r}", rule="unknown_source")


def _symbol_from_name(name: str) -> str:
    stem = name.split(".")[0]
    return stem.upper() if stem else name


def _safe_name(filename: str) -> str:
    base = Path(filename.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return cleaned


def read_upload(filename: str, data: bytes) -> LoadedBars:
    """Load and validate the bytes of an uploaded CSV or Parquet file.

    The bytes are written to a private temporary folder under the uploaded
    file's (sanitised) name, so the loader can tell the format from the
    suffix; messages name the uploaded file, not the temporary path.

    Raises
    ------
    DataError
        Empty upload, unknown file type, unreadable content, missing columns,
        or bars that fail validation (e.g. negative prices), with the file,
        row and column where known.
    """
    name = _safe_name(filename or "upload")
    if not data:
        raise DataError("the uploaded file is empty", file=name, rule="format")
    if not name.lower().endswith(DATA_SUFFIXES):
        raise DataError(
            f"cannot tell the format of {name!r}: upload a file ending in {', '.join(DATA_SUFFIXES)}",
            file=name,
            rule="format",
        )
    with tempfile.TemporaryDirectory(prefix="volresearch-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            bars = load_bars(path)
        except DataError as exc:
            raise _renamed(exc, str(path), name) from None
        except Exception as exc:  # pandas/pyarrow parse errors: report them as data errors
            message = str(exc).replace(str(path), name)
            raise DataError(f"cannot read the file: {type(exc).__name__}: {message}", file=name) from None
    bars.attrs["source"] = f"upload:{name}"
    return _validated(bars, name, _symbol_from_name(name), False)


def _renamed(exc: DataError, tmp_path: str, name: str) -> DataError:
    """The same error with the temporary path replaced by the uploaded file's name."""
    text = str(exc)
    has_where = exc.file is not None or exc.row is not None or exc.column is not None
    suffix = str(DataError("", file=exc.file, row=exc.row, column=exc.column)) if has_where else ""
    message = text[: len(text) - len(suffix)] if suffix and text.endswith(suffix) else text
    return DataError(
        message.replace(tmp_path, name),
        file=name if exc.file is not None else None,
        row=exc.row,
        column=exc.column,
        rule=exc.rule,
    )
