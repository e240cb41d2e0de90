"""Dates as Thai agencies write them, parsed to CE ``datetime64[ms]``.

Every parser returns a DataFrame aligned on its input with columns:

    date       CE datetime64[ms]; NaT when blank or unusable
    precision  day | year | age | second (timestamps) | NA
    rule       NA, or the quarantine rule: unparseable_date, impossible_date, implausible_date,
               future_date
    note       NA, or what was repaired: era_swapped, dm_swapped, two_digit_year (';'-joined)

Years are integers until the very end: a Buddhist Era year has 543 subtracted before any date is
built, so 29/02/2567 BE is 2024-02-29 and 29/02/2566 BE is an impossible date. Plausibility is for
child records relative to the reporting date ``reference`` (pass the last day of the reporting
month): a year that is implausible in the expected era but gives an age of 0..``max_age`` in the
other era is read in the other era (note ``era_swapped``). A month above 12 with a day of at most 12
is read as day/month swapped (note ``dm_swapped``). Text is parsed once per distinct value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

Era = Literal["BE", "CE"]
COLUMNS = ("date", "precision", "rule", "note")
BE_OFFSET = 543
MIN_YEAR = 1900
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_MONTHS = zip(
    "มกราคม กุมภาพันธ์ มีนาคม เมษายน พฤษภาคม มิถุนายน กรกฎาคม สิงหาคม กันยายน ตุลาคม "
    "พฤศจิกายน ธันวาคม".split(),
    "มค กพ มีค เมย พค มิย กค สค กย ตค พย ธค".split(),
    strict=True,
)
_MONTH_NUMBER = {name: i + 1 for i, names in enumerate(_MONTHS) for name in names}
_MONTH_NUMBER["กรกฏาคม"] = 7  # common misspelling (ฏ for ฎ)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_TIME = r"(?:[T\s]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_DMY = rf"^([0-9]{{1,2}})\s*[/.\-]\s*([0-9]{{1,2}})\s*[/.\-]\s*([0-9]{{4}}|[0-9]{{2}}){_TIME}$"
_ISO = rf"^([0-9]{{4}})[\-/]([0-9]{{1,2}})[\-/]([0-9]{{1,2}}){_TIME}$"
_YYYYMMDD = r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:\.0+)?$"
_TS14 = r"^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})(?:\.0+)?$"
_THAI = (
    r"^(?:วันที่\s*)?([0-9]{1,2})\s*([ก-ฮะ-์.\s]+?)\s*((?:พ|ค)\s*\.?\s*ศ\s*\.?)?\s*([0-9]{4}|[0-9]{2})$"
)


def _clean(values: pd.Series) -> pd.Series:
    """Distinct raw values as stripped ASCII-digit text (blank -> NA)."""
    text = values.astype("str").str.translate(THAI_DIGITS).str.strip()
    return text.where(text != "")


def _per_distinct(raw: pd.Series, parse: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Run ``parse`` once on the distinct non-null values of ``raw`` and spread the result back."""
    if isinstance(raw.dtype, pd.StringDtype):  # text: factorised in Arrow, not as objects
        codes, text = pd.factorize(raw)
        uniques = np.asarray(text, dtype=object)
    else:
        codes, uniques = pd.factorize(raw.to_numpy(dtype=object))
    parsed = parse(pd.Series(uniques, dtype=object)) if len(uniques) else _empty(0)
    blank = _empty(1)
    table = pd.concat([parsed, blank], ignore_index=True)
    out = table.take(np.where(codes < 0, len(uniques), codes))
    out.index = raw.index
    return out


def _empty(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ms]")),
            **{c: pd.Series([np.nan] * n, dtype="str") for c in COLUMNS[1:]},
        }
    )


def _ints(parts: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Extracted regex groups to int64 arrays (0 where the group did not match)."""
    return tuple(pd.to_numeric(parts[c]).fillna(0).to_numpy(dtype=np.int64) for c in parts)


def _thai_month_number(token: pd.Series) -> np.ndarray:
    """Month number of a Thai month name or abbreviation (dots and spaces ignored), 0 if unknown."""
    key = token.str.replace(r"[.\s]", "", regex=True)
    return key.map(_MONTH_NUMBER).fillna(0).to_numpy(dtype=np.int64)


def _excel_ymd(value: object) -> tuple[int, int, int]:
    """(year, month, day) of one Excel cell value; (0, 0, 0) if unparseable, (-1, 0, 0) if blank."""
    if isinstance(value, (dt.date, pd.Timestamp)):  # datetime is a date subclass
        return value.year, value.month, value.day
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        serial = float(value)
    else:
        text = str(value).translate(THAI_DIGITS).strip()
        if not text:
            return -1, 0, 0
        m = re.fullmatch(_ISO, text)
        if m:
            return int(m[1]), int(m[2]), int(m[3])
        try:
            serial = float(text)
        except ValueError:
            return 0, 0, 0
    if not 1 <= serial < 2958466:
        return 0, 0, 0
    if int(serial) == 60:  # Excel's phantom 1900-02-29
        return 1900, 2, 29
    # Serials below 60 predate Excel's phantom leap day, so they count from one day later.
    day = _EXCEL_EPOCH + dt.timedelta(days=int(serial) + (1 if serial < 60 else 0))
    return day.year, day.month, day.day


def _resolve(
    y: np.ndarray,
    m: np.ndarray,
    d: np.ndarray,
    parsed: np.ndarray,
    era: Era | np.ndarray,
    reference: pd.Timestamp | None,
    *,
    max_age: int = 25,
    two_digit: np.ndarray | None = None,
    year_only: np.ndarray | None = None,
    blank: np.ndarray | None = None,
    swap_dm: bool = False,
) -> pd.DataFrame:
    """Turn integer year/month/day triples into the standard date frame (all vectorised)."""
    n = len(y)
    two_digit = np.zeros(n, bool) if two_digit is None else two_digit
    is_be = np.broadcast_to(np.asarray(era) == "BE", (n,))
    y = np.where(two_digit, y + np.where(is_be, 2500, 2000), y)
    y_ce = np.where(is_be, y - BE_OFFSET, y)
    y_alt = np.where(is_be, y, y - BE_OFFSET)
    ref = pd.Timestamp("2262-01-01") if reference is None else pd.Timestamp(reference)
    primary_ok = (y_ce >= MIN_YEAR) & (y_ce <= ref.year)
    alt_ok = (ref.year - y_alt >= 0) & (ref.year - y_alt <= max_age) & (reference is not None)
    era_swap = parsed & ~primary_ok & alt_ok
    year = np.where(era_swap, y_alt, y_ce)
    dm_swap = swap_dm & parsed & (m > 12) & (d >= 1) & (d <= 12)
    month, day = np.where(dm_swap, d, m), np.where(dm_swap, m, d)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    dim = _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    possible = parsed & (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
    implausible = possible & ((year < MIN_YEAR) | (year > ref.year + 1))
    safe = possible & ~implausible
    months = np.where(safe, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    date = (months.astype("datetime64[D]") + np.where(safe, day - 1, 0)).astype("datetime64[ms]")
    future = safe & (reference is not None) & (date > ref.to_datetime64())
    blank = ~parsed if blank is None else blank
    rule = np.select(
        [blank, ~parsed, ~possible, implausible, future],
        [None, "unparseable_date", "impossible_date", "implausible_date", "future_date"],
        default=None,
    )
    usable = safe & ~future
    year_only = np.zeros(n, bool) if year_only is None else year_only
    notes = [
        (era_swap, "era_swapped"),
        (dm_swap, "dm_swapped"),
        (two_digit & parsed, "two_digit_year"),
    ]
    note = pd.Series([""] * n, dtype="str")
    for mask, label in notes:
        note = note.mask(mask, note + ";" + label)
    return pd.DataFrame(
        {
            "date": np.where(usable, date, np.datetime64("NaT", "ms")),
            "precision": pd.array(
                np.where(usable, np.where(year_only, "year", "day"), None), "str"
            ),
            "rule": pd.array(rule, dtype="str"),
            "note": note.str.lstrip(";").replace("", np.nan).array,
        }
    )


def _regex_parser(pattern: str, era: Era, reference: pd.Timestamp | None, max_age: int):
    """Parser for the day-first (``_DMY``) or year-first (``_ISO``) numeric shapes."""
    day_first = pattern == _DMY

    def parse(uniques: pd.Series) -> pd.DataFrame:
        text = _clean(uniques)
        parts = text.str.extract(pattern)
        d, m, y = _ints(parts) if day_first else _ints(parts)[::-1]
        year_text = parts[2] if day_first else parts[0]
        two = (year_text.str.len() == 2).fillna(False).to_numpy(dtype=bool)
        return _resolve(
            y,
            m,
            d,
            year_text.notna().to_numpy(),
            era,
            reference,
            max_age=max_age,
            two_digit=two,
            blank=text.isna(),
            swap_dm=day_first,
        )

    return parse


def parse_dmy(
    raw: pd.Series, era: Era, reference: pd.Timestamp, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse ``dd/mm/yyyy`` dates (also ``d/m/yyyy``, ``-`` or ``.``, Thai digits, ``yy``).

    Args:
        raw: Date text as typed.
        era: Era the field is expected to hold (``BE`` for school and CPIS birth dates).
        reference: Reporting date; later dates are ``future_date``.
        max_age: Oldest age (years) accepted when deciding that the other era was meant.

    Returns:
        The standard frame ``date, precision, rule, note`` aligned on ``raw.index``.
    """
    return _per_distinct(raw, _regex_parser(_DMY, era, reference, max_age))


def parse_iso(
    raw: pd.Series, era: Era, reference: pd.Timestamp, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse ``YYYY-MM-DD`` dates (epassbook writes BE years this way, CPIS CE).

    Args:
        raw: Date text; a trailing time is ignored.
        era: Era the field is expected to hold.
        reference: Reporting date.
        max_age: Oldest age accepted when deciding that the other era was meant.

    Returns:
        The standard frame aligned on ``raw.index``.
    """
    return _per_distinct(raw, _regex_parser(_ISO, era, reference, max_age))


def parse_yyyymmdd(
    raw: pd.Series, reference: pd.Timestamp, year_only_marker: bool = True, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse MoPH ``YYYYMMDD`` dates (CE); ``YYYY0101`` or ``YYYY0000`` means year only.

    Args:
        raw: Date text.
        reference: Reporting date.
        year_only_marker: Read ``YYYY0101`` as year precision, as the 43-file standard writes it.
        max_age: Oldest age accepted when deciding that a BE year was meant.

    Returns:
        The standard frame aligned on ``raw.index``; year-only dates are 1 January, precision
        ``year``.
    """

    def parse(uniques: pd.Series) -> pd.DataFrame:
        text = _clean(uniques)
        parts = text.str.extract(_YYYYMMDD)
        y, m, d = _ints(parts)
        unknown = (m == 0) & (d == 0)
        year_only = unknown | ((m == 1) & (d == 1) & year_only_marker)
        m, d = np.where(unknown, 1, m), np.where(unknown, 1, d)
        parsed = parts[0].notna().to_numpy()
        return _resolve(
            y,
            m,
            d,
            parsed,
            "CE",
            reference,
            max_age=max_age,
            year_only=year_only,
            blank=text.isna(),
        )

    return _per_distinct(raw, parse)


def parse_timestamp14(raw: pd.Series, reference: pd.Timestamp | None = None) -> pd.DataFrame:
    """Parse ``YYYYMMDDHHMMSS`` timestamps (MoPH ``D_UPDATE``, CE).

    Args:
        raw: Timestamp text.
        reference: Reporting date; later timestamps are ``future_date``. None skips that check.

    Returns:
        The standard frame aligned on ``raw.index``; ``date`` carries the time, precision
        ``second``.
    """

    def parse(uniques: pd.Series) -> pd.DataFrame:
        text = _clean(uniques)
        parts = text.str.extract(_TS14)
        y, m, d, hh, mm, ss = _ints(parts)
        parsed = parts[0].notna().to_numpy() & (hh < 24) & (mm < 60) & (ss < 60)
        ref_day = None if reference is None else pd.Timestamp(reference).normalize()
        out = _resolve(y, m, d, parsed, "CE", ref_day, max_age=200, blank=text.isna())
        clock = pd.to_timedelta(hh * 3600 + mm * 60 + ss, unit="s").to_numpy()
        out["date"] = (out["date"] + clock).astype("datetime64[ms]")
        next_day = None if ref_day is None else ref_day + pd.Timedelta(days=1)
        late = (out["date"] >= next_day) if next_day is not None else False
        out.loc[late, ["date", "precision"]] = [pd.NaT, np.nan]
        out.loc[late, "rule"] = "future_date"
        out["precision"] = out["precision"].replace("day", "second")
        return out

    return _per_distinct(raw, parse)


def parse_thai_text_date(
    raw: pd.Series, reference: pd.Timestamp, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse Thai text dates: ``5 มี.ค. 2563``, ``5 มีนาคม 2563``, ``5 มี.ค. พ.ศ. 2563``.

    Years are BE unless marked ``ค.ศ.``, or plausible only as CE (then ``era_swapped``).

    Args:
        raw: Date text with a full or abbreviated Thai month name.
        reference: Reporting date.
        max_age: Oldest age accepted when deciding that the other era was meant.

    Returns:
        The standard frame aligned on ``raw.index``.
    """

    def parse(uniques: pd.Series) -> pd.DataFrame:
        text = _clean(uniques)
        parts = text.str.extract(_THAI)
        month = _thai_month_number(parts[1])
        era = np.where(parts[2].str.startswith("ค").fillna(False), "CE", "BE")
        d, y = _ints(parts[[0, 3]])
        parsed = parts[3].notna().to_numpy() & (month > 0)
        two = (parts[3].str.len() == 2).fillna(False).to_numpy(dtype=bool)
        return _resolve(
            y,
            month,
            d,
            parsed,
            era,
            reference,
            max_age=max_age,
            two_digit=two,
            blank=text.isna(),
        )

    return _per_distinct(raw, parse)


def parse_excel_serial(
    raw: pd.Series, reference: pd.Timestamp | None = None, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse Excel date cells: serial numbers (``43895``), ``datetime`` objects or their text.

    openpyxl gives ``datetime`` objects, written out as ``2020-03-05 00:00:00``; Excel in a Thai
    locale may hold a BE year there, which is read as CE unless ``reference`` says only BE fits.

    Args:
        raw: Cell values (numbers, datetimes or text).
        reference: Reporting date; None skips the era and future checks.
        max_age: Oldest age accepted when deciding that the other era was meant.

    Returns:
        The standard frame aligned on ``raw.index``.
    """

    def parse(uniques: pd.Series) -> pd.DataFrame:
        ymd = np.array([_excel_ymd(v) for v in uniques], dtype=np.int64).reshape(-1, 3)
        parsed = ymd[:, 0] > 0
        blank = ymd[:, 0] == -1
        return _resolve(
            ymd[:, 0],
            ymd[:, 1],
            ymd[:, 2],
            parsed,
            "CE",
            reference,
            max_age=max_age,
            blank=blank,
        )

    return _per_distinct(raw, parse)


def parse_mixed_child_centre_date(
    raw: pd.Series, reference: pd.Timestamp, *, max_age: int = 25
) -> pd.DataFrame:
    """Parse the child-centre birth date column, which mixes every shape.

    Excel dates (objects, ``YYYY-MM-DD`` text, serial numbers) go to ``parse_excel_serial``, text
    with Thai letters to ``parse_thai_text_date``, everything else to ``parse_dmy`` with era BE
    (CE years are caught by the era check).

    Args:
        raw: Cell values.
        reference: Reporting date.
        max_age: Oldest age accepted when deciding that the other era was meant.

    Returns:
        The standard frame aligned on ``raw.index``.
    """

    def parse(uniques: pd.Series) -> pd.DataFrame:
        is_obj = uniques.map(lambda v: not isinstance(v, str)).to_numpy(dtype=bool)
        text = _clean(uniques)
        excel = is_obj | text.str.fullmatch(
            rf"[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}{_TIME}|"
            r"[0-9]{5}(?:\.[0-9]+)?"
        ).fillna(False)
        thai = ~excel & text.str.contains(r"[ก-ฮ]").fillna(False)
        parts = [
            parse_excel_serial(uniques[excel], reference, max_age=max_age),
            parse_thai_text_date(uniques[thai], reference, max_age=max_age),
            parse_dmy(uniques[~excel & ~thai], "BE", reference, max_age=max_age),
        ]
        return pd.concat(parts).sort_index()

    return _per_distinct(raw, parse)


def birth_date_from_age(age_years: pd.Series, at: pd.Series | pd.Timestamp) -> pd.DataFrame:
    """Estimate a birth date from an age in completed years at a date.

    The year is ``at.year - age`` and the day 1 July (the year's midpoint), but never after ``at``.

    Args:
        age_years: Age in years (numbers or text); fractions are floored.
        at: Date the age was recorded (a Series aligned with ``age_years`` or one Timestamp).

    Returns:
        The standard frame with precision ``age``; a non-numeric age is ``unparseable_date``, a
        negative one or one over 120 ``implausible_date``.
    """
    age = pd.to_numeric(age_years.astype("str").str.translate(THAI_DIGITS), errors="coerce")
    when = at if isinstance(at, pd.Series) else pd.Series(at, index=age_years.index)
    when = pd.to_datetime(when).astype("datetime64[ms]")
    present = age_years.notna() & (age_years.astype("str").str.strip() != "")
    whole = np.floor(age)
    ok = whole.between(0, 120) & when.notna()
    year = (when.dt.year - whole).where(ok).fillna(1970).astype(np.int64).to_numpy()
    mid = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 6
    date = pd.Series(mid.astype("datetime64[ms]"), index=age_years.index)
    date = date.where(date <= when, when).where(ok)
    rule = np.select(
        [present & age.isna(), present & ~whole.between(0, 120)],
        ["unparseable_date", "implausible_date"],
        default=None,
    )
    return pd.DataFrame(
        {
            "date": date.astype("datetime64[ms]"),
            "precision": pd.Series(np.where(ok, "age", None), index=age_years.index, dtype="str"),
            "rule": pd.Series(rule, index=age_years.index, dtype="str"),
            "note": pd.Series(np.nan, index=age_years.index, dtype="str"),
        }
    )


def age_at(birth_date: pd.Series, reference: pd.Series | pd.Timestamp | dt.date) -> pd.Series:
    """Age in completed years at ``reference``.

    Args:
        birth_date: Birth dates (NaT allowed).
        reference: One date or a Series aligned with ``birth_date``.

    Returns:
        Int64 ages aligned on ``birth_date.index`` (NA where either date is missing).
    """
    born = pd.to_datetime(birth_date)
    if isinstance(reference, pd.Series):
        ref = pd.to_datetime(reference)
        ry, rm, rd = ref.dt.year, ref.dt.month, ref.dt.day
    else:
        ref = pd.Timestamp(reference)
        ry, rm, rd = ref.year, ref.month, ref.day
    before_birthday = (rm < born.dt.month) | ((rm == born.dt.month) & (rd < born.dt.day))
    age = ry - born.dt.year - before_birthday.astype("float64")
    return age.where(born.notna()).astype("Int64")
