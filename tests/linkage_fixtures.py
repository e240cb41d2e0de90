"""In-memory simulator of standardised PERSON records with known truth, for linkage tests/benches.

``simulate_people(n_children, seed)`` returns ``(persons, truth)``: ``persons`` has exactly the
``schemas.columns.PERSON`` columns (what ``sources/`` + ``schemas/`` will hand to linkage);
``truth`` maps each ``(source, record_key)`` / ``unique_id`` to ``person_id``, ``family_id`` and
``twin_group``. Everything is made up: syllable-built Thai names with skewed frequencies, families
with siblings and ~2% twins (same family name, guardian, phone, address and birth date; different
given names, often different sex) and the noise listed in shared/contracts/extracts.md.

Sources and what they carry (after standardisation):
    schools        pid mostly (G-code when none), Thai + romanised names, guardian, phone, address
    child_centres  names, nickname, guardian, phone, address; PID for half (some lost to Excel)
    health_centres pid (blank + placeholder name for some newborns), mother_pid, subdistrict, phone
    cpis           1-5 case rows per child, pid for half, ages instead of dates, guardian, district
    epassbook      pid, family_ref, head of family as guardian, address, phone
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.columns import PERSON
from schemas.names import phonetic_key

# A fast stand-in for schemas.names.romanise (RTGS via PyThaiNLP costs ~1 ms per distinct name):
# one Latin spelling per Thai letter, enough for Jaro-Winkler on romanised names.
_ROM_TABLE = str.maketrans(
    {
        **dict.fromkeys("กขฃคฅฆ", "k"), "ง": "ng", **dict.fromkeys("จฉชฌ", "ch"),
        **dict.fromkeys("ซศษส", "s"), **dict.fromkeys("ญย", "y"), **dict.fromkeys("ฎด", "d"),
        **dict.fromkeys("ฏต", "t"), **dict.fromkeys("ฐฑฒถทธ", "th"), **dict.fromkeys("ณน", "n"),
        "บ": "b", "ป": "p", **dict.fromkeys("ผพภ", "ph"), **dict.fromkeys("ฝฟ", "f"), "ม": "m",
        "ร": "r", **dict.fromkeys("ลฬ", "l"), "ว": "w", **dict.fromkeys("หฮ", "h"), "อ": "",
        **dict.fromkeys("ะัา", "a"), "ำ": "am", **dict.fromkeys("ิี", "i"),
        **dict.fromkeys("ึื", "ue"), **dict.fromkeys("ุู", "u"), "เ": "e", "แ": "ae", "โ": "o",
        **dict.fromkeys("ใไ", "ai"),
        **dict.fromkeys("\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e4d ", ""),
    }
)  # fmt: skip


def romanise(values: pd.Series) -> pd.Series:
    """Letter-by-letter romanisation (simulation only), once per distinct value."""
    codes, uniques = pd.factorize(values)
    table = np.array([u.translate(_ROM_TABLE) for u in uniques] + [None], dtype=object)
    return pd.Series(
        table[np.where(codes < 0, len(uniques), codes)], index=values.index, dtype="str"
    )


GIVEN_SYLLABLES = (
    "สม ชาย ศักดิ์ สุข ใจ ฟ้า ใส ณัฐ วุฒิ ธนา กร พร ทิพย์ ศรี วรรณ กิตติ พงษ์ ปรีชา อนันต์ ภัทร "
    "ธิดา รัตน์ นภา กมล จันทร์ เพ็ญ ประ เสริฐ วิไล ลักษณ์ อรุณ สวัสดิ์ ชนา ธิป ปิยะ นุช ศิริ พันธ์ "
    "อภิ ชัย วีร ยุทธ สุภา มณี ธีร ภาค กัญญา นันท์ จิรา ภรณ์ เกียรติ ปวีณ ภูมิ รพี ขวัญ ทอง แก้ว "
    "บุญ เลิศ ชนก ณิชา พิม สิริ อร ดารา เดช ฤทธิ์ วิทย์ ศุภ ชล กาญ จนา"
).split()
FAMILY_SYLLABLES = (
    "ใจ ดี ศรี สุข วงศ์ ทอง มี ชัย เจริญ พันธ์ รักษ์ กุล สกุล บุญ มา ประ เสริฐ แก้ว สวัสดิ์ รุ่ง "
    "เรือง ศักดิ์ นาค สมบูรณ์ ทรัพย์ เพชร ธรรม โชติ ปัญญา ภักดี อินทร์ จันทร์ สาย คำ แสง ภู ผล "
    "วัฒนา นิยม ลาภ ยิ่ง ยืน มั่น คง พร รัตน์ สิทธิ์ เกษม ปาน ขำ เขียว ขาว ทิพย์ กิจ การ ชล ธาร "
    "พงษ์ ไพศาล อุดม วิไล ศิลป์ โสภณ"
).split()
NICKNAMES = (
    "บีม ฟ้า มิว แบม ต้น เบนซ์ ปาล์ม แพร ใบเตย น้ำ ฝน ข้าว ดาว เจ พลอย ไอซ์ ออม ปอ ก้อง บอส นัท "
    "มายด์ เฟิร์น พีช แตงโม ส้ม เอิร์น เมย์ จูน ตั้ม โอ๊ต บิว กาย อิง แนน โบว์ เบล ฟิล์ม ปิ่น "
    "กิ๊ฟ แอม ตูน หมิว โฟม"
).split()
# Letters an agency confuses (the phonetic key merges each group), and marks it drops.
SWAPS = {
    "ศ": "ส",
    "ส": "ศ",
    "ษ": "ส",
    "ณ": "น",
    "น": "ณ",
    "ร": "ล",
    "ล": "ร",
    "ค": "ฅ",
    "ท": "ธ",
    "ธ": "ท",
    "พ": "ภ",
    "ภ": "พ",
}
TONES = "\u0e48\u0e49\u0e4a\u0e4b"
REF_DATE = np.datetime64("2024-12-31")
SUBDISTRICTS = tuple(f"10{d:02d}{s:02d}" for d in range(1, 51) for s in range(1, 5))


def _zipf_choice(rng: np.random.Generator, n_items: int, size: int, a: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n_items + 1) ** a
    return rng.choice(n_items, size=size, p=weights / weights.sum())


def _vocabulary(rng, syllables, n_names, lengths, weights, a):
    """``n_names`` distinct names of 2-4 syllables, syllables drawn with Zipf weights."""
    syl = np.array(syllables, dtype=object)
    names: dict[str, None] = {}
    while len(names) < n_names:
        m = 2 * (n_names - len(names)) + 100
        picks = _zipf_choice(rng, len(syl), m * max(lengths), a).reshape(m, max(lengths))
        size = rng.choice(lengths, size=m, p=weights)
        for row, k in zip(syl[picks], size, strict=True):
            names.setdefault("".join(row[:k]), None)
    return np.array(list(names)[:n_names], dtype=object)


def _pids(rng: np.random.Generator, n: int, first: np.ndarray | None = None) -> np.ndarray:
    """Random PIDs with a correct check digit."""
    digits = rng.integers(0, 10, size=(n, 12))
    digits[:, 0] = 1 if first is None else first
    digits[:, 1:3] = (1, 0)  # registrar office 10xx (Bangkok)
    digits[:, 3] = rng.integers(0, 6, n)
    check = (11 - (digits @ np.arange(13, 1, -1)) % 11) % 10
    full = np.c_[digits, check].astype(np.uint8) + 48
    return full.view("S13").ravel().astype(str).astype(object)


def pid_checks(pids: np.ndarray) -> np.ndarray:
    """True where a 13-digit PID's check digit holds."""
    digits = np.frombuffer("".join(pids).encode(), dtype=np.uint8).reshape(-1, 13).astype(int) - 48
    return (11 - (digits[:, :12] @ np.arange(13, 1, -1)) % 11) % 10 == digits[:, 12]


def misspell(name: str, rng: np.random.Generator) -> str:
    """One Thai spelling slip: a confusable letter, a dropped tone mark, or ำ typed as ํ + า."""
    chars = list(name)
    swaps = [i for i, c in enumerate(chars) if c in SWAPS]
    tones = [i for i, c in enumerate(chars) if c in TONES]
    options = (
        (["swap"] if swaps else []) + (["tone"] if tones else []) + (["am"] if "ำ" in name else [])
    )
    if not options:
        return name[:1] + "\u0e48" + name[1:] if len(name) > 1 else name
    op = options[rng.integers(len(options))]
    if op == "swap":
        i = swaps[rng.integers(len(swaps))]
        chars[i] = SWAPS[chars[i]]
    elif op == "tone":
        del chars[tones[rng.integers(len(tones))]]
    else:
        return name.replace("ำ", "\u0e4d\u0e32", 1)
    return "".join(chars)


def _families(rng: np.random.Generator, n_children: int):
    n_fam = int(n_children / 1.7) + 10
    sizes = 1 + np.minimum(rng.poisson(0.75, n_fam), 4)
    twins = rng.random(n_fam) < 0.0115
    sizes = sizes + twins
    keep = np.searchsorted(np.cumsum(sizes), n_children) + 1
    return sizes[:keep], twins[:keep]


def _children(rng: np.random.Generator, n_children: int) -> pd.DataFrame:
    sizes, twins = _families(rng, n_children)
    n_fam, n = len(sizes), int(sizes.sum())
    fam = np.repeat(np.arange(n_fam), sizes)
    pos = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    is_twin = twins[fam] & (pos <= 1)
    given_vocab = _vocabulary(rng, GIVEN_SYLLABLES, 20000, [2, 3], [0.6, 0.4], 0.7)
    family_vocab = _vocabulary(rng, FAMILY_SYLLABLES, max(3000, n_fam * 2), [3, 4], [0.7, 0.3], 0.3)
    common = rng.random(n_fam) < 0.1
    fam_name = np.where(
        common,
        family_vocab[rng.integers(0, 300, n_fam)],
        family_vocab[300 + rng.permutation(len(family_vocab) - 300)[:n_fam]],
    )
    youngest = REF_DATE - rng.integers(3, 11 * 365, n_fam).astype("timedelta64[D]")
    gap = np.where(is_twin & (pos == 1), 0, rng.integers(330, 4 * 365, n)) * (pos > 0)
    cum = np.cumsum(gap)
    older_by = cum - np.repeat(cum[np.cumsum(sizes) - sizes], sizes)
    dob = youngest[fam] - older_by.astype("timedelta64[D]")
    given = _zipf_choice(rng, len(given_vocab), n, 0.7)  # the commonest name: ~1.6% of children
    clash = pd.DataFrame({"f": fam, "g": given}).duplicated().to_numpy()
    while clash.any():  # parents do not give two of their children the same name
        given[clash] = rng.integers(0, len(given_vocab), clash.sum())
        clash = pd.DataFrame({"f": fam, "g": given}).duplicated().to_numpy()
    twin_second = is_twin & (pos == 1)
    sex = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    same_sex = twin_second & (rng.random(n) < 0.4)
    sex[same_sex] = np.roll(sex, 1)[same_sex]
    nat = rng.random(n)
    pid = _pids(rng, n, first=np.where(nat < 0.02, 7, 1))
    pid[nat > 0.97] = None
    mother_pid = _pids(rng, n_fam, first=3)
    phone = _join("+668", rng.integers(10**7, 10**8, n_fam))
    alt_phone = _join("+669", rng.integers(10**7, 10**8, n_fam))
    area = np.array(SUBDISTRICTS, dtype=object)[rng.integers(0, len(SUBDISTRICTS), n_fam)]
    adults = given_vocab[_zipf_choice(rng, len(given_vocab), (n_fam, 3), 0.7)]
    guardians = adults + " " + np.c_[fam_name, fam_name, family_vocab[rng.integers(0, 300, n_fam)]]
    primary = rng.choice(3, n_fam, p=[0.7, 0.2, 0.1])
    changed_given = rng.random(n) < 0.02
    changed_family = rng.random(n) < 0.02
    return pd.DataFrame(
        {
            "person_id": [f"P{i:07d}" for i in range(n)],
            "family": fam,
            "pos": pos,
            "size": sizes[fam],
            "twin_group": np.where(is_twin, _join("T", fam), None),
            "given_name": given_vocab[given],
            "old_given": np.where(changed_given, given_vocab[rng.integers(0, 20000, n)], None),
            "family_name": fam_name[fam],
            "old_family": np.where(changed_family, family_vocab[rng.integers(0, 300, n)], None),
            "nickname": np.array(NICKNAMES, dtype=object)[rng.integers(0, len(NICKNAMES), n)],
            "sex": sex,
            "birth_date": dob,
            "pid": pid,
            "nat": nat,
            "mother_pid": mother_pid[fam],
            "phone": phone[fam],
            "alt_phone": alt_phone[fam],
            "subdistrict": area[fam],
            "guardian": guardians[fam, primary[fam]],
            "alt_guardian": guardians[fam, (primary[fam] + 1) % 3],
            "mother_given": adults[fam, 0],
            "in_epassbook": (rng.random(n_fam) < 0.5)[fam],
            "family_ref": [f"FP-{a[:4]}-{f:06d}" for a, f in zip(area[fam], fam, strict=True)],
        }
    )


def _join(*parts, width: int = 0) -> np.ndarray:
    """Concatenate scalars and arrays as text, element-wise (numeric parts zero-padded)."""
    n = max(len(x) for x in parts if isinstance(x, np.ndarray | list | pd.Series))
    out = pd.Series([""] * n, dtype="str")
    for x in parts:
        if isinstance(x, np.ndarray | list | pd.Series):
            text = pd.Series(np.asarray(x)).astype("str")
            if np.asarray(x).dtype.kind in "iu" and width:
                text = text.str.zfill(width)
            out = out + text.to_numpy()
        else:
            out = out + str(x)
    return out.to_numpy(dtype=object)


def _age(dob: np.ndarray) -> np.ndarray:
    return (REF_DATE - dob.astype("datetime64[D]")).astype(int) / 365.25


def _pick(rng: np.random.Generator, mask: np.ndarray, rate: float) -> np.ndarray:
    return mask & (rng.random(len(mask)) < rate)


def _source_rows(rng: np.random.Generator, kids: pd.DataFrame) -> pd.DataFrame:
    """Which child appears in which source, under which record key and month."""
    age = _age(kids["birth_date"].to_numpy())
    age = np.where(age < 18, age, np.inf)  # grown-up siblings are not children: in no source
    fam = kids["family"].to_numpy()
    district = kids["subdistrict"].str[:4].to_numpy()
    parts = []

    def add(source, child, key, month, **extra):
        parts.append(
            pd.DataFrame(
                {"child": child, "source": source, "record_key": key, "month": month, **extra}
            )
        )

    # schools: one roster record; 6% also an older record at their previous school
    child = np.flatnonzero((age >= 4) & (age < 15.5) & (rng.random(len(age)) < 0.9))
    moved = child[rng.random(len(child)) < 0.06]
    for ids, school_no, month in (
        (child, fam[child] % 7 + 1, "202412"),
        (moved, fam[moved] % 7 + 11, "2024%02d"),
    ):
        student = 60000 + rng.permutation(len(ids) * 3)[: len(ids)]
        months = [month % m if "%" in month else month for m in rng.integers(1, 10, len(ids))]
        add("schools", ids, _join(district[ids], school_no, ":", student, width=4), months)
    # child_centres: register number within a centre sheet; 8% left before December
    child = np.flatnonzero((age >= 2) & (age < 6.5) & (rng.random(len(age)) < 0.6))
    reg = 1000 + rng.permutation(len(child) * 2)[: len(child)]
    add(
        "child_centres",
        child,
        _join("ศพด.ชุมชน", district[child], "-", fam[child] % 3, ":", reg),
        np.where(rng.random(len(child)) < 0.08, "202406", "202412"),
    )
    # health_centres: 25% also registered at a second centre
    child = np.flatnonzero(rng.random(len(age)) < np.where(age < 7, 0.8, 0.45) * (age < 18))
    second = child[rng.random(len(child)) < 0.25]
    for ids, shift in ((child, 0), (second, 37)):
        hosp = (kids["subdistrict"].to_numpy()[ids].astype(int) + shift) % 90000 + 10000
        local = 1 + rng.permutation(len(ids) * 3)[: len(ids)]
        add("health_centres", ids, _join(hosp, ":", local), "202412")
    # cpis: 1-5 case rows per child
    child = np.flatnonzero((rng.random(len(age)) < 0.1) & (age < 18))
    child = np.repeat(child, np.minimum(rng.geometric(0.55, len(child)), 5))
    add(
        "cpis",
        child,
        _join("CP-2024-", rng.permutation(10**6)[: len(child)], width=6),
        _join("2024", rng.integers(1, 13, len(child)), width=2),
    )
    # epassbook: every child of a surveyed family
    child = np.flatnonzero(kids["in_epassbook"].to_numpy() & (age < 18))
    member = kids["pos"].to_numpy()[child] + 2
    add(
        "epassbook",
        child,
        _join(kids["family_ref"].to_numpy()[child], ":", member),
        _join("2024", rng.integers(1, 13, len(child)), width=2),
    )
    return pd.concat(parts, ignore_index=True)


def _typo_pids(rng: np.random.Generator, pids: np.ndarray, swap: bool) -> np.ndarray:
    digits = np.frombuffer("".join(pids).encode(), dtype=np.uint8).reshape(-1, 13).copy()
    rows = np.arange(len(pids))
    if swap:  # two neighbouring digits swapped (redrawn where they were equal)
        at = rng.integers(0, 12, len(pids))
        left, right = digits[rows, at].copy(), digits[rows, at + 1].copy()
        same = left == right
        right[same] = 48 + (right[same] - 48 + 1) % 10
        digits[rows, at], digits[rows, at + 1] = right, left
    else:  # one digit wrong
        at = rng.integers(0, 13, len(pids))
        digits[rows, at] = 48 + (digits[rows, at] - 48 + rng.integers(1, 10, len(pids))) % 10
    return digits.view("S13").ravel().astype(str).astype(object)


def _misspell_some(rng: np.random.Generator, names: np.ndarray, mask: np.ndarray) -> None:
    for i in np.flatnonzero(mask & pd.notna(names)):
        names[i] = misspell(names[i], rng)


def _name_noise(rng, k: pd.DataFrame, src: np.ndarray, col: dict) -> None:
    """Name changes, nicknames in place of the formal name, spelling slips, other guardians."""
    n = len(src)
    show_old = _pick(rng, pd.notna(k["old_given"]).to_numpy(), 0.5)
    col["given_name"][show_old] = k["old_given"].to_numpy()[show_old]
    show_old = _pick(rng, pd.notna(k["old_family"]).to_numpy(), 0.5)
    col["family_name"][show_old] = k["old_family"].to_numpy()[show_old]
    col["guardian"][show_old] = k["alt_guardian"].to_numpy()[show_old]
    rate = np.select(
        [src == "child_centres", src == "cpis", src == "health_centres"], [0.03, 0.06, 0.01], 0.0
    )
    nick = rng.random(n) < rate
    col["given_name"][nick] = col["nickname"][nick]
    _misspell_some(rng, col["given_name"], rng.random(n) < 0.04)
    _misspell_some(rng, col["family_name"], rng.random(n) < 0.04)
    alt = rng.random(n) < 0.15
    col["guardian"][alt] = k["alt_guardian"].to_numpy()[alt]
    _misspell_some(rng, col["guardian"], rng.random(n) < 0.03)


def _pid_noise(rng, k, kids, child, src, age, col) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-source PID coverage, typos, a sibling's PID reused, Excel losses, G-codes.

    Returns ``(pid_status, gcode, newborn_blank)``; ``col["pid"]`` is updated in place.
    """
    n = len(src)
    coverage = np.select(
        [src == "schools", src == "child_centres", src == "health_centres", src == "cpis"],
        [0.97, 0.5, 0.93, 0.5],
        0.95,
    )
    has = pd.notna(col["pid"]) & (rng.random(n) < coverage)
    newborn_blank = (src == "health_centres") & (age < 0.25) & (rng.random(n) < 0.6)
    has &= ~newborn_blank
    sibling = _pick(rng, has & (k["size"].to_numpy() > 1), 0.003)
    last = k["pos"].to_numpy() == k["size"].to_numpy() - 1
    sib_row = child + np.where(last, -1, 1)
    col["pid"][sibling] = kids["pid"].to_numpy()[sib_row[sibling]]
    has &= pd.notna(col["pid"])
    for swap, r in ((False, 0.015), (True, 0.008)):
        hit = _pick(rng, has, r)
        if hit.any():
            col["pid"][hit] = _typo_pids(rng, col["pid"][hit].astype(str), swap)
    col["pid"][~has] = None
    excel_lost = (src == "child_centres") & has & (rng.random(n) < 0.05)
    col["pid"][excel_lost] = None
    status = np.full(n, "missing", dtype=object)
    ok = pd.notna(col["pid"])
    checks = np.zeros(n, dtype=bool)
    checks[ok] = pid_checks(col["pid"][ok].astype(str))
    first7 = np.array([str(p).startswith(("6", "7")) for p in col["pid"]])
    status[ok] = np.where(checks[ok], np.where(first7[ok], "non_thai", "valid"), "bad_check")
    status[excel_lost] = "invalid"
    gcode = np.full(n, None, dtype=object)
    g = (src == "schools") & ~ok & (rng.random(n) < 0.7)
    if g.any():
        gcode[g] = _join("G", rng.integers(10**11, 10**12, g.sum()))
    status[g] = "gcode"
    return status, gcode, newborn_blank


def _date_noise(rng, dob: np.ndarray, months: pd.Series, src: np.ndarray):
    """BE/CE slips, day-month swaps, year only, ages instead of dates.

    Returns ``(birth_date shown, precision, birth_year shown)``.
    """
    n = len(src)
    precision = np.full(n, "day", dtype=object)
    year = dob.astype("datetime64[Y]").astype(int) + 1970
    be = rng.random(n) < np.where(src == "child_centres", 0.03, 0.015)
    shift = np.where(rng.random(n) < 0.5, 543, -543)
    month = (dob.astype("datetime64[M]") - dob.astype("datetime64[Y]")).astype(int) + 1
    day = (dob - dob.astype("datetime64[M]")).astype(int) + 1
    swap = (rng.random(n) < 0.01) & (day <= 12) & (day != month)
    shown = dob.copy()
    if swap.any():
        shown[swap] = _join(year[swap], "-", day[swap], "-", month[swap], width=2).astype(
            "datetime64[D]"
        )
    year_shown = year + np.where(be, shift, 0)
    if be.any():  # same day and month, year off by 543 (29 Feb kept only in a leap year)
        leap_day = be & (month == 2) & (day == 29)
        shown[be] = _join(
            year_shown[be], "-", month[be], "-", day[be] - leap_day[be], width=2
        ).astype("datetime64[D]")
    only_year = (src == "health_centres") & (rng.random(n) < 0.03)
    opened_at = (months.str[:4] + "-" + months.str[4:6] + "-15").to_numpy()
    opened_at = opened_at.astype("datetime64[D]")
    aged = (src == "cpis") & (rng.random(n) < 0.35)
    est_age = np.floor((opened_at - dob).astype(int) / 365.25).astype(int) + rng.choice(
        [-1, 0, 1], n, p=[0.15, 0.7, 0.15]
    )
    opened_year = opened_at.astype("datetime64[Y]").astype(int) + 1970
    year_shown = np.where(aged, opened_year - est_age, year_shown)
    precision[only_year] = "year"
    precision[aged] = "age"
    coarse = only_year | aged
    if coarse.any():
        shown[coarse] = _join(year_shown[coarse], "-01-01").astype("datetime64[D]")
    return shown, precision, year_shown


def _sex_and_prefix(rng, src: np.ndarray, age: np.ndarray, col: dict) -> np.ndarray:
    """Prefixes typed wrongly in centres and CPIS; CPIS often leaves sex blank."""
    n = len(src)
    flip = rng.random(n) < np.select([src == "child_centres", src == "cpis"], [0.005, 0.01], 0)
    col["sex"][flip] = np.where(col["sex"][flip] == "M", "F", "M")
    col["sex"][(src == "cpis") & (rng.random(n) < 0.08)] = None
    prefix = np.where(
        age < 15,
        np.where(col["sex"] == "M", "ด.ช.", "ด.ญ."),
        np.where(col["sex"] == "M", "นาย", "น.ส."),
    )
    return np.where(pd.isna(col["sex"]), None, prefix)


def simulate_people(n_children: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate standardised PERSON records for ``n_children`` children with known truth.

    Args:
        n_children: Number of children (records are about 2.4 per child).
        seed: Seed of the random generator; the same seed gives the same frames.

    Returns:
        ``(persons, truth)``. ``persons`` has the PERSON columns. ``truth`` has ``unique_id``,
        ``source``, ``record_key``, ``person_id``, ``family_id``, ``twin_group`` (NA unless a
        twin) and ``birth_date`` (the true one).
    """
    rng = np.random.default_rng(seed)
    kids = _children(rng, n_children)
    rows = _source_rows(rng, kids)
    child = rows["child"].to_numpy()
    k = kids.iloc[child].reset_index(drop=True)
    n, src = len(rows), rows["source"].to_numpy()
    age = _age(k["birth_date"].to_numpy())
    col = {
        c: k[c].to_numpy(dtype=object).copy()
        for c in ("given_name", "family_name", "nickname", "sex", "pid", "mother_pid", "guardian")
    }
    _name_noise(rng, k, src, col)
    status, gcode, newborn_blank = _pid_noise(rng, k, kids, child, src, age, col)
    dob = k["birth_date"].to_numpy().astype("datetime64[D]")
    shown, precision, year_shown = _date_noise(rng, dob, rows["month"].astype("str"), src)
    prefix = _sex_and_prefix(rng, src, age, col)
    placeholder = newborn_blank & (rng.random(n) < 0.8)
    if placeholder.any():
        col["given_name"][placeholder] = np.where(
            rng.random(placeholder.sum()) < 0.5,
            "ทารก",
            _join("บุตรนาง", k["mother_given"].to_numpy()[placeholder]),
        )
    phone = np.where(rng.random(n) < 0.1, k["alt_phone"], k["phone"]).astype(object)
    has_phone = np.select([src == "health_centres", src == "cpis"], [0.5, 0.8], 0.9)
    phone[rng.random(n) > has_phone] = None
    sub = k["subdistrict"].to_numpy().astype(object)
    moved = rng.random(n) < 0.03  # the family moved between two agencies' updates
    sub[moved] = np.array(SUBDISTRICTS, dtype=object)[
        rng.integers(0, len(SUBDISTRICTS), moved.sum())
    ]
    health = src == "health_centres"
    nickname = np.where((src == "child_centres") & (rng.random(n) < 0.9), col["nickname"], None)
    mother = np.where(health & (rng.random(n) < 0.75), col["mother_pid"], None)
    no_sub = (src == "cpis") | ((src == "child_centres") & (rng.random(n) < 0.3))
    persons = pd.DataFrame(
        {
            "source": src,
            "record_key": rows["record_key"],
            "month": rows["month"],
            "pid": col["pid"],
            "pid_status": status,
            "gcode": gcode,
            "prefix": prefix,
            "given_name": col["given_name"],
            "family_name": col["family_name"],
            "nickname": nickname,
            "sex": col["sex"],
            "birth_date": shown.astype("datetime64[ms]"),
            "birth_date_precision": precision,
            "birth_year": year_shown,
            "guardian_name": np.where(health, None, col["guardian"]),
            "guardian_relation": np.where(health, None, "มารดา"),
            "guardian_phone": phone,
            "mother_pid": mother,
            "family_ref": np.where(src == "epassbook", k["family_ref"], None),
            "address_text": _join("แขวง", sub),
            "district_code": sub,
            "subdistrict_code": np.where(no_sub, None, sub),
            "is_placeholder_name": placeholder,
        }
    )
    persons["district_code"] = persons["district_code"].str[:4]
    for c in persons.columns:
        if c not in ("birth_date", "birth_year", "is_placeholder_name"):
            persons[c] = persons[c].astype("str")
    persons["birth_year"] = persons["birth_year"].astype("Int64")
    named = persons["given_name"].where(~persons["is_placeholder_name"])
    persons["given_name_key"] = phonetic_key(named)
    persons["family_name_key"] = phonetic_key(persons["family_name"])
    persons["given_name_rom"] = romanise(named)
    persons["family_name_rom"] = romanise(persons["family_name"])
    persons = persons[list(PERSON)]
    truth = pd.DataFrame(
        {
            "unique_id": persons["source"] + "|" + persons["record_key"],
            "source": persons["source"],
            "record_key": persons["record_key"],
            "person_id": k["person_id"],
            "family_id": "F" + k["family"].astype(str),
            "twin_group": k["twin_group"].astype("str"),
            "birth_date": k["birth_date"],
        }
    )
    return persons, truth


def with_check_digit(first12: str) -> str:
    """A made-up PID: twelve digits plus their check digit."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def person_frame(rows: list[dict]) -> pd.DataFrame:
    """A hand-made PERSON frame: every column present, unspecified values missing.

    ``birth_date`` is given as ``YYYY-MM-DD``; ``birth_year`` and ``birth_date_precision``
    (``day``) follow from it unless given; ``pid_status`` defaults to ``valid`` when a PID is
    given and ``missing`` otherwise; ``month`` defaults to ``202412``.
    """
    frame = pd.DataFrame(rows).reindex(columns=list(PERSON)).astype(object)
    frame["month"] = frame["month"].fillna("202412")
    frame["pid_status"] = frame["pid_status"].fillna(
        pd.Series(np.where(frame["pid"].notna(), "valid", "missing"), index=frame.index)
    )
    born = pd.to_datetime(frame["birth_date"]).astype("datetime64[ms]")
    frame["birth_date"] = born
    frame["birth_year"] = frame["birth_year"].fillna(born.dt.year).astype("Int64")
    frame["birth_date_precision"] = frame["birth_date_precision"].fillna(
        pd.Series(np.where(born.notna(), "day", None), index=frame.index)
    )
    frame["is_placeholder_name"] = frame["is_placeholder_name"].fillna(False).astype(bool)
    for column in frame.columns:
        if column not in ("birth_date", "birth_year", "is_placeholder_name"):
            frame[column] = frame[column].astype("str")
    return frame
