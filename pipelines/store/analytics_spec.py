"""What the analytics tables contain: thresholds, schedules and each column's derivation.

The derivations (:class:`~pipelines.store.agreements.Derivation`) say which standard fields a
published column is computed from; :func:`published_columns` drops every column whose inputs
no data-sharing agreement permits in analytics, and the lineage module turns the same
derivations into OpenLineage column lineage.
"""

from __future__ import annotations

from pipelines.store.agreements import Agreement, Derivation
from schemas.columns import SOURCES

MIN_COUNT = 5
HIGH_ABSENCE_DAYS = 15
AGE_BANDS = ((36, "0-2"), (72, "3-5"), (144, "6-11"), (180, "12-14"), (216, "15-17"))
# Thai EPI schedule (MoPH), simplified: vaccine -> age due in months. LAJE2 is due at 2½ years
# (30 m) in the MoPH schedule; rotavirus is left out (introduced gradually, not everywhere yet).
EPI_SCHEDULE = {
    "BCG": 0,
    "HBV1": 0,
    "DTP-HB-HIB1": 2,
    "OPV1": 2,
    "DTP-HB-HIB2": 4,
    "OPV2": 4,
    "IPV": 4,
    "DTP-HB-HIB3": 6,
    "OPV3": 6,
    "MMR1": 9,
    "JE1": 12,
    "MMR2": 18,
    "DTP4": 18,
    "OPV4": 18,
    "JE2": 30,
    "DTP5": 48,
    "OPV5": 48,
}
EPI_GRACE_MONTHS = 1
EPI_MAX_AGE_MONTHS = 72
# Weight-for-age screening threshold (kg) by completed year of age: about WHO -2 SD (2006
# standards to 5 y, 2007 reference to 10 y), interpolated by month. A screening flag, not a
# diagnosis; replace with the MoPH Thai growth reference if the platform adopts it.
WEIGHT_FOR_AGE_MIN = {
    "M": (2.5, 7.7, 9.7, 11.3, 12.7, 14.1, 15.9, 17.7, 19.5, 21.3, 23.2),
    "F": (2.4, 7.0, 9.0, 10.8, 12.3, 13.7, 15.3, 17.1, 19.0, 21.0, 23.3),
}
DELAY_VALUES = ("สงสัยล่าช้า", "suspected_delay", "suspected delay", "delay", "delayed")
ON_TRACK_VALUES = ("สมวัย", "on_track", "on track", "normal")


def _d(*inputs, subtype="IDENTITY", masking=False, description="", needs=None, use=None):
    return Derivation(tuple(inputs), subtype, masking, description, needs, use)


_KEY = _d(
    ("person", "record_key"),
    subtype="TRANSFORMATION",
    masking=True,
    use="identity",
    description="opaque child id assigned by record linkage of the agency's record",
)


def _key_from(source: str) -> Derivation:
    return _d(
        ("person", "record_key", source),
        subtype="TRANSFORMATION",
        masking=True,
        use="identity",
        description=_KEY.description,
    )


_BIRTH = ("person", "birth_date")
_NOT_ENROLLED = _d(
    ("person", "presence", "schools"),
    _BIRTH,
    subtype="TRANSFORMATION",
    masking=True,
    needs=(("person", "presence", "schools"),),
    description="aged 6-14 at the reporting date and not on the latest roster",
)
_ABSENCE = _d(
    ("school_enrolment", "absent_days"),
    subtype="TRANSFORMATION",
    masking=True,
    description=f"absent days on the latest roster >= {HIGH_ABSENCE_DAYS}",
)
_POVERTY = _d(
    ("school_enrolment", "poor"),
    ("family_problem", "problem"),
    subtype="TRANSFORMATION",
    masking=True,
    description="equity-fund poor, or family passbook problem INCOME",
)
_VACC = _d(
    ("vaccination", "vaccine"),
    _BIRTH,
    subtype="TRANSFORMATION",
    masking=True,
    needs=(("vaccination", "vaccine"),),
    description="a dose of the EPI schedule overdue",
)
_DELAY = _d(
    ("centre_enrolment", "development_result"),
    subtype="TRANSFORMATION",
    masking=True,
    description="latest DSPM result is suspected delay",
)
_WEIGHTS = (
    ("school_enrolment", "weight_kg"),
    ("centre_enrolment", "weight_kg"),
    ("growth", "weight_kg"),
)
_UNDER = _d(
    *_WEIGHTS,
    ("growth", "date_serv"),
    _BIRTH,
    ("person", "sex"),
    subtype="TRANSFORMATION",
    masking=True,
    needs=_WEIGHTS,
    description="latest weight below the weight-for-age threshold",
)
_OPEN = _d(
    ("protection_case", "status"),
    subtype="AGGREGATION",
    masking=True,
    description="cases whose latest status is OPEN or REFERRED",
)
_PROBLEMS = _d(
    ("family_problem", "problem"),
    subtype="AGGREGATION",
    masking=True,
    description="problems at the family's latest passbook survey",
)


def _union(*ds: Derivation, description: str) -> Derivation:
    return _d(
        *{i: None for d in ds for i in d.inputs},
        subtype="TRANSFORMATION",
        masking=True,
        needs=tuple({i: None for d in ds for i in (d.needs or d.inputs)}),
        description=description,
    )


def _month(table: str, date_field: str | None = None) -> Derivation:
    inputs = ((table, date_field), (table, "month")) if date_field else ((table, "month"),)
    return _d(
        *inputs,
        subtype="TRANSFORMATION",
        masking=bool(date_field),
        description="month of the service (day dropped)"
        if date_field
        else "reporting month of the delivery",
    )


CHILD = {
    "child_id": _KEY,
    "age_band": _d(
        _BIRTH,
        subtype="TRANSFORMATION",
        masking=True,
        description="completed years at the reporting date, banded",
    ),
    "sex": _d(("person", "sex")),
    "district_code": _d(("person", "district_code")),
    "sources_present": _d(
        ("person", "presence"),
        subtype="TRANSFORMATION",
        masking=True,
        description="agencies holding a record on the child",
    ),
    **{
        f"in_{s}": _d(
            ("person", "presence", s),
            subtype="TRANSFORMATION",
            masking=True,
            description=f"{s} holds a record on the child",
        )
        for s in SOURCES
    },
    "latest_risk_colour": _d(
        ("protection_case", "risk_colour"),
        subtype="AGGREGATION",
        description="CPIS risk colour of the most recently updated case",
    ),
    "open_cases": _OPEN,
    "flag_learning": _union(_NOT_ENROLLED, _ABSENCE, _DELAY, description="learning need"),
    "flag_health": _union(_VACC, _UNDER, description="health need"),
    "flag_social": _union(_OPEN, _d(("protection_case", "risk_colour")), description="social need"),
    "flag_livelihood": _union(_POVERTY, _PROBLEMS, description="family livelihood need"),
    "not_enrolled_school_age": _NOT_ENROLLED,
    "high_absence": _ABSENCE,
    "poverty_screened": _POVERTY,
    "incomplete_vaccination_for_age": _VACC,
    "development_delay": _DELAY,
    "under_weight": _UNDER,
    "has_open_case": _OPEN,
    "passbook_problems": _PROBLEMS,
}
_ALL_CHILD = _union(*(d for c, d in CHILD.items() if c.startswith("flag_")), description="counts")
# Published tables -> column -> derivation; the first two columns of an event table are its key.
SPECS: dict[str, dict[str, Derivation]] = {
    "child": CHILD,
    "school_enrolment": {
        "child_id": _key_from("schools"),
        "service_month": _month("school_enrolment"),
        **{
            c: _d(("school_enrolment", c))
            for c in ("school_code", "grade", "absent_days", "poor", "weight_kg", "height_cm")
        },
    },
    "centre_enrolment": {
        "child_id": _key_from("child_centres"),
        "service_month": _month("centre_enrolment"),
        **{
            c: _d(("centre_enrolment", c))
            for c in ("centre_name", "development_result", "weight_kg", "height_cm")
        },
    },
    "vaccination": {
        "child_id": _key_from("health_centres"),
        "service_month": _month("vaccination", "date_serv"),
        "vaccine": _d(("vaccination", "vaccine")),
    },
    "growth": {
        "child_id": _key_from("health_centres"),
        "service_month": _month("growth", "date_serv"),
        "weight_kg": _d(("growth", "weight_kg")),
        "height_cm": _d(("growth", "height_cm")),
    },
    "protection_case": {
        "child_id": _key_from("cpis"),
        "case_no": _d(
            ("protection_case", "case_id"),
            subtype="TRANSFORMATION",
            masking=True,
            description="sequence number of the case within the child",
        ),
        "opened_month": _month("protection_case", "opened_at"),
        "case_type": _d(("protection_case", "case_type")),
        "risk_colour": _d(
            ("protection_case", "risk_colour"),
            subtype="TRANSFORMATION",
            description="normalised to green / yellow / red",
        ),
        "status": _d(("protection_case", "status")),
        "closed_month": _month("protection_case", "closed_at"),
    },
    "family_problem": {
        "child_id": _d(
            ("person", "record_key", "epassbook"),
            ("person", "family_ref"),
            subtype="TRANSFORMATION",
            masking=True,
            use="identity",
            description="every linked child of the surveyed family",
        ),
        "survey_month": _month("family_problem", "surveyed_at"),
        "problem": _d(("family_problem", "problem")),
        "income_per_month": _d(("family_problem", "income_per_month")),
    },
    "district_summary": {
        "district_code": _d(("person", "district_code"), subtype="AGGREGATION"),
        "dimension": _d(),
        "n": _ALL_CHILD,
        "suppressed": _ALL_CHILD,
    },
}
SPECS["school_age_not_enrolled"] = CHILD
VIEWS = {"school_age_not_enrolled": "SELECT * FROM child WHERE not_enrolled_school_age"}
_KEYS = {"child_id", "service_month", "survey_month", "case_no", "opened_month"}


def published_columns(agreements: dict[str, Agreement]) -> dict[str, list[str]]:
    """Columns of each analytics table the agreements let through (tables without any
    permitted content column are left out; ``child`` is always published)."""
    out = {}
    for table, spec in SPECS.items():
        cols = [c for c, d in spec.items() if d.available(agreements, "analytics")]
        if table == "district_summary":
            cols = list(spec)
        if table == "child" or table == "district_summary" or set(cols) - _KEYS:
            out[table] = cols
    return out
