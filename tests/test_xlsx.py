"""sources.xlsx reads the same cell values as openpyxl's read-only mode, on workbooks with the
cell kinds agencies' registers carry (openpyxl itself writes them here)."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from sources import xlsx


def _openpyxl_rows(path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()


def _our_rows(path) -> dict[str, list[tuple]]:
    wb = xlsx.Workbook(path)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()


def _strip_dimension(path, out) -> None:
    """Rewrite a workbook without the sheets' <dimension> element (as centres' registers are
    written): the reader must then find each sheet's size from its rows."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode("utf-8")
                start = text.find("<dimension")
                if start >= 0:
                    end = text.find("/>", start) + 2
                    text = text[:start] + text[end:]
                data = text.encode("utf-8")
            dst.writestr(item, data)


@pytest.fixture
def workbook(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "ศูนย์ 1"
    ws.append(["ลำดับ", "ชื่อ", "สกุล", "วันเกิด", "อายุ", "หมายเหตุ"])
    ws.append([1, "ด.ช. สมชาย", "ใจดี", dt.date(2021, 3, 5), 4.5, None])
    ws.append([2, "ด.ญ. มาลี", "  มีสุข ", "05/03/2564", 1e-7, True])
    ws.append([3, None, "", dt.datetime(2020, 1, 31, 8, 30), -12, False])
    ws["A7"] = 99  # rows 5 and 6 left empty
    ws["H7"] = "beyond the header"  # a wider row
    ws["B8"] = "=1+1"  # a formula: no cached value in a file openpyxl wrote
    ws["C8"] = dt.time(7, 15)
    ws["D8"] = dt.timedelta(hours=30)
    ws["E8"] = 1234567890123
    ws["F8"] = CellRichText(["รวม ", TextBlock(InlineFont(b=True), "ทั้งหมด")])
    second = wb.create_sheet("ศูนย์ 2")
    second.append(["ลำดับ", "ชื่อ"])
    second.append([1, "เด็กหญิง ก"])
    wb.create_sheet("ว่าง")  # an empty sheet
    path = tmp_path / "ccd_202605.xlsx"
    wb.save(path)
    return path


def test_cells_read_as_openpyxl_reads_them(workbook):
    ours = _our_rows(workbook)
    assert ours == _openpyxl_rows(workbook)
    assert list(ours) == ["ศูนย์ 1", "ศูนย์ 2", "ว่าง"]
    first = ours["ศูนย์ 1"]
    assert first[1][3] == dt.datetime(2021, 3, 5)  # a date cell is a date, not its serial
    assert first[2][2] == "  มีสุข "  # text exactly as typed
    assert first[4] == (None,) * 8  # an empty row inside the sheet is kept, padded


def test_sheets_without_dimension_read_the_same(workbook, tmp_path):
    bare = tmp_path / "bare.xlsx"
    _strip_dimension(workbook, bare)
    assert "<dimension" not in zipfile.ZipFile(bare).read("xl/worksheets/sheet1.xml").decode()
    assert _our_rows(bare) == _openpyxl_rows(bare)
    # without a size, rows are not padded to the sheet's width: the values are the same
    trimmed = {title: [tuple(r) for r in rows] for title, rows in _our_rows(bare).items()}
    padded = _our_rows(workbook)
    for title, rows in trimmed.items():
        assert len(rows) == len(padded[title])
        for short, full in zip(rows, padded[title], strict=True):
            assert full[: len(short)] == short and not any(full[len(short) :])


def test_a_file_that_is_not_a_workbook_fails_as_openpyxl_does(tmp_path):
    path = tmp_path / "ccd_202605.xlsx"
    path.write_bytes(b"name,surname\n")
    with pytest.raises(zipfile.BadZipFile):
        openpyxl.load_workbook(path, read_only=True)
    with pytest.raises(zipfile.BadZipFile):
        xlsx.Workbook(path)
