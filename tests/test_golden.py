"""Golden record survivorship and provenance on tiny hand-made PERSON frames."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.golden import GOLDEN_COLUMNS, PROVENANCE_COLUMNS, GoldenResult, build_golden
from schemas.columns import PERSON

VALID, BAD_CHECK = "1103701234567", "1103701234560"  # made up; the second fails the check digit


def persons(*rows: dict) -> pd.DataFrame:
    """PERSON frame with the standardised dtypes (missing values NA)."""
    frame = pd.DataFrame(rows).reindex(columns=list(PERSON))
    for col in PERSON:
        if col == "birth_date":
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ms]")
        elif col == "birth_year":
            frame[col] = frame[col].astype("Int64")
        elif col == "is_placeholder_name":
            frame[col] = frame[col].eq(True)
        else:
            frame[col] = frame[col].astype("str")
    return frame


def one_child(frame: pd.DataFrame, child_id: str = "CAAAAAAAAAAAA") -> pd.DataFrame:
    keys = frame[["source", "record_key"]].drop_duplicates()
    return keys.assign(child_id=child_id)


def golden_of(frame: pd.DataFrame, **kw) -> tuple[pd.Series, pd.DataFrame]:
    result = build_golden(frame, one_child(frame), "run-7", **kw)
    assert len(result.golden) == 1
    return result.golden.iloc[0], result.provenance.set_index("field")


def test_valid_pid_beats_bad_check_from_a_more_trusted_source():
    frame = persons(
        # epassbook is the most trusted PID source, child_centres the least.
        dict(source="epassbook", record_key="F1:2", month="202401", pid=BAD_CHECK,
             pid_status="bad_check"),
        dict(source="epassbook", record_key="F9:3", month="202401", pid=BAD_CHECK,
             pid_status="bad_check"),
        dict(source="child_centres", record_key="ศูนย์ก:7", month="202401", pid=VALID,
             pid_status="valid"),
    )  # fmt: skip
    gold, prov = golden_of(frame)
    assert (gold["pid"], gold["pid_status"]) == (VALID, "valid")
    assert prov.loc["pid", ["value_source", "value_record_key", "rule"]].tolist() == [
        "child_centres", "ศูนย์ก:7", "pid_status"]  # fmt: skip


def test_most_frequent_valid_pid_then_trust():
    other = "1103701234575"
    frame = persons(
        dict(source="epassbook", record_key="F1:2", month="202401", pid=other, pid_status="valid"),
        dict(source="schools", record_key="S:1", month="202401", pid=VALID, pid_status="valid"),
        dict(source="cpis", record_key="CP-1", month="202401", pid=VALID, pid_status="valid"),
    )  # fmt: skip
    gold, prov = golden_of(frame)
    assert gold["pid"] == VALID  # two records against one, though epassbook is trusted more
    assert prov.loc["pid", ["value_source", "rule"]].tolist() == ["schools", "frequency"]


def test_placeholder_name_never_wins():
    frame = persons(
        dict(source="health_centres", record_key="H:1", month="202402", given_name="ทารก",
             family_name="ใจดี", is_placeholder_name=True),
        dict(source="cpis", record_key="CP-1", month="202401", given_name="ฟ้าใส",
             family_name="ใจงาม"),
    )  # fmt: skip
    gold, prov = golden_of(frame)
    # health_centres is trusted for names over cpis, and more recent, but holds a placeholder.
    assert (gold["given_name"], gold["family_name"]) == ("ฟ้าใส", "ใจงาม")
    assert prov.loc["given_name", "rule"] == "only_candidate"
    only_placeholder = persons(frame.iloc[0].to_dict())
    gold, _ = golden_of(only_placeholder)
    assert pd.isna(gold["given_name"]) and pd.isna(gold["family_name"])


def test_provenance_names_the_record_behind_every_value():
    frame = persons(
        dict(source="schools", record_key="10110003:001", month="202401", pid=VALID,
             pid_status="valid", prefix="ด.ญ.", given_name="ฟ้าใส", family_name="ใจดี",
             given_name_rom="fasai", sex="F", birth_date="2020-03-05",
             birth_date_precision="day", district_code="1011"),
        dict(source="health_centres", record_key="10675:99", month="202402", pid=VALID,
             pid_status="valid", given_name="ฟ้า", family_name="ใจดี", sex="F",
             birth_date="2020-03-06", birth_date_precision="day", guardian_phone="+66812345678",
             mother_pid="3101234567891", subdistrict_code="101101"),
    )  # fmt: skip
    result = build_golden(frame, one_child(frame), "run-7")
    prov = result.provenance.astype({"field": "str"}).sort_values("field", ignore_index=True)
    assert prov.columns.tolist() == list(PROVENANCE_COLUMNS)
    s, h = ("schools", "10110003:001"), ("health_centres", "10675:99")
    expected = [
        # field, source record, rule that put it first
        ("birth_date", h, "trust"), ("birth_date_precision", h, "trust"),
        ("family_name", s, "unanimous"), ("given_name", s, "trust"),
        ("given_name_rom", s, "trust"), ("guardian_phone", h, "only_candidate"),
        ("mother_pid", h, "only_candidate"), ("pid", h, "unanimous"),
        ("pid_status", h, "unanimous"), ("prefix", s, "only_candidate"),
        ("sex", s, "unanimous"), ("subdistrict_code", h, "recency"),
    ]  # fmt: skip
    got = [
        (f, (src, key), rule)
        for f, src, key, rule in prov[
            ["field", "value_source", "value_record_key", "rule"]
        ].itertuples(index=False)
    ]
    assert got == expected
    assert set(prov["run_id"]) == {"run-7"} and set(prov["child_id"]) == {"CAAAAAAAAAAAA"}
    gold = result.golden.iloc[0]
    # The address group is taken whole from the most recent record: no district from schools.
    assert gold["subdistrict_code"] == "101101" and pd.isna(gold["district_code"])
    assert (gold["given_name"], gold["birth_date"]) == ("ฟ้าใส", pd.Timestamp("2020-03-06"))


def test_day_precision_beats_year_and_age_from_any_source():
    frame = persons(
        dict(source="health_centres", record_key="H:1", month="202401", birth_date="2020-01-01",
             birth_date_precision="year"),
        dict(source="cpis", record_key="CP-1", month="202401", birth_date="2019-06-30",
             birth_date_precision="age"),
        dict(source="child_centres", record_key="K:1", month="202401", birth_date="2020-03-05",
             birth_date_precision="day"),
    )  # fmt: skip
    gold, prov = golden_of(frame)
    assert (gold["birth_date"], gold["birth_date_precision"]) == (pd.Timestamp("2020-03-05"), "day")
    assert prov.loc["birth_date", "rule"] == "precision"


def test_contact_fields_come_from_the_most_recent_month():
    frame = persons(
        dict(source="epassbook", record_key="F1:2", month="202401", guardian_phone="+66811111111",
             address_text="1 ซ.หนึ่ง", district_code="1011"),
        dict(source="cpis", record_key="CP-1", month="202403", guardian_phone="+66822222222",
             address_text="2 ซ.สอง", district_code="1012"),
    )  # fmt: skip
    gold, prov = golden_of(frame)
    assert gold[["guardian_phone", "address_text", "district_code"]].tolist() == [
        "+66822222222", "2 ซ.สอง", "1012"]  # fmt: skip
    assert prov.loc["address_text", ["value_source", "rule"]].tolist() == ["cpis", "recency"]


def test_trust_order_can_be_overridden():
    frame = persons(
        dict(source="schools", record_key="S:1", month="202401", given_name="ฟ้า"),
        dict(source="cpis", record_key="CP-1", month="202401", given_name="ฟ้าใส"),
    )
    default, _ = golden_of(frame)
    custom, _ = golden_of(frame, trust_order={"names": ("cpis", "schools")})
    assert (default["given_name"], custom["given_name"]) == ("ฟ้า", "ฟ้าใส")


def test_monthly_rows_collapse_to_records_and_children_are_separate():
    frame = persons(
        dict(source="schools", record_key="S:1", month="202401", given_name="ฟ้า"),
        dict(source="schools", record_key="S:1", month="202402", given_name="ฟ้าใส"),
        dict(source="cpis", record_key="CP-1", month="202403", given_name="ฟ้าใส"),
        dict(source="schools", record_key="S:2", month="202402", given_name="ดาว"),
        dict(source="epassbook", record_key="F1:1", month="202402", given_name="สมศรี"),
    )  # fmt: skip
    assignments = pd.DataFrame(
        {
            "source": ["schools", "cpis", "schools"],
            "record_key": ["S:1", "CP-1", "S:2"],
            "child_id": ["CB", "CB", "CA"],
        }
    )  # fmt: skip  (the adult F1:1 has no child id and is ignored)
    golden = build_golden(frame, assignments, "run-7").golden
    assert golden.columns.tolist() == list(GOLDEN_COLUMNS)
    assert golden["child_id"].tolist() == ["CA", "CB"]
    cb = golden.iloc[1]
    assert cb["given_name"] == "ฟ้าใส"  # S:1's latest month
    assert (cb["sources"], cb["n_records"]) == ("cpis,schools", 2)
    assert (cb["first_month"], cb["last_month"]) == ("202401", "202403")


def test_result_does_not_depend_on_row_order():
    frame = persons(
        # Complete ties on every key: only the content-based tie-break decides.
        dict(source="schools", record_key="S:1", month="202401", nickname="บีม", sex="M"),
        dict(source="schools", record_key="S:2", month="202401", nickname="บอส", sex="M"),
        dict(source="schools", record_key="S:3", month="202401", nickname="บุ๋ม", sex="M"),
    )
    first = build_golden(frame, one_child(frame), "r")
    shuffled = frame.iloc[[2, 0, 1]].reset_index(drop=True)
    second = build_golden(shuffled, one_child(shuffled), "r")
    pd.testing.assert_frame_equal(first.golden, second.golden)
    assert first.provenance.set_index("field").loc["nickname", "rule"] == "tiebreak"


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="lacks columns"):
        build_golden(pd.DataFrame({"source": ["schools"]}), pd.DataFrame(), "r")


def test_arrow_input_as_parquet_gives_the_same_records(tmp_path):
    """The golden stage reads linked records and assignments from Parquet as Arrow tables
    (dates as date32, text as large strings, chunked): same golden rows and provenance as from
    pandas frames."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = persons(
        dict(source="schools", record_key="S:1", month="202401", given_name="ฟ้าใส",
             birth_date="2018-03-01", pid=VALID, pid_status="valid", sex="F"),
        dict(source="cpis", record_key="CP-1", month="202402", given_name="ฟ้า",
             birth_date="2018-03-01", pid=BAD_CHECK, pid_status="bad_check", nickname="ฟ้า"),
        dict(source="health_centres", record_key="H:1", month="202402", family_name="ใจดี",
             birth_year=2018, birth_date_precision="year", is_placeholder_name=True),
    )  # fmt: skip
    assignments = one_child(frame)
    first = build_golden(frame, assignments, "run-7")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    at = table.schema.get_field_index("birth_date")
    table = table.set_column(at, "birth_date", table["birth_date"].cast(pa.date32()))
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=1)  # one chunk per row
    pq.write_table(pa.Table.from_pandas(assignments), tmp_path / "a.parquet")
    second = build_golden(
        pq.read_table(tmp_path / "p.parquet"), pq.read_table(tmp_path / "a.parquet"), "run-7"
    )
    pd.testing.assert_frame_equal(first.golden, second.golden)
    pd.testing.assert_frame_equal(first.provenance.astype(str), second.provenance.astype(str))
    assert second.golden.loc[0, "pid"] == VALID
    assert second.golden.loc[0, "birth_date"] == pd.Timestamp("2018-03-01")


def test_recency_is_when_a_record_last_changed_not_when_it_was_last_delivered():
    """A school roster re-delivers its old address every month; the health centre's record
    changed in February. The newer value wins, though the school delivered later."""
    old, new = "12 ซอย 3 old", "99 ถนนใหม่ new"
    frame = persons(
        dict(source="schools", record_key="S:1", month="202601", address_text=old),
        dict(source="schools", record_key="S:1", month="202602", address_text=old),
        dict(source="schools", record_key="S:1", month="202603", address_text=old),
        dict(source="health_centres", record_key="H:1", month="202601", address_text=old),
        dict(source="health_centres", record_key="H:1", month="202602", address_text=new),
    )
    gold, prov = golden_of(frame)
    assert gold["address_text"] == new
    assert prov.loc["address_text", "rule"] == "recency"
    assert prov.loc["address_text", "value_record_key"] == "H:1"
    # The pipeline passes only each record's latest row, with its content_since, and each
    # record's first month in the assignments: the same golden record.
    latest = frame.drop_duplicates(["source", "record_key"], keep="last")
    latest = latest.assign(content_since=["202601", "202602"]).reset_index(drop=True)
    history = one_child(latest).assign(first_month="202601")
    again = build_golden(latest, history, "run-7").golden.iloc[0]
    pd.testing.assert_series_equal(gold, again)
    assert again["first_month"] == "202601"


def test_content_since_is_the_start_of_the_latest_unchanged_run():
    import duckdb

    from linkage.golden import content_since_sql

    rows = pd.DataFrame(
        {
            "source": ["s"] * 10,
            "record_key": ["a", "a", "a", "b", "b", "c", "d", "d", "d", "e"],
            "month": ["202601", "202602", "202603", "202601", "202602", "202603",
                      "202601", "202602", "202602", None],
            # a: changed back in March; b: never changed; d: delivered twice in February,
            # the later row (seq) with new content; e: no month
            "content_hash": [1, 2, 1, 5, 5, 9, 7, 7, 8, 3],
            "seq": range(10),
        }
    )  # fmt: skip
    con = duckdb.connect()
    con.register("rows", rows)
    sql = content_since_sql("rows", "(month, seq)")
    got = dict(con.sql(f"SELECT record_key, content_since FROM ({sql})").fetchall())
    assert got == {"a": "202603", "b": "202601", "c": "202603", "d": "202602", "e": None}
    # the earlier of the two February rows as the latest: nothing changed since January
    con.register("swapped", rows.assign(seq=[0, 1, 2, 3, 4, 5, 6, 8, 7, 9]))
    sql = content_since_sql("swapped", "(month, seq)")
    assert dict(con.sql(f"SELECT record_key, content_since FROM ({sql})").fetchall())["d"] == (
        "202601"
    )
    con.register("numbers", rows.assign(month=rows["month"].astype(float).astype("Int64")))
    sql = content_since_sql("numbers", "(month, seq)")
    assert dict(con.sql(f"SELECT record_key, content_since FROM ({sql})").fetchall())["a"] == (
        202603
    )


def test_golden_changes_counts_new_changed_unchanged_and_removed():
    import pyarrow as pa

    from linkage.golden import golden_changes

    def table(rows):
        frame = pd.DataFrame(rows, columns=list(GOLDEN_COLUMNS))
        return pa.Table.from_pandas(frame.astype({"n_records": "Int64"}), preserve_index=False)

    before = table([
        {"child_id": "CA", "given_name": "ฟ้า", "n_records": 1, "last_month": "202601"},
        {"child_id": "CB", "given_name": "ดาว", "n_records": 1},
        {"child_id": "CC", "given_name": "ต้น"},
    ])  # fmt: skip
    after = table([
        {"child_id": "CA", "given_name": "ฟ้า", "n_records": 2, "last_month": "202602"},
        {"child_id": "CB", "given_name": "ดาวใจ", "n_records": 1},
        {"child_id": "CD", "given_name": "ฝน"},
    ])  # fmt: skip
    assert golden_changes(before, after) == {"new": 1, "changed": 1, "unchanged": 1, "removed": 1}
    assert golden_changes(None, after)["new"] == 3


def test_a_later_build_reuses_only_children_whose_records_are_unchanged(tmp_path):
    """Month 2 changes one child's record and adds a child; the other child's values are
    reused. The result is what a build from scratch gives (but for provenance run_id), and
    it survives the Arrow IPC round trip the pipeline stores it in."""
    import pyarrow.feather as feather

    month1 = persons(
        dict(source="schools", record_key="S:1", month="202601", given_name="ฟ้า", sex="F"),
        dict(source="cpis", record_key="C:1", month="202601", given_name="ฟ้าใส", sex="F"),
        dict(source="schools", record_key="S:2", month="202601", given_name="ดาว", sex="M",
             address_text="1 ซอย 2"),
    )  # fmt: skip
    ids = {"S:1": "CA", "C:1": "CA", "S:2": "CB", "S:3": "CC"}

    def assign(frame):
        keys = frame[["source", "record_key"]].drop_duplicates()
        return keys.assign(child_id=keys["record_key"].map(ids))

    first = build_golden(month1, assign(month1), "run-1")
    for name, t in (("g", first.golden_table), ("p", first.provenance_table),
                    ("d", first.digests)):  # fmt: skip
        feather.write_feather(t, tmp_path / name, compression="uncompressed")
    stored = GoldenResult(*(feather.read_table(tmp_path / n) for n in ("g", "p", "d")))
    month2 = pd.concat(
        [
            month1,
            persons(
                dict(source="schools", record_key="S:1", month="202602", given_name="ฟ้า",
                     sex="F"),  # re-delivered unchanged
                dict(source="schools", record_key="S:2", month="202602", given_name="ดาว",
                     sex="M", address_text="9 ถนนใหม่"),  # moved
                dict(source="schools", record_key="S:3", month="202602", given_name="ฝน"),
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    scratch = build_golden(month2, assign(month2), "run-2")
    again = build_golden(month2, assign(month2), "run-2", previous=stored)
    assert again.reused == 1  # CA: its records' content is as in month 1
    pd.testing.assert_frame_equal(again.golden, scratch.golden)

    def rows(result):
        return (
            result.provenance.drop(columns="run_id")
            .astype(str)
            .sort_values(["child_id", "field"], ignore_index=True)
        )

    pd.testing.assert_frame_equal(rows(again), rows(scratch))
    runs = again.provenance.astype(str).groupby("child_id")["run_id"].agg(set).to_dict()
    assert runs == {"CA": {"run-1"}, "CB": {"run-2"}, "CC": {"run-2"}}
    assert again.golden.set_index("child_id").loc["CB", "address_text"] == "9 ถนนใหม่"
    # A trust order other than the stored build's reuses nothing.
    other = build_golden(month2, assign(month2), "run-2", {"names": ("cpis",)}, previous=stored)
    assert other.reused == 0
    feather.write_feather(again.provenance_table, tmp_path / "p2", compression="uncompressed")
