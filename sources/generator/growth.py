"""Plausible weight and height for an age, and the Thai school grade for a birth date."""

from __future__ import annotations

import numpy as np

from . import dates

_AGE = np.array([0, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 60])
_HEIGHT = np.array([50, 67, 75, 87, 95, 102, 109, 115, 127, 138, 150, 160, 166, 168, 160])
_WEIGHT = np.array([3.3, 7.5, 9.5, 12.2, 14.3, 16.3, 18.3, 20.5, 26, 32, 40, 50, 56, 59, 62])
GRADES = np.array(
    ["อ.1", "อ.2", "อ.3", "ป.1", "ป.2", "ป.3", "ป.4", "ป.5", "ป.6", "ม.1", "ม.2", "ม.3"],
    dtype=object,
)


def body(birth: np.ndarray, on_day: np.ndarray | int, z: np.ndarray) -> tuple:
    """Weight (kg, 1 decimal) and height (cm, 1 decimal) on ``on_day`` for a child-level z-score."""
    age = (np.asarray(on_day) - birth) / 365.25
    h = np.interp(age, _AGE, _HEIGHT) * (1 + 0.04 * z)
    w = np.interp(age, _AGE, _WEIGHT) * (1 + 0.12 * z)
    return np.round(w, 1), np.round(h, 1)


def grade(birth: np.ndarray, on_day: int) -> np.ndarray:
    """Grade label: age on 16 May of the current academic year minus 3, within อ.1-ม.3."""
    y, m, d = dates.ymd(np.array([on_day]))
    year = int(y[0]) if (m[0], d[0]) >= (5, 16) else int(y[0]) - 1
    age = dates.age_years(birth, dates.day(f"{year}-05-16"))
    return GRADES[np.clip(age - 3, 0, len(GRADES) - 1)]
