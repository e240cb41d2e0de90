"""Scan published tables for direct identifiers: PIDs, G-codes, phone numbers and names.

Every text-like column of every table (DuckDB file and Parquet files) is cut into ASCII
alphanumeric tokens after joining digit groups split by a dash or a space
(``1-1037-01234-56-7`` -> ``1103701234567``). A token is a hit when it is

* a PID: exactly 13 digits with a valid check digit (first digit 0 included: persons without
  civil-registration status carry real PIDs too);
* a G-code: ``G`` + 12 digits;
* a phone: a Thai mobile (``06``/``08``/``09`` + 8 digits), a landline (``02``-``07`` + 7
  digits) or ``+66`` + 8-9 digits;

and, when ``names`` are given, a cell is a hit when its whole value or one of its
space-separated words is one of them. Tokens mixing letters and digits (opaque ids such as
``child_id``) are not PIDs or phones. A hit reports where and how many, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

_TEXTUAL = ("VARCHAR", "BIGINT", "UBIGINT", "HUGEINT", "UHUGEINT", "DOUBLE", "DECIMAL", "JSON")
_PID_CHECK = (
    "(11 - list_sum([substr(t, i, 1)::INT * (14 - i) FOR i IN range(1, 13)]) % 11) % 10"
    " = substr(t, 13, 1)::INT"
)
KINDS = {
    "pid": f"CASE WHEN regexp_full_match(t, '[0-9]{{13}}') THEN {_PID_CHECK} ELSE FALSE END",
    "gcode": "regexp_full_match(t, '[Gg][0-9]{12}')",
    "phone": "regexp_full_match(t, '0[689][0-9]{8}|0[2-7][0-9]{7}|\\+66[0-9]{8,9}')",
}
MIN_NAME_LENGTH = 2
# Cheap first pass: only cells with 9+ digits (separators allowed), a G-code or +66 are tokenised.
_CANDIDATE = "[0-9][0-9 -]{7,}[0-9]|[Gg][0-9]{12}|[+]66"


def connect(
    database: str = ":memory:", read_only: bool = False, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that draws no progress bar (it would land in the operator's
    terminal); the setting is per connection, so files stay shareable with other openers."""
    con = duckdb.connect(database, read_only=read_only, config=config or {})
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass(frozen=True)
class Hit:
    """Identifiers found in one column: where (file, table, column), what kind, how many cells."""

    location: str
    table: str
    column: str
    kind: str
    count: int


def _tokens(col: str) -> str:
    joined = f"regexp_replace(CAST({col} AS VARCHAR), '([0-9])[- ]([0-9])', '\\1\\2', 'g')"
    joined = f"regexp_replace({joined}, '([0-9])[- ]([0-9])', '\\1\\2', 'g')"  # overlapping pairs
    return f"regexp_extract_all({joined}, '[+A-Za-z0-9]+')"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scan_relation(con, location: str, table: str, rel: str, has_names: bool) -> list[Hit]:
    described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    cols = [
        c
        for c, t in described
        if t.startswith(_TEXTUAL) or "[]" in t or t.startswith(("STRUCT", "MAP", "UNION"))
    ]
    counts: dict[tuple[str, str], int] = {}
    if cols:
        inner = ", ".join(
            f"CASE WHEN regexp_matches(CAST({_quote(c)} AS VARCHAR), '{_CANDIDATE}') "
            f"THEN {_tokens(_quote(c))} END AS tk{i}"
            for i, c in enumerate(cols)
        )
        aggs = [
            f"count(*) FILTER (WHERE len(list_filter(tk{i}, lambda t: {pred})) > 0)"
            for i in range(len(cols))
            for pred in KINDS.values()
        ]
        row = con.execute(f"SELECT {', '.join(aggs)} FROM (SELECT {inner} FROM {rel})").fetchone()
        keys = [(c, k) for c in cols for k in KINDS]
        counts.update(zip(keys, row, strict=True))
    text = [c for c, t in described if t == "VARCHAR"]
    if has_names and text:
        # words carry a value id, not the value: a long text would be copied once per word
        query = f"""
            WITH cells AS (UNPIVOT (SELECT {", ".join(_quote(c) for c in text)} FROM {rel})
                           ON COLUMNS(*) INTO NAME col VALUE v),
                 vals AS (SELECT row_number() OVER () AS id, col, v, n
                          FROM (SELECT col, v, count(*) AS n FROM cells GROUP BY ALL)),
                 words AS (SELECT id, unnest(string_split(v, ' ')) AS w FROM vals),
                 hit AS (SELECT id FROM words SEMI JOIN _names ON words.w = _names.name
                         UNION SELECT id FROM vals SEMI JOIN _names ON vals.v = _names.name)
            SELECT col, sum(n) FROM vals SEMI JOIN hit USING (id) GROUP BY col"""
        counts.update({(c, "name"): n for c, n in con.execute(query).fetchall()})
    return [Hit(location, table, c, k, int(n)) for (c, k), n in counts.items() if n]


def scan_for_identifiers(
    duckdb_path: Path | str | None,
    parquet_dir: Path | str | None,
    names: set[str] | pa.Array | None = None,
    parquet_files: Iterable[Path | str] = (),
) -> list[Hit]:
    """Find identifiers in every table of a DuckDB file and every Parquet file under a folder.

    Args:
        duckdb_path: a DuckDB database (opened read-only), or None.
        parquet_dir: a folder searched recursively for ``*.parquet``, or None.
        names: personal names to look for, a set or an Arrow array (names shorter than 2
            characters are ignored).
        parquet_files: further Parquet files to scan.

    Returns:
        One :class:`Hit` per (table, column, kind) with at least one cell found; empty if clean.
    """
    con = connect()
    try:
        if not isinstance(names, pa.Array | pa.ChunkedArray):
            names = pa.array([n for n in (names or ()) if isinstance(n, str)], pa.large_string())
        con.register("_names_given", pa.table({"name": names}))
        con.execute(f"""CREATE TEMP TABLE _names AS SELECT DISTINCT name::VARCHAR AS name
            FROM _names_given WHERE length(trim(name)) >= {MIN_NAME_LENGTH}""")
        wanted = con.execute("SELECT count(*) FROM _names").fetchone()[0] > 0
        hits: list[Hit] = []
        if duckdb_path is not None:
            con.execute(f"ATTACH {_literal(str(duckdb_path))} AS scanned (READ_ONLY)")
            tables = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
                "'scanned' ORDER BY ALL"
            ).fetchall()
            for schema, table in tables:
                hits += _scan_relation(
                    con, str(duckdb_path), table, f'scanned."{schema}"."{table}"', wanted
                )
            con.execute("DETACH scanned")
        files = sorted(Path(parquet_dir).rglob("*.parquet")) if parquet_dir is not None else []
        for f in files + [Path(f) for f in parquet_files]:
            rel = f"read_parquet({_literal(f.as_posix())})"
            hits += _scan_relation(con, str(f), f.stem, rel, wanted)
        return hits
    finally:
        con.close()
