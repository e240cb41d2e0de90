"""Helpers the source modules share when mapping raw rows to the standard.

Each helper takes raw text columns and returns standard columns, recording in a ``Quarantine`` log
every value it had to null (``action='value'``) or row it had to reject (``action='row'``). All of
them work on whole columns; expensive per-value work runs in ``schemas`` once per distinct value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from schemas.columns import PERSON
from schemas.dates import COLUMNS as DATE_COLUMNS
from schemas.names import (
    canonical_prefix,
    is_placeholder_name,
    normalise_latin_name,
    phonetic_key,
    prefix_sex,
    romanise,
    split_full_name,
    split_prefix,
)
from schemas.phones import normalise_phone
from schemas.pid import normalise_pid
from schemas.thai_text import arrow_text, join_text, map_distinct, normalise_thai
from sources.base import empty_quarantine, quarantine_frame, typed_persons


def join_key(*parts: pd.Series, sep: str = ":") -> pd.Series:
    """Join key parts with ``sep`` after trimming; NA when any part is blank or missing."""
    cleaned = [p.astype("str").str.strip() for p in parts]
    key = cleaned[0]
    for p in cleaned[1:]:
        key = key + sep + p
    blank = pd.concat([(p.isna() | (p == "")) for p in cleaned], axis=1).any(axis=1)
    return key.where(~blank)


def month_end(month: str) -> pd.Timestamp:
    """Last day of a ``YYYYMM`` reporting month: the reference date for plausibility checks."""
    return pd.Timestamp(f"{month[:4]}-{month[4:]}-01") + pd.offsets.MonthEnd(0)


def delivery_horizon(month: str) -> pd.Timestamp:
    """Latest plausible date of a service or case event in a month's extract.

    Extracts are produced some days into the next month, so an event dated early next month
    (a case opened on the 3rd) is real, not a future date.
    """
    return month_end(month) + pd.offsets.MonthEnd(1)


def blank(s: pd.Series) -> pd.Series:
    """True where a raw value is missing or only whitespace."""
    return s.isna() | (s.astype("str").str.strip() == "")


class Quarantine:
    """Collects quarantine rows for one source batch."""

    def __init__(self, source: str, month: str, run_id: str) -> None:
        self.source, self.month, self.run_id = source, month, run_id
        self.parts: list[pd.DataFrame] = []

    def add(
        self,
        mask: pd.Series,
        raw: pd.DataFrame,
        key: pd.Series,
        *,
        field: str,
        rule: str,
        value: pd.Series | None,
        action: str,
        table: str,
    ) -> None:
        """Quarantine the rows of ``raw`` where ``mask`` holds (``value`` is the offending text)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        self.parts.append(
            quarantine_frame(
                source=self.source,
                month=self.month,
                run_id=self.run_id,
                rule=rule,
                action=action,
                field=field,
                record_key=key[mask],
                value=None if value is None else value[mask].astype("str"),
                table=table,
                file=raw.loc[mask, "_file"],
                row=raw.loc[mask, "_row"],
            )
        )

    def frame(self) -> pd.DataFrame:
        """Everything collected, with the internal trace columns."""
        return pd.concat([empty_quarantine(trace=True), *self.parts], ignore_index=True)


def reject_missing_keys(
    raw: pd.DataFrame, key: pd.Series, q: Quarantine, table: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Quarantine rows without a record key (``missing_record_key``) and return the others."""
    missing = key.isna()
    q.add(
        missing,
        raw,
        key,
        field="record_key",
        rule="missing_record_key",
        value=None,
        action="row",
        table=table,
    )
    return raw[~missing], key[~missing]


def nulled(
    values: pd.Series,
    problem: pd.Series,
    raw_value: pd.Series,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    *,
    field: str,
    rule: str | pd.Series,
    table: str,
) -> pd.Series:
    """Null ``values`` where ``problem`` holds, quarantining the raw value (``action='value'``)."""
    problem = problem.fillna(False).astype(bool)
    if isinstance(rule, pd.Series):
        for name in rule[problem].dropna().unique():
            q.add(
                problem & (rule == name),
                raw,
                key,
                field=field,
                rule=str(name),
                value=raw_value,
                action="value",
                table=table,
            )
    else:
        q.add(
            problem, raw, key, field=field, rule=rule, value=raw_value, action="value", table=table
        )
    return values.mask(problem)


def one_chunk(s: pd.Series) -> pd.Series:
    """The same text Series backed by a single Arrow chunk.

    ``schemas.pid.normalise_pid`` reads Arrow buffers directly and (as of this writing) fails on
    a Series concatenated from several files or sheets, whose Arrow data has several chunks.
    """
    return pd.Series(s.astype("str").to_numpy(dtype=object), index=s.index, dtype="str")


def pid_columns(
    raw_pid: pd.Series, raw: pd.DataFrame, key: pd.Series, q: Quarantine, table: str
) -> pd.DataFrame:
    """``pid``, ``gcode``, ``pid_status``; an unusable PID is quarantined as ``invalid_pid``."""
    out = normalise_pid(one_chunk(raw_pid))
    q.add(
        out["pid_status"] == "invalid",
        raw,
        key,
        field="pid",
        rule="invalid_pid",
        value=raw_pid,
        action="value",
        table=table,
    )
    return out


def parent_pid(
    raw_pid: pd.Series,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    table: str,
    field: str = "mother_pid",
) -> pd.Series:
    """A parent's PID when it is a checked 13-digit PID; anything else typed is quarantined."""
    out = normalise_pid(one_chunk(raw_pid))
    ok = out["pid_status"].isin(["valid", "non_thai"])
    return nulled(
        out["pid"],
        ~ok & ~blank(raw_pid),
        raw_pid,
        raw,
        key,
        q,
        field=field,
        rule="invalid_pid",
        table=table,
    )


def date_columns(
    parsed: pd.DataFrame,
    raw_value: pd.Series,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    table: str,
    field: str = "birth_date",
) -> pd.DataFrame:
    """Birth date, precision and year from a ``schemas.dates`` frame; failures quarantined."""
    parsed = parsed[list(DATE_COLUMNS)]
    nulled(
        parsed["date"],
        parsed["rule"].notna(),
        raw_value,
        raw,
        key,
        q,
        field=field,
        rule=parsed["rule"],
        table=table,
    )
    date = parsed["date"].astype("datetime64[ms]")
    return pd.DataFrame(
        {
            "birth_date": date,
            "birth_date_precision": parsed["precision"].where(date.notna()).astype("str"),
            "birth_year": date.dt.year.astype("Int64"),
        },
        index=parsed.index,
    )


def phone_column(
    raw_phone: pd.Series,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    table: str,
    field: str = "guardian_phone",
) -> pd.Series:
    """E.164 phone; an unusable one is quarantined as ``invalid_phone``."""
    out = normalise_phone(raw_phone)
    q.add(
        out["rule"].notna(),
        raw,
        key,
        field=field,
        rule="invalid_phone",
        value=raw_phone,
        action="value",
        table=table,
    )
    return out["phone"]


def sex_column(
    raw_sex: pd.Series,
    mapping: dict[str, str | None],
    prefix: pd.Series,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    table: str,
) -> pd.Series:
    """Sex from the source's column, or from the prefix where that is missing or disagrees.

    A value outside ``mapping`` is quarantined as ``invalid_sex``; a sex that the canonical prefix
    contradicts is replaced by the prefix's and quarantined as ``sex_prefix_mismatch``.
    """
    text = raw_sex.astype("str").str.strip()
    sex = text.map(mapping).astype("str")
    unknown = ~blank(raw_sex) & ~text.isin(list(mapping))
    q.add(
        unknown,
        raw,
        key,
        field="sex",
        rule="invalid_sex",
        value=raw_sex,
        action="value",
        table=table,
    )
    implied = prefix_sex(prefix)
    mismatch = sex.notna() & implied.notna() & (sex != implied)
    q.add(
        mismatch,
        raw,
        key,
        field="sex",
        rule="sex_prefix_mismatch",
        value=raw_sex,
        action="value",
        table=table,
    )
    return sex.mask(mismatch | sex.isna(), implied)


def guardian_name(full: pd.Series) -> pd.Series:
    """A guardian's ``given family`` without prefix, whether the prefix is glued or spaced."""
    parts = split_full_name(full)
    given, family = parts["given_name"], parts["family_name"]
    # given.where(family.isna(), given + " " + family), in Arrow
    both = join_text([given, family], sep=" ")
    name = pc.if_else(pc.is_null(arrow_text(family)), arrow_text(given), arrow_text(both))
    return pd.Series(name, dtype="str", index=full.index)


def names_from_parts(
    prefix_raw: pd.Series | None, given_raw: pd.Series, family_raw: pd.Series
) -> pd.DataFrame:
    """Prefix, given and family name from separate columns (a prefix glued to the given name is
    split off and used when the prefix column is blank)."""
    glued = split_prefix(given_raw, strip_glued_adult=False)
    prefix = glued["prefix"]
    if prefix_raw is not None:
        prefix = canonical_prefix(prefix_raw).fillna(prefix)
    return pd.DataFrame(
        {
            "prefix": prefix,
            "given_name": normalise_thai(glued["rest"]),
            "family_name": normalise_thai(family_raw),
        }
    ).astype("str")


def person_names(
    names: pd.DataFrame, given_rom: pd.Series | None = None, family_rom: pd.Series | None = None
) -> pd.DataFrame:
    """Add placeholder flag, romanised names and phonetic keys to prefix/given/family columns.

    A newborn placeholder given name (``ทารก``, ``บุตรนาง…``) is flagged and nulled. A source's own
    English spelling is used for the romanised name where given, else RTGS from the Thai.
    """
    out = names.copy()
    out["is_placeholder_name"] = is_placeholder_name(out["given_name"]).to_numpy()
    out["given_name"] = out["given_name"].mask(out["is_placeholder_name"])
    for col, own in (("given_name", given_rom), ("family_name", family_rom)):
        if own is None:
            rom = romanise(out[col])
        else:  # romanise (slow: ~1 ms per distinct name) only where the source gave no spelling
            own_clean = normalise_latin_name(own)
            rom = own_clean.fillna(romanise(out[col].where(own_clean.isna())))
        out[f"{col}_rom"] = rom.astype("str")
        out[f"{col}_key"] = phonetic_key(out[col])
    return out


def measurement(
    raw_value: pd.Series,
    low: float,
    high: float,
    raw: pd.DataFrame,
    key: pd.Series,
    q: Quarantine,
    *,
    field: str,
    table: str,
) -> pd.Series:
    """A number from text; non-numbers (``not_a_number``) and values outside [low, high]
    (``implausible_value``) are nulled and quarantined."""
    number = map_distinct(raw_value.astype("str"), _to_number).astype("float64")
    bad_text = number.isna() & ~blank(raw_value)
    number = nulled(
        number, bad_text, raw_value, raw, key, q, field=field, rule="not_a_number", table=table
    )
    return nulled(
        number,
        ~number.between(low, high) & number.notna(),
        raw_value,
        raw,
        key,
        q,
        field=field,
        rule="implausible_value",
        table=table,
    )


def _to_number(u: pd.Series) -> pd.Series:
    # to_numeric converts text value by value: run once per distinct value (weights repeat)
    text = u.str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def assemble_persons(source: str, month: str, key: pd.Series, columns: dict) -> pd.DataFrame:
    """Build the ``PERSON`` frame from the columns given (others NA) with standard dtypes."""
    index = key.index
    frame = pd.DataFrame({"source": source, "record_key": key, "month": month}, index=index)
    for col in PERSON[3:]:
        value = columns.get(col)
        if isinstance(value, pd.Series) and len(value) == len(index):
            # relabelled, not converted: text stays in Arrow (to_numpy made Python objects)
            frame[col] = value.set_axis(index)
        elif isinstance(value, (pd.Series, pd.DataFrame)):
            frame[col] = value.to_numpy() if len(value) == len(index) else value
        else:
            frame[col] = value if value is not None else np.nan
    if "is_placeholder_name" not in columns:
        frame["is_placeholder_name"] = False
    return typed_persons(frame)
