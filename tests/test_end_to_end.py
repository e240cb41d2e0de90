"""One in-process end-to-end load through the Dagster graph, on generated data with known truth."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.runner import evaluate_store, run_load
from sources.generator import generate

CHILDREN = 1500


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(CHILDREN, seed=7, out_dir=out, months=2)
    return out


@pytest.fixture(scope="module")
def month1(generated, tmp_path_factory) -> dict:
    """A load of month 1 only, loaded twice into the same store."""
    incoming = tmp_path_factory.mktemp("in1")
    for f in (generated / "incoming").rglob("*"):
        if f.is_file() and "202605" in f.name:
            dest = incoming / f.relative_to(generated / "incoming")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
    store = tmp_path_factory.mktemp("store")
    first = run_load(incoming, store, progress=lambda _: None)
    ids_first = _xref(store)
    version_first = (store / "current").resolve()
    second = run_load(incoming, store, progress=lambda _: None)
    return {
        "incoming": incoming,
        "store": store,
        "first": first,
        "second": second,
        "ids_first": ids_first,
        "ids_second": _xref(store),
        "version_first": version_first,
        "version_second": (store / "current").resolve(),
    }


def _xref(store: Path) -> pd.DataFrame:
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        return con.sql("select source, record_key, child_id from source_xref").df()


def test_load_publishes_identity_and_analytics(month1, generated):
    store = month1["store"]
    xref = month1["ids_first"]
    assert set(xref["source"]) == {
        "schools",
        "child_centres",
        "health_centres",
        "cpis",
        "epassbook",
    }
    assert not xref.duplicated(["source", "record_key"]).any()
    with duckdb.connect(str(store / "analytics.duckdb"), read_only=True) as con:
        children = con.sql("select count(*) from child").fetchall()[0][0]
        ids = set(con.sql("select child_id from child").df()["child_id"])
    assert ids == set(xref["child_id"])
    # one golden child per true child seen in month 1 (a few records may be quarantined)
    truth = pd.read_parquet(generated / "truth" / "records.parquet")
    true_children = truth[truth["is_child"] & (truth["month"] == "202605")]["person_id"].nunique()
    assert abs(children - true_children) <= 0.02 * true_children


def test_linkage_quality_against_truth(month1, generated):
    report = evaluate_store(month1["store"], generated / "truth")
    assert report.metrics["twins_merged"] == 0
    assert report.metrics["precision"] >= 0.98
    assert report.metrics["recall"] >= 0.95


def test_rerun_keeps_every_child_id_and_publishes_nothing_new(month1):
    merged = month1["ids_first"].merge(month1["ids_second"], on=["source", "record_key"])
    assert len(merged) == len(month1["ids_first"])
    assert (merged["child_id_x"] == merged["child_id_y"]).all()
    assert month1["version_first"] == month1["version_second"]


def test_analytics_hold_no_identifiers_of_the_generated_children(month1, generated):
    from pipelines.store.privacy import scan_for_identifiers

    store = month1["store"]
    persons = pd.read_parquet(generated / "truth" / "persons.parquet")
    names = set(persons["given_name"].dropna()) | set(persons["family_name"].dropna())
    assert len(names) > 100
    analytics = scan_for_identifiers(
        store / "analytics.duckdb", store / "parquet" / "analytics", names
    )
    assert analytics == []
    # the same scan does find them where they belong: the restricted identity database
    identity = scan_for_identifiers(store / "identity.duckdb", None, names)
    assert {h.kind for h in identity} >= {"pid", "name"}


def test_quality_tables_match_the_accounting_and_the_linked_pairs(month1):
    store = month1["store"]
    work = store / "work"
    with duckdb.connect(str(store / "analytics.duckdb"), read_only=True) as con:
        summary = con.sql("select * from quality_summary").df()
        pairs = con.sql("select * from link_quality").df()
        coverage = con.sql("select * from link_coverage").df()
        by_rule = con.sql("select * from quarantine_by_rule").df()
    # every delivered row is standardised, excluded (adults) or quarantined
    parts = summary[["standardised", "excluded_not_children", "quarantined"]].sum(axis=1)
    assert (summary["rows_in"] == parts).all()
    # and they are the standardisation accounting of the work area, table by table
    accounting = pd.concat(map(pd.read_parquet, work.glob("standard/*/accounting/*.parquet")))
    accounting = accounting.rename(columns={"table": "raw_table"})
    cols = ["source", "month", "raw_table", "rows_in", "standardised"]
    published = summary.rename(columns={"excluded_not_children": "excluded"})
    key = cols[:3]
    assert (
        published[[*cols, "excluded"]].sort_values(key).to_numpy().tolist()
        == accounting[[*cols, "excluded"]].sort_values(key).to_numpy().tolist()
    )
    assert set(summary["source"]) == set(month1["ids_first"]["source"])
    assert summary["month"].unique().tolist() == ["202605"]
    # quarantine counted by rule, entry for entry
    quarantine = pd.concat(map(pd.read_parquet, work.glob("standard/*/quarantine/*.parquet")))
    assert by_rule["entries"].sum() == len(quarantine) > 0
    # one row per unordered source pair the link stage counted, the same linked-pair total
    linked = pd.read_parquet(work / "linkage" / "pair_summary.parquet")
    unordered = {tuple(sorted(p)) for p in zip(linked["source_l"], linked["source_r"], strict=True)}
    assert set(zip(pairs["source_l"], pairs["source_r"], strict=True)) == unordered
    assert {("epassbook", "schools"), ("health_centres", "schools")} <= unordered
    assert pairs["linked_pairs"].sum() == linked["pairs"].sum()
    assert pairs["mean_probability"].between(0.5, 1).all()
    # link coverage counts every linked record once
    assert coverage.set_index("source")["records"].to_dict() == (
        month1["ids_first"]["source"].value_counts().to_dict()
    )
    assert (coverage["linked_to_other_source"] <= coverage["records"]).all()
