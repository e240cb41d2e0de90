"""Child development centre registers: ``child_centres/ccd_<YYYYMM>.xlsx``, one sheet per centre."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from . import coverage, dates, growth
from .dirt import DirtRates
from .records import (
    MonthView,
    birth_parts,
    child_prefix,
    dmy,
    full_name,
    guardian_name,
    identity,
    phone,
    pid_cell,
    truth,
)
from .rng import hash_choice, hash_uniform

COLUMNS = [
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


def _pid_values(ident, rates: DirtRates) -> np.ndarray:
    """Text PIDs, number cells (leading zero lost), or float strings whose last digits are lost."""
    fl = (ident.u("pid-float") < rates.pid_float) & (ident.pid >= 0)
    num = ~fl & (ident.u("pid-number") < rates.pid_number_cell) & (ident.pid >= 0)
    out = pid_cell(ident, rates, show_gcode=False, rows=~(fl | num))
    out[num] = ident.pid[num].astype(object)
    ident.tags.add("pid_number", num)
    plus = ident.u("pid-float-plus") < 0.5
    out[fl] = [
        f"{float(v):.11E}".replace("E+", "E+" if pl else "E")
        for v, pl in zip(ident.pid[fl], plus[fl], strict=True)
    ]
    ident.tags.add("pid_float_lost", fl)
    return out


def _birth_values(u, ident, centre: np.ndarray, rates: DirtRates) -> np.ndarray:
    """Date cells, ``5 มี.ค. 2563`` text or ``05/03/2563`` text, by the centre's habit."""
    style = u.centres["date_style"].to_numpy()[centre] % 3
    other = ident.u("date-style") < 0.1
    style = np.where(other, hash_choice(u.seed, "centre-date-row", 3, ident.key), style)
    cell = style == 0
    y, mo, d = birth_parts(ident, "BE", rates, rows=~cell)
    text = np.where(
        style == 1,
        dates.text(d) + " " + dates.THAI_MONTHS[np.clip(mo, 1, 12) - 1] + " " + dates.text(y),
        dmy(y, mo, d),
    ).astype(object)
    cy, cm, cd = dates.ymd(ident.birth)
    be_cell = cell & (ident.u("date-cell-be") < rates.date_cell_be) & ~((cm == 2) & (cd == 29))
    cy = np.where(be_cell, cy + dates.BE_OFFSET, cy)
    ident.tags.add("be_in_date_cell", be_cell)
    for i in np.nonzero(cell)[0]:
        text[i] = dt.date(int(cy[i]), int(cm[i]), int(cd[i]))
    return text


def build(u, mv: MonthView, rates: DirtRates) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All centres' rows (with a ``_sheet`` column) and their truth rows."""
    p, fam = u.persons, u.fam
    idx = np.nonzero(coverage.centre(u, mv))[0]
    centre = p["centre"].to_numpy()[idx]
    reg = p["centre_reg"].to_numpy()[idx]
    order = np.lexsort((reg, centre))
    idx, centre, reg = idx[order], centre[order], reg[order]
    ident = identity(u, idx, "child_centres", mv.m, rates)
    long = ident.u("prefix-long") < 0.35
    glued = ~long & (ident.u("prefix-spaced") < 0.8)
    name = full_name(child_prefix(ident.sex, mv.age[idx], long), ident, glued, rates)
    fidx = p["fidx"].to_numpy()[idx]
    soi = fam["soi"].to_numpy(dtype=object)[fidx]
    street = np.where(
        pd.isna(soi), " ถ." + fam["road"].to_numpy(dtype=object)[fidx], " ซ." + soi.astype(str)
    )
    address = (
        fam["house_no"].to_numpy(dtype=object)[fidx]
        + street
        + " แขวง"
        + fam["subdistrict_th"].to_numpy(dtype=object)[fidx]
        + " เขต"
        + fam["district_th"].to_numpy(dtype=object)[fidx]
    )
    weight, height = growth.body(ident.birth, mv.last, coverage.z_score(u.seed, idx))
    dev = np.array(["สมวัย", "สงสัยล่าช้า", None], dtype=object)[
        np.searchsorted([0.85, 0.95], hash_uniform(u.seed, "dspm", idx, mv.m), side="right")
    ]
    sheet = u.centres["name"].to_numpy(dtype=object)[centre]
    df = pd.DataFrame(
        {
            "_sheet": sheet,
            COLUMNS[0]: 0,
            COLUMNS[1]: reg,
            COLUMNS[2]: name,
            COLUMNS[3]: ident.nickname,
            COLUMNS[4]: _birth_values(u, ident, centre, rates),
            COLUMNS[5]: _pid_values(ident, rates),
            COLUMNS[6]: guardian_name(u, fidx, hash_uniform(u.seed, "cg-glue", idx) < 0.5),
            COLUMNS[7]: phone(
                u, fidx, hash_choice(u.seed, "phone-style", 4, idx * 5 + 2), ident, rates
            ),
            COLUMNS[8]: address,
            COLUMNS[9]: weight,
            COLUMNS[10]: height,
            COLUMNS[11]: dev,
        }
    )
    df[COLUMNS[0]] = df.groupby("_sheet", sort=False).cumcount() + 1
    keys = sheet + ":" + dates.text(reg)
    return df, truth(u, "child_centres", mv.month, keys, ident)


def write(df: pd.DataFrame, path: Path, u, month: str) -> None:
    """Write-only workbook: two merged title rows, the header, children, a ``รวม N คน`` footer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    stamp = dt.datetime(int(month[:4]), int(month[4:]), 28, 9, 0, 0)
    wb.properties.created = wb.properties.modified = stamp
    district = dict(
        zip(
            u.centres["name"],
            u.districts["name_th"].to_numpy()[u.centres["district"].to_numpy()],
            strict=True,
        )
    )
    when = f"{dates.THAI_MONTHS_FULL[int(month[4:]) - 1]} {int(month[:4]) + dates.BE_OFFSET}"
    last_col = chr(ord("A") + len(COLUMNS) - 1)
    for sheet, rows in df.groupby("_sheet", sort=False):
        ws = wb.create_sheet(title=sheet)
        ws.merged_cells.add(f"A1:{last_col}1")
        ws.merged_cells.add(f"A2:{last_col}2")
        ws.append([f"ศูนย์พัฒนาเด็กก่อนวัยเรียน{sheet[4:]} สำนักงานเขต{district[sheet]}"])
        ws.append([f"ข้อมูล ณ เดือน{when}"])
        ws.append(COLUMNS)
        for values in rows[COLUMNS].itertuples(index=False, name=None):
            ws.append([_cell(ws, v) for v in values])
        ws.append([f"รวม {len(rows)} คน"])
    wb.save(path)


def _cell(ws, value):
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "dd/mm/yyyy"
        return cell
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value
