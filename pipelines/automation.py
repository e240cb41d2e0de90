"""Jobs, the incoming-folder sensor and the monthly schedule."""

import json

import dagster as dg

from assets.partitions import REPORTING_MONTH
from pipelines import stages
from pipelines.resources import TeumtemStore

ingest_job = dg.define_asset_job(
    "ingest_month",
    selection=dg.AssetSelection.groups("raw", "standard"),
    description="Land and standardise one reporting month of every source that delivered.",
)

link_and_publish_job = dg.define_asset_job(
    "link_and_publish",
    selection=dg.AssetSelection.groups("linkage", "store"),
    description="Link all standardised months into golden children and publish the store.",
)


@dg.sensor(job=ingest_job, minimum_interval_seconds=60)
def incoming_files(context: dg.SensorEvaluationContext, store: TeumtemStore) -> dg.SensorResult:
    """Notice newly delivered files in the incoming folder and request their months."""
    # Cursor: checksums already requested, and each file's stat and checksum (not re-read
    # while unchanged). An older cursor is the bare list of checksums.
    cursor = json.loads(context.cursor) if context.cursor else {}
    if isinstance(cursor, list):
        cursor = {"seen": cursor}
    seen, hashes = set(cursor.get("seen", [])), dict(cursor.get("hashes", {}))
    pending = stages.pending_deliveries(store.incoming, store.work, known=hashes)
    new = pending[~pending["sha256"].isin(seen)]
    if new.empty:
        return dg.SensorResult(
            skip_reason="no new deliveries",
            cursor=json.dumps({"seen": sorted(seen), "hashes": hashes}),
        )
    months = sorted(new["month"].unique())
    known = set(context.instance.get_dynamic_partitions(REPORTING_MONTH.name))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=m, run_key=f"ingest-{m}-{len(seen)}") for m in months
        ],
        dynamic_partitions_requests=[
            REPORTING_MONTH.build_add_request([m for m in months if m not in known])
        ],
        cursor=json.dumps({"seen": sorted(seen | set(new["sha256"])), "hashes": hashes}),
    )


monthly_link_schedule = dg.ScheduleDefinition(
    name="monthly_link_and_publish",
    job=link_and_publish_job,
    cron_schedule="0 2 5 * *",
    execution_timezone="Asia/Bangkok",
    description="On the 5th of each month at 02:00 Bangkok time, link and publish what has landed.",
)


def build_defs() -> dg.Definitions:
    return dg.Definitions(
        jobs=[ingest_job, link_and_publish_job],
        sensors=[incoming_files],
        schedules=[monthly_link_schedule],
    )
