"""Twin-safe clustering: conflict-aware greedy agglomeration of scored pairs.

Connected components at a threshold chain records: twin A - ambiguous record - twin B makes one
child of two. Instead, edges are taken in descending match probability (ties by ids, so the
result is deterministic) into a union-find, and a union is refused when the two clusters hold a
hard conflict:

    roster      both hold a record of the same register in the same month under different
                record keys: a child is on one school roster and in one centre's register
                once, in one health centre's PERSON file once, and a member of one family
                passbook once (two members of one passbook are two people, even when a twin's
                name or PID was copied onto the other).
    pid         both hold trusted PIDs (check digit holds) that differ by more than one digit
                or one swap of neighbouring digits - unless the records carrying them agree on
                given name, birth date, sex and family: a sibling's PID typed on the child's
                record (the clash then stays visible in the cluster's PIDs for review).
    twin /      two records sharing a family context (guardian phone, guardian name, mother's
    sibling     PID, family reference or family-name key) that describe different children:
                different sex where both sources record sex reliably; or different given names
                (not equal keys, not a nickname of the other, not one slip apart) unless the same
                trusted PID explains a name change; or birth dates, both to the day, that no
                slip explains (swap, BE/CE, <= 30 days) when a name is missing or also differs.
                ``twin`` when the two birth dates are equal, else ``sibling``.
    size        the merged cluster would exceed ``max_cluster_size``.
    unnamed     (``hold_unnamed``) a cluster with neither a given name nor a trusted PID, such as
                an unnamed newborn: nothing tells which twin it is; it links once named.
    cannot_link a clerk decided two of the records are different children (``linkage.review``).

Edges a clerk forced (``forced`` column, decision "same") go first and bypass every rule but
``cannot_link``.

Refused unions are returned as ``conflicts`` (for clerical review), as are pairs scored inside the
uncertain band ``[lower, upper)`` (``review_candidates``). Per-record facts are turned into small
integer codes once (vectorised); the loop touches only Python ints, lists and sets.

Most connected components of the match graph cannot hold a conflict at all: one given name, one
trusted PID, one reliable sex, birth dates within 30 days, no register slot twice, no unnamed
record, small enough, no clerical decision. Every union inside such a component passes every rule
in any order, so these components are merged first, as a whole and vectorised
(``conflict_free``); the greedy loop runs only over the other components (about one record in
ten), plus the conflict-free components holding a twin of one of their records (the ``claimed``
rule looks at those). Conflict-free components merge before any contested edge is decided.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.prepare import large_strings, prepare, ranked_ids

# Snapshot registers that list a child once per month: across the whole source (a child is on
# one school roster, in one child-development centre) or within one register (a health centre's
# PERSON file, keyed ``HOSPCODE:PID``: a child may be registered at two centres, not twice at one).
SNAPSHOT_SOURCES = {"schools": "source", "child_centres": "source", "health_centres": "register"}
# Registers that list a child once per month, for the ``roster`` rule: the snapshots, and each
# family passbook (keyed ``family_id:member_no``), which lists each member once.
ONCE_PER_REGISTER = {**SNAPSHOT_SOURCES, "epassbook": "register"}
RELIABLE_SEX_SOURCES = ("schools", "health_centres", "epassbook")
CONTEXT_COLUMNS = (
    "guardian_phone",
    "guardian_name_key",
    "mother_pid",
    "family_ref",
    "family_name_key",
)
DAY_OFFSET = 1_000_000  # added to days since 1970 so every real date is positive
CLUSTER_COLUMNS = ("unique_id", "source", "record_key", "cluster_id", "cluster_size")
CONFLICT_COLUMNS = ("unique_id_l", "unique_id_r", "match_probability", "reason")


@dataclass(frozen=True)
class ClusterResult:
    """Clusters plus what a clerk should look at."""

    clusters: pd.DataFrame
    conflicts: pd.DataFrame
    review_candidates: pd.DataFrame


def _codes(values: pd.Series) -> np.ndarray:
    """Integer code per value (int64), -1 where missing."""
    return pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64, copy=False)


def _one_slip(a: str, b: str) -> bool:
    """Equal length and one substitution or one swap of neighbours apart."""
    if len(a) != len(b):
        return False
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    return len(diff) <= 1 or (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def _one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion or substitution apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    k = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[k:] == long[k + 1 :]


def _record_codes(
    frame: pd.DataFrame, snapshot_sources, reliable_sex_sources
) -> dict[str, np.ndarray]:
    """Per record, as int64 arrays (-1 = missing): register slot, trusted PID, sex (any source /
    reliable sources only), given-name and nickname codes (one code space), and day number."""
    n = len(frame)
    source, names_of_sources = pd.factorize(frame["source"], use_na_sentinel=True)
    kinds = pd.Index(names_of_sources).map(lambda s: snapshot_sources.get(s, "")).to_numpy()
    scope = np.where(source >= 0, np.append(kinds, "")[source], "")
    month = _codes(frame["month"])
    register = np.full(n, -1, dtype=np.int64)
    inside = np.flatnonzero(scope == "register")
    if len(inside):  # only registers keyed "HOSPCODE:PID" need the split (in Arrow: vectorised)
        keys = large_strings(frame["record_key"]).take(pa.array(inside))
        head = pc.list_element(pc.split_pattern(keys, ":", max_splits=1), 0)
        register[inside] = _codes(pd.Series(head, dtype="str"))
    slot = (source * (month.max(initial=-1) + 2) + month + 1) * (register.max(initial=-1) + 2)
    slot = slot + register + 1
    slot = np.where(scope != "", pd.factorize(slot)[0], -1)
    sex = _codes(frame["sex"])
    reliable = frame["source"].isin(reliable_sex_sources).to_numpy()
    names = pd.concat([frame["given_name_key"], frame["nickname_key"]], ignore_index=True)
    name_codes = _codes(names)
    # Day number (offset to stay positive for BE-as-CE years like 1469), -1 unless the date is
    # known to the day.
    ordinal = frame["birth_date"].astype("int32[pyarrow]").astype("Int64") + DAY_OFFSET
    day = ordinal.where(frame["birth_md"].notna()).fillna(-1).astype(np.int64).to_numpy()
    return {
        "slot": slot.astype(np.int64),
        "pid": _codes(frame["pid"].where(frame["pid_trusted"])),
        "any_sex": sex,
        "sex": np.where(reliable, sex, -1),
        "given": name_codes[:n],
        "nick": name_codes[n:],
        "day": day,
    }


def _context_codes(frame: pd.DataFrame) -> np.ndarray:
    """Family-context tokens per record (records x CONTEXT_COLUMNS, -1 = missing); a token is
    unique to its column and value."""
    context = []
    for k, column in enumerate(CONTEXT_COLUMNS):
        codes = _codes(frame[column])
        context.append(np.where(codes >= 0, codes * len(CONTEXT_COLUMNS) + k, -1))
    return np.stack(context, axis=1)


def _twin_keys(context: np.ndarray, day: np.ndarray, given: np.ndarray) -> pd.DataFrame:
    """(row, key) for every (family context, birth date) key shared by records of two or more
    given names: the footprint of twins (or of a renamed child). Only these few keys are kept."""
    width = context.shape[1]
    token = context.ravel()
    day_of, given_of = np.repeat(day, width), np.repeat(given, width)
    at = np.flatnonzero((token >= 0) & (day_of >= 0) & (given_of >= 0))
    key = token[at] * 10 * DAY_OFFSET + day_of[at]
    with duckdb.connect() as con:
        con.register("_tk", pa.table({"pos": at, "key": key, "given": given_of[at]}))
        kept = con.sql("""
            SELECT pos, key FROM _tk WHERE key IN (
                SELECT key FROM _tk GROUP BY key HAVING min(given) < max(given))
            ORDER BY pos""").fetchnumpy()
    return pd.DataFrame({"row": np.asarray(kept["pos"]) // width, "key": np.asarray(kept["key"])})


def _lists(keys: np.ndarray, values: np.ndarray) -> dict[int, list[int]]:
    """``{key: [values in input order]}`` (vectorised grouping: no per-group pandas call)."""
    if not len(keys):
        return {}
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    heads = keys[np.concatenate([[0], bounds])].tolist()
    return dict(zip(heads, (v.tolist() for v in np.split(values, bounds)), strict=True))


JOIN_LOOKUPS = 200_000  # from this many values on, ``positions`` joins in DuckDB


def positions(index: pa.Array, *columns) -> list[np.ndarray]:
    """Position in ``index`` (unique strings) of each value of each column, -1 where absent.

    One lookup for all columns. Small inputs use one Arrow hash lookup; large ones a DuckDB
    hash join, which uses every core: at a million records (4.7M values into 1.35M ids) 0.8 s
    instead of 1.5 s.
    """
    values = [large_strings(c) for c in columns]
    everything = pa.concat_arrays(values) if values else pa.array([], pa.large_string())
    cuts = np.cumsum([len(v) for v in values])[:-1]
    if len(everything) >= JOIN_LOOKUPS:
        with duckdb.connect() as con:
            con.register("_ix", pa.table({"k": index, "i": np.arange(len(index))}))
            con.register("_v", pa.table({"k": everything, "o": np.arange(len(everything))}))
            found = con.sql(
                "SELECT coalesce(_ix.i, -1) AS i FROM _v LEFT JOIN _ix USING (k) ORDER BY _v.o"
            ).fetchnumpy()["i"]
        if len(found) == len(everything):  # else an id is twice in ``index``: Arrow's lookup
            return np.split(np.asarray(found, dtype=np.int64), cuts)
    found = pc.index_in(everything, value_set=index).fill_null(-1)
    return np.split(found.to_numpy(zero_copy_only=False).astype(np.int64), cuts)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label per node 0..n-1 (the smallest node of its component), by
    vectorised min-label propagation with pointer jumping."""
    label = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return label
    while True:
        low = np.minimum(label[left], label[right])
        new = label.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        new = new[new]  # pointer jumping: follow labels to their own label
        if np.array_equal(new, label):
            return label
        label = new


def conflict_free(
    label: np.ndarray, codes: dict[str, np.ndarray], max_size: int, hold_unnamed: bool
) -> np.ndarray:
    """Per record: is its component one in which no union can meet a conflict rule?

    Sufficient conditions (a component failing one goes to the greedy loop, which decides):
    at most ``max_size`` records, no register slot twice, at most one trusted PID, one reliable
    sex, one given name, birth dates (to the day) at most 30 days apart, and - when unnamed
    clusters are held - every record named or carrying a trusted PID.
    """
    frame = pd.DataFrame({"label": label, **{k: codes[k] for k in ("slot", "pid", "sex")}})
    frame["given"] = codes["given"]
    frame["day"] = codes["day"]
    multi = frame.groupby("label")["label"].transform("size").to_numpy() > 1
    part = frame[multi]
    valued = part.replace(-1, np.nan).groupby(part["label"])
    ok = valued.size() <= max_size
    ok &= valued["slot"].count() == valued["slot"].nunique()
    for column in ("pid", "sex", "given"):
        ok &= valued[column].nunique() <= 1
    ok &= (valued["day"].max() - valued["day"].min()).fillna(0) <= 30
    if hold_unnamed:
        unnamed = (part["given"] < 0) & (codes["nick"][multi] < 0) & (part["pid"] < 0)
        ok &= ~unnamed.groupby(part["label"]).any()
    safe = np.ones(len(label), dtype=bool)
    safe[multi] = ok.reindex(part["label"]).to_numpy()
    return safe


def _one_slip_many(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``_one_slip`` of two equally long arrays of ASCII digit strings, vectorised."""
    try:
        a, b = left.astype("S32"), right.astype("S32")
    except UnicodeEncodeError:
        return np.array([_one_slip(p, q) for p, q in zip(left, right, strict=True)], dtype=bool)
    same_length = np.char.str_len(a) == np.char.str_len(b)
    a, b = a.view(np.uint8).reshape(len(a), -1), b.view(np.uint8).reshape(len(b), -1)
    diff = a != b
    count = diff.sum(axis=1)
    first = diff.argmax(axis=1)
    last = diff.shape[1] - 1 - diff[:, ::-1].argmax(axis=1)
    rows = np.arange(len(a))
    swap = (
        (count == 2)
        & (last == first + 1)
        & (a[rows, first] == b[rows, last])
        & (a[rows, last] == b[rows, first])
    )
    return same_length & ((count <= 1) | swap)


def _always_refused(
    frame: pd.DataFrame,
    codes: dict[str, np.ndarray],
    context: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    hold_unnamed: bool,
) -> np.ndarray:
    """Per edge, the conflict no order of unions can avoid (object array, None elsewhere).

    ``pid``: the two records' trusted PIDs clash (more than one slip apart) and the records are
    not the same child by ``_Clusters.same_child``'s test; any two clusters holding them clash.
    ``twin`` / ``sibling``: the records share a family context and their reliable sexes differ;
    ``_Records.distinct`` says so whatever the clusters around them hold.
    An edge touching an unnamed record without a trusted PID is labelled ``unnamed``, as the
    loop (which checks that rule first) would: such a record stays alone. ``_roster_between``
    relabels the rest once the clusters are known.
    """
    reasons = np.full(len(left), None, dtype=object)
    if not len(left):
        return reasons
    shared = ((context[left] >= 0) & (context[left] == context[right])).any(axis=1)
    day_l, day_r = codes["day"][left], codes["day"][right]
    pid_l, pid_r = codes["pid"][left], codes["pid"][right]
    clash = np.flatnonzero((pid_l >= 0) & (pid_r >= 0) & (pid_l != pid_r))
    if len(clash):
        i, j = left[clash], right[clash]

        def at(column: str, rows: np.ndarray) -> np.ndarray:  # only the clashing records
            return frame[column].take(rows).to_numpy(dtype=object)

        slip = _one_slip_many(at("pid", i), at("pid", j))
        clash, i, j = (x[~slip] for x in (clash, i, j))
        year = frame["birth_year"].fillna(-1).astype(np.int64).to_numpy()
        md_i, dm_j, md_j = at("birth_md", i), at("birth_dm", j), at("birth_md", j)
        day_i, day_j = codes["day"][i], codes["day"][j]
        explained = (
            (np.abs(day_i - day_j) <= 30)
            | ((year[i] == year[j]) & (md_i == dm_j))
            | ((np.abs(year[i] - year[j]) == 543) & (md_i == md_j))
        )
        sex_i, sex_j = codes["any_sex"][i], codes["any_sex"][j]
        same_child = (
            (codes["given"][i] >= 0)
            & (codes["given"][i] == codes["given"][j])
            & (day_i >= 0)
            & (day_j >= 0)
            & explained
            & ~((sex_i >= 0) & (sex_j >= 0) & (sex_i != sex_j))
            & shared[clash]
        )
        reasons[clash[~same_child]] = "pid"
    sex_l, sex_r = codes["sex"][left], codes["sex"][right]
    differ = shared & (sex_l >= 0) & (sex_r >= 0) & (sex_l != sex_r) & pd.isna(reasons)
    twin = (day_l >= 0) & (day_l == day_r)
    reasons[differ & twin] = "twin"
    reasons[differ & ~twin] = "sibling"
    if hold_unnamed:
        unnamed = (codes["given"] < 0) & (codes["nick"] < 0) & (codes["pid"] < 0)
        reasons[pd.notna(reasons) & (unnamed[left] | unnamed[right])] = "unnamed"
    return reasons


def _roster_between(
    roots: np.ndarray, slot: np.ndarray, left: np.ndarray, right: np.ndarray, reasons: np.ndarray
) -> np.ndarray:
    """``reasons`` of edges refused up front, with ``roster`` where the final clusters of the two
    records hold entries of one register slot: the loop checks that rule before the PID and
    family rules, on the clusters it has built so far, and clerks need not review it."""
    reasons = reasons.copy()
    ask = np.flatnonzero(np.isin(reasons, ["pid", "twin", "sibling"]))
    if not len(ask):
        return reasons
    held = pd.DataFrame({"root": roots, "slot": slot})
    held = held[held["slot"] >= 0].drop_duplicates()
    edges = pd.DataFrame({"k": ask, "a": roots[left[ask]], "b": roots[right[ask]]})
    both = edges.merge(held, left_on="a", right_on="root").merge(
        held, left_on=["b", "slot"], right_on=["root", "slot"]
    )
    reasons[both["k"].unique()] = "roster"
    return reasons


class _Records:
    """Per-record facts the conflict rules need, as plain Python lists."""

    COLUMNS = ("pid", "pid_trusted", "given_name_key", "birth_year", "birth_md", "birth_dm")

    def __init__(
        self,
        frame: pd.DataFrame,
        codes: dict[str, np.ndarray],
        context: np.ndarray,
        twin_keys: pd.DataFrame,
    ):
        """``frame``'s rows with their ``_record_codes``, ``_context_codes`` and ``_twin_keys``
        (rows numbered as in ``frame``)."""
        self.slot = codes["slot"].tolist()
        self.pid = frame["pid"].where(frame["pid_trusted"]).astype(object)
        self.pid = [None if pd.isna(p) else p for p in self.pid]
        self.any_sex = codes["any_sex"].tolist()
        self.sex = codes["sex"].tolist()
        self.given, self.nick = codes["given"].tolist(), codes["nick"].tolist()
        self.given_key = frame["given_name_key"].astype(object).tolist()
        self.context = [frozenset(c for c in row if c >= 0) for row in context.tolist()]
        self.day = codes["day"].tolist()
        self.year = frame["birth_year"].fillna(-1).astype(np.int64).tolist()
        self.md = frame["birth_md"].astype(object).tolist()
        self.dm = frame["birth_dm"].astype(object).tolist()
        key, row = twin_keys["key"].to_numpy(), twin_keys["row"].to_numpy()
        self.twin_members = _lists(key, row)
        self.twin_keys = _lists(row, key)

    def same_name(self, i: int, j: int) -> bool:
        gi, gj = self.given[i], self.given[j]
        if gi == gj or gi == self.nick[j] or gj == self.nick[i]:
            return True
        ki, kj = self.given_key[i], self.given_key[j]
        return min(len(ki), len(kj)) >= 6 and _one_edit(ki, kj)

    def dob_explained(self, i: int, j: int) -> bool:
        if abs(self.day[i] - self.day[j]) <= 30:
            return True
        if self.year[i] == self.year[j] and self.md[i] == self.dm[j]:
            return True
        return abs(self.year[i] - self.year[j]) == 543 and self.md[i] == self.md[j]

    def distinct(
        self, i: int, j: int, side_i: tuple[set, set], side_j: tuple[set, set], claimed
    ) -> str | None:
        """Why records i and j are two different children of one family, or None.

        ``side_i`` / ``side_j`` are the (given-name and nickname codes, trusted PIDs) of the
        clusters holding i and j: a name the other cluster already knows (a nickname written as
        the given name in one source, kept as the nickname in another) is not a difference, and
        a PID the other cluster holds explains a name change. ``claimed(k)`` tells whether record
        k's name belongs to a child in a third cluster (then the shared PID is a twin's).
        """
        if not (self.context[i] & self.context[j]):
            return None
        twin = self.day[i] >= 0 and self.day[i] == self.day[j]
        label = "twin" if twin else "sibling"
        if self.sex[i] >= 0 and self.sex[j] >= 0 and self.sex[i] != self.sex[j]:
            return label
        (names_i, pids_i), (names_j, pids_j) = side_i, side_j
        named = self.given[i] >= 0 and self.given[j] >= 0
        name_differs = (
            named
            and self.given[i] not in names_j
            and self.given[j] not in names_i
            and not self.same_name(i, j)
        )
        dob_conflict = self.day[i] >= 0 and self.day[j] >= 0 and not self.dob_explained(i, j)
        # A shared PID explains a name change, unless the sex (any source) also differs: then it
        # is a twin's or sibling's PID typed on the wrong record.
        same_pid = (self.pid[i] in pids_j or self.pid[j] in pids_i) and not (
            self.any_sex[i] >= 0 and self.any_sex[j] >= 0 and self.any_sex[i] != self.any_sex[j]
        )
        if name_differs and (dob_conflict or not same_pid or claimed(i) or claimed(j)):
            return label
        if dob_conflict and not named and not same_pid:
            return label
        return None


class _Clusters:
    """Union-find whose roots carry members, roster slots and trusted PIDs."""

    def __init__(self, records: _Records, max_size: int, hold_unnamed: bool):
        n = len(records.slot)
        self.rec, self.max_size, self.hold_unnamed = records, max_size, hold_unnamed
        self.parent = list(range(n))
        self.members = [[i] for i in range(n)]
        self.slots = [{s} if s >= 0 else set() for s in records.slot]
        self.pids = [{p} if p is not None else set() for p in records.pid]
        self.names = [{g, k} - {-1} for g, k in zip(records.given, records.nick, strict=True)]
        self.forbidden: dict[int, set[int]] = {}  # root -> records it must never join

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def forbid(self, i: int, j: int) -> None:
        """A clerk decided records i and j are different children."""
        self.forbidden.setdefault(i, set()).add(j)
        self.forbidden.setdefault(j, set()).add(i)

    def conflict(self, a: int, b: int, forced: bool = False) -> str | None:
        forbidden = self.forbidden.get(a)
        if forbidden and any(j in forbidden for j in self.members[b]):
            return "cannot_link"
        if forced:  # a clerk's "same" decision overrides the automatic rules
            return None
        if len(self.members[a]) + len(self.members[b]) > self.max_size:
            return "size"
        if self.hold_unnamed and (self.unnamed(a) or self.unnamed(b)):
            return "unnamed"
        if self.slots[a] & self.slots[b]:
            return "roster"
        if self.pid_conflict(a, b):
            return "pid"
        rec = self.rec
        side_a, side_b = (self.names[a], self.pids[a]), (self.names[b], self.pids[b])

        def claimed(k: int) -> bool:
            return self.claimed_elsewhere(k, a, b)

        for i in self.members[a]:
            for j in self.members[b]:
                reason = rec.distinct(i, j, side_a, side_b, claimed)
                if reason:
                    return reason
        return None

    def pid_conflict(self, a: int, b: int) -> bool:
        """Trusted PIDs more than one slip apart, unless a sibling's PID was typed on a record that
        is otherwise the same child (see ``same_child``)."""
        for p in self.pids[a]:
            for q in self.pids[b]:
                if p != q and not _one_slip(p, q):
                    return not self.same_child(a, b)
        return False

    def same_child(self, a: int, b: int) -> bool:
        """Every record pair whose trusted PIDs clash agrees on given name, birth date (to the day
        or one slip from it), sex (where both known) and a family context: one child, one PID
        copied wrongly."""
        rec = self.rec
        for i in self.members[a]:
            for j in self.members[b]:
                p, q = rec.pid[i], rec.pid[j]
                if p is None or q is None or p == q or _one_slip(p, q):
                    continue
                same = (
                    rec.given[i] >= 0
                    and rec.given[i] == rec.given[j]
                    and rec.day[i] >= 0
                    and rec.day[j] >= 0
                    and rec.dob_explained(i, j)
                    and not (
                        rec.any_sex[i] >= 0
                        and rec.any_sex[j] >= 0
                        and rec.any_sex[i] != rec.any_sex[j]
                    )
                    and rec.context[i] & rec.context[j]
                )
                if not same:
                    return False
        return True

    def claimed_elsewhere(self, i: int, a: int, b: int) -> bool:
        """True if record i's given name belongs to another child: a third cluster, in the same
        family context with the same birth date, holding that name under a different trusted
        PID. Then the PID record i shares with the other cluster is a twin's, typed by mistake."""
        rec, given, pid = self.rec, self.rec.given[i], self.rec.pid[i]
        for key in rec.twin_keys.get(i, ()):
            for k in rec.twin_members[key]:
                if k == i or rec.given[k] != given:
                    continue
                root = self.find(k)
                if root not in (a, b) and self.pids[root] and pid not in self.pids[root]:
                    return True
        return False

    def unnamed(self, root: int) -> bool:
        """A cluster with no given name and no trusted PID: nothing tells a twin from another."""
        return not self.names[root] and not self.pids[root]

    def union(self, a: int, b: int) -> None:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members[b])
        self.slots[a] |= self.slots[b]
        self.pids[a] |= self.pids[b]
        self.names[a] |= self.names[b]
        if b in self.forbidden:
            self.forbidden.setdefault(a, set()).update(self.forbidden.pop(b))
        self.members[b], self.slots[b], self.pids[b], self.names[b] = [], set(), set(), set()


def _in_band(pairs: pd.DataFrame, lower: float, upper: float) -> np.ndarray:
    """Per pair: does its match probability lie in the uncertain band ``[lower, upper)``?"""
    return pairs["match_probability"].between(lower, upper, inclusive="left").to_numpy(bool)


def review_candidates(pairs: pd.DataFrame, lower: float, upper: float) -> pd.DataFrame:
    """Pairs whose match probability lies in the uncertain band ``[lower, upper)``."""
    return _band_pairs(pairs, _in_band(pairs, lower, upper))


def _band_pairs(pairs: pd.DataFrame, band: np.ndarray) -> pd.DataFrame:
    return pairs.loc[band, ["unique_id_l", "unique_id_r", "match_probability"]].reset_index(
        drop=True
    )


def cluster_records(
    persons: pd.DataFrame,
    pairs: pd.DataFrame,
    threshold: float = 0.5,
    *,
    lower: float = 0.2,
    upper: float = 0.95,
    max_cluster_size: int = 12,
    snapshot_sources: dict[str, str] | None = None,
    reliable_sex_sources: tuple[str, ...] = RELIABLE_SEX_SOURCES,
    hold_unnamed: bool = True,
    cannot_link: pd.DataFrame | None = None,
    exhaustive: bool = False,
) -> ClusterResult:
    """Cluster records, refusing unions that would merge twins, siblings or two roster entries.

    Args:
        persons: PERSON records (or a ``prepare``d frame) of every record to cluster.
        pairs: Scored pairs (``unique_id_l``, ``unique_id_r``, ``match_probability``).
        threshold: Edges at or above it are merge candidates.
        lower: Lower bound of the clerical-review band.
        upper: Upper bound of the clerical-review band.
        max_cluster_size: No cluster grows beyond this many records.
        snapshot_sources: Source -> ``"source"`` or ``"register"``: where a monthly snapshot
            lists a child once (default ``ONCE_PER_REGISTER``).
        reliable_sex_sources: Sources whose sex field is trusted for the twin rule.
        hold_unnamed: Never merge a cluster that has neither a given name nor a trusted PID (an
            unnamed newborn): it goes to ``conflicts`` as ``unnamed`` for review instead.
        cannot_link: Clerical "different" decisions (``unique_id_l``, ``unique_id_r``): no union
            may bring the two records together, even through other records. A ``forced`` column
            in ``pairs`` (clerical "same") makes that edge bypass every other rule.
        exhaustive: Decide every edge in the greedy loop, without the up-front refusals and
            the conflict-free fast path: the same clusters and refused pairs, ~3x slower. The
            reference the fast paths are tested against.

    Returns:
        ``ClusterResult``: clusters (``unique_id``, ``source``, ``record_key``, ``cluster_id`` =
        the smallest ``unique_id`` in the cluster, ``cluster_size``), conflicts (refused edges,
        with ``reason``) and review candidates (with ``same_cluster``).
    """
    frame = prepare(persons)
    ids = large_strings(frame["unique_id"])
    # One hash lookup for every pair: the edges and the review band are both taken from it.
    pair_l, pair_r = positions(ids, pairs["unique_id_l"], pairs["unique_id_r"])
    is_edge = (pairs["match_probability"] >= threshold).to_numpy(dtype=bool)
    edges = pairs.loc[is_edge]
    left, right = pair_l[is_edge], pair_r[is_edge]
    if (left < 0).any() or (right < 0).any():
        raise ValueError("pairs refer to unique_ids that are not among the persons")
    n = len(ids)
    forced = (
        edges["forced"].fillna(False).to_numpy(dtype=bool)
        if "forced" in edges
        else np.zeros(len(edges), dtype=bool)
    )
    never_l = never_r = np.zeros(0, dtype=np.int64)
    if cannot_link is not None and len(cannot_link):
        never_l, never_r = positions(ids, cannot_link["unique_id_l"], cannot_link["unique_id_r"])
        known = (never_l >= 0) & (never_r >= 0)
        never_l, never_r = never_l[known], never_r[known]

    sources = snapshot_sources or ONCE_PER_REGISTER
    codes = _record_codes(frame, sources, reliable_sex_sources)
    context = _context_codes(frame)
    prob = edges["match_probability"].to_numpy(dtype=float)
    rank = np.empty(len(edges), dtype=np.int64)  # the order the greedy loop takes edges in
    rank[np.lexsort((right, left, -prob, ~forced))] = np.arange(len(edges))

    # Edges no order of unions could accept are refused up front; they are most of the edges
    # between siblings (the clerical decisions' components excepted: a forced union can bring
    # any two records together).
    decided = np.concatenate([left[forced], right[forced], never_l, never_r])
    label = components(n, left, right)
    reasons = _always_refused(frame, codes, context, left, right, hold_unnamed)
    reasons[np.isin(label[left], label[decided])] = None
    if exhaustive:
        reasons[:] = None
    refusing = pd.notna(reasons)
    refused: list[tuple[int, str]] = []
    live = np.flatnonzero(~refusing)

    # Conflict-free components are merged whole; the rest go through the greedy loop.
    label = components(n, left[live], right[live])
    safe = conflict_free(label, codes, max_cluster_size, hold_unnamed)
    safe[np.isin(label, label[decided])] = False
    if exhaustive:
        safe[:] = False
    loop = ~safe
    if loop.any():
        # Twins of looped records may sit in conflict-free components: the ``claimed`` rule
        # needs those clusters too (already merged, as in the full picture).
        keys = _twin_keys(context, codes["day"], codes["given"])
        touched = keys.loc[loop[keys["row"].to_numpy()], "key"].unique()
        partners = keys.loc[keys["key"].isin(touched), "row"].to_numpy()
        loop[partners] = True
        loop = np.isin(label, np.unique(label[loop]))
    roots = label.copy()
    if loop.any():
        inner = np.flatnonzero(loop)  # loop position -> record position
        position = np.full(n, -1, dtype=np.int64)
        position[inner] = np.arange(len(inner))
        at_keys = keys[loop[keys["row"].to_numpy()]]
        records = _Records(
            frame[list(_Records.COLUMNS)].iloc[inner],
            {k: v[inner] for k, v in codes.items()},
            context[inner],
            at_keys.assign(row=position[at_keys["row"].to_numpy()]),
        )
        groups = _Clusters(records, max_cluster_size, hold_unnamed)
        for i, j in zip(position[never_l].tolist(), position[never_r].tolist(), strict=True):
            if i >= 0 and j >= 0:
                groups.forbid(i, j)
        # Conflict-free components among the looped records (twins' clusters) merge first.
        merged = safe[inner]
        if merged.any():
            head = position[label[inner[merged]]]
            for i, h in zip(np.flatnonzero(merged).tolist(), head.tolist(), strict=True):
                a, b = groups.find(i), groups.find(h)
                if a != b:
                    groups.union(a, b)
        at = live[loop[left[live]] & ~safe[left[live]]]
        order = at[np.argsort(rank[at])]
        find, conflict, union = groups.find, groups.conflict, groups.union
        pairs_l, pairs_r = position[left[order]].tolist(), position[right[order]].tolist()
        is_forced = forced[order].tolist()
        for e, i, j, f in zip(order.tolist(), pairs_l, pairs_r, is_forced, strict=True):
            a, b = find(i), find(j)
            if a == b:
                continue
            reason = conflict(a, b, f)
            if reason is None:
                union(a, b)
            else:
                refused.append((e, reason))
        found = np.fromiter((find(i) for i in range(len(inner))), dtype=np.int64, count=len(inner))
        roots[inner] = inner[found]
    up_front = np.flatnonzero(refusing)
    labels = _roster_between(
        roots, codes["slot"], left[up_front], right[up_front], reasons[up_front]
    )
    refused.extend(zip(up_front.tolist(), labels.tolist(), strict=True))
    refused.sort(key=lambda item: rank[item[0]])

    # cluster_id: the smallest unique_id of the cluster (by rank, not by string comparisons)
    in_order, id_rank = ranked_ids(ids)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, roots, id_rank)
    clusters = frame[["unique_id", "source", "record_key"]].copy()
    clusters["cluster_id"] = pd.Series(
        in_order.take(pa.array(first[roots])), index=frame.index, dtype="str"
    )
    clusters["cluster_size"] = np.bincount(roots, minlength=n)[roots]
    at = [e for e, _ in refused]
    conflicts = edges.iloc[at][["unique_id_l", "unique_id_r", "match_probability"]].copy()
    conflicts["reason"] = pd.Series([r for _, r in refused], index=conflicts.index, dtype="str")
    band = _in_band(pairs, lower, upper)
    review = _band_pairs(pairs, band)
    at_l, at_r = pair_l[band], pair_r[band]
    review["same_cluster"] = (at_l >= 0) & (at_r >= 0) & (roots[at_l] == roots[at_r])
    return ClusterResult(clusters, conflicts.reset_index(drop=True), review)


def cluster(
    persons: pd.DataFrame, pairs: pd.DataFrame, threshold: float = 0.5, **options
) -> pd.DataFrame:
    """Twin-safe clusters only (see ``cluster_records`` for options and diagnostics)."""
    return cluster_records(persons, pairs, threshold, **options).clusters
