"""The Thai-aware linkage model on ~3,000 simulated children: quality, baselines, artefact."""

from __future__ import annotations

import pandas as pd
import pytest
from linkage_fixtures import person_frame, simulate_people, with_check_digit

from linkage.baselines import exact_pid_baseline, plain_splink_baseline
from linkage.cluster import cluster_records
from linkage.evaluate import evaluate
from linkage.model import ModelArtefact, settings, train
from linkage.predict import PAIR_COLUMNS, predict
from linkage.prepare import prepare

SEED = 7


@pytest.fixture(scope="module")
def simulated():
    return simulate_people(3000, seed=SEED)


@pytest.fixture(scope="module")
def artefact(simulated):
    persons, _ = simulated
    return train(persons, seed=SEED, max_pairs=1e6)


@pytest.fixture(scope="module")
def linked(simulated, artefact):
    persons, truth = simulated
    pairs = predict(persons, artefact, threshold=0.2, gammas=True)
    result = cluster_records(persons, pairs, threshold=0.5)
    return pairs, result, evaluate(result.clusters, truth)


def test_simulation_has_the_dirt_the_model_must_survive(simulated):
    persons, truth = simulated
    assert set(persons["source"]) == {
        "schools",
        "child_centres",
        "health_centres",
        "cpis",
        "epassbook",
    }
    assert {"valid", "bad_check", "gcode", "missing"} <= set(persons["pid_status"])
    assert {"day", "year", "age"} == set(persons["birth_date_precision"])
    assert persons["is_placeholder_name"].any()
    assert truth["twin_group"].notna().sum() > 20
    assert len(persons) > 6000


def test_model_meets_quality_targets_and_never_merges_twins(linked):
    _, _, scores = linked
    assert scores["precision"] >= 0.98
    assert scores["recall"] >= 0.97
    assert scores["twins_merged"] == 0
    assert scores["twin_pairs"] > 10
    assert scores["coverage"] == 1.0


def test_model_beats_both_baselines_on_f1(simulated, linked):
    persons, truth = simulated
    _, _, scores = linked
    exact = evaluate(exact_pid_baseline(persons), truth)
    plain = evaluate(plain_splink_baseline(persons, seed=SEED), truth)
    assert scores["f1"] > exact["f1"]
    assert scores["f1"] > plain["f1"]
    assert plain["twins_merged"] > 0  # connected components chain twins; the model's clusters don't


def test_predict_returns_scored_pairs_with_gamma_columns(linked, artefact):
    pairs, result, _ = linked
    gammas = [f"gamma_{c['output_column_name']}" for c in artefact.settings["comparisons"]]
    assert list(pairs.columns[:4]) == [
        "unique_id_l",
        "unique_id_r",
        "match_probability",
        "match_weight",
    ]
    assert set(gammas) <= set(pairs.columns)
    assert (pairs["unique_id_l"] < pairs["unique_id_r"]).all()
    assert pairs["match_probability"].min() >= 0.2
    band = result.review_candidates["match_probability"]
    assert ((band >= 0.2) & (band < 0.95)).all()
    assert set(result.conflicts["reason"]) <= {
        "roster",
        "pid",
        "twin",
        "sibling",
        "size",
        "unnamed",
    }


def _partition(clusters: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(ids) for _, ids in clusters.groupby("cluster_id")["unique_id"]}


def test_fast_clustering_equals_the_exhaustive_greedy_loop(simulated, linked):
    # Up-front refusals and the conflict-free fast path must give what deciding every edge in
    # the greedy loop gives: the same children and the same refused pairs, in the same order.
    persons, _ = simulated
    pairs, result, _ = linked
    ids = ["unique_id_l", "unique_id_r"]
    slow = cluster_records(persons, pairs, threshold=0.5, exhaustive=True)
    assert _partition(result.clusters) == _partition(slow.clusters)
    assert len(result.conflicts) > 100
    assert result.conflicts[ids].equals(slow.conflicts[ids])
    # with clerical decisions: some sure links forbidden, some refused unions forced
    never = pairs.loc[pairs["match_probability"] > 0.99, ids].iloc[::40]
    forced = pairs.merge(slow.conflicts[ids].iloc[::25], on=ids, how="left", indicator=True)
    forced["forced"] = forced.pop("_merge").eq("both")
    assert len(never) >= 5 and forced["forced"].sum() >= 5
    runs = [
        cluster_records(persons, forced, threshold=0.5, cannot_link=never, exhaustive=e)
        for e in (False, True)
    ]
    assert _partition(runs[0].clusters) == _partition(runs[1].clusters)
    assert runs[0].conflicts[ids].equals(runs[1].conflicts[ids])
    assert _partition(runs[0].clusters) != _partition(result.clusters)  # the decisions bit


def test_predict_without_gammas_scores_the_same_pairs(simulated, artefact, linked):
    # The pipeline's default output: no gamma columns, the same pairs and probabilities.
    pairs = linked[0]
    lean = predict(simulated[0], artefact, threshold=0.2)
    assert not any(c.startswith("gamma_") for c in lean.columns)
    columns = [*PAIR_COLUMNS, "source_l", "source_r"]
    assert list(lean.columns) == columns
    pd.testing.assert_frame_equal(lean, pairs[columns])


def test_artefact_round_trips_with_the_same_hash(tmp_path, artefact, simulated):
    path = artefact.save(tmp_path / "model.json")
    loaded = ModelArtefact.load(path)
    assert loaded.sha256 == artefact.sha256
    assert loaded.model_version == artefact.model_version
    assert loaded.settings == artefact.settings
    persons, _ = simulated
    sample = persons.iloc[:400]
    on_disk = predict(sample, loaded, db_path=str(tmp_path / "linkage.duckdb"))
    pd.testing.assert_frame_equal(predict(sample, artefact), on_disk)


def test_tampered_artefact_is_rejected(tmp_path, artefact):
    path = artefact.save(tmp_path / "model.json")
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"em_convergence": 0.0001', '"em_convergence": 0.01'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="sha256"):
        ModelArtefact.load(path)


def test_model_of_another_linkage_spec_is_refused_with_what_to_do(tmp_path, artefact):
    from linkage.comparisons import SPEC_VERSION
    from pipelines.stages import MODEL_FILE, model_artefact
    from pipelines.workarea import WorkArea
    from sources.base import ExtractError

    work = WorkArea(tmp_path).ensure()
    old = ModelArtefact.from_settings(artefact.settings, training={"spec_version": "2"})
    old.save(work.linkage / MODEL_FILE)
    assert SPEC_VERSION != "2"
    with pytest.raises(ExtractError, match=r"spec 2.*--retrain"):
        model_artefact(work, pd.DataFrame())
    current = ModelArtefact.from_settings(
        artefact.settings, training={"spec_version": SPEC_VERSION}
    )
    current.save(work.linkage / MODEL_FILE)
    assert model_artefact(work, pd.DataFrame()) == (current, False)


def test_training_is_deterministic_for_a_fixed_seed():
    persons, _ = simulate_people(400, seed=3)
    first = train(persons, seed=11, max_pairs=2e5)
    second = train(persons, seed=11, max_pairs=2e5)
    assert first.sha256 == second.sha256


def test_custom_sql_translates_to_spark():
    spark = settings().create_settings_dict("spark")
    levels = [lv["sql_condition"] for c in spark["comparisons"] for lv in c["comparison_levels"]]
    assert "ABS(birth_year_l - birth_year_r) = 543" in " ".join(levels)
    assert any("datediff" in sql for sql in levels)


def test_prepare_keeps_latest_month_and_drops_untrustworthy_values():
    pid = with_check_digit("110370123456")
    frame = person_frame(
        [
            # the same roster record in two monthly snapshots: only December is kept
            {
                "source": "schools",
                "record_key": "10110003:1",
                "month": "202411",
                "pid": pid,
                "given_name": "ฟ้าใส",
                "birth_date": "2018-03-05",
            },
            {
                "source": "schools",
                "record_key": "10110003:1",
                "month": "202412",
                "pid": pid,
                "given_name": "ฟ้าใส",
                "birth_date": "2018-03-05",
            },
            # a newborn placeholder name and an unusable PID are not evidence
            {
                "source": "health_centres",
                "record_key": "10001:9",
                "given_name": "ทารก",
                "is_placeholder_name": True,
                "pid": "12345",
                "pid_status": "invalid",
                "birth_date": "2024-12-01",
                "subdistrict_code": "101101",
            },
        ]
    )
    out = prepare(frame)
    assert out["unique_id"].tolist() == ["health_centres|10001:9", "schools|10110003:1"]
    assert out["month"].tolist() == ["202412", "202412"]
    assert out["given_name"].isna().tolist() == [True, False]
    assert out["pid"].isna().tolist() == [True, False]
    assert out["district_code"].iloc[0] == "1011"  # filled from the subdistrict code
    assert pd.isna(out["district_code"].iloc[1])
    assert out["birth_md"].tolist() == ["12-01", "03-05"]
    assert out["birth_dm"].tolist() == ["01-12", "05-03"]


def test_training_on_sampled_blocks_keeps_quality(simulated, linked, monkeypatch):
    """Large populations train EM on one block in k; at k = 3 the model links as well."""
    import linkage.model as model

    persons, truth = simulated
    monkeypatch.setattr(model, "EM_RECORDS", len(prepare(persons)) // 3 + 1)
    sampled = train(persons, seed=SEED, max_pairs=1e6)
    assert sampled.training["em_block_sample_every"] == 3
    pairs = predict(persons, sampled, threshold=0.2)
    scores = evaluate(cluster_records(persons, pairs, threshold=0.5).clusters, truth)
    _, _, full = linked
    assert scores["twins_merged"] == 0
    assert scores["f1"] >= full["f1"] - 0.005
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.97
