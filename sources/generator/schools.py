"""BMA school student roster: ``schools/bma_students_<YYYYMM>.csv`` (cp874, Thai header)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sources import schools as school_reader

from . import coverage, dates, dirt, growth
from .dirt import DirtRates
from .records import (
    MonthView,
    birth_parts,
    child_prefix,
    dmy,
    guardian_name,
    identity,
    phone,
    pid_cell,
    truth,
)
from .rng import hash_choice, hash_uniform

# The delivered header is the reader's contract, stated once (tests/test_generator.py pins it).
COLUMNS = list(school_reader.COLUMNS)


def _romanised(u, idx: np.ndarray, ident, school: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """English names a school typed, in one of three spellings, often blank."""
    p, fam, pools = u.persons, u.fam, u.pools
    n = len(idx)
    given = np.full(n, None, dtype=object)
    variant = hash_choice(u.seed, "rom-variant", 3, idx)
    caps = hash_uniform(u.seed, "rom-caps", school) < 0.3
    sex, gidx = p["sex"].to_numpy()[idx], p["given_idx"].to_numpy()[idx]
    for s in ("M", "F"):
        m = sex == s
        given[m] = pools[s].roman[gidx[m], variant[m]]
    fidx = p["fidx"].to_numpy()[idx]
    family = pools["family"].roman[fam["family_idx"].to_numpy()[fidx], variant]
    filled = u.schools["romanises"].to_numpy()[school] & (ident.u("rom") < 0.9)
    tags = ident.tags.masks
    for tag, arr in (
        ("given_name_change", given),
        ("nickname", given),
        ("family_name_change", family),
    ):
        if tag in tags:
            arr[tags[tag]] = None
    out = []
    for arr in (given, family):
        arr = np.where(caps, pd.Series(arr, dtype=object).str.upper().to_numpy(dtype=object), arr)
        out.append(np.where(filled, arr, None))
    return out[0], out[1]


def build(u, mv: MonthView, rates: DirtRates) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month's roster and its truth rows."""
    p, fam, sch = u.persons, u.fam, u.schools
    idx = np.nonzero(coverage.school(u, mv))[0]
    moved = mv.m >= p["transfer"].to_numpy()[idx]
    school = np.where(moved, p["school2"].to_numpy()[idx], p["school"].to_numpy()[idx])
    number = np.where(moved, p["school2_no"].to_numpy()[idx], p["school_no"].to_numpy()[idx])
    ident = identity(u, idx, "schools", mv.m, rates, key=idx * 2 + moved, utf8=False)
    age = mv.age[idx]
    prefix = child_prefix(ident.sex, age, sch["long_prefix"].to_numpy()[school])
    given = ident.given.copy()
    glue = ident.u("prefix-glued") < rates.prefix_glued
    given[glue] = prefix[glue] + given[glue]
    ident.tags.add("prefix_glued", glue)
    rom_given, rom_family = _romanised(u, idx, ident, school)
    y, mo, d = birth_parts(ident, "BE", rates)
    born, ch = dirt.thai_digits(dmy(y, mo, d), ident.u("date-thai") < rates.thai_digits)
    ident.tags.add("thai_digits", ch)
    pid = pid_cell(ident, rates, show_gcode=True)
    fidx = p["fidx"].to_numpy()[idx]
    road = fam["road"].to_numpy(dtype=object)[fidx]
    soi = fam["soi"].to_numpy(dtype=object)[fidx]
    street_style = hash_choice(u.seed, "street", 3, idx)
    street = np.where(
        pd.isna(soi) | (street_style == 0),
        "ถ." + road,
        np.where(
            street_style == 1, "ซ." + soi.astype(str), "ซอย" + soi.astype(str) + " ถนน" + road
        ),
    )
    khet = np.where(sch["district_word"].to_numpy()[school], "เขต", "")
    weight, height = growth.body(ident.birth, mv.last, coverage.z_score(u.seed, idx))
    term_day = (mv.last - dates.day(f"{mv.month[:4]}-05-16")) % 182
    absent = (hash_uniform(u.seed, "absent", idx) ** 3 * term_day * 0.15).astype(np.int64)
    poor = np.where(fam["income"].to_numpy()[fidx] < 7000, "ใช่", "ไม่ใช่").astype(object)
    poor[hash_uniform(u.seed, "poor-blank", idx) < 0.2] = None
    df = pd.DataFrame(
        {
            COLUMNS[0]: sch["code"].to_numpy(dtype=object)[school],
            COLUMNS[1]: sch["name"].to_numpy(dtype=object)[school],
            COLUMNS[2]: dates.text(number),
            COLUMNS[3]: pid,
            COLUMNS[4]: prefix,
            COLUMNS[5]: given,
            COLUMNS[6]: ident.family,
            COLUMNS[7]: rom_given,
            COLUMNS[8]: rom_family,
            COLUMNS[9]: np.where(ident.sex == "M", "ชาย", "หญิง"),
            COLUMNS[10]: born,
            COLUMNS[11]: growth.grade(ident.birth, mv.last),
            COLUMNS[12]: fam["house_no"].to_numpy(dtype=object)[fidx],
            COLUMNS[13]: street,
            COLUMNS[14]: fam["subdistrict_th"].to_numpy(dtype=object)[fidx],
            COLUMNS[15]: khet + fam["district_th"].to_numpy(dtype=object)[fidx],
            COLUMNS[16]: guardian_name(u, fidx, hash_uniform(u.seed, "g-glue", idx) < 0.4),
            COLUMNS[17]: fam["guardian_relation"].to_numpy(dtype=object)[fidx],
            COLUMNS[18]: phone(
                u, fidx, hash_choice(u.seed, "phone-style", 4, idx * 5 + 1), ident, rates
            ),
            COLUMNS[19]: weight,
            COLUMNS[20]: height,
            COLUMNS[21]: absent,
            COLUMNS[22]: poor,
        }
    )
    keys = sch["code"].to_numpy(dtype=object)[school] + ":" + dates.text(number)
    tr = truth(u, "schools", mv.month, keys, ident)
    order = np.lexsort((number, school))
    return df.iloc[order].reset_index(drop=True), tr.iloc[order].reset_index(drop=True)


def write(df: pd.DataFrame, path: Path, repeat_header: bool = False) -> None:
    """Write the roster as Windows-874 CSV (optionally with the header repeated mid-file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not repeat_header or len(df) < 2:
        df.to_csv(path, index=False, encoding="cp874")
        return
    half = len(df) // 2
    df.iloc[:half].to_csv(path, index=False, encoding="cp874")
    df.iloc[half:].to_csv(path, index=False, encoding="cp874", mode="a")
