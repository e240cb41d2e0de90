"""Date parsing: BE/CE, Thai text, Excel cells, year-only and ages, with exact outcomes."""

import datetime as dt

import numpy as np
import pandas as pd

from schemas.dates import (
    age_at,
    birth_date_from_age,
    parse_dmy,
    parse_excel_serial,
    parse_iso,
    parse_mixed_child_centre_date,
    parse_thai_text_date,
    parse_timestamp14,
    parse_yyyymmdd,
)

REF = pd.Timestamp("2024-03-31")  # last day of reporting month 202403
NA = None


def _rows(out: pd.DataFrame) -> list[tuple]:
    """(date as ISO text or None, precision, rule, note) per row, NA as None."""

    def clean(v):
        return None if pd.isna(v) else v

    dates = [None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in out["date"]]
    return [
        (d, clean(p), clean(r), clean(n))
        for d, p, r, n in zip(dates, out["precision"], out["rule"], out["note"], strict=True)
    ]


def _check(out: pd.DataFrame, raw: pd.Series, expected: list[tuple]) -> None:
    assert list(out.columns) == ["date", "precision", "rule", "note"]
    assert out.index.equals(raw.index)
    assert out["date"].dtype == "datetime64[ms]"
    assert _rows(out) == expected


def test_parse_dmy_buddhist_era():
    raw = pd.Series(
        [
            "15/03/2558",  # school birth date, BE
            "29/02/2567",  # 2024 is a leap year: valid once 543 is subtracted first
            "29/02/2566",  # 2023 is not: impossible
            "31/02/2561",  # 31 February never exists
            "05/03/2015",  # CE year typed in a BE field: 1472 is implausible, 2015 fits a child
            "12/25/2560",  # month 25 with day 12: day and month swapped
            "25/13/2560",  # month 13 with day 25: cannot be a swap
            "๕/๓/๒๕๖๓",  # Thai digits, one-digit day and month
            "5-3-2563",  # dashes
            "05.03.2563",  # dots
            "05/03/63",  # two-digit BE year
            "01/04/2567",  # the day after the reference date
            "01/01/2300",  # 1757 CE, and 2300 is no CE child either
            "15/03/2558 00:00",  # a trailing time
            "not a date",  # garbage
            "",  # blank
            None,  # empty
        ],
        index=range(10, 27),
    )
    _check(
        parse_dmy(raw, "BE", REF),
        raw,
        [
            ("2015-03-15", "day", NA, NA),
            ("2024-02-29", "day", NA, NA),
            (NA, NA, "impossible_date", NA),
            (NA, NA, "impossible_date", NA),
            ("2015-03-05", "day", NA, "era_swapped"),
            ("2017-12-25", "day", NA, "dm_swapped"),
            (NA, NA, "impossible_date", NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, "two_digit_year"),
            (NA, NA, "future_date", NA),
            (NA, NA, "implausible_date", NA),
            ("2015-03-15", "day", NA, NA),
            (NA, NA, "unparseable_date", NA),
            (NA, NA, NA, NA),
            (NA, NA, NA, NA),
        ],
    )


def test_parse_dmy_common_era_field_and_repeats():
    raw = pd.Series(["05/03/2020", "05/03/2563", "05/03/2020", "31/12/2023"])
    _check(
        parse_dmy(raw, "CE", REF),
        raw,
        [
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, "era_swapped"),  # BE year in a CE field
            ("2020-03-05", "day", NA, NA),  # repeated value: same answer
            ("2023-12-31", "day", NA, NA),
        ],
    )


def test_parse_iso_epassbook_and_cpis():
    be = pd.Series(["2566-05-12", "2563-03-05", "2020-03-05", "2525-01-30", "2566-02-29"])
    _check(
        parse_iso(be, "BE", REF),
        be,
        [
            ("2023-05-12", "day", NA, NA),  # epassbook survey date, BE ISO-style
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, "era_swapped"),  # CE in a BE field
            ("1982-01-30", "day", NA, NA),  # an adult member: plausible in its own era
            (NA, NA, "impossible_date", NA),  # 2023-02-29
        ],
    )
    ce = pd.Series(["2024-03-01", "2567-03-01"])
    _check(
        parse_iso(ce, "CE", REF),
        ce,
        [("2024-03-01", "day", NA, NA), ("2024-03-01", "day", NA, "era_swapped")],
    )


def test_parse_yyyymmdd_moph():
    raw = pd.Series(["20150305", "20150101", "20150000", "25580305", "20230229", "2015", None])
    _check(
        parse_yyyymmdd(raw, REF),
        raw,
        [
            ("2015-03-05", "day", NA, NA),
            ("2015-01-01", "year", NA, NA),  # YYYY0101: only the year is known
            ("2015-01-01", "year", NA, NA),  # YYYY0000: also year only
            ("2015-03-05", "day", NA, "era_swapped"),  # BE year in the CE 43-file
            (NA, NA, "impossible_date", NA),
            (NA, NA, "unparseable_date", NA),
            (NA, NA, NA, NA),
        ],
    )
    # Without the marker, 1 January is an ordinary day.
    assert parse_yyyymmdd(raw.iloc[[1]], REF, year_only_marker=False)["precision"].iloc[0] == "day"


def test_parse_timestamp14():
    out = parse_timestamp14(pd.Series(["20240305123456", "20240401000000", "20240305250000"]), REF)
    assert out["date"].iloc[0] == pd.Timestamp("2024-03-05 12:34:56")
    assert out["precision"].iloc[0] == "second"
    assert out["rule"].tolist()[1:] == ["future_date", "unparseable_date"]  # next month; 25 h


def test_parse_thai_text_date():
    raw = pd.Series(
        [
            "5 มี.ค. 2563",  # abbreviated month
            "5 มีนาคม 2563",  # full month
            "05 มีค 2563",  # abbreviation without dots
            "วันที่ 5 มีนาคม พ.ศ. 2563",  # with "day" and era words
            "5 มี.ค. 2015",  # CE year, plausible only as CE
            "29 ก.พ. 2567",  # BE leap day
            "31 ก.พ. 2563",  # impossible
            "5 foo 2563",  # unknown month
        ]
    )
    _check(
        parse_thai_text_date(raw, REF),
        raw,
        [
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2015-03-05", "day", NA, "era_swapped"),
            ("2024-02-29", "day", NA, NA),
            (NA, NA, "impossible_date", NA),
            (NA, NA, "unparseable_date", NA),
        ],
    )


def test_parse_excel_serial():
    raw = pd.Series(
        [
            43895,  # serial number cell = 2020-03-05
            "43895",  # the same written out as text
            43895.75,  # with a time of day
            "2020-03-05 00:00:00",  # a datetime cell written out by openpyxl
            dt.datetime(2020, 3, 5),  # the datetime object itself
            dt.datetime(2563, 3, 5),  # Thai-locale Excel holding a BE year
            60,  # Excel's phantom 1900-02-29
            "abc",
            np.nan,
        ],
        dtype=object,
    )
    _check(
        parse_excel_serial(raw, REF),
        raw,
        [
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, "era_swapped"),
            (NA, NA, "impossible_date", NA),
            (NA, NA, "unparseable_date", NA),
            (NA, NA, NA, NA),
        ],
    )


def test_parse_mixed_child_centre_date():
    raw = pd.Series(
        [
            dt.datetime(2020, 3, 5),  # Excel date cell
            43895,  # serial number
            "5 มี.ค. 2563",  # Thai text
            "05/03/2563",  # BE text
            "05/03/2020",  # occasionally CE
            "31/02/2563",  # impossible
            None,
        ],
        dtype=object,
        index=list("abcdefg"),
    )
    _check(
        parse_mixed_child_centre_date(raw, REF),
        raw,
        [
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, NA),
            ("2020-03-05", "day", NA, "era_swapped"),
            (NA, NA, "impossible_date", NA),
            (NA, NA, NA, NA),
        ],
    )


def test_birth_date_from_age():
    ages = pd.Series([5, "7", None, "ไม่ทราบ", -1, 0], index=range(1, 7))
    opened = pd.Series(pd.to_datetime(["2024-09-01"] * 5 + ["2024-03-01"]), index=ages.index)
    _check(
        birth_date_from_age(ages, opened),
        ages,
        [
            ("2019-07-01", "age", NA, NA),  # 2024 - 5, mid-year
            ("2017-07-01", "age", NA, NA),  # age as text
            (NA, NA, NA, NA),  # no age given
            (NA, NA, "unparseable_date", NA),  # "unknown"
            (NA, NA, "implausible_date", NA),  # negative age
            ("2024-03-01", "age", NA, NA),  # mid-year would be after the case date: capped
        ],
    )


def test_age_at():
    born = pd.Series(pd.to_datetime(["2020-03-05", "2020-04-01", None, "2020-03-31"]))
    assert age_at(born, REF).tolist() == [4, 3, pd.NA, 4]  # birthday not yet reached for row 2
    per_row = pd.Series(pd.to_datetime(["2021-03-04", "2021-04-01", "2021-01-01", "2021-03-31"]))
    assert age_at(born, per_row).tolist() == [0, 1, pd.NA, 1]
    assert str(age_at(born, REF).dtype) == "Int64"
