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
from pipelines.store.checks import PublishCheckError
from pipelines.store.loadlog import read_load_log, read_run_record
from pipelines.store.publish import current_version, list_versions, publish
from pipelines.store.sample import load_log, small_input


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
