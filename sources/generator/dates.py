"""Vectorised calendar helpers; dates are int64 days since 1970-01-01 (CE)."""

from __future__ import annotations

import numpy as np

THAI_MONTHS = np.array(
    [
        "ม.ค.",
        "ก.พ.",
        "มี.ค.",
        "เม.ย.",
        "พ.ค.",
        "มิ.ย.",
        "ก.ค.",
        "ส.ค.",
        "ก.ย.",
        "ต.ค.",
        "พ.ย.",
        "ธ.ค.",
    ],
    dtype=object,
)
THAI_MONTHS_FULL = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
]
BE_OFFSET = 543


def day(text: str) -> int:
    """Days since epoch of an ISO date string."""
    return int(np.datetime64(text, "D").astype(np.int64))


def month_span(yyyymm: str) -> tuple[int, int]:
    """First and last day (inclusive) of a CE month ``YYYYMM``."""
    first = np.datetime64(f"{yyyymm[:4]}-{yyyymm[4:]}", "M")
    return int(first.astype("datetime64[D]").astype(np.int64)), int(
        (first + 1).astype("datetime64[D]").astype(np.int64) - 1
    )


def month_list(first_month: str, months: int) -> list[str]:
    """``months`` consecutive ``YYYYMM`` strings from ``first_month``."""
    start = np.datetime64(f"{first_month[:4]}-{first_month[4:]}", "M")
    return [str(start + i).replace("-", "") for i in range(months)]


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day int arrays of day numbers."""
    dt = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    d = (dt - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Day numbers of valid year/month/day arrays."""
    months = (np.asarray(y) - 1970) * 12 + np.asarray(m) - 1
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + d - 1


def age_years(birth: np.ndarray, at: np.ndarray | int) -> np.ndarray:
    """Completed years of age on day ``at``."""
    by, bm, bd = ymd(birth)
    ay, am, ad = ymd(np.broadcast_to(at, np.shape(birth)))
    return ay - by - ((am * 100 + ad) < (bm * 100 + bd))


def text(values: np.ndarray) -> np.ndarray:
    """Object array of the decimal strings of an int array."""
    return np.asarray(values).astype(str).astype(object)


def zpad(values: np.ndarray, width: int) -> np.ndarray:
    """Object array of zero-padded decimal strings of an int array."""
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:  # numpy's zfill cannot size an empty array
        return np.zeros(values.shape, dtype=object)
    return np.strings.zfill(values.astype(str), width).astype(object)


def to_datetime(days: np.ndarray) -> np.ndarray:
    """``datetime64[ms]`` of day numbers (for parquet truth)."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ms]")
