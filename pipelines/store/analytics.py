"""The analysts' model: pseudonymised child table, event tables by month, district summary.

Built in DuckDB from the staging views of :mod:`pipelines.store.staging`. Nothing here carries
names, PIDs, G-codes, phones, addresses, exact dates or source record keys: children are keyed
by ``child_id`` only, age is a band at the reporting date, services are dated by month, and
district counts below :data:`MIN_COUNT` are suppressed.

Indicators are True (evidence of the need), False (assessed, no evidence) or NULL (the data
that would assess it is not there). A dimension flag is True when any of its indicators is.

* ``not_enrolled_school_age``: aged 6-14 and not on the latest school roster (BMA schools only;
  NULL when no roster has been delivered).
* ``high_absence``: :data:`HIGH_ABSENCE_DAYS` or more absent days on the latest roster.
* ``poverty_screened``: equity-fund poor on the latest roster, or family passbook problem INCOME.
* ``incomplete_vaccination_for_age``: children under :data:`EPI_MAX_AGE_MONTHS` months with a
  health-centre record missing a dose of :data:`EPI_SCHEDULE` due (+ :data:`EPI_GRACE_MONTHS`).
* ``development_delay``: latest DSPM result is "suspected delay".
* ``under_weight``: latest weight below :data:`WEIGHT_FOR_AGE_MIN` for age and sex (0-10 y).
* ``has_open_case`` / ``open_cases``: CPIS cases whose latest status is OPEN or REFERRED.
* ``passbook_problems``: problems recorded at the family's latest passbook survey.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from pipelines.store.agreements import Agreement, load_agreements, permitting
from pipelines.store.agreements import sql_source_in as _in
from pipelines.store.analytics_spec import (
    AGE_BANDS,
    DELAY_VALUES,
    EPI_GRACE_MONTHS,
    EPI_MAX_AGE_MONTHS,
    EPI_SCHEDULE,
    HIGH_ABSENCE_DAYS,
    MIN_COUNT,
    ON_TRACK_VALUES,
    WEIGHT_FOR_AGE_MIN,
    published_columns,
)
from pipelines.store.privacy import connect
from pipelines.store.staging import PublishInput, stage
from schemas.columns import SOURCES


def _ym(expr: str) -> str:
    """'YYYY-MM' from a 'YYYYMM' reporting month."""
    return f"(substr({expr}, 1, 4) || '-' || substr({expr}, 5, 2))"


def _service_month(date_col: str) -> str:
    """'YYYY-MM' of a service date, else of the reporting month."""
    return f"coalesce(strftime(TRY_CAST({date_col} AS DATE), '%Y-%m'), {_ym('month')})"


def _month_start(expr: str) -> str:
    return f"try_strptime({expr} || '01', '%Y%m%d')::DATE"


def _months_between(start: str, end: str) -> str:
    """Completed months from ``start`` to ``end`` (NULL when ``start`` is after ``end``)."""
    return (
        f"CASE WHEN {start} <= {end} THEN (year({end}) - year({start})) * 12 + month({end})"
        f" - month({start}) - CASE WHEN day({end}) < day({start}) THEN 1 ELSE 0 END END"
    )


def _bool_text(expr: str) -> str:
    t = f"lower(trim({expr}::VARCHAR))"
    return (
        f"CASE WHEN {t} IN ('true', 't', '1', 'yes', 'y', 'ใช่') THEN TRUE "
        f"WHEN {t} IN ('false', 'f', '0', 'no', 'n', 'ไม่ใช่') THEN FALSE END"
    )


def _reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.register(
        "epi_schedule",
        pd.DataFrame({"vaccine": list(EPI_SCHEDULE), "due_months": list(EPI_SCHEDULE.values())}),
    )
    months = np.arange(0, 121)
    con.register(
        "weight_for_age",
        pd.DataFrame(
            {
                "sex": np.repeat(list(WEIGHT_FOR_AGE_MIN), len(months)),
                "age_months": np.tile(months, len(WEIGHT_FOR_AGE_MIN)),
                "min_kg": np.concatenate(
                    [np.interp(months, np.arange(11) * 12, v) for v in WEIGHT_FOR_AGE_MIN.values()]
                ),
            }
        ),
    )


def build_analytics_tables(
    con: duckdb.DuckDBPyConnection, reporting_date: date, agreements: dict[str, Agreement]
) -> dict[str, str]:
    """Build the analytics tables in ``con`` (after :func:`~pipelines.store.staging.stage`).

    Returns:
        Published table name -> the SELECT that yields it, columns already filtered by the
        agreements (a table with no permitted content column is left out).
    """
    _reference_tables(con)
    r, rm = f"DATE '{reporting_date.isoformat()}'", reporting_date.strftime("%Y%m")
    present = permitting(agreements, "person", "presence", "analytics")
    sql = con.execute
    sql(f"""CREATE OR REPLACE TEMP TABLE an_base AS
        SELECT child_id, sex::VARCHAR AS sex, district_code::VARCHAR AS district_code, bd,
               {_months_between("bd", r)} AS age_months
        FROM (SELECT child_id, sex, district_code, TRY_CAST(birth_date AS DATE) AS bd
              FROM golden_analytics_v)""")
    sql(f"""CREATE OR REPLACE TEMP TABLE an_presence AS SELECT child_id,
            array_to_string(list_sort(list_distinct(list(source) FILTER ({_in(present)}))), ',')
              AS sources_present,
            {", ".join(f"bool_or(source = '{s}') AS in_{s}" for s in SOURCES)}
        FROM xref GROUP BY child_id""")
    roster = f"(SELECT max(month) FROM ev_school_enrolment WHERE month <= '{rm}')"
    sql(f"""CREATE OR REPLACE TEMP TABLE an_school AS
        SELECT child_id, max(TRY_CAST(absent_days AS DOUBLE)) AS absent_days,
               bool_or({_bool_text("poor")}) AS poor
        FROM ev_school_enrolment WHERE month = {roster} GROUP BY child_id""")
    sql(f"""CREATE OR REPLACE TEMP TABLE an_centre AS
        SELECT child_id, CASE WHEN lower(trim(dev)) IN {DELAY_VALUES} THEN TRUE
                              WHEN lower(trim(dev)) IN {ON_TRACK_VALUES} THEN FALSE END AS delay
        FROM (SELECT child_id, arg_max(development_result::VARCHAR, month) AS dev
              FROM ev_centre_enrolment WHERE development_result IS NOT NULL GROUP BY child_id)""")
    sql(f"""CREATE OR REPLACE TEMP TABLE an_vacc AS
        SELECT b.child_id, bool_or(v.vaccine IS NULL) AS missing
        FROM an_base b JOIN epi_schedule s ON s.due_months + {EPI_GRACE_MONTHS} <= b.age_months
        LEFT JOIN (SELECT DISTINCT child_id, upper(trim(vaccine::VARCHAR)) AS vaccine
                   FROM ev_vaccination) v ON v.child_id = b.child_id AND v.vaccine = s.vaccine
        WHERE b.age_months < {EPI_MAX_AGE_MONTHS} GROUP BY b.child_id""")
    sql(f"""CREATE OR REPLACE TEMP TABLE an_weight AS
        WITH w AS (
          SELECT child_id, TRY_CAST(weight_kg AS DOUBLE) AS kg, {_month_start("month")} AS ts
          FROM ev_school_enrolment
          UNION ALL SELECT child_id, TRY_CAST(weight_kg AS DOUBLE), {_month_start("month")}
          FROM ev_centre_enrolment
          UNION ALL SELECT child_id, TRY_CAST(weight_kg AS DOUBLE),
                 coalesce(TRY_CAST(date_serv AS DATE), {_month_start("month")}) FROM ev_growth),
        latest AS (SELECT child_id, arg_max(kg, ts) AS kg, max(ts) AS ts FROM w
                   WHERE kg > 0 AND ts IS NOT NULL GROUP BY child_id)
        SELECT l.child_id, CASE WHEN t.min_kg IS NOT NULL THEN l.kg < t.min_kg END AS under
        FROM latest l JOIN an_base b USING (child_id)
        LEFT JOIN weight_for_age t
          ON t.sex = b.sex AND t.age_months = {_months_between("b.bd", "l.ts")}""")
    risk = "lower(trim(risk_colour::VARCHAR))"
    sql(f"""CREATE OR REPLACE TEMP TABLE an_cases AS
        SELECT child_id, row_number() OVER (PARTITION BY child_id ORDER BY opened NULLS LAST, k)
                 AS case_no, * EXCLUDE (child_id)
        FROM (SELECT child_id, coalesce(case_id::VARCHAR, _key) AS k, month,
                     TRY_CAST(opened_at AS DATE) AS opened, TRY_CAST(closed_at AS DATE) AS closed,
                     upper(trim(case_type::VARCHAR)) AS case_type,
                     upper(trim(status::VARCHAR)) AS status,
                     CASE WHEN {risk} IN ('green', 'เขียว') THEN 'green'
                          WHEN {risk} IN ('yellow', 'เหลือง') THEN 'yellow'
                          WHEN {risk} IN ('red', 'แดง') THEN 'red' END AS risk_colour
              FROM ev_protection_case
              QUALIFY row_number() OVER (PARTITION BY child_id, coalesce(case_id::VARCHAR, _key)
                                         ORDER BY month DESC) = 1)""")
    sql("""CREATE OR REPLACE TEMP TABLE an_case_summary AS
        SELECT child_id, count(*) FILTER (WHERE status IN ('OPEN', 'REFERRED')) AS open_cases,
               arg_max(risk_colour, month || coalesce(strftime(opened, '%Y%m%d'), ''))
                 FILTER (WHERE risk_colour IS NOT NULL) AS latest_risk_colour
        FROM an_cases GROUP BY child_id""")
    sql("""CREATE OR REPLACE TEMP TABLE an_family AS
        SELECT child_id, count(DISTINCT upper(problem)) AS n_problems,
               bool_or(upper(problem) = 'INCOME') AS income
        FROM (SELECT * FROM ev_family_problem
              QUALIFY dense_rank() OVER (PARTITION BY child_id ORDER BY
                  coalesce(TRY_CAST(surveyed_at AS DATE)::VARCHAR, month) DESC, month DESC) = 1)
        GROUP BY child_id""")
    _child(con, r, roster, agreements)
    return _selects(con, agreements)


_FLAGS = {
    "flag_learning": ("not_enrolled_school_age", "high_absence", "development_delay"),
    "flag_health": ("incomplete_vaccination_for_age", "under_weight"),
    "flag_social": ("has_open_case", "coalesce(latest_risk_colour IN ('yellow', 'red'), FALSE)"),
    "flag_livelihood": ("poverty_screened", "coalesce(passbook_problems, 0) > 0"),
}


def _child(con, r: str, roster: str, agreements: dict[str, Agreement]) -> None:
    problem_ok = (
        "TRUE" if permitting(agreements, "family_problem", "problem", "analytics") else "FALSE"
    )
    band = " ".join(f"WHEN b.age_months < {m} THEN '{b}'" for m, b in AGE_BANDS)
    fam = f"CASE WHEN coalesce(pr.in_epassbook, FALSE) AND {problem_ok} THEN"
    flags = ",\n".join(
        " OR ".join(i if " " in i else f"coalesce({i}, FALSE)" for i in parts) + f" AS {flag}"
        for flag, parts in _FLAGS.items()
    )
    con.execute(f"""CREATE OR REPLACE TEMP TABLE an_child AS
        WITH ind AS (SELECT b.child_id,
            CASE WHEN b.age_months IS NULL THEN NULL {band} ELSE '18+' END AS age_band,
            b.sex, b.district_code, pr.sources_present,
            {", ".join(f"coalesce(pr.in_{s}, FALSE) AS in_{s}" for s in SOURCES)},
            cs.latest_risk_colour, coalesce(cs.open_cases, 0)::INTEGER AS open_cases,
            CASE WHEN {roster} IS NULL OR b.age_months IS NULL THEN NULL
                 WHEN b.age_months BETWEEN 72 AND 179 THEN s.child_id IS NULL
                 ELSE FALSE END AS not_enrolled_school_age,
            s.absent_days >= {HIGH_ABSENCE_DAYS} AS high_absence,
            CASE WHEN s.poor IS NULL AND fi.income IS NULL THEN NULL
                 ELSE coalesce(s.poor, FALSE) OR coalesce(fi.income, FALSE) END AS poverty_screened,
            CASE WHEN coalesce(pr.in_health_centres, FALSE) AND b.age_months < {EPI_MAX_AGE_MONTHS}
                 THEN coalesce(v.missing, FALSE) END AS incomplete_vaccination_for_age,
            c.delay AS development_delay, w.under AS under_weight,
            coalesce(cs.open_cases, 0) > 0 AS has_open_case,
            ({fam} coalesce(f.n_problems, 0) END)::INTEGER AS passbook_problems
          FROM an_base b
          LEFT JOIN an_presence pr USING (child_id) LEFT JOIN an_school s USING (child_id)
          LEFT JOIN an_centre c USING (child_id) LEFT JOIN an_vacc v USING (child_id)
          LEFT JOIN an_weight w USING (child_id) LEFT JOIN an_case_summary cs USING (child_id)
          LEFT JOIN an_family f USING (child_id)
          LEFT JOIN (SELECT child_id, {fam} coalesce(income, FALSE) END AS income
                     FROM an_presence pr LEFT JOIN an_family USING (child_id)) fi USING (child_id))
        SELECT *, {flags} FROM ind""")


_EVENTS = {
    "school_enrolment": (
        "ev_school_enrolment",
        {
            "service_month": _ym("month"),
            "school_code": "school_code::VARCHAR",
            "grade": "grade::VARCHAR",
            "absent_days": "TRY_CAST(TRY_CAST(absent_days AS DOUBLE) AS INTEGER)",
            "poor": _bool_text("poor"),
            "weight_kg": "TRY_CAST(weight_kg AS DOUBLE)",
            "height_cm": "TRY_CAST(height_cm AS DOUBLE)",
        },
    ),
    "centre_enrolment": (
        "ev_centre_enrolment",
        {
            "service_month": _ym("month"),
            "centre_name": "centre_name::VARCHAR",
            "development_result": "development_result::VARCHAR",
            "weight_kg": "TRY_CAST(weight_kg AS DOUBLE)",
            "height_cm": "TRY_CAST(height_cm AS DOUBLE)",
        },
    ),
    "vaccination": (
        "ev_vaccination",
        {
            "service_month": _service_month("date_serv"),
            "vaccine": "upper(trim(vaccine::VARCHAR))",
        },
    ),
    "growth": (
        "ev_growth",
        {
            "service_month": _service_month("date_serv"),
            "weight_kg": "TRY_CAST(weight_kg AS DOUBLE)",
            "height_cm": "TRY_CAST(height_cm AS DOUBLE)",
        },
    ),
    "protection_case": (
        "an_cases",
        {
            "case_no": "case_no::INTEGER",
            "opened_month": "strftime(opened, '%Y-%m')",
            "case_type": "case_type",
            "risk_colour": "risk_colour",
            "status": "status",
            "closed_month": "strftime(closed, '%Y-%m')",
        },
    ),
    "family_problem": (
        "ev_family_problem",
        {
            "survey_month": _service_month("surveyed_at"),
            "problem": "upper(trim(problem::VARCHAR))",
            "income_per_month": "TRY_CAST(income_per_month AS DOUBLE)",
        },
    ),
}


def _selects(con, agreements: dict[str, Agreement]) -> dict[str, str]:
    cols = published_columns(agreements)
    child_cols = cols.pop("child")
    out = {"child": f"SELECT {', '.join(child_cols)} FROM an_child ORDER BY child_id"}
    for table, (rel, exprs) in _EVENTS.items():
        if table in cols:
            select = ", ".join(["child_id"] + [f"{exprs[c]} AS {c}" for c in cols[table][1:]])
            out[table] = f"SELECT DISTINCT {select} FROM {rel}"
    dims = [
        c
        for c in child_cols
        if c.startswith(("flag_", "has_"))
        or c
        in (
            "not_enrolled_school_age",
            "high_absence",
            "poverty_screened",
            "under_weight",
            "incomplete_vaccination_for_age",
            "development_delay",
        )
    ]
    district = "district_code" if "district_code" in child_cols else "NULL::VARCHAR"
    small = f"(n > 0 AND n < {MIN_COUNT})"
    out["district_summary"] = f"""
        WITH agg AS (SELECT {district} AS district_code, count(*) AS children,
                            {", ".join(f"count(*) FILTER (WHERE {d}) AS {d}" for d in dims)}
                     FROM an_child GROUP BY 1)
        SELECT district_code, dimension, CASE WHEN {small} THEN NULL ELSE n END AS n,
               {small} AS suppressed
        FROM (UNPIVOT agg ON children, {", ".join(dims)} INTO NAME dimension VALUE n)
        ORDER BY district_code NULLS LAST, dimension"""
    return out


def build_analytics(
    tables: PublishInput, reporting_date: date, agreements: dict[str, Agreement] | None = None
) -> dict[str, pd.DataFrame]:
    """The analytics tables as pandas frames (for notebooks and tests; publish writes them
    straight from DuckDB)."""
    agreements = agreements if agreements is not None else load_agreements()
    with connect() as con:
        stage(con, tables, agreements)
        selects = build_analytics_tables(con, reporting_date, agreements)
        return {t: con.execute(q).df() for t, q in selects.items()}
