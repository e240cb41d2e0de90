"""Public health centre files (MoPH 43-file style): PERSON, EPI and NUTRITION per HOSPCODE."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from schemas.areas import district_of_subdistrict
from schemas.dates import age_at, parse_yyyymmdd
from schemas.names import canonical_prefix
from schemas.thai_text import join_text, normalise_thai
from sources.base import ConformResult, RawBatch, empty_event, empty_persons
from sources.common import (
    Quarantine,
    assemble_persons,
    blank,
    date_columns,
    delivery_horizon,
    join_key,
    measurement,
    month_end,
    names_from_parts,
    nulled,
    parent_pid,
    person_names,
    phone_column,
    pid_columns,
    reject_missing_keys,
    sex_column,
)
from sources.delimited import read_delimited

NAME = "health_centres"
SUBDIR = "health_centres"
FILE_PATTERN = r"(?P<hospcode>\d{5})_(?P<table>PERSON|EPI|NUTRITION)_(?P<month>\d{6})\.txt"
FILE_EXAMPLE = "<HOSPCODE>_PERSON|EPI|NUTRITION_<YYYYMM>.txt"
TABLES = {"PERSON": "health_person", "EPI": "health_epi", "NUTRITION": "health_nutrition"}
KIND = {"health_person": "snapshot", "health_epi": "delta", "health_nutrition": "delta"}
PRIMARY = {"health_person": "persons", "health_epi": "vaccination", "health_nutrition": "growth"}
COLUMNS = {
    "health_person": (
        "HOSPCODE",
        "CID",
        "PID",
        "HN",
        "PRENAME",
        "NAME",
        "LNAME",
        "SEX",
        "BIRTH",
        "MOTHER",
        "FATHER",
        "HOUSE_NO",
        "ROAD",
        "TAMBON",
        "TYPEAREA",
        "MOBILE",
        "D_UPDATE",
    ),
    "health_epi": ("HOSPCODE", "PID", "DATE_SERV", "VACCINETYPE"),
    "health_nutrition": ("HOSPCODE", "PID", "DATE_SERV", "WEIGHT", "HEIGHT"),
}


def read(path: Path, incoming: Path, run_id: str, month: str) -> RawBatch:
    """Read one health-centre file (pipe-delimited UTF-8, a BOM tolerated, quotes literal).

    Args:
        path: The delivered file; its name says which table it is.
        incoming: The incoming folder.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.

    Returns:
        One raw table (``health_person``, ``health_epi`` or ``health_nutrition``); rows with the
        wrong number of fields in quarantine (``truncated_row`` / ``bad_field_count``).

    Raises:
        ExtractError: Wrong encoding, missing field, empty file (header-only EPI and NUTRITION
            files are valid: no services that month).
    """
    table = TABLES[re.fullmatch(FILE_PATTERN, Path(path).name)["table"]]
    return read_delimited(
        path,
        incoming,
        source=NAME,
        table=table,
        encoding="utf-8",
        sep="|",
        quoted=False,
        required=COLUMNS[table],
        run_id=run_id,
        month=month,
        header_only_ok=KIND[table] == "delta",
    )


def record_key(raw_df: pd.DataFrame) -> pd.Series:
    """``<HOSPCODE>:<PID>`` (the centre's own person number), for every table."""
    return join_key(raw_df["HOSPCODE"], raw_df["PID"])


SEX = {"1": "M", "2": "F"}


def _person(df: pd.DataFrame, month: str, q: Quarantine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Children of the PERSON file as ``PERSON`` rows, and the adults (parents) left out."""
    table = "health_person"
    df, key = reject_missing_keys(df, record_key(df), q, table)
    ref = month_end(month)
    birth = parse_yyyymmdd(df["BIRTH"], ref)
    prefix = canonical_prefix(df["PRENAME"])
    # The file lists the centre's whole population: parents are not children.
    age = age_at(birth["date"], ref)
    adult = ((age >= 18).fillna(False) | (age.isna() & (prefix == "นาง"))).to_numpy(dtype=bool)
    excluded = pd.DataFrame({"_table": table, "record_key": key[adult], "reason": "adult_person"})
    df, key, birth, prefix = df[~adult], key[~adult], birth[~adult], prefix[~adult]
    prefix = nulled(
        prefix,
        prefix.isna() & ~blank(df["PRENAME"]),
        df["PRENAME"],
        df,
        key,
        q,
        field="prefix",
        rule="unknown_prename",
        table=table,
    )
    names = names_from_parts(prefix, df["NAME"], df["LNAME"])
    tambon = df["TAMBON"].astype("str").str.strip()
    district = district_of_subdistrict(tambon)
    unknown = district.isna() & ~blank(df["TAMBON"])
    district = nulled(
        district,
        unknown,
        df["TAMBON"],
        df,
        key,
        q,
        field="subdistrict_code",
        rule="unknown_subdistrict",
        table=table,
    )
    persons = assemble_persons(
        NAME,
        month,
        key,
        {
            **pid_columns(df["CID"], df, key, q, table),
            **person_names(names),
            "sex": sex_column(df["SEX"], SEX, names["prefix"], df, key, q, table),
            **date_columns(birth, df["BIRTH"], df, key, q, table),
            "guardian_phone": phone_column(df["MOBILE"], df, key, q, table),
            "mother_pid": parent_pid(df["MOTHER"], df, key, q, table),
            "address_text": normalise_thai(join_text([df["HOUSE_NO"], df["ROAD"]], sep=" ")),
            "district_code": district,
            "subdistrict_code": tambon.where(district.notna()),
        },
    )
    return persons, excluded.reset_index(drop=True)


def _service_date(
    df: pd.DataFrame, key: pd.Series, q: Quarantine, table: str, month: str
) -> tuple[pd.Series, pd.Series]:
    """DATE_SERV parsed; a row without a usable service date is quarantined (it has no event)."""
    parsed = parse_yyyymmdd(df["DATE_SERV"], delivery_horizon(month), year_only_marker=False)
    bad = parsed["date"].isna()
    rule = parsed["rule"].fillna("missing_date")
    for name in rule[bad].unique():
        q.add(
            bad & (rule == name),
            df,
            key,
            field="date_serv",
            rule=name,
            value=df["DATE_SERV"],
            action="row",
            table=table,
        )
    return parsed["date"].astype("datetime64[ms]"), ~bad


def _vaccination(df: pd.DataFrame, month: str, q: Quarantine) -> pd.DataFrame:
    table = "health_epi"
    df, key = reject_missing_keys(df, record_key(df), q, table)
    date, ok = _service_date(df, key, q, table, month)
    vaccine = df["VACCINETYPE"].astype("str").str.strip().str.upper()
    return pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "event_key": key + ":" + df["DATE_SERV"].str.strip() + ":" + vaccine,
            "date_serv": date,
            "vaccine": vaccine,
        }
    )[ok].reset_index(drop=True)


def _growth(df: pd.DataFrame, month: str, q: Quarantine) -> pd.DataFrame:
    table = "health_nutrition"
    df, key = reject_missing_keys(df, record_key(df), q, table)
    date, ok = _service_date(df, key, q, table, month)
    return pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "event_key": key + ":" + df["DATE_SERV"].str.strip(),
            "date_serv": date,
            "weight_kg": measurement(
                df["WEIGHT"], 0.5, 150, df, key, q, field="weight_kg", table=table
            ),
            "height_cm": measurement(
                df["HEIGHT"], 30, 200, df, key, q, field="height_cm", table=table
            ),
        }
    )[ok].reset_index(drop=True)


def conform(raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Map PERSON rows to ``PERSON``, EPI to ``vaccination`` and NUTRITION to ``growth``.

    PERSON lists everyone registered at the centre; adults (18 or over at the end of the month,
    or ``นาง`` with no birth date) are parents, not children, and are returned in ``excluded``.

    Dates are CE ``YYYYMMDD`` (``YYYY0101`` = year only); prefixes are PRENAME codes; placeholder
    names of newborns (``ทารก``, ``บุตรนาง…``) are flagged and their given name nulled; areas come
    from the TAMBON code; ``mother_pid`` from MOTHER. Events keep the person's record key
    ``<HOSPCODE>:<PID>``.

    Args:
        raw: The batch read by ``read`` (any of the three tables, several centres).
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Persons, ``{"vaccination": ..., "growth": ...}`` and the quarantine of this step.
    """
    q = Quarantine(NAME, month, run_id)
    tables = raw.tables
    persons, excluded = (
        _person(tables["health_person"], month, q)
        if "health_person" in tables
        else (empty_persons(), pd.DataFrame({"_table": []}, dtype="str"))
    )
    events = {
        "vaccination": _vaccination(tables["health_epi"], month, q)
        if "health_epi" in tables
        else empty_event("vaccination"),
        "growth": _growth(tables["health_nutrition"], month, q)
        if "health_nutrition" in tables
        else empty_event("growth"),
    }
    return ConformResult(persons, events, q.frame(), excluded=excluded)
