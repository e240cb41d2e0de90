"""The load log: one row per delivered file a run read (a PDPA s.39 record of processing).

Rows are appended to ``<store>/runs/load_log.jsonl`` (append-only, one JSON object a line) when a
run finishes, whether or not it published a new version, and every new version copies the
whole log into ``identity.duckdb`` ``load_log``. :func:`read_load_log` reads both.
Each run also leaves ``<store>/runs/<run_id>.json``: what it published (see
:func:`write_run_record`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path

import pandas as pd

from pipelines.store.privacy import connect

COLUMNS = (
    "run_id",
    "source",
    "file",
    "sha256",
    "month",
    "rows_in",
    "standardised",
    "quarantined",
    "started_at",
    "finished_at",
    "code_version",
    "model_version",
    "model_sha256",
    "user",
)
_INTS = ("rows_in", "standardised", "quarantined")
_TIMES = ("started_at", "finished_at")
KEY = ["run_id", "source", "file"]


def normalise(rows: pd.DataFrame | None, run_id: str | None = None) -> pd.DataFrame:
    """Load-log rows with every column, counts as Int64, times as UTC ISO strings.

    Args:
        rows: load-log rows (missing columns are added empty).
        run_id: fills ``run_id`` where it is missing.
    """
    df = pd.DataFrame(columns=list(COLUMNS)) if rows is None else rows.copy()
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = pd.NA
    if run_id is not None:
        df["run_id"] = df["run_id"].fillna(run_id)
    for c in _INTS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in _TIMES:
        ts = pd.to_datetime(df[c], errors="coerce", utc=True, format="mixed")
        df[c] = ts.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").astype("str")
    for c in set(COLUMNS) - set(_INTS) - set(_TIMES):
        df[c] = df[c].astype("str")
    return df[list(COLUMNS)].reset_index(drop=True)


def _runs(store: Path | str) -> Path:
    path = Path(store) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def append_load_log(store: Path | str, rows: pd.DataFrame) -> Path:
    """Append rows to ``<store>/runs/load_log.jsonl`` (locked, fsynced)."""
    path = _runs(store) / "load_log.jsonl"
    text = normalise(rows).to_json(orient="records", lines=True, force_ascii=False)
    with path.open("a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(text if text.endswith("\n") or not text else text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path


def read_load_log(store: Path | str, run_id: str | None = None) -> pd.DataFrame:
    """The whole load log of a store (published copy + append-only log), oldest first."""
    store = Path(store)
    frames = []
    identity = store / "identity.duckdb"
    if identity.exists():
        with connect(str(identity), read_only=True) as con:
            if con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'load_log'"
            ).fetchone()[0]:
                frames.append(con.execute("SELECT * FROM load_log").df())
    path = store / "runs" / "load_log.jsonl"
    if path.exists() and path.stat().st_size:
        frames.append(pd.read_json(path, lines=True, dtype=False))
    df = normalise(pd.concat(frames, ignore_index=True) if frames else None)
    df = df.drop_duplicates(KEY, keep="last").sort_values(
        ["started_at", "run_id", "source", "file"]
    )
    if run_id is not None:
        df = df[df["run_id"] == run_id]
    return df.reset_index(drop=True)


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def write_run_record(store: Path | str, record: dict) -> Path:
    """Write ``<store>/runs/<run_id>.json`` (atomically) describing what a run published."""
    path = _runs(store) / f"{_safe(record['run_id'])}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)
    return path


def read_run_record(store: Path | str, run_id: str) -> dict | None:
    """The record :func:`write_run_record` left for ``run_id``, or None."""
    path = Path(store) / "runs" / f"{_safe(run_id)}.json"
    return json.loads(path.read_text()) if path.exists() else None
