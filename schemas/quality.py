"""Validate a standard table against its model and quarantine, row by row, what fails.

A row that fails any check is kept out of the standard and gets one quarantine record per failed
(field, rule), ``action='row'``. Nothing is dropped silently: ``rows_in == len(valid) +
quarantine.attrs['rows_quarantined']``. Failures that concern no row (a missing or extra column)
mean the conform step is broken, and raise ``StructuralSchemaError`` rather than quarantine a
whole extract.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.columns import QUARANTINE
from schemas.models import DATAFRAME_CHECK_FIELDS, MONTH_PATTERN, QuarantineRecord

_MAX_PASSES = 3  # coercion failures first, then everything else; a third pass is a safety margin


class StructuralSchemaError(ValueError):
    """The frame's shape is wrong (columns missing or extra), not some of its rows."""


def _rule_name(check: object) -> str:
    """``isin(['M', 'F'])`` -> ``isin``; ``coerce_dtype('float64')`` -> ``coerce_dtype``."""
    return str(check).split("(", 1)[0]


def _quarantine_rows(
    failures: pd.DataFrame, frame: pd.DataFrame, key_cols: Sequence[str]
) -> pd.DataFrame:
    """One record per failed (row, field, rule) from pandera's ``failure_cases``."""
    failures = failures.assign(
        row=failures["index"].astype(np.int64), rule=failures["check"].map(_rule_name)
    )
    is_frame_check = failures["schema_context"] == "DataFrameSchema"
    # Checks that ran on a value that failed coercion only repeat that failure: report it once.
    coerce_failed = failures[failures["rule"] == "coerce_dtype"]
    bad_cell = pd.MultiIndex.from_frame(failures[["row", "column"]]).isin(
        pd.MultiIndex.from_frame(coerce_failed[["row", "column"]])
    )
    echo = (bad_cell & (failures["rule"] != "coerce_dtype")) | (
        is_frame_check & failures["row"].isin(coerce_failed["row"])
    )
    failures, is_frame_check = failures[~echo], is_frame_check[~echo]
    # A dataframe check reports every column of a failing row: keep the column it is about.
    wanted = failures["rule"].map(DATAFRAME_CHECK_FIELDS).fillna(key_cols[0])
    frame_rows = failures[is_frame_check & (failures["column"] == wanted)]
    column_rows = failures[~is_frame_check]
    rows = pd.concat([column_rows, frame_rows]).drop_duplicates(["row", "column", "rule"])
    rows = rows.sort_values(["row", "column", "rule"], kind="stable")
    at = frame.loc[rows["row"].to_numpy()]
    keys = at[list(key_cols)].astype("str")
    record_key = keys.iloc[:, 0]
    for col in keys.columns[1:]:
        record_key = record_key + ":" + keys[col]
    month = at["month"].astype("str") if "month" in at else pd.Series(np.nan, index=at.index)
    month = month.where(month.str.fullmatch(MONTH_PATTERN.strip("^$")).fillna(False))
    value = rows["failure_case"].map(lambda v: np.nan if pd.isna(v) else str(v))
    return pd.DataFrame(
        {
            "record_key": record_key.to_numpy(),
            "month": month.to_numpy(),
            "field": rows["column"].astype("str").to_numpy(),
            "rule": rows["rule"].to_numpy(),
            "value": value.to_numpy(),
            "_row": rows["row"].to_numpy(),
        }
    )


def validate_with_quarantine(
    df: pd.DataFrame,
    model: type[pa.DataFrameModel],
    source: str,
    run_id: str,
    key_cols: Sequence[str] = ("record_key",),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate ``df`` against ``model``; split it into valid rows and quarantine records.

    Args:
        df: A conformed standard table.
        model: The pandera model of that table (``schemas.models``).
        source: Source the rows came from (written to the quarantine).
        run_id: Pipeline run id (written to the quarantine).
        key_cols: Columns identifying a row for the quarantine's ``record_key`` (joined by ``:``).

    Returns:
        ``(valid, quarantine)``: the rows that pass, coerced by the model and keeping their index
        labels, and the quarantine records (``schemas.columns.QUARANTINE`` columns, validated by
        ``QuarantineRecord``). ``quarantine.attrs['rows_quarantined']`` is the number of distinct
        rows kept out.

    Raises:
        StructuralSchemaError: The frame's columns do not match the model.
    """
    frame = df.reset_index(drop=True)
    kept = np.ones(len(frame), dtype=bool)
    parts: list[pd.DataFrame] = []
    for _ in range(_MAX_PASSES):
        try:
            valid = model.validate(frame[kept], lazy=True)
            break
        except pa.errors.SchemaErrors as err:
            failures = err.failure_cases
            per_row = failures[failures["index"].notna()]
            if per_row.empty:
                summary = failures[["check", "failure_case"]].astype("str").drop_duplicates()
                raise StructuralSchemaError(
                    f"{model.__name__}: {summary.to_dict('records')}"
                ) from err
            coerce_failed = per_row["check"].astype("str").str.startswith("coerce_dtype")
            if coerce_failed.any():
                # Other checks saw uncoerced data in this pass: take out only the rows that failed
                # coercion now, and let the next pass judge the rest on coerced values.
                per_row = per_row[per_row["index"].isin(per_row.loc[coerce_failed, "index"])]
            found = _quarantine_rows(per_row, frame, key_cols)
            parts.append(found)
            kept[found["_row"].unique()] = False
    else:  # pragma: no cover - would need a frame that keeps failing anew
        raise StructuralSchemaError(f"{model.__name__}: still failing after {_MAX_PASSES} passes")
    valid.index = df.index[kept]
    if parts:  # in the order of the input rows, whichever pass found them
        quarantine = pd.concat(parts).sort_values("_row", kind="stable", ignore_index=True)
    else:
        quarantine = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE})
    quarantine = quarantine.assign(source=source, action="row", run_id=run_id)
    quarantine = QuarantineRecord.validate(quarantine[list(QUARANTINE)].astype("str"))
    quarantine.attrs["rows_quarantined"] = int((~kept).sum())
    return valid, quarantine


def quality_summary(
    rows_in: int, valid: pd.DataFrame, quarantine: pd.DataFrame, source: str | None = None
) -> pd.DataFrame:
    """Summarise one validation: rows in, rows standardised, rows quarantined, records per rule.

    Args:
        rows_in: Rows given to ``validate_with_quarantine``.
        valid: Its valid frame.
        quarantine: Its quarantine frame.
        source: Source name; taken from the frames when omitted.

    Returns:
        One row per quarantine rule (a single row with ``rule`` NA when nothing was quarantined),
        columns ``source, rows_in, standardised, quarantined, rule, count``.
    """
    if source is None:
        names = pd.concat([valid.get("source", pd.Series()), quarantine["source"]]).dropna()
        source = names.iloc[0] if len(names) else None
    quarantined = quarantine.attrs.get("rows_quarantined", rows_in - len(valid))
    counts = quarantine.groupby("rule").size()
    if counts.empty:
        counts = pd.Series([0], index=pd.Index([np.nan], dtype="str"))
    return pd.DataFrame(
        {
            "source": source,
            "rows_in": rows_in,
            "standardised": len(valid),
            "quarantined": quarantined,
            "rule": counts.index.astype("str"),
            "count": counts.to_numpy(dtype=np.int64),
        }
    )
