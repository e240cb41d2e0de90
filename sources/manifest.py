"""The raw zone's manifest: one row per landed (or refused) delivery, kept in one Parquet file.

A health-centre month is ~150 small files, and every file asks the manifest whether its bytes were
landed before and then adds a row. Reading and rewriting the whole Parquet file for each of them
made landing quadratic in the number of files, so here:

* the file is read again only when it changed on disk (same size, mtime and inode: reuse);
* ``prior`` answers from an index by checksum and by file name, not by filtering frames;
* inside ``deferred()`` new rows are kept in memory and written in one locked
  read-append-write when the block ends (also when it ends with an error), so a month's landing
  writes the manifest once. A crash before that loses only manifest rows, never data: the raw
  tables are written under their checksum, and the files are landed again on the next run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

MANIFEST_COLUMNS = (
    "source",
    "table",
    "file",
    "extra",
    "sha256",
    "month",
    "rows",
    "quarantined",
    "run_id",
    "landed_at",
    "status",
    "problem",
    "notes",
)
_DTYPES = {c: "str" for c in MANIFEST_COLUMNS} | {
    "rows": "Int64",
    "quarantined": "Int64",
    "landed_at": "datetime64[us, UTC]",
}
# Manifest file path -> (size, mtime_ns, inode) and its frame, shared by every RawZone object.
_DISK_CACHE: dict[Path, tuple[tuple[int, int, int] | None, pd.DataFrame]] = {}


def empty_manifest() -> pd.DataFrame:
    """A manifest with no rows and the manifest's dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in MANIFEST_COLUMNS}).astype(_DTYPES)


class _Index:
    """For ``prior``: landed rows by checksum (in manifest order), latest checksum by file."""

    def __init__(self) -> None:
        self.by_sha: dict[str, list[tuple[str, bool]]] = {}
        self.latest: dict[str, tuple[pd.Timestamp, str]] = {}

    def add(self, sha: str, file: str, carrying: bool, landed_at: pd.Timestamp) -> None:
        self.by_sha.setdefault(sha, []).append((file, carrying))
        # The latest landing of a file wins; a tie keeps the later row, as a stable sort does.
        if file not in self.latest or not landed_at < self.latest[file][0]:
            self.latest[file] = (landed_at, sha)

    def add_frame(self, m: pd.DataFrame) -> None:
        landed = m[m["status"] == "landed"]
        carrying = (landed["rows"].fillna(0) + landed["quarantined"].fillna(0) > 0).to_numpy(bool)
        for sha, file, carry, at in zip(
            landed["sha256"], landed["file"], carrying, landed["landed_at"], strict=True
        ):
            self.add(sha, file, bool(carry), at)

    def add_entry(self, e: dict) -> None:
        if e["status"] != "landed":
            return
        rows, quarantined = (0 if pd.isna(v) else v for v in (e["rows"], e["quarantined"]))
        self.add(e["sha256"], e["file"], rows + quarantined > 0, pd.Timestamp(e["landed_at"]))


class Manifest:
    """The manifest file of one raw zone (see the module docstring)."""

    def __init__(self, path: Path, lock: Path) -> None:
        self.path, self.lock = Path(path), Path(lock)
        self._pending: list[dict] | None = None  # rows not yet written, inside ``deferred()``
        self._disk_seen: pd.DataFrame | None = None  # the disk frame the two below started from
        self._frame: pd.DataFrame | None = None  # disk + pending, built when asked for
        self._index: _Index | None = None  # disk + pending, kept up to date by ``append``

    def _disk(self) -> pd.DataFrame:
        try:
            st = os.stat(self.path)
            sig = (st.st_size, st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            sig = None
        cached = _DISK_CACHE.get(self.path)
        if cached is None or cached[0] != sig:
            cached = (sig, empty_manifest() if sig is None else pd.read_parquet(self.path))
            _DISK_CACHE[self.path] = cached
        return cached[1]

    def _sync(self) -> pd.DataFrame:
        disk = self._disk()
        if disk is not self._disk_seen:  # written since (by this or another process)
            self._disk_seen, self._frame, self._index = disk, None, None
        return disk

    def frame(self) -> pd.DataFrame:
        """Every row recorded so far, written or pending (a copy the caller may change)."""
        disk = self._sync()
        if self._frame is None:
            self._frame = _concat(disk, self._pending) if self._pending else disk
        return self._frame.copy(deep=False)

    def prior_rows(self) -> _Index:
        """The index ``RawZone.prior`` reads, for the rows recorded so far."""
        disk = self._sync()
        if self._index is None:
            index = _Index()
            index.add_frame(disk)
            for entry in self._pending or ():
                index.add_entry(entry)
            self._index = index
        return self._index

    def append(self, entry: dict) -> None:
        """Record one row: written now, or at the end of the ``deferred()`` block."""
        if self._pending is None:
            self._write([entry])
            return
        self._pending.append(entry)
        self._frame = None
        if self._index is not None:
            self._index.add_entry(entry)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Keep appended rows in memory and write them once when the block ends."""
        if self._pending is not None:  # already deferring: the outer block writes
            yield
            return
        self._pending, self._frame, self._index = [], None, None
        try:
            yield
        finally:
            pending, self._pending, self._frame, self._index = self._pending, None, None, None
            if pending:
                self._write(pending)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write(self, entries: list[dict]) -> None:
        with self._locked():
            current = self._disk()
            both = _concat(current, entries)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            both.to_parquet(tmp, index=False)
            os.replace(tmp, self.path)
        self._disk_seen = self._frame = self._index = None


def _concat(current: pd.DataFrame, entries: list[dict]) -> pd.DataFrame:
    new = pd.DataFrame(entries, columns=list(MANIFEST_COLUMNS)).astype(current.dtypes.to_dict())
    return pd.concat([current, new], ignore_index=True) if len(current) else new
