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
        lines = [f"load {self.load_id} finished in {self.seconds:.1f} s (months: {', '.join(self.months) or 'none'})"]
        for name, meta in self.stages.items():
            shown = ", ".join(f"{k}={v}" for k, v in meta.items() if not k.startswith("dagster/"))
            lines.append(f"  {name:<32} {shown}")
        lines.append(f"published store: {self.store}")
        for name in ("identity.duckdb", "analytics.duckdb", "parquet"):
            lines.append(f"  {self.store / name}")
        return "\n".join(lines)


def _unwrap(err: BaseException) -> BaseException:
    """The user-code error inside Dagster's wrappers (an ExtractError, say)."""
    seen = err
    while seen is not None:
        if isinstance(seen, ExtractError):
            return seen
        seen = seen.__cause__ or getattr(seen, "user_exception", None)
    return err


def _collect(result: dg.ExecuteInProcessResult, summary: LoadSummary, month: str | None) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        name = "/".join(mat.asset_key.path) + (f" [{month}]" if month else "")
        summary.stages[name] = {k: v.value for k, v in mat.metadata.items()}


def run_load(incoming: Path, store: Path, progress=print, retrain: bool = False) -> LoadSummary:
    """Run the whole graph (ingest → standardise → link → golden → publish) on `incoming`."""
    start = time.perf_counter()
    if not incoming.is_dir():
        raise ExtractError(str(incoming), "incoming folder does not exist",
                           "Check the --incoming path.")
    store.mkdir(parents=True, exist_ok=True)
    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    summary = LoadSummary(load_id=load_id, store=store)
    resources = {"store": TeumtemStore(incoming_dir=str(incoming), store_dir=str(store))}
    defs = build_defs(resources)
    instance = dg.DagsterInstance.ephemeral()
    found = discover(incoming)
    found = found[found["source"].notna()]
    months = sorted(found["month"].unique())
    summary.months = months
    instance.add_dynamic_partitions(REPORTING_MONTH.name, months)
    tags = {"teumtem/load_id": load_id, "teumtem/retrain": str(retrain).lower()}
    ingest_job = defs.resolve_job_def("ingest_month")
    for month in months:
        sources = sorted(found.loc[found["month"] == month, "source"].unique())
        progress(f"[{time.perf_counter() - start:6.1f}s] month {month}: landing and standardising {', '.join(sources)}")
        selection = [f"raw/{s}" for s in sources] + [f"standard/{s}" for s in sources]
        try:
            result = ingest_job.execute_in_process(
                instance=instance, partition_key=month, tags=tags,
                asset_selection=[dg.AssetKey.from_user_string(s) for s in selection],
            )
        except Exception as err:  # noqa: BLE001 - re-raised as the user error it wraps
            raise _unwrap(err) from None
        _collect(result, summary, month)
    progress(f"[{time.perf_counter() - start:6.1f}s] linking, building golden records, publishing")
    try:
        result = defs.resolve_job_def("link_and_publish").execute_in_process(instance=instance, tags=tags)
    except Exception as err:  # noqa: BLE001
        raise _unwrap(err) from None
    _collect(result, summary, None)
    summary.seconds = time.perf_counter() - start
    return summary
