"""Health centre 43-file style extracts: ``<HOSPCODE>_PERSON|EPI|NUTRITION_<YYYYMM>.txt``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sources import health_centres as health_reader

from . import coverage, dates, dirt, growth
from .dirt import DirtRates
from .records import MonthView, birth_parts, identity, truth
from .rng import hash_choice, hash_uniform, pid_str

# Field lists are the reader's contract, stated once (tests/test_generator.py pins PERSON).
PERSON = list(health_reader.COLUMNS["health_person"])
EPI = list(health_reader.COLUMNS["health_epi"])
NUTRITION = list(health_reader.COLUMNS["health_nutrition"])
# Thai EPI schedule: vaccine and age in days at which it is due.
SCHEDULE = [
    ("BCG", 0),
    ("HBV1", 0),
    ("DTP-HB-HIB1", 61),
    ("OPV1", 61),
    ("ROTA1", 61),
    ("DTP-HB-HIB2", 122),
    ("OPV2", 122),
    ("IPV", 122),
    ("ROTA2", 122),
    ("DTP-HB-HIB3", 183),
    ("OPV3", 183),
    ("MMR1", 274),
    ("JE1", 365),
    ("DTP4", 548),
    ("OPV4", 548),
    ("MMR2", 548),
    ("JE2", 913),
    ("DTP5", 1461),
    ("OPV5", 1461),
]


def _ymd_text(days: np.ndarray) -> np.ndarray:
    y, m, d = dates.ymd(days)
    return dates.text(y) + dates.zpad(m, 2) + dates.zpad(d, 2)


def build(u, mv: MonthView, rates: DirtRates) -> dict[str, pd.DataFrame]:
    """PERSON (snapshot), EPI and NUTRITION (the month's services) plus ``truth``."""
    p, fam, seed = u.persons, u.fam, u.seed
    idx = np.nonzero(coverage.health(u, mv))[0]
    hosp = p["hosp"].to_numpy()[idx]
    order = np.lexsort((p["hosp_pid"].to_numpy()[idx], hosp))
    idx, hosp = idx[order], hosp[order]
    ident = identity(u, idx, "health_centres", mv.m, rates)
    hospcode = u.hospitals["hospcode"].to_numpy(dtype=object)[hosp]
    local = dates.text(p["hosp_pid"].to_numpy()[idx])
    age = mv.age[idx]
    fidx = p["fidx"].to_numpy()[idx]
    role = p["role"].to_numpy()[idx]
    boy = ident.sex == "M"
    prename = np.where(
        age < 15,
        np.where(boy, "001", "002"),
        np.where(boy, "003", np.where(role == "mother", "005", "004")),
    )
    # Newborns not yet registered: blank CID, a placeholder name.
    newborn = ident.is_child & (mv.last - ident.birth < 92)
    holder = newborn & (ident.u("placeholder") < rates.newborn_placeholder)
    mothers = p.index[p["role"] == "mother"].to_numpy()
    m_given = (
        pd.Series(p["given"].to_numpy(dtype=object)[mothers], index=p["fidx"].to_numpy()[mothers])
        .reindex(fidx)
        .to_numpy(dtype=object)
    )
    ident.given[holder] = np.where(
        ident.u("placeholder-kind")[holder] < 0.5, "ทารก", "บุตรนาง" + m_given[holder]
    )
    ident.tags.add("placeholder_name", holder)
    no_cid = holder & (ident.pid >= 0)
    ident.pid[no_cid] = -1
    ident.tags.add("newborn_no_cid", no_cid)
    cid = pid_str(ident.pid).to_numpy(dtype=object)
    cid, ch = dirt.thai_digits(cid, ident.u("pid-thai") < rates.thai_digits)
    ident.tags.add("thai_digits", ch)

    year_only = ident.u("year-only") < rates.year_only
    y, mo, d = birth_parts(ident, "CE", rates, rows=~year_only)
    mo, d = np.where(year_only, 1, mo), np.where(year_only, 1, d)
    ident.tags.add("year_only", year_only)
    birth = dates.text(y) + dates.zpad(mo, 2) + dates.zpad(d, 2)

    def parent(role_name: str, known: float) -> np.ndarray:
        rows = p.index[p["role"] == role_name].to_numpy()
        pid = pd.Series(p["pid"].to_numpy()[rows], index=p["fidx"].to_numpy()[rows])
        val = np.array(pid_str(pid.reindex(fidx).fillna(-1).to_numpy(dtype=np.int64)), dtype=object)
        val[~ident.is_child | (hash_uniform(seed, f"{role_name}-known", fidx) >= known)] = None
        return val

    upd = mv.first + hash_choice(seed, "d-update", 28, idx)
    secs = hash_choice(seed, "d-update-s", 36000, idx) + 8 * 3600
    d_update = (
        _ymd_text(upd)
        + dates.zpad(secs // 3600, 2)
        + dates.zpad(secs // 60 % 60, 2)
        + dates.zpad(secs % 60, 2)
    )
    mobile = fam["phone"].to_numpy(dtype=object)[fidx]
    mobile, ch = dirt.thai_digits(mobile, ident.u("phone-thai") < rates.thai_digits)
    ident.tags.add("thai_digits", ch)
    person = pd.DataFrame(
        {
            "HOSPCODE": hospcode,
            "CID": cid,
            "PID": local,
            "HN": dates.zpad(p["hosp_hn"].to_numpy()[idx], 9),
            "PRENAME": prename,
            "NAME": ident.given,
            "LNAME": ident.family,
            "SEX": np.where(boy, "1", "2"),
            "BIRTH": birth,
            "MOTHER": parent("mother", 0.75),
            "FATHER": parent("father", 0.5),
            "HOUSE_NO": fam["house_no"].to_numpy(dtype=object)[fidx],
            "ROAD": fam["road"].to_numpy(dtype=object)[fidx],
            "TAMBON": fam["subdistrict_code"].to_numpy(dtype=object)[fidx],
            "TYPEAREA": np.where(
                hash_uniform(seed, "typearea", idx) < 0.8,
                "1",
                np.array(["2", "3", "4"])[hash_choice(seed, "typearea-k", 3, idx)],
            ),
            "MOBILE": mobile,
            "D_UPDATE": d_update,
        }
    )
    keys = hospcode + ":" + local
    tr = truth(u, "health_centres", mv.month, keys, ident, is_child=role == "child")
    kids = role == "child"
    return {
        "PERSON": person,
        "EPI": _epi(u, mv, idx[kids], hospcode[kids], local[kids]),
        "NUTRITION": _nutrition(u, mv, idx[kids], hospcode[kids], local[kids]),
        "truth": tr,
    }


def _epi(u, mv: MonthView, idx, hospcode, local) -> pd.DataFrame:
    """Doses whose due date (plus a child-specific delay) falls in the month."""
    birth = u.persons["birth"].to_numpy()[idx]
    frames = []
    for k, (vaccine, due) in enumerate(SCHEDULE):
        delay = (hash_uniform(u.seed, f"epi-delay-{k}", idx) ** 2 * 45).astype(np.int64)
        when = birth + due + delay
        hit = (
            (when >= mv.first) & (when <= mv.last) & (hash_uniform(u.seed, f"epi-{k}", idx) < 0.92)
        )
        frames.append(
            pd.DataFrame(
                {
                    "HOSPCODE": hospcode[hit],
                    "PID": local[hit],
                    "DATE_SERV": _ymd_text(when[hit]),
                    "VACCINETYPE": vaccine,
                    "_order": idx[hit],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True).sort_values(
        ["HOSPCODE", "_order", "DATE_SERV"], kind="stable"
    )
    return out[EPI].reset_index(drop=True)


def _nutrition(u, mv: MonthView, idx, hospcode, local) -> pd.DataFrame:
    """Growth monitoring visits: a quarter of under-6s and a few older children each month."""
    age = mv.age[idx]
    visit = hash_uniform(u.seed, "nutrition", idx, mv.m) < np.where(age < 6, 0.25, 0.05)
    day = mv.first + hash_choice(u.seed, "nutrition-day", 28, idx[visit], mv.m)
    w, h = growth.body(
        u.persons["birth"].to_numpy()[idx[visit]], day, coverage.z_score(u.seed, idx[visit])
    )
    noise = hash_uniform(u.seed, "nutrition-noise", idx[visit], mv.m) - 0.5
    return pd.DataFrame(
        {
            "HOSPCODE": hospcode[visit],
            "PID": local[visit],
            "DATE_SERV": _ymd_text(day),
            "WEIGHT": np.round(w + noise * 0.4, 1),
            "HEIGHT": np.round(h + noise, 1),
        }
    )


def write(files: dict[str, pd.DataFrame], folder: Path, month: str) -> None:
    """One PERSON, EPI and NUTRITION file per HOSPCODE (pipe-delimited UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    codes = pd.unique(files["PERSON"]["HOSPCODE"])
    for kind in ("PERSON", "EPI", "NUTRITION"):
        df = files[kind]
        groups = dict(tuple(df.groupby("HOSPCODE", sort=False)))
        empty = df.iloc[:0]
        for code in codes:
            groups.get(code, empty).to_csv(
                folder / f"{code}_{kind}_{month}.txt", sep="|", index=False, encoding="utf-8"
            )
