"""MSDHS electronic family passbook: ``epassbook/epassbook_<YYYYMM>.jsonl``, a family per line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.areas import is_valid_district_code, is_valid_subdistrict_code
from schemas.dates import age_at, parse_iso
from schemas.names import prefix_age_band
from schemas.thai_text import join_text, normalise_thai
from sources import jsonlines
from sources.base import ConformResult, RawBatch, add_provenance, quarantine_frame, relative_name
from sources.common import (
    Quarantine,
    assemble_persons,
    blank,
    date_columns,
    join_key,
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
from sources.delimited import decode
from sources.jsonlines import json_text, text_column

NAME = "epassbook"
SUBDIR = "epassbook"
FILE_PATTERN = r"epassbook_(?P<month>\d{6})\.jsonl"
FILE_EXAMPLE = "epassbook_<YYYYMM>.jsonl"
TABLES = {"": "epassbook"}
KIND = {"epassbook": "delta"}
PRIMARY = {"epassbook": "persons"}
FAMILY = ("family_id", "surveyed_at", "phone", "income_per_month", "problems")
ADDRESS = ("house_no", "soi", "road", "subdistrict_code", "district_code")
MEMBER = (
    "member_no",
    "cid",
    "title",
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "relation",
    "disability",
)
COLUMNS = (*FAMILY[:2], *ADDRESS, *FAMILY[2:], *MEMBER)


def _problems_text(values: list) -> pa.Array:
    """The ``problems`` lists as JSON text, each distinct list of codes dumped once."""
    # Only lists of strings are remembered, so a hit is a list of the same strings (a str
    # never equals a number or a boolean); a list holding a dict cannot be hashed: no lookup.
    seen: dict[tuple, str] = {}
    out = []
    for v in values:
        if type(v) is not list:
            out.append(json_text(v))
            continue
        key = tuple(v)
        try:
            text = seen.get(key)
        except TypeError:
            key, text = None, None
        if text is None:
            text = json_text(v)
            if key is not None and all(isinstance(x, str) for x in v):
                seen[key] = text
        out.append(text)
    return pa.array(out, pa.string())


def _flatten(docs: list[dict]) -> tuple[pa.Table, np.ndarray]:
    """One row per member (a family without members: one row), family fields repeated.

    Returns the table of ``COLUMNS`` as text and, per row, the index of its family in ``docs``.
    """
    addresses = [d.get("address") for d in docs]
    addresses = [a if isinstance(a, dict) else {} for a in addresses]
    members: list[dict | None] = []
    counts = np.empty(len(docs), dtype=np.int64)
    for i, doc in enumerate(docs):
        ms = doc.get("members")
        ms = [m for m in ms if isinstance(m, dict)] if isinstance(ms, list) else []
        # kept as one row so the family is accounted for (conform quarantines it)
        members.extend(ms or [None])
        counts[i] = len(ms) or 1
    family = np.repeat(np.arange(len(docs)), counts)
    take = pa.array(family, pa.int64())
    columns: dict[str, pa.Array] = {}
    for c in COLUMNS:
        if c in ADDRESS:
            columns[c] = text_column([a.get(c) for a in addresses]).take(take)
        elif c == "problems":
            columns[c] = _problems_text([d.get(c) for d in docs]).take(take)
        elif c in FAMILY:
            columns[c] = text_column([d.get(c) for d in docs]).take(take)
        else:
            columns[c] = text_column([m.get(c) if m is not None else None for m in members])
    return pa.table(columns), family


def read(path: Path, incoming: Path, run_id: str, month: str) -> RawBatch:
    """Read a family passbook extract: one row per member, family fields repeated.

    Args:
        path: The delivered JSON Lines file (UTF-8).
        incoming: The incoming folder.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.

    Returns:
        Raw table ``epassbook``; lines that are not a JSON object (a truncated last line ...) in
        quarantine as ``malformed_json`` with their line number.

    Raises:
        ExtractError: Wrong encoding or empty file.
    """
    data = Path(path).read_bytes()
    rel = relative_name(path, incoming)
    text = decode(data, rel, "utf-8")
    sha256 = hashlib.sha256(data).hexdigest()
    del data
    table, lines, bad = jsonlines.read_objects(text, _flatten)
    del text
    raw = add_provenance(
        table,
        file=rel,
        sha256=sha256,
        rows=lines,
        run_id=run_id,
        month=month,
    )
    batch = RawBatch({"epassbook": raw})
    if bad:
        where = pd.Series(bad, dtype="int64")
        batch.quarantine = pd.concat(
            [
                batch.quarantine,
                quarantine_frame(
                    source=NAME,
                    month=month,
                    run_id=run_id,
                    rule="malformed_json",
                    action="row",
                    field="_row",
                    value=rel + " line " + where.astype("str"),
                    table="epassbook",
                    file=rel,
                    row=where,
                ),
            ],
            ignore_index=True,
        )
    return batch


def record_key(raw_df: pd.DataFrame) -> pd.Series:
    """``<family_id>:<member_no>``; NA when either is missing."""
    return join_key(raw_df["family_id"], raw_df["member_no"])


SEX = {"ชาย": "M", "หญิง": "F"}
_CONFORM_COLUMNS = (
    *("family_id", "member_no", "surveyed_at", "cid", "title", "first_name", "last_name"),
    *("gender", "birth_date", "relation", "phone", "house_no", "soi", "road"),
    *("district_code", "subdistrict_code", "_file", "_row"),
)
HEAD, SPOUSE, CHILD = "หัวหน้าครอบครัว", "คู่สมรส", "บุตร"


def _members(df: pd.DataFrame, month: str) -> pd.DataFrame:
    """Per member: names, sex, dates, and whether the member is a child on ``surveyed_at``."""
    ref = month_end(month)
    names = names_from_parts(df["title"], df["first_name"], df["last_name"])
    born = parse_iso(df["birth_date"], "BE", ref, max_age=120)
    surveyed = parse_iso(df["surveyed_at"], "BE", ref, max_age=120)["date"]
    age = age_at(born["date"], surveyed.fillna(ref))
    childlike = (prefix_age_band(names["prefix"]) == "child") | df["relation"].isin([CHILD, "หลาน"])
    child = (age < 18).fillna(False) | (age.isna() & childlike.fillna(False))
    return pd.concat([names, born.add_prefix("birth_")], axis=1).assign(
        child=child.to_numpy(dtype=bool),
        surveyed_at=surveyed,
        sex_text=df["gender"].astype("str").str.strip(),
    )


def _parents(df: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Per member, of their family: head's name and sex, and the mother's PID (female head or
    female spouse); indexed by ``family_id``."""
    # only the columns needed: filtering and sorting the whole raw frame copied every column
    adults = df[["family_id", "relation", "cid"]].assign(
        name=(members["given_name"] + " " + members["family_name"].fillna("")).str.strip(),
        female=members["sex_text"].eq("หญิง").to_numpy(),
    )
    heads = adults[adults["relation"] == HEAD].drop_duplicates("family_id")
    mothers = adults[adults["relation"].isin([HEAD, SPOUSE]) & adults["female"]]
    mothers = mothers.sort_values("relation", key=lambda r: r != HEAD).drop_duplicates("family_id")
    # each looked up by the member's family directly (no frame aligned on all families first)
    ids = df["family_id"]
    heads, mothers = heads.set_index("family_id"), mothers.set_index("family_id")
    return pd.DataFrame(
        {
            "head_name": heads["name"].reindex(ids).array,
            "head_female": heads["female"].reindex(ids).array,
            "mother_cid": mothers["cid"].reindex(ids).array,
        },
        index=pd.Index(ids, name="family_id"),
    )


def conform(raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Map child members (under 18 on ``surveyed_at``) to ``PERSON`` rows and the family's
    problems to ``family_problem`` events.

    Adult members are not persons (they are recorded in ``excluded``); the household head's name
    is the children's guardian, the family id their ``family_ref``, and a female head or spouse's
    PID the ``mother_pid`` of the head's children. Dates are BE written ISO-style.

    Args:
        raw: The batch read by ``read``.
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Persons, ``{"family_problem": ...}``, the quarantine and the excluded adult members.
    """
    table = "epassbook"
    q = Quarantine(NAME, month, run_id)
    raw_df = raw.tables[table]
    no_members = raw_df["member_no"].isna() & raw_df["first_name"].isna()
    q.add(
        no_members,
        raw_df,
        raw_df["family_id"],
        field="members",
        rule="no_members",
        value=None,
        action="row",
        table=table,
    )
    # the member rows, with only the columns conform reads (row filters copy every column)
    members_df = raw_df.loc[~no_members, list(_CONFORM_COLUMNS)]
    df, key = reject_missing_keys(members_df, record_key(members_df), q, table)
    members = _members(df, month)
    family = _parents(df, members)
    kids = members["child"].to_numpy()
    excluded = pd.DataFrame({"_table": table, "record_key": key[~kids], "reason": "adult_member"})
    df, key, members, family = df[kids], key[kids], members[kids], family[kids]
    is_child_of_head = df["relation"].eq(CHILD).to_numpy()
    relation = np.where(
        is_child_of_head & family["head_female"].eq(True).to_numpy(),
        "มารดา",
        np.where(is_child_of_head & family["head_female"].eq(False).to_numpy(), "บิดา", HEAD),
    )
    mother = family["mother_cid"].where(is_child_of_head)
    area = {}
    for col, valid, rule in (
        ("district_code", is_valid_district_code, "unknown_district"),
        ("subdistrict_code", is_valid_subdistrict_code, "unknown_subdistrict"),
    ):
        code = df[col].astype("str").str.strip().mask(blank(df[col]))
        area[col] = nulled(
            code,
            ~valid(code) & ~blank(df[col]),
            df[col],
            df,
            key,
            q,
            field=col,
            rule=rule,
            table=table,
        )
    persons = assemble_persons(
        NAME,
        month,
        key,
        {
            **pid_columns(df["cid"], df, key, q, table),
            **person_names(members[["prefix", "given_name", "family_name"]]),
            "sex": sex_column(df["gender"], SEX, members["prefix"], df, key, q, table),
            **date_columns(
                members[[f"birth_{c}" for c in ("date", "precision", "rule", "note")]].set_axis(
                    ["date", "precision", "rule", "note"], axis=1
                ),
                df["birth_date"],
                df,
                key,
                q,
                table,
            ),
            "guardian_name": family["head_name"].where(df["relation"].ne(HEAD).to_numpy()),
            "guardian_relation": pd.Series(relation, dtype="str").where(
                family["head_name"].notna().to_numpy()
            ),
            "guardian_phone": phone_column(df["phone"], df, key, q, table),
            "mother_pid": parent_pid(mother.set_axis(df.index), df, key, q, table),
            "family_ref": df["family_id"].str.strip(),
            "address_text": normalise_thai(
                join_text([df["house_no"], df["soi"], df["road"]], sep=" ", na_rep="")
            ),
            **area,
        },
    )
    return ConformResult(
        persons,
        {"family_problem": _problems(raw_df, month, q)},
        q.frame(),
        excluded=excluded.reset_index(drop=True),
    )


def _problems(raw_df: pd.DataFrame, month: str, q: Quarantine) -> pd.DataFrame:
    """One row per (family, problem code) from the families in the batch."""
    used = ["family_id", "surveyed_at", "income_per_month", "problems", "_file", "_row"]
    fam = raw_df[used].drop_duplicates("family_id").dropna(subset=["family_id"])
    parsed = _json_lists(fam["problems"])
    bad = parsed.isna() & ~blank(fam["problems"])
    q.add(
        bad,
        fam,
        fam["family_id"],
        field="problems",
        rule="malformed_json",
        value=fam["problems"],
        action="value",
        table="epassbook",
    )
    income = pd.to_numeric(fam["income_per_month"], errors="coerce")
    out = (
        pd.DataFrame(
            {
                "source": NAME,
                "family_ref": fam["family_id"].str.strip(),
                "month": month,
                "surveyed_at": parse_iso(fam["surveyed_at"], "BE", month_end(month), max_age=120)[
                    "date"
                ],
                "problem": parsed,
                "income_per_month": income,
            }
        )
        .explode("problem")
        .dropna(subset=["problem"])
    )
    out["problem"] = out["problem"].astype("str").str.strip().str.upper()
    return out.reset_index(drop=True)


def _json_lists(text: pd.Series) -> pd.Series:
    """``_json_list`` of each value, parsed once per distinct text (missing stays missing)."""
    codes, uniques = pd.factorize(text)
    table = np.empty(len(uniques) + 1, dtype=object)  # filled one by one: the lists stay lists
    for i, value in enumerate(uniques):
        table[i] = _json_list(value)
    table[-1] = np.nan
    return pd.Series(table[codes], index=text.index, dtype=object)


def _json_list(text: str) -> list | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None
