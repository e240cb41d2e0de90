"""JSON Lines reading in batches: the same rows and line numbers whatever the batch size, and
values kept as delivered."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sources.jsonlines import read_objects, text_column


def _members(objects: list[dict]) -> tuple[pa.Table, np.ndarray]:
    """One row per member of each family object (as the passbook reader flattens)."""
    family, member, obj = [], [], []
    for i, doc in enumerate(objects):
        for m in doc.get("members") or []:
            family.append(doc.get("family_id"))
            member.append(m.get("name"))
            obj.append(i)
    table = pa.table({"family_id": text_column(family), "name": text_column(member)})
    return table, np.asarray(obj, dtype=np.int64)


TEXT = "\n".join(
    [
        '{"family_id": "F1", "members": [{"name": "สมชาย"}, {"name": "มาลี"}]}',
        "",  # blank: skipped, not bad
        '{"family_id": "F2", "members": [{"name": "ก"}]}',
        '{"family_id": "F3", "members": [{"name": "ข"}',  # truncated
        '["not", "an", "object"]',
        '{"family_id": 4, "members": []}',  # no members: no rows
        '{"family_id": "F5", "members": [{"name": "ค"}, {"name": null}]}',
        "   ",
    ]
)


def test_batches_give_the_same_rows_and_line_numbers():
    whole, lines, bad = read_objects(TEXT, _members, batch=10_000)
    assert whole.to_pydict() == {
        "family_id": ["F1", "F1", "F2", "F5", "F5"],
        "name": ["สมชาย", "มาลี", "ก", "ค", None],
    }
    assert lines.tolist() == [1, 1, 3, 7, 7]
    assert bad == [4, 5]  # the truncated line and the array
    for batch in (1, 2, 3):
        table, at, wrong = read_objects(TEXT, _members, batch=batch)
        assert table.equals(whole) and at.tolist() == lines.tolist() and wrong == bad


def test_an_empty_file_gives_an_empty_table():
    table, lines, bad = read_objects("", _members)
    assert table.num_rows == 0 and len(lines) == 0 and bad == []


def test_values_are_kept_as_delivered():
    assert text_column(["a", None, "ข"]).to_pylist() == ["a", None, "ข"]
    assert text_column([12, None, 3]).to_pylist() == ["12", None, "3"]
    assert text_column([True, False, None]).to_pylist() == ["true", "false", None]
    # mixed: numbers keep their JSON spelling (floats arrive as their text), nested values
    # are their JSON text with Thai unescaped
    mixed = text_column(["x", 7, "1.50", [1, "ก"], {"k": None}, True, None])
    assert mixed.to_pylist() == ["x", "7", "1.50", '[1, "ก"]', '{"k": null}', "true", None]
    assert text_column([2**70, 1]).to_pylist() == [str(2**70), "1"]
