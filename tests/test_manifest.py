"""The raw zone's manifest: rows appended inside ``deferred()`` are visible at once and written
in one locked read-append-write at the end of the block, also when it ends with an error."""

from __future__ import annotations

import pandas as pd
import pytest

from sources.manifest import MANIFEST_COLUMNS, Manifest


def _entry(file: str, sha: str, status: str = "landed", rows: int = 3) -> dict:
    e = dict.fromkeys(MANIFEST_COLUMNS)
    e.update(
        source="cpis",
        table="cases",
        file=file,
        sha256=sha,
        month="202605",
        rows=rows,
        quarantined=0,
        run_id="r1",
        landed_at=pd.Timestamp("2026-06-01T00:00:00Z"),
        status=status,
    )
    return e


def _on_disk(m: Manifest) -> list[str]:
    return pd.read_parquet(m.path)["file"].tolist() if m.path.exists() else []


def test_deferred_rows_are_seen_at_once_and_written_once(tmp_path):
    m = Manifest(tmp_path / "manifest.parquet", tmp_path / "manifest.lock")
    m.append(_entry("a.csv", "s1"))  # outside a block: written now
    assert _on_disk(m) == ["a.csv"]
    with m.deferred():
        m.append(_entry("b.csv", "s2"))
        with m.deferred():  # nested: the outer block writes
            m.append(_entry("c.csv", "s3", status="rejected"))
        assert _on_disk(m) == ["a.csv"]
        assert m.frame()["file"].tolist() == ["a.csv", "b.csv", "c.csv"]
        index = m.prior_rows()
        assert set(index.by_sha) == {"s1", "s2"}  # a rejected file is no prior landing
        assert index.latest["b.csv"][1] == "s2"
    assert _on_disk(m) == ["a.csv", "b.csv", "c.csv"]
    assert pd.read_parquet(m.path)["rows"].dtype == "Int64"


def test_an_error_inside_the_block_still_writes_its_rows(tmp_path):
    m = Manifest(tmp_path / "manifest.parquet", tmp_path / "manifest.lock")
    with pytest.raises(RuntimeError), m.deferred():
        m.append(_entry("a.csv", "s1"))
        raise RuntimeError("the third file failed")
    assert _on_disk(m) == ["a.csv"]


def test_rows_written_meanwhile_by_another_writer_are_kept(tmp_path):
    """Two loads (two processes, two objects) landing into one raw zone."""
    path, lock = tmp_path / "manifest.parquet", tmp_path / "manifest.lock"
    ours, theirs = Manifest(path, lock), Manifest(path, lock)
    with ours.deferred():
        ours.append(_entry("a.csv", "s1"))
        theirs.append(_entry("x.csv", "s9"))  # written while our block is open
        assert set(ours.frame()["file"]) == {"x.csv", "a.csv"}  # the file changed: re-read
    assert sorted(_on_disk(ours)) == ["a.csv", "x.csv"]
    assert set(theirs.prior_rows().by_sha) == {"s1", "s9"}
