"""Thai personal identification numbers (PID) and Ministry of Education G-codes.

A PID is 13 digits, the last one a check digit over the first twelve (see ``pid_check_digit``). The
first digit is a person category; ``0`` (persons without civil-registration status) is real and
is kept as ``valid``: it is flagged by ``pid_category``, never rejected. A G-code (``G`` + 12
digits) is issued to learners without a PID and is never check-digited.

``normalise_pid`` returns one of the statuses in ``schemas.columns.PID_STATUSES``:

    valid      13 digits, check digit holds, first digit not 6/7
    non_thai   13 digits, check digit holds, first digit 6 or 7 (pid kept)
    bad_check  13 digits, check digit fails (pid kept: a typo still links fuzzily)
    gcode      G-code found (gcode set, pid NA)
    invalid    anything else, including Excel floats that lost digits (pid NA)
    missing    blank, or a placeholder typed for "none" (``-``, ``ไม่มี``, ``ไม่ระบุ``, ``N/A``)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.columns import PID_STATUSES

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_WEIGHTS = np.arange(13, 1, -1, dtype=np.int64)  # 13, 12, ..., 2 for digits 0..11

# Shapes that cover almost every real value; they take the vectorised fast path.
_FAST = r"[0-9]{13}|[0-9]-[0-9]{4}-[0-9]{5}-[0-9]{2}-[0-9]|[0-9] [0-9]{4} [0-9]{5} [0-9]{2} [0-9]"
_SCI = re.compile(r"([0-9])\.([0-9]+)E\+?([0-9]+)")
_FLOAT = re.compile(r"([0-9]{12,13})\.0*")
_SEP = r"[\s\-.]*"
_GCODE = re.compile(rf"G{_SEP}((?:[0-9]{_SEP}){{11}}[0-9])(?!{_SEP}[0-9])")
_DIGIT_RUN = re.compile(rf"[0-9](?:{_SEP}[0-9])*")
# Blank, or a placeholder typed instead of leaving the cell empty ("none", "not given", "-").
_BLANK = re.compile(r"[\s\u200b-\u200d\ufeff'\"`\-]*|ไม่มี|ไม่ระบุ|N/?A|NULL|NONE")

_KINDS = ("missing", "pid", "pid0", "gcode", "invalid")
_CATEGORIES = {
    "0": "no_registration_status",
    "1": "thai_born_registered",
    "2": "thai_born_late_registration",
    "3": "thai_registered_before_1984",
    "4": "thai_before_1984_no_id",
    "5": "thai_added_by_review",
    "6": "non_thai_resident",
    "7": "non_thai_child_born_in_thailand",
    "8": "naturalised",
}


def _digit_matrix(values: pd.Series, width: int) -> np.ndarray:
    """Strings of exactly ``width`` ASCII digits as an (n, width) int64 matrix.

    Reads the Arrow data buffer directly (no per-value Python work): with fixed-width ASCII
    values it is just the digits back to back.
    """
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.int64)
    arrow = pa.array(values.array, type=pa.large_string())
    if isinstance(arrow, pa.ChunkedArray):  # a Series concatenated from several files
        arrow = arrow.combine_chunks()
    offsets = np.frombuffer(arrow.buffers()[1], dtype=np.int64)
    start, end = offsets[arrow.offset], offsets[arrow.offset + len(arrow)]
    data = np.frombuffer(arrow.buffers()[2], dtype=np.uint8)[start:end]
    return data.reshape(-1, width).astype(np.int64) - 48


def _check_of(digits: np.ndarray) -> np.ndarray:
    """Check digit (int) of each row of an (n, >=12) digit matrix."""
    return (11 - (digits[:, :12] @ _WEIGHTS) % 11) % 10


def pid_check_digit(first12: pd.Series) -> pd.Series:
    """Compute the PID check digit for each 12-digit prefix.

    ``x = sum(d_i * (13 - i) for i in 0..11) mod 11`` and ``d_12 = (11 - x) mod 10``.

    Args:
        first12: The first twelve digits of each PID as text.

    Returns:
        The check digit as a one-character string, NA where the input is not exactly 12 digits.
    """
    text = first12.astype("str")
    ok = text.str.fullmatch(r"[0-9]{12}").fillna(False).to_numpy(dtype=bool)
    codes = np.full(len(text), -1, dtype=np.int64)
    if ok.any():
        codes[ok] = _check_of(_digit_matrix(text[ok], 12))
    digits = pd.Categorical.from_codes(codes, categories=list("0123456789"))
    return pd.Series(digits, index=first12.index).astype("str")


def _from_number(value: object) -> tuple[str, str | None]:
    """Classify a numeric cell (int or float from openpyxl or a float-typed column)."""
    if isinstance(value, float) and (np.isnan(value) or not value.is_integer()):
        return ("missing", None) if np.isnan(value) else ("invalid", None)
    text = str(int(value))
    if len(text) == 12:  # Excel drops the leading 0 of a category-0 PID stored as a number.
        return "pid0", "0" + text
    return ("pid", text) if len(text) == 13 else ("invalid", None)


def _parse_one(value: object) -> tuple[str, str | None]:
    """Classify one unusual value; returns (kind, text) with kind pid/pid0/gcode/invalid/missing."""
    if value is None or value is pd.NA:
        return "missing", None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _from_number(float(value) if isinstance(value, np.floating) else value)
    text = str(value).translate(_THAI_DIGITS).upper()
    if _BLANK.fullmatch(text.strip()):
        return "missing", None
    text = text.strip().strip("'\"`")
    if m := _SCI.fullmatch(text):
        mantissa, exponent = m[1] + m[2], int(m[3])
        # Recoverable only when Excel kept every one of the 13 digits.
        if exponent == 12 and len(mantissa) >= 13 and set(mantissa[13:]) <= {"0"}:
            return "pid", mantissa[:13]
        return "invalid", None
    if m := _FLOAT.fullmatch(text):
        return ("pid", m[1]) if len(m[1]) == 13 else ("pid0", "0" + m[1])
    if "G" in text and re.search(rf"G{_SEP}[0-9]", text):
        m = _GCODE.search(text)
        if m is None:
            return "invalid", None
        return "gcode", "G" + re.sub(r"[^0-9]", "", m[1])
    runs = [re.sub(r"[^0-9]", "", r) for r in _DIGIT_RUN.findall(text)]
    thirteen = [r for r in runs if len(r) == 13]
    return ("pid", thirteen[0]) if len(thirteen) == 1 else ("invalid", None)


def normalise_pid(raw: pd.Series) -> pd.DataFrame:
    """Normalise PIDs as typed in agency extracts.

    Accepts plain, dashed and spaced PIDs, Thai digits, surrounding junk, G-codes, numeric cells
    and Excel float text (``1.103701234567E12`` is recovered; ``1.10370012345E12`` lost a digit and
    is ``invalid``). A 12-digit number from a numeric cell or float text is taken as a PID whose
    leading ``0`` Excel dropped, but only when the check digit then holds.

    Args:
        raw: PID cells as delivered (text, numbers or a mix).

    Returns:
        DataFrame aligned on ``raw.index`` with columns ``pid`` (13 digits or NA), ``gcode``
        (``G`` + 12 digits or NA) and ``pid_status``.
    """
    n = len(raw)
    kind = np.zeros(n, dtype=np.int8)  # index into _KINDS
    text = raw.astype("str").str.strip().reset_index(drop=True)
    fast_pid = text.str.fullmatch(_FAST).fillna(False).to_numpy(dtype=bool)
    fast_g = text.str.fullmatch(r"[Gg][0-9]{12}").fillna(False).to_numpy(dtype=bool)
    kind[fast_pid], kind[fast_g] = _KINDS.index("pid"), _KINDS.index("gcode")
    value = text.copy()  # stays an Arrow-backed str Series: no per-value Python objects
    separated = fast_pid & (text.str.len() != 13).to_numpy(dtype=bool)
    value[separated] = text[separated].str.replace(r"[ -]", "", regex=True)
    value[fast_g] = text[fast_g].str.upper()
    slow = ~fast_pid & ~fast_g & raw.notna().to_numpy(dtype=bool)
    if slow.any():
        # Everything else is parsed once per distinct raw value (numbers keep their type).
        codes, uniques = pd.factorize(raw[slow].to_numpy(dtype=object))
        parsed = [_parse_one(u) for u in uniques]
        kind[slow] = np.array([_KINDS.index(p[0]) for p in parsed], dtype=np.int8)[codes]
        value[slow] = pd.array([p[1] for p in parsed], dtype="str").take(codes)
    candidate = np.isin(kind, [_KINDS.index("pid"), _KINDS.index("pid0")])
    check_ok = np.zeros(n, dtype=bool)
    non_thai = np.zeros(n, dtype=bool)
    if candidate.any():
        digits = _digit_matrix(value[candidate], 13)
        check_ok[candidate] = _check_of(digits) == digits[:, 12]
        non_thai[candidate] = np.isin(digits[:, 0], [6, 7])
    # A zero-padded number is only trusted when the check digit confirms it.
    is_pid = (kind == _KINDS.index("pid")) | ((kind == _KINDS.index("pid0")) & check_ok)
    is_gcode = kind == _KINDS.index("gcode")
    code = PID_STATUSES.index
    status = np.select(
        [is_pid & check_ok & non_thai, is_pid & check_ok, is_pid, is_gcode, kind == 0],
        [code("non_thai"), code("valid"), code("bad_check"), code("gcode"), code("missing")],
        default=code("invalid"),
    )
    out = pd.DataFrame(
        {
            "pid": value.where(is_pid),
            "gcode": value.where(is_gcode),
            "pid_status": pd.Categorical.from_codes(status, categories=PID_STATUSES),
        }
    ).astype({"pid_status": "str"})
    out.index = raw.index
    return out


def pid_category(pid: pd.Series) -> pd.Series:
    """Name the person category encoded in a PID's first digit.

    Args:
        pid: Normalised 13-digit PIDs (NA allowed).

    Returns:
        Category names (``no_registration_status`` for ``0``, ``non_thai_resident`` for ``6`` ...),
        NA where the PID is missing or its first digit is not a known category.
    """
    text = pid.astype("str")
    first = text.where(text.str.fullmatch(r"[0-9]{13}").fillna(False)).str[0]
    return first.map(_CATEGORIES).astype("str")
