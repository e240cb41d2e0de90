"""OpenLineage 2-0-2 run events for a load, validated against the bundled JSON Schemas.

Each run emits START and then COMPLETE or FAIL. Inputs are the delivered files (namespace
``file://teumtem-incoming``, name ``<source>/<file>``) with a custom ``teumtem_file`` facet
(sha256, month, row counts), the source's data-sharing agreement (``teumtem_agreement``) and a
``dataQualityAssertions`` input facet. Outputs are the published tables (``duckdb://teumtem-
store``, name ``<db>.<table>``) with ``schema`` and ``columnLineage`` facets; the publish checks
go in their output facets with the same ``dataQualityAssertions`` schema. Column lineage maps
each published column to the delivered columns it derives from, ``masking: true`` where the
original value cannot be read back. Schemas are resolved locally (no network).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pandas as pd
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pipelines.store.agreements import Agreement, Derivation

SCHEMA_DIR = Path(__file__).parent / "openlineage"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://teumtem.invalid/teumtem/pipelines/store"
INPUT_NAMESPACE = "file://teumtem-incoming"
OUTPUT_NAMESPACE = "duckdb://teumtem-store"
JOB_NAMESPACE = "teumtem"
JOB_NAME = "teumtem.load"
QUARANTINE_WARN_SHARE = 0.05
_FACETS = {
    "schema": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
    "#/$defs/SchemaDatasetFacet",
    "columnLineage": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet",
    "dataQualityAssertions": "https://openlineage.io/spec/facets/1-1-0/"
    "DataQualityAssertionsDatasetFacet.json"
    "#/$defs/DataQualityAssertionsDatasetFacet",
    "teumtem_file": "https://teumtem.invalid/spec/facets/1-0-0/TeumtemFacets.json"
    "#/$defs/DeliveredFileFacet",
    "teumtem_agreement": "https://teumtem.invalid/spec/facets/1-0-0/TeumtemFacets.json"
    "#/$defs/AgreementFacet",
    "teumtem_run": "https://teumtem.invalid/spec/facets/1-0-0/TeumtemFacets.json"
    "#/$defs/LoadRunFacet",
}


class LineageError(ValueError):
    """An event does not validate against the OpenLineage schemas."""


def _facet(name: str, **body) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": _FACETS[name], **body}


@cache
def _validators() -> tuple[Draft202012Validator, list[Draft202012Validator]]:
    docs = {p.stem: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d)) for d in docs.values()
    )

    def make(doc: dict) -> Draft202012Validator:
        return Draft202012Validator(
            doc, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    facets = [make(d) for name, d in docs.items() if name != "OpenLineage"]
    return make(docs["OpenLineage"]), facets


def validate_event(event: dict) -> None:
    """Raise :class:`LineageError` unless ``event`` is a valid 2-0-2 RunEvent, every standard
    and custom facet validates against its schema, ``runId`` is a UUID and ``eventTime`` an
    ISO 8601 timestamp with a time zone."""
    run_schema, facet_schemas = _validators()
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in run_schema.iter_errors(event)]
    holders = [event.get("run", {}).get("facets", {})]
    for ds in event.get("inputs", []) + event.get("outputs", []):
        holders += [ds.get(k, {}) for k in ("facets", "inputFacets", "outputFacets")]
    # A facet schema constrains only its own facet's key, so each distinct facet is validated
    # once (the agreement facet repeats on every delivered file of a source).
    seen: set[str] = set()
    for facets in holders:
        parts = [{k: v} for k, v in facets.items()] if isinstance(facets, dict) else [facets]
        for part in parts:
            key = json.dumps(part, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            for schema in facet_schemas:
                problems += [
                    f"facet {list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(part)
                ]
    try:
        uuid.UUID(event["run"]["runId"])
        if datetime.fromisoformat(event["eventTime"]).tzinfo is None:
            problems.append("eventTime has no time zone")
    except (KeyError, ValueError) as err:
        problems.append(f"runId/eventTime: {err}")
    if problems:
        raise LineageError("; ".join(problems[:10]))


def run_uuid(run_id: str) -> str:
    """The OpenLineage runId: ``run_id`` itself if it is a UUID, else a UUID5 derived from it."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"teumtem:run:{run_id}"))


def file_name(source: str, file: str) -> str:
    """A delivered file's dataset name: its path relative to the incoming folder."""
    path = str(file).replace("\\", "/")
    return path if path.startswith(f"{source}/") else f"{source}/{os.path.basename(path)}"


def _int(value) -> int | None:
    return None if pd.isna(value) else int(value)


def input_datasets(
    load_log: pd.DataFrame,
    agreements: dict[str, Agreement],
    quality_checks: list[dict] | None = None,
) -> list[dict]:
    """One input dataset per delivered file of this run."""
    extra: dict[str, list[dict]] = {}
    for check in quality_checks or []:
        body = {k: v for k, v in check.items() if k != "dataset"}
        extra.setdefault(str(check.get("dataset")), []).append(body)
    out = []
    for row in load_log.drop_duplicates(["source", "file"]).itertuples(index=False):
        name = file_name(row.source, row.file)
        rows_in, quarantined = _int(row.rows_in), _int(row.quarantined)
        share = quarantined / rows_in if rows_in and quarantined is not None else 0.0
        assertions = [
            {
                "assertion": "row_count",
                "name": "rows delivered",
                "success": bool(rows_in),
                "actual": str(rows_in),
                "expected": "> 0",
                "severity": "warn",
            },
            {
                "assertion": "quarantine_share",
                "name": "rows quarantined",
                "success": share <= QUARANTINE_WARN_SHARE,
                "actual": f"{share:.4f}",
                "expected": f"<= {QUARANTINE_WARN_SHARE}",
                "severity": "warn",
            },
        ] + extra.get(name, [])
        facets = {
            "teumtem_file": _facet(
                "teumtem_file",
                source=row.source,
                sha256=str(row.sha256),
                month=str(row.month),
                rows_in=rows_in,
                standardised=_int(row.standardised),
                quarantined=quarantined,
            )
        }
        if row.source in agreements:
            facets["teumtem_agreement"] = _facet(
                "teumtem_agreement", **agreements[row.source].summary()
            )
        out.append(
            {
                "namespace": INPUT_NAMESPACE,
                "name": name,
                "facets": facets,
                "inputFacets": {
                    "dataQualityAssertions": _facet("dataQualityAssertions", assertions=assertions)
                },
            }
        )
    return out


def column_lineage(
    specs: dict[str, dict[str, Derivation]],
    columns: dict[str, list[str]],
    agreements: dict[str, Agreement],
    files: pd.DataFrame,
) -> dict[str, dict]:
    """``<db>.<table>`` -> ColumnLineageDatasetFacet ``fields`` for this run's files.

    Args:
        specs: ``<db>.<table>`` -> column -> :class:`Derivation`.
        columns: ``<db>.<table>`` -> the columns actually published.
        agreements: the agreements in force (they name the delivered columns).
        files: this run's delivered files (``source``, ``file``).
    """
    names = {s: [file_name(s, f) for f in g["file"]] for s, g in files.groupby("source")}
    out = {}
    for key, cols in columns.items():
        db, _ = key.split(".", 1)
        fields = {}
        for col in cols:
            d = specs.get(key, {}).get(col)
            if d is None:
                continue
            transform = {"type": "DIRECT", "subtype": d.subtype, "masking": d.masking}
            if d.description:
                transform["description"] = d.description
            inputs = []
            for src, table, fld in d.resolve(agreements, db):
                pattern = agreements[src].files.get(table, "")
                for name in names.get(src, []):
                    if fnmatch(name, pattern):
                        inputs += [
                            {
                                "namespace": INPUT_NAMESPACE,
                                "name": name,
                                "field": raw,
                                "transformations": [transform],
                            }
                            for raw in agreements[src].columns(table, fld)
                        ]
            if inputs:
                fields[col] = {"inputFields": inputs}
        if fields:
            out[key] = fields
    return out


def output_datasets(
    schemas: dict[str, list[tuple[str, str]]],
    lineage: dict[str, dict],
    assertions: dict[str, list[dict]],
) -> list[dict]:
    """One output dataset per published table with schema, column lineage and check facets."""
    out = []
    for key, cols in schemas.items():
        facets = {
            "schema": _facet(
                "schema",
                fields=[
                    {"name": c, "type": t, "ordinal_position": i}
                    for i, (c, t) in enumerate(cols, 1)
                ],
            )
        }
        if key in lineage:
            facets["columnLineage"] = _facet("columnLineage", fields=lineage[key])
        ds = {"namespace": OUTPUT_NAMESPACE, "name": key, "facets": facets}
        if assertions.get(key):
            ds["outputFacets"] = {
                "dataQualityAssertions": _facet("dataQualityAssertions", assertions=assertions[key])
            }
        out.append(ds)
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def run_event(
    event_type: str,
    run_id: str,
    run_facet: dict,
    inputs: list[dict],
    outputs: list[dict] | None = None,
    event_time: str | None = None,
) -> dict:
    """A RunEvent of the load job (validated before it is returned)."""
    event = {
        "eventType": event_type,
        "eventTime": event_time or now_iso(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {
            "runId": run_uuid(run_id),
            "facets": {"teumtem_run": _facet("teumtem_run", run_id=run_id, **run_facet)},
        },
        "job": {"namespace": JOB_NAMESPACE, "name": JOB_NAME},
        "inputs": inputs,
        "outputs": outputs or [],
    }
    validate_event(event)
    return event


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def write_events(store: Path | str, run_id: str, events: list[dict]) -> Path:
    """Append events to ``<store>/lineage/<run_id>.jsonl``."""
    path = Path(store) / "lineage" / f"{_safe(run_id)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path


def read_events(store: Path | str) -> list[dict]:
    """Every event under ``<store>/lineage/``, in file then line order."""
    out = []
    for path in sorted((Path(store) / "lineage").glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return out


def events_frame(events: list[dict]) -> pd.DataFrame:
    """Events as rows of the ``lineage_events`` table (the event itself as JSON text)."""
    rows = [
        {
            "run_id": e["run"]["facets"]["teumtem_run"]["run_id"],
            "event_type": e["eventType"],
            "event_time": e["eventTime"],
            "ol_run_id": e["run"]["runId"],
            "job": f"{e['job']['namespace']}/{e['job']['name']}",
            "event": json.dumps(e, ensure_ascii=False, sort_keys=True),
        }
        for e in events
    ]
    cols = ["run_id", "event_type", "event_time", "ol_run_id", "job", "event"]
    return pd.DataFrame(rows, columns=cols).astype("str").drop_duplicates()
