"""Column names of the shared child-data standard: the contract of sources, schemas and linkage.

Every source module conforms its raw rows to these tables; linkage and publishing read only these.
Names are plain strings so a notebook user can write them by hand.

Standard person record (``PERSON``): one row per source record that describes a child (epassbook
adults are kept as guardians, not as persons). Types after standardisation:

    source               str      schools | child_centres | health_centres | cpis | epassbook
    record_key           str      exactly as defined in shared/contracts/extracts.md
    month                str      CE reporting month YYYYMM (partition key)
    pid                  str|NA   13 digits after normalisation (valid, bad_check or non_thai)
    pid_status           str      valid | bad_check | gcode | non_thai | invalid | missing
    gcode                str|NA   'G' + 12 digits
    prefix               str|NA   canonical prefix: ด.ช. ด.ญ. นาย น.ส. นาง
    given_name           str|NA   Thai given name, NFC, no prefix, single spaces
    family_name          str|NA   Thai family name
    given_name_rom       str|NA   romanised given name (RTGS from Thai; lower-case ascii)
    family_name_rom      str|NA   romanised family name
    given_name_key       str|NA   Thai phonetic key of given_name (once per distinct value)
    family_name_key      str|NA   Thai phonetic key of family_name
    nickname             str|NA
    sex                  str|NA   M | F
    birth_date           date|NA  CE date (datetime64[ms]); for year-only, 1 January of that year
    birth_date_precision str|NA   day | year | age  (age = estimated from an age in years)
    birth_year           Int64    CE year
    guardian_name        str|NA   guardian's full name without prefix (given + ' ' + family)
    guardian_relation    str|NA
    guardian_phone       str|NA   E.164 (+66...)
    mother_pid           str|NA   13 digits
    family_ref           str|NA   a source's own family/household reference (epassbook family_id)
    address_text         str|NA   free-text address as normalised Thai text
    district_code        str|NA   4-digit DOPA code
    subdistrict_code     str|NA   6-digit DOPA code
    is_placeholder_name  bool     newborn placeholder (ทารก, บุตรนาง...)

Quarantine (``QUARANTINE``): one row per rejected row or value.

    source, record_key, month, field, rule, value, action, run_id
    action is 'row' (the whole row kept out of linkage) or 'value' (only the value nulled).
"""

SOURCES = ("schools", "child_centres", "health_centres", "cpis", "epassbook")

PERSON = (
    "source",
    "record_key",
    "month",
    "pid",
    "pid_status",
    "gcode",
    "prefix",
    "given_name",
    "family_name",
    "given_name_rom",
    "family_name_rom",
    "given_name_key",
    "family_name_key",
    "nickname",
    "sex",
    "birth_date",
    "birth_date_precision",
    "birth_year",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "mother_pid",
    "family_ref",
    "address_text",
    "district_code",
    "subdistrict_code",
    "is_placeholder_name",
)

QUARANTINE = ("source", "record_key", "month", "field", "rule", "value", "action", "run_id")

# Provenance columns every raw row carries (added by the readers in sources/).
PROVENANCE = ("_file", "_sha256", "_row", "_sheet", "_run_id", "_month")

PID_STATUSES = ("valid", "bad_check", "gcode", "non_thai", "invalid", "missing")

# Service / event tables produced by conform (all carry source, record_key of the person, month).
SCHOOL_ENROLMENT = (
    "source",
    "record_key",
    "month",
    "school_code",
    "school_name",
    "grade",
    "absent_days",
    "poor",
    "weight_kg",
    "height_cm",
)
CENTRE_ENROLMENT = (
    "source",
    "record_key",
    "month",
    "centre_name",
    "development_result",
    "weight_kg",
    "height_cm",
)
VACCINATION = ("source", "record_key", "month", "event_key", "date_serv", "vaccine")
GROWTH = ("source", "record_key", "month", "event_key", "date_serv", "weight_kg", "height_cm")
PROTECTION_CASE = (
    "source",
    "record_key",
    "month",
    "case_id",
    "opened_at",
    "case_type",
    "risk_colour",
    "status",
    "closed_at",
)
FAMILY_PROBLEM = ("source", "family_ref", "month", "surveyed_at", "problem", "income_per_month")

EVENT_TABLES = {
    "school_enrolment": SCHOOL_ENROLMENT,
    "centre_enrolment": CENTRE_ENROLMENT,
    "vaccination": VACCINATION,
    "growth": GROWTH,
    "protection_case": PROTECTION_CASE,
    "family_problem": FAMILY_PROBLEM,
}
