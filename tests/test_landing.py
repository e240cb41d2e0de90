"""Discovering deliveries and landing them in the raw zone."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
from source_files import make_incoming, write_schools

from sources import schools
from sources.landing import RawZone, discover, land_incoming, sha256_file

TODAY = dt.date(2026, 6, 15)


def test_discover_classifies_every_file(tmp_path):
    incoming = make_incoming(tmp_path / "in")
    found = discover(incoming, today=TODAY)
    assert (found["status"] == "ok").all()
    assert found[["source", "table", "month", "extra", "kind"]].values.tolist() == [
        ["child_centres", "child_centres", "202605", "", "snapshot"],
        ["cpis", "cpis", "202605", "", "delta"],
        ["epassbook", "epassbook", "202605", "", "delta"],
        ["health_centres", "health_epi", "202605", "10669", "delta"],
        ["health_centres", "health_nutrition", "202605", "10669", "delta"],
        ["health_centres", "health_person", "202605", "10669", "snapshot"],
        ["schools", "schools", "202605", "", "snapshot"],
    ]


def test_sha256_file_streams(tmp_path):
    data = b"x" * (3 << 20) + b"tail"
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path, chunk=1 << 20) == hashlib.sha256(data).hexdigest()


def test_land_writes_partitioned_parquet_and_keeps_the_delivery(tmp_path):
    incoming = make_incoming(tmp_path / "in")
    before = {p: p.read_bytes() for p in incoming.rglob("*") if p.is_file()}
    zone = RawZone(tmp_path / "raw")
    report = land_incoming(incoming, zone, "run-1", today=TODAY)
    assert report["status"].tolist() == ["landed"] * 7
    # the incoming folder is only read
    assert {p: p.read_bytes() for p in incoming.rglob("*") if p.is_file()} == before
    csv = incoming / "schools" / "bma_students_202605.csv"
    sha = sha256_file(csv)
    assert (zone.root / "_deliveries" / sha).read_bytes() == csv.read_bytes()
    part = zone.root / "schools" / "schools" / "month=202605" / f"{sha[:16]}.parquet"
    assert part.exists()
    assert not list(zone.root.rglob("*.tmp"))
    roster = zone.read_month("schools", "schools", "202605")
    assert len(roster) == 3 and roster["_sha256"].unique().tolist() == [sha]
    m = zone.manifest().set_index("file")
    assert m.loc["schools/bma_students_202605.csv", ["rows", "status", "month"]].tolist() == [
        3,
        "landed",
        "202605",
    ]
    assert m.loc["child_centres/ccd_202605.xlsx", "notes"] == '{"footer_rows": 1, "sheets": 1}'
    assert zone.is_landed(sha)


def test_running_again_changes_nothing(tmp_path):
    incoming = make_incoming(tmp_path / "in")
    zone = RawZone(tmp_path / "raw")
    land_incoming(incoming, zone, "run-1", today=TODAY)
    first = zone.manifest()
    report = land_incoming(incoming, zone, "run-2", today=TODAY)
    assert set(report["status"]) == {"unchanged"}
    pd.testing.assert_frame_equal(zone.manifest(), first)


def test_redelivery_replaces_the_months_snapshot_and_latest_snapshot(tmp_path):
    incoming = tmp_path / "in"
    zone = RawZone(tmp_path / "raw")
    path = write_schools(incoming / "schools" / "bma_students_202605.csv")
    land_incoming(incoming, zone, "run-1", today=TODAY)
    # corrected file for the same month (one child fewer), then next month's roster
    from source_files import SCHOOL_ROWS

    write_schools(path, SCHOOL_ROWS[:2])
    write_schools(incoming / "schools" / "bma_students_202606.csv", SCHOOL_ROWS[:1])
    report = land_incoming(incoming, zone, "run-2", today=TODAY)
    assert report["status"].tolist() == ["landed", "landed"]
    assert len(zone.read_month("schools", "schools", "202605")) == 2
    assert len(zone.read_latest_snapshot("schools", "schools")) == 1
    assert len(zone.read_latest_snapshot("schools", "schools", "202605")) == 2
    batch = zone.read_batch("schools", "202605")
    assert list(batch.tables) == ["schools"] and len(batch.tables["schools"]) == 2
    # the agency restores its first delivery: it becomes the month's snapshot again
    write_schools(path)
    report = land_incoming(incoming, zone, "run-3", today=TODAY)
    assert report["status"].tolist() == ["landed", "unchanged"]
    assert len(zone.read_month("schools", "schools", "202605")) == 3


def test_read_batch_keeps_rows_quarantined_on_read(tmp_path):
    incoming = tmp_path / "in"
    write_schools(incoming / "schools" / "bma_students_202605.csv", extra='1011,"cut')
    zone = RawZone(tmp_path / "raw")
    land_incoming(incoming, zone, "run-1", today=TODAY)
    batch = zone.read_batch("schools", "202605")
    assert batch.quarantine["rule"].tolist() == ["truncated_row"]
    assert batch.rows_in("schools") == 4
    direct = schools.read(
        incoming / "schools" / "bma_students_202605.csv", incoming, "run-1", "202605"
    )
    pd.testing.assert_frame_equal(batch.tables["schools"], direct.tables["schools"])


def test_rejected_file_is_recorded_with_its_problem(tmp_path):
    incoming = tmp_path / "in"
    write_schools(incoming / "schools" / "bma_students_202605.csv", encoding="utf-8")
    zone = RawZone(tmp_path / "raw")
    report = land_incoming(incoming, zone, "run-1", today=TODAY)
    assert report["status"].tolist() == ["rejected"]
    m = zone.manifest()
    assert m["status"].tolist() == ["rejected"]
    assert m["problem"].iloc[0].startswith("schools/bma_students_202605.csv: file is UTF-8")
    assert (zone.root / "_deliveries" / m["sha256"].iloc[0]).exists()
    assert not zone.is_landed(m["sha256"].iloc[0])


def test_header_only_deltas_of_two_centres_are_not_duplicates(tmp_path):
    # no vaccinations this month at either centre: the two files are byte-identical
    from source_files import write_health

    incoming = tmp_path / "in"
    for hospcode in ("10669", "10670"):
        write_health(incoming / "health_centres", hospcode=hospcode, tables={"EPI": []})
    zone = RawZone(tmp_path / "raw")
    report = land_incoming(incoming, zone, "run-1", today=TODAY)
    assert report["status"].tolist() == ["landed", "landed"]
    assert report["sha256"].nunique() == 1
    assert zone.read_month("health_centres", "health_epi", "202605").empty
