"""Answers to a DGA auditor's questions about a published store.

* :func:`agencies_for_child`: which agencies contributed records on a child, in which months
  and through which runs (record keys only with ``identity=True``, i.e. ``--identity`` access);
* :func:`run_report`: what one run read (files, sha256, rows) and what it published;
* :func:`columns_from_source`: which published columns derive from an agency's data, from the
  OpenLineage column lineage.

All read the store read-only and return DataFrames or dicts; printing is the CLI's job.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.store import lineage, loadlog
from pipelines.store.privacy import connect
from pipelines.store.publish import current_version


def _connect(store: Path, db: str) -> duckdb.DuckDBPyConnection:
    path = Path(store) / f"{db}.duckdb"
    if not path.exists():
        raise FileNotFoundError(f"no published {db} database in {store}")
    return connect(str(path), read_only=True)


def agencies_for_child(store: Path | str, child_id: str, identity: bool = False) -> pd.DataFrame:
    """Which agencies contributed to a child, when, and through which runs.

    Args:
        store: the store folder.
        child_id: the (pseudonymous) child id.
        identity: also list the agencies' record keys (restricted: ``--identity`` access).

    Returns:
        One row per source: ``source, n_records, first_month, last_month, months`` (list of
        YYYYMM), ``run_ids`` (runs whose load of that source and month delivered the records),
        ``linked_in_runs`` (runs that first published the links) and, with ``identity``,
        ``record_keys``.
    """
    log = loadlog.read_load_log(store)[["run_id", "source", "month"]].drop_duplicates()
    with _connect(Path(store), "identity") as con:
        con.register("log", log)
        df = con.execute(
            f"""
            WITH x AS (SELECT source, record_key, run_id,
                              unnest(coalesce(months, [NULL::VARCHAR])) AS month
                       FROM source_xref WHERE child_id = $1)
            SELECT x.source, count(DISTINCT x.record_key) AS n_records,
                   min(x.month) AS first_month, max(x.month) AS last_month,
                   list_sort(list_distinct(list(x.month))) AS months,
                   list_sort(list_distinct(list(l.run_id))) AS run_ids,
                   list_sort(list_distinct(list(x.run_id))) AS linked_in_runs
                   {
                ", list_sort(list_distinct(list(x.record_key))) AS record_keys" if identity else ""
            }
            FROM x LEFT JOIN log l ON l.source = x.source AND l.month = x.month
            GROUP BY x.source ORDER BY x.source""",
            [child_id],
        ).df()
    for c in ("months", "run_ids", "linked_in_runs", "record_keys"):
        if c in df:
            df[c] = df[c].map(list)
    return df


def run_report(store: Path | str, run_id: str) -> dict:
    """What a run read and what it published.

    Returns:
        ``run_id``, ``status`` (published | unchanged | failed | unknown), ``version``,
        ``content_hash``, ``reporting_date``, ``error`` (failed runs), ``files`` (DataFrame:
        source, file, sha256, month, rows_in, standardised, quarantined), the ``rows_in`` /
        ``standardised`` / ``quarantined`` totals, ``published`` (DataFrame: database, table,
        rows; empty unless the run published a new version) and ``events`` (OpenLineage event
        types recorded for the run).
    """
    cols = ["source", "file", "sha256", "month", "rows_in", "standardised", "quarantined"]
    files = loadlog.read_load_log(store, run_id)[cols]
    record = loadlog.read_run_record(store, run_id) or {}
    events = [
        e
        for e in lineage.read_events(store)
        if e["run"]["facets"]["teumtem_run"]["run_id"] == run_id
    ]
    if files.empty and events:  # a failed run leaves no load log: its START event lists the files
        files = pd.DataFrame(
            [
                {
                    "file": d["name"],
                    **{c: d["facets"]["teumtem_file"].get(c) for c in cols if c != "file"},
                }
                for d in events[0].get("inputs", [])
            ],
            columns=cols,
        )
        files = files.astype({c: "Int64" for c in ("rows_in", "standardised", "quarantined")})
    failed = [e for e in events if e["eventType"] == "FAIL"]
    status = record.get("status") or ("failed" if failed else "unknown")
    published = pd.DataFrame(
        [
            {"database": k.split(".")[0], "table": k.split(".")[1], "rows": int(v)}
            for k, v in sorted(record.get("rows", {}).items())
        ],
        columns=["database", "table", "rows"],
    )
    return {
        "run_id": run_id,
        "status": status,
        "version": record.get("version"),
        "content_hash": record.get("content_hash"),
        "reporting_date": record.get("reporting_date"),
        "error": failed[-1]["run"]["facets"]["teumtem_run"].get("error") if failed else None,
        "files": files.reset_index(drop=True),
        **{c: int(files[c].sum()) for c in ("rows_in", "standardised", "quarantined")},
        "published": published,
        "events": [e["eventType"] for e in events],
    }


def _all_events(store: Path) -> list[dict]:
    events = lineage.read_events(store)
    if (store / "identity.duckdb").exists():
        with _connect(store, "identity") as con:
            events += [
                json.loads(r[0]) for r in con.execute("SELECT event FROM lineage_events").fetchall()
            ]
    seen, out = set(), []
    for e in events:
        key = (e["run"]["runId"], e["eventType"], e["eventTime"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def columns_from_source(store: Path | str, source: str) -> pd.DataFrame:
    """Published columns (of the current version) that derive from an agency's delivered data.

    Returns:
        One row per column: ``database, table, column, source_columns`` (the agency's delivered
        columns, sorted), ``transformation`` (IDENTITY | TRANSFORMATION | AGGREGATION),
        ``masking`` and ``runs`` (runs whose lineage records the derivation).
    """
    store = Path(store)
    current = current_version(store)
    if current is None:
        raise FileNotFoundError(f"nothing published in {store}")
    published = set()
    with connect() as con:
        for db in ("identity", "analytics"):
            con.execute(f"ATTACH '{(current / f'{db}.duckdb').as_posix()}' AS {db} (READ_ONLY)")
            published |= {
                (db, t, c)
                for t, c in con.execute(
                    f"SELECT table_name, column_name FROM duckdb_columns() "
                    f"WHERE database_name = '{db}'"
                ).fetchall()
            }
    found: dict[tuple, dict] = {}
    for e in _all_events(store):
        if e["eventType"] != "COMPLETE":
            continue
        run = e["run"]["facets"]["teumtem_run"]["run_id"]
        for ds in e.get("outputs", []):
            db, table = ds["name"].split(".", 1)
            fields = ds.get("facets", {}).get("columnLineage", {}).get("fields", {})
            for col, spec in fields.items():
                for f in spec["inputFields"]:
                    if not f["name"].startswith(f"{source}/"):
                        continue
                    t = f.get("transformations", [{}])[0]
                    row = found.setdefault(
                        (db, table, col),
                        {
                            "source_columns": set(),
                            "transformation": t.get("subtype"),
                            "masking": bool(t.get("masking")),
                            "runs": set(),
                        },
                    )
                    row["source_columns"].add(f["field"])
                    row["runs"].add(run)
    rows = [
        {
            "database": db,
            "table": t,
            "column": c,
            "source_columns": sorted(v["source_columns"]),
            "transformation": v["transformation"],
            "masking": v["masking"],
            "runs": sorted(v["runs"]),
        }
        for (db, t, c), v in sorted(found.items())
        if (db, t, c) in published
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "database",
            "table",
            "column",
            "source_columns",
            "transformation",
            "masking",
            "runs",
        ],
    )
