"""Made-up publish inputs: a small hand-made world for tests and a synthetic one for timing.

Every name, PID and phone here is invented. The small world (reporting date 2024-03-31):

=====  ==========  ===  ====  ===============================  ================================
child  born        sex  dist  agencies (months)                what the analytics should say
=====  ==========  ===  ====  ===============================  ================================
A      2016-05-10  F    1011  schools (02, 03), health (03)     6-11, high absence (20 d), poor
B      2016-01-02  M    1011  schools (02), cpis (03)           6-11, not on the 03 roster, open
                                                                 RED case
C      2022-06-15  F    1011  child_centres (03), health (03)   0-2, suspected delay, 8.0 kg at
                                                                 20 m (under weight), MMR2 /
                                                                 DTP4 / OPV4 missing
D      2010-03-01  M    1012  epassbook (03)                    12-14, not enrolled, INCOME+DEBT
E      2007-01-01  F    1012  cpis (03)                         15-17, closed GREEN case
F      2023-12-01  M    1013  health (03)                       0-2, doses due by 3 m all given
G-K    2014-2015   F/M  1013  schools (02, 03)                  6-11 (8-10 y), enrolled, no need
=====  ==========  ===  ====  ===============================  ================================

Month "02" files are loaded by run ``run-1``, month "03" files by run ``run-2``.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from pipelines.store.staging import PublishInput


def pid_with_check(first12: str) -> str:
    """A 13-digit PID with a valid check digit (``first12`` are the first twelve digits)."""
    x = sum(int(d) * (13 - i) for i, d in enumerate(first12)) % 11
    return first12 + str((11 - x) % 10)


def _cid(letter: str) -> str:
    return "C" + letter * 12


PIDS = {c: pid_with_check(f"11037012{i:04d}") for i, c in enumerate("ABCDEFGHIJK")}
_P = [  # child, born, sex, district, given, family, (source, record_key, months)
    (
        "A",
        "2016-05-10",
        "F",
        "1011",
        "ฟ้าใส",
        "ใจดี",
        [("schools", "10110003:0001", "23"), ("health_centres", "12345:" + PIDS["A"], "3")],
    ),
    (
        "B",
        "2016-01-02",
        "M",
        "1011",
        "ก้องภพ",
        "มั่นคง",
        [("schools", "10110003:0002", "2"), ("cpis", "CP-2024-000001", "3")],
    ),
    (
        "C",
        "2022-06-15",
        "F",
        "1011",
        "น้ำฝน",
        "แสงทอง",
        [("child_centres", "ศูนย์ชุมชนร่มเย็น:001", "3"), ("health_centres", "12345:" + PIDS["C"], "3")],
    ),
    ("D", "2010-03-01", "M", "1012", "สมชาย", "รักเรียน", [("epassbook", "FP-1012-000001:2", "3")]),
    ("E", "2007-01-01", "F", "1012", "มาลี", "ศรีสุข", [("cpis", "CP-2024-000002", "3")]),
    (
        "F",
        "2023-12-01",
        "M",
        "1013",
        "ภูผา",
        "ทองคำ",
        [("health_centres", "12345:" + PIDS["F"], "3")],
    ),
] + [
    (
        c,
        f"201{4 + i % 2}-0{i + 1}-15",
        "FM"[i % 2],
        "1013",
        name,
        "สุขใจ",
        [("schools", f"10130001:01{i}", "23")],
    )
    for i, (c, name) in enumerate(zip("GHIJK", ("ชูใจ", "มานะ", "ดวงใจ", "ปิติ", "วีระ"), strict=True))
]
MONTHS = {"2": "202402", "3": "202403"}


def small_input(months: tuple[str, ...] = ("202402", "202403")) -> PublishInput:
    """The small world as delivered up to and including ``months``."""
    persons, golden, prov = [], [], []
    for c, born, sex, dist, given, family, recs in _P:
        mine = [(s, k, m) for s, k, ms in recs for m in (MONTHS[x] for x in ms) if m in months]
        for s, k, m in mine:
            persons.append(
                {
                    "source": s,
                    "record_key": k,
                    "month": m,
                    "pid": PIDS[c],
                    "given_name": given,
                    "family_name": family,
                    "sex": sex,
                    "family_ref": "FP-1012-000001" if s == "epassbook" else None,
                }
            )
        if not mine:
            continue
        first = mine[0][0]
        golden.append(
            {
                "child_id": _cid(c),
                "pid": PIDS[c],
                "pid_status": "valid",
                "given_name": given,
                "family_name": family,
                "sex": sex,
                "birth_date": pd.Timestamp(born),
                "birth_date_precision": "day",
                "guardian_name": "สมศรี " + family,
                "guardian_phone": "+66812345678",
                "address_text": "12/3 ซ.ลาดกระบัง 24",
                "district_code": dist,
                "sources": ",".join(sorted({s for s, _, _ in mine})),
                "n_records": len({k for _, k, _ in mine}),
                "first_month": min(m for *_, m in mine),
                "last_month": max(m for *_, m in mine),
            }
        )
        for f in (
            "pid",
            "given_name",
            "family_name",
            "sex",
            "birth_date",
            "guardian_phone",
            "district_code",
        ):
            prov.append(
                {
                    "child_id": _cid(c),
                    "field": f,
                    "value_source": first,
                    "value_record_key": mine[0][1],
                    "run_id": "run-1",
                    "rule": "first",
                }
            )
    persons = pd.DataFrame(persons)
    xref = (
        persons[["source", "record_key"]]
        .drop_duplicates()
        .merge(
            pd.DataFrame(
                [
                    {"source": s, "record_key": k, "child_id": _cid(c)}
                    for c, *_, recs in _P
                    for s, k, _ in recs
                ]
            ),
            on=["source", "record_key"],
        )
    )
    return PublishInput(
        golden=pd.DataFrame(golden),
        assignments=xref.assign(match_probability=0.99),
        persons=persons,
        events=_events(months),
        provenance=pd.DataFrame(prov),
        quarantine=pd.DataFrame(
            [
                {
                    "source": "schools",
                    "record_key": "10110003:0099",
                    "month": months[-1],
                    "field": "pid",
                    "rule": "bad_check",
                    "value": "1103701234560",
                    "action": "value",
                    "run_id": "run-1",
                }
            ]
        ),
        load_log=load_log("run-2" if "202403" in months else "run-1", months[-1:]),
        quality=accounting(months),
        link_quality=pair_summary(months),
    )


def _events(months: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    school = [
        ("10110003:0001", "202402", 3, "ใช่"),
        ("10110003:0001", "202403", 20, "ใช่"),
        ("10110003:0002", "202402", 1, "ไม่ใช่"),
    ]
    school += [(f"10130001:01{i}", m, 0, "ไม่ใช่") for i in range(5) for m in MONTHS.values()]
    c_doses = [
        "BCG",
        "HBV1",
        "DTP-HB-HIB1",
        "OPV1",
        "DTP-HB-HIB2",
        "OPV2",
        "IPV",
        "DTP-HB-HIB3",
        "OPV3",
        "MMR1",
        "JE1",
    ]
    vacc = [("12345:" + PIDS["C"], v) for v in c_doses]
    vacc += [("12345:" + PIDS["F"], v) for v in ("BCG", "HBV1", "DTP-HB-HIB1", "OPV1")]
    vacc += [("12345:" + PIDS["A"], "DTP5")]
    ev = {
        "school_enrolment": pd.DataFrame(
            [
                {
                    "source": "schools",
                    "record_key": k,
                    "month": m,
                    "school_code": k[:8],
                    "school_name": "โรงเรียนวัดลาดกระบัง",
                    "grade": "ป.2",
                    "absent_days": a,
                    "poor": p,
                    "weight_kg": 25.0,
                    "height_cm": 125.0,
                }
                for k, m, a, p in school
            ]
        ),
        "centre_enrolment": pd.DataFrame(
            [
                {
                    "source": "child_centres",
                    "record_key": "ศูนย์ชุมชนร่มเย็น:001",
                    "month": "202403",
                    "centre_name": "ศูนย์ชุมชนร่มเย็น",
                    "development_result": "สงสัยล่าช้า",
                    "weight_kg": 8.0,
                    "height_cm": 80.0,
                }
            ]
        ),
        "vaccination": pd.DataFrame(
            [
                {
                    "source": "health_centres",
                    "record_key": k,
                    "month": "202403",
                    "event_key": f"{k}:{v}",
                    "date_serv": pd.Timestamp("2024-03-05"),
                    "vaccine": v,
                }
                for k, v in vacc
            ]
        ),
        "growth": pd.DataFrame(
            [
                {
                    "source": "health_centres",
                    "record_key": "12345:" + PIDS["F"],
                    "month": "202403",
                    "event_key": "g1",
                    "date_serv": pd.Timestamp("2024-03-05"),
                    "weight_kg": 5.9,
                    "height_cm": 60.0,
                }
            ]
        ),
        "protection_case": pd.DataFrame(
            [
                {
                    "source": "cpis",
                    "record_key": "CP-2024-000001",
                    "month": "202403",
                    "case_id": "CP-2024-000001",
                    "opened_at": pd.Timestamp("2024-03-02"),
                    "case_type": "NEGLECT",
                    "risk_colour": "แดง",
                    "status": "OPEN",
                    "closed_at": pd.NaT,
                },
                {
                    "source": "cpis",
                    "record_key": "CP-2024-000002",
                    "month": "202403",
                    "case_id": "CP-2024-000002",
                    "opened_at": pd.Timestamp("2024-01-10"),
                    "case_type": "POVERTY",
                    "risk_colour": "GREEN",
                    "status": "CLOSED",
                    "closed_at": pd.Timestamp("2024-03-20"),
                },
            ]
        ),
        "family_problem": pd.DataFrame(
            [
                {
                    "source": "epassbook",
                    "family_ref": "FP-1012-000001",
                    "month": "202403",
                    "surveyed_at": pd.Timestamp("2024-03-12"),
                    "problem": p,
                    "income_per_month": 4500,
                }
                for p in ("INCOME", "DEBT")
            ]
        ),
    }
    return {t: df[df["month"].isin(months)].reset_index(drop=True) for t, df in ev.items()}


_FILES = {
    "schools": "schools/bma_students_{m}.csv",
    "child_centres": "child_centres/ccd_{m}.xlsx",
    "health_centres": "health_centres/12345_{kind}_{m}.txt",
    "cpis": "cpis/cpis_cases_{m}.csv",
    "epassbook": "epassbook/epassbook_{m}.jsonl",
}


def load_log(run_id: str, months) -> pd.DataFrame:
    """Load-log rows of the small world's delivered files for ``months``."""
    rows = []
    for m in months:
        for s, pattern in _FILES.items():
            if s != "schools" and m == "202402":
                continue  # in month 02 only the schools roster was delivered
            kinds = ("PERSON", "EPI", "NUTRITION") if s == "health_centres" else ("",)
            for kind in kinds:
                f = pattern.format(m=m, kind=kind)
                rows.append(
                    {
                        "run_id": run_id,
                        "source": s,
                        "file": f,
                        "sha256": hashlib.sha256(f.encode()).hexdigest(),
                        "month": m,
                        "rows_in": 10,
                        "standardised": 9,
                        "quarantined": 1,
                        "started_at": pd.Timestamp(f"{m[:4]}-{m[4:]}-28 01:00"),
                        "finished_at": pd.Timestamp(f"{m[:4]}-{m[4:]}-28 01:05"),
                        "code_version": "0.1.0",
                        "model_version": "m1",
                        "model_sha256": "0" * 64,
                        "user": "officer1",
                    }
                )
    return pd.DataFrame(rows)


# Standardisation accounting of the small world: (source, raw table, standard table, rows in,
# standardised, excluded, quarantined on read, on conform, on validation).
_ACCOUNTING = [
    ("schools", "schools", "persons", 10, 9, 0, 0, 0, 1),
    ("child_centres", "child_centres", "persons", 3, 1, 0, 2, 0, 0),
    ("health_centres", "health_person", "persons", 12, 3, 8, 0, 0, 1),
    ("health_centres", "health_epi", "vaccination", 9, 9, 0, 0, 0, 0),
    ("health_centres", "health_nutrition", "growth", 4, 3, 0, 0, 1, 0),
    ("cpis", "cpis", "persons", 2, 2, 0, 0, 0, 0),
    ("epassbook", "epassbook", "persons", 5, 1, 4, 0, 0, 0),
]


def accounting(months) -> pd.DataFrame:
    """The standardisation accounting of ``months`` (in month 02 only schools delivered)."""
    cols = ["source", "table", "standard_table", "rows_in", "standardised", "excluded"]
    cols += ["quarantined_on_read", "quarantined_on_conform", "quarantined_on_validate"]
    rows = [
        dict(zip(cols, r, strict=True)) | {"month": m, "run_id": f"run-{int(m[-1]) - 1}"}
        for m in months
        for r in _ACCOUNTING
        if r[0] == "schools" or m != "202402"
    ]
    return pd.DataFrame(rows)


def pair_summary(months) -> pd.DataFrame:
    """Linked pairs per source pair as the link stage counts them: children A, B and C have two
    agencies' records, all delivered in March (a pair may come in either order)."""
    rows = [("schools", "health_centres", 1, 0.99), ("cpis", "schools", 1, 0.97)]
    rows += [("child_centres", "health_centres", 1, 0.95)]
    frame = pd.DataFrame(rows, columns=["source_l", "source_r", "pairs", "mean_probability"])
    return frame if "202403" in months else frame.iloc[0:0]
