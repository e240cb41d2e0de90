"""The Spark backend scores and clusters exactly like DuckDB with the same model artefact.

One Spark session (``local[2]``) for the module; its checkpoints, scratch space and warehouse go
under pytest's temporary directory, never into the repository.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
from linkage_fixtures import simulate_people

from linkage import incremental
from linkage.backends import Backend, backend_from_env, spark_frame, spark_session
from linkage.cluster import cluster_records
from linkage.model import for_dialect, train
from linkage.predict import predict
from linkage.prepare import prepare

SEED = 5
# The thresholds pipelines.stages.link uses: pairs kept from the review band up, merged at 0.5.
REVIEW_LOWER, MATCH_THRESHOLD, REVIEW_UPPER = 0.2, 0.5, 0.95
ROOT = Path(__file__).resolve().parents[1]
IDS = ["unique_id_l", "unique_id_r"]
# pyspark 4.1's toPandas passes pandas the deprecated copy= keyword (pyspark's code, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark")
    session = spark_session("local[2]", root / "checkpoints", local_dir=root / "scratch")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def persons():
    people, _ = simulate_people(500, seed=SEED)
    return people


@pytest.fixture(scope="module")
def artefact(persons):
    return train(persons, seed=SEED, max_pairs=2e5)  # on DuckDB, the default


@pytest.fixture(scope="module")
def scored(persons, artefact, spark):
    prepared = prepare(persons)
    duck = predict(prepared, artefact, threshold=REVIEW_LOWER, gammas=True)
    on_spark = predict(
        prepared,
        artefact,
        threshold=REVIEW_LOWER,
        backend=Backend("spark", spark=spark),
        gammas=True,
    )
    return prepared, duck, on_spark


def _partition(clusters: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(ids) for _, ids in clusters.groupby("cluster_id")["unique_id"]}


def _cluster(prepared: pd.DataFrame, pairs: pd.DataFrame):
    # As pipelines.stages.link clusters a full run.
    return cluster_records(
        prepared,
        pairs,
        MATCH_THRESHOLD,
        lower=REVIEW_LOWER,
        upper=REVIEW_UPPER,
        max_cluster_size=12,
    )


def test_spark_scores_the_same_pairs_as_duckdb(scored):
    _, duck, on_spark = scored
    assert len(duck) > 500  # enough pairs for the comparison to mean something
    assert list(on_spark.columns) == list(duck.columns)
    assert on_spark[IDS].equals(duck[IDS])  # both sorted by the two ids: the same pair set
    for column in ("match_probability", "match_weight"):
        gap = (on_spark[column] - duck[column]).abs().max()
        assert gap <= 1e-6, f"{column} differs by {gap}"
    gammas = [c for c in duck.columns if c.startswith("gamma_")]
    assert len(gammas) == 9
    # every comparison level, the Jaro-Winkler, Damerau-Levenshtein and date ones included
    pd.testing.assert_frame_equal(on_spark[gammas], duck[gammas], check_dtype=False)
    assert on_spark[["source_l", "source_r"]].equals(duck[["source_l", "source_r"]])


def test_spark_pairs_cluster_into_the_same_children(scored):
    prepared, duck, on_spark = scored
    duck_children = _partition(_cluster(prepared, duck).clusters)
    spark_children = _partition(_cluster(prepared, on_spark).clusters)
    assert spark_children == duck_children
    assert sum(len(c) for c in duck_children) == len(prepared)  # every record in one cluster
    assert sum(len(c) > 1 for c in duck_children) > 100  # and many children linked


def test_incremental_scoring_is_the_same_on_spark(persons, artefact, spark, scored):
    # As pipelines.stages.link scores an incremental load: pairs touching new records, among
    # the records sharing a blocking key with one, with the whole population's name frequencies.
    prepared = scored[0]
    changed = pd.Series(prepared.index % 10 == 0, index=prepared.index)
    near = incremental.scoring_subset(prepared, changed, artefact)
    flagged = prepared.assign(**{incremental.NEW_FLAG: changed.to_numpy()})[near]
    model = incremental.only_new_pairs(artefact)
    runs = [
        predict(flagged, model, REVIEW_LOWER, term_frequencies_from=prepared, backend=backend)
        for backend in (None, Backend("spark", spark=spark))
    ]
    duck, on_spark = runs
    assert 50 < len(duck) < len(scored[1])
    assert on_spark[IDS].equals(duck[IDS])
    assert (on_spark["match_probability"] - duck["match_probability"]).abs().max() <= 1e-6


def _levels(model: dict) -> list[dict]:
    return [level for c in model["comparisons"] for level in c["comparison_levels"]]


def test_duckdb_model_renders_in_spark_sql(artefact):
    assert artefact.settings["sql_dialect"] == "duckdb"
    assert for_dialect(artefact.settings, "duckdb") is artefact.settings  # DuckDB: untouched
    spark_model = for_dialect(artefact.settings, "spark")
    text = " ".join(level["sql_condition"] for level in _levels(spark_model))
    assert "jaro_winkler(" in text and "jaro_winkler_similarity" not in text
    assert "datediff" in text and "EPOCH" not in text
    assert '"' not in text  # DuckDB's identifier quotes would be string literals in Spark
    # only the SQL changes: every probability is the trained one
    assert [{**lv, "sql_condition": ""} for lv in _levels(spark_model)] == [
        {**lv, "sql_condition": ""} for lv in _levels(artefact.settings)
    ]


def test_model_from_other_code_is_refused_on_another_backend(artefact):
    changed = copy.deepcopy(artefact.settings)
    changed["comparisons"][4]["comparison_levels"][1]["sql_condition"] = '"sex_l" <> "sex_r"'
    with pytest.raises(ValueError, match="retrain"):
        for_dialect(changed, "spark")


def test_spark_frame_keeps_values_and_turns_missing_into_none(persons):
    prepared = prepare(persons.iloc[:50])
    converted = spark_frame(prepared)
    assert list(converted.columns) == list(prepared.columns)
    born = prepared["birth_date"]
    assert converted["birth_date"].tolist() == [d if pd.notna(d) else None for d in born]
    missing = prepared["pid"].isna()
    assert converted["pid"][missing].map(lambda v: v is None).all()
    assert converted["pid"][~missing].tolist() == prepared["pid"][~missing].tolist()


def test_backend_comes_from_the_environment(spark, tmp_path):
    assert backend_from_env({}).name == "duckdb"
    assert backend_from_env({"TEUMTEM_LINKAGE_BACKEND": "DuckDB"}).name == "duckdb"
    with pytest.raises(ValueError, match="unknown linkage backend"):
        backend_from_env({"TEUMTEM_LINKAGE_BACKEND": "sqlite"})
    chosen = backend_from_env(
        {
            "TEUMTEM_LINKAGE_BACKEND": "spark",
            "TEUMTEM_SPARK_MASTER": "local[2]",
            "TEUMTEM_SPARK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        }
    )
    assert chosen.name == "spark"
    assert chosen.spark is spark  # joins the running session instead of starting a second one
    with pytest.raises(ValueError, match="needs a Spark session"):
        Backend("spark")


def test_spark_writes_nothing_into_the_repository(scored):
    for leftover in ("spark-warehouse", "metastore_db", "derby.log", "checkpoints"):
        assert not (ROOT / leftover).exists(), leftover
