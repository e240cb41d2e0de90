"""One test per kind of broken delivery in the extract contract, asserting the exact outcome."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pandas as pd
import pytest
from source_files import (
    CENTRE_ROWS,
    SCHOOL_ROWS,
    csv_text,
    make_incoming,
    write_cpis,
    write_epassbook,
    write_health,
    write_schools,
    write_workbook,
)

from sources import child_centres, cpis, epassbook, health_centres, schools
from sources.base import ExtractError
from sources.landing import RawZone, discover, land_incoming

RUN, MONTH = "run-1", "202605"


def _school(tmp_path, **kw):
    return write_schools(tmp_path / "in" / "schools" / "bma_students_202605.csv", **kw)


def _read_school(path):
    return schools.read(path, path.parents[1], RUN, MONTH)


# --- wrong encoding ---------------------------------------------------------------------------
def test_schools_delivered_as_utf8_names_the_encoding(tmp_path):
    path = _school(tmp_path, encoding="utf-8")
    with pytest.raises(ExtractError) as err:
        _read_school(path)
    assert str(err.value) == (
        "schools/bma_students_202605.csv: file is UTF-8, expected Windows-874 (cp874). "
        "Ask the agency to re-export the file as Windows-874 (cp874)."
    )
    assert err.value.file == "schools/bma_students_202605.csv"


def test_schools_undecodable_byte_names_byte_and_line(tmp_path):
    path = _school(tmp_path)
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"99/1", b"99\xdb1")  # 0xDB is unassigned in cp874
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ExtractError, match=r"cannot be decoded as cp874 \(byte 0xDB at line 2\)"):
        _read_school(path)


def test_mojibake_is_recognised(tmp_path):
    # UTF-8 Thai that someone already decoded as cp874 and saved again as cp874.
    text = csv_text(list(schools.COLUMNS), [[r[c] for c in schools.COLUMNS] for r in SCHOOL_ROWS])
    garbled = text.encode("utf-8").decode("cp874", errors="replace").replace("\ufffd", "?")
    path = tmp_path / "in" / "schools" / "bma_students_202605.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(garbled.encode("cp874"))
    with pytest.raises(ExtractError, match="Thai text is garbled"):
        _read_school(path)


def test_health_file_in_cp874_is_recognised(tmp_path):
    (path,) = write_health(
        tmp_path / "in" / "health_centres",
        tables={"NUTRITION": [["10669", "000101", "20260502", "15.2", "101"]]},
    )
    path.write_bytes(path.read_bytes().decode("utf-8").replace("000101", "ทารก").encode("cp874"))
    with pytest.raises(ExtractError) as err:
        health_centres.read(path, path.parents[1], RUN, MONTH)
    assert err.value.problem == (
        "file is Windows-874 (cp874), expected UTF-8 (byte 0xB7 at line 2 is not UTF-8)"
    )


# --- missing / renamed column -----------------------------------------------------------------
def test_missing_column_is_named(tmp_path):
    header = [c for c in schools.COLUMNS if c != "เพศ"]
    path = _school(tmp_path, header=header, rows=[])
    path.write_bytes(csv_text(header, [["x"] * len(header)]).encode("cp874"))
    with pytest.raises(ExtractError) as err:
        _read_school(path)
    assert err.value.problem == "missing column(s) 'เพศ'"


def test_renamed_column_suggests_the_new_name(tmp_path):
    header = ["วันเดือนปีเกิด" if c == "วันเกิด" else c for c in schools.COLUMNS]
    path = tmp_path / "in" / "schools" / "bma_students_202605.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_text(header, [["x"] * len(header)]).encode("cp874"))
    with pytest.raises(ExtractError) as err:
        _read_school(path)
    assert err.value.problem == (
        "missing column(s) 'วันเกิด' (renamed? did you mean 'วันเดือนปีเกิด' for 'วันเกิด')"
    )
    assert err.value.hint == "Ask the agency to re-export with the contract's column names."


def test_renamed_health_field(tmp_path):
    (path,) = write_health(
        tmp_path / "in" / "health_centres", tables={"EPI": [["10669", "000101", "20260502", "BCG"]]}
    )
    path.write_text(path.read_text().replace("VACCINETYPE", "VACCINE_TYPE"))
    with pytest.raises(ExtractError, match="did you mean 'VACCINE_TYPE' for 'VACCINETYPE'"):
        health_centres.read(path, path.parents[1], RUN, MONTH)


# --- empty file -------------------------------------------------------------------------------
def test_zero_byte_file_is_empty(tmp_path):
    path = _school(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(ExtractError) as err:
        _read_school(path)
    assert str(err.value) == (
        "schools/bma_students_202605.csv: empty file (no header and no rows). "
        "Ask the agency to re-send it."
    )


def test_header_only_file_is_empty(tmp_path):
    path = _school(tmp_path, rows=[])
    with pytest.raises(ExtractError, match="empty file \\(header only, no rows\\)"):
        _read_school(path)


def test_empty_jsonl_and_workbook(tmp_path):
    path = tmp_path / "in" / "epassbook" / "epassbook_202605.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\n")
    with pytest.raises(ExtractError, match="empty file"):
        epassbook.read(path, path.parents[1], RUN, MONTH)
    book = write_workbook(
        tmp_path / "in" / "child_centres" / "ccd_202605.xlsx", {"ศพด.ก": []}, footer=False
    )
    with pytest.raises(ExtractError, match="empty file \\(no children on any sheet\\)"):
        child_centres.read(book, book.parents[1], RUN, MONTH)


# --- truncated last line ----------------------------------------------------------------------
def test_truncated_last_line_of_csv_is_quarantined(tmp_path):
    # the export stopped inside a quoted field: unterminated quote at end of file
    path = _school(tmp_path, extra='10110003,"โรงเรียนวัดลาด')
    batch = _read_school(path)
    assert len(batch.tables["schools"]) == 3
    q = batch.quarantine
    assert q[["rule", "action", "field", "_row", "value"]].values.tolist() == [
        ["truncated_row", "row", "_row", 5, "schools/bma_students_202605.csv line 5"]
    ]
    assert batch.rows_in("schools") == 4


def test_truncated_last_line_of_pipe_file(tmp_path):
    (path,) = write_health(
        tmp_path / "in" / "health_centres",
        tables={"EPI": [["10669", "000101", "20260502", "BCG"]]},
        extra="10669|0001",
    )
    batch = health_centres.read(path, path.parents[1], RUN, MONTH)
    assert batch.tables["health_epi"]["_row"].tolist() == [2]
    assert batch.quarantine[["rule", "_table", "_row"]].values.tolist() == [
        ["truncated_row", "health_epi", 3]
    ]


def test_wrong_field_count_mid_file(tmp_path):
    (path,) = write_health(
        tmp_path / "in" / "health_centres",
        tables={
            "EPI": [
                ["10669", "000101", "20260502", "BCG", "extra"],
                ["10669", "000102", "20260502", "BCG"],
            ]
        },
    )
    batch = health_centres.read(path, path.parents[1], RUN, MONTH)
    assert batch.quarantine[["rule", "_row"]].values.tolist() == [["bad_field_count", 2]]
    assert batch.tables["health_epi"]["_row"].tolist() == [3]


def test_truncated_last_json_line(tmp_path):
    path = write_epassbook(
        tmp_path / "in" / "epassbook" / "epassbook_202605.jsonl",
        extra='{"family_id": "FP-1011-000124", "members": [{"member_no"',
    )
    batch = epassbook.read(path, path.parents[1], RUN, MONTH)
    assert len(batch.tables["epassbook"]) == 3
    assert batch.quarantine[["rule", "action", "_row"]].values.tolist() == [
        ["malformed_json", "row", 2]
    ]


def test_truncated_cpis_line_with_fewer_fields(tmp_path):
    path = write_cpis(
        tmp_path / "in" / "cpis" / "cpis_cases_202605.csv", extra="CP-2026-000003,2026-05-04,"
    )
    batch = cpis.read(path, path.parents[1], RUN, MONTH)
    assert len(batch.tables["cpis"]) == 2
    assert batch.quarantine[["rule", "_row"]].values.tolist() == [["truncated_row", 4]]


# --- header repeated mid-file -----------------------------------------------------------------
def test_header_repeated_mid_file(tmp_path):
    # two exports concatenated: the second brought its header along
    rows = [[r[c] for c in schools.COLUMNS] for r in SCHOOL_ROWS]
    text = csv_text(list(schools.COLUMNS), rows[:2] + [list(schools.COLUMNS)] + rows[2:])
    path = tmp_path / "in" / "schools" / "bma_students_202605.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode("cp874"))
    batch = _read_school(path)
    assert batch.tables["schools"]["_row"].tolist() == [2, 3, 5]
    assert batch.quarantine[["rule", "action", "_row"]].values.tolist() == [
        ["repeated_header", "row", 4]
    ]


# --- sheet footer -----------------------------------------------------------------------------
def test_sheet_footer_is_skipped_and_counted(tmp_path):
    book = write_workbook(
        tmp_path / "in" / "child_centres" / "ccd_202605.xlsx",
        {"ศพด.ก": CENTRE_ROWS, "ศพด.ข": CENTRE_ROWS[:1]},
    )
    batch = child_centres.read(book, book.parents[1], RUN, MONTH)
    table = batch.tables["child_centres"]
    assert table[["_sheet", "_row"]].values.tolist() == [
        ["ศพด.ก", 4],
        ["ศพด.ก", 5],
        ["ศพด.ก", 6],
        ["ศพด.ข", 4],
    ]
    assert batch.notes == {"footer_rows": 2, "sheets": 2}
    assert batch.quarantine.empty  # a total is not a child: counted, not quarantined


# --- duplicate delivery, unrecognised name, future month --------------------------------------
def test_duplicate_delivery_by_checksum(tmp_path):
    incoming = make_incoming(tmp_path / "in")
    zone = RawZone(tmp_path / "raw")
    land_incoming(incoming, zone, "run-1", today=dt.date(2026, 6, 15))
    # the agency sends the same roster again under another month's name
    shutil.copy(
        incoming / "schools" / "bma_students_202605.csv",
        incoming / "schools" / "bma_students_202606.csv",
    )
    report = land_incoming(incoming, zone, "run-2", today=dt.date(2026, 6, 15))
    again = report.set_index("file").loc["schools/bma_students_202606.csv"]
    assert again["status"] == "duplicate"
    assert again["reason"] == "same bytes as schools/bma_students_202605.csv"
    assert set(report.loc[report["file"] != again.name, "status"]) == {"unchanged"}
    m = zone.manifest()
    assert (m["status"] == "duplicate").sum() == 1
    assert zone.read_month("schools", "schools", "202606").empty


def test_unrecognised_file_names(tmp_path):
    incoming = tmp_path / "in"
    for rel in (
        "schools/BMA_students_202605.csv",
        "schools/bma_students_202605.xlsx",
        "cpis/epassbook_202605.jsonl",
        "schools/old/bma_students_202604.csv",
        "readme.txt",
    ):
        (incoming / rel).parent.mkdir(parents=True, exist_ok=True)
        (incoming / rel).write_text("x")
    found = discover(incoming, today=dt.date(2026, 6, 1)).set_index("file")
    assert (found["status"] == "unrecognised").all()
    assert found["reason"].to_dict() == {
        "cpis/epassbook_202605.jsonl": "looks like a 'epassbook' file but is not in 'epassbook/'",
        "readme.txt": "not inside one of the agency folders 'schools/', 'child_centres/', "
        "'health_centres/', 'cpis/', 'epassbook/'",
        "schools/BMA_students_202605.csv": "name differs from 'bma_students_<YYYYMM>.csv' in "
        "letter case (names are exact)",
        "schools/bma_students_202605.xlsx": "name does not match the contract's "
        "'bma_students_<YYYYMM>.csv'",
        "schools/old/bma_students_202604.csv": "inside a sub-folder of 'schools/'; files must "
        "sit directly in 'schools/'",
    }


def test_corrupt_workbook_and_sheet_problems(tmp_path):
    book = tmp_path / "in" / "child_centres" / "ccd_202605.xlsx"
    book.parent.mkdir(parents=True)
    book.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ExtractError) as err:
        child_centres.read(book, book.parents[1], RUN, MONTH)
    assert err.value.problem == "not a readable .xlsx workbook"
    # a centre renamed a column on its sheet: the message names the sheet
    write_workbook(book, {"ศพด.ก": CENTRE_ROWS})
    wb = openpyxl.load_workbook(book)
    wb["ศพด.ก"]["E3"] = "วัน/เดือน/ปีเกิด"
    wb.save(book)
    with pytest.raises(ExtractError) as err:
        child_centres.read(book, book.parents[1], RUN, MONTH)
    assert err.value.file == "child_centres/ccd_202605.xlsx (sheet 'ศพด.ก')"
    assert err.value.problem.startswith("missing column(s) 'วันเกิด'")


def test_future_and_invalid_months_are_rejected(tmp_path):
    incoming = tmp_path / "in"
    for name in (
        "bma_students_202607.csv",
        "bma_students_202613.csv",
        "bma_students_256905.csv",
        "bma_students_202606.csv",
    ):
        write_schools(incoming / "schools" / name)
    found = discover(incoming, today=dt.date(2026, 6, 30)).set_index("month")
    assert found["status"].to_dict() == {
        "202606": "ok",
        "202607": "rejected",
        "202613": "rejected",
        "256905": "rejected",
    }
    assert found.loc["202607", "reason"] == "month 202607 in the file name is in the future"
    assert found.loc["202613", "reason"] == (
        "month 202613 in the file name is not a valid month (month 13)"
    )
    assert found.loc["256905", "reason"] == (
        "month 256905 in the file name is in the future "
        "(a Buddhist Era year? file names use the CE year)"
    )
    zone = RawZone(tmp_path / "raw")
    report = land_incoming(incoming, zone, RUN, today=dt.date(2026, 6, 30))
    assert report.loc[report["status"] == "landed", "month"].tolist() == ["202606"]
    # the refused files are recorded with their reason and their bytes kept
    m = zone.manifest()
    refused = m[m["status"] == "rejected"].set_index("month")
    assert sorted(refused.index) == ["202607", "202613", "256905"]
    assert refused.loc["202613", "problem"] == found.loc["202613", "reason"]
    assert pd.isna(m.loc[m["status"] == "landed", "problem"]).all()
    for sha in refused["sha256"]:
        assert (tmp_path / "raw" / "_deliveries" / sha).is_file()
