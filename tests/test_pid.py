"""PID and G-code normalisation: each case as it appears in a real extract."""

import numpy as np
import pandas as pd
import pytest

from schemas.pid import normalise_pid, pid_category, pid_check_digit

GOOD = "1103701234563"  # made-up PID with a correct check digit


def _reference_check_digit(first12: str) -> str:
    """Independent scalar implementation of the check-digit formula."""
    x = sum(int(d) * (13 - i) for i, d in enumerate(first12)) % 11
    return str((11 - x) % 10)


CASES = [
    # (raw, pid, gcode, status)
    (GOOD, GOOD, None, "valid"),  # plain 13 digits
    ("1-1037-01234-56-3", GOOD, None, "valid"),  # written with the official dashes
    ("1 1037 01234 56 3", GOOD, None, "valid"),  # spaced like the card
    ("  1103701234563 ", GOOD, None, "valid"),  # padded with spaces
    ("๑๑๐๓๗๐๑๒๓๔๕๖๓", GOOD, None, "valid"),  # Thai digits
    ("๑-๑๐๓๗-๐๑๒๓๔-๕๖-๓", GOOD, None, "valid"),  # Thai digits with dashes
    ("'1103701234563", GOOD, None, "valid"),  # Excel text apostrophe
    ("เลขบัตร 1103701234563 (ใหม่)", GOOD, None, "valid"),  # junk around the number
    ("G123456789012", None, "G123456789012", "gcode"),  # MoE G-code, never check-digited
    ("g-1234-5678-9012", None, "G123456789012", "gcode"),  # lower-case, dashed G-code
    ("G1234567890123", None, None, "invalid"),  # G + 13 digits is no G-code (nor a PID)
    ("0103701234565", "0103701234565", None, "valid"),  # category 0 (no status): valid, flagged
    ("6103701234564", "6103701234564", None, "non_thai"),  # category 6, check holds
    ("7103701234562", "7103701234562", None, "non_thai"),  # category 7, check holds
    ("6103701234565", "6103701234565", None, "bad_check"),  # category 6 with a wrong check digit
    ("1103701234573", "1103701234573", None, "bad_check"),  # one digit mistyped (6 -> 7)
    ("1103710234563", "1103710234563", None, "bad_check"),  # two adjacent digits swapped
    ("1.103701234563E12", GOOD, None, "valid"),  # Excel float text that kept all 13 digits
    ("1.10370123456E+12", None, None, "invalid"),  # Excel float text that lost the last digit
    ("1103701234563.0", GOOD, None, "valid"),  # float written with .0
    ("110370123456", None, None, "invalid"),  # 12 digits typed as text
    ("11037012345631", None, None, "invalid"),  # 14 digits
    ("ไม่มี", None, None, "missing"),  # "none" written in Thai is a blank
    ("-", None, None, "missing"),  # a dash for "none"
    ("ไม่ทราบ 12", None, None, "invalid"),  # text with a stray number: not a PID
    ("", None, None, "missing"),  # blank
    ("   ", None, None, "missing"),  # whitespace only
    (None, None, None, "missing"),  # empty cell
]


def test_normalise_pid_cases():
    raw = pd.Series([c[0] for c in CASES], index=range(100, 100 + len(CASES)), dtype="str")
    out = normalise_pid(raw)
    assert list(out.columns) == ["pid", "gcode", "pid_status"]
    assert out.index.equals(raw.index)
    for (value, pid, gcode, status), (_, row) in zip(CASES, out.iterrows(), strict=True):
        assert (row["pid"] if pd.notna(row["pid"]) else None) == pid, value
        assert (row["gcode"] if pd.notna(row["gcode"]) else None) == gcode, value
        assert row["pid_status"] == status, value
    assert all(str(t) == "str" for t in out.dtypes)


def test_normalise_pid_numeric_cells():
    # openpyxl hands number cells over as int or float.
    raw = pd.Series(
        [
            1103701234563,  # int cell
            1103701234563.0,  # float cell: a double holds all 13 digits exactly
            103701234565,  # category-0 PID whose leading 0 Excel dropped: check digit confirms
            103701234566,  # 12 digits whose zero-padded form fails the check: not trusted
            1103701234563.5,  # not an integer
            np.nan,  # empty numeric cell
        ],
        dtype=object,
    )
    out = normalise_pid(raw)
    assert out["pid_status"].tolist() == [
        "valid",
        "valid",
        "valid",
        "invalid",
        "invalid",
        "missing",
    ]
    assert out["pid"].iloc[:3].tolist() == [GOOD, GOOD, "0103701234565"]
    assert out["pid"].iloc[3:].isna().all()


def test_normalise_pid_float_column():
    # A whole column read as float64 (all numbers, NaN for blanks).
    out = normalise_pid(pd.Series([1103701234563.0, np.nan], index=["a", "b"]))
    assert out["pid"].tolist()[0] == GOOD
    assert out["pid_status"].tolist() == ["valid", "missing"]
    assert out.index.tolist() == ["a", "b"]


@pytest.mark.parametrize(
    "first12", ["110370123456", "010370123456", "610370123456", "310123456789", "999999999999"]
)
def test_pid_check_digit_matches_formula(first12):
    assert pid_check_digit(pd.Series([first12])).iloc[0] == _reference_check_digit(first12)


def test_pid_check_digit_vectorised_and_na():
    out = pid_check_digit(
        pd.Series(["110370123456", "12345", None, "๑๑๐๓๗๐๑๒๓๔๕๖"], index=[5, 6, 7, 8])
    )
    assert out.index.tolist() == [5, 6, 7, 8]
    assert out.iloc[0] == "3"  # 1103701234563
    assert out.iloc[1:].isna().all()  # wrong length, missing, non-ASCII digits


def test_pid_category():
    pids = pd.Series(["0103701234565", GOOD, "6103701234564", "8111111111116", None, "9" * 13])
    assert pid_category(pids).tolist()[:4] == [
        "no_registration_status",  # 0: person without civil-registration status
        "thai_born_registered",  # 1
        "non_thai_resident",  # 6
        "naturalised",  # 8
    ]
    assert pid_category(pids).iloc[4:].isna().all()  # missing, unknown category 9
