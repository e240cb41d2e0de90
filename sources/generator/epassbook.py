"""Electronic family passbook: ``epassbook/epassbook_<YYYYMM>.jsonl``, one family per line.

The first month carries every registered family (surveyed over the previous two years, the
initial load); later months carry the families surveyed that month: re-surveys and newcomers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import dates, dirt
from .dirt import DirtRates
from .institutions import rank_within
from .records import MonthView, birth_parts, identity, truth
from .rng import hash_choice, hash_uniform

FAMILY_SHARE = 0.40
RESURVEY_PER_MONTH = 0.03
NEW_PER_MONTH = 0.006
PROBLEMS = [
    ("INCOME", 0.25),
    ("DEBT", 0.3),
    ("HOUSING", 0.15),
    ("UNEMPLOYMENT", 0.15),
    ("DISABILITY_CARE", 0.04),
    ("ELDERLY_CARE", 0.1),
    ("DRUGS", 0.03),
    ("VIOLENCE", 0.02),
]


class Register:
    """Which families are in the passbook and when each was last surveyed."""

    def __init__(self, u) -> None:
        self.u = u
        self.registered = np.zeros(len(u.fam), dtype=bool)
        district = u.fam["district_code"].to_numpy().astype(np.int64)
        self.number = 1 + rank_within(district, np.arange(len(u.fam)))

    def month(self, mv: MonthView) -> tuple[np.ndarray, np.ndarray]:
        """Families surveyed for month ``mv`` and their survey days."""
        u = self.u
        rng = np.random.default_rng([u.seed, 23, mv.m])
        fam = u.fam
        here = (fam["in_month"].to_numpy() <= mv.m) & (mv.m < fam["out_month"].to_numpy())
        if mv.m == 0:
            self.registered = here & (rng.random(len(fam)) < FAMILY_SHARE)
            chosen = np.nonzero(self.registered)[0]
            day = mv.last - rng.integers(0, 2 * 365, len(chosen))
            return chosen, day
        again = here & self.registered & (rng.random(len(fam)) < RESURVEY_PER_MONTH)
        new = here & ~self.registered & (rng.random(len(fam)) < NEW_PER_MONTH)
        self.registered |= new
        chosen = np.nonzero(again | new)[0]
        return chosen, mv.first + rng.integers(0, mv.last - mv.first + 1, len(chosen))


def _members(u, families: np.ndarray, survey: np.ndarray) -> pd.DataFrame:
    """Household members on the survey day, numbered stably: head, spouse, children oldest first."""
    p = u.persons
    fidx = p["fidx"].to_numpy()
    role = p["role"].to_numpy()
    home = u.fam["father_home"].to_numpy()[fidx]
    child = role == "child"
    rank = rank_within(np.where(child, fidx, -1), p["birth"].to_numpy())
    adults = np.where(home, 2, 1)
    number = np.where(child, adults + 1 + rank, np.where(role == "father", 1, adults)).astype(
        np.int64
    )
    doc = pd.Series(np.arange(len(families)), index=families).reindex(fidx).to_numpy()
    keep = ~np.isnan(doc) & ((role != "father") | home)
    doc = np.where(keep, doc, 0).astype(np.int64)
    keep &= p["birth"].to_numpy() <= survey[doc]
    idx = np.nonzero(keep)[0]
    out = pd.DataFrame({"person": idx, "doc": doc[idx], "member_no": number[idx]})
    return out.sort_values(["doc", "member_no"], kind="stable").reset_index(drop=True)


def _js(values) -> np.ndarray:
    """JSON literals of values (``null`` for missing); only odd strings go through json.dumps."""
    s = pd.Series(values, dtype=object)
    out = np.full(len(s), "null", dtype=object)
    ok = s.notna().to_numpy()
    text = s[ok].astype(str)
    odd = text.str.contains(r'["\\\x00-\x1f]', regex=True).to_numpy()
    quoted = ('"' + text + '"').to_numpy(dtype=object)
    quoted[odd] = [json.dumps(v, ensure_ascii=False) for v in text[odd]]
    out[ok] = quoted
    return out


def _join_groups(parts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``', '.join`` of consecutive runs of ``parts`` sharing ``group`` (sorted by group)."""
    if len(parts) == 0:
        return np.zeros(0, dtype=object)
    start = np.r_[0, np.nonzero(group[1:] != group[:-1])[0] + 1]
    last = np.r_[start[1:] - 1, len(parts) - 1]
    sep = np.full(len(parts), ", ", dtype=object)
    sep[last] = ""
    return np.add.reduceat(parts + sep, start)


def build(u, reg: Register, mv: MonthView, rates: DirtRates) -> tuple[np.ndarray, pd.DataFrame]:
    """JSON lines for the month and the truth rows (one per member)."""
    families, survey = reg.month(mv)
    p, fam, seed = u.persons, u.fam, u.seed
    mem = _members(u, families, survey)
    idx = mem["person"].to_numpy()
    doc = mem["doc"].to_numpy()
    ident = identity(u, idx, "epassbook", mv.m, rates)
    on_day = survey[doc]
    age = dates.age_years(ident.birth, on_day)
    ident.is_child = age < 18
    boy = ident.sex == "M"
    role = p["role"].to_numpy()[idx]
    title = np.where(
        age < 15,
        np.where(boy, "ด.ช.", "ด.ญ."),
        np.where(boy, "นาย", np.where(role == "mother", "นาง", "น.ส.")),
    )
    head = np.where(fam["father_home"].to_numpy()[families[doc]], "father", "mother")
    relation = np.where(role == "child", "บุตร", np.where(role == head, "หัวหน้าครอบครัว", "คู่สมรส"))
    cid, ch = dirt.thai_digits(
        ident.pid_text().to_numpy(dtype=object), ident.u("pid-thai") < rates.thai_digits
    )
    ident.tags.add("thai_digits", ch)
    y, mo, d = birth_parts(ident, "BE", rates)
    born = dates.text(y) + "-" + dates.zpad(mo, 2) + "-" + dates.zpad(d, 2)
    disabled = hash_uniform(seed, "disability", idx) < 0.015
    member = (
        '{"member_no": '
        + dates.text(mem["member_no"].to_numpy())
        + ', "cid": '
        + _js(cid)
        + ', "title": '
        + _js(title)
        + ', "first_name": '
        + _js(ident.given)
        + ', "last_name": '
        + _js(ident.family)
        + ', "gender": '
        + _js(np.where(boy, "ชาย", "หญิง"))
        + ', "birth_date": '
        + _js(born)
        + ', "relation": '
        + _js(relation)
        + ', "disability": '
        + np.where(disabled, "true", "false").astype(object)
        + "}"
    )
    members = _join_groups(member, doc)
    assert len(members) == len(families), "every surveyed family has its mother as a member"

    f = families
    code = fam["district_code"].to_numpy(dtype=object)[f]
    family_id = "FP-" + code + "-" + dates.zpad(reg.number[f], 6)
    sy, sm, sd = dates.ymd(survey)
    surveyed = dates.text(sy + dates.BE_OFFSET) + "-" + dates.zpad(sm, 2) + "-" + dates.zpad(sd, 2)
    road = pd.Series(fam["road"].to_numpy(dtype=object)[f]).where(
        hash_uniform(seed, "ep-road", f) < 0.5
    )
    style = hash_choice(seed, "phone-style", 4, f * 5 + 4)
    phone = dirt.format_phone(
        pd.Series(fam["phone"].to_numpy(dtype=object)[f], dtype=object), style
    )
    problems = np.full(len(f), "", dtype=object)
    low = fam["income"].to_numpy()[f] < 7000
    for k, (code_, share) in enumerate(PROBLEMS):
        has = hash_uniform(seed, f"problem-{k}", f, mv.m) < (0.8 if k == 0 else share) * np.where(
            low | (k > 0), 1, 0.3
        )
        problems[has] = problems[has] + np.where(problems[has] == "", "", ", ") + f'"{code_}"'
    lines = (
        '{"family_id": '
        + _js(family_id)
        + ', "surveyed_at": '
        + _js(surveyed)
        + ', "address": {"house_no": '
        + _js(fam["house_no"].to_numpy(dtype=object)[f])
        + ', "soi": '
        + _js(fam["soi"].to_numpy(dtype=object)[f])
        + ', "road": '
        + _js(road)
        + ', "subdistrict_code": '
        + _js(fam["subdistrict_code"].to_numpy(dtype=object)[f])
        + ', "district_code": '
        + _js(code)
        + '}, "phone": '
        + _js(phone)
        + ', "income_per_month": '
        + dates.text(fam["income"].to_numpy()[f])
        + ', "problems": ['
        + problems
        + '], "members": ['
        + members
        + "]}"
    )
    keys = family_id[doc] + ":" + dates.text(mem["member_no"].to_numpy())
    return lines, truth(u, "epassbook", mv.month, keys, ident)


def write(lines: np.ndarray, path: Path) -> None:
    """One JSON document per line, UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        if len(lines):
            fh.write("\n".join(lines) + "\n")
