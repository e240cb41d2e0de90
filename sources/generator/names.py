"""Thai given names, family names and nicknames built from syllable parts, with romanisations.

A name is a concatenation of parts; each part carries a few romanised spellings, so a name's
romanisations ('Chai' / 'Chay', 'Ph' / 'P') come for free. Pools are weighted Zipf-like so a few
names are very common (skewed term frequencies) and most are rare.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np

Part = tuple[str, tuple[str, ...]]

GIVEN_HEADS: list[Part] = [
    ("สม", ("som",)),
    ("ศรี", ("si", "sri", "see")),
    ("ธน", ("thana", "tana")),
    ("กิตติ", ("kitti", "kittee", "kitt")),
    ("ณัฐ", ("nat", "nut", "natt")),
    ("พิม", ("phim", "pim")),
    ("ปิยะ", ("piya", "piyah")),
    ("วร", ("wora", "vora", "vorra")),
    ("สุ", ("su", "soo")),
    ("อภิ", ("aphi", "api", "apee")),
    ("จิร", ("chira", "jira")),
    ("ธีร", ("thira", "teera", "theera")),
    ("ภัทร", ("phat", "pat", "phatt")),
    ("ปวี", ("pawi", "pawee")),
    ("กมล", ("kamon", "kamol")),
    ("ชนา", ("chana", "chanah")),
    ("ศุภ", ("supha", "suppha", "supa")),
    ("วิ", ("wi", "vi")),
    ("อนุ", ("anu", "anoo")),
    ("ประ", ("pra", "phra")),
    ("รัช", ("rat", "rach", "ratch")),
    ("พัช", ("phat", "pach")),
    ("ณัฏฐ", ("nattha", "nuttha")),
    ("ปัณ", ("pan", "pun")),
    ("กัญ", ("kan", "kun")),
    ("ศิริ", ("siri", "sirri")),
    ("คำ", ("kham", "kam", "cum")),
    ("น้ำ", ("nam", "naam")),
    ("แสง", ("saeng", "sang")),
    ("ทอง", ("thong", "tong")),
    ("บุญ", ("bun", "boon")),
    ("ชุติ", ("chuti", "chutti")),
    ("ภูริ", ("phuri", "puri")),
    ("เกียรติ", ("kiat", "kiet")),
    ("ไพ", ("phai", "pai")),
    ("ธนัท", ("thanat", "tanat")),
    ("สิริ", ("siri", "sirri")),
    ("ดำ", ("dam", "dum")),
    ("อำ", ("am", "um")),
    ("จำ", ("cham", "jam")),
]
GIVEN_TAILS_M: list[Part] = [
    ("ชัย", ("chai", "chay", "chaiy")),
    ("พล", ("phon", "pol", "pon")),
    ("ศักดิ์", ("sak", "sakdi", "suk")),
    ("วัฒน์", ("wat", "watt", "vat")),
    ("เดช", ("det", "dech", "dej")),
    ("ภูมิ", ("phum", "poom", "phoom")),
    ("กร", ("kon", "korn", "gorn")),
    ("พงษ์", ("phong", "pong")),
    ("ธร", ("thon", "torn")),
    ("นนท์", ("non", "nont")),
    ("วุฒิ", ("wut", "wuth", "vut")),
    ("ภพ", ("phop", "pop")),
    ("เทพ", ("thep", "tep")),
    ("ชาติ", ("chat", "chart")),
    ("ชาย", ("chai", "chaai")),
    ("กานต์", ("kan", "karn")),
    ("รักษ์", ("rak", "ruk")),
    ("สิทธิ์", ("sit", "sith")),
    ("กิจ", ("kit", "kij")),
    ("ณรงค์", ("narong", "narongk")),
    ("นาจ", ("nat", "naj")),
    ("รงค์", ("rong", "rongk")),
]
GIVEN_TAILS_F: list[Part] = [
    ("ธิดา", ("thida", "tida")),
    ("พร", ("phon", "porn", "pon")),
    ("รัตน์", ("rat", "rut", "ratt")),
    ("วรรณ", ("wan", "wanna", "vun")),
    ("ณี", ("ni", "nee")),
    ("ทิพย์", ("thip", "tip")),
    ("ลดา", ("lada", "ladda")),
    ("ชนก", ("chanok", "chanog")),
    ("นันท์", ("nan", "nun")),
    ("มณี", ("mani", "manee")),
    ("ภา", ("pha", "pa")),
    ("ญา", ("ya", "yah")),
    ("สุดา", ("suda", "sooda")),
    ("วดี", ("wadi", "wadee")),
    ("นภา", ("napha", "napa")),
    ("ปราณี", ("prani", "pranee")),
    ("จันทร์", ("chan", "jan")),
    ("ดาว", ("dao", "dow")),
    ("ฤดี", ("ruedi", "rudee")),
    ("ไพ", ("phai", "pai")),
    ("เนียร", ("nian", "nean")),
    ("ฝน", ("fon", "phon")),
]
FAMILY_HEADS: list[Part] = [
    ("ใจ", ("chai", "jai")),
    ("ศรี", ("si", "sri")),
    ("แสง", ("saeng", "sang")),
    ("ทอง", ("thong", "tong")),
    ("สุข", ("suk", "sook")),
    ("วงศ์", ("wong", "vong")),
    ("บุญ", ("bun", "boon")),
    ("แก้ว", ("kaeo", "kaew", "keaw")),
    ("จันทร์", ("chan", "jan")),
    ("เพชร", ("phet", "petch")),
    ("รุ่ง", ("rung", "roong")),
    ("ดวง", ("duang", "doung")),
    ("เจริญ", ("charoen", "jaroen", "charern")),
    ("ประเสริฐ", ("prasoet", "prasert")),
    ("กิจ", ("kit", "kij")),
    ("อินทร์", ("in", "inn")),
    ("ธรรม", ("tham", "thum")),
    ("นาค", ("nak", "nark")),
    ("คำ", ("kham", "kum")),
    ("สม", ("som",)),
    ("มั่น", ("man", "mun")),
    ("ปาน", ("pan", "parn")),
    ("เอี่ยม", ("iam", "eiam")),
    ("พูล", ("phun", "poon")),
    ("สาย", ("sai", "sy")),
    ("ทรัพย์", ("sap", "sup")),
    ("เลิศ", ("loet", "lert")),
    ("ศักดิ์", ("sak", "suk")),
    ("ชื่น", ("chuen", "chuen")),
    ("สำ", ("sam", "sum")),
    ("กำ", ("kam", "gum")),
    ("บำ", ("bam", "bum")),
]
FAMILY_TAILS: list[Part] = [
    ("ดี", ("di", "dee")),
    ("สุข", ("suk", "sook")),
    ("ทอง", ("thong", "tong")),
    ("มี", ("mi", "mee")),
    ("สวัสดิ์", ("sawat", "sawas")),
    ("งาม", ("ngam", "ngarm")),
    ("วงศ์", ("wong", "vong")),
    ("ศรี", ("si", "sri")),
    ("กุล", ("kun", "kul", "gool")),
    ("พงษ์", ("phong", "pong")),
    ("สกุล", ("sakun", "sakul")),
    ("วัฒนา", ("watthana", "wattana")),
    ("พันธ์", ("phan", "pan")),
    ("เจริญ", ("charoen", "jaroen")),
    ("ชัย", ("chai", "chay")),
    ("รักษ์", ("rak", "ruk")),
    ("คำ", ("kham", "kum")),
    ("แก้ว", ("kaeo", "kaew")),
    ("มาก", ("mak", "mark")),
    ("เพ็ง", ("pheng", "peng")),
    ("ทวี", ("thawi", "tawee")),
    ("ราญ", ("ran", "rarn")),
    ("รง", ("rong",)),
    ("อ่อน", ("on", "orn")),
    ("ณรงค์", ("narong", "narongk")),
]
FAMILY_SUFFIXES: list[Part] = FAMILY_TAILS + [
    ("ศิริ", ("siri", "sirri")),
    ("วัฒน์", ("wat", "watt")),
    ("พันธุ์", ("phan", "pun")),
    ("ไพศาล", ("phaisan", "paisarn")),
    ("โชติ", ("chot", "chote")),
    ("ภักดี", ("phakdi", "pakdee")),
]
NICKNAMES_TH = [
    "บีม",
    "ฟ้า",
    "มิว",
    "ต้น",
    "เบียร์",
    "แบงค์",
    "ปอ",
    "น้ำ",
    "เฟิร์น",
    "พลอย",
    "ไอซ์",
    "ออม",
    "มายด์",
    "ต่อ",
    "กอล์ฟ",
    "บอส",
    "น้ำหวาน",
    "ส้ม",
    "แตงโม",
    "เจ",
    "โอ๊ต",
    "ภูมิ",
    "เก่ง",
    "ปาล์ม",
    "ตูน",
    "แนน",
    "นุ่น",
    "มะปราง",
    "ใบเตย",
    "ข้าวหอม",
    "ข้าวปั้น",
    "น้ำใส",
    "ภู",
    "ฟิล์ม",
    "เอิร์น",
    "กัปตัน",
    "ไข่มุก",
    "ขิม",
    "มุก",
    "แพรว",
    "ปุยฝ้าย",
    "ออมสิน",
    "เต้",
    "ก้อง",
    "ต้นกล้า",
    "ชมพู่",
    "ส้มโอ",
    "พีช",
    "ไผ่",
    "จิ๊บ",
    "ดิว",
    "ไนซ์",
    "เจมส์",
    "ทิว",
    "น้ำขิง",
    "คะน้า",
    "ใบบัว",
    "ปั้น",
]
NICKNAMES_LATIN = ["Beam", "Fah", "Mew", "Ice", "Bank", "Film", "Plai", "Earn", "Boss", "Pink"]


@dataclass(frozen=True)
class NamePool:
    """Names with sampling weights and three romanised spellings each."""

    thai: np.ndarray  # (n,) str
    roman: np.ndarray  # (n, 3) str, capitalised
    weight: np.ndarray  # (n,) float, sums to 1
    head: np.ndarray  # (n,) int, index of the first part (twins may share it)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Indices of ``n`` names drawn by weight."""
        return rng.choice(len(self.thai), size=n, p=self.weight)


def _combine(parts: list[list[Part]]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """All concatenations of one part per level (no part repeated), with 3 romanisations each."""
    thai = np.array([""], dtype=object)
    roman = [np.array([""], dtype=object) for _ in range(3)]
    head = np.zeros(1, dtype=np.int64)
    contains = np.frompyfunc(operator.contains, 2, 1)
    for level, options in enumerate(parts):
        pt = np.array([o[0] for o in options], dtype=object)
        ok = ~contains(thai[:, None], pt[None, :]).astype(bool)
        rows, cols = np.nonzero(ok)
        for v in range(3):
            pr = [o[1][min(v, len(o[1]) - 1) if v < 2 else level % len(o[1])] for o in options]
            pr = np.array([x[:1].upper() + x[1:] if level == 0 else x for x in pr], dtype=object)
            roman[v] = roman[v][rows] + pr[cols]
        thai = thai[rows] + pt[cols]
        head = cols if level == 0 else head[rows]
    return thai, roman, head


def _pool(
    groups: list[list[list[Part]]], shares: list[float], zipf: float, rng: np.random.Generator
) -> NamePool:
    thai, roman, head, weight = [], [], [], []
    for parts, share in zip(groups, shares, strict=True):
        t, r, h = _combine(parts)
        rank = rng.permutation(len(t)) + 1.0
        w = 1.0 / (rank + 25.0) ** zipf
        weight.append(share * w / w.sum())
        thai.append(t)
        roman.append(np.stack(r, axis=1))
        head.append(h)
    thai_arr, rom, head_arr = np.concatenate(thai), np.concatenate(roman), np.concatenate(head)
    w_all = np.concatenate(weight)
    # Duplicate spellings from different part splits would blur term frequencies: keep the first.
    first = np.sort(np.unique(thai_arr.astype(str), return_index=True)[1])
    w_all = w_all[first]
    return NamePool(thai_arr[first], rom[first], w_all / w_all.sum(), head_arr[first])


@functools.lru_cache(maxsize=4)
def build_pools(seed: int) -> dict[str, NamePool]:
    """Given-name pools by sex (``'M'``, ``'F'``) and the family-name pool (``'family'``)."""
    rng = np.random.default_rng([seed, 101])
    male = _pool(
        [[GIVEN_HEADS, GIVEN_TAILS_M], [GIVEN_HEADS, GIVEN_HEADS, GIVEN_TAILS_M]],
        [0.85, 0.15],
        1.15,
        rng,
    )
    female = _pool(
        [[GIVEN_HEADS, GIVEN_TAILS_F], [GIVEN_HEADS, GIVEN_HEADS, GIVEN_TAILS_F]],
        [0.85, 0.15],
        1.15,
        rng,
    )
    family = _pool(
        [[FAMILY_HEADS, FAMILY_TAILS], [FAMILY_HEADS, FAMILY_TAILS, FAMILY_SUFFIXES]],
        [0.3, 0.7],
        0.6,
        rng,
    )
    return {"M": male, "F": female, "family": family}


def nicknames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Nicknames, about 5% in Latin letters."""
    th = np.array(NICKNAMES_TH, dtype=object)
    lat = np.array(NICKNAMES_LATIN, dtype=object)
    w = 1.0 / np.arange(1, len(th) + 1) ** 0.7
    out = th[rng.choice(len(th), size=n, p=w / w.sum())]
    latin = rng.random(n) < 0.05
    out[latin] = lat[rng.integers(0, len(lat), latin.sum())]
    return out
