"""Thai-aware Splink comparisons and blocking rules for linking child records across agencies.

Every comparison is built from Splink's public library (``comparison_level_library``,
``CustomComparison``, ``block_on``). Conditions that no library level expresses are ``CustomLevel``
SQL written in DuckDB's dialect and marked ``base_dialect_str="duckdb"`` so Splink translates them
(through sqlglot) for Spark; they use only ``=``, ``abs``, ``IS NULL`` and boolean logic, which
every backend shares. Thai strings are never given to a Jaro-Winkler function: DuckDB measures it
over UTF-8 bytes (every Thai letter starts with the same two bytes, so all Thai names look alike)
while Spark measures it over characters. Fuzzy name levels therefore use the ASCII phonetic key
(``schemas.names.phonetic_key``) and the romanised spelling, which score the same on both backends.

The columns referred to are those produced by ``linkage.prepare.prepare``.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on
from splink.blocking_rule_library import And, CustomRule

SPEC_VERSION = "4"  # bump when a comparison, level or blocking rule changes
DIALECT = "duckdb"
NAME_JW = 0.9  # Jaro-Winkler threshold on phonetic keys and romanised spellings


def _sql(condition: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(condition, label_for_charts=label, base_dialect_str=DIALECT)


def _null(condition: str, label: str) -> cll.CustomLevel:
    return _sql(condition, label).configure(is_null_level=True)


def pid_comparison() -> cl.CustomComparison:
    """Civil-registration PID, or the G-code of a learner without one.

    Levels:
        null: neither both PIDs nor both G-codes present (a PID-vs-G-code pair says nothing).
        exact PID: the strongest single piece of evidence.
        one digit different (Levenshtein 1 on 13 digits = one substitution): a typo; the check
            digit usually fails, so such PIDs arrive with status ``bad_check`` and are kept.
        two neighbouring digits swapped (Damerau-Levenshtein 1): the other common typo.
        exact G-code: a learner's Ministry of Education code, stable across schools.
        else: two different people. (A sibling's PID typed on a child's record shows up as an
            exact match instead; the cluster step catches it through the conflicting names,
            birth dates or sexes.)
    """
    return cl.CustomComparison(
        output_column_name="pid",
        comparison_levels=[
            _null(
                "NOT ((pid_l IS NOT NULL AND pid_r IS NOT NULL) "
                "OR (gcode_l IS NOT NULL AND gcode_r IS NOT NULL))",
                "PID / G-code missing",
            ),
            cll.ExactMatchLevel("pid"),
            cll.LevenshteinLevel("pid", 1),
            # Levenshtein first: DuckDB's Damerau-Levenshtein costs ~5 us a pair, so it only runs
            # on the rare pairs two edits apart (a swap is two substitutions).
            cll.And(
                cll.LevenshteinLevel("pid", 2), cll.DamerauLevenshteinLevel("pid", 1)
            ).configure(label_for_charts="Two neighbouring PID digits swapped"),
            cll.ExactMatchLevel("gcode"),
            cll.ElseLevel(),
        ],
        comparison_description="PID: exact / one digit / adjacent swap / G-code / different",
    )


def _name_levels(column: str) -> list:
    key, rom = f"{column}_key", f"{column}_rom"
    return [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column, term_frequency_adjustments=True),
        cll.ExactMatchLevel(key, term_frequency_adjustments=True),
        cll.Or(cll.JaroWinklerLevel(key, NAME_JW), cll.JaroWinklerLevel(rom, NAME_JW)).configure(
            label_for_charts=f"Jaro-Winkler >= {NAME_JW} on phonetic key or romanised {column}"
        ),
    ]


def given_name_comparison() -> cl.CustomComparison:
    """Thai given name (placeholder names of unnamed newborns are null).

    Levels:
        null.
        exact Thai spelling (term-frequency adjusted: a rare name is stronger evidence).
        equal phonetic key (term-frequency adjusted on the key): tone marks, silent letters and
            confusable letters (ศ/ษ/ส, ณ/น, ร/ล, ค/ฅ) typed differently.
        Jaro-Winkler >= 0.9 on the phonetic key or on the romanised name: a vowel or syllable
            slip the key does not absorb.
        nickname of one equals the given name of the other: a centre or case worker wrote the
            child's nickname in the name field.
        else: a different name, or a given-name change (common in Thailand), which the m
            probability of this level learns.
    """
    return cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            *_name_levels("given_name"),
            _sql(
                "nickname_key_l = given_name_key_r OR given_name_key_l = nickname_key_r",
                "Nickname of one = given name of the other",
            ),
            cll.ElseLevel(),
        ],
        comparison_description="Given name: exact / phonetic / fuzzy / nickname / different",
    )


def family_name_comparison() -> cl.CustomComparison:
    """Thai family name.

    Levels:
        null; exact (term-frequency adjusted: Thai family names are nearly unique per family);
        equal phonetic key (TF adjusted); Jaro-Winkler >= 0.9 on key or romanised;
        else: a different family, or a family-name change after a guardian change. It is kept as
        its own, estimated level rather than a heavy penalty: when the family name changes, the
        guardian, phone and address comparisons still agree and carry the match.
    """
    return cl.CustomComparison(
        output_column_name="family_name",
        comparison_levels=[*_name_levels("family_name"), cll.ElseLevel()],
        comparison_description="Family name: exact / phonetic / fuzzy / different (changed)",
    )


_BOTH_DAY = "birth_date_precision_l = 'day' AND birth_date_precision_r = 'day'"
_EITHER_COARSE = "(birth_date_precision_l <> 'day' OR birth_date_precision_r <> 'day')"
_EITHER_AGE = "(birth_date_precision_l = 'age' OR birth_date_precision_r = 'age')"


def birth_date_comparison() -> cl.CustomComparison:
    """Birth date, with its precision (``day``, ``year`` or ``age``) and the typical slips.

    Levels:
        null: no birth year on one side.
        exact date, both known to the day.
        day and month swapped, same year (``03/05`` typed as ``05/03``).
        year off by exactly 543 (Buddhist Era read as Common Era or the reverse) with the same
            month and day, or either side known only to the year.
        same year when either side is only a year (health ``YYYY0101``), or within one year when
            either side was estimated from an age (CPIS ``age_years``).
        within 30 days, both known to the day: a day typo, or a registration-date confusion.
        else.
    """
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            _null("birth_year_l IS NULL OR birth_year_r IS NULL", "Birth year missing"),
            _sql(f"{_BOTH_DAY} AND birth_date_l = birth_date_r", "Exact date"),
            _sql(
                "birth_year_l = birth_year_r AND birth_md_l = birth_dm_r", "Day and month swapped"
            ),
            _sql(
                "abs(birth_year_l - birth_year_r) = 543 AND (birth_md_l = birth_md_r "
                "OR birth_md_l IS NULL OR birth_md_r IS NULL)",
                "Year off by 543 (BE/CE)",
            ),
            _sql(
                f"{_EITHER_COARSE} AND (birth_year_l = birth_year_r OR ({_EITHER_AGE} "
                "AND abs(birth_year_l - birth_year_r) <= 1))",
                "Same year (year / age only)",
            ),
            cll.And(
                _sql(_BOTH_DAY, "both day"),
                cll.AbsoluteDateDifferenceLevel(
                    "birth_date", input_is_string=False, threshold=30, metric="day"
                ),
            ).configure(label_for_charts="Within 30 days"),
            cll.ElseLevel(),
        ],
        comparison_description="Birth date: exact / swapped / BE-CE / same year / 30 days / else",
    )


def sex_comparison() -> cl.ExactMatch:
    """Sex (M/F). Levels: null, equal, different (a prefix typo, or a twin of the other sex)."""
    return cl.ExactMatch("sex")


def guardian_name_comparison() -> cl.CustomComparison:
    """Guardian's full name (any relation).

    Levels: null; exact; same phonetic key or Jaro-Winkler >= 0.9 on it (spelling, or prefix
    handling that differs by source); else (another guardian: mother in one source, grandmother
    in another).
    """
    return cl.CustomComparison(
        output_column_name="guardian_name",
        comparison_levels=[
            cll.NullLevel("guardian_name"),
            cll.ExactMatchLevel("guardian_name"),
            cll.JaroWinklerLevel("guardian_name_key", NAME_JW),
            cll.ElseLevel(),
        ],
        comparison_description="Guardian name: exact / fuzzy / different",
    )


def area_comparison() -> cl.CustomComparison:
    """Where the child lives (DOPA codes).

    Levels: null (no district on one side); same subdistrict; same district (CPIS and some
    centres give only the district); else (moved, or a different child).
    """
    return cl.CustomComparison(
        output_column_name="area",
        comparison_levels=[
            _null("district_code_l IS NULL OR district_code_r IS NULL", "District missing"),
            cll.ExactMatchLevel("subdistrict_code"),
            cll.ExactMatchLevel("district_code"),
            cll.ElseLevel(),
        ],
        comparison_description="Area: subdistrict / district / different",
    )


def comparisons() -> list:
    """All comparisons of the model, in output order.

    Guardian phone and mother's PID are plain exact matches (levels: null, equal, different):
    a phone is shared by a household, a mother's PID by her children, so both are strong for
    "same family" and the cluster step, not the score, tells twins and siblings apart.
    """
    return [
        pid_comparison(),
        given_name_comparison(),
        family_name_comparison(),
        birth_date_comparison(),
        sex_comparison(),
        guardian_name_comparison(),
        cl.ExactMatch("guardian_phone"),
        cl.ExactMatch("mother_pid"),
        area_comparison(),
    ]


def prediction_blocking_rules() -> list:
    """Rules that generate candidate pairs. Each uses a ``bk_*`` key from ``prepare``, which is
    left empty where one value is shared by more records than its cap, so no rule can explode
    on a common name or a placeholder value."""
    return [
        block_on("bk_pid"),
        block_on("gcode"),
        block_on("bk_given_dob"),
        # given name + birth year only where a birth date is not known to the day (a year or an
        # age): the day-precise pairs of these blocks are ``bk_given_dob``'s, or differ in date.
        # ``bk_given_coarse`` is the key of those records only, so each rule is a join from the
        # few coarse records (one rule per side), not a filter on every name+year pair (4.4M
        # of them at 1M children).
        CustomRule("l.bk_given_coarse = r.bk_given_year"),
        CustomRule("l.bk_given_year = r.bk_given_coarse"),
        block_on("bk_family_dob"),
        block_on("bk_phone_year"),
        block_on("bk_mother"),
        block_on("bk_family_given"),
    ]


def training_blocking_rules(sample_every: int = 1) -> list:
    """EM sessions. Each names the raw columns, so Splink leaves the comparisons on those columns
    out of that session (their m would be biased by the blocking), plus the capped ``bk_*`` key
    (equal whenever the raw columns are, but missing for oversized blocks) so a common name cannot
    blow up training; together the sessions estimate every comparison.

    ``sample_every = k > 1`` keeps one block in k (those whose integer key is a multiple of k):
    whole blocks, so every pair a session keeps is one the full session would score, about 1/k
    of them. EM cost grows with the pairs; m is a share among them, which a block sample keeps.
    """
    sessions = [
        ("bk_pid", ("pid",)),
        ("bk_family_dob", ("family_name_key", "birth_date")),
        ("bk_given_dob", ("given_name_key", "birth_year")),
    ]
    rules = []
    for key, columns in sessions:
        rule = block_on(*columns, key)
        if sample_every > 1:
            rule = And(rule, CustomRule(f"l.{key} % {int(sample_every)} = 0"))
        rules.append(rule)
    return rules


def deterministic_rules() -> list:
    """Near-certain matches, used to estimate the prior probability of a match."""
    return [
        block_on("pid", "birth_date"),
        block_on("given_name", "family_name", "birth_date"),
    ]
