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
from pathlib import Path

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
# Birth date + subdistrict was a rule until spec 3: at 1M children it made 1.8M candidate pairs
# (a fifth of the scoring), and removing it left every pair scoring >= 0.2 unchanged.
DEFAULT_BLOCK_CAPS = {
    "bk_pid": 40,
    "bk_given_dob": 40,
    "bk_given_year": 40,
    "bk_family_dob": 60,
    "bk_phone_year": 60,
    "bk_mother": 40,
    "bk_family_given": 200,
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


def combined_codes(parts: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """One int64 code per row, equal exactly where every part is equal, and where any part is
    missing (codes of the factorised parts, combined: no strings joined)."""
    combined = np.zeros(len(parts[0]), dtype=np.int64)
    missing = np.zeros(len(parts[0]), dtype=bool)
    for part in parts:
        codes, uniques = pd.factorize(part, use_na_sentinel=True)
        missing |= codes < 0
        combined = combined * (len(uniques) + 1) + codes
    return combined, missing


def _capped_key(parts: list[pd.Series], cap: int) -> pd.Series:
    """An integer blocking key (nullable ``Int64``): equal for rows whose parts are all equal, NA
    where any part is missing or the key is shared by more than ``cap`` rows.

    Keys are codes, not text: joining the parts as strings cost seconds per key at a million
    records. They mean something only within one prepared frame, which is all blocking needs.
    """
    combined, missing = combined_codes(parts)
    key = np.full(len(combined), -1, dtype=np.int64)
    if (~missing).any():
        codes, _ = pd.factorize(combined[~missing])
        counts = np.bincount(codes)
        key[~missing] = np.where(counts[codes] > cap, -1, codes)
    return pd.Series(pd.array(key, dtype="Int64"), index=parts[0].index).mask(key < 0)


def prepare(
    persons: pd.DataFrame,
    block_caps: dict[str, int] | None = None,
    key_memo: KeyMemo | None = None,
) -> pd.DataFrame:
    """Build the linkage input frame from standardised PERSON records.

    Args:
        persons: Rows with (at least some of) the ``schemas.columns.PERSON`` columns; missing
            columns are treated as all-missing. Already-prepared frames are returned unchanged.
        block_caps: Optional overrides of ``DEFAULT_BLOCK_CAPS``.
        key_memo: Phonetic keys of nicknames and guardian names computed in an earlier run
            (``KeyMemo``); default: computed here.

    Returns:
        One row per ``(source, record_key)`` (latest month) with ``unique_id`` first, the PERSON
        columns (placeholder given names and untrustworthy PIDs nulled) and derived columns:
        ``nickname_key``, ``guardian_name_key``, ``birth_md``, ``birth_dm`` and ``bk_*`` keys.
    """
    if "unique_id" in persons.columns and "bk_pid" in persons.columns:
        return persons
    return block_keys(derive(latest(persons), key_memo), block_caps)


def _in_key_order(frame: pd.DataFrame) -> bool:
    """True if ``(source, record_key)`` strictly increases row by row (one row per key, sorted),
    as ``pipelines.stages.linkage_persons`` delivers it."""
    return keys_increasing(frame["source"], frame["record_key"])


def keys_increasing(source, record_key) -> bool:
    """True if ``(source, record_key)`` strictly increases row by row, bytewise (pandas or
    Arrow columns; False if a value is missing): sorted, and no key twice."""
    src, key = large_strings(source), large_strings(record_key)
    if len(src) < 2:
        return True
    if src.null_count or key.null_count:
        return False
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


def derive(frame: pd.DataFrame, key_memo: KeyMemo | None = None) -> pd.DataFrame:
    """Everything ``prepare`` derives from one record alone (no ``bk_*`` keys), row by row."""
    key_of = key_memo if key_memo is not None else phonetic_key
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
    out["nickname_key"] = key_of(out["nickname"])
    out["guardian_name"] = _text(frame, "guardian_name")
    out["guardian_name_key"] = key_of(out["guardian_name"])
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


def large_strings(values) -> pa.Array:
    """Any column of ids (pandas, Arrow; text, object, or all-missing) as one large_string
    Arrow array, missing values null."""
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        chunks = [c.cast(pa.large_string()) for c in values.chunks]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.large_string())
    return values.cast(pa.large_string())


def ranked_ids(unique_id: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """The ids in sorted order and each record's rank among them (its position there).

    Records usually arrive in key order, and ``source|record_key`` ids then sort the same way:
    one vectorised check instead of a sort.
    """
    ids = large_strings(unique_id)
    if ids.null_count:
        raise ValueError("unique_id must not be missing")
    n = len(ids)
    if n < 2 or pc.all(pc.greater(ids.slice(1), ids.slice(0, n - 1))).as_py():
        return ids, np.arange(n, dtype=np.int64)
    order = pc.sort_indices(ids).to_numpy()
    in_order = ids.take(pa.array(order))
    if pc.any(pc.equal(in_order.slice(1), in_order.slice(0, n - 1))).as_py():
        raise ValueError("unique_id must be unique: a record appears twice")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n, dtype=np.int64)
    return in_order, ranks


class KeyMemo:
    """Phonetic keys of names (``schemas.names.phonetic_key``) kept from one link to the next.

    Standardised records carry the keys of given and family names; nicknames and guardian
    names are keyed here, at every link: ~550k distinct values at 1M children, ~3.5 s. Most are
    the same next month. The memo holds every value keyed in its last use, with the key, in a
    Parquet file; a value not in it is keyed and added. The file is stamped with a digest of
    the code that makes the keys (and PyThaiNLP's version): other code ignores it.
    """

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path, self._used = Path(path), []  # (distinct values, their keys) per use
        self.values = self.keys = pa.array([], pa.large_string())
        if self.path.exists():
            table = pq.read_table(self.path)
            if (table.schema.metadata or {}).get(b"stamp") == _key_stamp():
                self.values, self.keys = table["value"].combine_chunks(), table["key"]
                self.keys = self.keys.combine_chunks()
        self.reused = self.keyed = 0

    def __call__(self, names: pd.Series) -> pd.Series:
        text = large_strings(names)
        distinct = pc.unique(text.drop_null())
        at = pc.index_in(distinct, value_set=self.values).fill_null(-1).to_numpy()
        at = at.astype(np.int64)
        unknown = np.flatnonzero(at < 0)
        known = self.keys
        if len(unknown):  # key the new values; their keys go after the memo's
            fresh = pd.Series(distinct.take(pa.array(unknown)), dtype="str")
            known = pa.concat_arrays([known, large_strings(phonetic_key(fresh))])
            at[unknown] = len(self.keys) + np.arange(len(unknown))
        keys = known.take(pa.array(at))
        self.reused += len(at) - len(unknown)
        self.keyed += len(unknown)
        self._used.append((distinct, keys))
        out = keys.take(pc.index_in(text, value_set=distinct))
        return pd.Series(out, index=names.index, dtype="str")

    def to_table(self) -> pa.Table | None:
        """The values keyed since this memo was opened, each once, stamped: what to save at
        ``path`` for the next run (None if nothing was keyed)."""
        if not self._used:
            return None
        values = pa.concat_arrays([v for v, _ in self._used])
        keys = pa.concat_arrays([k for _, k in self._used])
        first = pc.index_in(pc.unique(values), value_set=values)  # a value in both columns
        table = pa.table({"value": values.take(first), "key": keys.take(first)})
        return table.replace_schema_metadata({"stamp": _key_stamp()})


def _key_stamp() -> bytes:
    """Digest of the code behind ``phonetic_key`` (and PyThaiNLP's version)."""
    import hashlib
    import importlib.metadata
    import inspect

    import schemas.names
    import schemas.thai_text

    text = inspect.getsource(schemas.names) + inspect.getsource(schemas.thai_text)
    try:
        text += importlib.metadata.version("pythainlp")
    except importlib.metadata.PackageNotFoundError:
        pass
    return hashlib.sha256(text.encode()).hexdigest().encode()


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
    out["bk_given_coarse"] = out["bk_given_year"].where(~is_day)  # year- or age-only dates
    out["bk_family_dob"] = _capped_key([out["family_name_key"], dob], caps["bk_family_dob"])
    out["bk_phone_year"] = _capped_key([out["guardian_phone"], year], caps["bk_phone_year"])
    out["bk_mother"] = _capped_key([out["mother_pid"]], caps["bk_mother"])
    out["bk_family_given"] = _capped_key(
        [out["family_name_key"], out["given_name_key"]], caps["bk_family_given"]
    )
    return out
