"""Checks a written store version must pass before it is switched to, and its content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from pipelines.store.agreements import Agreement
from pipelines.store.identity import RUN_METADATA_COLUMNS, RUN_METADATA_TABLES
from pipelines.store.privacy import connect, scan_for_identifiers

DATABASES = ("identity", "analytics")


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


def content_hash(version: Path, agreements: dict[str, Agreement]) -> tuple[str, dict[str, str]]:
    """Order-independent hash of every data table of a version (run metadata left out).

    Returns:
        The overall hash (tables + agreement file hashes) and one hash per ``<db>.<table>``.
    """
    per_table = {}
    with connect() as con:
        attach_both(con, version)
        for db in DATABASES:
            for t in _relations(con, db, views=False):
                if t in RUN_METADATA_TABLES:
                    continue
                cols = [
                    (r[0], r[1])
                    for r in con.execute(f"DESCRIBE {db}.{t}").fetchall()
                    if r[0] not in RUN_METADATA_COLUMNS
                ]
                select = ", ".join('"' + c + '"' for c, _ in cols)
                n, h = con.execute(
                    f"SELECT count(*), coalesce(sum(hash(r)::HUGEINT), 0) "
                    f"FROM (SELECT {select} FROM {db}.{t}) r"
                ).fetchone()
                per_table[f"{db}.{t}"] = hashlib.sha256(
                    json.dumps([cols, n, str(h)]).encode()
                ).hexdigest()
    basis = {"tables": per_table, "agreements": {s: a.sha256 for s, a in agreements.items()}}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest(), per_table


def _assert(name: str, ok: bool, actual, expected, assertion: str = "custom") -> dict:
    return {
        "assertion": assertion,
        "name": name,
        "success": bool(ok),
        "actual": str(actual),
        "expected": str(expected),
        "severity": "error",
    }


def check_version(version: Path, rows: dict[str, int], names: set[str]) -> dict[str, list[dict]]:
    """Re-open a written version and check it before it may be switched to.

    Returns:
        ``<db>.<table>`` -> the assertions run on it (OpenLineage DataQualityAssertions form).

    Raises:
        PublishCheckError: a row count differs, an identifier is in analytics, or the linkage
            map and the child table do not cover the same children.
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
    hits = scan_for_identifiers(
        version / "analytics.duckdb", version / "parquet" / "analytics", names
    )
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
