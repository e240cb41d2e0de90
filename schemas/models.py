"""Pandera models of the shared child-data standard, one per table in ``schemas.columns``.

Every field carries a one-sentence ``description``: ``schemas.dictionary`` turns them into the data
dictionary. Models are ``strict`` (no column missing or extra) and ``coerce`` types. Checks that
need several columns are dataframe checks returning one boolean per row, so a failure quarantines
that row only; ``DATAFRAME_CHECK_FIELDS`` names the field each of them reports in quarantine.
Duplicate keys fail on every copy after the first, so the first copy stays in the standard.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import dtypes
from pandera.engines import pandas_engine
from pandera.typing import Series

from schemas.columns import PID_STATUSES, SOURCES

REFERENCE_DIR = Path(__file__).parent / "reference"
DISTRICT_CODES = tuple(
    pd.read_csv(REFERENCE_DIR / "bangkok_districts.csv", dtype=str)["district_code"]
)
PREFIXES = ("ด.ช.", "ด.ญ.", "นาย", "น.ส.", "นาง")
PRECISIONS = ("day", "year", "age")
GRADES = tuple([f"อ.{i}" for i in range(1, 4)] + [f"ป.{i}" for i in range(1, 7)]) + (
    "ม.1",
    "ม.2",
    "ม.3",
)
DEVELOPMENT_RESULTS = ("สมวัย", "สงสัยล่าช้า")
VACCINES = (
    "BCG", "HBV1", "DTP-HB-HIB1", "DTP-HB-HIB2", "DTP-HB-HIB3", "OPV1", "OPV2", "OPV3", "IPV",
    "MMR1", "MMR2", "JE1", "JE2", "DTP4", "OPV4", "DTP5", "OPV5", "ROTA1", "ROTA2",
)  # fmt: skip
CASE_TYPES = (
    "NEGLECT", "PHYSICAL_ABUSE", "SEXUAL_ABUSE", "EXPLOITATION", "ABANDONMENT", "BEHAVIOUR",
    "POVERTY", "OTHER",
)  # fmt: skip
RISK_COLOURS = ("GREEN", "YELLOW", "RED")
CASE_STATUSES = ("OPEN", "REFERRED", "CLOSED")
FAMILY_PROBLEMS = (
    "INCOME", "DEBT", "HOUSING", "UNEMPLOYMENT", "DISABILITY_CARE", "ELDERLY_CARE", "DRUGS",
    "VIOLENCE",
)  # fmt: skip
QUARANTINE_ACTIONS = ("row", "value")
MONTH_PATTERN = r"^(19|20)[0-9]{2}(0[1-9]|1[0-2])$"
PID_PATTERN = r"^[0-9]{13}$"
MIN_BIRTH_DATE = pd.Timestamp("1900-01-01")

DATAFRAME_CHECK_FIELDS = {
    "unique_record_key": "record_key",
    "unique_event_key": "event_key",
    "unique_family_problem": "problem",
    "birth_date_within_reporting_year": "birth_date",
    "birth_year_matches_birth_date": "birth_year",
    "pid_matches_status": "pid_status",
    "closed_not_before_opened": "closed_at",
}

DATAFRAME_CHECK_DESCRIPTIONS = {
    "unique_record_key": "One row per source, record key (case id) and month; later copies fail.",
    "unique_event_key": "One row per source and event key; later copies fail.",
    "unique_family_problem": "One row per family, month and problem; later copies fail.",
    "birth_date_within_reporting_year": "Birth date at most a year after the reporting month.",
    "birth_year_matches_birth_date": "birth_year is the year of birth_date when both are given.",
    "pid_matches_status": "pid is set exactly for valid/bad_check/non_thai, gcode for gcode.",
    "closed_not_before_opened": "A case is not closed before it was opened.",
}


@pandas_engine.Engine.register_dtype
@dtypes.immutable
class DateTimeMs(pandas_engine.DataType, dtypes.Timestamp):
    """Timezone-naive ``datetime64[ms]`` (pandera's own DateTime is fixed to nanoseconds)."""

    type = np.dtype("datetime64[ms]")

    def coerce(self, data_container):  # noqa: D102
        return pd.to_datetime(data_container).astype("datetime64[ms]")

    def coerce_value(self, value):  # noqa: D102
        return pd.Timestamp(value).as_unit("ms")

    def check(self, pandera_dtype, data_container=None):  # noqa: D102
        if data_container is not None:
            return data_container.dtype == self.type
        return isinstance(pandera_dtype, dtypes.Timestamp)

    def __str__(self) -> str:
        return "datetime64[ms]"


@pandas_engine.Engine.register_dtype
@dtypes.immutable(init=True)
class Text(pandas_engine.STRING):
    """pandas' default ``str`` dtype, as ``Series[Text]``, with a cheaper dtype check.

    For a column that already has the dtype, pandera's own check returns one ``True`` per value
    and then formats the (empty) table of failing values into a message, for every text column
    of every validation. Here that case answers ``True`` once; every other case is pandera's.
    """

    def check(self, pandera_dtype, data_container=None):  # noqa: D102
        try:
            exact = pandas_engine.Engine.dtype(pandera_dtype).type == self.type
        except TypeError:
            exact = False
        if exact:
            return True
        return super().check(pandera_dtype, data_container)


def _first_copy(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """True for the first row of each key, False for later duplicates."""
    return ~df.duplicated(keys, keep="first")


def _text(description: str, nullable: bool = True, **checks) -> object:
    return pa.Field(nullable=nullable, description=description, **checks)


class _Keyed(pa.DataFrameModel):
    """Columns every standard table starts with."""

    source: Series[Text] = pa.Field(isin=SOURCES, description="Agency the row came from.")
    record_key: Series[Text] = pa.Field(
        description="The agency's own key for the person record, as defined in the contract."
    )
    month: Series[Text] = pa.Field(
        str_matches=MONTH_PATTERN, description="CE reporting month YYYYMM (the partition key)."
    )

    class Config:
        strict = True
        coerce = True


class _Measured(_Keyed):
    weight_kg: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 0.5, "max_value": 150}, description="Weight in kg."
    )
    height_cm: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 30, "max_value": 200}, description="Height in cm."
    )


class StandardPerson(_Keyed):
    """One source record describing a child (``schemas.columns.PERSON``)."""

    pid: Series[Text] = _text(
        "13-digit PID after normalisation (status valid, bad_check or non_thai).",
        str_matches=PID_PATTERN,
    )
    pid_status: Series[Text] = pa.Field(
        isin=PID_STATUSES, description="Outcome of PID normalisation (see schemas.pid)."
    )
    gcode: Series[Text] = _text(
        "Ministry of Education G-code for a learner without a PID.", str_matches=r"^G[0-9]{12}$"
    )
    prefix: Series[Text] = _text("Canonical Thai name prefix.", isin=PREFIXES)
    given_name: Series[Text] = _text("Thai given name, NFC, without prefix, single spaces.")
    family_name: Series[Text] = _text("Thai family name, NFC, single spaces.")
    given_name_rom: Series[Text] = _text(
        "Romanised given name (RTGS from the Thai), lower-case ASCII.",
        str_matches=r"^[a-z0-9 .'\-]+$",
    )
    family_name_rom: Series[Text] = _text(
        "Romanised family name (RTGS from the Thai), lower-case ASCII.",
        str_matches=r"^[a-z0-9 .'\-]+$",
    )
    given_name_key: Series[Text] = _text("Thai phonetic key of the given name.")
    family_name_key: Series[Text] = _text("Thai phonetic key of the family name.")
    nickname: Series[Text] = _text("Nickname as recorded by the source.")
    sex: Series[Text] = _text("Sex: M or F.", isin=("M", "F"))
    birth_date: Series[DateTimeMs] = pa.Field(
        nullable=True,
        ge=MIN_BIRTH_DATE,
        description="CE birth date; 1 January for a year-only date, 1 July for one from an age.",
    )
    birth_date_precision: Series[Text] = _text(
        "How much of the birth date is known: day, year or age.", isin=PRECISIONS
    )
    birth_year: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, in_range={"min_value": 1900, "max_value": 2100}, description="CE birth year."
    )
    guardian_name: Series[Text] = _text("Guardian's given and family name, without prefix.")
    guardian_relation: Series[Text] = _text("Guardian's relation to the child, as recorded.")
    guardian_phone: Series[Text] = _text(
        "Guardian's phone in E.164 (+66...).", str_matches=r"^\+66[0-9]{8,9}$"
    )
    mother_pid: Series[Text] = _text("Mother's 13-digit PID where known.", str_matches=PID_PATTERN)
    family_ref: Series[Text] = _text("The source's own family or household reference.")
    address_text: Series[Text] = _text("Free-text address as normalised Thai text.")
    district_code: Series[Text] = _text("4-digit DOPA Bangkok district code.", isin=DISTRICT_CODES)
    subdistrict_code: Series[Text] = _text(
        "6-digit DOPA subdistrict code.", str_matches=r"^[0-9]{6}$"
    )
    is_placeholder_name: Series[bool] = pa.Field(
        description="True when the name is a newborn placeholder (ทารก, บุตรนาง...)."
    )

    @pa.dataframe_check(name="unique_record_key")
    def _unique_record_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "record_key", "month"])

    @pa.dataframe_check(name="birth_date_within_reporting_year")
    def _birth_not_late(cls, df: pd.DataFrame) -> pd.Series:
        # Latest allowed: one year after the end of the reporting month.
        start = pd.to_datetime(df["month"], format="%Y%m", errors="coerce")
        limit = (start.to_numpy().astype("datetime64[M]") + 13).astype("datetime64[ms]")
        return df["birth_date"].isna() | start.isna() | (df["birth_date"].to_numpy() < limit)

    @pa.dataframe_check(name="birth_year_matches_birth_date")
    def _birth_year(cls, df: pd.DataFrame) -> pd.Series:
        year = pd.to_datetime(df["birth_date"]).dt.year
        return year.isna() | (year == df["birth_year"]).fillna(False)

    @pa.dataframe_check(name="pid_matches_status")
    def _pid_status(cls, df: pd.DataFrame) -> pd.Series:
        has_pid = df["pid_status"].isin(["valid", "bad_check", "non_thai"])
        has_gcode = df["pid_status"] == "gcode"
        return (df["pid"].notna() == has_pid) & (df["gcode"].notna() == has_gcode)


class SchoolEnrolment(_Measured):
    """A child's enrolment in a BMA school in the reporting month."""

    school_code: Series[Text] = pa.Field(
        str_matches=r"^[0-9]{8}$", description="8-digit school code; its first 4 are the district."
    )
    school_name: Series[Text] = _text("School name as delivered.")
    grade: Series[Text] = _text("Grade, อ.1-อ.3, ป.1-ป.6 or ม.1-ม.3.", isin=GRADES)
    absent_days: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, le=366, description="Days absent so far this term."
    )
    poor: Series[pd.BooleanDtype] = pa.Field(
        nullable=True, description="Equity-fund poverty screening result (blank when not screened)."
    )

    @pa.dataframe_check(name="unique_record_key")
    def _unique_record_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "record_key", "month"])


class CentreEnrolment(_Measured):
    """A child's registration at a BMA child development centre in the reporting month."""

    centre_name: Series[Text] = pa.Field(description="Centre name (the workbook's sheet name).")
    development_result: Series[Text] = _text(
        "DSPM developmental screening result: สมวัย (on track) or สงสัยล่าช้า (suspected delay).",
        isin=DEVELOPMENT_RESULTS,
    )

    @pa.dataframe_check(name="unique_record_key")
    def _unique_record_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "record_key", "month"])


class _Event(_Keyed):
    event_key: Series[Text] = pa.Field(description="Key of the service event within its source.")
    date_serv: Series[DateTimeMs] = pa.Field(
        ge=MIN_BIRTH_DATE, description="CE date the service was given."
    )


class Vaccination(_Event):
    """One vaccine dose given at a health centre (MoPH EPI file)."""

    vaccine: Series[Text] = pa.Field(isin=VACCINES, description="MoPH vaccine type code.")

    @pa.dataframe_check(name="unique_event_key")
    def _unique_event_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "event_key"])


class Growth(_Event):
    """One weight and height measurement at a health centre (MoPH NUTRITION file)."""

    weight_kg: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 0.5, "max_value": 150}, description="Weight in kg."
    )
    height_cm: Series[float] = pa.Field(
        nullable=True, in_range={"min_value": 30, "max_value": 200}, description="Height in cm."
    )

    @pa.dataframe_check(name="unique_event_key")
    def _unique_event_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "event_key"])


class ProtectionCase(_Keyed):
    """One child-protection case (CPIS), as opened or updated in the reporting month."""

    case_id: Series[Text] = pa.Field(
        str_matches=r"^CP-[0-9]{4}-[0-9]{6}$", description="CPIS case id CP-YYYY-NNNNNN."
    )
    opened_at: Series[DateTimeMs] = pa.Field(
        ge=MIN_BIRTH_DATE, description="CE date the case was opened."
    )
    case_type: Series[Text] = pa.Field(isin=CASE_TYPES, description="Kind of case.")
    risk_colour: Series[Text] = pa.Field(
        isin=RISK_COLOURS, description="CPIS risk screening colour: GREEN, YELLOW or RED."
    )
    status: Series[Text] = pa.Field(isin=CASE_STATUSES, description="Case status.")
    closed_at: Series[DateTimeMs] = pa.Field(
        nullable=True, description="CE date the case was closed, if it was."
    )

    @pa.dataframe_check(name="unique_record_key")
    def _unique_record_key(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "case_id", "month"])

    @pa.dataframe_check(name="closed_not_before_opened")
    def _closed_after_opened(cls, df: pd.DataFrame) -> pd.Series:
        return df["closed_at"].isna() | (df["closed_at"] >= df["opened_at"]).fillna(True)


class FamilyProblem(pa.DataFrameModel):
    """One problem recorded for a family in the electronic family passbook survey."""

    source: Series[Text] = pa.Field(isin=SOURCES, description="Agency the row came from.")
    family_ref: Series[Text] = pa.Field(description="Family passbook id (FP-DDDD-NNNNNN).")
    month: Series[Text] = pa.Field(
        str_matches=MONTH_PATTERN, description="CE reporting month YYYYMM (the partition key)."
    )
    surveyed_at: Series[DateTimeMs] = pa.Field(
        ge=MIN_BIRTH_DATE, description="CE date of the family survey."
    )
    problem: Series[Text] = pa.Field(isin=FAMILY_PROBLEMS, description="Problem code.")
    income_per_month: Series[float] = pa.Field(
        nullable=True, ge=0, description="Family income per month in baht."
    )

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check(name="unique_family_problem")
    def _unique_problem(cls, df: pd.DataFrame) -> pd.Series:
        return _first_copy(df, ["source", "family_ref", "month", "problem"])


class QuarantineRecord(pa.DataFrameModel):
    """One row or value kept out of the standard, and why (``schemas.columns.QUARANTINE``)."""

    source: Series[Text] = pa.Field(isin=SOURCES, description="Agency the row came from.")
    record_key: Series[Text] = _text("Record key of the rejected row, when it has one.")
    month: Series[Text] = _text("CE reporting month YYYYMM.", str_matches=MONTH_PATTERN)
    field: Series[Text] = pa.Field(description="Column the rule failed on.")
    rule: Series[Text] = pa.Field(description="Name of the rule that failed.")
    value: Series[Text] = _text("The offending value as text.")
    action: Series[Text] = pa.Field(
        isin=QUARANTINE_ACTIONS, description="row: the whole row is out; value: only it is nulled."
    )
    run_id: Series[Text] = pa.Field(description="Id of the pipeline run that quarantined it.")

    class Config:
        strict = True
        coerce = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "person": StandardPerson,
    "school_enrolment": SchoolEnrolment,
    "centre_enrolment": CentreEnrolment,
    "vaccination": Vaccination,
    "growth": Growth,
    "protection_case": ProtectionCase,
    "family_problem": FamilyProblem,
    "quarantine": QuarantineRecord,
}
