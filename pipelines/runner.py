"""`teumtem run`: execute the Dagster asset graph in-process over an incoming folder."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.partitions import REPORTING_MONTH
from pipelines.definitions import build_defs
from pipelines.resources import TeumtemStore
from sources.base import ExtractError
from sources.landing import discover


@dataclass
class LoadSummary:
    """What one load did, for the operator's terminal."""

    load_id: str
    store: Path
    seconds: float = 0.0
    months: list[str] = field(default_factory=list)
    stages: dict[str, dict] = field(default_factory=dict)

    def text(self) -> str:
        months = ", ".join(self.months) or "none"
        lines = [f"load {self.load_id} finished in {self.seconds:.1f} s (months: {months})"]
        for name, meta in self.stages.items():
            shown = ", ".join(f"{k}={v}" for k, v in meta.items() if not k.startswith("dagster/"))
            lines.append(f"  {name:<32} {shown}")
        lines.append(f"published store: {self.store}")
        for name in ("identity.duckdb", "analytics.duckdb", "parquet"):
            lines.append(f"  {self.store / name}")
        return "\n".join(lines)


def _unwrap(err: BaseException) -> BaseException:
    """The user-code error inside Dagster's wrappers (an ExtractError, say)."""
    stack, seen = [err], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ExtractError):
            return e
        stack.extend([e.__cause__, e.__context__, getattr(e, "user_exception", None)])
    return err


def _collect(result: dg.ExecuteInProcessResult, summary: LoadSummary, month: str | None) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        name = "/".join(mat.asset_key.path) + (f" [{month}]" if month else "")
        summary.stages[name] = {k: v.value for k, v in mat.metadata.items()}


def run_load(
    incoming: Path,
    store: Path,
    progress=print,
    retrain: bool = False,
    full_relink: bool = False,
) -> LoadSummary:
    """Run the whole graph (ingest → standardise → link → golden → publish) on `incoming`.

    Linkage is incremental (new and changed records only) unless ``full_relink`` or ``retrain``.
    """
    start = time.perf_counter()
    if not incoming.is_dir():
        raise ExtractError(
            str(incoming), "incoming folder does not exist", "Check the --incoming path."
        )
    store.mkdir(parents=True, exist_ok=True)
    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = LoadSummary(load_id=load_id, store=store)
    resources = {"store": TeumtemStore(incoming_dir=str(incoming), store_dir=str(store))}
    defs = build_defs(resources)
    instance = dg.DagsterInstance.ephemeral()
    found = discover(incoming)
    found = found[found["source"].notna()]
    months = sorted(found["month"].unique())
    if not months and not (store / "current").exists():
        raise ExtractError(
            str(incoming),
            "no extract files named as in the contract (e.g. schools/bma_students_YYYYMM.csv)",
            "Check the --incoming folder layout; nothing was published.",
        )
    summary.months = months
    instance.add_dynamic_partitions(REPORTING_MONTH.name, months)
    tags = {
        "teumtem/load_id": load_id,
        "teumtem/retrain": str(retrain).lower(),
        "teumtem/full_relink": str(full_relink).lower(),
    }
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    ingest_job = defs.resolve_job_def("ingest_month")
    for month in months:
        sources = sorted(found.loc[found["month"] == month, "source"].unique())
        progress(
            f"[{time.perf_counter() - start:6.1f}s] month {month}: "
            f"landing and standardising {', '.join(sources)}"
        )
        selection = [f"raw/{s}" for s in sources] + [f"standard/{s}" for s in sources]
        try:
            result = ingest_job.execute_in_process(
                instance=instance,
                partition_key=month,
                tags=tags,
                run_config=quiet,
                asset_selection=[dg.AssetKey.from_user_string(s) for s in selection],
            )
        except Exception as err:  # noqa: BLE001 - re-raised as the user error it wraps
            raise _unwrap(err) from None
        _collect(result, summary, month)
    progress(f"[{time.perf_counter() - start:6.1f}s] linking, building golden records, publishing")
    try:
        result = defs.resolve_job_def("link_and_publish").execute_in_process(
            instance=instance, tags=tags, run_config=quiet
        )
    except Exception as err:  # noqa: BLE001
        raise _unwrap(err) from None
    _collect(result, summary, None)
    summary.seconds = time.perf_counter() - start
    return summary


@dataclass
class EvaluationReport:
    """Linkage quality of a published store against a generator's truth."""

    metrics: dict

    def text(self) -> str:
        m = self.metrics
        return "\n".join(
            [
                f"linkage quality against truth ({m['records']:,} records, "
                f"coverage {m['coverage']:.4f}):",
                f"  pairwise precision {m['precision']:.4f}  recall {m['recall']:.4f}"
                f"  F1 {m['f1']:.4f}",
                f"  B-cubed  precision {m['bcubed_precision']:.4f}  recall {m['bcubed_recall']:.4f}"
                f"  F1 {m['bcubed_f1']:.4f}",
                f"  twins merged {m['twins_merged']} of {m['twin_pairs']} twin pairs;"
                f" largest cluster {m['cluster_size_max']}",
            ]
        )


def _truth(truth_dir: Path):
    import pandas as pd

    records = pd.read_parquet(truth_dir / "records.parquet")
    persons = pd.read_parquet(truth_dir / "persons.parquet")
    return records[records["is_child"]].drop_duplicates(["source", "record_key"]), persons


def evaluate_store(store: Path, truth_dir: Path) -> EvaluationReport:
    """Pairwise and B-cubed precision/recall/F1 and twins merged of a published store."""
    import duckdb

    from linkage.evaluate import evaluate

    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        xref = con.sql("select source, record_key, child_id as cluster_id from source_xref").df()
    records, persons = _truth(truth_dir)
    metrics = evaluate(xref, records[["source", "record_key", "person_id"]], persons)
    return EvaluationReport({k: v for k, v in metrics.items() if k != "cluster_sizes"})


def plain_splink_on_store(store: Path, truth_dir: Path) -> dict:
    """Plain Splink (generic comparisons, connected components) on the store's standard records."""
    from linkage.baselines import exact_pid_baseline, plain_splink_baseline
    from linkage.evaluate import evaluate
    from pipelines.stages import linkage_persons
    from pipelines.workarea import WorkArea

    # Timed like the link stage: from reading the standardised records to clusters.
    start = time.perf_counter()
    persons = linkage_persons(WorkArea(store))
    plain = plain_splink_baseline(persons, seed=42)
    seconds = time.perf_counter() - start
    records, truth_persons = _truth(truth_dir)
    truth = records[["source", "record_key", "person_id"]]
    exact = exact_pid_baseline(persons)
    p = evaluate(plain, truth, truth_persons)
    e = evaluate(exact, truth, truth_persons)
    return {
        "link_seconds": seconds,
        "f1": p["f1"],
        "precision": p["precision"],
        "recall": p["recall"],
        "twins_merged": p["twins_merged"],
        "exact_pid_f1": e["f1"],
        "exact_pid_precision": e["precision"],
        "exact_pid_recall": e["recall"],
    }


def store_status(store: Path) -> str:
    """The published version and the last runs, for a data officer."""
    from pipelines.store.loadlog import read_load_log
    from pipelines.store.publish import current_version, list_versions, read_manifest

    current = current_version(store)
    if current is None:
        return f"{store}: nothing published yet"
    manifest = read_manifest(current)
    lines = [
        f"published version: {current.name} (run {manifest.get('run_id')})",
        f"  versions kept: {', '.join(v.name for v in list_versions(store))}",
    ]
    log = read_load_log(store)
    if len(log):
        runs = (
            log.groupby("run_id", as_index=False)
            .agg(
                files=("file", "nunique"),
                rows_in=("rows_in", "sum"),
                quarantined=("quarantined", "sum"),
                finished=("finished_at", "max"),
            )
            .sort_values("finished")
            .tail(5)
        )
        lines.append("last runs:")
        for r in runs.itertuples():
            lines.append(
                f"  {r.run_id}  files={r.files} rows_in={r.rows_in} "
                f"quarantined={r.quarantined} finished={r.finished}"
            )
    return "\n".join(lines)


def review_command(store: Path, args) -> str:
    """`teumtem review list|show|decide`: the queue lives in the durable linkage state."""
    import duckdb

    from linkage import review
    from pipelines.stages import linkage_persons
    from pipelines.workarea import WorkArea

    work = WorkArea(store)
    if not work.state_db.exists():
        return "no linkage state yet: run a load first"
    with duckdb.connect(str(work.state_db)) as con:
        if args.action == "list":
            queue = review.list_queue(con, limit=args.limit)
            return queue.to_string(index=False) if len(queue) else "review queue is empty"
        if not args.pair:
            raise SystemExit("--pair UID_L UID_R is required")
        if args.action == "show":
            return review.describe_pair(con, linkage_persons(work), *args.pair).to_string()
        if not (args.decision and args.reviewer):
            raise SystemExit("--decision and --reviewer are required")
        pair_id = review.record_decision(con, *args.pair, args.decision, args.reviewer, args.reason)
        return (
            f"recorded {args.decision} for pair {pair_id} by {args.reviewer}; "
            "it is applied on the next load"
        )


def audit_command(store: Path, args) -> str:
    """`teumtem audit child|run|columns|runs`: an auditor's questions about the store."""
    import json

    from pipelines.store import audit
    from pipelines.store.loadlog import read_load_log

    if args.question == "runs":
        log = read_load_log(store)
        return log.groupby("run_id")["file"].nunique().to_string() if len(log) else "no runs"
    if not args.subject:
        raise SystemExit(f"audit {args.question} needs a subject")
    if args.question == "child":
        return audit.agencies_for_child(store, args.subject).to_string(index=False)
    if args.question == "run":
        return json.dumps(audit.run_report(store, args.subject), indent=2, default=str)
    return audit.columns_from_source(store, args.subject).to_string(index=False)
