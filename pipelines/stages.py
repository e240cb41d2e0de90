"""The stages of a load as plain functions over a store's work area (no Dagster here).

Each Dagster asset calls one of these and turns its report into asset metadata; `teumtem run`
reaches them through the same assets. Reports carry counts only: never names, PIDs or phones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.workarea import WorkArea, write_parquet_atomic
from schemas.columns import EVENT_TABLES, PERSON, QUARANTINE
from sources.base import ExtractError
from sources.landing import RawZone, discover, land_incoming, sha256_file
from sources.registry import SOURCES as SOURCE_MODULES
from sources.standardise import standardise as standardise_batch


@dataclass
class Report:
    """Figures a data officer looks at after a stage; becomes Dagster metadata."""

    seconds: float = 0.0
    figures: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        meta = {k: v for k, v in self.figures.items() if isinstance(v, (int, float, str, bool))}
        if "rows" in self.figures:
            meta["dagster/row_count"] = int(self.figures["rows"])
        meta["seconds"] = round(self.seconds, 2)
        return meta


def _timed(fn):
    def wrapper(*args, **kwargs) -> Report:
        start = time.perf_counter()
        report = fn(*args, **kwargs)
        report.seconds = time.perf_counter() - start
        return report

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# --------------------------------------------------------------------------------------- ingest
def pending_deliveries(incoming: Path, work: WorkArea) -> pd.DataFrame:
    """Recognised files in the incoming folder whose bytes have not been landed under that name."""
    found = discover(incoming)
    found = found[found["status"] == "ok"]
    zone = RawZone(work.raw)
    sha = [sha256_file(Path(p)) for p in found["path"]]
    found = found.assign(sha256=pd.Series(sha, index=found.index, dtype="str"))
    fresh = [zone.prior(s, f)[0] in ("new", "restored") for s, f in zip(sha, found["file"], strict=True)]
    return found[pd.Series(fresh, index=found.index, dtype=bool)]


@_timed
def ingest(source: str, month: str, incoming: Path, work: WorkArea, run_id: str) -> Report:
    """Land every file of one source and month in the raw zone; duplicates by checksum are skipped.

    Raises:
        ExtractError: a file could not be used (named, with the problem); the delivery is kept
            in the raw zone's `_deliveries/` and recorded as rejected in the manifest.
    """
    landed = land_incoming(incoming, RawZone(work.raw), run_id, source=source, month=month)
    rejected = landed[landed["status"] == "rejected"]
    if len(rejected):
        first = rejected.iloc[0]
        more = f" (and {len(rejected) - 1} more file(s))" if len(rejected) > 1 else ""
        raise ExtractError(str(first["file"]), str(first["reason"]) + more,
                           "The delivery is kept in the raw zone; fix or re-request the file and run again.")
    by_status = landed["status"].value_counts().to_dict()
    return Report(figures={
        "files": len(landed),
        "files_landed": int(by_status.get("landed", 0)),
        "files_unchanged": int(by_status.get("unchanged", 0)),
        "duplicate_deliveries": int(by_status.get("duplicate", 0)),
        "rows": int(landed["rows"].fillna(0).sum()),
        "rows_quarantined_on_read": int(landed["quarantined"].fillna(0).sum()),
    })


# ---------------------------------------------------------------------------------- standardise
@_timed
def standardise(source: str, month: str, work: WorkArea, run_id: str) -> Report:
    """Conform one source's month to the standard; write persons, events and quarantine."""
    zone = RawZone(work.raw)
    module = SOURCE_MODULES[source]
    raw = zone.read_batch(source, month)
    result = standardise_batch(module, raw, month, run_id)
    write_parquet_atomic(result.persons, work.standard_file(source, "persons", month))
    for table, frame in result.events.items():
        write_parquet_atomic(frame, work.standard_file(source, table, month))
    write_parquet_atomic(result.quarantine, work.standard_file(source, "quarantine", month))
    accounting = result.accounting.assign(source=source, month=month, run_id=run_id)
    write_parquet_atomic(accounting, work.standard_file(source, "accounting", month))
    rows_in = int(accounting["rows_in"].sum())
    by_rule = result.quarantine.groupby("rule").size().to_dict() if len(result.quarantine) else {}
    figures = {"rows_in": rows_in, "rows": len(result.persons),
               "excluded_not_children": int(accounting["excluded"].sum()),
               "quarantined_rows": int(accounting[["quarantined_on_read", "quarantined_on_conform",
                                                   "quarantined_on_validate"]].sum().sum()),
               "quarantine_entries": len(result.quarantine)}
    figures.update({f"quarantined/{k}": int(v) for k, v in sorted(by_rule.items())})
    return Report(figures=figures)


def check_standard(source: str, month: str | None, work: WorkArea) -> list[str]:
    """Problems that must stop a source from reaching linkage (empty list = fine)."""
    problems = []
    files = work.standard_files(source, "persons")
    if month is not None:
        files = [f for f in files if f.name == f"month={month}.parquet"]
    for f in files:
        persons = pd.read_parquet(f)
        missing = set(PERSON) - set(persons.columns)
        if missing:
            problems.append(f"{f.name}: missing columns {sorted(missing)}")
        if persons.duplicated(["source", "record_key"]).any():
            problems.append(f"{f.name}: duplicate record keys")
    return problems


def read_standard(work: WorkArea, table: str, latest_per_key: list[str] | None = None) -> pd.DataFrame:
    """All months of one standard table across sources (latest month wins per key when given)."""
    frames = [
        pd.read_parquet(f)
        for src in SOURCE_MODULES
        for f in work.standard_files(src, table)
    ]
    if not frames:
        columns = {"persons": PERSON, "quarantine": QUARANTINE}.get(table, EVENT_TABLES.get(table, ()))
        return pd.DataFrame(columns=list(columns))
    frame = pd.concat(frames, ignore_index=True)
    if latest_per_key:
        frame = frame.sort_values("month").drop_duplicates(latest_per_key, keep="last")
    return frame.reset_index(drop=True)


def summary_row(report: Report) -> dict:
    return asdict(report)
