"""Blocking keys and the vectorised PID-slip test the clusterer relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
from linkage_fixtures import person_frame

from linkage.cluster import _one_slip, _one_slip_many
from linkage.prepare import _capped_key, _in_key_order


def test_capped_key_groups_equal_parts_and_drops_missing_and_oversized_keys():
    given = pd.Series(["ฟ้า", "ฟ้า", "ฟ้า", "ภูมิ", "ภูมิ", None, "ดาว"], dtype="str")
    year = pd.Series([2018, 2018, 2019, 2017, 2017, 2018, pd.NA], dtype="Int64")
    key = _capped_key([given, year], cap=2)
    assert key.dtype == "Int64"
    assert key[0] == key[1] and key[3] == key[4] and key[0] != key[3]
    assert key[2] != key[0]  # same name, another year
    assert key.iloc[5:].isna().all()  # a missing part gives no key
    # a key shared by more rows than the cap is dropped from the rule
    assert _capped_key([given, year], cap=1).iloc[[0, 1, 3, 4]].isna().all()
    assert _capped_key([given, year], cap=1).notna()[2]


def test_one_slip_many_agrees_with_one_slip():
    rng = np.random.default_rng(5)
    base = ["".join(rng.choice(list("0123456789"), 13)) for _ in range(300)]
    other = []
    for k, pid in enumerate(base):
        digits = list(pid)
        if k % 4 == 1:  # one substitution
            digits[k % 13] = str((int(digits[k % 13]) + 1) % 10)
        elif k % 4 == 2:  # neighbours swapped
            i = k % 12
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        elif k % 4 == 3:  # two substitutions
            digits[0], digits[7] = str((int(digits[0]) + 1) % 10), str((int(digits[7]) + 3) % 10)
        other.append("".join(digits))
    other[0] = base[0][:12]  # another length
    left, right = np.array(base, dtype=object), np.array(other, dtype=object)
    expected = [_one_slip(a, b) for a, b in zip(base, other, strict=True)]
    assert _one_slip_many(left, right).tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_key_order_check():
    frame = pd.DataFrame({"source": ["a", "a", "b"], "record_key": ["1", "2", "1"]})
    assert _in_key_order(frame)
    assert not _in_key_order(frame.iloc[[1, 0, 2]])
    assert not _in_key_order(pd.concat([frame, frame.iloc[[2]]]))  # a key twice


def test_blocking_columns_keep_the_join_of_rules_with_extra_conditions():
    """Incremental scoring narrows the records to those sharing a rule's join columns with a
    changed record; a rule with an extra condition still joins on its key, and a rule whose
    top-level OR makes no column required disables the narrowing."""
    from types import SimpleNamespace

    from linkage.incremental import blocking_columns
    from linkage.model import settings

    def columns(*rules: str):
        rows = [{"blocking_rule": r} for r in rules]
        return blocking_columns(
            SimpleNamespace(settings={"blocking_rules_to_generate_predictions": rows})
        )

    assert columns('(l."k" = r."k") AND (l.birth_md IS NULL OR r.birth_md IS NULL)') == [
        [("k", "k")]
    ]
    assert columns("((l.a = r.a) AND (l.b = r.b))", "l.c = r.c") == [
        [("a", "a"), ("b", "b")],
        [("c", "c")],
    ]
    assert columns("l.a = r.a AND l.b = r.b OR l.c = r.c") is None
    assert columns("l.a = r.b") == [[("a", "b")]]
    ours = SimpleNamespace(settings=settings().create_settings_dict("duckdb"))
    assert [("bk_given_coarse", "bk_given_year")] in blocking_columns(ours)


def test_scoring_subset_follows_joins_of_two_columns_both_ways():
    """A rule joining one record's coarse key to another's full key (given name + year where
    one birth date is only a year): a changed record brings in its partners on either side,
    and nothing that shares only the full key with it."""
    from types import SimpleNamespace

    from linkage.incremental import scoring_subset

    rules = ["l.coarse = r.full", "l.full = r.coarse"]
    artefact = SimpleNamespace(
        settings={"blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in rules]}
    )
    frame = pd.DataFrame(
        {  # rows 0-2 share full key 7; only row 1 is coarse. Row 3: key 8, coarse.
            "full": pd.array([7, 7, 7, 8, 9], dtype="Int64"),
            "coarse": pd.array([None, 7, None, 8, None], dtype="Int64"),
        }
    )

    def near(*rows: int) -> list[int]:
        changed = pd.Series([i in rows for i in range(len(frame))])
        return [i for i, x in enumerate(scoring_subset(frame, changed, artefact)) if x]

    assert near(1) == [0, 1, 2]  # a coarse record meets every record of its key
    assert near(0) == [0, 1]  # a precise one meets only the coarse record, not row 2
    assert near(3) == [3]
    assert near(4) == [4]


def test_linkage_persons_keeps_each_records_latest_month_in_key_order(tmp_path):
    """The link stage reads every month's standard files: one row per record, its latest
    month, sorted by (source, record_key); a record written twice in one file (which
    ``check_standard`` reports) keeps its later row."""
    from pipelines.stages import linkage_persons
    from pipelines.workarea import WorkArea, write_parquet_atomic

    work = WorkArea(tmp_path).ensure()

    def rows(month: str, *records: tuple[str, str, str]):
        frame = person_frame(
            [{"source": s, "record_key": k, "given_name": g, "month": month} for s, k, g in records]
        )
        write_parquet_atomic(frame, work.standard_file(records[0][0], "persons", month))

    rows("202411", ("schools", "B:2", "old"), ("schools", "A:1", "gone"))
    rows("202412", ("schools", "B:2", "new"), ("schools", "C:3", "first"))
    rows("202411", ("cpis", "Z9", "case"))
    persons = linkage_persons(work)
    got = zip(persons["source"], persons["record_key"], persons["given_name"], strict=True)
    assert list(got) == [
        ("cpis", "Z9", "case"),
        ("schools", "A:1", "gone"),
        ("schools", "B:2", "new"),
        ("schools", "C:3", "first"),
    ]
    assert persons["birth_year"].dtype == "Int64"
    rows("202412", ("schools", "B:2", "typed"), ("schools", "B:2", "retyped"))
    persons = linkage_persons(work)
    assert persons.loc[persons["record_key"] == "B:2", "given_name"].tolist() == ["retyped"]


def test_key_memo_gives_the_same_keys_and_reuses_them_next_run(tmp_path):
    """Phonetic keys of nicknames and guardian names are kept from one link to the next; a
    memo written by other code (another stamp) is ignored."""
    import pyarrow.parquet as pq

    from linkage.prepare import KeyMemo, prepare
    from schemas.names import phonetic_key

    persons = person_frame(
        [
            {"source": "cpis", "record_key": "1", "nickname": "ฟ้า", "guardian_name": "สมศรี ใจดี"},
            {"source": "cpis", "record_key": "2", "nickname": "ฟ้า", "guardian_name": None},
            {"source": "cpis", "record_key": "3", "nickname": "Fah", "guardian_name": "สมชาย"},
        ]
    )
    path = tmp_path / "name_keys.parquet"
    first = KeyMemo(path)
    prepared = prepare(persons, key_memo=first)
    pd.testing.assert_frame_equal(prepared, prepare(persons))
    expected = phonetic_key(persons["nickname"].astype("str"))
    assert prepared["nickname_key"].tolist() == expected.tolist()
    assert (first.reused, first.keyed) == (0, 4)  # 2 nicknames, 2 guardian names
    pq.write_table(first.to_table(), path)
    again = KeyMemo(path)
    pd.testing.assert_frame_equal(prepare(persons, key_memo=again), prepared)
    assert (again.reused, again.keyed) == (4, 0)
    pq.write_table(first.to_table().replace_schema_metadata({"stamp": "old code"}), path)
    stale = KeyMemo(path)
    prepare(persons, key_memo=stale)
    assert stale.reused == 0


def test_ranked_ids_keep_the_order_of_the_text_ids():
    """Splink scores records under the ranks of their ids: rank order must be text order
    (so ``l < r`` holds for the same pairs), and a repeated id is refused."""
    import pytest

    from linkage.prepare import ranked_ids

    in_order, ranks = ranked_ids(pd.Series(["cpis|9", "schools|1", "schools|2"], dtype="str"))
    assert in_order.to_pylist() == ["cpis|9", "schools|1", "schools|2"]
    assert ranks.tolist() == [0, 1, 2]
    ids = pd.Series(["hdc|1", "cpis|9", "hdc_school|1", "hdc|10"], dtype="str")
    in_order, ranks = ranked_ids(ids)
    assert in_order.to_pylist() == sorted(ids)
    assert [in_order[r].as_py() for r in ranks] == ids.tolist()
    for i in range(len(ids)):
        for j in range(len(ids)):
            assert (ranks[i] < ranks[j]) == (ids[i] < ids[j])
    with pytest.raises(ValueError, match="unique"):
        ranked_ids(pd.Series(["b", "a", "b"], dtype="str"))
    with pytest.raises(ValueError, match="missing"):
        ranked_ids(pd.Series(["a", None], dtype="str"))
