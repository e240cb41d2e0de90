"""Publish a load: write a complete new store version, check it, then switch to it atomically.

```
<store>/versions/<NNNNNN-run_id>/identity.duckdb      restricted (mode 0640)
                                analytics.duckdb      pseudonymised
                                parquet/<db>/<table>.parquet
                                manifest.json         rows, hashes, agreements, checks
<store>/current -> versions/<NNNNNN-run_id>           switched with os.replace
<store>/identity.duckdb -> current/identity.duckdb    (and analytics.duckdb, parquet)
<store>/lineage/<run_id>.jsonl                        OpenLineage events of every run
<store>/runs/<run_id>.json, runs/load_log.jsonl       what each run did
```

Every published table is computed once in DuckDB (inputs registered as Arrow tables, each
table materialised in memory) and hashed there. If the content (every data table, run ids
excluded, plus the agreements) hashes the same as the current version's, nothing is written or
switched: the run's load log and lineage are recorded and ``changed=False`` is returned.
Otherwise the tables are written to both databases (one transaction each) and to Parquet in
``versions/.partial-*``, which is re-opened and checked (row counts, each analytics Parquet copy
holding exactly its table's rows, no identifiers in analytics, source_xref and child cover the
same children), and only then renamed and switched to. Any error before the switch removes the
partial version and leaves ``current`` as it was. Readers should open the DuckDB files
read-only.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.store import lineage, loadlog
from pipelines.store.agreements import Agreement, AgreementError, load_agreements
from pipelines.store.analytics import build_analytics_tables
from pipelines.store.analytics_spec import DELAY_VALUES, ON_TRACK_VALUES
from pipelines.store.analytics_spec import SPECS as ANALYTICS_SPECS
from pipelines.store.checks import (
    PublishCheckError,
    check_version,
    combined_hash,
    relation_hashes,
    schemas_of,
)
from pipelines.store.identity import SPECS as IDENTITY_SPECS
from pipelines.store.identity import (
    build_identity_tables,
    names_for_scan,
)
from pipelines.store.privacy import connect
from pipelines.store.quality import QUALITY_TABLES, build_quality_tables, quality_vocabulary
from pipelines.store.staging import PublishInput, stage
from pipelines.store.writer import materialise, write_version

KEEP_VERSIONS = 3
# Coded values analytics publishes on purpose: never mistaken for a person's name by the scan.
VOCABULARY = {*DELAY_VALUES, *ON_TRACK_VALUES, "green", "yellow", "red"}
_VERSION = re.compile(r"^(\d{6})-")


@dataclass
class PublishedVersion:
    """Outcome of :func:`publish`."""

    version: str
    path: Path
    run_id: str
    changed: bool
    content_hash: str
    rows: dict[str, int] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    previous: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:80]


def list_versions(store: Path | str) -> list[Path]:
    """Complete versions of a store, oldest first."""
    root = Path(store) / "versions"
    return sorted(p for p in root.iterdir() if _VERSION.match(p.name)) if root.exists() else []


def current_version(store: Path | str) -> Path | None:
    """The version ``<store>/current`` points to, or None before the first publish."""
    link = Path(store) / "current"
    return link.resolve() if link.is_symlink() and link.resolve().exists() else None


def read_manifest(version: Path) -> dict:
    return json.loads((version / "manifest.json").read_text())


@contextmanager
def _locked(store: Path):
    with (store / ".publish.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _switch(store: Path, version: Path) -> None:
    """Point ``current`` at ``version`` with one atomic rename (stable links made first)."""
    for name in ("identity.duckdb", "analytics.duckdb", "parquet"):
        link = store / name
        if link.exists() and not link.is_symlink():
            raise PublishCheckError(f"{link} exists and is not a link into current/")
        if not link.is_symlink():
            tmp = store / f".{name}.tmp-{os.getpid()}"
            tmp.unlink(missing_ok=True)
            os.symlink(f"current/{name}", tmp)
            os.replace(tmp, link)
    tmp = store / f".current.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version, store), tmp)
    os.replace(tmp, store / "current")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(store: Path, keep: int) -> None:
    current = current_version(store)
    for old in list_versions(store)[:-keep] if keep > 0 else []:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def _describe(err: BaseException) -> str:
    """An error for the lineage record: our own messages carry counts only; others may quote
    data, so only their type is kept."""
    if isinstance(err, PublishCheckError | AgreementError | lineage.LineageError):
        return f"{type(err).__name__}: {err}"[:2000]
    return type(err).__name__


def _as_date(value) -> date:
    return (
        value
        if isinstance(value, date) and not isinstance(value, datetime)
        else pd.Timestamp(value).date()
    )


def _run_facet(run_id: str, reporting_date: date, log: pd.DataFrame) -> dict:
    first = log.iloc[0] if len(log) else {}
    pick = {
        k: (None if pd.isna(first.get(k, None)) else str(first.get(k)))
        for k in ("code_version", "model_version", "model_sha256", "user")
    }
    return {"reporting_date": reporting_date.isoformat(), **pick}


def publish(
    store_dir: Path | str,
    tables: PublishInput,
    run_id: str,
    reporting_date,
    *,
    agreements: dict[str, Agreement] | None = None,
    keep_versions: int = KEEP_VERSIONS,
) -> PublishedVersion:
    """Publish ``tables`` as a new version of the store at ``store_dir`` (see module doc).

    Args:
        store_dir: the store folder (created if missing).
        tables: the inputs (:class:`~pipelines.store.staging.PublishInput`).
        run_id: the load's id, recorded in lineage, the load log and new source_xref rows.
        reporting_date: the date ages are computed at (date or ISO string).
        agreements: the data-sharing agreements (default: the packaged ones).
        keep_versions: complete versions kept on disk (the current one is never removed).

    Returns:
        The version now current; ``changed`` is False when the content was already published.
    """
    clock = _Clock()
    store = Path(store_dir)
    store.mkdir(parents=True, exist_ok=True)
    rdate = _as_date(reporting_date)
    agreements = load_agreements() if agreements is None else agreements
    log = loadlog.normalise(tables.load_log, run_id)
    mine = log[log["run_id"] == run_id]  # the files this run read (log may carry history)
    with _locked(store):
        for leftover in (store / "versions").glob(".partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # from a crashed earlier run
        current = current_version(store)
        facet = _run_facet(run_id, rdate, mine)
        inputs = lineage.input_datasets(mine, agreements, tables.quality_checks)
        started = mine["started_at"].dropna().min() if mine["started_at"].notna().any() else None
        start = lineage.run_event(
            "START", run_id, {**facet, "status": "running"}, inputs, event_time=started
        )
        lineage.write_events(store, run_id, [start])
        partial = None
        try:
            seq = max((int(_VERSION.match(p.name)[1]) for p in list_versions(store)), default=0)
            name = f"{seq + 1:06d}-{_safe(run_id)}"
            partial = store / "versions" / f".partial-{name}"
            partial.mkdir(parents=True)
            built = _build(store, partial, tables, agreements, rdate, run_id, log, current, clock)
            if built is None:  # the content is the current version's: nothing to write
                shutil.rmtree(partial)
                partial = None
                digest = read_manifest(current)["content_hash"]
                return _unchanged(store, run_id, facet, inputs, log, current, digest, clock)
            rows, names, digest, table_hashes = built
            checks = check_version(partial, rows, names)
            clock.lap("check")
            complete = _complete_event(
                partial,
                tables,
                agreements,
                run_id,
                facet,
                inputs,
                mine,
                checks,
                {"version": name, "content_hash": digest},
            )
            rows["identity.lineage_events"] += 1  # the COMPLETE event just stored
            clock.lap("lineage")
            manifest = {
                "format": 1,
                "version": name,
                "run_id": run_id,
                "reporting_date": rdate.isoformat(),
                "created_at": lineage.now_iso(),
                "previous_version": current.name if current else None,
                "content_hash": digest,
                "table_hashes": table_hashes,
                "rows": rows,
                "agreements": {s: a.summary() for s, a in agreements.items()},
                "checks": checks,
                "timings": clock.laps,
            }
            (partial / "manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=1)
            )
            final = store / "versions" / name
            os.rename(partial, final)
            partial = final
            _switch(store, final)
            partial = None  # switched: from here on the new version stays
        except BaseException as err:
            if partial is not None:
                shutil.rmtree(partial, ignore_errors=True)
            fail = lineage.run_event(
                "FAIL", run_id, {**facet, "status": "failed", "error": _describe(err)}, inputs
            )
            lineage.write_events(store, run_id, [fail])
            raise
        _fsync_dir(store)
        lineage.write_events(store, run_id, [complete])
        loadlog.append_load_log(store, log)
        loadlog.write_run_record(
            store,
            {
                "run_id": run_id,
                "status": "published",
                "version": name,
                "content_hash": digest,
                "reporting_date": rdate.isoformat(),
                "finished_at": lineage.now_iso(),
                "rows": rows,
                "previous_version": current.name if current else None,
            },
        )
        _prune(store, keep_versions)
    clock.lap("switch")
    return PublishedVersion(
        name,
        final,
        run_id,
        True,
        digest,
        rows,
        [a for v in checks.values() for a in v],
        clock.total(),
        current.name if current else None,
        clock.laps,
    )


def _unchanged(
    store: Path,
    run_id: str,
    facet: dict,
    inputs: list[dict],
    log: pd.DataFrame,
    current: Path,
    digest: str,
    clock: _Clock,
) -> PublishedVersion:
    """Record a run whose content is already published: lineage and load log only."""
    status = {"status": "unchanged", "version": current.name, "content_hash": digest}
    complete = lineage.run_event("COMPLETE", run_id, {**facet, **status}, inputs)
    lineage.write_events(store, run_id, [complete])
    loadlog.append_load_log(store, log)
    loadlog.write_run_record(
        store,
        {
            "run_id": run_id,
            **status,
            "reporting_date": facet["reporting_date"],
            "finished_at": lineage.now_iso(),
            "rows": {},
            "timings": clock.laps,
        },
    )
    return PublishedVersion(
        current.name,
        current,
        run_id,
        False,
        digest,
        read_manifest(current)["rows"],
        [],
        clock.total(),
        current.name,
        clock.laps,
    )


def _build(
    store: Path,
    partial: Path,
    tables: PublishInput,
    agreements: dict[str, Agreement],
    rdate: date,
    run_id: str,
    log: pd.DataFrame,
    current: Path | None,
    clock: _Clock,
) -> tuple[dict[str, int], pa.Array, str, dict[str, str]] | None:
    """Stage the inputs, build both databases in DuckDB, hash them and, unless the current
    version already holds that content, write them into ``partial``.

    Returns:
        None when the content hash is the current version's (nothing written); else rows written
        per ``<db>.<table>``, the personal names the privacy scan looks for, the content hash
        and the hash of each table.
    """
    with connect(config={"temp_directory": str(partial / ".spill")}) as con:
        stage(con, tables, agreements)
        an = build_analytics_tables(con, rdate, agreements)
        an.update(build_quality_tables(con, agreements))
        history = pd.concat([loadlog.read_load_log(store), log], ignore_index=True)
        con.register("load_log_all", history.drop_duplicates(loadlog.KEY, keep="last"))
        con.register("lineage_all", lineage.events_frame(lineage.read_events(store)))
        ids = build_identity_tables(con, run_id, current / "identity.duckdb" if current else None)
        relations = materialise(con, {"identity": ids, "analytics": an})
        clock.lap("build")
        flat = {f"{db}.{t}": rel for db, ts in relations.items() for t, rel in ts.items()}
        table_hashes = relation_hashes(con, flat)
        digest = combined_hash(table_hashes, agreements)
        clock.lap("hash")
        if current is not None and read_manifest(current).get("content_hash") == digest:
            return None
        quality = {t: relations["analytics"][t] for t in QUALITY_TABLES}
        names = names_for_scan(con, VOCABULARY | quality_vocabulary(con, quality))
        rows = write_version(con, partial, relations)
    shutil.rmtree(partial / ".spill", ignore_errors=True)
    clock.lap("write")
    return rows, names, digest, table_hashes


def _complete_event(
    partial: Path,
    tables: PublishInput,
    agreements: dict[str, Agreement],
    run_id: str,
    facet: dict,
    inputs: list[dict],
    mine: pd.DataFrame,
    checks: dict[str, list[dict]],
    status: dict,
) -> dict:
    """The COMPLETE event of a new version, also stored in its ``lineage_events`` table.

    ``checks`` gains the load's own quality checks on published tables (``quality_checks``
    entries whose ``dataset`` is ``<db>.<table>``).
    """
    schemas = schemas_of(partial)
    for qc in tables.quality_checks:
        if str(qc.get("dataset")) in schemas:
            body = {k: v for k, v in qc.items() if k != "dataset"}
            checks.setdefault(str(qc["dataset"]), []).append(body)
    columns = {k: [c for c, _ in v] for k, v in schemas.items()}
    specs = {f"identity.{t}": s for t, s in IDENTITY_SPECS.items()}
    specs.update({f"analytics.{t}": s for t, s in ANALYTICS_SPECS.items()})
    outputs = lineage.output_datasets(
        schemas, lineage.column_lineage(specs, columns, agreements, mine), checks
    )
    complete = lineage.run_event(
        "COMPLETE", run_id, {**facet, "status": "published", **status}, inputs, outputs
    )
    with connect(str(partial / "identity.duckdb")) as con:
        con.register("ev", lineage.events_frame([complete]))
        con.execute("INSERT INTO lineage_events SELECT * FROM ev")
    return complete


class _Clock:
    """Seconds spent in each phase of a publish (reported, never needed for correctness)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start
