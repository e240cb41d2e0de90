"""The auditor's three questions, answered on a store with a published, an unchanged and a
failed run, with exact expected values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.store import audit
from pipelines.store.checks import PublishCheckError
from pipelines.store.publish import publish
from pipelines.store.sample import load_log, small_input


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "store"
    publish(root, small_input(("202402",)), "run-1", "2024-02-29")  # February roster
    publish(root, small_input(), "run-2", "2024-03-31")  # March, all agencies
    again = small_input()
    again.load_log = load_log("run-3", ["202403"])  # March delivered again: nothing new
    publish(root, again, "run-3", "2024-03-31")
    leaking = small_input()
    leaking.golden.loc[0, "district_code"] = "0812345678"
    leaking.load_log = load_log("run-4", ["202403"])
    with pytest.raises(PublishCheckError):
        publish(root, leaking, "run-4", "2024-03-31")
    return root


def test_agencies_for_child(store: Path) -> None:
    got = audit.agencies_for_child(store, "CAAAAAAAAAAAA")
    assert got.to_dict("records") == [
        {
            "source": "health_centres",
            "n_records": 1,
            "first_month": "202403",
            "last_month": "202403",
            "months": ["202403"],
            "run_ids": ["run-2", "run-3"],
            "linked_in_runs": ["run-2"],
        },
        {
            "source": "schools",
            "n_records": 1,
            "first_month": "202402",
            "last_month": "202403",
            "months": ["202402", "202403"],
            "run_ids": ["run-1", "run-2", "run-3"],
            "linked_in_runs": ["run-1"],
        },
    ]
    assert "record_keys" not in got.columns  # no identifiers without identity access
    with_keys = audit.agencies_for_child(store, "CBBBBBBBBBBBB", identity=True)
    assert with_keys[["source", "record_keys"]].values.tolist() == [
        ["cpis", ["CP-2024-000001"]],
        ["schools", ["10110003:0002"]],
    ]
    assert audit.agencies_for_child(store, "CZZZZZZZZZZZZ").empty


def test_run_report_published_unchanged_failed(store: Path) -> None:
    r2 = audit.run_report(store, "run-2")
    assert (r2["status"], r2["version"], r2["events"]) == (
        "published",
        "000002-run-2",
        ["START", "COMPLETE"],
    )
    assert r2["files"]["file"].tolist() == [
        "child_centres/ccd_202403.xlsx",
        "cpis/cpis_cases_202403.csv",
        "epassbook/epassbook_202403.jsonl",
        "health_centres/12345_EPI_202403.txt",
        "health_centres/12345_NUTRITION_202403.txt",
        "health_centres/12345_PERSON_202403.txt",
        "schools/bma_students_202403.csv",
    ]
    expected_sha = load_log("run-2", ["202403"]).set_index("file")["sha256"].to_dict()
    assert r2["files"].set_index("file")["sha256"].to_dict() == expected_sha
    assert (r2["rows_in"], r2["standardised"], r2["quarantined"]) == (70, 63, 7)
    published = r2["published"].set_index(["database", "table"])["rows"]
    assert published[("analytics", "child")] == 11
    assert published[("identity", "source_xref")] == 14
    assert published[("analytics", "school_age_not_enrolled")] == 2  # B and D

    r3 = audit.run_report(store, "run-3")
    assert (r3["status"], r3["version"], len(r3["files"]), r3["published"].empty) == (
        "unchanged",
        "000002-run-2",
        7,
        True,
    )

    r4 = audit.run_report(store, "run-4")
    assert (r4["status"], r4["version"], r4["events"]) == ("failed", None, ["START", "FAIL"])
    assert r4["error"].startswith("PublishCheckError: version failed its checks")
    assert "0812345678" not in r4["error"]  # counts and places, never values
    assert len(r4["files"]) == 7 and r4["rows_in"] == 70  # what it read, from its START event


def test_columns_from_source(store: Path) -> None:
    cols = audit.columns_from_source(store, "epassbook")
    by_table = cols.groupby(["database", "table"])["column"].apply(list).to_dict()
    assert by_table[("analytics", "child")] == [
        "age_band",
        "child_id",
        "district_code",
        "flag_health",
        "flag_learning",
        "flag_livelihood",
        "in_epassbook",
        "incomplete_vaccination_for_age",
        "not_enrolled_school_age",
        "passbook_problems",
        "poverty_screened",
        "sex",
        "sources_present",
        "under_weight",
    ]
    assert by_table[("analytics", "family_problem")] == ["child_id", "problem", "survey_month"]
    assert by_table[("identity", "source_xref")] == ["child_id", "record_key", "source"]
    assert "income_per_month" not in cols["column"].tolist()  # not permitted: not published
    rows = cols.set_index(["table", "column"])
    assert rows.loc[("family_problem", "problem")].tolist()[1:] == [
        ["problems"],
        "IDENTITY",
        False,
        ["run-2"],
    ]
    assert rows.loc[("child", "passbook_problems"), "masking"]
    assert rows.loc[("golden_identity", "guardian_phone"), "source_columns"] == ["phone"]
    assert rows.loc[("child", "age_band"), "source_columns"] == ["members.birth_date"]
    # schools never feed the passbook table; health feeds vaccination only through EPI files
    schools = audit.columns_from_source(store, "schools")
    assert "family_problem" not in schools["table"].tolist()
    health = audit.columns_from_source(store, "health_centres")
    assert health.set_index(["table", "column"]).loc[
        ("vaccination", "vaccine"), "source_columns"
    ] == ["VACCINETYPE"]
