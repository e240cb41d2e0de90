"""The published store: identity apart from pseudonymised analytics, with lineage."""

import dagster as dg

from pipelines import stages
from pipelines.resources import TeumtemStore, load_id


@dg.asset(
    key=["store", "published"],
    deps=[dg.AssetKey(["linkage", "golden_child"])],
    group_name="store",
    kinds={"duckdb", "parquet"},
)
def published_store(context: dg.AssetExecutionContext, store: TeumtemStore) -> dg.MaterializeResult:
    """The linked store analysts and auditors use: switched to atomically, complete and checked."""
    report = stages.publish(store.incoming, store.work, load_id(context))
    return dg.MaterializeResult(metadata=report.metadata())


def build_defs() -> dg.Definitions:
    return dg.Definitions(assets=[published_store])
