"""Which persons each snapshot source holds in a month (stable per child, so keys persist)."""

from __future__ import annotations

import numpy as np

from .records import MonthView
from .rng import hash_uniform

SCHOOL_SHARE = 0.70  # of children aged 4-15
CENTRE_SHARE = 0.15  # of children aged 2-5
HEALTH_YOUNG, HEALTH_OLDER = 0.80, 0.20  # of children aged 0-6, and older
MOTHER_AT_HEALTH = 0.5  # mothers of registered children under 3 also registered


def _child(u, mv: MonthView) -> np.ndarray:
    return (u.persons["role"].to_numpy() == "child") & mv.alive & (mv.age < 18)


def centre(u, mv: MonthView) -> np.ndarray:
    """Children registered at a child development centre."""
    h = hash_uniform(u.seed, "cov-centre", np.arange(len(u.persons)))
    return _child(u, mv) & (mv.age >= 2) & (mv.age <= 5) & (h < CENTRE_SHARE)


def school(u, mv: MonthView) -> np.ndarray:
    """Children on a BMA school roll (not those still at a child centre)."""
    h = hash_uniform(u.seed, "cov-school", np.arange(len(u.persons)))
    return _child(u, mv) & (mv.age >= 4) & (mv.age <= 15) & (h < SCHOOL_SHARE) & ~centre(u, mv)


def health(u, mv: MonthView) -> np.ndarray:
    """Children registered at a health centre, and some mothers of registered infants."""
    p = u.persons
    h = hash_uniform(u.seed, "cov-health", np.arange(len(p)))
    kids = _child(u, mv) & ((h < HEALTH_OLDER) | ((mv.age <= 6) & (h < HEALTH_YOUNG)))
    young = kids & (mv.age < 3) & (p["child_no"].to_numpy() == 0)
    fam_young = np.zeros(len(u.fam), dtype=bool)
    fam_young[p["fidx"].to_numpy()[young]] = True
    mother = (p["role"].to_numpy() == "mother") & mv.alive & fam_young[p["fidx"].to_numpy()]
    return kids | (mother & (h < MOTHER_AT_HEALTH))


def z_score(seed: int, key: np.ndarray) -> np.ndarray:
    """Roughly standard-normal child-level size score."""
    return sum(hash_uniform(seed, f"z{i}", key) for i in range(3)) * 2.0 - 3.0
