"""Finding delivered files and landing them, unchanged, in the raw zone.

``discover`` lists what is in the incoming folder and says, per file, which source and reporting
month it is, or why it cannot be used. ``RawZone`` keeps every delivery: a byte-exact copy under
``_deliveries/<sha256>``, its raw tables as Parquet partitioned by month, and a manifest of what was
landed when. A file whose checksum was already landed is a duplicate delivery and is not loaded
again, whatever its name. The incoming folder is only ever read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sources.base import ExtractError, RawBatch, empty_quarantine, sha256_file
from sources.manifest import MANIFEST_COLUMNS, Manifest
from sources.registry import SOURCES

__all__ = [
    "MANIFEST_COLUMNS",
    "ExtractError",
    "RawZone",
    "LandResult",
    "discover",
    "land_incoming",
    "sha256_file",
]

DISCOVER_COLUMNS = ("source", "table", "path", "file", "month", "extra", "kind", "status", "reason")


def _month_problem(month: str, today: dt.date) -> str | None:
    year, mon = int(month[:4]), int(month[4:])
    if not 1 <= mon <= 12:
        return f"month {month} in the file name is not a valid month (month {mon:02d})"
    if month > f"{today.year:04d}{today.month:02d}":
        be = 2000 <= year - 543 <= today.year
        era = " (a Buddhist Era year? file names use the CE year)" if be else ""
        return f"month {month} in the file name is in the future{era}"
    return None


def _unrecognised_reason(rel: str, name: str, subdir: str | None) -> str:
    module = next((m for m in SOURCES.values() if m.SUBDIR == subdir), None)
    top = rel.split("/")[0]
    if subdir is None and any(m.SUBDIR == top for m in SOURCES.values()) and "/" in rel:
        return f"inside a sub-folder of '{top}/'; files must sit directly in '{top}/'"
    for other in SOURCES.values():
        if re.fullmatch(other.FILE_PATTERN, name, flags=re.IGNORECASE):
            if other is module:
                return f"name differs from '{other.FILE_EXAMPLE}' in letter case (names are exact)"
            return f"looks like a '{other.NAME}' file but is not in '{other.SUBDIR}/'"
    if module is None:
        return "not inside one of the agency folders " + ", ".join(
            f"'{m.SUBDIR}/'" for m in SOURCES.values()
        )
    return f"name does not match the contract's '{module.FILE_EXAMPLE}'"


def discover(incoming: Path, today: dt.date | None = None) -> pd.DataFrame:
    """List the delivered files and classify each one.

    Args:
        incoming: The incoming folder laid out as in ``shared/contracts/extracts.md``.
        today: The date that decides which months are in the future (default: today).

    Returns:
        One row per file with ``DISCOVER_COLUMNS``: ``status`` is ``ok``, ``unrecognised``
        (name matches no contract pattern) or ``rejected`` (invalid or future month), with the
        ``reason`` in words.
    """
    today = today or dt.date.today()
    incoming = Path(incoming)
    rows = []
    for path in sorted(p for p in incoming.rglob("*") if p.is_file()):
        rel = path.relative_to(incoming).as_posix()
        parts = rel.split("/")
        subdir = parts[0] if len(parts) == 2 else None
        module = next((m for m in SOURCES.values() if m.SUBDIR == subdir), None)
        match = re.fullmatch(module.FILE_PATTERN, path.name) if module else None
        row = dict.fromkeys(DISCOVER_COLUMNS) | {"path": str(path), "file": rel}
        if match is None:
            rows.append(
                row
                | {"status": "unrecognised", "reason": _unrecognised_reason(rel, path.name, subdir)}
            )
            continue
        groups = match.groupdict()
        table = module.TABLES[groups.get("table") or ""]
        extra = ":".join(v for k, v in groups.items() if k not in ("month", "table") and v)
        problem = _month_problem(groups["month"], today)
        rows.append(
            row
            | {
                "source": module.NAME,
                "table": table,
                "month": groups["month"],
                "extra": extra,
                "kind": module.KIND[table],
                "status": "rejected" if problem else "ok",
                "reason": problem,
            }
        )
    out = pd.DataFrame(rows, columns=list(DISCOVER_COLUMNS)).astype("str")
    return out.sort_values(["status", "source", "month", "file"], ignore_index=True)


@dataclass
class LandResult:
    """What happened to one delivered file."""

    status: str  # landed | duplicate | unchanged | rejected
    rows: int = 0
    quarantined: int = 0
    problem: str | None = None


class RawZone:
    """The raw zone: delivered files and their raw tables, never modified once written.

    Layout::

        <root>/_deliveries/<sha256>                             byte-exact copy of the delivery
        <root>/<source>/<table>/month=<YYYYMM>/<sha256[:16]>.parquet
        <root>/<source>/_quarantine/month=<YYYYMM>/<sha256[:16]>.parquet   rows rejected on read
        <root>/_manifest.parquet                                one row per landed file

    A delivery with no rows rejected on read has no ``_quarantine`` file.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._manifest = Manifest(self.root / "_manifest.parquet", self.root / "_manifest.lock")

    def manifest(self) -> pd.DataFrame:
        """Every landing recorded so far (``MANIFEST_COLUMNS``)."""
        return self._manifest.frame()

    def deferred_manifest(self) -> contextlib.AbstractContextManager[None]:
        """Within this block, manifest rows are written once, when it ends (see ``Manifest``)."""
        return self._manifest.deferred()

    def is_landed(self, sha256: str) -> bool:
        """Whether a delivery with this checksum has already been landed."""
        m = self.manifest()
        return bool(((m["sha256"] == sha256) & (m["status"] == "landed")).any())

    def prior(self, sha256: str, file: str) -> tuple[str, str | None]:
        """How a delivery relates to what was landed before.

        Returns:
            ``("new", None)``; ``("unchanged", None)`` for the same file with the same bytes;
            ``("restored", None)`` for bytes this file had before a later re-delivery;
            ``("duplicate", other_file)`` for bytes already landed under another name. Files
            with no rows (a header-only delta) are never duplicates of each other.
        """
        index = self._manifest.prior_rows()
        same = index.by_sha.get(sha256, [])
        if any(f == file for f, _ in same):
            latest = index.latest[file][1]
            return ("unchanged" if latest == sha256 else "restored"), None
        carrying = [f for f, carries in same if carries]
        if carrying:
            return "duplicate", carrying[0]
        return "new", None

    def _append(self, entry: dict) -> None:
        self._manifest.append(entry)

    def record(
        self,
        *,
        source: str,
        table: str,
        file: str,
        sha256: str,
        month: str,
        run_id: str,
        status: str,
        problem: str | None = None,
        delivered: Path | None = None,
    ) -> None:
        """Record a file that was not landed (rejected) in the manifest, keeping its bytes."""
        if delivered is not None:
            self._keep_delivery(Path(delivered), sha256)
        self._append(_entry(source, table, file, sha256, month, run_id, status, problem=problem))

    def land(
        self,
        batch: RawBatch,
        source: str,
        month: str,
        file: str,
        sha256: str,
        run_id: str,
        delivered: Path | None = None,
    ) -> LandResult:
        """Land one delivered file's raw tables, unless the same bytes were landed before.

        Args:
            batch: What the source's reader made of the file.
            source: Source name.
            month: CE reporting month ``YYYYMM``.
            file: Path of the file relative to the incoming folder.
            sha256: Checksum of the delivered bytes.
            run_id: The load's run id.
            delivered: The delivered file, copied byte-exact to ``_deliveries/<sha256>``.

        Returns:
            ``landed``; ``unchanged`` when the same file (name and bytes) is landed again;
            ``duplicate`` when the bytes were landed under another name (recorded, not loaded).
        """
        kind, other = self.prior(sha256, file)
        if kind == "unchanged":
            return LandResult("unchanged")
        if kind == "restored":  # the agency went back to an earlier delivery: current again
            m = self.manifest()
            again = m[(m["sha256"] == sha256) & (m["file"] == file) & (m["status"] == "landed")]
            for entry in again.drop_duplicates("table").to_dict("records"):
                self._append(entry | {"run_id": run_id, "landed_at": pd.Timestamp.now(tz="UTC")})
            return LandResult("landed", rows=int(again.drop_duplicates("table")["rows"].sum()))
        if kind == "duplicate":
            m = self.manifest()
            problem = f"same bytes as {other}"
            if not ((m["sha256"] == sha256) & (m["file"] == file)).any():
                table = m.loc[m["file"] == other, "table"].iloc[0]
                self._append(
                    _entry(source, table, file, sha256, month, run_id, "duplicate", problem=problem)
                )
            return LandResult("duplicate", problem=problem)
        if delivered is not None:
            self._keep_delivery(Path(delivered), sha256)
        part = f"month={month}/{sha256[:16]}.parquet"
        for table, df in batch.tables.items():
            _write_atomic(df, self.root / source / table / part)
        if len(batch.quarantine):
            _write_atomic(batch.quarantine, self.root / source / "_quarantine" / part)
        tables = list(batch.tables) or [""]
        rows = 0
        for table in tables:
            n = len(batch.tables.get(table, ()))
            rows += n
            self._append(
                _entry(
                    source,
                    table,
                    file,
                    sha256,
                    month,
                    run_id,
                    "landed",
                    rows=n,
                    quarantined=batch.rows_in(table) - n if table else 0,
                    notes=json.dumps(batch.notes),
                )
            )
        return LandResult("landed", rows=rows, quarantined=len(batch.quarantine))

    def _keep_delivery(self, path: Path, sha256: str) -> None:
        target = self.root / "_deliveries" / sha256
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        if sha256_file(tmp) != sha256:  # the agency overwrote the file while we copied it
            tmp.unlink()
            raise ExtractError(
                str(path.name),
                "file changed while it was being copied",
                "Wait until the agency's upload has finished and run again.",
            )
        os.replace(tmp, target)

    def _current(self, source: str, table: str) -> pd.DataFrame:
        """The latest landing of every (month, file) of a table."""
        m = self.manifest()
        m = m[(m["source"] == source) & (m["table"] == table) & (m["status"] == "landed")]
        return m.sort_values("landed_at").drop_duplicates(["month", "file"], keep="last")

    def _paths(self, source: str, table: str, entries: pd.DataFrame) -> list[Path]:
        return [
            self.root / source / table / f"month={mo}/{sha[:16]}.parquet"
            for mo, sha in zip(entries["month"], entries["sha256"], strict=True)
        ]

    def read_month(self, source: str, table: str, month: str) -> pd.DataFrame:
        """A table's raw rows for one month (the latest delivery of each file)."""
        entries = self._current(source, table)
        return _read_all(self._paths(source, table, entries[entries["month"] == month]))

    def read_latest_snapshot(
        self, source: str, table: str, month: str | None = None
    ) -> pd.DataFrame:
        """The most recent snapshot of a table at ``month`` (default: the latest month).

        Snapshots are per delivering unit: for health centres each HOSPCODE's latest PERSON file.
        """
        entries = self._current(source, table)
        if month is not None:
            entries = entries[entries["month"] <= month]
        latest = entries.groupby("extra")["month"].transform("max")
        return _read_all(self._paths(source, table, entries[entries["month"] == latest]))

    def read_batch(self, source: str, month: str) -> RawBatch:
        """Everything landed for a source and month, as the ``RawBatch`` its readers produced."""
        m = self.manifest()
        m = m[(m["source"] == source) & (m["status"] == "landed") & (m["month"] == month)]
        tables = {t: self.read_month(source, t, month) for t in sorted(set(m["table"])) if t}
        current = m.sort_values("landed_at").drop_duplicates(["table", "file"], keep="last")
        shas = sorted(set(current["sha256"]))
        paths = [
            self.root / source / "_quarantine" / f"month={month}/{s[:16]}.parquet" for s in shas
        ]
        paths = [p for p in paths if p.exists()]  # none when no row was rejected on read
        quarantine = pd.concat([empty_quarantine(trace=True), _read_all(paths)], ignore_index=True)
        notes: dict[str, int] = {}
        for text in current.drop_duplicates("sha256")["notes"].dropna():
            for k, v in json.loads(text).items():
                notes[k] = notes.get(k, 0) + v
        return RawBatch(
            tables, quarantine.astype(empty_quarantine(trace=True).dtypes.to_dict()), notes
        )


def _entry(
    source: str,
    table: str,
    file: str,
    sha256: str,
    month: str,
    run_id: str,
    status: str,
    *,
    rows: int | None = None,
    quarantined: int | None = None,
    problem: str | None = None,
    notes: str | None = None,
) -> dict:
    module = SOURCES.get(source)
    match = re.fullmatch(module.FILE_PATTERN, Path(file).name) if module else None
    groups = match.groupdict() if match else {}
    extra = ":".join(v for k, v in groups.items() if k not in ("month", "table") and v)
    return {
        "source": source,
        "table": table,
        "file": file,
        "extra": extra,
        "sha256": sha256,
        "month": month,
        "rows": rows,
        "quarantined": quarantined,
        "run_id": run_id,
        "landed_at": pd.Timestamp.now(tz="UTC"),
        "status": status,
        "problem": problem,
        "notes": notes,
    }


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if df.attrs:
        df.to_parquet(tmp, index=False)
    else:  # what to_parquet does, without its per-call cost (a month is ~150 small files);
        # one thread: the columns are Arrow already, and a thread pool per file costs more
        table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
        pq.write_table(table, tmp, compression="snappy")
    os.replace(tmp, path)


def _read_all(paths: list[Path]) -> pd.DataFrame:
    """Raw tables of several deliveries as one frame.

    Read as Arrow and converted once (a month of health-centre files is ~150 small files);
    files whose schemas differ are concatenated by pandas, which unions their columns.
    """
    if not paths:
        return pd.DataFrame()
    tables = [pq.ParquetFile(p).read(use_threads=False) for p in paths]
    if any(not t.schema.equals(tables[0].schema, check_metadata=True) for t in tables[1:]):
        frames = [t.to_pandas() for t in tables]
        return pd.concat(frames, ignore_index=True)
    return pa.concat_tables(tables).to_pandas()


def land_incoming(
    incoming: Path,
    zone: RawZone,
    run_id: str,
    today: dt.date | None = None,
    *,
    source: str | None = None,
    month: str | None = None,
) -> pd.DataFrame:
    """Discover, checksum, read and land every usable file in ``incoming``.

    Args:
        incoming: The incoming folder.
        zone: Where to land.
        run_id: The load's run id.
        today: Decides which months are in the future (default: today).
        source: Only this source's files (a per-source, per-month partition run).
        month: Only this reporting month's files.

    Returns:
        ``discover``'s frame with the landing ``status`` (landed, unchanged, duplicate, rejected,
        unrecognised), ``reason``, ``sha256``, ``rows`` and ``quarantined`` per file.
    """
    found = discover(incoming, today)
    if source is not None:
        found = found[found["source"] == source]
    if month is not None:
        found = found[found["month"] == month]
    with zone.deferred_manifest():
        out = [_land_one(row, incoming, zone, run_id) for row in found.to_dict("records")]
    return pd.DataFrame(out, columns=[*DISCOVER_COLUMNS, "sha256", "rows", "quarantined"])


def _land_one(row: dict, incoming: Path, zone: RawZone, run_id: str) -> dict:
    """Checksum, read and land one discovered file; its ``discover`` row with the outcome."""
    result = {"sha256": None, "rows": 0, "quarantined": 0}
    if row["status"] not in ("ok", "rejected"):
        return row | result
    path = Path(row["path"])
    sha = sha256_file(path)
    result["sha256"] = sha

    def refuse(problem: str) -> dict:  # recorded as rejected, bytes kept
        zone.record(
            source=row["source"],
            table=row["table"],
            file=row["file"],
            sha256=sha,
            month=row["month"],
            run_id=run_id,
            status="rejected",
            problem=problem,
            delivered=path,
        )
        return row | {"status": "rejected", "reason": problem} | result

    if row["status"] == "rejected":  # refused by its name (invalid or future month)
        return refuse(row["reason"])
    module = SOURCES[row["source"]]
    try:
        landed = zone.land(
            _read_if_new(zone, module, path, incoming, run_id, row["month"], sha),
            row["source"],
            row["month"],
            row["file"],
            sha,
            run_id,
            path,
        )
    except ExtractError as err:
        return refuse(str(err))
    result |= {"rows": landed.rows, "quarantined": landed.quarantined}
    return row | {"status": landed.status, "reason": landed.problem} | result


def _read_if_new(
    zone: RawZone, module, path: Path, incoming: Path, run_id: str, month: str, sha: str
) -> RawBatch:
    # Unchanged files and duplicates are answered from the manifest without reading them again.
    if zone.prior(sha, path.relative_to(incoming).as_posix())[0] != "new":
        return RawBatch({})
    return module.read(path, incoming, run_id, month)
