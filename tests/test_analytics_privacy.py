"""Analytics: exact indicators, no identifiers (the scan proves it), small counts suppressed,
and the data-sharing agreements filter what is published."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from pipelines.store.agreements import AGREEMENTS_DIR, AgreementError, load_agreements
from pipelines.store.analytics import build_analytics
from pipelines.store.privacy import scan_for_identifiers
from pipelines.store.publish import publish
from pipelines.store.sample import PIDS, pid_with_check, small_input

REPORTING = date(2024, 3, 31)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("privacy") / "store"
    publish(root, small_input(), "run-2", REPORTING)
    return root


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_analytics(small_input(), REPORTING)


def _names() -> set[str]:
    g = small_input().golden
    words = g["guardian_name"].str.split(" ").explode()
    return set(g["given_name"]) | set(g["family_name"]) | set(g["guardian_name"]) | set(words)


def _v(x):
    return None if pd.isna(x) else x


# child: age band, sex, district, sources, flags (learning, health, social, livelihood),
# not enrolled, high absence, poverty, vaccination incomplete, delay, under weight,
# open cases, latest risk colour, passbook problems
# fmt: off
EXPECTED = {
    "A": ("6-11", "F", "1011", "health_centres,schools", (True, False, False, True),
          False, True, True, None, None, False, 0, None, None),
    "B": ("6-11", "M", "1011", "cpis,schools", (True, False, True, False),
          True, None, None, None, None, False, 1, "red", None),
    "C": ("0-2", "F", "1011", "child_centres,health_centres", (True, True, False, False),
          False, None, None, True, True, True, 0, None, None),
    "D": ("12-14", "M", "1012", "epassbook", (True, False, False, True),
          True, None, True, None, None, None, 0, None, 2),
    "E": ("15-17", "F", "1012", "cpis", (False, False, False, False),
          False, None, None, None, None, None, 0, "green", None),
    "F": ("0-2", "M", "1013", "health_centres", (False, False, False, False),
          False, None, None, False, None, False, 0, None, None),
    # G is 10 y 2 m: past the 0-10 y weight-for-age table, so under_weight is unknown
    **{c: ("6-11", sex, "1013", "schools", (False, False, False, False),
           False, False, False, None, None, None if c == "G" else False, 0, None, None)
       for c, sex in zip("GHIJK", "FMFMF", strict=True)},
}
# fmt: on
FLAGS = ["flag_learning", "flag_health", "flag_social", "flag_livelihood"]
INDICATORS = [
    "not_enrolled_school_age",
    "high_absence",
    "poverty_screened",
    "incomplete_vaccination_for_age",
    "development_delay",
    "under_weight",
    "open_cases",
    "latest_risk_colour",
    "passbook_problems",
]


def test_child_indicators_exact(tables) -> None:
    child = tables["child"].set_index("child_id")
    got = {
        cid[1]: (
            r.age_band,
            r.sex,
            r.district_code,
            r.sources_present,
            tuple(bool(r[f]) for f in FLAGS),
            *(_v(r[i]) for i in INDICATORS),
        )
        for cid, r in child.iterrows()
    }
    assert got == EXPECTED


def test_events_are_keyed_by_child_and_month_only(tables) -> None:
    forbidden = {
        "record_key",
        "source",
        "pid",
        "gcode",
        "birth_date",
        "given_name",
        "family_name",
        "guardian_name",
        "guardian_phone",
        "address_text",
        "case_id",
        "event_key",
        "family_ref",
        "date_serv",
        "opened_at",
        "closed_at",
        "surveyed_at",
        "school_name",
        "income_per_month",
    }
    for name, df in tables.items():
        assert not forbidden & set(df.columns), name
        for col in df.columns:
            assert not pd.api.types.is_datetime64_any_dtype(df[col]), (name, col)
    # services dated by month; cases numbered within the child, not by the CPIS number
    assert tables["vaccination"]["service_month"].unique().tolist() == ["2024-03"]
    cases = tables["protection_case"].sort_values("child_id")
    cases = cases[["child_id", "case_no", "opened_month", "risk_colour"]]
    assert cases.values.tolist() == [
        ["CBBBBBBBBBBBB", 1, "2024-03", "red"],
        ["CEEEEEEEEEEEE", 1, "2024-01", "green"],
    ]
    assert tables["family_problem"][["child_id", "problem"]].sort_values(
        "problem"
    ).values.tolist() == [
        ["CDDDDDDDDDDDD", "DEBT"],
        ["CDDDDDDDDDDDD", "INCOME"],
    ]


def test_small_counts_suppressed(tables) -> None:
    summary = tables["district_summary"].set_index(["district_code", "dimension"])

    def cell(district, dimension):
        row = summary.loc[(district, dimension)]
        return _v(row["n"]), bool(row["suppressed"])

    assert cell("1011", "children") == (None, True)  # 3 children
    assert cell("1011", "flag_learning") == (None, True)  # A, B, C
    assert cell("1012", "flag_social") == (0, False)  # zero discloses no one
    assert cell("1013", "children") == (6, False)
    assert cell("1013", "flag_health") == (0, False)
    assert summary["n"].dropna().ge(5).sum() == 1  # the only count published besides zeros


def test_scan_finds_nothing_in_analytics_but_finds_identity(store: Path) -> None:
    names = _names()
    assert (
        scan_for_identifiers(store / "analytics.duckdb", store / "parquet" / "analytics", names)
        == []
    )
    hits = {
        (h.table, h.column, h.kind): h.count
        for h in scan_for_identifiers(store / "identity.duckdb", None, names)
    }
    assert hits[("golden_identity", "pid", "pid")] == 11
    assert hits[("golden_identity", "guardian_phone", "phone")] == 11
    assert hits[("golden_identity", "given_name", "name")] == 11
    assert hits[("source_xref", "record_key", "pid")] == 3  # health keys are HOSPCODE:PID
    # the quarantined value has a bad check digit: not a PID
    assert ("quarantine", "value", "pid") not in hits
    parquet = {
        (h.table, h.column, h.kind)
        for h in scan_for_identifiers(None, store / "parquet" / "identity", names)
    }
    assert ("golden_identity", "pid", "pid") in parquet


def test_scan_recognises_each_identifier_form(tmp_path: Path) -> None:
    pid = PIDS["A"]
    bad = pid[:-1] + str((int(pid[-1]) + 1) % 10)
    values = [
        pid,  # pid
        f"{pid[0]}-{pid[1:5]}-{pid[5:10]}-{pid[10:12]}-{pid[12]}",  # pid, dashed
        pid_with_check("012345678901"),  # pid, no civil status (0)
        bad,  # bad check: not a PID
        "G123456789012",  # gcode
        "โทร 081-234-5678",
        "+66 81 234 5678",
        "02-123-4567",  # phones
        "CAB234567234F",
        "2024-03",
        "10110003",  # ids, months, codes: clean
        "ฟ้าใส",
        "นาง สมศรี ใจดี",  # names (whole, word)
    ]
    db = tmp_path / "t.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("v", pd.DataFrame({"value": values}))
        con.execute("CREATE TABLE t AS SELECT * FROM v")
        con.execute(f"CREATE TABLE n AS SELECT {pid}::BIGINT AS number")
    hits = {
        (h.table, h.kind): h.count for h in scan_for_identifiers(db, None, {"ฟ้าใส", "ใจดี", "x"})
    }
    assert hits == {
        ("t", "pid"): 3,
        ("t", "gcode"): 1,
        ("t", "phone"): 3,
        ("t", "name"): 2,
        ("n", "pid"): 1,
    }


def _agreements_copy(tmp_path: Path, edit) -> Path:
    folder = Path(shutil.copytree(AGREEMENTS_DIR, tmp_path / "agreements"))
    for source, change in edit.items():
        path = folder / f"{source}.yaml"
        doc = yaml.safe_load(path.read_text())
        change(doc["fields"])
        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return folder


def test_agreements_filter_fields(tmp_path: Path) -> None:
    def schools(fields):
        del fields["school_enrolment"]["absent_days"]  # no longer shared
        fields["person"]["sex"]["publish"] = ["identity"]  # not for analysts
        fields["person"]["guardian_phone"]["publish"] = []  # shared for linkage only

    def epassbook(fields):
        fields["family_problem"]["problem"]["publish"] = []

    folder = _agreements_copy(tmp_path, {"schools": schools, "epassbook": epassbook})
    agreements = load_agreements(folder)
    t = build_analytics(small_input(), REPORTING, agreements)
    assert "absent_days" not in t["school_enrolment"].columns
    assert "poor" in t["school_enrolment"].columns
    assert not {"high_absence", "passbook_problems"} & set(t["child"].columns)
    assert "family_problem" not in t  # nothing left in it to publish
    # poverty still has the schools' equity-fund screening; D's passbook INCOME is gone
    child = t["child"].set_index("child_id")
    assert _v(child.loc["CDDDDDDDDDDDD", "poverty_screened"]) is None
    assert child.loc["CAAAAAAAAAAAA", "poverty_screened"]
    # sex came from schools for A and B (blanked), from child_centres for C (kept)
    assert child["sex"].isna().tolist()[:3] == [True, True, False]

    store = tmp_path / "store"
    publish(store, small_input(), "run-x", REPORTING, agreements=agreements)
    with duckdb.connect(str(store / "identity.duckdb"), read_only=True) as con:
        rows = dict(con.execute("SELECT child_id, guardian_phone FROM golden_identity").fetchall())
        sex = dict(con.execute("SELECT child_id, sex FROM golden_identity").fetchall())
    assert rows["CAAAAAAAAAAAA"] is None and rows["CCCCCCCCCCCCC"] == "+66812345678"
    assert sex["CAAAAAAAAAAAA"] == "F"  # identity is still permitted
    with duckdb.connect(str(store / "analytics.duckdb"), read_only=True) as con:
        cols = {r[0] for r in con.execute("DESCRIBE school_enrolment").fetchall()}
    assert "absent_days" not in cols


def test_source_without_agreement_is_refused(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(AGREEMENTS_DIR, tmp_path / "agreements"))
    (folder / "cpis.yaml").unlink()
    with pytest.raises(AgreementError, match="cpis"):
        build_analytics(small_input(), REPORTING, load_agreements(folder))
