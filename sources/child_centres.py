"""BMA child development centre registers: ``child_centres/ccd_<YYYYMM>.xlsx``, sheet per centre."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.areas import parse_address
from schemas.dates import parse_mixed_child_centre_date
from schemas.models import DEVELOPMENT_RESULTS
from schemas.names import prefix_sex, split_full_name
from schemas.thai_text import normalise_thai
from sources import xlsx
from sources.base import ConformResult, ExtractError, RawBatch, add_provenance, relative_name
from sources.common import (
    Quarantine,
    assemble_persons,
    date_columns,
    guardian_name,
    join_key,
    measurement,
    month_end,
    nulled,
    person_names,
    phone_column,
    pid_columns,
    reject_missing_keys,
)
from sources.delimited import check_columns

NAME = "child_centres"
SUBDIR = "child_centres"
FILE_PATTERN = r"ccd_(?P<month>\d{6})\.xlsx"
FILE_EXAMPLE = "ccd_<YYYYMM>.xlsx"
TABLES = {"": "child_centres"}
KIND = {"child_centres": "snapshot"}
PRIMARY = {"child_centres": "persons"}
COLUMNS = (
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
)
HEADER_MARKERS = ("เลขทะเบียน", "ชื่อ-สกุล")
HEADER_SEARCH_ROWS = 20


def cell_text(value: object) -> str:
    """An Excel cell value as text, keeping what Excel stored.

    Date cells become ``YYYY-MM-DD HH:MM:SS``. A number of 12 or more digits is a PID that Excel
    turned into a number: it keeps the float form (``1103700123456.0``) so the PID normaliser knows
    it came from a number cell and may have lost a leading zero. Other numbers keep their form.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, int):
        return f"{value}.0" if abs(value) >= 10**11 else str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _sheet_rows(ws, sheet: str, rel: str) -> tuple[list[str], list[list[str]], list[int], int]:
    """Header, data rows, their Excel row numbers and the number of footer rows of one sheet."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    footers = 0
    width = 0
    reg = 0
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if header is None:
            texts = [cell_text(v).strip() for v in values]
            if all(m in texts for m in HEADER_MARKERS):
                header = texts
                while header and not header[-1]:
                    header.pop()
                width = len(header)
                reg = header.index("เลขทะเบียน")
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        cells = [cell_text(v) for v in values[:width]]
        cells += [""] * (width - len(cells))
        if not any(c.strip() for c in cells):
            continue
        if not cells[reg].strip():
            first = next(c.strip() for c in cells if c.strip())
            if first.startswith("รวม"):  # "รวม 35 คน": a total, not a child
                footers += 1
                continue
        rows.append(cells)
        numbers.append(number)
    if header is None:
        return [], [], [], 0
    check_columns(header, COLUMNS, f"{rel} (sheet '{sheet}')")
    return header, rows, numbers, footers


def read(path: Path, incoming: Path, run_id: str, month: str) -> RawBatch:
    """Read a centre workbook: every sheet's children below its header row.

    The two merged title rows above the header are skipped; footer rows (``รวม 35 คน``) are
    skipped and counted in ``notes['footer_rows']``. Cells become text (see ``cell_text``).

    Args:
        path: The delivered ``.xlsx``.
        incoming: The incoming folder.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.

    Returns:
        Raw table ``child_centres`` with ``_sheet`` = centre name and ``_row`` = Excel row.

    Raises:
        ExtractError: Not a workbook, a sheet with children but no header row, a missing column,
            or no children at all.
    """
    rel = relative_name(path, incoming)
    data = Path(path).read_bytes()
    if not data:
        raise ExtractError(rel, "empty file (0 bytes)", "Ask the agency to re-send it.")
    try:
        wb = xlsx.Workbook(path)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ExtractError(
            rel,
            "not a readable .xlsx workbook",
            "Ask the agency to save it as an Excel workbook (.xlsx).",
        ) from None
    # Consecutive sheets with the same columns become one table (one Arrow -> pandas conversion
    # for the whole run rather than one per centre: a workbook holds hundreds of centres).
    runs: list[_Run] = []
    footers = 0
    try:
        for ws in wb.worksheets:
            header, rows, numbers, n_footer = _sheet_rows(ws, ws.title, rel)
            if not header:
                if any(any(v is not None for v in r) for r in ws.iter_rows(values_only=True)):
                    raise ExtractError(
                        rel,
                        f"sheet '{ws.title}' has no header row with "
                        f"{' and '.join(HEADER_MARKERS)} in its first {HEADER_SEARCH_ROWS} rows",
                        "Ask the centre to keep the register's header row.",
                    )
                continue
            footers += n_footer
            named = [i for i, c in enumerate(header) if c]  # unnamed columns are layout
            names = [header[i] for i in named]
            if not runs or runs[-1].names != names:
                runs.append(_Run(names))
            runs[-1].add([[r[i] for i in named] for r in rows], numbers, ws.title)
    finally:
        wb.close()
    if not runs or not any(run.numbers for run in runs):
        raise ExtractError(
            rel, "empty file (no children on any sheet)", "Ask the agency to re-send the registers."
        )
    sha = hashlib.sha256(data).hexdigest()
    frames = [run.frame(rel, sha, run_id, month) for run in runs]
    table = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    sheets = sum(run.sheets for run in runs)
    return RawBatch({"child_centres": table}, notes={"footer_rows": footers, "sheets": sheets})


class _Run:
    """The rows of consecutive sheets that have the same named columns."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.rows: list[list[str]] = []
        self.numbers: list[int] = []
        self.titles: list[str] = []
        self.sheets = 0

    def add(self, rows: list[list[str]], numbers: list[int], title: str) -> None:
        self.rows += rows
        self.numbers += numbers
        self.titles += [title] * len(rows)
        self.sheets += 1

    def frame(self, rel: str, sha: str, run_id: str, month: str) -> pd.DataFrame:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(self.names)
        table = pa.table(
            {
                name: pa.array(col, pa.string())
                for name, col in zip(self.names, columns, strict=True)
            }
        )
        return add_provenance(
            table,
            file=rel,
            sha256=sha,
            rows=self.numbers,
            run_id=run_id,
            month=month,
            sheet=np.array(self.titles, dtype=object),
        )


def record_key(raw_df: pd.DataFrame) -> pd.Series:
    """``<sheet name>:<เลขทะเบียน>``; NA when the register number is blank."""
    return join_key(raw_df["_sheet"], raw_df["เลขทะเบียน"])


def conform(raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Map the registers to ``PERSON`` rows, ``centre_enrolment`` and ``growth`` events.

    The name cell holds prefix + given + family; sex comes from the prefix; birth dates mix Excel
    dates, Thai text and BE ``dd/mm/yyyy``; areas come from the free-text address.

    Args:
        raw: The batch read by ``read``.
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Persons, ``{"centre_enrolment": ..., "growth": ...}`` and the quarantine of this step.
    """
    table = "child_centres"
    q = Quarantine(NAME, month, run_id)
    df, key = reject_missing_keys(raw.tables[table], record_key(raw.tables[table]), q, table)
    ref = month_end(month)
    names = person_names(split_full_name(df["ชื่อ-สกุล"]))
    area = parse_address(df["ที่อยู่"])
    persons = assemble_persons(
        NAME,
        month,
        key,
        {
            **pid_columns(df["เลขประจำตัวประชาชน"], df, key, q, table),
            **names,
            "nickname": normalise_thai(df["ชื่อเล่น"]),
            "sex": prefix_sex(names["prefix"]),
            **date_columns(
                parse_mixed_child_centre_date(df["วันเกิด"], ref), df["วันเกิด"], df, key, q, table
            ),
            "guardian_name": guardian_name(df["ชื่อผู้ปกครอง"]),
            "guardian_phone": phone_column(df["เบอร์โทร"], df, key, q, table),
            "address_text": normalise_thai(df["ที่อยู่"]),
            "district_code": area["district_code"],
            "subdistrict_code": area["subdistrict_code"],
        },
    )
    result = normalise_thai(df["ผลประเมินพัฒนาการ"])
    result = nulled(
        result,
        ~result.isin(DEVELOPMENT_RESULTS) & result.notna(),
        df["ผลประเมินพัฒนาการ"],
        df,
        key,
        q,
        field="development_result",
        rule="unknown_value",
        table=table,
    )
    weight = measurement(df["น้ำหนัก"], 0.5, 150, df, key, q, field="weight_kg", table=table)
    height = measurement(df["ส่วนสูง"], 30, 200, df, key, q, field="height_cm", table=table)
    enrolment = pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "centre_name": df["_sheet"],
            "development_result": result,
            "weight_kg": weight,
            "height_cm": height,
        }
    ).reset_index(drop=True)
    measured = weight.notna() | height.notna()
    # The register gives no measuring date: it is the state "as of" the reporting month.
    growth = pd.DataFrame(
        {
            "source": NAME,
            "record_key": key,
            "month": month,
            "event_key": key + ":" + month,
            "date_serv": ref,
            "weight_kg": weight,
            "height_cm": height,
        }
    )[measured].reset_index(drop=True)
    growth["date_serv"] = growth["date_serv"].astype("datetime64[ms]")
    return ConformResult(persons, {"centre_enrolment": enrolment, "growth": growth}, q.frame())
