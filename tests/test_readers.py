"""Readers on small hand-written extracts: exact rows, values as delivered, provenance."""

from __future__ import annotations

import hashlib

import pandas as pd
from source_files import (
    FAMILY,
    PID_A,
    PID_B,
    SCHOOL_ROWS,
    csv_text,
    write_cpis,
    write_epassbook,
    write_health,
    write_schools,
    write_workbook,
)

from schemas.columns import PROVENANCE
from sources import child_centres, cpis, epassbook, health_centres, schools
from sources.child_centres import cell_text

RUN, MONTH = "run-7", "202605"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_schools_reader_keeps_values_exactly_as_delivered(tmp_path):
    path = write_schools(tmp_path / "in" / "schools" / "bma_students_202605.csv")
    batch = schools.read(path, tmp_path / "in", RUN, MONTH)
    table = batch.tables["schools"]
    assert list(table.columns) == [*schools.COLUMNS, *PROVENANCE]
    assert len(table) == 3
    assert table["ชื่อ"].tolist() == ["ฟ้าใส", " สมชาย ", "มานะ"]  # no trimming
    assert table["เลขประจำตัวนักเรียน"].tolist() == ["00123", "00124", "00125"]  # text, not numbers
    assert table["ชื่อภาษาอังกฤษ"].tolist() == ["Fahsai", "", ""]  # blank stays ''
    assert (table.drop(columns="_row").dtypes == "str").all()
    assert table["_file"].unique().tolist() == ["schools/bma_students_202605.csv"]
    assert table["_sha256"].unique().tolist() == [_sha(path)]
    assert table["_row"].tolist() == [2, 3, 4]
    assert table["_sheet"].isna().all()
    assert set(table["_run_id"]) == {RUN} and set(table["_month"]) == {MONTH}
    assert batch.quarantine.empty
    assert schools.record_key(table).tolist() == [
        "10110003:00123",
        "10110003:00124",
        "10110003:00125",
    ]


def test_quoted_field_with_line_break_keeps_line_numbers(tmp_path):
    rows = [[r[c] for c in schools.COLUMNS] for r in SCHOOL_ROWS]
    rows[0][schools.COLUMNS.index("ถนน/ซอย")] = "ซ.ลาดกระบัง 54\nถนนลาดกระบัง, กรุงเทพฯ"
    path = tmp_path / "in" / "schools" / "bma_students_202605.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_text(list(schools.COLUMNS), rows).encode("cp874"))
    table = schools.read(path, tmp_path / "in", RUN, MONTH).tables["schools"]
    assert table["ถนน/ซอย"].iloc[0] == "ซ.ลาดกระบัง 54\nถนนลาดกระบัง, กรุงเทพฯ"
    assert table["_row"].tolist() == [2, 4, 5]  # the first record spans lines 2-3


def test_child_centres_reader(tmp_path):
    path = write_workbook(tmp_path / "in" / "child_centres" / "ccd_202605.xlsx")
    batch = child_centres.read(path, tmp_path / "in", RUN, MONTH)
    table = batch.tables["child_centres"]
    assert list(table.columns) == [*child_centres.COLUMNS, *PROVENANCE]
    assert table["_row"].tolist() == [4, 5, 6]  # two title rows and the header above
    assert set(table["_sheet"]) == {"ศพด.ชุมชนลาดกระบัง"}
    assert table["_sha256"].iloc[0] == _sha(path)
    assert table["วันเกิด"].tolist() == ["2020-03-05 00:00:00", "5 มี.ค. 2563", "05/03/2562"]
    # a text PID, a PID Excel turned into a number, and float text that lost a digit
    assert table["เลขประจำตัวประชาชน"].tolist() == [PID_A, f"{PID_B}.0", "1.10370012345E12"]
    assert table["น้ำหนัก"].tolist() == ["15.5", "16", ""]
    assert table["ชื่อ-สกุล"].iloc[1] == "เด็กชาย มานะ  ใจดี"
    assert child_centres.record_key(table).tolist() == [
        "ศพด.ชุมชนลาดกระบัง:R001",
        "ศพด.ชุมชนลาดกระบัง:R002",
        "ศพด.ชุมชนลาดกระบัง:R003",
    ]
    assert batch.notes == {"footer_rows": 1, "sheets": 1}


def test_cell_text_keeps_excel_forms():
    import datetime as dt

    assert cell_text(None) == ""
    assert cell_text(dt.datetime(2563, 3, 5)) == "2563-03-05 00:00:00"  # BE year in a date cell
    assert cell_text(1103701234563) == "1103701234563.0"  # a PID number cell: float form
    assert cell_text(103701234565) == "103701234565.0"  # leading 0 lost by Excel
    assert cell_text(12) == "12"
    assert cell_text(15.5) == "15.5"
    assert cell_text(1.10370012345e12) == "1103700123450.0"


def test_health_reader_one_table_per_file_bom_tolerated(tmp_path):
    paths = write_health(tmp_path / "in" / "health_centres", bom=True)
    batches = {p.name: health_centres.read(p, tmp_path / "in", RUN, MONTH) for p in paths}
    person = batches["10669_PERSON_202605.txt"].tables["health_person"]
    assert list(person.columns) == [*health_centres.COLUMNS["health_person"], *PROVENANCE]
    assert person["HOSPCODE"].tolist() == ["10669"] * 4
    assert person["PID"].tolist() == ["000101", "000102", "000103", "000104"]
    assert person["_row"].tolist() == [2, 3, 4, 5]
    epi = batches["10669_EPI_202605.txt"].tables["health_epi"]
    assert health_centres.record_key(epi).tolist() == [
        "10669:000101",
        "10669:000102",
        "10669:000102",
    ]
    assert list(batches["10669_NUTRITION_202605.txt"].tables) == ["health_nutrition"]


def test_health_delta_with_header_only_is_a_month_without_services(tmp_path):
    (path,) = write_health(tmp_path / "in" / "health_centres", tables={"EPI": []})
    batch = health_centres.read(path, tmp_path / "in", RUN, MONTH)
    assert batch.tables["health_epi"].empty


def test_pipe_file_quotes_are_literal(tmp_path):
    (path,) = write_health(
        tmp_path / "in" / "health_centres",
        tables={"NUTRITION": [["10669", 'A"1', "20260502", "15", "100"]]},
    )
    table = health_centres.read(path, tmp_path / "in", RUN, MONTH).tables["health_nutrition"]
    assert table["PID"].tolist() == ['A"1']


def test_cpis_reader_with_and_without_bom(tmp_path):
    for bom in (True, False):
        path = write_cpis(tmp_path / f"in{bom}" / "cpis" / "cpis_cases_202605.csv", bom=bom)
        table = cpis.read(path, path.parents[1], RUN, MONTH).tables["cpis"]
        assert table.columns[0] == "case_id"
        assert table["case_id"].tolist() == ["CP-2026-000001", "CP-2026-000002"]
        assert table["risk_level"].tolist() == ["เหลือง", "RED"]
        assert table["_row"].tolist() == [2, 3]


def test_epassbook_reader_flattens_members(tmp_path):
    second = {**FAMILY, "family_id": "FP-1011-000124", "members": [], "problems": []}
    path = write_epassbook(
        tmp_path / "in" / "epassbook" / "epassbook_202605.jsonl", [FAMILY, second]
    )
    table = epassbook.read(path, tmp_path / "in", RUN, MONTH).tables["epassbook"]
    assert list(table.columns) == [*epassbook.COLUMNS, *PROVENANCE]
    assert table["family_id"].tolist() == ["FP-1011-000123"] * 3 + ["FP-1011-000124"]
    assert table["member_no"].tolist()[:3] == ["1", "2", "3"]
    assert pd.isna(table["member_no"].iloc[3])  # a family without members is kept, one row
    assert table["income_per_month"].iloc[0] == "8500"
    assert table["problems"].iloc[0] == '["INCOME", "DEBT"]'
    assert table["disability"].tolist()[:3] == ["false", "false", "true"]
    assert pd.isna(table["road"].iloc[0])  # JSON null stays missing
    assert table["_row"].tolist() == [1, 1, 1, 2]
    assert epassbook.record_key(table).tolist()[:3] == [
        "FP-1011-000123:1",
        "FP-1011-000123:2",
        "FP-1011-000123:3",
    ]
