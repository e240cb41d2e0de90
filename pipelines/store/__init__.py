"""The published store: identity kept apart from pseudonymised analytics, with lineage and audit.

A plain library (no Dagster). :func:`pipelines.store.publish.publish` writes a checked,
versioned DuckDB + Parquet store and switches to it atomically; ``analytics`` builds the
analysts' model; ``agreements`` applies the data-sharing agreements; ``lineage`` emits
OpenLineage events; ``audit`` answers the auditors' questions; :func:`scan_for_identifiers`
proves analytics holds no identifiers. (``publish`` is not re-exported here so that
``pipelines.store.publish`` stays the module.)
"""

from pipelines.store.agreements import Agreement, AgreementError, load_agreements
from pipelines.store.analytics import build_analytics
from pipelines.store.audit import agencies_for_child, columns_from_source, run_report
from pipelines.store.checks import PublishCheckError
from pipelines.store.loadlog import append_load_log, read_load_log
from pipelines.store.privacy import Hit, scan_for_identifiers
from pipelines.store.publish import PublishedVersion, current_version, list_versions
from pipelines.store.staging import PublishInput

__all__ = [
    "Agreement",
    "AgreementError",
    "Hit",
    "PublishCheckError",
    "PublishInput",
    "PublishedVersion",
    "agencies_for_child",
    "append_load_log",
    "build_analytics",
    "columns_from_source",
    "current_version",
    "list_versions",
    "load_agreements",
    "read_load_log",
    "run_report",
    "scan_for_identifiers",
]
