"""``generate()``: write every month's extracts into ``<out_dir>/incoming`` and truth beside it."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import centres, cpis, dates, epassbook, health, institutions, schools
from .dirt import UNRECOVERABLE, DirtRates
from .population import build_universe
from .records import month_view


@dataclass(frozen=True)
class GenerateResult:
    """Where the generator wrote, and how many rows per source (all months together)."""

    out_dir: Path
    incoming: Path
    truth_records: Path
    truth_persons: Path
    months: tuple[str, ...]
    counts: dict[str, int]
    files: tuple[Path, ...]
    seconds: float
    unrecoverable_share: float = field(default=0.0)


def _persons_truth(u) -> pd.DataFrame:
    p, fam = u.persons, u.fam
    fidx = p["fidx"].to_numpy()
    pid = p["pid"].to_numpy()
    return pd.DataFrame(
        {
            "person_id": "P" + pd.Series(np.arange(len(p))).astype(str).str.zfill(8),
            "family_id": fam["family_id"].to_numpy()[fidx],
            "twin_group": p["twin_group"].astype("str"),
            "pid": pd.Series(np.maximum(pid, 0)).astype(str).str.zfill(13).where(pid >= 0),
            "gcode": p["gcode"].astype("str"),
            "sex": p["sex"].astype("str"),
            "birth_date": dates.to_datetime(p["birth"].to_numpy()),
            "given_name": p["given"].astype("str"),
            "family_name": fam["family"].to_numpy()[fidx],
            "nickname": p["nickname"].astype("str"),
            "role": p["role"].astype("str"),
        }
    )


def generate(
    children: int,
    seed: int,
    out_dir: str | Path,
    months: int = 1,
    first_month: str = "202605",
    progress: Callable[[str], None] | None = None,
    *,
    rates: DirtRates | None = None,
    file_dirt: bool = False,
    overwrite: bool = False,
) -> GenerateResult:
    """Generate synthetic monthly extracts of the five agencies, with ground truth.

    Args:
        children: children living in Bangkok at the end of the first month.
        seed: everything is a deterministic function of the seed.
        out_dir: receives ``incoming/<source>/...`` (the contract layout) and ``truth/``.
        months: consecutive reporting months to write.
        first_month: first CE reporting month, ``YYYYMM``.
        progress: called with one-line progress messages.
        rates: row-level dirt rates (defaults: :class:`DirtRates`).
        file_dirt: also add file-level dirt (a header repeated mid-file in one school CSV).
        overwrite: replace existing ``incoming/`` and ``truth/`` folders under ``out_dir``.

    Returns:
        Paths, row counts per source and the share of records made unrecoverable.
    """
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    rates = rates or DirtRates()
    if children < 1 or months < 1:
        raise ValueError("children and months must be positive")
    out = Path(out_dir)
    incoming, truth_dir = out / "incoming", out / "truth"
    for folder in (incoming, truth_dir):
        if folder.exists() and any(folder.iterdir()):
            if not overwrite:
                raise FileExistsError(f"{folder} is not empty (pass overwrite=True)")
            shutil.rmtree(folder)
    truth_dir.mkdir(parents=True, exist_ok=True)
    month_ids = dates.month_list(first_month, months)
    u = build_universe(children, seed, month_ids, rates)
    institutions.assign(u)
    say(
        f"population: {u.n_children:,} children in {len(u.fam):,} families over {months} "
        f"month(s) ({time.perf_counter() - start:.1f}s)"
    )
    book, register = cpis.CaseBook(u), epassbook.Register(u)
    truth, files, counts = [], [], Counter()
    for m, month in enumerate(month_ids):
        mv = month_view(u, m)
        df, tr = schools.build(u, mv, rates)
        path = incoming / "schools" / f"bma_students_{month}.csv"
        schools.write(df, path, repeat_header=file_dirt and m == 0)
        files.append(path)
        truth.append(tr)
        df, tr = centres.build(u, mv, rates)
        path = incoming / "child_centres" / f"ccd_{month}.xlsx"
        centres.write(df, path, u, month)
        files.append(path)
        truth.append(tr)
        hc = health.build(u, mv, rates)
        health.write(hc, incoming / "health_centres", month)
        truth.append(hc["truth"])
        counts["health_epi"] += len(hc["EPI"])
        counts["health_nutrition"] += len(hc["NUTRITION"])
        for code in pd.unique(hc["PERSON"]["HOSPCODE"]):
            files += [
                incoming / "health_centres" / f"{code}_{k}_{month}.txt"
                for k in ("PERSON", "EPI", "NUTRITION")
            ]
        df, tr = cpis.build(u, book, mv, rates)
        path = incoming / "cpis" / f"cpis_cases_{month}.csv"
        cpis.write(df, path)
        files.append(path)
        truth.append(tr)
        lines, tr = epassbook.build(u, register, mv, rates)
        path = incoming / "epassbook" / f"epassbook_{month}.jsonl"
        epassbook.write(lines, path)
        files.append(path)
        truth.append(tr)
        counts["epassbook_families"] += len(lines)
        summary = ", ".join(
            f"{t['source'].iat[0] if len(t) else '?'} {len(t):,}" for t in truth[-5:]
        )
        say(f"month {month}: {summary} ({time.perf_counter() - start:.1f}s)")
    records = pd.concat(truth, ignore_index=True)
    records["is_child"] = records["is_child"].astype(bool)
    for col in ("source", "record_key", "month", "person_id", "family_id", "dirt"):
        records[col] = records[col].astype("str")
    counts.update(records["source"].value_counts().to_dict())
    rec_path, per_path = truth_dir / "records.parquet", truth_dir / "persons.parquet"
    records.to_parquet(rec_path, index=False)
    _persons_truth(u).to_parquet(per_path, index=False)
    pattern = "(?:^|;)(?:" + "|".join(sorted(UNRECOVERABLE)) + ")(?:;|$)"
    lost = records["dirt"].str.contains(pattern, regex=True).to_numpy()
    seconds = time.perf_counter() - start
    say(
        f"wrote {len(files)} files and truth for {len(records):,} records to {out} ({seconds:.1f}s)"
    )
    return GenerateResult(
        out,
        incoming,
        rec_path,
        per_path,
        tuple(month_ids),
        dict(counts),
        tuple(files),
        seconds,
        float(lost.mean()) if len(lost) else 0.0,
    )
