"""Stable, opaque ``child_id`` registry kept in DuckDB.

Splink's cluster ids are per-run labels; a ``child_id`` must survive re-runs and is never reused.
Each load maps the new clusters onto the previous record assignments:

1. Every (cluster, previous id) pair with n shared records is an edge. Edges are ranked by
   ``n`` desc, then the older id (issue order), then the cluster's smallest ``unique_id``. A
   cluster and a previous id are matched greedily along that order (locally dominant rounds, the
   same result as a global greedy pass): a cluster keeps the id held by most of its records, and
   when one previous child's records fall into several clusters the largest part keeps the id.
2. An unmatched cluster whose records were previously assigned is a **split** part: it gets a new
   id with ``split_from`` = the previous id with most records in it.
3. An unmatched cluster with no previously assigned record gets a new id (**created**).
4. A previous id kept by no cluster and left with no assigned record is **merged** into the id
   that received most of its records. If it still holds records absent from this load, it stays
   active and the moved records are logged as ``record_moved``.

Records absent from ``clusters`` keep their last assignment. Re-running with the same clusters
writes nothing.

Events (``registry_events``), with ``child_id`` the id the event is about:

    =============  ============================  ========================  =================
    event          child_id                      other_child_id            n_records
    =============  ============================  ========================  =================
    created        new id                        NULL                      records in it
    split          new id                        id it was split from      records taken
    merged         retired id                    surviving id              records moved
    record_moved   id that received the records  id they left              records moved
    =============  ============================  ========================  =================

Tables: ``child_registry(child_id, status, created_run, updated_run, merged_into, split_from,
reason, issued_seq)`` (``issued_seq`` orders ids by age: ids are random, so their text cannot),
``record_assignment(source, record_key, child_id, run_id, assigned_at)`` (current assignment, one
row per record) and ``registry_events`` (above). ``assign_ids`` runs in one transaction (or in
the caller's, if one is open).

Status ``split_retired`` is reserved for ids retired by a manual split; automatic splits never
retire an id because the largest part keeps it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_DDL = """
CREATE TABLE IF NOT EXISTS child_registry (
    child_id VARCHAR NOT NULL, status VARCHAR NOT NULL, created_run VARCHAR, updated_run VARCHAR,
    merged_into VARCHAR, split_from VARCHAR, reason VARCHAR, issued_seq BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS record_assignment (
    source VARCHAR NOT NULL, record_key VARCHAR NOT NULL, child_id VARCHAR NOT NULL,
    run_id VARCHAR, assigned_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS registry_events (
    run_id VARCHAR, event VARCHAR, child_id VARCHAR, other_child_id VARCHAR, n_records BIGINT,
    reason VARCHAR, "at" TIMESTAMP);
"""

_REASONS = {
    "created": "new records with no previous child_id",
    "split": "new evidence separated records",
    "merged": "new evidence linked records",
    "record_moved": "new evidence moved records to another child",
}
_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)
_SHIFTS = np.arange(55, -1, -5, dtype=np.uint64)  # twelve 5-bit digits
_MASK60 = np.uint64((1 << 60) - 1)
_TEMP = (
    "_ra_cur",
    "_ra_cl",
    "_ra_edges",
    "_ra_free",
    "_ra_match",
    "_ra_new",
    "_ra_final",
    "_ra_flows",
    "_ra_moves",
    "_ra_merged",
    "_ra_events",
)


@dataclass
class AssignResult:
    """Outcome of one :func:`assign_ids` call.

    Attributes:
        assignments_table: ``source, record_key, child_id`` for every record in the clusters
            (Arrow; ``assignments`` converts it to pandas when asked: at a million records the
            conversion costs more than the link stage needs).
        events_table: the ``registry_events`` rows written by this call (Arrow; ``events``).
        counts: clusters that kept an id (``kept``), got a brand-new id (``created``) or a split
            id (``split``), and previous ids retired as ``merged``.
    """

    assignments_table: pa.Table
    events_table: pa.Table
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def assignments(self) -> pd.DataFrame:
        return self.assignments_table.to_pandas()

    @property
    def events(self) -> pd.DataFrame:
        return self.events_table.to_pandas()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the registry tables if they do not exist."""
    con.execute(_DDL).fetchall()


def new_child_ids(con: duckdb.DuckDBPyConnection, n: int) -> pd.Series:
    """Draw ``n`` fresh ids: ``C`` + 12 base32 characters (60 bits of OS randomness).

    Ids carry no information about the child. Each is checked against every id ever issued
    (whatever its status) and against the others drawn, so none is ever reused.
    """
    ensure_tables(con)
    words = np.empty(0, dtype=np.uint64)
    encoded = _encode(words)
    while len(words) < n:
        drawn = np.frombuffer(os.urandom(8 * (n - len(words))), dtype=np.uint64) & _MASK60
        words = pd.unique(np.concatenate([words, drawn]))  # hash-based, keeps order
        encoded = _encode(words)
        con.register("_ra_drawn", pa.table({"child_id": encoded}))
        try:
            seen = con.sql(
                "SELECT child_id FROM _ra_drawn SEMI JOIN child_registry USING (child_id)"
            ).to_arrow_table()
        finally:
            con.unregister("_ra_drawn")
        if seen.num_rows:  # issued before: drop them and draw again
            unseen = ~np.asarray(pc.is_in(encoded, value_set=seen["child_id"]))
            words, encoded = words[unseen], encoded.filter(unseen)
    return pd.Series(encoded[:n].to_pandas(), name="child_id")


def _encode(words: np.ndarray) -> pa.Array:
    digits = _B32[((words[:, None] >> _SHIFTS) & np.uint64(31)).astype(np.intp)]
    chars = np.concatenate([np.full((len(words), 1), ord("C"), np.uint8), digits], axis=1)
    raw = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(13), len(words), [None, pa.py_buffer(chars.tobytes())]
    )
    return raw.cast(pa.string())


def assign_ids(
    con: duckdb.DuckDBPyConnection,
    clusters: pd.DataFrame,
    run_id: str,
    reason_context: str | None = None,
) -> AssignResult:
    """Map this run's clusters onto stable child ids and record what changed.

    Args:
        con: connection holding (or to hold) the registry tables.
        clusters: ``source, record_key, cluster_id`` (other columns ignored); one row per record.
        run_id: the load's run id, written on every changed row and event.
        reason_context: appended to event reasons, e.g. the model version.

    Returns:
        The assignment of every record in ``clusters``, the events written, and counts.

    Raises:
        ValueError: if a record appears twice in ``clusters``.
    """
    ensure_tables(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    suffix = f" ({reason_context})" if reason_context else ""
    reasons = {k: v + suffix for k, v in _REASONS.items()}
    con.register("_ra_in", clusters[["source", "record_key", "cluster_id"]])
    own_tx = _begin(con)
    try:
        result = _assign(con, run_id, now, reasons)
        if own_tx:
            con.commit()
        return result
    except BaseException:
        if own_tx:
            con.rollback()
        raise
    finally:
        con.unregister("_ra_in")
        try:
            for t in _TEMP:
                con.execute(f"DROP TABLE IF EXISTS {t}").fetchall()
        except duckdb.Error:  # the caller's transaction was aborted; it drops them itself
            pass


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.begin()
    except duckdb.TransactionException:  # the caller already holds a transaction
        return False
    return True


def _assign(con, run_id: str, now: datetime, reasons: dict[str, str]) -> AssignResult:
    def sql(query: str, params: list | None = None) -> list[tuple]:
        return con.execute(query, params).fetchall()

    sql("""CREATE TEMP TABLE _ra_cur AS SELECT i.source, i.record_key, i.cluster_id,
           a.child_id AS prev_id
           FROM _ra_in i LEFT JOIN record_assignment a USING (source, record_key)""")
    (dupes,) = sql("""SELECT count(*) FROM (SELECT 1 FROM _ra_cur GROUP BY source, record_key
                      HAVING count(*) > 1)""")[0]
    if dupes:
        raise ValueError(f"{dupes} records appear more than once in clusters")
    sql("""CREATE TEMP TABLE _ra_cl AS SELECT cluster_id, count(*) AS n,
           min(source || '|' || record_key) AS anchor FROM _ra_cur GROUP BY cluster_id""")
    sql("""CREATE TEMP TABLE _ra_edges AS SELECT e.cluster_id, e.prev_id, e.n,
           coalesce(r.issued_seq, 9223372036854775807) AS seq, cl.anchor
           FROM (SELECT cluster_id, prev_id, count(*) AS n FROM _ra_cur
                 WHERE prev_id IS NOT NULL GROUP BY ALL) e
           JOIN _ra_cl cl USING (cluster_id)
           LEFT JOIN child_registry r ON r.child_id = e.prev_id""")
    # Locally dominant rounds: an edge best for both its cluster and its id is taken. One
    # total order on edges makes each round take at least one edge, so the loop ends.
    sql("CREATE TEMP TABLE _ra_free AS SELECT * FROM _ra_edges")
    # Explicit DDL: DuckDB 2.0 loses joins against a `CREATE TABLE .. AS .. LIMIT 0` table
    # bulk-filled inside a transaction (IN / SEMI JOIN then match nothing).
    typed = sql("SELECT typeof(cluster_id) FROM _ra_cl LIMIT 1")
    cl_type = typed[0][0] if typed else "VARCHAR"
    sql(f"CREATE TEMP TABLE _ra_match (cluster_id {cl_type}, prev_id VARCHAR)")
    while True:
        (taken,) = sql("""INSERT INTO _ra_match SELECT cluster_id, prev_id FROM (
            SELECT cluster_id, prev_id,
              row_number() OVER (PARTITION BY cluster_id ORDER BY n DESC, seq, anchor) AS rc,
              row_number() OVER (PARTITION BY prev_id ORDER BY n DESC, seq, anchor) AS rp
            FROM _ra_free) WHERE rc = 1 AND rp = 1""")[0]
        if not taken:
            break
        sql("""DELETE FROM _ra_free WHERE cluster_id IN (SELECT cluster_id FROM _ra_match)
               OR prev_id IN (SELECT prev_id FROM _ra_match)""")
    (seq0,) = sql("SELECT coalesce(max(issued_seq), 0) FROM child_registry")[0]
    sql(
        """CREATE TEMP TABLE _ra_new AS SELECT cl.cluster_id, b.prev_id AS split_from,
               $1 + row_number() OVER (ORDER BY cl.anchor) AS issued_seq
        FROM _ra_cl cl ANTI JOIN _ra_match m USING (cluster_id)
        LEFT JOIN (SELECT cluster_id, prev_id FROM _ra_edges QUALIFY row_number() OVER
                   (PARTITION BY cluster_id ORDER BY n DESC, seq) = 1) b USING (cluster_id)""",
        [seq0],
    )
    (n_new,) = sql("SELECT count(*) FROM _ra_new")[0]
    fresh = pd.DataFrame(
        {
            "issued_seq": np.arange(seq0 + 1, seq0 + n_new + 1, dtype=np.int64),
            "child_id": new_child_ids(con, n_new),
        }
    )
    con.register("_ra_fresh", fresh)
    try:
        sql("""CREATE TEMP TABLE _ra_final AS
               SELECT cluster_id, prev_id AS child_id, 'kept' AS kind, NULL AS split_from
               FROM _ra_match UNION ALL
               SELECT n.cluster_id, f.child_id, CASE WHEN n.split_from IS NULL THEN 'created'
                      ELSE 'split' END, n.split_from
               FROM _ra_new n JOIN _ra_fresh f USING (issued_seq)""")
        sql(
            """INSERT INTO child_registry SELECT f.child_id, 'active', $1, $1, NULL,
               n.split_from, CASE WHEN n.split_from IS NULL THEN $2 ELSE $3 END, n.issued_seq
               FROM _ra_new n JOIN _ra_fresh f USING (issued_seq)""",
            [run_id, reasons["created"], reasons["split"]],
        )
    finally:
        con.unregister("_ra_fresh")
    sql("""CREATE TEMP TABLE _ra_flows AS SELECT c.prev_id, f.child_id, count(*) AS n
           FROM _ra_cur c JOIN _ra_final f USING (cluster_id)
           WHERE c.prev_id IS NOT NULL AND c.prev_id <> f.child_id GROUP BY ALL""")
    sql("""CREATE TEMP TABLE _ra_moves AS SELECT c.source, c.record_key, f.child_id,
           c.prev_id IS NULL AS is_new FROM _ra_cur c JOIN _ra_final f USING (cluster_id)
           WHERE c.prev_id IS DISTINCT FROM f.child_id""")
    if sql("SELECT count(*) FROM _ra_moves WHERE NOT is_new")[0][0]:
        sql(
            """UPDATE record_assignment a SET child_id = m.child_id, run_id = $1,
               assigned_at = $2 FROM _ra_moves m
               WHERE a.source = m.source AND a.record_key = m.record_key AND NOT m.is_new""",
            [run_id, now],
        )
    sql(
        """INSERT INTO record_assignment SELECT source, record_key, child_id, $1, $2
           FROM _ra_moves WHERE is_new""",
        [run_id, now],
    )
    # An id kept by no cluster and left with no record is retired into its main receiver.
    sql("""CREATE TEMP TABLE _ra_merged AS SELECT prev_id, child_id AS merged_into, n FROM (
        SELECT f.*, row_number() OVER (PARTITION BY f.prev_id ORDER BY f.n DESC,
               coalesce(r.issued_seq, 0), f.child_id) AS rk
        FROM _ra_flows f LEFT JOIN child_registry r ON r.child_id = f.child_id
        WHERE f.prev_id NOT IN (SELECT prev_id FROM _ra_match)
          AND f.prev_id NOT IN (SELECT DISTINCT child_id FROM record_assignment)) WHERE rk = 1""")
    sql(
        """UPDATE child_registry r SET status = 'merged', merged_into = m.merged_into,
           updated_run = $1, reason = $2 FROM _ra_merged m WHERE r.child_id = m.prev_id""",
        [run_id, reasons["merged"]],
    )
    sql(
        """UPDATE child_registry SET updated_run = $1 WHERE status = 'active'
           AND created_run IS DISTINCT FROM $1 AND (child_id IN (SELECT prev_id FROM _ra_flows)
                OR child_id IN (SELECT child_id FROM _ra_flows))""",
        [run_id],
    )
    sql(
        """CREATE TEMP TABLE _ra_events AS SELECT $1::VARCHAR AS run_id, event, child_id,
               other_child_id, n_records, CASE event WHEN 'created' THEN $2 WHEN 'split' THEN $3
               WHEN 'merged' THEN $4 ELSE $5 END AS reason, $6::TIMESTAMP AS "at" FROM (
        SELECT CASE WHEN u.split_from IS NULL THEN 'created' ELSE 'split' END AS event,
               u.child_id, u.split_from AS other_child_id, coalesce(fl.n, cl.n) AS n_records
        FROM _ra_final u JOIN _ra_cl cl USING (cluster_id) LEFT JOIN _ra_flows fl
             ON fl.prev_id = u.split_from AND fl.child_id = u.child_id
        WHERE u.kind <> 'kept'
        UNION ALL SELECT 'merged', prev_id, merged_into, n FROM _ra_merged
        UNION ALL SELECT 'record_moved', f.child_id, f.prev_id, f.n FROM _ra_flows f
        WHERE NOT EXISTS (SELECT 1 FROM _ra_final u WHERE u.child_id = f.child_id
                          AND u.split_from = f.prev_id)
          AND NOT EXISTS (SELECT 1 FROM _ra_merged m WHERE m.prev_id = f.prev_id
                          AND m.merged_into = f.child_id)) ORDER BY event, child_id""",
        [
            run_id,
            reasons["created"],
            reasons["split"],
            reasons["merged"],
            reasons["record_moved"],
            now,
        ],
    )
    sql("INSERT INTO registry_events SELECT * FROM _ra_events")
    events = con.sql("SELECT * FROM _ra_events ORDER BY event, child_id").to_arrow_table()
    kinds = dict(sql("SELECT kind, count(*) FROM _ra_final GROUP BY kind"))
    (n_clusters, n_ids) = sql("SELECT count(*), count(DISTINCT child_id) FROM _ra_final")[0]
    if n_clusters != n_ids or n_clusters != sql("SELECT count(*) FROM _ra_cl")[0][0]:
        raise RuntimeError("registry invariant broken: clusters and child ids do not pair up")
    counts = {k: int(kinds.get(k, 0)) for k in ("created", "kept", "split")}
    counts["merged"] = int(sql("SELECT count(*) FROM _ra_merged")[0][0])
    assignments = con.sql("""SELECT c.source, c.record_key, f.child_id FROM _ra_cur c
                              JOIN _ra_final f USING (cluster_id)""").to_arrow_table()
    return AssignResult(assignments_table=assignments, events_table=events, counts=counts)
