"""Golden child record: one row per ``child_id``, each field chosen from one source record.

Each record first collapses to its latest month. For each field group the candidate records of a
child are ranked by the keys below; the first record supplies every field of the group, so
values that belong together (a name and its romanisation, a date and its precision, an address
and its codes) never mix records.

*Recency* is the month since which a record holds its current content (``content_since``): the
first month of the latest run of deliveries in which every field golden reads was the same. A
register that re-delivers a record unchanged each month (a school roster lists every pupil) does
not make it more recent than another agency's newer value: a value changes when some agency's
record of the child changes, not because another agency re-delivered an old one. (With the
delivery month instead, at 1M children 31% of golden records changed from one month to the
next, 249k addresses and 131k guardian names, while only 3% of records had changed.)

==================  =====================================  =====================================
field(s)            candidates                             order (first key first)
==================  =====================================  =====================================
pid, pid_status     every record                           status (valid > non_thai > bad_check
                                                           > gcode > invalid > missing), most
                                                           frequent pid, trust[pid], recency
gcode               gcode present                          most frequent, trust[pid], recency
prefix              prefix present                         recency (age-dependent), trust[names]
given_name (+rom)   given_name present, not placeholder    trust[names], recency, most frequent
family_name (+rom)  family_name present, not placeholder   trust[names], recency, most frequent
nickname            nickname present, not placeholder      most frequent, trust[names], recency
sex                 sex present                            most frequent, trust[names], recency
birth_date (+prec)  birth_date present                     precision (day > year > age),
                                                           trust[birth_date], most frequent,
                                                           recency
guardian_name       guardian_name present                  recency, trust[contact]
(+relation)
guardian_phone      guardian_phone present                 recency, trust[contact]
mother_pid          mother_pid present                     most frequent, trust[pid], recency
address_text,       any of the three present               recency, most parts present,
district_code,                                             trust[contact]
subdistrict_code
==================  =====================================  =====================================

Ties after every key fall to a stable hash of ``source|record_key`` (MD5), so the result does
not depend on row order. Placeholder names (``is_placeholder_name``) are never candidates.

Default trust (first is most trusted; override any list with ``trust_order``):

* pid: epassbook > health_centres > schools > cpis > child_centres
* names: schools > health_centres > epassbook > child_centres > cpis
* birth_date: health_centres > epassbook > schools > child_centres > cpis
* contact: epassbook > health_centres > schools > child_centres > cpis (household survey first)

``sources``, ``n_records``, ``first_month`` and ``last_month`` aggregate all of a child's rows.

Provenance has one row per non-null chosen value: ``child_id, field, value_source,
value_record_key, run_id, rule``; ``run_id`` is the run that chose the value (a later build
that reuses it keeps it). ``rule`` says why this value won: ``only_candidate``,
``unanimous`` (every candidate record holds the same value), else the first order key above on
which the chosen record beats the best record holding a different value (``pid_status``,
``frequency``, ``trust``, ``recency``, ``precision``, ``completeness``), or ``tiebreak``.

Ranking is vectorised in DuckDB (each candidate gets one packed integer sort key; hash
aggregates pick the best record per child and value, then per child) and values are gathered
from the winning rows with Arrow ``take``: nothing loops over children.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TRUST_ORDER: dict[str, tuple[str, ...]] = {
    "pid": ("epassbook", "health_centres", "schools", "cpis", "child_centres"),
    "names": ("schools", "health_centres", "epassbook", "child_centres", "cpis"),
    "birth_date": ("health_centres", "epassbook", "schools", "child_centres", "cpis"),
    "contact": ("epassbook", "health_centres", "schools", "child_centres", "cpis"),
}
GOLDEN_COLUMNS = (
    "child_id", "pid", "pid_status", "gcode", "prefix", "given_name", "family_name",
    "given_name_rom", "family_name_rom", "nickname", "sex", "birth_date", "birth_date_precision",
    "guardian_name", "guardian_relation", "guardian_phone", "mother_pid", "address_text",
    "district_code", "subdistrict_code", "sources", "n_records", "first_month", "last_month",
)  # fmt: skip
PROVENANCE_COLUMNS = ("child_id", "field", "value_source", "value_record_key", "run_id", "rule")

_NOT_PLACEHOLDER = "NOT is_placeholder_name"
_STATUS = """CASE pid_status WHEN 'valid' THEN 0 WHEN 'non_thai' THEN 1 WHEN 'bad_check' THEN 2
             WHEN 'gcode' THEN 3 WHEN 'invalid' THEN 4 WHEN 'missing' THEN 5 ELSE 6 END"""
_PRECISION = "CASE birth_date_precision WHEN 'day' THEN 0 WHEN 'year' THEN 1 ELSE 2 END"
_PARTS = """3 - (address_text IS NOT NULL)::INT - (district_code IS NOT NULL)::INT
            - (subdistrict_code IS NOT NULL)::INT"""
# (rule name, non-negative integer expression where smaller wins, bits it needs)
_FREQ = ("frequency", "1048575 - least(freq, 1048575)", 20)
_RECENT = ("recency", "rec", 20)


def _trust(kind: str) -> tuple[str, str, int]:
    return ("trust", f"least(trust_{kind}, 15)", 4)


# group: (fields, candidate filter, value compared for frequency/unanimity, order keys)
_GROUPS: dict[str, tuple[tuple[str, ...], str, str, list[tuple[str, str, int]]]] = {
    "pid": (("pid", "pid_status"), "true", "pid",
            [("pid_status", "status", 3), _FREQ, _trust("pid"), _RECENT]),
    "gcode": (("gcode",), "gcode IS NOT NULL", "gcode", [_FREQ, _trust("pid"), _RECENT]),
    "prefix": (("prefix",), "prefix IS NOT NULL", "prefix", [_RECENT, _trust("names")]),
    "given_name": (("given_name", "given_name_rom"),
                   f"given_name IS NOT NULL AND {_NOT_PLACEHOLDER}", "given_name",
                   [_trust("names"), _RECENT, _FREQ]),
    "family_name": (("family_name", "family_name_rom"),
                    f"family_name IS NOT NULL AND {_NOT_PLACEHOLDER}", "family_name",
                    [_trust("names"), _RECENT, _FREQ]),
    "nickname": (("nickname",), f"nickname IS NOT NULL AND {_NOT_PLACEHOLDER}", "nickname",
                 [_FREQ, _trust("names"), _RECENT]),
    "sex": (("sex",), "sex IS NOT NULL", "sex", [_FREQ, _trust("names"), _RECENT]),
    "birth_date": (("birth_date", "birth_date_precision"), "birth_date IS NOT NULL", "birth_date",
                   [("precision", "precision", 2), _trust("birth_date"), _FREQ, _RECENT]),
    "guardian": (("guardian_name", "guardian_relation"), "guardian_name IS NOT NULL",
                 "guardian_name", [_RECENT, _trust("contact")]),
    "guardian_phone": (("guardian_phone",), "guardian_phone IS NOT NULL", "guardian_phone",
                       [_RECENT, _trust("contact")]),
    "mother_pid": (("mother_pid",), "mother_pid IS NOT NULL", "mother_pid",
                   [_FREQ, _trust("pid"), _RECENT]),
    "address": (("address_text", "district_code", "subdistrict_code"),
                "coalesce(address_text, district_code, subdistrict_code) IS NOT NULL",
                "address_text, district_code, subdistrict_code",
                [_RECENT, ("completeness", "parts", 2), _trust("contact")]),
}  # fmt: skip
_TEXT = ("source", "record_key", "month") + GOLDEN_COLUMNS[1:11] + GOLDEN_COLUMNS[12:20]
_NEEDED = _TEXT + ("birth_date", "is_placeholder_name")
NEEDED_COLUMNS = _NEEDED  # the PERSON columns build_golden reads
# What a record's content is, for recency: every column golden reads but its key and month.
CONTENT_COLUMNS = tuple(c for c in _NEEDED if c not in ("source", "record_key", "month"))
CONTENT_SINCE = "content_since"
_FIELDS = GOLDEN_COLUMNS[1:20]
RULES = (
    "only_candidate", "unanimous", "pid_status", "frequency", "trust", "recency", "precision",
    "completeness", "tiebreak",
)  # fmt: skip


@dataclass
class GoldenResult:
    """Golden records and the field-level provenance that explains them, as Arrow tables
    (``golden`` and ``provenance`` give them as pandas frames, converted on first use)."""

    golden_table: pa.Table
    provenance_table: pa.Table
    # child_id, digest, n: what each child's chosen values were computed from (stamped with
    # the code and trust order); a later build reuses the values of children whose digest is
    # the same. None where the inputs were not digested.
    digests: pa.Table | None = None
    reused: int = 0  # children whose values were taken from ``previous``

    @cached_property
    def golden(self) -> pd.DataFrame:
        return self.golden_table.to_pandas()

    @cached_property
    def provenance(self) -> pd.DataFrame:
        return self.provenance_table.to_pandas()


def build_golden(
    persons: pd.DataFrame | pa.Table,
    assignments: pd.DataFrame | pa.Table,
    run_id: str,
    trust_order: dict[str, tuple[str, ...]] | None = None,
    previous: GoldenResult | None = None,
) -> GoldenResult:
    """Build one golden record per child with field-level provenance.

    Args:
        persons: PERSON rows (all months; pandas or Arrow); records not in ``assignments`` are
            ignored. Without a ``content_since`` column it is computed from the rows given
            (:func:`content_since_sql`); with one (the latest rows only, as the pipeline passes
            them), each record's latest row's value is used.
        assignments: ``source, record_key, child_id`` (pandas or Arrow), and optionally each
            record's ``first_month`` delivered (the pipeline passes its history; else the
            earliest month among the rows given).
        run_id: written on every provenance row this build computes.
        trust_order: per kind (``pid``, ``names``, ``birth_date``, ``contact``), sources from
            most to least trusted; kinds not given keep the default.
        previous: an earlier result (with ``digests``). A child whose records, their content
            and ``content_since`` are all as they were then keeps that result's chosen values
            and provenance rows (with that run's ``run_id``); its aggregates (sources, months)
            are computed again. The result is the one a build from scratch gives, but for
            provenance ``run_id``: a monthly load re-ranks only the children it touched.

    Returns:
        ``golden`` (columns ``GOLDEN_COLUMNS``, one row per child, sorted by ``child_id``) and
        ``provenance`` (columns ``PROVENANCE_COLUMNS``; computed rows grouped by field, then
        the reused ones), and ``digests`` for the next build.
    """
    missing = [c for c in _NEEDED if c not in _column_names(persons)]
    if missing:
        raise ValueError(f"persons lacks columns {missing}")
    trust = {**TRUST_ORDER, **(trust_order or {})}
    table = _arrow(persons)
    con = duckdb.connect()
    try:
        con.register("_g_arrow", table)
        keys = ["source", "record_key", "child_id"]
        keys += ["first_month"] if "first_month" in _column_names(assignments) else []
        con.register(
            "_g_assign",
            assignments.select(keys) if isinstance(assignments, pa.Table) else assignments[keys],
        )
        _prepare(con)
        stamp = _stamp(trust)
        digests = con.sql("SELECT * FROM _g_digest ORDER BY child_id").to_arrow_table()
        digests = digests.replace_schema_metadata({"stamp": stamp})
        reusable = (
            previous is not None
            and previous.digests is not None
            and (previous.digests.schema.metadata or {}).get(b"stamp") == stamp.encode()
        )
        if reusable:
            con.register("_g_prev", previous.digests.select(["child_id", "digest", "n"]))
            con.execute("""CREATE TEMP TABLE _g_same AS SELECT i.cix FROM _g_ids i
                JOIN _g_digest d USING (child_id) JOIN _g_prev p
                ON p.child_id = d.child_id AND p.digest = d.digest AND p.n = d.n""").fetchall()
        _candidates(con, trust, skip="_g_same" if reusable else None)
        children = con.sql(
            "SELECT cix, child_id, sources, n_records, first_month, last_month "
            "FROM _g_child ORDER BY child_id"
        ).to_arrow_table()
        pos = np.full(int(pc.max(children["cix"]).as_py() or 0) + 1, -1, np.int64)
        pos[children["cix"].to_numpy()] = np.arange(children.num_rows)
        winners = {name: _winners(con, name, pos) for name in _GROUPS}
        same = (
            con.sql("SELECT cix FROM _g_same").fetchnumpy()["cix"]
            if reusable
            else np.array([], np.int64)
        )
    finally:
        con.close()
    golden, values = _assemble(table, children, winners)
    provenance = _provenance(table, children, winners, values, run_id)
    if len(same):
        kept = np.zeros(children.num_rows, bool)
        kept[pos[np.asarray(same, np.int64)]] = True
        golden, provenance = _reuse(golden, provenance, previous, pa.array(kept))
    return GoldenResult(golden, provenance, digests, int(len(same)))


# Per child: a digest of every record's key, content and content_since, and the record count.
_DIGESTS = """CREATE OR REPLACE TEMP TABLE _g_digest AS
    SELECT i.child_id, bit_xor(hash(p.source, p.record_key, {content},
                                    coalesce(p.content_since, p.month))) AS digest,
           count(*) AS n
    FROM _g_rec r JOIN _g_arrow p USING (rid) JOIN _g_ids i USING (cix) GROUP BY i.child_id"""


def _stamp(trust: dict[str, tuple[str, ...]]) -> str:
    """Digest of this module's code and the trust order: reused values must come from both."""
    import hashlib
    import inspect
    import json
    import sys

    text = inspect.getsource(sys.modules[__name__]) + json.dumps(trust, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _reuse(
    golden: pa.Table, provenance: pa.Table, previous: GoldenResult, kept: pa.Array
) -> tuple[pa.Table, pa.Table]:
    """Golden rows where ``kept`` take their chosen values from ``previous`` (aggregates stay
    this build's); provenance gains the previous rows of those children."""
    ids = golden["child_id"]
    before = previous.golden_table
    at = pc.index_in(ids, value_set=before["child_id"])
    cols = {}
    for c in GOLDEN_COLUMNS:
        col = golden[c]
        if c in _FIELDS:
            old = before[c].take(at).cast(col.type)
            col = pc.if_else(kept, old, col)
        cols[c] = col
    kept_ids = ids.filter(kept)
    old_rows = previous.provenance_table
    old_rows = old_rows.filter(pc.is_in(old_rows["child_id"], value_set=kept_ids))
    old_rows = old_rows.select(list(PROVENANCE_COLUMNS)).cast(provenance.schema)
    return pa.table(cols), pa.concat_tables([provenance, old_rows])


def golden_changes(previous: pa.Table | None, current: pa.Table) -> dict[str, int]:
    """How ``current`` golden records differ from an earlier build (counts only): children
    ``new``, with any chosen value ``changed``, ``unchanged``, and ``removed`` (merged into
    another child, or no longer linked). The per-child aggregates (sources, months) are not
    compared: a re-delivery changes them by design."""
    if previous is None:
        return {"new": current.num_rows, "changed": 0, "unchanged": 0, "removed": 0}
    fields = [f for f in _FIELDS if f in previous.column_names]
    differs = " OR ".join(f'c."{f}" IS DISTINCT FROM p."{f}"' for f in fields) or "false"
    con = duckdb.connect()
    try:
        con.register("_gc_current", current.select(["child_id", *fields]))
        con.register("_gc_previous", previous.select(["child_id", *fields]))
        new, changed, matched = con.execute(f"""SELECT count(*) FILTER (WHERE p.child_id IS NULL),
            count(*) FILTER (WHERE p.child_id IS NOT NULL AND ({differs})), count(p.child_id)
            FROM _gc_current c LEFT JOIN _gc_previous p USING (child_id)""").fetchone()
    finally:
        con.close()
    return {
        "new": new,
        "changed": changed,
        "unchanged": matched - changed,
        "removed": previous.num_rows - matched,
    }


def _arrow(persons: pd.DataFrame | pa.Table) -> pa.Table:
    """The needed PERSON columns as Arrow, text typed as strings, plus a row id."""
    cols = {}
    for c in _NEEDED:
        if isinstance(persons, pa.Table):
            col = persons[c].combine_chunks()  # one chunk: ~20 takes of winners read it
        else:
            col = pa.array(persons[c], from_pandas=True)
        if c == "birth_date":  # one type whatever the input's: digests hash the values
            if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("ms"))
            else:
                col = pa.array(pd.to_datetime(col.to_pandas()).astype("datetime64[ms]"))
        elif c == "is_placeholder_name":
            col = pc.fill_null(col.cast(pa.bool_()), False)
        elif col.null_count == len(col):  # an all-missing column arrives as float NaN
            col = pa.nulls(len(col), pa.string())
        elif not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = col.cast(pa.string())
        cols[c] = col
    given = _column_names(persons)
    if CONTENT_SINCE in given:
        since = persons[CONTENT_SINCE]
        since = since.combine_chunks() if isinstance(since, pa.ChunkedArray) else since
        cols[CONTENT_SINCE] = pa.array(since, from_pandas=True).cast(pa.string())
    cols["rid"] = pa.array(np.arange(len(cols["source"]), dtype=np.int64))
    table = pa.table(cols)
    if CONTENT_SINCE not in given:
        table = _with_content_since(table)
    return table


def _column_names(frame: pd.DataFrame | pa.Table) -> list[str]:
    return frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)


def content_hash_sql(columns) -> str:
    """SQL hash of a record's content (``columns`` present in the relation it is used on)."""
    return "hash(" + ", ".join(f'"{c}"' for c in columns) + ")" if columns else "hash(NULL)"


def content_since_sql(rows: str, order: str = "month") -> str:
    """SQL giving ``source, record_key, content_since`` per record of ``rows`` (a relation with
    ``source, record_key, month, content_hash``, a row per record and delivered month): the
    earliest month after the last earlier month whose content differs from the latest row's.

    ``order`` picks the latest row among several of one month (a record delivered twice): the
    expression the caller's latest-row choice sorts by, e.g. ``(month, filename, row)``.
    """
    return f"""WITH l AS (SELECT source, record_key, arg_max(content_hash, {order}) AS latest_hash,
                             max(month) AS last FROM {rows} GROUP BY ALL),
        o AS (SELECT s.source, s.record_key, max(s.month) AS other FROM {rows} s
              SEMI JOIN l ON s.source = l.source AND s.record_key = l.record_key
                         AND s.content_hash <> l.latest_hash AND s.month < l.last
              GROUP BY ALL)
        SELECT s.source, s.record_key, min(s.month) AS {CONTENT_SINCE}
        FROM {rows} s LEFT JOIN o USING (source, record_key)
        WHERE o.other IS NULL OR s.month > o.other GROUP BY ALL"""


def _with_content_since(table: pa.Table) -> pa.Table:
    """``table`` (every delivered row) with each record's ``content_since`` on every row."""
    con = duckdb.connect()
    try:
        con.register("_cs_rows", table)
        con.execute(f"""CREATE TEMP TABLE _cs_seen AS SELECT source, record_key, month, rid,
                        {content_hash_sql(CONTENT_COLUMNS)} AS content_hash FROM _cs_rows""")
        return con.sql(f"""SELECT r.*, s.{CONTENT_SINCE}
            FROM _cs_rows r LEFT JOIN ({content_since_sql("_cs_seen", "(month, rid)")}) s
            USING (source, record_key) ORDER BY r.rid""").to_arrow_table()
    finally:
        con.close()


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Child ids, every record's latest row and the per-child aggregates."""
    con.execute("""CREATE TEMP TABLE _g_ids AS SELECT child_id,
                   row_number() OVER (ORDER BY child_id) AS cix
                   FROM (SELECT DISTINCT child_id::VARCHAR AS child_id FROM _g_assign)
                   """).fetchall()
    first = "a.first_month::VARCHAR" if "first_month" in _columns(con, "_g_assign") else "NULL"
    con.execute(f"""CREATE TEMP TABLE _g_all AS SELECT p.rid, i.cix, p.source, p.record_key,
                   p.month, coalesce({first}, p.month) AS first_seen,
                   (coalesce(try_cast(p.month AS INTEGER), 0)::BIGINT << 32) + p.rid AS latest
                   FROM _g_arrow p JOIN _g_assign a USING (source, record_key)
                   JOIN _g_ids i ON i.child_id = a.child_id::VARCHAR""").fetchall()
    # The latest row of each record (several months of a snapshot repeat the record).
    con.execute("""CREATE TEMP TABLE _g_rec AS SELECT cix,
                   (max(a.latest) & 4294967295)::BIGINT AS rid
                   FROM _g_all a GROUP BY source, record_key, cix""").fetchall()
    con.execute("""CREATE TEMP TABLE _g_child AS SELECT a.cix, i.child_id, a.sources,
                   r.n_records, a.first_month, a.last_month
                   FROM (SELECT cix, min(first_seen) AS first_month, max(month) AS last_month,
                                array_to_string(list_sort(list_distinct(list(source))), ',')
                                AS sources FROM _g_all GROUP BY cix) a
                   JOIN (SELECT cix, count(*) AS n_records FROM _g_rec GROUP BY cix) r
                   USING (cix) JOIN _g_ids i USING (cix)""").fetchall()
    content = ", ".join(f"p.{c}" for c in CONTENT_COLUMNS)
    con.execute(_DIGESTS.format(content=content)).fetchall()


def _candidates(
    con: duckdb.DuckDBPyConnection, trust: dict[str, tuple[str, ...]], skip: str | None
) -> None:
    """The candidate table: one row per record (latest month) of every child not in the
    relation ``skip`` (children whose values are reused)."""
    trusts = ", ".join(_trust_case(k, tuple(v)) for k, v in trust.items())
    month = f"try_cast(coalesce(p.{CONTENT_SINCE}, p.month) AS INTEGER)"
    con.execute(f"""CREATE TEMP TABLE _g_base AS SELECT r.cix, r.rid,
                    md5_number(p.source || '|' || p.record_key) & 4294967295 AS tb,
                    999999 - CASE WHEN {month} BETWEEN 0 AND 999999 THEN {month} ELSE 0 END
                    AS rec, {trusts}, {_STATUS} AS status, {_PRECISION} AS precision,
                    {_PARTS} AS parts, {", ".join(f"p.{f}" for f in _FIELDS)},
                    p.is_placeholder_name
                    FROM _g_rec r JOIN _g_arrow p USING (rid)
                    {f"ANTI JOIN {skip} k ON k.cix = r.cix" if skip else ""}""").fetchall()


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _trust_case(kind: str, order: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN '{s.replace(chr(39), '')}' THEN {i}" for i, s in enumerate(order))
    return f"CASE p.source {whens} ELSE {len(order)} END AS trust_{kind}"


def _group_sql(name: str) -> str:
    """Winning row and deciding rule per child for one field group, in two hash aggregates.

    Sort key = order keys (most significant first) << 64 | tie-break hash << 32 | row id. The
    first aggregate takes, per (child, value), the value's count and its best record's key
    (frequency is constant inside a value, so it is added afterwards); the second takes the two
    smallest keys per child: the winning record and the best record holding another value. The
    low 32 bits name the winning row. Several times faster than sorted windows on 3M rows.
    """
    _, where, value, keys = _GROUPS[name]
    shifts, shift = [], 64
    for _, _, bits in reversed(keys):
        shifts.insert(0, shift)
        shift += bits
    packed = " + ".join(
        f"(({e})::HUGEINT << {s})"
        for (rule, e, _), s in zip(keys, shifts, strict=True)
        if rule != "frequency"
    )
    freq = " ".join(
        f"+ (({e})::HUGEINT << {s})"
        for (rule, e, _), s in zip(keys, shifts, strict=True)
        if rule == "frequency"
    )
    part = "(({k} >> {s}) & {m})"
    decided = " ".join(
        f"WHEN {part.format(k='k[1]', s=s, m=(1 << b) - 1)} <> "
        f"{part.format(k='k[2]', s=s, m=(1 << b) - 1)} THEN {RULES.index(rule)}"
        for (rule, _, b), s in zip(keys, shifts, strict=True)
    )
    return f"""SELECT cix, (k[1] & 4294967295)::BIGINT AS rid,
               (CASE WHEN n = 1 THEN 0 WHEN n_values = 1 THEN 1 {decided}
                ELSE {len(RULES) - 1} END)::TINYINT AS rule
        FROM (SELECT cix, sum(freq) AS n, count(*) AS n_values, min(best {freq}, 2) AS k
              FROM (SELECT cix, count(*) AS freq,
                           min({packed} + (tb::HUGEINT << 32) + rid) AS best
                    FROM _g_base WHERE {where} GROUP BY cix, {value})
              GROUP BY cix)"""


def _winners(con: duckdb.DuckDBPyConnection, name: str, pos: np.ndarray) -> tuple:
    """Winning row id (or -1) and rule per child, aligned with the children table."""
    got = con.sql(_group_sql(name)).to_arrow_table()
    at = pos[got["cix"].to_numpy()]
    rid = np.full(int((pos >= 0).sum()), -1, np.int64)
    rid[at] = got["rid"].to_numpy()
    rule = np.full(len(rid), -1, np.int8)
    rule[at] = got["rule"].to_numpy()
    return rid, rule


def _take(column: pa.ChunkedArray, rid: np.ndarray) -> pa.Array:
    return column.take(pa.array(rid, mask=rid < 0))


def _assemble(table: pa.Table, children: pa.Table, winners: dict) -> tuple[pa.Table, dict]:
    """The golden table, and each field's winning values for ``_provenance``."""
    values = {
        f: _take(table[f], winners[name][0]) for name, (fs, *_) in _GROUPS.items() for f in fs
    }
    cols = {"child_id": children["child_id"], **values}
    for c in GOLDEN_COLUMNS[-4:]:
        cols[c] = children[c]
    return pa.table({c: cols[c] for c in GOLDEN_COLUMNS}), values


def _provenance(
    table: pa.Table, children: pa.Table, winners: dict, values: dict, run_id: str
) -> pa.Table:
    # Dictionary arrays throughout: few distinct values, ~20 rows per child. The winning
    # record's source and key are taken once per field group; each field keeps the children
    # whose value is not missing (a filter, cheaper than a take).
    sources = table["source"].combine_chunks().dictionary_encode()
    fields = [f for fs, _, _, _ in _GROUPS.values() for f in fs]
    child_id = children["child_id"].combine_chunks()
    parts = []
    for name, (group_fields, _, _, _) in _GROUPS.items():
        rid, rule = winners[name]
        won = pa.array(np.maximum(rid, 0))  # masked below: a field of a -1 row is missing
        group = {
            "child_id": child_id,
            "value_source": sources.take(won),
            "value_record_key": table["record_key"].take(won),
            "rule": _dict(np.maximum(rule, 0), list(RULES)),
        }
        for f in group_fields:
            valid = pc.is_valid(values[f])
            n = pc.sum(valid.cast(pa.int64())).as_py() or 0
            part = {k: v.filter(valid) for k, v in group.items()}
            part["field"] = _dict(np.full(n, fields.index(f), np.int8), fields)
            part["run_id"] = _dict(np.zeros(n, np.int8), [str(run_id)])
            parts.append(pa.table({c: part[c] for c in PROVENANCE_COLUMNS}))
    return pa.concat_tables(parts)


def _dict(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8()), pa.array(values))
