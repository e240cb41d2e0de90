"""Incremental linkage: score only what is new or changed, re-cluster only what it touches.

A monthly load brings a few percent of new records; the rest are re-deliveries of records already
linked (a school roster lists every pupil every month). Re-scoring and re-clustering everything
would cost a full re-link each month. Instead the linkage state (kept in the same DuckDB file as
the id registry, so it is promoted together with it when a publish succeeds) remembers, per record,
a fingerprint of every compared value, the scored pairs and the clusters of the last run:

1. ``changed`` records are those whose fingerprint is new or different (the reporting month is
   not part of it: a re-delivered, unchanged record is not new).
2. Splink scores only candidate pairs with at least one changed record: every prediction blocking
   rule gets ``AND (l.is_new OR r.is_new)``. All records stay in the linker, so term frequencies
   are those of the whole population, exactly as in a full re-link.
3. The kept pairs (both records unchanged) plus the new ones are the pair set of this run.
4. The records to re-cluster are the connected components, over match edges and last run's
   clusters, of the changed records, of records that left the linkage input, and of records
   named in any clerical decision. Twin-safe clustering (``linkage.cluster``) only looks inside a
   component, so re-clustering these components gives what a full re-cluster would give them.
5. Every other record keeps its cluster; the id registry maps only the re-clustered ones.

A full re-link (``full=True``, a retrained model, or a state written by another model) scores
and clusters everything and still keeps ids through the registry.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.cluster import components, positions
from linkage.model import ModelArtefact
from linkage.prepare import combined_codes, large_strings

NEW_FLAG = "is_new"
_DDL = """
CREATE TABLE IF NOT EXISTS link_records (
    unique_id VARCHAR NOT NULL, fingerprint UBIGINT NOT NULL, cluster_id VARCHAR NOT NULL,
    cluster_size BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS link_pairs (
    unique_id_l VARCHAR NOT NULL, unique_id_r VARCHAR NOT NULL, match_probability DOUBLE,
    match_weight DOUBLE, source_l VARCHAR, source_r VARCHAR);
CREATE TABLE IF NOT EXISTS link_meta (model_sha256 VARCHAR, run_id VARCHAR, mode VARCHAR);
"""
PAIR_STATE_COLUMNS = (
    "unique_id_l",
    "unique_id_r",
    "match_probability",
    "match_weight",
    "source_l",
    "source_r",
)


@dataclass(frozen=True)
class Plan:
    """What this run must score and re-cluster.

    Attributes:
        mode: ``"incremental"`` or ``"full"`` (and why, e.g. ``"full: model changed"``).
        changed: bool per prepared record (aligned to its index): new or different values.
        kept_pairs: last run's scored pairs whose two records are both unchanged.
        previous: last run's ``unique_id, cluster_id, cluster_size`` (empty for a full run).
    """

    mode: str
    changed: pd.Series
    kept_pairs: pd.DataFrame
    previous: pd.DataFrame

    @property
    def full(self) -> bool:
        return self.mode.startswith("full")


def fingerprints(prepared: pd.DataFrame) -> pd.Series:
    """A 64-bit hash per record of every column the model compares or the clusterer reads.

    The reporting month and the frequency-capped ``bk_*`` blocking keys are left out: a record
    re-delivered unchanged next month keeps its fingerprint.
    """
    columns = [
        c
        for c in prepared.columns
        if c not in ("unique_id", "month", NEW_FLAG) and not c.startswith("bk_")
    ]
    con = duckdb.connect()
    try:
        con.register("_fp", prepared[["unique_id", *columns]])
        quoted = ", ".join(f'"{c}"::VARCHAR' for c in columns)
        out = con.sql(f"SELECT hash({quoted}) AS fp FROM _fp").fetchnumpy()["fp"]
    finally:
        con.close()
    return pd.Series(np.asarray(out, dtype=np.uint64), index=prepared.index, name="fp")


def plan(
    con: duckdb.DuckDBPyConnection, prepared: pd.DataFrame, model_sha256: str, full: bool = False
) -> tuple[Plan, pd.Series]:
    """Compare this run's records with the stored state and decide what to score.

    Returns:
        The plan and this run's fingerprints (to be saved with ``save``).
    """
    con.execute(_DDL).fetchall()
    fps = fingerprints(prepared)
    empty_pairs = pd.DataFrame(columns=list(PAIR_STATE_COLUMNS))
    empty_prev = pd.DataFrame(columns=["unique_id", "cluster_id", "cluster_size"])
    all_changed = pd.Series(True, index=prepared.index)
    meta = con.sql("SELECT model_sha256 FROM link_meta").fetchall()
    if not meta:  # named first: the first load also trains the model, which asks for a full run
        return Plan("full: first linkage", all_changed, empty_pairs, empty_prev), fps
    if full:
        return Plan("full: asked for", all_changed, empty_pairs, empty_prev), fps
    if meta[0][0] != model_sha256:
        return Plan("full: model changed", all_changed, empty_pairs, empty_prev), fps
    # Compared in DuckDB: only the changed positions and the kept pairs come back.
    current = pa.table(
        {
            "unique_id": large_strings(prepared["unique_id"]),
            "fingerprint": pa.array(fps.to_numpy(dtype=np.uint64)),
            "pos": pa.array(np.arange(len(prepared), dtype=np.int64)),
        }
    )
    con.register("_pl_cur", current)
    try:
        con.execute("""CREATE OR REPLACE TEMP TABLE _pl_same AS SELECT c.unique_id, c.pos
            FROM _pl_cur c JOIN link_records r
            ON r.unique_id = c.unique_id AND r.fingerprint = c.fingerprint""").fetchall()
        same = con.sql("SELECT pos FROM _pl_same").fetchnumpy()["pos"]
        kept = _frame(
            con,
            """SELECT p.* FROM link_pairs p
            SEMI JOIN _pl_same a ON a.unique_id = p.unique_id_l
            SEMI JOIN _pl_same b ON b.unique_id = p.unique_id_r""",
        )
        previous = _frame(con, "SELECT unique_id, cluster_id, cluster_size FROM link_records")
    finally:
        con.unregister("_pl_cur")
        con.execute("DROP TABLE IF EXISTS _pl_same").fetchall()
    flags = np.ones(len(prepared), dtype=bool)
    flags[np.asarray(same, dtype=np.int64)] = False
    changed = pd.Series(flags, index=prepared.index)
    return Plan("incremental", changed, kept, previous), fps


def _frame(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    return con.sql(query).to_arrow_table().to_pandas()  # far faster than .df() for text


def flagged(positions: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """``flags`` at ``positions`` (from ``linkage.cluster.positions``), False where -1."""
    return (positions >= 0) & flags[np.maximum(positions, 0)]


_EQUI = re.compile(r'^l\."?(\w+)"?\s*=\s*r\."?(\w+)"?$')


def _top_level(text: str) -> str:
    """``text`` with every parenthesised part blanked out (same length)."""
    out, depth = [], 0
    for ch in text:
        depth += ch == "("
        out.append(ch if depth == 0 else " ")
        depth -= ch == ")"
    return "".join(out)


def _conjuncts(text: str) -> list[str] | None:
    """The parts of ``text`` joined by top-level ``AND`` (outer parentheses dropped), or None
    if a top-level ``OR`` joins them (then no part is required on its own)."""
    text = text.strip()
    while text.startswith("(") and not _top_level(text).strip():  # one group: unwrap it
        text = text[1:-1].strip()
    top = _top_level(text)
    if re.search(r"\bOR\b", top, flags=re.IGNORECASE):
        return None
    cuts = [x for m in re.finditer(r"\bAND\b", top, flags=re.IGNORECASE) for x in m.span()]
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds[::2], bounds[1::2], strict=True)]


def _equi_columns(text: str) -> list[tuple[str, str]]:
    """Column pairs ``(a, b)`` of the ``l.a = r.b`` conditions every pair of a rule satisfies."""
    parts = _conjuncts(text)
    if parts is None:
        return []
    if len(parts) > 1:
        return [c for part in parts for c in _equi_columns(part)]
    found = _EQUI.match(parts[0])
    return [(found.group(1), found.group(2))] if found else []


def blocking_columns(artefact: ModelArtefact) -> list[list[tuple[str, str]]] | None:
    """The columns each prediction blocking rule joins on (its ``l.a = r.b`` conjuncts, ``a``
    and ``b`` the same column for most rules), or None if a rule has none. Other conjuncts
    (``l.birth_md IS NULL OR ...``) only narrow a rule's pairs; every pair still shares the
    joined values."""
    rules = [
        _equi_columns(rule["blocking_rule"])
        for rule in artefact.settings["blocking_rules_to_generate_predictions"]
    ]
    return rules if all(rules) else None


def _side_codes(prepared: pd.DataFrame, joins: list[tuple[str, str]]):
    """Per record, one code of its left-hand columns and one of its right-hand columns of a
    rule, equal across sides exactly where the rule's join holds (and a missing flag each)."""
    if all(a == b for a, b in joins):  # most rules: both sides are the same columns
        key, missing = combined_codes([prepared[a] for a, _ in joins])
        return key, missing, key, missing
    # one code space for both sides: each left column stacked on its right column
    n = len(prepared)
    stacked = [pd.concat([prepared[a], prepared[b]], ignore_index=True) for a, b in joins]
    key, missing = combined_codes(stacked)
    return key[:n], missing[:n], key[n:], missing[n:]


def scoring_subset(
    prepared: pd.DataFrame, changed: pd.Series, artefact: ModelArtefact
) -> pd.Series:
    """Changed records plus every record that meets one in a blocking rule's join (on either
    side): the only records a pair touching a changed record can involve."""
    rules = blocking_columns(artefact)
    if rules is None:
        return pd.Series(True, index=prepared.index)
    now = changed.to_numpy(dtype=bool)
    mask = now.copy()
    for joins in rules:
        left, miss_l, right, miss_r = _side_codes(prepared, joins)
        wanted = left[now & ~miss_l]  # changed record on the left: partners on the right
        if len(wanted):
            mask |= np.isin(right, wanted) & ~miss_r
        if any(a != b for a, b in joins):
            wanted = right[now & ~miss_r]
            if len(wanted):
                mask |= np.isin(left, wanted) & ~miss_l
    return pd.Series(mask, index=prepared.index)


@dataclass(frozen=True)
class Located:
    """Positions in the prepared frame (-1: not in it) of what an incremental run looks up:
    this run's pairs, last run's records and the heads of their clusters, and the records of
    clerical decisions. One lookup for all (``linkage.cluster.positions``)."""

    pair_l: np.ndarray
    pair_r: np.ndarray
    previous: np.ndarray
    head: np.ndarray
    decided: np.ndarray

    @classmethod
    def of(
        cls,
        prepared: pd.DataFrame,
        pairs: pd.DataFrame,
        previous: pd.DataFrame,
        decided: pd.DataFrame,
    ) -> Located:
        pair_l, pair_r, prev, head, dec_l, dec_r = positions(
            large_strings(prepared["unique_id"]),
            pairs["unique_id_l"],
            pairs["unique_id_r"],
            previous["unique_id"],
            previous["cluster_id"],
            decided["unique_id_l"],
            decided["unique_id_r"],
        )
        return cls(pair_l, pair_r, prev, head, np.concatenate([dec_l, dec_r]))


def only_new_pairs(artefact: ModelArtefact) -> ModelArtefact:
    """The same model whose prediction blocking rules keep only pairs touching a new record."""
    settings = copy.deepcopy(artefact.settings)
    for rule in settings["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = f'({rule["blocking_rule"]}) AND (l."{NEW_FLAG}" OR r."{NEW_FLAG}")'
    return dataclasses.replace(artefact, settings=settings)


def to_recluster(
    changed: pd.Series,
    pairs: pd.DataFrame,
    previous: pd.DataFrame,
    threshold: float,
    located: Located,
) -> pd.Series:
    """Records whose cluster may change: components of the seeds over edges and old clusters.

    Seeds: changed records, records of last run's clusters that lost a member from the input,
    and records named in a clerical decision (applied every run). ``located`` holds the
    positions of ``pairs``, ``previous`` and the decisions.
    """
    n = len(changed)
    present = located.previous >= 0
    seed = changed.to_numpy(dtype=bool).copy()
    cluster, _ = pd.factorize(previous["cluster_id"])
    lost = np.isin(cluster, cluster[~present]) & present  # members left behind by a leaver
    seed[located.previous[lost]] = True
    seed[located.decided[located.decided >= 0]] = True
    # Graph over record positions: match edges, plus each record to its old cluster's head.
    edge = (pairs["match_probability"] >= threshold).to_numpy(dtype=bool)
    edge = edge & (located.pair_l >= 0) & (located.pair_r >= 0)
    ok = present & (located.head >= 0)
    left = np.concatenate([located.pair_l[edge], located.previous[ok]])
    right = np.concatenate([located.pair_r[edge], located.head[ok]])
    label = components(n, left, right)
    marked = np.isin(label, np.unique(label[seed])) if seed.any() else seed
    return pd.Series(marked, index=changed.index)


def save(
    con: duckdb.DuckDBPyConnection,
    prepared: pd.DataFrame,
    fps: pd.Series,
    pairs: pd.DataFrame,
    clusters: pd.DataFrame,
    model_sha256: str,
    run_id: str,
    mode: str,
) -> None:
    """Replace the stored state with this run's records, pairs and clusters."""
    records = pa.table(
        {
            "unique_id": large_strings(prepared["unique_id"]),
            "fingerprint": pa.array(fps.to_numpy(dtype=np.uint64)),
        }
    )
    con.execute(_DDL).fetchall()
    con.register("_st_records", records)
    con.register("_st_clusters", clusters[["unique_id", "cluster_id", "cluster_size"]])
    con.register("_st_pairs", pairs[list(PAIR_STATE_COLUMNS)])
    try:
        for sql in (
            "DELETE FROM link_records",
            "INSERT INTO link_records SELECT r.unique_id, r.fingerprint, c.cluster_id,"
            " c.cluster_size FROM _st_records r JOIN _st_clusters c USING (unique_id)",
            "DELETE FROM link_pairs",
            "INSERT INTO link_pairs SELECT * FROM _st_pairs",
            "DELETE FROM link_meta",
        ):
            con.execute(sql).fetchall()
        con.execute("INSERT INTO link_meta VALUES (?, ?, ?)", [model_sha256, run_id, mode])
    finally:
        for name in ("_st_records", "_st_clusters", "_st_pairs"):
            con.unregister(name)
