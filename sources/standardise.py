"""Conform a source's raw batch and validate every table, accounting for every raw row.

``standardise`` is what the standardise assets call: the source module's ``conform`` maps the raw
rows, ``schemas.quality.validate_with_quarantine`` keeps what breaks the standard out of it, and
then the books must balance. For every raw table, the rows delivered equal the rows standardised
plus the rows excluded on purpose (epassbook adults) plus the rows quarantined (while reading, while
conforming, or by validation). If they do not, a row went missing in code, and the load stops.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from schemas.columns import EVENT_TABLES, QUARANTINE
from schemas.models import MODELS
from schemas.quality import validate_with_quarantine
from schemas.thai_text import arrow_text
from sources.base import ConformResult, RawBatch

MODEL_OF = {"persons": MODELS["person"]} | {t: MODELS[t] for t in EVENT_TABLES}
KEY_COLUMNS = {"family_problem": ("family_ref",)}
ACCOUNTING_COLUMNS = (
    "source",
    "table",
    "standard_table",
    "rows_in",
    "standardised",
    "excluded",
    "quarantined_on_read",
    "quarantined_on_conform",
    "quarantined_on_validate",
)


class AccountingError(AssertionError):
    """Rows in != standardised + excluded + quarantined for a raw table."""


def standardise(source_module: ModuleType, raw: RawBatch, month: str, run_id: str) -> ConformResult:
    """Conform and validate one source's batch for a month.

    Args:
        source_module: A module from ``sources.registry.SOURCES``.
        raw: Its raw batch (from the reader or ``RawZone.read_batch``).
        month: CE reporting month ``YYYYMM``.
        run_id: The load's run id.

    Returns:
        Valid persons and events, the full quarantine (``QUARANTINE`` columns: reading, conform and
        validation), the excluded rows, and ``accounting`` (``ACCOUNTING_COLUMNS``, one row per raw
        table).

    Raises:
        AccountingError: A raw row is neither standardised, excluded nor quarantined.
    """
    name = source_module.NAME
    result = source_module.conform(raw, month, run_id)
    validated: dict[str, pd.DataFrame] = {}
    rows_out: dict[str, int] = {}
    parts = [raw.quarantine, result.quarantine]
    for table, frame in {"persons": result.persons, **result.events}.items():
        valid, quarantine = validate_with_quarantine(
            frame, MODEL_OF[table], name, run_id, KEY_COLUMNS.get(table, ("record_key",))
        )
        validated[table] = valid.reset_index(drop=True)
        rows_out[table] = quarantine.attrs["rows_quarantined"]
        parts.append(quarantine)
    persons = validated.pop("persons")
    primary = set(source_module.PRIMARY.values())
    for table, frame in validated.items():
        # An event made from the same raw row as a person leaves with that person.
        if table not in primary and "record_key" in frame:
            validated[table] = frame[_isin(frame["record_key"], persons["record_key"])]
            validated[table] = validated[table].reset_index(drop=True)
    accounting = _accounting(source_module, raw, result, persons, validated, rows_out)
    quarantine = pd.concat([p[list(QUARANTINE)] for p in parts], ignore_index=True)
    return ConformResult(persons, validated, quarantine.astype("str"), result.excluded, accounting)


def _isin(values: pd.Series, within: pd.Series) -> np.ndarray:
    """``values.isin(within)`` for text, in Arrow: pandas turns ``within`` into a Python list."""
    found = pc.is_in(arrow_text(values), value_set=arrow_text(within))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def _accounting(
    module: ModuleType,
    raw: RawBatch,
    result: ConformResult,
    persons: pd.DataFrame,
    events: dict[str, pd.DataFrame],
    rows_out: dict[str, int],
) -> pd.DataFrame:
    rows = []
    conformed = result.quarantine[result.quarantine["action"] == "row"]
    for table, standard in module.PRIMARY.items():
        if table not in raw.tables and not (raw.quarantine["_table"] == table).any():
            continue
        out = persons if standard == "persons" else events[standard]
        row = {
            "source": module.NAME,
            "table": table,
            "standard_table": standard,
            "rows_in": raw.rows_in(table),
            "standardised": len(out),
            "excluded": int((result.excluded["_table"] == table).sum()),
            "quarantined_on_read": int((raw.quarantine["_table"] == table).sum()),
            "quarantined_on_conform": int((conformed["_table"] == table).sum()),
            "quarantined_on_validate": rows_out[standard],
        }
        accounted = sum(
            v for k, v in row.items() if k.startswith(("standardised", "excluded", "quarantined"))
        )
        if accounted != row["rows_in"]:
            raise AccountingError(
                f"{module.NAME}/{table}: {row['rows_in']} rows in but {accounted} accounted for "
                f"({row})"
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(ACCOUNTING_COLUMNS))
