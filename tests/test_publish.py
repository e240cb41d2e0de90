"""Publishing: layout, atomic switch, failure leaves the store untouched, unchanged re-runs.

Uses the small hand-made world of :mod:`pipelines.store.sample` (real DuckDB, no mocks except
the one injected failure the brief asks for).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import pipelines.store.publish as publish_mod
from pipelines.store import lineage
from pipelines.store.agreements import load_agreements
from pipelines.store.checks import PublishCheckError, check_version, content_hash
from pipelines.store.loadlog import read_load_log, read_run_record
from pipelines.store.publish import current_version, list_versions, publish
from pipelines.store.sample import accounting, load_log, small_input


def _published(root: Path) -> Path:
    """A store with run-1 (February) and run-2 (February + March) published."""
    publish(root, small_input(("202402",)), "run-1", "2024-02-29")
    publish(root, small_input(), "run-2", "2024-03-31")
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return _published(tmp_path_factory.mktemp("template") / "store")


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Path:
    """A private copy of the two-version store (links copied as links)."""
    return Path(shutil.copytree(template, tmp_path / "store", symlinks=True))


def _snapshot(root: Path, skip: tuple[str, ...] = ("lineage",)) -> dict[str, str]:
    """Every file's sha256 and every link's target under the store (``skip`` left out)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel.parts and rel.parts[0] in skip:
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                out[str(rel / name)] = "-> " + os.readlink(p)
            elif p.is_file():
                out[str(rel / name)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _count(path: Path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_layout_links_and_manifest(store: Path) -> None:
    # two versions, current -> the second; the stable names are links into current/
    assert [v.name for v in list_versions(store)] == ["000001-run-1", "000002-run-2"]
    assert os.readlink(store / "current") == "versions/000002-run-2"
    for name in ("identity.duckdb", "analytics.duckdb", "parquet"):
        assert os.readlink(store / name) == f"current/{name}"
    version = current_version(store)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["run_id"] == "run-2" and manifest["previous_version"] == "000001-run-1"
    # 11 children in March; 14 linked source records; identity is owner/group only
    assert manifest["rows"]["analytics.child"] == _count(store / "analytics.duckdb", "child") == 11
    assert _count(store / "identity.duckdb", "source_xref") == 14
    assert (store / "parquet" / "analytics" / "child.parquet").exists()
    assert (store / "parquet" / "identity" / "source_xref.parquet").exists()
    assert oct((version / "identity.duckdb").stat().st_mode & 0o777) == "0o640"
    assert all(a["success"] for a in manifest["checks"]["identity.source_xref"])
    assert not list((store / "versions").glob(".partial-*"))


def test_source_xref_keeps_the_run_that_first_published_a_link(store: Path) -> None:
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT source, months, run_id FROM source_xref "
            "WHERE child_id = 'CAAAAAAAAAAAA' ORDER BY source"
        ).fetchall()
    # schools record linked in run-1 and seen in both months; the health record came in run-2
    assert rows == [
        ("health_centres", ["202403"], "run-2"),
        ("schools", ["202402", "202403"], "run-1"),
    ]


def test_failure_after_writing_leaves_previous_store_unchanged(store: Path, monkeypatch) -> None:
    before = _snapshot(store)

    def broken_check(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(publish_mod, "check_version", broken_check)
    changed = small_input()
    changed.golden.loc[0, "district_code"] = "1050"  # new content, so a version is written
    with pytest.raises(RuntimeError, match="injected failure"):
        publish(store, changed, "run-3", "2024-03-31")
    # byte for byte the same published store, no partial version left behind
    assert _snapshot(store) == before
    assert not list((store / "versions").glob(".partial-*"))
    assert _count(store / "analytics.duckdb", "child") == 11
    # the failed run is still on record: START then FAIL, error type only (no data)
    events = [json.loads(x) for x in (store / "lineage" / "run-3.jsonl").read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["teumtem_run"]["error"] == "RuntimeError"
    for e in events:
        lineage.validate_event(e)


def test_privacy_check_fails_closed(store: Path) -> None:
    before = _snapshot(store)
    leaking = small_input()
    leaking.golden.loc[0, "district_code"] = "081-234-5678"  # a phone where a code belongs
    with pytest.raises(PublishCheckError, match="phone in child.district_code"):
        publish(store, leaking, "run-4", "2024-03-31")
    assert _snapshot(store) == before


def test_every_child_must_have_a_linked_record(store: Path) -> None:
    orphan = small_input()
    orphan.assignments = orphan.assignments[orphan.assignments["child_id"] != "CEEEEEEEEEEEE"]
    with pytest.raises(PublishCheckError, match="golden children without a source record"):
        publish(store, orphan, "run-5", "2024-03-31")
    assert current_version(store).name == "000002-run-2"


def test_identical_content_is_not_republished(store: Path) -> None:
    before = _snapshot(store, skip=("lineage", "runs"))
    again = small_input()
    again.load_log = load_log("run-6", ["202403"])
    result = publish(store, again, "run-6", "2024-03-31")
    assert (result.changed, result.version) == (False, "000002-run-2")
    assert _snapshot(store, skip=("lineage", "runs")) == before
    # only run metadata was added: the run record and its load-log rows
    assert read_run_record(store, "run-6")["status"] == "unchanged"
    assert sorted(read_load_log(store, "run-6")["file"])[:2] == [
        "child_centres/ccd_202403.xlsx",
        "cpis/cpis_cases_202403.csv",
    ]


def test_new_content_is_a_new_version_and_old_ones_are_pruned(store: Path) -> None:
    for i, district in enumerate(("1040", "1041"), start=7):
        tables = small_input()
        tables.golden.loc[0, "district_code"] = district
        result = publish(store, tables, f"run-{i}", "2024-03-31", keep_versions=2)
        assert result.changed and result.version == f"00000{i - 4}-run-{i}"
    # 000001 and 000002 pruned; the new current is the last one written
    assert [v.name for v in list_versions(store)] == ["000003-run-7", "000004-run-8"]
    with duckdb.connect(str(store / "analytics.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT district_code FROM child WHERE child_id = 'CAAAAAAAAAAAA'"
        ).fetchone() == ("1041",)
    # the load log of every run survives into the published identity database
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        runs = {r[0] for r in con.execute("SELECT DISTINCT run_id FROM load_log").fetchall()}
    assert {"run-1", "run-2"} <= runs


def test_reporting_date_accepts_text_and_dates() -> None:
    expected = date(2024, 3, 31)
    for value in ("2024-03-31", pd.Timestamp("2024-03-31"), datetime(2024, 3, 31, 12), expected):
        assert publish_mod._as_date(value) == expected


def test_store_library_does_not_import_dagster() -> None:
    code = (
        "import sys, pipelines.store, pipelines.store.publish, pipelines.store.audit, "
        "pipelines.store.synthetic; assert 'dagster' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def _rows(path: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


def test_quality_tables_add_up_and_carry_no_identifiers(store: Path) -> None:
    analytics = store / "analytics.duckdb"
    summary = _rows(
        analytics,
        "SELECT source, month, raw_table, rows_in, standardised, excluded_not_children, "
        "quarantined, quarantined_on_read, quarantined_on_conform, quarantined_on_validate "
        "FROM quality_summary ORDER BY ALL",
    )
    # every delivered table of every month, as the accounting of the small world says
    expected = (
        accounting(("202402", "202403"))
        .rename(columns={"table": "raw_table", "excluded": "excluded_not_children"})
        .sort_values(["source", "month", "raw_table"])
    )
    assert [(s, m, t) for s, m, t, *_ in summary] == list(
        expected[["source", "month", "raw_table"]].itertuples(index=False, name=None)
    )
    for row, (_, exp) in zip(summary, expected.iterrows(), strict=True):
        _, _, _, rows_in, std, excl, quar, q_read, q_conf, q_val = row
        assert (rows_in, std, excl) == tuple(
            exp[["rows_in", "standardised", "excluded_not_children"]]
        )
        assert quar == q_read + q_conf + q_val
        assert rows_in == std + excl + quar  # every delivered row accounted for
    # health centres in March: 12 + 9 + 4 rows in, 8 adults excluded, 2 quarantined
    assert _rows(
        analytics,
        "SELECT sum(rows_in), sum(excluded_not_children), sum(quarantined) FROM quality_summary "
        "WHERE source = 'health_centres' AND month = '202403'",
    ) == [(25, 8, 2)]
    assert _rows(analytics, "SELECT * FROM quarantine_by_rule") == [
        ("schools", "202403", "pid", "bad_check", "value", 1)
    ]
    # pairs come in either order from linkage: published once per unordered pair
    assert _rows(analytics, "SELECT * FROM link_quality ORDER BY ALL") == [
        ("child_centres", "health_centres", 1, 0.95),
        ("cpis", "schools", 1, 0.97),
        ("health_centres", "schools", 1, 0.99),
    ]
    # A (schools + health), B (schools + cpis), C (child centres + health) span two agencies
    assert _rows(analytics, "SELECT * FROM link_coverage ORDER BY source") == [
        ("child_centres", 1, 1, 1, 1.0),
        ("cpis", 2, 2, 1, 0.5),
        ("epassbook", 1, 1, 0, 0.0),
        ("health_centres", 3, 3, 2, 0.6667),
        ("schools", 7, 7, 2, 0.2857),
    ]
    for table in ("quality_summary", "quarantine_by_rule", "link_quality", "link_coverage"):
        assert (store / "parquet" / "analytics" / f"{table}.parquet").exists()
    manifest = json.loads((current_version(store) / "manifest.json").read_text())
    assert manifest["rows"]["analytics.quality_summary"] == 8
    assert all(a["success"] for a in manifest["checks"]["analytics.quality_summary"])


def test_link_quality_merges_both_orders_of_a_pair(tmp_path: Path) -> None:
    tables = small_input()
    tables.link_quality = pd.DataFrame(
        {
            "source_l": ["schools", "health_centres", "schools"],
            "source_r": ["health_centres", "schools", "schools"],
            "pairs": [3, 1, 2],
            "mean_probability": [0.9, 0.5, 0.99],
        }
    )
    publish(tmp_path / "store", tables, "run-q", "2024-03-31")
    # (3 * 0.9 + 1 * 0.5) / 4 = 0.8; a source with itself is a within-agency duplicate
    assert _rows(tmp_path / "store" / "analytics.duckdb", "SELECT * FROM link_quality") == [
        ("health_centres", "schools", 4, 0.8),
        ("schools", "schools", 2, 0.99),
    ]


def test_content_hash_taken_before_writing_is_the_written_versions(store: Path) -> None:
    version = current_version(store)
    manifest = json.loads((version / "manifest.json").read_text())
    digest, per_table = content_hash(version, load_agreements())
    assert (digest, per_table) == (manifest["content_hash"], manifest["table_hashes"])


def test_parquet_copy_must_hold_the_scanned_rows(store: Path, tmp_path: Path) -> None:
    version = Path(shutil.copytree(current_version(store), tmp_path / "v", symlinks=True))
    manifest = json.loads((version / "manifest.json").read_text())
    rows = {k: v for k, v in manifest["rows"].items() if k != "identity.lineage_events"}
    assert check_version(version, rows, set())  # as written: passes
    pq = version / "parquet" / "analytics" / "child.parquet"
    with duckdb.connect() as con:  # same row count, one district changed
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN child_id = 'CAAAAAAAAAAAA' THEN '1099' "
            f"ELSE district_code END AS district_code) FROM read_parquet('{pq}')) "
            f"TO '{pq}.new' (FORMAT parquet)"
        )
    os.replace(f"{pq}.new", pq)
    with pytest.raises(
        PublishCheckError, match="analytics.child: Parquet copy holds the same rows"
    ):
        check_version(version, rows, set())


def test_golden_value_kept_only_where_its_source_permits_it(tmp_path: Path) -> None:
    # G-codes are shared by schools only (agreements). B: schools + cpis, G: schools only,
    # A: schools + health, E: cpis only.
    tables = small_input()
    gcode = {c: f"G1000000000{i:02d}" for i, c in enumerate("BGAE")}
    tables.golden["gcode"] = tables.golden["child_id"].str[1].map(gcode)
    came_from = {"B": "schools", "E": "cpis"}  # A and G: no provenance row for the G-code
    tables.provenance = pd.concat(
        [
            tables.provenance,
            pd.DataFrame(
                {
                    "child_id": [f"C{c * 12}" for c in came_from],
                    "field": "gcode",
                    "value_source": list(came_from.values()),
                    "value_record_key": "k",
                    "run_id": "run-1",
                    "rule": "first",
                }
            ),
        ],
        ignore_index=True,
    )
    publish(tmp_path / "store", tables, "run-g", "2024-03-31")
    got = dict(
        _rows(
            tmp_path / "store" / "identity.duckdb",
            "SELECT child_id[2], gcode FROM golden_identity WHERE child_id[2] IN ('A','B','E','G')",
        )
    )
    # B: from schools although cpis, which may not share it, is linked too; E: from cpis;
    # G: no provenance, only schools linked; A: no provenance, health linked too
    assert got == {"B": gcode["B"], "E": None, "G": gcode["G"], "A": None}


def test_publish_without_golden_records_names_the_missing_file(tmp_path):
    from pipelines import stages
    from pipelines.workarea import WorkArea
    from sources.base import ExtractError

    work = WorkArea(tmp_path / "store").ensure()
    with pytest.raises(ExtractError, match=r"golden\.arrow: the golden records .* missing"):
        stages.publish(tmp_path / "incoming", work, "run-1")
    assert not (tmp_path / "store" / "current").exists()
