"""Reading JSON Lines extracts into Arrow text columns, in batches (used by the passbook reader).

Values are kept as delivered: a number keeps its JSON spelling, a boolean is ``true``/``false``,
a list or object is its JSON text, and null stays missing. A file of a million children is
~250k lines holding ~800k member objects, so lines are parsed and turned into Arrow columns a
batch at a time: the parsed JSON of the whole file would hold gigabytes of Python objects.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa

# One decoder for every line; floats keep their JSON spelling.
_DECODER = json.JSONDecoder(parse_float=str)
BATCH = 20_000  # objects parsed before they are flattened into Arrow columns


def json_text(value: object) -> str | None:
    """A JSON value as text as delivered (numbers keep their JSON spelling; null stays missing)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def text_column(values: list) -> pa.Array:
    """One column of JSON values as Arrow text; ``json_text`` runs only on columns not all text.

    A column of JSON integers only (``member_no``) or booleans only (``disability``) is cast by
    Arrow, which spells them as ``json_text`` does (``12``, ``true``, ``false``).
    """
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    try:
        typed = pa.array(values)
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
        typed = None
    if typed is not None and (pa.types.is_int64(typed.type) or pa.types.is_boolean(typed.type)):
        return typed.cast(pa.string())
    return pa.array([json_text(v) for v in values], pa.string())


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic dicts and lists (it would
    rescan them again and again: about a quarter of the reading time of a large file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _split_lines(text: str) -> Iterator[str]:
    """``text.split("\\n")`` one line at a time (no list of every line of a large file)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


Flatten = Callable[[list[dict]], tuple[pa.Table, np.ndarray]]


def read_objects(
    text: str, flatten: Flatten, batch: int = BATCH
) -> tuple[pa.Table, np.ndarray, list[int]]:
    """Parse JSON Lines text whose lines are objects and flatten them into one table.

    Args:
        text: The decoded file.
        flatten: Turns a list of objects into ``(table, obj)``: the rows, and for each row the
            index of the object in the list it was given that the row came from.
        batch: Objects per call of ``flatten``.

    Returns:
        The rows of every batch, each row's 1-based line number, and the numbers of the lines
        that are not blank and not a JSON object (a truncated line, a JSON array ...).
    """
    tables: list[pa.Table] = []
    rows: list[np.ndarray] = []
    bad: list[int] = []
    objects: list[dict] = []
    lines: list[int] = []

    def flush() -> None:
        table, obj = flatten(objects)
        tables.append(table)
        rows.append(np.asarray(lines, dtype=np.int64)[obj])
        objects.clear()
        lines.clear()

    with _gc_paused():
        for number, line in enumerate(_split_lines(text), start=1):
            if not line.strip():
                continue
            try:
                doc = _DECODER.decode(line)
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                bad.append(number)
                continue
            objects.append(doc)
            lines.append(number)
            if len(objects) == batch:
                flush()
        if objects or not tables:
            flush()
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return table, np.concatenate(rows), bad
