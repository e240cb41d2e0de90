"""What every source module shares: the error for an unusable file, the raw and conformed batches.

A reader turns one delivered file into a ``RawBatch``: every delivered column as text exactly as
delivered, plus provenance (``_file``, ``_sha256``, ``_row``, ``_sheet``, ``_run_id``, ``_month``).
Rows the reader cannot split into fields (a truncated last line, a repeated header) are kept out of
the tables and listed in ``RawBatch.quarantine`` with the table they belong to, so no row is lost
between the agency's file and the standard. A file that cannot be read at all raises
``ExtractError``, whose message names the file, the problem and what to ask the agency for, and
never quotes row content.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.columns import EVENT_TABLES, PERSON, PROVENANCE, QUARANTINE

# Internal quarantine columns: the raw table a rejected row came from and where it sat in the file.
QUARANTINE_TRACE = ("_table", "_file", "_row")


class ExtractError(Exception):
    """A delivered file that cannot be loaded at all.

    Attributes:
        file: Path of the file relative to the incoming folder.
        problem: What is wrong, without any row content.
        hint: What the data officer should do or ask the agency for.
    """

    def __init__(self, file: str, problem: str, hint: str) -> None:
        self.file, self.problem, self.hint = file, problem, hint
        super().__init__(f"{file}: {problem}. {hint}")


@dataclass
class RawBatch:
    """Raw tables read from one or more delivered files.

    Attributes:
        tables: Raw table name -> rows, every delivered column as ``str`` plus provenance.
        quarantine: Rows rejected while reading (``QUARANTINE`` + ``QUARANTINE_TRACE`` columns).
        notes: Counts a data officer should see but that are not rows (``footer_rows`` ...).
    """

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame = field(default_factory=lambda: empty_quarantine(trace=True))
    notes: dict[str, int] = field(default_factory=dict)

    def rows_in(self, table: str) -> int:
        """Rows delivered for ``table``: those read plus those rejected while reading."""
        read = len(self.tables[table]) if table in self.tables else 0
        if not len(self.quarantine):
            return read
        return read + int((self.quarantine["_table"] == table).sum())

    @staticmethod
    def concat(batches: list[RawBatch]) -> RawBatch:
        """Combine batches (e.g. every health centre's files of one month) into one."""
        names = sorted({t for b in batches for t in b.tables})
        tables = {
            t: pd.concat([b.tables[t] for b in batches if t in b.tables], ignore_index=True)
            for t in names
        }
        quarantine = pd.concat(
            [empty_quarantine(trace=True), *(b.quarantine for b in batches)], ignore_index=True
        )
        notes: dict[str, int] = {}
        for b in batches:
            for k, v in b.notes.items():
                notes[k] = notes.get(k, 0) + v
        return RawBatch(tables, quarantine.astype(_QUARANTINE_DTYPES), notes)


@dataclass
class ConformResult:
    """One source's rows mapped to the standard.

    Attributes:
        persons: ``PERSON`` columns, one row per source record describing a child.
        events: Event table name (see ``schemas.columns.EVENT_TABLES``) -> rows.
        quarantine: ``QUARANTINE`` columns; ``standardise`` drops the internal trace columns.
        excluded: Raw rows deliberately not made into persons (epassbook adults), with the raw
            table in ``_table``; they count as accounted for.
        accounting: Set by ``sources.standardise``: per raw table, rows in, standardised,
            excluded and quarantined.
    """

    persons: pd.DataFrame
    events: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"_table": []}, dtype="str")
    )
    accounting: pd.DataFrame | None = None


class SourceModule(Protocol):
    """The interface every module in ``sources/`` implements (see ``sources.registry``)."""

    NAME: str
    SUBDIR: str
    FILE_PATTERN: str  # regex over the file name: named group ``month``, optional ``table`` ...
    TABLES: dict[str, str]  # value of the ``table`` group ("" when absent) -> raw table name
    KIND: dict[str, str]  # raw table name -> 'snapshot' | 'delta'
    PRIMARY: dict[str, str]  # raw table -> the standard table each of its rows lands in

    def read(self, path: Path, incoming: Path, run_id: str, month: str) -> RawBatch: ...

    def conform(self, raw: RawBatch, month: str, run_id: str) -> ConformResult: ...

    def record_key(self, raw_df: pd.DataFrame) -> pd.Series: ...


_QUARANTINE_DTYPES = {c: "str" for c in QUARANTINE + QUARANTINE_TRACE} | {"_row": "Int64"}


def empty_quarantine(trace: bool = False) -> pd.DataFrame:
    """An empty quarantine frame (with the internal trace columns when ``trace``)."""
    return _empty_quarantine(trace).copy()


@functools.cache
def _empty_quarantine(trace: bool) -> pd.DataFrame:
    cols = QUARANTINE + (QUARANTINE_TRACE if trace else ())
    return pd.DataFrame({c: pd.Series([], dtype=_QUARANTINE_DTYPES[c]) for c in cols})


def quarantine_frame(
    *,
    source: str,
    month: str,
    run_id: str,
    rule: str,
    action: str,
    field: str,
    record_key: pd.Series | str | None = None,
    value: pd.Series | str | None = None,
    table: str | None = None,
    file: pd.Series | str | None = None,
    row: pd.Series | int | None = None,
    n: int | None = None,
) -> pd.DataFrame:
    """Build quarantine rows, broadcasting scalars over the Series given.

    Args:
        source, month, run_id: Batch identity.
        rule: Machine-readable reason (``truncated_row``, ``invalid_pid`` ...).
        action: ``row`` (kept out of linkage) or ``value`` (only the value nulled).
        field: The field concerned (``_row`` for a whole-row problem).
        record_key, value, file, row: Per-row values or scalars.
        table: The raw table the row came from.
        n: Number of rows when every argument is a scalar.

    Returns:
        A frame with ``QUARANTINE`` + ``QUARANTINE_TRACE`` columns.
    """
    series = [x for x in (record_key, value, file, row) if isinstance(x, pd.Series)]
    index = series[0].index if series else pd.RangeIndex(n or 0)
    frame = pd.DataFrame(
        {
            "source": source,
            "record_key": record_key,
            "month": month,
            "field": field,
            "rule": rule,
            "value": value,
            "action": action,
            "run_id": run_id,
            "_table": table,
            "_file": file,
            "_row": row,
        },
        index=index,
    )
    return frame.reset_index(drop=True).astype(_QUARANTINE_DTYPES)


def add_provenance(
    table: pa.Table | pd.DataFrame,
    *,
    file: str,
    sha256: str,
    rows: object,
    run_id: str,
    month: str,
    sheet: object = None,
) -> pd.DataFrame:
    """Append the ``PROVENANCE`` columns to a raw table and return it as a pandas frame.

    Work stays in Arrow until one final conversion: a health-centre delivery is 150 small files,
    so the per-file cost matters more than the per-row cost.

    Args:
        table: Delivered columns, all text (Arrow table or pandas frame).
        file: Path relative to the incoming folder.
        sha256: Checksum of the delivered file.
        rows: 1-based line or Excel row number of each row.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.
        sheet: Sheet name(s) for workbooks; missing for text files.

    Returns:
        The data columns (``str``) followed by ``_file, _sha256, _row, _sheet, _run_id, _month``.
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    n = table.num_rows

    def const(value: object) -> pa.Array:
        if value is None:
            return pa.nulls(n, pa.string())
        if isinstance(value, str):
            return _repeat_text(value, n)
        return pa.array(np.asarray(value, dtype=object), pa.string())

    prov = {
        "_file": const(file),
        "_sha256": const(sha256),
        "_row": pa.array(np.asarray(rows, dtype=np.int64).reshape(-1), pa.int64()),
        "_sheet": const(sheet),
        "_run_id": const(run_id),
        "_month": const(month),
    }
    for name in PROVENANCE:
        table = table.append_column(name, prov[name])
    return table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, use_threads=False)


def _repeat_text(value: str, n: int) -> pa.Array:
    """``value`` ``n`` times as an Arrow string array, built from its buffers directly."""
    data = value.encode("utf-8")
    if len(data) * n >= 2**31:  # beyond 32-bit offsets: let Arrow build it
        return pa.array(np.full(n, value, dtype=object), pa.string())
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype(na_value=np.nan),
    pa.large_string(): pd.StringDtype(na_value=np.nan),
    pa.null(): pd.StringDtype(na_value=np.nan),
    pa.int64(): pd.Int64Dtype(),
}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB chunks so large deliveries never sit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def relative_name(path: Path, incoming: Path) -> str:
    """The file's path relative to the incoming folder, with forward slashes."""
    try:
        return Path(path).resolve().relative_to(Path(incoming).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def empty_persons() -> pd.DataFrame:
    """An empty ``PERSON`` frame with the standard dtypes."""
    return typed_persons(pd.DataFrame({c: [] for c in PERSON}))


def typed_persons(df: pd.DataFrame) -> pd.DataFrame:
    """Order ``PERSON`` columns and give them their standard dtypes."""
    out = df[list(PERSON)].reset_index(drop=True)
    dtypes = {c: "str" for c in PERSON} | {
        "birth_date": "datetime64[ms]",
        "birth_year": "Int64",
        "is_placeholder_name": "bool",
    }
    return out.astype(dtypes)


def empty_event(table: str) -> pd.DataFrame:
    """An empty event frame for ``table`` (all text columns)."""
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in EVENT_TABLES[table]})
