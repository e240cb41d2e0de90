"""Linkage assets: one golden record per child across the five agencies, with stable ids."""

import dagster as dg

from pipelines import stages
from pipelines.resources import TeumtemStore, load_id
from schemas.columns import SOURCES


@dg.asset(
    key=["linkage", "linked_records"],
    deps=[dg.AssetKey(["standard", s]) for s in SOURCES],
    group_name="linkage",
    kinds={"splink", "duckdb"},
)
def linked_records(context: dg.AssetExecutionContext, store: TeumtemStore) -> dg.MaterializeResult:
    """Every child record of every agency, scored by the Splink model and clustered into children
    with stable child ids; twins are never merged and reviewer decisions always win. Only new or
    changed records are scored (run tag ``teumtem/full_relink=true`` re-links everything)."""
    tags = context.run.tags
    report = stages.link(
        store.work,
        load_id(context),
        max_cluster_size=store.max_cluster_size,
        retrain=tags.get("teumtem/retrain") == "true",
        full=tags.get("teumtem/full_relink") == "true",
    )
    return dg.MaterializeResult(metadata=report.metadata())


@dg.asset_check(asset=linked_records, name="no_oversized_clusters", blocking=True)
def no_oversized_clusters(store: TeumtemStore) -> dg.AssetCheckResult:
    """No child holds more records than one child plausibly has across five agencies."""
    largest = stages.largest_cluster(store.work)
    return dg.AssetCheckResult(
        passed=largest <= store.max_cluster_size, metadata={"largest_cluster": largest}
    )


@dg.asset(
    key=["linkage", "golden_child"],
    deps=[linked_records],
    group_name="linkage",
    kinds={"duckdb"},
)
def golden_child(context: dg.AssetExecutionContext, store: TeumtemStore) -> dg.MaterializeResult:
    """One golden record per child, each field chosen by a survivorship rule and traced to the
    source record that supplied it."""
    report = stages.golden(store.work, load_id(context))
    return dg.MaterializeResult(metadata=report.metadata())


def build_defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[linked_records, golden_child], asset_checks=[no_oversized_clusters]
    )
