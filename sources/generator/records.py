"""What one agency record says about a person: names, PID and birth date with their dirt.

Choices are hashed on ``(seed, source, record key)`` so a record keeps its dirt from one monthly
delivery to the next; whether a source still uses a former name is hashed on the person (or the
family, for family names) so siblings in one register agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import dates, dirt
from .dirt import DirtRates, Tags
from .rng import hash_uniform, pid_str


@dataclass
class MonthView:
    """Who is in Bangkok at the end of reporting month ``m`` and how old they are."""

    m: int
    month: str
    first: int
    last: int
    alive: np.ndarray
    age: np.ndarray


def month_view(u, m: int) -> MonthView:
    """The population as seen on the last day of month ``m``."""
    first, last = dates.month_span(u.months[m])
    p = u.persons
    fidx = p["fidx"].to_numpy()
    fam_in = (u.fam["in_month"].to_numpy()[fidx] <= m) & (m < u.fam["out_month"].to_numpy()[fidx])
    birth = p["birth"].to_numpy()
    return MonthView(
        m, u.months[m], first, last, fam_in & (birth <= last), dates.age_years(birth, last)
    )


@dataclass
class Identity:
    """Identity fields of a batch of records of one source, after dirt."""

    idx: np.ndarray
    seed: int
    salt: str
    key: np.ndarray
    tags: Tags
    given: np.ndarray
    family: np.ndarray
    nickname: np.ndarray
    pid: np.ndarray
    gcode: np.ndarray
    sex: np.ndarray
    birth: np.ndarray
    is_child: np.ndarray

    def u(self, what: str) -> np.ndarray:
        """Per-record uniform draw for the decision ``what``."""
        return hash_uniform(self.seed, f"{self.salt}:{what}", self.key)

    def pid_text(self) -> pd.Series:
        return pid_str(self.pid)


def identity(
    u,
    idx: np.ndarray,
    source: str,
    m: int,
    rates: DirtRates,
    key: np.ndarray | None = None,
    utf8: bool = True,
) -> Identity:
    """Names and PID of persons ``idx`` as written by ``source`` in month ``m``."""
    p, seed = u.persons, u.seed
    idx = np.asarray(idx, dtype=np.int64)
    key = idx if key is None else np.asarray(key, dtype=np.int64)
    fidx = p["fidx"].to_numpy()[idx]
    role = p["role"].to_numpy()[idx]
    ident = Identity(
        idx,
        seed,
        source,
        key,
        Tags(len(idx)),
        p["given"].to_numpy(dtype=object)[idx].copy(),
        u.fam["family"].to_numpy(dtype=object)[fidx].copy(),
        p["nickname"].to_numpy(dtype=object)[idx].copy(),
        p["pid"].to_numpy()[idx].copy(),
        p["gcode"].to_numpy(dtype=object)[idx],
        p["sex"].to_numpy(dtype=object)[idx],
        p["birth"].to_numpy()[idx],
        role == "child",
    )
    t = ident.tags
    old = p["given_old"].to_numpy(dtype=object)[idx]
    change = p["given_change"].to_numpy()[idx]
    stale = hash_uniform(seed, f"{source}:stale-given", idx) < rates.stale_name
    use = pd.notna(old) & ((m < change) | stale)
    ident.given[use] = old[use]
    t.add("given_name_change", use)
    f_old = u.fam["family_old"].to_numpy(dtype=object)[fidx]
    f_change = u.fam["family_change"].to_numpy()[fidx]
    stale = hash_uniform(seed, f"{source}:stale-family", fidx) < rates.stale_name
    use = pd.notna(f_old) & ((m < f_change) | stale)
    ident.family[use] = f_old[use]
    t.add("family_name_change", use)

    nick = ident.is_child & (ident.u("nick") < rates.nickname)
    thai = pd.Series(ident.nickname, dtype=object).str.match("[ก-๛]")
    nick &= thai.fillna(False).to_numpy(dtype=bool)
    ident.given[nick] = ident.nickname[nick]
    t.add("nickname", nick)
    spell = ident.u("spell") < rates.spelling
    on_given = ident.u("spell-field") < 0.5
    ident.given, ch1 = dirt.misspell(ident.given, spell & on_given, ident.u("spell-v"))
    ident.family, ch2 = dirt.misspell(ident.family, spell & ~on_given, ident.u("spell-v"))
    t.add("spelling", ch1 | ch2)
    am = ident.u("sara-am") < rates.sara_am
    ident.given, ch1 = dirt.replace_in(ident.given, am, "ำ", "\u0e4d\u0e32")
    ident.family, ch2 = dirt.replace_in(ident.family, am, "ำ", "\u0e4d\u0e32")
    t.add("sara_am_split", ch1 | ch2)
    if utf8:  # cp874 has no zero-width space: a Windows-874 export cannot carry one
        zw = ident.u("zw") < rates.zero_width
        on_given = ident.u("zw-field") < 0.5
        ident.given, ch1 = dirt.zero_width(ident.given, zw & on_given, ident.u("zw-v"))
        ident.family, ch2 = dirt.zero_width(ident.family, zw & ~on_given, ident.u("zw-v"))
        t.add("zero_width", ch1 | ch2)

    sib = p["sib"].to_numpy()[idx]
    sib_pid = np.where(sib >= 0, p["pid"].to_numpy()[np.maximum(sib, 0)], -1)
    reuse = (ident.u("pid-sib") < rates.pid_sibling) & (sib_pid >= 0) & (ident.pid >= 0)
    ident.pid[reuse] = sib_pid[reuse]
    t.add("pid_sibling", reuse)
    ident.pid, ch = dirt.corrupt_pid(
        ident.pid, ident.u("pid-typo") < rates.pid_typo, ident.u("pid-typo-v"), swap=False
    )
    t.add("pid_typo", ch)
    ident.pid, ch = dirt.corrupt_pid(
        ident.pid, ident.u("pid-swap") < rates.pid_swap, ident.u("pid-swap-v"), swap=True
    )
    t.add("pid_swap", ch)
    gone = (ident.u("pid-missing") < rates.pid_missing) & (ident.pid >= 0)
    ident.pid[gone] = -1
    t.add("pid_missing", gone)
    return ident


def birth_parts(
    ident: Identity,
    era: str,
    rates: DirtRates,
    swap_era: bool = True,
    rows: np.ndarray | None = None,
) -> tuple:
    """Year (in ``era``), month and day of the birth date, with era, swap and impossible dirt.

    ``rows`` limits the dirt (and its tags) to the records whose date is written as text.
    """
    rows = np.ones(len(ident.idx), dtype=bool) if rows is None else rows
    y, mo, d = dates.ymd(ident.birth)
    if era == "BE":
        y = y + dates.BE_OFFSET
    if swap_era:
        wrong = (ident.u("be-ce") < rates.be_ce_swap) & rows
        y = np.where(wrong, y - dates.BE_OFFSET if era == "BE" else y + dates.BE_OFFSET, y)
        ident.tags.add("be_ce_swap", wrong)
    swap = (ident.u("dm-swap") < rates.dm_swap) & (d != mo) & rows
    mo, d = np.where(swap, d, mo), np.where(swap, mo, d)
    ident.tags.add("dm_swap", swap)
    bad = (ident.u("impossible") < rates.impossible_date) & ~swap & rows
    d = np.where(bad, np.where(np.isin(mo, [4, 6, 9, 11]), 31, np.where(mo == 2, 30, 32)), d)
    ident.tags.add("impossible_date", bad)
    return y, mo, d


def dmy(y: np.ndarray, mo: np.ndarray, d: np.ndarray, sep: str = "/") -> np.ndarray:
    """``dd/mm/yyyy`` strings."""
    return dates.zpad(d, 2) + sep + dates.zpad(mo, 2) + sep + dates.text(y)


def child_prefix(sex: np.ndarray, age: np.ndarray, long: np.ndarray) -> np.ndarray:
    """ด.ช./ด.ญ. (or เด็กชาย/เด็กหญิง) under 15, นาย/น.ส. (or นางสาว) from 15."""
    boy = sex == "M"
    young = np.where(boy, np.where(long, "เด็กชาย", "ด.ช."), np.where(long, "เด็กหญิง", "ด.ญ."))
    old = np.where(boy, "นาย", np.where(long, "นางสาว", "น.ส."))
    return np.where(age < 15, young, old).astype(object)


def full_name(
    prefix: np.ndarray, ident: Identity, glued: np.ndarray, rates: DirtRates, what: str = "name"
) -> np.ndarray:
    """Prefix + given + family in one field, sometimes with a doubled space (tagged)."""
    sep = np.where(glued, "", " ").astype(object)
    double = ident.u(f"{what}-double") < rates.double_space
    mid = np.where(double, "  ", " ").astype(object)
    ident.tags.add("double_space", double)
    return prefix + sep + ident.given + mid + ident.family


def guardian_name(u, fidx: np.ndarray, glued: np.ndarray) -> np.ndarray:
    """Guardian's full name with title, glued (``นางสมศรี ใจดี``) or spaced."""
    fam = u.fam
    title = fam["guardian_title"].to_numpy(dtype=object)[fidx]
    sep = np.where(glued, "", " ").astype(object)
    return (
        title
        + sep
        + fam["guardian_given"].to_numpy(dtype=object)[fidx]
        + " "
        + fam["guardian_family"].to_numpy(dtype=object)[fidx]
    )


def phone(u, fidx: np.ndarray, style: np.ndarray, ident: Identity, rates: DirtRates) -> np.ndarray:
    """Family phone as typed, sometimes in Thai digits (tagged)."""
    raw = pd.Series(u.fam["phone"].to_numpy(dtype=object)[fidx], dtype=object)
    out = dirt.format_phone(raw, style)
    out, ch = dirt.thai_digits(out, ident.u("phone-thai") < rates.thai_digits)
    ident.tags.add("thai_digits", ch)
    return out


def truth(
    u,
    source: str,
    month: str,
    record_key: np.ndarray,
    ident: Identity,
    is_child: np.ndarray | None = None,
) -> pd.DataFrame:
    """Ground-truth rows (one per person-record) for the records just built."""
    p = u.persons
    fidx = p["fidx"].to_numpy()[ident.idx]
    return pd.DataFrame(
        {
            "source": source,
            "record_key": np.asarray(record_key, dtype=object),
            "month": month,
            "person_id": "P" + dates.zpad(ident.idx, 8),
            "family_id": u.fam["family_id"].to_numpy(dtype=object)[fidx],
            "is_child": ident.is_child if is_child is None else np.asarray(is_child, dtype=bool),
            "dirt": ident.tags.joined(),
        }
    )


def pid_cell(
    ident: Identity, rates: DirtRates, show_gcode: bool, rows: np.ndarray | None = None
) -> np.ndarray:
    """PID as typed in a text field: plain, dashed or spaced, maybe Thai digits (all tagged).

    ``rows`` limits formatting dirt (and its tags) to the records written this way.
    """
    rows = np.ones(len(ident.idx), dtype=bool) if rows is None else rows
    text = ident.pid_text()
    fmt = ident.u("pid-fmt")
    style = np.where(fmt < rates.pid_format / 2, 1, np.where(fmt < rates.pid_format, 2, 0))
    ok = text.notna().to_numpy() & rows
    style = np.where(rows, style, 0)
    ident.tags.add("pid_dashed", ok & (style == 1))
    ident.tags.add("pid_spaced", ok & (style == 2))
    out = dirt.format_pid(text, style)
    out, ch = dirt.thai_digits(out, (ident.u("pid-thai") < rates.thai_digits) & rows)
    ident.tags.add("thai_digits", ch)
    if show_gcode:
        g = pd.notna(ident.gcode) & ~ok
        out[g] = ident.gcode[g]
    return out
