"""Row-level dirt: rates, the tag vocabulary, and vectorised corruptions of names, PIDs, dates.

Every corruption returns the new values and the mask of records it really changed, so the truth
``dirt`` column lists only what was injected. Text corruptions run once per distinct
``(value, variant)`` pair.

Tags: ``spelling``, ``double_space``, ``zero_width``, ``sara_am_split``, ``thai_digits``,
``prefix_glued``, ``nickname``, ``given_name_change``, ``family_name_change``, ``pid_typo``,
``pid_swap``, ``pid_missing``, ``pid_sibling``, ``pid_dashed``, ``pid_spaced``, ``pid_number``,
``pid_float_lost``, ``be_ce_swap``, ``dm_swap``, ``year_only``, ``impossible_date``, ``age_only``,
``be_in_date_cell``, ``sex_unknown``, ``placeholder_name``, ``newborn_no_cid``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .rng import digits_to_pid, pid_digits, pid_is_valid

# Tags after which the PID or the day-precise birth date cannot be recovered from the record.
UNRECOVERABLE = frozenset(
    {
        "pid_typo",
        "pid_swap",
        "pid_missing",
        "pid_sibling",
        "pid_float_lost",
        "dm_swap",
        "year_only",
        "impossible_date",
        "age_only",
    }
)
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
TONES = "\u0e48\u0e49\u0e4a\u0e4b"
ABOVE = "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e47"
SWAPS = [
    ("ศ", "ส"),
    ("ษ", "ส"),
    ("ส", "ศ"),
    ("ณ", "น"),
    ("น", "ณ"),
    ("ร", "ล"),
    ("ล", "ร"),
    ("ค", "ฅ"),
]
VOWELS = [
    ("\u0e34", "\u0e35"),
    ("\u0e35", "\u0e34"),
    ("\u0e38", "\u0e39"),
    ("\u0e39", "\u0e38"),
    ("\u0e4c", ""),
    ("\u0e31", ""),
]


@dataclass(frozen=True)
class DirtRates:
    """Per-record probabilities of each kind of dirt (defaults give < 1% unrecoverable records).

    Recoverable dirt (formats, spelling, eras) sits at 0.5-3%; dirt that destroys a PID or a
    day-precise birth date is kept at 0.05-0.3% each so a good standardiser can still agree with
    truth on >= 99.5% of records.
    """

    spelling: float = 0.02
    double_space: float = 0.01
    zero_width: float = 0.005
    sara_am: float = 0.05  # of records (applies where a name contains the vowel sara am)
    thai_digits: float = 0.01
    prefix_glued: float = 0.01
    nickname: float = 0.01
    given_name_change: float = 0.015  # children with a former given name
    family_name_change: float = 0.008  # families whose children took a new family name
    name_change_per_month: float = 0.002
    stale_name: float = 0.5  # chance a source still uses the former name
    pid_typo: float = 0.0012
    pid_swap: float = 0.0012
    pid_missing: float = 0.001
    pid_sibling: float = 0.0005
    pid_format: float = 0.03  # dashed or spaced
    pid_number_cell: float = 0.3  # child centres: PID typed into a number cell
    pid_float: float = 0.01  # child centres: number cell shown as a float, digits lost
    be_ce_swap: float = 0.01
    dm_swap: float = 0.001
    year_only: float = 0.003  # health BIRTH YYYY0101
    impossible_date: float = 0.0005
    age_only: float = 0.04  # cpis: age_years instead of birth_date
    date_cell_be: float = 0.01  # child centres: a date cell holding a BE year
    sex_unknown: float = 0.02  # cpis
    newborn_placeholder: float = 0.3  # health: newborns under 3 months not yet registered/named
    romanised: float = 0.45  # schools: share of rows with English names filled in


class Tags:
    """Accumulates per-record dirt tags; ``joined()`` gives the ';'-joined truth column."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.masks: dict[str, np.ndarray] = {}

    def add(self, tag: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        self.masks[tag] = self.masks[tag] | mask if tag in self.masks else mask.copy()

    def joined(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        for tag, mask in self.masks.items():
            out[mask] = out[mask] + tag + ";"
        has = out != ""
        out[has] = pd.Series(out[has]).str[:-1].to_numpy(dtype=object)
        return out


def _misspell(s: str, v: int) -> str:
    ops = []
    for i, ch in enumerate(s):
        if ch in TONES:
            ops.append(lambda i=i: s[:i] + s[i + 1 :])
            if i > 0 and s[i - 1] in ABOVE:
                ops.append(lambda i=i: s[: i - 1] + s[i] + s[i - 1] + s[i + 1 :])
    for a, b in SWAPS + VOWELS:
        if a in s:
            ops.append(lambda a=a, b=b: s.replace(a, b, 1))
    return ops[v % len(ops)]() if ops else s


def _zero_width(s: str, v: int) -> str:
    pos = 1 + v % max(len(s) - 1, 1)
    return s[:pos] + "\u200b" + s[pos:]


def _per_distinct(values: np.ndarray, mask: np.ndarray, u: np.ndarray, fn) -> tuple:
    values = np.asarray(values, dtype=object).copy()
    idx = np.nonzero(mask & pd.notna(values))[0]
    if len(idx) == 0:
        return values, np.zeros(len(values), dtype=bool)
    sub = pd.DataFrame({"s": values[idx], "v": (u[idx] * 997).astype(np.int64)})
    uniq = sub.drop_duplicates()
    uniq = uniq.assign(out=[fn(s, v) for s, v in zip(uniq["s"], uniq["v"], strict=True)])
    new = sub.merge(uniq, on=["s", "v"], how="left")["out"].to_numpy(dtype=object)
    changed = np.zeros(len(values), dtype=bool)
    changed[idx] = new != values[idx]
    values[idx] = new
    return values, changed


def misspell(values: np.ndarray, mask: np.ndarray, u: np.ndarray) -> tuple:
    """Thai spelling variants: tone mark dropped or misplaced, consonant or vowel swapped."""
    return _per_distinct(values, mask, u, _misspell)


def zero_width(values: np.ndarray, mask: np.ndarray, u: np.ndarray) -> tuple:
    """Insert a zero-width space (U+200B) inside the value."""
    return _per_distinct(values, mask, u, _zero_width)


def replace_in(values: np.ndarray, mask: np.ndarray, old: str, new: str, count: int = -1):
    """Replace ``old`` by ``new`` in masked values; returns values and the changed mask."""
    values = np.asarray(values, dtype=object).copy()
    idx = np.nonzero(mask & pd.notna(values))[0]
    sub = pd.Series(values[idx], dtype=object)
    new_sub = sub.str.replace(old, new, n=count, regex=False).to_numpy(dtype=object)
    changed = np.zeros(len(values), dtype=bool)
    changed[idx] = new_sub != values[idx]
    values[idx] = new_sub
    return values, changed


def thai_digits(values: np.ndarray, mask: np.ndarray) -> tuple:
    """Arabic digits written as Thai digits ๐-๙."""
    values = np.asarray(values, dtype=object).copy()
    idx = np.nonzero(mask & pd.notna(values))[0]
    new = pd.Series(values[idx], dtype=object).str.translate(THAI_DIGITS).to_numpy(dtype=object)
    changed = np.zeros(len(values), dtype=bool)
    changed[idx] = new != values[idx]
    values[idx] = new
    return values, changed


def corrupt_pid(pid: np.ndarray, mask: np.ndarray, u: np.ndarray, swap: bool) -> tuple:
    """One digit mistyped (``swap=False``) or two adjacent digits swapped; the check then fails."""
    pid = np.asarray(pid, dtype=np.int64).copy()
    idx = np.nonzero(mask & (pid >= 0))[0]
    if len(idx) == 0:
        return pid, np.zeros(len(pid), dtype=bool)
    d = pid_digits(pid[idx])
    span = 12 if swap else 13
    pos = (u[idx] * span).astype(np.int64)
    new = d.copy()
    todo = np.ones(len(idx), dtype=bool)
    for attempt in range(13):  # move along the number until the result is invalid and different
        p = (pos + attempt) % span
        cand = d.copy()
        rows = np.arange(len(idx))
        if swap:
            cand[rows, p], cand[rows, p + 1] = d[rows, p + 1], d[rows, p]
        else:
            cand[rows, p] = (d[rows, p] + 1 + (u[idx] * 1e6).astype(np.int64) % 9) % 10
        val = digits_to_pid(cand)
        ok = todo & ~pid_is_valid(val) & (val != pid[idx])
        new[ok] = cand[ok]
        todo &= ~ok
    done = ~todo
    pid[idx[done]] = digits_to_pid(new[done])
    changed = np.zeros(len(pid), dtype=bool)
    changed[idx[done]] = True
    return pid, changed


def format_pid(pid_text: pd.Series, style: np.ndarray) -> np.ndarray:
    """Style 0 plain, 1 ``1-1037-01234-56-7``, 2 ``1 1037 01234 56 7``."""
    s = pid_text.astype(object)
    out = s.to_numpy(dtype=object).copy()
    for st, sep in ((1, "-"), (2, " ")):
        m = (style == st) & s.notna().to_numpy()
        t = s[m]
        out[m] = (
            t.str[0] + sep + t.str[1:5] + sep + t.str[5:10] + sep + t.str[10:12] + sep + t.str[12]
        ).to_numpy(dtype=object)
    return out


def format_phone(phone: pd.Series, style: np.ndarray) -> np.ndarray:
    """Phone as typed: ``0812345678``, ``081-234-5678``, ``+66812345678``, ``081 234 5678``."""
    s = phone.astype(object)
    out = s.to_numpy(dtype=object).copy()
    land = s.str.startswith("02").fillna(False).to_numpy()
    ok = s.notna().to_numpy()
    split = np.where(land, 2, 3)
    for st in (1, 2, 3):
        for is_land, cut in ((True, 2), (False, 3)):
            m = ok & (style == st) & (land == is_land) & (split == cut)
            t = s[m]
            if st == 2:
                out[m] = ("+66" + t.str[1:]).to_numpy(dtype=object)
            else:
                sep = "-" if st == 1 else " "
                out[m] = (
                    t.str[:cut] + sep + t.str[cut : cut + 3] + sep + t.str[cut + 3 :]
                ).to_numpy(dtype=object)
    return out
