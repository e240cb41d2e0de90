"""Twin-safe clustering on hand-made records and hand-scored pairs (exact expected clusters)."""

from __future__ import annotations

import pandas as pd
from linkage_fixtures import person_frame, with_check_digit

from linkage.cluster import cluster, cluster_records, review_candidates

FAMILY = {"family_name": "ใจดี", "guardian_name": "สมศรี ใจดี", "guardian_phone": "+66812345678"}
PID_A = with_check_digit("110370123456")
PID_B = with_check_digit("110370987654")


def _pairs(*edges: tuple[str, str, float]) -> pd.DataFrame:
    rows = [(min(a, b), max(a, b), p) for a, b, p in edges]
    return pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])


def _groups(clusters: pd.DataFrame) -> list[list[str]]:
    grouped = clusters.groupby("cluster_id")["unique_id"].apply(sorted)
    return sorted(grouped.tolist())


def test_twins_and_an_ambiguous_record_that_would_chain_them_stay_split():
    persons = person_frame(
        [
            # twin A at school, twin B at the health centre: same family, phone, birth date, sex
            {
                "source": "schools",
                "record_key": "10110003:1",
                "given_name": "ฟ้าใส",
                "sex": "F",
                "birth_date": "2018-03-05",
                **FAMILY,
            },
            {
                "source": "health_centres",
                "record_key": "10001:7",
                "given_name": "ฟ้าใหม่",
                "sex": "F",
                "birth_date": "2018-03-05",
                **FAMILY,
            },
            # a CPIS case with no given name: as close to either twin
            {
                "source": "cpis",
                "record_key": "CP-2024-000001",
                "birth_date": "2018-03-05",
                **FAMILY,
            },
        ]
    )
    a, b, x = "schools|10110003:1", "health_centres|10001:7", "cpis|CP-2024-000001"
    pairs = _pairs((a, x, 0.99), (b, x, 0.98), (a, b, 0.9))
    # by default a record with neither a given name nor a PID is held for review
    held = cluster_records(persons, pairs, threshold=0.5)
    assert _groups(held.clusters) == [[x], [b], [a]]
    assert held.conflicts["reason"].tolist() == ["unnamed", "unnamed", "twin"]
    # allowed to link, x joins the stronger twin; neither the chain x-b nor a-b merges the twins
    linked = cluster_records(persons, pairs, threshold=0.5, hold_unnamed=False)
    assert _groups(linked.clusters) == [[x, a], [b]]
    assert linked.conflicts["reason"].tolist() == ["twin", "twin"]
    assert sorted(linked.conflicts["match_probability"]) == [0.9, 0.98]


def test_twins_of_different_sex_stay_split_even_with_the_same_name_key():
    persons = person_frame(
        [
            {
                "source": "schools",
                "record_key": "S:1",
                "given_name": "ภูมิ",
                "sex": "M",
                "birth_date": "2017-06-01",
                **FAMILY,
            },
            {
                "source": "epassbook",
                "record_key": "FP-1011-000001:3",
                "given_name": "ภูมิ",
                "sex": "F",
                "birth_date": "2017-06-01",
                **FAMILY,
            },
        ]
    )
    pairs = _pairs(("schools|S:1", "epassbook|FP-1011-000001:3", 0.999))
    result = cluster_records(persons, pairs, threshold=0.5)
    assert result.clusters["cluster_size"].tolist() == [1, 1]
    assert result.conflicts["reason"].tolist() == ["twin"]


def test_a_name_change_explained_by_the_same_pid_is_merged():
    persons = person_frame(
        [
            {
                "source": "schools",
                "record_key": "S:1",
                "given_name": "ฟ้าใส",
                "sex": "F",
                "pid": PID_A,
                "birth_date": "2018-03-05",
                **FAMILY,
            },
            {
                "source": "epassbook",
                "record_key": "FP-1011-000001:3",
                "given_name": "ปิยะนุช",
                "sex": "F",
                "pid": PID_A,
                "birth_date": "2018-03-05",
                **FAMILY,
            },
        ]
    )
    pairs = _pairs(("schools|S:1", "epassbook|FP-1011-000001:3", 0.97))
    result = cluster_records(persons, pairs, threshold=0.5)
    assert result.clusters["cluster_id"].tolist() == ["epassbook|FP-1011-000001:3"] * 2
    assert result.clusters["cluster_size"].tolist() == [2, 2]
    assert result.conflicts.empty


def test_a_nickname_known_to_the_cluster_is_not_a_different_child():
    persons = person_frame(
        [
            {
                "source": "child_centres",
                "record_key": "ศพด.1:5",
                "given_name": "ฟ้าใส",
                "nickname": "มิว",
                "sex": "F",
                "birth_date": "2020-03-05",
                **FAMILY,
            },
            {
                "source": "cpis",
                "record_key": "CP-2024-000002",
                "given_name": "มิว",
                "sex": "F",
                "birth_date": "2020-03-05",
                **FAMILY,
            },
        ]
    )
    pairs = _pairs(("child_centres|ศพด.1:5", "cpis|CP-2024-000002", 0.95))
    assert cluster(persons, pairs)["cluster_size"].tolist() == [2, 2]


def test_two_roster_entries_in_one_month_are_two_children():
    persons = person_frame(
        [
            {
                "source": "schools",
                "record_key": "S:1",
                "given_name": "สมชาย",
                "sex": "M",
                "birth_date": "2015-01-10",
                **FAMILY,
            },
            {
                "source": "schools",
                "record_key": "S:2",
                "given_name": "สมชาย",
                "sex": "M",
                "birth_date": "2015-01-10",
                **FAMILY,
            },
            # the same child's older record at a previous school (another month) may join
            {
                "source": "schools",
                "record_key": "T:9",
                "month": "202403",
                "given_name": "สมชาย",
                "sex": "M",
                "birth_date": "2015-01-10",
                **FAMILY,
            },
        ]
    )
    pairs = _pairs(("schools|S:1", "schools|S:2", 0.99), ("schools|S:1", "schools|T:9", 0.98))
    result = cluster_records(persons, pairs, threshold=0.5)
    assert _groups(result.clusters) == [["schools|S:1", "schools|T:9"], ["schools|S:2"]]
    assert result.conflicts["reason"].tolist() == ["roster"]


def test_two_members_of_one_family_passbook_are_two_children():
    # Twins with the same name typed for both and PIDs that clash, as found at 1M: identical
    # otherwise (same name, birth date, sex, family), so only the passbook tells them apart.
    base = {"given_name": "สุวดี", "sex": "F", "birth_date": "2023-01-01", **FAMILY}
    persons = person_frame(
        [
            {"source": "epassbook", "record_key": "FP-1020-006598:3", "pid": PID_A, **base},
            {"source": "epassbook", "record_key": "FP-1020-006598:4", "pid": PID_B, **base},
            # the same child in another family's passbook (moved) may still join
            {"source": "epassbook", "record_key": "FP-1020-000001:2", "pid": PID_A, **base},
        ]
    )
    a, b, c = (
        f"epassbook|{k}" for k in ("FP-1020-006598:3", "FP-1020-006598:4", "FP-1020-000001:2")
    )
    pairs = _pairs((a, b, 0.99), (a, c, 0.98))
    result = cluster_records(persons, pairs, threshold=0.5)
    assert _groups(result.clusters) == [[c, a], [b]]
    assert result.conflicts["reason"].tolist() == ["roster"]


def test_trusted_pids_must_agree_up_to_one_slip():
    # one digit wrong, typed as status valid (about one typo in ten still passes the check digit)
    typo = PID_A[:5] + str((int(PID_A[5]) + 1) % 10) + PID_A[6:]
    base = {"sex": "M", "birth_date": "2015-01-10", **FAMILY}
    persons = person_frame(
        [
            {"source": "schools", "record_key": "S:1", "pid": PID_A, "given_name": "สมชาย", **base},
            # another child's PID and another name: two children whatever the score says
            {"source": "epassbook", "record_key": "E:1", "pid": PID_B, "given_name": "สมศักดิ์",
             **base},
            {"source": "health_centres", "record_key": "H:1", "pid": typo, "given_name": "สมชาย",
             **base},
        ]
    )  # fmt: skip
    pairs = _pairs(
        ("schools|S:1", "epassbook|E:1", 0.99), ("schools|S:1", "health_centres|H:1", 0.98)
    )
    result = cluster_records(persons, pairs, threshold=0.5)
    assert _groups(result.clusters) == [["epassbook|E:1"], ["health_centres|H:1", "schools|S:1"]]
    assert result.conflicts["reason"].tolist() == ["pid"]


def test_a_siblings_pid_on_an_otherwise_identical_record_does_not_split_the_child():
    base = {"given_name": "สมชาย", "sex": "M", "birth_date": "2015-01-10", **FAMILY}
    persons = person_frame(
        [
            {"source": "schools", "record_key": "S:1", "pid": PID_A, **base},
            {"source": "epassbook", "record_key": "E:1", "pid": PID_B, **base},
        ]
    )
    pairs = _pairs(("schools|S:1", "epassbook|E:1", 0.99))
    assert cluster(persons, pairs)["cluster_size"].tolist() == [2, 2]


def test_clusters_never_exceed_the_size_cap_and_low_edges_are_ignored():
    persons = person_frame(
        [
            {
                "source": "cpis",
                "record_key": f"CP-2024-{i:06d}",
                "given_name": "สมชาย",
                "birth_date": "2015-01-10",
                **FAMILY,
            }
            for i in range(5)
        ]
    )
    ids = [f"cpis|CP-2024-{i:06d}" for i in range(5)]
    pairs = _pairs(*[(ids[i], ids[i + 1], 0.9 - i / 100) for i in range(4)], (ids[0], ids[4], 0.3))
    result = cluster_records(persons, pairs, threshold=0.5, max_cluster_size=3)
    assert _groups(result.clusters) == [ids[:3], ids[3:]]
    assert result.conflicts["reason"].tolist() == ["size"]


def test_review_candidates_are_the_uncertain_band():
    pairs = _pairs(("a", "b", 0.1), ("a", "c", 0.2), ("b", "c", 0.6), ("c", "d", 0.95))
    band = review_candidates(pairs, lower=0.2, upper=0.95)
    assert band["match_probability"].tolist() == [0.2, 0.6]


def test_clerical_decisions_force_and_forbid_links():
    persons = person_frame(
        [
            {"source": "schools", "record_key": "S:1", "given_name": "ฟ้าใส", "sex": "F",
             "birth_date": "2018-03-05", **FAMILY},
            {"source": "epassbook", "record_key": "E:1", "given_name": "ปิยะนุช", "sex": "F",
             "birth_date": "2018-03-05", **FAMILY},
            {"source": "cpis", "record_key": "C:1", "given_name": "ฟ้าใส", "sex": "F",
             "birth_date": "2018-03-05", **FAMILY},
        ]
    )  # fmt: skip
    s, e, c = "schools|S:1", "epassbook|E:1", "cpis|C:1"
    # the clerk said S:1 and E:1 are one child (a name change the rules would refuse as a twin)
    pairs = _pairs((s, e, 0.6), (s, c, 0.99)).assign(forced=[True, False])
    forced = cluster_records(persons, pairs, threshold=0.5)
    assert _groups(forced.clusters) == [[c, e, s]]
    # the clerk said C:1 and E:1 are different: C:1 may not join S:1 once S:1 holds E:1
    never = pd.DataFrame({"unique_id_l": [c], "unique_id_r": [e]})
    split = cluster_records(persons, pairs, threshold=0.5, cannot_link=never)
    assert _groups(split.clusters) == [[c], [e, s]]
    assert split.conflicts["reason"].tolist() == ["cannot_link"]


def test_no_records_give_no_clusters():
    """An incremental run can have nothing to re-cluster."""
    persons = person_frame(
        [{"source": "schools", "record_key": "10110003:1", "given_name": "ฟ้าใส", **FAMILY}]
    ).iloc[:0]
    result = cluster_records(persons, _pairs())
    assert result.clusters.empty and result.conflicts.empty and result.review_candidates.empty


def test_positions_finds_ids_in_any_column_type():
    """Ids arrive as Arrow-backed text, object columns with gaps, or empty float columns (an
    empty decision table); missing and unknown ids get -1."""
    from linkage.cluster import positions
    from linkage.prepare import large_strings

    ids = large_strings(pd.Series(["schools|1", "cpis|2"], dtype="str"))
    found = positions(
        ids,
        pd.Series(["cpis|2", "schools|1"], dtype="str"),
        pd.Series(["cpis|2", None, "nobody|9"], dtype=object),
        pd.Series([], dtype=float),
    )
    assert [f.tolist() for f in found] == [[1, 0], [1, -1, -1], []]


def test_positions_by_join_equal_the_arrow_lookup(monkeypatch):
    """Large lookups run as a DuckDB join: the same positions, -1 for missing and unknown ids,
    and an index holding an id twice falls back to the Arrow lookup (its first position)."""
    import numpy as np

    from linkage import cluster
    from linkage.prepare import large_strings

    rng = np.random.default_rng(3)
    ids = large_strings(pd.Series([f"schools|{i}" for i in range(500)], dtype="str"))
    probe = [f"schools|{i}" for i in rng.integers(0, 600, 2_000)]  # some unknown
    columns = (pd.Series(probe, dtype="str"), pd.Series([None, "schools|7"], dtype=object))
    arrow = cluster.positions(ids, *columns)
    monkeypatch.setattr(cluster, "JOIN_LOOKUPS", 1)
    joined = cluster.positions(ids, *columns)
    assert [a.tolist() for a in arrow] == [j.tolist() for j in joined]
    assert joined[1].tolist() == [-1, 7] and (joined[0] == -1).any()
    twice = large_strings(pd.Series(["a", "b", "a"], dtype="str"))
    assert cluster.positions(twice, pd.Series(["a", "b"], dtype="str"))[0].tolist() == [0, 1]
