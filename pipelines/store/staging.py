"""The inputs of a publish, registered in a DuckDB connection and filtered by the agreements.

Every input is a pandas frame or an Arrow table. :func:`stage` registers them as ``in_<name>``
views and builds ``xref`` (linked records), ``golden_identity_v`` / ``golden_analytics_v``
(golden values whose source permits them in that database, the rest NULL) and ``ev_<table>``
(event rows with their ``child_id``, every non-permitted value NULL), plus ``in_quality`` /
``in_link_quality`` for :mod:`pipelines.store.quality`. Nothing here is written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.store.agreements import Agreement, permitting, require_agreements, sql_source_in
from pipelines.store.quality import ACCOUNTING, PAIR_SUMMARY
from schemas.columns import EVENT_TABLES, QUARANTINE, SOURCES

# Golden columns and the person field whose agreement terms govern each.
GOLDEN_FIELDS = {
    "pid": "pid",
    "pid_status": "pid",
    "gcode": "gcode",
    "prefix": "prefix",
    "given_name": "given_name",
    "family_name": "family_name",
    "given_name_rom": "given_name_rom",
    "family_name_rom": "family_name_rom",
    "nickname": "nickname",
    "sex": "sex",
    "birth_date": "birth_date",
    "birth_date_precision": "birth_date",
    "guardian_name": "guardian_name",
    "guardian_relation": "guardian_relation",
    "guardian_phone": "guardian_phone",
    "mother_pid": "mother_pid",
    "address_text": "address_text",
    "district_code": "district_code",
    "subdistrict_code": "subdistrict_code",
}
GOLDEN = ("child_id", *GOLDEN_FIELDS, "sources", "n_records", "first_month", "last_month")
ANALYTICS_GOLDEN = ("child_id", "sex", "birth_date", "district_code")  # all analytics reads
PROVENANCE = ("child_id", "field", "value_source", "value_record_key", "run_id", "rule")
DEFAULT_COLUMNS = {
    "quarantine": QUARANTINE,
    "child_registry": (
        "child_id",
        "status",
        "created_run",
        "updated_run",
        "merged_into",
        "split_from",
        "reason",
    ),
    "registry_events": ("run_id", "event", "child_id", "other_child_id", "n_records", "reason"),
    "review_decisions": (
        "source_l",
        "record_key_l",
        "source_r",
        "record_key_r",
        "decision",
        "reviewer",
        "decided_at",
        "run_id",
    ),
    "review_queue": (
        "source_l",
        "record_key_l",
        "source_r",
        "record_key_r",
        "match_probability",
        "run_id",
    ),
}


# The person columns a publish uses (the linkage map's months and the passbook families).
PERSON_COLUMNS = ("source", "record_key", "month", "family_ref")
Frame = pd.DataFrame | pa.Table


@dataclass
class PublishInput:
    """Everything one publish needs (pandas frames, or Arrow tables, with the columns of
    ``schemas/columns.py``).

    Attributes:
        golden: one row per child_id (columns :data:`GOLDEN`).
        assignments: ``source, record_key, child_id`` (+ match info) for every linked record.
        persons: standard person records (``source, record_key, month, family_ref`` are used).
        events: standard event tables by name (``school_enrolment`` ... ``family_problem``).
        provenance: which source each golden value came from (:data:`PROVENANCE`).
        quarantine, child_registry, registry_events, review_decisions, review_queue: published
            as they are to identity.duckdb.
        load_log: this run's load-log rows (see :mod:`pipelines.store.loadlog`).
        quality_checks: results of the load's quality checks, as OpenLineage assertions plus
            ``dataset`` (a delivered file's relative path, or ``<db>.<table>``).
        quality: the standardisation accounting of every source and month (columns
            :data:`~pipelines.store.quality.ACCOUNTING`), published as ``quality_summary``.
        link_quality: linked pairs per source pair (:data:`~pipelines.store.quality.PAIR_SUMMARY`),
            published as ``link_quality``.
    """

    golden: Frame
    assignments: Frame
    persons: Frame | None = None
    events: dict[str, Frame] = field(default_factory=dict)
    provenance: Frame | None = None
    quarantine: pd.DataFrame | None = None
    child_registry: Frame | None = None
    registry_events: Frame | None = None
    review_decisions: Frame | None = None
    review_queue: Frame | None = None
    load_log: pd.DataFrame | None = None
    quality_checks: list[dict] = field(default_factory=list)
    quality: pd.DataFrame | None = None
    link_quality: pd.DataFrame | None = None


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})


def _with_columns(df: Frame | None, columns) -> Frame:
    """The table with every expected column present (missing ones all-NA strings)."""
    if df is None:
        return _empty(columns)
    if isinstance(df, pa.Table):
        for c in [c for c in columns if c not in df.column_names]:
            df = df.append_column(c, pa.nulls(df.num_rows, pa.large_string()))
        return df
    missing = [c for c in columns if c not in df.columns]
    return df.assign(**{c: pd.Series(pd.NA, index=df.index, dtype="str") for c in missing})


def _register(con: duckdb.DuckDBPyConnection, name: str, df: Frame) -> None:
    """Register a table through Arrow (faster for DuckDB to scan and write than pandas); frames
    Arrow cannot represent (mixed-type object columns) are registered as they are."""
    if isinstance(df, pa.Table):
        con.register(name, df)
        return
    try:
        con.register(name, pa.Table.from_pandas(df, preserve_index=False))
    except (pa.ArrowException, TypeError, ValueError):
        con.register(name, df)


def stage(
    con: duckdb.DuckDBPyConnection, tables: PublishInput, agreements: dict[str, Agreement]
) -> None:
    """Register the inputs and build the agreement-filtered staging views (see module doc)."""
    _register(con, "in_golden", _with_columns(tables.golden, GOLDEN))
    keys = ("source", "record_key", "child_id")
    _register(con, "in_assignments", _with_columns(tables.assignments, keys))
    persons = _with_columns(tables.persons, PERSON_COLUMNS)
    persons = (
        persons.select(list(PERSON_COLUMNS))
        if isinstance(persons, pa.Table)
        else persons[list(PERSON_COLUMNS)]
    )
    _register(con, "in_persons", persons)
    _register(con, "in_provenance", _with_columns(tables.provenance, PROVENANCE))
    for name, cols in DEFAULT_COLUMNS.items():
        _register(con, f"in_{name}", _with_columns(getattr(tables, name), cols))
    for name, cols in EVENT_TABLES.items():
        _register(con, f"in_ev_{name}", _with_columns(tables.events.get(name), cols))
    _register(con, "in_quality", _with_columns(tables.quality, ACCOUNTING))
    _register(con, "in_link_quality", _with_columns(tables.link_quality, PAIR_SUMMARY))

    con.execute("""CREATE OR REPLACE TEMP TABLE xref AS
        SELECT DISTINCT source::VARCHAR AS source, record_key::VARCHAR AS record_key,
               child_id::VARCHAR AS child_id
        FROM in_assignments WHERE child_id IS NOT NULL""")
    used = [r[0] for r in con.execute("SELECT DISTINCT source FROM xref").fetchall()]
    require_agreements(agreements, used)
    _mask_golden(con, agreements)
    for name, cols in EVENT_TABLES.items():
        _stage_events(con, agreements, name, cols)


def _mask_golden(con, agreements: dict[str, Agreement]) -> None:
    """``golden_identity_v`` / ``golden_analytics_v``: each golden value kept only if the
    agreement of the source it came from permits it in that database (else NULL).

    The source of a value is the provenance row of that (child, field); without one the value
    is kept only if every source linked to the child permits the field. One pass over the
    provenance serves both databases; analytics needs only sex, birth date and district.
    """
    fields = sorted(set(GOLDEN_FIELDS.values()))
    wanted = [(f, "identity") for f in fields] + [(f, "analytics") for f in ANALYTICS_GOLDEN[1:]]
    ok = {(f, t): permitting(agreements, "person", f, t) for f, t in wanted}
    # Fields and sources as bits, so one pass aggregates every field of a child at once.
    bit = {f: 1 << i for i, f in enumerate(fields)}
    source_bit = {s: 1 << i for i, s in enumerate(SOURCES)}
    unknown = 1 << len(SOURCES)  # a source name not in SOURCES: permitted nowhere
    every = (unknown << 1) - 1
    field_bit = "CASE field::VARCHAR " + " ".join(f"WHEN '{f}' THEN {b}" for f, b in bit.items())

    def refused(target: str) -> str:  # fields whose value came from a source not permitted
        arms = " ".join(
            f"WHEN '{f}' THEN {sql_source_in(ok[(f, target)], 'value_source::VARCHAR')}"
            for f in fields
            if (f, target) in ok
        )
        refusing = f"NOT (CASE field::VARCHAR {arms} ELSE FALSE END)"
        return f"coalesce(bit_or(CASE WHEN {refusing} THEN b END), 0)"

    def flag(f: str, target: str) -> str:
        allowed = sum(source_bit[s] for s in ok[(f, target)] if s in source_bit)
        return (
            f"coalesce(CASE WHEN p.seen & {bit[f]} <> 0 THEN p.{target[:2]}_refused & {bit[f]} = 0"
            f" END, f.sources & {every & ~allowed} = 0) AS {target[:2]}_{f}"
        )

    sources = "CASE source " + " ".join(f"WHEN '{s}' THEN {b}" for s, b in source_bit.items())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE golden_ok AS
        WITH p AS (SELECT child_id::VARCHAR AS child_id, bit_or(b) AS seen,
                          {refused("identity")} AS id_refused, {refused("analytics")} AS an_refused
                   FROM (SELECT *, {field_bit} END AS b FROM in_provenance
                         WHERE value_source IS NOT NULL)
                   WHERE b IS NOT NULL GROUP BY 1),
             f AS (SELECT child_id, bit_or({sources} ELSE {unknown} END) AS sources
                   FROM xref WHERE source IS NOT NULL GROUP BY 1)
        SELECT g.child_id, {", ".join(flag(f, t) for f, t in wanted)}
        FROM (SELECT child_id::VARCHAR AS child_id FROM in_golden) g
        LEFT JOIN p USING (child_id) LEFT JOIN f USING (child_id)""")

    def masked(c: str, target: str) -> str:
        if c == "child_id":
            return "g.child_id::VARCHAR AS child_id"
        if c not in GOLDEN_FIELDS:
            return f"g.{c}"
        return f"CASE WHEN o.{target[:2]}_{GOLDEN_FIELDS[c]} THEN g.{c} END AS {c}"

    join = "FROM in_golden g JOIN golden_ok o ON o.child_id = g.child_id::VARCHAR"
    identity = ", ".join(masked(c, "identity") for c in _columns(con, "in_golden"))
    analytics = ", ".join(masked(c, "analytics") for c in ANALYTICS_GOLDEN)
    con.execute(f"CREATE OR REPLACE TEMP VIEW golden_identity_v AS SELECT {identity} {join}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW golden_analytics_v AS SELECT {analytics} {join}")


def _columns(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def _stage_events(con, agreements: dict[str, Agreement], name: str, cols: tuple) -> None:
    """``ev_<name>``: event rows joined to their child, non-permitted values NULL.

    ``_key`` (the person's record key, or the family reference) stays internal for de-duplication
    and is never published.
    """
    values = [c for c in cols if c not in ("source", "record_key", "family_ref", "month")]
    masked = ", ".join(
        f"CASE WHEN {sql_source_in(permitting(agreements, name, c, 'analytics'), 'e.source')} "
        f"THEN e.{c} END AS {c}"
        for c in values
    )
    if name == "family_problem":  # keyed by family: every linked child of the family
        link = """JOIN (SELECT DISTINCT p.source, p.family_ref::VARCHAR AS family_ref, x.child_id
                        FROM in_persons p JOIN xref x
                          ON x.source = p.source AND x.record_key = p.record_key::VARCHAR
                        WHERE p.family_ref IS NOT NULL) x
                   ON x.source = e.source AND x.family_ref = e.family_ref::VARCHAR"""
        key = "e.family_ref::VARCHAR"
    else:
        link = "JOIN xref x ON x.source = e.source AND x.record_key = e.record_key::VARCHAR"
        key = "e.record_key::VARCHAR"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW ev_{name} AS
        SELECT x.child_id, e.source, {key} AS _key, e.month::VARCHAR AS month, {masked}
        FROM in_ev_{name} e {link}""")
