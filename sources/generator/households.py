"""Family-level truth: where a family lives, its phone, family name, status and guardian."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .names import NamePool

FAMILY_OUT_PER_MONTH = 0.015
ROADS = [
    "สุขุมวิท",
    "พหลโยธิน",
    "ลาดพร้าว",
    "รามคำแหง",
    "เพชรเกษม",
    "จรัญสนิทวงศ์",
    "ลาดกระบัง",
    "ประชาอุทิศ",
    "พระราม 2",
    "บางนา-ตราด",
    "งามวงศ์วาน",
    "รามอินทรา",
    "เพชรบุรี",
    "ศรีนครินทร์",
    "อ่อนนุช",
    "พัฒนาการ",
    "ร่มเกล้า",
    "สุวินทวงศ์",
    "เอกชัย",
    "กาญจนาภิเษก",
    "จันทน์",
    "เจริญกรุง",
    "วิภาวดีรังสิต",
    "แจ้งวัฒนะ",
    "ประชาราษฎร์บำเพ็ญ",
    "นวมินทร์",
]
# Guardian kinds: relation, sex, shares the child's family name, probability.
GUARDIANS = [
    ("มารดา", "F", True, 0.64),
    ("บิดา", "M", True, 0.2),
    ("ยาย", "F", False, 0.05),
    ("ย่า", "F", True, 0.03),
    ("ตา", "M", False, 0.015),
    ("ปู่", "M", True, 0.015),
    ("ป้า", "F", False, 0.012),
    ("น้า", "F", False, 0.01),
    ("ลุง", "M", True, 0.008),
    ("อา", "M", True, 0.005),
    ("อื่นๆ", "F", False, 0.005),
]


def families(
    rng: np.random.Generator,
    n_fam: int,
    in_month: np.ndarray,
    districts: pd.DataFrame,
    subs: pd.DataFrame,
    pools: dict[str, NamePool],
    n_months: int,
    rates,
) -> pd.DataFrame:
    """One row per family: address, phone, status, family name (and its change), mobility."""
    out = np.full(n_fam, n_months)
    if n_months > 1:
        leaves = (rng.random(n_fam) < FAMILY_OUT_PER_MONTH * (n_months - 1)) & (
            in_month < n_months - 1
        )
        out[leaves] = (
            in_month[leaves]
            + 1
            + (rng.random(leaves.sum()) * (n_months - 1 - in_month[leaves])).astype(np.int64)
        )
    weight = 0.4 + rng.random(len(districts))
    d = rng.choice(len(districts), size=n_fam, p=weight / weight.sum())
    subs = subs.sort_values("district_code", kind="stable").reset_index(drop=True)
    start = np.searchsorted(subs["district_code"].to_numpy(), districts["district_code"].to_numpy())
    count = subs.groupby("district_code").size().reindex(districts["district_code"]).to_numpy()
    s = start[d] + (rng.random(n_fam) * count[d]).astype(np.int64)
    house = rng.integers(1, 999, n_fam).astype(str).astype(object)
    slash = rng.random(n_fam) < 0.5
    house[slash] = house[slash] + "/" + rng.integers(1, 200, slash.sum()).astype(str)
    road = np.array(ROADS, dtype=object)[rng.integers(0, len(ROADS), n_fam)]
    soi = pd.Series(road + " " + rng.integers(1, 120, n_fam).astype(str)).where(
        rng.random(n_fam) < 0.7
    )
    mobile = rng.choice(["06", "08", "09"], n_fam) + pd.Series(
        rng.integers(0, 10**8, n_fam)
    ).astype(str).str.zfill(8)
    land = "02" + pd.Series(rng.integers(2 * 10**6, 10**7, n_fam)).astype(str)
    phone = mobile.where(rng.random(n_fam) < 0.85, land).where(rng.random(n_fam) < 0.96)
    status = rng.choice(["thai", "nonthai", "nostatus", "nopid"], n_fam, p=[0.97, 0.01, 0.01, 0.01])
    fp = pools["family"]
    fidx = fp.sample(rng, n_fam)
    change = np.full(n_fam, -1)
    change[rng.random(n_fam) < rates.family_name_change] = 0
    if n_months > 1:
        later = (change < 0) & (rng.random(n_fam) < rates.name_change_per_month * (n_months - 1))
        change[later] = rng.integers(1, n_months, later.sum())
    old = fp.sample(rng, n_fam)
    old = np.where(old == fidx, (old + 1) % len(fp.thai), old)
    return pd.DataFrame(
        {
            "family_id": "F" + pd.Series(np.arange(n_fam)).astype(str).str.zfill(8),
            "in_month": in_month,
            "out_month": out,
            "district_code": districts["district_code"].to_numpy()[d],
            "district_th": districts["name_th"].to_numpy()[d],
            "subdistrict_code": subs["subdistrict_code"].to_numpy()[s],
            "subdistrict_th": subs["name_th"].to_numpy()[s],
            "house_no": house,
            "road": road,
            "soi": soi,
            "phone": phone,
            "status": status,
            "family_idx": fidx,
            "family": fp.thai[fidx],
            "family_old": pd.Series(fp.thai[old]).where(change >= 0),
            "family_old_idx": old,
            "family_change": change,
            "father_home": rng.random(n_fam) < 0.75,
            "income": (np.exp(rng.normal(9.1, 0.6, n_fam)) // 100 * 100).astype(np.int64),
        }
    )


def guardians(
    rng: np.random.Generator, fam: pd.DataFrame, persons: pd.DataFrame, pools: dict[str, NamePool]
) -> None:
    """Add the guardian who signs forms for the family's children (in place)."""
    n = len(fam)
    p = np.array([g[3] for g in GUARDIANS])
    kind = rng.choice(len(GUARDIANS), n, p=p / p.sum())
    kind = np.where((kind == 1) & ~fam["father_home"].to_numpy(), 0, kind)
    rel = np.array([g[0] for g in GUARDIANS], dtype=object)[kind]
    sex = np.array([g[1] for g in GUARDIANS], dtype=object)[kind]
    same = np.array([g[2] for g in GUARDIANS])[kind]
    given = np.empty(n, dtype=object)
    for s in ("M", "F"):
        m = sex == s
        given[m] = pools[s].thai[pools[s].sample(rng, int(m.sum()))]
    family = np.where(
        same, fam["family"].to_numpy(), pools["family"].thai[pools["family"].sample(rng, n)]
    )
    for role, k in (("mother", 0), ("father", 1)):
        rows = persons[persons["role"] == role].set_index("fidx")
        m = kind == k
        given[m] = rows["given"].reindex(np.nonzero(m)[0]).to_numpy()
    title = np.where(sex == "M", "นาย", np.where(rng.random(n) < 0.8, "นาง", "นางสาว"))
    fam["guardian_relation"] = rel
    fam["guardian_given"] = given
    fam["guardian_family"] = family
    fam["guardian_title"] = title
    fam["guardian_is_mother"] = kind == 0
