"""Benchmark a monthly load: incremental linkage of month 2 against a full re-link.

    .venv/bin/python bench/incremental.py --children 100000 --out bench/results

Generates N children over two months, loads month 1, then loads month 2 twice from copies of
that store: once as a normal (incremental) load and once with ``full_relink=True``. Reports the
whole-load and per-stage seconds of both, how many records were scored as new and re-clustered,
whether the two stores group records identically, and how many month-1 records kept their
``child_id``. Writes ``<out>/incremental.json`` and ``<out>/incremental.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.runner import run_load
from sources.generator import generate

M1, M2 = "202605", "202606"
LINK, GOLDEN = "linkage/linked_records", "linkage/golden_child"


def _copy_month(generated: Path, month: str, incoming: Path) -> None:
    for f in generated.rglob(f"*{month}*"):
        dest = incoming / f.relative_to(generated)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)


def _xref(store: Path) -> pd.DataFrame:
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        return con.sql("select source, record_key, child_id from source_xref").df()


def _groups(xref: pd.DataFrame) -> set[frozenset[str]]:
    uid = xref["source"] + "|" + xref["record_key"]
    return {frozenset(g) for g in uid.groupby(xref["child_id"]).agg(frozenset)}


def _stage_seconds(summary) -> dict[str, float]:
    return {k: float(v.get("seconds", 0.0)) for k, v in summary.stages.items()}


def _laps(link: dict) -> dict[str, float]:
    return {k.removeprefix("seconds_"): v for k, v in link.items() if k.startswith("seconds_")}


def run(children: int, out: Path, seed: int) -> dict:
    work = out / f"incremental_n{children}"
    shutil.rmtree(work, ignore_errors=True)
    start = time.perf_counter()
    generate(children, seed=seed, out_dir=work / "gen", months=2)
    generated = time.perf_counter() - start
    in1, in12 = work / "in1", work / "in12"
    _copy_month(work / "gen" / "incoming", M1, in1)
    shutil.copytree(in1, in12)
    _copy_month(work / "gen" / "incoming", M2, in12)
    quiet = lambda _: None  # noqa: E731
    month1 = run_load(in1, work / "inc", progress=quiet)
    before = _xref(work / "inc")
    shutil.copytree(work / "inc", work / "full", symlinks=True)
    inc = run_load(in12, work / "inc", progress=quiet)
    full = run_load(in12, work / "full", progress=quiet, full_relink=True)
    a, b = _xref(work / "inc"), _xref(work / "full")
    kept = before.merge(a, on=["source", "record_key"], suffixes=("_1", "_2"))
    link_inc, link_full = inc.stages[LINK], full.stages[LINK]
    return {
        "children": children,
        "generate_seconds": round(generated, 1),
        "month1_load_seconds": round(month1.seconds, 1),
        "month2_incremental_load_seconds": round(inc.seconds, 1),
        "month2_full_relink_load_seconds": round(full.seconds, 1),
        "link_incremental_seconds": round(float(link_inc["seconds"]), 2),
        "link_full_relink_seconds": round(float(link_full["seconds"]), 2),
        "link_ratio": round(float(link_inc["seconds"]) / float(link_full["seconds"]), 3),
        "load_ratio": round(inc.seconds / full.seconds, 3),
        "records": int(link_inc["rows"]),
        "records_scored_as_new": int(link_inc["records_scored_as_new"]),
        "records_reclustered": int(link_inc["records_reclustered"]),
        "pairs_scored_incremental": int(link_inc["scored_pairs_this_run"]),
        "pairs_scored_full": int(link_full["scored_pairs_this_run"]),
        "same_grouping_as_full_relink": _groups(a) == _groups(b),
        "groups_differing": len(_groups(a) ^ _groups(b)),
        "month1_records_keeping_child_id": round(
            float((kept["child_id_1"] == kept["child_id_2"]).mean()), 6
        ),
        # golden records whose chosen values changed from month 1 (re-deliveries change none)
        "golden_changed_incremental": int(inc.stages[GOLDEN].get("golden_changed", -1)),
        "golden_changed_full_relink": int(full.stages[GOLDEN].get("golden_changed", -1)),
        "link_laps_incremental": _laps(link_inc),
        "link_laps_full_relink": _laps(link_full),
        "stages_incremental": _stage_seconds(inc),
        "stages_full_relink": _stage_seconds(full),
    }


def _markdown(r: dict) -> str:
    rows = [
        "| | incremental | full re-link |",
        "|---|---:|---:|",
        f"| month-2 load (s) | {r['month2_incremental_load_seconds']} | "
        f"{r['month2_full_relink_load_seconds']} |",
        f"| link stage (s) | {r['link_incremental_seconds']} | {r['link_full_relink_seconds']} |",
        f"| pairs scored | {r['pairs_scored_incremental']:,} | {r['pairs_scored_full']:,} |",
        f"| golden records changed | {r['golden_changed_incremental']:,} | "
        f"{r['golden_changed_full_relink']:,} |",
    ]
    laps_inc, laps_full = r["link_laps_incremental"], r["link_laps_full_relink"]
    for lap in laps_full:
        rows.append(f"| link: {lap} (s) | {laps_inc.get(lap, 0.0)} | {laps_full[lap]} |")
    return (
        f"# Incremental month-2 load, {r['children']:,} children ({r['records']:,} records)\n\n"
        + "\n".join(rows)
        + f"\n\nrecords scored as new {r['records_scored_as_new']:,}, re-clustered "
        f"{r['records_reclustered']:,}; same grouping as a full re-link: "
        f"{r['same_grouping_as_full_relink']} ({r['groups_differing']} groups differ); month-1 "
        f"records keeping their child_id: {r['month1_records_keeping_child_id']:.4%}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="bench/results")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.ERROR)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = run(args.children, out, args.seed)
    (out / "incremental.json").write_text(json.dumps(result, indent=1))
    (out / "incremental.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
