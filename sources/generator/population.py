"""The synthetic population: families, children and their parents, for all reporting months.

Everything here is truth. One universe covers every month generated: families that move in
later carry an ``in_month``, families that leave an ``out_month``, and babies born during the
window simply have a birth date after the first reporting day.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import dates, households
from .names import NamePool, build_pools, nicknames
from .rng import make_pid

REFERENCE = Path(__file__).resolve().parents[2] / "schemas" / "reference"
FAMILY_IN_PER_MONTH = 0.02  # share of children whose family moves into Bangkok each month


@dataclass
class Universe:
    """All truth needed to write every month's extracts."""

    seed: int
    months: list[str]
    fam: pd.DataFrame  # one row per family, index = family number
    persons: pd.DataFrame  # children first, then mothers, then fathers; index = person number
    n_children: int
    pools: dict[str, NamePool]
    districts: pd.DataFrame
    subdistricts: pd.DataFrame
    schools: pd.DataFrame | None = None
    centres: pd.DataFrame | None = None
    hospitals: pd.DataFrame | None = None


def _family_births(rng: np.random.Generator, n_fam: int, t0: int, window: int) -> tuple:
    """Birth days (F, 4) and a validity mask for families of 1-4 children under 18 at t0."""
    n_kids = rng.choice([1, 2, 3, 4], size=n_fam, p=[0.42, 0.35, 0.16, 0.07])
    births = np.empty((n_fam, 4), dtype=np.int64)
    births[:, 0] = t0 + window - rng.integers(0, 18 * 365 + window, n_fam)
    gaps = 330 + rng.gamma(2.0, 450.0, size=(n_fam, 3)).astype(np.int64)
    births[:, 1:] = births[:, :1] - np.cumsum(gaps, axis=1)
    valid = (np.arange(4)[None, :] < n_kids[:, None]) & (dates.age_years(births, t0) < 18)
    twin = valid[:, 1] & (rng.random(n_fam) < 0.034)
    births[twin, 1] = births[twin, 0]
    return births, valid, twin


def _children(rng: np.random.Generator, n: int, months: int, t0: int, window: int) -> pd.DataFrame:
    """Children of base families (present at month 0) plus families moving in later."""
    frames, fam_off = [], 0
    n_in = int(round(n * FAMILY_IN_PER_MONTH * (months - 1)))
    for target, later in ((n, False), (n_in, True)):
        if target == 0:
            continue
        n_fam = int(target / 1.6) + 20
        while True:
            births, valid, twin = _family_births(rng, n_fam, t0, window)
            counted = valid & ((births <= t0) | later)
            cum = np.cumsum(counted.sum(axis=1))
            if cum[-1] >= target:
                break
            n_fam *= 2
        keep = int(np.searchsorted(cum, target)) + 1
        births, valid, twin = births[:keep], valid[:keep], twin[:keep]
        fidx, child_no = np.nonzero(valid)
        in_month = rng.integers(1, months, keep) if later else np.zeros(keep, dtype=np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "fidx": fidx + fam_off,
                    "child_no": child_no,
                    "birth": births[fidx, child_no],
                    "twin_pair": twin[fidx] & (child_no <= 1),
                    "in_month": in_month[fidx],
                }
            )
        )
        fam_off += keep
    return pd.concat(frames, ignore_index=True)


def _leap_day_births(rng: np.random.Generator, kids: pd.DataFrame, t0: int) -> None:
    """A few children really born on 29 February 2020 or 2024 (written 29/02/2563, 29/02/2567)."""
    for leap in (dates.day("2020-02-29"), dates.day("2024-02-29")):
        if 0 <= t0 - leap < 17 * 365:
            pick = (rng.random(len(kids)) < 0.0008) & ~kids["twin_pair"].to_numpy()
            kids.loc[pick, "birth"] = leap


def _pick_names(
    rng: np.random.Generator, pools: dict[str, NamePool], sex: np.ndarray
) -> np.ndarray:
    out = np.empty(len(sex), dtype=np.int64)
    for s in ("M", "F"):
        m = sex == s
        out[m] = pools[s].sample(rng, int(m.sum()))
    return out


def _twin_names(
    rng: np.random.Generator, pools: dict[str, NamePool], kids: pd.DataFrame, given: np.ndarray
) -> None:
    """Second twins get a different name, half the time sharing the first twin's first part."""
    sex = kids["sex"].to_numpy()
    first = np.nonzero(kids["twin_pair"].to_numpy() & (kids["child_no"].to_numpy() == 0))[0]
    second = first + 1  # children of a family are consecutive, youngest first
    for s in ("M", "F"):
        pool = pools[s]
        order = np.argsort(pool.head, kind="stable")
        start = np.searchsorted(pool.head[order], np.arange(pool.head.max() + 2))
        sel = second[sex[second] == s]
        head = np.array(
            [pools[x].head[i] for x, i in zip(sex[sel - 1], given[sel - 1], strict=True)],
            dtype=np.int64,
        )
        head = np.minimum(head, pool.head.max())
        lo, hi = start[head], start[head + 1]
        rhyme = (rng.random(len(sel)) < 0.5) & (hi - lo > 1)
        pos = lo + (rng.random(len(sel)) * np.maximum(hi - lo, 1)).astype(np.int64)
        given[sel[rhyme]] = order[pos[rhyme]]
        clash = pool.thai[given[sel]] == _name_of(pools, sex[sel - 1], given[sel - 1])
        given[sel[clash]] = (given[sel[clash]] + 1) % len(pool.thai)


def _name_of(pools: dict[str, NamePool], sex: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = np.empty(len(idx), dtype=object)
    for s in ("M", "F"):
        m = sex == s
        out[m] = pools[s].thai[idx[m]]
    return out


def _pids(
    rng: np.random.Generator, category: np.ndarray, registrar: np.ndarray, twin_of: np.ndarray
) -> np.ndarray:
    """Unique valid PIDs; twins get consecutive numbers from the same registrar; -1 = none."""
    n = len(category)
    body = category * 10**11 + registrar * 10**7 + rng.integers(0, 10**7, n)
    has_twin = twin_of >= 0
    body[has_twin] = body[twin_of[has_twin]] + 1
    for _ in range(20):
        dup = pd.Series(body).duplicated(keep="first").to_numpy() & (category >= 0)
        if not dup.any():
            break
        body[dup] = (
            category[dup] * 10**11 + registrar[dup] * 10**7 + rng.integers(0, 10**7, dup.sum())
        )
    return np.where(category >= 0, make_pid(np.maximum(body, 0)), -1)


def build_universe(children: int, seed: int, months: list[str], rates) -> Universe:
    """Build the population for ``months`` reporting months with ``children`` at the first."""
    rng = np.random.default_rng(seed)
    pools = build_pools(seed)
    districts = pd.read_csv(REFERENCE / "bangkok_districts.csv", dtype=str)
    subs = pd.read_csv(REFERENCE / "bangkok_subdistricts.csv", dtype=str)
    t0 = dates.month_span(months[0])[1]
    window = dates.month_span(months[-1])[1] - t0
    kids = _children(rng, children, len(months), t0, window)
    _leap_day_births(rng, kids, t0)
    n_fam, n_kids = int(kids["fidx"].max()) + 1, len(kids)
    in_month = kids.groupby("fidx")["in_month"].first().to_numpy()
    fam = households.families(rng, n_fam, in_month, districts, subs, pools, len(months), rates)

    sex = np.where(rng.random(n_kids) < 0.51, "M", "F").astype(object)
    twin2 = kids["twin_pair"].to_numpy() & (kids["child_no"].to_numpy() == 1)
    same = rng.random(n_kids) < 1 / 3
    sex[twin2] = np.where(
        same[twin2],
        sex[np.nonzero(twin2)[0] - 1],
        np.where(sex[np.nonzero(twin2)[0] - 1] == "M", "F", "M"),
    )
    kids["sex"] = sex
    given = _pick_names(rng, pools, sex)
    _twin_names(rng, pools, kids, given)
    kids["given"] = _name_of(pools, sex, given)
    kids["given_idx"] = given
    nick = nicknames(rng, n_kids)
    clash = twin2 & (nick == np.roll(nick, 1))
    nick[clash] = np.roll(nick, 2)[clash]
    kids["nickname"] = nick
    kids["role"] = "child"

    fcol = fam.loc[kids["fidx"].to_numpy()]
    oldest = kids.groupby("fidx")["birth"].min().to_numpy()
    mother_birth = (
        oldest - rng.uniform(18, 40, n_fam).astype(np.int64) * 365 - rng.integers(0, 365, n_fam)
    )
    father_birth = mother_birth - rng.integers(-3 * 365, 8 * 365, n_fam)
    adults = []
    for role, sx, births in (("mother", "F", mother_birth), ("father", "M", father_birth)):
        idx = pools[sx].sample(rng, n_fam)
        adults.append(
            pd.DataFrame(
                {
                    "fidx": np.arange(n_fam),
                    "child_no": -1,
                    "birth": births,
                    "twin_pair": False,
                    "in_month": fam["in_month"].to_numpy(),
                    "sex": sx,
                    "given": pools[sx].thai[idx],
                    "given_idx": idx,
                    "nickname": pd.NA,
                    "role": role,
                }
            )
        )
    persons = pd.concat([kids] + adults, ignore_index=True)
    _identity(rng, persons, fam, fcol, n_kids, districts, pools, len(months), rates)
    households.guardians(rng, fam, persons, pools)
    for frame in (fam, persons):  # object columns: per-month lookups then copy no strings
        for col in frame.columns:
            if frame[col].dtype == "str":
                frame[col] = frame[col].astype(object)
    return Universe(seed, months, fam, persons, n_kids, pools, districts, subs)


def _identity(rng, persons, fam, fcol, n_kids, districts, pools, n_months, rates) -> None:
    """PIDs, G-codes, twin groups, siblings and given-name changes (in place)."""
    n = len(persons)
    status = fam["status"].to_numpy()[persons["fidx"].to_numpy()]
    child = persons["role"].to_numpy() == "child"
    by = dates.ymd(persons["birth"].to_numpy())[0]
    cat = np.where(by < 1984, 3, 1)
    cat = np.where(child & (rng.random(n) < 0.005), 2, cat)
    cat = np.where(status == "nonthai", np.where(child & (rng.random(n) < 0.7), 7, 6), cat)
    cat = np.where(status == "nostatus", 0, cat)
    cat = np.where(status == "nopid", -1, cat)
    codes = districts["district_code"].astype(int).to_numpy()
    home = fcol["district_code"].astype(int).to_numpy()
    registrar = codes[rng.integers(0, len(codes), n)]
    registrar[:n_kids] = np.where(rng.random(n_kids) < 0.8, home, registrar[:n_kids])
    registrar = np.where(cat == 3, rng.integers(1001, 9650, n), registrar)
    twin2 = persons["twin_pair"].to_numpy() & (persons["child_no"].to_numpy() == 1)
    twin_of = np.where(twin2, np.arange(n) - 1, -1)
    registrar[twin2] = registrar[np.nonzero(twin2)[0] - 1]
    persons["pid"] = _pids(rng, cat, registrar, twin_of)
    gnum = rng.choice(10**9, size=n, replace=False) + 10**11
    persons["gcode"] = pd.Series("G" + pd.Series(gnum).astype(str)).where(child & (cat < 0))
    tw = persons["twin_pair"].to_numpy()
    persons["twin_group"] = pd.Series("T" + persons["fidx"].astype(str).str.zfill(7)).where(tw)
    # A sibling whose PID a clerk may copy by mistake: the next child of the family, else previous.
    fidx = persons["fidx"].to_numpy()
    nxt = np.r_[np.arange(1, n), -1]
    prv = np.r_[-1, np.arange(n - 1)]
    ok_n = child & (nxt >= 0) & (fidx[np.maximum(nxt, 0)] == fidx) & child[np.maximum(nxt, 0)]
    ok_p = child & (prv >= 0) & (fidx[np.maximum(prv, 0)] == fidx) & child[np.maximum(prv, 0)]
    persons["sib"] = np.where(ok_n, nxt, np.where(ok_p, prv, -1))
    # Given-name changes: before the first month (some sources still use the old one) or during.
    change = np.full(n, -1)
    change[child & (rng.random(n) < rates.given_name_change)] = 0
    if n_months > 1:
        later = (
            child & (change < 0) & (rng.random(n) < rates.name_change_per_month * (n_months - 1))
        )
        change[later] = rng.integers(1, n_months, later.sum())
    persons["given_change"] = change
    sex = persons["sex"].to_numpy()
    old = np.full(n, None, dtype=object)
    for s in ("M", "F"):
        m = np.nonzero((change >= 0) & (sex == s))[0]
        idx = pools[s].sample(rng, len(m))
        same = idx == persons["given_idx"].to_numpy()[m]
        idx[same] = (idx[same] + 1) % len(pools[s].thai)
        old[m] = pools[s].thai[idx]
    persons["given_old"] = old
