"""Thin Dagster assets and checks over the sources, schemas and linkage libraries."""
