"""BMA school student roster: ``schools/bma_students_<YYYYMM>.csv`` (cp874 CSV, Thai header)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schemas.areas import district_code_from_name, subdistrict_code_from_name
from schemas.dates import parse_dmy
from schemas.thai_text import PY_SPACE, join_text, normalise_thai
from sources.base import ConformResult, RawBatch
from sources.common import (
    Quarantine,
    assemble_persons,
    blank,
    date_columns,
    guardian_name,
    join_key,
    measurement,
    month_end,
    names_from_parts,
    nulled,
    person_names,
    phone_column,
    pid_columns,
    reject_missing_keys,
    sex_column,
)
from sources.delimited import read_delimited

NAME = "schools"
SUBDIR = "schools"
FILE_PATTERN = r"bma_students_(?P<month>\d{6})\.csv"
FILE_EXAMPLE = "bma_students_<YYYYMM>.csv"
TABLES = {"": "schools"}
KIND = {"schools": "snapshot"}
PRIMARY = {"schools": "persons"}
COLUMNS = (
    "รหัสโรงเรียน",
    "ชื่อโรงเรียน",
    "เลขประจำตัวนักเรียน",
    "เลขประจำตัวประชาชน",
    "คำนำหน้าชื่อ",
    "ชื่อ",
    "นามสกุล",
    "ชื่อภาษาอังกฤษ",
    "นามสกุลภาษาอังกฤษ",
    "เพศ",
    "วันเกิด",
    "ชั้น",
    "บ้านเลขที่",
    "ถนน/ซอย",
    "แขวง",
    "เขต",
    "ชื่อผู้ปกครอง",
    "ความเกี่ยวข้อง",
    "โทรศัพท์ผู้ปกครอง",
    "น้ำหนัก",
    "ส่วนสูง",
    "วันขาดเรียนสะสม",
    "นักเรียนยากจน",
)


def read(path: Path, incoming: Path, run_id: str, month: str) -> RawBatch:
    """Read a school roster exactly as delivered (Windows-874 CSV).

    Args:
        path: The delivered file.
        incoming: The incoming folder.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.

    Returns:
        Raw table ``schools``; truncated, mis-split and repeated-header rows in quarantine.

    Raises:
        ExtractError: Wrong encoding, missing or renamed column, empty file.
    """
    return read_delimited(
        path,
        incoming,
        source=NAME,
        table="schools",
        encoding="cp874",
        sep=",",
        quoted=True,
        required=COLUMNS,
        run_id=run_id,
        month=month,
    )


def record_key(raw_df: pd.DataFrame) -> pd.Series:
    """``<รหัสโรงเรียน>:<เลขประจำตัวนักเรียน>``; NA when either part is blank."""
    return join_key(raw_df["รหัสโรงเรียน"], raw_df["เลขประจำตัวนักเรียน"])


GRADES = {
    f"{level}{n}": f"{level}.{n}"
    for level, top in (("อ", 3), ("ป", 6), ("ม", 3))
    for n in range(1, top + 1)
}
SEX = {"ชาย": "M", "หญิง": "F"}
POOR = {"ใช่": True, "ไม่ใช่": False}


def conform(raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Map the roster to ``PERSON`` rows and ``school_enrolment`` events.

    Birth dates are BE ``dd/mm/yyyy``; district and subdistrict codes come from the Thai names;
    the romanised names are the school's own spelling where it gave one.

    Args:
        raw: The batch read by ``read``.
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Persons, ``{"school_enrolment": ...}`` and the quarantine of this step.
    """
    table = "schools"
    q = Quarantine(NAME, month, run_id)
    df, key = reject_missing_keys(raw.tables[table], record_key(raw.tables[table]), q, table)
    ref = month_end(month)
    names = person_names(
        names_from_parts(df["คำนำหน้าชื่อ"], df["ชื่อ"], df["นามสกุล"]),
        df["ชื่อภาษาอังกฤษ"].mask(blank(df["ชื่อภาษาอังกฤษ"])),
        df["นามสกุลภาษาอังกฤษ"].mask(blank(df["นามสกุลภาษาอังกฤษ"])),
    )
    district = district_code_from_name(df["เขต"])
    district = nulled(
        district,
        district.isna() & ~blank(df["เขต"]),
        df["เขต"],
        df,
        key,
        q,
        field="district_code",
        rule="unknown_district",
        table=table,
    )
    subdistrict = subdistrict_code_from_name(df["แขวง"], district)
    subdistrict = nulled(
        subdistrict,
        subdistrict.isna() & ~blank(df["แขวง"]),
        df["แขวง"],
        df,
        key,
        q,
        field="subdistrict_code",
        rule="unknown_subdistrict",
        table=table,
    )
    address = normalise_thai(
        join_text(
            [
                df["บ้านเลขที่"],
                df["ถนน/ซอย"],
                "แขวง" + df["แขวง"],
                "เขต" + df["เขต"].str.replace(f"^[{PY_SPACE}]*เขต", "", regex=True),
            ],
            sep=" ",
        )
    )
    persons = assemble_persons(
        NAME,
        month,
        key,
        {
            **pid_columns(df["เลขประจำตัวประชาชน"], df, key, q, table),
            **names[
                [
                    "prefix",
                    "given_name",
                    "family_name",
                    "given_name_rom",
                    "family_name_rom",
                    "given_name_key",
                    "family_name_key",
                    "is_placeholder_name",
                ]
            ],
            "sex": sex_column(df["เพศ"], SEX, names["prefix"], df, key, q, table),
            **date_columns(parse_dmy(df["วันเกิด"], "BE", ref), df["วันเกิด"], df, key, q, table),
            "guardian_name": guardian_name(df["ชื่อผู้ปกครอง"]),
            "guardian_relation": normalise_thai(df["ความเกี่ยวข้อง"]),
            "guardian_phone": phone_column(df["โทรศัพท์ผู้ปกครอง"], df, key, q, table),
            "address_text": address,
            "district_code": district,
            "subdistrict_code": subdistrict,
        },
    )
    grade_text = df["ชั้น"].astype("str").str.replace(f"[{PY_SPACE}.]", "", regex=True)
    grade = grade_text.map(GRADES).astype("str")
    grade = nulled(
        grade,
        grade.isna() & ~blank(df["ชั้น"]),
        df["ชั้น"],
        df,
        key,
        q,
        field="grade",
        rule="unknown_grade",
        table=table,
    )
    absent = measurement(df["วันขาดเรียนสะสม"], 0, 366, df, key, q, field="absent_days", table=table)
    absent = nulled(
        absent,
        absent.notna() & (absent % 1 != 0),
        df["วันขาดเรียนสะสม"],
        df,
        key,
        q,
        field="absent_days",
        rule="not_an_integer",
        table=table,
    )
    poor_text = df["นักเรียนยากจน"].astype("str").str.strip()
    poor = poor_text.map(POOR).astype("boolean")
    poor = nulled(
        poor,
        poor.isna() & ~blank(df["นักเรียนยากจน"]),
        df["นักเรียนยากจน"],
        df,
        key,
        q,
        field="poor",
        rule="unknown_value",
        table=table,
    )
    enrolment = pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "school_code": df["รหัสโรงเรียน"].str.strip(),
            "school_name": normalise_thai(df["ชื่อโรงเรียน"]),
            "grade": grade,
            "absent_days": absent.astype("Int64"),
            "poor": poor,
            "weight_kg": measurement(
                df["น้ำหนัก"], 0.5, 150, df, key, q, field="weight_kg", table=table
            ),
            "height_cm": measurement(
                df["ส่วนสูง"], 30, 200, df, key, q, field="height_cm", table=table
            ),
        }
    ).reset_index(drop=True)
    return ConformResult(persons, {"school_enrolment": enrolment}, q.frame())
