"""Checks a written store version must pass before it is switched to, and its content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.store.agreements import Agreement
from pipelines.store.identity import RUN_METADATA_COLUMNS, RUN_METADATA_TABLES
from pipelines.store.privacy import connect, scan_for_identifiers

DATABASES = ("identity", "analytics")
_ROW_HASH = "count(*), coalesce(sum(hash(r)::HUGEINT), 0)"  # of the rows r, in any order


class PublishCheckError(RuntimeError):
    """A written version failed its checks; nothing was switched."""


def sql_path(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


def attach_both(con: duckdb.DuckDBPyConnection, version: Path) -> None:
    for db in DATABASES:
        con.execute(f"ATTACH {sql_path(version / f'{db}.duckdb')} AS {db} (READ_ONLY)")


def _relations(con, db: str, views: bool = True) -> list[str]:
    q = f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{db}'"
    if views:
        q += f" UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = '{db}'"
    return sorted(r[0] for r in con.execute(q).fetchall())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_hash(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """Order-independent hash of one relation's rows (run metadata columns left out) and of its
    column names and types."""
    cols = [
        (r[0], r[1])
        for r in con.execute(f"DESCRIBE {relation}").fetchall()
        if r[0] not in RUN_METADATA_COLUMNS
    ]
    select = ", ".join(_quote(c) for c, _ in cols)
    n, h = con.execute(f"SELECT {_ROW_HASH} FROM (SELECT {select} FROM {relation}) r").fetchone()
    return hashlib.sha256(json.dumps([cols, n, str(h)]).encode()).hexdigest()


def relation_hashes(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> dict[str, str]:
    """:func:`content_hash`'s per-table hashes, computed from relations in ``con`` before they
    are written (``<db>.<table>`` -> relation name; run metadata tables are left out)."""
    return {
        key: _table_hash(con, rel)
        for key, rel in relations.items()
        if key.split(".", 1)[1] not in RUN_METADATA_TABLES
    }


def combined_hash(per_table: dict[str, str], agreements: dict[str, Agreement]) -> str:
    """The content hash of a version: its table hashes plus the agreement file hashes."""
    basis = {"tables": per_table, "agreements": {s: a.sha256 for s, a in agreements.items()}}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def content_hash(version: Path, agreements: dict[str, Agreement]) -> tuple[str, dict[str, str]]:
    """Order-independent hash of every data table of a written version (run metadata left out).

    Returns:
        The overall hash (tables + agreement file hashes) and one hash per ``<db>.<table>``.
    """
    with connect() as con:
        attach_both(con, version)
        relations = {
            f"{db}.{t}": f"{db}.{t}" for db in DATABASES for t in _relations(con, db, views=False)
        }
        per_table = relation_hashes(con, relations)
    return combined_hash(per_table, agreements), per_table


def _parquet_differs(con: duckdb.DuckDBPyConnection, key: str, pq: Path) -> bool:
    """Whether a Parquet copy holds other rows than its table or view (every column compared,
    read back as the table's types)."""
    cols = con.execute(f"DESCRIBE {key}").fetchall()
    cast = ", ".join(f"CAST({_quote(c)} AS {t}) AS {_quote(c)}" for c, t, *_ in cols)
    table = con.execute(f"SELECT {_ROW_HASH} FROM (SELECT * FROM {key}) r").fetchone()
    copy = con.execute(
        f"SELECT {_ROW_HASH} FROM (SELECT {cast} FROM read_parquet({sql_path(pq)})) r"
    ).fetchone()
    return table != copy


def _assert(name: str, ok: bool, actual, expected, assertion: str = "custom") -> dict:
    return {
        "assertion": assertion,
        "name": name,
        "success": bool(ok),
        "actual": str(actual),
        "expected": str(expected),
        "severity": "error",
    }


def check_version(
    version: Path, rows: dict[str, int], names: set[str] | pa.Array
) -> dict[str, list[dict]]:
    """Re-open a written version and check it before it may be switched to.

    Returns:
        ``<db>.<table>`` -> the assertions run on it (OpenLineage DataQualityAssertions form).

    The identifier scan reads every analytics table once, in the database; each Parquet copy is
    proven to hold the same rows (count and an order-independent hash of every column), so it
    holds no more than what was scanned.

    Raises:
        PublishCheckError: a row count differs, a Parquet copy differs from its table, an
            identifier is in analytics, or the linkage map and the child table do not cover the
            same children.
    """
    out: dict[str, list[dict]] = {}
    with connect() as con:
        attach_both(con, version)
        for key, expected in rows.items():
            n = con.execute(f"SELECT count(*) FROM {key}").fetchone()[0]
            db, t = key.split(".")
            pq = version / "parquet" / db / f"{t}.parquet"
            n_pq = (
                con.execute(
                    f"SELECT sum(num_rows) FROM parquet_file_metadata({sql_path(pq)})"
                ).fetchone()[0]
                if pq.exists()
                else None
            )
            out[key] = [
                _assert(
                    "row count re-read equals rows written",
                    n == expected == n_pq,
                    f"{n} (parquet {n_pq})",
                    expected,
                    "row_count",
                )
            ]
            if db == "analytics" and n_pq is not None:
                # the identifier scan reads the database; its Parquet copy must hold the same rows
                differs = n != n_pq or _parquet_differs(con, key, pq)
                out[key].append(
                    _assert(
                        "Parquet copy holds the same rows",
                        not differs,
                        differs,
                        False,
                        "parquet_copy_identical",
                    )
                )
        tables = set(_relations(con, "analytics", views=False))
        cover = con.execute("""SELECT
            (SELECT count(*) FROM identity.golden_identity g ANTI JOIN identity.source_xref x
               USING (child_id)),
            (SELECT count(*) FROM (SELECT DISTINCT child_id FROM identity.source_xref) x
               ANTI JOIN identity.golden_identity g USING (child_id)),
            (SELECT count(*) FROM identity.golden_identity g ANTI JOIN analytics.child c
               USING (child_id)) + (SELECT count(*) FROM analytics.child c
               ANTI JOIN identity.golden_identity g USING (child_id)),
            (SELECT count(*) - count(DISTINCT (source, record_key)) FROM identity.source_xref)
            """).fetchone()
    labels = (
        "golden children without a source record",
        "linked records of unknown children",
        "children in only one of golden_identity and child",
        "source records linked more than once",
    )
    for label, n in zip(labels, cover, strict=True):
        out.setdefault("identity.source_xref", []).append(_assert(label, n == 0, n, 0))
    # Tables are scanned in the database, views (not stored there) through their Parquet copy.
    views = [k.split(".")[1] for k in rows if k.startswith("analytics.")]
    views = [version / "parquet" / "analytics" / f"{v}.parquet" for v in views if v not in tables]
    hits = scan_for_identifiers(version / "analytics.duckdb", None, names, parquet_files=views)
    for key in [k for k in rows if k.startswith("analytics.")]:
        mine = [h for h in hits if h.table == key.split(".")[1]]
        out[key].append(
            _assert(
                "no PIDs, G-codes, phones or names",
                not mine,
                sum(h.count for h in mine),
                0,
                "no_identifiers",
            )
        )
    failed = [
        f"{k}: {a['name']} (actual {a['actual']}, expected {a['expected']})"
        for k, v in out.items()
        for a in v
        if not a["success"]
    ]
    failed += [f"identifier scan: {h.kind} in {h.table}.{h.column} ({h.count} cells)" for h in hits]
    if failed:
        raise PublishCheckError("version failed its checks: " + "; ".join(sorted(set(failed))))
    return out


def schemas_of(version: Path) -> dict[str, list[tuple[str, str]]]:
    with connect() as con:
        attach_both(con, version)
        return {
            f"{db}.{t}": [(r[0], r[1]) for r in con.execute(f"DESCRIBE {db}.{t}").fetchall()]
            for db in DATABASES
            for t in _relations(con, db)
        }
