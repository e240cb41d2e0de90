"""Schools, child development centres and health centres, and which child belongs to which.

Assignments are made once for the whole universe so record keys (student number, register number,
centre person number) stay the same from one monthly delivery to the next.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rng import hash_choice, hash_uniform

SCHOOL_TRANSFER_PER_MONTH = 0.01
PLACES = [
    "ปากบ่อ",
    "บางนา",
    "ทองเพลง",
    "สุทธาราม",
    "ลาดบัวขาว",
    "คลองสาม",
    "สามัคคี",
    "ร่วมใจ",
    "พัฒนา",
    "บ้านมั่นคง",
    "แสนสุข",
    "มหาวงศ์",
    "ทุ่งครุ",
    "บางมด",
    "ราษฎร์บำรุง",
    "เทพลีลา",
    "เปรมประชา",
    "หัวตะเข้",
    "ลำพะอง",
    "คลองกุ่ม",
    "สะพานสูง",
    "บึงบัว",
    "ทับเจริญ",
    "ศรีบุญเรือง",
    "คลองจั่น",
    "บางบอน",
    "หนองแขม",
    "สุขสันต์",
    "ประชาสามัคคี",
    "ร่มเย็น",
    "เกาะกลาง",
    "บ้านเก่า",
    "ลำไทร",
    "วัดใหม่",
    "ท่าข้าม",
    "ดอนเมือง",
    "บางชัน",
    "สีกัน",
    "คลองเตย",
    "ตลาดพลู",
    "กำแพงเพชร",
    "ทรัพย์สิน",
    "ดำเนินสะดวก",
    "ราชพฤกษ์",
    "นาคนิวาส",
    "โพธิ์แก้ว",
    "มีนประชา",
]
SCHOOL_KINDS = ["วัด", "ชุมชน", "ประชา", "บ้าน", "คลอง"]
CENTRE_KINDS = ["ชุมชน", "ชุมชนวัด", "วัด", "มัสยิด", "ชุมชนบ้าน"]


def rank_within(group: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each element within its group, ordered by ``order_key``."""
    order = np.lexsort((order_key, group))
    g = group[order]
    start = np.r_[0, np.nonzero(g[1:] != g[:-1])[0] + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(g)]))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(g)) - first
    return rank


def _per_district(
    district_idx: np.ndarray, n_per: np.ndarray, seed: int, salt: str, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pick one of the district's institutions for each key: (global index, offsets)."""
    offset = np.r_[0, np.cumsum(n_per)]
    local = hash_choice(seed, salt, 1 << 30, key) % n_per[district_idx]
    return offset[district_idx] + local, offset


def _names(
    n_per: np.ndarray, districts: pd.DataFrame, prefix: str, kinds: list[str], limit: int
) -> list[str]:
    names, seen = [], set()
    for d, n in enumerate(n_per):
        for i in range(int(n)):
            base = f"{prefix}{kinds[(d + i) % len(kinds)]}{PLACES[(d * 7 + i * 3) % len(PLACES)]}"
            name, k = base[:limit], 2
            while name in seen:
                name = f"{base[: limit - 3]} {k}"
                k += 1
            seen.add(name)
            names.append(name)
    return names


def assign(u) -> None:
    """Add institution tables to the universe and institution columns to its persons."""
    p, fam, seed = u.persons, u.fam, u.seed
    d_code = u.districts["district_code"].to_numpy()
    d_of_fam = pd.Index(d_code).get_indexer(fam["district_code"].to_numpy())
    fidx = p["fidx"].to_numpy()
    d_idx = d_of_fam[fidx]
    child = (p["role"] == "child").to_numpy()
    key = np.arange(len(p))
    per_d = np.bincount(d_idx[child], minlength=len(d_code))

    n_sch = np.maximum(1, np.round(per_d * 0.7 * 12 / 18 / 480)).astype(np.int64)
    sch, off = _per_district(d_idx, n_sch, seed, "school", key)
    sch_d = np.repeat(np.arange(len(d_code)), n_sch)
    seq = np.arange(len(sch_d)) - off[sch_d] + 1
    u.schools = pd.DataFrame(
        {
            "code": pd.Series(d_code[sch_d]).astype(str) + pd.Series(seq).astype(str).str.zfill(4),
            "name": ["โรงเรียน" + n[:60] for n in _names(n_sch, u.districts, "", SCHOOL_KINDS, 60)],
            "long_prefix": hash_uniform(seed, "school-prefix", np.arange(len(sch_d))) < 0.4,
            "district_word": hash_uniform(seed, "school-khet", np.arange(len(sch_d))) < 0.6,
            "romanises": hash_uniform(seed, "school-rom", np.arange(len(sch_d))) < 0.5,
        }
    )
    n_months = len(u.months)
    moves = hash_uniform(seed, "transfer", key) < SCHOOL_TRANSFER_PER_MONTH * max(n_months - 1, 0)
    transfer = np.where(moves, 1 + hash_choice(seed, "transfer-m", max(n_months - 1, 1), key), 99)
    step = 1 + hash_choice(seed, "transfer-to", 1 << 20, key) % np.maximum(n_sch[d_idx] - 1, 1)
    sch2 = np.where(n_sch[d_idx] > 1, off[d_idx] + (sch - off[d_idx] + step) % n_sch[d_idx], sch)
    order = hash_uniform(seed, "student-no", key)
    p["school"] = np.where(child, sch, -1)
    p["school_no"] = 10001 + rank_within(sch, order)
    p["school2"] = np.where(child, sch2, -1)
    p["school2_no"] = 60001 + rank_within(np.where(moves, sch2, -1), order)
    p["transfer"] = transfer

    n_cen = np.maximum(1, np.ceil(per_d * 4 / 18 * 0.15 / 70)).astype(np.int64)
    cen, _ = _per_district(d_idx, n_cen, seed, "centre", key)
    u.centres = pd.DataFrame(
        {
            "name": _names(n_cen, u.districts, "ศพด.", CENTRE_KINDS, 31),
            "district": np.repeat(np.arange(len(d_code)), n_cen),
            "date_style": hash_choice(seed, "centre-date", 4, np.arange(n_cen.sum())),
        }
    )
    p["centre"] = np.where(child, cen, -1)
    p["centre_reg"] = 101 + rank_within(p["centre"].to_numpy(), order)

    n_hc = np.clip(np.round(per_d / 8000), 1, 4).astype(np.int64)
    hc, _ = _per_district(d_idx, n_hc, seed, "health", key)
    # A mother is registered at her youngest child's centre.
    youngest = pd.Series(
        np.nonzero(child & (p["child_no"].to_numpy() == 0))[0],
        index=fidx[child & (p["child_no"].to_numpy() == 0)],
    )
    mother = (p["role"] == "mother").to_numpy()
    hc[mother] = hc[youngest.reindex(fidx[mother]).to_numpy()]
    hc[(p["role"] == "father").to_numpy()] = -1
    u.hospitals = pd.DataFrame({"hospcode": [str(11501 + i) for i in range(n_hc.sum())]})
    p["hosp"] = hc
    rank = rank_within(hc, order)
    p["hosp_pid"] = 1 + rank
    p["hosp_hn"] = 2_000_000 + rank * 3 + hash_choice(seed, "hn", 3, key)
