"""Pandera models, row-level quarantine, the quality summary and the data dictionary."""

import pandas as pd
import pytest

from schemas import columns
from schemas.dictionary import data_dictionary_markdown
from schemas.models import (
    MODELS,
    CentreEnrolment,
    FamilyProblem,
    Growth,
    ProtectionCase,
    SchoolEnrolment,
    StandardPerson,
    Vaccination,
)
from schemas.quality import StructuralSchemaError, quality_summary, validate_with_quarantine

TABLE_COLUMNS = {"person": columns.PERSON, "quarantine": columns.QUARANTINE, **columns.EVENT_TABLES}


def person(**changes) -> dict:
    """A made-up, valid school child; keyword arguments change single fields."""
    row = {
        "source": "schools",
        "record_key": "10110003:0001",
        "month": "202403",
        "pid": "1103701234563",
        "pid_status": "valid",
        "gcode": None,
        "prefix": "ด.ญ.",
        "given_name": "ฟ้าใส",
        "family_name": "ใจดี",
        "given_name_rom": "fasai",
        "family_name_rom": "chaidi",
        "given_name_key": "ฟ-ส",
        "family_name_key": "จ-ด",
        "nickname": "ฟ้า",
        "sex": "F",
        "birth_date": pd.Timestamp("2015-03-15"),
        "birth_date_precision": "day",
        "birth_year": 2015,
        "guardian_name": "สมศรี ใจดี",
        "guardian_relation": "มารดา",
        "guardian_phone": "+66812345678",
        "mother_pid": None,
        "family_ref": None,
        "address_text": "12/3 ซ.ลาดกระบัง 24",
        "district_code": "1011",
        "subdistrict_code": "101101",
        "is_placeholder_name": False,
    }
    row.update(changes)
    return row


def frame(rows: list[dict], names: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(names), index=[f"r{i}" for i in range(len(rows))])


def test_models_cover_the_column_contract():
    assert set(MODELS) == set(TABLE_COLUMNS)
    for name, model in MODELS.items():
        schema = model.to_schema()
        assert set(schema.columns) == set(TABLE_COLUMNS[name]), name
        for field, column in schema.columns.items():
            assert column.description, f"{name}.{field} has no description"


def test_good_person_frame_passes_and_is_coerced():
    rows = [
        person(),
        # G-code learner, year-only birth date, no phone
        person(
            record_key="10110003:0002",
            pid=None,
            pid_status="gcode",
            gcode="G123456789012",
            birth_date=pd.Timestamp("2016-01-01"),
            birth_date_precision="year",
            birth_year=2016,
            guardian_phone=None,
        ),
        # category-0 PID, everything optional blank
        person(
            record_key="10110003:0003",
            pid="0103701234565",
            prefix=None,
            sex=None,
            birth_date=None,
            birth_date_precision=None,
            birth_year=None,
            district_code=None,
            subdistrict_code=None,
        ),
    ]
    df = frame(rows, columns.PERSON)
    valid, quarantine = validate_with_quarantine(df, StandardPerson, "schools", "run-1")
    assert valid.index.tolist() == ["r0", "r1", "r2"]
    assert len(quarantine) == 0 and list(quarantine.columns) == list(columns.QUARANTINE)
    assert quarantine.attrs["rows_quarantined"] == 0
    assert valid["birth_date"].dtype == "datetime64[ms]"
    assert str(valid["birth_year"].dtype) == "Int64"
    summary = quality_summary(len(df), valid, quarantine)
    assert summary.to_dict("records") == [
        {
            "source": "schools",
            "rows_in": 3,
            "standardised": 3,
            "quarantined": 0,
            "rule": summary["rule"].iloc[0],
            "count": 0,
        }
    ]
    assert pd.isna(summary["rule"].iloc[0])


def test_bad_person_rows_are_quarantined_with_rule_names():
    rows = [
        person(),  # r0 good
        person(record_key="k1", sex="X"),  # r1 sex not M/F
        person(record_key="k2", district_code="9999"),  # r2 not a Bangkok district
        person(),  # r3 duplicate of r0's key: only the copy goes
        person(record_key="k4", pid="110370123456"),  # r4 12-digit pid
        person(record_key="k5", birth_date=pd.Timestamp("1899-12-31"), birth_year=1899),  # r5
        person(record_key="k6", birth_date=pd.Timestamp("2025-05-01"), birth_year=2025),  # r6
        person(record_key="k7", birth_year="สองพัน"),  # r7 year that is no number
        person(record_key="k8", pid=None),  # r8 status valid without a pid
        person(record_key="k9", month="202413"),  # r9 no such month
        person(record_key="k10", guardian_phone="0812345678"),  # r10 not E.164
        person(record_key="k11", birth_date=pd.Timestamp("2024-06-01"), birth_year=2024),  # ok
    ]
    df = frame(rows, columns.PERSON)
    valid, quarantine = validate_with_quarantine(df, StandardPerson, "schools", "run-7")
    assert valid.index.tolist() == ["r0", "r11"]
    got = quarantine[["record_key", "month", "field", "rule", "value"]]
    got = [tuple(None if pd.isna(v) else v for v in row) for row in got.to_numpy()]
    assert got == [
        ("k1", "202403", "sex", "isin", "X"),
        ("k2", "202403", "district_code", "isin", "9999"),
        ("10110003:0001", "202403", "record_key", "unique_record_key", "10110003:0001"),
        ("k4", "202403", "pid", "str_matches", "110370123456"),
        ("k5", "202403", "birth_date", "greater_than_or_equal_to", "1899-12-31 00:00:00"),
        ("k5", "202403", "birth_year", "in_range", "1899"),
        ("k6", "202403", "birth_date", "birth_date_within_reporting_year", "2025-05-01 00:00:00"),
        ("k7", "202403", "birth_year", "coerce_dtype", "สองพัน"),
        ("k8", "202403", "pid_status", "pid_matches_status", "valid"),
        ("k9", None, "month", "str_matches", "202413"),  # an invalid month is not repeated
        ("k10", "202403", "guardian_phone", "str_matches", "0812345678"),
    ]
    assert set(quarantine["action"]) == {"row"} and set(quarantine["run_id"]) == {"run-7"}
    assert quarantine.attrs["rows_quarantined"] == 10
    assert len(df) == len(valid) + quarantine.attrs["rows_quarantined"]
    summary = quality_summary(len(df), valid, quarantine).set_index("rule")["count"].to_dict()
    assert summary == {
        "birth_date_within_reporting_year": 1,
        "coerce_dtype": 1,
        "greater_than_or_equal_to": 1,
        "in_range": 1,
        "isin": 2,
        "pid_matches_status": 1,
        "str_matches": 3,
        "unique_record_key": 1,
    }


def test_structural_error_raises_instead_of_quarantining_everything():
    df = frame([person()], columns.PERSON).drop(columns=["sex"])
    with pytest.raises(StructuralSchemaError, match="sex"):
        validate_with_quarantine(df, StandardPerson, "schools", "run-1")


def test_event_tables():
    school = frame(
        [
            {"source": "schools", "record_key": "10110003:0001", "month": "202403",
             "school_code": "10110003", "school_name": "โรงเรียนทดลอง", "grade": "ป.3",
             "absent_days": 2, "poor": True, "weight_kg": 25.5, "height_cm": 128.0},
            {"source": "schools", "record_key": "10110003:0002", "month": "202403",
             "school_code": "1011003", "school_name": None, "grade": "ป.7",
             "absent_days": -1, "poor": None, "weight_kg": 0.1, "height_cm": None},
        ],
        columns.SCHOOL_ENROLMENT,
    )  # fmt: skip
    valid, q = validate_with_quarantine(school, SchoolEnrolment, "schools", "run-1")
    assert valid.index.tolist() == ["r0"]
    assert sorted(zip(q["field"], q["rule"], strict=True)) == [
        ("absent_days", "greater_than_or_equal_to"),  # negative absences
        ("grade", "isin"),  # there is no ป.7
        ("school_code", "str_matches"),  # 7 digits
        ("weight_kg", "in_range"),  # 0.1 kg
    ]
    centre = frame(
        [{"source": "child_centres", "record_key": "ศพด.ชุมชนหนึ่ง:12", "month": "202403",
          "centre_name": "ศพด.ชุมชนหนึ่ง", "development_result": "สงสัยล่าช้า",
          "weight_kg": 14.0, "height_cm": 98.5}],
        columns.CENTRE_ENROLMENT,
    )  # fmt: skip
    assert len(CentreEnrolment.validate(centre)) == 1
    vaccination = frame(
        [
            {"source": "health_centres", "record_key": "12345:1103701234563", "month": "202403",
             "event_key": "12345:1:20240305:MMR1", "date_serv": "2024-03-05", "vaccine": "MMR1"},
            {"source": "health_centres", "record_key": "12345:1103701234563", "month": "202403",
             "event_key": "12345:1:20240305:MMR3", "date_serv": "2024-03-05", "vaccine": "MMR3"},
        ],
        columns.VACCINATION,
    )  # fmt: skip
    valid, q = validate_with_quarantine(vaccination, Vaccination, "health_centres", "run-1")
    assert valid["date_serv"].dtype == "datetime64[ms]"  # text coerced
    assert q[["field", "rule", "value"]].values.tolist() == [["vaccine", "isin", "MMR3"]]
    growth = frame(
        [
            {"source": "health_centres", "record_key": "12345:1103701234563", "month": "202403",
             "event_key": "e1", "date_serv": pd.Timestamp("2024-03-05"), "weight_kg": 12.5,
             "height_cm": 250.0},
            {"source": "health_centres", "record_key": "12345:1103701234563", "month": "202403",
             "event_key": "e1", "date_serv": pd.Timestamp("2024-03-06"), "weight_kg": 12.5,
             "height_cm": 90.0},
        ],
        columns.GROWTH,
    )  # fmt: skip
    valid, q = validate_with_quarantine(
        growth, Growth, "health_centres", "run-1", key_cols=("record_key", "event_key")
    )
    assert valid.empty  # first row too tall, second a duplicate event
    assert q[["record_key", "field", "rule"]].values.tolist() == [
        ["12345:1103701234563:e1", "height_cm", "in_range"],
        ["12345:1103701234563:e1", "event_key", "unique_event_key"],
    ]


def test_protection_case_and_family_problem():
    cases = frame(
        [
            {"source": "cpis", "record_key": "CP-2024-000001", "month": "202403",
             "case_id": "CP-2024-000001", "opened_at": pd.Timestamp("2024-03-01"),
             "case_type": "NEGLECT", "risk_colour": "RED", "status": "OPEN", "closed_at": None},
            {"source": "cpis", "record_key": "CP-2024-000002", "month": "202403",
             "case_id": "CP-2024-000002", "opened_at": pd.Timestamp("2024-03-10"),
             "case_type": "NEGLECT", "risk_colour": "แดง", "status": "CLOSED",
             "closed_at": pd.Timestamp("2024-03-01")},
        ],
        columns.PROTECTION_CASE,
    )  # fmt: skip
    valid, q = validate_with_quarantine(cases, ProtectionCase, "cpis", "run-1")
    assert valid["case_id"].tolist() == ["CP-2024-000001"]
    # Thai colour names must be mapped by the cpis source module before validation.
    assert sorted(zip(q["field"], q["rule"], strict=True)) == [
        ("closed_at", "closed_not_before_opened"),
        ("risk_colour", "isin"),
    ]
    problems = frame(
        [
            {"source": "epassbook", "family_ref": "FP-1011-000123", "month": "202403",
             "surveyed_at": pd.Timestamp("2023-05-12"), "problem": "INCOME",
             "income_per_month": 8500.0},
            {"source": "epassbook", "family_ref": "FP-1011-000123", "month": "202403",
             "surveyed_at": pd.Timestamp("2023-05-12"), "problem": "LOTTERY",
             "income_per_month": 8500.0},
        ],
        columns.FAMILY_PROBLEM,
    )  # fmt: skip
    valid, q = validate_with_quarantine(
        problems, FamilyProblem, "epassbook", "run-1", key_cols=("family_ref",)
    )
    assert len(valid) == 1
    assert q[["record_key", "month", "field", "rule"]].values.tolist() == [
        ["FP-1011-000123", "202403", "problem", "isin"]
    ]


def test_data_dictionary_lists_every_field():
    text = data_dictionary_markdown()
    for name, names in TABLE_COLUMNS.items():
        assert f"## `{name}`" in text
        for field in names:
            assert f"| `{field}` |" in text
    assert "| `birth_date` | datetime64[ms] | yes | CE birth date;" in text
    assert "`unique_record_key` (quarantined as field `record_key`)" in text
