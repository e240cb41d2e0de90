"""The stages of a load as plain functions over a store's work area (no Dagster here).

Each Dagster asset calls one of these and turns its report into asset metadata; `teumtem run`
reaches them through the same assets. Reports carry counts only: never names, PIDs or phones.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.workarea import (
    WorkArea,
    read_arrow,
    write_arrow_atomic,
    write_parquet_atomic,
    write_table_atomic,
)
from schemas.columns import EVENT_TABLES, PERSON, QUARANTINE
from sources.base import ExtractError
from sources.landing import RawZone, discover, land_incoming, sha256_file
from sources.registry import SOURCES as SOURCE_MODULES
from sources.standardise import standardise as standardise_batch


@dataclass
class Report:
    """Figures a data officer looks at after a stage; becomes Dagster metadata."""

    seconds: float = 0.0
    figures: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        meta = {k: v for k, v in self.figures.items() if isinstance(v, (int, float, str, bool))}
        if "rows" in self.figures:
            meta["dagster/row_count"] = int(self.figures["rows"])
        meta["seconds"] = round(self.seconds, 2)
        return meta


def _timed(fn):
    def wrapper(*args, **kwargs) -> Report:
        start = time.perf_counter()
        report = fn(*args, **kwargs)
        report.seconds = time.perf_counter() - start
        return report

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# --------------------------------------------------------------------------------------- ingest
def pending_deliveries(
    incoming: Path, work: WorkArea, known: dict[str, list] | None = None
) -> pd.DataFrame:
    """Recognised files in the incoming folder whose bytes have not been landed under that name.

    Args:
        known: ``{path: [size, mtime_ns, ctime_ns, inode, sha256]}`` from an earlier call,
            updated in place to the files found now: a file whose size, modification and
            status-change times and inode are unchanged is not read again. A sensor ticking
            every minute would otherwise hash every byte of a month's deliveries on every
            tick. (A copy that keeps the modification time, ``cp -p``, still changes the
            status-change time.)
    """
    found = discover(incoming)
    found = found[found["status"] == "ok"]
    zone = RawZone(work.raw)
    memo = {} if known is None else known
    sha = []
    for path in found["path"]:
        st = Path(path).stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        entry = memo.get(str(path))
        if entry is None or entry[:-1] != stamp:
            entry = [*stamp, sha256_file(Path(path))]
        memo[str(path)] = entry
        sha.append(entry[-1])
    if known is not None:  # forget files no longer in the folder
        for path in set(known) - {str(p) for p in found["path"]}:
            del known[path]
    found = found.assign(sha256=pd.Series(sha, index=found.index, dtype="str"))
    fresh = [
        zone.prior(s, f)[0] in ("new", "restored") for s, f in zip(sha, found["file"], strict=True)
    ]
    return found[pd.Series(fresh, index=found.index, dtype=bool)]


@_timed
def ingest(source: str, month: str, incoming: Path, work: WorkArea, run_id: str) -> Report:
    """Land every file of one source and month in the raw zone; duplicates by checksum are skipped.

    Raises:
        ExtractError: a file could not be used (named, with the problem); the delivery is kept
            in the raw zone's `_deliveries/` and recorded as rejected in the manifest.
    """
    landed = land_incoming(incoming, RawZone(work.raw), run_id, source=source, month=month)
    rejected = landed[landed["status"] == "rejected"]
    if len(rejected):
        first = rejected.iloc[0]
        more = f" (and {len(rejected) - 1} more file(s))" if len(rejected) > 1 else ""
        raise ExtractError(
            str(first["file"]),
            str(first["reason"]).removeprefix(f"{first['file']}: ") + more,
            "The delivery is kept in the raw zone; fix or re-request the file and run again.",
        )
    by_status = landed["status"].value_counts().to_dict()
    return Report(
        figures={
            "files": len(landed),
            "files_landed": int(by_status.get("landed", 0)),
            "files_unchanged": int(by_status.get("unchanged", 0)),
            "duplicate_deliveries": int(by_status.get("duplicate", 0)),
            "rows": int(landed["rows"].fillna(0).sum()),
            "rows_quarantined_on_read": int(landed["quarantined"].fillna(0).sum()),
        }
    )


# ---------------------------------------------------------------------------------- standardise
@_timed
def standardise(source: str, month: str, work: WorkArea, run_id: str) -> Report:
    """Conform one source's month to the standard; write persons, events and quarantine."""
    zone = RawZone(work.raw)
    module = SOURCE_MODULES[source]
    inputs = _landed_inputs(zone, source, month)
    marker = work.standard / source / "_inputs" / f"month={month}.txt"
    if marker.exists() and marker.read_text() == inputs:
        # Same deliveries as when this month was last standardised: its tables stand as written.
        return Report(figures={"rows_in": 0, "rows": 0, "note": "already standardised"})
    raw = zone.read_batch(source, month)
    if not raw.tables:
        # Every file of the month was a duplicate of an earlier delivery: nothing new to conform.
        return Report(
            figures={"rows_in": 0, "rows": 0, "note": "nothing new landed for this month"}
        )
    result = standardise_batch(module, raw, month, run_id)
    write_parquet_atomic(result.persons, work.standard_file(source, "persons", month))
    for table, frame in result.events.items():
        write_parquet_atomic(frame, work.standard_file(source, table, month))
    write_parquet_atomic(result.quarantine, work.standard_file(source, "quarantine", month))
    accounting = result.accounting.assign(source=source, month=month, run_id=run_id)
    write_parquet_atomic(accounting, work.standard_file(source, "accounting", month))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(inputs)
    rows_in = int(accounting["rows_in"].sum())
    by_rule = result.quarantine.groupby("rule").size().to_dict() if len(result.quarantine) else {}
    figures = {
        "rows_in": rows_in,
        "rows": len(result.persons),
        "excluded_not_children": int(accounting["excluded"].sum()),
        "quarantined_rows": int(
            accounting[["quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate"]]
            .sum()
            .sum()
        ),
        "quarantine_entries": len(result.quarantine),
    }
    figures.update({f"quarantined/{k}": int(v) for k, v in sorted(by_rule.items())})
    return Report(figures=figures)


def _landed_inputs(zone: RawZone, source: str, month: str) -> str:
    """The checksums of every delivery landed for a source and month, one per line."""
    m = zone.manifest()
    m = m[(m["source"] == source) & (m["month"] == month) & (m["status"] == "landed")]
    return "\n".join(sorted(set(m["sha256"].astype("str"))))


def check_standard(source: str, month: str | None, work: WorkArea) -> list[str]:
    """Problems that must stop a source from reaching linkage (empty list = fine)."""
    problems = []
    files = work.standard_files(source, "persons")
    if month is not None:
        files = [f for f in files if f.name == f"month={month}.parquet"]
    for f in files:
        persons = pd.read_parquet(f)
        missing = set(PERSON) - set(persons.columns)
        if missing:
            problems.append(f"{f.name}: missing columns {sorted(missing)}")
        if persons.duplicated(["source", "record_key"]).any():
            problems.append(f"{f.name}: duplicate record keys")
    return problems


def _empty_standard(table: str) -> pd.DataFrame:
    columns = {"persons": PERSON, "quarantine": QUARANTINE}.get(table, EVENT_TABLES.get(table, ()))
    return pd.DataFrame(columns=list(columns))


def _standard_files(work: WorkArea, table: str) -> list[Path]:
    """Every month's file of one standard table, source by source."""
    return [f for src in SOURCE_MODULES for f in work.standard_files(src, table)]


def read_standard(work: WorkArea, table: str) -> pd.DataFrame:
    """All months of one standard table across sources, read and concatenated as Arrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = _standard_files(work, table)
    if not files:
        return _empty_standard(table)
    frame = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    return frame.to_pandas().reset_index(drop=True)


def summary_row(report: Report) -> dict:
    return asdict(report)


# -------------------------------------------------------------------------------------- linkage
REVIEW_LOWER, MATCH_THRESHOLD, REVIEW_UPPER = 0.2, 0.5, 0.95
MODEL_FILE = "model.json"
LINKED_PERSONS_FILE = "persons.parquet"
# Golden records and their provenance, handed from the golden stage to publish (Arrow IPC).
GOLDEN_FILE, PROVENANCE_FILE = "golden.arrow", "provenance.arrow"
DIGESTS_FILE = "inputs.arrow"  # what each child's golden values were computed from (reuse)
KEY_MEMO_FILE = "name_keys.parquet"  # phonetic keys of nicknames and guardian names (a cache)


def linkage_persons(work: WorkArea) -> pd.DataFrame:
    """Every record to link: the latest month of each (source, record_key), in key order."""
    return _persons_frame(_read_persons(work)[0])


def _read_persons(work: WorkArea):
    """``linkage_persons`` as Arrow, with each record's ``content_since`` (see
    ``linkage.golden``), and, from the same files, ``(source, record_key, month)`` of every
    delivered row (the records' history); ``(None, None)`` when nothing is standardised yet.

    DuckDB scans every month's files in parallel, keeps the latest month of each record and
    sorts by key in one query (3x faster than concatenating in Arrow and taking the rows).
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from linkage.golden import CONTENT_COLUMNS, CONTENT_SINCE, content_hash_sql, content_since_sql
    from linkage.prepare import keys_increasing

    files = [str(f) for f in _standard_files(work, "persons")]
    if not files:
        return None, None
    # The files' own schema (with its pandas metadata: nullable integers stay Int64).
    schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
    columns = ", ".join(f'p."{name}"' for name in schema.names)
    every = "read_parquet($files, union_by_name = true, filename = true, file_row_number = true)"
    since = "LEFT JOIN _since s USING (source, record_key)"
    latest = (  # a window max: ~2x faster than row_number() over wide rows
        f"""SELECT {columns}, s.{CONTENT_SINCE} FROM (SELECT *, max(month) OVER (
                PARTITION BY source, record_key) AS _latest FROM {every}) p {since}
            WHERE month = _latest ORDER BY source, record_key""",
        # exact, for a record delivered twice in one month (two files; check_standard stops
        # a file holding a record twice): the later file
        f"""SELECT {columns}, s.{CONTENT_SINCE} FROM (SELECT * FROM {every}
                QUALIFY row_number() OVER (PARTITION BY source, record_key
                ORDER BY month DESC, filename DESC, file_row_number DESC) = 1) p {since}
            ORDER BY source, record_key""",
    )
    content = content_hash_sql([c for c in CONTENT_COLUMNS if c in schema.names])
    with duckdb.connect() as con:
        con.execute(
            f"""CREATE TEMP TABLE _seen AS SELECT source, record_key, month, filename,
                file_row_number, {content} AS content_hash FROM {every}""",
            {"files": files},
        )
        # the latest row of a record delivered twice in a month: the later file (latest[1])
        order = "(month, filename, file_row_number)"
        con.execute(f"CREATE TEMP TABLE _since AS {content_since_sql('_seen', order)}")
        seen = con.sql("SELECT source, record_key, month FROM _seen").to_arrow_table()
        persons = con.sql(latest[0], params={"files": files}).to_arrow_table()
        if not keys_increasing(persons["source"], persons["record_key"]):  # a key twice
            persons = con.sql(latest[1], params={"files": files}).to_arrow_table()
    schema = schema.append(pa.field(CONTENT_SINCE, schema.field("month").type))
    return persons.cast(schema), seen


def _log_failed_write(done) -> None:
    if not done.cancelled() and done.exception() is not None:
        logging.getLogger(__name__).error(
            "writing %s failed: %s", LINKED_PERSONS_FILE, type(done.exception()).__name__
        )


def _persons_frame(persons) -> pd.DataFrame:
    if persons is None:
        return _empty_standard("persons")
    return persons.to_pandas().reset_index(drop=True)


def linked_persons(work: WorkArea) -> pd.DataFrame:
    """The records the last link stage linked (read once there, kept for golden and publish)."""
    path = work.linkage / LINKED_PERSONS_FILE
    return pd.read_parquet(path) if path.exists() else linkage_persons(work)


HISTORY_COLUMNS = ("first_month", "last_month", "months", "snapshot_status", "left_after_month")


def _history_table(con, seen) -> None:
    """Create temp table ``_lk_history`` from ``(source, record_key, month)`` of every delivered
    row: per record its first/last month, the months it was delivered in and, for snapshot
    registers, its ``snapshot_status``.

    A school roster or a centre's register lists every child it holds each month. A record
    missing from its register's latest delivered month has left (moved school, aged out); it is
    kept, linked and published with ``snapshot_status = 'left'`` and ``left_after_month`` (the
    last month it was listed). A register that did not deliver this month marks no one: its
    latest snapshot is its own last delivery. Non-snapshot sources (case and survey registers,
    which deliver only what changed) get NULL.
    """
    from linkage.cluster import SNAPSHOT_SOURCES

    scope = pd.DataFrame(list(SNAPSHOT_SOURCES.items()), columns=["source", "scope"])
    con.register("_lk_seen", seen)
    con.register("_lk_scope", scope)
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _lk_history AS
            WITH r AS (
                SELECT DISTINCT s.source, s.record_key, s.month,
                       CASE WHEN c.scope = 'register'
                            THEN s.source || '|' || split_part(s.record_key, ':', 1)
                            WHEN c.scope IS NOT NULL THEN s.source END AS register
                FROM _lk_seen s LEFT JOIN _lk_scope c USING (source)),
            latest AS (SELECT register, max(month) AS m FROM r
                       WHERE register IS NOT NULL GROUP BY ALL),
            h AS (SELECT source, record_key, min(month) AS first_month,
                         max(month) AS last_month, list_sort(list(month)) AS months,
                         any_value(register) AS register
                  FROM r GROUP BY ALL)
            SELECT h.source, h.record_key, h.first_month, h.last_month, h.months,
                   CASE WHEN h.register IS NULL THEN NULL
                        WHEN h.last_month = l.m THEN 'current' ELSE 'left' END
                     AS snapshot_status,
                   CASE WHEN h.last_month < l.m THEN h.last_month END AS left_after_month
            FROM h LEFT JOIN latest l USING (register)""").fetchall()
    finally:
        con.unregister("_lk_seen")
        con.unregister("_lk_scope")


def _assignments(con, clusters: pd.DataFrame, seen):
    """Every record's child id, cluster size and history (Arrow, in key order), from the
    registry's ``record_assignment`` in ``con``."""
    import pyarrow as pa

    history = ", ".join(f"h.{c}" for c in HISTORY_COLUMNS)
    if seen is None:
        seen = pa.table({c: pa.array([], pa.string()) for c in ("source", "record_key", "month")})
    _history_table(con, seen)
    con.register("_lk_clusters", clusters[["source", "record_key", "cluster_size"]])
    try:
        return con.sql(f"""
            SELECT a.source, a.record_key, a.child_id, c.cluster_size, {history}
            FROM record_assignment a JOIN _lk_clusters c USING (source, record_key)
            LEFT JOIN _lk_history h USING (source, record_key)
            ORDER BY a.source, a.record_key""").to_arrow_table()
    finally:
        con.unregister("_lk_clusters")
        con.execute("DROP TABLE IF EXISTS _lk_history").fetchall()


def model_artefact(work: WorkArea, persons: pd.DataFrame, retrain: bool = False):
    """The current model; trained only when there is none or a retrain was asked for."""
    from linkage.comparisons import SPEC_VERSION
    from linkage.model import ModelArtefact, train

    path = work.linkage / MODEL_FILE
    if path.exists() and not retrain:
        artefact = ModelArtefact.load(path)
        spec = artefact.training.get("spec_version")
        if spec is not None and spec != SPEC_VERSION:
            # Its blocking rules may name keys this code no longer makes: fail before scoring.
            raise ExtractError(
                str(path),
                f"the model was trained for linkage spec {spec}; this code's spec is "
                f"{SPEC_VERSION} (comparisons or blocking rules changed)",
                "Retrain it: teumtem run --retrain, or the run tag teumtem/retrain=true in "
                "Dagster (child ids are kept through the registry)",
            )
        return artefact, False
    artefact = train(persons, seed=42)
    artefact.save(work.linkage / f"model-{artefact.sha256[:12]}.json")
    artefact.save(path)
    return artefact, True


def _next_state(work: WorkArea):
    """A working copy of the linkage state; the durable one changes only when a publish succeeds."""
    import shutil

    import duckdb

    work.next_state_db.unlink(missing_ok=True)
    if work.state_db.exists():
        shutil.copyfile(work.state_db, work.next_state_db)
    return duckdb.connect(str(work.next_state_db))


@_timed
def link(
    work: WorkArea,
    run_id: str,
    max_cluster_size: int = 12,
    retrain: bool = False,
    full: bool = False,
) -> Report:
    """Score, cluster and assign stable child ids; incrementally unless a full re-link is due.

    Only records that are new or changed since the last published linkage are scored (against
    everyone), and only the clusters they touch are re-clustered (``linkage.incremental``). A
    full re-link runs on the first load, after a retrain, when the model artefact changed, or
    when asked for (``full=True``); child ids are kept through the registry either way.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.compute as pc

    from linkage import incremental, registry, review
    from linkage.backends import backend_from_env
    from linkage.cluster import cluster_records
    from linkage.predict import predict
    from linkage.prepare import KeyMemo, prepare

    laps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        laps[name] = laps.get(name, 0.0) + now - clock[0]
        clock[0] = now

    table, seen = _read_persons(work)
    persons = _persons_frame(table)
    # Golden records and publish read the linked records from this file. Written on a second
    # core while the records are prepared (Arrow's Parquet writer releases the GIL).
    writer = ThreadPoolExecutor(max_workers=1)
    linked_written = writer.submit(
        write_table_atomic,
        table if table is not None else pa.Table.from_pandas(persons, preserve_index=False),
        work.linkage / LINKED_PERSONS_FILE,
    )
    writer.shutdown(wait=False)
    linked_written.add_done_callback(_log_failed_write)  # seen even if the link fails first
    lap("read")
    key_memo = KeyMemo(work.linkage / KEY_MEMO_FILE)
    prepared = prepare(persons, key_memo=key_memo)
    memo = key_memo.to_table()
    if memo is not None:
        write_table_atomic(memo, key_memo.path)
    lap("prepare")
    artefact, trained = model_artefact(work, prepared, retrain)
    lap("train")
    backend = backend_from_env()  # DuckDB unless TEUMTEM_LINKAGE_BACKEND=spark
    with _next_state(work) as con:
        plan, fps = incremental.plan(con, prepared, artefact.sha256, full=full or trained)
        if plan.full:
            new_pairs = predict(prepared, artefact, threshold=REVIEW_LOWER, backend=backend)
        else:
            near = incremental.scoring_subset(prepared, plan.changed, artefact)
            flagged = prepared.assign(**{incremental.NEW_FLAG: plan.changed.to_numpy()})[near]
            new_pairs = (
                predict(
                    flagged,
                    incremental.only_new_pairs(artefact),
                    threshold=REVIEW_LOWER,
                    term_frequencies_from=prepared,
                    backend=backend,
                )
                if plan.changed.any()
                else plan.kept_pairs.iloc[:0]
            )
        pairs = (
            pd.concat([plan.kept_pairs, new_pairs], ignore_index=True)
            if len(plan.kept_pairs)
            else new_pairs
        )
        lap("predict")
        applied = review.apply_decisions(con, pairs, prepared["unique_id"])
        decided = pd.concat(
            [applied.cannot_link, applied.pairs.loc[applied.pairs["forced"], _IDS]],
            ignore_index=True,
        )
        if plan.full:  # everything is re-clustered
            redo = pd.Series(True, index=prepared.index)
            subset, sub_pairs = prepared, applied.pairs
        else:
            located = incremental.Located.of(prepared, applied.pairs, plan.previous, decided)
            redo = incremental.to_recluster(
                plan.changed, applied.pairs, plan.previous, MATCH_THRESHOLD, located
            )
            flags = redo.to_numpy(dtype=bool)
            subset = prepared[flags]
            inside = [incremental.flagged(at, flags) for at in (located.pair_l, located.pair_r)]
            sub_pairs = applied.pairs[inside[0] & inside[1]]
        result = cluster_records(
            subset,
            sub_pairs,
            MATCH_THRESHOLD,
            lower=REVIEW_LOWER,
            upper=REVIEW_UPPER,
            max_cluster_size=max_cluster_size,
            cannot_link=applied.cannot_link,
        )
        if plan.full:
            clusters = result.clusters
        else:
            at = located.previous
            keep = (at >= 0) & ~incremental.flagged(at, flags)
            kept = plan.previous[keep].assign(
                source=prepared["source"].to_numpy()[at[keep]],
                record_key=prepared["record_key"].to_numpy()[at[keep]],
            )
            clusters = pd.concat([kept, result.clusters], ignore_index=True)
        lap("cluster")
        queued = review.queue_pairs(
            con, _review_frame(result), REVIEW_LOWER, REVIEW_UPPER, run_id=run_id
        )
        assigned = registry.assign_ids(
            con, result.clusters, run_id, reason_context=f"model {artefact.sha256[:12]}"
        )
        lap("ids")
        incremental.save(con, prepared, fps, pairs, clusters, artefact.sha256, run_id, plan.mode)
        lap("state")
        assignments = _assignments(con, clusters, seen)
    # A failed write of the linked records fails the stage before the assignments (read with
    # them by golden and publish) are replaced.
    linked_written.result()
    write_table_atomic(assignments, work.linkage / "assignments.parquet")
    write_parquet_atomic(_pair_summary(applied.pairs), work.linkage / "pair_summary.parquet")
    lap("history")
    sizes = clusters["cluster_size"].to_numpy()  # per record: a singleton is one record
    return Report(
        figures={
            "rows": len(prepared),
            "linkage_mode": plan.mode,
            "records_scored_as_new": int(plan.changed.sum()),
            "records_reclustered": int(redo.sum()),
            "children": pc.count_distinct(assignments["child_id"]).as_py(),
            "scored_pairs": len(pairs),
            "scored_pairs_this_run": len(new_pairs),
            "linked_pairs": int((applied.pairs["match_probability"] >= MATCH_THRESHOLD).sum()),
            "largest_cluster": int(sizes.max(initial=0)),
            "singletons": int((sizes == 1).sum()),
            # Link rate: share of records that share their child with another record.
            "link_rate": round(
                pc.mean(pc.greater(assignments["cluster_size"], 1).cast("int8")).as_py(), 4
            )
            if assignments.num_rows
            else 0.0,
            "refused_unions": len(result.conflicts),
            "review_queued": int(queued.get("queued", 0)) if isinstance(queued, dict) else 0,
            "forced_links": int(applied.pairs.get("forced", pd.Series(dtype=bool)).sum()),
            "never_links": len(applied.cannot_link),
            "name_keys_reused": key_memo.reused,
            "name_keys_computed": key_memo.keyed,
            "model_sha256": artefact.sha256[:12],
            "model_trained_this_run": trained,
            **{f"seconds_{k}": round(v, 2) for k, v in laps.items()},
            **{f"children_{k}": int(v) for k, v in assigned.counts.items()},
        }
    )


_IDS = ["unique_id_l", "unique_id_r"]


# Refused unions worth a clerk's time: roster and size refusals are certain (two entries of one
# register), and at 100k children they are most of the ~20k refusals.
REVIEWED_REFUSALS = ("twin", "sibling", "unnamed", "pid")


def _review_frame(result) -> pd.DataFrame:
    band = result.review_candidates.assign(review_reason="uncertain_band")
    refused = result.conflicts[result.conflicts["reason"].isin(REVIEWED_REFUSALS)]
    refused = refused.rename(columns={"reason": "review_reason"})
    refused = refused.assign(
        review_reason="conflict_refused:" + refused["review_reason"].astype("str")
    )
    return pd.concat([band, refused], ignore_index=True)


def _pair_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Linked pairs per source pair with their mean probability (no record keys)."""
    linked = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]

    def src(side: str) -> pd.Series:  # Splink's source_l/r; from the id for forced-only pairs
        known = linked.get(f"source_{side}", pd.Series(pd.NA, index=linked.index, dtype="str"))
        ids = linked[f"unique_id_{side}"]
        missing = known.isna()
        if missing.any():
            known = known.copy()
            known[missing] = ids[missing].str.split("|", n=1).str[0]
        return known

    return (
        linked.assign(source_l=src("l"), source_r=src("r"))
        .groupby(["source_l", "source_r"], as_index=False)
        .agg(pairs=("match_probability", "size"), mean_probability=("match_probability", "mean"))
    )


def largest_cluster(work: WorkArea) -> int:
    path = work.linkage / "assignments.parquet"
    if not path.exists():
        return 0
    a = pd.read_parquet(path, columns=["child_id"])
    return int(a["child_id"].value_counts().max()) if len(a) else 0


# --------------------------------------------------------------------------------------- golden
@_timed
def golden(work: WorkArea, run_id: str) -> Report:
    """Golden record per child with field-level provenance."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from linkage.golden import (
        CONTENT_SINCE,
        NEEDED_COLUMNS,
        GoldenResult,
        build_golden,
        golden_changes,
    )

    def present(path: Path, columns: list[str]):  # those of ``columns`` the file has, as Arrow
        return pq.read_table(path, columns=[c for c in columns if c in pq.read_schema(path).names])

    # Read as Arrow, only the columns golden records use (pandas cost ~4 s at 1M children).
    linked = work.linkage / LINKED_PERSONS_FILE
    persons = (
        present(linked, [*NEEDED_COLUMNS, CONTENT_SINCE])
        if linked.exists()
        else linkage_persons(work)
    )
    keys = ["source", "record_key", "child_id", "first_month"]  # first_month: records' history
    assignments = present(work.linkage / "assignments.parquet", keys)
    # The last build's results: children whose records are all as they were keep their values.
    files = [work.golden / f for f in (GOLDEN_FILE, PROVENANCE_FILE, DIGESTS_FILE)]
    before = read_arrow(files[0]) if files[0].exists() else None
    previous = (
        GoldenResult(before, read_arrow(files[1]), read_arrow(files[2]))
        if before is not None and files[1].exists() and files[2].exists()
        else None
    )
    result = build_golden(persons, assignments, run_id, previous=previous)
    # What a data officer checks after a monthly load: how many golden records it changed
    # (against the previous load's; a re-delivery alone changes none).
    changes = golden_changes(before, result.golden_table)
    # Digests last: a build interrupted before them is not reused (its files may be mixed).
    files[2].unlink(missing_ok=True)
    write_arrow_atomic(result.golden_table, files[0])
    write_arrow_atomic(result.provenance_table, files[1])
    write_arrow_atomic(result.digests, files[2])
    g = result.golden_table

    def count(mask) -> int:
        return int(pc.sum(mask.cast("int64")).as_py() or 0)

    return Report(
        figures={
            "rows": g.num_rows,
            "with_valid_pid": count(pc.equal(g["pid_status"], "valid")),
            "with_day_birth_date": count(pc.equal(g["birth_date_precision"], "day")),
            "multi_source_children": count(pc.greater(g["n_records"], 1)),
            **{f"golden_{k}": v for k, v in changes.items()},
            "golden_reused": result.reused,  # children not re-ranked: none of their records changed
        }
    )


# -------------------------------------------------------------------------------------- publish
def _reporting_date(months: pd.Series):
    latest = str(months.max()) if len(months) else pd.Timestamp.today().strftime("%Y%m")
    return (pd.Timestamp(f"{latest[:4]}-{latest[4:]}-01") + pd.offsets.MonthEnd(0)).date()


def _load_log(work: WorkArea, run_id: str, accounting: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per delivered file this run landed, with the standardisation counts of its month
    (``accounting``: every source's standardisation accounting, read from the work area if None)."""
    manifest = RawZone(work.raw).manifest()
    mine = manifest[manifest["run_id"] == run_id]
    accounting = read_standard(work, "accounting") if accounting is None else accounting
    counts = (
        (
            accounting[accounting["run_id"] == run_id]
            .assign(
                quarantined=lambda a: a[
                    ["quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate"]
                ].sum(axis=1)
            )
            .groupby(["source", "month"], as_index=False)[
                ["rows_in", "standardised", "quarantined"]
            ]
            .sum()
        )
        if len(accounting)
        else pd.DataFrame(columns=["source", "month", "rows_in", "standardised", "quarantined"])
    )
    files = mine.drop_duplicates(["source", "file"]).assign(
        rows_in=lambda m: m["rows"].fillna(0) + m["quarantined"].fillna(0)
    )
    files = files[["source", "file", "sha256", "month", "landed_at", "rows_in"]]
    # Standardisation is counted per source and month; it belongs to a file only when the month
    # came in one file (health centres deliver one set per centre: their counts stay per month).
    single = files.groupby(["source", "month"])["file"].transform("size") == 1
    log = files.merge(counts.drop(columns="rows_in"), on=["source", "month"], how="left")
    log.loc[~single.to_numpy(), ["standardised", "quarantined"]] = pd.NA
    return log.assign(
        run_id=run_id, started_at=log["landed_at"], finished_at=pd.Timestamp.now(tz="UTC")
    )


@_timed
def publish(incoming: Path, work: WorkArea, run_id: str) -> Report:
    """Publish identity, analytics and Parquet atomically; promote the linkage state on success."""
    import getpass
    import os

    import duckdb
    import pyarrow.parquet as pq

    from pipelines.store.publish import publish as publish_store
    from pipelines.store.staging import PERSON_COLUMNS, PublishInput

    for needed in (work.golden / GOLDEN_FILE, work.golden / PROVENANCE_FILE):
        if not needed.exists():  # e.g. a publish alone, after an upgrade changed the files
            raise ExtractError(
                str(needed),
                "the golden records of the last link are missing",
                "Run the whole load (teumtem run), or materialise linkage/golden_child first",
            )
    # The large inputs are read as Arrow tables (and persons only in the columns a publish
    # uses): DuckDB scans them where they lie, with no pandas conversion either way.
    linked = work.linkage / LINKED_PERSONS_FILE
    if linked.exists():
        persons = pq.read_table(linked, columns=list(PERSON_COLUMNS))
        months = persons["month"].to_pandas()
    else:
        persons = linked_persons(work)[list(PERSON_COLUMNS)]
        months = persons["month"]
    events = {t: read_standard(work, t) for t in EVENT_TABLES}
    with duckdb.connect(str(work.next_state_db), read_only=True) as con:
        state = {  # as Arrow: a pandas round trip of 842k registry rows cost ~2 s at 1M
            t: con.sql(f"select * from {t}").to_arrow_table()
            for t in ("child_registry", "registry_events", "review_decisions", "review_queue")
        }
    artefact_path = work.linkage / MODEL_FILE
    model = __import__("json").loads(artefact_path.read_text()) if artefact_path.exists() else {}
    accounting = read_standard(work, "accounting")
    pair_summary = work.linkage / "pair_summary.parquet"
    log = _load_log(work, run_id, accounting).assign(
        code_version=_code_version(),
        model_version=model.get("model_version"),
        model_sha256=model.get("sha256"),
        user=os.environ.get("TEUMTEM_USER") or getpass.getuser(),
    )
    tables = PublishInput(
        golden=read_arrow(work.golden / GOLDEN_FILE),
        assignments=pq.read_table(work.linkage / "assignments.parquet"),
        persons=persons,
        events=events,
        provenance=read_arrow(work.golden / PROVENANCE_FILE),
        quarantine=read_standard(work, "quarantine"),
        load_log=log,
        quality=accounting,
        link_quality=pd.read_parquet(pair_summary) if pair_summary.exists() else None,
        **state,
    )
    version = publish_store(work.store, tables, run_id, _reporting_date(months))
    os.replace(work.next_state_db, work.state_db)  # the linkage state now matches what is published
    return Report(
        figures={
            "version": version.version,
            "changed": version.changed,
            "rows": int(version.rows.get("analytics.child", len(tables.golden))),
            "content_hash": version.content_hash[:12],
        }
    )


def _code_version() -> str:
    from importlib.metadata import version

    return version("teumtem")
