"""Conform + standardise on hand-made rows: exact standard values, quarantine and accounting."""

from __future__ import annotations

import types

import pandas as pd
import pytest
from source_files import (
    FAMILY,
    MOTHER,
    PID_A,
    PID_B,
    SCHOOL_ROWS,
    write_cpis,
    write_epassbook,
    write_health,
    write_schools,
    write_workbook,
)

from schemas.columns import PERSON, QUARANTINE
from sources import child_centres, cpis, epassbook, health_centres, schools
from sources.base import RawBatch
from sources.standardise import AccountingError, standardise

RUN, MONTH = "run-9", "202605"
TS = pd.Timestamp


def _run(module, paths, incoming):
    batch = RawBatch.concat([module.read(p, incoming, RUN, MONTH) for p in paths])
    return standardise(module, batch, MONTH, RUN)


def _q(result):
    """Quarantine as (record_key, field, rule, value, action) tuples."""
    cols = ["record_key", "field", "rule", "value", "action"]
    q = result.quarantine[cols].astype(object)
    return sorted(tuple(r) for r in q.where(q.notna(), None).values.tolist())


def test_schools(tmp_path):
    path = write_schools(tmp_path / "in" / "schools" / "bma_students_202605.csv")
    res = _run(schools, [path], tmp_path / "in")
    p = res.persons.set_index("record_key")
    assert list(res.persons.columns) == list(PERSON)
    first = p.loc["10110003:00123"]
    assert (first["pid"], first["pid_status"]) == (PID_A, "valid")  # dashed PID
    assert (first["prefix"], first["given_name"], first["family_name"]) == ("ด.ญ.", "ฟ้าใส", "ใจดี")
    # the school's own English spelling wins over RTGS
    assert (first["given_name_rom"], first["family_name_rom"]) == ("fahsai", "jaidee")
    assert (first["sex"], first["birth_date"], first["birth_date_precision"]) == (
        "F",
        TS("2020-03-05"),
        "day",
    )  # 05/03/2563 BE
    assert (first["guardian_name"], first["guardian_relation"], first["guardian_phone"]) == (
        "สมศรี ใจดี",
        "มารดา",
        "+66812345678",
    )
    assert (first["district_code"], first["subdistrict_code"]) == ("1011", "101101")
    second = p.loc["10110003:00124"]
    assert (second["gcode"], second["pid_status"]) == ("G123456789012", "gcode")
    assert pd.isna(second["pid"])
    assert second["given_name"] == "สมชาย"  # spaces around the name removed
    assert second["given_name_rom"] == "somchai"  # RTGS from the Thai: no English given
    assert second["sex"] == "M"  # เด็กชาย beats the sex column's หญิง
    assert pd.isna(second["birth_date"])  # 31/02/2561
    assert second["guardian_name"] == "สมหมาย รักเรียน"  # spaced prefix นาย removed
    assert second["subdistrict_code"] == "101105"  # ทับยาว in ลาดกระบัง
    third = p.loc["10110003:00125"]
    assert pd.isna(third["pid"]) and third["pid_status"] == "invalid"
    assert third["birth_date"] == TS("2024-02-29")  # 29/02/2567 BE is a leap day
    assert _q(res) == [
        ("10110003:00124", "birth_date", "impossible_date", "31/02/2561", "value"),
        ("10110003:00124", "sex", "sex_prefix_mismatch", "หญิง", "value"),
        ("10110003:00125", "pid", "invalid_pid", "12345", "value"),
    ]
    enrol = res.events["school_enrolment"].set_index("record_key")
    assert enrol["grade"].tolist() == ["ป.1", "ป.3", "อ.1"]
    assert enrol["absent_days"].tolist() == [2, 0, 1]
    assert enrol["poor"].tolist()[0] is True and pd.isna(enrol["poor"].iloc[1])
    assert enrol["weight_kg"].tolist()[::2] == [20.5, 15.0]
    assert res.accounting[["rows_in", "standardised"]].values.tolist() == [[3, 3]]


def test_child_centres(tmp_path):
    path = write_workbook(tmp_path / "in" / "child_centres" / "ccd_202605.xlsx")
    res = _run(child_centres, [path], tmp_path / "in")
    p = res.persons.set_index("record_key")
    sheet = "ศพด.ชุมชนลาดกระบัง"
    assert p.index.tolist() == [f"{sheet}:R001", f"{sheet}:R002", f"{sheet}:R003"]
    # an Excel date cell, Thai text and BE dd/mm/yyyy
    assert p["birth_date"].tolist() == [TS("2020-03-05"), TS("2020-03-05"), TS("2019-03-05")]
    # text PID, a PID number cell recovered, a float that lost a digit
    assert p["pid"].tolist()[:2] == [PID_A, PID_B] and pd.isna(p["pid"].iloc[2])
    assert p["pid_status"].tolist() == ["valid", "valid", "invalid"]
    assert p["prefix"].tolist() == ["ด.ญ.", "ด.ช.", "ด.ช."]
    assert p["given_name"].tolist() == ["ฟ้าใส", "มานะ", "ปิติ"]  # doubled space handled
    assert p["sex"].tolist() == ["F", "M", "M"]  # from the prefix: no sex column
    assert p["nickname"].tolist() == ["ฟ้า", "บีม", "Mew"]
    assert p["subdistrict_code"].tolist() == ["101101", "101101", "101105"]
    assert p["guardian_phone"].tolist()[:2] == ["+66812345678"] * 2
    assert _q(res) == [(f"{sheet}:R003", "pid", "invalid_pid", "1.10370012345E12", "value")]
    enrol = res.events["centre_enrolment"]
    assert enrol["development_result"].tolist()[:2] == ["สมวัย", "สงสัยล่าช้า"]
    assert enrol["centre_name"].unique().tolist() == [sheet]
    growth = res.events["growth"]
    assert growth["event_key"].tolist() == [f"{sheet}:R001:202605", f"{sheet}:R002:202605"]
    assert growth["date_serv"].unique().tolist() == [TS("2026-05-31")]


def test_health_centres(tmp_path):
    paths = write_health(tmp_path / "in" / "health_centres")
    res = _run(health_centres, paths, tmp_path / "in")
    p = res.persons.set_index("record_key")
    assert p.index.tolist() == ["10669:000101", "10669:000102", "10669:000103"]
    assert res.excluded["record_key"].tolist() == ["10669:000104"]  # the mother
    assert p["pid_status"].tolist() == ["valid", "missing", "valid"]  # category 0 is valid
    assert p["is_placeholder_name"].tolist() == [False, True, True]
    assert p["given_name"].iloc[0] == "ฟ้าใส" and p["given_name"].iloc[1:].isna().all()
    assert p["family_name"].tolist() == ["ใจดี"] * 3
    assert p["prefix"].tolist() == ["ด.ญ.", "ด.ช.", "ด.ช."]
    assert p["sex"].tolist() == ["F", "M", "M"]
    assert p["birth_date_precision"].tolist() == ["day", "day", "year"]  # YYYY0101
    assert p["mother_pid"].tolist()[:2] == [MOTHER, MOTHER]
    assert p["subdistrict_code"].tolist()[:2] == ["104301", "104301"]
    assert p["district_code"].tolist()[:2] == ["1043", "1043"]
    assert _q(res) == [
        ("10669:000102", "date_serv", "impossible_date", "20261340", "row"),
        ("10669:000103", "guardian_phone", "invalid_phone", "0899", "value"),
        ("10669:000103", "sex", "sex_prefix_mismatch", "2", "value"),
        ("10669:000103", "subdistrict_code", "unknown_subdistrict", "999999", "value"),
    ]
    vac = res.events["vaccination"]
    assert vac["event_key"].tolist() == ["10669:000101:20260502:MMR1", "10669:000102:20260420:BCG"]
    assert vac["record_key"].tolist() == ["10669:000101", "10669:000102"]
    assert res.events["growth"][["weight_kg", "height_cm"]].values.tolist() == [[15.2, 101.5]]
    acc = res.accounting.set_index("table")
    assert acc.loc["health_person", ["rows_in", "standardised", "excluded"]].tolist() == [4, 3, 1]
    assert acc.loc[
        "health_epi", ["rows_in", "standardised", "quarantined_on_conform"]
    ].tolist() == [3, 2, 1]


def test_cpis(tmp_path):
    path = write_cpis(tmp_path / "in" / "cpis" / "cpis_cases_202605.csv")
    res = _run(cpis, [path], tmp_path / "in")
    p = res.persons.set_index("record_key")
    assert p.loc["CP-2026-000001", "birth_date_precision"] == "day"
    # no birth date: age 6 at opened_at 2026-05-03 -> 1 July 2020, precision 'age'
    second = p.loc["CP-2026-000002"]
    assert (second["birth_date"], second["birth_date_precision"], second["birth_year"]) == (
        TS("2020-07-01"),
        "age",
        2020,
    )
    assert second["sex"] == "M"  # 'ไม่ระบุ' in the sex column; the prefix เด็กชาย says M
    assert second["given_name"] == "มานะ"  # prefix glued to the name
    assert second["guardian_phone"] == "+6621234567"
    assert p["district_code"].tolist() == ["1011", "1011"]
    assert p["subdistrict_code"].iloc[0] == "101101"
    cases = res.events["protection_case"]
    assert cases["risk_colour"].tolist() == ["YELLOW", "RED"]  # เหลือง
    assert cases["closed_at"].iloc[1] == TS("2026-05-20") and pd.isna(cases["closed_at"].iloc[0])
    assert res.quarantine.empty


def test_epassbook(tmp_path):
    empty = {**FAMILY, "family_id": "FP-1011-000124", "members": [], "problems": ["DRUGS"]}
    path = write_epassbook(
        tmp_path / "in" / "epassbook" / "epassbook_202605.jsonl", [FAMILY, empty]
    )
    res = _run(epassbook, [path], tmp_path / "in")
    p = res.persons.set_index("record_key")
    assert p.index.tolist() == ["FP-1011-000123:2", "FP-1011-000123:3"]  # the children only
    assert res.excluded["record_key"].tolist() == ["FP-1011-000123:1"]
    assert p["birth_date"].tolist() == [TS("2020-03-05"), TS("2024-02-29")]  # BE ISO
    assert p["guardian_name"].tolist() == ["สมศรี ใจดี"] * 2  # the household head
    assert p["guardian_relation"].tolist() == ["มารดา"] * 2  # a female head of her บุตร
    assert p["mother_pid"].tolist() == [MOTHER] * 2
    assert p["family_ref"].tolist() == ["FP-1011-000123"] * 2
    assert p["guardian_phone"].tolist() == ["+66891234567"] * 2
    assert p["subdistrict_code"].tolist() == ["101101"] * 2
    problems = res.events["family_problem"]
    assert problems[["family_ref", "problem", "income_per_month"]].values.tolist() == [
        ["FP-1011-000123", "INCOME", 8500.0],
        ["FP-1011-000123", "DEBT", 8500.0],
        ["FP-1011-000124", "DRUGS", 8500.0],  # a family without members still has problems
    ]
    assert _q(res) == [("FP-1011-000124", "members", "no_members", None, "row")]
    assert problems["surveyed_at"].unique().tolist() == [TS("2026-05-12")]
    acc = res.accounting[["rows_in", "standardised", "excluded", "quarantined_on_conform"]]
    assert acc.values.tolist() == [[4, 2, 1, 1]]


def test_duplicate_record_key_is_quarantined_with_its_enrolment(tmp_path):
    path = write_schools(
        tmp_path / "in" / "schools" / "bma_students_202605.csv", SCHOOL_ROWS + SCHOOL_ROWS[:1]
    )
    res = _run(schools, [path], tmp_path / "in")
    assert res.persons["record_key"].tolist() == [
        "10110003:00123",
        "10110003:00124",
        "10110003:00125",
    ]
    dupes = res.quarantine[res.quarantine["rule"] == "unique_record_key"]
    assert dupes[["record_key", "action"]].values.tolist() == [["10110003:00123", "row"]] * 2
    assert len(res.events["school_enrolment"]) == 3
    acc = res.accounting.iloc[0]
    assert (acc["rows_in"], acc["standardised"], acc["quarantined_on_validate"]) == (4, 3, 1)
    assert list(res.quarantine.columns) == list(QUARANTINE)


def test_rows_quarantined_on_read_are_accounted(tmp_path):
    path = write_schools(
        tmp_path / "in" / "schools" / "bma_students_202605.csv", extra='10110003,"cut'
    )
    res = _run(schools, [path], tmp_path / "in")
    acc = res.accounting.iloc[0]
    assert (acc["rows_in"], acc["standardised"], acc["quarantined_on_read"]) == (4, 3, 1)
    assert "truncated_row" in set(res.quarantine["rule"])


def test_accounting_catches_a_row_lost_in_code(tmp_path):
    path = write_schools(tmp_path / "in" / "schools" / "bma_students_202605.csv")
    leaky = types.SimpleNamespace(
        **{k: getattr(schools, k) for k in dir(schools) if not k.startswith("__")}
    )

    def conform(raw, month, run_id):
        result = schools.conform(raw, month, run_id)
        result.persons = result.persons.iloc[1:]  # a bug drops a child silently
        return result

    leaky.conform = conform
    batch = schools.read(path, tmp_path / "in", RUN, MONTH)
    with pytest.raises(AccountingError, match="schools/schools: 3 rows in but 2 accounted for"):
        standardise(leaky, batch, MONTH, RUN)


def test_missing_record_key_is_a_row_quarantine(tmp_path):
    rows = [dict(SCHOOL_ROWS[0], **{"เลขประจำตัวนักเรียน": " "}), SCHOOL_ROWS[1]]
    path = write_schools(tmp_path / "in" / "schools" / "bma_students_202605.csv", rows)
    res = _run(schools, [path], tmp_path / "in")
    assert len(res.persons) == 1
    q = res.quarantine[res.quarantine["rule"] == "missing_record_key"]
    assert q[["field", "action"]].values.tolist() == [["record_key", "row"]]


# Dirt after which the PID or day-precise birth date cannot be recovered from the record; a
# newborn without a CID yet has no PID to recover either.
@pytest.mark.slow
def test_generated_extracts_end_to_end(tmp_path):
    generator = pytest.importorskip("sources.generator")
    import datetime as dt

    from sources.landing import RawZone, land_incoming
    from sources.registry import SOURCES

    gen = generator.generate(1500, seed=7, out_dir=tmp_path / "gen", file_dirt=True)
    zone = RawZone(tmp_path / "raw")
    report = land_incoming(gen.incoming, zone, RUN, today=dt.date(2026, 6, 15))
    assert set(report["status"]) == {"landed"}
    persons, excluded = [], []
    for name, module in SOURCES.items():
        res = standardise(module, zone.read_batch(name, MONTH), MONTH, RUN)
        acc = res.accounting
        out = acc[
            [
                "standardised",
                "excluded",
                "quarantined_on_read",
                "quarantined_on_conform",
                "quarantined_on_validate",
            ]
        ].sum(axis=1)
        assert (acc["rows_in"] == out).all(), name  # rows in = standardised + quarantined
        persons.append(res.persons)
        excluded.append(res.excluded.assign(source=name))
    persons = pd.concat(persons, ignore_index=True)
    records = pd.read_parquet(gen.truth_records)
    truth = persons.merge(records, on=["source", "record_key"], how="left", validate="1:1")
    assert truth["person_id"].notna().all()  # every standardised record is a real record
    assert truth["is_child"].all()  # parents in health and epassbook files are not persons
    adults = records[~records["is_child"]]
    left_out = pd.concat(excluded)[["source", "record_key"]]
    assert len(adults.merge(left_out, on=["source", "record_key"])) == len(adults)
    truth = truth.merge(pd.read_parquet(gen.truth_persons), on="person_id", suffixes=("", "_true"))
    tags = truth["dirt"].fillna("").str.split(";")
    lost = generator.UNRECOVERABLE | {"newborn_no_cid"}
    recoverable = ~tags.map(lambda t: bool(lost.intersection(t)))
    assert recoverable.mean() > 0.97
    for col in ("pid", "sex", "birth_date"):
        same = (truth[col] == truth[f"{col}_true"]) | (
            truth[col].isna() & truth[f"{col}_true"].isna()
        )
        assert same.fillna(False)[recoverable].mean() >= 0.995, col
