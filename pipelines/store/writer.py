"""Compute a version's tables once in DuckDB and write them: both databases and their Parquet.

:func:`materialise` turns each published table's SELECT into a relation holding its rows (a
temporary table, or the staged input itself), so that hashing, the database file and the
Parquet copy all read the same rows without computing them again; :func:`write_version` writes
those relations into a version folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from pipelines.store.analytics_spec import VIEWS
from pipelines.store.checks import sql_path
from pipelines.store.privacy import connect

_PLAIN = re.compile(r"^SELECT \* FROM (\w+)$")
# zstd level 1, not DuckDB's default 3: at 1M children golden_provenance (13.7M rows) is
# written in 4.0 s instead of 5.4 s, and its file is smaller (179 MB instead of 190 MB).
PARQUET = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"


def materialise(
    con: duckdb.DuckDBPyConnection, selects: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """Compute every published table once, into a temporary table; ``SELECT * FROM x`` of a
    table or of a registered input is used as it is. Returns the relation holding each table's
    rows (it is then hashed, written to the database and to Parquet)."""
    stored = {
        r[0]
        for r in con.execute("""SELECT table_name FROM duckdb_tables()
            UNION ALL SELECT view_name FROM duckdb_views()
            WHERE tags['duckdb_python_register'] = 'true'""").fetchall()
    }
    out: dict[str, dict[str, str]] = {}
    for db, tables in selects.items():
        for t, q in tables.items():
            plain = _PLAIN.match(" ".join(q.split()))
            if plain and plain[1] in stored:
                rel = plain[1]
            else:
                rel = f"out_{db}_{t}"
                con.execute(f"CREATE OR REPLACE TEMP TABLE {rel} AS {q}")
            out.setdefault(db, {})[t] = rel
    return out


def write_version(
    con: duckdb.DuckDBPyConnection, target: Path, relations: dict[str, dict[str, str]]
) -> dict[str, int]:
    """Write both databases and their Parquet copies; rows written per ``<db>.<table>``.

    ``relations`` names, per database and table, the relation in ``con`` holding its rows: each
    is read twice (into the database file and into Parquet), never computed twice.
    """
    rows = {}
    # Row order is not part of a published table (hashes and checks are order-independent).
    # Without it DuckDB writes each thread's rows straight into the file: at 1M children the
    # identity database is written in 2-3 s less and is 405 MB instead of 537 MB (the ordered
    # write left ~120 MB of free blocks, which the next checkpoint spent 3-4 s on).
    con.execute("SET preserve_insertion_order = false")
    for db, tables in relations.items():
        path, pq = target / f"{db}.duckdb", target / "parquet" / db
        pq.mkdir(parents=True)
        con.execute(f"ATTACH {sql_path(path)} AS {db}")
        con.execute("BEGIN")  # one commit per database: all its tables or none, one checkpoint
        for t, rel in tables.items():
            rows[f"{db}.{t}"] = con.execute(f"CREATE TABLE {db}.{t} AS FROM {rel}").fetchone()[0]
        con.execute("COMMIT")
        con.execute(f"DETACH {db}")
        for t, rel in tables.items():
            con.execute(f"COPY {rel} TO {sql_path(pq / f'{t}.parquet')} {PARQUET}")
    con.execute("RESET preserve_insertion_order")
    with connect(str(target / "analytics.duckdb")) as an:
        for view, q in VIEWS.items():
            try:
                an.execute(f"CREATE VIEW {view} AS {q}")
            except duckdb.BinderException:  # its column was not permitted: no view
                continue
            rows[f"analytics.{view}"] = an.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            an.execute(
                f"COPY (SELECT * FROM {view}) TO "
                f"{sql_path(target / 'parquet' / 'analytics' / f'{view}.parquet')} "
                f"{PARQUET}"
            )
    os.chmod(target / "identity.duckdb", 0o640)
    os.chmod(target / "parquet" / "identity", 0o750)
    for f in (target / "parquet" / "identity").iterdir():
        os.chmod(f, 0o640)
    return rows
