"""Stable child_id registry: exact outcomes on tiny hand-made cluster frames."""

from __future__ import annotations

import os
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from linkage import registry
from linkage.registry import assign_ids, new_child_ids

ID = re.compile(r"^C[A-Z2-7]{12}$")


def clusters(*groups: str, label: str = "k") -> pd.DataFrame:
    """One cluster per string of record keys, e.g. clusters("ab", "c"); all from schools.

    Cluster labels are arbitrary per run (as Splink's are): ``label`` changes them.
    """
    rows = [("schools", key, f"{label}{i}") for i, group in enumerate(groups) for key in group]
    return pd.DataFrame(rows, columns=["source", "record_key", "cluster_id"])


def ids(result) -> dict[str, str]:
    return dict(zip(result.assignments["record_key"], result.assignments["child_id"], strict=True))


def table(con, name: str) -> pd.DataFrame:
    return con.sql(f"SELECT * FROM {name} ORDER BY ALL").df()


@pytest.fixture
def con():
    with duckdb.connect() as c:
        yield c


def test_first_load_issues_one_opaque_id_per_cluster(con):
    first = assign_ids(con, clusters("ab", "c"), "r1")
    got = ids(first)
    assert got["a"] == got["b"] != got["c"]
    assert all(ID.match(v) for v in got.values())
    assert first.counts == {"created": 2, "kept": 0, "split": 0, "merged": 0}
    assert sorted(first.events["event"]) == ["created", "created"]
    assert sorted(first.events["n_records"]) == [1, 2]
    reg = table(con, "child_registry")
    assert set(reg["status"]) == {"active"} and set(reg["created_run"]) == {"r1"}


def test_rerun_with_same_clusters_changes_nothing(con):
    first = assign_ids(con, clusters("ab", "c"), "r1")
    before = {t: table(con, t) for t in ("child_registry", "record_assignment", "registry_events")}
    # Same records, new arbitrary cluster labels and row order: nothing may move.
    again = assign_ids(con, clusters("c", "ba", label="splink"), "r2")
    assert ids(again) == ids(first)
    assert again.events.empty
    assert again.counts == {"created": 0, "kept": 2, "split": 0, "merged": 0}
    for name, frame in before.items():
        pd.testing.assert_frame_equal(table(con, name), frame)


def test_new_record_joining_a_child_keeps_its_id(con):
    first = ids(assign_ids(con, clusters("ab", "c"), "r1"))
    second = assign_ids(con, clusters("abd", "c"), "r2")  # next month: d links to a and b
    assert ids(second) == {**first, "d": first["a"]}
    assert second.events.empty  # a new record joining a child is not a registry event
    rows = table(con, "record_assignment").set_index("record_key")
    assert rows.loc["d", "run_id"] == "r2" and rows.loc["a", "run_id"] == "r1"


def test_merge_keeps_the_larger_child_and_records_the_other_as_merged(con):
    first = ids(assign_ids(con, clusters("ab", "c"), "r1"))
    merge = assign_ids(con, clusters("abc"), "r2", reason_context="model abc123")
    assert set(ids(merge).values()) == {first["a"]}  # {a,b} held two records: it survives
    assert merge.counts == {"created": 0, "kept": 1, "split": 0, "merged": 1}
    reg = table(con, "child_registry").set_index("child_id")
    assert reg.loc[first["c"], "status"] == "merged"
    assert reg.loc[first["c"], "merged_into"] == first["a"]
    assert reg.loc[first["c"], "updated_run"] == "r2"
    ev = merge.events.iloc[0]
    assert (ev["event"], ev["child_id"], ev["other_child_id"], ev["n_records"]) == (
        "merged", first["c"], first["a"], 1)  # fmt: skip
    assert ev["reason"] == "new evidence linked records (model abc123)"
    assert ev["run_id"] == "r2"


def test_merge_of_equal_children_keeps_the_older_id(con):
    first = ids(assign_ids(con, clusters("a", "b"), "r1"))  # a's id is issued first
    merge = assign_ids(con, clusters("ba"), "r2")
    assert set(ids(merge).values()) == {first["a"]}
    reg = table(con, "child_registry").set_index("child_id")
    assert reg.loc[first["b"], "merged_into"] == first["a"]


def test_split_keeps_the_largest_part_and_gives_the_rest_a_new_id(con):
    first = ids(assign_ids(con, clusters("abc"), "r1"))
    split = assign_ids(con, clusters("ab", "c"), "r2")
    got = ids(split)
    assert got["a"] == got["b"] == first["a"]
    assert got["c"] != first["a"] and ID.match(got["c"])
    assert split.counts == {"created": 0, "kept": 1, "split": 1, "merged": 0}
    reg = table(con, "child_registry").set_index("child_id")
    assert reg.loc[got["c"], "split_from"] == first["a"]
    assert reg.loc[got["c"], "status"] == reg.loc[first["a"], "status"] == "active"
    ev = split.events.iloc[0]
    assert (ev["event"], ev["child_id"], ev["other_child_id"], ev["n_records"]) == (
        "split", got["c"], first["a"], 1)  # fmt: skip


def test_absent_records_keep_their_assignment(con):
    first = ids(assign_ids(con, clusters("ab", "cd"), "r1"))
    # d left the snapshot; c now links to a and b. c's old child still holds d, so it is not
    # merged: c is logged as moved.
    moved = assign_ids(con, clusters("abc"), "r2")
    assert ids(moved) == {"a": first["a"], "b": first["a"], "c": first["a"]}
    rows = table(con, "record_assignment").set_index("record_key")
    assert rows.loc["d", "child_id"] == first["d"] and rows.loc["d", "run_id"] == "r1"
    reg = table(con, "child_registry").set_index("child_id")
    assert reg.loc[first["d"], "status"] == "active"
    ev = moved.events.iloc[0]
    assert (ev["event"], ev["child_id"], ev["other_child_id"], ev["n_records"]) == (
        "record_moved", first["a"], first["d"], 1)  # fmt: skip
    assert moved.counts["merged"] == 0


def test_retired_ids_are_never_reissued(con):
    first = ids(assign_ids(con, clusters("ab", "c"), "r1"))
    assign_ids(con, clusters("abc"), "r2")  # c's id retired as merged
    later = assign_ids(con, clusters("abc", "x", "y", "z"), "r3")
    new = {v for k, v in ids(later).items() if k in "xyz"}
    assert len(new) == 3 and not new & set(first.values())
    reg = table(con, "child_registry")
    assert reg["child_id"].is_unique and len(reg) == 5


def test_new_ids_skip_ids_already_issued(con, monkeypatch):
    issued = new_child_ids(con, 1).iloc[0]
    con.execute(
        "INSERT INTO child_registry VALUES ($1, 'merged', 'r0', 'r0', NULL, NULL, NULL, 1)",
        [issued],
    ).fetchall()
    # Make the first draw repeat the issued id: it must be rejected and redrawn.
    word = int("".join(f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.index(c):05b}" for c in issued[1:]), 2)
    draws, real, calls = iter([np.array([word], dtype=np.uint64).tobytes()]), os.urandom, []
    monkeypatch.setattr(
        registry.os, "urandom", lambda n: calls.append(n) or next(draws, None) or real(n)
    )
    fresh = new_child_ids(con, 1).tolist()
    assert len(fresh) == 1 and fresh[0] != issued and ID.match(fresh[0])
    assert calls == [8, 8]  # the colliding draw was thrown away and one more drawn


def test_duplicate_records_are_refused_and_nothing_is_written(con):
    bad = pd.concat([clusters("ab"), clusters("b", label="z")], ignore_index=True)
    with pytest.raises(ValueError, match="more than once"):
        assign_ids(con, bad, "r1")
    assert table(con, "record_assignment").empty and table(con, "child_registry").empty


def test_empty_clusters_are_a_no_op(con):
    empty = assign_ids(con, clusters(), "r1")
    assert empty.assignments.empty and empty.events.empty
    assert empty.counts == {"created": 0, "kept": 0, "split": 0, "merged": 0}


def test_largest_part_keeps_an_id_before_a_cluster_takes_it(con):
    first = ids(assign_ids(con, clusters("abcde", "f"), "r1"))
    # {a,b} leave X={a..e} and join Y={f}; X's larger part {c,d,e} keeps X, so {a,b,f} keeps Y.
    moved = assign_ids(con, clusters("abf", "cde"), "r2")
    got = ids(moved)
    assert got["c"] == first["a"] and got["a"] == got["f"] == first["f"]
    assert moved.counts == {"created": 0, "kept": 2, "split": 0, "merged": 0}
    ev = moved.events.iloc[0]
    assert (ev["event"], ev["child_id"], ev["other_child_id"], ev["n_records"]) == (
        "record_moved", first["f"], first["a"], 2)  # fmt: skip
