"""The synthetic extract generator writes the contract's five layouts, with truth that matches."""

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sources.generator import UNRECOVERABLE, generate
from sources.generator.rng import pid_is_valid

MONTHS = ("202605", "202606")
# Headers copied from shared/contracts/extracts.md (not imported from the generator on purpose).
SCHOOL_HEADER = [
    "รหัสโรงเรียน",
    "ชื่อโรงเรียน",
    "เลขประจำตัวนักเรียน",
    "เลขประจำตัวประชาชน",
    "คำนำหน้าชื่อ",
    "ชื่อ",
    "นามสกุล",
    "ชื่อภาษาอังกฤษ",
    "นามสกุลภาษาอังกฤษ",
    "เพศ",
    "วันเกิด",
    "ชั้น",
    "บ้านเลขที่",
    "ถนน/ซอย",
    "แขวง",
    "เขต",
    "ชื่อผู้ปกครอง",
    "ความเกี่ยวข้อง",
    "โทรศัพท์ผู้ปกครอง",
    "น้ำหนัก",
    "ส่วนสูง",
    "วันขาดเรียนสะสม",
    "นักเรียนยากจน",
]
CENTRE_HEADER = [
    "ลำดับ",
    "เลขทะเบียน",
    "ชื่อ-สกุล",
    "ชื่อเล่น",
    "วันเกิด",
    "เลขประจำตัวประชาชน",
    "ชื่อผู้ปกครอง",
    "เบอร์โทร",
    "ที่อยู่",
    "น้ำหนัก",
    "ส่วนสูง",
    "ผลประเมินพัฒนาการ",
]
PERSON_HEADER = (
    "HOSPCODE|CID|PID|HN|PRENAME|NAME|LNAME|SEX|BIRTH|MOTHER|FATHER|HOUSE_NO|ROAD|"
    "TAMBON|TYPEAREA|MOBILE|D_UPDATE"
)
EPI_HEADER = "HOSPCODE|PID|DATE_SERV|VACCINETYPE"
NUTRITION_HEADER = "HOSPCODE|PID|DATE_SERV|WEIGHT|HEIGHT"
CPIS_HEADER = [
    "case_id",
    "opened_at",
    "child_cid",
    "child_name",
    "sex",
    "birth_date",
    "age_years",
    "district_code",
    "address_text",
    "case_type",
    "risk_level",
    "status",
    "closed_at",
    "guardian_name",
    "guardian_phone",
]
FAMILY_KEYS = {
    "family_id",
    "surveyed_at",
    "address",
    "phone",
    "income_per_month",
    "problems",
    "members",
}
ADDRESS_KEYS = {"house_no", "soi", "road", "subdistrict_code", "district_code"}
MEMBER_KEYS = {
    "member_no",
    "cid",
    "title",
    "first_name",
    "last_name",
    "gender",
    "birth_date",
    "relation",
    "disability",
}
VACCINES = {
    "BCG",
    "HBV1",
    "DTP-HB-HIB1",
    "DTP-HB-HIB2",
    "DTP-HB-HIB3",
    "OPV1",
    "OPV2",
    "OPV3",
    "IPV",
    "MMR1",
    "MMR2",
    "JE1",
    "JE2",
    "DTP4",
    "OPV4",
    "DTP5",
    "OPV5",
    "ROTA1",
    "ROTA2",
}
PID_TAGS = {"pid_typo", "pid_swap", "pid_missing", "pid_sibling"}
DATE_TAGS = {"be_ce_swap", "dm_swap", "impossible_date"}
THAI_TO_ARABIC = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    result = generate(2000, seed=7, out_dir=out, months=2)
    records = pd.read_parquet(result.truth_records)
    persons = pd.read_parquet(result.truth_persons)
    return out / "incoming", result, records, persons


def _schools(incoming: Path, month: str) -> pd.DataFrame:
    return pd.read_csv(
        incoming / "schools" / f"bma_students_{month}.csv",
        encoding="cp874",
        dtype=str,
        keep_default_na=False,
    )


def _person_files(incoming: Path, kind: str, month: str) -> dict[str, Path]:
    return {p.name[:5]: p for p in (incoming / "health_centres").glob(f"*_{kind}_{month}.txt")}


def test_files_have_the_contract_names(gen):
    incoming, result, _, _ = gen
    name = re.compile(r"^\d{5}_(PERSON|EPI|NUTRITION)_(\d{6})\.txt$")
    for month in MONTHS:
        for rel in (
            f"schools/bma_students_{month}.csv",
            f"child_centres/ccd_{month}.xlsx",
            f"cpis/cpis_cases_{month}.csv",
            f"epassbook/epassbook_{month}.jsonl",
        ):
            assert (incoming / rel).is_file(), rel
        codes = {k: set(_person_files(incoming, k, month)) for k in ("PERSON", "EPI", "NUTRITION")}
        assert codes["PERSON"] and codes["PERSON"] == codes["EPI"] == codes["NUTRITION"]
    health = list((incoming / "health_centres").iterdir())
    assert all(name.match(p.name) and name.match(p.name).group(2) in MONTHS for p in health)
    every = {p for p in incoming.rglob("*") if p.is_file()}
    assert every == set(result.files)
    assert sorted(p.name for p in incoming.iterdir()) == sorted(
        ["schools", "child_centres", "health_centres", "cpis", "epassbook"]
    )
    assert not any((result.out_dir / "truth").glob("*.csv"))  # truth lives outside incoming


def test_schools_csv_is_windows_874_with_the_contract_header(gen):
    incoming, *_ = gen
    raw = (incoming / "schools" / f"bma_students_{MONTHS[0]}.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw.decode("cp874"))))
    assert rows[0] == SCHOOL_HEADER
    assert len(rows) > 500 and all(len(r) == len(SCHOOL_HEADER) for r in rows[1:])
    df = _schools(incoming, MONTHS[0])
    assert df["รหัสโรงเรียน"].str.fullmatch(r"10\d{6}").all()
    assert set(df["เพศ"]) == {"ชาย", "หญิง"}
    assert df["ชั้น"].str.fullmatch(r"อ\.[1-3]|ป\.[1-6]|ม\.[1-3]").all()
    assert (df["รหัสโรงเรียน"] + ":" + df["เลขประจำตัวนักเรียน"]).is_unique


def test_health_files_have_the_contract_headers(gen):
    incoming, *_ = gen
    month = MONTHS[0]
    for kind, header in (
        ("PERSON", PERSON_HEADER),
        ("EPI", EPI_HEADER),
        ("NUTRITION", NUTRITION_HEADER),
    ):
        for code, path in _person_files(incoming, kind, month).items():
            lines = path.read_text(encoding="utf-8").splitlines()
            assert lines[0] == header, path.name
            width = header.count("|") + 1
            assert all(line.count("|") + 1 == width for line in lines[1:])
            assert all(line.startswith(code + "|") for line in lines[1:])
    epi = pd.concat(
        [pd.read_csv(p, sep="|", dtype=str) for p in _person_files(incoming, "EPI", month).values()]
    )
    assert len(epi) > 0 and set(epi["VACCINETYPE"]) <= VACCINES
    assert epi["DATE_SERV"].str.startswith(month).all()  # CE dates inside the month


def test_child_centre_workbook_has_one_sheet_per_centre(gen):
    incoming, _, records, _ = gen
    month = MONTHS[0]
    wb = openpyxl.load_workbook(incoming / "child_centres" / f"ccd_{month}.xlsx")
    keys = records.query("source == 'child_centres' and month == @month")["record_key"]
    centres = set(keys.str.rsplit(":", n=1).str[0])
    assert set(wb.sheetnames) == centres
    seen = set()
    for ws in wb.worksheets:
        assert len(ws.title) <= 31 and not set(ws.title) & set("[]:*?/\\")
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0].startswith("ศูนย์พัฒนาเด็กก่อนวัยเรียน")
        assert rows[1][0].startswith("ข้อมูล ณ เดือน")
        assert {str(r) for r in ws.merged_cells.ranges} == {"A1:L1", "A2:L2"}
        assert list(rows[2]) == CENTRE_HEADER
        children = rows[3:-1]
        assert rows[-1][0] == f"รวม {len(children)} คน"
        assert [r[0] for r in children] == list(range(1, len(children) + 1))
        seen |= {f"{ws.title}:{r[1]}" for r in children}
    assert seen == set(keys)


def test_cpis_is_utf8_with_bom_and_epassbook_is_json_lines(gen):
    incoming, *_ = gen
    raw = (incoming / "cpis" / f"cpis_cases_{MONTHS[0]}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    cpis = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str)
    assert list(cpis.columns) == CPIS_HEADER
    assert cpis["case_id"].str.fullmatch(r"CP-\d{4}-\d{6}").all()
    assert (cpis["birth_date"].isna() == cpis["age_years"].notna()).all()
    lines = (incoming / "epassbook" / f"epassbook_{MONTHS[0]}.jsonl").read_text("utf-8")
    docs = [json.loads(line) for line in lines.splitlines()]
    assert len(docs) > 100
    for doc in docs:
        assert set(doc) == FAMILY_KEYS and set(doc["address"]) == ADDRESS_KEYS
        assert re.fullmatch(r"FP-10\d\d-\d{6}", doc["family_id"])
        assert re.fullmatch(r"25\d\d-\d\d-\d\d", doc["surveyed_at"])  # BE, ISO style
        assert all(set(m) == MEMBER_KEYS for m in doc["members"])
        assert len({m["member_no"] for m in doc["members"]}) == len(doc["members"])


def _file_keys(incoming: Path, month: str) -> dict[str, set[str]]:
    sch = _schools(incoming, month)
    person = pd.concat(
        [
            pd.read_csv(p, sep="|", dtype=str)
            for p in _person_files(incoming, "PERSON", month).values()
        ]
    )
    cpis = pd.read_csv(
        incoming / "cpis" / f"cpis_cases_{month}.csv", dtype=str, encoding="utf-8-sig"
    )
    lines = (incoming / "epassbook" / f"epassbook_{month}.jsonl").read_text("utf-8").splitlines()
    ep = {
        f"{d['family_id']}:{m['member_no']}" for d in map(json.loads, lines) for m in d["members"]
    }
    wb = openpyxl.load_workbook(incoming / "child_centres" / f"ccd_{month}.xlsx", read_only=True)
    cc = {
        f"{ws.title}:{r[1]}"
        for ws in wb.worksheets
        for r in list(ws.iter_rows(min_row=4, values_only=True))[:-1]
    }
    return {
        "schools": set(sch["รหัสโรงเรียน"] + ":" + sch["เลขประจำตัวนักเรียน"]),
        "child_centres": cc,
        "health_centres": set(person["HOSPCODE"] + ":" + person["PID"]),
        "cpis": set(cpis["case_id"]),
        "epassbook": ep,
    }


def test_truth_record_keys_are_unique_and_match_the_files(gen):
    incoming, result, records, _ = gen
    assert not records.duplicated(["source", "record_key", "month"]).any()
    for month in MONTHS:
        files = _file_keys(incoming, month)
        for source, keys in files.items():
            truth = set(records.query("source == @source and month == @month")["record_key"])
            assert keys == truth, (source, month)
    counts = records["source"].value_counts().to_dict()
    assert all(result.counts[s] == n for s, n in counts.items())
    epassbook = records[records["source"] == "epassbook"]
    assert epassbook["is_child"].any() and not epassbook["is_child"].all()


def test_twins_share_family_and_birth_date_but_not_identity(gen):
    _, _, records, persons = gen
    twins = persons.dropna(subset=["twin_group"])
    assert len(twins) >= 20  # about 2% of 2,000 children
    for _, pair in twins.groupby("twin_group"):
        assert len(pair) == 2
        assert pair["family_id"].nunique() == 1 and pair["birth_date"].nunique() == 1
        assert pair["given_name"].nunique() == 2 and pair["person_id"].nunique() == 2
    same_sex = twins.groupby("twin_group")["sex"].nunique().eq(1).mean()
    assert 0.1 < same_sex < 0.6
    assert records["person_id"].isin(twins["person_id"]).any()


def test_truth_pids_pass_the_check_digit(gen):
    _, _, _, persons = gen
    pid = persons["pid"].dropna()
    assert pid.str.fullmatch(r"\d{13}").all()
    assert pid_is_valid(pid.astype(np.int64).to_numpy()).all()
    children = persons[persons["role"] == "child"]
    first = children["pid"].str[0]
    assert {"1", "0"} <= set(first.dropna()) and set(first.dropna()) & {"6", "7"}
    nopid = children[children["pid"].isna()]
    assert len(nopid) > 0 and nopid["gcode"].str.fullmatch(r"G\d{12}").all()


def test_school_pids_and_birth_dates_agree_with_truth_unless_tagged(gen):
    incoming, _, records, persons = gen
    month = MONTHS[0]
    df = _schools(incoming, month)
    df["record_key"] = df["รหัสโรงเรียน"] + ":" + df["เลขประจำตัวนักเรียน"]
    df = df.merge(records.query("source == 'schools' and month == @month"), on="record_key")
    df = df.merge(persons, on="person_id")
    tags = df["dirt"].str.split(";").map(set)
    typed = (
        df["เลขประจำตัวประชาชน"].str.translate(THAI_TO_ARABIC).str.replace(r"[- ]", "", regex=True)
    )
    truth_id = df["pid"].fillna(df["gcode"]).fillna("")
    clean = tags.map(lambda t: not t & PID_TAGS)
    assert (typed[clean] == truth_id[clean]).all()
    assert (typed[~clean] != truth_id[~clean]).all()
    born = df["วันเกิด"].str.translate(THAI_TO_ARABIC)
    be = df["birth_date"].dt.strftime("%d/%m/") + (df["birth_date"].dt.year + 543).astype(str)
    clean = tags.map(lambda t: not t & DATE_TAGS)
    assert (born[clean] == be[clean]).all() and (born[~clean] != be[~clean]).all()


def _keys(records: pd.DataFrame, source: str, month: str) -> set[str]:
    return set(
        records.loc[(records["source"] == source) & (records["month"] == month), "record_key"]
    )


def test_month_two_is_a_realistic_increment(gen):
    _, _, records, _ = gen
    for source in ("schools", "health_centres", "child_centres"):
        first, second = (_keys(records, source, m) for m in MONTHS)
        assert len(first & second) >= 0.9 * len(first), source
    first, second = (_keys(records, "schools", m) for m in MONTHS)
    assert 0 < len(second - first) < 0.08 * len(second)  # a few join, a few leave
    assert 0 < len(first - second) < 0.08 * len(first)
    cpis = records.query("source == 'cpis'")
    assert 0 < (cpis["month"] == MONTHS[1]).sum() < (cpis["month"] == MONTHS[0]).sum()


def test_dirt_is_tagged_and_mostly_recoverable(gen):
    _, result, records, _ = gen
    tags = set(records["dirt"].str.split(";").explode()) - {""}
    assert {
        "spelling",
        "thai_digits",
        "be_ce_swap",
        "nickname",
        "pid_dashed",
        "pid_number",
        "given_name_change",
        "family_name_change",
    } <= tags
    lost = records["dirt"].str.split(";").map(lambda t: bool(UNRECOVERABLE & set(t)))
    assert lost.mean() == pytest.approx(result.unrecoverable_share)
    assert 0 < result.unrecoverable_share < 0.02


def test_same_seed_gives_identical_bytes_and_file_dirt_is_opt_in(tmp_path):
    first = generate(300, seed=3, out_dir=tmp_path / "a")
    second = generate(300, seed=3, out_dir=tmp_path / "b", file_dirt=True)
    third = generate(300, seed=4, out_dir=tmp_path / "c")
    rel = Path("schools") / "bma_students_202605.csv"
    for other in ("cpis/cpis_cases_202605.csv", "epassbook/epassbook_202605.jsonl"):
        assert (first.incoming / other).read_bytes() == (second.incoming / other).read_bytes()
    a, b = (first.incoming / rel).read_bytes(), (second.incoming / rel).read_bytes()
    header = a.split(b"\n")[0] + b"\n"
    assert a.count(header) == 1 and b.count(header) == 2
    mid = b.index(header, 1)
    assert b[:mid] + b[mid + len(header) :] == a  # the same rows, one header repeated mid-file
    assert a != (third.incoming / rel).read_bytes()
    again = generate(300, seed=3, out_dir=tmp_path / "d")
    assert (again.incoming / rel).read_bytes() == a
    with pytest.raises(FileExistsError):
        generate(300, seed=3, out_dir=tmp_path / "a")
