"""How often the standardised PID, sex and CE birth date agree with the generator's truth.

    .venv/bin/python bench/standard_agreement.py --store <store> --truth <generated>/truth

For each field, over the records that carry it (a PID unless the extract left it out: newborns
without one yet, ``pid_missing``; every record's sex and birth date), reports the share whose
standardised value equals the truth:

* ``all``: every such record;
* ``recoverable``: leaving out records the generator made unrecoverable on purpose (a mistyped
  or missing PID, a sibling's PID, an impossible or year-only date: ``UNRECOVERABLE`` tags);
* ``claimed``: records whose standardised value is present and, for PIDs, passes the check digit
  (what linkage trusts).

Writes JSON to stdout. Reads ``<store>/work/standard``; prints counts only, no values.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from pipelines.stages import read_standard
from pipelines.workarea import WorkArea
from sources.generator import UNRECOVERABLE

NOT_CARRIED = frozenset({"newborn_no_cid", "pid_missing"})


def agreement(store: Path, truth: Path) -> dict:
    persons = read_standard(WorkArea(store), "persons")
    records = pd.read_parquet(truth / "records.parquet")
    people = pd.read_parquet(truth / "persons.parquet")
    keys = ["source", "record_key", "month"]
    frame = persons.merge(records[[*keys, "person_id", "dirt"]], on=keys, how="inner")
    frame = frame.merge(people, on="person_id", suffixes=("", "_true"))
    tags = frame["dirt"].fillna("").str.split(";")
    lost = tags.map(lambda t: bool(UNRECOVERABLE.intersection(t)))
    born = pd.to_datetime(frame["birth_date"], errors="coerce").dt.normalize()
    truth_born = pd.to_datetime(frame["birth_date_true"]).dt.normalize()
    # A newborn not yet given a PID, or a record delivered without one, does not carry a PID.
    no_pid = tags.map(lambda t: bool(NOT_CARRIED.intersection(t)))
    fields = {
        "pid": (
            frame["pid"] == frame["pid_true"],
            frame["pid_true"].notna() & ~no_pid,
            frame["pid"],
        ),
        "sex": (frame["sex"] == frame["sex_true"], frame["sex_true"].notna(), frame["sex"]),
        "birth_date": (born == truth_born, truth_born.notna(), born),
    }
    out: dict = {"records": len(frame), "unrecoverable_records": int(lost.sum())}
    for name, (same, carried, value) in fields.items():
        same = same.fillna(False).astype(bool)
        claimed = carried & value.notna()
        if name == "pid":
            claimed &= frame["pid_status"] == "valid"
        out[name] = {
            "all": round(float(same[carried].mean()), 5),
            "recoverable": round(float(same[carried & ~lost].mean()), 5),
            "claimed": round(float(same[claimed].mean()), 5),
            "records_carrying": int(carried.sum()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--truth", required=True)
    args = parser.parse_args()
    print(json.dumps(agreement(Path(args.store), Path(args.truth)), indent=1))


if __name__ == "__main__":
    main()
