"""The restricted identity database: the linkage map and golden identifiers (data officers only).

Tables: ``source_xref`` (one row per linked source record: child_id, source, record_key, the
months the record was delivered, ``snapshot_status`` (``current`` / ``left`` for school
rosters, centre and health-centre registers: is the record on its register's latest snapshot),
``left_after_month``, match information, ``run_id`` of the run that first published the link),
``golden_identity`` (golden identifiers, each value only if its source's agreement permits it
here), ``golden_provenance``, ``child_registry``, ``registry_events``, ``review_decisions``,
``review_queue``, ``quarantine``, ``load_log``, ``lineage_events``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.store.agreements import Derivation
from pipelines.store.staging import GOLDEN_FIELDS

_KEY = Derivation(
    (("person", "record_key"),),
    "TRANSFORMATION",
    True,
    "opaque child id assigned by record linkage of the agency's record",
)
_DERIVED = {"pid_status", "birth_date_precision"}
SPECS: dict[str, dict[str, Derivation]] = {
    "source_xref": {
        "child_id": _KEY,
        "source": Derivation(
            (("person", "record_key"),),
            "TRANSFORMATION",
            False,
            "the agency that delivered the record",
        ),
        "record_key": Derivation(
            (("person", "record_key"),),
            "IDENTITY",
            False,
            "the agency's own record key (extracts.md)",
        ),
    },
    "golden_identity": {
        "child_id": _KEY,
        **{
            c: Derivation(
                (("person", f),),
                "TRANSFORMATION" if c in _DERIVED else "IDENTITY",
                c in _DERIVED,
                "best value across the child's records",
            )
            for c, f in GOLDEN_FIELDS.items()
        },
    },
}
# Columns that describe a run rather than the data: left out of the content hash.
# Columns that say only which run last touched a row: a re-run changing them publishes nothing.
RUN_METADATA_COLUMNS = ("run_id", "last_seen_run")
RUN_METADATA_TABLES = ("load_log", "lineage_events")


def _columns(con: duckdb.DuckDBPyConnection, rel: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {rel}").fetchall()]


def build_identity_tables(
    con: duckdb.DuckDBPyConnection, run_id: str, previous: Path | None
) -> dict[str, str]:
    """The SELECTs yielding each identity table (after :func:`~pipelines.store.staging.stage`).

    ``load_log`` and ``lineage_events`` are expected as registered frames ``load_log_all`` and
    ``lineage_all``. ``previous`` is the current version's identity.duckdb: a link already
    published keeps the ``run_id`` of the run that first published it.
    """
    assigned = _columns(con, "in_assignments")
    history = {"first_month", "last_month", "months"} <= set(assigned)
    extra = [
        c
        for c in assigned
        if c not in ("source", "record_key", "child_id", "run_id", "first_month", "last_month")
        and c != "months"
    ]
    has_run = "run_id" in assigned
    # The link stage records every month a record was delivered in (in_persons holds only the
    # latest month of each record).
    months = (
        """SELECT DISTINCT source::VARCHAR AS source, record_key::VARCHAR AS record_key,
                  first_month::VARCHAR AS first_month, last_month::VARCHAR AS last_month,
                  months::VARCHAR[] AS months FROM in_assignments"""
        if history
        else """SELECT source::VARCHAR AS source, record_key::VARCHAR AS record_key,
                   min(month::VARCHAR) AS first_month, max(month::VARCHAR) AS last_month,
                   list_sort(list_distinct(list(month::VARCHAR))) AS months
            FROM in_persons GROUP BY ALL"""
    )
    prev_join, prev_run = "", "NULL"
    if previous is not None and previous.exists():
        con.execute(f"ATTACH '{previous.as_posix()}' AS prev_identity (READ_ONLY)")
        prev_join = """LEFT JOIN prev_identity.source_xref p
                       ON p.source = x.source AND p.record_key = x.record_key
                      AND p.child_id = x.child_id"""
        prev_run = "p.run_id"
    first_run = f"coalesce({'a.run_id::VARCHAR, ' if has_run else ''}{prev_run}, '{run_id}')"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE id_source_xref AS
        WITH months AS ({months}),
        a AS (SELECT DISTINCT ON (source::VARCHAR, record_key::VARCHAR, child_id::VARCHAR) *
              FROM in_assignments WHERE child_id IS NOT NULL)
        SELECT x.child_id, x.source, x.record_key, m.first_month, m.last_month, m.months,
               {"".join(f"a.{c}, " for c in extra)}{first_run}::VARCHAR AS run_id
        FROM xref x
        JOIN a ON a.source::VARCHAR = x.source AND a.record_key::VARCHAR = x.record_key
              AND a.child_id::VARCHAR = x.child_id
        LEFT JOIN months m ON m.source = x.source AND m.record_key = x.record_key
        {prev_join}""")
    if prev_join:
        con.execute("DETACH prev_identity")
    return {
        "source_xref": "SELECT * FROM id_source_xref",
        "golden_identity": "SELECT * FROM golden_identity_v",
        "golden_provenance": "SELECT * FROM in_provenance",
        "child_registry": "SELECT * FROM in_child_registry",
        "registry_events": "SELECT * FROM in_registry_events",
        "review_decisions": "SELECT * FROM in_review_decisions",
        "review_queue": "SELECT * FROM in_review_queue",
        "quarantine": "SELECT * FROM in_quarantine",
        "load_log": "SELECT * FROM load_log_all",
        "lineage_events": "SELECT * FROM lineage_all",
    }


def names_for_scan(con: duckdb.DuckDBPyConnection, exclude: set[str] = frozenset()) -> pa.Array:
    """Personal names in the golden record (given, family, romanised, guardian names and their
    words), less ``exclude``: what the privacy scan looks for in analytics.

    An Arrow array, not a Python set: at 1M children there are ~670k names, and building,
    sorting and re-registering them in Python cost ~3 s of every publish.
    """
    names = con.sql("""
        SELECT DISTINCT n::VARCHAR AS n FROM (
            SELECT unnest([given_name, family_name, given_name_rom, family_name_rom,
                           guardian_name])::VARCHAR AS n FROM in_golden
            UNION ALL SELECT unnest(string_split(guardian_name::VARCHAR, ' ')) FROM in_golden)
        WHERE length(trim(n)) >= 2""").to_arrow_table()["n"]
    if exclude:
        names = names.filter(pc.invert(pc.is_in(names, value_set=pa.array(sorted(exclude)))))
    return names.combine_chunks()
