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
    fresh = [
        zone.prior(s, f)[0] in ("new", "restored") for s, f in zip(sha, found["file"], strict=True)
    ]
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
        raise ExtractError(
            str(first["file"]),
            str(first["reason"]).removeprefix(f"{first['file']}: ") + more,
            "The delivery is kept in the raw zone; fix or re-request the file and run again.",
        )
    by_status = landed["status"].value_counts().to_dict()
    return Report(
        figures={
            "files": len(landed),
            "files_landed": int(by_status.get("landed", 0)),
            "files_unchanged": int(by_status.get("unchanged", 0)),
            "duplicate_deliveries": int(by_status.get("duplicate", 0)),
            "rows": int(landed["rows"].fillna(0).sum()),
            "rows_quarantined_on_read": int(landed["quarantined"].fillna(0).sum()),
        }
    )


# ---------------------------------------------------------------------------------- standardise
@_timed
def standardise(source: str, month: str, work: WorkArea, run_id: str) -> Report:
    """Conform one source's month to the standard; write persons, events and quarantine."""
    zone = RawZone(work.raw)
    module = SOURCE_MODULES[source]
    raw = zone.read_batch(source, month)
    if not raw.tables:
        # Every file of the month was a duplicate of an earlier delivery: nothing new to conform.
        return Report(figures={"rows_in": 0, "rows": 0, "note": "nothing new landed for this month"})
    result = standardise_batch(module, raw, month, run_id)
    write_parquet_atomic(result.persons, work.standard_file(source, "persons", month))
    for table, frame in result.events.items():
        write_parquet_atomic(frame, work.standard_file(source, table, month))
    write_parquet_atomic(result.quarantine, work.standard_file(source, "quarantine", month))
    accounting = result.accounting.assign(source=source, month=month, run_id=run_id)
    write_parquet_atomic(accounting, work.standard_file(source, "accounting", month))
    rows_in = int(accounting["rows_in"].sum())
    by_rule = result.quarantine.groupby("rule").size().to_dict() if len(result.quarantine) else {}
    figures = {
        "rows_in": rows_in,
        "rows": len(result.persons),
        "excluded_not_children": int(accounting["excluded"].sum()),
        "quarantined_rows": int(
            accounting[["quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate"]]
            .sum()
            .sum()
        ),
        "quarantine_entries": len(result.quarantine),
    }
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


def read_standard(
    work: WorkArea, table: str, latest_per_key: list[str] | None = None
) -> pd.DataFrame:
    """All months of one standard table across sources (latest month wins per key when given)."""
    frames = [pd.read_parquet(f) for src in SOURCE_MODULES for f in work.standard_files(src, table)]
    if not frames:
        columns = {"persons": PERSON, "quarantine": QUARANTINE}.get(
            table, EVENT_TABLES.get(table, ())
        )
        return pd.DataFrame(columns=list(columns))
    frame = pd.concat(frames, ignore_index=True)
    if latest_per_key:
        frame = frame.sort_values("month").drop_duplicates(latest_per_key, keep="last")
    return frame.reset_index(drop=True)


def summary_row(report: Report) -> dict:
    return asdict(report)


# -------------------------------------------------------------------------------------- linkage
REVIEW_LOWER, MATCH_THRESHOLD, REVIEW_UPPER = 0.2, 0.5, 0.95
MODEL_FILE = "model.json"


def linkage_persons(work: WorkArea) -> pd.DataFrame:
    """Every record to link: the latest month of each (source, record_key)."""
    return read_standard(work, "persons", latest_per_key=["source", "record_key"])


def model_artefact(work: WorkArea, persons: pd.DataFrame, retrain: bool = False):
    """The current model; trained only when there is none or a retrain was asked for."""
    from linkage.model import ModelArtefact, train

    path = work.linkage / MODEL_FILE
    if path.exists() and not retrain:
        return ModelArtefact.load(path), False
    artefact = train(persons, seed=42)
    artefact.save(work.linkage / f"model-{artefact.sha256[:12]}.json")
    artefact.save(path)
    return artefact, True


def _next_state(work: WorkArea):
    """A working copy of the linkage state; the durable copy changes only when a publish succeeds."""
    import shutil

    import duckdb

    work.next_state_db.unlink(missing_ok=True)
    if work.state_db.exists():
        shutil.copyfile(work.state_db, work.next_state_db)
    return duckdb.connect(str(work.next_state_db))


@_timed
def link(work: WorkArea, run_id: str, max_cluster_size: int = 12, retrain: bool = False) -> Report:
    """Score, cluster and assign stable child ids to every standardised record."""
    from linkage import registry, review
    from linkage.cluster import cluster_records
    from linkage.predict import predict
    from linkage.prepare import prepare

    persons = linkage_persons(work)
    prepared = prepare(persons)
    artefact, trained = model_artefact(work, prepared, retrain)
    pairs = predict(prepared, artefact, threshold=REVIEW_LOWER)
    with _next_state(work) as con:
        applied = review.apply_decisions(con, pairs, prepared["unique_id"])
        result = cluster_records(
            prepared,
            applied.pairs,
            MATCH_THRESHOLD,
            lower=REVIEW_LOWER,
            upper=REVIEW_UPPER,
            max_cluster_size=max_cluster_size,
            cannot_link=applied.cannot_link,
        )
        queued = review.queue_pairs(
            con, _review_frame(result), REVIEW_LOWER, REVIEW_UPPER, run_id=run_id
        )
        assigned = registry.assign_ids(
            con, result.clusters, run_id, reason_context=f"model {artefact.sha256[:12]}"
        )
    assignments = assigned.assignments.merge(
        result.clusters[["source", "record_key", "cluster_size"]], on=["source", "record_key"]
    )
    write_parquet_atomic(assignments, work.linkage / "assignments.parquet")
    write_parquet_atomic(
        _pair_summary(applied.pairs, assignments), work.linkage / "pair_summary.parquet"
    )
    sizes = result.clusters.drop_duplicates("cluster_id")["cluster_size"]
    return Report(
        figures={
            "rows": len(prepared),
            "children": int(assignments["child_id"].nunique()),
            "scored_pairs": len(pairs),
            "linked_pairs": int((applied.pairs["match_probability"] >= MATCH_THRESHOLD).sum()),
            "largest_cluster": int(sizes.max()) if len(sizes) else 0,
            "singletons": int((sizes == 1).sum()),
            "refused_unions": len(result.conflicts),
            "review_queued": int(queued.get("queued", 0)) if isinstance(queued, dict) else 0,
            "forced_links": int(applied.pairs.get("forced", pd.Series(dtype=bool)).sum()),
            "never_links": len(applied.cannot_link),
            "model_sha256": artefact.sha256[:12],
            "model_trained_this_run": trained,
            **{f"children_{k}": int(v) for k, v in assigned.counts.items()},
        }
    )


# Refused unions worth a clerk's time: roster and size refusals are certain (two entries of one
# register), and at 100k children they are most of the ~20k refusals.
REVIEWED_REFUSALS = ("twin", "sibling", "unnamed", "pid")


def _review_frame(result) -> pd.DataFrame:
    band = result.review_candidates.assign(review_reason="uncertain_band")
    refused = result.conflicts[result.conflicts["reason"].isin(REVIEWED_REFUSALS)]
    refused = refused.rename(columns={"reason": "review_reason"})
    refused = refused.assign(
        review_reason="conflict_refused:" + refused["review_reason"].astype("str")
    )
    return pd.concat([band, refused], ignore_index=True)


def _pair_summary(pairs: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Linked pairs per source pair with their mean probability (no record keys)."""
    linked = pairs[pairs["match_probability"] >= MATCH_THRESHOLD]
    src = lambda s: s.str.split("|", n=1).str[0]  # noqa: E731
    return (
        linked.assign(source_l=src(linked["unique_id_l"]), source_r=src(linked["unique_id_r"]))
        .groupby(["source_l", "source_r"], as_index=False)
        .agg(pairs=("match_probability", "size"), mean_probability=("match_probability", "mean"))
    )


def largest_cluster(work: WorkArea) -> int:
    path = work.linkage / "assignments.parquet"
    if not path.exists():
        return 0
    a = pd.read_parquet(path, columns=["child_id"])
    return int(a["child_id"].value_counts().max()) if len(a) else 0


# --------------------------------------------------------------------------------------- golden
@_timed
def golden(work: WorkArea, run_id: str) -> Report:
    """Golden record per child with field-level provenance."""
    from linkage.golden import build_golden

    persons = linkage_persons(work)
    assignments = pd.read_parquet(work.linkage / "assignments.parquet")
    result = build_golden(persons, assignments, run_id)
    write_parquet_atomic(result.golden, work.golden / "golden.parquet")
    write_parquet_atomic(result.provenance, work.golden / "provenance.parquet")
    g = result.golden
    return Report(
        figures={
            "rows": len(g),
            "with_valid_pid": int((g["pid_status"] == "valid").sum()),
            "with_day_birth_date": int((g["birth_date_precision"] == "day").sum()),
            "multi_source_children": int((g["n_records"] > 1).sum()) if "n_records" in g else 0,
        }
    )


# -------------------------------------------------------------------------------------- publish
def _reporting_date(months: pd.Series):
    latest = str(months.max()) if len(months) else pd.Timestamp.today().strftime("%Y%m")
    return (pd.Timestamp(f"{latest[:4]}-{latest[4:]}-01") + pd.offsets.MonthEnd(0)).date()


def _load_log(work: WorkArea, run_id: str) -> pd.DataFrame:
    """One row per delivered file this run landed, with the standardisation counts of its month."""
    manifest = RawZone(work.raw).manifest()
    mine = manifest[manifest["run_id"] == run_id]
    accounting = read_standard(work, "accounting")
    counts = (
        (
            accounting[accounting["run_id"] == run_id]
            .assign(
                quarantined=lambda a: a[
                    ["quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate"]
                ].sum(axis=1)
            )
            .groupby(["source", "month"], as_index=False)[
                ["rows_in", "standardised", "quarantined"]
            ]
            .sum()
        )
        if len(accounting)
        else pd.DataFrame(columns=["source", "month", "rows_in", "standardised", "quarantined"])
    )
    files = mine.drop_duplicates(["source", "file"]).assign(
        rows_in=lambda m: m["rows"].fillna(0) + m["quarantined"].fillna(0)
    )
    files = files[["source", "file", "sha256", "month", "landed_at", "rows_in"]]
    # Standardisation is counted per source and month; it belongs to a file only when the month
    # came in one file (health centres deliver one set per centre: their counts stay per month).
    single = files.groupby(["source", "month"])["file"].transform("size") == 1
    log = files.merge(counts.drop(columns="rows_in"), on=["source", "month"], how="left")
    log.loc[~single.to_numpy(), ["standardised", "quarantined"]] = pd.NA
    return log.assign(
        run_id=run_id, started_at=log["landed_at"], finished_at=pd.Timestamp.now(tz="UTC")
    )


@_timed
def publish(incoming: Path, work: WorkArea, run_id: str) -> Report:
    """Publish identity, analytics and Parquet atomically; promote the linkage state on success."""
    import getpass
    import os

    import duckdb

    from pipelines.store.publish import publish as publish_store
    from pipelines.store.staging import PublishInput

    persons = linkage_persons(work)
    events = {t: read_standard(work, t, latest_per_key=None) for t in EVENT_TABLES}
    with duckdb.connect(str(work.next_state_db), read_only=True) as con:
        state = {
            t: con.sql(f"select * from {t}").df()
            for t in ("child_registry", "registry_events", "review_decisions", "review_queue")
        }
    artefact_path = work.linkage / MODEL_FILE
    model = __import__("json").loads(artefact_path.read_text()) if artefact_path.exists() else {}
    log = _load_log(work, run_id).assign(
        code_version=_code_version(),
        model_version=model.get("model_version"),
        model_sha256=model.get("sha256"),
        user=os.environ.get("TEUMTEM_USER") or getpass.getuser(),
    )
    tables = PublishInput(
        golden=pd.read_parquet(work.golden / "golden.parquet"),
        assignments=pd.read_parquet(work.linkage / "assignments.parquet"),
        persons=persons,
        events=events,
        provenance=pd.read_parquet(work.golden / "provenance.parquet"),
        quarantine=read_standard(work, "quarantine"),
        load_log=log,
        **state,
    )
    version = publish_store(work.store, tables, run_id, _reporting_date(persons["month"]))
    os.replace(work.next_state_db, work.state_db)  # the linkage state now matches what is published
    return Report(
        figures={
            "version": version.version,
            "changed": version.changed,
            "rows": int(version.rows.get("analytics.child", len(tables.golden))),
            "content_hash": version.content_hash[:12],
        }
    )


def _code_version() -> str:
    from importlib.metadata import version

    return version("teumtem")
