"""Synthetic publish inputs of any size, for timing :func:`~pipelines.store.publish.publish`.

Shapes follow the platform's figures: every child has 1-3 agency records (schools 45 %, health
centres 60 %, child centres 6 %, CPIS 3 %, family passbook 30 %), with event rows in proportion.
All values are random and made up. Vectorised throughout.

    .venv/bin/python -m pipelines.store.synthetic 1000000 /tmp/bench-store
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.store.analytics_spec import EPI_SCHEDULE
from pipelines.store.staging import PublishInput

SHARE = {
    "schools": 0.45,
    "health_centres": 0.60,
    "child_centres": 0.06,
    "cpis": 0.03,
    "epassbook": 0.30,
}
GIVEN = np.array(
    [
        "ฟ้าใส",
        "ก้องภพ",
        "น้ำฝน",
        "สมชาย",
        "มาลี",
        "ภูผา",
        "ชูใจ",
        "มานะ",
        "ดวงใจ",
        "ปิติ",
        "วีระ",
        "อรุณ",
        "จันทร์เพ็ญ",
        "กมล",
        "ศิริพร",
        "ธนา",
    ]
)
FAMILY = np.array(
    [
        "ใจดี",
        "มั่นคง",
        "แสงทอง",
        "รักเรียน",
        "ศรีสุข",
        "ทองคำ",
        "สุขใจ",
        "บุญมา",
        "พึ่งบุญ",
        "วงศ์ไทย",
        "ศักดิ์ดี",
        "เพชรงาม",
    ]
)


def _pids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` 13-digit PIDs with valid check digits (first digit 1)."""
    digits = rng.integers(0, 10, size=(n, 12))
    digits[:, 0] = 1
    check = (11 - (digits @ np.arange(13, 1, -1)) % 11) % 10
    whole = np.concatenate([digits, check[:, None]], axis=1)
    return (whole @ (10 ** np.arange(12, -1, -1, dtype=np.int64))).astype(str)


_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)


def _child_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct ids shaped like the registry's: ``C`` + 12 base32 characters."""
    digits = _B32[np.arange(n)[:, None] // 32 ** np.arange(11, -1, -1) % 32]
    scrambled = digits[:, rng.permutation(12)] if n else digits
    chars = np.ascontiguousarray(
        np.concatenate([np.full((n, 1), ord("C"), np.uint8), scrambled], axis=1)
    )
    return chars.view("S13").ravel().astype(str)


def _str(prefix: str, values) -> pd.Series:
    return prefix + pd.Series(values).astype(str)


def synthetic_input(n_children: int, seed: int = 0, month: str = "202403") -> PublishInput:
    """A consistent random world of ``n_children`` children delivered in ``month``."""
    rng = np.random.default_rng(seed)
    n = n_children
    child_id = pd.Series(_child_ids(rng, n))
    birth = pd.Timestamp("2024-03-31") - pd.to_timedelta(rng.integers(0, 18 * 365, n), unit="D")
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    district = (1001 + rng.integers(0, 50, n)).astype(str)
    golden = pd.DataFrame(
        {
            "child_id": child_id,
            "pid": _pids(rng, n),
            "pid_status": "valid",
            "given_name": GIVEN[rng.integers(0, len(GIVEN), n)],
            "family_name": FAMILY[rng.integers(0, len(FAMILY), n)],
            "sex": sex,
            "birth_date": birth.astype("datetime64[ms]"),
            "birth_date_precision": "day",
            "guardian_name": "สมศรี " + FAMILY[rng.integers(0, len(FAMILY), n)],
            "guardian_phone": _str("+668", rng.integers(10_000_000, 99_999_999, n)),
            "address_text": "12/3 ซ.ลาดกระบัง 24",
            "district_code": district,
            "first_month": month,
            "last_month": month,
        }
    )
    records = []
    for source, share in SHARE.items():
        idx = np.flatnonzero(rng.random(n) < share)
        key = _str(f"{source[:3].upper()}-", np.arange(len(idx)))
        records.append(
            pd.DataFrame(
                {
                    "source": source,
                    "record_key": key,
                    "child_id": child_id.to_numpy()[idx],
                    "_i": idx,
                }
            )
        )
    xref = pd.concat(records, ignore_index=True)
    linked = np.zeros(n, bool)
    linked[xref["_i"]] = True  # children drawn by no agency get a school record
    lonely = np.flatnonzero(~linked)
    xref = pd.concat(
        [
            xref,
            pd.DataFrame(
                {
                    "source": "schools",
                    "record_key": _str("SCH-X", np.arange(len(lonely))),
                    "child_id": child_id.to_numpy()[lonely],
                    "_i": lonely,
                }
            ),
        ],
        ignore_index=True,
    )
    counts = xref.groupby("_i").size().reindex(np.arange(n), fill_value=0).to_numpy()
    golden["n_records"] = counts
    golden["sources"] = xref.groupby("_i")["source"].agg(",".join).reindex(np.arange(n)).to_numpy()
    first = xref.drop_duplicates("_i").set_index("_i").reindex(np.arange(n))
    # one provenance row per non-null golden value, as linkage/golden.py writes them
    fields = [
        "pid",
        "pid_status",
        "given_name",
        "family_name",
        "sex",
        "birth_date",
        "birth_date_precision",
        "guardian_name",
        "guardian_phone",
        "address_text",
        "district_code",
    ]
    provenance = pd.DataFrame(
        {
            "child_id": np.tile(child_id.to_numpy(), len(fields)),
            "field": np.repeat(fields, n),
            "value_source": np.tile(first["source"].to_numpy(), len(fields)),
            "value_record_key": np.tile(first["record_key"].to_numpy(), len(fields)),
            "run_id": "bench",
            "rule": "trust",
        }
    )
    persons = xref[["source", "record_key"]].assign(
        month=month,
        family_ref=np.where(xref["source"] == "epassbook", _str("FP-", xref["_i"] // 3), None),
    )
    events = _events(rng, xref, month)
    return PublishInput(
        golden=golden,
        assignments=xref.drop(columns="_i").assign(match_probability=0.97),
        persons=persons,
        events=events,
        provenance=provenance,
        child_registry=pd.DataFrame(
            {"child_id": child_id, "status": "active", "created_run": "bench"}
        ),
        registry_events=pd.DataFrame(
            {"run_id": "bench", "event": "created", "child_id": child_id, "n_records": counts}
        ),
        load_log=pd.DataFrame(
            [
                {
                    "run_id": "bench",
                    "source": s,
                    "file": f"{s}/{s}_{month}.x",
                    "sha256": "0" * 64,
                    "month": month,
                    "rows_in": 1,
                    "standardised": 1,
                    "quarantined": 0,
                }
                for s in SHARE
            ]
        ),
    )


def _events(rng: np.random.Generator, xref: pd.DataFrame, month: str) -> dict[str, pd.DataFrame]:
    def of(source: str) -> pd.DataFrame:
        return xref.loc[xref["source"] == source, ["source", "record_key"]].reset_index(drop=True)

    school, centre, health, cpis = (
        of(s) for s in ("schools", "child_centres", "health_centres", "cpis")
    )
    vaccines = np.array(list(EPI_SCHEDULE))
    doses = health.loc[health.index.repeat(3)].reset_index(drop=True)
    serv = pd.Timestamp(f"{month[:4]}-{month[4:]}-05")
    families = xref.loc[xref["source"] == "epassbook", "_i"].to_numpy() // 3
    fam = pd.DataFrame({"source": "epassbook", "family_ref": _str("FP-", np.unique(families))})
    return {
        "school_enrolment": school.assign(
            month=month,
            school_code="10110003",
            grade="ป.2",
            absent_days=rng.integers(0, 30, len(school)),
            poor=np.where(rng.random(len(school)) < 0.2, "ใช่", "ไม่ใช่"),
            weight_kg=rng.normal(30, 8, len(school)).round(1),
            height_cm=130.0,
        ),
        "centre_enrolment": centre.assign(
            month=month,
            centre_name="ศูนย์ชุมชนร่มเย็น",
            development_result=np.where(rng.random(len(centre)) < 0.1, "สงสัยล่าช้า", "สมวัย"),
            weight_kg=rng.normal(14, 3, len(centre)).round(1),
            height_cm=95.0,
        ),
        "vaccination": doses.assign(
            month=month,
            event_key=None,
            date_serv=serv,
            vaccine=vaccines[rng.integers(0, len(vaccines), len(doses))],
        ),
        "growth": health.assign(
            month=month,
            event_key=None,
            date_serv=serv,
            weight_kg=rng.normal(12, 4, len(health)).round(1),
            height_cm=90.0,
        ),
        "protection_case": cpis.assign(
            month=month,
            case_id=cpis["record_key"],
            opened_at=serv,
            case_type="NEGLECT",
            risk_colour=np.array(["GREEN", "YELLOW", "RED"])[rng.integers(0, 3, len(cpis))],
            status=np.where(rng.random(len(cpis)) < 0.6, "OPEN", "CLOSED"),
            closed_at=pd.NaT,
        ),
        "family_problem": fam.assign(
            month=month,
            surveyed_at=serv,
            problem=np.array(["INCOME", "DEBT", "HOUSING"])[rng.integers(0, 3, len(fam))],
            income_per_month=8500,
        ),
    }


def main(argv: list[str]) -> None:
    from pipelines.store.publish import publish

    n, store = int(argv[0]), Path(argv[1])
    t0 = time.perf_counter()
    tables = synthetic_input(n)
    print(f"generated {n:,} children in {time.perf_counter() - t0:.1f} s")
    for run in ("bench-1", "bench-2"):
        t0 = time.perf_counter()
        result = publish(store, tables, run, "2024-03-31")
        rows = {k: v for k, v in result.rows.items() if v > 100_000}
        print(f"{run}: changed={result.changed} in {time.perf_counter() - t0:.1f} s; {rows}")
        print(f"    phases (s): {result.timings}")


if __name__ == "__main__":
    main(sys.argv[1:])
