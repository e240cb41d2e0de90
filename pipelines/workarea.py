"""Where a load keeps its files inside the store folder (no Dagster here).

```
<store>/raw/                      raw zone: every delivered row + provenance, bytes of deliveries
<store>/work/standard/<source>/<table>/month=<YYYYMM>.parquet   standardised tables per month
<store>/work/linkage/             model artefacts, linkage state (registry, review), scored pairs,
                                  linked records, name-key memo
<store>/work/golden/              golden record + provenance of the last run (Arrow IPC files)
<store>/versions/, current, identity.duckdb, analytics.duckdb, parquet/   the published store
```
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class WorkArea:
    """Paths of one store folder's working files."""

    store: Path

    @property
    def raw(self) -> Path:
        return self.store / "raw"

    @property
    def standard(self) -> Path:
        return self.store / "work" / "standard"

    @property
    def linkage(self) -> Path:
        return self.store / "work" / "linkage"

    @property
    def golden(self) -> Path:
        return self.store / "work" / "golden"

    @property
    def state_db(self) -> Path:
        """Durable linkage state (id registry, review decisions), promoted only by a publish."""
        return self.linkage / "state.duckdb"

    @property
    def next_state_db(self) -> Path:
        """The state a run is building; becomes `state_db` when its publish succeeds."""
        return self.linkage / "state.next.duckdb"

    def standard_file(self, source: str, table: str, month: str) -> Path:
        return self.standard / source / table / f"month={month}.parquet"

    def standard_files(self, source: str, table: str) -> list[Path]:
        return sorted((self.standard / source / table).glob("month=*.parquet"))

    def ensure(self) -> WorkArea:
        for p in (self.raw, self.standard, self.linkage, self.golden):
            p.mkdir(parents=True, exist_ok=True)
        return self


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write a Parquet file so that readers never see a half-written one."""
    _write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_table_atomic(table, path: Path) -> None:
    """Write an Arrow table as Parquet so that readers never see a half-written one."""
    import pyarrow.parquet as pq

    _write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def write_arrow_atomic(table, path: Path) -> None:
    """Write an Arrow table as an uncompressed Arrow IPC file, atomically.

    For work files that the next stage reads whole: it maps the file instead of decoding it
    (golden provenance at 1M children, 14M rows: written in 0.4 s and read at once, where
    Parquet took 3.3 s to write and 4.0 s to read).
    """
    import pyarrow.feather as feather

    _write_atomic(path, lambda tmp: feather.write_feather(table, tmp, compression="uncompressed"))


def read_arrow(path: Path):
    """An Arrow IPC file written by :func:`write_arrow_atomic`, memory-mapped."""
    import pyarrow.feather as feather

    return feather.read_table(path, memory_map=True)


def _write_atomic(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
