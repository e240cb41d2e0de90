"""OpenLineage events: every event of a run validates against the 2-0-2 schemas (offline)."""

from __future__ import annotations

import copy
import json
import socket
import uuid
from pathlib import Path

import duckdb
import pytest

from pipelines.store import lineage
from pipelines.store.publish import publish
from pipelines.store.sample import load_log, small_input


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lineage") / "store"
    publish(root, small_input(("202402",)), "run-1", "2024-02-29")
    march = small_input()
    march.quality_checks = [  # the load's own checks, as Dagster asset checks would report
        {
            "dataset": "schools/bma_students_202403.csv",
            "assertion": "conforms_to_standard",
            "success": True,
            "severity": "error",
        },
        {"dataset": "analytics.child", "assertion": "no_oversized_clusters", "success": True},
    ]
    publish(root, march, "run-2", "2024-03-31")
    again = small_input()
    again.load_log = load_log("run-3", ["202403"])
    publish(root, again, "run-3", "2024-03-31")  # unchanged content
    return root


@pytest.fixture(scope="module")
def events(store: Path) -> list[dict]:
    return lineage.read_events(store)


def _complete(events: list[dict], run_id: str) -> dict:
    (event,) = [
        e
        for e in events
        if e["eventType"] == "COMPLETE" and e["run"]["facets"]["teumtem_run"]["run_id"] == run_id
    ]
    return event


def test_every_event_validates_offline(store: Path, events: list[dict], monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("schema resolution tried the network")

    monkeypatch.setattr(socket, "socket", no_network)
    lineage._validators.cache_clear()
    assert [(e["run"]["facets"]["teumtem_run"]["run_id"], e["eventType"]) for e in events] == [
        ("run-1", "START"),
        ("run-1", "COMPLETE"),
        ("run-2", "START"),
        ("run-2", "COMPLETE"),
        ("run-3", "START"),
        ("run-3", "COMPLETE"),
    ]
    for e in events:
        lineage.validate_event(e)
    # the published copy in identity.duckdb holds the same events up to the current version
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        stored = [
            json.loads(r[0])
            for r in con.execute(
                "SELECT event FROM lineage_events ORDER BY run_id, event_type DESC"
            ).fetchall()
        ]
    assert stored == events[:4]
    for e in stored:
        lineage.validate_event(e)


def test_inputs_are_the_delivered_files_with_checksums(events: list[dict]) -> None:
    event = _complete(events, "run-2")
    assert event["run"]["runId"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "teumtem:run:run-2"))
    files = {d["name"]: d for d in event["inputs"]}
    expected = load_log("run-2", ["202403"]).set_index("file")["sha256"].to_dict()
    assert {n: d["facets"]["teumtem_file"]["sha256"] for n, d in files.items()} == expected
    assert {d["namespace"] for d in event["inputs"]} == {"file://teumtem-incoming"}
    cpis = files["cpis/cpis_cases_202403.csv"]
    sections = [b["section"] for b in cpis["facets"]["teumtem_agreement"]["legal_basis"]]
    assert sections[:2] == ["PDPA s.24(6)", "PDPA s.26(5)(a)"]
    assertions = cpis["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a["actual"]) for a in assertions] == [
        ("row_count", True, "10"),
        ("quarantine_share", False, "0.1000"),
    ]


def test_outputs_carry_schema_column_lineage_and_checks(events: list[dict]) -> None:
    outputs = {d["name"]: d for d in _complete(events, "run-2")["outputs"]}
    assert {"identity.source_xref", "analytics.child", "analytics.district_summary"} <= set(outputs)
    child = outputs["analytics.child"]
    assert [f["name"] for f in child["facets"]["schema"]["fields"]][:3] == [
        "child_id",
        "age_band",
        "sex",
    ]
    fields = child["facets"]["columnLineage"]["fields"]
    age = {
        (f["name"], f["field"], f["transformations"][0]["masking"])
        for f in fields["age_band"]["inputFields"]
    }
    assert ("schools/bma_students_202403.csv", "วันเกิด", True) in age
    assert ("health_centres/12345_PERSON_202403.txt", "BIRTH", True) in age
    absent = outputs["analytics.school_enrolment"]["facets"]["columnLineage"]["fields"]
    assert [
        (f["name"], f["field"], f["transformations"][0]["masking"])
        for f in absent["absent_days"]["inputFields"]
    ] == [("schools/bma_students_202403.csv", "วันขาดเรียนสะสม", False)]
    vaccine = outputs["analytics.vaccination"]["facets"]["columnLineage"]["fields"]["vaccine"]
    assert [f["name"] for f in vaccine["inputFields"]] == ["health_centres/12345_EPI_202403.txt"]
    checks = child["outputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"]) for a in checks] == [
        ("row_count", True),
        ("parquet_copy_identical", True),
        ("no_identifiers", True),
        ("no_oversized_clusters", True),
    ]
    schools = [d for d in _complete(events, "run-2")["inputs"] if d["name"].startswith("schools/")]
    assert [
        a["assertion"] for a in schools[0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    ] == ["row_count", "quarantine_share", "conforms_to_standard"]


def test_unchanged_run_records_which_version_it_kept(events: list[dict]) -> None:
    run = _complete(events, "run-3")["run"]["facets"]["teumtem_run"]
    assert (run["status"], run["version"]) == ("unchanged", "000002-run-2")
    assert _complete(events, "run-3")["outputs"] == []


def test_invalid_events_are_rejected(events: list[dict]) -> None:
    good = _complete(events, "run-1")
    child = [i for i, d in enumerate(good["outputs"]) if d["name"] == "analytics.child"][0]
    for breaks in (
        lambda e: e.pop("job"),
        lambda e: e["run"].update(runId="not-a-uuid"),
        lambda e: e.update(eventType="DONE"),
        lambda e: e["outputs"][child]["facets"]["schema"].pop("_producer"),
        lambda e: e["outputs"][child]["facets"]["columnLineage"].update(fields={"c": {}}),
        lambda e: e["inputs"][0]["facets"]["teumtem_file"].update(sha256="xyz"),
        lambda e: e.update(eventTime="2024-03-31T10:00:00"),
    ):
        bad = copy.deepcopy(good)
        breaks(bad)
        with pytest.raises(lineage.LineageError):
            lineage.validate_event(bad)


def test_run_ids_map_to_uuids() -> None:
    dagster_like = "6c3b1f9e-2f57-4c57-9a55-0f1f0b7f0e11"
    assert lineage.run_uuid(dagster_like) == dagster_like
    assert lineage.run_uuid("20240331T010000-abc123") == lineage.run_uuid("20240331T010000-abc123")
    assert lineage.run_uuid("a") != lineage.run_uuid("b")
