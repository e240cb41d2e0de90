"""Clerical review of uncertain pairs, kept in DuckDB so decisions survive re-runs.

A load queues the pairs the model cannot decide (``match_probability`` in ``[lower, upper)``)
plus any pair another step flags (a ``review_reason`` column, e.g. ``conflict_refused`` when the
clusterer refused a union). A reviewer decides ``same`` or ``different``; every later load applies
the latest decision per pair before clustering:

* ``same``: force-link. The pair is kept (or added) with probability 1.0, weight +inf and
  ``forced=True``.
* ``different``: never-link. The pair is removed and returned in ``cannot_link`` so the clusterer
  refuses any union that would join the two records, even through other records.

Pairs are stored in canonical order (``unique_id_l < unique_id_r``); ``pair_id`` is ``P`` + 16 hex
of SHA-256 over the canonical pair, so the same pair keeps its id across loads and is never queued
twice. Decisions are appended (an audit trail); the latest one for a pair wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

_DDL = """
CREATE TABLE IF NOT EXISTS review_queue (
    pair_id VARCHAR NOT NULL, unique_id_l VARCHAR NOT NULL, unique_id_r VARCHAR NOT NULL,
    match_probability DOUBLE, reason VARCHAR, first_queued_run VARCHAR, last_seen_run VARCHAR,
    status VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS review_decisions (
    unique_id_l VARCHAR NOT NULL, unique_id_r VARCHAR NOT NULL, decision VARCHAR NOT NULL,
    reviewer VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, reason VARCHAR);
"""
_PAIR_ID = "'P' || left(sha256(unique_id_l || chr(31) || unique_id_r), 16)"
_LATEST = """SELECT unique_id_l, unique_id_r, decision FROM review_decisions
             QUALIFY row_number() OVER (PARTITION BY unique_id_l, unique_id_r
                                        ORDER BY decided_at DESC, rowid DESC) = 1"""
DECISIONS = ("same", "different")


@dataclass
class AppliedDecisions:
    """Pairs after clerical decisions, and the never-link constraints for the clusterer.

    Attributes:
        pairs: the input pairs minus ``different`` pairs, plus ``same`` pairs, with a ``forced``
            bool column (True where a reviewer forced the link).
        cannot_link: ``unique_id_l, unique_id_r`` of every ``different`` decision, canonical order.
    """

    pairs: pd.DataFrame
    cannot_link: pd.DataFrame


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the review tables if they do not exist."""
    con.execute(_DDL).fetchall()


def canonical(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Order each pair so the smaller ``unique_id`` is on the left (vectorised)."""
    swap = (left > right).to_numpy(dtype=bool, na_value=False)
    return left.where(~swap, right), right.where(~swap, left)


def queue_pairs(
    con: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame,
    lower: float = 0.3,
    upper: float = 0.9,
    *,
    run_id: str,
) -> dict[str, int]:
    """Queue uncertain or flagged pairs for review without duplicating earlier entries.

    Args:
        con: connection holding the review tables.
        pairs: ``unique_id_l, unique_id_r, match_probability`` and optionally ``review_reason``
            (non-null rows are queued whatever their probability, with that reason).
        lower: lowest probability queued (inclusive).
        upper: probability from which a pair counts as a match and is not queued.
        run_id: this load's run id (``first_queued_run`` of new rows, ``last_seen_run`` of all).

    Returns:
        ``queued`` pairs this run (``new`` rows plus rows ``seen_again``) and ``open`` rows in
        the queue after the call.
    """
    ensure_tables(con)
    prob = pairs["match_probability"]
    flagged = pairs["review_reason"] if "review_reason" in pairs else pd.Series(pd.NA, pairs.index)
    band = (prob.ge(lower) & prob.lt(upper)).to_numpy(bool, na_value=False)
    keep = band | flagged.notna().to_numpy()
    sel = pairs.loc[keep]
    left, right = canonical(sel["unique_id_l"], sel["unique_id_r"])
    cand = pd.DataFrame(
        {
            "unique_id_l": left.to_numpy(),
            "unique_id_r": right.to_numpy(),
            "match_probability": sel["match_probability"].to_numpy(dtype=float, na_value=np.nan),
            "reason": flagged.loc[sel.index].fillna("uncertain_band").to_numpy(dtype=object),
        }
    )
    con.register("_rq_in", cand)
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _rq_new AS
            SELECT {_PAIR_ID} AS pair_id, unique_id_l, unique_id_r,
                   max(match_probability) AS match_probability,
                   -- a flagged reason outranks the plain band reason
                   first(reason ORDER BY reason = 'uncertain_band', reason) AS reason
            FROM _rq_in WHERE unique_id_l <> unique_id_r GROUP BY ALL""").fetchall()
    finally:
        con.unregister("_rq_in")
    (seen,) = con.execute(
        """UPDATE review_queue q SET last_seen_run = $1, match_probability = n.match_probability,
           reason = n.reason FROM _rq_new n WHERE q.pair_id = n.pair_id""",
        [run_id],
    ).fetchall()[0]
    (new,) = con.execute(
        f"""INSERT INTO review_queue SELECT n.pair_id, n.unique_id_l, n.unique_id_r,
            n.match_probability, n.reason, $1, $1,
            CASE WHEN d.decision IS NULL THEN 'open' ELSE 'decided' END
            FROM _rq_new n ANTI JOIN review_queue q USING (pair_id)
            LEFT JOIN ({_LATEST}) d USING (unique_id_l, unique_id_r)""",
        [run_id],
    ).fetchall()[0]
    con.execute("DROP TABLE _rq_new").fetchall()
    (n_open,) = con.execute("SELECT count(*) FROM review_queue WHERE status = 'open'").fetchall()[0]
    return {
        "queued": int(new) + int(seen),
        "new": int(new),
        "seen_again": int(seen),
        "open": int(n_open),
    }


def record_decision(
    con: duckdb.DuckDBPyConnection,
    uid_l: str,
    uid_r: str,
    decision: str,
    reviewer: str,
    reason: str | None = None,
) -> str:
    """Record a reviewer's decision on a pair (either order) and close it in the queue.

    Returns:
        The pair's ``pair_id``.

    Raises:
        ValueError: for an unknown decision, a missing reviewer or a record paired with itself.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if not reviewer or not str(reviewer).strip():
        raise ValueError("a decision needs the reviewer's name or id")
    if uid_l == uid_r:
        raise ValueError("a record cannot be paired with itself")
    ensure_tables(con)
    left, right = sorted((str(uid_l), str(uid_r)))
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO review_decisions VALUES ($1, $2, $3, $4, $5, $6)",
        [left, right, decision, reviewer, now, reason],
    ).fetchall()
    con.execute(
        "UPDATE review_queue SET status = 'decided' WHERE unique_id_l = $1 AND unique_id_r = $2",
        [left, right],
    ).fetchall()
    return con.execute(
        f"SELECT {_PAIR_ID} FROM (SELECT $1 AS unique_id_l, $2 AS unique_id_r)", [left, right]
    ).fetchall()[0][0]


def list_queue(
    con: duckdb.DuckDBPyConnection, status: str | None = "open", limit: int | None = 50
) -> pd.DataFrame:
    """Queued pairs, most uncertain first: ids, probability, reason and runs (no names).

    Args:
        con: connection holding the review tables.
        status: ``open``, ``decided`` or None for all.
        limit: most rows returned; None for all.
    """
    ensure_tables(con)
    where = "WHERE status = $status" if status is not None else ""
    lim = f"LIMIT {int(limit)}" if limit is not None else ""
    params = {"status": status} if status is not None else {}
    return con.execute(
        f"""SELECT pair_id, unique_id_l, unique_id_r, match_probability, reason, status,
            first_queued_run, last_seen_run FROM review_queue {where}
            ORDER BY reason = 'uncertain_band', abs(match_probability - 0.5), pair_id {lim}""",
        params,
    ).df()


def describe_pair(
    con: duckdb.DuckDBPyConnection, persons_table: str | pd.DataFrame, uid_l: str, uid_r: str
) -> pd.DataFrame:
    """Both records side by side, for an authorised reviewer (shows names and identifiers).

    Args:
        con: connection holding ``persons_table``.
        persons_table: name of a table or view with PERSON columns, or such a DataFrame.
        uid_l: ``source|record_key`` of one record.
        uid_r: ``source|record_key`` of the other.

    Returns:
        One row per PERSON field; columns ``left``, ``right`` (latest month of each record, as
        text) and ``agree``.
    """
    if isinstance(persons_table, pd.DataFrame):
        con.register("_rq_persons", persons_table)
        relation = "_rq_persons"
    else:
        relation = '"' + str(persons_table).replace('"', '""') + '"'
    try:
        rows = con.execute(
            f"""SELECT * EXCLUDE (_uid) FROM (SELECT *, source || '|' || record_key AS _uid
                FROM {relation}) WHERE _uid IN ($1, $2)
                QUALIFY row_number() OVER (PARTITION BY _uid ORDER BY month DESC NULLS LAST) = 1""",
            [uid_l, uid_r],
        ).df()
    finally:
        if isinstance(persons_table, pd.DataFrame):
            con.unregister("_rq_persons")
    uid = rows["source"] + "|" + rows["record_key"]
    side = rows.set_index(uid).T.astype("string")
    empty = pd.Series(pd.NA, index=side.index, dtype="string")
    out = pd.DataFrame(
        {
            "left": side[uid_l] if uid_l in side else empty,
            "right": side[uid_r] if uid_r in side else empty,
        }
    )
    out["agree"] = out["left"].eq(out["right"]).fillna(False).astype(bool)
    out.index.name = "field"
    return out


def apply_decisions(
    con: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame,
    unique_ids: pd.Series | None = None,
) -> AppliedDecisions:
    """Apply the latest clerical decision of every pair to this run's scored pairs.

    Args:
        con: connection holding the review tables.
        pairs: ``unique_id_l, unique_id_r, match_probability, match_weight`` (extra columns kept).
        unique_ids: records present in this run; if given, forced links and cannot-links that
            name an absent record are left out.

    Returns:
        The adjusted pairs and the ``cannot_link`` frame for the clusterer.
    """
    ensure_tables(con)
    decided = con.execute(_LATEST).df()
    if decided.empty:  # nothing decided yet: every pair as scored
        cannot = pd.DataFrame({c: pd.Series(dtype="str") for c in ("unique_id_l", "unique_id_r")})
        return AppliedDecisions(pairs=pairs.assign(forced=False), cannot_link=cannot)
    if unique_ids is not None:
        present = pd.Index(pd.unique(unique_ids))
        both = decided["unique_id_l"].isin(present) & decided["unique_id_r"].isin(present)
        decided = decided[both]
    left, right = canonical(pairs["unique_id_l"], pairs["unique_id_r"])
    keys = pd.DataFrame({"unique_id_l": left.to_numpy(), "unique_id_r": right.to_numpy()})
    found = keys.merge(decided, how="left", on=["unique_id_l", "unique_id_r"])["decision"]
    found = found.to_numpy(dtype=object, na_value=None)
    out = pairs.loc[found != "different"].copy()
    forced = found[found != "different"] == "same"
    if "match_probability" in out:
        out.loc[forced, "match_probability"] = 1.0
    if "match_weight" in out:
        out.loc[forced, "match_weight"] = np.inf
    out["forced"] = forced
    same = decided[decided["decision"] == "same"]
    missing = same.merge(keys.drop_duplicates(), how="left", indicator=True)
    added = missing.loc[missing["_merge"] == "left_only", ["unique_id_l", "unique_id_r"]]
    if len(added):
        added = added.assign(match_probability=1.0, match_weight=np.inf, forced=True)
        added = added[[c for c in added.columns if c in out.columns]]
        out = pd.concat([out, added], ignore_index=True)
    cannot = decided.loc[decided["decision"] == "different", ["unique_id_l", "unique_id_r"]]
    return AppliedDecisions(pairs=out, cannot_link=cannot.reset_index(drop=True))
