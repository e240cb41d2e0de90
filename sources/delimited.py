"""Reading delimited text extracts (CSV, pipe files): decoding, header checks, bad rows.

Shared by the schools, health-centre and CPIS readers. Parsing runs in pyarrow's CSV reader (about
300k rows/s single-threaded here); rows with the wrong number of fields are handed back by pyarrow
with their record number and become quarantine rows, so one broken line never loses the file.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sources.base import ExtractError, RawBatch, add_provenance, quarantine_frame, relative_name

_NAMES = {"cp874": "Windows-874 (cp874)", "utf-8": "UTF-8"}
# UTF-8 Thai decoded as cp874 turns every Thai letter into 'เธ?' or 'เน?'.
_MOJIBAKE = re.compile("เ[ธน][\u0e00-\u0e7f\u0080-\u00ff\u2013-\u2026\u20ac]")
_THAI = re.compile("[\u0e00-\u0e7f]")
_NON_SPACE = re.compile(r"\S")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, rel: str, encoding: str) -> str:
    """Decode a delivered file strictly, naming the likely cause when it is the wrong encoding.

    Args:
        data: The file's bytes.
        rel: File name relative to the incoming folder (for messages).
        encoding: ``cp874`` or ``utf-8`` (a UTF-8 BOM is tolerated).

    Returns:
        The text without a BOM.

    Raises:
        ExtractError: Empty file, wrong encoding, undecodable byte or mojibake.
    """
    want = _NAMES[encoding]
    redo = f"Ask the agency to re-export the file as {want}."
    if not data or data.isspace():  # as ``not data.strip()``, without copying a large file
        raise ExtractError(
            rel, "empty file (no header and no rows)", "Ask the agency to re-send it."
        )
    if encoding == "cp874":
        if data.startswith(codecs.BOM_UTF8):
            raise ExtractError(rel, f"file is UTF-8 (it starts with a BOM), expected {want}", redo)
        if not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise ExtractError(rel, f"file is UTF-8, expected {want}", redo)
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        where = f"byte 0x{data[err.start]:02X} at line {_line_of(data, err.start)}"
        if encoding == "utf-8" and _decodes_as_thai_cp874(data):
            problem = f"file is Windows-874 (cp874), expected UTF-8 ({where} is not UTF-8)"
        else:
            problem = f"cannot be decoded as {encoding} ({where})"
        raise ExtractError(rel, problem, redo) from None
    garbled = len(_MOJIBAKE.findall(text, 0, 200_000))
    if garbled >= 3 and 3 * garbled >= 0.5 * _thai_letters(text[:200_000]):
        raise ExtractError(
            rel,
            "Thai text is garbled (runs of 'เธ'/'เน': UTF-8 text was converted to Windows-874 "
            "a second time)",
            f"Ask the agency to export again straight to {want} without converting it.",
        )
    return text


def _thai_letters(text: str) -> int:
    """How many characters of ``text`` are in the Thai block U+0E00-U+0E7F.

    In UTF-8 each one starts with the bytes E0 B8 or E0 B9, which start nothing else; counting
    them is much cheaper than listing every Thai letter with a regex.
    """
    data = text.encode("utf-8", "surrogatepass")
    return data.count(b"\xe0\xb8") + data.count(b"\xe0\xb9")


def _decodes_as_thai_cp874(data: bytes) -> bool:
    try:
        return bool(_THAI.search(data.decode("cp874")))
    except UnicodeDecodeError:
        return False


def check_columns(names: list[str], required: tuple[str, ...], rel: str) -> None:
    """Raise ``ExtractError`` when a contract column is missing, suggesting the renamed one."""
    dupes = sorted({n for n in names if names.count(n) > 1 and n})
    if dupes:
        raise ExtractError(
            rel, f"duplicate column(s) {', '.join(dupes)}", "Ask the agency to fix it."
        )
    missing = [c for c in required if c not in names]
    if not missing:
        return
    extra = [n for n in names if n not in required]
    hints = []
    for col in missing:
        close = difflib.get_close_matches(col, extra, n=1, cutoff=0.5)
        if close:
            hints.append(f"'{close[0]}' for '{col}'")
    problem = f"missing column(s) {', '.join(repr(c) for c in missing)}"
    if hints:
        problem += f" (renamed? did you mean {'; '.join(hints)})"
    raise ExtractError(
        rel, problem, "Ask the agency to re-export with the contract's column names."
    )


def read_delimited(
    path: Path,
    incoming: Path,
    *,
    source: str,
    table: str,
    encoding: str,
    sep: str,
    quoted: bool,
    required: tuple[str, ...],
    run_id: str,
    month: str,
    header_only_ok: bool = False,
) -> RawBatch:
    """Read one delimited extract into a ``RawBatch`` with one raw table.

    Args:
        path: The delivered file.
        incoming: The incoming folder (``_file`` is relative to it).
        source: Source name, for quarantine rows.
        table: Raw table name.
        encoding: ``cp874`` or ``utf-8``.
        sep: Field separator.
        quoted: Whether double-quote quoting applies (CSV) or quotes are literal (pipe files).
        required: Columns the contract requires in the header.
        run_id: The load's run id.
        month: CE reporting month ``YYYYMM``.
        header_only_ok: A file with a header and no rows is valid (a delta with nothing new);
            otherwise it is an "empty file" error.

    Returns:
        The raw table (all columns ``str`` as delivered, provenance added) and the rows rejected
        while reading (``truncated_row``, ``bad_field_count``, ``repeated_header``).

    Raises:
        ExtractError: The file cannot be loaded at all.
    """
    data = Path(path).read_bytes()
    rel = relative_name(path, incoming)
    text = decode(data, rel, encoding)
    end_of_header = text.find("\n")
    first = text if end_of_header < 0 else text[:end_of_header]
    header = next(csv.reader([first.rstrip("\r")], delimiter=sep, quoting=_quoting(quoted)), [])
    names = [h.strip() for h in header]
    check_columns(names, required, rel)
    # no row after the header: what follows it (if anything) is whitespace only
    header_only = end_of_header < 0 or _NON_SPACE.search(text, end_of_header + 1) is None
    if header_only and not header_only_ok:
        raise ExtractError(
            rel, "empty file (header only, no rows)", "Ask the agency to re-send it."
        )
    bad: list[tuple[int, int, str]] = []

    def on_bad(row: pacsv.InvalidRow) -> str:
        bad.append((row.number or -1, row.actual_columns, row.text))
        return "skip"

    if encoding == "utf-8":  # the delivered bytes are the UTF-8 of ``text`` (less the BOM)
        utf8 = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    else:
        utf8 = text.encode("utf-8")
    try:
        arrow = pacsv.read_csv(
            pa.py_buffer(utf8),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=sep,
                quote_char='"' if quoted else False,
                newlines_in_values=quoted,
                ignore_empty_lines=False,
                invalid_row_handler=on_bad,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, ValueError):  # the parser's message may quote row content
        raise ExtractError(
            rel, f"cannot be parsed as '{sep}'-separated text", "Ask the agency to re-export it."
        ) from None
    good = len(arrow)
    n_records = 1 + good + len(bad)
    numbers = np.arange(2, n_records + 1)
    if bad:  # as np.setdiff1d: the record numbers that parsed
        numbers = numbers[~np.isin(numbers, [b[0] for b in bad])]
    lines = _physical_lines(arrow, text, numbers, bad, n_records)
    row_lines = lines[numbers - 1] if good else np.array([], dtype=np.int64)
    blank, repeated = _blank_and_repeated(arrow, names)
    qframes = []
    if repeated.any():
        qframes.append(
            _row_quarantine(
                row_lines[repeated], "repeated_header", source, table, rel, run_id, month
            )
        )
    if bad:
        nums = np.array([b[0] for b in bad])
        last = nums == n_records
        short = np.array([b[1] < len(names) or b[2].count('"') % 2 == 1 for b in bad])
        rule = np.where(last & short, "truncated_row", "bad_field_count")
        where = lines[np.clip(nums - 1, 0, None)]
        for r in ("truncated_row", "bad_field_count"):
            if (rule == r).any():
                qframes.append(
                    _row_quarantine(where[rule == r], r, source, table, rel, run_id, month)
                )
    keep = ~(blank | repeated)
    out = add_provenance(
        arrow.filter(pa.array(keep)) if not keep.all() else arrow,
        file=rel,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=row_lines[keep],
        run_id=run_id,
        month=month,
    )
    batch = RawBatch({table: out}, notes={"blank_lines": int(blank.sum())})
    if qframes:
        batch.quarantine = pd.concat([batch.quarantine, *qframes], ignore_index=True)
    return batch


def _blank_and_repeated(arrow: pa.Table, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose every field is empty (blank lines), and rows that repeat the header."""
    if not len(arrow):
        empty = np.zeros(0, dtype=bool)
        return empty, empty
    empty = np.ones(len(arrow), dtype=bool)
    header_hits = np.zeros(len(arrow), dtype=np.int64)
    for name, col in zip(names, arrow.columns, strict=True):
        empty &= pc.equal(col, "").to_numpy(zero_copy_only=False)
        header_hits += pc.equal(col, name).to_numpy(zero_copy_only=False)
    # a header line pasted mid-file (two exports concatenated); half its names is enough
    return empty, header_hits * 2 >= len(names)


def _quoting(quoted: bool) -> int:
    return csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE


def _physical_lines(
    arrow: pa.Table, text: str, numbers: np.ndarray, bad: list, n: int
) -> np.ndarray:
    """1-based physical line where each record (numbered 1..n, header = 1) starts."""
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if n_lines <= n:  # no line breaks inside values: record number == line number
        return np.arange(1, n + 1)
    extra = np.zeros(n + 1, dtype=np.int64)
    if len(arrow):
        total = None
        for col in arrow.columns:
            c = pc.count_substring(col, "\n")
            total = c if total is None else pc.add(total, c)
        extra[numbers] = total.to_numpy()
    for number, _, row_text in bad:
        if number > 0:
            extra[number] = row_text.count("\n")
    # a record starts after all the line breaks inside earlier records
    return np.arange(1, n + 1) + np.cumsum(extra)[:-1]


def _row_quarantine(
    lines: np.ndarray, rule: str, source: str, table: str, rel: str, run_id: str, month: str
) -> pd.DataFrame:
    lines = pd.Series(np.asarray(lines, dtype=np.int64))
    return quarantine_frame(
        source=source,
        month=month,
        run_id=run_id,
        rule=rule,
        action="row",
        field="_row",
        value=rel + " line " + lines.astype("str"),
        table=table,
        file=rel,
        row=lines,
    )
