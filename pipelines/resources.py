"""Dagster resources: where extracts arrive and where the store lives."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.workarea import WorkArea


class TeumtemStore(dg.ConfigurableResource):
    """The incoming folder the agencies deliver into and the store folder a load publishes to."""

    incoming_dir: str
    store_dir: str
    max_cluster_size: int = 12

    @property
    def incoming(self) -> Path:
        return Path(self.incoming_dir)

    @property
    def work(self) -> WorkArea:
        return WorkArea(Path(self.store_dir)).ensure()


def load_id(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """The id of the whole load: `teumtem run` tags every Dagster run of one load with it."""
    return context.run.tags.get("teumtem/load_id", context.run.run_id)


def resources_for_environment(
    incoming_dir: str | None = None, store_dir: str | None = None
) -> dict:
    """Resources for the current environment; paths come from the environment at run time."""
    return {
        "store": TeumtemStore(
            incoming_dir=incoming_dir or dg.EnvVar("TEUMTEM_INCOMING"),
            store_dir=store_dir or dg.EnvVar("TEUMTEM_STORE"),
        )
    }
