"""Linkage quality against known truth: pairwise and B-cubed precision/recall/F1, twins merged.

Everything is counted from group sizes, never from enumerated pairs, so millions of records cost
a few pandas group-bys: with ``n`` records of one true person inside one cluster,

    true positives   = sum over (cluster, person) of C(n, 2)
    predicted pairs  = sum over clusters of C(size, 2)
    true pairs       = sum over persons of C(size, 2)

B-cubed averages, over records, the share of a record's cluster that is its person (precision)
and the share of its person that is in its cluster (recall).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _pairs(n: pd.Series | np.ndarray) -> float:
    n = np.asarray(n, dtype=np.float64)
    return float((n * (n - 1) / 2).sum())


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _with_unique_id(frame: pd.DataFrame) -> pd.DataFrame:
    if "unique_id" in frame.columns:
        return frame
    return frame.assign(unique_id=frame["source"].astype("str") + "|" + frame["record_key"])


def _twin_groups(truth: pd.DataFrame, persons: pd.DataFrame | None) -> pd.Series | None:
    """Twin group per truth row: from ``persons`` (person level) or ``truth`` itself, else
    from family + true birth date."""
    for table in (persons, truth):
        if table is None or "person_id" not in table.columns:
            continue
        if "twin_group" in table.columns:
            groups = table.drop_duplicates("person_id").set_index("person_id")["twin_group"]
            return truth["person_id"].map(groups)
        if {"family_id", "birth_date"} <= set(table.columns):
            person = table.drop_duplicates("person_id").set_index("person_id")
            key = person["family_id"].astype("str") + "|" + person["birth_date"].astype("str")
            shared = key.map(key.value_counts()) > 1
            return truth["person_id"].map(key.where(shared))
    return None


def twins_merged(records: pd.DataFrame) -> tuple[int, int]:
    """(twin pairs sharing a cluster, twin pairs) from rows of cluster_id, person_id, twin_group."""
    twins = records.dropna(subset=["twin_group"])
    people = twins.drop_duplicates(["twin_group", "person_id"])
    sizes = people.groupby("twin_group").size()
    together = twins.drop_duplicates(["cluster_id", "twin_group", "person_id"])
    merged = together.merge(together, on=["cluster_id", "twin_group"])
    merged = merged[merged["person_id_x"] < merged["person_id_y"]]
    return int(len(merged.drop_duplicates(["person_id_x", "person_id_y"]))), int(_pairs(sizes))


def evaluate(
    clusters: pd.DataFrame, truth: pd.DataFrame, persons: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Score a clustering against the truth.

    Args:
        clusters: ``unique_id`` (or ``source`` + ``record_key``) and ``cluster_id``.
        truth: ``unique_id`` (or ``source`` + ``record_key``) and ``person_id``; optionally
            ``twin_group``, or ``family_id`` + ``birth_date`` (true birth date).
        persons: Optional person-level truth (``person_id`` + ``twin_group``, or ``family_id`` +
            ``birth_date``), as the generator's ``truth/persons.parquet``.

    Returns:
        ``records``, ``coverage`` (share of truth records that were clustered; the rest count as
        singletons), ``precision``/``recall``/``f1`` (pairwise), ``true_pairs``,
        ``predicted_pairs``, ``true_positive_pairs``, ``bcubed_precision``/``recall``/``f1``,
        ``twins_merged``, ``twin_pairs``, ``clusters``, ``cluster_size_max`` and
        ``cluster_sizes`` (size -> number of clusters).
    """
    truth = _with_unique_id(truth)
    found = _with_unique_id(clusters).drop_duplicates("unique_id").set_index("unique_id")
    cluster_id = truth["unique_id"].map(found["cluster_id"])
    coverage = float(cluster_id.notna().mean()) if len(truth) else 0.0
    # Integer codes: group-bys over millions of ids are several times faster than on strings.
    records = pd.DataFrame(
        {
            "cluster_id": pd.factorize(cluster_id.fillna("unclustered|" + truth["unique_id"]))[0],
            "person_id": pd.factorize(truth["person_id"])[0],
        }
    )
    both = records.groupby(["cluster_id", "person_id"]).size().rename("n").reset_index()
    by_cluster = both.groupby("cluster_id")["n"].sum()
    by_person = both.groupby("person_id")["n"].sum()
    tp, predicted, actual = _pairs(both["n"]), _pairs(by_cluster), _pairs(by_person)
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    n = both["n"].to_numpy(dtype=np.float64)
    n_records = max(len(records), 1)
    b_precision = float((n * n / both["cluster_id"].map(by_cluster).to_numpy()).sum()) / n_records
    b_recall = float((n * n / both["person_id"].map(by_person).to_numpy()).sum()) / n_records
    groups = _twin_groups(truth, persons)
    merged, twin_pairs = (0, 0)
    if groups is not None:
        merged, twin_pairs = twins_merged(records.assign(twin_group=groups.to_numpy()))
    sizes = by_cluster.value_counts().sort_index()
    return {
        "records": len(records),
        "coverage": coverage,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_pairs": int(actual),
        "predicted_pairs": int(predicted),
        "true_positive_pairs": int(tp),
        "bcubed_precision": b_precision,
        "bcubed_recall": b_recall,
        "bcubed_f1": _f1(b_precision, b_recall),
        "twins_merged": merged,
        "twin_pairs": twin_pairs,
        "clusters": int(len(by_cluster)),
        "cluster_size_max": int(by_cluster.max()) if len(by_cluster) else 0,
        "cluster_sizes": {int(k): int(v) for k, v in sizes.items()},
    }
