"""Twin-safe clustering: conflict-aware greedy agglomeration of scored pairs.

Connected components at a threshold chain records: twin A - ambiguous record - twin B makes one
child of two. Instead, edges are taken in descending match probability (ties by ids, so the
result is deterministic) into a union-find, and a union is refused when the two clusters hold a
hard conflict:

    roster      both hold a record of the same snapshot register in the same month under
                different record keys: a child is on one school roster and in one centre's
                register once, and in one health centre's PERSON file once.
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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.prepare import prepare

# Snapshot registers that list a child once per month: across the whole source (a child is on
# one school roster, in one child-development centre) or within one register (a health centre's
# PERSON file, keyed ``HOSPCODE:PID``: a child may be registered at two centres, not twice at one).
SNAPSHOT_SOURCES = {"schools": "source", "child_centres": "source", "health_centres": "register"}
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


def _codes(values: pd.Series) -> list[int]:
    """Integer code per value, -1 where missing."""
    return pd.factorize(values, use_na_sentinel=True)[0].tolist()


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


class _Records:
    """Per-record facts the conflict rules need, as plain Python lists."""

    def __init__(self, frame: pd.DataFrame, snapshot_sources, reliable_sex_sources):
        scope = frame["source"].map(snapshot_sources)
        register = frame["record_key"].str.split(":", n=1).str[0].where(scope == "register", "")
        slot = frame["source"] + "|" + frame["month"].fillna("") + "|" + register
        slot = slot.where(scope.notna())
        self.slot = _codes(slot)
        self.pid = frame["pid"].where(frame["pid_trusted"]).astype(object)
        self.pid = [None if pd.isna(p) else p for p in self.pid]
        sex_codes = _codes(frame["sex"])
        reliable = frame["source"].isin(reliable_sex_sources).tolist()
        self.any_sex = sex_codes
        self.sex = [c if r else -1 for c, r in zip(sex_codes, reliable, strict=True)]
        names = pd.concat([frame["given_name_key"], frame["nickname_key"]], ignore_index=True)
        name_codes = _codes(names)
        self.given, self.nick = name_codes[: len(frame)], name_codes[len(frame) :]
        self.given_key = frame["given_name_key"].astype(object).tolist()
        context = []
        for k, column in enumerate(CONTEXT_COLUMNS):
            codes = np.asarray(_codes(frame[column]), dtype=np.int64)
            context.append(np.where(codes >= 0, codes * len(CONTEXT_COLUMNS) + k, -1))
        stacked = np.stack(context, axis=1).tolist()
        self.context = [frozenset(c for c in row if c >= 0) for row in stacked]
        # Day number (offset to stay positive for BE-as-CE years like 1469), -1 unless the date
        # is known to the day.
        ordinal = frame["birth_date"].astype("int32[pyarrow]").astype("Int64") + DAY_OFFSET
        self.day = ordinal.where(frame["birth_md"].notna()).fillna(-1).astype(np.int64).tolist()
        self.year = frame["birth_year"].fillna(-1).astype(np.int64).tolist()
        self.md = frame["birth_md"].astype(object).tolist()
        self.dm = frame["birth_dm"].astype(object).tolist()
        self._index_twin_keys(np.stack(context, axis=1))

    def _index_twin_keys(self, context: np.ndarray) -> None:
        """Index (family context, birth date) keys shared by records of two or more given names:
        the footprint of twins (or of a renamed child). Only these few keys are kept."""
        rows = np.repeat(np.arange(len(self.day)), context.shape[1])
        long = pd.DataFrame(
            {
                "row": rows,
                "token": context.ravel(),
                "day": np.repeat(self.day, context.shape[1]),
                "given": np.repeat(self.given, context.shape[1]),
            }
        )
        long = long[(long["token"] >= 0) & (long["day"] >= 0) & (long["given"] >= 0)]
        long["key"] = pd.factorize(long["token"] * 10 * DAY_OFFSET + long["day"])[0]
        names = long.groupby("key")["given"].transform("nunique")
        long = long[names > 1]
        self.twin_members = long.groupby("key")["row"].apply(list).to_dict()
        self.twin_keys = long.groupby("row")["key"].apply(list).to_dict()

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


def review_candidates(pairs: pd.DataFrame, lower: float, upper: float) -> pd.DataFrame:
    """Pairs whose match probability lies in the uncertain band ``[lower, upper)``."""
    band = pairs["match_probability"].between(lower, upper, inclusive="left")
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
            lists a child once (default ``SNAPSHOT_SOURCES``).
        reliable_sex_sources: Sources whose sex field is trusted for the twin rule.
        hold_unnamed: Never merge a cluster that has neither a given name nor a trusted PID (an
            unnamed newborn): it goes to ``conflicts`` as ``unnamed`` for review instead.
        cannot_link: Clerical "different" decisions (``unique_id_l``, ``unique_id_r``): no union
            may bring the two records together, even through other records. A ``forced`` column
            in ``pairs`` (clerical "same") makes that edge bypass every other rule.

    Returns:
        ``ClusterResult``: clusters (``unique_id``, ``source``, ``record_key``, ``cluster_id`` =
        the smallest ``unique_id`` in the cluster, ``cluster_size``), conflicts (refused edges,
        with ``reason``) and review candidates (with ``same_cluster``).
    """
    frame = prepare(persons)
    ids = pd.Index(frame["unique_id"])
    edges = pairs.loc[pairs["match_probability"] >= threshold]
    left = ids.get_indexer(edges["unique_id_l"])
    right = ids.get_indexer(edges["unique_id_r"])
    if (left < 0).any() or (right < 0).any():
        raise ValueError("pairs refer to unique_ids that are not among the persons")
    prob = edges["match_probability"].to_numpy(dtype=float)
    order = np.lexsort((right, left, -prob))
    forced = edges["forced"].fillna(False).to_numpy(dtype=bool) if "forced" in edges else None
    order = np.lexsort((right, left, -prob, ~forced)) if forced is not None else order
    records = _Records(frame, snapshot_sources or SNAPSHOT_SOURCES, reliable_sex_sources)
    groups = _Clusters(records, max_cluster_size, hold_unnamed)
    if cannot_link is not None and len(cannot_link):
        never_l = ids.get_indexer(cannot_link["unique_id_l"])
        never_r = ids.get_indexer(cannot_link["unique_id_r"])
        for i, j in zip(never_l.tolist(), never_r.tolist(), strict=True):
            if i >= 0 and j >= 0:
                groups.forbid(i, j)
    is_forced = forced.tolist() if forced is not None else [False] * len(edges)
    refused: list[tuple[int, str]] = []
    find, conflict, union = groups.find, groups.conflict, groups.union
    for e, i, j in zip(order.tolist(), left[order].tolist(), right[order].tolist(), strict=True):
        a, b = find(i), find(j)
        if a == b:
            continue
        reason = conflict(a, b, is_forced[e])
        if reason is None:
            union(a, b)
        else:
            refused.append((e, reason))

    roots = np.fromiter((find(i) for i in range(len(ids))), dtype=np.int64, count=len(ids))
    clusters = frame[["unique_id", "source", "record_key"]].copy()
    clusters["cluster_id"] = clusters.groupby(roots)["unique_id"].transform("min")
    clusters["cluster_size"] = clusters.groupby(roots)["unique_id"].transform("size")
    at = [e for e, _ in refused]
    conflicts = edges.iloc[at][["unique_id_l", "unique_id_r", "match_probability"]].copy()
    conflicts["reason"] = pd.Series([r for _, r in refused], index=conflicts.index, dtype="str")
    review = review_candidates(pairs, lower, upper)
    cluster_of = clusters.set_index("unique_id")["cluster_id"]
    review["same_cluster"] = (
        review["unique_id_l"].map(cluster_of).to_numpy()
        == review["unique_id_r"].map(cluster_of).to_numpy()
    )
    return ClusterResult(clusters, conflicts.reset_index(drop=True), review)


def cluster(
    persons: pd.DataFrame, pairs: pd.DataFrame, threshold: float = 0.5, **options
) -> pd.DataFrame:
    """Twin-safe clusters only (see ``cluster_records`` for options and diagnostics)."""
    return cluster_records(persons, pairs, threshold, **options).clusters
