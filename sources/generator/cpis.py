"""Child protection cases: ``cpis/cpis_cases_<YYYYMM>.csv`` (UTF-8 with BOM), one row per case.

The first month carries the backlog (cases opened in the previous three years, the initial load);
later months carry the cases opened or updated in that month.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sources import cpis as cpis_reader

from . import dates, dirt
from .dirt import DirtRates
from .records import (
    MonthView,
    birth_parts,
    child_prefix,
    dmy,
    full_name,
    guardian_name,
    identity,
    phone,
    pid_cell,
    truth,
)
from .rng import hash_choice, hash_uniform

COLUMNS = list(cpis_reader.COLUMNS)  # the reader's contract header, stated once
CASE_TYPES = [
    "NEGLECT",
    "PHYSICAL_ABUSE",
    "SEXUAL_ABUSE",
    "EXPLOITATION",
    "ABANDONMENT",
    "BEHAVIOUR",
    "POVERTY",
    "OTHER",
]
CASE_P = [0.3, 0.12, 0.05, 0.04, 0.06, 0.13, 0.22, 0.08]
RISK = np.array(["GREEN", "YELLOW", "RED"], dtype=object)
RISK_TH = np.array(["เขียว", "เหลือง", "แดง"], dtype=object)
CHILD_SHARE = 0.04  # children with at least one case at the first month
NEW_PER_MONTH = 0.0012
CID_BLANK = 0.04  # social workers often open a case before they have the child's PID


class CaseBook:
    """The case register across months: opens, updates and closes cases."""

    def __init__(self, u) -> None:
        self.u = u
        self.cases: pd.DataFrame | None = None

    def _new(self, rng, person: np.ndarray, opened: np.ndarray, last: int) -> pd.DataFrame:
        n = len(person)
        closed = opened + rng.integers(20, 400, n)
        status = np.where(
            closed <= last, "CLOSED", np.where(rng.random(n) < 0.3, "REFERRED", "OPEN")
        ).astype(object)
        return pd.DataFrame(
            {
                "person": person,
                "opened": opened,
                "type": rng.choice(CASE_TYPES, n, p=CASE_P),
                "risk": rng.choice(3, n, p=[0.5, 0.35, 0.15]),
                "status": status,
                "closed": np.where(status == "CLOSED", closed, -1),
            }
        )

    def month(self, mv: MonthView) -> pd.DataFrame:
        """Cases to deliver for month ``mv`` (new and updated), with their case numbers."""
        u, p = self.u, self.u.persons
        rng = np.random.default_rng([u.seed, 17, mv.m])
        kids = np.nonzero((p["role"].to_numpy() == "child") & mv.alive & (mv.age < 18))[0]
        if mv.m == 0:
            person = kids[rng.random(len(kids)) < CHILD_SHARE]
            person = np.repeat(person, rng.choice([1, 2, 3], len(person), p=[0.75, 0.18, 0.07]))
            birth = p["birth"].to_numpy()[person]
            start = np.maximum(birth + 30, mv.last - 3 * 365)
            opened = start + (rng.random(len(person)) * (mv.last - start)).astype(np.int64)
            new = self._new(rng, person, opened, mv.last).sort_values("opened", kind="stable")
            updated = np.zeros(0, dtype=np.int64)
        else:
            person = kids[rng.random(len(kids)) < NEW_PER_MONTH]
            opened = mv.first + rng.integers(0, mv.last - mv.first + 1, len(person))
            opened = np.maximum(opened, p["birth"].to_numpy()[person])
            new = self._new(rng, person, opened, mv.last)
            live = np.nonzero(self.cases["status"].to_numpy() != "CLOSED")[0]
            updated = live[rng.random(len(live)) < 0.1]
            close = rng.random(len(updated)) < 0.7
            st = self.cases["status"].to_numpy(dtype=object).copy()
            cl = self.cases["closed"].to_numpy().copy()
            st[updated] = np.where(close, "CLOSED", "REFERRED")
            cl[updated] = np.where(close, mv.first + rng.integers(0, 28, len(updated)), -1)
            self.cases["status"], self.cases["closed"] = st, cl
        base = 0 if self.cases is None else len(self.cases)
        self.cases = (
            new.reset_index(drop=True)
            if self.cases is None
            else pd.concat([self.cases, new], ignore_index=True)
        )
        rows = np.r_[updated, np.arange(base, len(self.cases))]
        return self.cases.iloc[rows].assign(case_no=rows)


def build(u, book: CaseBook, mv: MonthView, rates: DirtRates) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month's case rows and their truth rows."""
    cases = book.month(mv)
    p, fam, seed = u.persons, u.fam, u.seed
    idx = cases["person"].to_numpy()
    no = cases["case_no"].to_numpy()
    ident = identity(u, idx, "cpis", mv.m, rates, key=no)
    blank = (ident.u("cid-blank") < CID_BLANK) & (ident.pid >= 0)
    ident.pid[blank] = -1
    ident.tags.add("pid_missing", blank)
    opened = cases["opened"].to_numpy()
    age_open = dates.age_years(ident.birth, opened)
    long = ident.u("prefix-long") < 0.3
    name = full_name(child_prefix(ident.sex, age_open, long), ident, ~long, rates)
    sex = np.where(ident.sex == "M", "M", "F").astype(object)
    unknown = ident.u("sex-unknown") < rates.sex_unknown
    sex[unknown] = "ไม่ระบุ"
    ident.tags.add("sex_unknown", unknown)
    age_only = ident.u("age-only") < rates.age_only
    y, mo, d = birth_parts(ident, "BE", rates, rows=~age_only)
    born, ch = dirt.thai_digits(
        dmy(y, mo, d), (ident.u("date-thai") < rates.thai_digits) & ~age_only
    )
    ident.tags.add("thai_digits", ch)
    born[age_only] = None
    ident.tags.add("age_only", age_only)
    fidx = p["fidx"].to_numpy()[idx]
    soi = fam["soi"].to_numpy(dtype=object)[fidx]
    address = (
        fam["house_no"].to_numpy(dtype=object)[fidx]
        + np.where(pd.isna(soi), "", " ซอย" + soi.astype(str))
        + " ถนน"
        + fam["road"].to_numpy(dtype=object)[fidx]
        + " แขวง"
        + fam["subdistrict_th"].to_numpy(dtype=object)[fidx]
        + " เขต"
        + fam["district_th"].to_numpy(dtype=object)[fidx]
    )
    risk = cases["risk"].to_numpy()
    thai_risk = hash_uniform(seed, "risk-thai", no) < 0.2
    closed = cases["closed"].to_numpy()
    y_o = dates.ymd(opened)[0]
    df = pd.DataFrame(
        {
            "case_id": "CP-" + dates.text(y_o) + "-" + dates.zpad(no + 1, 6),
            "opened_at": opened.astype("datetime64[D]").astype(str),
            "child_cid": pid_cell(ident, rates, show_gcode=False),
            "child_name": name,
            "sex": sex,
            "birth_date": born,
            "age_years": pd.array(np.where(age_only, age_open, 0), dtype="Int64"),
            "district_code": fam["district_code"].to_numpy(dtype=object)[fidx],
            "address_text": address,
            "case_type": cases["type"].to_numpy(dtype=object),
            "risk_level": np.where(thai_risk, RISK_TH[risk], RISK[risk]),
            "status": cases["status"].to_numpy(dtype=object),
            "closed_at": pd.Series(np.maximum(closed, 0).astype("datetime64[D]").astype(str)).where(
                closed >= 0
            ),
            "guardian_name": guardian_name(u, fidx, hash_uniform(seed, "cp-glue", no) < 0.3),
            "guardian_phone": phone(u, fidx, hash_choice(seed, "phone-style", 4, no), ident, rates),
        }
    )
    df.loc[~age_only, "age_years"] = pd.NA
    tr = truth(
        u,
        "cpis",
        mv.month,
        np.asarray(df["case_id"], dtype=object),
        ident,
        is_child=dates.age_years(ident.birth, mv.last) < 18,
    )
    return df, tr


def write(df: pd.DataFrame, path: Path) -> None:
    """UTF-8 with a byte-order mark, English header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig")
