"""Raw zone assets: each agency's monthly delivery landed exactly as delivered."""

import dagster as dg

from assets.partitions import REPORTING_MONTH
from pipelines import stages
from pipelines.resources import TeumtemStore, load_id
from schemas.columns import SOURCES


def raw_asset(source: str) -> dg.AssetsDefinition:
    """Build the raw-zone asset of one source."""

    @dg.asset(
        key=["raw", source],
        group_name="raw",
        partitions_def=REPORTING_MONTH,
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
        kinds={"parquet"},
        description=f"Every row of {source}'s delivery for the month, as delivered, with its file, "
        "checksum and line number.",
    )
    def _raw(context: dg.AssetExecutionContext, store: TeumtemStore) -> dg.MaterializeResult:
        report = stages.ingest(
            source, context.partition_key, store.incoming, store.work, load_id(context)
        )
        return dg.MaterializeResult(metadata=report.metadata())

    return _raw


def build_defs() -> dg.Definitions:
    return dg.Definitions(assets=[raw_asset(s) for s in SOURCES])
