"""Standardised assets: each source's month conformed to the shared child-data standard."""

import dagster as dg

from assets.partitions import REPORTING_MONTH
from pipelines import stages
from pipelines.resources import TeumtemStore, load_id
from schemas.columns import SOURCES


def standard_asset(source: str) -> dg.AssetsDefinition:
    """Build the standardised asset of one source."""

    @dg.asset(
        key=["standard", source],
        deps=[dg.AssetKey(["raw", source])],
        group_name="standard",
        partitions_def=REPORTING_MONTH,
        kinds={"parquet", "pandera"},
        description=f"{source}'s month in the shared child-data standard; rows it cannot use are "
        "quarantined with a reason.",
    )
    def _standard(context: dg.AssetExecutionContext, store: TeumtemStore) -> dg.MaterializeResult:
        report = stages.standardise(source, context.partition_key, store.work, load_id(context))
        return dg.MaterializeResult(metadata=report.metadata())

    @dg.asset_check(asset=_standard, name="conforms_to_standard", blocking=True)
    def _conforms(store: TeumtemStore) -> dg.AssetCheckResult:
        """Every raw row is standardised or quarantined, and the stored tables pass the models."""
        problems = stages.check_standard(source, None, store.work)
        return dg.AssetCheckResult(passed=not problems, metadata={"problems": "; ".join(problems)})

    return dg.Definitions(assets=[_standard], asset_checks=[_conforms])


def build_defs() -> dg.Definitions:
    return dg.Definitions.merge(*(standard_asset(s) for s in SOURCES))
