"""MSDHS child protection cases: ``cpis/cpis_cases_<YYYYMM>.csv`` (UTF-8 CSV with BOM)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schemas.areas import is_valid_district_code, parse_address
from schemas.dates import birth_date_from_age, parse_dmy, parse_iso
from schemas.names import split_full_name
from schemas.thai_text import normalise_thai
from sources.base import ConformResult, RawBatch
from sources.common import (
    Quarantine,
    assemble_persons,
    blank,
    date_columns,
    delivery_horizon,
    guardian_name,
    join_key,
    month_end,
    nulled,
    person_names,
    phone_column,
    pid_columns,
    reject_missing_keys,
    sex_column,
)
from sources.delimited import read_delimited

NAME = "cpis"
SUBDIR = "cpis"
FILE_PATTERN = r"cpis_cases_(?P<month>\d{6})\.csv"
FILE_EXAMPLE = "cpis_cases_<YYYYMM>.csv"
TABLES = {"": "cpis"}
KIND = {"cpis": "delta"}
PRIMARY = {"cpis": "persons"}
COLUMNS = (
    "case_id",
    "opened_at",
    "child_cid",
    "child_name",
    "sex",
    "birth_date",
    "age_years",
    "district_code",
    "address_text",
    "case_type",
    "risk_level",
    "status",
    "closed_at",
    "guardian_name",
    "guardian_phone",
)


def read(path: Path, incoming: Path, run_id: str, month: str) -> RawBatch:
    """Read a CPIS case extract exactly as delivered (UTF-8 CSV; the BOM is optional).

    Args:
        path: The delivered file.
        incoming: The incoming folder.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.

    Returns:
        Raw table ``cpis`` (one row per case); unreadable rows in quarantine.

    Raises:
        ExtractError: Wrong encoding, missing or renamed column, 0-byte file (header only is
            valid: no case opened or updated that month).
    """
    return read_delimited(
        path,
        incoming,
        source=NAME,
        table="cpis",
        encoding="utf-8",
        sep=",",
        quoted=True,
        required=COLUMNS,
        run_id=run_id,
        month=month,
        header_only_ok=True,
    )


def record_key(raw_df: pd.DataFrame) -> pd.Series:
    """``case_id``; NA when blank."""
    return join_key(raw_df["case_id"])


SEX = {"M": "M", "F": "F", "ไม่ระบุ": None}
RISK = {
    "GREEN": "GREEN",
    "YELLOW": "YELLOW",
    "RED": "RED",
    "เขียว": "GREEN",
    "เหลือง": "YELLOW",
    "แดง": "RED",
}


def _birth(df: pd.DataFrame, key: pd.Series, q: Quarantine, month: str) -> pd.DataFrame:
    """BE ``dd/mm/yyyy`` birth date, else an estimate from ``age_years`` at ``opened_at``."""
    table = "cpis"
    parsed = parse_dmy(df["birth_date"], "BE", month_end(month))
    opened = parse_iso(df["opened_at"], "CE", delivery_horizon(month))["date"]
    from_age = birth_date_from_age(df["age_years"].mask(blank(df["age_years"])), opened)
    use_age = parsed["date"].isna() & parsed["rule"].isna() & ~blank(df["age_years"])
    born = date_columns(parsed, df["birth_date"], df, key, q, table)
    aged = date_columns(from_age.where(use_age), df["age_years"], df, key, q, table)
    return born.where(~use_age, aged).astype(born.dtypes.to_dict())


def conform(raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Map case rows to ``PERSON`` rows (one per case) and ``protection_case`` events.

    Birth dates are BE ``dd/mm/yyyy``; where blank, ``age_years`` at ``opened_at`` gives an
    estimate with precision ``age``. Risk levels typed in Thai become GREEN/YELLOW/RED.

    Args:
        raw: The batch read by ``read``.
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Persons, ``{"protection_case": ...}`` and the quarantine of this step.
    """
    table = "cpis"
    q = Quarantine(NAME, month, run_id)
    df, key = reject_missing_keys(raw.tables[table], record_key(raw.tables[table]), q, table)
    names = person_names(split_full_name(df["child_name"]))
    district = df["district_code"].astype("str").str.strip()
    district = nulled(
        district,
        ~is_valid_district_code(district) & ~blank(district),
        df["district_code"],
        df,
        key,
        q,
        field="district_code",
        rule="unknown_district",
        table=table,
    )
    area = parse_address(df["address_text"])
    persons = assemble_persons(
        NAME,
        month,
        key,
        {
            **pid_columns(df["child_cid"], df, key, q, table),
            **names,
            "sex": sex_column(df["sex"], SEX, names["prefix"], df, key, q, table),
            **_birth(df, key, q, month),
            "guardian_name": guardian_name(df["guardian_name"]),
            "guardian_phone": phone_column(df["guardian_phone"], df, key, q, table),
            "address_text": normalise_thai(df["address_text"]),
            "district_code": district.mask(district == "").fillna(area["district_code"]),
            "subdistrict_code": area["subdistrict_code"],
        },
    )
    risk_text = df["risk_level"].astype("str").str.strip()
    closed = parse_iso(df["closed_at"], "CE", delivery_horizon(month))
    closed_at = nulled(
        closed["date"],
        closed["rule"].notna(),
        df["closed_at"],
        df,
        key,
        q,
        field="closed_at",
        rule=closed["rule"],
        table=table,
    )
    cases = pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "case_id": key,
            "opened_at": parse_iso(df["opened_at"], "CE", delivery_horizon(month))["date"],
            "case_type": df["case_type"].astype("str").str.strip().str.upper(),
            "risk_colour": risk_text.str.upper().map(RISK).fillna(risk_text.map(RISK)),
            "status": df["status"].astype("str").str.strip().str.upper(),
            "closed_at": closed_at,
        }
    ).reset_index(drop=True)
    return ConformResult(persons, {"protection_case": cases}, q.frame())
