"""Clerical review: queue, decisions and how they reshape the next run's pairs."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from linkage.review import (
    apply_decisions,
    describe_pair,
    list_queue,
    queue_pairs,
    record_decision,
)
from schemas.columns import PERSON

A, B, C, D = "schools|s1", "cpis|CP-1", "epassbook|F1:2", "health_centres|H1:9"


def pairs(*rows: tuple[str, str, float], reason: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])
    frame["match_weight"] = np.log2(frame["match_probability"] / (1 - frame["match_probability"]))
    if reason is not None:
        frame["review_reason"] = reason
    return frame


def queue(con) -> pd.DataFrame:
    return con.sql("SELECT * FROM review_queue ORDER BY unique_id_l, unique_id_r").df()


@pytest.fixture
def con():
    with duckdb.connect() as c:
        yield c


def test_only_the_uncertain_band_is_queued_in_canonical_order(con):
    scored = pairs((B, A, 0.5), (A, C, 0.2), (C, D, 0.95), (A, D, 0.3), (B, C, 0.9))
    counts = queue_pairs(con, scored, 0.3, 0.9, run_id="r1")
    assert counts == {"queued": 2, "new": 2, "seen_again": 0, "open": 2}
    q = queue(con)
    # Canonical order is l < r: "cpis|.." < "health_centres|.." < "schools|..".
    # (A, D) is stored as (D, A); 0.3 is in the band, 0.9 is not.
    assert q[["unique_id_l", "unique_id_r"]].values.tolist() == [[B, A], [D, A]]
    assert q["match_probability"].tolist() == [0.5, 0.3]
    assert set(q["reason"]) == {"uncertain_band"} and set(q["status"]) == {"open"}
    assert q["pair_id"].str.match(r"^P[0-9a-f]{16}$").all()


def test_queue_does_not_duplicate_pairs_across_runs(con):
    queue_pairs(con, pairs((A, B, 0.5), (C, D, 0.6)), run_id="r1")
    first = queue(con)
    # Next run: same pairs, other orientation, new probabilities.
    counts = queue_pairs(con, pairs((B, A, 0.55), (D, C, 0.6)), run_id="r2")
    assert counts == {"queued": 2, "new": 0, "seen_again": 2, "open": 2}
    again = queue(con)
    assert len(again) == 2
    assert again["pair_id"].tolist() == first["pair_id"].tolist()
    assert set(again["first_queued_run"]) == {"r1"} and set(again["last_seen_run"]) == {"r2"}
    assert sorted(again["match_probability"]) == [0.55, 0.6]


def test_flagged_pairs_are_queued_whatever_their_probability(con):
    queue_pairs(con, pairs((A, B, 0.97), reason="conflict_refused:pid"), run_id="r1")
    q = queue(con)
    assert q[["reason", "status"]].values.tolist() == [["conflict_refused:pid", "open"]]


def test_never_link_removes_the_pair_and_yields_cannot_link(con):
    queue_pairs(con, pairs((A, B, 0.5)), run_id="r1")
    pair_id = record_decision(con, B, A, "different", "officer7", "different mothers")
    assert pair_id == queue(con)["pair_id"].iloc[0]
    assert queue(con)["status"].tolist() == ["decided"]
    assert list_queue(con).empty
    scored = pairs((A, B, 0.97), (C, D, 0.8))
    applied = apply_decisions(con, scored)
    assert applied.pairs[["unique_id_l", "unique_id_r"]].values.tolist() == [[C, D]]
    assert applied.pairs["forced"].tolist() == [False]
    # Exactly the clusterer's input: even if the pair is not scored this run.
    expected = pd.DataFrame({"unique_id_l": [min(A, B)], "unique_id_r": [max(A, B)]})
    pd.testing.assert_frame_equal(applied.cannot_link, expected, check_dtype=False)
    pd.testing.assert_frame_equal(
        apply_decisions(con, pairs((C, D, 0.8))).cannot_link, expected, check_dtype=False
    )


def test_force_link_raises_a_scored_pair_and_adds_a_missing_one(con):
    record_decision(con, A, B, "same", "officer7")
    record_decision(con, D, C, "same", "officer7", "same birth certificate")
    applied = apply_decisions(con, pairs((A, B, 0.4), (A, C, 0.7)))
    out = applied.pairs.set_index(["unique_id_l", "unique_id_r"])
    assert out.loc[(A, B), "match_probability"] == 1.0 and out.loc[(A, B), "forced"]
    assert out.loc[(A, B), "match_weight"] == np.inf
    assert out.loc[(A, C), "match_probability"] == 0.7 and not out.loc[(A, C), "forced"]
    added = out.loc[(min(C, D), max(C, D))]  # not scored this run: added in canonical order
    assert added["match_probability"] == 1.0 and added["forced"]
    assert len(out) == 3 and applied.cannot_link.empty


def test_latest_decision_wins_and_decided_pairs_stay_closed(con):
    record_decision(con, A, B, "same", "officer7")
    record_decision(con, A, B, "different", "supervisor2", "twins")
    applied = apply_decisions(con, pairs((A, B, 0.5)))
    assert applied.pairs.empty and len(applied.cannot_link) == 1
    # A decided pair seen again in the band is recorded but not reopened.
    counts = queue_pairs(con, pairs((A, B, 0.5)), run_id="r2")
    assert counts["open"] == 0 and queue(con)["status"].tolist() == ["decided"]
    assert con.sql("SELECT count(*) FROM review_decisions").fetchall() == [(2,)]


def test_decisions_on_absent_records_are_left_out(con):
    record_decision(con, A, B, "same", "officer7")
    record_decision(con, C, D, "different", "officer7")
    applied = apply_decisions(con, pairs((A, C, 0.5)), unique_ids=pd.Series([A, C, D]))
    assert applied.pairs[["unique_id_l", "unique_id_r"]].values.tolist() == [[A, C]]
    assert applied.cannot_link.values.tolist() == [[min(C, D), max(C, D)]]


def test_bad_decisions_are_refused(con):
    with pytest.raises(ValueError, match="decision"):
        record_decision(con, A, B, "maybe", "officer7")
    with pytest.raises(ValueError, match="reviewer"):
        record_decision(con, A, B, "same", " ")
    with pytest.raises(ValueError, match="itself"):
        record_decision(con, A, A, "same", "officer7")


def test_list_queue_shows_ids_and_probabilities_without_names(con):
    queue_pairs(con, pairs((A, B, 0.85), (C, D, 0.52), (A, D, 0.4)), run_id="r1")
    listed = list_queue(con, limit=2)
    assert listed.columns.tolist() == [
        "pair_id", "unique_id_l", "unique_id_r", "match_probability", "reason", "status",
        "first_queued_run", "last_seen_run",
    ]  # fmt: skip
    assert listed["match_probability"].tolist() == [0.52, 0.4]  # most uncertain first


def test_describe_pair_shows_both_records_side_by_side(con):
    persons = pd.DataFrame(
        [
            {"source": "schools", "record_key": "s1", "month": "202401", "given_name": "ฟ้า",
             "family_name": "ใจดี", "sex": "F"},
            {"source": "schools", "record_key": "s1", "month": "202402", "given_name": "ฟ้าใส",
             "family_name": "ใจดี", "sex": "F"},
            {"source": "cpis", "record_key": "CP-1", "month": "202402", "given_name": "ฟ้าใส",
             "family_name": "ใจดี", "sex": None},
        ]
    ).reindex(columns=list(PERSON))  # fmt: skip
    shown = describe_pair(con, persons, A, B)
    assert shown.loc["given_name"].tolist() == ["ฟ้าใส", "ฟ้าใส", True]  # latest month of s1
    assert shown.loc["family_name", "agree"] and not shown.loc["sex", "agree"]
    assert shown.loc["record_key", ["left", "right"]].tolist() == ["s1", "CP-1"]
