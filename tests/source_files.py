"""Small hand-written agency extracts for the reader, landing and conform tests (made-up people)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl

from sources import child_centres, cpis, health_centres, schools


def pid(first12: str) -> str:
    """A made-up PID with a correct check digit."""
    x = sum(int(d) * (13 - i) for i, d in enumerate(first12)) % 11
    return first12 + str((11 - x) % 10)


PID_A, PID_B, PID_C = pid("110370123456"), pid("110370123457"), pid("110370199999")
MOTHER = pid("310123456789")

SCHOOL_ROWS = [
    {
        "รหัสโรงเรียน": "10110003",
        "ชื่อโรงเรียน": "โรงเรียนวัดลาดกระบัง",
        "เลขประจำตัวนักเรียน": "00123",
        "เลขประจำตัวประชาชน": f"{PID_A[0]}-{PID_A[1:5]}-{PID_A[5:10]}-{PID_A[10:12]}-{PID_A[12]}",
        "คำนำหน้าชื่อ": "ด.ญ.",
        "ชื่อ": "ฟ้าใส",
        "นามสกุล": "ใจดี",
        "ชื่อภาษาอังกฤษ": "Fahsai",
        "นามสกุลภาษาอังกฤษ": "Jaidee",
        "เพศ": "หญิง",
        "วันเกิด": "05/03/2563",
        "ชั้น": "ป.1",
        "บ้านเลขที่": "99/1",
        "ถนน/ซอย": "ซ.ลาดกระบัง 54",
        "แขวง": "ลาดกระบัง",
        "เขต": "เขตลาดกระบัง",
        "ชื่อผู้ปกครอง": "นางสมศรี ใจดี",
        "ความเกี่ยวข้อง": "มารดา",
        "โทรศัพท์ผู้ปกครอง": "081-234-5678",
        "น้ำหนัก": "20.5",
        "ส่วนสูง": "115",
        "วันขาดเรียนสะสม": "2",
        "นักเรียนยากจน": "ใช่",
    },
    {
        "รหัสโรงเรียน": "10110003",
        "ชื่อโรงเรียน": "โรงเรียนวัดลาดกระบัง",
        "เลขประจำตัวนักเรียน": "00124",
        "เลขประจำตัวประชาชน": "G123456789012",
        "คำนำหน้าชื่อ": "เด็กชาย",
        "ชื่อ": " สมชาย ",
        "นามสกุล": "รักเรียน",
        "ชื่อภาษาอังกฤษ": "",
        "นามสกุลภาษาอังกฤษ": "",
        "เพศ": "หญิง",
        "วันเกิด": "31/02/2561",
        "ชั้น": "ป.3",
        "บ้านเลขที่": "12",
        "ถนน/ซอย": "",
        "แขวง": "ทับยาว",
        "เขต": "ลาดกระบัง",
        "ชื่อผู้ปกครอง": "นาย สมหมาย รักเรียน",
        "ความเกี่ยวข้อง": "บิดา",
        "โทรศัพท์ผู้ปกครอง": "+66891234567",
        "น้ำหนัก": "",
        "ส่วนสูง": "",
        "วันขาดเรียนสะสม": "0",
        "นักเรียนยากจน": "",
    },
    {
        "รหัสโรงเรียน": "10110003",
        "ชื่อโรงเรียน": "โรงเรียนวัดลาดกระบัง",
        "เลขประจำตัวนักเรียน": "00125",
        "เลขประจำตัวประชาชน": "12345",
        "คำนำหน้าชื่อ": "ด.ช.",
        "ชื่อ": "มานะ",
        "นามสกุล": "ใจดี",
        "ชื่อภาษาอังกฤษ": "",
        "นามสกุลภาษาอังกฤษ": "",
        "เพศ": "ชาย",
        "วันเกิด": "29/02/2567",
        "ชั้น": "อ.1",
        "บ้านเลขที่": "99/1",
        "ถนน/ซอย": "",
        "แขวง": "ลาดกระบัง",
        "เขต": "ลาดกระบัง",
        "ชื่อผู้ปกครอง": "นางสมศรี ใจดี",
        "ความเกี่ยวข้อง": "มารดา",
        "โทรศัพท์ผู้ปกครอง": "0812345678",
        "น้ำหนัก": "15",
        "ส่วนสูง": "100",
        "วันขาดเรียนสะสม": "1",
        "นักเรียนยากจน": "ไม่ใช่",
    },
]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV text with double-quote quoting only where needed, LF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_schools(
    path: Path,
    rows: list[dict] | None = None,
    *,
    header: list[str] | None = None,
    encoding: str = "cp874",
    extra: str = "",
) -> Path:
    """Write a school roster CSV (cp874 by default); ``extra`` is appended raw."""
    header = header or list(schools.COLUMNS)
    rows = SCHOOL_ROWS if rows is None else rows
    text = csv_text(header, [[r.get(c, "") for c in schools.COLUMNS] for r in rows]) + extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


CENTRE_ROWS = [
    [
        1,
        "R001",
        "ด.ญ.ฟ้าใส ใจดี",
        "ฟ้า",
        dt.datetime(2020, 3, 5),
        PID_A,
        "นางสมศรี ใจดี",
        "0812345678",
        "99/1 ซ.ลาดกระบัง 54 แขวงลาดกระบัง เขตลาดกระบัง",
        15.5,
        101,
        "สมวัย",
    ],
    [
        2,
        "R002",
        "เด็กชาย มานะ  ใจดี",
        "บีม",
        "5 มี.ค. 2563",
        float(PID_B),
        "นางสมศรี ใจดี",
        "081-234-5678",
        "99/1 ซ.ลาดกระบัง 54 แขวงลาดกระบัง เขตลาดกระบัง",
        16,
        103.5,
        "สงสัยล่าช้า",
    ],
    [
        3,
        "R003",
        "ด.ช.ปิติ มีสุข",
        "Mew",
        "05/03/2562",
        "1.10370012345E12",
        "นายสมหมาย มีสุข",
        "",
        "12 แขวงทับยาว เขตลาดกระบัง",
        None,
        None,
        None,
    ],
]


def write_workbook(
    path: Path, sheets: dict[str, list[list]] | None = None, footer: bool = True
) -> Path:
    """Write a centre workbook: two merged title rows, the header, the children, a footer."""
    sheets = {"ศพด.ชุมชนลาดกระบัง": CENTRE_ROWS} if sheets is None else sheets
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append([f"ศูนย์พัฒนาเด็กก่อนวัยเรียน {name}"])
        ws.merge_cells("A1:L1")
        ws.append(["ข้อมูล ณ เดือน พฤษภาคม 2569"])
        ws.merge_cells("A2:L2")
        ws.append(list(child_centres.COLUMNS))
        for row in rows:
            ws.append(row)
        if footer:
            ws.append(["", "", f"รวม {len(rows)} คน"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# fmt: off
HEALTH = {
    "PERSON": [
        ["10669", PID_A, "000101", "HN1", "002", "ฟ้าใส", "ใจดี", "2", "20200305", MOTHER, "",
         "99/1", "", "104301", "1", "0812345678", "20260510101010"],
        # a newborn not yet registered: no CID, placeholder name
        ["10669", "", "000102", "HN2", "001", "ทารก", "ใจดี", "1", "20260401", MOTHER, "",
         "99/1", "", "104301", "1", "", "20260510101010"],
        # category-0 PID, year-only birth, SEX contradicting PRENAME, unknown TAMBON, bad phone
        ["10669", pid("010370123456"), "000103", "HN3", "001", "บุตรนางสมศรี", "ใจดี", "2",
         "20190101", "", "", "12", "", "999999", "3", "0899", "20260510101010"],
        # the mother: the PERSON file lists adults too
        ["10669", MOTHER, "000104", "HN4", "005", "สมศรี", "ใจดี", "2", "19820130", "", "",
         "99/1", "", "104301", "1", "0812345678", "20260510101010"],
    ],
    "EPI": [["10669", "000101", "20260502", "MMR1"], ["10669", "000102", "20260420", "BCG"],
            ["10669", "000102", "20261340", "HBV1"]],
    "NUTRITION": [["10669", "000101", "20260502", "15.2", "101.5"]],
}
# fmt: on


def write_health(
    folder: Path,
    month: str = "202605",
    hospcode: str = "10669",
    tables: dict[str, list[list[str]]] | None = None,
    bom: bool = False,
    extra: str = "",
) -> list[Path]:
    """Write one health centre's pipe files; ``extra`` is appended raw to each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, rows in (tables or HEALTH).items():
        header = health_centres.COLUMNS[health_centres.TABLES[table]]
        text = "\n".join("|".join(r) for r in [list(header), *rows]) + "\n" + extra
        path = folder / f"{hospcode}_{table}_{month}.txt"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        paths.append(path)
    return paths


CPIS_ROWS = [
    [
        "CP-2026-000001",
        "2026-05-02",
        PID_A,
        "ด.ญ.ฟ้าใส ใจดี",
        "F",
        "05/03/2563",
        "",
        "1011",
        "99/1 ซ.ลาดกระบัง 54 แขวงลาดกระบัง เขตลาดกระบัง",
        "NEGLECT",
        "เหลือง",
        "OPEN",
        "",
        "นางสมศรี ใจดี",
        "0812345678",
    ],
    [
        "CP-2026-000002",
        "2026-05-03",
        "",
        "เด็กชายมานะ ใจดี",
        "ไม่ระบุ",
        "",
        "6",
        "1011",
        "",
        "POVERTY",
        "RED",
        "CLOSED",
        "2026-05-20",
        "นางสมศรี ใจดี",
        "02-123-4567",
    ],
]


def write_cpis(
    path: Path, rows: list[list[str]] | None = None, bom: bool = True, extra: str = ""
) -> Path:
    """Write a CPIS case CSV in UTF-8 (with a BOM by default)."""
    text = csv_text(list(cpis.COLUMNS), CPIS_ROWS if rows is None else rows) + extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


FAMILY = {
    "family_id": "FP-1011-000123",
    "surveyed_at": "2569-05-12",
    "address": {
        "house_no": "99/1",
        "soi": "ลาดกระบัง 54",
        "road": None,
        "subdistrict_code": "101101",
        "district_code": "1011",
    },
    "phone": "0891234567",
    "income_per_month": 8500,
    "problems": ["INCOME", "DEBT"],
    "members": [
        {
            "member_no": 1,
            "cid": MOTHER,
            "title": "นาง",
            "first_name": "สมศรี",
            "last_name": "ใจดี",
            "gender": "หญิง",
            "birth_date": "2525-01-30",
            "relation": "หัวหน้าครอบครัว",
            "disability": False,
        },
        {
            "member_no": 2,
            "cid": PID_A,
            "title": "ด.ญ.",
            "first_name": "ฟ้าใส",
            "last_name": "ใจดี",
            "gender": "หญิง",
            "birth_date": "2563-03-05",
            "relation": "บุตร",
            "disability": False,
        },
        {
            "member_no": 3,
            "cid": PID_B,
            "title": "ด.ช.",
            "first_name": "มานะ",
            "last_name": "ใจดี",
            "gender": "ชาย",
            "birth_date": "2567-02-29",
            "relation": "บุตร",
            "disability": True,
        },
    ],
}


def write_epassbook(path: Path, families: list[dict] | None = None, extra: str = "") -> Path:
    """Write a JSON Lines passbook extract; ``extra`` is appended raw."""
    lines = [json.dumps(f, ensure_ascii=False) for f in (families or [FAMILY])]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def make_incoming(root: Path, month: str = "202605") -> Path:
    """An incoming folder with one small, clean delivery per source."""
    write_schools(root / "schools" / f"bma_students_{month}.csv")
    write_workbook(root / "child_centres" / f"ccd_{month}.xlsx")
    write_health(root / "health_centres", month)
    write_cpis(root / "cpis" / f"cpis_cases_{month}.csv")
    write_epassbook(root / "epassbook" / f"epassbook_{month}.jsonl")
    return root
