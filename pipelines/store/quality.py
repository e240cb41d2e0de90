"""Data-quality and linkage-quality tables: counts per source, month and source pair only.

Published to analytics (and its Parquet copy) next to the analysts' model. They carry no
identifiers, no record keys and no values: only source names, reporting months, the standard's
field and rule names, and counts. A source appears only if its agreement lets its presence be
published to analytics (``person.presence``).

* ``quality_summary``: per source, reporting month and delivered table (``raw_table``; one
  standard table each): ``rows_in = standardised + excluded_not_children + quarantined``, the
  quarantined rows split by the step that kept them out (reading, conforming, validation).
  ``run_id`` is the run that standardised that month.
* ``quarantine_by_rule``: quarantine entries per source, month, field, rule and action. An
  entry is a row kept out of linkage (``action = 'row'``) or one value nulled (``'value'``): a
  row can fail several rules, so entries need not add up to ``quarantined``.
* ``link_quality``: per pair of sources (``source_l <= source_r``; a source with itself is a
  within-agency duplicate): linked pairs (match probability at or above the threshold, before
  clustering) and their mean probability.
* ``link_coverage``: per source: linked records, the children they belong to, the records whose
  child also has a record from another source, and that share (``link_rate``).
"""

from __future__ import annotations

import duckdb

from pipelines.store.agreements import Agreement, permitting, sql_source_in
from schemas.columns import SOURCES
from sources.standardise import ACCOUNTING_COLUMNS

# Standardisation accounting (``work/standard/<source>/accounting``), one row per delivered table:
# the standardiser's own columns plus the month and run that ``pipelines.stages`` adds.
ACCOUNTING = (ACCOUNTING_COLUMNS[0], "month", *ACCOUNTING_COLUMNS[1:], "run_id")
# Linked pairs per source pair (``work/linkage/pair_summary.parquet``).
PAIR_SUMMARY = ("source_l", "source_r", "pairs", "mean_probability")
QUALITY_TABLES = ("quality_summary", "quarantine_by_rule", "link_quality", "link_coverage")
_STEPS = ("quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate")
# Columns holding the standard's own vocabulary: never mistaken for a person's name by the scan.
_CODED = {
    "quality_summary": ("source", "raw_table", "standard_table"),
    "quarantine_by_rule": ("source", "field", "rule", "action"),
}


def _n(col: str) -> str:
    return f"coalesce(sum(TRY_CAST({col} AS BIGINT)), 0)::BIGINT"


def build_quality_tables(
    con: duckdb.DuckDBPyConnection, agreements: dict[str, Agreement]
) -> dict[str, str]:
    """The SELECTs yielding each quality table (after :func:`~pipelines.store.staging.stage`,
    which registers ``in_quality``, ``in_link_quality``, ``in_quarantine`` and ``xref``)."""
    shown = permitting(agreements, "person", "presence", "analytics")
    src = sql_source_in(shown, "source::VARCHAR")
    steps = " + ".join(_n(c) for c in _STEPS)
    return {
        "quality_summary": f"""
            SELECT source::VARCHAR AS source, month::VARCHAR AS month,
                   "table"::VARCHAR AS raw_table, standard_table::VARCHAR AS standard_table,
                   {_n("rows_in")} AS rows_in, {_n("standardised")} AS standardised,
                   {_n("excluded")} AS excluded_not_children, ({steps})::BIGINT AS quarantined,
                   {", ".join(f"{_n(c)} AS {c}" for c in _STEPS)},
                   max(run_id::VARCHAR) AS run_id
            FROM in_quality WHERE {src} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3""",
        "quarantine_by_rule": f"""
            SELECT source::VARCHAR AS source, month::VARCHAR AS month, field::VARCHAR AS field,
                   rule::VARCHAR AS rule, action::VARCHAR AS action, count(*)::BIGINT AS entries
            FROM in_quarantine WHERE {src} GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""",
        "link_quality": f"""
            SELECT least(l, r) AS source_l, greatest(l, r) AS source_r,
                   sum(n)::BIGINT AS linked_pairs,
                   round(sum(n * p) / nullif(sum(n), 0), 4)::DOUBLE AS mean_probability
            FROM (SELECT source_l::VARCHAR AS l, source_r::VARCHAR AS r,
                         TRY_CAST(pairs AS BIGINT) AS n,
                         TRY_CAST(mean_probability AS DOUBLE) AS p
                  FROM in_link_quality)
            WHERE {sql_source_in(shown, "l")} AND {sql_source_in(shown, "r")} AND n > 0
            GROUP BY 1, 2 ORDER BY 1, 2""",
        "link_coverage": _coverage(shown),
    }


def _coverage(shown: list[str]) -> str:
    """``link_coverage``: one pass over the linked records counts each child's records per
    source (the sources are a closed vocabulary), then each source is read off those counts."""
    mine = [s for s in SOURCES if s in shown]
    if not mine:
        return """SELECT NULL::VARCHAR AS source, 0::BIGINT AS records, 0::BIGINT AS children,
                         0::BIGINT AS linked_to_other_source, 0::DOUBLE AS link_rate LIMIT 0"""
    counts = ", ".join(
        f"count(*) FILTER (WHERE source = '{s}') AS n{i}" for i, s in enumerate(mine)
    )
    total = " + ".join(f"n{i}" for i in range(len(mine)))
    per_source = " UNION ALL ".join(
        f"""SELECT '{s}' AS source, sum(n{i})::BIGINT AS records,
                   count(*) FILTER (WHERE n{i} > 0)::BIGINT AS children,
                   coalesce(sum(n{i}) FILTER (WHERE {total} > n{i}), 0)::BIGINT
                     AS linked_to_other_source FROM c"""
        for i, s in enumerate(mine)
    )
    return f"""
        WITH c AS (SELECT {counts} FROM xref WHERE {sql_source_in(mine)} GROUP BY child_id)
        SELECT *, round(linked_to_other_source / records, 4)::DOUBLE AS link_rate
        FROM ({per_source}) WHERE records > 0 ORDER BY source"""


def quality_vocabulary(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> set[str]:
    """Coded values the quality tables publish (sources, tables, fields, rules, actions), read
    from the relations holding them (table name -> relation in ``con``)."""
    parts = [
        f"SELECT DISTINCT {c}::VARCHAR FROM {relations[t]}" for t, cs in _CODED.items() for c in cs
    ]
    return {r[0] for r in con.execute(" UNION ".join(parts)).fetchall() if r[0] is not None}
