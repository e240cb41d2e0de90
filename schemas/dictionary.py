"""Data dictionary of the shared child-data standard, generated from the pandera models.

Run ``python -m schemas.dictionary > docs/data_dictionary.md`` to regenerate the published page.
"""

from __future__ import annotations

import sys

import pandera.pandas as pa

from schemas.columns import EVENT_TABLES, PERSON, QUARANTINE
from schemas.models import DATAFRAME_CHECK_DESCRIPTIONS, DATAFRAME_CHECK_FIELDS, MODELS

_HEADER = """# Data dictionary: the shared child-data standard

Generated from `schemas/models.py` by `python -m schemas.dictionary`; do not edit by hand.
Every table is validated with `strict=True` (no missing or extra columns) and `coerce=True`. A row
that fails a check goes to quarantine (`schemas.quality.validate_with_quarantine`) with the check
name as its rule.
"""

_DTYPE_NAMES = {"string[pyarrow]": "str", "string[python]": "str"}


def _describe_check(check: pa.Check) -> str:
    """A short human reading of one pandera check."""
    stats = {k: v for k, v in (check.statistics or {}).items() if v is not None}
    if check.name == "isin":
        values = list(stats.get("allowed_values", []))
        shown = ", ".join(f"`{v}`" for v in values[:12])
        return f"one of {shown}" + (f" (+{len(values) - 12} more)" if len(values) > 12 else "")
    if check.name == "str_matches":
        return f"matches `{stats.get('pattern')}`"
    if check.name == "in_range":
        return f"between {stats.get('min_value')} and {stats.get('max_value')}"
    words = {"greater_than_or_equal_to": "≥", "less_than_or_equal_to": "≤"}
    if check.name in words:
        value = next(iter(stats.values()), "")
        return f"{words[check.name]} {str(value).removesuffix(' 00:00:00')}"
    return str(check.name)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def model_markdown(name: str, model: type[pa.DataFrameModel]) -> str:
    """Markdown section for one model: its docstring, then a field table and its row checks.

    Args:
        name: Table name (a key of ``schemas.models.MODELS``).
        model: The pandera model.

    Returns:
        Markdown text.
    """
    schema = model.to_schema()
    doc = (model.__doc__ or "").strip().splitlines()[0]
    lines = [
        f"## `{name}` ({model.__name__})",
        "",
        doc,
        "",
        "| field | type | nullable | description | checks |",
        "|---|---|---|---|---|",
    ]
    order = {**EVENT_TABLES, "person": PERSON, "quarantine": QUARANTINE}.get(name, ())
    for field in sorted(schema.columns, key=lambda f: order.index(f) if f in order else len(order)):
        column = schema.columns[field]
        dtype = _DTYPE_NAMES.get(str(column.dtype), str(column.dtype))
        checks = "; ".join(_describe_check(c) for c in column.checks)
        nullable = "yes" if column.nullable else "no"
        lines.append(
            f"| `{field}` | {_cell(dtype)} | {nullable} | {_cell(column.description)} "
            f"| {_cell(checks)} |"
        )
    if schema.checks:
        lines += ["", "Row checks (a failing row is quarantined, the rest of the table kept):", ""]
        for check in schema.checks:
            why = DATAFRAME_CHECK_DESCRIPTIONS.get(check.name, "")
            field = DATAFRAME_CHECK_FIELDS.get(check.name, "record_key")
            lines.append(f"- `{check.name}` (quarantined as field `{field}`): {why}")
    return "\n".join(lines) + "\n"


def data_dictionary_markdown() -> str:
    """The whole data dictionary: one table per model in ``schemas.models.MODELS``.

    Returns:
        Markdown text.
    """
    sections = [model_markdown(name, model) for name, model in MODELS.items()]
    return _HEADER + "\n" + "\n".join(sections)


def main() -> None:
    """Write the data dictionary to standard output."""
    sys.stdout.write(data_dictionary_markdown())


if __name__ == "__main__":
    main()
