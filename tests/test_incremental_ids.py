"""Child ids across incremental loads, and reviewers' decisions applied on the next load."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from linkage.golden import GOLDEN_COLUMNS
from linkage.review import record_decision
from pipelines.runner import run_load
from sources.generator import generate

CHILDREN = 600
M1, M2 = "202605", "202606"


def _quiet(_: str) -> None:
    return None


def _xref(store: Path) -> pd.DataFrame:
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        return con.sql("select source, record_key, child_id from source_xref").df()


def _copy_month(generated: Path, month: str, incoming: Path) -> None:
    for f in generated.rglob(f"*{month}*"):
        dest = incoming / f.relative_to(generated)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)


def _partition(xref: pd.DataFrame) -> set[frozenset[str]]:
    uid = xref["source"] + "|" + xref["record_key"]
    return {frozenset(g) for g in uid.groupby(xref["child_id"]).agg(frozenset)}


@pytest.fixture(scope="module")
def loads(tmp_path_factory) -> dict:
    """Store A: month 1, then months 1+2; store B: month 1 only."""
    gen = tmp_path_factory.mktemp("inc_gen")
    generate(CHILDREN, seed=5, out_dir=gen, months=2)
    incoming = tmp_path_factory.mktemp("inc_in1")
    _copy_month(gen / "incoming", M1, incoming)
    both = tmp_path_factory.mktemp("inc_in12") / "incoming"
    shutil.copytree(incoming, both)
    _copy_month(gen / "incoming", M2, both)
    root = tmp_path_factory.mktemp("inc_stores")
    a, b = root / "a", root / "b"
    seconds = {}
    start = time.perf_counter()
    run_load(incoming, a, progress=_quiet)
    seconds["a_month1"] = time.perf_counter() - start
    a1 = _xref(a)
    start = time.perf_counter()
    run_load(incoming, b, progress=_quiet)
    seconds["b_month1"] = time.perf_counter() - start
    b1 = _xref(b)
    c = root / "c"
    shutil.copytree(b, c, symlinks=True)
    start = time.perf_counter()
    try:
        month2 = run_load(both, a, progress=_quiet)
        error = None
    except Exception as err:  # noqa: BLE001 - asserted in test_month1_ids_survive_month2_load
        error, month2 = err, None
    seconds["a_month2"] = time.perf_counter() - start
    start = time.perf_counter()
    full = run_load(both, c, progress=_quiet, full_relink=True)
    seconds["c_month2_full_relink"] = time.perf_counter() - start
    print(f"load seconds: {seconds}")
    link = "linkage/linked_records"
    return {
        "a1": a1,
        "a2": _xref(a),
        "error": error,
        "b1": b1,
        "b": b,
        "in1": incoming,
        "seconds": seconds,
        "c2": _xref(c),
        "gen": gen,
        "a": a,
        "link2": month2.stages[link] if month2 else {},
        "golden2": month2.stages["linkage/golden_child"] if month2 else {},
        "link_full": full.stages[link],
    }


def test_month2_links_incrementally(loads):
    link = loads["link2"]
    assert link["linkage_mode"] == "incremental"
    # Month 2 re-delivers the snapshot registers: only new or changed records are scored.
    assert 0 < link["records_scored_as_new"] < 0.2 * link["rows"]
    assert link["records_reclustered"] < 0.5 * link["rows"]
    assert link["scored_pairs_this_run"] < link["scored_pairs"]
    assert loads["link_full"]["linkage_mode"] == "full: asked for"
    assert loads["link_full"]["records_scored_as_new"] == loads["link_full"]["rows"]


def test_snapshot_registers_mark_children_who_left(loads):
    """A school roster record missing from month 2's roster is kept, linked and marked left."""
    with duckdb.connect(str(loads["a"] / "identity.duckdb"), read_only=True) as con:
        xref = con.sql(
            "select source, record_key, child_id, snapshot_status, left_after_month, months"
            " from source_xref"
        ).df()
    truth = pd.read_parquet(loads["gen"] / "truth" / "records.parquet")
    months = truth.groupby(["source", "record_key"])["month"].agg(set).reset_index()
    gone = months[months["month"].map(lambda m: m == {M1})]
    for source in ("schools", "child_centres"):
        expected = set(gone.loc[gone["source"] == source, "record_key"])
        mine = xref[xref["source"] == source]
        left = set(mine.loc[mine["snapshot_status"] == "left", "record_key"])
        assert left == expected & set(mine["record_key"]), source
        assert (mine.loc[mine["snapshot_status"] == "left", "left_after_month"] == M1).all()
        assert mine["child_id"].notna().all()
        current = mine[mine["snapshot_status"] == "current"]
        assert current["months"].map(lambda m: M2 in list(m)).all()
    assert len(left) > 0 or len(expected) == 0
    assert xref.loc[xref["source"].isin(["cpis", "epassbook"]), "snapshot_status"].isna().all()


def test_incremental_link_equals_full_relink(loads):
    """Scoring only new records and re-clustering what they touch groups records exactly as a
    full re-link of both months does."""
    assert _partition(loads["a2"]) == _partition(loads["c2"])


def test_full_relink_keeps_month1_ids(loads):
    merged = loads["b1"].merge(loads["c2"], on=["source", "record_key"], suffixes=("_1", "_2"))
    assert len(merged) == len(loads["b1"])
    assert float((merged["child_id_1"] == merged["child_id_2"]).mean()) >= 0.99


def test_month1_ids_survive_month2_load(loads):
    assert loads["error"] is None
    a1, a2 = loads["a1"], loads["a2"]
    merged = a1.merge(a2, on=["source", "record_key"], how="left", suffixes=("_1", "_2"))
    assert merged["child_id_2"].notna().all()  # no month-1 record lost
    share = float((merged["child_id_1"] == merged["child_id_2"]).mean())
    print(f"month-1 records keeping their child_id after month 2: {share:.4%} of {len(merged)}")
    assert share >= 0.99
    assert len(a2) > len(a1)


def test_fresh_month1_load_groups_records_the_same_way(loads):
    a1, b1 = loads["a1"], loads["b1"]
    assert len(a1) == len(b1)
    assert _partition(a1) == _partition(b1)
    # ids are drawn at random per store: the same grouping, different ids
    assert set(a1["child_id"]).isdisjoint(set(b1["child_id"]))


def _uid(row: pd.Series) -> str:
    return f"{row['source']}|{row['record_key']}"


def _decide(store: Path, left: str, right: str, decision: str) -> None:
    with duckdb.connect(str(store / "work" / "linkage" / "state.duckdb")) as con:
        record_decision(con, left, right, decision, "tester", "test")


def _child(xref: pd.DataFrame, uid: str) -> str:
    key = xref["source"] + "|" + xref["record_key"]
    return str(xref.loc[key == uid, "child_id"].iloc[0])


@pytest.fixture(scope="module")
def reviewed(loads, tmp_path_factory) -> dict:
    """A copy of store B: a 'same' decision and a reload, then a 'different' one and a reload."""
    store = tmp_path_factory.mktemp("inc_review") / "store"
    shutil.copytree(loads["b"], store, symlinks=True)
    xref = loads["b1"]
    sizes = xref.groupby("child_id")["record_key"].transform("size")
    singles = xref[sizes == 1]
    school = singles[singles["source"] == "schools"].iloc[0]
    health = singles[singles["source"] == "health_centres"].iloc[0]
    same = (_uid(school), _uid(health))
    assert _child(xref, same[0]) != _child(xref, same[1])
    _decide(store, *same, "same")
    start = time.perf_counter()
    run_load(loads["in1"], store, progress=_quiet)
    seconds = {"after_same": time.perf_counter() - start}
    after_same = _xref(store)
    # a child of exactly two records, neither of them the pair just joined
    two = after_same[after_same.groupby("child_id")["record_key"].transform("size") == 2]
    two = two[~(two["source"] + "|" + two["record_key"]).isin(same)]
    pair_child = two["child_id"].iloc[0]
    members = two[two["child_id"] == pair_child]
    different = (_uid(members.iloc[0]), _uid(members.iloc[1]))
    _decide(store, *different, "different")
    start = time.perf_counter()
    run_load(loads["in1"], store, progress=_quiet)
    seconds["after_different"] = time.perf_counter() - start
    print(f"review reload seconds: {seconds}")
    return {
        "same": same,
        "different": different,
        "before": xref,
        "after_same": after_same,
        "after_different": _xref(store),
    }


def test_same_decision_joins_two_children(reviewed):
    left, right = reviewed["same"]
    assert _child(reviewed["after_same"], left) == _child(reviewed["after_same"], right)
    assert _child(reviewed["after_different"], left) == _child(reviewed["after_different"], right)


def test_different_decision_splits_a_child(reviewed):
    left, right = reviewed["different"]
    assert _child(reviewed["after_same"], left) == _child(reviewed["after_same"], right)
    assert _child(reviewed["after_different"], left) != _child(reviewed["after_different"], right)


def test_review_reloads_lose_no_record(reviewed):
    keys = ["source", "record_key"]
    for name in ("after_same", "after_different"):
        got = reviewed[name].sort_values(keys)[keys].reset_index(drop=True)
        assert got.equals(reviewed["before"].sort_values(keys)[keys].reset_index(drop=True)), name


def test_golden_records_change_only_where_records_changed(loads):
    """Month 2 re-delivers the school roster and the registers unchanged: a child's golden
    record changes only if one of its records changed (or its records were re-clustered), not
    because an agency re-delivered an old value (recency is ``content_since``)."""
    versions = sorted(p for p in (loads["a"] / "versions").iterdir() if p.name[0].isdigit())
    fields = [
        c for c in GOLDEN_COLUMNS if c not in ("child_id", "sources", "n_records")
        and not c.endswith("_month")
    ]  # fmt: skip
    differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in fields)
    with duckdb.connect() as con:
        for name, version in (("a", versions[0]), ("b", versions[-1])):
            con.execute(f"ATTACH '{version / 'identity.duckdb'}' AS {name} (READ_ONLY)")
        changed, kept = con.execute(f"""SELECT count(*) FILTER (WHERE {differs}), count(*)
            FROM a.golden_identity a JOIN b.golden_identity b USING (child_id)""").fetchone()
    assert len(versions) >= 2 and kept > 0
    assert changed <= loads["link2"]["records_reclustered"], (changed, kept)
    # The golden stage reports the same count to the data officer (against its last build).
    golden = loads["golden2"]
    assert golden["golden_changed"] == changed
    assert golden["golden_unchanged"] == kept - changed
    assert golden["golden_new"] > 0


def test_golden_first_month_is_the_first_delivery_of_any_record(loads):
    with duckdb.connect(str(loads["a"] / "identity.duckdb"), read_only=True) as con:
        wrong, children = con.execute("""SELECT count(*) FILTER (WHERE g.first_month <> x.m),
                count(*) FROM golden_identity g JOIN (SELECT child_id, min(first_month) AS m
                FROM source_xref GROUP BY 1) x USING (child_id)""").fetchone()
        earliest = con.execute("SELECT min(first_month) FROM golden_identity").fetchone()[0]
    assert children > 0 and wrong == 0
    assert earliest == M1


def test_three_monthly_loads_equal_one_load_of_all_three_months(tmp_path):
    """Months loaded one by one (incremental linkage, golden values reused for unchanged
    children, content_since from the history) publish the same children and the same golden
    records as one load of all three months."""
    months = ("202605", "202606", "202607")
    gen = tmp_path / "gen"
    generate(CHILDREN, seed=11, out_dir=gen, months=3)
    incoming, all_months = tmp_path / "in", tmp_path / "all"
    for month in months:
        _copy_month(gen / "incoming", month, all_months)
    reused = []
    for month in months:
        _copy_month(gen / "incoming", month, incoming)
        summary = run_load(incoming, tmp_path / "monthly", progress=_quiet)
        reused.append(summary.stages["linkage/golden_child"]["golden_reused"])
    run_load(all_months, tmp_path / "once", progress=_quiet)
    a, b = _xref(tmp_path / "monthly"), _xref(tmp_path / "once")
    assert _partition(a) == _partition(b)
    assert reused[0] == 0 and reused[1] > 0 and reused[2] > 0
    with duckdb.connect() as con:
        for name in ("monthly", "once"):
            con.execute(f"ATTACH '{tmp_path / name / 'identity.duckdb'}' AS {name} (READ_ONLY)")
        differs = " OR ".join(f"m.{c} IS DISTINCT FROM o.{c}" for c in GOLDEN_COLUMNS[1:])
        matched, different = con.execute(f"""
            WITH pairs AS (SELECT DISTINCT x.child_id AS a, y.child_id AS b
                           FROM monthly.source_xref x JOIN once.source_xref y
                           USING (source, record_key))
            SELECT count(*), count(*) FILTER (WHERE {differs}) FROM pairs
            JOIN monthly.golden_identity m ON m.child_id = pairs.a
            JOIN once.golden_identity o ON o.child_id = pairs.b""").fetchone()
    assert matched == len(_partition(a)) and different == 0
