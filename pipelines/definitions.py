"""The one module Dagster loads: every stage's definitions, assembled explicitly."""

from __future__ import annotations

import dagster as dg

from assets import ingest, linked, published, standard
from pipelines import automation
from pipelines.resources import resources_for_environment


def build_defs(resources: dict | None = None) -> dg.Definitions:
    """Assemble the code location; tests pass their own resources."""
    return dg.Definitions.merge(
        ingest.build_defs(),
        standard.build_defs(),
        linked.build_defs(),
        published.build_defs(),
        automation.build_defs(),
        dg.Definitions(resources=resources or resources_for_environment()),
    )


defs = build_defs()
