"""Turn standardised PERSON records into the one frame the linkage model reads.

The model compares columns that the PERSON standard does not carry directly (a unique id, the month
and day of birth as text, a phonetic key of the guardian's name, frequency-capped blocking keys).
They are derived here, once, with per-distinct-value work for anything that touches a string, so
training, prediction and clustering all see identical inputs.

``unique_id`` is ``source || '|' || record_key``. A record key can appear in several monthly
snapshots; linkage keeps the latest month of each ``(source, record_key)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.columns import PERSON
from schemas.names import phonetic_key, romanise

# PIDs whose 13 digits are worth comparing: a bad check digit is most likely a typo of a real PID.
PID_COMPARABLE = ("valid", "bad_check", "non_thai")
# PIDs whose check digit holds: two different ones are two people unless one digit slipped.
PID_TRUSTED = ("valid", "non_thai")

# Default block-size caps (records per blocking value). A key shared by more records than this is
# dropped from that one rule: the pairs it would make are found by other, more specific rules.
# Given name + birth date is the rescue rule, for a child whose family name, PID, phone and area
# all changed. It used to be given name + birth YEAR (capped at 40: 4.4M of 9.4M candidate pairs
# at 1M children, and the cap dropped every common name, so it held only 38% of true pairs). Now
# it is given name + year + day/month in either order (a swapped day and month still meet): 0.9M
# pairs holding 96% of true pairs. Given name + year is kept only for pairs where one birth date
# is not known to the day (``comparisons.prediction_blocking_rules``).
DEFAULT_BLOCK_CAPS = {
    "bk_pid": 40,
    "bk_given_dob": 40,
    "bk_given_year": 40,
    "bk_family_dob": 60,
    "bk_phone_year": 60,
    "bk_mother": 40,
    "bk_family_given": 200,
    "bk_dob_area": 60,
}


def _fill(
    existing: pd.Series, values: pd.Series, func: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """``existing`` where present, else ``func(values)`` computed only on the rows that need it."""
    need = existing.isna() & values.notna()
    if not need.any():
        return existing
    out = existing.copy()
    out[need] = func(values[need]).to_numpy()
    return out


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    col = frame[column].astype("str").str.strip()
    return col.mask(col == "")


def _capped_key(parts: list[pd.Series], cap: int) -> pd.Series:
    """An integer blocking key (nullable ``Int64``): equal for rows whose parts are all equal, NA
    where any part is missing or the key is shared by more than ``cap`` rows.

    Keys are codes, not text: joining the parts as strings cost seconds per key at a million
    records. They mean something only within one prepared frame, which is all blocking needs.
    """
    n = len(parts[0])
    combined = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=bool)
    for part in parts:
        codes, uniques = pd.factorize(part, use_na_sentinel=True)
        missing |= codes < 0
        combined = combined * (len(uniques) + 1) + codes
    key = np.full(n, -1, dtype=np.int64)
    if (~missing).any():
        codes, _ = pd.factorize(combined[~missing])
        counts = np.bincount(codes)
        key[~missing] = np.where(counts[codes] > cap, -1, codes)
    return pd.Series(pd.array(key, dtype="Int64"), index=parts[0].index).mask(key < 0)


def prepare(persons: pd.DataFrame, block_caps: dict[str, int] | None = None) -> pd.DataFrame:
    """Build the linkage input frame from standardised PERSON records.

    Args:
        persons: Rows with (at least some of) the ``schemas.columns.PERSON`` columns; missing
            columns are treated as all-missing. Already-prepared frames are returned unchanged.
        block_caps: Optional overrides of ``DEFAULT_BLOCK_CAPS``.

    Returns:
        One row per ``(source, record_key)`` (latest month) with ``unique_id`` first, the PERSON
        columns (placeholder given names and untrustworthy PIDs nulled) and derived columns:
        ``nickname_key``, ``guardian_name_key``, ``birth_md``, ``birth_dm`` and ``bk_*`` keys.
    """
    if "unique_id" in persons.columns and "bk_pid" in persons.columns:
        return persons
    return block_keys(derive(latest(persons)), block_caps)


def _in_key_order(frame: pd.DataFrame) -> bool:
    """True if ``(source, record_key)`` strictly increases row by row (one row per key, sorted),
    as ``pipelines.stages.linkage_persons`` delivers it."""
    if len(frame) < 2 or frame["source"].isna().any() or frame["record_key"].isna().any():
        return len(frame) < 2
    src, key = (
        pa.array(frame[c].astype("str"), type=pa.large_string()) for c in ("source", "record_key")
    )
    a, b = src.slice(0, len(src) - 1), src.slice(1)
    after = pc.or_(
        pc.greater(b, a),
        pc.and_(pc.equal(b, a), pc.greater(key.slice(1), key.slice(0, len(key) - 1))),
    )
    return bool(pc.all(after).as_py())


def latest(persons: pd.DataFrame) -> pd.DataFrame:
    """The PERSON columns of the latest month of each ``(source, record_key)``, in key order."""
    frame = persons.reindex(columns=list(PERSON))
    if _in_key_order(frame):  # already one row per key, in key order: nothing to sort
        return frame.reset_index(drop=True)
    frame = frame.sort_values(["source", "record_key", "month"], kind="stable")
    return frame.drop_duplicates(["source", "record_key"], keep="last").reset_index(drop=True)


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Everything ``prepare`` derives from one record alone (no ``bk_*`` keys): row by row, so
    rows derived in an earlier run can be reused (``linkage.incremental``)."""
    out = pd.DataFrame({"unique_id": frame["source"].astype("str") + "|" + frame["record_key"]})
    for column in ("source", "record_key", "month", "pid_status", "prefix", "sex"):
        out[column] = _text(frame, column)
    status = out["pid_status"]
    out["pid"] = _text(frame, "pid").where(status.isin(PID_COMPARABLE))
    out["pid_trusted"] = out["pid"].notna() & status.isin(PID_TRUSTED)
    out["gcode"] = _text(frame, "gcode")
    placeholder = frame["is_placeholder_name"].fillna(False).astype(bool)
    out["given_name"] = _text(frame, "given_name").mask(placeholder)
    out["family_name"] = _text(frame, "family_name")
    out["nickname"] = _text(frame, "nickname")
    for column in ("given_name", "family_name"):
        key, rom = _text(frame, f"{column}_key"), _text(frame, f"{column}_rom")
        out[f"{column}_key"] = _fill(key, out[column], phonetic_key).where(out[column].notna())
        out[f"{column}_rom"] = _fill(rom, out[column], romanise).where(out[column].notna())
    out["nickname_key"] = phonetic_key(out["nickname"])
    out["guardian_name"] = _text(frame, "guardian_name")
    out["guardian_name_key"] = phonetic_key(out["guardian_name"])
    for column in ("guardian_phone", "mother_pid", "family_ref", "subdistrict_code"):
        out[column] = _text(frame, column)
    out["district_code"] = _text(frame, "district_code").fillna(out["subdistrict_code"].str[:4])

    born = pd.to_datetime(frame["birth_date"], errors="coerce")
    precision = _text(frame, "birth_date_precision").where(
        born.notna() | frame["birth_year"].notna()
    )
    out["birth_date_precision"] = precision.fillna(
        pd.Series("day", index=out.index).where(born.notna())
    )
    days = pa.array(born.to_numpy().astype("datetime64[D]"), type=pa.date32(), from_pandas=True)
    out["birth_date"] = pd.Series(days, index=out.index, dtype=pd.ArrowDtype(pa.date32()))
    year = pd.to_numeric(frame["birth_year"], errors="coerce").astype("Int64")
    out["birth_year"] = year.fillna(born.dt.year.astype("Int64"))
    is_day = (out["birth_date_precision"] == "day") & born.notna()
    month, day = (
        born.dt.month.astype("Int64").astype("str"),
        born.dt.day.astype("Int64").astype("str"),
    )
    month, day = month.str.zfill(2), day.str.zfill(2)
    out["birth_md"] = (month + "-" + day).where(is_day)
    out["birth_dm"] = (day + "-" + month).where(is_day)
    return out


def block_keys(out: pd.DataFrame, block_caps: dict[str, int] | None = None) -> pd.DataFrame:
    """Add the frequency-capped ``bk_*`` blocking keys to a ``derive``d frame (needs all
    records: a key's cap counts every record sharing it)."""
    caps = {**DEFAULT_BLOCK_CAPS, **(block_caps or {})}
    out = out.copy()
    is_day = out["birth_md"].notna()
    dob = out["birth_date"].where(is_day)
    year = out["birth_year"]
    out["bk_pid"] = _capped_key([out["pid"]], caps["bk_pid"])
    day_month = out["birth_md"].where(out["birth_md"] <= out["birth_dm"], out["birth_dm"])
    out["bk_given_dob"] = _capped_key(
        [out["given_name_key"], year, day_month], caps["bk_given_dob"]
    )
    out["bk_given_year"] = _capped_key([out["given_name_key"], year], caps["bk_given_year"])
    out["bk_family_dob"] = _capped_key([out["family_name_key"], dob], caps["bk_family_dob"])
    out["bk_phone_year"] = _capped_key([out["guardian_phone"], year], caps["bk_phone_year"])
    out["bk_mother"] = _capped_key([out["mother_pid"]], caps["bk_mother"])
    out["bk_family_given"] = _capped_key(
        [out["family_name_key"], out["given_name_key"]], caps["bk_family_given"]
    )
    out["bk_dob_area"] = _capped_key([dob, out["subdistrict_code"]], caps["bk_dob_area"])
    return out
