"""evaluate() on tiny hand-made clusterings: exact pairwise, B-cubed and twin counts."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage.evaluate import evaluate

# Truth: person P has records r1 r2 r3, Q has r4 r5, R has r6; Q and R are twins.
TRUTH = pd.DataFrame(
    {
        "unique_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "person_id": ["P", "P", "P", "Q", "Q", "R"],
        "twin_group": [None, None, None, "T1", "T1", "T1"],
    }
)


def _clusters(assignment: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": list(assignment), "cluster_id": list(assignment.values())})


def test_perfect_clustering_scores_one():
    scores = evaluate(
        _clusters({"r1": "a", "r2": "a", "r3": "a", "r4": "b", "r5": "b", "r6": "c"}), TRUTH
    )
    assert (scores["precision"], scores["recall"], scores["f1"]) == (1.0, 1.0, 1.0)
    assert scores["true_pairs"] == 4  # C(3,2) + C(2,2)
    assert scores["twins_merged"] == 0
    assert scores["twin_pairs"] == 1
    assert scores["cluster_sizes"] == {1: 1, 2: 1, 3: 1}


def test_split_and_twin_merge_give_exact_pairwise_and_bcubed_scores():
    # P split into {r1, r2} + {r3}; twins Q and R merged into {r4, r5, r6}
    scores = evaluate(
        _clusters({"r1": "a", "r2": "a", "r3": "b", "r4": "c", "r5": "c", "r6": "c"}), TRUTH
    )
    # predicted pairs: C(2,2) + C(3,2) = 4; true positives: r1-r2, r4-r5 = 2; true pairs = 4
    assert scores["predicted_pairs"] == 4
    assert scores["true_positive_pairs"] == 2
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)
    # B-cubed precision per record: r1 r2 1, r3 1, r4 r5 2/3, r6 1/3
    assert scores["bcubed_precision"] == pytest.approx((1 + 1 + 1 + 2 / 3 + 2 / 3 + 1 / 3) / 6)
    # B-cubed recall per record: r1 r2 2/3, r3 1/3, r4 r5 1, r6 1
    assert scores["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1 + 1) / 6)
    assert scores["twins_merged"] == 1
    assert scores["cluster_size_max"] == 3


def test_records_join_on_source_and_record_key_and_missing_ones_are_singletons():
    truth = pd.DataFrame(
        {
            "source": ["schools", "cpis", "cpis"],
            "record_key": ["S:1", "CP-1", "CP-2"],
            "person_id": ["P", "P", "P"],
            "family_id": ["F1", "F1", "F1"],
            "birth_date": ["2018-03-05"] * 3,
        }
    )
    clusters = pd.DataFrame(
        {"source": ["schools", "cpis"], "record_key": ["S:1", "CP-1"], "cluster_id": ["k", "k"]}
    )
    scores = evaluate(clusters, truth)
    assert scores["coverage"] == pytest.approx(2 / 3)
    assert scores["true_positive_pairs"] == 1
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["precision"] == 1.0
    assert scores["twin_pairs"] == 0  # one person in the family: nobody shares a birth date


def test_twins_from_family_and_birth_date_in_a_person_table():
    persons = pd.DataFrame(
        {
            "person_id": ["P", "Q", "R"],
            "family_id": ["F", "G", "G"],
            "birth_date": ["2018-01-01", "2019-02-02", "2019-02-02"],
        }
    )
    truth = TRUTH.drop(columns="twin_group")
    merged = _clusters({"r1": "a", "r2": "a", "r3": "a", "r4": "b", "r5": "b", "r6": "b"})
    scores = evaluate(merged, truth, persons)
    assert (scores["twins_merged"], scores["twin_pairs"]) == (1, 1)
